"""Clustering scored pairs into people: average linkage resists the chains components make.

Every case asserts exact clusters. The bulk (polars) path and the heap path must give what a
naive reference implementation of the same rules gives, so a randomized test compares them.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import polars as pl
import pytest

from rolodex.exceptions import ConfigError
from rolodex.resolve.cluster import ClusterResult, ClusterSettings, PairScorer, cluster_records

SETTINGS = ClusterSettings()
Edge = tuple[int, int, float]


class Scorer:
    """A model stand-in: probabilities from a table, a default for the rest; counts calls."""

    def __init__(self, table: Mapping[tuple[int, int], float], *, default: float = 0.05) -> None:
        self.table = {(min(a, b), max(a, b)): p for (a, b), p in table.items()}
        self.default = default
        self.calls: list[list[tuple[int, int]]] = []

    def __call__(self, pairs: Sequence[tuple[int, int]]) -> list[float]:
        self.calls.append(list(pairs))
        return [self.table.get((min(a, b), max(a, b)), self.default) for a, b in pairs]

    @property
    def asked(self) -> set[tuple[int, int]]:
        """Return every pair asked for, smaller id first."""
        return {(min(a, b), max(a, b)) for call in self.calls for a, b in call}


def clusters(result: ClusterResult) -> list[list[int]]:
    """Return the clusters as sorted lists, sorted by their smallest record."""
    members: dict[int, list[int]] = {}
    for record, cluster in sorted(result.cluster_of.items()):
        members.setdefault(cluster, []).append(record)
    return sorted(members.values())


def run(
    ids: Iterable[int],
    edges: Iterable[Edge],
    *,
    settings: ClusterSettings = SETTINGS,
    score: PairScorer | None = None,
    identifiers: Mapping[int, Mapping[str, str | None]] | None = None,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> ClusterResult:
    """Cluster with default settings, so each test names only what it is about."""
    return cluster_records(
        list(ids),
        list(edges),
        settings=settings,
        score=score,
        identifiers=identifiers,
        must_link=must_link,
        cannot_link=cannot_link,
    )


# --- chaining, households, completion ---------------------------------------------------------


def test_a_chain_of_strong_links_does_not_join_two_people() -> None:
    a, b, c, d = 1, 2, 3, 4
    scorer = Scorer({(a, c): 0.1, (a, d): 0.05, (b, d): 0.1})
    result = run([a, b, c, d], [(a, b, 0.99), (b, c, 0.95), (c, d, 0.99)], score=scorer)
    assert clusters(result) == [[a, b], [c, d]]
    assert scorer.asked == {(a, c), (a, d), (b, d)}
    assert len(scorer.calls) == 1
    assert result.rescored_pairs == 3
    assert result.groups == 1


def test_a_household_sharing_address_and_phone_stays_two_people() -> None:
    ann, ann_shop, bob, bob_shop = 10, 11, 20, 21
    edges = [
        (ann, ann_shop, 0.98),
        (bob, bob_shop, 0.97),
        (ann_shop, bob, 0.93),  # same phone, same surname, same street: looks like a match
        (ann, bob, 0.6),
    ]
    scorer = Scorer({(ann, bob_shop): 0.1, (ann_shop, bob_shop): 0.15})
    result = run([ann, ann_shop, bob, bob_shop], edges, score=scorer)
    assert clusters(result) == [[ann, ann_shop], [bob, bob_shop]]
    assert result.probability[ann] == pytest.approx(0.98)


def test_a_person_whose_records_blocking_only_chained_is_completed_by_rescoring() -> None:
    scorer = Scorer({(1, 3): 0.95, (1, 4): 0.93, (2, 4): 0.96})
    result = run([1, 2, 3, 4, 5], [(1, 2, 0.97), (2, 3, 0.96), (3, 4, 0.95)], score=scorer)
    assert clusters(result) == [[1, 2, 3, 4], [5]]
    assert scorer.asked == {(1, 3), (1, 4), (2, 4)}
    assert result.probability[1] == pytest.approx((0.97 + 0.95 + 0.93) / 3)
    assert result.probability[5] == 1.0


def test_without_a_scorer_linkage_averages_the_known_pairs() -> None:
    result = run([1, 2, 3], [(1, 2, 0.97), (2, 3, 0.95)])
    assert clusters(result) == [[1, 2, 3]]
    assert result.rescored_pairs == 0


def test_a_weak_pair_below_the_threshold_does_not_merge() -> None:
    result = run([1, 2, 3], [(1, 2, 0.89), (2, 3, 0.2)], score=Scorer({}))
    assert clusters(result) == [[1], [2], [3]]


# --- user merges and splits -------------------------------------------------------------------


def test_cannot_link_keeps_two_strongly_linked_records_apart() -> None:
    result = run([1, 2], [(1, 2, 0.99)], cannot_link=[(2, 1)])
    assert clusters(result) == [[1], [2]]
    assert result.refused == {"cannot_link": 1}


def test_cannot_link_lets_a_third_record_join_the_better_side() -> None:
    scorer = Scorer({(1, 3): 0.97})
    result = run([1, 2, 3], [(1, 2, 0.99), (2, 3, 0.98)], score=scorer, cannot_link=[(1, 3)])
    assert clusters(result) == [[1, 2], [3]]
    assert result.refused == {"cannot_link": 1}


def test_must_link_joins_records_below_the_threshold_and_without_any_pair() -> None:
    result = run(
        [1, 2, 3, 4],
        [(1, 2, 0.4)],
        score=Scorer({(3, 4): 0.02}),
        must_link=[(1, 2), (4, 3)],
    )
    assert clusters(result) == [[1, 2], [3, 4]]
    assert result.probability[1] == pytest.approx(0.4)
    assert result.refused == {}


def test_must_link_records_still_attract_others_by_average_linkage() -> None:
    scorer = Scorer({(1, 3): 0.95, (2, 3): 0.96})
    result = run([1, 2, 3], [(1, 3, 0.95)], score=scorer, must_link=[(1, 2)])
    assert clusters(result) == [[1, 2, 3]]


def test_cannot_link_wins_over_must_link_and_is_counted() -> None:
    result = run([1, 2], [(1, 2, 0.99)], must_link=[(1, 2)], cannot_link=[(1, 2)])
    assert clusters(result) == [[1], [2]]
    assert result.refused == {"cannot_link": 2}  # the user merge, then the model's merge


# --- identifier caps --------------------------------------------------------------------------


def test_a_merge_that_would_hold_five_distinct_emails_is_refused() -> None:
    ids = [1, 2, 3, 4, 5]
    edges = [(a, b, 0.99) for a, b in itertools.combinations(ids, 2)]
    emails = {i: {"email": f"p{i}@example.com", "phone": None} for i in ids}
    result = run(ids, edges, identifiers=emails)
    assert clusters(result) == [[1, 2, 3, 4], [5]]
    assert result.refused == {"cap:email": 1}


def test_caps_count_distinct_values_and_ignore_missing_ones() -> None:
    ids = [1, 2, 3, 4, 5, 6]
    edges = [(a, b, 0.99) for a, b in itertools.combinations(ids, 2)]
    records: dict[int, dict[str, str | None]] = {
        i: {"email": f"p{i % 2}@example.com", "phone": None if i % 3 else "+4420"} for i in ids
    }
    result = run(ids, edges, identifiers=records)
    assert clusters(result) == [ids]
    assert result.refused == {}


def test_caps_follow_the_settings_and_need_identifiers() -> None:
    ids = [1, 2, 3]
    edges = [(a, b, 0.99) for a, b in itertools.combinations(ids, 2)]
    phones = {i: {"phone": f"+44{i}"} for i in ids}
    strict = ClusterSettings(max_identifiers={"phone": 2})
    assert clusters(run(ids, edges, settings=strict, identifiers=phones)) == [[1, 2], [3]]
    assert clusters(run(ids, edges, settings=strict)) == [ids]


# --- large groups -----------------------------------------------------------------------------


def test_groups_over_max_group_are_not_rescored() -> None:
    big = [(i, i + 1, 0.97) for i in range(1, 6)]  # six records chained: 1..6
    small = [(10, 11, 0.97), (11, 12, 0.97)]  # three records, pair (10, 12) missing
    scorer = Scorer({(10, 12): 0.96})
    settings = ClusterSettings(max_group=3)
    result = run([*range(1, 7), 10, 11, 12], big + small, settings=settings, score=scorer)
    assert len(scorer.calls) == 1
    assert scorer.asked == {(10, 12)}
    assert result.rescored_pairs == 1
    # Unrescored, the big group links on its known pairs only, so its chain holds.
    assert clusters(result) == [[1, 2, 3, 4, 5, 6], [10, 11, 12]]


def test_a_large_group_links_only_on_the_pairs_it_has() -> None:
    edges = [(1, 2, 0.99), (2, 3, 0.5), (3, 4, 0.99)]
    settings = ClusterSettings(max_group=2)
    scorer = Scorer({}, default=0.99)
    result = run([1, 2, 3, 4], edges, settings=settings, score=scorer)
    assert scorer.calls == []
    assert clusters(result) == [[1, 2], [3, 4]]


# --- input handling ---------------------------------------------------------------------------


def test_records_without_pairs_are_clusters_of_one() -> None:
    result = run([7, 3, 5, 3], [])
    assert result.cluster_of == {3: 3, 5: 5, 7: 7}
    assert result.probability == {3: 1.0, 5: 1.0, 7: 1.0}
    assert result.groups == 0


def test_duplicate_and_reversed_pairs_keep_the_highest_probability() -> None:
    edges = [(1, 2, 0.3), (2, 1, 0.95), (1, 2, 0.5), (2, 2, 1.0), (3, 2, 0.1)]
    result = run([1, 2, 3], edges)
    assert clusters(result) == [[1, 2], [3]]
    assert result.probability[2] == pytest.approx(0.95)


def test_large_and_sparse_ids_work_as_well_as_dense_ones() -> None:
    big = 10**15
    result = run([big, 5, big + 7], [(big + 7, big, 0.99), (5, big, 0.1)])
    assert result.cluster_of == {5: 5, big: big, big + 7: big}


def test_edges_may_come_as_a_polars_frame() -> None:
    frame = pl.DataFrame({"left": [1, 3], "right": [2, 2], "probability": [0.99, 0.2]})
    result = cluster_records([1, 2, 3], frame, settings=SETTINGS)
    assert clusters(result) == [[1, 2], [3]]


@pytest.mark.parametrize(
    ("edges", "must_link"),
    [([(1, 9, 0.9)], []), ([], [(1, 9)])],
    ids=["edge", "must_link"],
)
def test_pairs_naming_unknown_records_are_rejected(
    edges: list[Edge], must_link: list[tuple[int, int]]
) -> None:
    with pytest.raises(ValueError, match=r"not in ids, e\.g\. 9"):
        run([1, 2], edges, must_link=must_link)


def test_a_scorer_answering_the_wrong_number_of_pairs_is_rejected() -> None:
    with pytest.raises(ValueError, match="scorer returned 0 probabilities for 1 pairs"):
        run([1, 2, 3], [(1, 2, 0.9), (2, 3, 0.9)], score=lambda pairs: [])


def test_unscorable_pairs_count_as_no_match() -> None:
    result = run(
        [1, 2, 3], [(1, 2, 0.99), (2, 3, 0.99)], score=lambda pairs: [float("nan")] * len(pairs)
    )
    assert clusters(result) == [[1, 2], [3]]


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"max_group": 1},
        {"candidate": 0.95},
        {"max_identifiers": {"email": 0}},
    ],
)
def test_settings_out_of_range_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ClusterSettings(**bad)  # type: ignore[arg-type]


# --- determinism and agreement with a reference -----------------------------------------------


TIE_VALUES = (0.0, 0.1, 0.3, 0.5, 0.85, 0.9, 0.95, 0.97, 0.99, 1.0)


def random_case(
    rng: random.Random, n: int, *, ties: bool = False
) -> tuple[list[int], list[Edge], dict[tuple[int, int], float], dict[int, dict[str, str | None]]]:
    """Build people of one to six records, with noise links, missing pairs and emails.

    With `ties`, probabilities come from a few round values, so equal linkages abound.
    """

    def draw(low: float, high: float) -> float:
        if ties:
            return rng.choice([v for v in TIE_VALUES if low <= v <= high])
        return rng.uniform(low, high)

    ids = rng.sample(range(1, 10 * n), n)
    edges: list[Edge] = []
    truth: dict[tuple[int, int], float] = {}
    emails: dict[int, dict[str, str | None]] = {}
    start = 0
    while start < n:
        size = rng.choice([1, 1, 2, 2, 3, 4, 5, 6])
        person = ids[start : start + size]
        start += size
        for record in person:
            emails[record] = {
                "email": f"{person[0]}.{rng.randrange(3)}" if rng.random() < 0.8 else None
            }
        for a, b in itertools.combinations(person, 2):
            p = draw(0.85, 1.0) if rng.random() < 0.85 else draw(0.3, 0.9)
            truth[(min(a, b), max(a, b))] = p
            if rng.random() < 0.7:
                edges.append((a, b, p))
    for _ in range(n // 2):  # blocking noise: mostly clear non-matches, some namesakes
        a, b = rng.sample(ids, 2)
        p = draw(0.3, 0.97) if rng.random() < 0.1 else draw(0.0, 0.25)
        truth.setdefault((min(a, b), max(a, b)), p)
        edges.append((a, b, p))
    return ids, edges, truth, emails


def fixed(probability: float) -> int:
    """Return a probability in units of 2**-32."""
    return round(probability * 2**32)


def reference(
    ids: list[int],
    edges: list[Edge],
    *,
    settings: ClusterSettings,
    score: Scorer | None,
    identifiers: Mapping[int, Mapping[str, str | None]] | None,
    must_link: list[tuple[int, int]],
    cannot_link: list[tuple[int, int]],
) -> tuple[dict[int, int], Counter[str]]:
    """Cluster by the documented rules, naively: one best merge at a time over all clusters.

    Probabilities are compared in the engine's fixed point (units of 2**-32, threshold less
    1e-9), so that exact ties, which the tie-heavy cases make common, break the same way.
    """
    known: dict[frozenset[int], int] = {}
    for a, b, p in edges:
        if a != b:
            key = frozenset((a, b))
            known[key] = max(fixed(p), known.get(key, 0))
    parent = {i: i for i in ids}

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    bound = fixed(settings.candidate_bound)
    links = [(a, b) for a, b, p in edges if fixed(p) >= bound] + must_link
    for a, b in links:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in sorted(ids):
        groups.setdefault(find(i), []).append(i)

    forbidden = {frozenset(pair) for pair in cannot_link}
    caps = dict(settings.max_identifiers) if identifiers is not None else {}
    refused: Counter[str] = Counter()
    cluster_of: dict[int, int] = {}
    for members in groups.values():
        pairs = {k: p for k, p in known.items() if k <= set(members)}
        if score is not None and len(members) <= settings.max_group:
            for a, b in itertools.combinations(members, 2):
                pairs.setdefault(frozenset((a, b)), fixed(score([(a, b)])[0]))

        def refusal(one: frozenset[int], two: frozenset[int]) -> str | None:
            if any(frozenset((a, b)) in forbidden for a in one for b in two):
                return "cannot_link"
            for kind, cap in caps.items():
                assert identifiers is not None
                values = [
                    {v for r in side if (v := identifiers.get(r, {}).get(kind)) is not None}
                    for side in (one, two)
                ]
                merged = len(values[0] | values[1])
                if merged > cap and merged > max(len(values[0]), len(values[1])):
                    return f"cap:{kind}"
            return None

        current = [frozenset([i]) for i in members]
        inside = {(min(a, b), max(a, b)) for a, b in must_link if {a, b} <= set(members)}
        for a, b in sorted(inside):
            one = next(c for c in current if a in c)
            two = next(c for c in current if b in c)
            if one == two:
                continue
            if refusal(one, two) == "cannot_link":
                refused["cannot_link"] += 1
                continue
            current = [c for c in current if c not in (one, two)] + [one | two]

        tried: set[frozenset[frozenset[int]]] = set()
        while True:
            options = []
            for one, two in itertools.combinations(current, 2):
                values = [pairs[k] for a in one for b in two if (k := frozenset((a, b))) in pairs]
                if values and frozenset((one, two)) not in tried:
                    linkage = sum(values) / len(values) / 2**32
                    first, second = sorted((one, two), key=min)
                    options.append((-linkage, min(first), min(second), first, second))
            options.sort(key=lambda option: option[:3])
            if not options or -options[0][0] < settings.threshold - 1e-9:
                break
            _, _, _, one, two = options[0]
            reason = refusal(one, two)
            if reason is not None:
                refused[reason] += 1
                tried.add(frozenset((one, two)))
                continue
            current = [c for c in current if c not in (one, two)] + [one | two]
        for c in current:
            for i in c:
                cluster_of[i] = min(c)
    return cluster_of, refused


def sample_pairs(rng: random.Random, pool: Sequence[int], count: int) -> list[tuple[int, int]]:
    """Return random pairs of distinct records."""
    return [(a, b) for a, b in (rng.sample(pool, 2) for _ in range(count))]


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("seed", range(40))
def test_bulk_and_heap_paths_agree_with_a_naive_reference(seed: int, ties: bool) -> None:
    rng = random.Random(seed)
    ids, edges, truth, emails = random_case(rng, rng.choice([60, 150, 300]), ties=ties)
    # Split some true pairs and join some strangers, so constraints land inside groups.
    extra_must, extra_cannot = rng.choice([(0, 0), (3, 3), (0, 10)])
    must = sample_pairs(rng, ids, extra_must) + rng.sample(sorted(truth), extra_must)
    cannot = sample_pairs(rng, ids, extra_cannot) + rng.sample(sorted(truth), extra_cannot)
    settings = ClusterSettings(
        threshold=rng.choice([0.5, 0.8, 0.9, 0.95]),
        max_group=rng.choice([3, 5, 300]),
        max_identifiers={"email": rng.choice([1, 2, 3])},
    )
    identifiers = emails if rng.random() < 0.6 else None
    rescore = rng.random() < 0.8
    result = run(
        ids,
        edges,
        settings=settings,
        score=Scorer(truth) if rescore else None,
        identifiers=identifiers,
        must_link=must,
        cannot_link=cannot,
    )
    expected, refused = reference(
        ids,
        edges,
        settings=settings,
        score=Scorer(truth) if rescore else None,
        identifiers=identifiers,
        must_link=must,
        cannot_link=cannot,
    )
    assert result.cluster_of == expected
    assert result.refused == dict(sorted(refused.items()))


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        # After 2+5, three merges tie at 0.95. Taking 1+4 first (smallest ids) names that
        # cluster 1, which then wins 3's tie against 2+5. Making every merge of the top level
        # at once would have sent 3 to 2+5.
        (
            [
                (2, 5, 0.99),
                (1, 4, 0.95),
                (2, 3, 0.95),
                (3, 4, 0.95),
                (2, 4, 0.85),
                (1, 5, 0.85),
                (4, 5, 0.5),
            ],
            [[1, 3, 4], [2, 5]],
        ),
        # 3 ties between 4 and 5. Once 1+5 merges first (0.99), 5's cluster is named 1 and
        # wins. Merging every pair of mutual best partners at once (3+4 at 0.95 alongside
        # 1+5) would have paired 3 with 4.
        (
            [(1, 5, 0.99), (3, 5, 0.95), (3, 4, 0.95), (4, 5, 0.5), (1, 4, 0.5)],
            [[1, 3, 5], [4]],
        ),
    ],
    ids=["same-level", "lower-level"],
)
def test_exact_ties_break_as_one_merge_at_a_time_breaks_them(
    edges: list[Edge], expected: list[list[int]]
) -> None:
    ids = sorted({r for a, b, _ in edges for r in (a, b)})
    assert clusters(run(ids, edges)) == expected


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_shuffled_and_reversed_edges_give_the_same_result(ties: bool) -> None:
    rng = random.Random(5)
    ids, edges, truth, emails = random_case(rng, 2000, ties=ties)
    cannot = rng.sample(sorted(truth), 40)
    must = rng.sample(sorted(truth), 20)
    first = run(
        ids, edges, score=Scorer(truth), identifiers=emails, must_link=must, cannot_link=cannot
    )
    shuffled = [(b, a, p) if rng.random() < 0.5 else (a, b, p) for a, b, p in edges]
    rng.shuffle(shuffled)
    rng.shuffle(ids)
    rng.shuffle(must)
    second = run(
        ids, shuffled, score=Scorer(truth), identifiers=emails, must_link=must, cannot_link=cannot
    )
    assert second == first
    assert len(set(first.cluster_of.values())) < 0.7 * len(ids)  # real merging happened
    assert first.refused


@pytest.mark.slow
def test_200k_records_every_one_placed_and_no_user_split_broken() -> None:
    rng = random.Random(11)
    ids, edges, truth, emails = random_case(rng, 200_000)
    cannot = rng.sample(sorted(truth), 5000)
    must = rng.sample(sorted(truth), 2000)
    result = run(
        ids, edges, score=Scorer(truth), identifiers=emails, must_link=must, cannot_link=cannot
    )
    assert result.cluster_of.keys() == set(ids)
    assert result.probability.keys() == set(ids)
    assert all(0.0 <= p <= 1.0 for p in result.probability.values())
    assert all(result.cluster_of[a] != result.cluster_of[b] for a, b in cannot)
    user_merged = {record for pair in must for record in pair}
    for members in clusters(result):
        assert result.cluster_of[members[0]] == members[0]
        if user_merged.isdisjoint(members):  # user merges may exceed a cap
            assert len({e for m in members if (e := emails[m]["email"]) is not None}) <= 4
