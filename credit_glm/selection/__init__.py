"""Feature selection for binomial GLMs (logistic regression and friends), fast and audited.

Candidate features are groups of design-matrix columns. Strategies:

- :func:`select_exhaustive`: best subset; exact branch and bound for AIC/BIC, enumeration for
  cross-validated AUC / log loss;
- :func:`select_forward`, :func:`select_backward`, :func:`select_stepwise`: greedy moves by
  a criterion or by likelihood-ratio p-values;
- :func:`select_random`: best of a seeded random sample of subsets.

Candidates are fitted with a lean Newton solver (:mod:`.solver`) whose log-likelihood, AIC
and BIC equal statsmodels' ``GLM(..., family=Binomial(link))`` to 1e-6. Results are
immutable :class:`SelectionResult` audit trails and do not depend on ``n_jobs``.
"""

from ._runtime import Progress
from .criteria import CrossValidation
from .exhaustive import NoFeasibleSubsetError, select_exhaustive
from .problem import SelectionConstraints, SelectionProblem
from .random_search import select_random
from .result import PathStep, RankedSubset, SelectionCounts, SelectionResult
from .solver import BinomialDesign, FitResult
from .stepwise import select_backward, select_forward, select_stepwise

__all__ = [
    "BinomialDesign",
    "CrossValidation",
    "FitResult",
    "NoFeasibleSubsetError",
    "PathStep",
    "Progress",
    "RankedSubset",
    "SelectionConstraints",
    "SelectionCounts",
    "SelectionProblem",
    "SelectionResult",
    "select_backward",
    "select_exhaustive",
    "select_forward",
    "select_random",
    "select_stepwise",
]
