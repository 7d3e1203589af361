"""The contacts endpoints: listing, search, the 360° view, create and update over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import login


def _ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    answer = client.get("/api/v1/contacts", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_without_a_credential_every_contact_call_is_refused(client: TestClient) -> None:
    for method, path in (("GET", "/api/v1/contacts"), ("GET", "/api/v1/contacts/1")):
        answer = client.request(method, path)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
    bad = client.get("/api/v1/contacts", headers={"Authorization": "Bearer rdt_forged.sig"})
    assert bad.status_code == 401


def test_pages_cover_every_contact_once(client: TestClient, admin: dict[str, str]) -> None:
    every = _ids(client, admin, limit=500)
    seen: list[int] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        page = client.get("/api/v1/contacts", headers=admin, params=params).json()
        seen += [i["id"] for i in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == every
    assert len(every) >= 5


def test_filters_and_unknown_filters(client: TestClient, admin: dict[str, str]) -> None:
    german = client.get("/api/v1/contacts", headers=admin, params={"country": "DE"}).json()
    assert german["items"]
    assert {i["country"] for i in german["items"]} == {"DE"}
    wrong = client.get("/api/v1/contacts", headers=admin, params={"shoe_size": "9"})
    assert wrong.status_code == 422
    assert "shoe_size" in wrong.json()["detail"]


def test_search_by_email_and_the_360_view_with_its_etag(
    client: TestClient, admin: dict[str, str]
) -> None:
    found = client.get(
        "/api/v1/contacts/search", headers=admin, params={"q": "jane.doe@example.com"}
    )
    assert found.status_code == 200
    items = found.json()["items"]
    assert [i["last_name"] for i in items] == ["Doe"]
    view = client.get(f"/api/v1/contacts/{items[0]['id']}", headers=admin)
    assert view.status_code == 200
    body = view.json()
    assert body["email"] == "jane.doe@example.com"
    assert view.headers["ETag"].strip('"') == body["etag"].strip('"')
    assert body["lineage"]


def test_injection_in_search_is_just_text(client: TestClient, admin: dict[str, str]) -> None:
    for q in ("' OR 1=1 --", "%", "_", "Doe'; DROP TABLE contact; --"):
        answer = client.get("/api/v1/contacts/search", headers=admin, params={"q": q})
        assert answer.status_code == 200
        assert answer.json()["items"] == []
    assert _ids(client, admin)


def test_update_needs_the_current_etag(client: TestClient, admin: dict[str, str]) -> None:
    cid = _ids(client, admin)[0]
    first = client.get(f"/api/v1/contacts/{cid}", headers=admin)
    tag = first.headers["ETag"]
    missing = client.patch(f"/api/v1/contacts/{cid}", headers=admin, json={"job_title": "CEO"})
    assert missing.status_code == 428
    done = client.patch(
        f"/api/v1/contacts/{cid}",
        headers={**admin, "If-Match": tag},
        json={"job_title": "CEO"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["job_title"] == "CEO"
    stale = client.patch(
        f"/api/v1/contacts/{cid}",
        headers={**admin, "If-Match": tag},
        json={"job_title": "CTO"},
    )
    assert stale.status_code == 412
    assert client.get(f"/api/v1/contacts/{cid}", headers=admin).json()["job_title"] == "CEO"


def test_create_reports_a_duplicate_and_merges_when_asked(
    client: TestClient, admin: dict[str, str]
) -> None:
    new = client.post(
        "/api/v1/contacts",
        headers=admin,
        json={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.org"},
    )
    assert new.status_code == 201, new.text
    assert new.json()["status"] == "created"
    twin = {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com"}
    duplicate = client.post("/api/v1/contacts", headers=admin, json=twin)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["candidates"]
    merged = client.post("/api/v1/contacts", headers=admin, params={"on_match": "merge"}, json=twin)
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"


def test_idempotency_key_replays_the_first_answer(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    headers = {**admin, "Idempotency-Key": "create-grace-1"}
    body = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.mil"}
    first = client.post("/api/v1/contacts", headers=headers, json=body)
    again = client.post("/api/v1/contacts", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/api/v1/contacts", headers=headers, json={**body, "first_name": "G"})
    assert other.status_code == 422
    hits = client.get("/api/v1/contacts/search", headers=admin, params={"q": "grace@navy.mil"})
    assert len(hits.json()["items"]) == 1
    with api_ws.engine.connect() as conn:
        from sqlalchemy import text

        stored = conn.execute(text("SELECT response FROM idempotent_request")).scalar_one()
    assert "grace@navy.mil" not in stored  # answers are kept encrypted


def test_bulk_create_gives_a_result_per_record(client: TestClient, admin: dict[str, str]) -> None:
    records = [
        {"first_name": f"Person{i}", "last_name": "Bulk", "email": f"p{i}@bulk.example"}
        for i in range(300)
    ]
    records.append({"job_title": "Nobody in particular"})  # nothing that identifies anyone
    answer = client.post("/api/v1/contacts/bulk", headers=admin, json={"records": records})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["results"]) == 301
    assert body["counts"]["created"] == 300
    last = body["results"][-1]
    assert last["status"] == "invalid"
    assert last["reasons"]


def test_support_sees_a_masked_phone_and_analyst_sees_no_people(
    client: TestClient, admin: dict[str, str]
) -> None:
    cid = client.get(
        "/api/v1/contacts/search", headers=admin, params={"q": "jane.doe@example.com"}
    ).json()["items"][0]["id"]
    full = client.get(f"/api/v1/contacts/{cid}", headers=admin).json()
    support = client.get(f"/api/v1/contacts/{cid}", headers=login(client, "support")).json()
    assert full["phone"]
    assert support["phone"] != full["phone"]
    assert support["phone"].endswith(full["phone"][-4:])
    assert "birth_date" not in support
    analyst = login(client, "analyst")
    assert client.get(f"/api/v1/contacts/{cid}", headers=analyst).status_code == 403
    assert client.get("/api/v1/contacts", headers=analyst).status_code == 403


def test_reads_of_personal_data_are_audited(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    cid = _ids(client, admin)[0]
    client.get(f"/api/v1/contacts/{cid}", headers=admin)
    client.app.state.workspace.read_log.flush()  # type: ignore[attr-defined]
    reads = api_ws.audit_entries(action="contact.read", actor="admin-user")
    assert any(e["entity_id"] == str(cid) for e in reads)
    assert api_ws.audit_verify().ok


def test_oversized_and_malformed_bodies_are_problems(
    client: TestClient, admin: dict[str, str]
) -> None:
    bad = client.post(
        "/api/v1/contacts",
        headers={**admin, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    huge = client.post(
        "/api/v1/contacts",
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"first_name": "' + b"x" * (60 << 20) + b'"}',
    )
    assert huge.status_code == 413
    assert huge.json()["status"] == 413


def test_bulk_update_applies_each_item_on_its_own(
    client: TestClient, admin: dict[str, str]
) -> None:
    first, second = _ids(client, admin)[:2]
    tag = client.get(f"/api/v1/contacts/{second}", headers=admin).headers["ETag"]
    answer = client.patch(
        "/api/v1/contacts/bulk",
        headers=admin,
        json={
            "updates": [
                {"id": first, "changes": {"lifecycle_stage": "customer"}},
                {"id": second, "changes": {"job_title": "Buyer"}, "if_match": '"stale"'},
                {"id": 999_999, "changes": {"job_title": "Ghost"}},
                {"id": second, "changes": {"job_title": "Buyer"}, "if_match": tag},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["updated", "error", "error", "updated"]
    assert [r.get("code") for r in results[1:3]] == ["precondition_failed", "not_found"]
    assert client.get(f"/api/v1/contacts/{first}", headers=admin).json()["lifecycle_stage"] == (
        "customer"
    )


def test_bulk_update_refuses_fields_a_role_cannot_see_item_by_item(
    client: TestClient, admin: dict[str, str]
) -> None:
    cid = _ids(client, admin)[0]
    support = login(client, "support")
    answer = client.patch(
        "/api/v1/contacts/bulk",
        headers=support,
        json={
            "updates": [
                {"id": cid, "changes": {"birth_date": "1990-01-01"}},
                {"id": cid, "changes": {"job_title": "Support-edited"}},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert results[0]["code"] == "forbidden"
    assert results[1]["status"] == "updated"
