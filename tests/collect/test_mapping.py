"""Column mapping: real export headers, content sniffing, conflicts, ids, kinds, overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from rolodex.collect import mapping as mapping_module
from rolodex.collect.fields import Kind, field_names
from rolodex.collect.mapping import (
    ColumnMapping,
    MappingOverrides,
    detect_kind,
    infer_mapping,
    load_mapping_file,
    normalize_header,
)
from rolodex.exceptions import ConfigError

CUSTOM = "custom"


def split(line: str) -> list[str]:
    """Split a header line the way the export writes it (comma, or semicolon for EU sheets)."""
    return line.split(";" if ";" in line else ",")


def columns_to_rows(columns: Sequence[Sequence[object]]) -> list[list[object]]:
    """Turn per-column value lists into sample rows (short columns pad with None)."""
    height = max((len(c) for c in columns), default=0)
    return [[c[r] if r < len(c) else None for c in columns] for r in range(height)]


def targets(result: ColumnMapping) -> dict[str, str]:
    """Return header -> canonical field, or "custom" / "ignored"."""
    return {
        header: target if not target.startswith("custom:") else CUSTOM
        for header, target, _ in result.describe()
    }


def expect(headers: Sequence[str], mapped: Mapping[str, str]) -> dict[str, str]:
    """Return the full expected header -> target table: `mapped`, and custom for the rest."""
    unknown = set(mapped) - set(headers)
    assert not unknown, f"expected headers missing from the header row: {unknown}"
    return {h: mapped.get(h, CUSTOM) for h in headers}


# --------------------------------------------------------------------------------------
# Normalization


@pytest.mark.parametrize(
    ("header", "options", "folded"),
    [
        ("E-Mail", {}, "e mail"),
        ("email_address", {}, "email address"),
        ("Zip/Postal Code", {}, "zip postal code"),
        ("Correo electrónico", {}, "correo electronico"),
        ("Straße", {}, "strasse"),
        ("N° client", {}, "no client"),
        ("Nº cliente", {}, "no cliente"),
        ("Default Address Address1", {}, "default address address 1"),
        ("  Tel.  privat ", {}, "tel privat"),
        ("Complément d'adresse", {}, "complement d adresse"),
        ("Phone (Work)", {}, "phone work"),
        ("Phone (Work)", {"drop_brackets": True}, "phone"),
        ("firstName", {}, "firstname"),
        ("firstName", {"split_camel": True}, "first name"),
        ("MailingPostalCode", {"split_camel": True}, "mailing postal code"),
        ("IPAddress", {"split_camel": True}, "ip address"),
        ("LinkedIn", {}, "linkedin"),
        ("", {}, ""),
    ],
)
def test_normalize_header(header: str, options: dict[str, bool], folded: str) -> None:
    assert normalize_header(header, **options) == folded


# --------------------------------------------------------------------------------------
# Real export headers: the kind is detected and every column lands where it should.

EXPORTS: list[tuple[str, str, Kind, dict[str, str]]] = [
    (
        "hubspot-contacts",
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name,"
        "Job Title,Street Address,City,State/Region,Postal Code,Country/Region,Create Date,"
        "Lifecycle Stage,Contact owner",
        Kind.CONTACTS,
        {
            "Record ID": "record_id",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Phone Number": "phone",
            "Mobile Phone Number": "mobile",
            "Company Name": "company_name",
            "Job Title": "job_title",
            "Street Address": "street",
            "City": "city",
            "State/Region": "region",
            "Postal Code": "postcode",
            "Country/Region": "country",
            "Create Date": "created_date",
            "Lifecycle Stage": "lifecycle_stage",
            "Contact owner": "owner",
        },
    ),
    (
        "hubspot-companies",
        "Record ID,Company name,Company Domain Name,Industry,Number of Employees,"
        "Annual Revenue,Phone Number,Street Address,City,State/Region,Postal Code,"
        "Country/Region,Create Date,Last Activity Date,Company owner,Type,Lifecycle Stage",
        Kind.COMPANIES,
        {
            "Record ID": "record_id",
            "Company name": "name",
            "Company Domain Name": "domain",
            "Industry": "industry",
            "Number of Employees": "employee_count",
            "Annual Revenue": "annual_revenue",
            "Phone Number": "phone",
            "Street Address": "street",
            "City": "city",
            "State/Region": "region",
            "Postal Code": "postcode",
            "Country/Region": "country",
            "Create Date": "created_date",
            "Company owner": "owner",
            "Type": "company_type",
        },
    ),
    (
        "salesforce-lead-report",
        "Lead ID,Salutation,First Name,Last Name,Title,Company / Account,Email,Phone,Mobile,"
        "Street,City,State/Province,Zip/Postal Code,Country,Lead Source,Lead Status,"
        "Lead Owner,Industry,Rating,Email Opt Out,Created Date",
        Kind.CONTACTS,
        {
            "Lead ID": "record_id",
            "Salutation": "salutation",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Title": "job_title",
            "Company / Account": "company_name",
            "Email": "email",
            "Phone": "phone",
            "Mobile": "mobile",
            "Street": "street",
            "City": "city",
            "State/Province": "region",
            "Zip/Postal Code": "postcode",
            "Country": "country",
            "Lead Source": "lead_source",
            "Lead Owner": "owner",
            "Created Date": "created_date",
        },
    ),
    (
        "salesforce-contact-report",
        "Contact ID,Salutation,First Name,Last Name,Title,Account Name,Mailing Street,"
        "Mailing City,Mailing State/Province,Mailing Zip/Postal Code,Mailing Country,Phone,"
        "Mobile,Email,Lead Source,Contact Owner,Birthdate,Department,Created Date,"
        "Last Modified Date,Email Opt Out",
        Kind.CONTACTS,
        {
            "Contact ID": "record_id",
            "Salutation": "salutation",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Title": "job_title",
            "Account Name": "company_name",
            "Mailing Street": "street",
            "Mailing City": "city",
            "Mailing State/Province": "region",
            "Mailing Zip/Postal Code": "postcode",
            "Mailing Country": "country",
            "Phone": "phone",
            "Mobile": "mobile",
            "Email": "email",
            "Lead Source": "lead_source",
            "Contact Owner": "owner",
            "Birthdate": "birth_date",
            "Department": "department",
            "Created Date": "created_date",
            "Last Modified Date": "updated_date",
        },
    ),
    (
        "salesforce-account-report",
        "Account ID,Account Name,Type,Industry,Billing Street,Billing City,"
        "Billing State/Province,Billing Zip/Postal Code,Billing Country,Phone,Website,"
        "Employees,Annual Revenue,Account Owner,Created Date",
        Kind.COMPANIES,
        {
            "Account ID": "record_id",
            "Account Name": "name",
            "Type": "company_type",
            "Industry": "industry",
            "Billing Street": "street",
            "Billing City": "city",
            "Billing State/Province": "region",
            "Billing Zip/Postal Code": "postcode",
            "Billing Country": "country",
            "Phone": "phone",
            "Website": "domain",
            "Employees": "employee_count",
            "Annual Revenue": "annual_revenue",
            "Account Owner": "owner",
            "Created Date": "created_date",
        },
    ),
    (
        "salesforce-data-loader-contact",
        "Id,AccountId,LastName,FirstName,Salutation,Name,MailingStreet,MailingCity,"
        "MailingState,MailingPostalCode,MailingCountry,Phone,MobilePhone,HomePhone,Email,"
        "Title,Department,LeadSource,Birthdate,OwnerId,HasOptedOutOfEmail,CreatedDate,"
        "LastModifiedDate",
        Kind.CONTACTS,
        {
            "Id": "record_id",
            "AccountId": "company_id",
            "LastName": "last_name",
            "FirstName": "first_name",
            "Salutation": "salutation",
            "Name": "full_name",
            "MailingStreet": "street",
            "MailingCity": "city",
            "MailingState": "region",
            "MailingPostalCode": "postcode",
            "MailingCountry": "country",
            "Phone": "phone",
            "MobilePhone": "mobile",
            "HomePhone": "other_phone",
            "Email": "email",
            "Title": "job_title",
            "Department": "department",
            "LeadSource": "lead_source",
            "Birthdate": "birth_date",
            "OwnerId": "owner",
            "CreatedDate": "created_date",
            "LastModifiedDate": "updated_date",
        },
    ),
    (
        "zoho-contacts",
        "Record Id,Contact Owner,Lead Source,First Name,Last Name,Account Name,Vendor Name,"
        "Email,Title,Department,Phone,Home Phone,Other Phone,Fax,Mobile,Date of Birth,"
        "Assistant,Asst Phone,Email Opt Out,Created By,Modified By,Created Time,"
        "Modified Time,Full Name,Mailing Street,Other Street,Mailing City,Other City,"
        "Mailing State,Other State,Mailing Zip,Other Zip,Mailing Country,Other Country,"
        "Description,Skype ID,Secondary Email,Twitter,Salutation,Last Activity Time,Tag",
        Kind.CONTACTS,
        {
            "Record Id": "record_id",
            "Contact Owner": "owner",
            "Lead Source": "lead_source",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Account Name": "company_name",
            "Email": "email",
            "Title": "job_title",
            "Department": "department",
            "Phone": "phone",
            "Other Phone": "other_phone",
            "Mobile": "mobile",
            "Date of Birth": "birth_date",
            "Created Time": "created_date",
            "Modified Time": "updated_date",
            "Full Name": "full_name",
            "Mailing Street": "street",
            "Mailing City": "city",
            "Mailing State": "region",
            "Mailing Zip": "postcode",
            "Mailing Country": "country",
            "Secondary Email": "email2",
            "Twitter": "twitter",
            "Salutation": "salutation",
        },
    ),
    (
        "zoho-leads",
        "Record Id,Lead Owner,Company,First Name,Last Name,Title,Email,Phone,Fax,Mobile,"
        "Website,Lead Source,Lead Status,Industry,No. of Employees,Annual Revenue,Rating,"
        "Email Opt Out,Skype ID,Created Time,Modified Time,Full Name,Street,City,State,"
        "Zip Code,Country,Description,Secondary Email,Twitter,Salutation",
        Kind.CONTACTS,
        {
            "Record Id": "record_id",
            "Lead Owner": "owner",
            "Company": "company_name",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Title": "job_title",
            "Email": "email",
            "Phone": "phone",
            "Mobile": "mobile",
            "Website": "website",
            "Lead Source": "lead_source",
            "Created Time": "created_date",
            "Modified Time": "updated_date",
            "Full Name": "full_name",
            "Street": "street",
            "City": "city",
            "State": "region",
            "Zip Code": "postcode",
            "Country": "country",
            "Secondary Email": "email2",
            "Twitter": "twitter",
            "Salutation": "salutation",
        },
    ),
    (
        "mailchimp-audience",
        "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,"
        "OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,"
        "TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS",
        Kind.CONTACTS,
        {
            "Email Address": "email",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Address": "street",
            "Phone Number": "phone",
            "Birthday": "birth_date",
            "REGION": "region",
            "LAST_CHANGED": "updated_date",
        },
    ),
    (
        "shopify-customers",
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
        "Default Address Company,Default Address Address1,Default Address Address2,"
        "Default Address City,Default Address Province Code,Default Address Country Code,"
        "Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,"
        "Total Orders,Note,Tax Exempt,Tags",
        Kind.CONTACTS,
        {
            "Customer ID": "record_id",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Email": "email",
            "Accepts Email Marketing": "email_opt_in",
            "Default Address Company": "company_name",
            "Default Address Address1": "street",
            "Default Address Address2": "street2",
            "Default Address City": "city",
            "Default Address Phone": "other_phone",
            "Default Address Province Code": "region",
            "Default Address Country Code": "country",
            "Default Address Zip": "postcode",
            "Phone": "phone",
        },
    ),
    (
        "shopify-orders",
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,"
        "Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,"
        "Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
        "Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,"
        "Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,"
        "Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,"
        "Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
        "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
        "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
        "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Id,Tags,"
        "Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,Phone,Receipt Number,"
        "Duties,Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,"
        "Next Payment Due At",
        Kind.ORDERS,
        {
            "Id": "record_id",
            "Email": "customer_email",
            "Financial Status": "status",
            "Currency": "currency",
            "Total": "total_amount",
            "Created at": "order_date",
            "Lineitem quantity": "line_quantity",
            "Lineitem name": "line_name",
            "Lineitem price": "line_price",
            "Lineitem sku": "line_sku",
        },
    ),
    (
        "zendesk-tickets",
        "Summation column,Id,Requester,Requester id,Requester external id,Requester email,"
        "Requester domain,Submitter,Assignee,Group,Subject,Tags,Status,Priority,Via,"
        "Ticket type,Created at,Updated at,Assigned at,Organization,Due date,"
        "Initially assigned at,Solved at,Resolution time,Satisfaction Score,Group stations,"
        "Assignee stations,Reopens,Replies,First reply time in minutes,"
        "First reply time in minutes within business hours,First resolution time in minutes,"
        "Full resolution time in minutes,Agent wait time in minutes,"
        "Requester wait time in minutes,On hold time in minutes",
        Kind.TICKETS,
        {
            "Id": "record_id",
            "Requester id": "customer_id",
            "Requester email": "customer_email",
            "Subject": "subject",
            "Status": "status",
            "Priority": "priority",
            "Via": "channel",
            "Created at": "created_date",
            "Solved at": "solved_date",
            "Satisfaction Score": "satisfaction",
        },
    ),
    (
        "zendesk-users",
        "id,url,name,email,created_at,updated_at,time_zone,phone,shared_phone_number,photo,"
        "locale_id,locale,organization_id,role,verified,external_id,tags,alias,active,shared,"
        "last_login_at,signature,details,notes,role_type,custom_role_id,moderator,"
        "ticket_restriction,only_private_comments,restricted_agent,suspended",
        Kind.CONTACTS,
        {
            "id": "record_id",
            "url": "website",  # Zendesk's API URL; "URL" in a hand-made sheet is the website
            "name": "full_name",
            "email": "email",
            "created_at": "created_date",
            "updated_at": "updated_date",
            "phone": "phone",
            "locale": "language",
            "organization_id": "company_id",
        },
    ),
    (
        "stripe-customers",
        "id,Description,Email,Name,Created (UTC),Card ID,Delinquent,Card Last4,Card Brand,"
        "Card Funding,Card Exp Month,Card Exp Year,Card Name,Card Address Line1,"
        "Card Address Line2,Card Address City,Card Address State,Card Address Country,"
        "Card Address Zip,Card Issue Country,Card Fingerprint,Plan,Status,"
        "Cancel At Period End,Account Balance,Currency,Business Vat ID,Total Spend,"
        "Payment Count,Refunded Volume,Dispute Losses,Phone,Address Line1,Address Line2,"
        "Address City,Address State,Address Country,Address Zip,Preferred Locales",
        Kind.CONTACTS,
        {
            "id": "record_id",
            "Email": "email",
            "Name": "full_name",
            "Created (UTC)": "created_date",
            "Phone": "phone",
            "Address Line1": "street",
            "Address Line2": "street2",
            "Address City": "city",
            "Address State": "region",
            "Address Country": "country",
            "Address Zip": "postcode",
        },
    ),
    (
        "stripe-payments",
        "id,Description,Seller Message,Created (UTC),Amount,Amount Refunded,Currency,"
        "Converted Amount,Converted Amount Refunded,Fee,Tax,Converted Currency,Mode,Status,"
        "Statement Descriptor,Customer ID,Customer Description,Customer Email,Captured,"
        "Card ID,Card Last4,Card Brand,Card Funding,Card Exp Month,Card Exp Year,Card Name,"
        "Card Address Line1,Card Address City,Card Address Country,Card Address Zip,"
        "Card Issue Country,Card Fingerprint,Disputed Amount,Dispute Status,Dispute Reason,"
        "Dispute Date (UTC),Invoice ID,Payment Source Type,Destination,Transfer,"
        "Transfer Group,PaymentIntent ID",
        Kind.ORDERS,
        {
            "id": "record_id",
            "Created (UTC)": "order_date",
            "Amount": "total_amount",
            "Currency": "currency",
            "Status": "status",
            "Customer ID": "customer_id",
            "Customer Email": "customer_email",
        },
    ),
    (
        "woocommerce-order-export",
        "Order Number,Order Status,Order Date,Customer Note,First Name (Billing),"
        "Last Name (Billing),Company (Billing),Address 1&2 (Billing),City (Billing),"
        "State Code (Billing),Postcode (Billing),Country Code (Billing),Email (Billing),"
        "Phone (Billing),First Name (Shipping),Last Name (Shipping),Address 1&2 (Shipping),"
        "City (Shipping),Payment Method Title,Cart Discount Amount,Order Subtotal Amount,"
        "Shipping Method Title,Order Shipping Amount,Order Refund Amount,Order Total Amount,"
        "Order Total Tax Amount,SKU,Item #,Item Name,Quantity (- Refund),Item Cost,"
        "Coupon Code,Discount Amount,Discount Amount Tax",
        Kind.ORDERS,
        {
            "Order Number": "record_id",
            "Order Status": "status",
            "Order Date": "order_date",
            "Email (Billing)": "customer_email",
            "Order Total Amount": "total_amount",
            "SKU": "line_sku",
            "Item Name": "line_name",
            "Quantity (- Refund)": "line_quantity",
            "Item Cost": "line_price",
        },
    ),
    (
        "woocommerce-customers",
        "customer_id,first_name,last_name,email,date_registered,billing_first_name,"
        "billing_last_name,billing_company,billing_address_1,billing_address_2,billing_city,"
        "billing_postcode,billing_country,billing_state,billing_email,billing_phone,orders,"
        "total_spent",
        Kind.CONTACTS,
        {
            "customer_id": "record_id",
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "date_registered": "created_date",
            "billing_company": "company_name",
            "billing_address_1": "street",
            "billing_address_2": "street2",
            "billing_city": "city",
            "billing_postcode": "postcode",
            "billing_country": "country",
            "billing_state": "region",
            "billing_phone": "phone",
        },
    ),
    (
        "woocommerce-as-contacts",
        "Order Number,First Name (Billing),Last Name (Billing),Company (Billing),"
        "City (Billing),Postcode (Billing),Email (Billing),Phone (Billing),"
        "First Name (Shipping),City (Shipping)",
        Kind.CONTACTS,
        {
            "First Name (Billing)": "first_name",
            "Last Name (Billing)": "last_name",
            "Company (Billing)": "company_name",
            "City (Billing)": "city",
            "Postcode (Billing)": "postcode",
            "Email (Billing)": "email",
            "Phone (Billing)": "phone",
        },
    ),
    (
        "pipedrive-people",
        "Person - ID,Person - Name,Person - First name,Person - Last name,"
        "Person - Organization,Person - Email - Work,Person - Email - Home,"
        "Person - Email - Other,Person - Phone - Work,Person - Phone - Home,"
        "Person - Phone - Mobile,Person - Phone - Other,Person - Label,Person - Owner,"
        "Person - Person created,Person - Update time,Person - Open deals,"
        "Person - Won deals,Person - Next activity date,Person - Postal address",
        Kind.CONTACTS,
        {
            "Person - ID": "record_id",
            "Person - Name": "full_name",
            "Person - First name": "first_name",
            "Person - Last name": "last_name",
            "Person - Organization": "company_name",
            "Person - Email - Work": "email",
            "Person - Email - Home": "email2",
            "Person - Phone - Work": "work_phone",
            "Person - Phone - Home": "phone",
            "Person - Phone - Mobile": "mobile",
            "Person - Phone - Other": "other_phone",
            "Person - Owner": "owner",
            "Person - Person created": "created_date",
            "Person - Update time": "updated_date",
            "Person - Postal address": "street",
        },
    ),
    (
        "outlook-contacts",
        "Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,"
        "Business Street,Business City,Business State,Business Postal Code,"
        "Business Country/Region,Home Street,Home City,Business Fax,Business Phone,"
        "Home Phone,Mobile Phone,E-mail Address,E-mail 2 Address,Web Page",
        Kind.CONTACTS,
        {
            "Title": "salutation",
            "First Name": "first_name",
            "Middle Name": "middle_name",
            "Last Name": "last_name",
            "Suffix": "suffix",
            "Company": "company_name",
            "Department": "department",
            "Job Title": "job_title",
            "Business Street": "street",
            "Business City": "city",
            "Business State": "region",
            "Business Postal Code": "postcode",
            "Business Country/Region": "country",
            "Business Phone": "work_phone",
            "Home Phone": "phone",
            "Mobile Phone": "mobile",
            "E-mail Address": "email",
            "E-mail 2 Address": "email2",
        },
    ),
    (
        "german-sheet",
        "Kundennummer;Anrede;Vorname;Nachname;Firma;Straße;Hausnummer;PLZ;Ort;Land;Telefon;"
        "Handy;E-Mail;Geburtsdatum;Bemerkung",
        Kind.CONTACTS,
        {
            "Kundennummer": "record_id",
            "Anrede": "salutation",
            "Vorname": "first_name",
            "Nachname": "last_name",
            "Firma": "company_name",
            "Straße": "street",
            "PLZ": "postcode",
            "Ort": "city",
            "Land": "country",
            "Telefon": "phone",
            "Handy": "mobile",
            "E-Mail": "email",
            "Geburtsdatum": "birth_date",
        },
    ),
    (
        "german-sheet-name-column",
        "Vorname;Name;E-Mail-Adresse;Telefonnummer;Handynummer;Tel. privat;Postleitzahl;"
        "Stadt;Geschlecht;Sprache;Erstellt am;Newsletter",
        Kind.CONTACTS,
        {
            "Vorname": "first_name",
            "Name": "last_name",
            "E-Mail-Adresse": "email",
            "Telefonnummer": "phone",
            "Handynummer": "mobile",
            "Tel. privat": "other_phone",
            "Postleitzahl": "postcode",
            "Stadt": "city",
            "Geschlecht": "gender",
            "Sprache": "language",
            "Erstellt am": "created_date",
            "Newsletter": "email_opt_in",
        },
    ),
    (
        "french-sheet",
        "N° client;Civilité;Prénom;Nom;Société;Adresse;Complément d'adresse;Code postal;"
        "Ville;Pays;Téléphone;Portable;Courriel;Date de naissance;Remarques",
        Kind.CONTACTS,
        {
            "N° client": "record_id",
            "Civilité": "salutation",
            "Prénom": "first_name",
            "Nom": "last_name",
            "Société": "company_name",
            "Adresse": "street",
            "Complément d'adresse": "street2",
            "Code postal": "postcode",
            "Ville": "city",
            "Pays": "country",
            "Téléphone": "phone",
            "Portable": "mobile",
            "Courriel": "email",
            "Date de naissance": "birth_date",
        },
    ),
    (
        "spanish-sheet",
        "ID de cliente;Tratamiento;Nombre;Apellidos;Empresa;Dirección;Código postal;Ciudad;"
        "Provincia;País;Teléfono;Móvil;Correo electrónico;Fecha de nacimiento;Notas",
        Kind.CONTACTS,
        {
            "ID de cliente": "record_id",
            "Tratamiento": "salutation",
            "Nombre": "first_name",
            "Apellidos": "last_name",
            "Empresa": "company_name",
            "Dirección": "street",
            "Código postal": "postcode",
            "Ciudad": "city",
            "Provincia": "region",
            "País": "country",
            "Teléfono": "phone",
            "Móvil": "mobile",
            "Correo electrónico": "email",
            "Fecha de nacimiento": "birth_date",
        },
    ),
    (
        "cdnow-orders",
        "customer_id,date,quantity,amount",
        Kind.ORDERS,
        {
            "customer_id": "customer_id",
            "date": "order_date",
            "quantity": "quantity",
            "amount": "total_amount",
        },
    ),
    (
        "german-orders",
        "Bestellnummer;Kundennummer;Bestelldatum;Betrag;Währung;Artikelnummer;Menge",
        Kind.ORDERS,
        {
            "Bestellnummer": "record_id",
            "Kundennummer": "customer_id",
            "Bestelldatum": "order_date",
            "Betrag": "total_amount",
            "Währung": "currency",
            "Artikelnummer": "line_sku",
            "Menge": "line_quantity",
        },
    ),
    (
        "french-orders",
        "Numéro de commande;N° client;Date de commande;Montant;Devise;Statut",
        Kind.ORDERS,
        {
            "Numéro de commande": "record_id",
            "N° client": "customer_id",
            "Date de commande": "order_date",
            "Montant": "total_amount",
            "Devise": "currency",
            "Statut": "status",
        },
    ),
    (
        "spanish-orders",
        "Número de pedido;ID de cliente;Correo electrónico;Fecha;Importe;Moneda",
        Kind.ORDERS,
        {
            "Número de pedido": "record_id",
            "ID de cliente": "customer_id",
            "Correo electrónico": "customer_email",
            "Fecha": "order_date",
            "Importe": "total_amount",
            "Moneda": "currency",
        },
    ),
    (
        "call-log",
        "Activity ID,Contact ID,Type,Direction,Date,Subject,Outcome,Campaign",
        Kind.INTERACTIONS,
        {
            "Activity ID": "record_id",
            "Contact ID": "customer_id",
            "Type": "interaction_type",
            "Direction": "direction",
            "Date": "occurred_at",
            "Subject": "subject",
            "Outcome": "outcome",
            "Campaign": "campaign",
        },
    ),
    (
        "email-events",
        "email,event,timestamp,url,campaign_id,user_agent",
        Kind.EVENTS,
        {
            "email": "customer_email",
            "event": "event_type",
            "timestamp": "occurred_at",
            "url": "url",
            "campaign_id": "campaign",
        },
    ),
    (
        "consent-log",
        "email,purpose,status,lawful_basis,timestamp,ip",
        Kind.CONSENTS,
        {
            "email": "customer_email",
            "purpose": "purpose",
            "status": "status",
            "lawful_basis": "lawful_basis",
            "timestamp": "occurred_at",
            "ip": "proof",
        },
    ),
]


@pytest.mark.parametrize(
    ("line", "kind", "mapped"),
    [pytest.param(line, kind, mapped, id=name) for name, line, kind, mapped in EXPORTS],
)
def test_export_headers_map_every_column(line: str, kind: Kind, mapped: dict[str, str]) -> None:
    headers = split(line)
    assert len(set(headers)) == len(headers)

    result = infer_mapping(headers, [], kind=kind)

    assert targets(result) == expect(headers, mapped)
    assert set(result.custom.values()) == set(result.custom_types)
    assert result.id_column == result.fields.get("record_id")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        pytest.param(line, kind, id=name)
        for name, line, kind, _ in EXPORTS
        if name != "woocommerce-as-contacts"  # an order export the user imports as contacts
    ],
)
def test_export_kind_is_detected(line: str, kind: Kind) -> None:
    assert detect_kind(split(line), []) is kind
    assert infer_mapping(split(line), []).kind is kind


# --------------------------------------------------------------------------------------
# Single headers from the brief, each in the kind it belongs to


@pytest.mark.parametrize(
    ("header", "kind", "field"),
    [
        ("E-Mail", Kind.CONTACTS, "email"),
        ("Email Address", Kind.CONTACTS, "email"),
        ("Courriel", Kind.CONTACTS, "email"),
        ("Correo electrónico", Kind.CONTACTS, "email"),
        ("emailAddress", Kind.CONTACTS, "email"),
        ("Teléfono", Kind.CONTACTS, "phone"),
        ("Téléphone", Kind.CONTACTS, "phone"),
        ("Telefonnummer", Kind.CONTACTS, "phone"),
        ("Nachname", Kind.CONTACTS, "last_name"),
        ("Vorname", Kind.CONTACTS, "first_name"),
        ("Prénom", Kind.CONTACTS, "first_name"),
        ("Nom", Kind.CONTACTS, "full_name"),
        ("Apellidos", Kind.CONTACTS, "last_name"),
        ("Zip/Postal Code", Kind.CONTACTS, "postcode"),
        ("Postleitzahl", Kind.CONTACTS, "postcode"),
        ("PLZ", Kind.CONTACTS, "postcode"),
        ("Code postal", Kind.CONTACTS, "postcode"),
        ("Código postal", Kind.CONTACTS, "postcode"),
        ("Mobile Phone Number", Kind.CONTACTS, "mobile"),
        ("Handynummer", Kind.CONTACTS, "mobile"),
        ("Portable", Kind.CONTACTS, "mobile"),
        ("Móvil", Kind.CONTACTS, "mobile"),
        ("Phone (Work)", Kind.CONTACTS, "work_phone"),
        ("Phone (Fax)", Kind.CONTACTS, "phone"),
        ("First Name (Billing)", Kind.CONTACTS, "first_name"),
        ("Billing Name", Kind.CONTACTS, "full_name"),
        ("Default Address Zip", Kind.CONTACTS, "postcode"),
        ("Mailing Street", Kind.CONTACTS, "street"),
        ("Created at", Kind.CONTACTS, "created_date"),
        ("Created at", Kind.ORDERS, "order_date"),
        ("Created at", Kind.TICKETS, "created_date"),
        ("Lineitem quantity", Kind.ORDERS, "line_quantity"),
        ("Record ID", Kind.CONTACTS, "record_id"),
        ("Contact ID", Kind.CONTACTS, "record_id"),
        ("Lead ID", Kind.CONTACTS, "record_id"),
        ("Customer ID", Kind.CONTACTS, "record_id"),
        ("customerId", Kind.CONTACTS, "record_id"),
        ("Kundennummer", Kind.CONTACTS, "record_id"),
        ("N° client", Kind.CONTACTS, "record_id"),
        ("ID de cliente", Kind.CONTACTS, "record_id"),
        ("Company Name", Kind.CONTACTS, "company_name"),
        ("Account Name", Kind.CONTACTS, "company_name"),
        ("Firma", Kind.CONTACTS, "company_name"),
        ("Société", Kind.CONTACTS, "company_name"),
        ("Empresa", Kind.CONTACTS, "company_name"),
        ("Company Name", Kind.COMPANIES, "name"),
        ("Requester email", Kind.TICKETS, "customer_email"),
        ("Requester id", Kind.TICKETS, "customer_id"),
        ("Customer Email", Kind.ORDERS, "customer_email"),
        ("Email", Kind.ORDERS, "customer_email"),
        ("Contact ID", Kind.ORDERS, "customer_id"),
        ("Customer ID", Kind.ORDERS, "customer_id"),
        ("Amount", Kind.ORDERS, "total_amount"),
        ("Total", Kind.ORDERS, "total_amount"),
        ("Betrag", Kind.ORDERS, "total_amount"),
        ("Montant", Kind.ORDERS, "total_amount"),
        ("Importe", Kind.ORDERS, "total_amount"),
        ("Ticket ID", Kind.TICKETS, "record_id"),
        ("Order Number", Kind.ORDERS, "record_id"),
        ("Bestellnummer", Kind.ORDERS, "record_id"),
        ("Numéro de commande", Kind.ORDERS, "record_id"),
    ],
)
def test_single_header(header: str, kind: Kind, field: str) -> None:
    result = infer_mapping([header], [], kind=kind)
    assert dict(result.fields) == {field: 0}
    assert result.reasons[0].startswith(f"header {header!r} = {field}")


@pytest.mark.parametrize(
    ("header", "kind", "name"),
    [
        ("MMERGE3", Kind.CONTACTS, "mmerge3"),
        ("Billing Name", Kind.ORDERS, "billing_name"),  # no name field, and no order id
        ("Contact Name", Kind.ORDERS, "contact_name"),
        ("Shipping Street", Kind.CONTACTS, "shipping_street"),  # may be a gift's address
        ("Skype ID", Kind.CONTACTS, "skype_id"),
        ("Email Opt Out", Kind.CONTACTS, "email_opt_out"),  # the inverse of email_opt_in
        ("Customer", Kind.ORDERS, "customer"),  # names or emails: left to the content
        ("Card Address Zip", Kind.CONTACTS, "card_address_zip"),
    ],
)
def test_header_without_a_field_is_custom(header: str, kind: Kind, name: str) -> None:
    result = infer_mapping([header], [], kind=kind)
    assert dict(result.fields) == {}
    assert result.custom == {0: name}
    assert result.reasons[0] == "no canonical field matches; custom text field"


def test_canonical_names_map_to_themselves_in_every_kind() -> None:
    for kind in Kind:
        names = list(field_names(kind))
        result = infer_mapping(names, [], kind=kind)
        assert dict(result.fields) == {name: i for i, name in enumerate(names)}, kind


# --------------------------------------------------------------------------------------
# Content sniffing

EMAILS = ["ann@example.com", "bob@example.org", "cy@beispiel.de", "dee@exemple.fr", "eve@x.es"]
PHONES = ["+49 30 1234567", "(555) 123-4567", "0171 2345678", "+1-202-555-0143", "030/1234567"]
URLS = ["https://acme.com", "www.beta.de", "gamma.io", "https://delta.fr/about", "eps.co.uk"]
COUNTRIES = ["DE", "FR", "US", "Germany", "España"]
BOOLEANS = ["yes", "no", "Yes", "NO", "y"]
DATES = ["2023-01-05", "05.02.2023", "3/14/2023", "Jan 5, 2023", "2023-01-05T10:00:00Z"]
AMOUNTS = ["12.50", "€1.234,56", "$3.99", "100", "0.99"]
INTEGERS = ["1", "22", "333", "4", "5"]
WORDS = ["Gold", "Silver", "Gold", "Bronze", "Gold"]


def test_meaningless_headers_are_decided_by_content() -> None:
    headers = [f"col{i}" for i in range(1, 10)]
    columns = [EMAILS, PHONES, URLS, COUNTRIES, BOOLEANS, DATES, AMOUNTS, INTEGERS, WORDS]

    result = infer_mapping(headers, columns_to_rows(columns), kind=Kind.CONTACTS)

    assert dict(result.fields) == {"email": 0, "phone": 1, "website": 2, "country": 3}
    assert dict(result.custom_types) == {
        "col5": "boolean",
        "col6": "date",
        "col7": "number",
        "col8": "integer",
        "col9": "text",
    }
    assert result.reasons[0] == "content: 100% of 5 values are email addresses"
    assert result.reasons[4] == (
        "no canonical field matches; custom boolean field (content: 100% of 5 values are booleans)"
    )


def test_content_fields_depend_on_the_kind() -> None:
    headers = ["Feld 7", "Feld 8", "Feld 9"]
    rows = columns_to_rows([EMAILS, DATES, AMOUNTS])

    orders = infer_mapping(headers, rows, kind=Kind.ORDERS)
    contacts = infer_mapping(headers, rows, kind=Kind.CONTACTS)
    tickets = infer_mapping(headers, rows, kind=Kind.TICKETS)

    assert dict(orders.fields) == {"customer_email": 0, "order_date": 1, "total_amount": 2}
    assert dict(contacts.fields) == {"email": 0}
    assert dict(contacts.custom_types) == {"feld_8": "date", "feld_9": "number"}
    assert dict(tickets.fields) == {"customer_email": 0, "created_date": 1}


def test_mostly_is_eighty_percent_of_non_empty_values() -> None:
    four_of_five = [*EMAILS[:4], "n/a", None, "", None]
    three_of_five = [*EMAILS[:3], "n/a", "unknown"]
    rows = columns_to_rows([four_of_five, three_of_five])

    result = infer_mapping(["x", "y"], rows, kind=Kind.CONTACTS)

    assert dict(result.fields) == {"email": 0}
    assert result.reasons[0] == "content: 80% of 5 values are email addresses"
    assert result.custom == {1: "y"}


def test_too_few_values_say_nothing() -> None:
    rows = columns_to_rows([EMAILS[:2], INTEGERS[:2]])
    result = infer_mapping(["a", "b"], rows, kind=Kind.CONTACTS)
    assert dict(result.fields) == {}
    assert dict(result.custom_types) == {"a": "text", "b": "text"}


def test_non_string_sample_values_are_sniffed_through_str() -> None:
    columns: list[list[object]] = [
        [1, 2, 3, None, 5],
        [1.5, 2.25, Decimal("3.10"), 4.0, None],
        [True, False, True, True, False],
        [dt.date(2023, 1, 5), dt.datetime(2023, 2, 1, 10, 30), dt.date(2024, 12, 31), None],
        ["ann@example.com", None, "bob@example.org", "cy@example.de", None],
    ]

    result = infer_mapping(["n", "x", "flag", "when", "who"], columns_to_rows(columns))

    assert dict(result.fields) == {"email": 4}
    assert dict(result.custom_types) == {
        "n": "integer",
        "x": "number",
        "flag": "boolean",
        "when": "date",
    }


def test_short_rows_count_as_missing_values() -> None:
    rows: list[list[object]] = [["1", "ann@example.com"], ["2"], ["3", "bob@example.org"]]
    rows += [["4", "cy@example.de"], ["5", "dee@example.fr"]]
    result = infer_mapping(["id", "col"], rows)
    assert dict(result.fields) == {"record_id": 0, "email": 1}


def test_mailchimp_merge_tags_and_geo_columns_follow_their_content() -> None:
    headers = split(
        "Email Address,First Name,Last Name,Phone Number,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,"
        "CONFIRM_IP,LATITUDE,GMTOFF,TIMEZONE,CC,LEID,EUID,MMERGE3,MMERGE4,MMERGE5"
    )
    rows = [
        ["ann@example.com", "Ann", "Lee", "+1 217 555 0101", "2", "2023-01-05 10:00:00", "",
         "203.0.113.5", "39.78", "-6", "America/Chicago", "US", "123456", "a1b2c3", "Gold",
         "+1 217 555 0199", "https://ann.example.com"],
        ["bob@example.org", "Bob", "Ray", "+1 312 555 0102", "4", "2023-02-11 09:12:00", "",
         "198.51.100.7", "41.88", "-6", "America/Chicago", "US", "123457", "d4e5f6", "Silver",
         "+1 312 555 0198", "https://bob.example.org"],
        ["cy@example.de", "Cy", "Vogel", "+49 30 1234567", "3", "2023-03-02 18:40:00", "",
         "192.0.2.44", "52.52", "1", "Europe/Berlin", "DE", "123458", "g7h8i9", "Gold",
         "+49 30 7654321", "www.cy.example.de"],
        ["dee@example.fr", "Dee", "Roux", "+33 1 23 45 67 89", "5", "2023-04-20 07:05:00", "",
         "192.0.2.45", "48.85", "1", "Europe/Paris", "FR", "123459", "j1k2l3", "Bronze",
         "+33 1 98 76 54 32", "dee.example.fr"],
    ]  # fmt: skip

    result = infer_mapping(headers, rows)

    assert targets(result) == expect(
        headers,
        {
            "Email Address": "email",
            "First Name": "first_name",
            "Last Name": "last_name",
            "Phone Number": "phone",
            "CC": "country",
            "MMERGE4": "work_phone",
            "MMERGE5": "website",
        },
    )
    assert dict(result.custom_types) == {
        "member_rating": "integer",
        "optin_time": "date",
        "optin_ip": "text",
        "confirm_ip": "text",
        "latitude": "number",
        "gmtoff": "integer",
        "timezone": "text",
        "leid": "integer",
        "euid": "text",
        "mmerge3": "text",
    }
    assert result.reasons[15] == (
        "content: 100% of 4 values are phone numbers; phone is taken by 'Phone Number', "
        "so work_phone"
    )


# --------------------------------------------------------------------------------------
# Header against content


@pytest.mark.parametrize(
    ("header", "kind", "values", "field", "reason"),
    [
        pytest.param(
            "Name", Kind.CONTACTS, EMAILS, "email",
            "header 'Name' suggests full_name, but content: 100% of 5 values are email "
            "addresses",
            id="name-of-emails-is-email",
        ),
        pytest.param(
            "Phone", Kind.CONTACTS, EMAILS, "email",
            "header 'Phone' suggests phone, but content: 100% of 5 values are email addresses",
            id="phone-of-emails-is-email",
        ),
        pytest.param(
            "Customer ID", Kind.ORDERS, EMAILS, "customer_email",
            "header 'Customer ID' suggests customer_id, but content: 100% of 5 values are "
            "email addresses",
            id="customer-id-of-emails-is-customer-email",
        ),
        pytest.param(
            "quantity", Kind.ORDERS, DATES, "order_date",
            "header 'quantity' suggests quantity, but content: 100% of 5 values are dates",
            id="quantity-of-dates-is-order-date",
        ),
    ],
)  # fmt: skip
def test_content_overrules_a_contradicted_header(
    header: str, kind: Kind, values: list[str], field: str, reason: str
) -> None:
    result = infer_mapping([header], columns_to_rows([values]), kind=kind)
    assert dict(result.fields) == {field: 0}
    assert result.reasons[0] == reason


@pytest.mark.parametrize(
    ("header", "values", "custom_type", "reason"),
    [
        pytest.param(
            "Email", BOOLEANS, "boolean",
            "header 'Email' suggests email, but content: 100% of 5 values are booleans; "
            "custom boolean field",
            id="email-of-booleans",
        ),
        pytest.param(
            "Name", ["#1001", "#1002", "#1003", "#1004", "#1005"], "text",
            "header 'Name' suggests full_name, but content: 100% of 5 values contain digits; "
            "custom text field",
            id="name-of-order-numbers",
        ),
        pytest.param(
            "Accepts Marketing", DATES, "date",
            "header 'Accepts Marketing' suggests email_opt_in, but content: 100% of 5 values "
            "are dates; custom date field",
            id="opt-in-of-dates",
        ),
    ],
)  # fmt: skip
def test_contradicted_header_without_content_field_becomes_custom(
    header: str, values: list[str], custom_type: str, reason: str
) -> None:
    result = infer_mapping([header], columns_to_rows([values]), kind=Kind.CONTACTS)
    assert dict(result.fields) == {}
    assert dict(result.custom_types) == {normalize_header(header).replace(" ", "_"): custom_type}
    assert result.reasons[0] == reason


@pytest.mark.parametrize(
    ("header", "values", "field"),
    [
        pytest.param("Phone", ["5551234567"] * 5, "phone", id="bare-digit-phones"),
        pytest.param("Zip", ["10115", "01067", "80331", "20095", "50667"], "postcode",
                     id="integer-looking-postcodes"),
        pytest.param("Country", ["NO", "NO", "DE", "NO", "SE"], "country",
                     id="norway-is-not-a-boolean"),
        pytest.param("Company", URLS, "company_name", id="urls-do-not-contradict-text"),
        pytest.param("Created Date", ["1672905600", "1675209600", "1678838400"],
                     "created_date", id="epoch-timestamps"),
        pytest.param("Email", ["n/a", "unknown", "ann@example.com", "-", "?"], "email",
                     id="dirty-emails-are-still-emails"),
        pytest.param("Record ID", EMAILS, "record_id", id="the-record-id-is-whatever-it-is"),
    ],
)  # fmt: skip
def test_content_does_not_overrule_a_fitting_header(
    header: str, values: list[str], field: str
) -> None:
    result = infer_mapping([header], columns_to_rows([values]), kind=Kind.CONTACTS)
    assert dict(result.fields) == {field: 0}
    assert result.reasons[0].startswith(f"header {header!r} = {field}")


# --------------------------------------------------------------------------------------
# Conflicts


@pytest.mark.parametrize(
    ("headers", "columns", "fields", "custom"),
    [
        pytest.param(
            ["E-Mail", "Email"], [], {"email": 1, "email2": 0}, [],
            id="exact-beats-synonym-loser-takes-email2",
        ),
        pytest.param(
            ["Email", "Secondary Email", "Work Email"], [],
            {"email": 0, "email2": 1}, ["Work Email"],
            id="a-named-email2-beats-a-fallback",
        ),
        pytest.param(
            ["Email", "col2"], [[], EMAILS], {"email": 0, "email2": 1}, [],
            id="header-beats-content",
        ),
        pytest.param(
            ["Phone", "Telefon", "col3", "col4", "col5"], [[], [], PHONES, PHONES, PHONES],
            {"phone": 0, "work_phone": 1, "mobile": 2, "other_phone": 3}, ["col5"],
            id="phones-fall-back-to-work-then-mobile-then-other",
        ),
        pytest.param(
            ["Email", "Phone", "Default Address Phone", "Billing Phone"], [],
            {"email": 0, "phone": 1, "other_phone": 2}, ["Billing Phone"],
            id="a-qualified-phone-falls-back-to-other-only",
        ),
        pytest.param(
            ["Phone", "Home Phone", "Mobile", "Handy"], [],
            {"phone": 0, "mobile": 2, "other_phone": 1}, ["Handy"],
            id="a-home-phone-beside-a-phone-is-another-phone",
        ),
        pytest.param(
            ["Phone", "Phone 2", "Work Phone"], [],
            {"phone": 0, "other_phone": 1, "work_phone": 2}, [],
            id="a-named-other-phone",
        ),
        pytest.param(
            ["Province", "Province Code", "Country", "Country Code"], [],
            {"region": 0, "country": 2}, ["Province Code", "Country Code"],
            id="no-secondary-field-means-custom",
        ),
        pytest.param(
            ["Home Phone", "Phone"], [], {"phone": 1, "other_phone": 0}, [],
            id="a-home-phone-is-never-a-work-phone",
        ),
        pytest.param(
            ["Name", "Email"], [EMAILS, EMAILS], {"email": 1, "email2": 0}, [],
            id="contradicted-name-loses-to-email-header",
        ),
        pytest.param(
            ["Street", "Billing Street", "Mailing Street"], [], {"street": 0},
            ["Billing Street", "Mailing Street"],
            id="partial-matches-lose-to-full-ones",
        ),
        pytest.param(
            ["Address", "Street"], [], {"street": 1}, ["Address"],
            id="ambiguous-address-loses-to-street",
        ),
        pytest.param(
            ["Full Name", "Name"], [], {"full_name": 0}, ["Name"],
            id="ambiguous-name-loses-to-full-name",
        ),
        pytest.param(
            ["Field 7", "Phone"], [["+49 30 1", "x", "y"], PHONES], {"phone": 1}, ["Field 7"],
            id="unknown-header-without-content",
        ),
    ],
)  # fmt: skip
def test_each_field_takes_one_column(
    headers: list[str],
    columns: list[list[str]],
    fields: dict[str, int],
    custom: list[str],
) -> None:
    result = infer_mapping(headers, columns_to_rows(columns), kind=Kind.CONTACTS)
    assert dict(result.fields) == fields
    assert sorted(headers[i] for i in result.custom) == sorted(custom)


def test_a_tie_between_synonyms_goes_to_the_better_content() -> None:
    headers = ["Telefon", "Tel"]
    rows = columns_to_rows([["call me", "later", "n/a", "+49 30 1234567"], PHONES[:4]])
    result = infer_mapping(headers, rows, kind=Kind.CONTACTS)
    assert dict(result.fields) == {"phone": 1, "work_phone": 0}


def test_loser_reason_names_the_winner() -> None:
    result = infer_mapping(["E-Mail", "Email"], [], kind=Kind.CONTACTS)
    assert result.reasons[0] == "header 'E-Mail' = email; email is taken by 'Email', so email2"


def test_several_lookalike_columns_leave_a_content_field_to_none() -> None:
    headers = ["Paid at", "Cancelled at", "amount"]
    result = infer_mapping(headers, columns_to_rows([DATES, DATES, AMOUNTS]), kind=Kind.ORDERS)
    assert dict(result.fields) == {"total_amount": 2}
    assert dict(result.custom_types) == {"paid_at": "date", "cancelled_at": "date"}
    assert result.reasons[0] == (
        "content: 100% of 5 values are dates, like 'Cancelled at': too ambiguous for "
        "order_date; custom date field"
    )


def test_a_named_field_makes_lookalikes_plain_losers() -> None:
    headers = ["Created at", "Paid at", "Cancelled at"]
    result = infer_mapping(headers, columns_to_rows([DATES] * 3), kind=Kind.ORDERS)
    assert dict(result.fields) == {"order_date": 0}
    assert result.reasons[1] == (
        "content: 100% of 5 values are dates; order_date is taken by 'Created at'; "
        "custom date field"
    )


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        pytest.param(["Vorname", "Name"], {"first_name": 0, "last_name": 1}, id="de-name"),
        pytest.param(["Prénom", "Nom"], {"first_name": 0, "last_name": 1}, id="fr-nom"),
        pytest.param(["Nom"], {"full_name": 0}, id="fr-nom-alone"),
        pytest.param(["Nombre", "Apellidos"], {"first_name": 0, "last_name": 1}, id="es"),
        pytest.param(["Nombre"], {"full_name": 0}, id="es-nombre-alone"),
        pytest.param(["First Name", "Last Name", "Name"],
                     {"first_name": 0, "last_name": 1, "full_name": 2}, id="all-three"),
        pytest.param(["Title", "Job Title"], {"salutation": 0, "job_title": 1}, id="outlook"),
        pytest.param(["Title"], {"job_title": 0}, id="salesforce-title"),
    ],
)  # fmt: skip
def test_ambiguous_headers_read_the_other_columns(
    headers: list[str], fields: dict[str, int]
) -> None:
    assert dict(infer_mapping(headers, [], kind=Kind.CONTACTS).fields) == fields


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        pytest.param(["quantity", "price"], {"total_amount": 1, "quantity": 0}, id="order"),
        pytest.param(
            ["SKU", "Qty", "Price", "Total"],
            {"total_amount": 3, "line_sku": 0, "line_quantity": 1, "line_price": 2},
            id="line-items",
        ),
    ],
)
def test_order_quantity_and_price_depend_on_line_items(
    headers: list[str], fields: dict[str, int]
) -> None:
    assert dict(infer_mapping(headers, [], kind=Kind.ORDERS).fields) == fields


# --------------------------------------------------------------------------------------
# The record id


def test_id_column_argument_names_the_record_id() -> None:
    headers = ["Kundennr", "Customer ID", "Email"]
    result = infer_mapping(headers, [], kind=Kind.CONTACTS, id_column="Kundennr")
    assert result.id_column == 0
    assert dict(result.fields) == {"record_id": 0, "email": 2}
    assert result.reasons[0] == "given as the id column ('Kundennr')"
    assert result.reasons[1] == (
        "header 'Customer ID' = record_id, but the id column is given; custom text field"
    )


def test_id_column_argument_matches_a_folded_header() -> None:
    result = infer_mapping(["RECORD_ID", "Email"], [], id_column="record id")
    assert result.id_column == 0


def test_unknown_id_column_lists_the_headers() -> None:
    with pytest.raises(ConfigError) as caught:
        infer_mapping(["Vorname", "E-Mail"], [], id_column="Kundennr")
    assert str(caught.value) == (
        "id column 'Kundennr' names no column of the file; its columns are: 'Vorname', 'E-Mail'"
    )


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Customer ID", Kind.CONTACTS),
        ("Record ID", Kind.CONTACTS),
        ("Lead ID", Kind.CONTACTS),
        ("Contact ID", Kind.CONTACTS),
        ("Id", Kind.CONTACTS),
        ("ID", Kind.CONTACTS),
        ("Kundennummer", Kind.CONTACTS),
        ("N° client", Kind.CONTACTS),
        ("ID de cliente", Kind.CONTACTS),
        ("Account ID", Kind.COMPANIES),
        ("Order ID", Kind.ORDERS),
        ("Order Number", Kind.ORDERS),
        ("Bestellnummer", Kind.ORDERS),
        ("Numéro de commande", Kind.ORDERS),
        ("Ticket ID", Kind.TICKETS),
    ],
)
def test_id_column_is_detected(header: str, kind: Kind) -> None:
    rows = columns_to_rows([["1", "2", "3", "4", "5"], EMAILS])
    result = infer_mapping([header, "Email"], rows, kind=kind)
    assert result.id_column == 0
    assert result.reasons[0] == f"header {header!r} = record_id (100% of 5 sampled rows filled)"


def test_a_mostly_empty_id_column_is_not_the_record_id() -> None:
    rows = columns_to_rows([["1", None, "", "4", None], EMAILS])
    result = infer_mapping(["Customer ID", "Email"], rows, kind=Kind.CONTACTS)
    assert result.id_column is None
    assert result.custom == {0: "customer_id"}
    assert result.reasons[0] == (
        "header 'Customer ID' = record_id, but only 40% of 5 sampled rows have a value; "
        "custom text field"
    )


def test_shopify_orders_prefer_id_over_name() -> None:
    headers = ["Name", "Email", "Total", "Id"]
    assert infer_mapping(headers, [], kind=Kind.ORDERS).id_column == 3


def test_shopify_orders_fall_back_to_name_when_id_is_only_on_first_lines() -> None:
    # One row per line item; Shopify fills order-level columns on the first line only.
    headers = ["Name", "Email", "Lineitem sku", "Id"]
    columns: list[list[str | None]] = [
        ["#1001", "#1001", "#1002", "#1003", "#1003", "#1003"],
        [EMAILS[0], EMAILS[0], EMAILS[1], EMAILS[2], EMAILS[2], EMAILS[2]],
        ["A-1", "B-2", "A-1", "C-3", "D-4", "E-5"],
        ["5001", None, "5002", "5003", None, None],
    ]
    result = infer_mapping(headers, columns_to_rows(columns), kind=Kind.ORDERS)
    assert result.id_column == 0
    assert result.custom == {3: "id"}


def test_cdnow_orders_have_no_record_id() -> None:
    headers = ["customer_id", "date", "quantity", "amount"]
    rows = [["00001", "19970101", "1", "11.77"], ["00002", "19970112", "1", "12.00"]]
    result = infer_mapping(headers, rows)
    assert result.kind is Kind.ORDERS
    assert result.id_column is None
    assert dict(result.fields) == {
        "customer_id": 0,
        "order_date": 1,
        "total_amount": 3,
        "quantity": 2,
    }


def test_no_id_column_at_all() -> None:
    result = infer_mapping(["First Name", "Email"], [])
    assert result.id_column is None
    assert "record_id" not in result.fields


# --------------------------------------------------------------------------------------
# Kind detection


@pytest.mark.parametrize(
    ("headers", "columns", "kind"),
    [
        pytest.param(["customer_id", "date", "quantity", "amount"], [], Kind.ORDERS,
                     id="cdnow"),
        pytest.param(["Order ID", "Order Date", "Email"], [], Kind.ORDERS, id="order-id-date"),
        pytest.param(["Ticket ID", "Subject", "Status", "Created"], [], Kind.TICKETS,
                     id="ticket"),
        pytest.param(["Subject", "Status", "Priority", "Requester email"], [], Kind.TICKETS,
                     id="subject-status-priority"),
        pytest.param(["Company", "Industry", "Employees", "Website"], [], Kind.COMPANIES,
                     id="company-list"),
        pytest.param(["First Name", "Last Name", "Email", "Amount", "Date"], [],
                     Kind.CONTACTS, id="donor-list-is-people"),
        pytest.param(["First Name", "Email", "Industry", "Website"], [], Kind.CONTACTS,
                     id="b2b-contacts"),
        pytest.param(["Email", "Status"], [], Kind.CONTACTS, id="one-signal-is-not-enough"),
        pytest.param(["col1", "col2"], [EMAILS, AMOUNTS], Kind.CONTACTS, id="no-headers"),
        pytest.param(["col1", "amount", "currency"], [EMAILS, AMOUNTS, ["EUR"] * 5],
                     Kind.ORDERS, id="content-email-counts-as-a-person"),
        pytest.param(["col1", "col2", "amount", "currency"],
                     [EMAILS, PHONES, AMOUNTS, ["EUR"] * 5], Kind.CONTACTS,
                     id="content-people-outweigh"),
        pytest.param([], [], Kind.CONTACTS, id="empty"),
    ],
)  # fmt: skip
def test_detect_kind(headers: list[str], columns: list[list[str]], kind: Kind) -> None:
    assert detect_kind(headers, columns_to_rows(columns)) is kind


def test_explicit_kind_wins_over_detection() -> None:
    result = infer_mapping(["customer_id", "amount"], [], kind=Kind.CONTACTS)
    assert result.kind is Kind.CONTACTS
    assert dict(result.fields) == {"record_id": 0}


# --------------------------------------------------------------------------------------
# Mapping file


def write(tmp_path: Path, text: str, name: str = "mapping.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MAPPING_FILE = """
kind = "contacts"
id_column = "Kundennr"

[columns]
"Kundennr" = "record_id"
"Tel. privat" = "phone"
"Notes" = "ignore"
"Email" = "custom"

[custom]
"Loyalty Tier" = "text"
"Punkte" = "integer"
"""


def test_load_mapping_file(tmp_path: Path) -> None:
    path = write(tmp_path, MAPPING_FILE)
    overrides = load_mapping_file(path)
    assert overrides == MappingOverrides(
        kind=Kind.CONTACTS,
        id_column="Kundennr",
        columns={
            "Kundennr": "record_id",
            "Tel. privat": "phone",
            "Notes": "ignore",
            "Email": "custom",
        },
        custom={"Loyalty Tier": "text", "Punkte": "integer"},
        source=str(path),
    )


def test_overrides_beat_inference(tmp_path: Path) -> None:
    path = write(tmp_path, MAPPING_FILE)
    headers = ["Kundennr", "Telefon", "Tel. privat", "Notes", "Email", "Loyalty Tier", "Punkte"]
    rows = columns_to_rows([INTEGERS, PHONES, PHONES, WORDS, EMAILS, INTEGERS, WORDS])

    result = infer_mapping(headers, rows, overrides=load_mapping_file(path))

    assert dict(result.fields) == {"record_id": 0, "phone": 2, "work_phone": 1}
    assert result.ignored == (3,)
    assert dict(result.custom) == {4: "email", 5: "loyalty_tier", 6: "punkte"}
    assert dict(result.custom_types) == {
        "email": "text",
        "loyalty_tier": "text",
        "punkte": "integer",
    }
    assert result.reasons[0] == f"{path}: id_column = 'Kundennr'"
    assert result.reasons[2] == f"{path}: 'Tel. privat' = phone"
    assert result.reasons[3] == f"ignored by {path} (kept in the raw payload)"
    assert result.reasons[6] == f"{path}: [custom] 'Punkte'; custom integer field (declared)"
    assert targets(result)["Notes"] == "ignored"


def test_overrides_without_kind_are_checked_against_the_detected_kind(tmp_path: Path) -> None:
    path = write(tmp_path, '[columns]\n"Betrag" = "total_amount"\n')
    overrides = load_mapping_file(path)
    orders = infer_mapping(["Bestellnummer", "Betrag", "Datum"], [], overrides=overrides)
    assert dict(orders.fields) == {"record_id": 0, "order_date": 2, "total_amount": 1}
    with pytest.raises(ConfigError, match=r"'total_amount' is not a field of contacts"):
        infer_mapping(["Betrag", "Email"], [], overrides=overrides, kind=Kind.CONTACTS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('kind = "contacts"\n[columns\n', "not valid TOML", id="bad-toml"),
        pytest.param('kinds = "contacts"\n',
                     "unknown key 'kinds'; expected kind, id_column, columns, custom",
                     id="unknown-key"),
        pytest.param('kind = "customers"\n',
                     "kind = 'customers' is not a kind; use one of contacts, companies",
                     id="unknown-kind"),
        pytest.param("id_column = 3\n", "id_column must be a header (a string), not 3",
                     id="id-column-not-a-string"),
        pytest.param('columns = "Email"\n', "columns must be a table ([columns])",
                     id="columns-not-a-table"),
        pytest.param('[columns]\n"Tel" = 3\n', "[columns] 'Tel' must be a string, not 3",
                     id="target-not-a-string"),
        pytest.param('kind = "contacts"\n[columns]\n"Tel" = "fone"\n',
                     "[columns] 'Tel' = 'fone': 'fone' is not a field of contacts; use one of",
                     id="unknown-field-for-kind"),
        pytest.param('[columns]\n"Tel" = "fone"\n',
                     "[columns] 'Tel' = 'fone': 'fone' is not a canonical field of any kind",
                     id="unknown-field"),
        pytest.param('[columns]\n"A" = "email"\n"B" = "email"\n',
                     "[columns] 'A' and 'B' both map to email; a field takes one column",
                     id="two-columns-one-field"),
        pytest.param('[custom]\n"Tier" = "str"\n',
                     "[custom] 'Tier' = 'str': unknown type; use one of text, integer, number",
                     id="unknown-custom-type"),
        pytest.param('[columns]\n"Tier" = "email"\n[custom]\n"Tier" = "text"\n',
                     "[custom] declares 'Tier', which [columns] maps to 'email'",
                     id="custom-and-canonical"),
        pytest.param('id_column = "A"\n[columns]\n"B" = "record_id"\n',
                     "id_column = 'A' but [columns] maps 'B' to record_id",
                     id="two-id-columns"),
        pytest.param('id_column = "A"\n[custom]\n"A" = "integer"\n',
                     "id_column = 'A', but [custom] declares that column a custom field",
                     id="id-column-declared-custom"),
        pytest.param('id_column = "A"\n[columns]\n"A" = "email"\n',
                     "id_column = 'A', but [columns] maps that column to 'email'",
                     id="id-column-mapped-elsewhere"),
    ],
)  # fmt: skip
def test_mapping_file_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_mapping_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read mapping file"):
        load_mapping_file(path)


def test_mapping_file_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"kind = \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"binary\.toml: mapping file is not UTF-8 text"):
        load_mapping_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('[columns]\n"Telefon privat" = "phone"\n',
                     "[columns] 'Telefon privat' names no column of the file; its columns are: "
                     "'Vorname', 'E-Mail', 'Tel. Privat'",
                     id="columns"),
        pytest.param('[custom]\n"Tier" = "text"\n',
                     "[custom] 'Tier' names no column of the file; its columns are: "
                     "'Vorname', 'E-Mail', 'Tel. Privat'",
                     id="custom"),
        pytest.param('id_column = "Nr"\n',
                     "id_column = 'Nr' names no column of the file; its columns are: "
                     "'Vorname', 'E-Mail', 'Tel. Privat'",
                     id="id-column"),
    ],
)  # fmt: skip
def test_mapping_file_columns_must_exist(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    overrides = load_mapping_file(path)
    with pytest.raises(ConfigError) as caught:
        infer_mapping(["Vorname", "E-Mail", "Tel. Privat"], [], overrides=overrides)
    assert str(caught.value) == f"{path}: {message}"


def test_mapping_file_headers_match_when_folded(tmp_path: Path) -> None:
    path = write(tmp_path, '[columns]\n"tel privat" = "mobile"\n')
    result = infer_mapping(["Tel. Privat"], [], overrides=load_mapping_file(path))
    assert dict(result.fields) == {"mobile": 0}


@pytest.mark.parametrize(
    ("kind", "id_column", "message"),
    [
        pytest.param(Kind.ORDERS, None,
                     "kind = 'contacts', but the import was asked for orders", id="kind"),
        pytest.param(None, "Email",
                     "id_column = 'Kundennr', but the import was given 'Email' as the id column",
                     id="id-column"),
    ],
)  # fmt: skip
def test_arguments_must_agree_with_the_mapping_file(
    tmp_path: Path, kind: Kind | None, id_column: str | None, message: str
) -> None:
    path = write(tmp_path, 'kind = "contacts"\nid_column = "Kundennr"\n')
    overrides = load_mapping_file(path)
    with pytest.raises(ConfigError) as caught:
        infer_mapping(
            ["Kundennr", "Email"], [], kind=kind, id_column=id_column, overrides=overrides
        )
    assert str(caught.value) == f"{path}: {message}"


def test_columns_can_name_the_record_id(tmp_path: Path) -> None:
    path = write(tmp_path, '[columns]\n"Nr" = "record_id"\n')
    result = infer_mapping(["Nr", "Id", "Email"], [], overrides=load_mapping_file(path))
    assert result.id_column == 0
    assert dict(result.fields) == {"record_id": 0, "email": 2}
    assert result.reasons[0] == f"{path}: 'Nr' = record_id"
    assert result.reasons[1] == (
        "header 'Id' = record_id, but the id column is given; custom text field"
    )


def test_two_keys_naming_one_column_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[columns]\n"Tel privat" = "phone"\n"tel. privat" = "mobile"\n')
    with pytest.raises(ConfigError) as caught:
        infer_mapping(["Tel. Privat"], [], overrides=load_mapping_file(path))
    assert str(caught.value) == (
        f"{path}: [columns] 'tel. privat' and 'Tel privat' name the same column 'Tel. Privat'"
    )


def test_id_column_cannot_be_a_custom_field(tmp_path: Path) -> None:
    path = write(tmp_path, '[custom]\n"Nr" = "integer"\n')
    with pytest.raises(ConfigError, match=r"\[custom\] declares 'Nr', the id column$"):
        infer_mapping(["Nr", "Email"], [], id_column="Nr", overrides=load_mapping_file(path))


def test_id_column_argument_must_agree_with_columns(tmp_path: Path) -> None:
    path = write(tmp_path, '[columns]\n"Nr" = "record_id"\n')
    with pytest.raises(ConfigError, match=r"\[columns\] 'Nr' = 'record_id' contradicts"):
        infer_mapping(["Nr", "Id"], [], id_column="Id", overrides=load_mapping_file(path))


def test_programmatic_overrides_are_validated_too() -> None:
    with pytest.raises(ConfigError, match=r"^mapping overrides: \[custom\] 'X' = 'float'"):
        MappingOverrides(custom={"X": "float"})


# --------------------------------------------------------------------------------------
# The result


def test_describe_lists_every_column_in_order() -> None:
    headers = ["Record ID", "E-Mail", "Email", "Loyalty Tier"]
    rows = columns_to_rows([INTEGERS, EMAILS, EMAILS, WORDS])
    result = infer_mapping(headers, rows, kind=Kind.CONTACTS)
    assert result.describe() == [
        (
            "Record ID",
            "record_id",
            "header 'Record ID' = record_id (100% of 5 sampled rows filled)",
        ),
        ("E-Mail", "email2", "header 'E-Mail' = email; email is taken by 'Email', so email2"),
        ("Email", "email", "header 'Email' = email"),
        ("Loyalty Tier", "custom:loyalty_tier", "no canonical field matches; custom text field"),
    ]


def test_custom_names_are_snake_case_and_unique() -> None:
    headers = ["Loyalty Tier", "loyalty-tier", "MMERGE3", "", "Created (UTC)", "PaymentIntent"]
    result = infer_mapping(headers, [], kind=Kind.ORDERS)
    assert dict(result.custom) == {
        0: "loyalty_tier",
        1: "loyalty_tier_2",
        2: "mmerge3",
        3: "column_4",
        5: "payment_intent",
    }
    assert dict(result.fields) == {"order_date": 4}


def test_mapping_is_read_only() -> None:
    result = infer_mapping(["Email"], [])
    with pytest.raises(TypeError):
        result.fields["phone"] = 3  # type: ignore[index]


def test_public_api() -> None:
    assert sorted(mapping_module.__all__) == [
        "CUSTOM_TYPES",
        "ColumnMapping",
        "MappingOverrides",
        "SAMPLE_ROWS",
        "detect_kind",
        "infer_mapping",
        "load_mapping_file",
        "normalize_header",
    ]
