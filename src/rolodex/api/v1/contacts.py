"""Contacts: list, search, the 360° view, create (with the real-time duplicate check) and
update with ETags, one at a time or in bulk."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rolodex.api.deps import Caller, IdempotencyKey, IfMatch
from rolodex.api.idempotency import run_once
from rolodex.api.problems import ApiProblem, Json

router = APIRouter(prefix="/contacts", tags=["contacts"])

MAX_BULK = 10_000


class ContactFields(BaseModel):
    """The canonical contact fields a caller may send, with their size limits."""

    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    full_name: str | None = Field(default=None, max_length=400)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=300)
    job_title: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=100)


class ContactIn(ContactFields):
    """A contact as sent by another system: canonical field names; other keys are kept as
    custom fields."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, max_length=300, description="Your system's id.")


OnMatch = Literal["report", "merge", "create"]


class BulkCreate(BaseModel):
    """Up to 10,000 contacts in one call."""

    records: list[ContactIn] = Field(min_length=1, max_length=MAX_BULK)
    on_match: OnMatch = "report"


class ContactChange(BaseModel):
    """Golden fields to change (only those sent)."""

    model_config = ConfigDict(extra="allow")


class BulkUpdateItem(BaseModel):
    """One contact's changes, with the ETag it was read at."""

    id: int = Field(ge=1, le=2**63 - 1)
    changes: dict[str, Any]
    if_match: str | None = Field(default=None, max_length=200)


class BulkUpdate(BaseModel):
    """Up to 10,000 updates; each succeeds or fails on its own."""

    updates: list[BulkUpdateItem] = Field(min_length=1, max_length=MAX_BULK)


Limit = Annotated[int, Query(ge=1, le=500)]
ContactId = Annotated[int, Query(ge=1)]
# Ids are 64-bit in both stores: a bigger number is a 422, never an overflow in the driver.
ContactPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="A contact id.")]


@router.get("", response_model=dict[str, Any])
def list_contacts(
    ws: Caller,
    request: Request,
    after: Annotated[str | None, Query(max_length=200, description="Cursor.")] = None,
    limit: Limit = 50,
) -> Json:
    """Golden contacts a page at a time; filter with query parameters (country=DE,
    lifecycle_stage=customer, email_domain=example.com, updated_since=2024-01-01, ...)."""
    filters = {k: v for k, v in request.query_params.items() if k not in {"after", "limit"}}
    return Json(ws.contacts(filters=filters, after=after, limit=limit).to_dict())


@router.get("/search", response_model=dict[str, Any])
def search(
    ws: Caller,
    q: Annotated[str, Query(min_length=1, max_length=300)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Json:
    """Find contacts by exact email, phone (any format), or name/company prefix."""
    return Json(ws.search(q, limit=limit))


@router.get("/{contact_id}", response_model=dict[str, Any])
def get_contact(ws: Caller, contact_id: ContactPath) -> Json:
    """The 360° view: contact points, company, orders, tickets, interactions, consents,
    segments, scores and lineage. The ETag header guards a later update."""
    if contact_id < 1:
        raise ApiProblem(404, f"there is no contact {contact_id}")
    found = ws.contact(contact_id)
    headers = {"ETag": f'"{found["etag"].strip(chr(34))}"'} if found.get("etag") else None
    return Json(found, headers=headers)


@router.post("", status_code=201)
def create_contact(
    ws: Caller,
    body: ContactIn,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    on_match: OnMatch = "report",
) -> JSONResponse:
    """Create one contact, cleaned like an import and matched in real time. A likely
    duplicate answers 409 with the candidates (send on_match=merge or create to decide)."""
    record = body.model_dump(exclude_none=True)

    def call() -> tuple[int, Any, dict[str, str]]:
        result = ws.create_contacts([record], on_match=on_match)[0].to_dict()
        status = {"created": 201, "merged": 200, "possible_duplicate": 409}.get(
            result["status"], 422
        )
        # A refusal is problem details: the result's own status moves to "outcome", so
        # "status" stays the HTTP status the problem format promises.
        if status == 409:
            result = {
                **result,
                "outcome": result["status"],
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "this looks like a customer we already have",
            }
        elif status == 422:
            result = {
                **result,
                "outcome": result["status"],
                "type": "about:blank",
                "title": "Unprocessable content",
                "status": 422,
                "detail": "the record cannot be used",
            }
        return status, result, {}

    return run_once(
        ws,
        key=idempotency_key,
        method="POST",
        path=request.url.path,
        body={"record": record, "on_match": on_match},
        call=call,
    )


@router.post("/bulk")
def create_contacts(
    ws: Caller, body: BulkCreate, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create up to 10,000 contacts in one call; each gets its own result."""
    records = [r.model_dump(exclude_none=True) for r in body.records]

    def call() -> tuple[int, Any, dict[str, str]]:
        results = ws.create_contacts(records, on_match=body.on_match)
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return 200, {"counts": counts, "results": [r.to_dict() for r in results]}, {}

    return run_once(
        ws,
        key=idempotency_key,
        method="POST",
        path=request.url.path,
        body={"records": records, "on_match": body.on_match},
        call=call,
    )


@router.patch("/bulk")
def update_contacts(ws: Caller, body: BulkUpdate) -> dict[str, Any]:
    """Apply up to 10,000 updates; one failing does not stop the others."""
    results = ws.update_contacts(
        [
            {"contact_id": item.id, "changes": item.changes, "if_match": item.if_match}
            for item in body.updates
        ]
    )
    return {"results": results}


@router.patch("/{contact_id}")
def update_contact(
    ws: Caller,
    contact_id: ContactPath,
    body: dict[str, Any],
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change golden fields. Send the ETag from your GET as If-Match: a contact someone
    changed in between answers 412 instead of being overwritten."""
    if if_match is None:
        raise ApiProblem(428, "send the contact's ETag in If-Match (from a GET) to update it")
    if contact_id < 1:
        raise ApiProblem(404, f"there is no contact {contact_id}")
    updated = ws.update_contact(contact_id, body, if_match=if_match.strip('"W/'))
    if updated.get("etag"):
        response.headers["ETag"] = f'"{updated["etag"]}"'
    return updated
