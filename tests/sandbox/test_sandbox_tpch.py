"""TPC-H volume data mapped onto the Custom ERP (real ``tpchgen-cli``, tiny scale factor)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sandbox_http import call

from engine.sandbox.customerp import CustomerpSandbox
from engine.sandbox.customwebshop import CustomwebshopSandbox
from engine.sandbox.server import SandboxServer
from engine.sandbox.tpch import erp_records, generate, seed_tpch

SF = 0.001  # 150 customers, 1,500 orders, ~6,000 lines, 200 parts


@pytest.fixture(scope="module")
def tpch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(SF, tmp_path_factory.mktemp("tpch"))


def test_generate_is_cached(tpch_dir: Path) -> None:
    before = (tpch_dir / "orders.parquet").stat().st_mtime_ns
    assert generate(SF, tpch_dir.parent) == tpch_dir
    assert (tpch_dir / "orders.parquet").stat().st_mtime_ns == before


def test_mapping_keeps_counts_and_amounts(tpch_dir: Path) -> None:
    records = erp_records(tpch_dir)
    assert len(records["customers"]) == pq.read_table(tpch_dir / "customer.parquet").num_rows
    assert len(records["orders"]) == pq.read_table(tpch_dir / "orders.parquet").num_rows
    lines = sum(len(o["lines"]) for o in records["orders"])
    assert lines == pq.read_table(tpch_dir / "lineitem.parquet").num_rows

    system = CustomerpSandbox(None)
    seed_tpch(system, SF, cache_dir=tpch_dir.parent)
    orders = system.records("orders")
    assert len(orders) == len(records["orders"])
    first = orders[0]
    expected = sum((Decimal(str(ln["quantity"])) * Decimal(str(ln["unit_price"]))
                    * (1 - Decimal(str(ln["discount_percent"])) / 100)).quantize(Decimal("0.01"))
                   for ln in first["lines"])
    assert abs(Decimal(str(first["amount_excl_vat"])) - expected) <= Decimal("0.05")
    customers = {c["id"] for c in system.records("customers")}
    assert all(o["customer_id"] in customers for o in orders)


def test_seed_endpoint_fills_a_running_erp(tpch_dir: Path, tmp_path: Path) -> None:
    system = CustomerpSandbox(tmp_path)
    # reuse the module's generated files through the cache location the endpoint uses
    (tmp_path / "tpch").symlink_to(tpch_dir.parent, target_is_directory=True)
    with SandboxServer(system) as srv:
        status, _, health = call(srv.url + "/_sandbox/seed", "POST", {"tpch_sf": SF},
                                 timeout=60)
        assert status == 200 and health["records"]["customers"] == 150
        headers = system.credentials()["headers"]
        _, _, page = call(srv.url + "/orders?per_page=500&page=3", headers=headers)
        assert page["total"] == 1500 and len(page["data"]) == 500 and page["next_page"] is None
        assert call(srv.url + "/_sandbox/seed", "POST", {"tpch_sf": 0})[0] == 400
    with SandboxServer(CustomwebshopSandbox(None)) as srv:
        status, _, body = call(srv.url + "/_sandbox/seed", "POST", {"tpch_sf": SF})
        assert status == 400 and "customerp" in body["error"]

