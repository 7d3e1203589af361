"""The command line: the contract users' scripts rely on (exit codes, stdout, stderr)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from rolodex.cli.main import app
from rolodex.store.migrate import head_revision
from tests.conftest import DATA

CONTACTS = DATA / "contacts_small.csv"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLODEX_DB", raising=False)
    return CliRunner()


def test_init_creates_rolodex_db_in_the_current_directory(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rolodex.db").exists()
    engine = create_engine(f"sqlite:///{tmp_path / 'rolodex.db'}")
    assert f"schema {head_revision(engine)}" in result.output
    engine.dispose()


def test_db_option_and_environment_select_the_database(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.invoke(app, ["--db", str(tmp_path / "a.db"), "init"]).exit_code == 0
    monkeypatch.setenv("ROLODEX_DB", f"sqlite:///{tmp_path / 'b.db'}")
    from rolodex.config import get_settings

    get_settings.cache_clear()
    assert cli.invoke(app, ["init"]).exit_code == 0
    get_settings.cache_clear()
    assert (tmp_path / "a.db").exists()
    assert (tmp_path / "b.db").exists()
    assert not (tmp_path / "rolodex.db").exists()


def test_import_json_summary_reconciles(cli: CliRunner) -> None:
    result = cli.invoke(app, ["import", str(CONTACTS), "--source", "crm", "--json"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.stdout)
    assert summary["read"] == 7
    assert summary["read"] == (
        summary["accepted"] + summary["updated"] + summary["unchanged"] + summary["quarantined"]
    )


def test_import_prints_summary_and_problems(cli: CliRunner) -> None:
    result = cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"])
    assert result.exit_code == 0, result.output
    assert "Import summary" in result.output
    assert "duplicate id 'C002'" in result.output
    assert "contacts_small.csv" in result.output


def test_dry_run_prints_mapping_and_writes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["import", str(CONTACTS), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Column mapping" in result.output
    assert "E-Mail" in result.output
    assert "juergen@mueller.de" in result.output  # the first rows, as they would be stored
    assert "custom:loyalty_tier" in result.output  # unmapped columns become custom fields
    assert "nothing was written" in result.output
    assert not (tmp_path / "rolodex.db").exists()


def test_undo_and_list(cli: CliRunner) -> None:
    assert cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"]).exit_code == 0
    listed = cli.invoke(app, ["import", "list"])
    assert "completed" in listed.output
    undone = cli.invoke(app, ["import", "undo", "1"])
    assert undone.exit_code == 0, undone.output
    assert "removed 7 source records (5 contacts)" in undone.output
    again = cli.invoke(app, ["import", "undo", "1"])
    assert again.exit_code == 2
    assert "undone already" in again.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_formats(cli: CliRunner, tmp_path: Path, fmt: str) -> None:
    assert cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"]).exit_code == 0
    out = tmp_path / f"links.{fmt}"
    result = cli.invoke(app, ["export", "links", "--out", str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        with out.open(encoding="utf-8") as fh:
            links = list(csv.DictReader(fh))
    elif fmt == "json":
        links = json.loads(out.read_text(encoding="utf-8"))
    else:
        links = pq.read_table(out).to_pylist()
    assert next(list(link) for link in links) == ["source", "external_id", "contact_id"]
    assert sorted(str(link["external_id"]) for link in links) == [
        "C001",
        "C002",
        "C003",
        "C004",
        "C006",
    ]
    assert len({link["contact_id"] for link in links}) == 5


def test_csv_export_neutralizes_formulas(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"]).exit_code == 0
    out = tmp_path / "contacts.csv"
    assert cli.invoke(app, ["export", "contacts", "--out", str(out)]).exit_code == 0
    with out.open(encoding="utf-8") as fh:
        names = {r["first_name"] for r in csv.DictReader(fh)}
    assert "'=cmd|' /C calc'!A0" in names
    assert not any(n.startswith("=") for n in names)


def test_errors_go_to_stderr_with_file_name(cli: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = cli.invoke(app, ["import", str(empty), "--source", "s"])
    assert result.exit_code == 2
    assert "empty.csv" in result.stderr
    assert "empty" in result.stderr
    assert result.stdout == ""
    missing = cli.invoke(app, ["import", "nope.csv", "--source", "s"])
    assert missing.exit_code == 2
    assert "nope.csv: no such file" in missing.stderr
    no_source = cli.invoke(app, ["import", str(CONTACTS)])
    assert "--source is required" in no_source.stderr


def test_gzip_input(cli: CliRunner, tmp_path: Path) -> None:
    packed = tmp_path / "contacts.csv.gz"
    packed.write_bytes(gzip.compress(CONTACTS.read_bytes()))
    result = cli.invoke(app, ["import", str(packed), "--source", "crm", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["accepted"] == 5


def test_demo_imports_every_sample_source(cli: CliRunner, tmp_path: Path) -> None:
    from rolodex.sample import SAMPLE_SOURCES

    result = cli.invoke(app, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    for sample in SAMPLE_SOURCES:
        assert sample[0] in result.output
    assert (tmp_path / "demo" / "rolodex.db").exists()
    again = cli.invoke(app, ["demo", "--dir", str(tmp_path / "demo")])  # a fresh workspace
    assert again.exit_code == 0, again.output
    listed = cli.invoke(app, ["--db", str(tmp_path / "demo" / "rolodex.db"), "import", "list"])
    assert listed.output.count("completed") == len(SAMPLE_SOURCES)
    assert "Data quality" in result.output
    assert "before cleaning" in result.output
    assert "Top problems" in result.output
    # Analyze, segment and report, as of the last sample order.
    assert "Analysis as of 2025-05-31" in result.output
    assert "BG/NBD + Gamma-Gamma" in result.output
    assert "Segment 'win back'" in result.output
    assert "Campaigns: 4 with a control group" in result.output  # read off campaign events
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 8


def test_quality_json_has_scores_before_and_after(cli: CliRunner) -> None:
    assert cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"]).exit_code == 0
    result = cli.invoke(app, ["quality", "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    overall = card["overall"]
    assert overall["records"] == 5
    assert 0 <= overall["score_before"] <= overall["score"] <= 100
    phone = next(f for f in overall["fields"] if f["field"] == "phone")
    assert phone["validity_before"] < phone["validity"]
    assert [s["source"] for s in card["sources"]] == ["crm"]
    only = json.loads(cli.invoke(app, ["quality", "--json", "--source", "nope"]).stdout)
    assert only["overall"]["records"] == 0


def test_clean_command_reports_records_and_scores(cli: CliRunner) -> None:
    assert cli.invoke(app, ["import", str(CONTACTS), "--source", "crm"]).exit_code == 0
    result = cli.invoke(app, ["clean"])
    assert result.exit_code == 0, result.output
    assert "Cleaned 5 contact records" in result.output
    assert "quality score" in result.output


RESOLVE_DATA = Path(__file__).parents[1] / "resolve" / "data"


def test_resolve_explain_review_and_merge_commands(cli: CliRunner) -> None:
    for name, source in (("crm.csv", "crm"), ("shop.csv", "shop")):
        assert (
            cli.invoke(app, ["import", str(RESOLVE_DATA / name), "--source", source]).exit_code == 0
        )
    dry = cli.invoke(app, ["resolve", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would move 4 records" in dry.output
    result = cli.invoke(app, ["resolve", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the JSON document and nothing else
    assert summary["records"] == 13
    assert summary["contacts_merged_away"] == 4
    explained = cli.invoke(app, ["explain", "1", "--json"])
    found = json.loads(explained.stdout)
    assert {r["external_id"] for r in found["records"]} == {"c1", "s1"}
    merged = cli.invoke(app, ["merge", "3", "4", "--reason", "same household account"])
    assert merged.exit_code == 0, merged.output
    assert "Merged contact 4 into 3" in merged.output
    assert cli.invoke(app, ["merge", "3", "4"]).exit_code == 2  # already one contact
    listed = cli.invoke(app, ["review", "list", "--json"])
    assert listed.exit_code == 0
    assert isinstance(json.loads(listed.stdout), list)
    # The merge is a label: calibration learns from it and says what it moved.
    calibrated = cli.invoke(app, ["review", "calibrate", "--json"])
    assert calibrated.exit_code == 0, calibrated.output
    assert json.loads(calibrated.stdout)["labels"] == 1
    shown = cli.invoke(app, ["review", "calibrate", "--dry-run"])
    assert "Calibrated on 1 labelled pairs" in shown.output
    assert cli.invoke(app, ["source", "trust", "crm", "10"]).exit_code == 0
    assert cli.invoke(app, ["source", "trust", "nowhere", "10"]).exit_code == 2
