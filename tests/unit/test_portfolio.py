"""The synthetic portfolio: seeded, the same in chunks as at once, every row valid under the
German credit schema, the stated default model recovered by a fit, and its entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import statsmodels.api as sm

from credit_glm.portfolio import BLOCK_ROWS, TRUE_MODEL, make_portfolio, write_portfolio
from credit_glm.schema import build_schema, validate_frame
from tests.conftest import compose_config


def test_seeded_and_the_same_in_chunks_as_at_once() -> None:
    n = BLOCK_ROWS + 1000
    whole = make_portfolio(n, seed=3)
    parts = pd.concat(
        [make_portfolio(777, 3, 0), make_portfolio(n - 777, 3, 777)], ignore_index=True
    )
    assert parts.equals(whole)
    assert make_portfolio(500, 3).equals(whole.iloc[:500])
    assert not make_portfolio(500, 4).equals(whole.iloc[:500])
    assert whole["application_id"].tolist() == list(range(1, n + 1))


def test_every_row_passes_the_german_schema() -> None:
    data = compose_config().data
    frame = make_portfolio(20_000, seed=1, id_column=None).astype(str)
    assert len(validate_frame(frame, build_schema(data, "training"), data)) == 20_000


def test_a_fit_recovers_the_stated_model() -> None:
    frame = make_portfolio(200_000, seed=2, id_column=None)
    y = (frame["creditability"] == "bad").to_numpy(float)
    x = pd.DataFrame({"duration": frame["duration_in_month"] - 20.0})
    status = pd.get_dummies(frame["status_of_existing_checking_account"], dtype=float)
    x = pd.concat([x, status], axis=1)
    x["age"] = frame["age_in_years"] - 35.0
    x["rate"] = frame["installment_rate_in_percentage_of_disposable_income"] - 3.0
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    assert abs(fit.params["duration"] - TRUE_MODEL["duration_in_month"]) < 0.004
    assert abs(fit.params["rate"] - 0.15) < 0.03
    for level, effect in TRUE_MODEL["status_of_existing_checking_account"].items():
        assert abs(fit.params[level] - (TRUE_MODEL["intercept"] + effect)) < 0.06


def test_csv_and_parquet_files_hold_the_same_rows(tmp_path: Path) -> None:
    a = write_portfolio(tmp_path / "p.csv", 3000, seed=5, chunk_rows=1000)
    b = write_portfolio(tmp_path / "p.parquet", 3000, seed=5, chunk_rows=700)
    from_csv = pacsv.read_csv(a).to_pandas()
    from_parquet = pq.read_table(b).to_pandas()
    expected = make_portfolio(3000, seed=5)
    for frame in (from_csv, from_parquet):
        assert frame.astype(str).equals(expected.astype(str))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.parquet"]
    assert np.isin(expected["creditability"], ["good", "bad"]).all()


def test_the_entry_point_refuses_a_bad_row_count(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "credit_glm.portfolio", "--rows", "-5", "--out", "x.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--rows" in result.stderr and "Traceback" not in result.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "credit_glm.portfolio", "--rows", "10", "--out", "x.parquet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 10
