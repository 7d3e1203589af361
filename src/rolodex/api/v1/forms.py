"""Web form intake: administrators set up forms (contacts admin); websites post submissions
to them with the form's token, no user sign-in; double opt-in links confirm by email.

The public endpoints are rate limited per form and address (the server's
`form_rate_per_minute`) and per form over every address (the form's `rate_per_minute`), so
a leaked token (it sits in a web page) cannot flood the store.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rolodex.api.deps import Caller, origin, root
from rolodex.api.limits import RateLimiter
from rolodex.api.problems import ApiProblem
from rolodex.api.v1.contacts import ContactFields
from rolodex.pipeline.intake import LogMailer, Mailer

router = APIRouter(prefix="/forms", tags=["forms"])

FormName = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ConfirmToken = Annotated[str, Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
_LIMITERS_LOCK = threading.Lock()


class FormCreate(BaseModel):
    """A new web form."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    source: str = Field(min_length=1, max_length=200, description="Source of its contacts.")
    purpose: str = Field(
        min_length=1, max_length=100, description="The consent purpose, e.g. marketing_email."
    )
    double_opt_in: bool = False
    rate_per_minute: int = Field(default=10, ge=1, le=10_000)


class Submission(ContactFields):
    """What a web form posts: the person's details and the ticked consent box (no other
    keys: a public caller creates no custom fields and names no record id)."""

    model_config = ConfigDict(extra="forbid")

    consent: bool = Field(default=False, description="The consent box; must be ticked.")
    token: str | None = Field(default=None, max_length=200, description="Or X-Form-Token.")


def mailer_of(request: Request) -> Mailer:
    """The server's mailer (`app.state.mailer`); logs only when none is configured."""
    found = getattr(request.app.state, "mailer", None)
    return found if found is not None else LogMailer()


def _form_limiter(request: Request, name: str, per_minute: int) -> RateLimiter:
    """One limiter per form and rate, kept on the app (a changed rate gets a new one)."""
    with _LIMITERS_LOCK:
        limiters = getattr(request.app.state, "form_limiters", None)
        if limiters is None:
            limiters = {}
            request.app.state.form_limiters = limiters
        key = (name, per_minute)
        if key not in limiters:
            limiters[key] = RateLimiter(per_minute)
        limiter = limiters[key]
    assert isinstance(limiter, RateLimiter)
    return limiter


def _too_many(wait: float) -> ApiProblem:
    seconds = max(1, int(wait + 0.999))
    return ApiProblem(
        429, "too many submissions; try again shortly", headers={"Retry-After": str(seconds)}
    )


@router.post("", status_code=201)
def create_form(ws: Caller, body: FormCreate) -> dict[str, Any]:
    """Create a form. The answer holds its token: shown this once, put it in the page."""
    form, token = ws.form_create(
        body.name,
        source=body.source,
        purpose=body.purpose,
        double_opt_in=body.double_opt_in,
        rate_per_minute=body.rate_per_minute,
    )
    return {**form.to_dict(), "token": token}


@router.get("")
def list_forms(ws: Caller) -> dict[str, Any]:
    """Every form (never their tokens)."""
    return {"items": [f.to_dict() for f in ws.forms()]}


@router.delete("/{name}", status_code=204)
def delete_form(ws: Caller, name: FormName) -> None:
    """Delete a form and its unconfirmed submissions; consents given stay."""
    ws.form_delete(name)


@router.post("/{name}/submit", status_code=201)
def submit(
    request: Request,
    name: FormName,
    body: Submission,
    x_form_token: Annotated[str | None, Header(max_length=200)] = None,
    user_agent: Annotated[str | None, Header(max_length=1000)] = None,
) -> JSONResponse:
    """Take a submission (no sign-in: the form's token in X-Form-Token or `token`). Answers
    201 `received`, or 202 `pending_confirmation` when the form confirms by email."""
    client = origin(request)
    wait = request.app.state.form_limiter.take(f"{name}|{client or '?'}")
    if wait is not None:
        raise _too_many(wait)
    if not body.consent:
        raise ApiProblem(422, "tick the consent box to submit this form")

    def throttle(form: str, per_minute: int) -> None:
        form_wait = _form_limiter(request, form, per_minute).take(form)
        if form_wait is not None:
            raise _too_many(form_wait)

    record = body.model_dump(exclude_none=True, exclude={"consent", "token"})
    done = root(request).form_submit(
        name,
        token=x_form_token or body.token,
        record=record,
        mailer=mailer_of(request),
        client=client,
        user_agent=user_agent,
        throttle=throttle,
    )
    return JSONResponse(done, status_code=202 if done["status"] == "pending_confirmation" else 201)


@router.get("/confirm/{token}")
def confirm(request: Request, token: ConfirmToken) -> dict[str, Any]:
    """Follow a confirmation link: the contact and the consent are created now. A link works
    once, for 72 hours (410 after that)."""
    return root(request).form_confirm(token)
