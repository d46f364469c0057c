"""``pipe test``: run a node configuration from empty datasets, then verify every spec.

This is sesam-py's ``sesam test`` without a node: the configuration is loaded for a profile
(``test-env.json`` by default), every pipe runs in a fresh in-memory DuckDB until a whole pass
changes nothing (:func:`engine.reconcile.reconcile`, whose pass cap turns a flow that never
settles into an error), and then the specs are compared exactly as ``pipe verify`` does.

``http_endpoint`` source pipes are fed by pushes, which a test never makes, so reconcile skips
them; they are run once first so their (empty, populated) datasets exist for the pipes that
read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.hub import Hub
from engine.reconcile import DEFAULT_MAX_PASSES, ReconcileReport
from engine.runner import RunReport
from engine.sesam.layout import NodeProject, load_node_project
from engine.sesam.specs import load_specs
from engine.sesam.verify import VerifyReport, verify
from engine.store import Store

__all__ = ["TestReport", "run_test"]


@dataclass(frozen=True)
class TestReport:
    """The runs of a test and the verification of its specs."""

    __test__ = False  # not a pytest test class

    node: NodeProject
    receivers: tuple[RunReport, ...]
    run: ReconcileReport
    verify: VerifyReport

    @property
    def ok(self) -> bool:
        return self.verify.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "profile": self.node.profile,
            "run": {
                "passes": self.run.pass_count,
                "converged": self.run.converged,
                "changed": self.run.changed,
                "receivers": [r.pipe for r in self.receivers],
                "unreached_systems": sorted(self.node.unreached_systems),
            },
            **self.verify.to_dict(),
        }


def run_test(
    root: str | Path,
    *,
    profile: str | None = "test",
    env: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    profile_required: bool = False,
    max_passes: int = DEFAULT_MAX_PASSES,
) -> TestReport:
    """Load, run from empty datasets until nothing changes, and verify every spec.

    Raises:
        ConfigError: the configuration or a spec file is invalid.
        PipeRunError: a pipe failed.
        NotConvergedError: the flow still changed data after ``max_passes`` passes.
    """
    node = load_node_project(
        root, profile=profile, env=env, secrets=secrets, profile_required=profile_required
    )
    specs = load_specs(node.root)
    with Hub(node.project, Store(":memory:")) as hub:
        receivers = tuple(
            hub.run(pipe.id)
            for pipe in sorted(node.project.pipes.values(), key=lambda p: p.id)
            if pipe.source.type == "http_endpoint" and pipe.pump.mode != "off"
        )
        report = hub.reconcile(max_passes=max_passes)
        result = verify(hub.store, node.project, specs)
    return TestReport(node, receivers, report, result)
