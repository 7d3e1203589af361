"""The HTML report: one self-contained file with every analysis as a chart and a table.

`rolodex report --out report.html` gathers figures from the store (that part lives with the
pipeline) into a `ReportData` of plain values and hands it to `render_report`, which only
formats. Keeping the renderer free of the database means it can be tested with made-up
numbers and reused for scheduled digests.

The file has to work when mailed around or opened on a laptop without network, so
everything is inline. There are no scripts, no web fonts, no images, and the stylesheet has
no ``url(`` or ``@import``. Charts are inline SVG from `rolodex.share.charts`. Each section
opens with one plain sentence computed from the data ("412 customers (17%) are
Hibernating"), then a chart, then a small table with the exact numbers. Every section is
optional: when its data is missing, the section names the command that produces it.
Every text from the data is HTML-escaped.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rolodex.exceptions import InputError
from rolodex.share.charts import (
    bar_chart,
    column_chart,
    format_number,
    format_percent,
    format_points,
    heatmap,
    interval_line_chart,
    lift_chart,
)

__all__ = [
    "CampaignArm",
    "CampaignLift",
    "CampaignSection",
    "ChurnSection",
    "ClvSection",
    "CohortSection",
    "CustomersSection",
    "DuplicatesSection",
    "FieldQuality",
    "ForecastPoint",
    "ForecastSection",
    "HistogramBin",
    "QualitySection",
    "ReportData",
    "RfmSection",
    "TopCustomer",
    "WorkspaceSummary",
    "render_report",
    "write_report",
]

# Categories beyond this many are folded into "Other" so a chart of 200 countries stays legible.
MAX_CATEGORIES = 12
# The forecast table shows the latest months only; the chart shows the whole history.
HISTORY_ROWS = 12


@dataclass(frozen=True)
class WorkspaceSummary:
    """Counts of what the workspace holds."""

    sources: int
    source_records: int
    contacts: int
    companies: int = 0
    orders: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class FieldQuality:
    """Completeness and validity of one field, as fractions 0..1, before and after cleaning."""

    field: str
    completeness_before: float
    completeness_after: float
    validity_before: float
    validity_after: float


@dataclass(frozen=True)
class QualitySection:
    """Overall quality score (0..1) before and after cleaning, and per-field detail."""

    score_before: float
    score_after: float
    fields: Sequence[FieldQuality] = ()


@dataclass(frozen=True)
class DuplicatesSection:
    """What identity resolution found: records in, customers out, clusters merged."""

    source_records: int
    customers: int
    merged_clusters: int
    pending_reviews: int


@dataclass(frozen=True)
class CustomersSection:
    """Customers (golden records) per source system and per country, as (name, count)."""

    by_source: Sequence[tuple[str, int]] = ()
    by_country: Sequence[tuple[str, int]] = ()


@dataclass(frozen=True)
class RfmSection:
    """RFM segment sizes and the 5x5 grid of customers by recency and frequency score.

    `grid[r - 1][f - 1]` is the number of customers with recency score r and frequency
    score f (1 to 5, 5 best).
    """

    segments: Sequence[tuple[str, int]]
    grid: Sequence[Sequence[int]]


@dataclass(frozen=True)
class HistogramBin:
    """One bin of a histogram: `count` values in [lower, upper)."""

    lower: float
    upper: float
    count: int


@dataclass(frozen=True)
class TopCustomer:
    """One of the most valuable customers."""

    contact_id: int
    name: str | None
    clv: float
    p_alive: float


@dataclass(frozen=True)
class ClvSection:
    """Customer lifetime value: distribution, top customers, totals and model parameters."""

    bins: Sequence[HistogramBin]
    top_customers: Sequence[TopCustomer]
    customers: int
    total_clv: float
    horizon_weeks: float
    parameters: Sequence[tuple[str, float]] = ()


@dataclass(frozen=True)
class ChurnSection:
    """Churn risk: distribution of risks (bins over 0..1), model AUC and the top reasons."""

    bins: Sequence[HistogramBin]
    auc: float | None
    reasons: Sequence[tuple[str, int]] = ()
    model: str = ""


@dataclass(frozen=True)
class CohortSection:
    """Retention by acquisition cohort.

    `retention[i][k]` is the share (0..1) of cohort i that ordered k periods after its first
    order; None where the cohort is too young to know.
    """

    cohorts: Sequence[str]
    retention: Sequence[Sequence[float | None]]
    sizes: Sequence[int] = ()
    period: str = "month"


@dataclass(frozen=True)
class CampaignArm:
    """What one arm of a campaign reached and earned; rates are fractions 0..1."""

    campaign: str
    arm: str
    contacts: int
    response_rate: float
    conversion_rate: float
    revenue_per_contact: float


@dataclass(frozen=True)
class CampaignLift:
    """A treatment arm against its control: the difference of one rate (fractions)."""

    campaign: str
    arm: str
    control: str
    metric: str
    lift: float
    lower: float | None
    upper: float | None
    p_value: float | None = None


@dataclass(frozen=True)
class CampaignSection:
    """Campaign arms and the lifts of their treatments over the controls."""

    arms: Sequence[CampaignArm]
    lifts: Sequence[CampaignLift]
    confidence: float = 0.95


@dataclass(frozen=True)
class ForecastPoint:
    """One forecast month with its prediction interval."""

    month: str
    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class ForecastSection:
    """Monthly revenue so far, as (month, value), and forecast months with intervals."""

    history: Sequence[tuple[str, float]]
    forecast: Sequence[ForecastPoint]
    confidence: float = 0.95
    model: str = ""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as plain values; a None section was not computed."""

    generated_at: datetime
    title: str = "Rolodex report"
    summary: WorkspaceSummary | None = None
    quality: QualitySection | None = None
    duplicates: DuplicatesSection | None = None
    customers: CustomersSection | None = None
    rfm: RfmSection | None = None
    clv: ClvSection | None = None
    churn: ChurnSection | None = None
    cohorts: CohortSection | None = None
    campaigns: CampaignSection | None = None
    forecast: ForecastSection | None = None


_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d8dee4; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header, nav, main { max-width: 1240px; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 0 0 .4rem; }
h3 { font-size: .95rem; margin: 1rem 0 .2rem; color: var(--muted); }
.meta { color: var(--muted); margin: 0; }
nav ol { columns: 3 12rem; margin: 1rem 0; padding-left: 1.4rem; }
nav a { color: #0a5ea8; }
main { display: grid; gap: 1rem; padding-bottom: 2rem;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 36rem), 1fr)); }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem 1.25rem; min-width: 0; }
.wide { grid-column: 1 / -1; }
.lead { font-size: 1.05rem; margin: 0 0 .6rem; }
.missing .lead { color: var(--muted); }
figure { margin: .6rem 0; overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums;
  margin: .4rem 0 .8rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .2rem; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
.num { text-align: right; }
td.num, td:first-child { white-space: nowrap; }
figcaption { font-size: .85rem; }
dl.stats { display: flex; flex-wrap: wrap; gap: .5rem 2rem; margin: .4rem 0 0; }
dl.stats div { min-width: 8rem; }
dl.stats dt { color: var(--muted); font-size: .85rem; }
dl.stats dd { margin: 0; font-size: 1.4rem; font-weight: 600; }
code { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px;
  padding: 0 .3rem; font-size: .9em; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  header, nav, main { max-width: none; padding: 0; }
  main { display: block; }
  .card { border: none; border-top: 1px solid #999; border-radius: 0; padding: .6rem 0;
    margin: 0 0 .6rem; break-inside: avoid; }
  nav a { color: inherit; text-decoration: none; }
  figure, .table-wrap { overflow: visible; }
}
@page { margin: 1.5cm; }
"""


def _esc(text: object) -> str:
    """Escape text for HTML."""
    return html.escape(str(text), quote=True)


def _share(part: float, whole: float) -> float:
    """Return part / whole, 0 when the whole is 0."""
    return part / whole if whole else 0.0


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    caption: str,
    numeric: Sequence[int] = (),
) -> str:
    """Render a small table of exact numbers; `numeric` columns are right-aligned."""

    def cell(tag: str, i: int, value: object) -> str:
        align = ' class="num"' if i in numeric else ""
        scope = ' scope="col"' if tag == "th" else ""
        return f"<{tag}{scope}{align}>{_esc(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, value) for i, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap"><table><caption>{_esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _figure(svg: str, caption: str) -> str:
    """Wrap a chart in a figure with a caption."""
    return f'<figure>{svg}<figcaption class="meta">{_esc(caption)}</figcaption></figure>'


def _top(items: Sequence[tuple[str, int]], *, other: str) -> list[tuple[str, int]]:
    """Keep the largest categories, largest first, and fold the rest into one "Other" row."""
    ranked = sorted(items, key=lambda item: item[1], reverse=True)
    if len(ranked) <= MAX_CATEGORIES:
        return ranked
    kept = ranked[: MAX_CATEGORIES - 1]
    rest = ranked[MAX_CATEGORIES - 1 :]
    return [*kept, (f"Other ({len(rest)} {other})", sum(count for _, count in rest))]


def _bin_label(item: HistogramBin, fmt: Callable[[float], str]) -> str:
    """Label a histogram bin as "lower-upper"."""
    return f"{fmt(item.lower)}\u2013{fmt(item.upper)}"


def _summary(data: WorkspaceSummary) -> str:
    lead = (
        f"{format_number(data.contacts)} customers from"
        f" {format_number(data.source_records)} source records in"
        f" {format_number(data.sources)} source{'s' if data.sources != 1 else ''}."
    )
    stats = [
        ("Sources", data.sources),
        ("Source records", data.source_records),
        ("Customers", data.contacts),
        ("Companies", data.companies),
        ("Orders", data.orders),
        ("Quarantined rows", data.quarantined),
    ]
    items = "".join(
        f"<div><dt>{_esc(name)}</dt><dd>{_esc(format_number(value))}</dd></div>"
        for name, value in stats
    )
    return f'<p class="lead">{_esc(lead)}</p><dl class="stats">{items}</dl>'


def _quality(data: QualitySection) -> str:
    before, after = format_percent(data.score_before), format_percent(data.score_after)
    if round(data.score_after, 3) > round(data.score_before, 3):
        lead = f"Data quality rose from {before} to {after} after cleaning."
    elif round(data.score_after, 3) < round(data.score_before, 3):
        lead = f"Data quality fell from {before} to {after} after cleaning."
    else:
        lead = f"Data quality stayed at {after} after cleaning."
    if data.fields:
        worst = min(data.fields, key=lambda f: f.validity_after)
        lead += (
            f" The weakest field is {worst.field}, {format_percent(worst.validity_after)} valid."
        )
    names = [f.field for f in data.fields]
    parts = [f'<p class="lead">{_esc(lead)}</p>']
    parts.append(
        _figure(
            bar_chart(
                ["Overall score"],
                [data.score_before],
                second=[data.score_after],
                title="Quality score before and after cleaning",
                fmt=format_percent,
            ),
            "Overall quality score, 0 to 100%.",
        )
    )
    measures = (
        ("Completeness", [(f.completeness_before, f.completeness_after) for f in data.fields]),
        ("Validity", [(f.validity_before, f.validity_after) for f in data.fields]),
    )
    for measure, pairs in measures:
        parts.append(
            _figure(
                bar_chart(
                    names,
                    [p[0] for p in pairs],
                    second=[p[1] for p in pairs],
                    title=f"{measure} by field",
                    axis_title=f"{measure} (share of records)",
                    fmt=format_percent,
                ),
                f"{measure} of each field before (orange) and after (blue) cleaning.",
            )
        )
    rows = [
        [
            f.field,
            format_percent(f.completeness_before),
            format_percent(f.completeness_after),
            format_percent(f.validity_before),
            format_percent(f.validity_after),
        ]
        for f in data.fields
    ]
    rows.append(["Overall score", "", "", before, after])
    parts.append(
        _table(
            ["Field", "Complete before", "Complete after", "Valid before", "Valid after"],
            rows,
            caption="Quality by field",
            numeric=(1, 2, 3, 4),
        )
    )
    return "".join(parts)


def _duplicates(data: DuplicatesSection) -> str:
    folded = max(0, data.source_records - data.customers)
    lead = (
        f"{format_number(data.source_records)} source records resolve to"
        f" {format_number(data.customers)} customers: {format_number(data.merged_clusters)}"
        f" merged clusters absorbed {format_number(folded)} duplicate records"
        f" ({format_percent(_share(folded, data.source_records))})."
    )
    if data.pending_reviews:
        pairs = "pair awaits" if data.pending_reviews == 1 else "pairs await"
        lead += f" {format_number(data.pending_reviews)} uncertain {pairs} review."
    else:
        lead += " No pairs await review."
    labels = ["Source records", "Customers", "Duplicate records", "Merged clusters", "Reviews"]
    values = [
        data.source_records,
        data.customers,
        folded,
        data.merged_clusters,
        data.pending_reviews,
    ]
    chart = bar_chart(labels, values, title="Duplicates found and merged", axis_title="Count")
    rows = [[label, format_number(value)] for label, value in zip(labels, values, strict=True)]
    return (
        f'<p class="lead">{_esc(lead)}</p>'
        + _figure(chart, "Records before and after identity resolution.")
        + _table(["What", "Count"], rows, caption="Identity resolution", numeric=(1,))
    )


def _customers(data: CustomersSection) -> str:
    sentences: list[str] = []
    parts: list[str] = []
    for name, items, noun, plural in (
        ("source", data.by_source, "source", "sources"),
        ("country", data.by_country, "country", "countries"),
    ):
        rows = _top(items, other=plural)
        total = sum(count for _, count in items)
        if rows:
            top_name, top_count = rows[0]
            verb = "brings the most customers" if name == "source" else "has the most customers"
            sentences.append(
                f"{top_name} {verb} ({format_number(top_count)},"
                f" {format_percent(_share(top_count, total))})."
            )
        labels = [label for label, _ in rows]
        counts = [count for _, count in rows]
        parts.append(
            _figure(
                bar_chart(labels, counts, title=f"Customers by {noun}", axis_title="Customers"),
                f"Customers by {noun}, largest first.",
            )
        )
        parts.append(
            _table(
                [noun.capitalize(), "Customers", "Share"],
                [
                    [label, format_number(count), format_percent(_share(count, total))]
                    for label, count in rows
                ],
                caption=f"Customers by {noun}",
                numeric=(1, 2),
            )
        )
    lead = " ".join(sentences) or "No customers with a source or country yet."
    return f'<p class="lead">{_esc(lead)}</p>' + "".join(parts)


def _rfm(data: RfmSection) -> str:
    total = sum(count for _, count in data.segments)
    ranked = sorted(data.segments, key=lambda item: item[1], reverse=True)
    if ranked and total:
        name, count = ranked[0]
        lead = (
            f"{format_number(count)} customers ({format_percent(_share(count, total))})"
            f" are {name}, the largest of {len(ranked)} segments."
        )
    else:
        lead = "No customers have RFM scores yet."
    if len(data.grid) != 5 or any(len(row) != 5 for row in data.grid):
        raise InputError(
            "RFM grid must be 5 rows (recency score 1-5) of 5 counts (frequency score 1-5)"
        )
    grid_total = sum(sum(row) for row in data.grid)
    shares: list[list[float | None]] = [
        [_share(count, grid_total) for count in data.grid[r - 1]] for r in range(5, 0, -1)
    ]
    segments = bar_chart(
        [name for name, _ in ranked],
        [count for _, count in ranked],
        title="Customers by RFM segment",
        axis_title="Customers",
    )
    grid = heatmap(
        [f"R{r}" for r in range(5, 0, -1)],
        [f"F{f}" for f in range(1, 6)],
        shares,
        title="Customers by recency and frequency score",
        row_title="Recency",
        column_title="Frequency score (5 = most orders)",
        scale=(0.0, max((v for row in shares for v in row if v is not None), default=0.0) or 1.0),
        cell_width=56,
    )
    segment_rows = [
        [name, format_number(count), format_percent(_share(count, total))] for name, count in ranked
    ]
    grid_rows = [
        [f"R{r}", *(format_number(count) for count in data.grid[r - 1])] for r in range(5, 0, -1)
    ]
    return (
        f'<p class="lead">{_esc(lead)}</p>'
        + _figure(segments, "Segments from recency, frequency and monetary scores.")
        + _table(["Segment", "Customers", "Share"], segment_rows, caption="RFM segments",
                 numeric=(1, 2))
        + _figure(grid, "Rows: recency score, 5 = bought most recently. Cells: share of all.")
        + _table(["", "F1", "F2", "F3", "F4", "F5"], grid_rows, caption="Customers per RFM cell",
                 numeric=(1, 2, 3, 4, 5))
    )  # fmt: skip


def _clv(data: ClvSection) -> str:
    horizon = format_number(round(data.horizon_weeks))
    lead = (
        f"{format_number(data.customers)} customers are expected to bring"
        f" {format_number(round(data.total_clv))} over the next {horizon} weeks."
    )
    if data.top_customers and data.total_clv > 0:
        top_sum = sum(c.clv for c in data.top_customers)
        lead += (
            f" The top {len(data.top_customers)} account for"
            f" {format_percent(_share(top_sum, data.total_clv))} of it."
        )
    labels = [_bin_label(b, format_number) for b in data.bins]
    chart = column_chart(
        labels,
        [b.count for b in data.bins],
        title="Customers by lifetime value",
        x_title=f"Expected value over {horizon} weeks",
        y_title="Customers",
    )
    parts = [f'<p class="lead">{_esc(lead)}</p>', _figure(chart, "Distribution of CLV.")]
    parts.append(
        _table(
            ["CLV", "Customers"],
            [[label, format_number(b.count)] for label, b in zip(labels, data.bins, strict=True)],
            caption="CLV distribution",
            numeric=(1,),
        )
    )
    parts.append("<h3>Top customers</h3>")
    parts.append(
        _table(
            ["#", "Contact", "Name", "CLV", "P(alive)"],
            [
                [
                    rank,
                    c.contact_id,
                    c.name or "\u2014",
                    format_number(round(c.clv, 2)),
                    format_percent(c.p_alive),
                ]
                for rank, c in enumerate(data.top_customers, start=1)
            ],
            caption="Most valuable customers by expected lifetime value",
            numeric=(0, 1, 3, 4),
        )
    )
    if data.parameters:
        parts.append(
            _table(
                ["Parameter", "Value"],
                [[name, f"{value:,.4g}"] for name, value in data.parameters],
                caption="Model parameters (BG/NBD and Gamma-Gamma)",
                numeric=(1,),
            )
        )
    return "".join(parts)


def _churn(data: ChurnSection) -> str:
    total = sum(b.count for b in data.bins)
    high = sum(b.count for b in data.bins if b.lower >= 0.5)
    if total:
        lead = (
            f"{format_number(high)} of {format_number(total)} customers"
            f" ({format_percent(_share(high, total))}) have a churn risk of 50% or more."
        )
    else:
        lead = "No customers have a churn risk yet."
    if data.auc is not None:
        lead += f" The model's cross-validated AUC is {data.auc:.2f}."
    labels = [_bin_label(b, format_percent) for b in data.bins]
    parts = [
        f'<p class="lead">{_esc(lead)}</p>',
        _figure(
            column_chart(
                labels,
                [b.count for b in data.bins],
                title="Customers by churn risk",
                x_title="Probability of churning",
                y_title="Customers",
                colour="#D55E00",
            ),
            "Distribution of churn risk.",
        ),
        _table(
            ["Risk", "Customers"],
            [[label, format_number(b.count)] for label, b in zip(labels, data.bins, strict=True)],
            caption="Churn risk distribution",
            numeric=(1,),
        ),
    ]
    if data.reasons:
        reasons = sorted(data.reasons, key=lambda item: item[1], reverse=True)
        parts.append(
            _figure(
                bar_chart(
                    [r for r, _ in reasons],
                    [n for _, n in reasons],
                    title="Top reasons for churn risk",
                    axis_title="Customers for whom it is a top reason",
                ),
                "What drives the risk most often.",
            )
        )
        parts.append(
            _table(
                ["Reason", "Customers"],
                [[r, format_number(n)] for r, n in reasons],
                caption="Top churn reasons",
                numeric=(1,),
            )
        )
    if data.model:
        parts.append(f'<p class="meta">Model: {_esc(data.model)}.</p>')
    return "".join(parts)


def _cohorts(data: CohortSection) -> str:
    width = max((len(row) for row in data.retention), default=0)
    matrix = [list(row) + [None] * (width - len(row)) for row in data.retention]
    after_one = [row[1] for row in matrix if width > 1 and row[1] is not None]
    if after_one:
        lead = (
            f"On average {format_percent(sum(after_one) / len(after_one))} of a cohort orders"
            f" again one {data.period} after its first order ({len(matrix)} cohorts)."
        )
    else:
        lead = f"Too early to measure retention: no cohort is a {data.period} old yet."
    columns = [str(k) for k in range(width)]
    chart = heatmap(
        list(data.cohorts),
        columns,
        matrix,
        title="Retention by cohort",
        row_title="Cohort",
        column_title=f"{data.period.capitalize()}s since first order",
        scale=(
            0.0,
            max((v for row in matrix for v in row[1:] if v is not None), default=0.0) or 1.0,
        ),
    )
    sizes = list(data.sizes) if len(data.sizes) == len(matrix) else [None] * len(matrix)
    rows = [
        [
            label,
            "" if size is None else format_number(size),
            *("" if v is None else format_percent(v) for v in row),
        ]
        for label, size, row in zip(data.cohorts, sizes, matrix, strict=True)
    ]
    return (
        f'<p class="lead">{_esc(lead)}</p>'
        + _figure(chart, "Share of each cohort ordering in each period; blank: not yet known.")
        + _table(
            ["Cohort", "Size", *columns],
            rows,
            caption="Retention by cohort",
            numeric=tuple(range(1, width + 2)),
        )
    )


def _campaigns(data: CampaignSection) -> str:
    level = format_percent(data.confidence)
    if data.lifts:
        best = max(data.lifts, key=lambda lift: lift.lift)
        verb = "raised" if best.lift >= 0 else "lowered"
        lead = (
            f"{best.campaign}: {best.arm} {verb} the {best.metric} by"
            f" {format_points(abs(best.lift)).lstrip('+')}"
            f" against {best.control}"
        )
        if best.lower is not None and best.upper is not None:
            lead += f" ({level} CI {format_points(best.lower)} to {format_points(best.upper)})"
            if best.lower <= 0 <= best.upper:
                lead += ", but the interval includes zero, so the effect is not established"
        lead += "."
    else:
        lead = "No campaign had a control group to measure lift against."
    labels = [f"{x.campaign}: {x.arm} ({x.metric})" for x in data.lifts]
    chart = lift_chart(
        labels,
        [x.lift for x in data.lifts],
        [x.lower for x in data.lifts],
        [x.upper for x in data.lifts],
        title=f"Lift over control with {level} confidence interval",
        axis_title="Difference in rate, percentage points",
    )
    arms = [
        [
            a.campaign,
            a.arm,
            format_number(a.contacts),
            format_percent(a.response_rate),
            format_percent(a.conversion_rate),
            format_number(round(a.revenue_per_contact, 2)),
        ]
        for a in data.arms
    ]
    lifts = [
        [
            x.campaign,
            f"{x.arm} vs {x.control}",
            x.metric,
            format_points(x.lift),
            "" if x.lower is None else format_points(x.lower),
            "" if x.upper is None else format_points(x.upper),
            "" if x.p_value is None else f"{x.p_value:.3g}",
        ]
        for x in data.lifts
    ]
    return (
        f'<p class="lead">{_esc(lead)}</p>'
        + _figure(chart, "Bars right of zero: the treatment did better than its control.")
        + _table(
            ["Campaign", "Comparison", "Metric", "Lift", "CI low", "CI high", "p"],
            lifts,
            caption="Lift over control",
            numeric=(3, 4, 5, 6),
        )
        + _table(
            ["Campaign", "Arm", "Contacts", "Response", "Conversion", "Revenue/contact"],
            arms,
            caption="Campaign arms",
            numeric=(2, 3, 4, 5),
        )
    )


def _forecast(data: ForecastSection) -> str:
    level = format_percent(data.confidence)
    if data.forecast:
        first = data.forecast[0]
        lead = (
            f"{first.month} is forecast at {format_number(round(first.value))}"
            f" ({level} interval {format_number(round(first.lower))} to"
            f" {format_number(round(first.upper))})"
        )
        if len(data.forecast) > 1:
            total = sum(p.value for p in data.forecast)
            lead += f"; the next {len(data.forecast)} months total {format_number(round(total))}"
        lead += "."
    elif data.history:
        lead = f"Not enough history to forecast; {data.history[-1][0]} brought"
        lead += f" {format_number(round(data.history[-1][1]))}."
    else:
        lead = "No revenue to forecast yet."
    chart = interval_line_chart(
        [month for month, _ in data.history],
        [value for _, value in data.history],
        [p.month for p in data.forecast],
        [p.value for p in data.forecast],
        [p.lower for p in data.forecast],
        [p.upper for p in data.forecast],
        title="Monthly revenue and forecast",
        y_title="Revenue",
        interval_name=f"{level} interval",
    )
    recent = data.history[-HISTORY_ROWS:]
    rows = [[month, format_number(round(value)), "", "", ""] for month, value in recent]
    rows += [
        [
            p.month,
            "",
            format_number(round(p.value)),
            format_number(round(p.lower)),
            format_number(round(p.upper)),
        ]
        for p in data.forecast
    ]
    caption = "Revenue by month"
    if len(recent) < len(data.history):
        caption += f", last {len(recent)} of {len(data.history)} months"
    caption += f" (model: {data.model})" if data.model else ""
    return (
        f'<p class="lead">{_esc(lead)}</p>'
        + _figure(chart, "Solid: actual revenue. Dashed: forecast, with its interval shaded.")
        + _table(
            ["Month", "Actual", "Forecast", "Low", "High"],
            rows,
            caption=caption,
            numeric=(1, 2, 3, 4),
        )
    )


@dataclass(frozen=True)
class _Section:
    """How to render one topic of the report and what to run when its data is missing."""

    id: str
    heading: str
    hint: str
    render: Callable[[ReportData], str | None]
    wide: bool = False


_SECTIONS: tuple[_Section, ...] = (
    _Section(
        "summary",
        "Workspace",
        "Run `rolodex init`, then `rolodex import PATH --source NAME`.",
        lambda d: None if d.summary is None else _summary(d.summary),
        wide=True,
    ),
    _Section(
        "quality",
        "Data quality",
        "Run `rolodex import` on a source, then `rolodex quality`.",
        lambda d: None if d.quality is None else _quality(d.quality),
    ),
    _Section(
        "duplicates",
        "Duplicates",
        "Run `rolodex resolve` after importing contacts.",
        lambda d: None if d.duplicates is None else _duplicates(d.duplicates),
    ),
    _Section(
        "customers",
        "Customers by source and country",
        "Run `rolodex resolve` after importing contacts.",
        lambda d: None if d.customers is None else _customers(d.customers),
    ),
    _Section(
        "rfm",
        "RFM segments",
        "Run `rolodex analyze rfm` after importing orders.",
        lambda d: None if d.rfm is None else _rfm(d.rfm),
    ),
    _Section(
        "clv",
        "Customer lifetime value",
        "Run `rolodex analyze clv` after importing orders.",
        lambda d: None if d.clv is None else _clv(d.clv),
    ),
    _Section(
        "churn",
        "Churn risk",
        "Run `rolodex analyze churn` after importing orders or subscriptions.",
        lambda d: None if d.churn is None else _churn(d.churn),
    ),
    _Section(
        "cohorts",
        "Cohort retention",
        "Run `rolodex analyze cohorts` after importing orders.",
        lambda d: None if d.cohorts is None else _cohorts(d.cohorts),
        wide=True,
    ),
    _Section(
        "campaigns",
        "Campaign lift",
        "Run `rolodex analyze campaigns` after importing campaign members with their arms.",
        lambda d: None if d.campaigns is None else _campaigns(d.campaigns),
        wide=True,
    ),
    _Section(
        "forecast",
        "Revenue forecast",
        "Run `rolodex analyze forecast` after importing at least three months of orders.",
        lambda d: None if d.forecast is None else _forecast(d.forecast),
        wide=True,
    ),
)


def _hint(text: str) -> str:
    """Escape a hint and set its `command` parts as code."""
    pieces = _esc(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def render_report(data: ReportData) -> str:
    """Render the whole report as one self-contained HTML document.

    Args:
        data: The figures to show; sections left as None say what to run to get them.

    Returns:
        The HTML document, with inline CSS and SVG and no external resources.

    Raises:
        InputError: When a section's data is inconsistent (e.g. an RFM grid that is not
            5x5, or series of different lengths).

    Examples:
        >>> from datetime import UTC, datetime
        >>> page = render_report(ReportData(generated_at=datetime(2025, 1, 31, tzinfo=UTC)))
        >>> page.startswith("<!doctype html>")
        True
    """
    when = data.generated_at
    stamp = when.strftime("%Y-%m-%d %H:%M") + (f" {when.tzname()}" if when.tzinfo else "")
    toc = "".join(f'<li><a href="#{s.id}">{_esc(s.heading)}</a></li>' for s in _SECTIONS)
    sections: list[str] = []
    for section in _SECTIONS:
        content = section.render(data)
        classes = ["card"] + (["wide"] if section.wide else [])
        if content is None:
            classes.append("missing")
            content = f'<p class="lead">Not computed yet. {_hint(section.hint)}</p>'
        sections.append(
            f'<section id="{section.id}" class="{" ".join(classes)}"'
            f' aria-labelledby="{section.id}-heading">'
            f'<h2 id="{section.id}-heading">{_esc(section.heading)}</h2>{content}</section>'
        )
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(data.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{_esc(data.title)}</h1><p class="meta">Generated'
        f' <time datetime="{_esc(when.isoformat())}">{_esc(stamp)}</time></p></header>\n'
        f'<nav aria-label="Contents"><ol>{toc}</ol></nav>\n'
        "<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n"
    )


def write_report(data: ReportData, path: Path) -> Path:
    """Render the report and write it to `path` (UTF-8), replacing any file there.

    The page is written to a temporary file beside `path` and moved into place, so a
    failed run never leaves half a report where the last good one was.

    Args:
        data: The figures to show.
        path: Where to write the HTML file; its directory must exist.

    Returns:
        The path written.

    Raises:
        InputError: When the directory does not exist or `path` is a directory.
    """
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name such as report.html")
    if not path.parent.is_dir():
        raise InputError(f"directory {path.parent} does not exist; create it or choose another")
    page = render_report(data)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(page, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
