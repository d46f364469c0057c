"""The report of a real reconcile: every section holds what the scenario provoked.

The scenario (``tests/report/world.py``): the ERP and Wave rename one product at once, a user
edits the CRM copy of it while the reconcile runs, Invoiced refuses an ERP customer whose
number it has already given away, a user types a customer into the CRM, and a customer typed
into the CRM earlier gets the org number of an ERP customer (two globals merge).
"""

from __future__ import annotations

from typing import Any

from engine.hub import Hub
from tests.report.world import DUPLICATE_NUMBER, QUIET_NAME, World


def report_of(world: World) -> dict[str, Any]:
    with Hub.open(world.project, db=world.db, env=world.env, secrets=world.env) as hub:
        data: dict[str, Any] = hub.report().to_dict()
    return data


def test_the_report_describes_the_last_reconcile(world: World) -> None:
    data = report_of(world)
    rec = data["reconcile"]
    assert rec["id"] == 2 and rec["status"] == "converged"
    assert rec["passes"] == world.second.pass_count
    assert rec["sent"]["customerp"]["product"]["update"] >= 1
    assert rec["lock_skipped"] == {"customcrm-product-share": 1}
    assert rec["rejected"]["invoiced-customer-share"] >= 1
    assert data["summary"] == {
        "conflicts": 1,
        "lock_skips": 1,
        "dead_letters": 1,
        "drift": 1,
        "merges": 1,
        "splits": 0,
        "rekeys": 1,
    }


def test_a_conflict_shows_both_edits_the_winner_and_why(world: World) -> None:
    (conflict,) = report_of(world)["conflicts"]
    assert (conflict["dataset"], conflict["id"], conflict["property"]) == (
        "global-product",
        "customerp-product:1",
        "name",
    )
    sides = {s["value"]: s for s in conflict["sides"]}
    assert set(sides) == {"Kaffe 500 g (ERP)", "Kaffe 500 g (Wave)"}
    assert sides["Kaffe 500 g (ERP)"]["member"] == "customerp-product:1"
    assert sides["Kaffe 500 g (Wave)"]["member"].startswith("wave-product:")
    # the Wave edit was made after the ERP edit, so survivorship's "newest" rule picked it
    assert sides["Kaffe 500 g (Wave)"]["won"] and not sides["Kaffe 500 g (ERP)"]["won"]
    assert conflict["winner"]["value"] == "Kaffe 500 g (Wave)"
    assert conflict["winner"]["rule"] == "newest"
    assert "newest" in conflict["why"] and sides["Kaffe 500 g (Wave)"]["member"] in conflict["why"]


def test_an_optimistic_lock_skip_is_listed_with_its_record(world: World) -> None:
    (skip,) = report_of(world)["lock_skips"]
    crm_product = next(
        p for p in world.running["customcrm"][0].records("products") if p["Sku"] == "SKU-1"
    )
    assert skip["pipe"] == "customcrm-product-share"
    assert (skip["system"], skip["datatype"]) == ("customcrm", "product")
    assert skip["id"] == "customerp-product:1" and skip["target_id"] == crm_product["Id"]
    assert skip["error"] == "changed in the system since collect"
    assert skip["now"] in ("updated", "unchanged")  # resent after the next collect


def test_dead_letters_are_the_current_refusals_with_reasons(world: World) -> None:
    (letter,) = report_of(world)["dead_letters"]
    assert letter["pipe"] == "invoiced-customer-share"
    assert letter["id"] == "customerp-customer:2"
    assert f"'{DUPLICATE_NUMBER}' has already been taken" in letter["reason"]
    assert letter["status"] == 400 and letter["operation"] == "customer-insert"
    assert letter["attempts"] >= 2  # refused in both reconciles


def test_drift_is_the_record_typed_into_a_target_that_nothing_links(world: World) -> None:
    (drift,) = report_of(world)["drift"]
    quiet = next(
        c for c in world.running["customcrm"][0].records("customers") if c["Name"] == QUIET_NAME
    )
    assert (drift["system"], drift["datatype"], drift["id"]) == (
        "customcrm",
        "customer",
        quiet["Id"],
    )
    assert drift["label"] == QUIET_NAME and drift["dataset"] == "global-organisation"


def test_a_merge_of_two_globals_and_the_retired_id(world: World) -> None:
    churn = report_of(world)["identity_churn"]
    (merge,) = churn["merges"]
    (rekey,) = churn["rekeys"]
    assert merge["dataset"] == "global-organisation" and merge["id"] == "customerp-customer:1"
    assert len(merge["previous"]) == 2 and "customerp-customer:1" in merge["previous"]
    retired = next(p for p in merge["previous"] if p != "customerp-customer:1")
    assert retired.startswith("customcrm-customer:")
    assert rekey == {
        "dataset": "global-organisation",
        "old": retired,
        "new": ["customerp-customer:1"],
    }
    assert churn["splits"] == []
