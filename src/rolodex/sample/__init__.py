"""Bundled demo data: seven synthetic exports that describe the same customers differently.

`rolodex demo` imports `SAMPLE_SOURCES` in order from `sample_dir()`. The files are
generated (deterministically) by `python -m rolodex.sample.generate`; `data/README.md`
describes them and `data/TRUTH.csv` says which true person every row belongs to.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

__all__ = ["SAMPLE_SOURCES", "SampleSource", "sample_dir"]


class SampleSource(NamedTuple):
    """One bundled file and how the demo imports it."""

    file: str
    source: str  # the system it stands for, passed as --source
    kind: str  # the record kind, passed as --kind


# Contacts before the records that refer to them, so orders, tickets and events find their
# customers when the demo imports them.
SAMPLE_SOURCES: list[SampleSource] = [
    SampleSource("shop_customers.csv", "shopify", "contacts"),
    SampleSource("shop_orders.csv", "shopify", "orders"),
    SampleSource("newsletter.csv", "mailchimp", "contacts"),
    SampleSource("sales_leads.xlsx", "salesforce", "contacts"),
    SampleSource("messe_kontakte.csv", "trade_fair", "contacts"),
    SampleSource("support_tickets.csv", "zendesk", "tickets"),
    SampleSource("campaign_responses.ndjson", "campaigns", "events"),
]


def sample_dir() -> Path:
    """Return the directory holding the bundled sample files.

    The package is installed as plain files (wheel or editable), so the resource is a real
    directory; a zipped install would not give one and is not supported.
    """
    return Path(str(files("rolodex.sample") / "data"))
