"""Identity resolution over HTTP: run it (as a background job), list past runs, merge and
unmerge by hand, work the review queue, and explain how a contact was assembled."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from rolodex.api.deps import Caller
from rolodex.api.jobs import jobs_of

router = APIRouter(tags=["resolve"])

_MAX_ID = 2**62
Id = Annotated[int, Path(ge=1, le=_MAX_ID)]
Reason = Annotated[str | None, Field(default=None, max_length=1000)]


class ResolveRequest(BaseModel):
    """What a resolve run should do."""

    full: bool = False
    """Match every record again, not only the new and changed ones."""

    dry_run: bool = False
    """Report what would change and write nothing."""


class MergeRequest(BaseModel):
    """Two contacts that are the same person: `second` is folded into `first`."""

    first: int = Field(ge=1, le=_MAX_ID)
    second: int = Field(ge=1, le=_MAX_ID)
    reason: Reason = None


class UnmergeRequest(BaseModel):
    """A source record that does not belong to a contact, to split out of it."""

    contact: int = Field(ge=1, le=_MAX_ID)
    record: int = Field(ge=1, le=_MAX_ID)
    reason: Reason = None


class Decision(BaseModel):
    """Why a review pair was decided this way (kept with the label)."""

    reason: Reason = None


@router.post("/resolve", status_code=202)
def run(ws: Caller, request: Request, body: ResolveRequest | None = None) -> JSONResponse:
    """Start a resolve run; answers 202 with a job to poll at /imports/jobs/{id} (jobs
    run one at a time, imports and resolves alike)."""
    ws.authorize("resolve", "run")
    options = body or ResolveRequest()

    def call() -> dict[str, Any]:
        return asdict(ws.resolve(full=options.full, dry_run=options.dry_run))

    job = jobs_of(request.app).submit(kind="resolve", owner=ws.actor, run=call)
    return JSONResponse(
        job.to_dict(),
        status_code=202,
        headers={"Location": f"{request.url.path.rsplit('/', 1)[0]}/imports/jobs/{job.id}"},
    )


@router.get("/resolve/runs")
def runs(
    ws: Caller,
    after: Annotated[int | None, Query(ge=1, le=_MAX_ID, description="Cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Past resolve runs, newest first, with what each changed."""
    return ws.resolve_runs(after=after, limit=limit)


@router.post("/merge")
def merge(ws: Caller, body: MergeRequest) -> dict[str, Any]:
    """Merge contact `second` into `first`, for good (later resolves keep it)."""
    return ws.merge(body.first, body.second, reason=body.reason)


@router.post("/unmerge")
def unmerge(ws: Caller, body: UnmergeRequest) -> dict[str, Any]:
    """Split source record `record` out of contact `contact`, for good."""
    return ws.unmerge(body.contact, body.record, reason=body.reason)


@router.get("/review")
def review(
    ws: Caller,
    status: Literal["pending", "accepted", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Uncertain pairs side by side with the per-field evidence, most likely first; the
    records' personal fields as your role shows them."""
    return {"items": ws.review(status=status, limit=limit)}


@router.post("/review/{review_id}/accept")
def accept(ws: Caller, review_id: Id, body: Decision | None = None) -> dict[str, Any]:
    """Accept a pair: the two contacts are merged, and the label teaches the matcher."""
    return ws.review_decide(review_id, accept=True, reason=body.reason if body else None)


@router.post("/review/{review_id}/reject")
def reject(ws: Caller, review_id: Id, body: Decision | None = None) -> dict[str, Any]:
    """Reject a pair: the two stay apart for good, and the label teaches the matcher."""
    return ws.review_decide(review_id, accept=False, reason=body.reason if body else None)


@router.get("/contacts/{contact_id}/explain", tags=["contacts"])
def explain(ws: Caller, contact_id: Id) -> dict[str, Any]:
    """Which source records make a contact, why each belongs, where each value came from."""
    return ws.explain(contact_id)
