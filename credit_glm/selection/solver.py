"""Lean Newton solver for binomial GLMs on a column subset of one design matrix.

Feature selection fits thousands to millions of candidate models that differ only in which
columns of the same design matrix they use, so building a statsmodels model per candidate
would spend most of its time in object construction. :class:`BinomialDesign` keeps the
design transposed (one contiguous row per column, so a subset is a cheap row gather) and
runs a plain Newton-Raphson on the log-likelihood, optionally warm-started.

The maximum-likelihood estimate does not depend on the algorithm, so the log-likelihood
equals the one ``statsmodels.api.GLM(..., family=Binomial(link)).fit()`` (IRLS) reports,
to the convergence tolerance. For the canonical logit link the observed and expected
information coincide; for probit and cloglog the Newton step uses the observed information
(the binomial log-likelihood is concave in the linear predictor for all three links, see
Pratt 1981, "Concavity of the log likelihood", JASA 76(373)) while the covariance reported
for Wald tests uses the expected (Fisher) information, as statsmodels' IRLS does.

A fit ends in one of four states (:data:`FitStatus`):

``ok``
    Newton decrement and step converged.
``separated``
    Fitted probabilities within :data:`credit_glm.separation.SEPARATION_EPS` of 0 or 1
    (for any row with positive weight; the rule ``fit_glm`` applies to the refit too), or
    coefficients running
    off to infinity along a flat direction of the likelihood (complete or quasi-complete
    separation; Albert & Anderson 1984, Biometrika 71(1)). The MLE does not exist.
``singular``
    The information matrix is not positive definite: a column is (numerically) a linear
    combination of the others.
``nonconverged``
    Anything else that did not meet the tolerance within ``max_iter`` iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy.linalg import lapack

from credit_glm.config import Link
from credit_glm.links import inverse_link
from credit_glm.separation import n_separated

__all__ = ["BinomialDesign", "FitResult", "FitStatus"]

FitStatus = Literal["ok", "separated", "singular", "nonconverged"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: 1 - R^2 of a column on the previous ones (Cholesky pivot / diagonal) below this is singular.
_SINGULAR_PIVOT = 1e-11
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Reuse the last Hessian while each step cuts the Newton decrement at least this much.
_REFRESH = 1e-2


@dataclass(frozen=True, slots=True)
class FitResult:
    """Outcome of one fit.

    Attributes
    ----------
    status : FitStatus
        ``"ok"`` or the reason the fit cannot be used.
    cols : numpy.ndarray
        Design-matrix columns of the model, intercept first.
    params : numpy.ndarray
        Coefficients in the order of ``cols`` (the last iterate when not ``ok``).
    llf : float
        Log-likelihood at ``params`` (including frequency weights).
    n_iter : int
        Newton iterations used.
    chol : numpy.ndarray or None
        Lower Cholesky factor (only the lower triangle is meaningful) of the observed
        information at the last iterate where it was computed: near, not exactly at,
        ``params``. Good for warm starts and orderings; use
        :meth:`BinomialDesign.covariance` for inference. ``None`` when the fit failed.
    """

    status: FitStatus
    cols: IntArray
    params: FloatArray
    llf: float
    n_iter: int
    chol: FloatArray | None

    @property
    def ok(self) -> bool:
        """Whether the fit converged to a finite maximum-likelihood estimate."""
        return self.status == "ok"

    @property
    def k(self) -> int:
        """Number of estimated coefficients, intercept included."""
        return int(self.cols.shape[0])


class BinomialDesign:
    """A binary response and a design matrix, ready for many subset fits.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Design matrix; column 0 is the intercept.
    y : array_like, shape (n,)
        Response in {0, 1}.
    weights : array_like, shape (n,), optional
        Non-negative frequency weights (row ``i`` counts ``weights[i]`` times).
    link : {"logit", "probit", "cloglog"}
        Link function of the binomial GLM.
    tol : float
        Convergence tolerance on the Newton decrement ``g' H^-1 g`` (twice the predicted
        remaining gain in log-likelihood).
    max_iter : int
        Newton iterations before a fit is declared ``nonconverged``.

    Notes
    -----
    Call :meth:`fit` with the column indices (intercept first). Runs single-threaded numpy;
    callers pin BLAS to one thread around search loops (``threadpoolctl``), because the
    matrices are small and parallelism pays off across subsets, not within a fit.
    """

    def __init__(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
        link: Link | str = Link.logit,
        tol: float = 1e-10,
        max_iter: int = 60,
    ) -> None:
        x = np.asarray(X, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or yy.ndim != 1 or x.shape[0] != yy.shape[0]:
            raise ValueError("X must be (n, p) and y (n,) with the same n")
        try:
            kind = Link(link)
        except ValueError:
            raise ValueError(
                f"link must be one of {[k.value for k in Link]}, got {link!r}"
            ) from None
        if not np.all((yy == 0.0) | (yy == 1.0)):
            raise ValueError("y must contain only 0 and 1")
        self.link = kind
        self.n_rows, self.n_cols = x.shape
        self.XT: FloatArray = np.ascontiguousarray(x.T)
        self.y = yy
        if weights is None:
            self.w: FloatArray | None = None
            self.sum_w = float(self.n_rows)
            ybar = float(yy.mean())
        else:
            ww = np.asarray(weights, dtype=np.float64)
            if ww.shape != yy.shape or not np.all(np.isfinite(ww)) or np.any(ww < 0):
                raise ValueError("weights must be finite, non-negative and of shape (n,)")
            self.w = ww
            self.sum_w = float(ww.sum())
            ybar = float((ww * yy).sum() / self.sum_w)
        if not 0.0 < ybar < 1.0:
            raise ValueError("y must contain both classes (with positive weight)")
        self.ybar = ybar
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self._intercept0 = _link_fun(kind, ybar)
        self._pos = yy == 1.0
        self._yw = yy if self.w is None else yy * self.w

    # ------------------------------------------------------------------ pointwise pieces
    def _loglik(self, eta: FloatArray) -> float:
        link = self.link
        if link is Link.logit:
            softplus = np.logaddexp(0.0, eta)
            total = softplus.sum() if self.w is None else self.w @ softplus
            return float(self._yw @ eta - total)
        if link is Link.probit:
            terms = np.where(self._pos, special.log_ndtr(eta), special.log_ndtr(-eta))
        else:
            t = np.exp(eta)
            with np.errstate(divide="ignore"):
                terms = np.where(self._pos, np.log(-np.expm1(-t)), -t)
        return float(terms.sum() if self.w is None else terms @ self.w)

    def _score(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Weighted first derivative of each row's loglik in eta, and what
        :meth:`_curvature` needs (the fitted mean for logit, the curvature otherwise)."""
        link = self.link
        w = self.w
        if link is Link.logit:
            mu = self.mean(eta)
            d1 = self.y - mu
            return (d1 if w is None else d1 * w), mu
        if link is Link.probit:
            logphi = -0.5 * eta * eta - _LOG_SQRT_2PI
            m1 = np.exp(logphi - special.log_ndtr(eta))
            m0 = np.exp(logphi - special.log_ndtr(-eta))
            d1 = np.where(self._pos, m1, -m0)
            d2 = np.where(self._pos, m1 * (eta + m1), m0 * (m0 - eta))
        else:
            t = np.exp(eta)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                r = np.where(t > 0, t / np.expm1(t), 1.0)
            d1 = np.where(self._pos, r, -t)
            d2 = np.where(self._pos, -r * (1.0 - t - r), t)
        return (d1 if w is None else d1 * w), d2

    def _curvature(self, aux: FloatArray) -> FloatArray:
        """Weighted minus second derivative of each row's loglik in eta (observed info)."""
        d2 = aux * (1.0 - aux) if self.link is Link.logit else aux
        return d2 if self.w is None else d2 * self.w

    def fisher_weights(self, eta: FloatArray) -> FloatArray:
        """Expected-information weight ``mu'(eta)^2 / (mu (1 - mu))`` of each row."""
        link = self.link
        if link is Link.logit:
            mu = self.mean(eta)
            w = mu * (1.0 - mu)
        elif link is Link.probit:
            logphi = -0.5 * eta * eta - _LOG_SQRT_2PI
            w = np.exp(2.0 * logphi - special.log_ndtr(eta) - special.log_ndtr(-eta))
        else:
            t = np.exp(eta)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                w = np.where(t > 0, t * t / np.expm1(t), 0.0)
            w = np.nan_to_num(w, nan=0.0, posinf=0.0)
        return np.asarray(w if self.w is None else w * self.w, dtype=np.float64)

    def mean(self, eta: FloatArray) -> FloatArray:
        """Inverse link: fitted probabilities for linear predictors ``eta``."""
        return inverse_link(self.link, eta)

    def _n_extreme(self, eta: FloatArray) -> int:
        return n_separated(self.mean(eta), self.w)

    # ------------------------------------------------------------------ fitting
    def start(self, k: int) -> FloatArray:
        """Cold start: intercept at the link of the mean response, slopes zero."""
        beta = np.zeros(k)
        beta[0] = self._intercept0
        return beta

    def fit(
        self, cols: IntArray, start: FloatArray | None = None, hess: FloatArray | None = None
    ) -> FitResult:
        """Maximise the log-likelihood of the model on design columns ``cols``.

        Parameters
        ----------
        cols : numpy.ndarray of intp
            Column indices, intercept (0) first.
        start : numpy.ndarray, optional
            Starting coefficients (a warm start); default :meth:`start`.
        hess : numpy.ndarray, optional
            An approximation of the information matrix near ``start`` (e.g. the parent
            model's, restricted to ``cols``), used for the first steps.

        Returns
        -------
        FitResult

        Notes
        -----
        Newton's method with a lazily refreshed Hessian: the factor of the last information
        matrix is reused for the next step (a chord step, costing two matrix-vector
        products instead of an ``n k^2`` cross-product) as long as the previous step cut the
        Newton decrement ``g' H^-1 g`` at least a hundredfold; otherwise the information is
        recomputed at the current point. Near the optimum this keeps Newton's quadratic
        convergence at a fraction of the cost, and warm starts from a parent model need one
        cross-product or none. Steps are halved while they decrease the log-likelihood.
        """
        k = int(cols.shape[0])
        xt = self.XT[cols]
        beta = self.start(k) if start is None else np.array(start, dtype=np.float64)
        eta = beta @ xt
        ll = self._loglik(eta)
        chol: FloatArray | None = None
        fresh = False
        if hess is not None:
            factor, info = lapack.dpotrf(hess, lower=1, clean=0)
            chol = factor if info == 0 else None
        prev_decrement = math.inf
        for it in range(1, self.max_iter + 1):
            d1, aux = self._score(eta)
            grad = xt @ d1
            decrement = math.inf
            if chol is not None and not fresh:
                step, _ = lapack.dpotrs(chol, grad, lower=1)
                decrement = float(grad @ step)
            if chol is None or (not fresh and decrement > max(_REFRESH * prev_decrement, self.tol)):
                hess_now = (xt * self._curvature(aux)) @ xt.T
                factor, info = lapack.dpotrf(hess_now, lower=1, clean=0)
                if info != 0 or _pivot_ratio(factor, hess_now) < _SINGULAR_PIVOT:
                    status: FitStatus = "separated" if self._n_extreme(eta) else "singular"
                    return FitResult(status, cols, beta, ll, it, None)
                chol = factor
                fresh = True
                step, _ = lapack.dpotrs(chol, grad, lower=1)
                decrement = float(grad @ step)
            new_beta = beta + step
            new_eta = new_beta @ xt
            new_ll = self._loglik(new_eta)
            halvings = 0
            while not new_ll >= ll - 1e-12 * abs(ll) and halvings < 40:
                step *= 0.5
                new_beta = beta + step
                new_eta = new_beta @ xt
                new_ll = self._loglik(new_eta)
                halvings += 1
            if not np.isfinite(new_ll):
                return FitResult("nonconverged", cols, beta, ll, it, None)
            if halvings and not fresh:
                # A stale Hessian overshot: recompute it here rather than crawl.
                chol = None
                continue
            if decrement <= self.tol or (halvings == 40 and decrement <= 1e3 * self.tol):
                big = np.abs(step) > 1e-3 * (1.0 + np.abs(new_beta))
                if halvings < 40 and bool(big.any()):
                    # A vanishing gradient with large steps: the likelihood is flat towards
                    # infinity along some direction, i.e. separation.
                    if self._n_extreme(new_eta):
                        return FitResult("separated", cols, new_beta, new_ll, it, chol)
                    beta, eta, ll = new_beta, new_eta, new_ll
                    fresh = False
                    continue
                ok: FitStatus = "separated" if self._n_extreme(new_eta) else "ok"
                return FitResult(ok, cols, new_beta, new_ll, it, chol)
            if halvings == 40:
                break
            beta, eta, ll = new_beta, new_eta, new_ll
            prev_decrement = decrement
            fresh = False
        status = "separated" if self._n_extreme(eta) else "nonconverged"
        return FitResult(status, cols, beta, ll, self.max_iter, chol)

    def covariance(self, fit: FitResult) -> FloatArray:
        """Covariance of the coefficients: inverse expected information at ``fit.params``."""
        xt = self.XT[fit.cols]
        eta = fit.params @ xt
        info = (xt * self.fisher_weights(eta)) @ xt.T
        factor, code = lapack.dpotrf(info, lower=1, clean=1)
        if code != 0:
            return np.full((fit.k, fit.k), np.inf)
        inv, code = lapack.dpotri(factor, lower=1)
        if code != 0:
            return np.full((fit.k, fit.k), np.inf)
        inv = np.tril(inv)
        return np.asarray(inv + np.tril(inv, -1).T, dtype=np.float64)


def _pivot_ratio(factor: FloatArray, hess: FloatArray) -> float:
    """Smallest ``L_jj^2 / H_jj``: the share of a column's information not explained by the
    columns before it (1 / VIF-like, scale free)."""
    diag = np.diagonal(hess)
    piv = np.diagonal(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = piv * piv / diag
    return float(np.min(ratio)) if ratio.size else 1.0


def _link_fun(link: Link, p: float) -> float:
    if link is Link.logit:
        return math.log(p / (1.0 - p))
    if link is Link.probit:
        return float(special.ndtri(p))
    return math.log(-math.log1p(-p))
