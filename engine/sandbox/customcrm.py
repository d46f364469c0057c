"""Custom CRM (modelled on HubSpot/SuperOffice; talk-flows §C.5): PascalCase, string ``Id``.

The Customer field names are the ones Talk itself drafted (``StreetAddress1``, ``ZipCode`` ...).
Ids are opaque strings (``ACC000001``, ``CON000001``, ``PRD000001``, ``ORD000001``; lines
``ORDL0000001``), money is a JSON number, auth is a bearer token. An order needs a customer or a
contact; totals are recomputed on every write.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from engine.sandbox.base import Field, FieldError
from engine.sandbox.custom import CustomSystem, ResourceSpec, money

__all__ = ["CustomcrmSandbox"]

_S, _RO = Field("str"), Field("any", read_only=True)
_STAMPS = {"CreatedAt": _RO, "UpdatedAt": _RO}
_ADDRESS = {
    "StreetAddress1": _S,
    "StreetAddress2": _S,
    "City": _S,
    "ZipCode": _S,
    "Country": Field("country"),
}


def _compute_order(system: CustomSystem, order: dict[str, Any]) -> None:
    if order.get("CustomerId") is None and order.get("ContactId") is None:
        raise FieldError("CustomerId", "an order needs CustomerId or ContactId")
    subtotal = tax = Decimal(0)
    for line in order.get("Lines") or []:
        product = system.get("products", line.get("ProductId"))
        if product is not None:
            for name in ("Name", "UnitPrice"):
                if line.get(name) is None:
                    line[name] = product.get(name)
        net = Decimal(str(line.get("Quantity") or 0)) * money(line.get("UnitPrice")) - money(
            line.get("DiscountAmount")
        )
        line_tax = money(line.get("TaxAmount"))
        line["LineTotal"] = system.amount(net + line_tax)
        subtotal += net
        tax += line_tax
    order["Subtotal"] = system.amount(subtotal)
    order["TaxTotal"] = system.amount(tax)
    order["Total"] = system.amount(subtotal + tax)
    if order.get("OrderNumber") is None:
        order["OrderNumber"] = f"CRM-{order['Id'][3:]}"


CUSTOMER = ResourceSpec(
    fields={
        "Id": _RO,
        "Name": Field("str", required=True),
        **_ADDRESS,
        "Phone": _S,
        "Email": _S,
        "Fax": _S,
        "Website": _S,
        "Description": _S,
        "OrgNumber": _S,
        "AccountNumber": _S,
        "Currency": Field("currency"),
        "PaymentTerms": _S,
        "ParentCustomerId": _S,
        "LifecycleStage": Field(
            "str", "customer", choices=("lead", "prospect", "customer", "inactive")
        ),
        "OwnerUserId": _S,
        **_STAMPS,
    },
    refs={"ParentCustomerId": "customers"},
    id_prefix="ACC",
)
CONTACT = ResourceSpec(
    fields={
        "Id": _RO,
        "CustomerId": _S,
        "FirstName": Field("str", required=True),
        "LastName": _S,
        "Email": _S,
        "Phone": _S,
        "Mobile": _S,
        "JobTitle": _S,
        "Department": _S,
        "IsPrimary": Field("bool", False),
        **_ADDRESS,
        "Description": _S,
        **_STAMPS,
    },
    refs={"CustomerId": "customers"},
    id_prefix="CON",
)
PRODUCT = ResourceSpec(
    fields={
        "Id": _RO,
        "Sku": _S,
        "Name": Field("str", required=True),
        "Description": _S,
        "UnitPrice": Field("money"),
        "Currency": Field("currency"),
        "ProductType": Field("str", "product", choices=("product", "service")),
        "Taxable": Field("bool", True),
        "IsActive": Field("bool", True),
        **_STAMPS,
    },
    unique=("Sku",),
    id_prefix="PRD",
)
ORDER = ResourceSpec(
    fields={
        "Id": _RO,
        "OrderNumber": _S,
        "Title": _S,
        "CustomerId": _S,
        "ContactId": _S,
        "Status": Field(
            "str", "open", choices=("draft", "open", "invoiced", "overdue", "paid", "cancelled")
        ),
        "OrderDate": Field("date"),
        "DueDate": Field("date"),
        "Currency": Field("currency"),
        "CustomerReference": _S,
        "Lines": Field("list", []),
        "Subtotal": _RO,
        "TaxTotal": _RO,
        "Total": _RO,
        "BalanceDue": Field("money"),
        "IsPaid": Field("bool", False),
        "ShippingStreetAddress1": _S,
        "ShippingStreetAddress2": _S,
        "ShippingCity": _S,
        "ShippingZipCode": _S,
        "ShippingCountry": Field("country"),
        "Description": _S,
        **_STAMPS,
    },
    lines_key="Lines",
    line_fields={
        "Id": _RO,
        "ProductId": _S,
        "Name": _S,
        "Description": _S,
        "Quantity": Field("num", 1),
        "UnitPrice": Field("money"),
        "DiscountAmount": Field("money", 0),
        "TaxAmount": Field("money", 0),
        "LineTotal": _RO,
    },
    refs={"CustomerId": "customers", "ContactId": "contacts"},
    compute=_compute_order,
    id_prefix="ORD",
)


class CustomcrmSandbox(CustomSystem):
    """The emulated CRM."""

    system_id: ClassVar[str] = "customcrm"
    resources: ClassVar[tuple[str, ...]] = ("customers", "contacts", "products", "orders")
    specs: ClassVar[dict[str, ResourceSpec]] = {
        "customers": CUSTOMER,
        "contacts": CONTACT,
        "products": PRODUCT,
        "orders": ORDER,
    }
    pascal: ClassVar[bool] = True
    auth_header: ClassVar[str] = "authorization"
    auth_scheme: ClassVar[str] = "Bearer"
    default_token: ClassVar[str] = "crm_sandbox_token_0123456789"
