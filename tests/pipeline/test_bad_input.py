"""Bad input through the whole import: a clear message naming file, row and column, and no row
lost: each is accepted or quarantined, and the counts reconcile with what the file holds."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from rolodex.exceptions import InputError
from rolodex.workspace import Workspace


@pytest.fixture
def ws(sqlite_url: str) -> Iterator[Workspace]:
    with Workspace(sqlite_url, actor="test") as workspace:
        workspace.init()
        yield workspace


def stored(ws: Workspace) -> list[Any]:
    with ws.engine.connect() as conn:
        found = list(
            conn.execute(
                text("SELECT row_number, status, issues, payload FROM source_record ORDER BY id")
            ).all()
        )
    # Payloads are encrypted at rest: read here as the rows the file held.
    payloads = ws.sealer.open("payload", [r.payload for r in found])
    return [
        SimpleNamespace(**{**r._mapping, "payload": p})
        for r, p in zip(found, payloads, strict=True)
    ]


def reasons(ws: Workspace) -> dict[int, list[dict[str, Any]]]:
    return {r.row_number: json.loads(r.issues) for r in stored(ws) if r.issues}


def nothing_written(ws: Workspace) -> bool:
    with ws.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM source_record")).scalar_one()) == 0


def test_empty_file(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv.*empty"):
        ws.import_file(path, source="s")
    assert nothing_written(ws)


def test_header_only_imports_nothing_and_says_so(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("Email,First Name\n", encoding="utf-8")
    summary = ws.import_file(path, source="s")
    assert (summary.read, summary.accepted, summary.quarantined) == (0, 0, 0)
    assert nothing_written(ws)


def test_binary_garbage(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(InputError, match=r"photo\.csv"):
        ws.import_file(path, source="s")
    assert nothing_written(ws)


def test_truncated_gzip_keeps_what_was_read_and_says_how_to_undo(
    ws: Workspace, tmp_path: Path
) -> None:
    lines = "Email,Name\n" + "".join(f"p{i}@example.com,Person {i}\n" for i in range(20_000))
    packed = gzip.compress(lines.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match=r"cut\.csv\.gz.*truncated.*rolodex import undo 1"):
        ws.import_file(path, source="s")
    (batch,) = ws.batches()
    assert batch["status"] == "failed"
    assert batch["rows_read"] == batch["rows_accepted"] + batch["rows_quarantined"] > 0
    ws.undo_import(1)
    assert nothing_written(ws)


def test_semicolon_file_with_commas_in_values(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text(
        "Name;Email;Street\nDoe, Jane;jane@example.com;1, Main St\n"
        "Roe, Rick;rick@example.com;2, High St\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 2
    assert [json.loads(r.payload)["Street"] for r in stored(ws)] == ["1, Main St", "2, High St"]


def test_too_many_and_too_few_fields_are_quarantined_with_reasons(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "id,email,name\n1,a@example.com,A\n2,b@example.com,B,surplus\n3,c@example.com\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="s")
    assert (summary.read, summary.accepted, summary.quarantined) == (3, 1, 2)
    why = reasons(ws)
    assert "4 fields" in why[3][0]["message"]
    assert "2 fields" in why[4][0]["message"]
    surplus = next(json.loads(r.payload) for r in stored(ws) if r.row_number == 3)
    assert surplus["_extra_1"] == "surplus"  # the extra field is kept, not dropped


def test_ten_megabyte_field(ws: Workspace, tmp_path: Path) -> None:
    big = "x" * 10_000_000
    path = tmp_path / "big.csv"
    path.write_text(f"id,email,notes\n1,a@example.com,{big}\n2,b@example.com,short\n")
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 2
    assert len(json.loads(stored(ws)[0].payload)["notes"]) == 10_000_000


def test_nul_bytes_are_removed_and_flagged(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"id,email,name\n1,a@example.com,An\x00n\n")
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 1
    (problem,) = reasons(ws)[2]
    assert problem["column"] == "name"
    assert not problem["fatal"]
    assert json.loads(stored(ws)[0].payload)["name"] == "Ann"


def test_mixed_encodings_in_one_file(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    utf8 = ["Jürgen", "Zoë", "Łukasz", "Núñez", "Ærø"]
    path.write_bytes(
        b"id,email,name\n"
        + "".join(f"{i},p{i}@example.com,{n}\n" for i, n in enumerate(utf8, 1)).encode()
        + "6,f@example.com,François\n".encode("cp1252")  # a line from another export
    )
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 6
    names = [json.loads(r.payload)["name"] for r in stored(ws)]
    assert names == [*utf8, "François"]
    assert "cp1252" in reasons(ws)[7][0]["message"]


def test_duplicate_header_names_keep_both_columns(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,Email,Email\n1,a@example.com,a2@example.com\n", encoding="utf-8")
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 1
    assert any("Email_2" in note for note in summary.notes)
    payload = json.loads(stored(ws)[0].payload)
    assert payload == {"id": "1", "Email": "a@example.com", "Email_2": "a2@example.com"}


def test_title_lines_above_the_header(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "titled.csv"
    path.write_text(
        "Contacts export from HubSpot\nGenerated 2024-05-01\n\n"
        "Record ID,First Name,Email\n11,Ann,ann@example.com\n12,Bob,bob@example.com\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="s")
    assert summary.accepted == 2
    assert [r.row_number for r in stored(ws)] == [5, 6]


def test_excel_with_several_sheets_needs_sheet(ws: Workspace, tmp_path: Path) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Leads"
    first.append(["Lead ID", "Email"])
    first.append(["L1", "lead@example.com"])
    other = book.create_sheet("Accounts")
    other.append(["Account", "Domain"])
    other.append(["Acme", "acme.example"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    with pytest.raises(InputError, match=r"book\.xlsx.*Leads.*Accounts.*--sheet"):
        ws.import_file(path, source="s")
    summary = ws.import_file(path, source="s", sheet="Leads")
    assert summary.accepted == 1


def test_json_that_is_not_an_array_of_objects(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "numbers.json"
    path.write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(InputError, match=r"numbers\.json"):
        ws.import_file(path, source="s")
    assert nothing_written(ws)


def test_duplicate_ids_in_one_file_quarantine_the_repeat(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(
        "Customer ID,Email\n7,first@example.com\n8,other@example.com\n7,second@example.com\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="s")
    assert (summary.accepted, summary.quarantined) == (2, 1)
    (problem,) = reasons(ws)[4]
    assert problem["message"] == ("duplicate id '7': the same id is first used at ids.csv row 2")


def test_unparseable_values_name_the_column(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Customer ID,Order Date,Total\nA1,C1,2024-13-45,10\nA2,C1,2024-01-02,ten\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="s", kind="orders")
    assert summary.quarantined == 2
    why = reasons(ws)
    assert why[2][0]["column"] == "Order Date"
    assert why[3][0]["column"] == "Total"
    assert "'ten' is not a number" in why[3][0]["message"]
