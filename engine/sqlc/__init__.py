"""DTL compiled to DuckDB SQL: the fast path of dataset → DTL → dataset pipes.

``plan_pipe(pipe)`` returns a :class:`SqlPlan` (``plan.sql`` for ``pipe explain``,
``plan.execute(store, since)`` yielding :class:`SqlBatch` es ready for the dataset sink) or a
:class:`Refusal` (reason + JSON path) when the pipe must use the interpreter. The compiled SQL
writes the exact canonical body text the Python side would write, so ``md5(body)`` and the
store's change detection are unchanged; rows whose values fall outside what SQL reproduces
exactly are handed to the interpreter, row by row.
"""

from __future__ import annotations

from engine.sqlc.executor import MAX_KEYS, SqlBatch, discover_keys
from engine.sqlc.frame import NotCompilable
from engine.sqlc.plan import Refusal, SqlPlan, plan_pipe

__all__ = [
    "MAX_KEYS",
    "NotCompilable",
    "Refusal",
    "SqlBatch",
    "SqlPlan",
    "discover_keys",
    "plan_pipe",
]
