"""The figures of the validation pack (``mode=report``), as plain data. Pure: arrays and
frames in, JSON-ready dicts out; the HTML and its plots are drawn from these and nothing else.

Each sample (train, test or out-of-time, a monitoring file) gets its discrimination
(AUC with DeLong interval, Gini, KS and where it occurs, the ROC curve), its calibration
(Hosmer-Lemeshow, the deciles of risk, the Brier score decomposed, the grade table with
binomial and Jeffreys tests) and its score distribution; stability compares every sample
with the training one (PSI of the score, CSI of each feature's input column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit_glm.config import ColumnType, DataConfig, EvaluationConfig

__all__ = ["Sample", "gate_verdicts", "sample_figures", "score_histogram", "stability_figures"]

#: Bins of the score-distribution histogram: the PD in twentieths.
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class Sample:
    """One sample of the report: its name, scores and, when labelled, outcomes."""

    name: str
    p: np.ndarray
    y: np.ndarray | None
    frame: pd.DataFrame  # the validated input columns, for the CSI


def score_histogram(p: np.ndarray, y: np.ndarray | None) -> dict[str, Any]:
    """Counts of predicted PDs in :data:`HISTOGRAM_BINS` equal bins of [0, 1], by outcome
    when ``y`` is known (``events``, ``nonevents``), else ``all``."""
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    out: dict[str, Any] = {"edges": [float(e) for e in edges]}
    if y is None:
        out["all"] = [int(c) for c in np.histogram(p, bins=edges)[0]]
    else:
        out["events"] = [int(c) for c in np.histogram(p[y == 1.0], bins=edges)[0]]
        out["nonevents"] = [int(c) for c in np.histogram(p[y == 0.0], bins=edges)[0]]
    return out


def sample_figures(sample: Sample, evaluation: EvaluationConfig, level: float) -> dict[str, Any]:
    """Every figure of one sample; discrimination and calibration need its outcomes."""
    from credit_glm import metrics as m
    from credit_glm import validation_stats as vs

    p, y = sample.p, sample.y
    out: dict[str, Any] = {
        "name": sample.name,
        "n": int(p.size),
        "score_distribution": score_histogram(p, y),
        "mean_pd": float(p.mean()),
    }
    if y is None or y.min() == y.max():
        out["labelled"] = False
        return out
    hl = m.hosmer_lemeshow(y, p, groups=evaluation.calibration_groups)
    out.update(
        {
            "labelled": True,
            "events": int(y.sum()),
            "event_rate": float(y.mean()),
            "discrimination": {
                "auc": vs.delong_auc(y, p, level).to_dict(),
                "ks": vs.ks_test(y, p).to_dict(),
                "roc": vs.roc_curve(y, p).to_dict(),
            },
            "calibration": {
                "hosmer_lemeshow": {"statistic": hl.statistic, "pvalue": hl.pvalue, "dof": hl.dof},
                "groups": m.calibration_table(y, p, groups=evaluation.calibration_groups),
                "brier": vs.brier_decomposition(y, p).to_dict(),
                "grades": [g.to_dict() for g in vs.grade_table(y, p, evaluation.grades, level)],
            },
        }
    )
    return out


def _kind(data: DataConfig, column: str) -> str:
    declared = data.columns.get(column)
    numeric = declared is not None and declared.type in (ColumnType.int, ColumnType.float)
    return "numeric" if numeric else "categorical"


def _values(frame: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    values = frame[column]
    if kind == "numeric":
        x: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        return np.asarray(x[np.isfinite(x)], dtype=float)
    labels: np.ndarray = values.astype(object).where(values.notna(), "(missing)").to_numpy()
    return labels


def stability_figures(
    reference: Sample,
    others: Sequence[Sample],
    columns: Sequence[str],
    data: DataConfig,
    bins: int,
) -> dict[str, Any]:
    """PSI of the score and CSI of each input column, every sample against ``reference``.

    A numeric column is binned at the reference's quantiles (missing values left out of
    both); a category's levels are its bins, missing values one more level.
    """
    from credit_glm.validation_stats import characteristic_stability

    psi: dict[str, Any] = {}
    csi: dict[str, dict[str, Any]] = {c: {} for c in columns}
    for other in others:
        psi[other.name] = characteristic_stability(reference.p, other.p, "numeric", bins).to_dict()
        for column in columns:
            kind = _kind(data, column)
            expected = _values(reference.frame, column, kind)
            actual = _values(other.frame, column, kind)
            if expected.size == 0 or actual.size == 0:
                csi[column][other.name] = None
                continue
            csi[column][other.name] = characteristic_stability(
                expected, actual, kind, bins
            ).to_dict()
    return {"reference": reference.name, "psi": psi, "csi": csi}


def gate_verdicts(card: Mapping[str, Any]) -> dict[str, Any]:
    """The gates as the card records them: passed, and each failure's reason."""
    gates = card.get("gates") or {}
    return {"passed": bool(gates.get("passed")), "failures": list(gates.get("failures") or [])}
