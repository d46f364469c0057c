"""The query under construction: CTE layers, source paths, unsure conditions, refusals.

Design notes
------------
* A compiled pipe is one ``WITH`` chain. Layer ``s0`` reads the source versions and extracts every
  ``_S`` path the rules use with *one* ``json_extract(body, [paths])`` call (one parse per row).
  Each DTL transform then adds one layer (``SELECT *, <new columns> FROM previous``), so an
  expression only ever references columns of earlier layers and no SQL text is duplicated
  across transforms.
* ``_u`` ("unsure") is a per-row boolean carried through the layers: true when the row holds a
  value whose exact DTL semantics the generated SQL does not reproduce (a list where a path is
  flattened, a float where equality would need numeric comparison ...). Those rows are handed to
  the interpreter by the executor, so the output is exact either way.
* ``_stop`` is ``NULL`` while a row's rule runs, ``'filter'`` or ``'discard'`` once stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import HubError, JsonPath
from engine.sqlc.sqltext import json_path, path_safe

__all__ = ["CLEAN_FIRST", "LATEST_ONLY", "E", "Frame", "Kind", "NotCompilable", "Slot"]

Kind = Literal["json", "str", "bool"]

LATEST_ONLY = "l._updated IN (SELECT _updated FROM {cur} WHERE _updated > ? AND _updated <= ?)"
"""The source layer's latest-version filter (its last condition). A semi-join: with two threads
DuckDB returns its rows out of source order, so the query must sort. The executor drops it for
an offset range without superseded versions (the usual case), and the sort with it."""

CLEAN_FIRST = "ORDER BY (_stop IS NOT NULL OR _fallback), _src"
"""The compiled query's last clause: clean emitted rows first, each part in source order."""


class NotCompilable(HubError):
    """The rules (or the pipe) use something the SQL compiler does not reproduce exactly."""


@dataclass(frozen=True, slots=True)
class E:
    """A compiled expression: SQL text, what it holds, and whether JSON text is canonical.

    ``json``: canonical JSON text of the DTL value (never SQL NULL; DTL null is ``'null'``);
    ``str``: a raw VARCHAR that is a DTL string; ``bool``: a SQL BOOLEAN (DTL true/false).
    ``exact`` is false for JSON text written by DuckDB (see :func:`engine.sqlc.sqltext.risky`).
    """

    sql: str
    kind: Kind
    exact: bool = True
    constant: Any = None
    is_constant: bool = False


@dataclass(frozen=True, slots=True)
class Slot:
    """One key of the target entity ``_T``: its JSON value, SQL NULL while the key is absent.

    ``always`` records that the key is present on every row (no NULL check needed).
    """

    value: E
    always: bool = False


@dataclass
class Frame:
    """Mutable builder state of one compilation (one instance per compile)."""

    layers: list[list[tuple[str, str]]] = field(default_factory=lambda: [[]])
    replaced: dict[str, str] = field(default_factory=dict)
    paths: dict[tuple[str, ...], int] = field(default_factory=dict)
    unsure: list[str] = field(default_factory=list)
    valued: set[int] = field(default_factory=set)
    counter: int = 0
    hops: list[Any] = field(default_factory=list)
    """The :class:`engine.sqlc.hops.HopSpec` s of the rule, joined in after ``sv``."""
    hop_keys: dict[int, str] = field(default_factory=dict)
    """Per hop, the SQL (over ``sv``) of the source row's key texts."""
    hop_values: dict[int, str] = field(default_factory=dict)
    """Per hop, the SQL (over ``sv``) of the source row's key value (a scalar or a list)."""
    unique_hops: bool = False
    """The hopped keys are unique (checked per run): a plain LEFT JOIN per hop."""
    escaped_constants: bool = False
    """A constant's canonical text holds a ``\\u00XX`` escape (yyjson would respell it when
    DuckDB writes it into computed text): the output body is checked, not only the source."""

    @staticmethod
    def refuse(reason: str, path: JsonPath) -> NotCompilable:
        return NotCompilable(reason, path=path)

    def source(self, steps: tuple[str, ...], where: JsonPath) -> int:
        """The 1-based index of ``_S.steps`` in the extracted list (registering it)."""
        for step in steps:
            if not path_safe(step):
                raise self.refuse(f"property name {step!r} cannot be read exactly in SQL", where)
        index = self.paths.get(steps)
        if index is None:
            index = len(self.paths) + 1
            self.paths[steps] = index
        return index

    def source_value(self, steps: tuple[str, ...], where: JsonPath) -> tuple[E, str]:
        """``(value, present)`` of ``_S.steps``; flags rows where a step crosses a list."""
        index = self.source(steps, where)
        cell = f"_x[{index}]"
        for cut in range(1, len(steps)):
            # DTL flattens paths through lists; DuckDB's path gives NULL there: interpreter.
            prefix = _quote(json_path(steps[:cut]))
            self.unsure.append(
                f"(CASE WHEN {cell} IS NULL THEN json_type(_b, {prefix}) = 'ARRAY' ELSE false END)"
            )
        self.valued.add(index)
        return E(f"v{index}", "json", exact=False), f"({cell} IS NOT NULL)"

    def column(self, sql: str) -> str:
        """Add ``sql`` as a new column of the current layer; readable from the next layer."""
        self.counter += 1
        name = f"c{self.counter}"
        self.layers[-1].append((name, sql))
        return name

    def replace(self, name: str, sql: str) -> None:
        """Redefine a carried column (``_stop``) in the current layer."""
        self.replaced[name] = sql

    def flush(self) -> None:
        """Close the current layer (its columns become readable) and start a new one."""
        if self.unsure:
            terms = " OR ".join(f"coalesce({u}, true)" for u in dict.fromkeys(self.unsure))
            self.replaced["_u"] = f"(_u OR {terms})"
            self.unsure = []
        if self.layers[-1] or self.replaced:
            self.layers[-1].extend((f"\x00{k}", v) for k, v in self.replaced.items())
            self.replaced = {}
            self.layers.append([])

    def ctes(self, source_sql: str) -> list[str]:
        """The ``name AS (...)`` parts of the WITH chain, ``s0`` first."""
        out = [f"s0 AS (\n{source_sql}\n)"]
        previous = "s0"
        if self.valued:
            values = ",\n    ".join(
                f"coalesce(_x[{i}], 'null') AS v{i}" for i in sorted(self.valued)
            )
            out.append(f"sv AS (\n  SELECT *,\n    {values}\n  FROM s0\n)")
            previous = "sv"
        if self.hops:
            out += self._hop_ctes()
            previous = "sh"
        for i, layer in enumerate(self.layers, 1):
            if not layer:
                continue
            plain = [f"{sql} AS {name}" for name, sql in layer if not name.startswith("\x00")]
            repl = [f"{sql} AS {name[1:]}" for name, sql in layer if name.startswith("\x00")]
            star = f"* REPLACE ({', '.join(repl)})" if repl else "*"
            cols = ",\n    ".join([star, *plain])
            out.append(f"s{i} AS (\n  SELECT {cols}\n  FROM {previous}\n)")
            previous = f"s{i}"
        return out

    def _hop_ctes(self) -> list[str]:
        """Per hop: the source keys, the distinct matches, their ``_id``-ordered list; then ``sh``.

        ``{hop:N}`` is the hopped side (``k, _id, piece, risky``), bound at run time.
        """
        out: list[str] = []
        joins: list[str] = []
        cols: list[str] = []
        if self.unique_hops:
            # At most one entity per scalar key (list keys are flagged): no DISTINCT, no GROUP BY.
            for n in (spec.n for spec in self.hops):
                joins.append(f"LEFT JOIN {{hop:{n}}} AS t{n} ON t{n}.k = p.{self.hop_values[n]}")
                cols += [
                    f"(CASE WHEN t{n}.piece IS NULL THEN '[]' ELSE '[' || t{n}.piece || ']' END)"
                    f" AS _h{n}",
                    f"coalesce(t{n}.risky, false) AS _hr{n}",
                ]
            return [
                f"sh AS (\n  SELECT p.*, {', '.join(cols)}\n  FROM sv AS p\n  "
                + "\n  ".join(joins)
                + "\n)"
            ]
        for n in (spec.n for spec in self.hops):
            out.append(
                f"hk{n} AS (\n  SELECT * FROM (SELECT _src, unnest({self.hop_keys[n]}) AS k "
                f"FROM sv) WHERE k <> 'null'\n)"
            )
            out.append(
                f"hm{n} AS (\n  SELECT DISTINCT hk._src, t._id, t.piece, t.risky\n"
                f"  FROM hk{n} AS hk JOIN {{hop:{n}}} AS t ON t.k = hk.k\n)"
            )
            out.append(
                f"ha{n} AS (\n  SELECT _src, '[' || coalesce(string_agg(piece, ',' ORDER BY _id), "
                f"'') || ']' AS h, bool_or(risky) AS r\n  FROM hm{n} GROUP BY _src\n)"
            )
            joins.append(f"LEFT JOIN ha{n} ON ha{n}._src = p._src")
            cols += [f"coalesce(ha{n}.h, '[]') AS _h{n}", f"coalesce(ha{n}.r, false) AS _hr{n}"]
        out.append(
            f"sh AS (\n  SELECT p.*, {', '.join(cols)}\n  FROM sv AS p\n  "
            + "\n  ".join(joins)
            + "\n)"
        )
        return out

    @property
    def last(self) -> str:
        """The name of the last non-empty layer."""
        names = [f"s{i}" for i, layer in enumerate(self.layers, 1) if layer]
        if names:
            return names[-1]
        return "sh" if self.hops else ("sv" if self.valued else "s0")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
