"""Contacts for the HTTP API: the library layer the adapter calls (lists, search, the 360°
view, creates with the real-time match, ETag-guarded edits). Reading lives in
`contacts_read`, writing in `contacts_write`; this module is the one to import.
"""

from __future__ import annotations

from rolodex.pipeline.contacts_read import (
    CONTACT,
    FILTERS,
    Page,
    contact_360,
    contact_dict,
    etag,
    list_contacts,
    search_contacts,
)
from rolodex.pipeline.contacts_write import (
    EDITABLE,
    READ_ONLY,
    CreateResult,
    OnMatch,
    PreconditionFailed,
    create_contacts,
    match_records,
    update_contact,
    update_contacts,
)

__all__ = [
    "CONTACT",
    "EDITABLE",
    "FILTERS",
    "READ_ONLY",
    "CreateResult",
    "OnMatch",
    "Page",
    "PreconditionFailed",
    "contact_360",
    "contact_dict",
    "create_contacts",
    "etag",
    "list_contacts",
    "match_records",
    "search_contacts",
    "update_contact",
    "update_contacts",
]
