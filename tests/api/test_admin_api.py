"""Users, API keys and the audit log over HTTP: who may administer what, self-service keys
that cannot reach beyond their maker, and every permission change in the audit log."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rolodex.workspace import Workspace
from tests.api.conftest import PASSWORD, login


def _all(client: TestClient, path: str, headers: dict[str, str], cursor: str) -> list[Any]:
    items: list[Any] = []
    at = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({cursor: at} if at else {})}
        page = client.get(path, headers=headers, params=params).json()
        items += page["items"]
        at = page["next_cursor"]
        if at is None:
            return items


def test_admins_add_and_list_users(api_ws: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    made = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "Kim", "password": PASSWORD, "role": "sales", "team": "south"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["username"], made.json()["role"]) == ("kim", "sales")
    assert "password_hash" not in made.json()
    names = [u["username"] for u in _all(client, "/api/v1/users", admin, "after")]
    assert names == sorted(names)
    assert {"kim", "admin-user", "analyst-user"} <= set(names)
    kim = client.post("/api/v1/auth/login", json={"username": "kim", "password": PASSWORD})
    assert kim.status_code == 200
    weak = client.post(
        "/api/v1/users", headers=admin, json={"username": "lee", "password": "x", "role": "sales"}
    )
    assert weak.status_code == 422
    again = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "KIM", "password": PASSWORD, "role": "sales"},
    )
    assert again.status_code == 422
    # BUILTIN_ROLES: users read for admin and manager; create and update for admin only.
    manager = login(client, "manager")
    assert client.get("/api/v1/users", headers=manager).status_code == 200
    refused = client.post(
        "/api/v1/users",
        headers=manager,
        json={"username": "lee", "password": PASSWORD, "role": "admin"},
    )
    assert refused.status_code == 403
    for role in ("sales", "read_only", "analyst"):
        assert client.get("/api/v1/users", headers=login(client, role)).status_code == 403


def test_permission_changes_take_effect_and_are_audited(
    api_ws: Workspace, client: TestClient
) -> None:
    admin = login(client, "admin")
    sales = login(client, "sales")
    assert client.get("/api/v1/segments", headers=sales).status_code == 403
    changed = client.patch(
        "/api/v1/users/sales-user", headers=admin, json={"role": "marketing", "team": "south"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["team"]) == ("marketing", "south")
    # The same token now carries the new role: every request re-reads the user.
    assert client.get("/api/v1/segments", headers=sales).status_code == 200
    client.patch("/api/v1/users/sales-user", headers=admin, json={"team": None})
    off = client.patch("/api/v1/users/sales-user", headers=admin, json={"active": False})
    assert off.json()["is_active"] is False
    assert client.get("/api/v1/segments", headers=sales).status_code == 401
    audit = client.get("/api/v1/audit", headers=admin, params={"action": "user set"}).json()
    changes = [(e["action"], e["details"]) for e in audit["items"]]
    actions = [a for a, _ in changes]
    assert actions.count("user set-team") == 2
    assert "user set-role" in actions
    assert any('"to": "marketing"' in str(d) for a, d in changes if a == "user set-role")
    disabled = client.get("/api/v1/audit", headers=admin, params={"action": "user disable"})
    assert disabled.json()["items"][0]["actor"] == "admin-user"
    last = client.patch("/api/v1/users/admin-user", headers=admin, json={"role": "sales"})
    assert last.status_code == 422
    assert "last active admin" in last.json()["detail"]
    manager = login(client, "manager")
    denied = client.patch("/api/v1/users/support-user", headers=manager, json={"role": "admin"})
    assert denied.status_code == 403
    assert (
        client.patch("/api/v1/users/nobody", headers=admin, json={"team": "x"}).status_code == 404
    )
    assert client.patch("/api/v1/users/support-user", headers=admin, json={}).status_code == 422


def test_everyone_manages_their_own_keys_within_their_role(
    api_ws: Workspace, client: TestClient
) -> None:
    sales = login(client, "sales")
    made = client.post(
        "/api/v1/users/sales-user/apikeys",
        headers=sales,
        json={"name": "crm sync", "scopes": ["contacts:read"]},
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    key = made.json()["key"]
    keyed = {"X-API-Key": key}
    assert client.get("/api/v1/contacts", headers=keyed).status_code == 200
    assert client.get("/api/v1/companies", headers=keyed).status_code == 403  # not in scope
    # Beyond the role, for someone else, or wider than the key acting: refused.
    for who, scopes, headers in (
        ("sales-user", ["users:read"], sales),
        ("sales-user", ["contacts:*"], sales),  # sales may not delete contacts
        ("support-user", None, sales),
        ("sales-user", ["companies:read"], keyed),
    ):
        body: dict[str, Any] = {"name": "more", **({"scopes": scopes} if scopes else {})}
        answer = client.post(f"/api/v1/users/{who}/apikeys", headers=headers, json=body)
        assert answer.status_code == 403, (who, scopes, answer.text)
    inherited = client.post("/api/v1/users/sales-user/apikeys", headers=keyed, json={"name": "x"})
    assert inherited.json()["scopes"] == ["contacts:read"]  # a key cannot mint a wider one
    unknown = client.post(
        "/api/v1/users/sales-user/apikeys", headers=sales, json={"name": "x", "scopes": ["a:b"]}
    )
    assert unknown.status_code == 422
    mine = client.get("/api/v1/apikeys", headers=sales).json()["items"]
    assert {k["username"] for k in mine} == {"sales-user"}
    assert len(mine) == 2
    admin = login(client, "admin")
    theirs = client.post("/api/v1/users/support-user/apikeys", headers=admin, json={"name": "ops"})
    assert theirs.status_code == 201
    assert client.delete(f"/api/v1/apikeys/{theirs.json()['id']}", headers=sales).status_code == 404
    assert (
        client.get(
            "/api/v1/apikeys", headers=sales, params={"username": "support-user"}
        ).status_code
        == 403
    )
    revoked = client.delete(f"/api/v1/apikeys/{made.json()['id']}", headers=sales)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert client.get("/api/v1/contacts", headers=keyed).status_code == 401
    every = _all(client, "/api/v1/apikeys", admin, "after")
    assert {k["username"] for k in every} == {"sales-user", "support-user"}
    assert len(every) == 3
    assert "key" not in every[0]
    assert client.delete("/api/v1/apikeys/999999", headers=admin).status_code == 404
    assert client.delete("/api/v1/apikeys/0", headers=admin).status_code == 422


def test_audit_log_pages_and_verification(api_ws: Workspace, client: TestClient) -> None:
    admin = login(client, "admin")
    entries = _all(client, "/api/v1/audit", admin, "before")
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) >= 8  # the import, the resolve and seven users
    assert {"user add"} <= {e["action"] for e in entries}
    verified = client.get("/api/v1/audit/verify", headers=admin)
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    assert verified.json()["entries"] >= len(ids)
    # BUILTIN_ROLES: audit read for admin and manager; verifying (audit admin) for admin.
    manager = login(client, "manager")
    assert client.get("/api/v1/audit", headers=manager).status_code == 200
    assert client.get("/api/v1/audit/verify", headers=manager).status_code == 403
    for role in ("sales", "read_only", "analyst", "support", "marketing"):
        assert client.get("/api/v1/audit", headers=login(client, role)).status_code == 403, role
    assert client.get("/api/v1/audit", headers=admin, params={"before": 0}).status_code == 422
