"""Field-level survivorship: one golden contact, value by value, from a cluster of records.

When matching decides that several source records describe one customer (a cluster), the
resolve stage writes one golden `Contact` and its `ContactPoint`s for them. This module decides
which record's value survives in each golden field. It is pure and set-based: it takes the
standardized records (the `contact_record` view, one row per record, with its cluster and its
source's trust) as one Polars frame and answers with frames, so the rules are testable without
a database and a million records cost seconds (sorts and window functions, no loop per
cluster or record).

Each golden field, or unit of fields, has a rule: strategies applied in order, each later one
breaking the ties the earlier ones leave.

- ``trust``: the record of the most trusted source (lowest ``trust_rank``).
- ``recent``: the most recently updated record (``updated_at``; unknown counts as oldest).
- ``complete``: the record with the most fields of the unit filled.
- ``frequent``: the value most records of the cluster agree on, compared ignoring case and
  spaces; of its spellings, a well-written one (not ALL CAPS or all lower case, no stray
  spaces) wins.
- ``valid``: a value the clean stage did not flag ``invalid`` or ``suspicious``.
- ``longest``: the longest value.

A null (or empty) value never wins over a value, and ties the rule leaves go to the lowest
``source_record_id``, so the result never depends on row order. Names (salutation to
full_name) and addresses (street to country) are units: all their fields come from one record,
so a golden city never sits beside another record's postcode. ``custom`` is merged key by key.

Every golden value is traceable: `golden_values` returns beside each field the
``source_record_id`` it came from (``<field>__from``), and every contact point keeps the
record its value came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol, get_args

import polars as pl

from rolodex.exceptions import ConfigError, InputError

__all__ = [
    "ADDRESS_FIELDS",
    "DEFAULT_RULES",
    "GOLDEN_FIELDS",
    "NAME_FIELDS",
    "STRATEGIES",
    "Strategy",
    "contact_points",
    "golden_values",
]

Strategy = Literal["trust", "recent", "complete", "frequent", "valid", "longest"]
STRATEGIES: Final[tuple[Strategy, ...]] = get_args(Strategy)

NAME_FIELDS: Final = ("salutation", "first_name", "middle_name", "last_name", "suffix", "full_name")
ADDRESS_FIELDS: Final = ("street", "street2", "city", "region", "postcode", "country")
# The fields that make an address point, in the order singletons.py renders them on one line.
_ADDRESS_LINE: Final = ("street", "postcode", "city", "country")
_EMAILS: Final = (("email", None), ("email2", None))
_PHONES: Final = (
    ("phone", None),
    ("mobile", "mobile"),
    ("work_phone", "work"),
    ("other_phone", "other"),
)
_SOCIAL: Final = (("linkedin", "linkedin"), ("twitter", "twitter"))
_SINGLE_FIELDS: Final = (
    "company_name",
    "job_title",
    "department",
    "birth_date",
    "gender",
    "language",
    "lifecycle_stage",
    "owner",
)
# The golden Contact's fields, in its column order.
GOLDEN_FIELDS: Final = (
    *NAME_FIELDS,
    "email",
    "phone",
    "company_name",
    "job_title",
    "department",
    "city",
    "region",
    "postcode",
    "country",
    "birth_date",
    "gender",
    "language",
    "lifecycle_stage",
    "owner",
    "custom",
)

DEFAULT_RULES: dict[str, tuple[Strategy, ...]] = {
    # Keys are golden fields, except "name" and "address": the units taken from one record.
    "name": ("valid", "trust", "frequent", "recent"),
    "email": ("valid", "trust", "recent"),
    "phone": ("valid", "trust", "recent"),
    "address": ("complete", "recent", "trust"),
    "company_name": ("frequent", "trust", "recent"),
    "job_title": ("recent", "trust"),
    "department": ("recent", "trust"),
    "birth_date": ("valid", "frequent", "trust"),
    "gender": ("valid", "frequent", "trust", "recent"),
    "language": ("frequent", "trust", "recent"),
    "lifecycle_stage": ("recent", "trust"),
    "owner": ("trust", "recent"),
    "custom": ("trust", "recent"),
}

_TEXT_COLUMNS: Final = (
    *NAME_FIELDS,
    *(name for name, _ in (*_EMAILS, *_PHONES, *_SOCIAL)),
    *(name for name in _SINGLE_FIELDS if name != "birth_date"),
    *ADDRESS_FIELDS,
    "custom",
    "email_key",
)
# The clean stage flags each field under its own name, and the name parts together as "name".
_FLAG_KEYS: Final = (
    "name",
    *(c for c in _TEXT_COLUMNS if c not in ("custom", "email_key")),
    "birth_date",
)
_BAD_FLAGS: Final = ("invalid", "suspicious")
_PACKED_BITS: Final = 62  # rank columns packed into one Int64 when their widths fit


_BASE: Final = ("cluster", "source_record_id", "_row", "_pos", "_trust", "_recent")


@dataclass(frozen=True, slots=True)
class _Records:
    """The prepared records, kept in input order, and the order that groups them by cluster.

    Text stays where it is: ranking reads it once, in place, into integers (flags, lengths,
    hashes), and only those move into cluster order. Values are read back only for the
    winners and points, so a million records never have their strings shuffled around.
    """

    frame: pl.DataFrame
    order: pl.Series | None  # row numbers in (cluster, id) order; None when already so


def golden_values(
    records: pl.DataFrame, rules: Mapping[str, Sequence[Strategy]] | None = None
) -> pl.DataFrame:
    """Choose each golden field's value for every cluster, with the record it came from.

    Args:
        records: standardized contact records with ``cluster`` and ``source_record_id``, and
            any of ``trust_rank``, ``updated_at``, the contact_record fields, ``flags`` and
            ``email_key`` (an absent column counts as all null).
        rules: strategies per golden field overriding `DEFAULT_RULES`; ``name`` and
            ``address`` name the units whose fields come from one record together.

    Returns:
        One row per cluster, in cluster order: ``cluster``, the `GOLDEN_FIELDS` (``email``
        the winner among email and email2, ``phone`` among phone, mobile, work_phone and
        other_phone, ``custom`` the key-by-key merge as JSON text), ``<field>__from`` for
        each (the ``source_record_id`` the value came from, null with the value; for
        ``custom`` the best-ranked record that gave a key) and ``custom__lineage``, JSON text
        naming the record behind each custom key.

    Raises:
        InputError: ``cluster`` or ``source_record_id`` is missing or null.
        ConfigError: a rule names an unknown field or strategy.

    Examples:
        >>> golden = golden_values(records, {"job_title": ("trust", "recent")})
        >>> golden.select("cluster", "email", "email__from")
    """
    chosen = _rules(rules)
    prepared = _prepare(records)
    name_rule, address_rule = chosen["name"], chosen["address"]
    names = _winners(_order(_names(prepared, name_rule), name_rule))
    addresses = _winners(_order(_addresses(prepared, address_rule), address_rule))
    parts = [
        _read(prepared, names, NAME_FIELDS).select("cluster", *_unit_columns(NAME_FIELDS)),
        _read(prepared, addresses, ADDRESS_FIELDS[2:]).select(
            "cluster", *_unit_columns(ADDRESS_FIELDS[2:])
        ),
    ]
    for name, columns, build in (
        ("email", _EMAILS, _emails),
        ("phone", _PHONES, _phones),
        *((name, ((name, None),), _single(name)) for name in _SINGLE_FIELDS),
    ):
        rule = chosen[name]
        winners = _winners(_order(build(prepared, rule), rule))
        parts.append(
            _read(prepared, winners, [column for column, _ in columns]).select(
                "cluster",
                _slot_value(columns).alias(name),
                pl.col("source_record_id").alias(f"{name}__from"),
            )
        )
    parts.append(_custom(prepared, chosen["custom"]))
    golden = prepared.frame.select(pl.col("cluster").unique().sort())
    for part in parts:
        golden = golden.join(part, on="cluster", how="left", maintain_order="left")
    lineage = [f"{name}__from" for name in GOLDEN_FIELDS]
    return golden.select("cluster", *GOLDEN_FIELDS, *lineage, "custom__lineage")


def contact_points(
    records: pl.DataFrame,
    primary_rule: Sequence[Strategy] = ("valid", "trust", "recent"),
    *,
    rules: Mapping[str, Sequence[Strategy]] | None = None,
) -> pl.DataFrame:
    """List every distinct email, phone, address and social handle of each cluster.

    Emails are the same when their ``email_key`` is (so Gmail's dot variants are one point; an
    email2 borrows the key of an equal email in the cluster), else when equal ignoring case;
    phones when equal but for spaces and punctuation; addresses when their one-line rendering
    is equal ignoring case; handles when equal ignoring case. Each point shows the value and
    record of the duplicate its rule ranks first.

    Args:
        records: as for `golden_values`.
        primary_rule: picks the primary social handle, which has no golden field.
        rules: as for `golden_values`. The primary email, phone and address are chosen by the
            rules for ``email``, ``phone`` and ``address``, so they are always the golden
            contact's values.

    Returns:
        Columns cluster, kind (email, phone, address, social), label (mobile or work for
        phones, linkedin or twitter for handles), value, is_primary (exactly one per cluster
        and kind), street, street2, city, region, postcode, country (addresses only) and
        source_record_id. Kinds come in that order, each in cluster order, primary first.

    Raises:
        InputError: ``cluster`` or ``source_record_id`` is missing or null.
        ConfigError: a rule names an unknown field or strategy.
    """
    chosen = _rules(rules)
    social_rule = _checked("primary_rule", primary_rule)
    prepared = _prepare(records)
    kinds: tuple[tuple[str, Sequence[tuple[str, str | None]], _Build, Sequence[Strategy]], ...] = (
        ("email", _EMAILS, _emails, chosen["email"]),
        ("phone", _PHONES, _phones, chosen["phone"]),
        ("address", (), _addresses, chosen["address"]),
        ("social", _SOCIAL, _social, social_rule),
    )
    points = []
    for kind, columns, build, rule in kinds:
        distinct = _distinct(_order(build(prepared, rule, keyed=True), rule))
        if kind == "address":
            read = _read(prepared, distinct, ADDRESS_FIELDS).with_columns(
                pl.lit(None, pl.String).alias("label"), _ADDRESS_TEXT.alias("value")
            )
        else:
            read = _read(prepared, distinct, [column for column, _ in columns]).with_columns(
                _slot_value([(label, None) for _, label in columns], literal=True).alias("label"),
                _slot_value(columns).alias("value"),
                *(pl.lit(None, pl.String).alias(name) for name in ADDRESS_FIELDS),
            )
        points.append(
            read.select(
                "cluster",
                pl.lit(kind).alias("kind"),
                "label",
                "value",
                "is_primary",
                *ADDRESS_FIELDS,
                "source_record_id",
            )
        )
    return pl.concat(points)


def _rules(rules: Mapping[str, Sequence[Strategy]] | None) -> dict[str, tuple[Strategy, ...]]:
    """Overlay `rules` on the defaults, rejecting names that would be silently ignored."""
    chosen = dict(DEFAULT_RULES)
    for field, rule in (rules or {}).items():
        for unit, members in (("name", NAME_FIELDS), ("address", ADDRESS_FIELDS)):
            if field in members:
                raise ConfigError(f"{field!r} is chosen with its unit: give a rule for {unit!r}")
        if field not in DEFAULT_RULES:
            known = ", ".join(DEFAULT_RULES)
            raise ConfigError(f"no survivorship rule for {field!r}; rules exist for: {known}")
        chosen[field] = _checked(field, rule)
    return chosen


def _checked(field: str, rule: Sequence[Strategy]) -> tuple[Strategy, ...]:
    """Return `rule` as a tuple once every strategy in it is known."""
    if isinstance(rule, str):  # a bare "trust" would otherwise read as five strategies
        raise ConfigError(f"the rule for {field!r} must be a sequence of strategies, not {rule!r}")
    for strategy in rule:
        if strategy not in STRATEGIES:
            known = ", ".join(STRATEGIES)
            raise ConfigError(f"unknown strategy {strategy!r} for {field!r}; known: {known}")
    return tuple(rule)


def _prepare(records: pl.DataFrame) -> _Records:
    """Type every column (absent ones null) and turn trust, time and flags into small ranks."""
    for name in ("cluster", "source_record_id"):
        if name not in records.columns:
            raise InputError(f"records need a {name!r} column", column=name)
        if records.get_column(name).null_count():
            raise InputError("every record needs one", column=name)
    columns = set(records.columns)

    def present(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in columns else pl.lit(None, dtype).alias(name)

    def text(name: str) -> pl.Expr:
        value = present(name, pl.String())
        # Empty text is no value: it must not beat a real one. (The clean stage trims.)
        return pl.when(value.str.len_bytes() > 0).then(value).alias(name)

    stamped = records.schema.get("updated_at", pl.Null()).is_temporal()
    updated = pl.col("updated_at") if stamped else present("updated_at", pl.Datetime("us"))
    frame = records.select(
        pl.col("cluster").cast(pl.Int64),
        pl.col("source_record_id").cast(pl.Int64),
        # Dense ranks are small numbers that pack well; unknown trust or time ranks last.
        present("trust_rank", pl.Int64()).fill_null(2**63 - 1).rank("dense").alias("_trust"),
        (-updated.dt.epoch("us")).fill_null(2**63 - 1).rank("dense").alias("_recent"),
        *(text(name) for name in _TEXT_COLUMNS),
        present("birth_date", pl.Date()),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        present("flags", pl.String()),
    )
    frame = frame.with_columns(_flagged(frame.get_column("flags"))).drop("flags")
    grouped = frame.select(
        (pl.col("cluster").diff() > 0)
        | ((pl.col("cluster").diff() == 0) & (pl.col("source_record_id").diff() > 0))
    ).to_series()
    if grouped.fill_null(True).all():
        return _Records(frame.with_columns(pl.col("_row").alias("_pos")), None)
    order = frame.select(_pack(frame, ["cluster", "source_record_id"]).arg_sort()).to_series()
    # Where each record stands in cluster order: within a cluster, its id's rank.
    position = order.arg_sort().cast(pl.Int64).alias("_pos")
    return _Records(frame.with_columns(position), order)


def _flagged(flags: pl.Series) -> list[pl.Series]:
    """One 0/1 column per field: 1 where the clean stage flagged it invalid or suspicious.

    Most records carry no such flag, so only the JSON that mentions one is decoded.
    """
    schema = pl.Struct({key: pl.Struct({"flag": pl.String()}) for key in _FLAG_KEYS})
    doubtful = pl.select(
        pl.any_horizontal(flags.str.contains(flag, literal=True) for flag in _BAD_FLAGS)
    ).to_series()
    rows = doubtful.fill_null(False).arg_true()
    decoded = flags.gather(rows).str.json_decode(schema)
    return [
        pl.zeros(flags.len(), pl.Int8, eager=True)
        .scatter(
            rows,
            decoded.struct.field(key).struct.field("flag").is_in(_BAD_FLAGS).fill_null(False),
        )
        .alias(f"_bad_{key}")
        for key in _FLAG_KEYS
    ]


def _candidates(
    prepared: _Records, present: pl.Expr, inputs: Sequence[pl.Expr], slot: int = 0
) -> pl.DataFrame:
    """The rank inputs of the records that have a value, in cluster order."""
    candidates = (
        prepared.frame.lazy()
        .filter(present)
        .select(*_BASE, pl.lit(slot, pl.Int8).alias("_slot"), *inputs)
        .collect()
    )
    if prepared.order is not None:
        candidates = candidates.sort("_pos")
    return candidates.with_columns(pl.col("cluster").set_sorted())


def _text_ranks(
    text: pl.Expr, key: pl.Expr, rule: Sequence[Strategy], keyed: bool, *, spelled: bool = True
) -> list[pl.Expr]:
    """The rank inputs drawn from the text that `rule` needs (and the key, when `keyed`).

    Keys are 64-bit hashes of the compared form: integers group many times faster than text,
    and two different values of one cluster sharing a hash is vanishingly unlikely.
    """
    inputs = []
    if keyed or "frequent" in rule:
        inputs.append(key.alias("_key"))
    if "frequent" in rule:
        # A date has one spelling: nothing to prefer among equal ones.
        ill = _ill_written(text) if spelled else pl.lit(0, pl.Int8)
        inputs.append(ill.alias("_ill"))
    if "longest" in rule:
        inputs.append(-text.str.len_chars().cast(pl.Int64).alias("_short"))
    return inputs


def _fold(value: pl.Expr) -> pl.Expr:
    """Compare text ignoring case and spaces."""
    return value.str.to_lowercase().str.replace_all(" ", "", literal=True)


def _lower(value: pl.Expr) -> pl.Expr:
    """Compare an email, address or handle ignoring case."""
    return value.str.to_lowercase()


def _ill_written(value: pl.Expr) -> pl.Expr:
    """Score a spelling: 1 unless it mixes upper and lower case, 1 for stray spaces (0 best).

    Spellings only compete within one value (the same letters but for case and spaces), so
    text without letters, flat in every spelling, loses to none.
    """
    mixed = value.str.contains(r"\p{Lu}") & value.str.contains(r"\p{Ll}")
    stray = value.str.contains(r"^\s|\s$|\s\s")
    return (~mixed).cast(pl.Int8) + stray.cast(pl.Int8)


class _Build(Protocol):
    """Builds a kind's candidates for a rule; `keyed` asks for the dedupe key too."""

    def __call__(
        self, prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False
    ) -> pl.DataFrame: ...


def _single(name: str) -> _Build:
    """Candidates for a field of its own: every record with a value."""

    def build(prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False) -> pl.DataFrame:
        spelled = prepared.frame.schema[name] == pl.String
        value = pl.col(name).cast(pl.String)
        key = _fold(value).hash() if spelled else pl.col(name).hash()
        return _candidates(
            prepared,
            pl.col(name).is_not_null(),
            [
                pl.col(f"_bad_{name}").alias("_bad"),
                pl.lit(0, pl.Int8).alias("_missing"),
                *_text_ranks(value, key, rule, keyed, spelled=spelled),
            ],
        )

    return build


def _columns(
    prepared: _Records,
    columns: Sequence[tuple[str, str | None]],
    rule: Sequence[Strategy],
    keyed: bool,
    key: Callable[[str], pl.Expr],
) -> list[pl.DataFrame]:
    """Candidates from each of several columns (emails, phones, handles), one frame a column."""
    return [
        _candidates(
            prepared,
            pl.col(name).is_not_null(),
            [
                pl.col(f"_bad_{name}").alias("_bad"),
                pl.lit(0, pl.Int8).alias("_missing"),
                *_text_ranks(pl.col(name), key(name), rule, keyed),
            ],
            slot,
        )
        for slot, (name, _) in enumerate(columns)
    ]


def _merged(parts: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Merge candidate frames that are each in cluster order, keeping that order."""
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge_sorted(part, key="cluster")
    return merged.with_columns(pl.col("cluster").set_sorted())


def _emails(prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False) -> pl.DataFrame:
    """Email candidates keyed by ``email_key``; an email2 borrows the key of an equal email.

    Only email has a key (the clean stage writes one per record); without the borrowing, a
    Gmail address given with dots as email2 would be a second point beside its dotless email.
    """

    def key(name: str) -> pl.Expr:
        lower = _lower(pl.col(name))
        return (pl.coalesce("email_key", lower) if name == "email" else lower).hash()

    first, second = _columns(prepared, _EMAILS, rule, keyed, key)
    if "_key" in second.columns and not second.is_empty():
        # The emails whose key is not simply their lower case: the only ones worth borrowing.
        lower = _lower(pl.col("email"))
        keys = (
            prepared.frame.lazy()
            .filter(pl.col("email_key").is_not_null() & (pl.col("email_key") != lower))
            .select("cluster", lower.hash().alias("_key"), pl.col("email_key").hash().alias("_k"))
            .unique(subset=["cluster", "_key"], keep="first")
            .collect()
        )
        second = (
            second.join(keys, on=["cluster", "_key"], how="left", maintain_order="left")
            .with_columns(pl.coalesce("_k", "_key").alias("_key"))
            .drop("_k")
        )
    return _merged([first, second])


_PHONE_MARKS: Final = (" ", "-", "(", ")", ".", "/", "\u00a0")


def _phones(prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False) -> pl.DataFrame:
    """Phone candidates: the same number however it is spaced or punctuated."""

    def key(name: str) -> pl.Expr:
        marks = list(_PHONE_MARKS)
        return pl.col(name).str.replace_many(marks, [""] * len(marks)).hash()

    return _merged(_columns(prepared, _PHONES, rule, keyed, key))


def _social(prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False) -> pl.DataFrame:
    """Social handle candidates; a LinkedIn and a Twitter handle are never the same point."""
    labels = dict(_SOCIAL)

    def key(name: str) -> pl.Expr:
        return (pl.lit(f"{labels[name]}:") + _lower(pl.col(name))).hash()

    return _merged(_columns(prepared, _SOCIAL, rule, keyed, key))


def _unit(
    prepared: _Records,
    fields: Sequence[str],
    required: Sequence[str],
    flags: Sequence[str],
    ranks: Sequence[pl.Expr],
) -> pl.DataFrame:
    """Candidates for a unit: records with any of `required`, scored on all `fields` at once."""
    return _candidates(
        prepared,
        pl.any_horizontal(pl.col(name).is_not_null() for name in required),
        [
            pl.sum_horizontal(pl.col(f"_bad_{key}") for key in flags).alias("_bad"),
            pl.sum_horizontal(pl.col(name).is_null() for name in fields).alias("_missing"),
            *ranks,
        ],
    )


_NAME_PARTS: Final = ("first_name", "middle_name", "last_name")
_SPELLED: Final = pl.concat_str([pl.col(n) for n in _NAME_PARTS], separator=" ", ignore_nulls=True)
# The name as people read it: its parts, or the full name when it has none.
_NAME_TEXT: Final = (
    pl.when(_SPELLED != "").then(_SPELLED).otherwise(pl.col("full_name")).fill_null("")
)
# The address on one line, as singletons.py renders it: "street, postcode city, country".
_ADDRESS_TEXT: Final = pl.concat_str(
    pl.col("street") + ", ",
    pl.col("postcode") + " ",
    pl.col("city") + ", ",
    pl.col("country"),
    ignore_nulls=True,
).str.strip_chars_end(", ")


def _names(prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False) -> pl.DataFrame:
    """Name candidates: records with any part of a name, compared on first, middle and last."""
    flags = ["name", *NAME_FIELDS]
    ranks = _text_ranks(_NAME_TEXT, _fold(_NAME_TEXT).hash(), rule, keyed)
    return _unit(prepared, NAME_FIELDS, NAME_FIELDS, flags, ranks)


def _addresses(
    prepared: _Records, rule: Sequence[Strategy], *, keyed: bool = False
) -> pl.DataFrame:
    """Address candidates: records with a street, postcode, city or country."""
    ranks = _text_ranks(_ADDRESS_TEXT, _lower(_ADDRESS_TEXT).hash(), rule, keyed)
    return _unit(prepared, ADDRESS_FIELDS, _ADDRESS_LINE, ADDRESS_FIELDS, ranks)


def _order(
    candidates: pl.DataFrame, rule: Sequence[Strategy], *, group: Sequence[str] = ("cluster",)
) -> pl.DataFrame:
    """Rank candidates by the rule into one ``_order`` column, lowest best within `group`.

    Each strategy is an ascending rank column; the record's place in id order and the column
    the value came from break the last ties. The columns are packed into one integer when
    their widths fit, so one window minimum applies the whole rule; otherwise their joint
    sort order stands in.
    """
    ranks: list[str] = []
    for strategy in dict.fromkeys(rule):
        if strategy in ("trust", "recent"):
            ranks.append(f"_{strategy}")
        elif strategy == "valid":
            ranks.append("_bad")
        elif strategy == "complete":
            ranks.append("_missing")
        elif strategy == "longest":
            ranks.append("_short")
        else:  # frequent: the value most records share, then its best spelling
            ranks += ["_rare", "_ill"]
    if "frequent" in rule:
        rare = -pl.len().over(*group, "_key").cast(pl.Int64)
        candidates = candidates.with_columns(rare.alias("_rare"))
    ranks += ["_pos", "_slot"]
    ordered = candidates.with_columns(_pack(candidates, ranks).alias("_order"))
    return ordered.drop(name for name in ("_rare", "_ill", "_short") if name in ordered.columns)


def _pack(frame: pl.DataFrame, ranks: Sequence[str]) -> pl.Expr:
    """One Int64 ordering rows as the rank columns do, lexicographically."""
    if frame.is_empty():
        return pl.lit(0, pl.Int64)
    bounds = frame.select(
        *(pl.col(r).cast(pl.Int64).min().alias(f"{r}_lo") for r in ranks),
        *(pl.col(r).cast(pl.Int64).max().alias(f"{r}_hi") for r in ranks),
    ).row(0, named=True)
    widths = [int(bounds[f"{r}_hi"] - bounds[f"{r}_lo"]).bit_length() for r in ranks]
    if sum(widths) > _PACKED_BITS:
        return pl.arg_sort_by(list(ranks)).arg_sort().cast(pl.Int64)
    packed = pl.lit(0, pl.Int64)
    for rank, width in zip(ranks, widths, strict=True):
        packed = packed * (1 << width) + (pl.col(rank).cast(pl.Int64) - bounds[f"{rank}_lo"])
    return packed


def _winners(ordered: pl.DataFrame, group: Sequence[str] = ("cluster",)) -> pl.DataFrame:
    """Keep the best candidate of each group (one, as `_order` has no ties in a group)."""
    return ordered.filter(pl.col("_order") == pl.col("_order").min().over(*group))


def _distinct(ordered: pl.DataFrame) -> pl.DataFrame:
    """Keep the best candidate of each (cluster, key), in (cluster, rank) order.

    Sorted by key, duplicates sit side by side and the first of each run is the best; the
    best of a cluster, first once re-sorted by rank, is its primary.
    """
    first = (pl.col("cluster") != pl.col("cluster").shift()).fill_null(True)
    return (
        ordered.sort("cluster", "_key", "_order")
        .filter(first | (pl.col("_key") != pl.col("_key").shift()))
        .sort("cluster", "_order")
        .with_columns(first.alias("is_primary"))
    )


def _read(prepared: _Records, chosen: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The chosen candidates with the values of `columns` read from their records."""
    rows = chosen.get_column("_row")
    return chosen.hstack(prepared.frame.select(pl.col(name).gather(rows) for name in columns))


def _slot_value(columns: Sequence[tuple[str | None, str | None]], literal: bool = False) -> pl.Expr:
    """The value of the column each candidate came from (its ``_slot``), or that column's label."""
    return pl.coalesce(
        pl.when(pl.col("_slot") == slot).then(
            pl.lit(name, pl.String) if literal else pl.col(str(name))
        )
        for slot, (name, _) in enumerate(columns)
    )


def _unit_columns(fields: Sequence[str]) -> list[pl.Expr]:
    """A unit winner's fields, each traced to the record (none for an empty field)."""
    return [
        *(pl.col(name) for name in fields),
        *(
            pl.when(pl.col(name).is_not_null())
            .then(pl.col("source_record_id"))
            .alias(f"{name}__from")
            for name in fields
        ),
    ]


def _custom(prepared: _Records, rule: Sequence[Strategy]) -> pl.DataFrame:
    """Merge the custom JSON objects of each cluster key by key.

    Each key is a small survivorship of its own (the rule over the records that have it), so
    a trusted record's key wins while keys only a weaker record has are kept. Values are
    decoded and re-encoded by Polars, so a key whose values mix JSON types across records is
    kept as text, and a key set to null counts as absent. ``custom__from`` is the best-ranked
    record, by the rule's trust and recency, that gave a key; ``custom__lineage`` names the
    record of each key.
    """
    empty = pl.DataFrame(
        schema={
            "cluster": pl.Int64,
            "custom": pl.String,
            "custom__from": pl.Int64,
            "custom__lineage": pl.String,
        }
    )
    rows = (
        prepared.frame.lazy()
        .filter(pl.col("custom").str.starts_with("{"))
        .select(*_BASE, "custom")
        .collect()
    )
    if rows.is_empty():
        return empty
    if prepared.order is not None:
        rows = rows.sort("_pos")
    decoded = rows.get_column("custom").str.json_decode(infer_schema_length=None)
    fields = decoded.dtype.fields if isinstance(decoded.dtype, pl.Struct) else []
    kept = sorted((f.name, i) for i, f in enumerate(fields) if f.dtype != pl.Null)
    if not kept:
        return empty
    slots = [f"_k{i}" for i in range(len(fields))]
    values = decoded.struct.rename_fields(slots).struct.unnest()
    # `{"v":X}` -> `X`: each value's JSON text, whatever its type.
    encoded = [
        pl.when(pl.col(f"_k{i}").is_not_null())
        .then(pl.struct(pl.col(f"_k{i}").alias("v")).struct.json_encode().str.slice(5))
        .str.strip_suffix("}")
        .alias(str(place))  # keys numbered in name order, which is the merged object's
        for place, (_, i) in enumerate(kept)
    ]
    text = pl.col("value")
    # One number per (cluster, key), in that order, so the windows run on sorted groups.
    nth_cluster = (pl.col("cluster") != pl.col("cluster").shift()).fill_null(True).cum_sum()
    long = (
        pl.concat([rows.drop("custom"), values.select(encoded)], how="horizontal")
        .with_columns(nth_cluster.cast(pl.Int64).alias("_group") * len(kept))
        .unpivot(index=[*_BASE, "_group"], variable_name="_field", value_name="value")
        .filter(pl.col("value").is_not_null())
        .with_columns(
            pl.col("_field").cast(pl.Int32),
            pl.col("_group") + pl.col("_field").cast(pl.Int64),
            pl.lit(0, pl.Int8).alias("_slot"),
            pl.lit(0, pl.Int8).alias("_bad"),
            pl.lit(0, pl.Int8).alias("_missing"),
            *_text_ranks(text, _fold(text).hash(), rule, keyed=False),
        )
        .sort("_group", maintain_order=True)
        .with_columns(pl.col("_group").set_sorted())
    )
    winners = _winners(_order(long, rule, group=("_group",)), ("_group",))
    by_record = [f"_{s}" for s in dict.fromkeys(rule) if s in ("trust", "recent")]
    prefix = pl.col("_field").replace_strict(
        {place: json.dumps(name) + ":" for place, (name, _) in enumerate(kept)},
        return_dtype=pl.String,
    )
    return (
        winners.with_columns(
            prefix.alias("_prefix"), _pack(winners, [*by_record, "_pos"]).alias("_credit")
        )
        .with_columns(pl.col("cluster").set_sorted())
        .group_by("cluster", maintain_order=True)
        .agg(
            ("{" + (pl.col("_prefix") + pl.col("value")).str.join(",") + "}").alias("custom"),
            pl.col("source_record_id").get(pl.col("_credit").arg_min()).alias("custom__from"),
            (
                "{"
                + (pl.col("_prefix") + pl.col("source_record_id").cast(pl.String)).str.join(",")
                + "}"
            ).alias("custom__lineage"),
        )
    )
