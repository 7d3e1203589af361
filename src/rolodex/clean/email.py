"""Standardize email addresses: extract, lower-case, check, fix typo domains, tag, key.

The stored value is the address a person would type into a mail client (lower-cased, the
domain's typo fixed); the match key is separate so that `Jane.Doe+crm@googlemail.com` and
`janedoe@gmail.com` meet in matching without the stored address being rewritten. Tags tell
later stages what an address is worth: a role mailbox (`info@`) must not chain people
together, a free-mail domain says nothing about the employer, a disposable or placeholder
address says nothing about the person.

A column is cleaned by a vectorized Polars path for plain addresses (the vast majority in
real exports) and by `standardize_email` once per distinct value for everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
from email_validator import EmailNotValidError, validate_email
from rapidfuzz.distance import OSA

from rolodex.clean.base import MISSING, Flag, Result, blank, per_distinct, to_frame

__all__ = [
    "DISPOSABLE_DOMAINS",
    "FREE_MAIL_DOMAINS",
    "PLACEHOLDER_DOMAINS",
    "ROLE_LOCAL_PARTS",
    "TYPO_DOMAINS",
    "standardize_email",
    "standardize_email_column",
]

# Free-mail providers: an address here says nothing about the person's company.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # international
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com",
        "hotmail.com", "outlook.com", "live.com", "msn.com", "passport.com", "aol.com",
        "aim.com", "icloud.com", "me.com", "mac.com", "mail.com", "email.com", "gmx.com",
        "gmx.net", "zoho.com", "zohomail.com", "protonmail.com", "proton.me", "pm.me",
        "tutanota.com", "tutanota.de", "tuta.io", "fastmail.com", "fastmail.fm",
        "hushmail.com", "inbox.com", "yandex.com", "yandex.ru", "ya.ru", "mail.ru",
        "bk.ru", "inbox.ru", "list.ru", "rambler.ru", "qq.com", "163.com", "126.com",
        "sina.com", "naver.com", "hanmail.net", "daum.net", "rediffmail.com",
        # country variants of the big providers
        "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it", "yahoo.ca",
        "yahoo.co.jp", "yahoo.com.br", "yahoo.co.in", "yahoo.com.au",
        "hotmail.co.uk", "hotmail.de", "hotmail.fr", "hotmail.es", "hotmail.it",
        "hotmail.nl", "hotmail.be", "hotmail.ch", "hotmail.at", "hotmail.ca",
        "outlook.de", "outlook.fr", "outlook.es", "outlook.it", "outlook.at",
        "live.co.uk", "live.de", "live.fr", "live.nl", "live.it", "live.at",
        "aol.de", "aol.fr", "aol.co.uk", "btinternet.com", "sky.com", "virginmedia.com",
        "ntlworld.com", "talktalk.net", "comcast.net", "verizon.net", "att.net",
        "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "earthlink.net",
        # Germany, Austria, Switzerland
        "gmx.de", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de", "arcor.de",
        "posteo.de", "mailbox.org", "online.de", "email.de", "vodafone.de", "1und1.de",
        "bluewin.ch", "gmx.li", "chello.at", "aon.at",
        # France, Belgium
        "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "neuf.fr",
        "bbox.fr", "numericable.fr", "skynet.be", "telenet.be",
        # Italy, Spain, Netherlands, Nordics, Poland
        "libero.it", "virgilio.it", "alice.it", "tin.it", "tiscali.it", "fastwebnet.it",
        "telefonica.net", "terra.es", "ziggo.nl", "kpnmail.nl", "planet.nl", "home.nl",
        "xs4all.nl", "telia.com", "online.no", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
        "seznam.cz", "centrum.cz", "uol.com.br", "bol.com.br", "terra.com.br",
    }
)  # fmt: skip

# Throwaway-inbox services: the address works for ten minutes and identifies nobody.
DISPOSABLE_DOMAINS: frozenset[str] = frozenset(
    {
        "mailinator.com", "mailinator.net", "mailinator2.com", "guerrillamail.com",
        "guerrillamail.net", "guerrillamail.org", "guerrillamail.biz", "guerrillamail.de",
        "guerrillamailblock.com", "grr.la", "sharklasers.com", "pokemail.net", "spam4.me",
        "10minutemail.com", "10minutemail.net", "10minutemail.co.uk", "20minutemail.com",
        "trashmail.com", "trashmail.de", "trashmail.net", "trashmail.me", "trash-mail.com",
        "yopmail.com", "yopmail.fr", "yopmail.net", "tempmail.com", "tempmail.net",
        "temp-mail.org", "temp-mail.io", "tempmailo.com", "tempr.email", "tempinbox.com",
        "getnada.com", "nada.email", "dispostable.com", "maildrop.cc", "throwawaymail.com",
        "mailnesia.com", "mintemail.com", "mohmal.com", "mytemp.email", "emailondeck.com",
        "fakeinbox.com", "fakemail.net", "spamgourmet.com", "spambox.us", "spamex.com",
        "mailcatch.com", "mailnull.com", "incognitomail.org", "jetable.org",
        "discard.email", "discardmail.com", "einrot.com", "wegwerfmail.de",
        "wegwerfmail.net", "wegwerfemail.de", "emailtemporanea.net", "byom.de",
        "spoofmail.de", "0815.ru", "mailforspam.com", "harakirimail.com", "burnermail.io",
        "33mail.com", "anonbox.net", "mail-temp.com", "tempail.com", "moakt.com",
        "inboxkitten.com", "mailpoof.com", "emailfake.com", "crazymailing.com",
        "getairmail.com", "owlymail.com", "throwam.com", "tmpmail.org", "tmpmail.net",
        "dropmail.me", "10mail.org", "mvrht.com", "cuvox.de", "armyspy.com", "dayrep.com",
        "einrot.de", "fleckens.hu", "gustr.com", "jourrapide.com", "rhyta.com",
        "superrito.com", "teleworm.us",
    }
)  # fmt: skip

# Domains people type when they have no address or do not want to give one.
PLACEHOLDER_DOMAINS: frozenset[str] = frozenset(
    {
        "example.com", "example.org", "example.net", "example.edu", "test.com", "test.de",
        "test.org", "test.net", "testing.com", "asdf.com", "asdf.de", "qwerty.com",
        "qwertz.de", "abc.com", "xxx.com", "xyz.com", "domain.com", "email.invalid",
        "noemail.com", "nomail.com", "none.com", "keine.de", "no-email.com", "fake.com",
    }
)  # fmt: skip
# RFC 2606 / 6761 reserved top-level domains: never a real mailbox.
_PLACEHOLDER_TLDS: frozenset[str] = frozenset({"test", "example", "invalid", "localhost", "local"})

# Local parts that stand for "no address" whatever the domain.
_PLACEHOLDER_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "noemail", "no-email", "no_email", "no.email", "nomail", "no-mail", "no.mail",
        "none", "noone", "no-one", "nobody", "test", "testing", "tester", "asdf", "asdfg",
        "qwerty", "qwertz", "xxx", "xxxx", "dummy", "fake", "null", "na", "n.a", "n-a",
        "unknown", "keine", "keinemail", "keine.email", "keine-email", "ohne",
        "dontknow", "donotemail", "noaddress",
    }
)  # fmt: skip

# Shared mailboxes: valid, but they belong to a function, not to a person.
ROLE_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "info", "information", "support", "sales", "noreply", "no-reply", "no_reply",
        "donotreply", "do-not-reply", "do_not_reply", "admin", "administrator", "contact",
        "contactus", "contact-us", "hello", "hi", "office", "team", "billing", "invoice",
        "invoices", "accounts", "accounting", "finance", "help", "helpdesk", "marketing",
        "webmaster", "hostmaster", "postmaster", "abuse", "security", "hr", "jobs",
        "careers", "career", "recruiting", "recruitment", "kontakt", "service",
        "services", "customerservice", "customer.service", "kundenservice", "enquiries",
        "enquiry", "inquiries", "inquiry", "mail", "email", "press", "media", "pr", "news",
        "newsletter", "orders", "order", "shop", "store", "booking", "bookings",
        "reservations", "reception", "feedback", "legal", "privacy", "compliance",
        "datenschutz", "buchhaltung", "rechnung", "verwaltung", "vertrieb", "bewerbung",
        "post", "zentrale", "empfang", "anfrage", "anfragen", "bestellung", "contacto",
        "ventas", "soporte", "accueil", "commercial", "direction", "secretariat",
        "it", "dev", "root", "sysadmin", "all", "staff", "everyone", "general",
        "partners", "investor", "investors",
    }
)  # fmt: skip

_BAD_COM_TLDS = ("con", "cm", "cmo", "ocm", "comm", "vom", "xom", "om", "coom", "c0m")
# Known typos of free-mail domains, mapped to what was meant.
TYPO_DOMAINS: dict[str, str] = {
    **{
        f"{name}.{bad}": f"{name}.com"
        for name in ("gmail", "hotmail", "yahoo", "outlook", "icloud", "aol", "googlemail")
        for bad in _BAD_COM_TLDS
    },
    "gmail.co": "gmail.com",
    # gmail
    "gmial.com": "gmail.com", "gmai.com": "gmail.com", "gmal.com": "gmail.com",
    "gamil.com": "gmail.com", "gmil.com": "gmail.com", "gmaill.com": "gmail.com",
    "gnail.com": "gmail.com", "gmali.com": "gmail.com", "gmaik.com": "gmail.com",
    "gmsil.com": "gmail.com", "gmail.cim": "gmail.com", "gmail.comm": "gmail.com",
    "gimail.com": "gmail.com", "gmeil.com": "gmail.com", "gemail.com": "gmail.com",
    "g-mail.com": "gmail.com", "gmail.cpm": "gmail.com", "gmail.clm": "gmail.com",
    "googlemial.com": "googlemail.com", "googlemai.com": "googlemail.com",
    # hotmail
    "hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmai.com": "hotmail.com",
    "hotmil.com": "hotmail.com", "hotamil.com": "hotmail.com", "hotnail.com": "hotmail.com",
    "hotmaill.com": "hotmail.com", "hotmsil.com": "hotmail.com", "homail.com": "hotmail.com",
    "hormail.com": "hotmail.com", "hotmail.cim": "hotmail.com",
    "hotmial.de": "hotmail.de", "hotmial.fr": "hotmail.fr", "hotmial.co.uk": "hotmail.co.uk",
    # yahoo
    "yahooo.com": "yahoo.com", "yaho.com": "yahoo.com", "yahho.com": "yahoo.com",
    "yhoo.com": "yahoo.com", "yahool.com": "yahoo.com", "yaoo.com": "yahoo.com",
    "yahou.com": "yahoo.com", "tahoo.com": "yahoo.com", "yahoo.cim": "yahoo.com",
    "yahooo.de": "yahoo.de", "yahooo.fr": "yahoo.fr", "yaho.fr": "yahoo.fr",
    # outlook
    "outlok.com": "outlook.com", "outlool.com": "outlook.com", "outloo.com": "outlook.com",
    "otlook.com": "outlook.com", "outllok.com": "outlook.com", "oulook.com": "outlook.com",
    "outook.com": "outlook.com", "outlook.cim": "outlook.com",
    # icloud
    "iclod.com": "icloud.com", "icoud.com": "icloud.com", "iclould.com": "icloud.com",
    "icluod.com": "icloud.com", "icloud.co": "icloud.com", "icolud.com": "icloud.com",
    # European providers: only misspellings that are not domains of their own
    "gmx.dee": "gmx.de", "gmx.ed": "gmx.de", "gmx.con": "gmx.com", "gmx.nte": "gmx.net",
    "web.dee": "web.de", "web.ed": "web.de", "t-onlien.de": "t-online.de",
    "t-onine.de": "t-online.de", "t-onlin.de": "t-online.de", "t-online.dee": "t-online.de",
    "orange.fe": "orange.fr", "orange.frr": "orange.fr", "oragne.fr": "orange.fr",
    "free.fe": "free.fr", "laposte.ney": "laposte.net", "laposte.nt": "laposte.net",
    "wanadoo.fe": "wanadoo.fr", "libero.ti": "libero.it",
}  # fmt: skip

# The rule-based typo check compares the first label against these provider names only:
# long, distinctive names where one slip of the finger cannot land on another real domain.
_FUZZY_PROVIDER_NAMES = ("gmail", "googlemail", "hotmail", "yahoo", "outlook", "icloud")
_FUZZY_TARGETS: dict[str, tuple[str, ...]] = {}
for _domain in sorted(FREE_MAIL_DOMAINS):
    _name, _, _suffix = _domain.partition(".")
    if _name in _FUZZY_PROVIDER_NAMES:
        _FUZZY_TARGETS[_suffix] = (*_FUZZY_TARGETS.get(_suffix, ()), _name)
# Real domains one edit away from a provider name: never "corrected".
_NOT_TYPOS: frozenset[str] = frozenset({"gail.com"})

_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
# Full syntax check of a lower-cased ASCII address with a dot-atom local part.
_ASCII_ADDRESS = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+{_TLD}")
_DISPLAY_NAME = re.compile(r"(?s)(?P<name>.*?)\s*<(?P<address>[^<>]*)>")
_MAILTO = re.compile(r"(?i)mailto:")
# The vectorized column path takes raw cells that match this (Rust regex syntax); anything
# else goes through `standardize_email`. Every match is also valid to `_ASCII_ADDRESS`.
_FAST_CELL = (
    r"^[ \t]*([A-Za-z0-9_%-]+(?:[.+][A-Za-z0-9_%-]+)*)"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})[ \t]*$"
)
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


@dataclass(frozen=True, slots=True)
class _DomainInfo:
    """What the domain alone says about an address."""

    domain: str  # after typo correction
    corrected_from: str | None
    free: bool
    disposable: bool
    placeholder: bool

    @property
    def plain(self) -> bool:
        """No correction, no disposable or placeholder flag: safe for the vectorized path."""
        return self.corrected_from is None and not self.disposable and not self.placeholder


def _typo_target(domain: str) -> str | None:
    """Return the provider domain `domain` is an obvious misspelling of, else None."""
    if domain in TYPO_DOMAINS:
        return TYPO_DOMAINS[domain]
    if domain in FREE_MAIL_DOMAINS or domain in DISPOSABLE_DOMAINS or domain in _NOT_TYPOS:
        return None
    name, _, suffix = domain.partition(".")
    if len(name) < 4:
        return None
    for target in _FUZZY_TARGETS.get(suffix, ()):
        # same first letter and one edit (transpositions count as one): "gmial", "yahooo"
        if name[0] == target[0] and OSA.distance(name, target, score_cutoff=1) <= 1:
            return f"{target}.{suffix}"
    return None


def _in_domain_set(domain: str, domains: frozenset[str]) -> bool:
    """Tell whether `domain` or one of its parent domains is in `domains`."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels) - 1))


@lru_cache(maxsize=65536)
def _domain_info(domain: str) -> _DomainInfo:
    """Classify one lower-cased domain; cached because exports repeat domains a lot."""
    target = _typo_target(domain)
    final = target or domain
    return _DomainInfo(
        domain=final,
        corrected_from=domain if target else None,
        free=final in FREE_MAIL_DOMAINS,
        disposable=_in_domain_set(final, DISPOSABLE_DOMAINS),
        placeholder=final in PLACEHOLDER_DOMAINS or final.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS,
    )


def _base_local(local: str) -> str:
    """Drop a sub-address ("jane+crm" -> "jane"); a local part that is only a tag stays."""
    head = local.split("+", 1)[0]
    return head or local


def _match_key(local: str, domain: str) -> str:
    """Build the match key: no +tag, and gmail's ignored dots folded into one mailbox."""
    if local.startswith('"'):
        return f"{local}@{domain}"
    base = _base_local(local)
    if domain in _GMAIL_DOMAINS:
        return f"{base.replace('.', '')}@gmail.com"
    return f"{base}@{domain}"


def _ascii_problem(address: str) -> str:
    """Say why a lower-cased ASCII address failed the syntax check, for the notes."""
    if "@" not in address:
        return "missing @"
    if address.count("@") > 1:
        return "more than one @"
    local, domain = address.split("@")
    if any(c.isspace() for c in address):
        return "contains whitespace"
    if not local:
        return "nothing before the @"
    if not domain:
        return "nothing after the @"
    if len(local) > _MAX_LOCAL:
        return f"local part longer than {_MAX_LOCAL} characters"
    if len(address) > _MAX_ADDRESS:
        return f"address longer than {_MAX_ADDRESS} characters"
    if local.startswith(".") or local.endswith("."):
        return "local part starts or ends with a dot"
    if ".." in local:
        return "two dots in a row in the local part"
    bad = next((c for c in local if not re.fullmatch(_ATEXT, c) and c != "."), None)
    if bad is not None:
        return f"invalid character {bad!r} in local part"
    if "." not in domain:
        return "domain has no top-level domain"
    if "_" in domain:
        return "underscore in domain"
    labels = domain.split(".")
    if any(not label for label in labels):
        return "empty label in domain (two dots in a row)"
    if any(len(label) > 63 for label in labels):
        return "domain label longer than 63 characters"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "domain label starts or ends with a hyphen"
    if not re.fullmatch(_TLD, labels[-1]):
        return "top-level domain must be 2 or more letters"
    return "invalid character in domain"


def _unwrap(text: str, notes: list[str]) -> str:
    """Take the address out of a display name, angle brackets or a mailto: link."""
    match = _DISPLAY_NAME.fullmatch(text)
    if match:
        notes.append("removed display name" if match["name"] else "removed angle brackets")
        text = match["address"].strip()
    if _MAILTO.match(text):
        notes.append("removed mailto: prefix")
        text = text[len("mailto:") :].strip()
    if text.endswith(".") and "@" in text and not text.endswith(".."):
        # "Write to jane@acme.com." - the dot ends the sentence, not the domain
        notes.append("removed trailing dot")
        text = text[:-1]
    return text


def _parse(address: str) -> tuple[str, str] | str:
    """Split a lower-cased address into (local, domain), or return why it is invalid."""
    if address.isascii() and not address.startswith('"'):
        if len(address) <= _MAX_ADDRESS and _ASCII_ADDRESS.fullmatch(address):
            local, domain = address.split("@")
            if len(local) <= _MAX_LOCAL:
                return local, domain
        return _ascii_problem(address)
    # non-ASCII (internationalized) or quoted local part: the regex cannot decide
    try:
        checked = validate_email(address, check_deliverability=False, allow_quoted_local=True)
    except EmailNotValidError as error:
        return str(error)
    return checked.local_part.lower(), checked.domain.lower()


def standardize_email(raw: str | None) -> Result:
    """Standardize one email address; invalid input is kept as given with the reason."""
    if raw is None or blank(raw):
        return MISSING
    trimmed = raw.strip()
    notes: list[str] = []
    parsed = _parse(_unwrap(trimmed, notes).lower())
    if isinstance(parsed, str):
        return Result(trimmed, Flag.INVALID, notes=(parsed,))
    local, domain = parsed
    info = _domain_info(domain)
    flag = Flag.VALID
    tags: list[str] = []
    if info.corrected_from is not None:
        flag = Flag.CORRECTED
        notes.append(f"corrected domain {info.corrected_from} to {info.domain}")
        tags.append("typo_domain")
    if info.free:
        tags.append("free")
    base = _base_local(local)
    if base in ROLE_LOCAL_PARTS:
        notes.append(f"role mailbox ({base}@)")
        tags.append("role")
    if info.disposable:
        flag = Flag.SUSPICIOUS
        notes.append(f"disposable domain ({info.domain})")
        tags.append("disposable")
    if info.placeholder or base in _PLACEHOLDER_LOCAL_PARTS:
        flag = Flag.SUSPICIOUS
        what = info.domain if info.placeholder else f"{base}@"
        notes.append(f"placeholder address ({what})")
        tags.append("placeholder")
    return Result(
        f"{local}@{info.domain}",
        flag,
        notes=tuple(notes),
        tags=tuple(tags),
        key=_match_key(local, info.domain),
    )


def standardize_email_column(s: pl.Series) -> pl.DataFrame:
    """Standardize a column: the same rows as mapping `standardize_email`, but fast.

    Plain addresses (ASCII, simple local part, a domain that needs no correction and is
    neither disposable nor a placeholder, no placeholder local part) are finished with Polars
    expressions, "free" and "role" tags included; every other cell goes through
    `standardize_email` once per distinct value.
    """
    if len(s) == 0:
        return to_frame([])
    cells = pl.DataFrame({"raw": s.cast(pl.Utf8)}).with_row_index("__row")
    simple = pl.col("raw").str.contains(_FAST_CELL).fill_null(False)
    parts = (
        cells.filter(simple)
        .select(
            "__row",
            "raw",
            pl.col("raw")
            .str.strip_chars(" \t")
            .str.to_lowercase()
            .str.split_exact("@", 1)
            .struct.rename_fields(["local", "domain"])
            .alias("address"),
        )
        .unnest("address")
        .with_columns(pl.col("local").str.splitn("+", 2).struct.field("field_0").alias("base"))
    )
    domains = parts.get_column("domain").drop_nulls().unique().to_list()
    infos = {d: _domain_info(d) for d in domains}
    plain = [d for d, info in infos.items() if info.plain]
    free = [d for d in plain if infos[d].free]
    fast_mask = (
        pl.col("domain").is_in(plain)
        & ~pl.col("base").is_in(list(_PLACEHOLDER_LOCAL_PARTS))
        & (pl.col("local").str.len_bytes() <= _MAX_LOCAL)
        & (pl.col("local").str.len_bytes() + pl.col("domain").str.len_bytes() < _MAX_ADDRESS)
    ).fill_null(False)
    parts = parts.with_columns(fast_mask.alias("fast"))
    is_free = pl.col("domain").is_in(free)
    is_role = pl.col("base").is_in(list(ROLE_LOCAL_PARTS))
    text_list = pl.List(pl.Utf8)
    fast = parts.filter(pl.col("fast")).select(
        "__row",
        pl.concat_str("local", pl.lit("@"), "domain").alias("value"),
        pl.lit(Flag.VALID.value).alias("flag"),
        pl.when(is_role)
        .then(pl.concat_list(pl.format("role mailbox ({}@)", "base")))
        .otherwise(pl.lit([], dtype=text_list))
        .alias("notes"),
        pl.when(is_free & is_role)
        .then(pl.lit(["free", "role"], dtype=text_list))
        .when(is_free)
        .then(pl.lit(["free"], dtype=text_list))
        .when(is_role)
        .then(pl.lit(["role"], dtype=text_list))
        .otherwise(pl.lit([], dtype=text_list))
        .alias("tags"),
        pl.when(pl.col("domain").is_in(list(_GMAIL_DOMAINS)))
        .then(
            pl.concat_str(
                pl.col("base").str.replace_all(".", "", literal=True), pl.lit("@gmail.com")
            )
        )
        .otherwise(pl.concat_str("base", pl.lit("@"), "domain"))
        .alias("key"),
    )
    rest = pl.concat([cells.filter(~simple), parts.filter(~pl.col("fast")).select("__row", "raw")])
    slow = pl.concat(
        [rest.select("__row"), per_distinct({"raw": rest.get_column("raw")}, standardize_email)],
        how="horizontal",
    )
    return pl.concat([fast, slow]).sort("__row").drop("__row")
