"""Namespaced identifiers in compiled rules: the interpreter's naming, decided at compile time.

A pipe with ``namespaced_identifiers: true`` changes what the DTL names mean
(sesam-hub.md §5.4, §7.3; :mod:`engine.dtl.paths`, :mod:`engine.dtl.functions.transforms`):

* ``add``/``default`` qualify an unqualified target name with the property namespace
  (:func:`engine.dtl.namespaces.qualify`) and prefix a string ``_id`` value with
  ``<identity namespace>:`` (an NI ``_id`` becomes its text ``ns:id``);
* ``_S``/``_T`` paths: an unqualified step matches the identifier in *every* namespace
  (``name`` finds ``x:name`` and ``name``, several matches are unioned), ``"::x"`` is ``x``,
  ``":x"`` is ``<property ns>:x``; ``$ids`` of an entity without one is ``[NI(_id)]``;
* ``copy``/``remove`` patterns match per namespace, split at the last colon.

The compiled SQL reproduces this with one per-row condition: a source row whose body holds a key
with a colon, at any depth, is handed to the interpreter (:func:`colon_key`). On every other row
an unqualified source step can only match the key of that very name, so a source path reads the
resolved name, and a copy pattern selects what it selects on colon-free keys. ``_T`` keys are
known at compile time (they are the rule's slots), so ``_T`` paths and ``remove`` resolve
statically. What this does not cover is refused: ``rename`` (which keeps namespaces per match),
``_S.$ids`` (dynamic), an unqualified ``_T`` read matching several slots, and hops keys that are
not exact names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.dtl.env import RunContext
from engine.dtl.namespaces import qualify
from engine.dtl.nodes import Node, PathRef
from engine.dtl.paths import resolve_name
from engine.sqlc import sqltext as q
from engine.sqlc.frame import E

__all__ = ["PLAIN", "Naming", "colon_key", "identity_value"]

_KEY_WITH_COLON = r'"(?:[^"\\]|\\.)*:(?:[^"\\]|\\.)*":'
"""A JSON object key holding a colon. Scanning canonical JSON text, the match that starts at such
a key's opening quote always exists; a match starting elsewhere (at a closing quote, before a
string value starting with ``:``) is a false alarm, which only sends the row to the interpreter."""


def colon_key(body: str) -> str:
    """SQL: the JSON text ``body`` may hold an object key with a colon (at any depth)."""
    return f"regexp_matches({body}, {q.sql_str(_KEY_WITH_COLON)})"


@dataclass(frozen=True, slots=True)
class Naming:
    """How names resolve in one compiled pipe; ``namespaced`` false: names are literal."""

    namespaced: bool = False
    identity_ns: str = ""
    property_ns: str = ""

    @classmethod
    def of(cls, ctx: RunContext) -> Naming:
        """The naming of a run context (the namespaces default to the pipe id, as there)."""
        if not ctx.namespaced_identifiers:
            return PLAIN
        return cls(True, ctx.identity_ns, ctx.property_ns)

    @property
    def ctx(self) -> RunContext:
        """A run context with this naming, for the interpreter's own pattern matchers."""
        return RunContext(
            namespaced_identifiers=self.namespaced,
            identity_namespace=self.identity_ns or None,
            property_namespace=self.property_ns or None,
        )

    def target_key(self, name: str) -> str:
        """The ``_T`` key ``add``/``default`` write for a property name."""
        return qualify(name, self.property_ns) if self.namespaced else name

    def source_step(self, step: str) -> str:
        """The key a source path step reads on a row without colon keys (see module notes)."""
        if not self.namespaced:
            return step
        return resolve_name(step, self.ctx)[0]

    def copy_candidate(self, pattern: str) -> str | None:
        """The colon-free source key a literal copy pattern can select, if any."""
        if not self.namespaced:
            return pattern
        if pattern.startswith("::"):
            pattern = pattern[2:]
        return None if ":" in pattern else pattern

    def target_matches(self, step: str, keys: list[str]) -> list[str]:
        """The ``_T`` keys a one-step ``_T`` path reads (several: the values are unioned)."""
        if not self.namespaced:
            return [step] if step in keys else []
        name, exact = resolve_name(step, self.ctx)
        if exact:
            return [name] if name in keys else []
        return [k for k in keys if k == name or k.endswith(":" + name)]

    @property
    def id_prefix(self) -> str:
        """What a string ``_id`` value written by ``add``/``default`` is prefixed with."""
        return f"{self.identity_ns}:"


PLAIN = Naming()
"""Names without namespaces: every name means itself."""


def identity_value(
    naming: Naming, node: Node, compile_json: Callable[[Node], E], unsure: Callable[[str], None]
) -> tuple[E, bool]:
    """The ``_id`` value ``add``/``default`` write with NIs on, and whether it is the prefixed
    source ``_id`` (``["add", "_id", "_S._id"]``, the enrich pipes' form).

    A string gets the identity namespace, an NI becomes its text ``ns:id`` (``"~:a:b"`` →
    ``"a:b"``), other values are kept; lists (mapped element-wise) and NIs whose text starts
    with ``~`` (escaped once a string) are left to the interpreter.
    """
    prefix = q.sql_str(naming.id_prefix)
    if isinstance(node, PathRef) and node.variable == "_S" and node.steps == ("_id",):
        # The stored body's _id is the entity's _id, a string: no decoding needed.
        return E(q.string_json(f"({prefix} || _sid)"), "json", exact=False), True
    j = compile_json(node).sql
    unsure(f"(starts_with({j}, '[') OR starts_with({j}, '\"~:~'))")
    prefixed = q.string_json(f"({prefix} || {q.raw_string(j)})")
    return (
        E(
            f"(CASE WHEN {q.is_plain_string(j)} THEN {prefixed} "
            f"WHEN starts_with({j}, '\"~:') THEN '\"' || substr({j}, 4) ELSE {j} END)",
            "json",
            exact=False,
        ),
        False,
    )
