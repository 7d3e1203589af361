"""GDPR: export of everything held about a person, erasure that leaves no trace in the
database files, suppression of re-imports, and retention of inactive data."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from rolodex.config import ImportSettings, PrivacySettings, RetentionPolicy, Settings
from rolodex.exceptions import ConfigError, NotFoundError
from rolodex.pipeline.privacy import (
    SUPPRESSED_REASON,
    find_subject,
    months_before,
)
from rolodex.secure.crypto import Cipher, Keyring
from rolodex.store.audit import entry_hash
from rolodex.store.sealed import Sealer, is_token
from rolodex.workspace import Workspace

CRM = "".join(
    [
        "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Street Address,"
        "City,Postal Code,Country/Region\n",
        "c1,Zebulon,Quixwell,zebulon.quixwell@gmail.com,+44 20 7946 0321,,"
        "7 Quillfeather Lane,London,NW1 6XE,United Kingdom\n",
        "c2,Robert,Smith,robert.smith@acme-tools.com,+1 415 555 0101,Acme Tools Inc.,"
        "100 Market St,San Francisco,94105,USA\n",
        "c3,John,Miller,john.miller@yahoo.com,+1 303 555 0177,,5 Elm Street,Denver,80203,USA\n",
        "c4,Mary,Miller,mary.miller@hotmail.com,+1 303 555 0177,,5 Elm Street,Denver,80203,USA\n",
        "c5,Alice,Wong,info@brightlabs.io,+1 212 555 0199,Bright Labs,1 Broadway,"
        "New York,10004,USA\n",
        "c6,Carl,Berg,info@brightlabs.io,+1 212 555 0199,Bright Labs,1 Broadway,New York,"
        "10004,USA\n",
        "c7,José,García,jose.garcia@gmail.com,+34 612 345 678,,Calle Mayor 5,Madrid,28013,Spain\n",
        "c8,Hans,Müller,hans.mueller@web.de,+49 30 1234567,Müller GmbH,Hauptstraße 3,"
        "Berlin,10115,Germany\n",
    ]
)
SHOP = "".join(
    [
        "Id,FirstName,LastName,Email,Phone,MailingStreet,MailingCity,MailingPostalCode,"
        "MailingCountry\n",
        "s1,ZEBULON,Quixwell,Zebulon.Quixwell@gmail.com,020 7946 0321,7 Quillfeather Ln,"
        "London,NW1 6XE,UK\n",
        "s2,Bob,Smith,robert.smith@acme-tools.com,(415) 555-0101,100 Market Street,"
        "San Francisco,94105,United States\n",
        "s3,Jose,Garcia,jose.garcia@gmail.com,612 345 678,Calle Mayor 5,Madrid,28013,ES\n",
        "s4,Johannes,Mueller,hans.mueller@web.de,030 1234567,Hauptstr. 3,Berlin,10115,DE\n",
        "s5,Peter,Novak,peter.novak@seznam.cz,+420 601 123 456,Vodičkova 1,Praha,11000,CZ\n",
    ]
)
ORDERS = """\
Order ID,Customer ID,Order Date,Total,Currency
o1,s1,2026-01-05,120.50,EUR
o2,s2,2026-02-11,80.00,USD
o3,s1,2026-03-01,15.25,EUR
"""
# What must be gone after the erasure, in every form the store could hold it.
TRACES = (
    "zebulon.quixwell@gmail.com",
    "Zebulon.Quixwell@gmail.com",
    "zebulon",
    "Zebulon",
    "ZEBULON",
    "quixwell",
    "Quixwell",
    "+442079460321",
    "+44 20 7946 0321",
    "020 7946 0321",
    "Quillfeather",
)
KEPT = ("Novak", "Smith")  # other people's names, which the store keeps in plaintext
KEPT_SEALED = ("robert.smith@acme-tools.com", "+14155550101")  # found through blind indexes


def hmac_hash(kind: str, value: str) -> str:
    """The suppression hash under the test run's keys (what the workspace computes)."""
    return Cipher(Keyring.from_env()).hash_for_suppression(value, kind=kind)


def _settings(*, retention: list[RetentionPolicy] | None = None) -> Settings:
    privacy = PrivacySettings(retention=retention or [])
    return Settings(
        db="sqlite:///unused.db", import_=ImportSettings(chunk_size=50), privacy=privacy
    )


def _files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, body in (("crm", CRM), ("shop", SHOP), ("orders", ORDERS)):
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(body, encoding="utf-8")
    return paths


def _load(ws: Workspace, files: dict[str, Path]) -> Workspace:
    ws.import_file(files["crm"], source="crm", kind="contacts")
    ws.import_file(files["shop"], source="shop", kind="contacts")
    ws.import_file(files["orders"], source="shop", kind="orders")
    ws.resolve()
    return ws


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return _files(tmp_path)


@pytest.fixture
def people(db_url: str, files: dict[str, Path]) -> Iterator[Workspace]:
    """Two sources that describe Zebulon Quixwell (merged by resolve), his orders, others."""
    ws = Workspace(db_url, settings=_settings(), actor="test")
    ws.init()
    yield _load(ws, files)
    ws.close()


def _query(ws: Workspace, sql: str, **params: object) -> list[tuple[object, ...]]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _contact_of(ws: Workspace, source: str, external_id: str) -> int:
    rows = _query(
        ws,
        "SELECT l.contact_id FROM contact_link l JOIN source_record r ON r.id = l.source_record_id"
        " JOIN source s ON s.id = r.source_id WHERE s.name = :s AND r.external_id = :e",
        s=source,
        e=external_id,
    )
    return int(str(rows[0][0]))


def audit_chain_holds(ws: Workspace) -> bool:
    """Recompute every audit entry's hash in id order, as `append_audit` made it."""
    prev = None
    for row in _query(
        ws,
        "SELECT occurred_at, actor, action, entity, entity_id, details, origin, prev_hash, hash"
        " FROM audit_log ORDER BY id",
    ):
        when = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(str(row[0]))
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        fields = dict(
            zip(
                ("actor", "action", "entity", "entity_id", "details", "origin"),
                row[1:7],
                strict=True,
            )
        )
        fields["occurred_at"] = when.isoformat(timespec="microseconds")
        if row[7] != prev or entry_hash(prev, fields) != row[8]:
            return False
        prev = str(row[8])
    return True


def _everything(ws: Workspace) -> str:
    """Every byte the store holds: the SQLite file and its WAL, or every PostgreSQL row."""
    if ws.engine.dialect.name == "sqlite":
        # Read while the workspace is open: closing it would checkpoint and drop the WAL,
        # hiding what an erasure left there.
        path = Path(ws.engine.url.database or "")
        found = b""
        for part in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-journal"),
        ):
            if part.exists():
                found += part.read_bytes()
        return found.decode("latin-1")
    with ws.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return "\n".join(
            str(row[0])
            for name in tables
            for row in conn.execute(text(f'SELECT t::text FROM "{name}" t'))
        )


def test_resolve_merged_the_two_spellings(people: Workspace) -> None:
    assert _contact_of(people, "crm", "c1") == _contact_of(people, "shop", "s1")


def test_export_holds_every_source_record_of_the_person(people: Workspace, tmp_path: Path) -> None:
    contact = _contact_of(people, "crm", "c1")
    done = people.privacy_export("ZEBULON.quixwell@gmail.com", tmp_path / "out")
    assert done.contacts == [contact]
    document = json.loads(done.files[0].read_text(encoding="utf-8"))
    sources = {(r["source"], r["external_id"]) for r in document["source_records"]}
    assert {("crm", "c1"), ("shop", "s1"), ("shop", "o1"), ("shop", "o3")} <= sources
    assert not any(r["external_id"] in ("c2", "s2", "o2") for r in document["source_records"])
    payloads = [r["payload"] for r in document["source_records"]]
    assert {"Record ID": "c1"}.items() <= next(p for p in payloads if "Record ID" in p).items()
    assert sorted(o["total_amount"] for o in document["orders"]) == [15.25, 120.5]
    # The golden record and the duplicate resolve merged into it.
    merged = {c["id"]: c["merged_into_id"] for c in document["contacts"]}
    assert merged.pop(contact) is None
    assert set(merged.values()) == {contact}
    assert {r["source_record_id"] for r in document["links"]} == {
        r["id"] for r in document["source_records"] if r["kind"] == "contacts"
    }
    # The CSV side: one file per section, formula-looking cells neutralized.
    with zipfile.ZipFile(done.files[1]) as archive:
        assert "source_records.csv" in archive.namelist()
        points = list(csv.DictReader(io.StringIO(archive.read("contact_points.csv").decode())))
    assert "'+442079460321" in {p["value"] for p in points}
    # Audited with counts only.
    details = _query(people, "SELECT details FROM audit_log WHERE action = 'privacy.export'")
    assert len(details) == 1
    assert "quixwell" not in str(details[0][0]).lower()


def test_export_by_phone_and_id_finds_the_same_person(people: Workspace) -> None:
    contact = _contact_of(people, "shop", "s1")
    with people.engine.connect() as conn:
        assert find_subject(conn, "+44 20 7946 0321") == [contact]
        assert find_subject(conn, f"contact:{contact}") == [contact]
        with pytest.raises(NotFoundError):
            find_subject(conn, "nobody@example.net")


def test_erase_leaves_no_trace_in_the_database(people: Workspace) -> None:
    contact = _contact_of(people, "crm", "c1")
    before = people.counts()
    shredded = people.vault.counts()["destroyed"]
    done = people.privacy_erase("zebulon.quixwell@gmail.com", reason="request 42 from Zebulon")
    assert done.contacts == [contact]
    assert done.scrubbed
    after = people.counts()
    assert before["source_record"] - after["source_record"] == 4  # c1, s1, o1, o3
    assert after["contact"] < before["contact"]
    # Orders keep their amounts and lose their person.
    orders = _query(
        people, 'SELECT total_amount, contact_id, source_record_id, external_id FROM "order"'
    )
    kept = {float(str(o[0])): o for o in orders}
    assert kept[120.5][1:3] == (None, None)
    assert str(kept[120.5][3]).startswith("erased-")
    assert kept[80.0][1] is not None
    # The keys of everything erased are destroyed in the vault (tombstones are left).
    assert done.keys_destroyed >= 4
    assert people.vault.counts()["destroyed"] - shredded == done.keys_destroyed
    entry = _query(people, "SELECT details FROM audit_log WHERE action = 'privacy.erase'")
    assert "request 42 from [erased]" in str(entry[0][0])
    assert audit_chain_holds(people)

    held = _everything(people)
    for trace in TRACES:
        assert trace not in held, trace
        assert trace.lower() not in held, trace
    for other in KEPT:
        assert other in held, other
    # Other people's emails and phones are held only as tokens, and still found.
    with people.engine.connect() as conn:
        for other in KEPT_SEALED:
            assert other not in held, other
            assert find_subject(conn, other) != [contact]


def _backup(ws: Workspace, tmp_path: Path) -> str:
    """Copy the workspace's database as a backup tool would; return the copy's URL."""
    if ws.engine.dialect.name == "sqlite":
        copy = tmp_path / "backup.db"
        with ws.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            target = sqlite3.connect(copy)
            raw.backup(target)
            target.close()
        return f"sqlite:///{copy}"
    url = ws.engine.url
    ws.close()  # a template database must have no connections
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"{url.database}_backup"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_backup(url: str) -> None:
    if url.startswith("postgresql"):
        parsed = make_url(url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_taken_before_the_erase_cannot_be_read_for_that_person(
    people: Workspace, tmp_path: Path
) -> None:
    contact = _contact_of(people, "crm", "c1")
    other = _contact_of(people, "crm", "c2")
    backup_url = _backup(people, tmp_path)
    try:
        people.privacy_erase("zebulon.quixwell@gmail.com", reason=None)
        # The backup still holds every row of the person, sealed, and the same keys and
        # vault are at hand: only the person's subject keys are gone.
        settings = _settings()
        settings.security.vault = people.vault_url
        with Workspace(backup_url, settings=settings, actor="test") as backup:
            sealer = backup.sealer
            mine = "('c1', 's1', 'o1', 'o3')"
            payloads = _query(
                backup, f"SELECT payload FROM source_record WHERE external_id IN {mine}"
            )
            assert len(payloads) == 4
            assert all(str(p).startswith("sub1:") for (p,) in payloads)
            assert sealer.open("payload", [p for (p,) in payloads]) == [None] * 4
            views = _query(
                backup,
                "SELECT v.email, v.phone, v.street FROM contact_record v JOIN source_record r"
                f" ON r.id = v.source_record_id WHERE r.external_id IN {mine}",
            )
            assert len(views) == 2
            for email, phone, street in views:
                assert sealer.open("email", [email]) == [None]
                assert sealer.open("phone", [phone]) == [None]
                assert sealer.open("street", [street]) == [None]
            golden = _query(backup, "SELECT email, phone FROM contact WHERE id = :c", c=contact)
            assert sealer.open("email", [golden[0][0]]) == [None]
            points = _query(
                backup,
                "SELECT kind, value FROM contact_point WHERE contact_id = :c",
                c=contact,
            )
            assert points
            opened = sealer.open_rows("contact_point", [{"kind": k, "value": v} for k, v in points])
            assert all(p["value"] is None for p in opened if p["kind"] != "social")
            # Everyone else in the backup reads as before.
            kept = _query(backup, "SELECT email, phone FROM contact WHERE id = :c", c=other)
            assert sealer.open("email", [kept[0][0]]) == ["robert.smith@acme-tools.com"]
            assert sealer.open("phone", [kept[0][1]]) == ["+14155550101"]
            rest = _query(
                backup, "SELECT payload FROM source_record WHERE external_id IN ('c2', 's2')"
            )
            assert all("Smith" in str(p) for p in sealer.open("payload", [p for (p,) in rest]))
            # And the master keys alone open nothing sealed under a subject key.
            with pytest.raises(ConfigError, match="no key vault"):
                Sealer(sealer.cipher, sealer.groups).open("email", [kept[0][0]])
    finally:
        _drop_backup(backup_url)


def _sealed_values(ws: Workspace, sql: str, **params: object) -> list[str]:
    """The sealed values among the rows `sql` selects."""
    return [str(v) for row in _query(ws, sql, **params) for v in row if is_token(v)]


def test_every_version_of_a_person_is_shredded_even_after_edits_and_rewrites(
    people: Workspace,
) -> None:
    """Golden values and contact points are rewritten by edits and resolve runs; each version
    is sealed under the key of the person's record it came from, so no copy of an older
    version (which a backup made in between would hold) survives the erasure."""
    contact = _contact_of(people, "crm", "c1")
    mine = (
        f"SELECT email, phone, birth_date FROM contact WHERE id = {contact};"
        f"SELECT value, street FROM contact_point WHERE contact_id = {contact}"
    )

    def versions() -> list[str]:
        return [v for sql in mine.split(";") for v in _sealed_values(people, sql)]

    held = versions()
    people.update_contact(contact, {"phone": "+44 20 7946 0999"})
    held += versions()
    people.resolve(full=True)
    held += versions()
    other = _contact_of(people, "crm", "c2")
    kept = _sealed_values(people, f"SELECT email, phone FROM contact WHERE id = {other}")
    assert len(set(held)) > len(versions())  # the edit and the rewrite made new tokens
    sealer = people.sealer
    phone = _sealed_values(people, f"SELECT phone FROM contact WHERE id = {contact}")
    assert sealer.open("phone", phone) == ["+442079460999"]
    people.privacy_erase("zebulon.quixwell@gmail.com", reason=None)
    # Shredded values open to None under any context (a live one would open, or fail on the
    # wrong context).
    assert all(t.startswith("sub1:") for t in held)
    assert sealer.open("email", held) == [None] * len(held)
    assert sealer.open("email", kept[:1]) == ["robert.smith@acme-tools.com"]


def test_without_suppression_a_reimport_is_a_new_person(
    people: Workspace, files: dict[str, Path]
) -> None:
    old = _contact_of(people, "crm", "c1")
    people.privacy_erase("zebulon.quixwell@gmail.com", reason=None)
    summary = people.import_file(files["crm"], source="crm", kind="contacts")
    assert summary.accepted == 1
    assert summary.unchanged == 7
    with people.engine.connect() as conn:
        again = find_subject(conn, "zebulon.quixwell@gmail.com")
    assert again != [old]
    assert len(again) == 1


def test_with_suppression_a_reimport_is_quarantined(
    people: Workspace, files: dict[str, Path]
) -> None:
    done = people.privacy_erase("+442079460321", suppress=True, reason="art. 17")
    assert done.suppressed >= 2  # the email and the phone
    hashes = {str(h) for (h,) in _query(people, "SELECT value_hash FROM suppression")}
    assert hmac_hash("email", "zebulon.quixwell@gmail.com") in hashes
    for name, source in (("crm", "crm"), ("shop", "shop")):
        summary = people.import_file(files[name], source=source, kind="contacts")
        assert summary.quarantined == 1
        assert summary.reconciles
        assert summary.problems[0].message == SUPPRESSED_REASON
    with people.engine.connect() as conn, pytest.raises(NotFoundError):
        find_subject(conn, "zebulon.quixwell@gmail.com")


def test_suppression_needs_the_workspace_keys(
    db_url: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        ws.init()
        _load(ws, files)
        ws.privacy_erase("zebulon.quixwell@gmail.com", suppress=True)
    # Without keys, someone suppressed cannot be checked for: the import says so, and
    # imports nothing rather than letting the person back in.
    monkeypatch.delenv("ROLODEX_KEYS")
    monkeypatch.setenv("ROLODEX_KEY_FILE", str(tmp_path / "missing.key"))
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        before = ws.counts()["source_record"]
        with pytest.raises(ConfigError, match="keys"):
            ws.import_file(files["crm"], source="crm", kind="contacts")
        assert ws.counts()["source_record"] == before


def test_retention_dry_run_then_real_run(db_url: str, files: dict[str, Path]) -> None:
    policies = [
        RetentionPolicy(kind="orders", months=12, action="anonymize"),
        RetentionPolicy(kind="contacts", months=24, action="delete", source="shop"),
    ]
    now = datetime(2027, 2, 1, tzinfo=UTC) + (datetime.now(UTC) - datetime(2026, 1, 1, tzinfo=UTC))
    with Workspace(db_url, settings=_settings(retention=policies), actor="test") as ws:
        ws.init()
        _load(ws, files)
        cutoff = months_before(now, 12)
        expected_orders = sum(
            1
            for line in ORDERS.splitlines()[1:]
            if datetime.fromisoformat(line.split(",")[2]).replace(tzinfo=UTC) < cutoff
        )
        before = _query(ws, 'SELECT count(*) FROM "order" WHERE contact_id IS NOT NULL')
        dry = ws.privacy_retention(dry_run=True, now=now)
        assert dry.rows["orders:12m"] == expected_orders
        assert _query(ws, 'SELECT count(*) FROM "order" WHERE contact_id IS NOT NULL') == before

        # Far enough ahead that nobody is active: only people the shop alone knows go.
        later = datetime(2040, 1, 1, tzinfo=UTC)
        gone = ws.privacy_retention(dry_run=False, now=later)
        assert gone.contacts["contacts@shop:24m"] == 1
        with ws.engine.connect() as conn:
            with pytest.raises(NotFoundError):
                find_subject(conn, "peter.novak@seznam.cz")
            assert find_subject(conn, "robert.smith@acme-tools.com")
        assert _query(ws, 'SELECT count(*) FROM "order" WHERE contact_id IS NOT NULL') == [(0,)]
        assert _query(ws, 'SELECT count(*) FROM "order"') == [(3,)]
        # Rows anonymised once are not counted again.
        assert ws.privacy_retention(dry_run=True, now=later).rows["orders:12m"] == 0
        assert audit_chain_holds(ws)


def test_months_before_clamps_to_the_end_of_the_month() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
