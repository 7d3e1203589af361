"""Lineage, the backbone: sources, import batches, raw source records and their history.

Every row Rolodex ever read is a `SourceRecord`, kept verbatim with its content hash, the
batch that brought it and its status. A changed row becomes a new version of the same record;
the version it replaces moves to `SourceRecordHistory`, so nothing read is ever lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model.base import Base, TimestampMixin, utcnow


class Source(TimestampMixin, Base):
    """A system Rolodex imports from (a shop, a newsletter tool, a CRM export)."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Lower ranks are trusted more when golden-record values disagree.
    trust_rank: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    default_region: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str | None] = mapped_column(Text)


class ImportBatch(Base):
    """One run of `rolodex import`: the unit that `import undo` removes."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    files: Mapped[list[str]] = mapped_column(JSON)
    # running -> completed | failed; completed -> undone. A batch left "running" by a killed
    # process is marked "interrupted" by the next import of the same source.
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, object] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(200))


class SourceRecord(TimestampMixin, Base):
    """The current version of one raw row from a source, kept verbatim.

    `record_key` identifies the row within its source and kind: the source's own id, or a
    key derived from content when the source has none, or a quarantine key for rows whose
    id is missing or repeated.
    """

    __tablename__ = "source_record"
    __table_args__ = (
        UniqueConstraint("source_id", "kind", "record_key"),
        # Undo finds a batch's records through this; quarantine listings scan (rare, and
        # every index here costs on each of millions of imported rows).
        Index(None, "created_batch_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    kind: Mapped[str] = mapped_column(String(20))
    record_key: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    # The row as read: a JSON object of header -> value, serialized once and never rewritten.
    payload: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    created_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    file: Mapped[str | None] = mapped_column(String(500))
    row_number: Mapped[int | None] = mapped_column(Integer)
    # accepted | quarantined
    status: Mapped[str] = mapped_column(String(20))
    # JSON list of {"column", "message", "fatal"}; null when the row had no problem.
    issues: Mapped[str | None] = mapped_column(Text)
    # A customer that another kind (orders, tickets) mentioned before the source sent it.
    is_stub: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class SourceRecordHistory(Base):
    """A version of a source record that a later import replaced (append-only)."""

    __tablename__ = "source_record_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    payload: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"))
    file: Mapped[str | None] = mapped_column(String(500))
    row_number: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    issues: Mapped[str | None] = mapped_column(Text)
    is_stub: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    superseded_by_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    superseded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MergeEvent(Base):
    """A merge, unmerge, split or link decision: who, when, why (append-only)."""

    __tablename__ = "merge_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  # merge | unmerge | split | link
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    other_contact_id: Mapped[int | None] = mapped_column(Integer)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    # What is needed to reverse the decision exactly (previous links and golden values).
    details: Mapped[dict[str, object] | None] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """Append-only, hash-chained log of what happened: who, when, what, from where.

    Database triggers (see the initial migration) refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str | None] = mapped_column(String(100))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(200))  # cli, api address, ...
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class MatchModel(Base):
    """A trained matching model (Splink settings with its parameters), reused until retrained."""

    __tablename__ = "match_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))  # contact | company
    model: Mapped[dict[str, object]] = mapped_column(JSON)
    # What training used: records, prior, the blocks that trained m, the ones skipped.
    info: Mapped[dict[str, object] | None] = mapped_column(JSON)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MatchDecision(Base):
    """A person's word on a pair of records: the same customer or not (sticky, and a label).

    Later resolves keep what a user merged together and never re-merge what a user split.
    """

    __tablename__ = "match_decision"
    __table_args__ = (UniqueConstraint("left_record_id", "right_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    left_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"))
    right_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), index=True)
    same: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MatchReview(Base):
    """A pair in the uncertain band, waiting for a person: both records and the evidence."""

    __tablename__ = "match_review"
    __table_args__ = (UniqueConstraint("left_record_id", "right_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    left_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"))
    right_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), index=True)
    probability: Mapped[float] = mapped_column(Float)
    # Match weight per compared field (log2 Bayes factors), as Splink computed them.
    evidence: Mapped[dict[str, object] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | accepted | rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResolveRun(Base):
    """One resolve run: incremental runs match the records that arrived or changed since."""

    __tablename__ = "resolve_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))  # full | incremental
    max_record_id: Mapped[int] = mapped_column(Integer)  # the newest record it saw
    summary: Mapped[dict[str, object] | None] = mapped_column(JSON)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MatchTermFrequency(Base):
    """How common a matching value is (names, postcodes, cities), as of the last full resolve:
    what single-record matching weighs agreement by, as the batch did."""

    __tablename__ = "match_tf"

    column: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), primary_key=True)
    tf: Mapped[float] = mapped_column(Float)
