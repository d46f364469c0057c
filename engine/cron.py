"""Cron expressions for the pump's ``cron_expression``: parse once, then find the next fire time.

Design notes
------------
* Five fields, ``minute hour day-of-month month day-of-week``, each ``*``, a number, a range
  ``a-b``, a step ``*/n`` / ``a-b/n`` / ``a/n`` (Sesam's docs use ``0/5``: from 0 every 5), or a
  comma list of those. ``?`` (Quartz spelling, shown in Sesam's docs as ``0/5 14,18 * * ?``)
  means ``*``. Month and weekday names (``JAN``, ``MON``) are accepted; weekday 7 is Sunday.
* Standard cron's day rule: when both day-of-month and day-of-week are restricted, a day matches
  if *either* matches; otherwise both must.
* Times are UTC (the hub has no time zone setting); fire times are whole minutes. The next fire
  time is strictly after the given instant.
* Searching jumps month → day → hour → minute, so it takes at most a few thousand steps; an
  expression that can never fire (``0 0 31 2 *``) is a :class:`ConfigError` at parse time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.errors import ConfigError

__all__ = ["CronExpression", "parse_cron"]

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

#: (name, lowest, highest, names) per field, in order.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i for i, m in enumerate(_MONTHS, 1)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)

#: Leap days recur within 8 years (2096 → 2104), so 9 years of search finds any possible fire.
_SEARCH_YEARS = 9


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed cron expression; :meth:`next_fire` gives the next matching minute."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """Cron weekdays: 0 = Sunday ... 6 = Saturday (7 is folded into 0)."""
    days_restricted: bool
    weekdays_restricted: bool

    def matches(self, when: dt.datetime) -> bool:
        """Whether the minute containing ``when`` (UTC) is a fire time."""
        when = _utc(when)
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and self._day_matches(when.date())
        )

    def _day_matches(self, day: dt.date) -> bool:
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_fire(self, after: dt.datetime) -> dt.datetime:
        """The first fire time strictly after ``after`` (an aware UTC datetime, whole minute)."""
        t = _utc(after).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = t.replace(year=t.year + _SEARCH_YEARS, month=1, day=1, hour=0, minute=0)
        while t < limit:
            if t.month not in self.months:
                t = _next_month(t)
            elif not self._day_matches(t.date()):
                t = t.replace(hour=0, minute=0) + dt.timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + dt.timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += dt.timedelta(minutes=1)
            else:
                return t
        raise ConfigError(f"cron expression {self.text!r} never fires")

    def next_fire_micros(self, after_micros: int) -> int:
        """:meth:`next_fire` on ``_ts``-style microseconds since the epoch."""
        after = _EPOCH + dt.timedelta(microseconds=after_micros)
        return (self.next_fire(after) - _EPOCH) // dt.timedelta(microseconds=1)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _next_month(t: dt.datetime) -> dt.datetime:
    if t.month == 12:
        return t.replace(year=t.year + 1, month=1, day=1, hour=0, minute=0)
    return t.replace(month=t.month + 1, day=1, hour=0, minute=0)


def parse_cron(text: str, *, where: str | None = None) -> CronExpression:
    """Parse a five-field cron expression; :class:`ConfigError` says which field is wrong.

    >>> sorted(parse_cron("0/20 14,18 * * ?").minutes)
    [0, 20, 40]
    """
    if not isinstance(text, str):
        raise ConfigError(f"expected a cron string, got {text!r}", file=where)
    fields = text.split()
    if len(fields) != 5:
        raise ConfigError(
            f"cron expression {text!r} has {len(fields)} fields; expected 5: "
            "minute hour day-of-month month day-of-week",
            file=where,
        )
    values = [
        _parse_field(part, name, low, high, names, text, where)
        for part, (name, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in values[4])
    expression = CronExpression(
        text=text,
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        # Vixie cron: a field starting with "*" (``*/2`` too) does not count as restricted.
        days_restricted=not fields[2].startswith(("*", "?")),
        weekdays_restricted=not fields[4].startswith(("*", "?")),
    )
    expression.next_fire(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # raises if it never fires
    return expression


def _parse_field(
    part: str,
    name: str,
    low: int,
    high: int,
    names: dict[str, int],
    text: str,
    where: str | None,
) -> frozenset[int]:
    def fail(why: str) -> ConfigError:
        return ConfigError(f"cron expression {text!r}: {name} field {part!r}: {why}", file=where)

    def number(token: str) -> int:
        upper = token.upper()
        if upper in names:
            return names[upper]
        if not token.isdigit():
            raise fail(f"expected a number {low}-{high}, got {token!r}")
        value = int(token)
        if not low <= value <= high:
            raise fail(f"{value} is outside {low}-{high}")
        return value

    out: set[int] = set()
    for item in part.split(","):
        if not item:
            raise fail("empty list item")
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise fail(f"expected a positive step, got {step_text!r}")
            step = int(step_text)
        if base in ("*", "?"):
            start, stop = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, stop = number(first), number(last)
            if start > stop:
                raise fail(f"range {base!r} runs backwards")
        else:
            start = number(base)
            # "a/n" runs from a to the end of the field (Quartz/Sesam), "a" alone is one value.
            stop = high if step_text else start
        out.update(range(start, stop + 1, step))
    return frozenset(out)
