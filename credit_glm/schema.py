"""The data schema: one pandera ``DataFrameSchema`` built from the YAML declaration.

The declaration (``conf/data/<name>.yaml``, a :class:`~credit_glm.config.DataConfig`) is the only
place a column's type, nullability, range and categories are written, and
:mod:`credit_glm.rules` the only place a rule is: this module turns its rule table into pandera's
schema (pandera coerces the types and runs each rule's vectorised check), which is the source of
truth for frames. Training, evaluation, batch scoring and the service all build their checks
from the declaration (the model card stores it), so a rule is never declared twice.

Two roles share the declaration: ``training`` requires the target (and the weight and date
columns when declared); ``inference`` requires the columns the model uses, accepts the other
declared columns, and ignores the target.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from credit_glm.config import ColumnConfig, ColumnType, DataConfig, TargetConfig, to_plain
from credit_glm.errors import SchemaViolation, ValidationFailed
from credit_glm.rules import (
    NOT_NULLABLE,
    REQUIRED,
    SCHEMA_METADATA_KEY,
    UNKNOWN_FIELD,
    Role,
    RuleTable,
    column_rules,
    rule_table,
)

# pandera (and pandas) load when a schema is built or used: the declaration's other users,
# the service among them, skip them
if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaError, SchemaErrors

__all__ = [
    "Role",
    "build_schema",
    "compact_text",
    "release_freed_text",
    "data_config_from_dict",
    "data_config_to_dict",
    "schema_from_table",
    "validate_frame",
]

_MAX_EXAMPLES = 5


def schema_from_table(table: RuleTable) -> pa.DataFrameSchema:
    """Pandera's schema of a rule table: each value rule a named check of its vectorised face.

    The table rides along in the schema's metadata (:data:`~credit_glm.rules.SCHEMA_METADATA_KEY`)
    so that the request validator compiled from this schema compiles the very same rules.
    """
    import pandera.pandas as pa

    columns = {
        name: pa.Column(
            col.type.dtype,
            checks=[pa.Check(rule.vector, name=rule.name) for rule in col.checks],
            nullable=col.nullable,
            coerce=True,
            required=col.required,
            description=col.description or None,
        )
        for name, col in table.columns.items()
    }
    return pa.DataFrameSchema(
        columns,
        strict=table.strict,
        name=table.name,
        metadata={SCHEMA_METADATA_KEY: table},
    )


def build_schema(
    data: DataConfig,
    role: Role = "training",
    required: Iterable[str] | None = None,
) -> pa.DataFrameSchema:
    """Build the pandera schema for ``data`` in a given role (:func:`~credit_glm.rules.rule_table`).

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
    return schema_from_table(rule_table(data, role, required))


def _rule_text(check: str, column: str, data: DataConfig | None) -> str:
    """How a report names the rule pandera's ``check`` stands for (the table's text)."""
    if check == "column_in_schema":
        return UNKNOWN_FIELD.text
    if check == "column_in_dataframe":
        return REQUIRED.text
    if check == "not_nullable":
        return NOT_NULLABLE.text
    col = data.columns.get(column) if data is not None else None
    if col is None:
        return check
    rules = column_rules(column, col)
    if check.startswith("coerce_dtype"):
        return rules.type.text
    rule = rules.rule(check)
    return check if rule is None else rule.text


def _plain(value: Any) -> Any:
    import pandas as pd

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
    import pandas as pd

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
    from pandera.errors import SchemaError, SchemaErrors

    try:
        return schema.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        raise ValidationFailed(violations_from(err, data), source) from None


def compact_text(frame: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """The validated ``frame`` with each declared category column (and a text target) held as
    a pandas ``Categorical``: a code per row instead of a string, so a training table of
    millions of rows takes a byte or two per cell. Values and missing values are unchanged.
    """
    text = [
        name
        for name, col in data.columns.items()
        if col.type is ColumnType.category and name in frame.columns
    ]
    if not text:
        return frame
    return frame.astype(dict.fromkeys(text, "category"))


def release_freed_text() -> None:
    """Hand the memory of freed text columns back to the system.

    pandas' ``str`` columns live in Arrow's allocator, which keeps freed pages for reuse; once
    a frame's text has been replaced by :func:`compact_text` and the old frame dropped, this
    returns them (on a million-row table, a third of a GiB).
    """
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


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
