"""Resolve end to end on both databases: matching with hard negatives, golden records with
lineage, merge and unmerge round trips, stickiness, the review queue, explain, dry runs."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from rolodex.config import ResolveSettings, Settings
from rolodex.exceptions import AlreadyDecided, InputError
from rolodex.workspace import Workspace

DATA = Path(__file__).parent / "data"


@pytest.fixture
def two_sources(ws: Workspace) -> Workspace:
    """A CRM export and a shop export of the same people, plus hard negatives."""
    ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
    ws.import_file(DATA / "shop.csv", source="shop", kind="contacts")
    return ws


def _links(ws: Workspace, tmp_path: Path) -> dict[str, int]:
    out = tmp_path / "links.csv"
    ws.export("links", out)
    with out.open(newline="", encoding="utf-8") as fh:
        return {
            f"{r['source']}:{r['external_id']}": int(r["contact_id"]) for r in csv.DictReader(fh)
        }


def _import_and_resolve(ws: Workspace, tmp_path: Path, **files: str) -> dict[str, int]:
    """Import each source's CSV text as contacts, resolve, and return the links."""
    for source, content in files.items():
        path = tmp_path / f"{source}.csv"
        path.write_text(content, encoding="utf-8")
        ws.import_file(path, source=source, kind="contacts")
    ws.resolve()
    return _links(ws, tmp_path)


def _query(ws: Workspace, sql: str, **params: object) -> list[tuple[object, ...]]:
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _without_times(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def _record(ws: Workspace, source: str, external_id: str) -> int:
    rows = _query(
        ws,
        "SELECT r.id FROM source_record r JOIN source s ON s.id = r.source_id"
        " WHERE s.name = :s AND r.external_id = :e",
        s=source,
        e=external_id,
    )
    return int(str(rows[0][0]))


def test_resolve_joins_the_same_people_and_keeps_hard_negatives_apart(
    two_sources: Workspace, tmp_path: Path
) -> None:
    summary = two_sources.resolve()
    links = _links(two_sources, tmp_path)
    for crm, shop in (("c1", "s1"), ("c2", "s2"), ("c7", "s3"), ("c8", "s4")):
        assert links[f"crm:{crm}"] == links[f"shop:{shop}"], (crm, shop)
    # A household (same address and landline) and colleagues on a role mailbox stay apart.
    assert links["crm:c3"] != links["crm:c4"]
    assert links["crm:c5"] != links["crm:c6"]
    assert len(set(links.values())) == 9
    assert summary.records == 13
    assert summary.clusters == 9
    assert summary.contacts_merged_away == 4
    assert summary.trained
    live = _query(two_sources, "SELECT count(*) FROM contact WHERE merged_into_id IS NULL")
    assert live == [(9,)]


def test_golden_values_carry_lineage_and_points_are_distinct(
    two_sources: Workspace, tmp_path: Path
) -> None:
    two_sources.resolve()
    contact = _links(two_sources, tmp_path)["crm:c1"]
    found = two_sources.explain(contact)
    ids = {r["source_record_id"] for r in found["records"]}
    assert ids == {_record(two_sources, "crm", "c1"), _record(two_sources, "shop", "s1")}
    values = {v["field"]: v for v in found["values"]}
    assert values["first_name"]["value"] == "Jane"
    assert values["city"]["value"] == "London"
    assert all(v["source_record_id"] in ids for v in found["values"])
    assert {v["source"] for v in found["values"]} <= {"crm", "shop"}
    # Both addresses share one Gmail match key (dots and +tag folded): one email point.
    stored = _query(
        two_sources,
        "SELECT kind, value, is_primary FROM contact_point WHERE contact_id = :c ORDER BY kind",
        c=contact,
    )
    points = [
        (r["kind"], r["value"], r["is_primary"])
        for r in two_sources.sealer.open_rows(
            "contact_point",
            [dict(zip(("kind", "value", "is_primary"), p, strict=True)) for p in stored],
        )
    ]
    emails = [p for p in points if p[0] == "email"]
    phones = [p for p in points if p[0] == "phone"]
    assert len(emails) == 1
    assert len(phones) == 1
    assert phones[0][1] == "+442079460001"
    assert sum(1 for p in points if p[0] == "address" and p[2]) == 1
    # Every record says why it belongs.
    assert all(r["probability"] and r["probability"] > 0.8 for r in found["records"])
    assert all(r["deciding_fields"] for r in found["records"])


def test_model_is_stored_and_reused_until_retrained(two_sources: Workspace) -> None:
    first = two_sources.resolve()
    second = two_sources.resolve()
    assert first.trained
    assert not second.trained
    assert second.records_moved == 0
    assert second.contacts_merged_away == 0
    third = two_sources.resolve(retrain=True)
    assert third.trained
    assert _query(two_sources, "SELECT count(*) FROM match_model") == [(2,)]


def test_a_model_from_an_older_version_is_trained_anew(two_sources: Workspace) -> None:
    """A stored model whose comparison levels this version no longer has is not reused."""
    import json

    from rolodex.resolve.run import latest_model

    two_sources.resolve()
    with two_sources.engine.begin() as conn:
        stored = latest_model(conn)
        assert stored is not None
        old = stored[0]
        old["comparisons"][0]["comparison_levels"].pop(2)  # a level this version added
        conn.execute(
            text("UPDATE match_model SET model = :m WHERE entity = 'contact'"),
            {"m": json.dumps(old)},
        )
    again = two_sources.resolve()
    assert again.trained
    assert again.mode == "full"
    assert _query(two_sources, "SELECT count(*) FROM match_model") == [(2,)]


def test_dry_run_reports_and_changes_nothing(two_sources: Workspace, tmp_path: Path) -> None:
    before = _links(two_sources, tmp_path)
    summary = two_sources.resolve(dry_run=True)
    assert summary.dry_run
    assert summary.records_moved == 4
    assert summary.examples
    assert any("Jane Doe" in e["names"] for e in summary.examples)
    assert _links(two_sources, tmp_path) == before
    assert _query(two_sources, "SELECT count(*) FROM merge_event") == [(0,)]
    assert _query(two_sources, "SELECT count(*) FROM match_model") == [(0,)]


def test_merge_then_unmerge_restores_the_previous_state(
    two_sources: Workspace, tmp_path: Path
) -> None:
    two_sources.resolve()
    before = _links(two_sources, tmp_path)
    contacts_before = tmp_path / "before.csv"
    two_sources.export("contacts", contacts_before)
    john, mary = before["crm:c3"], before["crm:c4"]
    done = two_sources.merge(john, mary, reason="same person, says the customer")
    merged = _links(two_sources, tmp_path)
    assert merged["crm:c3"] == merged["crm:c4"] == john
    assert two_sources.explain(mary)["contact_id"] == john  # the old id redirects
    assert done["records"] == [_record(two_sources, "crm", "c4")]

    two_sources.unmerge(john, _record(two_sources, "crm", "c4"), reason="two people after all")
    assert _links(two_sources, tmp_path) == before  # Mary gets her own id back
    contacts_after = tmp_path / "after.csv"
    two_sources.export("contacts", contacts_after)
    with contacts_before.open() as a, contacts_after.open() as b:
        assert _without_times(csv.DictReader(a)) == _without_times(csv.DictReader(b))
    actions = _query(two_sources, "SELECT action, actor, reason FROM merge_event ORDER BY id")
    assert actions[-2:] == [
        ("merge", "test", "same person, says the customer"),
        ("unmerge", "test", "two people after all"),
    ]


def test_manual_decisions_are_sticky(two_sources: Workspace, tmp_path: Path) -> None:
    two_sources.resolve()
    links = _links(two_sources, tmp_path)
    # A user merges the role-mailbox colleagues and splits the Jane Doe records.
    two_sources.merge(links["crm:c5"], links["crm:c6"])
    two_sources.unmerge(links["crm:c1"], _record(two_sources, "shop", "s1"))
    two_sources.resolve()
    two_sources.resolve(retrain=True)
    after = _links(two_sources, tmp_path)
    assert after["crm:c5"] == after["crm:c6"]
    assert after["crm:c1"] != after["shop:s1"]


def test_merge_and_unmerge_refuse_nonsense(two_sources: Workspace, tmp_path: Path) -> None:
    two_sources.resolve()
    links = _links(two_sources, tmp_path)
    with pytest.raises(InputError, match="already one contact"):
        two_sources.merge(links["crm:c1"], links["shop:s1"])
    with pytest.raises(InputError, match="does not exist"):
        two_sources.merge(links["crm:c1"], 999_999)
    with pytest.raises(InputError, match="not linked to contact"):
        two_sources.unmerge(links["crm:c1"], _record(two_sources, "crm", "c3"))
    with pytest.raises(InputError, match="only record"):
        two_sources.unmerge(links["crm:c3"], _record(two_sources, "crm", "c3"))


@pytest.fixture
def wide_band(db_url: str) -> Iterator[Workspace]:
    """A workspace whose review band is wide enough to hold the household pair."""
    settings = Settings(
        db="sqlite:///unused.db",
        resolve=ResolveSettings(threshold=0.99, candidate=1e-9, review_low=1e-9),
    )
    ws = Workspace(db_url, settings=settings, actor="reviewer")
    ws.init()
    ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
    ws.import_file(DATA / "shop.csv", source="shop", kind="contacts")
    yield ws
    ws.close()


def test_review_queue_accept_merges_and_reject_keeps_apart(
    wide_band: Workspace, tmp_path: Path
) -> None:
    summary = wide_band.resolve()
    pairs = wide_band.review()
    assert summary.review_pending == len(pairs) > 0
    john, mary = _record(wide_band, "crm", "c3"), _record(wide_band, "crm", "c4")
    household = next(
        p
        for p in pairs
        if {p["left"]["source_record_id"], p["right"]["source_record_id"]} == {john, mary}
    )
    assert household["left"]["last_name"] == household["right"]["last_name"] == "Miller"
    assert household["evidence"]["name"] < 0  # same last name, another first name
    others = [p for p in pairs if p["id"] != household["id"]]
    wide_band.review_decide(household["id"], accept=False, reason="household")
    assert wide_band.review(status="rejected")[0]["id"] == household["id"]
    with pytest.raises(AlreadyDecided, match="already rejected"):
        wide_band.review_decide(household["id"], accept=True)
    with pytest.raises(InputError, match="no pending review pair"):
        wide_band.review_decide(999_999, accept=True)
    assert others  # the wide band holds the true pairs too
    chosen = others[0]
    done = wide_band.review_decide(chosen["id"], accept=True)
    links = _links(wide_band, tmp_path)
    left = chosen["left"]
    right = chosen["right"]
    assert (
        links[f"{left['source']}:{left['external_id']}"]
        == links[f"{right['source']}:{right['external_id']}"]
    )
    assert done["accepted"]
    # A later resolve keeps the rejected pair apart and does not queue it again.
    wide_band.resolve()
    links = _links(wide_band, tmp_path)
    assert links["crm:c3"] != links["crm:c4"]
    again = wide_band.review()
    assert all(
        {p["left"]["source_record_id"], p["right"]["source_record_id"]} != {john, mary}
        for p in again
    )


def test_incremental_run_matches_only_new_records(two_sources: Workspace, tmp_path: Path) -> None:
    first = two_sources.resolve()
    assert first.mode == "full"
    two_sources.import_file(DATA / "late.csv", source="late", kind="contacts")
    later = two_sources.resolve()
    assert later.mode == "incremental"
    assert later.pending == 2
    links = _links(two_sources, tmp_path)
    assert links["late:z1"] == links["crm:c4"]  # the same Mary Miller
    assert links["late:z2"] not in {v for k, v in links.items() if k != "late:z2"}
    # Contacts nobody touched keep their links; a full run agrees with the incremental one.
    assert links["crm:c1"] == links["shop:s1"]
    full = two_sources.resolve(full=True)
    assert full.mode == "full"
    assert full.records_moved == 0
    assert _links(two_sources, tmp_path) == links
    runs = _query(two_sources, "SELECT mode FROM resolve_run ORDER BY id")
    assert runs == [("full",), ("incremental",), ("full",)]


def test_single_record_match_agrees_with_the_batch(two_sources: Workspace, tmp_path: Path) -> None:
    two_sources.resolve()
    links = _links(two_sources, tmp_path)
    found = two_sources.match(
        {"first_name": "Jane", "last_name": "Doe", "email": "Jane.Doe+news@gmail.com"}
    )
    assert found[0]["contact_id"] == links["crm:c1"]
    assert found[0]["decision"] == "match"
    # A stranger finds nobody; the household member is not taken for her husband.
    assert two_sources.match({"first_name": "Zoe", "last_name": "Quist"}) == []
    mary = two_sources.match(
        {"first_name": "Mary", "last_name": "Miller", "email": "mary.miller@hotmail.com"}
    )
    assert mary[0]["contact_id"] == links["crm:c4"]
    assert all(c["decision"] != "match" for c in mary if c["contact_id"] == links["crm:c3"])


def test_python_scores_equal_splink_scores(two_sources: Workspace) -> None:
    """The single-record scorer and the batch (Splink in DuckDB) give every pair the same
    probability, so real-time and batch decisions agree."""
    from itertools import combinations

    from rolodex.resolve import model as m
    from rolodex.resolve.matcher import Matcher
    from rolodex.resolve.realtime import Scorer, feature_rows
    from rolodex.resolve.run import latest_model, read_records

    two_sources.resolve()
    with two_sources.engine.connect() as conn:
        records = read_records(conn)
        stored = latest_model(conn)
        tf = {(c, v): float(t) for c, v, t in conn.execute(text("SELECT * FROM match_tf"))}
    assert stored is not None
    features = m.features(records)
    rows = {r["unique_id"]: r for r in feature_rows(features)}
    pairs = list(combinations(sorted(rows), 2))
    scorer = Scorer(stored[0])
    with Matcher(features, stored[0]) as matcher:
        batch = matcher.score(pairs)
    assert len(batch) == len(pairs) == 78
    for left, right, probability in batch.select("left", "right", "probability").iter_rows():
        weights = scorer.weights(rows[left], rows[right], lambda c, v: tf.get((c, v)))
        assert scorer.probability(weights) == pytest.approx(probability, abs=1e-9), (left, right)


def test_orders_follow_their_customer_through_merges_and_unmerges(
    two_sources: Workspace, tmp_path: Path
) -> None:
    summary = two_sources.import_file(DATA / "shop_orders.csv", source="shop", kind="orders")
    assert summary.accepted == 3

    def order_contact(order: str) -> int:
        rows = _query(
            two_sources,
            'SELECT o.contact_id FROM "order" o JOIN source_record r ON r.id = o.source_record_id'
            " WHERE r.external_id = :o",
            o=order,
        )
        return int(str(rows[0][0]))

    two_sources.resolve()
    links = _links(two_sources, tmp_path)
    jane = links["crm:c1"]
    assert order_contact("o1") == jane == links["shop:s1"]
    assert order_contact("o2") == links["crm:c2"]
    split = two_sources.unmerge(jane, _record(two_sources, "shop", "s1"))
    assert order_contact("o1") == split["new_contact"] != jane
    two_sources.merge(jane, split["new_contact"])
    assert order_contact("o1") == jane


@pytest.mark.parametrize(
    ("rule", "trusted", "first_name"),
    [("longest", "shop", "Robert"), ("trust", "shop", "Bob"), ("trust", "crm", "Robert")],
)
def test_survivorship_rules_come_from_the_settings(
    db_url: str, tmp_path: Path, rule: str, trusted: str, first_name: str
) -> None:
    settings = Settings.model_validate(
        {"db": "sqlite:///unused.db", "resolve": {"survivorship": {"name": [rule]}}}
    )
    with Workspace(db_url, settings=settings, actor="test") as ws:
        ws.init()
        ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
        ws.import_file(DATA / "shop.csv", source="shop", kind="contacts")
        ws.set_source_trust(trusted, 10)
        ws.resolve()
        contact = _links(ws, tmp_path)["crm:c2"]
        values = {v["field"]: v for v in ws.explain(contact)["values"]}
        assert values["first_name"]["value"] == first_name
        assert values["last_name"]["source_record_id"] == values["first_name"]["source_record_id"]
        with pytest.raises(InputError, match="no source named"):
            ws.set_source_trust("nowhere", 1)


def test_companies_are_resolved_and_contacts_linked_to_them(ws: Workspace) -> None:
    ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
    ws.import_file(DATA / "companies.csv", source="crm", kind="companies")
    summary = ws.resolve()
    assert summary.companies == 3
    assert summary.companies_merged_away == 2
    live = _query(
        ws, "SELECT id, name, domain FROM company WHERE merged_into_id IS NULL ORDER BY id"
    )
    names = {str(r[1]) for r in live}
    assert len(live) == 3
    assert "Bright Labs LLC" in names
    assert len(names & {"Acme Tools Inc.", "ACME Tools"}) == 1
    assert len(names & {"Müller GmbH", "Mueller GmbH"}) == 1
    by_name = {
        str(first): str(company)
        for first, company in _query(
            ws,
            "SELECT c.first_name, k.name FROM contact c JOIN company k ON k.id = c.company_id"
            " WHERE c.merged_into_id IS NULL",
        )
    }
    # Robert by his work email's domain, Alice and Carl by the company name, Hans by a
    # name key that folds the umlaut; the others have no company.
    assert by_name.keys() == {"Robert", "Alice", "Carl", "Hans"}
    assert by_name["Alice"] == by_name["Carl"] == "Bright Labs LLC"
    assert summary.contacts_with_company == 4


def test_incremental_run_links_new_contacts_to_companies(ws: Workspace, tmp_path: Path) -> None:
    """An incremental run links only the contacts it touched, unless the companies changed:
    then every contact is linked again."""
    ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
    ws.import_file(DATA / "companies.csv", source="crm", kind="companies")
    assert ws.resolve().contacts_with_company == 4
    newcomer = tmp_path / "newcomer.csv"
    newcomer.write_text(
        "Id,First Name,Last Name,Email,Account ID\n"
        "n1,Dana,Ortiz,dana.ortiz@acme-tools.com,\n"
        "n2,Pia,Lund,pia.lund@zeta-robotics.com,\n"
        "n3,Ivo,Brandt,ivo.brandt@gmx.de,k4\n",
        encoding="utf-8",
    )
    ws.import_file(newcomer, source="crm", kind="contacts")
    later = ws.resolve()
    assert later.mode == "incremental"
    assert later.contacts_with_company == 6

    def company_of() -> dict[str, str | None]:
        return {
            str(first): None if name is None else str(name)
            for first, name in _query(
                ws,
                "SELECT c.first_name, k.name FROM contact c LEFT JOIN company k"
                " ON k.id = c.company_id WHERE c.merged_into_id IS NULL",
            )
        }

    linked = company_of()
    assert linked["Dana"] == linked["Robert"] is not None  # by her work email's domain
    assert linked["Pia"] is None
    assert linked["Ivo"] == linked["Hans"] is not None  # by the source's own company id
    assert linked["Alice"] == linked["Carl"] == "Bright Labs LLC"  # untouched, kept
    # A new company changes the companies: every contact is looked at again.
    zeta = tmp_path / "zeta.csv"
    zeta.write_text(
        "Company ID,Company Name,Website\nk9,Zeta Robotics,zeta-robotics.com\n", encoding="utf-8"
    )
    ws.import_file(zeta, source="crm", kind="companies")
    assert ws.resolve().contacts_with_company == 7
    assert company_of()["Pia"] == "Zeta Robotics"


def test_incremental_run_matches_changed_records_again(
    two_sources: Workspace, tmp_path: Path
) -> None:
    """A record re-imported with new values is matched again on the next incremental run,
    and joins the customer its new values point to."""
    two_sources.resolve()
    before = _links(two_sources, tmp_path)
    assert before["crm:c3"] != before["crm:c1"]  # John Miller is not Jane Doe
    changed = tmp_path / "crm.csv"
    lines = (DATA / "crm.csv").read_text(encoding="utf-8").splitlines()
    # c3 turns out to be Jane Doe: her name, email and phone, another record id kept.
    lines = [
        "c3,Jane,Doe,jane.doe@gmail.com,+44 20 7946 0001,,12 Baker Street,London,NW1 6XE,"
        "United Kingdom"
        if line.startswith("c3,")
        else line
        for line in lines
    ]
    changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    two_sources.import_file(changed, source="crm", kind="contacts")
    later = two_sources.resolve()
    assert later.mode == "incremental"
    assert later.pending == 1
    after = _links(two_sources, tmp_path)
    assert after["crm:c3"] == after["crm:c1"]


def test_resolve_keeps_personal_data_sealed_and_golden_records_whole(
    ws: Workspace, tmp_path: Path
) -> None:
    """After import and resolve on an encrypted workspace, no email, phone, street or date of
    birth is stored in the clear (records, golden contacts, contact points), and the golden
    records read back through the workspace are what survivorship picks."""
    links = _import_and_resolve(
        ws,
        tmp_path,
        crm="Record ID,First Name,Last Name,Email,Phone Number,Street Address,City,Postal Code,"
        "Country,Birth Date\n"
        "c1,Jane,Doe,jane.doe@gmail.com,+44 20 7946 0001,12 Baker Street,London,NW1 6XE,"
        "United Kingdom,1985-03-02\n"
        "c2,Robert,Smith,robert.smith@acme-tools.com,+1 415 555 0101,100 Market St,"
        "San Francisco,94105,USA,1970-12-31\n",
        shop="Id,FirstName,LastName,Email,Email 2,Phone,Mobile,MailingStreet,MailingCity,"
        "MailingPostalCode,MailingCountry,Date of Birth\n"
        "s1,Jane,Doe,janedoe+shop@gmail.com,jane@work.example,020 7946 0001,07700 900123,"
        "12 Baker St,London,NW1 6XE,UK,1985-03-02\n"
        "s2,Ann,Other,ann.other@example.org,,0161 496 0000,,1 High Street,Leeds,LS1 1AA,UK,\n",
    )
    jane = links["crm:c1"]
    assert links["shop:s1"] == jane
    assert len(set(links.values())) == 3

    plain = {
        "jane.doe@gmail.com",
        "janedoe+shop@gmail.com",
        "janedoe@gmail.com",
        "jane@work.example",
        "+442079460001",
        "07700 900123",  # not a number in service: kept as given
        "12 Baker Street",
        "12 Baker St",
        "1985-03-02",
        "robert.smith@acme-tools.com",
        "+14155550101",
        "100 Market St",
        "1970-12-31",
        "ann.other@example.org",
        "+441614960000",
        "1 High Street",
        "12 baker st",  # the street match key
    }
    sealed = {
        "contact_record": (
            "email",
            "email2",
            "email_key",
            "phone",
            "mobile",
            "phone_key",
            "street",
            "street_key",
            "birth_date",
        ),
        "contact": ("email", "phone", "birth_date"),
        "contact_point": ("value", "street"),
    }
    for name, columns in sealed.items():
        for column in columns:
            point = name == "contact_point"
            sql = f"SELECT {'kind' if point else 'NULL'}, {column} FROM {name}"
            sql += " WHERE kind <> 'social'" if point else ""
            stored = [{"kind": k, column: v} for k, v in _query(ws, sql) if v is not None]
            assert stored, (name, column)
            assert all(str(r[column]).startswith("sub1:") for r in stored), (name, column)
            # They are the data, sealed: they open to what was imported.
            opened = {r[column] for r in ws.sealer.open_rows(name, stored)}
            assert opened & (plain | set(_ADDRESSES)), (name, column)
    # Points are looked up by their blind indexes, as the workspace computes them.
    stored_points = ws.sealer.open_rows(
        "contact_point",
        [
            {"kind": k, "value": v, "value_index": i}
            for k, v, i in _query(ws, "SELECT kind, value, value_index FROM contact_point")
        ],
    )
    assert len(stored_points) >= 9
    for p in stored_points:
        assert p["value_index"] == ws.sealer.point_index(p["kind"], p["value"]), p
    assert {p["value"] for p in stored_points if p["kind"] == "phone"} == {
        "+442079460001",
        "07700 900123",
        "+14155550101",
        "+441614960000",
    }

    view = ws.contact(jane)
    assert view["first_name"] == "Jane"
    assert view["email"] in {"jane.doe@gmail.com", "janedoe+shop@gmail.com"}
    assert view["phone"] == "+442079460001"
    assert str(view["birth_date"])[:10] == "1985-03-02"
    points = {
        (p["kind"], p["label"], p["value"], bool(p["is_primary"])) for p in view["contact_points"]
    }
    emails = {p[2] for p in points if p[0] == "email"}
    assert len(emails) == 2
    assert "jane@work.example" in emails
    assert ("phone", None, "+442079460001", True) in points
    assert ("phone", "mobile", "07700 900123", False) in points
    assert {p[2] for p in points if p[0] == "address"} <= set(_ADDRESSES)
    # A contact no match touched keeps the points the import made for it.
    ann = ws.contact(links["shop:s2"])
    assert ann["email"] == "ann.other@example.org"
    assert ann["birth_date"] is None
    assert {(p["kind"], p["value"]) for p in ann["contact_points"]} == {
        ("email", "ann.other@example.org"),
        ("phone", "+441614960000"),
        ("address", _ADDRESSES[2]),
    }


_ADDRESSES = (
    "12 Baker Street, NW1 6XE London, GB",
    "12 Baker St, NW1 6XE London, GB",
    "1 High Street, LS1 1AA Leeds, GB",
)


def test_a_second_number_links_records_and_finds_candidates(ws: Workspace, tmp_path: Path) -> None:
    """A mobile given beside a landline in one export and as the only phone in another is a
    number in common: the pair is blocked, scored and merged on it, and a single record
    whose second number is a stored record's phone finds that record's contact."""
    links = _import_and_resolve(
        ws,
        tmp_path,
        crm="Record ID,First Name,Last Name,Email,Phone,Mobile Phone\n"
        "c1,Katharina,Obermeier,k.obermeier@brandl-bau.de,+49 89 1234567,+49 171 2345678\n"
        "c2,Jonas,Weber,jonas.weber@gmail.com,+49 30 7654321,\n"
        "c3,Lea,Hoffmann,lea.hoffmann@web.de,,+49 160 9876543\n",
        shop="Customer ID,First Name,Last Name,Email,Phone,Default Address Phone\n"
        "s1,Katharina,Obermeier,kathi.obermeier@gmail.com,+491712345678,\n"
        "s2,Lea,Hoffmann,lea.h@gmx.de,+49 151 1111111,+49 160 9876543\n"
        "s3,Paul,Schmidt,paul.schmidt@gmail.com,+49 40 5555555,\n",
    )
    assert links["crm:c1"] == links["shop:s1"]  # crm's mobile is the shop's phone
    assert links["crm:c3"] == links["shop:s2"]  # the shop's default-address phone
    assert len({links["crm:c2"], links["shop:s3"], links["crm:c1"], links["crm:c3"]}) == 4
    # Neither the name ("K." is an initial) nor the phone finds c1; its landline as the
    # incoming record's second number does.
    found = ws.match(
        {"first_name": "K.", "last_name": "Obermayr", "phone": "+49 30 1111111",
         "mobile": "+49 89 1234567"}
    )  # fmt: skip
    assert links["crm:c1"] in {c["contact_id"] for c in found}
    # The shared number is evidence of its own, not just the names carrying the pair.
    for record in ws.explain(links["crm:c1"])["records"]:
        weights = {f["field"]: f["weight"] for f in record["deciding_fields"]}
        assert weights["phone"] > 5
