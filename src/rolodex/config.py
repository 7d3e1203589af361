"""Settings: one pydantic-settings model, read from ROLODEX_* variables when asked, never at import.

Nested sections use a double underscore: `ROLODEX_IMPORT__CHUNK_SIZE=5000` sets
`settings.import_.chunk_size`. A `rolodex.toml` in the working directory holds the workspace
configuration (sections [import] and [clean]); variables win over it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DB_URL = "sqlite:///rolodex.db"


class ImportSettings(BaseModel):
    """How `rolodex import` reads and writes."""

    chunk_size: int = Field(default=8_000, ge=1)
    """Rows per transaction: a crash leaves whole chunks only. With sealing, a chunk in
    flight costs some 12 KiB a row on each side, and its subject keys 2.5 KiB a row while
    it is sealed; at 8,000 a million-row import with cleaning stays under 1 GiB for both
    processes together, as fast as at 10,000 (16,002 vs 16,018 rows/s, 1,017 vs 1,094 MiB;
    without cleaning 22,636 vs 22,502 rows/s, 937 vs 998 MiB: one run each, 2026-12-02)."""

    sample_rows: int = Field(default=200, ge=1)
    """Rows read ahead to infer the column mapping and the kind."""

    separate_process_bytes: int = Field(default=8 << 20, ge=0)
    """Files at least this big are written by a child process (both cores at work)."""


class FieldRule(BaseModel):
    """A validation rule of the workspace for one standardized field (or custom field)."""

    field: str
    """The canonical field (email, country, lifecycle_stage, ...) or custom field name."""

    pattern: str | None = None
    """A regular expression the whole value must match."""

    allowed: list[str] | None = None
    """The only values allowed (compared case-insensitively)."""

    min: float | None = None
    """Smallest allowed number (or date as YYYY-MM-DD compared as text)."""

    max: float | None = None
    """Largest allowed number."""

    flag: Literal["invalid", "suspicious"] = "invalid"
    """What a value that breaks the rule is flagged as."""

    message: str | None = None
    """What to tell people; a description of the rule by default."""


class CleanSettings(BaseModel):
    """How the clean stage standardizes and judges records."""

    enabled: bool = True
    """Clean during import (the raw payload is kept either way)."""

    default_region: str | None = None
    """Country (ISO alpha-2) for reading national phone numbers of records without one."""

    regions: dict[str, str] = Field(default_factory=dict)
    """Default region per source name, e.g. {"shop_de": "DE"}; overrides `default_region`."""

    quarantine: list[str] = Field(default_factory=list)
    """Flags that quarantine a row, as "field:flag" (e.g. "email:invalid", "*:invalid").
    By default only rows that cannot be identified at all are quarantined."""

    rules: list[FieldRule] = Field(default_factory=list)
    """Custom validation rules per field."""

    def region_for(self, source: str) -> str | None:
        """The default phone region of a source."""
        return self.regions.get(source, self.default_region)


class ResolveSettings(BaseModel):
    """How resolve matches and merges (`[resolve]` in rolodex.toml, `ROLODEX_RESOLVE__*`)."""

    threshold: float = Field(default=0.1, gt=0, lt=1)
    """Two groups of records become one customer when their mean match probability is at
    least this."""

    candidate: float = Field(default=0.05, gt=0, lt=1)
    """Pairs scored below this are not considered at all."""

    review_low: float = Field(default=0.03, gt=0, lt=1)
    """Pairs between this and `threshold` that stay apart go to the review queue."""

    max_group: int = Field(default=300, ge=2)
    """Candidate groups up to this size have every pair inside scored (chaining guard)."""

    max_emails: int = Field(default=4, ge=1)
    """A customer holds at most this many distinct email match keys."""

    max_phones: int = Field(default=4, ge=1)
    """A customer holds at most this many distinct phone numbers."""

    u_pairs: int = Field(default=2_000_000, ge=10_000)
    """Random record pairs sampled to learn how often non-matches agree."""

    seed: int = 42
    """Makes training repeatable."""

    survivorship: dict[
        str, list[Literal["trust", "recent", "complete", "frequent", "valid", "longest"]]
    ] = Field(default_factory=dict)
    """Per golden field (or "name", "address" for those units), the strategies that pick its
    value, in order: `email = ["valid", "recent"]`. Fields not named keep the defaults."""


class RoleConfig(BaseModel):
    """A workspace-defined role, as written in the configuration (`[[security.roles]]`).

    Values are checked by ``secure.permissions.load_roles``, which names the role and the bad value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Unique name; may not be a built-in one."""

    description: str = ""
    """What the role is for."""

    extends: str | None = None
    """A built-in role to start from; without one the role starts with nothing."""

    objects: dict[str, list[str]] = {}
    """Actions per family, replacing the base role's for that family (`"*"`: all)."""

    fields: dict[str, dict[str, str]] = {}
    """Per family, field → `full`, `masked` or `absent` (removes a base grant)."""

    row_scope: str | None = None
    """`all`, `team` or `own`; the base role's, else `own`."""

    aggregates_only: bool | None = None
    """Counts and figures only; the base role's, else false."""


EncryptedKind = Literal["email", "phone", "street", "birth_date", "payload", "name"]
"""The kinds of personal data `security.encrypt` can name (see `rolodex.store.sealed`)."""

_DEFAULT_ENCRYPTED: tuple[EncryptedKind, ...] = (
    "email",
    "phone",
    "street",
    "birth_date",
    "payload",
)


class SecuritySettings(BaseModel):
    """Keys, sign-in and the API (`[security]` in rolodex.toml, `ROLODEX_SECURITY__*`)."""

    key_file: Path | None = None
    """The key file (mode 600) when neither ROLODEX_KEYS nor ROLODEX_KEY_FILE is set;
    `rolodex.key` in the working directory when that exists."""

    vault: str | None = None
    """The key vault that keeps one data key per person (crypto-shredding), apart from the
    database and its backups: a path or a SQLAlchemy URL (``ROLODEX_VAULT`` overrides it).
    By default beside the SQLite database (``rolodex.db`` -> ``rolodex.vault``), else beside
    the key file. Back it up with the key file, not with the database."""

    token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """How long a sign-in token stays valid."""

    max_body_bytes: int = Field(default=50 << 20, ge=1024)
    """Largest API request body (bulk calls and uploads included)."""

    form_rate_per_minute: int = Field(default=30, ge=1)
    """Submissions a web form accepts per minute from one address."""

    encrypt: list[EncryptedKind] = Field(default_factory=lambda: list(_DEFAULT_ENCRYPTED))
    """Personal data encrypted at rest (AES-GCM): by default emails, phones, street addresses,
    dates of birth (wherever stored, match keys included) and the raw payloads of source
    records; add ``name`` to encrypt names too. Exact lookups use keyed blind indexes. Names
    cost the most to encrypt: search by name then finds exact first and last names only (no
    prefix, no case-insensitive LIKE in SQL) and segment rules on names decrypt every contact."""

    roles: list[RoleConfig] = Field(default_factory=list)
    """Custom roles (`[[security.roles]]` tables: name, extends, objects, fields, row_scope)."""


class RetentionPolicy(BaseModel):
    """How long data nobody touched is kept (`[[privacy.retention]]` in rolodex.toml)."""

    kind: Literal["contacts", "orders", "interactions", "tickets", "events"]
    """What the policy covers: contacts (by their last activity) or activity rows (by date)."""

    months: int = Field(ge=1)
    """Kept while active (contacts) or younger (rows) than this many months."""

    action: Literal["delete", "anonymize"] = "anonymize"
    """`delete` erases; `anonymize` keeps amounts, dates and statuses without the person."""

    source: str | None = None
    """Only data from this source (contacts: people no other source knows); all when None."""


class PrivacySettings(BaseModel):
    """GDPR erasure and retention (`[privacy]` in rolodex.toml, `ROLODEX_PRIVACY__*`)."""

    retention: list[RetentionPolicy] = Field(default_factory=list)
    """The policies `rolodex privacy retention` applies, in order."""


class Settings(BaseSettings):
    """Everything Rolodex can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="ROLODEX_", env_nested_delimiter="__", extra="ignore", populate_by_name=True
    )

    db: str = DEFAULT_DB_URL
    """Database URL; SQLite file rolodex.db in the current directory by default."""

    actor: str = "cli"
    """Who is acting, as written to the audit log when no user is logged in."""

    import_: ImportSettings = Field(
        default_factory=ImportSettings,
        # With an alias, pydantic-settings reads the variable named by the alias, unprefixed.
        validation_alias=AliasChoices("import", "rolodex_import"),
        serialization_alias="import",
    )
    """Import settings (`ROLODEX_IMPORT__CHUNK_SIZE`)."""

    clean: CleanSettings = Field(default_factory=CleanSettings)
    """Cleaning rules (`ROLODEX_CLEAN__DEFAULT_REGION=DE`, or a [clean] table in
    rolodex.toml)."""

    resolve: ResolveSettings = Field(default_factory=ResolveSettings)
    """Matching and merging (`ROLODEX_RESOLVE__THRESHOLD=0.85`, or a [resolve] table)."""

    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    """Erasure and retention (a [privacy] table in rolodex.toml)."""

    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Keys, sign-in and API limits (`[security]`)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then ROLODEX_* variables, then rolodex.toml in the working dir."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=Path("rolodex.toml"))
        return (init_settings, env_settings, toml)


@lru_cache
def get_settings() -> Settings:
    """Read the settings from the environment once per process."""
    return Settings()
