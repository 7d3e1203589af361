"""Recalibrate the matching model from people's decisions on pairs of records.

The model is trained without labels, so its probabilities can run high or low for one
workspace's data. Every review accept or reject, merge or split is a label saying by how
much. Recalibration keeps each field's weights as trained and moves the model's prior (the
odds that two random records match) so that the labelled pairs' probabilities fit what
people decided: one parameter, fitted by maximum likelihood with a mild pull towards no
change, so a handful of labels that all agree cannot push it without bound. The prior is
what every scorer reads (Splink, the DuckDB scorer, real-time match), so they all follow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rolodex.exceptions import InputError

MIN_LABELS = 10  # decisions needed, of both kinds, before the prior is moved
_PULL = 0.02  # penalty per squared bit of shift: a 10-bit move costs 2 nats
_LIMIT = 40.0  # bits either way
_LN2 = math.log(2)


@dataclass
class Calibration:
    """What a recalibration did: the labels it used and how the fit improved."""

    labels: int
    same: int
    different: int
    shift_bits: float  # added to every pair's match weight (log2 odds)
    prior_before: float
    prior_after: float
    log_loss_before: float  # mean over the labels, in nats
    log_loss_after: float


def _loss(weight: float, same: bool, shift: float) -> float:
    """One label's negative log-likelihood (nats) with its match weight moved by `shift`."""
    z = (weight + shift) * _LN2
    z = -z if same else z
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def _mean_loss(weights: Sequence[float], same: Sequence[bool], shift: float) -> float:
    return sum(_loss(w, s, shift) for w, s in zip(weights, same, strict=True)) / len(weights)


def fit_shift(weights: Sequence[float], same: Sequence[bool]) -> float:
    """Return the shift in bits that makes the match weights fit the labels best.

    The objective (logistic loss plus the pull) is convex in the shift, so Newton's method
    from zero converges in a few steps; written out here because it is ten lines, where
    scipy would be a dependency for one call.
    """
    shift = 0.0
    for _ in range(100):
        gradient, curvature = 2 * _PULL * shift, 2 * _PULL
        for w, s in zip(weights, same, strict=True):
            p = 1.0 / (1.0 + math.exp(-max(min((w + shift) * _LN2, 700.0), -700.0)))
            gradient += ((p - 1.0) if s else p) * _LN2
            curvature += p * (1.0 - p) * _LN2 * _LN2
        step = gradient / curvature
        shift = max(-_LIMIT, min(_LIMIT, shift - step))
        if abs(step) < 1e-9:
            break
    return shift


def recalibrate(
    model: Mapping[str, Any], weights: Sequence[float], same: Sequence[bool]
) -> tuple[dict[str, Any], Calibration]:
    """Return the model with its prior moved to fit the labelled pairs, and what changed.

    Args:
        model: a trained Splink model (its JSON form).
        weights: each labelled pair's match weight under `model` (prior included).
        same: for each pair, whether people said it is one customer.

    Raises:
        InputError: fewer than `MIN_LABELS` decisions, or decisions of one kind only
            (nothing then says where the line between the two lies).
    """
    n_same = sum(1 for s in same if s)
    n_different = len(same) - n_same
    if len(same) < MIN_LABELS or not n_same or not n_different:
        raise InputError(
            f"recalibrating needs at least {MIN_LABELS} decisions on pairs, some saying"
            f" 'same customer' and some 'different'; there are {n_same} and {n_different}."
            " Accept or reject pairs with `rolodex review`, or merge and split contacts"
        )
    shift = fit_shift(weights, same)
    prior = float(model["probability_two_random_records_match"])
    bits = math.log2(prior / (1.0 - prior)) + shift
    after = 1.0 / (1.0 + 2.0**-bits)
    calibration = Calibration(
        labels=len(same),
        same=n_same,
        different=n_different,
        shift_bits=shift,
        prior_before=prior,
        prior_after=after,
        log_loss_before=_mean_loss(weights, same, 0.0),
        log_loss_after=_mean_loss(weights, same, shift),
    )
    return {**model, "probability_two_random_records_match": after}, calibration
