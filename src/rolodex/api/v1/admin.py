"""Users, API keys and the audit log. Administrators manage users; everyone manages their
own API keys within what they may do themselves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rolodex.api.deps import Caller
from rolodex.api.problems import ApiProblem

TEXT = r"^[^\x00]*$"  # no NUL: PostgreSQL text cannot hold one

router = APIRouter(tags=["admin"])

MAX_ID = 2**63 - 1

Username = Annotated[str, Path(min_length=1, max_length=200, pattern=TEXT)]
Limit = Annotated[int, Query(ge=1, le=500)]


class UserIn(BaseModel):
    """A new user: the password follows the workspace's password policy."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200, pattern=TEXT)
    password: str = Field(min_length=1, max_length=1000, pattern=TEXT)
    role: str = Field(min_length=1, max_length=100, pattern=TEXT)
    team: str | None = Field(default=None, max_length=100, pattern=TEXT)
    display_name: str | None = Field(default=None, max_length=200, pattern=TEXT)


class UserChange(BaseModel):
    """What to change about a user (only what is sent); an empty team removes it."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, min_length=1, max_length=100, pattern=TEXT)
    team: str | None = Field(default=None, max_length=100, pattern=TEXT)
    active: bool | None = None


class ApiKeyIn(BaseModel):
    """A new API key: what it is for, optional scopes (family:action) and expiry."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    scopes: list[Annotated[str, Field(min_length=1, max_length=100, pattern=TEXT)]] | None = Field(
        default=None, min_length=1, max_length=100
    )
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


@router.get("/users", tags=["users"])
def list_users(
    ws: Caller,
    after: Annotated[
        str | None, Query(max_length=200, pattern=TEXT, description="Last username seen.")
    ] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Users by username."""
    return ws.user_list(after=after, limit=limit)


@router.post("/users", status_code=201, tags=["users"])
def add_user(ws: Caller, body: UserIn) -> dict[str, Any]:
    """Create a user (audited)."""
    return ws.user_add(
        body.username,
        password=body.password,
        role=body.role,
        team=body.team,
        display_name=body.display_name,
    ).to_dict()


@router.patch("/users/{username}", tags=["users"])
def change_user(ws: Caller, username: Username, body: UserChange) -> dict[str, Any]:
    """Change a user's role, team or whether they may sign in (each change audited)."""
    if not body.model_fields_set:
        raise ApiProblem(422, "send at least one of role, team, active")
    if "active" in body.model_fields_set and body.active is None:
        raise ApiProblem(422, "active must be true or false")
    team = body.team
    if "team" in body.model_fields_set and team is None:
        team = ""  # null removes the team, like an empty text
    return ws.user_update(username, role=body.role, team=team, active=body.active).to_dict()


@router.post("/users/{username}/apikeys", status_code=201, tags=["api keys"])
def create_api_key(ws: Caller, username: Username, body: ApiKeyIn) -> JSONResponse:
    """Create an API key; `key` is shown this once and never again. Yours with scopes
    within what you may do, or anyone's with the users permission."""
    info, key = ws.apikey_create(
        username, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    content = {**info.to_dict(), "key": key}
    for name in ("created_at", "expires_at", "revoked_at", "last_used_at"):
        value = content.get(name)
        if isinstance(value, datetime):
            content[name] = value.isoformat()
    return JSONResponse(content, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/apikeys", tags=["api keys"])
def list_api_keys(
    ws: Caller,
    username: Annotated[str | None, Query(min_length=1, max_length=200, pattern=TEXT)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Last id seen.")] = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """API keys without secrets: your own, or (with the users permission) everyone's."""
    return ws.apikey_list(username=username, after=after, limit=limit)


@router.delete("/apikeys/{key_id}", tags=["api keys"])
def revoke_api_key(ws: Caller, key_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    """Revoke an API key (yours, or anyone's with the users permission)."""
    return ws.apikey_revoke(key_id).to_dict()


@router.get("/audit", tags=["audit"])
def audit_log(
    ws: Caller,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Last id seen.")] = None,
    limit: Limit = 100,
    action: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT)] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=200, pattern=TEXT)] = None,
) -> dict[str, Any]:
    """The audit log newest first; page back with `before` (the `next_cursor`)."""
    return ws.audit_page(before=before, limit=limit, action=action, actor=actor)


@router.get("/audit/verify", tags=["audit"])
def verify_audit(ws: Caller) -> dict[str, Any]:
    """Recompute the hash chain; any edited or removed entry is reported."""
    return ws.audit_verify().to_dict()
