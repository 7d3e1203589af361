"""The key vault: subject keys apart from the database, destroyed for good on erasure."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from rolodex.secure.crypto import DecryptionError, Keyring
from rolodex.secure.vault import KeyVault, vault_url
from rolodex.store.sealed import Sealer

EMAIL = "pii.email"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def vault(tmp_path: Path, keyring: Keyring) -> Iterator[KeyVault]:
    made = KeyVault(f"sqlite:///{tmp_path / 'keys.vault'}", lambda: keyring)
    yield made
    made.close()


def test_where_the_vault_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLODEX_VAULT", raising=False)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'crm' / 'rolodex.db'}"
    pg = "postgresql+psycopg://postgres@127.0.0.1/crm"
    # Beside a SQLite database, never inside it (a copy of rolodex.db* leaves it out).
    assert vault_url(None, database_url=db, key_file=None) == (
        f"sqlite:///{tmp_path / 'crm' / 'rolodex.vault'}"
    )
    # Beside the key file for a server database, else in the working directory.
    assert vault_url(None, database_url=pg, key_file=tmp_path / "keys" / "rolodex.key") == (
        f"sqlite:///{tmp_path / 'keys' / 'rolodex.vault'}"
    )
    assert vault_url(None, database_url=pg, key_file=None) == (
        f"sqlite:///{tmp_path / 'rolodex.vault'}"
    )
    # The setting, then the environment, win; URLs pass as they are.
    assert vault_url("v.db", database_url=pg, key_file=None) == f"sqlite:///{tmp_path / 'v.db'}"
    assert vault_url(pg + "_vault", database_url=db, key_file=None) == pg + "_vault"
    monkeypatch.setenv("ROLODEX_VAULT", str(tmp_path / "env.vault"))
    assert vault_url("v.db", database_url=db, key_file=None) == (
        f"sqlite:///{tmp_path / 'env.vault'}"
    )


def test_seal_open_and_shred(vault: KeyVault, keyring: Keyring, tmp_path: Path) -> None:
    ada, bob = vault.create(2)
    tokens = vault.seal_many(
        ["ada@example.org", "bob@example.org"], subjects=[ada, bob], context=EMAIL
    )
    assert [t.split(":")[1] for t in tokens if t] == [ada, bob]
    # Another process (nothing cached) opens them from the stored, wrapped keys.
    other = KeyVault(vault.url, lambda: keyring)
    assert other.open_many(tokens, context=EMAIL) == ["ada@example.org", "bob@example.org"]
    assert vault.destroy([ada, "never-made-subject"]) == 1
    assert vault.destroy([ada]) == 0  # already gone
    assert vault.counts() == {"live": 1, "destroyed": 1}
    fresh = KeyVault(vault.url, lambda: keyring)
    assert fresh.open_many(tokens, context=EMAIL) == [None, "bob@example.org"]
    with pytest.raises(DecryptionError, match="destroyed"):
        fresh.seal_many(["again"], subjects=[ada], context=EMAIL)
    other.close()
    fresh.close()


def test_a_subject_the_vault_never_held_is_an_error_not_erased_data(
    vault: KeyVault, keyring: Keyring, tmp_path: Path
) -> None:
    (ada,) = vault.create(1)
    token = vault.seal_many(["ada@example.org"], subjects=[ada], context=EMAIL)
    wrong = KeyVault(f"sqlite:///{tmp_path / 'other.vault'}", lambda: keyring)
    with pytest.raises(DecryptionError, match="does not hold the key of subject"):
        wrong.open_many(token, context=EMAIL)
    wrong.close()


def test_a_destroyed_key_leaves_no_copy_in_the_vault_files(vault: KeyVault) -> None:
    subjects = vault.create(50)
    with vault.engine.connect() as conn:
        rows = conn.execute(text("SELECT subject, wrapped FROM subject_key")).all()
    wrapped: dict[str, str] = {str(s): str(w) for s, w in rows}
    gone = subjects[:10]
    vault.destroy(gone)
    path = Path(vault.where)
    held = b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )
    for subject in gone:
        assert wrapped[subject].encode() not in held
        assert subject.encode() in held  # the tombstone
    for subject in subjects[10:]:
        assert wrapped[subject].encode() in held
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_sealer_with_a_vault_seals_each_row_under_its_own_subject(
    vault: KeyVault, keyring: Keyring
) -> None:
    from rolodex.secure.crypto import Cipher

    sealer = Sealer(Cipher(keyring), vault=vault)
    row = sealer.seal_row("contact", {"email": "ada@example.org", "phone": "+4930123456"})
    assert len(sealer.subjects("contact", [row])) == 1
    other = sealer.seal_row("contact", {"email": "bob@example.org"})
    assert sealer.subjects("contact", [row]) != sealer.subjects("contact", [other])
    values = sealer.seal("email", ["a@example.org", None, "c@example.org"])
    assert values[1] is None
    assert len({v.split(":")[1] for v in values if v}) == 2  # a subject per value
    assert sealer.open_row("contact", row)["email"] == "ada@example.org"
    assert sealer.open("email", values) == ["a@example.org", None, "c@example.org"]
    vault.destroy(sealer.subjects("contact", [row]))
    assert sealer.open_row("contact", row) == {"email": None, "phone": None}
    assert sealer.open_row("contact", other)["email"] == "bob@example.org"
