"""The resolve endpoints: runs as jobs, merge and unmerge, the review queue, explain."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from rolodex.workspace import Workspace
from tests.api.conftest import login, poll_job


def _records(ws: Workspace) -> dict[str, tuple[int, int]]:
    """External id → (source record id, contact id) of the small file's linked records."""
    with ws.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.external_id, r.id, l.contact_id FROM contact_link l"
                " JOIN source_record r ON r.id = l.source_record_id"
            )
        ).all()
    return {str(e): (int(r), int(c)) for e, r, c in rows}


def make_review(ws: Workspace, *, left: int, right: int, probability: float = 0.7) -> int:
    """Put a pair of source records in the review queue, as a resolve run would."""
    with ws.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO match_review (left_record_id, right_record_id, probability,"
                " evidence, status, created_at) VALUES (:l, :r, :p, :e, 'pending',"
                " CURRENT_TIMESTAMP)"
            ),
            {"l": left, "r": right, "p": probability, "e": '{"email": 1.5, "name": -2.0}'},
        )
        found = conn.execute(
            text("SELECT id FROM match_review WHERE left_record_id = :l AND right_record_id = :r"),
            {"l": left, "r": right},
        ).scalar_one()
    return int(found)


def test_a_resolve_run_is_a_job_and_is_listed(client: TestClient, admin: dict[str, str]) -> None:
    before = client.get("/api/v1/resolve/runs", headers=admin).json()["items"]
    answer = client.post("/api/v1/resolve", headers=admin, json={"full": True})
    assert answer.status_code == 202, answer.text
    job = poll_job(client, admin, answer.json()["id"])
    assert job["status"] == "done", job
    assert job["result"]["mode"] == "full"
    assert job["result"]["records"] >= 5
    after = client.get("/api/v1/resolve/runs", headers=admin).json()["items"]
    assert len(after) == len(before) + 1
    assert after[0]["mode"] == "full"
    page = client.get("/api/v1/resolve/runs", headers=admin, params={"limit": 1}).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"] == str(after[0]["id"])
    dry = client.post("/api/v1/resolve", headers=admin, json={"dry_run": True})
    assert poll_job(client, admin, dry.json()["id"])["result"]["dry_run"] is True
    assert len(client.get("/api/v1/resolve/runs", headers=admin).json()["items"]) == len(after)


def test_resolve_rights(client: TestClient) -> None:
    for role in ("read_only", "sales", "marketing", "support", "analyst"):
        assert client.post("/api/v1/resolve", headers=login(client, role)).status_code == 403
    assert client.get("/api/v1/resolve/runs", headers=login(client, "read_only")).status_code == 200
    assert client.get("/api/v1/resolve/runs", headers=login(client, "sales")).status_code == 403
    assert client.post("/api/v1/resolve").status_code == 401


def test_merge_then_unmerge_restores(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    records = _records(api_ws)
    (_, jane), (jose_record, jose) = records["C001"], records["C004"]
    refused = client.post(
        "/api/v1/merge", headers=login(client, "read_only"), json={"first": jane, "second": jose}
    )
    assert refused.status_code == 403
    merged = client.post(
        "/api/v1/merge", headers=admin, json={"first": jane, "second": jose, "reason": "same"}
    )
    assert merged.status_code == 200, merged.text
    explained = client.get(f"/api/v1/contacts/{jose}/explain", headers=admin).json()
    assert explained["contact_id"] == jane
    assert {r["external_id"] for r in explained["records"]} == {"C001", "C004"}
    split = client.post(
        "/api/v1/unmerge",
        headers=admin,
        json={"contact": jane, "record": jose_record, "reason": "different people"},
    )
    assert split.status_code == 200, split.text
    apart = client.get(f"/api/v1/contacts/{jane}/explain", headers=admin).json()
    assert [r["external_id"] for r in apart["records"]] == ["C001"]
    assert _records(api_ws)["C004"][1] != jane
    assert {e["action"] for e in apart["events"]} >= {"merge", "unmerge"}


def test_review_shows_pairs_by_role_and_decisions_need_the_right(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    records = _records(api_ws)
    first = make_review(api_ws, left=records["C001"][0], right=records["C006"][0], probability=0.8)
    second = make_review(api_ws, left=records["C003"][0], right=records["C004"][0])
    listed = client.get("/api/v1/review", headers=admin)
    assert listed.status_code == 200, listed.text
    pairs = listed.json()["items"]
    assert [p["id"] for p in pairs] == [first, second]
    assert pairs[0]["left"]["email"] == "jane.doe@example.com"
    assert pairs[0]["evidence"] == {"email": 1.5, "name": -2.0}

    readonly = login(client, "read_only")
    masked = client.get("/api/v1/review", headers=readonly).json()["items"]
    assert masked[0]["left"]["email"] == "j•••@example.com"
    assert masked[0]["left"]["first_name"] == "J•••"
    assert masked[0]["left"]["external_id"] == "C001"
    assert client.get("/api/v1/review", headers=login(client, "sales")).status_code == 403

    for who in (readonly, login(client, "support")):
        assert client.post(f"/api/v1/review/{first}/accept", headers=who).status_code == 403
    accepted = client.post(
        f"/api/v1/review/{first}/accept", headers=admin, json={"reason": "same person"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] is True
    assert _records(api_ws)["C001"][1] == _records(api_ws)["C006"][1]
    rejected = client.post(f"/api/v1/review/{second}/reject", headers=admin)
    assert rejected.status_code == 200, rejected.text
    assert _records(api_ws)["C003"][1] != _records(api_ws)["C004"][1]
    assert client.post(f"/api/v1/review/{first}/reject", headers=admin).status_code == 409
    assert client.get("/api/v1/review", headers=admin).json()["items"] == []
    decided = client.get("/api/v1/review", headers=admin, params={"status": "accepted"}).json()
    assert [p["id"] for p in decided["items"]] == [first]
    assert client.post("/api/v1/review/0/accept", headers=admin).status_code == 422
    assert client.get("/api/v1/review", headers=admin, params={"status": "x"}).status_code == 422


def test_explain_masks_by_role(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    jane = _records(api_ws)["C001"][1]
    full = client.get(f"/api/v1/contacts/{jane}/explain", headers=admin).json()
    assert full["records"][0]["email"] == "jane.doe@example.com"
    values = {v["field"]: v["value"] for v in full["values"]}
    assert values["birth_date"] == "1985-03-14"
    masked = client.get(f"/api/v1/contacts/{jane}/explain", headers=login(client, "read_only"))
    assert masked.status_code == 200, masked.text
    body = masked.json()
    assert body["records"][0]["email"] == "j•••@example.com"
    assert body["records"][0]["name"] == "J•••"
    shown = {v["field"]: v.get("value") for v in body["values"]}
    assert shown["email"] == "j•••@example.com"
    assert shown["country"] == "US"
    assert "1985" not in str(body)
    assert (
        client.get(f"/api/v1/contacts/{jane}/explain", headers=login(client, "sales")).status_code
        == 403
    )
    assert client.get("/api/v1/contacts/0/explain", headers=admin).status_code == 422
    assert client.get("/api/v1/contacts/999999/explain", headers=admin).status_code in (404, 422)
