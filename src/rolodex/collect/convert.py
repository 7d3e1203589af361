"""Structural parsing of typed fields at import: is this a date, a number, a yes/no at all?

Only what the import needs to decide between accepting and quarantining a row lives here.
Standardizing values (E.164 phones, proper-case names, ...) is the clean stage's job.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_EXCEL_EPOCH = date(1899, 12, 30)
# Excel serial days between 1954 and 2119: a 5-digit number in a date column is a serial.
_EXCEL_MIN, _EXCEL_MAX = 20_000, 80_000
_DMY = re.compile(
    r"^(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_CURRENCY = re.compile(r"[^\d,.\-()]")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "januar", "janvier", "enero", "ene", "jän", "janv"),
            ("feb", "february", "februar", "février", "fevrier", "febrero", "févr", "fev"),
            ("mar", "march", "märz", "maerz", "mars", "marzo", "mär", "mrz"),
            ("apr", "april", "avril", "abril", "avr", "abr"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juni", "juin", "junio"),
            ("jul", "july", "juli", "juillet", "julio", "juil"),
            ("aug", "august", "août", "aout", "agosto", "ago"),
            ("sep", "sept", "september", "septembre", "septiembre", "set"),
            ("oct", "october", "oktober", "octobre", "octubre", "okt"),
            ("nov", "november", "novembre", "noviembre"),
            (
                "dec",
                "december",
                "dezember",
                "décembre",
                "decembre",
                "diciembre",
                "dez",
                "déc",
                "dic",
            ),
        ],
        start=1,
    )
    for name in names
}
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([ap]\.?m\.?)?)?(?:\s*(?:utc|gmt|z))?"
# "22 Jun 2022", "22-Jun-2022", "22. Juni 2022", "Mon, 22 Jun 2022 10:00"
_DAY_MONTH = re.compile(
    r"^(?:[a-zé]{2,9}\.?,?\s+)?(\d{1,2})\.?[\s\-/]+([a-zäéû]{3,10})\.?[\s\-/,]+(\d{4})"
    + _TIME
    + "$"
)
# "Jun 22, 2022", "June 22 2022 3:05 PM"
_MONTH_DAY = re.compile(
    r"^(?:[a-zé]{2,9}\.?,?\s+)?([a-zäéû]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})"
    + _TIME
    + "$"
)
_NUMERIC_12H = re.compile(
    r"^(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)$"
)
_TRUE = frozenset({"1", "true", "yes", "y", "t", "x", "ja", "oui", "si", "sí", "opted in"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "nein", "non", "opted out", ""})


class ParseError(ValueError):
    """A value does not have the structure its field needs."""


def parse_datetime(text: str, *, dayfirst: bool | None = None) -> datetime:
    """Parse the date or timestamp formats real exports use; return an aware UTC datetime.

    Accepts ISO 8601 (with or without time and offset), US and European numeric dates
    (`dayfirst` settles 03/04/2024 when neither part exceeds 12; dotted dates are always
    day first), Excel serial numbers and Unix epochs in seconds or milliseconds.

    Raises:
        ParseError: the text is not a date in any of those forms, or names a day that
            does not exist (31/02/1990).
    """
    s = text.strip()
    if not s:
        raise ParseError("empty date")
    if s.isdigit():
        return _from_number(int(s))
    if s[-4:].upper() in (" UTC", " GMT") and s[:4].isdigit():  # "2022-06-22 14:03:00 UTC"
        s = s[:-4] + "+00:00"
    try:
        parsed = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        parsed = _from_numeric_date(s, dayfirst=dayfirst)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(text: str, *, dayfirst: bool | None = None) -> date:
    """Parse a calendar date (birthdays, close dates); see `parse_datetime` for the forms."""
    return parse_datetime(text, dayfirst=dayfirst).date()


def _from_number(n: int) -> datetime:
    if _EXCEL_MIN <= n <= _EXCEL_MAX:
        day = _EXCEL_EPOCH + timedelta(days=n)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if 10**8 <= n < 10**11:
        return datetime.fromtimestamp(n, tz=UTC)
    if 10**11 <= n < 10**14:
        return datetime.fromtimestamp(n / 1000, tz=UTC)
    if len(str(n)) == 8:  # 20240131
        return _build(int(str(n)[:4]), int(str(n)[4:6]), int(str(n)[6:]), "", "", "")
    raise ParseError(f"{n} is not a date")


def _hour(hh: str | None, half: str | None) -> str | None:
    """Turn a 12-hour clock hour ("08" with "pm") into a 24-hour one."""
    if hh is None or not half:
        return hh
    hour = int(hh) % 12 + (12 if half.lower().startswith("p") else 0)
    return str(hour)


def _from_named_month(s: str) -> datetime | None:
    low = s.lower()
    for pattern, order in ((_DAY_MONTH, "dmy"), (_MONTH_DAY, "mdy")):
        m = pattern.match(low)
        if m is None:
            continue
        first, second, year, hh, mm, ss, half = m.groups()
        day, name = (first, second) if order == "dmy" else (second, first)
        month = _MONTHS.get(name.rstrip("."))
        if month is None:
            raise ParseError(f"{s!r} is not a recognised date: unknown month {name!r}")
        return _build(int(year), month, int(day), _hour(hh, half), mm, ss)
    return None


def _from_numeric_date(s: str, *, dayfirst: bool | None) -> datetime:
    named = _from_named_month(s)
    if named is not None:
        return named
    twelve = _NUMERIC_12H.match(s.lower())
    if twelve is not None:
        a, b, c, hh, mm, ss, half = twelve.groups()
        s = f"{a}/{b}/{c} {_hour(hh, half)}:{mm}" + (f":{ss}" if ss else "")
    m = _DMY.match(s)
    if m is None:
        raise ParseError(f"{s!r} is not a recognised date")
    a, b, c, hh, mm, ss = m.groups()
    if len(a) == 4:  # 2024/01/31
        return _build(int(a), int(b), int(c), hh, mm, ss)
    first, second = int(a), int(b)
    year = int(c)
    if len(c) == 2:
        year += 2000 if year < 50 else 1900
    if "." in s or first > 12:
        day, month = first, second
    elif second > 12:
        day, month = second, first
    elif dayfirst:
        day, month = first, second
    else:
        day, month = second, first
    return _build(year, month, day, hh, mm, ss)


def _build(y: int, mo: int, d: int, hh: str | None, mm: str | None, ss: str | None) -> datetime:
    try:
        return datetime(y, mo, d, int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=UTC)
    except ValueError as exc:
        raise ParseError(f"{y:04d}-{mo:02d}-{d:02d} is not a real date") from exc


def looks_dayfirst(samples: list[str]) -> bool | None:
    """Decide per column whether ambiguous numeric dates are day first.

    A column where some value has a first part above 12 is day first; one where some value
    has a second part above 12 is month first; otherwise undecided (None).
    """
    for s in samples:
        m = _DMY.match(s.strip())
        if m is None or len(m.group(1)) == 4 or "." in s:
            continue
        if int(m.group(1)) > 12:
            return True
        if int(m.group(2)) > 12:
            return False
    return None


def parse_amount(text: str) -> float:
    """Parse a money amount with currency symbols and either thousands convention.

    "$1,234.50", "1.234,50 €", "EUR 12", "(15.00)" and "12-" all parse.

    Raises:
        ParseError: no number can be read from the text.
    """
    s = text.strip()
    negative = (s.startswith("(") and s.endswith(")")) or s.endswith("-") or s.startswith("-")
    digits = _CURRENCY.sub("", s).strip("()-")
    if not digits or not any(ch.isdigit() for ch in digits):
        raise ParseError(f"{text!r} is not a number")
    digits = _normalize_separators(digits)
    try:
        value = float(digits)
    except ValueError as exc:
        raise ParseError(f"{text!r} is not a number") from exc
    return -value if negative else value


def _normalize_separators(digits: str) -> str:
    """Turn "1.234,5" / "1,234.5" / "1,234" / "12,5" into a float literal."""
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        mark, group = (",", ".") if last_comma > last_dot else (".", ",")
        return digits.replace(group, "").replace(mark, ".")
    for sep in (",", "."):
        count = digits.count(sep)
        if count > 1:  # "1,234,567" or "1.234.567": the separator groups thousands
            return digits.replace(sep, "")
        if count == 1:
            tail = digits.split(sep)[1]
            # "1,234" groups thousands, "12,50" is a decimal comma; a lone dot is decimal.
            return (
                digits.replace(sep, "")
                if sep == "," and len(tail) == 3
                else digits.replace(",", ".")
            )
    return digits


def parse_integer(text: str) -> int:
    """Parse a count such as "1,200" or "12.0".

    Raises:
        ParseError: the text is not a whole number.
    """
    value = parse_amount(text)
    if value != int(value):
        raise ParseError(f"{text!r} is not a whole number")
    return int(value)


def parse_boolean(text: str) -> bool:
    """Parse yes/no answers in the forms CRM exports and several languages use.

    Raises:
        ParseError: the text is neither a yes nor a no.
    """
    s = text.strip().casefold()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    if s.startswith(("subscribed", "granted", "accepted")):
        return True
    if s.startswith(("unsubscribed", "not subscribed", "withdrawn", "declined")):
        return False
    raise ParseError(f"{text!r} is not yes or no")
