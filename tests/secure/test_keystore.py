"""Key files: made once, rotated atomically, re-read by running processes, values rewrapped."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from rolodex import Workspace
from rolodex.cli.main import app
from rolodex.exceptions import ConfigError
from rolodex.secure.keystore import KeyStore, configured_key_file, init_key_file, rotate_key_file
from rolodex.secure.vault import KeyVault


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key file named by ROLODEX_KEY_FILE (and no inline keys)."""
    monkeypatch.delenv("ROLODEX_KEYS")
    path = tmp_path / "keys.txt"
    init_key_file(path)
    monkeypatch.setenv("ROLODEX_KEY_FILE", str(path))
    monkeypatch.setenv("ROLODEX_VAULT", str(tmp_path / "keys.vault"))  # a vault per keyring
    return path


def test_the_key_source_follows_the_documented_order(tmp_path: Path) -> None:
    assert configured_key_file(None, environ={"ROLODEX_KEYS": "k1:x"}) is None
    assert configured_key_file(None, environ={"ROLODEX_KEY_FILE": "/k"}) == Path("/k")
    assert configured_key_file(tmp_path / "a", environ={}) == tmp_path / "a"
    assert configured_key_file(None, environ={}) == Path("rolodex.key")


def test_missing_keys_give_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    store = KeyStore(key_file=tmp_path / "nope.key", environ={})
    assert not store.available
    with pytest.raises(ConfigError, match="rolodex keys init"):
        store.cipher()


def test_rotation_is_atomic_keeps_old_keys_and_reaches_a_running_store(key_file: Path) -> None:
    store = KeyStore(environ={"ROLODEX_KEY_FILE": str(key_file)})
    before = store.cipher()
    token = before.encrypt("jane@example.com", context="contact.email")
    index = before.blind_index("jane@example.com", field="email")
    rotate_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    os.utime(key_file, (1, 1))  # a changed stamp, whatever the clock resolution
    time.sleep(1.05)  # the store looks at the file at most once a second
    after = store.cipher()
    assert after.keyring.current_id == "k2"
    assert after.keyring.key_ids == ("k2", "k1")
    assert after.decrypt(token, context="contact.email") == "jane@example.com"
    assert after.needs_rotation(token)
    assert after.blind_index("jane@example.com", field="email") == index


def test_keys_rotate_rewraps_subject_keys_and_is_audited(key_file: Path, sqlite_url: str) -> None:
    ws = Workspace(sqlite_url, actor="test")
    ws.init()
    sealer = ws.sealer
    token = sealer.seal_one("email", "ada@example.org")
    assert str(token).startswith("sub1:")
    current, done = ws.keys_rotate()
    assert current == "k2"
    assert done.rewritten["vault.subject_key"] == done.checked["vault.subject_key"] == 1
    with ws.vault.engine.connect() as conn:
        wrapped = conn.execute(text("SELECT wrapped FROM subject_key")).scalar_one()
    assert wrapped.startswith("wk1:k2:")
    fresh = KeyVault(ws.vault_url, ws.keys.keyring)  # nothing cached: the key is unwrapped
    assert fresh.open_many([token], context="pii.email") == ["ada@example.org"]
    _, again = ws.keys_rotate()
    assert again.rewritten["vault.subject_key"] == 1
    assert [e["action"] for e in ws.audit_entries(action="keys.")] == ["keys.rotate"] * 2
    assert ws.audit_verify().ok
    fresh.close()
    ws.close()


def test_cli_init_makes_a_private_key_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROLODEX_KEYS")
    monkeypatch.delenv("ROLODEX_VAULT")  # the default: beside the database
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(app, ["init"])
    assert made.exit_code == 0, made.output
    assert "rolodex.key" in made.stdout
    key = tmp_path / "rolodex.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_text()
    again = runner.invoke(app, ["keys", "init"])
    assert again.exit_code == 0
    assert "already configured" in again.stdout
    assert key.read_text() == first
    status = runner.invoke(app, ["keys", "status", "--json"])
    assert '"current": "k1"' in status.stdout
    assert json.loads(status.stdout)["subject_keys"] == {"live": 0, "destroyed": 0}
    assert json.loads(status.stdout)["vault"] == str(tmp_path / "rolodex.vault")
    assert first.split("k1:")[1][:20] not in status.stdout  # never the key itself
    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "k2" in rotated.stdout


def test_cli_rotate_refuses_inline_keys_but_prints_the_new_value(sqlite_url: str) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["--db", sqlite_url, "keys", "rotate"])
    assert refused.exit_code == 2
    assert "ROLODEX_KEYS" in refused.output
    printed = runner.invoke(app, ["keys", "rotate", "--print"])
    assert printed.exit_code == 0
    assert printed.stdout.startswith("k2:")
