"""DTL date/time functions: ``now``, ``datetime``, ``datetime-parse``, ``datetime-format``,
``datetime-plus``, ``datetime-diff``, ``datetime-shift``, ``is-datetime``.

Design notes
------------
* Datetimes are aware UTC :class:`datetime.datetime` values with microsecond precision (Sesam
  keeps nanoseconds; finer digits are truncated on the way in). A date (``"~t2015-12-31"``) is
  treated as midnight UTC by every function here.
* ``datetime-parse``/``datetime-format`` implement Sesam's documented tokens themselves
  (``%d %e %H %I %m %M %p %S %f %y %Y %z %%``), because ``strptime`` is locale-dependent and
  does not take nine fraction digits or ``+HH:MM``. Other ``%`` tokens fall back to Python's
  ``strptime``/``strftime``. Without ``%z`` the input is read in the TIMEZONE argument (default
  UTC, IANA names through ``zoneinfo``/``tzdata``) and converted to UTC.
* ``datetime-diff`` returns START − END truncated toward zero (sesam-hub.md §5.6, §10.10).
* ``now`` reads the run context's clock, so tests and re-runs can pin it.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
import zoneinfo
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.dtl.functions.types import cast_with_default
from engine.dtl.registry import SpecCollector
from engine.dtl.values import DROP, first_value, map_each, to_aware
from engine.entity import parse_datetime
from engine.errors import DtlEvalError

if TYPE_CHECKING:
    from engine.dtl.env import Env
    from engine.dtl.registry import Evaluator

FUNCTIONS = SpecCollector()

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_UNITS_US: Mapping[str, int] = MappingProxyType(
    {
        "week": 7 * 86_400_000_000,
        "day": 86_400_000_000,
        "hour": 3_600_000_000,
        "minute": 60_000_000,
        "second": 1_000_000,
        "millisecond": 1_000,
        "microsecond": 1,
    }
)
PARTS = ("year", "month", *_UNITS_US, "nanosecond")


def zone(name: Any) -> _dt.tzinfo:
    """The timezone called ``name`` (an IANA name such as ``Europe/Oslo``, or ``UTC``)."""
    text = first_value(name)
    if text in ("UTC", "Z", "utc"):
        return _dt.UTC
    if not isinstance(text, str):
        raise DtlEvalError(f"expected a timezone name, got {text!r}")
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DtlEvalError(f"unknown timezone {text!r} (expected an IANA name)") from None


def as_datetime(value: Any) -> _dt.datetime | None:
    """A datetime or date value as an aware UTC datetime; anything else gives ``None``."""
    if isinstance(value, _dt.date):
        return to_aware(value).astimezone(_dt.UTC)
    return None


@FUNCTIONS.expression("now", min_args=0, max_args=0, lazy=True, deterministic=False)
def now(env: Env) -> _dt.datetime:
    """The current time as a UTC datetime.

    The current time as a UTC datetime (from the run's clock). Non-deterministic: it changes
    on every reprocessing, dependency tracking included."""
    return env.ctx.now().astimezone(_dt.UTC)


def to_datetime(value: Any) -> Any:
    """The ``datetime`` cast: ISO text, integers as nanoseconds since the epoch, datetimes."""
    if value is True or value is False:
        return DROP
    if isinstance(value, int):
        try:
            return _EPOCH + _dt.timedelta(microseconds=value // 1000)
        except OverflowError:
            return DROP
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            try:
                parsed = _dt.datetime.fromisoformat(value)
            except ValueError:
                return DROP
        return as_datetime(parsed)
    result = as_datetime(value)
    return DROP if result is None else result


@FUNCTIONS.expression("datetime", min_args=1, max_args=2, lazy=True)
def datetime_(env: Env, *args: Evaluator) -> Any:
    """Cast ISO strings and epoch nanoseconds to datetimes.

    ``datetime([DEFAULT], VALUES)``: cast ISO strings (``"2015-07-28T09:46:00.12345Z"``) and
    integers (nanoseconds since 1970-01-01T00:00:00Z) to datetimes; others are dropped or
    replaced by DEFAULT (evaluated with ``_`` bound to the value)."""
    return cast_with_default(env, args, to_datetime)


# --- parsing ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"%(.)", re.DOTALL)
_PATTERNS: Mapping[str, str] = MappingProxyType(
    {
        "d": r"(?P<d>\d{1,2})",
        "e": r" ?(?P<e>\d{1,2})",
        "H": r"(?P<H>\d{1,2})",
        "I": r"(?P<I>\d{1,2})",
        "m": r"(?P<m>\d{1,2})",
        "M": r"(?P<M>\d{1,2})",
        "p": r"(?P<p>[AaPp][Mm])",
        "S": r"(?P<S>\d{1,2})",
        "f": r"(?P<f>\d{1,9})",
        "y": r"(?P<y>\d{2})",
        "Y": r"(?P<Y>\d{4})",
        "z": r"(?P<z>Z|[+-]\d{2}:?\d{2})",
    }
)


def compile_format(fmt: str) -> re.Pattern[str] | None:
    """A full-match regex for a format of documented tokens, or ``None`` if it has others."""
    out: list[str] = []
    pos = 0
    seen: set[str] = set()
    for m in _TOKEN.finditer(fmt):
        out.append(re.escape(fmt[pos : m.start()]))
        token = m.group(1)
        if token == "%":
            out.append("%")
        elif token in _PATTERNS and token not in seen:
            seen.add(token)
            out.append(_PATTERNS[token])
        else:
            return None
        pos = m.end()
    out.append(re.escape(fmt[pos:]))
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


def _offset(text: str) -> _dt.timezone:
    if text in ("Z", "z"):
        return _dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return _dt.timezone(sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _from_groups(g: dict[str, str | None]) -> _dt.datetime | None:
    year = int(g.get("Y") or 0) if g.get("Y") else None
    if year is None and g.get("y"):
        short = int(g["y"] or 0)
        year = 2000 + short if short <= 68 else 1900 + short
    hour = int(g.get("H") or 0)
    if g.get("I"):
        hour = int(g["I"] or 0)
        if not 1 <= hour <= 12:
            return None
        hour %= 12
    if (g.get("p") or "").lower() == "pm":
        hour += 12 if hour < 12 else 0
    fraction = g.get("f") or ""
    try:
        result = _dt.datetime(
            year if year is not None else 1900,
            int(g.get("m") or 1),
            int(g.get("d") or g.get("e") or 1),
            hour,
            int(g.get("M") or 0),
            int(g.get("S") or 0),
            int(fraction[:6].ljust(6, "0")) if fraction else 0,
        )
    except ValueError:
        return None
    if g.get("z"):
        return result.replace(tzinfo=_offset(g["z"] or "Z"))
    return result


def parse_with(fmt: str, text: str, tz: _dt.tzinfo) -> _dt.datetime | None:
    """Parse ``text`` with ``fmt``; naive results are read in ``tz``. ``None`` if no match."""
    regex = compile_format(fmt)
    parsed: _dt.datetime | None
    if regex is not None:
        m = regex.match(text)
        parsed = _from_groups(m.groupdict()) if m else None
    else:
        try:
            parsed = _dt.datetime.strptime(text, fmt)
        except ValueError:
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(_dt.UTC)
    except (OverflowError, ValueError):
        return None


@FUNCTIONS.expression("datetime-parse", min_args=2, max_args=3)
def datetime_parse(*args: Any) -> Any:
    """Parse strings with a format into UTC datetimes.

    ``datetime-parse([TIMEZONE], FORMAT, VALUES)``: parse strings with FORMAT into UTC
    datetimes. Tokens: ``%d %e %H %I %m %M %p %S %f %y %Y %z %%`` (``%y`` 00–68 → 20xx,
    69–99 → 19xx; ``%z`` is ``+HHMM``/``+HH:MM``). Without ``%z`` the text is wall-clock time in
    TIMEZONE (default UTC). Values that do not match are dropped."""
    tz = zone(args[0]) if len(args) == 3 else _dt.UTC
    fmt = first_value(args[-2])
    if not isinstance(fmt, str):
        raise DtlEvalError(f"datetime-parse: FORMAT must be a string, got {fmt!r}")

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            return DROP
        result = parse_with(fmt, value, tz)
        return DROP if result is None else result

    return map_each(args[-1], convert)


# --- formatting -------------------------------------------------------------------------------


def format_with(fmt: str, value: _dt.datetime) -> str:
    """Format an aware datetime with the documented tokens (others through ``strftime``)."""

    def token(m: re.Match[str]) -> str:
        t = m.group(1)
        if t == "d":
            return f"{value.day:02d}"
        if t == "e":
            return str(value.day)
        if t == "H":
            return f"{value.hour:02d}"
        if t == "I":
            return f"{(value.hour % 12) or 12:02d}"
        if t == "m":
            return f"{value.month:02d}"
        if t == "M":
            return f"{value.minute:02d}"
        if t == "p":
            return "AM" if value.hour < 12 else "PM"
        if t == "S":
            return f"{value.second:02d}"
        if t == "f":
            return f"{value.microsecond:06d}"
        if t == "y":
            return f"{value.year % 100:02d}"
        if t == "Y":
            return f"{value.year:04d}"
        if t == "z":
            offset = value.utcoffset() or _dt.timedelta(0)
            sign = "-" if offset < _dt.timedelta(0) else "+"
            minutes = abs(int(offset.total_seconds())) // 60
            return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
        if t == "%":
            return "%"
        return value.strftime("%" + t)

    return _TOKEN.sub(token, fmt)


@FUNCTIONS.expression("datetime-format", min_args=2, max_args=3)
def datetime_format(*args: Any) -> Any:
    """Format datetimes as strings, in a timezone.

    ``datetime-format([TIMEZONE], FORMAT, VALUES)``: datetimes converted to TIMEZONE (default
    UTC) and formatted with the ``datetime-parse`` tokens (microseconds at most, via ``%f``).
    Non-datetimes are ignored."""
    tz = zone(args[0]) if len(args) == 3 else _dt.UTC
    fmt = first_value(args[-2])
    if not isinstance(fmt, str):
        raise DtlEvalError(f"datetime-format: FORMAT must be a string, got {fmt!r}")

    def convert(value: Any) -> Any:
        dt = as_datetime(value)
        return DROP if dt is None else format_with(fmt, dt.astimezone(tz))

    return map_each(args[-1], convert)


# --- arithmetic -------------------------------------------------------------------------------


def _part(value: Any, name: str) -> str:
    part = first_value(value)
    if part not in PARTS:
        raise DtlEvalError(f"{name}: DATEPART must be one of {', '.join(PARTS)}; got {part!r}")
    return str(part)


def add_months(value: _dt.datetime, months: int) -> _dt.datetime:
    """``value`` plus whole months, the day clamped to the target month (Jan 31 + 1 → Feb 28)."""
    year, month0 = divmod(value.month - 1 + months, 12)
    year += value.year
    day = min(value.day, calendar.monthrange(year, month0 + 1)[1])
    return value.replace(year=year, month=month0 + 1, day=day)


def _toward_zero(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // denominator
    return quotient if numerator >= 0 else -quotient


def plus(part: str, amount: int, value: _dt.datetime) -> _dt.datetime:
    """``value`` plus ``amount`` DATEPARTs (nanoseconds are truncated to microseconds)."""
    if part == "year":
        return add_months(value, 12 * amount)
    if part == "month":
        return add_months(value, amount)
    if part == "nanosecond":
        return value + _dt.timedelta(microseconds=_toward_zero(amount, 1000))
    return value + _dt.timedelta(microseconds=amount * _UNITS_US[part])


@FUNCTIONS.expression("datetime-plus", min_args=3, max_args=3)
def datetime_plus(part: Any, amount: Any, values: Any) -> Any:
    """Add a number of years, months, days ... to datetimes.

    ``datetime-plus(DATEPART, N, VALUES)``: add N (may be negative) of DATEPART (year, month,
    week, day, hour, minute, second, millisecond, microsecond, nanosecond) to each datetime.
    Adding months clamps the day to the month's end."""
    p = _part(part, "datetime-plus")
    n = first_value(amount)
    if not isinstance(n, int) or isinstance(n, bool):
        raise DtlEvalError(f"datetime-plus: the amount must be an integer, got {n!r}")

    def convert(value: Any) -> Any:
        dt = as_datetime(value)
        if dt is None:
            return DROP
        try:
            return plus(p, n, dt)
        except (OverflowError, ValueError):
            return DROP

    return map_each(values, convert)


def months_between(later: _dt.datetime, earlier: _dt.datetime) -> int:
    """Whole months in ``later - earlier``, truncated toward zero (negative if ``later`` is
    earlier)."""
    months = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    if months > 0 and add_months(earlier, months) > later:
        months -= 1
    elif months < 0 and add_months(earlier, months) < later:
        months += 1
    return months


@FUNCTIONS.expression("datetime-diff", min_args=3, max_args=3)
def datetime_diff(part: Any, start: Any, end: Any) -> Any:
    """The difference START − END of two datetimes in whole DATEPARTs.

    ``datetime-diff(DATEPART, START, END)``: START − END in whole DATEPARTs, truncated toward
    zero (±11 months is 0 years, ±8 days is ±1 week); null unless both are datetimes."""
    p = _part(part, "datetime-diff")
    a, b = as_datetime(first_value(start)), as_datetime(first_value(end))
    if a is None or b is None:
        return None
    if p in ("year", "month"):
        months = months_between(a, b)
        return _toward_zero(months, 12) if p == "year" else months
    micros = (a - b) // _dt.timedelta(microseconds=1)
    if p == "nanosecond":
        return micros * 1000
    return _toward_zero(micros, _UNITS_US[p])


@FUNCTIONS.expression("datetime-shift", min_args=3, max_args=3)
def datetime_shift(from_tz: Any, to_tz: Any, values: Any) -> Any:
    """Re-read datetimes' wall-clock time from one timezone in another.

    ``datetime-shift(FROM_TIMEZONE, TO_TIMEZONE, VALUES)``: read each datetime's wall-clock
    time in FROM_TIMEZONE and give the same instant's wall-clock time in TO_TIMEZONE:
    Europe/Oslo → UTC turns 09:46 into 07:46Z in summer."""
    source, target = zone(from_tz), zone(to_tz)

    def convert(value: Any) -> Any:
        dt = as_datetime(value)
        if dt is None:
            return DROP
        try:
            local = dt.replace(tzinfo=source).astimezone(target)
        except (OverflowError, ValueError):
            return DROP
        return local.replace(tzinfo=_dt.UTC)

    return map_each(values, convert)


@FUNCTIONS.expression("is-datetime", min_args=1, max_args=1)
def is_datetime(value: Any) -> bool:
    """True if the value (or the first list element) is a datetime (or date) value."""
    return isinstance(first_value(value), _dt.date)
