"""Which comparison level a pair of records lands in, in Splink and in the Python twin."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from rolodex.config import ResolveSettings
from rolodex.resolve import model as m
from rolodex.resolve.matcher import Matcher, block_and_score
from rolodex.resolve.model import feature_row
from rolodex.resolve.realtime import Scorer


def _untrained() -> dict[str, Any]:
    return {**m.settings(term_frequencies=False), "probability_two_random_records_match": 1e-4}


def _weight_of(comparison: str, label: str) -> float:
    """The untrained model's match weight of the level named `label`."""
    found = next(c for c in m.comparisons() if c["output_column_name"] == comparison)
    level = next(lv for lv in found["comparison_levels"] if lv["label_for_charts"] == label)
    return math.log2(level["m_probability"] / level["u_probability"])


def _record(record_id: int, **fields: str) -> dict[str, Any]:
    return {"source_record_id": record_id, **fields}


def _weights(
    left: dict[str, Any], right: dict[str, Any]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Each comparison's weight for one pair: from the Python scorer, and Splink's row."""
    model = _untrained()
    scorer = Scorer(model)
    python = scorer.weights(feature_row(left), feature_row(right), lambda c, v: None)
    frame = pl.DataFrame([left, right], infer_schema_length=None)
    with Matcher(m.features(frame), model) as matcher:
        scored = matcher.score([(left["source_record_id"], right["source_record_id"])])
    return python, scored.row(0, named=True)


def _assert_level(comparison: str, label: str, left: dict[str, Any], right: dict[str, Any]) -> None:
    """Both scorers put the pair on the level named `label` of `comparison`."""
    python, splink = _weights(left, right)
    assert python[comparison] == pytest.approx(_weight_of(comparison, label))
    assert splink[f"w_{comparison}"] == pytest.approx(python[comparison])


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # A typo in the first name, the other record has no last name.
        (
            {"first_name_key": "abigail", "last_name_key": "wakewick"},
            {"first_name_key": "abigaiil"},
        ),
        # The last name sits in the first-name field of a record without a last name.
        ({"first_name_key": "guillaume", "last_name_key": "montet"}, {"first_name_key": "montet"}),
        # First and last name written as one word in one field.
        (
            {"first_name_key": "alba", "last_name_key": "suarezcalazquez"},
            {"first_name_key": "albasuarez"},
        ),
        # Only the first of two surnames.
        ({"first_name_key": "nuria", "last_name_key": "eseda"}, {"last_name_key": "esedaibanez"}),
        # Only the first of two surnames, short enough that it is no near miss by similarity.
        ({"first_name_key": "isabel", "last_name_key": "pena"}, {"last_name_key": "penamaruela"}),
        # Two records with a first name only, the same one.
        ({"first_name_key": "john"}, {"first_name_key": "john"}),
    ],
)
def test_partial_names_that_agree_are_not_different_names(
    left: dict[str, str], right: dict[str, str]
) -> None:
    python, splink = _weights(_record(1, **left), _record(2, **right))
    expected = _weight_of("name", "part of the name missing, the rest agrees")
    assert python["name"] == pytest.approx(expected)
    assert splink["w_name"] == pytest.approx(expected)


def test_a_real_swap_is_a_swap_and_other_names_stay_different() -> None:
    python, splink = _weights(
        _record(1, first_name_key="smith", last_name_key="john"),
        _record(2, first_name_key="john", last_name_key="smith"),
    )
    swapped = _weight_of("name", "same first and last name, in either order")
    assert python["name"] == pytest.approx(swapped)
    assert splink["w_name"] == pytest.approx(swapped)
    python, splink = _weights(
        _record(1, first_name_key="abigail", last_name_key="wakewick"),
        _record(2, first_name_key="oliver"),
    )
    different = _weight_of("name", "different")
    assert python["name"] == pytest.approx(different)
    assert splink["w_name"] == pytest.approx(different)


def test_a_shared_office_address_adds_nothing_to_the_shared_company() -> None:
    office = {
        "street_key": "127 chapel st",
        "postcode": "M1 1AA",
        "city": "Manchester",
        "company_key": "harbor partners",
    }
    python, splink = _weights(
        _record(1, first_name_key="peter", last_name_key="schreiber", **office),
        _record(2, first_name_key="peter", last_name_key="kamper", **office),
    )
    assert python["address"] == splink["w_address"] == 0.0
    assert python["company"] == pytest.approx(_weight_of("company", "same company"))
    # The same street without a shared company is a home address.
    home = {k: v for k, v in office.items() if k != "company_key"}
    python, splink = _weights(
        _record(1, first_name_key="peter", last_name_key="schreiber", **home),
        _record(2, first_name_key="peter", last_name_key="schreiber", **home),
    )
    assert python["address"] == pytest.approx(_weight_of("address", "same street address"))
    assert splink["w_address"] == pytest.approx(python["address"])


def test_a_mailbox_that_spells_the_name_says_nothing_more_than_the_name() -> None:
    """laurahall72@gmail.com and laurahall@gmail.com are two Laura Halls as often as one."""
    python, splink = _weights(
        _record(1, first_name_key="laura", last_name_key="hall", email_key="laurahall72@gmail.com"),
        _record(2, first_name_key="laura", last_name_key="hall", email_key="laurahall@gmail.com"),
    )
    near_miss = _weight_of("email", "near-miss mailbox at the same domain")
    assert python["email"] != pytest.approx(near_miss)
    assert splink["w_email"] == pytest.approx(python["email"])
    # A mailbox that is not the name keeps its near-miss evidence.
    python, splink = _weights(
        _record(1, first_name_key="laura", last_name_key="hall", email_key="sunflower72@gmail.com"),
        _record(2, first_name_key="laura", last_name_key="hall", email_key="sunflowr72@gmail.com"),
    )
    assert python["email"] == pytest.approx(near_miss)
    assert splink["w_email"] == pytest.approx(near_miss)


@pytest.mark.parametrize("first_record", [1, 2])
@pytest.mark.parametrize(
    ("full", "partial", "level"),
    [
        # The full name's record spells its name; the other has only the first name.
        (
            {"first_name_key": "paul", "last_name_key": "murphy", "email_key": "paulmurphy@x.ie"},
            {"first_name_key": "paul", "email_key": "paulmurphy@sky.com"},
            "same mailbox name at another domain",
        ),
        # The first of two surnames spells the name as well.
        (
            {
                "first_name_key": "beatriz",
                "last_name_key": "rodriguezcaseda",
                "email_key": "beatriz.rodriguez@telefonica.net",
            },
            {"first_name_key": "beatriz", "email_key": "beatrizrodriguez@gmail.com"},
            "same mailbox name at another domain",
        ),
        # ursulafischer@ and ursula.fischer1@ at one provider are two Ursula Fischers (a
        # misspelt one, ursula.fischr@, is a typo: see the near-miss test below).
        (
            {
                "first_name_key": "ursula",
                "last_name_key": "fischer",
                "email_key": "ursulafischer@web.de",
            },
            {"first_name_key": "ursula", "email_key": "ursula.fischer1@web.de"},
            "near-miss mailbox at the same domain",
        ),
    ],
)
def test_a_mailbox_that_spells_a_name_is_no_shared_or_near_miss_mailbox(
    full: dict[str, str], partial: dict[str, str], level: str, first_record: int
) -> None:
    """Whichever record comes first: either spelling the name is enough."""
    left, right = (full, partial) if first_record == 1 else (partial, full)
    python, splink = _weights(_record(1, **left), _record(2, **right))
    assert python["email"] != pytest.approx(_weight_of("email", level))
    assert splink["w_email"] == pytest.approx(python["email"])


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # Swapped, and the given name a short form of the other's ("Walstone, Chris").
        (
            {"first_name_key": "walstone", "last_name_key": "chris"},
            {"first_name_key": "christopher", "last_name_key": "walstone"},
        ),
        # Swapped, and only the first of two surnames ("Salino Adrián").
        (
            {"first_name_key": "salino", "last_name_key": "adrian"},
            {"first_name_key": "adrian", "last_name_key": "salinozamera"},
        ),
        # Swapped, and a typo in the given name ("dressling.doerte" for Dörte Dreßling).
        (
            {"first_name_key": "dressling", "last_name_key": "doerte"},
            {"first_name_key": "dorte", "last_name_key": "dressling"},
        ),
    ],
)
def test_a_swap_with_a_nickname_a_typo_or_one_surname_is_a_swap(
    left: dict[str, str], right: dict[str, str]
) -> None:
    python, splink = _weights(_record(1, **left), _record(2, **right))
    swapped = _weight_of("name", "swapped first and last, one a near miss or a short form")
    assert python["name"] == pytest.approx(swapped)
    assert splink["w_name"] == pytest.approx(swapped)


@pytest.mark.parametrize(
    ("nickname", "formal", "mailbox"),
    [
        ("lisa", "elisabeth", {"email_key": "ekoch46@web.de", "last_name_key": "koch"}),
        ("john", "jonathan", {"email_key": "jmidwood@hotmail.com", "last_name_key": "midwood"}),
    ],
)
def test_a_nickname_that_may_be_the_other_name_agrees_and_others_do_not(
    nickname: str, formal: str, mailbox: dict[str, str]
) -> None:
    python, splink = _weights(
        _record(1, first_name_key=nickname, **mailbox),
        _record(2, first_name_key=formal, **mailbox),
    )
    maybe = _weight_of("name", "a nickname that may be the other first name, the last name alike")
    assert python["name"] == pytest.approx(maybe)
    assert splink["w_name"] == pytest.approx(maybe)
    # One mailbox, and the names may be one person's: the address counts in full.
    assert python["email"] == pytest.approx(_weight_of("email", "same address"))
    assert splink["w_email"] == pytest.approx(python["email"])
    # Another first name on the same mailbox is still a family's shared address.
    _assert_level(
        "email",
        "same address, another first name (a shared family or team mailbox)",
        _record(1, first_name_key=nickname, **mailbox),
        _record(2, first_name_key="monika", **mailbox),
    )


def test_a_surname_typed_as_the_first_name_agrees_with_the_first_names() -> None:
    mailbox = {"email_key": "gallego.manuel@hotmail.es"}
    python, splink = _weights(
        _record(1, first_name_key="manuel", last_name_key="gallegopascual", **mailbox),
        _record(2, first_name_key="gallego", **mailbox),
    )
    assert python["email"] == pytest.approx(_weight_of("email", "same address"))
    assert splink["w_email"] == pytest.approx(python["email"])


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"first_name_key": "claire", "last_name_key": "b"}, {"first_name_key": "caire"}),
        ({"first_name_key": "maria", "last_name_key": "e"}, {"first_name_key": "mariacarmen"}),
        ({"first_name_key": "tina", "last_name_key": "h"}, {"first_name_key": "christina"}),
    ],
)
def test_a_last_name_given_as_an_initial_agrees_with_the_full_one(
    left: dict[str, str], right: dict[str, str]
) -> None:
    surname = left["last_name_key"] + "lackley"
    python, splink = _weights(_record(1, **left), _record(2, **right, last_name_key=surname))
    initial = _weight_of("name", "one name agrees, the other missing or an initial")
    assert python["name"] == pytest.approx(initial)
    assert splink["w_name"] == pytest.approx(initial)
    # Another initial is another name.
    python, _ = _weights(_record(1, **left), _record(2, **right, last_name_key="walker"))
    assert python["name"] < initial


@pytest.mark.parametrize(
    ("comparison", "shared", "neutral", "counting", "level"),
    [
        # A company's main line, given for colleagues: the shared company says it already;
        # one person's number at one company still counts.
        (
            "phone",
            {"phone_key": "+441914727640", "company_key": "harbor partners"},
            ("jack", "chatfield", "jack", "turner"),
            ("jack", "chatfield", "jack", "chatfield"),
            "a number in common",
        ),
        # A shared city says nothing a shared name does not (names cluster by region);
        # with a near name it still counts.
        (
            "address",
            {"city": "Madrid"},
            ("jose", "garcia", "jose", "garcia"),
            ("jose", "garcia", "jose", "garcias"),
            "same city",
        ),
    ],
)
def test_shared_evidence_that_says_no_more_than_the_rest_adds_nothing(
    comparison: str,
    shared: dict[str, str],
    neutral: tuple[str, str, str, str],
    counting: tuple[str, str, str, str],
    level: str,
) -> None:
    for names, expected in ((neutral, 0.0), (counting, _weight_of(comparison, level))):
        first_l, last_l, first_r, last_r = names
        python, splink = _weights(
            _record(1, first_name_key=first_l, last_name_key=last_l, **shared),
            _record(2, first_name_key=first_r, last_name_key=last_r, **shared),
        )
        assert python[comparison] == pytest.approx(expected)
        assert splink[f"w_{comparison}"] == pytest.approx(python[comparison])


@pytest.mark.parametrize(
    ("first", "last", "email", "spells"),
    [
        ("olivia", "edwards", "olivia.edwards@outlook.com", True),  # no fold across the seam
        ("stefan", "schroder", "stefan.schroeder@web.de", True),  # umlaut written out
        ("henry", "white", "harry.white@example.com", True),  # the surname inside
        ("beatriz", "rodriguezcaseda", "beatriz.rodriguez@example.es", True),  # first surname
        ("beatriz", "rodriguez", "bearo@example.es", False),
    ],
)
def test_which_mailboxes_spell_the_name(first: str, last: str, email: str, spells: bool) -> None:
    record = _record(1, first_name_key=first, last_name_key=last, email_key=email)
    assert feature_row(record)["email_name"] is spells
    assert m.features(pl.DataFrame([record]))["email_name"].to_list() == [spells]


def test_a_number_either_record_holds_is_a_number_in_common() -> None:
    """Each record's phone key and its second valid number (`phone2`) are compared both
    ways; an invalid or repeated number is no second number."""
    landline, mobile = "+498912345670", "+491712345678"
    names = {"first_name_key": "katharina", "last_name_key": "obermeier"}
    left = _record(1, phone_key=landline, phone=landline, mobile=mobile, **names)
    for right in (
        _record(2, phone_key=mobile, other_phone=mobile, **names),
        _record(2, phone_key="+493055555555", work_phone=landline, **names),
    ):
        python, splink = _weights(left, right)
        assert python["phone"] == pytest.approx(_weight_of("phone", "a number in common"))
        assert splink["w_phone"] == pytest.approx(python["phone"])
    rows = [
        _record(3, phone_key=landline, phone=landline, mobile="0171 234", work_phone=landline),
        _record(4, mobile=mobile),  # no key: no valid number to be the first
    ]
    assert [feature_row(r)["phone2"] for r in rows] == [None, None]
    assert m.features(pl.DataFrame(rows))["phone2"].to_list() == [None, None]
    python, splink = _weights(left, _record(2, phone_key="+493055555555", **names))
    assert python["phone"] < 0
    assert splink["w_phone"] == pytest.approx(python["phone"])


@pytest.mark.parametrize(
    ("first_l", "first_r", "level"),
    [
        ("ali", "lai", "same address"),  # a transposition similarity scores low
        ("ea", "eva", "same address"),  # a letter lost from a short name
        ("seb", "sebastien", "same address"),  # the short form
        ("crriatina", "cristina", "same address"),  # two typos, on one mailbox only
        ("jsutun", "justin", "same address"),
        ("john", "mary", "same address, another first name (a shared family or team mailbox)"),
        ("paul", "anna", "same address, another first name (a shared family or team mailbox)"),
        ("al", "eva", "same address, another first name (a shared family or team mailbox)"),
    ],
)
def test_first_names_a_typo_or_short_form_apart_agree(
    first_l: str, first_r: str, level: str
) -> None:
    shared = {"last_name_key": "hunt", "email_key": "hunts@gmail.com"}
    _assert_level(
        "email",
        level,
        _record(1, first_name_key=first_l, **shared),
        _record(2, first_name_key=first_r, **shared),
    )


def test_two_typos_apart_agree_on_a_mailbox_but_not_on_a_phone() -> None:
    """Households share a line more often than a mailbox: on a phone, first names two edits
    apart are another person's."""
    shared = {"last_name_key": "hunt", "phone_key": "+441914727640"}
    _assert_level(
        "phone",
        "a number in common, another first name (a shared line: household, office)",
        _record(1, first_name_key="crriatina", **shared),
        _record(2, first_name_key="cristina", **shared),
    )


NEAR_MISS = "near-miss mailbox at the same domain"


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        # One spells the name, the other is a typo of it: one person's address, mistyped.
        ("kyle.harris176@yahoo.com", "kyle.harirs176@yahoo.com", NEAR_MISS),
        ("tanja.schulz@web.de", "tanja.schluz@web.de", NEAR_MISS),
        ("richard.perez@gmail.com", "richard.perz@gmail.com", NEAR_MISS),
        # Both spell the name: namesakes pick such addresses, with other digits.
        ("kyle.harris176@yahoo.com", "kyle.harris17@yahoo.com", "different"),
        # A typo of the name with other digits is no typo of that address.
        ("kyle.harris176@yahoo.com", "kyle.harirs17@yahoo.com", "different"),
    ],
)  # fmt: skip
def test_a_mistyped_mailbox_that_spells_the_name_is_a_near_miss(
    left: str, right: str, level: str
) -> None:
    first, last = left.split("@")[0].rstrip("0123456789").split(".")
    names = {"first_name_key": first, "last_name_key": last}
    _assert_level(
        "email", level, _record(1, email_key=left, **names), _record(2, email_key=right, **names)
    )


def test_colleague_records_of_one_person_are_candidates_on_the_company() -> None:
    """One person's records at work often share only the company and one name (the other
    mistyped, the mailbox a role one): the pair is blocked, scored, and likely one person;
    another first name at the company is no candidate on that alone."""
    records = pl.DataFrame(
        [
            _record(1, first_name_key="edward", last_name_key="stvens", company_key="cedar"),
            _record(
                2,
                first_name_key="edward",
                last_name_key="stevens",
                company_domain="cedar-informatica.es",
                email_key="estevens@cedar-informatica.es",
            ),
            _record(3, first_name_key="edward", last_name_key="stevens", company_key="cedar"),
            _record(4, first_name_key="maria", last_name_key="lopez", company_key="cedar"),
        ]
    )
    records = records.with_columns(
        company_domain=pl.when(pl.col("source_record_id") != 4)
        .then(pl.lit("cedar-informatica.es"))
        .otherwise(None)
    )
    found = block_and_score(m.features(records), [1, 2, 3, 4], _untrained(), {})
    pairs = {(a, b): p for a, b, p in found.select("left", "right", "probability").iter_rows()}
    assert set(pairs) == {(1, 2), (1, 3), (2, 3)}
    assert pairs[(1, 2)] > ResolveSettings().threshold


def test_a_full_name_is_at_least_as_common_as_its_parts_together() -> None:
    """Two strangers named "Maria Garcia" are no rare coincidence however few records hold
    that exact name: its frequency is at least the first name's times the last name's. A
    name of rare parts keeps the frequency its own count gives; other columns are untouched."""
    names = ["maria garcia"] * 2 + ["maria lopez"] * 3 + ["jose garcia"] * 3 + ["zeb quix"] * 2
    model = {**m.settings(), "probability_two_random_records_match": 1e-4}
    tf = dict(m.term_frequencies(pl.Series("name", [*names, None]), model).iter_rows())
    n = len(names)
    assert tf["maria garcia"] == pytest.approx((5 / n) * (5 / n))
    assert tf["zeb quix"] == pytest.approx(tf["maria lopez"] / 2, rel=0.01)  # 1 other vs 2
    cities = dict(m.term_frequencies(pl.Series("city", names), model).iter_rows())
    assert cities["maria garcia"] == pytest.approx(1 / n, rel=0.01)  # one other record
