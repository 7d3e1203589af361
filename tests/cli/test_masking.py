"""Field permissions apply the same to every output: CLI exports, segment exports and the
report mask or leave out what the acting user's role does not grant (`rolodex --as USER`)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rolodex.cli.main import app
from rolodex.workspace import Workspace
from tests.conftest import DATA

PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(ws: Workspace) -> str:
    """A workspace with the small contacts file and one user per role under test."""
    ws.import_file(DATA / "contacts_small.csv", source="crm")
    for role in ("support", "analyst", "marketing", "admin"):
        ws.user_add(f"{role}-user", password=PASSWORD, role=role)
    with ws.engine.begin() as conn:
        from sqlalchemy import text

        # Everybody consented to marketing email, so the segment export keeps them all.
        for (cid,) in conn.execute(text("SELECT id FROM contact")).all():
            conn.execute(
                text(
                    "INSERT INTO consent (contact_id, purpose, status, created_at)"
                    " VALUES (:c, 'marketing_email', 'granted', CURRENT_TIMESTAMP)"
                ),
                {"c": cid},
            )
    return ws.url


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _run(db: str, *args: str, user: str | None = None) -> str:
    who = ["--as", user] if user else []
    result = CliRunner().invoke(app, ["--db", db, *who, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_exports_mask_what_the_role_does_not_grant(db: str, tmp_path: Path) -> None:
    full, support = tmp_path / "full.csv", tmp_path / "marketing.csv"
    _run(db, "export", "contacts", "--out", str(full))
    _run(db, "export", "contacts", "--out", str(support), user="marketing-user")
    plain, masked = _rows(full), _rows(support)
    assert len(plain) == len(masked) >= 5
    assert "birth_date" in plain[0]
    assert "birth_date" not in masked[0]
    by_id = {r["contact_id"]: r for r in plain}
    phones = [(by_id[m["contact_id"]]["phone"], m["phone"]) for m in masked if m["phone"]]
    assert phones
    for original, shown in phones:
        assert shown != original
        assert shown.endswith(original[-4:])
        assert "•" in shown
    assert [m["last_name"] for m in masked] == [p["last_name"] for p in plain]


def test_an_aggregates_only_role_cannot_export_people(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--db", db, "--as", "analyst-user", "export", "contacts", "--out", "x.csv"]
    )
    assert result.exit_code == 2
    assert "analyst" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_segment_exports_mask_too(db: str, tmp_path: Path) -> None:
    _run(db, "segment", "create", "everyone", "--where", "country is not null")
    out = tmp_path / "seg.csv"
    _run(db, "segment", "export", "everyone", "--out", str(out), user="marketing-user")
    rows = _rows(out)
    assert rows
    assert all("•" in r["phone"] for r in rows if r["phone"])
    assert any(r["email"] and "@" in r["email"] for r in rows)  # marketing sees emails


def test_an_unknown_user_is_refused(db: str) -> None:
    result = CliRunner().invoke(
        app, ["--db", db, "--as", "nobody", "export", "contacts", "--out", "x.csv"]
    )
    assert result.exit_code == 2
    assert "nobody" in result.output


def test_the_report_leaves_names_out_for_an_aggregates_only_role(db: str, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    lines = ["customer_id,date,amount"]
    for n, cid in enumerate(("C001", "C002", "C003", "C005", "C006")):
        for month in range(1, 2 + n * 2):
            lines.append(f"{cid},2024-{month:02d}-1{n},{20 + 7 * n + month}")
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _run(db, "import", str(orders), "--source", "crm", "--kind", "orders")
    admin, analyst = tmp_path / "admin.html", tmp_path / "analyst.html"
    _run(db, "report", "--out", str(admin), "--as-of", "2024-12-31")
    _run(db, "report", "--out", str(analyst), "--as-of", "2024-12-31", user="analyst-user")
    full, aggregate = admin.read_text(encoding="utf-8"), analyst.read_text(encoding="utf-8")
    assert "Doe" in full
    assert "Müller" in full
    assert "Doe" not in aggregate
    assert "Müller" not in aggregate


def test_privacy_and_key_commands_need_their_permissions(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (
        ("privacy", "erase", "jane.doe@example.com", "--yes"),
        ("privacy", "export", "jane.doe@example.com", "--out", str(tmp_path / "dsar")),
        ("privacy", "retention", "--dry-run"),
    ):
        refused = runner.invoke(app, ["--db", db, "--as", "support-user", *args])
        assert refused.exit_code == 2, refused.output
        assert "may not" in refused.output
    assert not (tmp_path / "dsar").exists()
    found = runner.invoke(app, ["--db", db, "export", "contacts", "--out", str(tmp_path / "c.csv")])
    assert found.exit_code == 0
    assert "jane.doe@example.com" in (tmp_path / "c.csv").read_text(encoding="utf-8")


def test_error_messages_are_printed_as_text_not_markup(db: str) -> None:
    result = CliRunner().invoke(app, ["--db", db, "privacy", "retention", "--dry-run"])
    assert result.exit_code == 2
    assert "[[privacy.retention]]" in result.output
