"""Large ERP data sets drawn from TPC-H (``tpchgen-cli``), for volume tests and benchmarks.

The hand-written seed (``seed.py``) is realistic but small. TPC-H gives millions of consistent
rows with one command: ``customer`` → ERP customers, ``part`` → products, ``orders`` +
``lineitem`` → orders with embedded lines. The data is generated as Parquet once per scale
factor (cached under ``<dir>/sf<sf>/``) and mapped with pyarrow, so only the mapping runs in
Python. SF 0.01 gives 1,500 customers, 15,000 orders and 60,000 lines; SF 1 is a hundred times
that. Loading bypasses the API (``load_records``); later API writes append one journal line
each (``base.py``), so editing 1 % of SF 1 through the API is cheap. Listing is not: every page
copies the resource's records, so a full collect of SF 1 orders costs pages × records.

Only the Custom ERP is filled; it is the origin of most Talk flows. The values are TPC-H's own
(``Customer#000000001``, US-style phones, 1990s dates), with ids kept equal to the TPC-H keys.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.sandbox.base import SandboxSystem
from engine.sandbox.custom import iso_micro

__all__ = ["TABLES", "erp_records", "generate", "seed_tpch"]

TABLES = ("customer", "orders", "lineitem", "part", "nation")
_COUNTRY = {
    "ALGERIA": "DZ",
    "ARGENTINA": "AR",
    "BRAZIL": "BR",
    "CANADA": "CA",
    "EGYPT": "EG",
    "ETHIOPIA": "ET",
    "FRANCE": "FR",
    "GERMANY": "DE",
    "INDIA": "IN",
    "INDONESIA": "ID",
    "IRAN": "IR",
    "IRAQ": "IQ",
    "JAPAN": "JP",
    "JORDAN": "JO",
    "KENYA": "KE",
    "MOROCCO": "MA",
    "MOZAMBIQUE": "MZ",
    "PERU": "PE",
    "CHINA": "CN",
    "ROMANIA": "RO",
    "SAUDI ARABIA": "SA",
    "VIETNAM": "VN",
    "RUSSIA": "RU",
    "UNITED KINGDOM": "GB",
    "UNITED STATES": "US",
}
_STATUS = {"O": "confirmed", "F": "invoiced", "P": "draft"}
_BASE = datetime(2024, 1, 2, tzinfo=UTC)

Records = dict[str, list[dict[str, Any]]]


def _cli() -> str:
    """The ``tpchgen-cli`` executable: next to this interpreter (a venv) or on PATH."""
    local = Path(sys.executable).with_name("tpchgen-cli")
    found = str(local) if local.exists() else shutil.which("tpchgen-cli")
    if not found:
        raise RuntimeError("tpchgen-cli is not installed; run: pip install tpchgen-cli")
    return found


def generate(scale_factor: float, cache_dir: Path) -> Path:
    """Parquet files of the TPC-H tables at ``scale_factor``; generated once, then reused."""
    out = Path(cache_dir) / f"sf{scale_factor:g}"
    if all((out / f"{t}.parquet").exists() for t in TABLES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            _cli(),
            "parquet",
            "-s",
            f"{scale_factor:g}",
            f"--tables={','.join(TABLES)}",
            f"--output-dir={out}",
            "--overwrite",
        ],
        check=True,
        capture_output=True,
    )
    return out


def _rows(data_dir: Path, table: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(data_dir / f"{table}.parquet").to_pylist()
    return rows


def _stamp(k: int) -> str:
    return iso_micro(_BASE + timedelta(seconds=k))


def erp_records(data_dir: Path) -> Records:
    """Map the TPC-H tables in ``data_dir`` to Custom ERP records (ids = TPC-H keys)."""
    nations = {n["n_nationkey"]: n["n_name"] for n in _rows(data_dir, "nation")}
    customers = []
    for c in _rows(data_dir, "customer"):
        key, nation = c["c_custkey"], nations[c["c_nationkey"]]
        customers.append(
            {
                "id": key,
                "customer_number": str(100000 + key),
                "type": "company",
                "name": c["c_name"],
                "org_number": f"{900000000 + key:09d}",
                "email": f"customer{key}@tpch.example",
                "phone": c["c_phone"],
                "invoice_address": {
                    "line1": c["c_address"],
                    "line2": None,
                    "city": nation.title(),
                    "region": None,
                    "postal_code": None,
                    "country": _COUNTRY[nation],
                },
                "currency": "USD",
                "credit_limit": float(c["c_acctbal"]),
                "notes": f"{c['c_mktsegment']}: {c['c_comment']}",
                "created_at": _stamp(key),
                "updated_at": _stamp(key),
            }
        )
    products = [
        {
            "id": p["p_partkey"],
            "product_code": f"P-{p['p_partkey']:08d}",
            "name": p["p_name"],
            "description": f"{p['p_type']} ({p['p_container']}, size {p['p_size']})",
            "product_type": "goods",
            "unit": "pcs",
            "sales_price": float(p["p_retailprice"]),
            "currency": "USD",
            "vat_rate": 0,
            "ean": None,
            "created_at": _stamp(p["p_partkey"]),
            "updated_at": _stamp(p["p_partkey"]),
        }
        for p in _rows(data_dir, "part")
    ]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for li in _rows(data_dir, "lineitem"):
        qty: Decimal = li["l_quantity"]
        lines[li["l_orderkey"]].append(
            {
                "line_no": li["l_linenumber"],
                "product_id": li["l_partkey"],
                "description": li["l_comment"],
                "quantity": float(qty),
                "unit": "pcs",
                "unit_price": float((li["l_extendedprice"] / qty).quantize(Decimal("0.01"))),
                "discount_percent": float(li["l_discount"] * 100),
                "vat_rate": float(li["l_tax"] * 100),
            }
        )
    orders = [
        {
            "id": o["o_orderkey"],
            "customer_id": o["o_custkey"],
            "order_date": o["o_orderdate"].isoformat(),
            "due_date": (o["o_orderdate"] + timedelta(days=30)).isoformat(),
            "customer_reference": o["o_clerk"],
            "our_reference": o["o_orderpriority"],
            "currency": "USD",
            "status": _STATUS.get(o["o_orderstatus"], "draft"),
            "lines": sorted(lines.get(o["o_orderkey"], []), key=lambda ln: ln["line_no"]),
            "notes": o["o_comment"],
            "created_at": _stamp(o["o_orderkey"]),
            "updated_at": _stamp(o["o_orderkey"]),
        }
        for o in _rows(data_dir, "orders")
    ]
    return {"customers": customers, "products": products, "orders": orders}


def seed_tpch(system: SandboxSystem, scale_factor: float, cache_dir: Path | None = None) -> None:
    """Reset a Custom ERP sandbox and load TPC-H data at ``scale_factor`` into it."""
    if system.system_id != "customerp":
        raise ValueError(f"TPC-H data maps onto customerp only, not {system.system_id}")
    if cache_dir is None:
        base = system.state_dir.parent if system.state_dir is not None else None
        if base is None:
            import tempfile

            base = Path(tempfile.gettempdir()) / "engine-sandbox"
        cache_dir = base / "tpch"
    records = erp_records(generate(scale_factor, cache_dir))
    system.reset()
    for resource in ("customers", "products", "orders"):
        system.load_records(resource, records[resource])
