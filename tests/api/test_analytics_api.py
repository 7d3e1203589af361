"""Analytics and quality over HTTP: figures computed on request and stored nowhere, with
per-customer rows kept from aggregates-only roles."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import login
from tests.conftest import DATA

CDNOW = DATA / "cdnow" / "cdnow_sample_transactions.csv"
HILLSTROM = DATA / "hillstrom_email" / "hillstrom.csv.gz"


@pytest.fixture
def shop(api_ws: Workspace, tmp_path: Path) -> Workspace:
    """The contacts file's workspace plus the CDNOW order log and the first 2,000 members
    of the Hillstrom e-mail test."""
    api_ws.import_file(CDNOW, source="cdnow", kind="orders")
    frame = (
        pl.read_csv(HILLSTROM, n_rows=2000, schema_overrides={"spend": pl.Float64})
        .with_row_index("customer_id", offset=1)
        .with_columns(pl.lit("hillstrom 2008").alias("campaign"))
    )
    members = tmp_path / "hillstrom_members.csv"
    frame.select("customer_id", "campaign", *frame.columns[1:-1]).write_csv(members)
    api_ws.import_file(members, source="mail")
    return api_ws


def test_rfm_figures_are_computed_not_stored(shop: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    answer = client.get("/api/v1/analytics/rfm", headers=admin, params={"as_of": "1997-09-30"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["as_of"] == "1997-09-30"
    assert sum(s["contacts"] for s in body["segments"]) == body["contacts"] == 2357
    assert "rows" not in body
    # A GET stores nothing: the predefined RFM segments stay empty.
    listed = {s.name: s.members for s in shop.segments()}
    assert listed["rfm: Champions"] == 0


def test_per_customer_rows_only_for_roles_that_see_people(
    shop: Workspace, client: TestClient
) -> None:
    params: dict[str, str | int] = {"as_of": "1997-09-30", "rows": 5}
    marketing = client.get(
        "/api/v1/analytics/clv", headers=login(client, "marketing"), params=params
    )
    assert marketing.status_code == 200, marketing.text
    rows = marketing.json()["rows"]
    assert len(rows) == 5
    clv = [r["clv"] for r in rows]
    assert clv == sorted(clv, reverse=True)
    assert all(set(r) >= {"contact_id", "p_alive", "clv"} for r in rows)
    analyst = client.get("/api/v1/analytics/clv", headers=login(client, "analyst"), params=params)
    assert analyst.status_code == 200
    body = analyst.json()
    assert body["rows"] is None
    assert body["rows_withheld"]
    assert body["customers"] == marketing.json()["customers"] == 2357  # aggregates kept
    client.app.state.workspace.read_log.stop()  # type: ignore[attr-defined]  # all written
    reads = shop.audit_entries(limit=20, action="contact.read", actor="marketing-user")
    assert {int(e["entity_id"]) for e in reads} == {r["contact_id"] for r in rows}


def test_churn_cohorts_forecast_and_campaigns(shop: Workspace, client: TestClient) -> None:
    analyst = login(client, "analyst")
    churn = client.get(
        "/api/v1/analytics/churn", headers=analyst, params={"as_of": "1997-09-30", "rows": 3}
    ).json()
    assert 0.5 < churn["auc"] <= 1
    assert churn["rows"] is None
    for reason in churn["top_reasons"]:  # no personal column's value reaches the analyst
        assert not reason["reason"].startswith(("street", "postcode", "birth_date", "gender"))
        assert reason["contacts"] >= 5 or " = " not in reason["reason"]
    cohorts = client.get(
        "/api/v1/analytics/cohorts", headers=analyst, params={"as_of": "1997-09-30"}
    ).json()
    assert cohorts["cohorts"]["customers"] == 2357
    forecast = client.get(
        "/api/v1/analytics/forecast",
        headers=analyst,
        params={"as_of": "1998-06-30", "horizon_months": 3},
    ).json()
    assert len(forecast["revenue"]["forecast"]) == 3
    campaigns = client.get("/api/v1/analytics/campaigns", headers=analyst).json()
    arms = {a["arm"]: a["reach"] for a in campaigns["arms"]}
    assert sum(arms.values()) == 2000
    assert "No E-Mail" in arms
    assert campaigns["comparisons"]


def test_who_may_read_analytics_and_quality(shop: Workspace, client: TestClient) -> None:
    # BUILTIN_ROLES: analytics read for admin, manager, marketing, analyst and read_only;
    # quality read for admin, manager, analyst and read_only.
    for role, analytics, quality in (
        ("read_only", 200, 200),
        ("analyst", 200, 200),
        ("marketing", 200, 403),
        ("sales", 403, 403),
        ("support", 403, 403),
    ):
        headers = login(client, role)
        answer = client.get("/api/v1/analytics/cohorts", headers=headers)
        assert answer.status_code == analytics, (role, answer.text)
        scorecard = client.get("/api/v1/quality", headers=headers)
        assert scorecard.status_code == quality, (role, scorecard.text)
    body = client.get("/api/v1/quality", headers=login(client, "analyst")).json()
    assert body["overall"]["records"] >= 5
    assert {f["field"] for f in body["overall"]["fields"]} >= {"email", "phone", "country"}


def test_bad_parameters_and_missing_data_are_problems(
    api_ws: Workspace, client: TestClient
) -> None:
    admin = login(client, "admin")
    nothing = client.get("/api/v1/analytics/rfm", headers=admin)
    assert nothing.status_code == 422  # no orders yet: says so instead of failing
    assert "order" in nothing.json()["detail"]
    for path, params in (
        ("/api/v1/analytics/rfm", {"as_of": "1997-13-01"}),
        ("/api/v1/analytics/rfm", {"as_of": "0001-01-01"}),
        ("/api/v1/analytics/clv", {"rows": 1001}),
        ("/api/v1/analytics/cohorts", {"period": "decade"}),
        ("/api/v1/analytics/forecast", {"horizon_months": 0}),
    ):
        answer = client.get(path, headers=admin, params=params)
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
