"""A temp project wired to in-process sandboxes, and one case per system datatype.

The project uses the repository's real ``systems/*.json`` with ``$ENV`` values from
``sandbox_env`` (as ``Hub.open(project, env=sandbox_env(manager.status()))`` does), so every
test runs config → runner → source/sink → connector → sandbox over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.clock import FixedClock
from engine.config.systems import load_systems_dir
from engine.connectors import RestClient
from engine.entity import NI
from engine.hub import Hub
from engine.runner import RunReport
from engine.sandbox.base import wave_id
from engine.sandbox.manager import create_system, sandbox_env
from engine.sandbox.server import SandboxServer
from tests.helpers import write_project

REPO = Path(__file__).resolve().parents[2]
PAGE_SIZE = 2
FAST_RETRIES = {"max_attempts": 5, "backoff": 0.01, "max_backoff": 0.05, "max_retry_after": 1}

Maker = Callable[[RestClient, int], tuple[dict[str, Any], str | None]]


@dataclass(frozen=True)
class Case:
    """One datatype of one system: how to make a valid record, change it, and break it."""

    system: str
    datatype: str
    make: Maker  # (client, n) -> (insert payload, parent id)
    edit: dict[str, Any]  # an update the hub sends
    other_edit: dict[str, Any]  # a different value a user types in the system
    bad: dict[str, Any]  # merged into a valid payload: the system must refuse it
    sink: dict[str, Any] = field(default_factory=dict)  # sink properties
    source: dict[str, Any] = field(default_factory=dict)  # source properties
    archived: tuple[str, Any] | None = None  # delete archives: (field, value) after delete

    @property
    def id(self) -> str:
        return f"{self.system}-{self.datatype}"

    def check_deleted(self, record: dict[str, Any] | None) -> bool:
        if self.archived is None:
            return record is None
        key, value = self.archived
        return record is not None and record.get(key) == value


def _simple(payload: Callable[[int], dict[str, Any]]) -> Maker:
    return lambda client, n: (payload(n), None)


def _shop_order(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    customer = client.insert("customer-insert", {"email": f"buyer{n}@shop.test"})
    product = client.insert(
        "product-insert", {"sku": f"OSKU-{n}", "name": f"Thing {n}", "regular_price": "20.00"}
    )
    lines = [{"product_id": product["id"], "quantity": 2}]
    return {"customer_id": customer["id"], "currency": "NOK", "line_items": lines}, None


def _erp_order(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    customer = client.insert("customer-insert", {"type": "company", "name": f"Buyer {n}"})
    product = client.insert(
        "product-insert", {"product_code": f"OP-{n}", "name": f"Part {n}", "sales_price": 20}
    )
    lines = [{"product_id": product["id"], "quantity": 2}]
    order = {"customer_id": customer["id"], "order_date": "2024-01-05", "currency": "NOK"}
    return {**order, "lines": lines}, None


def _crm_order(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    customer = client.insert("customer-insert", {"Name": f"Buyer {n}"})
    product = client.insert("product-insert", {"Name": f"Service {n}", "UnitPrice": 20})
    lines = [{"ProductId": product["Id"], "Quantity": 2}]
    return {"CustomerId": customer["Id"], "Title": f"Deal {n}", "Lines": lines}, None


def _invoiced_contact(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    customer = client.insert("customer-insert", {"name": f"Parent {n}"})
    return {"name": f"Person {n}", "email": f"person{n}@inv.test"}, str(customer["id"])


def _invoiced_invoice(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    customer = client.insert("customer-insert", {"name": f"Billed {n}"})
    lines = [{"name": "Work", "quantity": 2, "unit_cost": 10}]
    return {"customer": customer["id"], "currency": "nok", "items": lines}, None


WAVE_SINK: dict[str, Any] = {
    "insert_properties": {"businessId": "$ENV(wave_business_id)"},
    "update_id_property": "id",
}


def _wave_invoice(client: RestClient, n: int) -> tuple[dict[str, Any], str | None]:
    business = wave_id("Business", 1)
    customer = client.insert("customer-insert", {"businessId": business, "name": f"Billed {n}"})
    product = client.insert(
        "product-insert",
        {
            "businessId": business,
            "name": f"Consulting {n}",
            "unitPrice": "10.00",
            "incomeAccountId": wave_id("Account", 1),
        },
    )
    lines = [{"productId": product["id"], "quantity": "2", "unitPrice": "10.00"}]
    return {"customerId": customer["id"], "currency": "NOK", "items": lines}, None


CASES: list[Case] = [
    Case(
        "customwebshop",
        "customer",
        _simple(lambda n: {"email": f"c{n}@shop.test", "first_name": "Ann", "last_name": f"L{n}"}),
        {"first_name": "Anne"},
        {"first_name": "Annie"},
        {"email": None},
    ),
    Case(
        "customwebshop",
        "product",
        _simple(lambda n: {"sku": f"SKU-{n}", "name": f"Widget {n}", "regular_price": "10.00"}),
        {"name": "Widget Pro"},
        {"name": "Widget Max"},
        {"tax_class": "luxury"},
        archived=("status", "archived"),
    ),
    Case(
        "customwebshop",
        "order",
        _shop_order,
        {"customer_note": "leave at door"},
        {"customer_note": "ring twice"},
        {"customer_id": 999999},
    ),
    Case(
        "customerp",
        "customer",
        _simple(lambda n: {"type": "company", "name": f"Org {n}", "email": f"org{n}@erp.test"}),
        {"name": "Org Renamed"},
        {"name": "Org Other"},
        {"type": "alien"},
    ),
    Case(
        "customerp",
        "contact",
        _simple(lambda n: {"first_name": "Kari", "last_name": f"N{n}", "email": f"k{n}@erp.test"}),
        {"last_name": "Nordmann"},
        {"last_name": "Hansen"},
        {"first_name": None},
    ),
    Case(
        "customerp",
        "product",
        _simple(lambda n: {"product_code": f"P-{n}", "name": f"Part {n}", "sales_price": 10}),
        {"name": "Part Renamed"},
        {"name": "Part Other"},
        {"product_type": "magic"},
        archived=("is_active", False),
    ),
    Case(
        "customerp",
        "order",
        _erp_order,
        {"customer_reference": "PO-1"},
        {"customer_reference": "PO-2"},
        {"customer_id": 999999},
    ),
    Case(
        "customcrm",
        "customer",
        _simple(lambda n: {"Name": f"Account {n}", "Email": f"acc{n}@crm.test"}),
        {"Name": "Account Renamed"},
        {"Name": "Account Other"},
        {"Name": None},
    ),
    Case(
        "customcrm",
        "contact",
        _simple(lambda n: {"FirstName": "Ola", "LastName": f"N{n}", "Email": f"o{n}@crm.test"}),
        {"LastName": "Nordmann"},
        {"LastName": "Hansen"},
        {"FirstName": None},
    ),
    Case(
        "customcrm",
        "product",
        _simple(lambda n: {"Name": f"Service {n}", "Sku": f"CRM-{n}", "UnitPrice": 10}),
        {"Name": "Service Renamed"},
        {"Name": "Service Other"},
        {"ProductType": "magic"},
    ),
    Case(
        "customcrm",
        "order",
        _crm_order,
        {"Title": "Deal Renamed"},
        {"Title": "Deal Other"},
        {"CustomerId": "ACC999999"},
    ),
    Case(
        "invoiced",
        "customer",
        _simple(lambda n: {"name": f"Company {n}", "email": f"co{n}@inv.test"}),
        {"name": "Company Renamed"},
        {"name": "Company Other"},
        {"type": "alien"},
    ),
    Case(
        "invoiced",
        "contact",
        _invoiced_contact,
        {"title": "CFO"},
        {"title": "CEO"},
        {"name": None},
        source={"parent_operation": "customer-list"},
    ),
    Case(
        "invoiced",
        "invoice",
        _invoiced_invoice,
        {"notes": "thanks"},
        {"notes": "thank you"},
        {"customer": 999999},
    ),
    Case(
        "invoiced",
        "item",
        _simple(lambda n: {"id": f"sku-{n}", "name": f"Item {n}", "unit_cost": 10}),
        {"name": "Item Renamed"},
        {"name": "Item Other"},
        {"name": None},
        sink={"update_fields": ["name", "description", "type", "metadata"]},
    ),
    Case(
        "wave",
        "customer",
        _simple(lambda n: {"name": f"Wave Co {n}", "email": f"w{n}@wave.test", "currency": "NOK"}),
        {"name": "Wave Co Renamed"},
        {"name": "Wave Co Other"},
        {"name": ""},
        sink={**WAVE_SINK, "compare": {"currency": "currency.code"}},
    ),
    Case(
        "wave",
        "product",
        _simple(lambda n: {"name": f"Wave Product {n}", "unitPrice": "10.00"}),
        {"name": "Wave Product Renamed"},
        {"name": "Wave Product Other"},
        {"name": ""},
        sink=WAVE_SINK,
        archived=("isArchived", True),
    ),
    Case(
        "wave",
        "invoice",
        _wave_invoice,
        {"memo": "thanks"},
        {"memo": "thank you"},
        {"customerId": wave_id("Customer", 999)},
        sink={
            **WAVE_SINK,
            "compare": {
                "customerId": "customer.id",
                "currency": "currency.code",
                "items": "items[].{productId: product.id, description: description, "
                "quantity: quantity, unitPrice: unitPrice}",
            },
        },
    ),
]


def case_id(case: Case) -> str:
    return case.id


class World:
    """A temp project plus one running sandbox; helpers to run pipes and call the API."""

    def __init__(self, root: Path, case: Case, server: SandboxServer) -> None:
        self.root = root
        self.case = case
        self.server = server
        info = {"url": server.url, "running": True, **server.system.credentials()}
        self.env = sandbox_env({case.system: info})
        (root / "systems").mkdir(parents=True, exist_ok=True)
        config = json.loads((REPO / "systems" / f"{case.system}.json").read_text())
        config["retries"] = FAST_RETRIES  # the real config, without seconds of backoff
        for operation in config["operations"].values():  # tiny pages: paging is exercised
            if "page_size" in operation.get("pagination", {}):
                operation["pagination"]["page_size"] = PAGE_SIZE
        (root / "systems" / f"{case.system}.json").write_text(json.dumps(config))
        systems = load_systems_dir(root / "systems", env=self.env, secrets={})
        self.client = RestClient(systems[case.system])
        self.clock = FixedClock()
        self.collect_id = f"{case.id}-collect"
        self.share_id = f"{case.id}-share"
        self.desired: list[dict[str, Any]] = []
        self._write_pipes()

    # --- pipes ----------------------------------------------------------------------------------

    def _write_pipes(self, *, full: bool = False) -> None:
        case = self.case
        source: dict[str, Any] = {
            "type": "system",
            "system": case.system,
            "datatype": case.datatype,
        }
        if full:
            source["full"] = True
        if case.source:
            source["properties"] = case.source
        collect = {
            "_id": self.collect_id,
            "type": "pipe",
            "source": source,
            "sink": {"type": "dataset", "dataset": case.id},
        }
        desired = {
            "_id": "desired",
            "type": "pipe",
            "source": {"type": "embedded", "entities": self.desired},
        }
        sink: dict[str, Any] = {"type": "system", "system": case.system, "datatype": case.datatype}
        if case.sink:
            sink["properties"] = case.sink
        share = {
            "_id": self.share_id,
            "type": "pipe",
            "source": {"type": "dataset", "dataset": "desired"},
            "sink": sink,
        }
        write_project(self.root, [collect, desired, share])

    @contextmanager
    def hub(self) -> Iterator[Hub]:
        with Hub.open(
            self.root, db=self.root / "hub.duckdb", env=self.env, clock=self.clock
        ) as hub:
            yield hub

    def run(self, pipe_id: str, **kwargs: Any) -> RunReport:
        with self.hub() as hub:
            return hub.run(pipe_id, **kwargs)

    def collect(self, *, full: bool = False) -> RunReport:
        return self.run(self.collect_id, full=full)

    def share(self, entities: list[dict[str, Any]] | None = None, **kwargs: Any) -> RunReport:
        """Set the desired entities (when given), load them, and run the share pipe."""
        if entities is not None:
            self.desired = [_transit(e) for e in entities]
            self._write_pipes()
            self.run("desired")
        return self.run(self.share_id, **kwargs)

    # --- reading the hub ------------------------------------------------------------------------

    def latest(self, dataset: str, entity_id: str) -> dict[str, Any] | None:
        with self.hub() as hub:
            if hub.store.dataset_info(dataset) is None:
                return None
            found = hub.store.dataset(dataset).latest(entity_id)
            return dict(found) if found is not None else None

    def live(self, dataset: str) -> list[dict[str, Any]]:
        with self.hub() as hub:
            return [
                dict(e) for e in hub.store.dataset(dataset).latest_entities(include_deleted=False)
            ]

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.live(f"system:dead-letter:{self.share_id}")

    # --- the system's API -----------------------------------------------------------------------

    def op(self, kind: str) -> str:
        return f"{self.case.datatype}-{kind}"

    def create(self, n: int) -> tuple[str, dict[str, Any], str | None]:
        """Create a record directly in the system: (id, the payload used, parent id)."""
        payload, parent = self.case.make(self.client, n)
        body = {**payload, **_insert_extras(self)}
        record = self.client.insert(self.op("insert"), body, parent_id=parent)
        record_id = self.client.record_id(self.op("insert"), record)
        assert record_id is not None
        return record_id, payload, parent

    def get(self, record_id: str, parent: str | None = None) -> dict[str, Any] | None:
        return self.client.get(self.op("get"), record_id, parent_id=parent)

    def edit(self, record_id: str, changes: dict[str, Any], parent: str | None = None) -> None:
        body = dict(changes)
        if self.case.sink.get("update_id_property"):
            body["id"] = record_id
        self.client.update(self.op("update"), record_id, body, parent_id=parent)

    def count(self) -> int:
        resource = {
            "customer": "customers",
            "contact": "contacts",
            "product": "products",
            "order": "orders",
            "invoice": "invoices",
            "item": "items",
        }[self.case.datatype]
        return self.server.system.count(resource)

    def updated_of(self, record: dict[str, Any] | None) -> Any:
        assert record is not None
        return self.client.record_updated(self.op("get"), record)

    def close(self) -> None:
        self.client.close()


def _insert_extras(world: World) -> dict[str, Any]:
    extras = world.case.sink.get("insert_properties") or {}
    return {k: world.env["wave_business_id"] if "$ENV" in str(v) else v for k, v in extras.items()}


def _transit(entity: dict[str, Any]) -> dict[str, Any]:
    """Entities for an embedded source are JSON: typed values in transit form."""
    return json.loads(json.dumps(entity, default=lambda v: str(v) if isinstance(v, NI) else v))


@contextmanager
def world_for(root: Path, case: Case) -> Iterator[World]:
    system = create_system(case.system, None)
    with SandboxServer(system) as server:
        world = World(root, case, server)
        try:
            yield world
        finally:
            world.close()
