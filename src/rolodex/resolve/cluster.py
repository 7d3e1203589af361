"""Clustering for identity resolution: scored record pairs in, clusters of records out.

This is the step after blocking and scoring. It is pure (no database, no Splink): the only
way out is the `score` callback, which the caller backs with the trained model.

Why average linkage rather than connected components: with components, one wrong link (a
same-name stranger, a household member sharing address and phone) joins two whole people,
and the damage grows with the data, because bigger data holds more such links. Here two
clusters merge only when the mean match probability over *all* record pairs between them
clears the threshold, after rescoring the pairs blocking did not produce, so every record
has a say. On realistic multi-source CRM data this kept precision while recall held (the
largest cluster went from 62 records to about 20 at 157k records; see DESIGN.md, "Matching:
lessons measured").

Steps:

1. Candidate groups: connected components over pairs at or above a low candidate bound, plus
   user merges. Computed by vectorized hook-and-compress over polars columns, since a million
   records are mostly groups of one to five.
2. Rescoring: every pair missing inside a group of at most `max_group` records goes to the
   scorer, in one call for all groups. Bigger groups link on the pairs they have.
3. Average-linkage agglomeration inside each group, starting from user merges, refusing merges
   that would join a user split or exceed an identifier cap.

Step 3 runs in bulk, in polars, for every group at once: a group whose pairs all clear the
threshold is one cluster, and the others make, round by round, the merge the heap would make
next. The bulk result stands unless it joins a user split or breaks a cap; those groups, groups
with user merges and the few still merging after a number of rounds run a heap in Python,
which refuses such merges and counts them. Both paths rank merges on exact integer sums, so
they agree to the bit, ties included.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal

import polars as pl
import pyarrow as pa

from rolodex.exceptions import ConfigError

__all__ = ["ClusterResult", "ClusterSettings", "PairScorer", "cluster_records"]

PairScorer = Callable[[Sequence[tuple[int, int]]], Sequence[float]]
"""Match probability for each (left, right) pair of record ids, in the order given."""

SCORE_SLICE = 250_000  # pairs per call of a `PairScorer`

# A mean of values at the threshold can round just below it; without this slack the bulk path
# (which compares minimums) and the heap (which compares means) could disagree.
_EPS = 1e-9
# Probabilities become integers in units of 2**-32, so sums are exact and order-free (the
# bulk and heap paths then agree to the bit) and stay far from overflow.
_SCALE = 2**32
# Rounds of bulk merging before a group still merging is handed to the heap.
_ROUNDS = 16
_TABLE = ("g", "x", "y", "s", "k")
# Shared empties for records without capped identifiers or user splits; never mutated.
_NO_VALUES: dict[str, set[str]] = {}
_NOBODY: set[int] = set()
_EDGE_SCHEMA = pl.Schema({"l": pl.Int64, "r": pl.Int64, "p": pl.Float64})
_EDGE_TYPE = pa.struct([("l", pa.int64()), ("r", pa.int64()), ("p", pa.float64())])


def _default_caps() -> dict[str, int]:
    return {"email": 4, "phone": 4}


@dataclass(frozen=True)
class ClusterSettings:
    """How eagerly records are merged into one person."""

    threshold: float = 0.9
    """Merge two clusters only if the mean match probability over their pairs is at least this."""
    max_group: int = 300
    """Groups bigger than this are not fully rescored: k records cost k(k-1)/2 model pairs."""
    max_identifiers: Mapping[str, int] = field(default_factory=_default_caps)
    """Most distinct values of an identifier one person plausibly has; more means two people."""
    candidate: float | None = None
    """Lowest probability that puts two records in one candidate group (None: threshold / 3)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"cluster threshold must be in (0, 1], got {self.threshold}")
        if self.max_group < 2:
            raise ConfigError(f"cluster max_group must be at least 2, got {self.max_group}")
        if not 0.0 <= self.candidate_bound <= self.threshold:
            raise ConfigError(
                f"cluster candidate bound must be in [0, threshold], got {self.candidate_bound}"
            )
        for kind, cap in self.max_identifiers.items():
            if cap < 1:
                raise ConfigError(f"cluster cap on {kind!r} must be at least 1, got {cap}")

    @property
    def candidate_bound(self) -> float:
        """The probability at which a pair starts a candidate group."""
        return self.threshold / 3 if self.candidate is None else self.candidate


@dataclass
class ClusterResult:
    """Which cluster each record landed in, how sure, and what the step did."""

    cluster_of: dict[int, int]
    """Record id -> cluster id, the smallest record id in the cluster."""
    probability: dict[int, float]
    """Record id -> mean match probability to the rest of its cluster.

    Averaged over the pairs known; 1.0 for a record alone or joined by user merges only."""
    groups: int = 0
    """Candidate groups of two or more records."""
    rescored_pairs: int = 0
    """Pairs sent to the scorer because blocking had not produced them."""
    refused: dict[str, int] = field(default_factory=dict)
    """Merges refused, by reason: "cannot_link" or "cap:<identifier>"."""


def cluster_records(
    ids: Sequence[int],
    edges: Iterable[tuple[int, int, float]] | pl.DataFrame,
    *,
    settings: ClusterSettings,
    score: PairScorer | None = None,
    identifiers: Mapping[int, Mapping[str, str | None]] | None = None,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> ClusterResult:
    """Group records into people by average linkage inside candidate groups.

    Args:
        ids: Every record to place; records without pairs come back as clusters of one.
        edges: (left, right, probability) from blocking and the model, in any order; a pair
            given twice keeps its highest probability. A polars frame of those three columns
            (in that order) works too and skips building millions of Python tuples.
        settings: Threshold, rescoring limit, identifier caps and candidate bound.
        score: Scores pairs blocking did not produce, called once per `SCORE_SLICE` pairs.
            Without it, and in groups over `settings.max_group`, linkage averages over the
            known pairs only.
        identifiers: Record id -> {identifier: normalized key or None}, checked against
            `settings.max_identifiers`; without it no caps apply.
        must_link: User merges: always together, whatever the threshold or caps.
        cannot_link: User splits: never together; they win over `must_link`.

    Returns:
        The cluster and mean probability of every record, and counts of groups, rescored
        pairs and refused merges.

    Raises:
        ValueError: A pair names a record not in `ids`, or the scorer answered with the wrong
            number of probabilities.

    Examples:
        >>> result = cluster_records(
        ...     [1, 2, 3], [(1, 2, 0.99), (2, 3, 0.5)], settings=ClusterSettings()
        ... )
        >>> result.cluster_of
        {1: 1, 2: 1, 3: 3}
    """
    index = _Index(ids)
    threshold = settings.threshold - _EPS
    scored = _edge_frame(edges, index)
    must = _pair_frame(must_link, index, "must_link")
    cannot = _pair_frame(cannot_link, index, "cannot_link")

    bound = round(settings.candidate_bound * _SCALE)
    candidates = pl.concat([scored.filter(pl.col("q") >= bound).select("a", "b"), must])
    group = _components(index.size, candidates["a"], candidates["b"])
    sizes = _group_sizes(group)
    pairs, rescored = _rescore(
        _in_group(scored, group), group, sizes, index, max_group=settings.max_group, score=score
    )
    must, cannot = _in_group(must, group), _in_group(cannot, group)

    # Average linkage in bulk for groups without user merges. Its result stands wherever it
    # puts no user split and no identifier cap over the line: then the heap, which would
    # refuse exactly those merges, refuses none and takes the same steps.
    cluster, lagging = _linkage_rounds(
        pairs.filter(~pl.col("g").is_in(must["g"].implode())), group=group, threshold=threshold
    )
    caps = dict(settings.max_identifiers) if identifiers is not None else {}
    broken = _broken(cluster, group, cannot, identifiers or {}, caps, index.key_list)
    careful = pl.concat([must["g"], lagging, broken])

    refused: Counter[str] = Counter()
    moves = _agglomerate_groups(
        careful,
        group=group,
        pairs=pairs,
        must=must,
        cannot=cannot,
        key_list=index.key_list,
        identifiers=identifiers or {},
        caps=caps,
        threshold=threshold,
        refused=refused,
    )
    cluster = cluster.scatter(moves["i"], moves["c"])
    return ClusterResult(
        cluster_of=dict(zip(index.key_list, index.keys.gather(cluster).to_list(), strict=True)),
        probability=dict(zip(index.key_list, _mean_within(pairs, cluster).to_list(), strict=True)),
        groups=len(sizes),
        rescored_pairs=rescored,
        refused=dict(sorted(refused.items())),
    )


class _Index:
    """Positions of record ids in sorted order, so pairs become small dense integers."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.keys = pl.Series("id", ids, dtype=pl.Int64).unique().sort()
        self.key_list: list[int] = self.keys.to_list()
        self.size = len(self.key_list)
        self._table: pl.Series | None = None
        if self.size and self.key_list[0] >= 0 and self.key_list[-1] < 4 * self.size + 1024:
            # Database ids are dense: one gather finds positions, no search needed.
            self._table = _full(self.key_list[-1] + 1, -1).scatter(self.keys, _positions(self.size))

    def positions(self, values: pl.Series, what: str) -> pl.Series:
        """Return the position of each id, rejecting ids that are not records."""
        if values.is_empty():
            return values.cast(pl.Int64)
        if self.size == 0:
            raise ValueError(f"{what} names records not in ids, e.g. {values[0]}")
        if self._table is not None:
            position = self._table.gather(values.clip(0, len(self._table) - 1))
            unknown = (values < 0) | (values >= len(self._table)) | (position < 0)
        else:
            position = self.keys.search_sorted(values).cast(pl.Int64).clip(0, self.size - 1)
            unknown = self.keys.gather(position) != values
        if unknown.any():
            raise ValueError(f"{what} names records not in ids, e.g. {values.filter(unknown)[0]}")
        return position

    def pair_key(self, a: str, b: str) -> pl.Expr:
        """Pack a pair of positions into one integer, which groups and joins faster than two."""
        return pl.col(a) * self.size + pl.col(b)


def _positions(n: int) -> pl.Series:
    """Return 0, 1, ..., n - 1."""
    return pl.int_range(n, eager=True, dtype=pl.Int64)


def _full(n: int, value: bool | int | float) -> pl.Series:
    """Return an n-long column of one value, to scatter per-position results into."""
    dtype = {bool: pl.Boolean, int: pl.Int64, float: pl.Float64}[type(value)]
    return pl.repeat(value, n, eager=True, dtype=dtype)


def _quantize(probability: pl.Expr) -> pl.Expr:
    """Fix probabilities to integers so sums are exact whatever order they are added in."""
    clean = probability.fill_nan(0.0).fill_null(0.0).clip(0.0, 1.0)
    return (clean * _SCALE).round().cast(pl.Int64)


def _edge_frame(
    edges: Iterable[tuple[int, int, float]] | pl.DataFrame, index: _Index
) -> pl.DataFrame:
    """Return scored pairs as positions a < b, one row per pair at its highest probability."""
    if isinstance(edges, pl.DataFrame):
        first, second, third = edges.columns
        raw = edges.select(l=pl.col(first), r=pl.col(second), p=pl.col(third)).cast(_EDGE_SCHEMA)
    else:
        rows = pa.Table.from_struct_array(pa.array(list(edges), type=_EDGE_TYPE))
        raw = pl.DataFrame(pl.from_arrow(rows))
    left, right = index.positions(raw["l"], "edges"), index.positions(raw["r"], "edges")
    frame = (
        pl.DataFrame({"l": left, "r": right, "p": raw["p"]})
        .filter(pl.col("l") != pl.col("r"))
        .select(
            a=pl.min_horizontal("l", "r"), b=pl.max_horizontal("l", "r"), q=_quantize(pl.col("p"))
        )
        .with_columns(key=index.pair_key("a", "b"))
    )
    if frame["key"].n_unique() < frame.height:
        # Grouping on a sorted key is a linear scan; hashing two million keys is not.
        frame = (
            frame.sort("key")
            .group_by("key")
            .agg(pl.col("a").first(), pl.col("b").first(), pl.col("q").max())
        )
    return frame.select("a", "b", "q")


def _pair_frame(pairs: Iterable[tuple[int, int]], index: _Index, what: str) -> pl.DataFrame:
    """Return user pairs as positions a < b, once each."""
    raw = pl.DataFrame(list(pairs), schema={"l": pl.Int64, "r": pl.Int64}, orient="row")
    left, right = index.positions(raw["l"], what), index.positions(raw["r"], what)
    return (
        pl.DataFrame({"l": left, "r": right})
        .filter(pl.col("l") != pl.col("r"))
        .select(a=pl.min_horizontal("l", "r"), b=pl.max_horizontal("l", "r"))
        .unique()
    )


def _components(n: int, a: pl.Series, b: pl.Series) -> pl.Series:
    """Label each position with the smallest position of its connected component.

    Hook-and-compress: each round every root hooks onto the smallest root it shares a pair
    with, then pointer jumping flattens the trees. Parents only ever point down, so no cycles
    form, and rounds stay few (logarithmic on chains) where a Python union-find would loop
    over every pair.
    """
    parent = _positions(n)
    while len(a):
        ends = pl.DataFrame({"ra": parent.gather(a), "rb": parent.gather(b)})
        roots = (
            ends.select(lo=pl.min_horizontal("ra", "rb"), hi=pl.max_horizontal("ra", "rb"))
            .filter(pl.col("lo") != pl.col("hi"))
            .unique()
        )
        if roots.is_empty():
            break
        hooks = roots.group_by("hi").agg(pl.col("lo").min())
        parent = _compress(parent.scatter(hooks["hi"], hooks["lo"]))
        a, b = roots["lo"], roots["hi"]
    return parent


def _compress(parent: pl.Series) -> pl.Series:
    """Point every position straight at its root."""
    while True:
        grand = parent.gather(parent)
        if (grand == parent).all():
            return parent
        parent = grand


def _group_sizes(group: pl.Series) -> pl.DataFrame:
    """Return (g, size) for the candidate groups of two or more records."""
    joined = pl.DataFrame({"g": group.filter(group != _positions(len(group)))})
    return joined.group_by("g").agg(size=pl.len().cast(pl.Int64) + 1)


def _in_group(pairs: pl.DataFrame, group: pl.Series) -> pl.DataFrame:
    """Keep the pairs whose two records share a candidate group, labelled with it."""
    ga, gb = group.gather(pairs["a"]), group.gather(pairs["b"])
    return pairs.with_columns(g=ga).filter(ga == gb)


def _rescore(
    pairs: pl.DataFrame,
    group: pl.Series,
    sizes: pl.DataFrame,
    index: _Index,
    *,
    max_group: int,
    score: PairScorer | None,
) -> tuple[pl.DataFrame, int]:
    """Score, in one call, every pair missing from groups small enough to complete."""
    if score is None:
        return pairs, 0
    known = pairs.group_by("g").agg(known=pl.len().cast(pl.Int64))
    todo = (
        sizes.join(known, on="g", how="left")
        .fill_null(0)
        .filter(
            (pl.col("size") <= max_group)
            & (pl.col("known") < pl.col("size") * (pl.col("size") - 1) // 2)
        )
    )
    if todo.is_empty():
        return pairs, 0
    wanted = _full(index.size, False).scatter(todo["g"], True)
    inside = wanted.gather(group)
    members = pl.DataFrame({"g": group.filter(inside), "i": _positions(index.size).filter(inside)})
    have = pairs.filter(wanted.gather(pairs["g"])).select(key=index.pair_key("a", "b"))
    missing = (
        members.join(members, on="g", suffix="_r")
        .filter(pl.col("i") < pl.col("i_r"))
        .select("g", a="i", b="i_r")
        .with_columns(key=index.pair_key("a", "b"))
        .join(have, on="key", how="anti")
        .sort("key")
    )
    # In slices: millions of pairs as Python tuples, and their scoring at once, would hold
    # gigabytes.
    found: list[pl.Series] = []
    for start in range(0, missing.height, SCORE_SLICE):
        part = missing.slice(start, SCORE_SLICE)
        asked = list(
            zip(
                index.keys.gather(part["a"]).to_list(),
                index.keys.gather(part["b"]).to_list(),
                strict=True,
            )
        )
        answers = score(asked)
        if len(answers) != len(asked):
            raise ValueError(f"scorer returned {len(answers)} probabilities for {len(asked)} pairs")
        # A pair the model cannot score (NaN, None) is no evidence for a match.
        found.append(pl.Series("p", list(answers), dtype=pl.Float64, strict=False))
    missing = missing.with_columns(pl.concat(found)).select("g", "a", "b", q=_quantize(pl.col("p")))
    return pl.concat([pairs, missing.select(pairs.columns)]), missing.height


def _linkage_rounds(
    pairs: pl.DataFrame, *, group: pl.Series, threshold: float, rounds: int = _ROUNDS
) -> tuple[pl.Series, pl.Series]:
    """Run average linkage on groups without user merges, all groups at once, in polars.

    Each round makes, in every group at once, the merge the heap would make next: the
    highest linkage at or above the threshold, ties to the smallest keys. One merge per group
    and round keeps the two paths identical even on exactly tied linkages (merging several
    mutual best pairs per round, as reducibility allows, would break such ties by keys the
    heap had already changed); most groups need a handful of merges, and those needing more
    than `rounds` are left to the heap. Per-group maxima and minima are scattered into
    position-long columns and read back by gather, which costs far less than joins.

    Returns:
        The cluster (smallest position) of every position, and the unfinished groups.
    """
    n = len(group)
    spread = pairs.group_by("g").agg(lo=pl.col("q").min() / _SCALE, hi=pl.col("q").max() / _SCALE)
    # When every pair clears the threshold so does every mean of them: one cluster, no rounds.
    whole = _full(n, False).scatter(spread.filter(pl.col("lo") >= threshold)["g"], True)
    cluster = group.zip_with(whole.gather(group), _positions(n))
    live = _full(n, False).scatter(
        spread.filter((pl.col("lo") < threshold) & (pl.col("hi") >= threshold))["g"], True
    )
    table = pairs.filter(live.gather(pairs["g"])).select(
        "g", x="a", y="b", s="q", k=pl.lit(1, dtype=pl.Int64)
    )  # per cluster pair: summed probabilities s over k known record pairs
    for _ in range(rounds):
        table = table.with_columns(link=pl.col("s") / pl.col("k") / _SCALE)
        linked = table.filter(pl.col("link") >= threshold)
        if linked.is_empty():
            return cluster, linked["g"]
        table = table.filter(_full(n, False).scatter(linked["g"], True).gather(table["g"]))
        # The heap's next merge in each group: highest linkage, then smallest keys.
        level = _per_position(n, linked["g"], linked["link"], "max", 2.0)
        best = linked.filter(pl.col("link") == level.gather(linked["g"]))
        first = _per_position(n, best["g"], best["x"], "min", n)
        best = best.filter(pl.col("x") == first.gather(best["g"]))
        second = _per_position(n, best["g"], best["y"], "min", n)
        best = best.filter(pl.col("y") == second.gather(best["g"]))
        renamed = _positions(n).scatter(best["y"], best["x"])
        touched = _full(n, False).scatter(best["x"], True).scatter(best["y"], True)
        hit = touched.gather(table["x"]) | touched.gather(table["y"])
        moved = table.filter(hit)
        moved = (
            pl.DataFrame(
                {
                    "g": moved["g"],
                    "s": moved["s"],
                    "k": moved["k"],
                    "x": renamed.gather(moved["x"]),
                    "y": renamed.gather(moved["y"]),
                }
            )
            .filter(pl.col("x") != pl.col("y"))
            .select("g", "s", "k", x=pl.min_horizontal("x", "y"), y=pl.max_horizontal("x", "y"))
            .group_by(key=pl.col("x") * n + pl.col("y"))
            .agg(
                pl.col("g").first(),
                pl.col("x").first(),
                pl.col("y").first(),
                pl.col("s").sum(),
                pl.col("k").sum(),
            )
        )
        table = pl.concat([table.filter(~hit).select(_TABLE), moved.select(_TABLE)])
        cluster = renamed.gather(cluster)
    table = table.with_columns(link=pl.col("s") / pl.col("k") / _SCALE)
    return cluster, table.filter(pl.col("link") >= threshold)["g"].unique()


def _per_position(
    n: int, where: pl.Series, values: pl.Series, how: Literal["max", "min"], fill: int | float
) -> pl.Series:
    """Return an n-long column with the max or min of `values` at each position in `where`."""
    frame = pl.DataFrame({"w": where, "v": values})
    reduced = frame.group_by("w").agg(pl.col("v").max() if how == "max" else pl.col("v").min())
    return _full(n, fill).scatter(reduced["w"], reduced["v"])


def _broken(
    cluster: pl.Series,
    group: pl.Series,
    cannot: pl.DataFrame,
    identifiers: Mapping[int, Mapping[str, str | None]],
    caps: Mapping[str, int],
    key_list: list[int],
) -> pl.Series:
    """Return the groups whose bulk clusters join a user split or exceed an identifier cap."""
    split = cannot.filter(cluster.gather(cannot["a"]) == cluster.gather(cannot["b"]))["g"]
    if not caps:
        return split
    # A record holds one value per identifier, so clusters no bigger than every cap are safe.
    joined = cluster != _positions(len(cluster))
    sizes = pl.DataFrame({"c": cluster.filter(joined)}).group_by("c").agg(size=pl.len() + 1)
    big = _full(len(cluster), False).scatter(
        sizes.filter(pl.col("size") > min(caps.values()))["c"], True
    )
    inside = big.gather(cluster)
    risky = pl.DataFrame(
        {"c": cluster.filter(inside), "i": _positions(len(cluster)).filter(inside)}
    ).sort("c", "i")
    over: list[int] = []
    rows = zip(risky["c"].to_list(), risky["i"].to_list(), strict=True)
    for c, members in itertools.groupby(rows, key=itemgetter(0)):
        records = [identifiers.get(key_list[i], {}) for _, i in members]
        if any(len({r.get(kind) for r in records} - {None}) > cap for kind, cap in caps.items()):
            over.append(group[c])
    return pl.concat([split, pl.Series("g", over, dtype=pl.Int64)])


def _mean_within(pairs: pl.DataFrame, cluster: pl.Series) -> pl.Series:
    """Return each record's mean probability to the rest of its cluster (1.0 alone)."""
    same = pairs.filter(cluster.gather(pairs["a"]) == cluster.gather(pairs["b"]))
    ends = pl.concat([same.select("q", i="a"), same.select("q", i="b")])
    mean = ends.group_by("i").agg(p=(pl.col("q").sum() / pl.len() / _SCALE).round(9))
    return _full(len(cluster), 1.0).scatter(mean["i"], mean["p"])


def _rows_by_group(frame: pl.DataFrame, *columns: str) -> dict[int, list[tuple[Any, ...]]]:
    """Collect the rows of a frame sorted by g into Python tuples per group."""
    rows = list(zip(*(frame[c].to_list() for c in columns), strict=True))
    runs = frame["g"].rle().struct.unnest()
    out: dict[int, list[tuple[Any, ...]]] = {}
    start = 0
    for length, g in zip(runs["len"].to_list(), runs["value"].to_list(), strict=True):
        out[g] = rows[start : start + length]
        start += length
    return out


def _agglomerate_groups(
    groups: pl.Series,
    *,
    group: pl.Series,
    pairs: pl.DataFrame,
    must: pl.DataFrame,
    cannot: pl.DataFrame,
    key_list: list[int],
    identifiers: Mapping[int, Mapping[str, str | None]],
    caps: Mapping[str, int],
    threshold: float,
    refused: Counter[str],
) -> pl.DataFrame:
    """Run average linkage with a heap on each group the bulk path could not settle."""
    wanted = _full(len(group), False).scatter(groups, True)

    def pick(frame: pl.DataFrame, *order: str) -> pl.DataFrame:
        """Keep the rows of the wanted groups, in a fixed order."""
        return frame.filter(wanted.gather(frame["g"])).sort("g", *order)

    inside = wanted.gather(group)
    nodes = pl.DataFrame({"g": group.filter(inside), "i": _positions(len(group)).filter(inside)})
    members = _rows_by_group(nodes.sort("g", "i"), "i")
    scored = _rows_by_group(pick(pairs, "a", "b"), "a", "b", "q")
    merges = _rows_by_group(pick(must, "a", "b"), "a", "b")
    splits = _rows_by_group(pick(cannot, "a", "b"), "a", "b")
    records: list[int] = []
    clusters: list[int] = []
    for g, rows in members.items():
        values = {i: _values(identifiers.get(key_list[i], {}), caps) for (i,) in rows}
        cluster = _agglomerate(
            [i for (i,) in rows],
            scored.get(g, []),
            must=merges.get(g, []),
            cannot=splits.get(g, []),
            values=values,
            caps=caps,
            threshold=threshold,
            refused=refused,
        )
        records.extend(cluster)
        clusters.extend(cluster.values())
    return pl.DataFrame({"i": records, "c": clusters}, schema={"i": pl.Int64, "c": pl.Int64})


def _values(record: Mapping[str, str | None], caps: Mapping[str, int]) -> dict[str, set[str]]:
    """Return the capped identifiers a record holds."""
    found = {kind: {value} for kind in caps if (value := record.get(kind)) is not None}
    return found or _NO_VALUES


class _Cluster:
    """A cluster during agglomeration, with its summed links to neighbouring clusters."""

    __slots__ = ("cannot", "key", "links", "members", "serial", "values")

    def __init__(
        self,
        key: int,
        serial: int,
        members: list[int],
        values: dict[str, set[str]],
        cannot: set[int],
    ) -> None:
        self.key = key  # smallest member: names the cluster and breaks ties
        self.serial = serial  # unique per cluster version, so stale heap entries are spotted
        self.members = members
        self.values = values
        self.cannot = cannot  # records this cluster must never contain
        self.links: dict[_Cluster, list[int]] = {}  # neighbour -> [sum of q, count] over pairs


def _agglomerate(
    members: list[int],
    pairs: list[tuple[Any, ...]],
    *,
    must: list[tuple[Any, ...]],
    cannot: list[tuple[Any, ...]],
    values: dict[int, dict[str, set[str]]],
    caps: Mapping[str, int],
    threshold: float,
    refused: Counter[str],
) -> dict[int, int]:
    """Return record -> cluster key after average linkage within one candidate group.

    Linkage is the sum over known pairs divided by their count: in a rescored group every
    pair is known, so that is the mean over all pairs; elsewhere unknown pairs are skipped.
    A heap with lazy invalidation finds the best merge, ties going to the smallest keys.
    """
    serials = itertools.count()
    forbidden: dict[int, set[int]] = defaultdict(set)
    for a, b in cannot:
        forbidden[a].add(b)
        forbidden[b].add(a)
    owner = {
        i: _Cluster(i, next(serials), [i], values.get(i, _NO_VALUES), forbidden.get(i, _NOBODY))
        for i in members
    }
    for a, b in must:
        left, right = owner[a], owner[b]
        if left is right:
            continue
        if _refusal(left, right, {}) is not None:
            refused["cannot_link"] += 1
            continue
        node = _merge(left, right, next(serials))
        for i in node.members:
            owner[i] = node

    for a, b, q in pairs:
        left, right = owner[a], owner[b]
        if left is right:
            continue
        cell = left.links.get(right)
        if cell is None:
            cell = left.links[right] = right.links[left] = [0, 0]
        cell[0] += q
        cell[1] += 1

    alive = {c.key: c for c in owner.values()}
    # Linkage as the bulk path computes it (exact integer sum over count, then the scale), so
    # both paths rank merges alike. Links below the threshold never enter the heap.
    heap = [
        _entry(c, other, linkage)
        for c in alive.values()
        for other, (total, count) in c.links.items()
        if c.key < other.key and (linkage := total / count / _SCALE) >= threshold
    ]
    heapq.heapify(heap)
    while heap:
        _, ka, kb, sa, sb = heapq.heappop(heap)
        left_or_none, right_or_none = alive.get(ka), alive.get(kb)
        if left_or_none is None or right_or_none is None:
            continue
        left, right = left_or_none, right_or_none
        if left.serial != sa or right.serial != sb:
            continue
        reason = _refusal(left, right, caps)
        if reason is not None:
            refused[reason] += 1
            continue
        node = _merge(left, right, next(serials))
        del alive[ka], alive[kb]
        alive[node.key] = node
        for other, (total, count) in node.links.items():
            if (linkage := total / count / _SCALE) >= threshold:
                heapq.heappush(heap, _entry(node, other, linkage))
    return {i: c.key for c in alive.values() for i in c.members}


def _entry(one: _Cluster, two: _Cluster, linkage: float) -> tuple[float, int, int, int, int]:
    """Return the heap entry for merging two clusters: best linkage, then smallest keys."""
    lo, hi = (one, two) if one.key < two.key else (two, one)
    return (-linkage, lo.key, hi.key, lo.serial, hi.serial)


def _refusal(one: _Cluster, two: _Cluster, caps: Mapping[str, int]) -> str | None:
    """Return why the two clusters must stay apart, or None if they may merge."""
    if one.cannot and not one.cannot.isdisjoint(two.members):
        return "cannot_link"
    for kind, cap in caps.items():
        mine, theirs = one.values.get(kind), two.values.get(kind)
        if mine and theirs:
            merged = len(mine | theirs)
            # Only a merge that adds values counts: a user merge may already exceed the cap.
            if merged > cap and merged > max(len(mine), len(theirs)):
                return f"cap:{kind}"
    return None


def _merge(one: _Cluster, two: _Cluster, serial: int) -> _Cluster:
    """Return the union of two clusters, summing their links to every neighbour."""
    # Sets are shared, never changed in place: fewer allocations, fewer GC passes.
    values = dict(one.values)
    for kind, theirs in two.values.items():
        values[kind] = values[kind] | theirs if kind in values else theirs
    cannot = one.cannot | two.cannot if one.cannot and two.cannot else one.cannot or two.cannot
    node = _Cluster(min(one.key, two.key), serial, one.members + two.members, values, cannot)
    for old in (one, two):
        for other, cell in old.links.items():
            if other is one or other is two:
                continue
            del other.links[old]
            mine = node.links.get(other)
            if mine is None:
                node.links[other] = [cell[0], cell[1]]
            else:
                mine[0] += cell[0]
                mine[1] += cell[1]
    for other, cell in node.links.items():
        other.links[node] = cell
    return node
