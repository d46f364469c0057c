"""The nightly reconcile on TPC-H data: a full run, then a run after 1 % of ERP records changed.

Usage: ``nice .venv/bin/python benchmarks/tpch_reconcile.py [--sf 1] [--keep DIR]``

* The five sandboxes are started on free ports with their state in a temporary directory; the
  small hand-written seed fills them, then the Custom ERP is replaced by TPC-H data at ``--sf``
  (``tpchgen-cli``; SF 1 = 150k customers, 200k parts, 1.5M orders with 6M lines).
* **full**: ``Hub.reconcile()`` on an empty hub database: collect every system, enrich, merge,
  share everything new to Invoiced, Wave and the CRM, pass after pass until stable.
* **change**: 1 % of the ERP's customers (name), parts (name) and orders (notes) are edited
  through the ERP's own REST API, as a user would.
* **incremental**: ``Hub.reconcile()`` again, as the nightly batch runs it: the flows' collects
  list only what changed since their last run, because their weekly rescan (a full listing that
  notices deletions, ``pump.rescan_cron_expression``) is not due; the run says which pipes read
  in full (docs/decisions/scale.md, "Incremental nights, scheduled rescans").

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
import os
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


def child(project: Path, db: Path, env_file: Path, out: Path, through: str) -> None:
    """Run one reconcile and write its measurements as JSON to ``out``.

    ``through`` names the last stage run: ``share`` is the whole reconcile; ``merge`` leaves
    out the share pipes (the hub's read, transform and merge side, no requests to targets).
    """
    sys.path.insert(0, str(ROOT))
    from engine.hub import Hub
    from engine.reconcile import PipeStep, reconcile

    env: dict[str, str] = json.loads(env_file.read_text())
    per_pipe: dict[str, dict[str, float]] = {}
    cpu_mark = [time.process_time()]

    def progress(step: PipeStep) -> None:
        if step.phase != "done" or step.report is None:
            return
        r = step.report
        # the hub's CPU since the previous pipe ended: this pipe's own work (the machine is
        # shared, so wall seconds include waiting for a core; CPU seconds do not)
        now = time.process_time()
        cpu, cpu_mark[0] = now - cpu_mark[0], now
        row = per_pipe.setdefault(
            step.pipe, {"seconds": 0.0, "cpu": 0.0, "read": 0, "changed": 0, "sent": 0}
        )
        row["full"] = max(row.get("full", 0), int(r.full and r.read > 0))
        row["seconds"] += r.seconds
        row["cpu"] += cpu
        row["read"] += r.read
        row["changed"] += r.changed
        row["sent"] += sum(
            (r.sent or {}).get(k, 0) for k in ("insert", "update", "delete", "rejected")
        )
        print(
            f"    pass {step.pass_number} {step.pipe:40s} {r.seconds:8.2f} s "
            f"cpu {cpu:7.2f} s read {r.read:>9,} changed {r.changed:>9,} ({r.path}, "
            f"{'full' if r.full else 'incremental'})",
            file=sys.stderr,
            flush=True,
        )

    started = time.perf_counter()
    with Hub.open(project, db=db, env=env, secrets=env) as hub:
        if through == "share":
            report = hub.reconcile(progress=progress)
        else:
            last = STAGES.index(through)
            graph = hub.graph()
            pipes = [p for p in graph.order() if stage_of(p) in STAGES[: last + 1]]
            report = reconcile(hub.runner, graph, pipes=pipes, progress=progress)
        sent = hub.sent(report)
    seconds = time.perf_counter() - started
    keys = ("seconds", "cpu", "read", "changed", "sent")
    stages = {s: dict.fromkeys(keys, 0.0) for s in (*STAGES, "other")}
    for pipe_id, row in per_pipe.items():
        for key in keys:
            stages[stage_of(pipe_id)][key] += row[key]
    result = {
        "seconds": seconds,
        "cpu": time.process_time(),
        "pipes": per_pipe,
        "passes": report.pass_count,
        "stages": stages,
        "sent": sent,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out.write_text(json.dumps(result))


def run_child(work: Path, project: Path, env_file: Path, name: str, through: str) -> dict[str, Any]:
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
            through,
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --- changing 1 % through the ERP's API --------------------------------------------------------


def patch_erp(
    url: str, token: str, edits: list[tuple[str, str, list[int]]], seed: int = 8
) -> dict[str, int]:
    """PATCH a random 1 % of each ``(resource, field, keys)`` through the ERP's REST API."""
    rng = random.Random(seed)
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"X-API-Key": token, "Content-Type": "application/json"}
    changed: dict[str, int] = {}
    try:
        for resource_name, field, keys in edits:
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


def change_erp(url: str, token: str, sf: float, order_keys: list[int]) -> dict[str, int]:
    """Edit 1 % of customers, parts and orders through the ERP's REST API (PATCH)."""
    return patch_erp(
        url,
        token,
        [
            ("customers", "name", list(range(1, round(150_000 * sf) + 1))),
            ("products", "name", list(range(1, round(200_000 * sf) + 1))),
            # TPC-H order keys are sparse: read from the generated data
            ("orders", "notes", order_keys),
        ],
    )


# --- printing -----------------------------------------------------------------------------------


def show(name: str, result: dict[str, Any]) -> None:
    print(
        f"\n{name} reconcile (measured): {result['seconds']:.1f} s wall, "
        f"{result['cpu']:.1f} s hub CPU, {result['passes']} passes"
    )
    print(
        f"  {'stage':8s} {'wall s':>9s} {'cpu s':>8s} {'read':>11s} {'changed':>10s} "
        f"{'requests':>9s} {'read/s':>9s}"
    )
    for stage in (*STAGES, "other"):
        row = result["stages"][stage]
        if not row["read"] and not row["seconds"]:
            continue
        rate = row["read"] / row["seconds"] if row["seconds"] else 0.0
        print(
            f"  {stage:8s} {row['seconds']:9.2f} {row['cpu']:8.2f} {int(row['read']):11,} "
            f"{int(row['changed']):10,} {int(row['sent']):9,} {rate:9,.0f}"
        )
    share = result["stages"]["share"]
    if share["sent"]:
        print(
            f"  share: {share['seconds'] / share['sent'] * 1000:.1f} ms wall and "
            f"{share['cpu'] / share['sent'] * 1000:.1f} ms hub CPU per request-making entity "
            "(all share time divided by inserts+updates+deletes+rejections)"
        )
    full = sorted(p for p, r in result["pipes"].items() if r.get("full"))
    print(f"  read in full: {', '.join(full) if full else 'none'}")
    slowest = sorted(result["pipes"].items(), key=lambda kv: -kv[1]["seconds"])[:8]
    print("  slowest pipes: " + ", ".join(f"{p} {r['seconds']:.1f} s" for p, r in slowest))
    sent = {
        f"{system}/{datatype}": ops
        for system, datatypes in result["sent"].items()
        for datatype, ops in datatypes.items()
        if any(ops.values())
    }
    for key, ops in sorted(sent.items()):
        print(f"  sent {key:22s} " + " ".join(f"{k} {v:,}" for k, v in ops.items() if v))
    print(f"  peak RSS of the hub process: {result['peak_rss_mb']:.0f} MB")


def projection(result: dict[str, Any], sf: float, target_sf: float = 1.0) -> None:
    """Print SF ``target_sf`` projected linearly from this run's per-stage measurements.

    Every stage's work grows with the entity counts (TPC-H scales linearly), so seconds scale
    by ``target_sf / sf``. That ignores what grows faster (a sandbox's per-request scans of its
    own records) and what grows slower (fixed per-run costs), so it is an estimate, labelled so.
    """
    factor = target_sf / sf
    total = sum(row["seconds"] for row in result["stages"].values()) * factor
    parts = ", ".join(
        f"{stage} {result['stages'][stage]['seconds'] * factor / 60:.0f} min"
        for stage in (*STAGES, "other")
        if result["stages"][stage]["seconds"]
    )
    print(f"  PROJECTED for SF {target_sf:g} (x{factor:g}, linear): {total / 60:.0f} min ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--invoiced-rate",
        type=float,
        help="raise the Invoiced sandbox's rate limit (requests/s, default 50) to measure the hub",
    )
    parser.add_argument(
        "--incremental-only",
        action="store_true",
        help="with --keep DIR of an earlier run: restart its sandboxes as they were, skip the "
        "load and the full reconcile (its figures are read from DIR/full.json)",
    )
    parser.add_argument(
        "--through",
        choices=STAGES[1:],
        default="share",
        help="run the stages up to this one (merge: no share pipes, no requests to targets)",
    )
    parser.add_argument(
        "--reuse-load",
        action="store_true",
        help="with --keep DIR of an earlier run at the same --sf: keep its sandboxes' data (the "
        "SF 1 load takes ~11 min) and start from an empty hub database",
    )
    parser.add_argument("--child", nargs=5, metavar=("PROJECT", "DB", "ENV", "OUT", "THROUGH"))
    args = parser.parse_args()
    # a SIGTERM unwinds like Ctrl-C, so the sandboxes are stopped and the temp dir removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.child:
        project, db, env_file, out, through = args.child
        child(Path(project), Path(db), Path(env_file), Path(out), through)
        return
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq

    from engine.sandbox.manager import SandboxManager, sandbox_env

    work = args.keep or Path(tempfile.mkdtemp(prefix="tpch-reconcile-"))
    work.mkdir(parents=True, exist_ok=True)
    project = work / "project"
    for part in ("pipes", "systems"):  # always this tree's: a kept copy could be stale
        shutil.rmtree(project / part, ignore_errors=True)
        shutil.copytree(ROOT / part, project / part)
    manager = SandboxManager(project, work / "sandbox", default_ports=False, start_timeout=900)
    if args.invoiced_rate:
        from engine.sandbox.invoiced import RATE_ENV

        os.environ[RATE_ENV] = f"{args.invoiced_rate:g}"  # the sandbox processes inherit it
        print(f"Invoiced sandbox rate limit raised to {args.invoiced_rate:g} requests/s")
    try:
        t0 = time.perf_counter()
        status = manager.start(seed_if_empty=1)
        env_file = work / "env.json"
        env_file.write_text(json.dumps(sandbox_env(status)))
        if args.incremental_only:
            full = json.loads((work / "full.json").read_text())
            print(f"full reconcile of {work} (measured earlier, read from full.json):")
        elif args.reuse_load:
            (work / "hub.duckdb").unlink(missing_ok=True)
            (work / "hub.duckdb.wal").unlink(missing_ok=True)
            print(f"TPC-H SF {args.sf:g} as loaded earlier into {work}; empty hub")
            full = run_child(work, project, env_file, "full", args.through)
        else:
            counts = manager.seed_tpch(args.sf)
            print(
                f"TPC-H SF {args.sf:g} loaded into the ERP sandbox in "
                f"{time.perf_counter() - t0:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            )
            full = run_child(work, project, env_file, "full", args.through)
        show("full", full)
        projection(full, args.sf)
        t0 = time.perf_counter()
        erp = status["customerp"]
        keys = pq.read_table(
            work / "sandbox" / "tpch" / f"sf{args.sf:g}" / "orders.parquet", columns=["o_orderkey"]
        )
        changed = change_erp(erp["url"], erp["token"], args.sf, sorted(keys.column(0).to_pylist()))
        print(
            f"\nchanged through the ERP API in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in changed.items())
        )
        incremental = run_child(work, project, env_file, "incremental", args.through)
        show("incremental", incremental)
        projection(incremental, args.sf)
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
