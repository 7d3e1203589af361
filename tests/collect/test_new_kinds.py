"""Subscriptions, deals and campaign members: export headers in four languages and the
spellings of billing and CRM tools, kind detection, date-for-flag columns, required fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from rolodex.collect.fields import CUSTOMER_KINDS, Kind, field_names
from rolodex.collect.mapping import ColumnMapping, detect_kind, infer_mapping
from rolodex.collect.prepare import ChunkPreparer
from rolodex.collect.rows import RawRow
from rolodex.model.base import table
from rolodex.resolve.singletons import ACTIVITY_TABLES

NEW_KINDS = (Kind.SUBSCRIPTIONS, Kind.DEALS, Kind.CAMPAIGN_MEMBERS)


def split(line: str) -> list[str]:
    """Split a header line the way the export writes it (comma, or semicolon for EU sheets)."""
    return line.split(";" if ";" in line else ",")


def targets(result: ColumnMapping) -> dict[str, str]:
    """Return header -> canonical field, or "custom"."""
    return {
        header: target if not target.startswith("custom:") else "custom"
        for header, target, _ in result.describe()
    }


def expect(headers: Sequence[str], mapped: Mapping[str, str]) -> dict[str, str]:
    """Return the full expected header -> target table: `mapped`, and custom for the rest."""
    assert not set(mapped) - set(headers)
    return {h: mapped.get(h, "custom") for h in headers}


EXPORTS = [
    (
        "stripe-subscriptions",
        "id,Customer ID,Customer Description,Customer Email,Plan,Product,Quantity,Interval,"
        "Amount,Status,Created (UTC),Start Date (UTC),Current Period Start (UTC),"
        "Current Period End (UTC),Trial Start (UTC),Trial End (UTC),Canceled At (UTC),"
        "Ended At (UTC),Cancel At Period End",
        Kind.SUBSCRIPTIONS,
        {
            "id": "record_id",
            "Customer ID": "customer_id",
            "Customer Email": "customer_email",
            "Plan": "plan",
            "Interval": "billing_interval",
            "Amount": "monthly_amount",
            "Status": "status",
            "Start Date (UTC)": "started_at",
            "Canceled At (UTC)": "cancelled_at",
            "Ended At (UTC)": "ended_at",
        },
    ),
    (
        "chargebee-subscriptions",
        "subscription[id],customer[id],customer[email],subscription[plan_id],"
        "subscription[status],subscription[started_at],subscription[cancelled_at],"
        "subscription[mrr],subscription[currency_code],subscription[billing_period_unit]",
        Kind.SUBSCRIPTIONS,
        {
            "subscription[id]": "record_id",
            "customer[id]": "customer_id",
            "customer[email]": "customer_email",
            "subscription[plan_id]": "plan",
            "subscription[status]": "status",
            "subscription[started_at]": "started_at",
            "subscription[cancelled_at]": "cancelled_at",
            "subscription[mrr]": "monthly_amount",
            "subscription[currency_code]": "currency",
            "subscription[billing_period_unit]": "billing_interval",
        },
    ),
    (
        "recurly-subscriptions",
        "uuid,account_code,plan_code,state,activated_at,canceled_at,expires_at,unit_amount,"
        "currency,quantity",
        Kind.SUBSCRIPTIONS,
        {
            "uuid": "record_id",
            "account_code": "customer_id",
            "plan_code": "plan",
            "state": "status",
            "activated_at": "started_at",
            "canceled_at": "cancelled_at",
            "expires_at": "ended_at",
            "unit_amount": "monthly_amount",
            "currency": "currency",
        },
    ),
    (
        "zuora-subscriptions",
        "Account.AccountNumber,Subscription.Name,Subscription.Status,"
        "Subscription.SubscriptionStartDate,Subscription.CancelledDate,"
        "Subscription.SubscriptionEndDate,RatePlan.Name",
        Kind.SUBSCRIPTIONS,
        {
            "Account.AccountNumber": "customer_id",
            "Subscription.Status": "status",
            "Subscription.SubscriptionStartDate": "started_at",
            "Subscription.CancelledDate": "cancelled_at",
            "Subscription.SubscriptionEndDate": "ended_at",
            "RatePlan.Name": "plan",
        },
    ),
    (
        "german-subscriptions",
        "Abo-Nr;Kundennummer;Tarif;Status;Beginn;Gekündigt am;Monatsbeitrag;Währung",
        Kind.SUBSCRIPTIONS,
        {
            "Abo-Nr": "record_id",
            "Kundennummer": "customer_id",
            "Tarif": "plan",
            "Status": "status",
            "Beginn": "started_at",
            "Gekündigt am": "cancelled_at",
            "Monatsbeitrag": "monthly_amount",
            "Währung": "currency",
        },
    ),
    (
        "french-subscriptions",
        "N° client;Formule;Statut;Date de début;Date de résiliation;Montant mensuel;Devise",
        Kind.SUBSCRIPTIONS,
        {
            "N° client": "customer_id",
            "Formule": "plan",
            "Statut": "status",
            "Date de début": "started_at",
            "Date de résiliation": "cancelled_at",
            "Montant mensuel": "monthly_amount",
            "Devise": "currency",
        },
    ),
    (
        "spanish-subscriptions",
        "ID de cliente;Plan;Estado;Fecha de inicio;Fecha de cancelación;Cuota mensual;Moneda",
        Kind.SUBSCRIPTIONS,
        {
            "ID de cliente": "customer_id",
            "Plan": "plan",
            "Estado": "status",
            "Fecha de inicio": "started_at",
            "Fecha de cancelación": "cancelled_at",
            "Cuota mensual": "monthly_amount",
            "Moneda": "currency",
        },
    ),
    (
        "hubspot-deals",
        "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Deal owner,Create Date,"
        "Associated Contact,Associated Company,Deal Type",
        Kind.DEALS,
        {
            "Record ID": "record_id",
            "Deal Name": "deal_name",
            "Deal Stage": "stage",
            "Pipeline": "pipeline",
            "Amount": "amount",
            "Close Date": "expected_close_date",
            "Deal owner": "owner",
            "Associated Contact": "customer_email",
            "Associated Company": "company_name",
        },
    ),
    (
        "salesforce-opportunities",
        "Opportunity ID,Opportunity Name,Account Name,Account ID,Contact ID,Stage,Amount,"
        "Probability (%),Close Date,Opportunity Owner,Won,Closed,Type,Lead Source",
        Kind.DEALS,
        {
            "Opportunity ID": "record_id",
            "Opportunity Name": "deal_name",
            "Account Name": "company_name",
            "Account ID": "company_id",
            "Contact ID": "customer_id",
            "Stage": "stage",
            "Amount": "amount",
            "Probability (%)": "probability",
            "Close Date": "expected_close_date",
            "Opportunity Owner": "owner",
            "Won": "won",
            "Closed": "closed",
        },
    ),
    (
        "pipedrive-deals",
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Stage,Deal - Status,"
        "Deal - Expected close date,Deal - Owner,Deal - Pipeline,Person - Name,Person - Email,"
        "Organization - Name",
        Kind.DEALS,
        {
            "Deal - ID": "record_id",
            "Deal - Title": "deal_name",
            "Deal - Value": "amount",
            "Deal - Currency": "currency",
            "Deal - Stage": "stage",
            "Deal - Status": "status",
            "Deal - Expected close date": "expected_close_date",
            "Deal - Owner": "owner",
            "Deal - Pipeline": "pipeline",
            "Person - Email": "customer_email",
            "Organization - Name": "company_name",
        },
    ),
    (
        "german-deals",
        "Verkaufschance;Kundennummer;Firma;Phase;Betrag;Währung;Wahrscheinlichkeit;"
        "Abschlussdatum;Gewonnen;Verantwortlich",
        Kind.DEALS,
        {
            "Verkaufschance": "deal_name",
            "Kundennummer": "customer_id",
            "Firma": "company_name",
            "Phase": "stage",
            "Betrag": "amount",
            "Währung": "currency",
            "Wahrscheinlichkeit": "probability",
            "Abschlussdatum": "expected_close_date",
            "Gewonnen": "won",
            "Verantwortlich": "owner",
        },
    ),
    (
        "french-deals",
        "Nom de l'affaire;Email du client;Entreprise;Étape;Montant;Probabilité;"
        "Date de clôture;Gagné;Propriétaire",
        Kind.DEALS,
        {
            "Nom de l'affaire": "deal_name",
            "Email du client": "customer_email",
            "Entreprise": "company_name",
            "Étape": "stage",
            "Montant": "amount",
            "Probabilité": "probability",
            "Date de clôture": "expected_close_date",
            "Gagné": "won",
            "Propriétaire": "owner",
        },
    ),
    (
        "spanish-deals",
        "Oportunidad;ID de cliente;Empresa;Etapa;Importe;Probabilidad;Fecha de cierre;"
        "Ganado;Propietario",
        Kind.DEALS,
        {
            "Oportunidad": "deal_name",
            "ID de cliente": "customer_id",
            "Empresa": "company_name",
            "Etapa": "stage",
            "Importe": "amount",
            "Probabilidad": "probability",
            "Fecha de cierre": "expected_close_date",
            "Ganado": "won",
            "Propietario": "owner",
        },
    ),
    (
        "hillstrom",
        "customer_id,campaign,recency,history_segment,history,mens,womens,zip_code,newbie,"
        "channel,segment,visit,conversion,spend",
        Kind.CAMPAIGN_MEMBERS,
        {
            "customer_id": "customer_id",
            "campaign": "campaign",
            "segment": "arm",
            "visit": "responded",
            "conversion": "converted",
            "spend": "revenue",
        },
    ),
    (
        "salesforce-campaign-members",
        "Campaign Member ID,Campaign Name,Contact ID,Email,Status,Responded,"
        "First Responded Date,Member Type",
        Kind.CAMPAIGN_MEMBERS,
        {
            "Campaign Member ID": "record_id",
            "Campaign Name": "campaign",
            "Contact ID": "customer_id",
            "Email": "customer_email",
            "Status": "status",
            "Responded": "responded",
            "First Responded Date": "responded_at",
        },
    ),
    (
        "german-campaign-members",
        "Kundennummer;Kampagne;Testgruppe;Reagiert;Gekauft;Umsatz",
        Kind.CAMPAIGN_MEMBERS,
        {
            "Kundennummer": "customer_id",
            "Kampagne": "campaign",
            "Testgruppe": "arm",
            "Reagiert": "responded",
            "Gekauft": "converted",
            "Umsatz": "revenue",
        },
    ),
    (
        "french-campaign-members",
        "Courriel;Campagne;Groupe;Groupe témoin;Réponse;Date d'achat;Montant",
        Kind.CAMPAIGN_MEMBERS,
        {
            "Courriel": "customer_email",
            "Campagne": "campaign",
            "Groupe": "arm",
            "Groupe témoin": "control",
            "Réponse": "responded",
            "Date d'achat": "converted_at",
            "Montant": "revenue",
        },
    ),
    (
        "spanish-campaign-members",
        "ID de cliente;Campaña;Variante;Grupo de control;Respuesta;Compra;Ingresos",
        Kind.CAMPAIGN_MEMBERS,
        {
            "ID de cliente": "customer_id",
            "Campaña": "campaign",
            "Variante": "arm",
            "Grupo de control": "control",
            "Respuesta": "responded",
            "Compra": "converted",
            "Ingresos": "revenue",
        },
    ),
]


@pytest.mark.parametrize(
    ("line", "kind", "mapped"),
    [pytest.param(line, kind, mapped, id=name) for name, line, kind, mapped in EXPORTS],
)
def test_export_headers_map_every_column(line: str, kind: Kind, mapped: dict[str, str]) -> None:
    headers = split(line)
    result = infer_mapping(headers, [], kind=kind)
    assert targets(result) == expect(headers, mapped)
    assert result.id_column == result.fields.get("record_id")


@pytest.mark.parametrize(
    ("line", "kind"),
    [pytest.param(line, kind, id=name) for name, line, kind, _ in EXPORTS],
)
def test_export_kind_is_detected(line: str, kind: Kind) -> None:
    assert detect_kind(split(line), []) is kind


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("Email,First Name,Last Name,Stage,Converted,Segment", id="lead-export"),
        pytest.param("customer_id,date,product,amount", id="order-log"),
        pytest.param("Ticket ID,Subject,Status,Priority,Closed", id="tickets"),
    ],
)
def test_other_files_are_not_taken_for_the_new_kinds(line: str) -> None:
    assert detect_kind(split(line), []) not in NEW_KINDS


def test_stripe_start_beats_created_whatever_the_order() -> None:
    headers = ["Created (UTC)", "Start Date (UTC)"]
    result = infer_mapping(headers, [], kind=Kind.SUBSCRIPTIONS)
    assert result.fields == {"started_at": 1}
    # Without a start column the creation date stands in.
    alone = infer_mapping(["Created (UTC)"], [], kind=Kind.SUBSCRIPTIONS)
    assert alone.fields == {"started_at": 0}


def test_a_flag_column_of_dates_feeds_the_dated_field() -> None:
    headers = ["Email", "Campaign", "Responded", "Converted"]
    rows = [
        [f"p{i}@example.com", "spring", f"2024-03-0{i}", "yes" if i % 2 else "no"]
        for i in range(1, 6)
    ]
    result = infer_mapping(headers, rows, kind=Kind.CAMPAIGN_MEMBERS)
    assert targets(result) == {
        "Email": "customer_email",
        "Campaign": "campaign",
        "Responded": "responded_at",
        "Converted": "converted",
    }
    assert "100% of 5 values are dates, so responded_at" in result.reasons[2]


def test_a_deal_closed_column_of_dates_is_the_close_time() -> None:
    rows = [["D1", "2024-01-05"], ["D2", "2024-02-05"], ["D3", "2024-03-05"]]
    result = infer_mapping(["Deal ID", "Closed"], rows, kind=Kind.DEALS)
    assert result.fields == {"record_id": 0, "closed_at": 1}


def test_new_kinds_reference_customers_and_follow_them() -> None:
    assert set(NEW_KINDS) <= CUSTOMER_KINDS
    for model in ACTIVITY_TABLES:
        columns = set(table(model).c.keys())
        assert {"source_record_id", "customer_record_id", "contact_id"} <= columns, model
        assert table(model).c["source_record_id"].unique, model


def _prepare(kind: Kind, header: list[str], rows: list[list[str | None]]) -> list[list[str]]:
    """Map and prepare rows; return each row's problem messages."""
    mapping = infer_mapping(header, rows, kind=kind)
    preparer = ChunkPreparer(
        kind=kind,
        file="f.csv",
        header=header,
        fields=mapping.fields,
        custom=mapping.custom,
        custom_types=mapping.custom_types,
        has_id_column=mapping.id_column is not None,
        sample=[list(r) for r in rows],
    )
    chunk = preparer.prepare(
        [RawRow(number=n, values=list(r)) for n, r in enumerate(rows, start=2)]
    )
    return [[p.message for p in found] for found in chunk.problems]


def test_required_fields_of_the_new_kinds() -> None:
    members = _prepare(
        Kind.CAMPAIGN_MEMBERS,
        ["Customer ID", "Campaign", "Responded"],
        [["1", "spring", "yes"], ["2", None, "no"], [None, "spring", "no"], ["3", "spring", "?"]],
    )
    assert members[0] == []
    assert members[1] == ["a campaign member needs a campaign (its name)"]
    assert members[2] == ["no customer: the row has neither a customer id nor an email"]
    assert members[3] == ["'?' is not yes or no"]  # a flag is what a member row is for

    # A deal needs a contact or a company; an account's opportunity is fine without a person.
    deals = _prepare(
        Kind.DEALS,
        ["Opportunity Name", "Account Name", "Contact ID", "Amount"],
        [["Big", "Acme", None, "10"], ["Small", None, "C1", "5"], ["Lone", None, None, "1"]],
    )
    assert deals[:2] == [[], []]
    assert deals[2] == ["no customer: the deal names neither a contact (id or email) nor a company"]
    odd = _prepare(
        Kind.DEALS,
        ["Opportunity Name", "Account Name", "Probability (%)"],
        [["Big", "Acme", "150"], ["Small", "Acme", "0.5"], ["Mid", "Acme", "50 %"]],
    )
    assert odd == [["probability 150 is neither 0-1 nor 0-100 %; not stored"], [], []]

    subscriptions = _prepare(
        Kind.SUBSCRIPTIONS,
        ["Customer ID", "Plan", "Canceled At"],
        [["1", "pro", "2024-02-30"], ["2", "pro", None]],
    )
    assert subscriptions[0] == ["2024-02-30 is not a real date"]
    assert subscriptions[1] == []


def test_canonical_names_map_to_themselves() -> None:
    for kind in NEW_KINDS:
        names = list(field_names(kind))
        result = infer_mapping(names, [], kind=kind)
        assert dict(result.fields) == {name: i for i, name in enumerate(names)}, kind
