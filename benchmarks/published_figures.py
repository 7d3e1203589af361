"""Reproduce the published figures of the analyses from data imported with `rolodex import`.

    python benchmarks/published_figures.py

Imports the four real data sets kept in tests/data into fresh SQLite workspaces the way a user
would (CDNOW as an order log, Telco as contacts with custom fields, Hillstrom as campaign
members, the sBG table as a subscription export), runs `rolodex analyze ... --json` and prints
each figure beside the published one.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def rolodex(db: Path, *args: str) -> Any:
    """Run the CLI on `db`; return its JSON output when asked for."""
    done = subprocess.run(
        [sys.executable, "-m", "rolodex", "--db", f"sqlite:///{db}", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout) if "--json" in args else done.stdout


def row(name: str, got: float, published: float, digits: int = 4) -> None:
    print(f"  {name:34} {got:>14.{digits}f}   published {published:>12.{digits}f}")


def cdnow(tmp: Path) -> None:
    db = tmp / "cdnow.db"
    orders = DATA / "cdnow" / "cdnow_sample_transactions.csv"
    rolodex(db, "import", str(orders), "--source", "cdnow", "--kind", "orders")
    started = time.perf_counter()
    got = rolodex(db, "analyze", "clv", "--as-of", "1997-09-30", "--json")
    seconds = time.perf_counter() - started
    print(f"CDNOW sample, rolodex analyze clv --as-of 1997-09-30 ({seconds:.1f} s, command):")
    published = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259, "log_likelihood": -9582.43}
    for name, value in published.items():
        row(f"BG/NBD {name}", got["bgnbd"][name], value)
    spend = {"p": 6.2496, "q": 3.7442, "gamma": 15.4435, "log_likelihood": -4055.92}
    for name, value in spend.items():
        row(f"Gamma-Gamma {name}", got["gamma_gamma"][name], value)
    h = got["holdout"]
    print(
        f"  holdout weeks 40-78: {h['predicted_repeat_purchases']:,.1f} repeat purchases"
        f" predicted, {h['actual_repeat_purchases']:,} made ({100 * h['relative_error']:+.1f}%)"
    )


def telco(tmp: Path) -> None:
    db = tmp / "telco.db"
    contacts = DATA / "telco_churn" / "telco_customer_churn.csv.gz"
    rolodex(db, "import", str(contacts), "--source", "telco", "--kind", "contacts")
    got = rolodex(db, "analyze", "churn", "--label", "Churn", "--json")
    print("Telco, rolodex analyze churn --label Churn (5-fold cross-validated):")
    row("ROC AUC (published baselines ~0.84)", got["auc"], 0.84)
    for model, figures in got["metrics"]["aucs"].items():
        print(f"    {model}: {figures['mean']:.4f} ± {figures['std']:.4f}")
    print(f"  model chosen: {got['model']}; Brier {got['metrics']['brier']:.4f}")


def hillstrom(tmp: Path) -> None:
    db = tmp / "hillstrom.db"
    members = tmp / "hillstrom_members.csv"
    with (
        gzip.open(DATA / "hillstrom_email" / "hillstrom.csv.gz", "rt") as fh,
        members.open("w", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["Customer ID", "Campaign", "Arm", "Responded", "Converted", "Revenue"])
        for n, r in enumerate(csv.DictReader(fh), start=1):
            writer.writerow([n, "Hillstrom 2008", r["segment"], r["visit"], r["conversion"],
                             r["spend"]])  # fmt: skip
    rolodex(db, "import", str(members), "--source", "email", "--kind", "campaign_members")
    got = rolodex(db, "analyze", "campaigns", "--json")
    print("Hillstrom, rolodex analyze campaigns:")
    published = {
        "Mens E-Mail": (18.28, 1.25, 1.4226),
        "Womens E-Mail": (15.14, 0.88, 1.0772),
        "No E-Mail": (10.62, 0.57, 0.6528),
    }
    arms = {a["arm"]: a for a in got["arms"]}
    for arm, (visit, conversion, spend) in published.items():
        a = arms[arm]
        row(f"{arm} visit %", 100 * a["response_rate"], visit, 2)
        row(f"{arm} conversion %", 100 * a["conversion_rate"], conversion, 2)
        row(f"{arm} spend per customer", a["revenue_per_contact"], spend)


def sbg(tmp: Path) -> None:
    db = tmp / "sbg.db"
    with (DATA / "sbg_retention" / "sbg_retention.csv").open() as fh:
        table = list(csv.DictReader(fh))
    subscriptions = tmp / "subscriptions.csv"
    with subscriptions.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Subscription ID", "Customer ID", "Plan", "Start Date", "Canceled At"])
        n = 0
        for plan, column in (("regular", "regular_alive"), ("high end", "highend_alive")):
            alive = [int(r[column]) for r in table]
            ended = [(f"{1999 + t}-07-01", alive[t - 1] - alive[t]) for t in range(1, len(alive))]
            for cancelled, count in [*ended, ("", alive[-1])]:
                for _ in range(count):
                    n += 1
                    writer.writerow([f"S{n}", f"K{n}", plan, "2000-01-01", cancelled])
    rolodex(db, "import", str(subscriptions), "--source", "billing", "--kind", "subscriptions")
    got = rolodex(db, "analyze", "cohorts", "--period", "year", "--as-of", "2007-01-01", "--json")
    print("sBG retention (Fader & Hardie 2007), rolodex analyze cohorts --period year:")
    published = {"regular": (0.704, 1.182), "high end": (0.668, 3.806)}
    for plan, (alpha, beta) in published.items():
        row(f"{plan} alpha", got["sbg"][plan]["alpha"], alpha, 3)
        row(f"{plan} beta", got["sbg"][plan]["beta"], beta, 3)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for step in (cdnow, telco, hillstrom, sbg):
            step(Path(tmp))
    print("command: python benchmarks/published_figures.py")


if __name__ == "__main__":
    main()
