"""Custom Webshop (modelled on WooCommerce/Shopify; talk-flows §C.3).

Integer ids, snake_case, money as decimal strings (``"199.00"``), bearer-token auth. Products are
archived (``status: "archived"``) by DELETE rather than removed, like a shop that must keep the
products of old orders. Order totals are recomputed on every write with 25 % VAT on the
``standard`` tax class (15 % ``reduced``, 0 % ``zero``), taken from the line's product.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from engine.sandbox.base import Field
from engine.sandbox.custom import CustomSystem, ResourceSpec, money

__all__ = ["CustomwebshopSandbox"]

_S, _RO = Field("str"), Field("any", read_only=True)
_STAMPS = {"created_at": _RO, "updated_at": _RO}
TAX_RATES = {"standard": Decimal("0.25"), "reduced": Decimal("0.15"), "zero": Decimal("0")}
SHOP_CURRENCY = "NOK"


def _compute_order(system: CustomSystem, order: dict[str, Any]) -> None:
    discount_total = tax_total = total = Decimal(0)
    for line in order.get("line_items") or []:
        product = system.get("products", line.get("product_id"))
        if product is not None:
            line["sku"] = product.get("sku")
            if line.get("name") is None:
                line["name"] = product.get("name")
            if line.get("price") is None:
                line["price"] = system.amount(
                    product.get("sale_price") or product.get("regular_price")
                )
        rate = TAX_RATES.get(
            str((product or {}).get("tax_class") or "standard"), TAX_RATES["standard"]
        )
        net = money(line.get("price")) * int(line.get("quantity") or 0) - money(
            line.get("discount")
        )
        tax = money(net * rate)
        line["tax"], line["total"] = system.amount(tax), system.amount(net + tax)
        discount_total += money(line.get("discount"))
        tax_total += tax
        total += net + tax
    total += money(order.get("shipping_total"))
    order["discount_total"] = system.amount(discount_total)
    order["total_tax"] = system.amount(tax_total)
    order["total"] = system.amount(total)
    if order.get("order_number") is None:
        order["order_number"] = str(1000 + int(order["id"]))


_ADDRESS = Field("dict")

CUSTOMER = ResourceSpec(
    fields={
        "id": _RO,
        "email": Field("str", required=True),
        "first_name": _S,
        "last_name": _S,
        "company_name": _S,
        "vat_number": _S,
        "phone": _S,
        "billing": _ADDRESS,
        "shipping": _ADDRESS,
        "accepts_marketing": Field("bool", False),
        "orders_count": _RO,
        "total_spent": _RO,
        **_STAMPS,
    },
    unique=("email",),
)
PRODUCT = ResourceSpec(
    fields={
        "id": _RO,
        "sku": Field("str", required=True),
        "name": Field("str", required=True),
        "description": _S,
        "short_description": _S,
        "regular_price": Field("money", required=True),
        "sale_price": Field("money"),
        "currency": Field("any", SHOP_CURRENCY, read_only=True),
        "status": Field("str", "publish", choices=("draft", "publish", "archived")),
        "type": Field("str", "physical", choices=("physical", "digital", "service")),
        "tax_class": Field("str", "standard", choices=("standard", "reduced", "zero")),
        "stock_quantity": Field("int"),
        "weight": Field("num"),
        **_STAMPS,
    },
    unique=("sku",),
    archive=("status", "archived"),
)
ORDER = ResourceSpec(
    fields={
        "id": _RO,
        "order_number": _RO,
        "customer_id": Field("int", required=True),
        "status": Field(
            "str",
            "pending",
            choices=("pending", "processing", "on-hold", "completed", "cancelled", "refunded"),
        ),
        "currency": Field("currency", required=True),
        "billing": _ADDRESS,
        "shipping": _ADDRESS,
        "line_items": Field("list", required=True),
        "shipping_total": Field("money", "0.00"),
        "discount_total": _RO,
        "total_tax": _RO,
        "total": _RO,
        "customer_note": _S,
        "payment_method": _S,
        "paid_at": _S,
        **_STAMPS,
    },
    lines_key="line_items",
    line_fields={
        "id": _RO,
        "product_id": Field("int"),
        "sku": _RO,
        "name": _S,
        "quantity": Field("int", 1),
        "price": Field("money"),
        "discount": Field("money", "0.00"),
        "tax": _RO,
        "total": _RO,
    },
    refs={"customer_id": "customers"},
    compute=_compute_order,
)


class CustomwebshopSandbox(CustomSystem):
    """The emulated web shop."""

    system_id: ClassVar[str] = "customwebshop"
    resources: ClassVar[tuple[str, ...]] = ("customers", "products", "orders")
    specs: ClassVar[dict[str, ResourceSpec]] = {
        "customers": CUSTOMER,
        "products": PRODUCT,
        "orders": ORDER,
    }
    money_as_string: ClassVar[bool] = True
    auth_header: ClassVar[str] = "authorization"
    auth_scheme: ClassVar[str] = "Bearer"
    default_token: ClassVar[str] = "shop_sandbox_token_0123456789"

    def decorate_page(self, resource: str, rows: list[dict[str, Any]]) -> None:
        """``orders_count``/``total_spent`` are derived from orders when read (not synced)."""
        if resource != "customers":
            return
        wanted = {r["id"] for r in rows}
        counts: dict[int, int] = dict.fromkeys(wanted, 0)
        spent: dict[int, Decimal] = dict.fromkeys(wanted, Decimal(0))
        for order in self.all("orders"):
            cid = order["customer_id"]
            if cid in wanted and order.get("status") not in ("cancelled", "refunded"):
                counts[cid] += 1
                spent[cid] += money(order.get("total"))
        for rec in rows:
            rec["orders_count"] = counts[rec["id"]]
            rec["total_spent"] = self.amount(spent[rec["id"]])
