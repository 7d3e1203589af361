"""Campaign performance on the Hillstrom e-mail test, on hand-counted arms, and on bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from rolodex.analyze.campaigns import (
    TREATED_ARM,
    campaign_performance,
    is_control_arm,
    newcombe_interval,
)
from rolodex.exceptions import InputError

HILLSTROM = Path(__file__).parents[1] / "data" / "hillstrom_email" / "hillstrom.csv.gz"


def make_members(
    *,
    campaign: str,
    arm: str | None,
    responded: list[bool],
    converted: list[bool] | None = None,
    revenue: list[float | None] | None = None,
    first_id: int = 1,
) -> pl.DataFrame:
    """Build one arm's members; conversions default to none, revenue to null."""
    size = len(responded)
    return pl.DataFrame(
        {
            "campaign": [campaign] * size,
            "arm": [arm] * size,
            "contact_id": list(range(first_id, first_id + size)),
            "responded": responded,
            "converted": converted if converted is not None else [False] * size,
            "revenue": revenue if revenue is not None else [None] * size,
        },
        schema={
            "campaign": pl.Utf8,
            "arm": pl.Utf8,
            "contact_id": pl.Int64,
            "responded": pl.Boolean,
            "converted": pl.Boolean,
            "revenue": pl.Float64,
        },
    )


@pytest.fixture(scope="module")
def hillstrom() -> pl.DataFrame:
    raw = pl.read_csv(HILLSTROM, schema_overrides={"spend": pl.Float64})
    return raw.with_row_index("contact_id").select(
        pl.lit("hillstrom").alias("campaign"),
        pl.col("segment").alias("arm"),
        pl.col("contact_id").cast(pl.Int64),
        (pl.col("visit") == 1).alias("responded"),
        (pl.col("conversion") == 1).alias("converted"),
        pl.col("spend").alias("revenue"),
    )


# --- the Hillstrom MineThatData challenge: published summary table -------------------------


def test_hillstrom_arms_match_the_published_table(hillstrom: pl.DataFrame) -> None:
    result = campaign_performance(hillstrom)
    arms = {row["arm"]: row for row in result.arms.to_dicts()}
    published = {
        # arm: (reach, visit %, conversion %, spend per customer)
        "Mens E-Mail": (21_307, 18.28, 1.25, 1.4226),
        "Womens E-Mail": (21_387, 15.14, 0.88, 1.0772),
        "No E-Mail": (21_306, 10.62, 0.57, 0.6528),
    }
    assert set(arms) == set(published)
    for arm, (reach, visit, conversion, spend) in published.items():
        row = arms[arm]
        assert row["reach"] == reach
        assert round(100 * row["response_rate"], 2) == visit
        assert round(100 * row["conversion_rate"], 2) == conversion
        assert round(row["revenue_per_contact"], 4) == spend
        assert row["is_control"] == (arm == "No E-Mail")
    assert result.notes == ()


def test_hillstrom_both_emails_lift_visits_significantly(hillstrom: pl.DataFrame) -> None:
    result = campaign_performance(hillstrom)
    comparisons = result.comparisons
    assert comparisons["arm"].to_list() == ["Mens E-Mail", "Womens E-Mail"]
    assert comparisons["control_arm"].to_list() == ["No E-Mail", "No E-Mail"]
    for row in comparisons.to_dicts():
        assert row["response_rate_p_value"] < 0.001
        assert 0 < row["response_rate_lift_lower"] < row["response_rate_lift"]
        assert row["response_rate_lift"] < row["response_rate_lift_upper"]
        assert row["incremental_responses"] == pytest.approx(
            row["response_rate_lift"] * row["reach"]
        )
    mens = comparisons.row(0, named=True)
    # 18.28 % - 10.62 % visits: 7.66 points, 72 % more than the hold-out
    assert mens["response_rate_lift"] == pytest.approx(3894 / 21307 - 2262 / 21306)
    assert round(mens["response_rate_relative_lift"], 3) == 0.721
    assert mens["incremental_revenue"] == pytest.approx(
        (30311.69 / 21307 - 13908.33 / 21306) * 21307, rel=1e-9
    )


def test_hillstrom_statistics_agree_with_statsmodels_and_scipy(hillstrom: pl.DataFrame) -> None:
    result = campaign_performance(hillstrom, confidence=0.95)
    womens = result.comparisons.filter(pl.col("arm") == "Womens E-Mail").row(0, named=True)
    counts = hillstrom.group_by("arm").agg(
        pl.len(), pl.col("responded").sum(), pl.col("converted").sum()
    )
    by_arm = {row["arm"]: row for row in counts.to_dicts()}
    treated, control = by_arm["Womens E-Mail"], by_arm["No E-Mail"]

    for metric, column in (("response_rate", "responded"), ("conversion_rate", "converted")):
        low, high = confint_proportions_2indep(
            treated[column], treated["len"], control[column], control["len"], method="newcomb"
        )
        assert womens[f"{metric}_lift_lower"] == pytest.approx(low, rel=1e-9)
        assert womens[f"{metric}_lift_upper"] == pytest.approx(high, rel=1e-9)
        _, p_value = proportions_ztest(
            [treated[column], control[column]], [treated["len"], control["len"]]
        )
        assert womens[f"{metric}_p_value"] == pytest.approx(p_value, rel=1e-6)
        ratio_low, ratio_high = confint_proportions_2indep(
            treated[column],
            treated["len"],
            control[column],
            control["len"],
            method="log",
            compare="ratio",
        )
        assert womens[f"{metric}_relative_lift_lower"] == pytest.approx(ratio_low - 1, rel=1e-9)
        assert womens[f"{metric}_relative_lift_upper"] == pytest.approx(ratio_high - 1, rel=1e-9)

    spend = {
        arm: hillstrom.filter(pl.col("arm") == arm)["revenue"].to_numpy()
        for arm in ("Womens E-Mail", "No E-Mail")
    }
    welch = stats.ttest_ind(spend["Womens E-Mail"], spend["No E-Mail"], equal_var=False)
    interval = welch.confidence_interval(confidence_level=0.95)
    assert womens["revenue_per_contact_p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
    assert womens["revenue_per_contact_lift_lower"] == pytest.approx(interval.low, rel=1e-9)
    assert womens["revenue_per_contact_lift_upper"] == pytest.approx(interval.high, rel=1e-9)
    assert womens["revenue_per_contact_p_value"] < 0.01


def test_hillstrom_wider_confidence_gives_wider_interval(hillstrom: pl.DataFrame) -> None:
    narrow = campaign_performance(hillstrom, confidence=0.9).comparisons.row(0, named=True)
    wide = campaign_performance(hillstrom, confidence=0.99).comparisons.row(0, named=True)
    assert wide["response_rate_lift_lower"] < narrow["response_rate_lift_lower"]
    assert wide["response_rate_lift_upper"] > narrow["response_rate_lift_upper"]
    assert wide["response_rate_p_value"] == narrow["response_rate_p_value"]


# --- small arms counted by hand ---------------------------------------------------------------


def spring_campaign() -> pl.DataFrame:
    """Email: 2/4 responded, 1/4 converted, revenue 10+0+null+2; Control: 1/5, 0/5, 5."""
    email = make_members(
        campaign="spring",
        arm="Email",
        responded=[True, True, False, False],
        converted=[True, False, False, False],
        revenue=[10.0, 0.0, None, 2.0],
    )
    control = make_members(
        campaign="spring",
        arm="Control",
        responded=[True, False, False, False, False],
        revenue=[5.0, 0.0, 0.0, 0.0, 0.0],
        first_id=10,
    )
    return pl.concat([email, control])


def test_small_campaign_exact_figures() -> None:
    result = campaign_performance(spring_campaign())
    assert result.arms.to_dicts() == [
        {
            "campaign": "spring",
            "arm": "Email",
            "is_control": False,
            "reach": 4,
            "responses": 2,
            "response_rate": 0.5,
            "conversions": 1,
            "conversion_rate": 0.25,
            "revenue": 12.0,
            "revenue_per_contact": 3.0,
        },
        {
            "campaign": "spring",
            "arm": "Control",
            "is_control": True,
            "reach": 5,
            "responses": 1,
            "response_rate": 0.2,
            "conversions": 0,
            "conversion_rate": 0.0,
            "revenue": 5.0,
            "revenue_per_contact": 1.0,
        },
    ]
    row = result.comparisons.row(0, named=True)
    assert (row["arm"], row["control_arm"], row["reach"], row["control_reach"]) == (
        "Email",
        "Control",
        4,
        5,
    )
    assert row["response_rate_lift"] == pytest.approx(0.3)
    assert row["response_rate_relative_lift"] == pytest.approx(1.5)
    assert row["incremental_responses"] == pytest.approx(1.2)
    assert row["conversion_rate_lift"] == pytest.approx(0.25)
    assert row["incremental_conversions"] == pytest.approx(1.0)
    assert row["revenue_per_contact_lift"] == pytest.approx(2.0)
    assert row["revenue_per_contact_relative_lift"] == pytest.approx(2.0)
    assert row["incremental_revenue"] == pytest.approx(8.0)
    # no conversion in the control arm: the relative lift and its log interval are undefined
    assert row["conversion_rate_relative_lift"] is None
    assert row["conversion_rate_relative_lift_lower"] is None
    # zero events are no problem for Newcombe's interval
    assert row["conversion_rate_lift_lower"] is not None
    assert -1 <= row["conversion_rate_lift_lower"] < 0.25 < row["conversion_rate_lift_upper"] <= 1


def test_small_campaign_intervals_by_hand() -> None:
    row = campaign_performance(spring_campaign()).comparisons.row(0, named=True)
    # Newcombe (1998) method 10 from the two Wilson intervals, built here from statsmodels'
    l1, u1 = proportion_confint(2, 4, alpha=0.05, method="wilson")
    l0, u0 = proportion_confint(1, 5, alpha=0.05, method="wilson")
    lower = 0.3 - math.sqrt((0.5 - l1) ** 2 + (u0 - 0.2) ** 2)
    upper = 0.3 + math.sqrt((u1 - 0.5) ** 2 + (0.2 - l0) ** 2)
    assert row["response_rate_lift_lower"] == pytest.approx(lower, rel=1e-9)
    assert row["response_rate_lift_upper"] == pytest.approx(upper, rel=1e-9)
    # pooled z: p = 3/9, se = sqrt(p(1-p)(1/4 + 1/5))
    pooled = 3 / 9
    z = 0.3 / math.sqrt(pooled * (1 - pooled) * (1 / 4 + 1 / 5))
    assert row["response_rate_p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    # Welch on the raw revenues (null revenue is 0)
    welch = stats.ttest_ind([10.0, 0.0, 0.0, 2.0], [5.0, 0.0, 0.0, 0.0, 0.0], equal_var=False)
    assert row["revenue_per_contact_p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    interval = welch.confidence_interval(confidence_level=0.95)
    assert row["revenue_per_contact_lift_lower"] == pytest.approx(interval.low, rel=1e-9)
    assert row["revenue_per_contact_lift_upper"] == pytest.approx(interval.high, rel=1e-9)


def test_newcombe_interval_matches_statsmodels_on_many_tables() -> None:
    x1 = np.array([0.0, 3.0, 10.0, 50.0, 7.0])
    n1 = np.array([10.0, 12.0, 10.0, 400.0, 7.0])
    x0 = np.array([0.0, 9.0, 0.0, 20.0, 1.0])
    n0 = np.array([15.0, 11.0, 30.0, 380.0, 9.0])
    lower, upper = newcombe_interval(x1, n1, x0, n0, z=float(stats.norm.ppf(0.975)))
    for i in range(len(x1)):
        low, high = confint_proportions_2indep(x1[i], n1[i], x0[i], n0[i], method="newcomb")
        assert lower[i] == pytest.approx(low, abs=1e-12)
        assert upper[i] == pytest.approx(high, abs=1e-12)


def test_no_control_arm_gives_no_lift_and_says_so() -> None:
    members = pl.concat(
        [
            make_members(campaign="ab", arm="Subject A", responded=[True, False]),
            make_members(campaign="ab", arm="Subject B", responded=[True, True], first_id=5),
        ]
    )
    result = campaign_performance(members)
    assert result.comparisons.height == 0
    assert "incremental_revenue" in result.comparisons.columns
    assert result.arms["response_rate"].to_list() == [0.5, 1.0]
    assert not result.arms["is_control"].any()
    assert len(result.notes) == 1
    assert "'ab' has no control arm" in result.notes[0]
    assert "control=" in result.notes[0]


def test_control_named_by_argument() -> None:
    members = pl.concat(
        [
            make_members(campaign="ab", arm="Subject A", responded=[True, False]),
            make_members(campaign="ab", arm="Subject B", responded=[False, False], first_id=5),
        ]
    )
    result = campaign_performance(members, control="Subject B")
    row = result.comparisons.row(0, named=True)
    assert (row["arm"], row["control_arm"], row["response_rate_lift"]) == (
        "Subject A",
        "Subject B",
        0.5,
    )


def test_several_campaigns_each_with_its_own_control() -> None:
    members = pl.concat(
        [
            make_members(campaign="winter", arm="Holdout", responded=[True, False, False, False]),
            make_members(
                campaign="winter", arm="Mailer", responded=[True, True, False, False], first_id=5
            ),
            make_members(campaign="summer", arm="SMS", responded=[True, True, True]),
            make_members(campaign="summer", arm="Push", responded=[True, False, False], first_id=4),
            make_members(
                campaign="summer", arm="hold-out group", responded=[False, False, True], first_id=7
            ),
            make_members(campaign="newsletter", arm=None, responded=[True, False]),
        ]
    )
    result = campaign_performance(members)
    controls = result.arms.filter(pl.col("is_control"))
    assert sorted(controls.select("campaign", "arm").rows()) == [
        ("summer", "hold-out group"),
        ("winter", "Holdout"),
    ]
    comparisons = result.comparisons.select("campaign", "arm", "response_rate_lift").rows()
    assert [(c, a) for c, a, _ in comparisons] == [
        ("summer", "Push"),
        ("summer", "SMS"),
        ("winter", "Mailer"),
    ]
    lifts = [lift for _, _, lift in comparisons]
    assert lifts == pytest.approx([0.0, 2 / 3, 0.25])
    newsletter = result.arms.filter(pl.col("campaign") == "newsletter").row(0, named=True)
    assert (newsletter["arm"], newsletter["reach"], newsletter["responses"]) == (TREATED_ARM, 2, 1)
    assert result.notes == (
        f"campaign 'newsletter' has no control arm (arms: {TREATED_ARM}); no lift computed. "
        "Name it with control= if one of them is the hold-out",
    )


def test_contact_twice_in_a_campaign_is_counted_and_noted() -> None:
    members = pl.concat(
        [
            make_members(campaign="c", arm="Email", responded=[True, False]),
            make_members(campaign="c", arm="Control", responded=[False], first_id=2),
        ]
    )
    result = campaign_performance(members)
    assert result.arms["reach"].to_list() == [2, 1]
    assert result.notes == (
        "2 member rows share a contact with another row of the same campaign; "
        "each row is counted as one member",
    )


def test_to_json_is_one_document_with_nulls_for_undefined_values() -> None:
    document = json.loads(
        json.dumps(campaign_performance(spring_campaign()).to_json(), allow_nan=False)
    )
    assert document["confidence"] == 0.95
    assert document["rate_interval"] == "newcombe-hybrid-score"
    assert [arm["arm"] for arm in document["arms"]] == ["Email", "Control"]
    assert document["comparisons"][0]["conversion_rate_relative_lift"] is None
    assert document["comparisons"][0]["incremental_revenue"] == pytest.approx(8.0)


@pytest.mark.parametrize(
    "name",
    [
        "Control",
        "CONTROL group",
        "control-2024",
        "Holdout",
        "hold-out 10%",
        "Hold Out",
        "held_out",
        "No E-Mail",
        "no email",
        "No Mail",
        "no contact",
        "Untreated",
    ],
)
def test_control_arm_names_recognized(name: str) -> None:
    assert is_control_arm(name)


@pytest.mark.parametrize(
    "name", ["Mens E-Mail", "Womens E-Mail", "Email A", "Controller offer", "treated", "Noemi"]
)
def test_treatment_arm_names_not_taken_for_control(name: str) -> None:
    assert not is_control_arm(name)


# --- errors ------------------------------------------------------------------------------------


def test_missing_columns_are_named() -> None:
    members = spring_campaign().drop("converted", "revenue")
    with pytest.raises(InputError, match="converted, revenue"):
        campaign_performance(members)


def test_outcome_of_wrong_type_is_rejected() -> None:
    members = spring_campaign().with_columns(pl.col("responded").cast(pl.Utf8))
    with pytest.raises(InputError, match="'responded'"):
        campaign_performance(members)


def test_member_without_campaign_is_rejected() -> None:
    members = spring_campaign().with_columns(
        pl.when(pl.col("contact_id") == 1)
        .then(None)
        .otherwise(pl.col("campaign"))
        .alias("campaign")
    )
    with pytest.raises(InputError, match="1 member row"):
        campaign_performance(members)


def test_two_control_looking_arms_ask_for_control_argument() -> None:
    members = pl.concat(
        [
            make_members(campaign="c", arm="Control A", responded=[True]),
            make_members(campaign="c", arm="Control B", responded=[False], first_id=2),
        ]
    )
    with pytest.raises(InputError, match="pass control="):
        campaign_performance(members)


def test_unknown_control_name_is_rejected() -> None:
    with pytest.raises(InputError, match="'Hold'"):
        campaign_performance(spring_campaign(), control="Hold")


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0])
def test_confidence_outside_zero_one_is_rejected(confidence: float) -> None:
    with pytest.raises(InputError, match="confidence"):
        campaign_performance(spring_campaign(), confidence=confidence)
