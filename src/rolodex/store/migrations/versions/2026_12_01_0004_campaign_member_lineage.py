"""Campaign members imported like other activity rows: their own source record (lineage,
re-import, undo), an index to follow their customers to golden contacts, and responded and
converted flags for files that say yes or no rather than when.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite adds a unique constraint and a foreign key only by copying the table.
    with op.batch_alter_table("campaign_member") as batch:
        batch.add_column(sa.Column("source_record_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("responded", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("converted", sa.Boolean(), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_campaign_member_source_record_id"), ["source_record_id"]
        )
        batch.create_foreign_key(
            op.f("fk_campaign_member_source_record_id_source_record"),
            "source_record",
            ["source_record_id"],
            ["id"],
        )
        batch.create_index(
            op.f("ix_campaign_member_customer_record_id"), ["customer_record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_member") as batch:
        batch.drop_index(op.f("ix_campaign_member_customer_record_id"))
        batch.drop_constraint(
            op.f("fk_campaign_member_source_record_id_source_record"), type_="foreignkey"
        )
        batch.drop_constraint(op.f("uq_campaign_member_source_record_id"), type_="unique")
        batch.drop_column("converted")
        batch.drop_column("responded")
        batch.drop_column("source_record_id")
