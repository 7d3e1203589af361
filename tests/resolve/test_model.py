"""Which comparison level a pair of records lands in, in Splink and in the Python twin."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from rolodex.resolve import model as m
from rolodex.resolve.matcher import Matcher
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
    swapped = _weight_of("name", "swapped first and last, or split differently")
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
