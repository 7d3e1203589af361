"""Tests for `rolodex.collect.readers`: every input format, encoding and broken file."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import re
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rolodex.collect import readers
from rolodex.collect.readers import open_table
from rolodex.collect.rows import Problem, RawRow, TableInfo
from rolodex.exceptions import InputError

# ------------------------------------------------------------------------------ builders


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) to a file in tmp_path and return its path."""
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read(path: Path, *, sheet: str | None = None) -> tuple[TableInfo, list[RawRow]]:
    """Open a file and read all its rows."""
    table = open_table(path, sheet=sheet)
    return table.info, list(table)


def values(rows: list[RawRow]) -> list[list[object]]:
    """Return the values of each row."""
    return [row.values for row in rows]


def numbers(rows: list[RawRow]) -> list[int]:
    """Return the number of each row."""
    return [row.number for row in rows]


def messages(row: RawRow) -> list[str]:
    """Return the messages of a row's problems."""
    return [problem.message for problem in row.problems]


def gzip_cut_after(data: bytes) -> bytes:
    """Return a gzip stream that decompresses to exactly `data`, then ends without a trailer."""
    compressor = zlib.compressobj(wbits=31)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def make_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """Write an .xlsx workbook with one sheet per entry (rows of cell values)."""
    workbook = openpyxl.Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = title
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def error_text(excinfo: pytest.ExceptionInfo[InputError]) -> str:
    """Return an InputError's message."""
    return str(excinfo.value)


# ------------------------------------------------------------------------------ public API


def test_public_api_is_open_table_only() -> None:
    assert readers.__all__ == ["open_table"]


# ------------------------------------------------------------------------------------ CSV


def test_csv_reads_header_values_and_info(tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.csv", "Email,First name\na@x.com,Ann\nb@x.com,\n")

    info, rows = read(path)

    assert info.format == "csv"
    assert info.header == ["Email", "First name"]
    assert info.delimiter == ","
    assert info.encoding == "utf-8"
    assert info.compression is None
    assert info.header_row == 1
    assert info.path == str(path)
    assert values(rows) == [["a@x.com", "Ann"], ["b@x.com", ""]]
    assert numbers(rows) == [2, 3]
    assert all(row.problems == [] and row.extra is None for row in rows)


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(",", "comma.csv"), (";", "semicolon.csv"), ("\t", "tabs.tsv"), ("|", "pipes.txt")],
)
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    lines = [["id", "email", "city"], ["1", "a@x.com", "Paris"], ["2", "b@x.com", "Lyon"]]
    path = write(tmp_path, name, "".join(delimiter.join(line) + "\n" for line in lines))

    info, rows = read(path)

    assert info.delimiter == delimiter
    assert info.header == ["id", "email", "city"]
    assert values(rows) == lines[1:]


def test_semicolon_file_with_commas_in_values_is_read_with_semicolons(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "export.csv",
        "name;company;city\nDoe, John;Acme, Inc.;Paris\nRoe, Jane;Foo, Bar, Baz;Lyon\n",
    )

    info, rows = read(path)

    assert info.delimiter == ";"
    assert values(rows) == [
        ["Doe, John", "Acme, Inc.", "Paris"],
        ["Roe, Jane", "Foo, Bar, Baz", "Lyon"],
    ]
    assert all(row.problems == [] for row in rows)


def test_comma_file_with_quoted_semicolons_is_read_with_commas(tmp_path: Path) -> None:
    path = write(tmp_path, "tags.csv", 'id,tags,email\n1,"a;b;c",a@x\n2,"d;e",b@x\n')

    info, rows = read(path)

    assert info.delimiter == ","
    assert values(rows) == [["1", "a;b;c", "a@x"], ["2", "d;e", "b@x"]]


def test_single_column_file_is_read_as_one_column_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "emails.txt", "email\na@x.com\nb@x.com\n")

    info, rows = read(path)

    assert info.header == ["email"]
    assert values(rows) == [["a@x.com"], ["b@x.com"]]
    assert "found no delimiter; read the file as a single column" in info.notes


def test_quoted_newlines_keep_values_and_physical_row_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "notes.csv",
        'name,notes,email\r\nAnn,"first\r\nsecond\r\nthird",a@x\r\nBob,plain,b@x\r\n',
    )

    _, rows = read(path)

    assert numbers(rows) == [2, 5]
    assert values(rows) == [["Ann", "first\r\nsecond\r\nthird", "a@x"], ["Bob", "plain", "b@x"]]
    assert rows[0].problems == []


def test_old_mac_line_endings_are_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "mac.csv", "name,email\rAnn,a@x\rBob,b@x\r")

    _, rows = read(path)

    assert values(rows) == [["Ann", "a@x"], ["Bob", "b@x"]]
    assert numbers(rows) == [2, 3]


def test_blank_and_whitespace_rows_are_skipped_without_shifting_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "gaps.csv", "a,b\n1,2\n\n   \n , \n,\n3,4\n")

    _, rows = read(path)

    assert values(rows) == [["1", "2"], ["3", "4"]]
    assert numbers(rows) == [2, 7]


def test_too_many_fields_keeps_extras_and_quarantines_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "long.csv", "a,b,c\n1,2,3,4,5\n6,7,8\n")

    _, rows = read(path)

    assert rows[0].values == ["1", "2", "3"]
    assert rows[0].extra == {"_extra_1": "4", "_extra_2": "5"}
    assert rows[0].problems == [Problem("row has 5 fields, the header has 3", fatal=True)]
    assert rows[1].problems == []


def test_too_few_fields_pads_with_none_and_quarantines_the_row(tmp_path: Path) -> None:
    path = write(tmp_path, "short.csv", "a,b,c\n1,2,3\n4\n")

    _, rows = read(path)

    assert rows[1].number == 3
    assert rows[1].values == ["4", None, None]
    assert rows[1].problems == [Problem("row has 1 fields, the header has 3", fatal=True)]


def test_header_only_yields_no_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "header.csv", "Email,Name\n")

    info, rows = read(path)

    assert info.header == ["Email", "Name"]
    assert rows == []


def test_duplicate_and_empty_header_names_are_renamed_with_notes(tmp_path: Path) -> None:
    path = write(tmp_path, "dups.csv", " Email ,Email,,Email_2,Email\n1,2,3,4,5\n")

    info, rows = read(path)

    assert info.header == ["Email", "Email_3", "column_3", "Email_2", "Email_4"]
    assert info.notes == [
        "renamed duplicate header 'Email' to 'Email_3'",
        "column 3 has no header; named it 'column_3'",
        "renamed duplicate header 'Email' to 'Email_4'",
    ]
    assert rows[0].values == ["1", "2", "3", "4", "5"]


def test_header_names_lose_bom_and_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbf  Email\t, Name \n" + b"a@x,Ann\n")

    info, _ = read(path)

    assert info.header == ["Email", "Name"]
    assert info.encoding == "utf-8-sig"


def test_header_below_title_lines_is_found(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hubspot.csv",
        "Export from HubSpot, 2024-05-01\n\nEmail,First name,Phone\n"
        "a@x.com,Ann,+33 1 23\nb@x.com,Bob,+33 4 56\n",
    )

    info, rows = read(path)

    assert info.header == ["Email", "First name", "Phone"]
    assert info.header_row == 3
    assert info.notes == [
        "the header is on line 3; skipped the title lines above it: "
        "'Export from HubSpot, 2024-05-01'"
    ]
    assert numbers(rows) == [4, 5]
    assert rows[0].values == ["a@x.com", "Ann", "+33 1 23"]


def test_a_short_first_line_that_is_a_real_header_is_not_skipped(tmp_path: Path) -> None:
    # Data rows with a trailing delimiter are wider than the header: still the header.
    path = write(tmp_path, "trailing.csv", "Email,Name,City\na@x,Ann,Paris,\nb@x,Bob,Lyon,\n")

    info, rows = read(path)

    assert info.header == ["Email", "Name", "City"]
    assert info.header_row == 1
    assert numbers(rows) == [2, 3]
    assert rows[0].extra == {"_extra_1": ""}
    assert messages(rows[0]) == ["row has 4 fields, the header has 3"]


def test_ten_megabyte_field_is_read(tmp_path: Path) -> None:
    big = "x" * (10 * 1024 * 1024)
    path = write(tmp_path, "big.csv", f'id,notes\n1,"{big}"\n2,small\n')

    _, rows = read(path)

    assert len(rows[0].values[1]) == len(big)
    assert rows[1].values == ["2", "small"]
    assert numbers(rows) == [2, 3]


def test_nul_bytes_are_removed_with_a_warning_naming_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, "nul.csv", b"email,name\na@x\x00.com,Ann\nb@x,Bob\n")

    _, rows = read(path)

    assert rows[0].values == ["a@x.com", "Ann"]
    assert rows[0].problems == [
        Problem("removed NUL bytes from the value", column="email", fatal=False)
    ]
    assert rows[1].problems == []


def test_unclosed_quote_swallowing_rows_is_quarantined(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quote.csv",
        'name,email,city\nAnn,"a@x,Paris\nBob,b@x,Lyon\nCid,c@x,Nice\nDan,d@x",Metz\nEve,e@x,Caen\n',
    )

    _, rows = read(path)

    assert numbers(rows) == [2, 6]
    assert rows[0].values == ["Ann", "a@x,Paris\nBob,b@x,Lyon\nCid,c@x,Nice\nDan,d@x", "Metz"]
    assert rows[1].values == ["Eve", "e@x", "Caen"]
    assert rows[0].problems == [
        Problem(
            "row spans lines 2-5 and this value holds lines that look like rows of their own; "
            "a quote is probably not closed",
            column="email",
        )
    ]


def test_multi_line_note_with_one_comma_rich_line_is_not_flagged(tmp_path: Path) -> None:
    path = write(
        tmp_path, "notes.csv", 'name,notes,email\nAnn,"Moved to:\n12 Main St, Apt 4, Lyon",a@x\n'
    )

    _, rows = read(path)

    assert rows[0].values == ["Ann", "Moved to:\n12 Main St, Apt 4, Lyon", "a@x"]
    assert rows[0].problems == []


# ------------------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_encodings_are_detected_and_decoded(
    tmp_path: Path, codec: str, bom: bytes, expected: str
) -> None:
    text = 'Name;City;Note\r\nJosé;São Paulo;"“quoted”\r\n– 5€"\r\nZoë;Köln;Straße\r\n'
    path = write(tmp_path, "enc.csv", bom + text.encode(codec))

    info, rows = read(path)

    assert info.encoding == expected
    assert info.header == ["Name", "City", "Note"]
    assert values(rows) == [
        ["José", "São Paulo", "“quoted”\r\n– 5€"],
        ["Zoë", "Köln", "Straße"],
    ]
    assert numbers(rows) == [2, 4]
    assert all(row.problems == [] for row in rows)


def test_central_european_code_page_is_detected_not_assumed(tmp_path: Path) -> None:
    text = "Imię,Nazwisko,Miasto\nŁukasz,Wiśniewski,Łódź\nZofia,Żółć,Kraków\n"
    path = write(tmp_path, "pl.csv", text.encode("cp1250"))

    info, rows = read(path)

    assert info.encoding == "cp1250"
    assert values(rows) == [["Łukasz", "Wiśniewski", "Łódź"], ["Zofia", "Żółć", "Kraków"]]


def test_mixed_encodings_read_bad_lines_as_cp1252_with_a_warning(tmp_path: Path) -> None:
    data = (
        "name,city\nJosé,São Paulo\n".encode()
        + "René,Köln\n".encode("cp1252")
        + "Zoë,Zürich\n".encode()
    )
    path = write(tmp_path, "mixed.csv", data)

    info, rows = read(path)

    assert info.encoding == "utf-8"
    assert values(rows) == [["José", "São Paulo"], ["René", "Köln"], ["Zoë", "Zürich"]]
    assert rows[1].problems == [Problem("line 3 is not valid UTF-8; read as cp1252", fatal=False)]
    assert rows[0].problems == rows[2].problems == []


def test_cp1252_line_far_into_a_utf8_file_is_flagged_on_its_row(tmp_path: Path) -> None:
    lines = [f"p{index},Zoë {index}\n".encode() for index in range(30_000)]
    lines[25_000] = "p25000,Ren\xe9\n".encode("latin-1")
    path = write(tmp_path, "late.csv", b"id,name\n" + b"".join(lines))

    info, rows = read(path)

    assert info.encoding == "utf-8"
    assert len(rows) == 30_000
    bad = [row for row in rows if row.problems]
    assert [row.number for row in bad] == [25_002]
    assert bad[0].values == ["p25000", "René"]
    assert messages(bad[0]) == ["line 25002 is not valid UTF-8; read as cp1252"]


def test_utf8_lines_appended_to_a_cp1252_file_are_read_as_utf8(tmp_path: Path) -> None:
    old = "".join(f"p{index},René {index}\n" for index in range(5000)).encode("cp1252")
    new = "p5000,Zoë Ñandú\n".encode()
    path = write(tmp_path, "appended.csv", b"id,name\n" + old + new)

    info, rows = read(path)

    assert info.encoding == "cp1252"
    assert rows[0].values == ["p0", "René 0"]
    assert rows[0].problems == []
    assert rows[-1].number == 5002
    assert rows[-1].values == ["p5000", "Zoë Ñandú"]
    assert messages(rows[-1]) == ["line 5002 is UTF-8 in a cp1252 file; read as UTF-8"]
    assert sum(1 for row in rows if row.problems) == 1


# ---------------------------------------------------------------------------- compression


def test_gzip_is_detected_by_magic_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "contacts.data", gzip.compress(b"email;name\na@x;Ann\n"))

    info, rows = read(path)

    assert info.compression == "gzip"
    assert info.delimiter == ";"
    assert values(rows) == [["a@x", "Ann"]]


def test_zip_with_one_member_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contacts.csv", "email,name\na@x,Ann\nb@x,Bob\n")
        archive.writestr("__MACOSX/._contacts.csv", b"\x00\x05\x16\x07")

    info, rows = read(path)

    assert info.compression == "zip"
    assert "read 'contacts.csv' from the zip archive" in info.notes
    assert values(rows) == [["a@x", "Ann"], ["b@x", "Bob"]]


def test_zip_with_several_members_is_refused_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("contacts.csv", "email\na@x\n")
        archive.writestr("orders.csv", "id\n1\n")

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == (
        "export.zip: the zip archive holds 2 files ('contacts.csv', 'orders.csv'); "
        "extract the one to import, or zip it alone"
    )


def test_truncated_gzip_yields_rows_read_then_raises(tmp_path: Path) -> None:
    whole = b"email,name\n" + b"".join(b"p%d@x,P%d\n" % (i, i) for i in range(5000))
    cut_at = whole.index(b"p4000@x") + 3  # in the middle of the row on line 4002
    path = write(tmp_path, "contacts.csv.gz", gzip_cut_after(whole[:cut_at]))
    table = open_table(path)
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(table)

    assert len(rows) == 4000
    assert rows[-1].number == 4001
    assert rows[-1].values == ["p3999@x", "P3999"]
    assert error_text(excinfo) == (
        "contacts.csv.gz: file ends early: the gzip data is truncated after row 4001; "
        "the incomplete row after it was not read"
    )


def test_truncated_gzip_inside_a_quoted_field_does_not_yield_the_partial_row(
    tmp_path: Path,
) -> None:
    data = b'name,notes\nAnn,"one\ntwo"\nBob,"three\n'  # cut after a line break, inside quotes
    path = write(tmp_path, "notes.csv.gz", gzip_cut_after(data))
    rows: list[RawRow] = []

    with pytest.raises(InputError, match="truncated after row 2; the incomplete row") as excinfo:
        rows.extend(open_table(path))

    assert values(rows) == [["Ann", "one\ntwo"]]
    assert "notes.csv.gz" in error_text(excinfo)


def test_truncated_gzip_at_a_row_boundary_says_nothing_was_cut(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv.gz", gzip_cut_after(b"email\na@x\nb@x\n"))
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(open_table(path))

    assert values(rows) == [["a@x"], ["b@x"]]
    assert (
        error_text(excinfo) == "c.csv.gz: file ends early: the gzip data is truncated after row 3"
    )


def test_gzip_cut_before_any_line_is_refused_at_open(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv.gz", gzip.compress(b"email,name\na@x,Ann\n")[:12])

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == "c.csv.gz: file ends early: the gzip data is truncated"


def test_damaged_zip_member_is_reported_after_the_rows_read(tmp_path: Path) -> None:
    body = b"email,name\n" + b"".join(b"p%d@x,P%d\n" % (i, i) for i in range(200_000))
    path = tmp_path / "c.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("c.csv", body)
    data = bytearray(path.read_bytes())
    at = data.index(b"p199000@x")
    data[at : at + 1] = b"q"  # stored data: reads fine, but the CRC no longer matches
    path.write_bytes(bytes(data))
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(open_table(path))

    assert len(rows) > 100_000
    assert numbers(rows) == list(range(2, len(rows) + 2))
    assert rows[-1].values == [f"p{len(rows) - 1}@x", f"P{len(rows) - 1}"]
    assert error_text(excinfo) == (
        f"c.zip: the zip data is damaged (Bad CRC-32 for file 'c.csv') after row {len(rows) + 1}; "
        "the incomplete row after it was not read"
    )


def test_gzip_of_a_parquet_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "data.parquet.gz", gzip.compress(b"PAR1" + b"\x00" * 100))

    with pytest.raises(InputError, match=r"data\.parquet\.gz: the gzip data holds a Parquet file"):
        open_table(path)


# ------------------------------------------------------------------------------ bad files


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.csv", b"")

    with pytest.raises(InputError, match=r"^empty\.csv: file is empty$"):
        open_table(path)


def test_blank_lines_only_is_refused_as_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "blank.csv", "\n  \n\r\n")

    with pytest.raises(
        InputError, match=r"^blank\.csv: file is empty \(it holds only blank lines\)$"
    ):
        open_table(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^nope\.csv: file not found$"):
        open_table(tmp_path / "nope.csv")


def test_random_bytes_are_not_text(tmp_path: Path) -> None:
    path = write(tmp_path, "garbage.csv", random.Random(7).randbytes(20_000))

    with pytest.raises(
        InputError, match=r"^garbage\.csv: not a text, Excel, JSON or Parquet file$"
    ):
        open_table(path)


def test_png_renamed_csv_is_named_as_an_image(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.csv", b"\x89PNG\r\n\x1a\n" + os.urandom(2000))

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == (
        "photo.csv: not a text, Excel, JSON or Parquet file: it looks like a PNG image"
    )


def test_old_xls_workbook_gets_a_save_as_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    with pytest.raises(
        InputError, match=r"old\.xls: .*old Excel \.xls workbook.*save it as \.xlsx"
    ):
        open_table(path)


def test_sheet_for_a_csv_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "a,b\n1,2\n")

    with pytest.raises(InputError, match=r"c\.csv: sheet 'Contacts' was given, but this is a CSV"):
        open_table(path, sheet="Contacts")


def test_display_name_is_used_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "tmp123.csv", b"")

    with pytest.raises(InputError, match=r"^upload\.csv: file is empty$"):
        open_table(path, display_name="upload.csv")


def test_file_changed_between_open_and_read_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "a,b\n1,2\n")
    table = open_table(path)
    path.write_text("x,y,z\n1,2,3\n4,5,6\n")

    with pytest.raises(InputError, match=r"c\.csv: the file changed"):
        list(table)


# ---------------------------------------------------------------------------------- Excel


def test_xlsx_sheet_is_read_with_types_and_row_numbers(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "book.xlsx",
        {
            "Contacts": [
                ["Contacts export"],
                [],
                ["Email", "Joined", "Orders", None],
                ["a@x", dt.datetime(2024, 5, 1), 3],
                [],
                ["b@x", None, 0, None, "note"],
            ]
        },
    )

    info, rows = read(path)

    assert info.format == "xlsx"
    assert info.sheet == "Contacts"
    assert info.header == ["Email", "Joined", "Orders"]
    assert info.header_row == 3
    assert numbers(rows) == [4, 6]
    assert rows[0].values == ["a@x", dt.datetime(2024, 5, 1), 3]
    assert rows[1].values == ["b@x", "", 0]
    assert rows[1].extra == {"_extra_2": "note"}
    assert rows[1].problems == [
        Problem(
            "row has values right of the header's last column; kept them as _extra_2",
            fatal=False,
        )
    ]


def test_xlsx_with_several_sheets_needs_a_sheet_name(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "book.xlsx",
        {"Contacts": [["Email"], ["a@x"]], "Empty": [], "Orders": [["Id"], [1]]},
    )

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == (
        "book.xlsx: the workbook has several sheets with data ('Contacts', 'Orders'); "
        "pass --sheet to pick one"
    )


def test_xlsx_sheet_is_picked_by_name(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "book.xlsx", {"Contacts": [["Email"], ["a@x"]], "Orders": [["Id"], [7]]}
    )

    info, rows = read(path, sheet="Orders")

    assert info.sheet == "Orders"
    assert info.header == ["Id"]
    assert values(rows) == [[7]]


def test_xlsx_only_sheet_with_data_is_used_with_a_note(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "book.xlsx", {"Cover": [], "Data": [["Email"], ["a@x"]]})

    info, rows = read(path)

    assert info.sheet == "Data"
    assert "read sheet 'Data', the only one with data" in info.notes
    assert values(rows) == [["a@x"]]


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "book.xlsx", {"Contacts": [["Email"], ["a@x"]]})

    with pytest.raises(InputError) as excinfo:
        open_table(path, sheet="Leads")

    assert error_text(excinfo) == (
        "book.xlsx: the workbook has no sheet named 'Leads'; its sheets: 'Contacts'"
    )


def test_unreadable_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<not-xml")
        archive.writestr("xl/workbook.xml", "<garbage")

    with pytest.raises(InputError, match=r"^broken\.xlsx: cannot read the Excel workbook: "):
        open_table(path)


# ----------------------------------------------------------------------------------- JSON


def test_json_array_streams_objects_with_nested_values(tmp_path: Path) -> None:
    data = [
        {"email": "a@x", "tags": ["vip", "b2b"], "address": {"city": "Paris"}},
        {"email": "b@x", "age": 41, "active": True},
    ]
    path = write(tmp_path, "contacts.json", json.dumps(data, indent=2))

    info, rows = read(path)

    assert info.format == "json"
    assert info.header == ["email", "tags", "address", "age", "active"]
    assert info.encoding == "utf-8"
    assert numbers(rows) == [1, 2]
    assert rows[0].values == ["a@x", ["vip", "b2b"], {"city": "Paris"}, None, None]
    assert rows[1].values == ["b@x", None, None, 41, True]


def test_json_keys_first_seen_after_the_first_thousand_objects_go_to_extra(
    tmp_path: Path,
) -> None:
    data: list[dict[str, object]] = [{"id": index} for index in range(1000)]
    data.append({"id": 1000, "late": "x"})
    path = write(tmp_path, "late.json", json.dumps(data))

    info, rows = read(path)

    assert info.header == ["id"]
    assert rows[-1].number == 1001
    assert rows[-1].values == [1000]
    assert rows[-1].extra == {"late": "x"}


def test_large_minified_json_array_streams_across_blocks(tmp_path: Path) -> None:
    # One line of 8 MB with multi-byte characters: blocks are cut mid-line, never mid-character.
    data = [{"id": index, "note": "é名" * (index % 97)} for index in range(40_000)]
    data[20_000]["note"] = "y" * (3 * 1024 * 1024)  # one element longer than a block
    path = write(tmp_path, "big.json", json.dumps(data, ensure_ascii=False))

    _, rows = read(path)

    assert len(rows) == 40_000
    assert [row.values for row in rows[:2]] == [[0, ""], [1, "é名"]]
    assert rows[20_000].values == [20_000, "y" * (3 * 1024 * 1024)]
    assert [row.values for row in rows] == [[item["id"], item["note"]] for item in data]
    assert all(row.problems == [] for row in rows)


def test_invalid_first_json_element_fails_at_open(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '[{"a": }]')

    with pytest.raises(InputError, match=r"^bad\.json: invalid JSON in element 1: Expecting value"):
        open_table(path)


def test_json_array_of_numbers_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "numbers.json", "[1, 2, 3]")

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == (
        "numbers.json: expected an array of objects, but element 1 is a number"
    )


def test_json_single_object_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "api.json", json.dumps({"results": [{"a": 1}], "next": None}, indent=2))

    with pytest.raises(InputError) as excinfo:
        open_table(path)

    assert error_text(excinfo) == (
        "api.json: expected an array of objects or one object per line (NDJSON), but the file "
        "holds a single JSON object (keys: 'results', 'next'); the rows may be the array "
        "under 'results': export that array alone"
    )


def test_json_element_that_is_not_an_object_is_quarantined(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.json", '[{"a": 1}, "stray", {"a": 3}]')

    _, rows = read(path)

    assert numbers(rows) == [1, 2, 3]
    assert rows[1].values == [None]
    assert rows[1].extra == {"_value": "stray"}
    assert rows[1].problems == [Problem("element 2 is a string, not an object", fatal=True)]
    assert rows[2].values == [3]


def test_json_syntax_error_is_raised_after_the_rows_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '[\n{"a": 1},\n{"a": 2,,}\n]')
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(open_table(path))

    assert values(rows) == [[1]]
    assert re.fullmatch(
        r"bad\.json: invalid JSON in element 2: Expecting property name .* \(line 3\)",
        error_text(excinfo),
    )


def test_json_syntax_error_past_the_header_scan_is_raised_after_its_rows(tmp_path: Path) -> None:
    elements = [json.dumps({"id": index}) for index in range(1500)]
    elements[1200] = '{"id": 1200'
    path = write(tmp_path, "late.json", "[\n" + ",\n".join(elements) + "\n]")
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(open_table(path))

    assert len(rows) == 1200
    assert rows[-1].values == [1199]
    assert error_text(excinfo) == (
        "late.json: invalid JSON in element 1201: "
        "Expecting property name enclosed in double quotes (line 1203)"
    )


def test_json_array_not_closed_is_reported_after_its_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "open.json", '[{"a": 1}, {"a": 2}')
    rows: list[RawRow] = []

    with pytest.raises(InputError) as excinfo:
        rows.extend(open_table(path))

    assert values(rows) == [[1], [2]]
    assert error_text(excinfo) == (
        "open.json: the JSON array is not closed: the file ends after element 2"
    )


def test_ndjson_in_a_json_file_with_a_broken_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events.json",
        '{"id": 1, "ok": true}\n\n{"id": 2, oops}\n[3]\n{"id": 4, "x": 5}\n',
    )

    info, rows = read(path)

    assert info.format == "ndjson"
    assert info.header == ["id", "ok", "x"]
    assert numbers(rows) == [1, 3, 4, 5]
    assert rows[0].values == [1, True, None]
    assert rows[1].values == [None, None, None]
    assert rows[1].extra == {"_raw": '{"id": 2, oops}'}
    assert rows[1].problems == [
        Problem(
            "line 3 is not valid JSON: Expecting property name enclosed in double quotes "
            "(column 11)",
            fatal=True,
        )
    ]
    assert rows[2].problems == [Problem("line 4 is an array, not an object", fatal=True)]
    assert rows[3].values == [4, None, 5]
    assert rows[3].problems == []


def test_single_line_ndjson_file_is_one_row(tmp_path: Path) -> None:
    path = write(tmp_path, "one.jsonl", '{"id": 1}\n')

    info, rows = read(path)

    assert info.format == "ndjson"
    assert values(rows) == [[1]]


def test_gzipped_ndjson_is_read(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": index}) + "\n" for index in range(3))
    path = write(tmp_path, "events.ndjson.gz", gzip.compress(lines.encode()))

    info, rows = read(path)

    assert (info.format, info.compression) == ("ndjson", "gzip")
    assert values(rows) == [[0], [1], [2]]


# -------------------------------------------------------------------------------- Parquet


def test_parquet_rows_keep_python_types(tmp_path: Path) -> None:
    path = tmp_path / "orders.dat"
    table = pa.table(
        {
            "id": [1, 2],
            "placed": [dt.date(2024, 5, 1), None],
            "lines": [[{"sku": "A", "qty": 2}], []],
            "email": ["a@x", None],
        }
    )
    pq.write_table(table, path, row_group_size=1)

    info, rows = read(path)

    assert info.format == "parquet"
    assert info.header == ["id", "placed", "lines", "email"]
    assert numbers(rows) == [1, 2]
    assert rows[0].values == [1, dt.date(2024, 5, 1), [{"sku": "A", "qty": 2}], "a@x"]
    assert rows[1].values == [2, None, [], None]


def test_damaged_parquet_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.parquet", b"PAR1" + b"garbage" * 10)

    with pytest.raises(InputError, match=r"^bad\.parquet: cannot read the Parquet file: "):
        open_table(path)


def test_nul_bytes_are_flagged_on_their_own_lines_whatever_the_line_endings(
    tmp_path: Path,
) -> None:
    # CRLF, LF and a lone CR (old Mac) line ending, a quoted line break, and NUL bytes on
    # some lines: each warning lands on the row whose line holds the NUL, and only there.
    content = b'id,name\r\n1,A\x00nn\r\n2,Bob\n3,"C\x00\x00\nx"\r4,Dan\r\n5,E\x00ve\x00\n6,Fay\n'
    path = write(tmp_path, "nul_lines.csv", content)

    _, rows = read(path)

    assert [r.values for r in rows] == [
        ["1", "Ann"],
        ["2", "Bob"],
        ["3", "C\nx"],
        ["4", "Dan"],
        ["5", "Eve"],
        ["6", "Fay"],
    ]
    warned = [r.values[0] for r in rows if r.problems]
    assert warned == ["1", "3", "5"]
    assert numbers(rows) == [2, 3, 4, 6, 7, 8]
