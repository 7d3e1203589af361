"""Records tied to customers: orders (with lines), interactions, tickets, consents and deals,
listed by contact and time; consent decisions recorded and read per contact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rolodex.api.deps import Caller, IdempotencyKey
from rolodex.api.idempotency import run_once
from rolodex.workspace import Workspace

TEXT = r"^[^\x00]*$"  # no NUL: PostgreSQL text cannot hold one

router = APIRouter(tags=["records"])

MAX_ID = 2**63 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ContactFilter = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Only this contact's records.")
]
Since = Annotated[
    datetime | None,
    Query(description="Only records at or after this date or time (UTC unless it says)."),
]
Until = Annotated[
    datetime | None,
    Query(description="Only records before this date or time (UTC unless it says)."),
]
Cursor = Annotated[
    str | None, Query(max_length=200, pattern=TEXT, description="The previous page's cursor.")
]
Limit = Annotated[int, Query(ge=1, le=500)]


class RecordQuery:
    """The filters every record listing takes: one contact, a time range, a page."""

    def __init__(
        self,
        contact_id: ContactFilter = None,
        since: Since = None,
        until: Until = None,
        after: Cursor = None,
        limit: Limit = 50,
    ) -> None:
        self.contact_id = contact_id
        self.since = since
        self.until = until
        self.after = after
        self.limit = limit

    def page(self, ws: Workspace, kind: str) -> dict[str, Any]:
        """One page of `kind` records as the caller may see them."""
        return ws.records(
            kind,
            contact_id=self.contact_id,
            since=self.since,
            until=self.until,
            after=self.after,
            limit=self.limit,
        )


Records = Annotated[RecordQuery, Depends()]


@router.get("/orders", tags=["orders"])
def list_orders(ws: Caller, q: Records) -> dict[str, Any]:
    """Orders in id order, of one contact and/or placed in a time range."""
    return q.page(ws, "orders")


@router.get("/orders/{order_id}", tags=["orders"])
def get_order(ws: Caller, order_id: Id) -> dict[str, Any]:
    """One order with its line items."""
    return ws.order(order_id)


@router.get("/interactions", tags=["interactions"])
def list_interactions(ws: Caller, q: Records) -> dict[str, Any]:
    """Calls, emails, meetings, opens, clicks and chats; the subject only to roles granted
    it."""
    return q.page(ws, "interactions")


@router.get("/tickets", tags=["tickets"])
def list_tickets(ws: Caller, q: Records) -> dict[str, Any]:
    """Support tickets by when they were opened; the subject only to roles granted it."""
    return q.page(ws, "tickets")


@router.get("/consents", tags=["consents"])
def list_consents(ws: Caller, q: Records) -> dict[str, Any]:
    """Every consent decision (history included), by when it was made."""
    return q.page(ws, "consents")


@router.get("/deals", tags=["deals"])
def list_deals(ws: Caller, q: Records) -> dict[str, Any]:
    """Deals, by expected close date for `since` and `until`."""
    return q.page(ws, "deals")


class ConsentIn(BaseModel):
    """A consent decision to add to a contact's history (the latest per purpose wins)."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int = Field(ge=1, le=MAX_ID)
    purpose: str = Field(
        min_length=1, max_length=100, pattern=TEXT, description="e.g. marketing_email"
    )
    status: Literal["granted", "withdrawn"]
    lawful_basis: str | None = Field(default="consent", max_length=50, pattern=TEXT)
    source: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=TEXT,
        description="Where it was given (api).",
    )
    proof: str | None = Field(
        default=None,
        max_length=2000,
        pattern=TEXT,
        description="IP address, form or double opt-in reference.",
    )
    occurred_at: datetime | None = Field(default=None, description="When; now by default.")

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


@router.post("/consents", status_code=201, tags=["consents"])
def record_consent(
    ws: Caller, body: ConsentIn, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Record a consent decision; earlier ones stay in the history."""
    sent = body.model_dump(mode="json")

    def call() -> tuple[int, Any, dict[str, str]]:
        consent_id = ws.consent_record(
            body.contact_id,
            purpose=body.purpose.strip(),
            status=body.status,
            lawful_basis=body.lawful_basis,
            source=body.source or "api",
            proof={"reference": body.proof} if body.proof else None,
            occurred_at=body.occurred_at,
        )
        return 201, {"id": consent_id, **sent}, {}

    return run_once(
        ws, key=idempotency_key, method="POST", path=request.url.path, body=sent, call=call
    )


@router.get("/contacts/{contact_id}/consents", tags=["consents", "contacts"])
def contact_consents(ws: Caller, contact_id: Id) -> dict[str, Any]:
    """The decision in force per purpose, and the history behind it (newest first)."""
    return ws.contact_consents(contact_id)
