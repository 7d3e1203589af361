"""Contacts and companies: the golden records, their contact points and their standardized
source records (one per contact or company source record), and the links between them.

The golden `Contact` is what users see; each `ContactRecord` is the standardized view of one
source row; `ContactLink` says which golden contact each source row belongs to and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from rolodex.model.base import Base, TimestampMixin, utcnow

Money = Numeric(18, 4, asdecimal=False)


class Company(TimestampMixin, Base):
    """A golden organization record with firmographics."""

    __tablename__ = "company"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300), index=True)
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    industry: Mapped[str | None] = mapped_column(String(200))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[float | None] = mapped_column(Money)
    phone: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(100))
    founded_year: Mapped[int | None] = mapped_column(Integer)
    company_type: Mapped[str | None] = mapped_column(String(100))
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set when this company was merged into another: the id keeps answering, redirected.
    merged_into_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Contact(TimestampMixin, Base):
    """A golden person record: one customer, however many sources describe them.

    Lookups by email or phone go through `contact_point` (kind, value), which holds every
    address, not only the primary one.
    """

    __tablename__ = "contact"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    salutation: Mapped[str | None] = mapped_column(String(50))
    first_name: Mapped[str | None] = mapped_column(Text)  # names: Text, as they may be sealed
    middle_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    suffix: Mapped[str | None] = mapped_column(String(50))
    full_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    company_name: Mapped[str | None] = mapped_column(String(300))
    job_title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[str | None] = mapped_column(Text)  # ISO date, encrypted
    gender: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(50))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Field -> id of the source record its value came from (survivorship's lineage).
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set when this contact was merged into another: the id keeps answering, redirected.
    merged_into_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ContactPoint(Base):
    """One email, phone, address or social handle of a golden contact.

    A contact has any number of each; `is_primary` marks the one to use by default.
    `source_record_id` says which source row the value came from.
    """

    __tablename__ = "contact_point"
    # Emails and phones are looked up by value (search, subject lookup); addresses and
    # handles are not, and indexing them would cost on each of millions of imported points.
    __table_args__ = (
        Index(
            "ix_contact_point_email",
            "value_index",
            sqlite_where=text("kind = 'email'"),
            postgresql_where=text("kind = 'email'"),
        ),
        Index(
            "ix_contact_point_phone",
            "value_index",
            sqlite_where=text("kind = 'phone'"),
            postgresql_where=text("kind = 'phone'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # email | phone | address | social
    label: Mapped[str | None] = mapped_column(String(50))  # work, home, mobile, linkedin, ...
    # The address rendered on one line; encrypted for the kinds `security.encrypt` names.
    value: Mapped[str] = mapped_column(Text)
    # Keyed blind index of the normalized email or phone: exact lookups without decrypting.
    value_index: Mapped[str | None] = mapped_column(String(64))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    street: Mapped[str | None] = mapped_column(Text)
    street2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(100))
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"))


class ContactRecord(Base):
    """The standardized view of one contact source record (derived; the raw row stays as is)."""

    __tablename__ = "contact_record"
    # Single-record matching (an API create, a web form) looks records up by these keys.
    __table_args__ = (
        Index(None, "email_key_index"),
        Index(None, "phone_index"),
        Index(None, "last_name_key", "first_name_key"),
        Index(None, "name_index"),
    )

    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    salutation: Mapped[str | None] = mapped_column(String(50))
    first_name: Mapped[str | None] = mapped_column(Text)  # names: Text, as they may be sealed
    middle_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    suffix: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(Text)
    email2: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    mobile: Mapped[str | None] = mapped_column(Text)
    work_phone: Mapped[str | None] = mapped_column(Text)
    other_phone: Mapped[str | None] = mapped_column(Text)
    company_name: Mapped[str | None] = mapped_column(String(300))
    company_ref: Mapped[str | None] = mapped_column(String(300))  # the source's company id
    job_title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    street: Mapped[str | None] = mapped_column(Text)
    street2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[str | None] = mapped_column(Text)  # ISO date, encrypted
    gender: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(50))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(100))
    lead_source: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    linkedin: Mapped[str | None] = mapped_column(String(500))
    twitter: Mapped[str | None] = mapped_column(String(200))
    email_opt_in: Mapped[bool | None] = mapped_column(Boolean)
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Per-field quality, filled by the clean stage:
    # {"email": {"flag": "corrected", "notes": [...], "tags": [...]}, ...}.
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Match keys, kept apart from the values people see (the clean stage's part).
    email_key: Mapped[str | None] = mapped_column(Text)
    phone_key: Mapped[str | None] = mapped_column(Text)
    first_name_key: Mapped[str | None] = mapped_column(Text)
    last_name_key: Mapped[str | None] = mapped_column(Text)
    company_key: Mapped[str | None] = mapped_column(String(300))
    company_domain: Mapped[str | None] = mapped_column(String(255))
    street_key: Mapped[str | None] = mapped_column(Text)
    # Keyed blind indexes (HMAC) of the lowercased email, the email and phone match keys:
    # the exact lookups of search, privacy requests and single-record matching.
    email_index: Mapped[str | None] = mapped_column(String(64))
    email_key_index: Mapped[str | None] = mapped_column(String(64))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    # Blind index of "last name key, first name key", filled only when names are encrypted
    # (else single-record matching looks the plaintext keys up).
    name_index: Mapped[str | None] = mapped_column(String(64))


class CompanyRecord(Base):
    """The standardized view of one company source record."""

    __tablename__ = "company_record"

    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    name: Mapped[str | None] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(200))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[float | None] = mapped_column(Money)
    phone: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(300))
    street2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(100))
    founded_year: Mapped[int | None] = mapped_column(Integer)
    company_type: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    source_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Match keys, written by the clean stage.
    name_key: Mapped[str | None] = mapped_column(String(300))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    street_key: Mapped[str | None] = mapped_column(String(300))


class ContactLink(Base):
    """Which golden contact a contact source record belongs to, and who decided it."""

    __tablename__ = "contact_link"

    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), primary_key=True)
    # Deferred: links are written first, then the golden rows are built from them.
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", deferrable=True, initially="DEFERRED"), index=True
    )
    match_probability: Mapped[float | None] = mapped_column(Float)
    # Why the record belongs: its strongest pair in the contact, {"record", "weights"}.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    linked_by: Mapped[str] = mapped_column(String(200))  # import, resolve, or a user name
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CompanyLink(Base):
    """Which golden company a company source record belongs to."""

    __tablename__ = "company_link"

    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("company.id", deferrable=True, initially="DEFERRED"), index=True
    )
    match_probability: Mapped[float | None] = mapped_column(Float)
    linked_by: Mapped[str] = mapped_column(String(200))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CustomFieldDefinition(TimestampMixin, Base):
    """A declared custom field: values stored in `custom` columns are validated against it."""

    __tablename__ = "custom_field_definition"
    __table_args__ = (Index(None, "entity", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(50))  # contact, company, order, ...
    name: Mapped[str] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(300))  # the header it came from
    type: Mapped[str] = mapped_column(String(20))  # text | integer | number | boolean | date
    description: Mapped[str | None] = mapped_column(Text)
