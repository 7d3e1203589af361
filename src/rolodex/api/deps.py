"""Who is calling: the credential on a request becomes a workspace bound to that user.

A session token comes as `Authorization: Bearer rdt_...`, an API key as
`Authorization: Bearer rdx_...` or `X-API-Key: rdx_...`. Who a credential belongs to is
re-read at most a second apart (`CredentialCache`): a disabled account, a revoked key or a
changed role takes effect within a second, and at once when made through this process.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rolodex.api.problems import ApiProblem
from rolodex.secure.permissions import Principal
from rolodex.workspace import Workspace

_bearer = HTTPBearer(auto_error=False, description="A session token (rdt_...) or an API key")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (rdx_...)")


def root(request: Request) -> Workspace:
    """The server's workspace (unbound: only for sign-in and intake)."""
    ws = request.app.state.workspace
    assert isinstance(ws, Workspace)
    return ws


def origin(request: Request) -> str | None:
    """Where the request came from, as the audit log records it."""
    return request.client.host if request.client else None


def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Workspace:
    """The workspace acting as the authenticated user; 401 without a valid credential."""
    credential = bearer.credentials if bearer is not None else api_key
    if not credential:
        raise ApiProblem(
            401,
            "sign in first: send a session token or an API key as a Bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ws = root(request)
    who = request.app.state.credentials(ws, credential, secret=request.app.state.token_secret)
    roles = request.app.state.roles(ws)
    role = roles.get(who.role)
    if role is None:
        raise ApiProblem(403, f"your role {who.role!r} is not defined on this server")
    principal = Principal(username=who.username, role=role, team=who.team, scopes=who.scopes)
    view = ws.acting_as(principal, origin=origin(request))
    request.state.actor = who.username
    return view


Caller = Annotated[Workspace, Depends(caller)]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag of the version being changed (from a GET): required."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Makes a retried write safe: the same key returns the first answer.",
    ),
]
