"""The numeric transforms: one design term each, a float per row.

- ``numeric``: the value as is;
- ``clip``: clipped to ``[lower, upper]`` (either bound optional);
- ``log1p``: ``log(1 + x)``, defined for ``x > -1``;
- ``scale``: divided by a declared ``divisor`` (income in thousands: ``divisor: 1000``), so a
  published coefficient applies as published;
- ``standardize``: ``(x - mean) / sd`` with the mean and the sample standard deviation
  (``ddof=1``) of the training column's observed values, frozen at fit time.

A missing value is first replaced by the feature's fill value (``missing: median | mean |
value``) or refused (``missing: error``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from credit_glm.config import ColumnConfig, FeatureConfig
from credit_glm.errors import ConfigError, SchemaViolation
from credit_glm.transforms.base import NumericTransform, sql_number, violation

if TYPE_CHECKING:
    import pandas as pd

    from credit_glm.features import FeatureSpec

__all__ = ["Clip", "Log1p", "Numeric", "Scale", "Standardize"]

LOG1P_DOMAIN_RULE = "log1p domain (value > -1)"


class Numeric(NumericTransform):
    name = "numeric"


class Clip(NumericTransform):
    name = "clip"

    def fit_extra(
        self, key: str, name: str, cfg: FeatureConfig, x: pd.Series, declared: ColumnConfig
    ) -> dict[str, Any]:
        return {"lower": cfg.lower, "upper": cfg.upper}

    @staticmethod
    def _bounds(f: FeatureSpec) -> tuple[float, float]:
        return (-math.inf if f.lower is None else f.lower, math.inf if f.upper is None else f.upper)

    def apply(self, f: FeatureSpec, x: np.ndarray, problems: list[SchemaViolation]) -> np.ndarray:
        lower, upper = self._bounds(f)
        return np.asarray(np.clip(x, lower, upper), dtype=np.float64)

    def apply_one(self, f: FeatureSpec, x: float) -> float | None:
        lower, upper = self._bounds(f)
        # as np.clip: a bound replaces x only when x is strictly beyond it (-0.0 stays -0.0
        # against a lower bound of 0.0)
        return lower if x < lower else (upper if x > upper else x)

    def out_of_range(self, f: FeatureSpec, x: np.ndarray) -> int:
        lower, upper = self._bounds(f)
        return int(((x < lower) | (x > upper)).sum())

    def sql_apply(self, f: FeatureSpec, x: str) -> str:
        cases = []
        if f.lower is not None:
            cases.append(f"WHEN {x} < {sql_number(f.lower)} THEN {sql_number(f.lower)}")
        if f.upper is not None:
            cases.append(f"WHEN {x} > {sql_number(f.upper)} THEN {sql_number(f.upper)}")
        return f"CASE {' '.join(cases)} ELSE {x} END"


class Log1p(NumericTransform):
    name = "log1p"

    def term(self, name: str, cfg: FeatureConfig) -> str:
        return f"log1p({name})"

    def fit_extra(
        self, key: str, name: str, cfg: FeatureConfig, x: pd.Series, declared: ColumnConfig
    ) -> dict[str, Any]:
        low = declared.min if declared.min is not None else float(x.min())
        if low <= -1:
            raise ConfigError(
                f"{key}.transform",
                f"log1p needs {cfg.column or name!r} > -1; declare `min` in the data schema",
            )
        return {}

    def apply(self, f: FeatureSpec, x: np.ndarray, problems: list[SchemaViolation]) -> np.ndarray:
        bad = x <= -1
        if bad.any():
            rows = np.flatnonzero(bad)
            problems.append(violation(f, LOG1P_DOMAIN_RULE, rows, x[rows[:1000]].tolist()))
            x = np.where(bad, 0.0, x)
        return np.asarray(np.log1p(x), dtype=np.float64)

    def apply_one(self, f: FeatureSpec, x: float) -> float | None:
        if x <= -1:
            return None
        # the same array loop as apply (a scalar call may take another code path)
        return float(np.log1p(np.array([x]))[0])

    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        return {**super().json_schema(f), "exclusiveMinimum": -1}

    def out_of_range(self, f: FeatureSpec, x: np.ndarray) -> int:
        return int((x <= -1).sum())

    def sql_apply(self, f: FeatureSpec, x: str) -> str:
        return f"CASE WHEN {x} > -1.0 THEN LN(1.0 + {x}) END"


class Scale(NumericTransform):
    name = "scale"

    def term(self, name: str, cfg: FeatureConfig) -> str:
        return f"{name}/{cfg.divisor:g}"

    def fit_extra(
        self, key: str, name: str, cfg: FeatureConfig, x: pd.Series, declared: ColumnConfig
    ) -> dict[str, Any]:
        assert cfg.divisor is not None  # FeaturesConfig requires one for scale
        return {"divisor": float(cfg.divisor)}

    def apply(self, f: FeatureSpec, x: np.ndarray, problems: list[SchemaViolation]) -> np.ndarray:
        assert f.divisor is not None
        return np.asarray(np.divide(x, f.divisor), dtype=np.float64)

    def apply_one(self, f: FeatureSpec, x: float) -> float | None:
        assert f.divisor is not None
        return x / f.divisor

    def sql_apply(self, f: FeatureSpec, x: str) -> str:
        assert f.divisor is not None
        return f"({x} / {sql_number(f.divisor)})"


class Standardize(NumericTransform):
    name = "standardize"

    def term(self, name: str, cfg: FeatureConfig) -> str:
        return f"standardize({name})"

    def fit_extra(
        self, key: str, name: str, cfg: FeatureConfig, x: pd.Series, declared: ColumnConfig
    ) -> dict[str, Any]:
        observed = x.dropna().to_numpy()
        if observed.size < 2:
            raise ConfigError(f"{key}.transform", "standardize needs at least two training values")
        mean = float(np.mean(observed))
        sd = float(np.std(observed, ddof=1))
        if not (math.isfinite(sd) and sd > 0):
            raise ConfigError(
                f"{key}.transform",
                f"standardize needs a column that varies; {cfg.column or name!r} has "
                f"standard deviation {sd:g} in the training data",
            )
        return {"mean": mean, "sd": sd}

    def apply(self, f: FeatureSpec, x: np.ndarray, problems: list[SchemaViolation]) -> np.ndarray:
        assert f.mean is not None and f.sd is not None
        return np.asarray(np.divide(np.subtract(x, f.mean), f.sd), dtype=np.float64)

    def apply_one(self, f: FeatureSpec, x: float) -> float | None:
        assert f.mean is not None and f.sd is not None
        return (x - f.mean) / f.sd

    def sql_apply(self, f: FeatureSpec, x: str) -> str:
        assert f.mean is not None and f.sd is not None
        return f"(({x} - {sql_number(f.mean)}) / {sql_number(f.sd)})"
