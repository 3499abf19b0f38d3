"""Fitting the binomial GLM with statsmodels, and the checks that refuse a bad fit.

:func:`fit_glm` returns an immutable :class:`GLMFit`: the statistics every later step needs
(parameters, standard errors, likelihoods, information criteria) plus the statsmodels results
object for the diagnostics and the pickled artifact.

A model is never silently bad: a fit that did not converge, or whose fitted probabilities reach
0 or 1 (complete or quasi-complete separation: Albert & Anderson 1984), raises
:class:`~credit_glm.errors.ModelFitError` naming the terms involved, or, with
``on_nonconvergence``/``on_separation: warn``, is kept with the finding recorded.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from credit_glm.config import Criterion, GLMConfig, Link
from credit_glm.errors import ModelFitError
from credit_glm.links import inverse_link
from credit_glm.row_blocks import r_factor, row_blocks
from credit_glm.selection.criteria import information_criterion
from credit_glm.separation import SEPARATION_EPS, n_separated

__all__ = [
    "GLMFit",
    "design_rank",
    "binomial_family",
    "dependent_terms",
    "fit_glm",
    "weighted_gram",
]


def binomial_family(link: Link) -> Any:
    links = {
        Link.logit: sm.families.links.Logit,
        Link.probit: sm.families.links.Probit,
        Link.cloglog: sm.families.links.CLogLog,
    }
    return sm.families.Binomial(link=links[link]())


@dataclass(frozen=True)
class GLMFit:
    """An immutable summary of a fitted binomial GLM."""

    terms: tuple[str, ...]
    link: Link
    params: np.ndarray
    bse: np.ndarray | None  # None for a penalised fit
    pvalues: np.ndarray | None
    conf_int: np.ndarray | None  # (p, 2), 95%
    llf: float
    llnull: float
    deviance: float
    aic: float
    bic: float
    n_obs: float  # sum of weights (the row count without weights)
    n_params: int
    converged: bool
    iterations: int
    penalised: bool
    findings: tuple[str, ...]
    cov_type: str
    results: Any  # statsmodels results (data removed before it is saved)

    @property
    def zvalues(self) -> np.ndarray | None:
        return None if self.bse is None else self.params / self.bse

    @property
    def pseudo_r2(self) -> float:
        """McFadden's pseudo R-squared, 1 - llf / llnull (McFadden 1974)."""
        return 1.0 - self.llf / self.llnull


def _loglike(family: Any, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    return float(family.loglike(y, mu, freq_weights=w))


def _suspect_terms(
    terms: tuple[str, ...],
    params: np.ndarray,
    bse: np.ndarray | None,
    sources: Mapping[str, str] | None = None,
) -> str:
    big = [t for t, b in zip(terms, params, strict=True) if abs(b) > 10 and t != "Intercept"]
    if bse is not None:
        big += [t for t, s in zip(terms, bse, strict=True) if s > 1e3 and t not in big]
    named = [t + (f" from {sources[t]}" if sources and t in sources else "") for t in big]
    return ", ".join(named) if named else "(no single term stands out)"


def dependent_terms(X: np.ndarray, terms: tuple[str, ...], rtol: float = 1e-9) -> list[str]:
    """The terms whose column is a linear combination of the columns before it.

    Greedy Gram-Schmidt (re-orthogonalised once) in design order: a column whose residual on
    the span of the kept columns is below ``rtol`` of its norm is dependent. Dropping every term
    returned leaves a full-rank design.
    """
    basis = np.empty((X.shape[0], 0))
    out: list[str] = []
    for j, term in enumerate(terms):
        x = np.asarray(X[:, j], dtype=float)
        norm = float(np.linalg.norm(x))
        r = x - basis @ (basis.T @ x)
        r = r - basis @ (basis.T @ r)
        rnorm = float(np.linalg.norm(r))
        if norm == 0.0 or rnorm <= rtol * norm:
            out.append(term)
        else:
            basis = np.column_stack([basis, r / rnorm])
    return out


def _rank_deficiency(
    X: np.ndarray, terms: tuple[str, ...], rank: int, sources: Mapping[str, str]
) -> str:
    head = (
        f"the design matrix is rank-deficient (rank {rank} < {X.shape[1]} columns, "
        f"{X.shape[0]} rows)"
    )
    dependent = dependent_terms(X, terms)
    if not dependent:
        return (
            head + ": some terms are nearly linear combinations of others (a level present "
            "in every row, duplicated features, or a bin/level that coincides with another)"
        )
    shown = [f"{t!r}" + (f" from {sources[t]}" if t in sources else "") for t in dependent[:10]]
    more = f" and {len(dependent) - 10} more" if len(dependent) > 10 else ""
    return (
        head + f": {len(dependent)} term(s) are linear combinations of the terms before "
        f"them: {', '.join(shown)}{more}; drop or merge those features (a level or bin "
        "present in every row or none, a duplicated feature, more levels than rows)"
    )


def weighted_gram(
    X: np.ndarray, weights: np.ndarray, z: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``X' diag(weights) X`` and ``X' (weights * z)``, summed over blocks of rows.

    The blocks are :func:`~credit_glm.row_blocks.row_blocks`: the sums are added in one order
    whatever the machine, and no temporary as large as ``X`` is made.
    """
    k = X.shape[1]
    gram = np.zeros((k, k))
    rhs = np.zeros(k)
    for rows in row_blocks(X.shape[0]):
        block = X[rows]
        gram += block.T @ (block * weights[rows, None])
        if z is not None:
            rhs += block.T @ (weights[rows] * z[rows])
    return gram, rhs


class _GLM(sm.GLM):  # type: ignore[misc]
    """statsmodels' GLM given the design's rank (:func:`design_rank`, which ``fit_glm`` has
    checked already): its own ``initialize`` takes ``matrix_rank`` of the design, an SVD of a
    full copy of it (one more design matrix at the peak of every fit)."""

    def __init__(self, *args: Any, rank: int | None = None, **kwargs: Any) -> None:
        # read by initialize, which statsmodels' __init__ calls; statsmodels' elastic net
        # builds models of this class itself, without a rank
        self._rank = rank
        super().__init__(*args, **kwargs)

    def initialize(self) -> None:
        rank = design_rank(self.exog) if self._rank is None else self._rank
        self.df_model = rank - 1
        if self.freq_weights is not None and self.freq_weights.shape[0] == self.endog.shape[0]:
            self.wnobs = self.freq_weights.sum()
        else:
            self.wnobs = self.exog.shape[0]
        self.df_resid = self.wnobs - self.df_model - 1


def design_rank(X: np.ndarray) -> int:
    """``numpy.linalg.matrix_rank(X)`` (singular values above ``max(n, k) * eps`` of the
    largest), from the triangular factor built a block of rows at a time: the same singular
    values, without the copy of ``X`` an SVD of it makes."""
    if X.shape[0] == 0 or X.shape[1] == 0:
        return 0
    singular = np.linalg.svd(
        r_factor((X[rows] for rows in row_blocks(X.shape[0])), X.shape[1]), compute_uv=False
    )
    tol = float(singular.max(initial=0.0)) * max(X.shape) * float(np.finfo(np.float64).eps)
    return int(np.sum(singular > tol))


def _solve_spd(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve with a Cholesky factor; a (numerically) singular system gets the minimum-norm
    least-squares solution, as statsmodels' ``lstsq`` IRLS step would."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        return np.asarray(cho_solve(cho_factor(gram, lower=True), rhs), dtype=float)
    except LinAlgError:
        return np.asarray(np.linalg.lstsq(gram, rhs, rcond=None)[0], dtype=float)


@dataclass(frozen=True)
class _IRLSFit:
    params: np.ndarray
    normalized_cov: np.ndarray
    converged: bool
    iterations: int
    deviance: tuple[float, ...]


def _irls(
    X: np.ndarray, y: np.ndarray, family: Any, w: np.ndarray, max_iter: int, tol: float
) -> _IRLSFit:
    """Iteratively reweighted least squares, as statsmodels' ``GLM.fit`` runs it.

    The same start (``family.starting_mu``), working weights and response (the family's
    ``weights`` and ``link.deriv``, times the frequency weights), the same stopping rule (the
    deviance changes by at most ``tol``) and the same covariance (the inverse expected
    information with the working weights of the last step). Only the weighted least-squares
    step differs: the normal equations are accumulated a block of rows at a time
    (:func:`weighted_gram`) and solved with a Cholesky factor, where statsmodels whitens a
    full copy of the design and solves it by SVD -- measured at 8.7x the design matrix's
    size at its peak, and 4.7x kept after the fit, against 1.3x and 0.3x here
    (``tests/benchmarks/bench_training.py``).
    """
    mu = family.starting_mu(y)
    eta = family.predict(mu)
    history = [float(family.deviance(y, mu, freq_weights=w))]
    params = np.zeros(X.shape[1])
    converged = False
    previous_mu = mu  # max_iter is at least 1 (GLMConfig): the loop sets it
    for _ in range(max_iter):
        previous_mu = mu
        working_weights = w * family.weights(mu)
        working_response = eta + family.link.deriv(mu) * (y - mu)
        params = _solve_spd(*weighted_gram(X, working_weights, working_response))
        eta = X @ params
        mu = family.fitted(eta)
        history.append(float(family.deviance(y, mu, freq_weights=w)))
        if abs(history[-1] - history[-2]) <= tol:
            converged = True
            break
    # statsmodels' covariance: the last step's information, at the weights that step used
    information, _ = weighted_gram(X, w * family.weights(previous_mu))
    try:
        normalized_cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        normalized_cov = np.linalg.pinv(information)
    return _IRLSFit(params, normalized_cov, converged, len(history) - 1, tuple(history))


def _glm_results(model: Any, fit: _IRLSFit, cov_type: str) -> Any:
    """statsmodels' own results object at the IRLS estimate (standard errors, tests,
    ``summary()``; the covariance ``cov_type`` asks for is computed by statsmodels)."""
    from statsmodels.genmod.generalized_linear_model import GLMResults, GLMResultsWrapper

    model.mu = model.predict(fit.params)
    results = GLMResults(model, fit.params, fit.normalized_cov, 1.0, cov_type=cov_type)
    results.method = "IRLS"
    results.fit_history = {"iteration": fit.iterations, "deviance": list(fit.deviance)}
    results.converged = fit.converged
    return GLMResultsWrapper(results)


def fit_glm(
    X: np.ndarray,
    y: np.ndarray,
    terms: tuple[str, ...],
    options: GLMConfig,
    weights: np.ndarray | None = None,
    sources: Mapping[str, str] | None = None,
) -> GLMFit:
    """Fit a binomial GLM with statsmodels.

    Parameters
    ----------
    X
        Design matrix, column 0 the intercept.
    y
        0/1 outcome (1 = default).
    terms
        Names of the columns of ``X``.
    options
        Link, iteration limit, tolerance, covariance type, optional elastic-net penalty, and what
        non-convergence or separation does.
    weights
        Optional frequency weights (a row with weight 2 counts as two applicants).
    sources
        Where each term comes from (``ModelSpec.term_sources``), named in a rank-deficiency
        error.

    Raises
    ------
    ModelFitError
        Non-convergence, separation (under ``error``), a rank-deficient design.
    """
    if X.shape[1] != len(terms):
        raise ValueError("X and terms disagree")
    rank = design_rank(X)
    if rank < X.shape[1]:
        raise ModelFitError(_rank_deficiency(X, terms, rank, sources or {}))
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    family = binomial_family(options.link)
    model = _GLM(y, X, family=family, freq_weights=w if weights is not None else None, rank=rank)
    findings: list[str] = []
    caught: list[warnings.WarningMessage] = []
    if options.alpha > 0:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            alpha = np.full(X.shape[1], options.alpha)
            alpha[0] = 0.0  # never shrink the intercept
            results = model.fit_regularized(
                method="elastic_net",
                alpha=alpha,
                L1_wt=options.l1_wt,
                maxiter=options.max_iter,
                cnvrg_tol=options.tol,
            )
        params = np.asarray(results.params, dtype=float)
        converged, iterations = True, options.max_iter
        bse = pvalues = conf_int = None
    else:
        irls = _irls(X, y, family, w, options.max_iter, options.tol)
        results = _glm_results(model, irls, options.cov_type.value)
        params = irls.params
        converged, iterations = irls.converged, irls.iterations
        bse = np.asarray(results.bse, dtype=float)
        pvalues = np.asarray(results.pvalues, dtype=float)
        conf_int = np.asarray(results.conf_int(alpha=0.05), dtype=float)
    mu = inverse_link(options.link, X @ params)
    n_edge = n_separated(mu, weights)
    separated = n_edge > 0 or any(issubclass(c.category, PerfectSeparationWarning) for c in caught)
    if any(issubclass(c.category, ConvergenceWarning) for c in caught):
        converged = False
    if not converged:
        msg = (
            f"the GLM did not converge in glm.max_iter={options.max_iter} iterations "
            f"(suspect terms: {_suspect_terms(terms, params, bse, sources)})"
        )
        if options.on_nonconvergence == "error":
            raise ModelFitError(
                msg + "; raise glm.max_iter, drop or merge the suspect terms, "
                "or set glm.on_nonconvergence=warn"
            )
        findings.append(msg)
    if separated:
        msg = (
            f"complete or quasi-complete separation: {n_edge} rows fitted with a probability "
            f"within {SEPARATION_EPS:g} of 0 or 1 (suspect terms: "
            f"{_suspect_terms(terms, params, bse, sources)})"
        )
        if options.on_separation == "error":
            raise ModelFitError(
                msg + "; merge the levels or bins involved, drop the feature, "
                "add a penalty (glm.alpha), or set glm.on_separation=warn"
            )
        findings.append(msg)
    n_obs = float(w.sum())
    mu_c = np.clip(mu, 1e-300, 1 - 1e-16)
    llf = _loglike(family, y, mu_c, w)
    ybar = float(np.sum(w * y) / n_obs)
    llnull = _loglike(family, y, np.full_like(mu, ybar), w)
    # for 0/1 outcomes the saturated log-likelihood is 0, so the deviance is -2 llf
    deviance = -2.0 * llf
    k = X.shape[1]
    return GLMFit(
        terms=terms,
        link=options.link,
        params=params,
        bse=bse,
        pvalues=pvalues,
        conf_int=conf_int,
        llf=llf,
        llnull=llnull,
        deviance=deviance,
        aic=information_criterion(Criterion.aic, llf, k, n_obs),
        bic=information_criterion(Criterion.bic, llf, k, n_obs),
        n_obs=n_obs,
        n_params=k,
        converged=converged,
        iterations=iterations,
        penalised=options.alpha > 0,
        findings=tuple(findings),
        cov_type=options.cov_type.value if options.alpha == 0 else "none (penalised fit)",
        results=results,
    )
