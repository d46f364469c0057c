"""The Wave sandbox's executable schema: ``wave.graphql`` (SDL) + scalars + resolvers.

Schema-first on purpose: the SDL file is what a client introspects, so it is the one place that
says which Wave types, fields and inputs exist; Python only attaches behaviour to it. The built
schema is immutable after :func:`wave_schema` returns and holds no per-sandbox state (resolvers
find their sandbox in the GraphQL context), so one cached instance serves every sandbox.

graphql-core 3.2 and 3.3 name scalar hooks differently (``serialize``/``parse_value``/
``parse_literal`` vs ``coerce_output_value``/``coerce_input_value``/``coerce_input_literal``);
:func:`_bind_scalar` sets whichever the installed version has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from graphql import (
    FloatValueNode,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    ValueNode,
    build_schema,
)

from engine.sandbox.base import iso_z
from engine.sandbox.wave_mutations import MUTATION_RESOLVERS
from engine.sandbox.wave_queries import QUERY_RESOLVERS
from engine.sandbox.wave_values import format_decimal, parse_date, parse_datetime, parse_decimal

__all__ = ["wave_schema", "wave_sdl"]


def wave_sdl() -> str:
    """The SDL text shipped next to this module (``engine/sandbox/wave.graphql``)."""
    return resources.files("engine.sandbox").joinpath("wave.graphql").read_text("utf-8")


@lru_cache(maxsize=1)
def wave_schema() -> GraphQLSchema:
    """The executable Wave schema (built once; resolvers take the sandbox from the context)."""
    schema = build_schema(wave_sdl())
    _bind_scalar(schema, "DateTime", _out_datetime, parse_datetime, (StringValueNode,))
    _bind_scalar(schema, "Date", _out_date, parse_date, (StringValueNode,))
    _bind_scalar(
        schema,
        "Decimal",
        _out_decimal,
        parse_decimal,
        (StringValueNode, IntValueNode, FloatValueNode),
    )
    for table in (QUERY_RESOLVERS, MUTATION_RESOLVERS):
        for type_name, fields in table.items():
            gql_type = schema.get_type(type_name)
            if not isinstance(gql_type, GraphQLObjectType):
                raise TypeError(f"wave.graphql has no object type {type_name!r}")
            for field_name, resolver in fields.items():
                if field_name not in gql_type.fields:
                    raise TypeError(f"wave.graphql has no field {type_name}.{field_name}")
                gql_type.fields[field_name].resolve = resolver
    return schema


def _out_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, str):
        return value  # stored text is answered verbatim so equal values compare equal
    raise ValueError(f"DateTime cannot represent {value!r}")


def _out_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise ValueError(f"Date cannot represent {value!r}")


def _out_decimal(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format_decimal(Decimal(value))
    raise ValueError(f"Decimal cannot represent {value!r}")


def _bind_scalar(
    schema: GraphQLSchema,
    name: str,
    output: Callable[[Any], Any],
    parse: Callable[[Any], Any],
    literal_nodes: tuple[type[ValueNode], ...],
) -> None:
    scalar = schema.get_type(name)
    if not isinstance(scalar, GraphQLScalarType):
        raise TypeError(f"wave.graphql has no scalar {name!r}")

    def literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Any:
        if isinstance(node, literal_nodes):
            return parse(getattr(node, "value", None))
        raise ValueError(f"{name} cannot represent a {type(node).__name__} literal")

    # setattr: these are methods on the class, replaced per instance as graphql-core intends.
    for attr, hook in (
        ("serialize", output),
        ("coerce_output_value", output),
        ("parse_value", parse),
        ("coerce_input_value", parse),
        ("parse_literal", literal),
        ("coerce_input_literal", literal),
    ):
        if hasattr(scalar, attr):
            setattr(scalar, attr, hook)
