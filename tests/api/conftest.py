"""An API over a real workspace (SQLite and PostgreSQL) with one user per built-in role."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rolodex.api.app import create_app
from rolodex.config import Settings
from rolodex.secure.permissions import BUILTIN_ROLES
from rolodex.workspace import Workspace
from tests.conftest import DATA, PG_ADMIN_URL

PASSWORD = "correct horse battery staple"
ROLES = tuple(BUILTIN_ROLES)


def _fill(ws: Workspace) -> None:
    """The small contacts file, resolved, and a user per role (argon2 hashing is slow on
    purpose, which is why this is built once per database kind and copied)."""
    ws.init()
    ws.import_file(DATA / "contacts_small.csv", source="crm")
    ws.resolve()
    for role in ROLES:
        ws.user_add(f"{role}-user", password=PASSWORD, role=role, team="north")


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Filled workspaces to copy: a SQLite file, a PostgreSQL template database."""
    made: dict[str, str] = {}
    yield made
    if "postgres" in made:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{made["postgres"]}" WITH (FORCE)'))
        admin.dispose()


def _template(kind: str, made: dict[str, str], settings: Settings, tmp: Path) -> str:
    """Build the template of one database kind on first use; return where it is."""
    if kind in made:
        return made[kind]
    if kind == "sqlite":
        where = str(tmp / "api-template.db")
        url = f"sqlite:///{where}"
    else:
        where = f"rolodex_tmpl_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{where}"'))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=where).render_as_string(hide_password=False)
    # The template's key vault goes with it: each copy gets its own copy of both, as a
    # restored backup would (an erasure in one copy must not shred the others).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROLODEX_VAULT", str(tmp / f"{kind}-template.vault"))
        with Workspace(url, settings=settings, actor="test") as ws:
            _fill(ws)
            ws.vault.close()
    # Closed: SQLite checkpoints the WAL into the file when its last connection goes.
    made[kind] = where
    made[f"{kind}-vault"] = str(tmp / f"{kind}-template.vault")
    return where


@pytest.fixture
def api_ws(
    db_url: str,
    settings: Settings,
    _templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Workspace]:
    """A workspace holding the small contacts file, resolved, and a user per role: a copy
    of a template built once per database kind, with a copy of its key vault."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    where = _template(kind, _templates, settings, tmp_path_factory.mktemp("api"))
    vault = tmp_path_factory.mktemp("vault") / "copy.vault"
    template_vault = _templates[f"{kind}-vault"]
    for suffix in ("", "-wal"):
        if Path(template_vault + suffix).exists():
            shutil.copyfile(template_vault + suffix, str(vault) + suffix)
    monkeypatch.setenv("ROLODEX_VAULT", str(vault))
    if kind == "sqlite":
        target = make_url(db_url).database or ""
        for suffix in ("", "-wal"):
            if Path(where + suffix).exists():
                shutil.copyfile(where + suffix, target + suffix)
    else:
        name = make_url(db_url).database
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{where}"'))
        admin.dispose()
    ws = Workspace(db_url, settings=settings, actor="test")
    yield ws
    ws.close()


@pytest.fixture
def client(api_ws: Workspace) -> Iterator[TestClient]:
    """A client of the API over that workspace (the read log flushes on exit)."""
    with TestClient(create_app(api_ws)) as test_client:
        yield test_client


def login(client: TestClient, role: str) -> dict[str, str]:
    """Sign in as the user of `role`; return the headers that carry the token."""
    answer = client.post(
        "/api/v1/auth/login", json={"username": f"{role}-user", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    """Headers of the admin user."""
    return login(client, "admin")


def poll_job(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Poll a background job (imports, resolve) until it is done or failed; return it."""
    deadline = time.monotonic() + 120  # a guard against a hung job, not a timing check
    while time.monotonic() < deadline:
        answer = client.get(f"/api/v1/imports/jobs/{job_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        job = answer.json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")
