"""Churn risk: who is likely to leave, how sure we are, and why, per contact.

`train_churn` fits a scikit-learn model on one row per contact: the contact's own fields
(custom fields arrive as text, so types are inferred here, not assumed) and the history
features `history_features` derives from orders, tickets, interactions and subscriptions.
The label is whatever the caller has: cancelled subscriptions (`subscription_label`), a field
the user names (`rolodex analyze churn --label FIELD`), or "no purchase in the expected window"
(`inactivity_label`); the caller joins P(alive) from BG/NBD beside the last one.

Honesty is the point, because a churn score is only worth acting on if its figures are real:

- Validation is cross-validated (stratified k-fold, shuffled), or time-ordered when the caller
  names a time column (forward chaining: the labelled rows sorted by time are cut into
  `folds + 1` blocks; fold i trains on blocks 0..i and validates on block i + 1, so the model
  never sees the future it is scored on).
- Two models compete on cross-validated ROC AUC: a regularized logistic regression (standard
  scaled inputs, one-hot categoricals) and a HistGradientBoostingClassifier. The better mean
  wins; ties go to the logistic regression, which is simpler and explains itself exactly.
- Probabilities are calibrated the way CalibratedClassifierCV(ensemble=False) does it: a
  calibrator (isotonic regression from 1,000 labelled rows, where Niculescu-Mizil & Caruana
  2005 find it stops overfitting; Platt's sigmoid on the log-odds below) learns to map
  out-of-fold scores to outcomes, and is applied to the model fit on all labelled rows. It is
  done here on the out-of-fold scores the model comparison already produced rather than by
  CalibratedClassifierCV itself, which would refit the model (folds + 1) x 3 more times
  (minutes of boosting at 100,000 rows). A labelled contact's `churn_risk` is honest: the
  out-of-fold score of a model that never saw its label, through a calibrator fit on the
  other folds' rows (cross-fitting). An unlabelled contact, and a labelled one no
  time-ordered fold validated (the earliest block), gets the all-rows model through the
  calibrator fit on every out-of-fold row. Log loss, Brier score and top-decile precision,
  recall and lift are computed on the honest (out-of-fold) probabilities only.
- Reasons: for the logistic regression, each input's contribution is coefficient x standardized
  value, summed over the one-hot and missing-indicator columns of one original column, so a
  reason names the column and the contact's own value ("Contract = Month-to-month",
  "tenure low"). For the boosted trees, a column's contribution is the drop in predicted
  probability when that column alone is set to its median (numbers) or most common value
  (everything else): one extra predict per original column over the rows not already at the
  typical value, so the cost is (number of columns) x (one predict), about 1 s per column
  per 100,000 rows on one core (20 s for 20 columns; the whole run is about 45 s then).
  A per-row loop is avoided; exact Shapley values would cost far more.
  Only contributions that push risk up become reasons; global importance is the mean absolute
  contribution per column, as a share of the total.

Type inference is general, not tuned to any data set: numeric text becomes a number (blanks
missing), yes/no/true/false/1/0 text becomes 0/1, date text and dates become an age in days
(before the latest date in the frame), other text becomes one-hot columns for its 20 most common
values seen at least 5 times plus "other"; mostly-unique text (names, emails, ids) and integer
number columns named like ids with every value distinct are dropped and named in the notes.
A missing number or flag is imputed (median, or the more common flag) and marked in an
indicator column; a missing category is a category of its own. Imputation and the one-hot
vocabulary use every row but never the label, so no label leaks across folds.

Features should describe the contact at a cut-off and the label what happened after it:
compute `history_features(as_of=cutoff)` and the label `as_of=cutoff + horizon`, or a
subscription still counted as active would give its own cancellation away.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from rolodex.exceptions import InputError

__all__ = [
    "ChurnResult",
    "history_features",
    "inactivity_label",
    "subscription_label",
    "train_churn",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Split = tuple[IntArray, IntArray]  # (training rows, validation rows)

LOGISTIC = "logistic_regression"
BOOSTING = "gradient_boosting"

MAX_CATEGORIES = 20  # one-hot columns per text column, beyond which values go to "other"
MIN_CATEGORY_ROWS = 5  # a value seen fewer times cannot be learned; it goes to "other"
MAX_DISTINCT_SHARE = 0.5  # text with more distinct values than this share is an id or free text
PARSE_SHARE = 0.95  # share of non-blank values that must parse for text to count as number/date
ISOTONIC_MIN_ROWS = 1000  # isotonic calibration overfits below this (Niculescu-Mizil 2005)
INACTIVITY_MULTIPLE = 3.0  # gaps beyond 3x the mean happen ~5 % of the time if still buying
TOP_REASONS = 3

_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})
_CLOSED = frozenset({"closed", "resolved", "solved", "done", "cancelled", "canceled"})
_CANCELLED = frozenset({"cancelled", "canceled", "ended", "expired", "churned", "terminated"})
_ID_NAME_CAMEL = re.compile(r"[a-z0-9](?:ID|Id)$")
_ID_NAME_PLAIN = re.compile(r"(?:^|[_\s.-])id$", re.IGNORECASE)

Kind = Literal["numeric", "date", "binary", "category"]


@dataclass(frozen=True)
class ChurnResult:
    """What `train_churn` learned and how far to trust it.

    Attributes:
        model: The chosen model, `"logistic_regression"` or `"gradient_boosting"`.
        metrics: `auc` and `auc_std` (the chosen model's cross-validated ROC AUC), `aucs`
            (mean and std per model), `log_loss`, `brier`, `top_decile_precision`,
            `top_decile_recall`, `top_decile_lift`, `auc_oof_calibrated` (all out-of-fold,
            calibrated), `churn_rate`, `rows_used`, `rows_scored`, `rows_skipped` (reason ->
            count), `validation` (`"stratified k-fold"` or `"time-ordered"`),
            `folds` (rows per fold; for time-ordered folds also the last training and first
            validation time), `calibration` (`"isotonic"` or `"sigmoid"`).
        contacts: One row per input row, in input order: the id column, `churn_risk`
            (calibrated probability), `label` (Boolean, null when unknown), `reason_1` ..
            `reason_3` (null when fewer columns push the risk up).
        importance: `feature` (original column) and `importance` (share of the mean absolute
            contribution, summing to 1), most important first.
        notes: What was dropped, converted or assumed, in words a user can act on.
    """

    model: str
    metrics: dict[str, Any]
    contacts: pl.DataFrame
    importance: pl.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what `rolodex analyze churn --json` prints).

        Per-contact rows are left out (export them from `contacts`); `top_reasons` counts how
        many contacts carry each reason among their three.
        """

        reasons = (
            pl.concat([self.contacts[f"reason_{i}"] for i in range(1, TOP_REASONS + 1)])
            .drop_nulls()
            .value_counts(sort=True, name="contacts")
            .head(10)
        )
        return {
            "auc": self.metrics["auc"],
            "model": self.model,
            "metrics": self.metrics,
            "top_reasons": [
                {"reason": str(r), "contacts": int(n)}
                for r, n in reasons.select(reasons.columns[0], "contacts").iter_rows()
            ],
            "feature_importance": [
                {"feature": str(f), "importance": float(v)} for f, v in self.importance.iter_rows()
            ],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """`to_dict` as one JSON document."""

        return json.dumps(self.to_dict(), indent=2)


@dataclass(frozen=True)
class _Source:
    """One original column that survived, and how it became matrix columns."""

    name: str
    kind: Kind
    columns: list[int]  # matrix columns, value column(s) first, missing indicator last
    baseline: list[float]  # the "typical" value of each matrix column for tree attributions
    labels: npt.NDArray[np.object_]  # per row: "col = value" / "col missing" / "" (numeric)
    values: FloatArray | None  # per row, numeric kinds only: the value (NaN when missing)


@dataclass(frozen=True)
class _Design:
    """The model matrix built from a features frame."""

    matrix: FloatArray
    sources: list[_Source]
    notes: list[str]


# --- history features and labels ------------------------------------------------------------


def history_features(
    *,
    contacts: pl.DataFrame,
    orders: pl.DataFrame | None,
    tickets: pl.DataFrame | None,
    interactions: pl.DataFrame | None,
    subscriptions: pl.DataFrame | None,
    as_of: date,
) -> pl.DataFrame:
    """One row per contact: its own fields plus what its history says on `as_of`.

    Only records dated on or before `as_of` count (`as_of` is the last day of known history).
    Dates may be Date, Datetime or ISO text. A contact's fields pass through unchanged; a
    contact field named like a history column below is replaced by the history column.

    Args:
        contacts: `contact_id` plus any fields; every contact gets a row.
        orders: `contact_id`, `ordered_at`, `amount`.
        tickets: `contact_id`, `opened_at`, `status` (open unless closed/resolved/solved/done).
        interactions: `contact_id`, `occurred_at`.
        subscriptions: `contact_id`, `plan`, `status`, `started_at`, `cancelled_at`,
            `monthly_amount` (see `subscription_label` for what counts as cancelled).
        as_of: The cut-off day.

    Returns:
        The contact fields plus `days_since_last_order` (null without orders), `order_count`,
        `total_spend`, `mean_spend` (null without orders), `tenure_days` (since the earliest
        of first order, ticket, interaction, subscription start or a `created_at` field),
        `spend_last_90d` (the 90 days ending on `as_of`), `spend_prev_90d` (the 90 before),
        `spend_trend` ((last - prev) / (last + prev), 0 when both are 0), `ticket_count`,
        `open_tickets`, `tickets_last_90d`, `interaction_count`, `interactions_last_90d`,
        `active_subscriptions`, `cancelled_subscriptions`, `subscription_plan` (of the most
        recently started active subscription) and `subscription_monthly_amount` (sum over
        active subscriptions, 0 without).

    Raises:
        InputError: A frame lacks a column it needs.
    """

    _require(contacts, "contacts", ["contact_id"])
    ids = contacts.select("contact_id").unique(maintain_order=True)
    window_start = as_of - timedelta(days=89)  # 90 days ending on as_of, inclusive
    prev_start = as_of - timedelta(days=179)
    first_seen: list[pl.DataFrame] = []
    parts: list[pl.DataFrame] = []

    if orders is not None:
        _require(orders, "orders", ["contact_id", "ordered_at", "amount"])
        o = _dated(orders, "ordered_at", as_of).with_columns(pl.col("amount").cast(pl.Float64))
        in_last = pl.col("ordered_at") >= window_start
        in_prev = (pl.col("ordered_at") >= prev_start) & ~in_last
        agg = o.group_by("contact_id").agg(
            last=pl.col("ordered_at").max(),
            first=pl.col("ordered_at").min(),
            order_count=pl.len(),
            total_spend=pl.col("amount").sum(),
            mean_spend=pl.col("amount").mean(),
            spend_last_90d=pl.col("amount").filter(in_last).sum(),
            spend_prev_90d=pl.col("amount").filter(in_prev).sum(),
        )
        first_seen.append(agg.select("contact_id", first_at="first"))
        parts.append(
            agg.select(
                "contact_id",
                days_since_last_order=_days_between(pl.col("last"), as_of),
                order_count="order_count",
                total_spend="total_spend",
                mean_spend="mean_spend",
                spend_last_90d="spend_last_90d",
                spend_prev_90d="spend_prev_90d",
            )
        )
    if tickets is not None:
        _require(tickets, "tickets", ["contact_id", "opened_at", "status"])
        t = _dated(tickets, "opened_at", as_of)
        closed = pl.col("status").cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        agg = t.group_by("contact_id").agg(
            first_at=pl.col("opened_at").min(),
            ticket_count=pl.len(),
            open_tickets=(~closed.is_in(list(_CLOSED)).fill_null(False)).sum(),
            tickets_last_90d=(pl.col("opened_at") >= window_start).sum(),
        )
        first_seen.append(agg.select("contact_id", "first_at"))
        parts.append(agg.drop("first_at"))
    if interactions is not None:
        _require(interactions, "interactions", ["contact_id", "occurred_at"])
        i = _dated(interactions, "occurred_at", as_of)
        agg = i.group_by("contact_id").agg(
            first_at=pl.col("occurred_at").min(),
            interaction_count=pl.len(),
            interactions_last_90d=(pl.col("occurred_at") >= window_start).sum(),
        )
        first_seen.append(agg.select("contact_id", "first_at"))
        parts.append(agg.drop("first_at"))
    if subscriptions is not None:
        subs = _subscription_states(subscriptions, as_of=as_of)
        first_seen.append(
            subs.group_by("contact_id").agg(first_at=pl.col("started_at").min()).drop_nulls()
        )
        active = subs.filter(pl.col("is_active"))
        plan = (
            active.group_by("contact_id").agg(
                subscription_plan=pl.col("plan").cast(pl.Utf8).sort_by("started_at").last()
            )
            if "plan" in subs.columns
            else None
        )
        agg = subs.group_by("contact_id").agg(
            active_subscriptions=pl.col("is_active").sum(),
            cancelled_subscriptions=pl.col("is_cancelled").sum(),
            subscription_monthly_amount=(
                pl.col("monthly_amount").cast(pl.Float64).filter(pl.col("is_active")).sum()
                if "monthly_amount" in subs.columns
                else pl.lit(None, dtype=pl.Float64)
            ),
        )
        parts.append(agg if plan is None else agg.join(plan, on="contact_id", how="left"))
    if "created_at" in contacts.columns:
        created = _dated(contacts.select("contact_id", "created_at"), "created_at", as_of)
        first_seen.append(created.select("contact_id", first_at="created_at"))

    out = ids
    for part in parts:
        out = out.join(part, on="contact_id", how="left")
    counts = [
        "order_count",
        "total_spend",
        "spend_last_90d",
        "spend_prev_90d",
        "ticket_count",
        "open_tickets",
        "tickets_last_90d",
        "interaction_count",
        "interactions_last_90d",
        "active_subscriptions",
        "cancelled_subscriptions",
        "subscription_monthly_amount",
    ]
    out = out.with_columns(pl.col(c).fill_null(0) for c in counts if c in out.columns)
    if "spend_last_90d" in out.columns:
        last, prev = pl.col("spend_last_90d"), pl.col("spend_prev_90d")
        out = out.with_columns(
            spend_trend=pl.when(last + prev > 0).then((last - prev) / (last + prev)).otherwise(0.0)
        )
    if first_seen:
        seen = (
            pl.concat(
                [f.select("contact_id", pl.col("first_at").cast(pl.Date)) for f in first_seen]
            )
            .group_by("contact_id")
            .agg(pl.col("first_at").min())
        )
        out = out.join(
            seen.select("contact_id", tenure_days=_days_between(pl.col("first_at"), as_of)),
            on="contact_id",
            how="left",
        )
    history = [c for c in out.columns if c != "contact_id"]
    own = contacts.drop([c for c in history if c in contacts.columns])
    return own.join(out, on="contact_id", how="left", maintain_order="left")


def subscription_label(subscriptions: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Churned = had a subscription started by `as_of` and every one was cancelled by then.

    A subscription is cancelled when `cancelled_at` is on or before `as_of`, or, having no
    `cancelled_at`, when its `status` says so (cancelled, ended, expired, churned, terminated):
    an undated cancellation cannot be placed in time, so it is taken as already happened.

    Args:
        subscriptions: `contact_id`, `started_at`, and `cancelled_at` and/or `status`.
        as_of: The day the label is read.

    Returns:
        `contact_id`, `active_subscriptions`, `churned` (Boolean); one row per contact with a
        subscription started on or before `as_of`.

    Raises:
        InputError: A column is missing.
    """

    states = _subscription_states(subscriptions, as_of=as_of)
    return (
        states.group_by("contact_id", maintain_order=True)
        .agg(active_subscriptions=pl.col("is_active").sum().cast(pl.Int64))
        .with_columns(churned=pl.col("active_subscriptions") == 0)
    )


def inactivity_label(
    orders: pl.DataFrame,
    *,
    as_of: date,
    window_days: int | None = None,
    multiple: float = INACTIVITY_MULTIPLE,
) -> pl.DataFrame:
    """Churned = no purchase within the expected window before `as_of`.

    The expected window is `window_days` when given. Otherwise it is `multiple` times the
    customer's own mean inter-purchase time (span between first and last order day divided
    by the number of distinct order days minus one, so several orders on one day do not
    shrink it); one-time buyers, who have no gap of their own, get `multiple` times the median
    of the repeat buyers' mean gaps. With exponential gaps a customer still buying at their
    own rate passes 3x the mean only about 5 % of the time. BG/NBD's P(alive), which the
    caller puts beside this label, is the model-based answer to the same question.

    Args:
        orders: `contact_id`, `ordered_at`; orders after `as_of` are ignored.
        as_of: The day the label is read.
        window_days: A fixed window for everyone, in days.
        multiple: How many mean gaps of silence make a customer churned.

    Returns:
        `contact_id`, `days_since_last_order`, `expected_window_days` (Float64), `churned`
        (Boolean: days since last order > expected window); one row per contact with an order.

    Raises:
        InputError: A column is missing, `window_days` is not positive, or no customer bought
            on two different days so no window can be learned (pass `window_days`).
    """

    _require(orders, "orders", ["contact_id", "ordered_at"])
    if window_days is not None and window_days <= 0:
        raise InputError(f"window_days must be a positive number of days, got {window_days}")
    o = _dated(orders, "ordered_at", as_of)
    per = o.group_by("contact_id", maintain_order=True).agg(
        days_since_last_order=_days_between(pl.col("ordered_at").max(), as_of),
        span=(pl.col("ordered_at").max() - pl.col("ordered_at").min()).dt.total_days(),
        order_days=pl.col("ordered_at").n_unique(),
    )
    if window_days is not None:
        expected: pl.Expr = pl.lit(float(window_days))
    else:
        gap = pl.col("span") / (pl.col("order_days") - 1)
        repeat = per.filter(pl.col("order_days") >= 2)
        if repeat.is_empty():
            raise InputError(
                "no customer bought on two different days before as_of, so no expected "
                "purchase gap can be learned; pass window_days (e.g. --window-days 180)"
            )
        fallback = float(repeat.select(gap.median()).item())
        expected = pl.when(pl.col("order_days") >= 2).then(gap).otherwise(fallback) * multiple
    return per.select(
        "contact_id",
        "days_since_last_order",
        expected_window_days=expected.cast(pl.Float64),
    ).with_columns(churned=pl.col("days_since_last_order") > pl.col("expected_window_days"))


def _require(frame: pl.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Raise InputError naming the columns `frame` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}"
        )


def _as_date(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Turn a Date, Datetime or ISO text column into Date."""
    if dtype == pl.Date:
        return expr
    if isinstance(dtype, pl.Datetime):
        return expr.dt.date()
    if dtype in (pl.Utf8, pl.Categorical):
        return expr.cast(pl.Utf8).str.strip_chars().str.to_datetime(strict=False).dt.date()
    return expr.cast(pl.Date)


def _dated(frame: pl.DataFrame, column: str, as_of: date) -> pl.DataFrame:
    """Rows of `frame` whose `column` (as a Date) is on or before `as_of`."""
    return frame.with_columns(_as_date(pl.col(column), frame.schema[column])).filter(
        pl.col(column) <= as_of
    )


def _days_between(expr: pl.Expr, as_of: date) -> pl.Expr:
    """Whole days from `expr` (a Date) to `as_of`."""
    return (pl.lit(as_of) - expr).dt.total_days()


def _subscription_states(subscriptions: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Subscriptions started by `as_of`, with `is_cancelled` and `is_active` on that day."""
    _require(subscriptions, "subscriptions", ["contact_id"])
    if "cancelled_at" not in subscriptions.columns and "status" not in subscriptions.columns:
        raise InputError("subscriptions needs a cancelled_at or a status column to tell churn")
    subs = subscriptions
    if "started_at" in subs.columns:
        subs = subs.with_columns(_as_date(pl.col("started_at"), subs.schema["started_at"]))
        subs = subs.filter(pl.col("started_at").is_null() | (pl.col("started_at") <= as_of))
    else:
        subs = subs.with_columns(started_at=pl.lit(None, dtype=pl.Date))
    dated = pl.lit(False)
    undated = pl.lit(None, dtype=pl.Date).is_null()
    if "cancelled_at" in subs.columns:
        cancelled_at = _as_date(pl.col("cancelled_at"), subs.schema["cancelled_at"])
        dated = (cancelled_at <= as_of).fill_null(False)
        undated = cancelled_at.is_null()
    said = pl.lit(False)
    if "status" in subs.columns:
        status = pl.col("status").cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        said = status.is_in(list(_CANCELLED)).fill_null(False)
    cancelled = dated | (undated & said)
    return subs.with_columns(is_cancelled=cancelled, is_active=~cancelled)


# --- the model ------------------------------------------------------------------------------


_F = TypeVar("_F", bound=Callable[..., Any])


def _one_thread(function: _F) -> _F:
    """Run on one thread: on a small machine shared with a database or an import, OpenMP's
    threads spin against each other (gradient boosting on 80,000 rows took 28 s on the
    default threads and 5.6 s on one; on 99,000 customers under load, 24-28 s against 21)."""
    return cast(_F, threadpool_limits.wrap(limits=1)(function))


@_one_thread
def train_churn(
    features: pl.DataFrame,
    label: pl.Series,
    *,
    id_column: str = "contact_id",
    folds: int = 5,
    time_column: str | None = None,
    random_state: int = 0,
) -> ChurnResult:
    """Train, validate and calibrate a churn model, and score and explain every contact.

    Args:
        features: One row per contact: `id_column` plus any columns (numbers, booleans,
            dates, text; text that holds numbers, yes/no or dates is converted).
        label: Churned or not, row for row with `features`: Boolean, 0/1, or text
            yes/no/true/false/1/0. Null (or blank) rows are not trained on but are scored.
        id_column: The contact id column; it is carried to the output, never a feature.
        folds: Cross-validation folds (fewer if the rarer class has fewer rows).
        time_column: A date or number ordering the contacts (e.g. the cut-off the row was
            observed at); when given, validation is time-ordered and the column is not a
            feature.
        random_state: Seed for the fold shuffle and the models.

    Returns:
        A `ChurnResult`.

    Raises:
        InputError: The id column is missing or repeats, the label has the wrong length or
            values, one class only, or no column can be used as a feature.

    Examples:
        >>> result = train_churn(telco.drop("Churn"), telco["Churn"], id_column="customerID")
        >>> result.metrics["auc"]  # doctest: +SKIP
        0.845
    """

    if id_column not in features.columns:
        raise InputError(f"features has no id column {id_column!r}; pass id_column=")
    if features[id_column].is_duplicated().any():
        dupes = features.filter(features[id_column].is_duplicated())[id_column].head(3).to_list()
        raise InputError(
            f"features must have one row per contact but {id_column} repeats (e.g. {dupes})"
        )
    if label.len() != features.height:
        raise InputError(
            f"label has {label.len()} values for {features.height} feature rows; "
            "they must line up row for row"
        )
    if folds < 2:
        raise InputError(f"folds must be at least 2, got {folds}")
    y_all = _parse_label(label)
    notes: list[str] = []
    exclude = {id_column}
    if label.name and label.name in features.columns and label.name != id_column:
        exclude.add(label.name)
        notes.append(f"dropped {label.name!r} from the features: it is the label")
    order: FloatArray | None = None
    if time_column is not None:
        if time_column not in features.columns:
            raise InputError(f"features has no time column {time_column!r}")
        exclude.add(time_column)
        order = _time_values(features[time_column])
        notes.append(f"{time_column!r} orders the time-based validation and is not a feature")

    design = _design(features.drop(list(exclude)))
    notes.extend(design.notes)
    if not design.sources:
        raise InputError(
            "no usable feature columns: "
            + ("; ".join(design.notes) if design.notes else "features has only the id column")
            + ". Add contact fields or history (orders, tickets, subscriptions) to learn from"
        )

    labelled = np.flatnonzero(~np.isnan(y_all))
    if labelled.size == 0:
        raise InputError(f"label {label.name!r} is empty on every row; nothing to learn from")
    skipped = features.height - labelled.size
    y = y_all[labelled].astype(np.int64)
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        only = "churned" if positives else "not churned"
        raise InputError(
            f"the label has one class only: all {y.size} labelled rows are {only}; "
            "churn needs both churned and retained customers to learn from"
        )
    X = design.matrix[labelled]

    if order is not None and np.isnan(order[labelled]).any():
        raise InputError(f"time column {time_column!r} is empty on some labelled rows")
    splits, scored_splits, validation = _validation_splits(
        y, order[labelled] if order is not None else None, folds, random_state, notes
    )

    aucs, raw = _compare_models(X, y, splits, scored_splits, random_state)
    chosen = BOOSTING if aucs[BOOSTING]["mean"] > aucs[LOGISTIC]["mean"] else LOGISTIC
    fitted = clone(_candidates(random_state)[chosen]).fit(X, y)
    method: Literal["isotonic", "sigmoid"] = (
        "isotonic" if y.size >= ISOTONIC_MIN_ROWS else "sigmoid"
    )
    full = np.asarray(fitted.predict_proba(design.matrix)[:, 1], dtype=np.float64)
    risk, oof = _calibrated_risk(raw[chosen], y, splits, full, labelled, method)
    has_oof = ~np.isnan(oof)
    if not has_oof.all():
        notes.append(
            f"{int((~has_oof).sum())} labelled rows no fold validated (the earliest time "
            "block) are scored by the model fit on all labelled rows"
        )

    contributions = (
        _logistic_contributions(fitted, design)
        if chosen == LOGISTIC
        else _tree_contributions(fitted, design)
    )
    reasons = _reasons(contributions, design, _references(fitted, chosen, design))
    mean_abs = np.abs(contributions[labelled]).mean(axis=0)
    total = float(mean_abs.sum())
    importance = pl.DataFrame(
        {
            "feature": [s.name for s in design.sources],
            "importance": (mean_abs / total if total > 0 else mean_abs).astype(np.float64),
        }
    ).sort("importance", descending=True, maintain_order=True)

    metrics = _metrics(y[has_oof], oof[has_oof])
    metrics = {
        "auc": aucs[chosen]["mean"],
        "auc_std": aucs[chosen]["std"],
        "aucs": aucs,
        **metrics,
        "churn_rate": positives / y.size,
        "rows_used": int(y.size),
        "rows_scored": features.height,
        "rows_skipped": {"label missing": skipped} if skipped else {},
        "validation": validation,
        "folds": [
            _fold_info(
                tr,
                va,
                order[labelled] if order is not None else None,
                features[time_column].gather(labelled) if time_column is not None else None,
            )
            for tr, va in scored_splits
        ],
        "calibration": method,
    }
    if skipped:
        notes.append(f"{skipped} rows have no label: scored but not trained or validated on")

    contacts = pl.DataFrame(
        {
            id_column: features[id_column],
            "churn_risk": risk,
            "label": pl.Series(y_all).fill_nan(None).cast(pl.Boolean),
            **{f"reason_{i + 1}": reasons[i] for i in range(TOP_REASONS)},
        }
    )
    return ChurnResult(
        model=chosen,
        metrics=metrics,
        contacts=contacts,
        importance=importance,
        notes=tuple(notes),
    )


def _validation_splits(
    y: npt.NDArray[np.int64],
    order: FloatArray | None,
    folds: int,
    random_state: int,
    notes: list[str],
) -> tuple[list[Split], list[Split], str]:
    """Folds to fit on, the subset that can score an AUC, and the validation's name."""
    positives = int(y.sum())
    if order is not None:
        splits = _time_splits(order, folds)
        validation = "time-ordered"
    else:
        n_splits = min(folds, positives, y.size - positives)
        if n_splits < 2:
            raise InputError(
                "too few rows of the rarer label class to validate: need at least 2 "
                f"churned and 2 retained, got {positives} and {y.size - positives}"
            )
        if n_splits < folds:
            notes.append(f"used {n_splits} folds: the rarer class has only that many rows")
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
        splits = [(tr.astype(np.intp), va.astype(np.intp)) for tr, va in cv.split(y, y)]
        validation = "stratified k-fold"
    splits = [(tr, va) for tr, va in splits if 0 < y[tr].sum() < tr.size]
    scored = [(tr, va) for tr, va in splits if 0 < y[va].sum() < va.size]
    if not scored:
        raise InputError(
            "no validation fold holds both churned and retained customers; "
            "use fewer folds or more labelled rows"
        )
    if len(scored) < len(splits):
        notes.append(
            f"{len(splits) - len(scored)} fold(s) had one class in validation and "
            "do not count in the AUC"
        )
    return splits, scored, validation


def _candidates(random_state: int) -> dict[str, Any]:
    """The two models that compete."""
    return {LOGISTIC: _logistic(random_state), BOOSTING: _boosting(random_state)}


def _compare_models(
    X: FloatArray,
    y: npt.NDArray[np.int64],
    splits: list[Split],
    scored: list[Split],
    random_state: int,
) -> tuple[dict[str, dict[str, float]], dict[str, FloatArray]]:
    """Per model: mean and std of the fold AUCs, and its out-of-fold scores (NaN if none)."""
    aucs: dict[str, dict[str, float]] = {}
    raw: dict[str, FloatArray] = {}
    for name, estimator in _candidates(random_state).items():
        raw[name] = np.full(y.size, np.nan)
        for tr, va in splits:
            raw[name][va] = _fit_predict(estimator, X[tr], y[tr], X[va])
        scores = [float(roc_auc_score(y[va], raw[name][va])) for _, va in scored]
        aucs[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores))}
    return aucs, raw


def _calibrated_risk(
    scores: FloatArray,
    y: npt.NDArray[np.int64],
    splits: list[Split],
    full: FloatArray,
    labelled: IntArray,
    method: Literal["isotonic", "sigmoid"],
) -> tuple[FloatArray, FloatArray]:
    """Calibrated risk for every row, and the honest out-of-fold part for labelled rows.

    Each fold's scores go through a calibrator fit on the other folds' scores (for
    time-ordered folds that includes later ones: the calibrator learns a score-to-rate map,
    never the contact's own label). Every other row gets the all-rows model's score through
    a calibrator fit on all out-of-fold scores.
    """
    has_oof = ~np.isnan(scores)
    oof = np.full(y.size, np.nan)
    for _, va in splits:
        others = has_oof.copy()
        others[va] = False
        if not 0 < y[others].sum() < others.sum():
            others = has_oof
        oof[va] = _calibrate(scores[others], y[others], scores[va], method)
    risk = _calibrate(scores[has_oof], y[has_oof], full, method)
    risk[labelled[has_oof]] = oof[has_oof]
    return risk, oof


def _logistic(random_state: int) -> Pipeline:
    """L2-regularized logistic regression on standardized inputs."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=0.5, max_iter=2000, random_state=random_state)),
        ]
    )


def _boosting(random_state: int) -> HistGradientBoostingClassifier:
    """Gradient-boosted trees, held back from memorizing small data sets."""
    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


def _fit_predict(
    estimator: Any, X: FloatArray, y: npt.NDArray[np.int64], X_new: FloatArray
) -> FloatArray:
    """Fit a fresh copy of `estimator` and return P(churn) for `X_new`."""
    return np.asarray(clone(estimator).fit(X, y).predict_proba(X_new)[:, 1], dtype=np.float64)


def _calibrate(
    scores: FloatArray,
    y: npt.NDArray[np.int64],
    new: FloatArray,
    method: Literal["isotonic", "sigmoid"],
) -> FloatArray:
    """Map raw P(churn) `new` to calibrated probabilities learned from (`scores`, `y`).

    Isotonic regression, or Platt's sigmoid on the log-odds, as CalibratedClassifierCV fits.
    """
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(scores, y)
        return np.asarray(iso.predict(new), dtype=np.float64)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(scores)[:, None], y)
    return np.asarray(platt.predict_proba(_logit(new)[:, None])[:, 1], dtype=np.float64)


def _logit(p: FloatArray) -> FloatArray:
    """Log-odds of probabilities kept off 0 and 1."""
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


def _time_splits(order: FloatArray, folds: int) -> list[Split]:
    """Forward-chaining splits: train on blocks 0..i of the time order, validate on i + 1."""
    ranked = np.argsort(order, kind="stable").astype(np.intp)
    blocks = np.array_split(ranked, folds + 1)
    return [
        (np.sort(np.concatenate(blocks[: i + 1])), np.sort(blocks[i + 1]))
        for i in range(folds)
        if blocks[i + 1].size
    ]


def _fold_info(
    train: IntArray, valid: IntArray, order: FloatArray | None, times: pl.Series | None
) -> dict[str, Any]:
    """Sizes (and, for time-ordered folds, the last training and first validation time)."""
    info: dict[str, Any] = {"train_rows": int(train.size), "validate_rows": int(valid.size)}
    if order is not None and times is not None:
        last = times[int(train[np.argmax(order[train])])]
        first = times[int(valid[np.argmin(order[valid])])]
        info["train_until"] = last.isoformat() if isinstance(last, date) else last
        info["validate_from"] = first.isoformat() if isinstance(first, date) else first
    return info


def _metrics(y: npt.NDArray[np.int64], p: FloatArray) -> dict[str, Any]:
    """Out-of-fold calibration and ranking figures, with precision/recall/lift at 10 %."""
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    top = max(1, math.ceil(0.1 * y.size))
    best = np.argsort(-p, kind="stable")[:top]
    precision = float(y[best].mean())
    rate = float(y.mean())
    both = 0 < y.sum() < y.size
    return {
        "auc_oof_calibrated": float(roc_auc_score(y, p)) if both else None,
        "log_loss": float(log_loss(y, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "top_decile_precision": precision,
        "top_decile_recall": float(y[best].sum() / y.sum()) if y.sum() else None,
        "top_decile_lift": precision / rate if rate else None,
    }


# --- from a frame of mixed types to a matrix ------------------------------------------------


def _parse_label(label: pl.Series) -> FloatArray:
    """Label as 1.0 / 0.0 / NaN (unknown), from booleans, 0/1 numbers or yes/no text."""
    if label.dtype == pl.Boolean:
        return label.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)
    if label.dtype.is_numeric():
        values = label.cast(pl.Float64)
        bad = values.filter(~values.is_in([0.0, 1.0]) & values.is_not_null()).unique().head(3)
        if bad.len():
            raise InputError(
                f"label {label.name!r} must be 0/1, yes/no or true/false; found {bad.to_list()}"
            )
        return values.fill_null(np.nan).to_numpy().astype(np.float64)
    text = _clean_text(label).str.to_lowercase()
    positive = text.is_in(list(_TRUE)).fill_null(False).to_numpy()
    negative = text.is_in(list(_FALSE)).fill_null(False).to_numpy()
    unknown = ~(positive | negative) & text.is_not_null().to_numpy()
    if unknown.any():
        examples = label.filter(pl.Series(unknown)).unique().head(3).to_list()
        raise InputError(
            f"label {label.name!r} must be yes/no, true/false or 1/0 (blank when unknown); "
            f"found {examples}"
        )
    return np.where(positive, 1.0, np.where(negative, 0.0, np.nan)).astype(np.float64)


def _clean_text(column: pl.Series) -> pl.Series:
    """Text with surrounding blanks removed and blank values as null."""
    text = pl.col(column.name).cast(pl.Utf8).str.strip_chars()
    return column.to_frame().select(pl.when(text == "").then(None).otherwise(text)).to_series()


def _time_values(column: pl.Series) -> FloatArray:
    """An orderable float per row (days since epoch for dates) from the time column."""
    s = column
    if s.dtype in (pl.Utf8, pl.Categorical):
        text = _clean_text(s)
        number = text.cast(pl.Float64, strict=False)
        s = number if number.null_count() == text.null_count() else _parse_dates(text)
    if s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
        s = s.cast(pl.Date).cast(pl.Int64)
    if not s.dtype.is_numeric():
        raise InputError(f"time column {column.name!r} must hold dates or numbers")
    return s.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)


def _parse_dates(text: pl.Series) -> pl.Series:
    """Text as Date where polars can infer the format, else null.

    Parses each distinct value once, after a 200-value sample shows the column can be dates:
    format inference is slow, and most text columns (plans, countries) fail at once.
    """
    distinct = text.drop_nulls().unique(maintain_order=True)
    if _to_date(distinct.head(200)).null_count() > (1 - PARSE_SHARE) * min(200, distinct.len()):
        return pl.Series(text.name, [None] * text.len(), dtype=pl.Date)
    return text.replace_strict(distinct, _to_date(distinct), default=None, return_dtype=pl.Date)


def _to_date(text: pl.Series) -> pl.Series:
    """Text as Date, all null when polars cannot infer one format."""
    try:
        return text.str.to_datetime(strict=False).dt.date()
    except pl.exceptions.PolarsError:
        return pl.Series(text.name, [None] * text.len(), dtype=pl.Date)


def _is_id(name: str, values: pl.Series, n: int) -> bool:
    """Whether a number column is an identifier: named like one (id, contact_id, customerID),
    whole numbers, all present and all distinct."""
    if not (_ID_NAME_PLAIN.search(name) or _ID_NAME_CAMEL.search(name)):
        return False
    x = values.cast(pl.Float64)
    return x.null_count() == 0 and bool((x.round(0) == x).all()) and x.n_unique() == n


def _design(frame: pl.DataFrame) -> _Design:
    """Turn every usable column into numeric matrix columns; say what was dropped and why."""
    n = frame.height
    blocks: list[FloatArray] = []
    sources: list[_Source] = []
    notes: list[str] = []
    dropped: list[str] = []
    width = 0
    reference = _latest_date(frame)

    for name in frame.columns:
        s = frame[name]
        kind: Kind
        raw = s
        if s.dtype in (pl.Utf8, pl.Categorical, pl.Enum):
            s = _clean_text(s)
            nonnull = s.drop_nulls()
            lowered = nonnull.str.to_lowercase().unique()
            number = s.cast(pl.Float64, strict=False)
            if nonnull.len() == 0:
                dropped.append(f"{name} (empty)")
                continue
            if lowered.is_in(list(_TRUE | _FALSE)).all():
                kind, values = "binary", s.str.to_lowercase().is_in(list(_TRUE)).cast(pl.Float64)
                values = values.set(s.is_null(), None) if s.null_count() else values
            elif number.null_count() - s.null_count() <= (1 - PARSE_SHARE) * nonnull.len():
                kind, values = "numeric", number
                if number.null_count() > s.null_count():
                    notes.append(
                        f"{name}: {number.null_count() - s.null_count()} values that are not "
                        "numbers were treated as missing"
                    )
            else:
                parsed = _parse_dates(s)
                if parsed.null_count() - s.null_count() <= (1 - PARSE_SHARE) * nonnull.len():
                    kind, values = "date", _age_days(parsed, reference)
                else:
                    kind, values = "category", s
        elif s.dtype == pl.Boolean:
            kind, values = "binary", s.cast(pl.Float64)
        elif s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
            kind, values = "date", _age_days(s.cast(pl.Date), reference)
        elif isinstance(s.dtype, pl.Duration):
            kind, values = "numeric", s.dt.total_seconds().cast(pl.Float64) / 86400.0
        elif s.dtype.is_numeric():
            kind, values = "numeric", s.cast(pl.Float64)
            if s.dtype.is_integer() and s.drop_nulls().is_in([0, 1]).all():
                kind = "binary"
        else:
            dropped.append(f"{name} (type {s.dtype} is not a number, flag, date or text)")
            continue

        if kind == "numeric" and _is_id(name, values, n):
            dropped.append(f"{name} (an id: named like one, every value a distinct integer)")
            continue
        if kind == "category":
            block, source, why = _category_block(name, values, width)
        else:
            block, source, why = _numeric_block(name, kind, values, raw, width)
        if block is None or source is None:
            dropped.append(f"{name} ({why})")
            continue
        blocks.append(block)
        sources.append(source)
        width += block.shape[1]

    if dropped:
        notes.insert(0, "dropped columns: " + ", ".join(dropped))
    matrix = np.hstack(blocks) if blocks else np.empty((n, 0), dtype=np.float64)
    return _Design(matrix=matrix.astype(np.float64), sources=sources, notes=notes)


def _latest_date(frame: pl.DataFrame) -> date | None:
    """The latest date in any date column: ages are counted back from it."""
    latest = [
        frame[c].cast(pl.Date).max()
        for c in frame.columns
        if frame[c].dtype == pl.Date or isinstance(frame[c].dtype, pl.Datetime)
    ]
    found = [d for d in latest if isinstance(d, date)]
    return max(found) if found else None


def _age_days(dates: pl.Series, reference: date | None) -> pl.Series:
    """Days from each date to `reference` (or to the column's own latest date)."""
    anchor = reference
    latest = dates.max()
    if isinstance(latest, date) and (anchor is None or latest > anchor):
        anchor = latest
    if anchor is None:
        return dates.cast(pl.Float64)
    age = (pl.lit(anchor) - pl.col(dates.name)).dt.total_days().cast(pl.Float64)
    return dates.to_frame().select(age).to_series()


def _numeric_block(
    name: str, kind: Kind, values: pl.Series, raw: pl.Series, start: int
) -> tuple[FloatArray | None, _Source | None, str]:
    """A value column (median-imputed) and, if anything is missing, a missing indicator."""
    x = values.cast(pl.Float64).fill_nan(None).to_numpy().astype(np.float64)
    x[~np.isfinite(x)] = np.nan
    missing = np.isnan(x)
    present = x[~missing]
    if present.size == 0:
        return None, None, "empty"
    if np.unique(present).size == 1 and not missing.any():
        return None, None, "the same value in every row"
    median = float(np.median(present))
    if kind == "binary":
        median = float(np.round(present.mean()))  # the more common of the two values
    filled = np.where(missing, median, x)
    columns = [filled]
    baseline = [median]
    if missing.any():
        columns.append(missing.astype(np.float64))
        baseline.append(0.0)
    block = np.column_stack(columns)
    labels: npt.NDArray[np.object_]
    if kind == "binary":
        text = raw.cast(pl.Utf8).str.strip_chars() if raw.dtype != pl.Boolean else raw.cast(pl.Utf8)
        labels = (
            pl.select(
                pl.when(text.is_null() | (text == ""))
                .then(pl.lit(f"{name} missing"))
                .otherwise(pl.lit(f"{name} = ") + text)
            )
            .to_series()
            .to_numpy()
            .astype(object)
        )
    else:
        labels = np.where(missing, f"{name} missing", "").astype(object)
    source = _Source(
        name=name,
        kind=kind,
        columns=list(range(start, start + block.shape[1])),
        baseline=baseline,
        labels=labels,
        values=None if kind == "binary" else x,
    )
    return block, source, ""


def _category_block(
    name: str, values: pl.Series, start: int
) -> tuple[FloatArray | None, _Source | None, str]:
    """One-hot columns for the common values, "other" for the rest, and one for missing."""
    counts = values.drop_nulls().value_counts(sort=True, name="n")
    distinct = counts.height
    nonnull = int(counts["n"].sum())
    if distinct > MAX_CATEGORIES and distinct > MAX_DISTINCT_SHARE * nonnull:
        return None, None, f"{distinct} distinct values: an id, name or free text"
    kept = counts.filter(pl.col("n") >= MIN_CATEGORY_ROWS).head(MAX_CATEGORIES)
    if kept.is_empty():
        return None, None, f"no value appears {MIN_CATEGORY_ROWS} times"
    keep = kept[values.name].to_list()
    columns = [(values == v).fill_null(False).to_numpy() for v in keep]
    present = values.is_not_null().to_numpy()
    other = present & ~np.any(np.column_stack(columns), axis=1)
    if other.any():
        columns.append(other)
    missing = ~present
    if missing.any():
        columns.append(missing)
    if len(columns) < 2:
        return None, None, "the same value in every row"
    block = np.column_stack(columns).astype(np.float64)
    mode = int(np.argmax(block.sum(axis=0)))
    baseline = [1.0 if j == mode else 0.0 for j in range(block.shape[1])]
    labels = (
        pl.select(
            pl.when(values.is_null())
            .then(pl.lit(f"{name} missing"))
            .otherwise(pl.lit(f"{name} = ") + values)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )
    source = _Source(
        name=name,
        kind="category",
        columns=list(range(start, start + block.shape[1])),
        baseline=baseline,
        labels=labels,
        values=None,
    )
    return block, source, ""


# --- why: per-contact contributions and reasons ---------------------------------------------


def _grouping(design: _Design) -> FloatArray:
    """A (matrix columns x original columns) 0/1 matrix summing columns into their source."""
    group = np.zeros((design.matrix.shape[1], len(design.sources)))
    for k, source in enumerate(design.sources):
        group[source.columns, k] = 1.0
    return group


def _logistic_contributions(fitted: Any, design: _Design) -> FloatArray:
    """Coefficient x standardized value, summed per original column (log-odds units)."""
    scaler, model = fitted.named_steps["scale"], fitted.named_steps["model"]
    z = (design.matrix - np.asarray(scaler.mean_)) / np.asarray(scaler.scale_)
    per_column = z * np.asarray(model.coef_, dtype=np.float64)[0]
    return np.asarray(per_column @ _grouping(design), dtype=np.float64)


def _tree_contributions(fitted: Any, design: _Design) -> FloatArray:
    """P(churn) minus P(churn) with one original column set to its typical value.

    Rows already holding the typical value contribute 0 and are not predicted again.
    """
    X = design.matrix
    p = np.asarray(fitted.predict_proba(X)[:, 1], dtype=np.float64)
    out = np.zeros((X.shape[0], len(design.sources)))
    for k, source in enumerate(design.sources):
        baseline = np.asarray(source.baseline)
        rows = np.flatnonzero(np.any(X[:, source.columns] != baseline, axis=1))
        if rows.size:
            typical = X[rows]
            typical[:, source.columns] = baseline
            out[rows, k] = p[rows] - np.asarray(fitted.predict_proba(typical)[:, 1])
    return out


def _references(fitted: Any, chosen: str, design: _Design) -> list[float]:
    """Per original column, the value "high" and "low" are told against.

    The logistic regression's contributions are relative to the training mean, the trees'
    to the median, so a number above its reference pushes the way its reason says.
    """
    if chosen == LOGISTIC:
        means = np.asarray(fitted.named_steps["scale"].mean_, dtype=np.float64)
        return [float(means[s.columns[0]]) for s in design.sources]
    return [s.baseline[0] for s in design.sources]


def _reasons(
    contributions: FloatArray, design: _Design, references: list[float]
) -> list[pl.Series]:
    """The labels of the three original columns pushing each row's risk up most."""
    n, k = contributions.shape
    top = min(TOP_REASONS, k)
    ranked = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    out: list[pl.Series] = []
    for rank in range(TOP_REASONS):
        labels = np.full(n, None, dtype=object)
        if rank < top:
            chosen = ranked[:, rank]
            pushes_up = contributions[np.arange(n), chosen] > 0
            for j, source in enumerate(design.sources):
                rows = (chosen == j) & pushes_up
                if rows.any():
                    labels[rows] = _labels_for(source, rows, references[j])
        # Built from a list: Polars cannot cast a large numpy object array to text.
        texts = [None if v is None else str(v) for v in labels.tolist()]
        out.append(pl.Series(f"reason_{rank + 1}", texts, dtype=pl.Utf8))
    return out


def _labels_for(
    source: _Source, rows: npt.NDArray[np.bool_], reference: float
) -> npt.NDArray[np.object_]:
    """Reason text for `rows`: the value for categories and flags, high/low for numbers."""
    fixed = source.labels[rows]
    if source.values is None:
        return fixed
    x = source.values[rows]
    high, low = ("long ago", "recent") if source.kind == "date" else ("high", "low")
    word = np.where(x >= reference, high, low)
    numeric = np.char.add(f"{source.name} ", word.astype(str)).astype(object)
    return np.where(fixed == "", numeric, fixed)
