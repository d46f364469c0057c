"""Merge source benchmark: a full run over two datasets, then a run after 1 % changed.

Two datasets of N members each (default 500k + 500k, ~12 fields): 60 % of A's members share an
email with one of B's (rule 1); every 100th block of five B members also carries the next A
member's org number (rule 2), so groups chain through a second key. The merge pipe writes to a
dataset sink. After the full run 1 % of the members change: most change a plain field, one in
ten changes its email (regroups: splits and joins, ``$replaced``), one in fifty is deleted.

Every run happens in its own child process, so the printed peak RSS (``ru_maxrss``) is the
run's alone. ``--impl reference`` runs the former per-entity grouping (kept as the differential
oracle in tests/sources/merge_reference.py) for a before/after comparison.

``--shape order`` measures the ``global-order`` shape instead (issue 8): N ERP orders with 1-7
lines (4 on average), of which 60 % also exist in a webshop dataset and 40 % in an invoicing
dataset (namespaced ids, ``$origin`` pointing at the ERP order, ``$last-modified``), merged
like ``pipes/global-order.json`` and followed by its ``survivorship`` transform; the golden
entities go to a dataset sink. ``--profile FILE`` writes a cProfile of the full run;
``--dump FILE`` writes the golden dataset's versions (``_id``, ``_deleted``, ``_hash``,
``body`` per line, by ``_id`` then offset) after the last run, to prove a change keeps the
output byte for byte (load with ``--db`` into a file, copy it, run before and after).

Usage: python benchmarks/merge.py [N] [--impl sql|reference] [--shape member|order] [--db PATH]
       [--profile FILE] [--dump FILE] [--load-only | --skip-load]
"""

from __future__ import annotations

import argparse
import cProfile
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
ORDER_SYSTEMS = (("erp", "erp-order", 1.0), ("ws", "ws-order", 0.6), ("inv", "inv-invoice", 0.4))
"""(alias, namespace, share of the ERP orders the system also has); datasets are ``<ns>-enrich``."""
ORDER_FIELDS = ("number", "customer", "date", "due_date", "currency", "reference", "notes")
ORDER_PIPE = {
    "_id": "global-order",
    "namespaced_identifiers": True,
    "source": {
        "type": "merge",
        "version": 2,
        "identity": "first",
        "datasets": [f"{ns}-enrich {alias}" for alias, ns, _ in ORDER_SYSTEMS],
        "equality": [
            ["eq", f"{a}.$origin", f"{b}.$ids"]
            for a, _, _ in ORDER_SYSTEMS
            for b, _, _ in ORDER_SYSTEMS
            if a != b
        ]
        + [["eq", f"{a}.$origin", f"{b}.$origin"] for a, b in (("erp", "ws"), ("erp", "inv"))],
    },
    "transform": {
        "type": "survivorship",
        "properties": {p: f"*:{p}" for p in (*ORDER_FIELDS, "status", "lines")},
        "priority": [ns for _, ns, _ in ORDER_SYSTEMS],
        "members": {ns: f"{ns}-enrich" for _, ns, _ in ORDER_SYSTEMS},
    },
}


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


def order(system: int, i: int, version: int) -> dict[str, Any]:
    """Order ``i`` as system ``system`` (an index into :data:`ORDER_SYSTEMS`) holds it.

    The other systems' copies point at the ERP order with ``$origin`` and differ from it in a
    few fields (so survivorship has real choices: newer values, empty notes, priority ties).
    """
    alias, ns, _ = ORDER_SYSTEMS[system]
    day = 1 + i % 28
    stamp = f"~t2024-0{1 + system}-{day:02d}T{i % 24:02d}:00:0{version}Z"
    lines = [
        {
            "discount": f"~f{(i * 7 + k) % 500}.{k}0",
            "id": str(k),
            "line": f"{ns}:{i}:{k}",
            "name": f"product {(i + k) % 2000} {'furiously special' if k % 2 else 'blue'}",
            "product": f"~:{ns.split('-')[0]}-product:{(i + k) % 2000}",
            "quantity": f"~f{1 + (i + k) % 50}.0",
            "unit_price": f"~f{900 + (i * 13 + k) % 1000}.{k}9",
        }
        for k in range(1 + (i * 5 + system) % 7)
    ]
    body: dict[str, Any] = {
        "$last-modified": stamp,
        "$origin": None if system == 0 else f"~:erp-order:{i}",
        f"{ns}:number": f"{alias.upper()}-{i:07d}",
        f"{ns}:customer": f"~:{ns.split('-')[0]}-customer:{i % 1500}",
        f"{ns}:date": f"1995-0{1 + i % 9}-{day:02d}",
        f"{ns}:due_date": f"1995-{1 + i % 9:02d}-{day:02d}" if system != 1 else None,
        f"{ns}:currency": "USD" if system == 0 else "NOK",
        f"{ns}:reference": f"Clerk#{i % 1000:09d}",
        f"{ns}:notes": None if system == 1 or i % 10 == 3 else f"notes {i} v{version}",
        f"{ns}:status": ["open", "invoiced", "paid"][(i + system) % 3],
        f"{ns}:lines": lines,
    }
    return {"_id": f"{ns}:{i}", "_deleted": bool(version) and i % 50 == 25, **body}


def order_ids(system: int, n: int) -> list[int]:
    """The orders system ``system`` holds (a fixed share of the ERP's, spread evenly)."""
    share = ORDER_SYSTEMS[system][2]
    return [i for i in range(n) if (i * 7919) % 100 < share * 100]


def batches(
    side: str, ids: list[int], n: int, version: int, shape: str = "member"
) -> pa.RecordBatchReader:
    def gen() -> Any:
        for start in range(0, len(ids), CHUNK):
            if shape == "order":
                system = [ns for _, ns, _ in ORDER_SYSTEMS].index(side.removesuffix("-enrich"))
                rows = [order(system, i, version) for i in ids[start : start + CHUNK]]
            else:
                rows = [member(side, i, n, version) for i in ids[start : start + CHUNK]]
            bodies = [json.dumps(r, sort_keys=True, separators=(",", ":")) for r in rows]
            yield pa.record_batch(
                [[r["_id"] for r in rows], [r["_deleted"] for r in rows], bodies],
                schema=BATCH_SCHEMA,
            )

    return pa.RecordBatchReader.from_batches(BATCH_SCHEMA, gen())


def child(root: str, db: str, impl: str, out: Any, pipe: str, profile: str | None) -> None:
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
        profiler = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        report = hub.run(pipe)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((seconds, cpu, report.read, report.written, report.deleted, rss))


def run(
    root: str,
    db: str,
    impl: str,
    label: str,
    members: int,
    pipe: str = "global-member",
    profile: str | None = None,
) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(root, db, impl, queue, pipe, profile))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise SystemExit(f"{label}: the run failed (exit code {proc.exitcode})")
    seconds, cpu, read, written, deleted, rss = queue.get()
    print(
        f"{label:<34} {seconds:8.2f} s (CPU {cpu:6.2f} s)  {members / seconds:9,.0f} members/s  "
        f"emitted {read:>9,}  written {written:>9,}  deleted {deleted:>7,}  "
        f"peak RSS {rss:6.0f} MB  CPU/entity {cpu / max(read, 1) * 1e6:7.1f} µs"
    )
    return float(seconds)


def dump(root: str, db: str, dataset: str, path: str) -> None:
    """Every stored version of ``dataset``, one JSON line each, by ``_id`` then offset."""
    with Hub.open(root, db=db) as hub:
        log, _ = hub.store.dataset(dataset).table_names()
        rows = hub.store.fetchall(
            f"SELECT _id, _deleted, _hash, body FROM {log} ORDER BY _id, _updated"
        )
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(list(row), ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=500_000, help="members per dataset")
    parser.add_argument("--impl", choices=["sql", "reference"], default="sql")
    parser.add_argument("--db", default=None, help="DuckDB file (default: a temp file)")
    parser.add_argument("--shape", choices=["member", "order"], default="member")
    parser.add_argument("--profile", default=None, help="write a cProfile of the full run here")
    parser.add_argument("--dump", default=None, help="write the merged dataset's versions here")
    parser.add_argument(
        "--skip-load", action="store_true", help="--db holds the loaded datasets already"
    )
    parser.add_argument("--load-only", action="store_true", help="only fill --db, run nothing")
    args = parser.parse_args()
    n = args.n
    tmp = tempfile.TemporaryDirectory()
    root = Path(tmp.name)
    (root / "pipes").mkdir()
    pipe = ORDER_PIPE if args.shape == "order" else PIPE
    pipe_id = str(pipe["_id"])
    (root / "pipes" / f"{pipe_id}.json").write_text(json.dumps(pipe))
    if args.shape == "order":
        sides = {f"{ns}-enrich": order_ids(s, n) for s, (_, ns, _) in enumerate(ORDER_SYSTEMS)}
    else:
        sides = {side: list(range(n)) for side in ("A", "B")}
    total = sum(len(ids) for ids in sides.values())
    db = args.db or str(root / "hub.duckdb")
    t0 = time.perf_counter()
    with Hub.open(root, db=db) as hub:
        if not args.skip_load:
            for side, ids in sides.items():
                hub.store.dataset(side).append(batches(side, ids, n, 0, args.shape))
        limit = hub.store.fetchone("SELECT current_setting('memory_limit')")[0]
    print(
        f"{args.impl}: {total:,} members in {len(sides)} datasets ({args.shape} shape), loaded in "
        f"{time.perf_counter() - t0:.1f} s (DuckDB memory_limit {limit})"
    )
    if args.load_only:
        return
    full = run(str(root), db, args.impl, "full run", total, pipe_id, args.profile)
    rng = random.Random(8)
    with Hub.open(root, db=db) as hub:
        for side, ids in sides.items():
            changed = sorted(rng.sample(ids, len(ids) // 100))
            hub.store.dataset(side).append(batches(side, changed, n, 1, args.shape))
    inc = run(str(root), db, args.impl, "incremental, 1 % changed", total // 100, pipe_id)
    print(f"incremental / full = {inc / full:.1%}")
    if args.dump:
        dump(str(root), db, pipe_id, args.dump)


if __name__ == "__main__":
    main()
