"""The level transforms: one indicator per non-reference level.

- ``bins``: right-open intervals ``[-inf, c1), [c1, c2), ..., [ck, inf)`` of a numeric column,
  labelled like that (``[10, 50)``); no empty bin is allowed at fit time;
- ``onehot``: the levels of a category, int or bool column, matched by their text
  (:func:`~credit_glm.transforms.base.level_text`), after the declared ``merge`` (coarse
  classing: several raw levels become one).

The reference level (declared, else the most frequent) has no indicator: its effect is in the
intercept. ``missing: level`` makes a null a level of its own (``<missing>``); ``unseen: map``
encodes a level training never saw as ``unseen_level`` (else the reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from credit_glm.config import ColumnConfig, ColumnType, FeatureConfig, MissingPolicy, UnseenPolicy
from credit_glm.errors import ConfigError
from credit_glm.pandas_checks import is_series
from credit_glm.transforms.base import (
    MISSING_LEVEL,
    FitOutcome,
    LevelTransform,
    RecordContribution,
    choose_reference,
    interval_record,
    level_text,
    sql_number,
    sql_text,
    text_record,
    to_float,
)

if TYPE_CHECKING:
    import pandas as pd

    from credit_glm.features import FeatureSpec

__all__ = ["Bins", "OneHot", "bin_labels", "bin_members", "factorized_text", "row_texts"]


def bin_labels(cuts: Sequence[float]) -> tuple[str, ...]:
    """The labels of the right-open bins between ``cuts``: ``[-inf, c1)``, ..., ``[ck, inf)``."""
    edges = [-math.inf, *cuts, math.inf]
    return tuple(f"[{lo:g}, {hi:g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True))


def bin_members(cuts: Sequence[float]) -> tuple[tuple[str, float], ...]:
    """Each right-open bin's label with a value inside it: its lower edge; below the first
    cut, one less than it (or the float just below a cut so large that ``- 1`` rounds back)."""
    edges = [-math.inf, *cuts, math.inf]
    out = []
    for label, lo, hi in zip(bin_labels(cuts), edges[:-1], edges[1:], strict=True):
        inside = lo if math.isfinite(lo) else (hi - 1.0 if math.isfinite(hi) else 0.0)
        if not inside < hi:
            inside = math.nextafter(hi, -math.inf)
        out.append((label, inside))
    return tuple(out)


def _may_merge_bools(values: Any, uniques: list[Any]) -> bool:
    """Whether hashing may have merged a bool with a number (``True == 1``, ``False == 0``):
    only an object column whose distinct values include a non-text 0 or 1 can have."""
    if not isinstance(values, np.ndarray) or values.dtype != np.dtype(object):
        return False
    return any(not isinstance(u, str) and u in (0, 1) for u in uniques)


def factorized_text(values: Any) -> tuple[np.ndarray, list[str | None]]:
    """Per row, an index into the distinct level texts (-1: missing), vectorised.

    ``pd.factorize`` hashes values, so ``1`` and ``True`` (equal in Python) would become one
    level: where that can have happened, the column's text form is factorized instead. A plain
    sequence (a column of JSON records) is factorized by :func:`_factorized_sequence`, without
    pandas.
    """
    if not isinstance(values, np.ndarray) and not is_series(values):
        return _factorized_sequence(values)
    import pandas as pd

    data: Any = values
    if values.dtype == object:
        data = np.empty(len(values), dtype=object)
        data[:] = values.tolist()
    codes, uniques = pd.factorize(data, use_na_sentinel=True)
    distinct = uniques.tolist()
    if _may_merge_bools(data, distinct):
        data = np.array([level_text(v) for v in data.tolist()], dtype=object)
        codes, uniques = pd.factorize(data, use_na_sentinel=True)
        distinct = uniques.tolist()
    return np.asarray(codes, dtype=np.intp), [level_text(u) for u in distinct]


def _factorized_sequence(values: Sequence[Any]) -> tuple[np.ndarray, list[str | None]]:
    """:func:`factorized_text` of a plain sequence, by dict: each row's text is its value's
    :func:`level_text`, the same as pandas' path gives (``tests/unit/test_transforms.py``), and the
    service, which scores JSON records with numpy alone, never loads pandas for it.

    Values are hashed as they are when all distinct ones are text; otherwise with their type,
    so that ``True`` and ``1`` (equal keys) stay apart. Missing values get code -1.
    """
    distinct = dict.fromkeys(values)
    keys: Sequence[Any] = values
    if not all(type(v) is str for v in distinct):
        keys = [(v.__class__, v) for v in values]
        distinct = dict.fromkeys(keys)
    position = {key: i for i, key in enumerate(distinct)}
    codes = np.fromiter(map(position.__getitem__, keys), dtype=np.intp, count=len(keys))
    texts = [level_text(key if keys is values else key[1]) for key in position]
    if None not in texts:
        return codes, texts
    present = np.array([t is not None for t in texts])
    renumbered = np.where(present, np.cumsum(present) - 1, -1)
    return renumbered[codes], [t for t in texts if t is not None]


def row_texts(values: Any) -> tuple[np.ndarray, list[str | None]]:
    """:func:`factorized_text` for applying a fitted transform: a Categorical of text (a
    batch-scored chunk) gives its own codes and categories, unhashed; its unused categories
    stay in the list, with no row pointing at them."""
    if is_series(values) and values.dtype.name == "category":
        categories = values.cat.categories
        if categories.inferred_type == "string":
            codes = np.asarray(values.cat.codes.to_numpy(), dtype=np.intp)
            return codes, [level_text(c) for c in categories]
    return factorized_text(values)


class OneHot(LevelTransform):
    name = "onehot"
    column_types = frozenset({ColumnType.category, ColumnType.int, ColumnType.bool})

    def fit(
        self,
        key: str,
        name: str,
        cfg: FeatureConfig,
        column: pd.Series,
        declared: ColumnConfig,
        outcome: FitOutcome | None = None,
    ) -> dict[str, Any]:
        col_name = cfg.column or name
        merge = tuple((raw, new) for new, raws in cfg.merge.items() for raw in raws)
        declared_levels = set(declared.categories or ())
        unknown = [raw for raw, _ in merge if declared_levels and raw not in declared_levels]
        if unknown:
            raise ConfigError(
                f"{key}.merge", f"levels {unknown} are not categories of {col_name!r}"
            )
        keys, texts = factorized_text(column)
        mapping = dict(merge)
        merged = [None if t is None else mapping.get(t, t) for t in texts]
        counts: dict[str, int] = {}
        for label, n in zip(
            merged, np.bincount(keys[keys >= 0], minlength=len(texts)).tolist(), strict=True
        ):
            if label is not None and n:
                counts[label] = counts.get(label, 0) + n
        n_missing = int((keys < 0).sum())
        if cfg.missing is MissingPolicy.level and n_missing:
            counts[MISSING_LEVEL] = n_missing
        if len(counts) < 2:
            raise ConfigError(
                key,
                f"column {col_name!r} has fewer than two levels in the training data: "
                f"{sorted(counts)}",
            )
        reference = choose_reference(key, counts, cfg.reference)
        levels = tuple(sorted(lvl for lvl in counts if lvl != reference))
        if cfg.unseen is UnseenPolicy.map and cfg.unseen_level is not None:
            if cfg.unseen_level not in counts:
                raise ConfigError(
                    f"{key}.unseen_level",
                    f"{cfg.unseen_level!r} does not occur in "
                    f"the training data (levels seen: {sorted(counts)})",
                )
        return {
            "terms": tuple(f"{name}[{lvl}]" for lvl in levels),
            "levels": levels,
            "reference": reference,
            "merge": merge,
        }

    def labels(self, f: FeatureSpec, values: Any) -> tuple[np.ndarray, list[str | None]]:
        keys, texts = row_texts(values)
        if f.merge:
            mapping = dict(f.merge)
            texts = [None if t is None else mapping.get(t, t) for t in texts]
        return keys, texts

    def raw_levels(self, f: FeatureSpec) -> dict[str, int]:
        """Every raw text the feature knows (its levels, the raw levels merged into them),
        with its level code."""
        mapping = dict(f.merge)
        raws = [*f.known_levels, *mapping]
        return {raw: self.resolve(f, mapping.get(raw, raw))[0] for raw in raws}

    def record_table(self, f: FeatureSpec, lut: list[float]) -> RecordContribution:
        table = {raw: lut[code] for raw, code in self.raw_levels(f).items() if code >= -1}
        code_missing = self.resolve(f, None)[0]
        code_unseen = self.unseen_code(f, "")[0]
        when_missing = lut[code_missing] if code_missing >= -1 else None
        when_unseen = lut[code_unseen] if code_unseen >= -1 else None
        return text_record(table, when_missing, when_unseen)

    def attributes(self, f: FeatureSpec) -> tuple[tuple[str, Any], ...] | None:
        """Each known level with a raw text scored as it: the level itself, or for a level
        made by ``merge`` the first raw level merged into it."""
        mapping = dict(f.merge)
        out: list[tuple[str, Any]] = []
        for level in f.known_levels:
            if level == MISSING_LEVEL:
                out.append((level, None))
                continue
            raws = [raw for raw in self.raw_levels(f) if mapping.get(raw, raw) == level]
            out.append((level, level if level in raws else raws[0]))
        return tuple(out)

    def attribute_label(self, f: FeatureSpec, value: Any) -> str:
        # by text, as record_table: pd.factorize costs more than the rest of a one-row request
        text = value if type(value) is str else level_text(value)
        if text is not None and f.merge:
            text = dict(f.merge).get(text, text)
        code, _ = self.resolve(f, text)
        if code < -1:
            return super().attribute_label(f, value)
        return str([*f.levels, f.reference][code])

    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        null = [None] if self.accepts_missing(f) else []
        if f.unseen == UnseenPolicy.error.value:
            levels = sorted(raw for raw, code in self.raw_levels(f).items() if code >= -1)
            return {"enum": [lvl for lvl in levels if lvl != MISSING_LEVEL] + null}
        return {} if null else {"not": {"type": "null"}}

    def sql_cases(self, f: FeatureSpec, column: str) -> tuple[list[tuple[str, int]], int, int]:
        by_code: dict[int, list[str]] = {}
        for raw, code in self.raw_levels(f).items():
            by_code.setdefault(code, []).append(raw)
        text = f"CAST({column} AS TEXT)"
        cases = [
            (f"{text} IN ({', '.join(sql_text(r) for r in sorted(raws))})", code)
            for code, raws in sorted(by_code.items())
        ]
        return cases, self.resolve(f, None)[0], self.unseen_code(f, "")[0]


class Bins(LevelTransform):
    name = "bins"
    column_types = frozenset({ColumnType.float, ColumnType.int})

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

        cuts = tuple(float(c) for c in cfg.cuts or ())
        labels = bin_labels(cuts)
        x = to_float(pd.to_numeric(column, errors="coerce").astype("float64"))
        keys = self._bin_keys(cuts, x)
        n_per_bin = np.bincount(keys[keys >= 0], minlength=len(labels)).tolist()
        counts = {lbl: n for lbl, n in zip(labels, n_per_bin, strict=True) if n}
        n_missing = int((keys < 0).sum())
        if cfg.missing is MissingPolicy.level and n_missing:
            counts[MISSING_LEVEL] = n_missing
        empty = [lbl for lbl in labels if lbl not in counts]
        if empty:
            raise ConfigError(f"{key}.cuts", f"bins with no training rows: {empty}")
        reference = choose_reference(key, counts, cfg.reference)
        order = [*labels, MISSING_LEVEL]
        levels = tuple(lvl for lvl in order if lvl in counts and lvl != reference)
        return {
            "terms": tuple(f"{name}{lvl}" for lvl in levels),
            "cuts": cuts,
            "levels": levels,
            "reference": reference,
        }

    @staticmethod
    def _bin_keys(cuts: Sequence[float], x: np.ndarray) -> np.ndarray:
        """Bin index per value (right-open bins); -1 for a missing value."""
        idx = np.searchsorted(np.asarray(cuts, dtype=float), x, side="right")
        return np.where(np.isnan(x), -1, idx).astype(np.intp)

    def labels(self, f: FeatureSpec, values: Any) -> tuple[np.ndarray, list[str | None]]:
        return self._bin_keys(f.cuts, to_float(values)), list(bin_labels(f.cuts))

    def record_table(self, f: FeatureSpec, lut: list[float]) -> RecordContribution:
        codes = [self.resolve(f, lbl)[0] for lbl in bin_labels(f.cuts)]
        by_bin = [lut[c] if c >= -1 else None for c in codes]
        code_missing = self.resolve(f, None)[0]
        when_missing = lut[code_missing] if code_missing >= -1 else None
        return interval_record(f.cuts, by_bin, when_missing)

    def attributes(self, f: FeatureSpec) -> tuple[tuple[str, Any], ...] | None:
        """Each bin with a value inside it (its lower edge; below the first cut, one less than
        it), then ``<missing>`` when missing values are a level."""
        out: list[tuple[str, Any]] = list(bin_members(f.cuts))
        if MISSING_LEVEL in f.known_levels:
            out.append((MISSING_LEVEL, None))
        return tuple(out)

    def json_schema(self, f: FeatureSpec) -> dict[str, Any]:
        return {"type": ["number", "null"] if self.accepts_missing(f) else "number"}

    def sql_cases(self, f: FeatureSpec, column: str) -> tuple[list[tuple[str, int]], int, int]:
        codes = [self.resolve(f, lbl)[0] for lbl in bin_labels(f.cuts)]
        cases = [
            (f"{column} < {sql_number(c)}", code) for c, code in zip(f.cuts, codes, strict=False)
        ]
        return cases, self.resolve(f, None)[0], codes[-1]
