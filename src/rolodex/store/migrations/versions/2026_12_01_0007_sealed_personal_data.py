"""Encryption at rest: personal-data columns widened to hold tokens (dates of birth become
ISO text), and keyed blind-index columns for the exact lookups of emails, phones and (when
names are encrypted) names.

Stored values stay as they are (readers take plaintext and tokens alike);
`rolodex keys seal` encrypts them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORD_TEXT = {
    "email": 320,
    "email2": 320,
    "phone": 100,
    "mobile": 100,
    "work_phone": 100,
    "street": 300,
    "street2": 300,
    "email_key": 320,
    "phone_key": 40,
    "street_key": 300,
    "first_name": 200,
    "middle_name": 200,
    "last_name": 200,
    "full_name": 400,
    "first_name_key": 200,
    "last_name_key": 200,
}
_CONTACT_TEXT = {
    "email": 320,
    "phone": 100,
    "first_name": 200,
    "middle_name": 200,
    "last_name": 200,
    "full_name": 400,
}
_POINT_TEXT = {"value": 500, "street": 300, "street2": 300}


def _widen(batch_op: object, columns: dict[str, int], *, to_text: bool) -> None:
    for name, length in columns.items():
        old, new = (sa.String(length), sa.Text()) if to_text else (sa.Text(), sa.String(length))
        batch_op.alter_column(name, existing_type=old, type_=new)  # type: ignore[attr-defined]


def _birth_date(batch_op: object, *, to_text: bool) -> None:
    dialect = op.get_bind().dialect.name
    old, new = (sa.Date(), sa.Text()) if to_text else (sa.Text(), sa.Date())
    using = None
    if dialect == "postgresql":
        using = "birth_date::text" if to_text else "birth_date::date"
    batch_op.alter_column(  # type: ignore[attr-defined]
        "birth_date", existing_type=old, type_=new, postgresql_using=using
    )


def upgrade() -> None:
    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_record_email_key")
        batch_op.drop_index("ix_contact_record_phone_key")
        _widen(batch_op, _RECORD_TEXT, to_text=True)
        _birth_date(batch_op, to_text=True)
        batch_op.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_key_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("name_index", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_contact_record_name_index"), ["name_index"])
        batch_op.create_index(
            batch_op.f("ix_contact_record_email_key_index"), ["email_key_index"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_record_phone_index"), ["phone_index"], unique=False
        )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        _widen(batch_op, _CONTACT_TEXT, to_text=True)
        _birth_date(batch_op, to_text=True)
    with op.batch_alter_table("contact_point", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_point_email")
        batch_op.drop_index("ix_contact_point_phone")
        _widen(batch_op, _POINT_TEXT, to_text=True)
        batch_op.add_column(sa.Column("value_index", sa.String(length=64), nullable=True))
        for kind in ("email", "phone"):
            batch_op.create_index(
                f"ix_contact_point_{kind}",
                ["value_index"],
                unique=False,
                sqlite_where=sa.text(f"kind = '{kind}'"),
                postgresql_where=sa.text(f"kind = '{kind}'"),
            )


def downgrade() -> None:
    with op.batch_alter_table("contact_point", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_point_email")
        batch_op.drop_index("ix_contact_point_phone")
        batch_op.drop_column("value_index")
        _widen(batch_op, _POINT_TEXT, to_text=False)
        for kind in ("email", "phone"):
            batch_op.create_index(
                f"ix_contact_point_{kind}",
                ["value"],
                unique=False,
                sqlite_where=sa.text(f"kind = '{kind}'"),
                postgresql_where=sa.text(f"kind = '{kind}'"),
            )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        _birth_date(batch_op, to_text=False)
        _widen(batch_op, _CONTACT_TEXT, to_text=False)
    with op.batch_alter_table("contact_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_record_name_index"))
        batch_op.drop_column("name_index")
        batch_op.drop_index(batch_op.f("ix_contact_record_phone_index"))
        batch_op.drop_index(batch_op.f("ix_contact_record_email_key_index"))
        batch_op.drop_column("phone_index")
        batch_op.drop_column("email_key_index")
        batch_op.drop_column("email_index")
        _birth_date(batch_op, to_text=False)
        _widen(batch_op, _RECORD_TEXT, to_text=False)
        batch_op.create_index("ix_contact_record_phone_key", ["phone_key"], unique=False)
        batch_op.create_index("ix_contact_record_email_key", ["email_key"], unique=False)
