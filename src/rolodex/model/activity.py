"""Interaction and behavioral data: interactions, tickets, campaigns, events and consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model._refs import CustomerOwnedMixin
from rolodex.model.base import Base, TimestampMixin
from rolodex.model.party import Money


class Campaign(TimestampMixin, Base):
    """A marketing or sales campaign that contacts are members of."""

    __tablename__ = "campaign"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignMember(CustomerOwnedMixin, TimestampMixin, Base):
    """A contact's membership of a campaign, with its arm and how far it got.

    A customer (a contact source record) is a member of a campaign once: the unique
    (campaign, customer record) pair keeps a campaign's reach and rates true when files
    overlap, and the import quarantines a repeated member row with a pointer to the row that
    holds the membership. `source_record_id` is the member row's own source record (lineage,
    replacement by a new version, undo). Two source records of one person that resolve
    merges stay two memberships of one golden contact: the analysis counts contacts.

    `responded` and `converted` are the flags (what campaign analysis counts); the `_at`
    columns say when, where the file tells. A flag the file leaves out follows from its date.
    """

    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    arm: Mapped[str | None] = mapped_column(String(100))  # treatment name or "control"
    status: Mapped[str | None] = mapped_column(String(50))  # sent, responded, converted
    responded: Mapped[bool | None] = mapped_column(Boolean)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted: Mapped[bool | None] = mapped_column(Boolean)
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revenue: Mapped[float | None] = mapped_column(Money)


class Interaction(CustomerOwnedMixin, TimestampMixin, Base):
    """A sales, marketing or support touch: call, email, meeting, open, click, chat."""

    __tablename__ = "interaction"
    __table_args__ = (Index(None, "occurred_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str | None] = mapped_column(String(20))  # sales | marketing | support
    interaction_type: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(50))
    direction: Mapped[str | None] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(200))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)


class Ticket(CustomerOwnedMixin, TimestampMixin, Base):
    """A support ticket."""

    __tablename__ = "ticket"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(50))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[str | None] = mapped_column(String(50))


class Event(CustomerOwnedMixin, Base):
    """A behavioral event (page view, email open, click, sign-up); append-only."""

    __tablename__ = "event"
    __table_args__ = (Index(None, "occurred_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    url: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Consent(CustomerOwnedMixin, TimestampMixin, Base):
    """A consent decision for one purpose; the latest per purpose wins, history is kept."""

    __tablename__ = "consent"
    __table_args__ = (
        Index(None, "contact_id", "purpose", "occurred_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # granted | withdrawn | unknown
    lawful_basis: Mapped[str | None] = mapped_column(String(50))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"))
    proof: Mapped[str | None] = mapped_column(Text)
