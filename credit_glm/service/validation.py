"""Request validation: the rule table (:mod:`credit_glm.rules`) compiled for one record at a time.

The table is what pandera's schema is built from (:func:`credit_glm.schema.build_schema`);
here every column becomes a closure of its type rule's scalar read and its value rules' scalar
checks, plus fast paths built from the rules' declared bounds and sets. Validating one record
with pandera costs milliseconds; the compiled form costs microseconds.
``tests/api/test_validator_equivalence.py`` proves the two agree (same accept/reject, same
field and rule) on generated good and bad records.

Semantics, mirroring pandera on a one-row frame of the record's values (``object`` columns,
``coerce=True``), after the JSON-type rule of :mod:`credit_glm.rules`:

- a missing required field: ``required``; an undeclared field under a strict schema:
  ``unknown_field``;
- a value that cannot be read as its type (6.9 for an ``int``, an integer beyond 64 bits, a
  date pandas cannot parse): ``type``, and no further rule is reported for that field;
- ``null`` (and NaN, which pandas reads as missing) where the column is not nullable:
  ``not_nullable``; a null passes every other check;
- otherwise every failing value rule: ``finite`` (Infinity), ``min``, ``max``, ``categories``.

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
from dataclasses import dataclass, replace
from itertools import islice
from operator import itemgetter
from typing import Any, Final, NamedTuple

from credit_glm.rules import (
    INT64_MAX,
    INT64_MIN,
    NOT_NULLABLE,
    REQUIRED,
    SCHEMA_METADATA_KEY,
    UNKNOWN_FIELD,
    ColumnRules,
    Refused,
    RuleTable,
)

__all__ = [
    "LISTED_UNKNOWN_FIELDS",
    "NO_VALUE",
    "DeadlineExceeded",
    "FieldError",
    "RecordValidator",
    "SchemaCompileError",
    "ValidatedBatch",
    "echo_text",
    "echo_value",
    "json_pointer",
    "unknown_field_errors",
]

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
    """The pandera schema is not one built from a rule table, or says more than its table."""


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


ValueCheck = Callable[[Any], tuple[Any, list[FieldError]]]


def _value_check(column: ColumnRules) -> ValueCheck:
    """One value of ``column``: the coerced value (``None`` for a null) and the rules it breaks."""
    name = column.name
    read = column.type.read
    nullable = column.nullable
    checks = column.checks

    def check(value: Any) -> tuple[Any, list[FieldError]]:
        x = read(value)
        if x is None:
            if nullable:
                return None, []
            return None, [
                FieldError(name, NOT_NULLABLE.name, NOT_NULLABLE.message, echo_value(value))
            ]
        if type(x) is Refused:
            return None, [FieldError(name, "type", x.message, echo_value(value))]
        errors = [
            FieldError(name, r.name, r.message, echo_value(value), allowed=r.allowed)
            for r in checks
            if not r.scalar(x)
        ]
        return x, errors

    return check


def _never(_: Any) -> bool:
    return False


def echo_value(value: Any) -> Any:
    """An offending value as it may appear in a response: short, JSON-safe, never the input."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else echo_text(str(value))
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
    """The compiled rule table: validates one JSON record (a ``dict``) in microseconds.

    Parameters
    ----------
    rules
        The columns' rules, by name.
    strict
        Reject fields the schema does not declare.
    columns
        The fields the model reads, in the order :meth:`to_columns` returns them.
    """

    def __init__(
        self, rules: Mapping[str, ColumnRules], strict: bool, columns: Sequence[str]
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
        self._check = {n: _value_check(r) for n, r in self.rules.items()}
        exact = {n: r for n, r in self.rules.items() if r.fast_path_exact}
        self._fast: dict[str, Callable[[Any], bool]] = {n: _never for n in self.rules}
        self._fast.update({n: r.type.as_sent(r) for n, r in exact.items()})
        self._fast_column: dict[str, Callable[[Sequence[Any]], bool]] = {
            n: _never for n in self.rules
        }
        self._fast_column.update({n: r.type.column_as_sent(r) for n, r in exact.items()})

    @classmethod
    def from_table(cls, table: RuleTable, columns: Sequence[str]) -> RecordValidator:
        """Compile a rule table (:func:`credit_glm.rules.rule_table`)."""
        return cls(table.columns, table.strict, columns)

    @classmethod
    def from_schema(cls, schema: Any, columns: Sequence[str]) -> RecordValidator:
        """Compile the rule table a pandera ``DataFrameSchema`` was built from.

        :func:`credit_glm.schema.build_schema` leaves the table in the schema's metadata; the
        schema must still say exactly what the table says (dtypes, checks, nullability,
        ``required``, strictness, no other option), so a rule added to the schema afterwards is
        never skipped silently.

        Raises
        ------
        SchemaCompileError
            The schema was not built from a rule table, or says something its table does not;
            the service then refuses to start rather than skip a rule.
        """
        table = (schema.metadata or {}).get(SCHEMA_METADATA_KEY)
        if not isinstance(table, RuleTable):
            raise SchemaCompileError("the schema was not built from a rule table (build_schema)")
        problems = _schema_differences(schema, table)
        if problems:
            raise SchemaCompileError("; ".join(problems))
        return cls.from_table(table, columns)

    def check_value(self, rule: ColumnRules, value: Any) -> tuple[Any, list[FieldError]]:
        """The coerced value (``None`` for a null) and the rules ``value`` breaks."""
        return self._check[rule.name](value)

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
                errors = unknown_field_errors(record, self._declared, UNKNOWN_FIELD.message, row)
            fields = ((n, record[n]) for n in self.rules if n in record)
        check = self._check
        for name, value in fields:
            x, problems = check[name](value)
            clean[name] = x
            if problems:
                errors.extend(p.at_row(row) for p in problems)
        for name in self._required_order:
            if name not in record:
                errors.append(FieldError(name, REQUIRED.name, REQUIRED.message, row=row))
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
            ok = fast.get(name)
            if ok is not None and not ok(value):
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
        fast_column = self._fast_column
        for name, values in zip(names, transposed, strict=True):
            if not fast_column[name](values):
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


def _schema_differences(schema: Any, table: RuleTable) -> list[str]:
    """What a pandera schema says that its rule table does not (empty: nothing)."""
    # a pandera schema in hand means pandera is loaded already
    from pandera.engines.pandas_engine import Engine

    problems = [
        f"schema option {option} is not compiled"
        for option, used in (
            ("dataframe checks", bool(schema.checks)),
            ("unique", bool(schema.unique)),
            ("ordered", bool(schema.ordered)),
            ("index", schema.index is not None),
            ("add_missing_columns", bool(schema.add_missing_columns)),
            ("drop_invalid_rows", bool(schema.drop_invalid_rows)),
        )
        if used
    ]
    if schema.strict is not table.strict:
        problems.append(f"strict={schema.strict!r}, its rule table says {table.strict}")
    if list(schema.columns) != list(table.columns):
        problems.append("its columns are not its rule table's")
        return problems
    for name, column in schema.columns.items():
        rules = table.columns[name]
        said = (
            column.dtype,
            bool(column.nullable),
            bool(column.required),
            [c.name for c in column.checks],
            bool(column.coerce and not column.regex and not column.unique),
            all(c.ignore_na for c in column.checks),
        )
        meant = (
            Engine.dtype(rules.type.dtype),
            rules.nullable,
            rules.required,
            [r.name for r in rules.checks],
            True,
            True,
        )
        if said != meant:
            problems.append(f"column {name!r} says {said}, its rule table {meant}")
    return problems
