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


def _rust_ok(pattern: str) -> bool:
    """Whether Polars' Rust regex engine accepts a metadata pattern."""
    try:
        pl.Series([""], dtype=pl.Utf8).str.contains(pattern)
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


def _length_result(col: pl.Expr, plan: _Plan) -> pl.Expr:
    """Vectorized `_test_number_length` against the general desc."""
    return (
        col.str.len_chars()
        .cast(pl.Int64)
        .clip(0, _MAX_INPUT)
        .replace_strict(list(range(_MAX_INPUT + 1)), list(plan.lengths), return_dtype=pl.Int64)
    )


def _matches(col: pl.Expr, desc: _Desc | None) -> pl.Expr:
    """Vectorized `_is_number_matching_desc`: possible length, then full pattern match."""
    if desc is None:
        return pl.lit(False)
    hit = col.str.contains(desc.pattern)
    if desc.lengths:
        hit = hit & col.str.len_chars().is_in(list(desc.lengths))
    return hit


def _strip_national_prefix(col: pl.Expr, plan: _Plan) -> pl.Expr:
    """Vectorized `_maybe_strip_national_prefix_carrier_code` (no transform rule)."""
    if plan.national_prefix is None:
        return col
    prefix = col.str.extract(plan.national_prefix, 1)
    rest = col.str.slice(prefix.str.len_chars().fill_null(0))
    keep = col.str.contains(plan.general) & ~rest.str.contains(plan.general)
    return (
        pl.when(prefix.is_not_null() & (col.str.len_chars() > 0) & ~keep).then(rest).otherwise(col)
    )


def _number_type(col: pl.Expr, plan: _Plan) -> pl.Expr:
    """Vectorized `_number_type_helper`: a type name, or null for UNKNOWN."""
    fixed = _matches(col, plan.fixed_line)
    mobile = _matches(col, plan.mobile)
    chain: Then | ChainedThen = pl.when(~_matches(col, plan.general_desc)).then(
        pl.lit(None, pl.Utf8)
    )
    for label, desc in plan.types:
        if desc is not None:
            chain = chain.when(_matches(col, desc)).then(pl.lit(label))
    if plan.same_mobile_and_fixed:
        chain = chain.when(fixed).then(pl.lit("fixed_line_or_mobile"))
    else:
        chain = (
            chain.when(fixed & mobile)
            .then(pl.lit("fixed_line_or_mobile"))
            .when(fixed)
            .then(pl.lit("fixed_line"))
            .when(mobile)
            .then(pl.lit("mobile"))
        )
    return chain.otherwise(pl.lit(None, pl.Utf8))


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    kept = [f for f in frames if f.height]
    return pl.concat(kept, how="diagonal_relaxed") if kept else None


# Every stage keeps only the rows it could follow phonenumbers on; whatever a stage drops is
# redone by `standardize_phone` (rows are matched back by "row" and "reading").
_CARRY = ["row", "reading", "twofold", "intl_first", "region", "text"]


def _with_country_code(frame: pl.DataFrame) -> pl.DataFrame:
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


def _national_stage(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Rows read against their own region: its IDD, its country code without +, or national."""
    done: list[pl.DataFrame] = []
    for (region,), part in frame.group_by(["region"]):
        plan = _plan(str(region))
        if plan is None or not plan.can_parse:
            continue
        d = pl.col("digits")
        if plan.idd is not None:
            idd = d.str.extract(plan.idd, 1)
            after = d.str.slice(idd.str.len_chars().fill_null(0))
            stripped = idd.is_not_null() & (after.str.head(1) != "0")
        else:
            after, stripped = d, pl.lit(False)
        part = part.with_columns(d=after, has_idd=stripped)
        done.append(_with_country_code(part.filter("has_idd")))
        national = part.filter(~pl.col("has_idd"))
        own = str(plan.country_code)
        potential = _strip_national_prefix(d.str.slice(len(own)), plan)
        drop_cc = d.str.starts_with(own) & (
            (~d.str.contains(plan.general) & potential.str.contains(plan.general))
            | (_length_result(d, plan) == ValidationResult.TOO_LONG)
        )
        national = national.with_columns(drop_cc=drop_cc, potential=potential)
        done.append(
            national.select(
                *_CARRY,
                cc=pl.lit(plan.country_code, pl.Int64),
                national=pl.when("drop_cc").then("potential").otherwise("digits"),
                intl=pl.col("drop_cc"),
            )
        )
    return done


def _main_regions(frame: pl.DataFrame) -> dict[int, str | None]:
    return {int(cc): _main_region(int(cc)) for cc in frame["cc"].unique().drop_nulls().to_list()}


def _nsn_stage(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """Strip the national prefix with the parsing region's rules to get the NSN."""
    frame = frame.with_columns(
        parse_region=pl.when("intl")
        .then(pl.col("cc").replace_strict(_main_regions(frame), return_dtype=pl.Utf8))
        .otherwise("region")
    )
    done: list[pl.DataFrame] = []
    for (region,), part in frame.filter(pl.col("parse_region").is_not_null()).group_by(
        ["parse_region"]
    ):
        plan = _plan(str(region))
        if plan is None or not plan.can_parse:
            continue
        n = pl.col("national")
        stripped = _strip_national_prefix(n, plan)
        unfit = _length_result(stripped, plan).is_in(
            [
                ValidationResult.TOO_SHORT,
                ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                ValidationResult.INVALID_LENGTH,
            ]
        )
        part = part.select(*_CARRY, "cc", nsn=pl.when(unfit).then(n).otherwise(stripped))
        size = pl.col("nsn").str.len_chars()
        done.append(part.filter((size >= _MIN_NSN) & (size <= _MAX_NSN)))
    return done


def _type_stage(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """`region_code_for_number` + `number_type`, per country code; null type: not valid."""
    done: list[pl.DataFrame] = []
    nsn = pl.col("nsn")
    for (cc,), part in frame.group_by(["cc"]):
        remaining = part
        for region in pn.COUNTRY_CODE_TO_REGION_CODE.get(int(str(cc)), ()):
            plan = _plan(region)
            if plan is None or not plan.can_type:
                break  # the rest stays undecided
            if plan.leading_digits is not None:
                remaining = remaining.with_columns(hit=nsn.str.contains(plan.leading_digits))
                claimed = remaining.filter("hit").with_columns(type=_number_type(nsn, plan))
            else:
                remaining = remaining.with_columns(type=_number_type(nsn, plan))
                remaining = remaining.with_columns(hit=pl.col("type").is_not_null())
                claimed = remaining.filter("hit")
            done.append(claimed.drop("hit").with_columns(number_region=pl.lit(region)))
            remaining = remaining.filter(~pl.col("hit")).drop("hit", "type", strict=False)
            if not remaining.height:
                break
        else:  # no region claims the number: not valid
            done.append(
                remaining.with_columns(
                    type=pl.lit(None, pl.Utf8), number_region=pl.lit(None, pl.Utf8)
                )
            )
    return done


def _verdicts(frame: pl.DataFrame) -> pl.DataFrame:
    """Lay decided rows out like `to_frame`, with the same notes and tags as `_judge`.

    Notes and tags are `_SEP`-joined strings here; `_as_lists` makes lists of them at the end.
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
    parts: list[pl.DataFrame] = []
    for (code,), part in frame.group_by(["cc"]):
        main = _main_region(int(str(code)))
        plan = _plan(main) if main else None
        reason = (
            _length_result(nsn, plan)
            if plan is not None
            else pl.lit(ValidationResult.INVALID_COUNTRY_CODE, pl.Int64)
        )
        parts.append(part.with_columns(reason=reason, where=pl.lit(_where(int(str(code))))))
    frame = pl.concat(parts)
    reason, where = pl.col("reason"), pl.col("where")
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
        extension=null,
        type=pl.when(valid).then("type").otherwise(null),
        region=pl.when(valid).then("number_region").otherwise(null),
    )


_SEP = "\x1f"  # joins notes/tags while they are built as strings (lists are slow to build)
_NATIVE, _OTHER = 0, 1  # readings of one row: as written, or the 00/float rescue reading
_OUT = [*base.RESULT_SCHEMA, *PARTS]


def _as_lists(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Turn a `_SEP`-joined string column into a list column via its few distinct values."""
    keys = frame[column].unique().to_list()
    table = pl.DataFrame(
        {column: keys, "__list": [k.split(_SEP) if k else [] for k in keys]},
        schema={column: pl.Utf8(), "__list": pl.List(pl.Utf8())},
    )
    joined = frame.join(table, on=column, how="left", maintain_order="left")
    return joined.drop(column).rename({"__list": column})


def standardize_phone_column(phones: pl.Series, regions: pl.Series) -> pl.DataFrame:
    """Standardize a column of phones, row by row identical to `standardize_phone`.

    Columns as `base.to_frame(results, parts=("extension", "type", "region"))`, one row per
    input row, in order. Plain numbers are decided by Polars expressions over phonenumbers'
    metadata; the rest go through `standardize_phone` once per distinct (phone, region).
    """
    if len(phones) != len(regions):
        raise ValueError("phones and regions must have the same length")
    given, decided = _fast_path(phones.cast(pl.Utf8), regions.cast(pl.Utf8))
    slow = given.join(decided.select("row"), on="row", how="anti")
    frames = [decided]
    if slow.height:
        redone = base.per_distinct(
            {"phone": slow["raw"], "default_region": slow["region"]},
            lambda phone, default_region: standardize_phone(phone, region=default_region),
            PARTS,
        )
        frames.append(pl.concat([slow.select("row"), redone], how="horizontal"))
    schema = pl.Schema(
        {"row": pl.UInt32(), **base.RESULT_SCHEMA, **dict.fromkeys(PARTS, pl.Utf8())}
    )
    out = pl.concat([f.select(list(schema)).cast(schema) for f in frames])
    return out.sort("row").select(_OUT)


def _fast_path(phones: pl.Series, regions: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The input (row, raw, canonical region) and the verdicts of the rows decided fast."""
    mapping = {r: _canonical_region(r) for r in regions.unique().drop_nulls().to_list()}
    own_codes = {
        r: str(pn.country_code_for_region(r)) for r in set(mapping.values()) if r is not None
    }
    given = pl.DataFrame({"raw": phones}).with_row_index("row")
    given = given.with_columns(
        region=regions.replace_strict(mapping, default=None, return_dtype=pl.Utf8)
    )
    text = pl.col("raw").str.strip_chars(" \t")
    frame = given.with_columns(text=text)
    missing = frame.filter(pl.col("raw").is_null() | (pl.col("text") == "")).select(
        "row", reading=pl.lit(_NATIVE), text=pl.lit(None, pl.Utf8), kind=pl.lit("missing")
    )
    # A leading label ("tel:", "Phone: ") is skipped by phonenumbers; the rest must be digits
    # and plain punctuation (no extension, no letters, one leading +) to be decided here.
    body = pl.col("text").str.replace(_LABEL, "")
    frame = frame.with_columns(body=body).filter(
        pl.col("body").str.contains(_ELIGIBLE) & (pl.col("text").str.len_chars() <= _MAX_INPUT)
    )
    floated = pl.col("text").str.contains(r"^'?\+?[0-9]+\.0+$")
    body = pl.when(floated).then(pl.col("text").str.replace(r"\.0+$", "")).otherwise("body")
    frame = frame.with_columns(
        floated=floated,
        plus=pl.col("body").str.contains(r"^'?\+"),
        has_00=pl.col("body").str.contains(r"^[^0-9+]*00"),
        digits=body.str.replace_all(r"[^0-9]", ""),
        own_code=pl.col("region").replace_strict(own_codes, default=None, return_dtype=pl.Utf8),
    ).filter(pl.col("digits").str.len_chars() >= 3)  # phonenumbers' viability check

    # Readings, as in standardize_phone: "00…" and spreadsheet floats may also be read with a
    # "+"; with a region the row carries both readings and _choose picks like the scalar code.
    no_region = pl.col("region").is_null()
    float_plain = pl.col("floated") & ~pl.col("plus") & ~pl.col("has_00")
    frame = frame.with_columns(
        twofold=~no_region & ~pl.col("plus") & (pl.col("has_00") | float_plain),
        intl_first=float_plain & pl.col("digits").str.starts_with(pl.col("own_code")),
        as_plus=pl.col("plus") | (no_region & (pl.col("has_00") | float_plain)),
        plus_digits=pl.when(pl.col("has_00") & ~pl.col("plus"))
        .then(pl.col("digits").str.slice(2))
        .otherwise("digits"),
    )
    no_country = frame.filter(no_region & ~pl.col("as_plus")).select(
        "row", "text", reading=pl.lit(_NATIVE), kind=pl.lit("no_country")
    )
    native_local = frame.filter(~no_region & ~pl.col("plus"))
    plus_rows = pl.concat(
        [
            frame.filter("as_plus").with_columns(reading=pl.lit(_NATIVE)),
            frame.filter("twofold").with_columns(reading=pl.lit(_OTHER)),
        ]
    ).with_columns(d=pl.col("plus_digits"))
    parsed = _concat(
        [
            _with_country_code(plus_rows),
            *_national_stage(native_local.with_columns(reading=pl.lit(_NATIVE))),
        ]
    )
    verdicts: list[pl.DataFrame] = []
    if parsed is not None:
        with_nsn = _concat(_nsn_stage(parsed))
        typed = _concat(_type_stage(with_nsn)) if with_nsn is not None else None
        if typed is not None:
            verdicts.append(_choose(_verdicts(typed)))
    null = pl.lit(None, pl.Utf8)
    for extra in (no_country, missing):
        verdicts.append(
            extra.select(
                "row",
                value="text",
                flag=pl.when(pl.col("kind") == "missing")
                .then(pl.lit(Flag.MISSING.value))
                .otherwise(pl.lit(Flag.INVALID.value)),
                notes=pl.when(pl.col("kind") == "missing")
                .then(pl.lit(""))
                .otherwise(pl.lit(NOTE_NO_COUNTRY)),
                tags=pl.lit(""),
                key=null,
                extension=null,
                type=null,
                region=null,
            )
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
    decided = pl.concat([v.select(list(schema)).cast(schema) for v in verdicts])
    return given, _as_lists(_as_lists(decided, "notes"), "tags")


def _choose(verdicts: pl.DataFrame) -> pl.DataFrame:
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
