"""Transactional data: orders with their lines, payments, subscriptions and deals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model._refs import CustomerOwnedMixin
from rolodex.model.base import Base, TimestampMixin
from rolodex.model.party import Money


class Order(CustomerOwnedMixin, TimestampMixin, Base):
    """A purchase. `source_record_id` is the first source row of the order."""

    __tablename__ = "order"
    __table_args__ = (
        Index(None, "source_id", "external_id", unique=True),
        Index(None, "ordered_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    external_id: Mapped[str] = mapped_column(String(300))
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total_amount: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(50))


class OrderLine(Base):
    """One line item of an order, when the source exports lines."""

    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    source_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_record.id"), unique=True
    )
    sku: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[float | None] = mapped_column(Money)


class Payment(CustomerOwnedMixin, TimestampMixin, Base):
    """Money received, optionally for an order."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    amount: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    method: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(50))


class Subscription(CustomerOwnedMixin, TimestampMixin, Base):
    """A recurring plan; cancellations are what churn models learn from."""

    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    monthly_amount: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))


class Deal(CustomerOwnedMixin, TimestampMixin, Base):
    """A sales opportunity moving through a pipeline."""

    __tablename__ = "deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    pipeline: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[float | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    probability: Mapped[float | None] = mapped_column(Float)
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_won: Mapped[bool | None] = mapped_column(Boolean)
    owner: Mapped[str | None] = mapped_column(String(200))
