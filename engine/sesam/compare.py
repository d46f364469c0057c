"""Compare a pipe's output with an expected file the way sesam-py's ``verify`` does (pure).

Normalisation, applied to both sides (sesam-py applies it to the current output only; doing it to
the expected side as well only changes cases sesam-py would fail):

* keys starting with ``_`` are dropped at every depth, except ``_id`` and ``_deleted: true``;
* blacklisted paths are dropped: dotted paths (``address.city``), ``[].`` steps into lists
  (``lines[].sku``) and ``fnmatch`` wildcards; list items keep their parent's path, as in sesam-py;
* an optional whitelist (our extension) keeps only the listed paths;
* numbers whose text ends in ``.0`` become ints (``1.0`` == ``1``); typed values are compared as
  their transit text (``"~t2024-01-01T00:00:00Z"``, ``"~:crm:1"``);
* with ``ignore_deletes`` (the default) deleted entities are dropped unless the expected file
  lists that ``_id`` as deleted;
* entities are sorted by ``fields_to_sort_by`` (default ``_id``), then by canonical JSON.

The two sides are then rendered as indented JSON with sorted keys and compared as text; a
mismatch comes with a per-``_id`` summary and a unified diff. Byte endpoints (CSV) are compared
byte for byte, with a text diff when both decode as UTF-8.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from engine.entity import encode
from engine.sesam.specs import TestSpec

__all__ = [
    "Comparison",
    "compare_bytes",
    "compare_entities",
    "filter_entity",
    "fix_decimal_ints",
    "is_path_blacklisted",
    "normalise",
]

MAX_DIFF_LINES = 400


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of one comparison; ``diff`` is empty when ``ok``."""

    ok: bool
    summary: str
    diff: str = ""
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def _matches(path: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if fnmatchcase(path, pattern.replace("[].", ".*.")):
            return True
        if fnmatchcase(path, pattern.replace("[].", ".")):
            return True
    return False


def is_path_blacklisted(path: Sequence[str], blacklist: Sequence[str]) -> bool:
    """True if the property path matches a blacklist pattern.

    >>> is_path_blacklisted(["lines", "sku"], ["lines[].sku"])
    True
    >>> is_path_blacklisted(["address", "city"], ["address.*"]), is_path_blacklisted(["a"], ["b"])
    (True, False)
    """
    return bool(blacklist) and _matches(".".join(path), blacklist)


def _whitelisted(path: Sequence[str], whitelist: Sequence[str]) -> tuple[bool, bool]:
    """(keep the value whole, keep it but filter inside) for a path under a whitelist."""
    text = ".".join(path)
    if _matches(text, whitelist):
        return True, False
    inside = any(p.replace("[].", ".").startswith(text + ".") for p in whitelist)
    return False, inside


def filter_entity(entity: Any, spec: TestSpec) -> Any:
    """sesam-py's ``filter_entity`` (plus the whitelist extension) on an encoded entity."""

    def walk(parent: list[str], item: Any, kept: bool) -> Any:
        if isinstance(item, list):
            return [walk(parent, v, kept) for v in item]
        if not isinstance(item, dict):
            return item
        out: dict[str, Any] = {}
        for key, value in item.items():
            path = [*parent, key]
            if is_path_blacklisted(path, spec.blacklist):
                continue
            if key.startswith("_"):
                if key == "_id" or (key == "_deleted" and value is True):
                    out[key] = value
                continue
            if kept or spec.whitelist is None:
                out[key] = walk(path, value, kept)
                continue
            whole, inside = _whitelisted(path, spec.whitelist)
            if whole or inside:
                out[key] = walk(path, value, whole)
        return out

    return walk([], entity, False)


def fix_decimal_ints(value: Any) -> Any:
    """Numbers whose text ends in ``.0`` as ints, recursively (sesam-py's rule).

    >>> fix_decimal_ints({"a": 1.0, "b": [2.5, 3.0], "c": "4.0"})
    {'a': 1, 'b': [2.5, 3], 'c': '4.0'}
    """
    if isinstance(value, dict):
        return {k: fix_decimal_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fix_decimal_ints(v) for v in value]
    if isinstance(value, float) and str(value).endswith(".0"):
        return int(value)
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _sort_key(fields: Sequence[str]) -> Any:
    def key(entity: Any) -> list[str]:
        get = entity.get if isinstance(entity, dict) else (lambda _: None)
        return [_canonical(get(f)) for f in fields] + [_canonical(entity)]

    return key


def normalise(entities: Sequence[Any], spec: TestSpec, *, typed: bool) -> list[Any]:
    """Filter, fix ``.0`` numbers and sort (no delete handling).

    ``typed`` entities hold typed values (the hub's output) and are transit-encoded first;
    plain JSON read from an expected file already holds transit text and is taken as is.
    """
    plain = [encode(e) for e in entities] if typed else list(entities)
    out = [fix_decimal_ints(filter_entity(e, spec)) for e in plain]
    return sorted(out, key=_sort_key(spec.fields_to_sort_by))


def _ids(entities: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in entities:
        if isinstance(e, dict) and isinstance(e.get("_id"), str):
            out.setdefault(e["_id"], e)
    return out


def _unified(expected: str, current: str, expected_name: str, current_name: str) -> str:
    lines = list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=expected_name,
            tofile=current_name,
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        more = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({more} more diff lines)\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def compare_entities(
    expected: Sequence[Any],
    current: Sequence[Any],
    spec: TestSpec,
    *,
    current_name: str = "current output",
) -> Comparison:
    """Compare expected entities (plain JSON) with the pipe's current entities."""
    expected_norm = normalise(expected, spec, typed=False)
    current_norm = normalise(current, spec, typed=True)
    if spec.ignore_deletes:
        expected_deletes = {
            e.get("_id") for e in expected_norm if isinstance(e, dict) and e.get("_deleted")
        }
        current_norm = [
            e
            for e in current_norm
            if not (
                isinstance(e, dict) and e.get("_deleted") and e.get("_id") not in expected_deletes
            )
        ]
    expected_text = json.dumps(expected_norm, indent=2, sort_keys=True, ensure_ascii=False)
    current_text = json.dumps(current_norm, indent=2, sort_keys=True, ensure_ascii=False)
    counts = {"expected": len(expected_norm), "current": len(current_norm)}
    if expected_text == current_text:
        return Comparison(True, f"{len(expected_norm)} entities match", details=counts)
    exp_ids, cur_ids = _ids(expected_norm), _ids(current_norm)
    missing = tuple(sorted(set(exp_ids) - set(cur_ids)))
    unexpected = tuple(sorted(set(cur_ids) - set(exp_ids)))
    changed = tuple(sorted(i for i in set(exp_ids) & set(cur_ids) if exp_ids[i] != cur_ids[i]))
    if len(expected_norm) != len(current_norm):
        summary = (
            f"length mismatch: expected {len(expected_norm)} entities, got {len(current_norm)}"
        )
    else:
        summary = f"content mismatch in {len(expected_norm)} entities"
    parts = [f"missing: {', '.join(missing)}"] if missing else []
    parts += [f"unexpected: {', '.join(unexpected)}"] if unexpected else []
    parts += [f"changed: {', '.join(changed)}"] if changed else []
    if parts:
        summary += " (" + "; ".join(parts) + ")"
    diff = _unified(expected_text, current_text, spec.expected_path, current_name)
    return Comparison(False, summary, diff, missing, unexpected, changed, counts)


def compare_bytes(
    expected: bytes, current: bytes, spec: TestSpec, *, current_name: str = "current output"
) -> Comparison:
    """Byte-for-byte comparison (CSV and other published files)."""
    counts = {"expected_bytes": len(expected), "current_bytes": len(current)}
    if expected == current:
        return Comparison(True, f"{len(expected)} bytes match", details=counts)
    summary = f"content mismatch: expected {len(expected)} bytes, got {len(current)}"
    try:
        expected_text, current_text = expected.decode("utf-8"), current.decode("utf-8")
    except UnicodeDecodeError:
        return Comparison(False, summary + " (not UTF-8 text: no diff shown)", details=counts)
    diff = _unified(expected_text, current_text, spec.expected_path, current_name)
    if not diff and expected_text != current_text:
        diff = "(the texts differ only in line endings or invisible bytes)\n"
    return Comparison(False, summary, diff, details=counts)
