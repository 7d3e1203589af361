"""`rolodex report`: gather what the workspace knows into one offline HTML report.

Each section is computed from the store as it stands (the analyses run on the spot, with the
same code as `rolodex analyze`, without rewriting the stored scores); a section whose data is
missing (no orders, no campaign members, ...) is left empty, and the report says which command
fills it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl
from sqlalchemy import Connection, select, text

from rolodex.exceptions import InputError
from rolodex.maintain.quality import scorecard
from rolodex.model import Contact
from rolodex.model.base import table
from rolodex.pipeline.analytics import (
    ChurnReport,
    ClvReport,
    CohortReport,
    run_campaigns,
    run_churn,
    run_clv,
    run_cohorts,
    run_forecast,
    run_rfm,
)
from rolodex.share.report import (
    CampaignArm,
    CampaignLift,
    CampaignSection,
    ChurnSection,
    ClvSection,
    CohortSection,
    CustomersSection,
    DuplicatesSection,
    FieldQuality,
    ForecastPoint,
    ForecastSection,
    HistogramBin,
    QualitySection,
    ReportData,
    RfmSection,
    TopCustomer,
    WorkspaceSummary,
    write_report,
)
from rolodex.store.sealed import sealer_of

T = TypeVar("T")
_SECTIONS = (
    "quality",
    "duplicates",
    "customers",
    "rfm",
    "clv",
    "churn",
    "cohorts",
    "campaigns",
    "forecast",
)


@dataclass(frozen=True)
class ReportSummary:
    """What `rolodex report` wrote: the file, which sections it filled, and why not the rest."""

    path: Path
    sections: tuple[str, ...]
    skipped: dict[str, str]
    seconds: float


def _count(conn: Connection, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one() or 0)


def _histogram(values: pl.Series, bins: int = 12) -> list[HistogramBin]:
    """Equal-width bins from the smallest value to the 99th percentile; the last bin also
    holds the long tail above it (customer values are skewed: a few big spenders would
    otherwise squeeze everyone else into the first bin). Nulls and non-finite values are
    left out."""
    data = values.drop_nulls().cast(pl.Float64)
    data = data.filter(data.is_finite())
    if data.is_empty():
        return []
    low = float(data.min())  # type: ignore[arg-type]
    high = float(data.quantile(0.99) or low)
    top = float(data.max())  # type: ignore[arg-type]
    if math.isclose(low, high):
        return [HistogramBin(lower=low, upper=top, count=data.len())]
    width = (high - low) / bins
    index = ((data - low) / width).floor().clip(0, bins - 1).cast(pl.Int64)
    counts = index.value_counts().sort(index.name)
    found = dict(zip(counts[index.name].to_list(), counts["count"].to_list(), strict=True))
    return [
        HistogramBin(
            lower=low + k * width,
            upper=top if k == bins - 1 else low + (k + 1) * width,
            count=found.get(k, 0),
        )
        for k in range(bins)
    ]


def _attempt(name: str, skipped: dict[str, str], work: Callable[[], T]) -> T | None:
    """Run one section's analysis; a missing input skips the section with the reason."""
    try:
        return work()
    except InputError as exc:
        skipped[name] = str(exc)
        return None


def gather(
    conn: Connection,
    *,
    as_of: date | None = None,
    show_name: Callable[[str], str | None] | None = None,
) -> tuple[ReportData, dict[str, str]]:
    """Collect every section's data from the store (see the module docstring)."""
    day = as_of or datetime.now(UTC).date()
    skipped: dict[str, str] = {}
    summary = WorkspaceSummary(
        sources=_count(conn, "SELECT count(*) FROM source"),
        source_records=_count(conn, "SELECT count(*) FROM source_record"),
        contacts=_count(conn, "SELECT count(*) FROM contact WHERE merged_into_id IS NULL"),
        companies=_count(conn, "SELECT count(*) FROM company"),
        orders=_count(conn, 'SELECT count(*) FROM "order"'),
        quarantined=_count(conn, "SELECT count(*) FROM source_record WHERE status = 'quarantined'"),
    )
    quality = None
    card = scorecard(conn)
    if card.overall.records:
        quality = QualitySection(
            score_before=card.overall.score_before / 100,
            score_after=card.overall.score / 100,
            fields=[
                FieldQuality(
                    field=f.field,
                    completeness_before=f.completeness_before,
                    completeness_after=f.completeness,
                    validity_before=f.validity_before
                    if f.validity_before is not None
                    else f.completeness_before,
                    validity_after=f.validity if f.validity is not None else f.completeness,
                )
                for f in card.overall.fields
            ],
        )
    else:
        skipped["quality"] = "no contact records: import contacts first"
    records = _count(
        conn,
        "SELECT count(*) FROM contact_link l JOIN source_record r ON r.id = l.source_record_id",
    )
    duplicates = DuplicatesSection(
        source_records=records,
        customers=summary.contacts,
        merged_clusters=_count(
            conn,
            "SELECT count(*) FROM (SELECT contact_id FROM contact_link GROUP BY contact_id"
            " HAVING count(*) > 1) AS clusters",
        ),
        pending_reviews=_count(conn, "SELECT count(*) FROM match_review WHERE status = 'pending'"),
    )
    customers = CustomersSection(
        by_source=[
            (str(name), int(n))
            for name, n in conn.execute(
                text(
                    "SELECT s.name, count(DISTINCT l.contact_id) FROM contact_link l"
                    " JOIN source_record r ON r.id = l.source_record_id"
                    " JOIN source s ON s.id = r.source_id GROUP BY s.name ORDER BY 2 DESC"
                )
            )
        ],
        by_country=[
            (str(country or "unknown"), int(n))
            for country, n in conn.execute(
                text(
                    "SELECT country, count(*) FROM contact WHERE merged_into_id IS NULL"
                    " GROUP BY country ORDER BY 2 DESC"
                )
            )
        ],
    )
    data = ReportData(
        generated_at=datetime.now(UTC),
        summary=summary,
        quality=quality,
        duplicates=duplicates if records else None,
        customers=customers if records else None,
        rfm=_rfm(conn, day, skipped),
        clv=_clv(conn, day, skipped, show_name),
        churn=_churn(conn, day, skipped),
        cohorts=_cohorts(conn, day, skipped),
        campaigns=_campaigns(conn, skipped),
        forecast=_forecast(conn, day, skipped),
    )
    return data, skipped


def _rfm(conn: Connection, day: date, skipped: dict[str, str]) -> RfmSection | None:
    result = _attempt("rfm", skipped, lambda: run_rfm(conn, as_of=day, store=False))
    if result is None:
        return None
    counts = result.segments.select("segment", "contacts").rows()
    grid = result.grid.sort("r_score")
    return RfmSection(
        segments=[(str(s), int(n)) for s, n in counts],
        grid=[[int(row[f"f{f}"]) for f in range(1, 6)] for row in grid.iter_rows(named=True)],
    )


def _names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Display names of the given golden contacts (full name, else first and last)."""
    contact = table(Contact)
    rows = conn.execute(
        select(
            contact.c.id,
            contact.c.full_name,
            contact.c.first_name,
            contact.c.last_name,
        ).where(contact.c.id.in_(list(ids)))
    )
    names = {}
    opened = sealer_of(conn).open_rows("contact", [dict(r) for r in rows.mappings()])
    for contact_id, full, first, last in (
        (r["id"], r["full_name"], r["first_name"], r["last_name"]) for r in opened
    ):
        name = full or " ".join(part for part in (first, last) if part)
        if name and name.strip():
            names[int(contact_id)] = name.strip()
    return names


def _clv(
    conn: Connection,
    day: date,
    skipped: dict[str, str],
    show_name: Callable[[str], str | None] | None = None,
) -> ClvSection | None:
    report: ClvReport | None = _attempt(
        "clv", skipped, lambda: run_clv(conn, as_of=day, store=False)
    )
    if report is None:
        return None
    r = report.result
    top = r.contacts.sort("clv", descending=True, nulls_last=True).head(10)
    names = _names(conn, top.get_column("contact_id").to_list())
    if show_name is not None:
        names = {cid: shown for cid, name in names.items() if (shown := show_name(name))}
    parameters = [(name, float(v)) for name, v in r.bgnbd.to_json().items()]
    if r.gamma_gamma is not None:
        parameters += [(name, float(v)) for name, v in r.gamma_gamma.to_json().items()]
    return ClvSection(
        bins=_histogram(r.contacts.get_column("clv")),
        top_customers=[
            TopCustomer(
                contact_id=int(row["contact_id"]),
                name=names.get(int(row["contact_id"])),
                clv=float(row["clv"] or 0.0),
                p_alive=float(row["p_alive"] or 0.0),
            )
            for row in top.iter_rows(named=True)
        ],
        customers=r.customers,
        total_clv=r.total_clv,
        horizon_weeks=r.horizon_weeks,
        parameters=[(n, v) for n, v in parameters if n != "log_likelihood"],
    )


def _churn(conn: Connection, day: date, skipped: dict[str, str]) -> ChurnSection | None:
    report: ChurnReport | None = _attempt(
        "churn", skipped, lambda: run_churn(conn, as_of=day, store=False)
    )
    if report is None:
        return None
    summary = report.result.to_dict()
    return ChurnSection(
        bins=_histogram(report.contacts.get_column("churn_risk"), bins=10),
        auc=float(summary["auc"]),
        reasons=[(str(r["reason"]), int(r["contacts"])) for r in summary["top_reasons"]],
        model=report.result.model,
    )


def _cohorts(conn: Connection, day: date, skipped: dict[str, str]) -> CohortSection | None:
    report: CohortReport | None = _attempt("cohorts", skipped, lambda: run_cohorts(conn, as_of=day))
    if report is None or report.orders is None:
        skipped.setdefault("cohorts", "no orders: no order cohorts")
        return None
    matrix = report.orders.retention.tail(24)
    offsets = [c for c in matrix.columns if c not in ("cohort", "size")]
    return CohortSection(
        cohorts=[str(c)[:7] for c in matrix.get_column("cohort").to_list()],
        retention=[[row[c] for c in offsets] for row in matrix.iter_rows(named=True)],
        sizes=[int(s) for s in matrix.get_column("size").to_list()],
        period=report.period,
    )


def _campaigns(conn: Connection, skipped: dict[str, str]) -> CampaignSection | None:
    result = _attempt("campaigns", skipped, lambda: run_campaigns(conn))
    if result is None:
        return None
    arms = [
        CampaignArm(
            campaign=row["campaign"],
            arm=row["arm"],
            contacts=int(row["reach"]),
            response_rate=float(row["response_rate"]),
            conversion_rate=float(row["conversion_rate"]),
            revenue_per_contact=float(row["revenue_per_contact"]),
        )
        for row in result.arms.iter_rows(named=True)
    ]
    lifts = [
        CampaignLift(
            campaign=row["campaign"],
            arm=row["arm"],
            control=row["control_arm"],
            metric=metric.replace("_", " "),
            lift=float(row[f"{metric}_lift"]),
            lower=row[f"{metric}_lift_lower"],
            upper=row[f"{metric}_lift_upper"],
            p_value=row[f"{metric}_p_value"],
        )
        for row in result.comparisons.iter_rows(named=True)
        for metric in ("response_rate", "conversion_rate")
        if row[f"{metric}_lift"] is not None
    ]
    return CampaignSection(arms=arms, lifts=lifts, confidence=result.confidence)


def _forecast(conn: Connection, day: date, skipped: dict[str, str]) -> ForecastSection | None:
    report = _attempt("forecast", skipped, lambda: run_forecast(conn, as_of=day))
    if report is None or report.revenue is None:
        skipped.setdefault(
            "forecast",
            "no revenue forecast: " + "; ".join(report.notes if report is not None else ()),
        )
        return None
    f = report.revenue
    return ForecastSection(
        history=[(str(m)[:7], float(v)) for m, v in f.history.select("month", "revenue").rows()],
        forecast=[
            ForecastPoint(
                month=str(row["month"])[:7],
                value=float(row["forecast"]),
                lower=float(row["lower"]),
                upper=float(row["upper"]),
            )
            for row in f.forecast.iter_rows(named=True)
        ],
        confidence=f.confidence,
        model=f.model,
    )


def make_report(
    conn: Connection,
    out: Path,
    *,
    as_of: date | None = None,
    show_name: Callable[[str], str | None] | None = None,
) -> ReportSummary:
    """Write the report to `out` (see the module docstring); say what went in and what not.

    `show_name` turns a customer's name into what the reader may see (masked, or None to
    leave it out); the names are shown as they are without it.
    """
    started = datetime.now(UTC)
    data, skipped = gather(conn, as_of=as_of, show_name=show_name)
    path = write_report(data, out)
    filled = tuple(n for n in _SECTIONS if getattr(data, n) is not None)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return ReportSummary(path=path, sections=filled, skipped=skipped, seconds=seconds)
