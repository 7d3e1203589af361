"""The imports endpoints: upload as a background job, poll, batches, quarantine, undo."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from rolodex.api.app import create_app
from rolodex.config import SecuritySettings
from rolodex.secure.permissions import MASK
from rolodex.workspace import Workspace
from tests.api.conftest import login, poll_job
from tests.conftest import DATA

CSV = (DATA / "contacts_small.csv").read_bytes()


def _upload(
    client: TestClient, headers: dict[str, str], *, name: str = "shop export.csv", **form: str
) -> Any:
    return client.post(
        "/api/v1/imports",
        headers=headers,
        files={"file": (name, CSV, "text/csv")},
        data={"source": "shop", **form},
    )


def test_upload_runs_as_a_job_whose_summary_reconciles(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = _upload(client, admin, kind="contacts", id_column="Customer ID")
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] in ("queued", "running", "done")
    assert answer.headers["Location"].endswith(answer.json()["id"])
    job = poll_job(client, admin, answer.json()["id"])
    assert job["status"] == "done", job
    summary = job["result"]
    assert summary["file"] == "shop export.csv"  # the upload's own name, not the temp file's
    assert summary["source"] == "shop"
    assert summary["read"] == 7
    assert summary["reconciles"] is True
    assert summary["read"] == (
        summary["accepted"] + summary["updated"] + summary["unchanged"] + summary["quarantined"]
    )
    assert summary["quarantined"] >= 1
    batches = client.get("/api/v1/imports", headers=admin).json()["items"]
    assert batches[0]["id"] == summary["batch_id"]
    assert batches[0]["source"] == "shop"


def test_quarantine_shows_reasons_and_masks_the_raw_row_by_role(
    client: TestClient, admin: dict[str, str]
) -> None:
    job = poll_job(client, admin, _upload(client, admin).json()["id"])
    batch = job["result"]["batch_id"]
    full = client.get(f"/api/v1/imports/{batch}/quarantine", headers=admin)
    assert full.status_code == 200, full.text
    items = full.json()["items"]
    assert len(items) == job["result"]["quarantined"]
    assert all(item["reasons"] for item in items)
    assert any(isinstance(item["payload"], dict) for item in items)
    # Stored encrypted, shown as the row the source sent.
    assert {"Customer ID": "C002", "E-Mail": "jm@mueller.de"}.items() <= next(
        i["payload"] for i in items if i["payload"] and i["payload"].get("E-Mail")
    ).items()
    readonly = login(client, "read_only")
    masked = client.get(f"/api/v1/imports/{batch}/quarantine", headers=readonly).json()["items"]
    assert [m["id"] for m in masked] == [i["id"] for i in items]
    assert {m["payload"] for m in masked if m.get("payload") is not None} <= {MASK}
    assert [m["reasons"] for m in masked] == [i["reasons"] for i in items]
    for role in ("sales", "marketing", "analyst"):
        refused = client.get(f"/api/v1/imports/{batch}/quarantine", headers=login(client, role))
        assert refused.status_code == 403, role


def test_quarantine_pages_and_unknown_batches(client: TestClient, admin: dict[str, str]) -> None:
    job = poll_job(client, admin, _upload(client, admin).json()["id"])
    batch = job["result"]["batch_id"]
    every = client.get(f"/api/v1/imports/{batch}/quarantine", headers=admin).json()["items"]
    seen: list[int] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"after": after} if after else {})}
        page = client.get(f"/api/v1/imports/{batch}/quarantine", headers=admin, params=params)
        seen += [i["id"] for i in page.json()["items"]]
        after = page.json()["next_cursor"]
        if after is None:
            break
    assert seen == [i["id"] for i in every]
    assert client.get("/api/v1/imports/999999/quarantine", headers=admin).status_code == 404
    assert client.get("/api/v1/imports/0/quarantine", headers=admin).status_code == 422
    assert client.get("/api/v1/imports/x/quarantine", headers=admin).status_code == 422


def test_undo_removes_the_batch_and_needs_the_right(
    client: TestClient, admin: dict[str, str], api_ws: Workspace
) -> None:
    before = api_ws.counts()["source_record"]
    job = poll_job(client, admin, _upload(client, admin, kind="contacts").json()["id"])
    batch = job["result"]["batch_id"]
    assert api_ws.counts()["source_record"] > before
    refused = client.delete(f"/api/v1/imports/{batch}", headers=login(client, "read_only"))
    assert refused.status_code == 403
    done = client.delete(f"/api/v1/imports/{batch}", headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["batch_id"] == batch
    assert api_ws.counts()["source_record"] == before
    again = client.delete(f"/api/v1/imports/{batch}", headers=admin)
    assert again.status_code == 400
    assert client.delete("/api/v1/imports/424242", headers=admin).status_code == 404


def test_uploads_need_the_import_right_and_jobs_are_private(
    client: TestClient, admin: dict[str, str]
) -> None:
    for role in ("read_only", "sales", "analyst"):
        assert _upload(client, login(client, role)).status_code == 403, role
    job_id = _upload(client, admin).json()["id"]
    poll_job(client, admin, job_id)
    other = client.get(f"/api/v1/imports/jobs/{job_id}", headers=login(client, "manager"))
    assert other.status_code == 404
    assert client.get("/api/v1/imports/jobs/nope", headers=admin).status_code == 422
    assert client.post("/api/v1/imports", headers=admin).status_code == 422


def test_a_failed_import_is_a_failed_job_with_a_problem(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/imports",
        headers=admin,
        files={"file": ("../../etc/notes.exe", b"\x00\x01binary", "application/octet-stream")},
        data={"source": "shop"},
    )
    assert answer.status_code == 202, answer.text
    job = poll_job(client, admin, answer.json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["status"] in (400, 422)
    assert "etc/" not in job["error"]["detail"]


def test_the_body_limit_covers_uploads(api_ws: Workspace) -> None:
    small = Workspace(
        api_ws.url,
        settings=api_ws.settings.model_copy(
            update={"security": SecuritySettings(max_body_bytes=2048)}
        ),
    )
    with TestClient(create_app(small)) as client:
        headers = login(client, "admin")
        answer = client.post(
            "/api/v1/imports",
            headers=headers,
            files={"file": ("big.csv", b"a,b\n" + b"1,2\n" * 2000, "text/csv")},
            data={"source": "shop"},
        )
        assert answer.status_code == 413
    small.close()
