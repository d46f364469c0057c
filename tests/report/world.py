"""A reconciled hub whose last reconcile has one of everything the report shows.

Built on the flow scenarios' machinery (``tests/flows/test_scenarios.py``): the five sandboxes
in-process, the project's own pipes and systems, edits through each system's real API.

* reconcile 1: the ERP scenario's t0, plus an ERP customer whose customer number Invoiced has
  already given to another customer (Invoiced refuses the insert: a dead letter), plus a CRM
  customer typed into the CRM by hand (no org number: nothing links it, so it is drift).
* between the reconciles: the ERP and Wave both rename the same product (a conflict); the
  hand-made CRM customer gets Fjord Kaffe's org number (its global merges into Fjord Kaffe's,
  and its global id is re-keyed); another customer is typed into the CRM (drift).
* reconcile 2: while it runs, right before the CRM product share, a user edits the CRM product
  (the share's optimistic lock skips it).
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from engine.hub import Hub
from engine.reconcile import PipeStep, ReconcileReport
from engine.sandbox.manager import sandbox_env
from tests.flows.test_scenarios import ROOT, SCENARIOS, _auth, apply_edit, sandboxes

DUPLICATE_NUMBER = "20002"
SOLO_EMAIL = "salg@fjordkaffe.no"
QUIET_NAME = "Stille Hav AS"


def t0() -> dict[str, Any]:
    scenario = json.loads((SCENARIOS / "erp-to-invoiced-and-wave" / "scenario.json").read_text())
    state: dict[str, Any] = copy.deepcopy(scenario["t0"])
    erp = state["customerp"]["customers"]
    dup = copy.deepcopy(erp[0])
    dup.update(
        id=2,
        customer_number=DUPLICATE_NUMBER,
        name="Dobbel Nummer AS",
        org_number="987654321",
        email="post@dobbel.no",
        contact_person=None,
    )
    erp.append(dup)
    state["invoiced"] = {
        "customers": [
            {
                "id": 1,
                "name": "Annen Kunde AS",
                "type": "company",
                "number": DUPLICATE_NUMBER,
                "email": "post@annen.no",
                "tax_id": "911111111",
                "country": "NO",
                "currency": "nok",
                "payment_terms": "NET 30",
                "metadata": {},
                "created_at": 1704182400,
                "updated_at": 1704182400,
            }
        ]
    }
    return state


@dataclass
class World:
    """The project, the hub database, the sandboxes and the two reconciles' reports."""

    project: Path
    db: Path
    env: dict[str, str]
    running: dict[str, Any]
    first: ReconcileReport
    second: ReconcileReport


def crm(running: dict[str, Any], method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    system, url = running["customcrm"]
    response = requests.request(method, url + path, json=body, timeout=10, **_auth(system))
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


@contextlib.contextmanager
def reconciled_world(root: Path) -> Iterator[World]:
    project = root / "project"
    shutil.copytree(ROOT / "pipes", project / "pipes")
    shutil.copytree(ROOT / "systems", project / "systems")
    db = root / "hub.duckdb"
    with sandboxes(t0()) as running:
        status = {
            sid: {"url": url, "running": True, **system.credentials()}
            for sid, (system, url) in running.items()
        }
        env = sandbox_env(status)
        solo = crm(
            running,
            "POST",
            "/customers",
            {"Name": "Fjord Kaffe AS", "Email": SOLO_EMAIL, "Currency": "NOK"},
        )
        with Hub.open(project, db=db, env=env, secrets=env) as hub:
            first = hub.reconcile()
            for edit in _conflict_edits():
                apply_edit(running, edit)
            crm(running, "PATCH", f"/customers/{solo['Id']}", {"OrgNumber": "912345678"})
            crm(
                running,
                "POST",
                "/customers",
                {"Name": QUIET_NAME, "Email": "post@stillehav.no", "Currency": "NOK"},
            )
            edited: list[str] = []

            def user_edits_crm_product(step: PipeStep) -> None:
                if step.phase == "start" and step.pipe == "customcrm-product-share" and not edited:
                    system = running["customcrm"][0]
                    product = next(p for p in system.records("products") if p["Sku"] == "SKU-1")
                    crm(running, "PATCH", f"/products/{product['Id']}", {"Description": "CRM"})
                    edited.append(product["Id"])

            second = hub.reconcile(progress=user_edits_crm_product)
            assert edited, "the CRM product share never ran"
        yield World(project, db, env, running, first, second)


def _conflict_edits() -> list[dict[str, Any]]:
    scenario = json.loads((SCENARIOS / "erp-to-invoiced-and-wave" / "scenario.json").read_text())
    step = next(s for s in scenario["steps"] if s["title"].startswith("conflicting edits"))
    edits: list[dict[str, Any]] = step["edits"]
    return edits
