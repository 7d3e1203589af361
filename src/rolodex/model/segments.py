"""What the analyses concluded per customer, and the saved segments built on it.

`ContactScore` holds the latest RFM, lifetime-value and churn figures of each golden contact
(each `rolodex analyze` run rewrites its own columns), so segments can filter on them in SQL.
A `Segment` is a saved filter; `SegmentMember` keeps its membership history: a row per stay,
closed (`left_at`) when the contact no longer matches at a refresh, never deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model.base import Base, TimestampMixin, utcnow
from rolodex.model.party import Money


class ContactScore(Base):
    """The latest analysis figures of one golden contact."""

    __tablename__ = "contact_score"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), primary_key=True)
    # RFM (`rolodex analyze rfm`)
    rfm_as_of: Mapped[date | None] = mapped_column(Date)
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int | None] = mapped_column(Integer)
    monetary: Mapped[float | None] = mapped_column(Money)
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str | None] = mapped_column(String(50), index=True)
    # Lifetime value (`rolodex analyze clv`)
    clv_as_of: Mapped[date | None] = mapped_column(Date)
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases_12m: Mapped[float | None] = mapped_column(Float)
    clv_12m: Mapped[float | None] = mapped_column(Money)
    # Churn risk (`rolodex analyze churn`)
    churn_as_of: Mapped[date | None] = mapped_column(Date)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    churn_reasons: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Segment(TimestampMixin, Base):
    """A saved group of customers: a filter over golden-record fields, scores and aggregates."""

    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    expression: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    is_predefined: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(200))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    member_count: Mapped[int | None] = mapped_column(Integer)


class SegmentMember(Base):
    """One stay of a contact in a segment: from the refresh that found it to the one that
    did not (open while `left_at` is null)."""

    __tablename__ = "segment_member"
    __table_args__ = (Index("ix_segment_member_open", "segment_id", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
