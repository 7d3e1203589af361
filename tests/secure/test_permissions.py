"""Roles, field masking and row scope: the rules every adapter shares."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select

from rolodex.exceptions import ConfigError, InputError, TerminalError
from rolodex.secure.permissions import (
    ACTIONS,
    BUILTIN_ROLES,
    FAMILIES,
    MASK,
    Action,
    Family,
    PermissionDenied,
    Principal,
    Role,
    RoleConfig,
    allowed,
    field_access,
    load_roles,
    mask_date,
    mask_email,
    mask_phone,
    mask_postcode,
    mask_text,
    require,
    require_identifying,
    row_filter,
    row_visible,
    shape_frame,
    shape_row,
    shape_rows,
    suppress_small_groups,
)

# The permission matrix, written out by hand: r read, c create, u update, d delete, e export,
# x run, a admin, - nothing. It is the specification; the code must agree with it.
_MATRIX = """
family        admin    manager  sales  marketing  support  analyst  read_only
contacts      rcudexa  rcudexa  rcue   re         ru       r        r
companies     rcudexa  rcudexa  rcu    -          -        -        r
orders        rcudexa  rcudexa  rcu    -          r        r        r
deals         rcudexa  rcudexa  rcu    -          -        r        r
interactions  rcudexa  rcudexa  rcu    -          rcu      -        r
tickets       rcudexa  rcudexa  r      -          rcu      -        r
events        rcudexa  rcudexa  -      r          -        -        r
consents      rcudexa  rcudexa  r      r          r        -        r
campaigns     rcudexa  rcudexa  -      rcude      -        r        r
segments      rcudexa  rcudexa  -      rcudexa    -        r        r
imports       rcudexa  rcudexa  -      -          -        -        r
resolve       rcudexa  rcudexa  -      -          -        -        r
analytics     rcudexa  rcudexa  -      r          -        rex      r
quality       rcudexa  rcudexa  -      -          -        r        r
users         rcudexa  r        -      -          -        -        -
audit         rcudexa  re       -      -          -        -        -
privacy       rcudexa  rcudexa  -      -          -        -        -
keys          rcudexa  -        -      -          -        -        -
"""
_LETTERS: dict[str, Action] = {
    "r": "read",
    "c": "create",
    "u": "update",
    "d": "delete",
    "e": "export",
    "x": "run",
    "a": "admin",
}

# Contact fields per role: F full, M masked, - absent.
_CONTACT_FIELDS = """
field            admin  manager  sales  marketing  support  analyst  read_only
id               F      F        F      F          F        F        F
first_name       F      F        F      F          F        -        M
last_name        F      F        F      F          F        -        M
full_name        F      F        F      F          F        -        M
email            F      F        F      F          F        -        M
emails           F      F        F      F          F        -        M
phone            F      F        F      M          M        -        M
phones           F      F        F      M          M        -        M
street           F      F        F      -          M        -        M
addresses        F      F        F      -          M        -        M
postcode         F      F        F      M          M        -        M
birth_date       F      F        F      -          -        -        M
gender           F      F        F      -          -        -        M
custom           F      F        F      -          -        -        M
city             F      F        F      F          F        F        F
country          F      F        F      F          F        F        F
lifecycle_stage  F      F        F      F          F        F        F
job_title        F      F        F      F          F        F        F
owner            F      F        F      F          F        -        F
"""


def _table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header = lines[0][1:]
    return header, {line[0]: line[1:] for line in lines[1:]}


def user(role: str | Role, *, username: str = "ann", **kwargs: Any) -> Principal:
    """Build a principal holding a built-in role (by name) or the given role."""
    held = BUILTIN_ROLES[role] if isinstance(role, str) else role
    return Principal(username=username, role=held, **kwargs)


# --------------------------------------------------------------------------------------------
# Object permissions
# --------------------------------------------------------------------------------------------


def test_the_matrix_covers_every_family_and_builtin_role() -> None:
    roles, rows = _table(_MATRIX)
    assert set(rows) == set(FAMILIES)
    assert set(roles) == set(BUILTIN_ROLES)


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_builtin_role_permissions_match_the_written_matrix(role: str) -> None:
    roles, rows = _table(_MATRIX)
    column = roles.index(role)
    principal = user(role)
    for family in FAMILIES:
        granted = {_LETTERS[c] for c in rows[family][column] if c != "-"}
        for action in ACTIONS:
            assert allowed(principal, family, action) == (action in granted), (
                role,
                family,
                action,
            )


def test_require_raises_a_terminal_error_naming_family_action_and_role_only() -> None:
    principal = user("support", username="jane.doe@example.com")
    with pytest.raises(PermissionDenied) as caught:
        require(principal, "deals", "delete")
    error = caught.value
    assert isinstance(error, TerminalError)
    assert not error.retryable
    assert (error.family, error.action, error.status_code) == ("deals", "delete", 403)
    assert str(error) == "role 'support' may not delete deals"
    assert "jane" not in str(error)
    require(principal, "tickets", "update")  # allowed: no error


def test_system_principal_may_do_everything_and_is_not_a_loadable_role() -> None:
    system = Principal.system()
    assert system.username == "system"
    assert all(allowed(system, f, a) for f in FAMILIES for a in ACTIONS)
    assert "system" not in load_roles([])
    assert row_filter(system, Table("t", MetaData(), Column("owner", String)).c.owner) is None


def test_roles_cannot_be_changed_after_creation() -> None:
    role = BUILTIN_ROLES["sales"]
    with pytest.raises(TypeError):
        role.objects["keys"] = frozenset({"admin"})  # type: ignore[index]
    with pytest.raises(TypeError):
        role.fields["contacts"]["birth_date"] = "full"  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# API key scopes
# --------------------------------------------------------------------------------------------


def test_scopes_narrow_the_role_and_never_widen_it() -> None:
    key = user("sales", scopes=frozenset({"contacts:read", "deals:*"}))
    assert allowed(key, "contacts", "read")
    assert not allowed(key, "contacts", "update")  # the role may, the key may not
    assert allowed(key, "deals", "update")
    assert not allowed(key, "deals", "delete")  # the key may, the role may not
    assert not allowed(key, "orders", "read")
    with pytest.raises(PermissionDenied, match="not in the API key's scopes"):
        require(key, "contacts", "export")


def test_wildcard_scopes() -> None:
    reader = user("manager", scopes=frozenset({"*:read"}))
    assert allowed(reader, "orders", "read")
    assert not allowed(reader, "orders", "update")
    everything = user("support", scopes=frozenset({"*"}))
    assert allowed(everything, "tickets", "create")
    assert not allowed(everything, "deals", "read")
    assert not any(allowed(user("admin", scopes=frozenset()), f, "read") for f in FAMILIES)


@pytest.mark.parametrize("scope", ["contacts", "contacts:write", "people:read", "Contacts:read"])
def test_unknown_scopes_are_refused(scope: str) -> None:
    with pytest.raises(InputError, match="scope"):
        user("sales", scopes=frozenset({scope}))


def test_a_key_without_read_or_export_scope_gets_no_rows_shaped() -> None:
    key = user("sales", scopes=frozenset({"deals:read"}))
    with pytest.raises(PermissionDenied):
        shape_row(key, "contacts", {"id": 1})
    assert field_access(key, "contacts") == {}
    exporter = user("sales", scopes=frozenset({"contacts:export"}))
    assert shape_row(exporter, "contacts", {"id": 1, "email": "a@b.c"}) == {
        "id": 1,
        "email": "a@b.c",
    }


# --------------------------------------------------------------------------------------------
# Field permissions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_contact_field_access_matches_the_written_table(role: str) -> None:
    roles, rows = _table(_CONTACT_FIELDS)
    column = roles.index(role)
    expected = {
        name: {"F": "full", "M": "masked"}[marks[column]]
        for name, marks in rows.items()
        if marks[column] != "-"
    }
    assert field_access(user(role), "contacts", rows) == expected


@pytest.mark.parametrize("role", sorted(set(BUILTIN_ROLES) - {"admin"}))
def test_a_field_nobody_granted_is_absent_for_every_non_admin_role(role: str) -> None:
    principal = user(role)
    for family in FAMILIES:
        if not (allowed(principal, family, "read") or allowed(principal, family, "export")):
            continue
        if family in ("analytics", "quality"):
            continue  # computed figures: their columns are open (see the module docstring)
        row = {"id": 7, "loyalty_tier": "gold", "shoe_size": 42}
        shaped = shape_row(principal, family, row)
        assert "loyalty_tier" not in shaped, (role, family)
        assert "shoe_size" not in shaped, (role, family)
        frame = shape_frame(principal, family, pl.DataFrame([row]))
        assert "loyalty_tier" not in frame.columns, (role, family)


def test_admin_sees_unknown_fields_but_secrets_never_leave() -> None:
    row = {"id": 1, "username": "ann", "password_hash": "$argon2id$...", "shoe_size": 42}
    assert shape_row(user("admin"), "users", row) == {"id": 1, "username": "ann", "shoe_size": 42}
    assert shape_row(Principal.system(), "users", row) == {
        "id": 1,
        "username": "ann",
        "shoe_size": 42,
    }
    assert "password_hash" not in shape_row(user("manager"), "users", row)
    keys = {"id": 3, "key_id": "k1", "material": "c2VjcmV0"}
    assert shape_row(user("admin"), "keys", keys) == {"id": 3, "key_id": "k1"}


def test_ticket_text_is_full_for_support_and_absent_for_read_only() -> None:
    ticket = {"id": 1, "status": "open", "subject": "My card ending 4242 was charged twice"}
    assert shape_row(user("support"), "tickets", ticket) == ticket
    assert shape_row(user("sales"), "tickets", ticket) == ticket
    assert shape_row(user("read_only"), "tickets", ticket) == {"id": 1, "status": "open"}


def test_families_without_a_grant_show_their_plain_catalogued_fields() -> None:
    order = {"id": 1, "contact_id": 9, "total_amount": 12.5, "currency": "EUR", "email": "x@y.z"}
    assert shape_row(user("support"), "orders", order) == {
        "id": 1,
        "contact_id": 9,
        "total_amount": 12.5,
        "currency": "EUR",
    }


def test_analytics_columns_named_like_contact_fields_follow_the_contacts_grant() -> None:
    rfm = pl.DataFrame(
        {
            "contact_id": [1, 2],
            "email": ["jane.doe@example.com", "juergen@mueller.de"],
            "first_name": ["Jane", "Jürgen"],
            "recency_days": [3, 40],
            "segment": ["Champions", "At risk"],
        }
    )
    analyst = shape_frame(user("analyst"), "analytics", rfm)
    assert analyst.columns == ["contact_id", "recency_days", "segment"]
    marketing = shape_frame(user("marketing"), "analytics", rfm)
    assert marketing.equals(rfm)
    figures_only = load_roles(
        [RoleConfig(name="board", objects={"analytics": ["read"]}, row_scope="all")]
    )["board"]
    assert shape_frame(user(figures_only), "analytics", rfm).columns == [
        "contact_id",
        "recency_days",
        "segment",
    ]


def test_aggregates_only_roles_cannot_list_people() -> None:
    with pytest.raises(PermissionDenied, match="aggregates only"):
        require_identifying(user("analyst"), "contacts")
    require_identifying(user("analyst"), "analytics")
    require_identifying(user("read_only"), "contacts")
    with pytest.raises(PermissionDenied):
        require_identifying(user("sales"), "analytics")  # no read at all


# --------------------------------------------------------------------------------------------
# Masking functions
# --------------------------------------------------------------------------------------------

_EMAILS = [
    ("jane.doe@example.com", "j•••@example.com"),
    ("Jane.Doe@Example.com", "J•••@Example.com"),
    ("  juergen@mueller.de ", "j•••@mueller.de"),
    ("j@x.org", "•••@x.org"),
    ("josé.núñez@correo.es", "j•••@correo.es"),
    ("ñandú@ejemplo.es", "ñ•••@ejemplo.es"),
    ("用户@例子.广告", "用•••@例子.广告"),
    ("a@b@example.com", "a•••@example.com"),
    ('"jane doe"@example.com', '"•••@example.com'),
    ("not-an-email", "n•••"),
    ("jane@", "j•••"),
    ("@example.com", "@•••"),
    ("x", MASK),
    ("   ", ""),
    ("", ""),
]

_PHONES = [
    ("+442071234567", "+44 ••• •••4567"),
    ("+44 20 7123 4567", "+44 ••• •••4567"),
    ("+44 (0) 20 7123 4567", "+44 ••• •••4567"),
    ("0044 20 7123 4567", "+44 ••• •••4567"),
    ("+1 555 123 4567", "+1 ••• •••4567"),
    ("+1 (555) 123-4567 ext. 890", "+1 ••• •••4567"),
    ("+1-555-123-4567;ext=89", "+1 ••• •••4567"),
    ("(555) 123-4567 x89", "••• •••4567"),
    ("555.123.4567#12", "••• •••4567"),
    ("555\u00a0123\u00a04567", "••• •••4567"),
    ("+49 30 1234567", "+49 ••• •••4567"),
    ("+49 171 1234567", "+49 ••• •••4567"),
    ("+33 6 12 34 56 78", "+33 ••• •••5678"),
    ("+7 495 123-45-67", "+7 ••• •••4567"),
    ("+86 138 0013 8000", "+86 ••• •••8000"),
    ("+420 601 123 456", "+420 ••• •••3456"),
    ("+353 1 234 5678", "+353 ••• •••5678"),
    ("030 1234567", "••• •••4567"),
    ("555-1234", "••• •••1234"),
    ("+44 1234", "+44 •••"),
    ("12345", MASK),
    ("112", MASK),
    ("+4", MASK),
    ("n/a", MASK),
    ("tel: +44 20 7123 4567", MASK),
    ("", ""),
]

_NAMES = [
    ("Jürgen", "J•••"),
    ("Ólafur", "Ó•••"),
    ("  Anne-Marie ", "A•••"),
    ("O'Brien", "O•••"),
    ("李小龙", "李•••"),
    ("Zoë", "Z•••"),
    ("X", MASK),
    ("   ", ""),
    ("", ""),
]

_POSTCODES = [
    ("SW1A 1AA", "SW1A •••"),
    ("K1A 0B1", "K1A •••"),
    ("1234 AB", "1234 •••"),
    ("10115", "10•••"),
    ("75002", "75•••"),
    ("12345-6789", "123•••"),
    ("A1", "A•••"),
    ("9", MASK),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), _EMAILS)
def test_mask_email(value: str, expected: str) -> None:
    assert mask_email(value) == expected


@pytest.mark.parametrize(("value", "expected"), _PHONES)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(("value", "expected"), _NAMES)
def test_mask_text(value: str, expected: str) -> None:
    assert mask_text(value) == expected


@pytest.mark.parametrize(("value", "expected"), _POSTCODES)
def test_mask_postcode(value: str, expected: str) -> None:
    assert mask_postcode(value) == expected


def test_mask_date_hides_the_year_too() -> None:
    assert mask_date(date(1985, 3, 14)) == "••••-••-••"
    assert mask_date("14.03.1970") == "••••-••-••"
    assert mask_date("") == ""


def test_none_stays_none() -> None:
    for masker in (mask_email, mask_phone, mask_text, mask_postcode, mask_date):
        assert masker(None) is None


def test_masked_text_hides_length() -> None:
    assert len(mask_text("Al")) == len(mask_text("Alexandria-Konstantinopel"))
    assert len(mask_email("al@example.com")) == len(mask_email("alexandria@example.com"))


@pytest.mark.parametrize(("value", "_expected"), _PHONES)
def test_a_masked_phone_shows_at_most_the_country_code_and_four_digits(
    value: str, _expected: str
) -> None:
    masked = mask_phone(value)
    original = re.sub(r"[^0-9]", "", value)
    groups = re.findall(r"[0-9]+", masked)
    assert len(groups) <= 2
    assert sum(map(len, groups)) <= 3 + 4
    assert all(group in original for group in groups)
    assert sum(map(len, groups)) < len(original) or not original


@pytest.mark.parametrize(
    ("value", "masked"),
    [(v, m(v)) for m, cases in ((mask_email, _EMAILS), (mask_text, _NAMES)) for v, _ in cases]
    + [(v, mask_postcode(v)) for v, _ in _POSTCODES],
)
def test_masking_never_shows_a_character_the_original_lacks(value: str, masked: str) -> None:
    visible = masked.replace(MASK, "").replace(" ", "").replace("@", "")
    assert all(char in value for char in visible)
    assert len(visible) < len(value.replace(" ", "")) or not value.strip()


# --------------------------------------------------------------------------------------------
# shape_row and shape_frame agree
# --------------------------------------------------------------------------------------------


def _golden_rows() -> list[dict[str, Any]]:
    """Contacts modelled on tests/data/contacts_small.csv, as golden records."""
    return [
        {
            "id": 1,
            "first_name": "Jane",
            "last_name": "Doe",
            "full_name": "Jane Doe",
            "email": "Jane.Doe@Example.com",
            "phone": "+1 555 123 4567",
            "company_name": "Acme Inc",
            "street": "1 Main St",
            "city": "Springfield",
            "postcode": "12345",
            "country": "US",
            "birth_date": date(1985, 3, 14),
            "gender": "female",
            "owner": "ann",
            "custom": {"loyalty_tier": "gold"},
            "loyalty_tier": "gold",
            "emails": [{"value": "Jane.Doe@Example.com", "label": "work", "is_primary": True}],
            "phones": [{"value": "+1 555 123 4567", "label": "work", "is_primary": True}],
            "addresses": [
                {
                    "value": "1 Main St, Springfield 12345",
                    "street": "1 Main St",
                    "postcode": "12345",
                    "city": "Springfield",
                    "country": "US",
                    "source_record_id": 11,
                }
            ],
        },
        {
            "id": 2,
            "first_name": "Jürgen",
            "last_name": "Müller",
            "full_name": "Jürgen Müller",
            "email": "juergen@mueller.de",
            "phone": "+49 30 1234567",
            "company_name": "Müller GmbH",
            "street": "Hauptstraße 5",
            "city": "Berlin",
            "postcode": "10115",
            "country": "DE",
            "birth_date": date(1970, 3, 14),
            "gender": None,
            "owner": "bob",
            "custom": None,
            "loyalty_tier": "silver",
            "emails": [{"value": "juergen@mueller.de", "label": None, "is_primary": True}],
            "phones": [
                {"value": "+49 30 1234567", "label": "work", "is_primary": True},
                {"value": "+49 171 1234567", "label": "mobile", "is_primary": False},
            ],
            "addresses": [],
        },
        {
            "id": 3,
            "first_name": "François",
            "last_name": "Lefèvre",
            "full_name": "François Lefèvre",
            "email": "f.lefevre@exemple.fr",
            "phone": None,
            "company_name": None,
            "street": "12, rue de la Paix",
            "city": "Paris",
            "postcode": "75002",
            "country": "FR",
            "birth_date": None,
            "gender": None,
            "owner": None,
            "custom": None,
            "loyalty_tier": "bronze",
            "emails": [],
            "phones": [{"value": "+33 6 12 34 56 78", "label": "mobile", "is_primary": True}],
            "addresses": None,
        },
        {
            "id": 4,
            "first_name": "José",
            "last_name": "Núñez",
            "full_name": "José Núñez",
            "email": "jose@nunez.es",
            "phone": "",
            "company_name": None,
            "street": None,
            "city": "Madrid",
            "postcode": None,
            "country": "ES",
            "birth_date": None,
            "gender": None,
            "owner": "ann",
            "custom": None,
            "loyalty_tier": None,
            "emails": [{"value": "jose@nunez.es", "label": "home", "is_primary": True}],
            "phones": [],
            "addresses": [
                {
                    "value": "Madrid",
                    "street": None,
                    "postcode": None,
                    "city": "Madrid",
                    "country": "ES",
                    "source_record_id": 14,
                }
            ],
        },
    ]


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Build a frame whose nested columns have the same keys in every row."""
    return pl.DataFrame(rows, infer_schema_length=None)


_CUSTOM = load_roles(
    [
        RoleConfig(
            name="field_agent",
            extends="support",
            fields={"contacts": {"birth_date": "masked", "email": "masked", "custom": "masked"}},
        )
    ]
)["field_agent"]


@pytest.mark.parametrize(
    "principal",
    [user(name) for name in sorted(BUILTIN_ROLES)] + [user(_CUSTOM), Principal.system()],
    ids=[*sorted(BUILTIN_ROLES), "custom", "system"],
)
def test_shape_row_and_shape_frame_agree(principal: Principal) -> None:
    rows = _golden_rows()
    frame = _frame(rows)
    shaped_frame = shape_frame(principal, "contacts", frame)
    shaped_rows = shape_rows(principal, "contacts", rows)
    assert [shape_row(principal, "contacts", row) for row in rows] == shaped_rows
    assert shaped_frame.columns == list(shaped_rows[0])
    framed = shaped_frame.to_dicts()
    for from_rows, from_frame in zip(shaped_rows, framed, strict=True):
        for column, value in from_rows.items():
            expected = from_frame[column]
            if isinstance(value, list) and value and isinstance(value[0], dict):
                # A frame's structs carry every key seen in the column.
                assert all(set(item) <= set(expected[0]) for item in value)
                value = [{k: item.get(k) for k in expected[0]} for item in value]
            assert value == expected, (column, value, expected)


def test_shape_frame_keeps_column_order_and_masks_to_text() -> None:
    frame = _frame(_golden_rows())
    shaped = shape_frame(user("read_only"), "contacts", frame)
    kept = [c for c in frame.columns if c in shaped.columns]
    assert shaped.columns == kept
    assert shaped["birth_date"].to_list() == ["••••-••-••", "••••-••-••", None, None]
    assert shaped["custom"].to_list() == [MASK, None, None, None]
    assert shaped["email"].to_list() == [
        "J•••@Example.com",
        "j•••@mueller.de",
        "f•••@exemple.fr",
        "j•••@nunez.es",
    ]
    assert shaped["phones"].to_list()[1] == [
        {"value": "+49 ••• •••4567", "label": "work", "is_primary": True},
        {"value": "+49 ••• •••4567", "label": "mobile", "is_primary": False},
    ]
    # source_record_id is not a known contact-point key: dropped from masked points.
    assert shaped["addresses"].to_list()[0] == [
        {
            "value": "1•••",
            "street": "1•••",
            "postcode": "12•••",
            "city": "Springfield",
            "country": "US",
        }
    ]


@pytest.mark.parametrize(
    ("column", "cases"),
    [("email", _EMAILS), ("phone", _PHONES), ("first_name", _NAMES), ("postcode", _POSTCODES)],
)
def test_vectorised_masks_equal_the_scalar_ones(column: str, cases: list[tuple[str, str]]) -> None:
    values: list[str | None] = [value for value, _ in cases] + [None]
    reader = user("read_only")
    frame = shape_frame(reader, "contacts", pl.DataFrame({column: values}))
    by_row = [shape_row(reader, "contacts", {column: v})[column] for v in values]
    assert frame[column].to_list() == by_row
    assert by_row[:-1] == [expected for _, expected in cases]


def test_non_text_columns_are_masked_like_their_text() -> None:
    reader = user("read_only")
    frame = pl.DataFrame({"phone": [442071234567, None], "first_name": [True, None]})
    rows: list[dict[str, Any]] = [
        {"phone": 442071234567, "first_name": True},
        {"phone": None, "first_name": None},
    ]
    assert shape_frame(reader, "contacts", frame).to_dicts() == shape_rows(reader, "contacts", rows)
    assert shape_rows(reader, "contacts", rows)[0] == {"phone": "••• •••4567", "first_name": MASK}


# --------------------------------------------------------------------------------------------
# Custom roles
# --------------------------------------------------------------------------------------------


def test_custom_roles_extend_builtin_ones() -> None:
    roles = load_roles(
        [
            RoleConfig(
                name="support_lite",
                extends="support",
                description="Answers chats only.",
                objects={"tickets": ["read"], "orders": []},
                fields={"contacts": {"email": "absent", "phone": "full"}},
            ),
            RoleConfig(name="auditor", objects={"*": ["read"], "audit": ["read", "export"]}),
        ]
    )
    assert list(roles)[: len(BUILTIN_ROLES)] == list(BUILTIN_ROLES)
    lite = user(roles["support_lite"])
    assert allowed(lite, "tickets", "read")
    assert not allowed(lite, "tickets", "update")
    assert not allowed(lite, "orders", "read")
    assert allowed(lite, "contacts", "update")  # inherited
    assert lite.role.row_scope == "all"
    access = field_access(lite, "contacts", ["first_name", "email", "phone", "birth_date"])
    assert access == {"first_name": "full", "phone": "full"}

    auditor = user(roles["auditor"])
    assert allowed(auditor, "audit", "export")
    assert allowed(auditor, "keys", "read")
    assert not allowed(auditor, "contacts", "update")
    # No grant and no base: plain fields only, rows of its own only.
    assert shape_row(auditor, "contacts", {"id": 1, "email": "a@b.c", "city": "Oslo"}) == {
        "id": 1,
        "city": "Oslo",
    }
    assert auditor.role.row_scope == "own"


def test_aggregates_only_beats_a_field_grant() -> None:
    peeker = load_roles(
        [RoleConfig(name="peeker", extends="analyst", fields={"contacts": {"email": "full"}})]
    )["peeker"]
    assert "email" not in field_access(user(peeker), "contacts", ["id", "email"])
    opened = load_roles(
        [
            RoleConfig(
                name="opened",
                extends="analyst",
                aggregates_only=False,
                fields={"contacts": {"email": "masked"}},
            )
        ]
    )["opened"]
    assert field_access(user(opened), "contacts", ["id", "email"]) == {
        "id": "full",
        "email": "masked",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RoleConfig(name="sales"), "built in"),
        (RoleConfig(name="system"), "built in"),
        (RoleConfig(name="Sales Team"), "lowercase"),
        (RoleConfig(name="x", extends="intern"), "extends unknown role 'intern'"),
        (RoleConfig(name="x", objects={"people": ["read"]}), "unknown family 'people'"),
        (RoleConfig(name="x", objects={"contacts": ["write"]}), "unknown action 'write'"),
        (RoleConfig(name="x", fields={"people": {"email": "full"}}), "unknown family"),
        (RoleConfig(name="x", fields={"contacts": {"email": "partial"}}), "'partial'"),
        (RoleConfig(name="x", row_scope="region"), "unknown row_scope 'region'"),
    ],
)
def test_bad_role_configs_are_refused(config: RoleConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_roles([config])


def test_a_custom_role_name_may_not_be_defined_twice() -> None:
    with pytest.raises(ConfigError, match="defined twice"):
        load_roles([RoleConfig(name="intern"), RoleConfig(name="intern")])


# --------------------------------------------------------------------------------------------
# Row scope
# --------------------------------------------------------------------------------------------

_OWNERS = {1: "ann", 2: "bob", 3: "cat", 4: None, 5: "ann"}


def _visible_ids(principal: Principal, **kwargs: Any) -> set[int]:
    """Run the row filter against an in-memory SQLite table."""
    metadata = MetaData()
    contact = Table(
        "contact", metadata, Column("id", Integer, primary_key=True), Column("owner", String)
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)  # a throwaway Core table, not the Rolodex schema
    with engine.begin() as conn:
        conn.execute(contact.insert(), [{"id": k, "owner": v} for k, v in _OWNERS.items()])
        query = select(contact.c.id)
        clause = row_filter(principal, contact.c.owner, **kwargs)
        if clause is not None:
            query = query.where(clause)
        ids = set(conn.execute(query).scalars())
    engine.dispose()
    return ids


_OWN = load_roles([RoleConfig(name="solo", extends="sales", row_scope="own")])["solo"]


@pytest.mark.parametrize(
    ("role", "kwargs", "expected"),
    [
        ("sales", {"team_members": ["bob"]}, {1, 2, 5}),
        ("sales", {}, {1, 5}),
        ("sales", {"team_members": ["bob", "cat"], "include_unowned": True}, {1, 2, 3, 4, 5}),
        (_OWN, {"team_members": ["bob"]}, {1, 5}),
        (_OWN, {"include_unowned": True}, {1, 4, 5}),
        ("marketing", {}, {1, 2, 3, 4, 5}),
        ("admin", {}, {1, 2, 3, 4, 5}),
    ],
)
def test_row_filter_and_row_visible_select_the_same_rows(
    role: str | Role, kwargs: dict[str, Any], expected: set[int]
) -> None:
    principal = user(role, username="ann", team="north")
    assert _visible_ids(principal, **kwargs) == expected
    assert {k for k, owner in _OWNERS.items() if row_visible(principal, owner, **kwargs)} == (
        expected
    )


def test_all_rows_need_no_where_clause() -> None:
    column = Table("t", MetaData(), Column("owner", String)).c.owner
    assert row_filter(user("manager"), column) is None
    assert row_filter(user("sales"), column) is not None


# --------------------------------------------------------------------------------------------
# Small groups
# --------------------------------------------------------------------------------------------


def test_small_groups_are_hidden() -> None:
    counts = {"DE": 120, "FR": 3, "ES": 40, "IT": 2, "PT": 0}
    assert suppress_small_groups(counts) == {
        "DE": 120,
        "FR": None,
        "ES": 40,
        "IT": None,
        "PT": 0,
    }


def test_a_lone_hidden_group_takes_the_next_smallest_with_it() -> None:
    # Otherwise the total (165) minus the shown counts would give FR back.
    assert suppress_small_groups({"DE": 120, "FR": 3, "ES": 40, "PT": 0}) == {
        "DE": 120,
        "FR": None,
        "ES": None,
        "PT": 0,
    }


def test_group_threshold_can_be_set() -> None:
    counts = {"a": 9, "b": 10, "c": 11, "d": 50}
    assert suppress_small_groups(counts, min_size=10) == {"a": None, "b": None, "c": 11, "d": 50}
    assert suppress_small_groups({"a": 5, "b": 7}) == {"a": 5, "b": 7}


def test_every_family_and_action_is_a_literal_the_checks_accept() -> None:
    family: Family = "contacts"
    action: Action = "read"
    assert family in FAMILIES
    assert action in ACTIONS
    assert len(FAMILIES) == 18
    assert len(ACTIONS) == 7
