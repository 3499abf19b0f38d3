"""A seeded generator of loan applications with known true coefficients.

Used to check that fitting recovers what generated the data; its schema and features are
``conf/data/synthetic.yaml`` and ``conf/features/synthetic.yaml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_glm.config import Link
from credit_glm.links import inverse_link

__all__ = ["TRUE_COEFFICIENTS", "make_applications"]

# On the design terms of conf/features/synthetic.yaml (logit link).
TRUE_COEFFICIENTS: dict[str, float] = {
    "Intercept": 2.5,
    "utilisation": 1.5,
    "log1p(income)": -0.35,
    "months_on_book": -0.02,
    "region[north]": 0.4,
    "region[south]": -0.3,
    "delinquencies[1, 3)": 0.8,
    "delinquencies[3, inf)": 1.6,
}


def make_applications(n: int = 20_000, seed: int = 7) -> pd.DataFrame:
    """``n`` applications drawn with ``numpy.random.default_rng(seed)``; ``default_flag`` 0/1."""
    rng = np.random.default_rng(seed)
    utilisation = rng.uniform(0.0, 1.0, n)
    income = np.round(rng.lognormal(mean=10.0, sigma=0.5, size=n), 2)
    months = rng.integers(1, 121, n)
    region = rng.choice(["central", "north", "south"], size=n, p=[0.5, 0.25, 0.25])
    delinquencies = rng.poisson(0.8, n)
    b = TRUE_COEFFICIENTS
    eta = (
        b["Intercept"]
        + b["utilisation"] * utilisation
        + b["log1p(income)"] * np.log1p(income)
        + b["months_on_book"] * months
        + np.select(
            [region == "north", region == "south"], [b["region[north]"], b["region[south]"]], 0.0
        )
        + np.select(
            [(delinquencies >= 1) & (delinquencies < 3), delinquencies >= 3],
            [b["delinquencies[1, 3)"], b["delinquencies[3, inf)"]],
            0.0,
        )
    )
    default = rng.random(n) < inverse_link(Link.logit, eta)
    return pd.DataFrame(
        {
            "application_id": [f"A{i:06d}" for i in range(n)],
            "utilisation": np.round(utilisation, 6),
            "income": income,
            "months_on_book": months,
            "region": region,
            "delinquencies": delinquencies,
            "default_flag": default.astype(int),
        }
    )
