"""Recalibrate the matching model from people's decisions.

Every review accept or reject, merge and unmerge is kept as a label (`match_decision`). The
unsupervised model gets most pairs right but can be systematically off for a kind of data
(say, two personal addresses are common for one customer in this business); labels say
where. Calibration fits, by penalized logistic regression with the model's own match weight
as the offset, one correction per comparison level the labels reach plus one for every pair
(the prior):

    log2 odds(pair) = model weight + shift + sum of the corrections of the pair's levels

Each correction is pulled towards zero (a Gaussian prior of `spread` bits), so a handful of
labels moves the model a little and only many consistent labels move it far; a level no
label reaches keeps its weight. The result is a new stored model (the old one stays in
`match_model`), which `rolodex resolve --full` applies to every record.

People label the pairs the model was unsure of, which is no sample of all pairs. So the fit
also holds anchors, the candidate pairs of a random sample of records with the model's own
probability as their target: a correction has to fit them too, and the prior's shift is held
near zero.

Written by hand rather than with scikit-learn: a few dozen parameters and Newton's method,
with the offset and the prior per parameter that scikit-learn's logistic regression lacks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rolodex.resolve.realtime import Scorer

Level = tuple[str, int]
"""A comparison level: (comparison name, index among its non-null levels)."""


@dataclass
class Labelled:
    """One labelled pair: its match weight under the model and the levels it reached.

    `target` is 1.0 or 0.0 for a person's decision; an anchor (a pair nobody decided)
    carries the model's own probability, so it holds the model where no label disagrees.
    """

    weight: float
    levels: list[Level]
    target: float

    @property
    def same(self) -> bool:
        """Whether the pair counts as one customer."""
        return self.target >= 0.5


@dataclass
class Calibration:
    """What a calibration found and did."""

    labels: int = 0
    same: int = 0
    shift: float = 0.0
    """Bits added to every pair's weight (the prior's correction)."""
    corrections: dict[str, float] = field(default_factory=dict)
    """Bits added per comparison level, as "comparison: level label"."""
    log_loss_before: float = 0.0
    log_loss_after: float = 0.0
    """Mean log loss (natural log) of the labels under the model before and after."""


_LN2 = math.log(2.0)


def _softplus(t: float) -> float:
    """log(1 + e**-t), without overflow."""
    return math.log1p(math.exp(-t)) if t > -30 else -t


def _log_loss(z: float, target: float) -> float:
    """Cross-entropy of a target probability against log2 odds `z` (natural log)."""
    t = _LN2 * z
    return target * _softplus(t) + (1.0 - target) * _softplus(-t)


def _sigmoid2(z: float) -> float:
    t = _LN2 * z
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a x = b for a symmetric positive definite `a` (Cholesky)."""
    n = len(b)
    low = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = a[i][j] - sum(low[i][k] * low[j][k] for k in range(j))
            low[i][j] = math.sqrt(max(s, 1e-12)) if i == j else s / low[j][j]
    y = [0.0] * n
    for i in range(n):
        y[i] = (b[i] - sum(low[i][k] * y[k] for k in range(i))) / low[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return x


def fit(
    pairs: Sequence[Labelled], *, spread: float = 1.0, shift_spread: float = 1.0
) -> tuple[float, dict[Level, float]]:
    """Fit the shift and per-level corrections (bits) by Newton's method.

    Args:
        pairs: the labelled pairs.
        spread: standard deviation (bits) of the prior on each level's correction.
        shift_spread: the same for the shift of every pair.

    Returns:
        The shift and the correction of each level some label reached.
    """
    levels = sorted({lv for p in pairs for lv in p.levels})
    index = {lv: i + 1 for i, lv in enumerate(levels)}
    n = len(levels) + 1
    rows = [[0, *(index[lv] for lv in p.levels)] for p in pairs]
    penalty = [1.0 / shift_spread**2] + [1.0 / spread**2] * len(levels)
    theta = [0.0] * n

    def objective(at: Sequence[float]) -> float:
        loss = sum(
            _log_loss(p.weight + sum(at[j] for j in row), p.target)
            for p, row in zip(pairs, rows, strict=True)
        )
        return loss + 0.5 * sum(q * t * t for q, t in zip(penalty, at, strict=True))

    current = objective(theta)
    for _ in range(50):
        grad = [penalty[j] * theta[j] for j in range(n)]
        hess = [[0.0] * n for _ in range(n)]
        for j in range(n):
            hess[j][j] = penalty[j]
        for pair, row in zip(pairs, rows, strict=True):
            z = pair.weight + sum(theta[j] for j in row)
            p = _sigmoid2(z)
            g = _LN2 * (p - pair.target)
            h = _LN2 * _LN2 * p * (1.0 - p)
            for j in row:
                grad[j] += g
                for k in row:
                    hess[j][k] += h
        step = _solve(hess, grad)
        # Newton's step, halved until the penalized loss goes down (saturated labels make
        # the Hessian nearly flat and the full step far too long).
        size = 1.0
        while True:
            trial = [t - size * s for t, s in zip(theta, step, strict=True)]
            value = objective(trial)
            if value <= current or size < 1e-4:
                break
            size /= 2
        theta, moved = trial, size * max(abs(s) for s in step)
        if current - value < 1e-10 or moved < 1e-6:
            break
        current = value
    return theta[0], {lv: theta[index[lv]] for lv in levels}


def labelled_pairs(
    scorer: Scorer,
    rows: Mapping[int, Mapping[str, Any]],
    decisions: Sequence[tuple[int, int, bool | None]],
    tf: Mapping[tuple[str, Any], float],
) -> list[Labelled]:
    """Score each pair of feature `rows` and note the levels it reached; a pair decided
    None is an anchor and targets the model's own probability."""
    out: list[Labelled] = []
    for left, right, same in decisions:
        if left not in rows or right not in rows:
            continue
        a, b = rows[min(left, right)], rows[max(left, right)]
        weights = scorer.weights(a, b, lambda c, v: tf.get((c, v)))
        reached = [(name, i) for name, i in scorer.levels(a, b).items() if i is not None]
        weight = scorer.prior_weight + sum(weights.values())
        target = scorer.probability(weights) if same is None else float(same)
        out.append(Labelled(weight, reached, target))
    return out


def calibrated(
    model: Mapping[str, Any], shift: float, corrections: Mapping[Level, float]
) -> dict[str, Any]:
    """Return the model with the corrections applied: a level's m times 2**correction (its
    weight moves by the correction, term frequencies included), the prior's odds times
    2**shift. After calibration an m is a scaled Bayes factor, not a probability."""
    out: dict[str, Any] = json.loads(json.dumps(model))
    prior = float(out["probability_two_random_records_match"])
    odds = prior / (1.0 - prior) * 2.0**shift
    out["probability_two_random_records_match"] = odds / (1.0 + odds)
    for comparison in out["comparisons"]:
        name = str(comparison["output_column_name"])
        real = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for i, level in enumerate(real):
            delta = corrections.get((name, i))
            if delta is not None and level.get("m_probability"):
                level["m_probability"] = float(level["m_probability"]) * 2.0**delta
    return out


def label_of(model: Mapping[str, Any], level: Level) -> str:
    """ "comparison: level label" for reports."""
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] == level[0]:
            real = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
            return f"{level[0]}: {real[level[1]]['label_for_charts']}"
    return f"{level[0]}: level {level[1]}"


def calibrate(
    model: Mapping[str, Any],
    rows: Mapping[int, Mapping[str, Any]],
    decisions: Sequence[tuple[int, int, bool]],
    tf: Mapping[tuple[str, Any], float],
    *,
    anchors: Sequence[tuple[int, int]] = (),
    spread: float = 1.0,
) -> tuple[Calibration, dict[str, Any]]:
    """Fit corrections to the labelled pairs and return what changed and the new model.

    People label the pairs the model was unsure of, which is no sample of all pairs: a
    correction that fits them alone moves every pair sharing their levels. `anchors`
    (candidate pairs of a random sample of records, undecided) keep their own probability
    as the target, so a correction has to fit them as well.
    """
    scorer = Scorer(model)
    labelled = labelled_pairs(scorer, rows, list(decisions), tf)
    report = Calibration(labels=len(labelled), same=sum(p.same for p in labelled))
    if not labelled:
        return report, dict(model)
    held = labelled_pairs(scorer, rows, [(a, b, None) for a, b in anchors], tf)
    # The shift stays near zero: labels from the uncertain band say nothing about the pairs
    # far from it, and moving every pair merged half the band on the generated CRM data
    # (benchmarks/resolve_accuracy.py --label).
    shift, corrections = fit([*labelled, *held], spread=spread, shift_spread=0.01)
    report.shift = shift
    report.corrections = {label_of(model, lv): d for lv, d in sorted(corrections.items())}

    def loss(pair: Labelled, moved: float) -> float:
        return _log_loss(pair.weight + moved, pair.target)

    report.log_loss_before = sum(loss(p, 0.0) for p in labelled) / len(labelled)
    report.log_loss_after = sum(
        loss(p, shift + sum(corrections.get(lv, 0.0) for lv in p.levels)) for p in labelled
    ) / len(labelled)
    return report, calibrated(model, shift, corrections)
