"""Set-up for ``tour.ipynb``: a throw-away copy of the project and five small sandboxes.

Kept out of the notebook so the tour reads as a tour. :func:`start` copies ``pipes/`` and
``systems/`` into a temporary folder (the repository's ``datasets/`` is never touched), starts
the five sandbox systems *inside this Python process* on free ports (so they stop when
:meth:`Tour.close` runs or the kernel exits, whatever happens in between), and loads them with a
small slice of the scale-1 seed: a few ERP customers with their contacts, orders and the products
on those orders, plus the Invoiced customers that are the same companies (so the merge has
something to find). The full seed works the same way and takes about a minute and a half.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.hub import Hub
from engine.sandbox.base import SandboxSystem
from engine.sandbox.manager import SYSTEMS, create_system, sandbox_env
from engine.sandbox.seed import seed_data
from engine.sandbox.server import SandboxServer

Records = dict[str, dict[str, list[dict[str, Any]]]]

REPO = Path(__file__).resolve().parent.parent


def small_seed(orders: int = 3) -> Records:
    """The first ``orders`` ERP orders and everything they reference, plus Invoiced twins."""
    full = seed_data(1)
    erp = full["customerp"]

    def twins_of(customer: dict[str, Any]) -> list[dict[str, Any]]:
        keys = {customer.get("email"), customer.get("org_number")} - {None}
        return [
            c for c in full["invoiced"]["customers"] if {c.get("email"), c.get("tax_id")} & keys
        ]

    by_id = {c["id"]: c for c in erp["customers"]}
    kept_orders = [o for o in erp["orders"] if twins_of(by_id[o["customer_id"]])][:orders]
    customer_ids = {o["customer_id"] for o in kept_orders}
    product_ids = {line["product_id"] for o in kept_orders for line in o["lines"]}
    customers = [c for c in erp["customers"] if c["id"] in customer_ids]
    twins = [t for c in customers for t in twins_of(c)]
    return {
        "customerp": {
            "customers": customers,
            "contacts": [c for c in erp["contacts"] if c["customer_id"] in customer_ids],
            "products": [p for p in erp["products"] if p["id"] in product_ids],
            "orders": kept_orders,
        },
        "invoiced": {"customers": twins},
    }


@dataclass
class Tour:
    """The running tour: its folder, the sandbox systems and their URLs, and the open hub."""

    folder: Path
    systems: dict[str, tuple[SandboxSystem, str]]
    hub: Hub
    _stack: contextlib.ExitStack = field(repr=False)

    def records(self, system: str, resource: str) -> list[dict[str, Any]]:
        """What a sandbox system holds now (to see what the hub sent it)."""
        return list(self.systems[system][0].records(resource))

    def close(self) -> None:
        """Close the hub, stop the sandboxes and delete the temporary folder."""
        self._stack.close()


def start(orders: int = 3) -> Tour:
    """Copy the project to a temporary folder, start small sandboxes, open a hub on them."""
    folder = Path(os.environ.get("HUB_TOUR_DIR") or tempfile.mkdtemp(prefix="hub-tour-"))
    stack = contextlib.ExitStack()
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    try:
        for part in ("pipes", "systems"):
            shutil.copytree(REPO / part, folder / part, dirs_exist_ok=True)
        records = small_seed(orders)
        systems: dict[str, tuple[SandboxSystem, str]] = {}
        for system_id in SYSTEMS:
            system = create_system(system_id, None)
            for resource in system.resources:
                if resource in records.get(system_id, {}):
                    system.load_records(resource, records[system_id][resource])
            server = stack.enter_context(SandboxServer(system, port=0))
            systems[system_id] = (system, server.url)
        status = {
            sid: {"url": url, "running": True, **system.credentials()}
            for sid, (system, url) in systems.items()
        }
        env = sandbox_env(status)
        hub = stack.enter_context(
            Hub.open(folder, db=folder / "datasets" / "hub.duckdb", env=env, secrets=env)
        )
    except BaseException:
        stack.close()
        raise
    return Tour(folder, systems, hub, stack)
