"""The identity-resolution benchmark: its scoring on tiny hand-made cases, and its generator.

The scores decide whether a change to matching is kept, so they are pinned exactly here; the
generator must be reproducible, answer for every row, and contain the hard negatives the
benchmark exists to measure (strangers with one name, households, shared role mailboxes).
"""

from __future__ import annotations

import csv
import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """Load a benchmark script as a module (they are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and the sibling import look it up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    """benchmarks/generate_crm.py."""
    return _load("generate_crm")


@pytest.fixture(scope="module")
def acc(gen: ModuleType) -> ModuleType:
    """benchmarks/resolve_accuracy.py (imports generate_crm, loaded first)."""
    return _load("resolve_accuracy")


# ------------------------------------------------------------------------------ scoring

TRUTH = {
    ("s", "a"): "P1",
    ("s", "b"): "P1",
    ("t", "c"): "P1",
    ("t", "d"): "P2",
    ("s", "e"): "P2",
    ("t", "f"): "P3",
}


def test_pairwise_scores_on_a_hand_made_case(acc: ModuleType) -> None:
    # One cluster holds all of P1 and one record of P2; P2's other record and P3 stand alone.
    predicted = {("s", "a"): 1, ("s", "b"): 1, ("t", "c"): 1, ("t", "d"): 1, ("s", "e"): 2}
    scores = acc.score_pairs(predicted, TRUTH)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (4, 6, 3)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(0.75)
    assert scores.f1 == pytest.approx(0.6)


def test_cluster_scores_on_the_same_case(acc: ModuleType) -> None:
    predicted = {("s", "a"): 1, ("s", "b"): 1, ("t", "c"): 1, ("t", "d"): 1, ("s", "e"): 2}
    clusters = acc.score_clusters(predicted, TRUTH)
    # P1 is whole but shares its cluster, P2 is split, P3 (unlinked, so alone) is exact.
    assert clusters.true_clusters == 3
    assert clusters.predicted_clusters == 3
    assert clusters.whole_people == 2
    assert clusters.exact_people == 1
    assert clusters.exact_share == pytest.approx(1 / 3)
    assert (clusters.largest_predicted, clusters.largest_true) == (4, 3)


def test_perfect_and_empty_predictions(acc: ModuleType) -> None:
    perfect = acc.score_pairs(dict(TRUTH), TRUTH)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    assert acc.score_clusters(dict(TRUTH), TRUTH).exact_people == 3
    alone = acc.score_pairs({record: i for i, record in enumerate(TRUTH)}, TRUTH)
    assert alone.predicted_pairs == 0
    assert alone.precision is None  # nothing predicted: undefined, not perfect
    assert alone.recall == 0.0
    assert alone.f1 is None


def test_big_clusters_are_counted_from_sizes(acc: ModuleType) -> None:
    truth = {("s", str(i)): f"P{i // 2}" for i in range(20_000)}  # 10,000 true pairs
    predicted = dict.fromkeys(truth, "everyone")  # 199,990,000 predicted pairs
    started = time.perf_counter()
    scores = acc.score_pairs(predicted, truth)
    assert time.perf_counter() - started < 1
    assert scores.predicted_pairs == 20_000 * 19_999 // 2
    assert scores.correct_pairs == scores.true_pairs == 10_000
    assert scores.precision == pytest.approx(10_000 / 199_990_000)


def test_normalized_evidence(acc: ModuleType) -> None:
    assert acc.email_key(" J.Smith+shop@GoogleMail.com ") == "jsmith@gmail.com"
    assert acc.email_key("john.smith@web.de") == "john.smith@web.de"  # dots count elsewhere
    assert acc.email_key("not an email") is None
    assert acc.phone_key("+44 (0)20 7946 0123") == acc.phone_key("020 7946 0123") == "079460123"
    assert acc.phone_key("+33 6 12 34 56 78") == acc.phone_key("06.12.34.56.78")
    assert acc.phone_key("12 34") is None
    assert acc.fold_name("Müller") == acc.fold_name("Mueller") == acc.fold_name(" MULLER ")
    assert acc.fold_name("José") == acc.fold_name("jose")
    assert acc.split_full_name("Smith,  John") == ("John", "Smith")
    assert acc.split_full_name("José García López") == ("José", "García López")
    assert acc.postcode_key("01067") == acc.postcode_key("1067")
    assert acc.postcode_key("sw1a 1aa") == "SW1A1AA"


def test_recall_ceiling_joins_through_the_persons_own_records(acc: ModuleType) -> None:
    evidence = acc.Evidence
    truth = {("s", str(i)): "P1" for i in range(4)} | {("s", "x"): "P2"}
    records = {
        ("s", "0"): evidence(emails=("j.smith@gmail.com",)),
        ("s", "1"): evidence(emails=("JSmith@gmail.com",), phones=("+49 30 1234567",)),
        ("s", "2"): evidence(phones=("030/1234567",)),
        ("s", "3"): evidence(first_name="Bob", last_name="Smith"),  # shares nothing
        ("s", "x"): evidence(emails=("jsmith@gmail.com",), first_name="Bob", last_name="Smith"),
    }
    ceiling = acc.recall_ceiling(truth, records)
    # P1: records 0-1-2 are joined (email, then phone), 3 is not: 3 of 6 pairs. The stranger
    # sharing an email with 0 and a name with 3 joins nothing.
    assert (ceiling.true_pairs, ceiling.connected_pairs) == (6, 3)
    assert ceiling.share == pytest.approx(0.5)


def test_name_and_postcode_keys(acc: ModuleType) -> None:
    keys = acc.Evidence(first_name="Jürgen", last_name="Müller", postcode="01067").keys()
    assert keys == {"n:j|muller", "lp:muller|1067", "fp:jurgen|1067"}
    assert acc.Evidence(identifiers=("dob:19560409", "ssn:")).keys() == {"i:dob:19560409"}


def test_evidence_of_a_one_field_name(acc: ModuleType, gen: ModuleType) -> None:
    row = {"id": "1", "name": "García López, José", "email": "pepe@x.es", "phone": ""}
    found = acc.evidence_of(row, gen.ZENDESK)
    assert (found.first_name, found.last_name) == ("José", "García López")
    assert found.emails == ("pepe@x.es",)
    assert found.phones == ()


# ----------------------------------------------------------------------------- generator


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_generator_is_deterministic(gen: ModuleType, tmp_path: Path) -> None:
    first = gen.generate(300, 3, tmp_path / "a")
    again = gen.generate(300, 3, tmp_path / "b")
    other = gen.generate(300, 4, tmp_path / "c")
    assert first == again
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
    assert other["people"] == 300


@pytest.fixture(scope="module")
def crm(
    gen: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, object]]:
    """A small generated data set and its counts."""
    out = tmp_path_factory.mktemp("crm")
    return out, gen.generate(1_500, 11, out)


def _truth(out: Path) -> dict[tuple[str, str], str]:
    with (out / "truth.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    truth = {(r["source"], r["external_id"]): r["person_id"] for r in rows}
    assert len(truth) == len(rows), "a (source, external_id) appears twice in truth.csv"
    return truth


def test_truth_covers_every_row(gen: ModuleType, crm: tuple[Path, dict[str, object]]) -> None:
    out, counts = crm
    truth = _truth(out)
    seen = set()
    for spec in gen.SOURCES:
        rows = gen.read_rows(out, spec)
        assert list(rows[0]) == list(spec.header)
        ids = [row[spec.id_column] for row in rows]
        assert all(ids), f"{spec.file}: a row without an id"
        assert len(set(ids)) == len(ids), f"{spec.file}: duplicate ids"
        assert counts["records"][spec.name] == len(rows)  # type: ignore[index]
        seen |= {(spec.name, i) for i in ids}
    assert seen == set(truth)
    assert len(set(truth.values())) == counts["people"] == 1_500
    sizes: dict[str, int] = defaultdict(int)
    for person in truth.values():
        sizes[person] += 1
    assert sum(n * (n - 1) // 2 for n in sizes.values()) == counts["true_pairs"]


def test_hard_negatives_are_there(
    gen: ModuleType, acc: ModuleType, crm: tuple[Path, dict[str, object]]
) -> None:
    out, _ = crm
    truth = _truth(out)
    city_columns = ("City", "MailingCity", "Default Address City", "Ort")
    role_boxes = {box for c in gen.COUNTRIES.values() for box in c.role_boxes}
    names: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    mailboxes: dict[str, set[str]] = defaultdict(set)
    phones: dict[str, set[str]] = defaultdict(set)
    homes: dict[str, set[str]] = defaultdict(set)
    firsts: dict[str, set[str]] = defaultdict(set)
    lasts: dict[str, set[str]] = defaultdict(set)
    for spec in gen.SOURCES:
        for row in gen.read_rows(out, spec):
            person = truth[spec.name, row[spec.id_column]]
            found = acc.evidence_of(row, spec)
            first, last = acc.fold_name(found.first_name), acc.fold_name(found.last_name)
            firsts[person].add(first)
            lasts[person].add(last)
            city = next((row[c].strip().lower() for c in city_columns if row.get(c)), "")
            if first and last and city:
                names[first, last, city].add(person)
            for email in found.emails:
                key = acc.email_key(email)
                if key and key.split("@")[0] in role_boxes:
                    mailboxes[key].add(person)
            for phone in found.phones:
                if key := acc.phone_key(phone):
                    phones[key].add(person)
            if found.postcode:
                homes[person].add(acc.postcode_key(found.postcode))
    namesakes = [k for k, people in names.items() if len(people) > 1]
    shared_boxes = [k for k, people in mailboxes.items() if len(people) > 1]
    households = [
        (a, b)
        for people in phones.values()
        for a in people
        for b in people
        if a < b and homes[a] & homes[b] and lasts[a] & lasts[b] and not firsts[a] & firsts[b]
    ]
    assert namesakes, "no strangers with the same name in the same city"
    assert shared_boxes, "no role mailbox shared by colleagues"
    assert households, "no household sharing a landline and an address"
