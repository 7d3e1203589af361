"""The bundled demo data and the benchmark data generator.

The sample files are generated; these tests pin what the demo and the matching-quality
tests rely on: the output is deterministic, the bundled copy is current, every row has its
answer in TRUTH.csv, people really overlap across sources, and the deliberate defects are
there. The benchmark generator's counts must match what is in its file, or benchmarks that
reconcile imported rows against them would blame the importer for the generator's mistakes.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import openpyxl
import pytest

from rolodex.sample import SAMPLE_SOURCES, sample_dir
from rolodex.sample import generate as sample

CONTACT_FILES = [s.file for s in SAMPLE_SOURCES if s.kind == "contacts"]
# How each CSV is written: encoding and delimiter.
CSV_FORMATS = {
    "shop_customers.csv": ("utf-8", ","),
    "shop_orders.csv": ("utf-8", ","),
    "newsletter.csv": ("utf-8", ","),
    "messe_kontakte.csv": ("cp1252", ";"),
    "support_tickets.csv": ("utf-8-sig", ","),
    "TRUTH.csv": ("utf-8", ","),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample data generated afresh with the default seed."""
    out = tmp_path_factory.mktemp("sample")
    sample.generate(out)
    return out


def read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, fields) for each data row, as an importer counts."""
    encoding, delimiter = CSV_FORMATS[path.name]
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader)
        start = reader.line_num + 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1


def truth_rows(folder: Path) -> dict[str, dict[int, str]]:
    """TRUTH.csv as file -> row -> person id."""
    truth: dict[str, dict[int, str]] = defaultdict(dict)
    for _, (file, row, _record_id, person) in read_csv(folder / "TRUTH.csv"):
        truth[file][int(row)] = person
    return truth


# ------------------------------------------------------------------ the bundled sample data


def test_sample_sources_name_the_generated_files() -> None:
    assert [s.file for s in SAMPLE_SOURCES] == list(sample.WRITERS)
    for source in SAMPLE_SOURCES:
        assert (sample_dir() / source.file).is_file()


def test_generation_is_byte_identical(generated: Path, tmp_path: Path) -> None:
    sample.generate(tmp_path)
    names = sorted(p.name for p in generated.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:  # the workbook included: its timestamps are fixed
        assert (generated / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_bundled_data_is_current(generated: Path) -> None:
    """Whoever changes the generator regenerates the data (python -m rolodex.sample.generate)."""
    for path in generated.iterdir():
        bundled = sample_dir() / path.name
        if path.suffix == ".xlsx":  # deflate output may differ between zlib builds
            assert sheet_values(bundled) == sheet_values(path)
        else:
            assert bundled.read_bytes() == path.read_bytes(), path.name


def sheet_values(path: Path) -> list[tuple[object, ...]]:
    """All cell values of the Leads sheet."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook["Leads"].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_sample_data_is_small() -> None:
    assert sum(p.stat().st_size for p in sample_dir().iterdir()) < 900_000


def test_row_counts(generated: Path) -> None:
    def rows(name: str) -> int:
        return sum(1 for _ in read_csv(generated / name))

    assert (
        rows("shop_customers.csv")
        == sample.B2C_PEOPLE + sample.B2B_IN_SHOP + sample.SHOP_DUPLICATES
    )
    assert rows("newsletter.csv") in range(320, 380)
    assert rows("messe_kontakte.csv") == 80
    assert rows("support_tickets.csv") == sample.TICKETS
    orders = {row[0] for _, row in read_csv(generated / "shop_orders.csv")}
    assert len(orders) in range(1200, 1700)
    assert len(sheet_values(generated / "sales_leads.xlsx")) - 1 == 200
    lines = (generated / "campaign_responses.ndjson").read_text("utf-8").splitlines()
    assert len(lines) in range(1400, 2200)


def test_truth_covers_every_row(generated: Path) -> None:
    truth = truth_rows(generated)
    for name in ("shop_customers.csv", "newsletter.csv", "messe_kontakte.csv"):
        assert set(truth[name]) == {line for line, _ in read_csv(generated / name)}, name
    assert set(truth["support_tickets.csv"]) == {
        line for line, _ in read_csv(generated / "support_tickets.csv")
    }
    first_lines: dict[str, int] = {}
    for line, row in read_csv(generated / "shop_orders.csv"):
        first_lines.setdefault(row[0], line)  # one entry per order, at its first line
    assert set(truth["shop_orders.csv"]) == set(first_lines.values())
    leads = len(sheet_values(generated / "sales_leads.xlsx"))
    assert set(truth["sales_leads.xlsx"]) == set(range(2, leads + 1))
    events = (generated / "campaign_responses.ndjson").read_text("utf-8").splitlines()
    assert set(truth["campaign_responses.ndjson"]) == set(range(1, len(events) + 1))


def test_people_overlap_across_contact_sources(generated: Path) -> None:
    truth = truth_rows(generated)
    sources: dict[str, set[str]] = defaultdict(set)
    for file in CONTACT_FILES:
        for person in truth[file].values():
            sources[person].add(file)
    assert sum(1 for files in sources.values() if len(files) >= 2) >= 150
    assert sum(1 for files in sources.values() if len(files) >= 3) >= 20


def test_same_person_appears_twice_inside_sources(generated: Path) -> None:
    truth = truth_rows(generated)
    for file in ("shop_customers.csv", "sales_leads.xlsx", "messe_kontakte.csv"):
        repeats = Counter(truth[file].values())
        assert sum(1 for count in repeats.values() if count > 1) >= 3, file


def test_each_csv_has_one_ragged_row(generated: Path) -> None:
    csvs = ("shop_customers.csv", "newsletter.csv", "messe_kontakte.csv", "support_tickets.csv")
    for name in csvs:
        encoding, delimiter = CSV_FORMATS[name]
        with (generated / name).open(encoding=encoding, newline="") as handle:
            width = len(next(csv.reader(handle, delimiter=delimiter)))
        ragged = [line for line, row in read_csv(generated / name) if len(row) != width]
        assert len(ragged) == 1, name


def test_defects_and_quirks_are_in_the_data(generated: Path) -> None:
    customers = [row for _, row in read_csv(generated / "shop_customers.csv")]
    assert sum(1 for row in customers if row[0] == "") == 1
    assert sum(1 for row in customers if len(row) > 15 and row[15] == "N/A") == 1
    assert any(row[3].endswith("@gmial.com") for row in customers)
    assert all(row[0].startswith("'") for row in customers if row[0])
    newsletter = (generated / "newsletter.csv").read_text("utf-8")
    assert "hotmial.com" in newsletter
    assert "02/30" in newsletter
    messe = (generated / "messe_kontakte.csv").read_bytes()
    assert "Straße".encode("cp1252") in messe
    assert b"?ukasz" in messe  # not in cp1252, replaced as a real export would
    assert (generated / "support_tickets.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    broken = 0
    for line in (generated / "campaign_responses.ndjson").read_text("utf-8").splitlines():
        try:
            json.loads(line)
        except json.JSONDecodeError:
            broken += 1
    assert broken == 1


def test_showcase_people_are_spelled_differently_across_sources(generated: Path) -> None:
    """Bob in the shop is Robert elsewhere: the nickname case the demo points at."""
    truth = truth_rows(generated)
    bob = next(p for p in sample.SHOWCASE if p.nickname == "Bob")
    pid = f"P{sample.SHOWCASE.index(bob) + 1:04d}"
    spellings = set()
    for name in ("shop_customers.csv", "newsletter.csv"):
        for line, row in read_csv(generated / name):
            if truth[name].get(line) == pid:
                spellings.add(row[1].strip().lower())
    assert spellings, "the showcase person is missing"
    assert spellings <= {"bob", "robert", "rob", "bobby", ""}


# ------------------------------------------------------------------ the benchmark generator


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/generate_contacts.py, which is a script rather than a package module."""
    path = Path(__file__).parents[1] / "benchmarks" / "generate_contacts.py"
    spec = importlib.util.spec_from_file_location("generate_contacts", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def count_problems(data: bytes, width: int) -> Counter[str]:
    """Count rows and structural problems in a benchmark CSV, independently of the generator."""
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    text = data.decode("utf-8", errors="surrogateescape")
    for row in list(csv.reader(io.StringIO(text, newline="")))[1:]:
        counts["rows"] += 1
        counts["ragged"] += len(row) != width
        counts["nul"] += any("\x00" in field for field in row)
        counts["cp1252_undecodable"] += any("\udc80" <= ch <= "\udcff" for f in row for ch in f)
        key = row[0].strip()
        if not key:
            counts["missing_id"] += 1
        elif key in seen:
            counts["duplicate_id"] += 1
        seen.add(key)
    return counts


def test_benchmark_counts_match_the_file(bench: ModuleType, tmp_path: Path) -> None:
    rates = bench.DirtRates(ragged=0.02, missing_id=0.01, duplicate_id=0.015, nul=0.005)
    path = tmp_path / "contacts.csv"
    stats = bench.generate(path, rows=2_000, seed=11, rates=rates)
    counts = count_problems(path.read_bytes(), len(bench.HEADER))
    assert counts["rows"] == stats.rows == 2_000
    assert counts["ragged"] == stats.ragged > 0
    assert counts["missing_id"] == stats.missing_id > 0
    assert counts["duplicate_id"] == stats.duplicate_id > 0
    assert counts["nul"] == stats.nul > 0
    assert path.read_bytes().count(b"\n") == stats.lines
    assert stats.file_bytes == path.stat().st_size


def test_benchmark_is_deterministic_and_prefix_stable(bench: ModuleType, tmp_path: Path) -> None:
    small, again, large, other = (tmp_path / f"{n}.csv" for n in ("small", "again", "large", "o"))
    bench.generate(small, rows=1_500, seed=3)
    bench.generate(again, rows=1_500, seed=3)
    bench.generate(large, rows=2_000, seed=3)
    bench.generate(other, rows=1_500, seed=4)
    assert small.read_bytes() == again.read_bytes()
    assert large.read_bytes().startswith(small.read_bytes())
    assert other.read_bytes() != small.read_bytes()


def test_benchmark_gzip_is_deterministic(bench: ModuleType, tmp_path: Path) -> None:
    plain, first, second = tmp_path / "p.csv", tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    bench.generate(plain, rows=1_000)
    bench.generate(first, rows=1_000, compress=True)
    bench.generate(second, rows=1_000, compress=True)
    assert first.read_bytes() == second.read_bytes()
    assert gzip.decompress(first.read_bytes()) == plain.read_bytes()


def test_benchmark_mixed_encodings(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    rates = bench.DirtRates(cp1252=0.05)
    stats = bench.generate(path, rows=2_000, seed=5, mixed_encodings=True, rates=rates)
    counts = count_problems(path.read_bytes(), len(bench.HEADER))
    assert stats.cp1252_rows > 0
    assert counts["cp1252_undecodable"] == stats.cp1252_undecodable > 0


def test_benchmark_other_encodings(bench: ModuleType, tmp_path: Path) -> None:
    for encoding in ("cp1252", "utf-16"):
        path = tmp_path / f"{encoding}.csv"
        stats = bench.generate(path, rows=500, encoding=encoding)
        text = path.read_bytes().decode(encoding)
        assert text.lstrip("\ufeff").startswith("Customer ID,First Name")
        assert sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) == stats.rows + 1
