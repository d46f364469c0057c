"""One reconciled hub for the report tests (built once per session: two reconciles against the sandboxes, ~1 minute)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.report.world import World, reconciled_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with reconciled_world(tmp_path_factory.mktemp("report")) as built:
        yield built
