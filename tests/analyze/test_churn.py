"""Churn risk: the published Telco baseline, hand-computed history and labels, error cases.

The Telco file is read as all-text columns, the way custom fields arrive, so the test also
proves the type inference (TotalCharges is text with blanks, SeniorCitizen is 0/1 text).
Reference: tests/data/telco_churn/README.md (logistic regression 5-fold ROC AUC 0.8454).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from rolodex.analyze.churn import (
    ChurnResult,
    history_features,
    inactivity_label,
    subscription_label,
    train_churn,
)
from rolodex.exceptions import InputError

TELCO = Path(__file__).parents[1] / "data" / "telco_churn" / "telco_customer_churn.csv.gz"
AS_OF = date(2024, 6, 30)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Keep the boosted trees on one core: the test machine is shared."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def telco() -> ChurnResult:
    frame = pl.read_csv(TELCO, infer_schema=False)
    # contact_id is the id; customerID stays in as a column the model must refuse to learn
    frame = frame.with_columns(contact_id=pl.int_range(frame.height))
    with threadpool_limits(limits=1):
        return train_churn(frame, frame["Churn"], id_column="contact_id")


# --- Telco ----------------------------------------------------------------------------------


def test_telco_auc_reaches_the_published_baseline(telco: ChurnResult) -> None:
    assert 0.84 <= telco.metrics["auc"] <= 0.88
    assert telco.metrics["auc_std"] < 0.03
    assert set(telco.metrics["aucs"]) == {"logistic_regression", "gradient_boosting"}
    assert telco.metrics["auc"] == max(m["mean"] for m in telco.metrics["aucs"].values())
    assert telco.metrics["rows_used"] == 7043
    assert telco.metrics["churn_rate"] == pytest.approx(1869 / 7043)
    assert telco.metrics["validation"] == "stratified k-fold"
    assert len(telco.metrics["folds"]) == 5


def test_telco_probabilities_are_calibrated(telco: ChurnResult) -> None:
    risk = telco.contacts["churn_risk"]
    assert abs(float(risk.mean()) - 0.2654) < 0.02  # type: ignore[arg-type]
    assert float(risk.min()) >= 0.0  # type: ignore[arg-type]
    assert float(risk.max()) <= 1.0  # type: ignore[arg-type]
    assert telco.metrics["calibration"] == "isotonic"
    # a churn rate of 26.5 % guessed for everyone scores a Brier of 0.195; the model beats it
    assert telco.metrics["brier"] < 0.15
    assert telco.metrics["log_loss"] < 0.45
    assert telco.metrics["top_decile_lift"] > 2.5


def test_telco_reasons_name_real_columns(telco: ChurnResult) -> None:
    columns = pl.read_csv(TELCO, infer_schema=False, n_rows=1).columns
    reasons = pl.concat([telco.contacts[f"reason_{i}"] for i in (1, 2, 3)]).drop_nulls()
    assert telco.contacts["reason_1"].null_count() < 100
    assert all(any(r.startswith(c + " ") for c in columns) for r in reasons.unique())
    top = telco.to_dict()["top_reasons"]
    assert "Contract = Month-to-month" in [t["reason"] for t in top[:3]]
    assert "tenure low" in [t["reason"] for t in top[:3]]
    assert set(telco.importance["feature"].head(4)) >= {"tenure", "Contract"}
    assert telco.importance["importance"].sum() == pytest.approx(1.0)


def test_telco_drops_the_id_and_the_label(telco: ChurnResult) -> None:
    features = set(telco.importance["feature"])
    assert "customerID" not in features
    assert "Churn" not in features
    assert len(features) == 19  # 21 columns less customerID and Churn
    notes = " ".join(telco.notes)
    assert "customerID (7043 distinct values" in notes
    assert "'Churn'" in notes


def test_telco_json_has_auc_at_the_top(telco: ChurnResult) -> None:
    document = json.loads(telco.to_json())
    assert document["auc"] == telco.metrics["auc"]
    assert document["model"] == telco.model
    assert document["metrics"]["rows_used"] == 7043
    assert document["top_reasons"][0]["contacts"] > 1000


# --- type inference, unlabelled rows, the boosted-tree path ----------------------------------


def _mixed(n: int, seed: int) -> tuple[pl.DataFrame, pl.Series]:
    """Contacts with every kind of column; churn depends on spend (low) and plan (basic)."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 50.0, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    vip = rng.random(n) < 0.3
    logit = -0.02 * (spend - 100) + np.where(plan == "basic", 1.5, -0.5) - 1.0 * vip
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    spend_text = [("" if i % 17 == 0 else f"{v:.2f}") for i, v in enumerate(spend)]
    signup = [str(date(2020, 1, 1) + timedelta(days=int(d))) for d in rng.integers(0, 1500, n)]
    frame = pl.DataFrame(
        {
            "contact_id": [f"c{i}" for i in range(n)],
            "customer_id": np.arange(n) + 1000,
            "email": [f"user{i}@example.com" for i in range(n)],
            "spend": spend_text,
            "plan": plan,
            "vip": np.where(vip, "Yes", "No"),
            "signup": signup,
            "country": ["DE"] * n,
        }
    )
    return frame, pl.Series("churned", churned)


def test_mixed_types_are_inferred_and_unlabelled_rows_scored() -> None:
    frame, label = _mixed(600, seed=1)
    label = label.cast(pl.Utf8).scatter(range(0, 600, 10), None)  # every tenth unknown
    result = train_churn(frame, label)

    assert set(result.importance["feature"]) == {"spend", "plan", "vip", "signup"}
    notes = " ".join(result.notes)
    for dropped in ("customer_id (an id", "email (600 distinct", "country (the same value"):
        assert dropped in notes
    assert result.metrics["rows_used"] == 540
    assert result.metrics["rows_skipped"] == {"label missing": 60}
    assert result.contacts["label"].null_count() == 60
    assert result.contacts["churn_risk"].null_count() == 0
    assert result.metrics["calibration"] == "sigmoid"  # fewer than 1,000 labelled rows
    assert result.metrics["auc"] > 0.75
    reasons = set(result.contacts["reason_1"].drop_nulls())
    assert "plan = basic" in reasons
    assert "spend low" in reasons
    assert "vip = No" in reasons or "vip = No" in set(result.contacts["reason_2"].drop_nulls())


def test_boosted_trees_win_an_interaction_and_explain_it() -> None:
    rng = np.random.default_rng(7)
    n = 1200
    a, b = rng.normal(size=n), rng.normal(size=n)
    churned = ((a > 0) ^ (b > 0)) ^ (rng.random(n) < 0.1)  # XOR: no line separates it
    frame = pl.DataFrame({"contact_id": np.arange(n), "a": a, "b": b, "noise": rng.normal(size=n)})
    result = train_churn(frame, pl.Series(churned), folds=3)

    assert result.model == "gradient_boosting"
    aucs = result.metrics["aucs"]
    assert aucs["gradient_boosting"]["mean"] > 0.85 > aucs["logistic_regression"]["mean"]
    assert result.importance["feature"].head(2).sort().to_list() == ["a", "b"]
    risky = result.contacts.filter(pl.col("churn_risk") > 0.5)["reason_1"]
    assert risky.is_in(["a high", "a low", "b high", "b low"]).mean() > 0.97  # type: ignore[operator]
    # churners with a high and b low are explained by exactly those two values
    corner = result.contacts.filter((pl.Series(a) > 1) & (pl.Series(b) < -1))
    assert corner.height > 15
    assert set(corner["reason_1"]) <= {"a high", "b low"}
    both = corner.filter(pl.concat_list("reason_1", "reason_2").list.sort() == ["a high", "b low"])
    assert both.height >= 0.8 * corner.height


# --- time-ordered validation ------------------------------------------------------------------


def test_time_ordered_validation_trains_on_the_past_only() -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    churned = rng.random(n) < 1 / (1 + np.exp(-2 * x))
    observed = [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.permutation(n)]
    frame = pl.DataFrame({"contact_id": np.arange(n), "observed_at": observed, "x": x})
    result = train_churn(frame, pl.Series(churned), folds=4, time_column="observed_at")

    assert result.metrics["validation"] == "time-ordered"
    folds = result.metrics["folds"]
    assert [f["train_rows"] for f in folds] == [80, 160, 240, 320]
    assert [f["validate_rows"] for f in folds] == [80, 80, 80, 80]
    # ISO dates: string order is time order
    assert all(f["train_until"] < f["validate_from"] for f in folds)
    assert folds[0]["train_until"] == str(date(2023, 1, 1) + timedelta(days=79))
    assert folds[3]["validate_from"] == str(date(2023, 1, 1) + timedelta(days=320))
    assert json.loads(result.to_json())["metrics"]["validation"] == "time-ordered"
    assert list(result.importance["feature"]) == ["x"]  # the time column is not a feature
    assert any("80 labelled rows" in note for note in result.notes)  # the first block
    assert result.metrics["auc"] > 0.75


# --- history features and labels --------------------------------------------------------------


def _history() -> dict[str, pl.DataFrame]:
    d = date.fromisoformat
    return {
        "contacts": pl.DataFrame(
            {
                "contact_id": ["c1", "c2", "c3"],
                "tier": ["gold", "silver", None],
                "created_at": [None, None, "2024-01-15"],
            }
        ),
        "orders": pl.DataFrame(
            {
                "contact_id": ["c1", "c1", "c1", "c1", "c2"],
                "ordered_at": [
                    d("2024-01-10"),
                    d("2024-04-15"),
                    d("2024-06-20"),
                    d("2024-07-05"),
                    d("2023-12-01"),
                ],
                "amount": [100.0, 50.0, 30.0, 999.0, 200.0],
            }
        ),
        "tickets": pl.DataFrame(
            {
                "contact_id": ["c1", "c1", "c2"],
                "opened_at": ["2024-06-01T09:00:00", "2024-02-01T10:00:00", "2024-07-02T08:00:00"],
                "status": ["Open", "Closed", "open"],
            }
        ),
        "interactions": pl.DataFrame(
            {"contact_id": ["c3", "c3"], "occurred_at": [d("2024-05-01"), d("2024-03-01")]}
        ),
        "subscriptions": pl.DataFrame(
            {
                "contact_id": ["c1", "c1", "c2"],
                "plan": ["basic", "pro", "basic"],
                "status": ["cancelled", "active", "cancelled"],
                "started_at": [d("2023-06-01"), d("2024-03-01"), d("2023-01-01")],
                "cancelled_at": [d("2024-03-01"), None, d("2024-08-01")],
                "monthly_amount": [10.0, 25.0, 10.0],
            }
        ),
    }


def test_history_features_hand_computed() -> None:
    out = history_features(**_history(), as_of=AS_OF)
    assert out["contact_id"].to_list() == ["c1", "c2", "c3"]
    assert out["tier"].to_list() == ["gold", "silver", None]  # contact fields pass through
    expected = {
        # 2024-06-20 -> 06-30; 2023-12-01 -> 2024-06-30 is 30+31+29+31+30+31+30 = 212
        "days_since_last_order": [10, 212, None],
        "order_count": [3, 1, 0],  # the 2024-07-05 order is after as_of
        "total_spend": [180.0, 200.0, 0.0],
        "mean_spend": [60.0, 200.0, None],
        # last 90 days = 2024-04-02..06-30, previous 90 = 2024-01-03..04-01
        "spend_last_90d": [80.0, 0.0, 0.0],
        "spend_prev_90d": [100.0, 0.0, 0.0],
        "spend_trend": [pytest.approx(-20 / 180), 0.0, 0.0],
        "ticket_count": [2, 0, 0],
        "open_tickets": [1, 0, 0],
        "tickets_last_90d": [1, 0, 0],
        "interaction_count": [0, 0, 2],
        "interactions_last_90d": [0, 0, 1],
        "active_subscriptions": [1, 1, 0],  # c2's cancellation is dated after as_of
        "cancelled_subscriptions": [1, 0, 0],
        "subscription_plan": ["pro", "basic", None],
        "subscription_monthly_amount": [25.0, 10.0, 0.0],
        # first seen: c1 subscription 2023-06-01 (395 days), c2 subscription 2023-01-01
        # (365 + 181), c3 created_at 2024-01-15 (16 + 29 + 31 + 30 + 31 + 30)
        "tenure_days": [395, 546, 167],
    }
    for column, values in expected.items():
        assert out[column].to_list() == values, column


def test_history_features_with_contacts_only() -> None:
    contacts = pl.DataFrame({"contact_id": [1, 2], "segment": ["a", "b"]})
    out = history_features(
        contacts=contacts,
        orders=None,
        tickets=None,
        interactions=None,
        subscriptions=None,
        as_of=AS_OF,
    )
    assert out.equals(contacts)


def test_subscription_label() -> None:
    d = date.fromisoformat
    subs = pl.DataFrame(
        {
            "contact_id": ["c1", "c1", "c2", "c4", "c5", "c6"],
            "status": ["cancelled", "active", "cancelled", "cancelled", "Cancelled", "active"],
            "started_at": [d("2023-06-01"), d("2024-03-01"), d("2023-01-01"), d("2023-05-01"),
                           d("2023-02-01"), d("2024-08-01")],
            "cancelled_at": [d("2024-03-01"), None, d("2024-08-01"), d("2024-05-01"), None, None],
        }
    )  # fmt: skip
    out = subscription_label(subs, as_of=AS_OF).sort("contact_id")
    assert out["contact_id"].to_list() == ["c1", "c2", "c4", "c5"]  # c6 starts after as_of
    assert out["active_subscriptions"].to_list() == [1, 1, 0, 0]
    # c2 cancels after as_of; c5's cancellation is undated, so it counts as done
    assert out["churned"].to_list() == [False, False, True, True]


def test_inactivity_label_own_rhythm_and_population_fallback() -> None:
    d = date.fromisoformat
    orders = pl.DataFrame(
        {
            "contact_id": ["c1", "c1", "c1", "c1", "c2", "c4", "c4", "c5", "c5"],
            "ordered_at": [d("2024-01-10"), d("2024-04-15"), d("2024-06-20"), d("2024-07-05"),
                           d("2023-12-01"), d("2024-01-01"), d("2024-01-21"), d("2024-06-01"),
                           d("2024-06-01")],
        }
    )  # fmt: skip
    out = inactivity_label(orders, as_of=AS_OF).sort("contact_id")
    assert out["contact_id"].to_list() == ["c1", "c2", "c4", "c5"]
    assert out["days_since_last_order"].to_list() == [10, 212, 161, 29]
    # c1: 162 days over 2 gaps = 81, x3; c4: 20 x3; one-time buyers c2 and c5 (two orders on
    # one day) get 3 x the median of the repeat buyers' gaps (81, 20) = 3 x 50.5
    assert out["expected_window_days"].to_list() == [243.0, 151.5, 60.0, 151.5]
    assert out["churned"].to_list() == [False, True, True, False]

    fixed = inactivity_label(orders, as_of=AS_OF, window_days=100).sort("contact_id")
    assert fixed["churned"].to_list() == [False, True, True, False]
    assert fixed["expected_window_days"].to_list() == [100.0] * 4


def test_inactivity_label_needs_a_repeat_buyer_or_a_window() -> None:
    orders = pl.DataFrame({"contact_id": [1, 2], "ordered_at": [date(2024, 1, 1)] * 2})
    with pytest.raises(InputError, match="pass window_days"):
        inactivity_label(orders, as_of=AS_OF)
    assert inactivity_label(orders, as_of=AS_OF, window_days=30)["churned"].all()


def test_history_features_feed_the_model() -> None:
    """Customers who stop buying: recency at a cut-off predicts six months of silence after."""
    rng = np.random.default_rng(11)
    start, cutoff, label_day = date(2023, 1, 1), date(2024, 1, 1), date(2024, 7, 1)
    ids, days = [], []
    for contact in range(400):
        rate = rng.gamma(2.0, 1 / 60)  # about one order a month
        alive = int(rng.integers(30, 730))  # days until the customer leaves
        active = min(alive, (label_day - start).days)
        count = rng.poisson(rate * active)
        ids += [contact] * count
        days += sorted(rng.integers(0, active, count).tolist())
    orders = pl.DataFrame(
        {
            "contact_id": ids,
            "ordered_at": [start + timedelta(days=d) for d in days],
            "amount": rng.gamma(2.0, 25.0, len(ids)),
        }
    )
    contacts = pl.DataFrame({"contact_id": range(400)})
    features = history_features(
        contacts=contacts,
        orders=orders,
        tickets=None,
        interactions=None,
        subscriptions=None,
        as_of=cutoff,
    )
    label = contacts.join(
        inactivity_label(orders, as_of=label_day, window_days=90), on="contact_id", how="left"
    )["churned"]
    result = train_churn(features, label)

    assert result.metrics["rows_skipped"] == {"label missing": label.null_count()}
    assert result.metrics["auc"] > 0.75
    assert "days_since_last_order" in result.importance["feature"].head(3).to_list()
    assert "days_since_last_order high" in set(result.contacts["reason_1"].drop_nulls())


# --- errors -------------------------------------------------------------------------------


def test_one_class_label_is_refused() -> None:
    frame = pl.DataFrame({"contact_id": range(50), "x": np.arange(50.0)})
    with pytest.raises(InputError, match="one class only: all 50 labelled rows are not churned"):
        train_churn(frame, pl.Series(["No"] * 50))


def test_no_usable_feature_columns_is_refused() -> None:
    frame = pl.DataFrame(
        {
            "contact_id": range(50),
            "name": [f"Person {i}" for i in range(50)],
            "source": ["crm"] * 50,
        }
    )
    label = pl.Series([i % 2 == 0 for i in range(50)])
    with pytest.raises(InputError, match=r"no usable feature columns.*name.*source"):
        train_churn(frame, label)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (pl.Series(["yes", "no", "maybe"] * 10), r"must be yes/no.*maybe"),
        (pl.Series([0, 1, 2] * 10), r"must be 0/1.*2"),
        (pl.Series([True, False] * 10), "label has 20 values for 30 feature rows"),
    ],
)
def test_bad_labels_are_refused(label: pl.Series, message: str) -> None:
    frame = pl.DataFrame({"contact_id": range(30), "x": np.arange(30.0)})
    with pytest.raises(InputError, match=message):
        train_churn(frame, label)


def test_repeated_ids_are_refused() -> None:
    frame = pl.DataFrame({"contact_id": [1, 1, 2, 3], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InputError, match="one row per contact"):
        train_churn(frame, pl.Series([True, False, True, False]))


def test_reasons_survive_a_long_run_of_rows_without_any() -> None:
    # 200,000 rows whose first 150,000 have nothing pushing their risk up: Polars infers a
    # numpy object column's type from its first values and could not make text of it.
    from rolodex.analyze.churn import _Design, _reasons, _Source

    n = 200_000
    labels = np.full(n, "plan = basic", dtype=object)
    source = _Source(
        name="plan", kind="category", columns=[0], baseline=[0.0], labels=labels, values=None
    )
    design = _Design(matrix=np.zeros((n, 1)), sources=[source], notes=[])
    contributions = np.zeros((n, 1))
    contributions[150_000:, 0] = 1.0
    first, *_ = _reasons(contributions, design, [0.0])
    assert first.dtype == pl.Utf8
    assert first.null_count() == 150_000
    assert first[-1] == "plan = basic"
