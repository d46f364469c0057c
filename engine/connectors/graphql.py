"""GraphQL as a REST operation with a POST body: build the body, judge the response.

Design notes
------------
* A GraphQL operation is an ordinary operation whose ``payload`` holds ``query`` and a
  ``variables`` template (Sesam's ``system:rest`` spelling, as Talk's Wave connector uses it). The
  REST client renders the variables, adds pagination/since variables, and posts
  :func:`graphql_body`; paging by ``pageInfo.totalPages`` is the REST client's page pagination with
  ``total_pages_expression``.
* GraphQL answers HTTP 200 even on failure, so the status says little. Two things are checked:
  a top-level ``errors`` list (a query the server could not run: :class:`GraphQLError`, a
  :class:`ConnectorError`; when every error is about a variable's *value* it is this record's
  data that was refused: :class:`GraphQLInputError`, also a :class:`RejectedError`), and, for
  operations that name a ``mutation_result``, Wave's
  ``{didSucceed, inputErrors}`` payload: ``didSucceed: false`` is the system rejecting this one
  record, a :class:`RejectedError` carrying the input errors so a share sink can dead-letter it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jmespath

from engine.config.systems import GraphQLRequest, Operation
from engine.connectors.http import HttpClient, HttpError, HttpResponse, RejectedError

__all__ = ["GraphQLError", "GraphQLInputError", "check_graphql_response", "graphql_body"]


class GraphQLError(HttpError):
    """The server answered with a GraphQL ``errors`` list; ``errors`` holds it (redacted)."""

    def __init__(self, message: str, *, errors: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors or []


class GraphQLInputError(RejectedError, GraphQLError):
    """Every GraphQL error is about a variable's value (``BAD_USER_INPUT``, "Variable '$input'
    got/has invalid value"): the server refused this record's data, so it is a rejection; the
    errors are both ``errors`` and ``input_errors``."""


def graphql_body(request: GraphQLRequest, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a GraphQL POST.

    >>> graphql_body(GraphQLRequest("query { a }"), {"page": 2})
    {'query': 'query { a }', 'variables': {'page': 2}}
    """
    return {"query": request.query, "variables": dict(variables)}


def check_graphql_response(
    http: HttpClient, operation: Operation, response: HttpResponse, url: str
) -> None:
    """Raise if a 2xx GraphQL response reports failure.

    Raises:
        GraphQLError: the body has a non-empty ``errors`` list, or is not a JSON object.
        RejectedError: the ``mutation_result`` object says ``didSucceed: false``.
    """
    body = response.body
    where = {
        "operation": operation.name,
        "method": operation.method,
        "url": url,
        "status": response.status,
        "body": body,
    }
    if not isinstance(body, dict):
        raise http.error(
            GraphQLError,
            f"expected a GraphQL JSON object response, got {type(body).__name__}",
            **where,
        )
    errors = body.get("errors")
    if errors:
        errors = errors if isinstance(errors, list) else [errors]
        messages = "; ".join(_message(e) for e in errors[:3])
        if all(_is_input_error(e) for e in errors):
            raise http.error(
                GraphQLInputError,
                f"GraphQL rejected the input: {messages}",
                errors=errors,
                input_errors=errors,
                **where,
            )
        raise http.error(GraphQLError, f"GraphQL errors: {messages}", errors=errors, **where)
    if operation.mutation_result is None:
        return
    result = jmespath.search(operation.mutation_result, body)
    if not isinstance(result, dict):
        raise http.error(
            GraphQLError,
            f"expected an object at mutation_result "
            f"{operation.mutation_result!r}, got {type(result).__name__}",
            **where,
        )
    if result.get("didSucceed") is False:
        input_errors = result.get("inputErrors") or []
        detail = "; ".join(_message(e) for e in input_errors[:3]) or "no input errors given"
        raise http.error(
            RejectedError,
            f"the mutation did not succeed: {detail}",
            input_errors=input_errors,
            **where,
        )


def _is_input_error(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    code = (error.get("extensions") or {}).get("code")
    return code == "BAD_USER_INPUT" or str(error.get("message", "")).startswith("Variable '$")


def _message(error: Any) -> str:
    """One GraphQL error as text: ``path: message (code)`` when those fields exist."""
    if not isinstance(error, dict):
        return json.dumps(error, default=str)[:200]
    text = str(error.get("message", json.dumps(error, default=str)[:200]))
    path = error.get("path")
    if path:
        text = f"{'.'.join(str(p) for p in path) if isinstance(path, list) else path}: {text}"
    code = error.get("code") or (error.get("extensions") or {}).get("code")
    return f"{text} ({code})" if code else text
