"""Idempotency keys on writes: a retried request gets the first answer, not a second effect.

The first request with a key claims it (a row with no answer yet), runs, and stores its
status and body. A retry with the same key and the same body gets that answer replayed; the
same key with a different body is refused (422), and a retry while the first is still running
gets 409. Keys are per caller and kept for a day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from rolodex.api.problems import PROBLEM_JSON, ApiProblem
from rolodex.model import IdempotentRequest
from rolodex.model.base import table, utcnow
from rolodex.workspace import Workspace

KEEP = timedelta(hours=24)
_T = table(IdempotentRequest)
_CONTEXT = "idempotent_request.response"


def _digest(method: str, path: str, body: Any) -> str:
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{text}".encode()).hexdigest()


def _answer(content: Any, status: int, headers: dict[str, str]) -> JSONResponse:
    """The response; a refusal is problem details and says so in its media type."""
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return JSONResponse(content, status_code=status, headers=headers, media_type=media)


def run_once(
    ws: Workspace,
    *,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    call: Callable[[], tuple[int, Any, dict[str, str]]],
) -> JSONResponse:
    """Run `call` (returning status, JSON body, headers) at most once per caller and key."""
    if key is None:
        status, content, headers = call()
        return _answer(content, status, headers)
    digest = _digest(method, path, body)
    engine = ws.engine
    with engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.created_at < utcnow() - KEEP))
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(_T).values(
                        principal=ws.actor,
                        key=key,
                        method=method,
                        path=path[:500],
                        request_hash=digest,
                        created_at=utcnow(),
                    )
                )
            claimed = True
        except IntegrityError:
            claimed = False
            found = conn.execute(
                select(_T.c.request_hash, _T.c.status_code, _T.c.response).where(
                    _T.c.principal == ws.actor, _T.c.key == key
                )
            ).one()
    if not claimed:
        if found.request_hash != digest:
            raise ApiProblem(
                422, "this Idempotency-Key was used for a different request; use a new key"
            )
        if found.status_code is None:
            raise ApiProblem(409, "a request with this Idempotency-Key is still running")
        stored = (
            ws.keys.cipher().decrypt(found.response, context=_CONTEXT) if found.response else None
        )
        return _answer(
            json.loads(stored) if stored else None,
            found.status_code,
            {"Idempotent-Replayed": "true"},
        )
    try:
        status, content, headers = call()
    except BaseException:
        with engine.begin() as conn:  # let the client retry after a failure
            conn.execute(delete(_T).where(_T.c.principal == ws.actor, _T.c.key == key))
        raise
    with engine.begin() as conn:
        conn.execute(
            update(_T)
            .where(_T.c.principal == ws.actor, _T.c.key == key)
            .values(
                status_code=status,
                # Answers hold personal data: encrypted, like every stored copy of it.
                response=ws.keys.cipher().encrypt(
                    json.dumps(content, default=str), context=_CONTEXT
                ),
            )
        )
    return _answer(content, status, headers)
