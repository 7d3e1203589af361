"""The segment filter language, run against a real SQLite table of twenty contacts.

Each filter is compiled and executed; the test asserts exactly which contacts it selects. The
expected ids are worked out by hand from `ROWS` with `NOW` fixed at 2024-03-31 12:00 UTC
(2024 is a leap year, so month arithmetic lands on Feb 29).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from rolodex.exceptions import InputError
from rolodex.segment.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    CompiledFilter,
    Field,
    SegmentSyntaxError,
    compile_filter,
)

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]

metadata = sa.MetaData()
contact = sa.Table(
    "contact",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100)),
    sa.Column("email", sa.String(100)),
    sa.Column("country", sa.String(40)),
    sa.Column("clv_12m", sa.Numeric(12, 2)),
    sa.Column("churn_risk", sa.Float),
    sa.Column("orders", sa.Integer),
    sa.Column("signup_date", sa.Date),
    sa.Column("last_order_at", sa.DateTime(timezone=True)),
    sa.Column("is_vip", sa.Boolean),
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# id: name, email, country
PEOPLE: dict[int, tuple[str, str, str | None]] = {
    1: ("Anna Schmidt", "anna@example.de", "DE"),
    2: ("Ben Müller", "ben@gmail.com", "DE"),
    3: ("Clara Weber", "clara@web.de", "AT"),
    4: ("David Smith", "david@company.co.uk", "GB"),
    5: ("Eva Rossi", "eva_rossi@libero.it", "IT"),
    6: ("Frank Dubois", "frank@orange.fr", "FR"),
    7: ("anna lee", "anna.lee@example.com", None),
    8: ("Greta 100% Bio", "greta@bio.de", "DE"),
    9: ("Hans_Peter", "hans_peter@x.de", "DE"),
    10: ("HansXPeter", "hansxpeter@x.ch", "CH"),
    11: ("Ines O'Brien", "ines@obrien.ie", "IE"),
    12: ("Jan de Vries", "jan@devries.nl", "NL"),
    13: ("Karl Ärger", "karl@example.de", "DE"),
    14: ("Lena Berg", "lena@berg.se", "SE"),
    15: ("Marc Petit", "marc@petit.fr", "FR"),
    16: ("Nora Wolf", "NORA@WOLF.DE", "DE"),
    17: ("Olaf Lund", "olaf@lund.dk", "DK"),
    18: ("Paula Costa", "paula@costa.pt", "PT"),
    19: ("Emile Roux", "emile@roux.fr", "FR"),
    20: ("Mallory", "mallory@evil.test", "x' or 1=1 --"),
}
# id: clv_12m, churn_risk, orders, signup_date, last_order_at (UTC), is_vip
FACTS: dict[
    int, tuple[str | None, float | None, int | None, str | None, str | None, bool | None]
] = {
    1: ("1200", 0.70, 12, "2021-03-15", "2023-11-02 09:30", True),
    2: ("300", 0.20, 3, "2022-07-01", "2024-03-30 18:00", False),
    3: ("800", 0.65, 8, "2020-01-31", "2023-12-01 00:00", True),
    4: ("50", 0.90, 1, "2024-02-29", "2024-02-29 23:59", False),
    5: ("0", 0.95, 0, "2024-01-31", None, False),
    6: ("2500.50", 0.10, 30, "2019-05-20", "2024-03-31 09:00", True),
    7: ("640", 0.60, 5, "2023-01-31", "2024-01-01 00:00", False),
    8: ("501", 0.61, 6, "2023-02-28", "2023-12-31 23:59:59", False),
    9: ("499.99", 0.80, 4, "2022-12-31", "2023-10-15 12:00", None),
    10: ("75", None, 2, "2023-06-15", "2024-03-01 00:00", False),
    11: ("900", 0.40, 9, "2021-11-11", "2024-02-01 08:00", True),
    12: (None, 0.55, None, None, "2022-06-30 12:00", False),
    13: ("1500", 0.05, 20, "2018-08-08", "2024-03-31 11:59", True),
    14: ("220", 0.75, 2, "2024-03-01", "2024-03-02 10:00", False),
    15: ("510", 0.62, 7, "2020-10-10", "2023-09-01 10:00", False),
    16: ("700", 0.90, 6, "2022-02-02", "2023-12-31 12:00", False),
    17: ("100", 0.30, 1, "2024-02-28", None, False),
    18: ("333.33", 0.45, 3, "2023-03-31", "2024-01-31 15:00", True),
    19: ("1000", 0.50, 10, "2021-01-01", "2024-02-29 00:00", False),
    20: ("10", 0.50, 1, "2024-03-31", "2024-03-31 12:00", False),
}
ROWS: list[tuple[Any, ...]] = [(id_, *PEOPLE[id_], *FACTS[id_]) for id_ in sorted(PEOPLE)]
ALL = set(range(1, 21))
VIP = {1, 3, 6, 11, 13, 18}
DE = {1, 2, 8, 9, 13, 16}


def make_fields(table: sa.Table) -> dict[str, Field]:
    """The fields a segment query over `table` would offer."""
    fields = [
        Field("name", table.c.name, "text", "full name"),
        Field("email", table.c.email, "text"),
        Field("country", table.c.country, "text", "ISO country code"),
        Field("clv_12m", table.c.clv_12m, "number", "value of the next 12 months"),
        Field("churn_risk", table.c.churn_risk, "number"),
        Field("orders", table.c.orders, "number"),
        Field("signup_date", table.c.signup_date, "date"),
        Field("last_order_at", table.c.last_order_at, "datetime"),
        Field("is_vip", table.c.is_vip, "boolean"),
        # a computed column, as the segment query's aggregates are
        Field("email_length", sa.func.length(table.c.email).label("email_length"), "number"),
        # an untyped column: values are still bound with the field's type
        Field("last_seen_at", sa.literal_column("contact.last_order_at"), "datetime"),
    ]
    return {field.name: field for field in fields}


FIELDS = make_fields(contact)


def row_values(row: tuple[Any, ...]) -> dict[str, Any]:
    """One row as column values of the right Python types."""
    id_, name, email, country, clv, churn, orders, signup, last_order, vip = row
    return {
        "id": id_,
        "name": name,
        "email": email,
        "country": country,
        "clv_12m": None if clv is None else Decimal(clv),
        "churn_risk": churn,
        "orders": orders,
        "signup_date": None if signup is None else date.fromisoformat(signup),
        "last_order_at": None if last_order is None else _at(last_order),
        "is_vip": vip,
    }


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """An in-memory SQLite database holding `ROWS`."""
    eng = sa.create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(eng)
    with eng.begin() as conn:
        conn.execute(contact.insert(), [row_values(row) for row in ROWS])
    yield eng
    eng.dispose()


def select_ids(engine: sa.Engine, text: str, *, now: datetime = NOW) -> set[int]:
    """Run a filter and return the ids it selects."""
    compiled = compile_filter(text, FIELDS, now=now)
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(contact.c.id).where(compiled.where)))


def error_for(text: str, **kwargs: Any) -> SegmentSyntaxError:
    """The error a bad filter raises."""
    with pytest.raises(SegmentSyntaxError) as caught:
        compile_filter(text, FIELDS, now=NOW, **kwargs)
    return caught.value


# --- selections ----------------------------------------------------------------------------


def test_issue_example_selects_german_valuable_risky_lapsed_customers(engine: sa.Engine) -> None:
    text = (
        "country = 'DE' and clv_12m > 500 and churn_risk >= 0.6 "
        "and last_order_at < now() - interval '90 days'"
    )
    assert select_ids(engine, text) == {1, 8, 16}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clv_12m = 501", {8}),
        ("clv_12m != 0", ALL - {5, 12}),
        ("clv_12m <> 0", ALL - {5, 12}),
        ("clv_12m < 100", {4, 5, 10, 20}),
        ("clv_12m <= 100", {4, 5, 10, 17, 20}),
        ("clv_12m > 1000", {1, 6, 13}),
        ("clv_12m >= 1000", {1, 6, 13, 19}),
        ("clv_12m > 499.99", {1, 3, 6, 7, 8, 11, 13, 15, 16, 19}),
        ("clv_12m >= '1000'", {1, 6, 13, 19}),
        ("orders >= 10", {1, 6, 13, 19}),
        ("orders > 2.5 and orders < 4", {2, 18}),
        ("churn_risk < .1", {13}),
        ("clv_12m > -5", ALL - {12}),
        ("1000 <= clv_12m", {1, 6, 13, 19}),
        ("0.9 = churn_risk", {4, 16}),
        ("clv_12m = 500 + 1", {8}),
        ("clv_12m > 1000 - 0.01", {1, 6, 13, 19}),
        ("orders > churn_risk", ALL - {5, 10, 12}),
        ("email_length = 12", {3, 8, 14, 16, 17}),
        ("country = 'DE'", DE),
        ("country = 'de'", set()),
        ("name = 'Ines O''Brien'", {11}),
        ("country > 'PT'", {14, 20}),
    ],
)
def test_comparisons(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # and binds tighter than or
        ("country = 'FR' or country = 'DE' and is_vip", {1, 6, 13, 15, 19}),
        ("(country = 'FR' or country = 'DE') and is_vip", {1, 6, 13}),
        ("is_vip and country = 'DE' or country = 'AT'", {1, 3, 13}),
        # not binds tighter than and
        ("not country = 'DE' and is_vip", {3, 6, 11, 18}),
        ("not (country = 'DE' and is_vip)", ALL - {1, 13}),
        ("not not is_vip", VIP),
        ("((((country = 'AT'))))", {3}),
    ],
)
def test_precedence(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a comparison with a missing value is false, either way round
        ("country != 'DE'", ALL - DE - {7}),
        # not selects exactly the rows its operand does not, missing values included
        ("not country = 'DE'", ALL - DE),
        ("country is null", {7}),
        ("country is not null", ALL - {7}),
        ("is_vip is null", {9}),
        ("is_vip", VIP),
        ("is_vip = true", VIP),
        ("is_vip = false", ALL - VIP - {9}),
        ("is_vip != true", ALL - VIP - {9}),
        ("not is_vip", ALL - VIP),
        ("clv_12m is null or orders is null", {12}),
        ("churn_risk is null", {10}),
    ],
)
def test_missing_values_and_booleans(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country in ('AT', 'CH', 'de')", {3, 10}),
        ("country not in ('DE', 'FR')", ALL - DE - {6, 15, 19} - {7}),
        ("not country in ('DE', 'FR')", ALL - DE - {6, 15, 19}),
        ("clv_12m in (0, 501, '1000')", {5, 8, 19}),
        ("signup_date in ('2024-02-29', '2024-02-28')", {4, 17}),
        ("clv_12m between 500 and 800", {3, 7, 8, 15, 16}),
        ("clv_12m not between 100 and 2000", {4, 5, 6, 10, 20}),
        ("not clv_12m between 100 and 2000", {4, 5, 6, 10, 12, 20}),
        ("signup_date between '2024-01-01' and today()", {4, 5, 14, 17, 20}),
        ("name between 'A' and 'C'", {1, 2}),
    ],
)
def test_in_and_between(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # like is case-sensitive on SQLite too (SQLite's own LIKE is not)
        ("name like 'Anna%'", {1}),
        ("email like '%.de'", {1, 3, 8, 9, 13}),
        ("name like 'H*'", set()),
        ("name not like 'Anna%'", ALL - {1}),
        ("name ilike 'anna%'", {1, 7}),
        ("email ilike '%@%.de'", {1, 3, 8, 9, 13, 16}),
        ("name not ilike '%a%'", {2, 11, 19}),
        # _ is a wildcard in like patterns, \_ a literal underscore
        ("name like 'Hans_Peter'", {9, 10}),
        ("name like 'Hans\\_Peter'", {9}),
        ("name like '%''%'", {11}),
        # contains and starts with take the value literally and ignore case
        ("name contains '_'", {9}),
        ("email contains '_'", {5, 9}),
        ("name contains '100%'", {8}),
        ("name contains '%'", {8}),
        ("email contains 'EXAMPLE'", {1, 7, 13}),
        ("email starts with 'hans_'", {9}),
        ("email starts with 'HANS'", {9, 10}),
        ("name contains 'o''b'", {11}),
    ],
)
def test_text_matching(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("signup_date = '2024-02-29'", {4}),
        ("signup_date < '2019-01-01'", {13}),
        # a date against a datetime field means midnight UTC of that day
        ("last_order_at >= '2024-03-31'", {6, 13, 20}),
        ("last_order_at = '2024-02-29'", {19}),
        ("last_order_at >= today()", {6, 13, 20}),
        ("last_order_at >= now()", {20}),
        ("last_order_at > now() - interval '1 hour'", {13, 20}),
        ("last_order_at < '2024-01-01 00:00:01'", {1, 3, 7, 8, 9, 12, 15, 16}),
        ("last_order_at < '2024-01-01T01:00+02:00'", {1, 3, 9, 12, 15, 16}),
        ("last_order_at >= today() - interval '1 day' + interval '9 hours'", {2, 6, 13, 20}),
        ("last_order_at between '2024-02-29' and '2024-03-01'", {4, 10, 19}),
        ("last_seen_at >= now()", {20}),
        # calendar months: Mar 31 - 1 month = Feb 29 (leap year), Jan 31 + 1 month = Feb 29
        ("signup_date >= today() - interval '1 month'", {4, 14, 20}),
        ("signup_date = '2024-01-31' + interval '1 month'", {4}),
        ("signup_date = '2023-01-31' + interval '1 month'", {8}),
        ("signup_date = '2023-03-31' - interval '1 month'", {8}),
        ("signup_date = '2024-02-29' - interval '1 year'", {8}),
        ("signup_date = '2025-02-28' - interval '1 year'", {17}),
        ("signup_date = today() - interval '2 months'", {5}),
        ("signup_date = today() - interval '1 year 2 months'", {7}),
        ("signup_date = '2024-02-01' + interval '4 weeks'", {4}),
        ("signup_date = interval '1 day' + '2024-02-27'", {17}),
        ("signup_date > today() - interval '100 days' and signup_date < '2024-03-01'", {4, 5, 17}),
    ],
)
def test_dates_and_datetimes(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected


def test_now_sets_what_now_and_today_mean(engine: sa.Engine) -> None:
    a_month_earlier = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert select_ids(engine, "last_order_at >= today()", now=a_month_earlier) == {
        2, 4, 6, 10, 13, 14, 19, 20,
    }  # fmt: skip
    assert select_ids(engine, "signup_date = today()", now=a_month_earlier) == {4}


def test_now_defaults_to_the_current_utc_time_and_naive_means_utc() -> None:
    before = datetime.now(UTC)
    assert before <= compile_filter("is_vip", FIELDS).now <= datetime.now(UTC)
    naive = compile_filter("is_vip", FIELDS, now=datetime(2024, 3, 31, 12, 0)).now
    assert naive == NOW
    assert naive.tzinfo is UTC
    berlin = compile_filter(
        "is_vip", FIELDS, now=datetime(2024, 3, 31, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    assert berlin.now == NOW
    assert berlin.now.tzinfo is UTC


def test_month_arithmetic_binds_the_shifted_day() -> None:
    cases = {
        "signup_date < '2024-01-31' + interval '1 month'": date(2024, 2, 29),
        "signup_date < '2023-01-31' + interval '1 month'": date(2023, 2, 28),
        "signup_date < '2024-12-31' + interval '2 months'": date(2025, 2, 28),
        "signup_date < '2024-03-31' - interval '13 months'": date(2023, 2, 28),
        "signup_date < '2024-02-29' + interval '4 years'": date(2028, 2, 29),
    }
    for text, expected in cases.items():
        params = compile_filter(text, FIELDS, now=NOW).where.compile().params
        assert list(params.values()) == [expected], text
    midnight_plus = compile_filter(
        "last_order_at < '2024-01-31' + interval '1 month 2 hours'", FIELDS, now=NOW
    )
    assert list(midnight_plus.where.compile().params.values()) == [
        datetime(2024, 2, 29, 2, 0, tzinfo=UTC)
    ]


def test_keywords_and_field_names_ignore_case(engine: sa.Engine) -> None:
    text = "COUNTRY = 'DE' AND Is_Vip OR Signup_Date BETWEEN '2024-03-01' AND TODAY()"
    assert select_ids(engine, text) == {1, 13, 14, 20}
    compiled = compile_filter(text, FIELDS, now=NOW)
    assert compiled.text == (
        "country = 'DE' and is_vip or signup_date between '2024-03-01' and today()"
    )
    assert compiled.fields_used == ("country", "is_vip", "signup_date")


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        (
            "NOT(Country<>'DE')AND clv_12m IN(1,2 ,-3)",
            "not (country != 'DE') and clv_12m in (1, 2, -3)",
        ),
        (
            "last_order_at<NOW()-INTERVAL '90 days'",
            "last_order_at < now() - interval '90 days'",
        ),
        ("name  CONTAINS  'O''B'", "name contains 'O''B'"),
        (
            "email Starts With 'x'  or  is_vip IS NOT NULL",
            "email starts with 'x' or is_vip is not null",
        ),
    ],
)
def test_normalized_text_compiles_to_the_same_filter(
    engine: sa.Engine, text: str, normalized: str
) -> None:
    compiled = compile_filter(text, FIELDS, now=NOW)
    assert compiled.text == normalized
    again = compile_filter(compiled.text, FIELDS, now=NOW)
    assert again.text == normalized
    assert select_ids(engine, text) == select_ids(engine, normalized)


def test_compiled_filter_reports_fields_used() -> None:
    compiled = compile_filter("clv_12m > 1 and (Country = 'DE' or clv_12m < 0)", FIELDS, now=NOW)
    assert isinstance(compiled, CompiledFilter)
    assert compiled.fields_used == ("clv_12m", "country")
    assert compiled.now == NOW


def test_repeated_statements_with_other_values_are_not_served_from_the_cache(
    engine: sa.Engine,
) -> None:
    # same structure, different values: SQLAlchemy's statement cache must rebind them
    assert select_ids(engine, "name like 'A%'") == {1}
    assert select_ids(engine, "name like 'B%'") == {2}
    assert select_ids(engine, "name ilike 'c%'") == {3}
    assert select_ids(engine, "name ilike 'd%'") == {4}


# --- safety ----------------------------------------------------------------------------------


def test_every_value_is_a_bound_parameter_in_postgresql_sql() -> None:
    text = (
        "country in ('DE', 'AT') and clv_12m > 1234.5 and churn_risk between 0.25 and 0.75 "
        "and last_order_at < now() - interval '90 days' and signup_date >= '2021-06-15' "
        "and name like 'Zed%' and email contains 'acme' and email starts with 'sales' "
        "and name ilike 'Q%' and is_vip = false and orders != 77"
    )
    compiled = compile_filter(text, FIELDS, now=NOW)
    statement = sa.select(contact.c.id).where(compiled.where)
    sql = str(statement.compile(dialect=POSTGRESQL))
    for literal in (
        "DE", "AT", "1234.5", "0.25", "0.75", "2021-06-15", "2024", "Zed", "acme", "sales",
        "Q", "77", "90", "days", "false",
    ):  # fmt: skip
        # as a word of its own, so that 'AT' in '::DATE' does not count
        assert not re.search(rf"(?<![\w.]){re.escape(literal)}(?![\w.])", sql), (literal, sql)
    # the only quoted text is the LIKE escape character the compiler itself chose
    assert re.findall(r"'[^']*'", sql) == ["'\\'"] * 4
    params = statement.compile(dialect=POSTGRESQL).params
    assert sorted(str(value) for value in params.values()) == sorted(
        [
            "DE", "AT", "1234.5", "0.25", "0.75", "2024-01-01 12:00:00+00:00", "2021-06-15",
            "Zed%", "%acme%", "sales%", "Q%", "False", "77",
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the quote is doubled inside the string: the whole thing is one value
        ("country = 'x'' or 1=1 --'", {20}),
        ("name = 'Mallory'' --' or country = 'x'' or 1=1 --'", {20}),
        ("name contains ''' or ''1''=''1'", set()),
    ],
)
def test_injection_attempts_are_values(engine: sa.Engine, text: str, expected: set[int]) -> None:
    assert select_ids(engine, text) == expected
    compiled = compile_filter(text, FIELDS, now=NOW)
    assert "1=1" not in str(compiled.where.compile(dialect=POSTGRESQL))


@pytest.mark.parametrize(
    ("text", "position", "problem"),
    [
        (
            "country = 'DE'; drop table contact",
            14,
            "unexpected character ';' (a filter is a single condition)",
        ),
        (
            "country = 'DE' or 1=1",
            18,
            "a condition compares a field, e.g. country = 'DE'; this compares two values",
        ),
        (
            "country = 'DE' -- comment",
            16,
            "expected a value after '-', found '-'",
        ),
        (
            "country = 'DE' union select * from contact",
            15,
            "unexpected 'union' after a complete condition: expected 'and' or 'or'",
        ),
        (
            "country = 'x' or '1'='1'",
            17,
            "a condition compares a field, e.g. country = 'DE'; this compares two values",
        ),
    ],
)
def test_injection_attempts_are_syntax_errors(
    engine: sa.Engine, text: str, position: int, problem: str
) -> None:
    error = error_for(text)
    assert (error.position, error.problem) == (position, problem)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(contact)) == len(ROWS)


# --- errors ----------------------------------------------------------------------------------


def test_unknown_field_message_points_at_the_name() -> None:
    error = error_for("country = 'DE' and contry = 'FR'")
    assert str(error) == (
        "unknown field 'contry' (did you mean 'country'?)\n"
        "  country = 'DE' and contry = 'FR'\n"
        "                     ^^^^^^"
    )
    assert (error.position, error.length) == (19, 6)
    assert isinstance(error, InputError)


def test_unknown_field_without_a_close_name_lists_the_fields() -> None:
    error = error_for("zz = 1")
    assert error.problem == (
        "unknown field 'zz'; available fields: churn_risk, clv_12m, country, email, "
        "email_length, is_vip, last_order_at, last_seen_at, name, orders, signup_date"
    )
    many = {f"field_{i:02d}": Field(f"field_{i:02d}", contact.c.name, "text") for i in range(25)}
    with pytest.raises(SegmentSyntaxError) as caught:
        compile_filter("qq = 'x'", many)
    assert caught.value.problem.endswith("field_18, field_19 and 5 more")
    assert "field_20" not in caught.value.problem


def test_unknown_field_suggests_several_close_names() -> None:
    error = error_for("emai = 'x'")
    assert error.problem == "unknown field 'emai' (did you mean 'email' or 'email_length'?)"


@pytest.mark.parametrize(
    ("text", "problem", "position", "length"),
    [
        ("clv_12m >", "expected a value after '>'", 9, 1),
        ("clv_12m > and is_vip", "expected a value after '>', found 'and'", 10, 3),
        ("country = 'DE' and", "expected a condition after 'and'", 18, 1),
        ("country = 'abc", "unterminated string: add the closing quote (')", 10, 4),
        ("(country = 'DE' or is_vip", "missing ')' to close this '('", 0, 1),
        ("country = 'DE')", "unmatched ')': there is no '(' for it to close", 14, 1),
        ("country in ('DE', 'AT'", "missing ')' to close this '('", 11, 1),
        ("", "the filter is empty: write a condition such as country = 'DE'", 0, 0),
        ("   ", "the filter is empty: write a condition such as country = 'DE'", 0, 0),
        ("()", "expected a condition after '(', found ')'", 1, 1),
        (
            "country = 'DE' 'FR'",
            "unexpected 'FR' after a complete condition: expected 'and' or 'or'",
            15,
            4,
        ),
        ("country = 'x' adn is_vip", "unexpected 'adn' (did you mean 'and'?)", 14, 3),
        (
            "(country = 'x' is_vip)",
            "unexpected 'is_vip' after a complete condition: expected 'and', 'or' or ')'",
            15,
            6,
        ),
        ("country = null", "comparing with null matches nothing: use 'is null'", 8, 6),
        ("country != null", "comparing with null matches nothing: use 'is not null'", 8, 7),
        (
            "country is 'DE'",
            "expected 'null' after 'is' (compare other values with = or !=)",
            11,
            4,
        ),
        ("clv_12m > 'abc'", "'clv_12m' is a number field and 'abc' is not a number", 10, 5),
        ("country = 49", "'country' is a text field: put the value in quotes, e.g. '49'", 10, 2),
        ("country = DE", "unknown field 'DE' (text values need quotes: 'DE')", 10, 2),
        (
            "signup_date < now()",
            "'signup_date' is a date field (no time of day): use today() or a date "
            "'YYYY-MM-DD' instead of a date and time",
            14,
            5,
        ),
        (
            "signup_date > '31.01.2024'",
            "'31.01.2024' is not a date: 'signup_date' is a date field (no time of day): "
            "write 'YYYY-MM-DD'",
            14,
            12,
        ),
        (
            "signup_date = '2024-01-31 10:00'",
            "'2024-01-31 10:00' is not a date: 'signup_date' is a date field (no time of day): "
            "write 'YYYY-MM-DD'",
            14,
            18,
        ),
        (
            "clv_12m > 1234567890123456789",
            "numbers have at most 18 digits",
            10,
            19,
        ),
        ("signup_date > '2024-02-30'", "'2024-02-30' is not a valid date", 14, 12),
        (
            "last_order_at > 'yesterday'",
            "'yesterday' is not a date: 'last_order_at' is a datetime field: write 'YYYY-MM-DD' "
            "or 'YYYY-MM-DD HH:MM[:SS]' (UTC unless an offset is given)",
            16,
            11,
        ),
        (
            "is_vip = 'yes'",
            "'is_vip' is a true/false field: compare it with true or false, not text ('yes')",
            9,
            5,
        ),
        (
            "is_vip = 1",
            "'is_vip' is a true/false field: compare it with true or false, not a number (1)",
            9,
            1,
        ),
        ("is_vip > false", "true/false fields can only be compared with = or !=", 7, 1),
        ("clv_12m like '5%'", "'like' works on text fields, and 'clv_12m' is a number field", 8, 4),
        (
            "orders contains '5'",
            "'contains' works on text fields, and 'orders' is a number field",
            7,
            8,
        ),
        ("name like 5", "expected a quoted pattern after 'like', e.g. name like 'Ann%'", 10, 1),
        (
            "name like 'x\\'",
            "the pattern ends with an escape '\\': double it ('\\\\') to match a backslash",
            10,
            4,
        ),
        (
            "email starts 'x'",
            "expected 'with' after 'starts', e.g. email starts with 'info'",
            13,
            3,
        ),
        (
            "last_order_at + interval '90 days' < now()",
            "arithmetic on the field 'last_order_at' is not supported: keep the field alone and "
            "move the arithmetic to the other side (e.g. last_order_at < now() - interval "
            "'90 days')",
            0,
            34,
        ),
        (
            "clv_12m > orders * 2",
            "unexpected character '*'",
            17,
            1,
        ),
        (
            "500 < clv_12m - 10",
            "arithmetic on the field 'clv_12m' is not supported: keep the field alone and "
            "move the arithmetic to the other side (e.g. last_order_at < now() - interval "
            "'90 days')",
            6,
            12,
        ),
        (
            "last_order_at < interval '3 days'",
            "an interval is a length of time, not a point in time: add it to a date, e.g. now() "
            "- interval '90 days'",
            16,
            17,
        ),
        (
            "last_order_at < now() - interval '3 fortnights'",
            "invalid interval '3 fortnights': write a whole number and a unit, e.g. '90 days' "
            "(units: minutes, hours, days, weeks, months, years)",
            33,
            14,
        ),
        (
            "last_order_at < now() - interval '1.5 days'",
            "invalid interval '1.5 days': write a whole number and a unit, e.g. '90 days' "
            "(units: minutes, hours, days, weeks, months, years)",
            33,
            10,
        ),
        ("clv_12m > 'abc' + 5", "cannot add a number (5) to text ('abc')", 16, 1),
        (
            "signup_date > 'soon' - interval '1 day'",
            "'soon' is not a date: write dates as 'YYYY-MM-DD'",
            14,
            6,
        ),
        ("signup_date > today() - interval '999999 years'", "the date is out of range", 14, 33),
        ("clv_12m > 90days", "invalid number '90days'", 10, 6),
        ('country = "DE"', "values take single quotes ('DE'); double quotes are not used", 10, 4),
        (
            "lower(name) = 'x'",
            "unknown function 'lower': the functions are now() and today()",
            0,
            5,
        ),
        ("last_order_at < now", "expected '(': write now()", 19, 1),
        ("clv_12m in ()", "the list is empty: give at least one value", 12, 1),
        ("clv_12m in (1 2)", "expected ',' or ')' in the list, found '2'", 14, 1),
        ("country in 'DE'", "expected '(' after 'in', e.g. country in ('DE', 'AT')", 11, 4),
        ("country in ('DE', null)", "null cannot be in a list: add 'or country is null'", 18, 4),
        ("clv_12m between 5 and 1", "the range is empty: put the smaller bound first", 16, 7),
        (
            "clv_12m between 1 or 5",
            "expected 'and' between the bounds, e.g. clv_12m between 1 and 5",
            18,
            2,
        ),
        ("country not = 'DE'", "expected 'in', 'between', 'like' or 'ilike' after 'not'", 12, 1),
        (
            "country 'DE'",
            "expected an operator after 'country' (=, !=, <, <=, >, >=, in, between, like, "
            "ilike, contains, starts with, is null), found 'DE'",
            8,
            4,
        ),
        ("'DE'", "a condition starts with a field name, not text ('DE')", 0, 4),
        (
            "signup_date < last_order_at",
            "cannot compare 'signup_date' (date) with 'last_order_at' (datetime)",
            14,
            13,
        ),
        ("country in (name)", "expected a value here, not the field 'name'", 12, 4),
    ],
)
def test_errors_point_at_the_offending_token(
    text: str, problem: str, position: int, length: int
) -> None:
    error = error_for(text)
    assert (error.problem, error.position, error.length) == (problem, position, length)
    caret_line = str(error).splitlines()[-1]
    assert caret_line == "  " + " " * position + "^" * max(1, length)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "clv_12m >",
            "expected a value after '>'\n  clv_12m >\n           ^",
        ),
        (
            "(country = 'DE' or is_vip",
            "missing ')' to close this '('\n  (country = 'DE' or is_vip\n  ^",
        ),
        (
            "country = 'DE'\n  and contry = 'x'",
            "unknown field 'contry' (did you mean 'country'?)\n"
            "  country = 'DE'   and contry = 'x'\n"
            "                       ^^^^^^",
        ),
        (
            "signup_date >= today() - interval '2 eons'",
            "invalid interval '2 eons': write a whole number and a unit, e.g. '90 days' (units: "
            "minutes, hours, days, weeks, months, years)\n"
            "  signup_date >= today() - interval '2 eons'\n"
            "                                    ^^^^^^^^",
        ),
    ],
)
def test_error_messages_show_the_filter_and_a_caret_line(text: str, message: str) -> None:
    assert str(error_for(text)) == message


def test_too_long_filter_is_refused_and_shown_as_a_window() -> None:
    text = "name = '" + "x" * MAX_LENGTH + "'"
    error = error_for(text)
    assert (error.position, error.length) == (MAX_LENGTH, len(text) - MAX_LENGTH)
    assert error.problem == f"the filter is too long ({len(text):,} characters; at most 2,000)"
    shown, carets = str(error).splitlines()[1:]
    # a window of the filter, ending at its end, the carets under the last nine characters
    assert shown == "  ..." + text[-100:]
    assert carets == " " * (len(shown) - 9) + "^" * 9
    compile_filter("name = '" + "x" * (MAX_LENGTH - 9) + "'", FIELDS, now=NOW)


def test_too_deep_nesting_is_refused() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "is_vip" + ")" * (MAX_DEPTH + 5)
    error = error_for(deep)
    assert (error.position, error.length) == (MAX_DEPTH, 1)
    assert error.problem == "the filter nests too deeply (more than 32 levels)"
    nots = "not " * (MAX_DEPTH + 1) + "is_vip"
    assert error_for(nots).position == 4 * MAX_DEPTH
    ok = "(" * MAX_DEPTH + "is_vip" + ")" * MAX_DEPTH
    assert compile_filter(ok, FIELDS, now=NOW).fields_used == ("is_vip",)


# --- fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "type_", "message"),
    [
        ("country code", "text", "not an identifier"),
        ("1st", "text", "not an identifier"),
        ("Between", "text", "is a keyword"),
        ("country", "string", "field type 'string' is not one of"),
    ],
)
def test_bad_field_definitions_are_programming_errors(name: str, type_: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Field(name, contact.c.country, type_)


def test_field_names_must_be_unique_ignoring_case() -> None:
    fields = {
        "country": Field("country", contact.c.country, "text"),
        "Country": Field("Country", contact.c.name, "text"),
    }
    with pytest.raises(ValueError, match="two fields are named 'Country'"):
        compile_filter("country = 'x'", fields)
    with pytest.raises(ValueError, match="listed under the key 'land'"):
        compile_filter("country = 'x'", {"land": FIELDS["country"]})


def test_declared_field_names_keep_their_spelling(engine: sa.Engine) -> None:
    fields = {"CLV12m": Field("CLV12m", contact.c.clv_12m, "number")}
    compiled = compile_filter("clv12M > 2000", fields, now=NOW)
    assert compiled.text == "CLV12m > 2000"
    assert compiled.fields_used == ("CLV12m",)
    with engine.connect() as conn:
        assert set(conn.scalars(sa.select(contact.c.id).where(compiled.where))) == {6}


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_filters_select_the_same_rows_on_postgresql(pg_server: str, engine: sa.Engine) -> None:
    pg_metadata = sa.MetaData()
    columns = [
        sa.Column(column.name, column.type, primary_key=column.primary_key) for column in contact.c
    ]
    temp = sa.Table("segment_contact", pg_metadata, *columns, prefixes=["TEMPORARY"])
    fields = make_fields(temp)
    fields["last_seen_at"] = Field(
        "last_seen_at", sa.literal_column("segment_contact.last_order_at"), "datetime"
    )
    filters = [
        "country = 'DE' and clv_12m > 500 and churn_risk >= 0.6 "
        "and last_order_at < now() - interval '90 days'",
        "name like 'Anna%'",
        "email like '%.de'",
        "name like 'Hans\\_Peter'",
        "name not ilike '%a%'",
        "email contains '_' or name contains '100%'",
        "not country in ('DE', 'FR')",
        "not is_vip",
        "last_order_at = '2024-02-29'",
        "last_order_at < '2024-01-01T01:00+02:00'",
        "last_seen_at >= now()",
        "signup_date >= today() - interval '1 month'",
        "country = 'x'' or 1=1 --'",
        "email_length = 12",
    ]
    pg = sa.create_engine(pg_server, connect_args={"connect_timeout": 3})
    try:
        with pg.connect() as conn:
            pg_metadata.create_all(conn)
            conn.execute(temp.insert(), [row_values(row) for row in ROWS])
            for text in filters:
                where = compile_filter(text, fields, now=NOW).where
                selected = set(conn.scalars(sa.select(temp.c.id).where(where)))
                assert selected == select_ids(engine, text), text
            conn.rollback()
    finally:
        pg.dispose()


def test_conditions_on_sealed_fields_go_to_the_judge(engine: sa.Engine) -> None:
    """An encrypted field's conditions are answered by the judge (here: run on the plain
    table, as the segment pipeline runs them on decrypted values); `is null` stays SQL."""
    sealed = {**FIELDS, "email": Field("email", contact.c.email, "text", sealed=True)}
    judged: list[tuple[str, ...]] = []

    def judge(condition: ColumnElement[bool], fields: tuple[Field, ...]) -> ColumnElement[bool]:
        judged.append(tuple(f.name for f in fields))
        with engine.connect() as conn:
            ids = set(conn.scalars(sa.select(contact.c.id).where(condition)))
        return contact.c.id.in_(sorted(ids))

    def run(text: str) -> set[int]:
        where = compile_filter(text, sealed, now=NOW, judge=judge).where
        with engine.connect() as conn:
            return set(conn.scalars(sa.select(contact.c.id).where(where)))

    for text in ("email ilike '%.de' and country = 'DE'", "not email contains 'example'"):
        assert run(text) == select_ids(engine, text), text
    assert judged == [("email",), ("email",)]
    assert run("email is not null") == select_ids(engine, "email is not null")
    assert len(judged) == 2
    with pytest.raises(SegmentSyntaxError, match="encrypted: compare it with a value") as caught:
        run("email = name")
    assert (caught.value.position, caught.value.length) == (0, len("email = name"))
    with pytest.raises(SegmentSyntaxError, match="only 'is null' and 'is not null'"):
        compile_filter("country = 'DE' and email like '%.de'", sealed, now=NOW)
    assert compile_filter("email is null", sealed, now=NOW).fields_used == ("email",)
