"""RFM: score every customer on recency, frequency and monetary value, and name a segment.

RFM is the first question a CRM user asks of an order log: who bought lately, who buys
often, who spends most, and which of them are slipping away. This module turns one row per
order into one row per contact with the three measures, a 1-5 score for each and a named
segment, plus the summaries a report shows (segment sizes, the R-by-F grid). The segment
stage later saves these segments by name, so the names are fixed in `RFM_SEGMENTS`.

Input: an orders frame with `contact_id` (integer), `ordered_at` (`pl.Datetime`, naive or
time-zone aware, or `pl.Date`) and `amount` (float; null counts as 0). Each row is one order.

Scores are rank-based quintiles that never split a tie (see `rfm`), so they do not depend on
the order of the rows, and a value that half the customers share (one order) gets one score.

Segments follow the R-by-F grid that marketing tools and tutorials share (see
`SEGMENT_GRID`): a convention of practice, not an academic result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from rolodex.exceptions import InputError

__all__ = [
    "RFM_SEGMENTS",
    "SEGMENT_GRID",
    "RfmResult",
    "prepare_orders",
    "rfm",
]

# The segments in report order: best customers first, lost ones last.
RFM_SEGMENTS: tuple[str, ...] = (
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Cannot lose them",
    "Hibernating",
    "Lost",
)

# Segment of each (R score, F score) cell. This is the 5x5 grid of the widely copied
# regex map ("[1-2][1-2]" Hibernating, "[1-2][3-4]" At risk, "[1-2]5" Cannot lose them,
# "3[1-2]" About to sleep, "33" Need attention, "[3-4][4-5]" Loyal, "41" Promising,
# "51" New customers, "[4-5][2-3]" Potential loyalist, "5[4-5]" Champions), with its
# Hibernating block split by recency into Hibernating (R=2) and Lost (R=1) to give the
# 11 names of the common marketing-tool list (Putler's RFM segments and its copies).
# Monetary value is scored and reported but does not move a customer between segments.
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    # R  F=1               F=2                   F=3                   F=4          F=5
    5: ("New customers",  "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising",      "Potential loyalist", "Potential loyalist", "Loyal",     "Loyal"),
    3: ("About to sleep", "About to sleep",     "Need attention",     "Loyal",     "Loyal"),
    2: ("Hibernating",    "Hibernating",        "At risk",            "At risk",
        "Cannot lose them"),
    1: ("Lost",           "Lost",               "At risk",            "At risk",
        "Cannot lose them"),
}  # fmt: skip

_REQUIRED = ("contact_id", "ordered_at", "amount")
_SCORES = 5


@dataclass(frozen=True, slots=True)
class RfmResult:
    """RFM measures, scores and segments of every contact who ordered on or before `as_of`.

    Attributes:
        contacts: one row per contact, sorted by `contact_id`: `contact_id`, `recency_days`,
            `frequency`, `monetary`, `r_score`, `f_score`, `m_score` (1-5, 5 best),
            `rfm_score` ("545") and `segment`.
        segments: one row per name in `RFM_SEGMENTS`, in that order (empty ones included):
            `segment`, `contacts`, `share` (of all scored contacts), `mean_monetary`
            (null when empty).
        grid: contacts per R and F score for a heatmap: `r_score` 5 down to 1, then
            `f1` ... `f5`; every cell present.
        score_ranges: what each score means in the data: `measure` ("recency_days",
            "frequency", "monetary"), `score`, `contacts`, `min`, `max`.
        as_of: the day the measures are taken on.
        orders: the number of orders counted (on or before `as_of`).
    """

    contacts: pl.DataFrame
    segments: pl.DataFrame
    grid: pl.DataFrame
    score_ranges: pl.DataFrame
    as_of: date
    orders: int

    def to_json(self, *, contacts: bool = False) -> dict[str, Any]:
        """Return a JSON-ready summary; per-contact rows only when asked (they can be many)."""
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "orders": self.orders,
            "contacts": self.contacts.height,
            "monetary_total": float(self.contacts["monetary"].sum()),
            "segments": self.segments.to_dicts(),
            "grid": {
                "r_scores": self.grid["r_score"].to_list(),
                "f_scores": list(range(1, _SCORES + 1)),
                "counts": [list(row) for row in self.grid.drop("r_score").rows()],
            },
            "score_ranges": self.score_ranges.to_dicts(),
        }
        if contacts:
            out["rows"] = self.contacts.to_dicts()
        return out


def prepare_orders(orders: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Check an orders frame and return `contact_id`, `order_date`, `amount` up to `as_of`.

    Times are taken as UTC (aware ones converted, naive ones assumed UTC) and reduced to the
    calendar day; a null amount becomes 0; rows without a contact or a time are dropped,
    since they belong to nobody or to no day.

    Raises:
        InputError: a column is missing or has an unusable type, or no order is left.
    """
    missing = [name for name in _REQUIRED if name not in orders.columns]
    if missing:
        raise InputError(
            f"the orders frame lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(_REQUIRED)} (one row per order)"
        )
    stamp = orders.schema["ordered_at"]
    day: pl.Expr
    if isinstance(stamp, pl.Datetime):
        day = pl.col("ordered_at")
        if stamp.time_zone is not None:
            day = day.dt.convert_time_zone("UTC")
        day = day.dt.date()
    elif isinstance(stamp, pl.Date):
        day = pl.col("ordered_at")
    else:
        raise InputError(
            f"ordered_at is {stamp}, not a date or datetime; parse it first "
            "(for example with str.to_datetime())",
            column="ordered_at",
        )
    if not orders.schema["amount"].is_numeric():
        raise InputError(
            f"amount is {orders.schema['amount']}, not a number; cast it to Float64 first",
            column="amount",
        )
    if not orders.schema["contact_id"].is_integer():
        raise InputError(
            f"contact_id is {orders.schema['contact_id']}, not an integer id",
            column="contact_id",
        )
    out = (
        orders.lazy()
        .select(
            pl.col("contact_id").cast(pl.Int64),
            day.alias("order_date"),
            pl.col("amount").cast(pl.Float64).fill_null(0.0),
        )
        .filter(
            pl.col("contact_id").is_not_null()
            & pl.col("order_date").is_not_null()
            & (pl.col("order_date") <= as_of)
        )
        .collect()
    )
    if out.height == 0:
        raise InputError(
            f"no orders on or before {as_of.isoformat()} (of {orders.height} rows given); "
            "choose a later as_of date or import orders first"
        )
    return out


def _score(column: str, *, higher_is_better: bool, n: int) -> pl.Expr:
    """Score 1-5 by the share of contacts strictly worse than this one (ties share a score)."""
    # rank "min" ranks worst first; rank - 1 is then the number of contacts strictly worse.
    worse = pl.col(column).rank("min", descending=not higher_is_better).cast(pl.Int64) - 1
    return (worse * _SCORES // n + 1).cast(pl.Int8)


def rfm(orders: pl.DataFrame, *, as_of: date) -> RfmResult:
    """Measure, score and segment every contact by their orders on or before `as_of`.

    Measures per contact:

    - `recency_days`: days from the contact's last order to `as_of` (0 = ordered that day).
    - `frequency`: the number of orders, one per row: two orders on the same day count
      twice, as a CRM's order count shows them. Pass one row per order, not per line item.
    - `monetary`: the sum of `amount` (null as 0; refunds as negative amounts reduce it).

    Scores (1-5, 5 best: most recent, most frequent, highest spend) are rank-based
    quintiles: a contact scores `1 + floor(5 * w / n)`, where `w` is the number of the `n`
    contacts with a strictly worse value. So a contact scores 5 when at least 80 % of the
    contacts are strictly worse, and contacts with equal values always get the same score,
    whatever the row order: when every contact ordered once, every `f_score` is 1. Without
    ties the five scores hold n/5 contacts each; a tie is kept whole in the score where it
    starts, so a large tie (one-time buyers) leaves the scores above it fuller and can leave
    a score empty. Monetary values are compared rounded to 6 decimals so that float noise
    from summation order cannot split a tie.

    The segment comes from the R and F scores through `SEGMENT_GRID`.

    Args:
        orders: one row per order with `contact_id`, `ordered_at`, `amount`.
        as_of: the day to measure on; later orders are ignored.

    Returns:
        The per-contact frame with segment counts, the R-by-F grid and score ranges.

    Raises:
        InputError: a required column is missing or unusable, or no order is on or before
            `as_of`.

    Examples:
        >>> from datetime import datetime
        >>> orders = pl.DataFrame({
        ...     "contact_id": [1, 1, 2],
        ...     "ordered_at": [datetime(2024, 1, 5), datetime(2024, 3, 1), datetime(2024, 2, 1)],
        ...     "amount": [10.0, 20.0, 5.0],
        ... })
        >>> rfm(orders, as_of=date(2024, 3, 31)).contacts["frequency"].to_list()
        [2, 1]
    """
    prepared = prepare_orders(orders, as_of=as_of)
    measures = (
        prepared.lazy()
        # Sorted first so that the float sums, and so the scores, do not depend on row order.
        .sort("contact_id", "amount")
        .group_by("contact_id", maintain_order=True)
        .agg(
            (pl.lit(as_of) - pl.col("order_date").max()).dt.total_days().alias("recency_days"),
            pl.len().cast(pl.Int64).alias("frequency"),
            pl.col("amount").sum().alias("monetary"),
        )
        .collect()
    )
    n = measures.height
    grid_cells = pl.DataFrame(
        {
            "r_score": [r for r in SEGMENT_GRID for _ in range(_SCORES)],
            "f_score": [f for _ in SEGMENT_GRID for f in range(1, _SCORES + 1)],
            "segment": [name for r in SEGMENT_GRID for name in SEGMENT_GRID[r]],
        },
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "segment": pl.Utf8},
    )
    contacts = (
        measures.lazy()
        .with_columns(pl.col("recency_days").cast(pl.Int64), _rounded_monetary())
        .with_columns(
            _score("recency_days", higher_is_better=False, n=n).alias("r_score"),
            _score("frequency", higher_is_better=True, n=n).alias("f_score"),
            _score("monetary_key", higher_is_better=True, n=n).alias("m_score"),
        )
        .drop("monetary_key")
        .with_columns(
            pl.concat_str(
                pl.col("r_score").cast(pl.Utf8),
                pl.col("f_score").cast(pl.Utf8),
                pl.col("m_score").cast(pl.Utf8),
            ).alias("rfm_score")
        )
        .join(grid_cells.lazy(), on=["r_score", "f_score"], how="left")
        .sort("contact_id")
        .collect()
    )
    return RfmResult(
        contacts=contacts,
        segments=_segment_counts(contacts),
        grid=_grid(contacts),
        score_ranges=_score_ranges(contacts),
        as_of=as_of,
        orders=prepared.height,
    )


def _rounded_monetary() -> pl.Expr:
    """Return the monetary value rounded for ranking only."""
    return pl.col("monetary").round(6).alias("monetary_key")


def _segment_counts(contacts: pl.DataFrame) -> pl.DataFrame:
    """Count contacts and mean spend per segment, every segment listed in report order."""
    names = pl.DataFrame({"segment": list(RFM_SEGMENTS)})
    counted = contacts.group_by("segment").agg(
        pl.len().cast(pl.Int64).alias("contacts"),
        pl.col("monetary").mean().alias("mean_monetary"),
    )
    return (
        names.join(counted, on="segment", how="left", maintain_order="left")
        .with_columns(pl.col("contacts").fill_null(0))
        .with_columns((pl.col("contacts") / contacts.height).alias("share"))
        .select("segment", "contacts", "share", "mean_monetary")
    )


def _grid(contacts: pl.DataFrame) -> pl.DataFrame:
    """Count contacts per R score (rows, 5 first) and F score (columns f1..f5)."""
    counted = contacts.group_by("r_score", "f_score").agg(pl.len())
    cells = {(int(r), int(f)): int(k) for r, f, k in counted.iter_rows()}
    rows = range(_SCORES, 0, -1)
    return pl.DataFrame(
        {
            "r_score": pl.Series(list(rows), dtype=pl.Int8),
            **{
                f"f{f}": pl.Series([cells.get((r, f), 0) for r in rows], dtype=pl.Int64)
                for f in range(1, _SCORES + 1)
            },
        }
    )


def _score_ranges(contacts: pl.DataFrame) -> pl.DataFrame:
    """Say which values each score stands for, per measure."""
    parts = [
        contacts.group_by(score)
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            pl.col(measure).min().cast(pl.Float64).alias("min"),
            pl.col(measure).max().cast(pl.Float64).alias("max"),
        )
        .select(
            pl.lit(measure).alias("measure"),
            pl.col(score).alias("score"),
            "contacts",
            "min",
            "max",
        )
        .sort("score")
        for measure, score in (
            ("recency_days", "r_score"),
            ("frequency", "f_score"),
            ("monetary", "m_score"),
        )
    ]
    return pl.concat(parts)
