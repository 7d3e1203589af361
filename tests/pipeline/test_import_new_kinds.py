"""Subscriptions, deals and campaign members through the real import, on SQLite and
PostgreSQL: rows, stubs, lineage, re-import, undo, and following customers to golden contacts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import text

from rolodex.workspace import Workspace
from tests.conftest import DATA

HILLSTROM = DATA / "hillstrom_email" / "hillstrom.csv.gz"
MEMBERS = 300


def rows(ws: Workspace, sql: str, **params: Any) -> list[Any]:
    with ws.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def scalar(ws: Workspace, sql: str, **params: Any) -> Any:
    with ws.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def utc(value: Any) -> datetime:
    """Read a stored timestamp (an aware datetime, or text on SQLite) as aware UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture
def hillstrom(tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    """The first rows of the Hillstrom e-mail test as a campaign member file."""
    frame = (
        pl.read_csv(HILLSTROM, n_rows=MEMBERS, schema_overrides={"spend": pl.Float64})
        .with_row_index("customer_id", offset=1)
        .with_columns(pl.lit("hillstrom 2008").alias("campaign"))
    )
    frame = frame.select("customer_id", "campaign", *frame.columns[1:-1])
    path = tmp_path / "hillstrom_members.csv"
    frame.write_csv(path)
    return path, frame


def test_hillstrom_members_land_with_flags_and_arms(
    ws: Workspace, hillstrom: tuple[Path, pl.DataFrame]
) -> None:
    path, frame = hillstrom
    summary = ws.import_file(path, source="mail")  # detected as campaign members

    assert summary.kind == "campaign_members"
    assert (summary.read, summary.accepted, summary.quarantined) == (MEMBERS, MEMBERS, 0)
    assert summary.reconciles
    assert summary.stubs == MEMBERS  # every customer is new: a minimal contact each
    assert scalar(ws, "SELECT count(*) FROM contact") == MEMBERS
    assert [tuple(r) for r in rows(ws, "SELECT name FROM campaign")] == [("hillstrom 2008",)]

    stored = rows(
        ws,
        "SELECT r.record_key, m.arm, m.responded, m.converted, m.revenue, m.contact_id,"
        " s.row_number FROM campaign_member m JOIN source_record s ON s.id = m.source_record_id"
        " JOIN source_record r ON r.id = m.customer_record_id ORDER BY s.row_number",
    )
    assert len(stored) == MEMBERS
    # Arms exactly as in the file, every member with its own flags and revenue.
    got = pl.DataFrame(
        {
            "customer_id": [int(r.record_key) for r in stored],
            "segment": [r.arm for r in stored],
            "visit": [int(r.responded) for r in stored],
            "conversion": [int(r.converted) for r in stored],
            "spend": [float(r.revenue) for r in stored],
        }
    )
    want = frame.select(
        pl.col("customer_id").cast(pl.Int64), "segment", "visit", "conversion", "spend"
    )
    assert got.equals(want.cast(got.schema))
    assert set(got["segment"]) == {"Mens E-Mail", "Womens E-Mail", "No E-Mail"}
    assert len({r.contact_id for r in stored}) == MEMBERS  # one golden contact per member
    # Counts reconcile per arm with the file.
    per_arm = rows(
        ws,
        "SELECT arm, count(*), sum(CASE WHEN responded THEN 1 ELSE 0 END),"
        " sum(CASE WHEN converted THEN 1 ELSE 0 END) FROM campaign_member GROUP BY arm",
    )
    expected = frame.group_by("segment").agg(
        pl.len(), pl.col("visit").sum(), pl.col("conversion").sum()
    )
    assert {(a, int(n), int(v), int(c)) for a, n, v, c in per_arm} == set(expected.iter_rows())

    # The raw row is kept verbatim; the columns no field takes stay there.
    sealed = scalar(ws, "SELECT payload FROM source_record WHERE kind = 'campaign_members' LIMIT 1")
    assert sealed.startswith("sub1:")  # encrypted at rest
    payload = json.loads(ws.sealer.open_one("payload", sealed))
    assert set(payload) == set(frame.columns)

    again = ws.import_file(path, source="mail", kind="campaign_members")
    assert (again.unchanged, again.accepted, again.updated) == (MEMBERS, 0, 0)
    assert scalar(ws, "SELECT count(*) FROM campaign_member") == MEMBERS

    assert summary.batch_id is not None
    undone = ws.undo_import(summary.batch_id)
    assert undone.removed_records == 2 * MEMBERS  # the members and their stub customers
    for name in ("campaign_member", "campaign", "contact", "source_record"):
        assert scalar(ws, f"SELECT count(*) FROM {name}") == 0, name


def test_a_customer_is_in_a_campaign_once(ws: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "Customer ID,Campaign,Variant,Clicked\n"
        "1,spring,A,yes\n"
        "2,spring,B,no\n"
        "1,spring,B,no\n"  # the same customer again: quarantined, not a crash
        "1,summer,A,no\n",
        encoding="utf-8",
    )
    summary = ws.import_file(first, source="mail", kind="campaign_members")
    assert (summary.accepted, summary.quarantined) == (3, 1)
    issues = json.loads(scalar(ws, "SELECT issues FROM source_record WHERE status = 'quarantined'"))
    assert issues[0]["message"] == (
        "duplicate campaign member: customer '1' is already in campaign 'spring'"
        " (from first.csv row 2); a customer is a member of a campaign once"
    )
    spring = rows(
        ws,
        "SELECT arm FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id"
        " WHERE c.name = 'spring' ORDER BY arm",
    )
    assert [tuple(r) for r in spring] == [("A",), ("B",)]
    # The import summary names the repeat too, with its row.
    assert [(p.message[:33], p.example_row) for p in summary.problems] == [
        ("duplicate campaign member: custom", 4)
    ]

    again = ws.import_file(first, source="mail", kind="campaign_members")
    assert (again.unchanged, again.accepted, again.quarantined) == (4, 0, 0)

    # Member rows with ids of their own naming a membership the store holds: quarantined,
    # with a pointer to the row that holds it.
    second = tmp_path / "second.csv"
    second.write_text(
        "Campaign Member ID,Customer ID,Campaign,Variant\nX1,2,spring,C\nX2,3,spring,C\n",
        encoding="utf-8",
    )
    later = ws.import_file(second, source="mail", kind="campaign_members")
    assert (later.accepted, later.quarantined) == (1, 1)
    assert "(from first.csv row 3)" in scalar(
        ws, "SELECT issues FROM source_record WHERE status = 'quarantined' AND file = 'second.csv'"
    )
    # Rows without member ids are known by their content: new outcomes for a membership
    # the store holds repeat it (undo the earlier import to replace it).
    third = tmp_path / "third.csv"
    third.write_text("Customer ID,Campaign,Variant\n2,spring,D\n", encoding="utf-8")
    repeat = ws.import_file(third, source="mail", kind="campaign_members")
    assert (repeat.updated, repeat.accepted, repeat.quarantined) == (0, 0, 1)
    assert scalar(ws, "SELECT count(*) FROM campaign_member") == 4
    assert sorted(r[0] for r in rows(ws, "SELECT arm FROM campaign_member")) == ["A", "A", "B", "C"]


def test_a_changed_member_row_replaces_its_membership(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "Campaign Member ID,Email,Campaign,Group,Converted,Revenue\n"
        "M1,ann@example.com,launch,treatment,0,0\n"
        "M2,bob@example.com,launch,control,0,0\n",
        encoding="utf-8",
    )
    ws.import_file(path, source="shop", kind="campaign_members")
    path.write_text(
        "Campaign Member ID,Email,Campaign,Group,Converted,Revenue\n"
        "M1,ann@example.com,launch,treatment,1,49.90\n"
        "M2,bob@example.com,launch,control,0,0\n",
        encoding="utf-8",
    )
    summary = ws.import_file(path, source="shop", kind="campaign_members")
    assert (summary.updated, summary.unchanged) == (1, 1)
    stored = rows(
        ws,
        "SELECT r.external_id, m.arm, m.converted, m.revenue FROM campaign_member m"
        " JOIN source_record r ON r.id = m.source_record_id ORDER BY r.external_id",
    )
    assert [(e, a, bool(c), float(v)) for e, a, c, v in stored] == [
        ("M1", "treatment", True, 49.9),
        ("M2", "control", False, 0.0),
    ]
    # Stubs by email: the customers are found again by their address, not duplicated.
    assert scalar(ws, "SELECT count(*) FROM contact") == 2
    assert summary.batch_id is not None
    ws.undo_import(summary.batch_id)  # the earlier version comes back, membership and all
    assert float(
        scalar(ws, "SELECT revenue FROM campaign_member WHERE arm = 'treatment'")
    ) == pytest.approx(0.0)
    assert scalar(ws, "SELECT count(*) FROM campaign_member") == 2


def test_response_dates_and_control_flags(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "Customer ID,Campaign,Holdout,Response Date,Status\n"
        "1,autumn,no,2024-10-03,Sent\n"
        "2,autumn,no,,Sent\n"
        "3,autumn,yes,,Converted\n",
        encoding="utf-8",
    )
    ws.import_file(path, source="crm", kind="campaign_members")
    stored = rows(
        ws,
        "SELECT r.record_key, m.arm, m.responded, m.responded_at, m.converted, m.status"
        " FROM campaign_member m JOIN source_record r ON r.id = m.customer_record_id"
        " ORDER BY r.record_key",
    )
    # A response date means a response, its absence none; the status says the conversion.
    assert [(k, a, bool(r), c if c is None else bool(c)) for k, a, r, _, c, _ in stored] == [
        ("1", None, True, False),
        ("2", None, False, False),
        ("3", "control", False, True),
    ]
    assert utc(stored[0].responded_at) == datetime(2024, 10, 3, tzinfo=UTC)


def test_a_member_follows_its_customer_to_the_golden_contact(ws: Workspace, tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    members.write_text(
        "Customer ID,Customer Email,Campaign,Segment,Visit\n"
        "K1,ada@example.com,spring,A,1\n"
        "K2,,spring,B,0\n",
        encoding="utf-8",
    )
    ws.import_file(members, source="shop", kind="campaign_members")
    # The shop's contact file sends customer K1 later: the stub gets its real version.
    people = tmp_path / "people.csv"
    people.write_text("Customer ID,First Name,Email\nK1,Ada,ada@example.com\n", encoding="utf-8")
    ws.import_file(people, source="shop", kind="contacts")
    assert (
        scalar(
            ws,
            "SELECT c.first_name FROM campaign_member m JOIN contact c ON c.id = m.contact_id"
            " WHERE m.arm = 'A'",
        )
        == "Ada"
    )

    # The CRM knows K2 as Grace; merging the two contacts moves K2's membership along.
    crm = tmp_path / "crm.csv"
    crm.write_text("Contact ID,First Name,Last Name\nC7,Grace,Hopper\n", encoding="utf-8")
    ws.import_file(crm, source="crm", kind="contacts")
    grace = scalar(ws, "SELECT id FROM contact WHERE first_name = 'Grace'")
    member = "SELECT contact_id FROM campaign_member WHERE arm = 'B'"
    stub_contact = scalar(ws, member)
    stub_record = scalar(
        ws, "SELECT id FROM source_record WHERE record_key = 'K2' AND kind = 'contacts'"
    )
    ws.merge(grace, stub_contact, reason="same person")
    assert scalar(ws, member) == grace
    ws.unmerge(grace, stub_record, reason="not the same after all")
    back = scalar(ws, member)
    assert back != grace
    assert back == scalar(
        ws, "SELECT contact_id FROM contact_link WHERE source_record_id = :r", r=stub_record
    )


def test_deals_with_percent_probability_and_outcomes(ws: Workspace, tmp_path: Path) -> None:
    companies = tmp_path / "accounts.csv"
    companies.write_text("Account ID,Account Name\nA1,Acme Corp\nA2,Globex\n", encoding="utf-8")
    ws.import_file(companies, source="sf", kind="companies")
    deals = tmp_path / "opportunities.csv"
    deals.write_text(
        "Opportunity ID,Opportunity Name,Account Name,Account ID,Contact ID,Stage,Amount,"
        "Probability (%),Close Date,Opportunity Owner,Won,Closed\n"
        'O1,Acme renewal,Acme Corp,A1,C1,Closed Won,"12,000.00",100,2024-03-31,Kim,1,1\n'
        "O2,Globex pilot,Globex,,C2,Negotiation,5000,60,2024-06-30,Lee,0,0\n"
        "O3,Initech,Initech,,,Closed Lost,800,0,2024-02-15,Kim,0,1\n"
        "O4,Nobody,,,,Prospecting,100,10,2024-09-30,Kim,0,0\n",
        encoding="utf-8",
    )
    summary = ws.import_file(deals, source="sf")  # detected as deals
    assert summary.kind == "deals"
    assert (summary.accepted, summary.quarantined) == (3, 1)
    assert "the deal names neither a contact" in scalar(
        ws, "SELECT issues FROM source_record WHERE status = 'quarantined'"
    )
    assert summary.stubs == 2  # contacts C1 and C2; O3 belongs to its account only
    stored = {
        r.name: r
        for r in rows(
            ws,
            "SELECT d.name, d.stage, d.amount, d.probability, d.is_won, d.expected_close_date,"
            " d.closed_at, d.owner, d.contact_id, c.name AS company FROM deal d"
            " LEFT JOIN company c ON c.id = d.company_id",
        )
    }
    renewal, pilot, initech = stored["Acme renewal"], stored["Globex pilot"], stored["Initech"]
    assert [renewal.probability, pilot.probability, initech.probability] == [1.0, 0.6, 0.0]
    assert (renewal.is_won, pilot.is_won, initech.is_won) == (True, None, False)
    assert float(renewal.amount) == 12000.0
    assert renewal.company == "Acme Corp"  # by the account id
    assert pilot.company == "Globex"  # by the exact name
    assert initech.company is None
    assert initech.contact_id is None
    assert str(pilot.expected_close_date)[:10] == "2024-06-30"
    # A closed deal closed on its close date; an open one has not closed.
    assert utc(renewal.closed_at) == datetime(2024, 3, 31, tzinfo=UTC)
    assert utc(initech.closed_at) == datetime(2024, 2, 15, tzinfo=UTC)
    assert pilot.closed_at is None
    assert renewal.contact_id is not None


def test_hubspot_deals_outcome_from_stage_and_fraction_probability(
    ws: Workspace, tmp_path: Path
) -> None:
    deals = tmp_path / "hubspot-deals.csv"
    deals.write_text(
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Deal probability,Close Date,Deal owner,"
        "Associated Contact\n"
        "101,Big one,closedwon,Sales Pipeline,900,1,2024-05-02,Sam,Ann Lee (ann@example.com)\n"
        "102,Small one,Appointment scheduled,Sales Pipeline,90,0.2,2024-07-01,Sam,"
        "Bo Chan (bo@example.com)\n",
        encoding="utf-8",
    )
    summary = ws.import_file(deals, source="hubspot", kind="deals")
    assert (summary.accepted, summary.stubs) == (2, 2)
    stored = rows(
        ws,
        "SELECT d.name, d.is_won, d.probability, d.pipeline, p.email FROM deal d"
        " JOIN contact p ON p.id = d.contact_id ORDER BY d.name",
    )
    assert all(r[4].startswith("sub1:") for r in stored)  # the stubs' emails are sealed
    stored = [(*r[:4], ws.sealer.open_one("email", r[4])) for r in stored]
    assert [tuple(r) for r in stored] == [
        ("Big one", True, 1.0, "Sales Pipeline", "ann@example.com"),
        ("Small one", None, 0.2, "Sales Pipeline", "bo@example.com"),
    ]
    assert summary.batch_id is not None
    ws.undo_import(summary.batch_id)
    assert scalar(ws, "SELECT count(*) FROM deal") == 0
    assert scalar(ws, "SELECT count(*) FROM contact") == 0


def test_stripe_subscriptions_with_cancellations(ws: Workspace, tmp_path: Path) -> None:
    export = tmp_path / "subscriptions.csv"
    export.write_text(
        "id,Customer ID,Customer Email,Plan,Interval,Amount,Status,Created (UTC),"
        "Start Date (UTC),Canceled At (UTC),Ended At (UTC)\n"
        "sub_1,cus_1,ann@example.com,Pro,month,29.00,active,2024-01-01 09:00,"
        "2024-01-01 09:00,,\n"
        "sub_2,cus_2,bo@example.com,Pro,year,300.00,canceled,2023-05-01 10:00,"
        "2023-05-01 10:00,2024-02-10 08:30,2024-05-01 10:00\n"
        "sub_3,cus_3,cy@example.com,Basic,month,9.00,canceled,2023-07-01 00:00,"
        "2023-07-01 00:00,2023-12-24 12:00,\n",
        encoding="utf-8",
    )
    summary = ws.import_file(export, source="stripe")  # detected as subscriptions
    assert summary.kind == "subscriptions"
    assert (summary.accepted, summary.stubs) == (3, 3)
    stored = {
        r.external_id: r
        for r in rows(
            ws,
            "SELECT s.external_id, b.plan, b.status, b.started_at, b.cancelled_at,"
            " b.monthly_amount, b.currency, b.contact_id FROM subscription b"
            " JOIN source_record s ON s.id = b.source_record_id",
        )
    }
    assert float(stored["sub_1"].monthly_amount) == 29.0
    assert float(stored["sub_2"].monthly_amount) == 25.0  # a year's price, per month
    assert stored["sub_1"].cancelled_at is None
    # Ended beats the date the cancellation was asked for: revenue stopped then.
    assert utc(stored["sub_2"].cancelled_at) == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert utc(stored["sub_3"].cancelled_at) == datetime(2023, 12, 24, 12, tzinfo=UTC)
    assert utc(stored["sub_3"].started_at).date() == date(2023, 7, 1)
    assert all(r.contact_id is not None for r in stored.values())

    again = ws.import_file(export, source="stripe", kind="subscriptions")
    assert again.unchanged == 3
    assert summary.batch_id is not None
    ws.undo_import(summary.batch_id)
    assert scalar(ws, "SELECT count(*) FROM subscription") == 0
    assert scalar(ws, "SELECT count(*) FROM source_record") == 0


def test_dry_run_of_a_members_file_writes_nothing(
    ws: Workspace, hillstrom: tuple[Path, pl.DataFrame]
) -> None:
    before = ws.counts()
    preview = ws.preview(hillstrom[0])
    assert preview.kind == "campaign_members"
    assert ("segment", "arm") in {(c, t) for c, t, _ in preview.mapping}
    assert ws.counts() == before


def test_repeats_across_chunks_are_quarantined_on_first_and_later_loads(
    ws: Workspace, tmp_path: Path
) -> None:
    """Chunks of 50 rows: a repeat 60 rows on lands in another chunk than its first row."""
    header = "Customer ID,Campaign,Variant,Clicked\n"
    first = tmp_path / "first.csv"
    first.write_text(
        header
        + "".join(f"{n},launch,A,no\n" for n in range(1, 61))
        + "".join(f"{n},launch,B,yes\n" for n in range(1, 61)),
        encoding="utf-8",
    )
    loaded = ws.import_file(first, source="mail", kind="campaign_members")  # a first load
    assert (loaded.accepted, loaded.quarantined) == (60, 60)
    assert scalar(ws, "SELECT count(*) FROM campaign_member WHERE arm = 'B'") == 0

    # The same shape into a source that holds members already (keys are looked up).
    second = tmp_path / "second.csv"
    second.write_text(
        header
        + "".join(f"{n},relaunch,A,no\n" for n in range(1, 61))
        + "".join(f"{n},relaunch,B,yes\n" for n in range(1, 61)),
        encoding="utf-8",
    )
    later = ws.import_file(second, source="mail", kind="campaign_members")
    assert (later.accepted, later.updated, later.quarantined) == (60, 0, 60)
    assert scalar(ws, "SELECT count(*) FROM campaign_member") == 120
    assert scalar(ws, "SELECT count(*) FROM campaign_member WHERE responded") == 0

    again = ws.import_file(second, source="mail", kind="campaign_members")
    assert (again.unchanged, again.accepted, again.quarantined) == (120, 0, 0)


def test_activity_of_the_new_kinds_follows_a_resolve(ws: Workspace, tmp_path: Path) -> None:
    people = Path(__file__).parents[1] / "resolve" / "data"
    ws.import_file(people / "crm.csv", source="crm", kind="contacts")
    ws.import_file(people / "shop.csv", source="shop", kind="contacts")
    files = {
        "campaign_members": "Customer ID,Campaign,Variant,Clicked\ns1,promo,A,yes\ns2,promo,B,no\n",
        "subscriptions": "Customer ID,Plan,Start Date\ns1,Pro,2024-01-01\ns2,Basic,2024-02-01\n",
        "deals": "Contact ID,Deal Name,Stage,Amount\ns1,Upsell,Closed Won,100\ns2,Pilot,Open,50\n",
    }
    for kind, content in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        assert ws.import_file(path, source="shop", kind=kind).stubs == 0  # known customers

    def owners() -> set[tuple[str, str, int]]:
        found = set()
        for name in ("campaign_member", "subscription", "deal"):
            found |= {
                (name, str(r.record_key), int(r.contact_id))
                for r in rows(
                    ws,
                    f"SELECT s.record_key, t.contact_id FROM {name} t"
                    " JOIN source_record s ON s.id = t.customer_record_id",
                )
            }
        return found

    def contact_of(source: str, key: str) -> int:
        return int(
            scalar(
                ws,
                "SELECT l.contact_id FROM contact_link l JOIN source_record r"
                " ON r.id = l.source_record_id JOIN source s ON s.id = r.source_id"
                " WHERE s.name = :s AND r.record_key = :k",
                s=source,
                k=key,
            )
        )

    shop = {key: contact_of("shop", key) for key in ("s1", "s2")}
    tables = ("campaign_member", "subscription", "deal")
    assert owners() == {(t, k, shop[k]) for t in tables for k in shop}
    ws.resolve()
    # The shop's Jane and Bob are the CRM's c1 and c2: their rows moved to those contacts.
    assert contact_of("shop", "s1") == contact_of("crm", "c1")
    assert contact_of("shop", "s2") == contact_of("crm", "c2")
    assert owners() == {(t, k, contact_of("shop", k)) for t in tables for k in shop}
    merged_away = {shop["s1"], shop["s2"]} - {contact_of("crm", "c1"), contact_of("crm", "c2")}
    assert merged_away  # the shop's contacts were merged into the CRM's
    assert not merged_away & {c for _, _, c in owners()}
