"""Web form intake: forms set up by admins, public submissions with a form token, rate
limits, double opt-in by email link, and suppressed people kept out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from rolodex.pipeline.intake import MemoryOutbox
from rolodex.workspace import Workspace
from tests.api.conftest import login

ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.org"}


@pytest.fixture
def outbox(client: TestClient) -> MemoryOutbox:
    """The server's mailer, keeping confirmation messages in memory."""
    box = MemoryOutbox()
    client.app.state.mailer = box  # type: ignore[attr-defined]
    return box


def make_form(client: TestClient, headers: dict[str, str], name: str, **options: Any) -> str:
    """Create a form; return its token."""
    body = {"name": name, "source": "website", "purpose": "marketing_email", **options}
    answer = client.post("/api/v1/forms", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def submit(client: TestClient, name: str, token: str | None, **record: Any) -> Any:
    headers = {"X-Form-Token": token} if token else {}
    return client.post(
        f"/api/v1/forms/{name}/submit",
        headers={**headers, "User-Agent": "pytest-browser/1.0"},
        json={"consent": True, **record},
    )


def _consents(ws: Workspace, email: str) -> list[dict[str, Any]]:
    found = ws.search(email)["items"]
    if not found:
        return []
    with ws.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.purpose, c.status, c.lawful_basis, c.proof, s.name AS source"
                " FROM consent c LEFT JOIN source s ON s.id = c.source_id"
                " WHERE c.contact_id = :c"
            ),
            {"c": found[0]["id"]},
        ).mappings()
        return [dict(r) for r in rows]


def test_admins_manage_forms_and_see_the_token_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = make_form(client, admin, "newsletter", rate_per_minute=5)
    assert token.startswith("rdf_")
    listed = client.get("/api/v1/forms", headers=admin).json()["items"]
    assert [f["name"] for f in listed] == ["newsletter"]
    assert token not in json.dumps(listed)
    assert "token_hash" not in listed[0]
    again = client.post(
        "/api/v1/forms",
        headers=admin,
        json={"name": "newsletter", "source": "website", "purpose": "marketing_email"},
    )
    assert again.status_code == 422
    for role in ("sales", "marketing", "read_only"):
        headers = login(client, role)
        assert client.get("/api/v1/forms", headers=headers).status_code == 403, role
        assert client.delete("/api/v1/forms/newsletter", headers=headers).status_code == 403
    assert client.delete("/api/v1/forms/newsletter", headers=admin).status_code == 204
    assert submit(client, "newsletter", token, **ADA).status_code == 401
    assert client.delete("/api/v1/forms/newsletter", headers=admin).status_code == 404


def test_a_submission_creates_the_contact_and_the_consent_with_proof(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    token = make_form(client, admin, "contact-us")
    answer = submit(client, "contact-us", token, **ADA)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"status": "received"}
    consents = _consents(api_ws, "ada@analytical.org")
    assert len(consents) == 1
    consent = consents[0]
    assert (consent["purpose"], consent["status"], consent["lawful_basis"]) == (
        "marketing_email",
        "granted",
        "consent",
    )
    assert consent["source"] == "website"
    proof = json.loads(consent["proof"])
    assert proof["form"] == "contact-us"
    assert proof["user_agent"] == "pytest-browser/1.0"
    assert proof["client"]
    assert "testclient" not in proof["client"]
    # The same person again merges into the contact rather than creating a twin.
    body = {"consent": True, "token": token, **ADA}
    again = client.post("/api/v1/forms/contact-us/submit", json=body)
    assert again.status_code == 201, again.text
    assert len(api_ws.search("ada@analytical.org")["items"]) == 1
    assert len(_consents(api_ws, "ada@analytical.org")) == 2


def test_wrong_or_missing_tokens_and_bad_bodies_are_refused(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    token = make_form(client, admin, "contact-us")
    make_form(client, admin, "other")
    for name, given in (("contact-us", "rdf_wrong"), ("contact-us", None), ("nope", token)):
        answer = submit(client, name, given, **ADA)
        assert answer.status_code == 401, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "unknown form or wrong form token"
    unticked = client.post(
        "/api/v1/forms/contact-us/submit",
        headers={"X-Form-Token": token},
        json={"consent": False, **ADA},
    )
    assert unticked.status_code == 422
    extra = submit(client, "contact-us", token, shoe_size="9", **ADA)
    assert extra.status_code == 422
    assert submit(client, "Bad Name", token, **ADA).status_code == 422
    assert api_ws.search("ada@analytical.org")["items"] == []


def test_submissions_are_rate_limited_per_form(client: TestClient, admin: dict[str, str]) -> None:
    token = make_form(client, admin, "tiny", rate_per_minute=2)
    for i in range(2):
        answer = submit(client, "tiny", token, email=f"p{i}@example.org", first_name="P")
        assert answer.status_code == 201, answer.text
    limited = submit(client, "tiny", token, email="p9@example.org", first_name="P")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["status"] == 429


def test_double_opt_in_waits_for_the_link(
    client: TestClient, admin: dict[str, str], api_ws: Workspace, outbox: MemoryOutbox
) -> None:
    token = make_form(client, admin, "signup", double_opt_in=True)
    answer = submit(client, "signup", token, **ADA)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "pending_confirmation"}
    assert api_ws.search("ada@analytical.org")["items"] == []
    [message] = outbox.messages
    assert message.to == "ada@analytical.org"
    assert message.form == "signup"
    with api_ws.engine.connect() as conn:
        raw = conn.execute(text("SELECT * FROM pending_confirmation")).mappings().one()
    stored = json.dumps({k: str(v) for k, v in raw.items()})
    assert "ada@analytical.org" not in stored.lower()
    assert "Lovelace" not in stored
    assert message.token not in stored

    confirmed = client.get(f"/api/v1/forms/confirm/{message.token}")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    [consent] = _consents(api_ws, "ada@analytical.org")
    assert consent["status"] == "granted"
    proof = json.loads(consent["proof"])
    assert proof["form"] == "signup"
    assert proof["confirmed_at"] >= proof["submitted_at"]
    with api_ws.engine.connect() as conn:
        left = conn.execute(text("SELECT payload FROM pending_confirmation")).scalar_one()
    assert left == ""  # the record is not kept once it is a contact

    assert client.get(f"/api/v1/forms/confirm/{message.token}").status_code == 410
    assert client.get("/api/v1/forms/confirm/rdc_unknown_token_123").status_code == 404
    assert len(_consents(api_ws, "ada@analytical.org")) == 1


def test_double_opt_in_links_expire(
    client: TestClient, admin: dict[str, str], api_ws: Workspace, outbox: MemoryOutbox
) -> None:
    token = make_form(client, admin, "signup", double_opt_in=True)
    assert submit(client, "signup", token, **ADA).status_code == 202
    no_email = submit(client, "signup", token, first_name="Nobody")
    assert no_email.status_code == 422
    with api_ws.engine.begin() as conn:
        conn.execute(
            text("UPDATE pending_confirmation SET expires_at = :t"),
            {"t": "2001-01-01 00:00:00+00:00"},
        )
    answer = client.get(f"/api/v1/forms/confirm/{outbox.messages[0].token}")
    assert answer.status_code == 410
    assert "expired" in answer.json()["detail"]
    assert api_ws.search("ada@analytical.org")["items"] == []
    with api_ws.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pending_confirmation")).scalar_one() == 0


def test_a_suppressed_person_is_never_created(
    client: TestClient, admin: dict[str, str], api_ws: Workspace, outbox: MemoryOutbox
) -> None:
    api_ws.privacy_erase("jane.doe@example.com", suppress=True, reason="asked")
    direct = make_form(client, admin, "contact-us")
    confirmed = make_form(client, admin, "signup", double_opt_in=True)
    before = api_ws.counts()
    jane = {"first_name": "Jane", "last_name": "Doe", "email": "Jane.Doe@example.com"}
    first = submit(client, "contact-us", direct, **jane)
    assert first.status_code == 201, first.text
    assert first.json() == {"status": "received"}  # the same answer: nothing to learn here
    second = submit(client, "signup", confirmed, **jane)
    assert second.status_code == 202
    assert outbox.messages == []
    assert api_ws.search("jane.doe@example.com")["items"] == []
    after = api_ws.counts()
    assert (after["contact"], after["consent"]) == (before["contact"], before["consent"])
