"""Shared fixtures: workspaces on SQLite (always) and PostgreSQL (when one is reachable).

Test databases are built by running the Alembic migrations, never `create_all`. PostgreSQL
tests use a throwaway database per test on ROLODEX_TEST_PG (default: the local server) and
are skipped, with the reason shown, when no server answers.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rolodex.config import ImportSettings, Settings
from rolodex.secure.crypto import Keyring
from rolodex.workspace import Workspace

PG_ADMIN_URL = os.environ.get(
    "ROLODEX_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATA = Path(__file__).parent / "data"
# One keyring for the whole run: no test writes a rolodex.key into the working directory.
TEST_KEYS = Keyring.generate().to_env_value()


# One key vault per test process, set before any fixture runs: workspaces made by module
# fixtures outlive single tests, and every process that touches them (import writers
# included) must find the same vault. PostgreSQL workspaces would otherwise use the working
# directory's `rolodex.vault`.
_VAULT_DIR = Path(tempfile.mkdtemp(prefix="rolodex-test-vault-"))
atexit.register(shutil.rmtree, _VAULT_DIR, True)
TEST_VAULT = _VAULT_DIR / "test.vault"
os.environ["ROLODEX_VAULT"] = str(TEST_VAULT)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every test encryption keys through the environment, as a deployment would, and
    the run's key vault."""
    monkeypatch.setenv("ROLODEX_KEYS", TEST_KEYS)
    monkeypatch.delenv("ROLODEX_KEY_FILE", raising=False)
    monkeypatch.setenv("ROLODEX_VAULT", str(TEST_VAULT))


def _pg_available() -> str | None:
    """Return None when PostgreSQL answers, else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install rolodex[postgres])"
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        where = make_url(PG_ADMIN_URL).render_as_string()
        return f"no PostgreSQL at {where}: {exc.__class__.__name__}"
    return None


_PG_SKIP = _pg_available()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL server (skips the test when there is none)."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    name = f"rolodex_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file URL."""
    return f"sqlite:///{tmp_path / 'rolodex.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings() -> Settings:
    """Settings with small chunks, so multi-chunk paths run on small files."""
    return Settings(db="sqlite:///unused.db", import_=ImportSettings(chunk_size=50))


@pytest.fixture
def ws(db_url: str, settings: Settings) -> Iterator[Workspace]:
    """An initialized workspace on each database."""
    workspace = Workspace(db_url, settings=settings, actor="test")
    workspace.init()
    yield workspace
    workspace.close()


def pytest_report_header() -> list[str]:
    """Say up front whether the PostgreSQL and the browser tests will run."""
    browser = None if Path("/usr/bin/chromium").exists() else "no /usr/bin/chromium"
    return [
        "postgres tests: " + ("run" if _PG_SKIP is None else f"SKIPPED ({_PG_SKIP})"),
        "browser tests: " + ("run" if browser is None else f"SKIPPED ({browser})"),
    ]
