"""``hops`` compiled to a join: 1M entities joined to a 100k dataset, vs hand-written vs interpreter.

Usage: ``.venv/bin/python benchmarks/sql_hops.py [N] [--sample S]`` (N = 1_000_000, S = 50_000).

The pipe copies two properties and adds the ``name`` of the company whose ``code`` equals
``_S.company_id`` (``hops`` with ``return``, without dependency tracking, which the SQL path does
not record). The hand-written query joins the latest companies with a LEFT JOIN, knowing (as
its author would) that codes are unique; the compiled run checks that once per run and then
joins the same way (``engine.sqlc.hops.inspect``). Its output is verified to be byte-identical
to the compiled one. CPU seconds (both threads) are printed next to wall time: they are far less
sensitive to other load on the machine. The interpreter is measured on S entities
after its hops index is built (build time counted once) and extrapolated to N.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.sql_pipe import compiled_run, cpu_s, digest, load, rss_mb
from engine.config.pipes import parse_pipe
from engine.dtl import RunContext, compile_transform
from engine.entity import hash_body
from engine.sqlc import SqlPlan, plan_pipe
from engine.store import Store, table_to_entities
from engine.store.lookup import StoreLookup
from engine.store.store import arrow_table

SPEC = {
    "datasets": ["companies c"],
    "where": ["eq", "_S.company_id", "c.code"],
    "return": "c.name",
    "track-dependencies": False,
}
RULES: list[Any] = [["copy", "_id"], ["copy", "fname"], ["add", "company", ["hops", SPEC]]]

HAND_WRITTEN = """
WITH s AS MATERIALIZED (
  SELECT l._updated, l._id, CAST(json_extract(l.body, ['$.company_id', '$.fname']) AS VARCHAR[]) AS x
  FROM {log} l WHERE l._updated IN (SELECT _updated FROM {cur})
),
c AS (
  SELECT CAST(json_extract(body, '$.code') AS VARCHAR) AS k,
         CAST(json_extract(body, '$.name') AS VARCHAR) AS name
  FROM {clog} WHERE _updated IN (SELECT _updated FROM {ccur} WHERE NOT _deleted)
)
SELECT s._id, false AS _deleted,
  concat('{"_deleted":false,"_id":', to_json(s._id), ',"company":',
         CASE WHEN c.name IS NULL THEN '[]' ELSE '[' || c.name || ']' END,
         ',"fname":', x[2], '}') AS body
FROM s LEFT JOIN c ON c.k = x[1] ORDER BY s._updated
"""


def load_companies(store: Store, n: int) -> None:
    store.dataset("companies").append(
        [{"_id": f"company:{i}", "code": f"c{i}", "name": f"Company {i}"} for i in range(n)]
    )


def hand_written_run(store: Store) -> tuple[float, Any]:
    log, cur = store.dataset("people").table_names()
    clog, ccur = store.dataset("companies").table_names()
    sql = (
        HAND_WRITTEN.replace("{log}", log)
        .replace("{cur}", cur)
        .replace("{clog}", clog)
        .replace("{ccur}", ccur)
    )
    t0 = time.perf_counter()
    table = arrow_table(store.con.execute(sql))
    return time.perf_counter() - t0, table


def interpreter_run(store: Store, n: int, sample: int) -> float:
    compiled = compile_transform({"default": RULES}, id_required=True)
    ctx = RunContext(pipe_id="bench", sink_is_dataset=True, datasets=StoreLookup(store))
    entities = table_to_entities(store.dataset("people").read_since(None, limit=sample + 1))
    t0 = time.perf_counter()
    for out in compiled.apply(entities[0], ctx):  # builds the hops index once
        hash_body(out)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for entity in entities[1:]:
        for out in compiled.apply(entity, ctx):
            hash_body(out)
    return build + (time.perf_counter() - t0) * n / sample


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=50_000)
    args = parser.parse_args()
    n, sample = args.n, min(args.sample, args.n - 1)
    pipe = parse_pipe(
        {
            "_id": "bench-hops",
            "source": {"type": "dataset", "dataset": "people"},
            "transform": {"type": "dtl", "rules": {"default": RULES}},
        }
    )
    assert pipe is not None
    plan = plan_pipe(pipe)
    assert isinstance(plan, SqlPlan), str(plan)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        load(store, n)
        load_companies(store, args.companies)
        print(f"{n:,} source entities hop into {args.companies:,} companies")
        runs, cpus = [], []
        for _ in range(3):
            c0 = cpu_s()
            runs.append(compiled_run(plan, store))
            cpus.append(cpu_s() - c0)
        sql_s, rows, sql_cpu = min(r[0] for r in runs), runs[0][2], min(cpus)
        _, compiled_md5, _, _ = compiled_run(plan, store, hashed=True)
        hand_runs, cpus = [], []
        for _ in range(3):
            c0 = cpu_s()
            hand_runs.append(hand_written_run(store))
            cpus.append(cpu_s() - c0)
        hand_s, hand, hand_cpu = min(r[0] for r in hand_runs), hand_runs[-1][1], min(cpus)
        del hand_runs
        md5 = hashlib.md5()
        digest(hand.column("body"), md5)
        assert md5.hexdigest() == compiled_md5 and hand.num_rows == rows, "outputs differ"
        del hand
        interp_s = interpreter_run(store, n, sample)
        print(
            f"hand-written SQL (LEFT JOIN)        {hand_s:8.2f} s  {n / hand_s:>12,.0f} entities/s"
        )
        print(f"compiled SQL (plan.execute)         {sql_s:8.2f} s  {n / sql_s:>12,.0f} entities/s")
        print(
            f"interpreter ({sample:,} sample, extrapolated) {interp_s:8.2f} s  "
            f"{n / interp_s:>12,.0f} entities/s"
        )
        print(
            f"compiled / hand-written: {sql_s / hand_s:.2f}x wall, {sql_cpu / hand_cpu:.2f}x CPU "
            f"({sql_cpu:.2f} s vs {hand_cpu:.2f} s) (target <= 1.5x)"
        )
        print(f"interpreter / compiled:  {interp_s / sql_s:.1f}x (target >= 10x)")
    print(f"peak RSS overall: {rss_mb():.0f} MB (target < 1536 MB)")


if __name__ == "__main__":
    main()
