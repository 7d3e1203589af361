"""`rolodex privacy export|erase|retention`: a person's data on request, their erasure, and the
retention policies a scheduler (cron, a systemd timer) applies."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from rolodex.cli.common import err, fail, handled, out, workspace

privacy_app = typer.Typer(
    no_args_is_help=True, help="GDPR: export or erase a person's data; apply retention."
)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Subject = Annotated[
    str, typer.Argument(help="An email address, a phone number, or a contact id (contact:123).")
]


@privacy_app.command("export")
def export(
    subject: Subject,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
    as_json: AsJson = False,
) -> None:
    """Write everything held about SUBJECT: one JSON document and a zip of CSV files."""
    with handled(), workspace() as ws:
        done = ws.privacy_export(subject, out_dir)
    if as_json:
        typer.echo(json.dumps({**asdict(done), "files": [str(f) for f in done.files]}, indent=2))
        return
    out.print(f"Exported contact(s) {', '.join(map(str, done.contacts))}:")
    for path in done.files:
        out.print(f"  {path}")
    rows = ", ".join(f"{name} {n:,}" for name, n in done.counts.items() if n)
    out.print(f"  rows: {rows}")


@privacy_app.command("erase")
def erase(
    subject: Subject,
    suppress: Annotated[
        bool, typer.Option(help="Keep hashed emails and phones so a re-import is refused.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why (a request reference; the person's details are cut).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: AsJson = False,
) -> None:
    """Erase SUBJECT everywhere: golden record, duplicates, raw rows, scores; keep anonymous
    aggregates. Cannot be undone."""
    with handled(), workspace() as ws:
        if not yes:
            from rolodex.pipeline.privacy import find_subject

            with ws.engine.connect() as conn:
                found = find_subject(conn, subject, region=ws.settings.clean.default_region)
            ids = ", ".join(map(str, found))
            if not typer.confirm(
                f"Erase contact(s) {ids} and everything linked to them? This cannot be undone",
                err=True,
            ):
                fail("nothing erased", code=1)
        done = ws.privacy_erase(subject, suppress=suppress, reason=reason)
    if as_json:
        typer.echo(json.dumps(asdict(done), indent=2))
        return
    out.print(
        f"Erased contact(s) {', '.join(map(str, done.contacts))} (erasure {done.erasure_id})."
    )
    out.print("  deleted: " + ", ".join(f"{k} {v:,}" for k, v in done.deleted.items()))
    if done.anonymized:
        out.print("  anonymized: " + ", ".join(f"{k} {v:,}" for k, v in done.anonymized.items()))
    if suppress:
        out.print(f"  suppressed values: {done.suppressed}")
    if not done.scrubbed:
        err.print(
            "warning: another process was using the database, so deleted bytes may remain in"
            " its files; run `rolodex privacy scrub` when it is idle"
        )


@privacy_app.command("scrub")
def scrub() -> None:
    """Overwrite what erasures deleted (SQLite VACUUM and WAL truncation; PostgreSQL VACUUM)."""
    with handled(), workspace() as ws:
        done = ws.privacy_scrub()
    if not done:
        fail("another process is using the database; try again when it is idle", code=75)
    out.print("Deleted data overwritten.")


@privacy_app.command("retention")
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Apply the retention policies of the configuration's privacy table (run it from cron)."""
    with handled(), workspace() as ws:
        done = ws.privacy_retention(dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(asdict(done), indent=2))
        return
    verb = "would affect" if dry_run else "affected"
    for label in done.cutoffs:
        n = done.contacts.get(label, done.rows.get(label, 0))
        what = "contacts" if label in done.contacts else "rows"
        out.print(f"{label}: {verb} {n:,} {what} (older than {done.cutoffs[label][:10]})")
