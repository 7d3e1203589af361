"""Encryption at rest: after every kind of write (import, clean, resolve, merge and unmerge,
API create and update), neither the SQLite file nor any PostgreSQL row holds the plaintext
of an encrypted field, while search, the 360 view and exports still show the values; key
rotation and sealing a plaintext store keep everything readable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import inspect, text

from rolodex.config import EncryptedKind, ImportSettings, SecuritySettings, Settings
from rolodex.secure.crypto import ENV_KEY_FILE, ENV_KEYS
from rolodex.store.sealed import DEFAULT_GROUPS, GROUPS, is_token
from rolodex.workspace import Workspace

CRM = "".join(
    [
        "Record ID,First Name,Last Name,Email,Phone Number,Street Address,City,Postal Code,"
        "Country,Date of Birth\n",
        "c1,Zebulon,Quixwell,Zebulon.Quixwell@gmail.com,+44 20 7946 0321,7 Quillfeather Lane,"
        "London,NW1 6XE,United Kingdom,1971-04-19\n",
        "c2,Ottilie,Brandvold,ottilie.brandvold@fjordmail.no,+47 412 34 567,Skippergata 33,"
        "Oslo,0154,Norway,1988-11-02\n",
        "c3,Idris,Okonkwo,idris@okonkwo-design.ng,+1 415 555 0188,4410 Larkspur Terrace,"
        "San Francisco,94110,USA,1979-02-27\n",
    ]
)
SHOP = """\
Id,FirstName,LastName,Email,Phone,HomePhone,MailingStreet,MailingCity,MailingPostalCode,MailingCountry
s1,ZEBULON,Quixwell,zebulon.quixwell@gmail.com,020 7946 0321,,7 Quillfeather Ln,London,NW1 6XE,UK
s2,Ottilie,Brandvold,ottilie.brandvold@fjordmail.no,412 34 567,22987654,Skippergata 33,Oslo,0154,NO
"""
ORDERS = """\
Order ID,Customer Email,Order Date,Total
o1,zebulon.quixwell@gmail.com,2026-01-05,120.50
o2,ottilie.brandvold@fjordmail.no,2026-02-11,80.00
"""
# Every form in which the values above could have been stored.
SECRETS = (
    "zebulon.quixwell@gmail.com",
    "quixwell@gmail",
    "ottilie.brandvold@fjordmail.no",
    "idris@okonkwo-design.ng",
    "margarethe.vinterberg@polarpost.se",
    "+442079460321",
    "7946 0321",
    "+4741234567",
    "412 34 567",
    "+4722987654",  # a second phone (other_phone)
    "22987654",
    "+14155550188",
    "555 0188",
    "+46701234567",
    "+46709876543",
    "Quillfeather",
    "Skippergata",
    "Larkspur",
    "Vinterbergsvägen",
    "1971-04-19",
    "1988-11-02",
    "1979-02-27",
    "1966-08-30",
)


def _raw(ws: Workspace) -> str:
    """Every byte the store holds: the SQLite file with its WAL, or every PostgreSQL row."""
    if ws.engine.dialect.name == "sqlite":
        path = Path(ws.engine.url.database or "")
        found = b""
        for part in (path, path.with_name(path.name + "-wal")):
            if part.exists():
                found += part.read_bytes()
        return found.decode("latin-1")
    with ws.engine.connect() as conn:
        return "\n".join(
            str(row[0])
            for name in inspect(conn).get_table_names()
            for row in conn.execute(text(f'SELECT t::text FROM "{name}" t'))
        )


def _settings(**security: object) -> Settings:
    return Settings(
        db="sqlite:///unused.db",
        import_=ImportSettings(chunk_size=2),
        security=SecuritySettings.model_validate(security),
    )


def _load(ws: Workspace, tmp_path: Path) -> None:
    for name, body in (("crm", CRM), ("shop", SHOP), ("orders", ORDERS)):
        (tmp_path / f"{name}.csv").write_text(body, encoding="utf-8")
    ws.import_file(tmp_path / "crm.csv", source="crm", kind="contacts")
    ws.import_file(tmp_path / "shop.csv", source="shop", kind="contacts")
    ws.import_file(tmp_path / "orders.csv", source="shop", kind="orders")
    ws.resolve()


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        ws.init()
        _load(ws, tmp_path)
        yield ws


def _contact_by_email(ws: Workspace, email: str) -> dict[str, Any]:
    found = ws.search(email)["items"]
    assert len(found) == 1, found
    return ws.contact(int(found[0]["id"]))


def test_no_plaintext_of_encrypted_fields_after_every_kind_of_write(
    store: Workspace, tmp_path: Path
) -> None:
    zebulon = _contact_by_email(store, "ZEBULON.QUIXWELL@gmail.com")
    assert zebulon["email"] == "zebulon.quixwell@gmail.com"
    assert zebulon["birth_date"] == "1971-04-19"
    points = {(p["kind"], p["value"]) for p in zebulon["contact_points"]}
    assert ("phone", "+442079460321") in points
    # API create, update, merge and unmerge, a re-clean: each writes personal data again.
    made = store.create_contacts(
        [
            {
                "first_name": "Margarethe",
                "last_name": "Vinterberg",
                "email": "margarethe.vinterberg@polarpost.se",
                "phone": "+46 70 123 45 67",
                "street": "Vinterbergsvägen 12",
                "city": "Stockholm",
                "country": "SE",
                "birth_date": "1966-08-30",
            }
        ]
    )
    assert made[0].contact_id is not None
    created = made[0].contact_id
    store.update_contact(created, {"phone": "+46 70 987 65 43"})
    assert _contact_by_email(store, "+46 70 987 65 43")["id"] == created
    ottilie = _contact_by_email(store, "ottilie.brandvold@fjordmail.no")
    assert ("phone", "+4722987654") in {(p["kind"], p["value"]) for p in ottilie["contact_points"]}
    idris = _contact_by_email(store, "idris@okonkwo-design.ng")
    merged = store.merge(int(ottilie["id"]), int(idris["id"]), reason="test")
    assert merged
    record = next(
        int(r["source_record_id"])
        for r in store.contact(int(ottilie["id"]))["lineage"]["records"]
        if r["external_id"] == "c3"
    )
    store.unmerge(int(ottilie["id"]), record, reason="test")
    store.clean()
    exported = tmp_path / "contacts.csv"
    store.export("contacts", exported)
    assert "margarethe.vinterberg@polarpost.se" in exported.read_text(encoding="utf-8")

    held = _raw(store)
    for secret in SECRETS:
        assert secret not in held, secret
        assert secret.lower() not in held.lower(), secret
    # Names stay searchable by default: they are stored in the clear.
    assert "Vinterberg" in held


def test_stored_values_are_tokens_and_lookups_use_blind_indexes(store: Workspace) -> None:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT email, phone, street, birth_date, email_key, email_index"
                " FROM contact_record"
            )
        ).all()
        points = conn.execute(text("SELECT kind, value, value_index FROM contact_point")).all()
        payloads = conn.execute(text("SELECT payload FROM source_record")).all()
    assert rows
    for email, phone, street, birth, key, index in rows:
        for value in (email, phone, street, birth, key):
            assert value is None or is_token(value), value
        assert (email is None) == (index is None)
    for kind, value, index in points:
        if kind in ("email", "phone", "address"):
            assert is_token(value), (kind, value)
        assert (index is not None) == (kind in ("email", "phone"))
    assert all(is_token(p) for (p,) in payloads)


def test_rotation_and_sealing_keep_everything_readable(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KEYS)
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "rolodex.key"))
    monkeypatch.setenv("ROLODEX_VAULT", str(tmp_path / "rolodex.vault"))  # a vault per keyring
    # First without encryption: the store holds plaintext ...
    with Workspace(db_url, settings=_settings(encrypt=[]), actor="test") as ws:
        ws.init()
        assert ws.keys_init() is not None
        _load(ws, tmp_path)
        assert "Skippergata" in _raw(ws)
        assert _contact_by_email(ws, "ottilie.brandvold@fjordmail.no")["birth_date"] == "1988-11-02"
    # ... then encryption turned on: `keys seal` encrypts what is there, rotation rewraps keys.
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        sealed = ws.keys_seal()
        assert sealed.rewritten["contact_record"] >= 5
        held = _raw(ws)
        assert "Skippergata" not in held
        assert "ottilie.brandvold@fjordmail.no" not in held
        with ws.engine.connect() as conn:
            before = [e for (e,) in conn.execute(text("SELECT email FROM contact_record"))]
        assert all(e.startswith("sub1:") for e in before if e is not None)  # shreddable
        current, done = ws.keys_rotate()
        assert current == "k2"
        # The data stays as it is; the subject keys that seal it are wrapped again.
        assert done.rewritten["contact_record"] == 0
        assert done.rewritten["vault.subject_key"] >= 5
        with ws.engine.connect() as conn:
            emails = [e for (e,) in conn.execute(text("SELECT email FROM contact_record"))]
        assert emails == before
        with ws.vault.engine.connect() as conn:
            wrapped = [w for (w,) in conn.execute(text("SELECT wrapped FROM subject_key"))]
        assert wrapped
        assert all(w.startswith("wk1:k2:") for w in wrapped if w is not None)
        ottilie = _contact_by_email(ws, "ottilie.brandvold@fjordmail.no")
        assert ottilie["birth_date"] == "1988-11-02"
        assert ottilie["email"] == "ottilie.brandvold@fjordmail.no"
        assert ws.keys_seal().rewritten["contact_record"] == 0


def test_the_setting_names_every_kind_the_store_seals() -> None:
    assert set(get_args(EncryptedKind)) == set(GROUPS)
    # Everything but names by default: they stay searchable by prefix.
    assert _settings().security.encrypt == list(DEFAULT_GROUPS)
    assert set(GROUPS) - set(DEFAULT_GROUPS) == {"name"}


# (Not "Okonkwo": idris@okonkwo-design.ng gives the company domain, which is company data.)
NAMES = ("Zebulon", "Quixwell", "Ottilie", "Brandvold", "Idris", "Margarethe", "Vinterberg")


def _named(**security: object) -> Settings:
    return _settings(encrypt=[*DEFAULT_GROUPS, "name"], **security)


def test_names_encrypted_when_configured_and_still_found_whole(db_url: str, tmp_path: Path) -> None:
    with Workspace(db_url, settings=_named(), actor="test") as ws:
        ws.init()
        _load(ws, tmp_path)
        made = ws.create_contacts(
            [{"first_name": "Margarethe", "last_name": "Vinterberg", "email": "mv@polarpost.se"}]
        )
        created = made[0].contact_id
        assert created is not None
        # A first and last name, either order, nicknames folded: found through the index.
        for query in ("Zebulon Quixwell", "quixwell zebulon", "ZEBULON   QUIXWELL"):
            found = ws.search(query)["items"]
            assert [c["last_name"] for c in found] == ["Quixwell"], query
        # Only whole names: a prefix finds nothing once names are tokens.
        assert ws.search("Quixw")["items"] == []
        assert [c["id"] for c in ws.search("Margarethe Vinterberg")["items"]] == [created]
        # The last_name filter is judged on decrypted names.
        page = ws.contacts(filters={"last_name": "Brandv*"})
        assert [c["first_name"] for c in page.items] == ["Ottilie"]
        assert ws.contacts(filters={"last_name": "Brandvold"}).items
        # Matching one record finds the stored person by name alone.
        candidates = ws.match({"first_name": "Ottilie", "last_name": "Brandvold"})
        ottilie = ws.search("ottilie.brandvold@fjordmail.no")["items"][0]
        assert ottilie["id"] in [c["contact_id"] for c in candidates]
        # So does a create (its candidates are looked up in bulk by the name index).
        twin = ws.create_contacts([{"first_name": "Ottilie", "last_name": "Brandvold"}])
        assert ottilie["id"] in [c["contact_id"] for c in twin[0].candidates]
        explained = ws.explain(int(ottilie["id"]))
        assert "Ottilie Brandvold" in {r["name"] for r in explained["records"]}
        exported = tmp_path / "contacts.csv"
        ws.export("contacts", exported)
        assert "Quixwell" in exported.read_text(encoding="utf-8")
        held = _raw(ws)
        for name in NAMES:
            assert name.lower() not in held.lower(), name
        with ws.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT first_name, last_name_key, name_index FROM contact_record")
            ).all()
            tf = [
                v
                for (v,) in conn.execute(
                    text("SELECT value FROM match_tf WHERE \"column\" = 'name'")
                )
            ]
        assert rows
        assert all(is_token(f) and is_token(k) and i for f, k, i in rows if f)
        assert all(not any(n.lower() in v for n in NAMES) for v in tf)
        # Segment rules on names are judged on decrypted values (the rule itself is config).
        ws.segment_create("brandvolds", where="last_name = 'Brandvold'")
        assert [m["first_name"] for m in ws.segment("brandvolds")["sample"]] == ["Ottilie"]
        # Erasure still finds the person's names and leaves none behind.
        ws.privacy_erase("zebulon.quixwell@gmail.com")
        assert ws.search("Zebulon Quixwell")["items"] == []


def test_turning_name_encryption_on_seals_names_and_fills_their_index(
    db_url: str, tmp_path: Path
) -> None:
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        ws.init()
        _load(ws, tmp_path)
        assert "Quixwell" in _raw(ws)
        with ws.engine.connect() as conn:
            assert conn.execute(text("SELECT count(name_index) FROM contact_record")).scalar() == 0
    with Workspace(db_url, settings=_named(), actor="test") as ws:
        assert ws.search("Zebulon Quixwell")["items"] == []  # not indexed yet
        assert ws.keys_seal().rewritten["contact_record"] >= 5
        assert "Quixwell" not in _raw(ws)
        assert [c["first_name"] for c in ws.search("Zebulon Quixwell")["items"]] == ["Zebulon"]
    # And off again: names decrypted, the prefix search back.
    with Workspace(db_url, settings=_settings(), actor="test") as ws:
        ws.keys_seal()
        assert "Quixwell" in _raw(ws)
        assert [c["first_name"] for c in ws.search("Quixw")["items"]] == ["Zebulon"]
