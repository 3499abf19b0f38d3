"""Declarative features, frozen at fit time into a spec, and the one function that builds the
design matrix from it.

:func:`fit_feature_spec` turns the YAML declaration (:class:`~credit_glm.config.FeaturesConfig`)
and the training sample into a :class:`ModelSpec`: levels seen, reference levels, fill values.
:func:`design_matrix` is a pure function of that spec and a table; training, evaluation, batch
scoring and the service all call it, so the matrix is built one way only. The spec round-trips
through plain JSON (:meth:`ModelSpec.to_dict` / :meth:`ModelSpec.from_dict`), which is how the
model card carries it.

Each transform is one class of :mod:`credit_glm.transforms`, found by name in its registry;
this module holds no per-transform code. Design-matrix columns ("terms") are named ``Intercept``,
``<feature>`` (numeric, clip), ``log1p(<f>)``, ``<f>/<divisor>`` (scale), ``standardize(<f>)``,
``<feature>[<level>]`` (one-hot) and ``<feature>[<lo>, <hi>)`` (bins). Each feature is one group
of columns that enters or leaves the model as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from credit_glm.config import DataConfig, FeaturesConfig, MissingPolicy, UnseenPolicy
from credit_glm.errors import ConfigError, SchemaViolation, ValidationFailed
from credit_glm.pandas_checks import is_frame
from credit_glm.transforms import MISSING_LEVEL, FeatureTransform, FitOutcome, transform_named

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MISSING_LEVEL",
    "FeatureSpec",
    "ModelSpec",
    "design_matrix",
    "fit_feature_spec",
]

INTERCEPT = "Intercept"
# written to the card only when set, so cards of models without them are unchanged
_OPTIONAL_FLOATS = ("divisor", "mean", "sd", "iv", "smoothing")
_OPTIONAL_FIELDS = (*_OPTIONAL_FLOATS, "trend", "groups", "bin_table")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature, frozen: everything needed to turn its column into design columns."""

    name: str
    column: str
    transform: str
    terms: tuple[str, ...]
    missing: str = MissingPolicy.error.value
    fill: float | None = None  # numeric: what a missing value becomes
    lower: float | None = None
    upper: float | None = None
    cuts: tuple[float, ...] = ()
    levels: tuple[str, ...] = ()  # onehot/bins: the non-reference levels, in term order
    merge: tuple[tuple[str, str], ...] = ()  # onehot: (raw level, merged level) pairs
    reference: str | None = None
    unseen: str = UnseenPolicy.error.value
    unseen_level: str | None = None
    expected_sign: int | None = None
    divisor: float | None = None  # scale
    mean: float | None = None  # standardize: the training mean
    sd: float | None = None  # standardize: the training standard deviation (ddof=1)
    # woe: the category groups (one bin each; numeric columns bin by `cuts`), and per bin, then
    # the missing bin (then, for categories, the unseen one): label, training rows, weighted
    # events and non-events, WoE
    groups: tuple[tuple[str, ...], ...] | None = None
    bin_table: tuple[tuple[str, int, float, float, float], ...] | None = None
    iv: float | None = None  # woe: information value over the bins
    trend: str | None = None  # woe: the event-rate trend the bins follow
    smoothing: float | None = None  # woe: pseudo-count of the WoE smoothing

    @property
    def known_levels(self) -> tuple[str, ...]:
        return (*self.levels, self.reference) if self.reference is not None else self.levels

    @property
    def transformer(self) -> FeatureTransform:
        """The transform class that fits, encodes and scores this feature."""
        return transform_named(self.transform)


@dataclass(frozen=True)
class ModelSpec:
    """The frozen feature spec of a model: its features, in design-matrix order."""

    features: tuple[FeatureSpec, ...]
    intercept: bool = True

    @property
    def terms(self) -> tuple[str, ...]:
        head = (INTERCEPT,) if self.intercept else ()
        return head + tuple(t for f in self.features for t in f.terms)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns the features read (what a request must carry)."""
        return tuple(dict.fromkeys(f.column for f in self.features))

    def groups(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Each feature's design-matrix column indices (the intercept is column 0)."""
        out = []
        start = 1 if self.intercept else 0
        for f in self.features:
            out.append((f.name, tuple(range(start, start + len(f.terms)))))
            start += len(f.terms)
        return tuple(out)

    def term_sources(self) -> dict[str, str]:
        """Each non-intercept term's origin as text: ``feature 'f' (column 'c')``."""
        return {
            t: f"feature {f.name!r} (column {f.column!r})" for f in self.features for t in f.terms
        }

    def subset(self, names: Sequence[str]) -> ModelSpec:
        """The spec restricted to ``names`` (kept in the spec's own order)."""
        keep = set(names)
        unknown = keep - set(self.feature_names)
        if unknown:
            raise KeyError(f"unknown features: {sorted(unknown)}")
        return replace(self, features=tuple(f for f in self.features if f.name in keep))

    def to_dict(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "features": [_feature_dict(f) for f in self.features],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelSpec:
        feats = []
        for f in raw["features"]:
            feats.append(
                FeatureSpec(
                    **{
                        **f,
                        "terms": tuple(f["terms"]),
                        "cuts": tuple(float(c) for c in f["cuts"]),
                        "levels": tuple(f["levels"]),
                        "merge": tuple((str(a), str(b)) for a, b in f.get("merge", ())),
                        **{k: float(f[k]) for k in _OPTIONAL_FLOATS if f.get(k) is not None},
                        **_woe_fields(f),
                    }
                )
            )
        return cls(features=tuple(feats), intercept=bool(raw["intercept"]))


def _woe_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if raw.get("groups") is not None:
        out["groups"] = tuple(tuple(str(v) for v in g) for g in raw["groups"])
    if raw.get("bin_table") is not None:
        out["bin_table"] = tuple(
            (str(lbl), int(n), float(e), float(ne), float(w))
            for lbl, n, e, ne, w in raw["bin_table"]
        )
    return out


def _feature_dict(f: FeatureSpec) -> dict[str, Any]:
    out = {
        **asdict(f),
        "terms": list(f.terms),
        "cuts": list(f.cuts),
        "levels": list(f.levels),
        "merge": [list(p) for p in f.merge],
        "groups": None if f.groups is None else [list(g) for g in f.groups],
        "bin_table": None if f.bin_table is None else [list(r) for r in f.bin_table],
    }
    for key in _OPTIONAL_FIELDS:
        if out[key] is None:
            del out[key]
    return out


# ---------------------------------------------------------------------------------------------
# fitting the spec
# ---------------------------------------------------------------------------------------------
def fit_feature_spec(
    features: FeaturesConfig,
    data: DataConfig,
    train: pd.DataFrame,
    outcome: FitOutcome | None = None,
) -> ModelSpec:
    """Freeze the feature declaration against the training sample.

    Each feature's transform (:data:`credit_glm.transforms.TRANSFORMS`) checks the column's
    declared type and fits its parameters on the training column; a supervised one (``woe``)
    also on ``outcome``, the training target row for row.

    Raises
    ------
    ConfigError
        A feature names a column the schema does not declare, a transform does not fit the
        column's type, a reference level never occurs, a bin is empty.
    """
    specs = []
    for name, cfg in features.features.items():
        key = f"features.features.{name}"
        col_name = cfg.column or name
        if col_name not in data.columns:
            raise ConfigError(
                key, f"column {col_name!r} is not declared in the data schema ({data.name})"
            )
        if col_name in (data.target.column, data.weight_column, data.date_column):
            raise ConfigError(key, f"column {col_name!r} is the target, weight or date column")
        transform = transform_named(cfg.transform.value)
        declared = data.columns[col_name]
        transform.check_column(key, col_name, declared)
        params = transform.fit(key, name, cfg, train[col_name], declared, outcome)
        expected_sign = params.pop("expected_sign", cfg.expected_sign)
        specs.append(
            FeatureSpec(
                name=name,
                column=col_name,
                transform=transform.name,
                missing=cfg.missing.value,
                unseen=cfg.unseen.value,
                unseen_level=cfg.unseen_level,
                expected_sign=expected_sign,
                **params,
            )
        )
    return ModelSpec(features=tuple(specs))


# ---------------------------------------------------------------------------------------------
# the design matrix
# ---------------------------------------------------------------------------------------------
def column_values(frame: Mapping[str, Any] | pd.DataFrame, column: str) -> Any:
    """A column of ``frame``; a missing column is a violation naming it."""
    try:
        return frame[column]
    except KeyError:
        raise ValidationFailed(
            [SchemaViolation(column, "required column (column missing)", (), (), 1)]
        ) from None


def n_rows(frame: Mapping[str, Any] | pd.DataFrame) -> int:
    if is_frame(frame):
        return len(frame)
    return len(frame[next(iter(frame.keys()))]) if len(frame) else 0


def design_matrix(spec: ModelSpec, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
    """Build the design matrix of ``frame`` under ``spec`` (columns in ``spec.terms`` order).

    ``frame`` is a DataFrame or any mapping of column name to a sequence of values (the service
    passes plain lists). Pure: no state is read or written. Scoring does not build this matrix
    (:class:`credit_glm.scoring.ScoringModel` sums per-feature contributions from the same
    encodings); fitting, selection and diagnostics do.

    Raises
    ------
    ValidationFailed
        A value the spec cannot encode: a missing value under ``missing: error``, a category not
        seen in training under ``unseen: error``, a value outside log1p's domain. Every problem
        is reported at once.
    """
    # filled a feature's block at a time: one feature's columns are the only temporary
    X = np.empty((n_rows(frame), len(spec.terms)))
    problems: list[SchemaViolation] = []
    at = 0
    if spec.intercept:
        X[:, 0] = 1.0
        at = 1
    for f in spec.features:
        transform = f.transformer
        encoded = transform.encode(f, column_values(frame, f.column), problems)
        if problems:
            continue
        block = transform.design_block(f, encoded)
        X[:, at : at + block.shape[1]] = block
        at += block.shape[1]
    if problems:
        raise ValidationFailed(problems, "features")
    if at != X.shape[1]:
        raise AssertionError(f"design blocks fill {at} of {X.shape[1]} columns")
    return X
