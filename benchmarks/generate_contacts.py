"""Generate a large, messy contacts CSV for import and cleaning benchmarks.

    python benchmarks/generate_contacts.py --rows 1000000 --out benchmarks/out/contacts_1m.csv \
        [--seed 7] [--encoding utf-8|utf-8-sig|cp1252|utf-16] [--gzip] [--mixed-encodings]

The file looks like a CRM export that several people have had their hands on: a hand-made
header, names in any case with stray spaces and "Last, First" in the first-name column,
phone numbers in nine countries' styles, emails with capitals, +tags and the odd two
addresses in one cell, dates as ISO, US, European, Excel serials and nonsense, amounts with
currency signs and decimal commas, quoted fields with commas and line breaks, non-ASCII names
(Jürgen Müller, José Núñez, Łukasz, Zoë).

On top of that content, a small controlled share of rows is structurally broken (ragged
rows, empty or repeated Customer IDs, NUL bytes), and the generator reports exactly how many
of each it wrote, so a benchmark can check that the importer accounted for every row:
rows = accepted + quarantined, distinct ids = rows - missing_id - duplicate_id.

Speed and memory: values come from pools built once (random.choices over precomputed,
already CSV-escaped values, so writing a row is one join), rows are drawn in fixed-size
chunks, each from its own seeded generator, and written as soon as they are drawn. Memory
stays flat at any size; the same seed and size give byte-identical files; and the first N
rows of a bigger file are the rows of an N-row file (same seed and rates), because a chunk
does not depend on how many rows follow it.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import gzip
import io
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from rolodex.sample.generate import (
    CITY_EXONYMS,
    COUNTRIES,
    JOB_TITLES,
    CountryVocabulary,
    Phone,
    email_slug,
    fill_digits,
    format_phone,
    strip_accents,
    transliterate_german,
)

HEADER = (
    "Customer ID,First Name,Last Name,E-Mail,Phone Number,Mobile,Company,Job Title,"
    "Street Address,City,State/Region,Zip/Postal Code,Country,Date of Birth,Created Date,"
    "Lifecycle Stage,Loyalty Tier,Lifetime Value,Notes"
).split(",")
ID, LAST, COMPANY = 0, 2, 6  # columns the deliberate problems touch (as split by _fields)

CHUNK_ROWS = 10_000  # rows per seeded chunk; fixed, so a prefix of a big file is a small file
FIRST_ID = 100_001
PEOPLE_PER_COUNTRY = 6_000  # name + email-pattern combinations drawn from per country
# Share of rows per country (a US-heavy CRM with European and Commonwealth customers).
COUNTRY_WEIGHTS = {
    "US": 30,
    "DE": 16,
    "GB": 14,
    "FR": 10,
    "ES": 8,
    "IT": 7,
    "NL": 6,
    "CA": 5,
    "AU": 4,
}

PAIRED_POOL = 20_000  # size of pools that pair two independent columns
T = TypeVar("T")
U = TypeVar("U")
Row = Sequence[str]  # CSV-escaped fields; a tuple until something has to change in it


def _flat(weighted: Iterable[tuple[T, int]]) -> list[T]:
    """Repeat each value by its weight, so unweighted (fast) random.choices respects weights."""
    return [value for value, weight in weighted for _ in range(weight)]


def escape(value: str) -> str:
    """Quote a field the way csv.writer's QUOTE_MINIMAL does."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _joined(*values: str) -> str:
    """Fields as one CSV fragment."""
    return ",".join(escape(v) for v in values)


def unescape(field: str) -> str:
    """Undo `escape`."""
    if field.startswith('"') and field.endswith('"') and len(field) > 1:
        return field[1:-1].replace('""', '"')
    return field


# =============================================================================== tables

EMAIL_PATTERNS: tuple[tuple[str, int], ...] = (
    ("{f}.{l}{n}@{d}", 300), ("{f}{l}{n}@{d}", 100), ("{i}{l}{n}@{d}", 100),
    ("{f}_{l}{n}@{d}", 50), ("{l}.{f}{n}@{d}", 40), ("{F}.{L}{n}@{d}", 40),
    ("{f}.{l}{n}+shop@{d}", 15), ("{f}.{l}+news{n}@{d}", 10), (" {f}.{l}{n}@{d} ", 10),
    ("{F}{L}{n}@{d}", 10), ("", 50), ("{f}.{l}{n}@", 3), ("{f}.{l}{n}(at){d}", 2),
    ("n/a", 2), ("{f}.{l}{n}@{d}; {i}{l}@work.example.com", 3),
)  # fmt: skip
STAGES: tuple[tuple[str, int], ...] = (
    ("Lead", 20), ("lead", 5), ("Customer", 25), ("customer ", 3), ("CUSTOMER", 2),
    ("Subscriber", 15), ("Marketing Qualified Lead", 8), ("MQL", 3), ("Opportunity", 5),
    ("Evangelist", 1), ("Other", 2), ("", 11),
)  # fmt: skip
TIERS: tuple[tuple[str, int], ...] = (
    ("", 40), ("Bronze", 20), ("Silver", 15), ("Gold", 10), ("Platinum", 3), ("gold", 2),
    ("SILVER", 2), ("none", 3), ("N/A", 2), ("Gold ", 1), ("2", 2),
)  # fmt: skip
NOTES: tuple[tuple[str, int], ...] = (
    ("", 750), ("Met at trade show", 20), ("Prefers email, no calls", 20),
    ("Called 3x, no answer", 15), ('Said "call me later"', 10),
    ("Interested in premium plan, budget Q3", 10), ("Address changed\nNew address to follow", 8),
    ("Kunde möchte Rückruf", 8), ("Client très intéressé, relancer en mars", 8),
    ("Llamar después de las 17h", 6), ("Customer since 2019; VIP, handle with care", 8),
    ("Line 1\nLine 2\nLine 3", 3), ("Duplicate? see other record", 5), ("N/A", 10),
    ("😀 loves the product", 2),
)  # fmt: skip
CURRENCY_SIGNS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$", "AUD": "A$"}


# =============================================================================== pools


@dataclass(frozen=True)
class _CountryPools:
    """Precomputed, CSV-escaped values of one country; rows pick from these.

    Columns that need no per-row logic are pooled as pre-joined fragments of several
    fields ("Company,Job Title"), so a row costs a handful of draws instead of nineteen.
    What must be unique per row (id, email, the last digits of phone numbers) is added when
    the row is drawn.
    """

    people: list[tuple[str, str]]  # ("First Name,Last Name", email %-template of (n, domain))
    email_domains: list[str]
    # (phone, mobile), each as (number without its last digits, how many digits to add)
    phones: list[tuple[tuple[str, int], tuple[str, int]]]
    places: list[str]  # Company,Job Title,Street Address,City,State/Region,Zip/Postal Code
    rest: list[str]  # Country,Date of Birth,Created Date,Lifecycle Stage,Loyalty Tier,...


@dataclass(frozen=True)
class _Shared:
    """Country-independent values the country pools draw from."""

    created: list[str]
    stages: list[str]
    tiers: list[str]
    notes: list[str]


def _name_fields(rng: random.Random, first: str, last: str) -> str:
    """First and last name as two fields, now and then the way hand-made sheets have them."""
    roll = rng.random()
    if roll < 0.015:
        return _joined(f"{last.strip()}, {first.strip()}", "")
    if roll < 0.022:
        return _joined(f"{first.strip()} {last.strip()}", "")
    if roll < 0.03:
        return _joined(last, first)
    return _joined(first, last)


def _people(rng: random.Random, vocab: CountryVocabulary) -> list[tuple[str, str]]:
    """Name pairs with case and spacing mess, each with an email template built from it."""
    german = vocab.code == "DE"
    fold = transliterate_german if german else strip_accents

    def spellings(names: Sequence[str]) -> list[tuple[str, str]]:
        """Each name as written (mess weighted in), with its email slug."""
        out = []
        for name in names:
            variants = [
                (name, 60), (name.upper(), 2), (name.lower(), 2), (f" {name}", 1),
                (f"{name} ", 1), (f"{name}  ", 1), (fold(name), 2 if fold(name) != name else 0),
            ]  # fmt: skip
            slug = email_slug(name, german=german) or "x"
            out += [(written, slug) for written in _flat(variants)]
        return out

    firsts = spellings(vocab.female_names + vocab.male_names)
    lasts = spellings(vocab.last_names)
    patterns = _flat(EMAIL_PATTERNS)
    people = []
    for _ in range(PEOPLE_PER_COUNTRY):
        (first, f), (last, la) = rng.choice(firsts), rng.choice(lasts)
        # %.0s swallows an argument a pattern does not use, so every template takes (n, d).
        email = rng.choice(patterns).replace("{n}", "%d").replace("{d}", "%s")
        email += "%.0s" * (2 - email.count("%"))
        email = email.format(f=f, l=la, F=f.capitalize(), L=la.capitalize(), i=f[0])
        people.append((_name_fields(rng, first, last), email))
    return people


def _phone_prefixes(
    rng: random.Random, vocab: CountryVocabulary, areas: Sequence[str], length: int, missing: int
) -> list[tuple[str, int]]:
    """Numbers in the country's styles, cut before their last digits; `missing`% blanks.

    Rows append fresh digits to a drawn prefix, so numbers are practically unique without
    formatting each one from scratch.
    """
    prefixes = []
    for rank, style in enumerate(vocab.phone_styles):
        weight = max(1, 8 - 2 * rank)  # the country's usual styles first
        for area in areas:
            for _ in range(weight * 4):
                width = length - len(area)
                digits = f"{rng.randrange(10**width):0{width}d}"
                number = format_phone(
                    Phone(vocab.calling_code, vocab.trunk_prefix, area, digits), style
                )
                tail = len(number) - len(number.rstrip("0123456789"))
                cut = min(tail, 4)
                prefixes.append((escape(number[: len(number) - cut]), cut))
    prefixes += [("", 0)] * (len(prefixes) * missing // (100 - missing))
    rng.shuffle(prefixes)
    return prefixes


def _birth_date(rng: random.Random, day: date, vocab: CountryVocabulary) -> str:
    """A birth date the way this country's people and tools write it, mess included."""
    sep = vocab.date_separator
    local = {
        "MDY": f"{day.month:02d}{sep}{day.day:02d}{sep}{day.year}",
        "DMY": f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}",
        "YMD": f"{day.year}{sep}{day.month:02d}{sep}{day.day:02d}",
    }[vocab.date_order]
    kind = rng.choices(
        ("iso", "local", "foreign", "short", "excel", "blank", "bad", "time"),
        (35, 35, 8, 4, 3, 12, 2, 1),
    )[0]
    if kind == "iso":
        return day.isoformat()
    if kind == "local":
        return local
    if kind == "foreign":  # the other side of the Atlantic's order
        return (
            f"{day.month}/{day.day}/{day.year}" if vocab.date_order != "MDY" else f"{day:%d.%m.%Y}"
        )
    if kind == "short":
        return f"{day.month}/{day.day}/{day.year % 100:02d}"
    if kind == "excel":
        return str((day - date(1899, 12, 30)).days)
    if kind == "bad":
        return rng.choice(("31/02/1990", "N/A", "00.00.0000", "1985-13-01", "unknown", "?"))
    if kind == "time":
        return f"{day.isoformat()} 00:00:00"
    return ""


def _created(rng: random.Random, moment: datetime) -> str:
    """A record creation time in one of the formats CRM exports use."""
    kind = rng.choices(
        ("iso_z", "iso", "us", "de", "date", "text", "epoch", "excel", "blank"),
        (30, 25, 15, 10, 10, 3, 2, 2, 3),
    )[0]
    if kind == "iso_z":
        return f"{moment:%Y-%m-%dT%H:%M:%SZ}"
    if kind == "iso":
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    if kind == "us":
        return f"{moment.month}/{moment.day}/{moment.year} {moment:%I:%M %p}"
    if kind == "de":
        return f"{moment:%d.%m.%Y %H:%M}"
    if kind == "date":
        return f"{moment:%Y-%m-%d}"
    if kind == "text":
        return f"{moment.day} {moment:%b %Y}"
    if kind == "epoch":
        return str(int((moment - datetime(1970, 1, 1)).total_seconds()))
    if kind == "excel":
        return f"{(moment - datetime(1899, 12, 30)).total_seconds() / 86400:.2f}"
    return ""


def _amount(rng: random.Random, vocab: CountryVocabulary) -> str:
    """A lifetime value: plain, thousands separators, currency signs, N/A, a refund."""
    sign = CURRENCY_SIGNS[vocab.currency]
    amount = round(rng.lognormvariate(5.0, 1.2), 2)
    decimal_comma = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return rng.choices(
        (f"{amount:.2f}", f"{amount:,.2f}", f"{sign}{amount:,.2f}", f"{decimal_comma} {sign}",
         f"{amount:.1f}", "0", "", "N/A", "-", f"-{amount / 10:.2f}"),
        (30, 15, 15, 10 if vocab.currency == "EUR" else 2, 5, 5, 12, 2, 2, 1),
    )[0]  # fmt: skip


def _address(rng: random.Random, vocab: CountryVocabulary) -> str:
    """Street, city, region and postcode, each as messy as exports make them."""
    city = rng.choice(vocab.cities)
    number = rng.randint(1, 240)
    street = vocab.street_format.format(number=number, street=rng.choice(vocab.streets))
    roll = rng.random()
    if roll < 0.08:
        street = f"{fill_digits(rng, rng.choice(vocab.second_lines))}, {street}"
    elif roll < 0.085:
        street = f"{street}\n{fill_digits(rng, rng.choice(vocab.second_lines))}"
    name = CITY_EXONYMS.get(city.name, city.name) if rng.random() < 0.1 else city.name
    name = rng.choices((name, name.upper(), name.lower(), f"{name} "), (94, 3, 2, 1))[0]
    region = rng.choices((city.region_code, city.region_name, ""), (50, 30, 20))[0]
    postcode = fill_digits(rng, city.postcode)
    if postcode.startswith("0") and rng.random() < 0.15:
        postcode = postcode.lstrip("0")  # an Excel round trip ate the leading zero
    if rng.random() < 0.02:
        postcode = ""
    return _joined(street, name, region, postcode)


def _fragments(rng: random.Random, count: int, *columns: Sequence[str]) -> list[str]:
    """`count` fragments, each one random value per column joined as CSV fields."""
    drawn = [rng.choices([escape(value) for value in column], k=count) for column in columns]
    return [",".join(values) for values in zip(*drawn, strict=True)]


def _pairs(rng: random.Random, left: Sequence[T], right: Sequence[U]) -> list[tuple[T, U]]:
    """PAIRED_POOL random pairings of two pools, so rows draw both with one choice."""
    return list(
        zip(rng.choices(left, k=PAIRED_POOL), rng.choices(right, k=PAIRED_POOL), strict=True)
    )


def _country_pools(rng: random.Random, vocab: CountryVocabulary, shared: _Shared) -> _CountryPools:
    """Build one country's pools."""
    domains = vocab.email_domains
    companies = _flat(
        [(c, 1) for c in [*vocab.companies, *(c.upper() for c in vocab.companies[:2])]]
        + [("", len(vocab.companies) + 2)]
    )
    titles = _flat([(t, 1) for t in JOB_TITLES + vocab.job_titles] + [("", 20)])
    spellings = _flat([(vocab.spellings[0], 12), *((s, 2) for s in vocab.spellings[1:]), ("", 1)])
    start = date(1940, 1, 1)
    return _CountryPools(
        people=_people(rng, vocab),
        email_domains=_flat(
            [(d, 2 * (len(domains) - i)) for i, d in enumerate(domains)]
            + [(domains[0].upper(), 1), (domains[0].capitalize(), 1)]
        ),
        phones=_pairs(
            rng,
            _phone_prefixes(
                rng, vocab, [c.area_code for c in vocab.cities], vocab.national_length, missing=40
            ),
            _phone_prefixes(rng, vocab, vocab.mobile_prefixes, vocab.mobile_length, missing=25),
        ),
        places=[
            f"{work},{address}"
            for work, address in _pairs(
                rng,
                _fragments(rng, 2000, companies, titles),
                [_address(rng, vocab) for _ in range(2000)],
            )
        ],
        rest=_fragments(
            rng,
            20_000,
            spellings,
            [
                _birth_date(rng, start + timedelta(days=rng.randrange(24_000)), vocab)
                for _ in range(4000)
            ],
            shared.created,
            shared.stages,
            shared.tiers,
            [_amount(rng, vocab) for _ in range(2000)],
            shared.notes,
        ),
    )


def build_pools(seed: int) -> dict[str, _CountryPools]:
    """Build every pool once; a fraction of a second, after which rows are cheap."""
    rng = random.Random(f"{seed}:pools")
    start = datetime(2015, 1, 1)
    span = int((datetime(2025, 6, 1) - start).total_seconds())
    shared = _Shared(
        created=[
            _created(rng, start + timedelta(seconds=rng.randrange(span))) for _ in range(5000)
        ],
        stages=_flat(STAGES),
        tiers=_flat(TIERS),
        notes=_flat(NOTES),
    )
    return {code: _country_pools(rng, COUNTRIES[code], shared) for code in COUNTRY_WEIGHTS}


# =============================================================================== drawing rows


_HEX_TO_DIGITS = str.maketrans("abcdef", "012345")


def _country_rows(rng: random.Random, country: _CountryPools, numbers: list[int]) -> list[Row]:
    """Rows for the given global row numbers, all in one country, drawn column by column."""
    k = len(numbers)
    if k == 0:
        return []
    choices = rng.choices
    names, templates = zip(*choices(country.people, k=k), strict=True)
    domains = choices(country.email_domains, k=k)
    emails = [t % nd for t, nd in zip(templates, zip(numbers, domains, strict=True), strict=True)]
    numbers_drawn = choices(country.phones, k=k)
    # Fresh last digits for every number: 4 for the phone, 4 for the mobile.
    digits = rng.randbytes(4 * k).hex().translate(_HEX_TO_DIGITS)
    quads = [digits[i : i + 4] for i in range(0, 8 * k, 4)]
    phones = [p + q[:n] for ((p, n), _), q in zip(numbers_drawn, quads[::2], strict=True)]
    mobiles = [p + q[:n] for (_, (p, n)), q in zip(numbers_drawn, quads[1::2], strict=True)]
    columns = (  # in HEADER order; all but the id, email and phones are multi-field fragments
        [str(FIRST_ID + n) for n in numbers],
        names,
        emails,
        phones,
        mobiles,
        choices(country.places, k=k),
        choices(country.rest, k=k),
    )
    return list(zip(*columns, strict=True))


def _fields(row: Row) -> list[str]:
    """Split a row's fragments into one escaped field per column (for the rare rows edited)."""
    return [escape(value) for value in next(csv.reader([",".join(row)]))]


@dataclass(frozen=True)
class DirtRates:
    """Share of rows (0..1) with each structural problem; a row gets at most one."""

    ragged: float = 0.002  # half one field too many (an unquoted comma), half fields missing
    missing_id: float = 0.001
    duplicate_id: float = 0.0015  # repeats the id of an earlier, clean row
    nul: float = 0.0005
    cp1252: float = 0.001  # with mixed_encodings: the row is written in cp1252

    def bands(self) -> list[tuple[float, str]]:
        """Upper bounds of each problem's slice of [0, 1), in a fixed order."""
        bounds, total = [], 0.0
        for share, kind in (
            (self.ragged / 2, "ragged_long"),
            (self.ragged / 2, "ragged_short"),
            (self.missing_id, "missing_id"),
            (self.duplicate_id, "duplicate_id"),
            (self.nul, "nul"),
            (self.cp1252, "cp1252"),
        ):
            total += share
            bounds.append((total, kind))
        if total >= 1:
            raise ValueError("dirt rates add up to 1 or more")
        return bounds


@dataclass
class Chunk:
    """CHUNK_ROWS drawn rows and where the deliberate problems are."""

    rows: list[Row]
    marks: list[tuple[int, str]]  # (position in chunk, kind of problem), in position order


def _dirty(rng: random.Random, rows: list[Row], rates: DirtRates) -> list[tuple[int, str]]:
    """Break a few rows on purpose; return where and how."""
    bands = rates.bands()
    clean_from = bands[-2][0]  # rows drawn at or above this are structurally clean
    draws = [rng.random() for _ in rows]
    marks = []
    for position, draw in enumerate(draws):
        if draw >= bands[-1][0]:
            continue
        kind = next(k for bound, k in bands if draw < bound)
        row = _fields(rows[position])
        if kind == "ragged_long":  # the company's comma lost its quotes
            company = unescape(row[COMPANY])
            row[COMPANY : COMPANY + 1] = (
                company.split(", ", 1) if ", " in company else [company, ""]
            )
        elif kind == "ragged_short":  # a truncated line
            del row[-rng.randint(1, 6) :]
        elif kind == "missing_id":
            row[ID] = rng.choice(("", " "))
        elif kind == "duplicate_id":
            earlier = [rng.randrange(position) for _ in range(8)] if position else []
            source = next((p for p in earlier if draws[p] >= clean_from), None)
            if source is None:
                continue  # nothing clean before it: the row stays as drawn, and uncounted
            row[ID] = rows[source][ID]
        elif kind == "nul":
            last = row[LAST]
            row[LAST] = f"{last[: len(last) // 2]}\x00{last[len(last) // 2 :]}"
        rows[position] = row
        marks.append((position, kind))
    return marks


def draw_chunk(
    index: int, *, seed: int, pools: dict[str, _CountryPools], rates: DirtRates
) -> Chunk:
    """Draw chunk `index` (rows from index * CHUNK_ROWS on); depends on nothing else."""
    rng = random.Random(f"{seed}:chunk:{index}")
    codes = list(COUNTRY_WEIGHTS)
    countries = rng.choices(codes, list(COUNTRY_WEIGHTS.values()), k=CHUNK_ROWS)
    numbers: dict[str, list[int]] = {code: [] for code in codes}
    for number, code in enumerate(countries, start=index * CHUNK_ROWS):
        numbers[code].append(number)
    drawn = {code: iter(_country_rows(rng, pools[code], numbers[code])) for code in codes}
    rows = [next(drawn[code]) for code in countries]
    return Chunk(rows, _dirty(rng, rows, rates))


# =============================================================================== writing


@dataclass
class GenerationStats:
    """What was written, with exact counts of each structural problem.

    Reconciliation: `rows` data rows in all; `ragged` of them have a field count other than
    the header's; Customer IDs are unique except `missing_id` empty ones and `duplicate_id`
    repeats (each repeats the id of a clean row), so distinct non-empty ids =
    rows - missing_id - duplicate_id; `nul` rows hold a NUL byte. `lines` counts physical
    lines (header and line breaks inside quoted fields included). With mixed encodings,
    `cp1252_rows` rows were written in cp1252, `cp1252_undecodable` of them are not valid
    UTF-8 (the others are plain ASCII).
    """

    path: Path
    rows: int = 0
    file_bytes: int = 0
    csv_bytes: int = 0  # before compression
    seconds: float = 0.0
    lines: int = 0
    ragged_long: int = 0
    ragged_short: int = 0
    missing_id: int = 0
    duplicate_id: int = 0
    nul: int = 0
    cp1252_rows: int = 0
    cp1252_undecodable: int = 0
    settings: dict[str, object] = field(default_factory=dict)

    @property
    def ragged(self) -> int:
        """Rows with a wrong number of fields."""
        return self.ragged_long + self.ragged_short

    @property
    def distinct_ids(self) -> int:
        """Distinct non-empty Customer IDs in the file."""
        return self.rows - self.missing_id - self.duplicate_id

    def summary(self) -> str:
        """One line of key=value pairs, for people and for scripts."""
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"rows={self.rows} bytes={self.file_bytes} csv_bytes={self.csv_bytes} "
            f"lines={self.lines} seconds={self.seconds:.2f} rows_per_s={rate:.0f} "
            f"ragged={self.ragged} ragged_long={self.ragged_long} "
            f"ragged_short={self.ragged_short} missing_id={self.missing_id} "
            f"duplicate_id={self.duplicate_id} nul={self.nul} cp1252_rows={self.cp1252_rows} "
            f"cp1252_undecodable={self.cp1252_undecodable} distinct_ids={self.distinct_ids}"
        )


def _csv_text(rows: Iterable[Row]) -> str:
    """Escaped rows as CSV text with CRLF record ends (what csv.writer would write)."""
    text = "\r\n".join(map(",".join, rows))
    return f"{text}\r\n" if text else ""


def _is_utf8(data: bytes) -> bool:
    """Whether `data` decodes as UTF-8 (a cp1252 row of plain ASCII does)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class RenderedChunk:
    """The first `rows` rows of a chunk as CSV text, ready to encode and write."""

    segments: list[tuple[str, bool]]  # (text, written in cp1252 instead of the file encoding)
    problems: list[str]  # kind of each structural problem among the rows (cp1252 excluded)
    rows: int


def render_chunk(
    index: int,
    *,
    seed: int,
    pools: dict[str, _CountryPools],
    rates: DirtRates,
    limit: int,
    mixed: bool,
) -> RenderedChunk:
    """Draw chunk `index` and turn its first `limit` rows into text."""
    chunk = draw_chunk(index, seed=seed, pools=pools, rates=rates)
    marks = [(position, kind) for position, kind in chunk.marks if position < limit]
    legacy = [position for position, kind in marks if kind == "cp1252"] if mixed else []
    segments, start = [], 0
    for position in [*legacy, limit]:
        segments.append((_csv_text(chunk.rows[start:position]), False))
        if position < limit:
            segments.append((_csv_text([chunk.rows[position]]), True))
        start = position + 1
    return RenderedChunk(segments, [kind for _, kind in marks if kind != "cp1252"], limit)


class _Writer:
    """Encodes and writes text, counting bytes and lines into the stats."""

    def __init__(self, out: io.BufferedIOBase, encoding: str, stats: GenerationStats) -> None:
        self._out = out
        self._encoder = codecs.getincrementalencoder(encoding)(errors="replace")  # one BOM
        self._stats = stats

    def write(self, text: str) -> None:
        """Write `text` in the file's encoding."""
        self._stats.lines += text.count("\n")
        self._stats.csv_bytes += self._out.write(self._encoder.encode(text))

    def write_cp1252(self, text: str) -> None:
        """Write `text` in cp1252, as a row from another system's export."""
        data = text.encode("cp1252", errors="replace")
        self._stats.lines += text.count("\n")
        self._stats.csv_bytes += self._out.write(data)
        self._stats.cp1252_rows += 1
        self._stats.cp1252_undecodable += not _is_utf8(data)

    def write_rendered(self, rendered: RenderedChunk) -> None:
        """Write a rendered chunk and count the problems in it."""
        for text, legacy in rendered.segments:
            if legacy:
                self.write_cp1252(text)
            else:
                self.write(text)
        self._stats.rows += rendered.rows
        for kind in rendered.problems:
            setattr(self._stats, kind, getattr(self._stats, kind) + 1)


def _rendered_chunks(
    rows: int, *, seed: int, rates: DirtRates, mixed: bool
) -> Iterator[RenderedChunk]:
    """Rendered chunks in file order, one at a time (memory stays flat)."""
    pools = build_pools(seed)
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        limit = min(CHUNK_ROWS, rows - start)
        yield render_chunk(index, seed=seed, pools=pools, rates=rates, limit=limit, mixed=mixed)


def generate(
    path: Path,
    *,
    rows: int,
    seed: int = 7,
    encoding: str = "utf-8",
    compress: bool = False,
    mixed_encodings: bool = False,
    rates: DirtRates | None = None,
) -> GenerationStats:
    """Write a messy contacts CSV of `rows` data rows to `path`, streaming.

    Args:
        path: Output file (parent directories are created).
        rows: Number of data rows (the header not included).
        seed: Same seed, size and rates give byte-identical output.
        encoding: utf-8, utf-8-sig, cp1252 or utf-16; characters the encoding lacks become '?'.
        compress: Write gzip (with a fixed header, so the bytes stay deterministic).
        mixed_encodings: Write `rates.cp1252` of the rows in cp1252 inside a UTF-8 file, as
            when exports of two systems are concatenated.
        rates: Shares of structurally broken rows; DirtRates() when not given.

    Returns:
        Exact counts of what was written, for reconciliation.

    Raises:
        ValueError: Mixed encodings asked for with a non-UTF-8 encoding, or rates >= 1.

    Examples:
        >>> generate(Path("benchmarks/out/contacts_10k.csv"), rows=10_000)  # doctest: +SKIP
    """
    if mixed_encodings and encoding not in ("utf-8", "utf-8-sig"):
        raise ValueError("mixed encodings put cp1252 rows into a UTF-8 file")
    rates = rates or DirtRates()
    started = time.perf_counter()
    stats = GenerationStats(
        path,
        settings={"seed": seed, "encoding": encoding, "gzip": compress, "mixed": mixed_encodings},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw:
        out: io.BufferedIOBase = raw
        if compress:
            out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
        writer = _Writer(out, encoding, stats)
        writer.write(_csv_text([HEADER]))
        for rendered in _rendered_chunks(rows, seed=seed, rates=rates, mixed=mixed_encodings):
            writer.write_rendered(rendered)
        if compress:
            out.close()
    stats.file_bytes = path.stat().st_size
    stats.seconds = time.perf_counter() - started
    return stats


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Generate a large, messy contacts CSV.")
    parser.add_argument("--rows", type=int, default=100_000, help="data rows (default 100000)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/contacts.csv"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--encoding", default="utf-8", choices=("utf-8", "utf-8-sig", "cp1252", "utf-16")
    )
    parser.add_argument("--gzip", action="store_true", help="gzip the output")
    parser.add_argument(
        "--mixed-encodings", action="store_true", help="write some rows in cp1252 (UTF-8 only)"
    )
    defaults = DirtRates()
    for name in ("ragged", "missing_id", "duplicate_id", "nul", "cp1252"):
        parser.add_argument(
            f"--{name.replace('_', '-')}-rate",
            type=float,
            default=getattr(defaults, name),
            dest=name,
            help=f"share of rows (default {getattr(defaults, name)})",
        )
    args = parser.parse_args(argv)
    rates = DirtRates(args.ragged, args.missing_id, args.duplicate_id, args.nul, args.cp1252)
    stats = generate(
        args.out,
        rows=args.rows,
        seed=args.seed,
        encoding=args.encoding,
        compress=args.gzip,
        mixed_encodings=args.mixed_encodings,
        rates=rates,
    )
    print(f"wrote {args.out}")
    print(stats.summary())


if __name__ == "__main__":
    main()
