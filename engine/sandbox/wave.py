"""The Wave sandbox: Wave's public GraphQL endpoint (``POST /graphql/public``) on 127.0.0.1.

It speaks the subset of Wave's API that Sesam Talk's Wave connector used, with Wave's names, so a
standard GraphQL client (introspection included) works against it unchanged:

* one endpoint, ``POST /graphql/public`` with ``{"query", "variables", "operationName"}``;
* ``Authorization: Bearer <token>`` or HTTP 401;
* GraphQL syntax, validation and execution errors as standard ``{"errors": [...]}`` (HTTP 200,
  like Wave); mutation input problems as ``didSucceed: false`` + ``inputErrors`` (HTTP 200);
* opaque base64 ids (``base64("Business:1;Customer:7")``), decimals as strings.

Records are stored flat per resource (``businesses``, ``accounts``, ``customers``, ``products``,
``invoices``) in the shapes the seed generator writes; the schema module maps them to Wave's
nested types. One business with a small chart of income/expense accounts exists from the first
start, because every Wave query and mutation is scoped by a ``businessId``. Records without a
``businessId`` key belong to that default business. Each request runs under the sandbox lock,
so a mutation's validate-then-write is atomic with respect to other requests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from graphql import DocumentNode, ExecutionResult, GraphQLError, execute_sync, parse, validate

from engine.sandbox.base import Request, Response, SandboxSystem, iso_z, wave_id
from engine.sandbox.wave_queries import business_number
from engine.sandbox.wave_schema import wave_schema

__all__ = ["DEFAULT_TOKEN", "ENDPOINT", "WaveSandbox"]

ENDPOINT = "/graphql/public"
DEFAULT_TOKEN = "wave-sandbox-token"

# (name, subtype) of the chart of accounts a new business starts with.
_DEFAULT_ACCOUNTS = (
    ("Sales", "INCOME"),
    ("Consulting Income", "INCOME"),
    ("Other Income", "OTHER_INCOME"),
    ("Cost of Goods Sold", "COST_OF_GOODS_SOLD"),
    ("Office Supplies", "EXPENSE"),
)

Record = dict[str, Any]


@lru_cache(maxsize=256)
def _prepared(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """The parsed and validated query document, or the errors that stop it (as graphql_sync).

    A client sends the same few query texts again and again (one per operation, values in
    variables); parsing and validating each against the schema cost more than executing it.
    """
    try:
        document = parse(query)
    except GraphQLError as e:
        return None, (e,)
    errors = validate(wave_schema(), document)
    return (None, tuple(errors)) if errors else (document, ())


class WaveSandbox(SandboxSystem):
    """Wave (waveapps.com) emulated as a GraphQL server over an in-memory, persisted store."""

    system_id: ClassVar[str] = "wave"
    resources: ClassVar[tuple[str, ...]] = (
        "businesses",
        "accounts",
        "customers",
        "products",
        "invoices",
    )
    _KINDS: ClassVar[dict[str, str]] = {
        "businesses": "Business",
        "accounts": "Account",
        "customers": "Customer",
        "products": "Product",
        "invoices": "Invoice",
    }

    def __init__(
        self,
        state_dir: Path | None,
        *,
        clock: Callable[[], datetime] | None = None,
        token: str = DEFAULT_TOKEN,
    ) -> None:
        self._numbers: dict[str, dict[str, set[str]]] | None = None  # see _invoice_numbers
        super().__init__(state_dir, clock=clock)
        self.token = token
        self._ensure_business()

    # ---- SandboxSystem -------------------------------------------------------------------

    def credentials(self) -> dict[str, Any]:
        """The bearer token, the business every request is scoped by, and its sales account.

        ``income_account_id`` is the business's first INCOME account: a product needs one to
        be sold (used on invoices), and a tenant's configuration names it (talk-flows D.15).
        """
        income = next(
            (
                a["id"]
                for a in self.records("accounts")
                if a.get("subtype") == "INCOME"
                and a.get("businessId", self.default_business_id) == self.default_business_id
            ),
            None,
        )
        return {
            "token": self.token,
            "business_id": self.default_business_id,
            "income_account_id": income,
        }

    def handle(self, req: Request) -> Response:
        """Serve ``POST /graphql/public``; every other path is 404, other methods 405."""
        if req.path.rstrip("/") != ENDPOINT:
            return Response(404, self.error_body(404, f"no such endpoint {req.path!r}"))
        if req.method != "POST":
            return Response(405, self.error_body(405, "use POST"), {"Allow": "POST"})
        scheme, _, token = req.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:  # schemes ignore case
            return Response(
                401,
                self.error_body(401, "Invalid or missing access token"),
                {"WWW-Authenticate": 'Bearer realm="wave-sandbox"'},
            )
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            return Response(400, self.error_body(400, "request body is not valid JSON"))
        problem = _request_problem(body)
        if problem:
            return Response(400, self.error_body(400, problem))
        document, errors = _prepared(body["query"])
        if document is None:
            return Response(200, _result_body(ExecutionResult(None, list(errors))))
        with self.lock:
            result = execute_sync(
                wave_schema(),
                document,
                context_value=self,
                variable_values=body.get("variables"),
                operation_name=body.get("operationName"),
            )
        return Response(200, _result_body(result))

    def error_body(self, status: int, message: str) -> Any:
        """A GraphQL-shaped error body for non-200 answers (also used by injected faults)."""
        code = {
            400: "BAD_REQUEST",
            401: "UNAUTHENTICATED",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            429: "RATE_LIMITED",
        }.get(status, "INTERNAL_ERROR")
        return {"errors": [{"message": message, "extensions": {"code": code}}]}

    def reset(self) -> None:
        """Forget every record; the default business and its accounts come back at once."""
        with self.lock:
            self._numbers = None
            super().reset()
            self._ensure_business()

    def auto_id(self, resource: str) -> bool:
        """Seeds without an id get an opaque Wave id in :meth:`complete_loaded`, not an int."""
        return False

    def complete_loaded(self, resource: str, record: Record) -> Record:
        """Give seed records a Wave id, timestamps and the flags Wave derives, when missing."""
        if record.get("id") is None:
            business = record.get("businessId") or self.default_business_id
            record["id"] = self.new_wave_id(resource, self._KINDS[resource], business)
        if resource in ("customers", "products", "invoices", "businesses"):
            stamp = iso_z(self.now())
            record.setdefault("createdAt", stamp)
            record.setdefault("modifiedAt", record["createdAt"])
        if resource in ("customers", "products", "accounts", "businesses"):
            record.setdefault("isArchived", False)
        if resource == "products":
            record.setdefault("isSold", record.get("incomeAccountId") is not None)
            record.setdefault("isBought", record.get("expenseAccountId") is not None)
        if resource == "invoices":
            record.setdefault("items", [])
        return record

    # ---- helpers the resolvers use ---------------------------------------------------------

    @property
    def default_business_id(self) -> str:
        """The business records without a ``businessId`` belong to (the first one stored)."""
        with self.lock:
            businesses = self.all("businesses")
            return str(businesses[0]["id"]) if businesses else wave_id("Business", 1)

    def owner(self, record: Record) -> str:
        """The id of the business a stored record belongs to."""
        return str(record.get("businessId") or self.default_business_id)

    def owned(self, resource: str, business_id: str) -> list[Record]:
        """The live records of ``resource`` that belong to ``business_id``, in insertion order."""
        default = self.default_business_id
        return [r for r in self.all(resource) if (r.get("businessId") or default) == business_id]

    def business_currency(self, business_id: str) -> str:
        """The home currency of a business (``NOK`` for the default one)."""
        business = self.get("businesses", business_id)
        return str((business or {}).get("currency") or "NOK")

    def user_record(self) -> Record:
        """The user the access token belongs to."""
        created = min((b.get("createdAt") or "" for b in self.all("businesses")), default="")
        return {
            "id": wave_id("User", 1),
            "defaultEmail": "owner@sandbox.example",
            "firstName": "Sandbox",
            "lastName": "Owner",
            "createdAt": created or None,
            "modifiedAt": created or None,
        }

    def new_wave_id(self, resource: str, kind: str, business_id: str) -> str:
        """A fresh opaque id for ``resource``; skips numbers already taken (e.g. by seeds)."""
        with self.lock:
            number = business_number(business_id)
            while True:
                n = self.new_id(resource)
                # a business id is base64("Business:n"): its own number goes in the business slot
                key = (
                    wave_id(kind, 0, business=n)
                    if kind == "Business"
                    else wave_id(kind, n, business=number)
                )
                if self.get(resource, key) is None:
                    return key

    def next_invoice_number(self, business_id: str) -> str:
        """One more than the highest numeric invoice number of the business (Wave's default)."""
        numbers = [int(n) for n in self._invoice_numbers().get(business_id, {}) if n.isdigit()]
        return str(max(numbers, default=0) + 1)

    def invoices_numbered(self, business_id: str, number: str) -> set[str]:
        """The ids of the business's invoices that carry ``number`` (uniqueness checks)."""
        return set(self._invoice_numbers().get(business_id, {}).get(number, set()))

    def _invoice_numbers(self) -> dict[str, dict[str, set[str]]]:
        """business id → invoice number → invoice ids, kept up to date by :meth:`put`.

        Why: every invoice create checks its number and picks the next one; scanning every
        invoice for that made a bulk load quadratic (1.5M invoices at TPC-H SF 1).
        """
        with self.lock:
            if self._numbers is None:
                self._numbers = {}
                for rec in self.all("invoices"):
                    self._number_index(rec, add=True)
            return self._numbers

    def _number_index(self, rec: Record | None, *, add: bool) -> None:
        number = (rec or {}).get("invoiceNumber")
        if self._numbers is None or rec is None or not isinstance(number, str):
            return
        ids = self._numbers.setdefault(self.owner(rec), {}).setdefault(number, set())
        if add:
            ids.add(str(rec["id"]))
        else:
            ids.discard(str(rec["id"]))
            if not ids:
                del self._numbers[self.owner(rec)][number]

    def put(self, resource: str, record: Record) -> None:
        with self.lock:
            if resource == "invoices":
                self._number_index(self.get(resource, record["id"]), add=False)
                self._number_index(record, add=True)
            super().put(resource, record)

    def remove(self, resource: str, key: Any) -> Record | None:
        with self.lock:
            removed = super().remove(resource, key)
            if resource == "invoices":
                self._number_index(removed, add=False)
            return removed

    def load_records(self, resource: str, records: list[Record]) -> None:
        with self.lock:
            self._numbers = None  # rebuilt on first use
            super().load_records(resource, records)

    def save_new(self, resource: str, record: Record) -> None:
        """Store a record created through the API: ``createdAt`` = ``modifiedAt`` = now."""
        stamp = iso_z(self.tick())
        record["createdAt"] = stamp
        record["modifiedAt"] = stamp
        self.put(resource, record)

    def save_changed(self, resource: str, record: Record) -> None:
        """Store a changed record: ``modifiedAt`` moves on every write, ``createdAt`` stays."""
        record["modifiedAt"] = iso_z(self.tick())
        self.put(resource, record)

    # ---- internals -------------------------------------------------------------------------

    def _ensure_business(self) -> None:
        with self.lock:
            if self.all("businesses"):
                return
            stamp = iso_z(self.tick())
            business_id = wave_id("Business", 1)
            self.put(
                "businesses",
                {
                    "id": business_id,
                    "name": "Sandbox Business AS",
                    "currency": "NOK",
                    "timezone": "Europe/Oslo",
                    "isPersonal": False,
                    "isArchived": False,
                    "createdAt": stamp,
                    "modifiedAt": stamp,
                },
            )
            for name, subtype in _DEFAULT_ACCOUNTS:
                self.put(
                    "accounts",
                    {
                        "id": self.new_wave_id("accounts", "Account", business_id),
                        "name": name,
                        "subtype": subtype,
                    },
                )


def _request_problem(body: Any) -> str | None:
    """Why a GraphQL-over-HTTP request body is malformed, or ``None`` if it is fine."""
    if not isinstance(body, dict):
        return "expected a JSON object with 'query'"
    if not isinstance(body.get("query"), str):
        return "expected 'query' to be a string"
    if body.get("variables") is not None and not isinstance(body["variables"], dict):
        return "expected 'variables' to be an object"
    if body.get("operationName") is not None and not isinstance(body["operationName"], str):
        return "expected 'operationName' to be a string"
    return None


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [dict(e.formatted) for e in result.errors]
    if result.data is not None or not result.errors:
        body["data"] = result.data
    return body
