"""``pipe docs``: the dataflow documents, in the format of Sesam Talk's QA documents.

Each share pipe says in ``metadata.docs`` which document sections it implements (flow, source
label, target label, the enrich pipes of the source, and whether the section covers the record
(rule ``payload``) or its lines (rule ``line``)). The property tables are read from the DTL,
never written by hand, so they cannot drift from what the hub really does:

* the share pipe's rule maps golden properties to target properties: ``["add", TARGET, EXPR]``;
  the golden properties are the ``_S.<name>`` paths in EXPR (a ``_P._T.$ref-<name>`` path is a
  reference hopped in the default rule from ``_S.<name>``); the target data type is the cast
  around EXPR (``string``, ``integer``, ``float``, ``boolean``, ``dict``, ``apply``), named as
  the target system names it (``metadata.type_names``);
* the source's enrich pipe maps raw properties to golden ones: ``["add", GOLDEN, EXPR]``; the
  raw properties are the ``_S.<path>`` paths in EXPR.

This module is pure: configs in, text out.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.pipes import PipeConfig

__all__ = ["Section", "build_documents", "render_document"]

_CASTS = {"string", "integer", "float", "decimal", "boolean", "dict", "list"}


@dataclass
class Section:
    source: str
    target: str
    target_system: str
    position: int = 0
    rows: list[tuple[str, str, str]] = field(default_factory=list)


def _paths(expr: Any, prefix: str = "_S.") -> Iterator[str]:
    """Every variable path with ``prefix`` inside a DTL expression (in order)."""
    if isinstance(expr, str):
        if expr.startswith(prefix):
            yield expr[len(prefix) :]
    elif isinstance(expr, list):
        if expr and expr[0] in ("comment", "literal"):
            return
        for item in expr:
            yield from _paths(item, prefix)
    elif isinstance(expr, dict):
        for item in expr.values():
            yield from _paths(item, prefix)


def _applies_line(expr: Any) -> bool:
    """True when an expression maps the record's lines with rule ``line`` (maybe filtered)."""
    if not isinstance(expr, list):
        return False
    if expr[:2] == ["apply", "line"]:
        return True
    return any(_applies_line(item) for item in expr[1:])


def _type(expr: Any, names: Mapping[str, str]) -> str:
    head = expr[0] if isinstance(expr, list) and expr else None
    if head == "apply":
        return names.get("list", "array")
    if head in _CASTS:
        return names.get(str(head), str(head))
    if head == "if" and len(expr) > 2:
        return _type(expr[2], names)
    if head == "first" and len(expr) > 1:
        return _type(expr[1], names)
    return names.get("string", "string")


def _rule(pipe: PipeConfig, name: str) -> list[Any]:
    for t in pipe.transforms:
        if t.type == "dtl":
            rules = t.raw.get("rules", {})
            return list(rules.get(name, []))
    return []


def _refs(pipe: PipeConfig) -> dict[str, str]:
    """``$ref-<name>`` keys of the default rule → the golden property they were hopped from."""
    out: dict[str, str] = {}
    for statement in _rule(pipe, "default"):
        if (
            isinstance(statement, list)
            and len(statement) == 3
            and statement[0] == "add"
            and isinstance(statement[1], str)
            and statement[1].startswith("$ref-")
        ):
            golden = [p.split(".")[0] for p in _paths(statement[2])]
            if golden:
                out[statement[1]] = golden[0] if golden[0] != "lines" else "product"
    return out


def _golden_of(expr: Any, refs: Mapping[str, str]) -> list[str]:
    golden = [p.split(".")[0] for p in _paths(expr)]
    for ref_path in _paths(expr, "_P._T."):
        golden.append(refs.get(ref_path.split(".")[0], ref_path))
    for ref_path in _paths(expr, "_P._P._T."):
        golden.append(refs.get(ref_path.split(".")[0], ref_path))
    return list(dict.fromkeys(golden))


def _enrich_map(pipes: Iterable[PipeConfig], rule: str) -> dict[str, list[str]]:
    """Golden property → the raw source properties that feed it (across the enrich pipes)."""
    out: dict[str, list[str]] = {}
    for pipe in pipes:
        for statement in _rule(pipe, rule):
            if isinstance(statement, list) and len(statement) == 3 and statement[0] == "add":
                golden = str(statement[1]).lstrip(":")
                raws = [p for p in _paths(statement[2]) if not p.startswith("$")]
                if golden.startswith("_") or golden.startswith("$") or not raws:
                    continue
                for raw in raws:
                    if raw not in out.setdefault(golden, []):
                        out[golden].append(raw)
    return out


def _section(
    share: PipeConfig, spec: Mapping[str, Any], pipes: Mapping[str, PipeConfig]
) -> Section:
    names: Mapping[str, str] = share.metadata.get("type_names", {})
    rule = spec.get("rule", "payload")
    sources = [pipes[p] for p in spec.get("source_pipes", []) if p in pipes]
    refs = _refs(share)
    section = Section(
        spec["source"],
        spec["target"],
        str(share.sink.raw.get("system", "")),
        int(spec.get("position", 0)),
    )
    record_map = _enrich_map(sources, "default")
    line_map = _enrich_map(sources, "line")
    lines_raw = record_map.get("lines", [])
    lines_prefix = f"{lines_raw[0]}." if lines_raw else ""
    for statement in _rule(share, rule):
        if not (isinstance(statement, list) and len(statement) == 3 and statement[0] == "add"):
            continue
        target, expr = str(statement[1]), statement[2]
        if target.startswith("$"):
            continue  # hub-internal (e.g. a line's hub key, "$line"): never sent to the system
        if rule == "payload" and _applies_line(expr):
            # the record's lines: one row per line property, "items.name" style
            for line_stmt in _rule(share, "line"):
                if (
                    isinstance(line_stmt, list)
                    and len(line_stmt) == 3
                    and line_stmt[0] == "add"
                    and not str(line_stmt[1]).startswith("$")
                ):
                    for golden in _golden_of(line_stmt[2], refs):
                        for raw in line_map.get(golden, []):
                            section.rows.append(
                                (
                                    f"{lines_prefix}{raw}",
                                    f"{target}.{line_stmt[1]}",
                                    _type(line_stmt[2], names),
                                )
                            )
            continue
        for golden in _golden_of(expr, refs):
            raws = (line_map if rule == "line" else record_map).get(golden, [])
            for raw in raws:
                source = f"{lines_prefix}{raw}" if rule == "line" else raw
                row = (source, target, _type(expr, names))
                if row not in section.rows:
                    section.rows.append(row)
    return section


def build_documents(pipes: Mapping[str, PipeConfig]) -> dict[str, list[Section]]:
    """Flow title → its sections, in the order the share pipes declare them."""
    flows: dict[str, list[Section]] = {}
    for pipe in sorted(pipes.values(), key=lambda p: p.id):
        for spec in pipe.metadata.get("docs", []) or []:
            flows.setdefault(spec["flow"], []).append(_section(pipe, spec, pipes))
    for sections in flows.values():
        sections.sort(key=lambda s: s.position)  # the order the metadata declares
    return flows


def _title(text: str, char: str, over: bool = False) -> list[str]:
    line = char * len(text)
    return [line, text, line] if over else [text, line]


def _system_of(label: str) -> str:
    return label.split(" ")[0] if not label.startswith("Custom CRM") else "Custom CRM"


def render_document(flow: str, sections: list[Section], *, generated: _dt.datetime) -> str:
    """One flow as reStructuredText in the layout of Talk's QA documents."""
    source_system, _, target_system = flow.partition(" to ")
    out: list[str] = []
    out += _title(f"{flow} Dataflow", "=", over=True)
    out += ["", f"Generated: {generated.strftime('%Y-%m-%d %H:%M:%S')}", ""]
    out += _title("Introduction", "-")
    out += [
        "",
        f"This document describes how this hub keeps data in sync from {source_system} to "
        f"{target_system}. It is generated from the pipe configurations: every table below is "
        "read from the share pipes' DTL, so it shows what the hub actually does. Records are "
        "collected from each system, merged into golden records, and the differences are "
        "shared back to every linked system.",
        "",
    ]
    seen: set[tuple[str, str]] = set()
    for section in sections:
        key = (section.source, section.target)
        if key in seen:
            continue
        seen.add(key)
        a, b = section.source, section.target
        out += _title(f"{a} to {b}", "-")
        out += [
            f"Every {a} will be synchronized with a {b}.",
            "",
            f"Once a link between a {a} and a {b} is established, it will keep in sync between "
            "the two systems, regardless of where it is edited.",
            "",
            f"The following properties are synchronized between a {a} and a {b}:",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "",
            f"   * - {a} Property",
            f"     - {b} Property",
            f"     - {_system_of(b)} Data Type",
        ]
        for source, target, kind in section.rows:
            out += [f"   * - {source}", f"     - {target}", f"     - {kind}"]
        out += ["", ""]
    return "\n".join(out).rstrip() + "\n"
