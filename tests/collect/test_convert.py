"""Dates and amounts in the forms real exports use: exact values, and clear refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rolodex.collect.convert import (
    ParseError,
    looks_dayfirst,
    parse_amount,
    parse_date,
    parse_datetime,
    parse_integer,
)


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("2024-01-31", None, datetime(2024, 1, 31, tzinfo=UTC)),  # ISO date
        ("2024-01-31T13:45:00Z", None, datetime(2024, 1, 31, 13, 45, tzinfo=UTC)),  # ISO UTC
        ("2024-01-31T13:45:00+01:00", None, datetime(2024, 1, 31, 12, 45, tzinfo=UTC)),
        ("2024-01-31 13:45:00", None, datetime(2024, 1, 31, 13, 45, tzinfo=UTC)),  # HubSpot
        ("2024-01-31 13:45:00.123456", None, datetime(2024, 1, 31, 13, 45, 0, 123456, UTC)),
        ("2022-06-22 14:03:00 UTC", None, datetime(2022, 6, 22, 14, 3, tzinfo=UTC)),  # Stripe
        ("2024/01/31", None, datetime(2024, 1, 31, tzinfo=UTC)),
        ("01/31/2024", None, datetime(2024, 1, 31, tzinfo=UTC)),  # US, unambiguous
        ("31/01/2024", None, datetime(2024, 1, 31, tzinfo=UTC)),  # UK, unambiguous
        ("03/04/2024", False, datetime(2024, 3, 4, tzinfo=UTC)),  # US column
        ("03/04/2024", True, datetime(2024, 4, 3, tzinfo=UTC)),  # European column
        ("31.01.2024", None, datetime(2024, 1, 31, tzinfo=UTC)),  # German
        ("03.04.2024", False, datetime(2024, 4, 3, tzinfo=UTC)),  # dotted: always day first
        ("15.03.2023 01:14", None, datetime(2023, 3, 15, 1, 14, tzinfo=UTC)),
        ("31-01-2024", None, datetime(2024, 1, 31, tzinfo=UTC)),  # Dutch
        ("1/5/24", False, datetime(2024, 1, 5, tzinfo=UTC)),  # two-digit year
        ("1/5/99", True, datetime(1999, 5, 1, tzinfo=UTC)),
        ("1/11/2022 08:41 AM", False, datetime(2022, 1, 11, 8, 41, tzinfo=UTC)),  # Salesforce
        ("1/11/2022 8:41 PM", False, datetime(2022, 1, 11, 20, 41, tzinfo=UTC)),
        ("12/31/2023 12:05 am", None, datetime(2023, 12, 31, 0, 5, tzinfo=UTC)),
        ("22 Jun 2022", None, datetime(2022, 6, 22, tzinfo=UTC)),
        ("22-Jun-2022", None, datetime(2022, 6, 22, tzinfo=UTC)),
        ("Jun 22, 2022", None, datetime(2022, 6, 22, tzinfo=UTC)),
        ("June 22nd, 2022 3:05 PM", None, datetime(2022, 6, 22, 15, 5, tzinfo=UTC)),
        ("Mon, 22 Jun 2022 10:00:01 GMT", None, datetime(2022, 6, 22, 10, 0, 1, tzinfo=UTC)),
        ("22. Juni 2022", None, datetime(2022, 6, 22, tzinfo=UTC)),  # German month name
        ("3 févr. 2021", None, datetime(2021, 2, 3, tzinfo=UTC)),  # French
        ("5 mayo 2021", None, datetime(2021, 5, 5, tzinfo=UTC)),  # Spanish
        ("45321", None, datetime(2024, 1, 30, tzinfo=UTC)),  # Excel serial day
        ("1706659200", None, datetime(2024, 1, 31, tzinfo=UTC)),  # Unix seconds
        ("1706659200000", None, datetime(2024, 1, 31, tzinfo=UTC)),  # Unix milliseconds
        ("20240131", None, datetime(2024, 1, 31, tzinfo=UTC)),  # compact
    ],
)
def test_datetimes_in_the_forms_exports_use(
    text: str, dayfirst: bool | None, expected: datetime
) -> None:
    assert parse_datetime(text, dayfirst=dayfirst) == expected


@pytest.mark.parametrize(
    "text",
    ["31/02/1990", "2024-13-01", "yesterday", "", "13/13/2020", "32 Jun 2022", "Foo 3, 2020"],
)
def test_impossible_or_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_date(text)


def test_day_order_is_decided_per_column() -> None:
    assert looks_dayfirst(["03/04/2020", "25/12/1980"]) is True
    assert looks_dayfirst(["03/04/2020", "12/25/1980"]) is False
    assert looks_dayfirst(["03/04/2020", "01/02/2021"]) is None
    assert looks_dayfirst(["31.01.2020", "03/04/2020"]) is None  # dotted dates tell nothing
    assert parse_date("03/04/2020", dayfirst=True) == date(2020, 4, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", 1234.56),
        ("1,234.56", 1234.56),  # US thousands
        ("1.234,56", 1234.56),  # European thousands
        ("1 234,56", 1234.56),  # French, narrow space
        ("1\u202f234,56", 1234.56),  # French, narrow no-break space
        ("1'234.56", 1234.56),  # Swiss
        ("$1,234.56", 1234.56),
        ("€74.74", 74.74),
        ("132,41 €", 132.41),
        ("EUR 12", 12.0),
        ("12 EUR", 12.0),
        ("£0.99", 0.99),
        ("¥1,200", 1200.0),
        ("CHF 1'000.50", 1000.5),
        ("R$ 1.234,56", 1234.56),  # Brazilian real
        ("-15.00", -15.0),
        ("(15.00)", -15.0),  # accounting negative
        ("15.00-", -15.0),  # SAP trailing minus
        ("1,234,567", 1234567.0),
        ("1.234.567", 1234567.0),
        ("1,234", 1234.0),  # a comma before three digits groups thousands
        ("12,50", 12.5),  # a comma before two digits is a decimal comma
        ("0,5", 0.5),
        ("1.5", 1.5),
        ("  42  ", 42.0),
        ("+3.5", 3.5),
        ("1000", 1000.0),
        ("USD 2,500.00", 2500.0),
        ("2.500,00 EUR", 2500.0),
        ("0", 0.0),
    ],
)
def test_amounts_with_symbols_and_either_separator(text: str, expected: float) -> None:
    assert parse_amount(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["N/A", "free", "-", "", "$"])
def test_amounts_without_a_number_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_amount(text)


def test_integers_refuse_fractions() -> None:
    assert parse_integer("1,200") == 1200
    assert parse_integer("12.0") == 12
    with pytest.raises(ParseError):
        parse_integer("9.5")
