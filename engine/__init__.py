"""A Sesam-style data hub on one laptop: DuckDB datasets, DTL pipes, merge and share.

The notebook entry point is :class:`engine.Hub` (imported lazily so ``import engine.dtl`` stays
free of DuckDB).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Hub"]


def __getattr__(name: str) -> Any:
    if name == "Hub":
        from engine.hub import Hub

        return Hub
    raise AttributeError(name)
