"""Pipes with namespaced identifiers: the SQL path writes exactly what the interpreter writes.

Generated entities hold namespaced keys (``x:a``, at the root and nested) next to plain ones, and
generated rules use every spelling of a name (``a``, ``::a``, ``:a``, ``x:a``, ``$a``) in ``add``,
``default``, ``copy``, ``remove`` and ``_S``/``_T`` paths, with and without a ``namespaces``
block. Rows with namespaced source keys must reach the interpreter; the rest must be byte-equal.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.entity import NI
from tests.sqlc.support import both, plan_of, refusal_of
from tests.sqlc.test_differential import literals, values

NAMES = ["a", "b", "::a", ":a", "x:a", "pp:b", "$m"]
KEYS = ["a", "b", "c", "x:a", "p:a", "pp:b", "$m", "$ids"]
PIPE_NAMESPACES = st.sampled_from([{}, {"namespaces": {"identity": "i", "property": "pp"}}])


@st.composite
def entities(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=5))):
        entity: dict[str, Any] = {"_id": draw(st.sampled_from([f"e{i}", f"~e{i}", f"n:e{i}"]))}
        entity.update(draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=4)))
        if draw(st.booleans()):
            entity["d"] = draw(st.dictionaries(st.sampled_from(["a", "x:a", "b"]), values))
        if draw(st.booleans()):
            entity["_deleted"] = draw(st.booleans())
        out.append(entity)
    return out


def paths() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NAMES).map(lambda k: f"_S.{k}"),
        st.sampled_from(["_S.d.a", "_S.d.::a", "_S._id", "_S._deleted"]),
        st.sampled_from(["_T.a", "_T.::a", "_T.pp:a", "_T.x:a", "_T._id"]),
    )


def expressions() -> st.SearchStrategy[Any]:
    leaves = st.one_of(paths(), literals, st.just("~:crm:7"))

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.tuples(st.sampled_from(["upper", "string", "is-null"]), inner).map(list),
            st.tuples(st.sampled_from(["concat", "eq", "coalesce-args"]), inner, inner).map(list),
            st.tuples(inner, inner).map(lambda p: ["list", p[0], p[1]]),
        )

    return st.recursive(leaves, extend, max_leaves=3)


patterns = st.sampled_from(["*", "a", "::a", "x:*", "*:a", "_deleted", "$*", "?"])


def transforms() -> st.SearchStrategy[Any]:
    key = st.sampled_from([*NAMES, "_id", "_deleted"])
    return st.one_of(
        st.tuples(st.just("copy"), patterns).map(list),
        st.tuples(st.just("add"), key, expressions()).map(list),
        st.tuples(st.just("add"), st.just("_id"), st.sampled_from(["_S._id", "_S.a", "~:n:1"])).map(
            list
        ),
        st.tuples(st.just("default"), key, expressions()).map(list),
        st.tuples(st.just("remove"), patterns).map(list),
        st.tuples(st.just("filter"), expressions()).map(list),
    )


@st.composite
def rule_lists(draw: st.DrawFn) -> list[Any]:
    head = draw(st.sampled_from([[["add", "_id", "_S._id"]], [["copy", "_id"]], []]))
    return [*head, *draw(st.lists(transforms(), max_size=5))]


def _agree(rules: list[Any], data: list[dict[str, Any]], **extra: Any) -> int:
    """Both paths' outcomes are equal; returns how many rows the SQL path interpreted."""
    plan = plan_pipe_or_none(rules, **extra)
    if plan is None:
        return -1
    sql, interpreted = both(rules, data, namespaced_identifiers=True, **extra)
    assert sql.error == interpreted.error
    assert sql.bodies == interpreted.bodies
    assert sql.filtered == interpreted.filtered
    return sql.interpreted


def plan_pipe_or_none(rules: list[Any], **extra: Any) -> Any:
    from engine.sqlc import SqlPlan, plan_pipe
    from tests.sqlc.support import make_pipe

    plan = plan_pipe(make_pipe(rules, namespaced_identifiers=True, **extra))
    return plan if isinstance(plan, SqlPlan) else None


@settings(max_examples=120, deadline=None)
@given(rules=rule_lists(), data=entities(), extra=PIPE_NAMESPACES)
def test_namespaced_pipes_agree(
    rules: list[Any], data: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    _agree(rules, data, **extra)


def test_the_enrich_form_is_compiled_and_prefixes_ids_and_names() -> None:
    rules: list[Any] = [
        ["filter", ["neq", "_S.type", "person"]],
        ["add", "_id", "_S._id"],
        ["copy", "_deleted"],
        ["add", "$origin", "_S.$origin"],
        ["add", "name", ["upper", "_S.name"]],
        ["add", "::plain", "_T.name"],
    ]
    data: list[dict[str, Any]] = [
        {"_id": "1", "type": "company", "name": "acme", "$origin": "erp"},
        {"_id": "2", "type": "person", "name": "bob"},
        {"_id": "3", "type": "company", "name": "x", "_deleted": True},
    ]
    extra: dict[str, Any] = {"namespaces": {"identity": "erp-org", "property": "erp"}}
    plan = plan_of(rules, namespaced_identifiers=True, **extra)
    assert "'erp-org:' || _sid" in plan.sql
    sql, interpreted = both(rules, data, namespaced_identifiers=True, **extra)
    assert sql.bodies == interpreted.bodies
    assert sql.bodies[0] == (
        '{"$origin":"erp","_deleted":false,"_id":"erp-org:1","erp:name":"ACME","plain":"ACME"}'
    )
    assert sql.filtered == interpreted.filtered == ["2"]
    assert sql.interpreted == 0


def test_a_target_read_matching_several_namespaces_is_exact() -> None:
    rules: list[Any] = [["copy", "*"], ["add", "a", "_S.b"], ["add", "c", "_T.a"]]
    data: list[dict[str, Any]] = [{"_id": "1", "a": 1}, {"_id": "2", "b": 2}, {"_id": "3"}]
    sql, interpreted = both(rules, data, namespaced_identifiers=True)
    assert sql.bodies == interpreted.bodies
    assert '"p:c":[1]' in sql.bodies[0]  # both present: a union (nulls dropped), interpreted
    assert '"p:c":2' in sql.bodies[1]
    assert sql.interpreted == 1


def test_namespaced_source_keys_go_to_the_interpreter() -> None:
    rules: list[Any] = [["add", "_id", "_S._id"], ["add", "v", "_S.a"], ["copy", "*"]]
    data: list[dict[str, Any]] = [
        {"_id": "1", "a": 1},
        {"_id": "2", "x:a": 2},  # _S.a also finds x:a
        {"_id": "3", "a": 3, "x:a": 4},  # and unions both
        {"_id": "4", "d": {"y:b": 1}},  # nested: flagged too
        {"_id": "5", "s": "a:b", "t": "c:"},  # colons in values only
    ]
    sql, interpreted = both(rules, data, namespaced_identifiers=True)
    assert sql.bodies == interpreted.bodies
    assert '"p:v":[3,4]' in sql.bodies[2]
    assert sql.interpreted == 3


def test_id_values_follow_the_identity_rule() -> None:
    for value in ["_S.n", "_S.ni", "_S.i", "_S.l", "_S.z"]:
        rules: list[Any] = [["add", "_id", value], ["add", "k", 1]]
        data = [{"_id": "1", "n": "a", "ni": NI("crm", "7"), "i": 5, "l": ["a"], "z": "~x"}]
        sql, interpreted = both(rules, data, namespaced_identifiers=True)
        assert (sql.bodies, sql.error) == (interpreted.bodies, interpreted.error), value


def test_what_namespaces_make_ambiguous_is_refused() -> None:
    assert "$ids" in refusal_of([["add", "x", "_S.$ids"]], namespaced_identifiers=True).reason
    hop = {"datasets": ["o s"], "where": [["eq", "_S.k", "s.k"]]}
    assert (
        "not exact" in refusal_of([["add", "h", ["hops", hop]]], namespaced_identifiers=True).reason
    )
