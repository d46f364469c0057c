"""The nightly reconcile on TPC-H data: a full run, then a run after 1 % of ERP records changed.

Usage: ``nice .venv/bin/python benchmarks/tpch_reconcile.py [--sf 1] [--keep DIR]``

* The five sandboxes are started on free ports with their state in a temporary directory; the
  small hand-written seed fills them, then the Custom ERP is replaced by TPC-H data at ``--sf``
  (``tpchgen-cli``; SF 1 = 150k customers, 200k parts, 1.5M orders with 6M lines).
* **full**: ``Hub.reconcile()`` on an empty hub database: collect every system, enrich, merge,
  share everything new to Invoiced, Wave and the CRM, pass after pass until stable.
* **change**: 1 % of the ERP's customers (name), parts (name) and orders (notes) are edited
  through the ERP's own REST API, as a user would.
* **incremental**: ``Hub.reconcile()`` again (the first pass collects every system in full, as
  the nightly batch does, so deletions are noticed).

Each reconcile runs in its own child process, so its peak RSS (``ru_maxrss``) is the hub's alone:
the sandboxes are separate server processes, and this parent only orchestrates. Printed per run:
the time and entities read per stage (collect, enrich, merge, share) with entities/s, the
passes, what was sent, and the peak RSS; then the ratio incremental/full against the target
(< 5 %) and the peak RSS against the target (< 1.5 GB).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("collect", "enrich", "merge", "share")
CHANGED_FRACTION = 0.01
TARGET_RATIO = 0.05
TARGET_RSS_MB = 1536


def stage_of(pipe_id: str) -> str:
    """Which stage of the flows a pipe belongs to, by its Talk name."""
    if pipe_id.endswith("-collect"):
        return "collect"
    if pipe_id.endswith("-enrich"):
        return "enrich"
    if pipe_id.startswith("global-"):
        return "merge"
    if pipe_id.endswith("-share"):
        return "share"
    return "other"


# --- the child: one reconcile, measured ------------------------------------------------------


def child(project: Path, db: Path, env_file: Path, out: Path) -> None:
    """Run one reconcile and write its measurements as JSON to ``out``."""
    sys.path.insert(0, str(ROOT))
    from engine.hub import Hub
    from engine.reconcile import PipeStep

    env: dict[str, str] = json.loads(env_file.read_text())
    per_pipe: dict[str, dict[str, float]] = {}

    def progress(step: PipeStep) -> None:
        if step.phase != "done" or step.report is None:
            return
        r = step.report
        row = per_pipe.setdefault(step.pipe, {"seconds": 0.0, "read": 0, "changed": 0})
        row["seconds"] += r.seconds
        row["read"] += r.read
        row["changed"] += r.changed
        print(
            f"    pass {step.pass_number} {step.pipe:40s} {r.seconds:8.2f} s "
            f"read {r.read:>9,} changed {r.changed:>9,} ({r.path})",
            file=sys.stderr,
            flush=True,
        )

    started = time.perf_counter()
    with Hub.open(project, db=db, env=env, secrets=env) as hub:
        report = hub.reconcile(progress=progress)
        sent = hub.sent(report)
    seconds = time.perf_counter() - started
    stages = {s: {"seconds": 0.0, "read": 0, "changed": 0} for s in (*STAGES, "other")}
    for pipe_id, row in per_pipe.items():
        for key in ("seconds", "read", "changed"):
            stages[stage_of(pipe_id)][key] += row[key]
    result = {
        "seconds": seconds,
        "passes": report.pass_count,
        "stages": stages,
        "sent": sent,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out.write_text(json.dumps(result))


def run_child(work: Path, project: Path, env_file: Path, name: str) -> dict[str, Any]:
    out = work / f"{name}.json"
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(project),
            str(work / "hub.duckdb"),
            str(env_file),
            str(out),
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --- changing 1 % through the ERP's API --------------------------------------------------------


def change_erp(url: str, token: str, sf: float, seed: int = 8) -> dict[str, int]:
    """Edit 1 % of customers, parts and orders through the ERP's REST API (PATCH)."""
    from engine.sandbox.tpch import TABLES  # noqa: F401 - the mapping defines the id ranges

    counts = {"customers": round(150_000 * sf), "products": round(200_000 * sf)}
    counts["orders"] = round(1_500_000 * sf)
    rng = random.Random(seed)
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"X-API-Key": token, "Content-Type": "application/json"}
    changed: dict[str, int] = {}
    try:
        for resource_name, field in (
            ("customers", "name"),
            ("products", "name"),
            ("orders", "notes"),
        ):
            total = counts[resource_name]
            if resource_name == "orders":
                # TPC-H order keys are sparse: 8 used out of every 32
                keys = [k for k in range(1, total * 4 + 1) if (k - 1) % 32 < 8]
            else:
                keys = list(range(1, total + 1))
            chosen = rng.sample(keys, max(1, round(len(keys) * CHANGED_FRACTION)))
            for key in chosen:
                body = json.dumps({field: f"changed {key} {rng.random():.6f}"})
                con.request("PATCH", f"/{resource_name}/{key}", body=body, headers=headers)
                resp = con.getresponse()
                resp.read()
                if resp.status >= 300:
                    raise RuntimeError(f"PATCH /{resource_name}/{key}: HTTP {resp.status}")
            changed[resource_name] = len(chosen)
    finally:
        con.close()
    return changed


# --- printing -----------------------------------------------------------------------------------


def show(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name} reconcile: {result['seconds']:.1f} s in {result['passes']} passes")
    print(f"  {'stage':8s} {'seconds':>9s} {'read':>11s} {'changed':>10s} {'entities/s':>11s}")
    for stage in (*STAGES, "other"):
        row = result["stages"][stage]
        if not row["read"] and not row["seconds"]:
            continue
        rate = row["read"] / row["seconds"] if row["seconds"] else 0.0
        print(
            f"  {stage:8s} {row['seconds']:9.2f} {int(row['read']):11,} "
            f"{int(row['changed']):10,} {rate:11,.0f}"
        )
    sent = {
        f"{system}/{datatype}": ops
        for system, datatypes in result["sent"].items()
        for datatype, ops in datatypes.items()
        if any(ops.values())
    }
    for key, ops in sorted(sent.items()):
        print(f"  sent {key:22s} " + " ".join(f"{k} {v:,}" for k, v in ops.items() if v))
    print(f"  peak RSS of the hub process: {result['peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--child", nargs=4, metavar=("PROJECT", "DB", "ENV", "OUT"))
    args = parser.parse_args()
    # a SIGTERM unwinds like Ctrl-C, so the sandboxes are stopped and the temp dir removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.child:
        child(*(Path(p) for p in args.child))
        return
    sys.path.insert(0, str(ROOT))
    from engine.sandbox.manager import SandboxManager, sandbox_env

    work = args.keep or Path(tempfile.mkdtemp(prefix="tpch-reconcile-"))
    work.mkdir(parents=True, exist_ok=True)
    project = work / "project"
    for part in ("pipes", "systems"):
        if not (project / part).exists():
            shutil.copytree(ROOT / part, project / part)
    manager = SandboxManager(project, work / "sandbox", default_ports=False)
    try:
        t0 = time.perf_counter()
        status = manager.start(seed_if_empty=1)
        counts = manager.seed_tpch(args.sf)
        print(
            f"TPC-H SF {args.sf:g} loaded into the ERP sandbox in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        env_file = work / "env.json"
        env_file.write_text(json.dumps(sandbox_env(status)))
        full = run_child(work, project, env_file, "full")
        show("full", full)
        t0 = time.perf_counter()
        erp = status["customerp"]
        changed = change_erp(erp["url"], erp["token"], args.sf)
        print(
            f"\nchanged through the ERP API in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in changed.items())
        )
        incremental = run_child(work, project, env_file, "incremental")
        show("incremental", incremental)
        ratio = incremental["seconds"] / full["seconds"]
        peak = max(full["peak_rss_mb"], incremental["peak_rss_mb"])
        print(
            f"\nincremental / full: {ratio:.1%} (target < {TARGET_RATIO:.0%}: "
            f"{'met' if ratio < TARGET_RATIO else 'NOT met'})"
        )
        print(
            f"peak RSS: full {full['peak_rss_mb']:.0f} MB, incremental "
            f"{incremental['peak_rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB: "
            f"{'met' if peak < TARGET_RSS_MB else 'NOT met'})"
        )
    finally:
        manager.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
