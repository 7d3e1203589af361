"""`rolodex report`: one offline HTML file built from what the store holds."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from rolodex.workspace import Workspace
from tests.conftest import DATA

CDNOW = DATA / "cdnow" / "cdnow_sample_transactions.csv"


def test_report_shows_each_analysis_the_data_allows(ws: Workspace, tmp_path: Path) -> None:
    ws.import_file(CDNOW, source="cdnow", kind="orders")
    out = tmp_path / "report.html"
    done = ws.report(out, as_of=date(1998, 6, 30))
    assert done.path == out
    assert set(done.sections) >= {"rfm", "clv", "churn", "cohorts", "forecast", "customers"}
    # No campaign members and no contact records: those sections say what to run instead.
    assert "campaigns" not in done.sections
    assert "campaign_members" in done.skipped["campaigns"]
    html = out.read_text(encoding="utf-8")
    assert "2,357 customers" in html
    assert html.count("<svg") >= 8
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)  # works offline
    assert "rolodex analyze" not in html.split('id="clv"')[1].split("</section>")[0]


def test_report_of_an_empty_workspace_says_what_to_do(ws: Workspace, tmp_path: Path) -> None:
    done = ws.report(tmp_path / "empty.html")
    assert done.sections == ()
    html = (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "rolodex import" in html
