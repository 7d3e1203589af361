"""Orders, interactions, tickets, consents and deals over HTTP: pages by contact and time,
row scope, masking of free text by role, and consent decisions with their history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import login

SAMPLE = Path(__file__).parents[2] / "src" / "rolodex" / "sample" / "data"

INTERACTIONS = (
    "Activity ID,Email,Activity Type,Activity Date,Subject,Outcome\n"
    "I1,jane.doe@example.com,call,2024-03-01 10:00,Asked about her invoice,connected\n"
    "I2,jane.doe@example.com,email,2024-05-01 09:00,Renewal offer,sent\n"
    "I3,juergen@mueller.de,meeting,2024-04-15 14:00,Quarterly review,held\n"
)
DEALS = (
    "Opportunity ID,Opportunity Name,Contact ID,Stage,Amount,Probability (%),Close Date,"
    "Opportunity Owner\n"
    "O1,Acme renewal,C001,Negotiation,12000,60,2024-06-30,sales-user\n"
    "O2,Müller pilot,C002,Prospecting,5000,10,2024-09-30,someone-else\n"
)


@pytest.fixture
def shop(api_ws: Workspace, tmp_path: Path) -> Workspace:
    """The contacts file plus the sample shop's customers, orders (with lines) and Zendesk
    tickets, a CRM's activities and deals, all resolved."""
    api_ws.import_file(SAMPLE / "shop_customers.csv", source="shop", kind="contacts")
    api_ws.import_file(SAMPLE / "shop_orders.csv", source="shop", kind="orders")
    api_ws.import_file(SAMPLE / "support_tickets.csv", source="zendesk", kind="tickets")
    for name, text, kind in (
        ("activities.csv", INTERACTIONS, "interactions"),
        ("deals.csv", DEALS, "deals"),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
        api_ws.import_file(tmp_path / name, source="crm", kind=kind)
    api_ws.resolve()
    return api_ws


def _get(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> Any:
    answer = client.get(f"/api/v1{path}", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _all(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    items: list[Any] = []
    after = None
    while True:
        page = _get(client, path, headers, **params, **({"after": after} if after else {}))
        items += page["items"]
        after = page["next_cursor"]
        if after is None:
            return items


def _jane(client: TestClient, headers: dict[str, str]) -> int:
    found = _get(client, "/contacts/search", headers, q="jane.doe@example.com")
    return int(found["items"][0]["id"])


def test_order_pages_cover_every_order_once(shop: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    orders = _all(client, "/orders", admin, limit=500)
    paged = _all(client, "/orders", admin, limit=97)
    assert [o["id"] for o in paged] == [o["id"] for o in orders]
    assert len(orders) == shop.counts()["order"] > 1000
    one = next(o for o in orders if o["external_id"] == "5611075044179")  # order #1001
    detail = _get(client, f"/orders/{one['id']}", admin)
    assert detail["total_amount"] == pytest.approx(29.80)
    assert [(line["sku"], line["quantity"]) for line in detail["lines"]] == [("TEE-ORG-M", 1)]


def test_filters_by_contact_and_time(shop: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    jane = _jane(client, admin)
    mine = _get(client, "/interactions", admin, contact_id=jane)["items"]
    assert sorted(i["subject"] for i in mine) == ["Asked about her invoice", "Renewal offer"]
    spring = _get(client, "/interactions", admin, since="2024-04-01", until="2024-05-01")
    assert [i["subject"] for i in spring["items"]] == ["Quarterly review"]
    tickets = _all(client, "/tickets", admin, since="2024-01-01T00:00:00Z", limit=500)
    assert tickets
    assert all(t["opened_at"] >= "2024-01-01" for t in tickets)
    assert len(tickets) < shop.counts()["ticket"]
    deals = _get(client, "/deals", admin, until="2024-07-01")["items"]
    assert [d["name"] for d in deals] == ["Acme renewal"]
    wrong = client.get(
        "/api/v1/orders", headers=admin, params={"since": "2024-05-01", "until": "2024-01-01"}
    )
    assert wrong.status_code == 422
    assert "until" in wrong.json()["detail"]


def test_ticket_subjects_follow_the_role(shop: Workspace, client: TestClient) -> None:
    # support and manager are granted ticket text in full; read_only never sees free text.
    subjects = {}
    for role in ("admin", "support", "manager", "read_only"):
        first = _get(client, "/tickets", login(client, role), limit=1)["items"][0]
        subjects[role] = first.get("subject")
        assert first["status"]
    assert subjects["admin"] == subjects["support"] == subjects["manager"]
    assert subjects["admin"]
    assert subjects["read_only"] is None
    notes = _get(client, "/interactions", login(client, "read_only"))["items"]
    assert notes
    assert all("subject" not in i for i in notes)


def test_who_may_read_what(shop: Workspace, client: TestClient) -> None:
    # From BUILTIN_ROLES: marketing reads no orders, tickets, interactions or deals; the
    # analyst reads orders and deals (no personal fields) but no tickets, interactions
    # or consents; support reads no deals.
    expected = {
        "marketing": {
            "orders": 403,
            "tickets": 403,
            "interactions": 403,
            "deals": 403,
            "consents": 200,
        },
        "analyst": {
            "orders": 200,
            "tickets": 403,
            "interactions": 403,
            "deals": 200,
            "consents": 403,
        },
        "support": {
            "orders": 200,
            "tickets": 200,
            "interactions": 200,
            "deals": 403,
            "consents": 200,
        },
        "read_only": {
            "orders": 200,
            "tickets": 200,
            "interactions": 200,
            "deals": 200,
            "consents": 200,
        },
    }
    for role, statuses in expected.items():
        headers = login(client, role)
        for kind, status in statuses.items():
            answer = client.get(f"/api/v1/{kind}", headers=headers, params={"limit": 1})
            assert answer.status_code == status, (role, kind, answer.text)


def test_sales_sees_only_their_teams_rows(shop: Workspace, client: TestClient) -> None:
    admin, sales = login(client, "admin"), login(client, "sales")
    jane = _jane(client, admin)
    assert _get(client, "/interactions", sales)["items"] == []
    deals = _get(client, "/deals", sales)["items"]
    assert [d["name"] for d in deals] == ["Acme renewal"]  # owned by sales-user
    shop.update_contact(jane, {"owner": "sales-user"})
    seen = _get(client, "/interactions", sales)["items"]
    assert {i["contact_id"] for i in seen} == {jane}
    assert len(seen) == 2
    hidden = _all(client, "/orders", admin, limit=500)
    other = next(o for o in hidden if o["contact_id"] not in (None, jane))
    assert client.get(f"/api/v1/orders/{other['id']}", headers=sales).status_code == 404


def test_consents_keep_history_and_the_latest_wins(shop: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    jane = _jane(client, admin)
    for status, when in (
        ("granted", "2024-01-01T10:00:00"),
        ("withdrawn", "2024-02-01"),
        ("granted", "2023-12-01"),
    ):
        answer = client.post(
            "/api/v1/consents",
            headers=admin,
            json={
                "contact_id": jane,
                "purpose": "marketing_email",
                "status": status,
                "occurred_at": when,
                "proof": "198.51.100.7",
            },
        )
        assert answer.status_code == 201, answer.text
    client.post(
        "/api/v1/consents",
        headers=admin,
        json={"contact_id": jane, "purpose": "profiling", "status": "granted"},
    )
    found = _get(client, f"/contacts/{jane}/consents", admin)
    latest = {c["purpose"]: c["status"] for c in found["latest"]}
    assert latest == {"marketing_email": "withdrawn", "profiling": "granted"}
    assert found["history_count"] == 4
    assert "198.51.100.7" in found["history"][1]["proof"]
    # support reads consents but not the proof (free text).
    support = _get(client, f"/contacts/{jane}/consents", login(client, "support"))
    assert support["latest"]
    assert all("proof" not in c for c in support["history"])
    # Only admin and manager may record consents.
    refused = client.post(
        "/api/v1/consents",
        headers=login(client, "support"),
        json={"contact_id": jane, "purpose": "profiling", "status": "withdrawn"},
    )
    assert refused.status_code == 403
    bad = client.post(
        "/api/v1/consents",
        headers=admin,
        json={"contact_id": jane, "purpose": "x", "status": "maybe"},
    )
    assert bad.status_code == 422
    nobody = client.post(
        "/api/v1/consents",
        headers=admin,
        json={"contact_id": 999999, "purpose": "x", "status": "granted"},
    )
    assert nobody.status_code == 404


def test_reads_are_audited_and_bad_ids_are_problems(shop: Workspace, client: TestClient) -> None:
    support = login(client, "support")
    tickets = _get(client, "/tickets", support, limit=3)["items"]
    client.app.state.workspace.read_log.stop()  # type: ignore[attr-defined]  # all written
    reads = shop.audit_entries(limit=50, action="ticket.read", actor="support-user")
    assert {int(e["entity_id"]) for e in reads} == {t["id"] for t in tickets}
    admin = login(client, "admin")
    assert client.get("/api/v1/orders/999999", headers=admin).status_code == 404
    assert client.get("/api/v1/contacts/999999/consents", headers=admin).status_code == 404
    for path, params in (
        ("/api/v1/orders/0", {}),
        ("/api/v1/orders", {"contact_id": "x"}),
        ("/api/v1/orders", {"since": "yesterday"}),
        ("/api/v1/tickets", {"after": "bogus"}),
        ("/api/v1/deals", {"limit": 501}),
    ):
        answer = client.get(path, headers=admin, params=params)
        assert answer.status_code == 422, (path, params)
        assert answer.json()["status"] == 422
