"""Fingerprints of the raw records a collect wrote, so an unchanged record skips canonicalising.

The nightly reconcile lists every system in full, and ~99 % of the records are unchanged. Their
entity's canonical body (sorted JSON of every value, ~15-20 µs for an ERP order with its lines)
was the largest cost left per record, only for the dataset sink to find the same hash stored.
A fingerprint of the record as the system sent it costs ~4 µs (``marshal`` of the parsed record
plus a 16-byte BLAKE2b), so the collect keeps, per collected dataset, one row per record:

    ``hub_collect_fp_<tid> (_id, fp, _hash)``: the fingerprint of what was read and the hash of
    the body that was appended for it.

A record is skipped (counted unchanged, still seen by deletion tracking) only when its
fingerprint equals the stored one **and** the dataset's latest version still has that
``_hash``. Why that is exact: the body is a function of the record, its parent id, its ``$origin``
and the source's settings (id and modification expressions, parent property), all of which are
in the fingerprint with :data:`RECIPE_VERSION`; so an equal fingerprint means the body would be
the one hashed then, and an equal current hash means appending it would change nothing. A stale
row (after a reset, a restore, another pipe writing the dataset, a new hub version) therefore
costs one canonicalisation, never a wrong skip. The rows are written in the run's transaction,
so a failed run leaves them as they were.

``marshal`` (format 2, without object references) is deterministic for equal parsed JSON in one
key order; where two equal records could still marshal differently (a string interned in one
process and not another) the fingerprints differ and the record is merely canonicalised.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from engine.entity import canonical_json
from engine.store import Store

__all__ = ["RECIPE_VERSION", "Fingerprints", "fingerprint"]

RECIPE_VERSION = 1
"""Bump when the entity a collect builds from a record changes, so old fingerprints miss."""

_SCHEMA = pa.schema([pa.field("_id", pa.string())])
_ROWS = pa.schema(
    [
        pa.field("_id", pa.string()),
        pa.field("fp", pa.binary()),
        pa.field("_hash", pa.string()),
        pa.field("rn", pa.int64()),
    ]
)


def fingerprint(recipe: tuple[Any, ...], record: Any, parent_id: str | None, origin: Any) -> bytes:
    """16 bytes identifying what a record's entity is built from (``b""``: cannot tell)."""
    try:
        origin_text = None if origin is None else canonical_json(origin)
        data = marshal.dumps((RECIPE_VERSION, recipe, record, parent_id, origin_text), 2)
    except (ValueError, TypeError):
        return b""  # not plain JSON (a client that is not reading JSON): always canonicalise
    return hashlib.blake2b(data, digest_size=16).digest()


class Fingerprints:
    """The fingerprint table of one collected dataset (the dataset's tables must exist)."""

    def __init__(self, store: Store, tid: int) -> None:
        self.store = store
        self.table = f"hub_collect_fp_{int(tid)}"
        self.cur = f"cur_{int(tid)}"
        store.run(
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(_id VARCHAR NOT NULL, fp BLOB NOT NULL, _hash VARCHAR NOT NULL)"
        )

    def unchanged(self, ids: Sequence[str]) -> dict[str, bytes]:
        """``_id -> fp`` of those ``ids`` whose stored row still matches the latest version."""
        if not ids:
            return {}
        batch = pa.table([list(ids)], schema=_SCHEMA)
        rows = self._query(
            batch,
            f"""SELECT f._id, f.fp FROM hub_fp_rows b
                JOIN {self.table} f ON f._id = b._id
                JOIN {self.cur} c ON c._id = f._id AND c._hash = f._hash""",
        )
        return {str(i): bytes(fp) for i, fp in rows}

    def save(self, ids: list[str], fps: list[bytes], hashes: list[str]) -> None:
        """Record (or replace) the fingerprints and body hashes of records just appended.

        An id given twice keeps its last row, as the dataset keeps the last version.
        """
        if not ids:
            return
        rows = pa.table([ids, fps, hashes, list(range(len(ids)))], schema=_ROWS)
        # no primary key: DuckDB refuses to replace one key twice in a transaction
        self._query(rows, f"DELETE FROM {self.table} WHERE _id IN (SELECT _id FROM hub_fp_rows)")
        self._query(
            rows,
            f"""INSERT INTO {self.table}
                SELECT _id, fp, _hash FROM hub_fp_rows
                QUALIFY row_number() OVER (PARTITION BY _id ORDER BY rn DESC) = 1""",
        )

    def _query(self, rows: pa.Table, sql: str) -> list[Any]:
        """Run ``sql`` with ``hub_fp_rows`` bound to ``rows`` for this one statement."""
        result = self.store.con.from_arrow(rows).query("hub_fp_rows", sql)
        return [] if result is None else list(result.fetchall())
