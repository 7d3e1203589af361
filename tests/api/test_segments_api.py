"""Segments over HTTP: create with the filter language, show with a page of members shaped
by role, refresh, and the CSV export that leaves out members without consent."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import login

EUROPE = "country = 'DE' or country = 'FR' or country = 'ES'"


@pytest.fixture
def europe(api_ws: Workspace) -> Workspace:
    """The contacts file's workspace with a segment of its European contacts."""
    api_ws.segment_create("europe", where=EUROPE)
    return api_ws


def _member_ids(client: TestClient, headers: dict[str, str], limit: int) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        params: dict[str, str | int] = {"limit": limit, **({"after": after} if after else {})}
        body = client.get("/api/v1/segments/europe", headers=headers, params=params).json()
        ids += [m["id"] for m in body["members_page"]["items"]]
        after = body["members_page"]["next_cursor"]
        if after is None:
            return ids


def test_create_list_and_show_with_member_pages(api_ws: Workspace, client: TestClient) -> None:
    marketing = login(client, "marketing")
    made = client.post(
        "/api/v1/segments",
        headers=marketing,
        json={"name": "germany", "where": "country = 'DE'", "description": "DACH push"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["members"]) == ("germany", 1)
    listed = client.get("/api/v1/segments", headers=marketing).json()
    assert "germany" in [s["name"] for s in listed["items"]]
    first = client.get("/api/v1/segments", headers=marketing, params={"limit": 1}).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"] == first["items"][0]["name"]
    shown = client.get("/api/v1/segments/germany", headers=marketing).json()
    assert shown["expression"] == "country = 'DE'"
    (member,) = shown["members_page"]["items"]
    assert (member["last_name"], member["email"]) == ("Müller", "juergen@mueller.de")
    assert member["phone"].endswith("4567")
    assert member["phone"] != "+49301234567"  # marketing sees phones masked
    assert "birth_date" not in member
    assert shown["history"][0]["entered"] == 1


def test_members_page_completely_and_follow_the_role(europe: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    every = _member_ids(client, admin, limit=500)
    assert len(every) == 3
    assert _member_ids(client, admin, limit=1) == every
    analyst = client.get("/api/v1/segments/europe", headers=login(client, "analyst"))
    assert analyst.status_code == 200
    assert analyst.json()["members"] == 3
    assert analyst.json()["members_page"] is None  # aggregates only: no people
    masked = client.get("/api/v1/segments/europe", headers=login(client, "read_only")).json()
    names = {m["last_name"] for m in masked["members_page"]["items"]}
    assert names == {"M•••", "L•••", "N•••"}


def test_who_may_use_segments(europe: Workspace, client: TestClient) -> None:
    # BUILTIN_ROLES: segments read for admin, manager, marketing, analyst, read_only;
    # create and refresh (update) for admin, manager and marketing only.
    for role, read, write in (
        ("marketing", 200, 201),
        ("analyst", 200, 403),
        ("read_only", 200, 403),
        ("sales", 403, 403),
        ("support", 403, 403),
    ):
        headers = login(client, role)
        assert client.get("/api/v1/segments", headers=headers).status_code == read, role
        made = client.post(
            "/api/v1/segments",
            headers=headers,
            json={"name": f"s-{role}", "where": "contact_id > 0"},
        )
        assert made.status_code == write, (role, made.text)
        refresh = client.post("/api/v1/segments/europe/refresh", headers=headers)
        assert refresh.status_code == (200 if write == 201 else 403), role


def test_refresh_follows_changed_contacts(europe: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    jane = client.get(
        "/api/v1/contacts/search", headers=admin, params={"q": "jane.doe@example.com"}
    ).json()["items"][0]["id"]
    europe.update_contact(jane, {"country": "DE"})
    done = client.post("/api/v1/segments/europe/refresh", headers=admin)
    assert done.status_code == 200
    assert (done.json()["members"], done.json()["entered"], done.json()["left"]) == (4, 1, 0)
    assert jane in _member_ids(client, admin, limit=500)


def test_export_leaves_out_members_without_consent(europe: Workspace, client: TestClient) -> None:
    admin, marketing = login(client, "admin"), login(client, "marketing")
    members = client.get("/api/v1/segments/europe", headers=admin).json()["members_page"]
    by_name = {m["last_name"]: m["id"] for m in members["items"]}
    for name, status in (("Müller", "granted"), ("Lefèvre", "withdrawn")):
        answer = client.post(
            "/api/v1/consents",
            headers=admin,
            json={"contact_id": by_name[name], "purpose": "marketing_email", "status": status},
        )
        assert answer.status_code == 201
    answer = client.get("/api/v1/segments/europe/export", headers=marketing)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert (answer.headers["x-rows-written"], answer.headers["x-left-out-without-consent"]) == (
        "1",
        "2",
    )
    (row,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert (row["last_name"], row["email"]) == ("Müller", "juergen@mueller.de")
    assert row["phone"] != "+49301234567"  # masked for marketing
    everyone = client.get(
        "/api/v1/segments/europe/export", headers=admin, params={"purpose": "profiling"}
    )
    assert everyone.headers["x-rows-written"] == "0"  # nobody agreed to profiling
    for role in ("read_only", "analyst", "support"):
        refused = client.get("/api/v1/segments/europe/export", headers=login(client, role))
        assert refused.status_code == 403, role


def test_bad_filters_names_and_parameters(europe: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    typo = client.post(
        "/api/v1/segments", headers=admin, json={"name": "t", "where": "contry = 'DE'"}
    )
    assert typo.status_code == 422
    assert "did you mean 'country'" in typo.json()["detail"]
    twice = client.post("/api/v1/segments", headers=admin, json={"name": "europe", "where": EUROPE})
    assert twice.status_code == 422
    assert "exists" in twice.json()["detail"]
    for method, path in (
        ("GET", "/api/v1/segments/nope"),
        ("POST", "/api/v1/segments/nope/refresh"),
        ("GET", "/api/v1/segments/nope/export"),
    ):
        answer = client.request(method, path, headers=admin)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    bad_purpose = client.get(
        "/api/v1/segments/europe/export", headers=admin, params={"purpose": "x;drop"}
    )
    assert bad_purpose.status_code == 422
    assert client.post("/api/v1/segments", headers=admin, json={"name": "x"}).status_code == 422
    cursor = client.get("/api/v1/segments/europe", headers=admin, params={"after": "zz"})
    assert cursor.status_code == 422
