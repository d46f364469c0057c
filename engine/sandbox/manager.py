"""Start, stop, inspect and seed the sandbox processes (backend of ``pipe sandbox ...``).

Each system runs as its own background process (``python -m engine.sandbox serve ...``), so the
sandboxes outlive the command that started them and a crash in one cannot take the others down.
What is running is recorded in ``<state_dir>/sandboxes.json`` (pid, port, url, credentials);
``status()`` trusts that file only after checking that the pid is alive, is one of ours, and
answers ``GET /_sandbox/health``. Records persist under ``<state_dir>/<system_id>/``, so stopping
and starting again keeps the data; a system that has no data yet is seeded at scale 1 on its
first start, so a fresh checkout has something to synchronise.

Each system prefers a fixed port (:data:`DEFAULT_PORTS`) so URLs are stable between runs, and
falls back to a free port when that one is taken; callers should read URLs from ``status()``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from engine.sandbox.base import SandboxSystem

__all__ = [
    "DEFAULT_PORTS",
    "SYSTEMS",
    "SandboxManager",
    "create_system",
    "ensure_running",
    "sandbox_env",
    "system_class",
]

# system id -> "module:Class"; imported lazily so a missing or broken system does not stop others.
SYSTEMS: dict[str, str] = {
    "customwebshop": "engine.sandbox.customwebshop:CustomwebshopSandbox",
    "customerp": "engine.sandbox.customerp:CustomerpSandbox",
    "invoiced": "engine.sandbox.invoiced:InvoicedSandbox",
    "customcrm": "engine.sandbox.customcrm:CustomcrmSandbox",
    "wave": "engine.sandbox.wave:WaveSandbox",
}
DEFAULT_PORTS: dict[str, int] = {
    "customwebshop": 18101,
    "customerp": 18102,
    "invoiced": 18103,
    "customcrm": 18104,
    "wave": 18105,
}
REGISTRY = "sandboxes.json"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


def system_class(system_id: str) -> type[SandboxSystem]:
    """The class emulating ``system_id`` (``KeyError`` with the known ids if unknown)."""
    if system_id not in SYSTEMS:
        raise KeyError(f"unknown sandbox system {system_id!r}; known: {', '.join(SYSTEMS)}")
    module, _, name = SYSTEMS[system_id].partition(":")
    cls: type[SandboxSystem] = getattr(importlib.import_module(module), name)
    return cls


def create_system(system_id: str, state_dir: Path | None) -> SandboxSystem:
    """An instance of ``system_id`` keeping its records under ``state_dir`` (None: memory)."""
    return system_class(system_id)(state_dir)


def sandbox_env(status: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Flatten ``status()`` into ``$ENV`` values for ``systems/*.json``.

    ``{"invoiced_url": "http://127.0.0.1:18103", "invoiced_api_key": "...",
    "customerp_token": "...", "wave_business_id": "...", ...}``: every scalar credential becomes
    ``<system>_<name>``, so a system config can say ``"base_url": "$ENV(invoiced_url)"``.
    """
    env: dict[str, str] = {}
    for system_id, info in status.items():
        for name, value in info.items():
            if name in ("running", "pid", "port") or value is None:
                continue
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                env[f"{system_id}_{name}"] = str(value)
    return env


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_is_ours(pid: int) -> bool:
    """Alive and running ``engine.sandbox`` (guards against a recycled pid)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the health check instead
    return b"engine.sandbox" in cmdline


def _healthy(url: str, system_id: str, timeout: float = 1.0) -> bool:
    from urllib.error import URLError
    from urllib.request import urlopen

    try:
        with urlopen(url + "/_sandbox/health", timeout=timeout) as resp:
            return bool(json.loads(resp.read()).get("system") == system_id)
    except (URLError, OSError, ValueError):
        return False


class SandboxManager:
    """The sandboxes of one project; every method is safe to call from several processes."""

    def __init__(
        self,
        project_dir: Path,
        state_dir: Path | None = None,
        *,
        default_ports: bool = True,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.project_dir = Path(project_dir)
        # a sandbox reads its whole state before it listens: TPC-H SF 1 (2 GB of ERP orders)
        # takes minutes, not the few seconds a normal start gets
        self.start_timeout = start_timeout
        self.state_dir = Path(state_dir) if state_dir else self.project_dir / "datasets" / "sandbox"
        self.default_ports = default_ports
        # children this instance spawned: stopping them through Popen reaps them properly
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # ---- registry -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The registry, read under an exclusive file lock and written back atomically."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            registry = self._read()
            yield registry
            tmp = self.state_dir / f".{REGISTRY}.tmp"
            tmp.write_text(json.dumps(registry, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.state_dir / REGISTRY)

    def _read(self) -> dict[str, Any]:
        path = self.state_dir / REGISTRY
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _selected(self, systems: Iterable[str] | None) -> list[str]:
        chosen = list(SYSTEMS) if systems is None else list(systems)
        unknown = [s for s in chosen if s not in SYSTEMS]
        if unknown:
            raise KeyError(
                f"unknown sandbox system(s) {', '.join(unknown)}; known: {', '.join(SYSTEMS)}"
            )
        return chosen

    # ---- the commands -------------------------------------------------------------------------

    def status(self, systems: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``{system_id: {"url", "running", "pid", "port", <credentials>...}}``."""
        registry = self._read()
        out: dict[str, dict[str, Any]] = {}
        for system_id in self._selected(systems):
            entry = registry.get(system_id) or {}
            pid, url = entry.get("pid"), entry.get("url")
            running = bool(pid and url and _pid_is_ours(int(pid)) and _healthy(url, system_id))
            creds = entry.get("credentials")
            if creds is None:
                creds = create_system(system_id, None).credentials()
            out[system_id] = {
                "url": url if running else None,
                "running": running,
                "pid": pid if running else None,
                "port": entry.get("port") if running else None,
                **creds,
            }
        return out

    def start(
        self, systems: Iterable[str] | None = None, *, seed_if_empty: int | None = 1
    ) -> dict[str, dict[str, Any]]:
        """Start the selected systems that are not running; answer ``status()`` of them."""
        chosen = self._selected(systems)
        with self._locked() as registry:
            current = self.status(chosen)  # under the lock: two starts never both spawn
            for system_id in chosen:
                if current[system_id]["running"]:
                    continue
                registry[system_id] = self._spawn(system_id, seed_if_empty)
        return self.status(chosen)

    def _spawn(self, system_id: str, seed_if_empty: int | None) -> dict[str, Any]:
        port = DEFAULT_PORTS[system_id] if self.default_ports else 0
        if port and not _port_free(port):
            port = 0
        ready = self.state_dir / f".{system_id}.ready.json"
        ready.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "engine.sandbox",
            "serve",
            "--system",
            system_id,
            "--port",
            str(port),
            "--state-dir",
            str(self.state_dir),
            "--ready-file",
            str(ready),
        ]
        if seed_if_empty is not None:
            cmd += ["--seed-if-empty", str(seed_if_empty)]
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        log = open(self.state_dir / f"{system_id}.log", "ab")  # noqa: SIM115 - child owns it
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if ready.exists():
                info: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
                ready.unlink(missing_ok=True)
                self._children[proc.pid] = proc
                return info
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        raise RuntimeError(
            f"sandbox {system_id} did not start; see {self.state_dir / (system_id + '.log')}"
        )

    def stop(self, systems: Iterable[str] | None = None) -> list[str]:
        """Stop the selected systems this project started; answer the ids that were stopped."""
        stopped = []
        with self._locked() as registry:
            for system_id in self._selected(systems):
                entry = registry.pop(system_id, None)
                pid = (entry or {}).get("pid")
                if pid and _pid_is_ours(int(pid)):
                    child = self._children.pop(int(pid), None)
                    if child is not None:
                        child.terminate()
                        try:
                            child.wait(timeout=STOP_TIMEOUT)
                        except subprocess.TimeoutExpired:
                            child.kill()
                            child.wait()
                    else:
                        _terminate(int(pid))
                    stopped.append(system_id)
        return stopped

    def seed(self, scale: int, systems: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
        """Replace each selected system's records by the seed at ``scale``; answer counts.

        A running system is seeded through its control endpoint (so it sees the new data at
        once); a stopped one is seeded on disk, ready for its next start.
        """
        from urllib.request import Request, urlopen

        from engine.sandbox.seed import seed_system

        counts: dict[str, dict[str, int]] = {}
        for system_id, info in self.status(systems).items():
            if info["running"]:
                req = Request(
                    info["url"] + "/_sandbox/seed",
                    method="POST",
                    data=json.dumps({"scale": scale}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urlopen(req, timeout=120) as resp:
                    counts[system_id] = json.loads(resp.read())["records"]
            else:
                system = create_system(system_id, self.state_dir)
                seed_system(system, scale)
                counts[system_id] = {r: system.count(r) for r in system.resources}
        return counts

    def seed_tpch(self, scale_factor: float) -> dict[str, int]:
        """Replace the Custom ERP's records by TPC-H data (needs ``tpchgen-cli``); counts."""
        from urllib.request import Request, urlopen

        from engine.sandbox.tpch import seed_tpch

        info = self.status(["customerp"])["customerp"]
        if info["running"]:
            req = Request(
                info["url"] + "/_sandbox/seed",
                method="POST",
                data=json.dumps({"tpch_sf": scale_factor}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urlopen(req, timeout=3600) as resp:
                counts: dict[str, int] = json.loads(resp.read())["records"]
                return counts
        system = create_system("customerp", self.state_dir)
        seed_tpch(system, scale_factor)
        return {r: system.count(r) for r in system.resources}


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL if the process is still there after a few seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return  # our own child: reaped
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def ensure_running(
    project_dir: Path,
    systems: Iterable[str] | None = None,
    *,
    state_dir: Path | None = None,
    default_ports: bool = True,
) -> Iterator[dict[str, dict[str, Any]]]:
    """Run a block with the selected sandboxes up; stop afterwards only what it started.

    Yields ``status()`` of the selected systems, so the caller learns URLs and credentials.
    """
    manager = SandboxManager(project_dir, state_dir, default_ports=default_ports)
    chosen = manager._selected(systems)
    before = manager.status(chosen)
    started = [s for s in chosen if not before[s]["running"]]
    try:
        yield manager.start(started) | {s: before[s] for s in chosen if s not in started}
    finally:
        manager.stop(started)


def default_env(project_dir: Path, state_dir: Path | None = None) -> dict[str, str]:
    """``$ENV`` values that point ``systems/*.json`` at the sandboxes (the embedded default).

    A running sandbox contributes its real URL; a stopped one its default port, so configs load
    (and validate) without anything started. Commands that talk to systems start what they
    need with :func:`ensure_running` and use the URLs it reports.
    """
    status = SandboxManager(project_dir, state_dir).status()
    for system_id, info in status.items():
        if not info.get("url"):
            info["url"] = f"http://127.0.0.1:{DEFAULT_PORTS[system_id]}"
    return sandbox_env(status)
