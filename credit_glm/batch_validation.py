"""The rule table compiled for columns of a file: every row checked, the bad ones named.

:class:`ChunkValidator` is the batch face of :mod:`credit_glm.rules`, as the request validator
is its per-record face: it reads a chunk's columns (Arrow arrays: text from a CSV, typed
columns from Parquet) the way pandera coerces a frame, runs each rule's vectorised check
(:meth:`~credit_glm.rules.Rule.vector`) and returns the coerced columns of the rows that pass
every rule, and one :class:`Reject` line per (row, field) that breaks one. pandera stays the
source of truth: ``tests/unit/test_batch_validation.py`` checks that the rows rejected here are
the rows pandera's schema (:func:`credit_glm.schema.build_schema`) rejects, and that the values
kept are the values it coerces.

Reading a value as its column's type (a CSV cell is text) follows pandas' coercion of a text
column: to ``Int64`` by Arrow's parser (so ``" 24"``, ``"1_000"`` and ``"24.0"`` are not an
``int``; a float cell of a Parquet file must be whole to be one), to ``float64`` by Python's
``float`` (``" 24"`` and ``"1_000"`` are numbers). Arrow's vectorised cast reads every plain cell;
only a chunk-column with an unusual cell is read cell by cell. A NaN is a missing value,
as in pandas. A ``category`` is the text itself.

Pure: no file is read or written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from credit_glm.config import ColumnType
from credit_glm.errors import ConfigError
from credit_glm.rules import NOT_NULLABLE, ColumnRules, Rule, RuleTable

__all__ = ["REJECT_FIELDS", "ChunkValidator", "Reject", "ValidatedChunk"]

# the columns of a rejects file, in order
REJECT_FIELDS: Final = ("row", "field", "rule", "detail", "value")
_SUPPORTED: Final = frozenset({ColumnType.float, ColumnType.int, ColumnType.category})
# a column's pass/fail under one rule, per present value
RulePasses = Callable[[Rule], np.ndarray]


@dataclass(frozen=True)
class Reject:
    """One broken rule of one row: the row (its position in the input, from 1), the field,
    the rule's name and text, and the value as the file holds it."""

    row: int
    field: str
    rule: str
    detail: str
    value: str | None


@dataclass(frozen=True)
class ValidatedChunk:
    """A chunk after validation: which rows passed (``ok``), the passing rows' coerced
    columns (float64 with NaN for a missing number, a categorical Series for text) and every
    broken rule."""

    ok: np.ndarray
    columns: dict[str, Any]
    rejects: list[Reject]

    @property
    def n_rejected(self) -> int:
        return int((~self.ok).sum())


class _Coerced:
    """One column read as its type: values (NaN / None where missing), the missing mask and
    the cells its type rule cannot read."""

    def __init__(self, values: Any, missing: np.ndarray, unreadable: np.ndarray) -> None:
        self.values, self.missing, self.unreadable = values, missing, unreadable


# cells Arrow's cast reads surely: its vectorised cast takes them, the rest go cell by cell
_PLAIN: Final = {
    "int64": r"^[+-]?[0-9]{1,18}$",
    "double": r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$",
}


def _nulls(array: pa.Array) -> np.ndarray:
    """The missing cells of an Arrow array, as a bool array."""
    if not array.null_count:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _filled(array: pa.Array, value: Any) -> np.ndarray:
    """An Arrow array's values as numpy, ``value`` where missing."""
    if array.null_count:
        array = array.fill_null(value)
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _arrow_cell(to: pa.DataType) -> Callable[[pa.Array], Any]:
    def read(cell: pa.Array) -> Any:
        return pc.cast(cell, to)[0].as_py()

    return read


def _python_float(cell: pa.Array) -> float:
    return float(cell[0].as_py())


def _cast(
    array: pa.Array, to: pa.DataType, read_cell: Callable[[pa.Array], Any]
) -> tuple[pa.Array, np.ndarray]:
    """``array`` cast to ``to`` as pandas reads each cell, and the cells it cannot read (null
    in the result). One vectorised cast when every cell reads; else the plain cells at once and
    the others one by one with ``read_cell``, so a bad cell costs its own read only."""
    n = len(array)
    try:
        return pc.cast(array, to), np.zeros(n, dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    cells: list[Any] = [None] * n
    # a missing cell stays missing; the others are read
    todo = ~_nulls(array)
    pattern = _PLAIN.get(str(to))
    if pattern is not None and pa.types.is_string(array.type):
        plain = np.asarray(
            pc.match_substring_regex(array, pattern)
            .fill_null(False)
            .to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        try:
            read = pc.cast(array.filter(pa.array(plain)), to).to_pylist()
            for i, v in zip(np.flatnonzero(plain).tolist(), read, strict=True):
                cells[i] = v
            todo &= ~plain
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    unreadable = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(todo).tolist():
        try:
            cells[i] = read_cell(array.slice(i, 1))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError, ValueError, OverflowError):
            unreadable[i] = True
    return pa.array(cells, type=to), unreadable


def _coerce_float(array: pa.Array) -> _Coerced:
    # pandas reads text as float64 with Python's float (" 7", "1_000" are numbers)
    cast, unreadable = _cast(array, pa.float64(), _python_float)
    values = np.ascontiguousarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)
    return _Coerced(values, np.isnan(values) & ~unreadable, unreadable)


def _coerce_int(array: pa.Array) -> _Coerced:
    # and as Int64 with Arrow's parser (" 7", "1_000", "7.0" are not integers)
    cast, unreadable = _cast(array, pa.int64(), _arrow_cell(pa.int64()))
    missing = _nulls(cast) & ~unreadable
    exact = _filled(cast, 0)
    values = exact.astype(np.float64)
    values[missing | unreadable] = np.nan
    return _Coerced((values, exact), missing, unreadable)


def _coerce_text(array: pa.Array) -> _Coerced:
    # held dictionary-encoded (each distinct text once, a code per cell), as a file's reader
    # usually hands it over already: the rules are checked once per distinct text
    if not pa.types.is_dictionary(array.type):
        if not pa.types.is_string(array.type):
            array = pc.cast(array, pa.string())
        array = pc.dictionary_encode(array)
    elif array.dictionary.null_count:  # a missing value held as an entry: a null code instead
        array = pc.dictionary_encode(array.dictionary_decode())
    if not pa.types.is_string(array.dictionary.type):
        array = pa.DictionaryArray.from_arrays(
            array.indices, pc.cast(array.dictionary, pa.string())
        )
    return _Coerced(array, _nulls(array), np.zeros(len(array), dtype=bool))


_COERCE: Final = {
    ColumnType.float: _coerce_float,
    ColumnType.int: _coerce_int,
    ColumnType.category: _coerce_text,
}


def _rule_passes(kind: ColumnType, coerced: _Coerced, present: np.ndarray) -> RulePasses:
    """Whether each present value of a column passes a rule, as a function of the rule.

    Numbers go through the rules' vectorised checks as they are. Text is dictionary-encoded:
    a rule is a function of one value (every :class:`~credit_glm.rules.Rule` is), so it is
    checked once per distinct text, in Arrow (``isin`` is ``pc.is_in``), and each row takes
    its text's outcome through its code."""
    if kind is ColumnType.category:
        array = coerced.values
        distinct = pd.Series(pd.arrays.ArrowExtensionArray(array.dictionary))
        codes = _filled(array.indices, 0)
        if not present.all():
            codes = codes[present]

        def by_text(rule: Rule) -> np.ndarray:
            per_text = np.asarray(rule.vector(distinct).to_numpy(), dtype=bool)
            passes: np.ndarray = per_text[codes]
            return passes

        return by_text
    numbers = coerced.values[1] if kind is ColumnType.int else coerced.values
    values = pd.Series(numbers if present.all() else numbers[present], copy=False)

    def by_row(rule: Rule) -> np.ndarray:
        return np.asarray(rule.vector(values).to_numpy(), dtype=bool)

    return by_row


@dataclass(frozen=True)
class ChunkValidator:
    """A rule table (inference role) compiled for chunks of a file."""

    table: RuleTable

    def __post_init__(self) -> None:
        for name, col in self.table.columns.items():
            if col.type.column_type not in _SUPPORTED:
                raise ConfigError(
                    f"data.columns.{name}.type",
                    f"batch scoring reads float, int and category columns; {name!r} is a "
                    f"{col.kind}",
                )

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The category columns: best read dictionary-encoded (see :func:`_coerce_text`)."""
        return tuple(
            name
            for name, col in self.table.columns.items()
            if col.type.column_type is ColumnType.category
        )

    def missing_columns(self, present: Sequence[str]) -> list[str]:
        """The required columns a file lacks."""
        have = set(present)
        return [c for c in self.table.required if c not in have]

    def unknown_columns(self, present: Sequence[str]) -> list[str]:
        """The columns of a file the schema does not declare (refused when it is strict)."""
        return [c for c in present if c not in self.table.columns]

    def validate(self, columns: Mapping[str, pa.Array], first_row: int) -> ValidatedChunk:
        """Check every row of a chunk (``columns``: name -> Arrow array, equal lengths);
        ``first_row`` is the chunk's first row's position in the input (from 1)."""
        n = len(next(iter(columns.values()))) if columns else 0
        bad = np.zeros(n, dtype=bool)
        rejects: list[tuple[int, str, str, str, int]] = []  # (row index, field, rule, text, i)
        coerced: dict[str, tuple[ColumnRules, _Coerced]] = {}
        for name, rules in self.table.columns.items():
            if name not in columns:
                continue
            array = columns[name]
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            kind = rules.type.column_type
            col = _COERCE[kind](array)
            coerced[name] = (rules, col)
            failed = col.unreadable.copy()
            if failed.any():
                for i in np.flatnonzero(col.unreadable).tolist():
                    rejects.append((i, name, rules.type.name, rules.type.text, i))
            if not rules.nullable and col.missing.any():
                for i in np.flatnonzero(col.missing).tolist():
                    rejects.append((i, name, NOT_NULLABLE.name, NOT_NULLABLE.text, i))
                failed |= col.missing
            present = ~(col.missing | col.unreadable)
            if rules.checks and present.any():
                passing = _rule_passes(kind, col, present)
                broken: np.ndarray | None = None  # over the present values, once one fails
                for rule in rules.checks:
                    passes = passing(rule)
                    if passes.all():
                        continue
                    if broken is None:
                        where, broken = np.flatnonzero(present), np.zeros(passes.size, bool)
                    for i in where[~passes & ~broken].tolist():
                        rejects.append((i, name, rule.name, rule.text, i))
                    broken |= ~passes
                if broken is not None:
                    failed[where[broken]] = True
            bad |= failed
        ok = ~bad
        return ValidatedChunk(
            ok, self._kept(coerced, ok), self._rejects(rejects, columns, first_row)
        )

    @staticmethod
    def _kept(
        coerced: Mapping[str, tuple[ColumnRules, _Coerced]], ok: np.ndarray
    ) -> dict[str, Any]:
        every = bool(ok.all())  # the common case: nothing to filter, nothing to copy
        mask = None if every else pa.array(ok)
        out: dict[str, Any] = {}
        for name, (rules, col) in coerced.items():
            kind = rules.type.column_type
            if kind is ColumnType.category:
                text = col.values if mask is None else col.values.filter(mask)
                out[name] = text.to_pandas()  # a Categorical of the (unified) dictionary
            else:
                values = col.values[0] if kind is ColumnType.int else col.values
                out[name] = np.ascontiguousarray(values if every else values[ok])
        return out

    @staticmethod
    def _rejects(
        found: list[tuple[int, str, str, str, int]],
        columns: Mapping[str, pa.Array],
        first_row: int,
    ) -> list[Reject]:
        found.sort(key=lambda r: r[0])  # stable: a row's fields stay in schema order
        out = []
        for i, name, rule, text, _ in found:
            cell = columns[name][i].as_py()
            out.append(Reject(first_row + i, name, rule, text, None if cell is None else str(cell)))
        return out
