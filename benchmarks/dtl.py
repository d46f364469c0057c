"""Throughput of the DTL interpreter on a typical 10-transform rule (prints entities/s).

Run: ``.venv/bin/python benchmarks/dtl.py [N] [share]`` (N defaults to 200 000 entities). The
default rule mixes what collect/enrich pipes do: copy, rename, concat, upper, a nested pick, a
filter, a date parse, add, make-ni and remove. ``share`` runs the shape of the generated share
pipes instead (``pipes/*-share.json``): ``filter``/``any``/``in`` over ``$ids`` NIs and an
``apply`` per order line reading ``_P._S``/``_P._P._T``. Compilation happens once; only
``CompiledTransform.apply`` is timed, in wall and CPU seconds (the machine is shared).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from engine.dtl import RunContext, compile_transform
from engine.entity import NI

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


SHARE_RULES: dict[str, Any] = {
    "default": [
        ["copy", "_id"],
        [
            "add",
            "$target_id",
            ["first", ["ni-id", ["filter", ["eq", ["ni-ns", "_."], "erp-order"], "_S.$ids"]]],
        ],
        ["add", "$ref", "_S.products"],
        [
            "discard",
            [
                "not",
                ["any", ["in", ["ni-ns", "_."], ["list", "shop-order", "crm-order"]], "_S.$ids"],
            ],
        ],
        ["add", "lines", ["apply", "line", "_S.lines"]],
    ],
    "line": [
        ["add", "line", "_S.line"],
        [
            "add",
            "id",
            [
                "integer",
                ["first", ["path", "id", ["filter", ["eq", "_.line", "_S.line"], "_P._S.erp"]]],
            ],
        ],
        [
            "add",
            "product",
            [
                "first",
                [
                    "ni-id",
                    [
                        "filter",
                        ["eq", ["ni-ns", "_."], "erp-product"],
                        ["path", "$ids", ["filter", ["in", "_S.product", "_.$ids"], "_P._T.$ref"]],
                    ],
                ],
            ],
        ],
        ["add", "quantity", ["float", "_S.quantity"]],
        ["add", "total", ["round", 2, ["*", ["decimal", "_S.quantity"], ["decimal", "_S.price"]]]],
    ],
}


def make_share_entities(count: int) -> list[dict[str, Any]]:
    def ids(i: int, kind: str) -> list[NI]:
        return [NI("", f"{kind}{i}"), NI(f"erp-{kind}", str(i)), NI(f"web-{kind}", f"w{i}")]

    return [
        {
            "_id": str(i),
            "$ids": ids(i, "order"),
            "products": [
                {"_id": f"p{p}", "$ids": ids(p, "product")} for p in range(i % 5, i % 5 + 4)
            ],
            "lines": [
                {
                    "line": n,
                    "product": NI("", f"product{i % 5 + n}"),
                    "quantity": n + 1,
                    "price": 9.5,
                }
                for n in range(4)
            ],
            "erp": [{"line": n, "id": str(100 * i + n)} for n in range(4)],
        }
        for i in range(count)
    ]


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
    share = "share" in sys.argv[2:]
    entities = make_share_entities(count) if share else make_entities(count)
    start = time.perf_counter()
    compiled = compile_transform(SHARE_RULES if share else RULES)
    compile_s = time.perf_counter() - start
    ctx = RunContext(pipe_id="bench", sink_is_dataset=False)
    apply = compiled.apply
    start, cpu = time.perf_counter(), time.process_time()
    produced = 0
    for entity in entities:
        produced += len(apply(entity, ctx))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"compile: {compile_s * 1000:.2f} ms")
    print(f"entities: {count}  outputs: {produced}  time: {elapsed:.2f} s  cpu: {cpu:.2f} s")
    print(f"throughput: {count / elapsed:,.0f} entities/s")


if __name__ == "__main__":
    main()
