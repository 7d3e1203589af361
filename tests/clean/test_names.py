"""The name standardizer on real-world names, and the column path agreeing with it row by row."""

from __future__ import annotations

import random

import polars as pl
import pytest

from rolodex.clean.base import Flag
from rolodex.clean.names import (
    NameParts,
    NameResult,
    mailbox_name_key_columns,
    mailbox_name_keys,
    name_key,
    parse_full_name,
    proper_case,
    standardize_name,
    standardize_name_columns,
    surname_key,
)
from rolodex.clean.nicknames import FIRST_NAMES, NICKNAMES, SURNAMES

V, C, X, S, M = Flag.VALID, Flag.CORRECTED, Flag.INVALID, Flag.SUSPICIOUS, Flag.MISSING

PROPER_CASES: list[tuple[str, str]] = [
    ("MCDONALD", "McDonald"),
    ("mcdonald", "McDonald"),
    ("o'neil", "O'Neil"),
    ("O'NEIL", "O'Neil"),
    ("O’BRIEN", "O’Brien"),
    ("VAN DER BERG", "van der Berg"),
    ("de la cruz", "de la Cruz"),
    ("JEAN-PIERRE", "Jean-Pierre"),
    ("MacArthur", "MacArthur"),
    ("macy", "Macy"),
    ("MACKENZIE", "MacKenzie"),
    ("mackie", "Mackie"),
    ("macdonald-smith", "MacDonald-Smith"),
    ("D'ANGELO", "D'Angelo"),
    ("dell'acqua", "Dell'Acqua"),
    ("ÉLODIE", "Élodie"),
    ("MÜLLER", "Müller"),
    ("STRAUß", "Strauß"),
    ("ŁUKASZ", "Łukasz"),
    ("ØSTERGÅRD", "Østergård"),
    ("SØREN KIERKEGAARD", "Søren Kierkegaard"),
    ("ÅSA", "Åsa"),
    ("GRZEGORZ BRZĘCZYSZCZYKIEWICZ", "Grzegorz Brzęczyszczykiewicz"),
    ("john smith iii", "John Smith III"),
    ("DeShawn", "DeShawn"),
    ("McKinsey", "McKinsey"),
    ("LaToya", "LaToya"),
    ("ABDULLAH BIN AHMAD AL-SAUD", "Abdullah bin Ahmad al-Saud"),
    ("ludwig van beethoven", "Ludwig van Beethoven"),
    ("JOHANN WOLFGANG VON GOETHE", "Johann Wolfgang von Goethe"),
    ("leonardo da vinci", "Leonardo da Vinci"),
    ("ijsbrand", "IJsbrand"),
    ("SEÁN Ó BRIAIN", "Seán Ó Briain"),
    ("NGUYỄN VĂN AN", "Nguyễn Văn An"),
    ("İLKER", "İlker"),
    ("  mary   ann  ", "Mary Ann"),
    ("de", "De"),
    ("VAN", "Van"),
    ("john MCDONALD", "John McDonald"),
]


@pytest.mark.parametrize(("raw", "expected"), PROPER_CASES)
def test_proper_case(raw: str, expected: str) -> None:
    assert proper_case(raw) == expected


def _np(
    title: str | None = None,
    first: str | None = None,
    middle: str | None = None,
    last: str | None = None,
    suffix: str | None = None,
) -> NameParts:
    return NameParts(title, first, middle, last, suffix)


PARSE_CASES: list[tuple[str, NameParts]] = [
    ("Dr. Jane A. Doe Jr.", _np("Dr.", "Jane", "A.", "Doe", "Jr.")),
    ("Doe, Jane", _np(first="Jane", last="Doe")),
    ("DOE Jane", _np(first="Jane", last="Doe")),
    ("Jane van der Berg", _np(first="Jane", last="van der Berg")),
    # four plain words, no comma: two given names, two surnames
    ("María José García López", _np(first="María José", last="García López")),
    ("Prof. Dr. Hans Müller", _np("Prof. Dr.", "Hans", last="Müller")),
    ("Mr and Mrs Smith", _np("Mr and Mrs", last="Smith")),
    ("Mr. & Mrs. John Smith", _np("Mr. & Mrs.", "John", last="Smith")),
    ("John Smith", _np(first="John", last="Smith")),
    ("john smith", _np(first="John", last="Smith")),
    ("JOHN SMITH", _np(first="John", last="Smith")),
    ("NGUYEN Van An", _np(first="Van An", last="Nguyen")),
    ("WANG Xiaoming", _np(first="Xiaoming", last="Wang")),
    ("GARCÍA LÓPEZ María", _np(first="María", last="García López")),
    # a common Spanish surname second: the two surnames stay together
    ("Juan García López", _np(first="Juan", last="García López")),
    ("Smith, John, Jr.", _np(first="John", last="Smith", suffix="Jr.")),
    ('Robert "Bob" Smith', _np(first="Robert", last="Smith")),
    ("Dr. Smith", _np("Dr.", last="Smith")),
    ("Abdullah bin Ahmad al-Saud", _np(first="Abdullah", last="bin Ahmad al-Saud")),
    ("JAN DE VRIES", _np(first="Jan", last="de Vries")),
    ("Ludwig van Beethoven", _np(first="Ludwig", last="van Beethoven")),
    ("Seán O'Brien", _np(first="Seán", last="O'Brien")),
    ("Mary Ann Smith", _np(first="Mary", middle="Ann", last="Smith")),
    ("Martin Luther King Jr.", _np(first="Martin", middle="Luther", last="King", suffix="Jr.")),
    ("Herr Klaus Müller", _np("Herr", "Klaus", last="Müller")),
    ("Mme Élodie Dupont", _np("Mme", "Élodie", last="Dupont")),
    ("Sra. Ana Pérez", _np("Sra.", "Ana", last="Pérez")),
    ("van der Berg, Jan", _np(first="Jan", last="van der Berg")),
    ("Madonna", _np(first="Madonna")),
    ("John F. Kennedy", _np(first="John", middle="F.", last="Kennedy")),
    ("J. R. R. Tolkien", _np(first="J.", middle="R. R.", last="Tolkien")),
    ("Jane Smith, PhD", _np(first="Jane", last="Smith", suffix="PhD")),
    ("dr. jane smith md", _np("Dr.", "Jane", last="Smith", suffix="MD")),
    ("Ana da Silva", _np(first="Ana", last="da Silva")),
    ("Sean O'Connor III", _np(first="Sean", last="O'Connor", suffix="III")),
    ("Lars Ørsted-Hansen", _np(first="Lars", last="Ørsted-Hansen")),
    ("WOJCIECH SZCZĘSNY", _np(first="Wojciech", last="Szczęsny")),
    ("Siobhán Ní Bhriain", _np(first="Siobhán", middle="Ní", last="Bhriain")),
    ("   ", _np()),
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_CASES)
def test_parse_full_name(raw: str, expected: NameParts) -> None:
    assert parse_full_name(raw) == expected


NAME_KEY_CASES: list[tuple[str | None, str | None]] = [
    ("Bob", "robert"),
    ("BOBBY", "robert"),
    ("Rob", "robert"),
    ("Robbie", "robert"),
    ("Robert", "robert"),
    ("Bill", "william"),
    ("Will", "william"),
    ("Billy", "william"),
    ("Liam", "liam"),  # a name of its own now
    ("Liz", "elizabeth"),
    ("Beth", "elizabeth"),
    ("Betty", "elizabeth"),
    ("Eliza", "elizabeth"),
    ("Lisa", "lisa"),  # a name of its own
    ("Peggy", "margaret"),
    ("Maggie", "margaret"),
    ("Jim", "james"),
    ("Jimmy", "james"),
    ("Mike", "michael"),
    ("Dick", "richard"),
    ("Rick", "richard"),
    ("Tony", "anthony"),
    ("Kate", "katherine"),
    ("Katie", "katherine"),
    ("Cathy", "katherine"),
    ("Catherine", "katherine"),
    ("Jon", "john"),
    ("Johnny", "john"),
    ("Jack", "john"),
    ("Paco", "francisco"),
    ("Pancho", "francisco"),
    ("Curro", "francisco"),
    ("Pepe", "jose"),
    ("José", "jose"),
    ("Lola", "dolores"),
    ("Manolo", "manuel"),
    ("Nacho", "ignacio"),
    ("Sepp", "josef"),
    ("Seppl", "josef"),
    ("Jupp", "josef"),
    ("Hans", "johannes"),
    ("Fritz", "friedrich"),
    ("Gianni", "giovanni"),
    ("Beppe", "giuseppe"),
    ("Kees", "cornelis"),
    ("Wim", "willem"),
    ("Kasia", "katarzyna"),
    ("Gosia", "malgorzata"),
    ("Élodie", "elodie"),
    ("Jürgen", "jurgen"),
    ("Łukasz", "lukasz"),
    ("Bjørn", "bjorn"),
    ("Søren", "soren"),
    ("Jean-Pierre", "jeanpierre"),
    ("Javi", "javier"),
    ("Pili", "pilar"),
    ("Merche", "mercedes"),
    ("  ", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), NAME_KEY_CASES)
def test_name_key(raw: str | None, expected: str | None) -> None:
    assert name_key(raw) == expected


SURNAME_KEY_CASES: list[tuple[str | None, str | None]] = [
    ("van der Berg", "vanderberg"),
    ("Van Der Berg", "vanderberg"),
    ("O'Neil", "oneil"),
    ("O’Neil", "oneil"),
    ("Müller", "muller"),
    ("Strauß", "strauss"),
    ("Østergård", "ostergard"),
    ("García López", "garcialopez"),
    ("García-López", "garcialopez"),
    ("al-Saud", "alsaud"),
    ("MacDonald", "macdonald"),
    ("Brzęczyszczykiewicz", "brzeczyszczykiewicz"),
    ("Łukasiewicz", "lukasiewicz"),
    ("D'Angelo", "dangelo"),
    ("Nguyễn", "nguyen"),
    ("Dvořák", "dvorak"),
    ("de la Cruz", "delacruz"),
    ("Ní Bhriain", "nibhriain"),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), SURNAME_KEY_CASES)
def test_surname_key(raw: str | None, expected: str | None) -> None:
    assert surname_key(raw) == expected


# (first, last, full) -> title, first, middle, last, suffix, flag, tags, first_key, last_key,
# words the notes must contain
Row = tuple[str | None, str | None, str | None]
Want = tuple[
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    Flag,
    tuple[str, ...],
    str | None,
    str | None,
    tuple[str, ...],
]
STANDARDIZE_CASES: list[tuple[Row, Want]] = [
    (("jane", "SMITH", None), (None, "Jane", None, "Smith", None, V, (), "jane", "smith", ())),
    (
        ("  Mary   Ann ", "o'neil", None),
        (None, "Mary Ann", None, "O'Neil", None, V, (), "maryann", "oneil", ()),
    ),
    ((None, None, None), (None, None, None, None, None, M, (), None, None, ())),
    (("", "  ", ""), (None, None, None, None, None, M, (), None, None, ())),
    (
        ("Smith", "John", None),
        (None, "John", None, "Smith", None, C, ("swapped",), "john", "smith", ("swapped",)),
    ),
    (
        ("GARCÍA", "MARÍA", None),
        (None, "María", None, "García", None, C, ("swapped",), "maria", "garcia", ("swapped",)),
    ),
    (
        ("Müller", "Hans", None),
        (None, "Hans", None, "Müller", None, C, ("swapped",), "johannes", "muller", ()),
    ),
    # surnames that are also first names are never swapped
    (("Kelly", "Smith", None), (None, "Kelly", None, "Smith", None, V, (), "kelly", "smith", ())),
    (("Ryan", "Kelly", None), (None, "Ryan", None, "Kelly", None, V, (), "ryan", "kelly", ())),
    # Chinese order given as is: not a known first name, nothing to swap
    (("Wang", "Wei", None), (None, "Wang", None, "Wei", None, V, (), "wang", "wei", ())),
    (
        ("Dr. Jane", "Smith", None),
        ("Dr.", "Jane", None, "Smith", None, V, (), "jane", "smith", ("title",)),
    ),
    (
        ("John", "Smith Jr.", None),
        (None, "John", None, "Smith", "Jr.", V, (), "john", "smith", ("suffix",)),
    ),
    (
        ("Jane A.", "Smith", None),
        (None, "Jane", "A.", "Smith", None, V, (), "jane", "smith", ("middle initial",)),
    ),
    (
        ("Mr.", "Smith", None),
        ("Mr.", None, None, "Smith", None, V, (), None, "smith", ("title",)),
    ),
    (
        ("Test", "Test", None),
        (None, "Test", None, "Test", None, S, ("placeholder",), "test", "test", ("placeholder",)),
    ),
    (
        ("MAX", "MUSTERMANN", None),
        (None, "Max", None, "Mustermann", None, S, ("placeholder",), "max", "mustermann", ()),
    ),
    (
        ("John", "Doe", None),
        (None, "John", None, "Doe", None, S, ("placeholder",), "john", "doe", ()),
    ),
    (
        ("Jane", "Doe", None),
        (None, "Jane", None, "Doe", None, S, ("placeholder",), "jane", "doe", ()),
    ),
    (
        ("Asdf", "Kowalski", None),
        (None, "Asdf", None, "Kowalski", None, S, ("placeholder",), "asdf", "kowalski", ()),
    ),
    (
        ("N/A", "Smith", None),
        (None, "N/A", None, "Smith", None, X, (), None, "smith", ("placeholder, not a name",)),
    ),
    (("12345", None, None), (None, "12345", None, None, None, X, (), None, None, ("no letters",))),
    (
        ("Jane2", "Smith", None),
        (None, "Jane2", None, "Smith", None, X, (), None, "smith", ("digits",)),
    ),
    (
        ("jane@example.com", None, None),
        (None, "jane@example.com", None, None, None, X, (), None, None, ("email",)),
    ),
    (("???", "???", None), (None, "???", None, "???", None, X, (), None, None, ("no letters",))),
    (("-", None, None), (None, "-", None, None, None, X, (), None, None, ("no letters",))),
    (("test", None, None), (None, "test", None, None, None, X, (), None, None, ("placeholder",))),
    ((None, None, "n/a"), (None, None, None, "n/a", None, X, (), None, None, ("full name",))),
    (
        (None, None, "Dr. Jane A. Smith Jr."),
        ("Dr.", "Jane", "A.", "Smith", "Jr.", V, (), "jane", "smith", ()),
    ),
    (
        (None, None, "DOE Jane"),
        (None, "Jane", None, "Doe", None, S, ("placeholder",), "jane", "doe", ()),
    ),
    (
        (None, None, "NGUYEN Van An"),
        (None, "Van An", None, "Nguyen", None, V, (), "vanan", "nguyen", ()),
    ),
    (
        (None, None, "WANG Xiaoming"),
        (None, "Xiaoming", None, "Wang", None, V, (), "xiaoming", "wang", ()),
    ),
    (
        (None, None, "Mr and Mrs Smith"),
        ("Mr and Mrs", None, None, "Smith", None, S, ("couple",), None, "smith", ("more than",)),
    ),
    (
        (None, None, "Prof. Dr. Hans Müller"),
        ("Prof. Dr.", "Hans", None, "Müller", None, V, (), "johannes", "muller", ()),
    ),
    (
        (None, None, "María José García López"),
        (None, "María José", None, "García López", None, V, (), "mariajose", "garcialopez", ()),
    ),
    (
        ("Jane", None, "Dr. Jane Smith"),
        ("Dr.", "Jane", None, "Smith", None, V, (), "jane", "smith", ()),
    ),
    (
        (None, "Smith", "Jane Smith"),
        (None, "Jane", None, "Smith", None, V, (), "jane", "smith", ()),
    ),
    (("Jane", None, None), (None, "Jane", None, None, None, V, (), "jane", None, ())),
    (
        ("JAN", "VAN DER BERG", None),
        (None, "Jan", None, "van der Berg", None, V, (), "jan", "vanderberg", ()),
    ),
    (("Bob", "smith", None), (None, "Bob", None, "Smith", None, V, (), "robert", "smith", ())),
    (("Sepp", "HUBER", None), (None, "Sepp", None, "Huber", None, V, (), "josef", "huber", ())),
    (
        ("Élodie", "DUPONT", None),
        (None, "Élodie", None, "Dupont", None, V, (), "elodie", "dupont", ()),
    ),
    (
        ("abdullah", "BIN AHMAD AL-SAUD", None),
        (
            None,
            "Abdullah",
            None,
            "bin Ahmad al-Saud",
            None,
            V,
            (),
            "abdullah",
            "binahmadalsaud",
            (),
        ),
    ),
    (
        ("HANS-JÜRGEN", "schmidt", None),
        (None, "Hans-Jürgen", None, "Schmidt", None, V, (), "hansjurgen", "schmidt", ()),
    ),
    (
        ("siobhán", "NÍ BHRIAIN", None),
        (None, "Siobhán", None, "Ní Bhriain", None, V, (), "siobhan", "nibhriain", ()),
    ),
    (
        ("Anna", "Nowak-Kowalska", None),
        (None, "Anna", None, "Nowak-Kowalska", None, V, (), "anna", "nowakkowalska", ()),
    ),
    # a user name in the full-name field is read as the name it spells, flagged
    (
        (None, None, "juergen.neuer"),
        (None, "Juergen", None, "Neuer", None, S, ("user_name",), "juergen", "neuer", ("user",)),
    ),
    (
        (None, None, "moritz_krause"),
        (None, "Moritz", None, "Krause", None, S, ("user_name",), "moritz", "krause", ("user",)),
    ),
    (
        (None, None, "anne-sophie.robert"),
        (
            None,
            "Anne-Sophie",
            None,
            "Robert",
            None,
            S,
            ("user_name",),
            "annesophie",
            "robert",
            ("user",),
        ),
    ),
    # "Last, First" typed into one name field, the other empty: read as a whole name
    (
        ("Roche, Alexandre", None, None),
        (
            None,
            "Alexandre",
            None,
            "Roche",
            None,
            C,
            ("last_first",),
            "alexandre",
            "roche",
            ("first name 'Roche, Alexandre' read as a whole name",),
        ),
    ),
    (
        (None, "García Pérez, María José", None),
        (
            None,
            "María",
            "José",
            "García Pérez",
            None,
            C,
            ("last_first",),
            "maria",
            "garciaperez",
            ("last name 'García Pérez, María José'",),
        ),
    ),
    (
        ("Müller, Hans", "  ", None),
        (None, "Hans", None, "Müller", None, C, ("last_first",), "johannes", "muller", ()),
    ),
    # ...but not a suffix after the comma, nor a pair of names given in both fields
    (
        ("Smith, Jr.", None, None),
        (None, "Smith,", None, None, "Jr.", V, (), "smith", None, ("suffix 'Jr.' moved",)),
    ),
    (
        ("Maria José", None, None),
        (None, "Maria José", None, None, None, V, (), "mariajose", None, ()),
    ),
    # with both names given the full name is not read
    (
        ("JOHN", "MCDONALD", "Someone Else"),
        (None, "John", None, "McDonald", None, V, (), "john", "mcdonald", ()),
    ),
]


@pytest.mark.parametrize(("row", "want"), STANDARDIZE_CASES)
def test_standardize_name(row: Row, want: Want) -> None:
    first, last, full = row
    got = standardize_name(first=first, last=last, full=full)
    title, given, middle, family, suffix, flag, tags, first_key, last_key, words = want
    assert (got.title, got.first, got.middle, got.last, got.suffix) == (
        title,
        given,
        middle,
        family,
        suffix,
    )
    assert got.flag is flag
    assert got.tags == tags
    assert (got.first_key, got.last_key) == (first_key, last_key)
    notes = " ".join(got.notes)
    for word in words:
        assert word in notes
    if flag in (V, M) and not words:
        assert got.notes == ()


def test_tables_are_large_enough_and_consistent() -> None:
    assert len(NICKNAMES) >= 150
    assert len(FIRST_NAMES) >= 500
    # a canonical name is never itself a nickname of another: keys do not chain
    assert all(NICKNAMES.get(v, v) == v for v in NICKNAMES.values())
    # the tables are folded already
    assert all(name_key(k) == NICKNAMES[k] for k in NICKNAMES)
    assert all(surname_key(s) == s for s in SURNAMES)


def _frame_of(results: list[NameResult]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "title": [r.title for r in results],
            "first": [r.first for r in results],
            "middle": [r.middle for r in results],
            "last": [r.last for r in results],
            "suffix": [r.suffix for r in results],
            "flag": [r.flag.value for r in results],
            "notes": [list(r.notes) for r in results],
            "tags": [list(r.tags) for r in results],
            "first_key": [r.first_key for r in results],
            "last_key": [r.last_key for r in results],
        },
        schema={
            "title": pl.Utf8,
            "first": pl.Utf8,
            "middle": pl.Utf8,
            "last": pl.Utf8,
            "suffix": pl.Utf8,
            "flag": pl.Utf8,
            "notes": pl.List(pl.Utf8),
            "tags": pl.List(pl.Utf8),
            "first_key": pl.Utf8,
            "last_key": pl.Utf8,
        },
    )


def _check_columns(rows: list[Row]) -> None:
    firsts = pl.Series([r[0] for r in rows], dtype=pl.Utf8)
    lasts = pl.Series([r[1] for r in rows], dtype=pl.Utf8)
    fulls = pl.Series([r[2] for r in rows], dtype=pl.Utf8)
    got = standardize_name_columns(firsts, lasts, fulls)
    want = _frame_of([standardize_name(first=a, last=b, full=c) for a, b, c in rows])
    assert got.height == len(rows)
    assert got.to_dicts() == want.to_dicts()


def test_columns_equal_per_row_on_table_inputs() -> None:
    rows = [row for row, _ in STANDARDIZE_CASES]
    _check_columns(rows)
    _check_columns(list(reversed(rows)))  # order follows the input


def test_columns_equal_per_row_on_random_sample() -> None:
    rng = random.Random(20240611)
    pool_first: list[str | None] = [r[0] for r, _ in STANDARDIZE_CASES]
    pool_first += rng.sample(sorted(FIRST_NAMES), 60) + rng.sample(sorted(SURNAMES), 20)
    pool_first += ["ÉLODIE", "mary ann", "Dr. Jane", "Jane A.", "", "  ", "Mr.", "Asdf"]
    pool_last: list[str | None] = [r[1] for r, _ in STANDARDIZE_CASES]
    pool_last += rng.sample(sorted(SURNAMES), 60) + rng.sample(sorted(FIRST_NAMES), 20)
    pool_last += ["VAN DER BERG", "o'neil", "Smith Jr.", "MUSTERMANN", "Doe", "", None]
    pool_full: list[str | None] = [r[2] for r, _ in STANDARDIZE_CASES] + [None] * 20
    pool_full += [raw for raw, _ in PARSE_CASES]

    def cased(value: str | None) -> str | None:
        if value is None:
            return None
        return rng.choice([value, value.upper(), value.lower(), value.title()])

    rows: list[Row] = [
        (cased(rng.choice(pool_first)), cased(rng.choice(pool_last)), rng.choice(pool_full))
        for _ in range(3000)
    ]
    _check_columns(rows)


def test_columns_empty_input() -> None:
    empty = pl.Series([], dtype=pl.Utf8)
    out = standardize_name_columns(empty, empty, empty)
    assert out.height == 0
    assert out.columns == [
        "title",
        "first",
        "middle",
        "last",
        "suffix",
        "flag",
        "notes",
        "tags",
        "first_key",
        "last_key",
    ]


@pytest.mark.parametrize(
    ("first_key", "email", "expected"),
    [
        # the mailbox itself in the name field: no evidence of the name
        ("lbradworth", "lbradworth@beacon.com", (None, None)),
        # a known first name at its start splits it
        ("christopherlancaster", "christopherlancaster@outlook.com", ("christopher", "lancaster")),
        # a known first name, or a short one, is a name, not a user name
        ("jessica", "jessica@example.com", None),
        ("petra", "petra@example.com", None),
        # a name that is not the mailbox is left alone
        ("kimberly", "kimberlygarcia@yahoo.com", None),
    ],
)
def test_a_lone_name_that_is_the_mailbox_is_no_name(
    first_key: str, email: str, expected: tuple[str | None, str | None] | None
) -> None:
    assert mailbox_name_keys(first_key, None, email) == expected
    assert mailbox_name_keys(first_key, "smith", email) is None
    firsts, lasts, changed = mailbox_name_key_columns(
        pl.Series("f", [first_key, None]),
        pl.Series("l", [None, None], dtype=pl.Utf8),
        pl.Series("e", [email, email]),
    )
    assert changed.to_list() == [expected is not None, False]
    want = expected if expected is not None else (first_key, None)
    assert (firsts[0], lasts[0]) == want
