"""The batch validator against pandera, the source of truth: the same rows rejected, the same
values kept, on the German schema with cells a file can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_glm.batch_validation import ChunkValidator
from credit_glm.config import AppConfig, ColumnConfig
from credit_glm.errors import ConfigError
from credit_glm.rules import rule_table
from credit_glm.schema import build_schema
from tests.conftest import compose_config

# cells a CSV can hold in a numeric column: plain, signed, padded, exotic, out of range
TRICKY = [
    "24", "24.0", "+24", " 24", "24 ", "24.5", "1e1", "1E2", "abc", "0x10", "1_0", "-0",
    "200", "1e3", "nan", "NaN", "inf", "-inf", "Infinity", ".5", "1.", "+3", "1e400",
    "99999999999999999999", "9223372036854775807", "00012", "1,5", "\u0663", "--1", "",
]  # fmt: skip


def _app(credit_amount_type: str = "int") -> AppConfig:
    app = compose_config()
    if credit_amount_type == "float":
        app.data.columns["credit_amount"] = ColumnConfig(
            type="float", min=0, max=1e6, nullable=True, description="Credit amount (DM)"
        )
    return app


def _arrays(frame: pd.DataFrame) -> dict[str, pa.Array]:
    return {
        c: pa.array([None if pd.isna(v) else v for v in frame[c].tolist()], type=pa.string())
        for c in frame.columns
    }


def _pandera_row_ok(schema: object, frame: pd.DataFrame, i: int) -> bool:
    try:
        schema.validate(frame.iloc[[i]])  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any schema error is a rejection
        return False
    return True


def _check_against_pandera(app: AppConfig, frame: pd.DataFrame) -> None:
    schema = build_schema(app.data, "inference")
    checked = ChunkValidator(rule_table(app.data, "inference")).validate(_arrays(frame), 1)
    expected = [_pandera_row_ok(schema, frame, i) for i in range(len(frame))]
    assert checked.ok.tolist() == expected
    rejected_rows = {r.row - 1 for r in checked.rejects}
    assert rejected_rows == {i for i, ok in enumerate(expected) if not ok}
    kept = np.flatnonzero(checked.ok)
    if kept.size:
        coerced = schema.validate(frame.iloc[kept])
        for name in ("duration_in_month", "credit_amount", "age_in_years"):
            ours = np.asarray(checked.columns[name], dtype=float)
            theirs = coerced[name].to_numpy(dtype=float, na_value=np.nan)
            np.testing.assert_array_equal(ours, theirs)
        for name in ("purpose", "housing"):
            assert checked.columns[name].astype(str).tolist() == coerced[name].tolist()


@pytest.mark.parametrize("kind", ["int", "float"])
@pytest.mark.parametrize("column", ["duration_in_month", "credit_amount"])
def test_tricky_numeric_cells_are_judged_as_pandera_judges_them(
    german_frame: pd.DataFrame, kind: str, column: str
) -> None:
    app = _app(kind)
    frame = german_frame.drop(columns=["creditability"]).iloc[: len(TRICKY)].copy()
    frame[column] = [None if v == "" else v for v in TRICKY]
    _check_against_pandera(app, frame)


def test_every_rule_is_named_with_its_row_field_and_value(german_frame: pd.DataFrame) -> None:
    app = _app()
    frame = german_frame.drop(columns=["creditability"]).iloc[:6].copy()
    frame.loc[1, "duration_in_month"] = "abc"
    frame.loc[2, "duration_in_month"] = "500"
    frame.loc[3, "purpose"] = "yacht"
    frame.loc[4, "credit_amount"] = None
    frame.loc[4, "age_in_years"] = "-3"
    checked = ChunkValidator(rule_table(app.data, "inference")).validate(_arrays(frame), 101)
    got = [(r.row, r.field, r.rule, r.value) for r in checked.rejects]
    assert got == [
        (102, "duration_in_month", "type", "abc"),
        (103, "duration_in_month", "max", "500"),
        (104, "purpose", "categories", "yacht"),
        (105, "credit_amount", "not_nullable", None),
        (105, "age_in_years", "min", "-3"),
    ]
    assert checked.ok.tolist() == [True, False, False, False, False, True]
    assert all(r.detail for r in checked.rejects)


def test_parquet_typed_columns_follow_pandera(german_frame: pd.DataFrame) -> None:
    """Typed cells (a Parquet file): a whole float is an int, a fractional one is not."""
    app = _app()
    frame = german_frame.drop(columns=["creditability"]).iloc[:4].copy()
    arrays = _arrays(frame)
    arrays["duration_in_month"] = pa.array([6.0, 6.5, None, 48.0])
    checked = ChunkValidator(rule_table(app.data, "inference")).validate(arrays, 1)
    typed = frame.copy()
    typed["duration_in_month"] = [6.0, 6.5, np.nan, 48.0]
    schema = build_schema(app.data, "inference")
    assert checked.ok.tolist() == [_pandera_row_ok(schema, typed, i) for i in range(4)]
    assert checked.ok.tolist() == [True, False, False, True]


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.sampled_from([*TRICKY, "7", "36", "-12", "4.0"]) | st.text(max_size=4),
        min_size=1,
        max_size=8,
    )
)
def test_generated_cells_agree_with_pandera(cells: list[str]) -> None:
    from tests.conftest import GERMAN_CSV

    app = _app("float")
    base = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, nrows=1)
    frame = pd.concat([base] * len(cells), ignore_index=True).drop(columns=["creditability"])
    frame["duration_in_month"] = [c or None for c in cells]
    frame["credit_amount"] = [c or None for c in reversed(cells)]
    _check_against_pandera(app, frame)


def test_a_type_batch_scoring_cannot_read_is_refused_by_name() -> None:
    app = compose_config()
    app.data.columns["opened"] = ColumnConfig(type="date", nullable=True)
    with pytest.raises(ConfigError, match="opened"):
        ChunkValidator(rule_table(app.data, "inference"))


def _dictionary(values: list[str | None], dictionary: list[str | None]) -> pa.Array:
    codes = [None if v is None else dictionary.index(v) for v in values]
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), pa.array(dictionary))


def test_dictionary_encoded_text_is_judged_as_plain_text(german_frame: pd.DataFrame) -> None:
    """A category column as a file's reader hands it over, dictionary-encoded: the rules are
    checked per distinct text, and each row gets its own text's outcome; an entry no row uses
    (here an undeclared purpose) rejects nothing; a missing value held as a dictionary entry
    is missing."""
    app = _app()
    frame = german_frame.drop(columns=["creditability"]).iloc[:5].copy()
    frame["purpose"] = ["car (new)", "yacht", "car (new)", "radio/television", "yacht"]
    validator = ChunkValidator(rule_table(app.data, "inference"))
    plain = validator.validate(_arrays(frame), 1)
    encoded = _arrays(frame)
    encoded["purpose"] = _dictionary(
        frame["purpose"].tolist(), ["boat", "yacht", "car (new)", "radio/television"]
    )
    coded = validator.validate(encoded, 1)
    assert coded.ok.tolist() == plain.ok.tolist() == [True, False, True, True, False]
    assert coded.rejects == plain.rejects
    assert [r.value for r in coded.rejects] == ["yacht", "yacht"]
    kept = coded.columns["purpose"]
    assert kept.astype(str).tolist() == plain.columns["purpose"].astype(str).tolist()

    unused = _arrays(frame.iloc[[0, 2, 3]])
    unused["purpose"] = pa.DictionaryArray.from_arrays(
        pa.array([1, 1, 2], type=pa.int32()), pa.array(["yacht", "car (new)", None])
    )
    checked = validator.validate(unused, 1)
    assert [(r.row, r.field, r.rule) for r in checked.rejects] == [(3, "purpose", "not_nullable")]
