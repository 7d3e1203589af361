"""Recalibration of the matching model from people's decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from rolodex.exceptions import InputError
from rolodex.resolve.calibrate import Labelled, calibrated, fit
from rolodex.resolve.realtime import Scorer
from rolodex.resolve.run import latest_model
from rolodex.workspace import Workspace

DATA = Path(__file__).parent / "data"
PERSONAL = ("email", 4)  # "two different personal addresses"
SAME_EMAIL = ("email", 0)


def _labels(weight: float, levels: list[tuple[str, int]], same: int, total: int) -> list[Labelled]:
    return [Labelled(weight, levels, i < same) for i in range(total)]


def test_fit_finds_the_level_the_model_undersells() -> None:
    """Pairs with two personal addresses are the same customer 80% of the time where the
    model says 20%: their level's correction is the difference, 4 bits; a level whose
    labels agree with the model stays put."""
    pairs = _labels(-2.0, [PERSONAL], same=400, total=500)
    pairs += _labels(3.0, [SAME_EMAIL], same=800, total=900)  # 8:1 odds, as the model says
    shift, corrections = fit(pairs, spread=4.0, shift_spread=0.01)
    assert abs(shift) < 0.01
    assert corrections[PERSONAL] == pytest.approx(4.0, abs=0.1)
    assert corrections[SAME_EMAIL] == pytest.approx(0.0, abs=0.1)


def test_a_few_labels_move_the_model_a_little() -> None:
    few = fit(_labels(-2.0, [PERSONAL], same=3, total=3), spread=1.0)[1][PERSONAL]
    many = fit(_labels(-2.0, [PERSONAL], same=300, total=300), spread=1.0)[1][PERSONAL]
    assert 0 < few < 1.5 < many


def test_calibrated_model_moves_weights_by_the_corrections() -> None:
    from rolodex.resolve import model as m

    model = {**m.settings(term_frequencies=False), "probability_two_random_records_match": 0.01}
    new = calibrated(model, 1.0, {PERSONAL: 2.0})
    before, after = Scorer(model), Scorer(new)
    level = dict(before.comparisons)["email"][4]
    moved = dict(after.comparisons)["email"][4]
    assert moved.weight - level.weight == pytest.approx(2.0)
    assert after.prior_weight - before.prior_weight == pytest.approx(1.0, abs=0.02)
    assert dict(after.comparisons)["email"][0].weight == pytest.approx(
        dict(before.comparisons)["email"][0].weight
    )


def test_workspace_calibrates_on_its_decisions_and_resolve_applies_it(
    ws: Workspace, tmp_path: Path
) -> None:
    ws.import_file(DATA / "crm.csv", source="crm", kind="contacts")
    ws.import_file(DATA / "shop.csv", source="shop", kind="contacts")
    with pytest.raises(InputError, match="resolve"):
        ws.calibrate()
    ws.resolve()
    assert ws.calibrate().labels == 0  # nothing decided yet
    out = tmp_path / "links.csv"
    ws.export("links", out)
    rows = out.read_text(encoding="utf-8").splitlines()[1:]
    links = {f"{s}:{e}": int(c) for s, e, c in (r.split(",") for r in rows)}
    # The household (same landline and address, another first name) is one customer here.
    ws.merge(links["crm:c3"], links["crm:c4"], reason="one account holder")
    with ws.engine.connect() as conn:
        before = latest_model(conn)
        models = conn.execute(text("SELECT count(*) FROM match_model")).scalar_one()
    assert before is not None
    report = ws.calibrate()
    assert report.labels == 1
    assert report.same == 1
    assert abs(report.shift) < 0.05  # labels from one band do not move every pair
    assert report.log_loss_after < report.log_loss_before
    with ws.engine.connect() as conn:
        after = latest_model(conn)
        assert conn.execute(text("SELECT count(*) FROM match_model")).scalar_one() == models + 1
        info = conn.execute(
            text("SELECT info FROM match_model ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    info = json.loads(info) if isinstance(info, str) else info
    assert after is not None
    assert after[0] != before[0]
    assert info["calibration"]["labels"] == 1
    # A dry run stores nothing; a full resolve runs on the calibrated model.
    ws.calibrate(dry_run=True)
    with ws.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM match_model")).scalar_one() == models + 1
    summary = ws.resolve(full=True)
    assert summary.records == 13
    assert not summary.trained
    ws.export("links", out)
    again = {
        f"{s}:{e}": int(c)
        for s, e, c in (r.split(",") for r in out.read_text(encoding="utf-8").splitlines()[1:])
    }
    assert again["crm:c3"] == again["crm:c4"]  # the user's merge holds
    # The levels the household pair reached now weigh more; one label moves each by less
    # than a bit.
    household = [k for k in report.corrections if "another first name" in k]
    assert household
    assert all(0 < report.corrections[k] < 1 for k in household)


def test_anchors_hold_the_levels_labels_share_with_other_pairs() -> None:
    """Labels from the uncertain band say a level is undersold; thousands of undecided pairs
    at that level, which the model scores far lower and nobody disputes, hold it back."""
    labels = _labels(-2.0, [PERSONAL], same=50, total=50)
    odds = 2.0**-8
    anchors = [Labelled(-8.0, [PERSONAL], odds / (1 + odds)) for _ in range(2000)]
    alone = fit(labels, shift_spread=0.01)[1][PERSONAL]
    held = fit([*labels, *anchors], shift_spread=0.01)[1][PERSONAL]
    assert 0 < held < alone / 2
