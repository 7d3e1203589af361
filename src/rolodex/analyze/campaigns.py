"""Campaign performance: what each arm of a campaign reached and earned, and what it added.

A campaign's members are split into arms: one or more treatments and, when the campaign was
run as a test, a control (hold-out) arm that got nothing. Rates per arm say what happened; the
comparison of each treatment with the control says what the campaign *caused*, which is the
number a marketer should act on (an e-mail with a 15 % visit rate is a loss if the hold-out
visited at 16 %). So this module reports, per campaign and arm, reach, responses, conversions
and revenue, and per treatment against the control the absolute and relative lift of the
response rate, the conversion rate and the revenue per contact, with confidence intervals,
p-values and the incremental responses, conversions and revenue (lift times reach).

Statistics, and why these ones:

- Difference of two rates: Newcombe's hybrid score interval (Newcombe 1998, "Interval
  estimation for the difference between independent proportions", Statistics in Medicine
  17:873-890, method 10), built from the two Wilson score intervals. Campaign rates are often
  small (conversion rates under 1 %) and arms can be small; there the Wald interval is too
  narrow and can leave [-1, 1], while Newcombe's keeps close to nominal coverage and is
  defined with zero events. For large arms the two agree to a few decimals.
- Its p-value: the pooled two-proportion z-test (the same as Pearson's chi-square on the 2x2
  table without continuity correction), normal tail from `scipy.stats.norm`.
- Relative lift of a rate (ratio - 1): Katz's log interval, var(log RR) = (1-p1)/x1 +
  (1-p0)/x0 (Katz et al. 1978, Biometrics 34:469-474); undefined when an arm has no events.
- Revenue per contact: Welch's unequal-variance t-test and t interval for the difference of
  means (`scipy.stats.ttest_ind_from_stats`); revenue is zero for most members and has a
  long tail, and the arms' variances differ, which Welch allows. Its relative lift uses the
  delta method on the log of the ratio of means.

Written here with numpy and scipy.stats distribution functions over all comparisons at once
rather than one statsmodels call per comparison, so a report over many campaigns stays one
vectorized pass; the tests check the numbers against statsmodels' own functions.

Members whose arm is null are treated as the single treated arm ``"treated"``. Null
`responded` / `converted` count as no, null `revenue` as 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from rolodex.exceptions import InputError

__all__ = [
    "CONTROL_ARM_PATTERN",
    "TREATED_ARM",
    "CampaignResult",
    "campaign_performance",
    "is_control_arm",
    "newcombe_interval",
    "wilson_interval",
]

FloatArray = npt.NDArray[np.float64]

# The label a null arm gets: a campaign with one treated group and no split.
TREATED_ARM = "treated"

# Arm names that mean "this group got nothing", matched on the lower-cased name with every run
# of non-alphanumerics turned into one space ("No E-Mail" -> "no e mail").
CONTROL_ARM_PATTERN = re.compile(
    r"\b(?:control|controls|holdout|hold out|held out|untreated|not treated|no treatment"
    r"|non treated|nontreated|no (?:e ?mail|mail|mailing|contact|message|send|sms|call|offer))\b"
)

_REQUIRED = ("campaign", "contact_id", "responded", "converted", "revenue")
_RATES = (("response_rate", "responses"), ("conversion_rate", "conversions"))


@dataclass(frozen=True)
class CampaignResult:
    """Per-arm performance and per-treatment lift against the control.

    Attributes:
        arms: One row per campaign and arm: ``campaign``, ``arm``, ``is_control``, ``reach``,
            ``responses``, ``response_rate``, ``conversions``, ``conversion_rate``,
            ``revenue``, ``revenue_per_contact``.
        comparisons: One row per campaign and treatment arm that has a control: ``campaign``,
            ``arm``, ``control_arm``, ``reach``, ``control_reach``; for each metric ``m`` in
            ``response_rate``, ``conversion_rate``, ``revenue_per_contact``: ``m``,
            ``m_control``, ``m_lift`` (absolute), ``m_lift_lower``, ``m_lift_upper``,
            ``m_relative_lift`` (treatment / control - 1), ``m_relative_lift_lower``,
            ``m_relative_lift_upper``, ``m_p_value``; then ``incremental_responses``,
            ``incremental_conversions``, ``incremental_revenue``. Undefined values are null.
        confidence: Level of every interval.
        rate_interval: Method of the rate-difference intervals.
        notes: What a reader should know (campaigns without a control, duplicate members).
    """

    arms: pl.DataFrame
    comparisons: pl.DataFrame
    confidence: float
    rate_interval: str = "newcombe-hybrid-score"
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready document: the settings, both tables as lists of rows, the notes."""
        document: dict[str, Any] = {
            "confidence": self.confidence,
            "rate_interval": self.rate_interval,
            "revenue_interval": "welch-t",
            "arms": self.arms.to_dicts(),
            "comparisons": self.comparisons.to_dicts(),
            "notes": list(self.notes),
        }
        return document


def is_control_arm(name: str) -> bool:
    """Tell whether an arm's name says it is a control / hold-out group."""
    normalized = re.sub(r"[^0-9a-z]+", " ", name.lower()).strip()
    return CONTROL_ARM_PATTERN.search(normalized) is not None


def campaign_performance(
    members: pl.DataFrame, *, control: str | None = None, confidence: float = 0.95
) -> CampaignResult:
    """Measure every campaign arm and the lift of each treatment over its control.

    Args:
        members: One row per campaign member with ``campaign`` (Utf8), ``arm`` (Utf8; null
            or absent means one treated arm), ``contact_id``, ``responded`` (Boolean),
            ``converted`` (Boolean) and ``revenue`` (Float64, null = 0).
        control: Name of the control arm. When None it is recognized by name ("control",
            "holdout", "No E-Mail", ...); a campaign with no such arm gets no lift rows.
        confidence: Level of the confidence intervals, between 0 and 1.

    Returns:
        A `CampaignResult` with the per-arm and the per-comparison tables.

    Raises:
        InputError: A required column is missing or of the wrong type, a member has no
            campaign, `confidence` is not
            between 0 and 1, `control` names an arm no campaign has, or a campaign has two
            arms that both look like a control.

    Examples:
        >>> result = campaign_performance(members)
        >>> result.comparisons.select("arm", "response_rate_lift", "response_rate_p_value")
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}")
    frame = _prepare(members)
    notes: list[str] = []

    duplicates = frame.select(pl.struct("campaign", "contact_id").is_duplicated().sum()).item()
    if duplicates:
        notes.append(
            f"{duplicates} member rows share a contact with another row of the same campaign; "
            "each row is counted as one member"
        )

    arms = (
        frame.group_by("campaign", "arm")
        .agg(
            pl.len().alias("reach"),
            pl.col("responded").sum().alias("responses"),
            pl.col("converted").sum().alias("conversions"),
            pl.col("revenue").sum().alias("revenue"),
            pl.col("revenue").std(ddof=1).alias("_revenue_sd"),
        )
        .with_columns(pl.col("reach", "responses", "conversions").cast(pl.Int64))
        .with_columns(
            (pl.col("responses") / pl.col("reach")).alias("response_rate"),
            (pl.col("conversions") / pl.col("reach")).alias("conversion_rate"),
            (pl.col("revenue") / pl.col("reach")).alias("revenue_per_contact"),
        )
    )
    controls = _controls(arms.select("campaign", "arm"), control=control, notes=notes)
    arms = arms.join(controls, on="campaign", how="left").with_columns(
        (pl.col("arm") == pl.col("control_arm")).fill_null(False).alias("is_control")
    )

    comparisons = _compare(arms, confidence=confidence)
    arms_out = arms.sort("campaign", "is_control", "arm").select(
        "campaign",
        "arm",
        "is_control",
        "reach",
        "responses",
        "response_rate",
        "conversions",
        "conversion_rate",
        "revenue",
        "revenue_per_contact",
    )
    return CampaignResult(
        arms=arms_out, comparisons=comparisons, confidence=confidence, notes=tuple(notes)
    )


def _prepare(members: pl.DataFrame) -> pl.DataFrame:
    """Check the columns and return campaign, arm, contact_id and clean outcome columns."""
    missing = [name for name in _REQUIRED if name not in members.columns]
    if missing:
        raise InputError(
            f"members frame lacks column(s) {', '.join(missing)}; it needs one row per "
            f"campaign member with {', '.join(_REQUIRED)} (and optionally arm)"
        )
    for name in ("responded", "converted"):
        dtype = members.schema[name]
        if dtype != pl.Boolean and not dtype.is_integer() and dtype != pl.Null:
            raise InputError(f"must be Boolean (or 0/1), got {dtype}", column=name)
    if not (members.schema["revenue"].is_numeric() or members.schema["revenue"] == pl.Null):
        raise InputError(f"must be numeric, got {members.schema['revenue']}", column="revenue")
    no_campaign = members.select(pl.col("campaign").is_null().sum()).item()
    if no_campaign:
        raise InputError(
            f"{no_campaign} member row(s) have no campaign; drop them or name their campaign",
            column="campaign",
        )
    arm = (
        pl.col("arm").cast(pl.Utf8).fill_null(TREATED_ARM)
        if "arm" in members.columns
        else pl.lit(TREATED_ARM)
    )
    return members.select(
        pl.col("campaign").cast(pl.Utf8),
        arm.alias("arm"),
        pl.col("contact_id"),
        (pl.col("responded").cast(pl.Int64).fill_null(0) != 0).alias("responded"),
        (pl.col("converted").cast(pl.Int64).fill_null(0) != 0).alias("converted"),
        pl.col("revenue").cast(pl.Float64).fill_null(0.0).alias("revenue"),
    )


def _controls(pairs: pl.DataFrame, *, control: str | None, notes: list[str]) -> pl.DataFrame:
    """Pick each campaign's control arm (given or recognized by name); one row per campaign."""
    by_campaign: dict[str, list[str]] = {}
    for campaign, arm in pairs.sort("campaign", "arm").iter_rows():
        by_campaign.setdefault(campaign, []).append(arm)
    if control is not None and not any(control in arms for arms in by_campaign.values()):
        raise InputError(
            f"control arm {control!r} is not an arm of any campaign; arms are "
            f"{sorted({arm for arms in by_campaign.values() for arm in arms})}"
        )
    rows: list[tuple[str, str | None]] = []
    for campaign, arms in by_campaign.items():
        chosen: str | None
        if control is not None:
            chosen = control if control in arms else None
        else:
            candidates = [arm for arm in arms if is_control_arm(arm)]
            if len(candidates) > 1:
                raise InputError(
                    f"campaign {campaign!r} has several arms that look like a control "
                    f"({', '.join(candidates)}); pass control= to say which one"
                )
            chosen = candidates[0] if candidates else None
        if chosen is None:
            notes.append(
                f"campaign {campaign!r} has no control arm (arms: {', '.join(arms)}); "
                "no lift computed. Name it with control= if one of them is the hold-out"
            )
        elif len(arms) == 1:
            notes.append(f"campaign {campaign!r} has only its control arm {chosen!r}")
        rows.append((campaign, chosen))
    return pl.DataFrame(rows, schema={"campaign": pl.Utf8, "control_arm": pl.Utf8}, orient="row")


def _compare(arms: pl.DataFrame, *, confidence: float) -> pl.DataFrame:
    """Return one row per treatment arm with its lifts over the campaign's control arm."""
    control = arms.filter(pl.col("is_control")).select(
        "campaign",
        pl.col("reach").alias("control_reach"),
        pl.col("responses").alias("_control_responses"),
        pl.col("conversions").alias("_control_conversions"),
        pl.col("response_rate").alias("response_rate_control"),
        pl.col("conversion_rate").alias("conversion_rate_control"),
        pl.col("revenue_per_contact").alias("revenue_per_contact_control"),
        pl.col("_revenue_sd").alias("_control_revenue_sd"),
    )
    pairs = (
        arms.filter(~pl.col("is_control") & pl.col("control_arm").is_not_null())
        .join(control, on="campaign", how="inner")
        .sort("campaign", "arm")
    )
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    n1 = _floats(pairs, "reach")
    n0 = _floats(pairs, "control_reach")

    columns: dict[str, Sequence[Any] | pl.Series] = {
        "campaign": pairs["campaign"],
        "arm": pairs["arm"],
        "control_arm": pairs["control_arm"],
        "reach": pairs["reach"],
        "control_reach": pairs["control_reach"],
    }
    lifts: dict[str, FloatArray] = {}
    for rate, count in _RATES:
        x1 = _floats(pairs, count)
        x0 = _floats(pairs, f"_control_{count}")
        p1, p0 = x1 / n1, x0 / n0
        lower, upper = newcombe_interval(x1, n1, x0, n0, z=z)
        rel_lower, rel_upper = _katz_interval(x1, n1, x0, n0, z=z)
        lifts[rate] = p1 - p0
        columns |= _metric_columns(
            rate,
            treated=p1,
            control=p0,
            lower=lower,
            upper=upper,
            rel_lower=rel_lower,
            rel_upper=rel_upper,
            p_value=_pooled_z_p_value(x1, n1, x0, n0),
        )

    m1 = _floats(pairs, "revenue_per_contact")
    m0 = _floats(pairs, "revenue_per_contact_control")
    s1 = _floats(pairs, "_revenue_sd")
    s0 = _floats(pairs, "_control_revenue_sd")
    lower, upper, p_value = _welch(m1, s1, n1, m0, s0, n0, confidence=confidence)
    rel_lower, rel_upper = _log_ratio_of_means_interval(m1, s1, n1, m0, s0, n0, z=z)
    lifts["revenue_per_contact"] = m1 - m0
    columns |= _metric_columns(
        "revenue_per_contact",
        treated=m1,
        control=m0,
        lower=lower,
        upper=upper,
        rel_lower=rel_lower,
        rel_upper=rel_upper,
        p_value=p_value,
    )
    columns["incremental_responses"] = _nullable(lifts["response_rate"] * n1)
    columns["incremental_conversions"] = _nullable(lifts["conversion_rate"] * n1)
    columns["incremental_revenue"] = _nullable(lifts["revenue_per_contact"] * n1)
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def _metric_columns(
    name: str,
    *,
    treated: FloatArray,
    control: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    rel_lower: FloatArray,
    rel_upper: FloatArray,
    p_value: FloatArray,
) -> dict[str, Sequence[Any] | pl.Series]:
    """Lay out one metric's values, lift, interval, relative lift and p-value as columns."""
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(control != 0, treated / control - 1.0, np.nan)
    return {
        name: _nullable(treated),
        f"{name}_control": _nullable(control),
        f"{name}_lift": _nullable(treated - control),
        f"{name}_lift_lower": _nullable(lower),
        f"{name}_lift_upper": _nullable(upper),
        f"{name}_relative_lift": _nullable(relative),
        f"{name}_relative_lift_lower": _nullable(rel_lower),
        f"{name}_relative_lift_upper": _nullable(rel_upper),
        f"{name}_p_value": _nullable(p_value),
    }


def wilson_interval(x: FloatArray, n: FloatArray, *, z: float) -> tuple[FloatArray, FloatArray]:
    """Return the Wilson score interval of x successes in n trials (Wilson 1927)."""
    denominator = n + z * z
    centre = (x + z * z / 2.0) / denominator
    half = z / denominator * np.sqrt(x * (n - x) / n + z * z / 4.0)
    return centre - half, centre + half


def newcombe_interval(
    x1: FloatArray, n1: FloatArray, x0: FloatArray, n0: FloatArray, *, z: float
) -> tuple[FloatArray, FloatArray]:
    """Return Newcombe's hybrid score interval for x1/n1 - x0/n0 (Newcombe 1998, method 10)."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, z=z)
    l0, u0 = wilson_interval(x0, n0, z=z)
    difference = p1 - p0
    lower = difference - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = difference + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return lower, upper


def _pooled_z_p_value(x1: FloatArray, n1: FloatArray, x0: FloatArray, n0: FloatArray) -> FloatArray:
    """Return the two-sided p-value of the pooled two-proportion z-test (null when 0 or 1)."""
    pooled = (x1 + x0) / (n1 + n0)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 / n1 - x0 / n0) / se, np.nan)
    return np.asarray(2.0 * stats.norm.sf(np.abs(z)), dtype=np.float64)


def _katz_interval(
    x1: FloatArray, n1: FloatArray, x0: FloatArray, n0: FloatArray, *, z: float
) -> tuple[FloatArray, FloatArray]:
    """Return the log interval of the rate ratio minus 1 (Katz 1978); NaN without events."""
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (x1 > 0) & (x0 > 0)
        log_ratio = np.log(x1 / n1) - np.log(x0 / n0)
        se = np.sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0)
        lower = np.where(defined, np.exp(log_ratio - z * se) - 1.0, np.nan)
        upper = np.where(defined, np.exp(log_ratio + z * se) - 1.0, np.nan)
    return lower, upper


def _welch(
    m1: FloatArray,
    s1: FloatArray,
    n1: FloatArray,
    m0: FloatArray,
    s0: FloatArray,
    n0: FloatArray,
    *,
    confidence: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return Welch's t interval for m1 - m0 and the two-sided Welch t-test p-value."""
    if len(m1) == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty, empty
    v1, v0 = s1 * s1 / n1, s0 * s0 / n0
    se = np.sqrt(v1 + v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (v1 + v0) ** 2 / (v1 * v1 / (n1 - 1.0) + v0 * v0 / (n0 - 1.0))
        ok = se > 0
        t_crit = np.where(ok, stats.t.ppf(0.5 + confidence / 2.0, np.where(ok, df, 1.0)), np.nan)
        _, p_value = stats.ttest_ind_from_stats(m1, s1, n1, m0, s0, n0, equal_var=False)
    p_value = np.where(ok, p_value, np.nan)
    difference = m1 - m0
    return (
        np.asarray(difference - t_crit * se, dtype=np.float64),
        np.asarray(difference + t_crit * se, dtype=np.float64),
        np.asarray(p_value, dtype=np.float64),
    )


def _log_ratio_of_means_interval(
    m1: FloatArray,
    s1: FloatArray,
    n1: FloatArray,
    m0: FloatArray,
    s0: FloatArray,
    n0: FloatArray,
    *,
    z: float,
) -> tuple[FloatArray, FloatArray]:
    """Return a delta-method interval of m1 / m0 - 1 on the log scale; NaN unless both > 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (m1 > 0) & (m0 > 0)
        log_ratio = np.log(m1) - np.log(m0)
        se = np.sqrt(s1 * s1 / (n1 * m1 * m1) + s0 * s0 / (n0 * m0 * m0))
        lower = np.where(defined, np.exp(log_ratio - z * se) - 1.0, np.nan)
        upper = np.where(defined, np.exp(log_ratio + z * se) - 1.0, np.nan)
    return lower, upper


def _floats(frame: pl.DataFrame, name: str) -> FloatArray:
    """Return a column as a float numpy array, nulls as NaN."""
    return frame[name].cast(pl.Float64).fill_null(math.nan).to_numpy().astype(np.float64)


def _nullable(values: FloatArray) -> pl.Series:
    """Return a Float64 series with NaN and infinities as nulls."""
    finite = np.where(np.isfinite(values), values, np.nan)
    return pl.Series(finite, dtype=pl.Float64).fill_nan(None)
