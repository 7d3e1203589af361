"""Open any input file as a streaming `Table`: the first step of an import.

`open_table` looks at a file's bytes, not its name, to find out what it is: gzip or zip
compression, an Excel workbook, Parquet, JSON (an array of objects), NDJSON (one object per
line) or delimited text (CSV, TSV, semicolon or pipe separated). It returns the header it
found and a lazy iterator of `RawRow`s that reads the file once, in constant memory.

Opening reads only the start of the file (to sniff the format, encoding, delimiter and
header) and closes it again; iterating reopens it. So a table that is never iterated holds
no file handle, and the sniffing code stays apart from the row loop, which is the hot path.

A CRM import must never silently lose a row, so every surprise becomes either a `Problem`
on the row it concerns (fatal ones quarantine the row, the others are warnings), a note in
`TableInfo.notes`, or an `InputError` naming the file when nothing sensible can be read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rolodex.collect.encoding import (
    DataEndedEarly,
    Encoding,
    FlagKind,
    LineDecoder,
    LineFlag,
    detect_encoding,
)
from rolodex.collect.rows import Problem, RawRow, Table, TableInfo
from rolodex.exceptions import InputError

if TYPE_CHECKING:
    from collections import deque

    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

__all__ = ["open_table"]

_HEAD_BYTES = 64 * 1024
_CHUNK_BYTES = 1024 * 1024
_SAMPLE_LINES = 100  # non-blank lines sniffed for the delimiter and the header
_SAMPLE_CHARS = 1024 * 1024
_TITLE_SCAN = 10  # records above the header that may be title lines
_KEY_SCAN = 1000  # JSON objects whose keys make up the header
_PARQUET_BATCH = 10_000
# Large enough for any real field (a 10 MB note), small enough that an unclosed quote that
# swallows the rest of a multi-GB file fails with a clear error instead of exhausting memory.
_FIELD_SIZE_LIMIT = 256 * 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_NDJSON_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_NOT_TEXT = "not a text, Excel, JSON or Parquet file"

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\x89PNG\r\n\x1a\n",), "it looks like a PNG image"),
    ((b"\xff\xd8\xff",), "it looks like a JPEG image"),
    ((b"GIF87a", b"GIF89a"), "it looks like a GIF image"),
    ((b"%PDF-",), "it looks like a PDF document"),
    ((b"\x7fELF",), "it looks like an executable"),
    ((b"SQLite format 3\x00",), "it looks like an SQLite database"),
    (tuple(b"BZh%d1AY&SY" % level for level in range(1, 10)), "it is bzip2-compressed"),
    ((b"\xfd7zXZ\x00",), "it is xz-compressed"),
    ((b"\x28\xb5\x2f\xfd",), "it is zstd-compressed"),
    ((b"7z\xbc\xaf\x27\x1c",), "it is a 7-Zip archive"),
    ((b"Rar!\x1a\x07",), "it is a RAR archive"),
)
_ZIP_CLUTTER = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1f\x7f-\x9f]")
_NUMBERISH = re.compile(r"[\d\s.,:;/+\-%()$€£¥]*\d[\d\s.,:;/+\-%()$€£¥]*")
_JSON_SPACE = re.compile(r"[ \t\n\r\ufeff]+")
# A first field greater than this starts with a character above the space, so the row is
# not blank and the common case needs no per-value check: one string comparison.
_NOT_BLANK = " \U0010ffff"
# Appended after the last good line of a cut-off file: the csv record that swallows it is
# the incomplete one. The quote closes an open quoted field; the extra fields make that
# record longer than the header, so it always takes the slow path, where it is looked for.
_CUT_MARK = "\ue000rolodex-data-ends-here\ue000"

_Rows = Iterator[RawRow]


def open_table(path: Path, *, sheet: str | None = None, display_name: str | None = None) -> Table:
    """Open an input file for import, whatever its format, as a header and a row stream.

    The format comes from the content, so a CSV named `.txt` or NDJSON named `.json` work.
    Rows are read lazily and once: a 5 GB CSV streams in constant memory. Problems with one
    row (wrong field count, a line that is not valid UTF-8, NUL bytes) are attached to that
    row as `Problem`s instead of failing the file; only what makes the whole file unusable
    raises `InputError`, at open time when possible.

    Data that ends early (a truncated gzip, a damaged zip member) is reported after the
    fact: the rows read before the damage are yielded, then iterating raises `InputError`
    ("file ends early: the gzip data is truncated after row N"). A row cut in the middle by
    the truncation is not yielded, and the message says so. Callers that must be
    all-or-nothing should stage the rows until iteration ends without an error.

    A file with a header but no data rows is not an error: `info.header` is filled and the
    iterator yields nothing.

    Args:
        path: The file to read: delimited text, JSON, NDJSON, Excel .xlsx or Parquet; the
            text formats may be gzip- or zip-compressed.
        sheet: The Excel sheet to read. Needed when a workbook has several sheets with
            data; an error for other formats, so that a misplaced option is not ignored.
        display_name: The name used in messages; defaults to the file's name.

    Returns:
        The open table: `info` says what was found (format, encoding, delimiter, header,
        where the header was, notes such as renamed columns); iterating it reopens the file
        and yields `RawRow`s.

    Raises:
        InputError: The file is missing, empty, binary, an unsupported container, JSON that
            is not an array of objects, a workbook with several sheets and no `sheet`, or
            otherwise unreadable; while iterating: the data ends early, or the file changed
            since it was opened.

    Examples:
        >>> table = open_table(Path("contacts.csv.gz"))  # doctest: +SKIP
        >>> table.info.header, table.info.delimiter  # doctest: +SKIP
        (['Email', 'First name'], ';')
        >>> for row in table: ...  # doctest: +SKIP
    """
    name = display_name or path.name
    try:
        if path.is_dir():
            raise InputError("is a directory, not a file", file=name)
        with path.open("rb") as file:
            magic = file.read(16)
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    opened = _Opened(path=path, name=name, sheet=sheet, stamp=_stamp(path))
    if not magic:
        raise opened.error("file is empty")
    if magic.startswith(_ZIP_MAGICS):
        return _open_zip(opened)
    if magic.startswith(_PARQUET_MAGIC):
        return _open_parquet(opened)
    if magic.startswith(_GZIP_MAGIC):
        opened.compression = "gzip"
    else:
        _reject_binary(magic, opened)
    return _open_text(opened)


def _stamp(path: Path) -> tuple[int, int]:
    """Return what tells whether a file changed: its size and modification time."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@dataclass
class _Opened:
    """The file being read: how to reopen it, and what is known for messages and info."""

    path: Path
    name: str
    sheet: str | None
    stamp: tuple[int, int]
    compression: str | None = None
    member: str | None = None
    notes: list[str] = field(default_factory=list)

    def info(self, fmt: str, header: list[str], **fields: Any) -> TableInfo:
        """Build the TableInfo for this file."""
        return TableInfo(
            path=str(self.path),
            format=fmt,
            header=header,
            compression=self.compression,
            notes=self.notes,
            **fields,
        )

    def error(self, message: str, *, row: int | None = None) -> InputError:
        """Make an InputError naming this file."""
        return InputError(message, file=self.name, row=row)

    def reject_sheet(self, fmt: str) -> None:
        """Refuse a sheet name for a file that has no sheets, rather than ignore it."""
        if self.sheet is not None:
            raise self.error(
                f"sheet {self.sheet!r} was given, but this is a {fmt} file, not an Excel workbook"
            )

    def check_unchanged(self) -> None:
        """Refuse to read rows from a file that changed since its header was read."""
        try:
            unchanged = _stamp(self.path) == self.stamp
        except OSError:
            unchanged = False
        if not unchanged:
            raise self.error("the file changed (or vanished) after it was opened; open it again")

    def open_source(self) -> _ByteSource:
        """Open the file's (decompressed) bytes from the start."""
        if self.compression == "gzip":
            return _ByteSource(gzip.open(self.path, "rb"), compression="gzip")
        if self.compression == "zip" and self.member is not None:
            archive = zipfile.ZipFile(self.path)
            try:
                # ZipExtFile is a BufferedIOBase (with read1); typeshed only says IO[bytes]
                member = cast("io.BufferedIOBase", archive.open(self.member))
                return _ByteSource(member, compression="zip", also=archive.close)
            except BaseException:
                archive.close()
                raise
        return _ByteSource(self.path.open("rb"), compression=None)


def _nothing() -> None:
    """Close nothing."""


class _ByteSource:
    """An input's decompressed bytes in chunks, the first ones kept for sniffing."""

    def __init__(
        self,
        stream: io.BufferedIOBase,
        *,
        compression: str | None,
        also: Callable[[], None] = _nothing,
    ) -> None:
        self._stream = stream
        self._close_also = also
        self._what = f"{compression} data" if compression else "data"
        self.damage: str | None = None
        self.at_eof = False
        parts: list[bytes] = []
        size = 0
        while size < _HEAD_BYTES and (chunk := self._read()):
            parts.append(chunk)
            size += len(chunk)
        self.head = b"".join(parts)

    def __enter__(self) -> _ByteSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stream.close()
        self._close_also()

    @property
    def complete(self) -> bool:
        """Whether `head` holds all of the data."""
        return self.at_eof and self.damage is None

    def chunks(self) -> Iterator[bytes]:
        """Yield all the data from the start, then raise DataEndedEarly if it was cut."""
        if self.head:
            yield self.head
        while chunk := self._read():
            yield chunk
        if self.damage is not None:
            raise DataEndedEarly(self.damage)

    def _read(self) -> bytes:
        """Read the next chunk, turning decompression failures into `damage`."""
        if self.at_eof:
            return b""
        try:
            chunk = self._stream.read1(_CHUNK_BYTES)
        except EOFError:
            self.damage = f"file ends early: the {self._what} is truncated"
        except (OSError, zlib.error, zipfile.BadZipFile) as exc:
            self.damage = f"the {self._what} is damaged ({exc})"
        else:
            if chunk:
                return chunk
        self.at_eof = True
        return b""


# ---------------------------------------------------------------------------- containers


def _open_zip(opened: _Opened) -> Table:
    """Open an .xlsx workbook, or the single data file inside a zip archive."""
    try:
        with zipfile.ZipFile(opened.path) as archive:
            names = archive.namelist()
            members = [
                member
                for member in archive.infolist()
                if not member.is_dir() and not _ZIP_CLUTTER.search(member.filename)
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise opened.error(
            f"cannot read the zip archive, it is damaged or truncated: {exc}"
        ) from None
    if "xl/workbook.xml" in names:
        return _open_xlsx(opened)
    if "[Content_Types].xml" in names or "mimetype" in names:
        raise opened.error(f"{_NOT_TEXT}: it is an office document but not an .xlsx workbook")
    if not members:
        raise opened.error("file is empty: the zip archive holds no file")
    if len(members) > 1:
        listed = ", ".join(repr(member.filename) for member in members[:10])
        more = f" and {len(members) - 10} more" if len(members) > 10 else ""
        raise opened.error(
            f"the zip archive holds {len(members)} files ({listed}{more}); "
            "extract the one to import, or zip it alone"
        )
    opened.compression = "zip"
    opened.member = members[0].filename
    opened.notes.append(f"read {opened.member!r} from the zip archive")
    return _open_text(opened)


def _reject_binary(magic: bytes, opened: _Opened) -> None:
    """Raise InputError for well-known binary formats, naming what the file is."""
    if magic.startswith(_OLE2_MAGIC):
        raise opened.error(
            f"{_NOT_TEXT}: it is an old Excel .xls workbook (or another legacy Office "
            "document); save it as .xlsx or CSV"
        )
    for prefixes, what in _BINARY_MAGICS:
        if magic.startswith(prefixes):
            raise opened.error(f"{_NOT_TEXT}: {what}")


def _reject_nested(head: bytes, opened: _Opened) -> None:
    """Refuse containers inside gzip or zip, which would need the whole file unpacked."""
    nested = (
        (_PARQUET_MAGIC, "a Parquet file"),
        (_GZIP_MAGIC, "gzip data"),
        *((magic, "a zip archive or Excel workbook") for magic in _ZIP_MAGICS),
    )
    for magic, what in nested:
        if head.startswith(magic):
            raise opened.error(
                f"the {opened.compression} data holds {what}, which cannot be read from "
                "inside it; decompress it first"
            )


def _looks_binary(text: str) -> bool:
    """Say whether decoded text is too full of control characters to be a data file."""
    if not text:
        return False
    controls = len(_CONTROL.findall(text))
    return controls > len(text) * 0.05 or text.count("\x00") > len(text) * 0.3


def _open_text(opened: _Opened) -> Table:
    """Detect the encoding and the text format, then sniff with the matching reader."""
    try:
        source = opened.open_source()
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise opened.error(f"cannot read the file: {exc}") from None
    with source:
        if not source.head:
            if source.damage is not None:
                raise opened.error(source.damage)
            raise opened.error("file is empty")
        head = source.head[:_HEAD_BYTES]
        complete = source.complete and len(source.head) <= _HEAD_BYTES
        if opened.compression is not None:
            _reject_nested(head, opened)
            _reject_binary(head, opened)
        encoding = detect_encoding(head, complete=complete)
        text = head[encoding.bom :].decode(encoding.codec, "replace")
        if _looks_binary(text):
            raise opened.error(_NOT_TEXT)
        if not text.strip() and complete:
            raise opened.error("file is empty (it holds only blank lines)")
        reader = _text_reader(opened, encoding, text, complete=complete)
        info = reader.sniff(LineDecoder(source.chunks(), encoding))
    return Table(info, reader.rows())


def _text_reader(
    opened: _Opened, encoding: Encoding, text: str, *, complete: bool
) -> _CsvReader | _NdjsonReader | _JsonArrayReader:
    """Choose the reader for a text file from how its first characters look."""
    start = text.lstrip()[:1]
    if start == "[" and _is_json_array(text):
        opened.reject_sheet("JSON")
        return _JsonArrayReader(opened, encoding)
    if start == "{":
        _check_ndjson(opened, text, complete=complete)
        opened.reject_sheet("NDJSON")
        return _NdjsonReader(opened, encoding)
    opened.reject_sheet("CSV")
    return _CsvReader(opened, encoding)


# ------------------------------------------------------------------------------- headers


def _clean_header(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Strip header names, name empty ones column_N and number duplicates; return notes."""
    stripped = [name.replace("\x00", "").strip().strip("\ufeff\u200b").strip() for name in names]
    taken = set(stripped)
    header: list[str] = []
    notes: list[str] = []
    used: set[str] = set()
    for position, name in enumerate(stripped, start=1):
        if not name:
            name = f"column_{position}"
            if name in used or name in taken:
                name = _unique(name, taken, used)
            notes.append(f"column {position} has no header; named it {name!r}")
        elif name in used:
            renamed = _unique(name, taken, used)
            notes.append(f"renamed duplicate header {name!r} to {renamed!r}")
            name = renamed
        used.add(name)
        header.append(name)
    return header, notes


def _unique(name: str, taken: set[str], used: set[str]) -> str:
    """Return `name_2`, `name_3`...: the first in neither the header nor the names used."""
    suffix = 2
    while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in used:
        suffix += 1
    return f"{name}_{suffix}"


def _find_header(records: Sequence[Sequence[str]]) -> int:
    """Return the index of the header among the first records: 0 unless title lines precede it.

    A title line ("Export from HubSpot, 2024-05-01") has few filled fields; the header is
    the first record with the field count of the rows below it that looks like labels.
    Only title-like records are ever skipped, so a data row is not mistaken for a title.
    """
    if len(records) < 2:
        return 0
    width = Counter(len(record) for record in records[1:]).most_common(1)[0][0]
    for index, record in enumerate(records[:_TITLE_SCAN]):
        if len(record) == width and _looks_like_header(record):
            return index
        if not _looks_like_title(record, width):
            return 0
    return 0


def _looks_like_header(cells: Sequence[str]) -> bool:
    """Say whether cells look like column labels: mostly filled, not numbers, distinct."""
    labels = [cell.strip() for cell in cells if cell.strip()]
    if len(labels) * 2 < len(cells):
        return False
    if any(_NUMBERISH.fullmatch(label) for label in labels):
        return False
    return len(set(labels)) * 5 >= len(labels) * 4


def _looks_like_title(cells: Sequence[str], width: int) -> bool:
    """Say whether a record above the header could be a title line rather than data."""
    filled = sum(1 for cell in cells if cell.strip())
    return filled <= max(2, width // 2)


def _preview(text: str, limit: int = 60) -> str:
    """Shorten text for a note."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flag_message(flag: LineFlag, encoding: str) -> str:
    """Describe a decoding flag for a row's Problem or the file's notes."""
    if flag.kind is FlagKind.CP1252_FALLBACK:
        return f"line {flag.line} is not valid UTF-8; read as cp1252"
    if flag.kind is FlagKind.UTF8_IN_CP1252:
        return f"line {flag.line} is UTF-8 in a cp1252 file; read as UTF-8"
    if flag.kind is FlagKind.REPLACED:
        return (
            f"line {flag.line} has bytes that are not valid {encoding}; replaced them with U+FFFD"
        )
    return f"removed NUL bytes from line {flag.line}"


def _pop_flags(flags: deque[LineFlag], last_line: int) -> list[LineFlag]:
    """Take the flags of the lines up to `last_line` off the queue."""
    taken = []
    while flags and flags[0].line <= last_line:
        taken.append(flags.popleft())
    return taken


def _ended_message(ended: DataEndedEarly, where: str, *, lost: bool) -> str:
    """Say where the data ended early and whether an incomplete row was left out."""
    tail = "; the incomplete row after it was not read" if lost else ""
    return f"{ended.reason} {where}{tail}"


# ----------------------------------------------------------------------------------- CSV


class _CsvReader:
    """Delimited text: sniff the delimiter and header on a sample, then stream the rows."""

    def __init__(self, opened: _Opened, encoding: Encoding) -> None:
        self._opened = opened
        self._encoding = encoding
        self._delimiter = ","
        self._header: list[str] = []
        self._header_end = 0
        self._flags: deque[LineFlag] | None = None
        self._partial_row: int | None = None

    def sniff(self, decoder: LineDecoder) -> TableInfo:
        """Find the delimiter and the header on the first lines."""
        csv.field_size_limit(max(csv.field_size_limit(), _FIELD_SIZE_LIMIT))
        sample, complete = _take_sample(decoder.lines())
        delimiter = _sniff_delimiter(sample, complete=complete)
        if delimiter is None:
            self._opened.notes.append("found no delimiter; read the file as a single column")
            delimiter = ","
        self._delimiter = delimiter
        records = _sample_records(sample, delimiter, complete=complete)
        if not records:
            if decoder.ended_early is not None:
                raise self._opened.error(decoder.ended_early.reason)
            if complete:
                raise self._opened.error("file is empty (it holds only blank lines)")
            raise self._opened.error("found no header in the first megabyte (only blank lines)")
        index = _find_header([fields for _, _, fields in records])
        header_line, self._header_end, raw_header = records[index]
        if index:
            skipped = "; ".join(
                repr(_preview(delimiter.join(fields))) for _, _, fields in records[:index]
            )
            self._opened.notes.append(
                f"the header is on line {header_line}; skipped the title lines above it: {skipped}"
            )
        self._header, notes = _clean_header(raw_header)
        self._opened.notes.extend(notes)
        for flag in _pop_flags(decoder.flags, self._header_end):
            self._opened.notes.append(_flag_message(flag, self._encoding.name))
        return self._opened.info(
            "csv",
            self._header,
            encoding=self._encoding.name,
            delimiter=delimiter,
            header_row=header_line,
        )

    def rows(self) -> _Rows:
        """Reopen the file and yield its data rows; the loop is every CSV import's hot path."""
        self._opened.check_unchanged()
        csv.field_size_limit(max(csv.field_size_limit(), _FIELD_SIZE_LIMIT))
        width = len(self._header)
        last = end = 0
        with self._opened.open_source() as source:
            decoder = LineDecoder(source.chunks(), self._encoding)
            flags = self._flags = decoder.flags
            lines = chain(decoder.lines(), self._cut_mark(decoder))
            reader = csv.reader(lines, delimiter=self._delimiter, strict=False)
            try:
                for _ in reader:
                    if reader.line_num >= self._header_end:
                        break
                _pop_flags(flags, self._header_end)
                end = reader.line_num
                for fields in reader:
                    start = end + 1
                    end = reader.line_num
                    if (
                        len(fields) == width
                        and end == start
                        and fields[0] > _NOT_BLANK
                        and (not flags or flags[0].line > end)
                    ):
                        last = start
                        yield RawRow(start, fields)
                        continue
                    row = self._odd_row(fields, start, end)
                    if row is not None:
                        last = start
                        yield row
            except csv.Error as exc:
                raise self._opened.error(
                    f"cannot read the row: {exc}; a quote is probably not closed", row=end + 1
                ) from None
            if decoder.ended_early is not None:
                where = f"after row {last}" if last else "after the header"
                lost = self._partial_row is not None or decoder.dropped_tail
                raise self._opened.error(_ended_message(decoder.ended_early, where, lost=lost))

    def _cut_mark(self, decoder: LineDecoder) -> Iterator[str]:
        """Yield the cut mark line after the data, if the data ended early."""
        if decoder.ended_early is not None:
            marks = (self._delimiter + _CUT_MARK) * (len(self._header) + 1)
            yield f'{_CUT_MARK}"{marks}\n'

    def _odd_row(self, fields: list[str], start: int, end: int) -> RawRow | None:
        """Build a row that needs care: flagged lines, wrong width, blank, several lines."""
        problems: list[Problem] = []
        flags = self._flags
        if flags and flags[0].line <= end:
            self._apply_flags(_pop_flags(flags, end), fields, problems)
        if not any(value.strip() for value in fields):
            return None
        if fields[-1] == _CUT_MARK:
            self._partial_row = None if fields[0].startswith(_CUT_MARK) else start
            return None
        width = len(self._header)
        values: list[Any] = fields
        extra: dict[str, Any] | None = None
        if len(fields) != width:
            problems.append(Problem(f"row has {len(fields)} fields, the header has {width}"))
            if len(fields) > width:
                values = fields[:width]
                extra = {f"_extra_{n}": value for n, value in enumerate(fields[width:], start=1)}
            else:
                values = [*fields, *([None] * (width - len(fields)))]
        if end != start:
            problems.extend(self._merged_rows(fields, start, end))
        return RawRow(start, values, extra, problems)

    def _apply_flags(
        self, taken: list[LineFlag], fields: list[str], problems: list[Problem]
    ) -> None:
        """Turn decoding flags into problems; remove NUL bytes from the values."""
        nul = False
        for flag in taken:
            if flag.kind is FlagKind.NUL:
                nul = True
            else:
                problems.append(Problem(_flag_message(flag, self._encoding.name), fatal=False))
        if not nul:
            return
        for index, value in enumerate(fields):
            if "\x00" in value:
                fields[index] = value.replace("\x00", "")
                column = self._column(index)
                problems.append(
                    Problem("removed NUL bytes from the value", column=column, fatal=False)
                )

    def _merged_rows(self, fields: list[str], start: int, end: int) -> list[Problem]:
        """Flag a value holding several lines that look like rows (an unclosed quote).

        One such line can be a legitimate note ("12 Main St, Apt 4, Springfield"); two or
        more are what a stray quote that swallowed the following rows leaves behind.
        """
        needed = max(2, len(self._header) - 1)
        for index, value in enumerate(fields):
            lines = value.splitlines()[1:]
            if sum(line.count(self._delimiter) >= needed for line in lines) >= 2:
                message = (
                    f"row spans lines {start}-{end} and this value holds lines that look like "
                    "rows of their own; a quote is probably not closed"
                )
                return [Problem(message, column=self._column(index))]
        return []

    def _column(self, index: int) -> str:
        """Name the field at `index`: its header, or its key in `extra`."""
        width = len(self._header)
        return self._header[index] if index < width else f"_extra_{index - width + 1}"


def _take_sample(lines: Iterator[str]) -> tuple[list[str], bool]:
    """Take the first lines for sniffing; say whether they are the whole file."""
    sample: list[str] = []
    filled = size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        filled += not line.isspace()
        if filled >= _SAMPLE_LINES or size >= _SAMPLE_CHARS:
            return sample, False
    return sample, True


def _sniff_delimiter(sample: list[str], *, complete: bool) -> str | None:
    """Pick the delimiter giving the most consistent field count above one, or None.

    csv.Sniffer is easily fooled (a semicolon file with commas in its values); counting
    fields with the csv module itself respects quotes, and consistency across rows is what
    tells the real delimiter from one that merely occurs in the data.
    """
    best: str | None = None
    best_key: tuple[float, int, int] | None = None
    for rank, delimiter in enumerate(_DELIMITERS):
        records = _sample_records(sample, delimiter, complete=complete)
        if not records:
            continue
        width, hits = Counter(len(fields) for _, _, fields in records).most_common(1)[0]
        if width < 2:
            continue
        key = (hits / len(records), width, -rank)
        if best_key is None or key > best_key:
            best, best_key = delimiter, key
    return best


def _sample_records(
    sample: list[str], delimiter: str, *, complete: bool
) -> list[tuple[int, int, list[str]]]:
    """Parse the sample into (first line, last line, fields) of its non-blank records."""
    reader = csv.reader(sample, delimiter=delimiter, strict=False)
    records: list[tuple[int, int, list[str]]] = []
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(value.strip() for value in fields):
                records.append((start, end, fields))
    except csv.Error:
        pass  # the row loop reports it, with its row number
    if not complete and len(records) > 1:
        records.pop()  # may be cut off by the end of the sample
    return records


# ---------------------------------------------------------------------------------- JSON


def _is_json_array(text: str) -> bool:
    """Say whether text starting with '[' is JSON rather than CSV with a bracketed header."""
    rest = text.lstrip()[1:].lstrip()
    if rest[:1] in ("{", "]"):
        return True
    try:
        json.JSONDecoder().raw_decode(rest)
    except json.JSONDecodeError:
        return False
    return True


def _describe(value: object) -> str:
    """Name the JSON type of a value, for messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if value is None:
        return "null"
    return "a number"


def _check_ndjson(opened: _Opened, text: str, *, complete: bool) -> None:
    """Accept text starting with '{' as NDJSON, or explain why it holds no rows."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and len(lines) > 1:
        lines.pop()
    objects = 0
    for line in lines[:20]:
        try:
            objects += isinstance(json.loads(line), dict)
        except ValueError:
            continue
    suffixes = {suffix.lower() for suffix in opened.path.suffixes}
    if objects and (len(lines) > 1 or not complete or suffixes & _NDJSON_SUFFIXES):
        return
    expected = "expected an array of objects or one object per line (NDJSON)"
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        if not complete:
            raise opened.error(f"{expected}, but the file holds one large JSON object") from None
        raise opened.error(
            f"the file starts with '{{' but is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None
    keys = ", ".join(repr(key) for key in list(value)[:10])
    hint = ""
    for key, item in value.items():
        if isinstance(item, list) and item and isinstance(item[0], dict):
            hint = f"; the rows may be the array under {key!r}: export that array alone"
            break
    raise opened.error(f"{expected}, but the file holds a single JSON object (keys: {keys}){hint}")


class _KeyedRows:
    """Turn JSON objects into rows against a header of the keys of the first objects."""

    def __init__(self, opened: _Opened, encoding: Encoding) -> None:
        self._opened = opened
        self._encoding = encoding
        self._keys: list[str] = []
        self._key_set: frozenset[str] = frozenset()

    def _set_keys(self, objects: Iterator[object]) -> list[str]:
        """Take the union of keys of the objects, in order of first appearance."""
        keys: dict[str, None] = {}
        for item in objects:
            if isinstance(item, dict):
                keys.update(dict.fromkeys(item))
        self._keys = list(keys)
        self._key_set = frozenset(keys)
        header, notes = _clean_header(self._keys)
        self._opened.notes.extend(notes)
        return header

    def _row(self, number: int, item: object, problems: list[Problem], what: str) -> RawRow:
        """Make the row for one JSON value; a value that is not an object is quarantined."""
        if isinstance(item, dict):
            extra = None
            if not self._key_set.issuperset(item):
                extra = {key: value for key, value in item.items() if key not in self._key_set}
            return RawRow(number, list(map(item.get, self._keys)), extra, problems)
        problems.append(Problem(f"{what} is {_describe(item)}, not an object"))
        return RawRow(number, [None] * len(self._keys), {"_value": item}, problems)

    def _flag_problems(self, flags: deque[LineFlag], last_line: int) -> list[Problem]:
        """Turn the decoding flags of the lines up to `last_line` into warnings."""
        if not flags or flags[0].line > last_line:
            return []
        return [
            Problem(_flag_message(flag, self._encoding.name), fatal=False)
            for flag in _pop_flags(flags, last_line)
        ]


_Parsed = tuple[int, str, object, str | None]


class _NdjsonReader(_KeyedRows):
    """One JSON object per line; a bad line becomes a quarantined row, not a crash."""

    def sniff(self, decoder: LineDecoder) -> TableInfo:
        """Read the keys of the first objects for the header."""
        objects: list[object] = []
        for _, _, value, error in _parse_lines(decoder.lines()):
            if error is None:
                objects.append(value)
                if len(objects) >= _KEY_SCAN:
                    break
        header = self._set_keys(iter(objects))
        return self._opened.info("ndjson", header, encoding=self._encoding.name)

    def rows(self) -> _Rows:
        """Reopen the file and yield one row per non-blank line."""
        self._opened.check_unchanged()
        last = 0
        with self._opened.open_source() as source:
            decoder = LineDecoder(source.chunks(), self._encoding)
            for number, text, value, error in _parse_lines(decoder.lines()):
                problems = self._flag_problems(decoder.flags, number)
                if error is None:
                    yield self._row(number, value, problems, f"line {number}")
                else:
                    problems.append(Problem(f"line {number} is not valid JSON: {error}"))
                    yield RawRow(number, [None] * len(self._keys), {"_raw": text}, problems)
                last = number
            if decoder.ended_early is not None:
                where = f"after row {last}" if last else "before the first row"
                lost = decoder.dropped_tail
                raise self._opened.error(_ended_message(decoder.ended_early, where, lost=lost))


def _parse_lines(lines: Iterator[str]) -> Iterator[_Parsed]:
    """Parse each non-blank line: (line number, text, value, error message or None)."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if "\x00" in text:
            text = text.replace("\x00", "")
        try:
            yield number, text, json.loads(text), None
        except json.JSONDecodeError as exc:
            yield number, text, None, f"{exc.msg} (column {exc.colno})"


class _JsonArrayReader(_KeyedRows):
    """A JSON array of objects; the header is the keys of its first objects."""

    def sniff(self, decoder: LineDecoder) -> TableInfo:
        """Read the keys of the first objects for the header.

        An error after the first element (invalid JSON, data ending early) is left for the
        row pass, which raises it after yielding the rows before it.
        """
        objects: list[object] = []
        try:
            for index, _, value in _JsonElements(decoder, self._opened).elements():
                if index == 1 and not isinstance(value, dict):
                    raise self._opened.error(
                        f"expected an array of objects, but element 1 is {_describe(value)}"
                    )
                objects.append(value)
                if index >= _KEY_SCAN:
                    break
        except InputError:
            if not objects:
                raise
        header = self._set_keys(iter(objects))
        return self._opened.info("json", header, encoding=self._encoding.name)

    def rows(self) -> _Rows:
        """Reopen the file and yield one row per array element."""
        self._opened.check_unchanged()
        with self._opened.open_source() as source:
            decoder = LineDecoder(source.chunks(), self._encoding)
            for index, line, value in _JsonElements(decoder, self._opened).elements():
                problems = self._flag_problems(decoder.flags, line)
                yield self._row(index, value, problems, f"element {index}")


class _JsonElements:
    """Parse the elements of a top-level JSON array over a sliding buffer of text blocks.

    `json.load` would hold a multi-GB file in memory; `raw_decode` decodes one element at
    a time from a buffer that is refilled (and trimmed) as the parse moves on.
    """

    def __init__(self, decoder: LineDecoder, opened: _Opened) -> None:
        self._decoder = decoder
        self._opened = opened
        self._blocks = decoder.blocks()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # the line number at `_line_pos`
        self._line_pos = 0

    def elements(self) -> Iterator[tuple[int, int, object]]:
        """Yield (element number, the line it ends on, value) for each element."""
        if self._next_char() != "[":
            raise self._syntax_error("expected '[' at the start of the file")
        self._pos += 1
        index = 0
        if self._next_char() == "]":
            self._pos += 1
        else:
            while True:
                value = self._value(index)
                index += 1
                yield index, self._line_at(self._pos), value
                char = self._next_char()
                self._pos += 1
                if char == "]":
                    break
                if char is None:
                    raise self._ended(index)
                if char != ",":
                    raise self._syntax_error(f"expected ',' or ']' after element {index}")
        if self._next_char() is not None:
            raise self._syntax_error("unexpected data after the end of the JSON array")
        if self._decoder.ended_early is not None:
            raise self._ended(index)

    def _value(self, index: int) -> object:
        """Decode the value at the current position, reading more text as needed."""
        while True:
            if self._next_char() is None:
                raise self._ended(index)
            try:
                value, end = self._json.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                # Probably cut by the end of the buffer: grow it geometrically and retry.
                if self._fill(len(self._buffer) - self._pos):
                    continue
                if self._decoder.ended_early is not None:
                    raise self._ended(index) from None
                raise self._syntax_error(
                    f"invalid JSON in element {index + 1}: {exc.msg}", at=exc.pos
                ) from None
            if end == len(self._buffer) and not isinstance(value, dict | list) and self._fill(1):
                continue  # a number may go on in the next block
            self._pos = end
            return value

    def _next_char(self) -> str | None:
        """Skip whitespace and return the next character without consuming it, or None."""
        while True:
            match = _JSON_SPACE.match(self._buffer, self._pos)
            if match:
                self._pos = match.end()
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill(1):
                return None

    def _fill(self, at_least: int) -> bool:
        """Drop the parsed text and append at least `at_least` characters; False at the end."""
        if self._eof:
            return False
        self._line_at(self._pos)
        parts = [self._buffer[self._pos :]]
        self._line_pos -= self._pos
        self._pos = 0
        added = 0
        while added < max(at_least, 1):
            block = next(self._blocks, None)
            if block is None:
                self._eof = True
                break
            if "\x00" in block:
                block = block.replace("\x00", "")
            parts.append(block)
            added += len(block)
        self._buffer = "".join(parts)
        return added > 0

    def _line_at(self, pos: int) -> int:
        """Return the line number at buffer position `pos` (not before the last one asked)."""
        if pos > self._line_pos:
            self._line += self._buffer.count("\n", self._line_pos, pos)
            self._line_pos = pos
        return self._line

    def _ended(self, index: int) -> InputError:
        """Make the error for a JSON array whose data stops before its end."""
        ended = self._decoder.ended_early
        where = f"after element {index}" if index else "before the first element"
        if ended is not None:
            return self._opened.error(_ended_message(ended, where, lost=False))
        return self._opened.error(f"the JSON array is not closed: the file ends {where}")

    def _syntax_error(self, message: str, *, at: int | None = None) -> InputError:
        """Make the error for invalid JSON, with the line where it was found."""
        return self._opened.error(
            f"{message} (line {self._line_at(self._pos if at is None else at)})"
        )


# --------------------------------------------------------------------------------- Excel


def _load_workbook(opened: _Opened) -> Workbook:
    """Open a workbook in read-only (streaming) mode."""
    from openpyxl import load_workbook

    try:
        return load_workbook(opened.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl reports damage as KeyError, XML and zip errors alike
        raise opened.error(f"cannot read the Excel workbook: {exc}") from None


def _sheets(workbook: Workbook) -> list[ReadOnlyWorksheet]:
    """Return the workbook's worksheets (not chart sheets), trusting cells over stored sizes."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    sheets: list[ReadOnlyWorksheet] = [
        sheet for sheet in workbook.worksheets if isinstance(sheet, ReadOnlyWorksheet)
    ]
    for sheet in sheets:
        sheet.reset_dimensions()
    return sheets


def _open_xlsx(opened: _Opened) -> Table:
    """Pick the sheet of an .xlsx workbook and find its header."""
    workbook = _load_workbook(opened)
    try:
        sheet = _pick_sheet(opened, workbook.sheetnames, _sheets(workbook))
        header_row, header = _sniff_sheet(opened, sheet)
    finally:
        workbook.close()
    info = opened.info("xlsx", header, sheet=sheet.title, header_row=header_row)
    return Table(info, _sheet_rows(opened, sheet.title, header_row, len(header)))


def _pick_sheet(
    opened: _Opened, names: list[str], sheets: list[ReadOnlyWorksheet]
) -> ReadOnlyWorksheet:
    """Return the sheet asked for, or the only sheet with data."""
    if opened.sheet is not None:
        for sheet in sheets:
            if sheet.title == opened.sheet:
                return sheet
        listed = ", ".join(repr(name) for name in names)
        raise opened.error(
            f"the workbook has no sheet named {opened.sheet!r}; its sheets: {listed}"
        )
    filled = [sheet for sheet in sheets if _sheet_has_data(sheet)]
    if not filled:
        raise opened.error("file is empty: no sheet of the workbook holds data")
    if len(filled) > 1:
        listed = ", ".join(repr(sheet.title) for sheet in filled)
        raise opened.error(
            f"the workbook has several sheets with data ({listed}); pass --sheet to pick one"
        )
    if len(sheets) > 1:
        opened.notes.append(f"read sheet {filled[0].title!r}, the only one with data")
    return filled[0]


def _sheet_values(sheet: ReadOnlyWorksheet) -> Iterator[tuple[object, ...]]:
    """Iterate a read-only sheet's rows as tuples of cell values."""
    # types-openpyxl gives ReadOnlyWorksheet.iter_rows Worksheet as `self` (openpyxl
    # borrows the method from Worksheet); the call is correct at runtime.
    return sheet.iter_rows(values_only=True)  # type: ignore[misc]


def _sheet_has_data(sheet: ReadOnlyWorksheet) -> bool:
    """Say whether any cell of the sheet holds a value."""
    return any(_cells_text(row) for row in _sheet_values(sheet))


def _cells_text(row: Sequence[object]) -> list[str]:
    """Render cells as text for header sniffing, without trailing empty cells."""
    cells = ["" if value is None else str(value) for value in row]
    while cells and not cells[-1].strip():
        cells.pop()
    return cells


def _sniff_sheet(opened: _Opened, sheet: ReadOnlyWorksheet) -> tuple[int, list[str]]:
    """Find the header of a sheet: (its row number, its cleaned names)."""
    numbers: list[int] = []
    records: list[list[str]] = []
    for number, row in enumerate(_sheet_values(sheet), start=1):
        cells = _cells_text(row)
        if cells:
            numbers.append(number)
            records.append(cells)
            if len(records) >= _SAMPLE_LINES:
                break
    if not records:
        raise opened.error(f"file is empty: sheet {sheet.title!r} holds no data")
    index = _find_header(records)
    if index:
        skipped = "; ".join(repr(_preview(" ".join(cells))) for cells in records[:index])
        opened.notes.append(
            f"the header is on row {numbers[index]}; skipped the title rows above it: {skipped}"
        )
    header, notes = _clean_header(records[index])
    opened.notes.extend(notes)
    return numbers[index], header


def _sheet_rows(opened: _Opened, title: str, header_row: int, width: int) -> _Rows:
    """Reopen the workbook and yield the rows below the header.

    Empty cells are "" and values keep their Excel types (numbers, dates, booleans). Unlike
    a CSV line, a spreadsheet cannot shift values between columns, so a value in an unnamed
    column right of the header is kept in `extra` with a warning instead of quarantined.
    """
    opened.check_unchanged()
    workbook = _load_workbook(opened)
    try:
        sheet = next(sheet for sheet in _sheets(workbook) if sheet.title == title)
        for number, row in enumerate(_sheet_values(sheet), start=1):
            if number <= header_row:
                continue
            values: list[Any] = ["" if value is None else value for value in row]
            if not any(value.strip() if isinstance(value, str) else True for value in values):
                continue
            extra: dict[str, Any] | None = None
            problems: list[Problem] = []
            if len(values) > width:
                beyond = values[width:]
                del values[width:]
                extra = {f"_extra_{n}": value for n, value in enumerate(beyond, 1) if value != ""}
                if extra:
                    message = (
                        f"row has values right of the header's last column; "
                        f"kept them as {', '.join(extra)}"
                    )
                    problems.append(Problem(message, fatal=False))
                else:
                    extra = None
            else:
                values.extend([""] * (width - len(values)))
            yield RawRow(number, values, extra, problems)
    finally:
        workbook.close()


# ------------------------------------------------------------------------------- Parquet


def _open_parquet(opened: _Opened) -> Table:
    """Read a Parquet file's schema for the header."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    opened.reject_sheet("Parquet")
    try:
        names = pq.read_schema(opened.path).names
    except (pa.ArrowException, OSError) as exc:
        raise opened.error(f"cannot read the Parquet file: {exc}") from None
    header, notes = _clean_header(names)
    opened.notes.extend(notes)
    return Table(opened.info("parquet", header), _parquet_rows(opened))


def _parquet_rows(opened: _Opened) -> _Rows:
    """Yield one row per record, batch by batch; values keep their Python types."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    opened.check_unchanged()
    number = 0
    try:
        with pq.ParquetFile(opened.path) as parquet:
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
                columns = [column.to_pylist() for column in batch.columns]
                for values in zip(*columns, strict=True):
                    number += 1
                    yield RawRow(number, list(values))
    except (pa.ArrowException, OSError) as exc:
        raise opened.error(f"cannot read the Parquet file after row {number}: {exc}") from None
