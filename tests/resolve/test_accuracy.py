"""Resolve against ground truth: the seeded multi-source CRM generator of benchmarks/, small.

The benchmark (benchmarks/resolve_accuracy.py) measures the figures at size; this keeps a
floor under them in the test suite, so a change that breaks matching fails here.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rolodex.workspace import Workspace

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """Load a benchmark script as a module (they are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str], str]]:
    """Six source files of 600 people, and who is who."""
    out = tmp_path_factory.mktemp("crm")
    _load("generate_crm").generate(600, 11, out)
    with (out / "truth.csv").open(newline="", encoding="utf-8") as fh:
        truth = {(r["source"], r["external_id"]): r["person_id"] for r in csv.DictReader(fh)}
    return out, truth


def test_resolve_finds_people_across_sources(
    generated: tuple[Path, dict[tuple[str, str], str]], sqlite_url: str, tmp_path: Path
) -> None:
    folder, truth = generated
    scoring = _load("resolve_accuracy")
    with Workspace(sqlite_url, actor="test") as ws:
        ws.init()
        for spec in _load("generate_crm").SOURCES:
            ws.import_file(folder / spec.file, source=spec.name, kind="contacts")
        summary = ws.resolve()
        ws.export("links", tmp_path / "links.csv")
    with (tmp_path / "links.csv").open(newline="", encoding="utf-8") as fh:
        links = {(r["source"], r["external_id"]): r["contact_id"] for r in csv.DictReader(fh)}
    known = {k: v for k, v in links.items() if k in truth}
    assert len(known) >= 0.99 * len(truth)
    scores = scoring.score_pairs(known, truth)
    assert scores.precision >= 0.93  # measured 0.97
    assert scores.recall >= 0.78  # measured 0.83
    assert summary.largest_cluster <= 10  # no chaining into giant clusters
