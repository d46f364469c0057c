"""Endpoint sinks (``http_endpoint``, ``csv_endpoint``, ``json``, ``sql``) captured in a dataset.

On a Sesam node these sinks publish entities (``http_endpoint``, ``csv_endpoint``: a client pulls
them) or send them somewhere (``json`` pushes to a receiver, ``sql`` writes table rows). Offline,
the hub keeps what they would publish or send in a dataset named after the pipe, with the same
log semantics as a dataset sink (a publisher's output is its latest entities; a full run deletes
what the source no longer has). ``pipe verify`` and ``pipe test`` read that dataset, and
:func:`render_csv` turns it into the bytes a ``csv_endpoint`` would serve.

``remove_namespaces`` defaults to true at these sinks when the pipe has namespaced identifiers
(sesam-hub.md §3.5, §7.2). When the pipe does not say, the sink strips namespaces itself; when it
says true the transform chain already did; when it says false nothing is stripped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.config.pipes import SINK_KEYS, PipeConfig, SinkConfig
from engine.entity import DELETED, UPDATED, Entity, encode, format_datetime
from engine.errors import ConfigError, JsonPath
from engine.sinks.base import WriteResult
from engine.sinks.dataset import DatasetSink
from engine.store import Store

__all__ = ["CSV_KEYS", "ENDPOINT_SINK_TYPES", "EndpointSink", "publish_order", "render_csv"]

#: Sink types captured by :class:`EndpointSink`.
ENDPOINT_SINK_TYPES = frozenset({"http_endpoint", "csv_endpoint", "json", "sql"})

#: Keys a ``csv_endpoint`` sink may set: the config's table (Python csv's dialect options).
CSV_KEYS = SINK_KEYS["csv_endpoint"]

_QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


class EndpointSink(DatasetSink):
    """Keeps what an endpoint sink would publish or send in the dataset named after the pipe."""

    def __init__(self, store: Store, pipe: PipeConfig) -> None:
        config = SinkConfig("dataset", {}, pipe.sink.path, pipe.id)
        super().__init__(store, config, pipe.id)
        self.strip_namespaces = (
            pipe.namespaced_identifiers and pipe.raw.get("remove_namespaces") is None
        )
        if pipe.sink.type == "csv_endpoint":
            csv_dialect(pipe.sink.raw, file=pipe.file, path=pipe.sink.path)

    def write(self, entities: list[Entity]) -> WriteResult:
        if self.strip_namespaces:
            from engine.dtl.namespaces import remove_namespaces

            entities = [remove_namespaces(e) for e in entities]
        return super().write(entities)


def publish_order(entities: Sequence[Entity]) -> list[Entity]:
    """Latest versions in the order a publisher serves them: by dataset offset."""
    return sorted(entities, key=lambda e: (e.get(UPDATED) is None, e.get(UPDATED) or 0))


def csv_dialect(
    raw: Mapping[str, Any], *, file: str | None = None, path: JsonPath = JsonPath()
) -> dict[str, Any]:
    """The csv writer settings of a ``csv_endpoint`` sink, validated.

    Raises:
        ConfigError: an unknown quoting mode or a setting of the wrong type.
    """
    quoting = raw.get("quoting", "minimal")
    if quoting not in _QUOTING:
        raise ConfigError(
            f"expected one of {', '.join(_QUOTING)} for 'quoting', found {quoting!r}",
            file=file,
            path=path / "quoting",
        )
    settings: dict[str, Any] = {"quoting": _QUOTING[quoting]}
    for key, default in (
        ("delimiter", ","),
        ("quotechar", '"'),
        ("lineterminator", "\n"),
        ("escapechar", None),
    ):
        value = raw.get(key, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"expected a string for {key!r}, found {value!r}", file=file, path=path / key
            )
        settings[key] = value
    for key, default_flag in (("doublequote", True), ("skipinitialspace", False)):
        flag = raw.get(key, default_flag)
        if not isinstance(flag, bool):
            raise ConfigError(
                f"expected true or false for {key!r}, found {flag!r}", file=file, path=path / key
            )
        settings[key] = flag
    columns = raw.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
    ):
        raise ConfigError(
            "expected a list of property names for 'columns'", file=file, path=path / "columns"
        )
    return settings


def _cell(value: Any) -> Any:
    """One CSV cell: text for typed values, JSON for lists and objects, empty for null."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(encode(value), ensure_ascii=False, sort_keys=True)
    return str(value)


def render_csv(
    entities: Sequence[Entity],
    raw: Mapping[str, Any],
    *,
    file: str | None = None,
    path: JsonPath = JsonPath(),
) -> bytes:
    """The bytes a ``csv_endpoint`` sink serves for these latest entities.

    Deleted entities are left out; rows follow the publisher order. Without ``columns`` the
    header is every non-underscore property, sorted.

    >>> render_csv([{"_id": "a", "name": "A", "_updated": 0}], {"columns": ["_id", "name"]})
    b'_id,name\\na,A\\n'
    """
    settings = csv_dialect(raw, file=file, path=path)
    live = [e for e in publish_order(entities) if e.get(DELETED) is not True]
    columns = raw.get("columns")
    if columns is None:
        columns = sorted({k for e in live for k in e if not k.startswith("_")})
    buffer = io.StringIO()
    writer = csv.writer(buffer, **settings)
    if raw.get("include_header", True) is not False:
        writer.writerow(columns)
    for entity in live:
        writer.writerow([_cell(entity.get(c)) for c in columns])
    encoding = raw.get("encoding", "utf-8")
    try:
        return buffer.getvalue().encode(encoding)
    except (LookupError, UnicodeEncodeError) as e:
        raise ConfigError(
            f"cannot encode the CSV as {encoding!r}: {e}", file=file, path=path / "encoding"
        ) from e
