"""``hops`` → a join against the hopped dataset's latest versions, aggregated per source row.

Design notes
------------
* Compiled form: one spec, one dataset, ``where`` one ``eq`` between an ``_S`` path and a
  one-step alias path (``"a.key"``), ``return`` absent / the alias (the entities) or ``"a.key"``
  (their values), optionally ``track-dependencies``. Everything else is refused. The project's
  share pipes use exactly this form (``["eq", "_S.customer", "g.$ids"]``, ``"return": "g.$ids"``).
* **Join keys follow DTL equality** (``engine.store.lookup.index_key``) by restricting both sides
  to *simple* key texts, where equal values have equal canonical text: null (never matches),
  booleans, integers, plain strings and NIs. A source row holding any other key value (a float,
  a decimal, a datetime, a dict ...) is flagged for the interpreter; a hopped dataset holding one
  (it might equal a source integer by value) sends the whole run to the interpreter
  (:func:`check_sql`). Lists on either side are flattened, as ``flat_values`` does.
* **Results** are what the interpreter's ``run_hops`` returns for one fetch: the distinct matched
  entities in ``_id`` order. An entity is the stored body with ``_hash``, ``_previous``, ``_ts``
  and ``_updated`` spliced in at their sorted places (``row_to_entity`` adds them), so the text
  is Python's canonical text; the splice point is the body's one ``"_deleted":false,"_id":..``
  (``check_sql`` refuses the run if it is not unique). Returned values are extracted (yyjson
  text): lists are spliced in (``extend``), nulls dropped, and rows whose values hold a dict (the
  interpreter dedupes those by ``_id``) or whose hopped body holds an exponent float are flagged.
* The hopped table is a placeholder ``{hop:N}`` in the SQL; :func:`bind` substitutes the
  subquery over the dataset's tables at run time (an absent dataset is an empty table).
* **Unique keys: a plain LEFT JOIN.** The general form deduplicates per (source row, entity)
  and aggregates per source row, which cost 4-5x a hand-written join. :func:`inspect` checks once
  per run whether every key text of the hopped dataset belongs to one entity (one row); then a
  source row with a scalar key matches at most one entity and the fast query joins it directly
  (``[piece]`` or ``[]``), flagging the rows whose key is a list for the interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.dtl.nodes import Call, Literal
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E, Frame

if TYPE_CHECKING:
    from engine.sqlc.expressions import ExprCompiler
    from engine.store import Store

__all__ = [
    "HopSpec",
    "bind",
    "check_sql",
    "compile_hops",
    "inspect",
    "simple_key",
    "simple_scalar",
    "simple_value",
]

_KEYS = frozenset({"datasets", "where", "return", "track-dependencies"})

_STRING = r'"(?:(?:[^"\\~]|\\.|~[~:])(?:[^"\\]|\\.)*)?"'
"""A JSON string that is a DTL string or an NI (``"~~x"`` is the string ``~x``)."""
_SIMPLE = rf"(?:-?[0-9]+|true|false|null|{_STRING})"
_SIMPLE_VALUE = rf"{_SIMPLE}|\[(?:{_SIMPLE}(?:,{_SIMPLE})*)?\]"
"""A simple key, or a list of simple keys (what ``flat_values`` flattens)."""


def simple_key(j: str) -> str:
    """SQL: the key text ``j`` is one whose DTL equality is text equality (see module notes)."""
    return f"regexp_full_match({j}, {q.sql_str(_SIMPLE)})"


def simple_value(j: str) -> str:
    """SQL: the value text ``j`` is a simple key or a list of them."""
    return f"regexp_full_match({j}, {q.sql_str(_SIMPLE_VALUE)})"


def simple_scalar(j: str) -> str:
    """SQL: ``j`` is a simple key that is not a list, by prefix tests (no regex per row).

    Strings: ``"`` not followed by ``~`` other than ``~~`` (escaped) or ``~:`` (an NI); numbers:
    the text casts to BIGINT and has no fraction or exponent (bigger integers are flagged).
    """
    return (
        f"({j} IN ('null', 'true', 'false') "
        f"OR (starts_with({j}, '\"') AND (NOT starts_with({j}, '\"~') "
        f"OR starts_with({j}, '\"~~') OR starts_with({j}, '\"~:'))) "
        f"OR (TRY_CAST({j} AS BIGINT) IS NOT NULL AND NOT contains({j}, '.') "
        f"AND NOT contains({j}, 'e') AND NOT contains({j}, 'E')))"
    )


def _keys(j: str) -> str:
    """SQL: the key texts of a value text (lists flattened; nulls are kept, they never join)."""
    return (
        f"(CASE WHEN starts_with({j}, '[') THEN CAST(json_extract({j}, '$[*]') AS VARCHAR[]) "
        f"ELSE [{j}] END)"
    )


@dataclass(frozen=True, slots=True)
class HopSpec:
    """One compiled hops call: ``{hop:N}`` is read from ``dataset`` keyed on ``key``."""

    n: int
    dataset: str
    key: str
    returns: str | None
    """``None``: the entities; else the returned property of each entity."""
    track: bool

    def table_sql(self, log: str | None, cur: str | None) -> str:
        """The hopped side: one row per (key, entity) with the result piece and a risk flag."""
        if log is None or cur is None:
            return (
                "(SELECT NULL::VARCHAR AS k, NULL::VARCHAR AS _id, NULL::VARCHAR AS piece, "
                "false AS risky WHERE false)"
            )
        key = q.sql_str(q.json_path((self.key,)))
        if self.returns is None:
            piece = (
                'concat(left(b, p - 1), \'"_deleted":false,"_hash":"\', _hash, \'","_id":\', '
                "idj, ',\"_previous\":', coalesce(CAST(_previous AS VARCHAR), 'null'), "
                "',\"_ts\":', _ts, ',\"_updated\":', _updated, substr(b, p + strlen(m)))"
            )
            risky = "false"
        else:
            value = f"CAST(json_extract(b, {q.sql_str(q.json_path((self.returns,)))}) AS VARCHAR)"
            piece = (
                f"(CASE WHEN {value} IS NULL OR {value} IN ('null', '[]') THEN NULL "
                f"WHEN starts_with({value}, '[') THEN substr({value}, 2, length({value}) - 2) "
                f"ELSE {value} END)"
            )
            risky = (
                f"coalesce(contains({value}, '{{') OR "
                f"regexp_matches(b, {q.sql_str(q.EXPONENT)}), false)"  # yyjson respells these
            )
        return (
            "(SELECT k, _id, piece, risky FROM (\n"
            "  SELECT unnest(ks) AS k, _id, piece, risky FROM (\n"
            f"    SELECT _id, {_keys('kv')} AS ks, {piece} AS piece, {risky} AS risky FROM (\n"
            "      SELECT *, strpos(b, m) AS p FROM (\n"
            "        SELECT l._id, CAST(l.body AS VARCHAR) AS b, l._hash, l._previous, l._ts,\n"
            "          l._updated,\n"
            f"          coalesce(CAST(json_extract(l.body, {key}) AS VARCHAR), 'null') AS kv,\n"
            "          CAST(to_json(CASE WHEN starts_with(l._id, '~') THEN '~' || l._id "
            "ELSE l._id END) AS VARCHAR) AS idj,\n"
            '          \'"_deleted":false,"_id":\' || idj AS m\n'
            f"        FROM {log} AS l\n"
            f"        WHERE l._updated IN (SELECT _updated FROM {cur} WHERE NOT _deleted)\n"
            "      ) WHERE kv <> 'null'))) WHERE k <> 'null')"
        )

    def check_sql(self, log: str, cur: str) -> str:
        """SQL: (hopped keys the compiled join cannot compare exactly (0: go), repeated keys)."""
        table = self.table_sql(log, cur)
        return (
            f"SELECT count(*) FILTER (WHERE NOT {simple_key('k')}), "
            f"count(*) - count(DISTINCT k) FROM {table}"
        )


def _check_entities_sql(log: str, cur: str) -> str:
    """SQL counting hopped bodies whose ``_deleted``/``_id`` splice point is missing or repeated."""
    return (
        "SELECT count(*) FROM (\n"
        '  SELECT CAST(l.body AS VARCHAR) AS b, \'"_deleted":false,"_id":\' || '
        "CAST(to_json(CASE WHEN starts_with(l._id, '~') THEN '~' || l._id ELSE l._id END) "
        "AS VARCHAR) AS m\n"
        f"  FROM {log} AS l WHERE l._updated IN (SELECT _updated FROM {cur} WHERE NOT _deleted))\n"
        "WHERE strpos(b, m) = 0 OR strpos(substr(b, strpos(b, m) + 1), m) > 0"
    )


def _tables(store: Store, dataset: str) -> tuple[str | None, str | None]:
    info = store.dataset_info(dataset)
    if info is None:
        return None, None
    return f"log_{info.tid}", f"cur_{info.tid}"


def inspect(store: Store, hops: tuple[HopSpec, ...]) -> tuple[str | None, bool]:
    """(Why the hopped datasets must be read by the interpreter this run or ``None``, whether
    every hopped key text belongs to one entity, so the plain LEFT JOIN is exact)."""
    unique = True
    for spec in hops:
        log, cur = _tables(store, spec.dataset)
        if log is None or cur is None:
            continue
        row = store.con.execute(spec.check_sql(log, cur)).fetchone()
        if row is not None and row[0]:
            return f"{spec.dataset!r} holds join keys that SQL does not compare exactly", False
        unique = unique and row is not None and not row[1]
        if spec.returns is None:
            row = store.con.execute(_check_entities_sql(log, cur)).fetchone()
            if row is not None and row[0]:
                return f"{spec.dataset!r} holds bodies the SQL cannot extend exactly", False
    return None, unique


def check_sql(store: Store, hops: tuple[HopSpec, ...]) -> str | None:
    """Why the hopped datasets must be read by the interpreter this run, or ``None``."""
    return inspect(store, hops)[0]


def bind(sql: str, store: Store, hops: tuple[HopSpec, ...]) -> str:
    """Substitute the hopped tables for their ``{hop:N}`` placeholders."""
    for spec in hops:
        sql = sql.replace(f"{{hop:{spec.n}}}", spec.table_sql(*_tables(store, spec.dataset)))
    return sql


# -- compiling the call ---------------------------------------------------------------------------


def _alias_step(raw: Any, alias: str) -> str | None:
    """The property of a one-step alias path ``"a.key"`` (``None`` if ``raw`` is not one)."""
    if isinstance(raw, str) and raw.startswith(alias + "."):
        key = raw[len(alias) + 1 :]
        if key and "." not in key and (not key.startswith("_") or key == "_id"):
            return key
    return None


def compile_hops(self: ExprCompiler, node: Call) -> E:
    """``["hops", SPEC]`` in the compiled form (module notes); refuses everything else."""
    if len(node.args) != 1 or not isinstance(node.args[0], Literal):
        raise Frame.refuse("hops with several specs is not compiled to SQL", node.path)
    spec = node.args[0].raw
    where = node.args[0].path
    if not isinstance(spec, dict) or set(spec) - _KEYS:
        raise Frame.refuse("hops keys other than datasets/where/return are not compiled", where)
    datasets = spec.get("datasets")
    if not (isinstance(datasets, list) and len(datasets) == 1 and isinstance(datasets[0], str)):
        raise Frame.refuse("hops over several datasets is not compiled to SQL", where)
    parts = datasets[0].split()
    dataset, alias = parts[0], parts[-1]
    condition = spec.get("where")
    if isinstance(condition, list) and len(condition) == 1 and isinstance(condition[0], list):
        condition = condition[0]
    if not (isinstance(condition, list) and len(condition) == 3 and condition[0] == "eq"):
        raise Frame.refuse("hops 'where' other than one 'eq' is not compiled to SQL", where)
    sides = condition[1:]
    keys = [_alias_step(s, alias) for s in sides]
    if keys.count(None) != 1:
        raise Frame.refuse("hops 'eq' must compare _S with a one-step alias path", where)
    source = sides[keys.index(None)]
    key = next(k for k in keys if k is not None)
    if not (isinstance(source, str) and source.startswith("_S.") and len(source) > 3):
        raise Frame.refuse("hops 'eq' must compare _S with a one-step alias path", where)
    returns: str | None = None
    if "return" in spec and spec["return"] != alias:
        returns = _alias_step(spec["return"], alias)
        if returns is None:
            raise Frame.refuse("hops 'return' other than the alias or 'a.key'", where / "return")
    if self.naming.namespaced:
        # Hopped bodies may hold namespaced keys: only exact names read the same in SQL.
        for name in (key, returns):
            if name is not None and (name == "$ids" or name[:1] not in ("_", "$")):
                raise Frame.refuse(
                    "hops on a name that is not exact under namespaced identifiers is not compiled",
                    where,
                )
    bound = self.source_path(tuple(source[3:].split(".")), where)
    n = len(self.frame.hops) + 1
    self.frame.hops.append(
        HopSpec(n, dataset, key, returns, spec.get("track-dependencies", True) is not False)
    )
    self.frame.hop_keys[n] = _keys(bound.sql)
    self.frame.hop_values[n] = bound.sql
    # A source key value whose equality is not text equality: the interpreter decides.
    if self.frame.unique_hops:
        # A list key may match several entities: flagged, so a scalar prefix test will do.
        self.unsure(f"NOT {simple_scalar(bound.sql)}")
    else:
        self.unsure(f"NOT {simple_value(bound.sql)}")
    self.unsure(f"_hr{n}")
    return E(f"_h{n}", "json", exact=returns is None)
