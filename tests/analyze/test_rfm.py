"""RFM measures, rank-based quintile scores and segments, by hand and on the CDNOW sample."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from rolodex.analyze.rfm import RFM_SEGMENTS, SEGMENT_GRID, rfm
from rolodex.exceptions import InputError

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample_transactions.csv"
AS_OF = date(2024, 3, 31)


def make_orders(rows: list[tuple[int, datetime | date, float | None]]) -> pl.DataFrame:
    """Build an orders frame from (contact_id, ordered_at, amount) tuples."""
    stamp = pl.Datetime("us", "UTC") if isinstance(rows[0][1], datetime) else pl.Date
    return pl.DataFrame(
        rows,
        schema={"contact_id": pl.Int64, "ordered_at": stamp, "amount": pl.Float64},
        orient="row",
    )


def hand_log() -> pl.DataFrame:
    """Five contacts with known measures, plus orders after the cut-off."""
    return make_orders(
        [
            (1, datetime(2024, 3, 30, 18), 50.0),
            (1, datetime(2024, 3, 1), 30.0),
            (1, datetime(2024, 2, 1), 20.0),
            (2, datetime(2024, 3, 25, 9), 10.0),
            (2, datetime(2024, 3, 25, 17), None),  # same day: a second order, worth 0
            (3, datetime(2024, 1, 10), 200.0),
            (4, datetime(2023, 12, 1), 5.0),
            (4, datetime(2024, 1, 1), 5.0),
            (5, datetime(2023, 6, 30), 40.0),
            (5, datetime(2024, 4, 2), 999.0),  # after as_of: ignored
            (6, datetime(2024, 4, 1), 80.0),  # only after as_of: contact absent
        ]
    )


def cdnow_orders() -> pl.DataFrame:
    """Read the CDNOW sample as an orders frame."""
    return pl.read_csv(CDNOW, try_parse_dates=True).select(
        pl.col("customer_id").alias("contact_id"),
        pl.col("date").alias("ordered_at"),
        pl.col("amount"),
    )


def test_hand_made_log_measures_scores_and_segments() -> None:
    result = rfm(hand_log(), as_of=AS_OF)

    # With n = 5 contacts a score is 1 + the number of contacts strictly worse.
    assert result.contacts.rows() == [
        (1, 1, 3, 100.0, 5, 5, 4, "554", "Champions"),
        (2, 6, 2, 10.0, 4, 3, 1, "431", "Potential loyalist"),
        (3, 81, 1, 200.0, 3, 1, 5, "315", "About to sleep"),
        (4, 90, 2, 10.0, 2, 3, 1, "231", "At risk"),
        (5, 275, 1, 40.0, 1, 1, 3, "113", "Lost"),
    ]
    assert result.contacts.columns == [
        "contact_id",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "segment",
    ]
    assert result.orders == 9
    assert result.as_of == AS_OF


def test_hand_made_log_summaries() -> None:
    result = rfm(hand_log(), as_of=AS_OF)

    assert result.segments["segment"].to_list() == list(RFM_SEGMENTS)
    counts = dict(zip(result.segments["segment"], result.segments["contacts"], strict=True))
    assert counts == {
        name: 1 if name in {"Champions", "Potential loyalist", "About to sleep", "At risk", "Lost"}
        else 0
        for name in RFM_SEGMENTS
    }  # fmt: skip
    champions = result.segments.row(0, named=True)
    assert champions == {
        "segment": "Champions",
        "contacts": 1,
        "share": 0.2,
        "mean_monetary": 100.0,
    }
    assert result.segments.filter(pl.col("contacts") == 0)["mean_monetary"].null_count() == 6

    assert result.grid.rows() == [
        (5, 0, 0, 0, 0, 1),
        (4, 0, 0, 1, 0, 0),
        (3, 1, 0, 0, 0, 0),
        (2, 0, 0, 1, 0, 0),
        (1, 1, 0, 0, 0, 0),
    ]
    frequency = result.score_ranges.filter(pl.col("measure") == "frequency")
    assert frequency.select("score", "contacts", "min", "max").rows() == [
        (1, 2, 1.0, 1.0),
        (3, 2, 2.0, 2.0),
        (5, 1, 3.0, 3.0),
    ]

    document = result.to_json()
    assert document["as_of"] == "2024-03-31"
    assert document["contacts"] == 5
    assert document["monetary_total"] == 360.0
    assert document["grid"]["counts"][0] == [0, 0, 0, 0, 1]
    assert "rows" not in document
    assert len(result.to_json(contacts=True)["rows"]) == 5


def test_segment_grid_covers_every_cell_with_known_names() -> None:
    assert sorted(SEGMENT_GRID) == [1, 2, 3, 4, 5]
    used = {name for row in SEGMENT_GRID.values() for name in row}
    assert used == set(RFM_SEGMENTS)


def test_all_single_orders_share_one_frequency_score() -> None:
    orders = make_orders([(i, date(2024, 1, i), float(i)) for i in range(1, 13)])
    result = rfm(orders, as_of=AS_OF)

    assert result.contacts["f_score"].unique().to_list() == [1]
    # Distinct recencies and amounts spread over all five scores.
    assert sorted(result.contacts["r_score"].unique().to_list()) == [1, 2, 3, 4, 5]
    assert sorted(result.contacts["m_score"].unique().to_list()) == [1, 2, 3, 4, 5]


def test_ties_get_equal_scores_whatever_the_row_order() -> None:
    orders = cdnow_orders()
    first = rfm(orders, as_of=date(1997, 9, 30)).contacts
    shuffled = rfm(orders.sample(fraction=1.0, shuffle=True, seed=7), as_of=date(1997, 9, 30))

    assert shuffled.contacts.equals(first)
    for measure, score in (
        ("recency_days", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        per_value = first.group_by(measure).agg(pl.col(score).n_unique())
        assert per_value[score].max() == 1, measure


def test_cut_off_and_time_zones() -> None:
    # 23:30 in New York on 31 March is 03:30 UTC on 1 April: after as_of.
    late = pl.Series([datetime(2024, 3, 31, 23, 30)]).dt.replace_time_zone("America/New_York")
    early = pl.Series([datetime(2024, 3, 31, 19, 0)]).dt.replace_time_zone("America/New_York")
    orders = pl.DataFrame(
        {
            "contact_id": [1, 2],
            "ordered_at": pl.concat([late, early]),
            "amount": [5.0, 7.0],
        }
    )
    result = rfm(orders, as_of=AS_OF)
    assert result.contacts.select("contact_id", "recency_days", "monetary").rows() == [(2, 0, 7.0)]

    earlier = rfm(hand_log(), as_of=date(2024, 1, 1))
    assert earlier.contacts.select("contact_id", "recency_days", "frequency").rows() == [
        (4, 0, 2),
        (5, 185, 1),
    ]


def test_naive_datetimes_and_dates_give_the_same_result() -> None:
    aware = hand_log()
    naive = aware.with_columns(pl.col("ordered_at").dt.replace_time_zone(None))
    days = aware.with_columns(pl.col("ordered_at").dt.date())
    expected = rfm(aware, as_of=AS_OF).contacts
    assert rfm(naive, as_of=AS_OF).contacts.equals(expected)
    assert rfm(days, as_of=AS_OF).contacts.equals(expected)


def test_cdnow_sample_totals_and_quintiles() -> None:
    as_of = date(1997, 9, 30)
    spent: dict[int, float] = defaultdict(float)
    orders_per_customer: Counter[int] = Counter()
    with CDNOW.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if date.fromisoformat(row["date"]) <= as_of:
                spent[int(row["customer_id"])] += float(row["amount"])
                orders_per_customer[int(row["customer_id"])] += 1

    result = rfm(cdnow_orders(), as_of=as_of)
    contacts = result.contacts
    n = contacts.height

    assert n == 2357 == len(spent)
    assert result.orders == sum(orders_per_customer.values())
    assert contacts["monetary"].sum() == pytest.approx(sum(spent.values()), abs=1e-6)
    assert dict(contacts.select("contact_id", "frequency").iter_rows()) == orders_per_customer
    assert result.segments["contacts"].sum() == n
    assert result.segments["share"].sum() == pytest.approx(1.0)
    assert sum(sum(row) for row in result.to_json()["grid"]["counts"]) == n

    for measure, score, higher_is_better in (
        ("recency_days", "r_score", False),
        ("frequency", "f_score", True),
        ("monetary", "m_score", True),
    ):
        values = contacts[measure].to_list()
        worst_first = sorted(values, reverse=not higher_is_better)
        for k in range(1, 5):
            # Scores up to k hold exactly the contacts no better than the one at the k/5 cut.
            cut = worst_first[math.ceil(k * n / 5) - 1]
            at_or_below = sum(1 for v in values if (v <= cut if higher_is_better else v >= cut))
            assert (contacts[score] <= k).sum() == at_or_below, (measure, k)
        if measure != "frequency":
            # Few ties: every score holds close to a fifth of the customers.
            sizes = contacts[score].value_counts()["count"].to_list()
            assert len(sizes) == 5
            assert all(abs(size - n / 5) < 0.05 * n for size in sizes), (measure, sizes)

    # Most customers bought once: they share the lowest frequency score.
    one_timers = sum(1 for count in orders_per_customer.values() if count == 1)
    assert (contacts["f_score"] == 1).sum() == one_timers == 1398


def test_missing_columns_are_named() -> None:
    orders = hand_log().drop("amount", "ordered_at")
    with pytest.raises(InputError, match="ordered_at, amount"):
        rfm(orders, as_of=AS_OF)


def test_no_orders_before_as_of() -> None:
    with pytest.raises(InputError, match="no orders on or before 2023-01-01"):
        rfm(hand_log(), as_of=date(2023, 1, 1))


def test_text_timestamps_are_refused() -> None:
    orders = hand_log().with_columns(pl.col("ordered_at").dt.to_string())
    with pytest.raises(InputError, match="ordered_at"):
        rfm(orders, as_of=AS_OF)
