"""Support for survivorship tests: member datasets with versions at controlled times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.clock import FixedClock
from engine.config.pipes import PipeConfig, parse_pipe
from engine.entity import NI, Entity
from engine.store import Store
from engine.survivorship import Survivorship, build_survivorship

CRM = "crm-person"
ERP = "erp-person"
WEB = "web-person"
GLOBAL = "global-person"


def day(n: int) -> dt.datetime:
    """A source-system modification time: 2024-01-01 plus ``n`` days, UTC."""
    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=n)


def micros(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def global_pipe(transform: dict[str, Any], *, sink: str | None = None) -> PipeConfig:
    """A global pipe (merge source over crm, erp and web) with ``transform`` as its only one."""
    raw: dict[str, Any] = {
        "_id": GLOBAL,
        "type": "pipe",
        "namespaced_identifiers": True,
        "source": {
            "type": "merge",
            "version": 2,
            "identity": "first",
            "datasets": [f"{CRM} c", f"{ERP} e", f"{WEB} w"],
            "equality": [["eq", "c.email", "e.email"]],
        },
        "transform": [{"type": "survivorship", **transform}],
    }
    if sink is not None:
        raw["sink"] = {"type": "dataset", "dataset": sink}
    pipe = parse_pipe(raw, file="pipes/global-person.json")
    assert pipe is not None
    return pipe


def golden(*members: str, entity_id: str | None = None, **props: Any) -> Entity:
    """A merged entity as the merge source emits it: ``$ids`` as NIs, first member's ``_id``."""
    return {
        "_id": entity_id or members[0],
        "$ids": [NI.parse(m) for m in members],
        **props,
    }


@dataclass
class Hub:
    """A store plus a clock the test can set; ``put`` appends one version at a chosen time."""

    store: Store
    clock: FixedClock

    def at(self, ts: int) -> None:
        """Make the next ``_ts`` the store stamps equal ``ts`` (must be in the future)."""
        now = self.clock.now_micros()
        assert ts > now, "times must move forward"
        self.clock.advance(ts - now - 1)

    def put(self, dataset: str, *entities: Entity, ts: int | None = None) -> None:
        self.store.create_dataset_tables(dataset)
        if ts is not None:
            self.at(ts)
        self.store.dataset(dataset).append(list(entities))

    def member(
        self, dataset: str, ident: str, modified: dt.datetime | int | str | None, **props: Any
    ) -> None:
        """One version of a member in ``dataset`` with namespaced properties."""
        entity: Entity = {"_id": f"{dataset}:{ident}"}
        entity.update({f"{dataset}:{k}": v for k, v in props.items()})
        if modified is not None:
            entity["$last-modified"] = modified
        self.put(dataset, entity)

    def survivorship(self, transform: dict[str, Any], *, sink: str | None = None) -> Survivorship:
        pipe = global_pipe(transform, sink=sink)
        return build_survivorship(self.store, pipe.transforms[0], pipe)
