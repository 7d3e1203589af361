"""The vectorized parsers of the import agree with the Python parsers, cell for cell.

The import parses typed columns vectorized where it can and calls the Python parser
(`rolodex.collect.convert`) for the rest. A stored value must not depend on which of the
two read it, so every value the vectorized path reads must read the same in Python; these
tests throw seeded random values in the shapes real exports use at both.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from rolodex.collect.convert import (
    ParseError,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_integer,
)
from rolodex.collect.prepare import _fast, parse_column


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _date_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return _digits(rng, rng.choice([3, 5, 5, 8, 9, 10, 12, 13, 15]))
    if roll < 0.22:
        return rng.choice(
            [
                "2019-03-04T10:00:00Z",
                "2019-03-04 10:00:00",
                "2019-03-04",
                "2019-3-4",
                "1949-12-19 00:00:00",
                "2019-03-04T23:00:00-05:00",
                "12-11-16",
                "0012-11-16",
            ]
        )
    sep = rng.choice("/.-")
    a = _digits(rng, rng.choice([1, 2, 2, 2, 3, 4]))
    b = _digits(rng, rng.choice([1, 2]))
    c = _digits(rng, rng.choice([1, 2, 2, 3, 4, 4]))
    text = f"{a}{sep}{b}{rng.choice([sep, rng.choice('/.-')])}{c}"
    if rng.random() < 0.5:
        text += rng.choice([" ", "  ", "T"]) + _digits(rng, rng.choice([1, 2])) + ":"
        text += _digits(rng, 2) + (":" + _digits(rng, 2) if rng.random() < 0.4 else "")
        if rng.random() < 0.5:
            text += rng.choice([" PM", " am", "pm", " P.M.", " a.m", " Pm"])
    return text


def _amount_text(rng: random.Random) -> str:
    sign = rng.choice(["", "$", "€", "£", "A$", "EUR ", "USD", " €", "¥", "kr ", "CHF", "₩"])
    body = rng.choice(
        [
            _digits(rng, rng.randint(1, 7)),
            f"{_digits(rng, rng.randint(1, 3))},{_digits(rng, 3)}.{_digits(rng, 2)}",
            f"{_digits(rng, rng.randint(1, 3))}.{_digits(rng, 3)},{_digits(rng, 2)}",
            f"{_digits(rng, 2)},{_digits(rng, rng.randint(1, 3))}",
            f"{_digits(rng, 1)}.{_digits(rng, rng.randint(1, 4))}",
            f"{_digits(rng, 1)},{_digits(rng, 3)},{_digits(rng, 3)}",
            f"{_digits(rng, 1)}.{_digits(rng, 3)}.{_digits(rng, 3)}",
            ".5",
            "5.",
            ",5",
            "1,2.3,4",
            "1-2",
            "(12.50)",
            "12-",
            "-3,5",
            "n/a",
            "١٢٣",
        ]
    )
    text = sign + body if rng.random() < 0.5 else body + sign
    if rng.random() < 0.1:
        text = "-" + text
    if rng.random() < 0.05:
        text = f"({text})"
    return text.strip() or "0"


def _python(kind: str, dayfirst: bool | None) -> Callable[[str], Any]:
    parsers: dict[str, Callable[[str], Any]] = {
        "date": lambda v: parse_date(v, dayfirst=dayfirst),
        "datetime": lambda v: parse_datetime(v, dayfirst=dayfirst),
        "number": parse_amount,
        "integer": parse_integer,
    }
    return parsers[kind]


@pytest.mark.parametrize("dayfirst", [None, True, False])
@pytest.mark.parametrize("kind", ["date", "datetime", "number", "integer"])
def test_every_value_the_vectorized_path_reads_reads_the_same_in_python(
    kind: str, dayfirst: bool | None
) -> None:
    rng = random.Random(f"{kind}-{dayfirst}")
    make = _date_text if kind in ("date", "datetime") else _amount_text
    values = [make(rng) for _ in range(6000)]
    column = pl.Series("x", values).str.strip_chars().replace("", None)
    python = _python(kind, dayfirst)

    fast = _fast(column, kind, dayfirst).to_list()

    read = 0
    for text, got in zip(column.to_list(), fast, strict=True):
        if got is None or text is None:
            continue
        read += 1
        try:
            expected = python(text)
        except ParseError as exc:
            expected = f"error: {exc}"
        assert got == expected, text
    # The vectorized path must carry most of the load, or it is not worth its keep.
    assert read > len(values) * (0.2 if kind in ("date", "datetime", "integer") else 0.6)


def test_common_export_forms_parse_vectorized() -> None:
    column = pl.Series(
        "x",
        [
            "4/4/2020 10:45 PM",
            "17.10.2018 17:30",
            "25.12.2019",
            "3/21/45",
            "43831",
            "1577836800",
            "20200101",
            "1949-12-19 00:00:00",
        ],
    )

    got = _fast(column, "datetime", dayfirst=False).to_list()

    assert got == [
        datetime(2020, 4, 4, 22, 45, tzinfo=UTC),
        datetime(2018, 10, 17, 17, 30, tzinfo=UTC),
        datetime(2019, 12, 25, tzinfo=UTC),
        datetime(2045, 3, 21, tzinfo=UTC),  # the parser's century rule: under 50 is 20xx
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(1949, 12, 19, tzinfo=UTC),
    ]
    amounts = pl.Series("x", ["$1,234.50", "1.234,50 €", "A$899.30", "(15.00)", "75,27 €"])
    assert _fast(amounts, "number", None).to_list() == [1234.5, 1234.5, 899.3, -15.0, 75.27]


def test_a_two_digit_year_is_never_read_as_the_year_itself() -> None:
    # Polars' %Y accepts "12" as the year 12; the Python parser reads 12-11-16 as a date
    # in 2016 in the column's day order.
    parsed, errors = parse_column(pl.Series("x", ["12-11-16"]), "date", dayfirst=True)

    assert parsed.to_list() == [date(2016, 11, 12)]
    assert errors == {}
