"""Request validation: the model's pandera schema compiled into a fast per-record validator.

Pandera is the source of truth. :meth:`RecordValidator.from_schema` reads the
``DataFrameSchema`` that :func:`credit_glm.schema.build_schema` builds from the declaration
stored in the model card (column dtypes, nullability, ``required``, strictness and the
``finite`` / ``greater_than_or_equal_to`` / ``less_than_or_equal_to`` / ``isin`` checks) and
refuses any schema feature it does not know how to compile, so a rule added to the schema can
never be skipped silently. Validating one record with pandera costs milliseconds; the compiled
form costs microseconds. ``tests/api/test_validator_equivalence.py`` proves the two agree (same
accept/reject, same field and rule) on generated good and bad records.

Semantics, mirroring pandera on a one-row frame of the record's values (``object`` columns,
``coerce=True``), after one rule pandas cannot see: a value must have the JSON type of its
column (``int``: an integer, or a number with no fractional part; ``float``: a number;
``category`` and ``date``: a string; ``bool``: ``true``/``false``), so ``"24"`` or ``true``
is never read as a number.

- a missing required field: ``required``; an undeclared field under a strict schema:
  ``unknown_field``;
- a value that cannot be read as its type (6.9 for an ``int``, an integer beyond 64 bits, a
  date pandas cannot parse): ``type``, and no further rule is reported for that field;
- ``null`` (and NaN, which pandas reads as missing) where the column is not nullable:
  ``not_nullable``; a null passes every other check;
- otherwise every failing check: ``finite`` (Infinity), ``min``, ``max``, ``categories``.

Bounded work: undeclared fields are found by one set difference, and more than
:data:`LISTED_UNKNOWN_FIELDS` of them in one object are one error ("N fields not declared",
with the first few names), so a body of 50,000 unknown keys costs about what parsing it costs. A
batch stops being validated once ``max_errors`` errors are found (:class:`ValidatedBatch`
says so), and the per-record loop gives up at a deadline (:class:`DeadlineExceeded`).
Every key and value echoed in an error is shortened and made encodable (:func:`echo_text`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from operator import itemgetter
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

__all__ = [
    "LISTED_UNKNOWN_FIELDS",
    "NO_VALUE",
    "DeadlineExceeded",
    "FieldError",
    "FieldRule",
    "RecordValidator",
    "SchemaCompileError",
    "ValidatedBatch",
    "echo_text",
    "echo_value",
    "json_pointer",
    "unknown_field_errors",
]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_FLOAT_MAX: Final = 1.7976931348623157e308
_ECHO_CHARS: Final = 80
# an object with more undeclared fields than this gets one error naming this many of them
LISTED_UNKNOWN_FIELDS: Final = 5
# rows validated between two looks at the clock
_ROWS_PER_CLOCK_CHECK: Final = 32


class _NoValue:
    """Marks an error without an offending value (a missing field)."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()


class SchemaCompileError(ValueError):
    """The pandera schema uses a feature the fast validator does not compile."""


class DeadlineExceeded(Exception):
    """Validation ran past the request's deadline (``time.perf_counter`` seconds)."""


@dataclass(frozen=True)
class FieldError:
    """One broken rule of one field of one record.

    ``rule`` is a stable code (``required``, ``unknown_field``, ``type``, ``not_nullable``,
    ``finite``, ``min``, ``max``, ``categories``, ``not_an_object``, and, from the feature spec,
    ``unseen_category``, ``missing_value``, ``domain``); ``message`` says it in words; ``value``
    is the offending value or :data:`NO_VALUE`. ``count`` is how many broken rules the entry
    stands for: more than one only for the one ``unknown_field`` entry of an object with many
    undeclared fields (``field`` is then empty, the object itself, and ``fields`` names the
    first few).
    """

    field: str
    rule: str
    message: str
    value: Any = NO_VALUE
    row: int | None = None
    allowed: tuple[str, ...] | None = None
    count: int = 1
    fields: tuple[str, ...] | None = None

    def at_row(self, row: int | None) -> FieldError:
        return replace(self, row=row)


class ValidatedBatch(NamedTuple):
    """What :meth:`RecordValidator.to_columns` found.

    ``columns`` holds the model's columns of the valid rows, ``rows`` their indices, ``errors``
    every error of the invalid ones (with its row index). ``complete`` is false when validation
    stopped at ``max_errors``: later rows were not looked at, and there may be more errors.
    """

    columns: dict[str, list[Any]]
    rows: list[int]
    errors: list[FieldError]
    complete: bool = True


@dataclass(frozen=True)
class FieldRule:
    """One column of the schema, compiled."""

    name: str
    kind: str  # float | int | category | bool | date
    required: bool
    nullable: bool
    finite: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    # date columns: pandera's own coercion of a one-value object series
    coerce: Callable[[pd.Series], pd.Series] | None = field(default=None, compare=False)

    @property
    def json_type(self) -> str:
        return {
            "float": "a number",
            "int": "an integer",
            "category": "a string",
            "bool": "true or false",
            "date": "a date string",
        }[self.kind]


def _kind_of(dtype: Any) -> str:
    text = str(dtype)
    if text == "float64":
        return "float"
    if text == "Int64":
        return "int"
    if text == "str" or text.startswith("string"):
        return "category"
    if text == "boolean":
        return "bool"
    if text.startswith("datetime64"):
        return "date"
    raise SchemaCompileError(f"dtype {text!r} is not compiled")


def _compile_column(name: str, column: pa.Column) -> FieldRule:
    if not column.coerce or column.regex or column.unique:
        raise SchemaCompileError(
            f"column {name!r}: only coerce=True, regex=False, unique=False columns are compiled"
        )
    kind = _kind_of(column.dtype)
    finite = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    for check in column.checks:
        stats = check.statistics or {}
        if check.name == "finite" and kind in ("float", "int"):
            finite = True
        elif check.name == "greater_than_or_equal_to" and kind in ("float", "int"):
            minimum = float(stats["min_value"])
        elif check.name == "less_than_or_equal_to" and kind in ("float", "int"):
            maximum = float(stats["max_value"])
        elif check.name == "isin" and kind == "category":
            categories = tuple(str(c) for c in stats["allowed_values"])
        else:
            raise SchemaCompileError(f"column {name!r}: check {check.name!r} is not compiled")
        if not check.ignore_na:
            raise SchemaCompileError(f"column {name!r}: check {check.name!r} must ignore nulls")
    coerce = None
    if kind == "date":
        coerce = column.dtype.coerce
    return FieldRule(
        name=name,
        kind=kind,
        required=bool(column.required),
        nullable=bool(column.nullable),
        finite=finite,
        minimum=minimum,
        maximum=maximum,
        categories=categories,
        coerce=coerce,
    )


def _fast_predicate(rule: FieldRule) -> Callable[[Any], bool]:
    """True only for a value that certainly passes; anything else takes the full path."""
    if rule.kind == "category":
        if rule.categories is not None:
            allowed = frozenset(rule.categories)
            return lambda v: type(v) is str and v in allowed
        return lambda v: type(v) is str and v.isascii()
    if rule.kind == "bool":
        return lambda v: type(v) is bool
    if rule.kind == "int":
        lo_i = _INT64_MIN if rule.minimum is None else max(rule.minimum, _INT64_MIN)
        hi_i = _INT64_MAX if rule.maximum is None else min(rule.maximum, _INT64_MAX)
        return lambda v: type(v) is int and lo_i <= v <= hi_i
    if rule.kind == "float":
        lo_f = -_FLOAT_MAX if rule.minimum is None else max(rule.minimum, -_FLOAT_MAX)
        hi_f = _FLOAT_MAX if rule.maximum is None else min(rule.maximum, _FLOAT_MAX)
        return lambda v: (type(v) is float or type(v) is int) and lo_f <= v <= hi_f
    return lambda v: False


def _column_ok(rule: FieldRule, values: tuple[Any, ...], allowed: frozenset[str] | None) -> bool:
    """True only when every value of a column certainly passes (see ``_fast_predicate``)."""
    kind = rule.kind
    if kind == "category":
        if allowed is not None:
            # only str members of the categories are in this set of str; an unhashable value
            # (an object or array) is no member either
            try:
                return allowed.issuperset(values)
            except TypeError:
                return False
        if set(map(type, values)) != {str}:
            return False
        try:
            "".join(values).encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if kind == "bool":
        return set(map(type, values)) == {bool}
    if kind == "int":
        lo = _INT64_MIN if rule.minimum is None else max(rule.minimum, _INT64_MIN)
        hi = _INT64_MAX if rule.maximum is None else min(rule.maximum, _INT64_MAX)
        return set(map(type, values)) == {int} and lo <= min(values) and max(values) <= hi
    if kind == "float":
        if not set(map(type, values)) <= {int, float}:
            return False
        try:
            x = np.array(values, dtype=np.float64)
        except OverflowError:
            return False
        if not bool(np.isfinite(x).all()):
            return False
        lo_f = -math.inf if rule.minimum is None else rule.minimum
        hi_f = math.inf if rule.maximum is None else rule.maximum
        return bool(lo_f <= x.min()) and bool(x.max() <= hi_f)
    return False


def echo_value(value: Any) -> Any:
    """An offending value as it may appear in a response: short, JSON-safe, never the input."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else echo_text(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, str):
        return echo_text(value)
    if isinstance(value, dict):
        return "<object>"
    if isinstance(value, list):
        return "<array>"
    return echo_text(str(value))


def echo_text(text: str, limit: int = _ECHO_CHARS) -> str:
    """Text from a request as it may appear in a response or a log line: at most ``limit``
    characters, and encodable as UTF-8 (a lone surrogate, which JSON's ``\\ud800`` escape
    can carry, is written as that escape's text)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
            if len(text) > limit:
                text = text[: limit - 1] + "…"
    return text


def unknown_field_errors(
    record: Mapping[str, Any], declared: Collection[str], message: str, row: int | None = None
) -> list[FieldError]:
    """The ``unknown_field`` errors of the keys of ``record`` not in ``declared``.

    One error per key up to :data:`LISTED_UNKNOWN_FIELDS` of them, else one error for them all
    (its ``count`` the number of keys, ``fields`` the first few). The keys are counted with one
    set difference, so the cost is that of hashing them, however many there are.
    """
    n = len(record.keys() - declared)
    if n == 0:
        return []
    first = [
        echo_text(k, 100)
        for k in islice((k for k in record if k not in declared), LISTED_UNKNOWN_FIELDS)
    ]
    if n <= LISTED_UNKNOWN_FIELDS:
        return [FieldError(k, "unknown_field", message, row=row) for k in first]
    names = ", ".join(repr(k) for k in first)
    return [
        FieldError(
            "",
            "unknown_field",
            f"{n} unknown fields, the first {len(first)}: {names} ({message})",
            row=row,
            count=n,
            fields=tuple(first),
        )
    ]


def json_pointer(*parts: str | int) -> str:
    """RFC 6901 pointer to a member of the request body."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class RecordValidator:
    """The compiled schema: validates one JSON record (a ``dict``) in microseconds.

    Parameters
    ----------
    rules
        The compiled columns, by name.
    strict
        Reject fields the schema does not declare.
    columns
        The fields the model reads, in the order :meth:`to_columns` returns them.
    """

    def __init__(
        self, rules: Mapping[str, FieldRule], strict: bool, columns: Sequence[str]
    ) -> None:
        self.rules = dict(rules)
        self.strict = strict
        self.columns = tuple(columns)
        unknown = [c for c in self.columns if c not in self.rules]
        if unknown:
            raise SchemaCompileError(f"model columns {unknown} are not in the schema")
        self._declared = frozenset(self.rules)
        self._required_order = tuple(n for n, r in self.rules.items() if r.required)
        self._required = frozenset(self._required_order)
        self._fast = {n: _fast_predicate(r) for n, r in self.rules.items()}
        self._allowed = {
            n: frozenset(r.categories) for n, r in self.rules.items() if r.categories is not None
        }

    @classmethod
    def from_schema(cls, schema: pa.DataFrameSchema, columns: Sequence[str]) -> RecordValidator:
        """Compile a pandera ``DataFrameSchema`` (as built by ``build_schema``).

        Raises
        ------
        SchemaCompileError
            The schema uses a feature (a dtype, a check, a schema-level option) that is not
            compiled; the service then refuses to start rather than skip a rule.
        """
        unsupported = {
            "dataframe checks": bool(schema.checks),
            "unique": bool(schema.unique),
            "ordered": bool(schema.ordered),
            "index": schema.index is not None,
            "add_missing_columns": bool(schema.add_missing_columns),
            "drop_invalid_rows": bool(schema.drop_invalid_rows),
        }
        used = [k for k, v in unsupported.items() if v]
        if used:
            raise SchemaCompileError(f"schema options not compiled: {', '.join(used)}")
        if schema.strict not in (True, False):
            raise SchemaCompileError(f"strict={schema.strict!r} is not compiled")
        rules = {str(n): _compile_column(str(n), c) for n, c in schema.columns.items()}
        return cls(rules, bool(schema.strict), columns)

    # -- one value ------------------------------------------------------------------------
    def check_value(self, rule: FieldRule, value: Any) -> tuple[Any, list[FieldError]]:
        """The coerced value (``None`` for a null) and the rules ``value`` breaks."""
        name = rule.name
        kind = rule.kind
        x: Any = value
        bad_type = FieldError(name, "type", f"expected {rule.json_type}", echo_value(value))
        if value is None:
            x = None
        elif isinstance(value, bool):
            if kind != "bool":
                return None, [bad_type]
        elif kind == "bool":
            return None, [bad_type]
        elif kind == "float":
            if isinstance(value, int):
                try:
                    x = float(value)
                except OverflowError:
                    return None, [bad_type]
            elif not isinstance(value, float):
                return None, [bad_type]
            if math.isnan(x):
                x = None
        elif kind == "int":
            if isinstance(value, int):
                if not _INT64_MIN <= value <= _INT64_MAX:
                    return None, [
                        FieldError(
                            name,
                            "type",
                            "expected an integer in the 64-bit range",
                            echo_value(value),
                        )
                    ]
            elif isinstance(value, float):
                if math.isnan(value):
                    x = None
                elif not value.is_integer() or not -(2.0**63) <= value < 2.0**63:
                    return None, [
                        FieldError(
                            name,
                            "type",
                            "expected a whole number (it is never truncated)",
                            echo_value(value),
                        )
                    ]
                else:
                    x = int(value)
            else:
                return None, [bad_type]
        elif kind == "category":
            if not isinstance(value, str):
                return None, [bad_type]
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return None, [
                    FieldError(name, "type", "expected valid Unicode text", echo_value(value))
                ]
        elif kind == "date":
            if not isinstance(value, str) or rule.coerce is None:
                return None, [bad_type]
            try:
                coerced = rule.coerce(pd.Series([value], dtype=object))
            except Exception:  # noqa: BLE001 - pandera's coercion failing is the answer
                return None, [
                    FieldError(name, "type", "expected a date pandas can read", echo_value(value))
                ]
            stamp = coerced.iloc[0]
            x = None if pd.isna(stamp) else stamp
        if x is None:
            if rule.nullable:
                return None, []
            return None, [FieldError(name, "not_nullable", "must not be null", echo_value(value))]
        errors: list[FieldError] = []
        if rule.finite and not math.isfinite(x):
            errors.append(
                FieldError(name, "finite", "must be finite (no NaN or Infinity)", echo_value(value))
            )
        if rule.minimum is not None and not x >= rule.minimum:
            errors.append(
                FieldError(name, "min", f"must be >= {rule.minimum:g}", echo_value(value))
            )
        if rule.maximum is not None and not x <= rule.maximum:
            errors.append(
                FieldError(name, "max", f"must be <= {rule.maximum:g}", echo_value(value))
            )
        if rule.categories is not None and x not in rule.categories:
            errors.append(
                FieldError(
                    name,
                    "categories",
                    "must be one of the declared categories",
                    echo_value(value),
                    allowed=rule.categories,
                )
            )
        return x, errors

    # -- one record -----------------------------------------------------------------------
    def validate(
        self, record: Any, row: int | None = None
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """The coerced record and every rule it breaks (empty when it is valid)."""
        if not isinstance(record, dict):
            return {}, [
                FieldError(
                    "", "not_an_object", "expected a JSON object of fields", echo_value(record), row
                )
            ]
        errors: list[FieldError] = []
        clean: dict[str, Any] = {}
        if record.keys() <= self._declared:
            fields: Any = record.items()
        else:  # undeclared keys: counted at once, never walked one by one
            if self.strict:
                errors = unknown_field_errors(
                    record, self._declared, "field not declared in the schema", row
                )
            fields = ((n, record[n]) for n in self.rules if n in record)
        for name, value in fields:
            x, problems = self.check_value(self.rules[name], value)
            clean[name] = x
            if problems:
                errors.extend(p.at_row(row) for p in problems)
        for name in self._required_order:
            if name not in record:
                errors.append(FieldError(name, "required", "required field is missing", row=row))
        return clean, errors

    def fast_ok(self, record: Any) -> bool:
        """True when ``record`` is certainly valid as sent (the common case, no coercion)."""
        if type(record) is not dict:
            return False
        keys = record.keys()
        if not keys >= self._required:
            return False
        if self.strict and not keys <= self._declared:
            return False
        fast = self._fast
        for name, value in record.items():
            check = fast.get(name)
            if check is not None and not check(value):
                return False
        return True

    def validate_one(self, record: Any) -> tuple[dict[str, Any], list[FieldError]]:
        """:meth:`validate` with the fast path first."""
        if self.fast_ok(record):
            return record, []
        return self.validate(record)

    def fast_columns(self, records: Sequence[Any]) -> dict[str, list[Any]] | None:
        """The model's columns when every record is certainly valid as sent, else ``None``.

        Column-wise: every record a ``dict`` with the same keys (the required ones, no
        undeclared one under a strict schema), each column of one accepted JSON type and
        within range. Anything else (a null, an int sent as 24.0, a date, a bad value) returns
        ``None`` and the batch takes :meth:`to_columns`' per-record path, which is exact.
        """
        if not records or type(records[0]) is not dict:
            return None
        keys = records[0].keys()
        if not keys >= self._required or (self.strict and not keys <= self._declared):
            return None
        # every record a dict with as many keys, all of which the first record's: the same keys
        if set(map(type, records)) != {dict} or set(map(len, records)) != {len(keys)}:
            return None
        names = [k for k in keys if k in self.rules]
        if len(names) != len(keys) or len(names) < 2:
            return None
        try:
            transposed = list(zip(*map(itemgetter(*names), records), strict=True))
        except KeyError:
            return None
        columns: dict[str, list[Any]] = {}
        for name, values in zip(names, transposed, strict=True):
            if not _column_ok(self.rules[name], values, self._allowed.get(name)):
                return None
            columns[name] = list(values)
        return {c: columns[c] for c in self.columns}

    def to_columns(
        self, records: Sequence[Any], max_errors: int | None = None, deadline: float | None = None
    ) -> ValidatedBatch:
        """Validate every record (see :class:`ValidatedBatch`).

        Parameters
        ----------
        max_errors
            Stop after the record that brings the errors found to this many (the batch is then
            ``complete=False``); ``None`` validates every record.
        deadline
            A ``time.perf_counter()`` value; past it (looked at every few rows) the loop raises
            :class:`DeadlineExceeded`.
        """
        fast = self.fast_columns(records)
        if fast is not None:
            return ValidatedBatch(fast, list(range(len(records))), [])
        valid: list[dict[str, Any]] = []
        rows: list[int] = []
        errors: list[FieldError] = []
        fast_ok = self.fast_ok
        budget = math.inf if max_errors is None else max_errors
        complete = True
        for i, record in enumerate(records):
            if (
                deadline is not None
                and i % _ROWS_PER_CLOCK_CHECK == 0
                and time.perf_counter() > deadline
            ):
                raise DeadlineExceeded
            if fast_ok(record):
                valid.append(record)
                rows.append(i)
                continue
            clean, problems = self.validate(record, row=i)
            if problems:
                errors.extend(problems)
                if len(errors) >= budget:
                    complete = i == len(records) - 1
                    break
            else:
                valid.append(clean)
                rows.append(i)
        columns = {c: [r.get(c) for r in valid] for c in self.columns}
        return ValidatedBatch(columns, rows, errors, complete)
