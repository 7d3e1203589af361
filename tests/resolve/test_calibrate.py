"""Recalibration from people's decisions: the prior moves to fit the labels, and no further."""

from __future__ import annotations

import math
import random

import pytest

from rolodex.exceptions import InputError
from rolodex.resolve.calibrate import MIN_LABELS, fit_shift, recalibrate


def _labels(true_shift: float, n: int, seed: int) -> tuple[list[float], list[bool]]:
    """Weights spread over the uncertain band, labelled as a model `true_shift` bits off
    would see them: P(same) = 1 / (1 + 2^-(w + shift))."""
    rng = random.Random(seed)
    weights = [rng.uniform(-12.0, 12.0) for _ in range(n)]
    same = [rng.random() < 1.0 / (1.0 + 2.0 ** -(w + true_shift)) for w in weights]
    return weights, same


@pytest.mark.parametrize("true_shift", [-4.0, 0.0, 3.0])
def test_fit_recovers_how_far_the_weights_are_off(true_shift: float) -> None:
    weights, same = _labels(true_shift, 4000, seed=7)
    assert fit_shift(weights, same) == pytest.approx(true_shift, abs=0.4)


def test_agreeing_labels_pull_the_prior_a_bounded_way() -> None:
    # Every pair said to be the same customer, whatever its weight: without the pull the
    # shift would run off to infinity.
    weights = [-float(i) for i in range(12)]
    shift = fit_shift(weights, [True] * 11 + [False])
    assert 5.0 < shift < 40.0


def test_recalibrate_moves_only_the_prior_and_lowers_the_loss() -> None:
    weights, same = _labels(5.0, 300, seed=3)
    model = {"probability_two_random_records_match": 0.0001, "comparisons": ["kept"]}
    updated, calibration = recalibrate(model, weights, same)
    assert updated["comparisons"] == ["kept"]
    before, after = calibration.prior_before, calibration.prior_after
    assert updated["probability_two_random_records_match"] == after
    # The prior's log2 odds move by exactly the fitted shift.
    moved = math.log2(after / (1 - after)) - math.log2(before / (1 - before))
    assert moved == pytest.approx(calibration.shift_bits)
    assert calibration.shift_bits == pytest.approx(5.0, abs=1.0)
    assert calibration.log_loss_after < calibration.log_loss_before
    assert (calibration.labels, calibration.same + calibration.different) == (300, 300)


def test_too_few_or_one_sided_decisions_are_refused() -> None:
    model = {"probability_two_random_records_match": 0.01}
    with pytest.raises(InputError, match=f"at least {MIN_LABELS} decisions"):
        recalibrate(model, [1.0, -1.0], [True, False])
    with pytest.raises(InputError, match="there are 20 and 0"):
        recalibrate(model, [0.0] * 20, [True] * 20)
