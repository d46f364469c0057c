"""The ``hub`` fixture: a real in-memory store and a clock the test sets."""

from __future__ import annotations

import pytest
from survivorship_support import Hub

from engine.clock import FixedClock
from engine.store import Store


@pytest.fixture
def hub(store: Store, clock: FixedClock) -> Hub:
    return Hub(store, clock)
