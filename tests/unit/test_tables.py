"""Reading training tables: every cell's text kept, held compactly; undeclared columns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_glm.errors import DataError
from credit_glm.tables import read_table
from tests.conftest import GERMAN_CSV, compose_config


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def test_csv_text_is_kept_cell_for_cell_as_categoricals() -> None:
    data = compose_config([]).data
    frame, _ = read_table(str(GERMAN_CSV), data)
    plain = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame.columns)
    assert list(frame.columns) == list(plain.columns)
    np.testing.assert_array_equal(_text(frame).to_numpy(), _text(plain).to_numpy())


def test_undeclared_columns_are_read_only_under_a_strict_schema(tmp_path: Path) -> None:
    data = compose_config([]).data
    plain = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    plain.insert(0, "branch_note", "x")
    csv = tmp_path / "extra.csv"
    plain.to_csv(csv, index=False)
    plain.to_parquet(tmp_path / "extra.parquet")
    for path in (csv, tmp_path / "extra.parquet"):
        strict, _ = read_table(str(path), data)
        assert "branch_note" in strict.columns
        lenient, _ = read_table(str(path), dataclasses.replace(data, strict=False))
        assert "branch_note" not in lenient.columns
        assert len(lenient.columns) == len(plain.columns) - 1


def test_a_malformed_record_is_a_data_error(tmp_path: Path) -> None:
    data = compose_config([]).data
    bad = tmp_path / "bad.csv"
    lines = GERMAN_CSV.read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1], lines[2] + ',"extra","fields"']) + "\n")
    with pytest.raises(DataError, match="cannot read"):
        read_table(str(bad), data)


def test_a_file_without_any_declared_column_is_a_data_error(tmp_path: Path) -> None:
    data = compose_config([]).data
    odd = tmp_path / "odd.csv"
    odd.write_text("branch,note\n1,x\n")
    with pytest.raises(DataError, match="none of the columns"):
        read_table(str(odd), dataclasses.replace(data, strict=False))
