"""DTL transform functions: the statements of a rule, which change ``_T`` (sesam-hub.md §5.5).

Every transform is lazy: it receives the :class:`~engine.dtl.env.Env` and evaluators for its
arguments, and returns nothing. ``filter`` and ``discard`` stop the rule by setting
``env.stopped``; ``if``/``case``/``case-eq`` run nested transform lists compiled at compile time.

With namespaced identifiers on (sesam-hub.md §5.4, §7.3), ``add``, ``default`` and ``make-ni``
qualify unqualified property names with the property namespace (``"::x"`` escapes, ``":x"`` is
the current namespace) and prefix ``_id`` string values with the identity namespace; ``copy``,
``remove``, ``rename`` and ``make-ni`` match names per namespace at the last colon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.dtl.compiler import RuleBody, run_rule
from engine.dtl.env import Env, RunContext
from engine.dtl.namespaces import qualify, split_name
from engine.dtl.nodes import Call
from engine.dtl.paths import resolve_name
from engine.dtl.patterns import selector
from engine.dtl.registry import Evaluator, SpecCollector
from engine.dtl.values import as_list, dtl_eq, order_key, truthy
from engine.entity import NI
from engine.errors import DtlEvalError

if TYPE_CHECKING:
    from engine.dtl.compiler import Compiler

__all__ = ["FUNCTIONS", "DtlTripError"]

FUNCTIONS = SpecCollector()


# -- helpers --------------------------------------------------------------------------------


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise DtlEvalError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    return value


def _target_key(name: str, ctx: RunContext) -> str:
    return qualify(name, ctx.property_ns) if ctx.namespaced_identifiers else name


def _identity_value(value: Any, ctx: RunContext) -> Any:
    """An ``_id`` value written by ``add``/``default`` with NIs on gets the identity namespace."""
    if isinstance(value, str):
        return f"{ctx.identity_ns}:{value}"
    if isinstance(value, NI):
        return value.text
    if isinstance(value, list):
        return [_identity_value(v, ctx) for v in value]
    return value


def _set(env: Env, prop: Any, value: Any) -> None:
    if type(prop) is str and not env.ctx.namespaced_identifiers:
        env.T[prop] = value  # the common case: a literal name, no namespaces to apply
        return
    key = _target_key(_name(prop, "the property name"), env.ctx)
    if key == "_id" and env.ctx.namespaced_identifiers:
        value = _identity_value(value, env.ctx)
    env.T[key] = value


def _matching(source: dict[str, Any], name: str, ctx: RunContext) -> list[tuple[str, Any]]:
    """The ``(key, value)`` pairs of ``source`` a property name refers to (every namespace)."""
    resolved, exact = resolve_name(name, ctx)
    if exact:
        return [(resolved, source[resolved])] if resolved in source else []
    suffix = ":" + resolved
    return [(k, v) for k, v in source.items() if k == resolved or k.endswith(suffix)]


# -- setting properties ---------------------------------------------------------------------


@FUNCTIONS.transform("add", min_args=2, max_args=2)
def add(env: Env, prop: Evaluator, values: Evaluator) -> None:
    """Set ``_T[PROPERTY]`` to VALUES (overwriting); a ``null`` value is stored as ``null``.

    ``["add", "age", 26]``. PROPERTY may be computed: ``["add", ["concat", "x-", "_S.k"], 1]``.
    With namespaced identifiers on, an unqualified name gets the property namespace and string
    ``_id`` values get the identity namespace.
    """
    _set(env, prop(env), values(env))


@FUNCTIONS.transform("add-if", min_args=2, max_args=3)
def add_if(env: Env, prop: Evaluator, *rest: Evaluator) -> None:
    """Like ``add``, but only if CONDITION holds for the value: ``[PROPERTY, CONDITION?, VALUES]``.

    CONDITION is evaluated with ``_`` bound to the value of VALUES and defaults to "not null":
    ``["add-if", "foo", null]`` adds nothing, ``["add-if", "foo", ["list"]]`` adds ``[]``,
    ``["add-if", "foo", ["gte", "_.", 18], 12]`` adds nothing.
    """
    value = rest[-1](env)
    if value is not None if len(rest) == 1 else truthy(rest[0](env.bind(value))):
        _set(env, prop(env), value)


@FUNCTIONS.transform("default", min_args=2, max_args=2)
def default(env: Env, prop: Evaluator, values: Evaluator) -> None:
    """Like ``add``, but only if ``_T`` does not have the property yet."""
    key = _target_key(_name(prop(env), "the property name"), env.ctx)
    if key not in env.T:
        _set(env, prop(env), values(env))


@FUNCTIONS.transform("copy", min_args=1, max_args=2)
def copy_(env: Env, include: Evaluator, exclude: Evaluator | None = None) -> None:
    """Copy the properties of ``_S`` matching INCLUDE (and not EXCLUDE) to ``_T``.

    Patterns are wildcards (``*`` any text, ``?`` one character), one or a list.
    ``["copy", "*"]`` copies every root key, ``_deleted`` and other ``_`` keys included.
    With namespaced identifiers on, a pattern without a colon matches the identifier part of
    every namespace (``"age"`` matches ``x:age``); ``"x*:*e"`` matches ``x:age``.
    """
    source = env.S
    if not isinstance(source, dict):
        return
    selected = selector(include(env), exclude(env) if exclude is not None else None, env.ctx)
    target = env.T
    if selected.everything:
        target.update(source)
        return
    exact = selected.exact
    if exact is not None and len(exact) == 1:  # ["copy", "_id"]: no need to scan every key
        (name,) = exact
        if name in source:
            target[name] = source[name]
        return
    for key, value in source.items():
        if selected(key):
            target[key] = value


@FUNCTIONS.transform("remove", min_args=1, max_args=1)
def remove(env: Env, pattern: Evaluator) -> None:
    """Delete the properties of ``_T`` whose whole name matches the wildcard PROPERTY.

    ``["remove", "tmp_*"]``; namespace aware like ``copy``.
    """
    selected = selector(pattern(env), None, env.ctx)
    target = env.T
    if selected.exact is not None:
        for key in selected.exact:
            target.pop(key, None)
        return
    for key in [k for k in target if selected(k)]:
        del target[key]


@FUNCTIONS.transform("rename", min_args=2, max_args=2)
def rename(env: Env, from_: Evaluator, to: Evaluator) -> None:
    """Copy ``_S[FROM]`` to ``_T[TO]``; it reads ``_S``, never ``_T``, and adds nothing if absent.

    With namespaced identifiers on, an unqualified FROM renames the identifier inside each
    namespace (``x:a`` → ``x:b``); a qualified TO collects every matching value into it (one
    value as is, several as a list).
    """
    source = env.S
    if not isinstance(source, dict):
        return
    old = _name(from_(env), "rename FROM")
    new = _name(to(env), "rename TO")
    ctx = env.ctx
    if not ctx.namespaced_identifiers:
        if old in source:
            env.T[new] = source[old]
        return
    matches = _matching(source, old, ctx)
    if not matches:
        return
    new_resolved, new_exact = resolve_name(new, ctx)
    if new_exact:
        values = [v for _, v in matches]
        env.T[new_resolved] = values[0] if len(values) == 1 else values
        return
    for key, value in matches:
        namespace = split_name(key)[0]
        env.T[f"{namespace}:{new}" if namespace else new] = value


# -- whole dicts and extra entities ---------------------------------------------------------


@FUNCTIONS.transform("merge", min_args=1, max_args=1)
def merge(env: Env, values: Evaluator) -> None:
    """Copy every key of each dict in VALUES onto ``_T``; later dicts win; non-dicts ignored.

    Root keys starting with ``_`` (``_id`` included) are not copied.
    """
    for value in _dicts(values(env)):
        env.T.update(value)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dicts of VALUES without their root ``_`` keys (``merge`` never copies those)."""
    return [
        {k: v for k, v in d.items() if not k.startswith("_")}
        for d in as_list(value)
        if isinstance(d, dict)
    ]


def _union(old: Any, new: Any) -> Any:
    out: list[Any] = []
    seen: set[Any] = set()
    for value in as_list(old) + as_list(new):
        key = order_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out[0] if len(out) == 1 else out


@FUNCTIONS.transform("merge-union", min_args=1, max_args=1)
def merge_union(env: Env, values: Evaluator) -> None:
    """Like ``merge``, but a key already on ``_T`` gets the distinct union of old and new values.

    ``{"a": 1}`` then ``{"a": 2, "b": 3}`` gives ``{"a": [1, 2], "b": 3}``; equal values stay one.
    Root keys starting with ``_`` are not copied.
    """
    for value in _dicts(values(env)):
        for key, item in value.items():
            env.T[key] = _union(env.T[key], item) if key in env.T else item


def _entities(env: Env, value: Any, function: str) -> list[dict[str, Any]]:
    """The entities of VALUES (dicts with a string ``_id``), copied.

    Other values are ignored, unless the transform has ``id_required`` (Sesam's default for
    pipes), which makes them an error.
    """
    out = []
    for v in as_list(value):
        if isinstance(v, dict) and isinstance(v.get("_id"), str):
            out.append(dict(v))
        elif env.id_required:
            raise DtlEvalError(
                f"{function} expects entities (dicts with a string _id), got {v!r}"
                ' (set "id_required": false on the transform to ignore such values)'
            )
    return out


@FUNCTIONS.transform("create", min_args=1, max_args=1)
def create(env: Env, values: Evaluator) -> None:
    """Emit each dict of VALUES with a string ``_id`` as an extra output entity.

    Non-entities are ignored. Entities created before a later ``filter`` are still emitted.
    """
    env.created.extend(_entities(env, values(env), "create"))


@FUNCTIONS.transform("create-child", min_args=1, max_args=1)
def create_child(env: Env, values: Evaluator) -> None:
    """Append each entity of VALUES (string ``_id`` required) to ``_T["$children"]``."""
    children = _entities(env, values(env), "create-child")
    if children:
        env.T["$children"] = as_list(env.T.get("$children")) + children


@FUNCTIONS.transform("make-ni", min_args=2, max_args=3)
def make_ni(env: Env, namespace: Evaluator, from_: Evaluator, to: Evaluator | None = None) -> None:
    """Write NIs ``~:NAMESPACE:value`` for the string values of ``_S[FROM]`` to ``_T[TO]``.

    TO defaults to FROM + ``"-ni"``. Non-strings are ignored; nothing is added without a
    string. With namespaced identifiers on, an unqualified FROM matches every namespace and
    each keeps its namespace on TO (``referee`` → ``referee-ni``, ``x:referee`` →
    ``x:referee-ni``; with TO ``ref``: ``ref`` and ``x:ref``); a qualified TO is used as given.
    """
    source = env.S
    if not isinstance(source, dict):
        return
    ns = _name(namespace(env), "the make-ni namespace")
    old = _name(from_(env), "make-ni FROM")
    new = _name(to(env), "make-ni TO") if to is not None else None
    ctx = env.ctx
    for key, value in _matching(source, old, ctx):
        if isinstance(value, list):
            nis: Any = [NI.parse(f"{ns}:{v}") for v in value if isinstance(v, str)]
            if not nis:
                continue
        elif isinstance(value, str):
            nis = NI.parse(f"{ns}:{value}")
        else:
            continue
        if not ctx.namespaced_identifiers:
            env.T[new if new is not None else key + "-ni"] = nis
            continue
        # The target keeps the namespace of the source key (none stays none) unless TO is
        # qualified or escaped (sesam docs, make-ni examples with namespaced identifiers).
        key_ns, key_id = split_name(key)
        if new is not None and (":" in new or new[:1] in ("_", "$")):
            target = qualify(new, ctx.property_ns)
        else:
            name = new if new is not None else key_id + "-ni"
            target = f"{key_ns}:{name}" if key_ns else name
        env.T[target] = nis


# -- control flow ---------------------------------------------------------------------------


@FUNCTIONS.transform("filter", min_args=0, max_args=1)
def filter_(env: Env, condition: Evaluator | None = None) -> None:
    """Stop the rule unless CONDITION is true; with no condition, always stop.

    A filtered entity is emitted with ``_filtered: true`` when the sink is a dataset (the sink
    deletes a stored version), and dropped otherwise. ``create``d entities stay emitted.
    """
    if condition is None or not truthy(condition(env)):
        env.stopped = "filter"


@FUNCTIONS.transform("discard", min_args=0, max_args=1)
def discard(env: Env, condition: Evaluator | None = None) -> None:
    """Like ``filter``, but ``_T`` is dropped completely: no delete ever reaches the sink."""
    if condition is None or not truthy(condition(env)):
        env.stopped = "discard"


def _compile_if(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    args = call.args
    then = compiler.transforms(args[1])
    otherwise = compiler.transforms(args[2]) if len(args) > 2 else ()
    return compiler.expr(args[0]), then, otherwise


@FUNCTIONS.transform("if", min_args=2, max_args=3, compile_args=_compile_if)
def if_(env: Env, condition: Evaluator, then: RuleBody, otherwise: RuleBody) -> None:
    """Run THEN if CONDITION is true, else ELSE; each is one transform or a list (maybe empty)."""
    run_rule(then if truthy(condition(env)) else otherwise, env)


def _compile_case(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    args = call.args
    pairs = tuple(
        (compiler.expr(args[i]), compiler.transforms(args[i + 1]))
        for i in range(0, len(args) - 1, 2)
    )
    otherwise = compiler.transforms(args[-1]) if len(args) % 2 else ()
    return pairs, otherwise


@FUNCTIONS.transform("case", min_args=2, max_args=None, compile_args=_compile_case)
def case(env: Env, pairs: tuple[tuple[Evaluator, RuleBody], ...], otherwise: RuleBody) -> None:
    """``["case", C1, THEN1, C2, THEN2, ..., ELSE?]``: run the first THEN whose C is true."""
    for condition, body in pairs:
        if truthy(condition(env)):
            run_rule(body, env)
            return
    run_rule(otherwise, env)


def _compile_case_eq(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    args = call.args
    pairs = tuple(
        (compiler.expr(args[i]), compiler.transforms(args[i + 1]))
        for i in range(1, len(args) - 1, 2)
    )
    otherwise = compiler.transforms(args[-1]) if len(args) % 2 == 0 else ()
    return compiler.expr(args[0]), pairs, otherwise


@FUNCTIONS.transform("case-eq", min_args=3, max_args=None, compile_args=_compile_case_eq)
def case_eq(
    env: Env,
    value: Evaluator,
    pairs: tuple[tuple[Evaluator, RuleBody], ...],
    otherwise: RuleBody,
) -> None:
    """``["case-eq", V, V1, THEN1, ..., ELSE?]``: run the first THEN whose Vn equals V (``eq``).

    No match and no ELSE is a no-op.
    """
    actual = value(env)
    for candidate, body in pairs:
        if dtl_eq(actual, candidate(env)):
            run_rule(body, env)
            return
    run_rule(otherwise, env)


def _compile_nothing(call: Call, compiler: Compiler) -> tuple[Any, ...]:
    return ()


@FUNCTIONS.transform("comment", min_args=0, max_args=None, compile_args=_compile_nothing)
def comment(env: Env) -> None:
    """A no-op for notes inside rules; its arguments are never evaluated (nor compiled)."""


@FUNCTIONS.transform("fail!", min_args=1, max_args=1)
def fail(env: Env, message: Evaluator) -> None:
    """Stop the pipe with an error carrying MESSAGE (and the entity ``_id``)."""
    raise DtlEvalError(f"fail!: {message(env)}")


class DtlTripError(DtlEvalError):
    """Raised by ``trip!``: the pipe fails and its sink dataset's circuit breaker must trip."""


@FUNCTIONS.transform("trip!", min_args=1, max_args=1)
def trip(env: Env, message: Evaluator) -> None:
    """Fail the pipe and trip the sink dataset's circuit breaker, with MESSAGE.

    Raises :class:`DtlTripError` (a ``DtlEvalError``); the runner trips the breaker.
    """
    raise DtlTripError(f"trip!: {message(env)}")


@FUNCTIONS.transform("sleep!", min_args=1, max_args=1)
def sleep(env: Env, seconds: Evaluator) -> None:
    """Pause processing for PERIOD seconds in Sesam; the emulator does not pause.

    The argument is still evaluated and must be a number, so configs validate the same way.
    """
    period = seconds(env)
    if isinstance(period, bool) or not isinstance(period, int | float):
        raise DtlEvalError(f"sleep! expects a number of seconds, got {period!r}")
