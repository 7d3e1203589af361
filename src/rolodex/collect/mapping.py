"""Automatic column mapping: which column of an input file feeds which canonical field.

The import reads the header and a sample of rows of each file and asks this module where
every column goes, with no configuration for the usual exports (HubSpot, Salesforce, Zoho,
Mailchimp, Shopify, Zendesk, Stripe, WooCommerce, Pipedrive) and hand-made sheets in
English, German, French and Spanish. The evidence, strongest first:

1. the user: `--id-column` and a `--mapping` TOML file (:func:`load_mapping_file`);
2. the header, normalized (:func:`normalize_header`) and looked up in a per-kind vocabulary:
   the canonical name itself (exact), a synonym, an ambiguous synonym (weak), or the header
   read without a qualifier such as "(Billing)" or "Mailing" (partial);
3. the content of the sample: a column whose values are mostly email addresses, phone
   numbers, dates, amounts, URLs or countries.

Content decides for headers the vocabulary does not know and breaks ties between headers;
it overrides a header only when the two clearly contradict (a "Name" column full of email
addresses). Each canonical field takes one column: the best claim wins, a losing email or
phone column moves to a secondary field (email2, work_phone, mobile, other_phone) where it can, and
everything else becomes a custom field, typed from the mapping file or from its content.
Nothing is dropped: the raw payload keeps every column whatever the mapping says.
"""

from __future__ import annotations

import enum
import functools
import re
import tomllib
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from rolodex.collect.fields import FIELDS, FieldType, Kind, field_names
from rolodex.exceptions import ConfigError

__all__ = [
    "CUSTOM_TYPES",
    "SAMPLE_ROWS",
    "ColumnMapping",
    "MappingOverrides",
    "detect_kind",
    "infer_mapping",
    "load_mapping_file",
    "normalize_header",
]

SAMPLE_ROWS = 200
"""Rows of the sample the mapping looks at; callers need not send more."""

CUSTOM_TYPES = ("text", "integer", "number", "boolean", "date")
"""Types a custom field can have (the custom field definitions of the store use the same)."""

_CUSTOM = "custom"
_IGNORE = "ignore"
_RECORD_ID = "record_id"

_SHARE = 0.8  # share of non-empty values a content class must reach
_MIN_VALUES = 3  # fewer non-empty values say nothing about a column
_CUSTOM_NAME_MAX = 100  # custom_field_definition.name is String(100)


# --------------------------------------------------------------------------------------
# Header normalization

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_SEPARATORS = re.compile(r"[^\w#&]+|_+")


def _fold(
    text: str, *, split_camel: bool = False, drop_brackets: bool = False, split_digits: bool = True
) -> str:
    """Fold text to lower-case, accent-free words separated by single spaces."""
    if drop_brackets:
        text = _BRACKETED.sub(" ", text)
    if split_camel:
        text = _CAMEL.sub(" ", text)
    # "N° client": the degree sign does not decompose, the ordinal indicator (º) does.
    text = unicodedata.normalize("NFKD", text.replace("°", "o"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    if split_digits:
        text = _LETTER_DIGIT.sub(" ", text)
    return " ".join(_SEPARATORS.sub(" ", text).split())


def normalize_header(header: str, *, split_camel: bool = False, drop_brackets: bool = False) -> str:
    """Return the form of a header that the vocabulary is keyed by.

    Exports spell the same header many ways ("E-Mail", "e_mail", "EMAIL", "Téléphone",
    "Address1"), so lookups compare folded forms: NFKD with accents removed, casefolded
    ("Straße" becomes "strasse"), letters and digits split ("address 1"), and every run of
    separators (``_ - . / :``, brackets, spaces) made one space.

    Args:
        header: The header as the file has it.
        split_camel: Also split camelCase words ("firstName" becomes "first name"). Off by
            default because it would tear brand spellings apart ("LinkedIn"); the lookup
            tries both forms.
        drop_brackets: Drop bracketed qualifiers ("Phone (Work)" becomes "phone"). The
            lookup does this only when the full header matches nothing.

    Returns:
        The folded header, possibly empty.

    Examples:
        >>> normalize_header("Zip/Postal Code")
        'zip postal code'
        >>> normalize_header("Correo electrónico")
        'correo electronico'
        >>> normalize_header("Phone (Work)", drop_brackets=True)
        'phone'
    """
    return _fold(header, split_camel=split_camel, drop_brackets=drop_brackets)


# --------------------------------------------------------------------------------------
# Vocabulary


class _Rank(enum.IntEnum):
    """How strongly a piece of evidence ties a column to a field (higher wins)."""

    CONTENT = 1  # the values look like the field's type
    PARTIAL = 2  # the header matched once a qualifier was dropped ("Billing", "(Work)")
    WEAK = 3  # an ambiguous header ("Name", "Address")
    SYNONYM = 4  # a known header for the field
    EXACT = 5  # the canonical field name itself
    USER = 6  # --id-column or the mapping file


@dataclass(frozen=True, slots=True)
class _Term:
    """What a vocabulary header means: a field, how sure, and where to go when it is taken."""

    field: str
    rank: _Rank = _Rank.SYNONYM
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Entry:
    """Headers (as a person writes them) that all mean one term."""

    term: _Term
    headers: tuple[str, ...]


def _syn(
    field_name: str,
    *headers: str,
    rank: _Rank = _Rank.SYNONYM,
    fallbacks: tuple[str, ...] = (),
) -> _Entry:
    """Build a vocabulary entry."""
    return _Entry(_Term(field_name, rank, fallbacks), headers)


@dataclass(frozen=True, slots=True)
class _Contextual:
    """Headers whose field depends on the other columns of the file.

    "Nom" beside "Prénom" is the last name, alone it is the whole name; "Quantity" beside
    line-item columns is the line's quantity, alone it is the order's.
    """

    headers: tuple[str, ...]
    then: str
    otherwise: str
    when_any: tuple[str, ...]
    unless_any: tuple[str, ...] = ()
    because: str = ""
    rank: _Rank = _Rank.SYNONYM

    def resolve(self, claimed: Collection[str]) -> tuple[str, str | None]:
        """Return the field given the fields other columns claim, and why if it was `then`."""
        if any(f in claimed for f in self.when_any) and not any(
            f in claimed for f in self.unless_any
        ):
            return self.then, self.because
        return self.otherwise, None


_ID_WORDS = ("id", "record id", "uid", "unique id")

_EMAIL_WORDS = (
    "email", "e-mail", "mail", "emails", "email address", "e-mail address", "mail address",
    "email 1", "e-mail 1", "primary email", "main email", "e-mail-adresse", "emailadresse",
    "mailadresse", "courriel", "adresse courriel", "adresse email", "adresse e-mail",
    "adresse mail", "adresse électronique", "mél", "correo", "correo electrónico",
    "dirección de correo", "dirección de correo electrónico", "dirección de email",
)  # fmt: skip

_PHONE_WORDS = (
    "phone", "phone number", "phone no", "phone #", "telephone", "telephone number", "tel",
    "tel no", "tel nr", "primary phone", "main phone", "phone 1", "landline", "telefon",
    "telefonnummer", "telefon nr", "rufnummer", "festnetz", "festnetznummer", "téléphone",
    "numéro de téléphone", "no de téléphone", "téléphone fixe", "tél fixe", "fixe",
    "teléfono", "número de teléfono", "teléfono fijo", "fijo",
)  # fmt: skip

_HOME_PHONE_WORDS = (
    "home phone", "phone home", "private phone", "phone private", "home telephone",
    "telefon privat", "tel privat", "privatnummer", "téléphone domicile", "tél domicile",
    "teléfono particular", "teléfono de casa", "teléfono casa",
)  # fmt: skip

_MOBILE_WORDS = (
    "mobile", "mobile phone", "mobile phone number", "mobile number", "mobile no",
    "phone mobile", "cell", "cell phone", "cellphone", "cell number", "cell phone number",
    "handy", "handynummer", "handy nr", "mobil", "mobilnummer", "mobil nr", "mobiltelefon",
    "mobilfunknummer", "portable", "téléphone portable", "tél portable", "numéro de portable",
    "téléphone mobile", "numéro de mobile", "móvil", "teléfono móvil", "número de móvil",
    "celular", "teléfono celular", "número de celular",
)  # fmt: skip

_WORK_PHONE_WORDS = (
    "work phone", "phone work", "business phone", "phone business", "office phone",
    "phone office", "direct phone", "direct line", "direct dial", "company phone",
    "telefon geschäftlich", "tel geschäftlich", "telefon dienstlich", "telefon büro",
    "durchwahl", "téléphone professionnel", "tél pro", "téléphone bureau", "ligne directe",
    "teléfono del trabajo", "teléfono trabajo", "teléfono oficina", "teléfono de empresa",
)  # fmt: skip

_OTHER_PHONE_WORDS = (
    "other phone", "phone 2", "phone2", "second phone", "secondary phone", "alternate phone",
    "alternative phone", "additional phone", "phone other", "telefon 2", "zweite telefonnummer",
    "weitere telefonnummer", "andere telefonnummer", "autre téléphone", "téléphone 2",
    "deuxième téléphone", "otro teléfono", "teléfono 2", "teléfono alternativo",
    "segundo teléfono",
)  # fmt: skip

_STREET_WORDS = (
    "street", "street address", "address 1", "address line 1", "street 1", "street line 1",
    "line 1", "street name", "address 1&2", "straße", "str", "straße und hausnummer",
    "straße hausnummer", "straße nr", "adresse 1", "adresse ligne 1", "rue", "numéro et rue",
    "voie", "dirección 1", "línea de dirección 1", "calle",
)  # fmt: skip

# Whole-address headers: the nearest field is the street, but a real street column wins.
_ADDRESS_WORDS = (
    "address", "postal address", "mailing address", "adresse", "anschrift", "dirección",
    "domicilio",
)  # fmt: skip

_STREET2_WORDS = (
    "street 2", "address 2", "address line 2", "street line 2", "line 2", "adresszusatz",
    "zusatz", "complément d'adresse", "complément", "adresse 2", "adresse ligne 2",
    "dirección 2", "línea de dirección 2", "apartment", "suite", "apt", "unit",
)  # fmt: skip

_CITY_WORDS = (
    "city", "town", "locality", "suburb", "ort", "stadt", "wohnort", "ville", "commune", "localité",
    "ciudad", "localidad", "población", "municipio",
)  # fmt: skip

_REGION_WORDS = (
    "region", "state", "province", "state region", "state province", "state or province",
    "state code", "province code", "region code", "county", "prefecture", "bundesland",
    "kanton", "provinz", "estado", "provincia", "comunidad autónoma",
)  # fmt: skip

_POSTCODE_WORDS = (
    "postcode", "post code", "postal code", "zip", "zip code", "zipcode", "zip postal code",
    "postal zip code", "postleitzahl", "plz", "code postal", "cp", "código postal",
    "cód postal",
)  # fmt: skip

_COUNTRY_WORDS = (
    "country", "country code", "country region", "country name", "country iso", "nation",
    "land", "pays", "code pays", "país", "código de país",
)  # fmt: skip

_CREATED_WORDS = (
    "created date", "create date", "created", "created at", "created on", "creation date",
    "date created", "created time", "date added", "added on", "date registered",
    "registration date", "registered", "registered at", "sign up date", "signup date",
    "member since", "customer since", "person created", "erstellt", "erstellt am",
    "angelegt am", "anlagedatum", "erstelldatum", "erfasst am", "registriert am",
    "date de création", "créé le", "date d'inscription", "fecha de creación",
    "fecha de alta", "creado", "alta",
)  # fmt: skip

_UPDATED_WORDS = (
    "updated date", "updated", "updated at", "last updated", "last modified",
    "last modified date", "modified", "modified date", "modified time", "date modified",
    "last changed", "last update", "update time", "geändert", "geändert am",
    "letzte änderung", "aktualisiert am", "date de modification", "modifié le",
    "dernière modification", "fecha de modificación", "última modificación", "modificado",
)  # fmt: skip

_OWNER_WORDS = (
    "owner", "contact owner", "lead owner", "record owner", "account owner", "company owner",
    "owner name", "owner id", "assigned to", "sales rep", "salesperson", "betreuer",
    "kundenbetreuer", "verantwortlich", "zuständig", "propriétaire", "responsable",
    "commercial", "propietario", "asignado a", "vendedor",
)  # fmt: skip

_ADDRESS_ENTRIES = (
    _syn("street", *_STREET_WORDS),
    _syn("street", *_ADDRESS_WORDS, rank=_Rank.WEAK),
    _syn("street2", *_STREET2_WORDS),
    _syn("city", *_CITY_WORDS),
    _syn("region", *_REGION_WORDS),
    _syn("postcode", *_POSTCODE_WORDS),
    _syn("country", *_COUNTRY_WORDS),
)

_CONTACTS = (
    _syn(
        _RECORD_ID, *_ID_WORDS, "contact id", "lead id", "customer id", "customer number",
        "customer no", "customer nr", "customer #", "client id", "client number", "person id",
        "user id", "member id", "subscriber id", "contact record id", "contact number",
        "kundennummer", "kunden nr", "kundennr", "kunden id", "kunden nummer", "kunde nr",
        "kontakt id", "kontaktnummer", "n° client", "no client", "n client", "numéro client",
        "numéro de client", "id client", "code client", "réf client", "identifiant",
        "id contact", "id cliente", "id de cliente", "número de cliente", "no de cliente",
        "cliente id", "código de cliente", "id de contacto", "id contacto",
    ),
    _syn("salutation", "salutation", "prefix", "name prefix", "honorific", "anrede", "titel",
         "civilité", "tratamiento", "saludo"),
    _syn("first_name", "first name", "firstname", "first", "given name", "forename", "fname",
         "vorname", "prénom", "nombre de pila", "primer nombre"),
    _syn("middle_name", "middle name", "middle initial", "middle", "additional name",
         "zweiter vorname", "deuxième prénom", "segundo nombre"),
    _syn("last_name", "last name", "lastname", "surname", "family name", "last", "lname",
         "nachname", "familienname", "zuname", "nom de famille", "apellido", "apellidos",
         "primer apellido"),
    _syn("full_name", "full name", "fullname", "contact name", "customer name", "client name",
         "person name", "display name", "vollständiger name", "kontaktname", "nom complet",
         "nom et prénom", "prénom et nom", "nombre completo", "nombre y apellidos"),
    _syn("suffix", "suffix", "name suffix", "namenszusatz", "sufijo"),
    _syn("email", *_EMAIL_WORDS, "work email", "email work", "business email",
         "personal email", "email home", "private email", "e-mail privat",
         "e-mail geschäftlich", fallbacks=("email2",)),
    _syn("email2", "email 2", "e-mail 2", "e-mail 2 address", "secondary email",
         "other email", "alternate email", "alternative email", "additional email",
         "zweite e-mail", "weitere e-mail", "autre email", "email secondaire",
         "correo secundario", "otro correo"),
    _syn("phone", *_PHONE_WORDS, fallbacks=("work_phone", "mobile", "other_phone")),
    _syn("phone", *_HOME_PHONE_WORDS, fallbacks=("other_phone",)),
    _syn("mobile", *_MOBILE_WORDS, fallbacks=("other_phone",)),
    _syn("work_phone", *_WORK_PHONE_WORDS, fallbacks=("other_phone",)),
    _syn("other_phone", *_OTHER_PHONE_WORDS),
    _syn("company_name", "company", "company name", "account name", "account", "organization",
         "organisation", "organization name", "organisation name", "employer",
         "business name", "company account", "firma", "firmenname", "unternehmen",
         "arbeitgeber", "société", "entreprise", "raison sociale", "nom de l'entreprise",
         "nom de la société", "empresa", "nombre de la empresa", "compañía", "organización"),
    _syn("company_id", "company id", "account id", "organization id", "organisation id",
         "org id", "firmen id", "firmennummer", "id entreprise", "id société", "id empresa"),
    _syn("job_title", "job title", "position", "job", "job function", "occupation",
         "designation", "berufsbezeichnung", "funktion", "beruf", "stellung", "fonction",
         "poste", "intitulé du poste", "titre du poste", "cargo", "puesto",
         "título del puesto"),
    _syn("department", "department", "dept", "abteilung", "département", "departamento"),
    _syn("website", "website", "web site", "homepage", "home page", "website url", "web",
         "webseite", "internetseite", "site web", "site internet", "sitio web", "página web"),
    _syn("website", "url", "site", rank=_Rank.WEAK),
    *_ADDRESS_ENTRIES,
    _syn("birth_date", "birth date", "birthdate", "birthday", "date of birth", "dob", "born",
         "geburtsdatum", "geburtstag", "geb datum", "date de naissance", "naissance",
         "anniversaire", "fecha de nacimiento", "cumpleaños", "nacimiento"),
    _syn("gender", "gender", "sex", "geschlecht", "sexe", "genre", "sexo", "género"),
    _syn("language", "language", "preferred language", "locale", "lang", "sprache", "langue",
         "idioma", "lengua"),
    _syn("lifecycle_stage", "lifecycle stage", "lifecycle", "lifecycle phase", "stage",
         "lebenszyklus", "lebenszyklusphase", "cycle de vie", "étape du cycle de vie",
         "etapa del ciclo de vida", "ciclo de vida"),
    _syn("lead_source", "lead source", "source", "original source", "how did you hear about us",
         "quelle", "lead quelle", "herkunft", "source du lead", "origine", "provenance",
         "fuente", "origen", "fuente del lead"),
    _syn("owner", *_OWNER_WORDS),
    _syn("linkedin", "linkedin", "linkedin url", "linkedin profile", "linkedin profile url"),
    _syn("twitter", "twitter", "twitter handle", "twitter username", "twitter url", "x handle"),
    _syn("email_opt_in", "email opt in", "opt in", "optin", "email optin", "opted in",
         "accepts email marketing", "accepts marketing", "marketing opt in",
         "email marketing opt in", "marketing consent", "email consent", "subscribed",
         "newsletter", "newsletter opt in", "einwilligung newsletter",
         "newsletter einwilligung", "werbeeinwilligung", "accepte les emails",
         "inscrit à la newsletter", "consentement marketing", "acepta marketing",
         "suscrito", "acepta comunicaciones"),
    _syn("created_date", *_CREATED_WORDS),
    _syn("updated_date", *_UPDATED_WORDS),
)  # fmt: skip

_CONTACTS_CONTEXTUAL = (
    _Contextual(
        ("name", "nom"),
        then="last_name",
        otherwise="full_name",
        when_any=("first_name",),
        unless_any=("last_name",),
        because="beside a first-name column",
        rank=_Rank.WEAK,
    ),
    _Contextual(
        ("nombre",),
        then="first_name",
        otherwise="full_name",
        when_any=("last_name",),
        unless_any=("first_name",),
        because="beside a last-name column",
        rank=_Rank.WEAK,
    ),
    # Salesforce and Zoho say "Title" for the job title; Outlook has both "Title" (Mr, Dr)
    # and "Job Title".
    _Contextual(
        ("title",),
        then="salutation",
        otherwise="job_title",
        when_any=("job_title",),
        unless_any=("salutation",),
        because="beside a job-title column",
    ),
)

_COMPANIES = (
    _syn(_RECORD_ID, *_ID_WORDS, "company id", "account id", "organization id",
         "organisation id", "org id", "customer id", "firmen id", "firmennummer",
         "kundennummer", "id entreprise", "id société", "id empresa"),
    _syn("name", "name", "company", "company name", "account name", "account", "organization",
         "organisation", "organization name", "organisation name", "business name",
         "legal name", "firma", "firmenname", "unternehmen", "unternehmensname", "société",
         "entreprise", "raison sociale", "nom", "nom de l'entreprise", "nom de la société",
         "empresa", "nombre", "nombre de la empresa", "razón social", "compañía"),
    _syn("domain", "domain", "domain name", "company domain name", "website", "web site",
         "url", "homepage", "web", "email domain", "webseite", "site web", "site internet",
         "sitio web", "dominio"),
    _syn("industry", "industry", "sector", "branche", "industrie", "secteur",
         "secteur d'activité", "industria"),
    _syn("employee_count", "employees", "number of employees", "no of employees",
         "employee count", "headcount", "staff", "company size", "mitarbeiter",
         "anzahl mitarbeiter", "mitarbeiterzahl", "effectif", "nombre d'employés",
         "nombre de salariés", "empleados", "número de empleados"),
    _syn("annual_revenue", "annual revenue", "revenue", "turnover", "umsatz", "jahresumsatz",
         "chiffre d'affaires", "ingresos", "ingresos anuales", "facturación"),
    _syn("phone", *_PHONE_WORDS, "company phone"),
    *_ADDRESS_ENTRIES,
    _syn("founded_year", "founded", "year founded", "founding year", "gegründet",
         "gründungsjahr", "année de création", "año de fundación"),
    _syn("company_type", "type", "company type", "account type", "typ", "unternehmensart",
         "firmentyp", "type de société", "type d'entreprise", "tipo de empresa", "tipo"),
    _syn("owner", *_OWNER_WORDS),
    _syn("created_date", *_CREATED_WORDS),
    _syn("updated_date", *_UPDATED_WORDS),
)  # fmt: skip

_CUSTOMER_ID_WORDS = (
    "customer id", "customer number", "customer no", "customer nr", "customer #",
    "customer ref", "customer reference", "client id", "client number", "contact id",
    "person id", "user id", "member id", "buyer id", "requester id", "account id",
    "kundennummer", "kunden nr", "kundennr", "kunden id", "kunden nummer", "kunde nr",
    "n° client", "no client", "n client", "numéro client", "numéro de client", "id client",
    "code client", "réf client", "id cliente", "id de cliente", "número de cliente",
    "no de cliente", "cliente id", "código de cliente",
)  # fmt: skip

_CUSTOMER_EMAIL_WORDS = (
    *_EMAIL_WORDS, "customer email", "customer e-mail", "buyer email", "billing email",
    "contact email", "purchaser email", "user email", "requester email", "member email",
    "kunden e-mail", "e-mail des kunden", "email du client", "courriel du client",
    "correo del cliente", "email del cliente",
)  # fmt: skip

_CUSTOMER_REF = (
    _syn("customer_id", *_CUSTOMER_ID_WORDS),
    _syn("customer_email", *_CUSTOMER_EMAIL_WORDS),
)

_OCCURRED_WORDS = (
    "occurred at", "date", "timestamp", "time", "datetime", "date time", "created",
    "created at", "created date", "datum", "zeitpunkt", "zeitstempel", "date et heure",
    "horodatage", "fecha", "fecha y hora", "marca de tiempo",
)  # fmt: skip

_CAMPAIGN_WORDS = (
    "campaign", "campaign name", "campaign id", "campaign title", "kampagne", "campagne",
    "campaña",
)  # fmt: skip

_ORDERS = (
    _syn(_RECORD_ID, *_ID_WORDS, "order id", "order number", "order no", "order nr",
         "order #", "order ref", "order reference", "transaction id", "bestellnummer",
         "bestell nr", "bestellung nr", "bestell id", "auftragsnummer", "auftrags nr",
         "numéro de commande", "no de commande", "n de commande", "id commande",
         "référence commande", "número de pedido", "no de pedido", "id pedido",
         "id de pedido"),
    # Shopify's "Name" is the order number ("#1001"); its "Id" is preferred when filled.
    _syn(_RECORD_ID, "name", "number", "nummer", "numéro", "número", "reference", "ref",
         rank=_Rank.WEAK),
    *_CUSTOMER_REF,
    _syn("order_date", "order date", "date", "ordered at", "order time", "order created",
         "created", "created at", "created date", "date created", "purchase date",
         "transaction date", "datum", "bestelldatum", "auftragsdatum", "kaufdatum",
         "date de commande", "date d'achat", "fecha", "fecha de pedido", "fecha de compra"),
    _syn("total_amount", "total", "total amount", "amount", "order total",
         "order total amount", "grand total", "total price", "total paid", "gross", "revenue",
         "order value", "value", "betrag", "gesamtbetrag", "summe", "gesamtsumme",
         "bruttobetrag", "montant", "montant total", "total ttc", "importe", "importe total",
         "monto", "total del pedido"),
    _syn("currency", "currency", "currency code", "order currency", "währung", "devise",
         "monnaie", "moneda", "divisa"),
    _syn("quantity", "items", "item count", "number of items", "total quantity",
         "anzahl artikel", "nombre d'articles", "número de artículos"),
    _syn("status", "status", "order status", "financial status", "payment status",
         "bestellstatus", "zahlungsstatus", "statut", "statut de la commande", "estado",
         "estado del pedido"),
    _syn("line_sku", "sku", "lineitem sku", "line item sku", "item sku", "product sku",
         "product code", "article number", "artikelnummer", "art nr", "référence produit",
         "réf produit", "código de producto"),
    _syn("line_name", "lineitem name", "line item name", "item name", "product name",
         "product", "item", "product title", "artikel", "artikelname", "produkt",
         "produktname", "bezeichnung", "produit", "nom du produit", "article", "producto",
         "nombre del producto", "artículo"),
    _syn("line_quantity", "lineitem quantity", "line item quantity", "item quantity",
         "line quantity", "artikelmenge", "quantité article", "cantidad del artículo"),
    _syn("line_price", "lineitem price", "line item price", "item price", "unit price",
         "item cost", "price per unit", "line price", "einzelpreis", "stückpreis",
         "prix unitaire", "precio unitario"),
)  # fmt: skip

_LINE_FIELDS = ("line_sku", "line_name", "line_price", "line_quantity")

_ORDERS_CONTEXTUAL = (
    _Contextual(
        ("quantity", "qty", "menge", "anzahl", "stückzahl", "quantité", "cantidad", "units"),
        then="line_quantity",
        otherwise="quantity",
        when_any=("line_sku", "line_name", "line_price"),
        unless_any=("line_quantity",),
        because="beside line-item columns",
    ),
    _Contextual(
        ("price", "preis", "prix", "precio"),
        then="line_price",
        otherwise="total_amount",
        when_any=("line_sku", "line_name", "line_quantity"),
        unless_any=("line_price",),
        because="beside line-item columns",
    ),
)

_SUBJECT_WORDS = ("subject", "title", "summary", "topic", "betreff", "sujet", "objet", "asunto")

_TICKETS = (
    _syn(_RECORD_ID, *_ID_WORDS, "ticket id", "ticket", "ticket number", "ticket no",
         "ticket #", "case id", "case number", "issue id", "request id", "ticketnummer",
         "ticket nummer", "vorgangsnummer", "fallnummer", "numéro de ticket", "no de ticket",
         "id du ticket", "número de ticket", "id de ticket", "número de caso",
         "número de incidencia"),
    *_CUSTOMER_REF,
    _syn("subject", *_SUBJECT_WORDS, "titel", "titre", "título", "tema"),
    _syn("status", "status", "ticket status", "state", "statut", "estado"),
    _syn("priority", "priority", "prio", "urgency", "severity", "priorität", "dringlichkeit",
         "priorité", "urgence", "prioridad", "urgencia"),
    _syn("channel", "channel", "via", "source", "origin", "medium", "kanal", "canal",
         "origine", "canal de entrada"),
    _syn("created_date", *_CREATED_WORDS, "requested", "opened", "opened at", "date opened",
         "submitted", "submitted at", "eröffnet am"),
    _syn("solved_date", "solved", "solved at", "solved date", "resolved", "resolved at",
         "resolution date", "closed", "closed at", "closed date", "date closed", "gelöst am",
         "geschlossen am", "erledigt am", "résolu le", "fermé le", "date de résolution",
         "date de fermeture", "resuelto", "fecha de resolución", "fecha de cierre",
         "cerrado"),
    _syn("satisfaction", "satisfaction", "satisfaction score", "satisfaction rating", "csat",
         "rating", "customer satisfaction", "zufriedenheit", "bewertung",
         "satisfaction client", "satisfacción", "valoración"),
)  # fmt: skip

_INTERACTIONS = (
    _syn(_RECORD_ID, *_ID_WORDS, "interaction id", "activity id", "engagement id", "call id",
         "aktivitäts id", "id activité", "id actividad"),
    *_CUSTOMER_REF,
    _syn("interaction_type", "interaction type", "type", "activity type", "engagement type",
         "activity", "action", "typ", "art", "aktivitätstyp", "type d'activité",
         "type d'interaction", "tipo", "tipo de actividad", "tipo de interacción"),
    _syn("channel", "channel", "medium", "via", "kanal", "canal"),
    _syn("direction", "direction", "call direction", "richtung", "sens", "sentido"),
    _syn("occurred_at", *_OCCURRED_WORDS, "activity date", "interaction date", "call date",
         "start time", "started at"),
    _syn("subject", *_SUBJECT_WORDS),
    _syn("outcome", "outcome", "result", "disposition", "call outcome", "call result",
         "ergebnis", "résultat", "resultado"),
    _syn("campaign", *_CAMPAIGN_WORDS),
)  # fmt: skip

_EVENTS = (
    _syn(_RECORD_ID, *_ID_WORDS, "event id", "ereignis id", "id événement", "id evento"),
    *_CUSTOMER_REF,
    _syn("event_type", "event type", "event", "event name", "type", "action", "ereignis",
         "ereignistyp", "typ", "événement", "type d'événement", "evento", "tipo de evento",
         "tipo"),
    _syn("occurred_at", *_OCCURRED_WORDS, "event time", "event date"),
    _syn("url", "url", "page url", "page", "link", "link url", "clicked url", "landing page",
         "seite", "lien", "página", "enlace"),
    _syn("campaign", *_CAMPAIGN_WORDS),
)  # fmt: skip

_CONSENTS = (
    _syn(_RECORD_ID, *_ID_WORDS, "consent id", "einwilligungs id", "id consentement",
         "id consentimiento"),
    *_CUSTOMER_REF,
    _syn("purpose", "purpose", "consent type", "consent", "type", "topic", "list",
         "subscription", "zweck", "einwilligungsart", "finalité", "finalidad", "propósito"),
    _syn("status", "status", "consent status", "state", "statut", "estado"),
    _syn("lawful_basis", "lawful basis", "legal basis", "basis", "rechtsgrundlage",
         "base légale", "base jurídica", "base legal"),
    _syn("occurred_at", *_OCCURRED_WORDS, "consent date", "given at", "granted at",
         "opt in date", "optin time", "opted in at", "withdrawn at",
         "date du consentement", "fecha de consentimiento"),
    _syn("proof", "proof", "evidence", "ip", "ip address", "optin ip", "form", "nachweis",
         "preuve", "prueba"),
)  # fmt: skip

# Stripe writes its timestamps as "Created (UTC)": the bracket is part of the header there.
_SUBSCRIPTIONS = (
    _syn(_RECORD_ID, *_ID_WORDS, "subscription id", "subscription number", "subscription no",
         "subscription uuid", "uuid", "sub id", "contract id", "contract number", "abo id",
         "abo nr", "abonummer", "abonnement id", "abonnementnummer", "vertragsnummer",
         "vertrags id", "id abonnement", "numéro d'abonnement", "no d'abonnement",
         "numéro de contrat", "id suscripción", "id de suscripción", "número de suscripción",
         "número de contrato"),
    *_CUSTOMER_REF,
    _syn("customer_id", "account code", "account number", "account no", "customer code",
         "customer handle", "subscriber id", "abonnent id", "abonnentennummer", "id abonné",
         "id suscriptor"),
    _syn("plan", "plan", "plan name", "plan id", "plan code", "plan nickname", "price id",
         "price nickname", "product", "product name", "product id", "rate plan",
         "rate plan name", "tier", "package", "subscription plan", "tarif", "tarifname", "abo",
         "abomodell", "abonnement", "paket", "produkt", "formule", "offre", "forfait",
         "produit", "plan tarifaire", "plan de suscripción", "tarifa", "producto", "paquete"),
    _syn("status", "status", "state", "subscription status", "subscription state",
         "abostatus", "vertragsstatus", "statut", "statut de l'abonnement", "état", "estado",
         "estado de la suscripción"),
    _syn("started_at", "start", "started", "start date", "started at", "starts at",
         "start time", "start (utc)", "start date (utc)", "started at (utc)", "activated",
         "activated at", "activation date", "subscription start date", "service activation date",
         "begin", "beginn", "startdatum", "abo beginn", "abobeginn", "vertragsbeginn",
         "beginn am", "gestartet am", "date de début", "début", "date d'activation",
         "commencé le", "fecha de inicio", "inicio", "fecha de activación"),
    # A creation date stands in for the start only when no start column is there.
    _syn("started_at", "created", "created at", "created date", "create date",
         "creation date", "date created", "created (utc)", "erstellt", "erstellt am",
         "date de création", "créé le", "fecha de creación", "fecha de alta", "alta",
         rank=_Rank.WEAK),
    _syn("cancelled_at", "cancelled", "canceled", "cancelled at", "canceled at",
         "cancelled date", "canceled date", "cancellation date", "cancel date",
         "date cancelled", "date canceled", "cancelled on", "canceled on",
         "canceled at (utc)", "cancelled at (utc)", "churned at", "churn date", "gekündigt",
         "gekündigt am", "kündigungsdatum", "kündigung", "storniert am", "storniert",
         "date de résiliation", "résilié le", "résiliation", "date d'annulation",
         "annulé le", "fecha de cancelación", "cancelado el", "fecha de baja", "baja"),
    _syn("ended_at", "ended", "ended at", "end", "end date", "ended at (utc)", "end (utc)",
         "ends at", "expires at", "expired at", "expiration date", "expiry date", "expires",
         "subscription end date", "termination date", "terminated at", "enddatum", "ende",
         "beendet am", "abo ende", "aboende", "vertragsende", "ablaufdatum", "date de fin",
         "fin", "expire le", "date d'expiration", "fecha de fin", "fecha de finalización",
         "fecha de vencimiento", "fecha de expiración"),
    _syn("monthly_amount", "monthly amount", "mrr", "monthly recurring revenue",
         "monthly price", "monthly fee", "amount", "price", "unit amount", "unit price",
         "plan amount", "plan price", "recurring amount", "subscription amount", "fee",
         "rate plan charge mrr", "monatsbeitrag", "monatlicher betrag", "monatsbetrag",
         "monatliche gebühr", "monatspreis", "beitrag", "betrag", "preis", "montant mensuel",
         "mensualité", "montant", "prix", "tarif mensuel", "cotisation", "importe mensual",
         "cuota mensual", "cuota", "importe", "precio", "monto"),
    _syn("billing_interval", "interval", "billing interval", "billing period unit",
         "billing frequency", "billing cycle", "plan interval", "plan interval unit",
         "interval unit", "frequency", "zahlungsintervall", "abrechnungsintervall",
         "abrechnungszeitraum", "intervall", "zahlweise", "périodicité",
         "fréquence de facturation", "période de facturation", "periodicidad",
         "frecuencia de facturación", "periodo de facturación", "intervalo"),
    _syn("currency", "currency", "currency code", "währung", "devise", "monnaie", "moneda",
         "divisa"),
)  # fmt: skip

# Deals belong to a contact and often to an account: "Account ID" names the company here.
_DEALS = (
    _syn(_RECORD_ID, *_ID_WORDS, "deal id", "deal number", "opportunity id",
         "opportunity number", "opp id", "geschäft id", "verkaufschance id", "chance id",
         "id affaire", "id opportunité", "numéro d'affaire", "id oportunidad",
         "id de oportunidad", "id negocio", "id del negocio"),
    _syn("customer_id", *(w for w in _CUSTOMER_ID_WORDS if w != "account id"),
         "associated contact id", "associated contact ids", "contact ids", "primary contact id",
         "kontakt id", "id contact", "id contacto", "id de contacto"),
    _syn("customer_email", *_CUSTOMER_EMAIL_WORDS, "associated contact", "primary contact",
         "contact", "kontakt", "contact principal", "contacto"),
    _syn("company_id", "company id", "account id", "associated company id",
         "associated company ids", "organization id", "organisation id", "org id",
         "firmen id", "firmennummer", "id entreprise", "id société", "id compte", "id empresa",
         "id de empresa", "id de cuenta"),
    _syn("company_name", "company", "company name", "account", "account name",
         "associated company", "organization", "organisation", "organization name",
         "organisation name", "org name", "firma", "firmenname", "unternehmen", "société",
         "entreprise", "compte", "nom du compte", "nom de l'entreprise", "empresa", "cuenta",
         "nombre de la cuenta", "nombre de la empresa", "compañía", "organización"),
    _syn("deal_name", "deal name", "deal", "deal title", "opportunity name", "opportunity",
         "opportunity title", "title", "geschäftsname", "verkaufschance",
         "name der verkaufschance", "titel", "nom de l'affaire", "affaire", "opportunité",
         "nom de l'opportunité", "titre", "nombre del negocio", "negocio", "oportunidad",
         "nombre de la oportunidad", "título"),
    _syn("pipeline", "pipeline", "deal pipeline", "sales pipeline", "pipeline name",
         "vertriebspipeline", "pipeline de vente", "embudo", "embudo de ventas",
         "pipeline de ventas"),
    _syn("stage", "stage", "deal stage", "stage name", "opportunity stage", "sales stage",
         "phase", "stufe", "verkaufsphase", "phase de la vente", "étape",
         "étape de la transaction", "étape de vente", "etapa", "etapa del negocio", "fase",
         "fase de venta"),
    _syn("status", "status", "deal status", "opportunity status", "state", "statut", "état",
         "estado"),
    _syn("amount", "amount", "deal amount", "deal value", "value", "opportunity amount",
         "total", "revenue", "betrag", "wert", "auftragswert", "volumen", "montant", "valeur",
         "montant de l'affaire", "importe", "valor", "monto", "importe del negocio"),
    _syn("currency", "currency", "currency code", "amount currency", "deal currency",
         "opportunity currency", "währung", "devise", "monnaie", "moneda", "divisa"),
    _syn("probability", "probability", "deal probability", "win probability", "likelihood",
         "chance", "closing probability", "forecast probability", "wahrscheinlichkeit",
         "abschlusswahrscheinlichkeit", "probabilité", "probabilité de gain",
         "probabilité de conclusion", "probabilidad", "probabilidad de cierre"),
    _syn("expected_close_date", "close date", "expected close date", "closing date",
         "estimated close date", "target close date", "expected close", "abschlussdatum",
         "erwartetes abschlussdatum", "voraussichtlicher abschluss", "date de clôture",
         "date de clôture prévue", "clôture prévue", "fecha de cierre",
         "fecha de cierre prevista", "fecha prevista de cierre", "cierre previsto"),
    _syn("closed_at", "closed at", "closed date", "date closed", "actual close date",
         "closed on", "won date", "won time", "lost date", "lost time", "date won",
         "abgeschlossen am", "gewonnen am", "verloren am", "clôturé le", "fermé le",
         "date de fermeture", "gagné le", "perdu le", "cerrado el", "fecha de cierre real",
         "ganado el", "perdido el"),
    _syn("won", "won", "is won", "deal won", "closed won", "gewonnen", "gagné", "gagnée",
         "ganado", "ganada"),
    _syn("closed", "closed", "is closed", "deal closed", "geschlossen", "abgeschlossen",
         "fermé", "clôturé", "cerrado", "cerrada"),
    _syn("owner", *_OWNER_WORDS, "deal owner", "opportunity owner", "sales owner",
         "hubspot owner"),
)  # fmt: skip

_CAMPAIGN_MEMBERS = (
    _syn(_RECORD_ID, *_ID_WORDS, "campaign member id", "membership id", "mitgliedschafts id",
         "id membre", "id de membre", "id de miembro"),
    *_CUSTOMER_REF,
    _syn("campaign", *_CAMPAIGN_WORDS, "campaign code", "mailing", "mailing name",
         "email campaign", "kampagnenname", "aktion", "nom de la campagne",
         "nombre de la campaña"),
    _syn("arm", "arm", "treatment", "treatment group", "variant", "variation", "version",
         "group", "test group", "cell", "test cell", "segment", "split", "a/b group",
         "experiment group", "offer", "behandlung", "gruppe", "testgruppe", "variante",
         "versuchsgruppe", "zelle", "traitement", "groupe", "groupe de test", "cellule",
         "tratamiento", "grupo", "grupo de prueba", "celda"),
    _syn("control", "control", "control group", "is control", "in control group",
         "holdout", "hold out", "holdout group", "kontrollgruppe", "groupe témoin", "témoin",
         "groupe de contrôle", "grupo de control"),
    _syn("status", "status", "member status", "campaign member status", "state",
         "mitgliedsstatus", "statut", "état", "estado"),
    _syn("responded", "responded", "has responded", "response", "responder", "visit",
         "visited", "clicked", "click", "reacted", "reagiert", "antwort", "rückmeldung",
         "a répondu", "répondu", "réponse", "visite", "respondió", "respuesta", "visita"),
    _syn("responded_at", "responded at", "response date", "first responded date",
         "responded date", "date responded", "response time", "visit date", "click date",
         "antwortdatum", "reagiert am", "date de réponse", "fecha de respuesta"),
    _syn("converted", "converted", "conversion", "has converted", "purchased", "purchase",
         "bought", "ordered", "sale", "konvertiert", "konversion", "kauf", "gekauft",
         "converti", "achat", "a acheté", "convertido", "conversión", "compra", "compró"),
    _syn("converted_at", "converted at", "conversion date", "converted date",
         "date converted", "purchase date", "konversionsdatum", "kaufdatum",
         "date de conversion", "date d'achat", "fecha de conversión", "fecha de compra"),
    _syn("revenue", "revenue", "spend", "amount", "sales", "order value", "value",
         "purchase amount", "conversion value", "umsatz", "betrag", "wert",
         "chiffre d'affaires", "montant", "ingresos", "importe", "gasto", "valor"),
)  # fmt: skip

# Words naming whom or what the row is about: "Person - Email" is the email, "Contact Owner"
# the owner. Dropping them loses nothing, but never makes an id the record id ("Contact ID"
# in an order file is the customer's id, and the vocabulary says so explicitly).
_PERSON_PREFIXES = (
    "person", "contact", "lead", "customer", "client", "kunde", "kunden", "member",
    "subscriber", "user", "cliente",
)  # fmt: skip
_COMPANY_PREFIXES = (
    "company", "account", "organization", "organisation", "org", "firma", "unternehmen",
    "société", "entreprise", "empresa",
)  # fmt: skip
_CUSTOMER_PREFIXES = (*_PERSON_PREFIXES, "buyer", "purchaser", "requester")

# Qualifiers that narrow a field down without changing it ("Mailing Street", "Default Address
# Zip", "City (Billing)"). Dropping them is a guess, so such matches rank PARTIAL and take no
# secondary field. Shipping is left out on purpose: a shipping address may be a gift's.
_ADDRESS_QUALIFIERS = (
    "default address", "mailing", "billing", "default", "primary", "main", "address",
    "postal", "home", "business", "private", "privat", "facturation", "rechnungs",
)  # fmt: skip
_QUALIFIER_SUFFIXES = ("billing", "de facturation", "de facturación", "privat", "home")


# Secondary fields a qualified header (PARTIAL) may still take.
_UNQUALIFIED_FALLBACKS = frozenset({"other_phone"})


@dataclass(frozen=True)
class _Hit:
    """A header's match in one kind's vocabulary."""

    meaning: _Term | _Contextual
    rank: _Rank
    key: str  # the folded form that matched
    read_as: str | None  # set when a prefix, suffix or brackets were dropped to match

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Return the secondary fields of the match: none for guesses, and for a header read
        without its qualifier only the field that claims nothing about the value's role
        ("Default Address Phone" beside "Phone" is another phone, not a work or mobile one)."""
        if not isinstance(self.meaning, _Term) or self.rank < _Rank.PARTIAL:
            return ()
        if self.rank == _Rank.PARTIAL:
            return tuple(f for f in self.meaning.fallbacks if f in _UNQUALIFIED_FALLBACKS)
        return self.meaning.fallbacks

    def fields(self) -> frozenset[str]:
        """Return every field the match can stand for."""
        if isinstance(self.meaning, _Term):
            return frozenset({self.meaning.field})
        return frozenset({self.meaning.then, self.meaning.otherwise})


@dataclass(frozen=True)
class _Vocabulary:
    """One kind's compiled vocabulary: folded header -> meaning."""

    kind: Kind
    terms: Mapping[str, _Term]
    contextual: Mapping[str, _Contextual]
    exact: Mapping[str, str]
    entity_prefixes: tuple[str, ...]
    qualifiers: tuple[str, ...]
    qualifier_suffixes: tuple[str, ...]

    def match(self, header: str) -> _Hit | None:
        """Return what a header means in this kind, trying the surest readings first."""
        forms = _unique(normalize_header(header), normalize_header(header, split_camel=True))
        dropped = [
            f
            for f in _unique(
                normalize_header(header, drop_brackets=True),
                normalize_header(header, split_camel=True, drop_brackets=True),
            )
            if f and f not in forms
        ]
        for form in forms:
            if hit := self._direct(form):
                return hit
        for form in forms:
            if hit := self._unprefixed(form, lossy=False):
                return hit
        for form in dropped:
            if hit := self._direct(form) or self._unprefixed(form, lossy=False):
                return _Hit(hit.meaning, _Rank.PARTIAL, hit.key, form)
        for form in (*forms, *dropped):
            if hit := self._unprefixed(form, lossy=True):
                return hit
        return None

    def _direct(self, key: str) -> _Hit | None:
        """Look a folded header up as it is."""
        if ctx := self.contextual.get(key):
            return _Hit(ctx, ctx.rank, key, None)
        if term := self.terms.get(key):
            rank = _Rank.EXACT if self.exact.get(key) == term.field else term.rank
            return _Hit(term, rank, key, None)
        if name := self.exact.get(key):
            return _Hit(_Term(name, _Rank.EXACT), _Rank.EXACT, key, None)
        return None

    def _unprefixed(self, form: str, *, lossy: bool) -> _Hit | None:
        """Look a folded header up without an entity prefix, or (lossy) a qualifier."""
        candidates: list[str] = []
        prefixes = self.qualifiers if lossy else self.entity_prefixes
        candidates += [form[len(p) + 1 :] for p in prefixes if form.startswith(p + " ")]
        if lossy:
            candidates += [
                form[: -len(s) - 1] for s in self.qualifier_suffixes if form.endswith(" " + s)
            ]
        for rest in candidates:
            hit = self._direct(rest)
            if hit is None and lossy:
                hit = self._unprefixed(rest, lossy=False)
            if hit is None or _RECORD_ID in hit.fields():
                continue
            rank = _Rank.PARTIAL if lossy else hit.rank
            return _Hit(hit.meaning, rank, hit.key, rest)
        return None


def _unique(*items: str) -> list[str]:
    """Return items without repeats, in order."""
    return list(dict.fromkeys(items))


_VOCABULARY: dict[Kind, tuple[tuple[_Entry, ...], tuple[_Contextual, ...], tuple[str, ...]]] = {
    Kind.CONTACTS: (_CONTACTS, _CONTACTS_CONTEXTUAL, _PERSON_PREFIXES),
    Kind.COMPANIES: (_COMPANIES, (), _COMPANY_PREFIXES),
    Kind.ORDERS: (_ORDERS, _ORDERS_CONTEXTUAL, (*_CUSTOMER_PREFIXES, "order")),
    Kind.TICKETS: (_TICKETS, (), (*_CUSTOMER_PREFIXES, "ticket", "case")),
    Kind.INTERACTIONS: (_INTERACTIONS, (), (*_CUSTOMER_PREFIXES, "interaction", "activity")),
    Kind.EVENTS: (_EVENTS, (), (*_CUSTOMER_PREFIXES, "event")),
    Kind.CONSENTS: (_CONSENTS, (), (*_CUSTOMER_PREFIXES, "consent")),
    Kind.SUBSCRIPTIONS: (
        _SUBSCRIPTIONS,
        (),
        (*_CUSTOMER_PREFIXES, "account", "subscription", "abo", "abonnement", "plan"),
    ),
    Kind.DEALS: (_DEALS, (), (*_CUSTOMER_PREFIXES, "deal", "opportunity", "opp")),
    Kind.CAMPAIGN_MEMBERS: (_CAMPAIGN_MEMBERS, (), (*_CUSTOMER_PREFIXES, "campaign member")),
}


def _by_length(words: Sequence[str]) -> tuple[str, ...]:
    """Fold words and order them longest first, so "default address" is tried before "default"."""
    return tuple(sorted({normalize_header(w) for w in words}, key=len, reverse=True))


@functools.cache
def _vocabulary(kind: Kind) -> _Vocabulary:
    """Compile a kind's vocabulary, refusing a header that means two things."""
    entries, contextual, prefixes = _VOCABULARY[kind]
    known = set(field_names(kind))
    terms: dict[str, _Term] = {}
    contexts: dict[str, _Contextual] = {}
    clashes: list[str] = []
    for entry in entries:
        for header in entry.headers:
            key = normalize_header(header)
            if terms.setdefault(key, entry.term) != entry.term:
                clashes.append(f"{key!r}: {terms[key].field} and {entry.term.field}")
    for ctx in contextual:
        for header in ctx.headers:
            key = normalize_header(header)
            if key in terms or contexts.setdefault(key, ctx) != ctx:
                clashes.append(f"{key!r}: contextual and another meaning")
    used = {t.field for t in terms.values()} | {
        f for c in contexts.values() for f in (c.then, c.otherwise)
    }
    used |= {f for t in terms.values() for f in t.fallbacks}
    if clashes or not used <= known:
        problems = clashes + [f"{f!r} is not a {kind} field" for f in sorted(used - known)]
        raise RuntimeError(f"vocabulary for {kind} is inconsistent: {'; '.join(problems)}")
    return _Vocabulary(
        kind=kind,
        terms=MappingProxyType(terms),
        contextual=MappingProxyType(contexts),
        exact=MappingProxyType({normalize_header(f): f for f in known}),
        entity_prefixes=_by_length(prefixes),
        qualifiers=_by_length(_ADDRESS_QUALIFIERS),
        qualifier_suffixes=_by_length(_QUALIFIER_SUFFIXES),
    )


# --------------------------------------------------------------------------------------
# Content sniffing


class _Content(enum.Enum):
    """What the values of a column look like, in the order that wins when several fit."""

    EMAIL = "email addresses"
    URL = "URLs"
    DATE = "dates"
    INTEGER = "integers"
    BOOLEAN = "booleans"
    AMOUNT = "amounts"
    NUMBER = "numbers"
    PHONE = "phone numbers"
    COUNTRY = "countries"


_EMAIL_RE = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]{2,}")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?:/\S*)?", re.IGNORECASE
)
_TIME = (
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[A-Z]{3,4}|[+-]\d{2}:?\d{2})?)?"
)
_YMD_RE = re.compile(rf"(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}")
_DMY_RE = re.compile(rf"(\d{{1,2}})[-/.](\d{{1,2}})[-/.](?:\d{{2}}|\d{{4}}){_TIME}")
_NAMED_DATE_RE = re.compile(
    rf"(?:[^\W\d_]{{2,}}\.?,?\s+)?"  # weekday
    rf"(?:\d{{1,2}}\.?\s+([^\W\d_]{{3,}})\.?|([^\W\d_]{{3,}})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?)"
    rf"\s+\d{{4}}(?:,?{_TIME})"
)
_MONTHS = frozenset(
    "jan feb mar apr may jun jul aug sep oct nov dec mai okt dez fev avr jui aou ene abr ago "
    "dic".split()
)
_INTEGER_RE = re.compile(r"[-+]?(?:0|[1-9]\d*)")
_CURRENCY = r"(?:[$€£¥₹]|[A-Z]{3}|kr|Fr\.?)"
_AMOUNT_RE = re.compile(
    rf"[-+]?(?:{_CURRENCY}\s?)?[-+]?(\d{{1,3}}(?:[,.'\u00a0\u202f ]\d{{3}})+|\d+)"
    rf"(?:[.,]\d{{1,2}})?(?:\s?{_CURRENCY})?"
)
_NUMBER_RE = re.compile(r"[-+]?(\d+)?(?:[.,]\d+)?(?:[eE][-+]?\d+)?")
_PHONE_RE = re.compile(
    r"(?P<main>(?:\+|00)?[\d\s().\-/]+?)(?:\s*(?:x|ext\.?|extension|#)\s*\d{1,6})?", re.IGNORECASE
)
_PHONE_SEPARATORS = frozenset(" ().-/")
_IPV4_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_BOOLEANS = frozenset(
    "true false yes no y n t f 1 0 ja nein j oui non vrai faux si verdadero falso wahr falsch "
    "on off".split()
)
_COUNTRIES = frozenset(
    # ISO 3166 alpha-2 and alpha-3 codes of the countries most exports come from ...
    "us gb uk de fr es it nl be ch at ie pt dk se no fi pl cz sk hu ro bg gr hr si lu li is ee "
    "lv lt mt cy ca mx br ar cl co pe au nz jp cn kr in id th vn my sg ph hk tw ae sa il tr za "
    "eg ng ke ma ru ua rs usa gbr deu fra esp ita nld bel che aut irl prt dnk swe nor fin pol "
    "can mex bra aus jpn chn ind".split()
) | frozenset(
    # ... and their common names in English, German, French and Spanish (folded).
    normalize_header(name)
    for name in (
        "United States", "United States of America", "U.S.A.", "United Kingdom",
        "Great Britain", "England", "Germany", "Deutschland", "Allemagne", "Alemania",
        "France", "Frankreich", "Francia", "Spain", "Spanien", "Espagne", "España", "Italy",
        "Italien", "Italie", "Italia", "Netherlands", "Niederlande", "Pays-Bas",
        "Países Bajos", "Holland", "Belgium", "Belgien", "Belgique", "Bélgica", "Switzerland",
        "Schweiz", "Suisse", "Suiza", "Austria", "Österreich", "Autriche", "Ireland",
        "Irland", "Irlande", "Irlanda", "Portugal", "Poland", "Polen", "Pologne", "Polonia",
        "Sweden", "Schweden", "Suède", "Suecia", "Norway", "Norwegen", "Norvège", "Noruega",
        "Denmark", "Dänemark", "Danemark", "Dinamarca", "Finland", "Finnland", "Finlande",
        "Finlandia", "Canada", "Kanada", "Canadá", "Mexico", "Mexiko", "Mexique", "México",
        "Brazil", "Brasilien", "Brésil", "Brasil", "Argentina", "Argentinien", "Argentine",
        "Chile", "Colombia", "Kolumbien", "Colombie", "Peru", "Perú", "Australia",
        "Australien", "Australie", "New Zealand", "Japan", "Japon", "Japón", "China", "Chine",
        "India", "Indien", "Inde", "Russia", "Russland", "Russie", "Rusia", "Turkey", "Türkei",
        "Turquie", "Turquía", "South Africa", "Israel", "Luxembourg", "Luxemburg",
        "Luxemburgo", "Greece", "Griechenland", "Grèce", "Grecia", "Czech Republic",
        "Czechia", "Tschechien",
    )
)  # fmt: skip


def _is_date(value: str) -> bool:
    """Tell whether a value is a date or timestamp in a common notation."""
    if m := _YMD_RE.fullmatch(value):
        return 1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31
    if m := _DMY_RE.fullmatch(value):
        a, b = int(m[1]), int(m[2])
        return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12
    if m := _NAMED_DATE_RE.fullmatch(value):
        month = normalize_header(m[1] or m[2])[:3]
        return month in _MONTHS
    return False


def _is_phone(value: str) -> bool:
    """Tell whether a value is written like a phone number (bare digit runs are integers)."""
    m = _PHONE_RE.fullmatch(value)
    if m is None or _IPV4_RE.fullmatch(value):  # Mailchimp's OPTIN_IP, CONFIRM_IP
        return False
    main = m["main"].strip()
    digits = sum(ch.isdigit() for ch in main)
    written = main.startswith(("+", "0", "(")) or any(ch in _PHONE_SEPARATORS for ch in main)
    return 7 <= digits <= 15 and written


def _classify(value: str) -> set[_Content]:
    """Return every content class a (stripped, non-empty) value fits."""
    found: set[_Content] = set()
    if _EMAIL_RE.fullmatch(value):
        return {_Content.EMAIL}
    if _URL_RE.fullmatch(value) or (_DOMAIN_RE.fullmatch(value) and not value[0].isdigit()):
        found.add(_Content.URL)
    if _is_date(value):
        found.add(_Content.DATE)
    folded = normalize_header(value)
    if folded in _BOOLEANS:
        found.add(_Content.BOOLEAN)
    if folded in _COUNTRIES:
        found.add(_Content.COUNTRY)
    if _INTEGER_RE.fullmatch(value):
        found |= {_Content.INTEGER, _Content.AMOUNT, _Content.NUMBER}
    elif (m := _AMOUNT_RE.fullmatch(value)) and not _leading_zero(m[1]):
        found |= {_Content.AMOUNT, _Content.NUMBER}
    elif (m := _NUMBER_RE.fullmatch(value)) and any(c.isdigit() for c in value):
        if not _leading_zero(m[1]):
            found.add(_Content.NUMBER)
    if _is_phone(value):
        found.add(_Content.PHONE)
    return found


def _leading_zero(digits: str | None) -> bool:
    """Tell whether an integer part is a code such as "0049" rather than a number."""
    return digits is not None and len(digits) > 1 and digits[0] == "0" and digits.isdigit()


@dataclass(frozen=True)
class _Profile:
    """What the sample says about one column."""

    rows: int
    filled: int
    shares: Mapping[_Content, float]
    digit_share: float  # share of values with a digit: names have none

    @property
    def fill(self) -> float:
        """Return the share of sampled rows with a value (1.0 without a sample)."""
        return self.filled / self.rows if self.rows else 1.0

    @property
    def dominant(self) -> _Content | None:
        """Return the first content class most values fit, if the column has enough values."""
        if self.filled < _MIN_VALUES:
            return None
        return next((c for c in _Content if self.share(c) >= _SHARE), None)

    def share(self, content: _Content) -> float:
        """Return the share of non-empty values that fit a content class."""
        return self.shares.get(content, 0.0)

    def says(self, content: _Content) -> str:
        """Describe the evidence for a content class."""
        return (
            f"content: {_percent(self.share(content))} of {self.filled} values are {content.value}"
        )

    def custom_type(self) -> str:
        """Return the custom field type the values fit."""
        dominant = self.dominant
        return _CUSTOM_TYPE_OF.get(dominant, "text") if dominant else "text"


_CUSTOM_TYPE_OF = {
    _Content.INTEGER: "integer",
    _Content.AMOUNT: "number",
    _Content.NUMBER: "number",
    _Content.BOOLEAN: "boolean",
    _Content.DATE: "date",
}


def _percent(share: float) -> str:
    """Format a share as a whole percentage, never rounding up to 100%."""
    return f"{int(share * 100)}%"


def _profile(sample: Sequence[Sequence[object]], index: int) -> _Profile:
    """Profile column `index` of the sample (values beyond a short row are missing)."""
    values = [
        text
        for row in sample
        if index < len(row) and row[index] is not None and (text := str(row[index]).strip())
    ]
    counts: dict[_Content, int] = {}
    for value in values:
        for content in _classify(value):
            counts[content] = counts.get(content, 0) + 1
    n = len(values)
    return _Profile(
        rows=len(sample),
        filled=n,
        shares={c: k / n for c, k in counts.items()},
        digit_share=sum(any(ch.isdigit() for ch in v) for v in values) / n if n else 0.0,
    )


# Which field a column goes to on content alone, per kind (then its secondary fields).
_CONTENT_FIELDS: dict[Kind, dict[_Content, tuple[str, ...]]] = {
    Kind.CONTACTS: {
        _Content.EMAIL: ("email", "email2"),
        _Content.PHONE: ("phone", "work_phone", "mobile", "other_phone"),
        _Content.URL: ("website",),
        _Content.COUNTRY: ("country",),
    },
    Kind.COMPANIES: {
        _Content.URL: ("domain",),
        _Content.PHONE: ("phone",),
        _Content.COUNTRY: ("country",),
    },
    Kind.ORDERS: {
        _Content.EMAIL: ("customer_email",),
        _Content.DATE: ("order_date",),
        _Content.AMOUNT: ("total_amount",),
    },
    Kind.TICKETS: {_Content.EMAIL: ("customer_email",), _Content.DATE: ("created_date",)},
    Kind.INTERACTIONS: {_Content.EMAIL: ("customer_email",), _Content.DATE: ("occurred_at",)},
    Kind.EVENTS: {
        _Content.EMAIL: ("customer_email",),
        _Content.DATE: ("occurred_at",),
        _Content.URL: ("url",),
    },
    Kind.CONSENTS: {_Content.EMAIL: ("customer_email",), _Content.DATE: ("occurred_at",)},
    # These files carry several dates and amounts of different meaning: only headers say which.
    Kind.SUBSCRIPTIONS: {_Content.EMAIL: ("customer_email",)},
    Kind.DEALS: {_Content.EMAIL: ("customer_email",)},
    Kind.CAMPAIGN_MEMBERS: {_Content.EMAIL: ("customer_email",)},
}

# Content classes where two columns of the same look are common and tell nothing apart (an
# order has several dates and amounts): content picks such a field only when one column fits.
_SECONDARY_CONTENT = frozenset({_Content.EMAIL, _Content.PHONE})

# The content class a field type expects, for tie-breaks and contradiction checks.
_EXPECTED: dict[FieldType, _Content] = {
    FieldType.EMAIL: _Content.EMAIL,
    FieldType.PHONE: _Content.PHONE,
    FieldType.DATE: _Content.DATE,
    FieldType.DATETIME: _Content.DATE,
    FieldType.AMOUNT: _Content.AMOUNT,
    FieldType.INTEGER: _Content.INTEGER,
    FieldType.BOOLEAN: _Content.BOOLEAN,
    FieldType.URL: _Content.URL,
    FieldType.COUNTRY: _Content.COUNTRY,
}

_C = _Content
# Content that clearly contradicts a header's field type. Kept narrow on purpose: a header
# says more than a sample, so only values that cannot be the field overrule it (postcodes
# that look like integers, phone numbers written as bare digits, Norway's "NO" are all fine).
_CONTRADICTS: dict[FieldType, frozenset[_Content]] = {
    FieldType.TEXT: frozenset({_C.EMAIL}),
    FieldType.ID: frozenset({_C.EMAIL}),
    FieldType.EMAIL: frozenset(set(_Content) - {_C.EMAIL}),
    FieldType.PHONE: frozenset({_C.EMAIL, _C.URL, _C.DATE, _C.BOOLEAN}),
    FieldType.DATE: frozenset({_C.EMAIL, _C.URL, _C.BOOLEAN, _C.COUNTRY}),
    FieldType.DATETIME: frozenset({_C.EMAIL, _C.URL, _C.BOOLEAN, _C.COUNTRY}),
    FieldType.AMOUNT: frozenset({_C.EMAIL, _C.URL, _C.DATE, _C.BOOLEAN, _C.COUNTRY}),
    FieldType.INTEGER: frozenset({_C.EMAIL, _C.URL, _C.DATE, _C.BOOLEAN, _C.COUNTRY}),
    FieldType.BOOLEAN: frozenset({_C.EMAIL, _C.URL, _C.DATE, _C.PHONE, _C.AMOUNT, _C.NUMBER}),
    FieldType.URL: frozenset(set(_Content) - {_C.URL, _C.COUNTRY}),
    FieldType.COUNTRY: frozenset(set(_Content) - {_C.COUNTRY, _C.BOOLEAN}),
}
# Yes/no fields whose column often holds the date instead ("Responded: 2024-03-01"): such
# a column feeds the dated field, and the yes/no follows from the date being there.
_DATED_TWINS = {"responded": "responded_at", "converted": "converted_at", "closed": "closed_at"}
_PERSON_NAME_FIELDS = frozenset({"first_name", "middle_name", "last_name", "full_name"})


def _contradiction(field_name: str, ftype: FieldType, profile: _Profile) -> str | None:
    """Return why the content rules a header's field out, or None when it does not."""
    dominant = profile.dominant
    if field_name in _PERSON_NAME_FIELDS and profile.filled >= _MIN_VALUES:
        if profile.digit_share >= _SHARE and dominant is not _Content.EMAIL:
            share = _percent(profile.digit_share)
            return f"content: {share} of {profile.filled} values contain digits"
    if dominant is None or dominant not in _CONTRADICTS[ftype]:
        return None
    expected = _EXPECTED.get(ftype)
    if expected is not None and profile.share(expected) >= _SHARE:
        return None
    return profile.says(dominant)


# --------------------------------------------------------------------------------------
# Kind detection

# Fields only a kind has: two such columns, and at least as many as person columns, make a
# file that kind rather than contacts.
_CORE: dict[Kind, frozenset[str]] = {
    Kind.ORDERS: frozenset({"order_date", "total_amount", "currency", "quantity", *_LINE_FIELDS}),
    Kind.TICKETS: frozenset({"subject", "status", "priority", "solved_date", "satisfaction"}),
    Kind.INTERACTIONS: frozenset({"interaction_type", "direction", "outcome", "channel"}),
    Kind.EVENTS: frozenset({"event_type", "url"}),
    Kind.CONSENTS: frozenset({"purpose", "lawful_basis", "proof"}),
    # Amounts are left out: orders have them too, and a plan or a stage says more.
    Kind.SUBSCRIPTIONS: frozenset(
        {"plan", "started_at", "cancelled_at", "ended_at", "billing_interval"}
    ),
    Kind.DEALS: frozenset(
        {
            "deal_name",
            "pipeline",
            "stage",
            "probability",
            "expected_close_date",
            "closed_at",
            "won",
            "closed",
        }
    ),
    Kind.CAMPAIGN_MEMBERS: frozenset(
        {"arm", "control", "responded", "responded_at", "converted", "converted_at"}
    ),
    Kind.COMPANIES: frozenset(
        {"industry", "employee_count", "annual_revenue", "domain", "founded_year", "company_type"}
    ),
}
_PERSON_FIELDS = frozenset(
    {
        "salutation", "first_name", "middle_name", "last_name", "full_name", "email", "email2",
        "phone", "mobile", "work_phone", "job_title", "birth_date", "gender",
    }
)  # fmt: skip
_GENERIC_ID_KEYS = frozenset(normalize_header(w) for w in _ID_WORDS)


def detect_kind(headers: Sequence[str], sample: Sequence[Sequence[object]]) -> Kind:
    """Guess what the rows of a file describe, for imports run without `--kind`.

    Most files are contact lists, and mistaking one for orders would scatter its people
    into transactions, so the answer is contacts unless the headers clearly describe
    another kind: at least two columns that only that kind understands (order date, total,
    currency, line items; subject, priority, solved date; event type, URL; purpose, lawful
    basis; industry, employees, revenue) and more of them than columns describing a person.
    A kind-specific record id ("Ticket ID", "Bestellnummer") counts as such a column. The
    sample is used for columns whose header says nothing: email and phone values count as
    person columns.

    Args:
        headers: The file's header row.
        sample: Up to SAMPLE_ROWS rows of the file, aligned with `headers`.

    Returns:
        The most likely kind; `Kind.CONTACTS` when in doubt.

    Examples:
        >>> detect_kind(["customer_id", "date", "quantity", "amount"], [])
        <Kind.ORDERS: 'orders'>
        >>> detect_kind(["Email", "First Name", "Total Spent"], [])
        <Kind.CONTACTS: 'contacts'>
    """
    rows = sample[:SAMPLE_ROWS]
    contacts = _vocabulary(Kind.CONTACTS)
    people = 0
    for index, header in enumerate(headers):
        hit = contacts.match(header)
        if hit is None:
            dominant = _profile(rows, index).dominant
            people += dominant in (_Content.EMAIL, _Content.PHONE)
        elif hit.rank >= _Rank.WEAK and hit.fields() & _PERSON_FIELDS:
            people += 1
    best, best_score = Kind.CONTACTS, (0, 0)
    for kind, core_fields in _CORE.items():
        vocabulary = _vocabulary(kind)
        core = mapped = 0
        for header in headers:
            hit = vocabulary.match(header)
            if hit is None or hit.rank < _Rank.WEAK:
                continue
            mapped += 1
            fields = hit.fields()
            specific_id = _RECORD_ID in fields and hit.key not in _GENERIC_ID_KEYS
            core += bool(fields & core_fields) or specific_id
        if core >= 2 and core > people and (core, mapped) > best_score:
            best, best_score = kind, (core, mapped)
    return best


# --------------------------------------------------------------------------------------
# Mapping overrides


@dataclass(frozen=True)
class MappingOverrides:
    """What the user says about the columns of a file, usually from a `--mapping` TOML file.

    Attributes:
        kind: The kind of the file, when the user fixes it.
        id_column: The header of the record id column.
        columns: Header -> canonical field, "custom" (a custom field even if the header
            matches a canonical one) or "ignore" (no field at all; the raw payload still
            keeps the value).
        custom: Header -> custom field type (text, integer, number, boolean, date). Declaring
            a column here makes it a custom field.
        source: What to name in error messages (the file's path).
    """

    kind: Kind | None = None
    id_column: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    custom: Mapping[str, str] = field(default_factory=dict)
    source: str = "mapping overrides"

    def __post_init__(self) -> None:
        """Check all that can be checked without the data file, wherever the overrides came from."""
        known = (
            set(field_names(self.kind))
            if self.kind is not None
            else {f.name for fields in FIELDS.values() for f in fields}
        )
        owner: dict[str, str] = {}
        for header, target in self.columns.items():
            where = f"[columns] {header!r} = {target!r}"
            if target in (_CUSTOM, _IGNORE):
                continue
            if target not in known:
                of = f"a field of {self.kind}" if self.kind else "a canonical field of any kind"
                self._fail(
                    f"{where}: {target!r} is not {of}; use one of {_listing(sorted(known))}, "
                    f"or {_CUSTOM!r} or {_IGNORE!r}"
                )
            if target in owner:
                self._fail(
                    f"[columns] {owner[target]!r} and {header!r} both map to {target}; "
                    "a field takes one column"
                )
            owner[target] = header
        for header, type_ in self.custom.items():
            if type_ not in CUSTOM_TYPES:
                self._fail(
                    f"[custom] {header!r} = {type_!r}: unknown type; use one of "
                    f"{_listing(CUSTOM_TYPES)}"
                )
            target = self.columns.get(header, _CUSTOM)
            if target != _CUSTOM:
                self._fail(
                    f"[custom] declares {header!r}, which [columns] maps to {target!r}; "
                    "a column is either a custom field or not"
                )
        record = owner.get(_RECORD_ID)
        if self.id_column is not None:
            if record is not None and record != self.id_column:
                self._fail(
                    f"id_column = {self.id_column!r} but [columns] maps {record!r} to "
                    f"{_RECORD_ID}; name one record id column"
                )
            target = self.columns.get(self.id_column, _RECORD_ID)
            if target != _RECORD_ID:
                self._fail(
                    f"id_column = {self.id_column!r}, but [columns] maps that column to {target!r}"
                )
            if self.id_column in self.custom:
                self._fail(
                    f"id_column = {self.id_column!r}, but [custom] declares that column a "
                    "custom field"
                )

    def _fail(self, message: str) -> NoReturn:
        """Raise a ConfigError naming the overrides' source."""
        raise ConfigError(f"{self.source}: {message}")


def _listing(items: Sequence[str]) -> str:
    """Format names for an error message."""
    return ", ".join(items)


_FILE_KEYS = ("kind", "id_column", "columns", "custom")


def load_mapping_file(path: Path) -> MappingOverrides:
    """Read a `--mapping` TOML file: the user's word on columns the inference gets wrong.

    The file may set ``kind``, ``id_column``, a ``[columns]`` table (header -> canonical
    field, ``"custom"`` or ``"ignore"``) and a ``[custom]`` table (header -> custom field
    type). Everything that can be checked without the data file is checked here, so a typo
    fails before a long import starts; headers are checked by :func:`infer_mapping`.

    Args:
        path: The TOML file.

    Returns:
        The overrides, with `source` set to the path for later error messages.

    Raises:
        ConfigError: The file cannot be read, is not TOML, has an unknown key, an unknown
            kind, field or custom type, maps two columns to one field, or contradicts itself
            about the id column. The message names the file and the key.

    Examples:
        A file such as::

            kind = "contacts"
            id_column = "Kundennr"
            [columns]
            "Tel. privat" = "phone"
            "Notes" = "ignore"
            [custom]
            "Loyalty Tier" = "text"
    """
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read mapping file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: mapping file is not UTF-8 text: {exc.reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{source}: {message}")

    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; expected {_listing(_FILE_KEYS)}")
    kind: Kind | None = None
    if "kind" in data:
        try:
            kind = Kind(data["kind"])
        except ValueError:
            raise fail(
                f"kind = {data['kind']!r} is not a kind; use one of {_listing(list(Kind))}"
            ) from None
    id_column = data.get("id_column")
    if id_column is not None and not isinstance(id_column, str):
        raise fail(f"id_column must be a header (a string), not {id_column!r}")
    tables: dict[str, dict[str, str]] = {}
    for key in ("columns", "custom"):
        table: Any = data.get(key, {})
        if not isinstance(table, dict):
            raise fail(f"{key} must be a table ([{key}]), not {table!r}")
        for header, value in table.items():
            if not isinstance(value, str):
                raise fail(f"[{key}] {header!r} must be a string, not {value!r}")
        tables[key] = table
    return MappingOverrides(
        kind=kind,
        id_column=id_column,
        columns=tables["columns"],
        custom=tables["custom"],
        source=source,
    )


# --------------------------------------------------------------------------------------
# The mapping


@dataclass(frozen=True)
class ColumnMapping:
    """Where each column of a file goes.

    Attributes:
        kind: What the rows describe.
        headers: The file's headers, in order.
        fields: Canonical field -> column index. The record id is here as "record_id".
        id_column: Column index of the record id, or None when the file has none (an order
            export referring to customers only).
        custom: Column index -> custom field name (snake_case of the header) for every
            column that is neither mapped nor ignored.
        custom_types: Custom field name -> type (text, integer, number, boolean, date).
        ignored: Column indexes the mapping file told to ignore.
        reasons: Column index -> why it went where it went, for `--dry-run`.
    """

    kind: Kind
    headers: tuple[str, ...]
    fields: Mapping[str, int]
    id_column: int | None
    custom: Mapping[int, str]
    custom_types: Mapping[str, str]
    ignored: tuple[int, ...]
    reasons: Mapping[int, str]

    def target(self, index: int) -> str:
        """Return where column `index` goes: a field name, "custom:NAME" or "ignored"."""
        for name, column in self.fields.items():
            if column == index:
                return name
        if index in self.custom:
            return f"custom:{self.custom[index]}"
        return "ignored"

    def describe(self) -> list[tuple[str, str, str]]:
        """Return (header, target, reason) per column, in file order, for `--dry-run`.

        Returns:
            One row per column: the header, its target (a canonical field, "custom:NAME" or
            "ignored") and the reason the mapping gave.
        """
        return [
            (header, self.target(i), self.reasons.get(i, ""))
            for i, header in enumerate(self.headers)
        ]


@dataclass
class _Claim:
    """A column's bid for a field."""

    column: int
    field: str
    rank: _Rank
    reason: str
    fallbacks: tuple[str, ...] = ()
    agreement: float = 0.0

    def order(self) -> tuple[int, float, int]:
        """Sort key: stronger evidence first, then content agreement, then file order."""
        return (-self.rank, -self.agreement, self.column)


def infer_mapping(
    headers: Sequence[str],
    sample: Sequence[Sequence[object]],
    *,
    kind: Kind | None = None,
    id_column: str | None = None,
    overrides: MappingOverrides | None = None,
) -> ColumnMapping:
    """Map the columns of a file onto the canonical fields of its kind, with no setup.

    Each column is matched by its header first (the canonical name, then synonyms in
    English, German, French and Spanish and the spellings of common CRM exports, then the
    header without qualifiers such as "Mailing" or "(Billing)"), then by the content of the
    sample. Content decides columns whose header says nothing and breaks ties; it overrules
    a header only when the values cannot be that field (a "Name" column of email
    addresses). When several columns claim one field, the strongest claim wins (mapping
    file > exact > synonym > ambiguous > partial > content, then the share of values that
    fit, then file order), a losing email or phone column takes a secondary field (email2;
    work_phone, mobile, then other_phone) where one is free, and the rest become custom fields.

    Args:
        headers: The file's header row.
        sample: Up to SAMPLE_ROWS rows aligned with `headers`; values may be strings or
            JSON/Parquet values (compared through ``str``); None is missing.
        kind: What the rows describe; detected with :func:`detect_kind` when None and the
            overrides do not say.
        id_column: Header of the record id column (`--id-column`); detected when None.
        overrides: The user's mapping file, which beats every inference.

    Returns:
        The mapping, with a reason for every column.

    Raises:
        ConfigError: `id_column` or a column the overrides name is not a header of the file
            (the message lists the headers), the overrides map a column to a field the kind
            does not have, or `kind`/`id_column` contradict the overrides.

    Examples:
        >>> m = infer_mapping(["Kundennummer", "Vorname", "Name", "E-Mail"], [])
        >>> dict(m.fields)
        {'record_id': 0, 'first_name': 1, 'last_name': 2, 'email': 3}
    """
    names = tuple(str(h) for h in headers)
    rows = sample[:SAMPLE_ROWS]
    user = overrides or MappingOverrides()
    resolved = _resolve_kind(kind, user, names, rows)
    if user.kind is None and user.columns:
        # Re-validate field names against the kind now that it is known.
        user = MappingOverrides(
            kind=resolved,
            id_column=user.id_column,
            columns=user.columns,
            custom=user.custom,
            source=user.source,
        )
    return _Mapper(resolved, names, rows, user, id_column).run()


def _resolve_kind(
    kind: Kind | None,
    overrides: MappingOverrides,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> Kind:
    """Return the kind the caller, the overrides or the headers say."""
    if kind is not None and overrides.kind is not None and kind != overrides.kind:
        raise ConfigError(
            f"{overrides.source}: kind = {overrides.kind.value!r}, but the import was asked "
            f"for {kind.value}"
        )
    return kind or overrides.kind or detect_kind(headers, rows)


class _Mapper:
    """One run of the mapping: gathers claims per column, then settles who gets what."""

    def __init__(
        self,
        kind: Kind,
        headers: tuple[str, ...],
        rows: Sequence[Sequence[object]],
        overrides: MappingOverrides,
        id_column: str | None,
    ) -> None:
        self.kind = kind
        self.headers = headers
        self.overrides = overrides
        self.types = {f.name: f.type for f in FIELDS[kind]}
        self.vocabulary = _vocabulary(kind)
        self.profiles = [_profile(rows, i) for i in range(len(headers))]
        self.sampled = len(rows)
        self.reasons: dict[int, str] = {}
        self.claims: list[_Claim] = []
        self.custom: set[int] = set()
        self.ignored: set[int] = set()
        self.declared: dict[int, str] = {}
        self.id_index, self.id_reason = self._id_column(id_column)

    def run(self) -> ColumnMapping:
        """Gather every column's claim, settle conflicts and build the mapping."""
        decided = self._apply_overrides()
        hits = {
            i: hit
            for i, header in enumerate(self.headers)
            if i not in decided and (hit := self.vocabulary.match(header)) is not None
        }
        claimed = {c.field for c in self.claims} | {
            h.meaning.field for h in hits.values() if isinstance(h.meaning, _Term)
        }
        content: list[_Claim] = []
        for i in range(len(self.headers)):
            if i in decided:
                continue
            if i in hits:
                self._header_claim(i, hits[i], claimed, content)
            else:
                self._content_claim(i, content)
        self._drop_ambiguous(content)
        self.claims += content
        fields = self._settle()
        return self._build(fields)

    def _id_column(self, id_column: str | None) -> tuple[int | None, str]:
        """Return the index of the id column the caller or the overrides name, and why."""
        source, file_id = self.overrides.source, self.overrides.id_column
        if id_column is not None and file_id is not None and id_column != file_id:
            raise ConfigError(
                f"{source}: id_column = {file_id!r}, but the import was given {id_column!r} "
                "as the id column"
            )
        if id_column is not None:
            index = self._index(id_column, f"id column {id_column!r}")
            return index, f"given as the id column ({id_column!r})"
        if file_id is not None:
            what = f"{source}: id_column = {file_id!r}"
            return self._index(file_id, what), what
        for header, target in self.overrides.columns.items():
            if target == _RECORD_ID:
                what = f"{source}: {header!r} = {_RECORD_ID}"
                return self._index(header, f"{source}: [columns] {header!r}"), what
        return None, ""

    def _index(self, header: str, what: str) -> int:
        """Find a header exactly, else by its folded form when that is unambiguous."""
        if header in self.headers:
            return self.headers.index(header)
        folded = normalize_header(header)
        found = [i for i, h in enumerate(self.headers) if normalize_header(h) == folded]
        if len(found) == 1:
            return found[0]
        listed = _listing([repr(h) for h in self.headers]) or "(none)"
        raise ConfigError(f"{what} names no column of the file; its columns are: {listed}")

    def _apply_overrides(self) -> set[int]:
        """Turn the user's word into claims and decisions; return the columns it settles."""
        source = self.overrides.source
        named: dict[int, str] = {}  # column -> the key that named it, to catch two keys

        def locate(header: str, table: str) -> int:
            i = self._index(header, f"{source}: [{table}] {header!r}")
            if named.get(i, header) != header:
                raise ConfigError(
                    f"{source}: [{table}] {header!r} and {named[i]!r} name the same column "
                    f"{self.headers[i]!r}"
                )
            named[i] = header
            return i

        decided: set[int] = set()
        if self.id_index is not None:
            self.claims.append(
                _Claim(self.id_index, _RECORD_ID, _Rank.USER, self.id_reason, agreement=1.0)
            )
            decided.add(self.id_index)
        for header, target in self.overrides.columns.items():
            i = locate(header, "columns")
            if self.id_index is not None and (i == self.id_index) != (target == _RECORD_ID):
                raise ConfigError(
                    f"{source}: [columns] {header!r} = {target!r} contradicts the id column "
                    f"{self.headers[self.id_index]!r}"
                )
            decided.add(i)
            if target == _RECORD_ID:
                continue  # the id column, claimed above
            if target == _IGNORE:
                self.ignored.add(i)
                self.reasons[i] = f"ignored by {source} (kept in the raw payload)"
            elif target == _CUSTOM:
                self._make_custom(i, f"{source}: {header!r} = {_CUSTOM};")
            else:
                reason = f"{source}: {header!r} = {target}"
                self.claims.append(_Claim(i, target, _Rank.USER, reason, agreement=1.0))
        for header, type_ in self.overrides.custom.items():
            i = locate(header, "custom")
            if i == self.id_index:
                raise ConfigError(f"{source}: [custom] declares {header!r}, the id column")
            self.declared[i] = type_
            if i not in decided:
                decided.add(i)
                self._make_custom(i, f"{source}: [custom] {header!r};")
        return decided

    def _header_claim(self, i: int, hit: _Hit, claimed: set[str], content: list[_Claim]) -> None:
        """Claim the field a header names, unless the sample rules it out."""
        header, profile = self.headers[i], self.profiles[i]
        note = f" (read as {hit.read_as!r})" if hit.read_as else ""
        if isinstance(hit.meaning, _Contextual):
            name, because = hit.meaning.resolve(claimed)
            note += f" ({because})" if because else ""
        else:
            name = hit.meaning.field
        reason = f"header {header!r} = {name}{note}"
        twin = _DATED_TWINS.get(name)
        if twin in self.types and profile.dominant is _Content.DATE:
            share = _percent(profile.share(_Content.DATE))
            reason += f", but {share} of {profile.filled} values are dates, so {twin}"
            name = twin
        if name == _RECORD_ID:
            # The record id is whatever identifies the row, so its content is never
            # "contradictory"; but a mostly empty column cannot identify rows.
            if self.id_index is not None:
                self._make_custom(i, f"{reason}, but the id column is given;")
                return
            if profile.fill < _SHARE:
                self._make_custom(
                    i,
                    f"{reason}, but only {_percent(profile.fill)} of {self.sampled} sampled "
                    "rows have a value;",
                )
                return
            if self.sampled:
                reason += f" ({_percent(profile.fill)} of {self.sampled} sampled rows filled)"
        elif why := _contradiction(name, self.types[name], profile):
            self._content_claim(
                i, content, contradicted=f"header {header!r} suggests {name}, but {why}"
            )
            return
        expected = _EXPECTED.get(self.types[name])
        agreement = profile.share(expected) if expected else profile.fill
        self.claims.append(_Claim(i, name, hit.rank, reason, hit.fallbacks, agreement))

    def _content_claim(
        self, i: int, content: list[_Claim], *, contradicted: str | None = None
    ) -> None:
        """Claim a field from the values alone, or make the column custom."""
        profile = self.profiles[i]
        dominant = profile.dominant
        targets = _CONTENT_FIELDS[self.kind].get(dominant, ()) if dominant else ()
        if dominant is None or not targets:
            self._make_custom(i, f"{contradicted or 'no canonical field matches'};")
            return
        reason = contradicted or profile.says(dominant)
        share = profile.share(dominant)
        content.append(_Claim(i, targets[0], _Rank.CONTENT, reason, targets[1:], share))

    def _drop_ambiguous(self, content: list[_Claim]) -> None:
        """Leave a field to no column when several look alike and no header names it."""
        headed = {c.field for c in self.claims}
        by_field: dict[str, list[_Claim]] = {}
        for claim in content:
            by_field.setdefault(claim.field, []).append(claim)
        for name, group in by_field.items():
            dominant = self.profiles[group[0].column].dominant
            if len(group) < 2 or name in headed or dominant in _SECONDARY_CONTENT:
                continue
            for claim in group:
                content.remove(claim)
                alike = _listing([repr(self.headers[c.column]) for c in group if c is not claim])
                self._make_custom(
                    claim.column, f"{claim.reason}, like {alike}: too ambiguous for {name};"
                )

    def _make_custom(self, i: int, reason: str) -> None:
        """Record a column as custom with the reason so far (the type is added later)."""
        self.custom.add(i)
        self.reasons[i] = reason

    def _settle(self) -> dict[str, int]:
        """Give each field to its best claim; losers try their secondary fields."""
        fields: dict[str, int] = {}
        losers: list[_Claim] = []
        for claim in sorted(self.claims, key=_Claim.order):
            if claim.field in fields:
                losers.append(claim)
                continue
            fields[claim.field] = claim.column
            self.reasons[claim.column] = claim.reason
        # Secondary fields go only to losers, after every direct claim: "Secondary Email"
        # gets email2 before a second "Email" column falls back to it.
        for claim in losers:
            winner = self.headers[fields[claim.field]]
            taken = f"{claim.reason}; {claim.field} is taken by {winner!r}"
            free = next((f for f in claim.fallbacks if f not in fields), None)
            if free is not None:
                fields[free] = claim.column
                self.reasons[claim.column] = f"{taken}, so {free}"
            else:
                self._make_custom(claim.column, f"{taken};")
        return fields

    def _build(self, fields: dict[str, int]) -> ColumnMapping:
        """Name and type the custom columns and freeze the result."""
        custom: dict[int, str] = {}
        custom_types: dict[str, str] = {}
        used: set[str] = set()
        for i in sorted(self.custom):
            name = _custom_name(self.headers[i], i, used)
            used.add(name)
            custom[i] = name
            profile = self.profiles[i]
            if i in self.declared:
                type_, evidence = self.declared[i], " (declared)"
            else:
                type_, evidence = profile.custom_type(), ""
                dominant = profile.dominant
                if type_ != "text" and dominant and profile.says(dominant) not in self.reasons[i]:
                    evidence = f" ({profile.says(dominant)})"
            custom_types[name] = type_
            self.reasons[i] += f" custom {type_} field{evidence}"
        ordered = {f: fields[f] for f in field_names(self.kind) if f in fields}
        return ColumnMapping(
            kind=self.kind,
            headers=self.headers,
            fields=MappingProxyType(ordered),
            id_column=fields.get(_RECORD_ID),
            custom=MappingProxyType(custom),
            custom_types=MappingProxyType(custom_types),
            ignored=tuple(sorted(self.ignored)),
            reasons=MappingProxyType(dict(sorted(self.reasons.items()))),
        )


def _custom_name(header: str, index: int, used: Collection[str]) -> str:
    """Return a snake_case field name for a header, unique among `used`."""
    base = re.sub(r"\W+", "_", _fold(header, split_camel=True, split_digits=False)).strip("_")
    base = base[: _CUSTOM_NAME_MAX - 4] or f"column_{index + 1}"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    return name
