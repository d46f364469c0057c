"""Throughput of the DTL interpreter on a typical 10-transform rule (prints entities/s).

Run: ``.venv/bin/python benchmarks/dtl.py [N]`` (N defaults to 200 000 entities). The rule mixes
what collect/enrich pipes do: copy, rename, concat, upper, a nested pick, a filter, a date parse,
add, make-ni and remove. Compilation happens once; only ``CompiledTransform.apply`` is timed.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from engine.dtl import RunContext, compile_transform

RULES: dict[str, Any] = {
    "default": [
        ["copy", "*", "tmp_*"],
        ["rename", "fname", "first_name"],
        ["add", "full_name", ["concat", "_S.fname", " ", "_S.lname"]],
        ["add", "country", ["upper", "_S.address.country"]],
        ["add", "city", "_S.address.city"],
        ["filter", ["neq", "_S.status", "deleted"]],
        ["add", "created", ["datetime-parse", "%Y-%m-%d %H:%M:%S", "_S.created_at"]],
        ["add", "is_big", ["gt", "_S.amount", 500]],
        ["make-ni", "crm-company", "company_id", "company"],
        ["remove", "created_at"],
    ]
}


def make_entities(count: int) -> list[dict[str, Any]]:
    return [
        {
            "_id": str(i),
            "fname": f"first{i % 97}",
            "lname": f"last{i % 89}",
            "status": "deleted" if i % 50 == 0 else "active",
            "address": {"city": f"city{i % 31}", "country": "no", "zip": f"{i % 9999:04d}"},
            "created_at": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d} 12:{i % 60:02d}:00",
            "amount": i % 1000,
            "company_id": f"c{i % 500}",
            "tmp_a": i,
            "tmp_b": "x",
            "email": f"user{i}@example.org",
        }
        for i in range(count)
    ]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    entities = make_entities(count)
    start = time.perf_counter()
    compiled = compile_transform(RULES)
    compile_s = time.perf_counter() - start
    ctx = RunContext(pipe_id="bench", sink_is_dataset=True)
    apply = compiled.apply
    start = time.perf_counter()
    produced = 0
    for entity in entities:
        produced += len(apply(entity, ctx))
    elapsed = time.perf_counter() - start
    print(f"compile: {compile_s * 1000:.2f} ms")
    print(f"entities: {count}  outputs: {produced}  time: {elapsed:.2f} s")
    print(f"throughput: {count / elapsed:,.0f} entities/s")


if __name__ == "__main__":
    main()
