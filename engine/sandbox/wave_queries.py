"""Read-side resolvers of the Wave sandbox: stored flat records → Wave's GraphQL object graph.

Records are stored flat (``customerId``, ``productId``, ``currency: "NOK"``, ``address.countryCode``)
because that is what seeds and state files hold; the GraphQL types nest (``customer { id }``,
``currency { code symbol }``, ``address { country { code name } }``). Resolvers return the stored
dicts themselves and only fields whose shape differs get a resolver, so the default resolver
(dict key = field name) does the rest. Lists are offset-paged like Wave's (``page``/``pageSize``
→ ``pageInfo { currentPage totalPages totalCount }``), with a stable tie-break on creation order
so that paging through an unchanged list never skips or repeats a record.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError, GraphQLResolveInfo

from engine.sandbox.wave_values import (
    ACCOUNT_SUBTYPES,
    country_node,
    currency_node,
    money,
    parse_datetime,
    parse_decimal,
    province_node,
)

if TYPE_CHECKING:
    from engine.sandbox.wave import WaveSandbox

__all__ = ["QUERY_RESOLVERS", "invoice_total", "item_amount", "paginate", "sandbox_of"]

Record = dict[str, Any]
Resolver = Callable[..., Any]

OPEN_STATUSES = frozenset({"SAVED", "SENT", "VIEWED", "UNPAID", "OVERDUE", "PARTIAL"})


def sandbox_of(info: GraphQLResolveInfo) -> WaveSandbox:
    """The sandbox serving this request (passed as the GraphQL context value)."""
    return cast("WaveSandbox", info.context)


def business_number(business_id: str) -> int:
    """The ``n`` of an id ``base64("Business:n...")``; 1 when the id is not of that shape."""
    try:
        raw = base64.b64decode(business_id, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return 1
    head = raw.split(";", 1)[0]
    if head.startswith("Business:") and head[len("Business:") :].isdigit():
        return int(head[len("Business:") :])
    return 1


# ---- paging and ordering -------------------------------------------------------------------


def paginate(records: list[Record], page: int, page_size: int) -> Record:
    """A Wave connection (``pageInfo`` + ``edges``) over one page of ``records``."""
    if page < 1:
        raise GraphQLError(f"page must be at least 1, got {page}")
    if page_size < 1:
        raise GraphQLError(f"pageSize must be at least 1, got {page_size}")
    total = len(records)
    start = (page - 1) * page_size
    return {
        "pageInfo": {
            "currentPage": page,
            "totalPages": max(1, math.ceil(total / page_size)),
            "totalCount": total,
        },
        "edges": [{"node": rec} for rec in records[start : start + page_size]],
    }


def _moment(text: Any) -> datetime:
    return parse_datetime(text) if isinstance(text, str) else datetime.min.replace(tzinfo=UTC)


def _sort_key(field: str, rec: Record) -> Any:
    value = rec.get(field)
    if field in ("createdAt", "modifiedAt"):
        return _moment(value)  # datetimes, not float seconds: µs must not round into ties
    if isinstance(value, str):
        return value.casefold()
    return ""


SORT_FIELDS = {
    "CREATED_AT": "createdAt",
    "MODIFIED_AT": "modifiedAt",
    "NAME": "name",
    "INVOICE_DATE": "invoiceDate",
    "INVOICE_NUMBER": "invoiceNumber",
}


def sort_records(records: list[Record], sort: Iterable[str]) -> list[Record]:
    """Order by the Wave sort keys (first key most significant), ties in insertion order."""
    ordered = list(records)  # insertion order is the final tie-break (sorts are stable)
    for key in reversed(list(sort)):
        name, _, direction = key.rpartition("_")
        field = SORT_FIELDS[name]
        ordered.sort(key=partial(_sort_key, field), reverse=direction == "DESC")
    return ordered


def _modified_after(records: list[Record], after: datetime | None) -> list[Record]:
    if after is None:
        return records
    return [r for r in records if _moment(r.get("modifiedAt")) > after]


# ---- Query ---------------------------------------------------------------------------------


def _resolve_user(_root: Any, info: GraphQLResolveInfo) -> Record:
    return sandbox_of(info).user_record()


def _resolve_businesses(_root: Any, info: GraphQLResolveInfo, page: int, pageSize: int) -> Record:
    return paginate(sandbox_of(info).all("businesses"), page, pageSize)


def _resolve_business(_root: Any, info: GraphQLResolveInfo, id: str) -> Record:
    business = sandbox_of(info).get("businesses", id)
    if business is None:
        raise GraphQLError(f"Business {id!r} not found")
    return business


def _resolve_currency(_root: Any, _info: GraphQLResolveInfo, code: str) -> Record:
    return currency_node(code)


def _resolve_country(_root: Any, _info: GraphQLResolveInfo, code: str) -> Record:
    return country_node(code)


# ---- Business ------------------------------------------------------------------------------


def _owned(info: GraphQLResolveInfo, business: Record, resource: str) -> list[Record]:
    return sandbox_of(info).owned(resource, business["id"])


def _one(info: GraphQLResolveInfo, business: Record, resource: str, key: str) -> Record | None:
    sandbox = sandbox_of(info)
    rec = sandbox.get(resource, key)
    if rec is None or sandbox.owner(rec) != business["id"]:
        return None
    return rec


def _business_currency(business: Record, _info: GraphQLResolveInfo) -> Record:
    return currency_node(business.get("currency") or "USD")


def _business_customers(
    business: Record,
    info: GraphQLResolveInfo,
    page: int,
    pageSize: int,
    sort: list[str],
    email: str | None = None,
    modifiedAtAfter: datetime | None = None,
) -> Record:
    def compute(_: list[Record]) -> list[Record]:
        records = _modified_after(_owned(info, business, "customers"), modifiedAtAfter)
        if email is not None:
            records = [r for r in records if (r.get("email") or "").casefold() == email.casefold()]
        return sort_records(records, sort)

    key = (business["id"], modifiedAtAfter, email, tuple(sort))
    return paginate(sandbox_of(info).view("customers", key, compute), page, pageSize)


def _business_products(
    business: Record,
    info: GraphQLResolveInfo,
    page: int,
    pageSize: int,
    sort: list[str],
    isSold: bool | None = None,
    isBought: bool | None = None,
    isArchived: bool | None = None,
    modifiedAtAfter: datetime | None = None,
) -> Record:
    flags = (("isSold", isSold), ("isBought", isBought), ("isArchived", isArchived))

    def compute(_: list[Record]) -> list[Record]:
        records = _modified_after(_owned(info, business, "products"), modifiedAtAfter)
        for field, wanted in flags:
            if wanted is not None:
                records = [r for r in records if bool(r.get(field)) == wanted]
        return sort_records(records, sort)

    key = (business["id"], modifiedAtAfter, flags, tuple(sort))
    return paginate(sandbox_of(info).view("products", key, compute), page, pageSize)


def _business_invoices(
    business: Record,
    info: GraphQLResolveInfo,
    page: int,
    pageSize: int,
    sort: list[str],
    status: str | None = None,
    customerId: str | None = None,
    invoiceNumber: str | None = None,
    modifiedAtAfter: datetime | None = None,
) -> Record:
    wanted_fields = (
        ("status", status),
        ("customerId", customerId),
        ("invoiceNumber", invoiceNumber),
    )

    def compute(_: list[Record]) -> list[Record]:
        records = _modified_after(_owned(info, business, "invoices"), modifiedAtAfter)
        for field, wanted in wanted_fields:
            if wanted is not None:
                records = [r for r in records if r.get(field) == wanted]
        return sort_records(records, sort)

    # the same filtered, ordered list serves every page of one listing (base.view)
    key = (business["id"], modifiedAtAfter, wanted_fields, tuple(sort))
    return paginate(sandbox_of(info).view("invoices", key, compute), page, pageSize)


def _business_accounts(
    business: Record,
    info: GraphQLResolveInfo,
    page: int,
    pageSize: int,
    subtypes: list[str] | None = None,
    types: list[str] | None = None,
    isArchived: bool | None = None,
) -> Record:
    records = _owned(info, business, "accounts")
    if subtypes is not None:
        records = [r for r in records if r.get("subtype") in subtypes]
    if types is not None:
        records = [r for r in records if _account_type_value(r) in types]
    if isArchived is not None:
        records = [r for r in records if bool(r.get("isArchived")) == isArchived]
    return paginate(records, page, pageSize)


# ---- Account -------------------------------------------------------------------------------


def _account_type_value(account: Record) -> str:
    return ACCOUNT_SUBTYPES.get(account.get("subtype") or "", ("", "INCOME"))[1]


def _account_type(account: Record, _info: GraphQLResolveInfo) -> Record:
    value = _account_type_value(account)
    return {"name": value.capitalize(), "value": value}


def _account_subtype(account: Record, info: GraphQLResolveInfo) -> Record:
    subtype = account.get("subtype") or "INCOME"
    name = ACCOUNT_SUBTYPES.get(subtype, (subtype, "INCOME"))[0]
    return {"name": name, "value": subtype, "type": _account_type(account, info)}


def _account_currency(account: Record, info: GraphQLResolveInfo) -> Record:
    return currency_node(account.get("currency") or _business_of(account, info)["currency"])


def _business_of(rec: Record, info: GraphQLResolveInfo) -> Record:
    sandbox = sandbox_of(info)
    business = sandbox.get("businesses", sandbox.owner(rec))
    if business is None:
        raise GraphQLError(f"business of {rec.get('id')!r} not found")
    return business


# ---- Customer, Address -----------------------------------------------------------------------


def _customer_currency(customer: Record, info: GraphQLResolveInfo) -> Record:
    return currency_node(customer.get("currency") or _business_of(customer, info)["currency"])


def _customer_amounts(customer: Record, info: GraphQLResolveInfo, overdue: bool) -> Record:
    sandbox = sandbox_of(info)
    today = sandbox.now().date()
    total = Decimal(0)
    for invoice in sandbox.owned("invoices", sandbox.owner(customer)):
        if invoice.get("customerId") != customer["id"] or invoice.get("status") not in (
            OPEN_STATUSES
        ):
            continue
        if overdue and date.fromisoformat(invoice.get("dueDate") or "9999-12-31") >= today:
            continue
        total += invoice_total(invoice)
    return money(total, _customer_currency(customer, info)["code"])


def _address_province(address: Record, _info: GraphQLResolveInfo) -> Record | None:
    code = address.get("provinceCode")
    return province_node(code) if code else None


def _address_country(address: Record, _info: GraphQLResolveInfo) -> Record | None:
    code = address.get("countryCode")
    return country_node(code) if code else None


# ---- Product -------------------------------------------------------------------------------


def _product_account(product: Record, info: GraphQLResolveInfo, field: str) -> Record | None:
    key = product.get(field)
    return sandbox_of(info).get("accounts", key) if key else None


# ---- Invoice and its items ---------------------------------------------------------------------


def item_amount(item: Record) -> Decimal:
    """Quantity × unit price of one stored invoice line."""
    return parse_decimal(item.get("quantity") or "0") * parse_decimal(item.get("unitPrice") or "0")


def invoice_total(invoice: Record) -> Decimal:
    """The sum of the invoice's lines (the sandbox has no sales taxes or discounts)."""
    return sum((item_amount(i) for i in invoice.get("items") or []), Decimal(0))


def _invoice_currency_code(invoice: Record, info: GraphQLResolveInfo) -> str:
    return str(invoice.get("currency") or _business_of(invoice, info)["currency"])


def _invoice_customer(invoice: Record, info: GraphQLResolveInfo) -> Record:
    customer = sandbox_of(info).get("customers", invoice.get("customerId"))
    if customer is None:
        raise GraphQLError(f"customer {invoice.get('customerId')!r} of invoice not found")
    return customer


def _invoice_items(invoice: Record, info: GraphQLResolveInfo) -> list[Record]:
    code = _invoice_currency_code(invoice, info)
    return [{**item, "_currency": code} for item in invoice.get("items") or []]


def _invoice_money(field: str) -> Resolver:
    def resolve(invoice: Record, info: GraphQLResolveInfo) -> Record:
        code = _invoice_currency_code(invoice, info)
        total = invoice_total(invoice)
        paid = total if invoice.get("status") == "PAID" else Decimal(0)
        amounts = {
            "total": total,
            "amountPaid": paid,
            "amountDue": total - paid,
            "taxTotal": Decimal(0),
        }
        return money(amounts[field], code)

    return resolve


def _invoice_url(kind: str) -> Resolver:
    def resolve(invoice: Record, _info: GraphQLResolveInfo) -> str:
        return f"https://sandbox.waveapps.invalid/invoice/{kind}/{invoice['id']}"

    return resolve


def _item_product(item: Record, info: GraphQLResolveInfo) -> Record:
    product = sandbox_of(info).get("products", item.get("productId"))
    if product is None:
        raise GraphQLError(f"product {item.get('productId')!r} of invoice item not found")
    return product


def _item_account(item: Record, info: GraphQLResolveInfo) -> Record | None:
    product = sandbox_of(info).get("products", item.get("productId"))
    return _product_account(product, info, "incomeAccountId") if product else None


def _item_money(item: Record, _info: GraphQLResolveInfo) -> Record:
    return money(item_amount(item), item["_currency"])


def _field(name: str, default: Any = None) -> Resolver:
    """A resolver reading another stored key (``price`` is stored as ``unitPrice``)."""

    def resolve(rec: Record, _info: GraphQLResolveInfo) -> Any:
        value = rec.get(name)
        return default if value is None else value

    return resolve


QUERY_RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "user": _resolve_user,
        "businesses": _resolve_businesses,
        "business": _resolve_business,
        "currency": _resolve_currency,
        "country": _resolve_country,
    },
    "Business": {
        "currency": _business_currency,
        "isPersonal": _field("isPersonal", False),
        "isClassicAccounting": _field("isClassicAccounting", False),
        "isClassicInvoicing": _field("isClassicInvoicing", False),
        "isArchived": _field("isArchived", False),
        "customer": lambda b, info, id: _one(info, b, "customers", id),
        "customers": _business_customers,
        "product": lambda b, info, id: _one(info, b, "products", id),
        "products": _business_products,
        "invoice": lambda b, info, id: _one(info, b, "invoices", id),
        "invoices": _business_invoices,
        "account": lambda b, info, id: _one(info, b, "accounts", id),
        "accounts": _business_accounts,
    },
    "Account": {
        "type": _account_type,
        "subtype": _account_subtype,
        "currency": _account_currency,
        "isArchived": _field("isArchived", False),
        "business": _business_of,
    },
    "Customer": {
        "business": _business_of,
        "currency": _customer_currency,
        "outstandingAmount": lambda c, info: _customer_amounts(c, info, overdue=False),
        "overdueAmount": lambda c, info: _customer_amounts(c, info, overdue=True),
        "isArchived": _field("isArchived", False),
    },
    "Address": {"province": _address_province, "country": _address_country},
    "Product": {
        "business": _business_of,
        "incomeAccount": lambda p, info: _product_account(p, info, "incomeAccountId"),
        "expenseAccount": lambda p, info: _product_account(p, info, "expenseAccountId"),
        "defaultSalesTaxes": lambda _p, _info: [],
        "isSold": _field("isSold", False),
        "isBought": _field("isBought", False),
        "isArchived": _field("isArchived", False),
    },
    "Invoice": {
        "business": _business_of,
        "customer": _invoice_customer,
        "currency": lambda inv, info: currency_node(_invoice_currency_code(inv, info)),
        "exchangeRate": _field("exchangeRate", "1"),
        "items": _invoice_items,
        "total": _invoice_money("total"),
        "amountDue": _invoice_money("amountDue"),
        "amountPaid": _invoice_money("amountPaid"),
        "taxTotal": _invoice_money("taxTotal"),
        "pdfUrl": _invoice_url("pdf"),
        "viewUrl": _invoice_url("view"),
    },
    "InvoiceItem": {
        "product": _item_product,
        "price": _field("unitPrice"),
        "account": _item_account,
        "subtotal": _item_money,
        "total": _item_money,
    },
}
