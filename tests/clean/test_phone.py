"""Phone standardizer: real-world formats, and the fast column path agreeing with the scalar one."""

from __future__ import annotations

import random

import phonenumbers as pn
import polars as pl
import pytest

from rolodex.clean.base import MISSING, Flag, to_frame
from rolodex.clean.phone import PARTS, standardize_phone, standardize_phone_column

V, S, X = Flag.VALID, Flag.SUSPICIOUS, Flag.INVALID
FLM = "fixed_line_or_mobile"

# raw, region, value, flag, extension, type, number's region
CASES: list[tuple[str, str | None, str, Flag, str | None, str | None, str | None]] = [
    # US / Canada. 555-2671 is not in the 555-0100..0199 fiction range: phonenumbers says valid.
    ("(415) 555-2671", "US", "+14155552671", V, None, FLM, "US"),
    # 555-01xx is reserved for fiction: valid for phonenumbers, a placeholder for us.
    ("+1 212 555 0123", None, "+12125550123", S, None, FLM, "US"),
    ("+1 212-736-5000", None, "+12127365000", V, None, FLM, "US"),
    ("212.736.5000", "US", "+12127365000", V, None, FLM, "US"),
    ("1-212-736-5000", "US", "+12127365000", V, None, FLM, "US"),
    ("(212) 736-5000 x12", "US", "+12127365000", V, "12", FLM, "US"),
    ("212-736-5000 ext. 12", "US", "+12127365000", V, "12", FLM, "US"),
    ("212 736 5000 #12", "US", "+12127365000", V, "12", FLM, "US"),
    ("1-800-736-5000", "US", "+18007365000", V, None, "toll_free", "US"),
    ("(416) 736-5000", "CA", "+14167365000", V, None, FLM, "CA"),
    ("+1 604 736 5000", None, "+16047365000", V, None, FLM, "CA"),
    ("0044 20 7946 0958", "US", "+442079460958", V, None, "fixed_line", "GB"),  # 00 ≠ US IDD
    # Germany
    ("030 12345678", "DE", "+493012345678", V, None, "fixed_line", "DE"),
    ("0171 1234567", "DE", "+491711234567", V, None, "mobile", "DE"),
    ("+49 (0)30 1234567", None, "+49301234567", V, None, "fixed_line", "DE"),
    ("0049 30 1234567", None, "+49301234567", V, None, "fixed_line", "DE"),
    ("030/1234567", "DE", "+49301234567", V, None, "fixed_line", "DE"),
    ("030 1234567 Durchwahl 12", "DE", "+49301234567", V, "12", "fixed_line", "DE"),
    ("4915112345678.0", "DE", "+4915112345678", V, None, "mobile", "DE"),
    ("4915112345678.0", None, "+4915112345678", V, None, "mobile", "DE"),
    ("'0171 1234567", "DE", "+491711234567", V, None, "mobile", "DE"),
    ("tel:+49-30-1234567", None, "+49301234567", V, None, "fixed_line", "DE"),
    ("Phone: +49 171 1234567", None, "+491711234567", V, None, "mobile", "DE"),
    ("0800 1234567", "DE", "+498001234567", V, None, "toll_free", "DE"),
    # United Kingdom ("uk" is the usual non-ISO spelling)
    ("020 7946 0958", "GB", "+442079460958", V, None, "fixed_line", "GB"),
    ("07400 123456", "GB", "+447400123456", V, None, "mobile", "GB"),
    ("07400 123456", "uk", "+447400123456", V, None, "mobile", "GB"),
    ("+44 (0)20 7946 0958", None, "+442079460958", V, None, "fixed_line", "GB"),
    ("0800 123 4567", "GB", "+448001234567", V, None, "toll_free", "GB"),
    ("+44 20 7946 0958 ext 12", None, "+442079460958", V, "12", "fixed_line", "GB"),
    # France, Netherlands, Spain, Italy, Australia
    ("01 42 68 53 00", "FR", "+33142685300", V, None, "fixed_line", "FR"),
    ("06 12 34 56 78", "FR", "+33612345678", V, None, "mobile", "FR"),
    ("+33 1 42 68 53 00", None, "+33142685300", V, None, "fixed_line", "FR"),
    ("010-5260953", "NL", "+31105260953", V, None, "fixed_line", "NL"),
    ("+31 6 34390567", None, "+31634390567", V, None, "mobile", "NL"),
    ("912 345 678", "ES", "+34912345678", V, None, "fixed_line", "ES"),
    ("+34 612 345 678", None, "+34612345678", V, None, "mobile", "ES"),
    ("06 4567 8901", "IT", "+390645678901", V, None, "fixed_line", "IT"),  # 0 stays in Italy
    ("+39 312 345 6789", None, "+393123456789", V, None, "mobile", "IT"),
    ("0412 345 678", "AU", "+61412345678", V, None, "mobile", "AU"),
    ("(02) 9876 5432", "AU", "+61298765432", V, None, "fixed_line", "AU"),
    ("+61 412 345 678", None, "+61412345678", V, None, "mobile", "AU"),
    # Invalid: kept as given (trimmed)
    ("030 1234567", None, "030 1234567", X, None, None, None),  # no country: do not guess
    ("030 1234567", "uk", "030 1234567", X, None, None, None),
    ("+1 212 555", None, "+1 212 555", X, None, None, None),
    ("  +49 30  ", None, "+49 30", X, None, None, None),
    ("01 42 68 53 00 00", "FR", "01 42 68 53 00 00", X, None, None, None),
    ("call me", "DE", "call me", X, None, None, None),
    ("n/a", "US", "n/a", X, None, None, None),
    ("+999 1234567", None, "+999 1234567", X, None, None, None),
    ("4.9151E+12", "DE", "4.9151E+12", X, None, None, None),
    # Placeholders
    ("0000000000", "DE", "0000000000", X, None, None, None),
    ("+49 1111111111", None, "+49 1111111111", X, None, None, None),
    ("1234567890", "US", "1234567890", X, None, None, None),
]

NOTES = {
    "030 1234567|None": ("no country to read a national number",),
    "030 1234567|uk": ("not a valid number for GB",),
    "+1 212 555|None": ("too short",),
    "  +49 30  |None": ("too short: missing area code for DE",),
    "01 42 68 53 00 00|FR": ("too long",),
    "call me|DE": ("not a phone number",),
    "+999 1234567|None": ("unknown country calling code",),
    "4.9151E+12|DE": ("stored in scientific notation by a spreadsheet; digits are lost",),
    "0000000000|DE": ("not a valid number for DE", "looks like a placeholder number"),
    "+1 212 555 0123|None": ("looks like a placeholder number",),
}


@pytest.mark.parametrize(
    ("raw", "region", "value", "flag", "extension", "kind", "where"),
    CASES,
    ids=[f"{c[0]}|{c[1]}" for c in CASES],
)
def test_standardize_phone(
    raw: str,
    region: str | None,
    value: str,
    flag: Flag,
    extension: str | None,
    kind: str | None,
    where: str | None,
) -> None:
    result = standardize_phone(raw, region=region)
    assert (result.value, result.flag) == (value, flag)
    assert result.parts == {"extension": extension, "type": kind, "region": where}
    if flag is Flag.VALID:
        assert result.key == value
        assert result.tags == ((kind,) if kind else ())
        assert result.notes == ()
    else:
        assert result.key is None
    if flag is Flag.SUSPICIOUS:
        assert result.tags == ("placeholder", kind)
    if flag is Flag.INVALID:
        assert result.notes
        placeholder = "placeholder" in result.tags
        assert placeholder == (raw.strip() in {"0000000000", "+49 1111111111", "1234567890"})
    expected_notes = NOTES.get(f"{raw}|{region}")
    if expected_notes is not None:
        assert result.notes == expected_notes


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_blank_is_missing(raw: str | None) -> None:
    assert standardize_phone(raw, region="DE") == MISSING
    assert standardize_phone(raw, region=None) == MISSING


def test_example_numbers_are_valid_with_their_type() -> None:
    """Guard against metadata drift: the library's own examples must come out valid."""
    wanted = {pn.PhoneNumberType.MOBILE: "mobile", pn.PhoneNumberType.TOLL_FREE: "toll_free"}
    for region in ("US", "GB", "DE", "FR", "NL", "ES", "IT", "AU", "CA"):
        for kind, name in wanted.items():
            example = pn.example_number_for_type(region, kind)
            assert example is not None
            national = pn.format_number(example, pn.PhoneNumberFormat.NATIONAL)
            result = standardize_phone(national, region=region)
            assert result.flag in (Flag.VALID, Flag.SUSPICIOUS), (region, national)
            assert result.value == pn.format_number(example, pn.PhoneNumberFormat.E164)
            assert result.parts["type"] in (name, FLM)


def _expected(raws: list[str | None], regions: list[str | None]) -> pl.DataFrame:
    results = [standardize_phone(r, region=g) for r, g in zip(raws, regions, strict=True)]
    return to_frame(results, parts=PARTS)


def _assert_same(raws: list[str | None], regions: list[str | None]) -> None:
    got = standardize_phone_column(
        pl.Series(raws, dtype=pl.Utf8), pl.Series(regions, dtype=pl.Utf8)
    )
    want = _expected(raws, regions)
    assert got.columns == want.columns
    assert got.schema == want.schema
    for i, (a, b) in enumerate(zip(got.iter_rows(), want.iter_rows(), strict=True)):
        assert a == b, (i, raws[i], regions[i])
    assert got.height == len(raws)


def test_column_matches_scalar_on_table() -> None:
    raws: list[str | None] = [*(c[0] for c in CASES), None, "", "  "]
    regions: list[str | None] = [*(c[1] for c in CASES), "DE", None, "US"]
    _assert_same(raws, regions)


REGIONS = ("US", "CA", "GB", "DE", "FR", "NL", "ES", "IT", "AU", "CH", "AT", "BE", "SE", "JP")
TYPES = (
    pn.PhoneNumberType.FIXED_LINE,
    pn.PhoneNumberType.MOBILE,
    pn.PhoneNumberType.TOLL_FREE,
    pn.PhoneNumberType.PREMIUM_RATE,
    pn.PhoneNumberType.VOIP,
)


def _mixed_numbers(count: int, seed: int) -> tuple[list[str | None], list[str | None]]:
    """Realistic, messy numbers across regions, formats and default regions."""
    rng = random.Random(seed)
    examples = [
        (region, example)
        for region in REGIONS
        for kind in TYPES
        if (example := pn.example_number_for_type(region, kind)) is not None
    ]
    raws: list[str | None] = []
    regions: list[str | None] = []
    for _ in range(count):
        region, example = rng.choice(examples)
        nsn = pn.national_significant_number(example)
        keep = max(1, len(nsn) - rng.randint(2, 6))
        tail = "".join(rng.choice("0123456789") for _ in range(len(nsn) - keep))
        number = pn.parse(f"+{example.country_code}{nsn[:keep]}{tail}", None)
        e164 = pn.format_number(number, pn.PhoneNumberFormat.E164)
        national = pn.format_number(number, pn.PhoneNumberFormat.NATIONAL)
        intl = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
        style = rng.random()
        if style < 0.3:
            raw = national
        elif style < 0.45:
            raw = intl
        elif style < 0.55:
            raw = e164
        elif style < 0.6:
            raw = "00" + e164[1:]
        elif style < 0.65:
            raw = re_punct(rng, national)
        elif style < 0.7:
            raw = e164[1:] + ".0"
        elif style < 0.73:
            raw = rng.choice(["'", "tel:", "Phone: ", " "]) + rng.choice([national, intl])
        elif style < 0.76:
            raw = national + rng.choice([" ext. 12", " x7", " #305", " Durchwahl 3"])
        elif style < 0.8:
            raw = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14)))
        elif style < 0.82:
            raw = rng.choice(["", "  ", "n/a", "none", "0000000000", "1234567890", "+"])
        elif style < 0.85:
            raw = national[:-3] if len(national) > 4 else national
        elif style < 0.88:
            raw = intl + rng.choice(["1", "23", "456"])
        else:
            raw = rng.choice([national, intl, "00" + e164[1:], e164[1:]])
        home = rng.random()
        if home < 0.7:
            default = region
        elif home < 0.85:
            default = None
        else:
            default = rng.choice([*REGIONS, "uk", "xx", " de "])
        raws.append(None if rng.random() < 0.01 else raw)
        regions.append(default)
    return raws, regions


def re_punct(rng: random.Random, national: str) -> str:
    """Re-punctuate a national number the way exports do: dots, dashes, slashes, none."""
    digits = "".join(ch for ch in national if ch.isdigit())
    sep = rng.choice([".", "-", "/", "", " "])
    cut = rng.randint(2, max(2, len(digits) - 2))
    return digits[:cut] + sep + digits[cut:]


def test_column_matches_scalar_on_mixed_numbers() -> None:
    raws, regions = _mixed_numbers(5000, seed=20240607)
    assert None in regions
    _assert_same(raws, regions)


def test_column_keeps_order_and_length() -> None:
    raws: list[str | None] = ["+49 30 1234567", None, "030 1234567", "call me", "+44 20 7946 0958"]
    regions: list[str | None] = [None, "DE", "DE", "DE", None]
    out = standardize_phone_column(pl.Series(raws), pl.Series(regions))
    assert out["value"].to_list() == [
        "+49301234567",
        None,
        "+49301234567",
        "call me",
        "+442079460958",
    ]
    assert out["flag"].to_list() == ["valid", "missing", "valid", "invalid", "valid"]


def test_column_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        standardize_phone_column(pl.Series(["1"]), pl.Series([None, None], dtype=pl.Utf8))


def test_empty_column() -> None:
    out = standardize_phone_column(pl.Series([], dtype=pl.Utf8), pl.Series([], dtype=pl.Utf8))
    assert out.height == 0
    assert out.columns == ["value", "flag", "notes", "tags", "key", *PARTS]


EXTENSIONS = (" x12", "  x 7", " ext.12", " ext. 305", " X12", " x12#", "/ x12", " x1234567890")


def test_column_matches_scalar_in_import_sized_chunks() -> None:
    """Chunks as the import calls it (10,000 rows), with the extensions exports carry."""
    raws, regions = _mixed_numbers(20_000, seed=20240901)
    rng = random.Random(7)
    raws = [r + rng.choice(EXTENSIONS) if r and rng.random() < 0.1 else r for r in raws]
    for start in range(0, len(raws), 10_000):
        _assert_same(raws[start : start + 10_000], regions[start : start + 10_000])
