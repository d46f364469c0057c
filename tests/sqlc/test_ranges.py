"""Per-range query shapes: a plain scan without superseded versions, a listed exclusion for a
few, the sorted semi-join for many; each gives the interpreter's output in source order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sqlc import executor
from engine.store import Store
from tests.sqlc.support import plan_of, run_interpreter, run_sql

RULES: list[Any] = [
    ["copy", "*", "tmp_*"],
    ["add", "full", ["concat", "_S.name", "!"]],
    ["filter", ["neq", "_S.status", "gone"]],
]


def version(i: int, v: int) -> dict[str, Any]:
    # v % 7 == 3: a float in exponent form, which the query flags for the interpreter.
    amount: Any = 1.5e-07 if v % 7 == 3 else v
    status = "gone" if (i + v) % 5 == 0 else "here"
    return {"_id": f"e{i}", "name": f"n{i}-{v}", "status": status, "amount": amount, "tmp_t": v}


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.integers(0, 6), min_size=1, max_size=30),
    chunk=st.integers(1, 12),
    listed=st.sampled_from([0, 1, 3, 64]),
    since=st.integers(-1, 10),
)
def test_ranges_agree_with_the_interpreter(
    ids: list[int], chunk: int, listed: int, since: int
) -> None:
    """Versions appended one id at a time (so ranges hold superseded versions, or none):
    bodies, filtered ids, order and read counts equal the interpreter's for any list limit."""
    plan = plan_of(RULES)
    with pytest.MonkeyPatch.context() as mp, Store(":memory:") as store:
        mp.setattr(executor, "LISTED_SUPERSEDED", listed)
        src = store.dataset("src")
        for n, i in enumerate(ids):
            src.append([version(i, n)])
        start = None if since < 0 else since
        sql = run_sql(plan, store, start, chunk=chunk, mode="adaptive")
        interpreted = run_interpreter(RULES, store, start)
        assert sql.error is None and interpreted.error is None
        assert sql.bodies == interpreted.bodies
        assert sql.filtered == interpreted.filtered
        assert sql.read == interpreted.read


def test_query_shape_follows_the_superseded_versions() -> None:
    plan = plan_of(RULES)
    tables = ("log_9", "cur_9")
    with Store(":memory:") as store:
        scan = executor._bound(plan.query, store, tables, [])
        assert scan.scan and " IN (SELECT" not in scan.text and "ORDER BY" not in scan.text
        listed = executor._bound(plan.query, store, tables, [4, 7])
        assert listed.scan and "AND l._updated NOT IN (4, 7)" in listed.text
        sorted_ = executor._bound(plan.query, store, tables, None)
        assert not sorted_.scan and "IN (SELECT _updated FROM cur_9" in sorted_.text
        assert sorted_.text.endswith("ORDER BY (_stop IS NOT NULL OR _fallback), _src")


def test_superseded_offsets_are_found_and_capped() -> None:
    with pytest.MonkeyPatch.context() as mp, Store(":memory:") as store:
        mp.setattr(executor, "LISTED_SUPERSEDED", 2)
        src = store.dataset("src")
        for n, i in enumerate([0, 1, 0, 2, 1, 3]):  # offsets 0 and 1 are superseded by 2 and 4
            src.append([version(i, n)])
        info = store.dataset_info("src")
        assert info is not None
        tables = (f"log_{info.tid}", f"cur_{info.tid}")
        assert executor._superseded(store, tables, -1, 5) == [0, 1]
        assert executor._superseded(store, tables, 1, 5) == []
        mp.setattr(executor, "LISTED_SUPERSEDED", 1)
        assert executor._superseded(store, tables, -1, 5) is None


def test_a_log_stored_out_of_offset_order_still_reads_in_source_order() -> None:
    """The scan returns table order; rows stored out of offset order are sorted back."""
    plan = plan_of(RULES)
    with Store(":memory:") as store:
        src = store.dataset("src")
        for n in range(12):
            src.append([version(n, n)])
        info = store.dataset_info("src")
        assert info is not None
        log = f"log_{info.tid}"
        store.con.execute(f"CREATE TEMP TABLE shuffled AS SELECT * FROM {log} ORDER BY _id DESC")
        store.con.execute(f"DELETE FROM {log}")
        store.con.execute(f"INSERT INTO {log} SELECT * FROM shuffled")
        stored = [r[0] for r in store.con.execute(f"SELECT _updated FROM {log}").fetchall()]
        assert stored != sorted(stored)
        sql = run_sql(plan, store, None, chunk=5, mode="adaptive")
        interpreted = run_interpreter(RULES, store, None)
        assert sql.bodies == interpreted.bodies and sql.filtered == interpreted.filtered
