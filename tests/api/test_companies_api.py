"""The companies endpoints: filtered pages, one company with its contacts, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import login

ACCOUNTS = (
    "Account ID,Account Name,Website,Industry,Billing Country,Employees\n"
    "A1,Acme Inc,acme.com,Manufacturing,US,120\n"
    "A2,Müller GmbH,mueller.de,Logistics,DE,40\n"
    "A3,Globex,globex.com,Energy,US,5000\n"
    "A4,Acme Labs,acmelabs.io,Research,GB,12\n"
)


@pytest.fixture
def firms(api_ws: Workspace, tmp_path: Path) -> Workspace:
    """The contacts file's workspace plus a CRM accounts export, resolved again so the
    contacts who work at Acme and Müller point at their companies."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS, encoding="utf-8")
    api_ws.import_file(accounts, source="crm", kind="companies")
    api_ws.resolve()
    return api_ws


def _names(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    answer = client.get("/api/v1/companies", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return [c["name"] for c in answer.json()["items"]]


def test_filters_and_pages_cover_every_company(firms: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    assert _names(client, admin) == ["Acme Inc", "Müller GmbH", "Globex", "Acme Labs"]
    assert _names(client, admin, name="acme") == ["Acme Inc", "Acme Labs"]
    assert _names(client, admin, name="%") == []  # a wildcard is just text
    assert _names(client, admin, country="us") == ["Acme Inc", "Globex"]
    assert _names(client, admin, domain="MUELLER.DE") == ["Müller GmbH"]
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"after": after} if after else {})}
        page = client.get("/api/v1/companies", headers=admin, params=params).json()
        seen += [c["name"] for c in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == _names(client, admin)


def test_one_company_with_its_contacts(firms: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    listed = client.get("/api/v1/companies", headers=admin, params={"name": "Acme Inc"}).json()
    acme = listed["items"][0]
    answer = client.get(f"/api/v1/companies/{acme['id']}", headers=admin)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["name"], body["domain"], body["contacts_count"]) == ("Acme Inc", "acme.com", 1)
    person = client.get(f"/api/v1/contacts/{body['contact_ids'][0]}", headers=admin).json()
    assert person["last_name"] == "Doe"
    # read_only sees the company too, and the contact count.
    seen = client.get(f"/api/v1/companies/{acme['id']}", headers=login(client, "read_only"))
    assert seen.status_code == 200
    assert seen.json()["contacts_count"] == 1


def test_roles_without_companies_are_refused(firms: Workspace, client: TestClient) -> None:
    # BUILTIN_ROLES: companies read for admin, manager, sales and read_only only.
    for role, status in (
        ("manager", 200),
        ("sales", 200),
        ("read_only", 200),
        ("marketing", 403),
        ("support", 403),
        ("analyst", 403),
    ):
        answer = client.get("/api/v1/companies", headers=login(client, role))
        assert answer.status_code == status, (role, answer.text)
        if status == 403:
            assert answer.json()["title"] == "Forbidden"


def test_sales_counts_only_their_teams_contacts(firms: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    acme = client.get("/api/v1/companies", headers=admin, params={"name": "Acme Inc"}).json()
    company_id = acme["items"][0]["id"]
    sales = login(client, "sales")
    assert (
        client.get(f"/api/v1/companies/{company_id}", headers=sales).json()["contact_ids"] == []
    )  # nobody owns Jane Doe yet
    jane = client.get(f"/api/v1/companies/{company_id}", headers=admin).json()["contact_ids"][0]
    firms.update_contact(jane, {"owner": "sales-user"})
    mine = client.get(f"/api/v1/companies/{company_id}", headers=sales).json()
    assert (mine["contacts_count"], mine["contact_ids"]) == (1, [jane])


def test_bad_ids_and_parameters_are_problems(firms: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    missing = client.get("/api/v1/companies/999999", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    for path in (
        "/api/v1/companies/0",
        "/api/v1/companies/x",
        "/api/v1/companies/99999999999999999999",
    ):
        assert client.get(path, headers=admin).status_code == 422
    bad_cursor = client.get("/api/v1/companies", headers=admin, params={"after": "nope"})
    assert bad_cursor.status_code == 422
    assert client.get("/api/v1/companies", headers=admin, params={"limit": 0}).status_code == 422
    nul = client.get("/api/v1/companies", headers=admin, params={"name": "a\x00b"})
    assert nul.status_code == 422  # PostgreSQL text cannot hold NUL: refused up front
    assert client.get("/api/v1/companies").status_code == 401
