"""Canonical comparison of what the hub wants to write with what a system holds (talk-flows A.7).

Why this exists
---------------
A share must send an update only when the target really differs from the desired state. The
systems spell the same value differently: Invoiced answers ``"usd"`` where the hub says ``"USD"``,
the webshop answers ``"199.00"`` where the ERP says ``199``, Wave keeps decimals as strings,
Invoiced dates are UNIX seconds while the others use ISO dates, and Wave reorders invoice lines.
Comparing raw values would count every such difference as an edit, send it, read the same
spelling back, and loop forever. So every comparison goes through :func:`equivalent`:

* ``None``, ``""``, ``[]`` and ``{}`` are all "empty" and equal to each other (and to absence).
* Strings are trimmed. Values under a key naming an e-mail, a currency or a country (and any
  string that looks like an e-mail address) compare case-insensitively.
* Numbers and decimal strings compare numerically, rounded half-up to 2 places (4 places under
  keys naming a quantity), so ``"10.00" == 10`` and ``2.5 == "2.50"``.
* Dates compare by UTC calendar day: an ISO date, an ISO datetime, a ``datetime``/``date`` value
  and a UNIX timestamp (seconds, or milliseconds above 10^11) naming the same day are equal.
* Dicts compare on the *payload's* keys only (recursively): a field the hub does not send is
  not the hub's business, and PATCH semantics leave it alone anyway.
* Lists compare as multisets (order is not significant, lengths must match): each payload item
  is matched with an unused target item that is equivalent to it. Line items are therefore
  matched by content, not position, which absorbs Wave's reordering; a line whose content
  changed makes the lists differ, which is exactly when the lines must be re-sent.

The module is pure (no I/O); :func:`to_plain` also lives here because it decides how typed
entity values are spelled on the wire, which is the other half of "same value, other spelling".
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from engine.entity import NI, URI, format_datetime

__all__ = [
    "differences",
    "equivalent",
    "parse_moment",
    "payload_hash",
    "to_plain",
]

_DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CASELESS_HINTS = ("email", "currency", "country")
_QUANTITY_HINTS = ("quantity", "qty")
_MIN_TIMESTAMP = 100_000_000  # 1973: smaller numbers are not taken as UNIX timestamps
_MS_TIMESTAMP = 100_000_000_000  # above this, a timestamp is in milliseconds


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _hint(key: str, hints: tuple[str, ...]) -> bool:
    lowered = key.lower()
    return any(h in lowered for h in hints)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(value, str) and _DECIMAL_RE.match(value.strip()):
        return Decimal(value.strip())
    return None


def _day(value: Any, *, numbers: bool) -> _dt.date | None:
    """The UTC calendar day a value names, or ``None``; numbers only when ``numbers`` is set."""
    if isinstance(value, str):
        text = value.strip()
        if not _DATE_RE.match(text):
            return None
        if len(text) == 10:
            try:
                return _dt.date.fromisoformat(text)
            except ValueError:
                return None
        moment = parse_moment(text)
        return moment.date() if moment is not None else None
    if isinstance(value, _dt.date):  # datetimes too
        moment = parse_moment(value)
        return moment.date() if moment is not None else None
    if numbers and _number(value) is not None:
        moment = parse_moment(value)
        return moment.date() if moment is not None else None
    return None


def parse_moment(value: Any) -> _dt.datetime | None:
    """An aware UTC datetime from an ISO string, a date, a datetime or UNIX seconds/millis.

    Returns ``None`` for anything else (the caller decides whether that is an error).

    >>> parse_moment(1704067200).isoformat()
    '2024-01-01T00:00:00+00:00'
    >>> parse_moment("2024-01-02T08:00:00.000000Z").isoformat()
    '2024-01-02T08:00:00+00:00'
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
        return aware.astimezone(_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    number = _number(value)
    if number is not None:
        seconds = float(number)
        if abs(seconds) >= _MS_TIMESTAMP:
            seconds /= 1000
        try:
            return _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
        if match:  # Python takes at most 6 fraction digits
            text = f"{match.group(1)}.{match.group(2)[:6].ljust(6, '0')}{match.group(3)}"
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parse_moment(parsed)
    return None


def _scalar_equal(a: Any, b: Any, key: str) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    # dates first: a UNIX timestamp only counts as a date against a date-like value
    a_day, b_day = _day(a, numbers=False), _day(b, numbers=False)
    if a_day is not None or b_day is not None:
        a_day = a_day or _day(a, numbers=_large(a))
        b_day = b_day or _day(b, numbers=_large(b))
        return a_day is not None and a_day == b_day
    a_num, b_num = _number(a), _number(b)
    if a_num is not None and b_num is not None:
        places = Decimal("0.0001") if _hint(key, _QUANTITY_HINTS) else Decimal("0.01")
        return a_num.quantize(places, ROUND_HALF_UP) == b_num.quantize(places, ROUND_HALF_UP)
    a_text, b_text = _text(a), _text(b)
    if a_text is None or b_text is None:
        return bool(a == b)
    if _hint(key, _CASELESS_HINTS) or _EMAIL_RE.match(a_text) or _EMAIL_RE.match(b_text):
        return a_text.casefold() == b_text.casefold()
    return a_text == b_text


def _large(value: Any) -> bool:
    number = _number(value)
    return number is not None and abs(number) >= _MIN_TIMESTAMP


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, NI | URI | uuid.UUID):
        return str(to_plain(value)).strip()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def equivalent(payload: Any, target: Any, key: str = "") -> bool:
    """True when ``target`` already holds what ``payload`` asks for (see the module notes).

    ``key`` is the property name the values sit under; it selects the e-mail/currency/country
    and quantity rules.

    >>> equivalent({"email": "A@X.no ", "price": "10.00"}, {"email": "a@x.no", "price": 10})
    True
    >>> equivalent({"date": "2024-01-01"}, {"date": 1704067200, "other": 1})
    True
    """
    if _is_empty(payload):
        return _is_empty(target)
    if isinstance(payload, Mapping):
        if _is_empty(target):
            return all(_is_empty(v) for v in payload.values())
        if not isinstance(target, Mapping):
            return False
        return all(equivalent(v, target.get(k), str(k)) for k, v in payload.items())
    if isinstance(payload, list | tuple):
        if not isinstance(target, list | tuple) or len(target) != len(payload):
            return False
        unused = list(target)
        for item in payload:
            match = next((i for i, t in enumerate(unused) if equivalent(item, t, key)), None)
            if match is None:
                return False
            unused.pop(match)
        return True
    if _is_empty(target) or isinstance(target, Mapping | list | tuple):
        return False
    return _scalar_equal(payload, target, key)


def differences(payload: Mapping[str, Any], target: Mapping[str, Any] | None) -> list[str]:
    """The payload's top-level keys whose values the target does not already hold, sorted."""
    current = target or {}
    return sorted(k for k, v in payload.items() if not equivalent(v, current.get(k), k))


def to_plain(value: Any) -> Any:
    """Turn typed entity values into plain JSON for a system's API (recursively).

    Decimals become JSON numbers (integers when whole), datetimes ISO-8601 UTC with ``Z``, dates
    ``YYYY-MM-DD``, NIs their identifier text (``~:crm-person:7`` → ``crm-person:7``), URIs and
    UUIDs their text, bytes base64. The connector refuses anything else that is not JSON.
    """
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, NI):
        return value.text
    if isinstance(value, URI | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def payload_hash(payload: Any) -> str:
    """md5 of the payload's plain JSON with sorted keys: what was sent, for the share dataset."""
    text = json.dumps(to_plain(payload), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


class _Search(Protocol):
    def search(self, value: Any) -> Any: ...


def project(record: Mapping[str, Any], compare: Mapping[str, _Search]) -> dict[str, Any]:
    """A system record as a share payload sees it: plain JSON with each ``compare`` field read
    through its path (Wave's ``currency`` at ``currency.code``).

    The share sink and the plan both compare payloads against this view; one function keeps
    them from ever disagreeing about what "unchanged" means.
    """
    plain = to_plain(record)
    out = dict(plain)
    for name, expression in compare.items():
        out[name] = expression.search(plain)
    return out
