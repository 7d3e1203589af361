"""Company names and company domains: a display name, a match key, a legal form, a domain.

Matching needs "Acme Inc.", "ACME, INC" and "Acme Incorporated" to meet, while people want
to read the name as the company writes it. So a name gets two forms: the display name
(trimmed, and re-cased only when it was typed in one case) and the key (folded, legal form
stripped). The domain is the other strong company identifier; it comes from the website,
or from a work email when there is no website, never from a free-mail provider.

Decisions, so nobody has to guess:

* German umlauts fold to their transliteration in the key (ü → ue, ö → oe, ä → ae,
  ß → ss), so "Müller GmbH" and "Mueller GmbH" share a key; "Muller GmbH" does not. Other
  accents are dropped (é → e, ø → o, å → a).
* "Holding"/"Holdings" and "Group" stay in the key: a holding and its operating company
  are different legal entities and must not merge by key alone.
* A name that is only a person's status ("self-employed", "Privat", "autónomo") is
  suspicious with tag `not_a_company` and gets no key, so it never chains records.
* Known acronyms and 2-4 letter tokens without vowels stay upper case when re-casing, also
  from all-lower input ("ibm" → "IBM"); mixed-case input is never re-cased.
* A website holding an email address yields that address's domain (corrected, tag
  `website_was_email`). A website on a social platform or free-mail host is suspicious
  unless a work email supplies a better domain. zoho.com, outlook.com, hey.com and
  fastmail are free mail: companies on those services mail from their own domain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import partial

import polars as pl

from rolodex.clean.base import MISSING, Flag, Result, blank

__all__ = [
    "FREE_MAIL_DOMAINS",
    "PLATFORM_DOMAINS",
    "domain_from",
    "standardize_company",
    "standardize_company_columns",
]

# --------------------------------------------------------------------------------------
# Legal forms
# --------------------------------------------------------------------------------------

# Bare token sequences (folded, punctuation removed) → the normalized legal form.
_LEGAL_FORMS: dict[tuple[str, ...], str] = {
    # US / UK / Commonwealth
    ("inc",): "Inc.",
    ("incorporated",): "Inc.",
    ("corp",): "Corp.",
    ("corporation",): "Corp.",
    ("co",): "Co.",
    ("company",): "Co.",
    ("llc",): "LLC",
    ("ltd",): "Ltd",
    ("limited",): "Ltd",
    ("llp",): "LLP",
    ("lp",): "LP",
    ("plc",): "PLC",
    ("pty", "ltd"): "Pty Ltd",
    ("pty", "limited"): "Pty Ltd",
    ("pvt", "ltd"): "Pvt Ltd",
    ("private", "limited"): "Pvt Ltd",
    # German-speaking
    ("gmbh",): "GmbH",
    ("gmbh", "and", "co", "kg"): "GmbH & Co. KG",
    ("gmbh", "co", "kg"): "GmbH & Co. KG",
    ("gmbh", "and", "co", "kgaa"): "GmbH & Co. KGaA",
    ("ag", "and", "co", "kg"): "AG & Co. KG",
    ("se", "and", "co", "kg"): "SE & Co. KG",
    ("ug", "haftungsbeschraenkt", "and", "co", "kg"): "UG (haftungsbeschränkt) & Co. KG",
    ("mbh",): "mbH",
    ("ag",): "AG",
    ("kg",): "KG",
    ("kgaa",): "KGaA",
    ("ohg",): "OHG",
    ("ek",): "e.K.",
    ("ev",): "e.V.",
    ("ug",): "UG",
    ("ug", "haftungsbeschraenkt"): "UG (haftungsbeschränkt)",
    ("se",): "SE",
    # French / Belgian / Luxembourgish
    ("sa",): "S.A.",
    ("sas",): "S.A.S.",
    ("sarl",): "SARL",
    ("sa", "rl"): "S.à r.l.",
    ("eurl",): "EURL",
    ("snc",): "SNC",
    ("bvba",): "BVBA",
    ("sprl",): "SPRL",
    # Spanish / Italian / Latin American
    ("sl",): "S.L.",
    ("slu",): "S.L.U.",
    ("sau",): "S.A.U.",
    ("spa",): "S.p.A.",
    ("srl",): "S.r.l.",
    ("ltda",): "Ltda.",
    ("sa", "de", "cv"): "S.A. de C.V.",
    ("sab", "de", "cv"): "S.A.B. de C.V.",
    ("sapi", "de", "cv"): "S.A.P.I. de C.V.",
    ("s", "de", "rl"): "S. de R.L.",
    ("s", "de", "rl", "de", "cv"): "S. de R.L. de C.V.",
    # Dutch
    ("bv",): "B.V.",
    ("nv",): "N.V.",
    ("vof",): "V.O.F.",
    # Nordic
    ("as",): "AS",  # "A/S" when written with the slash, see _legal_form_name
    ("aps",): "ApS",
    ("ab",): "AB",
    ("ab", "publ"): "AB (publ)",
    ("oy",): "Oy",
    ("oyj",): "Oyj",
    ("asa",): "ASA",
    # Central European
    ("sp", "z", "oo"): "Sp. z o.o.",
    ("sp", "zoo"): "Sp. z o.o.",
    ("spzoo",): "Sp. z o.o.",
    ("sro",): "s.r.o.",
    # Japanese (romanized)
    ("kk",): "K.K.",
    ("kabushiki", "kaisha"): "K.K.",
    ("kabushikigaisha",): "K.K.",
    ("godo", "kaisha"): "G.K.",
    ("co", "ltd"): "Co., Ltd.",
    # spelled out
    ("aktiengesellschaft",): "AG",
    ("gesellschaft", "mit", "beschraenkter", "haftung"): "GmbH",
    ("kommanditgesellschaft",): "KG",
    ("societe", "anonyme"): "S.A.",
    ("sociedad", "anonima"): "S.A.",
    ("sociedad", "limitada"): "S.L.",
    ("societa", "per", "azioni"): "S.p.A.",
    ("besloten", "vennootschap"): "B.V.",
    ("naamloze", "vennootschap"): "N.V.",
    ("aktiebolag",): "AB",
    ("aktieselskab",): "A/S",
    ("osakeyhtio",): "Oy",
    ("spolka", "akcyjna"): "S.A.",
    ("spolka", "z", "ograniczona", "odpowiedzialnoscia"): "Sp. z o.o.",
    ("co", "limited"): "Co., Ltd.",
    ("company", "limited"): "Co., Ltd.",
}
# Dotted forms also typed with spaces between the letters ("S. A.", "e. V.").
for _form in ("sa", "sas", "sl", "slu", "sau", "spa", "srl", "bv", "nv", "ek", "ev", "kk", "llc"):
    _LEGAL_FORMS.setdefault(tuple(_form), _LEGAL_FORMS[(_form,)])

# Legal forms (and "the") that also open a name: "AB Volvo", "Kabushiki Kaisha Toshiba".
_PREFIX_FORMS: dict[tuple[str, ...], str | None] = {
    ("the",): None,
    ("ab",): "AB",
    ("as",): "AS",
    ("oy",): "Oy",
    ("kabushiki", "kaisha"): "K.K.",
}
_MAX_FORM = max(len(k) for k in _LEGAL_FORMS)

_AND_WORDS = frozenset({"and", "und", "et", "y"})

# Whole names (bare tokens joined without spaces) that hold no company at all.
_PLACEHOLDERS = frozenset(
    {
        "na", "nan", "none", "null", "nil", "unknown", "unbekannt", "inconnu", "desconocido",
        "ka", "keine", "keineangabe", "tbd", "tba", "xxx", "xx", "x", "0", "notapplicable",
        "notavailable", "nocompany", "company", "firma", "empresa", "societe", "aucune",
        "ninguna", "ninguno", "nessuna",
    }
)  # fmt: skip

# Whole names that say what a person is rather than where they work.
_NOT_A_COMPANY = frozenset(
    {
        "selfemployed", "self", "freelancer", "freelance", "freelancing", "private",
        "privateperson", "privat", "privatperson", "privatkunde", "retired", "pensioner",
        "student", "selbststaendig", "selbstaendig", "freiberufler", "freiberuflich",
        "rentner", "particulier", "autonomo", "autonoma", "independiente", "jubilado",
        "jubilada", "retraite", "retraitee", "etudiant", "etudiante", "estudiante",
        "unemployed", "arbeitslos", "homemaker", "housewife", "hausfrau", "individual",
        "liberoprofessionista", "pensionato", "pensionata", "zzp", "zzper", "gepensioneerd",
    }
)  # fmt: skip

# --------------------------------------------------------------------------------------
# Display casing
# --------------------------------------------------------------------------------------

# Tokens (lower case, dots kept) with a fixed spelling whenever a name is re-cased.
_FIXED_CASE: dict[str, str] = {
    form.lower(): form
    for form in (
        "GmbH", "mbH", "KGaA", "AG", "KG", "OHG", "UG", "SE", "SA", "SAS", "SARL", "EURL",
        "SpA", "SLU", "SAU", "BVBA", "VOF", "ApS", "AB", "ASA", "Inc", "Corp", "Co", "Ltd",
        "Ltda", "Pty", "Pvt", "Oy", "Oyj", "haftungsbeschränkt", "publ",
        "S.p.A.", "S.r.l.", "S.n.c.", "e.K.", "e.V.", "o.o.", "r.l.", "S.à", "s.r.o.",
        # acronyms and brands that vowel-counting gets wrong
        "IBM", "SAP", "BMW", "KPMG", "UPS", "AXA", "ABB", "BASF", "BBVA", "UBS", "ING",
        "EY", "PwC", "BNP", "IKEA", "ASML", "AIG", "AMD", "AOL", "EDF", "ENI", "GE", "HP",
        "KLM", "LG", "NEC", "NTT", "RWE", "SNCF", "TUI", "UPM", "AEG", "ABN", "AMRO", "ISS",
        "SEB", "SKF", "ITV", "BP", "BT", "IT", "USA", "UK", "EU", "AI", "IO", "eBay", "ADAC",
        "DEKRA", "TÜV", "HUK", "OBI", "ALDI", "LIDL", "ZDF", "ARD", "ERGO", "OTTO", "AOK",
    )
}  # fmt: skip
_FIXED_AT_EDGE = {"as": "AS"}  # a legal form first or last ("AS Roma"); mid-name a word
_PARTICLES = frozenset(
    {
        "van", "der", "den", "de", "des", "du", "la", "le", "les", "di", "da", "del", "della",
        "dello", "degli", "dos", "das", "von", "zu", "zum", "zur", "und", "and", "of", "the",
        "for", "en", "het", "y", "e", "et", "og", "och", "z", "i", "à", "au", "aux", "im",
        "am", "an", "bei", "für", "on", "upon", "at",
    }
)  # fmt: skip
# Vowel-less tokens that are abbreviations, not acronyms: written "St.", "Mfg", "Bros".
_NOT_ACRONYM = frozenset(
    {"st", "dr", "mr", "mrs", "ms", "jr", "sr", "mfg", "bros", "str", "nr", "sp"}
)
_VOWELS = frozenset("aeiouyàáâãäåæèéêëìíîïòóôõöøœùúûüýÿ")

_TOKEN = re.compile(r"^([\"'(\[{«„“‚]*)(.*?)([\"')\]}»“”‘’,;:!?]*)$", re.S)
_DOTTED = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")
_AMP_ACRONYM = re.compile(r"^[^\W\d_]{1,3}(?:&[^\W\d_]{1,3})+$")
_RUN = re.compile(r"[^\W_]+")


def _recase_run(match: re.Match[str]) -> str:
    """Title-case one run of letters/digits, keeping acronyms and "'s" right."""
    run = match.group()
    low = run.lower()
    start = match.start()
    after_apostrophe = start > 0 and match.string[start - 1] in "'’"
    if after_apostrophe and len(run) == 1:
        return low  # McDonald's, Macy's
    fixed = _FIXED_CASE.get(low)
    if fixed is not None and "." not in fixed:
        return fixed
    letters = sum(c.isalpha() for c in run)
    if letters < len(run):  # digits in it: 3M, B2B, 7-Eleven
        return run.upper() if letters <= 3 else run[:1].upper() + run[1:].lower()
    if 2 <= len(run) <= 4 and low not in _NOT_ACRONYM and not _VOWELS.intersection(low):
        return run.upper()  # KPMG, DHL, HSBC
    if low.startswith("mc") and len(low) > 3:
        return "Mc" + low[2].upper() + low[3:]
    return run[:1].upper() + run[1:].lower()


def _recase_token(token: str, first: bool, last: bool) -> str:
    """Re-case one whitespace-separated token of a name typed in a single case."""
    match = _TOKEN.match(token)
    if match is None:  # pragma: no cover - the pattern matches every string
        return token
    lead, core, trail = match.groups()
    if not core:
        return token
    low = core.lower()
    if low in _FIXED_CASE:
        out = _FIXED_CASE[low]
    elif (first or last) and low in _FIXED_AT_EDGE:
        out = _FIXED_AT_EDGE[low]
    elif not first and low in _PARTICLES:
        out = low
    elif _DOTTED.match(core) or _AMP_ACRONYM.match(core):
        out = core.upper()  # B.V., S.A., J.P., AT&T, H&M
    elif core.endswith(".") and core.count(".") == 1:
        out = _recase_token(core[:-1], first, last) + "."  # Inc., Corp., St.
    else:
        out = _RUN.sub(_recase_run, core)
    return lead + out + trail


def _display(text: str) -> str:
    """The display name: re-cased only when typed all upper or all lower."""
    if not (text.isupper() or text.islower()):
        return text
    tokens = text.split(" ")
    end = len(tokens) - 1
    return " ".join(_recase_token(t, i == 0, i == end) for i, t in enumerate(tokens))


# --------------------------------------------------------------------------------------
# Match key
# --------------------------------------------------------------------------------------

_FOLD = str.maketrans(
    {
        "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o",
        "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ŀ": "l", "ħ": "h",
        "&": " and ", "+": " and ",
    }
)  # fmt: skip
_KEY_SPLIT = re.compile(r"(?:[^\w.'’`´/]|_)+")
_NON_ALNUM = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    """Lower-case, transliterate umlauts, drop other accents; "&" and "+" become "and"."""
    text = text.lower()
    if text.isascii():
        return text.translate(_FOLD)
    text = unicodedata.normalize("NFC", text).translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """Split a folded name into bare tokens (no punctuation) and the tokens as written."""
    bare: list[str] = []
    written: list[str] = []
    for piece in _KEY_SPLIT.split(_fold(text)):
        word = _NON_ALNUM.sub("", piece)
        if word:
            bare.append("and" if word in _AND_WORDS else word)
            written.append(piece)
    return bare, written


def _legal_form_name(form: tuple[str, ...], written: list[str]) -> str:
    """The normalized legal form; Danish "A/S" keeps its slash, Norwegian "AS" has none."""
    name = _LEGAL_FORMS.get(form) or _PREFIX_FORMS.get(form) or ""
    if form == ("as",) and "/" in "".join(written):
        return "A/S"
    return name


def _strip_legal_forms(bare: list[str], written: list[str]) -> tuple[list[str], str | None]:
    """Strip trailing legal forms (outermost wins for `legal_form`), then leading ones."""
    legal: str | None = None
    changed = True
    while changed:
        changed = False
        for size in range(min(_MAX_FORM, len(bare) - 1), 0, -1):
            form = tuple(bare[-size:])
            if form in _LEGAL_FORMS:
                legal = legal or _legal_form_name(form, written[-size:])
                del bare[-size:], written[-size:]
                changed = True
                break
        while len(bare) > 1 and bare[-1] == "and":  # "Smith & Co." → "smith"
            del bare[-1], written[-1]
            changed = True
    changed = True
    while changed:
        changed = False
        for size in (2, 1):
            form = tuple(bare[:size])
            if len(bare) > size and form in _PREFIX_FORMS:
                if legal is None and _PREFIX_FORMS[form] is not None:
                    legal = _legal_form_name(form, written[:size])
                del bare[:size], written[:size]
                changed = True
                break
    return bare, legal


# --------------------------------------------------------------------------------------
# Company names
# --------------------------------------------------------------------------------------


def standardize_company(raw: str | None) -> Result:
    """Standardize a company name: display value, match key and `parts["legal_form"]`.

    Flags: missing when blank; invalid for text without letters or digits and for
    placeholders ("n/a", "unknown"); suspicious with tag `not_a_company` for a person's
    status ("self-employed", "student"); valid otherwise (re-casing is reformatting only).
    """
    if raw is None or blank(raw):
        return MISSING
    text = " ".join(raw.split())
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    bare, written = _tokens(text)
    if not bare:
        return Result(text, Flag.INVALID, ("no letters or digits",), parts={"legal_form": None})
    whole = "".join(bare)
    if whole in _PLACEHOLDERS:
        return Result(
            text, Flag.INVALID, ("placeholder, not a company name",), parts={"legal_form": None}
        )
    display = _display(text)
    if whole in _NOT_A_COMPANY:
        return Result(
            display,
            Flag.SUSPICIOUS,
            ("a person's status, not a company; no match key",),
            ("not_a_company",),
            parts={"legal_form": None},
        )
    if tuple(bare) in _LEGAL_FORMS or tuple(bare) in _PREFIX_FORMS:
        return Result(
            display, Flag.INVALID, ("only a legal form, no name",), parts={"legal_form": None}
        )
    kept, legal = _strip_legal_forms(bare, written)
    return Result(display, Flag.VALID, key=" ".join(kept), parts={"legal_form": legal})


# --------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------

# Consumer mail providers: their domain says nothing about where a person works. An entry
# "name.*" stands for the provider under any country ending ("yahoo.co.uk", "gmx.at").
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.*", "ymail.com", "rocketmail.com", "hotmail.*",
        "outlook.*", "live.*", "msn.com", "passport.com", "aol.*", "aim.com", "icloud.com",
        "me.com", "mac.com", "gmx.*", "web.de", "t-online.de", "freenet.de", "arcor.de",
        "online.de", "mail.de", "posteo.de", "posteo.net", "mailbox.org", "email.de",
        "aon.at", "chello.at", "bluewin.ch", "hispeed.ch", "orange.fr", "free.fr", "sfr.fr",
        "neuf.fr", "laposte.net", "wanadoo.fr", "club-internet.fr", "libero.it",
        "virgilio.it", "tiscali.it", "alice.it", "tin.it", "fastwebnet.it", "telefonica.net",
        "terra.es", "movistar.es", "ziggo.nl", "kpnmail.nl", "planet.nl", "hetnet.nl",
        "home.nl", "casema.nl", "telenet.be", "skynet.be", "proximus.be", "wp.pl", "o2.pl",
        "onet.pl", "interia.pl", "op.pl", "seznam.cz", "centrum.cz", "yandex.*", "ya.ru",
        "mail.ru", "bk.ru", "inbox.ru", "list.ru", "rambler.ru", "qq.com", "163.com",
        "126.com", "sina.com", "sohu.com", "naver.com", "daum.net", "hanmail.net",
        "rediffmail.com", "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "tutanota.com", "tutanota.de", "tuta.io", "zoho.com", "zohomail.com", "zohomail.eu",
        "fastmail.com", "fastmail.fm", "hey.com", "duck.com", "hushmail.com", "mail.com",
        "email.com", "usa.com", "inbox.com", "lycos.com", "btinternet.com", "sky.com",
        "virginmedia.com", "ntlworld.com", "talktalk.net", "blueyonder.co.uk", "comcast.net",
        "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net",
        "earthlink.net", "juno.com", "optonline.net", "shaw.ca", "rogers.com",
        "sympatico.ca", "videotron.ca", "bigpond.com", "bigpond.net.au", "optusnet.com.au",
        "xtra.co.nz", "uol.com.br", "bol.com.br", "terra.com.br", "prodigy.net.mx",
        "telia.com", "online.no", "kolumbus.fi", "suomi24.fi", "jubii.dk", "ofir.dk",
    }
)  # fmt: skip

# Hosts where a "website" is a profile page, not the company's own domain.
PLATFORM_DOMAINS: frozenset[str] = frozenset(
    {
        "facebook.com", "fb.com", "linkedin.com", "instagram.com", "twitter.com", "x.com",
        "xing.com", "youtube.com", "tiktok.com", "google.com", "goo.gl", "maps.google.com",
        "sites.google.com", "wixsite.com", "business.site", "linktr.ee", "yelp.com",
        "pinterest.com", "t.me", "wa.me", "bit.ly", "github.com", "github.io",
    }
)  # fmt: skip

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)
_HOST_END = re.compile(r"[/?#\\]")
_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")
_EMAIL_HOST = r"(?s)@([^@]*)$"  # everything after the last "@"; the same rule in Polars


def _email_host(email: str | None) -> str | None:
    """The raw text after the last "@" (row twin of the Polars `_EMAIL_HOST` extraction)."""
    if email is None or "@" not in email:
        return None
    return email.rpartition("@")[2]


def _clean_host(host: str) -> str | None:
    """Lower-case, drop "www.", decode punycode, and check it is a dotted host name."""
    host = host.strip().strip("<>").strip().rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    if "xn--" in host:
        try:
            host = host.encode("ascii").decode("idna").lower()
        except UnicodeError:
            return None
    elif not host.isascii():
        host = unicodedata.normalize("NFC", host)
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return None
    tld = labels[-1]
    if len(tld) < 2 or not all(c.isalpha() or c == "-" for c in tld.replace("xn--", "")):
        return None  # IP addresses, "acme.123"
    return host


def _in_set(host: str, domains: frozenset[str]) -> bool:
    """Tell whether `host` is a listed domain or a "name.*" entry under any country ending."""
    if host in domains:
        return True
    name, _, rest = host.partition(".")
    parts = rest.split(".")
    return f"{name}.*" in domains and len(parts) <= 2 and all(len(p) <= 3 for p in parts)


def _is_platform(host: str) -> bool:
    """Tell whether `host` (or a parent of it) is a social or hosting platform."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in PLATFORM_DOMAINS for i in range(len(labels) - 1))


def _website_host(website: str) -> tuple[str | None, bool]:
    """Parse a website cell: (host or None when not a host name, whether it was an email)."""
    text = website.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    has_scheme = _SCHEME.match(text) is not None
    if not has_scheme and "@" in text and "/" not in text.rpartition("@")[0]:
        return _clean_host(text.rpartition("@")[2]), True
    if has_scheme:
        text = text.split("://", 1)[1]
    elif text.startswith("//"):
        text = text[2:]
    host = _HOST_END.split(text, maxsplit=1)[0].rpartition("@")[2]  # drop path and user info
    if host.startswith("["):
        return None, False  # IPv6 literal: not a company domain
    return _clean_host(host.partition(":")[0]), False


def _domain_from_host(
    website: str | None, email_host: str | None, free_mail: frozenset[str]
) -> Result:
    """Domain from a website and the raw host part of an email (shared by row and column)."""
    notes: list[str] = []
    tags: list[str] = []
    fallback: tuple[str, Flag] | None = None  # value and flag when the email does not help
    if website is not None and not blank(website):
        host, was_email = _website_host(website)
        given = " ".join(website.split())
        if host is None:
            notes.append(f"website {given!r} is not a host name")
            fallback = (given, Flag.INVALID)
        elif _in_set(host, free_mail):
            notes.append(f"website {given!r} is a free-mail host, not a company domain")
            fallback = (host, Flag.SUSPICIOUS)
            tags.append("free_mail")
        elif _is_platform(host):
            notes.append(f"website {given!r} is a profile on a platform, not an own domain")
            fallback = (host, Flag.SUSPICIOUS)
            tags.append("platform_domain")
        elif was_email:
            note = "website held an email address; took its domain"
            return Result(host, Flag.CORRECTED, (note,), ("website_was_email",))
        else:
            return Result(host, Flag.VALID)
    if email_host is not None:
        host = _clean_host(email_host)
        if host is not None and _in_set(host, free_mail):
            notes.append(f"email is at free-mail provider {host}; no company domain")
            if "free_mail" not in tags:
                tags.append("free_mail")
        elif host is not None:
            notes.append("domain taken from the email address")
            return Result(host, Flag.CORRECTED, tuple(notes), ("from_email",))
    if fallback is not None:
        return Result(fallback[0], fallback[1], tuple(notes), tuple(tags))
    return Result(None, Flag.MISSING, tuple(notes), tuple(tags))


def domain_from(
    *,
    website: str | None = None,
    email: str | None = None,
    free_mail: frozenset[str] = FREE_MAIL_DOMAINS,
) -> Result:
    """The company's domain: from the website, else from a work (not free-mail) email.

    Valid when from the website (only "www." is dropped; other subdomains are kept);
    corrected with tag `from_email` when filled from the email; invalid when the website
    is not a host name and no email helps; missing when neither gives a domain.
    """
    return _domain_from_host(website, _email_host(email), free_mail)


# --------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------


_SEP = "\x1f"  # joins notes and tags as text; repr() in notes escapes it, so never inside one


def _as_text(series: pl.Series, name: str) -> pl.Series:
    """The series as text under a fixed name (all-null columns arrive with dtype Null)."""
    return series.cast(pl.Utf8).rename(name)


def _per_distinct(
    columns: list[pl.Series], fn: Callable[..., Result], parts: tuple[str, ...] = ()
) -> pl.DataFrame:
    """`base.per_distinct`, with notes and tags as `_SEP`-joined text, not lists.

    Building list columns from Python objects costs about 5 µs a row, more than the
    standardizer itself; joined text is built fast and split once, in Polars, at the end.
    """
    given = pl.DataFrame(columns)
    distinct = given.unique(maintain_order=True)
    index = given.join(
        distinct.with_row_index("__id"),
        on=given.columns,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )["__id"]
    results = [fn(*row) for row in distinct.iter_rows()]
    data: dict[str, list[str | None]] = {
        "value": [r.value for r in results],
        "flag": [r.flag.value for r in results],
        "key": [r.key for r in results],
        "notes": [_SEP.join(r.notes) for r in results],
        "tags": [_SEP.join(r.tags) for r in results],
    }
    for name in parts:
        data[name] = [r.parts.get(name) for r in results]
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.Utf8())).select(pl.all().gather(index))


def _split_joined(first: str, second: str) -> pl.Expr:
    """Two `_SEP`-joined text columns as one list column: first's items, then second's."""
    joined = pl.concat_str([pl.col(first), pl.col(second)], separator=_SEP)
    return joined.str.split(_SEP).list.filter(pl.element() != "")


def standardize_company_columns(
    names: pl.Series, websites: pl.Series, emails: pl.Series
) -> pl.DataFrame:
    """Standardize company name, website and email columns, once per distinct value.

    Columns: company, company_flag, company_key, legal_form, domain, domain_flag, notes,
    tags; one row per input row, in order, equal to the row functions. Emails are nearly
    all distinct, so their host is cut out in Polars and only distinct (website, host)
    pairs reach Python.
    """
    companies = _per_distinct([_as_text(names, "raw")], standardize_company, parts=("legal_form",))
    domain_of = partial(_domain_from_host, free_mail=FREE_MAIL_DOMAINS)
    sites = _as_text(websites, "website")
    # A website that gives the domain by itself makes the email irrelevant: drop its host
    # there, so only websites that need the email pair up with (many) distinct hosts.
    settled = [
        site
        for site in sites.unique()
        if site is not None and domain_of(site, None).flag in (Flag.VALID, Flag.CORRECTED)
    ]
    hosts = _as_text(emails, "email").str.extract(_EMAIL_HOST, 1)
    hosts = pl.select(
        email_host=pl.when(sites.is_in(pl.Series(settled, dtype=pl.Utf8).implode()))
        .then(None)
        .otherwise(hosts)
    ).to_series()
    domains = _per_distinct([sites, hosts], domain_of)
    return pl.DataFrame(
        {
            "company": companies["value"],
            "company_flag": companies["flag"],
            "company_key": companies["key"],
            "legal_form": companies["legal_form"],
            "domain": domains["value"],
            "domain_flag": domains["flag"],
            "company_notes": companies["notes"],
            "domain_notes": domains["notes"],
            "company_tags": companies["tags"],
            "domain_tags": domains["tags"],
        }
    ).select(
        pl.exclude("^.*_(notes|tags)$"),
        notes=_split_joined("company_notes", "domain_notes"),
        tags=_split_joined("company_tags", "domain_tags"),
    )
