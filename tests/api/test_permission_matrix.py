"""Every built-in role against one endpoint of every family, over HTTP: what each may read
is written out here by hand (from the role descriptions), not derived from the code."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import login

ROLES = ("admin", "manager", "sales", "marketing", "support", "analyst", "read_only")
# family: (endpoint, the roles that may read it)
MATRIX: dict[str, tuple[str, set[str]]] = {
    # The analyst sees only aggregates: no listing of people.
    "contacts": (
        "/api/v1/contacts",
        {"admin", "manager", "sales", "marketing", "support", "read_only"},
    ),
    "companies": ("/api/v1/companies", {"admin", "manager", "sales", "read_only"}),
    "orders": ("/api/v1/orders", {"admin", "manager", "sales", "support", "analyst", "read_only"}),
    "deals": ("/api/v1/deals", {"admin", "manager", "sales", "analyst", "read_only"}),
    "interactions": ("/api/v1/interactions", {"admin", "manager", "sales", "support", "read_only"}),
    "tickets": ("/api/v1/tickets", {"admin", "manager", "sales", "support", "read_only"}),
    "consents": (
        "/api/v1/consents",
        {"admin", "manager", "sales", "marketing", "support", "read_only"},
    ),
    "segments": ("/api/v1/segments", {"admin", "manager", "marketing", "analyst", "read_only"}),
    "imports": ("/api/v1/imports", {"admin", "manager", "read_only"}),
    "resolve": ("/api/v1/resolve/runs", {"admin", "manager", "read_only"}),
    "analytics": (
        "/api/v1/analytics/rfm",
        {"admin", "manager", "marketing", "analyst", "read_only"},
    ),
    "quality": ("/api/v1/quality", {"admin", "manager", "analyst", "read_only"}),
    "users": ("/api/v1/users", {"admin", "manager"}),
    "audit": ("/api/v1/audit", {"admin", "manager"}),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_families(client: TestClient, role: str) -> None:
    headers = login(client, role)
    reached = {}
    for family, (path, _) in MATRIX.items():
        status = client.get(path, headers=headers).status_code
        assert status in (200, 403, 422), f"{role} on {path}: {status}"
        reached[family] = status
    allowed = {family for family, status in reached.items() if status != 403}
    expected = {family for family, (_, roles) in MATRIX.items() if role in roles}
    assert allowed == expected


def test_refusals_are_problems_that_name_no_data(client: TestClient) -> None:
    answer = client.get("/api/v1/audit", headers=login(client, "support"))
    assert answer.status_code == 403
    body = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert body["status"] == 403
    assert "support" in body["detail"]
