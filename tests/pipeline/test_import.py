"""The import pipeline end to end, on SQLite and PostgreSQL: lineage, counts, versions, stubs."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from rolodex.workspace import Workspace
from tests.conftest import DATA

CONTACTS = DATA / "contacts_small.csv"
CDNOW = DATA / "cdnow" / "cdnow_sample_transactions.csv"


def rows(ws: Workspace, sql: str, **params: Any) -> list[Any]:
    with ws.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def scalar(ws: Workspace, sql: str, **params: Any) -> Any:
    with ws.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def city_of(ws: Workspace, email: str) -> Any:
    """The golden city of the contact a record with `email` is linked to: emails are sealed,
    so found through their blind index."""
    return scalar(
        ws,
        "SELECT DISTINCT c.city FROM contact c JOIN contact_link l ON l.contact_id = c.id"
        " JOIN contact_record r ON r.source_record_id = l.source_record_id"
        " WHERE r.email_index = :e",
        e=ws.sealer.email_index(email),
    )


def test_contacts_import_keeps_every_row_with_lineage(ws: Workspace) -> None:
    summary = ws.import_file(CONTACTS, source="crm")

    assert (summary.read, summary.accepted, summary.quarantined) == (7, 5, 2)
    assert summary.reconciles
    with CONTACTS.open(encoding="utf-8") as fh:
        original = list(csv.DictReader(fh))
    stored = rows(ws, "SELECT row_number, payload, status FROM source_record ORDER BY row_number")
    assert [r.row_number for r in stored] == [2, 3, 4, 5, 6, 7, 8]
    # The payload is the row exactly as read, header -> value, nothing dropped.
    assert all(r.payload.startswith("sub1:") for r in stored)  # sealed at rest
    payloads = ws.sealer.open("payload", [r.payload for r in stored])
    assert [json.loads(p) for p in payloads] == original
    assert [r.status for r in stored] == ["accepted"] * 4 + ["quarantined"] * 2 + ["accepted"]

    view = rows(
        ws,
        "SELECT r.external_id, v.first_name, v.email, v.mobile, v.country, v.birth_date, v.custom"
        " FROM contact_record v JOIN source_record r ON r.id = v.source_record_id"
        " ORDER BY r.external_id",
    )
    by_id = {
        r["external_id"]: SimpleNamespace(**r)
        for r in ws.sealer.open_rows("contact_record", [dict(r._mapping) for r in view])
    }
    assert set(by_id) == {"C001", "C002", "C003", "C004", "C006"}
    assert by_id["C001"].email == "jane.doe@example.com"
    assert str(by_id["C002"].birth_date) == "1970-03-14"  # dotted date: day first
    assert by_id["C002"].mobile == "+491711234567"  # cleaned: E.164
    assert by_id["C002"].country == "DE"  # cleaned: "Deutschland" as its ISO code
    assert by_id["C004"].birth_date is None  # 31/02/1990 is no date: kept raw, flagged
    custom = by_id["C001"].custom
    assert (json.loads(custom) if isinstance(custom, str) else custom) == {"loyalty_tier": "gold"}

    # Until matching runs, each accepted contact record is its own golden contact.
    assert scalar(ws, "SELECT count(*) FROM contact") == 5
    assert scalar(ws, "SELECT count(*) FROM contact_link") == 5
    points = rows(
        ws,
        "SELECT p.kind, p.label, p.value, p.is_primary FROM contact_point p JOIN contact_link l"
        " ON l.contact_id = p.contact_id JOIN source_record r ON r.id = l.source_record_id"
        " WHERE r.external_id = 'C002' ORDER BY p.kind, coalesce(p.label, '')",
    )
    points = [
        SimpleNamespace(**p)
        for p in ws.sealer.open_rows("contact_point", [dict(p._mapping) for p in points])
    ]
    assert [(p.kind, p.label, p.value, bool(p.is_primary)) for p in points] == [
        ("address", None, "Hauptstraße 5, 10115 Berlin, DE", True),
        ("email", None, "juergen@mueller.de", True),
        ("phone", None, "+49301234567", True),
        ("phone", "mobile", "+491711234567", False),
    ]


def test_quarantine_reasons_name_row_and_column(ws: Workspace, tmp_path: Path) -> None:
    ws.import_file(CONTACTS, source="crm")
    out = tmp_path / "q.csv"
    assert ws.export("quarantine", out) == 2
    with out.open(encoding="utf-8") as fh:
        quarantined = {int(r["row_number"]): r for r in csv.DictReader(fh)}
    assert set(quarantined) == {6, 7}
    assert "nothing identifies this contact" in quarantined[6]["reasons"]
    assert quarantined[7]["reasons"] == (
        "duplicate id 'C002': the same id is first used at contacts_small.csv row 3"
    )
    assert json.loads(quarantined[7]["payload"])["First Name"] == "Juergen"


def test_reimport_of_unchanged_file_is_a_no_op(ws: Workspace) -> None:
    ws.import_file(CONTACTS, source="crm")
    before = ws.counts()
    again = ws.import_file(CONTACTS, source="crm")
    assert (again.read, again.unchanged, again.accepted, again.updated) == (7, 7, 0, 0)
    after = ws.counts()
    assert {k: v for k, v in after.items() if k != "import_batch"} == {
        k: v for k, v in before.items() if k != "import_batch"
    }


def test_changed_row_becomes_a_new_version(ws: Workspace, tmp_path: Path) -> None:
    ws.import_file(CONTACTS, source="crm")
    changed = tmp_path / "contacts_small.csv"
    content = CONTACTS.read_text(encoding="utf-8").replace("Springfield", "Shelbyville")
    changed.write_text(content, encoding="utf-8")

    summary = ws.import_file(changed, source="crm")

    assert (summary.updated, summary.unchanged, summary.accepted) == (1, 6, 0)
    record = rows(ws, "SELECT id, version, payload FROM source_record WHERE external_id = 'C001'")
    assert len(record) == 1  # a new version of the same record, not a new record
    assert record[0].version == 2
    assert json.loads(ws.sealer.open_one("payload", record[0].payload))["City"] == "Shelbyville"
    history = rows(
        ws,
        "SELECT version, payload FROM source_record_history WHERE source_record_id = :i",
        i=record[0].id,
    )
    assert all(h.payload.startswith("sub1:") for h in history)  # still sealed
    assert [
        (h.version, json.loads(ws.sealer.open_one("payload", h.payload))["City"]) for h in history
    ] == [(1, "Springfield")]
    assert city_of(ws, "jane.doe@example.com") == "Shelbyville"
    assert scalar(ws, "SELECT count(*) FROM contact") == 5


def test_order_log_imports_as_contacts_plus_orders(ws: Workspace) -> None:
    summary = ws.import_file(CDNOW, source="cdnow", kind="orders")

    assert (summary.read, summary.accepted, summary.quarantined) == (6919, 6919, 0)
    assert summary.stubs == 2357  # every customer of the log becomes a minimal contact
    assert scalar(ws, 'SELECT count(*) FROM "order"') == 6919
    assert scalar(ws, "SELECT count(*) FROM contact") == 2357
    assert scalar(ws, 'SELECT count(*) FROM "order" WHERE contact_id IS NULL') == 0
    total = scalar(ws, 'SELECT round(sum(total_amount), 2) FROM "order"')
    with CDNOW.open() as fh:
        expected = round(sum(float(r["amount"]) for r in csv.DictReader(fh)), 2)
    assert float(total) == pytest.approx(expected)
    # Orders of customer 2 belong to the golden contact linked to customer record "2".
    assert (
        scalar(
            ws,
            'SELECT count(*) FROM "order" o JOIN contact_link l ON l.contact_id = o.contact_id'
            " JOIN source_record r ON r.id = l.source_record_id WHERE r.record_key = '2'",
        )
        == 2
    )

    # A later contacts file of the same source completes the stub instead of duplicating it.
    again = ws.import_file(CDNOW, source="cdnow", kind="orders")
    assert again.unchanged == 6919
    assert scalar(ws, 'SELECT count(*) FROM "order"') == 6919


def test_stub_is_completed_by_the_contacts_file(ws: Workspace, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order ID,Customer ID,Order Date,Total\nA1,C9,2024-01-05,10.00\nA2,C9,2024-02-05,12.50\n",
        encoding="utf-8",
    )
    people = tmp_path / "people.csv"
    people.write_text("Customer ID,First Name,Email\nC9,Ada,ada@example.com\n", encoding="utf-8")

    first = ws.import_file(orders, source="shop", kind="orders")
    assert first.stubs == 1
    second = ws.import_file(people, source="shop", kind="contacts")
    assert (second.updated, second.accepted) == (1, 0)  # the stub got its real version
    assert scalar(ws, "SELECT count(*) FROM contact") == 1
    assert scalar(ws, "SELECT first_name FROM contact") == "Ada"
    assert (
        scalar(ws, 'SELECT count(DISTINCT contact_id) FROM "order" WHERE contact_id IS NOT NULL')
        == 1
    )


def test_bad_amounts_and_dates_quarantine_orders(ws: Workspace, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,date,quantity,amount\n"
        "1,1997-01-01,1,11.77\n"
        "2,not a date,1,12.00\n"
        "3,1997-01-03,1,N/A\n"
        ",1997-01-04,1,5.00\n",
        encoding="utf-8",
    )
    summary = ws.import_file(orders, source="log", kind="orders")
    assert (summary.read, summary.accepted, summary.quarantined) == (4, 1, 3)
    reasons = {
        r.row_number: json.loads(r.issues)
        for r in rows(
            ws, "SELECT row_number, issues FROM source_record WHERE status = 'quarantined'"
        )
    }
    assert reasons[3][0]["column"] == "date"
    assert "not a date" in reasons[3][0]["message"]
    assert reasons[4][0]["column"] == "amount"
    assert "no customer" in reasons[5][0]["message"]
    assert scalar(ws, 'SELECT count(*) FROM "order"') == 1


def test_dry_run_writes_nothing(ws: Workspace) -> None:
    before = ws.counts()
    preview = ws.preview(CONTACTS)
    assert preview.kind == "contacts"
    assert ("E-Mail", "email") in {(c, t) for c, t, _ in preview.mapping}
    assert preview.rows[0]["email"] == "jane.doe@example.com"
    assert any("duplicate id" in message for _, _, message in preview.problems)
    assert ws.counts() == before


def test_undo_removes_exactly_what_the_batch_added(ws: Workspace, tmp_path: Path) -> None:
    ws.import_file(CONTACTS, source="crm")
    after_first = ws.counts()
    changed = tmp_path / "contacts_small.csv"
    changed.write_text(
        CONTACTS.read_text(encoding="utf-8").replace("Springfield", "Shelbyville")
        + "C007,Ada,Lovelace,ada@example.com,,,,,,,,,\n",
        encoding="utf-8",
    )
    second = ws.import_file(changed, source="crm")
    assert (second.updated, second.accepted) == (1, 1)
    orders = tmp_path / "orders.csv"
    orders.write_text("Order ID,Customer ID,Total,Date\nX1,C999,5,2024-01-01\n", encoding="utf-8")
    third = ws.import_file(orders, source="crm", kind="orders")

    assert third.batch_id is not None
    assert second.batch_id is not None
    result = ws.undo_import(third.batch_id)
    assert result.removed_records == 2  # the order and its stub customer
    result = ws.undo_import(second.batch_id)
    assert (result.removed_records, result.restored_records) == (1, 1)

    assert {k: v for k, v in ws.counts().items() if k != "import_batch"} == {
        k: v for k, v in after_first.items() if k != "import_batch"
    }
    assert city_of(ws, "jane.doe@example.com") == "Springfield"
    restored = scalar(ws, "SELECT payload FROM source_record WHERE external_id = 'C001'")
    assert restored.startswith("sub1:")
    assert json.loads(ws.sealer.open_one("payload", restored))["City"] == "Springfield"
    assert scalar(ws, "SELECT version FROM source_record WHERE external_id = 'C001'") == 1
    assert scalar(ws, "SELECT count(*) FROM source_record_history") == 0


def test_undo_refuses_while_a_later_batch_changed_its_records(
    ws: Workspace, tmp_path: Path
) -> None:
    first = ws.import_file(CONTACTS, source="crm")
    changed = tmp_path / "contacts_small.csv"
    changed.write_text(
        CONTACTS.read_text(encoding="utf-8").replace("Springfield", "Shelbyville"),
        encoding="utf-8",
    )
    second = ws.import_file(changed, source="crm")
    from rolodex.exceptions import TerminalError

    assert first.batch_id is not None
    with pytest.raises(TerminalError, match=f"later batch\\(es\\) {second.batch_id} changed"):
        ws.undo_import(first.batch_id)
    assert second.batch_id is not None
    ws.undo_import(second.batch_id)
    ws.undo_import(first.batch_id)
    assert scalar(ws, "SELECT count(*) FROM source_record") == 0
    assert scalar(ws, "SELECT count(*) FROM contact") == 0
    with pytest.raises(TerminalError, match="undone already"):
        ws.undo_import(first.batch_id)


def test_many_chunks_match_one_chunk(ws: Workspace, tmp_path: Path) -> None:
    """Chunk boundaries (50 rows here) change nothing: duplicates across chunks are found."""
    path = tmp_path / "people.csv"
    lines = ["id,name,email"]
    lines += [f"{i},Person {i},p{i}@example.com" for i in range(1, 131)]
    lines.append("7,Someone Else,else@example.com")  # duplicate of row 8, two chunks later
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = ws.import_file(path, source="s")
    assert (summary.read, summary.accepted, summary.quarantined) == (131, 130, 1)
    assert scalar(ws, "SELECT row_number FROM source_record WHERE status = 'quarantined'") == 132


def test_duplicates_are_found_with_cleaning_off_too(db_url: str, tmp_path: Path) -> None:
    """Without cleaning, keys are settled on the preparing side: same result."""
    from rolodex.config import CleanSettings, ImportSettings, Settings

    path = tmp_path / "people.csv"
    lines = ["id,name,email", *[f"{i},Person {i},p{i}@example.com" for i in range(1, 131)]]
    lines.append("7,Someone Else,else@example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(
        db=db_url,
        import_=ImportSettings(chunk_size=50, separate_process_bytes=0),
        clean=CleanSettings(enabled=False),
    )
    with Workspace(db_url, settings=settings) as ws:
        ws.init()
        summary = ws.import_file(path, source="s")
        assert (summary.read, summary.accepted, summary.quarantined) == (131, 130, 1)
        assert any("duplicate id '7'" in p.message for p in summary.problems)
        row = scalar(ws, "SELECT row_number FROM source_record WHERE status = 'quarantined'")
        assert row == 132


def test_same_source_name_twice_in_one_workspace_copies(ws: Workspace, tmp_path: Path) -> None:
    """Two files of one source with the same ids: the second updates, never duplicates."""
    copy = tmp_path / "other_name.csv"
    shutil.copyfile(CONTACTS, copy)
    ws.import_file(CONTACTS, source="crm")
    again = ws.import_file(copy, source="crm")
    assert again.unchanged == 7
    other_source = ws.import_file(copy, source="newsletter")
    assert other_source.accepted == 5  # another source's records are its own


def test_child_process_writer_stores_the_same(db_url: str, tmp_path: Path) -> None:
    """Big files are written by a child process (ADBC on SQLite); the result is identical."""
    from rolodex.config import ImportSettings, Settings

    def run(url: str, threshold: int) -> list[Any]:
        settings = Settings(
            db=url, import_=ImportSettings(chunk_size=50, separate_process_bytes=threshold)
        )
        with Workspace(url, settings=settings) as ws:
            ws.init()
            first = ws.import_file(CONTACTS, source="crm")
            orders = ws.import_file(CDNOW, source="crm", kind="orders")
            assert (first.accepted, first.quarantined) == (5, 2)
            assert orders.accepted == 6919
            found = rows(
                ws,
                "SELECT r.record_key, r.status, r.content_hash, r.payload, r.issues,"
                " r.row_number, v.email, v.birth_date, v.source_created_at, v.custom,"
                " l.contact_id IS NOT NULL, c.first_name, o.total_amount, o.contact_id IS NULL"
                " FROM source_record r LEFT JOIN contact_record v ON v.source_record_id = r.id"
                " LEFT JOIN contact_link l ON l.source_record_id = r.id"
                " LEFT JOIN contact c ON c.id = l.contact_id"
                ' LEFT JOIN "order" o ON o.source_record_id = r.id ORDER BY r.id',
            )
            # Tokens differ from run to run (random nonces): compared opened.
            opened = zip(
                ws.sealer.open("payload", [r.payload for r in found]),
                ws.sealer.open("email", [r.email for r in found]),
                ws.sealer.open("birth_date", [r.birth_date for r in found]),
                strict=True,
            )
            return [
                (*r[:3], payload, r[4], r[5], email, birth, *r[8:])
                for r, (payload, email, birth) in zip(found, opened, strict=True)
            ]

    def plain(value: Any) -> Any:  # the same value as either database returns it
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict | list):  # JSON as PostgreSQL returns it
            return json.dumps(value, sort_keys=True)
        if isinstance(value, str) and value[:1] in ("{", "["):
            return json.dumps(json.loads(value), sort_keys=True)
        if isinstance(value, Decimal):
            return float(value)
        return bytes(value) if isinstance(value, memoryview) else value

    in_child = run(db_url, 0)
    in_process = run(f"sqlite:///{tmp_path / 'reference.db'}", 1 << 40)
    assert len(in_child) == 6919 + 2357 + 7
    assert [tuple(map(plain, r)) for r in in_child] == [tuple(map(plain, r)) for r in in_process]


def test_line_item_orders_carry_order_fields_to_their_lines(ws: Workspace, tmp_path: Path) -> None:
    """Shopify-style exports fill the order's fields on its first line only."""
    path = tmp_path / "orders_export.csv"
    path.write_text(
        "Name,Email,Financial Status,Currency,Total,Lineitem quantity,Lineitem name,"
        "Lineitem price,Lineitem sku,Id,Created at\n"
        "#1001,ann@example.com,paid,EUR,35.00,1,Mug,10.00,MUG-1,501,2024-01-05 09:59:00\n"
        "#1001,,,,,2,Plate,12.50,PLT-2,,\n"
        "#1002,bob@example.com,paid,EUR,10.00,1,Mug,10.00,MUG-1,502,2024-01-06 11:00:00\n"
        "#1002,,,,,1,Cup,0.00,CUP-1,,\n"
        "#1002,,,,,1,Saucer,0.00,SAU-1,,\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="shop", kind="orders")
    assert (summary.read, summary.accepted, summary.quarantined) == (5, 5, 0)
    orders = rows(
        ws,
        "SELECT o.external_id, o.total_amount, o.currency, count(l.id) AS lines,"
        ' sum(l.quantity) AS items FROM "order" o JOIN order_line l ON l.order_id = o.id'
        " GROUP BY o.external_id, o.total_amount, o.currency ORDER BY o.external_id",
    )
    assert [
        (o.external_id, float(o.total_amount), o.currency, o.lines, o.items) for o in orders
    ] == [
        ("#1001", 35.0, "EUR", 2, 3),
        ("#1002", 10.0, "EUR", 3, 3),
    ]
    assert scalar(ws, "SELECT count(*) FROM contact") == 2  # ann and bob, as minimal contacts


def test_big_load_builds_lookup_indexes_once_and_small_one_keeps_them(
    db_url: str, tmp_path: Path
) -> None:
    """A file that outgrows the stored records loads without its lookup indexes, then builds
    them; a file smaller than the store writes into the indexes as they are."""
    from sqlalchemy import inspect

    from rolodex.collect.fields import Kind
    from rolodex.config import ImportSettings, Settings
    from rolodex.pipeline.imports import lookup_indexes

    wanted = {str(ix.name) for ix in lookup_indexes(Kind.CONTACTS)}

    def present(ws: Workspace) -> set[str]:
        inspector = inspect(ws.engine)
        tables = ("contact_record", "contact_point")
        return {str(ix["name"]) for t in tables for ix in inspector.get_indexes(t)} & wanted

    big = tmp_path / "big.csv"
    lines = ["id,first,last,email", *[f"{i},Ann{i},Lee,a{i}@example.com" for i in range(400)]]
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    small = tmp_path / "small.csv"
    small.write_text("id,first,last,email\n9001,Bo,Kim,bo@example.com\n", encoding="utf-8")
    settings = Settings(db=db_url, import_=ImportSettings(chunk_size=50, separate_process_bytes=0))
    with Workspace(db_url, settings=settings) as ws:
        ws.init()
        assert present(ws) == wanted
        loaded = ws.import_file(big, source="s")
        assert "indexes (writer)" in loaded.steps
        assert present(ws) == wanted
        assert loaded.contacts_created == 400
        added = ws.import_file(small, source="s")
        assert "indexes (writer)" not in added.steps
        assert present(ws) == wanted
        # Every record loaded while the indexes were away kept its key.
        assert scalar(ws, "SELECT count(*) FROM contact_record WHERE last_name_key = 'lee'") == 400
