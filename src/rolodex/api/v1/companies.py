"""Companies: a filtered list a page at a time, and one company with its contacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from rolodex.api.deps import Caller

TEXT = r"^[^\x00]*$"  # no NUL: PostgreSQL text cannot hold one

router = APIRouter(prefix="/companies", tags=["companies"])

MAX_ID = 2**63 - 1

Cursor = Annotated[
    str | None, Query(max_length=200, pattern=TEXT, description="The previous page's cursor.")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Filter = Annotated[str | None, Query(min_length=1, max_length=300, pattern=TEXT)]


@router.get("")
def list_companies(
    ws: Caller,
    name: Annotated[
        str | None, Query(min_length=1, max_length=300, pattern=TEXT, description="Prefix.")
    ] = None,
    domain: Filter = None,
    country: Filter = None,
    after: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Current companies in id order, by name prefix, web domain or country."""
    return ws.companies(name=name, domain=domain, country=country, after=after, limit=limit)


@router.get("/{company_id}")
def get_company(ws: Caller, company_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    """One company, how many of your contacts work there and the first 100 of their ids."""
    return ws.company(company_id)
