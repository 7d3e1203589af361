"""`rolodex segment create|list|show|refresh|export|fields`: parse, call the workspace, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rolodex.cli.common import handled, out, workspace

segment_app = typer.Typer(
    no_args_is_help=True,
    help="Saved customer groups from a small filter language, with membership history.",
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@segment_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Name of the segment.")],
    where: Annotated[
        str,
        typer.Option(
            "--where",
            help="Filter, e.g. \"country = 'DE' and clv_12m > 500 and last_order_at <"
            " now() - interval '90 days'\" (see `rolodex segment fields`).",
        ),
    ],
    description: Annotated[str | None, typer.Option(help="What the segment is for.")] = None,
    as_json: AsJson = False,
) -> None:
    """Save a segment and fill it."""
    with handled(), workspace() as ws:
        info = ws.segment_create(name, where=where, description=description)
        if as_json:
            typer.echo(json.dumps(info.to_dict(), indent=2, default=str))
            return
        out.print(f"Segment {info.name!r}: {info.members:,} customers match {info.expression}")


@segment_app.command("list")
def list_(as_json: AsJson = False) -> None:
    """Every segment with its members at the last refresh."""
    with handled(), workspace() as ws:
        found = ws.segments()
        if as_json:
            typer.echo(json.dumps([s.to_dict() for s in found], indent=2, default=str))
            return
        table = Table(title="Segments")
        for column in ("name", "members", "refreshed", "filter"):
            table.add_column(column, justify="right" if column == "members" else "left")
        for s in found:
            when = s.refreshed_at.strftime("%Y-%m-%d %H:%M") if s.refreshed_at else "never"
            table.add_row(s.name, f"{s.members:,}", when, s.expression)
        out.print(table)


@segment_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Name of the segment.")],
    limit: Annotated[int, typer.Option(help="Members to list.")] = 20,
    as_json: AsJson = False,
) -> None:
    """A segment's filter, first members and membership history."""
    with handled(), workspace() as ws:
        found = ws.segment(name, limit=limit)
        if as_json:
            typer.echo(json.dumps(found, indent=2, default=str))
            return
        out.print(f"[bold]{found['name']}[/]: {found['expression']}", soft_wrap=True)
        out.print(f"{found['members']:,} members")
        for event in found["history"]:
            out.print(f"  {event['at']}: {event['entered']:,} entered, {event['left']:,} left")
        for m in found["sample"]:
            who = " ".join(x for x in (m["first_name"], m["last_name"]) if x) or "-"
            out.print(f"  {m['id']}: {who} {m['email'] or ''} {m['country'] or ''}")


@segment_app.command("refresh")
def refresh(
    name: Annotated[str | None, typer.Argument(help="Segment to refresh (default: all).")] = None,
    as_json: AsJson = False,
) -> None:
    """Recompute members; who entered and who left is kept."""
    with handled(), workspace() as ws:
        done = ws.segment_refresh(name)
        if as_json:
            typer.echo(json.dumps([s.to_dict() for s in done], indent=2, default=str))
            return
        for s in done:
            out.print(f"{s.name}: {s.members:,} members ({s.entered:,} entered, {s.left:,} left)")


@segment_app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="Name of the segment.")],
    target: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    purpose: Annotated[str, typer.Option(help="Consent purpose the export is for.")] = "marketing",
    everyone: Annotated[
        bool,
        typer.Option("--all", help="Include members without consent for the purpose."),
    ] = False,
) -> None:
    """Write the members to CSV, leaving out those without consent for the purpose."""
    with handled(), workspace() as ws:
        done = ws.segment_export(name, target, purpose=purpose, everyone=everyone)
        out.print(f"Wrote {done.written:,} members to {done.path}.", soft_wrap=True)
        if done.left_out:
            out.print(
                f"Left out {done.left_out:,} members without {purpose} consent"
                " (--all includes them)."
            )


@segment_app.command("fields")
def fields() -> None:
    """The fields a filter may use (the workspace's custom fields included)."""
    with handled(), workspace() as ws:
        table = Table(title="Segment fields")
        for column in ("field", "type", "meaning"):
            table.add_column(column)
        for name, kind, meaning in ws.segment_fields():
            table.add_row(name, kind, meaning)
        out.print(table)
