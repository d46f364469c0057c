"""Share and collect behaviours specific to one system, and the sink's own API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.entity import NI
from engine.errors import ConfigError
from engine.pipeline import build_sink
from engine.sinks.share import ShareSink
from tests.helpers import write_project
from tests.sync.harness import CASES, Case, world_for


def case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def test_invoiced_item_update_sends_only_the_patchable_fields(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-item")) as w:
        record_id, payload, _ = w.create(1)
        w.collect()
        desired = {**payload, "name": "Renamed", "unit_cost": 99}  # unit_cost is create-only
        assert w.share([{"_id": "g1", "$target_id": record_id, "$payload": desired}]).written == 1
        item = w.get(record_id)
        assert item is not None and item["name"] == "Renamed" and item["unit_cost"] == 10
        w.collect()
        # the unpatchable difference is not compared either, so this is no loop
        assert w.run(w.share_id, full=True).written == 0


def test_other_spellings_of_the_same_invoice_send_nothing(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-invoice")) as w:
        payload, _ = w.case.make(w.client, 1)
        record = w.client.insert("invoice-insert", {**payload, "date": 1704412800})
        w.collect()
        same = {
            "customer": str(payload["customer"]),
            "currency": "NOK",
            "date": "2024-01-05",
            "items": [{"name": "Work ", "quantity": "2", "unit_cost": "10.00"}],
        }
        stamp = w.updated_of(w.get(str(record["id"])))
        report = w.share([{"_id": "g1", "$target_id": str(record["id"]), "$payload": same}])
        assert (report.written, report.unchanged) == (0, 1)
        assert w.updated_of(w.get(str(record["id"]))) == stamp


def test_a_record_without_an_id_is_dead_lettered_and_the_collect_goes_on(tmp_path: Path) -> None:
    with world_for(tmp_path, case("customwebshop-customer")) as w:
        w.create(1)
        w.create(2)
        config_path = tmp_path / "systems" / "customwebshop.json"
        config = json.loads(config_path.read_text())
        config["operations"]["customer-list"]["id_expression"] = "no_such_field"
        config_path.write_text(json.dumps(config))
        report = w.collect()
        assert report.written == 0
        letters = w.live(f"system:dead-letter:{w.collect_id}")
        assert len(letters) == 2
        assert all("no id" in d["reason"] for d in letters)


def test_the_sink_counts_what_it_would_send_in_a_dry_run(tmp_path: Path) -> None:
    with world_for(tmp_path, case("customerp-customer")) as w:
        record_id, payload, _ = w.create(1)
        w.collect()
        new_payload, _ = w.case.make(w.client, 2)
        w.share(
            [
                {"_id": "g1", "$target_id": None, "$payload": new_payload},
                {"_id": "g2", "$target_id": record_id, "$payload": {**payload, "name": "New"}},
                {"_id": "g3", "$target_id": record_id, "$payload": payload},
            ],
            dry_run=True,
        )
        before = w.count()
        with w.hub() as hub:
            sink = build_sink(hub.store, hub.project, hub.project.pipe(w.share_id))
            assert isinstance(sink, ShareSink)
            assert (sink.system_id, sink.datatype) == ("customerp", "customer")
            sink.dry_run = True
            entities = hub.store.dataset("desired").latest_entities()
            with hub.store.transaction():
                hub.store.mark_rollback()
                sink.begin(full=True)
                result = sink.write(entities)
                sink.finish(full=True, source_populated=True)
        assert (result.written, result.unchanged) == (2, 1)
        assert sink.stats["insert"] == 1 and sink.stats["update"] == 1
        assert sink.stats["unchanged"] == 1
        assert w.count() == before
        assert w.get(record_id)["name"] == payload["name"]  # type: ignore[index]


def test_a_badly_typed_option_is_a_located_config_error(tmp_path: Path) -> None:
    with world_for(tmp_path, case("invoiced-item")) as w:
        config_path = tmp_path / "pipes" / f"{w.share_id}.json"
        pipe = json.loads(config_path.read_text())
        pipe["sink"]["properties"]["update_fields"] = "name"
        config_path.write_text(json.dumps(pipe))
        with w.hub() as hub, pytest.raises(ConfigError) as caught:
            build_sink(hub.store, hub.project, hub.project.pipe(w.share_id))
        assert str(caught.value.path) == "$.sink.properties.update_fields"
        assert "a list" in str(caught.value)


def test_records_created_by_any_share_pipe_of_the_datatype_link_back(tmp_path: Path) -> None:
    with world_for(tmp_path, case("customerp-customer")) as w:
        person = {
            "_id": "p1",
            "$target_id": None,
            "$payload": {"type": "person", "name": "Per Son"},
            "$origin": "~:global-person:p1",
        }
        people = {
            "_id": "people",
            "type": "pipe",
            "source": {"type": "embedded", "entities": [person]},
        }
        second_share = {
            "_id": "people-share",
            "type": "pipe",
            "source": {"type": "dataset", "dataset": "people"},
            "sink": {"type": "system", "system": "customerp", "datatype": "customer"},
        }
        write_project(tmp_path, [people, second_share])
        w.run("people")
        assert w.run("people-share").written == 1
        outcome = w.latest("people-share", "p1")
        assert outcome is not None
        w.collect()
        collected = w.latest(w.case.id, outcome["$generated_id"])
        assert collected is not None and collected["$origin"] == NI("global-person", "p1")


def test_a_dead_letter_is_superseded_by_a_newer_version(tmp_path: Path) -> None:
    with world_for(tmp_path, case("customerp-product")) as w:
        bad = {"_id": "g1", "$target_id": None, "$payload": {"name": "no code"}}
        w.share([bad])
        assert len(w.dead_letters()) == 1
        before = w.count()
        w.share([{"_id": "g1", "_deleted": True, "$target_id": None}])  # no longer wanted
        assert w.dead_letters() == []
        w.run(w.share_id)
        assert w.count() == before  # the stale insert is never retried
