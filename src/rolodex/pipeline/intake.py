"""Web form intake: forms a website posts contacts to, with consent and double opt-in.

A form has a name, the source its contacts belong to, the consent purpose its checkbox
grants, and a token the website sends with each submission (kept as a SHA-256 hash, shown
once). A submission creates (or merges into) a contact and records the granted consent with
its proof. With double opt-in nothing is created until the person follows the link mailed to
them: the submission waits, encrypted, for at most `CONFIRM_WITHIN`.

The person acting for a form is `form_principal(name)`, whose role may create contacts and
consents and nothing else (plus `resolve:run`, which merging into a known contact needs).
People on the suppression list (erased, asked never to come back) are dropped silently: the
public answer is the same, so a form cannot be used to learn who asked to be forgotten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from rolodex.exceptions import InputError, NotFoundError, TerminalError
from rolodex.model import Consent, IntakeForm, PendingConfirmation, Suppression
from rolodex.model.base import table
from rolodex.pipeline.privacy import HashValue, normalize_value
from rolodex.secure.auth import AuthenticationError
from rolodex.secure.crypto import Cipher
from rolodex.secure.permissions import Principal, Role, mask_email
from rolodex.store import repo
from rolodex.store.audit import append_audit

log = logging.getLogger("rolodex.intake")

CONFIRM_WITHIN = timedelta(hours=72)
"""How long a double opt-in link works."""

FORM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PURPOSE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
FORM_TOKEN_PREFIX = "rdf_"
CONFIRM_TOKEN_PREFIX = "rdc_"
PAYLOAD_CONTEXT = "pending_confirmation.payload"

_FORM = table(IntakeForm)
_PENDING = table(PendingConfirmation)
_CONSENT = table(Consent)
_SUPPRESSION = table(Suppression)
_NO_TOKEN = hashlib.sha256(b"no form has this token").hexdigest()

INTAKE_ROLE = Role(
    name="form-intake",
    description="A public web form: creates contacts and their consents, sees nothing.",
    objects={
        "contacts": frozenset({"create"}),
        "consents": frozenset({"create"}),
        "resolve": frozenset({"run"}),  # a submission from a known person merges into them
    },
    row_scope="own",
    builtin=True,
)


def form_principal(name: str) -> Principal:
    """The principal a form's submissions are created and audited as (`form:NAME`)."""
    return Principal(username=f"form:{name}", role=INTAKE_ROLE)


class FormTokenInvalid(AuthenticationError):
    """No active form has this name and token (which of the two is never said)."""

    def __init__(self) -> None:
        super().__init__("unknown form or wrong form token")


class ConfirmationGone(TerminalError):
    """The confirmation link was used already or has expired (HTTP 410)."""


# --- mail -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """A double opt-in mail to send: the address, the form and the link's token."""

    to: str
    form: str
    token: str
    expires_at: datetime


class Mailer(Protocol):
    """Delivers confirmation links; a deployment plugs in its mail service."""

    def send_confirmation(self, message: Confirmation) -> None:
        """Send one confirmation message."""


class LogMailer:
    """The default when no mail service is configured: logs that a mail is due, never the
    token (a log is no place for a credential), so nobody can confirm until one is set up."""

    def send_confirmation(self, message: Confirmation) -> None:
        """Log the (masked) address the confirmation would go to."""
        log.warning(
            "no mailer configured: the confirmation for form %r to %s was not sent",
            message.form,
            mask_email(message.to),
        )


@dataclass
class MemoryOutbox:
    """Keeps messages in memory: for tests and for a site that fetches and sends them."""

    messages: list[Confirmation] = field(default_factory=list)

    def send_confirmation(self, message: Confirmation) -> None:
        """Keep the message."""
        self.messages.append(message)


# --- forms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormInfo:
    """A form as administrators see it (never its token)."""

    id: int
    name: str
    source: str
    purpose: str
    double_opt_in: bool
    rate_per_minute: int
    is_active: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Return the form as a JSON-ready dict."""
        out = asdict(self)
        out["created_at"] = _aware(self.created_at).isoformat()
        return out


def hash_token(token: str) -> str:
    """The stored form of a form or confirmation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _info(row: Any) -> FormInfo:
    return FormInfo(
        id=int(row.id),
        name=row.name,
        source=row.source,
        purpose=row.purpose,
        double_opt_in=bool(row.double_opt_in),
        rate_per_minute=int(row.rate_per_minute),
        is_active=bool(row.is_active),
        created_at=_aware(row.created_at),
    )


def create_form(
    conn: Connection,
    *,
    name: str,
    source: str,
    purpose: str,
    double_opt_in: bool,
    rate_per_minute: int,
    actor: str,
    now: datetime,
) -> tuple[FormInfo, str]:
    """Create a form; return it and its token (shown this once, stored as a hash).

    Raises:
        InputError: the name, source, purpose or rate is not usable, or the name is taken.
    """
    if not FORM_NAME.match(name):
        raise InputError(
            f"form name {name!r}: use lowercase letters, digits, - and _ (up to 63 characters)"
        )
    if not PURPOSE.match(purpose):
        raise InputError(f"consent purpose {purpose!r}: use lowercase letters, digits, . - _")
    if not source.strip() or len(source) > 200:
        raise InputError("a form needs the name of the source its contacts belong to")
    if not 1 <= rate_per_minute <= 10_000:
        raise InputError("rate_per_minute must be between 1 and 10000")
    token = FORM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            form_id = conn.execute(
                insert(_FORM).values(
                    name=name,
                    source=source.strip(),
                    token_hash=hash_token(token),
                    purpose=purpose,
                    double_opt_in=double_opt_in,
                    rate_per_minute=rate_per_minute,
                    is_active=True,
                    created_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError as exc:
        raise InputError(f"there is already a form named {name!r}") from exc
    repo.get_or_create_source(conn, source.strip())
    append_audit(
        conn,
        actor=actor,
        action="form create",
        entity="intake_form",
        entity_id=name,
        details={"source": source, "purpose": purpose, "double_opt_in": double_opt_in},
    )
    row = conn.execute(select(_FORM).where(_FORM.c.id == form_id)).one()
    return _info(row), token


def list_forms(conn: Connection) -> list[FormInfo]:
    """Every form, by name."""
    return [_info(r) for r in conn.execute(select(_FORM).order_by(_FORM.c.name))]


def delete_form(conn: Connection, *, name: str, actor: str) -> int:
    """Delete a form and the submissions still waiting for confirmation; return how many
    waiting ones went (consents already given keep the form's name in their proof).

    Raises:
        NotFoundError: there is no such form.
    """
    form_id = conn.execute(select(_FORM.c.id).where(_FORM.c.name == name)).scalar()
    if form_id is None:
        raise NotFoundError(f"there is no form {name!r}")
    dropped = conn.execute(delete(_PENDING).where(_PENDING.c.form_id == form_id)).rowcount
    conn.execute(delete(_FORM).where(_FORM.c.id == form_id))
    append_audit(
        conn,
        actor=actor,
        action="form delete",
        entity="intake_form",
        entity_id=name,
        details={"pending_dropped": dropped},
    )
    return int(dropped)


def authenticate_form(conn: Connection, *, name: str, token: str | None) -> FormInfo:
    """Return the active form `name` if `token` is its token, compared in constant time.

    Raises:
        FormTokenInvalid: no such active form, or the token is missing or wrong.
    """
    row = conn.execute(select(_FORM).where(_FORM.c.name == name)).first()
    expected = row.token_hash if row is not None and row.is_active else _NO_TOKEN
    given = hash_token(token or "")
    if not hmac.compare_digest(expected, given) or row is None or not row.is_active:
        raise FormTokenInvalid
    return _info(row)


# --- submissions ----------------------------------------------------------------------------


def is_suppressed(
    conn: Connection, record: Mapping[str, Any], *, hash_value: HashValue, region: str | None
) -> bool:
    """Say whether the record's email or phone is on the suppression list."""
    wanted: list[tuple[str, str]] = []
    for kind in ("email", "phone"):
        value = record.get(kind)
        if isinstance(value, str):
            norm = normalize_value(kind, value, region=region)
            if norm is not None:
                wanted.append((kind, hash_value(kind, norm)))
    for kind, value_hash in wanted:
        found = conn.execute(
            select(_SUPPRESSION.c.id).where(
                _SUPPRESSION.c.kind == kind, _SUPPRESSION.c.value_hash == value_hash
            )
        ).first()
        if found is not None:
            return True
    return False


def submission_proof(
    *, form: str, client: str | None, user_agent: str | None, cipher: Cipher, now: datetime
) -> dict[str, Any]:
    """What proves the consent: which form, when, from where (a keyed hash of the address,
    not the address) and with which browser."""
    return {
        "form": form,
        "submitted_at": now.isoformat(),
        "client": cipher.blind_index(client, field="intake_form.client") if client else None,
        "user_agent": (user_agent or "")[:300] or None,
    }


def add_pending(
    conn: Connection,
    *,
    form: FormInfo,
    record: Mapping[str, Any],
    proof: Mapping[str, Any],
    cipher: Cipher,
    now: datetime,
) -> Confirmation:
    """Keep a double opt-in submission, encrypted, and return the confirmation to send.

    A new submission for the same address and form replaces one still waiting, so repeated
    submissions do not pile up; expired ones are dropped on the way.

    Raises:
        InputError: the record has no usable email address to confirm.
    """
    email = record.get("email")
    norm = normalize_value("email", email) if isinstance(email, str) else None
    if norm is None or "@" not in norm:
        raise InputError("this form confirms by email: send a valid email address")
    assert isinstance(email, str)
    index = cipher.blind_index(norm, field="email")
    conn.execute(
        delete(_PENDING).where(
            _PENDING.c.confirmed_at.is_(None),
            (_PENDING.c.expires_at < now)
            | ((_PENDING.c.form_id == form.id) & (_PENDING.c.email_index == index)),
        )
    )
    token = CONFIRM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + CONFIRM_WITHIN
    payload = json.dumps({"record": dict(record), "proof": dict(proof)}, default=str)
    conn.execute(
        insert(_PENDING).values(
            form_id=form.id,
            token_hash=hash_token(token),
            payload=cipher.encrypt(payload, context=PAYLOAD_CONTEXT),
            email_index=index,
            created_at=now,
            expires_at=expires,
        )
    )
    return Confirmation(to=email.strip(), form=form.name, token=token, expires_at=expires)


def expire_pending(conn: Connection, *, now: datetime, token: str | None = None) -> bool:
    """Delete the submissions nobody confirmed in time; say whether `token`'s was one."""
    hit = False
    if token is not None:
        hit = (
            conn.execute(
                select(_PENDING.c.id).where(
                    _PENDING.c.token_hash == hash_token(token),
                    _PENDING.c.confirmed_at.is_(None),
                    _PENDING.c.expires_at < now,
                )
            ).first()
            is not None
        )
    conn.execute(
        delete(_PENDING).where(_PENDING.c.confirmed_at.is_(None), _PENDING.c.expires_at < now)
    )
    return hit


def take_pending(
    conn: Connection, *, token: str, cipher: Cipher, now: datetime
) -> tuple[FormInfo, dict[str, Any], dict[str, Any]]:
    """Use a confirmation link once: return its form, record and proof, and wipe the stored
    record (the confirmed time stays, as evidence the link was followed).

    Raises:
        NotFoundError: no submission has this token.
        ConfirmationGone: it was confirmed already, or it expired (`expire_pending` then
            deletes it).
    """
    digest = hash_token(token)
    row = conn.execute(select(_PENDING).where(_PENDING.c.token_hash == digest)).first()
    if row is None:
        raise NotFoundError("this confirmation link is not known")
    if row.confirmed_at is not None:
        raise ConfirmationGone("this confirmation link was used already")
    if _aware(row.expires_at) < now:
        raise ConfirmationGone("this confirmation link has expired; please submit the form again")
    done = conn.execute(
        update(_PENDING)
        .where(_PENDING.c.id == row.id, _PENDING.c.confirmed_at.is_(None))
        .values(confirmed_at=now, payload="")
    ).rowcount
    if not done:  # someone else followed the link at the same moment
        raise ConfirmationGone("this confirmation link was used already")
    form = conn.execute(select(_FORM).where(_FORM.c.id == row.form_id)).first()
    if form is None:
        raise NotFoundError("the form of this confirmation link was deleted")
    stored = json.loads(cipher.decrypt(row.payload, context=PAYLOAD_CONTEXT))
    return _info(form), dict(stored["record"]), dict(stored["proof"])


def record_consent(
    conn: Connection,
    *,
    contact_id: int,
    customer_record_id: int | None,
    purpose: str,
    status: str,
    lawful_basis: str | None,
    source: str | None,
    proof: Mapping[str, Any] | None,
    occurred_at: datetime,
    actor: str,
) -> int:
    """Add one consent decision to a contact's history (the latest per purpose wins)."""
    if status not in ("granted", "withdrawn", "unknown"):
        raise InputError("consent status must be granted, withdrawn or unknown")
    source_id = repo.get_or_create_source(conn, source) if source else None
    consent_id = int(
        conn.execute(
            insert(_CONSENT).values(
                contact_id=contact_id,
                customer_record_id=customer_record_id,
                purpose=purpose,
                status=status,
                lawful_basis=lawful_basis,
                occurred_at=occurred_at,
                source_id=source_id,
                proof=json.dumps(proof, default=str, sort_keys=True) if proof else None,
                created_at=occurred_at,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )
    append_audit(
        conn,
        actor=actor,
        action="consent",
        entity="consent",
        entity_id=consent_id,
        details={"contact": contact_id, "purpose": purpose, "status": status},
    )
    return consent_id
