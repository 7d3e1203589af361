"""`rolodex privacy export|erase|retention` from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rolodex.cli.main import app
from rolodex.config import get_settings
from tests.pipeline.test_privacy import CRM, ORDERS, SHOP

TOML = """\
[[privacy.retention]]
kind = "orders"
months = 12
action = "anonymize"
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with rolodex.toml, read afresh by the commands."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLODEX_DB", raising=False)
    (tmp_path / "rolodex.toml").write_text(TOML, encoding="utf-8")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(runner: CliRunner, db: str, *args: str, code: int = 0, given: str | None = None) -> Any:
    result = runner.invoke(app, ["--db", db, *args], input=given)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


@pytest.fixture
def db(runner: CliRunner, here: Path, db_url: str) -> str:
    for name, body in (("crm", CRM), ("shop", SHOP), ("orders", ORDERS)):
        (here / f"{name}.csv").write_text(body, encoding="utf-8")
    _run(runner, db_url, "import", "crm.csv", "--source", "crm", "--kind", "contacts")
    _run(runner, db_url, "import", "shop.csv", "--source", "shop", "--kind", "contacts")
    _run(runner, db_url, "import", "orders.csv", "--source", "shop", "--kind", "orders")
    _run(runner, db_url, "resolve")
    return db_url


def test_export_writes_json_and_csv(runner: CliRunner, db: str, here: Path) -> None:
    got = _run(
        runner, db, "privacy", "export", "zebulon.quixwell@gmail.com", "--out", "dsar", "--json"
    )
    assert [Path(f).suffix for f in got["files"]] == [".json", ".zip"]
    assert got["counts"]["source_records"] == 4  # c1, s1 and the two orders' rows
    document = json.loads(Path(got["files"][0]).read_text(encoding="utf-8"))
    assert {r["external_id"] for r in document["source_records"]} == {"c1", "s1", "o1", "o3"}


def test_erase_asks_first_and_then_forgets(runner: CliRunner, db: str) -> None:
    refused = _run(
        runner, db, "privacy", "erase", "zebulon.quixwell@gmail.com", code=1, given="n\n"
    )
    assert "nothing erased" in refused.output
    _run(runner, db, "privacy", "export", "zebulon.quixwell@gmail.com", "--out", "still", "--json")

    done = _run(
        runner,
        db,
        "privacy",
        "erase",
        "zebulon.quixwell@gmail.com",
        "--yes",
        "--suppress",
        "--json",
    )
    assert done["suppressed"] >= 2
    assert done["deleted"]["source_record"] == 4
    missing = _run(
        runner, db, "privacy", "export", "zebulon.quixwell@gmail.com", "--out", "x", code=2
    )
    assert "no contact matches" in missing.output
    again = _run(runner, db, "import", "crm.csv", "--source", "crm", "--kind", "contacts")
    assert "suppressed: this person asked to be erased" in again.stdout
    assert "overwritten" in _run(runner, db, "privacy", "scrub").stdout
    verify = _run(runner, db, "audit", "verify", "--json")
    assert verify["ok"]


def test_retention_dry_run_changes_nothing(runner: CliRunner, db: str) -> None:
    dry = _run(runner, db, "privacy", "retention", "--dry-run", "--json")
    assert dry["dry_run"]
    assert set(dry["rows"]) == {"orders:12m"}
    assert dry["anonymized"].get("order", 0) == dry["rows"]["orders:12m"]
    real = _run(runner, db, "privacy", "retention", "--json")
    assert real["rows"] == dry["rows"]
