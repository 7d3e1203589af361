"""Canonical fields per record kind: the vocabulary the import maps source columns onto.

Every kind has a small set of fields Rolodex understands. A source column that maps to none
of them is never dropped: it stays in the raw payload and becomes a custom field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """What one row of an imported file describes."""

    CONTACTS = "contacts"
    COMPANIES = "companies"
    ORDERS = "orders"
    INTERACTIONS = "interactions"
    TICKETS = "tickets"
    EVENTS = "events"
    CONSENTS = "consents"
    SUBSCRIPTIONS = "subscriptions"
    DEALS = "deals"
    CAMPAIGN_MEMBERS = "campaign_members"


class FieldType(enum.StrEnum):
    """How the import checks a field's structure (cleaning proper is a later stage)."""

    TEXT = "text"
    ID = "id"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    DATETIME = "datetime"
    AMOUNT = "amount"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    URL = "url"
    COUNTRY = "country"


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field of a kind."""

    name: str
    type: FieldType = FieldType.TEXT
    description: str = ""


T = FieldType

# Shared address block (contacts and companies).
_ADDRESS = (
    Field("street", T.TEXT, "Street address, first line"),
    Field("street2", T.TEXT, "Street address, second line"),
    Field("city", T.TEXT),
    Field("region", T.TEXT, "State, province, county or region"),
    Field("postcode", T.TEXT, "Postal or ZIP code"),
    Field("country", T.COUNTRY, "Country name or code"),
)

# The customer reference that transactional kinds carry.
_CUSTOMER_REF = (
    Field("customer_id", T.ID, "The source's id of the customer this row belongs to"),
    Field("customer_email", T.EMAIL, "The customer's email when no customer id is given"),
)

FIELDS: dict[Kind, tuple[Field, ...]] = {
    Kind.CONTACTS: (
        Field("record_id", T.ID, "The source's id of the contact"),
        Field("salutation", T.TEXT, "Title such as Mr, Ms, Dr"),
        Field("first_name"),
        Field("middle_name"),
        Field("last_name"),
        Field("full_name", T.TEXT, "Whole name in one field"),
        Field("suffix", T.TEXT, "Jr, Sr, III, PhD"),
        Field("email", T.EMAIL, "Primary email address"),
        Field("email2", T.EMAIL, "Other email address"),
        Field("phone", T.PHONE, "Primary (landline or unspecified) phone"),
        Field("mobile", T.PHONE, "Mobile phone"),
        Field("work_phone", T.PHONE, "Business phone"),
        Field("other_phone", T.PHONE, "Another phone: home, alternate, the default address's"),
        Field("company_name", T.TEXT, "Employer or account name"),
        Field("company_id", T.ID, "The source's id of the contact's company"),
        Field("job_title"),
        Field("department"),
        Field("website", T.URL),
        *_ADDRESS,
        Field("birth_date", T.DATE),
        Field("gender"),
        Field("language", T.TEXT, "Preferred language"),
        Field("lifecycle_stage", T.TEXT, "Lead, subscriber, customer, ..."),
        Field("lead_source", T.TEXT, "Where the contact came from"),
        Field("owner", T.TEXT, "Owning user or team in the source system"),
        Field("linkedin", T.URL),
        Field("twitter"),
        Field("email_opt_in", T.BOOLEAN, "Marketing email consent as the source states it"),
        Field("created_date", T.DATETIME, "When the source created the record"),
        Field("updated_date", T.DATETIME, "When the source last changed the record"),
    ),
    Kind.COMPANIES: (
        Field("record_id", T.ID, "The source's id of the company"),
        Field("name", T.TEXT, "Company or account name"),
        Field("domain", T.URL, "Website or email domain"),
        Field("industry"),
        Field("employee_count", T.INTEGER),
        Field("annual_revenue", T.AMOUNT),
        Field("phone", T.PHONE),
        *_ADDRESS,
        Field("founded_year", T.INTEGER),
        Field("company_type", T.TEXT, "Customer, partner, prospect, ..."),
        Field("owner"),
        Field("created_date", T.DATETIME),
        Field("updated_date", T.DATETIME),
    ),
    Kind.ORDERS: (
        Field("record_id", T.ID, "Order number or id"),
        *_CUSTOMER_REF,
        Field("order_date", T.DATETIME),
        Field("total_amount", T.AMOUNT, "Order total"),
        Field("currency"),
        Field("quantity", T.INTEGER, "Items in the order"),
        Field("status", T.TEXT, "Paid, refunded, cancelled, ..."),
        Field("line_sku", T.TEXT, "Line item SKU"),
        Field("line_name", T.TEXT, "Line item product name"),
        Field("line_quantity", T.INTEGER),
        Field("line_price", T.AMOUNT, "Line item unit price"),
    ),
    Kind.INTERACTIONS: (
        Field("record_id", T.ID),
        *_CUSTOMER_REF,
        Field("interaction_type", T.TEXT, "Call, email, meeting, open, click, chat, ..."),
        Field("channel"),
        Field("direction", T.TEXT, "Inbound or outbound"),
        Field("occurred_at", T.DATETIME),
        Field("subject"),
        Field("outcome"),
        Field("campaign", T.TEXT, "Campaign name or id the interaction belongs to"),
    ),
    Kind.TICKETS: (
        Field("record_id", T.ID, "Ticket id"),
        *_CUSTOMER_REF,
        Field("subject"),
        Field("status"),
        Field("priority"),
        Field("channel", T.TEXT, "Email, chat, phone, web"),
        Field("created_date", T.DATETIME),
        Field("solved_date", T.DATETIME),
        Field("satisfaction", T.TEXT, "Satisfaction rating"),
    ),
    Kind.EVENTS: (
        Field("record_id", T.ID),
        *_CUSTOMER_REF,
        Field("event_type", T.TEXT, "Page view, email open, click, sign-up, ..."),
        Field("occurred_at", T.DATETIME),
        Field("url", T.URL),
        Field("campaign"),
    ),
    Kind.CONSENTS: (
        Field("record_id", T.ID),
        *_CUSTOMER_REF,
        Field("purpose", T.TEXT, "Marketing email, SMS, profiling, ..."),
        Field("status", T.TEXT, "Granted, withdrawn, ..."),
        Field("lawful_basis"),
        Field("occurred_at", T.DATETIME),
        Field("proof", T.TEXT, "IP address, form, double opt-in reference"),
    ),
    Kind.SUBSCRIPTIONS: (
        Field("record_id", T.ID, "Subscription id"),
        *_CUSTOMER_REF,
        Field("plan", T.TEXT, "Plan, product or price name"),
        Field("status", T.TEXT, "Active, trialing, past due, cancelled, ..."),
        Field("started_at", T.DATETIME, "When the subscription started"),
        Field("cancelled_at", T.DATETIME, "When it was cancelled (stored when no end is given)"),
        Field("ended_at", T.DATETIME, "When the subscription ended (stored as the cancellation)"),
        Field("monthly_amount", T.AMOUNT, "Recurring amount, per billing interval if one is given"),
        Field("billing_interval", T.TEXT, "Month, year, week or day: the amount is divided down"),
        Field("currency"),
    ),
    Kind.DEALS: (
        Field("record_id", T.ID, "Deal or opportunity id"),
        *_CUSTOMER_REF,
        Field("company_id", T.ID, "The source's id of the deal's company or account"),
        Field("company_name", T.TEXT, "The deal's company or account name"),
        Field("deal_name", T.TEXT, "Deal or opportunity name"),
        Field("pipeline"),
        Field("stage", T.TEXT, "Pipeline stage; closed won / closed lost decide `won` if absent"),
        Field("status", T.TEXT, "Open, won or lost (decides `won` when it is absent)"),
        Field("amount", T.AMOUNT),
        Field("currency"),
        Field("probability", T.AMOUNT, "Win probability, 0-1 or 0-100 % (stored as 0-1)"),
        Field("expected_close_date", T.DATE, "When the deal is expected to close"),
        Field("closed_at", T.DATETIME, "When the deal was won or lost"),
        Field("won", T.BOOLEAN, "Whether the deal was won"),
        Field(
            "closed", T.BOOLEAN, "Whether the deal is closed (an open deal is neither won nor lost)"
        ),
        Field("owner", T.TEXT, "Owning salesperson or team"),
    ),
    Kind.CAMPAIGN_MEMBERS: (
        Field("record_id", T.ID, "Campaign member id"),
        *_CUSTOMER_REF,
        Field("campaign", T.TEXT, "Campaign name; a campaign is created on first sight"),
        Field("arm", T.TEXT, "Treatment, variant, group or segment; the control group's name"),
        Field("control", T.BOOLEAN, "The member is in the control (hold-out) group"),
        Field("status", T.TEXT, "Sent, opened, responded, converted, ..."),
        Field("responded", T.BOOLEAN, "Whether the member responded (visited, clicked, replied)"),
        Field("responded_at", T.DATETIME, "When the member responded"),
        Field("converted", T.BOOLEAN, "Whether the member converted (bought, signed up)"),
        Field("converted_at", T.DATETIME, "When the member converted"),
        Field("revenue", T.AMOUNT, "Revenue the member brought"),
    ),
}

# Kinds whose rows belong to a customer, referenced by customer_id or customer_email.
CUSTOMER_KINDS = frozenset(
    {
        Kind.ORDERS,
        Kind.INTERACTIONS,
        Kind.TICKETS,
        Kind.EVENTS,
        Kind.CONSENTS,
        Kind.SUBSCRIPTIONS,
        Kind.DEALS,
        Kind.CAMPAIGN_MEMBERS,
    }
)


def field_names(kind: Kind) -> tuple[str, ...]:
    """Return the canonical field names of a kind, in order."""
    return tuple(f.name for f in FIELDS[kind])


def field_types(kind: Kind) -> dict[str, FieldType]:
    """Return canonical field name -> type for a kind."""
    return {f.name: f.type for f in FIELDS[kind]}
