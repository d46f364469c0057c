"""The skeleton of a dataflow document: everything but the introduction text and table rows."""

from __future__ import annotations


def skeleton(text: str) -> list[str]:
    """Titles, headings, the two sentences, the list-table header; sections deduplicated.

    A section that appears twice (seed 002 repeats three verbatim) is kept once.
    """
    lines = text.splitlines()
    out: list[str] = []
    sections_seen: set[str] = set()
    skipping = False
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        nxt = lines[i + 1].rstrip() if i + 1 < len(lines) else ""
        if nxt and set(nxt) == {"-"} and line and not set(line) <= {"-"}:
            skipping = line in sections_seen
            sections_seen.add(line)
            if (not skipping and line != "Introduction") or line == "Introduction":
                out += [line, nxt]
            i += 2
            continue
        if skipping:
            i += 1
            continue
        stripped = line.strip()
        if line.startswith("=") or (i > 0 and lines[i - 1].startswith("=") and stripped):
            out.append(line)
        elif stripped.startswith("Generated: "):
            out.append("Generated: <timestamp>")
        elif stripped.startswith(("Every ", "Once a link", "The following properties")) or stripped in (".. list-table::", ":header-rows: 1") or (stripped.endswith((" Property", " Data Type")) and stripped.startswith(("* - ", "- "))):
            out.append(stripped)
        i += 1
    return out
