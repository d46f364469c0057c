"""The REST conventions shared by our three Custom systems (talk-flows §C.2).

Each custom system is a table of :class:`ResourceSpec` plus a naming style; this module turns it
into an API:

* ``GET /<resource>?updated_since=ISO&page=N&per_page=M`` answers
  ``{"data": [...], "page": N, "per_page": M, "total": T, "next_page": N+1 | null}``.
  Without ``updated_since`` rows come in id order; with it, only rows whose updated stamp is
  ``>=`` the value, in stamp order (stamps are strictly increasing, so a client can resume from
  the last stamp it saw). Any other query parameter naming a top-level field filters on equality.
* ``GET/PATCH/DELETE /<resource>/{id}`` and ``POST /<resource>``. PATCH merges top-level fields;
  an embedded lines array is replaced as a whole, keeping the ids of lines sent back with their id.
* Server-set ``created_at``/``updated_at`` (``CreatedAt``/``UpdatedAt`` in the CRM): ISO-8601 UTC
  with microseconds, ``updated`` bumped on every write and strictly increasing.
* Errors ``{"error": message, "field": name}``: 422 validation (unknown fields included), 409
  uniqueness, 404 not found, 401 missing/wrong credentials.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

from engine.sandbox.base import Field, FieldError, Request, Response, SandboxSystem, validate_fields

__all__ = ["CustomSystem", "ResourceSpec", "iso_micro", "money"]

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500

Compute = Callable[["CustomSystem", dict[str, Any]], None]


@dataclass(frozen=True)
class ResourceSpec:
    """One resource of a custom system: its fields, embedded lines and rules."""

    fields: dict[str, Field]
    lines_key: str | None = None
    line_fields: dict[str, Field] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    refs: dict[str, str] = field(default_factory=dict)  # field -> referenced resource
    compute: Compute | None = None
    archive: tuple[str, Any] | None = None  # DELETE sets this field/value instead of deleting
    id_prefix: str = ""  # string ids (CRM): prefix + zero-padded number


class _ApiError(Exception):
    def __init__(self, status: int, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field_name = status, message, field_name


def iso_micro(moment: datetime) -> str:
    """``2024-05-01T12:00:00.000000Z``: fixed width, so text order is time order."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def money(value: Any) -> Decimal:
    """A money amount rounded half-up to 2 decimals (input may be int, float or string)."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"), ROUND_HALF_UP)


class CustomSystem(SandboxSystem):
    """Base of Customwebshop, Customerp and Custom CRM; subclasses give specs and style."""

    specs: ClassVar[dict[str, ResourceSpec]] = {}
    pascal: ClassVar[bool] = False  # CRM: Id / CreatedAt / UpdatedAt
    money_as_string: ClassVar[bool] = False  # webshop answers "12.50", others 12.5
    auth_header: ClassVar[str] = "authorization"
    auth_scheme: ClassVar[str] = "Bearer"
    default_token: ClassVar[str] = ""

    def __init__(
        self,
        state_dir: Path | None,
        *,
        clock: Callable[[], datetime] | None = None,
        token: str | None = None,
    ) -> None:
        super().__init__(state_dir, clock=clock)
        self.token = token or self.default_token

    # ---- naming -----------------------------------------------------------------------------

    @property
    def id_name(self) -> str:
        return "Id" if self.pascal else "id"

    @property
    def created_name(self) -> str:
        return "CreatedAt" if self.pascal else "created_at"

    @property
    def updated_name(self) -> str:
        return "UpdatedAt" if self.pascal else "updated_at"

    def id_key(self, resource: str) -> str:
        return self.id_name

    def credentials(self) -> dict[str, Any]:
        value = f"{self.auth_scheme} {self.token}" if self.auth_scheme else self.token
        header = "-".join(
            p.capitalize() if p != "api" else "API" for p in self.auth_header.split("-")
        )
        return {"token": self.token, "headers": {header: value}}

    def make_id(self, resource: str) -> Any:
        n = self.new_id(resource)
        prefix = self.specs[resource].id_prefix
        return f"{prefix}{n:06d}" if prefix else n

    def make_line_id(self, resource: str) -> Any:
        n = self.new_id(f"{resource}.lines")
        prefix = self.specs[resource].id_prefix
        return f"{prefix}L{n:07d}" if prefix else n

    def amount(self, value: Any) -> Any:
        """A money value in this system's answer format."""
        dec = money(value)
        if self.money_as_string:
            return str(dec)
        as_float = float(dec)
        return int(as_float) if as_float.is_integer() else as_float

    # ---- HTTP ---------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if not self._authorised(req):
            return Response(
                401, {"error": "unauthorized: missing or invalid credentials", "field": None}
            )
        try:
            with self.lock:
                return self._route(req)
        except _ApiError as e:
            return Response(e.status, {"error": e.message, "field": e.field_name})
        except FieldError as e:  # raised by a resource's compute rule
            return Response(422, {"error": e.message, "field": e.field})

    def _authorised(self, req: Request) -> bool:
        got = req.headers.get(self.auth_header, "")
        want = f"{self.auth_scheme} {self.token}" if self.auth_scheme else self.token
        return got.strip() == want

    def _route(self, req: Request) -> Response:
        parts = [unquote(p) for p in req.path.split("/") if p]  # "SKU%201" → "SKU 1"
        if not parts or parts[0] not in self.specs or len(parts) > 2:
            raise _ApiError(404, f"no such endpoint: {req.path}")
        resource = parts[0]
        if len(parts) == 1:
            if req.method == "GET":
                return Response(200, self._list(req, resource))
            if req.method == "POST":
                return Response(
                    201, self._render(resource, self._create(resource, self._body(req)))
                )
            raise _ApiError(405, f"method {req.method} not allowed on /{resource}")
        rec = self.get(resource, self._parse_key(resource, parts[1]))
        if rec is None:
            raise _ApiError(404, f"{resource} {parts[1]} not found", self.id_name)
        if req.method == "GET":
            return Response(200, self._render(resource, rec))
        if req.method == "PATCH":
            return Response(
                200, self._render(resource, self._update(resource, rec, self._body(req)))
            )
        if req.method == "DELETE":
            self._delete(resource, rec)
            return Response(204)
        raise _ApiError(405, f"method {req.method} not allowed on /{resource}/{{id}}")

    def _parse_key(self, resource: str, raw: str) -> Any:
        if self.specs[resource].id_prefix:
            return raw
        try:
            return int(raw)
        except ValueError:
            return None

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except ValueError:
            raise _ApiError(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "request body must be a JSON object")
        return body

    # ---- reading ------------------------------------------------------------------------------

    def _list(self, req: Request, resource: str) -> dict[str, Any]:
        since = req.param("updated_since")
        cutoff = None
        if since:
            try:
                text = since.replace(" ", "+").replace("Z", "+00:00")  # an unencoded "+"
                cutoff = iso_micro(datetime.fromisoformat(text))
            except ValueError:
                raise _ApiError(
                    422, f"updated_since is not an ISO-8601 time: {since}", "updated_since"
                ) from None
        fields = self.specs[resource].fields
        filters = tuple(
            sorted(
                (name, values[0])
                for name, values in req.query.items()
                if name in fields and name not in ("page", "per_page")
            )
        )

        def compute(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if cutoff is not None:
                rows = sorted(
                    (r for r in rows if str(r[self.updated_name]) >= cutoff),
                    key=lambda r: str(r[self.updated_name]),
                )
            for name, value in filters:
                rows = [r for r in rows if _eq(r.get(name), value)]
            return rows

        # the same filtered, ordered list serves every page of one listing (base.view)
        rows = self.view(resource, (cutoff, filters), compute)
        page = _int_param(req, "page", 1)
        per_page = min(_int_param(req, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        total = len(rows)
        pages = max(1, math.ceil(total / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        data = copy.deepcopy(chunk)
        self.decorate_page(resource, data)
        return {
            "data": data,
            "page": page,
            "per_page": per_page,
            "total": total,
            "next_page": page + 1 if page < pages else None,
        }

    def _render(self, resource: str, rec: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(rec)
        self.decorate(resource, out)
        return out

    def decorate(self, resource: str, rec: dict[str, Any]) -> None:
        """Add read-time fields (e.g. a webshop customer's order count); default none."""
        self.decorate_page(resource, [rec])

    def decorate_page(self, resource: str, rows: list[dict[str, Any]]) -> None:
        """Add read-time fields to a page of copies at once (one pass over related data)."""

    # ---- writing ------------------------------------------------------------------------------

    def _validate(
        self, resource: str, body: dict[str, Any], current: dict[str, Any], *, create: bool
    ) -> dict[str, Any]:
        spec = self.specs[resource]
        try:
            changes = validate_fields(spec.fields, body, current, create=create)
            if spec.lines_key and changes.get(spec.lines_key) is not None:
                changes[spec.lines_key] = self._lines(
                    resource, changes[spec.lines_key], current.get(spec.lines_key) or []
                )
        except FieldError as e:
            raise _ApiError(422, e.message, e.field) from None
        merged = {**current, **changes}
        for name, target in spec.refs.items():
            value = merged.get(name)
            if value is not None and self.get(target, value) is None:
                raise _ApiError(422, f"{name} refers to a missing {target[:-1]}: {value}", name)
        for name in spec.unique:
            value = merged.get(name)
            if value is None:
                continue
            for other in self.all(resource):
                if other.get(name) == value and other[self.id_name] != merged.get(self.id_name):
                    raise _ApiError(409, f"{name} {value!r} is already in use", name)
        return changes

    def _lines(
        self, resource: str, lines: list[Any], old: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        spec = self.specs[resource]
        known = {line[self.id_name]: line for line in old}
        out = []
        for raw in lines:
            if not isinstance(raw, dict):
                raise FieldError(str(spec.lines_key), "each line must be an object")
            line_id = raw.get(self.id_name)
            if line_id is not None and line_id not in known:
                raise FieldError(str(spec.lines_key), f"no such line: {line_id}")
            base = dict(known[line_id]) if line_id is not None else {}
            line = {**base, **validate_fields(spec.line_fields, raw, base, create=line_id is None)}
            for ref in ("product_id", "ProductId"):
                if line.get(ref) is not None and self.get("products", line[ref]) is None:
                    raise FieldError(ref, f"{ref} refers to a missing product: {line[ref]}")
            line[self.id_name] = line_id if line_id is not None else self.make_line_id(resource)
            out.append(line)
        return out

    def _create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        changes = self._validate(resource, body, {}, create=True)
        rec = {self.id_name: self.make_id(resource), **changes}
        stamp = iso_micro(self.tick())
        rec[self.created_name] = rec[self.updated_name] = stamp
        rec = self.complete_loaded(resource, rec)
        self.put(resource, rec)
        return rec

    def _update(self, resource: str, rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        changes = self._validate(resource, body, rec, create=False)
        new = self.complete_loaded(resource, copy.deepcopy({**rec, **changes}))
        new[self.updated_name] = iso_micro(self.tick())
        self.put(resource, new)
        return new

    def _delete(self, resource: str, rec: dict[str, Any]) -> None:
        spec = self.specs[resource]
        if spec.archive is not None:
            name, value = spec.archive
            self._update(resource, rec, {name: value})
        else:
            self.remove(resource, rec[self.id_name])

    def auto_id(self, resource: str) -> bool:
        return False  # made in complete_loaded, so string ids get their prefix

    def complete_loaded(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults, ids, stamps, line ids and computed fields (seeding and writes)."""
        spec = self.specs[resource]
        if record.get(self.id_name) is None:
            record[self.id_name] = self.make_id(resource)
        for name, fspec in spec.fields.items():
            if name not in record and name not in (self.created_name, self.updated_name):
                record[name] = copy.deepcopy(fspec.default)
        if spec.lines_key:
            for line in record.get(spec.lines_key) or []:
                for name, fspec in spec.line_fields.items():
                    line.setdefault(name, copy.deepcopy(fspec.default))
                if line.get(self.id_name) is None:
                    line[self.id_name] = self.make_line_id(resource)
                elif isinstance(line[self.id_name], int):
                    self._bump_counter(f"{resource}.lines", line[self.id_name])
        if record.get(self.created_name) is None:
            record[self.created_name] = iso_micro(self.tick())
        if record.get(self.updated_name) is None:
            record[self.updated_name] = record[self.created_name]
        for name, fspec in spec.fields.items():
            if fspec.kind == "money" and record.get(name) is not None:
                record[name] = self.amount(record[name])
        if spec.lines_key:
            for line in record.get(spec.lines_key) or []:
                for name, fspec in spec.line_fields.items():
                    if fspec.kind == "money" and line.get(name) is not None:
                        line[name] = self.amount(line[name])
        if spec.compute is not None:
            spec.compute(self, record)
        return record


def _int_param(req: Request, name: str, default: int) -> int:
    raw = req.param(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise _ApiError(422, f"{name} must be an integer", name) from None
    if value < 1:
        raise _ApiError(422, f"{name} must be at least 1", name)
    return value


def _eq(value: Any, want: str) -> bool:
    if isinstance(value, bool):
        return str(value).lower() == want.lower()
    return value is not None and str(value) == want
