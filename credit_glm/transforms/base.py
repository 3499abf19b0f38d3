"""What a feature transform is: one class holding every face of one transform.

A transform turns one input column into the design-matrix columns ("terms") of one feature. Its
class is the one place that says, for that transform:

- ``fit``: the frozen, JSON-able parameters learned from the training column (a fill value, a
  mean and standard deviation, the levels seen and the reference level), which become the
  feature's :class:`~credit_glm.features.FeatureSpec` and so the model card;
- ``encode``: the vectorised apply to a whole column, reporting every value it cannot encode;
  from it come the design block (:meth:`FeatureTransform.design_block`) and the feature's
  contribution to the linear predictor (:meth:`FeatureTransform.compile`);
- the per-record apply the service's one-row path needs (``compile(...).record``), equal bit for
  bit to the vectorised one (``tests/unit/test_transforms.py``);
- ``attributes`` / ``attribute_labels`` / ``attribute_label``: what a discrete feature can score
  as (each attribute with a raw value that falls in it; None for a continuous feature) and the
  attribute each value is scored as, for the points table and the reason codes' texts;
- ``json_schema``: the JSON Schema fragment of the input values the transform encodes;
- ``health``: the signals a monitor counts (missing, unseen level, out of range);
- ``sql`` / ``contribution_sql``: the same arithmetic as SQL expressions (ANSI ``CASE``, ``LN``),
  executed in SQLite by the tests against the Python values.

Two families share most of that: :class:`NumericTransform` (one term, a float per row) and
:class:`LevelTransform` (one indicator per non-reference level, a level code per row).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from credit_glm.config import ColumnConfig, ColumnType, FeatureConfig, MissingPolicy
from credit_glm.errors import ConfigError, SchemaViolation
from credit_glm.pandas_checks import is_na, is_series

if TYPE_CHECKING:
    import pandas as pd

    from credit_glm.features import FeatureSpec

__all__ = [
    "MISSING_LEVEL",
    "MISSING_RULE",
    "CompiledFeature",
    "FitOutcome",
    "FeatureTransform",
    "HealthSignals",
    "LevelTransform",
    "NumericTransform",
    "level_text",
    "sql_identifier",
    "sql_number",
    "to_float",
]

MISSING_LEVEL = "<missing>"
MISSING_RULE = "missing value (feature missing policy: error)"

# The contribution of one value to the linear predictor; None: the value needs the vectorised
# path (which applies a policy or reports the violation).
RecordContribution = Callable[[Any], "float | None"]


def level_text(value: Any) -> str | None:
    """The level label of a raw value: its text, a whole float as an integer, None if missing.

    Levels are matched by this text, so ``1``, ``1.0`` and ``"1"`` are one level and ``True``
    is another (``pd.factorize`` alone would merge ``1`` and ``True``: they compare equal).
    """
    if value is None or is_na(value):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    return str(value)


def to_float(values: Any) -> np.ndarray:
    """A column as a contiguous float64 vector (missing values as NaN)."""
    if is_series(values):
        out = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        try:
            out = np.array(values, dtype=np.float64)  # None becomes NaN, as float(v) below
        except (TypeError, ValueError, OverflowError):
            seq = np.asarray(values, dtype=object)
            out = np.array([np.nan if v is None else float(v) for v in seq], dtype="float64")
        if out.ndim != 1:
            seq = np.empty(len(values), dtype=object)
            seq[:] = list(values)
            out = np.array([np.nan if v is None else float(v) for v in seq], dtype="float64")
    # a fresh contiguous vector, so every ufunc runs the same loop for any slice of a frame
    return np.ascontiguousarray(out)


def interval_record(
    cuts: Sequence[float], by_bin: Sequence[float | None], when_missing: float | None
) -> RecordContribution:
    """The per-record contribution of a feature scored by right-open bins between ``cuts``
    (``by_bin[i]`` for bin ``i``, as ``np.searchsorted(cuts, x, side="right")``); None for a
    value that is not a number or that the feature refuses."""
    edges, table = list(cuts), list(by_bin)

    def record(value: Any) -> float | None:
        if value is None:
            return when_missing
        if isinstance(value, str):
            return None
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if x != x:
            return when_missing
        return table[bisect_right(edges, x)]

    return record


def text_record(
    table: Mapping[str, float], when_missing: float | None, when_unseen: float | None
) -> RecordContribution:
    """The per-record contribution of a feature scored by its value's level text
    (:func:`level_text`); a text not in ``table`` scores ``when_unseen``."""

    def record(value: Any) -> float | None:
        text = value if type(value) is str else level_text(value)
        if text is None:
            return when_missing
        c = table.get(text)
        return when_unseen if c is None else c

    return record


def sql_identifier(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_number(value: float) -> str:
    """A finite float as a SQL literal that SQLite and DuckDB read back as the same double.

    Seventeen significant digits, not the shortest round-trip text: SQLite's decimal parser
    (3.40) misreads about one shortest text in 10^4 by an ulp, and none of 4 * 10^5 random
    17-digit ones. The exponent is always written (``0.5e0``): DuckDB types a literal without
    one as DECIMAL, and ``0.1 * x`` would then be decimal arithmetic, not a double product.
    """
    if not math.isfinite(value):
        raise ValueError(f"no SQL literal for the non-finite number {value!r}")
    text = f"{float(value):.17g}"
    return text if "e" in text else text + "e0"


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def violation(
    f: FeatureSpec, rule: str, rows: np.ndarray, values: Sequence[Any]
) -> SchemaViolation:
    """A problem of ``f``'s column: the first five distinct values and rows, and the count."""
    shown = tuple(dict.fromkeys(values[:1000]))[:5]
    every = tuple(int(r) for r in np.asarray(rows).tolist())
    return SchemaViolation(f.column, rule, shown, every[:5], len(every), every)


@dataclass(frozen=True)
class FitOutcome:
    """The training outcome a supervised transform (``woe``) fits on, row for row with the
    training column: 1.0 for the modelled event (a default), 0.0 otherwise."""

    event: np.ndarray
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class HealthSignals:
    """What a monitor counts for one feature over a batch of values."""

    missing: int = 0  # nulls (accepted under a missing policy, or refused)
    unseen: int = 0  # levels training never saw (mapped under ``unseen: map``, or refused)
    out_of_range: int = 0  # values a transform had to bend (clipped, outside log1p's domain)


class CompiledFeature(ABC):
    """A feature with its coefficients bound: its contribution to the linear predictor."""

    column: str

    @abstractmethod
    def contribution(self, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        """Each row's contribution (float64, one per row); problems are appended."""

    @abstractmethod
    def record(self, value: Any) -> float | None:
        """One value's contribution, equal bit for bit to :meth:`contribution`'s; None when
        the value needs the vectorised path (a policy to apply or a violation to report)."""


class FeatureTransform(ABC):
    """The protocol every transform implements (see the module docstring)."""

    name: ClassVar[str]
    column_types: ClassVar[frozenset[ColumnType]]

    def check_column(self, key: str, column: str, declared: ColumnConfig) -> None:
        if declared.type not in self.column_types:
            kinds = ", ".join(sorted(t.value for t in self.column_types))
            raise ConfigError(
                f"{key}.transform",
                f"{self.name} needs a {kinds} column; {column!r} is declared {declared.type.value}",
            )

    @abstractmethod
    def fit(
        self,
        key: str,
        name: str,
        cfg: FeatureConfig,
        column: pd.Series,
        declared: ColumnConfig,
        outcome: FitOutcome | None = None,
    ) -> dict[str, Any]:
        """The frozen parameters (FeatureSpec fields, ``terms`` included) from training data;
        ``outcome`` is the training target, which only a supervised transform reads."""

    @abstractmethod
    def encode(self, f: FeatureSpec, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        """Vectorised apply: floats (numeric) or level codes (-1: no indicator)."""

    @abstractmethod
    def design_block(self, f: FeatureSpec, encoded: np.ndarray) -> np.ndarray:
        """The feature's design-matrix columns, ``(n, len(f.terms))``."""

    @abstractmethod
    def compile(self, f: FeatureSpec, coefs: Sequence[float]) -> CompiledFeature:
        """The feature bound to its coefficients (in ``f.terms`` order)."""

    @abstractmethod
    def accepts_missing(self, f: FeatureSpec) -> bool:
        """Whether a null is encoded (a fill value, a missing level) rather than refused."""

    @abstractmethod
    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        """JSON Schema fragment of the input values this feature encodes."""

    @abstractmethod
    def health(self, f: FeatureSpec, values: Any) -> HealthSignals:
        """Missing, unseen and out-of-range counts of a batch of input values."""

    @abstractmethod
    def attributes(self, f: FeatureSpec) -> tuple[tuple[str, Any], ...] | None:
        """A discrete feature's attributes, reference included: ``(label, one raw input value
        scored as it)`` each, e.g. ``("[10, 50)", 10.0)``, ``("<missing>", None)``; None for a
        continuous feature (its contribution varies with the value)."""

    @abstractmethod
    def attribute_labels(self, f: FeatureSpec, values: Any) -> list[str]:
        """Per input value, the label of the attribute it is scored as (vectorised): a level
        after merge and unseen mapping, a bin label; for a continuous feature the value as
        text (``f"{x:g}"``); ``<missing>`` for a null."""

    def attribute_label(self, f: FeatureSpec, value: Any) -> str:
        """:meth:`attribute_labels` of one value (the one-row path; a transform may answer
        faster, equal by ``tests/unit/test_transforms.py``)."""
        return self.attribute_labels(f, [value])[0]

    @abstractmethod
    def sql(self, f: FeatureSpec, column: str) -> tuple[str, ...]:
        """One SQL expression per design term, reading the SQL expression ``column``; NULL
        where Python reports a violation."""

    @abstractmethod
    def contribution_sql(self, f: FeatureSpec, column: str, coefs: Sequence[float]) -> str:
        """The feature's contribution to the linear predictor as one SQL expression."""


# ---------------------------------------------------------------------------------------------
# numeric: one term, a float per row
# ---------------------------------------------------------------------------------------------
def fill_value(key: str, column: str, cfg: FeatureConfig, x: pd.Series) -> float | None:
    """What a missing value becomes under the feature's missing policy (fitted on training)."""
    fill: float | None = None
    if cfg.missing is MissingPolicy.median:
        fill = float(x.median())
    elif cfg.missing is MissingPolicy.mean:
        fill = float(x.mean())
    elif cfg.missing is MissingPolicy.value:
        fill = cfg.fill_value
    if fill is not None and math.isnan(fill):
        raise ConfigError(f"{key}.missing", f"column {column!r} has no values to fill from")
    return fill


class _NumericCompiled(CompiledFeature):
    def __init__(self, transform: NumericTransform, f: FeatureSpec, coef: float) -> None:
        self.transform, self.spec, self.column, self.coef = transform, f, f.column, coef
        self._fill = f.fill

    def contribution(self, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        x = self.transform.encode(self.spec, values, problems)
        return np.asarray(np.multiply(self.coef, x), dtype=np.float64)

    def record(self, value: Any) -> float | None:
        if value is None:
            if self._fill is None:
                return None
            x = self._fill
        elif isinstance(value, str):
            return None
        else:
            try:
                x = float(value)
            except (TypeError, ValueError, OverflowError):
                return None
            if x != x:
                if self._fill is None:
                    return None
                x = self._fill
        y = self.transform.apply_one(self.spec, x)
        return None if y is None else self.coef * y


class NumericTransform(FeatureTransform):
    """A transform to one term: fill missing values, then :meth:`apply` to the floats."""

    column_types = frozenset({ColumnType.float, ColumnType.int})

    def term(self, name: str, cfg: FeatureConfig) -> str:
        return name

    def fit_extra(
        self, key: str, name: str, cfg: FeatureConfig, x: pd.Series, declared: ColumnConfig
    ) -> dict[str, Any]:
        """Transform-specific parameters (none for ``numeric``)."""
        return {}

    def fit(
        self,
        key: str,
        name: str,
        cfg: FeatureConfig,
        column: pd.Series,
        declared: ColumnConfig,
        outcome: FitOutcome | None = None,
    ) -> dict[str, Any]:
        import pandas as pd

        col_name = cfg.column or name
        x = pd.to_numeric(column, errors="coerce").astype("float64")
        extra = self.fit_extra(key, name, cfg, x, declared)
        fill = fill_value(key, col_name, cfg, x)
        return {"terms": (self.term(name, cfg),), "fill": fill, **extra}

    def apply(self, f: FeatureSpec, x: np.ndarray, problems: list[SchemaViolation]) -> np.ndarray:
        """The transform of filled values (vectorised)."""
        return x

    def apply_one(self, f: FeatureSpec, x: float) -> float | None:
        """:meth:`apply` of one filled value, bit for bit; None: outside the domain."""
        return x

    def sql_apply(self, f: FeatureSpec, x: str) -> str:
        return x

    def encode(self, f: FeatureSpec, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        x = to_float(values)
        missing = np.isnan(x)
        if missing.any():
            if f.fill is None:
                rows = np.flatnonzero(missing)
                problems.append(violation(f, MISSING_RULE, rows, [None] * min(len(rows), 5)))
            else:
                x = np.where(missing, f.fill, x)
        return self.apply(f, x, problems)

    def design_block(self, f: FeatureSpec, encoded: np.ndarray) -> np.ndarray:
        return encoded.reshape(-1, 1)

    def compile(self, f: FeatureSpec, coefs: Sequence[float]) -> CompiledFeature:
        (coef,) = coefs
        return _NumericCompiled(self, f, float(coef))

    def accepts_missing(self, f: FeatureSpec) -> bool:
        return f.fill is not None

    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        return {"type": ["number", "null"] if self.accepts_missing(f) else "number"}

    def out_of_range(self, f: FeatureSpec, x: np.ndarray) -> int:
        return 0

    def health(self, f: FeatureSpec, values: Any) -> HealthSignals:
        x = to_float(values)
        missing = np.isnan(x)
        return HealthSignals(
            missing=int(missing.sum()), out_of_range=self.out_of_range(f, x[~missing])
        )

    def attributes(self, f: FeatureSpec) -> tuple[tuple[str, Any], ...] | None:
        return None

    def attribute_labels(self, f: FeatureSpec, values: Any) -> list[str]:
        return [MISSING_LEVEL if math.isnan(x) else f"{x:g}" for x in to_float(values).tolist()]

    def _sql_value(self, f: FeatureSpec, column: str) -> str:
        x = column if f.fill is None else f"COALESCE({column}, {sql_number(f.fill)})"
        return self.sql_apply(f, x)

    def sql(self, f: FeatureSpec, column: str) -> tuple[str, ...]:
        return (self._sql_value(f, column),)

    def contribution_sql(self, f: FeatureSpec, column: str, coefs: Sequence[float]) -> str:
        (coef,) = coefs
        return f"({sql_number(coef)} * {self._sql_value(f, column)})"


# ---------------------------------------------------------------------------------------------
# levels: one indicator per non-reference level, a level code per row
# ---------------------------------------------------------------------------------------------
# codes below -1 mark the values a feature refuses
_REFUSED_MISSING = -2
_REFUSED_UNSEEN = -3


class _LevelCompiled(CompiledFeature):
    def __init__(self, transform: LevelTransform, f: FeatureSpec, coefs: Sequence[float]) -> None:
        self.transform, self.spec, self.column = transform, f, f.column
        # lookup by level code; code -1 (the reference, or no indicator) reads the last entry
        self.lut = np.array([*(float(b) for b in coefs), 0.0], dtype=np.float64)
        self._record = transform.record_table(f, self.lut.tolist())

    def contribution(self, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        codes = self.transform.encode(self.spec, values, problems)
        return np.asarray(self.lut[codes], dtype=np.float64)

    def record(self, value: Any) -> float | None:
        return self._record(value)


class LevelTransform(FeatureTransform):
    """A transform to indicators: each row's value becomes a label, each label a level code."""

    @abstractmethod
    def labels(self, f: FeatureSpec, values: Any) -> tuple[np.ndarray, list[str | None]]:
        """Per row, an index into the returned labels (-1: missing)."""

    @abstractmethod
    def record_table(self, f: FeatureSpec, lut: list[float]) -> RecordContribution:
        """The per-record contribution of one raw value, from the contribution lookup."""

    def resolve(self, f: FeatureSpec, label: str | None) -> tuple[int, Any]:
        """A label's level code (>= 0; -1: no indicator; < -1: refused) and the value shown
        when it is refused. Policies apply here once: missing level, unseen map."""
        if label is None:
            if f.missing != MissingPolicy.level.value:
                return _REFUSED_MISSING, None
            label = MISSING_LEVEL
        if label not in f.known_levels:
            return self.unseen_code(f, label)
        return self._position(f, label), label

    def unseen_code(self, f: FeatureSpec, label: str) -> tuple[int, Any]:
        """The code of a label training never saw: refused, or mapped (``unseen: map``) to
        ``unseen_level`` or else the reference."""
        if f.unseen != "map":
            return _REFUSED_UNSEEN, label
        target = f.unseen_level if f.unseen_level is not None else f.reference
        return self._position(f, target), target

    @staticmethod
    def _position(f: FeatureSpec, label: str | None) -> int:
        return f.levels.index(label) if label in f.levels else -1

    def code_table(
        self, f: FeatureSpec, labels: Sequence[str | None]
    ) -> tuple[np.ndarray, list[Any]]:
        resolved = [self.resolve(f, lbl) for lbl in labels]
        return np.array([c for c, _ in resolved], dtype=np.intp), [v for _, v in resolved]

    def encode(self, f: FeatureSpec, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        keys, labels = self.labels(f, values)
        # the table's last entry is the code of a missing value (key -1)
        table, shown = self.code_table(f, [*labels, None])
        codes = table[keys]
        refused = codes < -1
        if refused.any():
            rows = np.flatnonzero(refused)
            values_shown = [shown[k] for k in keys[rows[:1000]].tolist()]
            missing_only = bool((codes[rows] == _REFUSED_MISSING).all())
            known = ", ".join(repr(k) for k in sorted(f.known_levels))
            rule = (
                MISSING_RULE
                if missing_only
                else f"category not seen in training (unseen policy: {f.unseen}; known: {known})"
            )
            problems.append(violation(f, rule, rows, values_shown))
            codes = np.where(refused, -1, codes)
        return np.asarray(codes, dtype=np.intp)

    def design_block(self, f: FeatureSpec, encoded: np.ndarray) -> np.ndarray:
        block = np.zeros((encoded.shape[0], len(f.levels)))
        hit = encoded >= 0
        block[np.flatnonzero(hit), encoded[hit]] = 1.0
        return block

    def compile(self, f: FeatureSpec, coefs: Sequence[float]) -> CompiledFeature:
        return _LevelCompiled(self, f, coefs)

    def accepts_missing(self, f: FeatureSpec) -> bool:
        return self.resolve(f, None)[0] >= -1

    def attribute_labels(self, f: FeatureSpec, values: Any) -> list[str]:
        keys, labels = self.labels(f, values)
        # by level code: a level, or (-1) the reference; a refused value shows as itself
        named = [*f.levels, f.reference]
        table = []
        for label in [*labels, None]:  # the last entry is a missing value's (key -1)
            code, shown = self.resolve(f, label)
            table.append(
                str(named[code]) if code >= -1 else MISSING_LEVEL if shown is None else str(shown)
            )
        out: list[str] = np.array(table, dtype=object)[keys].tolist()
        return out

    def health(self, f: FeatureSpec, values: Any) -> HealthSignals:
        keys, labels = self.labels(f, values)
        unknown = np.array([lbl not in f.known_levels for lbl in labels] + [False])
        return HealthSignals(missing=int((keys == -1).sum()), unseen=int(unknown[keys].sum()))

    @abstractmethod
    def sql_cases(self, f: FeatureSpec, column: str) -> tuple[list[tuple[str, int]], int, int]:
        """``([(SQL condition, level code)], code when null, code otherwise)``."""

    def _case(self, f: FeatureSpec, column: str, value: Callable[[int], str]) -> str:
        cases, when_null, otherwise = self.sql_cases(f, column)
        parts = [f"WHEN {column} IS NULL THEN {value(when_null)}"]
        parts += [f"WHEN {cond} THEN {value(code)}" for cond, code in cases]
        return f"CASE {' '.join(parts)} ELSE {value(otherwise)} END"

    def sql(self, f: FeatureSpec, column: str) -> tuple[str, ...]:
        def indicator(j: int) -> Callable[[int], str]:
            return lambda code: "NULL" if code < -1 else ("1.0" if code == j else "0.0")

        return tuple(self._case(f, column, indicator(j)) for j in range(len(f.levels)))

    def contribution_sql(self, f: FeatureSpec, column: str, coefs: Sequence[float]) -> str:
        lut = [*coefs, 0.0]
        return self._case(f, column, lambda code: "NULL" if code < -1 else sql_number(lut[code]))


def choose_reference(key: str, counts: Mapping[str, int], declared: str | None) -> str:
    """The declared reference level, or the most frequent (ties: the first in sorted order)."""
    if declared is not None:
        if declared not in counts:
            raise ConfigError(
                f"{key}.reference",
                f"reference level {declared!r} does not occur in the training data "
                f"(levels seen: {sorted(counts)})",
            )
        return declared
    return sorted(counts, key=lambda lvl: (-counts[lvl], lvl))[0]
