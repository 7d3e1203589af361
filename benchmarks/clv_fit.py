"""Time the BG/NBD and Gamma-Gamma fits on CDNOW and print the estimates beside the published ones.

    python benchmarks/clv_fit.py --runs 5

Reads the CDNOW sample order log (tests/data/cdnow), calibration up to 1997-09-30, and fits
both models several times; prints the median fit time, the parameters against Fader, Hardie &
Lee (2005) and Fader & Hardie (2013), and the 39-week holdout (predicted against the actual
1,882 repeat purchases).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

import polars as pl

from rolodex.analyze.clv import calibration_summary, fit_bgnbd, fit_gamma_gamma, holdout_check

HERE = Path(__file__).resolve().parent
CDNOW = HERE.parent / "tests" / "data" / "cdnow" / "cdnow_sample_transactions.csv"
PUBLISHED = {
    "r": 0.2426,
    "alpha": 4.4136,
    "a": 0.7929,
    "b": 2.4259,
    "bgnbd LL": -9582.43,
    "p": 6.2496,
    "q": 3.7442,
    "gamma": 15.4435,
    "gamma-gamma LL": -4055.92,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    orders = pl.read_csv(CDNOW, try_parse_dates=True).select(
        contact_id="customer_id", ordered_at="date", amount="amount"
    )
    as_of = date(1997, 9, 30)
    summary = calibration_summary(orders, as_of=as_of)
    seconds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        bgnbd = fit_bgnbd(summary)
        spend = fit_gamma_gamma(summary)
        seconds.append(time.perf_counter() - started)
    got = {
        "r": bgnbd.r,
        "alpha": bgnbd.alpha,
        "a": bgnbd.a,
        "b": bgnbd.b,
        "bgnbd LL": bgnbd.log_likelihood,
        "p": spend.p,
        "q": spend.q,
        "gamma": spend.gamma,
        "gamma-gamma LL": spend.log_likelihood,
    }
    for name, value in got.items():
        error = abs(value - PUBLISHED[name]) / abs(PUBLISHED[name])
        print(
            f"  {name:15} {value:12.4f}  published {PUBLISHED[name]:12.4f}  rel. diff {error:.1e}"
        )
    check = holdout_check(orders, as_of=as_of, end=date(1998, 6, 30), bgnbd=bgnbd)
    print(
        f"holdout weeks 40-78: {check.predicted:,.1f} repeat purchases predicted,"
        f" {check.actual:,} made ({100 * check.relative_error:+.1f}%)"
    )
    print(
        f"CDNOW BG/NBD + Gamma-Gamma fit ({summary.height:,} customers): median"
        f" {statistics.median(seconds):.3f} s over {args.runs} runs (target under 2 s)"
    )


if __name__ == "__main__":
    main()
