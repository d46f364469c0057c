"""Merge source benchmark: a full run over two datasets, then a run after 1 % changed.

Two datasets of N members each (default 500k + 500k, ~12 fields): 60 % of A's members share an
email with one of B's (rule 1); every 100th block of five B members also carries the next A
member's org number (rule 2), so groups chain through a second key. The merge pipe writes to a
dataset sink. After the full run 1 % of the members change: most change a plain field, one in
ten changes its email (regroups: splits and joins, ``$replaced``), one in fifty is deleted.

Every run happens in its own child process, so the printed peak RSS (``ru_maxrss``) is the
run's alone. ``--impl reference`` runs the former per-entity grouping (kept as the differential
oracle in tests/sources/merge_reference.py) for a before/after comparison.

Usage: python benchmarks/merge.py [N] [--impl sql|reference] [--db PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.hub import Hub  # noqa: E402
from engine.store import BATCH_SCHEMA  # noqa: E402

PIPE = {
    "_id": "global-member",
    "source": {
        "type": "merge",
        "version": 2,
        "identity": "first",
        "datasets": ["A a", "B b"],
        "equality": [["eq", "a.email", "b.email"], ["eq", "a.org", "b.org"]],
    },
}
CHUNK = 50_000


def member(side: str, i: int, n: int, version: int) -> dict[str, Any]:
    """Member ``i`` of dataset ``side``; ``version`` > 0 is the changed one."""
    email = f"a{i}@example.com" if side == "A" or i < n * 6 // 10 else f"b{i}@example.com"
    org: str | None = f"org{i}" if side == "A" else None
    if side == "B" and i % 100 < 5 and i + 1 < n:
        org = f"org{i + 1}"  # chains: b_i joins a_i (email) and a_{i+1} (org)
    if version and i % 10 == 0:
        email = f"moved{i}@example.com"
    return {
        "_id": f"{side.lower()}{i}",
        "email": email,
        "org": org,
        "name": f"Member {side}{i}",
        "address": f"{i} Main Street",
        "city": ["Oslo", "Bergen", "Trondheim", "Tromsø"][i % 4],
        "country": "NO",
        "phone": f"+47 {10000000 + i}",
        "segment": ["smb", "enterprise", "public"][i % 3],
        "balance": f"~f{i % 1000}.{version:02d}",
        "version": version,
        "_deleted": bool(version) and i % 50 == 25,
    }


def batches(side: str, ids: list[int], n: int, version: int) -> pa.RecordBatchReader:
    def gen() -> Any:
        for start in range(0, len(ids), CHUNK):
            rows = [member(side, i, n, version) for i in ids[start : start + CHUNK]]
            bodies = [json.dumps(r, sort_keys=True, separators=(",", ":")) for r in rows]
            yield pa.record_batch(
                [[r["_id"] for r in rows], [r["_deleted"] for r in rows], bodies],
                schema=BATCH_SCHEMA,
            )

    return pa.RecordBatchReader.from_batches(BATCH_SCHEMA, gen())


def child(root: str, db: str, impl: str, out: Any) -> None:
    """One pipe run in a fresh process: seconds, CPU seconds, counts and its peak RSS.

    CPU seconds (``process_time``: every thread of the process, DuckDB's included) are printed
    next to wall seconds because the benchmark machine is shared and wall time is noisy.
    """
    if impl == "reference":
        from engine import pipeline
        from tests.sources.merge_reference import ReferenceMergeSource

        pipeline.SOURCE_TYPES["merge"] = lambda store, project, pipe: ReferenceMergeSource(
            store, pipe
        )
    with Hub.open(root, db=db) as hub:
        t0, c0 = time.perf_counter(), time.process_time()
        report = hub.run("global-member")
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((seconds, cpu, report.read, report.written, report.deleted, rss))


def run(root: str, db: str, impl: str, label: str, members: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(root, db, impl, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{label}: the run failed (exit code {proc.exitcode})")
    seconds, cpu, read, written, deleted, rss = queue.get()
    print(
        f"{label:<34} {seconds:8.2f} s (CPU {cpu:6.2f} s)  {members / seconds:9,.0f} members/s  "
        f"emitted {read:>9,}  written {written:>9,}  deleted {deleted:>7,}  "
        f"peak RSS {rss:6.0f} MB"
    )
    return float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=500_000, help="members per dataset")
    parser.add_argument("--impl", choices=["sql", "reference"], default="sql")
    parser.add_argument("--db", default=None, help="DuckDB file (default: a temp file)")
    args = parser.parse_args()
    n = args.n
    tmp = tempfile.TemporaryDirectory()
    root = Path(tmp.name)
    (root / "pipes").mkdir()
    (root / "pipes" / "global-member.json").write_text(json.dumps(PIPE))
    db = args.db or str(root / "hub.duckdb")
    t0 = time.perf_counter()
    with Hub.open(root, db=db) as hub:
        for side in ("A", "B"):
            hub.store.dataset(side).append(batches(side, list(range(n)), n, 0))
        limit = hub.store.fetchone("SELECT current_setting('memory_limit')")[0]
    print(
        f"{args.impl}: {2 * n:,} members in 2 datasets, loaded in {time.perf_counter() - t0:.1f} s"
        f" (DuckDB memory_limit {limit})"
    )
    full = run(str(root), db, args.impl, "full run", 2 * n)
    rng = random.Random(8)
    with Hub.open(root, db=db) as hub:
        for side in ("A", "B"):
            changed = sorted(rng.sample(range(n), n // 100))
            hub.store.dataset(side).append(batches(side, changed, n, 1))
    inc = run(str(root), db, args.impl, "incremental, 1 % changed", 2 * n // 100)
    print(f"incremental / full = {inc / full:.1%}")


if __name__ == "__main__":
    main()
