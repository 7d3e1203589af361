"""Users, sign-in with brute-force protection, tokens and API keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rolodex.exceptions import InputError, NotFoundError
from rolodex.model import ApiKey, AuditLog, Role, User
from rolodex.model.base import table
from rolodex.secure.auth import AuthenticationError, IssuedToken, LockedOut
from rolodex.secure.users import (
    Authenticated,
    UserInfo,
    add_user,
    authenticate,
    create_api_key,
    disable_user,
    enable_user,
    has_users,
    list_api_keys,
    list_users,
    login,
    logout,
    purge_expired,
    revoke_api_key,
    set_password,
    set_role,
)
from rolodex.workspace import Workspace

SECRET = b"k" * 32
PASSWORD = "violet tram under 7 bridges"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_user(
    ws: Workspace, *, username: str = "alice", role: str = "admin", team: str | None = None
) -> UserInfo:
    with ws.engine.begin() as conn:
        return add_user(
            conn, username=username, password=PASSWORD, role=role, team=team, actor="test"
        )


def attempt(
    ws: Workspace,
    username: str,
    password: str,
    *,
    origin: str | None = "10.0.0.1",
    now: datetime = NOW,
) -> IssuedToken | AuthenticationError:
    """Sign in as a server would: the transaction is committed even when the attempt fails."""
    failure: AuthenticationError | None = None
    with ws.engine.begin() as conn:
        try:
            token, _ = login(
                conn, username=username, password=password, origin=origin, secret=SECRET, now=now
            )
            return token
        except AuthenticationError as exc:
            failure = exc
    assert failure is not None
    return failure


def who(ws: Workspace, credential: str, *, now: datetime | None = None) -> Authenticated:
    with ws.engine.begin() as conn:
        return authenticate(conn, credential=credential, secret=SECRET, now=now)


def audit_rows(ws: Workspace) -> list[dict[str, str | None]]:
    log = table(AuditLog)
    with ws.engine.connect() as conn:
        rows = conn.execute(
            sa.select(log.c.actor, log.c.action, log.c.details, log.c.origin).order_by(log.c.id)
        )
        return [dict(r._mapping) for r in rows]


# --- users --------------------------------------------------------------------------------


def test_no_users_until_the_first_is_added(ws: Workspace) -> None:
    with ws.engine.connect() as conn:
        assert not has_users(conn)
    info = make_user(ws, username="Alice", team="emea")
    assert (info.username, info.role, info.team, info.is_active) == ("alice", "admin", "emea", True)
    with ws.engine.connect() as conn:
        assert has_users(conn)
        assert [u.username for u in list_users(conn)] == ["alice"]
        stored = conn.execute(sa.select(table(User).c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_usernames_are_unique_whatever_the_case(ws: Workspace) -> None:
    make_user(ws, username="alice")
    with pytest.raises(InputError, match="already exists"):
        make_user(ws, username="ALICE")


def test_roles_are_built_in_or_defined(ws: Workspace) -> None:
    with pytest.raises(InputError, match="unknown role 'wizard'"):
        make_user(ws, role="wizard")
    with ws.engine.begin() as conn:
        conn.execute(table(Role).insert().values(name="wizard", definition={}))
    assert make_user(ws, role="wizard").role == "wizard"


def test_weak_password_is_refused_and_not_echoed(ws: Workspace) -> None:
    with ws.engine.begin() as conn, pytest.raises(InputError) as caught:
        add_user(conn, username="bob", password="bob-is-great!", role="sales", actor="test")
    assert "bob-is-great!" not in str(caught.value)


def test_the_last_active_admin_cannot_be_disabled_or_demoted(ws: Workspace) -> None:
    make_user(ws, username="alice")
    with ws.engine.begin() as conn, pytest.raises(InputError, match="last active admin"):
        disable_user(conn, username="alice", actor="test")
    with ws.engine.begin() as conn, pytest.raises(InputError, match="last active admin"):
        set_role(conn, username="alice", role="sales", actor="test")
    make_user(ws, username="bob")
    with ws.engine.begin() as conn:
        assert set_role(conn, username="alice", role="sales", actor="test").role == "sales"
        with pytest.raises(NotFoundError):
            set_role(conn, username="nobody", role="sales", actor="test")


# --- sign-in and tokens -------------------------------------------------------------------


def test_login_issues_a_token_that_authenticates(ws: Workspace) -> None:
    make_user(ws, username="alice", role="sales", team="emea")
    token = attempt(ws, "ALICE", PASSWORD)
    assert isinstance(token, IssuedToken)
    assert token.expires_at == NOW + timedelta(minutes=15)
    found = who(ws, token.token, now=NOW + timedelta(minutes=5))
    assert found == Authenticated(
        username="alice",
        role="sales",
        team="emea",
        scopes=None,
        via="token",
        key_id=None,
        expires_at=token.expires_at,
    )
    with ws.engine.connect() as conn:
        assert list_users(conn)[0].last_login_at == NOW
    with pytest.raises(AuthenticationError, match="expired"):
        who(ws, token.token, now=NOW + timedelta(minutes=15))


def test_role_changes_apply_to_tokens_already_issued(ws: Workspace) -> None:
    make_user(ws, username="root")
    make_user(ws, username="alice", role="sales")
    token = attempt(ws, "alice", PASSWORD)
    assert isinstance(token, IssuedToken)
    with ws.engine.begin() as conn:
        set_role(conn, username="alice", role="read_only", actor="root")
    assert who(ws, token.token, now=NOW).role == "read_only"


def test_unknown_user_and_wrong_password_look_the_same(ws: Workspace) -> None:
    make_user(ws)
    wrong = attempt(ws, "alice", "not the password")
    unknown = attempt(ws, "mallory", PASSWORD)
    assert type(wrong) is type(unknown) is AuthenticationError
    assert str(wrong) == str(unknown) == "invalid credentials"


def test_logout_revokes_the_token_until_it_expires(ws: Workspace) -> None:
    make_user(ws)
    token = attempt(ws, "alice", PASSWORD, now=datetime.now(UTC))
    assert isinstance(token, IssuedToken)
    with ws.engine.begin() as conn:
        logout(conn, token=token.token, secret=SECRET)
        logout(conn, token=token.token, secret=SECRET)  # twice is harmless
    with pytest.raises(AuthenticationError, match="revoked"):
        who(ws, token.token)
    with ws.engine.begin() as conn:
        assert purge_expired(conn) == 0  # still needed: the token has not expired
        assert purge_expired(conn, now=datetime.now(UTC) + timedelta(days=60)) >= 1
        assert conn.execute(sa.text("SELECT count(*) FROM revoked_token")).scalar_one() == 0


def test_garbage_credentials_are_refused(ws: Workspace) -> None:
    for credential in ("", "hello", "rdt_x.y", "rdx_abcdefgh_" + "A" * 43):
        with pytest.raises(AuthenticationError):
            who(ws, credential)


# --- brute-force protection ---------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(ws: Workspace) -> None:
    make_user(ws)
    results = [
        attempt(ws, "alice", f"guess number {i}", now=NOW + timedelta(seconds=i)) for i in range(5)
    ]
    assert all(type(r) is AuthenticationError for r in results[:4])
    assert isinstance(results[4], LockedOut)
    assert results[4].retry_after == 15 * 60
    refused = attempt(ws, "alice", PASSWORD, now=NOW + timedelta(minutes=5))
    assert isinstance(refused, LockedOut)
    assert refused.retry_after == 10 * 60 + 4
    later = NOW + timedelta(minutes=15, seconds=5)
    assert isinstance(attempt(ws, "alice", PASSWORD, now=later), IssuedToken)


def test_each_further_lockout_doubles(ws: Workspace) -> None:
    make_user(ws)
    for i in range(5):
        attempt(ws, "alice", "wrong password", now=NOW + timedelta(seconds=i))
    after_first = NOW + timedelta(minutes=16)
    results = [
        attempt(ws, "alice", "wrong password", now=after_first + timedelta(seconds=i))
        for i in range(5)
    ]
    assert all(type(r) is AuthenticationError for r in results[:4])
    assert isinstance(results[4], LockedOut)
    assert results[4].retry_after == 30 * 60


def test_failures_outside_the_window_are_forgiven(ws: Workspace) -> None:
    make_user(ws)
    for i in range(4):
        attempt(ws, "alice", "wrong password", now=NOW + timedelta(seconds=i))
    later = NOW + timedelta(minutes=20)
    assert type(attempt(ws, "alice", "wrong password", now=later)) is AuthenticationError
    assert isinstance(attempt(ws, "alice", PASSWORD, now=later), IssuedToken)


def test_success_resets_the_count(ws: Workspace) -> None:
    make_user(ws)
    at = NOW
    for _ in range(4):
        at += timedelta(seconds=1)
        assert type(attempt(ws, "alice", "wrong password", now=at)) is AuthenticationError
    assert isinstance(attempt(ws, "alice", PASSWORD, now=at + timedelta(seconds=1)), IssuedToken)
    at += timedelta(seconds=1)
    for _ in range(4):
        at += timedelta(seconds=1)
        assert type(attempt(ws, "alice", "wrong password", now=at)) is AuthenticationError
    assert isinstance(attempt(ws, "alice", PASSWORD, now=at + timedelta(seconds=1)), IssuedToken)


def test_unknown_names_lock_like_real_ones(ws: Workspace) -> None:
    results = [
        attempt(ws, "ghost", "wrong password", now=NOW + timedelta(seconds=i)) for i in range(6)
    ]
    assert all(type(r) is AuthenticationError for r in results[:4])
    assert isinstance(results[4], LockedOut)
    assert isinstance(results[5], LockedOut)


def test_many_failures_from_one_origin_lock_the_origin(ws: Workspace) -> None:
    make_user(ws)
    # 21 guesses spread over names, so no single account locks.
    for i in range(21):
        attempt(ws, f"user{i}", "wrong password", origin="203.0.113.9", now=NOW)
    refused = attempt(ws, "alice", PASSWORD, origin="203.0.113.9", now=NOW + timedelta(minutes=1))
    assert isinstance(refused, LockedOut)
    assert "address" in str(refused)
    elsewhere = attempt(
        ws, "alice", PASSWORD, origin="198.51.100.7", now=NOW + timedelta(minutes=1)
    )
    assert isinstance(elsewhere, IssuedToken)


def test_enable_lifts_a_lockout(ws: Workspace) -> None:
    make_user(ws)
    start = datetime.now(UTC) - timedelta(minutes=1)  # enable_user works on the real clock
    for i in range(5):
        attempt(ws, "alice", "wrong password", now=start + timedelta(seconds=i))
    assert isinstance(attempt(ws, "alice", PASSWORD, now=datetime.now(UTC)), LockedOut)
    with ws.engine.begin() as conn:
        enable_user(conn, username="alice", actor="test")
    # One more failure must not re-lock: the failures before the unlock are forgiven.
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert type(attempt(ws, "alice", "wrong password", now=later)) is AuthenticationError
    assert isinstance(attempt(ws, "alice", PASSWORD, now=later), IssuedToken)


def test_new_password_works_and_old_one_does_not(ws: Workspace) -> None:
    make_user(ws)
    with ws.engine.begin() as conn:
        set_password(conn, username="alice", password="a different long phrase", actor="test")
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert type(attempt(ws, "alice", PASSWORD, now=now)) is AuthenticationError
    assert isinstance(attempt(ws, "alice", "a different long phrase", now=now), IssuedToken)


# --- disabled users -----------------------------------------------------------------------


def test_disabled_user_cannot_sign_in_and_loses_keys_and_tokens(ws: Workspace) -> None:
    make_user(ws, username="root")
    make_user(ws, username="bob", role="support")
    token = attempt(ws, "bob", PASSWORD, now=datetime.now(UTC))
    assert isinstance(token, IssuedToken)
    with ws.engine.begin() as conn:
        _, key = create_api_key(
            conn, username="bob", name="ci", scopes=None, expires_at=None, actor="root"
        )
        disable_user(conn, username="bob", actor="root")
        assert [k.status for k in list_api_keys(conn, username="bob")] == ["revoked"]
    refused = attempt(ws, "bob", PASSWORD, now=datetime.now(UTC))
    assert isinstance(refused, AuthenticationError)
    assert "disabled" in str(refused)
    with pytest.raises(AuthenticationError, match="disabled"):
        who(ws, token.token)
    with pytest.raises(AuthenticationError, match="revoked"):
        who(ws, key)
    with ws.engine.begin() as conn:
        enable_user(conn, username="bob", actor="root")
    assert isinstance(attempt(ws, "bob", PASSWORD, now=datetime.now(UTC)), IssuedToken)
    with pytest.raises(AuthenticationError, match="revoked"):
        who(ws, key)  # keys stay revoked after enabling


# --- API keys -----------------------------------------------------------------------------


def test_api_key_is_stored_only_as_a_hash(ws: Workspace) -> None:
    make_user(ws)
    with ws.engine.begin() as conn:
        info, key = create_api_key(
            conn,
            username="alice",
            name="warehouse sync",
            scopes=["contacts:update", "contacts:read", "contacts:read"],
            expires_at=None,
            actor="alice",
        )
    assert info.scopes == ("contacts:read", "contacts:update")
    assert key.startswith(f"rdx_{info.prefix}_")
    secret_part = key.split("_", 2)[2]
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(table(ApiKey))).all()
    assert len(rows) == 1
    dumped = repr([tuple(r) for r in rows])
    assert key not in dumped
    assert secret_part not in dumped
    assert rows[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
    listed = list_api_keys_of(ws)
    assert "key_hash" not in listed[0]
    assert rows[0].key_hash not in repr(listed)


def list_api_keys_of(ws: Workspace) -> list[dict[str, object]]:
    with ws.engine.connect() as conn:
        return [k.to_dict() for k in list_api_keys(conn)]


def test_api_key_authenticates_with_its_scopes(ws: Workspace) -> None:
    make_user(ws, username="alice", role="marketing", team="dach")
    with ws.engine.begin() as conn:
        info, key = create_api_key(
            conn,
            username="alice",
            name="newsletter",
            scopes=["contacts:read"],
            expires_at=None,
            actor="alice",
        )
    found = who(ws, key, now=NOW)
    assert found == Authenticated(
        username="alice",
        role="marketing",
        team="dach",
        scopes=frozenset({"contacts:read"}),
        via="api_key",
        key_id=info.id,
    )
    who(ws, key, now=NOW + timedelta(seconds=30))  # within a minute: no write
    with ws.engine.connect() as conn:
        assert list_api_keys(conn)[0].last_used_at == NOW
    who(ws, key, now=NOW + timedelta(minutes=2))
    with ws.engine.connect() as conn:
        assert list_api_keys(conn)[0].last_used_at == NOW + timedelta(minutes=2)
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthenticationError, match="invalid credentials"):
        who(ws, wrong_secret)


def test_revoked_and_expired_keys_are_refused(ws: Workspace) -> None:
    make_user(ws)
    now = datetime.now(UTC)
    with ws.engine.begin() as conn:
        first, first_key = create_api_key(
            conn, username="alice", name="one", scopes=["*"], expires_at=None, actor="alice"
        )
        second, second_key = create_api_key(
            conn,
            username="alice",
            name="two",
            scopes=None,
            expires_at=now + timedelta(days=1),
            actor="alice",
        )
        third, third_key = create_api_key(
            conn, username="alice", name="three", scopes=None, expires_at=None, actor="alice"
        )
    assert who(ws, second_key).scopes is None
    with pytest.raises(AuthenticationError, match="expired"):
        who(ws, second_key, now=now + timedelta(days=2))
    with ws.engine.begin() as conn:
        assert revoke_api_key(conn, key=first.prefix, actor="alice").revoked_at is not None
        revoke_api_key(conn, key=third.id, actor="alice")
        with pytest.raises(NotFoundError):
            revoke_api_key(conn, key="nosuchprefix", actor="alice")
    for key in (first_key, third_key):
        with pytest.raises(AuthenticationError, match="revoked"):
            who(ws, key)
    assert who(ws, second_key).key_id == second.id


@pytest.mark.parametrize(
    ("scopes", "expires_days"),
    [(["contacts"], None), (["Contacts:read"], None), ([], None), (None, -1)],
)
def test_bad_scopes_and_past_expiry_are_refused(
    ws: Workspace, scopes: list[str] | None, expires_days: int | None
) -> None:
    make_user(ws)
    expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)
    with ws.engine.begin() as conn, pytest.raises(InputError):
        create_api_key(
            conn, username="alice", name="x", scopes=scopes, expires_at=expires, actor="alice"
        )


# --- audit --------------------------------------------------------------------------------


def test_sign_ins_and_permission_changes_are_audited_without_secrets(ws: Workspace) -> None:
    make_user(ws, username="root")
    make_user(ws, username="bob", role="sales")
    with ws.engine.begin() as conn:
        set_role(conn, username="bob", role="manager", actor="root")
        _, key = create_api_key(
            conn, username="bob", name="ci", scopes=None, expires_at=None, actor="root"
        )
    token = attempt(ws, "bob", PASSWORD, origin="192.0.2.1")
    assert isinstance(token, IssuedToken)
    attempt(ws, "bob", "the wrong long password", origin="192.0.2.1")
    with ws.engine.begin() as conn:
        revoke_api_key(conn, key=key, actor="root")
        disable_user(conn, username="bob", actor="root")
    rows = audit_rows(ws)
    actions = [(r["actor"], r["action"]) for r in rows]
    for expected in [
        ("test", "user add"),
        ("root", "user set-role"),
        ("root", "apikey create"),
        ("bob", "login"),
        ("bob", "login failed"),
        ("root", "apikey revoke"),
        ("root", "user disable"),
    ]:
        assert expected in actions
    role_change = next(r for r in rows if r["action"] == "user set-role")
    assert '"from": "sales"' in str(role_change["details"])
    assert '"to": "manager"' in str(role_change["details"])
    assert {r["origin"] for r in rows if str(r["action"]).startswith("login")} == {"192.0.2.1"}
    dumped = repr(rows)
    for secret in (PASSWORD, "the wrong long password", key, key.split("_", 2)[2], token.token):
        assert secret not in dumped


def test_a_scope_no_request_could_use_is_refused_when_the_key_is_made(ws: Workspace) -> None:
    """A scope must name a known family and action: the same check every request makes, so
    a key is never made that would fail on each use."""
    make_user(ws)
    for scope in ("contacts:write", "people:read", "contacts"):
        with ws.engine.begin() as conn, pytest.raises(InputError, match="scope"):
            create_api_key(
                conn,
                username="alice",
                name="bad",
                scopes=[scope],
                expires_at=None,
                actor="alice",
            )
