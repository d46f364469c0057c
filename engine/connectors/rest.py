"""REST (and GraphQL-over-POST) operations of one system: list pages, get, insert, update, delete.

Design notes
------------
* An operation is a request template (see ``engine.config.systems``). Each call renders it with
  the values it has: ``id``, ``parent_id``, ``payload`` (the record to write), ``since``, and the
  pagination values ``page``, ``page_size`` and ``cursor``. URL values are percent-quoted; a query
  parameter or header whose template renders to ``None`` (say ``{since}`` on a full run) is left
  out, and a GraphQL variable that is exactly one placeholder keeps the value's JSON type.
* Pagination never trusts a short page to be the last one: servers cap page sizes below what was
  asked (Talk hit Wave's 200-record cap). A page run stops on an empty page, when the records seen
  reach the total (``X-Total-Count``-style header or body expression), or when the page number
  reaches ``totalPages``. Cursor and Link pagination stop when there is no next cursor/link. A
  server that ignores the paging parameters would repeat itself forever, so a repeated page,
  cursor or link raises instead.
* ``list_records`` yields pages (lists of records) lazily, so a collect can write page by page
  without holding a whole system in memory.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import jmespath
import requests

from engine.config.systems import (
    PLACEHOLDER_RE,
    Operation,
    Secret,
    SystemConfig,
    template_names,
)
from engine.connectors.expressions import expression
from engine.connectors.graphql import check_graphql_response, graphql_body
from engine.connectors.http import HttpClient, HttpError, HttpResponse, NotFoundError
from engine.errors import ConnectorError, did_you_mean

__all__ = ["Record", "RestClient", "render_template"]

Record = dict[str, Any]
_REQUIRED_VALUES = ("id", "parent_id", "payload")  # a None here would send a broken request


class RestClient:
    """The operations of one ``system:rest`` system, over a retrying :class:`HttpClient`."""

    def __init__(
        self,
        system: SystemConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.system = system
        self.http = HttpClient(system, session=session, sleep=sleep, clock=clock, rng=rng)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def operation(self, name: str) -> Operation:
        """The named operation, or a ConnectorError listing the ones the system has."""
        try:
            return self.system.operations[name]
        except KeyError:
            known = sorted(self.system.operations)
            raise ConnectorError(
                f"system {self.system.id!r} has no operation {name!r}"
                f"{did_you_mean(name, known)}; known: {', '.join(known) or 'none'}",
                file=self.system.file,
            ) from None

    # ------------------------------------------------------------------ reading

    def list_records(
        self, operation: str, since: Any = None, *, parent_id: str | None = None
    ) -> Iterator[list[Record]]:
        """Yield the records of a list operation page by page (empty pages are not yielded).

        Args:
            operation: the operation name.
            since: sent as ``since_param`` (and ``{since}``) for incremental lists; ``None`` for all.
            parent_id: fills ``{parent_id}`` for nested resources (e.g. a customer's contacts).
        """
        op = self.operation(operation)
        pagination = op.pagination
        values: dict[str, Any] = {
            "since": since,
            "parent_id": parent_id,
            "page": None,
            "page_size": pagination.page_size,
            "cursor": None,
        }
        extra: dict[str, Any] = {}
        if op.since_param and since is not None:
            extra[op.since_param] = since
        if pagination.size_param and pagination.page_size:
            extra[pagination.size_param] = pagination.page_size
        if pagination.type == "page":
            yield from self._pages_by_number(op, values, extra)
        elif pagination.type == "cursor":
            yield from self._pages_by_cursor(op, values, extra)
        elif pagination.type == "link":
            yield from self._pages_by_link(op, values, extra)
        else:
            records = self._records(op, self._call(op, values, extra))
            if records:
                yield records

    def get(self, operation: str, id: str, *, parent_id: str | None = None) -> Record | None:
        """The record with ``id``, or ``None`` when the system says it does not exist (404/null)."""
        op = self.operation(operation)
        try:
            response = self._call(op, {"id": id, "parent_id": parent_id})
        except NotFoundError:
            return None
        return self._record(op, response)

    def record_id(self, operation: str, record: Mapping[str, Any]) -> str | None:
        """The record's id by the operation's ``id_expression`` (default: ``id``), as a string."""
        op = self.operation(operation)
        value = expression(op.id_expression or "id")(record)
        if value is None or isinstance(value, dict | list):
            return None
        return str(value).lower() if isinstance(value, bool) else str(value)

    def record_updated(self, operation: str, record: Mapping[str, Any]) -> Any:
        """The record's modification time by ``updated_expression`` (``None`` if not configured)."""
        op = self.operation(operation)
        return expression(op.updated_expression)(record) if op.updated_expression else None

    # ------------------------------------------------------------------ writing

    def insert(
        self, operation: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> Record:
        """Create a record; returns the created record as the system answered it (or ``{}``)."""
        op = self.operation(operation)
        response = self._call(
            op, {"payload": dict(payload), "parent_id": parent_id}, body=dict(payload)
        )
        return self._record(op, response) or {}

    def update(
        self, operation: str, id: str, payload: Mapping[str, Any], *, parent_id: str | None = None
    ) -> Record:
        """Change the record ``id``; returns the updated record when the system sends it back."""
        op = self.operation(operation)
        response = self._call(
            op, {"id": id, "payload": dict(payload), "parent_id": parent_id}, body=dict(payload)
        )
        return self._record(op, response) or {}

    def delete(self, operation: str, id: str, *, parent_id: str | None = None) -> None:
        """Delete (or archive, per the operation) the record ``id``."""
        op = self.operation(operation)
        self._call(op, {"id": id, "parent_id": parent_id})

    # ------------------------------------------------------------------ pagination

    def _pages_by_number(
        self, op: Operation, values: dict[str, Any], extra: dict[str, Any]
    ) -> Iterator[list[Record]]:
        pagination = op.pagination
        page, seen = pagination.first_page, 0
        previous: list[Record] | None = None
        while True:
            values["page"] = page
            response = self._call(op, values, {**extra, pagination.page_param: page})
            records = self._records(op, response)
            if not records:
                return
            if records == previous:
                raise self._loop_error(op, f"page {page} repeated page {page - 1}")
            yield records
            seen += len(records)
            total = self._number(op, response, pagination.total_header, pagination.total_expression)
            total_pages = self._number(op, response, None, pagination.total_pages_expression)
            if total is not None and seen >= total:
                return
            if total_pages is not None and page - pagination.first_page + 1 >= total_pages:
                return
            previous, page = records, page + 1

    def _pages_by_cursor(
        self, op: Operation, values: dict[str, Any], extra: dict[str, Any]
    ) -> Iterator[list[Record]]:
        pagination = op.pagination
        assert pagination.cursor_expression is not None  # checked by the config loader
        cursors: set[str] = set()
        cursor: Any = None
        while True:
            values["cursor"] = cursor
            step = extra if cursor is None else {**extra, pagination.cursor_param: cursor}
            response = self._call(op, values, step)
            records = self._records(op, response)
            if records:
                yield records
            cursor = jmespath.search(pagination.cursor_expression, response.body)
            if cursor in (None, "") or not records:
                return
            if str(cursor) in cursors:
                raise self._loop_error(op, f"cursor {str(cursor)[:40]!r} came back twice")
            cursors.add(str(cursor))

    def _pages_by_link(
        self, op: Operation, values: dict[str, Any], extra: dict[str, Any]
    ) -> Iterator[list[Record]]:
        response = self._call(op, values, extra)
        visited = {response.url}
        while True:
            records = self._records(op, response)
            if records:
                yield records
            next_url = response.links.get("next")
            if not next_url or not records:
                return
            if next_url in visited:
                raise self._loop_error(op, "the Link header pointed back to a page already read")
            visited.add(next_url)
            # The next link carries the whole query already (paging, since, filters).
            response = self._call(op, values, None, url=next_url)

    # ------------------------------------------------------------------ one request

    def _call(
        self,
        op: Operation,
        values: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        body: Any = None,
    ) -> HttpResponse:
        """Render the operation with ``values`` plus paging/since ``extra`` and send it."""
        needed = template_names(op.url) | template_names(dict(op.params))
        needed |= template_names(dict(op.headers))
        if op.graphql is not None:
            needed |= template_names(dict(op.graphql.variables))
        missing = sorted(
            n
            for n in needed
            if values.get(n) is None and (n in _REQUIRED_VALUES or n not in values)
        )
        if missing:
            raise ConnectorError(
                f"system {self.system.id!r}, operation {op.name!r}: the request needs "
                f"{', '.join('{' + n + '}' for n in missing)} but no value was given",
                file=self.system.file,
            )
        params: dict[str, str | Secret] = {}
        if url is None:
            path = render_template(op.url, values, quote=lambda s: quote(s, safe=""))
            url = self.http.url_for(path)
            params = _render_strings(op.params, values)
            if op.graphql is None:
                params.update({k: _plain(v) for k, v in (extra or {}).items()})
        headers = _render_strings(op.headers, values)
        if op.graphql is not None:
            variables = render_template(dict(op.graphql.variables), values)
            variables.update(extra or {})
            body = graphql_body(op.graphql, variables)
        response = self.http.request(
            op.method,
            url,
            operation=op.name,
            params=params,
            json_body=body,
            headers=headers,
            idempotent=op.idempotent,
        )
        if op.graphql is not None:
            check_graphql_response(self.http, op, response, self.http.display_url(url, params))
        return response

    # ------------------------------------------------------------------ reading responses

    def _payload(self, op: Operation, response: HttpResponse) -> Any:
        if op.payload_property is None:
            return response.body
        return jmespath.search(op.payload_property, response.body)

    def _records(self, op: Operation, response: HttpResponse) -> list[Record]:
        data = self._payload(op, response)
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            where = f"payload_property {op.payload_property!r}" if op.payload_property else "body"
            raise self._shape_error(
                op, response, f"expected a list of records at {where}, got {_describe(data)}"
            )
        return data

    def _record(self, op: Operation, response: HttpResponse) -> Record | None:
        data = self._payload(op, response)
        if data is None or isinstance(data, dict):
            return data
        if isinstance(data, str) and not data.strip():
            return None
        raise self._shape_error(op, response, f"expected a record (object), got {_describe(data)}")

    def _number(
        self, op: Operation, response: HttpResponse, header: str | None, expression: str | None
    ) -> int | None:
        raw = response.headers.get(header) if header else None
        if raw is None and expression:
            raw = jmespath.search(expression, response.body)
        if raw is None:
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise self._shape_error(
                op, response, f"expected a whole number for {header or expression!r}, got {raw!r}"
            ) from None

    def _shape_error(self, op: Operation, response: HttpResponse, detail: str) -> HttpError:
        shown = self.http.display_url(response.url)
        return self.http.error(
            HttpError,
            f"{op.method} {shown}: {detail}",
            operation=op.name,
            method=op.method,
            url=shown,
            status=response.status,
            body=response.body,
        )

    def _loop_error(self, op: Operation, detail: str) -> ConnectorError:
        return ConnectorError(
            f"system {self.system.id!r}, operation {op.name!r}: pagination "
            f"does not advance: {detail}; check the operation's 'pagination'",
            file=self.system.file,
        )


def render_template(
    template: Any, values: Mapping[str, Any], *, quote: Callable[[str], str] = str
) -> Any:
    """Fill ``{name}`` placeholders; a string that is exactly one placeholder keeps the value's type.

    Every name used must be in ``values`` (callers check :func:`template_names` first). Inside a
    longer string ``None`` renders as nothing and booleans as JSON spells them.

    >>> render_template({"input": "{payload}", "q": "p{page}"}, {"payload": {"a": 1}, "page": 2})
    {'input': {'a': 1}, 'q': 'p2'}
    """
    if isinstance(template, str):
        whole = PLACEHOLDER_RE.fullmatch(template)
        if whole:
            value = values[whole.group(1)]
            return quote(_plain(value)) if quote is not str else value
        return PLACEHOLDER_RE.sub(lambda m: quote(_plain(values[m.group(1)])), template)
    if isinstance(template, Mapping):
        return {k: render_template(v, values, quote=quote) for k, v in template.items()}
    if isinstance(template, list):
        return [render_template(v, values, quote=quote) for v in template]
    return template


def _plain(value: Any) -> str:
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _render_strings(
    templates: Mapping[str, str | Secret], values: Mapping[str, Any]
) -> dict[str, str | Secret]:
    out: dict[str, str | Secret] = {}
    for key, template in templates.items():
        if isinstance(template, Secret):
            out[key] = template
            continue
        value = render_template(template, values)
        if value is not None:
            out[key] = _plain(value)
    return out


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list holding a non-object"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__
