"""Person names: proper case, full-name parsing, nickname-aware keys, and column cleaning.

Names are the most repeated values in a contact export, so the column function analyses each
distinct first name and each distinct last name once, lays the common case (both given, no
pair-level rule applies) out with Polars, and only sends the rare rows that need both parts
at once (swapped names, placeholder pairs, parsing a full name) through `standardize_name`.
`nameparser` is slow and is only asked about full names that simple rules cannot split
(quotes, parentheses, couples, five or more name words).

Rules worth knowing:
- Case is only changed for a word typed all upper or all lower; "DeShawn" stays as typed.
- Name particles (van, de la, al, bin…) are lower-cased when a surname follows them.
- "SURNAME Given" (leading all-caps words, then capitalized ones) is read surname first.
- Spanish compound names: four plain words without a comma are two given names and two
  surnames ("María José García López"); three words whose second is a common Spanish or
  Portuguese surname that is not also a first name are one given name and two surnames.
- First and last are swapped only when the given first name is a known surname that is not a
  first name and the given last name is a known first name ("Smith" / "John").
- An invalid full name (with no first or last given) is kept, trimmed, as the last name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import polars as pl
from nameparser import HumanName

from rolodex.clean.base import Flag, blank
from rolodex.clean.nicknames import FIRST_NAMES, HISPANIC_SURNAMES, NICKNAMES, SURNAMES

Role = Literal["first", "last"]

# -- tables -----------------------------------------------------------------------------------

_PARTICLES = frozenset(
    "van von vom der den de del della delle dei degli da di du des dos das do le la les "
    "zu zum zur ter ten te het bin bint ibn al el af av".split()
)
"""Lower-cased inside a name when a surname follows: "van der Berg", "de la Cruz"."""

_HYPHEN_PARTICLES = frozenset({"al", "el"})
"""Arabic articles joined by a hyphen stay lower case: "al-Saud", "el-Sayed"."""

_MAC_NAMES = frozenset(
    "macdonald macarthur mackenzie macleod macgregor macintyre maclean macmillan macneil "
    "macpherson macaulay macintosh mackay mackinnon maclachlan macrae macdougall macfarlane "
    "mackintosh macnamara maclaren macdonnell macquarrie macalister macallister maccallum "
    "maccormack macewan macfadyen maclennan macmaster macnab macnaughton macqueen macinnes "
    "macisaac macdermott macguire macmahon macbride maccarthy macgowan macaskill maccoll "
    "macneill macneal macaulay macbeth maccabe macduff maciver mackillop maclellan".split()
)
"""Mac-names written MacX; others ("Macy", "Mackie", "Mace") are ordinary words."""

_ROMAN = frozenset({"ii", "iii", "iv"})

_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor sir dame lord lady herr frau mme mlle madame "
    "monsieur sra srta rev revd dhr mevr sheikh sheikha rabbi imam".split()
)
_DOTTED_TITLES = frozenset(
    "gen col capt maj lt sgt hon fr ir drs mag ing dott avv sr dipl dipl.-ing dr.-ing".split()
)
"""Titles that are also names or words, recognised only when written with a period."""

_SUFFIXES = frozenset(
    "jr sr snr jnr ii iii iv phd md esq dds dmd dvm mba cpa jd rn obe mbe cbe kc qc msc "
    "bsc mph llm".split()
)
_UPPER_SUFFIXES = _SUFFIXES - {"jr", "sr", "snr", "jnr", "esq", "phd"}

_JUNK = frozenset(
    "n/a n.a. n.a #n/a na. none null nil. unknown unbekannt desconocido desconocida inconnu "
    "sconosciuto onbekend test tester testing xxx xx x tbd tba noname no-name undefined "
    "anonymous anonym not-applicable notapplicable".split()
) | {"no name", "not applicable", "not available", "n / a"}
_JUNK_EXACT = frozenset({"nan", "NaN", "NAN"})
"""Case-sensitive: "Nan" is a name, "nan" is a spreadsheet's empty cell."""

_PLACEHOLDER_WORDS = frozenset(
    "asdf asdfg asdfgh asdfghjkl qwer qwert qwerty qwertz yxcv xyz abc abcd abcde dummy "
    "lorem ipsum blah blabla mustermann musterfrau".split()
)
_PLACEHOLDER_PAIRS = frozenset(
    {
        ("test", "test"),
        ("test", "user"),
        ("test", "testperson"),
        ("max", "mustermann"),
        ("erika", "mustermann"),
        ("maxi", "mustermann"),
        ("john", "doe"),
        ("jane", "doe"),
        ("mickey", "mouse"),
        ("donald", "duck"),
        ("foo", "bar"),
        ("lorem", "ipsum"),
        ("first", "last"),
        ("firstname", "lastname"),
        ("vorname", "nachname"),
        ("nombre", "apellido"),
        ("prenom", "nom"),
        ("fulano", "detal"),
        ("ola", "nordmann"),
        ("kari", "nordmann"),
        ("asdf", "asdf"),
    }
)
"""(name_key, surname_key) pairs that are test data, not people."""
_PAIR_FIRSTS = frozenset(p[0] for p in _PLACEHOLDER_PAIRS)
_PAIR_LASTS = frozenset(p[1] for p in _PLACEHOLDER_PAIRS)

_FOLD = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)
_HARD = re.compile(r"[\"()\[\]{}/+&]|(?:^|\s)(?:and|und|et|en|och|og)(?:\s|$)", re.IGNORECASE)
"""Full names only nameparser should read: nicknames in quotes, couples, slashes."""
_COUPLE = re.compile(r"[/+&]|(?:^|\s)(?:and|und|et|en|och|og)(?:\s|$)", re.IGNORECASE)
_PIECES = re.compile(r"([-'’.])")
_INITIAL = re.compile(r"^\w\.?$")
_LETTER = re.compile(r"[^\W\d_]")
# A user name typed where the name goes ("juergen.neuer", "moritz_krause", "j.smith"): runs
# of letters joined by dots or underscores, no space. Helpdesks and forms fill the name with it.
_WORD = r"[^\W\d_]+(?:-[^\W\d_]+)*"  # letters, hyphenated parts allowed ("anne-sophie")
_USER_NAME = re.compile(rf"{_WORD}(?:[._]{_WORD})+")
_DIGIT = re.compile(r"\d")
_SEVERITY = {Flag.VALID: 0, Flag.CORRECTED: 1, Flag.SUSPICIOUS: 2, Flag.INVALID: 3}
_BY_SEVERITY = {v: k for k, v in _SEVERITY.items()}


# -- keys -------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    """Lower-case with accents removed, so "Müller", "MULLER" and "müller" compare equal."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=65536)
def _letters(text: str) -> str:
    """The folded letters only: spacing, hyphens and apostrophes differ between sources."""
    return "".join(c for c in _fold(text) if c.isalpha())


def name_key(first: str | None) -> str | None:
    """Match key for a first name: folded, and a known nickname replaced by its formal name."""
    if first is None:
        return None
    letters = _letters(first)
    if not letters:
        return None
    return NICKNAMES.get(letters, letters)


def surname_key(last: str | None) -> str | None:
    """Match key for a surname: folded letters only, particles kept ("vanderberg")."""
    if last is None:
        return None
    return _letters(last) or None


# -- proper case ------------------------------------------------------------------------------


def _lower(token: str) -> str:
    """Lower-case, without the stray combining dot Python adds to a Turkish "İ"."""
    return token.lower().replace("i\u0307", "i")


def _cap(word: str) -> str:
    """Capitalize one lower-case word, knowing Mc-, curated Mac- and Dutch IJ- names."""
    if not word:
        return word
    if word.startswith("i\u0307"):  # Turkish dotted capital I, lowered by Python as i + dot
        return "İ" + word[2:]
    if word.startswith("mc") and len(word) > 2:
        return "Mc" + word[2].upper() + word[3:]
    if word in _MAC_NAMES:
        return "Mac" + word[3].upper() + word[4:]
    if word.startswith("ij"):
        return "IJ" + word[2:]
    return word[0].upper() + word[1:]


def _one_case(token: str) -> bool:
    """Tell whether a word was typed all upper or all lower ("STRAUß" counts as upper)."""
    return token.replace("ß", "").isupper() or token.islower()


def _case_token(token: str, index: int, count: int) -> str:
    """Case one whitespace-separated word given its place in the name."""
    if not _one_case(token):
        return token  # mixed case was typed on purpose, or there is nothing to case
    low = _lower(token)
    if low in _PARTICLES and index < count - 1:
        return low
    if low in _ROMAN and index > 0:
        return token.upper()
    pieces = [p[:2] + _lower(p[2:]) for p in _PIECES.split(token.lower())]
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if i % 2:  # a separator
            out.append(piece)
        elif (
            piece in _HYPHEN_PARTICLES
            and i + 2 < len(pieces)
            and pieces[i + 1] == "-"
            and pieces[i + 2]
        ):
            out.append(piece)
        else:
            out.append(_cap(piece))
    return "".join(out)


def proper_case(name: str) -> str:
    """Proper-case a name the way its bearer writes it; words typed in mixed case are kept."""
    tokens = name.split()
    count = len(tokens)
    return " ".join(_case_token(t, i, count) for i, t in enumerate(tokens))


def _case_title(token: str) -> str:
    """Case a title: "DR." -> "Dr.", "dipl.-ing." -> "Dipl.-Ing."; mixed case kept."""
    if not (token.isupper() or token.islower()):
        return token
    if _lower(token) in {"and", "und", "et", "&"}:
        return _lower(token)
    return "-".join(p[:1].upper() + p[1:].lower() for p in token.split("-"))


def _case_suffix(token: str) -> str:
    """Case a suffix: "JR." -> "Jr.", "phd" -> "PhD", "md" -> "MD"; mixed case kept."""
    if not (token.isupper() or token.islower()):
        return token
    key = token.lower().replace(".", "")
    if key == "phd":
        return "Ph.D." if "." in token else "PhD"
    if key in _UPPER_SUFFIXES:
        return token.upper()
    return token[:1].upper() + token[1:].lower()


# -- full names -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameParts:
    """A full name split into its parts, each proper-cased, None when absent."""

    title: str | None = None
    first: str | None = None
    middle: str | None = None
    last: str | None = None
    suffix: str | None = None


def _is_title(token: str) -> bool:
    """Tell whether a word is a title ("Dr.", "Herr"); short ambiguous ones need a period."""
    low = _fold(token)
    bare = low.rstrip(".")
    return bare in _TITLES or (low.endswith(".") and bare in _DOTTED_TITLES)


def _is_suffix(token: str) -> bool:
    """Tell whether a word is a generational or academic suffix ("Jr.", "III", "PhD")."""
    return _fold(token).replace(".", "") in _SUFFIXES


def _is_initial(token: str) -> bool:
    return _INITIAL.match(token) is not None


def _collapse(raw: str) -> str:
    """Trim, collapse inner whitespace and drop stray separators at the ends."""
    return " ".join(raw.split()).strip(" ,;")


def _join(tokens: Sequence[str]) -> str | None:
    return " ".join(tokens) or None


def _parts(
    title: Sequence[str],
    first: Sequence[str],
    middle: Sequence[str],
    last: Sequence[str],
    suffix: Sequence[str],
) -> NameParts:
    """Assemble proper-cased parts from token lists."""
    return NameParts(
        title=_join([_case_title(t) for t in title]),
        first=proper_case(" ".join(first)) or None,
        middle=proper_case(" ".join(middle)) or None,
        last=proper_case(" ".join(last)) or None,
        suffix=_join([_case_suffix(t) for t in suffix]),
    )


def _via_nameparser(text: str) -> NameParts:
    """Let nameparser split what the simple rules cannot (quotes, couples, long names)."""
    human = HumanName(text)

    def part(value: str) -> list[str]:
        return value.split()

    return _parts(
        part(human.title),
        part(human.first),
        part(human.middle),
        part(human.last),
        part(human.suffix),
    )


def _split_affixes(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Take leading titles and trailing suffixes off, keeping at least one name word."""
    start = 0
    while start < len(tokens) - 1 and _is_title(tokens[start]):
        start += 1
    end = len(tokens)
    while end - 1 > start and _is_suffix(tokens[end - 1]):
        end -= 1
    return tokens[:start], tokens[start:end], tokens[end:]


def _surname_first(core: list[str]) -> int:
    """Count leading all-caps words when the rest are capitalized ("DOE Jane"); else 0."""
    k = 0
    while k < len(core) and core[k].isupper() and sum(c.isalpha() for c in core[k]) > 1:
        k += 1
    if k == 0 or k == len(core):
        return 0
    rest = core[k:]
    if all(t[:1].isupper() and any(c.islower() for c in t) for t in rest):
        return k
    return 0


@lru_cache(maxsize=65536)
def parse_full_name(raw: str) -> NameParts:
    """Split a full name into title, first, middle, last and suffix, each proper-cased."""
    text = _collapse(raw)
    if not text:
        return NameParts()
    if _HARD.search(text):
        return _via_nameparser(text)
    segments = [s.strip() for s in text.split(",") if s.strip()]
    trailing: list[str] = []
    while len(segments) > 1 and all(_is_suffix(t) for t in segments[-1].split()):
        trailing = segments.pop().split() + trailing
    if len(segments) > 2:
        return _via_nameparser(text)
    if len(segments) == 2:  # "Last, First Middle"
        title, last, suffix = _split_affixes(segments[0].split())
        more_title, given, more_suffix = _split_affixes(segments[1].split())
        return _parts(
            [*title, *more_title],
            given[:1],
            given[1:],
            last,
            [*suffix, *more_suffix, *trailing],
        )
    title, core, suffix = _split_affixes(segments[0].split())
    suffix = [*suffix, *trailing]
    n = len(core)
    if n == 1:
        if title and _is_title(core[0]):
            return _parts([*title, *core], [], [], [], suffix)
        return _parts(title, [], [], core, suffix) if title else _parts([], core, [], [], suffix)
    k = _surname_first(core)
    if k:
        return _parts(title, core[k:], [], core[:k], suffix)
    for i in range(1, n - 1):
        if _lower(core[i]) in _PARTICLES:
            return _parts(title, core[:1], core[1:i], core[i:], suffix)
    if n >= 5:
        return _via_nameparser(text)
    if n == 4 and not any(_is_initial(t) for t in core):
        return _parts(title, core[:2], [], core[2:], suffix)
    if n == 3:
        second = _letters(core[1])
        if second in HISPANIC_SURNAMES and second not in FIRST_NAMES and not _is_initial(core[2]):
            return _parts(title, core[:1], [], core[1:], suffix)
    return _parts(title, core[:1], core[1:-1], core[-1:], suffix)


# -- standardize ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameResult:
    """A standardized person name with its quality and match keys."""

    title: str | None
    first: str | None
    middle: str | None
    last: str | None
    suffix: str | None
    flag: Flag
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    first_key: str | None = None
    last_key: str | None = None


_MISSING = NameResult(None, None, None, None, None, Flag.MISSING)


@dataclass(frozen=True, slots=True)
class _Field:
    """One name field analysed on its own: what the pair rules and the columns build on."""

    text: str | None = None
    title: str | None = None
    middle: str | None = None
    suffix: str | None = None
    flag: Flag = Flag.VALID
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    key: str | None = None


_EMPTY = _Field()


def _junk_reason(text: str) -> str | None:
    """Say why a text is clearly not a name, or None when it may be one."""
    if _LETTER.search(text) is None:
        return "holds no letters"
    if "@" in text:
        return "is an email address"
    if _DIGIT.search(text) is not None:
        return "contains digits"
    low = _fold(text)
    if low.startswith(("http:", "https:", "www.")):
        return "is a web address"
    if low in _JUNK or text in _JUNK_EXACT:
        return "is a placeholder, not a name"
    return None


def _placeholder_word(text: str) -> bool:
    """Keyboard mashes and template names ("asdf", "Mustermann", "zzzz")."""
    letters = _letters(text)
    return letters in _PLACEHOLDER_WORDS or (len(letters) >= 3 and len(set(letters)) == 1)


@lru_cache(maxsize=65536)
def _field(raw: str, role: Role) -> _Field:
    """Analyse a given first or last name: junk, title/suffix/initial inside it, case, key."""
    text = _collapse(raw)
    reason = _junk_reason(text)
    if reason is not None:
        return _Field(text=text, flag=Flag.INVALID, notes=(f"{role} name {text!r} {reason}",))
    tokens = text.split()
    if all(_is_title(t) for t in tokens):  # "Mr." typed in the first-name box
        title_only = _join([_case_title(t) for t in tokens])
        return _Field(title=title_only, notes=(f"title {text!r} moved out of the {role} name",))
    title, core, suffix = _split_affixes(tokens)
    notes: list[str] = []
    middle: str | None = None
    if title:
        notes.append(f"title {' '.join(title)!r} moved out of the {role} name")
    if suffix:
        notes.append(f"suffix {' '.join(suffix)!r} moved out of the {role} name")
    if role == "first" and len(core) > 1 and _is_initial(core[-1]):
        middle = proper_case(core[-1])
        notes.append(f"middle initial {core[-1]!r} moved out of the first name")
        core = core[:-1]
    cased = proper_case(" ".join(core))
    flag = Flag.VALID
    tags: tuple[str, ...] = ()
    if _placeholder_word(cased):
        flag = Flag.SUSPICIOUS
        tags = ("placeholder",)
        notes.append(f"{role} name {cased!r} looks like a placeholder")
    return _Field(
        text=cased,
        title=_join([_case_title(t) for t in title]),
        middle=middle,
        suffix=_join([_case_suffix(t) for t in suffix]),
        flag=flag,
        notes=tuple(notes),
        tags=tags,
        key=name_key(cased) if role == "first" else surname_key(cased),
    )


def _joined(*values: str | None) -> str | None:
    return " ".join(v for v in values if v) or None


def _merge(first: _Field, last: _Field, *extra: _Field) -> NameResult:
    """Lay two analysed fields out as one result; the columns do exactly this in Polars."""
    fields = (first, last, *extra)
    return NameResult(
        title=_joined(*(f.title for f in fields)),
        first=first.text,
        middle=first.middle,
        last=last.text,
        suffix=_joined(*(f.suffix for f in fields)),
        flag=_BY_SEVERITY[max(_SEVERITY[f.flag] for f in fields)],
        notes=tuple(n for f in fields for n in f.notes),
        tags=tuple(dict.fromkeys(t for f in fields for t in f.tags)),
        first_key=first.key,
        last_key=last.key,
    )


def _pair_key(first: _Field, last: _Field) -> tuple[str | None, str | None]:
    return name_key(first.text), surname_key(last.text)


def _swap_candidate(first: _Field) -> bool:
    """A first name that is a known surname and no known first name ("Smith", "García")."""
    letters = _letters(first.text or "")
    return (
        first.flag is Flag.VALID
        and first.middle is None
        and letters in SURNAMES
        and letters not in FIRST_NAMES
    )


def _given_candidate(last: _Field) -> bool:
    """A last name that is a known first name ("John", "María")."""
    return last.flag is Flag.VALID and _letters(last.text or "") in FIRST_NAMES


def _combine(first: _Field, last: _Field, *extra: _Field, swap: bool = True) -> NameResult:
    """Apply the rules that need both names (placeholder pair, swap), else merge."""
    if first.text and last.text and _pair_key(first, last) in _PLACEHOLDER_PAIRS:
        given, family = proper_case(first.text), proper_case(last.text)
        base = _merge(first, last, *extra)
        return replace(
            base,
            first=given,
            last=family,
            flag=Flag.SUSPICIOUS,
            notes=(f"'{given} {family}' is a placeholder name",),
            tags=tuple(dict.fromkeys([*base.tags, "placeholder"])),
            first_key=name_key(given),
            last_key=surname_key(family),
        )
    if swap and _swap_candidate(first) and _given_candidate(last):
        base = _merge(first, last, *extra)
        return replace(
            base,
            first=last.text,
            last=first.text,
            flag=_BY_SEVERITY[max(_SEVERITY[base.flag], _SEVERITY[Flag.CORRECTED])],
            notes=(
                *base.notes,
                f"first name {first.text!r} and last name {last.text!r} were swapped",
            ),
            tags=tuple(dict.fromkeys([*base.tags, "swapped"])),
            first_key=name_key(last.text),
            last_key=surname_key(first.text),
        )
    return _merge(first, last, *extra)


@lru_cache(maxsize=65536)
def _full_fields(raw: str) -> tuple[_Field, _Field, _Field]:
    """Analyse a full name as (first field, last field, whole-name findings)."""
    text = _collapse(raw)
    reason = _junk_reason(text)
    if reason is not None:
        note = f"full name {text!r} {reason}"
        return _EMPTY, _Field(text=text, flag=Flag.INVALID, notes=(note,)), _EMPTY
    if all(_is_title(t) for t in text.split()):
        return (
            _EMPTY,
            _Field(text=text, flag=Flag.INVALID, notes=(f"full name {text!r} is only a title",)),
            _EMPTY,
        )
    whole = _EMPTY
    if _USER_NAME.fullmatch(text):
        # Read the parts as the name, flagged: the order ("lena.schulz", "schulz.lena") is
        # a guess that matching's swapped-name level absorbs.
        spoken = " ".join(proper_case(p) for p in re.split("[._]", text))
        whole = _Field(
            flag=Flag.SUSPICIOUS,
            notes=(f"full name {text!r} looks like a user name; read as {spoken!r}",),
            tags=("user_name",),
        )
        text = spoken
    parts = parse_full_name(text)
    if _COUPLE.search(text):
        whole = _Field(
            flag=Flag.SUSPICIOUS,
            notes=(f"full name {text!r} names more than one person",),
            tags=("couple",),
        )
    notes: dict[str, tuple[str, ...]] = {"first": (), "last": ()}
    for role, value in (("first", parts.first), ("last", parts.last)):
        if value and _placeholder_word(value):
            notes[role] = (f"{role} name {value!r} looks like a placeholder",)
    first = _Field(
        text=parts.first,
        title=parts.title,
        middle=parts.middle,
        flag=Flag.SUSPICIOUS if notes["first"] else Flag.VALID,
        notes=notes["first"],
        tags=("placeholder",) if notes["first"] else (),
        key=name_key(parts.first),
    )
    last = _Field(
        text=parts.last,
        suffix=parts.suffix,
        flag=Flag.SUSPICIOUS if notes["last"] else Flag.VALID,
        notes=notes["last"],
        tags=("placeholder",) if notes["last"] else (),
        key=surname_key(parts.last),
    )
    return first, last, whole


# One comma between two runs of name words: "Roche, Alexandre", "García Pérez, María José"
# (no digits, no second comma, nothing that is only a suffix after it: "Smith, Jr." is no
# first name).
_LAST_COMMA_FIRST = re.compile(
    r"\s*([^\W\d_][^,\d]*),\s*(?!(?:jr|sr|ii|iii|iv|phd|md|esq)\.?\s*$)([^\W\d_][^,\d]*)",
    re.IGNORECASE,
)


def standardize_name(*, first: str | None, last: str | None, full: str | None) -> NameResult:
    """Standardize a person's name from first/last fields, falling back on the full name."""
    given = None if blank(first) else _field(first or "", "first")
    family = None if blank(last) else _field(last or "", "last")
    if given is not None and family is not None:
        return _combine(given, family)
    if blank(full):
        if given is None and family is None:
            return _MISSING
        lone, field = (first, "first") if given is not None else (last, "last")
        if lone is not None and _LAST_COMMA_FIRST.fullmatch(lone):
            # "Roche, Alexandre" typed into one name field, the other left empty: a whole
            # name, written the way a list sorted by surname shows it.
            read = standardize_name(first=None, last=None, full=lone)
            if read.first_key is not None and read.last_key is not None:
                return replace(
                    read,
                    flag=_BY_SEVERITY[max(_SEVERITY[read.flag], _SEVERITY[Flag.CORRECTED])],
                    notes=(
                        *read.notes,
                        f"{field} name {lone.strip()!r} read as a whole name, last name first",
                    ),
                    tags=tuple(dict.fromkeys([*read.tags, "last_first"])),
                )
        return _merge(given or _EMPTY, family or _EMPTY)
    parsed_first, parsed_last, whole = _full_fields(full or "")
    # keep the given name, take what else the full name says
    if given is not None and given.title is None and parsed_first.title is not None:
        given = replace(given, title=parsed_first.title)
    if family is not None and family.suffix is None and parsed_last.suffix is not None:
        family = replace(family, suffix=parsed_last.suffix)
    return _combine(given or parsed_first, family or parsed_last, whole, swap=False)


# -- columns ----------------------------------------------------------------------------------

_SCHEMA: dict[str, pl.DataType] = {
    "title": pl.Utf8(),
    "first": pl.Utf8(),
    "middle": pl.Utf8(),
    "last": pl.Utf8(),
    "suffix": pl.Utf8(),
    "flag": pl.Utf8(),
    "notes": pl.List(pl.Utf8()),
    "tags": pl.List(pl.Utf8()),
    "first_key": pl.Utf8(),
    "last_key": pl.Utf8(),
}


_SEP = "\x1f"  # notes quote names with repr(), so a raw unit separator never shows up in them


def _list_column(values: Sequence[Sequence[str]]) -> pl.Series:
    """Build a list[str] column fast: Polars converts Python lists one Series at a time."""
    flat = pl.Series([_SEP.join(v) for v in values], dtype=pl.Utf8)
    empty = pl.lit([], dtype=pl.List(pl.Utf8))
    split = pl.when(pl.col("v") == "").then(empty).otherwise(pl.col("v").str.split(_SEP))
    return pl.DataFrame({"v": flat}).select(split.alias("v"))["v"]


def _results_frame(results: Sequence[NameResult]) -> pl.DataFrame:
    """Lay name results out as the columns of `standardize_name_columns`."""
    data: dict[str, Any] = {
        "title": [r.title for r in results],
        "first": [r.first for r in results],
        "middle": [r.middle for r in results],
        "last": [r.last for r in results],
        "suffix": [r.suffix for r in results],
        "flag": [r.flag.value for r in results],
        "notes": _list_column([r.notes for r in results]),
        "tags": _list_column([r.tags for r in results]),
        "first_key": [r.first_key for r in results],
        "last_key": [r.last_key for r in results],
    }
    return pl.DataFrame(data, schema=_SCHEMA)


def _field_table(values: pl.Series, role: Role, p: str) -> pl.DataFrame:
    """Analyse each distinct value of a name column once; columns prefixed with `p`."""
    distinct: list[str | None] = values.unique().to_list()
    rows: dict[str, Any] = {
        k: [] for k in ("blank", "text", "title", "middle", "suffix", "sev", "notes", "tags", "key")
    }
    rows["pair"] = []
    rows["swap"] = []
    for value in distinct:
        empty = blank(value)
        f = _EMPTY if empty else _field(value or "", role)
        rows["blank"].append(empty)
        rows["text"].append(f.text)
        rows["title"].append(f.title)
        rows["middle"].append(f.middle)
        rows["suffix"].append(f.suffix)
        rows["sev"].append(_SEVERITY[f.flag])
        rows["notes"].append(f.notes)
        rows["tags"].append(f.tags)
        rows["key"].append(f.key)
        if role == "first":
            rows["pair"].append(name_key(f.text) in _PAIR_FIRSTS)
            rows["swap"].append(_swap_candidate(f))
        else:
            rows["pair"].append(surname_key(f.text) in _PAIR_LASTS)
            rows["swap"].append(_given_candidate(f))
    schema: dict[str, pl.DataType] = {
        "blank": pl.Boolean(),
        "text": pl.Utf8(),
        "title": pl.Utf8(),
        "middle": pl.Utf8(),
        "suffix": pl.Utf8(),
        "sev": pl.Int8(),
        "notes": pl.List(pl.Utf8()),
        "tags": pl.List(pl.Utf8()),
        "key": pl.Utf8(),
        "pair": pl.Boolean(),
        "swap": pl.Boolean(),
    }
    rows["notes"] = _list_column(rows["notes"])
    rows["tags"] = _list_column(rows["tags"])
    table = pl.DataFrame(rows, schema=schema).rename({k: p + k for k in schema})
    return table.with_columns(pl.Series(role, distinct, dtype=pl.Utf8))


def _joined_expr(a: str, b: str) -> pl.Expr:
    """Polars twin of `_joined` for two columns: space-joined, None when both are None."""
    both_null = pl.col(a).is_null() & pl.col(b).is_null()
    joined = pl.concat_str([pl.col(a), pl.col(b)], separator=" ", ignore_nulls=True)
    return pl.when(both_null).then(None).otherwise(joined)


def standardize_name_columns(first: pl.Series, last: pl.Series, full: pl.Series) -> pl.DataFrame:
    """`standardize_name` over columns, one row per input row, computed per distinct value.

    Each distinct first and last name is analysed once; rows where both are given and no
    pair rule can apply are assembled in Polars. The rest (a name missing, a possible swap or
    placeholder pair) go through `standardize_name` once per distinct combination.
    """
    frame = pl.DataFrame(
        {
            "first": first.cast(pl.Utf8),
            "last": last.cast(pl.Utf8),
            "full": full.cast(pl.Utf8),
        }
    ).with_row_index("__row")
    joined = frame.join(
        _field_table(frame["first"], "first", "f_"), on="first", how="left", nulls_equal=True
    ).join(_field_table(frame["last"], "last", "l_"), on="last", how="left", nulls_equal=True)
    both = ~pl.col("f_blank") & ~pl.col("l_blank")
    fast_rows = (
        both & ~(pl.col("f_pair") & pl.col("l_pair")) & ~(pl.col("f_swap") & pl.col("l_swap"))
    )
    joined = joined.with_columns(__fast=fast_rows, __both=both)
    fast = joined.filter(pl.col("__fast")).select(
        "__row",
        title=_joined_expr("f_title", "l_title"),
        first=pl.col("f_text"),
        middle=pl.col("f_middle"),
        last=pl.col("l_text"),
        suffix=_joined_expr("f_suffix", "l_suffix"),
        flag=pl.max_horizontal("f_sev", "l_sev").replace_strict(
            {s: f.value for s, f in _BY_SEVERITY.items()}, return_dtype=pl.Utf8
        ),
        notes=pl.concat_list("f_notes", "l_notes"),
        tags=pl.concat_list("f_tags", "l_tags").list.unique(maintain_order=True),
        first_key=pl.col("f_key"),
        last_key=pl.col("l_key"),
    )
    slow_in = joined.filter(~pl.col("__fast")).select(
        "__row",
        __first=pl.col("first"),
        __last=pl.col("last"),
        # with both names given the full name is not read: do not split on it
        __full=pl.when(pl.col("__both")).then(None).otherwise(pl.col("full")),
    )
    names = ["__first", "__last", "__full"]
    distinct = slow_in.select(names).unique(maintain_order=True)
    results = [standardize_name(first=a, last=b, full=c) for a, b, c in distinct.iter_rows()]
    table = pl.concat([distinct, _results_frame(results)], how="horizontal")
    slow = slow_in.join(table, on=names, how="left", nulls_equal=True)
    casts = [pl.col(name).cast(dtype) for name, dtype in _SCHEMA.items()]
    out = pl.concat([fast.select("__row", *casts), slow.select("__row", *_SCHEMA)], how="vertical")
    return out.sort("__row").drop("__row")


# -- a name that is the email's user name -----------------------------------------------------


def mailbox_name_keys(
    first_key: str | None, last_key: str | None, email: str | None
) -> tuple[str | None, str | None] | None:
    """Match keys for a lone name that only repeats the email's user name.

    A helpdesk or a form often fills the name with the mailbox ("lbradworth" for
    lbradworth@beacon.com). Read as a first name it would contradict every record that knows
    the real name, so: a known first name at its start splits it ("garethbrookwick" ->
    gareth + brookwick), otherwise it is no evidence of the name (both keys None). Returns
    None when the name is not such a user name (a known first name alone, "jessica" for
    jessica@, stays a first name, and so does any short one: "lisa" for lisa@ is likelier a
    name the list lacks than a user name).
    """
    if first_key is None or last_key is not None or email is None or "@" not in email:
        return None
    mailbox = _letters(email.split("@", 1)[0].split("+", 1)[0])
    if first_key != mailbox or mailbox in FIRST_NAMES or len(mailbox) < 8:
        return None
    for cut in range(len(mailbox) - 3, 2, -1):  # the longest known first name, 3+ letters left
        if mailbox[:cut] in FIRST_NAMES:
            return name_key(mailbox[:cut]), surname_key(mailbox[cut:])
    return None, None


def mailbox_name_key_columns(
    first_key: pl.Series, last_key: pl.Series, email: pl.Series
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """`mailbox_name_keys` over columns: (first keys, last keys, rows changed)."""
    frame = pl.DataFrame(
        {"f": first_key.cast(pl.Utf8), "l": last_key.cast(pl.Utf8), "e": email.cast(pl.Utf8)}
    )
    # Only a lone name of 8 letters or more can be a user name (see `mailbox_name_keys`);
    # the Python check runs on those rows alone.
    lone = frame.select(
        pl.col("f").str.len_chars().ge(8) & pl.col("l").is_null() & pl.col("e").is_not_null()
    ).to_series()
    changed = [False] * frame.height
    firsts, lasts, emails = frame["f"].to_list(), frame["l"].to_list(), frame["e"].to_list()
    for row in lone.fill_null(False).arg_true().to_list():
        keys = mailbox_name_keys(firsts[row], None, emails[row])
        if keys is not None:
            firsts[row], lasts[row] = keys
            changed[row] = True
    return (
        pl.Series(first_key.name, firsts, dtype=pl.Utf8),
        pl.Series(last_key.name, lasts, dtype=pl.Utf8),
        pl.Series("changed", changed, dtype=pl.Boolean),
    )
