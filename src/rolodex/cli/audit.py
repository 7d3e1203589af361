"""`rolodex audit verify|list`: check the hash chain of the audit log and read its entries."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from rolodex.cli.common import fail, handled, out, workspace

audit_app = typer.Typer(
    no_args_is_help=True, help="The append-only, hash-chained log of who did what, and when."
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@audit_app.command("verify")
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="Head hash printed by an earlier verify and kept elsewhere: also catches"
            " entries removed from the end of the log.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Recompute every entry's hash; exit 1 when an entry was edited or removed."""
    with handled(), workspace() as ws:
        found = ws.audit_verify(expect_head=expect_head)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
    elif found.ok:
        out.print(f"Audit log intact: {found.entries:,} entries, head {found.head or '-'}")
    else:
        for item in found.breaks:
            out.print(f"entry {item.entry_id}: {item.problem}")
    if not found.ok:
        if not as_json:
            fail(
                f"audit log broken: {len(found.breaks)} problem(s) in {found.entries:,} entries",
                code=1,
            )
        raise typer.Exit(1)


@audit_app.command("list")
def list_(
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest entries.")] = 50,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor's entries.")] = None,
    as_json: AsJson = False,
) -> None:
    """The newest entries, newest first."""
    with handled(), workspace() as ws:
        entries = ws.audit_entries(limit=limit, action=action, actor=actor)
    if as_json:
        typer.echo(json.dumps(entries, indent=2, default=str))
        return
    table = Table(title="Audit log")
    for column in ("id", "when", "actor", "action", "entity", "details"):
        table.add_column(column)
    for e in entries:
        when = str(e["occurred_at"])[:19]
        entity = f"{e['entity'] or ''} {e['entity_id'] or ''}".strip()
        table.add_row(str(e["id"]), when, e["actor"], e["action"], entity, e["details"] or "")
    out.print(table)
