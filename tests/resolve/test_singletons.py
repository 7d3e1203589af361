"""Contact points of a record without a golden record yet: which points, which is primary,
the one-line address, and their blind indexes."""

from __future__ import annotations

import polars as pl

from rolodex.resolve.singletons import plan_points
from rolodex.store.sealed import Sealer


def test_plan_points_picks_primaries_and_writes_address_lines() -> None:
    plain = pl.DataFrame(
        {
            "email": [None, "A@X.org", None],
            "email2": ["b@x.org", "c@x.org", None],
            "phone": [None, None, None],
            "mobile": ["+1 555", None, None],
            "work_phone": ["+1666", "+1777", None],
            "linkedin": [None, "in/a", None],
            "street": [None, "1 Main St", None],
            "city": ["Paris", None, None],
            "postcode": ["75002", None, None],
            "country": [None, "US", None],
        }
    )
    # Without keys a blind index is the normalized value itself, so it can be read here.
    points = plan_points(plain, plain.to_arrow(), Sealer.plain()).to_pylist()
    got = [
        (p["row"], p["kind"], p["label"], p["value"], p["value_index"], p["is_primary"])
        for p in points
    ]
    assert got == [
        (0, "email", None, "b@x.org", "b@x.org", True),
        (0, "phone", "mobile", "+1 555", "+1555", True),
        (0, "phone", "work", "+1666", "+1666", False),
        (0, "address", None, "75002 Paris", None, True),
        (1, "email", None, "A@X.org", "a@x.org", True),
        (1, "email", None, "c@x.org", "c@x.org", False),
        (1, "phone", "work", "+1777", "+1777", True),
        (1, "social", "linkedin", "in/a", None, True),
        (1, "address", None, "1 Main St, US", None, True),
    ]
    address = points[-1]
    assert (address["street"], address["city"], address["country"]) == ("1 Main St", None, "US")
    assert all(p["street"] is None for p in points if p["kind"] != "address")


def test_plan_points_reuses_the_stored_tokens_and_email_index() -> None:
    plain = pl.DataFrame({"email": ["a@x.org"], "phone": ["+1555"], "street": ["Main St"]})
    stored = pl.DataFrame(
        {
            "email": ["token-e"],
            "phone": ["token-p"],
            "street": ["token-s"],
            "email_index": ["stored-index"],
        }
    ).to_arrow()
    points = plan_points(plain, stored, Sealer.plain()).to_pylist()
    assert [(p["kind"], p["value"], p["value_index"]) for p in points] == [
        ("email", "token-e", "stored-index"),
        ("phone", "token-p", "+1555"),
        ("address", "Main St", None),  # a line no record holds, sealed here (not by Sealer.plain)
    ]
    assert points[2]["street"] == "token-s"
