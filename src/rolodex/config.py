"""Settings: one pydantic-settings model, read from ROLODEX_* variables when asked, never at import.

Nested sections use a double underscore: `ROLODEX_IMPORT__CHUNK_SIZE=5000` sets
`settings.import_.chunk_size`.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///rolodex.db"


class ImportSettings(BaseModel):
    """How `rolodex import` reads and writes."""

    chunk_size: int = Field(default=10_000, ge=1)
    """Rows per transaction: a crash leaves whole chunks only."""

    sample_rows: int = Field(default=200, ge=1)
    """Rows read ahead to infer the column mapping and the kind."""

    separate_process_bytes: int = Field(default=8 << 20, ge=0)
    """Files at least this big are written by a child process (both cores at work)."""


class Settings(BaseSettings):
    """Everything Rolodex can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="ROLODEX_", env_nested_delimiter="__", extra="ignore", populate_by_name=True
    )

    db: str = DEFAULT_DB_URL
    """Database URL; SQLite file rolodex.db in the current directory by default."""

    actor: str = "cli"
    """Who is acting, as written to the audit log when no user is logged in."""

    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    """Import settings (`ROLODEX_IMPORT__CHUNK_SIZE`)."""


@lru_cache
def get_settings() -> Settings:
    """Read the settings from the environment once per process."""
    return Settings()
