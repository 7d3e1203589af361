"""Find a text file's encoding and decode it into lines, without losing a byte.

The readers call `detect_encoding` on the first bytes of an input, then read the whole input
through a `LineDecoder`. The decoder works on blocks of about a megabyte, so the common case
(a clean UTF-8 file) costs one C-level decode per block and no Python work per line. Lines
that need care are recorded as `LineFlag`s, by physical line number, so that the reader can
attach a Problem to the row they belong to:

- a line of a UTF-8 file that is not valid UTF-8 is read as cp1252, and a line of a cp1252
  file that is valid UTF-8 is read as UTF-8 (exports appended to by two different tools
  are common, and either may come first);
- a line holding NUL bytes (the reader removes them from the values);
- a line of a file in another encoding with bytes that encoding cannot read (replaced by
  U+FFFD, the only case where a character is lost, and it is said on the row).
"""

from __future__ import annotations

import codecs
import enum
import io
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from itertools import chain
from typing import AnyStr, NamedTuple

__all__ = [
    "DataEndedEarly",
    "Encoding",
    "FlagKind",
    "LineDecoder",
    "LineFlag",
    "detect_encoding",
]

# Encodings charset-normalizer may propose that we read as cp1252 instead: cp1252 is a
# superset of their printable range and is what Windows tools actually write.
_CP1252_ALIASES = frozenset({"ascii", "latin_1", "iso8859_1", "iso8859_15", "cp1252"})
# Undefined in cp1252; decoded as the C1 control with the same number so no byte is lost.
_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_C1_HANDLER = "rolodex-cp1252-c1"
_ASCII_PROBE = "\t\n\r ,;|\"'{}[]:azAZ09"
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Western words rarely hold three accented letters in a row; misread Cyrillic or Greek does.
_ACCENTED_RUN = re.compile(r"[\u00c0-\u024f]{3,}")
_UTF16_PROBE_BYTES = 4096
_BLOCK_CHARS = 1024 * 1024  # a block for blocks() may end mid-line past this size
# A multi-byte UTF-8 character. cp1252 text almost never contains one by accident, so a
# cp1252 block without one needs no line-by-line look.
_UTF8_CHAR = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


class DataEndedEarly(Exception):
    """Raised by a chunk iterator after its last good chunk when the data is cut or damaged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Encoding:
    """How to decode a file: the name reported to the user and the codec that reads it.

    `name` is what goes into `TableInfo.encoding` ("utf-8-sig" says the file had a UTF-8
    byte order mark); `codec` is the Python codec used after the `bom` bytes are skipped.
    """

    name: str
    codec: str
    bom: int = 0

    @property
    def is_utf8(self) -> bool:
        """Whether the file is read as UTF-8 (with cp1252 for lines that are not)."""
        return self.codec == "utf-8"


class FlagKind(enum.Enum):
    """Why a line was flagged while decoding."""

    CP1252_FALLBACK = "cp1252"
    UTF8_IN_CP1252 = "utf-8"
    REPLACED = "replaced"
    NUL = "nul"


class LineFlag(NamedTuple):
    """A physical line (1-based) that needed care while decoding."""

    line: int
    kind: FlagKind


def detect_encoding(head: bytes, *, complete: bool) -> Encoding:
    """Decide how to decode a text file from its first bytes.

    The order matters: a byte order mark is certain; BOM-less UTF-16 is recognised by its
    NUL bytes before anything else looks at them; valid UTF-8 is almost never an accident,
    so a file whose non-ASCII lines are mostly valid UTF-8 is read as UTF-8 (the odd cp1252
    line is then handled line by line). Only then is a legacy code page guessed, with
    charset-normalizer proposing candidates and a plausibility check choosing among them,
    because on short samples charset-normalizer alone often picks cp1250 for French or
    German text.

    Args:
        head: The first bytes of the (decompressed) file, ideally 64 KiB.
        complete: Whether `head` is the whole file (its last line is then complete).

    Returns:
        The encoding to read the file with.
    """
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "utf-8", bom=3)
    if head.startswith(codecs.BOM_UTF16_LE):
        return Encoding("utf-16-le", "utf-16-le", bom=2)
    if head.startswith(codecs.BOM_UTF16_BE):
        return Encoding("utf-16-be", "utf-16-be", bom=2)
    utf16 = _bomless_utf16(head)
    if utf16 is not None:
        return Encoding(utf16, utf16)
    lines = head.splitlines()
    valid = invalid = 0
    for index, line in enumerate(lines):
        if line.isascii():
            continue
        final = complete or index < len(lines) - 1
        try:
            codecs.getincrementaldecoder("utf-8")().decode(line, final)
        except UnicodeDecodeError:
            invalid += 1
        else:
            valid += 1
    if invalid == 0 or valid > invalid:
        return Encoding("utf-8", "utf-8")
    if not complete and len(lines) > 1:
        lines.pop()  # may end inside a multi-byte character
    legacy = _guess_legacy(b"".join(line + b"\n" for line in lines))
    return Encoding(legacy, legacy)


class LineDecoder:
    """Decode chunks of bytes into text, block by block, flagging lines that needed care.

    `lines()` yields whole physical lines (for the csv module and NDJSON); `blocks()`
    yields text in blocks of about a megabyte that may end mid-line, so that a minified
    JSON file, one huge line, still streams. Use one of them, once.

    `flags` receives a `LineFlag` for each line that needed care, in line order, as blocks
    are decoded (ahead of the consumer, which reads a block's lines after it is decoded);
    the reader pops them as its rows pass those lines. `ended_early` is set when the chunk
    iterator raised `DataEndedEarly`; the partial last line, if any, is then dropped and
    `dropped_tail` says so.
    """

    def __init__(self, chunks: Iterable[bytes], encoding: Encoding) -> None:
        self.encoding = encoding
        self.flags: deque[LineFlag] = deque()
        self.ended_early: DataEndedEarly | None = None
        self.dropped_tail = False
        self._chunks = _skip_bytes(chunks, encoding.bom)
        self._line_breaks = 0  # in the text decoded so far

    def lines(self) -> Iterator[str]:
        """Yield physical lines with their line endings, as the csv module expects them."""
        return chain.from_iterable(map(_string_lines, self._decoded(whole_lines=True)))

    def blocks(self) -> Iterator[str]:
        """Yield the text in blocks of about a megabyte, which may end mid-line."""
        return self._decoded(whole_lines=False)

    def _decoded(self, *, whole_lines: bool) -> Iterator[str]:
        """Decode the chunks: UTF-8 block by block, other encodings incrementally."""
        codec = self.encoding.codec
        if codec in ("utf-8", "cp1252"):
            blocks = self._split(self._chunks, b"\n", b"\r", b"", _utf8_cut, whole_lines)
            return map(self._decode_bytes, blocks)
        decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        texts = chain(map(decoder.decode, self._chunks), _final(decoder.decode))
        return map(self._check_block, self._split(texts, "\n", "\r", "", _text_cut, whole_lines))

    def _split(
        self,
        chunks: Iterator[AnyStr],
        lf: AnyStr,
        cr: AnyStr,
        empty: AnyStr,
        safe_cut: Callable[[AnyStr], int],
        whole_lines: bool,
    ) -> Iterator[AnyStr]:
        """Regroup chunks into blocks ending at a line break; drop the tail if cut short."""
        pending: list[AnyStr] = []
        size = 0
        try:
            for chunk in chunks:
                # Old Mac files end lines with CR alone; a final CR may be half of a CRLF.
                cut = chunk.rfind(lf) + 1 or chunk.rfind(cr, 0, len(chunk) - 1) + 1
                if cut:
                    pending.append(chunk[:cut])
                    yield empty.join(pending)
                    rest = chunk[cut:]
                    pending, size = [rest], len(rest)
                    continue
                pending.append(chunk)
                size += len(chunk)
                if not whole_lines and size >= _BLOCK_CHARS:
                    data = empty.join(pending)
                    cut = safe_cut(data)
                    yield data[:cut]
                    pending, size = [data[cut:]], len(data) - cut
        except DataEndedEarly as exc:
            self.ended_early = exc
            self.dropped_tail = any(pending)
            return
        if any(pending):
            yield empty.join(pending)

    def _decode_bytes(self, raw: bytes) -> str:
        """Decode a UTF-8 or cp1252 block as a whole, or line by line if it mixes both."""
        if self.encoding.is_utf8:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = self._decode_lines(raw)
        elif _UTF8_CHAR.search(raw):
            text = self._decode_lines(raw)
        else:
            text = raw.decode("cp1252", _register_cp1252_handler())
        return self._check_block(text)

    def _decode_lines(self, raw: bytes) -> str:
        """Decode each line as UTF-8 if it is valid UTF-8, else as cp1252; flag the odd ones."""
        utf8_file = self.encoding.is_utf8
        first = self._line_breaks + 1
        parts: list[str] = []
        found: list[LineFlag] = []
        for index, line in enumerate(raw.splitlines(keepends=True)):
            if utf8_file or _UTF8_CHAR.search(line):
                try:
                    parts.append(line.decode("utf-8"))
                except UnicodeDecodeError:
                    pass
                else:
                    if not utf8_file:
                        found.append(LineFlag(first + index, FlagKind.UTF8_IN_CP1252))
                    continue
            parts.append(line.decode("cp1252", _register_cp1252_handler()))
            if utf8_file:
                found.append(LineFlag(first + index, FlagKind.CP1252_FALLBACK))
        self._add_flags(found)
        return "".join(parts)

    def _check_block(self, text: str) -> str:
        """Count the block's line breaks; flag lines with NUL or replacement characters."""
        first = self._line_breaks + 1
        self._line_breaks += _count_breaks(text)
        replaced = not self.encoding.is_utf8 and "\ufffd" in text
        if "\x00" in text or replaced:
            # From each odd character to the next, not line by line: most lines are fine.
            # str.find, not a regular expression: it scans a megabyte in microseconds.
            found: list[LineFlag] = []
            line, last, cr = first, 0, "\r" in text
            for at, kind in _odd_characters(text, replaced=replaced):
                line += _count_breaks(text, last, at, cr=cr)
                last = at
                if not found or found[-1] != (line, kind):
                    found.append(LineFlag(line, kind))
            self._add_flags(found)
        return text

    def _add_flags(self, found: list[LineFlag]) -> None:
        """Queue new flags in line order, once each (a line may span two blocks)."""
        if not found:
            return
        tail: list[LineFlag] = []
        while self.flags and self.flags[-1].line >= found[0].line:
            tail.append(self.flags.pop())
        self.flags.extend(sorted(set(found + tail), key=lambda flag: (flag.line, flag.kind.value)))


_string_lines: Callable[[str], io.StringIO] = partial(io.StringIO, newline="")


def _count_breaks(
    text: str, start: int = 0, end: int | None = None, *, cr: bool | None = None
) -> int:
    """Count line breaks the way universal-newline splitting sees them (CR, LF, CRLF).

    `cr` says whether the text holds a CR at all, when the caller already knows.
    """
    count = text.count("\n", start, end)
    if cr or (cr is None and "\r" in text):
        count += text.count("\r", start, end) - text.count("\r\n", start, end)
    return count


def _odd_characters(text: str, *, replaced: bool) -> Iterator[tuple[int, FlagKind]]:
    """Yield where NUL characters (and replacement characters if `replaced`) are, in order."""
    odd = [("\x00", FlagKind.NUL)] + ([("\ufffd", FlagKind.REPLACED)] if replaced else [])
    places: list[tuple[int, FlagKind]] = []
    for char, kind in odd:
        at = text.find(char)
        while at >= 0:
            places.append((at, kind))
            at = text.find(char, at + 1)
    places.sort(key=lambda place: place[0])
    return iter(places)


def _utf8_cut(data: bytes) -> int:
    """Return where a UTF-8 block may end mid-line: not inside a character or a CRLF."""
    cut = start = len(data)
    while start > 0 and cut - start < 3 and data[start - 1] & 0xC0 == 0x80:
        start -= 1
    if start > 0 and data[start - 1] >= 0xC0:
        cut = start - 1  # the last character may be incomplete: leave it for the next block
    if cut and data[cut - 1] == 0x0D:
        cut -= 1
    return cut


def _text_cut(data: str) -> int:
    """Return where a text block may end mid-line: not between the halves of a CRLF."""
    return len(data) - 1 if data.endswith("\r") else len(data)


def _skip_bytes(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    """Yield the chunks without their first `count` bytes (a byte order mark)."""
    iterator = iter(chunks)
    while count:
        chunk = next(iterator, None)
        if chunk is None:
            return
        skipped = min(count, len(chunk))
        count -= skipped
        if chunk[skipped:]:
            yield chunk[skipped:]
    yield from iterator


def _final(decode: Callable[..., str]) -> Iterator[str]:
    """Yield what an incremental decoder still holds at the end of the input."""
    tail = decode(b"", True)
    if tail:
        yield tail


def _bomless_utf16(head: bytes) -> str | None:
    """Recognise UTF-16 without a byte order mark by where its NUL bytes fall."""
    sample = head[:_UTF16_PROBE_BYTES]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0) / (len(sample) / 2), sample[1::2].count(0) / (len(sample) / 2)
    if odd > 0.3 and even < 0.05:
        codec = "utf-16-le"
    elif even > 0.3 and odd < 0.05:
        codec = "utf-16-be"
    else:
        return None
    try:
        sample.decode(codec)
    except UnicodeDecodeError:
        # the sample may end inside a surrogate pair
        try:
            sample[:-2].decode(codec)
        except UnicodeDecodeError:
            return None
    return codec


def _guess_legacy(sample: bytes) -> str:
    """Pick the single- or multi-byte code page that reads `sample` most plausibly."""
    from charset_normalizer import from_bytes

    candidates = ["cp1252"]
    for match in from_bytes(sample):
        name = codecs.lookup(match.encoding).name.replace("-", "_")
        if name in _CP1252_ALIASES:
            continue
        if _is_ascii_compatible(name) and name not in candidates:
            candidates.append(name)
    best, best_penalty = "cp1252", None
    for name in candidates:
        errors = _register_cp1252_handler() if name == "cp1252" else "strict"
        try:
            text = sample.decode(name, errors)
        except UnicodeDecodeError:
            continue
        penalty = _implausibility(text)
        if best_penalty is None or penalty < best_penalty:
            best, best_penalty = name, penalty
    return best


def _implausibility(text: str) -> int:
    """Count signs of a wrong code page: symbols glued to letters, runs of accented letters."""
    penalty = len(_ACCENTED_RUN.findall(text))
    for match in _NON_ASCII.finditer(text):
        char = match.group()
        category = unicodedata.category(char)
        if category[0] in "SC" or category == "No":
            index = match.start()
            before = text[index - 1] if index else " "
            after = text[index + 1] if index + 1 < len(text) else " "
            penalty += before.isalpha() or after.isalpha()
    return penalty


def _is_ascii_compatible(codec: str) -> bool:
    """Say whether `codec` encodes ASCII (and so line breaks) as single ASCII bytes."""
    try:
        return _ASCII_PROBE.encode(codec) == _ASCII_PROBE.encode("ascii")
    except (UnicodeEncodeError, LookupError):
        return False


@cache
def _register_cp1252_handler() -> str:
    """Register the error handler that maps cp1252's undefined bytes to C1 controls."""

    def handler(error: UnicodeError) -> tuple[str, int]:
        if not isinstance(error, UnicodeDecodeError):
            raise error
        chunk = error.object[error.start : error.end]
        if not all(byte in _CP1252_UNDEFINED for byte in chunk):
            raise error
        return "".join(map(chr, chunk)), error.end

    codecs.register_error(_C1_HANDLER, handler)
    return _C1_HANDLER
