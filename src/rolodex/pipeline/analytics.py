"""Read what the analyses need from the store, as Polars frames keyed by golden contact.

The analyze stage computes on frames and never touches the database; this module is the
bridge. Timestamps are read as text (the same on SQLite and PostgreSQL, whose sessions run in
UTC) and parsed here. Rows of merged-away contacts do not occur: activity rows follow their
source records to the surviving golden contact when clusters change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    Table,
    func,
    literal,
    select,
)

from rolodex.analyze.campaigns import CampaignResult, campaign_performance
from rolodex.analyze.churn import (
    ChurnResult,
    history_features,
    inactivity_label,
    subscription_label,
    train_churn,
)
from rolodex.analyze.clv import ClvResult, HoldoutCheck, clv, holdout_check, predict
from rolodex.analyze.cohorts import CohortResult, SbgFit, cohorts, fit_sbg_cohorts
from rolodex.analyze.forecast import (
    PipelineForecast,
    RevenueForecast,
    pipeline_forecast,
    revenue_forecast,
)
from rolodex.analyze.rfm import RfmResult, rfm
from rolodex.exceptions import InputError
from rolodex.model import Contact, ContactScore, Order
from rolodex.model.base import table as table_of
from rolodex.pipeline.consent import any_consents, granted_contacts
from rolodex.resolve.survivorship import GOLDEN_FIELDS
from rolodex.store.bulk import read_frame
from rolodex.store.sealed import sealer_of

# Orders that brought no money: left out of value, frequency and revenue figures.
VOID_STATUSES = frozenset(
    {"cancelled", "canceled", "refunded", "void", "voided", "failed", "declined", "abandoned"}
)

# The golden contact's own columns (its custom fields are read out of `custom`).
_CONTACT_FIELDS = tuple(name for name in GOLDEN_FIELDS if name != "custom")


def _timestamp(column: str) -> pl.Expr:
    """Parse a timestamp read as text ("1997-01-01 00:00:00.000000" or "...+00") as UTC."""
    return (
        pl.col(column)
        .str.slice(0, 19)
        .str.replace("T", " ")
        .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_zone="UTC")
    )


def _until(column: str, until: date | None) -> str:
    """A SQL condition keeping rows on or before `until` (a date, so no injection)."""
    if until is None:
        return ""
    return f" AND {column} < '{date.fromordinal(until.toordinal() + 1).isoformat()}'"


def load_orders(conn: Connection, *, until: date | None = None) -> pl.DataFrame:
    """Orders of golden contacts: contact_id, ordered_at (UTC), amount, status.

    Orders with a void status (cancelled, refunded, ...) and orders without a date are left
    out; `until` keeps orders dated on or before that day.
    """
    sql = (
        'SELECT contact_id, CAST(ordered_at AS TEXT), total_amount, status FROM "order"'
        " WHERE contact_id IS NOT NULL AND ordered_at IS NOT NULL" + _until("ordered_at", until)
    )
    schema = {
        "contact_id": pl.Int64(),
        "ordered_at": pl.Utf8(),
        "amount": pl.Float64(),
        "status": pl.Utf8(),
    }
    frame = read_frame(conn, sql, schema).with_columns(_timestamp("ordered_at"))
    void = pl.col("status").str.strip_chars().str.to_lowercase().is_in(list(VOID_STATUSES))
    return frame.filter(~void.fill_null(False) & pl.col("ordered_at").is_not_null())


def latest_order_date(conn: Connection) -> date | None:
    """The day of the most recent order (a sensible --as-of for historical data)."""
    order = table_of(Order)
    paid = func.lower(func.coalesce(order.c.status, "")).not_in(sorted(VOID_STATUSES))
    last = conn.execute(
        select(func.max(order.c.ordered_at)).where(order.c.contact_id.is_not(None), paid)
    ).scalar()
    if last is None:
        return None
    return last.date() if isinstance(last, datetime) else date.fromisoformat(str(last)[:10])


def load_contacts(conn: Connection) -> pl.DataFrame:
    """Golden contacts: contact_id, the main fields, created_at, and each custom field as a
    column (named after the field, typed as the import declared it)."""
    fields = ", ".join(f"CAST({name} AS TEXT)" for name in _CONTACT_FIELDS)
    sql = (
        f"SELECT id, {fields}, CAST(created_at AS TEXT), CAST(custom AS TEXT) FROM contact"
        " WHERE merged_into_id IS NULL"
    )
    schema: dict[str, pl.DataType] = {"contact_id": pl.Int64()}
    schema |= dict.fromkeys(_CONTACT_FIELDS, pl.Utf8())
    schema |= {"created_at": pl.Utf8(), "custom": pl.Utf8()}
    frame = read_frame(conn, sql, schema).with_columns(_timestamp("created_at"))
    # Dates of birth (a feature) and other personal data are stored encrypted.
    frame = sealer_of(conn).open_frame("contact", frame)
    custom = frame.get_column("custom")
    if custom.null_count() == len(custom):
        return frame.drop("custom")
    decoded = custom.str.json_decode(infer_schema_length=None)
    if not isinstance(decoded.dtype, pl.Struct):
        return frame.drop("custom")
    extra = decoded.struct.unnest()
    clash = [c for c in extra.columns if c in frame.columns]
    extra = extra.rename({c: f"custom_{c}" for c in clash})
    return pl.concat([frame.drop("custom"), extra], how="horizontal")


def load_tickets(conn: Connection, *, until: date | None = None) -> pl.DataFrame:
    """Tickets of golden contacts: contact_id, opened_at (UTC), status."""
    sql = (
        "SELECT contact_id, CAST(opened_at AS TEXT), status FROM ticket"
        " WHERE contact_id IS NOT NULL" + _until("opened_at", until)
    )
    schema = {"contact_id": pl.Int64(), "opened_at": pl.Utf8(), "status": pl.Utf8()}
    return read_frame(conn, sql, schema).with_columns(_timestamp("opened_at"))


def load_interactions(conn: Connection, *, until: date | None = None) -> pl.DataFrame:
    """Interactions of golden contacts: contact_id, occurred_at (UTC), category."""
    sql = (
        "SELECT contact_id, CAST(occurred_at AS TEXT), category FROM interaction"
        " WHERE contact_id IS NOT NULL" + _until("occurred_at", until)
    )
    schema = {"contact_id": pl.Int64(), "occurred_at": pl.Utf8(), "category": pl.Utf8()}
    return read_frame(conn, sql, schema).with_columns(_timestamp("occurred_at"))


def load_subscriptions(conn: Connection) -> pl.DataFrame:
    """Subscriptions of golden contacts: contact_id, plan, status, started_at, cancelled_at,
    monthly_amount."""
    sql = (
        "SELECT contact_id, plan, status, CAST(started_at AS TEXT), CAST(cancelled_at AS TEXT),"
        " monthly_amount FROM subscription WHERE contact_id IS NOT NULL"
    )
    schema = {
        "contact_id": pl.Int64(),
        "plan": pl.Utf8(),
        "status": pl.Utf8(),
        "started_at": pl.Utf8(),
        "cancelled_at": pl.Utf8(),
        "monthly_amount": pl.Float64(),
    }
    frame = read_frame(conn, sql, schema)
    return frame.with_columns(_timestamp("started_at"), _timestamp("cancelled_at"))


# --- the analyses, over what the store holds -----------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


def _no_orders(as_of: date) -> InputError:
    return InputError(
        f"no orders dated on or before {as_of.isoformat()}: import orders first"
        " (`rolodex import FILE --source NAME --kind orders`) or pick another --as-of"
    )


def _orders_for(conn: Connection, as_of: date) -> pl.DataFrame:
    orders = load_orders(conn, until=as_of)
    if orders.is_empty():
        raise _no_orders(as_of)
    return orders


def run_rfm(conn: Connection, *, as_of: date | None = None, store: bool = True) -> RfmResult:
    """RFM scores and segments of every golden contact with orders (`rolodex analyze rfm`),
    kept in `contact_score` unless `store` is false."""
    day = as_of or _today()
    result = rfm(_orders_for(conn, day), as_of=day)
    if store:
        frame = result.contacts.with_columns(rfm_as_of=pl.lit(day), rfm_segment="segment")
        store_scores(conn, "rfm", frame)
    return result


# Names of fields that summarize buying (Shopify's "Total Spent", "Orders Count", ...).
_SUMMARIZES_ORDERS = re.compile(
    r"order|spent|spend|purchase|revenue|lifetime|ltv|clv|last_|total", re.IGNORECASE
)
# Personal identifiers say nothing about churn and must not become model features; nor does
# when Rolodex first saw the contact.
_NOT_FEATURES = frozenset(
    {"salutation", "first_name", "middle_name", "last_name", "suffix", "full_name"}
    | {"email", "phone", "created_at"}
)


def _field_key(name: str) -> str:
    """Compare field names the way custom fields are named ("Churn", "churn" -> "churn")."""
    return "".join(c if c.isalnum() else "_" for c in name.strip().casefold()).strip("_")


def _store_churn(conn: Connection, report: ChurnReport, day: date) -> None:
    """Keep each contact's churn risk and its reasons ("; "-joined) in `contact_score`."""
    reasons = pl.concat_list("reason_1", "reason_2", "reason_3").list.drop_nulls().list.join("; ")
    frame = report.contacts.select(
        "contact_id",
        "churn_risk",
        churn_as_of=pl.lit(day),
        churn_reasons=pl.when(reasons != "").then(reasons),
    )
    store_scores(conn, "churn", frame)


def _inactivity_churn(
    conn: Connection,
    own: pl.DataFrame,
    orders: pl.DataFrame,
    history: Callable[..., pl.DataFrame],
    day: date,
    *,
    store: bool,
) -> ChurnReport:
    """Churn as "no purchase in the expected window", learned honestly over time.

    The window is the customers' median expected gap (`inactivity_label`), between 30 days
    and a year. The model learns from the customers as they stood one window before `as_of`
    (history up to then) whether they then bought in the window, and scores everyone as they
    stand at `as_of`; BG/NBD's probability alive is put beside each contact.
    """
    expected = inactivity_label(orders, as_of=day).get_column("expected_window_days")
    median = expected.median()
    typical = float(median) if isinstance(median, int | float) else 90.0
    window = int(min(max(typical, 30.0), 365.0))
    cutoff = date.fromordinal(day.toordinal() - window)
    before = orders.filter(pl.col("ordered_at").dt.date() <= cutoff)
    if before.is_empty():
        raise InputError(
            f"no orders before {cutoff.isoformat()} ({window} days before as_of) to learn"
            " churn from: import a longer order history or name a field with --label"
        )
    # A contact's own fields hold today's values; those that summarize buying ("Total
    # Spent", "Orders count", "Last order") already know the window the label asks about.
    hindsight = [c for c in own.columns if c != "contact_id" and _SUMMARIZES_ORDERS.search(c)]
    own = own.drop(hindsight)
    after = orders.filter(pl.col("ordered_at").dt.date() > cutoff)
    came_back = after.select("contact_id").unique().with_columns(bought=pl.lit(True))
    known = before.select("contact_id").unique()
    train = (
        own.join(known, on="contact_id", how="inner")
        .join(history(cutoff), on="contact_id", how="left")
        .join(came_back, on="contact_id", how="left")
        .with_columns(label=pl.col("bought").is_null())
        .drop("bought")
    )
    score = own.join(history(day), on="contact_id", how="left").with_columns(
        label=pl.lit(None, pl.Boolean)
    )
    both = pl.concat([train, score], how="diagonal_relaxed").with_row_index("row")
    result = train_churn(
        both.drop("label", "contact_id"), both.get_column("label"), id_column="row"
    )
    scored = (
        result.contacts.with_columns(contact_id=both.get_column("contact_id"))
        .tail(score.height)
        .drop("row")
    )
    try:
        alive = clv(orders, as_of=day).contacts.select("contact_id", "p_alive")
        scored = scored.join(alive, on="contact_id", how="left")
    except InputError:
        pass
    meaning = f"no purchase in the {window} days after a customer's history (expected window)"
    if hindsight:
        notes = (
            *result.notes,
            f"left out {', '.join(hindsight)}: fields that summarize orders hold today's"
            " values, which already know whether the customer bought in the window",
        )
        result = replace(result, notes=notes)
    report = ChurnReport(result=result, label=meaning, contacts=scored)
    if store:
        _store_churn(conn, report, day)
    return report


@dataclass(frozen=True)
class ChurnReport:
    """`rolodex analyze churn`: the model, what the label was, and each contact's risk."""

    result: ChurnResult
    label: str  # what "churned" meant
    contacts: pl.DataFrame  # the result's contacts, with p_alive when the label is inactivity

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: the model's summary (with "auc" on top) and the label used."""
        return {**self.result.to_dict(), "label": self.label}


def run_churn(
    conn: Connection, *, label: str | None = None, as_of: date | None = None, store: bool = True
) -> ChurnReport:
    """Churn risk per golden contact (`rolodex analyze churn`).

    The label is the field the user names; else cancelled subscriptions; else no purchase in
    the expected window, with BG/NBD's probability alive beside each contact.
    """
    day = as_of or _today()
    contacts = load_contacts(conn)
    if contacts.is_empty():
        raise InputError("no contacts to score: import contacts first")
    orders = load_orders(conn, until=day)
    tickets = load_tickets(conn, until=day)
    interactions = load_interactions(conn, until=day)
    subscriptions = load_subscriptions(conn)

    def history(at: date, *, plans: bool = True) -> pl.DataFrame:
        def before(frame: pl.DataFrame, column: str) -> pl.DataFrame | None:
            kept = frame.filter(pl.col(column).dt.date() <= at)
            return None if kept.is_empty() else kept

        return history_features(
            contacts=contacts.select("contact_id"),
            orders=before(orders, "ordered_at"),
            tickets=before(tickets, "opened_at"),
            interactions=before(interactions, "occurred_at"),
            subscriptions=None if subscriptions.is_empty() or not plans else subscriptions,
            as_of=at,
        )

    own = contacts.drop([c for c in contacts.columns if c in _NOT_FEATURES])
    if label is not None:
        wanted = _field_key(label)
        found = [c for c in own.columns if c != "contact_id" and _field_key(c) == wanted]
        if not found:
            fields = ", ".join(sorted(c for c in own.columns if c != "contact_id"))
            raise InputError(f"no field {label!r} to use as the churn label; fields: {fields}")
        labels = own.select("contact_id", label=pl.col(found[0]))
        own = own.drop(found[0])
        meaning = f"field {found[0]}"
        plans = True
    elif not subscriptions.is_empty():
        labels = subscription_label(subscriptions, as_of=day).select("contact_id", label="churned")
        meaning = "every subscription cancelled"
        # Whether a subscription is active is the label itself, not a feature.
        plans = False
    elif not orders.is_empty():
        return _inactivity_churn(conn, own, orders, history, day, store=store)
    else:
        raise InputError(
            "nothing to learn churn from: name a field with --label, or import subscriptions"
            " or orders"
        )
    frame = own.join(history(day, plans=plans), on="contact_id", how="left").join(
        labels, on="contact_id", how="left"
    )
    result = train_churn(frame.drop("label"), frame.get_column("label"))
    report = ChurnReport(result=result, label=meaning, contacts=result.contacts)
    if store:
        _store_churn(conn, report, day)
    return report


def load_deals(conn: Connection) -> pl.DataFrame:
    """Deals: deal_id, stage, amount, probability, expected_close_date, is_won, closed_at."""
    sql = (
        "SELECT id, stage, amount, probability, CAST(expected_close_date AS TEXT),"
        " is_won, CAST(closed_at AS TEXT) FROM deal"
    )
    schema = {
        "deal_id": pl.Int64(),
        "stage": pl.Utf8(),
        "amount": pl.Float64(),
        "probability": pl.Float64(),
        "expected_close_date": pl.Utf8(),
        "is_won": pl.Boolean(),
        "closed_at": pl.Utf8(),
    }
    frame = read_frame(conn, sql, schema)
    return frame.with_columns(
        pl.col("expected_close_date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        _timestamp("closed_at"),
    )


@dataclass(frozen=True)
class Forecast:
    """`rolodex analyze forecast`: revenue from orders and, when there are deals, the pipeline."""

    revenue: RevenueForecast | None
    pipeline: PipelineForecast | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "revenue": None if self.revenue is None else self.revenue.to_json(),
            "pipeline": None if self.pipeline is None else self.pipeline.to_json(),
            "notes": list(self.notes),
        }


def run_forecast(
    conn: Connection, *, as_of: date | None = None, horizon_months: int = 6
) -> Forecast:
    """Revenue forecast from monthly order revenue, and the weighted open pipeline."""
    day = as_of or _today()
    notes: list[str] = []
    orders = load_orders(conn, until=day)
    revenue = None
    if orders.is_empty():
        notes.append("no orders: no revenue forecast")
    else:
        try:
            revenue = revenue_forecast(orders, as_of=day, horizon_months=horizon_months)
        except InputError as exc:
            notes.append(f"no revenue forecast: {exc}")
    deals = load_deals(conn)
    pipeline = None
    if deals.is_empty():
        notes.append("no deals: no pipeline forecast")
    else:
        pipeline = pipeline_forecast(deals, as_of=day)
    if revenue is None and pipeline is None:
        raise InputError("nothing to forecast: " + "; ".join(notes))
    return Forecast(revenue=revenue, pipeline=pipeline, notes=tuple(notes))


_YEAR_WEEKS = 52.0
_SUMMARY = ("contact_id", "frequency", "recency_weeks", "age_weeks", "monetary")


@dataclass(frozen=True)
class ClvReport:
    """`rolodex analyze clv`: the fitted models and, when later orders exist, the holdout."""

    result: ClvResult
    holdout: HoldoutCheck | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: the fit as `ClvResult.to_json` gives it, plus "holdout"."""
        document = dict(self.result.to_json())
        check = self.holdout
        document["holdout"] = (
            None
            if check is None
            else {
                "until": check.end.isoformat(),
                "weeks": check.horizon_weeks,
                "customers": check.customers,
                "predicted_repeat_purchases": check.predicted,
                "actual_repeat_purchases": check.actual,
                "relative_error": check.relative_error,
            }
        )
        return document


def run_clv(
    conn: Connection,
    *,
    as_of: date | None = None,
    horizon_weeks: float = 52,
    discount_rate: float = 0.0,
    store: bool = True,
) -> ClvReport:
    """BG/NBD + Gamma-Gamma lifetime value, calibrated on orders up to `as_of`.

    Orders after `as_of` (a backtest) are the holdout: the model's expected repeat purchases
    of the calibration customers up to the last order day are compared with what they did.
    Each contact's P(alive) and 12-month figures are kept in `contact_score` unless `store`
    is false.
    """
    day = as_of or _today()
    orders = load_orders(conn)
    calibration = orders.filter(pl.col("ordered_at").dt.date() <= day)
    if calibration.is_empty():
        raise _no_orders(day)
    result = clv(calibration, as_of=day, horizon_weeks=horizon_weeks, discount_rate=discount_rate)
    if store:
        year = result.contacts
        if horizon_weeks != _YEAR_WEEKS:
            value = result.gamma_gamma
            mean = result.contacts.get_column("expected_value").mean()
            fallback = float(mean) if isinstance(mean, int | float) else 0.0
            year = predict(
                result.contacts.select(*_SUMMARY),
                bgnbd=result.bgnbd,
                value=value if value is not None else fallback,
                horizon_weeks=_YEAR_WEEKS,
                discount_rate=discount_rate,
            )
        frame = year.select(
            "contact_id",
            "p_alive",
            clv_as_of=pl.lit(day),
            expected_purchases_12m="expected_purchases",
            clv_12m="clv",
        )
        store_scores(conn, "clv", frame)
    later = orders.filter(pl.col("ordered_at").dt.date() > day)
    holdout = None
    if not later.is_empty():
        end = later.get_column("ordered_at").dt.date().max()
        assert isinstance(end, date)
        holdout = holdout_check(orders, as_of=day, end=end, bgnbd=result.bgnbd)
    return ClvReport(result=result, holdout=holdout)


@dataclass(frozen=True)
class CohortReport:
    """`rolodex analyze cohorts`: order cohorts, and sBG retention fits of subscriptions."""

    orders: CohortResult | None
    retention: dict[str, SbgFit]  # per subscription plan
    survivors: dict[str, list[list[int]]]  # per plan: alive counts of each start cohort
    period: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "period": self.period,
            "cohorts": None if self.orders is None else self.orders.to_json(),
            "sbg": {plan: fit.to_json() for plan, fit in self.retention.items()},
            "survivors": self.survivors,
        }


_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _month_start(index: int) -> date:
    """The first day of month `index` (months since year 0)."""
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def subscription_survivors(
    subscriptions: pl.DataFrame, *, as_of: date, period: str
) -> dict[str, list[list[int]]]:
    """Per plan and start cohort, the subscribers still active at the start of each period.

    A cohort is the subscriptions of one plan started in one period; its alive[t] counts
    those not cancelled before t whole periods after the cohort's start, for every t whose
    boundary lies on or before `as_of` (contractual data: a cancellation is recorded).
    """
    months = _PERIOD_MONTHS.get(period)
    if months is None:
        raise InputError(f"retention periods are month, quarter or year, not {period!r}")
    subs = subscriptions.filter(pl.col("started_at").is_not_null()).with_columns(
        start=pl.col("started_at").dt.date(),
        end=pl.col("cancelled_at").dt.date(),
        plan=pl.col("plan").fill_null("(no plan)"),
    )
    subs = subs.filter(pl.col("start") <= as_of)
    index = pl.col("start").dt.year() * 12 + pl.col("start").dt.month() - 1
    subs = subs.with_columns(cohort=index // months)
    survivors: dict[str, list[list[int]]] = {}
    for (plan, cohort), group in subs.group_by("plan", "cohort", maintain_order=True):
        first = int(cohort) * months
        ends = group.get_column("end")
        alive = [group.height]
        t = 1
        while (boundary := _month_start(first + t * months)) <= as_of:
            alive.append(int(group.height - (ends < boundary).fill_null(False).sum()))
            t += 1
        survivors.setdefault(str(plan), []).append(alive)
    return survivors


def run_cohorts(
    conn: Connection, *, as_of: date | None = None, period: str = "month"
) -> CohortReport:
    """Acquisition cohorts of orders (retention and revenue by period since the first order)
    and, for subscriptions, the shifted-beta-geometric retention model per plan."""
    day = as_of or _today()
    orders = load_orders(conn, until=day)
    subscriptions = load_subscriptions(conn)
    if orders.is_empty() and subscriptions.is_empty():
        raise InputError(
            "no orders or subscriptions to build cohorts from: import some first"
            " (`rolodex import FILE --source NAME --kind orders`)"
        )
    table = cohorts(orders, as_of=day, period=period) if not orders.is_empty() else None
    survivors: dict[str, list[list[int]]] = {}
    fits: dict[str, SbgFit] = {}
    if not subscriptions.is_empty():
        survivors = subscription_survivors(subscriptions, as_of=day, period=period)
        for plan, groups in survivors.items():
            usable = [g for g in groups if len(g) >= 2]
            if usable and any(g[-1] < g[0] for g in usable):
                fits[plan] = fit_sbg_cohorts(usable)
    return CohortReport(orders=table, retention=fits, survivors=survivors, period=period)


# --- scores kept per contact, for segments and the report ---------------------------------

_SCORE_COLUMNS = {
    "rfm": (
        "rfm_as_of",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
    ),
    "clv": ("clv_as_of", "p_alive", "expected_purchases_12m", "clv_12m"),
    "churn": ("churn_as_of", "churn_risk", "churn_reasons"),
}


def store_scores(conn: Connection, kind: str, frame: pl.DataFrame) -> int:
    """Replace one analysis' columns of `contact_score` with `frame` (contact_id + those
    columns); contacts the analysis did not score lose their old figures. Returns rows set."""
    columns = _SCORE_COLUMNS[kind]
    now = datetime.now(UTC)
    score = table_of(ContactScore)
    conn.execute(score.update().values(dict.fromkeys(columns) | {"updated_at": now}))
    # Every current golden contact has a row (merged-away ones keep their last figures).
    missing = select(Contact.id, literal(now, DateTime(timezone=True))).where(
        Contact.merged_into_id.is_(None), Contact.id.not_in(select(score.c.contact_id))
    )
    conn.execute(score.insert().from_select(["contact_id", "updated_at"], missing))
    rows = frame.select("contact_id", *columns).to_dicts()
    if rows:
        # One set-based UPDATE from a temporary table: a statement per contact takes
        # half a minute for 100,000 contacts.
        staged = Table(
            f"_staged_{kind}",
            MetaData(),
            Column("contact_id", Integer, primary_key=True),
            *(Column(name, score.c[name].type) for name in columns),
            prefixes=["TEMPORARY"],
        )
        staged.create(conn)
        try:
            conn.execute(staged.insert(), rows)
            # UPDATE ... FROM (PostgreSQL, SQLite 3.33+): a join, not a subquery per column.
            conn.execute(
                score.update()
                .where(score.c.contact_id == staged.c.contact_id)
                .values({name: staged.c[name] for name in columns})
            )
        finally:
            staged.drop(conn)
    return len(rows)


def load_members(conn: Connection) -> pl.DataFrame:
    """Campaign members: campaign (name), arm, contact_id, responded, converted, revenue.

    A member counts as responded (converted) when the flag says so or a response
    (conversion) time is recorded.
    """
    sql = (
        "SELECT c.name, m.arm, m.contact_id, m.responded, m.converted,"
        " CASE WHEN m.responded_at IS NULL THEN 0 ELSE 1 END,"
        " CASE WHEN m.converted_at IS NULL THEN 0 ELSE 1 END, m.revenue"
        " FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id"
    )
    schema = {
        "campaign": pl.Utf8(),
        "arm": pl.Utf8(),
        "contact_id": pl.Int64(),
        "responded": pl.Boolean(),
        "converted": pl.Boolean(),
        "responded_at": pl.Int64(),
        "converted_at": pl.Int64(),
        "revenue": pl.Float64(),
    }
    frame = read_frame(conn, sql, schema)
    return frame.select(
        "campaign",
        "arm",
        "contact_id",
        responded=pl.col("responded").fill_null(False) | (pl.col("responded_at") == 1),
        converted=pl.col("converted").fill_null(False) | (pl.col("converted_at") == 1),
        revenue=pl.col("revenue").fill_null(0.0),
    )


_MEMBER_SCHEMA = {
    "campaign": pl.Utf8(),
    "arm": pl.Utf8(),
    "contact_id": pl.Int64(),
    "responded": pl.Boolean(),
    "converted": pl.Boolean(),
    "revenue": pl.Float64(),
}


# Campaign events: who was targeted (and in which arm), who responded, who converted.
MEMBER_EVENTS = frozenset({"sent", "delivered", "holdout", "control", "targeted", "enrolled"})
RESPONSE_EVENTS = frozenset({"open", "opened", "click", "clicked", "visit", "reply", "response"})
CONVERSION_EVENTS = frozenset({"purchase", "order", "conversion", "converted", "signup"})
_ARM_KEYS = ("arm", "variant", "group", "treatment")
_REVENUE_KEYS = ("revenue", "amount", "value", "total")


def members_from_events(conn: Connection) -> pl.DataFrame:
    """Campaign members read off campaign events, for campaigns imported as an event stream
    (an email tool's sends, holdouts, opens, clicks and purchases) rather than a member list.

    A contact is a member of a campaign when a send or holdout event names them; the arm is
    the event's `arm` (or variant, group, treatment) property, "control" for a holdout; an
    open, click or visit is a response; a purchase is a conversion, its revenue property
    summed as the member's revenue. Columns as `load_members`.
    """
    sql = (
        "SELECT c.name, e.contact_id, e.event_type, CAST(e.properties AS TEXT) FROM event e"
        " JOIN campaign c ON c.id = e.campaign_id WHERE e.contact_id IS NOT NULL"
    )
    schema = {
        "campaign": pl.Utf8(),
        "contact_id": pl.Int64(),
        "event": pl.Utf8(),
        "properties": pl.Utf8(),
    }
    events = read_frame(conn, sql, schema)
    if events.is_empty():
        return pl.DataFrame(schema=_MEMBER_SCHEMA)
    kind = pl.col("event").str.strip_chars().str.to_lowercase()
    arm = pl.coalesce([pl.col("properties").str.json_path_match(f"$.{key}") for key in _ARM_KEYS])
    revenue = pl.coalesce(
        [pl.col("properties").str.json_path_match(f"$.{key}") for key in _REVENUE_KEYS]
    ).cast(pl.Float64, strict=False)
    events = events.with_columns(
        kind=kind,
        arm=pl.when(kind == "holdout").then(pl.coalesce(arm, pl.lit("control"))).otherwise(arm),
        revenue=revenue,
    )
    keys = ["campaign", "contact_id"]
    members = (
        events.filter(pl.col("kind").is_in(list(MEMBER_EVENTS)))
        .group_by(keys)
        .agg(pl.col("arm").drop_nulls().first())
    )
    outcomes = events.group_by(keys).agg(
        responded=pl.col("kind").is_in(list(RESPONSE_EVENTS)).any(),
        converted=pl.col("kind").is_in(list(CONVERSION_EVENTS)).any(),
        revenue=pl.col("revenue").filter(pl.col("kind").is_in(list(CONVERSION_EVENTS))).sum(),
    )
    joined = members.join(outcomes, on=keys, how="left")
    return joined.select(
        "campaign",
        "arm",
        "contact_id",
        pl.col("responded").fill_null(False),
        pl.col("converted").fill_null(False),
        pl.col("revenue").fill_null(0.0),
    ).sort(keys)


def run_campaigns(
    conn: Connection, *, control: str | None = None, campaign: str | None = None
) -> CampaignResult:
    """Reach, response, conversion and revenue per campaign and arm, with the lift of each
    treatment over the control arm (`rolodex analyze campaigns`). Members come from member
    lists, and for campaigns without one from their events (`members_from_events`)."""
    members = load_members(conn)
    # Campaigns with no member list of their own are read off their events.
    from_events = members_from_events(conn).filter(
        ~pl.col("campaign").is_in(members.get_column("campaign").unique().to_list())
    )
    members = pl.concat([members, from_events.select(members.columns)], how="vertical_relaxed")
    if campaign is not None:
        names = sorted(set(members.get_column("campaign").to_list()))
        members = members.filter(pl.col("campaign") == campaign)
        if members.is_empty():
            raise InputError(
                f"no campaign {campaign!r}; campaigns: {', '.join(names) or 'none imported'}"
            )
    if members.is_empty():
        raise InputError(
            "no campaign members: import them first"
            " (`rolodex import FILE --source NAME --kind campaign_members`, or campaign"
            " events with sends or holdouts, --kind events)"
        )
    result = campaign_performance(members, control=control)
    return _with_consent(conn, members, result)


def _with_consent(
    conn: Connection, members: pl.DataFrame, result: CampaignResult
) -> CampaignResult:
    """Count per arm the members reached without a granted marketing consent (their latest
    decision), so a campaign that contacted people who had not agreed shows it."""
    if not any_consents(conn):
        note = "no marketing consents recorded: consent was not checked"
        return replace(result, notes=(*result.notes, note))
    granted = granted_contacts(conn)
    counts = (
        members.with_columns(
            without=pl.col("contact_id").is_null() | ~pl.col("contact_id").is_in(list(granted))
        )
        .group_by("campaign", "arm")
        .agg(without_consent=pl.col("without").sum().cast(pl.Int64))
    )
    arms = result.arms.join(counts, on=["campaign", "arm"], how="left").with_columns(
        pl.col("without_consent").fill_null(0)
    )
    flagged = arms.filter(pl.col("without_consent") > 0)
    notes = [
        f"{row['campaign']} / {row['arm']}: {row['without_consent']:,} members without a"
        " granted marketing consent"
        for row in flagged.iter_rows(named=True)
    ]
    return replace(result, arms=arms, notes=(*result.notes, *notes))
