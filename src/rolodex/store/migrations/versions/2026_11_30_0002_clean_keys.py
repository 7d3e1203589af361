"""Match keys on the standardized contact and company views, written by the clean stage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = [
    ("email_key", 320),
    ("phone_key", 40),
    ("first_name_key", 200),
    ("last_name_key", 200),
    ("company_key", 300),
    ("company_domain", 255),
    ("street_key", 300),
]


_COMPANY_COLUMNS = [("name_key", 300), ("phone_key", 40), ("street_key", 300)]


def upgrade() -> None:
    for table, columns in (("contact_record", _COLUMNS), ("company_record", _COMPANY_COLUMNS)):
        for name, length in columns:
            op.add_column(table, sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for table, columns in (("contact_record", _COLUMNS), ("company_record", _COMPANY_COLUMNS)):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)
