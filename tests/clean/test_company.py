"""The company standardizer on real-world names and websites, and the column path agreeing."""

from __future__ import annotations

import random

import polars as pl
import pytest

from rolodex.clean.base import Flag, Result
from rolodex.clean.company import (
    FREE_MAIL_DOMAINS,
    domain_from,
    standardize_company,
    standardize_company_columns,
)

# short names keep the tables one case per line
V, C, X, M, S = Flag.VALID, Flag.CORRECTED, Flag.INVALID, Flag.MISSING, Flag.SUSPICIOUS

# raw, display value, key, legal form, flag
NAMES: list[tuple[str, str, str | None, str | None, Flag]] = [
    # US
    ("Acme Inc.", "Acme Inc.", "acme", "Inc.", V),
    ("ACME, INC", "Acme, Inc", "acme", "Inc.", V),
    ("Acme Incorporated", "Acme Incorporated", "acme", "Inc.", V),
    ("acme", "Acme", "acme", None, V),
    ("  acme   corp  ", "Acme Corp", "acme", "Corp.", V),
    ("ibm", "IBM", "ibm", None, V),
    ("The Boeing Company", "The Boeing Company", "boeing", "Co.", V),
    ("MCDONALD'S CORPORATION", "McDonald's Corporation", "mcdonalds", "Corp.", V),
    ("JPMorgan Chase & Co.", "JPMorgan Chase & Co.", "jpmorgan chase", "Co.", V),
    ("J.P. MORGAN SECURITIES LLC", "J.P. Morgan Securities LLC", "jp morgan securities", "LLC", V),
    ("AT&T INC.", "AT&T Inc.", "at and t", "Inc.", V),
    ("Procter & Gamble Co.", "Procter & Gamble Co.", "procter and gamble", "Co.", V),
    ("7-ELEVEN, INC.", "7-Eleven, Inc.", "7 eleven", "Inc.", V),
    ("3M COMPANY", "3M Company", "3m", "Co.", V),
    # UK, Australia, India
    ("Tesco PLC", "Tesco PLC", "tesco", "PLC", V),
    ("HSBC HOLDINGS PLC", "HSBC Holdings PLC", "hsbc holdings", "PLC", V),
    ("O'BRIEN & SONS LTD", "O'Brien & Sons Ltd", "obrien and sons", "Ltd", V),
    ("ST. JAMES'S PLACE PLC", "St. James's Place PLC", "st jamess place", "PLC", V),
    ("Atlassian Pty Ltd", "Atlassian Pty Ltd", "atlassian", "Pty Ltd", V),
    ("Tata Consultancy Services Limited", "Tata Consultancy Services Limited",
     "tata consultancy services", "Ltd", V),
    # German
    ("ACME GMBH", "Acme GmbH", "acme", "GmbH", V),
    ("ACME GMBH & CO. KG", "Acme GmbH & Co. KG", "acme", "GmbH & Co. KG", V),
    ("SCHMIDT & SÖHNE GMBH & CO. KG", "Schmidt & Söhne GmbH & Co. KG", "schmidt and soehne",
     "GmbH & Co. KG", V),
    ("Siemens AG", "Siemens AG", "siemens", "AG", V),
    ("BMW AG", "BMW AG", "bmw", "AG", V),
    ("SAP SE", "SAP SE", "sap", "SE", V),
    ("ACME UG (HAFTUNGSBESCHRÄNKT)", "Acme UG (haftungsbeschränkt)", "acme",
     "UG (haftungsbeschränkt)", V),
    ("Schmidt e.K.", "Schmidt e.K.", "schmidt", "e.K.", V),
    ("TSV MÜNCHEN E.V.", "TSV München e.V.", "tsv muenchen", "e.V.", V),
    ("KPMG AG WIRTSCHAFTSPRÜFUNGSGESELLSCHAFT", "KPMG AG Wirtschaftsprüfungsgesellschaft",
     "kpmg ag wirtschaftspruefungsgesellschaft", None, V),
    ("ACME HOLDING GMBH", "Acme Holding GmbH", "acme holding", "GmbH", V),
    # French, Belgian, Luxembourgish
    ("l'oréal s.a.", "L'Oréal S.A.", "loreal", "S.A.", V),
    ("BNP PARIBAS SA", "BNP Paribas SA", "bnp paribas", "S.A.", V),
    ("Société Générale S.A.", "Société Générale S.A.", "societe generale", "S.A.", V),
    ("DUPONT SARL", "Dupont SARL", "dupont", "SARL", V),
    ("ACME S.À R.L.", "Acme S.à r.l.", "acme", "S.à r.l.", V),
    # Spanish
    ("Telefónica, S.A.", "Telefónica, S.A.", "telefonica", "S.A.", V),
    ("INDITEX S.A.", "Inditex S.A.", "inditex", "S.A.", V),
    ("Banco Bilbao Vizcaya Argentaria, S.A.", "Banco Bilbao Vizcaya Argentaria, S.A.",
     "banco bilbao vizcaya argentaria", "S.A.", V),
    ("Construcciones García y Hermanos S.L.", "Construcciones García y Hermanos S.L.",
     "construcciones garcia and hermanos", "S.L.", V),
    # Italian
    ("ENI S.P.A.", "ENI S.p.A.", "eni", "S.p.A.", V),
    ("ROSSI E FIGLI S.R.L.", "Rossi e Figli S.r.l.", "rossi e figli", "S.r.l.", V),
    ("BARILLA G. E R. FRATELLI S.P.A.", "Barilla G. e R. Fratelli S.p.A.",
     "barilla g e r fratelli", "S.p.A.", V),
    # Dutch
    ("VAN DER BERG LOGISTIEK B.V.", "Van der Berg Logistiek B.V.", "van der berg logistiek",
     "B.V.", V),
    ("FERRARI N.V.", "Ferrari N.V.", "ferrari", "N.V.", V),
    ("Unilever N.V.", "Unilever N.V.", "unilever", "N.V.", V),
    # Nordic
    ("A.P. MØLLER - MÆRSK A/S", "A.P. Møller - Mærsk A/S", "ap moller maersk", "A/S", V),
    ("Novo Nordisk A/S", "Novo Nordisk A/S", "novo nordisk", "A/S", V),
    ("EQUINOR AS", "Equinor AS", "equinor", "AS", V),
    ("Equinor ASA", "Equinor ASA", "equinor", "ASA", V),
    ("Nokia Oyj", "Nokia Oyj", "nokia", "Oyj", V),
    ("AB Volvo", "AB Volvo", "volvo", "AB", V),
    ("H&M HENNES & MAURITZ AB", "H&M Hennes & Mauritz AB", "h and m hennes and mauritz", "AB", V),
    # Polish
    ("ALLEGRO.EU SP. Z O.O.", "Allegro.EU Sp. z o.o.", "allegroeu", "Sp. z o.o.", V),
    ("PKN ORLEN SPÓŁKA AKCYJNA", "PKN Orlen Spółka Akcyjna", "pkn orlen", "S.A.", V),
    ("Orlen S.A.", "Orlen S.A.", "orlen", "S.A.", V),
    # Japanese, romanized
    ("TOYOTA MOTOR CORPORATION", "Toyota Motor Corporation", "toyota motor", "Corp.", V),
    ("Nintendo Co., Ltd.", "Nintendo Co., Ltd.", "nintendo", "Co., Ltd.", V),
    ("hitachi, ltd.", "Hitachi, Ltd.", "hitachi", "Ltd", V),
    ("Kabushiki Kaisha Toshiba", "Kabushiki Kaisha Toshiba", "toshiba", "K.K.", V),
    ("Mitsubishi Corp.", "Mitsubishi Corp.", "mitsubishi", "Corp.", V),
    # Mexican
    ("GRUPO BIMBO, S.A.B. DE C.V.", "Grupo Bimbo, S.A.B. de C.V.", "grupo bimbo",
     "S.A.B. de C.V.", V),
    ("FEMSA S.A. de C.V.", "FEMSA S.A. de C.V.", "femsa", "S.A. de C.V.", V),
    # not usable as a company
    ("n/a", "n/a", None, None, X),
    ("-", "-", None, None, X),
    ("Unknown", "Unknown", None, None, X),
    ("GmbH", "GmbH", None, None, X),
    ("Self-employed", "Self-employed", None, None, S),
    ("FREELANCER", "Freelancer", None, None, S),
    ("Selbstständig", "Selbstständig", None, None, S),
    ("particulier", "Particulier", None, None, S),
    ("autónomo", "Autónomo", None, None, S),
    ("Privat", "Privat", None, None, S),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "value", "key", "legal_form", "flag"), NAMES)
def test_company_names(
    raw: str, value: str, key: str | None, legal_form: str | None, flag: Flag
) -> None:
    result = standardize_company(raw)
    assert (result.value, result.key, result.parts.get("legal_form"), result.flag) == (
        value,
        key,
        legal_form,
        flag,
    )


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_blank_name_is_missing(raw: str | None) -> None:
    assert standardize_company(raw) == Result(None, Flag.MISSING)


def test_not_a_company_is_tagged_and_never_keyed() -> None:
    result = standardize_company("Retired")
    assert result.tags == ("not_a_company",)
    assert result.key is None
    assert result.notes


@pytest.mark.parametrize(
    "group",
    [
        ["Acme Inc.", "ACME, INC", "Acme Incorporated", "acme", "The Acme Company", "Acme Corp."],
        ["Müller GmbH", "Mueller GmbH", "MÜLLER GMBH", "Müller G.m.b.H."],
        ["Van der Berg B.V.", "VAN DER BERG BV", "van der Berg b. v."],
        ["Nestlé S.A.", "NESTLE SA", "Nestle, S.A."],
        ["Johnson & Johnson", "Johnson and Johnson", "JOHNSON + JOHNSON"],
        ["Schmidt und Partner GmbH & Co. KG", "Schmidt & Partner GmbH"],
        ["Coca-Cola Co", "The Coca Cola Company"],
        ["Acme Sp. z o.o.", "ACME SP Z OO", "Acme spółka z ograniczoną odpowiedzialnością"],
    ],
)
def test_variants_share_a_key(group: list[str]) -> None:
    keys = {standardize_company(name).key for name in group}
    assert len(keys) == 1, keys


def test_umlauts_fold_to_their_transliteration() -> None:
    """ü and ue meet (how German systems without umlauts write it); plain u stays apart."""
    assert standardize_company("Müller GmbH").key == "mueller"
    assert standardize_company("Mueller GmbH").key == "mueller"
    assert standardize_company("Muller GmbH").key == "muller"


def test_holding_and_operating_company_stay_apart() -> None:
    assert standardize_company("Acme Holding GmbH").key != standardize_company("Acme GmbH").key


def test_mixed_case_is_kept_as_typed() -> None:
    assert standardize_company("ACME GmbH").value == "ACME GmbH"
    assert standardize_company("eBay Inc.").value == "eBay Inc."


# website, email, domain, flag, tags
DOMAINS: list[tuple[str | None, str | None, str | None, Flag, tuple[str, ...]]] = [
    # from the website: only "www." goes, the rest of the host stays
    ("https://www.Acme.com/about?x=1", None, "acme.com", V, ()),
    ("http://shop.acme.co.uk", None, "shop.acme.co.uk", V, ()),
    ("acme.de", None, "acme.de", V, ()),
    ("WWW.ACME.DE", None, "acme.de", V, ()),
    ("  www.acme.fr/contact  ", None, "acme.fr", V, ()),
    ("HTTPS://WWW.ACME.DE:8080/", None, "acme.de", V, ()),
    ("https://user:pw@www.acme.com:8443/x", None, "acme.com", V, ()),
    ("acme.com.", None, "acme.com", V, ()),
    ("//acme.com/x", None, "acme.com", V, ()),
    ("acme.com#top", None, "acme.com", V, ()),
    ("www2.acme.com", None, "www2.acme.com", V, ()),
    ("https://acme-gmbh.de", None, "acme-gmbh.de", V, ()),
    ("https://xn--mnchen-3ya.de", None, "münchen.de", V, ()),
    ("https://München.de/", None, "münchen.de", V, ()),
    ("acme.com", "jane@other.com", "acme.com", V, ()),
    # an email typed as website
    ("info@acme.com", None, "acme.com", C, ("website_was_email",)),
    ("mailto:info@acme.com", None, "acme.com", C, ("website_was_email",)),
    # not a host name
    ("n/a", None, "n/a", X, ()),
    ("www", None, "www", X, ()),
    ("http://", None, "http://", X, ()),
    ("localhost", None, "localhost", X, ()),
    ("http://192.168.0.1/", None, "http://192.168.0.1/", X, ()),
    ("acme .com", None, "acme .com", X, ()),
    ("n/a", "j@gmail.com", "n/a", X, ("free_mail",)),
    # doubtful websites
    ("https://www.facebook.com/acme", None, "facebook.com", S, ("platform_domain",)),
    ("gmail.com", None, "gmail.com", S, ("free_mail",)),
    ("jane@gmail.com", None, "gmail.com", S, ("free_mail",)),
    # from a work email
    (None, "jane@acme.com", "acme.com", C, ("from_email",)),
    ("", "Jane <jane@Acme.COM>", "acme.com", C, ("from_email",)),
    (None, "j@mail.acme.com", "mail.acme.com", C, ("from_email",)),
    (None, "j@www.acme.com", "acme.com", C, ("from_email",)),
    ("n/a", "jane@acme.com", "acme.com", C, ("from_email",)),
    ("https://www.facebook.com/acme", "jane@acme.com", "acme.com", C, ("from_email",)),
    # never from free mail
    (None, "jane@gmail.com", None, M, ("free_mail",)),
    (None, "jane@yahoo.co.uk", None, M, ("free_mail",)),
    (None, "x@GMX.AT", None, M, ("free_mail",)),
    (None, "x@web.de", None, M, ("free_mail",)),
    (None, "x@orange.fr", None, M, ("free_mail",)),
    (None, "x@zoho.com", None, M, ("free_mail",)),
    (None, "j@outlook.de", None, M, ("free_mail",)),
    (None, "j@live.com.mx", None, M, ("free_mail",)),
    (None, "j@proton.me", None, M, ("free_mail",)),
    # nothing usable
    (None, None, None, M, ()),
    (" ", " ", None, M, ()),
    (None, "jane", None, M, ()),
    (None, "jane@acme", None, M, ()),
]


@pytest.mark.parametrize(("website", "email", "domain", "flag", "tags"), DOMAINS)
def test_domains(
    website: str | None, email: str | None, domain: str | None, flag: Flag, tags: tuple[str, ...]
) -> None:
    result = domain_from(website=website, email=email)
    assert (result.value, result.flag, result.tags) == (domain, flag, tags)
    if flag is V:
        assert result.notes == ()
    elif flag is not M or tags:
        assert result.notes  # every change or doubt says why


def test_free_mail_can_be_replaced() -> None:
    assert domain_from(email="jane@acme.com", free_mail=frozenset({"acme.com"})).value is None
    assert domain_from(email="jane@gmail.com", free_mail=frozenset()).value == "gmail.com"


def test_free_mail_default_covers_the_big_providers() -> None:
    for domain in ("gmail.com", "yahoo.*", "hotmail.*", "gmx.*", "web.de", "qq.com"):
        assert domain in FREE_MAIL_DOMAINS


def _rows(
    names: list[str | None], sites: list[str | None], emails: list[str | None]
) -> pl.DataFrame:
    """What the column function must return, built from the row functions."""
    records = []
    for name, site, email in zip(names, sites, emails, strict=True):
        company = standardize_company(name)
        domain = domain_from(website=site, email=email)
        records.append(
            {
                "company": company.value,
                "company_flag": company.flag.value,
                "company_key": company.key,
                "legal_form": company.parts.get("legal_form"),
                "domain": domain.value,
                "domain_flag": domain.flag.value,
                "notes": [*company.notes, *domain.notes],
                "tags": [*company.tags, *domain.tags],
            }
        )
    return pl.DataFrame(records, schema=_SCHEMA)


_SCHEMA: dict[str, pl.DataType] = {
    "company": pl.Utf8(),
    "company_flag": pl.Utf8(),
    "company_key": pl.Utf8(),
    "legal_form": pl.Utf8(),
    "domain": pl.Utf8(),
    "domain_flag": pl.Utf8(),
    "notes": pl.List(pl.Utf8()),
    "tags": pl.List(pl.Utf8()),
}


def _columns(
    names: list[str | None], sites: list[str | None], emails: list[str | None]
) -> pl.DataFrame:
    return standardize_company_columns(
        pl.Series(names, dtype=pl.Utf8),
        pl.Series(sites, dtype=pl.Utf8),
        pl.Series(emails, dtype=pl.Utf8),
    )


def test_columns_equal_rows_on_the_tables() -> None:
    count = max(len(NAMES), len(DOMAINS))
    names = [NAMES[i % len(NAMES)][0] for i in range(count)] + [None, "", " "]
    sites = [DOMAINS[i % len(DOMAINS)][0] for i in range(count)] + [None, None, "acme.com"]
    emails = [DOMAINS[i % len(DOMAINS)][1] for i in range(count)] + ["a@acme.com", None, None]
    got = _columns(names, sites, emails)
    assert got.schema == pl.Schema(_SCHEMA)
    assert got.to_dicts() == _rows(names, sites, emails).to_dicts()


def test_columns_equal_rows_on_a_random_sample() -> None:
    rng = random.Random(20240611)
    name_pool = [raw for raw, *_ in NAMES] + [None, "", "Acme GmbH", "acme gmbh"]
    site_pool = [w for w, *_ in DOMAINS] + ["acme.com", "https://www.acme.de/", None, None]
    local = ["jane", "j.doe", "info", "x"]
    hosts = ["acme.com", "gmail.com", "yahoo.de", "beispiel.de", "acme", "www.acme.fr"]
    emails_pool = [e for _, e, *_ in DOMAINS] + [None, "no-at-sign", "a@b@acme.com"]
    names, sites, emails = [], [], []
    for _ in range(3000):
        names.append(rng.choice(name_pool))
        sites.append(rng.choice(site_pool))
        made = f"{rng.choice(local)}{rng.randrange(500)}@{rng.choice(hosts)}"
        emails.append(made if rng.random() < 0.6 else rng.choice(emails_pool))
    got = _columns(names, sites, emails)
    assert got.height == 3000
    assert got.to_dicts() == _rows(names, sites, emails).to_dicts()


def test_columns_accept_all_null_columns() -> None:
    nulls = pl.Series([None, None])
    got = standardize_company_columns(nulls, nulls, nulls)
    assert got["company_flag"].to_list() == ["missing", "missing"]
    assert got["domain_flag"].to_list() == ["missing", "missing"]
    assert got["notes"].to_list() == [[], []]
