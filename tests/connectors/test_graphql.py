"""GraphQL operations (Wave-style) against a real server: paging, lookups, mutations, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.connectors.graphql import GraphQLError, GraphQLInputError
from engine.connectors.http import HttpError, RejectedError
from engine.errors import ConnectorError

from .factory import Sleeps, make_client
from .scripted_server import Reply, ScriptedServer, Seen

LIST_QUERY = (
    "query($businessId: ID!, $page: Int!, $pageSize: Int!) { business(id: $businessId)"
    " { customers(page: $page, pageSize: $pageSize) { pageInfo { totalPages }"
    " edges { node { id name modifiedAt } } } } }"
)
WAVE_OPS: dict[str, Any] = {
    "customer-list": {
        "payload": {"query": LIST_QUERY, "variables": {"businessId": "QnVzaW5lc3M6MQ=="}},
        "payload_property": "data.business.customers.edges[].node",
        "id_expression": "id",
        "updated_expression": "modifiedAt",
        "pagination": {
            "type": "page",
            "size_param": "pageSize",
            "page_size": 2,
            "total_pages_expression": "data.business.customers.pageInfo.totalPages",
        },
    },
    "customer-lookup": {
        "payload": {
            "query": 'query($id: ID!) { business(id: "b") { customer(id: $id) { id } } }',
            "variables": {"id": "{id}"},
        },
        "payload_property": "data.business.customer",
    },
    "customer-insert": {
        "payload": {
            "query": "mutation ($input: CustomerCreateInput!) { customerCreate(input: "
            "$input) { didSucceed inputErrors { code message path } "
            "customer { id name } } }",
            "variables": {"input": "{payload}"},
        },
        "payload_property": "data.customerCreate.customer",
        "mutation_result": "data.customerCreate",
    },
    "customer-delete": {
        "payload": {
            "query": "mutation ($input: CustomerDeleteInput!) { customerDelete(input: "
            "$input) { didSucceed inputErrors { code message path } } }",
            "variables": {"input": {"id": "{id}"}},
        },
        "mutation_result": "data.customerDelete",
    },
}


def node(i: int) -> dict[str, Any]:
    return {"id": f"Q3VzdDo{i}", "name": f"Customer {i}", "modifiedAt": "2024-01-01T00:00:00Z"}


def wave_api(customers: list[dict[str, Any]]) -> Any:
    def handle(seen: Seen) -> Reply:
        query, variables = seen.body["query"], seen.body["variables"]
        if "customers(" in query:
            size, page = variables["pageSize"], variables["page"]
            rows = customers[(page - 1) * size : page * size]
            pages = max(1, -(-len(customers) // size))
            return Reply(
                200,
                {
                    "data": {
                        "business": {
                            "customers": {
                                "pageInfo": {"totalPages": pages},
                                "edges": [{"node": r} for r in rows],
                            }
                        }
                    }
                },
            )
        if "customer(" in query:
            found = [c for c in customers if c["id"] == variables["id"]]
            return Reply(200, {"data": {"business": {"customer": found[0] if found else None}}})
        if "customerCreate" in query:
            if not variables["input"].get("name"):
                return Reply(
                    200,
                    {
                        "data": {
                            "customerCreate": {
                                "didSucceed": False,
                                "customer": None,
                                "inputErrors": [
                                    {
                                        "code": "REQUIRED",
                                        "message": "name is required",
                                        "path": ["input", "name"],
                                    }
                                ],
                            }
                        }
                    },
                )
            return Reply(
                200,
                {
                    "data": {
                        "customerCreate": {
                            "didSucceed": True,
                            "inputErrors": [],
                            "customer": {"id": "Q3VzdDo5OQ==", **variables["input"]},
                        }
                    }
                },
            )
        if "customerDelete" in query:
            return Reply(200, {"data": {"customerDelete": {"didSucceed": True, "inputErrors": []}}})
        return Reply(
            200,
            {
                "errors": [
                    {
                        "message": "Cannot query field",
                        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                    }
                ]
            },
        )

    return handle


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 11))
def test_pages_through_total_pages(server: ScriptedServer, n: int) -> None:
    server.reset(wave_api([node(i) for i in range(n)]))
    client = make_client(server.url, WAVE_OPS)
    pages = list(client.list_records("customer-list"))
    assert [r["id"] for p in pages for r in p] == [node(i)["id"] for i in range(n)]
    assert len(server.seen) == max(1, -(-n // 2))
    first = server.seen[0]
    assert first.method == "POST" and first.path == "/"
    assert first.body["variables"] == {"businessId": "QnVzaW5lc3M6MQ==", "page": 1, "pageSize": 2}


def test_since_goes_into_the_variables(server: ScriptedServer) -> None:
    server.handler = wave_api([node(1)])
    ops = {"list": {**WAVE_OPS["customer-list"], "since_param": "modifiedSince"}}
    client = make_client(server.url, ops)
    list(client.list_records("list", since="2024-01-01T00:00:00Z"))
    assert server.seen[0].body["variables"]["modifiedSince"] == "2024-01-01T00:00:00Z"
    assert server.seen[0].query == {}


def test_lookup_found_and_not_found(server: ScriptedServer) -> None:
    server.handler = wave_api([node(1)])
    client = make_client(server.url, WAVE_OPS)
    assert client.get("customer-lookup", node(1)["id"]) == node(1)
    assert client.get("customer-lookup", "nope") is None
    assert server.seen[0].body["variables"] == {"id": node(1)["id"]}


def test_insert_returns_the_created_record(server: ScriptedServer) -> None:
    server.handler = wave_api([])
    client = make_client(server.url, WAVE_OPS)
    created = client.insert("customer-insert", {"name": "Acme", "currency": "NOK"})
    assert created == {"id": "Q3VzdDo5OQ==", "name": "Acme", "currency": "NOK"}
    assert client.record_id("customer-insert", created) == "Q3VzdDo5OQ=="
    assert server.seen[0].body["variables"] == {"input": {"name": "Acme", "currency": "NOK"}}


def test_did_succeed_false_is_rejected_with_input_errors(server: ScriptedServer) -> None:
    server.handler = wave_api([])
    sleeps = Sleeps()
    client = make_client(server.url, WAVE_OPS, sleep=sleeps)
    with pytest.raises(RejectedError) as caught:
        client.insert("customer-insert", {"name": ""})
    error = caught.value
    assert error.input_errors == [
        {"code": "REQUIRED", "message": "name is required", "path": ["input", "name"]}
    ]
    assert "input.name: name is required (REQUIRED)" in str(error)
    assert error.status == 200 and len(server.seen) == 1 and sleeps.calls == []


def test_delete_renders_the_id_inside_the_input(server: ScriptedServer) -> None:
    server.handler = wave_api([])
    client = make_client(server.url, WAVE_OPS)
    client.delete("customer-delete", "Q3VzdDox")
    assert server.seen[0].body["variables"] == {"input": {"id": "Q3VzdDox"}}


def test_errors_list_is_a_connector_error_and_not_retried(server: ScriptedServer) -> None:
    server.handler = wave_api([])
    ops = {"bad": {"payload": {"query": "query { nope }"}}}
    sleeps = Sleeps()
    client = make_client(server.url, ops, sleep=sleeps)
    with pytest.raises(GraphQLError) as caught:
        client.get("bad", "1")
    assert isinstance(caught.value, ConnectorError)
    assert not isinstance(caught.value, RejectedError)
    assert "Cannot query field (GRAPHQL_VALIDATION_FAILED)" in str(caught.value)
    assert caught.value.errors[0]["message"] == "Cannot query field"
    assert len(server.seen) == 1 and sleeps.calls == []


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Variable '$input' got invalid value 5 at 'input.name'."},
        {"message": "name is bad", "extensions": {"code": "BAD_USER_INPUT"}},
    ],
)
def test_errors_about_variable_values_are_a_rejection(
    server: ScriptedServer, error: dict[str, Any]
) -> None:
    server.handler = lambda seen: Reply(200, {"errors": [error]})
    client = make_client(server.url, WAVE_OPS)
    with pytest.raises(GraphQLInputError) as caught:
        client.insert("customer-insert", {"name": 5})
    assert isinstance(caught.value, RejectedError) and isinstance(caught.value, GraphQLError)
    assert caught.value.input_errors == [error] == caught.value.errors
    assert "GraphQL rejected the input" in str(caught.value)


def test_queries_are_retried_but_mutations_are_not(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(502, "bad gateway")
    client = make_client(server.url, WAVE_OPS)
    with pytest.raises(HttpError, match="after 4 attempts: HTTP 502"):
        list(client.list_records("customer-list"))
    server.reset(lambda seen: Reply(502, "bad gateway"))
    with pytest.raises(HttpError, match="after 1 attempt: HTTP 502"):
        client.insert("customer-insert", {"name": "x"})
    assert len(server.seen) == 1


def test_non_object_response_is_a_graphql_error(server: ScriptedServer) -> None:
    server.handler = lambda seen: Reply(200, raw=b"<html>proxy</html>")
    client = make_client(server.url, WAVE_OPS)
    with pytest.raises(GraphQLError, match="expected a GraphQL JSON object response, got str"):
        client.get("customer-lookup", "x")
