"""The Invoiced sandbox, driven by the OFFICIAL ``invoiced`` Python client over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.error import HTTPError
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

import invoiced
import pytest

from engine.sandbox.base import Request
from engine.sandbox.invoiced import DEFAULT_API_KEY, InvoicedSandbox
from engine.sandbox.server import SandboxServer


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    system = InvoicedSandbox(None, rate_limit=10_000, burst=10_000)
    with SandboxServer(system) as srv:
        yield srv


@pytest.fixture
def client(server: SandboxServer) -> invoiced.Client:
    c = invoiced.Client(DEFAULT_API_KEY)
    c.api_url = server.url
    return c


def _raw(url: str, method: str = "GET", body: object = None,
         key: str = DEFAULT_API_KEY) -> tuple[int, dict[str, str], object]:
    token = base64.b64encode(f"{key}:".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    req = UrlRequest(url, data=data, method=method,
                     headers={"Authorization": f"Basic {token}",
                              "Content-Type": "application/json"})
    try:
        with urlopen(req, timeout=5) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


def test_customer_crud_with_official_client(client: invoiced.Client) -> None:
    created = client.Customer.create(name="Nordvik AS", email="post@nordvik.no",
                                     currency="NOK", tax_id="NO987654321", country="NO")
    assert isinstance(created.id, int)
    assert created.currency == "nok"  # Invoiced answers lower-case currencies
    assert created.type == "company" and created.number.startswith("CUST-")
    assert isinstance(created.created_at, int) and created.updated_at >= created.created_at

    fetched = client.Customer.retrieve(created.id)
    assert fetched.name == "Nordvik AS" and fetched.tax_id == "NO987654321"

    fetched.name = "Nordvik Øst AS"
    assert fetched.save() is True
    assert client.Customer.retrieve(created.id).name == "Nordvik Øst AS"

    assert fetched.delete() is True
    with pytest.raises(invoiced.errors.InvalidRequestError) as err:
        client.Customer.retrieve(created.id)
    assert err.value.status_code == 404
    assert "was not found" in err.value.args[0]


def test_list_paginates_through_link_headers(client: invoiced.Client) -> None:
    for i in range(23):
        client.Customer.create(name=f"Kunde {i:02d}")
    seen: list[int] = []
    page = 1
    while True:
        rows, meta = client.Customer.list(per_page=5, page=page)
        assert meta.total_count == 23
        seen.extend(r.id for r in rows)
        assert "first" in meta.links and "last" in meta.links
        if "next" not in meta.links:
            break
        assert meta.links["next"].startswith("http://127.0.0.1:")
        page += 1
    assert page == 5
    assert seen == sorted(seen) and len(set(seen)) == 23


def test_updated_after_and_filter(client: invoiced.Client, server: SandboxServer) -> None:
    a = client.Customer.create(name="A", type="person")
    client.Customer.create(name="B")
    rows, _ = client.Customer.list(filter={"type": "person"})
    assert [r.id for r in rows] == [a.id]
    later = max(r["updated_at"] for r in server.system.records("customers"))
    rows, meta = client.Customer.list(updated_after=later + 1)
    assert rows == [] and meta.total_count == 0
    rows, _ = client.Customer.list(updated_after=later)  # inclusive: same-second edits count
    assert len(rows) >= 1
    rows, _ = client.Customer.list(updated_after=later - 3600)
    assert len(rows) == 2


def test_contacts_are_scoped_by_customer(client: invoiced.Client) -> None:
    cust = client.Customer.create(name="Bølgen & Co")
    other = client.Customer.create(name="Other")
    contact = cust.contacts().create(name="Åse Ødegård", email="ase@bolgen.no", primary=True)
    assert contact.id and "customer" not in contact
    rows, meta = cust.contacts().list()
    assert [r.name for r in rows] == ["Åse Ødegård"] and meta.total_count == 1
    assert other.contacts().list()[0] == []
    got = cust.contacts().retrieve(contact.id)
    got.title = "CFO"
    got.save()
    assert cust.contacts().retrieve(contact.id).title == "CFO"
    with pytest.raises(invoiced.errors.InvalidRequestError):
        other.contacts().retrieve(contact.id)
    assert got.delete()
    assert cust.contacts().list()[0] == []


def test_invoice_with_items_totals_and_void(client: invoiced.Client) -> None:
    cust = client.Customer.create(name="Kari Nordmann", type="person", currency="NOK",
                                  payment_terms="NET 14")
    item = client.Item.create(id="SKU-100", name="Kaffe", unit_cost=12.5, currency="NOK")
    assert item.id == "SKU-100" and item.currency == "nok"
    inv = client.Invoice.create(customer=cust.id, items=[
        {"catalog_item": "SKU-100", "quantity": 2},
        {"name": "Frakt", "quantity": 1, "unit_cost": 49},
    ])
    assert [ln["amount"] for ln in inv["items"]] == [25, 49]
    assert inv["items"][0]["name"] == "Kaffe"
    assert inv.subtotal == 74 and inv.total == 74 and inv.balance == 74
    assert inv.status == "not_sent" and inv.currency == "nok"
    assert inv.due_date == inv.date + 14 * 86400
    line_ids = [ln["id"] for ln in inv["items"]]
    assert all(isinstance(i, int) for i in line_ids) and len(set(line_ids)) == 2

    # PATCH items replaces the lines; a line sent back with its id keeps it
    inv["items"] = [{"id": line_ids[0], "quantity": 3}]
    inv.save()
    assert [ln["id"] for ln in inv["items"]] == [line_ids[0]]
    assert inv.total == 37.5

    assert inv.void() is True
    assert inv.status == "voided" and inv.balance == 0
    with pytest.raises(invoiced.errors.InvalidRequestError):
        inv.void()


def test_item_patch_rejects_changes_to_create_only_fields(client: invoiced.Client) -> None:
    item = client.Item.create(id="delivery", name="Delivery", unit_cost=10)
    item.description = "Home delivery"
    item.save()
    assert client.Item.retrieve("delivery").description == "Home delivery"
    with pytest.raises(invoiced.errors.InvalidRequestError) as err:
        item.save(unit_cost=11)
    assert err.value.error["param"] == "unit_cost"
    item.save(unit_cost=10, name="Delivery!")  # an unchanged create-only value is accepted
    assert client.Item.retrieve("delivery").name == "Delivery!"
    with pytest.raises(invoiced.errors.InvalidRequestError):
        client.Item.create(id="delivery", name="Duplicate")
    rows, meta = client.Item.list()
    assert meta.total_count == 1 and rows[0].id == "delivery"
    assert rows[0].delete()


def test_validation_error_shape(server: SandboxServer) -> None:
    status, _, body = _raw(server.url + "/customers", "POST", {"email": "x@y.no"})
    assert status == 400
    assert body == {"type": "invalid_request", "message": "name is required", "param": "name"}
    status, _, body = _raw(server.url + "/customers", "POST", {"name": "X", "colour": "red"})
    assert status == 400 and isinstance(body, dict) and body["param"] == "colour"
    status, _, body = _raw(server.url + "/invoices", "POST", {"customer": 999})
    assert status == 400 and isinstance(body, dict) and body["param"] == "customer"
    status, _, body = _raw(server.url + "/invoices/123")
    assert status == 404 and isinstance(body, dict)
    assert body["message"] == "Invoice was not found"


def test_auth_required(server: SandboxServer) -> None:
    status, _, body = _raw(server.url + "/customers", key="wrong")
    assert status == 401 and isinstance(body, dict) and body["type"] == "authentication_error"
    bad = invoiced.Client("nope")
    bad.api_url = server.url
    with pytest.raises(invoiced.errors.AuthenticationError):
        bad.Customer.list()


def test_rate_limit_answers_429_with_retry_after() -> None:
    system = InvoicedSandbox(None, rate_limit=1, burst=5)
    token = base64.b64encode(f"{DEFAULT_API_KEY}:".encode()).decode()
    req = Request("GET", "/customers", {}, {"authorization": f"Basic {token}"})
    statuses = [system.handle(req).status for _ in range(20)]
    assert statuses[:5] == [200] * 5
    limited = system.handle(req)
    assert limited.status == 429 and limited.headers["Retry-After"] == "1"
    assert limited.body["type"] == "rate_limit_error"


def test_frozen_clock_timestamps_are_unix_seconds() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    system = InvoicedSandbox(None, clock=lambda: moment)
    system.load_records("customers", [{"name": "Seeded", "currency": "EUR"}])
    (rec,) = system.records("customers")
    assert rec["id"] == 1 and rec["currency"] == "eur"
    assert rec["created_at"] == int(moment.timestamp()) and rec["number"] == "CUST-00001"


def test_injected_faults_parse_as_client_errors(client: invoiced.Client,
                                                server: SandboxServer) -> None:
    server.faults.fail(500, 1)
    with pytest.raises(invoiced.errors.ApiError) as err:
        client.Customer.list()
    assert err.value.status_code == 500 and "injected" in err.value.args[0]
    server.faults.fail(429, 1)
    with pytest.raises(invoiced.errors.RateLimitError):
        client.Customer.list()
    assert client.Customer.list()[1].total_count == 0


def test_many_pages_with_seeded_data(client: invoiced.Client, server: SandboxServer) -> None:
    server.system.load_records("customers", [{"name": f"Seed {i}"} for i in range(250)])
    rows, meta = client.Customer.list(per_page=100, page=3)
    assert meta.total_count == 250 and len(rows) == 50
    assert "next" not in meta.links and meta.links["prev"].endswith("page=2&per_page=100")
    assert meta.links["last"] == meta.links["prev"].replace("page=2", "page=3")


def test_currency_stays_lower_case_and_auto_item_ids_skip_taken_ones(
        client: invoiced.Client) -> None:
    cust = client.Customer.create(name="Valuta AS", currency="NOK")
    cust.currency = "EUR"
    cust.save()
    assert client.Customer.retrieve(cust.id).currency == "eur"
    client.Item.create(id="item-1", name="Chosen")
    auto = client.Item.create(name="Automatic")
    assert auto.id != "item-1" and auto.id.startswith("item-")


def test_idempotency_key_makes_a_retried_create_safe(client: invoiced.Client,
                                                     server: SandboxServer) -> None:
    # the server creates the customer but the client sees a 500 (a lost response)
    server.faults.fail(500, 1, after=True)
    with pytest.raises(invoiced.errors.ApiError):
        client.Customer.create(idempotency_key="k-1", name="Once AS")
    retried = client.Customer.create(idempotency_key="k-1", name="Once AS")
    assert client.Customer.list()[1].total_count == 1
    assert client.Customer.retrieve(retried.id).name == "Once AS"
    with pytest.raises(invoiced.errors.InvalidRequestError, match="idempotency key"):
        client.Customer.create(idempotency_key="k-1", name="Other AS")

    # without a key, the same lost response turns a blind retry into a duplicate
    server.faults.fail(500, 1, after=True)
    with pytest.raises(invoiced.errors.ApiError):
        client.Customer.create(name="Twice AS")
    client.Customer.create(name="Twice AS")
    assert client.Customer.list(filter={"name": "Twice AS"})[1].total_count == 2


def test_item_ids_with_spaces_round_trip(client: invoiced.Client) -> None:
    client.Item.create(id="SKU 1/A", name="Odd id")
    assert client.Item.retrieve("SKU%201%2FA").name == "Odd id"
