"""Address standardizers: real-world spellings of countries, postcodes, regions and streets.

The column function must give exactly what the single-value functions give row by row (plus
the documented country fill-in rule), so the tables below double as its inputs.
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest

from rolodex.clean.address import (
    country_from_postcode,
    standardize_address_columns,
    standardize_country,
    standardize_postcode,
    standardize_region,
    standardize_street,
    street_key,
)
from rolodex.clean.base import Flag

V, C, X, M = Flag.VALID, Flag.CORRECTED, Flag.INVALID, Flag.MISSING  # X: invalid
Row = tuple[str | None, str | None, str | None, str | None]

# raw, value, flag, a word the notes must hold ("" for no notes)
COUNTRIES: list[tuple[str | None, str | None, Flag, str]] = [
    ("Deutschland", "DE", V, ""),
    ("Allemagne", "DE", V, ""),
    ("Alemania", "DE", V, ""),
    ("Germany", "DE", V, ""),
    ("GER", "DE", V, ""),
    ("DEU", "DE", V, ""),
    ("DE", "DE", V, ""),
    ("de", "DE", V, ""),
    (" germany. ", "DE", V, ""),
    ("U.K.", "GB", V, ""),
    ("UK", "GB", V, ""),
    ("Great Britain", "GB", V, ""),
    ("England", "GB", V, "England"),
    ("Scotland", "GB", V, "Scotland"),
    ("Wales", "GB", V, "Wales"),
    ("Northern Ireland", "GB", V, "Ireland"),
    ("USA", "US", V, ""),
    ("U.S.", "US", V, ""),
    ("U.S.A.", "US", V, ""),
    ("United States of America", "US", V, ""),
    ("États-Unis", "US", V, ""),
    ("Estados Unidos", "US", V, ""),
    ("Vereinigte Staaten", "US", V, ""),
    ("America", "US", V, ""),
    ("Nederland", "NL", V, ""),
    ("Holland", "NL", V, ""),
    ("The Netherlands", "NL", V, ""),
    ("Pays-Bas", "NL", V, ""),
    ("Niederlande", "NL", V, ""),
    ("Países Bajos", "NL", V, ""),
    ("España", "ES", V, ""),
    ("Spanien", "ES", V, ""),
    ("Espagne", "ES", V, ""),
    ("Frankreich", "FR", V, ""),
    ("Francia", "FR", V, ""),
    ("Italia", "IT", V, ""),
    ("Italien", "IT", V, ""),
    ("Schweiz", "CH", V, ""),
    ("Suisse", "CH", V, ""),
    ("Svizzera", "CH", V, ""),
    ("Österreich", "AT", V, ""),
    ("Oesterreich", "AT", V, ""),
    ("Belgique", "BE", V, ""),
    ("België", "BE", V, ""),
    ("Россия", "RU", V, ""),
    ("Russia", "RU", V, ""),
    ("中国", "CN", V, ""),
    ("日本", "JP", V, ""),
    ("Polska", "PL", V, ""),
    ("Sverige", "SE", V, ""),
    ("Ελλάδα", "GR", V, ""),
    ("Brasil", "BR", V, ""),
    ("México", "MX", V, ""),
    ("Neuseeland", "NZ", V, ""),
    ("Korea", "KR", V, ""),
    ("Czech Republic", "CZ", V, ""),
    ("Turkey", "TR", V, ""),
    ("Ivory Coast", "CI", V, ""),
    ("Germnay", "DE", C, "misspelling"),
    ("Untied States", "US", C, "misspelling"),
    ("Swizerland", "CH", C, "misspelling"),
    ("Frnace", "FR", C, "misspelling"),
    ("Itlay", "IT", C, "misspelling"),
    ("Nethrlands", "NL", C, "misspelling"),
    ("Austrlia", "Austrlia", X, "unknown"),  # Australia or Austria: no guess
    ("Atlantis", "Atlantis", X, "unknown"),
    ("xx", "xx", X, "unknown"),
    ("N/A", None, M, "placeholder"),
    ("", None, M, ""),
    (None, None, M, ""),
]


@pytest.mark.parametrize(("raw", "value", "flag", "word"), COUNTRIES)
def test_standardize_country(raw: str | None, value: str | None, flag: Flag, word: str) -> None:
    result = standardize_country(raw)
    assert (result.value, result.flag) == (value, flag)
    if word:
        assert word in " ".join(result.notes)
    else:
        assert result.notes == ()


def test_country_name_part() -> None:
    assert standardize_country("Allemagne").parts["name"] == "Germany"
    assert standardize_country("U.K.").parts["name"] == "United Kingdom"


# raw, country, value, flag, a word the notes must hold
POSTCODES: list[tuple[str | None, str | None, str | None, Flag, str]] = [
    ("02153", "US", "02153", V, ""),
    ("2153", "US", "02153", C, "zero"),
    ("02153-1234", "US", "02153-1234", V, ""),
    ("021531234", "US", "02153-1234", V, ""),
    ("123", "US", "123", X, "US"),
    ("sw1a1aa", "GB", "SW1A 1AA", V, ""),
    ("EC1A 1BB", "GB", "EC1A 1BB", V, ""),
    ("m1 1ae", "GB", "M1 1AE", V, ""),
    ("DN55 1PT", "GB", "DN55 1PT", V, ""),
    ("QA1 1AA", "GB", "QA1 1AA", X, "GB"),
    ("80331", "DE", "80331", V, ""),
    ("D-80331", "DE", "80331", V, ""),
    ("1067", "DE", "01067", C, "zero"),
    ("803311", "DE", "803311", X, "DE"),
    ("75001", "FR", "75001", V, ""),
    ("6000", "FR", "06000", C, "zero"),
    ("28013", "ES", "28013", V, ""),
    ("8001", "ES", "08001", C, "zero"),
    ("53001", "ES", "53001", X, "ES"),
    ("K1A0B1", "CA", "K1A 0B1", V, ""),
    ("h2x 1y4", "CA", "H2X 1Y4", V, ""),
    ("D1A 0B1", "CA", "D1A 0B1", X, "CA"),
    ("1234AB", "NL", "1234 AB", V, ""),
    ("1012 js", "NL", "1012 JS", V, ""),
    ("1234 SA", "NL", "1234 SA", X, "NL"),
    ("00184", "IT", "00184", V, ""),
    ("184", "IT", "00184", C, "zeros"),
    ("2000", "AU", "2000", V, ""),
    ("800", "AU", "0800", C, "zero"),
    ("1000", "BE", "1000", V, ""),
    ("A-1010", "AT", "1010", V, ""),
    ("CH-8001", "CH", "8001", V, ""),
    ("2100", "DK", "2100", V, ""),
    ("0150", "NO", "0150", V, ""),
    ("11455", "SE", "114 55", V, ""),
    ("00950", "PL", "00-950", V, ""),
    ("1000-001", "PT", "1000-001", V, ""),
    ("d02x285", "IE", "D02 X285", V, ""),
    ("1000001", "JP", "100-0001", V, ""),
    ("〒100-0001", "JP", "100-0001", V, ""),
    (" 01310-100 ", "BR", "01310-100", V, ""),
    ("12345", None, "12345", V, ""),
    ("  ", "US", None, M, ""),
    (None, "DE", None, M, ""),
]


@pytest.mark.parametrize(("raw", "country", "value", "flag", "word"), POSTCODES)
def test_standardize_postcode(
    raw: str | None, country: str | None, value: str | None, flag: Flag, word: str
) -> None:
    result = standardize_postcode(raw, country=country)
    assert (result.value, result.flag) == (value, flag)
    if word:
        assert word in " ".join(result.notes)
    else:
        assert result.notes == ()


def test_postcode_without_rule_is_unchecked() -> None:
    assert standardize_postcode("12345", country="BR").tags == ("unchecked",)
    assert standardize_postcode("12345", country=None).tags == ("unchecked",)
    assert standardize_postcode("12345", country="US").tags == ()


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("SW1A 1AA", "GB"),
        ("sw1a1aa", "GB"),
        ("M1 1AE", "GB"),
        ("K1A 0B1", "CA"),
        ("1234 AB", "NL"),
        ("1234ab", "NL"),
        ("D02 X285", "IE"),
        ("00-950", "PL"),
        ("1000-001", "PT"),
        ("100-0001", "JP"),
        ("12345", None),
        ("2153", None),
        ("02153-1234", None),
        ("1234 SA", None),
        ("", None),
        (None, None),
    ],
)
def test_country_from_postcode(raw: str | None, country: str | None) -> None:
    assert country_from_postcode(raw) == country


# raw, country, value, flag, a word the notes must hold
REGIONS: list[tuple[str | None, str | None, str | None, Flag, str]] = [
    ("California", "US", "CA", V, ""),
    ("calif.", "US", "CA", V, ""),
    ("CA", "US", "CA", V, ""),
    ("US-CA", "US", "CA", V, ""),
    ("N.Y.", "US", "NY", V, ""),
    ("Washington, D.C.", "US", "DC", V, ""),
    ("Puerto Rico", "US", "PR", V, ""),
    ("Tex.", "US", "TX", V, ""),
    ("Narnia", "US", "Narnia", X, "US"),
    ("Ontario", "CA", "ON", V, ""),
    ("Québec", "CA", "QC", V, ""),
    ("Colombie-Britannique", "CA", "BC", V, ""),
    ("NSW", "AU", "NSW", V, ""),
    ("Victoria", "AU", "VIC", V, ""),
    ("Bayern", "DE", "BY", V, ""),
    ("Bavaria", "DE", "BY", V, ""),
    ("Baden-Wuerttemberg", "DE", "BW", V, ""),
    ("NRW", "DE", "NW", V, ""),
    ("Thüringen", "DE", "TH", V, ""),
    ("Madrid", "ES", "M", V, ""),
    ("Comunidad de Madrid", "ES", "MD", V, ""),
    ("Cataluña", "ES", "CT", V, ""),
    ("Catalonia", "ES", "CT", V, ""),
    ("Barcelona", "ES", "B", V, ""),
    ("Lombardia", "IT", "25", V, ""),
    ("Lombardy", "IT", "25", V, ""),
    ("Milano", "IT", "MI", V, ""),
    ("Noord-Holland", "NL", "NH", V, ""),
    ("North Holland", "NL", "NH", V, ""),
    ("Friesland", "NL", "FR", V, ""),
    ("Zürich", "CH", "ZH", V, ""),
    ("Genf", "CH", "GE", V, ""),
    ("Geneva", "CH", "GE", V, ""),
    ("Wien", "AT", "9", V, ""),
    ("Vienna", "AT", "9", V, ""),
    ("Niederösterreich", "AT", "3", V, ""),
    ("Île-de-France", "FR", "IDF", V, ""),
    ("Ile de France", "FR", "IDF", V, ""),
    ("Brittany", "FR", "BRE", V, ""),
    ("Bayern", None, "Bayern", V, ""),
    ("Somewhere", "XX", "Somewhere", V, ""),
    ("Somewhere", "BR", "Somewhere", X, "BR"),
    ("", "US", None, M, ""),
]


@pytest.mark.parametrize(("raw", "country", "value", "flag", "word"), REGIONS)
def test_standardize_region(
    raw: str | None, country: str | None, value: str | None, flag: Flag, word: str
) -> None:
    result = standardize_region(raw, country=country)
    assert (result.value, result.flag) == (value, flag)
    if word:
        assert word in " ".join(result.notes)
    else:
        assert result.notes == ()


def test_region_without_data_is_unchecked() -> None:
    assert standardize_region("Bayern", country=None).tags == ("unchecked",)
    assert standardize_region("Bayern", country="DE").parts["name"] == "Bayern"


STREETS: list[tuple[str | None, str | None]] = [
    ("123 Main Street", "123 main st"),
    ("123 Main St.", "123 main st"),
    ("Hauptstraße 5", "hauptstr 5"),
    ("Hauptstr. 5", "hauptstr 5"),
    ("Hauptstrasse 5", "hauptstr 5"),
    ("Berliner Straße 12a", "berliner str 12a"),
    ("Berliner Str. 12a", "berliner str 12a"),
    ("Marienplatz 1", "marienpl 1"),
    ("Marienpl. 1", "marienpl 1"),
    ("Rue de la Paix 10", "rue de la paix 10"),
    ("10, rue de la Paix", "10 rue de la paix"),
    ("Avenue des Champs-Élysées 1", "ave des champs elysees 1"),
    ("12 Bd Haussmann", "12 blvd haussmann"),
    ("12 Boulevard Haussmann", "12 blvd haussmann"),
    ("C/ Mayor 5", "calle mayor 5"),
    ("Calle Mayor 5", "calle mayor 5"),
    ("Avda. de la Constitución 3", "ave de la constitucion 3"),
    ("Avenida de la Constitución 3", "ave de la constitucion 3"),
    ("Av. Paulista 1000", "ave paulista 1000"),
    ("Kalverstraat 1", "kalverstr 1"),
    ("Kalverstr. 1", "kalverstr 1"),
    ("Laan van Meerdervoort 5", "laan van meerdervoort 5"),
    ("Via Roma 1", "via roma 1"),
    ("V.le Monza 2", "viale monza 2"),
    ("P.za Duomo 1", "piazza duomo 1"),
    ("Piazza Duomo 1", "piazza duomo 1"),
    ("500 N. Michigan Ave., Suite 200", "500 n michigan ave ste 200"),
    ("500 North Michigan Avenue Ste 200", "500 n michigan ave ste 200"),
    ("1 Infinite Loop Apt #5", "1 infinite loop apt 5"),
    ("1 Infinite Loop #5", "1 infinite loop apt 5"),
    ("1 Infinite Loop Apartment 5", "1 infinite loop apt 5"),
    ("1600 Pennsylvania Ave NW", "1600 pennsylvania ave nw"),
    ("1600 Pennsylvania Avenue Northwest", "1600 pennsylvania ave nw"),
    ("42 Sunset Blvd.", "42 sunset blvd"),
    ("9 Elm Rd", "9 elm rd"),
    ("9 Elm Road", "9 elm rd"),
    ("O'Connell Street", "oconnell st"),
    ("  Königsallee   92 ", "konigsallee 92"),
    ("ul. Marszałkowska 1", "ul marszalkowska 1"),
    ("---", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "key"), STREETS)
def test_street_key(raw: str | None, key: str | None) -> None:
    assert street_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "value", "flag"),
    [
        ("  Hauptstraße   5 ", "Hauptstraße 5", V),
        ("123 Main St.", "123 Main St.", V),
        ("---", "---", X),
        ("   ", None, M),
        (None, None, M),
    ],
)
def test_standardize_street(raw: str | None, value: str | None, flag: Flag) -> None:
    result = standardize_street(raw)
    assert (result.value, result.flag) == (value, flag)
    assert result.key == (street_key(value) if flag is V else None)


# --------------------------------------------------------------------------------------------
# Column function against the single-value functions
# --------------------------------------------------------------------------------------------


def _row(
    street: str | None,
    postcode: str | None,
    region: str | None,
    country: str | None,
    *,
    default: str | None,
) -> dict[str, Any]:
    """What `standardize_address_columns` must give for one row, from the pure functions."""
    c = standardize_country(country)
    inferred = country_from_postcode(postcode)
    used = c.value if c.flag in (V, C) else (inferred or default)
    country_value, country_flag, country_notes = c.value, c.flag.value, list(c.notes)
    if c.flag is M and inferred:
        country_value, country_flag = inferred, C.value
        country_notes.append(f"country {inferred} taken from the postcode format")
    elif c.flag is M and default:
        country_value, country_flag = default, C.value
        country_notes.append(f"country {default} taken from the default country")
    p = standardize_postcode(postcode, country=used)
    r = standardize_region(region, country=used)
    s = standardize_street(street)
    return {
        "country": country_value,
        "country_flag": country_flag,
        "postcode": p.value,
        "postcode_flag": p.flag.value,
        "region": r.value,
        "region_flag": r.flag.value,
        "street": s.value,
        "street_flag": s.flag.value,
        "street_key": s.key,
        "notes": [*country_notes, *p.notes, *r.notes, *s.notes],
    }


def _check(rows: list[Row], default: str | None) -> None:
    street, postcode, region, country = (list(col) for col in zip(*rows, strict=True))
    got = standardize_address_columns(
        pl.Series(street, dtype=pl.Utf8),
        pl.Series(postcode, dtype=pl.Utf8),
        pl.Series(region, dtype=pl.Utf8),
        pl.Series(country, dtype=pl.Utf8),
        default_country=default,
    )
    expected = [_row(*row, default=default) for row in rows]
    assert got.to_dicts() == expected


def _table_rows() -> list[Row]:
    """Every table input as an address row, the tables of unequal length cycled."""
    n = max(len(COUNTRIES), len(POSTCODES), len(REGIONS), len(STREETS))
    return (
        [
            (
                STREETS[i % len(STREETS)][0],
                POSTCODES[i % len(POSTCODES)][0],
                REGIONS[i % len(REGIONS)][0],
                COUNTRIES[i % len(COUNTRIES)][0],
            )
            for i in range(n)
        ]
        + [
            # the contexts of the postcode and region tables, as the country column
            (None, raw, None, country)
            for raw, country, *_ in POSTCODES
        ]
        + [(None, None, raw, country) for raw, country, *_ in REGIONS]
    )


@pytest.mark.parametrize("default", [None, "DE"])
def test_columns_equal_rows_on_tables(default: str | None) -> None:
    _check(_table_rows(), default)


def test_columns_fill_country_from_postcode_and_default() -> None:
    got = standardize_address_columns(
        pl.Series(["Kalverstraat 1", "Hauptstr. 5", "Via Roma 1"]),
        pl.Series(["1012 jS", "8033", "00184"]),
        pl.Series([None, "Bavaria", "Lazio"]),
        pl.Series([None, None, "Italia"]),
        default_country="DE",
    )
    assert got["country"].to_list() == ["NL", "DE", "IT"]
    assert got["country_flag"].to_list() == ["corrected", "corrected", "valid"]
    assert got["postcode"].to_list() == ["1012 JS", "08033", "00184"]
    assert got["region"].to_list() == [None, "BY", "62"]
    assert "postcode" in got["notes"][0][0]
    assert "default" in got["notes"][1][0]


def _random_rows(n: int, seed: int) -> list[Row]:
    """Seeded random addresses mixing the table values with made-up ones."""
    rng = random.Random(seed)
    countries = [c for c, *_ in COUNTRIES] + ["US", "de", "United Kingdom", "France", None]
    postcodes = [p for p, *_ in POSTCODES]
    regions = [r for r, *_ in REGIONS]
    kinds = ["Street", "St.", "Straße", "str.", "Avenue", "Ave", "Rd", "Rue", "Calle", "#4"]
    names = ["Main", "Haupt", "Oak", "de la Paix", "Mayor", "Élysées", "Roma", "Kalver"]
    rows: list[Row] = []
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([3, 4, 5, 7, 9])))
        postcode = rng.choice([*postcodes, digits, digits[:4] + " " + digits[4:], None])
        street = rng.choice(
            [
                f"{rng.randint(1, 999)} {rng.choice(names)} {rng.choice(kinds)}",
                f"{rng.choice(names)}{rng.choice(['straße', 'strasse', 'straat', 'platz'])} "
                f"{rng.randint(1, 99)}",
                rng.choice(STREETS)[0],
                None,
                "  ",
            ]
        )
        rows.append((street, postcode, rng.choice(regions), rng.choice(countries)))
    return rows


@pytest.mark.parametrize("default", [None, "US"])
def test_columns_equal_rows_on_random_sample(default: str | None) -> None:
    _check(_random_rows(3000, seed=20240611), default)


def test_columns_same_across_calls_and_chunks() -> None:
    """Results kept from earlier calls (any chunk, any default) change nothing."""
    rows = _random_rows(600, seed=7) + _table_rows()
    street, postcode, region, country = (
        pl.Series(list(col), dtype=pl.Utf8) for col in zip(*rows, strict=True)
    )
    whole = standardize_address_columns(street, postcode, region, country, default_country="US")
    for default in (None, "US", "DE"):
        standardize_address_columns(street, postcode, region, country, default_country=default)
    parts = [
        standardize_address_columns(
            *(s.slice(start, 250) for s in (street, postcode, region, country)),
            default_country="US",
        )
        for start in range(0, len(rows), 250)
    ]
    assert pl.concat(parts).equals(whole)
    empty = pl.Series([], dtype=pl.Utf8)
    assert standardize_address_columns(empty, empty, empty, empty).height == 0


@pytest.mark.parametrize(
    ("raw", "code"), [("D", "DE"), ("A", "AT"), ("F", "FR"), ("I", "IT"), ("E", "ES"), ("s", "SE")]
)
def test_one_letter_vehicle_codes_read_as_countries(raw: str, code: str) -> None:
    result = standardize_country(raw)
    assert result.value == code
    assert result.flag is Flag.CORRECTED
    assert "vehicle code" in result.notes[0]
