"""Phone numbers: parse real export junk into E.164 with type, region and extension.

`standardize_phone` is the reference: it cleans spreadsheet damage (float suffixes, "Durchwahl")
and asks `phonenumbers` for the verdict. `standardize_phone_column` must give exactly the same
results, but `phonenumbers.parse` manages only ~38,000 numbers a second and phone values are
mostly distinct, so the column version re-implements the library's parse/validate steps for
plain numbers as Polars expressions over the library's own metadata regexes. Anything the fast
path is not certain about (extensions, letters, odd prefixes, regions with prefix-transform
rules, unrecognised country codes, ...) is handed to `standardize_phone` once per distinct value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import phonenumbers as pn
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberDesc, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length
from polars.expr.whenthen import ChainedThen, Then

from rolodex.clean import base
from rolodex.clean.base import Flag, Result

PARTS = ("extension", "type", "region")

_TYPE_NAMES: dict[int, str] = {
    pn.PhoneNumberType.MOBILE: "mobile",
    pn.PhoneNumberType.FIXED_LINE: "fixed_line",
    pn.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    pn.PhoneNumberType.TOLL_FREE: "toll_free",
    pn.PhoneNumberType.PREMIUM_RATE: "premium_rate",
    pn.PhoneNumberType.VOIP: "voip",
    pn.PhoneNumberType.SHARED_COST: "shared_cost",
    pn.PhoneNumberType.PERSONAL_NUMBER: "personal",
    pn.PhoneNumberType.PAGER: "pager",
    pn.PhoneNumberType.UAN: "uan",
    pn.PhoneNumberType.VOICEMAIL: "voicemail",
}

NOTE_NO_COUNTRY = "no country to read a national number"
NOTE_PLACEHOLDER = "looks like a placeholder number"
NOTE_SCIENTIFIC = "stored in scientific notation by a spreadsheet; digits are lost"
_REGION_ALIASES = {"UK": "GB"}  # the common non-ISO spelling

# Spreadsheets turn 4915112345678 into "4915112345678.0"; scientific notation loses digits.
_FLOAT = re.compile(r"('?\+?[0-9]+)\.0+")
_SCIENTIFIC = re.compile(r"\+?[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+")
# German exports write the extension as "Durchwahl"/"DW"; phonenumbers only knows "ext".
_DURCHWAHL = re.compile(r"\b(?:durchwahl|dw)\b\.?:?", re.IGNORECASE)
# "0049 …" written without a country context: the 00 is an international prefix.
_LEADING_00 = re.compile(r"^([^0-9+]*)00")
_STARTS_WITH_PLUS = re.compile(r"^[^+＋\d]*[+＋]")
_SEQUENCES = frozenset(
    s[:k] for s in ("1234567890", "0123456789", "9876543210") for k in range(6, len(s) + 1)
)


def _canonical_region(region: str | None) -> str | None:
    """An ISO region phonenumbers knows, or None (unknown codes give no country context)."""
    if region is None:
        return None
    code = region.strip().upper()
    code = _REGION_ALIASES.get(code, code)
    return code if code in pn.SUPPORTED_REGIONS else None


# Country-code top-level domains that name no country in practice: sold worldwide as
# generic names (.co for company, .io, .me, .tv, .ai, ...).
_GENERIC_CCTLDS: Final = frozenset(
    "ac ad ai am as bz cc cd co fm gg gl gs io je la ly"
    " me ms mu nu pw sc sh so st to tv vc vg ws".split()
)


def region_of_email(email: str | None) -> str | None:
    """The country an email address's domain names (web.de -> DE, yahoo.co.uk -> GB), as a
    last resort for reading a national number: a record with no country and no default
    region otherwise has none. Generic domains (.com, .io, .co) name none."""
    if email is None:
        return None
    tld = email.rsplit(".", 1)[-1].lower() if "@" in email else ""
    if len(tld) != 2 or tld in _GENERIC_CCTLDS:
        return None
    return _canonical_region(tld)


def region_of_email_column(emails: pl.Series) -> pl.Series:
    """`region_of_email` over a column (computed once per distinct top-level domain)."""
    tld = emails.cast(pl.Utf8).str.extract(r"@.*\.([A-Za-z]{2})$").str.to_lowercase()
    distinct = tld.drop_nulls().unique().to_list()
    table = {t: region_of_email(f"x@x.{t}") for t in distinct}
    return tld.replace_strict(table, default=None, return_dtype=pl.Utf8).alias("region")


def _is_placeholder(country_code: int, nsn: str) -> bool:
    """Obvious fake numbers that forms and test data are full of."""
    if len(nsn) >= 5 and len(set(nsn)) == 1:
        return True
    if nsn in _SEQUENCES:
        return True
    return country_code == 1 and len(nsn) == 10 and nsn[3:8] == "55501"  # 555-01xx fiction


def _where(country_code: int) -> str:
    region = pn.region_code_for_country_code(country_code)
    return f"+{country_code}" if region in ("001", "ZZ") else region


def _length_note(reason: int, where: str) -> str:
    """Why a parsed number is not valid, from its length check against the numbering plan."""
    if reason == ValidationResult.TOO_SHORT:
        return "too short"
    if reason == ValidationResult.TOO_LONG:
        return "too long"
    if reason == ValidationResult.INVALID_LENGTH:
        return f"wrong length for {where}"
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return f"too short: missing area code for {where}"
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        return "unknown country calling code"
    return f"not a valid number for {where}"


def _invalid(text: str, *notes: str, tags: tuple[str, ...] = ()) -> Result:
    return Result(text, Flag.INVALID, notes, tags, None, dict.fromkeys(PARTS))


def _parse_error_note(exc: pn.NumberParseException, candidate: str, region: str | None) -> str:
    kind = exc.error_type
    if kind == pn.NumberParseException.INVALID_COUNTRY_CODE:
        if region is None and not _STARTS_WITH_PLUS.match(candidate):
            return NOTE_NO_COUNTRY
        return "unknown country calling code"
    if kind in (
        pn.NumberParseException.TOO_SHORT_NSN,
        pn.NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "too short"
    if kind == pn.NumberParseException.TOO_LONG:
        return "too long"
    return "not a phone number"


def _judge(candidate: str, region: str | None, text: str) -> Result:
    """Parse one cleaned candidate and turn the library's verdict into a Result."""
    try:
        number = pn.parse(candidate, region)
    except pn.NumberParseException as exc:
        return _invalid(text, _parse_error_note(exc, candidate, region))
    cc = number.country_code or 0
    nsn = pn.national_significant_number(number)
    placeholder = _is_placeholder(cc, nsn)
    if not pn.is_valid_number(number):
        reason = pn.is_possible_number_with_reason(number)
        notes = (_length_note(reason, _where(cc)),)
        if placeholder:
            return _invalid(text, *notes, NOTE_PLACEHOLDER, tags=("placeholder",))
        return _invalid(text, *notes)
    kind = _TYPE_NAMES.get(pn.number_type(number))
    value = pn.format_number(number, pn.PhoneNumberFormat.E164)
    parts: Mapping[str, str | None] = {
        "extension": number.extension or None,
        "type": kind,
        "region": pn.region_code_for_number(number),
    }
    tags = (kind,) if kind else ()
    if placeholder:  # no key: a fake number must not chain records together in matching
        return Result(
            value, Flag.SUSPICIOUS, (NOTE_PLACEHOLDER,), ("placeholder", *tags), None, parts
        )
    return Result(value, Flag.VALID, (), tags, value, parts)


def _judge_float(candidate: str, region: str | None, text: str) -> Result:
    """A number a spreadsheet stored as a float lost its "+" or "00" (and any leading 0).

    Without a region it can only be international. With one, digits that start with the
    region's own country code are read as international first (4915112345678 is +49 151…,
    not a German number with area code 4915); otherwise the national reading wins and the
    international one is only a rescue for an invalid national number.
    """
    digits = candidate.lstrip("'")
    international = _judge("+" + digits, region, text)
    if region is None:
        return international
    own_code = str(pn.country_code_for_region(region))
    if digits.startswith(own_code) and international.flag is not Flag.INVALID:
        return international
    national = _judge(candidate, region, text)
    if national.flag is Flag.INVALID and international.flag is not Flag.INVALID:
        return international
    return national


def standardize_phone(raw: str | None, *, region: str | None) -> Result:
    """Standardize one phone number to E.164; `region` reads national numbers (ISO alpha-2).

    Valid numbers get their E.164 form as value and key, plus extension, type and region parts.
    Numbers that do not parse or fail the numbering plan stay as given with flag `invalid` and
    the reason; a national number without any region is invalid rather than guessed. Obvious
    placeholders (0000000000, 555-01xx, 1234567890) are `suspicious` and get no match key.
    """
    if raw is None or base.blank(raw):
        return base.MISSING
    text = raw.strip()
    if _SCIENTIFIC.fullmatch(text):
        return _invalid(text, NOTE_SCIENTIFIC)
    code = _canonical_region(region)
    floated = _FLOAT.fullmatch(text)
    candidate = floated.group(1) if floated else text
    candidate = _DURCHWAHL.sub(" ext. ", candidate)
    has_00 = _LEADING_00.match(candidate) is not None
    if code is None and has_00:
        return _judge(_LEADING_00.sub(r"\1+", candidate, count=1), None, text)
    if floated and not has_00 and "+" not in candidate:
        return _judge_float(candidate, code, text)
    result = _judge(candidate, code, text)
    if has_00 and result.flag is Flag.INVALID:
        # The region's own international prefix is not 00 (US: 011), but 0049… still is one.
        retry = _judge(_LEADING_00.sub(r"\1+", candidate, count=1), code, text)
        if retry.flag is not Flag.INVALID:
            return retry
    return result


# --------------------------------------------------------------------------------------------
# Vectorized fast path
# --------------------------------------------------------------------------------------------

_MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH
_MIN_NSN, _MAX_NSN = 2, 17
_COUNTRY_CODES = frozenset(str(cc) for cc in pn.COUNTRY_CODE_TO_REGION_CODE)
_ELIGIBLE = r"^'?\+?[0-9 ()./-]+$"  # digits and plain punctuation only: no ext, no letters
# A plain extension at the end ("… x12", "… ext. 12"): the leftmost match of phonenumbers'
# extension pattern, after a number that ends in a digit (no "/ x" second number, no "#").
_EXTENSION = r"^(.*[0-9]) +(?:x|ext\.?) *([0-9]{1,9})$"
# Labels phonenumbers skips anyway (it starts at the first digit or +); no "x", no "dw".
_LABEL = r"^(?i:tel|tel\.|tél|phone|telefon|telephone|mobile|mobil|cell|fon|ph)(?:\.|:)? *"
_TYPE_ORDER = (
    ("premium_rate", "premium_rate"),
    ("toll_free", "toll_free"),
    ("shared_cost", "shared_cost"),
    ("voip", "voip"),
    ("personal_number", "personal"),
    ("pager", "pager"),
    ("uan", "uan"),
    ("voicemail", "voicemail"),
)


# The fast path only matches ASCII digits, so its patterns are compiled without Unicode
# classes (`\d` is then [0-9]): that keeps the automata small enough to combine regions.
_ASCII = "(?-u)"


def _rust_ok(pattern: str) -> bool:
    """Whether Polars' Rust regex engine accepts a metadata pattern (in ASCII mode)."""
    try:
        pl.Series([""], dtype=pl.Utf8).str.contains(_ASCII + pattern)
    except Exception:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Desc:
    pattern: str  # anchored for full matching
    lengths: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the fast path needs of one region's metadata, checked once."""

    region: str
    country_code: int
    general: str  # anchored general_desc pattern
    general_desc: _Desc | None
    types: tuple[tuple[str, _Desc | None], ...]  # in _number_type_helper order
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed: bool
    leading_digits: str | None  # prefix-anchored
    national_prefix: str | None  # group-wrapped, prefix-anchored; None: nothing to strip
    idd: str | None  # group-wrapped, prefix-anchored
    lengths: tuple[int, ...]  # _test_number_length(general) by length, 0.._MAX_INPUT
    can_type: bool  # patterns compile: can decide type/validity
    can_parse: bool  # also no prefix transform rule: can derive the national number


def _desc(desc: PhoneNumberDesc | None) -> _Desc | bool | None:
    """An anchored desc, None when absent, False when Rust cannot compile it."""
    if desc is None or not desc.national_number_pattern:
        return None
    pattern = f"^(?:{desc.national_number_pattern})$"
    if not _rust_ok(pattern):
        return False
    return _Desc(pattern, tuple(desc.possible_length))


@functools.cache
def _plan(region: str) -> _Plan | None:
    meta = PhoneMetadata.metadata_for_region(region, None)
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return None
    descs = {
        name: _desc(getattr(meta, name))
        for name in ("general_desc", "fixed_line", "mobile", *(a for a, _ in _TYPE_ORDER))
    }
    general = descs["general_desc"]
    ok = all(d is not False for d in descs.values()) and isinstance(general, _Desc)

    def pick(name: str) -> _Desc | None:
        found = descs[name]
        return found if isinstance(found, _Desc) else None

    leading = f"^(?:{meta.leading_digits})" if meta.leading_digits else None
    npp = meta.national_prefix_for_parsing
    national_prefix = f"^({npp})" if npp else None
    idd = f"^({meta.international_prefix})" if meta.international_prefix else None
    ok = ok and all(p is None or _rust_ok(p) for p in (leading, national_prefix, idd))
    lengths = tuple(_test_number_length("0" * n, meta) for n in range(_MAX_INPUT + 1))
    gd = pick("general_desc")
    return _Plan(
        region=region,
        country_code=meta.country_code or 0,
        general=gd.pattern if gd else "^$",
        general_desc=gd,
        types=tuple((label, pick(attr)) for attr, label in _TYPE_ORDER),
        fixed_line=pick("fixed_line"),
        mobile=pick("mobile"),
        same_mobile_and_fixed=bool(meta.same_mobile_and_fixed_line_pattern),
        leading_digits=leading,
        national_prefix=national_prefix,
        idd=idd,
        lengths=lengths,
        can_type=ok,
        can_parse=ok and not meta.national_prefix_transform_rule,
    )


def _main_region(cc: int) -> str | None:
    """The region whose metadata parse uses for a country code; None if not fast-pathable."""
    region = pn.region_code_for_country_code(cc)
    return None if region in ("001", "ZZ") else region


# The fast path decides all rows in a few lazy queries, whatever their regions. Each kind of
# metadata pattern (general desc, mobile, national prefix, ...) of all regions in play is one
# regex over keys of region, length and value: "DE9:301234567" is matched against
# ^(?:DE(?:9|10):(?:…)|GB[0-9]+:(?:…)|…)$, which also checks a desc's possible lengths.
# Polars keeps only 32 compiled regexes per thread, so one regex per region and kind would be
# compiled anew on every call. The rest of a region's metadata comes from a small table.
_DESC_NAMES = ("general_desc", "fixed_line", "mobile", *(label for _, label in _TYPE_ORDER))
_TABLE_SCHEMA = pl.Schema(
    {
        "region": pl.Utf8(),
        "cc": pl.Int64(),
        "own": pl.Utf8(),  # the country code as digits
        "can_parse": pl.Boolean(),
        "can_type": pl.Boolean(),
        "has_leading": pl.Boolean(),
        "lengths": pl.Utf8(),  # _test_number_length by length 0.._MAX_INPUT, one digit each
        "same_mf": pl.Boolean(),
    }
)


def _descs(plan: _Plan) -> dict[str, _Desc | None]:
    return {
        "general_desc": plan.general_desc,
        "fixed_line": plan.fixed_line,
        "mobile": plan.mobile,
        **dict(plan.types),
    }


def _region_row(region: str) -> dict[str, object] | None:
    """One region's row of the metadata table."""
    plan = _plan(region)
    if plan is None:
        return None
    return {
        "region": region,
        "cc": plan.country_code,
        "own": str(plan.country_code),
        "can_parse": plan.can_parse,
        "can_type": plan.can_type,
        "has_leading": plan.leading_digits is not None,
        "lengths": "".join(str(int(r)) for r in plan.lengths),
        "same_mf": plan.same_mobile_and_fixed,
    }


def _body(anchored: str) -> str:
    """A `_Plan` pattern (`^(?:…)$`, `^(…)`) without its anchors."""
    return anchored.removeprefix("^").removesuffix("$")


def _part(region: str, anchored: str, lengths: tuple[int, ...] = ()) -> str:
    """One region's alternative in a combined regex (see `_key`)."""
    size = f"(?:{'|'.join(map(str, lengths))})" if lengths else "[0-9]+"
    return f"{region}{size}:{_body(anchored)}"


def _combine(parts: list[str], *, full: bool) -> str | None:
    """One regex over `_key`s; None when no region has such a pattern."""
    if not parts:
        return None
    return f"{_ASCII}^(?:{'|'.join(parts)})" + ("$" if full else "")


@dataclass(frozen=True, slots=True)
class _Regions:
    """The metadata of the regions in play: a table to join, and combined patterns."""

    table: pl.DataFrame
    patterns: Mapping[str, str | None]

    def joined(self, prefix: str, *columns: str) -> pl.LazyFrame:
        """Some columns of the table, prefixed (it is joined several times)."""
        return self.table.lazy().select(pl.col("region", *columns).name.prefix(prefix))


@functools.lru_cache(maxsize=16)
def _regions(regions: tuple[str, ...]) -> _Regions:
    plans = [plan for region in regions if (plan := _plan(region)) is not None]
    typed = [p for p in plans if p.can_type]
    parsed = [p for p in plans if p.can_parse]
    patterns: dict[str, str | None] = {
        name: _combine(
            [_part(p.region, d.pattern, d.lengths) for p in typed if (d := _descs(p)[name])],
            full=True,
        )
        for name in _DESC_NAMES
    }
    patterns["general"] = _combine([_part(p.region, p.general) for p in parsed], full=True)
    patterns["leading"] = _combine(
        [_part(p.region, p.leading_digits) for p in typed if p.leading_digits], full=False
    )
    patterns["national_prefix"] = _combine(
        [_part(p.region, p.national_prefix) for p in parsed if p.national_prefix], full=False
    )
    patterns["idd"] = _combine([_part(p.region, p.idd) for p in parsed if p.idd], full=False)
    # Any of the rarer types: only numbers matching it need to try them one by one.
    patterns["special"] = _combine(
        [
            _part(p.region, d.pattern, d.lengths)
            for p in typed
            for label, d in p.types
            if d is not None
        ],
        full=True,
    )
    rows = [row for region in regions if (row := _region_row(region)) is not None]
    return _Regions(pl.DataFrame(rows, schema=_TABLE_SCHEMA), patterns)


@functools.cache
def _cc_table() -> pl.DataFrame:
    """Per country code: parse's main region, `_where`, and the regions tried for the type."""
    codes = sorted(pn.COUNTRY_CODE_TO_REGION_CODE)
    candidates = [pn.COUNTRY_CODE_TO_REGION_CODE[cc] for cc in codes]
    return pl.DataFrame(
        {
            "cc": codes,
            "main": [_main_region(cc) for cc in codes],
            "where": [_where(cc) for cc in codes],
            "first": [regions[0] if regions else None for regions in candidates],
            "others": [list(regions[1:]) for regions in candidates],
        },
        schema={
            "cc": pl.Int64(),
            "main": pl.Utf8(),
            "where": pl.Utf8(),
            "first": pl.Utf8(),
            "others": pl.List(pl.Utf8()),
        },
    )


def _key(region: pl.Expr, col: pl.Expr) -> pl.Expr:
    """What combined regexes match: region, length, ":", value ("DE9:301234567")."""
    return pl.concat_str(region, col.str.len_chars().cast(pl.Utf8), pl.lit(":"), col)


def _hit(key: pl.Expr, pattern: str | None) -> pl.Expr:
    """Whether a `_key` matches its region's pattern in a combined regex."""
    if pattern is None:
        return pl.lit(False)
    return key.str.contains(pattern).fill_null(False)


def _length_result(col: pl.Expr, p: str) -> pl.Expr:
    """Vectorized `_test_number_length` against the general desc of the `p` region."""
    size = col.str.len_chars().cast(pl.Int64).clip(0, _MAX_INPUT)
    return pl.col(f"{p}lengths").str.slice(size, 1).cast(pl.Int64)


def _strip_national_prefix(
    frame: pl.LazyFrame, column: str, region: str, regions: _Regions, out: str
) -> pl.LazyFrame:
    """Vectorized `_maybe_strip_national_prefix_carrier_code` (no transform rule), as `out`."""
    pattern, general = regions.patterns["national_prefix"], regions.patterns["general"]
    col = pl.col(column)
    if pattern is None:
        return frame.with_columns(col.alias(out))
    frame = frame.with_columns(_key=_key(pl.col(region), col))
    # A match takes the key's "DE9:" with it: what is left is the rest of `column`.
    frame = frame.with_columns(_rest=pl.col("_key").str.replace(pattern, ""))
    stripped = pl.col("_rest") != pl.col("_key")
    keep = _hit(pl.col("_key"), general) & ~_hit(_key(pl.col(region), pl.col("_rest")), general)
    value = pl.when(stripped & (col.str.len_chars() > 0) & ~keep).then("_rest").otherwise(col)
    return frame.with_columns(value.alias(out)).drop("_key", "_rest")


def _number_type(key: pl.Expr, same_mf: pl.Expr, regions: _Regions, *, special: bool) -> pl.Expr:
    """Vectorized `_number_type_helper` on the NSN's `_key`: a type name, or null for UNKNOWN.

    Matching a combined desc regex is `_is_number_matching_desc`: length, then pattern.
    Without `special`, only for keys that match none of the rarer types.
    """
    patterns = regions.patterns
    fixed = _hit(key, patterns["fixed_line"])
    mobile = _hit(key, patterns["mobile"])
    same = same_mf.fill_null(False)
    chain: Then | ChainedThen = pl.when(~_hit(key, patterns["general_desc"])).then(
        pl.lit(None, pl.Utf8)
    )
    for _, label in _TYPE_ORDER if special else ():
        if patterns[label] is not None:
            chain = chain.when(_hit(key, patterns[label])).then(pl.lit(label))
    return (
        chain.when(same & fixed)
        .then(pl.lit("fixed_line_or_mobile"))
        .when(~same & fixed & mobile)
        .then(pl.lit("fixed_line_or_mobile"))
        .when(~same & fixed)
        .then(pl.lit("fixed_line"))
        .when(~same & mobile)
        .then(pl.lit("mobile"))
        .otherwise(pl.lit(None, pl.Utf8))
    )


# Every stage keeps only the rows it could follow phonenumbers on; whatever a stage drops is
# redone by `standardize_phone` (rows are matched back by "row" and "reading").
_CARRY = ["row", "reading", "twofold", "intl_first", "region", "text", "ext"]
_KEYS = ["row", "reading"]
_ENGINE: Final = "in-memory"  # small frames: the streaming engine only adds overhead


def _with_country_code(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`_extract_country_code` on `d` (after + or IDD): country codes are prefix-free."""
    c1, c2, c3 = (pl.col("d").str.head(k) for k in (1, 2, 3))
    codes = list(_COUNTRY_CODES)
    cc = (
        pl.when(c1.is_in(codes))
        .then(c1)
        .when(c2.is_in(codes))
        .then(c2)
        .when(c3.is_in(codes))
        .then(c3)
        .otherwise(pl.lit(None, pl.Utf8))
    )
    frame = frame.with_columns(ccs=cc)
    ok = pl.col("ccs").is_not_null() & (pl.col("d").str.len_chars() > _MIN_NSN)
    return frame.filter(ok).select(
        *_CARRY,
        cc=pl.col("ccs").cast(pl.Int64),
        national=pl.col("d").str.slice(pl.col("ccs").str.len_chars()),
        intl=pl.lit(True),
    )


def _national_stage(frame: pl.LazyFrame, regions: _Regions) -> list[pl.LazyFrame]:
    """Rows read against their own region: its IDD, its country code without +, or national.

    The region's table row is joined with prefix "h_".
    """
    d, key = pl.col("digits"), pl.col("key")
    frame = frame.filter(pl.col("h_can_parse")).with_columns(key=_key(pl.col("region"), d))
    idd = regions.patterns["idd"]
    if idd is None:
        frame = frame.with_columns(d=d, has_idd=pl.lit(False))
    else:  # as in _strip_national_prefix, a match leaves the digits after the IDD
        frame = frame.with_columns(after=key.str.replace(idd, ""))
        matched = pl.col("after") != key
        after = pl.when(matched).then("after").otherwise(d)
        frame = frame.with_columns(d=after, has_idd=matched & (after.str.head(1) != "0"))
    own = pl.col("h_own")
    national = frame.filter(~pl.col("has_idd")).with_columns(
        after_cc=d.str.slice(own.str.len_chars())
    )
    national = _strip_national_prefix(national, "after_cc", "region", regions, "potential")
    general = regions.patterns["general"]
    drop_cc = d.str.starts_with(own) & (
        (~_hit(key, general) & _hit(_key(pl.col("region"), pl.col("potential")), general))
        | (_length_result(d, "h_") == ValidationResult.TOO_LONG)
    )
    return [
        _with_country_code(frame.filter("has_idd")),
        national.with_columns(drop_cc=drop_cc).select(
            *_CARRY,
            cc=pl.col("h_cc"),
            national=pl.when("drop_cc").then("potential").otherwise("digits"),
            intl=pl.col("drop_cc"),
        ),
    ]


def _nsn_stage(frame: pl.LazyFrame, regions: _Regions) -> pl.LazyFrame:
    """Strip the national prefix with the parsing region's rules to get the NSN."""
    frame = frame.join(_cc_table().lazy(), on="cc", how="left")
    frame = frame.with_columns(parse_region=pl.when("intl").then("main").otherwise("region"))
    frame = frame.join(
        regions.joined("p_", "can_parse", "lengths"),
        left_on="parse_region",
        right_on="p_region",
        how="inner",
    ).filter(pl.col("p_can_parse"))
    frame = _strip_national_prefix(frame, "national", "parse_region", regions, "stripped")
    n, stripped = pl.col("national"), pl.col("stripped")
    unfit = _length_result(stripped, "p_").is_in(
        [
            ValidationResult.TOO_SHORT,
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
            ValidationResult.INVALID_LENGTH,
        ]
    )
    frame = frame.select(
        *_CARRY,
        "cc",
        "main",
        "where",
        "first",
        "others",
        nsn=pl.when(unfit).then(n).otherwise(stripped),
    )
    size = pl.col("nsn").str.len_chars()
    return frame.filter((size >= _MIN_NSN) & (size <= _MAX_NSN))


_TYPED = [*_CARRY, "cc", "nsn", "main", "where"]


def _try_region(frame: pl.LazyFrame, column: str, regions: _Regions) -> pl.LazyFrame:
    """Try the region in `column` on `nsn`: `typable`, `type`, and `hit` (it claims the number).

    A region with leading digits claims the numbers that start with them (whatever their
    type), one without claims the numbers valid for it. Only claims and rows of untypable
    regions (which stop the search) are kept: the rest has to try the next region.
    """
    nsn, region = pl.col("nsn"), pl.col(column)
    frame = frame.join(
        regions.joined("t_", "can_type", "has_leading", "same_mf"),
        left_on=column,
        right_on="t_region",
        how="left",
    ).with_columns(key=_key(region, nsn), typable=pl.col("t_can_type").fill_null(False))
    frame = frame.with_columns(
        leads=pl.col("t_has_leading").fill_null(False)
        & _hit(pl.col("key"), regions.patterns["leading"])
    )
    # Only the numbers a region may claim need its type.
    frame = frame.filter(~pl.col("typable") | pl.col("leads") | ~pl.col("t_has_leading"))
    frame = frame.with_columns(special=_hit(pl.col("key"), regions.patterns["special"]))
    key, same_mf = pl.col("key"), pl.col("t_same_mf")
    frame = pl.concat(
        [
            frame.filter(~pl.col("special")).with_columns(
                type=_number_type(key, same_mf, regions, special=False)
            ),
            frame.filter("special").with_columns(
                type=_number_type(key, same_mf, regions, special=True)
            ),
        ]
    )
    hit = pl.col("leads") | (~pl.col("t_has_leading") & pl.col("type").is_not_null())
    return frame.with_columns(hit=hit.fill_null(False)).filter(~pl.col("typable") | pl.col("hit"))


def _type_stage(frame: pl.DataFrame, regions: _Regions) -> pl.LazyFrame:
    """`region_code_for_number` + `number_type`; null type: not valid.

    The regions of a country code are tried in order until one claims the number (see
    `_try_region`); nearly all numbers are claimed by the first, and only the rest try the
    others. A region whose patterns the fast path cannot use leaves the number undecided;
    a number no region claims is not valid.
    """
    found = ["typable", "type", "candidate"]
    first = frame.lazy().filter(pl.col("first").is_not_null())
    first = first.select(*_KEYS, "nsn", candidate="first", rank=pl.lit(0, pl.Int64))
    by_first = _try_region(first, "candidate", regions).select(*_KEYS, *found)
    by_first = by_first.collect(engine=_ENGINE).lazy()
    rest = frame.lazy().filter(pl.col("others").list.len() > 0)
    rest = rest.join(by_first, on=_KEYS, how="anti").select(
        *_KEYS,
        "nsn",
        candidate="others",
        rank=pl.int_ranges(1, pl.col("others").list.len() + 1),
    )
    by_others = (
        _try_region(rest.explode(["candidate", "rank"]), "candidate", regions)
        .sort("rank")
        .unique(_KEYS, keep="first", maintain_order=True)
        .select(*_KEYS, *found)
    )
    # No stop: no region claims the number. A stop at an untypable region: undecided.
    stops = pl.concat([by_first, by_others])
    typed = frame.lazy().join(stops, on=_KEYS, how="left")
    typed = typed.filter(pl.col("typable").is_null() | pl.col("typable"))
    return typed.select(*_TYPED, "type", number_region="candidate")


def _verdicts(frame: pl.LazyFrame, regions: _Regions) -> pl.LazyFrame:
    """Lay decided rows out like `to_frame`, with the same notes and tags as `_judge`.

    Notes and tags are `_SEP`-joined strings here; `_as_list` makes lists of them at the end.
    """
    nsn, cc = pl.col("nsn"), pl.col("cc")
    same_digit = nsn.str.contains(
        r"^(?:0{5,}|1{5,}|2{5,}|3{5,}|4{5,}|5{5,}|6{5,}|7{5,}|8{5,}|9{5,})$"
    )
    placeholder = (
        same_digit
        | nsn.is_in(list(_SEQUENCES))
        | ((cc == 1) & (nsn.str.len_chars() == 10) & (nsn.str.slice(3, 5) == "55501"))
    )
    mains = regions.joined("m_", "lengths")
    frame = frame.join(mains, left_on="main", right_on="m_region", how="left")
    reason = (
        pl.when(pl.col("m_lengths").is_null())
        .then(pl.lit(ValidationResult.INVALID_COUNTRY_CODE, pl.Int64))
        .otherwise(_length_result(nsn, "m_"))
    )
    where = pl.col("where").fill_null(pl.format("+{}", cc))
    note = (
        pl.when(reason == ValidationResult.TOO_SHORT)
        .then(pl.lit("too short"))
        .when(reason == ValidationResult.TOO_LONG)
        .then(pl.lit("too long"))
        .when(reason == ValidationResult.INVALID_LENGTH)
        .then(pl.format("wrong length for {}", where))
        .when(reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
        .then(pl.format("too short: missing area code for {}", where))
        .when(reason == ValidationResult.INVALID_COUNTRY_CODE)
        .then(pl.lit("unknown country calling code"))
        .otherwise(pl.format("not a valid number for {}", where))
    )
    valid = pl.col("type").is_not_null()
    e164 = pl.format("+{}{}", cc, nsn)
    null = pl.lit(None, pl.Utf8)
    return frame.with_columns(placeholder=placeholder).select(
        "row",
        "reading",
        "twofold",
        "intl_first",
        value=pl.when(valid).then(e164).otherwise("text"),
        flag=pl.when(~valid)
        .then(pl.lit(Flag.INVALID.value))
        .when("placeholder")
        .then(pl.lit(Flag.SUSPICIOUS.value))
        .otherwise(pl.lit(Flag.VALID.value)),
        notes=pl.concat_str(
            pl.when(valid).then(null).otherwise(note),
            pl.when("placeholder").then(pl.lit(NOTE_PLACEHOLDER)).otherwise(null),
            separator=_SEP,
            ignore_nulls=True,
        ),
        tags=pl.concat_str(
            pl.when("placeholder").then(pl.lit("placeholder")).otherwise(null),
            pl.when(valid).then("type").otherwise(null),
            separator=_SEP,
            ignore_nulls=True,
        ),
        key=pl.when(valid & ~pl.col("placeholder")).then(e164).otherwise(null),
        extension=pl.when(valid).then("ext").otherwise(null),
        type=pl.when(valid).then("type").otherwise(null),
        region=pl.when(valid).then("number_region").otherwise(null),
    )


_SEP = "\x1f"  # joins notes/tags while they are built as strings (lists are slow to build)
_NATIVE, _OTHER = 0, 1  # readings of one row: as written, or the 00/float rescue reading
_OUT = [*base.RESULT_SCHEMA, *PARTS]
_SCHEMA = pl.Schema({"row": pl.UInt32(), **base.RESULT_SCHEMA, **dict.fromkeys(PARTS, pl.Utf8())})


def _as_list(column: str) -> pl.Expr:
    """A `_SEP`-joined string column as a list column ("" is the empty list)."""
    split = pl.col(column).str.split(_SEP)
    return pl.when(pl.col(column) == "").then(split.list.head(0)).otherwise(split)


def standardize_phone_column(phones: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """Standardize a column of phones, row by row identical to `standardize_phone`.

    Columns as `base.to_frame(results, parts=("extension", "type", "region"))`, one row per
    input row, in order. Plain numbers are decided by Polars expressions over phonenumbers'
    metadata; the rest go through `standardize_phone` once per distinct (phone, region).
    """
    if len(phones) != len(regions):
        raise ValueError("phones and regions must have the same length")
    given, decided = _fast_path(phones.cast(pl.Utf8), regions.cast(pl.Utf8))
    frames = [decided.lazy()]
    if decided.height < given.height:
        slow = given.join(decided.select("row"), on="row", how="anti")
        redone = base.per_distinct(
            {"phone": slow["raw"], "default_region": slow["region"]},
            lambda phone, default_region: standardize_phone(phone, region=default_region),
            PARTS,
        )
        frames.append(pl.concat([slow.select("row"), redone], how="horizontal").lazy())
    out = pl.concat([f.select(list(_SCHEMA)).cast(_SCHEMA) for f in frames])
    return out.sort("row").select(_OUT).collect(engine=_ENGINE)


def _fast_path(phones: pl.Series, regions: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The input (row, raw, canonical region) and the verdicts of the rows decided fast."""
    mapping = {r: _canonical_region(r) for r in regions.unique().drop_nulls().to_list()}
    homes = tuple(sorted({r for r in mapping.values() if r is not None}))
    home_regions = _regions(homes)
    given = pl.DataFrame(
        {
            "raw": phones,
            "region": regions.replace_strict(mapping, default=None, return_dtype=pl.Utf8),
        }
    ).with_row_index("row")
    text = pl.col("raw").str.strip_chars(" \t")
    # A leading label ("tel:", "Phone: ") is skipped by phonenumbers, and a plain extension
    # split off; the rest must be digits and plain punctuation (no letters, one leading +) to
    # be decided here.
    body = pl.col("text").str.replace(_LABEL, "")
    frame = (
        given.lazy()
        .with_columns(text=text)
        .with_columns(body=body)
        .with_columns(
            ext=pl.col("body").str.extract(_EXTENSION, 2),
            body=pl.col("body").str.replace(_EXTENSION, "${1}"),
        )
        .filter(
            pl.col("body").str.contains(_ELIGIBLE) & (pl.col("text").str.len_chars() <= _MAX_INPUT)
        )
        .join(
            home_regions.joined("h_", "cc", "own", "can_parse", "lengths"),
            left_on="region",
            right_on="h_region",
            how="left",
        )
    )
    floated = pl.col("text").str.contains(r"^'?\+?[0-9]+\.0+$")
    body = pl.when(floated).then(pl.col("text").str.replace(r"\.0+$", "")).otherwise("body")
    frame = frame.with_columns(
        floated=floated,
        plus=pl.col("body").str.contains(r"^'?\+"),
        has_00=pl.col("body").str.contains(r"^[^0-9+]*00"),
        digits=body.str.replace_all(r"[^0-9]", ""),
    ).filter(pl.col("digits").str.len_chars() >= 3)  # phonenumbers' viability check

    # Readings, as in standardize_phone: "00…" and spreadsheet floats may also be read with a
    # "+"; with a region the row carries both readings and _choose picks like the scalar code.
    no_region = pl.col("region").is_null()
    float_plain = pl.col("floated") & ~pl.col("plus") & ~pl.col("has_00")
    read = frame.with_columns(
        twofold=~no_region & ~pl.col("plus") & (pl.col("has_00") | float_plain),
        intl_first=float_plain & pl.col("digits").str.starts_with(pl.col("h_own")),
        as_plus=pl.col("plus") | (no_region & (pl.col("has_00") | float_plain)),
        plus_digits=pl.when(pl.col("has_00") & ~pl.col("plus"))
        .then(pl.col("digits").str.slice(2))
        .otherwise("digits"),
    ).collect(engine=_ENGINE)
    frame = read.lazy()
    plus_rows = pl.concat(
        [
            frame.filter("as_plus").with_columns(reading=pl.lit(_NATIVE)),
            frame.filter("twofold").with_columns(reading=pl.lit(_OTHER)),
        ]
    ).with_columns(d=pl.col("plus_digits"))
    native_local = frame.filter(~no_region & ~pl.col("plus")).with_columns(reading=pl.lit(_NATIVE))
    parsed = pl.concat(
        [_with_country_code(plus_rows), *_national_stage(native_local, home_regions)]
    ).collect(engine=_ENGINE)

    # The regions the rest needs: the rows' own, and every region of the country codes seen.
    codes = parsed["cc"].unique().to_list()
    needed = {*homes, *(r for cc in codes for r in pn.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()))}
    all_regions = _regions(tuple(sorted(needed)))
    with_nsn = _nsn_stage(parsed.lazy(), all_regions).collect(engine=_ENGINE)
    typed = _type_stage(with_nsn, all_regions)
    verdicts = _verdicts(typed, all_regions).collect(engine=_ENGINE)

    null = pl.lit(None, pl.Utf8)
    missing = (
        given.lazy()
        .filter(pl.col("raw").is_null() | (text == ""))
        .select("row", text=null, kind=pl.lit("missing"))
    )
    no_country = frame.filter(no_region & ~pl.col("as_plus")).select(
        "row", "text", kind=pl.lit("no_country")
    )
    kind_missing = pl.col("kind") == "missing"
    extras = pl.concat([no_country, missing]).select(
        "row",
        value="text",
        flag=pl.when(kind_missing)
        .then(pl.lit(Flag.MISSING.value))
        .otherwise(pl.lit(Flag.INVALID.value)),
        notes=pl.when(kind_missing).then(pl.lit("")).otherwise(pl.lit(NOTE_NO_COUNTRY)),
        tags=pl.lit(""),
        key=null,
        extension=null,
        type=null,
        region=null,
    )
    schema = pl.Schema(
        {
            "row": pl.UInt32(),
            **base.RESULT_SCHEMA,
            "notes": pl.Utf8(),
            "tags": pl.Utf8(),
            **dict.fromkeys(PARTS, pl.Utf8()),
        }
    )
    decided = pl.concat(
        [v.select(list(schema)).cast(schema) for v in (_choose(verdicts.lazy()), extras)]
    ).with_columns(notes=_as_list("notes"), tags=_as_list("tags"))
    return given, decided.collect(engine=_ENGINE)


def _choose(verdicts: pl.LazyFrame) -> pl.LazyFrame:
    """One verdict per row; for two-reading rows the same choice as `standardize_phone`.

    The preferred reading wins if valid, else the other one if valid, else the native one. A
    row whose needed reading was not decided here is left out (it goes the slow way).
    """
    single = verdicts.filter(~pl.col("twofold")).drop("reading", "twofold", "intl_first")
    verdicts = verdicts.filter("twofold").drop("twofold")
    twofold = verdicts.select("row", "intl_first").unique("row")
    native = verdicts.filter(pl.col("reading") == _NATIVE).drop("intl_first")
    other = verdicts.filter(pl.col("reading") == _OTHER).drop("intl_first")
    both = twofold.join(native, on="row", how="left").join(other, on="row", how="left", suffix="_o")
    first = pl.when("intl_first").then(_OTHER).otherwise(_NATIVE)
    ok_native = pl.col("flag").is_not_null() & (pl.col("flag") != Flag.INVALID.value)
    ok_other = pl.col("flag_o").is_not_null() & (pl.col("flag_o") != Flag.INVALID.value)
    has_native, has_other = pl.col("flag").is_not_null(), pl.col("flag_o").is_not_null()
    ok_first = pl.when("intl_first").then(ok_other).otherwise(ok_native)
    ok_second = pl.when("intl_first").then(ok_native).otherwise(ok_other)
    has_first = pl.when("intl_first").then(has_other).otherwise(has_native)
    second = pl.when("intl_first").then(_NATIVE).otherwise(_OTHER)
    pick = (
        pl.when(has_first & ok_first)
        .then(first)
        .when(has_native & has_other & ok_second)
        .then(second)
        .when(has_native & has_other)
        .then(pl.lit(_NATIVE))
        .otherwise(pl.lit(None, pl.Int32))
    )
    picks = both.select("row", reading=pick).drop_nulls()
    chosen = verdicts.join(picks, on=["row", "reading"], how="inner")
    chosen = chosen.drop("reading", "intl_first")
    return pl.concat([single, chosen])
