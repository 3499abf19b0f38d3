"""Declarative features, frozen at fit time into a spec, and the one function that builds the
design matrix from it.

:func:`fit_feature_spec` turns the YAML declaration (:class:`~credit_glm.config.FeaturesConfig`)
and the training sample into a :class:`ModelSpec`: levels seen, reference levels, fill values.
:func:`design_matrix` is a pure function of that spec and a table; training, evaluation, batch
scoring and the service all call it, so the matrix is built one way only. The spec round-trips
through plain JSON (:meth:`ModelSpec.to_dict` / :meth:`ModelSpec.from_dict`), which is how the
model card carries it.

Design-matrix columns ("terms") are named ``Intercept``, ``<feature>`` (numeric), ``log1p(<f>)``,
``<feature>[<level>]`` (one-hot) and ``<feature>[<lo>, <hi>)`` (bins). Each feature is one group
of columns that enters or leaves the model as a whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from credit_glm.config import (
    ColumnType,
    DataConfig,
    FeatureConfig,
    FeaturesConfig,
    MissingPolicy,
    Transform,
    UnseenPolicy,
)
from credit_glm.errors import ConfigError, SchemaViolation, ValidationFailed

__all__ = [
    "MISSING_LEVEL",
    "FeatureSpec",
    "ModelSpec",
    "design_matrix",
    "fit_feature_spec",
]

MISSING_LEVEL = "<missing>"
INTERCEPT = "Intercept"
_NUMERIC = (Transform.numeric, Transform.clip, Transform.log1p)


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

    @property
    def known_levels(self) -> tuple[str, ...]:
        return (*self.levels, self.reference) if self.reference is not None else self.levels


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
            "features": [
                {
                    **asdict(f),
                    "terms": list(f.terms),
                    "cuts": list(f.cuts),
                    "levels": list(f.levels),
                    "merge": [list(p) for p in f.merge],
                }
                for f in self.features
            ],
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
                    }
                )
            )
        return cls(features=tuple(feats), intercept=bool(raw["intercept"]))


# ---------------------------------------------------------------------------------------------
# fitting the spec
# ---------------------------------------------------------------------------------------------
def _bin_labels(cuts: Sequence[float]) -> tuple[str, ...]:
    edges = [-math.inf, *cuts, math.inf]
    return tuple(f"[{lo:g}, {hi:g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True))


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), None)


def _level_counts(values: pd.Series) -> dict[str, int]:
    counts = values.dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _choose_reference(name: str, counts: Mapping[str, int], declared: str | None) -> str:
    if declared is not None:
        if declared not in counts:
            raise ConfigError(
                f"features.features.{name}.reference",
                f"reference level {declared!r} does not occur in the training data "
                f"(levels seen: {sorted(counts)})",
            )
        return declared
    # the most frequent level; ties go to the first in sorted order, so the choice is stable
    return sorted(counts, key=lambda lvl: (-counts[lvl], lvl))[0]


def _fit_one(name: str, cfg: FeatureConfig, column: pd.Series, data: DataConfig) -> FeatureSpec:
    col_name = cfg.column or name
    declared = data.columns[col_name]
    key = f"features.features.{name}"
    numeric_column = declared.type in (ColumnType.float, ColumnType.int)
    t = cfg.transform
    if t in (*_NUMERIC, Transform.bins) and not numeric_column:
        raise ConfigError(
            f"{key}.transform",
            f"{t.value} needs a numeric column; {col_name!r} is declared {declared.type.value}",
        )
    if t is Transform.onehot and declared.type not in (
        ColumnType.category,
        ColumnType.int,
        ColumnType.bool,
    ):
        raise ConfigError(
            f"{key}.transform",
            f"onehot needs a category, int or bool column; "
            f"{col_name!r} is declared {declared.type.value}",
        )
    common: dict[str, Any] = {
        "name": name,
        "column": col_name,
        "transform": t.value,
        "missing": cfg.missing.value,
        "unseen": cfg.unseen.value,
        "unseen_level": cfg.unseen_level,
        "expected_sign": cfg.expected_sign,
    }
    if t in _NUMERIC:
        x = pd.to_numeric(column, errors="coerce").astype("float64")
        fill: float | None = None
        if cfg.missing is MissingPolicy.median:
            fill = float(x.median())
        elif cfg.missing is MissingPolicy.mean:
            fill = float(x.mean())
        elif cfg.missing is MissingPolicy.value:
            fill = cfg.fill_value
        if fill is not None and math.isnan(fill):
            raise ConfigError(f"{key}.missing", f"column {col_name!r} has no values to fill from")
        if t is Transform.log1p:
            low = declared.min if declared.min is not None else float(x.min())
            if low <= -1:
                raise ConfigError(
                    f"{key}.transform",
                    f"log1p needs {col_name!r} > -1; declare `min` in the data schema",
                )
            term = f"log1p({name})"
        else:
            term = name
        return FeatureSpec(**common, terms=(term,), fill=fill, lower=cfg.lower, upper=cfg.upper)

    if t is Transform.bins:
        cuts = tuple(float(c) for c in cfg.cuts or ())
        labels = _bin_labels(cuts)
        x = pd.to_numeric(column, errors="coerce").astype("float64")
        binned = _assign_bins(x.to_numpy(), cuts)
        seen, n_seen = np.unique(binned[binned >= 0], return_counts=True)
        counts = {labels[int(i)]: int(n) for i, n in zip(seen, n_seen, strict=True)}
        if cfg.missing is MissingPolicy.level and bool(x.isna().any()):
            counts[MISSING_LEVEL] = int(x.isna().sum())
        empty = [lbl for lbl in labels if lbl not in counts]
        if empty:
            raise ConfigError(f"{key}.cuts", f"bins with no training rows: {empty}")
        reference = _choose_reference(name, counts, cfg.reference)
        order = [*labels, MISSING_LEVEL]
        levels = tuple(lvl for lvl in order if lvl in counts and lvl != reference)
        return FeatureSpec(
            **common,
            terms=tuple(f"{name}{lvl}" for lvl in levels),
            cuts=cuts,
            levels=levels,
            reference=reference,
        )

    # one-hot
    merge = tuple((raw, new) for new, raws in cfg.merge.items() for raw in raws)
    declared_levels = set(declared.categories or ())
    unknown = [raw for raw, _ in merge if declared_levels and raw not in declared_levels]
    if unknown:
        raise ConfigError(f"{key}.merge", f"levels {unknown} are not categories of {col_name!r}")
    text = _merged(_as_text(column), dict(merge))
    counts = _level_counts(text.dropna())
    if cfg.missing is MissingPolicy.level and bool(text.isna().any()):
        counts[MISSING_LEVEL] = int(text.isna().sum())
    if len(counts) < 2:
        raise ConfigError(
            f"{key}",
            f"column {col_name!r} has fewer than two levels in the training data: {sorted(counts)}",
        )
    reference = _choose_reference(name, counts, cfg.reference)
    levels = tuple(sorted(lvl for lvl in counts if lvl != reference))
    if cfg.unseen is UnseenPolicy.map and cfg.unseen_level is not None:
        if cfg.unseen_level not in counts:
            raise ConfigError(
                f"{key}.unseen_level",
                f"{cfg.unseen_level!r} does not occur in "
                f"the training data (levels seen: {sorted(counts)})",
            )
    return FeatureSpec(
        **common,
        terms=tuple(f"{name}[{lvl}]" for lvl in levels),
        levels=levels,
        reference=reference,
        merge=merge,
    )


def _merged(text: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    if not mapping:
        return text
    return text.map(lambda v: mapping.get(v, v) if v is not None else None)


def fit_feature_spec(features: FeaturesConfig, data: DataConfig, train: pd.DataFrame) -> ModelSpec:
    """Freeze the feature declaration against the training sample.

    Raises
    ------
    ConfigError
        A feature names a column the schema does not declare, a transform does not fit the
        column's type, a reference level never occurs, a bin is empty.
    """
    specs = []
    for name, cfg in features.features.items():
        col_name = cfg.column or name
        if col_name not in data.columns:
            raise ConfigError(
                f"features.features.{name}",
                f"column {col_name!r} is not declared in the data schema ({data.name})",
            )
        if col_name in (data.target.column, data.weight_column, data.date_column):
            raise ConfigError(
                f"features.features.{name}",
                f"column {col_name!r} is the target, weight or date column",
            )
        specs.append(_fit_one(name, cfg, train[col_name], data))
    return ModelSpec(features=tuple(specs))


# ---------------------------------------------------------------------------------------------
# the design matrix
# ---------------------------------------------------------------------------------------------
def _assign_bins(x: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """Bin index per value (right-open bins); -1 for a missing value."""
    idx = np.searchsorted(np.asarray(cuts, dtype=float), x, side="right")
    return np.where(np.isnan(x), -1, idx)


def _column_values(frame: Mapping[str, Any] | pd.DataFrame, column: str) -> Any:
    try:
        return frame[column]
    except KeyError:
        raise ValidationFailed(
            [SchemaViolation(column, "required column (column missing)", (), (), 1)]
        ) from None


def _to_float(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    arr = np.asarray(values, dtype=object)
    return np.array([np.nan if v is None else float(v) for v in arr], dtype="float64")


def _to_text(values: Any) -> list[str | None]:
    seq = values.tolist() if isinstance(values, pd.Series) else list(values)
    out: list[str | None] = []
    for v in seq:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _problem(f: FeatureSpec, rule: str, rows: list[int], values: list[Any]) -> SchemaViolation:
    shown = tuple(dict.fromkeys(values))[:5]
    return SchemaViolation(f.column, rule, shown, tuple(rows[:5]), len(rows))


def _numeric_block(f: FeatureSpec, raw: Any, problems: list[SchemaViolation]) -> np.ndarray:
    x = _to_float(raw)
    missing = np.isnan(x)
    if missing.any():
        if f.fill is None:
            rows = np.flatnonzero(missing).tolist()
            problems.append(
                _problem(
                    f, "missing value (feature missing policy: error)", rows, [None] * len(rows)
                )
            )
        else:
            x = np.where(missing, f.fill, x)
    if f.transform == Transform.clip.value:
        x = np.clip(
            x, -np.inf if f.lower is None else f.lower, np.inf if f.upper is None else f.upper
        )
    elif f.transform == Transform.log1p.value:
        bad = x <= -1
        if bad.any():
            rows = np.flatnonzero(bad).tolist()
            problems.append(_problem(f, "log1p domain (value > -1)", rows, x[bad].tolist()))
            x = np.where(bad, 0.0, x)
        x = np.log1p(x)
    return x.reshape(-1, 1)


def _level_block(
    f: FeatureSpec, labels: list[str | None], problems: list[SchemaViolation]
) -> np.ndarray:
    known = set(f.known_levels)
    position = {lvl: j for j, lvl in enumerate(f.levels)}
    block = np.zeros((len(labels), len(f.levels)))
    unseen_rows: list[int] = []
    unseen_values: list[Any] = []
    for i, lvl in enumerate(labels):
        if lvl is None:
            lvl = MISSING_LEVEL if f.missing == MissingPolicy.level.value else None
            if lvl is None:
                unseen_rows.append(i)
                unseen_values.append(None)
                continue
        if lvl not in known:
            if f.unseen == UnseenPolicy.map.value:
                lvl = f.unseen_level if f.unseen_level is not None else f.reference
            else:
                unseen_rows.append(i)
                unseen_values.append(lvl)
                continue
        j = position.get(lvl)  # type: ignore[arg-type]
        if j is not None:
            block[i, j] = 1.0
    if unseen_rows:
        missing_only = all(v is None for v in unseen_values)
        rule = (
            "missing value (feature missing policy: error)"
            if missing_only
            else f"category not seen in training (unseen policy: {f.unseen}; "
            f"known: {', '.join(repr(k) for k in sorted(known))})"
        )
        problems.append(_problem(f, rule, unseen_rows, unseen_values))
    return block


def design_matrix(spec: ModelSpec, frame: Mapping[str, Any] | pd.DataFrame) -> np.ndarray:
    """Build the design matrix of ``frame`` under ``spec`` (columns in ``spec.terms`` order).

    ``frame`` is a DataFrame or any mapping of column name to a sequence of values (the service
    passes plain lists). Pure: no state is read or written.

    Raises
    ------
    ValidationFailed
        A value the spec cannot encode: a missing value under ``missing: error``, a category not
        seen in training under ``unseen: error``, a value outside log1p's domain. Every problem
        is reported at once.
    """
    blocks: list[np.ndarray] = []
    problems: list[SchemaViolation] = []
    n: int | None = None
    for f in spec.features:
        raw = _column_values(frame, f.column)
        if f.transform in (Transform.numeric.value, Transform.clip.value, Transform.log1p.value):
            block = _numeric_block(f, raw, problems)
        elif f.transform == Transform.bins.value:
            x = _to_float(raw)
            codes = _assign_bins(x, f.cuts)
            labels_all = _bin_labels(f.cuts)
            labels: list[str | None] = [None if c < 0 else labels_all[c] for c in codes.tolist()]
            block = _level_block(f, labels, problems)
        else:
            texts = _to_text(raw)
            if f.merge:
                mapping = dict(f.merge)
                texts = [None if t is None else mapping.get(t, t) for t in texts]
            block = _level_block(f, texts, problems)
        blocks.append(block)
        n = block.shape[0]
    if problems:
        raise ValidationFailed(problems, "features")
    if n is None:
        n = len(frame[next(iter(frame.keys()))]) if len(frame) else 0
    if spec.intercept:
        blocks.insert(0, np.ones((n, 1)))
    return np.ascontiguousarray(np.hstack(blocks)) if blocks else np.empty((n, 0))
