"""Build validated system configs for tests the way the hub does: through the config loader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.config.systems import SystemConfig, load_system_config
from engine.connectors.rest import RestClient
from engine.errors import JsonPath

SECRET_KEY = "sk_live_TOPSECRET_42"


def make_system(url: str, operations: dict[str, Any], **extra: Any) -> SystemConfig:
    """A ``system:rest`` pointing at ``url`` with fast retries unless ``extra`` overrides them."""
    raw: dict[str, Any] = {
        "_id": "testsys",
        "type": "system:rest",
        "base_url": url,
        "timeout": 2,
        "retries": {"max_attempts": 4, "backoff": 0.5, "max_backoff": 8},
        "operations": operations,
    }
    raw.update(extra)
    return load_system_config(
        raw, file="systems/testsys.json", path=JsonPath(), env={}, secrets={"api-key": SECRET_KEY}
    )


class Sleeps:
    """An injected ``sleep`` that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(
    url: str,
    operations: dict[str, Any],
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    **extra: Any,
) -> RestClient:
    """A RestClient with no real waiting and a fixed jitter (``rng`` = 0.5)."""
    return RestClient(
        make_system(url, operations, **extra),
        sleep=sleep or Sleeps(),
        clock=clock or (lambda: 1_700_000_000.0),
        rng=lambda: 0.5,
    )
