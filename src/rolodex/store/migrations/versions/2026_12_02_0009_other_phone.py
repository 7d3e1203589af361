"""A fourth phone on contact records, `other_phone`: the home, alternate or default-address
phone an export carries beside its main, mobile and work numbers, which until now was kept
only as a custom field (unsealed, and unseen by matching).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contact_record", sa.Column("other_phone", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_record") as batch_op:
        batch_op.drop_column("other_phone")
