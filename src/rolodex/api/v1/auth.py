"""Sign in and out, and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from rolodex.api.deps import Caller, origin, root
from rolodex.api.problems import ApiProblem
from rolodex.secure.permissions import ACTIONS, FAMILIES, allowed

router = APIRouter(prefix="/auth", tags=["auth"])


class Login(BaseModel):
    """A username and password."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    """A session token to send as `Authorization: Bearer ...` until it expires."""

    access_token: str
    token_type: str = "bearer"
    expires_at: str
    username: str
    role: str


@router.post("/login", response_model=Token)
def login(body: Login, request: Request) -> Token:
    """Exchange a password for a short-lived token. Repeated failures lock the account and
    the address for a while (429 with Retry-After)."""
    where = origin(request)
    wait = request.app.state.login_limiter.take(where or "?")
    if wait is not None:
        raise ApiProblem(
            429, "too many sign-in attempts from this address", headers={"Retry-After": "60"}
        )
    token, user = root(request).login(
        body.username, body.password, origin=where, secret=request.app.state.token_secret
    )
    return Token(
        access_token=token.token,
        expires_at=token.expires_at.isoformat(),
        username=user.username,
        role=user.role,
    )


_session = HTTPBearer(auto_error=False)


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    ws: Caller,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_session)],
) -> Response:
    """Revoke the session token this request carries."""
    if bearer is None or not bearer.credentials.startswith("rdt_"):
        raise ApiProblem(400, "only a session token can be signed out; revoke API keys instead")
    root(request).logout(bearer.credentials, secret=request.app.state.token_secret)
    return Response(status_code=204)


@router.get("/me")
def me(ws: Caller) -> dict[str, Any]:
    """The signed-in user, their role and what it allows."""
    p = ws.principal
    return {
        "username": p.username,
        "role": p.role.name,
        "team": p.team,
        "scopes": sorted(p.scopes) if p.scopes is not None else None,
        "row_scope": p.role.row_scope,
        "aggregates_only": p.role.aggregates_only,
        "permissions": {
            family: [a for a in ACTIONS if allowed(p, family, a)] for family in FAMILIES
        },
    }
