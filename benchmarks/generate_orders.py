"""Generate an order log the way customers really buy: a BG/NBD + Gamma-Gamma world.

    python benchmarks/generate_orders.py --orders 1000000 --customers 100000 --seed 7

Each customer has a purchase rate drawn from a gamma distribution and, after every purchase,
a beta-distributed chance of leaving for good (Fader, Hardie & Lee 2005); order values follow
the Gamma-Gamma model around a customer-specific mean. Customers join over the first year and
buy for up to three years, so the log has one-time buyers, loyal regulars and lapsed ones.
Written as a Shopify-style orders export (Name, Email, Customer ID, Created at, Total,
Currency, Financial Status), a few orders refunded. The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = datetime(2022, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
# Population parameters near the CDNOW estimates, with a higher purchase rate.
R, ALPHA, A, B = 0.9, 18.0, 0.8, 5.0  # weekly rate ~ Gamma(R, ALPHA); dropout ~ Beta(A, B)
P, Q, GAMMA = 6.0, 4.0, 60.0  # Gamma-Gamma spend


def _simulate(
    rng: np.random.Generator,
    joined: np.ndarray,
    rate: np.ndarray,
    dropout: np.ndarray,
    nu: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase of every customer in the window: (customer, day, value) arrays."""
    customers, days, values = [], [], []
    alive = np.ones(joined.size, dtype=bool)
    t = joined.copy()
    ids = np.arange(joined.size)
    while alive.any():
        who = ids[alive]
        customers.append(who)
        days.append(t[who].copy())
        values.append(rng.gamma(P, 1 / nu[who]))
        leaves = rng.random(who.size) < dropout[who]
        t[who] = t[who] + rng.exponential(1 / np.maximum(rate[who], 1e-9))
        alive[who] = ~leaves & (t[who] < DAYS)
    return np.concatenate(customers), np.concatenate(days), np.concatenate(values)


def generate(orders: int, customers: int, seed: int, out: Path) -> dict[str, float]:
    """Write about `orders` orders of `customers` customers to `out`; return the counts."""
    rng = np.random.default_rng(seed)
    joined = rng.uniform(0, 365, customers)
    rate = rng.gamma(R, 1 / ALPHA, customers) / 7  # purchases per day while alive
    dropout = rng.beta(A, B, customers)
    nu = rng.gamma(Q, 1 / GAMMA, customers)
    mean_value = P / nu
    # Purchases: after each one a customer leaves with their dropout chance, else buys again
    # after an exponential gap; simulated in rounds over the customers still buying. Rates
    # are raised until the log holds enough orders, then a uniform sample keeps exactly
    # `orders` (thinning keeps the process a BG/NBD one, at a lower rate).
    scale = 1.0
    for _ in range(8):
        found = _simulate(rng, joined, rate * scale, dropout, nu)
        if len(found[0]) >= orders:
            break
        scale *= 1.3 * orders / max(len(found[0]), 1)
    who_all, day_all, value_all = found
    keep = np.sort(rng.choice(len(who_all), size=min(orders, len(who_all)), replace=False))
    order = np.argsort(day_all[keep], kind="stable")
    picked = keep[order]
    rows = list(
        zip(
            who_all[picked].tolist(),
            day_all[picked].tolist(),
            value_all[picked].tolist(),
            strict=True,
        )
    )
    refunded = rng.random(len(rows)) < 0.01
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["Name", "Email", "Customer ID", "Created at", "Total", "Currency", "Financial Status"]
        )
        for n, ((customer, day, value), refund) in enumerate(zip(rows, refunded, strict=True)):
            stamp = START + timedelta(days=day)
            writer.writerow(
                [
                    f"#{1001 + n}",
                    f"customer{customer}@example.com",
                    f"C{customer}",
                    stamp.strftime("%Y-%m-%d %H:%M:%S +0000"),
                    f"{value:.2f}",
                    "USD",
                    "refunded" if refund else "paid",
                ]
            )
    return {
        "orders": len(rows),
        "customers": len({r[0] for r in rows}),
        "refunded": int(refunded.sum()),
        "mean_value_per_customer": round(float(mean_value.mean()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or HERE / "out" / f"orders_{args.orders}_{args.customers}_{args.seed}.csv"
    print(generate(args.orders, args.customers, args.seed, out), out)


if __name__ == "__main__":
    main()
