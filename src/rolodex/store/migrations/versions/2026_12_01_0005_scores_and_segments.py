"""Analyze and segment: the latest RFM, lifetime-value and churn figures per golden contact,
saved segments and their membership history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_predefined", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("name", name=op.f("uq_segment_name")),
    )
    op.create_table(
        "contact_score",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("rfm_as_of", sa.Date(), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=True),
        sa.Column("monetary", sa.Numeric(precision=18, scale=4, asdecimal=False), nullable=True),
        sa.Column("r_score", sa.Integer(), nullable=True),
        sa.Column("f_score", sa.Integer(), nullable=True),
        sa.Column("m_score", sa.Integer(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=50), nullable=True),
        sa.Column("clv_as_of", sa.Date(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_purchases_12m", sa.Float(), nullable=True),
        sa.Column("clv_12m", sa.Numeric(precision=18, scale=4, asdecimal=False), nullable=True),
        sa.Column("churn_as_of", sa.Date(), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column("churn_reasons", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_contact_score_contact_id_contact")
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_score")),
    )
    with op.batch_alter_table("contact_score", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_score_rfm_segment"), ["rfm_segment"], unique=False
        )

    op.create_table(
        "segment_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_segment_member_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segment.id"], name=op.f("fk_segment_member_segment_id_segment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_member")),
    )
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_member_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index("ix_segment_member_open", ["segment_id", "left_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_member_open")
        batch_op.drop_index(batch_op.f("ix_segment_member_contact_id"))

    op.drop_table("segment_member")
    with op.batch_alter_table("contact_score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_score_rfm_segment"))

    op.drop_table("contact_score")
    op.drop_table("segment")
