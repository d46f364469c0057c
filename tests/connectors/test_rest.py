"""REST operations against a real server: every paging style, since, templates, writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.systems import template_names
from engine.connectors.http import HttpError
from engine.connectors.rest import render_template
from engine.errors import ConnectorError

from .factory import Sleeps, make_client
from .scripted_server import Reply, ScriptedServer, Seen

PAGE_OPS: dict[str, Any] = {
    "list": {
        "url": "customers",
        "since_param": "updated_since",
        "updated_expression": "updated_at",
        "pagination": {
            "type": "page",
            "size_param": "per_page",
            "page_size": 3,
            "total_header": "X-Total-Count",
        },
    },
}


def records(n: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"c{i}", "updated_at": f"2024-01-{1 + i % 28:02d}"}
        for i in range(1, n + 1)
    ]


def paged_api(
    data: list[dict[str, Any]], *, cap: int = 1000, total: bool = True, first: int = 1
) -> Callable[[Seen], Reply]:
    """A page-number API over ``data`` that serves at most ``cap`` records per page."""

    def handle(seen: Seen) -> Reply:
        size = min(int(seen.param("per_page") or 10), cap)
        page = int(seen.param("page") or first) - first
        rows = data[page * size : (page + 1) * size]
        return Reply(200, rows, {"X-Total-Count": str(len(data))} if total else {})

    return handle


def flatten(pages: list[list[dict[str, Any]]]) -> list[Any]:
    return [r["id"] for page in pages for r in page]


def test_page_pagination_stops_at_the_total(server: ScriptedServer) -> None:
    server.handler = paged_api(records(7))
    client = make_client(server.url, PAGE_OPS)
    pages = list(client.list_records("list"))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert flatten(pages) == list(range(1, 8))
    assert [s.param("page") for s in server.seen] == ["1", "2", "3"]
    assert all(s.param("per_page") == "3" and s.param("updated_since") is None for s in server.seen)


def test_page_pagination_without_total_stops_on_the_empty_page(server: ScriptedServer) -> None:
    server.handler = paged_api(records(6), total=False)
    client = make_client(server.url, PAGE_OPS)
    assert flatten(list(client.list_records("list"))) == list(range(1, 7))
    assert len(server.seen) == 3


def test_a_short_page_is_not_taken_as_the_last(server: ScriptedServer) -> None:
    # The server caps pages at 2 though 3 were asked, like Wave's 200-record cap.
    server.handler = paged_api(records(5), cap=2, total=False)
    client = make_client(server.url, PAGE_OPS)
    assert flatten(list(client.list_records("list"))) == [1, 2, 3, 4, 5]


def test_since_is_sent_only_when_given(server: ScriptedServer) -> None:
    server.handler = paged_api(records(2))
    client = make_client(server.url, PAGE_OPS)
    list(client.list_records("list", since="2024-01-02T00:00:00Z"))
    assert server.seen[0].param("updated_since") == "2024-01-02T00:00:00Z"
    record = {"id": 5, "updated_at": "2024-02-01"}
    assert client.record_updated("list", record) == "2024-02-01"
    assert client.record_id("list", record) == "5"


def test_since_template_param_is_dropped_on_a_full_run(server: ScriptedServer) -> None:
    ops = {"list": {"url": "items", "params": {"updated_after": "{since}", "sort": "id"}}}
    server.handler = lambda seen: Reply(200, [{"id": "a"}])
    client = make_client(server.url, ops)
    list(client.list_records("list"))
    list(client.list_records("list", since=1700000000))
    assert server.seen[0].query == {"sort": ["id"]}
    assert server.seen[1].query == {"sort": ["id"], "updated_after": ["1700000000"]}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    size=st.integers(1, 12),
    cap=st.integers(1, 12),
    total=st.booleans(),
    first=st.sampled_from([0, 1]),
)
def test_page_pagination_returns_every_record_exactly_once(
    server: ScriptedServer, n: int, size: int, cap: int, total: bool, first: int
) -> None:
    server.reset(paged_api(records(n), cap=cap, total=total, first=first))
    ops = {
        "list": {
            "url": "customers",
            "pagination": {
                "type": "page",
                "size_param": "per_page",
                "page_size": size,
                "first_page": first,
                "total_header": "X-Total-Count",
            },
        }
    }
    client = make_client(server.url, ops)
    pages = list(client.list_records("list"))
    assert flatten(pages) == list(range(1, n + 1))
    assert all(pages)
    served = min(size, cap)
    assert len(server.seen) <= -(-n // served) + 1


def cursor_api(data: list[dict[str, Any]], size: int) -> Callable[[Seen], Reply]:
    def handle(seen: Seen) -> Reply:
        start = int(seen.param("after") or 0)
        rows = data[start : start + size]
        more = start + size < len(data)
        return Reply(200, {"data": rows, "meta": {"next": str(start + size) if more else None}})

    return handle


CURSOR_OPS = {
    "list": {
        "url": "orders",
        "payload_property": "data",
        "pagination": {"type": "cursor", "cursor_param": "after", "cursor_expression": "meta.next"},
    }
}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 30), size=st.integers(1, 8))
def test_cursor_pagination_returns_every_record_exactly_once(
    server: ScriptedServer, n: int, size: int
) -> None:
    server.reset(cursor_api(records(n), size))
    client = make_client(server.url, CURSOR_OPS)
    assert flatten(list(client.list_records("list"))) == list(range(1, n + 1))
    assert server.seen[0].param("after") is None


def test_cursor_that_repeats_is_an_error(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(200, {"data": [{"id": 1}], "meta": {"next": "abc"}})
    client = make_client(server.url, CURSOR_OPS)
    with pytest.raises(ConnectorError, match="pagination does not advance"):
        list(client.list_records("list"))
    assert len(server.seen) == 2


def link_api(
    data: list[dict[str, Any]], size: int, *, absolute: str | None
) -> Callable[[Seen], Reply]:
    def handle(seen: Seen) -> Reply:
        page = int(seen.param("page") or 1)
        rows = data[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(data):
            target = f"/products?page={page + 1}&limit={size}"
            url = f"{absolute}{target}" if absolute else target
            headers["Link"] = f'<{url}>; rel="next", </products?page=1>; rel="first"'
        return Reply(200, rows, headers)

    return handle


@pytest.mark.parametrize("absolute", [True, False])
def test_link_pagination_follows_rel_next(server: ScriptedServer, absolute: bool) -> None:
    server.handler = link_api(records(5), 2, absolute=server.url if absolute else None)
    ops = {
        "list": {
            "url": "products",
            "params": {"limit": "2"},
            "since_param": "since",
            "pagination": {"type": "link"},
        }
    }
    client = make_client(server.url, ops)
    assert flatten(list(client.list_records("list", since="x"))) == [1, 2, 3, 4, 5]
    assert [s.param("page") for s in server.seen] == [None, "2", "3"]
    assert server.seen[0].param("since") == "x"


def custom_api(data: list[dict[str, Any]]) -> Callable[[Seen], Reply]:
    """The Custom systems' envelope: {"data", "page", "per_page", "total", "next_page"}."""

    def handle(seen: Seen) -> Reply:
        size, page = int(seen.param("per_page") or 100), int(seen.param("page") or 1)
        rows = data[(page - 1) * size : page * size]
        more = page * size < len(data)
        return Reply(
            200,
            {
                "data": rows,
                "page": page,
                "per_page": size,
                "total": len(data),
                "next_page": page + 1 if more else None,
            },
        )

    return handle


@pytest.mark.parametrize(
    "pagination",
    [
        {"type": "page", "size_param": "per_page", "page_size": 4, "total_expression": "total"},
        {
            "type": "cursor",
            "cursor_param": "page",
            "cursor_expression": "next_page",
            "size_param": "per_page",
            "page_size": 4,
        },
    ],
)
def test_custom_system_envelope(server: ScriptedServer, pagination: dict[str, Any]) -> None:
    server.handler = custom_api(records(9))
    ops = {"list": {"url": "customers", "payload_property": "data", "pagination": pagination}}
    client = make_client(server.url, ops)
    assert flatten(list(client.list_records("list"))) == list(range(1, 10))
    assert len(server.seen) == 3


def test_server_that_ignores_the_page_param_is_caught(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(200, [{"id": 1}, {"id": 2}, {"id": 3}])
    client = make_client(server.url, PAGE_OPS)
    with pytest.raises(ConnectorError, match="page 2 repeated page 1"):
        list(client.list_records("list"))


def test_payload_property_and_nested_urls(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(200, {"items": [{"Id": "p/1"}]})
    ops = {
        "contacts": {
            "url": "customers/{parent_id}/contacts",
            "payload_property": "items",
            "id_expression": "Id",
        }
    }
    client = make_client(server.url, ops)
    pages = list(client.list_records("contacts", parent_id="a b/c"))
    assert pages == [[{"Id": "p/1"}]]
    assert client.record_id("contacts", pages[0][0]) == "p/1"
    assert server.seen[0].path == "/customers/a%20b%2Fc/contacts"
    with pytest.raises(ConnectorError, match=r"needs \{parent_id\}"):
        list(client.list_records("contacts"))


def test_unexpected_shape_is_a_connector_error(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(200, {"items": {"not": "a list"}})
    client = make_client(server.url, {"list": {"url": "x", "payload_property": "items"}})
    with pytest.raises(HttpError, match="expected a list of records at payload_property 'items'"):
        list(client.list_records("list"))


CRUD_OPS: dict[str, Any] = {
    "get": {"url": "customers/{id}"},
    "insert": {"method": "POST", "url": "customers"},
    "update": {"method": "PATCH", "url": "customers/{id}"},
    "delete": {"method": "DELETE", "url": "customers/{id}"},
    "void": {"method": "POST", "url": "invoices/{id}/void", "payload_property": "invoice"},
}


def crud_api(seen: Seen) -> Reply:
    if seen.method == "GET":
        return (
            Reply(404, {"error": "not found"})
            if seen.path.endswith("/9")
            else Reply(200, {"id": 4, "name": "Acme"})
        )
    if seen.method == "POST" and seen.path == "/customers":
        return Reply(201, {"id": 77, **seen.body})
    if seen.method == "PATCH":
        return Reply(200, {"id": 4, **seen.body})
    if seen.path.endswith("/void"):
        return Reply(200, {"invoice": {"id": 4, "status": "voided"}})
    return Reply(204)


def test_get_insert_update_delete(server: ScriptedServer) -> None:
    server.handler = crud_api
    sleeps = Sleeps()
    client = make_client(server.url, CRUD_OPS, sleep=sleeps)
    assert client.get("get", "4") == {"id": 4, "name": "Acme"}
    assert client.get("get", "9") is None
    created = client.insert("insert", {"name": "New"})
    assert client.record_id("insert", created) == "77"
    assert client.update("update", "4", {"name": "Renamed"}) == {"id": 4, "name": "Renamed"}
    client.delete("delete", "4")
    assert client.update("void", "4", {}) == {"id": 4, "status": "voided"}
    sent = [(s.method, s.path, s.body) for s in server.seen]
    assert sent == [
        ("GET", "/customers/4", None),
        ("GET", "/customers/9", None),
        ("POST", "/customers", {"name": "New"}),
        ("PATCH", "/customers/4", {"name": "Renamed"}),
        ("DELETE", "/customers/4", None),
        ("POST", "/invoices/4/void", {}),
    ]
    assert sleeps.calls == []


def test_insert_500_is_not_retried_but_get_is(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(500, {"error": "db down"})
    client = make_client(server.url, CRUD_OPS)
    with pytest.raises(HttpError, match="after 1 attempt"):
        client.insert("insert", {"name": "New"})
    with pytest.raises(HttpError, match="after 4 attempts"):
        client.get("get", "1")
    assert len(server.seen) == 5


def test_unknown_operation_suggests_the_close_one(server: ScriptedServer) -> None:
    client = make_client(server.url, CRUD_OPS)
    with pytest.raises(ConnectorError, match=r"no operation 'inser' \(did you mean 'insert'\?\)"):
        client.insert("inser", {})


@settings(max_examples=100, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_a_whole_placeholder_keeps_the_value(value: Any) -> None:
    template = {"input": "{payload}", "static": ["{not a placeholder}", 1]}
    assert template_names(template) == {"payload"}
    rendered = render_template(template, {"payload": value})
    assert rendered == {"input": value, "static": ["{not a placeholder}", 1]}
