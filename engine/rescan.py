"""Scheduled rescans: when a pipe that reads incrementally re-reads its source in full.

Design notes
------------
* Sesam's pump (sesam-hub §3.7, §4): with continuation support most runs are incremental, so
  deletion tracking happens only on a reset or a *rescan*, a full re-read scheduled by
  ``rescan_run_count`` (every N-th run) or ``rescan_cron_expression`` (due once the cron fired
  after the last full run). The two settings exclude each other (checked with the config).
* The schedule is computed from the run log (:func:`engine.store.runs.last_full_run`), not from
  state of its own: a full run for any reason (the first run, ``--full``, a reset, a forced
  collect) restarts the count, and a hub file written before rescans existed needs no
  migration. A pipe with a schedule and no recorded full run is due at once.
* Only successful runs count; a failed rescan is retried by the next run. Dry runs are never
  recorded, so a plan neither triggers nor postpones a rescan.
* The nightly reconcile relies on this to keep collects cheap: a collect with a schedule lists
  only what changed since its last run (the system's ``since`` filter) on ordinary nights and
  everything on rescan nights (docs/decisions/scale.md, "Incremental nights, scheduled
  rescans").
"""

from __future__ import annotations

from engine.config.pipes import PipeConfig
from engine.cron import parse_cron
from engine.store import Store
from engine.store.runs import last_full_run

__all__ = ["rescan_due"]


def rescan_due(store: Store, pipe: PipeConfig, now_micros: int) -> str | None:
    """Why ``pipe``'s next run must be a full rescan, or ``None`` when it is not due."""
    pump = pipe.pump
    if not pump.rescans:
        return None
    last_full, since_full = last_full_run(store, pipe.id)
    if last_full is None:
        return "no full run is recorded"
    if pump.rescan_run_count is not None:
        if since_full + 1 >= pump.rescan_run_count:
            return f"every {pump.rescan_run_count} runs (rescan_run_count)"
        return None
    assert pump.rescan_cron_expression is not None  # pump.rescans
    cron = parse_cron(pump.rescan_cron_expression)
    if cron.next_fire_micros(last_full) <= now_micros:
        return f"the rescan cron {cron.text!r} fired after the last full run"
    return None
