"""Collect benchmark: a full collect of TPC-H ERP orders and customers, then a 1 %-changed one.

Usage: ``nice .venv/bin/python benchmarks/collect.py [--sf 0.02] [--profile FILE] [--keep DIR]``

* Only the Custom ERP sandbox is started (free port, state in a temporary directory) and filled
  with TPC-H data at ``--sf`` (SF 0.01 = 15,000 orders with 60,000 lines and 1,500 customers).
* The hub project holds just ``systems/customerp.json`` and the two collect pipes
  (``customerp-order-collect``, ``customerp-customer-collect``), copied from this repository.
* **full**: both pipes run once into an empty hub database.
* **change**: 1 % of the orders (``notes``) and customers (``name``) are edited through the ERP's
  REST API.
* **re-collect**: both pipes run again with ``full=True``, as the nightly reconcile's first pass
  does (every record is listed so deletions are noticed); 99 % of the records are unchanged.
* **re-collect again**: the same with nothing changed (the nightly case at its cheapest).

Printed per run and pipe: wall seconds, the hub's CPU seconds (``process_time``: the sandbox is
another process, so its serving time is not in it), records read and changed, and records/s
of wall and of CPU, and the sandbox process's CPU seconds meanwhile (most of the wall time
that is not the hub's). ``--profile FILE`` writes a cProfile of the re-collect to ``FILE``;
``--latency-ms N`` makes the sandbox answer each collect request N ms late (a network).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPES = ("customerp-order-collect", "customerp-customer-collect")
CHANGED_FRACTION = 0.01


def make_project(work: Path) -> Path:
    """A project holding only the ERP system and its order and customer collect pipes."""
    project = work / "project"
    (project / "systems").mkdir(parents=True, exist_ok=True)
    (project / "pipes").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "systems" / "customerp.json", project / "systems" / "customerp.json")
    for pipe in PIPES:
        shutil.copy(ROOT / "pipes" / f"{pipe}.json", project / "pipes" / f"{pipe}.json")
    return project


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def collect(hub: Any, name: str, sandbox_pid: int, profile: Path | None = None) -> None:
    """Run both collect pipes in full and print wall, CPU and records/s per pipe."""
    print(f"\n{name}")
    print(
        f"  {'pipe':28s} {'wall s':>8s} {'cpu s':>8s} {'read':>8s} {'changed':>8s} "
        f"{'rec/s wall':>11s} {'rec/s cpu':>10s} {'sandbox cpu s':>14s}"
    )
    profiler = cProfile.Profile() if profile else None
    for pipe in PIPES:
        served = process_cpu(sandbox_pid)
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        report = hub.run(pipe, full=True)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        served = process_cpu(sandbox_pid) - served
        print(
            f"  {pipe:28s} {wall:8.2f} {cpu:8.2f} {report.read:8,} {report.changed:8,} "
            f"{report.read / wall:11,.0f} {report.read / cpu:10,.0f} {served:14.2f}",
            flush=True,
        )
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
        print(f"  profile written to {profile}")


def set_latency(url: str, delay_ms: int) -> None:
    """Make the sandbox answer every API request ``delay_ms`` late (0: clear), like a network."""
    from urllib.request import Request, urlopen

    method, body = (
        ("POST", json.dumps({"delay_ms": delay_ms}).encode()) if delay_ms else ("DELETE", b"{}")
    )
    req = Request(
        url + "/_sandbox/faults",
        method=method,
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urlopen(req, timeout=30) as resp:
        resp.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sf", type=float, default=0.02, help="TPC-H scale factor (0.02)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the re-collect here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="answer every collect request this much late"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq

    from benchmarks.tpch_reconcile import patch_erp
    from engine.hub import Hub
    from engine.sandbox.manager import SandboxManager, sandbox_env

    work = args.keep or Path(tempfile.mkdtemp(prefix="collect-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    project = make_project(work)
    manager = SandboxManager(project, work / "sandbox", default_ports=False)
    try:
        status = manager.start(["customerp"], seed_if_empty=None)
        t0 = time.perf_counter()
        counts = manager.seed_tpch(args.sf)
        print(
            f"TPC-H SF {args.sf:g} loaded into the ERP sandbox in {time.perf_counter() - t0:.1f} s:"
            f" orders {counts['orders']:,}, customers {counts['customers']:,}"
        )
        env = sandbox_env(status)
        data = work / "sandbox" / "tpch" / f"sf{args.sf:g}"
        keys = {
            "orders": pq.read_table(data / "orders.parquet", columns=["o_orderkey"])
            .column(0)
            .to_pylist(),
            "customers": pq.read_table(data / "customer.parquet", columns=["c_custkey"])
            .column(0)
            .to_pylist(),
        }
        with Hub.open(project, db=work / "hub.duckdb", env=env, secrets=env) as hub:
            pid = int(status["customerp"]["pid"])
            erp = status["customerp"]
            set_latency(erp["url"], args.latency_ms)
            collect(hub, "full collect into an empty hub", pid)
            set_latency(erp["url"], 0)
            changed = patch_erp(
                erp["url"],
                erp["token"],
                [("orders", "notes", keys["orders"]), ("customers", "name", keys["customers"])],
            )
            set_latency(erp["url"], args.latency_ms)
            print(
                "\nchanged through the ERP API: "
                + ", ".join(f"{k} {v:,}" for k, v in changed.items())
            )
            collect(hub, "re-collect (full listing, 1 % changed)", pid, args.profile)
            collect(hub, "re-collect again (nothing changed)", pid)
    finally:
        manager.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
