"""The rule table: every rule of the data schema declared once, with all its faces.

A column of the declaration (:class:`~credit_glm.config.ColumnConfig`) becomes a
:class:`ColumnRules`: its type rule, whether it is required and nullable, and its value rules
(``finite``, ``min``, ``max``, ``categories``). Each rule has

- a stable name, the ``rule`` code of a request error;
- its texts: ``message``, what a request error says about one value, and ``text``, how a frame
  report names the rule;
- a vectorised check (a pandas Series of coerced, non-null values to a boolean mask) and a
  scalar check (one coerced, non-null value to a bool);
- its JSON-schema fragment;
- the health signal it feeds (:class:`Signal`).

Every consumer derives from the table, none restates a rule:
:func:`credit_glm.schema.build_schema` makes pandera's ``DataFrameSchema`` of it (pandera, the
source of truth for frames, coerces the types and runs the vectorised checks);
:class:`credit_glm.service.validation.RecordValidator` compiles it into per-record closures;
:mod:`credit_glm.service.openapi` writes the request schema from the fragments;
:mod:`credit_glm.service.health` counts the signals.

A type rule reads one JSON value as its column's type the way pandera coerces a one-row
``object`` column, after one rule pandas cannot see: a value must have the JSON type of its
column (``int``: an integer, or a number with no fractional part; ``float``: a number;
``category`` and ``date``: a string; ``bool``: ``true``/``false``), so ``"24"`` or ``true`` is
never read as a number. ``tests/api/test_validator_equivalence.py`` proves the scalar faces
agree with pandera on generated records.

Neither pandera nor pandas is imported here at import time: serving starts without pandera.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import numpy as np

from credit_glm.config import ColumnConfig, ColumnType, DataConfig
from credit_glm.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "NOT_NULLABLE",
    "REQUIRED",
    "SCHEMA_METADATA_KEY",
    "SIGNALS",
    "UNKNOWN_FIELD",
    "ColumnRules",
    "Finite",
    "Maximum",
    "Minimum",
    "OneOf",
    "PresenceRule",
    "Refused",
    "Role",
    "Rule",
    "RuleTable",
    "Signal",
    "TypeRule",
    "allow_null",
    "column_rules",
    "rule_table",
]

Role = Literal["training", "inference"]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
FLOAT_MAX: Final = 1.7976931348623157e308
# where build_schema leaves the table in the pandera schema it made of it
SCHEMA_METADATA_KEY: Final = "credit_glm.rules"


class Signal(StrEnum):
    """The health counter a broken rule feeds."""

    out_of_range = "out_of_range"
    unknown_category = "unknown_category"
    missing = "missing"


# ---------------------------------------------------------------------------------------------
# rules about a field rather than its value
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PresenceRule:
    """A rule about a field's presence or its null: name, texts and health signal."""

    name: str
    message: str
    text: str
    signal: Signal | None = None


REQUIRED: Final = PresenceRule(
    "required", "required field is missing", "required column (column missing)", Signal.missing
)
NOT_NULLABLE: Final = PresenceRule(
    "not_nullable", "must not be null", "nullable=false (missing value)", Signal.missing
)
UNKNOWN_FIELD: Final = PresenceRule(
    "unknown_field", "field not declared in the schema", "strict schema (column not declared)"
)


def allow_null(fragment: Mapping[str, Any]) -> dict[str, Any]:
    """A field's JSON-schema fragment with ``null`` accepted too (a nullable column)."""
    out = dict(fragment)
    out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


# ---------------------------------------------------------------------------------------------
# value rules: checked on a coerced, non-null value
# ---------------------------------------------------------------------------------------------
class Rule:
    """A rule on a column's coerced, non-null values.

    ``lower``, ``upper`` and ``allowed`` say declaratively what the rule accepts, when it is a
    bound or a closed set; the fast paths read them instead of calling :meth:`scalar`.
    """

    name: ClassVar[str]
    signal: ClassVar[Signal | None] = None
    lower: float | None = None
    upper: float | None = None
    allowed: tuple[str, ...] | None = None
    # true when the type's native range already enforces the rule on a value sent as is
    implied_by_native_range: ClassVar[bool] = False

    @property
    def message(self) -> str:
        raise NotImplementedError

    @property
    def text(self) -> str:
        raise NotImplementedError

    def scalar(self, x: Any) -> bool:
        raise NotImplementedError

    def vector(self, values: pd.Series) -> pd.Series:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"<rule {self.name}: {self.text}>"


@dataclass(frozen=True, repr=False)
class Finite(Rule):
    """No NaN or infinity (JSON has neither; the frame path can read ``inf``)."""

    name = "finite"
    signal = Signal.out_of_range
    implied_by_native_range = True

    @property
    def message(self) -> str:
        return "must be finite (no NaN or Infinity)"

    @property
    def text(self) -> str:
        return "finite (no NaN or infinity)"

    def scalar(self, x: Any) -> bool:
        return math.isfinite(x)

    def vector(self, values: pd.Series) -> pd.Series:
        import pandas as pd

        if values.dtype == np.float64:  # already numbers: only an infinity breaks the rule
            return pd.Series(~np.isinf(values.to_numpy()), index=values.index)
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return pd.Series(np.isfinite(numbers) | values.isna(), index=values.index)


@dataclass(frozen=True, repr=False)
class Minimum(Rule):
    """``x >= lower``."""

    lower: float
    name = "min"
    signal = Signal.out_of_range

    @property
    def message(self) -> str:
        return f"must be >= {self.lower:g}"

    @property
    def text(self) -> str:
        return f"min {self.lower:g}"

    def scalar(self, x: Any) -> bool:
        return bool(x >= self.lower)

    def vector(self, values: pd.Series) -> pd.Series:
        return values >= self.lower

    def json_schema(self) -> dict[str, Any]:
        return {"minimum": self.lower}


@dataclass(frozen=True, repr=False)
class Maximum(Rule):
    """``x <= upper``."""

    upper: float
    name = "max"
    signal = Signal.out_of_range

    @property
    def message(self) -> str:
        return f"must be <= {self.upper:g}"

    @property
    def text(self) -> str:
        return f"max {self.upper:g}"

    def scalar(self, x: Any) -> bool:
        return bool(x <= self.upper)

    def vector(self, values: pd.Series) -> pd.Series:
        return values <= self.upper

    def json_schema(self) -> dict[str, Any]:
        return {"maximum": self.upper}


@dataclass(frozen=True, repr=False)
class OneOf(Rule):
    """One of the declared categories."""

    allowed: tuple[str, ...]
    levels: frozenset[str] = field(init=False, compare=False)
    name = "categories"
    signal = Signal.unknown_category

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", frozenset(self.allowed))

    @property
    def message(self) -> str:
        return "must be one of the declared categories"

    @property
    def text(self) -> str:
        return f"categories (allowed: {', '.join(repr(c) for c in self.allowed)})"

    def scalar(self, x: Any) -> bool:
        return x in self.levels

    def vector(self, values: pd.Series) -> pd.Series:
        return values.isin(list(self.allowed))

    def json_schema(self) -> dict[str, Any]:
        return {"enum": list(self.allowed)}


# every health signal a schema rule feeds, by rule name
SIGNALS: Final[Mapping[str, Signal]] = {
    **{r.name: r.signal for r in (REQUIRED, NOT_NULLABLE, UNKNOWN_FIELD) if r.signal is not None},
    **{r.name: r.signal for r in (Finite, Minimum, Maximum, OneOf) if r.signal is not None},
}


# ---------------------------------------------------------------------------------------------
# type rules: how one JSON value is read as its column's type
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refused:
    """A value its column's type rule cannot read, and why (the error's message)."""

    message: str


Fast = Callable[[Any], bool]
FastColumn = Callable[[Sequence[Any]], bool]


def _never(_: Any) -> bool:
    return False


class TypeRule:
    """The type of a column: its pandas dtype, its JSON type, and how one JSON value is read.

    :meth:`read` returns the coerced value (``None`` for a null) or a :class:`Refused`.
    :meth:`as_sent` and :meth:`column_as_sent` build the fast paths: predicates true only for
    a value (a column of values) that needs no coercion and certainly passes every value rule
    of the column; anything else takes :meth:`read` and the rules' scalar checks.
    """

    name: ClassVar[str] = "type"
    column_type: ClassVar[ColumnType]
    dtype: ClassVar[str]  # the pandas dtype pandera coerces a frame column to
    expected: ClassVar[str]  # "a number": the message of a value of the wrong JSON type
    # the range a value sent as is can take: the fast paths' bounds
    native: ClassVar[tuple[float, float] | None] = None

    def __init__(self) -> None:
        self.wrong_type = Refused(f"expected {self.expected}")

    @property
    def text(self) -> str:
        t = self.column_type.value
        return f"type {t} (value cannot be read as {t})"

    def read(self, value: Any) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def as_sent(self, column: ColumnRules) -> Fast:
        return _never

    def column_as_sent(self, column: ColumnRules) -> FastColumn:
        return _never

    def __repr__(self) -> str:
        return f"<type {self.column_type.value}>"


# the largest magnitude below which every integer is a float64 exactly
_EXACT_INT: Final = 2**53


class FloatType(TypeRule):
    column_type = ColumnType.float
    dtype = "float64"
    expected = "a number"
    native = (-FLOAT_MAX, FLOAT_MAX)

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            return self.wrong_type
        if isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                return self.wrong_type
        if not isinstance(value, float):
            return self.wrong_type
        return None if math.isnan(value) else value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number"}

    def as_sent(self, column: ColumnRules) -> Fast:
        lo, hi = column.bounds
        # an int passes as sent only where float() keeps it (|v| <= 2**53): it is read unchanged
        return lambda v: (
            (type(v) is float or (type(v) is int and -_EXACT_INT <= v <= _EXACT_INT))
            and lo <= v <= hi
        )

    def column_as_sent(self, column: ColumnRules) -> FastColumn:
        lo, hi = column.bounds

        def ok(values: Sequence[Any]) -> bool:
            if not set(map(type, values)) <= {int, float}:
                return False
            try:
                x = np.array(values, dtype=np.float64)
            except OverflowError:
                return False
            return bool(np.isfinite(x).all()) and bool(lo <= x.min()) and bool(x.max() <= hi)

        return ok


class IntType(TypeRule):
    column_type = ColumnType.int
    dtype = "Int64"  # nullable integers cast safely: 6.9 fails instead of becoming 6
    expected = "an integer"
    native = (INT64_MIN, INT64_MAX)

    def __init__(self) -> None:
        super().__init__()
        self.out_of_range = Refused("expected an integer in the 64-bit range")
        self.fractional = Refused("expected a whole number (it is never truncated)")

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            return self.wrong_type
        if isinstance(value, int):
            return int(value) if INT64_MIN <= value <= INT64_MAX else self.out_of_range
        if isinstance(value, float):
            if math.isnan(value):
                return None
            if not value.is_integer() or not -(2.0**63) <= value < 2.0**63:
                return self.fractional
            return int(value)
        return self.wrong_type

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}

    def as_sent(self, column: ColumnRules) -> Fast:
        lo, hi = column.bounds
        return lambda v: type(v) is int and lo <= v <= hi

    def column_as_sent(self, column: ColumnRules) -> FastColumn:
        lo, hi = column.bounds
        return lambda values: (
            set(map(type, values)) == {int} and lo <= min(values) and max(values) <= hi
        )


class CategoryType(TypeRule):
    column_type = ColumnType.category
    dtype = "str"
    expected = "a string"

    def __init__(self) -> None:
        super().__init__()
        self.bad_text = Refused("expected valid Unicode text")

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            return self.wrong_type
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escape carries
                return self.bad_text
        return str(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def as_sent(self, column: ColumnRules) -> Fast:
        allowed = column.allowed
        if allowed is not None:
            levels = frozenset(allowed)
            return lambda v: type(v) is str and v in levels
        return lambda v: type(v) is str and v.isascii()

    def column_as_sent(self, column: ColumnRules) -> FastColumn:
        allowed = column.allowed
        if allowed is not None:
            levels = frozenset(allowed)

            def member(values: Sequence[Any]) -> bool:
                # only str members of the categories are in this set of str; an unhashable
                # value (an object or array) is no member either
                try:
                    return levels.issuperset(values)
                except TypeError:
                    return False

            return member

        def text(values: Sequence[Any]) -> bool:
            if set(map(type, values)) != {str}:
                return False
            try:
                "".join(values).encode("utf-8")
            except UnicodeEncodeError:
                return False
            return True

        return text


class BoolType(TypeRule):
    column_type = ColumnType.bool
    dtype = "boolean"
    expected = "true or false"

    def read(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        return self.wrong_type

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def as_sent(self, column: ColumnRules) -> Fast:
        return lambda v: type(v) is bool

    def column_as_sent(self, column: ColumnRules) -> FastColumn:
        return lambda values: set(map(type, values)) == {bool}


class DateType(TypeRule):
    """A date string, read as pandera reads an ``object`` column into ``datetime64[ns]``.

    No fast path: every date goes through pandas.
    """

    column_type = ColumnType.date
    dtype = "datetime64[ns]"
    expected = "a date string"

    def __init__(self) -> None:
        super().__init__()
        self.unreadable = Refused("expected a date pandas can read")

    def read(self, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            return self.wrong_type
        import pandas as pd

        try:
            read = pd.to_datetime(pd.Series([value], dtype=object))
            if read.dt.tz is not None:
                read = read.dt.tz_convert(None)
            stamp = read.astype("datetime64[ns]").iloc[0]
        except Exception:  # noqa: BLE001 - pandas failing to read it is the answer
            return self.unreadable
        return None if pd.isna(stamp) else stamp

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


_TYPES: Final[dict[ColumnType, TypeRule]] = {
    t.column_type: t() for t in (FloatType, IntType, CategoryType, BoolType, DateType)
}


# ---------------------------------------------------------------------------------------------
# columns and the table
# ---------------------------------------------------------------------------------------------
def _narrow(schema: dict[str, Any], fragment: Mapping[str, Any]) -> None:
    # both fragments hold: the tighter bound, the common levels
    for key, value in fragment.items():
        if key == "minimum" and key in schema:
            schema[key] = max(schema[key], value)
        elif key == "maximum" and key in schema:
            schema[key] = min(schema[key], value)
        elif key == "enum" and key in schema:
            schema[key] = [v for v in schema[key] if v in value]
        else:
            schema[key] = value


@dataclass(frozen=True)
class ColumnRules:
    """Every rule of one column, as the declaration says it."""

    name: str
    type: TypeRule
    required: bool
    nullable: bool
    checks: tuple[Rule, ...] = ()
    description: str = ""

    @property
    def kind(self) -> str:
        """The declared type's name (``float``, ``int``, ``category``, ``bool``, ``date``)."""
        return self.type.column_type.value

    @property
    def minimum(self) -> float | None:
        bounds = [r.lower for r in self.checks if r.lower is not None]
        return max(bounds) if bounds else None

    @property
    def maximum(self) -> float | None:
        bounds = [r.upper for r in self.checks if r.upper is not None]
        return min(bounds) if bounds else None

    @property
    def allowed(self) -> tuple[str, ...] | None:
        """The closed set of values, when a rule declares one."""
        for r in self.checks:
            if r.allowed is not None:
                return r.allowed
        return None

    @property
    def bounds(self) -> tuple[float, float]:
        """The range a value sent as is must fall in: the type's native range and the bounds.

        Raises ``ValueError`` for a column some rule of which a bound or a set cannot say
        (the fast paths then never take it).
        """
        if self.type.native is None:
            raise ValueError(f"column {self.name!r}: a {self.kind} has no native range")
        lo, hi = self.type.native
        if self.minimum is not None:
            lo = max(lo, self.minimum)
        if self.maximum is not None:
            hi = min(hi, self.maximum)
        return lo, hi

    @property
    def fast_path_exact(self) -> bool:
        """True when every value rule is a bound, a closed set or implied by the native range,
        so that a fast path built from :attr:`bounds` and :attr:`allowed` checks them all."""
        return all(
            r.implied_by_native_range
            or r.lower is not None
            or r.upper is not None
            or r.allowed is not None
            for r in self.checks
        )

    def value_schema(self) -> dict[str, Any]:
        """JSON Schema of a non-null value: the type's fragment narrowed by every rule's."""
        out = self.type.json_schema()
        for r in self.checks:
            _narrow(out, r.json_schema())
        return out

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the field (``null`` too when the column is nullable)."""
        out = self.value_schema()
        return allow_null(out) if self.nullable else out

    def rule(self, name: str) -> Rule | None:
        """The value rule called ``name``."""
        for r in self.checks:
            if r.name == name:
                return r
        return None


def _bound(kind: ColumnType, value: float) -> float:
    # an int column's bound as an integer when it is one (JSON Schema "minimum": 1, not 1.0)
    if kind is ColumnType.int and float(value).is_integer():
        return int(value)
    return float(value)


def column_rules(name: str, col: ColumnConfig, required: bool = True) -> ColumnRules:
    """The rules of one declared column."""
    checks: list[Rule] = []
    if col.type in (ColumnType.float, ColumnType.int):
        checks.append(Finite())
    if col.min is not None:
        checks.append(Minimum(_bound(col.type, col.min)))
    if col.max is not None:
        checks.append(Maximum(_bound(col.type, col.max)))
    if col.categories is not None:
        checks.append(OneOf(tuple(str(c) for c in col.categories)))
    return ColumnRules(
        name=name,
        type=_TYPES[col.type],
        required=required,
        nullable=col.nullable,
        checks=tuple(checks),
        description=col.description,
    )


@dataclass(frozen=True)
class RuleTable:
    """The rules of a declaration in one role: every column's, and whether it is strict."""

    name: str
    columns: Mapping[str, ColumnRules]
    strict: bool

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(n for n, c in self.columns.items() if c.required)


def rule_table(
    data: DataConfig, role: Role = "training", required: Iterable[str] | None = None
) -> RuleTable:
    """The rule table of ``data`` in a given role.

    Parameters
    ----------
    data
        The declaration.
    role
        ``training`` requires every declared column. ``inference`` does not expect the target,
        weight or date columns, requires only ``required`` (the columns the model uses; every
        declared input column when ``None``) and accepts the other declared columns.
    required
        Columns that must be present at inference.
    """
    if not data.columns:
        raise ConfigError("data.columns", "the schema declares no columns")
    outcome_only = set(data.outcome_columns)
    needed = set(required) if required is not None else None
    columns: dict[str, ColumnRules] = {}
    for name, col in data.columns.items():
        if role == "inference" and name in outcome_only:
            continue
        is_required = role == "training" or needed is None or name in needed
        if role == "inference" and name == data.id_column:
            is_required = False
        columns[name] = column_rules(name, col, is_required)
    return RuleTable(name=f"{data.name}:{role}", columns=columns, strict=data.strict)
