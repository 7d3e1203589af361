"""`Workspace`: the Python API over one Rolodex database. The CLI is a thin layer over it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from rolodex.collect.fields import Kind
from rolodex.config import Settings, get_settings
from rolodex.exceptions import ConfigError, InputError, TransientError
from rolodex.maintain.quality import Scorecard, scorecard
from rolodex.model import AuditLog
from rolodex.model.base import table, utcnow
from rolodex.pipeline.imports import ImportSummary, Preview, Progress, import_file, preview_file
from rolodex.pipeline.match import match_record
from rolodex.pipeline.reclean import RecleanSummary, reclean
from rolodex.pipeline.undo import UndoSummary, undo_batch
from rolodex.resolve.calibrate import Calibration
from rolodex.resolve.companies import resolve_companies
from rolodex.resolve.manual import explain, merge, review_decide, review_list, unmerge
from rolodex.resolve.realtime import Scorer
from rolodex.resolve.run import (
    ResolveSummary,
    last_run,
    latest_model,
    recalibrate,
    resolve_contacts,
)
from rolodex.share.export import ExportFormat, ExportKind, export
from rolodex.store import migrate, repo
from rolodex.store.audit import AuditVerification, append_audit, verify_audit
from rolodex.store.engine import make_engine, normalize_url

if TYPE_CHECKING:  # the analyses load scikit-learn, scipy and statsmodels: only when used
    from rolodex.analyze.campaigns import CampaignResult
    from rolodex.analyze.rfm import RfmResult
    from rolodex.pipeline.analytics import ChurnReport, ClvReport, CohortReport, Forecast
    from rolodex.pipeline.report import ReportSummary
    from rolodex.pipeline.segments import ExportSummary, SegmentInfo

_COUNTED = (
    "source",
    "import_batch",
    "source_record",
    "contact_record",
    "company_record",
    "contact",
    "company",
    "contact_point",
    "order",
    "order_line",
    "ticket",
    "interaction",
    "event",
    "consent",
    "subscription",
    "deal",
    "campaign",
    "campaign_member",
)

_AUDIT_COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "details",
    "origin",
)


class Workspace:
    """One Rolodex database and the operations on it.

    Examples:
        >>> ws = Workspace("sqlite:///crm.db")
        >>> ws.init()
        '0003'
        >>> summary = ws.import_file(Path("customers.csv"), source="shop")
    """

    def __init__(
        self, url: str | None = None, *, settings: Settings | None = None, actor: str | None = None
    ) -> None:
        self.settings = settings or get_settings()
        self.url = normalize_url(url or self.settings.db)
        self.actor = actor or self.settings.actor
        self._engine: Engine | None = None
        # The single-record scorer, kept per trained model (parsing it costs per call).
        self._scorer: tuple[int | None, Scorer | None] = (None, None)
        self._schema_checked = False

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- schema -----------------------------------------------------------------------------

    def init(self) -> str:
        """Create the workspace schema, or upgrade it to this version of Rolodex.

        Returns:
            The schema revision the workspace is now at.
        """
        try:
            migrate.upgrade(self.engine)
        except OperationalError as exc:
            raise TransientError(
                f"cannot reach the database at {self._safe_url}: {exc.orig}"
            ) from exc
        revision = migrate.current_revision(self.engine)
        assert revision is not None
        return revision

    @property
    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _ready(self) -> Engine:
        """Return the engine of a workspace whose schema is current, creating an empty one.

        Raises:
            ConfigError: the database holds an older schema; `rolodex init` upgrades it.
        """
        engine = self.engine
        if self._schema_checked:
            return engine
        try:
            current = migrate.current_revision(engine)
        except OperationalError as exc:
            raise TransientError(
                f"cannot reach the database at {self._safe_url}: {exc.orig}"
            ) from exc
        if current is None:
            if inspect(engine).get_table_names():
                raise ConfigError(f"{self._safe_url} holds tables that are not a Rolodex workspace")
            self.init()
        elif current != migrate.head_revision(engine):
            raise ConfigError(
                f"the workspace schema is at revision {current}; run `rolodex init` to upgrade it"
            )
        # Checked once per Workspace: reading the migration scripts costs milliseconds that
        # single-record calls (match) cannot spend each time.
        self._schema_checked = True
        return engine

    # --- import -----------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        *,
        source: str,
        kind: Kind | str | None = None,
        id_column: str | None = None,
        mapping: Path | None = None,
        sheet: str | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import one file as records of `source`; see `rolodex.pipeline.imports.import_file`."""
        return import_file(
            self._ready(),
            Path(path),
            source=source,
            kind=Kind(kind) if kind else None,
            id_column=id_column,
            mapping_file=mapping,
            sheet=sheet,
            actor=self.actor,
            chunk_size=self.settings.import_.chunk_size,
            sample_rows=self.settings.import_.sample_rows,
            progress=progress,
            separate_process_bytes=self.settings.import_.separate_process_bytes,
            clean=self.settings.clean,
        )

    def import_files(
        self, paths: Sequence[Path], *, source: str, **options: Any
    ) -> list[ImportSummary]:
        """Import several files of one source, each as its own batch."""
        return [self.import_file(p, source=source, **options) for p in paths]

    def preview(
        self,
        path: Path,
        *,
        kind: Kind | str | None = None,
        id_column: str | None = None,
        mapping: Path | None = None,
        sheet: str | None = None,
    ) -> Preview:
        """Show how a file would be imported, writing nothing (`--dry-run`)."""
        return preview_file(
            Path(path),
            kind=Kind(kind) if kind else None,
            id_column=id_column,
            mapping_file=mapping,
            sheet=sheet,
            sample_rows=self.settings.import_.sample_rows,
            clean=self.settings.clean,
        )

    def undo_import(self, batch_id: int) -> UndoSummary:
        """Remove exactly what one import batch added and restore what it changed."""
        return undo_batch(self._ready(), batch_id, actor=self.actor, clean=self.settings.clean)

    def batches(self) -> list[dict[str, Any]]:
        """List the import batches, newest first."""
        with self._ready().connect() as conn:
            return repo.list_batches(conn)

    # --- export and counts -----------------------------------------------------------------

    def export(
        self, kind: ExportKind | str, out: Path, *, fmt: ExportFormat | str = ExportFormat.CSV
    ) -> int:
        """Export contacts, links, quarantine or source-records to a file; return rows written."""
        kind, fmt = ExportKind(kind), ExportFormat(fmt)
        with self._ready().begin() as conn:
            n = export(conn, kind, Path(out), fmt)
            append_audit(
                conn,
                actor=self.actor,
                action="export",
                entity=kind.value,
                details={"rows": n, "format": fmt.value, "file": Path(out).name},
            )
        return n

    # --- resolve ----------------------------------------------------------------------------

    def resolve(
        self, *, full: bool = False, retrain: bool = False, dry_run: bool = False
    ) -> ResolveSummary:
        """Match contact records, cluster them into customers and update the golden contacts
        (`rolodex resolve`): after the first run only new and changed records are matched,
        unless `full`; `dry_run` reports what would change and writes nothing.
        """
        options = self.settings.resolve
        with self._ready().begin() as conn:
            changed: set[int] = set()
            previous = last_run(conn)
            summary = resolve_contacts(
                conn,
                options=options,
                actor=self.actor,
                now=utcnow(),
                retrain=retrain,
                dry_run=dry_run,
                full=full,
                changed=changed,
            )
            if not dry_run:
                companies = resolve_companies(
                    conn,
                    actor=self.actor,
                    now=utcnow(),
                    contacts=changed if summary.mode == "incremental" else None,
                    since=previous[1].replace(tzinfo=UTC) if previous is not None else None,
                )
                summary.companies = companies.companies
                summary.companies_merged_away = companies.merged_away
                summary.contacts_with_company = companies.contacts_linked
                append_audit(
                    conn,
                    actor=self.actor,
                    action="resolve",
                    entity="contact",
                    details={
                        "records": summary.records,
                        "mode": summary.mode,
                        "moved": summary.records_moved,
                        "merged_away": summary.contacts_merged_away,
                        "created": summary.contacts_created,
                        "trained": summary.trained,
                    },
                )
            return summary

    def match(self, record: Mapping[str, Any], *, limit: int = 5) -> list[dict[str, Any]]:
        """Score one incoming contact (canonical field names: first_name, email, phone, ...)
        against the store with the trained model; return candidate contacts, best first.

        Uses the same model, term frequencies and thresholds as `resolve`, so a record gets
        the same decision one at a time as in a batch. Changes nothing.

        Examples:
            >>> ws.match({"first_name": "Jane", "last_name": "Doe", "email": "jane@x.com"})
            [{'contact_id': 12, 'probability': 0.97, 'decision': 'match', ...}]
        """
        options = self.settings.resolve
        with self._ready().connect() as conn:
            trained = conn.execute(
                text("SELECT max(id) FROM match_model WHERE entity = 'contact'")
            ).scalar()
            if trained is not None and self._scorer[0] != trained:
                stored = latest_model(conn)
                assert stored is not None
                self._scorer = (int(trained), Scorer(stored[0]))
            return match_record(
                conn,
                record,
                options=options,
                scorer=self._scorer[1] if trained is not None else None,
                limit=limit,
            )

    def set_source_trust(self, source: str, rank: int) -> None:
        """Set how far a source is trusted when golden values disagree (lower: more trusted;
        every source starts at 100). Takes effect on the next resolve, merge or unmerge."""
        with self._ready().begin() as conn:
            done = conn.execute(
                text("UPDATE source SET trust_rank = :rank WHERE name = :name"),
                {"rank": rank, "name": source},
            ).rowcount
            if not done:
                raise InputError(f"no source named {source!r} (see `rolodex import list`)")
            append_audit(
                conn,
                actor=self.actor,
                action="source trust",
                entity="source",
                entity_id=source,
                details={"trust_rank": rank},
            )

    def _rules(self) -> dict[str, Any]:
        return dict(self.settings.resolve.survivorship)

    def explain(self, contact_id: int) -> dict[str, Any]:
        """Say which records make a contact, why each belongs, where each value came from."""
        with self._ready().connect() as conn:
            return explain(conn, contact_id)

    def merge(self, first: int, second: int, *, reason: str | None = None) -> dict[str, Any]:
        """Merge contact `second` into `first`, for good (later resolves keep it)."""
        return self._decide("merge", "contact", merge, first, second, reason=reason)

    def unmerge(self, contact: int, record: int, *, reason: str | None = None) -> dict[str, Any]:
        """Split source record `record` out of `contact`, for good."""
        return self._decide("unmerge", "contact", unmerge, contact, record, reason=reason)

    def _decide(
        self,
        action: str,
        entity: str,
        decide: Callable[..., dict[str, Any]],
        *args: int,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Carry out a person's decision and audit it, in one transaction."""
        with self._ready().begin() as conn:
            done = decide(
                conn, *args, actor=self.actor, now=utcnow(), rules=self._rules(), **kwargs
            )
            append_audit(
                conn,
                actor=self.actor,
                action=action,
                entity=entity,
                entity_id=done.get("contact", args[0]),
                details=done,
            )
            return done

    def review(self, *, status: str = "pending", limit: int = 50) -> list[dict[str, Any]]:
        """List review pairs (uncertain matches) with both records and the evidence."""
        with self._ready().connect() as conn:
            return review_list(conn, status=status, limit=limit)

    def review_decide(
        self, review_id: int, *, accept: bool, reason: str | None = None
    ) -> dict[str, Any]:
        """Accept (merge) or reject (keep apart) a review pair; kept as a label."""
        return self._decide(
            "review", "match_review", review_decide, review_id, accept=accept, reason=reason
        )

    def calibrate(self, *, spread: float = 1.0, dry_run: bool = False) -> Calibration:
        """Recalibrate the matching model from the labels people gave (review accepts and
        rejects, merges and unmerges) and keep it as the workspace's model; `resolve(full=
        True)` then applies it to every record. `spread` (bits) is how far one level's weight
        may move without many labels saying so; `dry_run` fits and stores nothing.
        """
        with self._ready().begin() as conn:
            report = recalibrate(conn, now=utcnow(), spread=spread, dry_run=dry_run)
            if report is None:
                raise InputError("no matching model to calibrate yet: run `rolodex resolve` first")
            if report.labels and not dry_run:
                append_audit(
                    conn,
                    actor=self.actor,
                    action="calibrate",
                    entity="contact",
                    details={"labels": report.labels, "shift": report.shift},
                )
            return report

    # --- quality ----------------------------------------------------------------------------

    def clean(self, *, source: str | None = None) -> RecleanSummary:
        """Clean the stored contact records again with the rules in force (`rolodex clean`)."""
        return reclean(self._ready(), clean=self.settings.clean, source=source, actor=self.actor)

    def quality(self, *, source: str | None = None) -> Scorecard:
        """Rate the standardized contact records: completeness, validity, uniqueness,
        consistency and freshness per field and source, before and after cleaning."""
        with self._ready().connect() as conn:
            return scorecard(conn, source=source)

    # --- audit -------------------------------------------------------------------------------

    def audit_verify(self, *, expect_head: str | None = None) -> AuditVerification:
        """Recompute the audit log's hash chain; any edited or removed entry is reported."""
        with self._ready().connect() as conn:
            return verify_audit(conn, expect_head=expect_head)

    def audit_entries(
        self, *, limit: int = 50, action: str | None = None, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest audit entries, optionally of one action (prefix) or one actor."""
        log = table(AuditLog)
        query = select(*(log.c[c] for c in _AUDIT_COLUMNS)).order_by(log.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(log.c.action.startswith(action, autoescape=True))
        if actor is not None:
            query = query.where(log.c.actor == actor)
        with self._ready().connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # --- analyze -----------------------------------------------------------------------------

    def rfm(self, *, as_of: date | None = None) -> RfmResult:
        """Recency, frequency and monetary scores (1-5) and named segments of every customer
        with orders, as of a day (default today)."""
        from rolodex.pipeline.analytics import run_rfm
        from rolodex.pipeline.segments import refresh_rfm_segments

        with self._ready().begin() as conn:
            result = run_rfm(conn, as_of=as_of)
            refresh_rfm_segments(conn, actor=self.actor)
            return result

    def clv(
        self, *, as_of: date | None = None, horizon_weeks: float = 52, discount_rate: float = 0.0
    ) -> ClvReport:
        """Customer lifetime value (BG/NBD + Gamma-Gamma) calibrated on orders up to `as_of`;
        later orders, when there are any, are the holdout the model is checked against."""
        from rolodex.pipeline.analytics import run_clv

        with self._ready().begin() as conn:
            return run_clv(
                conn, as_of=as_of, horizon_weeks=horizon_weeks, discount_rate=discount_rate
            )

    def churn(self, *, label: str | None = None, as_of: date | None = None) -> ChurnReport:
        """Churn risk per customer with its top reasons, from a model validated honestly."""
        from rolodex.pipeline.analytics import run_churn

        with self._ready().begin() as conn:
            return run_churn(conn, label=label, as_of=as_of)

    def cohorts(self, *, as_of: date | None = None, period: str = "month") -> CohortReport:
        """Acquisition cohorts with retention and revenue, and sBG retention of subscriptions."""
        from rolodex.pipeline.analytics import run_cohorts

        with self._ready().connect() as conn:
            return run_cohorts(conn, as_of=as_of, period=period)

    def campaigns(
        self, *, control: str | None = None, campaign: str | None = None
    ) -> CampaignResult:
        """Reach, response, conversion and revenue per campaign and arm, and each treatment's
        lift over the control arm with confidence intervals and p-values."""
        from rolodex.pipeline.analytics import run_campaigns

        with self._ready().connect() as conn:
            return run_campaigns(conn, control=control, campaign=campaign)

    def forecast(self, *, as_of: date | None = None, horizon_months: int = 6) -> Forecast:
        """Revenue forecast from orders and the weighted pipeline of open deals."""
        from rolodex.pipeline.analytics import run_forecast

        with self._ready().connect() as conn:
            return run_forecast(conn, as_of=as_of, horizon_months=horizon_months)

    def latest_order_date(self) -> date | None:
        """The day of the most recent order, if any (analyses of historical data use it)."""
        from rolodex.pipeline.analytics import latest_order_date

        with self._ready().connect() as conn:
            return latest_order_date(conn)

    # --- segment -----------------------------------------------------------------------------

    def segment_create(
        self, name: str, *, where: str, description: str | None = None
    ) -> SegmentInfo:
        """Save a segment from a filter (`rolodex segment create NAME --where EXPR`) and fill
        it; a bad filter raises an error that points at the offending token."""
        from rolodex.pipeline.segments import create_segment

        with self._ready().begin() as conn:
            info = create_segment(
                conn, name=name, expression=where, description=description, actor=self.actor
            )
            append_audit(
                conn,
                actor=self.actor,
                action="segment create",
                entity="segment",
                details={"name": info.name, "expression": info.expression},
            )
            return info

    def segment_fields(self) -> list[tuple[str, str, str]]:
        """What a segment filter may use: (name, type, meaning), custom fields included."""
        from rolodex.pipeline.segments import segment_fields

        with self._ready().connect() as conn:
            return [(f.name, f.type, f.description) for f in segment_fields(conn).values()]

    def segments(self) -> list[SegmentInfo]:
        """Every segment (the predefined RFM ones included) with its member count."""
        from rolodex.pipeline.segments import ensure_rfm_segments, list_segments

        with self._ready().begin() as conn:
            ensure_rfm_segments(conn, actor=self.actor)
            return list_segments(conn)

    def segment(self, name: str, *, limit: int = 20) -> dict[str, Any]:
        """One segment: its filter, first members and membership history."""
        from rolodex.pipeline.segments import ensure_rfm_segments, show_segment

        with self._ready().begin() as conn:
            ensure_rfm_segments(conn, actor=self.actor)
            return show_segment(conn, name=name, limit=limit)

    def segment_refresh(self, name: str | None = None) -> list[SegmentInfo]:
        """Recompute one segment's members (or every segment's), keeping who entered and
        who left."""
        from rolodex.pipeline.segments import ensure_rfm_segments, refresh_all, refresh_segment

        with self._ready().begin() as conn:
            if name is None:
                return refresh_all(conn)
            ensure_rfm_segments(conn, actor=self.actor)
            return [refresh_segment(conn, name=name)]

    def segment_export(
        self, name: str, out: Path, *, purpose: str | None = "marketing", everyone: bool = False
    ) -> ExportSummary:
        """Write a segment's members to CSV; for a marketing export, members without
        marketing consent are left out (and counted) unless `everyone`."""
        from rolodex.pipeline.segments import export_segment

        with self._ready().begin() as conn:
            done = export_segment(
                conn, name=name, out=Path(out), purpose=purpose, everyone=everyone
            )
            append_audit(
                conn,
                actor=self.actor,
                action="export",
                entity="segment",
                details={
                    "name": name,
                    "rows": done.written,
                    "left_out_without_consent": done.left_out,
                    "file": Path(out).name,
                },
            )
            return done

    def report(self, out: Path, *, as_of: date | None = None) -> ReportSummary:
        """Write one self-contained HTML report (charts of quality, duplicates, customers,
        RFM, CLV, churn, cohorts, campaigns and the forecast) to `out`."""
        from rolodex.pipeline.report import make_report

        with self._ready().connect() as conn:
            summary = make_report(conn, Path(out), as_of=as_of)
        with self._ready().begin() as conn:
            append_audit(
                conn,
                actor=self.actor,
                action="report",
                entity="report",
                details={"file": Path(out).name, "sections": list(summary.sections)},
            )
        return summary

    def counts(self) -> dict[str, int]:
        """Count the rows of the main tables (what the workspace holds)."""
        with self._ready().connect() as conn:
            return {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in _COUNTED
            }
