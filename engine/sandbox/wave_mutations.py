"""Write-side resolvers of the Wave sandbox: Wave's create/patch/delete mutations with validation.

Wave reports invalid input not as GraphQL errors but in the payload: ``didSucceed: false`` and
``inputErrors [{code, message, path}]``, with HTTP 200 (Talk's connector had to look for both).
Every mutation therefore validates the whole input first, collecting every problem, and writes
nothing unless the list is empty. Patches follow Wave's semantics: a key that is absent is left
alone, a key given as ``null`` clears the value (or is an input error for required fields), and
invoice ``items`` replace every line. Every successful write moves ``modifiedAt``; ``createdAt`` is
set once.

Codes are ``REQUIRED`` (a required value is missing or blank), ``NOT_FOUND`` (an id names nothing
in this business), ``INVALID`` (a value is out of range or not allowed) and ``CONFLICT`` (the
write would break another record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from engine.sandbox.wave_queries import sandbox_of
from engine.sandbox.wave_values import (
    EXPENSE_SUBTYPES,
    INCOME_SUBTYPES,
    format_decimal,
    parse_decimal,
)

if TYPE_CHECKING:
    from engine.sandbox.wave import WaveSandbox

__all__ = ["MUTATION_RESOLVERS"]

Record = dict[str, Any]
Resolver = Callable[..., Any]

ADDRESS_KEYS = ("addressLine1", "addressLine2", "city", "provinceCode", "countryCode", "postalCode")
CUSTOMER_TEXT_KEYS = (
    "name",
    "firstName",
    "lastName",
    "displayId",
    "email",
    "mobile",
    "phone",
    "fax",
    "tollFree",
    "website",
    "internalNotes",
)
INVOICE_TEXT_KEYS = ("title", "subhead", "invoiceNumber", "poNumber", "memo", "footer")
PAID_STATUSES = frozenset({"PAID", "PARTIAL"})


@dataclass
class _Check:
    """The input errors found so far; ``ok`` once validation found nothing."""

    errors: list[Record] = field(default_factory=list)

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        self.errors.append(
            {"path": ["input", *(str(p) for p in path)], "code": code, "message": message}
        )

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, **payload: Any) -> Record:
        return {"didSucceed": False, "inputErrors": self.errors, **payload}


def _succeed(**payload: Any) -> Record:
    return {"didSucceed": True, "inputErrors": [], **payload}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_business(sandbox: WaveSandbox, check: _Check, business_id: str) -> None:
    if sandbox.get("businesses", business_id) is None:
        check.add(("businessId",), "NOT_FOUND", f"Business {business_id!r} does not exist")


def _find(sandbox: WaveSandbox, resource: str, key: Any, business_id: str | None) -> Record | None:
    """The stored record ``key`` of ``resource``, if it belongs to ``business_id`` (or any)."""
    rec = sandbox.get(resource, key) if isinstance(key, str) else None
    if rec is None or (business_id is not None and sandbox.owner(rec) != business_id):
        return None
    return rec


# ---- customers -----------------------------------------------------------------------------


def _address(given: Record | None, current: Record | None) -> Record:
    merged = {k: (current or {}).get(k) for k in ADDRESS_KEYS}
    for key, value in (given or {}).items():
        merged[key] = value
    return merged


def _shipping(given: Record | None, current: Record | None) -> Record | None:
    if given is None:
        return None
    merged = {k: (current or {}).get(k) for k in ("name", "phone", "instructions")}
    merged["address"] = (current or {}).get("address")
    for key, value in given.items():
        if key == "address":
            merged["address"] = _address(value, merged["address"]) if value is not None else None
        else:
            merged[key] = value
    return merged


def _check_customer(check: _Check, given: Record) -> None:
    if "name" in given and _blank(given["name"]):
        check.add(("name",), "REQUIRED", "Name is required")
    email = given.get("email")
    if isinstance(email, str) and email.strip() and "@" not in email:
        check.add(("email",), "INVALID", f"Enter a valid email address, got {email!r}")


def _apply_customer(sandbox: WaveSandbox, rec: Record, given: Record) -> None:
    for key in CUSTOMER_TEXT_KEYS:
        if key in given:
            rec[key] = given[key]
    if "currency" in given:
        rec["currency"] = given["currency"] or sandbox.business_currency(sandbox.owner(rec))
    if "address" in given:
        rec["address"] = _address(given["address"], rec.get("address"))
    if "shippingDetails" in given:
        rec["shippingDetails"] = _shipping(given["shippingDetails"], rec.get("shippingDetails"))


def _customer_create(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    business_id = input["businessId"]
    _check_business(sandbox, check, business_id)
    _check_customer(check, input)
    if not check.ok:
        return check.fail(customer=None)
    rec: Record = {"id": sandbox.new_wave_id("customers", "Customer", business_id)}
    if business_id != sandbox.default_business_id:
        rec["businessId"] = business_id
    rec.update({k: None for k in CUSTOMER_TEXT_KEYS if k not in ("fax", "tollFree")})
    rec.update(
        {
            "currency": sandbox.business_currency(business_id),
            "address": _address(None, None),
            "shippingDetails": None,
            "isArchived": False,
        }
    )
    _apply_customer(sandbox, rec, input)
    sandbox.save_new("customers", rec)
    return _succeed(customer=rec)


def _customer_patch(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "customers", input["id"], None)
    if current is None:
        check.add(("id",), "NOT_FOUND", f"Customer {input['id']!r} does not exist")
    _check_customer(check, input)
    if current is None or not check.ok:
        return check.fail(customer=None)
    rec = dict(current)
    _apply_customer(sandbox, rec, input)
    sandbox.save_changed("customers", rec)
    return _succeed(customer=rec)


def _customer_delete(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "customers", input["id"], None)
    if current is None:
        check.add(("id",), "NOT_FOUND", f"Customer {input['id']!r} does not exist")
        return check.fail()
    invoices = [i for i in sandbox.all("invoices") if i.get("customerId") == current["id"]]
    if invoices:
        check.add(
            ("id",), "CONFLICT", f"Customer has {len(invoices)} invoice(s); delete them first"
        )
        return check.fail()
    sandbox.remove("customers", current["id"])
    return _succeed()


# ---- products ------------------------------------------------------------------------------


def _check_account(
    sandbox: WaveSandbox, check: _Check, given: Record, key: str, business_id: str
) -> None:
    account_id = given.get(key)
    if account_id is None:
        return
    account = _find(sandbox, "accounts", account_id, business_id)
    allowed = INCOME_SUBTYPES if key == "incomeAccountId" else EXPENSE_SUBTYPES
    if account is None:
        check.add((key,), "NOT_FOUND", f"Account {account_id!r} does not exist")
    elif account.get("subtype") not in allowed:
        check.add(
            (key,),
            "INVALID",
            f"Account {account_id!r} has subtype "
            f"{account.get('subtype')!r}; expected one of {sorted(allowed)}",
        )


def _check_product(sandbox: WaveSandbox, check: _Check, given: Record, business_id: str) -> None:
    if "name" in given and _blank(given["name"]):
        check.add(("name",), "REQUIRED", "Name is required")
    if "unitPrice" in given:
        price = given["unitPrice"]
        if price is None:
            check.add(("unitPrice",), "REQUIRED", "Unit price is required")
        elif price < 0:
            check.add(("unitPrice",), "INVALID", f"Unit price must not be negative, got {price}")
    if given.get("defaultSalesTaxIds"):
        check.add(("defaultSalesTaxIds",), "NOT_FOUND", "This business has no sales taxes")
    for key in ("incomeAccountId", "expenseAccountId"):
        _check_account(sandbox, check, given, key, business_id)


def _apply_product(rec: Record, given: Record) -> None:
    for key in ("name", "description", "incomeAccountId", "expenseAccountId"):
        if key in given:
            rec[key] = given[key]
    if "unitPrice" in given:
        rec["unitPrice"] = format_decimal(given["unitPrice"], 2)
    # Wave derives these from the accounts: only a product with an income account can be invoiced.
    rec["isSold"] = rec.get("incomeAccountId") is not None
    rec["isBought"] = rec.get("expenseAccountId") is not None


def _product_create(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    business_id = input["businessId"]
    _check_business(sandbox, check, business_id)
    _check_product(sandbox, check, input, business_id)
    if not check.ok:
        return check.fail(product=None)
    rec: Record = {"id": sandbox.new_wave_id("products", "Product", business_id)}
    if business_id != sandbox.default_business_id:
        rec["businessId"] = business_id
    rec.update(
        {
            "name": None,
            "description": None,
            "unitPrice": "0.00",
            "incomeAccountId": None,
            "expenseAccountId": None,
            "isArchived": False,
        }
    )
    _apply_product(rec, input)
    sandbox.save_new("products", rec)
    return _succeed(product=rec)


def _product_patch(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "products", input["id"], None)
    if current is None:
        check.add(("id",), "NOT_FOUND", f"Product {input['id']!r} does not exist")
        return check.fail(product=None)
    _check_product(sandbox, check, input, sandbox.owner(current))
    if not check.ok:
        return check.fail(product=None)
    rec = dict(current)
    _apply_product(rec, input)
    sandbox.save_changed("products", rec)
    return _succeed(product=rec)


def _product_archive(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "products", input["id"], None)
    if current is None:
        check.add(("id",), "NOT_FOUND", f"Product {input['id']!r} does not exist")
        return check.fail(product=None)
    if current.get("isArchived"):
        return _succeed(product=current)  # archiving twice is not a change
    rec = {**current, "isArchived": True}
    sandbox.save_changed("products", rec)
    return _succeed(product=rec)


# ---- invoices ------------------------------------------------------------------------------


def _check_items(
    sandbox: WaveSandbox, check: _Check, items: list[Record], business_id: str
) -> list[Record]:
    """Validate invoice lines; returns them in stored shape (product defaults filled in)."""
    stored: list[Record] = []
    for n, item in enumerate(items):
        product = _find(sandbox, "products", item["productId"], business_id)
        if product is None:
            check.add(
                ("items", n, "productId"),
                "NOT_FOUND",
                f"Product {item['productId']!r} does not exist",
            )
            continue
        if not product.get("isSold"):
            check.add(
                ("items", n, "productId"),
                "INVALID",
                f"Product {item['productId']!r} is not sold (it has no income account)",
            )
        if item.get("taxes"):
            check.add(("items", n, "taxes"), "NOT_FOUND", "This business has no sales taxes")
        quantity = item.get("quantity")
        if quantity is None:
            quantity = Decimal(1)
        price = item.get("unitPrice")
        if price is None:
            price = parse_decimal(product.get("unitPrice") or "0")
        description = item.get("description", product.get("description"))
        stored.append(
            {
                "productId": product["id"],
                "description": description,
                "quantity": format_decimal(quantity),
                "unitPrice": format_decimal(price, 2),
            }
        )
    return stored


def _check_invoice(
    sandbox: WaveSandbox, check: _Check, given: Record, current: Record | None, business_id: str
) -> list[Record] | None:
    """Validate an invoice create/patch; returns the new lines if ``items`` was given."""
    if (
        "customerId" in given
        and _find(sandbox, "customers", given["customerId"], business_id) is None
    ):
        check.add(("customerId",), "NOT_FOUND", f"Customer {given['customerId']!r} does not exist")
    for key in ("status", "invoiceDate", "dueDate"):
        if key in given and given[key] is None:
            check.add((key,), "REQUIRED", f"{key} must not be null")
    rate = given.get("exchangeRate")
    if rate is not None and rate <= 0:
        check.add(("exchangeRate",), "INVALID", f"Exchange rate must be positive, got {rate}")
    number = given.get("invoiceNumber")
    if isinstance(number, str) and number.strip():
        taken = sandbox.invoices_numbered(business_id, number) - (
            {current["id"]} if current is not None else set()
        )
        if taken:
            check.add(
                ("invoiceNumber",), "CONFLICT", f"Invoice number {number!r} is already in use"
            )
    invoice_date = _date_of(given, current, "invoiceDate")
    due_date = _date_of(given, current, "dueDate")
    if invoice_date and due_date and due_date < invoice_date:
        check.add(
            ("dueDate",),
            "INVALID",
            f"Due date {due_date} is before the invoice date {invoice_date}",
        )
    if "items" in given:
        return _check_items(sandbox, check, given["items"] or [], business_id)
    return None


def _date_of(given: Record, current: Record | None, key: str) -> date | None:
    if key in given:
        value = given[key]
        return value if isinstance(value, date) else None
    text = (current or {}).get(key)
    return date.fromisoformat(text) if isinstance(text, str) else None


def _apply_invoice(
    sandbox: WaveSandbox, rec: Record, given: Record, items: list[Record] | None
) -> None:
    for key in (*INVOICE_TEXT_KEYS, "customerId", "status", "currency"):
        if key in given:
            rec[key] = given[key]
    for key in ("invoiceDate", "dueDate"):
        if isinstance(given.get(key), date):
            rec[key] = given[key].isoformat()
    if given.get("exchangeRate") is not None:
        rec["exchangeRate"] = format_decimal(given["exchangeRate"])
    if items is not None:
        rec["items"] = items
    if _blank(rec.get("invoiceNumber")):
        rec["invoiceNumber"] = sandbox.next_invoice_number(sandbox.owner(rec))


def _invoice_create(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    business_id = input["businessId"]
    _check_business(sandbox, check, business_id)
    items = _check_invoice(sandbox, check, input, None, business_id)
    if not check.ok:
        return check.fail(invoice=None)
    customer = sandbox.get("customers", input["customerId"]) or {}
    today = sandbox.now().date().isoformat()
    rec: Record = {"id": sandbox.new_wave_id("invoices", "Invoice", business_id)}
    if business_id != sandbox.default_business_id:
        rec["businessId"] = business_id
    rec.update(
        {
            "customerId": input["customerId"],
            "invoiceNumber": None,
            "poNumber": None,
            "title": "Invoice",
            "invoiceDate": today,
            "dueDate": None,
            "currency": customer.get("currency") or sandbox.business_currency(business_id),
            "memo": None,
            "status": "SAVED",
            "items": [],
        }
    )
    _apply_invoice(
        sandbox, rec, {**input, "currency": input.get("currency") or rec["currency"]}, items
    )
    if rec["dueDate"] is None:
        rec["dueDate"] = rec["invoiceDate"]
    sandbox.save_new("invoices", rec)
    return _succeed(invoice=rec)


def _invoice_patch(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "invoices", input["id"], None)
    if current is None:
        check.add(("id",), "NOT_FOUND", f"Invoice {input['id']!r} does not exist")
        return check.fail(invoice=None)
    items = _check_invoice(sandbox, check, input, current, sandbox.owner(current))
    if not check.ok:
        return check.fail(invoice=None)
    rec = dict(current)
    given = dict(input)
    if "currency" in given and given["currency"] is None:
        given["currency"] = sandbox.business_currency(sandbox.owner(current))
    _apply_invoice(sandbox, rec, given, items)
    sandbox.save_changed("invoices", rec)
    return _succeed(invoice=rec)


def _invoice_delete(_root: Any, info: GraphQLResolveInfo, input: Record) -> Record:
    sandbox, check = sandbox_of(info), _Check()
    current = _find(sandbox, "invoices", input["invoiceId"], None)
    if current is None:
        check.add(("invoiceId",), "NOT_FOUND", f"Invoice {input['invoiceId']!r} does not exist")
        return check.fail()
    if current.get("status") in PAID_STATUSES:
        check.add(
            ("invoiceId",),
            "INVALID",
            f"Invoice with status {current['status']} has payments and can't be deleted",
        )
        return check.fail()
    sandbox.remove("invoices", current["id"])
    return _succeed()


MUTATION_RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Mutation": {
        "customerCreate": _customer_create,
        "customerPatch": _customer_patch,
        "customerDelete": _customer_delete,
        "productCreate": _product_create,
        "productPatch": _product_patch,
        "productArchive": _product_archive,
        "invoiceCreate": _invoice_create,
        "invoicePatch": _invoice_patch,
        "invoiceDelete": _invoice_delete,
    },
}
