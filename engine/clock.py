"""Time as an injected service: the store stamps ``_ts`` and the runner times runs through it.

Tests pass a :class:`FixedClock` so outputs are deterministic; everything else uses
:class:`SystemClock`. ``_ts`` values are microseconds since the UNIX epoch (Sesam's examples use
16-digit microsecond stamps).
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "micros_to_datetime"]


class Clock(Protocol):
    def now_micros(self) -> int:
        """Microseconds since the UNIX epoch."""
        ...


class SystemClock:
    """The wall clock, made strictly increasing so two stamps in one process never tie."""

    def __init__(self) -> None:
        self._last = 0

    def now_micros(self) -> int:
        now = time.time_ns() // 1000
        if now <= self._last:
            now = self._last + 1
        self._last = now
        return now


@dataclass
class FixedClock:
    """A clock for tests: starts at ``start`` and advances by ``step`` on every read."""

    start: int = 1_700_000_000_000_000
    step: int = 1

    def __post_init__(self) -> None:
        self._next = self.start

    def now_micros(self) -> int:
        value = self._next
        self._next += self.step
        return value

    def advance(self, micros: int) -> None:
        self._next += micros


def micros_to_datetime(micros: int) -> _dt.datetime:
    """A ``_ts`` value as an aware UTC datetime."""
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(microseconds=micros)
