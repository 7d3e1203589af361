"""Score one incoming record against the store, in milliseconds, with the trained model.

Batch resolve scores pairs in DuckDB through Splink; one record at a time (an API create, a
web form) cannot pay for that. This module evaluates the same comparison levels in Python,
with the same parameters and the same term frequencies (kept by the last full resolve in
`match_tf`), so a pair gets the same probability either way (the tests compare them). The
candidate records come from indexed lookups on the standardized view, and a record is judged
against every record of a candidate contact, as clustering judges a record joining a cluster.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from sqlalchemy import Connection, text

from rolodex.resolve.model import FEATURES, exact_match_u
from rolodex.store.sealed import Sealer, sealer_of

Row = Mapping[str, Any]
Predicate = Callable[[Row, Row], bool]
# Columns whose agreement is adjusted by how common the value is (Splink's term frequencies).
TF_COLUMNS = ("name", "postcode", "city", "company")


def _jw(a: Any, b: Any) -> float:
    return float(JaroWinkler.similarity(a, b)) if a is not None and b is not None else 0.0


_DIGITS = re.compile("[^0-9]")


def _eq(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a == b


def _maybe_nickname(a: Row, b: Row) -> bool:
    """Python twin of `model.MAYBE_NICKNAME` (false when a first name is missing)."""
    fa, fb = a["first"], b["first"]
    if fa is None or fb is None:
        return False
    ma, mb = a["first_maybe"], b["first_maybe"]
    return (ma is not None and f"|{fb}|" in ma) or (mb is not None and f"|{fa}|" in mb)


def _close(x: Any, y: Any) -> bool:
    """Python twin of `model._close` (false when either is missing, as SQL's null is)."""
    if x is None or y is None:
        return False
    return (
        x == y
        or _jw(x, y) >= 0.88
        or (len(x) >= 3 and y.startswith(x))
        or (len(y) >= 3 and x.startswith(y))
    )


def _swapped(a: Row, b: Row) -> bool:
    """Python twin of `model.SWAPPED`."""
    return (_eq(a["first"], b["last"]) and _close(a["last"], b["first"])) or (
        _eq(a["last"], b["first"]) and _close(a["first"], b["last"])
    )


def _last_initial(a: Row, b: Row) -> bool:
    """The model's "close first name, last name an initial" half of its initial level."""
    la, lb = a["last"], b["last"]
    if la is None or lb is None or not (len(la) == 1 or len(lb) == 1) or la[0] != lb[0]:
        return False
    return _close(a["first"], b["first"]) or _maybe_nickname(a, b)


def _surname_start(first: Any, last: Any) -> bool:
    return first is not None and last is not None and len(first) >= 4 and last.startswith(first)


def _first_names_agree(a: Row, b: Row) -> bool:
    """Python twin of `model.FIRST_NAMES_AGREE`."""
    fa, fb = a["first"], b["first"]
    if fa is None or fb is None:
        return True
    return (
        _jw(fa, fb) >= 0.88
        or (DamerauLevenshtein.distance(fa, fb) <= 1 and (len(fa) >= 3 or len(fb) >= 3))
        or (len(fa) >= 3 and fb.startswith(fa))
        or (len(fb) >= 3 and fa.startswith(fb))
        or _eq(fa, b["last"])
        or _eq(fb, a["last"])
        or ((len(fa) == 1 or len(fb) == 1) and _eq(a["initial"], b["initial"]))
        or _surname_start(fa, b["last"])
        or _surname_start(fb, a["last"])
        or _maybe_nickname(a, b)
    )


def _two_typos_apart(x: str | None, y: str | None) -> bool:
    """Two first names of four letters or more at most two edits apart (false if missing)."""
    if x is None or y is None or len(x) < 4 or len(y) < 4:
        return False
    return DamerauLevenshtein.distance(x, y) <= 2


def _missing(*columns: str) -> Predicate:
    return lambda a, b: any(a[c] is None or b[c] is None for c in columns)


def _name_missing(a: Row, b: Row) -> bool:
    return (a["first"] is None or b["first"] is None) and (a["last"] is None or b["last"] is None)


def _same_phone(a: Row, b: Row) -> bool:
    """Python twin of `model.SAME_PHONE`."""
    return any(_eq(a[x], b[y]) for x in ("phone", "phone2") for y in ("phone", "phone2"))


def _same_company(a: Row, b: Row) -> bool:
    return _eq(a["company"], b["company"]) or _eq(a["company_domain"], b["company_domain"])


def _partial_name(a: Row, b: Row) -> bool:
    """Python twin of the model's "part of the name missing, the rest agrees" level."""
    if all(r[c] is not None for r in (a, b) for c in ("first", "last")):
        return False
    na, nb = a["name_any"], b["name_any"]
    return (
        _close(a["first"], b["first"])
        or _close(a["last"], b["last"])
        or _eq(a["first"], b["last"])
        or _eq(a["last"], b["first"])
        or (na is not None and nb is not None and len(nb) >= 4 and na.startswith(nb))
        or (na is not None and nb is not None and len(na) >= 4 and nb.startswith(na))
        or _maybe_nickname(a, b)
    )


def _same_place(a: Row, b: Row) -> bool:
    return _eq(a["postcode"], b["postcode"]) or _eq(a["city"], b["city"])


# Per comparison: its null test, then one predicate per level, most specific first, in the
# order of `model.comparisons()` (the "else" level is what is left).
LEVELS: dict[str, tuple[Predicate, tuple[Predicate, ...]]] = {
    "name": (
        _name_missing,
        (
            lambda a, b: (
                _eq(a["name"], b["name"])
                or (_eq(a["first"], b["last"]) and _eq(a["last"], b["first"]))
                or (
                    _eq(a["name_any"], b["name_any"])
                    and not (a["first"] == b["first"] and a["last"] == b["last"])
                )
            ),
            _swapped,
            lambda a, b: (
                (_eq(a["first"], b["first"]) and _jw(a["last"], b["last"]) >= 0.9)
                or (_eq(a["last"], b["last"]) and _jw(a["first"], b["first"]) >= 0.9)
            ),
            lambda a, b: _jw(a["first"], b["first"]) >= 0.88 and _jw(a["last"], b["last"]) >= 0.88,
            lambda a, b: (
                (
                    _eq(a["last"], b["last"])
                    and (
                        a["first"] is None
                        or b["first"] is None
                        or (
                            (len(a["first"]) == 1 or len(b["first"]) == 1)
                            and _eq(a["initial"], b["initial"])
                        )
                    )
                )
                or _last_initial(a, b)
            ),
            _partial_name,
            lambda a, b: _jw(a["last"], b["last"]) >= 0.88 and _maybe_nickname(a, b),
            lambda a, b: _eq(a["first"], b["first"]) or _maybe_nickname(a, b),
            lambda a, b: _eq(a["last"], b["last"]),
        ),
    ),
    "email": (
        _missing("email"),
        (
            lambda a, b: (
                _eq(a["email"], b["email"])
                and (_first_names_agree(a, b) or _two_typos_apart(a["first"], b["first"]))
            ),
            lambda a, b: _eq(a["email"], b["email"]),
            lambda a, b: (
                _eq(a["email_local"], b["email_local"])
                and len(a["email_local"]) >= 5
                and not (a["email_name"] or b["email_name"])
                and _first_names_agree(a, b)
            ),
            lambda a, b: (
                _eq(a["email_domain"], b["email_domain"])
                and a["email_local"] is not None
                and b["email_local"] is not None
                and len(a["email_local"]) >= 4
                and DamerauLevenshtein.distance(a["email_local"], b["email_local"]) <= 1
                and (
                    not (a["email_name"] or b["email_name"])
                    or (
                        not (a["email_name"] and b["email_name"])
                        and _DIGITS.sub("", a["email_local"]) == _DIGITS.sub("", b["email_local"])
                        and _first_names_agree(a, b)
                    )
                )
            ),
            lambda a, b: bool(a["email_free"]) and bool(b["email_free"]),
        ),
    ),
    "phone": (
        _missing("phone"),
        (
            lambda a, b: (
                _same_phone(a, b)
                and _same_company(a, b)
                and a["last"] is not None
                and b["last"] is not None
                and a["last"] != b["last"]
            ),
            lambda a, b: _same_phone(a, b) and _first_names_agree(a, b),
            _same_phone,
            lambda a, b: a["phone"][-7:] == b["phone"][-7:],
        ),
    ),
    "address": (
        lambda a, b: (
            (a["postcode"] is None or b["postcode"] is None)
            and (a["city"] is None or b["city"] is None)
        ),
        (
            lambda a, b: (
                _eq(a["street"], b["street"]) and _same_place(a, b) and _same_company(a, b)
            ),
            lambda a, b: (
                _eq(a["street"], b["street"]) and _same_place(a, b) and _first_names_agree(a, b)
            ),
            lambda a, b: _eq(a["street"], b["street"]) and _same_place(a, b),
            lambda a, b: _jw(a["street"], b["street"]) >= 0.88 and _same_place(a, b),
            lambda a, b: _eq(a["postcode"], b["postcode"]),
            lambda a, b: _eq(a["city"], b["city"]) and _eq(a["name"], b["name"]),
            lambda a, b: _eq(a["city"], b["city"]),
        ),
    ),
    "company": (
        lambda a, b: (
            (a["company"] is None or b["company"] is None)
            and (a["company_domain"] is None or b["company_domain"] is None)
        ),
        (
            lambda a, b: _eq(a["company"], b["company"]),
            lambda a, b: _eq(a["company_domain"], b["company_domain"]),
        ),
    ),
    "birth_date": (
        _missing("birth_date"),
        (
            lambda a, b: _eq(a["birth_date"], b["birth_date"]),
            lambda a, b: DamerauLevenshtein.distance(a["birth_date"], b["birth_date"]) <= 1,
        ),
    ),
    "ident": (
        _missing("ident"),
        (
            lambda a, b: _eq(a["ident"], b["ident"]),
            lambda a, b: DamerauLevenshtein.distance(a["ident"], b["ident"]) <= 1,
        ),
    ),
}


class _Level:
    def __init__(self, level: Mapping[str, Any], levels: Sequence[Mapping[str, Any]]) -> None:
        self.m = float(level.get("m_probability") or 0.0)
        self.u = float(level.get("u_probability") or 0.0)
        self.tf_column: str | None = level.get("tf_adjustment_column")
        self.tf_weight = float(level.get("tf_adjustment_weight", 1.0))
        # Term frequencies are measured against the exact-match level's u, as in Splink.
        self.tf_u = exact_match_u(levels, self.tf_column) if self.tf_column else self.u
        self.weight = math.log2(self.m / self.u) if self.m > 0 and self.u > 0 else 0.0


class Scorer:
    """The trained model's comparisons evaluated in Python."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        prior = float(model["probability_two_random_records_match"])
        self.prior_weight = math.log2(prior / (1.0 - prior))
        self.comparisons: list[tuple[str, list[_Level]]] = []
        for comparison in model["comparisons"]:
            name = str(comparison["output_column_name"])
            every = comparison["comparison_levels"]
            levels = [_Level(lvl, every) for lvl in every if not lvl.get("is_null_level")]
            if len(levels) != len(LEVELS[name][1]) + 1:
                raise ValueError(
                    f"stored model's {name!r} levels differ from this version's:"
                    " run `rolodex resolve --retrain`"
                )
            self.comparisons.append((name, levels))

    def levels(self, left: Row, right: Row) -> dict[str, int | None]:
        """Return the level each comparison reaches for a pair of feature rows: its index
        among the comparison's non-null levels, None where a value is missing."""
        out: dict[str, int | None] = {}
        for name, levels in self.comparisons:
            missing, tests = LEVELS[name]
            if missing(left, right):
                out[name] = None
                continue
            out[name] = len(levels) - 1
            for i, test in enumerate(tests):
                if test(left, right):
                    out[name] = i
                    break
        return out

    def weights(
        self, left: Row, right: Row, tf: Callable[[str, Any], float | None]
    ) -> dict[str, float]:
        """Return each comparison's match weight for a pair of feature rows."""
        out: dict[str, float] = {}
        reached = self.levels(left, right)
        for name, levels in self.comparisons:
            index = reached[name]
            if index is None:
                out[name] = 0.0
                continue
            chosen = levels[index]
            weight = chosen.weight
            if chosen.tf_column is not None and chosen is not levels[-1]:
                values = [tf(chosen.tf_column, side[chosen.tf_column]) for side in (left, right)]
                known = [v for v in values if v is not None]
                if known and chosen.u > 0:
                    weight += chosen.tf_weight * (math.log2(chosen.tf_u) - math.log2(max(known)))
            out[name] = weight
        return out

    def probability(self, weights: Mapping[str, float]) -> float:
        """Turn comparison weights into a match probability (prior included)."""
        total = self.prior_weight + sum(weights.values())
        if total > 60:
            return 1.0
        odds = math.pow(2.0, total)
        return odds / (1.0 + odds)

    def score_frame(
        self,
        rows: Mapping[int, Row],
        pairs: Sequence[tuple[int, int]],
        tf: Mapping[tuple[str, Any], float],
    ) -> pl.DataFrame:
        """Score pairs of the feature `rows` (by record id) into the frame `Matcher.score`
        gives: left < right, probability, weight and one `w_*` column per comparison."""
        names = [name for name, _ in self.comparisons]
        data: dict[str, list[Any]] = {
            k: [] for k in ("left", "right", "probability", "weight", *(f"w_{n}" for n in names))
        }
        lookup = tf.get
        for a, b in pairs:
            left, right = min(a, b), max(a, b)
            weights = self.weights(rows[left], rows[right], lambda c, v: lookup((c, v)))
            data["left"].append(left)
            data["right"].append(right)
            data["probability"].append(self.probability(weights))
            data["weight"].append(self.prior_weight + sum(weights.values()))
            for name in names:
                data[f"w_{name}"].append(weights[name])
        schema = {k: pl.Int64 if k in ("left", "right") else pl.Float64 for k in data}
        return pl.DataFrame(data, schema=schema)


def stored_term_frequencies(conn: Connection, rows: Sequence[Row]) -> dict[tuple[str, Any], float]:
    """Fetch the term frequencies the last full resolve kept for the values these rows hold."""
    out: dict[tuple[str, Any], float] = {}
    sealer = sealer_of(conn)
    for column in TF_COLUMNS:
        # The stored form of each value (a blind index for encrypted names) -> the value.
        of_stored = {sealer.tf_value(column, v): v for v in {row[column] for row in rows} if v}
        values = sorted(of_stored)
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            params = {f"v{i}": v for i, v in enumerate(part)}
            marks = ", ".join(f":v{i}" for i in range(len(part)))
            for value, tf in conn.execute(
                text(f'SELECT value, tf FROM match_tf WHERE "column" = :c AND value IN ({marks})'),
                {"c": column, **params},
            ):
                out[(column, of_stored[value])] = float(tf)
    return out


def feature_rows(frame: Any) -> list[dict[str, Any]]:
    """Return `model.features` rows as dictionaries with every feature column."""
    rows: list[dict[str, Any]] = frame.select(list(FEATURES)).to_dicts()
    return rows


def lookup_sql(row: Row, sealer: Sealer) -> list[tuple[str, dict[str, Any]]]:
    """Return the indexed lookups (SQL with named parameters) that find candidate records
    for one feature row.

    Email and phone keys are sealed in the store (names when configured): they are looked up
    by their blind indexes, computed with the workspace's `sealer`.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    select = "SELECT source_record_id FROM contact_record WHERE "
    if row["email"] is not None:
        key = sealer.index_one("email_key", row["email"])
        out.append((select + "email_key_index = :a", {"a": key}))
    for phone in (row["phone"], row["phone2"]):
        if phone is not None:
            out.append((select + "phone_index = :a", {"a": sealer.phone_index(phone)}))
    if row["first"] is not None and row["last"] is not None:
        for last, first in ((row["last"], row["first"]), (row["first"], row["last"])):  # swapped
            condition, params = sealer.name_lookup(last, first)
            out.append((select + condition, params))
    return out
