"""Resolve companies and link contacts to them.

Company records are few and their identifiers strong, so they are matched by rules rather
than a trained model: the same web domain; the same name key (legal form stripped) in the
same place or with the same phone; the same phone with a near-identical name. A domain on a
free-mail host never counts (the clean stage leaves those out of the key). Each group becomes
one golden company whose fields come from the most trusted, then most recent, record that has
them; a company whose records all went elsewhere is kept, marked as merged into the one that
took them. Then every golden contact is linked to the company its records name: the source's
own company id first, then the company's domain, then its name key.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import Connection

from rolodex.model import Company
from rolodex.model.base import table
from rolodex.resolve.singletons import COMPANY_FIELDS
from rolodex.store.bulk import ConnectionBulk, read_frame

# Golden company fields written by resolve (custom fields stay as the singleton wrote them).
_FIELDS = tuple(f for f in COMPANY_FIELDS if f != "custom")
_TEXT = ("name", "domain", "industry", "phone", "street", "city", "region", "postcode",
         "country", "company_type", "name_key", "phone_key")  # fmt: skip


@dataclass
class CompanySummary:
    """What company resolution found and changed."""

    records: int = 0
    companies: int = 0
    merged_away: int = 0
    contacts_linked: int = 0


class _Sets:
    """Union-find over record ids."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _read(conn: Connection) -> pl.DataFrame:
    cols = ", ".join(f"CAST(r.{c} AS TEXT) AS {c}" for c in _TEXT)
    schema = {
        "source_record_id": pl.Int64,
        **dict.fromkeys(_TEXT, pl.Utf8),
        "employee_count": pl.Int64,
        "annual_revenue": pl.Float64,
        "founded_year": pl.Int64,
        "updated_at": pl.Utf8,
        "trust_rank": pl.Int64,
        "company_id": pl.Int64,
    }
    return read_frame(
        conn,
        f"SELECT r.source_record_id, {cols}, r.employee_count, r.annual_revenue,"
        " r.founded_year,"
        " CAST(coalesce(r.source_updated_at, s.updated_at) AS TEXT) AS updated_at,"
        " src.trust_rank, l.company_id"
        " FROM company_record r JOIN source_record s ON s.id = r.source_record_id"
        " JOIN source src ON src.id = s.source_id"
        " LEFT JOIN company_link l ON l.source_record_id = r.source_record_id"
        " WHERE s.status = 'accepted' ORDER BY r.source_record_id",
        schema,
    )


def cluster_companies(records: pl.DataFrame) -> dict[int, int]:
    """Group company records by the rules in the module docstring; return record -> group
    (its smallest record id)."""
    ids = records["source_record_id"].to_list()
    sets = _Sets(ids)
    rows = records.select(
        "source_record_id", "name_key", "domain", "phone_key", "city", "postcode"
    ).rows()

    def join_on(key: Iterable[tuple[int, object]]) -> None:
        first: dict[object, int] = {}
        for record, value in key:
            if value is None:
                continue
            if value in first:
                sets.union(first[value], record)
            else:
                first[value] = record

    join_on((r[0], r[2].lower() if r[2] else None) for r in rows)
    # Same name key in the same place, or with the same phone.
    join_on((r[0], (r[1], (r[4] or "").lower()) if r[1] and r[4] else None) for r in rows)
    join_on((r[0], (r[1], r[5]) if r[1] and r[5] else None) for r in rows)
    join_on((r[0], (r[1], r[3]) if r[1] and r[3] else None) for r in rows)
    # A name key with no place at all joins the one group of that name, if there is one.
    placed: dict[str, set[int]] = defaultdict(set)
    for record, name, _, phone, city, postcode in rows:
        if name and (city or postcode or phone):
            placed[name].add(sets.find(record))
    for record, name, _, phone, city, postcode in rows:
        if name and not (city or postcode or phone):
            groups = {sets.find(r) for r in placed.get(name, set())}
            if len(groups) == 1:
                sets.union(record, groups.pop())
    # Same phone, near-identical names.
    by_phone: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for record, name, _, phone, _, _ in rows:
        if phone and name:
            by_phone[phone].append((record, name))
    for members in by_phone.values():
        for i, (a, name_a) in enumerate(members):
            for b, name_b in members[i + 1 :]:
                if JaroWinkler.similarity(name_a, name_b) >= 0.92:
                    sets.union(a, b)
    return {i: sets.find(i) for i in ids}


def resolve_companies(
    conn: Connection,
    *,
    actor: str,
    now: datetime,
    contacts: Collection[int] | None = None,
    since: datetime | None = None,
) -> CompanySummary:
    """Match company records into golden companies and link contacts to their company.

    Every contact is linked again, unless `contacts` names the only ones whose records
    changed since the last run (at `since`) and no company record arrived or changed since
    then, nor did resolving move one: then only those (an incremental resolve must not pay
    for a million contacts).
    """
    records = _read(conn)
    summary = CompanySummary(records=len(records))
    db = ConnectionBulk(conn)
    changed = since is None or bool(
        db.query(
            "SELECT 1 FROM company_record r JOIN source_record s ON s.id = r.source_record_id"
            " WHERE coalesce(s.updated_at, s.created_at) >= ? LIMIT 1",
            [db.since(since)],
        )
    )
    if not records.is_empty():
        group_of = cluster_companies(records)
        changed |= _write_companies(db, records, group_of, summary, actor=actor, now=now)
    summary.contacts_linked = link_contacts(
        db, None if changed or contacts is None else contacts, any_company=not records.is_empty()
    )
    return summary


def _write_companies(
    db: ConnectionBulk,
    records: pl.DataFrame,
    group_of: dict[int, int],
    summary: CompanySummary,
    *,
    actor: str,
    now: datetime,
) -> bool:
    """Write the golden companies; tell whether any link, company or domain changed."""
    current = dict(zip(records["source_record_id"], records["company_id"], strict=True))
    members: dict[int, list[int]] = defaultdict(list)
    for record, group in group_of.items():
        members[group].append(record)
    votes = sorted(
        (-n, company, group)
        for group, rs in members.items()
        for company, n in Counter(current[r] for r in rs if current[r] is not None).items()
    )
    company_of: dict[int, int] = {}
    taken: set[int] = set()
    for _, company, group in votes:
        if group not in company_of and company not in taken:
            company_of[group] = company
            taken.add(company)
    fresh = [g for g in sorted(members) if g not in company_of]
    stamp = db.stamp(now)
    for group, new_id in zip(fresh, db.reserve_ids(table(Company), len(fresh)), strict=True):
        company_of[group] = new_id
        db.execute(
            "INSERT INTO company (id, created_at, updated_at) VALUES (?, ?, ?)",
            [new_id, stamp, stamp],
        )
    summary.companies = len(members)
    moved = [
        (company_of[group_of[r]], stamp, r)
        for r, old in current.items()
        if old != company_of[group_of[r]]
    ]
    linked = {r for r, old in current.items() if old is not None}
    db.executemany(
        "UPDATE company_link SET company_id = ?, linked_by = 'resolve', linked_at = ?"
        " WHERE source_record_id = ?",
        [m for m in moved if m[2] in linked],
    )
    db.executemany(
        "INSERT INTO company_link (company_id, linked_at, source_record_id, linked_by)"
        " VALUES (?, ?, ?, 'resolve')",
        [m for m in moved if m[2] not in linked],
    )
    retired = {old for old in current.values() if old is not None} - taken
    went: dict[int, Counter[int]] = defaultdict(Counter)
    for r, c in current.items():
        if c in retired:
            went[c][company_of[group_of[r]]] += 1
    for old in sorted(retired):
        survivor = went[old].most_common(1)[0][0]
        db.execute("UPDATE company SET merged_into_id = ? WHERE id = ?", [survivor, old])
        db.execute(
            "INSERT INTO merge_event (action, contact_id, other_contact_id, actor, reason,"
            " details, occurred_at) VALUES ('merge', NULL, NULL, ?, ?, ?, ?)",
            [
                actor,
                "companies matched by resolve",
                json.dumps({"company": survivor, "merged_company": old}),
                stamp,
            ],
        )
    summary.merged_away = len(retired)
    # Golden values: per field, the most trusted, then most recent, record that has one.
    ordered = records.with_columns(
        pl.col("source_record_id").replace_strict(group_of, return_dtype=pl.Int64).alias("g")
    ).sort(
        ["g", "trust_rank", "updated_at", "source_record_id"],
        descending=[False, False, True, False],
        nulls_last=True,
    )
    golden = ordered.group_by("g", maintain_order=True).agg(
        pl.col(f).drop_nulls().first() for f in _FIELDS
    )
    domains = dict(db.query("SELECT id, domain FROM company WHERE merged_into_id IS NULL"))
    changed = bool(moved or retired or fresh) or any(
        domains.get(company_of[g]) != d for g, d in golden.select("g", "domain").iter_rows()
    )
    sets = ", ".join(f"{f} = ?" for f in _FIELDS)
    db.executemany(
        f"UPDATE company SET {sets}, merged_into_id = NULL, updated_at = ? WHERE id = ?",
        [(*(row[1:]), stamp, company_of[row[0]]) for row in golden.select("g", *_FIELDS).rows()],
    )
    return changed


def link_contacts(
    db: ConnectionBulk, contacts: Collection[int] | None = None, *, any_company: bool = True
) -> int:
    """Point golden contacts (all, or only `contacts`) at the company their records name;
    return how many contacts have one.

    The source's own company id (company_ref) decides first, then the company's domain
    (from a work email or website), then the company's name key. Set-based: each rule fills
    a scratch table of (contact, company) by joins on indexed keys, then one update.
    Without any company record there is nothing to join: links are only cleared.
    """
    db.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS contact_company"
        " (contact_id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL)"
    )
    live = "l.contact_id IN (SELECT id FROM contact WHERE merged_into_id IS NULL)"
    clear = "UPDATE contact SET company_id = NULL WHERE company_id IS NOT NULL"
    if contacts is not None:
        db.execute("CREATE TEMPORARY TABLE IF NOT EXISTS contact_scope (id BIGINT PRIMARY KEY)")
        db.execute("DELETE FROM contact_scope")
        db.executemany("INSERT INTO contact_scope (id) VALUES (?)", [(c,) for c in contacts])
        live = (
            "l.contact_id IN (SELECT s.id FROM contact_scope s JOIN contact c ON c.id = s.id"
            " WHERE c.merged_into_id IS NULL)"
        )
        clear += " AND id IN (SELECT id FROM contact_scope)"
    rules = (
        "SELECT l.contact_id, min(cl.company_id) FROM contact_link l"
        " JOIN contact_record r ON r.source_record_id = l.source_record_id"
        " JOIN source_record cs ON cs.source_id = r.source_id AND cs.kind = 'companies'"
        " AND cs.record_key = r.company_ref"
        " JOIN company_link cl ON cl.source_record_id = cs.id"
        f" WHERE r.company_ref IS NOT NULL AND {live} GROUP BY l.contact_id",
        "SELECT l.contact_id, min(c.id) FROM contact_link l"
        " JOIN contact_record r ON r.source_record_id = l.source_record_id"
        " JOIN company c ON c.domain = r.company_domain AND c.merged_into_id IS NULL"
        f" WHERE r.company_domain IS NOT NULL AND {live} GROUP BY l.contact_id",
        "SELECT l.contact_id, min(cl.company_id) FROM contact_link l"
        " JOIN contact_record r ON r.source_record_id = l.source_record_id"
        " JOIN company_record cr ON cr.name_key = r.company_key"
        " JOIN company_link cl ON cl.source_record_id = cr.source_record_id"
        f" WHERE r.company_key IS NOT NULL AND {live} GROUP BY l.contact_id",
    )
    db.execute(clear)
    for rule in rules if any_company else ():
        db.execute("DELETE FROM contact_company")
        db.execute(f"INSERT INTO contact_company (contact_id, company_id) {rule}")
        db.execute(
            "UPDATE contact SET company_id = (SELECT t.company_id FROM contact_company t"
            " WHERE t.contact_id = contact.id) WHERE company_id IS NULL"
            " AND id IN (SELECT contact_id FROM contact_company)"
        )
    found = db.query("SELECT count(*) FROM contact WHERE company_id IS NOT NULL")
    return int(found[0][0])
