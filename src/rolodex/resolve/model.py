"""The CRM matching model: which contact records describe the same person.

A Splink model (DuckDB backend) over the clean stage's match keys, built for CRM data rather
than generic person records:

- names compared as a unit (first and last together, term frequency of the full name, so a
  common "John Smith" says less than a rare one), swapped first/last, nicknames through the
  nickname-folded first-name key, fuzzy levels for typos, and a separate level for "same last
  name, different first name" (a household member, not a typo);
- email match keys (Gmail dots and +tags folded); a role mailbox (info@, sales@) is no
  evidence at all; two different personal (free-mail) addresses are evidence against, a work
  address versus a personal one is not;
- phone E.164, postcode/city/street, company key or the email domain of the company, birth
  date.

Training is unsupervised (u from random pairs, m by expectation maximisation on blocks), the
trained model is a JSON document kept in the workspace and reused until a retrain.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

# Columns the model reads; `features` builds them from the standardized view.
FEATURES = (
    "unique_id",
    "first",
    "first_maybe",
    "last",
    "name",
    "name_any",
    "initial",
    "email",
    "email_local",
    "email_domain",
    "email_free",
    "email_name",
    "phone",
    "phone2",
    "postcode",
    "city",
    "street",
    "company",
    "company_domain",
    "birth_date",
    "ident",
)

_LETTERS = r"[^a-z0-9]"

# A record's numbers, in the order the clean stage picks its phone key from: `phone2` is the
# first valid one (E.164) that is not the key, so a mobile beside a landline is matched too.
PHONE_COLUMNS = ("phone", "mobile", "work_phone", "other_phone")
_E164 = r"^\+[1-9][0-9]{6,14}$"

# Custom fields that identify a person wherever they appear: national, tax and social
# security numbers, passport, customer and member numbers.
IDENTIFIER_NAMES = re.compile(
    r"(^|_)(ssn|soc(ial)?_?sec(urity)?(_?(id|no|num(ber)?))?|national_?id|tax_?(id|no|number)"
    r"|passport(_?(no|number))?|customer_?(no|number|num)|member_?(no|number|id)"
    r"|kunden_?(nr|nummer)|steuer_?id|nif|nie|dni|nir|siren|insee|bsn)($|_)"
)


# Nicknames the clean stage leaves out of the first-name key because they stand for several
# names or are names of their own (`clean.nicknames`): each says only that the person *may*
# bear one of these formal names (folded, as the key has them). Matching takes that as
# agreement where other evidence is shared: "Lisa Koch" and "Elisabeth Koch" on one mailbox
# are likelier one person than a family.
_MAYBE: dict[str, str] = {
    "lisa": "elisabeth elizabeth",
    "lena": "helena magdalena",
    "max": "maximilian maxime maximo maximiliano",
    "tina": "christina kristina martina valentina bettina",
    "alex": "alexander alexandra alejandro alessandro alexandre alexis",
    "sam": "samuel samantha",
    "chris": "christopher christian christine christina kristina",
    "toni": "antonio antonia anton",
    "jess": "jessica",
    "pat": "patrick patricia",
    "jo": "joanna johanna josephine",
    "liam": "william",
    "john": "jonathan",
    "klaus": "nikolaus",
    "jan": "johannes",
    "manu": "manuel manuela emmanuel",
    "isa": "isabel isabella",
    "gabi": "gabriele gabriela gabrielle",
    "susi": "susanne susana",
    "andi": "andreas andrea",
    "bea": "beatriz beatrice beate",
    "dani": "daniel daniela",
    "rosi": "rosemarie rosa",
    "mari": "maria",
}
# nickname -> "|formal|formal|", the form the model's SQL and its Python twin look names up in
MAYBE_NICKNAMES: dict[str, str] = {k: "|" + v.replace(" ", "|") + "|" for k, v in _MAYBE.items()}


def identifier_fields(names: Sequence[str]) -> list[str]:
    """Pick the custom fields whose names say they hold a personal identifier."""
    return [n for n in names if IDENTIFIER_NAMES.search(n.lower())]


def features(records: pl.DataFrame, identifiers: Sequence[str] = ()) -> pl.DataFrame:
    """Build the model's columns from standardized contact records.

    Args:
        records: `source_record_id` plus any of the contact_record columns (first_name_key,
            last_name_key, email_key, phone_key, the numbers of `PHONE_COLUMNS`, postcode,
            city, street_key, company_key, company_domain, birth_date), `email_tags` (the
            clean stage's tags of the email: "role", "free", ...) and `custom` (JSON text of
            the custom fields).
        identifiers: custom fields holding personal identifiers (`identifier_fields`).

    Returns:
        One row per record with the columns in `FEATURES`.
    """

    def col(name: str) -> pl.Expr:
        if name in records.columns:
            return pl.col(name).cast(pl.Utf8)
        return pl.lit(None, pl.Utf8)

    tags = col("email_tags").fill_null("")
    role = tags.str.contains("role")
    email = pl.when(role).then(None).otherwise(col("email_key"))
    first = col("first_name_key")
    last = col("last_name_key")
    frame = records.select(
        pl.col("source_record_id").cast(pl.Int64).alias("unique_id"),
        first.alias("first"),
        first.replace_strict(MAYBE_NICKNAMES, default=None, return_dtype=pl.Utf8).alias(
            "first_maybe"
        ),
        last.alias("last"),
        pl.when(first.is_not_null() & last.is_not_null())
        .then(pl.concat_str(first, pl.lit(" "), last))
        .alias("name"),
        # The name's letters whatever the order or split ("Garrido Ortega, José" in one
        # field, "José" + "Garrido Ortega" in two): the smaller of both concatenations.
        pl.when(first.is_not_null() | last.is_not_null())
        .then(
            pl.min_horizontal(
                pl.concat_str(first.fill_null(""), last.fill_null("")),
                pl.concat_str(last.fill_null(""), first.fill_null("")),
            )
        )
        .alias("name_any"),
        first.str.slice(0, 1).alias("initial"),
        email.alias("email"),
        # The mailbox name without separators: jane.doe, jane_doe and janedoe agree.
        email.str.split("@").list.first().str.replace_all(r"[._\-]", "").alias("email_local"),
        email.str.split("@").list.last().alias("email_domain"),
        pl.when(email.is_null())
        .then(None)
        .otherwise(tags.str.contains("free"))
        .alias("email_free"),
        col("phone_key").alias("phone"),
        pl.coalesce(
            pl.when(col(c).str.contains(_E164) & (col(c) != col("phone_key"))).then(col(c))
            for c in PHONE_COLUMNS
        ).alias("phone2"),
        col("postcode").str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "").alias("postcode"),
        col("city").str.to_lowercase().str.replace_all(_LETTERS, "").alias("city"),
        col("street_key").alias("street"),
        col("company_key").alias("company"),
        col("company_domain").alias("company_domain"),
        col("birth_date").str.slice(0, 10).alias("birth_date"),
        _identifier(col("custom"), identifiers).alias("ident"),
    )
    # A mailbox that only spells the person's name (jane.doe@, jdoe@, laurahall72@,
    # harry.white@ for Henry White, stefan.schroeder@ for Schröder) says no more than the
    # name itself when it turns up at another domain: namesakes pick the same ones.
    local = pl.col("email_local").str.replace_all("[0-9]", "")
    f, la, i = pl.col("first"), pl.col("last"), pl.col("initial")
    frame = frame.with_columns(
        pl.when(local.is_null())
        .then(None)
        .otherwise(
            # As written, and with umlauts folded; each part folded on its own would fold
            # across the seam ("olivia" + "edwards" is no "oliviadwards").
            _spells(local, f, la, i) | _spells(_fold(local), _fold(f), _fold(la), i)
        )
        .fill_null(False)
        .alias("email_name")
    )
    # Empty strings are no evidence.
    return frame.with_columns(
        pl.when(pl.col(c).str.len_chars() > 0).then(pl.col(c)).alias(c)
        for c in FEATURES
        if c not in ("unique_id", "email_free", "email_name")
    )


def feature_row(record: Mapping[str, Any], identifiers: Sequence[str] = ()) -> dict[str, Any]:
    """`features` of one record, in plain Python: the real-time match builds a handful of
    rows per call, where a Polars query's fixed cost would dominate. The tests hold both
    equal on whole data sets.

    Args:
        record: the inputs of `features` as a mapping (missing keys count as null;
            `custom` as JSON text or a dict).
        identifiers: as for `features`.
    """

    def get(name: str) -> str | None:
        value = record.get(name)
        return None if value is None else str(value)

    tags = get("email_tags") or ""
    first, last = get("first_name_key"), get("last_name_key")
    email = None if "role" in tags else get("email_key")
    local = re.sub(r"[._\-]", "", email.split("@")[0]) if email is not None else None
    initial = first[:1] if first is not None else None
    postcode, city, birth = get("postcode"), get("city"), get("birth_date")
    key = get("phone_key")
    row: dict[str, Any] = {
        "unique_id": int(record["source_record_id"]),
        "first": first,
        "first_maybe": MAYBE_NICKNAMES.get(first) if first is not None else None,
        "last": last,
        "name": f"{first} {last}" if first is not None and last is not None else None,
        "name_any": min((first or "") + (last or ""), (last or "") + (first or ""))
        if first is not None or last is not None
        else None,
        "initial": initial,
        "email": email,
        "email_local": local,
        "email_domain": email.split("@")[-1] if email is not None else None,
        "email_free": None if email is None else "free" in tags,
        "phone": key,
        "phone2": next(
            (
                v
                for c in PHONE_COLUMNS
                if (v := get(c)) is not None and v != key and re.match(_E164, v)
            ),
            None,
        )
        if key is not None
        else None,
        "postcode": re.sub(r"[^A-Z0-9]", "", postcode.upper()) if postcode is not None else None,
        "city": re.sub(_LETTERS, "", city.lower()) if city is not None else None,
        "street": get("street_key"),
        "company": get("company_key"),
        "company_domain": get("company_domain"),
        "birth_date": birth[:10] if birth is not None else None,
        "ident": _identifier_value(record.get("custom"), identifiers),
    }
    row["email_name"] = local is not None and _spells_name(local, first, last, initial)
    for column in FEATURES:
        if column not in ("unique_id", "email_free", "email_name") and row[column] == "":
            row[column] = None
    return row


def _fold(text: pl.Expr) -> pl.Expr:
    """Umlauts written out (oe, ae, ue) read as the clean stage's plain vowels."""
    return text.str.replace_all("([aou])e", "${1}")


def _fold_text(text: str) -> str:
    return re.sub("([aou])e", r"\1", text)


def _spells(local: pl.Expr, f: pl.Expr, la: pl.Expr, i: pl.Expr) -> pl.Expr:
    """Whether a mailbox name (digits removed) spells the name: see `features`."""
    return (
        local.eq_missing(pl.concat_str(f, la))
        | local.eq_missing(pl.concat_str(la, f))
        | local.eq_missing(pl.concat_str(i, la))
        | local.eq_missing(f)
        | local.eq_missing(la)
        | ((la.str.len_chars() >= 4) & local.str.contains(la, literal=True))
        # the first of two surnames: beatriz.rodriguez@ for Beatriz Rodríguez Rodríguez
        | (
            local.str.starts_with(f)
            & (local.str.len_chars() - f.str.len_chars() >= 4)
            & la.str.starts_with(local.str.slice(f.str.len_chars()))
        )
        | (
            local.str.ends_with(f)
            & (local.str.len_chars() - f.str.len_chars() >= 4)
            & la.str.starts_with(local.str.head(local.str.len_chars() - f.str.len_chars()))
        )
    )


def _spells_name(local: str, first: str | None, last: str | None, initial: str | None) -> bool:
    """Python twin of the `email_name` column of `features`."""
    stem = re.sub("[0-9]", "", local)
    if _spells_text(stem, first, last, initial):
        return True
    f = _fold_text(first) if first is not None else None
    la = _fold_text(last) if last is not None else None
    return _spells_text(_fold_text(stem), f, la, initial)


def _spells_text(stem: str, f: str | None, la: str | None, initial: str | None) -> bool:
    """Python twin of `_spells`."""
    names = (
        f + la if f is not None and la is not None else None,
        la + f if f is not None and la is not None else None,
        initial + la if initial is not None and la is not None else None,
        f,
        la,
    )
    if stem in names or (la is not None and len(la) >= 4 and la in stem):
        return True
    if f is None or la is None or len(stem) - len(f) < 4:
        return False
    return (stem.startswith(f) and la.startswith(stem[len(f) :])) or (
        stem.endswith(f) and la.startswith(stem[: len(stem) - len(f)])
    )


def _identifier_value(custom: Any, names: Sequence[str]) -> str | None:
    """`_identifier` of one record's custom fields."""
    if not custom or not names:
        return None
    values = json.loads(custom) if isinstance(custom, str) else custom
    if not isinstance(values, dict):
        return None
    for name in names:
        value = values.get(name) if name.isidentifier() else None
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        text = re.sub(r"\.0+$", "", text).lower()
        return re.sub(r"[^a-z0-9]", "", text)
    return None


def _identifier(custom: pl.Expr, names: Sequence[str]) -> pl.Expr:
    """The first identifier custom field a record has, letters and digits only ("1804974.0"
    as a number in JSON reads 1804974)."""
    paths = [custom.str.json_path_match(f"$.{name}") for name in names if name.isidentifier()]
    if not paths:
        return pl.lit(None, pl.Utf8)
    found = pl.coalesce(paths)
    return found.str.replace(r"\.0+$", "").str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _null(*columns: str) -> dict[str, Any]:
    cond = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)
    return {"sql_condition": cond, "label_for_charts": "missing", "is_null_level": True}


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


_ELSE = {"sql_condition": "ELSE", "label_for_charts": "different"}


# A nickname that may stand for the other first name ("Lisa" for Elisabeth, "Max" for
# Maximilian): `MAYBE_NICKNAMES` of either side lists the other's name.
MAYBE_NICKNAME = (
    "(contains(first_maybe_l, '|' || first_r || '|')"
    " OR contains(first_maybe_r, '|' || first_l || '|'))"
)


def _close(a: str, b: str) -> str:
    """Two name parts that may be one: equal, a typo apart, or one the other's start (a
    short form "chris" of christopher, one surname "salino" of "salino zamera")."""
    return (
        f"({a} = {b} OR jaro_winkler_similarity({a}, {b}) >= 0.88"
        f" OR (length({a}) >= 3 AND starts_with({b}, {a}))"
        f" OR (length({b}) >= 3 AND starts_with({a}, {b})))"
    )


# First and last name swapped between the records, one of them exactly, the other close.
SWAPPED = (
    f"((first_l = last_r AND {_close('last_l', 'first_r')})"
    f" OR (last_l = first_r AND {_close('first_l', 'last_r')}))"
)
# First names that may belong to one person: equal up to typos (nicknames are folded by the
# clean stage's key), swapped with the last name, an initial, or missing. A shared phone or
# address means much less when the first names disagree: household members, colleagues.
FIRST_NAMES_AGREE = (
    "(first_l IS NULL OR first_r IS NULL OR jaro_winkler_similarity(first_l, first_r) >= 0.88"
    # a typo that similarity scores low in a short name ("ali" for lai, "ea" for eva), or
    # the short form of the other ("seb" of sebastien, "pili" of pilar is not one)
    " OR (damerau_levenshtein(first_l, first_r) <= 1"
    " AND (length(first_l) >= 3 OR length(first_r) >= 3))"
    " OR (length(first_l) >= 3 AND starts_with(first_r, first_l))"
    " OR (length(first_r) >= 3 AND starts_with(first_l, first_r))"
    " OR first_l = last_r OR first_r = last_l"
    " OR ((length(first_l) = 1 OR length(first_r) = 1) AND initial_l = initial_r)"
    # the surname typed as the first name, or its first part ("Gallego" of Gallego Pascual)
    " OR (length(first_l) >= 4 AND starts_with(last_r, first_l))"
    " OR (length(first_r) >= 4 AND starts_with(last_l, first_r))"
    f" OR {MAYBE_NICKNAME})"
)


PARTIAL_NAME = "first_l IS NULL OR last_l IS NULL OR first_r IS NULL OR last_r IS NULL"
SAME_COMPANY = "company_l = company_r OR company_domain_l = company_domain_r"
# A number of one record is a number of the other: its key or its second number (`phone2`).
SAME_PHONE = (
    "(phone_l = phone_r OR phone_l = phone2_r OR phone2_l = phone_r OR phone2_l = phone2_r)"
)


def comparisons() -> list[dict[str, Any]]:
    """Return the model's comparisons, each as a Splink comparison dictionary."""
    name: dict[str, Any] = {
        "output_column_name": "name",
        "comparison_description": "first and last name together",
        "comparison_levels": [
            {
                "sql_condition": "(first_l IS NULL OR first_r IS NULL)"
                " AND (last_l IS NULL OR last_r IS NULL)",
                "label_for_charts": "missing",
                "is_null_level": True,
            },
            # A name swapped or split differently ("Kelly Thomas" against "Thomas Kelly",
            # "Garrido Ortega, José" in one field) is the same name, and as common: it
            # weighs no more than the name written alike.
            _level(
                "name_l = name_r OR (first_l = last_r AND last_l = first_r)"
                " OR (name_any_l = name_any_r AND NOT (first_l IS NOT DISTINCT FROM first_r"
                " AND last_l IS NOT DISTINCT FROM last_r))",
                "same first and last name, in either order",
                tf_adjustment_column="name",
                tf_adjustment_weight=1.0,
                # Not a bare "name_l = name_r", which Splink looks for to scale term
                # frequencies by: this level's own u is that scale (`_exact_level` agrees).
                disable_tf_exact_match_detection=True,
            ),
            _level(SWAPPED, "swapped first and last, one a near miss or a short form"),
            _level(
                "(first_l = first_r AND jaro_winkler_similarity(last_l, last_r) >= 0.9)"
                " OR (last_l = last_r AND jaro_winkler_similarity(first_l, first_r) >= 0.9)",
                "one name equal, the other a near miss",
            ),
            _level(
                "jaro_winkler_similarity(first_l, first_r) >= 0.88"
                " AND jaro_winkler_similarity(last_l, last_r) >= 0.88",
                "both names near misses",
            ),
            _level(
                "(last_l = last_r AND (first_l IS NULL OR first_r IS NULL"
                " OR ((length(first_l) = 1 OR length(first_r) = 1) AND initial_l = initial_r)))"
                # "Claire B." against "Claire Blackley", "Maria E." against "Mariacarmen Esoso"
                " OR ((length(last_l) = 1 OR length(last_r) = 1)"
                " AND left(last_l, 1) = left(last_r, 1)"
                f" AND ({_close('first_l', 'first_r')} OR {MAYBE_NICKNAME}))",
                "one name agrees, the other missing or an initial",
            ),
            # One record has only part of the name ("Abigail" against "Abigail Wakewick",
            # "Montet" against "Guillaume Montet", "Albasuarez" against "Alba Suarez"):
            # the parts present agree, up to typos, in either field.
            _level(
                f"({PARTIAL_NAME}) AND ({_close('first_l', 'first_r')}"
                f" OR {_close('last_l', 'last_r')}"
                " OR first_l = last_r OR last_l = first_r"
                " OR (length(name_any_r) >= 4 AND starts_with(name_any_l, name_any_r))"
                " OR (length(name_any_l) >= 4 AND starts_with(name_any_r, name_any_l))"
                f" OR {MAYBE_NICKNAME})",
                "part of the name missing, the rest agrees",
            ),
            _level(
                f"jaro_winkler_similarity(last_l, last_r) >= 0.88 AND {MAYBE_NICKNAME}",
                "a nickname that may be the other first name, the last name alike",
            ),
            _level(
                f"first_l = first_r OR {MAYBE_NICKNAME}",
                "same first name, other last name (married?)",
            ),
            _level(
                "last_l = last_r",
                "same last name, other first name (household?)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            # Different first and last names: swaps, splits, nicknames and typos have levels
            # of their own, so what is left is almost never one person.
            {**_ELSE, "fix_m_probability": True},
        ],
    }
    email: dict[str, Any] = {
        "output_column_name": "email",
        "comparison_description": "email match key (role mailboxes count as missing)",
        "comparison_levels": [
            _null("email"),
            # One mailbox and first names two typos apart ("crriatina", "jsutun"): a family's
            # shared mailbox holds other names than that.
            _level(
                f"email_l = email_r AND ({FIRST_NAMES_AGREE}"
                " OR (damerau_levenshtein(first_l, first_r) <= 2"
                " AND length(first_l) >= 4 AND length(first_r) >= 4))",
                "same address",
            ),
            _level(
                "email_l = email_r",
                "same address, another first name (a shared family or team mailbox)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(
                f"email_local_l = email_local_r AND length(email_local_l) >= 5"
                f" AND NOT (email_name_l OR email_name_r) AND {FIRST_NAMES_AGREE}",
                "same mailbox name at another domain",
            ),
            _level(
                # A typo, not a shared beginning: christophertorres@ and christopherlee@
                # are as similar as two first names.
                "email_domain_l = email_domain_r AND length(email_local_l) >= 4"
                " AND damerau_levenshtein(email_local_l, email_local_r) <= 1"
                " AND (NOT (email_name_l OR email_name_r)"
                # One spells the name and the other is a typo of it (kyle.harirs176@ for
                # kyle.harris176@): namesakes pick other digits or none, not misspellings.
                " OR (NOT (email_name_l AND email_name_r)"
                " AND regexp_replace(email_local_l, '[^0-9]', '', 'g')"
                " = regexp_replace(email_local_r, '[^0-9]', '', 'g')"
                f" AND {FIRST_NAMES_AGREE}))",
                "near-miss mailbox at the same domain",
            ),
            _level(
                "email_free_l AND email_free_r",
                "two different personal addresses",
            ),
            _ELSE,
        ],
    }
    phone: dict[str, Any] = {
        "output_column_name": "phone",
        "comparison_description": "phone number, E.164",
        "comparison_levels": [
            _null("phone"),
            # A company's main line, given for colleagues: the shared company says it already.
            _level(
                f"{SAME_PHONE} AND ({SAME_COMPANY}) AND last_l <> last_r",
                "a number in common, same company, another last name (an office line)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(
                f"{SAME_PHONE} AND {FIRST_NAMES_AGREE}",
                "a number in common",
            ),
            _level(
                SAME_PHONE,
                "a number in common, another first name (a shared line: household, office)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(
                "right(phone_l, 7) = right(phone_r, 7)",
                "same last seven digits",
            ),
            _ELSE,
        ],
    }
    address: dict[str, Any] = {
        "output_column_name": "address",
        "comparison_description": "street, postcode and city",
        "comparison_levels": [
            {
                "sql_condition": "(postcode_l IS NULL OR postcode_r IS NULL)"
                " AND (city_l IS NULL OR city_r IS NULL)",
                "label_for_charts": "missing",
                "is_null_level": True,
            },
            # An office: the shared company says it already, so the address adds nothing.
            _level(
                "street_l = street_r AND (postcode_l = postcode_r OR city_l = city_r)"
                f" AND ({SAME_COMPANY})",
                "same street address, same company (an office)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(
                "street_l = street_r AND (postcode_l = postcode_r OR city_l = city_r)"
                f" AND {FIRST_NAMES_AGREE}",
                "same street address",
            ),
            _level(
                "street_l = street_r AND (postcode_l = postcode_r OR city_l = city_r)",
                "same street address, another first name (household, office)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level(
                "jaro_winkler_similarity(street_l, street_r) >= 0.88"
                " AND (postcode_l = postcode_r OR city_l = city_r)",
                "near-miss street address",
            ),
            _level("postcode_l = postcode_r", "same postcode", tf_adjustment_column="postcode"),
            # Names cluster by region (a José García lives in Spain more often than
            # chance says): for records with one name, a shared city is what strangers of
            # that name share as well, no more evidence than the name.
            _level(
                "city_l = city_r AND name_l = name_r",
                "same city, same name (names cluster by region)",
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _level("city_l = city_r", "same city", tf_adjustment_column="city"),
            _ELSE,
        ],
    }
    company: dict[str, Any] = {
        "output_column_name": "company",
        "comparison_description": "company match key or its domain",
        "comparison_levels": [
            {
                "sql_condition": "(company_l IS NULL OR company_r IS NULL)"
                " AND (company_domain_l IS NULL OR company_domain_r IS NULL)",
                "label_for_charts": "missing",
                "is_null_level": True,
            },
            # Sharing a big employer says less than sharing a small one.
            _level("company_l = company_r", "same company", tf_adjustment_column="company"),
            _level("company_domain_l = company_domain_r", "same company domain"),
            _ELSE,
        ],
    }
    birth: dict[str, Any] = {
        "output_column_name": "birth_date",
        "comparison_description": "date of birth",
        "comparison_levels": [
            _null("birth_date"),
            _level("birth_date_l = birth_date_r", "same date"),
            _level("damerau_levenshtein(birth_date_l, birth_date_r) <= 1", "one digit off"),
            _ELSE,
        ],
    }
    ident: dict[str, Any] = {
        "output_column_name": "ident",
        "comparison_description": "a personal identifier (tax, social security, customer no.)",
        "comparison_levels": [
            _null("ident"),
            _level("ident_l = ident_r", "same identifier"),
            _level("damerau_levenshtein(ident_l, ident_r) <= 1", "one character off"),
            _ELSE,
        ],
    }
    found: list[dict[str, Any]] = [name, email, phone, address, company, birth, ident]
    for comparison in found:
        # Copies: the "else" level is one shared dictionary.
        levels = [dict(level) for level in comparison["comparison_levels"]]
        comparison["comparison_levels"] = levels
        real = [level for level in levels if not level.get("is_null_level")]
        label = str(comparison["output_column_name"])
        for level, m_prior, u_prior in zip(real, PRIOR_M[label], PRIOR_U[label], strict=True):
            level["m_probability"] = m_prior
            level["u_probability"] = u_prior
    return found


# How often true matches reach each level (most specific first), before training: what a
# small workspace, too small for expectation maximisation, matches with. Training replaces
# them wherever the data supports it.
PRIOR_M: dict[str, tuple[float, ...]] = {
    "name": (0.7, 0.02, 0.11, 0.06, 0.03, 0.04, 0.01, 0.018, 0.002, 0.01),
    "email": (0.6, 0.0005, 0.05, 0.05, 0.05, 0.2495),
    "phone": (0.001, 0.7, 0.001, 0.05, 0.248),
    "address": (0.002, 0.5, 0.002, 0.1, 0.15, 0.01, 0.1, 0.136),
    "company": (0.6, 0.1, 0.3),
    "birth_date": (0.9, 0.05, 0.05),
    "ident": (0.9, 0.05, 0.05),
}
# How often two different people reach each level: used until the workspace holds enough
# records to sample non-matches (a sample of a few hundred records is full of duplicates).
PRIOR_U: dict[str, tuple[float, ...]] = {
    "name": (0.0005, 0.00005, 0.001, 0.0005, 0.002, 0.005, 0.0002, 0.01, 0.004, 0.97675),
    "email": (0.00005, 0.0005, 0.0002, 0.0005, 0.6, 0.39875),
    "phone": (0.001, 0.0001, 0.001, 0.0005, 0.9974),
    "address": (0.002, 0.0005, 0.002, 0.0005, 0.01, 0.01, 0.03, 0.945),
    "company": (0.02, 0.005, 0.975),
    "birth_date": (0.0003, 0.003, 0.9967),
    "ident": (0.00001, 0.0001, 0.99989),
}


# Candidate pairs: any one of these shared, the pair is scored.
BLOCKING_RULES: tuple[str, ...] = (
    "l.email = r.email",
    "l.phone = r.phone",
    "l.phone = r.phone2",
    "l.phone2 = r.phone",
    "l.phone2 = r.phone2",
    "l.first = r.first AND l.last = r.last",
    # Colleagues' records name the company; one person's often share nothing else.
    "l.first = r.first AND l.company = r.company",
    "l.last = r.last AND l.company = r.company",
    "l.first = r.first AND l.company_domain = r.company_domain",
    "l.last = r.last AND l.company_domain = r.company_domain",
    "l.name_any = r.name_any",
    "l.last = r.last AND l.postcode = r.postcode",
    "l.first = r.first AND l.postcode = r.postcode",
    "l.email_local = r.email_local AND length(l.email_local) >= 5",
    "l.first = r.first AND l.birth_date = r.birth_date",
    "l.last = r.last AND l.birth_date = r.birth_date",
    "l.street = r.street AND l.city = r.city",
    "l.street = r.street AND l.postcode = r.postcode",
    "l.birth_date = r.birth_date AND l.postcode = r.postcode",
    "l.birth_date = r.birth_date AND l.city = r.city",
    "l.ident = r.ident",
)

# Rules that train m, as (blocking rule, its key columns): each leaves its own comparisons
# out of the estimate, so together they must cover every comparison.
TRAINING_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("l.name = r.name", ("name",)),
    ("l.email = r.email", ("email",)),
    ("l.ident = r.ident", ("ident",)),
    ("l.postcode = r.postcode AND l.birth_date = r.birth_date", ("postcode", "birth_date")),
)
# Rules believed to find matches only, to estimate how often two random records match.
DETERMINISTIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("l.email = r.email AND l.first = r.first", ("email", "first")),
    ("l.phone = r.phone AND l.first = r.first AND l.last = r.last", ("phone", "first", "last")),
    (
        "l.first = r.first AND l.last = r.last AND l.birth_date = r.birth_date",
        ("first", "last", "birth_date"),
    ),
    (
        "l.first = r.first AND l.last = r.last AND l.postcode = r.postcode",
        ("first", "last", "postcode"),
    ),
)


def settings(
    link_type: str = "dedupe_only",
    blocking: Sequence[str] = BLOCKING_RULES,
    *,
    term_frequencies: bool = True,
) -> dict[str, Any]:
    """Return the untrained model as a Splink settings dictionary.

    Without `term_frequencies` (small workspaces, where two records of one person already
    make a name "frequent"), agreement weighs the same whatever the value.
    """
    found = comparisons()
    if not term_frequencies:
        for comparison in found:
            for level in comparison["comparison_levels"]:
                level.pop("tf_adjustment_column", None)
                level.pop("tf_adjustment_weight", None)
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "comparisons": found,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in blocking
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "max_iterations": 20,
        "em_convergence": 0.001,
    }


def exact_match_u(levels: Sequence[Mapping[str, Any]], column: str) -> float:
    """The u of the comparison's exact-match level on `column`: as in Splink, every level
    adjusted by a term frequency measures it against that level's u."""
    level = _exact_level(levels, column)
    if level is None:
        raise ValueError(f"no exact match level on {column!r} for its term frequency adjustment")
    return float(level["u_probability"])


def _exact_level(levels: Sequence[Mapping[str, Any]], column: str) -> Mapping[str, Any] | None:
    """The level of `levels` that holds an exact match on `column`, if any."""
    exact = f"{column}_l={column}_r"
    for level in levels:
        condition = str(level["sql_condition"])
        if condition.replace(" ", "") == exact:
            return level
        # the exact match as the first of its alternatives ("name_l = name_r OR the same
        # name swapped"), a level Splink is told to take as the exact one
        first = condition.split(" OR ", 1)[0]
        if level.get("disable_tf_exact_match_detection") and first.replace(" ", "") == exact:
            return level
    return None


def term_frequencies(values: pl.Series, model: Mapping[str, Any]) -> pl.DataFrame:
    """Each value's term frequency: how likely a record of *another* person shares it.

    Splink's own frequency (a value's share of the records) counts the record itself and the
    person's other records: a name held by two records of one person looks as common as a
    name two strangers share, which undersells every rare match in data with many
    duplicates. Here a value held by k of n records counts k - 1 - r others, where r is how
    many of a record's own matches the model expects to share the value (the prior times
    the exact level's m, over the n records), never less than a quarter of a record.

    Returns:
        value, tf: one row per non-null value.
    """
    present = values.drop_nulls()
    n = max(len(present), 1)
    prior = float(model.get("probability_two_random_records_match") or 0.0)
    m_exact = 0.0
    for comparison in model["comparisons"]:
        level = _exact_level(comparison["comparison_levels"], str(values.name))
        if level is not None:
            # A calibrated m can exceed one (see `calibrate`); as a share it cannot.
            m_exact = min(float(level.get("m_probability") or 0.0), 1.0)
    partners = prior * m_exact * (n - 1)
    counts = present.value_counts(name="k")
    tf = pl.max_horizontal(pl.col("k").cast(pl.Float64) - 1.0 - partners, pl.lit(0.25)) / n
    if values.name == "name":
        tf = pl.max_horizontal(tf, _parts_frequency(pl.col("name"), n))
    return counts.select(pl.col(values.name).alias("value"), tf.alias("tf"))


def _parts_frequency(name: pl.Expr, n: int) -> pl.Expr:
    """A full name's frequency as the product of its first and last name's (the share of
    records with each), over the value counts (`k`) of "first last" names.

    Counted whole, a name two records hold looks unique, however common its parts: "Maria
    Garcia" held by two strangers would weigh like "Zebulon Quixwell". The parts are counted
    over many more records, so the product says how often strangers share the name.
    """
    parts = name.str.split_exact(" ", 1)
    k = pl.col("k").cast(pl.Float64)
    first = k.sum().over(parts.struct.field("field_0"))
    last = k.sum().over(parts.struct.field("field_1"))
    return first * last / (n * n)


def without_matches_in_u(model: Mapping[str, Any]) -> dict[str, Any]:
    """Take the matches out of the u probabilities estimated from random pairs.

    Random pairs include the true matches among them (one in 1/prior), so a level that
    matches agree on and strangers rarely do (same email, same street) gets a u that is
    mostly matches, and its weight is undersold. u = (u_sampled - prior * m) / (1 - prior),
    never below a twentieth of the sampled u, and each comparison's u summing to one.
    """
    prior = float(model.get("probability_two_random_records_match") or 0.0)
    out: dict[str, Any] = json.loads(json.dumps(model))
    for comparison in out["comparisons"]:
        levels = [
            lv
            for lv in comparison["comparison_levels"]
            if not lv.get("is_null_level") and not lv.get("fix_u_probability")
        ]
        if not levels or any(lv.get("u_probability") is None for lv in levels):
            continue
        before = sum(float(lv["u_probability"]) for lv in levels)
        found = []
        for level in levels:
            u, m_ = float(level["u_probability"]), float(level.get("m_probability") or 0.0)
            found.append(max((u - prior * m_) / (1.0 - prior), u / 20.0))
        total = sum(found)
        for level, u in zip(levels, found, strict=True):
            level["u_probability"] = u * before / total
    return out


def compatible(model: Mapping[str, Any]) -> bool:
    """Whether a stored model has this version's comparisons and levels (by their labels)."""

    def shape(comparisons: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
        return [
            (
                str(c["output_column_name"]),
                [str(lv.get("label_for_charts")) for lv in c["comparison_levels"]],
            )
            for c in comparisons
        ]

    return shape(model.get("comparisons", [])) == shape(comparisons())


def quiet_splink() -> None:
    """Keep Splink's progress chatter out of the CLI's output."""
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)
