"""``python -m engine.sandbox serve|start|stop|status|seed``: the sandbox process entry point.

``serve`` is what the manager runs in each background process: host one system in the
foreground until SIGTERM. The other sub-commands mirror ``pipe sandbox ...`` (JSON output) so
the sandboxes are usable before, and independently of, the ``pipe`` CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from engine.sandbox.manager import SYSTEMS, SandboxManager, create_system
from engine.sandbox.server import SandboxServer


def _serve(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir) if args.state_dir else None
    system = create_system(args.system, state_dir)
    if args.seed_if_empty is not None and not any(
        system.count(r) for r in system.resources if r not in ("businesses", "accounts")
    ):
        from engine.sandbox.seed import seed_system

        seed_system(system, args.seed_if_empty)
    server = SandboxServer(system, port=args.port)

    def _on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _on_term)
    if args.ready_file:
        ready = Path(args.ready_file)
        info = {
            "system": args.system,
            "pid": os.getpid(),
            "port": server.port,
            "url": server.url,
            "credentials": system.credentials(),
        }
        tmp = ready.with_name(ready.name + ".tmp")
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, ready)
    print(f"sandbox {args.system} listening on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="host one system in the foreground")
    serve.add_argument("--system", required=True, choices=list(SYSTEMS))
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--state-dir", default=None)
    serve.add_argument("--ready-file", default=None)
    serve.add_argument("--seed-if-empty", type=int, default=None)
    for name in ("start", "stop", "status", "seed"):
        cmd = sub.add_parser(name)
        cmd.add_argument("systems", nargs="*", help=", ".join(SYSTEMS))
        cmd.add_argument("--project", default=".")
        if name == "seed":
            cmd.add_argument("--scale", type=int, default=1)
            cmd.add_argument(
                "--tpch",
                type=float,
                default=None,
                help="fill customerp from TPC-H at this scale factor",
            )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    manager = SandboxManager(Path(args.project))
    systems = args.systems or None
    if args.command == "start":
        result: object = manager.start(systems)
    elif args.command == "stop":
        result = manager.stop(systems)
    elif args.command == "status":
        result = manager.status(systems)
    elif args.tpch is not None:
        result = manager.seed_tpch(args.tpch)
    else:
        result = manager.seed(args.scale, systems)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
