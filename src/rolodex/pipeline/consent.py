"""Consent as the outputs check it: the latest decision per contact and purpose wins.

Consents are kept as history (one row per decision); a withdrawal after a grant wins, and so
does a grant after a withdrawal. Segment exports leave out, and campaign analysis counts,
the customers whose latest decision for a purpose is not "granted".
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from rolodex.model import Consent
from rolodex.model.base import table

MARKETING = "marketing"


def granted_contacts(conn: Connection, *, purpose: str = MARKETING) -> set[int]:
    """Contacts whose latest consent for a purpose naming `purpose` is granted."""
    consent = table(Consent)
    ranked = (
        sa.select(
            consent.c.contact_id,
            consent.c.status,
            sa.func.row_number()
            .over(
                partition_by=(consent.c.contact_id, sa.func.lower(consent.c.purpose)),
                order_by=(
                    sa.func.coalesce(consent.c.occurred_at, consent.c.created_at).desc(),
                    consent.c.id.desc(),
                ),
            )
            .label("n"),
        )
        .where(
            sa.func.lower(consent.c.purpose).contains(purpose.lower()),
            consent.c.contact_id.is_not(None),
        )
        .subquery()
    )
    found = conn.execute(
        sa.select(ranked.c.contact_id).where(ranked.c.n == 1, ranked.c.status == "granted")
    )
    return {int(c) for (c,) in found}


def any_consents(conn: Connection, *, purpose: str = MARKETING) -> bool:
    """Whether any consent for such a purpose was recorded at all."""
    consent = table(Consent)
    return (
        conn.execute(
            sa.select(consent.c.id)
            .where(sa.func.lower(consent.c.purpose).contains(purpose.lower()))
            .limit(1)
        ).first()
        is not None
    )
