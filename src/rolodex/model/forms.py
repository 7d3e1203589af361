"""Web form intake: the forms a website posts contacts to, and double opt-in submissions
waiting for the person to confirm their address.

Tokens are kept as SHA-256 hashes (shown once, like API keys); a waiting submission's record
is encrypted with the workspace keys and found by a blind index of its email, never by text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model.base import Base, utcnow


class IntakeForm(Base):
    """A web form allowed to create contacts of one source, with its consent purpose."""

    __tablename__ = "intake_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(100))
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=10)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingConfirmation(Base):
    """A double opt-in submission: nothing is created until its link is followed."""

    __tablename__ = "pending_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("intake_form.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)  # encrypted JSON of the submitted record
    email_index: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
