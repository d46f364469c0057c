"""Invoiced's REST API (customers, contacts, invoices with line items, items), emulated.

Faithful to what clients can observe (talk-flows §B.1–B.5 and the official ``invoiced`` Python
client, which must work unchanged against ``client.api_url = <sandbox url>``):

* HTTP Basic auth, API key as user name; 401 otherwise.
* Integer ids, except items whose string id may be chosen on create. UNIX timestamps for
  ``created_at``/``updated_at``/``date``/``due_date``. Currencies are answered in lower case.
* Lists answer a bare JSON array with ``X-Total-Count`` and a ``Link`` header (first/prev/next/
  last, absolute URLs). ``page``/``per_page`` (max 100), ``updated_after`` (inclusive: ``>=``),
  ``filter[field]=value``, ``metadata[key]=value`` and ``sort=field asc|desc``.
* ``Idempotency-Key`` on POST (sent by the official client): a repeated key answers the first
  response again instead of acting twice (the last 1,000 keys, in memory).
* Errors: ``{"type": "invalid_request", "message": ..., "param": ...}`` with 400 (validation),
  404 (not found); 401 ``authentication_error``; 429 ``rate_limit_error`` from a per-key token bucket.

Decisions where the docs are silent (docs/decisions/sandbox.md): unknown parameters are rejected
(400); read-only fields sent back are ignored; create-only fields (item ``unit_cost``/``currency``,
invoice ``customer``...) are accepted on PATCH only when unchanged, a real change is a 400; PATCH
``items`` replaces the lines, keeping the ids of lines sent back with their id.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlencode

from engine.sandbox.base import Field, FieldError, Request, Response, SandboxSystem, validate_fields

__all__ = ["DEFAULT_API_KEY", "InvoicedSandbox"]

DEFAULT_API_KEY = "sk_sandbox_invoiced_0123456789"
MAX_PER_PAGE = 100
DEFAULT_RATE_LIMIT = 50.0
"""Requests per second per API key (bursts up to 100) before a 429 with ``Retry-After: 1``."""
RATE_ENV = "ENGINE_SANDBOX_INVOICED_RATE"
"""Environment variable that overrides :data:`DEFAULT_RATE_LIMIT` for the sandbox process."""
_PAGING = ("page", "per_page")
DEFAULT_CURRENCY = "nok"
IDEMPOTENCY_MEMORY = 1000

_NAMES = {"customers": "Customer", "contacts": "Contact", "invoices": "Invoice", "items": "Item"}

_S, _RO = Field("str"), Field("any", read_only=True)
_TIMESTAMPS = {"created_at": _RO, "updated_at": _RO}
_ADDRESS = {
    "address1": _S,
    "address2": _S,
    "city": _S,
    "state": _S,
    "postal_code": _S,
    "country": Field("country"),
}

CUSTOMER_FIELDS: dict[str, Field] = {
    "id": _RO,
    "object": _RO,
    "name": Field("str", required=True),
    "number": _S,
    "email": _S,
    "type": Field("str", "company", choices=("company", "person")),
    "autopay": Field("bool", False),
    "autopay_delay_days": Field("int"),
    "payment_terms": _S,
    "payment_source": _RO,
    "attention_to": _S,
    **_ADDRESS,
    "language": _S,
    "currency": Field("currency"),
    "chase": Field("bool", True),
    "chasing_cadence": Field("int"),
    "next_chase_step": Field("int"),
    "phone": _S,
    "credit_hold": Field("bool", False),
    "credit_limit": Field("num"),
    "owner": Field("int"),
    "taxable": Field("bool", True),
    "taxes": Field("list", []),
    "tax_id": _S,
    "avalara_entity_use_code": _S,
    "avalara_exemption_number": _S,
    "parent_customer": Field("int"),
    "notes": _S,
    "sign_up_page": Field("int"),
    "sign_up_url": _RO,
    "statement_pdf_url": _RO,
    "ach_gateway": Field("int"),
    "cc_gateway": Field("int"),
    "disabled_payment_methods": Field("list", []),
    "metadata": Field("dict", {}),
    "active": Field("any", True, read_only=True),
    **_TIMESTAMPS,
}
CONTACT_FIELDS: dict[str, Field] = {
    "id": _RO,
    "object": _RO,
    "name": Field("str", required=True),
    "title": _S,
    "email": _S,
    "phone": _S,
    "primary": Field("bool", False),
    "sms_enabled": Field("bool", False),
    "department": _S,
    **_ADDRESS,
    **_TIMESTAMPS,
}
ITEM_FIELDS: dict[str, Field] = {
    "id": _S,
    "object": _RO,
    "name": Field("str", required=True),
    "currency": Field("currency", DEFAULT_CURRENCY),
    "unit_cost": Field("num", 0),
    "description": _S,
    "type": _S,
    "taxable": Field("bool", True),
    "taxes": Field("any", [], read_only=True),
    "avalara_tax_code": _S,
    "avalara_location_code": _S,
    "gl_account": _S,
    "discountable": Field("bool", True),
    "metadata": Field("dict", {}),
    **_TIMESTAMPS,
}
ITEM_CREATE_ONLY = (
    "id",
    "currency",
    "unit_cost",
    "taxable",
    "avalara_tax_code",
    "avalara_location_code",
    "gl_account",
    "discountable",
)
INVOICE_FIELDS: dict[str, Field] = {
    "id": _RO,
    "object": _RO,
    "customer": Field("int", required=True),
    "name": Field("str", "Invoice"),
    "number": _S,
    "autopay": Field("bool", False),
    "currency": Field("currency"),
    "draft": Field("bool", False),
    "closed": Field("bool", False),
    "sent": Field("bool", False),
    "paid": Field("any", False, read_only=True),
    "status": _RO,
    "attempt_count": Field("any", 0, read_only=True),
    "next_payment_attempt": _RO,
    "subscription": _RO,
    "date": Field("int"),
    "due_date": Field("int"),
    "payment_terms": _S,
    "purchase_order": _S,
    "items": Field("list", []),
    "notes": _S,
    "subtotal": _RO,
    "discounts": Field("list", []),
    "taxes": Field("list", []),
    "total": _RO,
    "balance": _RO,
    "ship_to": Field("dict"),
    "payment_plan": _RO,
    "url": _RO,
    "payment_url": _RO,
    "pdf_url": _RO,
    "metadata": Field("dict", {}),
    "attachments": Field("list", []),
    "disabled_payment_methods": Field("list", []),
    "calculate_taxes": Field("bool"),
    **_TIMESTAMPS,
}
INVOICE_CREATE_ONLY = ("customer", "autopay")
LINE_FIELDS: dict[str, Field] = {
    "id": _RO,
    "object": _RO,
    "catalog_item": _S,
    "type": _S,
    "name": _S,
    "description": _S,
    "quantity": Field("num", 1),
    "unit_cost": Field("num", 0),
    "amount": _RO,
    "discountable": Field("bool", True),
    "discounts": Field("list", []),
    "taxable": Field("bool", True),
    "taxes": Field("list", []),
    "plan": _S,
    "metadata": Field("dict", {}),
}
_FIELDS = {
    "customers": CUSTOMER_FIELDS,
    "contacts": CONTACT_FIELDS,
    "items": ITEM_FIELDS,
    "invoices": INVOICE_FIELDS,
}
_CREATE_ONLY = {"items": ITEM_CREATE_ONLY, "invoices": INVOICE_CREATE_ONLY}


class ApiError(Exception):
    """An error answer in Invoiced's shape ``{"type", "message", "param"}``."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "invalid_request", "message": self.message}
        if self.param is not None:
            out["param"] = self.param
        return out


def _validate(
    resource: str,
    body: dict[str, Any],
    current: dict[str, Any],
    *,
    create: bool,
    fields: dict[str, Field] | None = None,
) -> dict[str, Any]:
    try:
        return validate_fields(
            fields or _FIELDS[resource],
            body,
            current,
            create=create,
            create_only=_CREATE_ONLY.get(resource, ()),
            same=_same,
        )
    except FieldError as e:
        raise ApiError(400, e.message, e.field) from None


def _same(name: str, new: Any, old: Any) -> bool:
    if name == "currency" and isinstance(new, str) and isinstance(old, str):
        return new.lower() == old.lower()
    if isinstance(new, int | float | str) and isinstance(old, int | float) and name != "id":
        try:
            return float(new) == float(old)
        except ValueError:
            return False
    return bool(new == old)


def _num(value: Any) -> float | int:
    """Invoiced answers numbers; accept decimal strings on input and store numbers."""
    number = float(value) if isinstance(value, str) else value
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number if isinstance(number, int | float) else 0


def _money(value: float) -> float | int:
    return _num(round(value + 0.0, 2))


def compute_invoice(rec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The read-only invoice fields: amounts, totals, balance, status, urls, default dates."""
    subtotal = discounts = taxes = 0.0
    for line in rec.get("items") or []:
        line["quantity"] = _num(line.get("quantity", 1) if line.get("quantity") is not None else 1)
        line["unit_cost"] = _num(line.get("unit_cost") or 0)
        line["amount"] = _money(line["quantity"] * line["unit_cost"])
        subtotal += line["amount"]
        discounts += sum(float(d.get("amount") or 0) for d in line.get("discounts") or [])
        taxes += sum(float(t.get("amount") or 0) for t in line.get("taxes") or [])
    discounts += sum(float(d.get("amount") or 0) for d in rec.get("discounts") or [])
    taxes += sum(float(t.get("amount") or 0) for t in rec.get("taxes") or [])
    total = _money(subtotal - discounts + taxes)
    date: int = rec["date"] if rec.get("date") is not None else int(now.timestamp())
    due = rec.get("due_date")
    terms = str(rec.get("payment_terms") or "")
    if due is None and terms.upper().startswith("NET ") and terms[4:].strip().isdigit():
        due = date + int(terms[4:].strip()) * 86400
    voided, paid = bool(rec.get("_voided")), bool(rec.get("_paid"))
    if voided:
        status = "voided"
    elif rec.get("draft"):
        status = "draft"
    elif paid:
        status = "paid"
    elif due is not None and due < now.timestamp():
        status = "past_due"
    else:
        status = "sent" if rec.get("sent") else "not_sent"
    currency = rec.get("currency")
    base = f"https://sandbox.invoiced.local/invoices/{rec.get('id')}"
    return {
        "subtotal": _money(subtotal),
        "total": total,
        "date": date,
        "due_date": due,
        "balance": 0 if voided or paid else total,
        "paid": paid,
        "status": status,
        "currency": currency.lower() if isinstance(currency, str) else DEFAULT_CURRENCY,
        "url": base,
        "payment_url": base + "/payment",
        "pdf_url": base + "/pdf",
    }


class _TokenBucket:
    """``rate`` requests per second with bursts up to ``burst``, per API key."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        with self._lock:
            now = time.monotonic()
            tokens, last = self._tokens.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            ok = tokens >= 1.0
            self._tokens[key] = (tokens - 1.0 if ok else tokens, now)
            return ok


class InvoicedSandbox(SandboxSystem):
    """The emulated Invoiced account (one company, one API key)."""

    system_id: ClassVar[str] = "invoiced"
    resources: ClassVar[tuple[str, ...]] = ("customers", "contacts", "invoices", "items")

    def __init__(
        self,
        state_dir: Path | None,
        *,
        clock: Callable[[], datetime] | None = None,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: float | None = None,
        burst: int = 100,
    ) -> None:
        super().__init__(state_dir, clock=clock)
        self.api_key = api_key
        if rate_limit is None:
            # benchmarks that measure the hub rather than this limit raise it (RATE_ENV)
            rate_limit = float(os.environ.get(RATE_ENV) or DEFAULT_RATE_LIMIT)
        self._bucket = _TokenBucket(rate_limit, burst)
        # Idempotency-Key → (request fingerprint, response); recent keys only, in memory
        self._idempotent: OrderedDict[str, tuple[str, Response]] = OrderedDict()

    def credentials(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "auth": "basic (api key as user name, empty password)"}

    def error_body(self, status: int, message: str) -> Any:
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"type": kind, "message": message}

    # ---- request handling -------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        key = self._api_key_of(req)
        if key != self.api_key:
            return Response(401, {"type": "authentication_error", "message": "Invalid API key"})
        if not self._bucket.allow(key):
            return Response(
                429,
                {"type": "rate_limit_error", "message": "Too many requests. Please slow down."},
                {"Retry-After": "1"},
            )
        idem = req.headers.get("idempotency-key") if req.method == "POST" else None
        fingerprint = f"{req.path}\n{req.body!r}"
        with self.lock:
            if idem and idem in self._idempotent:
                seen, resp = self._idempotent[idem]
                if seen != fingerprint:
                    return Response(
                        400,
                        ApiError(
                            400, "This idempotency key was already used with a different request"
                        ).body(),
                    )
                return resp  # a retry of a request that already succeeded: same answer
            try:
                resp = self._route(req)
            except ApiError as e:
                resp = Response(e.status, e.body())
            if idem and resp.status < 500:
                self._idempotent[idem] = (fingerprint, resp)
                while len(self._idempotent) > IDEMPOTENCY_MEMORY:
                    self._idempotent.popitem(last=False)
            return resp

    @staticmethod
    def _api_key_of(req: Request) -> str | None:
        auth = req.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user = base64.b64decode(auth[6:].strip()).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return None
        return user

    def _route(self, req: Request) -> Response:
        parts = [unquote(p) for p in req.path.split("/") if p]  # "SKU%201" → "SKU 1"
        method = req.method
        if not parts or parts[0] not in ("customers", "invoices", "items"):
            raise ApiError(404, "Endpoint does not exist")
        resource = parts[0]
        if resource == "customers" and len(parts) >= 3:
            if parts[2] != "contacts" or len(parts) > 4:
                raise ApiError(404, "Endpoint does not exist")
            customer = self._find("customers", parts[1])
            return self._collection(
                req, "contacts", parts[3] if len(parts) == 4 else None, customer["id"]
            )
        if resource == "invoices" and len(parts) == 3 and parts[2] == "void":
            if method != "POST":
                raise ApiError(405, "Method not allowed")
            return Response(200, self._render("invoices", self._void(parts[1])))
        if len(parts) > 2:
            raise ApiError(404, "Endpoint does not exist")
        return self._collection(req, resource, parts[1] if len(parts) == 2 else None, None)

    def _collection(
        self, req: Request, resource: str, key: str | None, parent: int | None
    ) -> Response:
        method = req.method
        if key is None:
            if method == "GET":
                return self._list(req, resource, parent)
            if method == "POST":
                rec = self._create(resource, self._body(req), parent)
                return Response(201, self._render(resource, rec))
            raise ApiError(405, "Method not allowed")
        rec = self._find(resource, key, parent)
        if method == "GET":
            return Response(200, self._render(resource, rec))
        if method == "PATCH":
            return Response(
                200, self._render(resource, self._update(resource, rec, self._body(req)))
            )
        if method == "DELETE":
            self._delete(resource, rec)
            return Response(204)
        raise ApiError(405, "Method not allowed")

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except ValueError:
            raise ApiError(400, "Request body is not valid JSON") from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return body

    # ---- reading ------------------------------------------------------------------------------

    def _find(self, resource: str, key: str, parent: int | None = None) -> dict[str, Any]:
        lookup: Any = key
        if resource != "items":
            try:
                lookup = int(key)
            except ValueError:
                lookup = None
        rec = self.get(resource, lookup) if lookup is not None else None
        if rec is None or (parent is not None and rec.get("_customer") != parent):
            raise ApiError(404, f"{_NAMES[resource]} was not found", "id")
        return rec

    def _render(self, resource: str, rec: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in rec.items() if not k.startswith("_")}

    def _list(self, req: Request, resource: str, parent: int | None) -> Response:
        query = tuple(sorted((k, tuple(v)) for k, v in req.query.items() if k not in _PAGING))

        def compute(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            rows = [r for r in rows if parent is None or r.get("_customer") == parent]
            return self._apply_filters(req, rows)

        # the same filtered, ordered list serves every page of one listing (base.view)
        rows = self.view(resource, (parent, query), compute)
        page = self._int_param(req, "page", 1, minimum=1)
        per_page = min(self._int_param(req, "per_page", MAX_PER_PAGE, minimum=1), MAX_PER_PAGE)
        total = len(rows)
        last = max(1, math.ceil(total / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {"X-Total-Count": str(total), "Link": self._links(req, page, per_page, last)}
        return Response(200, [self._render(resource, r) for r in chunk], headers)

    @staticmethod
    def _int_param(req: Request, name: str, default: int, *, minimum: int) -> int:
        raw = req.param(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid {name}: {raw!r}", name) from None
        if value < minimum:
            raise ApiError(400, f"{name} must be at least {minimum}", name)
        return value

    def _apply_filters(self, req: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        after = req.param("updated_after")
        if after not in (None, ""):
            cutoff = self._int_param(req, "updated_after", 0, minimum=0)
            # inclusive: stamps have 1 s resolution, and a strict filter would lose an edit made
            # in the same second as the record a client last saw
            rows = [r for r in rows if int(r.get("updated_at") or 0) >= cutoff]
        for name, values in req.query.items():
            for prefix, nested in (("filter[", False), ("metadata[", True)):
                if name.startswith(prefix) and name.endswith("]"):
                    field, want = name[len(prefix) : -1], values[0]
                    rows = [
                        r
                        for r in rows
                        if _matches(
                            (r.get("metadata") or {}).get(field) if nested else r.get(field), want
                        )
                    ]
        sort = (req.param("sort") or "").strip()
        if sort:
            field, _, direction = sort.partition(" ")
            rows = sorted(
                rows,
                key=lambda r: _sort_key(r.get(field)),
                reverse=direction.strip().lower() == "desc",
            )
        return rows

    @staticmethod
    def _links(req: Request, page: int, per_page: int, last: int) -> str:
        host = req.headers.get("host", "127.0.0.1")
        base_query = [
            (k, v) for k, vs in req.query.items() for v in vs if k not in ("page", "per_page")
        ]

        def url(p: int) -> str:
            query = urlencode([*base_query, ("page", p), ("per_page", per_page)])
            return f"http://{host}{req.path}?{query}"

        links = [("first", 1)]
        if page > 1:
            links.append(("prev", min(page - 1, last)))
        if page < last:
            links.append(("next", page + 1))
        links.append(("last", last))
        return ", ".join(f'<{url(p)}>; rel="{rel}"' for rel, p in links)

    # ---- writing ------------------------------------------------------------------------------

    def _stamp(self) -> int:
        return int(self.tick().timestamp())

    def _create(self, resource: str, body: dict[str, Any], parent: int | None) -> dict[str, Any]:
        now = self._stamp()
        if resource == "customers":
            rec = _validate("customers", body, {}, create=True)
            rec["id"] = self.new_id("customers")
            self._check_unique_number(rec)
        elif resource == "contacts":
            rec = _validate("contacts", body, {}, create=True)
            rec["id"], rec["_customer"] = self.new_id("contacts"), parent
        elif resource == "items":
            rec = _validate("items", body, {}, create=True)
            if rec.get("id") is not None and self.get("items", rec["id"]) is not None:
                raise ApiError(400, f"An item with ID '{rec['id']}' already exists", "id")
        else:
            rec = _validate("invoices", body, {}, create=True)
            rec["id"] = self.new_id("invoices")
            self._fill_invoice(rec, body.get("items"), {})
        rec["created_at"] = rec["updated_at"] = now
        rec = self.complete_loaded(resource, rec)
        self.put(resource, rec)
        return rec

    def _update(self, resource: str, rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        changes = _validate(resource, body, rec, create=False)
        new = {**rec, **changes}
        if isinstance(new.get("currency"), str):
            new["currency"] = new["currency"].lower()
        if resource == "customers" and "number" in changes:
            self._check_unique_number(new)
        if resource == "invoices":
            if rec.get("status") == "voided":
                raise ApiError(400, "This invoice has been voided and can no longer be modified")
            if "items" in body:
                self._fill_invoice(new, body.get("items"), rec)
            else:
                new.update(compute_invoice(new, self.now()))
        new["updated_at"] = self._stamp()
        self.put(resource, new)
        return new

    def _delete(self, resource: str, rec: dict[str, Any]) -> None:
        if resource == "customers":
            for child in ("contacts", "invoices"):
                key = "_customer" if child == "contacts" else "customer"
                for row in [r for r in self.all(child) if r.get(key) == rec["id"]]:
                    self.remove(child, row["id"])
        self.remove(resource, rec["id"])

    def _void(self, key: str) -> dict[str, Any]:
        rec = self._find("invoices", key)
        if rec.get("status") == "voided":
            raise ApiError(400, "This invoice has already been voided")
        new = {**rec, "_voided": True, "closed": True}
        new.update(compute_invoice(new, self.now()))
        new["updated_at"] = self._stamp()
        self.put("invoices", new)
        return new

    def _check_unique_number(self, rec: dict[str, Any]) -> None:
        number = rec.get("number")
        if number is None:
            rec["number"] = f"CUST-{rec['id']:05d}"
            return
        for other in self.all("customers"):
            if other.get("number") == number and other["id"] != rec["id"]:
                raise ApiError(
                    400, f"The given customer number '{number}' has already been taken", "number"
                )

    def _fill_invoice(self, rec: dict[str, Any], items: Any, old: dict[str, Any]) -> None:
        customer = self.get("customers", rec.get("customer"))
        if customer is None:
            raise ApiError(400, f"No such customer: {rec.get('customer')}", "customer")
        for inherit in ("payment_terms", "currency", "autopay"):
            if rec.get(inherit) is None and inherit not in old:
                rec[inherit] = customer.get(inherit)
        rec["items"] = self._lines(items if items is not None else [], old.get("items") or [])
        if rec.get("number") is None:
            rec["number"] = f"INV-{rec['id']:05d}"
        rec.update(compute_invoice(rec, self.now()))

    def _lines(self, items: Any, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise ApiError(400, "items must be an array", "items")
        known = {line["id"]: line for line in old}
        lines = []
        for raw in items:
            if not isinstance(raw, dict):
                raise ApiError(400, "Each line item must be an object", "items")
            line_id = raw.get("id")
            if line_id is not None and line_id not in known:
                raise ApiError(400, f"No such line item: {line_id}", "items")
            base = dict(known[line_id]) if line_id is not None else {}
            line = {
                **base,
                **_validate("lines", raw, base, create=line_id is None, fields=LINE_FIELDS),
            }
            catalog = line.get("catalog_item")
            if catalog is not None and line_id is None:
                item = self.get("items", catalog)
                if item is None:
                    raise ApiError(400, f"No such item: {catalog}", "items")
                for src, dst in (
                    ("name", "name"),
                    ("unit_cost", "unit_cost"),
                    ("type", "type"),
                    ("description", "description"),
                ):
                    if line.get(dst) is None:
                        line[dst] = item.get(src)
            if line_id is None:
                line["id"] = self.new_id("invoices.lines")
            line["object"] = "line_item"
            lines.append(line)
        return lines

    def auto_id(self, resource: str) -> bool:
        return resource != "items"  # item ids are strings, made in complete_loaded

    def complete_loaded(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """Give seed records (and created ones) every field the API would show."""
        now = int(self.now().timestamp())
        fields = _FIELDS[resource]
        if resource == "contacts" and "customer" in record:
            record["_customer"] = record.pop("customer")
        if resource == "items" and record.get("id") is None:
            record["id"] = f"item-{self.new_id('items')}"
            while self.get("items", record["id"]) is not None:  # a client chose that id
                record["id"] = f"item-{self.new_id('items')}"
        for name, spec in fields.items():
            if name not in record and name not in ("id", "created_at", "updated_at"):
                record[name] = copy.deepcopy(spec.default)
        for key in ("currency",):
            if isinstance(record.get(key), str):
                record[key] = record[key].lower()
        record["object"] = {
            "customers": "customer",
            "contacts": "contact",
            "items": "item",
            "invoices": "invoice",
        }[resource]
        if record.get("created_at") is None:
            record["created_at"] = now
        if record.get("updated_at") is None:
            record["updated_at"] = record["created_at"]
        if resource == "customers" and record.get("id") is not None:
            if record.get("number") is None:
                record["number"] = f"CUST-{record['id']:05d}"
            record.setdefault("active", True)
            record["statement_pdf_url"] = (
                f"https://sandbox.invoiced.local/statements/{record['id']}"
            )
        if resource == "invoices" and record.get("id") is not None:
            if record.get("number") is None:
                record["number"] = f"INV-{record['id']:05d}"
            for line in record.get("items") or []:
                line["object"] = "line_item"
                for name, spec in LINE_FIELDS.items():
                    if name != "id":
                        line.setdefault(name, copy.deepcopy(spec.default))
                if line.get("id") is None:
                    line["id"] = self.new_id("invoices.lines")
                else:
                    self._bump_counter("invoices.lines", line["id"])
            record.update(compute_invoice(record, self.now()))
        return record


def _matches(value: Any, want: str) -> bool:
    if isinstance(value, bool):
        return want.lower() in ("1", "true") if value else want.lower() in ("0", "false")
    if value is None:
        return want == ""
    return str(value).lower() == want.lower() if isinstance(value, str) else str(value) == want


def _sort_key(value: Any) -> tuple[int, str]:
    if value is None:
        return (0, "")
    if isinstance(value, int | float):
        return (1, f"{value:030.6f}")
    return (2, json.dumps(value, ensure_ascii=False))
