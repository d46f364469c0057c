"""The Wave sandbox driven by a standard GraphQL client (``gql``) over real HTTP.

The client fetches the schema by introspection and validates every query against it before
sending, so these tests also prove that the SDL a client sees matches what the resolvers serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

import pytest
from gql import Client, GraphQLRequest
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError, GraphQLObjectType

from engine.sandbox.server import serve
from engine.sandbox.wave import WaveSandbox

CUSTOMER_FIELDS = """
  id name firstName lastName displayId email phone mobile website internalNotes
  currency { code symbol }
  address { addressLine1 addressLine2 city postalCode province { code name } country { code name } }
  shippingDetails { name phone instructions address { city country { code } } }
  isArchived createdAt modifiedAt
"""
INVOICE_FIELDS = """
  id status invoiceNumber poNumber title invoiceDate dueDate memo createdAt modifiedAt
  customer { id name } currency { code }
  items { product { id name } description quantity price unitPrice subtotal { value raw } total { value } }
  total { value raw currency { code } } amountDue { value }
"""
ERRORS = "didSucceed inputErrors { code message path }"


@pytest.fixture
def sandbox(tmp_path: Path) -> WaveSandbox:
    return WaveSandbox(tmp_path)


@pytest.fixture
def url(sandbox: WaveSandbox) -> Iterator[str]:
    with serve(sandbox) as base:
        yield base + "/graphql/public"


def _client(url: str, token: str) -> Client:
    transport = RequestsHTTPTransport(
        url=url, headers={"Authorization": f"Bearer {token}"}, timeout=5, retries=0
    )
    return Client(transport=transport, fetch_schema_from_transport=True)


@pytest.fixture
def session(url: str, sandbox: WaveSandbox) -> Iterator[SyncClientSession]:
    with _client(url, sandbox.credentials()["token"]) as s:
        yield s


@pytest.fixture
def business_id(sandbox: WaveSandbox) -> str:
    return str(sandbox.credentials()["business_id"])


def run(session: SyncClientSession, text: str, **variables: Any) -> dict[str, Any]:
    result = session.execute(GraphQLRequest(text, variable_values=variables or None))
    assert isinstance(result, dict)
    return result


def create_customer(session: SyncClientSession, business_id: str, **fields: Any) -> dict[str, Any]:
    out = run(session, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ {ERRORS} customer {{ {CUSTOMER_FIELDS} }} }} }}""",
              input={"businessId": business_id, **fields})["customerCreate"]
    assert out["didSucceed"], out["inputErrors"]
    return dict(out["customer"])


def income_account(session: SyncClientSession, business_id: str) -> str:
    data = run(session, """query($id: ID!) { business(id: $id) {
        accounts(subtypes: [INCOME]) { edges { node { id name subtype { value } } } } } }""",
               id=business_id)
    edges = data["business"]["accounts"]["edges"]
    assert edges and edges[0]["node"]["subtype"]["value"] == "INCOME"
    return str(edges[0]["node"]["id"])


def create_product(session: SyncClientSession, business_id: str, **fields: Any) -> dict[str, Any]:
    out = run(session, f"""mutation($input: ProductCreateInput!) {{
        productCreate(input: $input) {{ {ERRORS}
          product {{ id name description unitPrice isSold isBought isArchived
                     incomeAccount {{ id }} createdAt modifiedAt }} }} }}""",
              input={"businessId": business_id, **fields})["productCreate"]
    assert out["didSucceed"], out["inputErrors"]
    return dict(out["product"])


# ---- discovery and auth ----------------------------------------------------------------------


def test_introspected_schema_has_wave_names(session: SyncClientSession) -> None:
    schema = session.client.schema
    assert schema is not None
    mutation = schema.mutation_type
    assert mutation is not None
    assert {"customerCreate", "customerPatch", "customerDelete", "productCreate",
            "productPatch", "productArchive", "invoiceCreate", "invoicePatch",
            "invoiceDelete"} <= set(mutation.fields)
    for name in ("CustomerCreateInput", "InvoiceCreateItemInput", "InvoiceDeleteInput",
                 "CurrencyCode", "CountryCode", "InvoiceStatus", "InvoiceCreateStatus"):
        assert schema.get_type(name) is not None, name
    item = schema.get_type("InvoiceItem")
    assert isinstance(item, GraphQLObjectType) and item.fields["price"].deprecation_reason


def test_user_and_businesses(session: SyncClientSession, business_id: str) -> None:
    data = run(session, """{ user { id defaultEmail }
        businesses(page: 1, pageSize: 10) { pageInfo { currentPage totalPages totalCount }
          edges { node { id name currency { code symbol } } } } }""")
    assert data["user"]["id"]
    assert data["businesses"]["pageInfo"] == {"currentPage": 1, "totalPages": 1, "totalCount": 1}
    node = data["businesses"]["edges"][0]["node"]
    assert node["id"] == business_id and node["currency"] == {"code": "NOK", "symbol": "kr"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-token", "Basic d2F2ZTo="])
def test_missing_or_wrong_token_is_401(url: str, authorization: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    req = UrlRequest(url, data=json.dumps({"query": "{ user { id } }"}).encode(),
                     headers=headers, method="POST")
    with pytest.raises(HTTPError) as err:
        urlopen(req, timeout=5)
    assert err.value.code == 401
    body = json.loads(err.value.read())
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_client_with_wrong_token_cannot_connect(url: str) -> None:
    with pytest.raises(TransportQueryError, match="access token"), _client(url, "wrong"):
        pass  # fetching the schema on connect already needs the token


def test_malformed_request_is_400(url: str, sandbox: WaveSandbox) -> None:
    req = UrlRequest(url, data=b'{"variables": {}}', method="POST",
                     headers={"Authorization": f"Bearer {sandbox.credentials()['token']}"})
    with pytest.raises(HTTPError) as err:
        urlopen(req, timeout=5)
    assert err.value.code == 400


def test_query_unknown_field_fails_client_side_validation(session: SyncClientSession) -> None:
    with pytest.raises(GraphQLError, match="fax2"):
        run(session, "{ user { fax2 } }")


def test_unknown_business_is_a_graphql_error(session: SyncClientSession) -> None:
    with pytest.raises(TransportQueryError, match="not found"):
        run(session, 'query { business(id: "QnVzaW5lc3M6OTk=") { id } }')


# ---- customers -------------------------------------------------------------------------------


def test_customer_create_patch_delete(session: SyncClientSession, business_id: str) -> None:
    created = create_customer(
        session, business_id, name="Nordvik AS", firstName="Kari", lastName="Nordmann",
        email="kari@nordvik.no", currency="NOK", displayId="10001",
        address={"addressLine1": "Storgata 1", "city": "Oslo", "postalCode": "0155",
                 "countryCode": "NO", "provinceCode": "NO-03"},
        shippingDetails={"name": "Lager", "phone": "+47 22 00 00 00",
                         "address": {"city": "Bergen", "countryCode": "NO"}},
    )
    assert created["address"]["country"] == {"code": "NO", "name": "Norway"}
    assert created["address"]["province"] == {"code": "NO-03", "name": "Oslo"}
    assert created["shippingDetails"]["address"] == {"city": "Bergen", "country": {"code": "NO"}}
    assert created["createdAt"] == created["modifiedAt"] and created["isArchived"] is False

    patched = run(session, f"""mutation($input: CustomerPatchInput!) {{
        customerPatch(input: $input) {{ {ERRORS} customer {{ {CUSTOMER_FIELDS} }} }} }}""",
                  input={"id": created["id"], "phone": "+47 99 99 99 99",
                         "address": {"city": "Drammen"}})["customerPatch"]
    assert patched["didSucceed"], patched["inputErrors"]
    customer = patched["customer"]
    assert customer["phone"] == "+47 99 99 99 99"
    assert customer["name"] == "Nordvik AS"  # absent keys are left alone
    assert customer["address"]["city"] == "Drammen"
    assert customer["address"]["addressLine1"] == "Storgata 1"  # nested patch merges
    assert customer["createdAt"] == created["createdAt"]
    assert customer["modifiedAt"] > created["modifiedAt"]

    deleted = run(session, f"""mutation($input: CustomerDeleteInput!) {{
        customerDelete(input: $input) {{ {ERRORS} }} }}""", input={"id": created["id"]})
    assert deleted["customerDelete"] == {"didSucceed": True, "inputErrors": []}
    gone = run(session, "query($b: ID!, $c: ID!) { business(id: $b) { customer(id: $c) { id } } }",
               b=business_id, c=created["id"])
    assert gone["business"]["customer"] is None


def test_customer_list_pages(session: SyncClientSession, business_id: str) -> None:
    names = [f"Customer {n:02d}" for n in range(7)]
    for name in reversed(names):
        create_customer(session, business_id, name=name)
    seen: list[str] = []
    page, total_pages = 1, 1
    while page <= total_pages:
        data = run(session, """query($b: ID!, $p: Int!) { business(id: $b) {
            customers(page: $p, pageSize: 3, sort: [NAME_ASC]) {
              pageInfo { currentPage totalPages totalCount } edges { node { id name } } } } }""",
                   b=business_id, p=page)["business"]["customers"]
        assert data["pageInfo"]["currentPage"] == page and data["pageInfo"]["totalCount"] == 7
        total_pages = data["pageInfo"]["totalPages"]
        seen += [e["node"]["name"] for e in data["edges"]]
        page += 1
    assert total_pages == 3 and seen == names


def test_customer_modified_at_after_filter(session: SyncClientSession, business_id: str) -> None:
    first = create_customer(session, business_id, name="Old")
    second = create_customer(session, business_id, name="New")
    data = run(session, """query($b: ID!, $t: DateTime) { business(id: $b) {
        customers(modifiedAtAfter: $t) { edges { node { id } } } } }""",
               b=business_id, t=first["modifiedAt"])
    assert [e["node"]["id"] for e in data["business"]["customers"]["edges"]] == [second["id"]]


def test_customer_input_errors(session: SyncClientSession, business_id: str) -> None:
    out = run(session, f"""mutation($input: CustomerCreateInput!) {{
        customerCreate(input: $input) {{ {ERRORS} customer {{ id }} }} }}""",
              input={"businessId": business_id, "name": "  ", "email": "no-at-sign"})
    result = out["customerCreate"]
    assert result["didSucceed"] is False and result["customer"] is None
    assert {(e["code"], tuple(e["path"])) for e in result["inputErrors"]} == {
        ("REQUIRED", ("input", "name")), ("INVALID", ("input", "email"))}

    patch = run(session, f"""mutation($input: CustomerPatchInput!) {{
        customerPatch(input: $input) {{ {ERRORS} }} }}""",
                input={"id": "QnVzaW5lc3M6MTtDdXN0b21lcjo5OTk=", "name": "x"})["customerPatch"]
    assert patch["didSucceed"] is False
    assert patch["inputErrors"][0]["code"] == "NOT_FOUND"


def test_bad_currency_is_a_graphql_error(session: SyncClientSession, business_id: str) -> None:
    with pytest.raises(TransportQueryError, match="CurrencyCode"):
        run(session, """mutation($input: CustomerCreateInput!) {
            customerCreate(input: $input) { didSucceed } }""",
            input={"businessId": business_id, "name": "X", "currency": "XXX"})


# ---- products --------------------------------------------------------------------------------


def test_product_create_patch_archive(session: SyncClientSession, business_id: str) -> None:
    account = income_account(session, business_id)
    product = create_product(session, business_id, name="Widget", unitPrice="12.5",
                             description="A widget", incomeAccountId=account)
    assert product["unitPrice"] == "12.50" and product["isSold"] is True
    assert product["incomeAccount"] == {"id": account} and product["isArchived"] is False

    patched = run(session, f"""mutation($input: ProductPatchInput!) {{
        productPatch(input: $input) {{ {ERRORS} product {{ id name unitPrice description
          modifiedAt }} }} }}""", input={"id": product["id"], "unitPrice": "15"})["productPatch"]
    assert patched["didSucceed"], patched["inputErrors"]
    assert patched["product"]["unitPrice"] == "15.00"
    assert patched["product"]["name"] == "Widget"
    assert patched["product"]["modifiedAt"] > product["modifiedAt"]

    archived = run(session, f"""mutation($input: ProductArchiveInput!) {{
        productArchive(input: $input) {{ {ERRORS} product {{ id isArchived }} }} }}""",
                   input={"id": product["id"]})["productArchive"]
    assert archived["didSucceed"] and archived["product"]["isArchived"] is True
    listed = run(session, """query($b: ID!) { business(id: $b) {
        active: products(isArchived: false) { pageInfo { totalCount } }
        all: products { edges { node { id isArchived } } } } }""", b=business_id)["business"]
    assert listed["active"]["pageInfo"]["totalCount"] == 0
    assert listed["all"]["edges"] == [{"node": {"id": product["id"], "isArchived": True}}]


def test_product_input_errors(session: SyncClientSession, business_id: str) -> None:
    out = run(session, f"""mutation($input: ProductCreateInput!) {{
        productCreate(input: $input) {{ {ERRORS} product {{ id }} }} }}""",
              input={"businessId": business_id, "name": "", "unitPrice": "-1",
                     "incomeAccountId": "QnVzaW5lc3M6MTtBY2NvdW50Ojk5"})["productCreate"]
    assert out["didSucceed"] is False
    assert {tuple(e["path"]) for e in out["inputErrors"]} == {
        ("input", "name"), ("input", "unitPrice"), ("input", "incomeAccountId")}


# ---- invoices --------------------------------------------------------------------------------


def _invoice_mutation(name: str, input_type: str) -> str:
    return f"""mutation($input: {input_type}!) {{
        {name}(input: $input) {{ {ERRORS} invoice {{ {INVOICE_FIELDS} }} }} }}"""


def test_invoice_create_patch_delete(session: SyncClientSession, business_id: str) -> None:
    customer = create_customer(session, business_id, name="Kunde AS", currency="NOK")
    account = income_account(session, business_id)
    widget = create_product(session, business_id, name="Widget", unitPrice="12.50",
                            incomeAccountId=account, description="Widget desc")
    gadget = create_product(session, business_id, name="Gadget", unitPrice="100",
                            incomeAccountId=account)

    out = run(session, _invoice_mutation("invoiceCreate", "InvoiceCreateInput"), input={
        "businessId": business_id, "customerId": customer["id"], "poNumber": "PO-7",
        "invoiceDate": "2024-03-01", "dueDate": "2024-03-15", "memo": "Takk",
        "items": [{"productId": widget["id"], "quantity": "2"},
                  {"productId": gadget["id"], "quantity": "1.5", "unitPrice": "80",
                   "description": "Discounted"}],
    })["invoiceCreate"]
    assert out["didSucceed"], out["inputErrors"]
    invoice = out["invoice"]
    assert invoice["customer"]["id"] == customer["id"] and invoice["status"] == "SAVED"
    assert invoice["invoiceNumber"] == "1" and invoice["currency"] == {"code": "NOK"}
    first, second = invoice["items"]
    assert first["product"]["id"] == widget["id"] and first["description"] == "Widget desc"
    assert first["unitPrice"] == first["price"] == "12.50" and first["quantity"] == "2"
    assert first["subtotal"] == {"value": "25.00", "raw": 2500}
    assert second["total"] == {"value": "120.00"}
    assert invoice["total"] == {"value": "145.00", "raw": 14500, "currency": {"code": "NOK"}}

    patched = run(session, _invoice_mutation("invoicePatch", "InvoicePatchInput"), input={
        "id": invoice["id"], "items": [{"productId": gadget["id"], "quantity": "3"}],
    })["invoicePatch"]
    assert patched["didSucceed"], patched["inputErrors"]
    after = patched["invoice"]
    assert [i["product"]["id"] for i in after["items"]] == [gadget["id"]]  # lines replaced
    assert after["total"]["value"] == "300.00" and after["poNumber"] == "PO-7"
    assert after["modifiedAt"] > invoice["modifiedAt"]
    assert after["createdAt"] == invoice["createdAt"]

    blocked = run(session, f"""mutation($input: CustomerDeleteInput!) {{
        customerDelete(input: $input) {{ {ERRORS} }} }}""", input={"id": customer["id"]})
    assert blocked["customerDelete"]["inputErrors"][0]["code"] == "CONFLICT"

    deleted = run(session, f"""mutation($input: InvoiceDeleteInput!) {{
        invoiceDelete(input: $input) {{ {ERRORS} }} }}""", input={"invoiceId": invoice["id"]})
    assert deleted["invoiceDelete"] == {"didSucceed": True, "inputErrors": []}
    listed = run(session, """query($b: ID!) { business(id: $b) {
        invoices { pageInfo { totalCount } } } }""", b=business_id)
    assert listed["business"]["invoices"]["pageInfo"]["totalCount"] == 0


def test_invoice_input_errors(session: SyncClientSession, business_id: str) -> None:
    customer = create_customer(session, business_id, name="Kunde AS")
    unsold = create_product(session, business_id, name="Not for sale", unitPrice="1")
    assert unsold["isSold"] is False
    out = run(session, _invoice_mutation("invoiceCreate", "InvoiceCreateInput"), input={
        "businessId": business_id, "customerId": "QnVzaW5lc3M6MTtDdXN0b21lcjo0Mg==",
        "invoiceDate": "2024-03-10", "dueDate": "2024-03-01",
        "items": [{"productId": unsold["id"]}, {"productId": "nope"}],
    })["invoiceCreate"]
    assert out["didSucceed"] is False and out["invoice"] is None
    assert {(e["code"], tuple(e["path"])) for e in out["inputErrors"]} == {
        ("NOT_FOUND", ("input", "customerId")),
        ("INVALID", ("input", "dueDate")),
        ("INVALID", ("input", "items", "0", "productId")),
        ("NOT_FOUND", ("input", "items", "1", "productId")),
    }
    missing = run(session, f"""mutation($input: InvoiceDeleteInput!) {{
        invoiceDelete(input: $input) {{ {ERRORS} }} }}""", input={"invoiceId": customer["id"]})
    assert missing["invoiceDelete"]["inputErrors"][0]["code"] == "NOT_FOUND"


# ---- hosting: seed control endpoint and concurrent writers -----------------------------------


def test_seeded_sandbox_pages_completely(url: str, sandbox: WaveSandbox) -> None:
    seed = UrlRequest(url.replace("/graphql/public", "/_sandbox/seed"), method="POST",
                      data=json.dumps({"scale": 1}).encode())
    with urlopen(seed, timeout=10) as resp:
        assert resp.status == 200
    stored = {r["id"] for r in sandbox.records("customers")}
    assert stored
    with _client(url, sandbox.credentials()["token"]) as session:
        business_id = sandbox.credentials()["business_id"]
        seen: list[str] = []
        page, total_pages = 1, 1
        while page <= total_pages:
            conn = run(session, """query($b: ID!, $p: Int!) { business(id: $b) {
                customers(page: $p, pageSize: 7) { pageInfo { totalPages }
                  edges { node { id email address { country { code } } } } } } }""",
                       b=business_id, p=page)["business"]["customers"]
            total_pages = conn["pageInfo"]["totalPages"]
            seen += [e["node"]["id"] for e in conn["edges"]]
            page += 1
        invoices = run(session, """query($b: ID!) { business(id: $b) {
            invoices(pageSize: 500) { edges { node { customer { id } items { product { id } }
              total { value } } } } } }""", b=business_id)["business"]["invoices"]["edges"]
    assert sorted(seen) == sorted(stored) and len(seen) == len(stored)
    assert invoices and all(e["node"]["customer"]["id"] in stored for e in invoices)


def test_concurrent_creates_get_distinct_ids(url: str, sandbox: WaveSandbox,
                                             business_id: str) -> None:
    token = sandbox.credentials()["token"]

    def create(n: int) -> str:
        body = {"query": """mutation($input: CustomerCreateInput!) {
                  customerCreate(input: $input) { customer { id } } }""",
                "variables": {"input": {"businessId": business_id, "name": f"Par {n}"}}}
        req = UrlRequest(url, data=json.dumps(body).encode(), method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urlopen(req, timeout=10) as resp:
            return str(json.loads(resp.read())["data"]["customerCreate"]["customer"]["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(create, range(16)))
    assert len(set(ids)) == 16
    assert {r["id"] for r in sandbox.records("customers")} == set(ids)
