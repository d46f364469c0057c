"""DTL transforms → one DuckDB query producing the sink's append batch (``_id, _deleted, body``).

Design notes
------------
* ``_T`` is tracked symbolically: every key the target can hold is a :class:`Slot`, a nullable
  SQL column of JSON text (NULL while the key is absent). All keys are known before the SQL is
  written: keys named in the rules, plus, for wildcard ``copy`` patterns, the keys of the source
  rows being read (the executor discovers them with one ``json_keys`` pass and compiles for that
  key *universe*). The patterns themselves are matched in Python with
  :func:`engine.dtl.patterns.selector`, so the wildcard semantics are the interpreter's.
* ``filter``/``discard`` set the per-row ``_stop`` column; ``if`` transforms push a guard.
  Assignments under a branch are guarded (``CASE WHEN guard THEN new ELSE old END``); after a
  stop only ``_id`` needs the guard, because a stopped row emits its ``_id`` or nothing.
* The body is assembled with the keys sorted in Python (``sorted`` = ``json.dumps(sort_keys)``),
  each pair written as ``"key":value`` from canonical value text, joined by ``concat_ws`` (absent
  keys are SQL NULL and skipped). ``_deleted`` is always written, ``false`` unless ``_T`` holds
  ``true``; root keys starting with ``_`` other than ``_id``/``_deleted`` are left out, exactly as
  :func:`engine.entity.hash_body` does.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.dtl.nodes import Call, Literal, Node, Seq
from engine.dtl.patterns import selector
from engine.errors import JsonPath
from engine.sqlc import sqltext as q
from engine.sqlc.expressions import RESERVED_READ, ExprCompiler, as_bool
from engine.sqlc.frame import CLEAN_FIRST, LATEST_ONLY, E, Frame, Slot
from engine.sqlc.hops import HopSpec
from engine.sqlc.names import PLAIN, Naming, colon_key, identity_value

__all__ = ["CompiledQuery", "compile_default_rule"]

_WILD = frozenset("*?")


class CompiledQuery:
    """The SQL of one compiled rule for one key universe; ``{log}``/``{cur}`` are placeholders."""

    def __init__(
        self, sql: str, wildcard: bool, paths: int, hops: tuple[HopSpec, ...] = ()
    ) -> None:
        self.sql = sql
        self.wildcard = wildcard
        """Whether a wildcard ``copy`` depends on the source keys (the executor discovers them)."""
        self.paths = paths
        self.hops = hops
        """The hopped datasets, as ``{hop:N}`` placeholders in ``sql`` (:func:`engine.sqlc.hops.bind`)."""


class _RuleCompiler:
    def __init__(
        self,
        universe: Iterable[str],
        *,
        fast: bool = True,
        unique_hops: bool = False,
        naming: Naming = PLAIN,
    ) -> None:
        self.frame = Frame(unique_hops=unique_hops)
        self.naming = naming
        self.exprs = ExprCompiler(self.frame, self.read_target, fast=fast, naming=naming)
        self.prefixed_sid: str | None = None
        """The column holding ``<identity ns>:`` + the source ``_id`` as the ``_id`` slot."""
        self.prefixed_unless_stopped = False
        """That column was assigned under the stop guard only: NULL on rows stopped before."""
        self.slots: dict[str, Slot] = {}
        self.guards: list[str] = []
        self.may_stop = False
        self.universe = sorted({*universe, "_id", "_deleted"})  # every stored body has both
        self.wildcard = False
        self.unsafe_keys: set[str] = set()

    # -- target slots -----------------------------------------------------------------------

    def guard(self, key: str = "_id") -> str | None:
        # A stopped row only ever emits its _id (filter) or nothing (discard), so later
        # assignments need the stop guard for _id alone; branch guards apply to every key.
        stop = self.may_stop and key == "_id"
        parts = [*self.guards, *(["_stop IS NULL"] if stop else [])]
        return " AND ".join(f"({p})" for p in parts) if parts else None

    def read_target(self, key: str, where: JsonPath) -> E:
        _check_key(key, where)
        matches = self.naming.target_matches(key, list(self.slots))
        for name in matches:
            _check_key(name, where)
        if len(matches) > 1:
            # Several keys match in different namespaces: exact while at most one is present
            # (that one's value); rows holding several (a union) go to the interpreter.
            values = [self.slots[name].value.sql for name in matches]
            present = " + ".join(f"CAST({v} IS NOT NULL AS INTEGER)" for v in values)
            self.exprs.unsure(f"({present}) > 1")
            return E(f"coalesce({', '.join(values)}, 'null')", "json", exact=False)
        slot = self.slots.get(matches[0]) if matches else None
        if slot is None:
            return E("'null'", "json")
        if slot.always:
            return slot.value
        return E(f"coalesce({slot.value.sql}, 'null')", "json", exact=slot.value.exact)

    def assign(self, key: str, value: E, always: bool, *, prefixed_sid: bool = False) -> None:
        """Set ``_T[key]`` (SQL NULL: absent) under the current guard, as a new column.

        ``prefixed_sid``: the value is the identity namespace + the source ``_id`` (the query
        then writes the ``_id`` column from the source id without decoding the JSON text).
        """
        guard = self.guard(key)
        old = self.slots.get(key)
        if guard is not None:
            old_value = old.value.sql if old else "NULL"
            value = E(
                f"(CASE WHEN {guard} THEN {value.sql} ELSE {old_value} END)",
                "json",
                exact=value.exact and (old.value.exact if old else True),
            )
            always = always and old is not None and old.always
        v = value.sql if _simple(value.sql) else self.frame.column(value.sql)
        self.slots[key] = Slot(E(v, "json", exact=value.exact), always)
        if key == "_id":
            stop_only = guard == "(_stop IS NULL)" and not self.guards and old is None
            self.prefixed_sid = v if prefixed_sid and (guard is None or stop_only) else None
            self.prefixed_unless_stopped = stop_only

    def copy_key(self, source_key: str, target_key: str, where: JsonPath) -> None:
        """``_T[target] = _S[source]`` when the source has the key (copy and rename)."""
        cell = f"_x[{self.frame.source((source_key,), where)}]"  # single step: no list check
        old = self.slots.get(target_key)
        if old is None:
            self.assign(target_key, E(cell, "json", exact=False), False)
            return
        merged = E(f"coalesce({cell}, {old.value.sql})", "json", exact=False)
        self.assign(target_key, merged, old.always)

    # -- transforms -------------------------------------------------------------------------

    def rule(self, node: Node) -> None:
        for item in _transforms(node):
            self.transform(item)
            self.frame.flush()

    def transform(self, node: Call) -> None:
        name = node.name
        args = node.args
        if name == "comment":
            return
        if name in ("add", "default"):
            key = self.naming.target_key(_key(args[0]))
            _check_key(key, args[0].path)
            prefixed = False
            if key == "_id" and self.naming.namespaced:
                value, prefixed = identity_value(
                    self.naming, args[1], self.exprs.json, self.exprs.unsure
                )
            else:
                value = self.exprs.json(args[1])
            old = self.slots.get(key)
            if name == "default" and old is not None:
                value = E(
                    f"coalesce({old.value.sql}, {value.sql})",
                    "json",
                    exact=old.value.exact and value.exact,
                )
                prefixed = False
            self.assign(key, value, True, prefixed_sid=prefixed)
        elif name == "copy":
            self.copy(node)
        elif name == "rename":
            if self.naming.namespaced:
                raise Frame.refuse("rename with namespaced identifiers is not compiled", node.path)
            source, target = _key(args[0]), _key(args[1])
            self.copy_key(source, target, node.path)
        elif name == "remove":
            patterns = _patterns(args[0])
            pick = selector(list(patterns), None, self.naming.ctx)
            for key in [k for k in self.slots if pick(k)]:
                if self.guard(key) is None:
                    del self.slots[key]
                else:
                    self.assign(key, E("NULL", "json"), False)
        elif name in ("filter", "discard"):
            self.stop(node)
        elif name == "if":
            self.branch(node)
        else:
            raise Frame.refuse(f"transform {name!r} is not compiled to SQL", node.path)

    def copy(self, node: Call) -> None:
        include = _patterns(node.args[0])
        exclude = _patterns(node.args[1]) if len(node.args) > 1 else ()
        pick = selector(list(include), list(exclude), self.naming.ctx)
        literal = [self.naming.copy_candidate(p) for p in include if not _WILD & set(p)]
        exact = [p for p in literal if p is not None]
        candidates = set(exact)
        if len(literal) < len(include):
            self.wildcard = True
            # Rows holding a key with a colon go to the interpreter when names are namespaced.
            candidates.update(k for k in self.universe if not (self.naming.namespaced and ":" in k))
        for key in sorted(candidates):
            if not pick(key):
                continue
            if key in RESERVED_READ:
                if key in exact:
                    raise Frame.refuse(f"copying {key!r} is not compiled to SQL", node.path)
                continue
            if not q.path_safe(key):
                self.unsafe_keys.add(key)
                continue
            self.copy_key(key, key, node.path)

    def stop(self, node: Call) -> None:
        terms = [t for t in (self.guard(),) if t is not None]
        if node.args:
            terms.append(f"NOT ({as_bool(self.exprs.compile(node.args[0]))})")
        condition = " AND ".join(terms) if terms else "true"
        self.frame.replace("_stop", f"(CASE WHEN {condition} THEN '{node.name}' ELSE _stop END)")
        if self.prefixed_unless_stopped:
            self.prefixed_sid = None  # a row stopped here keeps the prefixed _id: decode it
        self.may_stop = True

    def branch(self, node: Call) -> None:
        condition = self.frame.column(
            f"coalesce({as_bool(self.exprs.compile(node.args[0]))}, false)"
        )
        self.frame.flush()
        for guard, body in ((condition, node.args[1]), (f"NOT {condition}", _else(node))):
            if body is None:
                continue
            self.guards.append(guard)
            for item in _transforms(body):
                self.transform(item)
                self.frame.flush()
            self.guards.pop()

    def verify_universe(self) -> None:
        """Flag rows whose body holds a key outside the universe, by the body's byte length.

        A canonical body is ``{`` + ``"k":v`` pairs joined by ``,`` + ``}``, and the extracted
        value texts have the source's exact length (rows where yyjson's spelling could differ
        are flagged anyway), so the length adds up exactly when no other key is present.
        """
        terms = []
        for key in self.universe:
            if not q.path_safe(key):
                continue  # rows holding it cannot add up: they fall back
            index = self.frame.source((key,), JsonPath())
            overhead = len(q.key_text(key).encode("utf-8")) + 2  # the colon and a comma
            terms.append(f"coalesce(strlen(_x[{index}]) + {overhead}, 0)")
        expected = " + ".join(["1", *terms])
        self.frame.unsure.append(f"strlen(_b) <> {expected}")
        self.frame.flush()

    # -- the final query --------------------------------------------------------------------

    def query(self) -> str:
        if self.unsafe_keys:
            keys = ", ".join(q.sql_str(k) for k in sorted(self.unsafe_keys))
            self.frame.unsure.append(f"list_has_any(json_keys(_b), [{keys}])")
        if self.naming.namespaced:
            self.frame.unsure.append(colon_key("_b"))  # see engine.sqlc.names
        # Without an _id every emitted row is an error the interpreter reports.
        id_slot = self.slots.get("_id", Slot(E("NULL", "json")))
        id_value = id_slot.value.sql
        source_id = self.frame.paths.get(("_id",))
        copied_id = source_id is not None and id_value == f"_x[{source_id}]"
        prefixed_id = self.prefixed_sid is not None and id_value == self.prefixed_sid
        if not (copied_id or prefixed_id):
            # A non-string _id is an error the interpreter reports; a filtered row without one
            # takes the source _id, as the interpreter does.
            self.frame.unsure.append(
                f"(CASE WHEN {id_value} IS NOT NULL THEN NOT {q.is_plain_string(id_value)} "
                "ELSE _stop IS NULL END)"
            )
        self.frame.flush()
        deleted = self.slots.get("_deleted")
        deleted_sql = f"coalesce({deleted.value.sql} = 'true', false)" if deleted else "false"
        body = _body(
            {
                key: self.slots.get(key, id_slot)
                for key in {*self.slots, "_id"}
                if not key.startswith("_") or key == "_id"
            },
            f"(CASE WHEN {deleted_sql} THEN 'true' ELSE 'false' END)",
        )
        # The source's own _id (always a string, present in every body) needs no decoding.
        id_sql = "_sid" if copied_id else f"coalesce({q.raw_string(id_value)}, _sid)"
        if prefixed_id:
            id_sql = f"({q.sql_str(self.naming.id_prefix)} || _sid)"
            if self.prefixed_unless_stopped:
                # stopped before the assignment: the interpreter gives the source _id
                id_sql = f"(CASE WHEN _stop IS NULL THEN {id_sql} ELSE _sid END)"
        paths = ", ".join(q.sql_str(q.json_path(p)) for p in self.frame.paths)
        extract = (
            f"CAST(json_extract(l.body, [{paths}]) AS VARCHAR[])"
            if self.frame.paths
            else "CAST(NULL AS VARCHAR[])"
        )
        source = (
            "  SELECT l._updated AS _src, l._id AS _sid, CAST(l.body AS VARCHAR) AS _b,\n"
            f"    {extract} AS _x,\n"
            "    CAST(NULL AS VARCHAR) AS _stop, false AS _u\n"
            "  FROM {log} AS l\n"
            "  WHERE l._updated > ? AND l._updated <= ?\n"
            "    AND " + LATEST_ONLY
        )
        ctes = self.frame.ctes(source)
        # Values DuckDB may spell differently from Python are caught once per row: on the
        # source body alone unless a constant or a hopped value could bring an escape in.
        if self.frame.hops or self.frame.escaped_constants:
            risk = q.risky_output("body", "_b")
        else:
            risk = q.risky_source("_b")
        return (
            "WITH " + ",\n".join(ctes) + ",\n"
            "out AS (\n"
            f"  SELECT _src, _b, {id_sql} AS _id, {deleted_sql} AS _deleted, _stop, _u,\n"
            f"  CASE WHEN _stop IS NULL THEN {body} END AS body\n"
            f"  FROM {self.frame.last}\n)\n"
            "SELECT _src, _id, _deleted, _stop,\n"
            f"  _u OR coalesce({risk}, false) AS _fallback, body\n"
            "FROM out\n"
            # Clean emitted rows first, in source order: the executor slices them zero-copy.
             + CLEAN_FIRST
        )


def compile_default_rule(
    rule: Node,
    universe: Iterable[str] = (),
    *,
    verify_keys: bool = False,
    fast: bool = True,
    unique_hops: bool = False,
    naming: Naming = PLAIN,
) -> CompiledQuery:
    """Compile the parsed ``default`` rule for a set of source keys; raises NotCompilable.

    ``verify_keys``: the universe may be incomplete (sampled); rows whose body holds a key
    outside it are flagged for the interpreter. ``fast``: flag values of unusual types instead
    of dispatching on them per row (:mod:`engine.sqlc.expressions`). ``unique_hops``: the
    hopped keys were found unique this run, so hops are plain LEFT JOINs (:mod:`engine.sqlc.hops`).
    ``naming``: the pipe's namespaced identifiers (:mod:`engine.sqlc.names`).
    """
    compiler = _RuleCompiler(universe, fast=fast, unique_hops=unique_hops, naming=naming)
    compiler.rule(rule)
    if verify_keys:
        compiler.verify_universe()
    sql = compiler.query()
    return CompiledQuery(
        sql, compiler.wildcard, len(compiler.frame.paths), tuple(compiler.frame.hops)
    )


# -- argument shapes ----------------------------------------------------------------------------


def _transforms(node: Node) -> list[Call]:
    if isinstance(node, Call):
        return [node]
    if isinstance(node, Seq) and all(isinstance(i, Call) for i in node.items):
        return [i for i in node.items if isinstance(i, Call)]
    raise Frame.refuse("expected a transform or a list of transforms", node.path)


def _else(node: Call) -> Node | None:
    return node.args[2] if len(node.args) > 2 else None


def _check_key(key: str, where: JsonPath) -> None:
    if key.startswith("_") and key not in ("_id", "_deleted"):
        raise Frame.refuse(f"the reserved property {key!r} is not compiled to SQL", where)


def _key(node: Node) -> str:
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        raise Frame.refuse("a computed property name is not compiled to SQL", node.path)
    _check_key(node.value, node.path)
    return node.value


def _patterns(node: Node) -> tuple[str, ...]:
    if isinstance(node, Literal) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, Call) and node.name == "list":
        items = node.args
        if all(isinstance(i, Literal) and isinstance(i.value, str) for i in items):
            return tuple(i.value for i in items if isinstance(i, Literal))
    raise Frame.refuse("copy/remove patterns must be constant strings", node.path)


def _body(slots: dict[str, Slot], deleted: str) -> str:
    """SQL: the canonical body ``{"k":v,...}`` from the slots (SQL NULL: key absent).

    One flat ``concat`` (which skips NULL arguments): ``_deleted`` is always present, so keys
    sorting before it carry a trailing comma and keys after it a leading one, and a key's
    ``"k":`` head is NULL exactly when its value is. No intermediate string per key, which
    ``concat_ws(',', '"k":' || v, ...)`` allocates (a sixth of the whole query's time).
    """
    args: list[str] = []
    for key in sorted({*slots, "_deleted"}):
        head = q.key_text(key) + ":"
        if key == "_deleted":
            args += [q.sql_str(head), deleted]
            continue
        slot = slots[key]
        value = slot.value.sql
        before = key < "_deleted"
        if slot.always:
            args += [q.sql_str(head), value, "','"] if before else [q.sql_str("," + head), value]
            continue
        piece = q.sql_str(head if before else "," + head)
        args += [f"CASE WHEN {value} IS NULL THEN NULL ELSE {piece} END", value]
        if before:
            args.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE ',' END")
    return "concat('{', " + ",\n      ".join(args) + ", '}')"


def _simple(sql: str) -> bool:
    """A column reference or a short literal: no need for a column of its own."""
    return sql.isidentifier() or (sql.startswith("_x[") and sql.endswith("]") and " " not in sql)
