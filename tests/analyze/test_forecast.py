"""Pipeline-weighted and time-series sales forecasts on hand-made deals, series and CDNOW."""

from __future__ import annotations

import json
import math
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy import stats

from rolodex.analyze import forecast as forecast_module
from rolodex.analyze.forecast import (
    DEFAULT_STAGE_PROBABILITIES,
    pipeline_forecast,
    revenue_forecast,
    stage_key,
)
from rolodex.exceptions import InputError

CDNOW = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_sample_transactions.csv"
AS_OF = date(2024, 3, 15)
FloatArray = npt.NDArray[np.float64]
Z95 = float(stats.norm.ppf(0.975))

DEAL_SCHEMA: dict[str, pl.DataType] = {
    "deal_id": pl.Int64(),
    "stage": pl.Utf8(),
    "amount": pl.Float64(),
    "probability": pl.Float64(),
    "expected_close_date": pl.Date(),
    "is_won": pl.Boolean(),
    "closed_at": pl.Datetime("us", "UTC"),
}


def make_deals(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Build a deals frame; keys a row leaves out are null."""
    return pl.DataFrame(
        [{name: row.get(name) for name in DEAL_SCHEMA} for row in rows], schema=DEAL_SCHEMA
    )


def sample_deals() -> pl.DataFrame:
    """Eleven deals: nine open (one overdue, one undated, one without probability), two closed."""
    return make_deals(
        [
            {"deal_id": 1, "stage": "Appointment Scheduled", "amount": 1000.0,
             "expected_close_date": date(2024, 3, 20)},
            {"deal_id": 2, "stage": "  CONTRACT_SENT ", "amount": 2000.0,
             "expected_close_date": date(2024, 3, 31)},
            {"deal_id": 3, "stage": "Negotiation/Review", "amount": 500.0,
             "expected_close_date": date(2024, 4, 5)},
            {"deal_id": 4, "stage": "proposal / price quote", "amount": 400.0,
             "expected_close_date": date(2024, 4, 30)},
            {"deal_id": 5, "stage": "Id. Decision Makers", "amount": 1000.0,
             "expected_close_date": date(2024, 5, 2)},
            {"deal_id": 6, "stage": "Custom Stage", "amount": 300.0,
             "expected_close_date": date(2024, 5, 10)},
            {"deal_id": 7, "stage": "Prospecting", "amount": 100.0, "probability": 0.5,
             "expected_close_date": date(2024, 5, 31)},
            {"deal_id": 8, "stage": "qualifiedtobuy", "amount": 250.0,
             "expected_close_date": date(2024, 2, 10)},
            {"deal_id": 9, "stage": "Closed Won", "amount": 999.0, "is_won": True,
             "expected_close_date": date(2024, 3, 1)},
            {"deal_id": 10, "stage": "Value Proposition", "amount": 800.0, "is_won": False,
             "closed_at": datetime(2024, 3, 2, 12, 0), "expected_close_date": date(2024, 4, 1)},
            {"deal_id": 11, "stage": "Decision maker bought-in", "amount": 600.0},
        ]
    )  # fmt: skip


# --- pipeline-weighted forecast ---------------------------------------------------------------


def test_weighted_totals_by_month_are_exact() -> None:
    result = pipeline_forecast(sample_deals(), as_of=AS_OF)
    table = result.by_month
    assert table["bucket"].to_list() == ["overdue", "2024-03", "2024-04", "2024-05", "undated"]
    assert table["month"].to_list() == [
        None,
        date(2024, 3, 1),
        date(2024, 4, 1),
        date(2024, 5, 1),
        None,
    ]
    assert table["deals"].to_list() == [1, 2, 2, 3, 1]
    assert table["pipeline_amount"].to_list() == [250.0, 3000.0, 900.0, 1400.0, 600.0]
    # 0.4*250; 0.2*1000 + 0.9*2000; 0.9*500 + 0.75*400; 0.6*1000 + 0.5*100 (+ no p); 0.8*600
    assert table["weighted_amount"].to_list() == pytest.approx([100.0, 2000.0, 750.0, 650.0, 480.0])
    assert table["commit_amount"].to_list() == [0.0, 2000.0, 500.0, 0.0, 0.0]
    assert table["best_case_amount"].to_list() == [0.0, 2000.0, 900.0, 1000.0, 600.0]
    assert table["deals_without_probability"].to_list() == [0, 0, 0, 1, 0]
    assert table["amount_without_probability"].to_list() == [0.0, 0.0, 0.0, 300.0, 0.0]
    # Bernoulli variance sum p(1-p)a^2
    variances = [
        0.4 * 0.6 * 250**2,
        0.2 * 0.8 * 1000**2 + 0.9 * 0.1 * 2000**2,
        0.9 * 0.1 * 500**2 + 0.75 * 0.25 * 400**2,
        0.6 * 0.4 * 1000**2 + 0.5 * 0.5 * 100**2,
        0.8 * 0.2 * 600**2,
    ]
    assert table["std"].to_list() == pytest.approx([math.sqrt(v) for v in variances])
    march = table.row(1, named=True)
    assert march["lower"] == pytest.approx(2000.0 - Z95 * math.sqrt(520_000.0))
    # 2000 + 1.96 * 721 = 3413 is more than both March deals together: the bound is 3000
    assert march["upper"] == 3000.0
    # the bounds stay within what can happen: 0 .. the amount of the weighted deals
    overdue = table.row(0, named=True)
    assert overdue["lower"] == 0.0
    assert overdue["upper"] == pytest.approx(250.0)


def test_totals_and_counts() -> None:
    result = pipeline_forecast(sample_deals(), as_of=AS_OF)
    assert (result.open_deals, result.closed_deals) == (9, 2)
    assert result.pipeline_amount == pytest.approx(6150.0)
    assert result.weighted_amount == pytest.approx(3980.0)
    assert result.commit_amount == pytest.approx(2500.0)
    assert result.best_case_amount == pytest.approx(4500.0)
    assert result.deals_without_probability == 1
    assert result.amount_without_probability == 300.0
    std = math.sqrt(sum(result.by_month["std"].to_numpy() ** 2))
    assert std == pytest.approx(math.sqrt(887_600.0))
    assert result.lower == pytest.approx(3980.0 - Z95 * std)
    assert result.upper == pytest.approx(3980.0 + Z95 * std)  # 5826, under the 5850 maximum
    assert any("1 open deal(s) have no probability" in note for note in result.notes)
    assert any("overdue" in note for note in result.notes)
    missing = result.deals.filter(pl.col("probability").is_null())
    assert missing.select("deal_id", "stage", "amount").rows() == [(6, "Custom Stage", 300.0)]


def test_probability_sources_in_order_deal_mapping_default() -> None:
    result = pipeline_forecast(
        sample_deals(),
        as_of=AS_OF,
        stage_probabilities={"custom stage": 0.3, "PROSPECTING": 0.05, "Contract Sent": 0.7},
    )
    by_id = {row["deal_id"]: row for row in result.deals.to_dicts()}
    assert (by_id[7]["probability"], by_id[7]["probability_source"]) == (0.5, "deal")
    assert (by_id[6]["probability"], by_id[6]["probability_source"]) == (
        0.3,
        "stage_probabilities",
    )
    assert (by_id[2]["probability"], by_id[2]["probability_source"]) == (
        0.7,
        "stage_probabilities",
    )
    assert (by_id[1]["probability"], by_id[1]["probability_source"]) == (0.2, "default")
    assert result.deals_without_probability == 0
    assert result.weighted_amount == pytest.approx(3980.0 + 0.3 * 300 - 0.2 * 2000)


@pytest.mark.parametrize(
    ("stage", "probability"),
    [
        # HubSpot default pipeline: labels, internal ids, case and spacing variants
        ("Appointment Scheduled", 0.2),
        ("appointmentscheduled", 0.2),
        ("Qualified To Buy", 0.4),
        ("qualified_to_buy", 0.4),
        ("Presentation Scheduled", 0.6),
        ("Decision Maker Bought-In", 0.8),
        ("decisionmakerboughtin", 0.8),
        ("CONTRACT SENT", 0.9),
        # Salesforce default stages
        ("Prospecting", 0.1),
        ("qualification", 0.1),
        ("Needs Analysis", 0.2),
        ("Value Proposition", 0.5),
        ("Id. Decision Makers", 0.6),
        ("id decision makers", 0.6),
        ("Perception Analysis", 0.7),
        ("Proposal/Price Quote", 0.75),
        ("proposal / price quote", 0.75),
        ("Negotiation/Review", 0.9),
        ("  negotiation-review  ", 0.9),
    ],
)
def test_default_stage_probabilities(stage: str, probability: float) -> None:
    deals = make_deals(
        [{"deal_id": 1, "stage": stage, "amount": 1000.0, "expected_close_date": date(2024, 4, 1)}]
    )
    result = pipeline_forecast(deals, as_of=AS_OF)
    row = result.deals.row(0, named=True)
    assert (row["probability"], row["probability_source"]) == (probability, "default")
    assert result.weighted_amount == pytest.approx(1000.0 * probability)


def test_closed_stage_names_have_their_default_and_are_not_open() -> None:
    assert DEFAULT_STAGE_PROBABILITIES[stage_key("Closed Won")] == 1.0
    assert DEFAULT_STAGE_PROBABILITIES[stage_key("closed-lost")] == 0.0
    deals = make_deals(
        [
            {"deal_id": 1, "stage": "Closed Won", "amount": 10.0},
            {"deal_id": 2, "stage": "Qualification", "amount": 20.0},
        ]
    )
    result = pipeline_forecast(deals, as_of=AS_OF)
    assert (result.open_deals, result.closed_deals) == (1, 1)
    assert any("closed stage" in note for note in result.notes)


def test_percent_probabilities_are_read_as_percent() -> None:
    deals = make_deals(
        [
            {"deal_id": 1, "stage": "x", "amount": 100.0, "probability": 20.0,
             "expected_close_date": date(2024, 4, 1)},
            {"deal_id": 2, "stage": "y", "amount": 200.0, "probability": 75.0,
             "expected_close_date": date(2024, 4, 9)},
            {"deal_id": 3, "stage": "z", "amount": 300.0, "probability": 0.0,
             "expected_close_date": date(2024, 4, 9)},
        ]
    )  # fmt: skip
    result = pipeline_forecast(deals, as_of=AS_OF)
    assert result.deals.sort("deal_id")["probability"].to_list() == [0.2, 0.75, 0.0]
    assert result.weighted_amount == pytest.approx(20.0 + 150.0)
    assert any("percentages" in note for note in result.notes)


def test_minimal_frame_is_all_open_and_undated() -> None:
    deals = pl.DataFrame(
        {"deal_id": ["a", "b"], "stage": ["Contract Sent", "Prospecting"], "amount": [100.0, 50.0]}
    )
    result = pipeline_forecast(deals, as_of=AS_OF)
    assert result.by_month["bucket"].to_list() == ["undated"]
    assert result.weighted_amount == pytest.approx(95.0)
    assert result.commit_amount == 100.0


def test_pipeline_to_json() -> None:
    document = json.loads(
        json.dumps(pipeline_forecast(sample_deals(), as_of=AS_OF).to_json(), allow_nan=False)
    )
    assert document["as_of"] == "2024-03-15"
    assert document["by_month"][1]["month"] == "2024-03-01"
    assert document["by_month"][0]["month"] is None
    assert document["weighted_amount"] == pytest.approx(3980.0)
    assert document["deals_without_probability"] == 1


def test_pipeline_errors() -> None:
    with pytest.raises(InputError, match="stage, amount"):
        pipeline_forecast(pl.DataFrame({"deal_id": [1]}), as_of=AS_OF)
    with pytest.raises(InputError, match="negative"):
        pipeline_forecast(make_deals([{"deal_id": 1, "stage": "x", "amount": -5.0}]), as_of=AS_OF)
    with pytest.raises(InputError, match=r"0\.\.100"):
        pipeline_forecast(
            make_deals([{"deal_id": 1, "stage": "x", "amount": 5.0, "probability": 120.0}]),
            as_of=AS_OF,
        )
    with pytest.raises(InputError, match="repeat"):
        pipeline_forecast(
            make_deals([{"deal_id": 1, "stage": "x", "amount": 5.0}] * 2), as_of=AS_OF
        )
    with pytest.raises(InputError, match="fraction"):
        pipeline_forecast(sample_deals(), as_of=AS_OF, stage_probabilities={"x": 40.0})
    text_dates = sample_deals().with_columns(pl.col("expected_close_date").cast(pl.Utf8))
    with pytest.raises(InputError, match="expected_close_date"):
        pipeline_forecast(text_dates, as_of=AS_OF)


# --- revenue time-series forecast -------------------------------------------------------------


def monthly_orders(revenue: FloatArray, *, start: date = date(2020, 1, 1)) -> pl.DataFrame:
    """Two orders on the 3rd and 20th of each month that add up to the given revenue."""
    months = pl.date_range(start, start, "1mo", eager=True)
    months = pl.date_range(
        start, months.dt.offset_by(f"{len(revenue) - 1}mo")[0], "1mo", eager=True
    )
    return pl.DataFrame(
        {
            "ordered_at": pl.concat([months.dt.offset_by("2d"), months.dt.offset_by("19d")]),
            "amount": np.concatenate([0.25 * revenue, 0.75 * revenue]),
        }
    )


def test_linear_trend_is_followed_with_intervals_around_it() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(18)
    revenue = 10_000 + 500 * t + rng.normal(0, 100, len(t))
    result = revenue_forecast(monthly_orders(revenue), as_of=date(2021, 6, 30))
    assert result.model.startswith("ETS(A,A,N)")
    assert result.last_complete_month == date(2021, 6, 1)
    assert result.history.height == 18
    assert result.history["revenue"].to_numpy() == pytest.approx(revenue)
    assert result.forecast["month"].to_list() == [date(2021, m, 1) for m in range(7, 13)]
    truth = 10_000 + 500 * np.arange(18, 24)
    forecast = result.forecast
    assert forecast["forecast"].to_numpy() == pytest.approx(truth, rel=0.01)
    assert (forecast["lower"].to_numpy() < truth).all()
    assert (truth < forecast["upper"].to_numpy()).all()


def test_intervals_widen_with_the_horizon() -> None:
    rng = np.random.default_rng(0)
    # a drifting random walk: the further ahead, the less we know (with the level smoothing
    # near 1 the width grows like sqrt(h): 8 months ahead about 2.8 times the first month's)
    revenue = 10_000 + np.cumsum(300 + rng.normal(0, 400, 20))
    result = revenue_forecast(monthly_orders(revenue), as_of=date(2021, 8, 31), horizon_months=8)
    width = (result.forecast["upper"] - result.forecast["lower"]).to_numpy()
    assert (np.diff(width) > 0).all()
    assert width[-1] > 2 * width[0]
    forecast = result.forecast["forecast"].to_numpy()
    assert (result.forecast["lower"].to_numpy() <= forecast).all()
    assert (forecast <= result.forecast["upper"].to_numpy()).all()


def test_seasonal_series_with_24_months_or_more() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(36, dtype=np.float64)

    def truth(months: FloatArray) -> FloatArray:
        return np.asarray(5_000.0 + 50 * months + 1_000 * np.sin(2 * np.pi * months / 12))

    revenue = truth(t) + rng.normal(0, 100, len(t))
    result = revenue_forecast(monthly_orders(revenue), as_of=date(2022, 12, 31), horizon_months=12)
    assert result.model.startswith("ETS(A,A,A) m=12")
    ahead = truth(np.arange(36, 48, dtype=np.float64))
    forecast = result.forecast["forecast"].to_numpy()
    assert forecast == pytest.approx(ahead, rel=0.05)
    # the season is there: peak in April (t = 39), trough in October (t = 45)
    assert int(np.argmax(forecast)) in (2, 3, 4)
    assert int(np.argmin(forecast)) in (8, 9, 10)
    inside = (result.forecast["lower"].to_numpy() <= ahead) & (
        ahead <= result.forecast["upper"].to_numpy()
    )
    assert inside.mean() >= 0.75


@pytest.mark.parametrize(
    ("months", "model"),
    [
        (24, "ETS(A,A,A)"),
        (23, "ETS(A,A,N)"),
        (10, "ETS(A,A,N)"),
        (9, "ETS(A,N,N)"),
        (3, "ETS(A,N,N)"),
    ],
)
def test_model_grows_with_history(months: int, model: str) -> None:
    rng = np.random.default_rng(months)
    revenue = 1_000 + 20 * np.arange(months) + rng.normal(0, 50, months)
    last = date(2020 + (months - 1) // 12, (months - 1) % 12 + 1, 1)
    as_of = pl.Series([last]).dt.month_end()[0]
    result = revenue_forecast(monthly_orders(revenue), as_of=as_of, horizon_months=2)
    assert result.model.startswith(model)
    assert result.history.height == months
    assert result.forecast.height == 2


def test_cdnow_sample_six_months_ahead() -> None:
    orders = pl.read_csv(CDNOW, try_parse_dates=True).rename({"date": "ordered_at"})
    result = revenue_forecast(orders, as_of=date(1998, 6, 30))
    assert result.history["month"].to_list()[0] == date(1997, 1, 1)
    assert result.history.height == 18
    assert result.history["revenue"].sum() == pytest.approx(orders["amount"].sum())
    assert result.history["revenue"][0] == pytest.approx(28_592.70)
    forecast = result.forecast
    assert forecast["month"].to_list() == [
        date(1998, 7, 1),
        date(1998, 8, 1),
        date(1998, 9, 1),
        date(1998, 10, 1),
        date(1998, 11, 1),
        date(1998, 12, 1),
    ]
    assert (forecast["lower"] <= forecast["forecast"]).all()
    assert (forecast["forecast"] <= forecast["upper"]).all()
    assert (forecast["lower"] >= 0).all()
    document = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert document["forecast"][0]["month"] == "1998-07-01"
    assert len(document["history"]) == 18


def test_incomplete_month_is_left_out_and_gaps_are_zero() -> None:
    orders = pl.DataFrame(
        {
            "ordered_at": [
                datetime(2023, 1, 5, 10),
                datetime(2023, 3, 9, 23),
                datetime(2023, 4, 1),
                datetime(2023, 5, 2),
                datetime(2023, 6, 1),  # June is not complete on June 29
            ],
            "amount": [100.0, 200.0, 50.0, 80.0, 999.0],
        }
    ).with_columns(pl.col("ordered_at").dt.replace_time_zone("UTC"))
    result = revenue_forecast(orders, as_of=date(2023, 6, 29), horizon_months=1)
    assert result.last_complete_month == date(2023, 5, 1)
    assert result.history.select("month", "revenue").rows() == [
        (date(2023, 1, 1), 100.0),
        (date(2023, 2, 1), 0.0),
        (date(2023, 3, 1), 200.0),
        (date(2023, 4, 1), 50.0),
        (date(2023, 5, 1), 80.0),
    ]
    assert result.forecast["month"].to_list() == [date(2023, 6, 1)]


def test_statsmodels_warnings_become_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = forecast_module.ExponentialSmoothing  # type: ignore[attr-defined]

    def noisy(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("optimizer gave up", RuntimeWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(forecast_module, "ExponentialSmoothing", noisy)
    revenue = np.array([100.0, 140.0, 90.0, 130.0, 120.0])
    result = revenue_forecast(monthly_orders(revenue), as_of=date(2020, 5, 31))
    assert "statsmodels RuntimeWarning: optimizer gave up" in result.notes


def test_revenue_errors() -> None:
    two_months = monthly_orders(np.array([100.0, 200.0]))
    with pytest.raises(InputError, match="2 complete month"):
        revenue_forecast(two_months, as_of=date(2020, 2, 29))
    with pytest.raises(InputError, match="no orders before"):
        revenue_forecast(two_months, as_of=date(2019, 12, 31))
    with pytest.raises(InputError, match="ordered_at"):
        revenue_forecast(two_months.drop("ordered_at"), as_of=date(2020, 6, 30))
    with pytest.raises(InputError, match="horizon_months"):
        revenue_forecast(two_months, as_of=date(2020, 6, 30), horizon_months=0)
    text = two_months.with_columns(pl.col("ordered_at").cast(pl.Utf8))
    with pytest.raises(InputError, match="Date or Datetime"):
        revenue_forecast(text, as_of=date(2020, 6, 30))
