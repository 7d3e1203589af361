"""The clean stage for company records: name and legal form, domain, phone and address.

Same contract as `clean_contacts`: typed canonical values in, the same rows standardized
out, with match keys and the compact per-field flags JSON.
"""

from __future__ import annotations

from time import perf_counter

import polars as pl

from rolodex.clean.address import standardize_address_columns
from rolodex.clean.base import no_lists
from rolodex.clean.company import standardize_company_columns
from rolodex.clean.contacts import CleanedContacts, CleanInfo, Fields, apply_rules, where
from rolodex.clean.phone import standardize_phone_column
from rolodex.config import CleanSettings


def clean_companies(
    values: pl.DataFrame, *, config: CleanSettings, region: str | None = None
) -> CleanedContacts:
    """Standardize a chunk of company values (see the module docstring)."""
    info = CleanInfo(rows=values.height)
    n = values.height
    out: dict[str, pl.Series] = {}
    fields = Fields()
    empty = pl.Series([None] * n, dtype=pl.Utf8)
    empty_lists = no_lists(n)

    def col(name: str) -> pl.Series:
        return values.get_column(name).cast(pl.Utf8) if name in values.columns else empty

    started = perf_counter()
    if {"name", "domain"} & set(values.columns):
        company = standardize_company_columns(col("name"), col("domain"), empty)
        if "name" in values.columns:
            out["name"] = company["company"]
            fields.put("name", company["company_flag"], company["notes"], company["tags"])
        out["name_key"] = company["company_key"]
        if "domain" in values.columns:
            out["domain"] = where(
                company["domain_flag"].is_in(["missing"]), col("domain"), company["domain"]
            )
            fields.put("domain", company["domain_flag"], empty_lists, empty_lists)
    info.seconds["company"] = perf_counter() - started

    started = perf_counter()
    if {"street", "postcode", "region", "country"} & set(values.columns):
        postcode = col("postcode").str.strip_chars_start().str.strip_prefix("'")
        addr = standardize_address_columns(col("street"), postcode, col("region"), col("country"))
        for name in ("street", "postcode", "region", "country"):
            if name in values.columns:
                out[name] = addr[name]
                flag = addr[f"{name}_flag"]
                notes = where(flag.is_in(["valid", "missing"]).not_(), addr["notes"], empty_lists)
                fields.put(name, flag, notes, empty_lists)
        out["street_key"] = addr["street_key"]
    info.seconds["address"] = perf_counter() - started

    started = perf_counter()
    if "phone" in values.columns:
        country = out.get("country", col("country"))
        regions = pl.select(pl.coalesce(country, pl.Series([region] * n, dtype=pl.Utf8)))
        got = standardize_phone_column(col("phone"), regions.to_series())
        out["phone"] = got["value"]
        out["phone_key"] = got["key"]
        fields.put("phone", got["flag"], got["notes"], got["tags"])
    info.seconds["phone"] = perf_counter() - started

    quarantine = apply_rules(values, out, fields, config)
    for name, (flag, _, _) in fields.parts.items():
        info.flags[name] = {str(k): int(v) for k, v in flag.value_counts().iter_rows()}
    changed: dict[str, pl.Series] = {
        name: values.get_column(name).is_not_null()
        & out[name].is_not_null()
        & (values.get_column(name).cast(pl.Utf8) != out[name])
        for name in ("name", "domain", "phone", "street", "postcode", "region", "country")
        if name in out and name in values.columns
    }
    result = values.with_columns([s.alias(k) for k, s in out.items()]).with_columns(
        fields.encode(n, changed)
    )
    return CleanedContacts(values=result, quarantine=quarantine, info=info)
