"""The calibration gate on rating grades (Jeffreys test) and the gates' messages."""

from __future__ import annotations

import numpy as np
from scipy import stats

from credit_glm.config import EvaluationConfig
from credit_glm.evaluation import gate_failures
from credit_glm.validation_stats import grade_table


def test_jeffreys_gate_fails_an_underestimated_grade_and_names_it() -> None:
    # grade 1 (PD < 5%): 100 applicants at a PD of 2% with 8 defaults
    p = np.full(100, 0.02)
    y = np.zeros(100)
    y[:8] = 1.0
    grades = [g.to_dict() for g in grade_table(y, p, [0.05, 0.5])]
    jeffreys = stats.beta.cdf(0.02, 8 + 0.5, 100 - 8 + 0.5)  # the ECB test, written out
    assert grades[0]["jeffreys_pvalue"] == jeffreys < 0.01
    metrics = {"grades": grades}
    failures = gate_failures(EvaluationConfig(min_jeffreys_pvalue=0.01), metrics, "test")
    assert len(failures) == 1
    assert "evaluation.min_jeffreys_pvalue" in failures[0] and "grade 1" in failures[0]
    assert "8 defaults in 100" in failures[0]
    assert gate_failures(EvaluationConfig(min_jeffreys_pvalue=None), metrics, "test") == []


def test_an_overestimated_grade_passes_the_one_sided_gate() -> None:
    p = np.full(100, 0.3)
    y = np.zeros(100)
    y[:5] = 1.0  # far fewer defaults than predicted: conservative, not a failure
    metrics = {"grades": [g.to_dict() for g in grade_table(y, p, [0.05, 0.5])]}
    assert gate_failures(EvaluationConfig(min_jeffreys_pvalue=0.01), metrics, "test") == []


def test_the_level_is_shared_over_the_grades_tested() -> None:
    """Bonferroni: a grade's p-value is multiplied by the number of grades with rows."""
    rng = np.random.default_rng(0)
    p = np.concatenate([np.full(100, 0.02), rng.uniform(0.2, 0.4, 300)])
    y = np.zeros(400)
    y[:6] = 1.0  # grade 1: 6 defaults in 100 at 2%
    y[100:180] = 1.0
    grades = [g.to_dict() for g in grade_table(y, p, [0.05, 0.1, 0.5])]
    tested = [g for g in grades if g["n"]]
    assert len(tested) == 2
    raw = stats.beta.cdf(0.02, 6.5, 94.5)
    assert 0.005 < raw < 0.01  # fails alone at 1%, passes once shared over two grades
    gates = EvaluationConfig(min_jeffreys_pvalue=0.01)
    assert gate_failures(gates, {"grades": grades}, "test") == []
    assert gate_failures(EvaluationConfig(min_jeffreys_pvalue=0.02), {"grades": grades}, "test")
