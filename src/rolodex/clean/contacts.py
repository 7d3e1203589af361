"""The clean stage for contact records: standardize every field, flag its quality, fill
what can safely be filled from other fields, and apply the workspace's own rules.

`clean_contacts` takes the typed canonical values of a chunk (one column per mapped field,
as the collect stage prepares them) and returns them standardized, with match keys and a
compact JSON of per-field flags per row. Fields that are valid as given and carry no tags
are left out of the JSON, so a clean record stores `null`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import polars as pl

from rolodex.clean.address import (
    country_from_postcode,
    standardize_address_columns,
    standardize_country,
    standardize_postcode,
    standardize_street,
)
from rolodex.clean.base import Flag, no_lists
from rolodex.clean.company import domain_from, standardize_company, standardize_company_columns
from rolodex.clean.email import standardize_email, standardize_email_column
from rolodex.clean.names import (
    mailbox_name_key_columns,
    mailbox_name_keys,
    standardize_name,
    standardize_name_columns,
)
from rolodex.clean.phone import (
    region_of_email,
    region_of_email_column,
    standardize_phone,
    standardize_phone_column,
)
from rolodex.config import CleanSettings, FieldRule

_PHONES = ("phone", "mobile", "work_phone", "other_phone")
_EMAILS = ("email", "email2")
# Input convention: a boolean column FIELD + this suffix marks the dates of FIELD whose day
# and month could be swapped (the collect stage adds it; a test of the import pins both).
AMBIGUOUS = "__ambiguous"
# Fields whose standardized form the scorecard compares with what came in.
_COMPARED = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "work_phone",
    "other_phone",
    "company_name",
    "street",
    "region",
    "postcode",
    "country",
)
_EMAIL_LOCAL = re.compile(r"^([a-z]{2,})[._]([a-z]{2,})$")


@dataclass
class CleanInfo:
    """What cleaning one chunk did: time per step and flag counts per field."""

    rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    flags: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, other: CleanInfo) -> None:
        """Fold another chunk's figures into these."""
        self.rows += other.rows
        for step, seconds in other.seconds.items():
            self.seconds[step] = self.seconds.get(step, 0.0) + seconds
        for name, counts in other.flags.items():
            mine = self.flags.setdefault(name, {})
            for flag, count in counts.items():
                mine[flag] = mine.get(flag, 0) + count


@dataclass
class CleanedContacts:
    """The standardized values (same rows, same order) and what to quarantine."""

    values: pl.DataFrame
    quarantine: dict[int, list[str]]  # row index -> reasons, from the workspace's rules
    info: CleanInfo


class Fields:
    """Collects each field's (flag, notes, tags) columns to encode them as JSON at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, tuple[pl.Series, pl.Series, pl.Series]] = {}

    def put(self, name: str, flag: pl.Series, notes: pl.Series, tags: pl.Series) -> None:
        self.parts[name] = (flag.alias("flag"), notes.alias("notes"), tags.alias("tags"))

    def encode(self, height: int, changed: dict[str, pl.Series]) -> pl.Series:
        """One JSON object per row, or null when every field is valid, untagged and unchanged.

        `changed` says per field which rows the cleaning rewrote (E.164, a country code,
        proper case): listed under "_changed", so the scorecard can tell how many values
        were already in standard form before cleaning.
        """
        if not self.parts:
            return pl.Series("flags", [None] * height, dtype=pl.Utf8)
        frame = pl.DataFrame(
            [_fragment(name, *cols) for name, cols in self.parts.items()]
            + [series.fill_null(False).alias(f"{name}.changed") for name, series in changed.items()]
        )
        listed = pl.lit(None, dtype=pl.Utf8)
        if changed:  # none when the chunk has no field whose rewrites are counted
            rewritten = pl.concat_str(
                [pl.when(pl.col(f"{name}.changed")).then(pl.lit(f'"{name}"')) for name in changed],
                separator=",",
                ignore_nulls=True,
            )
            listed = pl.when(rewritten != "").then(pl.lit('"_changed":[') + rewritten + pl.lit("]"))
        row = pl.concat_str([listed, *map(pl.col, self.parts)], separator=",", ignore_nulls=True)
        return frame.select(
            pl.when(row != "").then(pl.lit("{") + row + pl.lit("}")).alias("flags")
        ).to_series()


def _fragment(name: str, flag: pl.Series, notes: pl.Series, tags: pl.Series) -> pl.Series:
    """`"name":{...}` per row, null when the field is valid or missing with no notes or tags.

    A field has few distinct (flag, notes, tags) combinations per chunk (a free-mail tag, an
    E.164 note): each is written once and joined back to its rows, which costs half of
    writing every row's text.
    """
    frame = pl.DataFrame({"flag": flag, "notes": notes, "tags": tags}).with_columns(
        pl.struct("flag", "notes", "tags").hash(seed=0).alias("_key")
    )
    firsts = frame.filter(pl.col("_key").is_first_distinct())
    inner = pl.concat_str(
        [
            pl.when(pl.col("flag").is_in(["valid", "missing"]).not_()).then(
                pl.lit('"flag":"') + pl.col("flag") + pl.lit('"')
            ),
            _json_list(firsts.get_column("notes")),
            _json_list(firsts.get_column("tags")),
        ],
        separator=",",
        ignore_nulls=True,
    )
    texts = firsts.select(
        "_key", pl.when(inner != "").then(pl.lit(f'"{name}":{{') + inner + pl.lit("}")).alias(name)
    )
    joined = frame.select("_key").join(texts, on="_key", how="left", maintain_order="left")
    return joined.get_column(name)


def _json_list(lists: pl.Series) -> pl.Series:
    """`"name":[...]` per row for a list column named `name`, null where the list is empty.

    Items that JSON must escape (quotes, backslashes, control characters) are rare: only a
    column holding one goes through the JSON encoder; the others are joined as they are,
    which writes the same text several times faster.
    """
    name = lists.name
    frame = pl.DataFrame({name: lists})
    filled = pl.col(name).list.len() > 0
    items = lists.explode().drop_nulls()
    if items.str.contains(r'["\\\x00-\x1f]').any():
        encoded = pl.struct(name).struct.json_encode().str.slice(1).str.strip_suffix("}")
    else:
        encoded = pl.lit(f'"{name}":["') + pl.col(name).list.join('","') + pl.lit('"]')
    return frame.select(pl.when(filled).then(encoded).alias(name)).to_series()


def where(cond: pl.Series, then: pl.Series | str, otherwise: pl.Series) -> pl.Series:
    """Row-wise choice between two columns (or a constant) by a boolean column."""
    frame = pl.DataFrame({"c": cond.fill_null(False), "o": otherwise})
    chosen = pl.lit(then) if isinstance(then, str) else pl.Series("t", then)
    return frame.select(pl.when("c").then(chosen).otherwise("o")).to_series().alias(otherwise.name)


def _append(cond: pl.Series, lists: pl.Series, items: pl.Series | str) -> pl.Series:
    """Append one item (a constant or one per row) to the lists of the rows where `cond`."""
    extra = pl.Series("x", [items] * len(lists)) if isinstance(items, str) else items.alias("x")
    frame = pl.DataFrame({"c": cond.fill_null(False), "l": lists, "x": extra})
    return (
        frame.select(pl.when("c").then(pl.col("l").list.concat(pl.concat_list("x"))).otherwise("l"))
        .to_series()
        .alias(lists.name)
    )


def _counts(flags: pl.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in flags.value_counts().iter_rows()}


def clean_contacts(
    values: pl.DataFrame, *, config: CleanSettings, region: str | None = None
) -> CleanedContacts:
    """Standardize a chunk of contact values; see the module docstring.

    Args:
        values: typed canonical values, one column per mapped field.
        config: the workspace's cleaning rules.
        region: the source's default region for national phone numbers.
    """
    info = CleanInfo(rows=values.height)
    out: dict[str, pl.Series] = {}
    fields = Fields()
    n = values.height
    empty = pl.Series([None] * n, dtype=pl.Utf8)

    def col(name: str) -> pl.Series:
        return values.get_column(name).cast(pl.Utf8) if name in values.columns else empty

    def timed(step: str, started: float) -> None:
        info.seconds[step] = info.seconds.get(step, 0.0) + perf_counter() - started

    started = perf_counter()
    for name in _EMAILS:
        if name in values.columns:
            got = standardize_email_column(col(name))
            out[name] = got["value"]
            if name == "email":
                out["email_key"] = got["key"]
            fields.put(name, got["flag"], got["notes"], got["tags"])
    timed("email", started)

    started = perf_counter()
    if {"first_name", "last_name", "full_name"} & set(values.columns):
        names = standardize_name_columns(col("first_name"), col("last_name"), col("full_name"))
        for part, target in (
            ("title", "salutation"),
            ("first", "first_name"),
            ("middle", "middle_name"),
            ("last", "last_name"),
            ("suffix", "suffix"),
        ):
            given = col(target)
            out[target] = names[part] if part in names.columns else given
        out["first_name_key"] = names["first_key"]
        out["last_name_key"] = names["last_key"]
        name_parts = (names["flag"], names["notes"], names["tags"])
        if "email" in out:
            first_key, last_key, user = mailbox_name_key_columns(
                names["first_key"], names["last_key"], out["email"]
            )
            if user.any():
                out["first_name_key"], out["last_name_key"] = first_key, last_key
                name_parts = (
                    where(user & (names["flag"] == "valid"), "suspicious", names["flag"]),
                    _append(user, names["notes"], "the name is the email's user name"),
                    _append(user, names["tags"], "user_name"),
                )
        fields.put("name", *name_parts)
    timed("names", started)

    started = perf_counter()
    address_fields = {"street", "postcode", "region", "country"}
    if address_fields & set(values.columns):
        # Spreadsheet exports (Shopify's among them) protect codes with a leading apostrophe.
        postcode = col("postcode").str.strip_chars_start().str.strip_prefix("'")
        addr = standardize_address_columns(col("street"), postcode, col("region"), col("country"))
        no_notes = no_lists(n)
        for name in ("street", "postcode", "region", "country"):
            if name not in values.columns and name != "country":
                continue
            out[name] = addr[name]
            flag = addr[f"{name}_flag"]
            notes = where(flag.is_in(["valid", "missing"]).not_(), addr["notes"], no_notes)
            fields.put(name, flag, notes, no_notes)
        out["street_key"] = addr["street_key"]
    timed("address", started)

    started = perf_counter()
    country = out.get("country", col("country"))
    default = pl.Series([region] * n, dtype=pl.Utf8)
    # A record with neither a country nor a default region: its email's country domain
    # (web.de, yahoo.co.uk) is the last hint for reading a national number.
    by_email = region_of_email_column(out["email"]) if "email" in out else empty
    regions = pl.select(pl.coalesce(country, default, by_email)).to_series()
    guessed = (country.is_null() & default.is_null() & by_email.is_not_null()).fill_null(False)
    phone_region: pl.Series | None = None
    keys = []
    for name in _PHONES:
        if name not in values.columns:
            continue
        got = standardize_phone_column(col(name), regions)
        out[name] = got["value"]
        keys.append(got["key"])
        # A number of another country than the address: flag the disagreement.
        conflict = (
            country.is_not_null() & got["region"].is_not_null() & (got["region"] != country)
        ).fill_null(False)
        tags = _append(conflict, got["tags"], "conflict")
        notes = _append(conflict, got["notes"], "a number of " + got["region"].fill_null(""))
        national = ~col(name).str.contains(r"^\s*(\+|00)").fill_null(True)
        read = guessed & national & got["key"].is_not_null()
        notes = _append(read, notes, "read with the country of the email's domain")
        fields.put(name, got["flag"], notes, tags)
        phone_region = (
            got["region"] if phone_region is None else phone_region.fill_null(got["region"])
        )
    if keys:
        out["phone_key"] = pl.select(pl.coalesce(keys)).to_series()
    timed("phone", started)

    # Fill the country from the phone's own country code when the address has none.
    if phone_region is not None and "country" in out:
        fill = country.is_null() & phone_region.is_not_null()
        if fill.any():
            out["country"] = pl.select(pl.coalesce(country, phone_region)).to_series()
            old_flag, old_notes, old_tags = fields.parts["country"]
            fields.put(
                "country",
                where(fill, "corrected", old_flag),
                _append(fill, old_notes, "filled from the phone number's country code"),
                _append(fill, old_tags, "filled"),
            )

    started = perf_counter()
    if {"company_name", "website"} & set(values.columns) or "email" in out:
        # Only a trustworthy address names a company's domain (not a placeholder or a
        # disposable one).
        emails = out.get("email", col("email"))
        if "email" in fields.parts:
            trusted = fields.parts["email"][0].is_in(["valid", "corrected"])
            emails = where(trusted.not_(), pl.Series([None] * n, dtype=pl.Utf8), emails)
        company = standardize_company_columns(col("company_name"), col("website"), emails)
        if "company_name" in values.columns:
            out["company_name"] = company["company"]
            fields.put("company_name", company["company_flag"], company["notes"], company["tags"])
        out["company_key"] = company["company_key"]
        # A domain on a platform or free-mail host (or none at all) is no company's key.
        usable = company["domain_flag"].is_in(["valid", "corrected"])
        out["company_domain"] = where(
            usable.not_(), pl.Series([None] * n, dtype=pl.Utf8), company["domain"]
        )
    timed("company", started)

    # Names from the email local part, as a suggestion only (never written as values).
    if "email" in out and "name" in fields.parts:
        local = out["email"].str.extract(r"^([^@]+)@", 1)
        pair = local.str.extract_groups(_EMAIL_LOCAL.pattern)
        first, last = pair.struct.field("1"), pair.struct.field("2")
        nobody = (
            out["first_name"].is_null() & out["last_name"].is_null() & first.is_not_null()
        ).fill_null(False)
        if nobody.any():
            suggestion = (
                "suggested from the email address: "
                + first.str.to_titlecase().fill_null("")
                + " "
                + last.str.to_titlecase().fill_null("")
            )
            name_flag, name_notes, name_tags = fields.parts["name"]
            fields.put(
                "name",
                name_flag,
                _append(nobody, name_notes, suggestion),
                _append(nobody, name_tags, "suggestion"),
            )

    # Dates whose day and month could be swapped: read as the rest of their column, flagged.
    for name in values.columns:
        if name.endswith(AMBIGUOUS) and name.removesuffix(AMBIGUOUS) in values.columns:
            ambiguous = values.get_column(name)
            field_name = name.removesuffix(AMBIGUOUS)
            empty_lists = no_lists(n)
            fields.put(
                field_name,
                pl.Series(["valid"] * n, dtype=pl.Utf8),
                _append(
                    ambiguous,
                    empty_lists,
                    "day and month could be swapped; read in the column's day order",
                ),
                _append(ambiguous, empty_lists, "ambiguous_date"),
            )

    started = perf_counter()
    quarantine = apply_rules(values, out, fields, config)
    timed("rules", started)

    for name, (flag, _, _) in fields.parts.items():
        info.flags[name] = _counts(flag)
    changed = {
        name: values.get_column(name).is_not_null()
        & out[name].is_not_null()
        & (values.get_column(name).cast(pl.Utf8) != out[name])
        for name in _COMPARED
        if name in out and name in values.columns
    }
    result = values.with_columns([series.alias(name) for name, series in out.items()]).with_columns(
        fields.encode(n, changed)
    )
    return CleanedContacts(values=result, quarantine=quarantine, info=info)


def apply_rules(
    values: pl.DataFrame,
    out: dict[str, pl.Series],
    fields: Fields,
    config: CleanSettings,
) -> dict[int, list[str]]:
    """Apply custom rules and the quarantine list; return row -> reasons to quarantine."""
    n = values.height
    for rule in config.rules:
        if rule.field in out:
            column = out[rule.field]
        elif rule.field in values.columns:
            column = values.get_column(rule.field)
        else:
            continue
        broken = _breaks(column, rule)
        if not broken.any():
            continue
        message = rule.message or _describe(rule)
        key = rule.field
        if key in fields.parts:
            flag, notes, tags = fields.parts[key]
        else:
            flag = pl.Series(["valid"] * n, dtype=pl.Utf8)
            notes = no_lists(n)
            tags = no_lists(n)
        fields.put(
            key,
            where(broken, rule.flag, flag),
            _append(broken, notes, message),
            _append(broken, tags, "rule"),
        )
    quarantine: dict[int, list[str]] = {}
    for item in config.quarantine:
        name, _, wanted = item.partition(":")
        for field_name, (flag, notes, _) in fields.parts.items():
            if name not in ("*", field_name):
                continue
            hit = (flag == wanted).fill_null(False)
            for i, reasons in zip(
                hit.arg_true().to_list(), notes.filter(hit).to_list(), strict=True
            ):
                reason = reasons[0] if reasons else wanted
                quarantine.setdefault(i, []).append(f"{field_name} is {wanted}: {reason}")
    return quarantine


def _breaks(column: pl.Series, rule: FieldRule) -> pl.Series:
    """Tell for each row whether its (non-empty) value breaks the rule."""
    present = column.is_not_null()
    broken = pl.Series([False] * len(column))
    text = column.cast(pl.Utf8)
    if rule.pattern is not None:
        broken = broken | ~text.str.contains(f"^(?:{rule.pattern})$").fill_null(True)
    if rule.allowed is not None:
        allowed = [a.casefold() for a in rule.allowed]
        broken = broken | ~text.str.to_lowercase().is_in(allowed).fill_null(True)
    if rule.min is not None or rule.max is not None:
        number = text.cast(pl.Float64, strict=False)
        if rule.min is not None:
            broken = broken | (number < rule.min).fill_null(False)
        if rule.max is not None:
            broken = broken | (number > rule.max).fill_null(False)
    return (broken & present).fill_null(False)


def _describe(rule: FieldRule) -> str:
    if rule.allowed is not None:
        return f"not one of the allowed values ({', '.join(rule.allowed)})"
    if rule.pattern is not None:
        return f"does not match the pattern {rule.pattern}"
    bounds: Sequence[str] = [
        f">= {rule.min:g}" if rule.min is not None else "",
        f"<= {rule.max:g}" if rule.max is not None else "",
    ]
    return "out of range (" + " and ".join(b for b in bounds if b) + ")"


def match_values(record: Mapping[str, str | None], region: str | None = None) -> dict[str, Any]:
    """Standardize one record's matched fields with the single-value functions.

    `clean_contacts` pays a fixed cost per step whatever the chunk size (a hundred Polars
    queries), too much for one record matched in real time; this gives the same values and
    keys as its row would (the tests compare them on whole data sets), without flags.

    Returns:
        email, email_key, email_tags (the email's tags, comma-joined), first_name_key,
        last_name_key, phone_key, the standardized phone, mobile, work_phone and
        other_phone, country, postcode, city, street_key, company_key, company_domain and
        birth_date.
    """

    def get(name: str) -> str | None:
        value = record.get(name)
        return None if value is None else str(value)

    email = standardize_email(get("email"))
    name = standardize_name(first=get("first_name"), last=get("last_name"), full=get("full_name"))
    first_key, last_key = name.first_key, name.last_key
    user = mailbox_name_keys(first_key, last_key, email.value)
    if user is not None:
        first_key, last_key = user
    raw_postcode = get("postcode")
    if raw_postcode is not None:
        raw_postcode = raw_postcode.lstrip().removeprefix("'")
    # The country rule of `standardize_address_columns`: as given when recognized, else
    # from the postcode's format (no default country: the import passes none either).
    country = standardize_country(get("country"))
    inferred = country_from_postcode(raw_postcode)
    recognized = country.flag in (Flag.VALID, Flag.CORRECTED)
    used = country.value if recognized else inferred
    country_value = inferred if country.flag is Flag.MISSING else country.value
    phone_key = None
    phones: dict[str, str | None] = {}
    for field_name in _PHONES:
        phone = standardize_phone(
            get(field_name), region=country_value or region or region_of_email(email.value)
        )
        phones[field_name] = phone.value
        phone_key = phone_key or phone.key
    trusted = email.value if email.flag in (Flag.VALID, Flag.CORRECTED) else None
    domain = domain_from(website=get("website"), email=trusted)
    return {
        "email": email.value,
        "email_key": email.key,
        "email_tags": ",".join(email.tags),
        "first_name_key": first_key,
        "last_name_key": last_key,
        "phone_key": phone_key,
        **phones,
        "country": country_value,
        "postcode": standardize_postcode(raw_postcode, country=used).value,
        "city": get("city"),
        "street_key": standardize_street(get("street")).key,
        "company_key": standardize_company(get("company_name")).key,
        "company_domain": domain.value if domain.flag in (Flag.VALID, Flag.CORRECTED) else None,
        "birth_date": get("birth_date"),
    }
