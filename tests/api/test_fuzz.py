"""Fuzz every operation of the API's OpenAPI schema with schemathesis, signed in as admin.

The run is bounded and reproducible: a fixed seed, deterministic generation, a small number
of examples per operation, and no example database. It covers whatever routes the schema
lists when it runs, so new routers are fuzzed without touching this file. Two checks: no
response is a server error, and every response fits the schema the API publishes.

SQLite only: the fuzzer tests the adapter and the library's input handling, which do not
depend on the database, and one run on one database keeps the suite fast.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import text

from rolodex.secure.auth import issue_token
from rolodex.workspace import Workspace

SEED = 20_261_201
MAX_EXAMPLES = 20
ADMIN = "admin-user"

# Operations left out, each with the reason. Keep this list short: every exclusion is an
# operation whose failures nobody will see.
EXCLUDED_PATHS: tuple[str, ...] = ()


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only (overrides the conftest parametrization for this module)."""
    return sqlite_url


@pytest.fixture
def api_schema(client: TestClient) -> schemathesis.BaseSchema:
    """The schema the running app publishes, loaded from the app itself."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,
            },
            "phases": {"coverage": {"enabled": True}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app, config=config)
    return schema.exclude(path=list(EXCLUDED_PATHS)) if EXCLUDED_PATHS else schema


def _admin_headers(client: TestClient, ws: Workspace) -> dict[str, str]:
    """A fresh admin session for each call: a fuzzed sign-out, role change or disable of
    the admin must not leave the rest of the run refused with 401s."""
    with ws.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE app_user SET is_active = :yes, role = 'admin', locked_until = NULL,"
                " failed_logins = 0 WHERE username = :name"
            ),
            {"yes": True, "name": ADMIN},
        )
    secret = client.app.state.token_secret  # type: ignore[attr-defined]
    token = issue_token(username=ADMIN, secret=secret, ttl=timedelta(minutes=5))
    return {"Authorization": f"Bearer {token.token}"}


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 renames the test node per operation through `_nodeid`, which
    pytest 9.2 no longer has; give it the attribute back."""
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        node._nodeid = node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_operation_answers_500_or_breaks_its_schema(
    case: Case[Any], client: TestClient, api_ws: Workspace
) -> None:
    headers: dict[str, Any] = _admin_headers(client, api_ws)
    case.call_and_validate(
        headers=headers, checks=[not_a_server_error, response_schema_conformance]
    )
