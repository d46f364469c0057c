"""The sandbox host: control endpoints and fault injection, over real sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sandbox_http import call

from engine.sandbox.customerp import CustomerpSandbox
from engine.sandbox.server import SandboxServer, serve


@pytest.fixture
def srv() -> Iterator[SandboxServer]:
    with SandboxServer(CustomerpSandbox(None)) as server:
        yield server


def _headers(srv: SandboxServer) -> dict[str, str]:
    headers: dict[str, str] = srv.system.credentials()["headers"]
    return headers


def test_health_and_records_need_no_credentials(srv: SandboxServer) -> None:
    status, _, body = call(srv.url + "/_sandbox/health")
    assert status == 200 and body["system"] == "customerp"
    assert body["records"] == {"customers": 0, "contacts": 0, "products": 0, "orders": 0}
    call(srv.url + "/customers", "POST", {"type": "person", "name": "Zoë"}, _headers(srv))
    status, _, rows = call(srv.url + "/_sandbox/records/customers")
    assert status == 200 and [r["name"] for r in rows] == ["Zoë"]
    assert call(srv.url + "/_sandbox/nope")[0] == 404


def test_status_faults_fail_n_requests_then_recover(srv: SandboxServer) -> None:
    status, _, plan = call(srv.url + "/_sandbox/faults", "POST", {"status": 500, "count": 2})
    assert status == 200 and plan["pending"][0]["remaining"] == 2
    got = [call(srv.url + "/customers", headers=_headers(srv))[0] for _ in range(3)]
    assert got == [500, 500, 200]
    # control endpoints are never faulted
    assert call(srv.url + "/_sandbox/faults")[2]["pending"] == []


def test_429_carries_retry_after(srv: SandboxServer) -> None:
    srv.faults.fail(429, 1, retry_after=2)
    status, headers, body = call(srv.url + "/customers", headers=_headers(srv))
    assert status == 429 and headers["Retry-After"] == "2" and "error" in body
    assert call(srv.url + "/customers", headers=_headers(srv))[0] == 200


def test_timeout_fault_hangs_longer_than_client_timeout(srv: SandboxServer) -> None:
    call(srv.url + "/_sandbox/faults", "POST", {"timeout": 1, "seconds": 1.0})
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, OSError)):
        call(srv.url + "/customers", headers=_headers(srv), timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert call(srv.url + "/customers", headers=_headers(srv))[0] == 200


def test_delay_slows_every_request_until_cleared(srv: SandboxServer) -> None:
    srv.faults.slow(150)
    started = time.monotonic()
    call(srv.url + "/customers", headers=_headers(srv))
    call(srv.url + "/customers", headers=_headers(srv))
    assert time.monotonic() - started >= 0.3
    assert call(srv.url + "/_sandbox/faults", "DELETE")[2]["delay_ms"] == 0
    started = time.monotonic()
    call(srv.url + "/customers", headers=_headers(srv))
    assert time.monotonic() - started < 0.15


def test_bad_fault_requests_are_400(srv: SandboxServer) -> None:
    assert call(srv.url + "/_sandbox/faults", "POST", {"status": 200})[0] == 400
    assert call(srv.url + "/_sandbox/seed", "POST", {"scale": -1})[0] == 400


def test_reset_forgets_everything(srv: SandboxServer) -> None:
    call(srv.url + "/customers", "POST", {"type": "person", "name": "X"}, _headers(srv))
    srv.faults.slow(10)
    status, _, health = call(srv.url + "/_sandbox/reset", "POST")
    assert status == 200 and health["records"]["customers"] == 0
    assert srv.faults.describe()["delay_ms"] == 0


def test_serve_context_manager_frees_the_port() -> None:
    with serve(CustomerpSandbox(None)) as url:
        assert call(url + "/_sandbox/health")[0] == 200
    with pytest.raises(OSError):
        call(url + "/_sandbox/health", timeout=1)


def test_concurrent_writes_get_unique_ids_and_all_persist(tmp_path: Path) -> None:
    with SandboxServer(CustomerpSandbox(tmp_path)) as server:
        headers = _headers(server)

        def create(i: int) -> int:
            status, _, body = call(server.url + "/customers", "POST",
                                   {"type": "company", "name": f"Firma {i}"}, headers)
            assert status == 201
            return int(body["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(create, range(60)))
    assert sorted(ids) == list(range(1, 61))
    assert len(CustomerpSandbox(tmp_path).records("customers")) == 60
