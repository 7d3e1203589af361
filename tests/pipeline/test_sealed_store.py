"""The import, re-clean, undo, exports and privacy duties on an encrypted store, on SQLite and
PostgreSQL: what the store holds is tokens, what comes out is what the source sent."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from rolodex.config import Settings
from rolodex.exceptions import NotFoundError
from rolodex.model.base import utcnow
from rolodex.pipeline import imports
from rolodex.pipeline.privacy import find_subject
from rolodex.resolve import singletons
from rolodex.store.bulk import BulkSession
from rolodex.workspace import Workspace
from tests.conftest import DATA

CONTACTS = DATA / "contacts_small.csv"
JANE = "jane.doe@example.com"  # C001, "Jane.Doe@Example.com" in the file
# Tables the import, undo, re-clean and manual merges write personal data into.
WRITTEN = ("source_record", "source_record_history", "contact_record", "merge_event")


def rows(ws: Workspace, sql: str, **params: Any) -> list[Any]:
    with ws.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def scalar(ws: Workspace, sql: str, **params: Any) -> Any:
    with ws.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def held(ws: Workspace, tables: tuple[str, ...] = WRITTEN) -> str:
    """Every value of the tables as text, lower-cased, to search for plaintext."""
    return "\n".join(
        str(value)
        for name in tables
        for row in rows(ws, f'SELECT * FROM "{name}"')
        for value in row
        if value is not None
    ).lower()


def record_of(ws: Workspace, external_id: str, source: str = "crm") -> Any:
    """The standardized view of one record, opened."""
    found = rows(
        ws,
        "SELECT v.* FROM contact_record v JOIN source_record r ON r.id = v.source_record_id"
        " JOIN source s ON s.id = r.source_id WHERE r.external_id = :e AND s.name = :s",
        e=external_id,
        s=source,
    )
    return ws.sealer.open_row("contact_record", dict(found[0]._mapping))


def contact_of(ws: Workspace, external_id: str) -> int:
    return int(
        scalar(
            ws,
            "SELECT l.contact_id FROM contact_link l JOIN source_record r"
            " ON r.id = l.source_record_id WHERE r.external_id = :e",
            e=external_id,
        )
    )


@pytest.fixture
def crm(ws: Workspace) -> Workspace:
    ws.import_file(CONTACTS, source="crm")
    return ws


def test_the_import_stores_tokens_and_no_plaintext(crm: Workspace) -> None:
    payloads = [str(p) for (p,) in rows(crm, "SELECT payload FROM source_record")]
    assert len(payloads) == 7
    assert all(p.startswith("sub1:") for p in payloads)
    sealed = rows(
        crm,
        "SELECT email, phone, mobile, birth_date FROM contact_record"
        " WHERE source_record_id IN (SELECT id FROM source_record WHERE external_id = 'C002')",
    )
    assert all(str(v).startswith("sub1:") for v in sealed[0])
    text_held = held(crm)
    for plain in (JANE, "juergen@mueller.de", "+49301234567", "1970-03-14", "hauptstraße 5"):
        assert plain not in text_held, plain
    # Opened, they are what the file said.
    jurgen = record_of(crm, "C002")
    assert (jurgen["email"], jurgen["mobile"], jurgen["birth_date"]) == (
        "juergen@mueller.de",
        "+491711234567",
        "1970-03-14",
    )


def test_clean_again_reads_the_sealed_payloads(crm: Workspace) -> None:
    before = {str(p) for (p,) in rows(crm, "SELECT payload FROM source_record")}
    # The standardized view is what `rolodex clean` rebuilds: spoil it first.
    with crm.engine.begin() as conn:
        conn.execute(text("UPDATE contact_record SET city = NULL, email = NULL"))
    summary = crm.clean()
    assert summary.records == 5
    jane = record_of(crm, "C001")
    assert (jane["city"], jane["email"]) == ("Springfield", JANE)
    assert str(rows(crm, "SELECT email FROM contact_record")[0][0]).startswith("sub1:")
    # Raw payloads are never rewritten.
    assert {str(p) for (p,) in rows(crm, "SELECT payload FROM source_record")} == before
    assert JANE not in held(crm)


def test_a_new_version_and_its_undo_stay_sealed(crm: Workspace, tmp_path: Path) -> None:
    changed = tmp_path / "contacts_small.csv"
    changed.write_text(
        CONTACTS.read_text(encoding="utf-8").replace("Springfield", "Shelbyville"),
        encoding="utf-8",
    )
    second = crm.import_file(changed, source="crm")
    assert second.updated == 1
    current = str(scalar(crm, "SELECT payload FROM source_record WHERE external_id = 'C001'"))
    old = str(scalar(crm, "SELECT payload FROM source_record_history"))
    assert current.startswith("sub1:")
    assert old.startswith("sub1:")
    assert json.loads(crm.sealer.open_one("payload", current))["City"] == "Shelbyville"
    assert json.loads(crm.sealer.open_one("payload", old))["City"] == "Springfield"
    assert record_of(crm, "C001")["city"] == "Shelbyville"
    assert "shelbyville" not in held(crm, ("source_record", "source_record_history"))

    assert second.batch_id is not None
    assert crm.undo_import(second.batch_id).restored_records == 1
    restored = str(scalar(crm, "SELECT payload FROM source_record WHERE external_id = 'C001'"))
    assert restored == old  # the history's token, back as it was
    jane = record_of(crm, "C001")
    assert (jane["city"], jane["email"]) == ("Springfield", JANE)
    assert scalar(crm, "SELECT count(*) FROM source_record_history") == 0
    assert JANE not in held(crm)


def test_orders_find_their_customers_by_sealed_email(crm: Workspace, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order ID,Email,Total,Date\n"
        f"A1,{JANE},5,2024-01-01\n"
        "A2,New.Person@Example.com,6,2024-01-02\n"
        "A3,new.person@example.com,7,2024-01-03\n",
        encoding="utf-8",
    )
    summary = crm.import_file(orders, source="crm", kind="orders")
    assert (summary.accepted, summary.stubs) == (3, 1)  # one stub for both spellings
    assert "new.person" not in held(crm)  # neither in the stub's key nor in its rows
    assert scalar(crm, "SELECT count(*) FROM source_record WHERE is_stub = :yes", yes=True) == 1
    jane = contact_of(crm, "C001")
    assert scalar(crm, """SELECT count(*) FROM "order" WHERE contact_id = :c""", c=jane) == 1
    # A later file names the stub's customer again: found, not created twice.
    again = tmp_path / "more.csv"
    again.write_text("Order ID,Email,Total,Date\nA4,NEW.PERSON@example.com,8,2024-02-01\n")
    assert crm.import_file(again, source="crm", kind="orders").stubs == 0


def test_exports_show_the_values_the_store_keeps_sealed(crm: Workspace, tmp_path: Path) -> None:
    crm.export("contacts", tmp_path / "contacts.csv")
    with (tmp_path / "contacts.csv").open(encoding="utf-8") as fh:
        contacts = {r["email"]: r for r in csv.DictReader(fh)}
    assert contacts["juergen@mueller.de"]["phone"] == "'+49301234567"  # formula-safe
    assert contacts[JANE]["birth_date"] == "1985-03-14"
    crm.export("contacts", tmp_path / "contacts.parquet", fmt="parquet")
    table = pq.read_table(tmp_path / "contacts.parquet")
    assert table.schema.field("birth_date").type == pa.date32()
    assert JANE in table.column("email").to_pylist()

    crm.export("quarantine", tmp_path / "quarantine.json", fmt="json")
    quarantined = json.loads((tmp_path / "quarantine.json").read_text(encoding="utf-8"))
    assert any(json.loads(q["payload"]).get("E-Mail") == "jm@mueller.de" for q in quarantined)
    crm.export("source-records", tmp_path / "records.csv")
    with (tmp_path / "records.csv").open(encoding="utf-8") as fh:
        payloads = [json.loads(r["payload"]) for r in csv.DictReader(fh)]
    assert {"Customer ID": "C001", "E-Mail": "Jane.Doe@Example.com"}.items() <= payloads[0].items()


def test_privacy_export_and_erase_on_the_sealed_store(crm: Workspace, tmp_path: Path) -> None:
    web = tmp_path / "web.csv"
    web.write_text(  # the repeated id is quarantined: a raw row naming Jane, linked to no one
        "Customer ID,First Name,Last Name,E-Mail\nW1,Janet,Doe,other@example.org\n"
        "W1,Jane,Doe,JANE.DOE@example.com\n",
        encoding="utf-8",
    )
    assert crm.import_file(web, source="web", kind="contacts").quarantined == 1
    quarantined = int(
        scalar(
            crm,
            "SELECT id FROM source_record WHERE status = 'quarantined'"
            " AND source_id = (SELECT id FROM source WHERE name = 'web')",
        )
    )
    jane, jose, jurgen = (contact_of(crm, e) for e in ("C001", "C004", "C002"))
    crm.merge(jane, jose)
    details = rows(crm, "SELECT CAST(details AS TEXT) FROM merge_event")[0][0]
    assert "jose@nunez.es" not in str(details)
    assert json.loads(details)["golden_before"]["email"].startswith("sub1:")

    with crm.engine.connect() as conn:
        assert find_subject(conn, "Jane.Doe@example.com") == [jane]
        assert find_subject(conn, "+49 30 1234567") == [jurgen]
        assert find_subject(conn, "+49 171 1234567") == [jurgen]  # a mobile: a contact point
        assert find_subject(conn, "jose@nunez.es") == [jane]  # merged into Jane
    done = crm.privacy_export(JANE, tmp_path / "out", formats=("json",))
    document = json.loads(done.files[0].read_text(encoding="utf-8"))
    # The survivor's golden email is one of the two (survivorship picks), the merged one's
    # row keeps its own.
    emails = [c["email"] for c in document["contacts"]]
    assert len(emails) == 2
    assert set(emails) <= {JANE, "jose@nunez.es"}
    assert "jose@nunez.es" in emails
    assert JANE in {p["value"] for p in document["contact_points"]}
    standardized = document["standardized_records"]
    assert JANE in {r["email"] for r in standardized}
    assert not any(k.endswith("_index") for r in standardized for k in r)
    payloads = {r["id"]: r["payload"] for r in document["source_records"]}
    assert payloads[quarantined]["E-Mail"] == "JANE.DOE@example.com"  # found by its payload
    before = (
        json.loads(document["merge_events"][0]["details"])
        if isinstance(document["merge_events"][0]["details"], str)
        else document["merge_events"][0]["details"]
    )
    assert before["golden_before"]["email"] == "jose@nunez.es"

    erased = crm.privacy_erase(JANE, reason="asked by jane.doe@example.com")
    assert erased.contacts == [jane]
    with crm.engine.connect() as conn, pytest.raises(NotFoundError):
        find_subject(conn, JANE)
    left = {int(i) for (i,) in rows(crm, "SELECT id FROM source_record")}
    assert quarantined not in left
    assert not set(payloads) & left
    opened = crm.sealer.open(
        "payload", [p for (p,) in rows(crm, "SELECT payload FROM source_record")]
    )
    assert not any("jane.doe" in str(p).lower() for p in opened)
    assert scalar(crm, "SELECT count(*) FROM merge_event") == 0
    with crm.engine.connect() as conn:  # the others are still found by their sealed values
        assert find_subject(conn, "juergen@mueller.de")
        assert find_subject(conn, "other@example.org")


_POINT = ", ".join(
    "p." + c
    for c in (
        "kind label value value_index is_primary street street2 city region postcode country"
    ).split()
)


def points_by_record(ws: Workspace) -> Counter[tuple[Any, ...]]:
    """Every contact point, opened, with the external id of its record (not its own id)."""
    found = rows(
        ws,
        f"SELECT s.external_id, {_POINT} FROM contact_point p"
        " JOIN source_record s ON s.id = p.source_record_id",
    )
    opened = ws.sealer.open_rows("contact_point", [dict(r._mapping) for r in found])
    return Counter(tuple(p.values()) for p in opened)


def test_points_planned_ahead_are_the_points_made_from_the_store(crm: Workspace) -> None:
    """The import plans contact points from the plaintext it seals; a refresh (and an undo)
    reads the sealed records back and makes them again: the same points either way."""
    planned = points_by_record(crm)
    kinds = Counter(point[1] for point in planned.elements())
    assert (kinds["email"], kinds["phone"], kinds["address"]) == (5, 4, 4), kinds
    mobiles = {p[0]: p[5] for p in planned if p[2] == "mobile"}
    assert mobiles == {"C002": False, "C003": True}  # primary where there is no phone
    lines = {p[0]: p[3] for p in planned if p[1] == "address"}
    assert lines["C002"] == "Hauptstraße 5, 10115 Berlin, DE"
    for point in planned:
        kind, value, index = point[1], point[3], point[4]
        assert index == crm.sealer.point_index(kind, value), point
    sealed = rows(crm, "SELECT value FROM contact_point WHERE kind IN ('email', 'phone')")
    assert all(str(v).startswith("sub1:") for (v,) in sealed)
    records = [int(r) for (r,) in rows(crm, "SELECT source_record_id FROM contact_record")]
    session = BulkSession(crm.engine)
    try:
        with session.transaction() as db:
            singletons.refresh_contacts(db, records, now=utcnow())
    finally:
        session.close()
    assert points_by_record(crm) == planned


def _opened_store(ws: Workspace) -> tuple[Any, ...]:
    """What an import stored, opened and keyed by row number (ids left out)."""
    payloads = {
        int(n): ws.sealer.open_one("payload", p)
        for n, p in rows(ws, "SELECT row_number, payload FROM source_record")
    }
    views = {}
    for row in rows(
        ws,
        "SELECT s.row_number, v.* FROM contact_record v"
        " JOIN source_record s ON s.id = v.source_record_id",
    ):
        view = ws.sealer.open_row("contact_record", dict(row._mapping))
        views[view.pop("row_number")] = {
            k: v for k, v in view.items() if k not in ("id", "source_record_id")
        }
    return payloads, views, points_by_record(ws)


@pytest.mark.parametrize("ahead", [1, 2, 3])
def test_the_store_is_the_same_whichever_side_seals(
    ahead: int, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preparing side seals as much as it has time for and the writer the rest: any
    split stores what the writer alone would."""
    stored = []
    for name, first in (("writer", 0), ("split", ahead)):
        monkeypatch.setattr(imports, "_FIRST_AHEAD", first)
        ws = Workspace(f"sqlite:///{tmp_path / name}.db", settings=settings, actor="test")
        try:
            ws.init()
            ws.import_file(CONTACTS, source="crm")
            stored.append(_opened_store(ws))
            assert "jane.doe@example.com" not in held(ws)
        finally:
            ws.close()
    payloads, views, points = stored[0]
    assert (len(payloads), len(views), sum(points.values())) == (7, 5, 13)
    assert stored[1] == stored[0]
