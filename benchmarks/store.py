"""Store benchmark: append 1M entities, re-append them, a 1 %-changed snapshot, read-since, RSS.

Prints one line per step. Batches are built as Arrow (``_id``, ``_deleted``, ``body``) the way
sources hand them to the store; the Python time to canonicalise entities is reported
separately because it belongs to the source side (the SQL path of later work skips it).

Usage: python benchmarks/store.py [N] [--db PATH]   (default N = 1_000_000, in-memory DB)
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from engine.store import BATCH_SCHEMA, Store


def body(i: int, version: int) -> str:
    entity = {
        "_deleted": False,
        "_id": f"customer:{i}",
        "address": f"{i} Main Street",
        "city": ["Oslo", "Bergen", "Trondheim", "Tromsø"][i % 4],
        "country": "NO",
        "created": "~t2024-01-01T00:00:00Z",
        "email": f"c{i}@example.com",
        "name": f"Customer {i}",
        "org_number": f"{900000000 + i}",
        "phone": f"+47 {10000000 + i}",
        "segment": ["smb", "enterprise", "public"][i % 3],
        "balance": f"~f{i % 1000}.{version:02d}",
        "version": version,
    }
    return json.dumps(entity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot_batches(n: int, changed: set[int], chunk: int = 50_000) -> list[pa.RecordBatch]:
    """The snapshot as Arrow record batches, built chunk by chunk (what a source streams)."""
    out = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        ids = [f"customer:{i}" for i in range(start, stop)]
        bodies = [body(i, 1 if i in changed else 0) for i in range(start, stop)]
        out.append(pa.record_batch([ids, [False] * (stop - start), bodies], schema=BATCH_SCHEMA))
    return out


def stream(batches: list[pa.RecordBatch]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(BATCH_SCHEMA, iter(batches))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn(*args)
    print(f"{label:<52} {time.perf_counter() - t0:8.3f} s   peak RSS {rss_mb():7.0f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--db", default=None, help="DuckDB file (default: a temp file)")
    args = parser.parse_args()
    n = args.n
    tmp = tempfile.TemporaryDirectory()
    db = args.db or str(Path(tmp.name) / "bench.duckdb")
    rng = random.Random(42)
    changed = set(rng.sample(range(n), n // 100))
    first = timed(f"build Arrow batches of {n:,} (source side)", snapshot_batches, n, set())
    with Store(db) as store:
        ds = store.dataset("customers")
        r1 = timed(f"append {n:,} new entities", ds.append, stream(first))
        r2 = timed(f"re-append the same {n:,} (must write nothing)", ds.append, stream(first))
        del first
        second = timed(
            "build Arrow batches, 1% changed (source side)", snapshot_batches, n, changed
        )
        r3 = timed(f"append {n:,} snapshot with 1% changed", ds.append, stream(second))
        del second
        since = r1.last_offset
        changes = timed("read since the first load (the changes)", ds.read_since, since)
        print(
            f"written: first={r1.written:,} same={r2.written:,} changed={r3.written:,} "
            f"read_since={changes.num_rows:,}"
        )
        assert r2.written == 0 and r3.written == len(changed) == changes.num_rows
    print(f"peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
