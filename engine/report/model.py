"""What the conflict and drift report holds: plain frozen records with a JSON shape.

The report is data first: :mod:`engine.report.collect` fills these records from the store,
``pipe report --json`` prints :meth:`Report.to_dict`, and the HTML page and the text sections are
two renderings of the same dict. Values taken from entities stay in Sesam's JSON form (typed
values as transit strings such as ``"~t2024-01-01T00:00:00Z"``), so the report never has to know
the types of the data it shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "SECTIONS",
    "Conflict",
    "ConflictSide",
    "DeadLetter",
    "Drift",
    "Merge",
    "Rekey",
    "Report",
    "Skip",
    "Split",
    "Window",
]

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("conflicts", "Conflicts"),
    ("lock-skips", "Optimistic-lock skips"),
    ("dead-letters", "Dead letters"),
    ("drift", "Drift"),
    ("identity-churn", "Identity churn"),
)
"""Section ids (the HTML ``id`` attributes) and titles, in the order they are shown."""


@dataclass(frozen=True, slots=True)
class Window:
    """The reconcile the report describes."""

    id: int
    started: str
    ended: str | None
    status: str
    passes: int | None
    seconds: float | None
    sent: dict[str, Any]
    """system → datatype → {insert, update, delete} (as ``pipe reconcile --json``)."""
    lock_skipped: dict[str, int]
    """Share pipe → optimistic-lock skips counted by its runs in this reconcile."""
    rejected: dict[str, int]
    """Share pipe → writes the system refused in this reconcile (each retry counts)."""


@dataclass(frozen=True, slots=True)
class ConflictSide:
    """One value a member changed to during the reconcile window."""

    member: str
    dataset: str
    value: Any
    changed_at: str
    """The member's ``$last-modified`` for that version, else when the hub stored it."""
    won: bool = False
    """This side's value is the golden value the reconcile ended with."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A golden property that two (or more) members changed to different values at once."""

    dataset: str
    id: str
    property: str
    sides: tuple[ConflictSide, ...]
    winner: dict[str, Any] | None
    """The golden entity's ``$claims`` entry after the reconcile: survivorship's own decision
    (``value``, ``member``, ``dataset``, ``at``, ``rule``)."""
    why: str


@dataclass(frozen=True, slots=True)
class Skip:
    """A share that left a record alone because it changed in the system after the collect."""

    pipe: str
    system: str
    datatype: str
    id: str
    target_id: str | None
    at: str | None
    error: str | None
    now: str | None
    """The share's status for this record when the reconcile ended (``updated`` once resent)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entity a system keeps refusing (the live contents of ``system:dead-letter:<pipe>``)."""

    pipe: str
    id: str
    reason: str | None
    operation: str | None
    status: int | None
    attempts: int
    first_failure: str | None
    last_failure: str | None


@dataclass(frozen=True, slots=True)
class Drift:
    """A record in a target system that no flow created and nothing links to anything else."""

    system: str
    datatype: str
    id: str
    member: str
    dataset: str
    """The global dataset where it stands alone."""
    golden_id: str
    label: str | None


@dataclass(frozen=True, slots=True)
class Merge:
    """A global entity whose members were spread over several global entities before."""

    dataset: str
    id: str
    previous: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Split:
    """A global entity whose members now belong to several global entities."""

    dataset: str
    id: str
    into: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rekey:
    """A global id the merge retired (``$replaced``), and where its members went."""

    dataset: str
    old: str
    new: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """The conflict and drift report of one reconcile."""

    window: Window
    conflicts: tuple[Conflict, ...] = ()
    lock_skips: tuple[Skip, ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    drift: tuple[Drift, ...] = ()
    merges: tuple[Merge, ...] = ()
    splits: tuple[Split, ...] = ()
    rekeys: tuple[Rekey, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        return {
            "conflicts": len(self.conflicts),
            "lock_skips": len(self.lock_skips),
            "dead_letters": len(self.dead_letters),
            "drift": len(self.drift),
            "merges": len(self.merges),
            "splits": len(self.splits),
            "rekeys": len(self.rekeys),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``pipe report --json`` (tuples become lists)."""
        return _lists(
            {
                "reconcile": asdict(self.window),
                "summary": self.counts(),
                "conflicts": [asdict(c) for c in self.conflicts],
                "lock_skips": [asdict(s) for s in self.lock_skips],
                "dead_letters": [asdict(d) for d in self.dead_letters],
                "drift": [asdict(d) for d in self.drift],
                "identity_churn": {
                    "merges": [asdict(m) for m in self.merges],
                    "splits": [asdict(s) for s in self.splits],
                    "rekeys": [asdict(r) for r in self.rekeys],
                },
                "notes": list(self.notes),
            }
        )


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
