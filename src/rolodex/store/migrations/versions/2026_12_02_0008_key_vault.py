"""Subject keys move out of the database into the key vault (`rolodex.secure.vault`): a key
kept in the database is copied into every backup of it, so destroying it there could not make
those backups unreadable. The `subject_key` table held no live keys (no data was sealed under
one before this revision), so nothing is moved.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("subject_key")


def downgrade() -> None:
    op.create_table(
        "subject_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_key")),
        sa.UniqueConstraint("subject", name=op.f("uq_subject_key_subject")),
    )
