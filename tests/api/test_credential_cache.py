"""The API remembers who a credential belongs to for a second: changes made through the
same workspace apply at once, changes made elsewhere (the CLI, another worker) within the
second, and nothing expired or refused is served from memory."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from rolodex.api.app import CredentialCache
from rolodex.secure.auth import AuthenticationError
from rolodex.workspace import Workspace
from tests.api.conftest import PASSWORD

SECRET = b"s" * 32


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_revoked_elsewhere_is_refused_once_the_second_is_over(api_ws: Workspace) -> None:
    clock = Clock()
    cache = CredentialCache(ttl=1.0, clock=clock)
    info, key = api_ws.apikey_create("sales-user", name="sync")
    assert cache(api_ws, key, secret=SECRET).username == "sales-user"
    with Workspace(api_ws.url, settings=api_ws.settings, actor="cli") as elsewhere:
        elsewhere.apikey_revoke(info.id)
    clock.now += 0.5
    assert cache(api_ws, key, secret=SECRET).username == "sales-user"  # from memory
    clock.now += 0.6
    with pytest.raises(AuthenticationError, match="revoked"):
        cache(api_ws, key, secret=SECRET)


def test_a_change_through_the_same_workspace_applies_at_once(api_ws: Workspace) -> None:
    clock = Clock()
    cache = CredentialCache(ttl=60.0, clock=clock)
    _, key = api_ws.apikey_create("support-user", name="desk")
    token, _ = api_ws.login("marketing-user", PASSWORD, secret=SECRET)
    assert cache(api_ws, key, secret=SECRET).role == "support"
    assert cache(api_ws, token.token, secret=SECRET).role == "marketing"
    api_ws.user_set_role("support-user", "analyst")
    assert cache(api_ws, key, secret=SECRET).role == "analyst"
    api_ws.logout(token.token, secret=SECRET)
    with pytest.raises(AuthenticationError, match="revoked"):
        cache(api_ws, token.token, secret=SECRET)
    # A view acting as a user (what each request holds) shares the same record of changes.
    view = api_ws.acting_as(api_ws.principal_for("admin-user"))
    view.user_disable("support-user")
    with pytest.raises(AuthenticationError, match=r"revoked|disabled"):
        cache(api_ws, key, secret=SECRET)


def test_an_expired_token_is_not_served_from_memory(api_ws: Workspace) -> None:
    cache = CredentialCache(ttl=3600.0)
    token, _ = api_ws.login("sales-user", PASSWORD, secret=SECRET, ttl=timedelta(seconds=3))
    assert cache(api_ws, token.token, secret=SECRET).username == "sales-user"
    time.sleep(max(0.0, (token.expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
    with pytest.raises(AuthenticationError, match="expired"):
        cache(api_ws, token.token, secret=SECRET)


def test_a_refused_credential_is_checked_every_time(api_ws: Workspace) -> None:
    clock = Clock()
    cache = CredentialCache(ttl=60.0, clock=clock)
    info, key = api_ws.apikey_create("sales-user", name="sync")
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            cache(api_ws, wrong, secret=SECRET)
    assert cache(api_ws, key, secret=SECRET).key_id == info.id
