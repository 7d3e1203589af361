"""Every API error in one JSON shape: RFC 9457 problem details.

Rolodex errors already say whether retrying can help and what was wrong; here they only get
an HTTP status. Unexpected errors answer 500 without internals (the log has them).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rolodex.exceptions import (
    AlreadyDecided,
    ConfigError,
    InputError,
    NotFoundError,
    RolodexError,
    TerminalError,
    TransientError,
)
from rolodex.pipeline.contacts_write import PreconditionFailed
from rolodex.pipeline.intake import ConfirmationGone
from rolodex.secure.auth import AuthenticationError, LockedOut
from rolodex.secure.permissions import PermissionDenied

log = logging.getLogger("rolodex.api")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def _json_default(value: Any) -> Any:
    """What the standard encoder cannot write: numbers from NUMERIC columns, times, bytes."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class Json(JSONResponse):
    """A JSON answer written straight from plain data, without FastAPI's per-value encoder
    pass (a large part of a hot read's time)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=_json_default
        ).encode("utf-8")


class ApiProblem(Exception):
    """An error raised by the adapter itself (limits, headers), with its status."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem-details response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# The most specific class first: a LockedOut is also an AuthenticationError.
_STATUSES: tuple[tuple[type[RolodexError], int], ...] = (
    (LockedOut, 429),
    (AuthenticationError, 401),
    (PermissionDenied, 403),
    (PreconditionFailed, 412),
    (ConfirmationGone, 410),
    (AlreadyDecided, 409),
    (NotFoundError, 404),
    (InputError, 422),
    (ConfigError, 500),
    (TransientError, 503),
    (TerminalError, 400),
)


def status_of(exc: RolodexError) -> int:
    """The HTTP status that says what a Rolodex error means to a client."""
    return next((status for kind, status in _STATUSES if isinstance(exc, kind)), 500)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details; some carry more members.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "retryable": {"type": "boolean"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "array", "items": {"type": "string"}},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe every 4xx answer as the problem details the handlers below send, in place
    of FastAPI's default 422 shape (which no response of this API has)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    answer = {
        "description": "Problem details (RFC 9457)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {**answer, "description": "The request does not fit"}
            responses.setdefault("4XX", answer)
    return schema


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details, and say so in the
    OpenAPI schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RolodexError)
    async def rolodex_error(request: Request, exc: RolodexError) -> JSONResponse:
        status = status_of(exc)
        headers: dict[str, str] = {}
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        elif exc.retryable:
            headers["Retry-After"] = "1"
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if status == 500:
            log.error("configuration error on %s: %s", request.url.path, exc)
            return problem(500, "the server is misconfigured", instance=request.url.path)
        extra: dict[str, Any] = {"retryable": exc.retryable}
        for name in ("file", "row", "column"):
            value = getattr(exc, name, None)
            if value is not None:
                extra[name] = value
        return problem(status, str(exc), instance=request.url.path, headers=headers, **extra)

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(
            exc.status, exc.detail, instance=request.url.path, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": [str(part) for part in err.get("loc", ())],
                "message": str(err.get("msg", "")),
            }
            for err in exc.errors()
        ]
        return problem(
            422, "the request does not fit the schema", instance=request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "unexpected error; it has been logged", instance=request.url.path)
