"""The email standardizer on real-world shapes, and the fast column path agreeing with it."""

from __future__ import annotations

import random

import polars as pl
import pytest

from rolodex.clean.base import MISSING, Flag, to_frame
from rolodex.clean.email import (
    DISPOSABLE_DOMAINS,
    FREE_MAIL_DOMAINS,
    TYPO_DOMAINS,
    standardize_email,
    standardize_email_column,
)

# short names keep the table one case per line
V, C, X, S = Flag.VALID, Flag.CORRECTED, Flag.INVALID, Flag.SUSPICIOUS

# raw, value, flag, key, tags, words the notes must contain
CASES: list[tuple[str, str, Flag, str | None, tuple[str, ...], tuple[str, ...]]] = [
    # case, spacing, wrappers
    ("Jane.Doe@Acme.COM", "jane.doe@acme.com", V, "jane.doe@acme.com", (), ()),
    ("  jane@acme.de \t", "jane@acme.de", V, "jane@acme.de", (), ()),
    ("\u00a0jane@acme.de\u00a0", "jane@acme.de", V, "jane@acme.de", (), ()),
    ("Jane Doe <Jane@Acme.de>", "jane@acme.de", V, "jane@acme.de", (), ("display name",)),
    ('"Doe, Jane" <jane@acme.de>', "jane@acme.de", V, "jane@acme.de", (), ("display name",)),
    ("<jane@acme.de>", "jane@acme.de", V, "jane@acme.de", (), ("angle brackets",)),
    ("mailto:Jane@Acme.de", "jane@acme.de", V, "jane@acme.de", (), ("mailto",)),
    ("<MAILTO:jane@acme.de>", "jane@acme.de", V, "jane@acme.de", (), ("mailto", "brackets")),
    ("jane@acme.de.", "jane@acme.de", V, "jane@acme.de", (), ("trailing dot",)),
    # syntax errors: kept as given (trimmed, case untouched) with the reason
    ("Jane.@acme.de", "Jane.@acme.de", X, None, (), ("dot",)),
    (".jane@acme.de", ".jane@acme.de", X, None, (), ("dot",)),
    ("Ja..ne@acme.de", "Ja..ne@acme.de", X, None, (), ("two dots",)),
    ("jane@acme..de", "jane@acme..de", X, None, (), ("empty label",)),
    (" Jane.Acme.de ", "Jane.Acme.de", X, None, (), ("missing @",)),
    ("jane@@acme.de", "jane@@acme.de", X, None, (), ("more than one @",)),
    ("jane@doe@acme.de", "jane@doe@acme.de", X, None, (), ("more than one @",)),
    ("jane@acme", "jane@acme", X, None, (), ("top-level domain",)),
    ("jane@acme.d", "jane@acme.d", X, None, (), ("top-level domain",)),
    ("jane@acme.123", "jane@acme.123", X, None, (), ("top-level domain",)),
    ("jane@ac_me.de", "jane@ac_me.de", X, None, (), ("underscore",)),
    ("jane@-acme.de", "jane@-acme.de", X, None, (), ("hyphen",)),
    ("jane doe@acme.de", "jane doe@acme.de", X, None, (), ("whitespace",)),
    ("jane(at)acme.de", "jane(at)acme.de", X, None, (), ("missing @",)),
    ("@acme.de", "@acme.de", X, None, (), ("before the @",)),
    ("jane@", "jane@", X, None, (), ("after the @",)),
    ("a" * 65 + "@acme.de", "a" * 65 + "@acme.de", X, None, (), ("64",)),
    ("a" * 64 + "@acme.de", "a" * 64 + "@acme.de", V, "a" * 64 + "@acme.de", (), ()),
    ("jäne..x@acme.de", "jäne..x@acme.de", X, None, (), ("period",)),
    # internationalized and quoted: decided by email_validator
    ("Müller@Bücher.DE", "müller@bücher.de", V, "müller@bücher.de", (), ()),
    ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de", V, "jane@xn--bcher-kva.de", (), ()),
    ("用户@例子.广告", "用户@例子.广告", V, "用户@例子.广告", (), ()),
    ('"john doe"@acme.de', '"john doe"@acme.de', V, '"john doe"@acme.de', (), ()),
    # sub-addressing and gmail's ignored dots: the key folds, the value keeps
    ("Jane.Doe+crm@gmail.com", "jane.doe+crm@gmail.com", V, "janedoe@gmail.com", ("free",), ()),
    ("j.doe@googlemail.com", "j.doe@googlemail.com", V, "jdoe@gmail.com", ("free",), ()),
    ("jane.doe+news@acme.de", "jane.doe+news@acme.de", V, "jane.doe@acme.de", (), ()),
    ("jane+x+y@web.de", "jane+x+y@web.de", V, "jane@web.de", ("free",), ()),
    ("Jane@GMX.de", "jane@gmx.de", V, "jane@gmx.de", ("free",), ()),
    # typo domains, every family
    *[
        (
            f"jane@{typo}",
            f"jane@{fixed}",
            C,
            f"jane@{'gmail.com' if fixed == 'googlemail.com' else fixed}",
            ("typo_domain", "free"),
            ("corrected domain", typo, fixed),
        )
        for typo, fixed in [
            ("gmial.com", "gmail.com"),
            ("gmai.com", "gmail.com"),
            ("gmal.com", "gmail.com"),
            ("gmail.con", "gmail.com"),
            ("gmail.co", "gmail.com"),
            ("gmail.cm", "gmail.com"),
            ("gamil.com", "gmail.com"),
            ("hotmial.com", "hotmail.com"),
            ("hotmail.con", "hotmail.com"),
            ("hotmal.com", "hotmail.com"),
            ("hotmial.fr", "hotmail.fr"),
            ("yahooo.com", "yahoo.com"),
            ("yaho.com", "yahoo.com"),
            ("yahoo.con", "yahoo.com"),
            ("outlok.com", "outlook.com"),
            ("outlook.con", "outlook.com"),
            ("iclod.com", "icloud.com"),
            ("icloud.con", "icloud.com"),
            ("gmx.dee", "gmx.de"),
            ("t-onlin.de", "t-online.de"),
            ("googlemial.com", "googlemail.com"),
            ("yahhoo.fr", "yahoo.fr"),  # rule, not table: one edit, same provider and TLD
            ("hotmaill.co.uk", "hotmail.co.uk"),
        ]
    ],
    ("Jane.Doe@Gmial.com", "jane.doe@gmail.com", C, "janedoe@gmail.com",
     ("typo_domain", "free"), ()),
    # never "corrected": real domains near a provider, other TLDs, company domains
    ("jane@ymail.com", "jane@ymail.com", V, "jane@ymail.com", ("free",), ()),
    ("jane@mail.com", "jane@mail.com", V, "jane@mail.com", ("free",), ()),
    ("jane@email.com", "jane@email.com", V, "jane@email.com", ("free",), ()),
    ("jane@hotmail.co", "jane@hotmail.co", V, "jane@hotmail.co", (), ()),
    ("jane@gmail.de", "jane@gmail.de", V, "jane@gmail.de", (), ()),
    ("jane@ao.com", "jane@ao.com", V, "jane@ao.com", (), ()),
    ("jane@cloud.com", "jane@cloud.com", V, "jane@cloud.com", (), ()),
    ("jane@gail.com", "jane@gail.com", V, "jane@gail.com", (), ()),
    ("jane@yahoo-inc.com", "jane@yahoo-inc.com", V, "jane@yahoo-inc.com", (), ()),
    ("jane@mail.gmial.com", "jane@mail.gmial.com", V, "jane@mail.gmial.com", (), ()),
    # role mailboxes: valid, tagged
    ("Info@Acme.de", "info@acme.de", V, "info@acme.de", ("role",), ("role mailbox", "info@")),
    ("support+eu@acme.com", "support+eu@acme.com", V, "support@acme.com", ("role",), ("support@",)),
    ("Kontakt@Firma.de", "kontakt@firma.de", V, "kontakt@firma.de", ("role",), ("kontakt@",)),
    ("no-reply@acme.com", "no-reply@acme.com", V, "no-reply@acme.com", ("role",), ("role",)),
    ("info@gmx.de", "info@gmx.de", V, "info@gmx.de", ("free", "role"), ("role",)),
    # disposable and placeholder: suspicious
    ("x7@mailinator.com", "x7@mailinator.com", S, "x7@mailinator.com", ("disposable",),
     ("disposable",)),
    ("a@yopmail.com", "a@yopmail.com", S, "a@yopmail.com", ("disposable",), ("disposable",)),
    ("a@eu.guerrillamail.com", "a@eu.guerrillamail.com", S, "a@eu.guerrillamail.com",
     ("disposable",), ("guerrillamail.com",)),
    ("test@test.com", "test@test.com", S, "test@test.com", ("placeholder",), ("placeholder",)),
    ("Jane@Example.org", "jane@example.org", S, "jane@example.org", ("placeholder",),
     ("example.org",)),
    ("jane@example.net", "jane@example.net", S, "jane@example.net", ("placeholder",),
     ("placeholder",)),
    ("noemail@acme.de", "noemail@acme.de", S, "noemail@acme.de", ("placeholder",), ("noemail@",)),
    ("none@gmail.com", "none@gmail.com", S, "none@gmail.com", ("free", "placeholder"), ("none@",)),
    ("asdf@asdf.com", "asdf@asdf.com", S, "asdf@asdf.com", ("placeholder",), ("placeholder",)),
    ("asdf@asdf", "asdf@asdf", X, None, (), ("top-level domain",)),
    ("jane@shop.test", "jane@shop.test", S, "jane@shop.test", ("placeholder",), ("placeholder",)),
]  # fmt: skip

BLANKS: list[str | None] = [None, "", "   ", "\t\n"]


@pytest.mark.parametrize(("raw", "value", "flag", "key", "tags", "words"), CASES)
def test_standardize_email(
    raw: str,
    value: str,
    flag: Flag,
    key: str | None,
    tags: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    result = standardize_email(raw)
    assert (result.value, result.flag, result.key, result.tags) == (value, flag, key, tags)
    joined = " | ".join(result.notes)
    for word in words:
        assert word in joined
    if flag is Flag.INVALID:
        assert len(result.notes) == 1


@pytest.mark.parametrize("raw", BLANKS)
def test_blank_is_missing(raw: str | None) -> None:
    assert standardize_email(raw) == MISSING


def test_tables_are_consistent() -> None:
    """A correction must land on a free-mail domain and never start from a real one."""
    for typo, fixed in TYPO_DOMAINS.items():
        assert fixed in FREE_MAIL_DOMAINS, fixed
        assert typo not in FREE_MAIL_DOMAINS, typo
        assert typo not in DISPOSABLE_DOMAINS, typo
    assert not FREE_MAIL_DOMAINS & DISPOSABLE_DOMAINS
    assert len(DISPOSABLE_DOMAINS) >= 50


def _column_matches_rows(raws: list[str | None]) -> None:
    got = standardize_email_column(pl.Series("email", raws, dtype=pl.Utf8))
    expected = to_frame([standardize_email(raw) for raw in raws])
    assert got.schema == expected.schema
    assert got.to_dicts() == expected.to_dicts()


def test_column_matches_rows_on_table() -> None:
    _column_matches_rows([*(case[0] for case in CASES), *BLANKS])


def test_column_keeps_row_order_and_repeats() -> None:
    raws: list[str | None] = ["b@acme.de", "jane@gmial.com", None, "A@acme.de", "b@acme.de"]
    got = standardize_email_column(pl.Series(raws))
    assert got.get_column("value").to_list() == [
        "b@acme.de",
        "jane@gmail.com",
        None,
        "a@acme.de",
        "b@acme.de",
    ]
    assert got.get_column("flag").to_list() == ["valid", "corrected", "missing", "valid", "valid"]


def test_column_empty_and_all_null() -> None:
    assert standardize_email_column(pl.Series([], dtype=pl.Utf8)).height == 0
    _column_matches_rows([None, None])
    got = standardize_email_column(pl.Series([None, None]))
    assert got.get_column("flag").to_list() == ["missing", "missing"]


def _generated(n: int, seed: int) -> list[str | None]:
    """Mixed real-world-looking cells: mostly plain, with every odd shape sprinkled in."""
    rng = random.Random(seed)
    firsts = ["jane", "John", "anna-lena", "o'brien", "MÜLLER", "li", "x_y", "jean.luc"]
    lasts = ["doe", "Smith", "schmidt", "nguyen", "o.neil", "", "1984"]
    domains = [
        "acme.com", "Acme.DE", "gmail.com", "googlemail.com", "gmial.com", "gmail.con",
        "hotmail.fr", "hotmial.com", "yahoo.co.uk", "web.de", "gmx.net", "mailinator.com",
        "example.com", "sub.corp.co.uk", "bücher.de", "xn--bcher-kva.de", "acme", "ac_me.com",
        "outlok.com", "t-online.de", "mail.ru", "test.com", "yaho.com", "a-b.io",
    ]  # fmt: skip
    wraps = ["{}", "{}", "{}", "{}", " {} ", "<{}>", "Jane Doe <{}>", "mailto:{}", "{}.", "{}\t"]
    cells: list[str | None] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.03:
            cells.append(rng.choice([None, "", "  "]))
            continue
        if roll < 0.06:
            local = rng.choice(["info", "Support", "kontakt", "noemail", "test", "none"])
        else:
            first, last = rng.choice(firsts), rng.choice(lasts)
            sep = rng.choice([".", "_", "", "-", "..", "+crm."]) if last else ""
            local = f"{first}{sep}{last}"
            if rng.random() < 0.05:
                local += rng.choice(["+news", ".", "@x", " "])
        address = f"{local}@{rng.choice(domains)}"
        if rng.random() < 0.02:
            address = address.replace("@", "", 1)
        cells.append(rng.choice(wraps).format(address))
    return cells


def test_column_matches_rows_on_generated() -> None:
    raws = _generated(2000, seed=7)
    _column_matches_rows(raws)
    got = standardize_email_column(pl.Series(raws))
    assert got.height == len(raws)
    # enough of every outcome that the test really compares both paths
    flags = set(got.get_column("flag").to_list())
    assert flags == {"valid", "corrected", "invalid", "missing", "suspicious"}
