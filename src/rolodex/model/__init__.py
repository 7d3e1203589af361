"""The canonical CRM schema: SQLAlchemy 2 models, one module per entity family.

Importing this package registers every table on `Base.metadata` (Alembic needs them all).
"""

from rolodex.model.access import (
    ApiKey,
    IdempotentRequest,
    LoginAttempt,
    RevokedToken,
    Role,
    Suppression,
    User,
)
from rolodex.model.activity import (
    Campaign,
    CampaignMember,
    Consent,
    Event,
    Interaction,
    Ticket,
)
from rolodex.model.base import Base
from rolodex.model.commerce import Deal, Order, OrderLine, Payment, Subscription
from rolodex.model.forms import IntakeForm, PendingConfirmation
from rolodex.model.lineage import (
    AuditLog,
    ImportBatch,
    MatchDecision,
    MatchModel,
    MatchReview,
    MatchTermFrequency,
    MergeEvent,
    ResolveRun,
    Source,
    SourceRecord,
    SourceRecordHistory,
)
from rolodex.model.party import (
    Company,
    CompanyLink,
    CompanyRecord,
    Contact,
    ContactLink,
    ContactPoint,
    ContactRecord,
    CustomFieldDefinition,
)
from rolodex.model.segments import ContactScore, Segment, SegmentMember

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "Campaign",
    "CampaignMember",
    "Company",
    "CompanyLink",
    "CompanyRecord",
    "Consent",
    "Contact",
    "ContactLink",
    "ContactPoint",
    "ContactRecord",
    "ContactScore",
    "CustomFieldDefinition",
    "Deal",
    "Event",
    "IdempotentRequest",
    "ImportBatch",
    "IntakeForm",
    "Interaction",
    "LoginAttempt",
    "MatchDecision",
    "MatchModel",
    "MatchReview",
    "MatchTermFrequency",
    "MergeEvent",
    "Order",
    "OrderLine",
    "Payment",
    "PendingConfirmation",
    "ResolveRun",
    "RevokedToken",
    "Role",
    "Segment",
    "SegmentMember",
    "Source",
    "SourceRecord",
    "SourceRecordHistory",
    "Subscription",
    "Suppression",
    "Ticket",
    "User",
]
