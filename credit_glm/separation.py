"""The separation rule, written once: when a binomial fit's probabilities reached 0 or 1.

Under complete or quasi-complete separation (Albert & Anderson 1984, Biometrika 71(1)) the
maximum-likelihood estimate does not exist: the likelihood keeps climbing while some fitted
probabilities run to 0 or 1 and their coefficients to infinity. A finite fit whose
probabilities come this close to the boundary is treated the same way, so every fit in the
package — the selection solver's candidate fits and the statsmodels refit of the chosen
model — gives one verdict on one data set: selection never picks a subset the refit refuses.

``SEPARATION_EPS = 1e-8`` is a linear predictor beyond about +-18.4 on the logit scale (odds of
10^8 to one), well past any probability a credit model can justify from data, and tight enough
that statsmodels' IRLS, which stops when the deviance changes by less than its tolerance, has
already pushed separated rows past it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SEPARATION_EPS", "n_separated", "separated_rows"]

#: A fitted probability this close to 0 or 1 marks (quasi-)separation.
SEPARATION_EPS = 1e-8


def separated_rows(
    mu: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> npt.NDArray[np.bool_]:
    """Which rows are fitted within :data:`SEPARATION_EPS` of 0 or 1.

    Parameters
    ----------
    mu
        Fitted probabilities, one per row.
    weights
        Optional frequency weights: a row of weight 0 is not in the likelihood and never
        counts.
    """
    p = np.asarray(mu, dtype=np.float64)
    edge = (p < SEPARATION_EPS) | (p > 1.0 - SEPARATION_EPS)
    if weights is not None:
        edge &= np.asarray(weights, dtype=np.float64) > 0.0
    return np.asarray(edge, dtype=np.bool_)


def n_separated(mu: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> int:
    """Number of rows :func:`separated_rows` flags (0 when the fit is clear of the boundary)."""
    return int(np.count_nonzero(separated_rows(mu, weights)))
