"""Columns every record tied to a customer carries: its own source row and its customer."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class CustomerOwnedMixin:
    """Lineage and ownership of a transactional or activity row.

    `customer_record_id` is the contact source record the row names (by the source's customer
    id or email); `contact_id` is the golden contact that record currently belongs to, kept
    in step by resolve, merge and unmerge so queries need no extra join.
    """

    @declared_attr
    def source_record_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("source_record.id"), unique=True)

    @declared_attr
    def customer_record_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("source_record.id"), index=True)

    @declared_attr
    def contact_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("contact.id"), index=True)
