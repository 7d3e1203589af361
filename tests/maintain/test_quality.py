"""The data-quality scorecard and re-cleaning, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text

from rolodex.config import CleanSettings, FieldRule, ImportSettings, Settings
from rolodex.workspace import Workspace
from tests.conftest import DATA

CONTACTS = DATA / "contacts_small.csv"

PEOPLE = """id,first,last,email,phone,country,stage
1,jane,doe,Jane@Acme.de,030 1234567,Deutschland,lead
2,Max,Power,max@acme.de,+49 171 1234567,DE,customer
3,Ann,Lee,ANN@acme.de,0171 7654321,germany,prospect
4,Ann,Lee,ann@ACME.de,,DE,lead
5,Bo,Nes,bo@@acme,12,DE,lead
"""


def _people(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE, encoding="utf-8")
    return path


def _record(ws: Workspace, external_id: str) -> Any:
    """A stored record and its standardized view, decrypted as a person reads them."""
    with ws.engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT v.*, r.payload, r.status, r.issues FROM source_record r"
                    " LEFT JOIN contact_record v ON v.source_record_id = r.id"
                    " WHERE r.external_id = :e"
                ),
                {"e": external_id},
            )
            .mappings()
            .one()
        )
    opened = ws.sealer.open_row("contact_record", dict(row))
    opened["payload"] = ws.sealer.open_one("payload", opened["payload"])
    return SimpleNamespace(**opened)


def test_scorecard_rates_fields_before_and_after_cleaning(ws: Workspace, tmp_path: Path) -> None:
    ws.import_file(_people(tmp_path), source="crm")
    card = ws.quality()
    fields = {f.field: f for f in card.overall.fields}
    # Phones: none was in E.164 as typed; after cleaning all but the 2-digit one are valid.
    assert fields["phone"].validity_before == 0.0
    assert fields["phone"].validity == 0.75
    assert fields["phone"].invalid == 1
    # Countries: three of five were ISO codes already; all five are now.
    assert fields["country"].validity_before == 0.6
    assert fields["country"].validity == 1.0
    assert fields["email"].invalid == 1
    # ann@acme.de twice in one source: the same key, an exact duplicate.
    assert card.overall.duplicate_emails == 2
    assert card.overall.uniqueness == 0.6
    assert card.overall.score > card.overall.score_before
    top = {(p.field, p.flag): p for p in card.problems}
    assert top[("email", "invalid")].count == 1
    record_id = top[("email", "invalid")].examples[0]
    with ws.engine.connect() as conn:
        key = conn.execute(
            text("SELECT external_id FROM source_record WHERE id = :i"), {"i": record_id}
        ).scalar_one()
    assert key == "5"


def test_invalid_values_stay_visible_with_their_reason(ws: Workspace, tmp_path: Path) -> None:
    summary = ws.import_file(_people(tmp_path), source="crm")
    assert summary.flags["email"]["invalid"] == 1  # the import says what cleaning found
    bad = _record(ws, "5")
    assert bad.status == "accepted"  # by default only unidentifiable rows are quarantined
    assert bad.email == "bo@@acme"
    flags = bad.flags if isinstance(bad.flags, dict) else json.loads(bad.flags)
    assert flags["email"]["flag"] == "invalid"
    assert flags["email"]["notes"]
    assert json.loads(bad.payload)["email"] == "bo@@acme"


def test_quarantine_rules_and_custom_rules_apply_on_import(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        db=db_url,
        import_=ImportSettings(chunk_size=2),
        clean=CleanSettings(
            quarantine=["email:invalid"],
            rules=[FieldRule(field="lifecycle_stage", allowed=["lead", "customer"])],
        ),
    )
    with Workspace(db_url, settings=settings) as ws:
        ws.init()
        summary = ws.import_file(_people(tmp_path), source="crm")
        assert (summary.accepted, summary.quarantined) == (4, 1)
        with ws.engine.connect() as conn:
            issues = conn.execute(
                text("SELECT issues FROM source_record WHERE status = 'quarantined'")
            ).scalar_one()
        assert "email is invalid" in issues
        stage = _record(ws, "3").flags
        stage = stage if isinstance(stage, dict) else json.loads(stage)
        assert stage["lifecycle_stage"]["flag"] == "invalid"
        exported = tmp_path / "quarantine.csv"
        assert ws.export("quarantine", exported) == 1
        assert "email is invalid" in exported.read_text(encoding="utf-8")


def test_clean_again_after_the_rules_change(db_url: str, tmp_path: Path) -> None:
    plain = Settings(db=db_url)
    with Workspace(db_url, settings=plain) as ws:
        ws.init()
        ws.import_file(_people(tmp_path), source="crm")
        flags = _record(ws, "2").flags
        assert flags is None or "lifecycle_stage" not in str(flags)
    stricter = Settings(
        db=db_url,
        clean=CleanSettings(rules=[FieldRule(field="lifecycle_stage", allowed=["lead"])]),
    )
    with Workspace(db_url, settings=stricter) as ws:
        done = ws.clean()
        assert done.records == 5
        after = _record(ws, "2")
        flags = after.flags if isinstance(after.flags, dict) else json.loads(after.flags)
        assert flags["lifecycle_stage"]["flag"] == "invalid"
        assert json.loads(_record(ws, "2").payload)["stage"] == "customer"  # raw untouched
        card = ws.quality()
        assert any(p.field == "lifecycle_stage" for p in card.problems)


def test_national_numbers_use_the_source_default_region(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "no_country.csv"
    path.write_text("id,name,email,phone\n1,Eva Berg,eva@x.de,0171 1234567\n", encoding="utf-8")
    settings = Settings(db=db_url, clean=CleanSettings(regions={"shop_de": "DE"}))
    with Workspace(db_url, settings=settings) as ws:
        ws.init()
        ws.import_file(path, source="shop_de")
        assert _record(ws, "1").phone == "+491711234567"


def test_ambiguous_dates_follow_their_column_and_are_flagged(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "born.csv"
    path.write_text(
        "id,name,email,birthday\n1,Eva Berg,eva@x.de,03/04/1990\n2,Ole Lund,ole@x.dk,25/12/1980\n"
        "3,Ida Holm,ida@x.se,31/01/1975\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="crm")
    assert any("1 dates like 03/04/1990" in note and "day-first" in note for note in summary.notes)
    first = _record(ws, "1")
    assert str(first.birth_date) == "1990-04-03"
    flags = first.flags if isinstance(first.flags, dict) else json.loads(first.flags)
    assert "ambiguous_date" in flags["birth_date"]["tags"]
    other = _record(ws, "2").flags
    assert "birth_date" not in (other if isinstance(other, dict) else json.loads(other or "{}"))


def test_duplicates_count_alike_for_records_stored_before_their_indexes(
    ws: Workspace, tmp_path: Path
) -> None:
    ws.import_file(_people(tmp_path), source="crm")
    card = ws.quality().overall
    assert (card.duplicate_emails, card.uniqueness_before) == (2, 0.6)
    with ws.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE contact_record SET email_index = NULL, email_key_index = NULL,"
                " phone_index = NULL"
            )
        )
    again = ws.quality().overall
    assert (again.duplicate_emails, again.duplicate_phones) == (2, card.duplicate_phones)
    assert (again.uniqueness_before, again.uniqueness) == (card.uniqueness_before, 0.6)
