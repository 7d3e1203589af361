"""Speed and peak memory of identity resolution (`rolodex resolve`) on multi-source CRM data.

    python benchmarks/resolve_speed.py --records 1000000 --runs 1
    python benchmarks/resolve_speed.py --records 1000000 --db postgres
    python benchmarks/resolve_speed.py --records 20000 --keep
    python benchmarks/resolve_speed.py --workspace benchmarks/out/resolve-20000-7-XXXXXXXX --runs 3

Setup (timed, but not a figure): the six source files of benchmarks/generate_crm.py for
round(records / 1.7) people, less a held-out slice of the Shopify export (the last rows: 1%
of `--records`, at least 100 and at most 10,000, written to `late_shopify.csv` with the same
header), then `rolodex init` and one `rolodex import FILE --source NAME --kind contacts` per
file. The imported workspace is kept as a snapshot (a copy of the SQLite file, or a Postgres
template database), and every run starts from a fresh copy of it. Then, per run, each step in
a child process of its own, with its wall time and the peak resident memory the child reports
to `os.wait4`:

1. full resolve: `rolodex resolve --full --retrain --json`, with the seconds per step the
   command reports (read, train, predict, cluster, write) and its counts;
2. incremental resolve: `rolodex import late_shopify.csv --source late` (not timed as a
   figure), then `rolodex resolve --json`, whose `pending` count must equal the held-out rows
   the import accepted;
3. real-time match: one process opens `Workspace(url)` and calls `ws.match(record)` for 200
   held-out records (canonical keys first_name, last_name, email, phone, company_name,
   street, postcode, city, country; blank values left out) after 5 warm-up calls, for the
   median and 95th percentile latency. Without `Workspace.match` the step says so and is
   skipped.

Figures are medians over `--runs`, printed beside the targets (set for 1,000,000 records).
`--keep` keeps the folder (data, snapshot, last run's database) and prints it; `--workspace`
reuses such a folder, skipping generation and imports. Postgres runs use fresh databases on
$ROLODEX_BENCH_PG (by default the local server, like benchmarks/import_speed.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generate_crm import SOURCES, SourceFile, generate

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get(
    "ROLODEX_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ROLODEX = [sys.executable, "-m", "rolodex"]

RECORDS_PER_PERSON = 1.7  # what generate_crm writes on average
HELD_OUT_SHARE = 0.01
HELD_OUT_MIN = 100
HELD_OUT_MAX = 10_000
LATE_FILE = "late_shopify.csv"
LATE_SOURCE = "late"
MANIFEST = "workspace.json"
MATCH_RECORDS = "match_records.json"
MATCH_WARMUP = 5
MATCH_CALLS = 200
STEPS = ("read", "train", "predict", "cluster", "write")

TARGET_RECORDS = 1_000_000
FULL_SECONDS_TARGET = 180.0
FULL_MIB_TARGET = 2.5 * 1024
INCREMENTAL_RECORDS_TARGET = 10_000
INCREMENTAL_SECONDS_TARGET = 15.0
MATCH_MEDIAN_MS_TARGET = 10.0
MATCH_P95_MS_TARGET = 25.0

HELD_OUT: SourceFile = next(spec for spec in SOURCES if spec.name == "shopify")
CANONICAL: dict[str, tuple[str, ...]] = {  # match key -> Shopify columns, first filled wins
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "email": ("Email",),
    "phone": ("Phone", "Default Address Phone"),
    "company_name": ("Default Address Company",),
    "street": ("Default Address Address1",),
    "postcode": ("Default Address Zip",),
    "city": ("Default Address City",),
    "country": ("Default Address Country Code",),
}


# =============================================================================================
# Child processes
# =============================================================================================


class StepFailed(Exception):
    """A measured command exited with an error; the message holds its stderr verbatim."""


@dataclass(frozen=True, slots=True)
class Measured:
    """What one child process took and printed."""

    seconds: float
    peak_mib: int
    stdout: str


def _run(args: list[str]) -> Measured:
    """Run a command; return its wall seconds, peak RSS in MiB and stdout.

    Raises:
        StepFailed: the command exited with a non-zero status.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdout=out, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            errors.seek(0)
            raise StepFailed(
                f"command failed ({proc.returncode}): {' '.join(args)}\n"
                + errors.read().decode(errors="replace")
            )
        out.seek(0)
        return Measured(seconds, usage.ru_maxrss // 1024, out.read().decode())


def _rolodex(url: str, *args: str) -> Measured:
    return _run([*ROLODEX, "--db", url, *args])


def _import(url: str, path: Path, source: str) -> tuple[Measured, dict[str, Any]]:
    """Import one file; return the measurement and the import summary."""
    done = _rolodex(url, "import", str(path), "--source", source, "--kind", "contacts", "--json")
    summary: dict[str, Any] = json.loads(done.stdout)[0]
    return done, summary


# =============================================================================================
# The workspace: data, the imported snapshot, one database per run
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Store:
    """The snapshot database after setup, and the database each run works on.

    SQLite: `setup.db` in the folder, copied to `run.db` per run. Postgres: a database made
    at setup, cloned per run with CREATE DATABASE ... TEMPLATE.
    """

    kind: str
    folder: Path
    name: str  # sqlite: file name of the snapshot; postgres: database name of the snapshot

    def _url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / name}"
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    @property
    def setup_url(self) -> str:
        """URL of the snapshot."""
        return self._url(self.name)

    @property
    def run_name(self) -> str:
        """File or database name of the run copy."""
        return "run.db" if self.kind == "sqlite" else f"{self.name}_run"

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(sql))
        finally:
            admin.dispose()

    def create(self) -> None:
        """Create the empty snapshot database (Postgres; SQLite creates the file itself)."""
        if self.kind == "postgres":
            self._admin(f'CREATE DATABASE "{self.name}"')

    def fresh_run(self) -> str:
        """Replace the run database with a copy of the snapshot; return its URL."""
        self.drop_run()
        if self.kind == "sqlite":
            for part in self.folder.glob(self.name + "*"):
                shutil.copyfile(part, self.folder / (self.run_name + part.name[len(self.name) :]))
            # The key vault sits beside the database (setup.db -> setup.vault): the copy
            # needs its own, or none of its sealed data opens.
            vault = self.folder / Path(self.name).with_suffix(".vault")
            if vault.exists():
                shutil.copyfile(vault, self.folder / Path(self.run_name).with_suffix(".vault"))
        else:
            self._admin(f'CREATE DATABASE "{self.run_name}" TEMPLATE "{self.name}"')
        return self._url(self.run_name)

    def drop_run(self) -> None:
        """Remove the run database, if there is one."""
        if self.kind == "sqlite":
            for stale in self.folder.glob(self.run_name + "*"):
                stale.unlink()
            (self.folder / Path(self.run_name).with_suffix(".vault")).unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.run_name}" WITH (FORCE)')

    def drop_all(self) -> None:
        """Remove the run database and the snapshot (the folder itself is the caller's)."""
        self.drop_run()
        if self.kind == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def held_out_rows(records: int) -> int:
    """Rows to hold out for the incremental step: 1% of `records`, within 100..10,000."""
    return max(HELD_OUT_MIN, min(HELD_OUT_MAX, round(records * HELD_OUT_SHARE)))


def split_tail(path: Path, late: Path, spec: SourceFile, tail: int, rows: int) -> None:
    """Move the last `tail` of the `rows` data rows of `path` into `late`, header on both."""
    kept = path.with_suffix(".part")
    with (
        path.open(encoding=spec.encoding, newline="") as source,
        kept.open("w", encoding=spec.encoding, newline="") as head_file,
        late.open("w", encoding=spec.encoding, newline="") as tail_file,
    ):
        reader = csv.reader(source, delimiter=spec.delimiter)
        head = csv.writer(head_file, delimiter=spec.delimiter, lineterminator="\r\n")
        rest = csv.writer(tail_file, delimiter=spec.delimiter, lineterminator="\r\n")
        header = next(reader)
        head.writerow(header)
        rest.writerow(header)
        for n, row in enumerate(reader):
            (head if n < rows - tail else rest).writerow(row)
    kept.replace(path)


def setup(store: Store, records: int, seed: int) -> dict[str, Any]:
    """Generate the data, hold out the late rows, init and import; return the manifest."""
    started = time.perf_counter()
    folder = store.folder
    data = folder / "data"
    people = round(records / RECORDS_PER_PERSON)
    stats = generate(people, seed, data)
    total: int = stats["records_total"]
    held_out = held_out_rows(records)
    if stats["records"][HELD_OUT.name] <= held_out:
        sys.exit(f"{HELD_OUT.file} has too few rows to hold out {held_out:,}")
    split_tail(
        data / HELD_OUT.file, data / LATE_FILE, HELD_OUT, held_out, stats["records"][HELD_OUT.name]
    )
    generated = time.perf_counter() - started
    print(
        f"setup: generated {total:,} records of {people:,} people in {generated:.1f} s"
        f" ({', '.join(f'{k} {v:,}' for k, v in stats['records'].items())});"
        f" held out the last {held_out:,} {HELD_OUT.name} rows as {LATE_FILE}"
    )
    store.create()
    _rolodex(store.setup_url, "init")
    for spec in SOURCES:
        done, summary = _import(store.setup_url, data / spec.file, spec.name)
        print(
            f"  import {spec.name:<11} {summary['read']:>9,} rows in {done.seconds:6.1f} s,"
            f" accepted {summary['accepted']:,}, quarantined {summary['quarantined']:,},"
            f" peak {summary.get('peak_mib') or done.peak_mib} MiB"
        )
    print(f"setup took {time.perf_counter() - started:.1f} s in all")
    manifest = {
        "db": store.kind,
        "snapshot": store.name,
        "records": records,
        "seed": seed,
        "people": people,
        "records_total": total,
        "records_per_source": stats["records"],
        "held_out": held_out,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def match_records(late: Path, seed: int, count: int) -> list[dict[str, str]]:
    """Draw `count` held-out rows (repeating when there are fewer) as canonical records."""
    with late.open(encoding=HELD_OUT.encoding, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=HELD_OUT.delimiter))
    rng = random.Random(f"resolve_speed:{seed}")
    drawn = rng.sample(rows, min(count, len(rows)))
    drawn = [drawn[i % len(drawn)] for i in range(count)]
    records = []
    for row in drawn:
        record = {}
        for key, columns in CANONICAL.items():
            value = next((row[c].strip() for c in columns if row.get(c, "").strip()), "")
            if value:
                record[key] = value
        records.append(record)
    return records


# =============================================================================================
# The real-time match child
# =============================================================================================


def match_worker(url: str, records_file: Path) -> None:
    """Time `Workspace.match` in this process; print one JSON line with the latencies."""
    from rolodex.workspace import Workspace

    records: list[dict[str, str]] = json.loads(records_file.read_text())
    with Workspace(url) as ws:
        match: Callable[..., list[dict[str, Any]]] | None = getattr(ws, "match", None)
        if match is None:
            print(json.dumps({"available": False}))
            return
        for record in records[:MATCH_WARMUP]:
            match(record)
        latencies: list[float] = []
        hits = 0
        for record in records[MATCH_WARMUP:]:
            started = time.perf_counter()
            found = match(record)
            latencies.append(1000 * (time.perf_counter() - started))
            hits += bool(found)
    print(json.dumps({"available": True, "ms": latencies, "hits": hits}))


# =============================================================================================
# One run
# =============================================================================================


@dataclass
class Figures:
    """One run's figures; None where a step failed or is not available."""

    full_seconds: float | None = None
    full_mib: int | None = None
    full_steps: dict[str, float] = field(default_factory=dict)
    full_counts: dict[str, int] = field(default_factory=dict)
    late_accepted: int | None = None
    incremental_seconds: float | None = None
    incremental_mib: int | None = None
    incremental_steps: dict[str, float] = field(default_factory=dict)
    pending: int | None = None
    incremental_records: int | None = None
    match_available: bool | None = None
    match_median_ms: float | None = None
    match_p95_ms: float | None = None
    match_mib: int | None = None
    match_hits: int | None = None
    failures: list[str] = field(default_factory=list)


def _steps_text(steps: Mapping[str, float], wall: float) -> str:
    ordered = [s for s in STEPS if s in steps] + sorted(set(steps) - set(STEPS))
    parts = [f"{s} {steps[s]:.1f} s ({100 * steps[s] / wall:.0f}%)" for s in ordered]
    other = wall - sum(steps.values())
    parts.append(f"other (start-up, commit) {other:.1f} s ({100 * other / wall:.0f}%)")
    return ", ".join(parts)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def one_run(run: int, store: Store, folder: Path) -> Figures:
    """Restore the snapshot, then measure full resolve, incremental resolve and match."""
    figures = Figures()
    url = store.fresh_run()

    try:
        full = _rolodex(url, "resolve", "--full", "--retrain", "--json")
        summary = json.loads(full.stdout)
        figures.full_seconds, figures.full_mib = full.seconds, full.peak_mib
        figures.full_steps = summary.get("seconds", {})
        figures.full_counts = {
            k: summary[k] for k in ("records", "candidate_pairs", "clusters", "largest_cluster")
        }
        print(
            f"run {run}: full resolve {full.seconds:.1f} s, peak {full.peak_mib:,} MiB;"
            f" {_steps_text(figures.full_steps, full.seconds)};"
            f" {', '.join(f'{k} {v:,}' for k, v in figures.full_counts.items())}"
        )
    except StepFailed as exc:
        figures.failures.append(f"full resolve: {exc}")
        print(f"run {run}: full resolve FAILED\n{exc}")

    try:
        late, imported = _import(url, folder / "data" / LATE_FILE, LATE_SOURCE)
        figures.late_accepted = imported["accepted"]
        print(
            f"run {run}: imported {imported['read']:,} held-out rows as source"
            f" {LATE_SOURCE!r} in {late.seconds:.1f} s (accepted {imported['accepted']:,},"
            f" quarantined {imported['quarantined']:,})"
        )
        incremental = _rolodex(url, "resolve", "--json")
        summary = json.loads(incremental.stdout)
        figures.incremental_seconds = incremental.seconds
        figures.incremental_mib = incremental.peak_mib
        figures.incremental_steps = summary.get("seconds", {})
        figures.pending = summary.get("pending")
        figures.incremental_records = summary.get("records")
        print(
            f"run {run}: incremental resolve {incremental.seconds:.1f} s, peak"
            f" {incremental.peak_mib:,} MiB, mode {summary.get('mode')}, pending"
            f" {figures.pending or 0:,} (held-out rows accepted: {figures.late_accepted:,}) against"
            f" {summary.get('records', 0):,} records;"
            f" {_steps_text(figures.incremental_steps, incremental.seconds)}"
        )
    except StepFailed as exc:
        figures.failures.append(f"incremental resolve: {exc}")
        print(f"run {run}: incremental resolve FAILED\n{exc}")

    try:
        worker = _run([sys.executable, __file__, "--match-worker", url, str(folder)])
        result = json.loads(worker.stdout.strip().splitlines()[-1])
        figures.match_available = result["available"]
        if result["available"]:
            latencies: list[float] = result["ms"]
            figures.match_median_ms = statistics.median(latencies)
            figures.match_p95_ms = _p95(latencies)
            figures.match_mib, figures.match_hits = worker.peak_mib, result["hits"]
            print(
                f"run {run}: match median {figures.match_median_ms:.1f} ms, p95"
                f" {figures.match_p95_ms:.1f} ms over {len(latencies)} calls, peak"
                f" {worker.peak_mib:,} MiB, calls with a candidate {result['hits']}/"
                f"{len(latencies)}"
            )
        else:
            print(f"run {run}: Workspace.match: not available")
    except StepFailed as exc:
        figures.failures.append(f"match: {exc}")
        print(f"run {run}: match FAILED\n{exc}")
    return figures


# =============================================================================================
# Report
# =============================================================================================


def _median(values: Iterable[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for steps in runs for k in steps}
    return {k: statistics.median([s[k] for s in runs if k in s]) for k in keys}


def _verdict(at_target: bool, ok: bool) -> str:
    return ("met" if ok else "MISSED") if at_target else "applies at 1,000,000 records"


def report(all_runs: list[Figures], manifest: Mapping[str, Any]) -> None:
    """Print the medians over the runs beside the targets."""
    records = manifest["records_total"]
    at_target = manifest["records"] >= TARGET_RECORDS
    runs = len(all_runs)
    print(f"\n{manifest['db']} identity resolution of {records:,} records, {runs} run(s), medians:")

    seconds = _median(f.full_seconds for f in all_runs)
    mib = _median(f.full_mib for f in all_runs)
    if seconds is None or mib is None:
        print("full resolve: failed (see above)")
    else:
        ok = seconds <= FULL_SECONDS_TARGET and mib <= FULL_MIB_TARGET
        print(
            f"full resolve (--full --retrain): {seconds:.1f} s wall, peak {mib:,.0f} MiB"
            f" ({mib / 1024:.2f} GiB)  [target: 1,000,000 records in at most"
            f" {FULL_SECONDS_TARGET:.0f} s and {FULL_MIB_TARGET / 1024:.1f} GiB:"
            f" {_verdict(at_target, ok)}]"
        )
        steps = _median_steps([f.full_steps for f in all_runs if f.full_seconds is not None])
        print(f"  seconds per step: {_steps_text(steps, seconds)}")
        counts = all_runs[-1].full_counts
        print("  counts: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    seconds = _median(f.incremental_seconds for f in all_runs)
    mib = _median(f.incremental_mib for f in all_runs)
    last = all_runs[-1]
    if seconds is None or mib is None:
        print("incremental resolve: failed (see above)")
    else:
        ok = seconds <= INCREMENTAL_SECONDS_TARGET
        reconciles = all(
            f.pending == f.late_accepted for f in all_runs if f.incremental_seconds is not None
        )
        print(
            f"incremental resolve of {manifest['held_out']:,} held-out records against"
            f" {last.incremental_records or 0:,}: {seconds:.1f} s wall, peak {mib:,.0f} MiB"
            f"  [target: {INCREMENTAL_RECORDS_TARGET:,} against {TARGET_RECORDS:,} in at most"
            f" {INCREMENTAL_SECONDS_TARGET:.0f} s: {_verdict(at_target, ok)}]"
        )
        steps = _median_steps(
            [f.incremental_steps for f in all_runs if f.incremental_seconds is not None]
        )
        print(f"  seconds per step: {_steps_text(steps, seconds)}")
        print(
            f"  pending {last.pending or 0:,} = held-out rows accepted {last.late_accepted or 0:,}:"
            f" {reconciles}"
        )

    median_ms = _median(f.match_median_ms for f in all_runs)
    p95_ms = _median(f.match_p95_ms for f in all_runs)
    if any(f.match_available is False for f in all_runs):
        print("Workspace.match: not available")
    elif median_ms is None or p95_ms is None:
        print("real-time match: failed (see above)")
    else:
        ok = median_ms <= MATCH_MEDIAN_MS_TARGET and p95_ms <= MATCH_P95_MS_TARGET
        print(
            f"real-time match (Workspace.match, {MATCH_CALLS} calls after {MATCH_WARMUP}"
            f" warm-up): median {median_ms:.1f} ms, p95 {p95_ms:.1f} ms, peak"
            f" {_median(f.match_mib for f in all_runs) or 0:,.0f} MiB, calls with a candidate"
            f" {last.match_hits}/{MATCH_CALLS}  [target: median at most"
            f" {MATCH_MEDIAN_MS_TARGET:.0f} ms, p95 at most {MATCH_P95_MS_TARGET:.0f} ms:"
            f" {_verdict(at_target, ok)}]"
        )
    failed = sum(bool(f.failures) for f in all_runs)
    if failed:
        print(f"{failed} run(s) had a failing step (errors above)")


# =============================================================================================
# Main
# =============================================================================================


def main() -> None:
    """Set up or reuse a workspace, run the measured steps, print the figures."""
    if len(sys.argv) == 4 and sys.argv[1] == "--match-worker":
        match_worker(sys.argv[2], Path(sys.argv[3]) / MATCH_RECORDS)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None, help="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the workspace folder")
    parser.add_argument(
        "--workspace", type=Path, help="reuse a folder kept by --keep (no generating, importing)"
    )
    opts = parser.parse_args()

    if opts.workspace is not None:
        folder: Path = opts.workspace.resolve()
        if not (folder / MANIFEST).is_file():
            sys.exit(f"{folder}: no {MANIFEST}; pass a folder kept by --keep")
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
        if opts.db not in (None, manifest["db"]):
            sys.exit(f"{folder} holds a {manifest['db']} workspace, not {opts.db}")
        print(
            f"reusing {folder}: {manifest['records_total']:,} records ({manifest['db']},"
            f" seed {manifest['seed']}), {manifest['held_out']:,} held out"
        )
    else:
        out = HERE / "out"
        out.mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"resolve-{opts.records}-{opts.seed}-", dir=out))
        kind = opts.db or "sqlite"
        name = "setup.db" if kind == "sqlite" else f"rolodex_bench_resolve_{uuid.uuid4().hex[:8]}"
        try:
            manifest = setup(Store(kind, folder, name), opts.records, opts.seed)
        except BaseException as exc:
            if not opts.keep:
                Store(kind, folder, name).drop_all()
                shutil.rmtree(folder)
            if isinstance(exc, StepFailed):
                sys.exit(f"setup FAILED\n{exc}")
            raise
    store = Store(manifest["db"], folder, manifest["snapshot"])
    (folder / MATCH_RECORDS).write_text(
        json.dumps(
            match_records(folder / "data" / LATE_FILE, manifest["seed"], MATCH_WARMUP + MATCH_CALLS)
        )
    )

    keep = opts.keep or opts.workspace is not None
    all_runs: list[Figures] = []
    try:
        for run in range(1, opts.runs + 1):
            all_runs.append(one_run(run, store, folder))
    finally:
        if not keep:
            store.drop_all()
            shutil.rmtree(folder)
    report(all_runs, manifest)
    if keep:
        print(
            f"workspace kept: {folder} (snapshot after import: {store.name}, last run's"
            f" database: {store.run_name})"
        )
    print("command: python benchmarks/resolve_speed.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
