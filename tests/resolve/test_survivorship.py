"""Survivorship: which record's value each golden field keeps, traced back to its record."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from rolodex.exceptions import ConfigError, InputError
from rolodex.resolve import survivorship
from rolodex.resolve.survivorship import (
    DEFAULT_RULES,
    GOLDEN_FIELDS,
    Strategy,
    contact_points,
    golden_values,
)

JAN, FEB, MAR = (datetime(2024, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def record(
    source_record_id: int,
    *,
    cluster: int = 1,
    trust_rank: int | None = 1,
    updated_at: datetime | None = None,
    flags: Mapping[str, str] | None = None,
    **fields: object,
) -> dict[str, object]:
    """One standardized record; `flags` maps a field to its clean-stage flag."""
    encoded = (
        json.dumps({k: {"flag": v, "notes": ["x"]} for k, v in flags.items()}) if flags else None
    )
    return {
        "cluster": cluster,
        "source_record_id": source_record_id,
        "trust_rank": trust_rank,
        "updated_at": updated_at,
        "flags": encoded,
        **fields,
    }


def records(*rows: dict[str, object]) -> pl.DataFrame:
    """Records as the resolve stage hands them over; a field no row names is absent."""
    return pl.DataFrame(list(rows), infer_schema_length=None)


def golden(
    *rows: dict[str, object], rules: Mapping[str, Sequence[Strategy]] | None = None
) -> dict[str, Any]:
    """The golden row of a one-cluster input."""
    result = golden_values(records(*rows), rules)
    assert result.height == 1
    return result.row(0, named=True)


def points(*rows: dict[str, object]) -> list[tuple[Any, ...]]:
    """(kind, label, value, is_primary, source_record_id) of every contact point."""
    return (
        contact_points(records(*rows))
        .select("kind", "label", "value", "is_primary", "source_record_id")
        .rows()
    )


# --- each strategy alone -----------------------------------------------------------------


def test_trust_keeps_the_value_of_the_most_trusted_source() -> None:
    row = golden(
        record(1, trust_rank=3, job_title="Intern"),
        record(2, trust_rank=1, job_title="CEO"),
        record(3, trust_rank=2, job_title="CTO"),
        rules={"job_title": ("trust",)},
    )
    assert (row["job_title"], row["job_title__from"]) == ("CEO", 2)


def test_recent_keeps_the_latest_value_and_an_unknown_time_counts_as_oldest() -> None:
    row = golden(
        record(1, updated_at=None, job_title="Unknown age"),
        record(2, updated_at=FEB, job_title="Manager"),
        record(3, updated_at=JAN, job_title="Clerk"),
        rules={"job_title": ("recent",)},
    )
    assert (row["job_title"], row["job_title__from"]) == ("Manager", 2)


def test_complete_prefers_the_address_with_more_fields_over_a_newer_one() -> None:
    row = golden(
        record(1, updated_at=MAR, city="Berlin"),
        record(
            2,
            updated_at=JAN,
            street="1 Rue Oberkampf",
            postcode="75011",
            city="Paris",
            country="FR",
        ),
    )
    assert (row["city"], row["postcode"], row["country"]) == ("Paris", "75011", "FR")
    assert (row["city__from"], row["postcode__from"], row["country__from"]) == (2, 2, 2)


def test_frequent_keeps_the_value_most_records_agree_on() -> None:
    row = golden(
        record(1, trust_rank=1, company_name="Globex"),
        record(2, trust_rank=2, company_name="Acme"),
        record(3, trust_rank=3, company_name="Acme"),
    )
    assert (row["company_name"], row["company_name__from"]) == ("Acme", 2)


def test_frequent_compares_case_and_spaces_and_keeps_the_best_spelling() -> None:
    row = golden(
        record(1, trust_rank=1, company_name="ACME CORP"),
        record(2, trust_rank=1, company_name="Globex"),
        record(3, trust_rank=1, company_name="Globex"),
        record(4, trust_rank=2, company_name="acme corp"),
        record(5, trust_rank=3, company_name="Acme  Corp"),
        record(6, trust_rank=4, company_name="Acme Corp"),
    )
    # Four spellings of one company outvote Globex; the properly written one wins,
    # though its source is the least trusted.
    assert (row["company_name"], row["company_name__from"]) == ("Acme Corp", 6)


def test_valid_drops_a_flagged_email_for_a_valid_one_from_a_less_trusted_source() -> None:
    row = golden(
        record(1, trust_rank=1, email="jane@@acme.de", flags={"email": "invalid"}),
        record(2, trust_rank=2, email="jane@mailinator.com", flags={"email": "suspicious"}),
        record(3, trust_rank=3, email="jane@acme.de", flags={"email": "corrected"}),
    )
    assert (row["email"], row["email__from"]) == ("jane@acme.de", 3)


def test_longest_keeps_the_longest_value() -> None:
    row = golden(
        record(1, job_title="CEO"),
        record(2, job_title="Chief Executive Officer"),
        record(3, job_title="Chief"),
        rules={"job_title": ("longest",)},
    )
    assert (row["job_title"], row["job_title__from"]) == ("Chief Executive Officer", 2)


# --- combinations, ties and nulls --------------------------------------------------------


def test_a_later_strategy_only_breaks_the_ties_of_an_earlier_one() -> None:
    row = golden(
        record(1, trust_rank=1, updated_at=JAN, job_title="Clerk"),
        record(2, trust_rank=1, updated_at=FEB, job_title="Manager"),
        record(3, trust_rank=2, updated_at=MAR, job_title="Director"),
        rules={"job_title": ("trust", "recent")},
    )
    assert (row["job_title"], row["job_title__from"]) == ("Manager", 2)


def test_the_order_of_strategies_matters() -> None:
    rows = (
        record(1, trust_rank=1, updated_at=JAN, job_title="Clerk"),
        record(2, trust_rank=2, updated_at=FEB, job_title="Manager"),
    )
    assert golden(*rows, rules={"job_title": ("trust", "recent")})["job_title"] == "Clerk"
    assert golden(*rows, rules={"job_title": ("recent", "trust")})["job_title"] == "Manager"


def test_ties_left_by_the_rule_go_to_the_lowest_source_record_id_whatever_the_row_order() -> None:
    rows = [record(i, trust_rank=1, job_title=f"Title {i}") for i in (7, 3, 9, 5)]
    for order in (rows, rows[::-1]):
        row = golden(*order, rules={"job_title": ("trust", "recent")})
        assert (row["job_title"], row["job_title__from"]) == ("Title 3", 3)


def test_a_null_or_empty_value_never_wins_over_a_value() -> None:
    row = golden(
        record(1, trust_rank=1, updated_at=MAR, job_title=None, department=""),
        record(2, trust_rank=2, updated_at=JAN, job_title="Clerk", department="Sales"),
        rules={"job_title": ("trust",), "department": ("longest",)},
    )
    assert (row["job_title"], row["job_title__from"]) == ("Clerk", 2)
    assert (row["department"], row["department__from"]) == ("Sales", 2)


def test_a_field_no_record_has_stays_null_without_lineage() -> None:
    row = golden(record(1, job_title="Clerk"), record(2, job_title=None))
    assert (row["owner"], row["owner__from"]) == (None, None)


def test_unknown_trust_ranks_after_every_known_one() -> None:
    row = golden(
        record(1, trust_rank=None, owner="nobody"),
        record(2, trust_rank=9, owner="ana"),
    )
    assert (row["owner"], row["owner__from"]) == ("ana", 2)


def test_birth_date_keeps_the_valid_date_most_records_give() -> None:
    row = golden(
        record(1, trust_rank=1, birth_date=date(1900, 1, 1), flags={"birth_date": "suspicious"}),
        record(2, trust_rank=3, birth_date=date(1980, 5, 17)),
        record(3, trust_rank=4, birth_date=date(1980, 5, 17)),
        record(4, trust_rank=2, birth_date=date(1981, 5, 17)),
    )
    assert (row["birth_date"], row["birth_date__from"]) == (date(1980, 5, 17), 2)


# --- units: names and addresses ----------------------------------------------------------


def test_the_name_comes_whole_from_one_record() -> None:
    row = golden(
        record(1, trust_rank=1, first_name="Jane", last_name="Smith"),
        record(
            2, trust_rank=2, salutation="Dr.", first_name="Janet", middle_name="Q", last_name="Doe"
        ),
    )
    name = [row[f] for f in ("salutation", "first_name", "middle_name", "last_name")]
    assert name == [None, "Jane", None, "Smith"]  # not Dr. Jane Q Smith
    assert (row["first_name__from"], row["last_name__from"], row["middle_name__from"]) == (
        1,
        1,
        None,
    )


def test_a_name_of_only_a_salutation_is_still_kept() -> None:
    row = golden(record(1, salutation="Dr."), record(2, job_title="CTO"))
    assert (row["salutation"], row["salutation__from"], row["first_name__from"]) == ("Dr.", 1, None)


def test_a_name_flagged_suspicious_loses_to_a_valid_one() -> None:
    row = golden(
        record(1, trust_rank=1, first_name="Test", last_name="Test", flags={"name": "suspicious"}),
        record(2, trust_rank=2, first_name="Jane", last_name="Doe"),
    )
    assert (row["first_name"], row["last_name"], row["last_name__from"]) == ("Jane", "Doe", 2)


def test_the_name_most_records_agree_on_breaks_a_trust_tie() -> None:
    row = golden(
        record(1, trust_rank=1, updated_at=MAR, first_name="Jon", last_name="Doe"),
        record(2, trust_rank=1, updated_at=JAN, first_name="JOHN", last_name="DOE"),
        record(3, trust_rank=1, updated_at=JAN, first_name="John", last_name="Doe"),
    )
    assert (row["first_name"], row["last_name"], row["first_name__from"]) == ("John", "Doe", 3)


def test_the_city_is_never_mixed_in_from_another_address() -> None:
    row = golden(
        record(1, updated_at=JAN, street="Hauptstr. 1", postcode="10115", city=None, country="DE"),
        record(2, updated_at=FEB, city="Munich", region="BY"),
    )
    assert [row[f] for f in ("city", "region", "postcode", "country")] == [
        None,
        None,
        "10115",
        "DE",
    ]
    assert [row[f"{f}__from"] for f in ("city", "region", "postcode", "country")] == [
        None,
        None,
        1,
        1,
    ]


# --- custom fields -----------------------------------------------------------------------


def test_custom_objects_merge_key_by_key_the_more_trusted_record_winning() -> None:
    row = golden(
        record(1, trust_rank=2, custom='{"tier": "silver", "region": "EU", "vip": null}'),
        record(2, trust_rank=1, custom='{"tier": "gold", "score": 3}'),
        record(3, trust_rank=3, custom=None),
    )
    assert json.loads(row["custom"]) == {"region": "EU", "score": 3, "tier": "gold"}
    assert row["custom"] == '{"region":"EU","score":3,"tier":"gold"}'
    assert json.loads(row["custom__lineage"]) == {"region": 1, "score": 2, "tier": 2}
    assert row["custom__from"] == 2


def test_custom_keys_of_equally_trusted_records_go_to_the_more_recent() -> None:
    row = golden(
        record(1, updated_at=FEB, custom='{"tier": "gold", "tags": ["a", "b"]}'),
        record(2, updated_at=JAN, custom='{"tier": "bronze", "since": "2020-01-01"}'),
    )
    assert json.loads(row["custom"]) == {"since": "2020-01-01", "tags": ["a", "b"], "tier": "gold"}
    assert json.loads(row["custom__lineage"]) == {"since": 2, "tags": 1, "tier": 1}


# --- lineage, whole records, odd inputs -------------------------------------------------


def test_every_value_points_at_the_record_it_came_from() -> None:
    row = golden(
        record(
            10, trust_rank=1, updated_at=JAN, first_name="Ada", last_name="King", job_title="CTO"
        ),
        record(11, trust_rank=2, updated_at=MAR, email="ada@x.org", city="London", country="GB"),
        record(12, trust_rank=3, updated_at=FEB, mobile="+447700900123", language="en"),
    )
    lineage = {f: row[f"{f}__from"] for f in GOLDEN_FIELDS if row[f] is not None}
    assert lineage == {
        "first_name": 10,
        "last_name": 10,
        "job_title": 10,
        "email": 11,
        "city": 11,
        "country": 11,
        "phone": 12,
        "language": 12,
    }


def test_the_golden_email_and_phone_may_come_from_any_of_their_columns() -> None:
    row = golden(
        record(1, trust_rank=1, email="x@", email2="ana@acme.de", flags={"email": "invalid"}),
        record(2, trust_rank=2, email="ana@old.de", phone="+4930123"),
        record(3, trust_rank=1, work_phone="+4989456"),
    )
    assert (row["email"], row["email__from"]) == ("ana@acme.de", 1)
    assert (row["phone"], row["phone__from"]) == ("+4989456", 3)


FULL = {
    "salutation": "Ms.",
    "first_name": "Grace",
    "middle_name": "B.",
    "last_name": "Hopper",
    "suffix": "PhD",
    "full_name": "Grace B. Hopper",
    "email": "grace@navy.mil",
    "phone": "+12025550100",
    "company_name": "US Navy",
    "job_title": "Rear Admiral",
    "department": "Computing",
    "city": "Arlington",
    "region": "VA",
    "postcode": "22202",
    "country": "US",
    "birth_date": date(1906, 12, 9),
    "gender": "female",
    "language": "en",
    "lifecycle_stage": "customer",
    "owner": "ops",
    "custom": '{"rank":"RADM"}',
}


def test_a_cluster_of_one_record_is_that_record() -> None:
    row = golden(record(42, street="2000 Navy Pentagon") | FULL)
    assert {f: row[f] for f in GOLDEN_FIELDS} == FULL
    assert {row[f"{f}__from"] for f in GOLDEN_FIELDS} == {42}
    assert row["custom__lineage"] == '{"rank":42}'


def test_absent_columns_count_as_all_null() -> None:
    given = pl.DataFrame({"cluster": [5, 5], "source_record_id": [1, 2], "email": [None, "a@b.co"]})
    row = golden_values(given).row(0, named=True)
    assert (row["cluster"], row["email"], row["email__from"]) == (5, "a@b.co", 2)
    assert {f: row[f] for f in GOLDEN_FIELDS if f != "email"} == dict.fromkeys(
        (f for f in GOLDEN_FIELDS if f != "email"), None
    )
    assert contact_points(given).select("kind", "value", "is_primary").rows() == [
        ("email", "a@b.co", True)
    ]


def test_no_records_give_no_rows_with_every_column() -> None:
    empty = pl.DataFrame(schema={"cluster": pl.Int64, "source_record_id": pl.Int64})
    result = golden_values(empty)
    assert result.height == 0
    assert result.columns == [
        "cluster",
        *GOLDEN_FIELDS,
        *(f"{f}__from" for f in GOLDEN_FIELDS),
        "custom__lineage",
    ]
    assert contact_points(empty).height == 0


def test_clusters_are_chosen_independently_and_returned_in_order() -> None:
    result = golden_values(
        records(
            record(1, cluster=20, trust_rank=2, job_title="B"),
            record(2, cluster=10, trust_rank=2, job_title="A"),
            record(3, cluster=20, trust_rank=1, job_title="C"),
        )
    )
    assert result.select("cluster", "job_title", "job_title__from").rows() == [
        (10, "A", 2),
        (20, "C", 3),
    ]


def test_the_result_does_not_depend_on_row_order_or_on_how_ranks_are_combined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = _many_clusters()
    expected = golden_values(records(*rows))
    shuffled = rows.copy()
    random.Random(7).shuffle(shuffled)
    assert golden_values(records(*shuffled)).equals(expected)
    # Ranks too wide to pack into one integer fall back to sorting on them jointly.
    monkeypatch.setattr(survivorship, "_PACKED_BITS", 0)
    assert golden_values(records(*shuffled)).equals(expected)


# --- contact points ----------------------------------------------------------------------


def test_gmail_dot_variants_sharing_an_email_key_are_one_point() -> None:
    got = points(
        record(1, trust_rank=2, email="jane.doe@gmail.com", email_key="janedoe@gmail.com"),
        record(2, trust_rank=1, email="janedoe@gmail.com", email_key="janedoe@gmail.com"),
        record(3, trust_rank=3, email="ana@acme.de", email_key="ana@acme.de"),
        record(4, trust_rank=3, email2="Jane.Doe@gmail.com"),  # email2 has no key of its own
    )
    assert got == [
        ("email", None, "janedoe@gmail.com", True, 2),
        ("email", None, "ana@acme.de", False, 3),
    ]


def test_phones_are_the_same_number_however_written_and_keep_their_column_label() -> None:
    got = points(
        record(1, trust_rank=1, mobile="+49 170 1234567"),
        record(2, trust_rank=2, phone="+491701234567", work_phone="+49 89 456"),
    )
    assert got == [
        ("phone", "mobile", "+49 170 1234567", True, 1),
        ("phone", "work", "+49 89 456", False, 2),
    ]


def test_addresses_are_rendered_on_one_line_and_deduped_ignoring_case() -> None:
    result = contact_points(
        records(
            record(
                1, updated_at=FEB, street="1 Main St", postcode="10115", city="Berlin", country="DE"
            ),
            record(
                2, updated_at=JAN, street="1 MAIN ST", postcode="10115", city="BERLIN", country="DE"
            ),
            record(3, updated_at=JAN, city="Paris", region="IDF"),
            record(4, updated_at=MAR, region="BY"),  # a region alone makes no address
        )
    )
    assert result.select(
        "kind", "value", "is_primary", "city", "region", "source_record_id"
    ).rows() == [
        ("address", "1 Main St, 10115 Berlin, DE", True, "Berlin", None, 1),
        ("address", "Paris", False, "Paris", "IDF", 3),
    ]


def test_social_handles_are_points_of_their_own_kind_with_one_primary() -> None:
    got = points(
        record(1, trust_rank=2, linkedin="in/jane", twitter="@jane"),
        record(2, trust_rank=1, linkedin="IN/Jane"),
    )
    assert got == [
        ("social", "linkedin", "IN/Jane", True, 2),
        ("social", "twitter", "@jane", False, 1),
    ]


def test_every_cluster_has_exactly_one_primary_point_per_kind() -> None:
    result = contact_points(records(*_many_clusters()))
    per_kind = result.group_by("cluster", "kind").agg(pl.col("is_primary").sum())
    assert per_kind.height == 3 * 3 + 1  # email, phone, address per cluster; social in one
    assert per_kind.get_column("is_primary").to_list() == [1] * per_kind.height


def test_the_primary_points_are_the_golden_values() -> None:
    rows = _many_clusters()
    best = golden_values(records(*rows))
    primary = contact_points(records(*rows)).filter("is_primary")
    for kind in ("email", "phone"):
        chosen = primary.filter(kind=kind).select("cluster", "value", "source_record_id")
        assert chosen.rows() == best.select("cluster", kind, f"{kind}__from").rows()
    address = primary.filter(kind="address").select(
        "cluster", "city", "postcode", "country", "source_record_id"
    )
    assert (
        address.rows() == best.select("cluster", "city", "postcode", "country", "city__from").rows()
    )


# --- rules -------------------------------------------------------------------------------


def test_default_rules_cover_every_golden_field() -> None:
    covered = set(DEFAULT_RULES) - {"name", "address"}
    covered |= {"salutation", "first_name", "middle_name", "last_name", "suffix", "full_name"}
    covered |= {"city", "region", "postcode", "country"}
    assert covered == set(GOLDEN_FIELDS)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"city": ("trust",)}, "give a rule for 'address'"),
        ({"first_name": ("trust",)}, "give a rule for 'name'"),
        ({"shoe_size": ("trust",)}, "no survivorship rule for 'shoe_size'"),
        ({"owner": ("oldest",)}, "unknown strategy 'oldest'"),
        ({"owner": "trust"}, "must be a sequence"),
    ],
)
def test_rules_that_would_be_ignored_are_refused(rules: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        golden_values(records(record(1)), rules)


def test_records_without_a_cluster_are_refused() -> None:
    with pytest.raises(InputError, match="cluster"):
        golden_values(pl.DataFrame({"source_record_id": [1]}))
    with pytest.raises(InputError, match="cluster"):
        contact_points(pl.DataFrame({"cluster": [None], "source_record_id": [1]}))


def _many_clusters() -> list[dict[str, object]]:
    """Three clusters with competing emails, phones and addresses (and handles in one)."""
    rows = []
    for cluster in (1, 2, 3):
        base = cluster * 10
        rows += [
            record(
                base + 1,
                cluster=cluster,
                trust_rank=2,
                updated_at=JAN,
                email=f"c{cluster}@old.de",
                email2=f"C{cluster}@Work.de",
                phone=f"+49 30 {cluster}00",
                city="Berlin",
                postcode="10115",
                country="DE",
                first_name="ANNA",
                last_name="MEIER",
                company_name="ACME",
                custom=f'{{"n": {cluster}}}',
            ),
            record(
                base + 2,
                cluster=cluster,
                trust_rank=1,
                updated_at=FEB,
                email=f"c{cluster}@new.de",
                flags={"email": "invalid"} if cluster == 2 else None,
                mobile=f"+49170{cluster}",
                street="Hauptstr. 5",
                city="Hamburg",
                postcode="20095",
                country="DE",
                first_name="Anna",
                last_name="Meier",
                company_name="Acme",
                linkedin=f"in/anna{cluster}" if cluster == 3 else None,
            ),
            record(
                base + 3,
                cluster=cluster,
                trust_rank=3,
                updated_at=MAR,
                email2=f"c{cluster}@old.de",
                work_phone=f"+4930{cluster}00",
                city="Munich",
                job_title="Engineer",
                twitter="@anna" if cluster == 3 else None,
            ),
        ]
    return rows
