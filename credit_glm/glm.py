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
from credit_glm.selection.criteria import information_criterion
from credit_glm.separation import SEPARATION_EPS, n_separated

__all__ = ["GLMFit", "binomial_family", "dependent_terms", "fit_glm"]


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
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ModelFitError(_rank_deficiency(X, terms, rank, sources or {}))
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    family = binomial_family(options.link)
    model = sm.GLM(y, X, family=family, freq_weights=w if weights is not None else None)
    findings: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if options.alpha > 0:
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
            results = model.fit(
                maxiter=options.max_iter, tol=options.tol, cov_type=options.cov_type.value
            )
            params = np.asarray(results.params, dtype=float)
            converged = bool(results.converged)
            iterations = int(results.fit_history["iteration"])
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
