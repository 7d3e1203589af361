"""`rolodex user ...` and `rolodex apikey ...` against a temporary SQLite workspace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rolodex.cli.main import app
from rolodex.secure.auth import AuthenticationError
from rolodex.workspace import Workspace

PASSWORD = "violet tram under 7 bridges"
SECRET = b"k" * 32


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, db: str, *args: str, stdin: str | None = None, code: int = 0) -> Any:
    result = runner.invoke(app, ["--db", db, *args], input=stdin)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


def add(runner: CliRunner, db: str, name: str, role: str, *extra: str) -> Any:
    return run(
        runner, db, "user", "add", name, "--role", role, "--password-stdin", *extra, stdin=PASSWORD
    )


def test_first_admin_from_stdin_then_sign_in(runner: CliRunner, sqlite_url: str) -> None:
    assert run(runner, sqlite_url, "user", "list", "--json") == []
    result = add(runner, sqlite_url, "Alice", "admin", "--team", "emea", "--name", "Alice A.")
    assert "Added user 'alice'" in result.stdout
    assert PASSWORD not in result.output
    users = run(runner, sqlite_url, "user", "list", "--json")
    assert [(u["username"], u["role"], u["team"], u["display_name"]) for u in users] == [
        ("alice", "admin", "emea", "Alice A.")
    ]
    with Workspace(sqlite_url) as ws:
        token, user = ws.login("alice", PASSWORD, secret=SECRET)
        assert ws.authenticate(token.token, secret=SECRET).username == "alice"
        assert user.role == "admin"


def test_password_from_the_hidden_prompt_asked_twice(runner: CliRunner, sqlite_url: str) -> None:
    run(runner, sqlite_url, "user", "add", "bob", "--role", "sales", stdin=f"{PASSWORD}\n" * 2)
    with Workspace(sqlite_url) as ws:
        assert ws.login("bob", PASSWORD, secret=SECRET)[1].username == "bob"


def test_password_is_never_an_option_value(runner: CliRunner, sqlite_url: str) -> None:
    run(runner, sqlite_url, "user", "add", "bob", "--role", "sales", "--password", PASSWORD, code=2)


def test_weak_password_and_unknown_role_fail_with_a_message(
    runner: CliRunner, sqlite_url: str
) -> None:
    weak = run(
        runner,
        sqlite_url,
        *("user", "add", "bob", "--role", "sales", "--password-stdin"),
        stdin="short",
        code=2,
    )
    assert "at least 12" in weak.stderr
    bad_role = run(
        runner,
        sqlite_url,
        *("user", "add", "bob", "--role", "wizard", "--password-stdin"),
        stdin=PASSWORD,
        code=2,
    )
    assert "unknown role 'wizard'" in bad_role.stderr


def test_set_role_disable_and_enable(runner: CliRunner, sqlite_url: str) -> None:
    add(runner, sqlite_url, "root", "admin")
    add(runner, sqlite_url, "bob", "sales")
    assert "role manager" in run(runner, sqlite_url, "user", "set-role", "bob", "manager").stdout
    run(runner, sqlite_url, "user", "disable", "bob")
    users = {u["username"]: u for u in run(runner, sqlite_url, "user", "list", "--json")}
    assert (users["bob"]["role"], users["bob"]["is_active"]) == ("manager", False)
    with Workspace(sqlite_url) as ws, pytest.raises(AuthenticationError, match="disabled"):
        ws.login("bob", PASSWORD, secret=SECRET)
    run(runner, sqlite_url, "user", "enable", "bob")
    last = run(runner, sqlite_url, "user", "disable", "root", code=2)
    assert "last active admin" in last.stderr
    missing = run(runner, sqlite_url, "user", "disable", "nobody", code=2)
    assert "no user named 'nobody'" in missing.stderr


def test_apikey_is_shown_once_and_can_be_revoked(runner: CliRunner, sqlite_url: str) -> None:
    add(runner, sqlite_url, "alice", "analyst")
    created = run(
        runner,
        sqlite_url,
        *("apikey", "create", "--user", "alice", "--name", "bi tool"),
        *("--scope", "contacts:read", "--scope", "segments:read", "--expires-days", "30"),
    )
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("rdx_")
    assert "cannot be shown again" in created.stderr
    listed = run(runner, sqlite_url, "apikey", "list", "--json")
    assert len(listed) == 1
    assert key not in json.dumps(listed)
    assert listed[0]["scopes"] == ["contacts:read", "segments:read"]
    assert listed[0]["status"] == "active"
    assert listed[0]["expires_at"] is not None
    assert key not in run(runner, sqlite_url, "apikey", "list").stdout
    with Workspace(sqlite_url) as ws:
        found = ws.authenticate(key, secret=SECRET)
    assert (found.username, found.scopes) == (
        "alice",
        frozenset({"contacts:read", "segments:read"}),
    )
    run(runner, sqlite_url, "apikey", "revoke", listed[0]["prefix"])
    assert run(runner, sqlite_url, "apikey", "list", "--json")[0]["status"] == "revoked"
    with Workspace(sqlite_url) as ws, pytest.raises(AuthenticationError, match="revoked"):
        ws.authenticate(key, secret=SECRET)


def test_apikey_errors(runner: CliRunner, sqlite_url: str) -> None:
    add(runner, sqlite_url, "alice", "analyst")
    bad = run(
        runner,
        sqlite_url,
        *("apikey", "create", "--user", "alice", "--name", "x", "--scope", "everything"),
        code=2,
    )
    assert "unknown API key scope 'everything'" in bad.stderr
    assert "no API key" in run(runner, sqlite_url, "apikey", "revoke", "42", code=2).stderr
    as_json = run(
        runner, sqlite_url, "apikey", "create", "--user", "alice", "--name", "ci", "--json"
    )
    assert as_json["key"].startswith(f"rdx_{as_json['prefix']}_")
    assert as_json["scopes"] is None
    run(runner, sqlite_url, "apikey", "revoke", str(as_json["id"]))
