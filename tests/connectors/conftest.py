from __future__ import annotations

from collections.abc import Iterator

import pytest

from .scripted_server import ScriptedServer


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    """One scripted server per test module; each test starts from a clean script."""
    running = ScriptedServer()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _clean_script(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()
