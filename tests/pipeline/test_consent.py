"""Consent history: the latest decision per purpose wins, in segment exports, segment
filters and campaign analysis alike; earlier decisions stay in the table."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from rolodex.workspace import Workspace
from tests.conftest import DATA


def _contact(ws: Workspace, external_id: str) -> int:
    with ws.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT l.contact_id FROM contact_link l JOIN source_record r"
                    " ON r.id = l.source_record_id WHERE r.external_id = :e AND r.kind = 'contacts'"
                ),
                {"e": external_id},
            ).scalar_one()
        )


def _decide(ws: Workspace, contact: int, status: str, when: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO consent (contact_id, purpose, status, lawful_basis, occurred_at,"
                " created_at) VALUES (:c, 'marketing_email', :s, 'consent', :w, :w)"
            ),
            {"c": contact, "s": status, "w": datetime.fromisoformat(when)},
        )


@pytest.fixture
def people(ws: Workspace) -> dict[str, int]:
    """Three customers: one withdrew after granting, one granted after withdrawing, one
    granted once; the others never answered."""
    ws.import_file(DATA / "contacts_small.csv", source="crm")
    ids = {key: _contact(ws, key) for key in ("C001", "C002", "C003")}
    _decide(ws, ids["C001"], "granted", "2024-01-01T10:00:00+00:00")
    _decide(ws, ids["C001"], "withdrawn", "2024-03-01T10:00:00+00:00")
    _decide(ws, ids["C002"], "withdrawn", "2024-01-01T10:00:00+00:00")
    _decide(ws, ids["C002"], "granted", "2024-02-01T10:00:00+00:00")
    _decide(ws, ids["C003"], "granted", "2024-02-01T10:00:00+00:00")
    return ids


def test_segment_export_keeps_only_the_latest_grants(
    ws: Workspace, people: dict[str, int], tmp_path: Path
) -> None:
    ws.segment_create("all", where="contact_id > 0")
    done = ws.segment_export("all", tmp_path / "all.csv")
    with (tmp_path / "all.csv").open(newline="", encoding="utf-8") as fh:
        exported = {int(r["contact_id"]) for r in csv.DictReader(fh)}
    assert exported == {people["C002"], people["C003"]}
    assert done.left_out == ws.segment("all")["members"] - 2
    with ws.engine.connect() as conn:  # the history is kept
        assert conn.execute(text("SELECT count(*) FROM consent")).scalar_one() == 5


def test_the_segment_field_follows_the_latest_decision(
    ws: Workspace, people: dict[str, int]
) -> None:
    info = ws.segment_create("opted in", where="has_marketing_consent")
    assert info.members == 2
    shown = {int(m["id"]) for m in ws.segment("opted in", limit=10)["sample"]}
    assert shown == {people["C002"], people["C003"]}


def test_campaign_analysis_counts_members_without_consent(
    ws: Workspace, people: dict[str, int], tmp_path: Path
) -> None:
    members = tmp_path / "members.csv"
    rows = [("C001", "mail"), ("C002", "mail"), ("C003", "mail"), ("C005", "control")]
    with members.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["customer_id", "campaign", "arm", "responded"])
        for cid, arm in rows:
            out.writerow([cid, "spring", arm, "no"])
    ws.import_file(members, source="crm", kind="campaign_members")
    arms = {r["arm"]: r for r in ws.campaigns().arms.iter_rows(named=True)}
    assert arms["mail"]["without_consent"] == 1  # C001 withdrew
    assert arms["control"]["without_consent"] == 1  # C005 never answered
    assert any("without a granted marketing consent" in n for n in ws.campaigns().notes)
