"""Resolve: trained matching models, people's match decisions, the review queue, golden
value lineage and merged-contact redirects.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_model")),
    )
    op.create_table(
        "resolve_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("max_record_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolve_run")),
    )
    for name in ("match_decision", "match_review"):
        extra: list[sa.Column[Any]] = (
            [
                sa.Column("same", sa.Boolean(), nullable=False),
                sa.Column("actor", sa.String(length=200), nullable=False),
                sa.Column("reason", sa.Text(), nullable=True),
                sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
            ]
            if name == "match_decision"
            else [
                sa.Column("probability", sa.Float(), nullable=False),
                sa.Column("evidence", sa.JSON(), nullable=True),
                sa.Column("status", sa.String(length=20), nullable=False),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("decided_by", sa.String(length=200), nullable=True),
                sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
            ]
        )
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("left_record_id", sa.Integer(), nullable=False),
            sa.Column("right_record_id", sa.Integer(), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(
                ["left_record_id"],
                ["source_record.id"],
                name=op.f(f"fk_{name}_left_record_id_source_record"),
            ),
            sa.ForeignKeyConstraint(
                ["right_record_id"],
                ["source_record.id"],
                name=op.f(f"fk_{name}_right_record_id_source_record"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
            sa.UniqueConstraint(
                "left_record_id",
                "right_record_id",
                name=op.f(f"uq_{name}_left_record_id_right_record_id"),
            ),
        )
        op.create_index(op.f(f"ix_{name}_right_record_id"), name, ["right_record_id"], unique=False)
    op.create_index(op.f("ix_match_review_status"), "match_review", ["status"], unique=False)
    op.create_table(
        "match_tf",
        sa.Column("column", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("tf", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("column", "value", name=op.f("pk_match_tf")),
    )
    # Single-record matching looks records up by these keys.
    op.create_index(op.f("ix_contact_record_email_key"), "contact_record", ["email_key"])
    op.create_index(op.f("ix_contact_record_phone_key"), "contact_record", ["phone_key"])
    op.create_index(
        op.f("ix_contact_record_last_name_key_first_name_key"),
        "contact_record",
        ["last_name_key", "first_name_key"],
    )
    op.add_column("contact_link", sa.Column("evidence", sa.JSON(), nullable=True))
    op.add_column("contact", sa.Column("lineage", sa.JSON(), nullable=True))
    op.add_column("contact", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_contact_merged_into_id"), "contact", ["merged_into_id"])
    op.add_column("company", sa.Column("merged_into_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_company_merged_into_id"), "company", ["merged_into_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_company_merged_into_id"), table_name="company")
    with op.batch_alter_table("company") as batch:
        batch.drop_column("merged_into_id")
    op.drop_index(op.f("ix_contact_merged_into_id"), table_name="contact")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("merged_into_id")
        batch.drop_column("lineage")
    with op.batch_alter_table("contact_link") as batch:
        batch.drop_column("evidence")
    for index in (
        "ix_contact_record_last_name_key_first_name_key",
        "ix_contact_record_phone_key",
        "ix_contact_record_email_key",
    ):
        op.drop_index(op.f(index), table_name="contact_record")
    op.drop_table("match_tf")
    op.drop_index(op.f("ix_match_review_status"), table_name="match_review")
    for name in ("match_review", "match_decision"):
        op.drop_index(op.f(f"ix_{name}_right_record_id"), table_name=name)
        op.drop_table(name)
    op.drop_table("resolve_run")
    op.drop_table("match_model")
