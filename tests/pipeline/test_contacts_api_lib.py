"""The contacts library under the HTTP API, on the bundled multi-source sample data: lists,
search, the 360° view, ETag-guarded edits and creates with the real-time match, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from rolodex.exceptions import InputError, NotFoundError
from rolodex.pipeline.contacts import CONTACT, PreconditionFailed
from rolodex.workspace import Workspace

SAMPLE = Path(__file__).parents[2] / "src" / "rolodex" / "sample" / "data"


@pytest.fixture
def crm(ws: Workspace) -> Workspace:
    """Shop customers and newsletter subscribers (many the same people), orders, tickets,
    resolved into golden contacts."""
    ws.import_file(SAMPLE / "shop_customers.csv", source="shop", kind="contacts")
    ws.import_file(SAMPLE / "newsletter.csv", source="newsletter", kind="contacts")
    ws.import_file(SAMPLE / "shop_orders.csv", source="shop", kind="orders")
    ws.import_file(SAMPLE / "support_tickets.csv", source="zendesk", kind="tickets")
    ws.resolve()
    return ws


def _query(ws: Workspace, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows as a person reads them: contact columns decrypted (by column name)."""
    with ws.engine.connect() as conn:
        result = conn.execute(text(sql), params)
        names = list(result.keys())
        rows = [dict(zip(names, r, strict=True)) for r in result]
    assert len(set(names)) == len(names), "name every selected column once"
    return [tuple(r[n] for n in names) for r in ws.sealer.open_rows("contact", rows)]


def _current_ids(ws: Workspace) -> list[int]:
    return [int(r[0]) for r in _query(ws, "SELECT id FROM contact WHERE merged_into_id IS NULL")]


def _two_source_contact(ws: Workspace) -> int:
    rows = _query(
        ws,
        "SELECT l.contact_id FROM contact_link l JOIN source_record r ON r.id = l.source_record_id"
        ' JOIN source s ON s.id = r.source_id JOIN "order" o ON o.contact_id = l.contact_id'
        " GROUP BY l.contact_id HAVING count(DISTINCT s.name) = 2 ORDER BY l.contact_id",
    )
    return int(rows[0][0])


def test_pages_cover_every_current_contact_once(crm: Workspace) -> None:
    seen: list[int] = []
    after = None
    while True:
        page = crm.contacts(limit=37, after=after)
        seen.extend(int(c["id"]) for c in page.items)
        after = page.next_cursor
        if after is None:
            break
    assert seen == sorted(set(seen))
    assert seen == sorted(_current_ids(crm))
    assert len(page.to_dict()["items"]) <= 37


def test_filters_narrow_the_list(crm: Workspace) -> None:
    french = crm.contacts(filters={"country": "FR"}, limit=1000).items
    expected = _query(
        crm, "SELECT count(*) FROM contact WHERE country = 'FR' AND merged_into_id IS NULL"
    )
    assert french
    assert len(french) == expected[0][0]
    paris = crm.contacts(filters={"country": "FR", "city": "par*"}, limit=1000).items
    assert paris
    assert all(c["city"].lower().startswith("par") for c in paris)
    orange = crm.contacts(filters={"email_domain": "orange.fr"}, limit=1000).items
    assert orange
    assert all(c["email"].endswith("@orange.fr") for c in orange)
    scoped = crm.contacts(filters={"country": "FR"}, where=CONTACT.c.city == "Paris", limit=1000)
    assert {c["id"] for c in scoped.items} == {c["id"] for c in paris if c["city"] == "Paris"}
    crm.segment_create("first ten", where="contact_id <= 10")
    members = crm.contacts(filters={"segment": "first ten"}).items
    assert [c["id"] for c in members] == sorted(i for i in _current_ids(crm) if i <= 10)
    assert crm.contacts(filters={"created_since": "2000-01-01"}, limit=1).items
    assert not crm.contacts(filters={"created_since": "2999-01-01T00:00:00Z"}).items


def test_bad_filters_and_cursors_are_refused(crm: Workspace) -> None:
    with pytest.raises(InputError, match="unknown filter"):
        crm.contacts(filters={"shoe_size": "42"})
    with pytest.raises(InputError, match="cursor"):
        crm.contacts(after="not-a-cursor")
    with pytest.raises(InputError):
        crm.contacts(filters={"created_since": "yesterday"})
    with pytest.raises(InputError):
        crm.contacts(filters={"company_id": "1 OR 1=1"})


def test_search_by_email_phone_name_and_company(crm: Workspace) -> None:
    email, phone, last, cid = _query(
        crm,
        "SELECT email, phone, last_name, id FROM contact WHERE merged_into_id IS NULL"
        " AND email IS NOT NULL AND phone IS NOT NULL AND last_name IS NOT NULL ORDER BY id",
    )[0]
    found = crm.search(email.upper())
    assert found["kind"] == "email"
    assert cid in [c["id"] for c in found["items"]]
    spaced = f"{phone[:3]} {phone[3:6]} {phone[6:]}"
    by_phone = crm.search(spaced)
    assert by_phone["kind"] == "phone"
    assert cid in [c["id"] for c in by_phone["items"]]
    by_name = crm.search(last[:4].lower(), limit=500)
    assert by_name["kind"] == "name"
    assert cid in [c["id"] for c in by_name["items"]]
    assert all(
        any(
            str(c[f] or "").lower().startswith(last[:4].lower())
            for f in ("last_name", "first_name", "full_name", "company_name")
        )
        for c in by_name["items"]
    )
    company = _query(
        crm,
        "SELECT company_name, id FROM contact WHERE company_name IS NOT NULL"
        " AND merged_into_id IS NULL ORDER BY id",
    )[0]
    assert company[1] in [c["id"] for c in crm.search(company[0][:5], limit=500)["items"]]


@pytest.mark.parametrize(
    "q",
    ["' OR 1=1 --", "%", "_", "%%", "a%", "\\", "x'); DROP TABLE contact; --", '" OR ""="'],
)
def test_search_is_injection_safe(crm: Workspace, q: str) -> None:
    found = crm.search(q, limit=1000)
    assert found["items"] == []
    assert len(_current_ids(crm)) > 100  # the table is still there, whole


def test_360_view_of_a_contact_merged_from_two_sources(crm: Workspace) -> None:
    cid = _two_source_contact(crm)
    view = crm.contact(cid)
    assert view["id"] == cid
    assert view["merged_into"] is None
    sources = {r["source"] for r in view["lineage"]["records"]}
    assert sources == {"shop", "newsletter"}
    record_ids = {r["source_record_id"] for r in view["lineage"]["records"]}
    assert view["lineage"]["fields"]
    assert all(f["source_record_id"] in record_ids for f in view["lineage"]["fields"])
    email_field = next(f for f in view["lineage"]["fields"] if f["field"] == "email")
    assert email_field["source"] in sources
    orders = _query(
        crm, 'SELECT count(*), sum(total_amount) FROM "order" WHERE contact_id = :c', c=cid
    )[0]
    assert view["orders"]["count"] == orders[0] > 0
    assert sum(view["orders"]["revenue"].values()) == pytest.approx(float(orders[1]))
    assert len(view["orders"]["latest"]) == min(orders[0], 50)
    points = {(p["kind"], p["value"]) for p in view["contact_points"]}
    assert ("email", view["email"]) in points
    assert view["etag"].startswith('"')
    json.dumps(view)  # ready for JSON as is


def test_360_follows_a_merged_away_id_and_refuses_unknown_ids(crm: Workspace) -> None:
    first, second = sorted(_current_ids(crm))[:2]
    crm.merge(first, second, reason="same person")
    view = crm.contact(second)
    assert view["id"] == first
    assert view["merged_into"] == first
    assert view["requested_id"] == second
    assert second not in _ids_listed(crm)
    with pytest.raises(NotFoundError):
        crm.contact(10**9)


def _ids_listed(ws: Workspace) -> set[int]:
    return {int(c["id"]) for c in ws.contacts(limit=1000).items}


def test_updates_need_the_current_etag(crm: Workspace) -> None:
    cid = _two_source_contact(crm)
    before = crm.contact(cid)
    with pytest.raises(PreconditionFailed):
        crm.update_contact(cid, {"job_title": "CEO"}, if_match='"0123"')
    done = crm.update_contact(
        cid,
        {"email": " Jane.Doe@Gmial.com ", "phone": "030 1234567", "country": "Germany"},
        if_match=before["etag"],
    )
    assert done["email"] == "jane.doe@gmail.com"  # the typo domain corrected, as on import
    assert done["country"] == "DE"
    assert done["phone"] == "+49301234567"  # read in the new country
    assert done["etag"] != before["etag"]
    with pytest.raises(PreconditionFailed):  # the other editor's copy is stale now
        crm.update_contact(cid, {"job_title": "CEO"}, if_match=before["etag"])
    view = crm.contact(cid)
    manual = {f["field"]: f for f in view["lineage"]["fields"] if f["source"] == "manual"}
    assert set(manual) == {"email", "phone", "country"}
    assert manual["email"]["edited_by"] == "test"
    assert cid in [c["id"] for c in crm.search("jane.doe@gmail.com")["items"]]
    audit = _query(
        crm, "SELECT details FROM audit_log WHERE action = 'contact update' ORDER BY id DESC"
    )
    assert json.loads(audit[0][0]) == {"fields": ["country", "email", "phone"]}
    assert "gmail" not in audit[0][0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": 5}, "read-only"),
        ({"merged_into_id": 5}, "read-only"),
        ({"lineage": {}}, "read-only"),
        ({"shoe_size": 42}, "unknown field"),
        ({"email": "not an address"}, "email"),
        ({"country": "Atlantis"}, "country"),
        ({"birth_date": "31/02/1990"}, "birth_date"),
        ({"first_name": 7}, "expected text"),
    ],
)
def test_bad_edits_are_refused(crm: Workspace, changes: dict[str, Any], message: str) -> None:
    cid = _current_ids(crm)[0]
    before = crm.contact(cid)["etag"]
    with pytest.raises(InputError, match=message):
        crm.update_contact(cid, changes)
    assert crm.contact(cid)["etag"] == before


def test_bulk_updates_keep_going_past_a_bad_item(crm: Workspace) -> None:
    a, b, c = _current_ids(crm)[:3]
    tag = crm.contact(b)["etag"]
    results = crm.update_contacts(
        [
            {"contact_id": a, "changes": {"owner": "alice"}},
            {"contact_id": b, "changes": {"owner": "bob"}, "if_match": '"stale"'},
            {"contact_id": c, "changes": {"email": "broken"}},
            {"contact_id": 10**9, "changes": {"owner": "x"}},
            {"contact_id": c, "changes": {"lifecycle_stage": "customer"}},
        ]
    )
    assert [r["status"] for r in results] == ["updated", "error", "error", "error", "updated"]
    assert [r.get("code") for r in results] == [
        None,
        "precondition_failed",
        "invalid",
        "not_found",
        None,
    ]
    assert crm.contact(a)["owner"] == "alice"
    assert crm.contact(b)["etag"] == tag
    assert crm.contact(c)["lifecycle_stage"] == "customer"


def test_create_reports_then_merges_a_duplicate(crm: Workspace) -> None:
    first, last, email, cid = _query(
        crm,
        "SELECT first_name, last_name, email, id FROM contact WHERE merged_into_id IS NULL"
        " AND first_name IS NOT NULL AND last_name IS NOT NULL AND email IS NOT NULL"
        " ORDER BY id",
    )[0]
    record = {"first_name": first, "last_name": last, "email": email.upper(), "vip": "yes"}
    contacts = len(_current_ids(crm))
    (reported,) = crm.create_contacts([record])
    assert reported.status == "possible_duplicate"
    assert reported.candidates[0]["contact_id"] == cid
    assert reported.candidates[0]["decision"] == "match"
    assert reported.contact_id is None
    assert len(_current_ids(crm)) == contacts  # held back until decided
    (merged,) = crm.create_contacts([record], on_match="merge")
    assert merged.status == "merged"
    assert merged.contact_id == cid
    assert merged.source_record_id == reported.source_record_id  # the same record, settled
    view = crm.contact(cid)
    assert "api" in {r["source"] for r in view["lineage"]["records"]}
    assert view["custom"]["vip"] == "yes"
    assert len(_current_ids(crm)) == contacts
    (again,) = crm.create_contacts([record], on_match="merge")
    assert again.status == "unchanged"
    assert again.contact_id == cid


def test_create_of_a_new_person_and_of_invalid_records(crm: Workspace) -> None:
    new, nobody, bad_type = crm.create_contacts(
        [
            {
                "first_name": "zoë",
                "last_name": "QUIST",
                "email": "zoe.quist@fastmail.com",
                "phone": "+46 70 123 45 67",
                "country": "Sweden",
            },
            {"loyalty": "gold"},
            "Jane Doe",  # type: ignore[list-item]
        ]
    )
    assert new.status == "created"
    assert new.contact_id is not None
    view = crm.contact(new.contact_id)
    assert (view["first_name"], view["last_name"], view["country"]) == ("Zoë", "Quist", "SE")
    assert view["phone"] == "+46701234567"
    assert [c["id"] for c in crm.search("zoe.quist@fastmail.com")["items"]] == [new.contact_id]
    assert nobody.status == "invalid"
    assert nobody.contact_id is None
    assert any("nothing identifies" in r for r in nobody.reasons)
    assert bad_type.status == "invalid"
    quarantined = _query(
        crm, "SELECT status FROM source_record WHERE id = :r", r=nobody.source_record_id
    )
    assert quarantined == [("quarantined",)]


def test_bulk_create_gives_a_result_per_record(crm: Workspace) -> None:
    known = _query(
        crm,
        "SELECT first_name, last_name, email, id FROM contact WHERE merged_into_id IS NULL"
        " AND first_name IS NOT NULL AND last_name IS NOT NULL AND email IS NOT NULL"
        " ORDER BY id LIMIT 100",
    )
    records: list[dict[str, Any]] = []
    expected: list[tuple[str, int | None]] = []
    for i in range(300):
        if i % 3 == 0:
            first, last, email, cid = known[i // 3]
            records.append({"first_name": first, "last_name": last, "email": email})
            expected.append(("merged", int(cid)))
        elif i % 3 == 1:
            records.append(
                {
                    "first_name": f"Newperson{i}",
                    "last_name": "Testington",
                    "email": f"newperson{i}@fastmail.com",
                    "record_id": f"api-{i}",
                }
            )
            expected.append(("created", None))
        else:
            records.append({"city": "Nowhere", "record_id": f"api-{i}" if i % 2 else None})
            expected.append(("invalid", None))
    results = crm.create_contacts(records, on_match="merge")
    assert [r.index for r in results] == list(range(300))
    assert [r.status for r in results] == [s for s, _ in expected]
    assert [r.contact_id for r in results if r.status == "merged"] == [
        c for s, c in expected if s == "merged"
    ]
    created = [r.contact_id for r in results if r.status == "created"]
    assert len(set(created)) == 100
    assert all(r.reasons for r in results if r.status == "invalid")
    batch = _query(
        crm,
        "SELECT rows_read, rows_accepted, rows_quarantined, status FROM import_batch"
        " ORDER BY id DESC LIMIT 1",
    )
    assert batch == [(300, 200, 100, "completed")]


def test_without_a_model_creates_match_on_exact_keys(ws: Workspace) -> None:
    ws.import_file(SAMPLE / "shop_customers.csv", source="shop", kind="contacts")
    email, cid = _query(ws, "SELECT email, id FROM contact WHERE email IS NOT NULL ORDER BY id")[0]
    dup, fresh = ws.create_contacts(
        [{"first_name": "Someone", "email": email}, {"first_name": "Other", "email": "o@gmx.de"}]
    )
    assert dup.status == "possible_duplicate"
    assert dup.candidates == [
        {"contact_id": cid, "probability": None, "decision": "match", "matched_on": "key"}
    ]
    assert fresh.status == "created"


def test_a_malformed_stored_email_is_found_exactly(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "id,first_name,last_name,email\n"
        "1,Chiara,Caruso,chiara.caruso(at)virgilio.it\n"
        "2,Amelia,Williams,amelia.williams@\n",
        encoding="utf-8",
    )
    ws.import_file(path, source="odd")
    for q in ("chiara.caruso(at)virgilio.it", "amelia.williams@"):
        found = ws.search(q)
        assert [i["first_name"] for i in found["items"]] in (["Chiara"], ["Amelia"])


def _people(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "id,first_name,last_name,email,phone,country,birth_date\n"
        "1,Jürgen,Müller,juergen@mueller.de,030 1234567,DE,1975-04-03\n"
        "2,Ana,López,ana@lopez.es,+34 612 345 678,ES,\n",
        encoding="utf-8",
    )
    ws.import_file(path, source="crm")


def test_search_finds_encrypted_emails_and_phones(ws: Workspace, tmp_path: Path) -> None:
    _people(ws, tmp_path)
    with ws.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT value FROM contact_point WHERE kind IN ('email', 'phone')")
        ).all()
    assert len(stored) == 4
    assert all(str(v).startswith("sub1:") for (v,) in stored)

    by_email = ws.search(" Juergen@Mueller.DE")
    assert by_email["kind"] == "email"
    (found,) = by_email["items"]
    assert (found["last_name"], found["email"]) == ("Müller", "juergen@mueller.de")
    assert (found["phone"], found["birth_date"]) == ("+49301234567", "1975-04-03")
    by_phone = ws.search("+49 30 123 4567")
    assert by_phone["kind"] == "phone"
    assert [c["id"] for c in by_phone["items"]] == [found["id"]]
    scoped = ws.search("+34612345678", where=CONTACT.c.country == "ES")
    assert [c["email"] for c in scoped["items"]] == ["ana@lopez.es"]
    assert not ws.search("+34612345678", where=CONTACT.c.country == "DE")["items"]

    view = ws.contact(found["id"])
    assert {p["value"] for p in view["contact_points"]} >= {"juergen@mueller.de", "+49301234567"}
    assert view["etag"] == found["etag"] == ws.contact(found["id"])["etag"]  # stable
    listed = ws.contacts(filters={"email_domain": "LOPEZ.es"}).items
    assert [c["last_name"] for c in listed] == ["López"]


def test_edits_are_stored_encrypted_and_found(ws: Workspace, tmp_path: Path) -> None:
    _people(ws, tmp_path)
    (ana,) = ws.search("ana@lopez.es")["items"]
    changed = ws.update_contact(
        ana["id"],
        {"email": "Ana.Lopez@Example.ES", "birth_date": "1990-02-01"},
        if_match=ana["etag"],
    )
    assert (changed["email"], changed["birth_date"]) == ("ana.lopez@example.es", "1990-02-01")
    assert changed["etag"] == ws.contact(ana["id"])["etag"]
    with ws.engine.connect() as conn:
        email, birth = conn.execute(
            text("SELECT email, birth_date FROM contact WHERE id = :id"), {"id": ana["id"]}
        ).one()
        points = conn.execute(
            text("SELECT value, is_primary FROM contact_point WHERE contact_id = :id"),
            {"id": ana["id"]},
        ).all()
    assert str(email).startswith("sub1:")
    assert str(birth).startswith("sub1:")
    assert all(str(v).startswith("sub1:") for v, _ in points)
    assert [c["id"] for c in ws.search("ana.lopez@example.es")["items"]] == [ana["id"]]
    # Setting the same email again finds the point it holds rather than adding one.
    again = ws.update_contact(ana["id"], {"email": "ana@lopez.es"}, if_match=None)
    ws.update_contact(ana["id"], {"email": "ana.lopez@example.es"}, if_match=again["etag"])
    view = ws.contact(ana["id"])
    emails = [p for p in view["contact_points"] if p["kind"] == "email"]
    assert sorted(p["value"] for p in emails) == ["ana.lopez@example.es", "ana@lopez.es"]
    assert [p["value"] for p in emails if p["is_primary"]] == ["ana.lopez@example.es"]
