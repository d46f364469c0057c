"""Gather the conflict and drift report of the last reconcile from the store.

Design notes
------------
* Everything comes from what the store already keeps: the reconcile window
  (:mod:`engine.store.reconciles`), the dataset logs, the share logs and the dead-letter
  datasets. Nothing is re-run and no system is asked, so ``pipe report`` works offline and
  gives the same answer every time for the same reconcile.
* Each section is one SQL query per dataset over the window (see :mod:`engine.report.scope`);
  Python only shapes the few rows that come back.
* **Conflicts.** A conflict is a golden property for which two members of one global entity
  changed to *different* values during the reconcile. For each member the query takes the value
  before the window and the *first* different value inside it: that is the member's own edit,
  because anything the hub writes back (the winner, echoed by the next collect) comes later.
  Equal first values (an echo, or two people making the same fix) are one side, shown with the
  member that had it first. The winner and the rule are the golden entity's ``$claims`` as the
  reconcile left it: survivorship's own decision, not a second opinion computed here.
* **Optimistic-lock skips** are the share-log versions written in the window with status
  ``skipped-lock``; the run reports of the reconcile give the counts per pipe.
* **Dead letters** are the live contents of every ``system:dead-letter:<pipe>`` dataset.
* Drift and identity churn are in :mod:`engine.report.identity`.
"""

from __future__ import annotations

import json
from typing import Any

from engine.clock import micros_to_datetime
from engine.config.project import Project
from engine.deadletter import DeadLetters
from engine.entity import format_datetime
from engine.errors import HubError
from engine.report.identity import churn, drift
from engine.report.model import Conflict, ConflictSide, DeadLetter, Report, Skip, Window
from engine.report.scope import GlobalPipe, Scope, ids_sql, latest_sql, namespace_sql
from engine.store import Store
from engine.store.reconciles import ReconcileLog, ReconcileWindow

__all__ = ["ReportError", "build_report"]

DEAD_LETTER_PREFIX = "system:dead-letter:"


class ReportError(HubError):
    """The report cannot be made (e.g. no reconcile has run on this hub)."""


def build_report(store: Store, project: Project) -> Report:
    """The report of the last reconcile recorded in ``store``.

    Raises:
        ReportError: no reconcile was ever recorded in this hub.
    """
    window = ReconcileLog(store).last()
    if window is None:
        raise ReportError(
            "no reconcile has been recorded in this hub yet: run `pipe reconcile` first"
        )
    scope = Scope(store, project, window)
    merges, splits, rekeys = churn(scope)
    notes: list[str] = []
    if window.status == "running":
        notes.append("the reconcile never finished (the process stopped): its window is open")
    return Report(
        window=_window(window),
        conflicts=tuple(c for g in scope.globals for c in conflicts(scope, g)),
        lock_skips=lock_skips(scope),
        dead_letters=dead_letters(store),
        drift=drift(scope),
        merges=merges,
        splits=splits,
        rekeys=rekeys,
        notes=tuple(notes),
    )


def iso(micros: int | None) -> str | None:
    return format_datetime(micros_to_datetime(micros)) if micros is not None else None


def _window(window: ReconcileWindow) -> Window:
    summary = window.summary or {}
    lock_skipped: dict[str, int] = {}
    rejected: dict[str, int] = {}
    for one in summary.get("pass_reports", []):
        for run in one.get("runs", []):
            sent = run.get("sent") or {}
            for key, into in (("lock-skipped", lock_skipped), ("rejected", rejected)):
                if sent.get(key):
                    into[run["pipe"]] = into.get(run["pipe"], 0) + int(sent[key])
    return Window(
        id=window.id,
        started=iso(window.started_ts) or "",
        ended=iso(window.ended_ts),
        status=window.status,
        passes=summary.get("passes"),
        seconds=summary.get("seconds"),
        sent=summary.get("sent", {}),
        lock_skipped=lock_skipped,
        rejected=rejected,
    )


# --- conflicts ----------------------------------------------------------------------------------


def conflicts(scope: Scope, pipe: GlobalPipe) -> list[Conflict]:
    """The conflicting edits among the members of ``pipe``'s global entities (module notes)."""
    config = pipe.survivorship
    bounds = scope.bounds(pipe.dataset)
    if config is None or bounds is None:
        return []
    golden = latest_sql(bounds)
    members = (
        f"SELECT gid, substr(ni, 3) AS mid, {namespace_sql('substr(ni, 3)')} AS ns FROM "
        f"(SELECT _id AS gid, unnest({ids_sql('body')}) AS ni FROM {golden}) WHERE ni LIKE '~:%'"
    )
    namespaces = [r[0] for r in scope.store.fetchall(f"SELECT DISTINCT ns FROM ({members})")]
    parts: list[str] = []
    params: list[Any] = []
    for ns in sorted(namespaces):
        dataset = pipe.member_dataset(ns)
        mb = scope.bounds(dataset)
        if mb is None:
            continue
        parts.append(
            f"SELECT ? AS ns, ? AS dataset, _id AS mid, _updated, _ts, body, "
            f"_updated >= {mb.before} AS in_window FROM {mb.table} "
            f"WHERE NOT _deleted AND _updated < {mb.after} AND _id IN "
            f"(SELECT _id FROM {mb.table} WHERE _updated >= {mb.before} AND _updated < {mb.after})"
        )
        params += [ns, dataset]
    if not parts:
        return []
    specs = [(g, s.key, s.pattern) for g, group in config.properties for s in group]
    key = "CASE WHEN s.pattern THEN mv.ns || ':' || s.skey ELSE s.skey END"
    sql = f"""
    WITH golden AS (SELECT _id, body FROM {golden}),
    m AS ({members}),
    mv AS ({" UNION ALL ".join(parts)}),
    specs AS (SELECT unnest(?::VARCHAR[]) AS golden, unnest(?::VARCHAR[]) AS skey,
                     unnest(?::BOOLEAN[]) AS pattern),
    vals AS (
        SELECT m.gid, mv.ns, mv.dataset, mv.mid, s.golden, {key} AS k, mv._updated, mv._ts,
               mv.in_window,
               json_extract(mv.body, '$."' || ({key}) || '"')::VARCHAR AS value,
               json_extract_string(mv.body, '$."$last-modified"') AS lm
        FROM mv JOIN m ON m.mid = mv.mid AND m.ns = mv.ns CROSS JOIN specs s
    ),
    base AS (
        SELECT gid, mid, golden, k, value FROM vals WHERE NOT in_window
        QUALIFY row_number() OVER (PARTITION BY gid, mid, golden, k ORDER BY _updated DESC) = 1
    ),
    firsts AS (
        SELECT v.* FROM vals v JOIN base b USING (gid, mid, golden, k)
        WHERE v.in_window AND v.value IS DISTINCT FROM b.value
        QUALIFY row_number() OVER (PARTITION BY v.gid, v.mid, v.golden, v.k
                                   ORDER BY v._updated) = 1
    ),
    sides AS (
        SELECT * FROM firsts
        QUALIFY row_number() OVER (PARTITION BY gid, golden, value ORDER BY _ts, mid) = 1
    ),
    hit AS (SELECT gid, golden FROM sides GROUP BY gid, golden HAVING count(*) >= 2)
    SELECT s.gid, s.golden, s.mid, s.dataset, s.value, s.lm, s._ts,
           json_extract(g.body, '$."' || ? || '"."' || s.golden || '"')::VARCHAR AS claim
    FROM sides s JOIN hit USING (gid, golden) JOIN golden g ON g._id = s.gid
    ORDER BY s.gid, s.golden, s._ts, s.mid
    """
    params += [[s[0] for s in specs], [s[1] for s in specs], [s[2] for s in specs]]
    params.append(config.claims_property)
    rows = scope.store.fetchall(sql, params)
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    out = []
    for (gid, prop), group in grouped.items():
        claim = json.loads(group[0][7]) if group[0][7] else None
        golden_value = json.dumps(claim.get("value"), sort_keys=True) if claim else None
        sides = tuple(
            ConflictSide(
                member=mid,
                dataset=dataset,
                value=json.loads(value) if value is not None else None,
                changed_at=_moment(lm, ts),
                won=value is not None
                and json.dumps(json.loads(value), sort_keys=True) == golden_value,
            )
            for _, _, mid, dataset, value, lm, ts, _ in group
        )
        out.append(Conflict(pipe.dataset, gid, prop, sides, claim, _why(claim, sides)))
    return out


def _moment(last_modified: str | None, ts: int) -> str:
    if last_modified:
        return last_modified[2:] if last_modified.startswith("~t") else last_modified
    return iso(ts) or ""


_RULES = {
    "newest": "its value changed last",
    "priority": "the values changed at the same time; the survivorship priority decided",
    "non-empty-over-empty": "an empty value never wins when records are first linked",
    "only": "it was the only candidate",
}


def _why(claim: dict[str, Any] | None, sides: tuple[ConflictSide, ...]) -> str:
    """One sentence: which side's value won, by which survivorship rule."""
    if not isinstance(claim, dict):
        return "no golden value: no member has this property any more"
    rule = str(claim.get("rule"))
    reason = _RULES.get(rule, rule)
    side = next((s for s in sides if s.won), None)
    if side is None:
        return (
            f"neither edit survived: the golden value is {claim.get('value')!r} from "
            f"{claim.get('member')} ({rule}: {reason})"
        )
    text = f"{side.value!r} from {side.member} won ({rule}: {reason})"
    if claim.get("member") != side.member:
        text += f"; the claim now names {claim.get('member')}, a linked record holding that value"
    return text


# --- optimistic-lock skips and dead letters ----------------------------------------------------


def lock_skips(scope: Scope) -> tuple[Skip, ...]:
    """Share-log versions written in the window with status ``skipped-lock``."""
    out: list[Skip] = []
    for share in scope.shares:
        bounds = scope.bounds(share.log)
        if bounds is None:
            continue
        rows = scope.store.fetchall(
            f"""
            SELECT v._id, json_extract_string(v.body, '$."$target_id"'),
                   json_extract_string(v.body, '$.at'), json_extract_string(v.body, '$.error'),
                   json_extract_string(now.body, '$.status')
            FROM {bounds.table} v LEFT JOIN {latest_sql(bounds, live=False)} now USING (_id)
            WHERE v._updated >= {bounds.before} AND v._updated < {bounds.after}
              AND json_extract_string(v.body, '$.status') = 'skipped-lock'
            ORDER BY v._updated
            """
        )
        out += [
            Skip(share.pipe.id, share.system, share.datatype, r[0], r[1], r[2], r[3], r[4])
            for r in rows
        ]
    return tuple(out)


def dead_letters(store: Store) -> tuple[DeadLetter, ...]:
    """Every live dead letter of every pipe (what is still refused now)."""
    out: list[DeadLetter] = []
    for info in store.dataset_infos():
        if not info.name.startswith(DEAD_LETTER_PREFIX):
            continue
        pipe_id = info.name[len(DEAD_LETTER_PREFIX) :]
        for letter in DeadLetters(store, pipe_id).pending():
            status = letter.get("status")
            out.append(
                DeadLetter(
                    pipe=str(letter.get("pipe") or pipe_id),
                    id=str(letter["_id"]),
                    reason=_text(letter.get("reason")),
                    operation=_text(letter.get("operation")),
                    status=int(status) if isinstance(status, int) else None,
                    attempts=int(letter.get("attempts") or 0),
                    first_failure=_text(letter.get("first_failure")),
                    last_failure=_text(letter.get("last_failure")),
                )
            )
    return tuple(out)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
