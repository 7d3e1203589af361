"""Import speed and peak memory of `rolodex import` on a messy contacts CSV.

Runs the real command in a child process per run (fresh database each time), and prints the
median rows per second, the peak resident memory of the child, the share of time per step,
and whether the counts reconcile with what the generator wrote. Cleaning (the clean stage)
runs unless `--no-clean` is given: the store-and-collect figure is measured without it.

    python benchmarks/import_speed.py --rows 1000000 --runs 3 --no-clean
    python benchmarks/import_speed.py --rows 1000000 --runs 3
    python benchmarks/import_speed.py --rows 1000000 --db postgres --no-clean
    python benchmarks/import_speed.py --rows 5000000 --runs 1 --no-clean
    python benchmarks/import_speed.py --rows 1000000 --runs 3 --no-clean --no-encrypt

Personal data is encrypted as by default (throwaway keys unless ROLODEX_KEYS or
ROLODEX_KEY_FILE is set); `--no-encrypt` stores it in the clear, for the cost of sealing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from generate_contacts import generate

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get(
    "ROLODEX_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _fresh_db(kind: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """Return a URL of an empty database and a function that drops it."""
    if kind == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"

        def remove() -> None:
            for stale in tmp.glob(path.name + "*"):
                stale.unlink()

        return f"sqlite:///{path}", remove
    from sqlalchemy import create_engine, text

    name = f"rolodex_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run a command; return wall seconds, peak RSS in MiB and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(args)}\n{stderr}")
        out.seek(0)
        return seconds, usage.ru_maxrss // 1024, out.read().decode()


def main() -> None:
    """Generate the input if needed, run the imports, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-clean", action="store_true", help="import without the clean stage")
    parser.add_argument(
        "--no-encrypt",
        action="store_true",
        help="store personal data in the clear (security.encrypt = []) to see what sealing costs",
    )
    opts = parser.parse_args()

    data = HERE / "out" / f"contacts_{opts.rows}_{opts.seed}.csv"
    data.parent.mkdir(exist_ok=True)
    stats_file = data.with_suffix(".stats.json")
    if not data.exists() or not stats_file.exists():
        stats = generate(data, rows=opts.rows, seed=opts.seed)
        stats_file.write_text(json.dumps(dataclasses.asdict(stats), default=str))
    expected = json.loads(stats_file.read_text())

    rolodex = [sys.executable, "-m", "rolodex"]
    env = dict(os.environ, ROLODEX_CLEAN__ENABLED="false" if opts.no_clean else "true")
    if "ROLODEX_KEYS" not in env and "ROLODEX_KEY_FILE" not in env:
        # Throwaway keys for the run (encryption on, as by default), not a key file in the
        # working directory.
        from rolodex.secure.crypto import Keyring

        env["ROLODEX_KEYS"] = Keyring.generate().to_env_value()
    if opts.no_encrypt:
        env["ROLODEX_SECURITY__ENCRYPT"] = "[]"
    steps: dict[str, list[float]] = {}
    rates: list[float] = []
    peaks: list[int] = []
    with tempfile.TemporaryDirectory(dir=HERE / "out") as tmp:
        for run in range(opts.runs):
            url, drop = _fresh_db(opts.db, Path(tmp))
            if "ROLODEX_VAULT" not in os.environ:  # a fresh key vault per run, beside the run
                env["ROLODEX_VAULT"] = str(Path(tmp) / f"run{run}.vault")
            try:
                _run([*rolodex, "--db", url, "init"])
                seconds, peak, stdout = _run(
                    [
                        *rolodex,
                        "--db",
                        url,
                        "import",
                        str(data),
                        "--source",
                        "bench",
                        "--kind",
                        "contacts",
                        "--json",
                    ],
                    env,
                )
            finally:
                drop()
            summary = json.loads(stdout)[0]
            counted = summary["accepted"] + summary["updated"] + summary["unchanged"]
            reconciles = summary["read"] == counted + summary["quarantined"]
            rate = summary["read"] / seconds
            # The child's rusage from wait4 may fold in the writer it reaped: take each
            # process's own figure from the summary, and the larger if that is missing.
            importer = summary.get("peak_mib") or peak
            writer = summary.get("writer_peak_mib") or 0
            for step, spent in summary.get("steps", {}).items():
                steps.setdefault(step, []).append(spent / seconds)
            steps.setdefault("link leftovers", []).append(summary["link_seconds"] / seconds)
            rates.append(rate)
            peaks.append(importer + writer)
            print(
                f"run {run + 1}: {summary['read']:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s"
                " end to end (golden records included),"
                f" peak {importer} MiB importer + {writer} MiB writer,"
                f" accepted {summary['accepted']:,}, quarantined {summary['quarantined']:,},"
                f" counts reconcile: {reconciles},"
                f" every generated row read: {summary['read'] == expected['rows']}"
            )
    print(
        f"\n{opts.db} import of {opts.rows:,} messy contact rows: median"
        f" {statistics.median(rates):,.0f} rows/s end to end (reading, mapping, checks,"
        " lineage, storing and each new record's golden record),"
        f" over {opts.runs} run(s), peak memory"
        f" {max(peaks)} MiB (importer + writer processes)\ngenerator counts: {expected}"
    )
    print("share of wall time per step (median; importer steps overlap with the writer's):")
    for step, shares in sorted(steps.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {step:<22} {100 * statistics.median(shares):5.1f}%")
    print("cleaning: " + ("off (--no-clean)" if opts.no_clean else "on"))
    print("encryption at rest: " + ("off (--no-encrypt)" if opts.no_encrypt else "on"))
    print("command: python benchmarks/import_speed.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
