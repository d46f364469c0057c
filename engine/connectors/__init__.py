"""How the hub talks to systems: HTTP with retries and redaction, REST and GraphQL operations.

Collect sources and share sinks build on :class:`RestClient`; errors a sink can act on are
:class:`RejectedError` (the system refused one record: dead-letter it) versus any other
:class:`HttpError` (unreachable, broken, or :class:`AuthenticationError`: fail the run).
"""

from __future__ import annotations

from engine.connectors.graphql import GraphQLError, GraphQLInputError
from engine.connectors.http import (
    AuthenticationError,
    HttpClient,
    HttpError,
    HttpResponse,
    NotFoundError,
    RejectedError,
)
from engine.connectors.rest import Record, RestClient

__all__ = [
    "AuthenticationError",
    "GraphQLError",
    "GraphQLInputError",
    "HttpClient",
    "HttpError",
    "HttpResponse",
    "NotFoundError",
    "Record",
    "RejectedError",
    "RestClient",
]
