"""The `rolodex` command: parse, call the library, print. No business rules live here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rolodex.cli.access import apikey_app, user_app
from rolodex.cli.analyze import analyze_app
from rolodex.cli.audit import audit_app
from rolodex.cli.common import _state, err, fail, handled, out, parse_day, workspace
from rolodex.cli.keys import keys_app
from rolodex.cli.privacy import privacy_app
from rolodex.cli.segment import segment_app
from rolodex.collect.fields import Kind
from rolodex.exceptions import AlreadyDecided
from rolodex.maintain.quality import Scorecard
from rolodex.pipeline.imports import ImportSummary, Preview
from rolodex.share.export import ExportFormat, ExportKind
from rolodex.workspace import Workspace

app = typer.Typer(
    no_args_is_help=True,
    help="Rolodex: collect, clean and unify customer data.",
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option(
            help="Database URL or SQLite file (default: ROLODEX_DB, else rolodex.db here).",
            show_default=False,
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Act as this user: their role's permissions, field masking and row scope"
            " apply, exactly as through the API (ROLODEX_AS also sets it).",
            envvar="ROLODEX_AS",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Rolodex: one clean, unified view of every customer."""
    _state["db"] = db
    _state["as"] = as_user


@app.command()
def init() -> None:
    """Create the workspace database, or upgrade it to this version."""
    with handled(), workspace() as ws:
        revision = ws.init()
        out.print(f"Workspace ready at {ws.url} (schema {revision}).")
        if (made := ws.keys_init()) is not None:
            out.print(f"Created the encryption key file {made} (mode 600): back it up.")


def _progress_bar() -> tuple[Progress | None, Callable[[str, int], None] | None]:
    if not sys.stdout.isatty():
        return None, None
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(file: str, done: int) -> None:
        if file not in tasks:
            tasks[file] = bar.add_task(file, total=None)
        bar.update(tasks[file], completed=done)

    return bar, update


def print_summaries(summaries: list[ImportSummary]) -> None:
    """Print the import summary table, totals and the main problems."""
    table = Table(title="Import summary", title_justify="left")
    for name in ("batch", "file", "source", "kind", "read", "accepted", "updated", "unchanged"):
        table.add_column(
            name, justify="right" if name not in ("file", "source", "kind") else "left"
        )
    table.add_column("quarantined", justify="right")
    for s in summaries:
        table.add_row(
            str(s.batch_id),
            s.file,
            s.source,
            s.kind,
            f"{s.read:,}",
            f"{s.accepted:,}",
            f"{s.updated:,}",
            f"{s.unchanged:,}",
            f"{s.quarantined:,}",
        )
    if len(summaries) > 1:
        table.add_row(
            "",
            "total",
            "",
            "",
            *(
                f"{sum(getattr(s, f) for s in summaries):,}"
                for f in ("read", "accepted", "updated", "unchanged", "quarantined")
            ),
        )
    out.print(table)
    for s in summaries:
        for note in s.notes:
            out.print(f"  note ({s.file}): {note}")
        if s.stubs:
            out.print(
                f"  {s.file}: {s.stubs:,} customers were named before their source sent them"
                " (kept as minimal contacts)"
            )
        for p in s.problems[:5]:
            where = f"column {p.column!r}" if p.column else "row"
            out.print(f"  {s.file}: {p.count:,} x {where}: {p.message} (e.g. row {p.example_row})")


def print_preview(preview: Preview) -> None:
    """Print what --dry-run found: the mapping, the first rows, the problems."""
    out.print(
        f"[bold]{preview.file}[/]: {preview.format}"
        + (f", {preview.encoding}" if preview.encoding else "")
        + (f", delimiter {preview.delimiter!r}" if preview.delimiter else "")
        + f", kind {preview.kind}"
    )
    mapping = Table(title="Column mapping", title_justify="left")
    for name in ("column", "maps to", "because"):
        mapping.add_column(name)
    for header, target, reason in preview.mapping:
        mapping.add_row(header, target, reason)
    out.print(mapping)
    if preview.rows:
        # One column per row, one line per field: readable however many fields there are.
        rows = Table(title="First rows as they would be stored", title_justify="left")
        rows.add_column("field")
        for r in preview.rows:
            rows.add_column(f"row {r['row']}", overflow="fold")
        names = list(dict.fromkeys(k for r in preview.rows for k in r if k != "row"))
        for name in names:
            rows.add_row(name, *(str(r.get(name, "")) for r in preview.rows))
        out.print(rows)
    for note in preview.notes:
        out.print(f"note: {note}")
    if preview.problems:
        out.print(f"[bold]{len(preview.problems)} problem(s) in the rows read:[/]")
        for number, column, message in preview.problems[:20]:
            where = f"  row {number}" + (f", column {column!r}" if column else "")
            out.print(f"{where}: {message}")
    out.print("Dry run: nothing was written.")


@app.command("import")
def import_(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files to import; or `undo BATCH` to undo one, `list` to list batches."
        ),
    ],
    source: Annotated[
        str | None, typer.Option(help="Name of the system the files came from.")
    ] = None,
    kind: Annotated[
        Kind | None, typer.Option(help="What the rows describe (detected when omitted).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Column holding the source's record id.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="TOML file overriding the column mapping.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet to read.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the mapping and first rows; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import PATHS as records of SOURCE, keeping every raw row (or: import undo BATCH)."""
    with handled(), workspace() as ws:
        if paths[0] == "undo" and not Path("undo").exists():
            if len(paths) != 2 or not paths[1].isdigit():
                fail("usage: rolodex import undo BATCH (a batch number from `rolodex import list`)")
            result = ws.undo_import(int(paths[1]))
            out.print(
                f"Undid import batch {result.batch_id}: removed {result.removed_records:,} source"
                f" records ({result.removed_contacts:,} contacts), restored"
                f" {result.restored_records:,} earlier versions."
            )
            return
        if paths == ["list"] and not Path("list").exists():
            _print_batches(ws)
            return
        if source is None and not dry_run:
            fail("--source is required: name the system these files came from")
        files = [Path(p) for p in paths]
        for f in files:
            if not f.is_file():
                fail(f"{f}: no such file")
        if dry_run:
            for f in files:
                print_preview(
                    ws.preview(f, kind=kind, id_column=id_column, mapping=mapping, sheet=sheet)
                )
            return
        assert source is not None
        bar, progress = _progress_bar() if not as_json else (None, None)
        summaries = []
        if bar is not None:
            bar.start()
        try:
            for f in files:
                summaries.append(
                    ws.import_file(
                        f,
                        source=source,
                        kind=kind,
                        id_column=id_column,
                        mapping=mapping,
                        sheet=sheet,
                        progress=progress,
                    )
                )
        finally:
            if bar is not None:
                bar.stop()
        if as_json:
            typer.echo(json.dumps([asdict(s) for s in summaries], indent=2, default=str))
        else:
            print_summaries(summaries)


def _print_batches(ws: Workspace) -> None:
    table = Table(title="Import batches", title_justify="left")
    for name in (
        "batch",
        "source",
        "kind",
        "files",
        "status",
        "read",
        "accepted",
        "quarantined",
        "started",
    ):
        table.add_column(name)
    for b in ws.batches():
        table.add_row(
            str(b["id"]),
            b["source"],
            b["kind"],
            ", ".join(b["files"]),
            b["status"],
            f"{b['rows_read']:,}",
            f"{b['rows_accepted'] + b['rows_updated']:,}",
            f"{b['rows_quarantined']:,}",
            str(b["started_at"])[:19],
        )
    out.print(table)


@app.command("export")
def export_(
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    out_file: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.CSV,
) -> None:
    """Export golden contacts, links, the quarantine or raw source records."""
    with handled(), workspace() as ws:
        n = ws.export(kind, out_file, fmt=fmt)
        err.print(f"Wrote {n:,} rows to {out_file}.")


@app.command("clean")
def clean_(
    source: Annotated[str | None, typer.Option(help="Clean only this source's records.")] = None,
) -> None:
    """Clean the stored contact records again, after the cleaning rules changed."""
    with handled(), workspace() as ws:
        before = ws.quality(source=source)
        done = ws.clean(source=source)
        after = ws.quality(source=source)
        out.print(
            f"Cleaned {done.records:,} contact records in {done.seconds:.1f} s;"
            f" quality score {before.overall.score:.1f} -> {after.overall.score:.1f}."
        )


@app.command()
def resolve(
    full: Annotated[
        bool, typer.Option("--full", help="Match every record again, not only new and changed.")
    ] = False,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train a new model instead of reusing the stored one.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would merge and split; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Find the same customer across all sources and build one golden contact each."""
    with handled(), workspace() as ws:
        summary = ws.resolve(full=full, retrain=retrain, dry_run=dry_run)
        if as_json:
            typer.echo(json.dumps(asdict(summary), indent=2, default=str))
            return
        verb = "would" if dry_run else "did"
        if summary.mode == "incremental":
            out.print(
                f"Incremental run: {summary.pending:,} new or changed records matched against"
                f" all {summary.records:,} (--full matches everything again)."
            )
        else:
            out.print(f"Full run over {summary.records:,} contact records.")
        what = "the touched contacts' records" if summary.mode == "incremental" else "them"
        out.print(
            f"Clustered {what} into {summary.clusters:,} customers"
            f" ({summary.multi_record_clusters:,} with several records, largest"
            f" {summary.largest_cluster}); {summary.candidate_pairs:,} candidate pairs,"
            f" {summary.rescored_pairs:,} rescored."
        )
        out.print(
            f"This run {verb} move {summary.records_moved:,} records, create"
            f" {summary.contacts_created:,} contacts and merge away"
            f" {summary.contacts_merged_away:,}; {summary.review_pending:,} pairs to review."
        )
        if summary.companies:
            out.print(
                f"Companies: {summary.companies:,} after matching"
                f" ({summary.companies_merged_away:,} merged away);"
                f" {summary.contacts_with_company:,} contacts linked to their company."
            )
        if summary.refused:
            out.print(
                "Merges refused: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.refused.items()))
            )
        for example in summary.examples:
            out.print(f"  e.g. records {example['records']}: {', '.join(example['names'])}")
        if summary.trained:
            out.print("Trained a new matching model (kept for later runs; --retrain renews it).")


@app.command()
def explain(
    contact: Annotated[int, typer.Argument(help="Golden contact id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Show a contact's source records, why each belongs, and where each value came from."""
    with handled(), workspace() as ws:
        found = ws.explain(contact)
        if as_json:
            typer.echo(json.dumps(found, indent=2, default=str))
            return
        if found["contact_id"] != contact:
            out.print(f"Contact {contact} was merged into contact {found['contact_id']}.")
        records = Table(title=f"Contact {found['contact_id']}: source records")
        for name in (
            "record",
            "source",
            "id there",
            "name",
            "email",
            "linked by",
            "probability",
            "deciding fields",
        ):
            records.add_column(name)
        for r in found["records"]:
            deciding = ", ".join(f"{d['field']} {d['weight']:+.1f}" for d in r["deciding_fields"])
            prob = "-" if r["probability"] is None else f"{r['probability']:.3f}"
            records.add_row(
                str(r["source_record_id"]),
                r["source"],
                str(r["external_id"]),
                r["name"] or "",
                r["email"] or "",
                r["linked_by"],
                prob,
                deciding,
            )
        out.print(records)
        values = Table(title="Golden values and where they came from")
        for name in ("field", "value", "from record", "source", "id there"):
            values.add_column(name)
        for v in found["values"]:
            values.add_row(
                v["field"],
                v["value"],
                str(v["source_record_id"] or ""),
                v["source"] or "",
                str(v["external_id"] or ""),
            )
        out.print(values)


@app.command("merge")
def merge_(
    first: Annotated[int, typer.Argument(help="Contact that stays.")],
    second: Annotated[int, typer.Argument(help="Contact merged into the first.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the merge event.")] = None,
) -> None:
    """Merge contact SECOND into FIRST; later resolves keep them together."""
    with handled(), workspace() as ws:
        done = ws.merge(first, second, reason=reason)
        out.print(
            f"Merged contact {done['merged']} into {done['contact']}"
            f" ({len(done['records'])} records moved; merge event {done['event']})."
        )


@app.command("unmerge")
def unmerge_(
    contact: Annotated[int, typer.Argument(help="Contact to split.")],
    record: Annotated[int, typer.Option("--record", help="Source record id to split out.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the merge event.")] = None,
) -> None:
    """Split one source record out of a contact; later resolves keep it apart."""
    with handled(), workspace() as ws:
        done = ws.unmerge(contact, record, reason=reason)
        out.print(
            f"Record {done['record']} split out of contact {done['contact']} into contact"
            f" {done['new_contact']} (merge event {done['event']})."
        )


source_app = typer.Typer(no_args_is_help=True, help="The systems data comes from.")
app.add_typer(source_app, name="source")


@source_app.command("trust")
def source_trust(
    name: Annotated[str, typer.Argument(help="Source name, as given to import --source.")],
    rank: Annotated[int, typer.Argument(help="Lower is trusted more; every source starts at 100.")],
) -> None:
    """Set how far a source is trusted when golden values disagree."""
    with handled(), workspace() as ws:
        ws.set_source_trust(name, rank)
        out.print(f"Source {name!r} now has trust rank {rank}; the next resolve applies it.")


review_app = typer.Typer(no_args_is_help=True, help="Pairs in the uncertain band.")
app.add_typer(review_app, name="review")


@review_app.command("list")
def review_list_(
    status: Annotated[str, typer.Option(help="pending, accepted or rejected.")] = "pending",
    limit: Annotated[int, typer.Option(help="Pairs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List review pairs side by side with the per-field evidence (match weights)."""
    with handled(), workspace() as ws:
        pairs = ws.review(status=status, limit=limit)
        if as_json:
            typer.echo(json.dumps(pairs, indent=2, default=str))
            return
        if not pairs:
            out.print(f"No {status} review pairs.")
        for pair in pairs:
            grid = Table(title=f"Review {pair['id']}: probability {pair['probability']:.3f}")
            grid.add_column("field")
            grid.add_column("left")
            grid.add_column("right")
            for key in (
                "source",
                "external_id",
                "contact_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "company_name",
                "street",
                "postcode",
                "city",
            ):
                grid.add_row(
                    key, str(pair["left"].get(key) or ""), str(pair["right"].get(key) or "")
                )
            out.print(grid)
            evidence = ", ".join(f"{k} {v:+.1f}" for k, v in pair["evidence"].items() if v)
            out.print(f"  evidence (match weights): {evidence}")


@review_app.command("accept")
def review_accept(
    review_ids: Annotated[list[int], typer.Argument(help="Review pair ids.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Accept pairs: merge each pair's two contacts and keep the pair as a label."""
    with handled(), workspace() as ws:
        for review_id in review_ids:
            try:
                done = ws.review_decide(review_id, accept=True, reason=reason)
            except AlreadyDecided as exc:
                out.print(f"Skipped: {exc}.")
                continue
            merged = done.get("merge")
            tail = f"; merged contact {merged['merged']} into {merged['contact']}" if merged else ""
            out.print(f"Accepted review {review_id}{tail}.")


@review_app.command("reject")
def review_reject(
    review_ids: Annotated[list[int], typer.Argument(help="Review pair ids.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Reject pairs: each pair's two records stay apart in every later resolve."""
    with handled(), workspace() as ws:
        for review_id in review_ids:
            try:
                ws.review_decide(review_id, accept=False, reason=reason)
            except AlreadyDecided as exc:
                out.print(f"Skipped: {exc}.")
                continue
            out.print(f"Rejected review {review_id}; the records stay apart.")


@review_app.command("calibrate")
def review_calibrate(
    spread: Annotated[
        float, typer.Option(help="Bits a level's weight may move before many labels agree.")
    ] = 1.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fit, store nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Recalibrate the matching model from the decisions taken so far (the labels)."""
    with handled(), workspace() as ws:
        report = ws.calibrate(spread=spread, dry_run=dry_run)
        if as_json:
            typer.echo(json.dumps(asdict(report), indent=2))
            return
        if not report.labels:
            out.print("No labels yet: accept or reject review pairs, merge or unmerge first.")
            return
        out.print(
            f"Calibrated on {report.labels:,} labelled pairs ({report.same:,} the same"
            f" customer); log loss {report.log_loss_before:.3f} -> {report.log_loss_after:.3f}."
        )
        out.print(f"  every pair: {report.shift:+.2f} bits")
        for level, bits in sorted(report.corrections.items(), key=lambda kv: -abs(kv[1])):
            if abs(bits) >= 0.05:
                out.print(f"  {level}: {bits:+.2f} bits")
        if not dry_run:
            out.print("Run `rolodex resolve --full` to apply it to every record.")


@app.command()
def quality(
    source: Annotated[str | None, typer.Option(help="Rate only this source's records.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Data-quality scorecard: per field and source, before and after cleaning."""
    with handled(), workspace() as ws:
        card = ws.quality(source=source)
        if as_json:
            typer.echo(json.dumps(card.to_dict(), indent=2, default=str))
            return
        print_scorecard(card)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_scorecard(card: Scorecard) -> None:
    """Print the scorecard: the score per source, the fields, and the top problems."""
    totals = Table(title="Data quality", show_lines=False)
    for name in (
        "source",
        "records",
        "score before",
        "score after",
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "freshness",
    ):
        totals.add_column(name, justify="left" if name == "source" else "right")
    for s in [*card.sources, card.overall] if len(card.sources) > 1 else [card.overall]:
        totals.add_row(
            s.source or "all sources",
            f"{s.records:,}",
            f"{s.score_before:.1f}",
            f"[bold]{s.score:.1f}[/]",
            f"{_pct(s.completeness_before)} -> {_pct(s.completeness)}",
            f"{_pct(s.validity_before)} -> {_pct(s.validity)}",
            f"{_pct(s.uniqueness_before)} -> {_pct(s.uniqueness)}",
            _pct(s.consistency),
            _pct(s.freshness),
        )
    out.print(totals)
    out.print(
        f"Quality score: {card.overall.score_before:.1f} before cleaning,"
        f" {card.overall.score:.1f} after (of 100)."
    )
    fields = Table(title="Fields (all sources)")
    for name in (
        "field",
        "complete",
        "valid before",
        "valid after",
        "corrected",
        "invalid",
        "suspicious",
    ):
        fields.add_column(name, justify="left" if name == "field" else "right")
    for f in card.overall.fields:
        fields.add_row(
            f.field,
            _pct(f.completeness),
            _pct(f.validity_before),
            _pct(f.validity),
            f"{f.corrected:,}",
            f"{f.invalid:,}",
            f"{f.suspicious:,}",
        )
    out.print(fields)
    if card.problems:
        out.print("[bold]Top problems[/] (field, flag, reason, count, example record ids):")
        for p in card.problems:
            examples = ", ".join(str(e) for e in p.examples)
            out.print(f"  {p.field} {p.flag}: {p.note or '-'} x{p.count:,} (records {examples})")


@app.command()
def report(
    target: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"
    ),
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Analyse as of this day (YYYY-MM-DD); default today."),
    ] = None,
) -> None:
    """Write one self-contained HTML report with charts (opens offline in any browser)."""
    day = parse_day(as_of)
    with handled(), workspace() as ws:
        done = ws.report(target, as_of=day)
        sections = ", ".join(done.sections) or "nothing yet"
        out.print(f"Wrote {done.path} ({sections}) in {done.seconds:.1f} s.", soft_wrap=True)
        for section, why in done.skipped.items():
            out.print(f"  {section} left out: {why}", soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per core).")] = 1,
) -> None:
    """Run the HTTP API (docs at /api/v1/docs). Create the first admin with `rolodex user add`."""
    import os

    import uvicorn

    with handled(), workspace() as ws:
        ws.init()
        if not ws.keys.available:
            fail("no encryption keys: run `rolodex keys init` or set ROLODEX_KEYS")
        if not ws.users():
            err.print(
                "No users yet: add the first admin with `rolodex user add NAME --role admin`."
            )
        os.environ["ROLODEX_DB"] = ws.url
        # The app's Workspace() reads the settings again: forget the copy cached before
        # --db was known, or a single in-process worker would serve the default database.
        from rolodex.config import get_settings

        get_settings.cache_clear()
    out.print(f"Serving the Rolodex API on http://{host}:{port}/api/v1 (docs: /api/v1/docs)")
    uvicorn.run(
        "rolodex.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo workspace (recreated).")
    ] = Path("rolodex-demo"),
) -> None:
    """Run Rolodex on the bundled sample sources in a fresh SQLite workspace."""
    from rolodex.sample import SAMPLE_SOURCES, sample_dir

    with handled():
        directory.mkdir(parents=True, exist_ok=True)
        db = directory / "rolodex.db"
        for stale in directory.glob("rolodex.db*"):
            stale.unlink()
        with Workspace(f"sqlite:///{db}") as ws:
            ws.init()
            out.print(f"Demo workspace: {db}")
            data = sample_dir()
            summaries = []
            for file_name, source, kind in SAMPLE_SOURCES:
                summaries.append(ws.import_file(data / file_name, source=source, kind=kind))
            print_summaries(summaries)
            resolved = ws.resolve()
            counts = ws.counts()
            out.print(
                f"Resolve matched {resolved.records:,} contact records across sources into"
                f" {resolved.clusters:,} customers ({resolved.multi_record_clusters:,} seen in"
                f" several records); {resolved.review_pending:,} uncertain pairs wait in"
                " `rolodex review list`."
            )
            out.print(
                f"Workspace now holds {counts['source_record']:,} source records from"
                f" {counts['source']} sources, {counts['order']:,} orders,"
                f" {counts['ticket']:,} tickets, {counts['event']:,} events."
            )
            print_scorecard(ws.quality())
            _demo_analyses(ws, directory)
            out.print(f"Try: rolodex --db {db} export quarantine --out quarantine.csv")
            out.print(f"     rolodex --db {db} explain 1")
            out.print(f"     rolodex --db {db} segment show 'rfm: At risk'")


def _demo_analyses(ws: Workspace, directory: Path) -> None:
    """The analyze, segment and report part of the demo, as of the last sample order."""
    day = ws.latest_order_date()
    scores = ws.rfm(as_of=day)
    value = ws.clv(as_of=day).result
    risk = ws.churn(as_of=day)
    counts = dict(scores.segments.select("segment", "contacts").rows())
    top = max(counts, key=lambda name: counts[name])
    out.print(
        f"[bold]Analysis as of {scores.as_of.isoformat()}[/]: {scores.contacts.height:,} buying"
        f" customers; the largest RFM group is {top} ({counts[top]:,}), Champions"
        f" {counts.get('Champions', 0):,}, At risk {counts.get('At risk', 0):,}."
    )
    out.print(
        f"Lifetime value: {value.total_expected_purchases:,.0f} purchases worth"
        f" {value.total_clv:,.0f} expected in the next 52 weeks (BG/NBD + Gamma-Gamma);"
        f" churn model AUC {risk.result.metrics['auc']:.2f} ({risk.label})."
    )
    lifts = ws.campaigns().comparisons.drop_nulls("conversion_rate_lift")
    if lifts.height:
        best = lifts.sort("conversion_rate_lift", descending=True).row(0, named=True)
        out.print(
            f"Campaigns: {lifts['campaign'].n_unique()} with a control group; the best"
            f" conversion lift is {best['campaign']} / arm {best['arm']}:"
            f" {100 * best['conversion_rate_lift']:+.1f} points"
            f" (p={best['conversion_rate_p_value']:.2g})."
        )
    winback = ws.segment_create(
        "win back",
        where="churn_risk >= 0.5 and clv_12m > 0 and recency_days > 90",
        description="valuable customers slipping away",
    )
    out.print(f"Segment 'win back': {winback.members:,} customers ({winback.expression}).")
    report = ws.report(directory / "report.html", as_of=day)
    out.print(f"Report with charts: {report.path}")


app.add_typer(analyze_app, name="analyze")
app.add_typer(privacy_app, name="privacy")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(segment_app, name="segment")


def main() -> None:
    """Entry point of the `rolodex` console script."""
    app()
