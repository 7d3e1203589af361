"""`rolodex analyze rfm|clv|churn|cohorts|forecast`: parse, call the workspace, print.

With `--json` each command prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich.table import Table

from rolodex.cli.common import handled, out, parse_day, workspace

analyze_app = typer.Typer(
    no_args_is_help=True,
    help="Customer value, churn risk, retention and forecasts on the unified customers.",
)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Analyse as of this day (YYYY-MM-DD); later orders are left out. Default: today.",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _clean(value: Any) -> Any:
    """NaN and infinities are not JSON: print them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _print_json(document: Any) -> None:
    if isinstance(document, str):
        document = json.loads(document)
    typer.echo(json.dumps(_clean(document), indent=2, default=str, allow_nan=False))


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


@analyze_app.command("rfm")
def rfm_(as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Recency, frequency and monetary scores (1-5) and named segments per customer."""
    with handled(), workspace() as ws:
        result = ws.rfm(as_of=parse_day(as_of))
        if as_json:
            _print_json(result.to_json())
            return
        table = Table(title=f"RFM segments as of {result.as_of.isoformat()}")
        for name in ("segment", "customers", "share", "mean spend"):
            table.add_column(name, justify="left" if name == "segment" else "right")
        for row in result.segments.iter_rows(named=True):
            table.add_row(
                row["segment"],
                f"{row['contacts']:,}",
                f"{100 * row['share']:.1f}%",
                _money(row["mean_monetary"]),
            )
        out.print(table)


@analyze_app.command("clv")
def clv_(
    as_of: AsOf = None,
    horizon: Annotated[
        float, typer.Option("--horizon", help="Weeks ahead to value (52 = a year).")
    ] = 52,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Annual discount rate, e.g. 0.1.")
    ] = 0.0,
    as_json: AsJson = False,
) -> None:
    """Customer lifetime value: BG/NBD purchases and P(alive), Gamma-Gamma spend."""
    with handled(), workspace() as ws:
        report = ws.clv(as_of=parse_day(as_of), horizon_weeks=horizon, discount_rate=discount_rate)
        if as_json:
            _print_json(report.to_dict())
            return
        r = report.result
        b = r.bgnbd
        out.print(
            f"CLV as of {r.as_of.isoformat()} over {r.horizon_weeks:g} weeks:"
            f" {r.customers:,} customers ({r.repeat_customers:,} bought again),"
            f" {r.total_expected_purchases:,.0f} expected purchases,"
            f" total value {_money(r.total_clv)}"
        )
        out.print(
            f"  BG/NBD r={b.r:.4f} alpha={b.alpha:.4f} a={b.a:.4f} b={b.b:.4f}"
            f" (log-likelihood {b.log_likelihood:,.2f})"
        )
        g = r.gamma_gamma
        if g is not None:
            out.print(
                f"  Gamma-Gamma p={g.p:.4f} q={g.q:.4f} gamma={g.gamma:.4f}"
                f" (log-likelihood {g.log_likelihood:,.2f})"
            )
        else:
            out.print(f"  spend: {r.value_model_reason}")
        h = report.holdout
        if h is not None:
            out.print(
                f"  holdout to {h.end.isoformat()} ({h.horizon_weeks:.0f} weeks):"
                f" {h.predicted:,.0f} repeat purchases predicted, {h.actual:,} made"
            )
        top = r.contacts.sort("clv", descending=True, nulls_last=True).head(5)
        out.print(
            "  top customers: "
            + ", ".join(
                f"{row['contact_id']} ({_money(row['clv'])})" for row in top.iter_rows(named=True)
            )
        )


@analyze_app.command("churn")
def churn_(
    label: Annotated[
        str | None,
        typer.Option(
            help="Field that says who churned (e.g. Churn); default: cancelled subscriptions,"
            " else no purchase in the expected window."
        ),
    ] = None,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Churn risk per customer with its top reasons, from a cross-validated model."""
    with handled(), workspace() as ws:
        report = ws.churn(label=label, as_of=parse_day(as_of))
        if as_json:
            _print_json(report.to_dict())
            return
        m = report.result.metrics
        out.print(
            f"Churn model ({report.result.model}, label: {report.label}):"
            f" cross-validated ROC AUC {m['auc']:.3f} ± {m['auc_std']:.3f},"
            f" churn rate {100 * m['churn_rate']:.1f}%"
        )
        risky = report.contacts.sort("churn_risk", descending=True).head(10)
        alive = "p_alive" in risky.columns  # BG/NBD's view beside an inactivity label
        table = Table(title="Highest churn risk")
        for name in ("contact", "risk", *(["P(alive)"] if alive else []), "reasons"):
            table.add_column(name)
        for row in risky.iter_rows(named=True):
            reasons = [row.get(f"reason_{i}") for i in (1, 2, 3)]
            cells = [str(row["contact_id"]), f"{100 * row['churn_risk']:.0f}%"]
            if alive:
                p = row["p_alive"]
                cells.append("-" if p is None else f"{100 * p:.0f}%")
            table.add_row(*cells, "; ".join(r for r in reasons if r))
        out.print(table)
        for note in report.result.notes:
            out.print(f"  note: {note}")


@analyze_app.command("cohorts")
def cohorts_(
    as_of: AsOf = None,
    period: Annotated[
        str, typer.Option(help="Cohort period: week, month, quarter or year.")
    ] = "month",
    as_json: AsJson = False,
) -> None:
    """Acquisition cohorts (retention and revenue) and sBG retention of subscriptions."""
    with handled(), workspace() as ws:
        report = ws.cohorts(as_of=parse_day(as_of), period=period)
        if as_json:
            _print_json(report.to_dict())
            return
        if report.orders is not None:
            matrix = report.orders.retention
            table = Table(title=f"Retention by {period} since the first order")
            for name in matrix.columns[:14]:
                table.add_column(name, justify="right")
            for row in matrix.iter_rows():
                cells = [str(row[0]), f"{row[1]:,}"]
                cells += ["" if v is None else f"{100 * v:.0f}%" for v in row[2:14]]
                table.add_row(*cells)
            out.print(table)
        for plan, fit in report.retention.items():
            out.print(
                f"Subscriptions {plan}: sBG alpha={fit.alpha:.3f} beta={fit.beta:.3f}"
                f" (log-likelihood {fit.log_likelihood:,.1f}); retention next {period}s "
                + ", ".join(f"{100 * r:.0f}%" for r in fit.retention_rates(fit.periods + 3)[-3:])
            )


@analyze_app.command("campaigns")
def campaigns_(
    control: Annotated[
        str | None,
        typer.Option(help="Name of the control arm (default: found by name, e.g. 'control').'"),
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    as_json: AsJson = False,
) -> None:
    """Campaign performance per arm and the lift of each treatment over control."""
    with handled(), workspace() as ws:
        result = ws.campaigns(control=control, campaign=campaign)
        if as_json:
            _print_json(result.to_json())
            return
        table = Table(title="Campaign performance")
        for name in ("campaign", "arm", "reach", "response", "conversion", "revenue/contact"):
            table.add_column(name, justify="left" if name in ("campaign", "arm") else "right")
        for row in result.arms.iter_rows(named=True):
            table.add_row(
                row["campaign"],
                row["arm"]
                + (" (control)" if row["is_control"] and "control" not in row["arm"] else ""),
                f"{row['reach']:,}",
                f"{100 * row['response_rate']:.2f}%",
                f"{100 * row['conversion_rate']:.2f}%",
                f"{row['revenue_per_contact']:.4f}",
            )
        out.print(table)
        for row in result.comparisons.iter_rows(named=True):
            parts = []
            for metric, label in (("response_rate", "response"), ("conversion_rate", "conversion")):
                lift, low, high = (
                    row.get(f"{metric}_lift{end}") for end in ("", "_lower", "_upper")
                )
                p = row.get(f"{metric}_p_value")
                if lift is None or low is None or high is None or p is None:
                    continue
                parts.append(
                    f"{label} {100 * lift:+.2f} points ({100 * low:+.2f} to {100 * high:+.2f},"
                    f" p={p:.2g})"
                )
            if parts:
                out.print(
                    f"{row['campaign']} / {row['arm']} vs {row['control_arm']}: " + "; ".join(parts)
                )
        for note in result.notes:
            out.print(f"  note: {note}")


@analyze_app.command("forecast")
def forecast_(
    as_of: AsOf = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Months to forecast.")] = 6,
    as_json: AsJson = False,
) -> None:
    """Revenue forecast from orders (with intervals) and the weighted open pipeline."""
    with handled(), workspace() as ws:
        report = ws.forecast(as_of=parse_day(as_of), horizon_months=horizon)
        if as_json:
            _print_json(report.to_dict())
            return
        if report.revenue is not None:
            f = report.revenue
            table = Table(title=f"Revenue forecast ({f.model})")
            for name in ("month", "forecast", "lower", "upper"):
                table.add_column(name, justify="right")
            for row in f.forecast.iter_rows(named=True):
                table.add_row(
                    str(row["month"]),
                    _money(row["forecast"]),
                    _money(row["lower"]),
                    _money(row["upper"]),
                )
            out.print(table)
        if report.pipeline is not None:
            p = report.pipeline
            out.print(
                f"Pipeline: {p.open_deals:,} open deals, {_money(p.pipeline_amount)} in total,"
                f" {_money(p.weighted_amount)} weighted by probability"
                f" (commit {_money(p.commit_amount)}, best case {_money(p.best_case_amount)})"
            )
        for note in report.notes:
            out.print(f"  note: {note}")
