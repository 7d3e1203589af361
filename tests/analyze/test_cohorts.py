"""Cohort tables by hand and on CDNOW; the sBG model against Fader & Hardie (2007)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from rolodex.analyze.cohorts import (
    CohortResult,
    cohorts,
    fit_sbg,
    fit_sbg_from_cohorts,
)
from rolodex.exceptions import InputError

DATA = Path(__file__).parents[1] / "data"
CDNOW = DATA / "cdnow" / "cdnow_sample_transactions.csv"
SBG = DATA / "sbg_retention" / "sbg_retention.csv"
AS_OF = date(2024, 3, 15)


def hand_log() -> pl.DataFrame:
    """Five customers in three monthly cohorts, plus orders after the cut-off."""
    return pl.DataFrame(
        [
            (1, datetime(2024, 1, 5), 10.0),
            (1, datetime(2024, 1, 20), 5.0),
            (1, datetime(2024, 3, 1), 20.0),
            (2, datetime(2024, 1, 31, 23), 7.0),
            (3, datetime(2024, 2, 10), 3.0),
            (3, datetime(2024, 2, 11), 4.0),
            (4, datetime(2024, 2, 29), None),
            (4, datetime(2024, 3, 10), 8.0),
            (5, datetime(2024, 3, 15, 12), 6.0),
            (5, datetime(2024, 3, 16), 100.0),  # after as_of: ignored
            (6, datetime(2024, 4, 1), 50.0),  # only after as_of: in no cohort
        ],
        schema={"contact_id": pl.Int64, "ordered_at": pl.Datetime("us"), "amount": pl.Float64},
        orient="row",
    )


def cdnow_orders() -> pl.DataFrame:
    """Read the CDNOW sample as an orders frame."""
    return pl.read_csv(CDNOW, try_parse_dates=True).select(
        pl.col("customer_id").alias("contact_id"),
        pl.col("date").alias("ordered_at"),
        pl.col("amount"),
    )


def paper_counts(column: str, years: int) -> list[int]:
    """Return a column of the Fader & Hardie (2007) table for years 0..`years`."""
    with SBG.open(newline="") as handle:
        return [int(row[column]) for row in csv.DictReader(handle)][: years + 1]


def test_hand_made_cohort_table() -> None:
    result = cohorts(hand_log(), as_of=AS_OF)

    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    assert result.table.rows() == [
        # cohort, offset, period, size, active, retention, revenue, per member, alive, complete
        (jan, 0, jan, 2, 2, 1.0, 22.0, 11.0, 2, True),
        (jan, 1, feb, 2, 0, 0.0, 0.0, 0.0, 1, True),
        (jan, 2, mar, 2, 1, 0.5, 20.0, 10.0, 1, False),
        (feb, 0, feb, 2, 2, 1.0, 7.0, 3.5, 2, True),
        (feb, 1, mar, 2, 1, 0.5, 8.0, 4.0, 1, False),
        (mar, 0, mar, 1, 1, 1.0, 6.0, 6.0, 1, False),
    ]
    assert result.table.columns == [
        "cohort",
        "offset",
        "period",
        "size",
        "active",
        "retention",
        "revenue",
        "revenue_per_member",
        "alive",
        "is_complete",
    ]
    # Offsets after as_of are absent from the table and null in the heatmap, not zero.
    assert result.retention.columns == ["cohort", "size", "0", "1", "2"]
    assert result.retention.rows() == [
        (jan, 2, 1.0, 0.0, 0.5),
        (feb, 2, 1.0, 0.5, None),
        (mar, 1, 1.0, None, None),
    ]

    document = result.to_json()
    assert document["customers"] == 5
    assert document["cohorts"][1] == {
        "cohort": "2024-02-01",
        "size": 2,
        "offset": [0, 1],
        "active": [2, 1],
        "retention": [1.0, 0.5],
        "revenue": [7.0, 8.0],
        "revenue_per_member": [3.5, 4.0],
        "alive": [2, 1],
        "is_complete": [True, False],
    }


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # week: Monday 1 Jan 2024 to the week of Monday 11 March (as_of is a Friday)
        ("week", [(date(2024, 1, 1), 1), (date(2024, 1, 29), 1), (date(2024, 2, 5), 1),
                  (date(2024, 2, 26), 1), (date(2024, 3, 11), 1)]),
        ("quarter", [(date(2024, 1, 1), 5)]),
        ("year", [(date(2024, 1, 1), 5)]),
    ],
)  # fmt: skip
def test_other_periods(period: str, expected: list[tuple[date, int]]) -> None:
    result = cohorts(hand_log(), as_of=AS_OF, period=period)

    assert result.retention.select("cohort", "size").rows() == expected
    last = result.table.filter(pl.col("period") == pl.col("period").max())
    assert not last["is_complete"].any()
    assert result.table["revenue"].sum() == 63.0


def test_cdnow_cohorts_match_the_raw_file() -> None:
    as_of = date(1998, 6, 30)
    first: dict[int, tuple[int, int]] = {}
    orders: list[tuple[int, tuple[int, int], float]] = []
    with CDNOW.open(newline="") as handle:
        for row in csv.DictReader(handle):
            day = date.fromisoformat(row["date"])
            customer, month = int(row["customer_id"]), (day.year, day.month)
            orders.append((customer, month, float(row["amount"])))
            first[customer] = min(first.get(customer, month), month)
    sizes = Counter(first.values())
    active: dict[tuple[tuple[int, int], int], set[int]] = defaultdict(set)
    for customer, (year, number), _ in orders:
        start = first[customer]
        active[(start, (year - start[0]) * 12 + number - start[1])].add(customer)

    result = cohorts(cdnow_orders(), as_of=as_of)
    table = result.table

    assert result.retention["cohort"].to_list() == [
        date(1997, 1, 1),
        date(1997, 2, 1),
        date(1997, 3, 1),
    ]
    assert result.retention["size"].to_list() == [
        sizes[(1997, 1)],
        sizes[(1997, 2)],
        sizes[(1997, 3)],
    ]
    assert result.retention["size"].sum() == 2357
    assert table.filter(pl.col("offset") == 0)["retention"].to_list() == [1.0, 1.0, 1.0]
    # January runs to June 1998 (offsets 0-17), March to offset 15; June 1998 is complete.
    assert table.group_by("cohort").agg(pl.col("offset").max()).sort("cohort")[
        "offset"
    ].to_list() == [17, 16, 15]
    assert table["is_complete"].all()
    assert table["revenue"].sum() == pytest.approx(sum(amount for *_, amount in orders))
    for cohort, offset, size, count in table.select(
        "cohort", "offset", "size", "active"
    ).iter_rows():
        assert count == len(active.get(((cohort.year, cohort.month), offset), set()))
        assert size == sizes[(cohort.year, cohort.month)]


@pytest.mark.parametrize(
    ("column", "alpha", "beta", "log_likelihood", "year_12"),
    [
        ("regular_alive", 0.704, 1.182, -1680.3, 170),
        ("highend_alive", 0.668, 3.806, -1611.2, 378),
    ],
)
def test_sbg_reproduces_fader_hardie_2007(
    column: str, alpha: float, beta: float, log_likelihood: float, year_12: int
) -> None:
    fit = fit_sbg(paper_counts(column, 7))

    assert fit.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.beta == pytest.approx(beta, abs=5e-4)
    assert fit.log_likelihood == pytest.approx(log_likelihood, abs=0.05)
    assert fit.cohort_size == 1000
    assert fit.periods == 7
    projected = fit.projected_alive(12)
    assert len(projected) == 13
    assert round(projected[12]) == year_12
    assert projected[0] == pytest.approx(1000.0)
    assert fit.survival(12) * 1000 == pytest.approx(projected[12])
    rates = fit.retention_rates(12)
    assert rates[11] == pytest.approx(projected[12] / projected[11])
    assert list(rates) == sorted(rates)  # retention rises as the churn-prone leave


def test_sbg_from_cohorts_uses_last_active_period() -> None:
    as_of = date(1998, 6, 30)
    first: dict[int, tuple[int, int]] = {}
    last: dict[int, tuple[int, int]] = {}
    with CDNOW.open(newline="") as handle:
        for row in csv.DictReader(handle):
            day = date.fromisoformat(row["date"])
            customer, month = int(row["customer_id"]), (day.year, day.month)
            first[customer] = min(first.get(customer, month), month)
            last[customer] = max(last.get(customer, month), month)
    january = [(last[c][0] - 1997) * 12 + last[c][1] - 1 for c in first if first[c] == (1997, 1)]
    alive = [sum(1 for offset in january if offset >= t) for t in range(7)]

    result = cohorts(cdnow_orders(), as_of=as_of)
    fit = fit_sbg_from_cohorts(result, cohort=date(1997, 1, 1), periods=6)
    direct = fit_sbg(alive)

    assert alive[0] == 781
    assert fit.cohort_size == 781
    assert fit.periods == 6
    assert fit.alpha == pytest.approx(direct.alpha, rel=1e-9)
    assert fit.beta == pytest.approx(direct.beta, rel=1e-9)

    pooled = fit_sbg_from_cohorts(result)
    assert pooled.cohort_size == 2357
    assert pooled.periods == 17


def test_sbg_from_cohorts_errors() -> None:
    result = cohorts(hand_log(), as_of=AS_OF)
    with pytest.raises(InputError, match="no customer churned"):
        # Only January has a complete second month, and there both are still "alive".
        fit_sbg_from_cohorts(
            CohortResult(
                table=result.table.with_columns(pl.lit(2).alias("alive")),
                retention=result.retention,
                as_of=AS_OF,
                period="month",
            )
        )
    with pytest.raises(InputError, match="no cohort has a complete period"):
        fit_sbg_from_cohorts(result, cohort=date(2024, 2, 1))
    with pytest.raises(InputError, match="no cohort starts on 2023-12-01"):
        fit_sbg_from_cohorts(result, cohort=date(2023, 12, 1))


@pytest.mark.parametrize(
    ("alive", "message"),
    [
        ([], "no survivor counts"),
        ([1000], "at least 2 counts"),
        ([1000, 631, 640, 500], r"alive\[2\] = 640 is more than alive\[1\] = 631"),
        ([1000, 1000, 1000], "no customer churned"),
        ([0, 0], "cohort is empty"),
        ([10, 5.5], "whole numbers"),
    ],
)
def test_sbg_rejects_bad_counts(alive: list[int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_sbg(alive)


def test_cohort_errors() -> None:
    with pytest.raises(InputError, match="unknown cohort period 'day'"):
        cohorts(hand_log(), as_of=AS_OF, period="day")
    with pytest.raises(InputError, match="no orders on or before 2023-12-31"):
        cohorts(hand_log(), as_of=date(2023, 12, 31))
    with pytest.raises(InputError, match="contact_id"):
        cohorts(hand_log().drop("contact_id"), as_of=AS_OF)
    with pytest.raises(InputError, match="no orders"):
        cohorts(hand_log().clear(), as_of=AS_OF)
