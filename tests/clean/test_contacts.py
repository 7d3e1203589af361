"""The clean stage over a chunk of contact values: values, keys, flags, fills and rules."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from rolodex.clean.contacts import clean_contacts, match_values
from rolodex.config import CleanSettings, FieldRule

ROWS: dict[str, list[Any]] = {
    "first_name": ["jane", None, "BOB", "Ann"],
    "last_name": ["DOE", None, "o'neil", "Smith"],
    "email": ["Jane.Doe+shop@GMIAL.com", "mary.major@example.org", "bob@acme.de", "not-an-email"],
    "phone": ["030 1234567", "+49 171 1234567", "+1 415 555 2671", "12"],
    "company_name": ["ACME GMBH", None, "Acme Inc.", None],
    "street": ["Hauptstraße 5", None, "1 Main Street", None],
    "postcode": ["'10115", None, "2153", None],
    "country": ["Deutschland", None, "USA", "France"],
    "lifecycle_stage": ["lead", "customer", "prospect", "lead"],
}


def _clean(config: CleanSettings | None = None, region: str | None = None) -> Any:
    return clean_contacts(pl.DataFrame(ROWS), config=config or CleanSettings(), region=region)


def _flags(cleaned: Any, row: int) -> dict[str, Any]:
    raw = cleaned.values["flags"][row]
    return json.loads(raw) if raw else {}


def test_values_are_standardized_and_keys_kept_apart() -> None:
    cleaned = _clean()
    v = cleaned.values.to_dicts()
    assert v[0]["first_name"] == "Jane"
    assert v[0]["last_name"] == "Doe"
    assert v[2]["last_name"] == "O'Neil"
    assert v[0]["email"] == "jane.doe+shop@gmail.com"  # typo domain corrected, address kept
    assert v[0]["email_key"] == "janedoe@gmail.com"  # gmail dots and +tag folded in the key
    assert v[0]["country"] == "DE"
    assert v[0]["phone"] == "+49301234567"  # national number read with the record's country
    assert v[0]["postcode"] == "10115"  # spreadsheet apostrophe dropped
    assert v[0]["company_name"] == "Acme GmbH"
    assert v[0]["company_key"] == "acme"
    assert v[2]["company_key"] == "acme"
    assert v[0]["street_key"] == "hauptstr 5"
    assert v[2]["postcode"] == "02153"
    assert v[0]["first_name_key"] == "jane"
    assert v[2]["first_name_key"] == "robert"  # Bob, nickname-aware
    assert v[0]["phone_key"] == "+49301234567"


def test_flags_say_what_is_wrong_and_what_changed() -> None:
    cleaned = _clean()
    first = _flags(cleaned, 0)
    assert first["email"]["flag"] == "corrected"
    assert "typo_domain" in first["email"]["tags"]
    assert set(first["_changed"]) >= {"email", "phone", "country", "first_name", "postcode"}
    last = _flags(cleaned, 3)
    assert last["email"]["flag"] == "invalid"
    assert last["phone"]["flag"] == "invalid"
    assert last["phone"]["notes"]
    # The value that failed stays visible, as given.
    assert cleaned.values["email"][3] == "not-an-email"
    assert cleaned.info.flags["email"]["invalid"] == 1


def test_country_is_filled_from_the_phone_and_conflicts_are_flagged() -> None:
    cleaned = _clean()
    second = _flags(cleaned, 1)
    assert cleaned.values["country"][1] == "DE"
    assert second["country"]["flag"] == "corrected"
    assert "filled" in second["country"]["tags"]
    # Row 3: a US number on a record whose country is the US is consistent.
    assert "conflict" not in _flags(cleaned, 2).get("phone", {}).get("tags", [])
    conflicting = clean_contacts(
        pl.DataFrame({"phone": ["+49 171 1234567"], "country": ["FR"]}), config=CleanSettings()
    )
    assert "conflict" in json.loads(conflicting.values["flags"][0])["phone"]["tags"]


def test_names_are_only_suggested_from_the_email() -> None:
    cleaned = _clean()
    assert cleaned.values["first_name"][1] is None
    name = _flags(cleaned, 1)["name"]
    assert "suggestion" in name["tags"]
    assert any("Mary Major" in note for note in name["notes"])


def test_default_region_reads_national_numbers_without_a_country() -> None:
    frame = pl.DataFrame(
        {"phone": ["0171 1234567"], "country": [None]}, schema_overrides={"country": pl.Utf8}
    )
    without = clean_contacts(frame, config=CleanSettings())
    assert json.loads(without.values["flags"][0])["phone"]["flag"] == "invalid"
    with_region = clean_contacts(frame, config=CleanSettings(), region="DE")
    assert with_region.values["phone"][0] == "+491711234567"


def test_the_email_domain_country_reads_national_numbers_as_a_last_resort() -> None:
    frame = pl.DataFrame(
        {
            "phone": ["0171 1234567", "0171 1234567", "+1 415 555 2671", "0171 1234567"],
            "email": ["anna@web.de", "anna@gmail.com", "bob@web.de", "anna@web.de"],
            "country": [None, None, None, "FR"],
        }
    )
    cleaned = clean_contacts(frame, config=CleanSettings())
    phones = cleaned.values["phone_key"].to_list()
    assert phones[0] == "+491711234567"
    assert "email's domain" in " ".join(_flags(cleaned, 0)["phone"]["notes"])
    assert phones[1] is None  # gmail.com names no country
    assert phones[2] == "+14155552671"  # its own country code wins, no note
    assert "email's domain" not in json.dumps(_flags(cleaned, 2))
    assert phones[3] is None  # the record's country comes first
    # the single-record path reads it the same
    one = match_values({"phone": "0171 1234567", "email": "anna@web.de"})
    assert one["phone_key"] == cleaned.values["phone_key"][0]


def test_a_name_that_is_the_user_name_of_the_email_is_no_match_key() -> None:
    frame = pl.DataFrame(
        {"full_name": ["lbradworth", "Jessica"], "email": ["lbradworth@beacon.com", "jessica@x.de"]}
    )
    cleaned = clean_contacts(frame, config=CleanSettings())
    assert cleaned.values["first_name_key"].to_list() == [None, "jessica"]
    assert cleaned.values["first_name"][0] == "Lbradworth"  # the value itself is kept
    assert "user_name" in _flags(cleaned, 0)["name"]["tags"]
    assert _flags(cleaned, 0)["name"]["flag"] == "suspicious"
    one = match_values({"full_name": "lbradworth", "email": "lbradworth@beacon.com"})
    assert one["first_name_key"] is None


def test_custom_rules_flag_and_quarantine_rows() -> None:
    config = CleanSettings(
        rules=[
            FieldRule(field="lifecycle_stage", allowed=["lead", "customer"]),
            FieldRule(field="postcode", pattern=r"[0-9]{5}", flag="suspicious"),
        ],
        quarantine=["email:invalid", "lifecycle_stage:invalid"],
    )
    cleaned = _clean(config)
    stage = _flags(cleaned, 2)["lifecycle_stage"]
    assert stage["flag"] == "invalid"
    assert "not one of the allowed values" in stage["notes"][0]
    assert sorted(cleaned.quarantine) == [2, 3]
    assert cleaned.quarantine[3] == ["email is invalid: " + _flags(cleaned, 3)["email"]["notes"][0]]
    assert cleaned.quarantine[2][0].startswith("lifecycle_stage is invalid")


def test_a_clean_record_stores_no_flags() -> None:
    cleaned = clean_contacts(
        pl.DataFrame({"first_name": ["Jane"], "last_name": ["Austen"], "email": ["jane@acme.de"]}),
        config=CleanSettings(),
    )
    assert cleaned.values["flags"][0] is None


def test_flags_json_is_exact_for_plain_and_escaped_notes() -> None:
    """Plain notes are joined as they are, notes JSON must escape go through the encoder:
    either way the text is what json.dumps writes."""
    import json

    import polars as pl

    from rolodex.clean.contacts import Fields

    lists = pl.List(pl.Utf8)
    notes = [[], ["plain note", "é and ß"], ['say "hi"'], ["back\\slash", "new\nline"]]
    tags = [["free"], [], ["a", "b"], []]
    fields = Fields()
    fields.put(
        "email",
        pl.Series(["valid", "corrected", "invalid", "valid"]),
        pl.Series(notes, dtype=lists),
        pl.Series(tags, dtype=lists),
    )
    fields.put(
        "phone",
        pl.Series(["valid"] * 4),
        pl.Series([[], [], [], ["only plain"]], dtype=lists),
        pl.Series([[]] * 4, dtype=lists),
    )
    encoded = fields.encode(4, {"email": pl.Series([True, False, None, False])}).to_list()
    expected = []
    for i in range(4):
        row: dict[str, object] = {}
        if i == 0:
            row["_changed"] = ["email"]
        email = {
            k: v
            for k, v in (
                ("flag", ["valid", "corrected", "invalid", "valid"][i]),
                ("notes", notes[i]),
                ("tags", tags[i]),
            )
            if v and v != "valid"
        }
        if email:
            row["email"] = email
        if i == 3:
            row["phone"] = {"notes": ["only plain"]}
        expected.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
    assert encoded == expected


def test_a_chunk_with_only_a_full_name_is_cleaned() -> None:
    # No field whose rewrites are counted: the flags still encode (a 500 the API fuzzing found).
    chunk = pl.DataFrame({"full_name": ["dr. JANE a. doe jr.", "{4µ"]})
    cleaned = clean_contacts(chunk, config=CleanSettings())
    v = cleaned.values.to_dicts()
    assert (v[0]["first_name"], v[0]["last_name"]) == ("Jane", "Doe")
    assert "_changed" not in _flags(cleaned, 0)
    assert cleaned.values.height == 2
