"""Imports over HTTP: upload a file (it runs as a background job), poll the job, list the
batches, page through a batch's quarantine and undo a batch."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from rolodex.api.deps import Caller
from rolodex.api.jobs import jobs_of
from rolodex.collect.fields import Kind

router = APIRouter(prefix="/imports", tags=["imports"])

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w.\- ]+")

BatchId = Annotated[int, PathParam(ge=1, le=2**62)]
JobId = Annotated[str, PathParam(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
Limit = Annotated[int, Query(ge=1, le=500)]


def _safe_name(name: str | None) -> str:
    """The upload's own file name without any directory part or odd characters: what the
    import's messages and the source records name, and whose extension says the format."""
    base = Path((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .")[:200]
    return base or "upload"


@router.post("", status_code=202)
def upload(
    ws: Caller,
    request: Request,
    file: Annotated[
        UploadFile, File(description="A CSV, TSV, Excel, JSON, NDJSON or Parquet file.")
    ],
    source: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[
        Kind | None, Form(description="What a row describes; guessed if absent.")
    ] = None,
    id_column: Annotated[str | None, Form(max_length=200)] = None,
    sheet: Annotated[str | None, Form(max_length=200)] = None,
) -> JSONResponse:
    """Upload a file to import as records of `source`. Answers 202 with a job to poll
    (GET /imports/jobs/{id}); imports run one at a time."""
    ws.authorize("imports", "run")
    folder = Path(tempfile.mkdtemp(prefix="rolodex-upload-"))
    path = folder / _safe_name(file.filename)
    try:
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, _CHUNK)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def run() -> dict[str, Any]:
        summary = ws.import_file(path, source=source, kind=kind, id_column=id_column, sheet=sheet)
        return {**asdict(summary), "reconciles": summary.reconciles}

    job = jobs_of(request.app).submit(
        kind="import",
        owner=ws.actor,
        run=run,
        cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
    )
    return JSONResponse(
        job.to_dict(),
        status_code=202,
        headers={"Location": f"{request.url.path}/jobs/{job.id}"},
    )


@router.get("/jobs/{job_id}")
def job(ws: Caller, request: Request, job_id: JobId) -> dict[str, Any]:
    """Where a job you started is: queued, running, done (with its summary) or failed (with
    the error as problem details)."""
    return jobs_of(request.app).get(job_id, owner=ws.actor).to_dict()


@router.get("")
def batches(
    ws: Caller,
    after: Annotated[int | None, Query(ge=1, description="Cursor: the last batch id seen.")] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Import batches, newest first."""
    found = [b for b in ws.batches() if after is None or int(b["id"]) < after]
    items = found[:limit]
    more = len(found) > limit
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}


@router.get("/{batch_id}/quarantine")
def quarantine(
    ws: Caller,
    batch_id: BatchId,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Cursor.")] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The batch's quarantined rows with the reasons; the raw row (`payload`) is shown,
    masked or left out by your role."""
    return ws.quarantine(batch_id, after=after, limit=limit)


@router.delete("/{batch_id}")
def undo(ws: Caller, batch_id: BatchId) -> dict[str, Any]:
    """Undo a batch: remove what it added and restore what it changed."""
    return asdict(ws.undo_import(batch_id))
