"""Cohort retention: who keeps buying after their first order, and how many will be left.

Customers are grouped into acquisition cohorts by the calendar period (month by default) of
their first order. For each cohort and each period after it the tables say how many members
ordered, what share of the cohort that is, and what they spent: the retention heatmap of a
CRM report. The shifted-beta-geometric (sBG) model then projects a cohort's survivors beyond
the data (P. S. Fader and B. G. S. Hardie (2007), "How to Project Customer Retention",
Journal of Interactive Marketing 21(1):76-90).

The sBG likelihood is written here (a dozen lines over `scipy.special.betaln`) rather than
taken from a library: `lifetimes` is unmaintained and does not have it, and pymc-marketing,
which does, brings PyMC and weighs some 600 MB for a two-parameter maximum likelihood.

Input: the same orders frame as `rfm` (`contact_id`, `ordered_at`, `amount`, one row per
order); only orders on or before `as_of` count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln

from rolodex.analyze.rfm import prepare_orders
from rolodex.exceptions import InputError

__all__ = [
    "PERIODS",
    "CohortResult",
    "SbgFit",
    "cohorts",
    "fit_sbg",
    "fit_sbg_from_cohorts",
]

# Calendar periods a cohort can be cut by; weeks start on Monday (ISO).
PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year")

_MONDAY = date(1970, 1, 5)  # the first Monday of the epoch, origin of week numbers
# Bounds of log(alpha) and log(beta) in the search: wide enough for any real cohort, and
# they keep a fit finite when the data cannot tell the parameters apart (no heterogeneity).
_LOG_BOUND = 12.0


@dataclass(frozen=True, slots=True)
class CohortResult:
    """Acquisition cohorts and their activity in each later period, up to `as_of`.

    Attributes:
        table: one row per cohort and offset, sorted by both: `cohort` (start day of the
            period of the first order), `offset` (0 = that period), `period` (start day of
            the period the row describes), `size` (cohort members), `active` (members who
            ordered in the period), `retention` (active / size), `revenue` (what members
            spent in the period), `revenue_per_member` (revenue / size), `alive` (members
            who ordered in this period or a later one, up to `as_of`) and `is_complete`
            (the period ended on or before `as_of`; the last one is usually partial).
            Offsets after `as_of` are absent, not zero.
        retention: the same retention as a heatmap: `cohort`, `size`, then one column per
            offset ("0", "1", ...); null where the offset lies after `as_of`.
        as_of: the last day counted.
        period: "week", "month", "quarter" or "year".
    """

    table: pl.DataFrame
    retention: pl.DataFrame
    as_of: date
    period: str

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready document: one entry per cohort with lists by offset."""
        per_cohort = (
            self.table.group_by("cohort", maintain_order=True)
            .agg(
                pl.col("size").first(),
                "offset",
                "active",
                "retention",
                "revenue",
                "revenue_per_member",
                "alive",
                "is_complete",
            )
            .with_columns(pl.col("cohort").dt.to_string("%Y-%m-%d"))
        )
        return {
            "as_of": self.as_of.isoformat(),
            "period": self.period,
            "customers": int(per_cohort["size"].sum()),
            "cohorts": per_cohort.to_dicts(),
        }


@dataclass(frozen=True, slots=True)
class SbgFit:
    """A shifted-beta-geometric fit: churn probability ~ Beta(alpha, beta) across customers.

    Attributes:
        alpha: first Beta parameter of the churn probability.
        beta: second Beta parameter; alpha / (alpha + beta) is the mean churn probability.
        log_likelihood: the maximized log-likelihood.
        cohort_size: customers at period 0, the base of `projected_alive`.
        periods: the number of periods of churn the fit saw.
    """

    alpha: float
    beta: float
    log_likelihood: float
    cohort_size: int
    periods: int

    def survival(self, t: int) -> float:
        """Return S(t), the probability that a customer is still alive after `t` periods."""
        if t < 0:
            raise InputError(f"survival needs a period t >= 0, not {t}")
        return float(np.exp(betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta)))

    def projected_alive(self, periods: int) -> tuple[float, ...]:
        """Return the expected survivors of the cohort at t = 0, 1, ..., `periods`."""
        t = np.arange(periods + 1, dtype=np.float64)
        log_s = betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta)
        return tuple(float(v) for v in self.cohort_size * np.exp(log_s))

    def retention_rates(self, periods: int) -> tuple[float, ...]:
        """Return r(t) = S(t) / S(t-1) for t = 1, ..., `periods`; it rises with t (sorting)."""
        t = np.arange(1, periods + 1, dtype=np.float64)
        rates = (self.beta + t - 1) / (self.alpha + self.beta + t - 1)
        return tuple(float(v) for v in rates)

    def to_json(self) -> dict[str, Any]:
        """Return the parameters and fit as a JSON-ready dict."""
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "log_likelihood": self.log_likelihood,
            "cohort_size": self.cohort_size,
            "periods": self.periods,
        }


def _period_index(period: str, day: pl.Expr) -> pl.Expr:
    """Number the calendar period holding `day`, consecutive periods by consecutive ints."""
    if period == "month":
        return day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64) - 1
    if period == "quarter":
        return day.dt.year().cast(pl.Int64) * 4 + (day.dt.month().cast(pl.Int64) - 1) // 3
    if period == "year":
        return day.dt.year().cast(pl.Int64)
    return (day - pl.lit(_MONDAY)).dt.total_days().cast(pl.Int64) // 7


def _period_start(period: str, index: pl.Expr) -> pl.Expr:
    """Return the first day of the period numbered `index` by `_period_index`."""
    if period == "month":
        return pl.date(index // 12, index % 12 + 1, 1)
    if period == "quarter":
        return pl.date(index // 4, (index % 4) * 3 + 1, 1)
    if period == "year":
        return pl.date(index, 1, 1)
    return pl.lit(_MONDAY) + pl.duration(days=index * 7)


def _index_of(period: str, day: date) -> int:
    """Number the period holding one day (the scalar twin of `_period_index`)."""
    value = pl.select(_period_index(period, pl.lit(day))).item()
    return int(value)


def cohorts(orders: pl.DataFrame, *, as_of: date, period: str = "month") -> CohortResult:
    """Group customers by the period of their first order and follow each group over time.

    A customer's cohort is the period of their first order on or before `as_of`; offset k is
    the k-th period after it. Every cohort gets a row for each offset from 0 to the period
    holding `as_of` (zero activity included); later offsets are absent. The period holding
    `as_of` is usually only partly observed: its rows have `is_complete` false.

    Args:
        orders: one row per order with `contact_id`, `ordered_at`, `amount`.
        as_of: the last day counted; later orders are ignored.
        period: "month" (default), "week" (Monday to Sunday), "quarter" or "year".

    Returns:
        The tidy table and the wide retention matrix (see `CohortResult`).

    Raises:
        InputError: an unknown period, a missing or unusable column, or no order on or
            before `as_of`.

    Examples:
        >>> from datetime import datetime
        >>> orders = pl.DataFrame({
        ...     "contact_id": [1, 1, 2],
        ...     "ordered_at": [datetime(2024, 1, 5), datetime(2024, 2, 1), datetime(2024, 1, 9)],
        ...     "amount": [10.0, 20.0, 5.0],
        ... })
        >>> cohorts(orders, as_of=date(2024, 2, 29)).table["retention"].to_list()
        [1.0, 0.5]
    """
    if period not in PERIODS:
        raise InputError(f"unknown cohort period {period!r}; use one of {', '.join(PERIODS)}")
    prepared = prepare_orders(orders, as_of=as_of)
    last_index = _index_of(period, as_of)
    complete_below = _index_of(period, as_of + timedelta(days=1))

    dated = prepared.lazy().with_columns(_period_index(period, pl.col("order_date")).alias("p"))
    members = dated.group_by("contact_id").agg(pl.col("p").min().alias("c"))
    offsets = dated.join(members, on="contact_id").with_columns(
        (pl.col("p") - pl.col("c")).alias("offset")
    )
    activity = offsets.group_by("c", "offset").agg(
        pl.col("contact_id").n_unique().cast(pl.Int64).alias("active"),
        pl.col("amount").sum().alias("revenue"),
    )
    last_seen = (
        offsets.group_by("contact_id")
        .agg(pl.col("c").first(), pl.col("offset").max())
        .group_by("c", "offset")
        .agg(pl.len().cast(pl.Int64).alias("leaving"))
    )
    sizes = members.group_by("c").agg(pl.len().cast(pl.Int64).alias("size"))
    table = (
        sizes.with_columns(pl.int_ranges(0, last_index - pl.col("c") + 1).alias("offset"))
        .explode("offset")
        .with_columns(pl.col("offset").cast(pl.Int64))
        .join(activity, on=["c", "offset"], how="left")
        .join(last_seen, on=["c", "offset"], how="left")
        .with_columns(
            pl.col("active").fill_null(0),
            pl.col("revenue").fill_null(0.0),
            pl.col("leaving").fill_null(0),
        )
        .sort("c", "offset")
        .with_columns(
            _period_start(period, pl.col("c")).alias("cohort"),
            _period_start(period, pl.col("c") + pl.col("offset")).alias("period"),
            (pl.col("active") / pl.col("size")).alias("retention"),
            (pl.col("revenue") / pl.col("size")).alias("revenue_per_member"),
            pl.col("leaving").cum_sum(reverse=True).over("c").alias("alive"),
            (pl.col("c") + pl.col("offset") < complete_below).alias("is_complete"),
        )
        .select(
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
        )
        .collect()
    )
    return CohortResult(table=table, retention=_retention_matrix(table), as_of=as_of, period=period)


def _retention_matrix(table: pl.DataFrame) -> pl.DataFrame:
    """Lay retention out wide: one row per cohort, one column per offset."""
    wide = table.pivot(on="offset", index=["cohort", "size"], values="retention")
    offsets = [str(k) for k in table["offset"].unique().sort().to_list()]
    return wide.select("cohort", "size", *offsets).sort("cohort")


def _check_alive(alive: Sequence[int]) -> npt.NDArray[np.float64]:
    """Check one cohort's survivor counts and return them as floats."""
    if len(alive) == 0:
        raise InputError(
            "no survivor counts given; pass the cohort size and then one count per period"
        )
    if len(alive) < 2:
        raise InputError(
            "the sBG model needs at least 2 counts (the cohort size and the survivors after "
            f"one period), got {len(alive)}"
        )
    values = np.asarray(alive, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or values.min() < 0:
        raise InputError(f"survivor counts must be whole numbers >= 0, got {list(alive)}")
    if values[0] == 0:
        raise InputError("the cohort is empty (alive[0] is 0)")
    rises = np.flatnonzero(np.diff(values) > 0)
    if rises.size:
        t = int(rises[0]) + 1
        raise InputError(
            f"survivor counts must not increase: alive[{t}] = {int(values[t])} is more than "
            f"alive[{t - 1}] = {int(values[t - 1])}; a customer who left cannot come back "
            "in this model"
        )
    return values


def _negative_log_likelihood(
    log_params: npt.NDArray[np.float64], groups: list[npt.NDArray[np.float64]]
) -> float:
    """Return minus the sBG log-likelihood of all cohorts at (log alpha, log beta)."""
    a, b = np.exp(log_params)
    base = betaln(a, b)
    total = 0.0
    for alive in groups:
        t = np.arange(1, alive.size, dtype=np.float64)
        churned = alive[:-1] - alive[1:]
        # P(T = t) = B(a + 1, b + t - 1) / B(a, b): churned in period t.
        total += float(np.sum(churned * (betaln(a + 1.0, b + t - 1.0) - base)))
        # S(T) = B(a, b + T) / B(a, b): still alive after the last observed period.
        total += float(alive[-1] * (betaln(a, b + t[-1]) - base))
    return -total


def _fit(groups: list[npt.NDArray[np.float64]]) -> SbgFit:
    """Maximize the sBG likelihood of one or more cohorts sharing alpha and beta."""
    if all(g[-1] == g[0] for g in groups):
        raise InputError(
            "no customer churned in the periods given, so the churn rate cannot be "
            "estimated; wait for more periods or use a larger cohort"
        )
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 2
    # A coarse simplex search finds the basin, a quasi-Newton step polishes the optimum.
    coarse = minimize(
        _negative_log_likelihood,
        x0=np.zeros(2),
        args=(groups,),
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
    )
    fine = minimize(
        _negative_log_likelihood,
        x0=np.asarray(coarse.x, dtype=np.float64),
        args=(groups,),
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-15, "gtol": 1e-10},
    )
    best = fine if float(fine.fun) <= float(coarse.fun) else coarse
    alpha, beta = (float(v) for v in np.exp(best.x))
    return SbgFit(
        alpha=alpha,
        beta=beta,
        log_likelihood=-float(best.fun),
        cohort_size=int(sum(g[0] for g in groups)),
        periods=max(g.size - 1 for g in groups),
    )


def fit_sbg(alive: Sequence[int]) -> SbgFit:
    """Fit the shifted-beta-geometric model to one cohort's survivors by maximum likelihood.

    Each customer churns at the end of a period with a probability that is fixed for them
    and Beta(alpha, beta)-distributed across customers (Fader & Hardie 2007). With n_t the
    customers lost in period t and alive[T] those left after the last period, the
    log-likelihood is sum_t n_t log P(T = t) + alive[T] log S(T), where
    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) and
    S(t) = B(alpha, beta + t) / B(alpha, beta).

    Args:
        alive: alive[0] is the cohort size at period 0, alive[t] the customers still active
            at the start of period t (contractual data: renewals observed).

    Returns:
        The fitted alpha, beta and log-likelihood, with survival and projection methods.

    Raises:
        InputError: no counts, fewer than 2, counts that are not whole numbers or that
            increase, an empty cohort, or no churn at all (nothing to estimate).

    Examples:
        >>> fit = fit_sbg([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> round(fit.alpha, 3), round(fit.beta, 3)
        (0.704, 1.182)
    """
    return _fit([_check_alive(alive)])


def fit_sbg_cohorts(cohorts: Sequence[Sequence[int]]) -> SbgFit:
    """Fit one sBG model to several cohorts' survivors (each as in `fit_sbg`), sharing alpha
    and beta: customers who started in different periods, observed for as long as each was."""
    if not cohorts:
        raise InputError("no cohorts to fit the retention model to")
    return _fit([_check_alive(alive) for alive in cohorts])


def fit_sbg_from_cohorts(
    result: CohortResult, *, cohort: date | None = None, periods: int | None = None
) -> SbgFit:
    """Fit the sBG model to the order cohorts of `cohorts`, one cohort or all together.

    Orders are non-contractual data: nobody says when they leave. Here a customer counts as
    alive at the start of offset t when they ordered in offset t or later (up to `as_of`),
    i.e. alive through their last active period and lost right after it. This "last order"
    proxy ignores gaps (a customer who skips a month stays alive), but it turns every silence
    at the end of the window into churn, so the last periods before `as_of` overstate churn;
    leave them out with `periods`. Only complete periods are used. For contractual data
    (subscriptions, where a cancellation is recorded) count the subscribers yourself and call
    `fit_sbg`.

    Args:
        result: the output of `cohorts`.
        cohort: the start day of one cohort (its `cohort` value); None fits all cohorts
            together with a shared alpha and beta (each cohort contributes its own periods).
        periods: use at most this many periods of churn per cohort.

    Returns:
        The fit; its `cohort_size` is the size of the cohort, or of all cohorts together.

    Raises:
        InputError: the cohort does not exist, or no cohort has a complete period after its
            first, or no customer churned.
    """
    table = result.table.filter(pl.col("is_complete"))
    if cohort is not None:
        if cohort not in result.table["cohort"].to_list():
            raise InputError(
                f"no cohort starts on {cohort.isoformat()}; cohorts are "
                f"{', '.join(d.isoformat() for d in result.table['cohort'].unique().sort())}"
            )
        table = table.filter(pl.col("cohort") == cohort)
    if periods is not None:
        if periods < 1:
            raise InputError(f"periods must be at least 1, got {periods}")
        table = table.filter(pl.col("offset") <= periods)
    groups = [
        np.asarray(alive, dtype=np.float64)
        for alive in table.group_by("cohort", maintain_order=True)
        .agg(pl.col("alive").sort_by("offset"))["alive"]
        .to_list()
        if len(alive) >= 2
    ]
    if not groups:
        raise InputError(
            "no cohort has a complete period after its first; choose a later as_of or a "
            "shorter cohort period"
        )
    return _fit(groups)
