"""Sales forecasts: what the open pipeline should bring in, and where revenue is heading.

Two questions a sales team asks, answered separately because they rest on different data:

- `pipeline_forecast`: the open deals weighted by their chance of closing, by the month they
  are expected to close. A deal's probability is its own (CRM exports carry one, as a
  fraction or a percentage), else the caller's probability for its stage, else the default
  probability of the stage in HubSpot's or Salesforce's default pipeline. Deals with none of
  these are counted and shown, never silently dropped. Besides the weighted amount each month
  has Salesforce-style forecast categories: *commit* (probability >= 0.9, the Negotiation /
  Contract sent stages) and *best case* (>= 0.6, commit included, from Id. Decision Makers /
  Presentation scheduled on), and an interval from treating the deals as independent
  Bernoulli trials (won with probability p, bringing amount a): the total has variance
  sum p(1-p)a^2 and a normal approximation gives the interval, clipped to what is possible
  (0 to the total amount of the weighted deals). The normal approximation is rough for a
  month with a few large deals; it says how uncertain the number is, not its exact shape.
  Open deals whose expected close date is already past (before `as_of`) go to their own
  ``overdue`` bucket rather than into the current month: a slipped deal is the forecast's
  weakest part, and folding it into this month would inflate the month a manager is about to
  be measured on. Open deals without a date go to ``undated``.
- `revenue_forecast`: monthly revenue from orders, forecast with exponential smoothing in
  statsmodels' state-space form (`statsmodels.tsa.statespace.exponential_smoothing`), which
  fits by maximum likelihood with a Kalman filter and gives analytic prediction intervals
  that widen with the horizon, from plain numpy arrays (the newer `ETSModel` needs a pandas
  index before it gives prediction intervals, and pandas is no dependency of ours). The
  model grows with the history: yearly seasonality only with at least 24 months (two full
  cycles; fewer cannot tell a season from noise), an additive trend from 10 months (Holt's
  linear method needs a few points per parameter), simple exponential smoothing from 3
  months, and an error below that. A month is used only once it is complete at `as_of`;
  months without orders count as zero revenue. Forecasts and bounds are clipped at 0 when the
  history has no negative month. statsmodels' warnings (convergence, start values) are
  caught and returned as notes instead of reaching the console.

A deal is open when `is_won` is null, `closed_at` is null and its stage is not a closed one
("Closed Won", "Closed Lost"). `as_of` places deals in buckets; it does not rewind deals to
an earlier state (the frame is taken to be today's snapshot).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats
from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

from rolodex.exceptions import InputError

__all__ = [
    "BEST_CASE_PROBABILITY",
    "COMMIT_PROBABILITY",
    "DEFAULT_STAGE_PROBABILITIES",
    "MIN_HISTORY_MONTHS",
    "MIN_SEASONAL_MONTHS",
    "MIN_TREND_MONTHS",
    "PipelineForecast",
    "RevenueForecast",
    "pipeline_forecast",
    "revenue_forecast",
    "stage_key",
]

FloatArray = npt.NDArray[np.float64]

# Salesforce's default forecast categories: Negotiation/Review (0.9) is Commit;
# Id. Decision Makers (0.6) up to Proposal/Price Quote (0.75) is Best Case.
COMMIT_PROBABILITY = 0.9
BEST_CASE_PROBABILITY = 0.6

# Default pipelines, keyed by `stage_key` (lower case, letters and digits only), so that
# "Proposal/Price Quote", "proposal price quote" and HubSpot's internal "contractsent" meet.
DEFAULT_STAGE_PROBABILITIES: Mapping[str, float] = {
    # HubSpot default sales pipeline
    "appointmentscheduled": 0.2,
    "qualifiedtobuy": 0.4,
    "presentationscheduled": 0.6,
    "decisionmakerboughtin": 0.8,
    "contractsent": 0.9,
    "closedwon": 1.0,
    "closedlost": 0.0,
    # Salesforce default opportunity stages
    "prospecting": 0.1,
    "qualification": 0.1,
    "needsanalysis": 0.2,
    "valueproposition": 0.5,
    "iddecisionmakers": 0.6,
    "identifydecisionmakers": 0.6,
    "perceptionanalysis": 0.7,
    "proposalpricequote": 0.75,
    "negotiationreview": 0.9,
}
_CLOSED_STAGES = ("closedwon", "closedlost", "won", "lost")

MIN_HISTORY_MONTHS = 3
MIN_TREND_MONTHS = 10
MIN_SEASONAL_MONTHS = 24

OVERDUE = "overdue"
UNDATED = "undated"


def stage_key(stage: str) -> str:
    """Return the lookup key of a stage name: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]+", "", stage.lower())


@dataclass(frozen=True)
class PipelineForecast:
    """Open pipeline weighted by close probability, by expected close month.

    Attributes:
        as_of: The day the forecast is made; deals expected to close before it are overdue.
        confidence: Level of the intervals.
        by_month: One row per bucket, in order ``overdue``, the months, ``undated``:
            ``bucket`` (Utf8: "overdue", "YYYY-MM" or "undated"), ``month`` (Date, first day;
            null for overdue and undated), ``deals``, ``pipeline_amount`` (all open amount),
            ``weighted_amount``, ``commit_amount``, ``best_case_amount``,
            ``deals_without_probability``, ``amount_without_probability``, ``std``,
            ``lower``, ``upper``.
        deals: The open deals: ``deal_id``, ``stage``, ``amount``, ``probability`` (0..1,
            null when none is known), ``probability_source`` ("deal", "stage_probabilities",
            "default" or null), ``expected_close_date``, ``bucket``, ``weighted_amount``.
        open_deals: Number of open deals.
        closed_deals: Number of deals left out as won or lost.
        pipeline_amount: Total open amount.
        weighted_amount: Total probability-weighted amount.
        commit_amount: Open amount with probability >= `COMMIT_PROBABILITY`.
        best_case_amount: Open amount with probability >= `BEST_CASE_PROBABILITY`.
        lower: Lower bound of the total weighted amount.
        upper: Upper bound of the total weighted amount.
        deals_without_probability: Open deals with no probability from any source.
        amount_without_probability: Their amount (in `pipeline_amount`, not weighted).
        notes: What a reader should know.
    """

    as_of: date
    confidence: float
    by_month: pl.DataFrame
    deals: pl.DataFrame
    open_deals: int
    closed_deals: int
    pipeline_amount: float
    weighted_amount: float
    commit_amount: float
    best_case_amount: float
    lower: float
    upper: float
    deals_without_probability: int
    amount_without_probability: float
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready document with the totals, the monthly table and the notes."""
        document: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "confidence": self.confidence,
            "open_deals": self.open_deals,
            "closed_deals": self.closed_deals,
            "pipeline_amount": self.pipeline_amount,
            "weighted_amount": self.weighted_amount,
            "commit_amount": self.commit_amount,
            "best_case_amount": self.best_case_amount,
            "lower": self.lower,
            "upper": self.upper,
            "deals_without_probability": self.deals_without_probability,
            "amount_without_probability": self.amount_without_probability,
            "by_month": _rows(self.by_month),
            "notes": list(self.notes),
        }
        return document


@dataclass(frozen=True)
class RevenueForecast:
    """Monthly revenue history and its forecast with prediction intervals.

    Attributes:
        as_of: The day the forecast is made.
        last_complete_month: First day of the last month of history.
        model: The model fitted, e.g. ``"ETS(A,A,A) m=12"``.
        confidence: Level of the prediction intervals.
        history: ``month`` (Date, first day), ``revenue``, ``fitted`` (one-step-ahead fit).
        forecast: ``month``, ``forecast``, ``lower``, ``upper``.
        parameters: The fitted parameters by statsmodels' names.
        notes: Warnings statsmodels raised while fitting, and other remarks.
    """

    as_of: date
    last_complete_month: date
    model: str
    confidence: float
    history: pl.DataFrame
    forecast: pl.DataFrame
    parameters: Mapping[str, float]
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready document with the model, history, forecast and notes."""
        document: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "last_complete_month": self.last_complete_month.isoformat(),
            "model": self.model,
            "confidence": self.confidence,
            "parameters": dict(self.parameters),
            "history": _rows(self.history),
            "forecast": _rows(self.forecast),
            "notes": list(self.notes),
        }
        return document


def pipeline_forecast(
    deals: pl.DataFrame,
    *,
    as_of: date,
    stage_probabilities: Mapping[str, float] | None = None,
    confidence: float = 0.95,
) -> PipelineForecast:
    """Weight the open deals by their close probability and sum them by expected close month.

    Args:
        deals: One row per deal: ``deal_id``, ``stage`` (Utf8), ``amount`` (Float64), and
            optionally ``probability`` (0..1 or 0..100 for the whole column, null = unknown),
            ``expected_close_date`` (Date), ``is_won`` (Boolean, null = open), ``closed_at``.
        as_of: Today, for the overdue bucket.
        stage_probabilities: Probability (0..1) per stage name, for deals without their own;
            names are matched like the defaults (case, spaces and punctuation ignored).
        confidence: Level of the intervals, between 0 and 1.

    Returns:
        A `PipelineForecast`.

    Raises:
        InputError: A required column is missing, a column has the wrong type, deal ids
            repeat, an amount is negative or a probability is outside 0..1 / 0..100.

    Examples:
        >>> result = pipeline_forecast(deals, as_of=date(2024, 3, 15))
        >>> result.by_month.select("bucket", "weighted_amount", "lower", "upper")
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    frame, notes = _prepare_deals(deals)
    mapping = _stage_mapping(stage_probabilities)

    closed = (
        pl.col("is_won").is_not_null()
        | pl.col("_has_closed_at")
        | pl.col("_stage_key").is_in(_CLOSED_STAGES)
    )
    closed_deals = frame.filter(closed).height
    closed_by_stage = frame.filter(
        pl.col("is_won").is_null()
        & ~pl.col("_has_closed_at")
        & pl.col("_stage_key").is_in(_CLOSED_STAGES)
    ).height
    if closed_by_stage:
        notes.append(
            f"{closed_by_stage} deal(s) without is_won or closed_at are in a closed stage "
            "and were left out as closed"
        )

    user = pl.col("_stage_key").replace_strict(mapping, default=None, return_dtype=pl.Float64)
    default = pl.col("_stage_key").replace_strict(
        dict(DEFAULT_STAGE_PROBABILITIES), default=None, return_dtype=pl.Float64
    )
    open_deals = (
        frame.filter(~closed)
        .with_columns(
            pl.coalesce(pl.col("probability"), user, default).alias("_p"),
            pl.when(pl.col("probability").is_not_null())
            .then(pl.lit("deal"))
            .when(user.is_not_null())
            .then(pl.lit("stage_probabilities"))
            .when(default.is_not_null())
            .then(pl.lit("default"))
            .otherwise(pl.lit(None, dtype=pl.Utf8))
            .alias("probability_source"),
            pl.when(pl.col("expected_close_date").is_null())
            .then(pl.lit(UNDATED))
            .when(pl.col("expected_close_date") < as_of)
            .then(pl.lit(OVERDUE))
            .otherwise(pl.col("expected_close_date").dt.strftime("%Y-%m"))
            .alias("bucket"),
            pl.when(pl.col("expected_close_date") >= as_of)
            .then(pl.col("expected_close_date").dt.month_start())
            .alias("month"),
        )
        .with_columns((pl.col("_p") * pl.col("amount")).alias("weighted_amount"))
    )
    overdue = open_deals.filter(pl.col("bucket") == OVERDUE).height
    if overdue:
        notes.append(
            f"{overdue} open deal(s) expected to close before {as_of.isoformat()} "
            "are in the overdue bucket, not in a month"
        )

    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    sums = [
        pl.len().cast(pl.Int64).alias("deals"),
        pl.col("amount").sum().alias("pipeline_amount"),
        pl.col("weighted_amount").sum().alias("weighted_amount"),
        pl.col("amount").filter(pl.col("_p") >= COMMIT_PROBABILITY).sum().alias("commit_amount"),
        pl.col("amount")
        .filter(pl.col("_p") >= BEST_CASE_PROBABILITY)
        .sum()
        .alias("best_case_amount"),
        pl.col("_p").is_null().sum().cast(pl.Int64).alias("deals_without_probability"),
        pl.col("amount").filter(pl.col("_p").is_null()).sum().alias("amount_without_probability"),
        (pl.col("_p") * (1.0 - pl.col("_p")) * pl.col("amount") ** 2).sum().sqrt().alias("std"),
        pl.col("amount").filter(pl.col("_p").is_not_null()).sum().alias("_weighted_deal_amount"),
    ]
    bounds = [
        (pl.col("weighted_amount") - z * pl.col("std")).clip(lower_bound=0.0).alias("lower"),
        pl.min_horizontal(
            pl.col("weighted_amount") + z * pl.col("std"), pl.col("_weighted_deal_amount")
        ).alias("upper"),
    ]
    order = (
        pl.when(pl.col("bucket") == OVERDUE)
        .then(0)
        .when(pl.col("bucket") == UNDATED)
        .then(2)
        .otherwise(1)
    )
    by_month = (
        open_deals.group_by("bucket")
        .agg(pl.col("month").first(), *sums)
        .with_columns(bounds)
        .sort(order, "bucket")
        .drop("_weighted_deal_amount")
    )
    totals = open_deals.select(*sums).with_columns(bounds).row(0, named=True)

    missing = int(totals["deals_without_probability"])
    if missing:
        notes.append(
            f"{missing} open deal(s) have no probability (none on the deal, stage not in "
            "stage_probabilities or the default stages); they count in pipeline_amount but "
            "not in the weighted amount. Pass stage_probabilities for their stages"
        )
    out_deals = open_deals.select(
        "deal_id",
        "stage",
        "amount",
        pl.col("_p").alias("probability"),
        "probability_source",
        "expected_close_date",
        "bucket",
        "weighted_amount",
    ).sort("bucket", "deal_id")
    return PipelineForecast(
        as_of=as_of,
        confidence=confidence,
        by_month=by_month,
        deals=out_deals,
        open_deals=open_deals.height,
        closed_deals=closed_deals,
        pipeline_amount=float(totals["pipeline_amount"]),
        weighted_amount=float(totals["weighted_amount"]),
        commit_amount=float(totals["commit_amount"]),
        best_case_amount=float(totals["best_case_amount"]),
        lower=float(totals["lower"]),
        upper=float(totals["upper"]),
        deals_without_probability=missing,
        amount_without_probability=float(totals["amount_without_probability"]),
        notes=tuple(notes),
    )


def _prepare_deals(deals: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Check the deal columns and return them typed, with probabilities as fractions."""
    missing = [name for name in ("deal_id", "stage", "amount") if name not in deals.columns]
    if missing:
        raise InputError(
            f"deals frame lacks column(s) {', '.join(missing)}; it needs deal_id, stage and "
            "amount (and optionally probability, expected_close_date, is_won, closed_at)"
        )
    notes: list[str] = []
    schema = deals.schema
    if not (schema["amount"].is_numeric() or schema["amount"] == pl.Null):
        raise InputError(f"must be numeric, got {schema['amount']}", column="amount")
    if "probability" in deals.columns and not (
        schema["probability"].is_numeric() or schema["probability"] == pl.Null
    ):
        raise InputError(f"must be numeric, got {schema['probability']}", column="probability")
    if "expected_close_date" in deals.columns and schema["expected_close_date"] not in (
        pl.Date,
        pl.Null,
    ):
        if not isinstance(schema["expected_close_date"], pl.Datetime):
            raise InputError(
                f"must be a Date, got {schema['expected_close_date']}; parse it first "
                "(e.g. pl.col(...).str.to_date())",
                column="expected_close_date",
            )
    if deals["deal_id"].is_duplicated().any():
        raise InputError(
            "deal ids repeat; give one row per deal (the latest snapshot)", column="deal_id"
        )

    def optional(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in deals.columns else pl.lit(None, dtype=dtype)

    if "expected_close_date" in deals.columns and isinstance(
        schema["expected_close_date"], pl.Datetime
    ):
        close = pl.col("expected_close_date").dt.date()
    else:
        close = optional("expected_close_date", pl.Date())
    frame = deals.select(
        pl.col("deal_id"),
        pl.col("stage").cast(pl.Utf8),
        pl.col("amount").cast(pl.Float64),
        optional("probability", pl.Float64()).alias("probability"),
        close.alias("expected_close_date"),
        optional("is_won", pl.Boolean()).alias("is_won"),
        (pl.col("closed_at").is_not_null() if "closed_at" in deals.columns else pl.lit(False))
        .cast(pl.Boolean)
        .alias("_has_closed_at"),
    ).with_columns(
        pl.col("stage").str.to_lowercase().str.replace_all(r"[^0-9a-z]+", "").alias("_stage_key")
    )

    if frame.select((pl.col("amount") < 0).any()).item():
        raise InputError("a deal amount is negative; amounts must be >= 0", column="amount")
    no_amount = frame.select(pl.col("amount").is_null().sum()).item()
    if no_amount:
        notes.append(f"{no_amount} deal(s) have no amount and count as 0")
        frame = frame.with_columns(pl.col("amount").fill_null(0.0))

    low, high = frame.select(
        pl.col("probability").min().alias("low"), pl.col("probability").max().alias("high")
    ).row(0)
    if low is not None and (low < 0 or high > 100):
        raise InputError(
            f"probabilities must be within 0..1 or 0..100, found {low}..{high}",
            column="probability",
        )
    if high is not None and high > 1:
        notes.append("deal probabilities read as percentages (the largest is above 1)")
        frame = frame.with_columns(pl.col("probability") / 100.0)
    return frame, notes


def _stage_mapping(stage_probabilities: Mapping[str, float] | None) -> dict[str, float]:
    """Return the caller's stage probabilities keyed by `stage_key`, checked to be 0..1."""
    mapping: dict[str, float] = {}
    for stage, probability in (stage_probabilities or {}).items():
        if not 0.0 <= probability <= 1.0:
            raise InputError(
                f"stage_probabilities[{stage!r}] is {probability}; give a fraction 0..1"
            )
        mapping[stage_key(stage)] = float(probability)
    return mapping


def revenue_forecast(
    orders: pl.DataFrame, *, as_of: date, horizon_months: int = 6, confidence: float = 0.95
) -> RevenueForecast:
    """Forecast monthly revenue from the orders up to the last complete month at `as_of`.

    Args:
        orders: One row per order with ``ordered_at`` (Date or Datetime) and ``amount``.
        as_of: Today; the history ends with the last month complete on this day.
        horizon_months: Number of months to forecast, at least 1.
        confidence: Level of the prediction intervals, between 0 and 1.

    Returns:
        A `RevenueForecast`; the model is ETS(A,A,A) with a 12-month season from
        `MIN_SEASONAL_MONTHS` of history, ETS(A,A,N) from `MIN_TREND_MONTHS`, else ETS(A,N,N).

    Raises:
        InputError: A column is missing or of the wrong type, an argument is out of range,
            or there are fewer than `MIN_HISTORY_MONTHS` complete months of history.

    Examples:
        >>> result = revenue_forecast(orders, as_of=date(1998, 6, 30))
        >>> result.forecast.select("month", "forecast", "lower", "upper")
    """
    if horizon_months < 1:
        raise InputError(f"horizon_months must be at least 1, got {horizon_months}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    history, last_month, notes = _monthly_revenue(orders, as_of=as_of)
    y = history["revenue"].to_numpy().astype(np.float64)
    n = len(y)

    if n >= MIN_SEASONAL_MONTHS:
        model, trend, seasonal = "ETS(A,A,A) m=12 (additive Holt-Winters)", True, 12
    elif n >= MIN_TREND_MONTHS:
        model, trend, seasonal = "ETS(A,A,N) (Holt's linear trend)", True, None
        notes.append(f"{n} months of history: no yearly seasonality (needs {MIN_SEASONAL_MONTHS})")
    else:
        model, trend, seasonal = "ETS(A,N,N) (simple exponential smoothing)", False, None
        notes.append(
            f"{n} months of history: level only, no trend (needs {MIN_TREND_MONTHS}) "
            f"or seasonality (needs {MIN_SEASONAL_MONTHS})"
        )

    alpha = 1.0 - confidence
    if np.ptp(y) == 0.0:
        model = "constant"
        notes.append("every month has the same revenue; forecast is that value, no interval")
        fitted = y.copy()
        mean = np.full(horizon_months, y[0])
        lower, upper = mean.copy(), mean.copy()
        parameters: dict[str, float] = {}
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model_spec = ExponentialSmoothing(y, trend=trend, seasonal=seasonal)
            # 200 rather than the default 50 iterations: seasonal fits often need them
            result = model_spec.fit(disp=False, maxiter=200)
            prediction = result.get_forecast(horizon_months)
            mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
            interval = np.asarray(prediction.conf_int(alpha=alpha), dtype=np.float64)
            fitted = np.asarray(result.fittedvalues, dtype=np.float64)
        lower, upper = interval[:, 0], interval[:, 1]
        parameters = {
            str(name): float(value)
            for name, value in zip(result.model.param_names, result.params, strict=True)
        }
        seen: set[str] = set()
        for warning in caught:
            message = f"statsmodels {warning.category.__name__}: {warning.message}"
            if message not in seen:
                seen.add(message)
                notes.append(message)

    if y.min() >= 0:
        mean, lower, upper = (np.clip(values, 0.0, None) for values in (mean, lower, upper))
    months = pl.date_range(
        _add_months(last_month, 1),
        _add_months(last_month, horizon_months),
        interval="1mo",
        eager=True,
    )
    forecast = pl.DataFrame(
        {"month": months, "forecast": mean, "lower": lower, "upper": upper},
        schema={
            "month": pl.Date,
            "forecast": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )
    return RevenueForecast(
        as_of=as_of,
        last_complete_month=last_month,
        model=model,
        confidence=confidence,
        history=history.with_columns(pl.Series("fitted", fitted, dtype=pl.Float64)),
        forecast=forecast,
        parameters=parameters,
        notes=tuple(notes),
    )


def _monthly_revenue(orders: pl.DataFrame, *, as_of: date) -> tuple[pl.DataFrame, date, list[str]]:
    """Sum the orders by calendar month up to the last complete month, gaps as zero."""
    missing = [name for name in ("ordered_at", "amount") if name not in orders.columns]
    if missing:
        raise InputError(
            f"orders frame lacks column(s) {', '.join(missing)}; it needs ordered_at "
            "(Date or Datetime) and amount"
        )
    ordered_at = orders.schema["ordered_at"]
    if ordered_at != pl.Date and not isinstance(ordered_at, pl.Datetime):
        raise InputError(
            f"must be a Date or Datetime, got {ordered_at}; parse it first",
            column="ordered_at",
        )
    if not orders.schema["amount"].is_numeric():
        raise InputError(f"must be numeric, got {orders.schema['amount']}", column="amount")

    notes: list[str] = []
    ends_month = (as_of + timedelta(days=1)).month != as_of.month
    last_month = _month_start(as_of) if ends_month else _add_months(_month_start(as_of), -1)
    day = pl.col("ordered_at").dt.date() if ordered_at != pl.Date else pl.col("ordered_at")
    frame = orders.select(day.alias("day"), pl.col("amount").cast(pl.Float64))
    incomplete = frame.filter(pl.col("day").is_null() | pl.col("amount").is_null()).height
    if incomplete:
        notes.append(f"{incomplete} order(s) without date or amount left out")
    monthly = (
        frame.drop_nulls()
        .filter(pl.col("day") < _add_months(last_month, 1))
        .group_by(pl.col("day").dt.month_start().alias("month"))
        .agg(pl.col("amount").sum().alias("revenue"))
    )
    if monthly.height == 0:
        raise InputError(
            f"no orders before {_add_months(last_month, 1).isoformat()} (the end of the last "
            f"month complete at {as_of.isoformat()}); nothing to forecast from"
        )
    first = monthly["month"].min()
    assert isinstance(first, date)
    months = pl.date_range(first, last_month, interval="1mo", eager=True).alias("month")
    history = (
        months.to_frame()
        .join(monthly, on="month", how="left")
        .with_columns(pl.col("revenue").fill_null(0.0))
    )
    if history.height < MIN_HISTORY_MONTHS:
        raise InputError(
            f"{history.height} complete month(s) of orders up to {last_month:%Y-%m}; a revenue "
            f"forecast needs at least {MIN_HISTORY_MONTHS}. Use a later as_of or more history"
        )
    return history, last_month, notes


def _month_start(day: date) -> date:
    """Return the first day of the day's month."""
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    """Return the first day of the month `count` months after `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows for JSON: dates as ISO strings, NaN as null."""
    converted = frame.with_columns(
        pl.col(pl.Date).dt.strftime("%Y-%m-%d"), pl.col(pl.Float64).fill_nan(None)
    )
    return converted.to_dicts()
