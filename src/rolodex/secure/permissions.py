"""Who may do what: roles, object and field permissions, masking and row scope.

Every adapter (API, CLI, exports, reports, segment exports) asks this module before it reads
or writes, and passes its output through `shape_row`, `shape_rows` or `shape_frame`, so they
cannot disagree about what a person may see.

Three layers, checked in this order:

1. Object permissions: may this principal do `action` on `family` at all (`require`)?
   A role grants actions per family; an API key's scopes can only narrow that.
2. Row scope: which rows (`row_filter` for queries, `row_visible` for one row): all, the
   team's, or the principal's own, by the row's `owner`.
3. Field permissions, an allow-list: a field a role does not grant is absent from every
   output; a granted field is shown in full or masked.

How a family's fields are granted (`Role.fields`):

- An entry for the family (or for every family, key `"*"`) lists exactly the visible fields,
  each `"full"` or `"masked"`; the field key `"*"` means every field in full, including ones
  added later. A more specific key wins over `"*"`.
- No entry: the family's catalogued non-personal fields (`FIELD_KINDS`) in full, nothing else.
  A field added to the schema later is therefore absent until someone grants it.
- Analytics and quality outputs are computed figures whose columns change with the analysis;
  their columns are shown unless named like a personal contact field (`email`, `first_name`,
  ...), which then follows the principal's contacts grant.
- Secrets (password and key hashes, key material) are never output, whatever the grant.
- An aggregates-only role (the analyst) never sees a personal field, whatever the grant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal, cast, get_args, overload

import polars as pl
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import QueryableAttribute

from rolodex.config import RoleConfig
from rolodex.exceptions import ConfigError, InputError, TerminalError

__all__ = [
    "ACTIONS",
    "ALL",
    "BUILTIN_ROLES",
    "FAMILIES",
    "FIELD_KINDS",
    "MASK",
    "MIN_GROUP_SIZE",
    "Access",
    "Action",
    "Family",
    "FieldKind",
    "PermissionDenied",
    "Principal",
    "Role",
    "RoleConfig",
    "RowScope",
    "allowed",
    "field_access",
    "load_roles",
    "mask_date",
    "mask_email",
    "mask_phone",
    "mask_postcode",
    "mask_text",
    "require",
    "require_identifying",
    "row_filter",
    "row_visible",
    "shape_frame",
    "shape_row",
    "shape_rows",
    "suppress_small_groups",
]

Family = Literal[
    "contacts",
    "companies",
    "orders",
    "deals",
    "interactions",
    "tickets",
    "events",
    "consents",
    "campaigns",
    "segments",
    "imports",
    "resolve",
    "analytics",
    "quality",
    "users",
    "audit",
    "privacy",
    "keys",
]
"""A family of objects permissions are granted on (`resolve`: merge, unmerge, review;
`users`: users, roles and API keys; `keys`: encryption keys)."""

Action = Literal["read", "create", "update", "delete", "export", "run", "admin"]
"""What is done to a family (`run`: start analytics, resolve, imports, privacy requests)."""

Access = Literal["full", "masked"]
RowScope = Literal["all", "team", "own"]

FAMILIES: Final[tuple[Family, ...]] = get_args(Family)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
ALL: Final = "*"
"""Wildcard: every family (as a `Role.fields` key), every field, every action (in configs)."""

MASK: Final = "•••"
"""What a hidden part of a value becomes; fixed length, so lengths are not revealed."""

MIN_GROUP_SIZE: Final = 5
"""Smallest count an aggregates-only output shows (k-anonymity threshold)."""


class PermissionDenied(TerminalError):
    """The principal may not do this; the message names the family and action, no data.

    Adapters map it to HTTP 403 or a non-zero exit code.
    """

    status_code = 403

    def __init__(self, family: str, action: str, *, role: str, reason: str | None = None) -> None:
        self.family = family
        self.action = action
        self.role = role
        message = f"role {role!r} may not {action} {family}"
        super().__init__(f"{message}: {reason}" if reason else message)


# --------------------------------------------------------------------------------------------
# Masking: pure functions on single values
# --------------------------------------------------------------------------------------------

_PHONE_MAIN = re.compile(r"[0-9\s+\-()./]*")
# ITU country codes: 1 and 7 are one digit, these two-digit ones, every other code three.
_COUNTRY_CODE = r"^(1|7|20|27|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|[0-9]{3})"
_COUNTRY_CODE_RE = re.compile(_COUNTRY_CODE)
_FIRST_TOKEN = r"^(\S+)\s"
_FIRST_TOKEN_RE = re.compile(_FIRST_TOKEN)
_PHONE_HIDDEN = "••• •••"
_DATE_MASK = "••••-••-••"


@overload
def mask_text(value: str) -> str: ...
@overload
def mask_text(value: None) -> None: ...
def mask_text(value: str | None) -> str | None:
    """Keep the first character and hide the rest behind a fixed `•••`.

    The first letter lets a support agent confirm a name read out to them; the fixed tail
    hides the length. A one-character value is hidden whole, as keeping it would reveal all.

    Examples:
        >>> mask_text("Jürgen")
        'J•••'
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    return MASK if len(text) < 2 else text[0] + MASK


@overload
def mask_email(value: str) -> str: ...
@overload
def mask_email(value: None) -> None: ...
def mask_email(value: str | None) -> str | None:
    """Keep the first character of the mailbox and the whole domain.

    The domain tells work from free-mail addresses, which marketing and support need; a
    personal vanity domain can still hint at a surname, the accepted cost. Text that is not
    an address (no `@`, nothing on one side) is masked like `mask_text`.

    Examples:
        >>> mask_email("jane.doe@example.com")
        'j•••@example.com'
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return mask_text(text)
    return f"{MASK if len(local) < 2 else local[0] + MASK}@{domain}"


@overload
def mask_phone(value: str) -> str: ...
@overload
def mask_phone(value: None) -> None: ...
def mask_phone(value: str | None) -> str | None:
    """Keep the country code and the last four digits; drop any extension.

    The last four digits are what a caller is asked to confirm; the country code says where
    to call. Only the leading run of digits and separators is read, so `ext. 12`, `x12`,
    `#12` and anything after a letter are dropped, never shown. Numbers with fewer than seven
    digits after the country code are hidden whole (the last four would be most of them).

    Examples:
        >>> mask_phone("+442071234567")
        '+44 ••• •••4567'
        >>> mask_phone("(555) 123-4567 x89")
        '••• •••4567'
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    main = _PHONE_MAIN.match(text)
    head = main.group() if main else ""
    digits = re.sub(r"[^0-9]", "", head)
    international = head.startswith(("+", "00"))
    if head.startswith("00"):
        digits = digits[2:]
    if not digits:
        return MASK
    if international:
        code = _COUNTRY_CODE_RE.match(digits)
        if code is None:
            return MASK
        rest = digits[code.end() :]
        if len(rest) >= 7:
            return f"+{code.group()} {_PHONE_HIDDEN}{rest[-4:]}"
        return f"+{code.group()} {MASK}"
    return f"{_PHONE_HIDDEN}{digits[-4:]}" if len(digits) >= 7 else MASK


@overload
def mask_date(value: str | date) -> str: ...
@overload
def mask_date(value: None) -> None: ...
def mask_date(value: str | date | None) -> str | None:
    """Hide the whole date, year included: a birth date's year narrows a person down a lot.

    The placeholder keeps the shape so readers see a date is on file.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return ""
    return _DATE_MASK


@overload
def mask_postcode(value: str) -> str: ...
@overload
def mask_postcode(value: None) -> None: ...
def mask_postcode(value: str | None) -> str | None:
    """Keep the district: the part before a space (`SW1A 1AA` → `SW1A •••`), else the first
    half and at most three characters (`10115` → `10•••`).

    The district is enough for regional work and matches thousands of people.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return ""
    first = _FIRST_TOKEN_RE.match(text)
    if first:
        return f"{first.group(1)} {MASK}"
    keep = min(len(text) // 2, 3)
    return text[:keep] + MASK if keep else MASK


# --------------------------------------------------------------------------------------------
# The field catalogue: what each known field is, so it can be defaulted and masked
# --------------------------------------------------------------------------------------------

FieldKind = Literal[
    "plain",  # not personal: shown by default to whoever may read the family
    "text",  # personal text (names, street): mask_text
    "note",  # personal free text (ticket body, interaction notes): never masked, absent
    "email",
    "phone",
    "postcode",
    "date",
    "opaque",  # personal, no useful partial form (gender, JSON): all hidden
    "emails",  # nested contact points: lists of {"value": ..., "label": ...}
    "phones",
    "addresses",
    "secret",  # never output
]

_CONTACT_FIELDS: dict[str, FieldKind] = {
    "id": "plain",
    "company_id": "plain",
    "salutation": "opaque",  # Mr/Mrs reveals gender; a first letter would too
    "first_name": "text",
    "middle_name": "text",
    "last_name": "text",
    "suffix": "opaque",
    "full_name": "text",
    "email": "email",
    "phone": "phone",
    "company_name": "plain",
    "job_title": "plain",
    "department": "plain",
    "street": "text",
    "city": "plain",
    "region": "plain",
    "postcode": "postcode",
    "country": "plain",
    "birth_date": "date",
    "gender": "opaque",
    "language": "plain",
    "lifecycle_stage": "plain",
    "owner": "plain",
    "custom": "opaque",
    "lineage": "plain",
    "merged_into_id": "plain",
    "created_at": "plain",
    "updated_at": "plain",
    "emails": "emails",
    "phones": "phones",
    "addresses": "addresses",
    # Columns outputs add next to the golden fields: ids, counts, scores, versions.
    "contact_id": "plain",
    "source": "plain",
    "external_id": "plain",
    "source_records": "plain",
    "rfm_segment": "plain",
    "clv_12m": "plain",
    "churn_risk": "plain",
    "entered_at": "plain",
    "etag": "plain",
    "requested_id": "plain",
    "merged_into": "plain",
}

_TIMESTAMPS: dict[str, FieldKind] = {"created_at": "plain", "updated_at": "plain"}
_OWNED: dict[str, FieldKind] = {
    "contact_id": "plain",
    "customer_record_id": "plain",
    "source_record_id": "plain",
}


def _plain(*names: str) -> dict[str, FieldKind]:
    return dict.fromkeys(names, "plain")


FIELD_KINDS: Final[Mapping[str, Mapping[str, FieldKind]]] = MappingProxyType(
    {
        "contacts": _CONTACT_FIELDS,
        "companies": {
            # Firmographics: a company's switchboard and street are business data.
            **_plain("id", "name", "domain", "industry", "employee_count", "annual_revenue"),
            **_plain("phone", "street", "city", "region", "postcode", "country"),
            **_plain("founded_year", "company_type", "merged_into_id"),
            "custom": "opaque",
            **_TIMESTAMPS,
        },
        "orders": {
            **_plain("id", "source_id", "external_id", "ordered_at", "total_amount"),
            **_plain("currency", "quantity", "status"),
            **_OWNED,
            **_TIMESTAMPS,
        },
        "deals": {
            **_plain("id", "company_id", "name", "pipeline", "stage", "amount", "currency"),
            **_plain("probability", "expected_close_date", "closed_at", "is_won", "owner"),
            **_OWNED,
            **_TIMESTAMPS,
        },
        "interactions": {
            **_plain("id", "category", "interaction_type", "channel", "direction"),
            **_plain("occurred_at", "outcome", "campaign_id", "owner"),
            "subject": "note",
            "notes": "note",
            **_OWNED,
            **_TIMESTAMPS,
        },
        "tickets": {
            **_plain("id", "external_id", "status", "priority", "channel", "opened_at"),
            **_plain("solved_at", "satisfaction", "owner"),
            "subject": "note",
            "body": "note",
            **_OWNED,
            **_TIMESTAMPS,
        },
        "events": {
            **_plain("id", "event_type", "occurred_at", "campaign_id"),
            "url": "note",  # query strings carry emails and tokens
            "properties": "opaque",
            **_OWNED,
        },
        "consents": {
            **_plain("id", "purpose", "status", "lawful_basis", "occurred_at", "source_id"),
            "proof": "note",
            **_OWNED,
            **_TIMESTAMPS,
        },
        "campaigns": {
            **_plain("id", "name", "channel", "started_at", "ended_at"),
            **_TIMESTAMPS,
        },
        "segments": {
            **_plain("id", "name", "description", "definition", "members", "refreshed_at"),
            **_TIMESTAMPS,
        },
        "imports": {
            **_plain("id", "source_id", "source", "batch_id", "file_name", "kind", "rows"),
            **_plain("accepted", "quarantined", "status", "issues", "reasons"),
            **_plain("started_at", "finished_at", "external_id", "row_number"),
            "payload": "opaque",  # the raw row as the source sent it
            **_TIMESTAMPS,
        },
        "resolve": {
            **_plain("id", "kind", "survivor_id", "contact_id", "other_id", "left_id"),
            **_plain("right_id", "probability", "status", "decided_by", "decided_at"),
            **_plain("reason", "actor", "occurred_at"),
            **_TIMESTAMPS,
        },
        "users": {
            **_plain("id", "username", "role", "team", "is_active", "last_login_at"),
            **_plain("name", "prefix", "scopes", "expires_at", "revoked_at"),
            "display_name": "text",
            "email": "email",
            "password_hash": "secret",
            "key_hash": "secret",
            **_TIMESTAMPS,
        },
        "audit": _plain("id", "occurred_at", "actor", "action", "entity", "entity_id", "details")
        | _plain("origin", "prev_hash", "hash"),
        "privacy": {
            **_plain("id", "contact_id", "kind", "status", "requested_at", "completed_at"),
            **_plain("requested_by", "due_at"),
            "notes": "note",
            **_TIMESTAMPS,
        },
        "keys": {
            **_plain("id", "key_id", "algorithm", "status", "retired_at"),
            "material": "secret",
            "wrapped_key": "secret",
            **_TIMESTAMPS,
        },
    }
)
"""Every known field of each family and what it is. Families holding computed figures
(analytics, quality) have none: see the module docstring."""

_FIGURE_FAMILIES: Final[frozenset[str]] = frozenset({"analytics", "quality"})
_SECRETS: Final = frozenset(
    {"password_hash", "key_hash", "token_hash", "secret", "material", "wrapped_key"}
)
_NESTED: Final[Mapping[str, FieldKind]] = {"emails": "email", "phones": "phone"}
_NESTED_KINDS = frozenset({"emails", "phones", "addresses"})
# Keys kept in a masked contact point, and how each is masked ("plain": kept as is).
_POINT_KEYS: Final[Mapping[str, FieldKind]] = {
    "id": "plain",
    "contact_id": "plain",
    "kind": "plain",
    "label": "plain",
    "is_primary": "plain",
    "value": "plain",  # replaced by the list's own kind
    "street": "text",
    "street2": "text",
    "city": "plain",
    "region": "plain",
    "postcode": "postcode",
    "country": "plain",
}


def _kind(family: str, name: str) -> FieldKind:
    """Say what a field is: its catalogue entry, else what a contact field of that name is."""
    if name in _SECRETS:
        return "secret"
    kind = FIELD_KINDS.get(family, {}).get(name) or _CONTACT_FIELDS.get(name)
    if kind is not None:
        return kind
    return "plain" if family in _FIGURE_FAMILIES else "opaque"


def _point_kind(kind: FieldKind, key: str) -> FieldKind:
    """Say how one key of a contact point in a list of `kind` is masked."""
    if key == "value":
        return _NESTED.get(kind, "text")
    return _POINT_KEYS[key]


# --------------------------------------------------------------------------------------------
# Roles and principals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """What one kind of user may do and see.

    Attributes:
        name: unique name, used in configuration and error messages.
        description: what the role is for, shown to administrators.
        objects: actions allowed per family; a family not listed allows nothing.
        fields: the field allow-list per family (or `"*"` for all): see the module docstring.
        row_scope: which rows by owner: all, the team's or the principal's own.
        aggregates_only: may see counts and figures only, never a personal field.
        builtin: defined in code rather than in the workspace configuration.
    """

    name: str
    description: str
    objects: Mapping[Family, frozenset[Action]]
    fields: Mapping[str, Mapping[str, Access]] = field(default_factory=dict)
    row_scope: RowScope = "own"
    aggregates_only: bool = False
    builtin: bool = False

    def __post_init__(self) -> None:
        # Read-only views: a role shared by every request must not be edited by one of them.
        objects = {f: frozenset(a) for f, a in self.objects.items() if a}
        fields = {f: MappingProxyType(dict(g)) for f, g in self.fields.items()}
        object.__setattr__(self, "objects", MappingProxyType(objects))
        object.__setattr__(self, "fields", MappingProxyType(fields))

    def permits(self, family: Family, action: Action) -> bool:
        """Say whether the role alone (before any API key scopes) allows `action`."""
        return action in self.objects.get(family, frozenset())


_SCOPE_RE = re.compile(r"^(?P<family>[a-z*]+):(?P<action>[a-z*]+)$")


def scope_grants(scope: str) -> tuple[tuple[Family, ...], tuple[Action, ...]]:
    """What one API key scope covers: its families and actions (`*` for all of either).

    The one check of scope syntax: key creation, the CLI and every request use it.

    Raises:
        InputError: not `*` or FAMILY:ACTION with a known family and action.
    """
    text = scope.strip()
    if text == ALL:
        return FAMILIES, ACTIONS
    match = _SCOPE_RE.match(text)
    if (
        match is None
        or match["family"] not in (*FAMILIES, ALL)
        or match["action"] not in (*ACTIONS, ALL)
    ):
        raise InputError(
            f"unknown API key scope {scope!r}: write FAMILY:ACTION (contacts:read, contacts:*,"
            f" *:read) or *; families: {', '.join(FAMILIES)}; actions: {', '.join(ACTIONS)}"
        )
    families = FAMILIES if match["family"] == ALL else (cast(Family, match["family"]),)
    actions = ACTIONS if match["action"] == ALL else (cast(Action, match["action"]),)
    return families, actions


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (or an API key acting for one) and their role.

    Attributes:
        username: the user's login name; rows they own carry it in `owner`.
        role: the role the user holds.
        team: the user's team, for team row scope.
        scopes: API key scopes (`"contacts:read"`, `"contacts:*"`, `"*:read"`, `"*"`);
            when set, an action needs both the role and a scope. None: the role alone.
    """

    username: str
    role: Role
    team: str | None = None
    scopes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for scope in self.scopes or ():
            scope_grants(scope)

    @classmethod
    def system(cls) -> Principal:
        """The principal of internal jobs (scheduled refreshes, migrations): sees everything.

        Never hand it to a request: adapters build principals from the authenticated user.
        """
        return cls(username="system", role=_SYSTEM_ROLE)


# --------------------------------------------------------------------------------------------
# Built-in roles
# --------------------------------------------------------------------------------------------

_EVERY: Final = frozenset(ACTIONS)
_CRU: Final[frozenset[Action]] = frozenset({"read", "create", "update"})
_CRUD_EXPORT: Final[frozenset[Action]] = frozenset({"read", "create", "update", "delete", "export"})
_READ: Final[frozenset[Action]] = frozenset({"read"})
_PERSONAL_SYSTEM_FAMILIES: Final = frozenset({"users", "audit", "keys", "privacy"})
_NAMES = ("first_name", "middle_name", "last_name", "full_name", "salutation", "suffix")


def _catalogue(family: str, *, skip: Iterable[FieldKind] = ()) -> dict[str, FieldKind]:
    skipped = {"secret", *skip}
    return {k: v for k, v in FIELD_KINDS[family].items() if v not in skipped}


def _all_full(family: str) -> dict[str, Access]:
    return dict.fromkeys(_catalogue(family), "full")


def _contacts(*, full: Iterable[str] = (), masked: Iterable[str] = ()) -> dict[str, Access]:
    """Grant the plain contact fields plus the given personal ones."""
    grant: dict[str, Access] = {k: "full" for k, v in _CONTACT_FIELDS.items() if v == "plain"}
    grant.update(dict.fromkeys(full, "full"))
    grant.update(dict.fromkeys(masked, "masked"))
    return grant


def _masked_everywhere() -> dict[str, Mapping[str, Access]]:
    """Plain fields in full, personal ones masked, free text absent, in every family."""
    return {
        family: {
            k: "full" if v == "plain" else "masked"
            for k, v in _catalogue(family, skip=("note",)).items()
        }
        for family in FIELD_KINDS
    }


_SYSTEM_ROLE: Final = Role(
    name="system",
    description="Internal jobs: every action, every field, every row.",
    objects=dict.fromkeys(FAMILIES, _EVERY),
    fields={ALL: {ALL: "full"}},
    row_scope="all",
    builtin=True,
)

BUILTIN_ROLES: Final[Mapping[str, Role]] = MappingProxyType(
    {
        role.name: role
        for role in (
            Role(
                name="admin",
                description="Runs the workspace: every action on every object, every field.",
                objects=dict.fromkeys(FAMILIES, _EVERY),
                fields={ALL: {ALL: "full"}},
                row_scope="all",
                builtin=True,
            ),
            Role(
                name="manager",
                description=(
                    "Leads the teams: all data and operations, every known field and row; "
                    "reads users but cannot administer them or the encryption keys, and "
                    "reads the audit log without changing it."
                ),
                objects={
                    **dict.fromkeys(FAMILIES, _EVERY),
                    "users": _READ,
                    "keys": frozenset(),
                    "audit": frozenset({"read", "export"}),
                },
                fields={f: _all_full(f) for f in FIELD_KINDS},
                row_scope="all",
                builtin=True,
            ),
            Role(
                name="sales",
                description=(
                    "Works the team's accounts: contacts, companies, deals, orders and "
                    "interactions; every contact field; exports contacts."
                ),
                objects={
                    "contacts": frozenset({"read", "create", "update", "export"}),
                    "companies": _CRU,
                    "deals": _CRU,
                    "orders": _CRU,
                    "interactions": _CRU,
                    "tickets": _READ,
                    "consents": _READ,
                },
                fields={
                    "contacts": _all_full("contacts"),
                    "interactions": _all_full("interactions"),
                    "tickets": _all_full("tickets"),
                },
                row_scope="team",
                builtin=True,
            ),
            Role(
                name="marketing",
                description=(
                    "Runs campaigns and segments: names and email in full, phone and "
                    "postcode masked, no street or birth date."
                ),
                objects={
                    "contacts": frozenset({"read", "export"}),
                    "segments": _EVERY,
                    "campaigns": _CRUD_EXPORT,
                    "analytics": _READ,
                    "consents": _READ,
                    "events": _READ,
                },
                fields={
                    "contacts": _contacts(
                        full=(*_NAMES, "email", "emails"),
                        masked=("phone", "phones", "postcode"),
                    )
                },
                row_scope="all",
                builtin=True,
            ),
            Role(
                name="support",
                description=(
                    "Answers customers: tickets and interactions, updates contacts; names "
                    "and email in full, phone and address masked, no birth date."
                ),
                objects={
                    "contacts": frozenset({"read", "update"}),
                    "tickets": _CRU,
                    "interactions": _CRU,
                    "orders": _READ,
                    "consents": _READ,
                },
                fields={
                    "contacts": _contacts(
                        full=(*_NAMES, "email", "emails"),
                        masked=("phone", "phones", "street", "postcode", "addresses"),
                    ),
                    "interactions": _all_full("interactions"),
                    "tickets": _all_full("tickets"),
                },
                row_scope="all",
                builtin=True,
            ),
            Role(
                name="analyst",
                description=(
                    "Studies the business: analytics, quality and segments as aggregates; "
                    "no names, emails, phones, addresses or birth dates."
                ),
                objects={
                    "analytics": frozenset({"read", "run", "export"}),
                    "quality": _READ,
                    "segments": _READ,
                    "contacts": _READ,
                    "orders": _READ,
                    "deals": _READ,
                    "campaigns": _READ,
                },
                fields={
                    "contacts": dict.fromkeys(
                        (
                            "id",
                            "country",
                            "region",
                            "city",
                            "lifecycle_stage",
                            "company_name",
                            "job_title",
                            "created_at",
                        ),
                        "full",
                    )
                },
                row_scope="all",
                aggregates_only=True,
                builtin=True,
            ),
            Role(
                name="read_only",
                description=(
                    "Looks things up: reads every business object, personal fields masked, "
                    "free text hidden; no users, audit, keys or privacy requests."
                ),
                objects={f: _READ for f in FAMILIES if f not in _PERSONAL_SYSTEM_FAMILIES},
                fields=_masked_everywhere(),
                row_scope="all",
                builtin=True,
            ),
        )
    }
)
"""The roles every workspace has, modelled on common CRM defaults."""


# --------------------------------------------------------------------------------------------
# Custom roles from the workspace configuration
# --------------------------------------------------------------------------------------------


_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


def _grant_of(role: Role, family: str) -> dict[str, Access]:
    """Return the field grant a role applies to a family, written out."""
    if family in role.fields:
        return dict(role.fields[family])
    if ALL in role.fields:
        return dict(role.fields[ALL])
    if family in FIELD_KINDS:
        return {k: "full" for k, v in FIELD_KINDS[family].items() if v == "plain"}
    return {}


def _custom_role(config: RoleConfig, base: Role | None) -> Role:
    """Build one role from its configuration on top of its base."""

    def bad(what: str) -> ConfigError:
        return ConfigError(f"role {config.name!r}: {what}")

    objects: dict[Family, frozenset[Action]] = dict(base.objects) if base else {}
    for family_name in sorted(config.objects, key=lambda f: f != ALL):
        if family_name != ALL and family_name not in FAMILIES:
            raise bad(f"unknown family {family_name!r}; known: {', '.join(FAMILIES)}")
        actions: set[Action] = set()
        for action in config.objects[family_name]:
            if action == ALL:
                actions.update(ACTIONS)
            elif action in ACTIONS:
                actions.add(action)
            else:
                raise bad(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
        targets = FAMILIES if family_name == ALL else (family_name,)
        for target in targets:
            objects[target] = frozenset(actions)  # type: ignore[index]

    fields: dict[str, Mapping[str, Access]] = dict(base.fields) if base else {}
    for family_name, grants in config.fields.items():
        if family_name != ALL and family_name not in FAMILIES:
            raise bad(f"unknown family {family_name!r} in fields")
        merged = _grant_of(base, family_name) if base else {}
        for name, access in grants.items():
            if not name:
                raise bad(f"empty field name in fields of {family_name}")
            if access == "absent":
                merged.pop(name, None)
            elif access in ("full", "masked"):
                merged[name] = access  # type: ignore[assignment]
            else:
                raise bad(f"field {family_name}.{name}: unknown access {access!r}")
        fields[family_name] = merged

    row_scope = config.row_scope or (base.row_scope if base else "own")
    if row_scope not in get_args(RowScope):
        raise bad(f"unknown row_scope {row_scope!r}; known: all, team, own")
    aggregates_only = config.aggregates_only
    if aggregates_only is None:
        aggregates_only = base.aggregates_only if base else False
    return Role(
        name=config.name,
        description=config.description or (base.description if base else ""),
        objects=objects,
        fields=fields,
        row_scope=row_scope,  # type: ignore[arg-type]
        aggregates_only=aggregates_only,
    )


def load_roles(configs: Sequence[RoleConfig]) -> dict[str, Role]:
    """Return the built-in roles plus the workspace's own, checked.

    Args:
        configs: the workspace's role definitions.

    Returns:
        Every role by name, built-ins first.

    Raises:
        ConfigError: a name is taken or malformed, `extends` names no built-in role, or a
            family, action, field access or row scope is unknown.

    Examples:
        >>> roles = load_roles([RoleConfig(name="intern", extends="read_only",
        ...                                objects={"tickets": []})])
        >>> roles["intern"].permits("tickets", "read")
        False
    """
    roles: dict[str, Role] = dict(BUILTIN_ROLES)
    for config in configs:
        if not _ROLE_NAME.match(config.name):
            raise ConfigError(
                f"role name {config.name!r}: use lowercase letters, digits, - and _ "
                f"(starting with a letter)"
            )
        if config.name in BUILTIN_ROLES or config.name == _SYSTEM_ROLE.name:
            raise ConfigError(f"role {config.name!r} is built in and cannot be redefined")
        if config.name in roles:
            raise ConfigError(f"role {config.name!r} is defined twice")
        base = None
        if config.extends is not None:
            base = BUILTIN_ROLES.get(config.extends)
            if base is None:
                raise ConfigError(
                    f"role {config.name!r} extends unknown role {config.extends!r}; "
                    f"built-in roles: {', '.join(BUILTIN_ROLES)}"
                )
        roles[config.name] = _custom_role(config, base)
    return roles


# --------------------------------------------------------------------------------------------
# Object permissions
# --------------------------------------------------------------------------------------------


def _scoped(scopes: frozenset[str] | None, family: str, action: str) -> bool:
    if scopes is None:
        return True
    wanted = (f"{family}:{action}", f"{family}:{ALL}", f"{ALL}:{action}", f"{ALL}:{ALL}", ALL)
    return any(scope in scopes for scope in wanted)


def allowed(principal: Principal, family: Family, action: Action) -> bool:
    """Say whether the principal may do `action` on `family` (role and API key scopes)."""
    return principal.role.permits(family, action) and _scoped(principal.scopes, family, action)


def require(principal: Principal, family: Family, action: Action) -> None:
    """Raise PermissionDenied unless the principal may do `action` on `family`.

    Raises:
        PermissionDenied: the role or the API key's scopes do not allow it.
    """
    if not principal.role.permits(family, action):
        raise PermissionDenied(family, action, role=principal.role.name)
    if not _scoped(principal.scopes, family, action):
        raise PermissionDenied(
            family, action, role=principal.role.name, reason="not in the API key's scopes"
        )


def _has_personal_fields(family: Family) -> bool:
    if family in _FIGURE_FAMILIES:
        return False
    return any(k not in ("plain", "secret") for k in FIELD_KINDS.get(family, {}).values())


def require_identifying(principal: Principal, family: Family) -> None:
    """Raise PermissionDenied unless the principal may read `family` row by row.

    Call it before listing or exporting rows of people; aggregates-only roles (the analyst)
    get counts and figures instead.

    Raises:
        PermissionDenied: no read permission, or the role sees aggregates only and the
            family holds personal data.
    """
    require(principal, family, "read")
    if principal.role.aggregates_only and _has_personal_fields(family):
        raise PermissionDenied(
            family,
            "list",
            role=principal.role.name,
            reason="this role sees aggregates only",
        )


# --------------------------------------------------------------------------------------------
# Field permissions and shaping
# --------------------------------------------------------------------------------------------


def _can_see(principal: Principal, family: Family) -> bool:
    return allowed(principal, family, "read") or allowed(principal, family, "export")


def _access(principal: Principal, family: Family, name: str) -> Access | None:
    """Return how one field is shown to the principal, or None when it is absent."""
    kind = _kind(family, name)
    if kind == "secret":
        return None
    role = principal.role
    grant = role.fields.get(family, role.fields.get(ALL))
    access: Access | None
    if grant is not None:
        access = grant.get(name, grant.get(ALL))
    elif family in _FIGURE_FAMILIES:
        if kind == "plain":
            return "full"
        # A personal column in computed output follows the contacts grant.
        return _access(principal, "contacts", name) if _can_see(principal, "contacts") else None
    else:
        # No grant: the catalogued plain fields only, so a field added later stays absent.
        access = "full" if FIELD_KINDS.get(family, {}).get(name) == "plain" else None
    if access is not None and role.aggregates_only and kind != "plain":
        return None
    return access


def field_access(
    principal: Principal, family: Family, fields: Iterable[str] | None = None
) -> dict[str, Access]:
    """Return the visible fields of `family` and how each is shown; absent ones are left out.

    Args:
        principal: who is asking.
        family: the family the fields belong to.
        fields: the field names to judge, in order; the family's catalogued fields by default.

    Returns:
        Field name → `"full"` or `"masked"`, in the order given. Empty when the principal
        may neither read nor export the family.
    """
    names = FIELD_KINDS.get(family, {}) if fields is None else fields
    if not _can_see(principal, family):
        return {}
    out: dict[str, Access] = {}
    for name in names:
        access = _access(principal, family, name)
        if access is not None:
            out[name] = access
    return out


def _require_visible(principal: Principal, family: Family) -> None:
    if not _can_see(principal, family):
        raise PermissionDenied(family, "read", role=principal.role.name)


def _as_text(value: object) -> str | None:
    """Return the text a scalar is masked from, or None for values with no text form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal | date):
        return str(value)
    return None


_TEXT_MASKERS: Final[Mapping[str, Callable[[str], str]]] = {
    "text": mask_text,
    "note": mask_text,
    "email": mask_email,
    "phone": mask_phone,
    "postcode": mask_postcode,
}


def _mask_value(kind: FieldKind, value: Any) -> Any:
    """Mask one value of a field of `kind`."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return ""
    if kind in _NESTED_KINDS:
        return _mask_points(kind, value)
    masker = _TEXT_MASKERS.get(kind)
    text = _as_text(value)
    if masker is None:
        return _DATE_MASK if kind == "date" else MASK
    return MASK if text is None else masker(text)


def _mask_points(kind: FieldKind, value: Any) -> Any:
    """Mask a list of contact points, keeping only known keys of each."""
    if not isinstance(value, list | tuple):
        return MASK
    out: list[Any] = []
    for item in value:
        if isinstance(item, Mapping):
            out.append(
                {
                    k: v
                    if _point_kind(kind, k) == "plain"
                    else _mask_value(_point_kind(kind, k), v)
                    for k, v in item.items()
                    if k in _POINT_KEYS
                }
            )
        else:
            out.append(_mask_value(_point_kind(kind, "value"), item))
    return out


def _shaper(principal: Principal, family: Family) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Build a row shaper that judges each field name once."""
    _require_visible(principal, family)
    cache: dict[str, tuple[Access | None, FieldKind]] = {}

    def shape(row: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name not in cache:
                cache[name] = (_access(principal, family, name), _kind(family, name))
            access, kind = cache[name]
            if access == "full":
                out[name] = value
            elif access == "masked":
                out[name] = _mask_value(kind, value)
        return out

    return shape


def shape_row(principal: Principal, family: Family, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the row as the principal may see it: absent fields dropped, masked ones masked.

    Nested contact points (`emails`, `phones`, `addresses`: lists of dicts with a `value`)
    are masked item by item and keep only their known keys.

    Raises:
        PermissionDenied: the principal may neither read nor export `family`.
    """
    return _shaper(principal, family)(row)


def shape_rows(
    principal: Principal, family: Family, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Shape many rows of one family (see `shape_row`)."""
    shape = _shaper(principal, family)
    return [shape(row) for row in rows]


def _strip(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """Return the stripped text form of a column, or None when it has none."""
    if dtype == pl.String:
        return expr.str.strip_chars()
    if dtype.is_numeric() or dtype.is_temporal():
        return expr.cast(pl.String).str.strip_chars()
    return None


def _instance(dtype: object) -> pl.DataType:
    """Return a data type instance (nested schemas may hold bare classes like `pl.String`)."""
    if isinstance(dtype, type) and issubclass(dtype, pl.DataType):
        return dtype()
    assert isinstance(dtype, pl.DataType)
    return dtype


def _lit(text: str) -> pl.Expr:
    return pl.lit(text, dtype=pl.String)


def _text_expr(s: pl.Expr) -> pl.Expr:
    n = s.str.len_chars()
    return pl.when(n < 2).then(_lit(MASK)).otherwise(pl.concat_str([s.str.head(1), _lit(MASK)]))


def _email_expr(s: pl.Expr) -> pl.Expr:
    local = s.str.extract(r"(?s)^(.*)@[^@]*$", 1)
    domain = s.str.extract(r"@([^@]*)$", 1)
    is_address = ((local.str.len_chars() > 0) & (domain.str.len_chars() > 0)).fill_null(False)
    head = (
        pl.when(local.str.len_chars() < 2)
        .then(_lit(MASK))
        .otherwise(pl.concat_str([local.str.head(1), _lit(MASK)]))
    )
    return (
        pl.when(is_address.not_())
        .then(_text_expr(s))
        .otherwise(pl.concat_str([head, _lit("@"), domain]))
    )


def _phone_expr(s: pl.Expr) -> pl.Expr:
    head = s.str.extract(r"^([0-9\s+\-()./]*)", 1).fill_null("")
    trunk = head.str.starts_with("00")
    international = head.str.starts_with("+") | trunk
    digits = head.str.replace_all(r"[^0-9]", "")
    digits = pl.when(trunk).then(digits.str.slice(2)).otherwise(digits)
    code = digits.str.extract(_COUNTRY_CODE, 1)
    rest = digits.str.slice(code.str.len_chars())
    n = digits.str.len_chars()
    return (
        pl.when(n == 0)
        .then(_lit(MASK))
        .when(international & code.is_null())
        .then(_lit(MASK))
        .when(international & (rest.str.len_chars() >= 7))
        .then(pl.concat_str([_lit("+"), code, _lit(f" {_PHONE_HIDDEN}"), rest.str.tail(4)]))
        .when(international)
        .then(pl.concat_str([_lit("+"), code, _lit(f" {MASK}")]))
        .when(n >= 7)
        .then(pl.concat_str([_lit(_PHONE_HIDDEN), digits.str.tail(4)]))
        .otherwise(_lit(MASK))
    )


def _postcode_expr(s: pl.Expr) -> pl.Expr:
    first = s.str.extract(_FIRST_TOKEN, 1)
    keep = pl.min_horizontal(s.str.len_chars() // 2, pl.lit(3))
    return (
        pl.when(first.is_not_null())
        .then(pl.concat_str([first, _lit(f" {MASK}")]))
        .when(keep == 0)
        .then(_lit(MASK))
        .otherwise(pl.concat_str([s.str.head(keep), _lit(MASK)]))
    )


_TEXT_EXPRS: Final[Mapping[str, Callable[[pl.Expr], pl.Expr]]] = {
    "text": _text_expr,
    "note": _text_expr,
    "email": _email_expr,
    "phone": _phone_expr,
    "postcode": _postcode_expr,
}


def _mask_expr(expr: pl.Expr, dtype: pl.DataType, kind: FieldKind) -> pl.Expr:
    """Build the vectorised twin of `_mask_value` for a column of `dtype`."""
    if kind in _NESTED_KINDS:
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            return _points_expr(expr, dtype.inner, kind)
        if isinstance(dtype, pl.List):
            inner = _instance(dtype.inner)
            return expr.list.eval(_mask_expr(pl.element(), inner, _point_kind(kind, "value")))
        kind = "opaque"  # contact points stored as JSON text: no partial form
    stripped = _strip(expr, dtype)
    make = _TEXT_EXPRS.get(kind)
    if stripped is None or make is None:
        masked = _lit(_DATE_MASK if kind == "date" else MASK)
    else:
        masked = make(stripped)
    null = pl.lit(None, dtype=pl.String)
    if dtype == pl.String:
        blank = expr.str.strip_chars() == ""
        return pl.when(expr.is_null()).then(null).when(blank).then(_lit("")).otherwise(masked)
    return pl.when(expr.is_null()).then(null).otherwise(masked)


def _points_expr(expr: pl.Expr, inner: pl.Struct, kind: FieldKind) -> pl.Expr:
    """Mask a list-of-struct column of contact points, keeping only known keys."""
    element = pl.element()
    parts = []
    for struct_field in inner.fields:
        name = struct_field.name
        if name not in _POINT_KEYS:
            continue
        part = element.struct.field(name)
        point_kind = _point_kind(kind, name)
        if point_kind != "plain":
            part = _mask_expr(part, _instance(struct_field.dtype), point_kind)
        parts.append(part.alias(name))
    if not parts:
        return _mask_expr(expr, pl.Null(), "opaque")
    item = pl.when(element.is_null()).then(None).otherwise(pl.struct(parts))
    return expr.list.eval(item)


def shape_frame(principal: Principal, family: Family, frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame as the principal may see it, vectorised for large exports.

    Same rules and same values as `shape_row`; column order is kept; masked columns
    become text.

    Raises:
        PermissionDenied: the principal may neither read nor export `family`.
    """
    _require_visible(principal, family)
    columns: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        access = _access(principal, family, name)
        if access == "full":
            columns.append(pl.col(name))
        elif access == "masked":
            columns.append(_mask_expr(pl.col(name), dtype, _kind(family, name)).alias(name))
    return frame.select(columns)


# --------------------------------------------------------------------------------------------
# Row scope
# --------------------------------------------------------------------------------------------


def _owners(principal: Principal, team_members: Sequence[str]) -> set[str] | None:
    """Return the owners whose rows the principal sees, or None for every row."""
    scope = principal.role.row_scope
    if scope == "all":
        return None
    if scope == "team":
        return {*team_members, principal.username}
    return {principal.username}


def row_filter(
    principal: Principal,
    owner_column: ColumnElement[Any] | QueryableAttribute[Any],
    *,
    team_members: Sequence[str] = (),
    include_unowned: bool = False,
) -> ColumnElement[bool] | None:
    """Return the WHERE clause limiting a query to the principal's rows; None means all.

    Args:
        principal: who is asking.
        owner_column: the column holding the owner's username (e.g. `Contact.owner`).
        team_members: usernames of the principal's team (for team scope), from the store.
        include_unowned: also rows nobody owns (e.g. unassigned leads).

    Examples:
        A listing applies it before paging::

            clause = row_filter(principal, Contact.owner, team_members=members)
            query = select(Contact) if clause is None else select(Contact).where(clause)
    """
    owners = _owners(principal, team_members)
    if owners is None:
        return None
    clause = owner_column.in_(sorted(owners))
    return or_(clause, owner_column.is_(None)) if include_unowned else clause


def row_visible(
    principal: Principal,
    owner: str | None,
    *,
    team_members: Sequence[str] = (),
    include_unowned: bool = False,
) -> bool:
    """Say whether one row with this `owner` is in the principal's scope (see `row_filter`)."""
    owners = _owners(principal, team_members)
    if owners is None:
        return True
    if owner is None:
        return include_unowned
    return owner in owners


# --------------------------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------------------------


def suppress_small_groups(
    counts: Mapping[str, int], *, min_size: int = MIN_GROUP_SIZE
) -> dict[str, int | None]:
    """Hide counts of 1 to `min_size - 1` people (None), so no small group can be singled out.

    When exactly one group is hidden, the next smallest is hidden too, so a shown total
    cannot give the hidden count back (secondary suppression). Zero stays: it names nobody.

    Examples:
        >>> suppress_small_groups({"DE": 120, "FR": 3, "ES": 40})
        {'DE': 120, 'FR': None, 'ES': None}
    """
    hidden = {k for k, v in counts.items() if 0 < v < min_size}
    if len(hidden) == 1:
        shown = [(v, k) for k, v in counts.items() if k not in hidden and v > 0]
        if shown:
            hidden.add(min(shown)[1])
    return {k: None if k in hidden else v for k, v in counts.items()}
