"""Evaluation gates: the thresholds a model must meet to be promoted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credit_glm.config import EvaluationConfig

__all__ = ["bonferroni", "gate_failures"]


def bonferroni(pvalue: float, tests: int) -> float:
    """A p-value adjusted for ``tests`` tests at once (Bonferroni): ``min(1, p * tests)``, so a
    gate at level a fails a model that meets it everywhere with probability at most a."""
    return min(1.0, pvalue * tests)


def gate_failures(
    gates: EvaluationConfig,
    metrics: Mapping[str, Any],
    sample: str,
    psi: float | None = None,
    vif: Mapping[str, float | None] | None = None,
    pvalues: Mapping[str, float | None] | None = None,
) -> list[str]:
    """Every gate the model fails, as readable reasons (empty when it passes).

    ``metrics`` are those of ``sample`` (``test``, or ``train`` when there is no test sample).
    """
    out: list[str] = []
    lower_bounds = (
        ("min_auc", "auc"),
        ("min_gini", "gini"),
        ("min_ks", "ks"),
        ("min_hosmer_lemeshow_pvalue", "hosmer_lemeshow_pvalue"),
    )
    for gate, key in lower_bounds:
        bound = getattr(gates, gate)
        if bound is not None and metrics[key] < bound:
            out.append(f"evaluation.{gate}: {sample} {key} {metrics[key]:.4f} < {bound}")
    if gates.min_jeffreys_pvalue is not None:
        grades = [g for g in metrics.get("grades") or () if g["jeffreys_pvalue"] is not None]
        for grade in grades:
            p = grade["jeffreys_pvalue"]
            adjusted = bonferroni(p, len(grades))
            if adjusted < gates.min_jeffreys_pvalue:
                out.append(
                    f"evaluation.min_jeffreys_pvalue: {sample} grade {grade['grade']} "
                    f"({_grade_range(grade)}) PD underestimated: {grade['defaults']} defaults "
                    f"in {grade['n']} against a mean PD of {grade['mean_pd']:.4f}, Jeffreys "
                    f"p-value {p:.4g} x {len(grades)} grades = {adjusted:.4g} "
                    f"< {gates.min_jeffreys_pvalue}"
                )
    if gates.max_brier is not None and metrics["brier"] > gates.max_brier:
        out.append(
            f"evaluation.max_brier: {sample} brier {metrics['brier']:.4f} > {gates.max_brier}"
        )
    if gates.max_psi is not None and psi is not None and psi > gates.max_psi:
        out.append(f"evaluation.max_psi: train-vs-{sample} score PSI {psi:.4f} > {gates.max_psi}")
    if gates.max_vif is not None and vif:
        for name, value in vif.items():
            if value is None or value > gates.max_vif:
                shown = "inf" if value is None else f"{value:.2f}"
                out.append(f"evaluation.max_vif: feature {name!r} VIF {shown} > {gates.max_vif}")
    if gates.max_coefficient_pvalue is not None and pvalues:
        for term, p in pvalues.items():
            if term != "Intercept" and p is not None and p > gates.max_coefficient_pvalue:
                out.append(
                    f"evaluation.max_coefficient_pvalue: term {term!r} p-value {p:.4f} "
                    f"> {gates.max_coefficient_pvalue}"
                )
    return out


def _grade_range(grade: Mapping[str, Any]) -> str:
    lower, upper = grade["lower"], grade["upper"]
    return f"PD [{0.0 if lower is None else lower:g}, {1.0 if upper is None else upper:g})"
