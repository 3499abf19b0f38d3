"""The data schema: one pandera ``DataFrameSchema`` built from the YAML declaration.

The declaration (``conf/data/<name>.yaml``, a :class:`~credit_glm.config.DataConfig`) is the only
place a column's type, nullability, range and categories are written. Training, evaluation, batch
scoring and the service all build their checks from it (the model card stores it), so a rule is
never declared twice.

Two roles share the declaration: ``training`` requires the target (and the weight and date
columns when declared); ``inference`` requires the columns the model uses, accepts the other
declared columns, and ignores the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from credit_glm.config import ColumnConfig, ColumnType, DataConfig, TargetConfig, to_plain
from credit_glm.errors import ConfigError, SchemaViolation, ValidationFailed

__all__ = [
    "Role",
    "build_schema",
    "data_config_from_dict",
    "data_config_to_dict",
    "validate_frame",
]

Role = Literal["training", "inference"]

_PANDAS_DTYPE: dict[ColumnType, str] = {
    ColumnType.float: "float64",
    # Nullable integers cast safely: 6.9 fails instead of becoming 6.
    ColumnType.int: "Int64",
    ColumnType.category: "str",
    ColumnType.bool: "boolean",
    ColumnType.date: "datetime64[ns]",
}
_MAX_EXAMPLES = 5


def _finite(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return pd.Series(np.isfinite(values) | series.isna(), index=series.index)


def _column_checks(col: ColumnConfig) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if col.type in (ColumnType.float, ColumnType.int):
        checks.append(pa.Check(_finite, name="finite", error="finite (no NaN or infinity)"))
    if col.min is not None:
        checks.append(pa.Check.greater_than_or_equal_to(col.min))
    if col.max is not None:
        checks.append(pa.Check.less_than_or_equal_to(col.max))
    if col.categories is not None:
        checks.append(pa.Check.isin(list(col.categories)))
    return checks


def build_schema(
    data: DataConfig,
    role: Role = "training",
    required: Iterable[str] | None = None,
) -> pa.DataFrameSchema:
    """Build the pandera schema for ``data`` in a given role.

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
    outcome_only = {c for c in (data.target.column, data.weight_column, data.date_column) if c}
    needed = set(required) if required is not None else None
    columns: dict[str, pa.Column] = {}
    for name, col in data.columns.items():
        if role == "inference" and name in outcome_only:
            continue
        is_required = role == "training" or needed is None or name in needed
        if role == "inference" and name == data.id_column:
            is_required = False
        columns[name] = pa.Column(
            _PANDAS_DTYPE[col.type],
            checks=_column_checks(col),
            nullable=col.nullable,
            coerce=True,
            required=is_required,
            description=col.description or None,
        )
    return pa.DataFrameSchema(columns, strict=data.strict, name=f"{data.name}:{role}")


def _rule_text(check: str, column: str, data: DataConfig | None) -> str:
    col = data.columns.get(column) if data is not None else None
    if check.startswith("coerce_dtype"):
        wanted = col.type.value if col is not None else check
        return f"type {wanted} (value cannot be read as {wanted})"
    if check == "column_in_schema":
        return "strict schema (column not declared)"
    if check == "column_in_dataframe":
        return "required column (column missing)"
    if check == "not_nullable":
        return "nullable=false (missing value)"
    if check.startswith("isin") and col is not None and col.categories is not None:
        return f"categories (allowed: {', '.join(repr(c) for c in col.categories)})"
    if check.startswith("greater_than_or_equal_to") and col is not None:
        return f"min {col.min:g}"
    if check.startswith("less_than_or_equal_to") and col is not None:
        return f"max {col.max:g}"
    return check


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def violations_from(
    err: SchemaErrors | SchemaError, data: DataConfig | None
) -> list[SchemaViolation]:
    """Turn pandera's failure cases into one :class:`SchemaViolation` per (column, rule).

    When a value cannot be coerced, pandera runs the column's later checks on the raw values and
    reports Python error texts as failing values; only the first failing check of such a column
    is kept.
    """
    cases = err.failure_cases
    if not isinstance(cases, pd.DataFrame) or cases.empty:
        return [SchemaViolation("<table>", str(err).splitlines()[0], (), (), 1)]
    out: list[SchemaViolation] = []
    coerce_failed: set[str] = set()
    for row in cases.itertuples(index=False):
        context = str(getattr(row, "schema_context", ""))
        check = str(getattr(row, "check", ""))
        if context == "DataFrameSchema" and check in ("column_in_schema", "column_in_dataframe"):
            column = str(row.failure_case)
            out.append(SchemaViolation(column, _rule_text(check, column, data), (), (), 1))
            continue
        column = str(getattr(row, "column", "<table>"))
        if column in coerce_failed:
            continue
        if check.startswith("coerce_dtype"):
            coerce_failed.add(column)
    frame = cases.copy()
    frame["column"] = frame["column"].astype("object").where(frame["column"].notna(), "<table>")
    per_column = frame[~frame["check"].isin(["column_in_schema", "column_in_dataframe"])]
    for (col_key, check_key), group in per_column.groupby(["column", "check"], sort=False):
        column, check = str(col_key), str(check_key)
        if column in coerce_failed and not check.startswith("coerce_dtype"):
            continue
        rows = [int(i) for i in group["index"].tolist() if i is not None and not pd.isna(i)]
        values: list[Any] = []
        for v in group["failure_case"].tolist():
            v = _plain(v)
            if v not in values:
                values.append(v)
        out.append(
            SchemaViolation(
                column=column,
                rule=_rule_text(check, column, data),
                values=tuple(values[:_MAX_EXAMPLES]),
                rows=tuple(rows[:_MAX_EXAMPLES]),
                count=max(len(group), 1),
            )
        )
    return out


def validate_frame(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    data: DataConfig | None = None,
    source: str = "data",
) -> pd.DataFrame:
    """Validate lazily (every violation at once) and return the coerced frame.

    Raises
    ------
    ValidationFailed
        With one :class:`SchemaViolation` per broken (column, rule).
    """
    try:
        return schema.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        raise ValidationFailed(violations_from(err, data), source) from None


# ---------------------------------------------------------------------------------------------
# The declaration as plain data (what the model card stores) and back.
# ---------------------------------------------------------------------------------------------
def data_config_to_dict(data: DataConfig) -> dict[str, Any]:
    """The declaration as JSON-serialisable data."""
    plain: dict[str, Any] = to_plain(data)
    return plain


def data_config_from_dict(raw: Mapping[str, Any]) -> DataConfig:
    """Rebuild a :class:`DataConfig` from :func:`data_config_to_dict` output."""
    fields = dict(raw)
    fields["target"] = TargetConfig(**raw["target"])
    fields["columns"] = {
        name: ColumnConfig(**{**col, "type": ColumnType(col["type"])})
        for name, col in raw["columns"].items()
    }
    return DataConfig(**fields)
