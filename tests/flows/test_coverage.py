"""Every one of the 15 Talk mappings is exercised by a flow scenario in every case the issue asks.

A scenario step (``tests/scenarios/<name>/scenario.json``) may carry
``"covers": [{"mapping": "D.4", "case": "source-edit"}, ...]``: the step's edits and expected
sends exercise that case of that mapping (talk-flows §D numbering). The cases are the issue's
list: first sync, an edit in the source, an edit in the target flowing back, a conflicting edit
on both sides, a delete, a hub-created record not duplicated, and an order whose customer and
products do not exist in the target yet. A pair that cannot happen for a mapping (a mapping with
no references has no missing references) is listed with its reason in
``tests/scenarios/not-applicable.json``. Tags are data so that the coverage is reviewable next
to the expectations that make it honest; this test only checks that the matrix is complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"
NOT_APPLICABLE = SCENARIOS / "not-applicable.json"

MAPPINGS = tuple(f"D.{n}" for n in range(1, 16))
CASES = (
    "first-sync",
    "source-edit",
    "target-edit-back",
    "conflict",
    "delete",
    "no-duplicate",
    "missing-refs",
)


def _tags() -> tuple[set[tuple[str, str]], list[str]]:
    """Every (mapping, case) some step covers, and every malformed tag (where and why)."""
    covered: set[tuple[str, str]] = set()
    errors: list[str] = []
    for path in sorted(SCENARIOS.glob("*/scenario.json")):
        scenario = json.loads(path.read_text(encoding="utf-8"))
        for n, step in enumerate(scenario.get("steps", [])):
            where = f"{path.parent.name} step {n}"
            covers: Any = step.get("covers", [])
            if not isinstance(covers, list):
                errors.append(f"{where}: 'covers' must be a list")
                continue
            for tag in covers:
                if not isinstance(tag, dict) or set(tag) != {"mapping", "case"}:
                    errors.append(f"{where}: {tag!r} must be {{'mapping', 'case'}}")
                elif tag["mapping"] not in MAPPINGS:
                    errors.append(f"{where}: unknown mapping {tag['mapping']!r}")
                elif tag["case"] not in CASES:
                    errors.append(f"{where}: unknown case {tag['case']!r}")
                else:
                    covered.add((tag["mapping"], tag["case"]))
    return covered, errors


def _not_applicable() -> tuple[set[tuple[str, str]], list[str]]:
    entries = json.loads(NOT_APPLICABLE.read_text(encoding="utf-8"))
    pairs: set[tuple[str, str]] = set()
    errors: list[str] = []
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or entry.get("mapping") not in MAPPINGS
            or entry.get("case") not in CASES
            or not str(entry.get("why") or "").strip()
        ):
            errors.append(f"not-applicable.json: {entry!r} needs a known mapping, case and why")
            continue
        pair = (entry["mapping"], entry["case"])
        if pair in pairs:
            errors.append(f"not-applicable.json: {pair} listed twice")
        pairs.add(pair)
    return pairs, errors


def test_tags_are_well_formed() -> None:
    _, tag_errors = _tags()
    _, na_errors = _not_applicable()
    assert tag_errors + na_errors == []


def test_not_applicable_pairs_are_not_also_covered() -> None:
    """A pair both covered and excused means one of the two statements is wrong."""
    covered, _ = _tags()
    excused, _ = _not_applicable()
    assert sorted(covered & excused) == []


def test_every_mapping_is_covered_in_every_case() -> None:
    covered, _ = _tags()
    excused, _ = _not_applicable()
    missing = [
        f"{mapping} {case}"
        for mapping in MAPPINGS
        for case in CASES
        if (mapping, case) not in covered | excused
    ]
    assert missing == [], f"{len(missing)} (mapping, case) pairs without a scenario: {missing}"
