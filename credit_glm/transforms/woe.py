"""The ``woe`` transform: bins of a column, each encoded by its weight of evidence.

One design term per feature, ``woe(<feature>)``: a row's value is the WoE of the bin it falls in,
``ln(%event / %non-event)`` of that bin in the training split (:mod:`credit_glm.binning` has the
convention and its smoothing), so a riskier bin has a larger WoE and the coefficient of a WoE
term is expected to be positive. The bins are

- for a numeric column, right-open intervals between cut points (as the ``bins`` transform);
- for a category column, groups of categories;

either declared (``bins: fixed`` with ``cuts`` or ``groups``) or fitted on the training split
(``bins: auto``: the optimal binning of :func:`credit_glm.binning.fit_numeric_bins` and
:func:`~credit_glm.binning.fit_category_groups`, under ``max_bins``, ``min_bin_share`` and, for
numbers, ``trend``). After the bins come a bin for missing values and, for categories, one for
categories training never saw. The unseen bin's WoE is 0 (no evidence: the population's odds);
``missing: error`` and ``unseen: error`` refuse those values instead, ``unseen: map`` with an
``unseen_level`` scores an unseen category as that category's bin. A numeric missing policy
(median, mean, value) fills the value before binning.

Everything fitted is frozen into the feature's spec (``cuts``/``groups`` and ``bin_table``:
label, training rows, weighted events and non-events, WoE per bin; ``iv``; ``trend``), so a user
can copy the bins into YAML, edit one and retrain with ``bins: fixed``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from credit_glm import binning
from credit_glm.config import (
    BinningMode,
    ColumnConfig,
    ColumnType,
    FeatureConfig,
    MissingPolicy,
    UnseenPolicy,
    WoeTrend,
)
from credit_glm.errors import ConfigError, SchemaViolation
from credit_glm.pandas_checks import is_series
from credit_glm.transforms.base import (
    MISSING_LEVEL,
    MISSING_RULE,
    CompiledFeature,
    FeatureTransform,
    FitOutcome,
    HealthSignals,
    RecordContribution,
    fill_value,
    interval_record,
    level_text,
    sql_number,
    sql_text,
    text_record,
    to_float,
    violation,
)
from credit_glm.transforms.levels import bin_labels, bin_members, factorized_text, row_texts

if TYPE_CHECKING:
    import pandas as pd

    from credit_glm.features import FeatureSpec

__all__ = ["UNSEEN_BIN", "Woe", "woe_term"]

UNSEEN_BIN = "<unseen>"
DEFAULT_MAX_BINS = 6
DEFAULT_MIN_BIN_SHARE = 0.05
DEFAULT_SMOOTHING = 0.5
_FILLS = (MissingPolicy.median.value, MissingPolicy.mean.value, MissingPolicy.value.value)
_REFUSED = -1


def woe_term(name: str) -> str:
    return f"woe({name})"


def _is_numeric(f: FeatureSpec) -> bool:
    return f.groups is None


def _group_label(group: Sequence[str]) -> str:
    return ", ".join(group)


class _WoeCompiled(CompiledFeature):
    def __init__(self, transform: Woe, f: FeatureSpec, coef: float) -> None:
        self.transform, self.spec, self.column = transform, f, f.column
        lut = [coef * w for w in transform.woe_values(f)]  # one product per bin, once
        self.lut = np.array(lut, dtype=np.float64)
        self._record = transform.record_lookup(f, lut)

    def contribution(self, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        codes = self.transform.encode_codes(self.spec, values, problems)
        return np.asarray(self.lut[np.maximum(codes, 0)], dtype=np.float64)

    def record(self, value: Any) -> float | None:
        return self._record(value)


class Woe(FeatureTransform):
    name = "woe"
    column_types = frozenset(
        {ColumnType.float, ColumnType.int, ColumnType.category, ColumnType.bool}
    )

    # -----------------------------------------------------------------------------------------
    # fit
    # -----------------------------------------------------------------------------------------
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

        if outcome is None:
            raise ConfigError(key, "transform=woe is fitted on the training target: none given")
        col_name = cfg.column or name
        smoothing = DEFAULT_SMOOTHING
        max_bins = cfg.max_bins or DEFAULT_MAX_BINS
        min_share = cfg.min_bin_share or DEFAULT_MIN_BIN_SHARE
        event, weight = outcome.event, outcome.weight
        numeric = declared.type in (ColumnType.float, ColumnType.int) and not cfg.groups
        groups: tuple[tuple[str, ...], ...] | None = None
        cuts: tuple[float, ...] = ()
        fill: float | None = None
        if numeric:
            if cfg.missing is MissingPolicy.level or cfg.missing is MissingPolicy.error:
                x = to_float(pd.to_numeric(column, errors="coerce"))
            else:
                raw = pd.to_numeric(column, errors="coerce").astype("float64")
                fill = fill_value(key, col_name, cfg, raw)
                x = to_float(raw.fillna(fill))
            present = ~np.isnan(x)
            if cfg.bins is BinningMode.fixed:
                cuts = tuple(float(c) for c in cfg.cuts or ())
                trend = "declared"
            else:
                found, used = binning.fit_numeric_bins(
                    x[present],
                    event[present],
                    None if weight is None else weight[present],
                    max_bins=max_bins,
                    min_bin_share=min_share,
                    trend=binning.Trend((cfg.trend or WoeTrend.auto).value),
                    smoothing=smoothing,
                )
                cuts, trend = tuple(float(c) for c in found), str(getattr(used, "value", used))
            codes = np.searchsorted(np.asarray(cuts, dtype=float), x, side="right")
            n_bins = len(cuts) + 1
            codes = np.where(present, codes, n_bins).astype(np.intp)
            labels = list(bin_labels(cuts))
        else:
            keys, texts = factorized_text(column)
            row_text = np.array([*texts, None], dtype=object)[keys]
            if cfg.bins is BinningMode.fixed:
                groups = tuple(tuple(sorted(str(v) for v in g)) for g in cfg.groups or ())
                seen = {t for t in texts if t is not None}
                ungrouped = sorted(seen - {v for g in groups for v in g})
                if ungrouped:
                    raise ConfigError(
                        f"{key}.groups",
                        f"training categories of {col_name!r} in no group: {ungrouped}",
                    )
            else:
                present_rows = keys >= 0
                groups = tuple(
                    tuple(g)
                    for g in binning.fit_category_groups(
                        [str(t) for t in row_text[present_rows].tolist()],
                        event[present_rows],
                        None if weight is None else weight[present_rows],
                        max_bins=max_bins,
                        min_bin_share=min_share,
                        smoothing=smoothing,
                    )
                )
            trend = "by event rate"
            where = {v: i for i, g in enumerate(groups) for v in g}
            n_bins = len(groups)
            by_key = np.array(
                [where.get(t, n_bins + 1) if t is not None else n_bins for t in texts] + [n_bins],
                dtype=np.intp,
            )
            codes = by_key[keys]
            labels = [_group_label(g) for g in groups]
            if cfg.unseen is UnseenPolicy.map and cfg.unseen_level is not None:
                if cfg.unseen_level not in where:
                    raise ConfigError(
                        f"{key}.unseen_level",
                        f"{cfg.unseen_level!r} is in no bin of {col_name!r}",
                    )
        stats = binning.bin_stats(codes, n_bins + 1, event, weight)  # bins + missing
        woe = [float(w) for w in binning.woe_values(stats.events, stats.non_events, smoothing)]
        iv = float(binning.information_value(stats.events, stats.non_events, smoothing))
        table = [
            (lbl, int(n), float(e), float(ne), w)
            for lbl, n, e, ne, w in zip(
                [*labels, MISSING_LEVEL],
                stats.counts,
                stats.events,
                stats.non_events,
                woe,
                strict=True,
            )
        ]
        if groups is not None:
            table.append((UNSEEN_BIN, 0, 0.0, 0.0, 0.0))
        return {
            "terms": (woe_term(name),),
            "cuts": cuts,
            "groups": groups,
            "fill": fill,
            "bin_table": tuple(table),
            "iv": iv,
            "trend": trend,
            "smoothing": smoothing,
            "expected_sign": 1,
        }

    # -----------------------------------------------------------------------------------------
    # encode
    # -----------------------------------------------------------------------------------------
    @staticmethod
    def woe_values(f: FeatureSpec) -> list[float]:
        """The WoE of each bin, by code: the bins, the missing bin, (categories) the unseen."""
        return [row[4] for row in f.bin_table or ()]

    @staticmethod
    def single_bin(f: FeatureSpec) -> bool:
        """Whether the bins found are one (no split met the constraints): a constant WoE,
        which carries no information and which training leaves out."""
        return f.bin_table is not None and Woe.n_bins(f) < 2

    @staticmethod
    def n_bins(f: FeatureSpec) -> int:
        """The bins proper (the missing and unseen bins not counted)."""
        return len(f.cuts) + 1 if _is_numeric(f) else len(f.groups or ())

    def _missing_code(self, f: FeatureSpec) -> int:
        return _REFUSED if f.missing == MissingPolicy.error.value else self.n_bins(f)

    def _unseen_code(self, f: FeatureSpec) -> int:
        if f.unseen == UnseenPolicy.error.value:
            return _REFUSED
        if f.unseen_level is not None:
            return self._category_codes(f)[f.unseen_level]
        return self.n_bins(f) + 1

    @staticmethod
    def _category_codes(f: FeatureSpec) -> dict[str, int]:
        return {v: i for i, g in enumerate(f.groups or ()) for v in g}

    def encode_codes(
        self, f: FeatureSpec, values: Any, problems: list[SchemaViolation]
    ) -> np.ndarray:
        """Per row, its bin's code (an index into :meth:`woe_values`); -1 where refused (and
        reported in ``problems``)."""
        if _is_numeric(f):
            x = to_float(values)
            missing = np.isnan(x)
            if f.fill is not None and missing.any():
                x = np.where(missing, f.fill, x)
                missing = np.zeros(x.shape, dtype=bool)
            codes = np.searchsorted(np.asarray(f.cuts, dtype=float), x, side="right")
            codes = np.where(missing, self._missing_code(f), codes).astype(np.intp)
            refused = codes < 0
            if refused.any():
                rows = np.flatnonzero(refused)
                problems.append(violation(f, MISSING_RULE, rows, [None] * min(len(rows), 5)))
            return codes
        keys, texts = row_texts(values)
        known = self._category_codes(f)
        unseen = self._unseen_code(f)
        by_key = np.array(
            [known.get(t, unseen) if t is not None else self._missing_code(f) for t in texts]
            + [self._missing_code(f)],
            dtype=np.intp,
        )
        codes = by_key[keys]
        refused = codes < 0
        if refused.any():
            rows = np.flatnonzero(refused)
            shown = [texts[k] if k >= 0 else None for k in keys[rows[:1000]].tolist()]
            missing_only = bool((keys[rows] < 0).all())
            levels = ", ".join(repr(k) for k in sorted(known))
            rule = (
                MISSING_RULE
                if missing_only
                else f"category not seen in training (unseen policy: {f.unseen}; known: {levels})"
            )
            problems.append(violation(f, rule, rows, shown))
        return np.asarray(codes, dtype=np.intp)

    def encode(self, f: FeatureSpec, values: Any, problems: list[SchemaViolation]) -> np.ndarray:
        woe = np.array(self.woe_values(f), dtype=np.float64)
        return np.asarray(woe[np.maximum(self.encode_codes(f, values, problems), 0)])

    def design_block(self, f: FeatureSpec, encoded: np.ndarray) -> np.ndarray:
        return encoded.reshape(-1, 1)

    def compile(self, f: FeatureSpec, coefs: Sequence[float]) -> CompiledFeature:
        (coef,) = coefs
        return _WoeCompiled(self, f, float(coef))

    def record_lookup(self, f: FeatureSpec, lut: list[float]) -> RecordContribution:
        """One raw value's contribution from the per-bin lookup; None where refused."""
        code_missing = self._missing_code(f)
        when_missing = lut[code_missing] if code_missing >= 0 else None
        if _is_numeric(f):
            if f.fill is not None:  # a missing value is scored as its fill value's bin
                when_missing = lut[bisect_right(list(f.cuts), f.fill)]
            return interval_record(f.cuts, lut[: self.n_bins(f)], when_missing)
        table = {v: lut[c] for v, c in self._category_codes(f).items()}
        code_unseen = self._unseen_code(f)
        when_unseen = lut[code_unseen] if code_unseen >= 0 else None
        return text_record(table, when_missing, when_unseen)

    # -----------------------------------------------------------------------------------------
    # attributes: what the points table and the reason texts name
    # -----------------------------------------------------------------------------------------
    def attributes(self, f: FeatureSpec) -> tuple[tuple[str, Any], ...] | None:
        """Each bin with a raw value scored as it; then the missing bin when a null is scored
        (``missing: level``) and, for categories under ``unseen: map`` to no category, the
        unseen bin."""
        if _is_numeric(f):
            out: list[tuple[str, Any]] = list(bin_members(f.cuts))
        else:
            out = [(_group_label(g), g[0]) for g in f.groups or ()]
        if f.missing == MissingPolicy.level.value:
            out.append((MISSING_LEVEL, None))
        if not _is_numeric(f) and self._unseen_code(f) == self.n_bins(f) + 1:
            known = self._category_codes(f)
            out.append((UNSEEN_BIN, "\x00" + "".join(sorted(known))))  # a text no bin holds
        return tuple(out)

    def attribute_labels(self, f: FeatureSpec, values: Any) -> list[str]:
        problems: list[SchemaViolation] = []
        codes = self.encode_codes(f, values, problems)
        labels = [row[0] for row in f.bin_table or ()]
        if not problems:
            return [labels[c] for c in codes.tolist()]
        raw = list(
            values.tolist() if is_series(values) or isinstance(values, np.ndarray) else values
        )
        return [
            labels[c] if c >= 0 else (level_text(v) or MISSING_LEVEL)
            for c, v in zip(codes.tolist(), raw, strict=True)
        ]

    # -----------------------------------------------------------------------------------------
    # validation, monitoring
    # -----------------------------------------------------------------------------------------
    def accepts_missing(self, f: FeatureSpec) -> bool:
        return f.fill is not None or self._missing_code(f) >= 0

    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        null = self.accepts_missing(f)
        if _is_numeric(f):
            return {"type": ["number", "null"] if null else "number"}
        if f.unseen == UnseenPolicy.error.value:
            return {"enum": sorted(self._category_codes(f)) + ([None] if null else [])}
        return {} if null else {"not": {"type": "null"}}

    def health(self, f: FeatureSpec, values: Any) -> HealthSignals:
        if _is_numeric(f):
            x = to_float(values)
            return HealthSignals(missing=int(np.isnan(x).sum()))
        keys, texts = row_texts(values)
        known = self._category_codes(f)
        unknown = np.array([t is not None and t not in known for t in texts] + [False])
        return HealthSignals(missing=int((keys == -1).sum()), unseen=int(unknown[keys].sum()))

    # -----------------------------------------------------------------------------------------
    # SQL
    # -----------------------------------------------------------------------------------------
    def _case(self, f: FeatureSpec, column: str, by_code: list[float]) -> str:
        def value(code: int) -> str:
            return "NULL" if code < 0 else sql_number(by_code[code])

        if _is_numeric(f):
            x = column if f.fill is None else f"COALESCE({column}, {sql_number(f.fill)})"
            parts = [f"WHEN {x} IS NULL THEN {value(self._missing_code(f))}"]
            parts += [f"WHEN {x} < {sql_number(c)} THEN {value(i)}" for i, c in enumerate(f.cuts)]
            return f"CASE {' '.join(parts)} ELSE {value(len(f.cuts))} END"
        text = f"CAST({column} AS TEXT)"
        parts = [f"WHEN {column} IS NULL THEN {value(self._missing_code(f))}"]
        for i, g in enumerate(f.groups or ()):
            parts.append(f"WHEN {text} IN ({', '.join(sql_text(v) for v in g)}) THEN {value(i)}")
        return f"CASE {' '.join(parts)} ELSE {value(self._unseen_code(f))} END"

    def sql(self, f: FeatureSpec, column: str) -> tuple[str, ...]:
        return (self._case(f, column, self.woe_values(f)),)

    def contribution_sql(self, f: FeatureSpec, column: str, coefs: Sequence[float]) -> str:
        (coef,) = coefs
        return self._case(f, column, [float(coef) * w for w in self.woe_values(f)])
