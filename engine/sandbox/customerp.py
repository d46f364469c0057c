"""Custom ERP (modelled on Tripletex/PowerOffice; talk-flows §C.4), with a Contact resource.

Integer ids, snake_case, money as JSON numbers with 2 decimals, ``X-API-Key`` header auth.
Products are deactivated (``is_active: false``) by DELETE. Order amounts are recomputed on every
write: ``line_amount = quantity × unit_price × (1 − discount_percent/100)``, VAT per line rate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from engine.sandbox.base import Field
from engine.sandbox.custom import CustomSystem, ResourceSpec, money

__all__ = ["CustomerpSandbox"]

_S, _RO = Field("str"), Field("any", read_only=True)
_STAMPS = {"created_at": _RO, "updated_at": _RO}
DEFAULT_VAT = Decimal("25.00")


def _compute_customer(system: CustomSystem, rec: dict[str, Any]) -> None:
    if rec.get("customer_number") is None:
        rec["customer_number"] = str(10000 + int(rec["id"]))


def _compute_order(system: CustomSystem, order: dict[str, Any]) -> None:
    excl = vat = Decimal(0)
    for n, line in enumerate(order.get("lines") or [], start=1):
        product = system.get("products", line.get("product_id"))
        if product is not None:
            for dst, src in (
                ("description", "name"),
                ("unit", "unit"),
                ("unit_price", "sales_price"),
                ("vat_rate", "vat_rate"),
            ):
                if line.get(dst) is None:
                    line[dst] = product.get(src)
        line["line_no"] = line.get("line_no") or n
        rate = Decimal(str(line["vat_rate"])) if line.get("vat_rate") is not None else DEFAULT_VAT
        line["vat_rate"] = system.amount(rate)
        gross = Decimal(str(line.get("quantity") or 0)) * money(line.get("unit_price"))
        amount = money(gross * (1 - Decimal(str(line.get("discount_percent") or 0)) / 100))
        line["line_amount"] = system.amount(amount)
        excl += amount
        vat += money(amount * rate / 100)
    order["amount_excl_vat"] = system.amount(excl)
    order["vat_amount"] = system.amount(vat)
    order["amount_incl_vat"] = system.amount(excl + vat)
    if order.get("order_number") is None:
        order["order_number"] = f"SO-{int(order['id']):06d}"


_ADDRESS = Field("dict")

CUSTOMER = ResourceSpec(
    fields={
        "id": _RO,
        "customer_number": _S,
        "type": Field("str", required=True, choices=("company", "person")),
        "name": Field("str", required=True),
        "org_number": _S,
        "vat_number": _S,
        "email": _S,
        "phone": _S,
        "website": _S,
        "contact_person": Field("dict"),
        "invoice_address": _ADDRESS,
        "delivery_address": _ADDRESS,
        "currency": Field("currency", "NOK"),
        "payment_terms_days": Field("int", 14),
        "credit_limit": Field("money"),
        "language": _S,
        "is_active": Field("bool", True),
        "notes": _S,
        **_STAMPS,
    },
    unique=("customer_number",),
    compute=_compute_customer,
)
CONTACT = ResourceSpec(
    fields={
        "id": _RO,
        "customer_id": Field("int"),
        "first_name": Field("str", required=True),
        "last_name": _S,
        "email": _S,
        "phone": _S,
        **_STAMPS,
    },
    refs={"customer_id": "customers"},
)
PRODUCT = ResourceSpec(
    fields={
        "id": _RO,
        "product_code": Field("str", required=True),
        "name": Field("str", required=True),
        "description": _S,
        "product_type": Field("str", "goods", choices=("goods", "service")),
        "unit": Field("str", "pcs"),
        "sales_price": Field("money", required=True),
        "cost_price": Field("money"),
        "currency": Field("currency", "NOK"),
        "vat_rate": Field("money", 25),
        "ean": _S,
        "income_account": Field("str", "3000"),
        "is_active": Field("bool", True),
        **_STAMPS,
    },
    unique=("product_code",),
    archive=("is_active", False),
)
ORDER = ResourceSpec(
    fields={
        "id": _RO,
        "order_number": _RO,
        "customer_id": Field("int", required=True),
        "order_date": Field("date", required=True),
        "due_date": Field("date"),
        "delivery_date": Field("date"),
        "customer_reference": _S,
        "our_reference": _S,
        "currency": Field("currency", required=True),
        "payment_terms_days": Field("int"),
        "status": Field("str", "draft", choices=("draft", "confirmed", "invoiced", "cancelled")),
        "lines": Field("list", required=True),
        "amount_excl_vat": _RO,
        "vat_amount": _RO,
        "amount_incl_vat": _RO,
        "notes": _S,
        "delivery_address": _ADDRESS,
        **_STAMPS,
    },
    lines_key="lines",
    line_fields={
        "id": _RO,
        "line_no": Field("int"),
        "product_id": Field("int"),
        "description": _S,
        "quantity": Field("num", 1),
        "unit": _S,
        "unit_price": Field("money"),
        "discount_percent": Field("num", 0),
        "vat_rate": Field("num"),
        "line_amount": _RO,
    },
    refs={"customer_id": "customers"},
    compute=_compute_order,
)


class CustomerpSandbox(CustomSystem):
    """The emulated ERP."""

    system_id: ClassVar[str] = "customerp"
    resources: ClassVar[tuple[str, ...]] = ("customers", "contacts", "products", "orders")
    specs: ClassVar[dict[str, ResourceSpec]] = {
        "customers": CUSTOMER,
        "contacts": CONTACT,
        "products": PRODUCT,
        "orders": ORDER,
    }
    auth_header: ClassVar[str] = "x-api-key"
    auth_scheme: ClassVar[str] = ""
    default_token: ClassVar[str] = "erp_sandbox_key_0123456789"
