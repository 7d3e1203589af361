"""Segments over scores: creation, predefined RFM segments, membership history, consent."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from rolodex.cli.main import app
from rolodex.exceptions import InputError
from rolodex.workspace import Workspace
from tests.conftest import DATA

CDNOW = DATA / "cdnow" / "cdnow_sample_transactions.csv"


@pytest.fixture
def shop(ws: Workspace) -> Workspace:
    """The CDNOW sample as a shop's order log, with RFM and CLV scores as of 1997-09-30."""
    ws.import_file(CDNOW, source="cdnow", kind="orders")
    return ws


def test_a_segment_holds_exactly_the_customers_its_filter_names(shop: Workspace) -> None:
    value = shop.clv(as_of=date(1997, 9, 30))
    scores = value.result.contacts
    expected = set(
        scores.filter((scores["clv"] > 50) & (scores["p_alive"] > 0.5))["contact_id"].to_list()
    )
    assert 0 < len(expected) < scores.height
    info = shop.segment_create("valuable", where="clv_12m > 50 and p_alive > 0.5")
    assert (info.members, info.entered, info.left) == (len(expected), len(expected), 0)
    shown = shop.segment("valuable", limit=5000)
    assert {m["id"] for m in shown["sample"]} == expected
    assert shown["expression"] == "clv_12m > 50 and p_alive > 0.5"


def test_rfm_segments_are_predefined_and_follow_each_rfm_run(shop: Workspace) -> None:
    first = shop.rfm(as_of=date(1997, 9, 30))
    counts = dict(first.segments.select("segment", "contacts").rows())
    listed = {s.name: s for s in shop.segments()}
    assert listed["rfm: Champions"].is_predefined
    assert listed["rfm: Champions"].members == counts["Champions"]
    assert sum(s.members for n, s in listed.items() if n.startswith("rfm: ")) == 2357

    # Nine months later the same customers score differently: some leave, some enter.
    later = shop.rfm(as_of=date(1998, 6, 30))
    now = dict(later.segments.select("segment", "contacts").rows())
    shown = shop.segment("rfm: Champions")
    assert shown["members"] == now["Champions"]
    assert len(shown["history"]) == 2
    entered = sum(e["entered"] for e in shown["history"])
    left = sum(e["left"] for e in shown["history"])
    assert left > 0
    assert entered - left == now["Champions"]  # every stay is kept: counts reconcile


def test_refresh_keeps_who_left_and_when(shop: Workspace) -> None:
    shop.clv(as_of=date(1997, 9, 30))
    before = shop.segment_create("likely active", where="p_alive >= 0.9").members
    shop.clv(as_of=date(1998, 6, 30))
    (after,) = shop.segment_refresh("likely active")
    assert after.members == before + after.entered - after.left
    assert after.left > 0
    history = shop.segment("likely active")["history"]
    assert [e["entered"] for e in history] == [before, after.entered]
    assert history[-1]["left"] == after.left


def test_marketing_export_leaves_out_contacts_without_consent(
    shop: Workspace, tmp_path: Path
) -> None:
    consents = tmp_path / "consents.csv"
    consents.write_text(
        "Customer ID,Purpose,Status,Date\n"
        "1,Marketing email,granted,1997-01-02\n"
        "2,Marketing email,withdrawn,1997-01-02\n"
        "3,Profiling,granted,1997-01-02\n",
        encoding="utf-8",
    )
    shop.import_file(consents, source="cdnow", kind="consents")
    shop.segment_create("first three", where="contact_id <= 3")
    out = tmp_path / "members.csv"
    done = shop.segment_export("first three", out)
    assert (done.written, done.left_out) == (1, 2)
    with out.open(encoding="utf-8") as fh:
        assert [int(r["contact_id"]) for r in csv.DictReader(fh)] == [1]
    everyone = shop.segment_export("first three", out, everyone=True)
    assert (everyone.written, everyone.left_out) == (3, 0)


def test_bad_filters_and_names_are_refused_with_the_reason(shop: Workspace) -> None:
    with pytest.raises(InputError, match="did you mean 'country'"):
        shop.segment_create("typo", where="contry = 'DE'")
    with pytest.raises(InputError, match="no segment 'nope'"):
        shop.segment("nope")
    shop.segment_create("all", where="order_count >= 1")
    with pytest.raises(InputError, match="exists"):
        shop.segment_create("all", where="order_count >= 2")
    assert [s.name for s in shop.segments() if not s.is_predefined] == ["all"]


def test_segment_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["import", str(CDNOW), "--source", "cdnow", "--kind", "orders"]
    assert runner.invoke(app, ["--db", db, *args]).exit_code == 0
    bad = runner.invoke(app, ["--db", db, "segment", "create", "x", "--where", "total_spend >"])
    assert bad.exit_code == 2
    assert "^" in bad.stderr
    made = runner.invoke(
        app, ["--db", db, "segment", "create", "big", "--where", "total_spend > 500"]
    )
    assert made.exit_code == 0, made.output
    assert "customers match total_spend > 500" in made.stdout
    listed = runner.invoke(app, ["--db", db, "segment", "list"])
    assert "big" in listed.stdout
    assert "rfm: Champions" in listed.stdout
    out = tmp_path / "big.csv"
    exported = runner.invoke(app, ["--db", db, "segment", "export", "big", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "without marketing consent" in exported.stdout


def test_the_issue_example_filters_golden_records_scores_and_aggregates(
    shop: Workspace,
) -> None:
    shop.clv(as_of=date(1997, 9, 30))
    shop.churn(as_of=date(1997, 9, 30))
    example = (
        "country = 'DE' and clv_12m > 500 and churn_risk >= 0.6"
        " and last_order_at < now() - interval '90 days'"
    )
    info = shop.segment_create("example", where=example)
    assert info.members == 0  # CDNOW customers have no country
    looser = shop.segment_create(
        "looser", where="clv_12m > 50 and churn_risk >= 0.6 and last_order_at < '1997-09-30'"
    )
    assert 0 < looser.members < 2357


def test_custom_fields_can_be_filtered_by_their_declared_type(ws: Workspace) -> None:
    # contacts_small.csv has a "Loyalty Tier" column: a text custom field.
    ws.import_file(DATA / "contacts_small.csv", source="crm")
    tier = next(f for f in ws.segment_fields() if f[0] == "loyalty_tier")
    assert tier[1] == "text"
    info = ws.segment_create("gold and silver", where="loyalty_tier in ('gold', 'silver')")
    shown = ws.segment("gold and silver")
    assert info.members == 2
    assert {m["last_name"] for m in shown["sample"]} == {"Doe", "Müller"}


def test_numeric_and_boolean_custom_fields_compare_as_such(ws: Workspace, tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    members.write_text(
        "Member ID,First Name,Last Name,Points,Gold Member\n"
        "M1,Ada,Lovelace,900,yes\nM2,Alan,Turing,95,no\nM3,Grace,Hopper,1000,no\n",
        encoding="utf-8",
    )
    ws.import_file(members, source="club")
    kinds = {name: kind for name, kind, _ in ws.segment_fields()}
    assert (kinds["points"], kinds["gold_member"]) == ("number", "boolean")
    # 900 < 1000 as numbers, though "900" > "1000" as text.
    assert ws.segment_create("big", where="points > 500").members == 2
    assert ws.segment_create("opted in", where="gold_member and points < 950").members == 1


def test_a_segment_export_cannot_smuggle_a_spreadsheet_formula(
    ws: Workspace, tmp_path: Path
) -> None:
    # contacts_small.csv has a first name "=cmd|' /C calc'!A0" (formula injection).
    ws.import_file(DATA / "contacts_small.csv", source="crm")
    ws.segment_create("hackers", where="last_name = 'Hacker'")
    out = tmp_path / "hackers.csv"
    assert ws.segment_export("hackers", out, everyone=True).written == 1
    with out.open(encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["first_name"] == "'=cmd|' /C calc'!A0"


def test_segments_filter_on_encrypted_fields(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "id,first_name,last_name,email,phone,birth_date\n"
        "1,Jürgen,Müller,juergen@mueller.de,+49 30 1234567,1975-04-03\n"
        "2,Petra,Müller,petra@MUELLER.de,,1992-11-30\n"
        "3,Ana,López,ana@lopez.es,+34 612 345 678,\n"
        "4,Bob,Smith,,+1 202 555 0143,1969-07-20\n",
        encoding="utf-8",
    )
    ws.import_file(path, source="crm")
    with ws.engine.connect() as conn:
        emails = conn.execute(text("SELECT email FROM contact WHERE email IS NOT NULL")).all()
    assert emails
    assert all(str(e).startswith("sub1:") for (e,) in emails)

    made: list[str] = []

    def members(where: str) -> list[str]:
        name = f"s{len(made)}"
        made.append(name)
        ws.segment_create(name, where=where)
        return sorted(m["first_name"] for m in ws.segment(name)["sample"])

    assert members("email ilike '%@mueller.de'") == ["Jürgen", "Petra"]
    assert members("email like 'juergen@%' or email like 'Petra%'") == ["Jürgen"]  # case counts
    assert members("not email ilike '%@mueller.de'") == ["Ana", "Bob"]
    assert members("email contains 'LOPEZ' or phone starts with '+1'") == ["Ana", "Bob"]
    assert members("phone is null") == ["Petra"]
    assert members("birth_date < '1980-01-01' and last_name = 'Müller'") == ["Jürgen"]
    assert members("birth_date between '1970-01-01' and '1999-12-31'") == ["Jürgen", "Petra"]
    assert members("email = 'ana@lopez.es'") == ["Ana"]
    shown = ws.segment("s0")["sample"]
    assert sorted(m["email"] for m in shown) == ["juergen@mueller.de", "petra@mueller.de"]

    out = tmp_path / "out.csv"
    ws.segment_export("s0", out, everyone=True)
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # (a leading + is quoted against formula injection)
    assert sorted((r["email"], r["phone"].lstrip("'")) for r in rows) == [
        ("juergen@mueller.de", "+49301234567"),
        ("petra@mueller.de", ""),
    ]
    with pytest.raises(InputError, match="encrypted: compare it with a value"):
        ws.segment_create("odd", where="email = last_name")
