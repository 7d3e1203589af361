"""The segment filter language: text a user types, checked and compiled to a SQL condition.

`rolodex segment create NAME --where "EXPR"` stores a filter such as

    country = 'DE' and clv_12m > 500 and last_order_at < now() - interval '90 days'

This module tokenizes, parses, type-checks and compiles it to a SQLAlchemy Core boolean
expression over the `Field`s the caller provides (the query that joins golden records with
scores and aggregates is built elsewhere). It is a language of its own rather than raw SQL so
that a saved segment cannot read or change anything but the rows it filters: every value the
user writes becomes a bound parameter and nothing from the text is ever pasted into SQL. A bad
filter raises `SegmentSyntaxError`, whose message names the problem and points at the token:

    unknown field 'contry' (did you mean 'country'?)
      country = 'DE' and contry = 'FR'
                         ^^^^^^

Grammar (keywords are case-insensitive, field names too; `not` binds tighter than `and`,
which binds tighter than `or`):

    filter     = or_expr ;
    or_expr    = and_expr { "or" and_expr } ;
    and_expr   = not_expr { "and" not_expr } ;
    not_expr   = "not" not_expr | "(" or_expr ")" | condition ;
    condition  = field compare value | value compare field | field compare field
               | field [ "not" ] "in" "(" value { "," value } ")"
               | field "is" [ "not" ] "null"
               | field [ "not" ] "between" value "and" value
               | field [ "not" ] ( "like" | "ilike" ) string
               | field "contains" string | field "starts" "with" string
               | boolean_field ;
    compare    = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ;
    value      = term { ( "+" | "-" ) term } ;          (constants only, see below)
    term       = string | number | "true" | "false" | "null"
               | "now" "(" ")" | "today" "(" ")" | "interval" string ;
    field      = /[A-Za-z_][A-Za-z0-9_]*/ ;
    string     = "'" { any character, "''" for a quote } "'" ;
    number     = [ "-" ] ( digits [ "." digits ] | "." digits ) ;   (at most 18 digits)

A filter is at most `MAX_LENGTH` characters and nests at most `MAX_DEPTH` levels deep.

Values are checked against the field's type: a number field takes numbers (or a quoted
number), a date field takes dates written as strings ('2024-01-31'), `today()` and date
arithmetic, a datetime field also takes `now()` and 'YYYY-MM-DD HH:MM[:SS][+HH:MM]' (without an
offset a time is UTC, and a bare date means midnight UTC of that day), a boolean field takes
true or false only. `= null` is refused in favour of `is null`.

Arithmetic (`now() - interval '90 days'`, `today() + interval '1 month'`,
`'2024-01-01' + interval '2 weeks'`, `100 + 50`) is evaluated here, in Python, so the SQL
gets one bound date or datetime and behaves the same on SQLite and PostgreSQL. Interval units
are minutes, hours, days, weeks, months and years (singular or plural, several may be
combined: '1 year 2 months'); months and years are calendar months, so Jan 31 + 1 month is
Feb 28 (29 in a leap year), and they are applied before the days, as PostgreSQL does.
Arithmetic on a field (`clv_12m + 10 > 500`) is refused: move it to the other side.

Text: `=` and `like` are case-sensitive on both databases (SQLite's own LIKE is not, so `like`
is compiled to GLOB there); `ilike`, `contains` and `starts with` ignore case, compiled as
`lower(col) LIKE lower(:value)` (SQLite's lower() folds ASCII letters only). In `like`/`ilike`
patterns `%` matches any text, `_` one character and `\\` escapes the next character;
`contains` and `starts with` take their value literally.

Missing values: a comparison against a missing value is false (`country != 'DE'` does not
select contacts without a country; add `or country is null`), while `not` selects exactly the
rows its operand does not (`not country = 'DE'` does include them).

Encrypted fields (`Field.sealed`: emails, phones, dates of birth) hold tokens SQL cannot
compare: `is null` still runs in SQL, and every other condition on them is handed, compiled
as it would be, to the caller's `judge`, which answers it on the decrypted values and gives
back a condition SQL can run (the ids it holds for). A condition comparing an encrypted field
with another field is refused, as is any without a judge.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, NoReturn, cast, get_args

import sqlalchemy as sa
from rapidfuzz import fuzz, process, utils
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from rolodex.exceptions import InputError

__all__ = [
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "CompiledFilter",
    "Field",
    "FieldType",
    "Judge",
    "SegmentSyntaxError",
    "compile_filter",
]

MAX_LENGTH = 2_000
"""Longest filter accepted, in characters: a filter is typed by a person, not generated."""

MAX_DEPTH = 32
"""Deepest nesting of parentheses and `not` accepted."""

FieldType = Literal["text", "number", "date", "datetime", "boolean"]

KEYWORDS: frozenset[str] = frozenset(
    {
        "and", "or", "not", "in", "is", "null", "between", "like", "ilike", "contains",
        "starts", "with", "true", "false", "now", "today", "interval",
    }
)  # fmt: skip

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_OPERATORS = ("<=", ">=", "<>", "!=", "=", "<", ">")
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_INTERVAL = re.compile(r"\s*(?:\d{1,6}\s*[A-Za-z]+\s*)+")
_INTERVAL_PART = re.compile(r"(\d{1,6})\s*([A-Za-z]+)")
_UNITS = {
    "minute": "minutes", "minutes": "minutes", "hour": "hours", "hours": "hours",
    "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
    "month": "months", "months": "months", "year": "years", "years": "years",
}  # fmt: skip
_LIKE_ESCAPE = "\\"
_MAX_DIGITS = 18  # a bigger integer overflows SQLite's 64-bit INTEGER
_SHOWN_WIDTH = 100  # characters of the filter shown above the caret line
_LISTED_FIELDS = 20  # available fields listed when no name is close to an unknown one


@dataclass(frozen=True, eq=False)  # eq=False: SQLAlchemy columns overload ==
class Field:
    """A name a filter may use and the column it stands for in the segment query.

    Attributes:
        name: What users type; matched case-insensitively.
        column: The column or labelled expression the query provides, e.g. `contact.c.country`.
        type: How values are checked and bound: text, number, date, datetime or boolean.
        description: A short explanation for help and error listings.
        sealed: Stored encrypted: SQL sees tokens, so conditions on it other than `is null`
            go through the `judge` given to `compile_filter`.
    """

    name: str
    column: ColumnElement[Any]
    type: FieldType
    description: str = ""
    sealed: bool = False

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.name):
            raise ValueError(
                f"field name {self.name!r} is not an identifier [A-Za-z_][A-Za-z0-9_]*"
            )
        if self.name.lower() in KEYWORDS:
            raise ValueError(f"field name {self.name!r} is a keyword of the filter language")
        if self.type not in get_args(FieldType):
            raise ValueError(f"field type {self.type!r} is not one of {get_args(FieldType)}")


@dataclass(frozen=True, eq=False)  # eq=False: `where` overloads ==
class CompiledFilter:
    """A checked filter, ready to go into the segment query's WHERE clause.

    Attributes:
        where: The condition; every value in it is a bound parameter.
        fields_used: Names of the fields the filter reads, sorted.
        text: The filter normalized for storing and showing (keywords lower-case, field names
            as declared, single spaces); compiling it again gives the same condition.
        now: The moment `now()` and `today()` stood for (UTC).
    """

    where: ColumnElement[bool]
    fields_used: tuple[str, ...]
    text: str
    now: datetime


Judge = Callable[[ColumnElement[bool], tuple[Field, ...]], ColumnElement[bool]]
"""Answers one condition on encrypted fields (given the condition as compiled and the
encrypted fields it reads) with an equivalent condition SQL can run on the stored tokens."""


class SegmentSyntaxError(InputError):
    """A filter that cannot be used; the message shows the filter with a caret line under the
    offending token.

    Attributes:
        problem: What is wrong, in one line (the message without the caret lines).
        expression: The filter as given.
        position: 0-based character offset of the offending token (the length of the filter
            when something is missing at its end).
        length: Characters the offending token spans.
    """

    def __init__(self, problem: str, *, expression: str, position: int, length: int) -> None:
        self.problem = problem
        self.expression = expression
        self.position = position
        self.length = length
        super().__init__(f"{problem}\n{_pointer(expression, position, length)}")


def compile_filter(
    text: str,
    fields: Mapping[str, Field],
    *,
    now: datetime | None = None,
    judge: Judge | None = None,
) -> CompiledFilter:
    """Check a filter and compile it to a SQLAlchemy condition over `fields`.

    Args:
        text: The filter as the user typed it.
        fields: The fields the segment query provides, keyed by name (case is ignored).
        now: The moment `now()` stands for; `today()` is its UTC date. Defaults to the current
            time; a naive datetime is taken as UTC.
        judge: Answers conditions on encrypted (`sealed`) fields; without one, only `is null`
            and `is not null` may use them.

    Returns:
        The condition with every value bound as a parameter, the fields it reads, the
        normalized text and the `now` used.

    Raises:
        SegmentSyntaxError: The filter is malformed, names an unknown field, or compares a
            field with a value of the wrong type; the message points at the token.
        ValueError: Two fields share a name, ignoring case, or a key differs from its field's name.

    Examples:
        >>> contact = sa.table("contact", sa.column("country", sa.String()))
        >>> fields = {"country": Field("country", contact.c.country, "text")}
        >>> compile_filter("Country IN ('DE', 'AT')", fields).text
        "country in ('DE', 'AT')"
    """
    by_name: dict[str, Field] = {}
    for key, field in fields.items():
        if key.lower() != field.name.lower():
            raise ValueError(f"field {field.name!r} is listed under the key {key!r}")
        if field.name.lower() in by_name:
            raise ValueError(f"two fields are named {field.name!r} (names ignore case)")
        by_name[field.name.lower()] = field
    moment = datetime.now(UTC) if now is None else _as_utc(now)
    if len(text) > MAX_LENGTH:
        raise SegmentSyntaxError(
            f"the filter is too long ({len(text):,} characters; at most {MAX_LENGTH:,})",
            expression=text,
            position=MAX_LENGTH,
            length=len(text) - MAX_LENGTH,
        )
    parser = _Parser(text, by_name, moment, judge)
    where = parser.parse()
    return CompiledFilter(
        where=where,
        fields_used=tuple(sorted(parser.used)),
        text=_normalize(parser.tokens, by_name),
        now=moment,
    )


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["ident", "string", "number", "op", "(", ")", ",", "+", "-", "end"]
    text: str  # as written (strings with their quotes)
    position: int
    value: str = ""  # identifiers lower-cased, strings unquoted

    @property
    def end(self) -> int:
        return self.position + len(self.text)

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "ident" and self.value in words

    def described(self) -> str:
        if self.kind == "end":
            return "the end of the filter"
        return self.text if self.kind == "string" else f"'{self.text}'"


def _scan(text: str) -> Iterator[_Token]:
    """Yield the filter's tokens with their positions, lazily, so errors come in text order."""
    last: _Token | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            parts: list[str] = []
            j = i + 1
            while True:
                k = text.find("'", j)
                if k < 0:
                    _fail(text, i, n - i, "unterminated string: add the closing quote (')")
                parts.append(text[j:k])
                if k + 1 < n and text[k + 1] == "'":
                    parts.append("'")
                    j = k + 2
                    continue
                break
            last = _Token("string", text[i : k + 1], i, "".join(parts))
            yield last
            i = k + 1
        elif ch == '"':
            k = text.find('"', i + 1)
            length = (k + 1 - i) if k >= 0 else 1
            _fail(text, i, length, "values take single quotes ('DE'); double quotes are not used")
        elif (number := _number_at(text, i, last)) is not None:
            if tail := _NUMBER_TAIL.match(text, number.end()):
                _fail(text, i, tail.end() - i, f"invalid number '{text[i : tail.end()]}'")
            if sum(ch.isdigit() for ch in number.group()) > _MAX_DIGITS:
                _fail(text, i, number.end() - i, f"numbers have at most {_MAX_DIGITS} digits")
            last = _Token("number", number.group(), i)
            yield last
            i = number.end()
        elif ident := _IDENTIFIER.match(text, i):
            last = _Token("ident", ident.group(), i, ident.group().lower())
            yield last
            i = ident.end()
        elif op := next((op for op in _OPERATORS if text.startswith(op, i)), None):
            last = _Token("op", op, i)
            yield last
            i += len(op)
        elif ch in "(),+-":
            last = _Token(ch, ch, i)  # type: ignore[arg-type]
            yield last
            i += 1
        else:
            hint = " (a filter is a single condition)" if ch == ";" else ""
            _fail(text, i, 1, f"unexpected character '{ch}'{hint}")
    yield _Token("end", "", n)


def _number_at(text: str, i: int, last: _Token | None) -> re.Match[str] | None:
    """Match a number at `i`; a leading '-' is a sign only where an operator cannot be."""
    if text[i] == "-" and last is not None and _ends_value(last):
        return None
    if not (text[i].isdigit() or text[i] in ".-"):
        return None
    return _NUMBER.match(text, i)


def _ends_value(token: _Token) -> bool:
    if token.kind in ("number", "string", ")"):
        return True
    return token.kind == "ident" and (
        token.value not in KEYWORDS or token.value in ("true", "false", "null")
    )


def _normalize(tokens: list[_Token], fields: Mapping[str, Field]) -> str:
    """Rebuild the filter text: keywords lower-case, declared field names, single spaces."""
    out: list[str] = []
    previous: _Token | None = None
    for token in tokens[:-1]:
        shown = token.text
        if token.kind == "ident":
            shown = token.value if token.value in KEYWORDS else fields[token.value].name
        elif token.text == "<>":
            shown = "!="
        glued = (
            previous is None
            or previous.kind == "("
            or token.kind in (")", ",")
            or (token.kind == "(" and previous.is_keyword("now", "today"))
        )
        out.append(shown if glued else f" {shown}")
        previous = token
    return "".join(out)


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Interval:
    months: int
    delta: timedelta


_ValueKind = Literal["text", "number", "boolean", "null", "date", "datetime", "interval"]
_KIND_NAMES: dict[str, str] = {
    "text": "text",
    "number": "a number",
    "boolean": "true/false",
    "null": "null",
    "date": "a date",
    "datetime": "a date and time",
    "interval": "an interval",
}


@dataclass(frozen=True, slots=True)
class _Value:
    """A constant from the filter, with where it was written."""

    kind: _ValueKind
    value: Any
    position: int
    end: int

    def described(self, text: str) -> str:
        return f"{_KIND_NAMES[self.kind]} ({text[self.position : self.end]})"


@dataclass(frozen=True, slots=True, eq=False)
class _FieldRef:
    field: Field
    position: int
    end: int


_Operand = _Value | _FieldRef
_Point = date | datetime


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_point(raw: str) -> _Point | None:
    """Read 'YYYY-MM-DD' as a date, 'YYYY-MM-DD HH:MM[:SS][offset]' as a UTC datetime."""
    try:
        if _DATE.fullmatch(raw):
            return date.fromisoformat(raw)
        if _DATETIME.fullmatch(raw):
            return _as_utc(datetime.fromisoformat(raw))
    except ValueError:
        return None
    return None


def _parse_interval(raw: str) -> _Interval | None:
    if not _INTERVAL.fullmatch(raw):
        return None
    months, delta = 0, timedelta()
    for count_text, unit_text in _INTERVAL_PART.findall(raw):
        count, unit = int(count_text), _UNITS.get(unit_text.lower())
        if unit is None:
            return None
        if unit == "years":
            months += 12 * count
        elif unit == "months":
            months += count
        else:
            delta += timedelta(**{unit: count})
    return _Interval(months, delta)


def _shift(point: _Point, interval: _Interval, sign: int) -> _Point:
    """Move a date or datetime by an interval: calendar months first, then the rest."""
    total = point.year * 12 + point.month - 1 + sign * interval.months
    year, month = divmod(total, 12)
    day = min(point.day, calendar.monthrange(year, month + 1)[1])
    moved = point.replace(year=year, month=month + 1, day=day)
    delta = interval.delta if sign > 0 else -interval.delta
    if isinstance(moved, datetime):
        return moved + delta
    if delta.seconds or delta.microseconds:
        return datetime.combine(moved, time(), UTC) + delta
    return moved + timedelta(days=delta.days)


# --- parser and compiler --------------------------------------------------------------------


class _Parser:
    """Recursive descent over the tokens, type-checking and compiling as it goes."""

    def __init__(
        self, text: str, fields: Mapping[str, Field], now: datetime, judge: Judge | None = None
    ) -> None:
        self.text = text
        self.scanner = _scan(text)
        self.tokens: list[_Token] = []  # scanned so far; all of them once parsing succeeded
        self.fields = fields
        self.now = now
        self.judge = judge
        self.index = 0
        self.depth = 0
        self.used: set[str] = set()
        self.parameters = 0
        self.reading: list[Field] = []  # the fields of the condition being parsed
        self.null_test = False  # whether that condition is `is [not] null`

    # token access

    def token(self, index: int) -> _Token:
        while len(self.tokens) <= index and not (self.tokens and self.tokens[-1].kind == "end"):
            self.tokens.append(next(self.scanner))
        return self.tokens[min(index, len(self.tokens) - 1)]

    @property
    def peek(self) -> _Token:
        return self.token(self.index)

    def peek_at(self, offset: int) -> _Token:
        return self.token(self.index + offset)

    @property
    def previous(self) -> _Token | None:
        return self.tokens[self.index - 1] if self.index else None

    def advance(self) -> _Token:
        token = self.peek
        if token.kind != "end":
            self.index += 1
        return token

    def fail(self, message: str, position: int, end: int | None = None) -> NoReturn:
        _fail(self.text, position, (end if end is not None else position + 1) - position, message)

    def fail_at(self, token: _Token, message: str) -> NoReturn:
        self.fail(message, token.position, max(token.end, token.position + 1))

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail_at(token, f"the filter nests too deeply (more than {MAX_DEPTH} levels)")

    # conditions

    def parse(self) -> ColumnElement[bool]:
        if not self.text.strip():
            self.fail("the filter is empty: write a condition such as country = 'DE'", 0, 0)
        condition = self.or_expr()
        if self.peek.kind != "end":
            self.unexpected_after_condition(self.peek, closing=False)
        return condition

    def or_expr(self) -> ColumnElement[bool]:
        parts = [self.and_expr()]
        while self.peek.is_keyword("or"):
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else sa.or_(*parts)

    def and_expr(self) -> ColumnElement[bool]:
        parts = [self.not_expr()]
        while self.peek.is_keyword("and"):
            self.advance()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def not_expr(self) -> ColumnElement[bool]:
        token = self.peek
        if token.is_keyword("not"):
            self.advance()
            self.enter(token)
            inner = self.not_expr()
            self.depth -= 1
            # coalesce: `not` selects exactly the rows its operand does not, missing values too
            return sa.not_(sa.func.coalesce(inner, sa.false()))
        if token.kind == "(":
            self.advance()
            self.enter(token)
            inner = self.or_expr()
            if self.peek.kind == "end":
                self.fail_at(token, "missing ')' to close this '('")
            if self.peek.kind != ")":
                self.unexpected_after_condition(self.peek, closing=True)
            self.advance()
            self.depth -= 1
            return inner
        return self.condition()

    def unexpected_after_condition(self, token: _Token, *, closing: bool) -> NoReturn:
        if token.kind == ")":
            self.fail_at(token, "unmatched ')': there is no '(' for it to close")
        expected = "'and', 'or' or ')'" if closing else "'and' or 'or'"
        if token.kind == "ident" and token.value not in KEYWORDS:
            close = process.extractOne(token.value, ["and", "or"], scorer=fuzz.ratio)
            if close is not None and close[1] >= 60:
                self.fail_at(token, f"unexpected {token.described()} (did you mean '{close[0]}'?)")
        self.fail_at(
            token,
            f"unexpected {token.described()} after a complete condition: expected {expected}",
        )

    def condition(self) -> ColumnElement[bool]:
        """One condition; one on encrypted fields answered by the judge."""
        start = self.peek.position
        self.reading, self.null_test = [], False
        condition = self.plain_condition()
        sealed = tuple(dict.fromkeys(f for f in self.reading if f.sealed))
        if not sealed or self.null_test:
            return condition
        end = self.previous.end if self.previous is not None else start + 1
        if len(sealed) != len(set(self.reading)):
            self.fail(
                f"'{sealed[0].name}' is stored encrypted: compare it with a value, not with "
                "another field",
                start,
                end,
            )
        if self.judge is None:
            self.fail(
                f"'{sealed[0].name}' is stored encrypted: only 'is null' and 'is not null' "
                "work on it here",
                start,
                end,
            )
        return self.judge(condition, sealed)

    def plain_condition(self) -> ColumnElement[bool]:
        left = self.operand(what="a condition")
        token = self.peek
        if isinstance(left, _Value):
            if token.kind != "op":
                self.fail(
                    f"a condition starts with a field name, not {left.described(self.text)}",
                    left.position,
                    left.end,
                )
            self.advance()
            right = self.operand(what="a value")
            if not isinstance(right, _FieldRef):
                self.fail(
                    "a condition compares a field, e.g. country = 'DE'; this compares two values",
                    left.position,
                    right.end,
                )
            return self.compare(right, _FLIPPED[_canonical_op(token.text)], left, token)
        if token.kind == "op":
            self.advance()
            return self.compare(
                left, _canonical_op(token.text), self.operand(what="a value"), token
            )
        if token.is_keyword("is"):
            return self.is_null(left)
        negated = token.is_keyword("not")
        keyword = self.peek_at(1) if negated else token
        if keyword.is_keyword("in", "between", "like", "ilike"):
            if negated:
                self.advance()
            self.advance()
            if keyword.value == "in":
                return self.in_list(left, keyword, negated=negated)
            if keyword.value == "between":
                return self.between(left, keyword, negated=negated)
            return self.like(left, keyword, negated=negated)
        if negated:
            self.fail_at(keyword, "expected 'in', 'between', 'like' or 'ilike' after 'not'")
        if token.is_keyword("contains", "starts"):
            self.advance()
            return self.contains(left, token)
        if left.field.type == "boolean" and (
            token.kind in ("end", ")") or token.is_keyword("and", "or")
        ):
            return left.field.column == sa.true()
        self.fail_at(
            token,
            f"expected an operator after '{left.field.name}' (=, !=, <, <=, >, >=, in, between, "
            "like, ilike, contains, starts with, is null), found " + token.described(),
        )

    def compare(
        self, left: _FieldRef, op: str, right: _Operand, op_token: _Token
    ) -> ColumnElement[bool]:
        field = left.field
        if isinstance(right, _FieldRef):
            other = right.field
            if other.type != field.type:
                self.fail(
                    f"cannot compare '{field.name}' ({field.type}) with '{other.name}' "
                    f"({other.type})",
                    right.position,
                    right.end,
                )
            if field.type == "boolean" and op not in ("=", "!="):
                self.fail_at(op_token, "true/false fields can only be compared with = or !=")
            return _apply(op, field.column, other.column)
        if right.kind == "null":
            better = "is null" if op == "=" else "is not null" if op == "!=" else None
            hint = f"use '{better}'" if better else "use 'is null' or 'is not null'"
            self.fail(f"comparing with null matches nothing: {hint}", op_token.position, right.end)
        if field.type == "boolean" and op not in ("=", "!="):
            self.fail_at(op_token, "true/false fields can only be compared with = or !=")
        return _apply(op, field.column, self.bind(field, self.coerce(field, right)))

    def is_null(self, left: _FieldRef) -> ColumnElement[bool]:
        self.null_test = True  # tokens are null exactly when the values are
        self.advance()
        negated = self.peek.is_keyword("not")
        if negated:
            self.advance()
        if not self.peek.is_keyword("null"):
            words = "is not" if negated else "is"
            self.fail_at(
                self.peek,
                f"expected 'null' after '{words}' (compare other values with = or !=)",
            )
        self.advance()
        column = left.field.column
        return column.is_not(None) if negated else column.is_(None)

    def in_list(self, left: _FieldRef, keyword: _Token, *, negated: bool) -> ColumnElement[bool]:
        opening = self.peek
        if opening.kind != "(":
            self.fail_at(
                opening, f"expected '(' after '{keyword.text}', e.g. country in ('DE', 'AT')"
            )
        self.advance()
        if self.peek.kind == ")":
            self.fail_at(self.peek, "the list is empty: give at least one value")
        values: list[Any] = []
        while True:
            item = self.value(what="a value")
            if item.kind == "null":
                self.fail(
                    f"null cannot be in a list: add 'or {left.field.name} is null'",
                    item.position,
                    item.end,
                )
            values.append(self.coerce(left.field, item))
            separator = self.peek
            if separator.kind == ",":
                self.advance()
                continue
            if separator.kind == ")":
                self.advance()
                break
            if separator.kind == "end":
                self.fail_at(opening, "missing ')' to close this '('")
            self.fail_at(
                separator, f"expected ',' or ')' in the list, found {separator.described()}"
            )
        parameters = [self.bind(left.field, value) for value in values]
        column = left.field.column
        return column.not_in(parameters) if negated else column.in_(parameters)

    def between(self, left: _FieldRef, keyword: _Token, *, negated: bool) -> ColumnElement[bool]:
        field = left.field
        low = self.value(what="a value")
        and_token = self.peek
        if not and_token.is_keyword("and"):
            self.fail_at(
                and_token,
                f"expected 'and' between the bounds, e.g. {field.name} between 1 and 5",
            )
        self.advance()
        high = self.value(what="a value")
        for bound in (low, high):
            if bound.kind == "null":
                self.fail(f"'{keyword.text}' needs two values, not null", bound.position, bound.end)
        if field.type == "boolean":
            self.fail_at(keyword, "true/false fields can only be compared with = or !=")
        low_value, high_value = self.coerce(field, low), self.coerce(field, high)
        if field.type != "text" and low_value > high_value:
            self.fail(
                "the range is empty: put the smaller bound first",
                low.position,
                high.end,
            )
        condition = field.column.between(self.bind(field, low_value), self.bind(field, high_value))
        return sa.not_(condition) if negated else condition

    def like(self, left: _FieldRef, keyword: _Token, *, negated: bool) -> ColumnElement[bool]:
        field = left.field
        self.need_text(field, keyword)
        pattern_token = self.peek
        if pattern_token.kind != "string":
            self.fail_at(
                pattern_token,
                f"expected a quoted pattern after '{keyword.text}', e.g. {field.name} "
                f"{keyword.value} 'Ann%'",
            )
        self.advance()
        pattern = pattern_token.value
        if _ends_with_escape(pattern):
            self.fail_at(
                pattern_token,
                "the pattern ends with an escape '\\': double it ('\\\\') to match a backslash",
            )
        condition: ColumnElement[bool]
        if keyword.value == "ilike":
            condition = self.case_insensitive_like(field, pattern)
        else:
            condition = _Like(
                field.column, self.bind(field, pattern), self.bind(field, _like_to_glob(pattern))
            )
        return sa.not_(condition) if negated else condition

    def contains(self, left: _FieldRef, keyword: _Token) -> ColumnElement[bool]:
        field = left.field
        self.need_text(field, keyword)
        if keyword.value == "starts":
            with_token = self.peek
            if not with_token.is_keyword("with"):
                self.fail_at(
                    with_token, "expected 'with' after 'starts', e.g. email starts with 'info'"
                )
            self.advance()
        words = "starts with" if keyword.value == "starts" else "contains"
        value_token = self.peek
        if value_token.kind != "string":
            self.fail_at(
                value_token, f"expected quoted text after '{words}', e.g. {field.name} {words} 'x'"
            )
        self.advance()
        escaped = _escape_like(value_token.value)
        pattern = f"{escaped}%" if keyword.value == "starts" else f"%{escaped}%"
        return self.case_insensitive_like(field, pattern)

    def case_insensitive_like(self, field: Field, pattern: str) -> ColumnElement[bool]:
        return sa.func.lower(field.column).like(
            sa.func.lower(self.bind(field, pattern)), escape=_LIKE_ESCAPE
        )

    def need_text(self, field: Field, keyword: _Token) -> None:
        if field.type != "text":
            words = "starts with" if keyword.value == "starts" else keyword.value
            self.fail_at(
                keyword,
                f"'{words}' works on text fields, and '{field.name}' is a {field.type} field",
            )

    # values

    def operand(self, *, what: str) -> _Operand:
        """Parse a field or a constant, evaluating constant arithmetic."""
        result = self.term(what=what)
        while self.peek.kind in ("+", "-"):
            op_token = self.advance()
            right = self.term(what="a value")
            for side in (result, right):
                if isinstance(side, _FieldRef):
                    self.fail(
                        f"arithmetic on the field '{side.field.name}' is not supported: keep the "
                        "field alone and move the arithmetic to the other side "
                        "(e.g. last_order_at < now() - interval '90 days')",
                        result.position,
                        right.end,
                    )
            assert isinstance(result, _Value)
            assert isinstance(right, _Value)
            result = self.arithmetic(result, op_token, right)
        return result

    def value(self, *, what: str) -> _Value:
        operand = self.operand(what=what)
        if isinstance(operand, _FieldRef):
            self.fail(
                f"expected a value here, not the field '{operand.field.name}'",
                operand.position,
                operand.end,
            )
        return operand

    def term(self, *, what: str) -> _Operand:
        token = self.peek
        if token.kind == "string":
            self.advance()
            return _Value("text", token.value, token.position, token.end)
        if token.kind == "number":
            self.advance()
            number: int | Decimal = (
                int(token.text) if token.text.lstrip("-").isdigit() else Decimal(token.text)
            )
            return _Value("number", number, token.position, token.end)
        if token.kind != "ident":
            self.expected(what, token)
        word = token.value
        if word in ("true", "false"):
            self.advance()
            return _Value("boolean", word == "true", token.position, token.end)
        if word == "null":
            self.advance()
            return _Value("null", None, token.position, token.end)
        if word in ("now", "today"):
            self.advance()
            for kind in ("(", ")"):
                if self.peek.kind != kind:
                    self.fail_at(self.peek, f"expected '{kind}': write {word}()")
                end = self.advance().end
            moment: _Point = self.now if word == "now" else self.now.date()
            return _Value("datetime" if word == "now" else "date", moment, token.position, end)
        if word == "interval":
            self.advance()
            length = self.peek
            if length.kind != "string":
                self.fail_at(length, "expected a quoted length after 'interval', e.g. '90 days'")
            self.advance()
            interval = _parse_interval(length.value)
            if interval is None:
                self.fail_at(
                    length,
                    f"invalid interval {length.text}: write a whole number and a unit, e.g. "
                    "'90 days' (units: minutes, hours, days, weeks, months, years)",
                )
            return _Value("interval", interval, token.position, length.end)
        if word in KEYWORDS:
            self.expected(what, token)
        if self.peek_at(1).kind == "(":
            self.fail_at(
                token, f"unknown function '{token.text}': the functions are now() and today()"
            )
        return self.field(token, in_value=what == "a value")

    def expected(self, what: str, token: _Token) -> NoReturn:
        previous = self.previous
        after = f" after {previous.described()}" if previous is not None else ""
        found = "" if token.kind == "end" else f", found {token.described()}"
        self.fail_at(token, f"expected {what}{after}{found}")

    def field(self, token: _Token, *, in_value: bool) -> _FieldRef:
        field = self.fields.get(token.value)
        if field is None:
            self.fail_at(token, self.unknown_field(token.text, in_value=in_value))
        self.used.add(field.name)
        self.reading.append(field)
        self.advance()
        return _FieldRef(field, token.position, token.end)

    def unknown_field(self, name: str, *, in_value: bool) -> str:
        problem = f"unknown field '{name}'"
        if in_value:
            return f"{problem} (text values need quotes: '{name}')"
        names = sorted(field.name for field in self.fields.values())
        close = (
            process.extract(
                name,
                names,
                scorer=fuzz.WRatio,
                processor=utils.default_process,
                limit=None,
                score_cutoff=80,
            )
            if len(name) >= 3
            else []
        )
        if close:
            # WRatio finds partial matches; the plain ratio puts the nearest spelling first
            ranked = sorted(close, key=lambda match: -fuzz.ratio(name.lower(), match[0].lower()))
            quoted = [f"'{match[0]}'" for match in ranked[:3]]
            options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
            return f"{problem} (did you mean {options}?)"
        if not names:
            return f"{problem}: no fields are available"
        listed = ", ".join(names[:_LISTED_FIELDS])
        more = f" and {len(names) - _LISTED_FIELDS} more" if len(names) > _LISTED_FIELDS else ""
        return f"{problem}; available fields: {listed}{more}"

    def arithmetic(self, left: _Value, op_token: _Token, right: _Value) -> _Value:
        sign = 1 if op_token.kind == "+" else -1
        span = (left.position, right.end)
        if left.kind == "number" and right.kind == "number":
            return _Value("number", left.value + sign * right.value, *span)
        if left.kind == "interval" and right.kind == "interval":
            months = left.value.months + sign * right.value.months
            delta = left.value.delta + sign * right.value.delta
            return _Value("interval", _Interval(months, delta), *span)
        point, interval = left, right
        if sign > 0 and left.kind == "interval":
            point, interval = right, left
        if interval.kind == "interval" and point.kind in ("date", "datetime", "text"):
            start = self.point(point)
            try:
                moved = _shift(start, interval.value, sign)
            except (OverflowError, ValueError):
                self.fail("the date is out of range", *span)
            kind: _ValueKind = "datetime" if isinstance(moved, datetime) else "date"
            return _Value(kind, moved, *span)
        verb, word = ("add", "to") if sign > 0 else ("subtract", "from")
        self.fail_at(
            op_token,
            f"cannot {verb} {right.described(self.text)} {word} {left.described(self.text)}",
        )

    def point(self, value: _Value) -> _Point:
        if value.kind == "text":
            point = _parse_point(value.value)
            if point is None:
                self.fail(
                    _not_a_date(value.value, "write dates as 'YYYY-MM-DD'"),
                    value.position,
                    value.end,
                )
            return point
        return value.value  # type: ignore[no-any-return]

    def coerce(self, field: Field, value: _Value) -> Any:
        """Check a constant against the field's type and return the Python value to bind."""
        if value.kind == "interval":
            self.fail(
                "an interval is a length of time, not a point in time: add it to a date, "
                "e.g. now() - interval '90 days'",
                value.position,
                value.end,
            )
        name, written = field.name, value.described(self.text)
        if field.type == "text":
            if value.kind == "text":
                return value.value
            if value.kind == "number":
                self.fail(
                    f"'{name}' is a text field: put the value in quotes, "
                    f"e.g. '{self.text[value.position : value.end]}'",
                    value.position,
                    value.end,
                )
        elif field.type == "number":
            if value.kind == "number":
                return value.value
            if value.kind == "text":
                if _NUMBER.fullmatch(value.value.strip()):
                    raw = value.value.strip()
                    return int(raw) if raw.lstrip("-").isdigit() else Decimal(raw)
                self.fail(
                    f"'{name}' is a number field and '{value.value}' is not a number",
                    value.position,
                    value.end,
                )
        elif field.type == "date":
            if value.kind == "date":
                return value.value
            if value.kind == "text" and _DATE.fullmatch(value.value):
                point = _parse_point(value.value)
                if point is not None:
                    return point
            if value.kind == "text":
                self.fail(
                    _not_a_date(
                        value.value,
                        f"'{name}' is a date field (no time of day): write 'YYYY-MM-DD'",
                        times=False,
                    ),
                    value.position,
                    value.end,
                )
            if value.kind == "datetime":
                self.fail(
                    f"'{name}' is a date field (no time of day): use today() or a date "
                    "'YYYY-MM-DD' instead of a date and time",
                    value.position,
                    value.end,
                )
        elif field.type == "datetime":
            if value.kind in ("date", "datetime"):
                return _midnight(value.value)
            if value.kind == "text":
                point = _parse_point(value.value)
                if point is None:
                    self.fail(
                        _not_a_date(
                            value.value,
                            f"'{name}' is a datetime field: write 'YYYY-MM-DD' or "
                            "'YYYY-MM-DD HH:MM[:SS]' (UTC unless an offset is given)",
                        ),
                        value.position,
                        value.end,
                    )
                return _midnight(point)
        else:
            if value.kind == "boolean":
                return value.value
            self.fail(
                f"'{name}' is a true/false field: compare it with true or false, not {written}",
                value.position,
                value.end,
            )
        self.fail(
            f"'{name}' is a {field.type} field and cannot be compared with {written}",
            value.position,
            value.end,
        )

    def bind(self, field: Field, value: Any) -> sa.BindParameter[Any]:
        """Bind a checked value as a uniquely named parameter of the field's type."""
        self.parameters += 1
        bind_type = _bind_type(field, value)
        if isinstance(value, datetime) and not getattr(bind_type, "timezone", True):
            value = value.replace(tzinfo=None)  # a naive column holds UTC wall time
        return sa.bindparam(f"segment_{self.parameters}", value, type_=bind_type, unique=True)


def _not_a_date(raw: str, advice: str, *, times: bool = True) -> str:
    """Say why a string is not a date: a wrong shape, or no such day ('2024-02-30')."""
    if _DATE.fullmatch(raw) or (times and _DATETIME.fullmatch(raw)):
        return f"'{raw}' is not a valid date"
    return f"'{raw}' is not a date: {advice}"


def _midnight(point: _Point) -> datetime:
    if isinstance(point, datetime):
        return point
    return datetime.combine(point, time(), UTC)


def _canonical_op(op: str) -> str:
    return "!=" if op == "<>" else op


def _apply(op: str, left: ColumnElement[Any], right: Any) -> ColumnElement[bool]:
    return cast("ColumnElement[bool]", _compare(op, left, right))


def _compare(op: str, left: ColumnElement[Any], right: Any) -> Any:
    match op:
        case "=":
            return left == right
        case "!=":
            return left != right
        case "<":
            return left < right
        case "<=":
            return left <= right
        case ">":
            return left > right
        case _:
            return left >= right


def _bind_type(field: Field, value: Any) -> sa.types.TypeEngine[Any]:
    """The column's own type when it fits (so SQLite stores and compares alike), else a default."""
    column_type = field.column.type
    if field.type == "number":
        if isinstance(column_type, sa.Numeric):
            return column_type
        if isinstance(value, int):
            return column_type if isinstance(column_type, sa.Integer) else sa.Integer()
        return sa.Numeric()  # a decimal against an integer column: sqlite3 cannot bind Decimal
    expected: type[sa.types.TypeEngine[Any]] = {
        "text": sa.String,
        "date": sa.Date,
        "datetime": sa.DateTime,
        "boolean": sa.Boolean,
    }[field.type]
    if isinstance(column_type, expected) and not (
        field.type == "date" and isinstance(column_type, sa.DateTime)
    ):
        return column_type
    return sa.DateTime(timezone=True) if field.type == "datetime" else expected()


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so `contains` matches the text literally."""
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def _ends_with_escape(pattern: str) -> bool:
    trailing = len(pattern) - len(pattern.rstrip(_LIKE_ESCAPE))
    return trailing % 2 == 1


def _like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (escape '\\') to the GLOB pattern SQLite matches with case."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == _LIKE_ESCAPE and i + 1 < len(pattern):
            literal = pattern[i + 1]
            i += 2
        elif ch in "%_":
            out.append("*" if ch == "%" else "?")
            i += 1
            continue
        else:
            literal = ch
            i += 1
        out.append(f"[{literal}]" if literal in "*?[" else literal)
    return "".join(out)


class _Like(ColumnElement[bool]):
    """A case-sensitive LIKE: `col LIKE :pattern ESCAPE '\\'`, or `col GLOB :glob` on SQLite.

    SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does not; GLOB is SQLite's
    case-sensitive match. Both patterns are bound parameters; only the one the dialect renders
    is sent.
    """

    __visit_name__ = "segment_like"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
    ]
    type = sa.Boolean()

    def __init__(
        self,
        column: ColumnElement[Any],
        pattern: sa.BindParameter[Any],
        glob: sa.BindParameter[Any],
    ) -> None:
        self.column = column
        self.pattern = pattern
        self.glob = glob


@compiles(_Like)
def _compile_like(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    escape = compiler.render_literal_value(_LIKE_ESCAPE, sa.String())
    column = compiler.process(element.column, **kw)
    pattern = compiler.process(element.pattern, **kw)
    return f"({column} LIKE {pattern} ESCAPE {escape})"


@compiles(_Like, "sqlite")
def _compile_like_sqlite(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"({column} GLOB {compiler.process(element.glob, **kw)})"


def _fail(text: str, position: int, length: int, message: str) -> NoReturn:
    raise SegmentSyntaxError(message, expression=text, position=position, length=length)


def _pointer(text: str, position: int, length: int) -> str:
    """Show the filter (a window of it when long) with carets under `position`."""
    shown = "".join(" " if ch.isspace() else ch for ch in text)
    start, end = 0, len(shown)
    if len(shown) > _SHOWN_WIDTH:
        start = max(0, min(position - _SHOWN_WIDTH // 3, len(shown) - _SHOWN_WIDTH))
        end = start + _SHOWN_WIDTH
    line = ("..." if start else "") + shown[start:end] + ("..." if end < len(shown) else "")
    column = (3 if start else 0) + position - start
    width = max(1, min(length, end - position))
    return f"  {line}\n  {' ' * column}{'^' * width}"
