"""Write ``applications.csv``: the synthetic portfolio of the README's "Bringing your own data".

A small loan book with an identifier, a nullable income and two rare purposes, drawn from a fixed
seed with numpy's PCG64 (the same file on every machine), with defaults from a known logit model.
Run ``python tests/data/make_applications.py`` to rewrite it; the README runner uses the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 2000
SEED = 20240601
PURPOSES = ["car", "furniture", "education", "business", "repairs", "retraining"]
PURPOSE_SHARES = [0.36, 0.28, 0.16, 0.14, 0.03, 0.03]
PURPOSE_EFFECT = {
    "car": 0.0,
    "furniture": 0.1,
    "education": 0.3,
    "business": 0.5,
    "repairs": 0.2,
    "retraining": 0.4,
}
REGION_EFFECT = {"central": 0.0, "north": 0.35, "south": -0.25}


def applications(rows: int = ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    utilisation = rng.beta(2.0, 3.0, rows)
    income = np.round(rng.lognormal(np.log(42_000), 0.45, rows), -2)
    months = rng.integers(0, 300, rows)
    region = rng.choice(list(REGION_EFFECT), rows, p=[0.5, 0.3, 0.2])
    delinquencies = rng.poisson(0.6, rows)
    purpose = rng.choice(PURPOSES, rows, p=PURPOSE_SHARES)
    eta = (
        -2.4
        + 4.0 * utilisation
        - 1.2 * (np.log1p(income) - np.log(42_000))
        - 0.006 * np.minimum(months, 240)
        + np.array([REGION_EFFECT[r] for r in region])
        + np.select([delinquencies >= 3, delinquencies >= 1], [2.0, 1.0], 0.0)
        + np.array([PURPOSE_EFFECT[p] for p in purpose])
    )
    default = (rng.random(rows) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    income_text = pd.Series(income).map(lambda v: f"{v:.0f}")
    income_text[rng.random(rows) < 0.04] = ""  # missing incomes
    return pd.DataFrame(
        {
            "application_id": [f"APP-{i:05d}" for i in range(1, rows + 1)],
            "utilisation": np.round(utilisation, 4),
            "income": income_text,
            "months_on_book": months,
            "region": region,
            "delinquencies": delinquencies,
            "purpose": purpose,
            "default_flag": default,
        }
    )


if __name__ == "__main__":
    out = Path(__file__).with_name("applications.csv")
    applications().to_csv(out, index=False)
    print(f"wrote {out}")
