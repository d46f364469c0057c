"""Survivorship: pick each golden property of a merged entity from its members, and say why.

Design notes
------------
* A global pipe's merge source outputs one entity per group of linked records, with ``$ids``
  naming every member (``~:<namespace>:<id>``). Each member lives in a dataset (by default the
  dataset named like its namespace) and keeps its full version history there. Survivorship reads
  that history rather than the merged entity, because only the history says *when* a value
  became what it is, and because two members from one dataset are combined into one list by
  the merge and could no longer be told apart.
* The time of a candidate is when its value last changed in its member: walk the history from
  the newest version back while the value stays equal (canonical JSON, so ``1`` is not ``1.0``
  and ``true`` is not ``1``); take ``$last-modified`` of the oldest version of that run, else
  its ``_ts``. An edit to another property therefore never makes an old value look new, and a
  value that echoes back from a system unchanged keeps its time (talk-flows A.7: no ping-pong).
* Newest wins; ties go to ``priority``, then namespace name, then member ``_id``, then the order
  of candidate keys, so the outcome never depends on the order of ``$ids``.
* Empty values never beat filled ones at first link; explicit clears after the link propagate
  (talk-flows A.3, E.2). The link time comes from the pipe's own sink dataset: the first stored
  golden version whose ``$ids`` held this member and another current member.
* Histories are fetched per dataset for a whole batch of entities in one query and cached for
  the run (bounded), so a run reads each member's history about once. The per-entity call
  (``__call__``) does the same for one entity and is ~50x slower on large logs: use
  :meth:`Survivorship.apply_batch` from the pipeline.

User documentation: ``docs/decisions/survivorship.md``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from engine.clock import micros_to_datetime
from engine.config.pipes import TRANSFORM_KEYS, PipeConfig, TransformConfig
from engine.entity import ID, NI, TS, Entity, canonical_json, copy_value, decode, is_deleted
from engine.errors import ConfigError, HubError, JsonPath, did_you_mean
from engine.store import Store, table_to_entities
from engine.store.store import arrow_table

__all__ = [
    "DEFAULT_CLAIMS_PROPERTY",
    "DEFAULT_EMPTY_VALUES",
    "CandidateSpec",
    "CandidateView",
    "ClaimRule",
    "Decision",
    "Survivorship",
    "SurvivorshipConfig",
    "SurvivorshipError",
    "build_survivorship",
    "last_modified_micros",
    "parse_survivorship",
]

ClaimRule = Literal["newest", "priority", "only", "non-empty-over-empty"]
DEFAULT_EMPTY_VALUES: frozenset[str] = frozenset({canonical_json(None), canonical_json(""), "[]"})
"""What counts as empty unless ``empty_values`` says otherwise (canonical JSON texts)."""
DEFAULT_CLAIMS_PROPERTY = "$claims"
LAST_MODIFIED = "$last-modified"
_PLAIN = (str, int, bool, type(None))  # floats go through JSON: -0.0 is not 0.0
HISTORY_CACHE_SIZE = 20_000
"""Member histories kept per run; a member is normally needed once, so this only bounds memory."""


class SurvivorshipError(HubError):
    """A merged entity that survivorship cannot work on (e.g. ``$ids`` that name no dataset)."""


@dataclass(frozen=True, slots=True)
class CandidateSpec:
    """One candidate spec: an exact key, or ``*:<local>`` (``local`` in every member namespace)."""

    key: str
    pattern: bool

    def key_for(self, namespace: str) -> str:
        return f"{namespace}:{self.key}" if self.pattern else self.key


@dataclass(frozen=True, slots=True)
class SurvivorshipConfig:
    """A validated ``survivorship`` transform."""

    properties: tuple[tuple[str, tuple[CandidateSpec, ...]], ...]
    priority: tuple[str, ...] = ()
    members: Mapping[str, str] | None = None
    empty_values: frozenset[str] = DEFAULT_EMPTY_VALUES
    claims_property: str = DEFAULT_CLAIMS_PROPERTY


def parse_survivorship(
    transform: TransformConfig, *, file: str | None = None
) -> SurvivorshipConfig:
    """Validate a ``survivorship`` transform block; raise :class:`ConfigError` on the first fault.

    Raises:
        ConfigError: with ``file`` and the JSON path of the offending key.
    """
    raw, path = transform.raw, transform.path

    def fail(message: str, where: JsonPath, snippet: Any = None) -> ConfigError:
        return ConfigError(message, file=file, path=where, snippet=snippet)

    if transform.type != "survivorship":
        raise fail(f"expected type 'survivorship', found {transform.type!r}", path / "type")
    known = TRANSFORM_KEYS["survivorship"]
    for key in raw:
        if key not in known:
            raise fail(
                f"unknown key {key!r} in a 'survivorship' transform{did_you_mean(key, known)}; "
                f"known: {', '.join(sorted(known))}",
                path / key,
            )
    claims_property = raw.get("claims_property", DEFAULT_CLAIMS_PROPERTY)
    if not isinstance(claims_property, str) or not claims_property or claims_property[0] == "_":
        raise fail(
            "expected a property name not starting with '_' for 'claims_property', "
            f"found {claims_property!r}",
            path / "claims_property",
        )
    properties = raw.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise fail(
            "expected an object {golden property: candidate pattern or list of keys} "
            f"for 'properties', found {properties!r}",
            path / "properties",
        )
    parsed: list[tuple[str, tuple[CandidateSpec, ...]]] = []
    for golden, spec in properties.items():
        where = path / "properties" / golden
        if not golden or golden[0] == "_" or golden == claims_property:
            raise fail(
                f"golden property {golden!r} must not be empty, start with '_' or be the "
                "claims property",
                where,
            )
        items = [spec] if isinstance(spec, str) else spec
        if not isinstance(items, list) or not items:
            raise fail(
                'expected a pattern like "*:name" or a non-empty list of candidate keys, '
                f"found {spec!r}",
                where,
            )
        specs: list[CandidateSpec] = []
        for i, item in enumerate(items):
            item_path = where if isinstance(spec, str) else where / i
            specs.append(_parse_spec(item, item_path, fail))
        parsed.append((golden, tuple(specs)))
    priority = raw.get("priority", [])
    members = raw.get("members", {})
    empty_values = raw.get("empty_values", [])
    for key, value, ok, expected in (
        ("priority", priority, _is_list_of(priority, str), "a list of namespace or dataset names"),
        ("members", members, _is_names_map(members), "an object {namespace: dataset name}"),
        ("empty_values", empty_values, isinstance(empty_values, list), "a list of values"),
    ):
        if not ok:
            raise fail(f"expected {expected} for {key!r}, found {value!r}", path / key)
    return SurvivorshipConfig(
        properties=tuple(parsed),
        priority=tuple(priority),
        members=dict(members),
        empty_values=(
            frozenset(canonical_json(decode(v)) for v in empty_values)
            if "empty_values" in raw
            else DEFAULT_EMPTY_VALUES
        ),
        claims_property=claims_property,
    )


def _is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(v, kind) for v in value)


def _is_names_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) and v for v in value.values())


def _parse_spec(item: Any, where: JsonPath, fail: Any) -> CandidateSpec:
    if not isinstance(item, str) or not item:
        raise fail(f"expected a candidate key string, found {item!r}", where)
    if item.startswith("*:") and "*" not in item[2:] and len(item) > 2:
        return CandidateSpec(item[2:], pattern=True)
    if "*" in item:
        raise fail(
            f"unsupported pattern {item!r}: '*' may only stand for the whole namespace, "
            'as in "*:name"',
            where,
        )
    return CandidateSpec(item, pattern=False)


# --- times ------------------------------------------------------------------------------------


def last_modified_micros(value: Any) -> int | None:
    """A ``$last-modified`` value as µs since the epoch, or ``None`` if it is not a time.

    Datetimes and ISO-8601 strings without a zone are taken as UTC. Epoch numbers are read by
    size: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds.

    >>> last_modified_micros("1970-01-01T00:00:01Z"), last_modified_micros(1_700_000_000_000)
    (1000000, 1700000000000000)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, _dt.date):
        return last_modified_micros(_dt.datetime(value.year, value.month, value.day))
    if isinstance(value, int | float | Decimal):
        number = Decimal(value) if not isinstance(value, Decimal) else value
        if not number.is_finite():
            return None
        size = abs(number)
        scale = (
            1_000_000 if size < 10**11 else 1_000 if size < 10**14 else 1 if size < 10**17 else 0
        )
        return int(number * scale) if scale else int(number / 1_000)
    return None


def _version_time(version: Entity) -> int:
    found = last_modified_micros(version.get(LAST_MODIFIED))
    return found if found is not None else int(version[TS])


class EmptyValues:
    """Tells whether a value is one of the configured empty values (canonical JSON texts).

    Called for every candidate property of every member, so it avoids building canonical
    JSON where it can: a plain scalar is looked up as a typed ``(type, value)`` pair (canonical
    JSON keeps ``1``, ``1.0`` and ``true`` apart, and so do the pairs), and a non-empty list or
    object can only match a configured non-empty container, so its (possibly large: an order's
    lines) canonical text is built only when such a value is configured.
    """

    def __init__(self, texts: frozenset[str]) -> None:
        self.texts = texts
        self._containers = any(t[:1] in ("[", "{") and t not in ("[]", "{}") for t in texts)
        self._plain = {
            (type(v), v) for v in (decode(json.loads(t)) for t in texts) if type(v) in _PLAIN
        }

    def __call__(self, value: Any) -> bool:
        kind = type(value)
        if kind in _PLAIN:
            return (kind, value) in self._plain
        if value and kind in (list, dict) and not self._containers:
            return False
        return canonical_json(value) in self.texts


def _candidate_time(history: Sequence[Entity], key: str) -> int | None:
    """When the latest value of ``key`` appeared; ``None`` if the member has no such value."""
    latest = history[-1]
    if is_deleted(latest) or key not in latest:
        return None
    target = latest[key]
    oldest = latest
    for version in reversed(history[:-1]):
        # A deleted version or a missing key breaks the run: the value re-appeared after it.
        if is_deleted(version) or key not in version or not _same(version[key], target):
            break
        oldest = version
    return _version_time(oldest)


def _same(a: Any, b: Any) -> bool:
    """Type-strict equality (``1`` is not ``1.0`` or ``true``); plain scalars skip the JSON."""
    if type(a) is not type(b):
        return False
    if type(a) in _PLAIN:
        return bool(a == b)
    return canonical_json(a) == canonical_json(b)


# --- the transform ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    namespace: str
    id: str
    dataset: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    member: _Member
    value: Any
    empty: bool
    at: int
    order: tuple[Any, ...]
    """Sort key, best first: newer, higher priority, namespace, member ``_id``, spec order."""


@dataclass(frozen=True, slots=True)
class CandidateView:
    """One member's value for a golden property, as :meth:`Survivorship.explain` reports it."""

    member: str
    dataset: str
    value: Any
    at: _dt.datetime
    """When this value last changed in its member (the time survivorship compares)."""
    empty: bool
    won: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """A golden property, the rule that picked its value and every candidate, best first."""

    golden: str
    rule: ClaimRule | None
    candidates: tuple[CandidateView, ...]

    @property
    def winner(self) -> CandidateView | None:
        return next((c for c in self.candidates if c.won), None)


class Survivorship:
    """The built transform; call it per entity or use :meth:`apply_batch` (one query per dataset).

    Build one per pipe run: the history cache assumes member datasets do not change during it.
    """

    def __init__(self, store: Store, config: SurvivorshipConfig, pipe: PipeConfig) -> None:
        self.store = store
        self.config = config
        self.pipe = pipe
        self._priority = {name: i for i, name in reversed(list(enumerate(config.priority)))}
        self._empty = EmptyValues(config.empty_values)
        self._cache: OrderedDict[tuple[str, str], list[Entity]] = OrderedDict()
        self._sink_versions: dict[str, list[Entity]] | None = None
        """The sink's versions of the current batch's link ids (:meth:`apply_batch`), if any."""

    def __call__(self, entity: Entity) -> list[Entity]:
        return self.apply_batch([entity])

    def apply_batch(self, entities: Sequence[Entity]) -> list[Entity]:
        """Apply survivorship to every entity, fetching all member histories up front.

        The sink versions that link times are read from are fetched up front too, in one query
        for the entities that need them (an empty candidate next to a filled one); per entity
        that query was ~3 ms, most of a merged order's time when a system leaves a field empty.
        The sink is not written while a batch is transformed, so the answer is the same.
        """
        todo = [(e, self._members(e)) for e in entities if not is_deleted(e)]
        self._prefetch(m for _, members in todo for m in members)
        self._sink_versions = self._prefetch_links(todo)
        try:
            done = {id(e): self._apply(e, members) for e, members in todo}
        finally:
            self._sink_versions = None
        return [done.get(id(e), e) for e in entities]

    # --- members and histories ------------------------------------------------------------------

    def _members(self, entity: Entity) -> list[_Member]:
        ids = entity.get("$ids")
        if not isinstance(ids, list) or not ids:
            ids = [entity.get(ID)]
        members: dict[str, _Member] = {}
        mapping = self.config.members or {}
        for value in ids:
            ni = NI.parse(value) if isinstance(value, str) else value
            if not isinstance(ni, NI) or not ni.namespace:
                raise SurvivorshipError(
                    f"cannot tell which dataset member {value!r} lives in: expected a namespaced "
                    "identifier '~:<namespace>:<id>' in '$ids'",
                    pipe=self.pipe.id,
                    file=self.pipe.file,
                    entity_id=str(entity.get(ID)),
                )
            dataset = mapping.get(ni.namespace, ni.namespace)
            members.setdefault(ni.text, _Member(ni.namespace, ni.text, dataset))
        return list(members.values())

    def _prefetch(self, members: Iterable[_Member]) -> None:
        wanted: dict[str, set[str]] = {}
        for m in members:
            if (m.dataset, m.id) in self._cache:
                self._cache.move_to_end((m.dataset, m.id))
            else:
                wanted.setdefault(m.dataset, set()).add(m.id)
        for dataset, ids in sorted(wanted.items()):
            found = _histories(self.store, dataset, ids)
            for member_id in sorted(ids):
                self._cache[(dataset, member_id)] = found.get(member_id, [])
        while len(self._cache) > HISTORY_CACHE_SIZE:
            self._cache.popitem(last=False)

    def _history(self, member: _Member) -> list[Entity]:
        key = (member.dataset, member.id)
        if key not in self._cache:
            self._prefetch([member])
        return self._cache.get(key, [])

    def _link_times(self, entity: Entity, members: list[_Member]) -> dict[str, int]:
        """Per member ``_id``: when it was first stored linked with another current member."""
        sink = self.pipe.sink_dataset
        if sink is None:
            return {}
        current = {m.id for m in members}
        # With identity "first" the golden _id is always some member's _id, so looking at every
        # member's _id finds the link even after the group's _id moved to another member.
        ids = current | {str(entity.get(ID))}
        known = self._sink_versions
        if known is None or not ids <= known.keys():
            known = _histories(self.store, sink, ids)
        linked: dict[str, int] = {}
        for versions in (known[i] for i in ids if i in known):
            for version in versions:
                together = _ids_of(version) & current
                if is_deleted(version) or len(together) < 2:
                    continue
                for member_id in together:
                    ts = int(version[TS])
                    linked[member_id] = min(ts, linked.get(member_id, ts))
        return linked

    def _prefetch_links(
        self, todo: Sequence[tuple[Entity, list[_Member]]]
    ) -> dict[str, list[Entity]] | None:
        """The sink's versions of every id :meth:`_link_times` will ask about in this batch.

        Only entities with a property whose latest member values are both empty and filled
        need link times (:meth:`_decide`); ids asked about but not stored map to ``[]``.
        """
        sink = self.pipe.sink_dataset
        if sink is None:
            return None
        ids: set[str] = set()
        for entity, members in todo:
            if self._needs_links(members):
                ids.update(m.id for m in members)
                ids.add(str(entity.get(ID)))
        found = _histories(self.store, sink, ids) if ids else {}
        return {i: found.get(i, []) for i in ids}

    def _needs_links(self, members: list[_Member]) -> bool:
        """Whether some golden property has an empty and a filled candidate (as in _decide)."""
        for _, specs in self.config.properties:
            empty = filled = False
            for member in members:
                history = self._history(member)
                if not history or is_deleted(history[-1]):
                    continue
                latest = history[-1]
                seen: set[str] = set()
                for spec in specs:
                    key = spec.key_for(member.namespace)
                    if key in seen or key not in latest:
                        continue
                    seen.add(key)
                    if self._empty(latest[key]):
                        empty = True
                    else:
                        filled = True
            if empty and filled:
                return True
        return False

    # --- choosing ---------------------------------------------------------------------------------

    def _decide(
        self, entity: Entity, members: list[_Member]
    ) -> Iterator[tuple[str, list[_Candidate], _Candidate | None, ClaimRule | None]]:
        """Per golden property: its candidates, the winner and the rule (None: no candidate)."""
        links: dict[str, int] | None = None
        for golden, specs in self.config.properties:
            candidates = self._candidates(members, specs)
            if not candidates:
                yield golden, candidates, None, None
                continue
            if any(c.empty for c in candidates) and not all(c.empty for c in candidates):
                if links is None:
                    links = self._link_times(entity, members)
                winner, rule = _choose(candidates, links)
            else:
                winner, rule = _choose(candidates, {})
            yield golden, candidates, winner, rule

    def explain(self, entity: Entity) -> list[Decision]:
        """Why each golden property of ``entity`` is what it is, decided now by :meth:`_decide`.

        The same code path as the transform, so the explanation cannot drift from the outcome;
        ``candidates`` are best first (the order ``_choose`` ranks them in).
        """
        members = self._members(entity)
        self._prefetch(members)
        out: list[Decision] = []
        for golden, candidates, winner, rule in self._decide(entity, members):
            views = tuple(
                CandidateView(
                    c.member.id,
                    c.member.dataset,
                    copy_value(c.value),
                    micros_to_datetime(c.at),
                    c.empty,
                    c is winner,
                )
                for c in sorted(candidates, key=lambda c: c.order)
            )
            out.append(Decision(golden, rule, views))
        return out

    def _apply(self, entity: Entity, members: list[_Member]) -> Entity:
        out = dict(entity)
        claims: dict[str, Any] = {}
        for golden, _, winner, rule in self._decide(entity, members):
            out.pop(golden, None)
            if winner is None or rule is None:
                continue
            out[golden] = copy_value(winner.value)
            claims[golden] = {
                "value": copy_value(winner.value),
                "member": winner.member.id,
                "dataset": winner.member.dataset,
                "at": micros_to_datetime(winner.at),
                "rule": rule,
            }
        out[self.config.claims_property] = claims
        return out

    def _candidates(
        self, members: list[_Member], specs: tuple[CandidateSpec, ...]
    ) -> list[_Candidate]:
        found: list[_Candidate] = []
        for member in members:
            history = self._history(member)
            if not history:
                continue
            seen: set[str] = set()
            for index, spec in enumerate(specs):
                key = spec.key_for(member.namespace)
                if key in seen:
                    continue
                seen.add(key)
                at = _candidate_time(history, key)
                if at is None:
                    continue
                value = history[-1][key]
                rank = min(
                    self._priority.get(member.namespace, len(self._priority)),
                    self._priority.get(member.dataset, len(self._priority)),
                )
                found.append(
                    _Candidate(
                        member,
                        value,
                        self._empty(value),
                        at,
                        (-at, rank, member.namespace, member.id, index),
                    )
                )
        return found


def _choose(candidates: list[_Candidate], links: Mapping[str, int]) -> tuple[_Candidate, ClaimRule]:
    """The winning candidate and the rule that made it win.

    ``links`` maps member ``_id`` to its link time; a member without one is linked "now", so
    its empty values all count as older than the link.
    """
    best = min(candidates, key=lambda c: c.order)
    if len(candidates) == 1:
        return best, "only"
    any_filled = any(not c.empty for c in candidates)
    considered = [
        c
        for c in candidates
        if not (c.empty and any_filled and (c.member.id not in links or c.at <= links[c.member.id]))
    ]
    winner = min(considered, key=lambda c: c.order)
    if winner is not best:
        return winner, "non-empty-over-empty"
    runner_up = min((c for c in candidates if c is not winner), key=lambda c: c.order)
    return winner, "newest" if runner_up.at < winner.at else "priority"


def _ids_of(version: Entity) -> set[str]:
    ids = version.get("$ids")
    if not isinstance(ids, list):
        return set()
    return {
        v.text if isinstance(v, NI) else NI.parse(v).text for v in ids if isinstance(v, NI | str)
    }


def _histories(store: Store, dataset: str, ids: set[str]) -> dict[str, list[Entity]]:
    """Every version of each id in ``ids`` (oldest first), in one query; missing ids are absent."""
    handle = store.dataset(dataset)
    if not ids or not handle.exists:
        return {}
    log_table, _ = handle.table_names()
    table = arrow_table(
        store.execute(
            f"SELECT _updated, _id, _deleted, _ts, _hash, _previous, body FROM {log_table} "
            "WHERE _id IN (SELECT unnest(?::VARCHAR[])) ORDER BY _updated",
            [sorted(ids)],
        )
    )
    out: dict[str, list[Entity]] = {}
    for version in table_to_entities(table):
        out.setdefault(version[ID], []).append(version)
    return out


def build_survivorship(store: Store, transform: TransformConfig, pipe: PipeConfig) -> Survivorship:
    """Build the ``survivorship`` transform of ``pipe`` (a step ``Entity -> list[Entity]``).

    Raises:
        ConfigError: the transform block is malformed (file and JSON path say where).
    """
    return Survivorship(store, parse_survivorship(transform, file=pipe.file), pipe)
