"""The collect fast path (prebuilt bodies, record fingerprints) writes what the plain path writes.

The plain path is the system source with ``prebuild`` off: every entity canonicalised by the
dataset sink. Each scenario runs the same collects against one sandbox into two hubs, one per
path, and compares every version of the collected dataset and the run reports.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine.sources.system as system_source
from engine.clock import FixedClock
from engine.connectors.expressions import expression
from engine.entity import NI, hash_body
from engine.errors import PipeRunError
from engine.hub import Hub
from engine.sandbox.base import Request
from engine.sandbox.manager import create_system, sandbox_env
from engine.sandbox.server import SandboxServer
from engine.sources.fingerprints import Fingerprints, fingerprint
from engine.sources.json_body import BodyBatch, json_entity_body
from engine.store import CanonicalEntities, Store
from tests.helpers import write_project

REPO = Path(__file__).resolve().parents[2]
ADDED = ("sesam_parent_id", "$last-modified", "$origin")

# --- the canonical body shortcut -----------------------------------------------------------------

_text = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["~", "~t2024-01-01", "~~x", 'a"~b', '"~', "x~", "Ærø ☃", "\\~", "~:ni"]),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=12,
)
_origin = st.one_of(
    st.none(),
    _text,
    st.builds(lambda s: NI("global-customer", s), st.text(min_size=1, max_size=5)),
    st.dictionaries(st.text(max_size=3), _text, max_size=2),
)


def _entity(record: dict[str, Any], record_id: str, origin: Any, parent: Any) -> dict[str, Any]:
    """The entity as :class:`SystemSource` builds it from a parsed record."""
    entity = {k: v for k, v in record.items() if not k.startswith("_")}
    entity["_id"] = record_id
    if parent is not None:
        entity["sesam_parent_id"] = parent
    entity["$last-modified"] = dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    if origin is not None:
        entity["$origin"] = origin
    return entity


@given(
    record=st.dictionaries(_text, _json, max_size=6),
    record_id=_text,
    origin=_origin,
    parent=st.none() | _text,
)
def test_json_body_is_hash_body_or_declines(
    record: dict[str, Any], record_id: str, origin: Any, parent: Any
) -> None:
    parsed = json.loads(json.dumps(record))  # what a JSON response gives
    entity = _entity(parsed, record_id, origin, parent)
    fast = json_entity_body(entity, ADDED)
    assert fast is None or fast == hash_body(entity)
    if '"~' not in json.dumps(parsed, ensure_ascii=False):
        assert fast == hash_body(entity)  # no string starts with "~": the shortcut answers


def test_json_body_declines_what_json_cannot_hold() -> None:
    entity = {"_id": "1", "x": float("nan")}
    assert json_entity_body(entity, ADDED) is None
    assert json_entity_body({"_id": 1, "x": 1}, ADDED) is None  # not a string id


@given(
    path=st.sampled_from(["id", "Id", "_id2", "a.b", "a[0]", "a.b.c", '"quoted key"', "null"]),
    value=st.dictionaries(
        st.sampled_from(["id", "Id", "_id2", "a", "null", "quoted key"]),
        st.one_of(
            st.integers(),
            st.text(max_size=3),
            st.dictionaries(st.sampled_from(["b", "c"]), st.integers(), max_size=2),
            st.lists(st.integers(), max_size=2),
        ),
        max_size=4,
    )
    | st.integers()
    | st.lists(st.integers(), max_size=2),
)
def test_compiled_expression_answers_as_jmespath(path: str, value: Any) -> None:
    assert expression(path)(value) == jmespath.search(path, value)


# --- end to end: the fast path against the plain one --------------------------------------------


def _customers(n: int) -> list[dict[str, Any]]:
    notes = ["plain", "~tilde first", 'quote "~ inside', "Ærø ☃", None, "~~double"]
    return [
        {
            "id": i,
            "customer_number": f"C{i:04d}",
            "type": "company",
            "name": f"Customer {i}",
            "notes": notes[i % len(notes)],
            "credit_limit": [1000, 10.5, 0.1, 1e21][i % 4],
            "invoice_address": {"line1": f"{i} Road", "city": "Oslo", "country": "NO"},
            "contact_person": {"tags": ["a", "~b", {"deep": i}]} if i % 3 == 0 else None,
        }
        for i in range(1, n + 1)
    ]


class Twin:
    """One sandbox, two hubs: ``fast`` (the source's fast path) and ``plain`` (without it)."""

    def __init__(self, root: Path, server: SandboxServer) -> None:
        self.server = server
        info = {"url": server.url, "running": True, **server.system.credentials()}
        self.env = sandbox_env({"customerp": info})
        config = json.loads((REPO / "systems" / "customerp.json").read_text())
        config["retries"] = {"max_attempts": 2, "backoff": 0.01, "max_backoff": 0.01}
        config["operations"]["customer-list"]["pagination"]["page_size"] = 7
        pipe = {
            "_id": "customerp-customer-collect",
            "type": "pipe",
            "source": {"type": "system", "system": "customerp", "datatype": "customer"},
            "sink": {
                "type": "dataset",
                "dataset": "customerp-customer",
                "circuit_breaker_threshold_count": 3,
            },
        }
        self.roots = {"fast": root / "fast", "plain": root / "plain"}
        for path in self.roots.values():
            write_project(path, [pipe], [config])
        self.clock = FixedClock()

    def hub(self, which: str) -> Hub:
        root = self.roots[which]
        return Hub.open(root, db=root / "hub.duckdb", env=self.env, clock=self.clock)

    def collect(self, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict[str, Any]:
        """Collect into both hubs; the reports (without timings) must agree."""
        reports = {}
        for which in ("plain", "fast"):
            with monkeypatch.context() as patch:
                if which == "plain":
                    patch.setattr(system_source, "BodyBatch", _PlainBatch)
                with self.hub(which) as hub:
                    report = hub.run("customerp-customer-collect", **kwargs)
            reports[which] = {
                k: getattr(report, k) for k in ("full", "read", "written", "unchanged", "deleted")
            }
        assert reports["fast"] == reports["plain"]
        return reports["fast"]

    def history(self, which: str) -> list[tuple[Any, ...]]:
        with self.hub(which) as hub:
            log, _ = hub.store.dataset("customerp-customer").table_names()
            rows: list[tuple[Any, ...]] = hub.store.fetchall(
                f"SELECT _updated, _id, _deleted, _hash, _previous, body FROM {log} "
                "ORDER BY _updated"
            )
            return rows

    def assert_same(self) -> None:
        assert self.history("fast") == self.history("plain")


class _PlainBatch(BodyBatch):
    def __init__(self, prebuild: bool, added: tuple[str, ...], fingerprints: Any) -> None:
        super().__init__(False, added, None)


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Twin]:
    system = create_system("customerp", None)
    system.load_records("customers", _customers(40))
    with SandboxServer(system) as server:
        yield Twin(tmp_path, server)


def _count_bodies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the entities the fast path canonicalises (the others were skipped)."""
    calls = [0]
    real = system_source.BodyBatch.take

    def take(self: BodyBatch) -> list[Any]:
        out = real(self)
        if isinstance(out, CanonicalEntities):
            calls[0] += out.changed.num_rows
        return out

    monkeypatch.setattr(BodyBatch, "take", take)
    return calls


def test_fast_collect_writes_what_the_plain_path_writes(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = twin.collect(monkeypatch)
    assert first["written"] == 40
    twin.assert_same()

    canonicalised = _count_bodies(monkeypatch)
    again = twin.collect(monkeypatch, full=True)
    assert (again["written"], again["unchanged"], again["deleted"]) == (0, 40, 0)
    assert canonicalised[0] == 0  # every record was known by its fingerprint

    api = twin.server.system
    _api(api, "PATCH", "/customers/3", {"notes": "~now with a tilde"})
    _api(api, "PATCH", "/customers/4", {"credit_limit": 11})
    _api(api, "DELETE", "/customers/5")
    twin.clock.advance(1_000_000)
    changed = twin.collect(monkeypatch, full=True)
    assert (changed["written"], changed["deleted"]) == (2, 1)
    assert canonicalised[0] == 2  # only the two edits (the plain hub's batches are not counted)
    twin.assert_same()


def test_a_stale_fingerprint_never_hides_a_record(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin.collect(monkeypatch)
    for which in ("fast", "plain"):  # someone else writes the dataset: the record must come back
        with twin.hub(which) as hub:
            hub.store.dataset("customerp-customer").append([{"_id": "7", "name": "tampered"}])
    twin.collect(monkeypatch, full=True)
    twin.assert_same()
    with twin.hub("fast") as hub:
        latest = hub.store.dataset("customerp-customer").latest("7")
        assert latest is not None and latest["name"] == "Customer 7"


def test_a_failed_run_leaves_fingerprints_as_they_were(
    twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin.collect(monkeypatch)
    with twin.hub("fast") as hub:
        info = hub.store.dataset_info("customerp-customer")
        assert info is not None
        table = f"hub_collect_fp_{info.tid}"
        before = hub.store.fetchall(f"SELECT * FROM {table} ORDER BY _id")
    assert len(before) == 40
    for n in range(10, 16):  # more changes than the circuit breaker's 3
        _api(twin.server.system, "PATCH", f"/customers/{n}", {"name": f"renamed {n}"})
    with twin.hub("fast") as hub, pytest.raises(PipeRunError, match="circuit breaker"):
        hub.run("customerp-customer-collect", full=True)
    with twin.hub("fast") as hub:
        assert hub.store.fetchall(f"SELECT * FROM {table} ORDER BY _id") == before


# --- batches ------------------------------------------------------------------------------------


def test_an_id_listed_twice_is_never_skipped(store: Store) -> None:
    store.create_dataset_tables("d")
    info = store.dataset_info("d")
    assert info is not None
    prints = Fingerprints(store, info.tid)
    old = {"_id": "a", "v": 1}
    store.dataset("d").append([old])
    recipe = ("id", None, "p")
    fp_old = fingerprint(recipe, {"id": "a", "v": 1}, None, None)
    fp_new = fingerprint(recipe, {"id": "a", "v": 2}, None, None)
    prints.save(["a"], [fp_old], [store.dataset("d").current_hashes(["a"])["a"]])

    batch = BodyBatch(True, ADDED, prints)
    batch.add({"_id": "a", "v": 2}, fp_new)
    batch.add({"_id": "a", "v": 1}, fp_old)  # the later listing is the stored one
    out = batch.take()
    assert isinstance(out, CanonicalEntities)
    assert out.changed.column("_id").to_pylist() == ["a", "a"]

    alone = BodyBatch(True, ADDED, prints)
    alone.add({"_id": "a", "v": 1}, fp_old)
    skipped = alone.take()
    assert isinstance(skipped, CanonicalEntities) and skipped.changed.num_rows == 0


@pytest.mark.parametrize("value", [float("inf"), json.loads('"\\ud800"')])
def test_a_record_the_store_refuses_goes_the_plain_way(store: Store, value: Any) -> None:
    store.create_dataset_tables("d")
    info = store.dataset_info("d")
    assert info is not None
    prints = Fingerprints(store, info.tid)
    batch = BodyBatch(True, ADDED, prints)
    batch.add({"_id": "ok", "x": 1}, b"1" * 16)
    batch.add({"_id": "a", "x": value}, b"2" * 16)  # infinity; a lone surrogate from JSON
    out = batch.take()
    assert not isinstance(out, CanonicalEntities) and len(out) == 2
    assert store.fetchall(f"SELECT count(*) FROM hub_collect_fp_{info.tid}") == [(0,)]


def test_a_changed_list_is_not_trusted() -> None:
    batch = BodyBatch(True, ADDED, None)
    batch.add({"_id": "a"})
    out = batch.take()
    assert isinstance(out, CanonicalEntities) and out.prebuilt() is out
    out.append({"_id": "b"})
    assert out.prebuilt() is None


# --- helpers ------------------------------------------------------------------------------------


def _api(system: Any, method: str, path: str, body: Any = None) -> None:
    """One request to the sandbox's API, as a user's edit would come."""
    headers = {k.lower(): v for k, v in system.credentials()["headers"].items()}
    data = b"" if body is None else json.dumps(body).encode()
    response = system.handle(Request(method, path, {}, headers, data))
    assert response.status < 300, response.body
