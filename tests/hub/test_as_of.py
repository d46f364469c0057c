"""Time travel: ``hub.as_of(run)`` shows every dataset as it was when that run committed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.clock import FixedClock
from engine.errors import DatasetError, PipeRunError
from engine.hub import Hub, UnknownRunError
from engine.store import Store
from engine.store.runs import get_run, list_runs, offsets_at, record_run, run_range
from engine.views import HubView
from tests.helpers import embedded, from_dataset, write_project

GREET = [["copy", "_id"], ["add", "hello", ["concat", "Hi ", "_S.name"]]]


def people_project(root: Path, people: list[dict[str, Any]]) -> None:
    write_project(root, [embedded("people", people), from_dataset("greet", "people", GREET)])


def run_all(root: Path, people: list[dict[str, Any]]) -> list[int]:
    """Rewrite the embedded people, run both pipes, answer the two run ids."""
    people_project(root, people)
    with Hub.open(root, clock=FixedClock()) as hub:
        reports = hub.run_all().runs
        ids = [r.run_id for r in reports]
    assert all(isinstance(i, int) for i in ids)
    return [int(i) for i in ids if i is not None]


def live(view: HubView, name: str) -> dict[str, Any]:
    """``_id -> properties`` of the live entities of one dataset in a view."""
    return {
        e["_id"]: {k: v for k, v in e.items() if not k.startswith("_")}
        for e in view.dataset(name).entities()
    }


def test_earlier_runs_keep_their_state_after_changes_and_deletes(tmp_path: Path) -> None:
    first = run_all(tmp_path, [{"_id": "1", "name": "Ann"}, {"_id": "2", "name": "Bob"}])
    second = run_all(tmp_path, [{"_id": "1", "name": "Anna"}, {"_id": "3", "name": "Cy"}])
    assert first == [1, 2] and second == [3, 4]
    with Hub.open(tmp_path) as hub:
        after_first = hub.as_of(2)
        assert live(after_first, "people") == {"1": {"name": "Ann"}, "2": {"name": "Bob"}}
        assert live(after_first, "greet") == {"1": {"hello": "Hi Ann"}, "2": {"hello": "Hi Bob"}}
        # run 3 changed people but greet had not run yet: the view shows exactly that moment
        mid = hub.as_of(3)
        assert live(mid, "people") == {"1": {"name": "Anna"}, "3": {"name": "Cy"}}
        assert live(mid, "greet") == live(after_first, "greet")
        assert mid.dataset("people").counts().deleted == 1
        assert mid.dataset("people").get("2") is not None
        assert mid.dataset("people").get("2")["_deleted"] is True  # type: ignore[index]
        # the latest run's view is the hub now
        now, last = hub.as_of(4), hub
        for name in ("people", "greet"):
            assert now.dataset(name).entities(include_deleted=True) == last.dataset(name).entities(
                include_deleted=True
            )
            assert now.dataset(name).counts() == last.dataset(name).counts()
        # history stops at the bound
        assert [v["name"] for v in after_first.dataset("people").history("1")] == ["Ann"]
        assert [v["name"] for v in hub.dataset("people").history("1")] == ["Ann", "Anna"]
        # SQL joins across datasets of one run
        joined = after_first.sql(
            "select p.name, g.hello from dataset('people') p join dataset('greet') g "
            "using (_id) order by p.name"
        ).fetchall()
        assert joined == [("Ann", "Hi Ann"), ("Bob", "Hi Bob")]
        table = after_first.dataset("people").to_arrow()
        assert table.column("name").to_pylist() == ["Ann", "Bob"]
        assert after_first.dataset("people").to_pandas()["name"].tolist() == ["Ann", "Bob"]


def test_a_dataset_created_after_the_run_is_absent_from_it(tmp_path: Path) -> None:
    run_all(tmp_path, [{"_id": "1", "name": "Ann"}])
    with Hub.open(tmp_path) as hub:
        first = hub.as_of(1)
        assert [d.name for d in first.datasets()] == ["people"]
        with pytest.raises(DatasetError, match=r"no dataset 'greet' as of run 1 \(it was created"):
            first.dataset("greet")
        with pytest.raises(DatasetError, match=r"no dataset 'peple' as of run 1.*'people'"):
            first.dataset("peple")


def test_unknown_runs_name_the_valid_range(tmp_path: Path) -> None:
    people_project(tmp_path, [{"_id": "1", "name": "Ann"}])
    with Hub.open(tmp_path) as hub:
        with pytest.raises(UnknownRunError, match="no run has been recorded yet"):
            hub.as_of(1)
        hub.run_all()
        for bad in (0, 3, -1):
            with pytest.raises(
                UnknownRunError, match=f"no run {bad}: expected a run id from 1 to 2"
            ):
                hub.as_of(bad)


def test_runs_list_failures_and_skip_dry_runs(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        [
            embedded("people", [{"_id": "1", "name": "Ann"}]),
            from_dataset("broken", "people", [["add", "x", ["divide", 1, 0]]]),
        ],
    )
    with Hub.open(tmp_path) as hub:
        dry = hub.run("people", dry_run=True)
        assert dry.run_id is None and hub.runs() == []
        assert hub.run("people").run_id == 1
        with pytest.raises(PipeRunError):
            hub.run("broken")
        runs = hub.runs()
        assert [(r.id, r.pipe, r.status) for r in runs] == [
            (2, "broken", "failed"),
            (1, "people", "ok"),
        ]
        assert runs[0].error and "broken" in runs[0].error
        assert runs[1].written == 1 and runs[1].full
        assert runs[1].started_ts <= runs[1].finished_ts
        assert [r.id for r in hub.runs(limit=1)] == [2]
        assert [r.id for r in hub.runs(pipe="people")] == [1]
        # the failed run still names a consistent moment: people as the first run left it
        assert live(hub.as_of(2), "people") == {"1": {"name": "Ann"}}


def test_reconcile_reports_the_runs_it_spans(tmp_path: Path) -> None:
    people_project(tmp_path, [{"_id": "1", "name": "Ann"}])
    with Hub.open(tmp_path) as hub:
        hub.run("people")
        report = hub.reconcile()
        ids = [r.run_id for p in report.passes for r in p.runs]
        assert report.run_ids == (2, 1 + len(ids))
        assert report.to_dict()["run_ids"] == [2, 1 + len(ids)]
        assert run_range(hub.store) == (1, 1 + len(ids))


# --- the model: a dict per dataset, snapshotted after every run ------------------------------

Op = tuple[str, str, int | None]  # (dataset, id, value; None deletes)

ops = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]), st.sampled_from(list("pqrst")), st.none() | st.integers(0, 3)
    ),
    max_size=6,
)


@settings(max_examples=40)
@given(runs=st.lists(ops, min_size=1, max_size=6))
def test_as_of_equals_the_model_after_every_run(runs: list[list[Op]]) -> None:
    """For random appends and deletes across two datasets, as_of(r) is the model after run r."""
    with Store(":memory:", clock=FixedClock()) as store:
        model: dict[str, dict[str, tuple[bool, int | None]]] = {"a": {}, "b": {}}
        snapshots: dict[int, dict[str, dict[str, tuple[bool, int | None]]]] = {}
        for batch in runs:
            with store.transaction():
                for name, entity_id, value in batch:
                    current = model[name].get(entity_id)
                    if value is None:
                        if current is None or current[0]:
                            continue  # deleting what is not there writes nothing
                        entity = {"_id": entity_id, "v": current[1], "_deleted": True}
                        model[name][entity_id] = (True, current[1])
                    else:
                        entity = {"_id": entity_id, "v": value}
                        model[name][entity_id] = (False, value)
                    store.dataset(name).append([entity])
                run_id = record_run(store, pipe="model", started_ts=0, status="ok")
            snapshots[run_id] = {n: dict(d) for n, d in model.items() if d or n in _created(store)}
        for run_id, expected in snapshots.items():
            view = HubView(store, get_run(store, run_id))
            assert {d.name for d in view.datasets()} == set(expected)
            for name, entities in expected.items():
                ds = view.dataset(name)
                got = {
                    e["_id"]: (e.get("_deleted", False), e["v"])
                    for e in ds.entities(include_deleted=True)
                }
                assert got == entities, (run_id, name)
                counts = ds.counts()
                assert counts.live == sum(not d for d, _ in entities.values())
                assert counts.deleted == sum(d for d, _ in entities.values())
                assert len(ds.to_arrow()) == counts.live
                for entity_id, (deleted, value) in entities.items():
                    one = ds.get(entity_id)
                    assert (
                        one is not None
                        and one["v"] == value
                        and one.get("_deleted", False) == deleted
                    )
        assert len(list_runs(store)) == len(runs)


def _created(store: Store) -> set[str]:
    return {i.name for i in store.dataset_infos()}


@settings(max_examples=10)
@given(
    snapshots=st.lists(
        st.dictionaries(st.sampled_from(list("uvwxyz")), st.integers(0, 2), max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_runner_runs_are_consistent_across_a_derived_dataset(
    snapshots: list[dict[str, int]],
) -> None:
    """Through real pipe runs: as_of(the greet run r) shows people and greet agreeing."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seen: set[str] = set()
        for number, snapshot in enumerate(snapshots, 1):
            people = [{"_id": k, "name": f"n{v}"} for k, v in sorted(snapshot.items())]
            people_ids, greet_id = run_all(root, people)
            seen |= set(snapshot)
            with Hub.open(root) as hub:
                view = hub.as_of(greet_id)
                assert live(view, "people") == {k: {"name": f"n{v}"} for k, v in snapshot.items()}
                assert view.dataset("people").counts().deleted == len(seen - set(snapshot))
                greet = live(view, "greet")
                for k, v in snapshot.items():
                    assert greet[k] == {"hello": f"Hi n{v}"}
                assert (
                    offsets_at(hub.store, greet_id)["people"].next_offset
                    == offsets_at(hub.store, people_ids)["people"].next_offset
                )
            assert greet_id == 2 * number


@given(
    keys=st.lists(
        # NUL is the one character DuckDB's JSON functions cannot carry in a key; lone
        # surrogates are not text at all (they cannot be encoded as UTF-8)
        st.text(
            st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
            min_size=1,
            max_size=8,
        ).filter(
            lambda k: not k.startswith("_")  # reserved: the store keeps only _id and _deleted
        ),
        min_size=1,
        max_size=4,
        unique=True,
    )
)
@example(keys=["*", "$ids", "a.b", 'x"y', "a/b", "t~1"])  # wildcard, path and pointer syntax
def test_any_property_name_becomes_a_column(keys: list[str]) -> None:
    """Keys like ``$ids``, ``a.b`` or ``x"y`` are names, not JSON paths, in relation()/SQL."""
    with Store(":memory:", clock=FixedClock()) as store:
        store.dataset("d").append([{"_id": "1", **{k: i for i, k in enumerate(keys)}}])
        record_run(store, pipe="p", started_ts=0, status="ok")
        for view in (HubView(store), HubView(store, get_run(store, 1))):
            row = view.dataset("d").to_arrow().to_pylist()[0]
            assert {k: row[k] for k in keys} == {k: str(i) for i, k in enumerate(keys)}
