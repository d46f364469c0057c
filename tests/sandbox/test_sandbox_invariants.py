"""Property tests: paging and change cursors stay sound under any sequence of writes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sandbox.base import Request, SandboxSystem
from engine.sandbox.customcrm import CustomcrmSandbox
from engine.sandbox.customerp import CustomerpSandbox
from engine.sandbox.invoiced import DEFAULT_API_KEY, InvoicedSandbox

Op = tuple[str, int, str]
ops = st.lists(st.tuples(st.sampled_from(["create", "patch", "delete"]),
                         st.integers(0, 30), st.text(min_size=1, max_size=8)),
               min_size=1, max_size=25)


def _send(system: SandboxSystem, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    path, _, query = path.partition("?")
    params: dict[str, list[str]] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        params.setdefault(key, []).append(value)
    creds = system.credentials().get("headers", {})
    resp = system.handle(Request(method, path, params,
                                 {k.lower(): v for k, v in {**creds, **(headers or {})}.items()},
                                 json.dumps(body).encode() if body is not None else b""))
    return resp.status, resp.body


def _pages(system: SandboxSystem, path: str, per_page: int) -> list[dict[str, Any]]:
    out, page = [], 1
    while page is not None:
        status, body = _send(system, "GET", f"{path}per_page={per_page}&page={page}")
        assert status == 200
        out.extend(body["data"])
        page = body["next_page"]
    return out


@settings(max_examples=40, deadline=None)
@given(ops=ops, per_page=st.integers(1, 7), pascal=st.booleans())
def test_custom_paging_and_updated_since(ops: list[Op], per_page: int, pascal: bool) -> None:
    system: SandboxSystem = CustomcrmSandbox(None) if pascal else CustomerpSandbox(None)
    key, stamp = ("Id", "UpdatedAt") if pascal else ("id", "updated_at")
    name = "Name" if pascal else "name"
    cursor = ""
    for op, pick, text in ops:
        live = system.records("customers")
        if op == "create" or not live:
            body = {name: text} if pascal else {"type": "company", "name": text}
            status, rec = _send(system, "POST", "/customers", body)
            assert status == 201
        else:
            target = live[pick % len(live)][key]
            if op == "patch":
                status, rec = _send(system, "PATCH", f"/customers/{target}", {name: text})
                assert status == 200
            else:
                assert _send(system, "DELETE", f"/customers/{target}")[0] == 204
                continue
        assert rec[stamp] > cursor  # every write moves the cursor strictly forward
        cursor = rec[stamp]

    live = system.records("customers")
    paged = _pages(system, "/customers?", per_page)
    assert [r[key] for r in paged] == [r[key] for r in live]  # each record once, id order
    for since in {r[stamp] for r in live}:
        got = _pages(system, f"/customers?updated_since={since}&", per_page)
        assert [r[key] for r in got] == [
            r[key] for r in sorted(live, key=lambda r: r[stamp]) if r[stamp] >= since]


def _inv(system: InvoicedSandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    token = base64.b64encode(f"{DEFAULT_API_KEY}:".encode()).decode()
    return _send(system, method, path, body, {"authorization": f"Basic {token}"})


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 23), per_page=st.integers(1, 10))
def test_invoiced_pages_cover_everything_once(n: int, per_page: int) -> None:
    system = InvoicedSandbox(None, rate_limit=1e6, burst=10**6)
    system.load_records("customers", [{"name": f"K{i}"} for i in range(n)])
    seen: list[int] = []
    page = 1
    while True:
        resp = system.handle(Request("GET", "/customers",
                                     {"page": [str(page)], "per_page": [str(per_page)]},
                                     {"authorization": "Basic " + base64.b64encode(
                                         f"{DEFAULT_API_KEY}:".encode()).decode()}))
        assert resp.headers["X-Total-Count"] == str(n)
        seen.extend(r["id"] for r in resp.body)
        if 'rel="next"' not in resp.headers["Link"]:
            break
        page += 1
    assert seen == list(range(1, n + 1))


def test_invoiced_state_and_counters_survive_restart(tmp_path: Path) -> None:
    first = InvoicedSandbox(tmp_path)
    _, cust = _inv(first, "POST", "/customers", {"name": "Persist AS"})
    _, inv = _inv(first, "POST", "/invoices", {"customer": cust["id"], "items": [
        {"name": "A", "quantity": 1, "unit_cost": 10}]})
    second = InvoicedSandbox(tmp_path)
    assert _inv(second, "GET", f"/invoices/{inv['id']}") == (200, inv)
    _, inv2 = _inv(second, "POST", "/invoices", {"customer": cust["id"], "items": [
        {"name": "B", "quantity": 2, "unit_cost": 5}]})
    assert inv2["id"] == inv["id"] + 1
    assert inv2["items"][0]["id"] > inv["items"][0]["id"]
