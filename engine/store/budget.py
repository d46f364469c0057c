"""The hub database's memory budget: how much DuckDB may hold before it spills to disk.

Design notes (measurements in docs/decisions/scale.md, "Memory budget")
----------------------------------------------------------------------
* A pipe run writes in one transaction, and DuckDB keeps the transaction's new rows (and the
  temporary tables of a merge) in its buffer pool until the commit. Without a limit DuckDB takes
  80 % of the machine; with a limit it spills the rest to ``temp_directory`` (``<db>.tmp`` by
  default, next to the database file), which costs a few seconds, not correctness.
* The hub process's target is 1.5 GB peak RSS (issue 8). Python, pyarrow and one batch of
  decoded entities take ~300-400 MB next to DuckDB, so the default budget is
  :data:`DEFAULT_LIMIT_MB`, and less on a small machine (:data:`RAM_FRACTION` of its memory).
* ``HUB_MEMORY_LIMIT`` (a DuckDB size such as ``"2GB"``) and ``HUB_TEMP_DIRECTORY`` override
  the defaults for a whole deployment; :class:`engine.store.Store` also takes both as
  arguments, which win over the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["DEFAULT_LIMIT_MB", "MIN_LIMIT_MB", "RAM_FRACTION", "memory_limit", "temp_directory"]

DEFAULT_LIMIT_MB = 640
"""DuckDB's share of the 1.5 GB process budget on a machine with enough memory."""
MIN_LIMIT_MB = 128
"""Below this DuckDB cannot hold the hash tables of a large join and fails instead of spilling."""
RAM_FRACTION = 8
"""On a small machine DuckDB gets ``1 / RAM_FRACTION`` of the physical memory."""

_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def physical_memory_mb() -> int | None:
    """The machine's memory in MB, or ``None`` where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit(
    explicit: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    ram_mb: int | None = None,
) -> str:
    """DuckDB's ``memory_limit``: the argument, else ``HUB_MEMORY_LIMIT``, else the default.

    The default is :data:`DEFAULT_LIMIT_MB`, capped at ``1 / RAM_FRACTION`` of ``ram_mb`` (the
    machine's memory when not given) and never below :data:`MIN_LIMIT_MB`. A size that is not
    ``<number><unit>`` raises ``ValueError`` (it is spliced into a ``SET`` statement).
    """
    env = os.environ if environ is None else environ
    chosen = explicit or env.get("HUB_MEMORY_LIMIT") or None
    if chosen is not None:
        if not _SIZE.match(chosen):
            raise ValueError(f"memory limit {chosen!r} is not a size such as '640MB' or '2GB'")
        return chosen.strip()
    ram = physical_memory_mb() if ram_mb is None else ram_mb
    limit = DEFAULT_LIMIT_MB if ram is None else min(DEFAULT_LIMIT_MB, ram // RAM_FRACTION)
    return f"{max(MIN_LIMIT_MB, limit)}MB"


def temp_directory(
    explicit: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """Where DuckDB spills: the argument, else ``HUB_TEMP_DIRECTORY``, else DuckDB's default."""
    env = os.environ if environ is None else environ
    return explicit or env.get("HUB_TEMP_DIRECTORY") or None
