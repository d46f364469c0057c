"""`pipe why ENTITY_ID`: where a global entity came from, who won each property, where it went.

The sections follow the entity's way through the hub: its source records, the equality rules
that merged them, survivorship per property, the pipes it passed and the last send to each
system. ``--json`` prints :meth:`engine.why.Why.to_dict` (a stable shape for scripts).
"""

from __future__ import annotations

import json
from typing import Any

import click

from engine.cli.base import App, _emit_json, cli, pass_app
from engine.entity import encode, format_datetime
from engine.why import Why

SUMMARY_FIELDS = 6
"""Properties of a source record shown on a terminal (``--json`` has them all)."""


@cli.command("why")
@click.argument("entity_id")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@pass_app
def why_cmd(app: App, entity_id: str, as_json: bool) -> None:
    """Explain ENTITY_ID: a global id, a share id or a member id such as customerp-customer:42.

    Shows the source records it came from, the equality rules that merged them, which member
    won each property and why, the pipes it passed and what was last sent to each system.
    """
    why = app.hub.why(entity_id)
    if as_json:
        _emit_json(why.to_dict())
        return
    for line in render(why):
        click.echo(line)


def _value(value: Any, width: int = 60) -> str:
    text = json.dumps(encode(value), ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def render(why: Why) -> list[str]:
    """The explanation as text sections (the terminal form of ``pipe why``)."""
    state = " (deleted)" if why.deleted else ""
    lines = [f"{why.entity_id}  in {why.dataset}{state}"]
    if why.asked != why.entity_id:
        lines.append(f"  asked for {why.asked}: a member of this golden record")
    if why.replaced_by:
        lines.append(f"  its members are now in {', '.join(why.replaced_by)}")
    lines += ["", f"Source records ({len(why.sources)})"]
    for src in why.sources:
        where = f"{src.record_dataset} {src.record_id}" if src.record_dataset else src.dataset
        modified = format_datetime(src.last_modified) if src.last_modified else "?"
        gone = "  DELETED" if src.deleted else ""
        lines.append(f"  {src.member}  [{src.system or '-'}] {where}  modified {modified}{gone}")
        shown = list(src.summary.items())[:SUMMARY_FIELDS]
        if shown:
            more = f" (+{len(src.summary) - len(shown)})" if len(src.summary) > len(shown) else ""
            lines.append("      " + ", ".join(f"{k}={_value(v)}" for k, v in shown) + more)
    lines += ["", "Merged by"]
    if not why.links:
        lines.append("  (one member: nothing to merge)" if why.sources else "  (not a merge)")
    for link in why.links:
        values = ", ".join(_value(v) for v in link.values)
        lines.append(f"  {link.left} = {link.right}")
        lines.append(f"      {_value(link.rule)} on {values}  ({link.path})")
    lines += ["", "Survivorship"]
    if not why.claims:
        lines.append("  (no survivorship transform)")
    for claim in why.claims:
        if claim.member is None:
            continue
        stale = "  STALE: the global pipe has not run since" if claim.stale else ""
        lines.append(f"  {claim.property} = {_value(claim.value)}  from {claim.member}{stale}")
        lines.append(f"      {claim.rule}: {claim.reason}")
    empty = [c.property for c in why.claims if c.member is None]
    if empty:
        lines.append(f"  no member has: {', '.join(empty)}")
    lines += ["", "Pipes"]
    for step in why.pipes:
        system = f" [{step.system}]" if step.system else ""
        passed = f" as {step.entity}" if step.entity is not None else "  (did not pass)"
        lines.append(f"  {step.role:<9} {step.pipe}{system} -> {step.writes}{passed}")
    lines += ["", "Sent"]
    for share in why.shares:
        head = f"  {share.system}/{share.datatype} ({share.pipe})"
        if share.target_id is not None:
            head += f": linked to {share.target_id}"
        lines.append(head)
        sent = share.last_send
        if sent is not None:
            error = f" ({sent.error})" if sent.error else ""
            lines.append(
                f"      last send: {sent.operation} of {sent.target_id} at {sent.at}{error}"
            )
        if share.status is not None:
            sync = {True: "in sync", False: "changed since", None: ""}[share.in_sync]
            lines.append(f"      last outcome: {share.status} at {share.at}  {sync}".rstrip())
        if share.payload is not None and sent is not None and sent.same_as_now:
            lines.append(f"      payload sent: {_value(share.payload, 240)}")
        elif share.payload is not None:
            lines.append(f"      payload now: {_value(share.payload, 240)}")
        if share.note:
            lines.append(f"      {share.note}")
    return lines
