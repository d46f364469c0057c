"""Contract tests: collect and share against every system and datatype, over real HTTP.

Each test runs the whole path (project config → runner → system source / share sink →
connector → sandbox). Records are created and edited "by a user" through the system's own API.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engine.entity import NI
from engine.errors import PipeRunError
from engine.sandbox.base import Request, Response
from tests.sync.harness import CASES, Case, case_id, world_for

pytestmark = pytest.mark.parametrize("case", CASES, ids=case_id)


def test_collect_full_then_incremental(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        made = [w.create(n) for n in range(3)]
        first = w.collect()
        assert first.full and first.written == 3
        for record_id, _payload, parent in made:
            entity = w.latest(case.id, record_id)
            assert entity is not None and entity["_id"] == record_id
            moment = entity["$last-modified"]
            assert isinstance(moment, dt.datetime) and moment.tzinfo is not None
            raw = w.get(record_id, parent)
            assert raw is not None
            assert w.updated_of(raw) == w.updated_of(entity)  # the raw shape is kept as is
            if parent is not None:
                assert entity["sesam_parent_id"] == parent
        assert w.collect().written == 0  # an unchanged re-read writes nothing

        edited_id, _, parent = made[1]
        w.edit(edited_id, case.other_edit, parent)
        later = w.create(9)
        incremental = w.collect()
        assert not incremental.full
        assert incremental.written == 2  # the edit and the new record, nothing else
        assert w.latest(case.id, later[0]) is not None
        key, value = next(iter(case.other_edit.items()))
        assert w.latest(case.id, edited_id)[key] == value  # type: ignore[index]

        # nothing lost over several pages: the collected dataset matches the system
        assert len(w.live(case.id)) == w.count() == 4
        assert w.collect(full=True).deleted == 0


def test_full_collect_tracks_deletions(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        keep, gone = w.create(1), w.create(2)
        w.collect()
        w.client.delete(w.op("delete"), gone[0], parent_id=gone[2])
        report = w.collect(full=True)
        assert w.latest(case.id, keep[0])["_deleted"] is False  # type: ignore[index]
        after = w.latest(case.id, gone[0])
        assert after is not None
        if case.archived is None:
            assert report.deleted == 1 and after["_deleted"] is True
        else:  # archived records stay listed, with the archive flag set
            assert after[case.archived[0]] == case.archived[1]


def test_share_insert_link_update_noop_delete(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        payload, parent = case.make(w.client, 1)
        before = w.count()
        origin = NI("golden", "g1")
        insert = {
            "_id": "g1",
            "$target_id": None,
            "$payload": payload,
            "$origin": origin,
            "$parent_id": parent,
        }
        report = w.share([insert])
        assert report.written == 1 and w.count() == before + 1
        outcome = w.latest(w.share_id, "g1")
        assert outcome is not None and outcome["status"] == "inserted"
        generated = outcome["$generated_id"]
        assert generated and w.get(generated, parent) is not None

        # never twice: the same desired entity again sends nothing
        assert w.run(w.share_id, full=True).written == 0
        twin = {**insert, "_id": "g1-twin"}  # another golden id with the same origin
        assert w.share([insert, twin]).written == 0
        assert w.count() == before + 1

        # the next collect links the record back to where it came from
        w.collect()
        collected = w.latest(case.id, generated)
        assert collected is not None and collected["$origin"] == origin

        # update through the link
        update = {
            "_id": "g1",
            "$target_id": generated,
            "$payload": {**payload, **case.edit},
            "$parent_id": parent,
        }
        assert w.share([update]).written == 1
        current = w.get(generated, parent)
        key, value = next(iter(case.edit.items()))
        assert current is not None and current[key] == value
        assert w.latest(w.share_id, "g1")["status"] == "updated"  # type: ignore[index]

        # no-op: after collecting our own write, the same payload sends nothing
        w.collect()
        stamp = w.updated_of(w.get(generated, parent))
        again = w.run(w.share_id, full=True)
        assert again.written == 0 and again.deleted == 0
        assert w.updated_of(w.get(generated, parent)) == stamp

        # delete: the hub created it, so the default policy lets it go
        delete = {"_id": "g1", "_deleted": True, "$target_id": generated, "$parent_id": parent}
        assert w.share([delete]).deleted == 1
        assert case.check_deleted(w.get(generated, parent))
        assert w.latest(w.share_id, "g1")["status"] == "deleted"  # type: ignore[index]


def test_optimistic_lock_skips_a_record_edited_since_collect(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        record_id, payload, parent = w.create(1)
        w.collect()
        w.edit(record_id, case.other_edit, parent)  # a user edits after our collect
        desired = {
            "_id": "g1",
            "$target_id": record_id,
            "$payload": {**payload, **case.edit},
            "$parent_id": parent,
        }
        report = w.share([desired])
        assert report.written == 0
        assert w.latest(w.share_id, "g1")["status"] == "skipped-lock"  # type: ignore[index]
        key, value = next(iter(case.other_edit.items()))
        assert w.get(record_id, parent)[key] == value  # type: ignore[index]  # not overwritten

        w.collect()  # the user's edit comes in; now the hub may write
        assert w.run(w.share_id, full=True).written == 1
        key, value = next(iter(case.edit.items()))
        assert w.get(record_id, parent)[key] == value  # type: ignore[index]


def test_records_the_hub_did_not_create_are_not_deleted(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        record_id, _, parent = w.create(1)
        delete = {"_id": "g1", "_deleted": True, "$target_id": record_id, "$parent_id": parent}
        report = w.share([delete])
        assert report.deleted == 0
        assert not case.check_deleted(w.get(record_id, parent))
        assert w.latest(w.share_id, "g1")["status"] == "skipped"  # type: ignore[index]
        replaced = {"_id": "g2", "_deleted": True, "$replaced": True, "$target_id": record_id}
        assert w.share([replaced]).deleted == 0


def test_rejected_payload_is_dead_lettered_and_cleared_later(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        payload, parent = case.make(w.client, 1)
        before = w.count()
        bad = {
            "_id": "g1",
            "$target_id": None,
            "$payload": {**payload, **case.bad},
            "$parent_id": parent,
        }
        good = {"_id": "g2", "$target_id": None, "$payload": payload, "$parent_id": parent}
        report = w.share([bad, good])  # the run goes on after a rejection
        assert report.written == 1 and w.count() == before + 1
        letters = w.dead_letters()
        assert [d["_id"] for d in letters] == ["g1"]
        assert letters[0]["reason"] and letters[0]["attempts"] == 1
        assert w.latest(w.share_id, "g1")["status"] == "rejected"  # type: ignore[index]

        w.run(w.share_id)  # retried at the end of a later run, still refused
        assert w.dead_letters()[0]["attempts"] == 2

        other, other_parent = case.make(w.client, 2)
        before = w.count()
        fixed = {**bad, "$payload": other, "$parent_id": other_parent}
        w.share([fixed, good])
        assert w.dead_letters() == []
        assert w.latest(w.share_id, "g1")["status"] == "inserted"  # type: ignore[index]
        assert w.count() == before + 1


def test_injected_rejection_is_retried_from_the_dead_letter(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        payload, parent = case.make(w.client, 1)
        before = w.count()
        w.server.faults.fail(422 if case.system != "invoiced" else 400)
        w.share([{"_id": "g1", "$target_id": None, "$payload": payload, "$parent_id": parent}])
        assert len(w.dead_letters()) == 1 and w.count() == before
        report = w.run(w.share_id)  # incremental: nothing new is read; the dead letter is retried
        assert report.read == 0
        assert w.dead_letters() == [] and w.count() == before + 1


def test_transient_errors_are_retried(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        record_id, payload, parent = w.create(1)
        w.server.faults.fail(500)  # the list request
        assert w.collect().written == 1
        w.server.faults.fail(429, retry_after=0)  # an insert is retried only when surely unsent
        before = w.count()
        new_payload, new_parent = case.make(w.client, 2)
        inserts = [
            {"_id": "g2", "$target_id": None, "$payload": new_payload, "$parent_id": new_parent}
        ]
        assert w.share(inserts).written == 1
        assert w.count() == before + 1
        w.server.faults.fail(503)  # the GET of the lock check
        w.server.faults.fail(500)  # the update itself (updates are idempotent)
        update = {
            "_id": "g1",
            "$target_id": record_id,
            "$payload": {**payload, **case.edit},
            "$parent_id": parent,
        }
        assert w.share([*inserts, update]).written == 1
        key, value = next(iter(case.edit.items()))
        assert w.get(record_id, parent)[key] == value  # type: ignore[index]


def test_a_failed_insert_fails_the_run_without_a_duplicate(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        payload, parent = case.make(w.client, 1)
        before = w.count()
        w.server.faults.fail(500, count=10)
        with pytest.raises(PipeRunError) as caught:
            w.share([{"_id": "g1", "$target_id": None, "$payload": payload, "$parent_id": parent}])
        assert "g1" in str(caught.value) or caught.value.entity_id == "g1"
        assert w.count() == before  # a POST is never retried blindly after a 500


def test_dry_run_sends_nothing(tmp_path: Path, case: Case) -> None:
    with world_for(tmp_path, case) as w:
        payload, parent = case.make(w.client, 1)
        before = w.count()
        report = w.share(
            [{"_id": "g1", "$target_id": None, "$payload": payload, "$parent_id": parent}],
            dry_run=True,
        )
        assert report.written == 1  # what it would insert
        assert w.count() == before
        assert w.latest(w.share_id, "g1") is None
        assert w.run(w.share_id).written == 1 and w.count() == before + 1


def test_what_was_sent_before_a_failure_is_remembered(
    tmp_path: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    with world_for(tmp_path, case) as w:
        first, first_parent = case.make(w.client, 1)
        second, second_parent = case.make(w.client, 2)
        before = w.count()
        entities = [
            {"_id": "g1", "$target_id": None, "$payload": first, "$parent_id": first_parent},
            {"_id": "g2", "$target_id": None, "$payload": second, "$parent_id": second_parent},
        ]
        dispatch = w.server.dispatch
        seen: list[str] = []

        def second_request_fails(req: Request) -> Response:
            seen.append(req.path)
            if len(seen) == 2:  # the insert of g2: a 500 is never retried for a POST
                return Response(500, w.server.system.error_body(500, "down"))
            return dispatch(req)

        monkeypatch.setattr(w.server, "dispatch", second_request_fails)
        with pytest.raises(PipeRunError):
            w.share(entities)
        monkeypatch.setattr(w.server, "dispatch", dispatch)
        assert w.count() == before + 1  # g1 was created and its share record committed
        assert w.latest(w.share_id, "g1")["status"] == "inserted"  # type: ignore[index]
        w.run(w.share_id)  # the rerun reads both again and inserts g2 only
        assert w.count() == before + 2
        assert w.latest(w.share_id, "g2")["status"] == "inserted"  # type: ignore[index]
