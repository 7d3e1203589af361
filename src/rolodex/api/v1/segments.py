"""Segments: list, show with a page of members, create from the filter language, refresh,
and export the members (with consent for the purpose) as CSV."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from rolodex.api.deps import Caller

TEXT = r"^[^\x00]*$"  # no NUL: PostgreSQL text cannot hold one

router = APIRouter(prefix="/segments", tags=["segments"])

Name = Annotated[str, Path(min_length=1, max_length=200, pattern=TEXT)]
Limit = Annotated[int, Query(ge=1, le=500)]


class SegmentIn(BaseModel):
    """A segment to save and fill: a name and a filter (`country = 'DE' and clv_12m > 50`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\x00]+$")
    where: str = Field(min_length=1, max_length=4000, pattern=TEXT)
    description: str | None = Field(default=None, max_length=1000, pattern=TEXT)


@router.get("")
def list_segments(
    ws: Caller,
    after: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="The last name seen.")
    ] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every segment (the predefined RFM ones included) with its member count, by name."""
    return ws.segment_list(after=after, limit=limit)


@router.post("", status_code=201)
def create_segment(ws: Caller, body: SegmentIn) -> dict[str, Any]:
    """Save a segment and fill it; a filter that does not parse answers 422 with where."""
    return ws.segment_create(body.name, where=body.where, description=body.description).to_dict()


@router.get("/{name}")
def get_segment(
    ws: Caller,
    name: Name,
    after: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="Members cursor.")
    ] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """A segment, its membership history and a page of current members (as contacts)."""
    return ws.segment_page(name, after=after, limit=limit)


@router.post("/{name}/refresh")
def refresh_segment(ws: Caller, name: Name) -> dict[str, Any]:
    """Recompute the members now; who entered and who left is kept."""
    (info,) = ws.segment_refresh(name)
    return info.to_dict()


@router.get(
    "/{name}/export",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The members as CSV."}},
)
def export_segment(
    ws: Caller,
    name: Name,
    purpose: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9 _-]+$",
            description="Members whose latest consent for it is not granted are left out.",
        ),
    ] = "marketing",
) -> FileResponse:
    """The members as CSV, with the fields your role may export; members without consent
    for the purpose are left out (headers say how many)."""
    folder = FilePath(tempfile.mkdtemp(prefix="rolodex-export-"))
    try:
        done = ws.segment_export(name, folder / "members.csv", purpose=purpose)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "segment"
    return FileResponse(
        done.path,
        media_type="text/csv",
        filename=f"{slug}.csv",
        headers={
            "X-Rows-Written": str(done.written),
            "X-Left-Out-Without-Consent": str(done.left_out),
            "Cache-Control": "no-store",
        },
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
