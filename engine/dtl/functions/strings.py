"""DTL string functions: casts (``string``, ``uri``), case, length, joining and splitting,
stripping and padding, ``replace``, ``substring``, wildcard ``matches`` and URL quoting.

All of them follow the mapping rule (single → single, list → list, null → null) and ignore
values that are not strings ("non-string values are ignored"), except ``string`` which casts
every non-null value. Optional leading arguments (SEPARATOR, CHARACTERS, SAFE, END) are told
apart by the number of arguments.
"""

from __future__ import annotations

import datetime as _dt
import re
import urllib.parse
import uuid
from decimal import Decimal
from typing import Any

from engine.dtl.functions.encoding import to_json_text
from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, as_list, first_value, map_each, number_text
from engine.entity import NI, URI, format_datetime
from engine.errors import DtlEvalError

FUNCTIONS = SpecCollector()

_MAX_WIDTH = 1_000_000
"""``ljust``/``rjust`` beyond this width would build huge strings; it is an evaluation error."""


def to_string(value: Any) -> Any:
    """The ``string`` cast of one value; DROP for null and undecodable bytes."""
    if value is None:
        return DROP
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return number_text(value)
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, URI):
        return value.value
    if isinstance(value, NI | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return DROP
    return to_json_text(value, transit=False)


@FUNCTIONS.expression("string", min_args=1, max_args=1)
def string(values: Any) -> Any:
    """Cast every non-null value to a string.

    Cast every non-null value to a string: ``1`` → ``"1"``, ``124.4`` → ``"124.4"``, a URI to
    its text, bytes decoded as UTF-8, datetimes as ISO text, nested lists and dicts as JSON with
    sorted keys (``"{\\"a\\": 1, \\"b\\": 2}"``). A list maps element-wise."""
    return map_each(values, to_string)


def _strings(fn: Any) -> Any:
    def convert(value: Any) -> Any:
        return fn(value) if isinstance(value, str) else DROP

    return convert


def _text_arg(value: Any, name: str, what: str) -> str:
    text = first_value(value)
    if not isinstance(text, str):
        raise DtlEvalError(f"{name}: {what} must be a string, got {text!r}")
    return text


@FUNCTIONS.expression("upper", min_args=1, max_args=1)
def upper(values: Any) -> Any:
    """Upper-case strings; non-strings are ignored.

    ``["upper", ["list", "a", "b"]]`` → ``["A", "B"]``."""
    return map_each(values, _strings(str.upper))


@FUNCTIONS.expression("lower", min_args=1, max_args=1)
def lower(values: Any) -> Any:
    """Lower-case strings; non-strings are ignored."""
    return map_each(values, _strings(str.lower))


@FUNCTIONS.expression("length", min_args=1, max_args=1)
def length(values: Any) -> Any:
    """The number of characters of each string; non-strings are ignored."""
    return map_each(values, _strings(len))


def _flat_strings(args: tuple[Any, ...]) -> list[str]:
    out: list[str] = []
    for arg in args:
        out.extend(v for v in as_list(arg) if isinstance(v, str))
    return out


@FUNCTIONS.expression("concat", min_args=1, max_args=None)
def concat(*values: Any) -> str:
    """Concatenate the strings of all arguments.

    Concatenate the strings of all arguments (lists flattened one level); everything else is
    ignored, so ``["concat", 123, 3.14]`` is ``""``."""
    return "".join(_flat_strings(values))


@FUNCTIONS.expression("join", min_args=2, max_args=2)
def join(separator: Any, values: Any) -> str:
    """Join strings with a separator.

    ``join(SEPARATOR, VALUES)``: the strings of VALUES joined by SEPARATOR; non-strings are
    ignored. ``["join", "-", ["list", "a", "b", 123, "c"]]`` → ``"a-b-c"``."""
    return _text_arg(separator, "join", "SEPARATOR").join(_flat_strings((values,)))


@FUNCTIONS.expression("split", min_args=1, max_args=2)
def split(*args: Any) -> Any:
    """Split strings into lists.

    ``split([SEPARATOR], VALUES)``: split strings into lists. Without SEPARATOR on runs of
    whitespace; ``""`` splits into characters. Over a list the results are flattened:
    ``["split", "-", ["list", "a-b", "c-d", "e"]]`` → ``["a", "b", "c", "d", "e"]``."""
    separator = _text_arg(args[0], "split", "SEPARATOR") if len(args) == 2 else None
    values = args[-1]

    def cut(text: str) -> list[str]:
        if separator is None:
            return text.split()
        if separator == "":
            return list(text)
        return text.split(separator)

    if values is None:
        return None
    if isinstance(values, list):
        return [part for v in values if isinstance(v, str) for part in cut(v)]
    return cut(values) if isinstance(values, str) else None


def _stripper(args: tuple[Any, ...], name: str, method: Any) -> Any:
    chars = _text_arg(args[0], name, "CHARACTERS") if len(args) == 2 else None
    return map_each(args[-1], _strings(lambda s: method(s, chars)))


@FUNCTIONS.expression("strip", min_args=1, max_args=2)
def strip(*args: Any) -> Any:
    """``strip([CHARACTERS], VALUES)``: remove CHARACTERS (default: whitespace) from both ends."""
    return _stripper(args, "strip", str.strip)


@FUNCTIONS.expression("lstrip", min_args=1, max_args=2)
def lstrip(*args: Any) -> Any:
    """``lstrip([CHARACTERS], VALUES)``: remove CHARACTERS (default: whitespace) from the left."""
    return _stripper(args, "lstrip", str.lstrip)


@FUNCTIONS.expression("rstrip", min_args=1, max_args=2)
def rstrip(*args: Any) -> Any:
    """``rstrip([CHARACTERS], VALUES)``: remove CHARACTERS (default: whitespace) from the right."""
    return _stripper(args, "rstrip", str.rstrip)


def _justify(width: Any, fill: Any, values: Any, method: Any) -> Any:
    w, f = first_value(width), first_value(fill)
    if not isinstance(w, int) or isinstance(w, bool) or not isinstance(f, str) or len(f) != 1:
        return None
    if w > _MAX_WIDTH:
        raise DtlEvalError(f"WIDTH {w} is too large (at most {_MAX_WIDTH})")
    return map_each(values, _strings(lambda s: method(s, w, f)))


@FUNCTIONS.expression("ljust", min_args=3, max_args=3)
def ljust(width: Any, fill: Any, values: Any) -> Any:
    """Pad strings on the right to a width.

    ``ljust(WIDTH, FILLCHAR, VALUES)``: pad strings on the right to WIDTH characters with
    FILLCHAR; null if WIDTH is not an integer or FILLCHAR not a single character."""
    return _justify(width, fill, values, str.ljust)


@FUNCTIONS.expression("rjust", min_args=3, max_args=3)
def rjust(width: Any, fill: Any, values: Any) -> Any:
    """Pad strings on the left to a width.

    ``rjust(WIDTH, FILLCHAR, VALUES)``: pad strings on the left (``["rjust", 5, "0", "42"]``
    → ``"00042"``); null if WIDTH or FILLCHAR is bad."""
    return _justify(width, fill, values, str.rjust)


@FUNCTIONS.expression("replace", min_args=2, max_args=3)
def replace(*args: Any) -> Any:
    """Replace substrings in strings.

    ``replace(OLD, NEW, VALUES)`` replaces every OLD with NEW in the strings of VALUES;
    ``replace(MAPPING, VALUES)`` applies each key → value of the dict MAPPING in its order."""
    if len(args) == 3:
        old = _text_arg(args[0], "replace", "OLD")
        new = _text_arg(args[1], "replace", "NEW")
        pairs = [(old, new)]
    else:
        mapping = first_value(args[0])
        if not isinstance(mapping, dict):
            raise DtlEvalError(
                f"replace: with two arguments the first must be a dict, got {mapping!r}"
            )
        pairs = [(k, v) for k, v in mapping.items() if isinstance(v, str)]

    def apply(text: str) -> str:
        for old_text, new_text in pairs:
            text = text.replace(old_text, new_text)
        return text

    return map_each(args[-1], _strings(apply))


def _index(value: Any) -> int | None:
    v = first_value(value)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


@FUNCTIONS.expression("substring", min_args=2, max_args=3)
def substring(*args: Any) -> Any:
    """A slice of each string.

    ``substring(START, [END], VALUES)``: characters START (inclusive) to END (exclusive);
    negative indexes count from the end: ``["substring", -3, -1, "abcdef"]`` → ``"de"``."""
    start = _index(args[0])
    end = _index(args[1]) if len(args) == 3 else None
    if start is None or (len(args) == 3 and end is None and args[1] is not None):
        return None
    return map_each(args[-1], _strings(lambda s: s[start:end]))


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a ``*``/``?`` wildcard pattern that must match the whole text."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@FUNCTIONS.expression("matches", min_args=2, max_args=2)
def matches(pattern: Any, values: Any) -> bool:
    """Whether all values match a ``*``/``?`` wildcard pattern.

    ``matches(PATTERN, VALUES)``: true if *all* values are strings matching the ``*``/``?``
    wildcard PATTERN (case-sensitive, whole string). Null or ``[]`` gives false."""
    regex = wildcard_regex(_text_arg(pattern, "matches", "PATTERN"))
    elements = as_list(values)
    return bool(elements) and all(isinstance(v, str) and regex.match(v) for v in elements)


@FUNCTIONS.expression("url-quote", min_args=1, max_args=2)
def url_quote(*args: Any) -> Any:
    """Percent-encode strings for URLs.

    ``url-quote([SAFE_CHARS], VALUES)``: percent-encode strings as UTF-8; ``/`` is encoded
    unless listed in SAFE_CHARS (default ``""``): ``"foo bar"`` → ``"foo%20bar"``."""
    safe = _text_arg(args[0], "url-quote", "SAFE_CHARS") if len(args) == 2 else ""
    return map_each(args[-1], _strings(lambda s: urllib.parse.quote(s, safe=safe)))


@FUNCTIONS.expression("url-unquote", min_args=1, max_args=1)
def url_unquote(values: Any) -> Any:
    """Decode percent-encoded strings: ``"%2Ffoo%20bar"`` → ``"/foo bar"``."""
    return map_each(values, _strings(urllib.parse.unquote))


@FUNCTIONS.expression("uri", min_args=1, max_args=1)
def uri(values: Any) -> Any:
    """Cast strings to URI values (no escaping); URIs stay URIs; other values are ignored."""

    def convert(value: Any) -> Any:
        if isinstance(value, URI):
            return value
        return URI(value) if isinstance(value, str) else DROP

    return map_each(values, convert)
