"""The immutable audit trail every selection strategy returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from credit_glm.jsonable import json_safe

__all__ = ["PathStep", "RankedSubset", "SelectionCounts", "SelectionResult"]

Decision = Literal["added", "removed", "rejected", "stopped"]


@dataclass(frozen=True)
class RankedSubset:
    """One evaluated feasible subset.

    Attributes
    ----------
    features : tuple of str
        Feature names in the order of the problem's groups.
    criterion_value : float
        Criterion (lower is better; ``-AUC`` for AUC).
    n_params : int
        Coefficients including the intercept.
    llf : float
        Log-likelihood of the model fitted on all rows.
    """

    features: tuple[str, ...]
    criterion_value: float
    n_params: int
    llf: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "features": list(self.features),
            "criterion_value": json_safe(self.criterion_value),
            "n_params": self.n_params,
            "llf": json_safe(self.llf),
        }


@dataclass(frozen=True)
class PathStep:
    """One decision of a stepwise search.

    Attributes
    ----------
    step : int
        Step number (0 = the starting model); all candidates tried at a step share it.
    candidate : str or None
        Feature whose entry or removal was considered (``None`` when the search stops).
    criterion_value : float or None
        Criterion of the model after the move; for ``criterion="pvalue"`` the
        likelihood-ratio p-value of the move.
    decision : {"added", "removed", "rejected", "stopped"}
    reason : str
        Why, in words.
    """

    step: int
    candidate: str | None
    criterion_value: float | None
    decision: Decision
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "step": self.step,
            "candidate": self.candidate,
            "criterion_value": json_safe(self.criterion_value),
            "decision": self.decision,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SelectionCounts:
    """What the search did.

    Attributes
    ----------
    total_subsets : int
        Subsets in the search space (within the size limits, forced and excluded features
        applied); for stepwise searches the number of distinct subsets evaluated.
    fitted : int
        Subsets whose model was fitted (skipped ones included).
    pruned : int
        Subsets never fitted because a branch-and-bound bound ruled their branch out.
    skipped_nonconverged, skipped_separated, skipped_singular : int
        Fitted subsets dropped because the fit failed (never selected).
    skipped_constraint : int
        Fitted subsets that broke a constraint (max_vif, max_pvalue, expected sign). Only
        subsets good enough to matter are checked, so this is a lower bound for exhaustive
        and random search.
    extra_fits : int
        Fits beyond one per subset of the space: models outside the size limits fitted
        only to bound a branch, and the greedy forward pass that seeds the branch-and-bound
        incumbent.
    """

    total_subsets: int
    fitted: int
    pruned: int
    skipped_nonconverged: int
    skipped_separated: int
    skipped_singular: int
    skipped_constraint: int
    extra_fits: int

    @property
    def skipped(self) -> int:
        """All skipped subsets."""
        return (
            self.skipped_nonconverged
            + self.skipped_separated
            + self.skipped_singular
            + self.skipped_constraint
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "total_subsets": self.total_subsets,
            "fitted": self.fitted,
            "pruned": self.pruned,
            "skipped": self.skipped,
            "skipped_nonconverged": self.skipped_nonconverged,
            "skipped_separated": self.skipped_separated,
            "skipped_singular": self.skipped_singular,
            "skipped_constraint": self.skipped_constraint,
            "extra_fits": self.extra_fits,
        }


@dataclass(frozen=True)
class SelectionResult:
    """Outcome and audit trail of one selection run.

    Attributes
    ----------
    strategy : str
        ``"exhaustive"``, ``"forward"``, ``"backward"``, ``"stepwise"`` or ``"random"``.
    criterion : str
        ``"aic"``, ``"bic"``, ``"auc"``, ``"log_loss"`` or ``"pvalue"``.
    selected : tuple of str
        Selected features in the order of the problem's groups.
    columns : tuple of int
        Their design-matrix columns, intercept (0) first.
    criterion_value : float
        Criterion of the selected model (lower is better; ``-AUC`` for AUC). For
        ``"pvalue"``: the largest likelihood-ratio p-value of dropping any one removable
        feature of the selected model.
    llf, aic, bic : float
        Of the selected model fitted on all rows.
    path : tuple of PathStep
        Stepwise decisions (empty for exhaustive and random search).
    top : tuple of RankedSubset
        Best feasible subsets, best first (exhaustive and random search; for stepwise the
        models visited, best first).
    counts : SelectionCounts
    wall_time : float
        Seconds.
    """

    strategy: str
    criterion: str
    selected: tuple[str, ...]
    columns: tuple[int, ...]
    criterion_value: float
    llf: float
    aic: float
    bic: float
    path: tuple[PathStep, ...]
    top: tuple[RankedSubset, ...]
    counts: SelectionCounts
    wall_time: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (non-finite numbers become ``None``)."""
        return {
            "strategy": self.strategy,
            "criterion": self.criterion,
            "selected": list(self.selected),
            "columns": list(self.columns),
            "criterion_value": json_safe(self.criterion_value),
            "llf": json_safe(self.llf),
            "aic": json_safe(self.aic),
            "bic": json_safe(self.bic),
            "path": [step.to_dict() for step in self.path],
            "top": [subset.to_dict() for subset in self.top],
            "counts": self.counts.to_dict(),
            "wall_time": self.wall_time,
        }
