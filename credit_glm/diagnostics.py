"""Model diagnostics: the coefficient table, fit statistics and collinearity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from credit_glm.collinearity import condition_number, generalized_vif
from credit_glm.config import Link
from credit_glm.features import ModelSpec
from credit_glm.glm import GLMFit
from credit_glm.jsonable import json_safe

__all__ = ["coefficient_table", "collinearity_report", "fit_statistics"]


def coefficient_table(fit: GLMFit) -> list[dict[str, Any]]:
    """Per term: estimate, standard error, z, p-value, 95% interval and odds ratio.

    The odds ratio exp(beta) is reported for the logit link only, where it has that meaning.
    """
    rows = []
    z = fit.zvalues
    for i, term in enumerate(fit.terms):
        est = float(fit.params[i])
        row: dict[str, Any] = {
            "term": term,
            "estimate": est,
            "std_error": None if fit.bse is None else json_safe(fit.bse[i]),
            "z": None if z is None else json_safe(z[i]),
            "p_value": None if fit.pvalues is None else json_safe(fit.pvalues[i]),
            "ci_lower": None if fit.conf_int is None else json_safe(fit.conf_int[i, 0]),
            "ci_upper": None if fit.conf_int is None else json_safe(fit.conf_int[i, 1]),
            "odds_ratio": json_safe(math.exp(est)) if fit.link is Link.logit else None,
        }
        rows.append(row)
    return rows


def fit_statistics(fit: GLMFit) -> dict[str, Any]:
    return {
        "n_obs": fit.n_obs,
        "n_params": fit.n_params,
        "log_likelihood": fit.llf,
        "null_log_likelihood": fit.llnull,
        "deviance": fit.deviance,
        "aic": fit.aic,
        "bic": fit.bic,
        "mcfadden_pseudo_r2": fit.pseudo_r2,
        "converged": fit.converged,
        "iterations": fit.iterations,
        "penalised": fit.penalised,
        "cov_type": fit.cov_type,
        "findings": list(fit.findings),
    }


def collinearity_report(
    X: np.ndarray, spec: ModelSpec, weights: np.ndarray | None = None
) -> dict[str, Any]:
    """GVIF per feature (Fox & Monette 1992) and the scaled condition number (Belsley 1980).

    ``vif`` is GVIF^(1/df): the plain VIF for a one-column feature, and the comparable figure
    for a one-hot or binned feature of ``df`` columns. The evaluation gate ``max_vif`` uses it;
    with frequency ``weights`` it is the weighted GVIF, the one the selection constraint
    ``max_vif`` applies, so a selected model and the gate agree.
    """
    groups = dict(spec.groups())
    per_feature: dict[str, Any] = {}
    if len(groups) >= 1:
        gvifs = generalized_vif(X, groups, intercept=spec.intercept, weights=weights)
        for name, g in gvifs.items():
            per_feature[name] = {"gvif": json_safe(g.gvif), "df": g.df, "vif": json_safe(g.vif)}
    return {
        "features": per_feature,
        "condition_number": json_safe(condition_number(X, scale=True)),
    }
