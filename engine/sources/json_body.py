"""The canonical body of an entity built from a JSON record, without walking every value.

A collect lists every record of a system, and on the nightly full listing ~99 % of them are
unchanged: the dataset sink's work for those is only the body hash it compares against the
stored one. :func:`engine.entity.hash_body` computes that body by walking every value in Python
(``engine.entity.encode``: transit-escape strings that start with ``~``, tag typed values) and
then serialising; for an ERP order with its lines that walk was half of the hub's CPU per
record. A record parsed from a JSON response needs no walk: its keys are strings and its values
are already plain JSON, so ``encode`` changes nothing in it unless some string starts with
``~``. :func:`json_entity_body` therefore serialises the entity straight away (C speed) with the
few values the source added itself (``_id``, ``$last-modified``, ``$origin``, the parent id)
encoded beforehand, and checks the one case it could get wrong by counting ``"~`` in the text:

* a JSON string token starting with ``~`` always appears as ``"~`` in the text, and a ``"``
  inside a string is escaped as ``\\"`` (``~`` never is), so every ``"~`` is either such a token
  or an escaped quote before a ``~``; the count adds up token by token;
* the tokens of the added keys and values are known, so if the whole text has no more ``"~``
  than they do, no record string starts with ``~`` and the text equals ``hash_body``'s.

Anything else (a count that does not match, a value JSON cannot hold such as ``NaN`` or a
Decimal, an added value the entity model refuses) answers ``None`` and the caller uses
``hash_body``, which either agrees or raises the usual :class:`~engine.entity.EntityError`.
The one thing not checked is that every key is a string (``json`` would write a number key as
text where ``hash_body`` refuses it): records parsed from JSON cannot have any other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from engine.entity import DELETED, ID, Entity, encode, hash_body
from engine.errors import EntityError
from engine.sources.fingerprints import Fingerprints
from engine.store import BATCH_SCHEMA, CanonicalEntities

__all__ = ["BodyBatch", "json_entity_body"]

_IDS = pa.schema([pa.field("_id", pa.string())])
_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _tildes(value: Any) -> int:
    """How often ``"~`` occurs in the canonical JSON text of an (already encoded) value."""
    if type(value) is str:
        return value.startswith("~") + value.count('"~')
    if value is None or type(value) in (bool, int, float):
        return 0
    return _ENCODE(value).count('"~')


def json_entity_body(entity: Entity, added: Iterable[str]) -> str | None:
    """``hash_body(entity)``, or ``None`` when this shortcut cannot tell (use ``hash_body``).

    ``entity`` must hold a JSON-parsed record's properties (string keys, plain JSON values)
    plus the keys in ``added``, whose values may be anything the entity model holds.
    """
    body = {k: v for k, v in entity.items() if not k.startswith("_")}
    entity_id = entity.get(ID)
    if not isinstance(entity_id, str):
        return None
    expected = 0
    try:
        for key in added:
            if key in body:
                value = encode(body[key])
                body[key] = value
                expected += _tildes(key) + _tildes(value)
        body[ID] = encode(entity_id)
        body[DELETED] = entity.get(DELETED) is True
        expected += _tildes(ID) + _tildes(body[ID])
        text = _ENCODE(body)
    except (EntityError, TypeError, ValueError):
        return None  # NaN/infinity or a value JSON cannot hold: hash_body decides (or raises)
    return text if text.count('"~') == expected else None


class BodyBatch:
    """The entities of one source batch, handed out with their append rows when it can.

    With ``prebuild`` set, :meth:`take` answers a :class:`~engine.store.CanonicalEntities`:
    the entities whose fingerprint matches the stored one (:mod:`engine.sources.fingerprints`)
    are left out of its rows, every other one is canonicalised here (by
    :func:`json_entity_body` when it can) and its fingerprint saved. An id listed twice in one
    batch is never left out, so the last listing wins as in the dataset sink. An entity the
    entity model refuses makes it answer the plain list: the sink then fails the run with the
    usual error.
    """

    def __init__(
        self, prebuild: bool, added: tuple[str, ...], fingerprints: Fingerprints | None
    ) -> None:
        self.prebuild = prebuild
        self.added = added
        self.fingerprints = fingerprints
        self._entities: list[Entity] = []
        self._fps: list[bytes] = []

    def __len__(self) -> int:
        return len(self._entities)

    def add(self, entity: Entity, fp: bytes = b"") -> None:
        """Gather ``entity``; ``fp`` is its record's fingerprint (``b""``: none)."""
        self._entities.append(entity)
        self._fps.append(fp)

    def take(self) -> list[Entity]:
        """The gathered entities (with their rows when prebuilt); the next batch starts empty."""
        entities, fps = self._entities, self._fps
        self._entities, self._fps = [], []
        if not self.prebuild:
            return entities
        ids: list[str] = [e[ID] for e in entities]
        try:
            stored = self.fingerprints.unchanged(ids) if self.fingerprints is not None else {}
            twice = _repeated(ids) if stored else set()
            rows: tuple[list[str], list[bool], list[str]] = ([], [], [])
            saved: tuple[list[str], list[bytes], list[str]] = ([], [], [])
            for entity, entity_id, fp in zip(entities, ids, fps, strict=True):
                if fp and stored.get(entity_id) == fp and entity_id not in twice:
                    continue
                body = json_entity_body(entity, self.added) or hash_body(entity)
                rows[0].append(entity_id)
                rows[1].append(entity.get(DELETED) is True)
                rows[2].append(body)
                if fp:
                    saved[0].append(entity_id)
                    saved[1].append(fp)
                    saved[2].append(hashlib.md5(body.encode("utf-8")).hexdigest())
            out = CanonicalEntities(
                entities,
                pa.table(list(rows), schema=BATCH_SCHEMA),
                pa.table([ids], schema=_IDS),
            )
        except (EntityError, ValueError):
            # an entity the model refuses, or text Arrow cannot hold (a lone surrogate): the
            # sink canonicalises this batch itself and fails the run as it always did
            return entities
        if self.fingerprints is not None:
            self.fingerprints.save(*saved)
        return out


def _repeated(ids: list[str]) -> set[str]:
    """The ids that occur more than once (usually none: a page shifted during the listing)."""
    if len(set(ids)) == len(ids):
        return set()
    seen: set[str] = set()
    twice: set[str] = set()
    for entity_id in ids:
        (twice if entity_id in seen else seen).add(entity_id)
    return twice
