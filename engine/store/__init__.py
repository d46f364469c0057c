"""The dataset store: DuckDB-backed, append-only, change-tracked dataset logs and pipe state."""

from __future__ import annotations

from engine.store.batches import (
    BATCH_SCHEMA,
    CanonicalEntities,
    entities_to_batch,
    table_to_entities,
)
from engine.store.dataset import AppendResult, Dataset, DatasetCounts
from engine.store.store import DatasetInfo, PipeState, Store

__all__ = [
    "BATCH_SCHEMA",
    "AppendResult",
    "CanonicalEntities",
    "Dataset",
    "DatasetCounts",
    "DatasetInfo",
    "PipeState",
    "Store",
    "entities_to_batch",
    "table_to_entities",
]
