"""Seed data: deterministic, loadable into every system, with the overlaps the merges need."""

from __future__ import annotations

import base64
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sandbox.manager import SYSTEMS, create_system
from engine.sandbox.seed import seed_data, seed_system, world


def test_same_scale_gives_identical_data() -> None:
    first = json.dumps(seed_data(1), sort_keys=True, ensure_ascii=False)
    again = json.dumps(seed_data(1), sort_keys=True, ensure_ascii=False)
    assert first == again
    assert json.dumps(seed_data(2), sort_keys=True) != first


def test_seeded_systems_are_identical_across_instances() -> None:
    for system_id in SYSTEMS:
        a, b = create_system(system_id, None), create_system(system_id, None)
        seed_system(a, 1)
        seed_system(b, 1)
        for resource in a.resources:
            if resource in ("businesses", "accounts"):
                continue  # Wave's default business is stamped at construction time
            assert a.records(resource) == b.records(resource), (system_id, resource)


def test_scale_one_is_a_few_dozen_per_datatype() -> None:
    data = seed_data(1)
    assert set(data) == set(SYSTEMS)
    for system_id, resources in data.items():
        for resource, rows in resources.items():
            assert 10 <= len(rows) <= 60, (system_id, resource, len(rows))
    assert len(seed_data(3)["customerp"]["customers"]) == 3 * len(data["customerp"]["customers"])


def test_erp_customers_overlap_invoiced_by_email_and_org_number() -> None:
    data = seed_data(1)
    erp = [c for c in data["customerp"]["customers"] if c["type"] == "company"]
    inv = [c for c in data["invoiced"]["customers"] if c["type"] == "company"]
    by_email = {c["email"] for c in erp}
    by_org = {c["org_number"] for c in erp}
    both = [c for c in inv if c["email"] in by_email and c["tax_id"] in by_org]
    org_only = [c for c in inv if c["email"] not in by_email and c["tax_id"] in by_org]
    email_only = [c for c in inv if c["email"] in by_email and c["tax_id"] is None]
    unrelated = [c for c in inv if c["email"] not in by_email and c["tax_id"] not in by_org]
    assert both and org_only and email_only and unrelated
    erp_people = {c["email"] for c in data["customerp"]["customers"] if c["type"] == "person"}
    inv_people = [c for c in data["invoiced"]["customers"] if c["type"] == "person"]
    assert any(c["email"] in erp_people for c in inv_people)
    assert any(c["email"] not in erp_people for c in inv_people)


def test_product_codes_overlap_across_systems() -> None:
    data = seed_data(1)
    erp_codes = {p["product_code"] for p in data["customerp"]["products"]}
    shop_skus = {p["sku"] for p in data["customwebshop"]["products"]}
    item_ids = {i["id"] for i in data["invoiced"]["items"]}
    assert erp_codes & shop_skus and shop_skus - erp_codes and erp_codes - shop_skus
    assert item_ids & erp_codes and item_ids & shop_skus and None in item_ids
    crm_skus = {p["Sku"] for p in data["customcrm"]["products"]}
    assert crm_skus & erp_codes and None in crm_skus


def test_wave_and_crm_share_parties_with_the_erp() -> None:
    data = seed_data(1)
    erp_emails = {c["email"] for c in data["customerp"]["customers"]}
    wave_emails = [c["email"] for c in data["wave"]["customers"]]
    assert any(e in erp_emails for e in wave_emails) and any(
        e not in erp_emails for e in wave_emails)
    erp_orgs = {c.get("org_number") for c in data["customerp"]["customers"]} - {None}
    assert any(c["OrgNumber"] in erp_orgs for c in data["customcrm"]["customers"])
    assert any(c["CustomerId"] is None for c in data["customcrm"]["contacts"])


def test_people_orders_and_names_are_varied() -> None:
    w = world(1)
    assert any(p.employer is None for p in w.persons)
    assert any(p.employer is not None for p in w.persons)
    text = json.dumps(seed_data(1), ensure_ascii=False)
    for char in "æøåéüß":
        assert char in text, char
    orders = seed_data(1)["customerp"]["orders"]
    assert any(len(o["lines"]) > 1 for o in orders) and any(len(o["lines"]) == 1 for o in orders)
    shop = seed_data(1)["customwebshop"]["customers"]
    assert any(c["company_name"] for c in shop) and any(not c["company_name"] for c in shop)


def test_org_numbers_pass_mod11() -> None:
    for org in world(1).orgs:
        digits = [int(d) for d in org.org_number]
        weights = (3, 2, 7, 6, 5, 4, 3, 2)
        rest = sum(d * w for d, w in zip(digits[:8], weights, strict=True)) % 11
        assert digits[8] == (0 if rest == 0 else 11 - rest)


def test_wave_records_have_the_agreed_shapes() -> None:
    data = seed_data(1)["wave"]
    cust = data["customers"][0]
    assert base64.b64decode(cust["id"]).decode() == "Business:1;Customer:1"
    assert set(cust["address"]) == {"addressLine1", "addressLine2", "city", "provinceCode",
                                    "countryCode", "postalCode"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cust["createdAt"])
    product = data["products"][0]
    assert re.fullmatch(r"\d+\.\d\d", product["unitPrice"]) and product["isSold"] is True
    invoice = data["invoices"][0]
    assert invoice["status"] in ("DRAFT", "SAVED") and invoice["items"]
    assert all(isinstance(i["quantity"], str) for i in invoice["items"])
    products = {p["id"] for p in data["products"]}
    customers = {c["id"] for c in data["customers"]}
    for inv in data["invoices"]:
        assert inv["customerId"] in customers
        assert all(i["productId"] in products for i in inv["items"])


@settings(max_examples=4, deadline=None)
@given(scale=st.integers(min_value=0, max_value=3))
def test_every_reference_resolves_after_loading(scale: int) -> None:
    for system_id in ("customerp", "customwebshop", "customcrm", "invoiced"):
        system = create_system(system_id, None)
        seed_system(system, scale)
        recs = {r: system.records(r) for r in system.resources}
        key = system.id_key("customers")
        customers = {c[key] for c in recs["customers"]}
        if system_id == "invoiced":
            assert all(i["customer"] in customers for i in recs["invoices"])
            items = {i["id"] for i in recs["items"]}
            assert all(ln["catalog_item"] in items for i in recs["invoices"]
                       for ln in i["items"] if ln["catalog_item"])
            line_ids = [ln["id"] for i in recs["invoices"] for ln in i["items"]]
            assert len(line_ids) == len(set(line_ids))
            continue
        orders = recs["orders"]
        ref = "CustomerId" if system_id == "customcrm" else "customer_id"
        assert all(o[ref] in customers for o in orders if o[ref] is not None)
        lines = {"customerp": "lines", "customwebshop": "line_items", "customcrm": "Lines"}
        line_ids = [ln[key] for o in orders for ln in o[lines[system_id]]]
        assert len(line_ids) == len(set(line_ids))
        assert (scale == 0) == (not orders)
