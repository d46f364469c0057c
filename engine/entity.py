"""Sesam's entity model: reserved fields, typed values, transit JSON, canonical form and hash.

Design notes
------------
* An entity is a ``dict[str, Json]`` with a string ``_id``. Root keys starting with ``_`` are
  reserved; only ``_id`` and ``_deleted`` are data (they count in the hash). ``$`` keys are
  ordinary properties.
* Typed values live in Python as: :class:`datetime.datetime` (aware, UTC, microseconds),
  :class:`datetime.date`, :class:`decimal.Decimal`, :class:`NI`, :class:`URI`,
  :class:`uuid.UUID` and :class:`bytes`. On the wire they are transit strings: ``"~t..."``,
  ``"~f..."``, ``"~:ns:id"``, ``"~r..."``, ``"~u..."``, ``"~b..."``. A literal string that starts
  with ``~`` is written ``"~~..."``.
* The canonical form is our own JSON text (sorted keys, no spaces, UTF-8, transit-encoded), and
  the content hash is the md5 of it. It depends only on this module and the ``json`` module's
  fixed separators, never on DuckDB or another library, so upgrades cannot change a hash. The
  store keeps exactly this text as the body, so DuckDB can hash with ``md5(body)`` and both sides
  agree by construction.
* ``bool`` is checked before ``int`` everywhere (``True`` is not ``1`` in Sesam).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias

from engine.errors import EntityError

__all__ = [
    "DELETED",
    "FILTERED",
    "HASH",
    "ID",
    "NI",
    "PREVIOUS",
    "RESERVED_STORED",
    "TS",
    "UPDATED",
    "URI",
    "Entity",
    "Json",
    "JsonType",
    "canonical_json",
    "content_hash",
    "decode",
    "dumps",
    "encode",
    "format_datetime",
    "hash_body",
    "is_deleted",
    "json_type",
    "loads",
    "parse_datetime",
    "strip_reserved",
]

Json: TypeAlias = Any
"""Any value of the entity model: JSON plus the typed values listed in the module docstring."""
Entity: TypeAlias = dict[str, Any]

ID = "_id"
DELETED = "_deleted"
UPDATED = "_updated"
PREVIOUS = "_previous"
TS = "_ts"
HASH = "_hash"
FILTERED = "_filtered"
RESERVED_STORED = (UPDATED, PREVIOUS, TS, HASH)


@dataclass(frozen=True, slots=True, order=True)
class NI:
    """A namespaced identifier ``~:<namespace>:<identifier>``; the global namespace is ``""``.

    The namespace may contain colons, the identifier may not, so parsing splits at the last one.

    >>> NI.parse("crm-person:100")
    NI(namespace='crm-person', identifier='100')
    >>> str(NI("", "bar"))
    '~:bar'
    """

    namespace: str
    identifier: str

    @classmethod
    def parse(cls, text: str) -> NI:
        ns, sep, ident = text.rpartition(":")
        if not sep:
            return cls("", text)
        return cls(ns, ident)

    @property
    def text(self) -> str:
        """The NI without the transit tag: ``ns:id`` (or ``id`` in the global namespace)."""
        return f"{self.namespace}:{self.identifier}" if self.namespace else self.identifier

    def __str__(self) -> str:
        return "~:" + self.text


@dataclass(frozen=True, slots=True, order=True)
class URI:
    """A URI value (``~r...``); a distinct type so it never compares equal to a plain string."""

    value: str

    def __str__(self) -> str:
        return self.value


JsonType = Literal[
    "null",
    "boolean",
    "integer",
    "decimal",
    "float",
    "string",
    "datetime",
    "date",
    "ni",
    "uri",
    "uuid",
    "bytes",
    "list",
    "dict",
]


def json_type(value: Any) -> JsonType:
    """The entity-model type of ``value``; ``bool`` is checked before ``int`` on purpose."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    if isinstance(value, NI):
        return "ni"
    if isinstance(value, URI):
        return "uri"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, tuple):
        return "list"
    raise EntityError(f"not a value of the entity model: {type(value).__name__} {value!r}")


# --- datetimes ------------------------------------------------------------------------------

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def format_datetime(value: _dt.datetime) -> str:
    """ISO-8601 in UTC with a mandatory ``Z``; a fraction only when there are microseconds.

    >>> format_datetime(_dt.datetime(2015, 1, 2, 3, 4, 5, tzinfo=_dt.UTC))
    '2015-01-02T03:04:05Z'
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    value = value.astimezone(_dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) < 19:  # years before 1000 are not zero-padded by strftime on every platform
        text = f"{value.year:04d}" + text[text.index("-") :]
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_datetime(text: str) -> _dt.datetime | _dt.date | None:
    """Parse the payload of a ``~t`` value: a date, or a UTC datetime with an optional fraction.

    Fractions finer than microseconds are truncated (Python datetimes hold microseconds; the
    store keeps the original text, so nothing is lost on disk). Returns ``None`` if malformed.
    """
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        if not text.endswith("Z") or len(text) < 20 or text[10] != "T":
            return None
        main, frac = text[:19], text[19:-1]
        base = _dt.datetime.fromisoformat(main).replace(tzinfo=_dt.UTC)
        if frac:
            if frac[0] != "." or not frac[1:].isdigit() or len(frac) > 10:
                return None
            base = base.replace(microsecond=int(frac[1:7].ljust(6, "0")))
        return base
    except ValueError:
        return None


# --- transit encode / decode ----------------------------------------------------------------


def _encode_str(value: str) -> str:
    return "~" + value if value.startswith("~") else value


def encode(value: Any) -> Any:
    """Turn a typed value into plain JSON with transit strings (recursively)."""
    t = type(value)
    if t is str:
        return _encode_str(value)
    if value is None or t is bool or t is int:
        return value
    if t is float:
        if math.isnan(value) or math.isinf(value):
            raise EntityError(f"{value!r} cannot be stored: JSON has no NaN or infinity")
        return value
    if t is NI:
        return "~:" + value.text
    if t is Decimal and value.is_finite():  # the common typed leaves, before the isinstance chain
        return "~f" + _decimal_text(value)
    if t is _dt.datetime:
        return "~t" + format_datetime(value)
    if t is dict:
        # Plain strings, ints, decimals and NIs inline: a canonical body is mostly these, and
        # the call per leaf was most of the encode time of a merged order (issue 8). Same
        # results as the branches below.
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise EntityError(f"dict keys must be strings, got {type(k).__name__} {k!r}")
            tv = type(v)
            if tv is str:
                out[k] = "~" + v if v[:1] == "~" else v
            elif v is None or tv is bool or tv is int:
                out[k] = v
            elif tv is Decimal and v.is_finite():
                out[k] = "~f" + _decimal_text(v)
            elif tv is NI:
                out[k] = "~:" + v.text
            else:
                out[k] = encode(v)
        return out
    if t is list or t is tuple:
        return [
            v
            if v is None or type(v) is bool or type(v) is int
            else ("~" + v if v[:1] == "~" else v)
            if type(v) is str
            else encode(v)
            for v in value
        ]
    if isinstance(value, str):
        return _encode_str(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EntityError(f"{value!r} cannot be stored: decimals must be finite")
        return "~f" + _decimal_text(value)
    if isinstance(value, _dt.datetime):
        return "~t" + format_datetime(value)
    if isinstance(value, _dt.date):
        return "~t" + value.isoformat()
    if isinstance(value, NI):
        return str(value)
    if isinstance(value, URI):
        return "~r" + value.value
    if isinstance(value, uuid.UUID):
        return "~u" + str(value)
    if isinstance(value, bytes | bytearray):
        return "~b" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, int):  # bool subclasses are handled above; int subclasses (IntEnum)
        return int(value)
    raise EntityError(f"not a value of the entity model: {type(value).__name__} {value!r}")


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text


_REMEMBERED_TEXT = 80
"""Transit strings up to this length are remembered (a long ``~b`` blob would only fill memory)."""


def _decode_str(value: str) -> Any:
    """One transit string as its typed value; short ones remembered by their text.

    Every typed value is immutable (``Decimal``, dates, ``NI``, ``URI``, ``UUID``, bytes), so
    equal texts can share one object; bodies repeat the same references, dates and amounts
    (an order's customer, products, quantities) far more often than they hold new ones. The
    key is the text, never the value: ``~f1.0`` and ``~f1.00`` stay different decimals.
    """
    if len(value) <= _REMEMBERED_TEXT:
        return _decode_remembered(value)
    return _decode_transit(value)


@functools.lru_cache(maxsize=1 << 15)
def _decode_remembered(value: str) -> Any:
    return _decode_transit(value)


def _decode_transit(value: str) -> Any:
    if len(value) < 2 or value[0] != "~":
        return value
    tag, payload = value[1], value[2:]
    if tag == "~":
        return value[1:]
    if tag == "t":
        parsed = parse_datetime(payload)
        return value if parsed is None else parsed
    if tag == "f":
        try:
            d = Decimal(payload)
        except InvalidOperation:
            return value
        return d if d.is_finite() else value
    if tag == ":":
        return NI.parse(payload)
    if tag == "r":
        return URI(payload)
    if tag == "u":
        try:
            return uuid.UUID(payload)
        except ValueError:
            return value
    if tag == "b":
        try:
            return base64.b64decode(payload, validate=True)
        except ValueError:
            return value
    return value  # an unknown tag stays a plain string, as Sesam does


def decode(value: Any) -> Any:
    """Turn plain JSON with transit strings into typed values (recursively)."""
    t = type(value)
    if t is str:
        return _decode_str(value) if value[:1] == "~" else value
    if t is dict:
        # Leaves inline (no call per plain string or number), as in ``encode``.
        out = {}
        for k, v in value.items():
            tv = type(v)
            if tv is str:
                out[k] = _decode_str(v) if v[:1] == "~" else v
            elif tv is dict or tv is list:
                out[k] = decode(v)
            else:
                out[k] = v
        return out
    if t is list:
        return [
            (_decode_str(v) if v[:1] == "~" else v)
            if type(v) is str
            else decode(v)
            if type(v) is dict or type(v) is list
            else v
            for v in value
        ]
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Sesam JSON of any value: transit-encoded typed values, keys in insertion order."""
    return json.dumps(encode(value), ensure_ascii=False, indent=indent, allow_nan=False)


def loads(text: str | bytes) -> Any:
    """Parse Sesam JSON; transit strings become typed values.

    Numbers with a fraction stay floats (as in DTL literals); use ``~f`` for decimals.
    """
    return decode(json.loads(text))


# --- canonical form and hash ----------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, compact separators, UTF-8, transit-encoded."""
    return json.dumps(
        encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def copy_value(value: Any) -> Any:
    """A copy of a JSON-model value: new dicts and lists, the (immutable) leaves shared.

    ``copy.deepcopy`` also copies every string, ``Decimal`` and frozen ``NI`` through the
    generic reduce protocol; on merged orders with lines that was a third of survivorship's
    time. Every leaf the entity model holds (str, numbers, bool, None, ``NI``, ``URI``, dates,
    ``Decimal``, bytes) is immutable, so only the containers need copying.
    """
    kind = type(value)
    if kind is dict:
        return {k: copy_value(v) for k, v in value.items()}
    if kind is list:
        return [copy_value(v) for v in value]
    return value


def is_deleted(entity: Entity) -> bool:
    """``_deleted: true`` means deleted; any other value (or none) means not deleted."""
    return entity.get(DELETED) is True


def strip_reserved(entity: Entity) -> Entity:
    """The entity without root ``_`` keys other than ``_id`` and ``_deleted`` (normalised)."""
    body = {k: v for k, v in entity.items() if not k.startswith("_")}
    body[ID] = entity.get(ID)
    body[DELETED] = is_deleted(entity)
    return body


def hash_body(entity: Entity) -> str:
    """The canonical text that is stored as the body and hashed.

    It holds every non-reserved root property, ``_id`` and ``_deleted`` (``false`` written
    explicitly so that ``{_id: a}`` and ``{_id: a, _deleted: false}`` are the same content).
    """
    entity_id = entity.get(ID)
    if not isinstance(entity_id, str):
        raise EntityError(
            f"an entity needs a string _id, got {json_type(entity_id)} {entity_id!r}",
            entity_id=str(entity_id) if entity_id is not None else None,
        )
    try:
        return canonical_json(strip_reserved(entity))
    except EntityError as e:
        raise e.located(entity_id=entity_id) from None


def content_hash(entity: Entity) -> str:
    """md5 (hex) of :func:`hash_body`; equal content gives equal hashes, other ``_`` keys ignored."""
    return hashlib.md5(hash_body(entity).encode("utf-8")).hexdigest()
