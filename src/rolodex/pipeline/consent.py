"""Consent as the outputs check it: the latest decision per contact and purpose wins.

Consents are kept as history (one row per decision); a withdrawal after a grant wins, and so
does a grant after a withdrawal. Segment exports leave out, and campaign analysis counts,
the customers whose latest decision for a purpose is not "granted".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rolodex.model import Consent
from rolodex.model.base import table

MARKETING = "marketing"


def standing_grants(*, purpose: str = MARKETING) -> sa.Select[Any]:
    """Granted consent rows for a purpose naming `purpose` that no later decision on the
    same contact and purpose overtook: the one definition of "latest wins".

    Select their `contact_id`; correlate it to a contact (`.where(contact_id == c.id)
    .exists()`) for a per-contact condition.
    """
    consent = table(Consent)
    later = consent.alias("later")
    when = sa.func.coalesce(consent.c.occurred_at, consent.c.created_at)
    later_when = sa.func.coalesce(later.c.occurred_at, later.c.created_at)
    overtaken = (
        sa.select(later.c.id)
        .where(
            later.c.contact_id == consent.c.contact_id,
            sa.func.lower(later.c.purpose) == sa.func.lower(consent.c.purpose),
            sa.or_(later_when > when, sa.and_(later_when == when, later.c.id > consent.c.id)),
        )
        .exists()
    )
    return sa.select(consent.c.contact_id).where(
        consent.c.contact_id.is_not(None),
        sa.func.lower(consent.c.purpose).contains(purpose.lower()),
        consent.c.status == "granted",
        ~overtaken,
    )


def granted_contacts(conn: Connection, *, purpose: str = MARKETING) -> set[int]:
    """Contacts whose latest consent for a purpose naming `purpose` is granted."""
    return {int(c) for (c,) in conn.execute(standing_grants(purpose=purpose))}


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
