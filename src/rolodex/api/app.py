"""The HTTP API: `create_app(workspace)` builds it, `rolodex serve` runs it with uvicorn.

Versioned under /api/v1, documented by its OpenAPI schema (/api/v1/openapi.json, docs at
/api/v1/docs). The adapter parses, calls the workspace bound to the caller, and answers:
permissions, masking and auditing happen in the library, so the CLI and exports agree.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from rolodex.api import problems
from rolodex.api.auditlog import ReadLog
from rolodex.api.limits import BodyLimit, RateLimiter
from rolodex.api.v1 import router as v1_router
from rolodex.secure.permissions import Role
from rolodex.secure.users import Authenticated
from rolodex.workspace import Workspace

API_PREFIX = "/api/v1"


class RoleCache:
    """Role definitions, re-read every few seconds (a role edit reaches requests quickly)."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = -ttl
        self._roles: dict[str, Role] = {}

    def __call__(self, ws: Workspace) -> dict[str, Role]:
        now = time.monotonic()
        with self._lock:
            if now - self._at >= self.ttl:
                self._roles = ws.roles()
                self._at = now
            return self._roles


class CredentialCache:
    """Who a credential belonged to, for `ttl` seconds: a busy client costs one sign-in
    lookup a second instead of one per request.

    Only credentials that let someone in are kept, so failures still count towards lockout.
    A change to users, keys or sessions made through this process's workspace (the API's
    own endpoints, or the library in-process) empties it at once; one made by another server
    worker or the CLI takes effect within `ttl`.
    """

    def __init__(
        self, ttl: float = 1.0, *, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, Authenticated]] = {}
        self._changes = -1

    def __call__(self, ws: Workspace, credential: str, *, secret: bytes) -> Authenticated:
        """`ws.authenticate(credential)`, answered from memory when asked within `ttl`
        (and before the credential expires)."""
        now = self.clock()
        digest = hashlib.sha256(credential.encode()).hexdigest()
        with self._lock:
            changes = ws.credential_changes
            if changes != self._changes:
                self._known.clear()
                self._changes = changes
            held = self._known.get(digest)
        if held is not None and now - held[0] < self.ttl and _unexpired(held[1]):
            return held[1]
        who = ws.authenticate(credential, secret=secret)
        with self._lock:
            if ws.credential_changes == changes == self._changes:  # nothing changed meanwhile
                if len(self._known) >= self.size:
                    self._known.clear()
                self._known[digest] = (now, who)
        return who


def _unexpired(who: Authenticated) -> bool:
    return who.expires_at is None or datetime.now(UTC) < who.expires_at


def create_app(workspace: Workspace | None = None) -> FastAPI:
    """Build the API over `workspace` (the one ROLODEX_DB names by default)."""
    ws = workspace or Workspace()
    settings = ws.settings.security
    read_log = ReadLog(ws.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        read_log.start()
        try:
            yield
        finally:
            read_log.stop()

    app = FastAPI(
        title="Rolodex API",
        version="1",
        summary="Customer data, cleaned, unified and protected.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    ws.read_log = read_log
    app.state.workspace = ws
    app.state.token_secret = ws.keys.cipher().derived_secret("session-token")
    app.state.roles = RoleCache()
    app.state.credentials = CredentialCache()
    app.state.form_limiter = RateLimiter(settings.form_rate_per_minute)
    app.state.login_limiter = RateLimiter(60)
    problems.install(app)
    app.include_router(v1_router, prefix=API_PREFIX)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
