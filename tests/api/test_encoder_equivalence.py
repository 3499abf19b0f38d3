"""The one scorer equals statsmodels on ``design_matrix``'s matrix, and refuses what it refuses.

``credit_glm.features.design_matrix`` is the definition of the encoding and statsmodels' links
the definition of the probabilities. On generated columns (every transform, merged and unseen
levels, missing values under each policy, values outside log1p's domain, batches of one row
and of many) :meth:`ScoringModel.predict` raises exactly when ``design_matrix`` raises, with
the same violations, and otherwise gives statsmodels' inverse link of an exactly summed
(rational) linear predictor to 1e-12; each row's probability is the same bits alone, in the
batch and through the per-record path. The trained model's probabilities equal the pickled
statsmodels results' ``predict``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit_glm.artifact import load_pickle
from credit_glm.config import Link
from credit_glm.errors import ValidationFailed
from credit_glm.features import MISSING_LEVEL, FeatureSpec, ModelSpec, design_matrix
from credit_glm.scoring import ScoringModel

pytestmark = pytest.mark.slow

_BIN_LABELS = ("[-inf, 0)", "[0, 5)", "[5, inf)")
_STATSMODELS_LINKS = {
    Link.logit: sm.families.links.Logit(),
    Link.probit: sm.families.links.Probit(),
    Link.cloglog: sm.families.links.CLogLog(),
}


def _every_transform(link: Link = Link.logit) -> ScoringModel:
    features = (
        FeatureSpec("a", "a", "numeric", ("a",)),
        FeatureSpec("c", "c", "clip", ("c",), lower=0.0, upper=10.0),
        FeatureSpec("l", "l", "log1p", ("log1p(l)",)),
        FeatureSpec("m", "m", "numeric", ("m",), missing="median", fill=2.5),
        FeatureSpec("s", "s", "scale", ("s/1000",), missing="value", fill=3.0, divisor=1000.0),
        FeatureSpec("z", "a", "standardize", ("standardize(z)",), mean=1.5, sd=4.25),
        FeatureSpec(
            "b",
            "b",
            "bins",
            tuple(f"b{x}" for x in (*_BIN_LABELS[1:], MISSING_LEVEL)),
            missing="level",
            cuts=(0.0, 5.0),
            levels=(*_BIN_LABELS[1:], MISSING_LEVEL),
            reference=_BIN_LABELS[0],
        ),
        FeatureSpec(
            "o",
            "o",
            "onehot",
            ("o[merged]", "o[x]", "o[y]", f"o[{MISSING_LEVEL}]"),
            missing="level",
            levels=("merged", "x", "y", MISSING_LEVEL),
            merge=(("r1", "merged"), ("r2", "merged")),
            reference="z",
            unseen="map",
        ),
        FeatureSpec("k", "k", "onehot", ("k[1]", "k[2]"), levels=("1", "2"), reference="3"),
    )
    spec = ModelSpec(features=features)
    params = np.random.default_rng(7).normal(size=len(spec.terms))
    return ScoringModel(spec=spec, params=params, link=link)


NUMBERS = st.one_of(
    st.floats(-20, 20),
    st.integers(-20, 20),
    st.sampled_from(
        [None, math.nan, -1, -1.0, -0.0, 0.0, -0.5, 5.0, 10.0, 1e300, -1e300, 2e4, True]
    ),
)
COLUMN_VALUES = {
    "a": NUMBERS,
    "c": NUMBERS,
    "l": NUMBERS,
    "m": NUMBERS,
    "s": NUMBERS,
    "b": NUMBERS,
    "o": st.sampled_from(
        ["x", "y", "z", "r1", "r2", "merged", "unknown", MISSING_LEVEL, None, 1, 2.0]
    ),
    "k": st.sampled_from([1, 2, 3, 4, 1.0, 2.5, True, "1", "2", "3", None]),
}


def _reference(model: ScoringModel, X: np.ndarray) -> np.ndarray:
    """statsmodels' inverse link of each row's linear predictor, summed exactly."""
    etas = [
        float(
            sum(
                (
                    Fraction(x) * Fraction(b)
                    for x, b in zip(row, model.params.tolist(), strict=True)
                ),
                Fraction(0),
            )
        )
        for row in X.tolist()
    ]
    with np.errstate(over="ignore", under="ignore"):
        return np.asarray(_STATSMODELS_LINKS[model.link].inverse(np.array(etas)), dtype=float)


def _check(model: ScoringModel, columns: dict[str, list[Any]]) -> bool:
    """Asserts the scorer's contract on ``columns``; True when they were scored."""
    try:
        X = design_matrix(model.spec, columns)
    except ValidationFailed as expected:
        with pytest.raises(ValidationFailed) as got:
            model.predict(columns)
        assert got.value.violations == expected.violations
        return False
    p = model.predict(columns)
    if np.isfinite(X).all():  # the schema refuses infinities before scoring
        np.testing.assert_allclose(p, _reference(model, X), rtol=1e-12, atol=1e-15)
    n = len(next(iter(columns.values())))
    for i in range(n):
        record = {c: v[i] for c, v in columns.items()}
        alone = model.predict({c: [v] for c, v in record.items()})
        assert alone.tobytes() == p[i : i + 1].tobytes()  # the same bits alone and in the batch
        assert np.array([model.predict_record(record)]).tobytes() == alone.tobytes()
    return True


SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("link", list(Link))
def test_every_transform_scores_as_statsmodels_on_design_matrix(link: Link) -> None:
    model = _every_transform(link)

    @SETTINGS
    @given(n=st.integers(1, 6), data=st.data())
    def check(n: int, data: st.DataObject) -> None:
        columns = {
            c: data.draw(st.lists(s, min_size=n, max_size=n)) for c, s in COLUMN_VALUES.items()
        }
        _check(model, columns)

    check()


@pytest.mark.parametrize("n", [1, 5])
def test_clean_values_are_scored(n: int) -> None:
    row = {"a": -3.5, "c": -0.0, "l": 2.0, "m": 7, "s": 52_000, "b": 5.0, "o": "r1", "k": 2}
    assert _check(_every_transform(), {c: [v] * n for c, v in row.items()})


def test_the_trained_model_scores_as_the_pickled_statsmodels_results(
    card: dict[str, Any], card_path: Path, german_frame: pd.DataFrame
) -> None:
    from credit_glm.schema import build_schema, data_config_from_dict, validate_frame

    model = ScoringModel.from_card(card)
    data = data_config_from_dict(card["schema"])
    frame = validate_frame(german_frame, build_schema(data, "training"), data)
    results = load_pickle(card_path)["results"]
    expected = np.asarray(results.predict(design_matrix(model.spec, frame)), dtype=float)
    np.testing.assert_allclose(model.predict(frame), expected, rtol=0, atol=1e-12)
    columns = {
        c: [v.item() if isinstance(v, np.generic) else v for v in frame[c].tolist()]
        for c in model.spec.columns
    }
    assert _check(model, {c: v[:40] for c, v in columns.items()})
