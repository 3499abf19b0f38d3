"""The compiled design-matrix encoder builds exactly ``design_matrix``'s matrix, or declines.

``credit_glm.features.design_matrix`` is the definition. On generated columns (every transform,
merged and unseen levels, missing values under each policy, values outside log1p's domain,
batches of one row and of many) the encoder either returns ``None`` (the service then calls
``design_matrix`` itself) or a matrix equal to ``design_matrix``'s byte for byte; it never
returns a matrix where ``design_matrix`` raises. The served probabilities agree with the
inverse link of an exact (rational) linear predictor and with ``ScoringModel.predict`` to
1e-15, and a row's probability is bit-identical alone and in any batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit_glm.config import Link
from credit_glm.errors import ValidationFailed
from credit_glm.features import MISSING_LEVEL, FeatureSpec, ModelSpec, design_matrix
from credit_glm.glm import inverse_link
from credit_glm.scoring import ScoringModel
from credit_glm.service.encoding import DesignEncoder, Scorer, inverse, linear_predictor

pytestmark = pytest.mark.slow

_BIN_LABELS = ("[-inf, 0)", "[0, 5)", "[5, inf)")


def _every_transform() -> ScoringModel:
    features = (
        FeatureSpec("a", "a", "numeric", ("a",)),
        FeatureSpec("c", "c", "clip", ("c",), lower=0.0, upper=10.0),
        FeatureSpec("l", "l", "log1p", ("log1p(l)",)),
        FeatureSpec("m", "m", "numeric", ("m",), missing="median", fill=2.5),
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
    return ScoringModel(spec=spec, params=params, link=Link.logit)


NUMBERS = st.one_of(
    st.floats(-20, 20),
    st.integers(-20, 20),
    st.sampled_from(
        [None, math.nan, math.inf, -math.inf, -1, -1.0, -0.0, 0.0, -0.5, 5.0, 10.0, 1e300]
    ),
)
COLUMN_VALUES = {
    "a": NUMBERS,
    "c": NUMBERS,
    "l": NUMBERS,
    "m": NUMBERS,
    "b": NUMBERS,
    "o": st.sampled_from(
        ["x", "y", "z", "r1", "r2", "merged", "unknown", MISSING_LEVEL, None, 1, 2.0]
    ),
    "k": st.sampled_from([1, 2, 3, 4, 1.0, 2.5, True, "1", "2", "3", None]),
}


def _same(model: ScoringModel, columns: dict[str, list[Any]]) -> bool:
    """Asserts the encoder's contract; True when it built the matrix itself."""
    encoder = DesignEncoder(model)
    got = encoder.encode(columns)
    try:
        expected = design_matrix(model.spec, columns)
    except ValidationFailed:
        assert got is None
        return False
    if got is None:
        return False
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()  # bit for bit, signed zeros included
    if len(next(iter(columns.values()))) == 1:
        record = {c: v[0] for c, v in columns.items()}
        one = encoder.encode_record(record)
        assert one is not None and np.array([one]).tobytes() == expected.tobytes()
    if np.isfinite(expected).all():  # the schema refuses infinities before scoring
        served = Scorer(model).matrix(got)
        np.testing.assert_allclose(served, _reference(model, expected), rtol=1e-12, atol=1e-15)
        with np.errstate(over="ignore"):  # ScoringModel's exp overflows where ours does not
            scored = model.predict(columns)
        np.testing.assert_allclose(served, scored, rtol=1e-12, atol=1e-15)
    return True


def _reference(model: ScoringModel, X: np.ndarray) -> np.ndarray:
    """The inverse link of each row's linear predictor, summed exactly with fractions."""
    from fractions import Fraction

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
    with np.errstate(over="ignore"):
        return np.asarray(inverse_link(model.link, np.array(etas)))


SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_transform_encodes_like_design_matrix() -> None:
    model = _every_transform()

    @SETTINGS
    @given(n=st.integers(1, 6), data=st.data())
    def check(n: int, data: st.DataObject) -> None:
        columns = {
            c: data.draw(st.lists(s, min_size=n, max_size=n)) for c, s in COLUMN_VALUES.items()
        }
        _same(model, columns)

    check()


@pytest.mark.parametrize("n", [1, 5])
def test_clean_values_take_the_fast_path(n: int) -> None:
    model = _every_transform()
    row = {"a": -3.5, "c": -0.0, "l": 2.0, "m": 7, "b": 5.0, "o": "r1", "k": 2}
    assert _same(model, {c: [v] * n for c, v in row.items()})


def test_the_trained_model_encodes_like_design_matrix(
    card: dict[str, Any], german_frame: pd.DataFrame
) -> None:
    from credit_glm.schema import build_schema, data_config_from_dict, validate_frame

    model = ScoringModel.from_card(card)
    data = data_config_from_dict(card["schema"])
    frame = validate_frame(german_frame, build_schema(data, "training"), data)
    columns = {
        c: [v.item() if isinstance(v, np.generic) else v for v in frame[c].tolist()]
        for c in model.spec.columns
    }
    assert _same(model, columns)  # all 1,000 rows at once
    for i in range(0, 1000, 97):  # and one row at a time (the single-row path)
        assert _same(model, {c: v[i : i + 1] for c, v in columns.items()})


def test_a_row_scores_the_same_alone_and_in_any_batch() -> None:
    rng = np.random.default_rng(3)
    model = _every_transform()
    scorer = Scorer(model)
    X = rng.normal(size=(400, len(model.spec.terms)))
    everything = scorer.matrix(X)
    for start in range(0, 390, 7):
        for size in (1, 2, 3, 5, 8, 17):
            alone = np.array(X[start : start + size])  # a fresh array: its own alignment
            assert scorer.matrix(alone).tobytes() == everything[start : start + size].tobytes()
            assert scorer.row(X[start].tolist()) == everything[start]


@pytest.mark.parametrize("link", list(Link))
def test_each_link_is_statsmodels_formula(link: Link) -> None:
    eta = np.concatenate([np.linspace(-40, 40, 401), [-800.0, 800.0, 0.0, -0.0]])
    got = np.array([inverse(link, float(e)) for e in eta])
    with np.errstate(over="ignore"):
        expected = inverse_link(link, eta)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert linear_predictor([0.1, 0.2, 0.3], [1.0, 1.0, 1.0]) == 0.6  # fsum: exactly rounded
