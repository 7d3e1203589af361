"""Analytics and data quality: RFM, CLV, churn, cohorts, campaigns and the forecast as
figures (computed on request, nothing stored), and the quality scorecard."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from rolodex.api.deps import Caller
from rolodex.api.problems import ApiProblem

TEXT = r"^[^\x00]*$"  # no NUL: PostgreSQL text cannot hold one

router = APIRouter(tags=["analytics"])

AsOf = Annotated[
    date | None, Query(description="The day the analysis is made on (YYYY-MM-DD); today.")
]
Rows = Annotated[
    int,
    Query(
        ge=0,
        le=1000,
        description="Also this many per-customer rows, highest first (not to aggregates-only"
        " roles).",
    ),
]
_EARLIEST, _LATEST = date(1900, 1, 1), date(2200, 12, 31)


def _day(as_of: date | None) -> date | None:
    if as_of is not None and not _EARLIEST <= as_of <= _LATEST:
        raise ApiProblem(422, f"as_of must be between {_EARLIEST} and {_LATEST}")
    return as_of


@router.get("/analytics/rfm")
def rfm(ws: Caller, as_of: AsOf = None, rows: Rows = 0) -> dict[str, Any]:
    """Recency, frequency and monetary segments, the R x F grid and what each score means."""
    return ws.analytics("rfm", as_of=_day(as_of), rows=rows)


@router.get("/analytics/clv")
def clv(ws: Caller, as_of: AsOf = None, rows: Rows = 0) -> dict[str, Any]:
    """Customer lifetime value models (BG/NBD, Gamma-Gamma), totals and the holdout check."""
    return ws.analytics("clv", as_of=_day(as_of), rows=rows)


@router.get("/analytics/churn")
def churn(
    ws: Caller,
    as_of: AsOf = None,
    rows: Rows = 0,
    label: Annotated[
        str | None,
        Query(
            min_length=1, max_length=200, pattern=TEXT, description="A field that says who left."
        ),
    ] = None,
) -> dict[str, Any]:
    """The churn model, its honest metrics, feature importance and the commonest reasons."""
    return ws.analytics("churn", as_of=_day(as_of), rows=rows, label=label)


@router.get("/analytics/cohorts")
def cohorts(
    ws: Caller,
    as_of: AsOf = None,
    period: Literal["week", "month", "quarter", "year"] = "month",
) -> dict[str, Any]:
    """Acquisition cohorts with retention and revenue, and retention fits of subscriptions."""
    return ws.analytics("cohorts", as_of=_day(as_of), period=period)


@router.get("/analytics/campaigns")
def campaigns(
    ws: Caller,
    control: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT)] = None,
    campaign: Annotated[str | None, Query(min_length=1, max_length=300, pattern=TEXT)] = None,
) -> dict[str, Any]:
    """Reach, response, conversion and revenue per arm, and each treatment's lift."""
    return ws.analytics("campaigns", control=control, campaign=campaign)


@router.get("/analytics/forecast")
def forecast(
    ws: Caller,
    as_of: AsOf = None,
    horizon_months: Annotated[int, Query(ge=1, le=36)] = 6,
) -> dict[str, Any]:
    """Monthly revenue forecast with intervals, and the weighted pipeline of open deals."""
    return ws.analytics("forecast", as_of=_day(as_of), horizon_months=horizon_months)


@router.get("/quality", tags=["quality"])
def quality(
    ws: Caller,
    source: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT)] = None,
) -> dict[str, Any]:
    """The data-quality scorecard: completeness, validity, uniqueness, consistency and
    freshness per field and source, before and after cleaning."""
    return ws.quality(source=source).to_dict()
