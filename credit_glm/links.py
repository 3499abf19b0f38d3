"""The binomial links, written once: the inverse link every scoring path uses.

Training metrics, evaluation, the service, batch scoring and the selection engine all turn a
linear predictor into a probability here. Each form is overflow-safe over the whole real line
(no warning, no NaN: a probability in [0, 1] for any finite or infinite linear predictor) and
elementwise, so a row's probability depends on its own linear predictor alone, never on the
batch around it.

- logit: ``expit(eta)`` (:func:`scipy.special.expit`);
- probit: ``Phi(eta)`` (:func:`scipy.special.ndtr`);
- cloglog: ``1 - exp(-exp(eta))``, computed as ``-expm1(-exp(eta))`` so small probabilities
  keep their precision; ``exp`` overflowing to ``inf`` gives exactly 1.

These are the inverses of statsmodels' ``Logit``, ``Probit`` and ``CLogLog`` links (McCullagh &
Nelder 1989, ch. 4), evaluated in forms that do not overflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from credit_glm.config import Link

__all__ = ["Link", "inverse_link"]


def inverse_link(link: Link | str, eta: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The probability ``g^{-1}(eta)`` of each linear predictor under ``link``.

    Parameters
    ----------
    link
        ``logit``, ``probit`` or ``cloglog``.
    eta
        Linear predictors (any shape; a scalar gives a 0-d array).
    """
    z = np.asarray(eta, dtype=np.float64)
    kind = Link(link)
    if kind is Link.logit:
        out: Any = special.expit(z)
    elif kind is Link.probit:
        out = special.ndtr(z)
    else:
        with np.errstate(over="ignore"):
            out = -np.expm1(-np.exp(z))
    return np.asarray(out, dtype=np.float64)
