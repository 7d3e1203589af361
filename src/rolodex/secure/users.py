"""Users, sign-in, session tokens and API keys over the workspace database.

Every function works inside the caller's transaction (a SQLAlchemy Connection) and writes an
audit entry for each sign-in and each change to who may do what; no password, token or key
ever reaches the audit log. There are no default credentials: the first admin is made with
`rolodex user add NAME --role admin`.

Brute-force protection, all derived from `login_attempt` and two columns of `app_user`:

- five failed passwords for one account within 15 minutes (and since its last success or
  lock-out) lock it for 15 minutes, doubling with each further lock-out up to 24 hours;
- more than twenty failures from one origin (address) within 15 minutes lock the origin;
- names that belong to nobody lock the same way, so a lock-out does not tell them apart;
- a locked attempt is refused even with the right password; a success resets the count.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NoReturn

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from rolodex.exceptions import InputError, NotFoundError
from rolodex.model import ApiKey, LoginAttempt, RevokedToken, Role, User
from rolodex.model.base import table
from rolodex.secure.auth import (
    API_KEY_PREFIX,
    TOKEN_PREFIX,
    AuthenticationError,
    IssuedToken,
    LockedOut,
    check_password_policy,
    dummy_hash,
    hash_password,
    issue_token,
    looks_like_api_key,
    needs_rehash,
    new_api_key,
    parse_api_key,
    verify_password,
    verify_token,
)
from rolodex.secure.permissions import scope_grants
from rolodex.store.audit import append_audit

BUILTIN_ROLES = ("admin", "manager", "sales", "marketing", "support", "analyst", "read_only")
ADMIN = "admin"
WINDOW = timedelta(minutes=15)  # failures older than this are forgiven
ACCOUNT_MAX_FAILURES = 5
ORIGIN_MAX_FAILURES = 20
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
LAST_USED_EVERY = timedelta(minutes=1)  # api_key.last_used_at: one write a minute at most
ATTEMPT_RETENTION = timedelta(days=30)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,199}")

_USER = table(User)
_KEY = table(ApiKey)
_ATTEMPT = table(LoginAttempt)
_REVOKED = table(RevokedToken)
_ROLE = table(Role)


@dataclass(frozen=True)
class UserInfo:
    """A user as listings and the API show it (never the password hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    team: str | None
    is_active: bool
    created_at: datetime | None
    last_login_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as listings show it: its public prefix, never the secret or its hash."""

    id: int
    username: str
    name: str
    prefix: str
    scopes: tuple[str, ...] | None  # None: everything the user's role allows
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def status(self) -> str:
        """The status now: active, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, with the status."""
        return {**asdict(self), "status": self.status}


@dataclass(frozen=True)
class Authenticated:
    """Who a checked credential belongs to, read from the database at every request (a role
    change or a disabled account takes effect at once, whatever the token says)."""

    username: str
    role: str
    team: str | None
    scopes: frozenset[str] | None  # None: no narrowing beyond the role (tokens, unscoped keys)
    via: Literal["token", "api_key"]
    key_id: int | None
    # The key's last use is older than LAST_USED_EVERY and was not written (note_use=False).
    use_unrecorded: bool = False
    # When the credential stops letting anyone in (UTC; None: an API key without expiry).
    expires_at: datetime | None = None


# --- helpers ------------------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    """Return `now` (naive taken as UTC) or the current time, in UTC."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """Give a stored timestamp its UTC zone back (SQLite returns it naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _username(text: str) -> str:
    """Normalize a username to lower case (names are unique regardless of case) and check it."""
    name = text.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InputError(
            f"{text!r} is not a valid username: use letters, digits and . _ @ + -"
            " (starting with a letter or digit), at most 200 characters"
        )
    return name


def _user_info(row: Row[Any]) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        team=row.team,
        is_active=bool(row.is_active),
        created_at=_aware(row.created_at),
        last_login_at=_aware(row.last_login_at),
    )


def _find_user(conn: Connection, username: str) -> Row[Any] | None:
    name = username.strip().lower()
    return conn.execute(sa.select(_USER).where(_USER.c.username == name)).first()


def _get_user(conn: Connection, username: str) -> Row[Any]:
    row = _find_user(conn, username)
    if row is None:
        raise NotFoundError(f"no user named {username.strip().lower()!r}")
    return row


def check_role(conn: Connection, role: str) -> str:
    """Return `role` when it is built in or defined in the `role` table.

    Raises:
        InputError: no such role; the message lists the ones there are.
    """
    if role in BUILTIN_ROLES:
        return role
    custom = list(conn.execute(sa.select(_ROLE.c.name).order_by(_ROLE.c.name)).scalars())
    if role in custom:
        return role
    raise InputError(f"unknown role {role!r}; roles: {', '.join([*BUILTIN_ROLES, *custom])}")


def _inserted(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT and return the new row's id."""
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def _keep_an_admin(conn: Connection, user: Row[Any], *, doing: str) -> None:
    """Refuse to leave the workspace without an active admin."""
    if user.role != ADMIN or not user.is_active:
        return
    others = conn.execute(
        sa.select(sa.func.count())
        .select_from(_USER)
        .where(_USER.c.role == ADMIN, _USER.c.is_active.is_(True), _USER.c.id != user.id)
    ).scalar_one()
    if not others:
        raise InputError(
            f"cannot {doing} {user.username!r}: it is the last active admin;"
            " make another user admin first"
        )


# --- users --------------------------------------------------------------------------------


def has_users(conn: Connection) -> bool:
    """Tell whether any user exists (none at first: the CLI creates the first admin)."""
    return conn.execute(sa.select(_USER.c.id).limit(1)).first() is not None


def add_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: str,
    team: str | None = None,
    display_name: str | None = None,
    actor: str,
    origin: str | None = None,
) -> UserInfo:
    """Create a user with an argon2-hashed password.

    Raises:
        InputError: bad or taken username (case does not matter), unknown role, weak password.
    """
    name = _username(username)
    check_role(conn, role)
    check_password_policy(password, username=name)
    if _find_user(conn, name) is not None:
        raise InputError(f"a user named {name!r} already exists")
    team = (team or "").strip() or None
    display_name = (display_name or "").strip() or None
    user_id = _inserted(
        conn,
        _USER.insert().values(
            username=name,
            display_name=display_name,
            password_hash=hash_password(password),
            role=role,
            team=team,
            is_active=True,
            failed_logins=0,
        ),
    )
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="user add",
        entity="user",
        entity_id=user_id,
        details={"username": name, "role": role, "team": team},
    )
    return _user_info(_get_user(conn, name))


def list_users(conn: Connection) -> list[UserInfo]:
    """Every user, by username."""
    rows = conn.execute(sa.select(_USER).order_by(_USER.c.username))
    return [_user_info(row) for row in rows]


def get_user(conn: Connection, *, username: str) -> UserInfo:
    """One user.

    Raises:
        NotFoundError: no such user.
    """
    return _user_info(_get_user(conn, username))


def disable_user(
    conn: Connection, *, username: str, actor: str, origin: str | None = None
) -> UserInfo:
    """Stop a user from signing in and revoke their API keys (their tokens stop working too:
    every request reads the account).

    Raises:
        NotFoundError: no such user.
        InputError: the user is the last active admin.
    """
    user = _get_user(conn, username)
    _keep_an_admin(conn, user, doing="disable")
    now = _utc(None)
    conn.execute(_USER.update().where(_USER.c.id == user.id).values(is_active=False))
    revoked = conn.execute(
        _KEY.update()
        .where(_KEY.c.user_id == user.id, _KEY.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="user disable",
        entity="user",
        entity_id=user.id,
        details={"username": user.username, "revoked_api_keys": revoked},
    )
    return _user_info(_get_user(conn, user.username))


def enable_user(
    conn: Connection, *, username: str, actor: str, origin: str | None = None
) -> UserInfo:
    """Let a disabled user sign in again; also lifts a lock-out (the failures are forgiven).

    Revoked API keys stay revoked: create new ones.

    Raises:
        NotFoundError: no such user.
    """
    user = _get_user(conn, username)
    now = _utc(None)
    # locked_until = now: a lock ended now, so the failures before it no longer count.
    conn.execute(
        _USER.update()
        .where(_USER.c.id == user.id)
        .values(is_active=True, failed_logins=0, locked_until=now)
    )
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="user enable",
        entity="user",
        entity_id=user.id,
        details={"username": user.username, "was_active": bool(user.is_active)},
    )
    return _user_info(_get_user(conn, user.username))


def set_role(
    conn: Connection, *, username: str, role: str, actor: str, origin: str | None = None
) -> UserInfo:
    """Give a user another role (a permission change, so audited with before and after).

    Raises:
        NotFoundError: no such user.
        InputError: unknown role, or it would leave no active admin.
    """
    user = _get_user(conn, username)
    check_role(conn, role)
    if role != ADMIN:
        _keep_an_admin(conn, user, doing="change the role of")
    conn.execute(_USER.update().where(_USER.c.id == user.id).values(role=role))
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="user set-role",
        entity="user",
        entity_id=user.id,
        details={"username": user.username, "from": user.role, "to": role},
    )
    return _user_info(_get_user(conn, user.username))


def set_password(
    conn: Connection, *, username: str, password: str, actor: str, origin: str | None = None
) -> UserInfo:
    """Replace a user's password (policy-checked) and forgive their failed sign-ins.

    Raises:
        NotFoundError: no such user.
        InputError: the password breaks the policy.
    """
    user = _get_user(conn, username)
    check_password_policy(password, username=user.username)
    now = _utc(None)
    conn.execute(
        _USER.update()
        .where(_USER.c.id == user.id)
        .values(password_hash=hash_password(password), failed_logins=0, locked_until=now)
    )
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="user set-password",
        entity="user",
        entity_id=user.id,
        details={"username": user.username},
    )
    return _user_info(_get_user(conn, user.username))


# --- sign-in ------------------------------------------------------------------------------


def _failures_since(conn: Connection, column: sa.Column[Any], value: str, since: datetime) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(_ATTEMPT)
            .where(
                column == value,
                _ATTEMPT.c.succeeded.is_(False),
                _ATTEMPT.c.attempted_at > since,
            )
        ).scalar_one()
    )


def _sliding_lock(
    conn: Connection, column: sa.Column[Any], value: str, *, limit: int, now: datetime
) -> int | None:
    """Seconds until fewer than `limit` failures remain in the window, or None if already."""
    since = now - WINDOW
    count = _failures_since(conn, column, value, since)
    if count < limit:
        return None
    oldest_to_expire = conn.execute(
        sa.select(_ATTEMPT.c.attempted_at)
        .where(column == value, _ATTEMPT.c.succeeded.is_(False), _ATTEMPT.c.attempted_at > since)
        .order_by(_ATTEMPT.c.attempted_at)
        .offset(count - limit)
        .limit(1)
    ).scalar_one()
    release = _aware(oldest_to_expire)
    assert release is not None
    return math.ceil((release + WINDOW - now).total_seconds())


def _record(
    conn: Connection, *, username: str, origin: str | None, succeeded: bool, now: datetime
) -> None:
    conn.execute(
        _ATTEMPT.insert().values(
            username=username[:200],
            origin=None if origin is None else origin[:200],
            succeeded=succeeded,
            attempted_at=now,
        )
    )


def _lock_duration(failures: int) -> timedelta:
    """15 minutes for the first lock-out, doubling for each further one, at most 24 hours.

    Each lock-out needs five more failures, so `failures // 5` never undercounts them.
    """
    lockouts = min(max(1, failures // ACCOUNT_MAX_FAILURES), 12)
    return min(FIRST_LOCK * (1 << (lockouts - 1)), LONGEST_LOCK)


def login(
    conn: Connection,
    *,
    username: str,
    password: str,
    origin: str | None,
    secret: bytes,
    ttl: timedelta = timedelta(minutes=15),
    now: datetime | None = None,
) -> tuple[IssuedToken, UserInfo]:
    """Check a password and issue a short-lived session token.

    Every attempt is recorded and audited. The caller must COMMIT even when this raises:
    the failure record is what locks out a guesser (`Workspace.login` does so).

    Args:
        origin: where the attempt came from (client address), for the per-origin lock;
            None (the CLI) skips it.

    Raises:
        LockedOut: too many recent failures for this account or origin (`retry_after`).
        AuthenticationError: unknown user or wrong password (one message for both), or a
            disabled account.
    """
    now = _utc(now)
    name = username.strip().lower()[:200]
    col_user, col_origin = _ATTEMPT.c.username, _ATTEMPT.c.origin

    def refuse(
        error: AuthenticationError, *, action: str, reason: str, user_id: int | None
    ) -> NoReturn:
        _record(conn, username=name, origin=origin, succeeded=False, now=now)
        details: dict[str, Any] = {"reason": reason}
        if isinstance(error, LockedOut):
            details["retry_after"] = error.retry_after
        append_audit(
            conn,
            actor=name or "-",
            action=action,
            entity="user",
            entity_id=user_id,
            details=details,
            origin=origin,
        )
        raise error

    if origin is not None:
        wait = _sliding_lock(conn, col_origin, origin, limit=ORIGIN_MAX_FAILURES + 1, now=now)
        if wait is not None:
            refuse(
                LockedOut(wait, what="address"),
                action="login refused",
                reason="origin locked",
                user_id=None,
            )
    user = _find_user(conn, name) if name else None
    if user is None:
        wait = _sliding_lock(conn, col_user, name, limit=ACCOUNT_MAX_FAILURES, now=now)
        if wait is not None:
            refuse(LockedOut(wait), action="login refused", reason="locked", user_id=None)
        verify_password(dummy_hash(), password)  # same work as for a real user
        _record(conn, username=name, origin=origin, succeeded=False, now=now)
        wait = _sliding_lock(conn, col_user, name, limit=ACCOUNT_MAX_FAILURES, now=now)
        append_audit(
            conn,
            actor=name or "-",
            action="login failed",
            entity="user",
            details={"reason": "unknown user", "locked": wait is not None},
            origin=origin,
        )
        raise AuthenticationError() if wait is None else LockedOut(wait)

    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        wait = math.ceil((locked_until - now).total_seconds())
        refuse(LockedOut(wait), action="login refused", reason="locked", user_id=user.id)
    stored = user.password_hash or dummy_hash()
    if not verify_password(stored, password) or user.password_hash is None:
        _record(conn, username=name, origin=origin, succeeded=False, now=now)
        failures = int(user.failed_logins or 0) + 1
        since = max(t for t in (now - WINDOW, _aware(user.last_login_at), locked_until) if t)
        new_lock = None
        if _failures_since(conn, col_user, name, since) >= ACCOUNT_MAX_FAILURES:
            new_lock = now + _lock_duration(failures)
        conn.execute(
            _USER.update()
            .where(_USER.c.id == user.id)
            .values(
                failed_logins=failures,
                locked_until=new_lock if new_lock is not None else user.locked_until,
            )
        )
        append_audit(
            conn,
            actor=name,
            action="login failed",
            entity="user",
            entity_id=user.id,
            details={"reason": "wrong password", "locked": new_lock is not None},
            origin=origin,
        )
        if new_lock is not None:
            raise LockedOut(math.ceil((new_lock - now).total_seconds()))
        raise AuthenticationError()
    if not user.is_active:
        refuse(
            AuthenticationError("this account is disabled"),
            action="login refused",
            reason="disabled",
            user_id=user.id,
        )

    _record(conn, username=name, origin=origin, succeeded=True, now=now)
    values: dict[str, Any] = {"failed_logins": 0, "last_login_at": now}
    if needs_rehash(stored):
        values["password_hash"] = hash_password(password)
    conn.execute(_USER.update().where(_USER.c.id == user.id).values(**values))
    issued = issue_token(username=name, secret=secret, ttl=ttl, now=now)
    append_audit(
        conn,
        actor=name,
        action="login",
        entity="user",
        entity_id=user.id,
        details={"jti": issued.jti, "expires_at": issued.expires_at.isoformat()},
        origin=origin,
    )
    return issued, _user_info(_get_user(conn, name))


def logout(conn: Connection, *, token: str, secret: bytes, now: datetime | None = None) -> None:
    """Revoke a session token until it would have expired (an expired one needs nothing).

    Raises:
        AuthenticationError: the token is not one this secret signed.
    """
    claims = verify_token(token, secret=secret, now=now, allow_expired=True)
    if claims.expires_at <= _utc(now):
        return
    known = conn.execute(sa.select(_REVOKED.c.jti).where(_REVOKED.c.jti == claims.jti)).first()
    if known is None:
        conn.execute(_REVOKED.insert().values(jti=claims.jti, expires_at=claims.expires_at))
        append_audit(
            conn,
            actor=claims.username,
            action="logout",
            entity="user",
            details={"jti": claims.jti},
        )


def purge_expired(conn: Connection, *, now: datetime | None = None) -> int:
    """Drop revoked tokens past their expiry and sign-in attempts older than 30 days;
    return how many rows went."""
    now = _utc(now)
    tokens = conn.execute(_REVOKED.delete().where(_REVOKED.c.expires_at <= now)).rowcount
    attempts = conn.execute(
        _ATTEMPT.delete().where(_ATTEMPT.c.attempted_at < now - ATTEMPT_RETENTION)
    ).rowcount
    return int(tokens) + int(attempts)


def authenticate(
    conn: Connection,
    *,
    credential: str,
    secret: bytes,
    now: datetime | None = None,
    note_use: bool = True,
) -> Authenticated:
    """Say who a session token ("rdt_...") or an API key ("rdx_...") belongs to.

    Refuses revoked tokens, revoked or expired keys and disabled users. Notes a key's use at
    most once a minute, so a busy client does not cost a write per request; with
    `note_use=False` it only says so (`use_unrecorded`), for a caller reading without a
    write lock, who then calls `note_key_use`.

    Raises:
        AuthenticationError: the credential lets nobody in (the message says why only when
            the credential itself was genuine: expired, revoked, disabled).
    """
    now = _utc(now)
    text = credential.strip()
    if looks_like_api_key(text):
        return _authenticate_key(conn, text, now=now, note_use=note_use)
    if not text.startswith(TOKEN_PREFIX):
        raise AuthenticationError()
    claims = verify_token(text, secret=secret, now=now)
    revoked = conn.execute(sa.select(_REVOKED.c.jti).where(_REVOKED.c.jti == claims.jti)).first()
    if revoked is not None:
        raise AuthenticationError("the token has been revoked; sign in again")
    user = _find_user(conn, claims.username)
    if user is None:
        raise AuthenticationError()
    if not user.is_active:
        raise AuthenticationError("this account is disabled")
    return Authenticated(
        username=user.username,
        role=user.role,
        team=user.team,
        scopes=None,
        via="token",
        key_id=None,
        expires_at=claims.expires_at,
    )


def _authenticate_key(
    conn: Connection, text: str, *, now: datetime, note_use: bool
) -> Authenticated:
    prefix, digest = parse_api_key(text)
    row = conn.execute(
        sa.select(
            _KEY.c.id,
            _KEY.c.key_hash,
            _KEY.c.scopes,
            _KEY.c.expires_at,
            _KEY.c.revoked_at,
            _KEY.c.last_used_at,
            _USER.c.username,
            _USER.c.role,
            _USER.c.team,
            _USER.c.is_active,
        )
        .join(_USER, _USER.c.id == _KEY.c.user_id)
        .where(_KEY.c.prefix == prefix)
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationError()
    if row.revoked_at is not None:
        raise AuthenticationError("the API key has been revoked")
    expires_at = _aware(row.expires_at)
    if expires_at is not None and expires_at <= now:
        raise AuthenticationError("the API key has expired")
    if not row.is_active:
        raise AuthenticationError("this account is disabled")
    last_used = _aware(row.last_used_at)
    stale = last_used is None or now - last_used >= LAST_USED_EVERY
    if stale and note_use:
        note_key_use(conn, key_id=row.id, now=now)
    return Authenticated(
        username=row.username,
        role=row.role,
        team=row.team,
        scopes=None if row.scopes is None else frozenset(row.scopes),
        via="api_key",
        key_id=row.id,
        use_unrecorded=stale and not note_use,
        expires_at=expires_at,
    )


def note_key_use(conn: Connection, *, key_id: int, now: datetime | None = None) -> None:
    """Record when an API key was last used."""
    conn.execute(_KEY.update().where(_KEY.c.id == key_id).values(last_used_at=_utc(now)))


# --- API keys -----------------------------------------------------------------------------


def check_scopes(scopes: Sequence[str]) -> list[str]:
    """Return the scopes sorted and deduplicated, each "*" or FAMILY:ACTION with a known
    family and action ("contacts:read", "segments:*", "*:read"; see `scope_grants`).

    Raises:
        InputError: a malformed or unknown scope, or an empty list (pass None for no
            narrowing).
    """
    if isinstance(scopes, str):
        raise InputError("scopes must be a list of strings, not one string")
    cleaned = sorted({s.strip() for s in scopes})
    if not cleaned:
        raise InputError("give at least one scope, or none at all for the user's full access")
    for scope in cleaned:
        scope_grants(scope)
    return cleaned


def _key_info(row: Row[Any]) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        username=row.username,
        name=row.name,
        prefix=row.prefix,
        scopes=None if row.scopes is None else tuple(row.scopes),
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at),
        revoked_at=_aware(row.revoked_at),
        last_used_at=_aware(row.last_used_at),
    )


def _keys() -> sa.Select[Any]:
    return sa.select(
        _KEY.c.id,
        _USER.c.username,
        _KEY.c.name,
        _KEY.c.prefix,
        _KEY.c.scopes,
        _KEY.c.created_at,
        _KEY.c.expires_at,
        _KEY.c.revoked_at,
        _KEY.c.last_used_at,
    ).join(_USER, _USER.c.id == _KEY.c.user_id)


def create_api_key(
    conn: Connection,
    *,
    username: str,
    name: str,
    scopes: Sequence[str] | None,
    expires_at: datetime | None,
    actor: str,
    origin: str | None = None,
) -> tuple[ApiKeyInfo, str]:
    """Create an API key for a user and return it with its plaintext, which is shown this
    once: only its SHA-256 is stored.

    Args:
        scopes: what the key may do, narrowing the user's role; None for all of it.
        expires_at: when it stops working; None for never (until revoked).

    Raises:
        NotFoundError: no such user.
        InputError: disabled user, empty name, malformed scope, expiry in the past.
    """
    user = _get_user(conn, username)
    if not user.is_active:
        raise InputError(f"{user.username!r} is disabled; enable the user first")
    label = name.strip()
    if not label or len(label) > 200:
        raise InputError("an API key needs a name of 1 to 200 characters (what it is for)")
    kept = None if scopes is None else check_scopes(scopes)
    now = _utc(None)
    expires = None if expires_at is None else _utc(expires_at)
    if expires is not None and expires <= now:
        raise InputError("the expiry of an API key must be in the future")
    key, prefix, key_hash = new_api_key()
    key_id = _inserted(
        conn,
        _KEY.insert().values(
            user_id=user.id,
            name=label,
            prefix=prefix,
            key_hash=key_hash,
            scopes=kept,
            created_at=now,
            expires_at=expires,
        ),
    )
    append_audit(
        conn,
        actor=actor,
        origin=origin,
        action="apikey create",
        entity="api_key",
        entity_id=key_id,
        details={
            "username": user.username,
            "name": label,
            "prefix": prefix,
            "scopes": kept,
            "expires_at": None if expires is None else expires.isoformat(),
        },
    )
    info = _key_info(conn.execute(_keys().where(_KEY.c.id == key_id)).one())
    return info, key


def list_api_keys(conn: Connection, *, username: str | None = None) -> list[ApiKeyInfo]:
    """API keys (of one user, or everyone's), oldest first; never a hash or a secret."""
    query = _keys().order_by(_KEY.c.id)
    if username is not None:
        query = query.where(_USER.c.username == username.strip().lower())
    return [_key_info(row) for row in conn.execute(query)]


def revoke_api_key(
    conn: Connection, *, key: str | int, actor: str, origin: str | None = None
) -> ApiKeyInfo:
    """Revoke an API key named by its id, its prefix or the key itself (already revoked:
    nothing changes).

    Raises:
        NotFoundError: no such key.
    """
    text = str(key).strip()
    if text.startswith(API_KEY_PREFIX):  # the whole key: only its prefix is needed (or shown)
        text = text[len(API_KEY_PREFIX) :].split("_", 1)[0]
    if isinstance(key, int) or text.isdigit():
        where = _KEY.c.id == int(text)
    else:
        where = _KEY.c.prefix == text
    row = conn.execute(_keys().where(where)).first()
    if row is None:
        raise NotFoundError(f"no API key {text[:40]!r} (give its id or prefix)")
    if row.revoked_at is None:
        conn.execute(_KEY.update().where(_KEY.c.id == row.id).values(revoked_at=_utc(None)))
        append_audit(
            conn,
            actor=actor,
            origin=origin,
            action="apikey revoke",
            entity="api_key",
            entity_id=row.id,
            details={"username": row.username, "name": row.name, "prefix": row.prefix},
        )
    return _key_info(conn.execute(_keys().where(_KEY.c.id == row.id)).one())
