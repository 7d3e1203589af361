"""Train and apply the matching model over a set of records held in an in-memory DuckDB.

Splink does the statistics (u from random pairs, m by expectation maximisation, term
frequencies, the scoring SQL); this module decides which training steps the data can
support (a source without emails cannot train on email blocks), keeps Splink's chatter and
warnings out of the way, and returns plain Polars frames.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from rolodex.resolve import model as m

# EM needs enough pairs in a block to say anything.
_MIN_TRAINING_PAIRS = 50
_MAX_TRAINING_PAIRS = 500_000  # pairs per EM session; bigger blocks are sampled
# Below this, random pairs are too few and too often duplicates to measure u: priors stay.
MIN_U_RECORDS = 1_000


@dataclass
class TrainingInfo:
    """What training used and found."""

    records: int
    prior: float
    blocks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    u_pairs: int = 0


def _pairs_on(records: pl.DataFrame, columns: Sequence[str]) -> int:
    """Count the record pairs a blocking rule on equal `columns` would produce."""
    counts = records.drop_nulls(list(columns)).group_by(list(columns)).len()
    n = counts["len"]
    return int((n * (n - 1) // 2).sum())


DUCKDB_MEMORY = "1GB"


def block_and_score(
    records: pl.DataFrame,
    pending: Sequence[int],
    model: dict[str, Any],
    frequencies: Mapping[str, pl.DataFrame],
) -> pl.DataFrame:
    """Find the pairs the blocking rules give between `pending` records and all `records`
    (`model.features` columns), and score them with a trained model, in DuckDB.

    Incremental resolve uses this rather than Splink: Splink would first recount term
    frequencies and copy a million records to score a few hundred thousand pairs. The
    comparison levels are the model's own SQL; term frequencies come from `frequencies`
    (column -> value, tf), as Splink counts them.

    Returns:
        The columns of `Matcher.predict`, one row per pair (left < right).
    """
    names = [str(c["output_column_name"]) for c in model["comparisons"]]
    empty = pl.DataFrame(schema=_scored_schema(names))
    if not pending:
        return empty
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("records", records.to_arrow())
        ids = pl.DataFrame({"unique_id": list(pending)}, schema={"unique_id": pl.Int64})
        con.register("pending_ids", ids.to_arrow())
        con.execute(
            "CREATE TABLE pend AS SELECT r.* FROM records r"
            " JOIN pending_ids p ON r.unique_id = p.unique_id"
        )
        found = " UNION ".join(
            f"SELECT least(l.unique_id, r.unique_id) AS a, greatest(l.unique_id, r.unique_id)"
            f" AS b FROM pend l JOIN records r ON ({rule}) AND r.unique_id <> l.unique_id"
            for rule in m.BLOCKING_RULES
        )
        con.execute(f"CREATE TABLE cand AS {found}")
        joins = []
        for column, table in frequencies.items():
            con.register(f"tf_{column}", table.to_arrow())
            joins.append(
                f" LEFT JOIN tf_{column} tl_{column} ON tl_{column}.value = l.{column}"
                f" LEFT JOIN tf_{column} tr_{column} ON tr_{column}.value = r.{column}"
            )
        sides = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in m.FEATURES if c != "unique_id")
        tfs = "".join(f", tl_{c}.tf AS tf_{c}_l, tr_{c}.tf AS tf_{c}_r" for c in frequencies)
        weights = [_weight_sql(c) for c in model["comparisons"]]
        prior = float(model["probability_two_random_records_match"])
        total = f"{math.log2(prior / (1.0 - prior))!r} + " + " + ".join(f"w_{n}" for n in names)
        arrow = con.sql(
            f"WITH p AS (SELECT c.a AS unique_id_l, c.b AS unique_id_r, {sides}{tfs}"
            " FROM cand c JOIN records l ON l.unique_id = c.a"
            f" JOIN records r ON r.unique_id = c.b{''.join(joins)}),"
            f" w AS (SELECT unique_id_l, unique_id_r,"
            f" {', '.join(f'{sql} AS w_{n}' for sql, n in zip(weights, names, strict=True))}"
            f" FROM p), t AS (SELECT *, {total} AS weight FROM w)"
            " SELECT unique_id_l AS left, unique_id_r AS right,"
            " CASE WHEN weight > 60 THEN 1.0 ELSE pow(2, weight) / (1 + pow(2, weight)) END"
            f" AS probability, weight, {', '.join(f'w_{n}' for n in names)} FROM t"
        ).to_arrow_table()
    frame = pl.from_arrow(arrow)
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(empty.schema) if not frame.is_empty() else empty


def _weight_sql(comparison: Mapping[str, Any]) -> str:
    """A comparison's match weight as one SQL CASE over a pair's `_l`/`_r` columns: the
    level's log2(m/u), plus Splink's term-frequency adjustment where the level has one."""
    cases = []
    levels = comparison["comparison_levels"]
    last = levels[-1]
    for level in levels:
        condition = str(level["sql_condition"])
        if level.get("is_null_level"):
            cases.append(f"WHEN {condition} THEN 0.0")
            continue
        m_ = float(level.get("m_probability") or 0.0)
        u = float(level.get("u_probability") or 0.0)
        weight = repr(math.log2(m_ / u)) if m_ > 0 and u > 0 else "0.0"
        column = level.get("tf_adjustment_column")
        if column is not None and level is not last and u > 0:
            factor = float(level.get("tf_adjustment_weight", 1.0))
            exact = m.exact_match_u(levels, column)
            tf = f"coalesce(greatest(tf_{column}_l, tf_{column}_r), tf_{column}_l, tf_{column}_r)"
            weight = f"{weight} + coalesce({factor!r} * ({math.log2(exact)!r} - log2({tf})), 0.0)"
        if condition.strip().upper() == "ELSE":
            cases.append(f"ELSE {weight}")
        else:
            cases.append(f"WHEN {condition} THEN {weight}")
    if not cases[-1].startswith("ELSE"):
        cases.append("ELSE 0.0")
    return "CASE " + " ".join(cases) + " END"


class Matcher:
    """One model (trained here or loaded) over one frame of `model.features` records."""

    def __init__(self, records: pl.DataFrame, model: dict[str, Any] | None = None) -> None:
        from splink import DuckDBAPI, Linker

        m.quiet_splink()
        self.records = records
        self._con = duckdb.connect()
        # DuckDB draws a progress bar on stdout for long queries; `--json` output must be
        # the JSON document alone.
        self._con.execute("SET enable_progress_bar = false")
        # Splink's intermediate tables of a million records outgrow what the rest of resolve
        # needs: let DuckDB spill to disk rather than hold them all in memory, and not keep
        # insertion order it is never asked for.
        self._con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        spill = Path(tempfile.gettempdir()) / "rolodex-duckdb"
        self._con.execute(f"SET temp_directory = '{spill.as_posix()}'")
        self._con.execute("SET preserve_insertion_order = false")
        self._api = DuckDBAPI(self._con)
        self._sdf = self._api.register(records.to_arrow(), table_name="records")
        self._pair_tables = 0
        self._tf_frames: dict[str, pl.DataFrame] | None = None  # per model; see _frequencies
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh = m.settings(term_frequencies=len(records) >= MIN_U_RECORDS)
            self._linker = Linker(self._sdf, model or fresh, log_level="ERROR")

    def close(self) -> None:
        """Free the DuckDB database."""
        self._con.close()

    def __enter__(self) -> Matcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def train(self, *, seed: int = 42, u_pairs: int = 2_000_000) -> TrainingInfo:
        """Estimate the model's parameters from the records alone (no labels).

        Args:
            seed: makes the random pairs for u, and so the model, repeatable.
            u_pairs: random pairs sampled for the non-match statistics; more records need
                more pairs (same-name strangers grow with size), capped for time.
        """
        from splink import Linker
        from splink.internals.exceptions import EMTrainingException

        n = len(self.records)
        training = self._linker.training
        info = TrainingInfo(records=n, prior=0.0)
        usable: list[Any] = [
            rule for rule, cols in m.DETERMINISTIC if _pairs_on(self.records, cols) > 0
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if usable:
                training.estimate_probability_two_random_records_match(usable, recall=0.7)
            prior = self._linker._settings_obj._probability_two_random_records_match
            if not 0.0 < prior < 1.0:
                # Nothing certain to go on: assume about one duplicate per two records.
                prior = min(0.5, 0.5 / max(n - 1, 1))
                self._linker._settings_obj._probability_two_random_records_match = prior
            info.prior = prior
            if n >= MIN_U_RECORDS:
                pairs = min(u_pairs, n * (n - 1) // 2)
                training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
                info.u_pairs = pairs
            for block, cols in m.TRAINING_BLOCKS:
                found = _pairs_on(self.records, cols)
                if found < _MIN_TRAINING_PAIRS:
                    info.skipped.append(block)
                    continue
                # EM over a few million same-name pairs learns nothing a fixed share of them
                # would not: a deterministic sample keeps training time flat as data grows.
                share = -(-found // _MAX_TRAINING_PAIRS)
                rule = (
                    block
                    if share == 1
                    else f"{block} AND (l.unique_id + r.unique_id) % {share} = 0"
                )
                # A failed EM session can leave the linker without the comparisons it had
                # set aside: start again from the model as it stood before.
                before = self.model()
                try:
                    try:
                        training.estimate_parameters_using_expectation_maximisation(rule)
                    except ValueError:
                        # An m collapsing towards zero: try again without term frequencies.
                        self._linker = Linker(self._sdf, before, log_level="ERROR")
                        training = self._linker.training
                        training.estimate_parameters_using_expectation_maximisation(
                            rule, estimate_without_term_frequencies=True
                        )
                except (EMTrainingException, ValueError, ZeroDivisionError) as exc:
                    info.skipped.append(f"{rule} ({type(exc).__name__}: {str(exc)[:120]})")
                    self._linker = Linker(self._sdf, before, log_level="ERROR")
                    training = self._linker.training
                    continue
                info.blocks.append(rule)
        self._tf_frames = None  # the model changed
        if info.u_pairs:
            # u came from random pairs, matches included: take them out.
            self._linker = Linker(
                self._sdf, m.without_matches_in_u(self.model()), log_level="ERROR"
            )
        return info

    def model(self) -> dict[str, Any]:
        """Return the (trained) model as a JSON-ready dictionary."""
        saved: dict[str, Any] = self._linker.misc.save_model_to_json()
        return saved

    def term_frequencies(self) -> dict[str, pl.DataFrame]:
        """`model.term_frequencies` of each column the model adjusts by (value, tf frames),
        counted once per model."""
        if self._tf_frames is None:
            model = self.model()
            columns = {
                str(level["tf_adjustment_column"])
                for comparison in model["comparisons"]
                for level in comparison["comparison_levels"]
                if level.get("tf_adjustment_column")
            }
            self._tf_frames = {
                column: m.term_frequencies(self.records.get_column(column), model)
                for column in sorted(columns)
            }
        return self._tf_frames

    def _frequencies(self) -> None:
        """Hand Splink `term_frequencies` rather than let it count its own; registered again
        for every predict, since a scoring call clears Splink's cache."""
        for column, frame in self.term_frequencies().items():
            self._pair_tables += 1
            named = frame.select(pl.col("value").alias(column), pl.col("tf").alias(f"tf_{column}"))
            registered = self._api.register(
                named.to_arrow(), table_name=f"tf_{column}_{self._pair_tables}"
            )
            self._linker.table_management.register_term_frequency_lookup(registered, column)

    def predict(self, threshold: float) -> pl.DataFrame:
        """Score every candidate pair the blocking rules find; keep those at `threshold`.

        Returns:
            left, right (record ids, left < right), probability, weight and one `w_*`
            column per comparison (its match weight, term frequency included).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._frequencies()
            scored = self._linker.inference.predict(threshold_match_probability=threshold)
        return self._tidy(scored)

    def score(self, pairs: Sequence[tuple[int, int]]) -> pl.DataFrame:
        """Score the given pairs of record ids, found by blocking or not (same columns as
        `predict`, in no particular order)."""
        if not pairs:
            return self._tidy(None)
        self._pair_tables += 1
        frame = pair_frame(pairs).select(
            pl.lit("0").alias("match_key"),
            pl.col("left").alias("join_key_l"),
            pl.col("right").alias("join_key_r"),
        )
        registered = self._api.register(frame.to_arrow(), table_name=f"pairs_{self._pair_tables}")
        management = self._linker.table_management
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            management.register_blocked_pairs_for_predict(registered)
            self._frequencies()
            try:
                return self._tidy(self._linker.inference.predict())
            finally:
                management.invalidate_cache()  # type: ignore[no-untyped-call]

    def _tidy(self, scored: Any) -> pl.DataFrame:
        names = [str(c["output_column_name"]) for c in m.comparisons()]
        if scored is None:
            return pl.DataFrame(schema=_scored_schema(names))
        relation = scored.as_duckdbpyrelation()
        # Only the columns kept leave DuckDB: Splink's output holds every feature of both
        # records and each step of the calculation, several times what is needed here.
        present = set(relation.columns)
        wanted = [
            "unique_id_l",
            "unique_id_r",
            "match_probability",
            "match_weight",
            *(f"mw_{n}" for n in names),
            *(f"mw_tf_adj_{n}" for n in names if f"mw_tf_adj_{n}" in present),
        ]
        arrow = relation.select(*wanted).arrow()
        if isinstance(arrow, pa.RecordBatchReader):
            arrow = arrow.read_all()  # also when it holds no batch at all
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        return frame.select(
            pl.col("unique_id_l").cast(pl.Int64).alias("left"),
            pl.col("unique_id_r").cast(pl.Int64).alias("right"),
            pl.col("match_probability").cast(pl.Float64).alias("probability"),
            pl.col("match_weight").cast(pl.Float64).alias("weight"),
            *(_weight(frame, name) for name in names),
        )


def _scored_schema(names: Sequence[str]) -> dict[str, pl.DataType]:
    """The columns of scored pairs: left, right, probability, weight, one `w_*` per
    comparison."""
    return {
        "left": pl.Int64(),
        "right": pl.Int64(),
        "probability": pl.Float64(),
        "weight": pl.Float64(),
        **{f"w_{name}": pl.Float64() for name in names},
    }


def pair_frame(pairs: Sequence[tuple[int, int]]) -> pl.DataFrame:
    """Pairs of record ids as a frame: left (the smaller id), right."""
    raw = pl.DataFrame(pairs, schema={"a": pl.Int64, "b": pl.Int64}, orient="row")
    return raw.select(
        pl.min_horizontal("a", "b").alias("left"), pl.max_horizontal("a", "b").alias("right")
    )


def _weight(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The comparison's weight in a scored frame, its term-frequency adjustment added."""
    weight = pl.col(f"mw_{name}").cast(pl.Float64)
    if f"mw_tf_adj_{name}" in frame.columns:
        weight = weight + pl.col(f"mw_tf_adj_{name}").cast(pl.Float64).fill_null(0.0)
    return weight.alias(f"w_{name}")
