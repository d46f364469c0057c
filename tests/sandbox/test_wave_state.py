"""The Wave sandbox in-process: stored shapes, seeds, persistence, timestamps and HTTP edges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.base import Request, wave_id
from engine.sandbox.wave import WaveSandbox

FROZEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def post(sandbox: WaveSandbox, query: str, **variables: Any) -> dict[str, Any]:
    """Run one GraphQL request through ``handle`` and return the JSON body (status 200)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    resp = sandbox.handle(Request("POST", "/graphql/public", body=body, headers={
        "authorization": f"Bearer {sandbox.credentials()['token']}"}))
    assert resp.status == 200, resp.body
    result = json.loads(json.dumps(resp.body))  # must be JSON-serialisable as is
    assert isinstance(result, dict)
    return result


def data(sandbox: WaveSandbox, query: str, **variables: Any) -> dict[str, Any]:
    result = post(sandbox, query, **variables)
    assert "errors" not in result, result["errors"]
    return dict(result["data"])


CREATE_CUSTOMER = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { didSucceed inputErrors { message } customer { id modifiedAt } } }"""
CREATE_PRODUCT = """mutation($input: ProductCreateInput!) {
  productCreate(input: $input) { didSucceed inputErrors { message } product { id } } }"""
CREATE_INVOICE = """mutation($input: InvoiceCreateInput!) {
  invoiceCreate(input: $input) { didSucceed inputErrors { message } invoice { id } } }"""


def seed_shapes(business: str) -> dict[str, list[dict[str, Any]]]:
    """Records in exactly the flat shapes the seed generator writes."""
    address = {"addressLine1": "Kongens gate 2", "addressLine2": None, "city": "Trondheim",
               "provinceCode": "NO-50", "countryCode": "NO", "postalCode": "7011"}
    return {
        "accounts": [{"id": wave_id("Account", 50), "name": "Seeded income", "subtype": "INCOME"}],
        "customers": [{
            "id": wave_id("Customer", 1), "name": "Fjord AS", "firstName": "Ola",
            "lastName": "Nordmann", "displayId": "C-1", "email": "ola@fjord.no",
            "phone": "+47 1", "mobile": "+47 2", "website": "https://fjord.no",
            "internalNotes": "vip", "currency": "NOK", "address": address,
            "shippingDetails": {"name": "Fjord lager", "phone": "+47 3", "instructions": "port 4",
                                "address": address},
            "isArchived": False, "createdAt": "2024-01-01T00:00:00Z",
            "modifiedAt": "2024-02-01T00:00:00Z",
        }],
        "products": [{
            "id": wave_id("Product", 1), "name": "Bolt", "description": "M8",
            "unitPrice": "12.50", "incomeAccountId": wave_id("Account", 50),
            "expenseAccountId": None, "isSold": True, "isBought": False, "isArchived": False,
            "createdAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z",
        }],
        "invoices": [{
            "id": wave_id("Invoice", 1), "customerId": wave_id("Customer", 1),
            "invoiceNumber": "1001", "poNumber": "PO-1", "title": "Invoice",
            "invoiceDate": "2024-02-01", "dueDate": "2024-02-15", "currency": "NOK",
            "memo": None, "status": "SAVED",
            "items": [{"productId": wave_id("Product", 1), "description": "M8",
                       "quantity": "2", "unitPrice": "12.50"}],
            "createdAt": "2024-02-01T00:00:00Z", "modifiedAt": "2024-02-01T00:00:00Z",
        }],
    }


def load_seed(sandbox: WaveSandbox) -> None:
    for resource, records in seed_shapes(sandbox.default_business_id).items():
        sandbox.load_records(resource, records)


def test_first_start_creates_business_with_income_account(tmp_path: Path) -> None:
    sandbox = WaveSandbox(tmp_path)
    creds = sandbox.credentials()
    assert creds["business_id"] == wave_id("Business", 1) and creds["token"]
    assert [a["subtype"] for a in sandbox.records("accounts")].count("INCOME") >= 1
    assert (tmp_path / "wave" / "businesses.json").exists()


def test_seeded_records_are_served_in_wave_shapes() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    got = data(sandbox, """query($b: ID!) { business(id: $b) {
      customers { edges { node { id name email displayId currency { code }
        address { city postalCode province { code name } country { code name } }
        shippingDetails { name instructions address { addressLine1 } }
        outstandingAmount { value } } } }
      products { edges { node { id unitPrice isSold incomeAccount { name } } } }
      invoices { edges { node { invoiceNumber customer { name } items { product { name }
        quantity price unitPrice total { value } } total { value raw } } } } } }""",
                   b=sandbox.default_business_id)["business"]
    customer = got["customers"]["edges"][0]["node"]
    assert customer["id"] == wave_id("Customer", 1) and customer["currency"] == {"code": "NOK"}
    assert customer["address"]["province"] == {"code": "NO-50", "name": "Trøndelag"}
    assert customer["shippingDetails"]["address"]["addressLine1"] == "Kongens gate 2"
    assert customer["outstandingAmount"] == {"value": "25.00"}  # the SAVED invoice is open
    product = got["products"]["edges"][0]["node"]
    assert product == {"id": wave_id("Product", 1), "unitPrice": "12.50", "isSold": True,
                       "incomeAccount": {"name": "Seeded income"}}
    invoice = got["invoices"]["edges"][0]["node"]
    assert invoice["customer"] == {"name": "Fjord AS"}
    assert invoice["items"] == [{"product": {"name": "Bolt"}, "quantity": "2", "price": "12.50",
                                 "unitPrice": "12.50", "total": {"value": "25.00"}}]
    assert invoice["total"] == {"value": "25.00", "raw": 2500}


def test_api_writes_are_stored_flat_and_ids_skip_seeded_ones() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    business = sandbox.default_business_id
    out = data(sandbox, CREATE_CUSTOMER, input={
        "businessId": business, "name": "Ny AS", "address": {"city": "Bodø", "countryCode": "NO"}})
    new_id = out["customerCreate"]["customer"]["id"]
    assert new_id != wave_id("Customer", 1)
    stored = next(r for r in sandbox.records("customers") if r["id"] == new_id)
    assert stored["address"] == {"addressLine1": None, "addressLine2": None, "city": "Bodø",
                                 "provinceCode": None, "countryCode": "NO", "postalCode": None}
    assert stored["currency"] == "NOK" and stored["shippingDetails"] is None
    assert stored["createdAt"].endswith("Z") and stored["isArchived"] is False

    product = data(sandbox, CREATE_PRODUCT, input={
        "businessId": business, "name": "Nut", "unitPrice": 3,
        "incomeAccountId": wave_id("Account", 50)})["productCreate"]["product"]["id"]
    invoice = data(sandbox, CREATE_INVOICE, input={
        "businessId": business, "customerId": new_id, "status": "DRAFT",
        "items": [{"productId": product, "quantity": 4.0}]})["invoiceCreate"]["invoice"]["id"]
    stored_invoice = next(r for r in sandbox.records("invoices") if r["id"] == invoice)
    assert stored_invoice["items"] == [
        {"productId": product, "description": None, "quantity": "4", "unitPrice": "3.00"}]
    assert stored_invoice["status"] == "DRAFT"
    assert stored_invoice["invoiceNumber"] == "1002"  # one past the highest numeric number
    assert stored_invoice["invoiceDate"] == stored_invoice["dueDate"]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = WaveSandbox(tmp_path)
    business = first.default_business_id
    created = data(first, CREATE_CUSTOMER, input={"businessId": business, "name": "Varig AS"})
    customer_id = created["customerCreate"]["customer"]["id"]
    accounts = first.records("accounts")

    second = WaveSandbox(tmp_path)
    assert second.default_business_id == business
    assert second.records("accounts") == accounts  # no second chart of accounts
    assert len(second.records("businesses")) == 1
    got = data(second, "query($b: ID!, $c: ID!) { business(id: $b) { customer(id: $c) { name } } }",
               b=business, c=customer_id)
    assert got["business"]["customer"] == {"name": "Varig AS"}
    again = data(second, CREATE_CUSTOMER, input={"businessId": business, "name": "Ny"})
    assert again["customerCreate"]["customer"]["id"] != customer_id


def test_modified_at_moves_on_every_write_even_with_a_frozen_clock() -> None:
    sandbox = WaveSandbox(None, clock=lambda: FROZEN)
    business = sandbox.default_business_id
    created = data(sandbox, CREATE_CUSTOMER, input={"businessId": business, "name": "A"})
    customer = created["customerCreate"]["customer"]
    stamps = [customer["modifiedAt"]]
    for n in range(3):
        out = data(sandbox, """mutation($input: CustomerPatchInput!) {
            customerPatch(input: $input) { customer { createdAt modifiedAt } } }""",
                   input={"id": customer["id"], "name": f"A{n}"})
        stamps.append(out["customerPatch"]["customer"]["modifiedAt"])
        assert out["customerPatch"]["customer"]["createdAt"] == customer["modifiedAt"]
    parsed = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    assert parsed == sorted(set(parsed)) and parsed[0] >= FROZEN


def test_failed_mutation_writes_nothing() -> None:
    sandbox = WaveSandbox(None)
    before = sandbox.records("customers")
    out = data(sandbox, CREATE_CUSTOMER, input={"businessId": sandbox.default_business_id,
                                                "name": ""})
    assert out["customerCreate"]["didSucceed"] is False
    assert sandbox.records("customers") == before


def test_reset_keeps_a_business() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    sandbox.reset()
    assert sandbox.records("customers") == [] and sandbox.records("invoices") == []
    assert len(sandbox.records("businesses")) == 1
    assert any(a["subtype"] == "INCOME" for a in sandbox.records("accounts"))


def test_load_records_fills_ids_and_timestamps() -> None:
    sandbox = WaveSandbox(None, clock=lambda: FROZEN)
    sandbox.load_records("products", [{"name": "Bare", "unitPrice": "1.00",
                                       "incomeAccountId": None}])
    (product,) = sandbox.records("products")
    assert product["id"].startswith("QnVzaW5lc3M6MTtQcm9kdWN0")  # base64("Business:1;Product")
    assert product["createdAt"] == product["modifiedAt"] == "2024-05-01T12:00:00Z"
    assert product["isSold"] is False and product["isArchived"] is False


def test_invoice_list_filters_and_sorts() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    business = sandbox.default_business_id
    other = data(sandbox, CREATE_CUSTOMER, input={"businessId": business, "name": "Annen"})
    other_id = other["customerCreate"]["customer"]["id"]
    data(sandbox, CREATE_INVOICE, input={"businessId": business, "customerId": other_id,
                                         "invoiceNumber": "2000"})
    got = data(sandbox, """query($b: ID!, $c: ID!) { business(id: $b) {
        mine: invoices(customerId: $c) { edges { node { invoiceNumber } } }
        newest: invoices { edges { node { invoiceNumber } } }
        oldest: invoices(sort: [CREATED_AT_ASC]) { edges { node { invoiceNumber } } }
        after: invoices(modifiedAtAfter: "2024-03-01T00:00:00Z") { pageInfo { totalCount } } } }""",
               b=business, c=other_id)["business"]
    numbers = {k: [e["node"]["invoiceNumber"] for e in v["edges"]] for k, v in got.items()
               if "edges" in v}
    assert numbers == {"mine": ["2000"], "newest": ["2000", "1001"], "oldest": ["1001", "2000"]}
    assert got["after"]["pageInfo"]["totalCount"] == 1


def test_duplicate_invoice_number_is_a_conflict() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    out = data(sandbox, """mutation($input: InvoiceCreateInput!) {
        invoiceCreate(input: $input) { didSucceed inputErrors { code path } } }""",
               input={"businessId": sandbox.default_business_id,
                      "customerId": wave_id("Customer", 1), "invoiceNumber": "1001"})
    assert out["invoiceCreate"] == {"didSucceed": False, "inputErrors": [
        {"code": "CONFLICT", "path": ["input", "invoiceNumber"]}]}


def test_paid_invoice_cannot_be_deleted() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    paid = {**seed_shapes("")["invoices"][0], "status": "PAID"}
    sandbox.load_records("invoices", [paid])
    out = data(sandbox, """mutation($input: InvoiceDeleteInput!) {
        invoiceDelete(input: $input) { didSucceed inputErrors { code } } }""",
               input={"invoiceId": paid["id"]})
    assert out["invoiceDelete"] == {"didSucceed": False, "inputErrors": [{"code": "INVALID"}]}
    assert len(sandbox.records("invoices")) == 1


def test_syntax_error_is_a_standard_graphql_error() -> None:
    result = post(WaveSandbox(None), "{ user { id ")
    assert "data" not in result
    assert result["errors"][0]["message"].startswith("Syntax Error")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/graphql/public", 405),
    ("POST", "/graphql/private", 404),
])
def test_other_paths_and_methods(method: str, path: str, status: int) -> None:
    sandbox = WaveSandbox(None)
    resp = sandbox.handle(Request(method, path, headers={
        "authorization": f"Bearer {sandbox.credentials()['token']}"}))
    assert resp.status == status
    assert resp.body["errors"][0]["message"]


def test_invalid_json_body_is_400() -> None:
    sandbox = WaveSandbox(None)
    resp = sandbox.handle(Request("POST", "/graphql/public", body=b"{not json", headers={
        "authorization": f"Bearer {sandbox.credentials()['token']}"}))
    assert resp.status == 400


def test_second_business_has_its_own_records() -> None:
    sandbox = WaveSandbox(None)
    load_seed(sandbox)
    sandbox.load_records("businesses", [{"name": "Filial AB", "currency": "SEK"}])
    first, second = (b["id"] for b in sandbox.records("businesses"))
    assert second == wave_id("Business", 0, business=2) and first == sandbox.default_business_id
    out = data(sandbox, CREATE_CUSTOMER, input={"businessId": second, "name": "Svensk AB"})
    assert out["customerCreate"]["didSucceed"] is True
    got = data(sandbox, """query($a: ID!, $b: ID!) {
        first: business(id: $a) { customers { edges { node { name } } } }
        second: business(id: $b) { currency { code }
          customers { edges { node { name currency { code } } } } } }""", a=first, b=second)
    assert got["first"]["customers"]["edges"] == [{"node": {"name": "Fjord AS"}}]
    assert got["second"]["currency"] == {"code": "SEK"}
    assert got["second"]["customers"]["edges"] == [
        {"node": {"name": "Svensk AB", "currency": {"code": "SEK"}}}]
    unknown = data(sandbox, CREATE_CUSTOMER, input={"businessId": "bm9wZQ==", "name": "X"})
    assert unknown["customerCreate"]["didSucceed"] is False
