"""The three Custom systems over real HTTP: CRUD, pagination, updated_since, validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sandbox_http import call

from engine.sandbox.customcrm import CustomcrmSandbox
from engine.sandbox.customerp import CustomerpSandbox
from engine.sandbox.customwebshop import CustomwebshopSandbox
from engine.sandbox.server import SandboxServer

FROZEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Api:
    """URL + auth headers of one running custom sandbox."""

    def __init__(self, srv: SandboxServer) -> None:
        self.url = srv.url
        self.headers: dict[str, str] = srv.system.credentials()["headers"]

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, data = call(self.url + path, method, body, self.headers)
        return status, data


@pytest.fixture
def shop() -> Iterator[Api]:
    with SandboxServer(CustomwebshopSandbox(None)) as srv:
        yield Api(srv)


@pytest.fixture
def erp() -> Iterator[Api]:
    with SandboxServer(CustomerpSandbox(None, clock=lambda: FROZEN)) as srv:
        yield Api(srv)


@pytest.fixture
def crm() -> Iterator[Api]:
    with SandboxServer(CustomcrmSandbox(None)) as srv:
        yield Api(srv)


def test_webshop_crud_and_computed_order(shop: Api) -> None:
    status, cust = shop("POST", "/customers", {"email": "ola@example.no", "first_name": "Ola"})
    assert status == 201 and isinstance(cust["id"], int)
    assert cust["created_at"] == cust["updated_at"] and cust["created_at"].endswith("Z")
    status, prod = shop("POST", "/products", {"sku": "KAF-1", "name": "Kaffe",
                                              "regular_price": 100})
    assert status == 201 and prod["regular_price"] == "100.00" and prod["currency"] == "NOK"
    status, order = shop("POST", "/orders", {
        "customer_id": cust["id"], "currency": "NOK", "shipping_total": "49",
        "line_items": [{"product_id": prod["id"], "quantity": 2},
                       {"name": "Gavepapir", "quantity": 1, "price": "10.00"}]})
    assert status == 201, order
    first, second = order["line_items"]
    assert first["sku"] == "KAF-1" and first["price"] == "100.00" and first["tax"] == "50.00"
    assert second["sku"] is None and second["total"] == "12.50" and second["id"] != first["id"]
    assert order["total"] == "311.50" and order["order_number"] == str(1000 + order["id"])

    # PATCH replaces lines but keeps the id of a line sent back with its id
    status, patched = shop("PATCH", f"/orders/{order['id']}", {
        "line_items": [{"id": first["id"], "quantity": 1}]})
    assert status == 200 and [ln["id"] for ln in patched["line_items"]] == [first["id"]]
    assert patched["total"] == "174.00" and patched["updated_at"] > order["updated_at"]
    assert shop("GET", f"/customers/{cust['id']}")[1]["orders_count"] == 1
    listed = shop("GET", "/customers")[1]["data"]
    assert listed[0]["orders_count"] == 1 and listed[0]["total_spent"] == "174.00"

    # products are archived, customers deleted
    assert shop("DELETE", f"/products/{prod['id']}")[0] == 204
    assert shop("GET", f"/products/{prod['id']}")[1]["status"] == "archived"
    assert shop("DELETE", f"/orders/{order['id']}")[0] == 204
    assert shop("GET", f"/orders/{order['id']}")[0] == 404


def test_validation_uniqueness_and_auth(shop: Api) -> None:
    status, body = shop("POST", "/customers", {"first_name": "No email"})
    assert status == 422 and body == {"error": "email is required", "field": "email"}
    status, body = shop("POST", "/customers", {"email": "a@b.no", "shoe_size": 42})
    assert status == 422 and body["field"] == "shoe_size"
    assert shop("POST", "/customers", {"email": "a@b.no"})[0] == 201
    status, body = shop("POST", "/customers", {"email": "a@b.no"})
    assert status == 409 and body["field"] == "email"
    status, body = shop("POST", "/orders", {"customer_id": 999, "currency": "NOK",
                                            "line_items": []})
    assert status == 422 and body["field"] == "customer_id"
    status, _, _ = call(shop.url + "/customers", headers={"Authorization": "Bearer wrong"})
    assert status == 401


def test_pagination_and_updated_since(erp: Api) -> None:
    ids = []
    for i in range(12):
        status, rec = erp("POST", "/customers", {"type": "company", "name": f"Firma {i}"})
        assert status == 201
        ids.append(rec["id"])
    # the clock is frozen, yet every write gets a strictly later stamp
    stamps = [erp("GET", f"/customers/{i}")[1]["updated_at"] for i in ids]
    assert stamps == sorted(stamps) and len(set(stamps)) == 12

    pages, page = [], 1
    while page is not None:
        status, body = erp("GET", f"/customers?per_page=5&page={page}")
        assert status == 200 and body["total"] == 12 and body["per_page"] == 5
        pages.append([r["id"] for r in body["data"]])
        page = body["next_page"]
    assert pages == [ids[:5], ids[5:10], ids[10:]]

    erp("PATCH", f"/customers/{ids[3]}", {"phone": "+47 22 00 00 00"})
    status, body = erp("GET", f"/customers?updated_since={stamps[-1]}")
    assert [r["id"] for r in body["data"]] == [ids[-1], ids[3]]  # in stamp order
    assert erp("GET", "/customers?updated_since=yesterday")[0] == 422
    status, body = erp("GET", "/customers?name=Firma%207")
    assert [r["id"] for r in body["data"]] == [ids[7]]


def test_erp_order_amounts_contacts_and_product_archive(erp: Api) -> None:
    _, cust = erp("POST", "/customers", {"type": "company", "name": "Fjord AS"})
    assert cust["customer_number"] == str(10000 + cust["id"])
    status, contact = erp("POST", "/contacts", {"customer_id": cust["id"],
                                                "first_name": "Jürgen", "last_name": "Groß"})
    assert status == 201 and contact["last_name"] == "Groß"
    _, prod = erp("POST", "/products", {"product_code": "P-1", "name": "Konsulent",
                                        "sales_price": "1000", "product_type": "service"})
    status, order = erp("POST", "/orders", {
        "customer_id": cust["id"], "order_date": "2024-05-01", "currency": "NOK",
        "lines": [{"product_id": prod["id"], "quantity": 1.5, "discount_percent": 10}]})
    assert status == 201, order
    (line,) = order["lines"]
    assert line["line_amount"] == 1350 and line["description"] == "Konsulent"
    assert order["vat_amount"] == 337.5 and order["amount_incl_vat"] == 1687.5
    assert erp("POST", "/orders", {"customer_id": cust["id"], "order_date": "01.05.2024",
                                   "currency": "NOK", "lines": []})[0] == 422
    assert erp("DELETE", f"/products/{prod['id']}")[0] == 204
    assert erp("GET", f"/products/{prod['id']}")[1]["is_active"] is False


def test_crm_pascal_case_string_ids(crm: Api) -> None:
    status, acc = crm("POST", "/customers", {"Name": "Café Ümlaut", "ZipCode": "0150",
                                             "Country": "NO"})
    assert status == 201 and acc["Id"] == "ACC000001" and "UpdatedAt" in acc
    _, contact = crm("POST", "/contacts", {"FirstName": "Åsmund", "CustomerId": acc["Id"]})
    assert contact["Id"].startswith("CON")
    _, prod = crm("POST", "/products", {"Name": "Abonnement", "Sku": "SUB-1", "UnitPrice": 99})
    status, order = crm("POST", "/orders", {"ContactId": contact["Id"], "Lines": [
        {"ProductId": prod["Id"], "Quantity": 3, "TaxAmount": 74.25}]})
    assert status == 201, order
    assert order["Subtotal"] == 297 and order["Total"] == 371.25
    assert order["Lines"][0]["Id"].startswith("ORDL") and order["Lines"][0]["Name"] == "Abonnement"
    status, body = crm("POST", "/orders", {"Title": "orphan"})
    assert status == 422 and body["field"] == "CustomerId"
    status, body = crm("PATCH", f"/orders/{order['Id']}", {"ContactId": None})
    assert status == 422
    assert crm("GET", "/customers/1")[0] == 404


def test_state_survives_restart(tmp_path: Path) -> None:
    with SandboxServer(CustomwebshopSandbox(tmp_path)) as srv:
        api = Api(srv)
        _, cust = api("POST", "/customers", {"email": "persist@example.no"})
        _, prod = api("POST", "/products", {"sku": "S", "name": "S", "regular_price": 1})
        _, order = api("POST", "/orders", {"customer_id": cust["id"], "currency": "NOK",
                                           "line_items": [{"product_id": prod["id"]}]})
    assert (tmp_path / "customwebshop" / "customers.json").exists()
    with SandboxServer(CustomwebshopSandbox(tmp_path)) as srv:
        api = Api(srv)
        status, again = api("GET", f"/customers/{cust['id']}")
        assert status == 200 and again == {**cust, "orders_count": 1, "total_spent": "1.25"}
        _, second = api("POST", "/orders", {"customer_id": cust["id"], "currency": "NOK",
                                            "line_items": [{"product_id": prod["id"]}]})
        assert second["id"] == order["id"] + 1  # counters persist: ids are never reused
        assert second["line_items"][0]["id"] > order["line_items"][0]["id"]
