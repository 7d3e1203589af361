"""Company records are cleaned on import too: name, legal form, domain, phone, address."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from rolodex.workspace import Workspace

ACCOUNTS = """Account ID,Account Name,Website,Phone,Billing Country,Billing Zip
A1,ACME GMBH,https://www.Acme.de/kontakt,030 1234567,Deutschland,10115
A2,"globex, inc.",globex.com,+1 (212) 555-0199,USA,10001
A3,Initech Ltd,n/a,020 7946 0958,U.K.,sw1a1aa
"""


def test_company_import_cleans_names_domains_phones(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS, encoding="utf-8")
    summary = ws.import_file(path, source="crm", kind="companies")
    assert summary.accepted == 3
    with ws.engine.connect() as conn:
        rows = {
            r.external_id: r
            for r in conn.execute(
                text(
                    "SELECT r.external_id, v.name, v.name_key, v.domain, v.phone, v.country,"
                    " v.postcode, v.flags FROM company_record v"
                    " JOIN source_record r ON r.id = v.source_record_id"
                )
            )
        }
        golden = conn.execute(text("SELECT name FROM company ORDER BY name")).scalars().all()
    assert rows["A1"].name == "Acme GmbH"
    assert rows["A1"].name_key == "acme"
    assert rows["A1"].domain == "acme.de"
    assert rows["A1"].phone == "+49301234567"
    assert rows["A2"].name == "Globex, Inc."
    assert rows["A3"].country == "GB"
    assert rows["A3"].postcode == "SW1A 1AA"
    flags = rows["A3"].flags
    flags = flags if isinstance(flags, dict) else json.loads(flags)
    assert flags["domain"]["flag"] == "invalid"
    assert golden == ["Acme GmbH", "Globex, Inc.", "Initech Ltd"]
