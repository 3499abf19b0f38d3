"""Bootstrap stability of a fitted model: coefficient intervals, sign stability and, with a
selection strategy, how often each feature is chosen. Pure: arrays in, plain results out.

Resample ``b`` (``0 .. resamples - 1``) is the ``b``-th draw of
``numpy.random.default_rng(seed).integers(0, n, size=n)``: ``n`` training rows drawn with
replacement, the same rows for the coefficient refits and for the selection reruns, so any
resample can be reproduced outside the package.

The feature encoding (bins, WoE values, levels) stays the one fitted on the whole training
sample: the bootstrap measures the uncertainty of the coefficients and of the choice of
features, given the encoding.

References
----------
Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall,
chapter 13 (percentile intervals).
Austin, P. C. & Tu, J. V. (2004). Bootstrap methods for developing predictive models.
*The American Statistician* 58(2), 131-137 (selection frequency over resamples).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from credit_glm.config import FitPolicy, GLMConfig
from credit_glm.errors import ModelFitError

__all__ = [
    "BootstrapCoefficients",
    "TermStability",
    "bootstrap_coefficients",
    "resample_rows",
    "selection_frequency",
]


def resample_rows(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The row positions of each resample, in order (see the module docstring)."""
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield rng.integers(0, n, size=n)


@dataclass(frozen=True)
class TermStability:
    """One coefficient over the resamples that fitted: its spread, percentile interval, and
    the share of resamples in which it has the sign of the full-sample estimate."""

    term: str
    estimate: float
    mean: float
    std: float
    lower: float
    upper: float
    same_sign_share: float


@dataclass(frozen=True)
class BootstrapCoefficients:
    """Coefficient stability: ``fitted`` of ``resamples`` refits were usable; the others did
    not converge, separated, or were rank-deficient (a rare level absent from the draw)."""

    resamples: int
    seed: int
    level: float
    fitted: int
    unusable: int
    terms: tuple[TermStability, ...]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def bootstrap_coefficients(
    X: np.ndarray,
    y: np.ndarray,
    terms: Sequence[str],
    estimate: np.ndarray,
    options: GLMConfig,
    resamples: int,
    seed: int,
    weights: np.ndarray | None = None,
    level: float = 0.95,
    tick: Callable[[], None] | None = None,
) -> BootstrapCoefficients:
    """Refit the model (the same design columns and GLM options) on each resample.

    A refit that does not converge, separates or is rank-deficient is counted in
    ``unusable`` and left out of the intervals: its coefficients are not estimates.
    """
    from credit_glm.glm import fit_glm

    if resamples < 2:
        raise ValueError("bootstrap_coefficients: resamples must be at least 2")
    strict = dataclasses.replace(
        options, on_separation=FitPolicy.error, on_nonconvergence=FitPolicy.error
    )
    draws: list[np.ndarray] = []
    for rows in resample_rows(len(y), resamples, seed):
        try:
            fit = fit_glm(
                X[rows],
                y[rows],
                tuple(terms),
                strict,
                None if weights is None else weights[rows],
            )
        except ModelFitError:
            pass
        else:
            draws.append(fit.params)
        if tick is not None:
            tick()
    alpha = (1.0 - level) / 2.0
    rows_out: list[TermStability] = []
    coefs = np.array(draws) if draws else np.empty((0, len(terms)))
    for j, term in enumerate(terms):
        column = coefs[:, j]
        if column.size == 0:
            rows_out.append(TermStability(term, float(estimate[j]), *([float("nan")] * 5)))
            continue
        lower, upper = np.quantile(column, [alpha, 1.0 - alpha])
        rows_out.append(
            TermStability(
                term=term,
                estimate=float(estimate[j]),
                mean=float(column.mean()),
                std=float(column.std(ddof=1)) if column.size > 1 else 0.0,
                lower=float(lower),
                upper=float(upper),
                same_sign_share=float(np.mean(np.sign(column) == np.sign(estimate[j]))),
            )
        )
    return BootstrapCoefficients(
        resamples=resamples,
        seed=seed,
        level=level,
        fitted=len(draws),
        unusable=resamples - len(draws),
        terms=tuple(rows_out),
    )


def selection_frequency(
    select: Callable[[np.ndarray], Sequence[str]],
    candidates: Sequence[str],
    n: int,
    resamples: int,
    seed: int,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The share of resamples in which the selection strategy (``select``: the rows of a
    resample to the features it keeps) chose each candidate; a resample where it fails is
    counted in ``failed`` and in no share."""
    counts = dict.fromkeys(candidates, 0)
    done = failed = 0
    for rows in resample_rows(n, resamples, seed):
        try:
            chosen = select(rows)
        except ModelFitError:
            failed += 1
        else:
            done += 1
            for name in chosen:
                counts[name] += 1
        if tick is not None:
            tick()
    return {
        "resamples": resamples,
        "seed": seed,
        "completed": done,
        "failed": failed,
        "share": {name: (c / done if done else None) for name, c in counts.items()},
    }
