"""Time RFM plus CLV on 1,000,000 orders of 100,000 customers, read from the store.

    python benchmarks/analytics_speed.py --orders 1000000 --customers 100000 --runs 3
    python benchmarks/analytics_speed.py --db postgres

Generates the order log (generate_orders.py), imports it once with `rolodex import` into a
fresh database (timed, but not part of the figure), then runs `Workspace.rfm` and
`Workspace.clv` several times: each run reads the orders from the database, scores RFM, fits
BG/NBD and Gamma-Gamma and predicts every customer. Prints the median seconds per step and for
RFM plus CLV together.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from generate_orders import generate
from import_speed import _fresh_db

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()

    path = HERE / "out" / f"orders_{args.orders}_{args.customers}_{args.seed}.csv"
    if not path.exists():
        print("generated:", generate(args.orders, args.customers, args.seed, path))
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _fresh_db(args.db, Path(tmp))
        try:
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "rolodex",
                    "--db",
                    url,
                    "import",
                    str(path),
                    "--source",
                    "shop",
                    "--kind",
                    "orders",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(f"import of {args.orders:,} orders: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            from rolodex.pipeline import analytics  # noqa: F401  (scipy, sklearn, statsmodels)
            from rolodex.workspace import Workspace

            print(f"loading the analysis libraries: {time.perf_counter() - started:.1f} s")
            as_of = date(2024, 12, 31)
            times: dict[str, list[float]] = {"rfm": [], "clv": [], "rfm + clv": []}
            for run in range(1, args.runs + 1):
                with Workspace(url) as ws:
                    t0 = time.perf_counter()
                    scores = ws.rfm(as_of=as_of)
                    t1 = time.perf_counter()
                    value = ws.clv(as_of=as_of)
                    t2 = time.perf_counter()
                times["rfm"].append(t1 - t0)
                times["clv"].append(t2 - t1)
                times["rfm + clv"].append(t2 - t0)
                print(
                    f"run {run}: rfm {t1 - t0:.2f} s ({scores.contacts.height:,} customers),"
                    f" clv {t2 - t1:.2f} s ({value.result.customers:,} customers,"
                    f" r={value.result.bgnbd.r:.3f}), together {t2 - t0:.2f} s"
                )
        finally:
            drop()
    medians = {step: statistics.median(values) for step, values in times.items()}
    print(
        f"{args.db}: RFM plus CLV on {args.orders:,} orders of {args.customers:,} customers,"
        f" read from the store: median {medians['rfm + clv']:.2f} s over {args.runs} runs"
        f" (rfm {medians['rfm']:.2f} s, clv {medians['clv']:.2f} s; target under 30 s)"
    )
    print("command: python benchmarks/analytics_speed.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
