"""``python -m credit_glm mode=score`` through the real CLI: CSV and Parquet in, outputs equal
row for row to in-memory scoring, complete rejects, the reject-share gate, no output at the
final path after a killed run, and the Dask engine on a real LocalCluster scoring bit for bit
as the local one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from credit_glm.artifact import load_card
from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
from credit_glm.scoring import ScoringModel, decisions
from tests.conftest import GERMAN_CSV, cli_env, run_cli

pytestmark = pytest.mark.slow

# (0-based frame row, column, bad cell, rule the reject names)
BAD = [
    (2, "duration_in_month", "abc", "type"),
    (40, "purpose", "yacht", "categories"),
    (41, "duration_in_month", "500", "max"),
    (41, "credit_amount", "", "not_nullable"),
    (777, "age_in_years", "12.5", "type"),
]


@pytest.fixture(scope="module")
def work(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained directory's model, and inputs: the German data with bad cells, as CSV."""
    work = tmp_path_factory.mktemp("score")
    (work / "models").symlink_to(trained_dir / "models")
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    for i, column, cell, _ in BAD:
        frame.loc[i, column] = cell
    frame.to_csv(work / "bad.csv", index=False)
    return work


def _card(work: Path) -> dict[str, Any]:
    return load_card(work / "models" / "glm_model.json")


def _expected(work: Path) -> pd.DataFrame:
    """In-memory scoring of the rows without a bad cell, through the model card's scorer."""
    card = _card(work)
    data = data_config_from_dict(card["schema"])
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False, na_values=[""])
    bad = {i for i, *_ in BAD}
    good = frame.drop(index=sorted(bad))
    coerced = validate_frame(good, build_schema(data, "training"), data)
    explained = ScoringModel.from_card(card).explain(coerced)
    out = pd.DataFrame(
        {
            "row": good.index.to_numpy() + 1,
            "probability_of_default": explained.probability_of_default,
            "decision": decisions(explained.probability_of_default, card["decision"]["cutoff"]),
            "score": explained.score,
        }
    )
    assert explained.reason_codes is not None
    for k in range(4):
        out[f"reason_{k + 1}"] = [
            r[k]["code"] if len(r) > k else None for r in explained.reason_codes
        ]
    return out


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        table = (
            pa.concat_tables([pq.read_table(p) for p in sorted(path.glob("part-*.parquet"))])
            if path.is_dir()
            else pq.read_table(path)
        )
    else:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    return table.to_pandas()


def _score(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["mode=score", "hydra.run.dir=outputs/score", *args], work, timeout=300)


def _assert_equal_to_in_memory(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got["row"].tolist() == want["row"].tolist()
    # the float64 bits survive the file (CSV writes the shortest round-trip text)
    for name in ("probability_of_default", "score"):
        np.testing.assert_array_equal(got[name].to_numpy(float), want[name].to_numpy(float))
    for name in ("decision", "reason_1", "reason_2", "reason_3", "reason_4"):
        assert got[name].where(got[name].notna(), None).tolist() == want[name].tolist()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_is_scored_row_for_row_as_in_memory(work: Path, fmt: str) -> None:
    source = work / "bad.csv"
    if fmt == "parquet":
        source = work / "bad.parquet"
        if not source.exists():
            frame = pd.read_csv(work / "bad.csv", dtype=str, keep_default_na=False, na_values=[""])
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), source)
    out = work / f"out-{fmt}" / f"scores.{fmt}"
    result = _score(work, f"data.path={source}", f"score.output_path={out}", "score.chunk_rows=300")
    assert result.returncode == 0, result.stderr
    _assert_equal_to_in_memory(_read(out), _expected(work))
    rejects = _read(out.with_name(f"scores.rejects.{fmt}"))
    got = [(r.row, r.field, r.rule) for r in rejects.itertuples()]
    assert got == [(i + 1, column, rule) for i, column, _, rule in BAD]
    summary = json.loads((work / "outputs/score/metrics.json").read_text())
    assert summary["rows"] == {"read": 1000, "scored": 996, "rejected": 4}
    assert summary["status"] == "ok" and summary["rejects_by_rule"]["type"] == 2
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_too_many_rejects_fail_the_run_and_publish_only_the_rejects(work: Path) -> None:
    out = work / "gate" / "scores.csv"
    result = _score(
        work,
        f"data.path={work / 'bad.csv'}",
        f"score.output_path={out}",
        "score.max_reject_share=0.001",
    )
    assert result.returncode == 4, result.stderr
    assert "score.max_reject_share" in result.stderr and "4 of 1000" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert out.with_name("scores.rejects.csv").exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_a_killed_run_leaves_nothing_at_the_final_path(work: Path) -> None:
    big = work / "big.csv"
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    pd.concat([frame] * 400, ignore_index=True).to_csv(big, index=False)
    out = work / "killed" / "scores.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "credit_glm", "mode=score", "hydra.run.dir=outputs/killed",
         f"data.path={big}", f"score.output_path={out}", "score.chunk_rows=2000"],
        cwd=work, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        partial: list[Path] = []
        while time.monotonic() < deadline and not partial:
            partial = [p for p in out.parent.glob(".scores.csv.*.partial") if p.stat().st_size]
            time.sleep(0.02)
        assert partial, "the run never started writing"
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    assert not out.with_name("scores.rejects.csv").exists()


def test_dask_on_a_local_cluster_scores_bit_for_bit_as_the_local_engine(work: Path) -> None:
    local = work / "local" / "scores.parquet"
    result = _score(work, f"data.path={work / 'bad.csv'}", f"score.output_path={local}")
    assert result.returncode == 0, result.stderr
    spread = work / "dask" / "scores.parquet"
    result = _score(
        work,
        f"data.path={work / 'bad.csv'}",
        f"score.output_path={spread}",
        "score.engine=dask",
        "score.scheduler=local",
        "score.workers=2",
        "score.partitions=3",
        "score.chunk_rows=100",
    )
    assert result.returncode == 0, result.stderr
    assert len(list(spread.glob("part-*.parquet"))) == 3
    parts = pa.concat_tables([pq.read_table(p) for p in sorted(spread.glob("part-*.parquet"))])
    assert parts.equals(pq.read_table(local))
    rejects = pa.concat_tables(
        [
            pq.read_table(p)
            for p in sorted(spread.with_name("scores.rejects.parquet").glob("*.parquet"))
        ]
    )
    assert rejects.equals(pq.read_table(local.with_name("scores.rejects.parquet")))
    summary = json.loads((work / "outputs/score/metrics.json").read_text())
    assert summary["engine"] == "dask" and summary["rows"]["rejected"] == 4


def test_a_file_without_a_required_column_is_refused_before_anything_is_written(
    work: Path,
) -> None:
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False).drop(columns=["housing"])
    frame.to_csv(work / "no_housing.csv", index=False)
    out = work / "refused" / "scores.csv"
    result = _score(work, f"data.path={work / 'no_housing.csv'}", f"score.output_path={out}")
    assert result.returncode == 2
    assert "housing" in result.stderr and "Traceback" not in result.stderr
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_a_bad_score_setting_names_the_key(work: Path) -> None:
    result = _score(work, "score.chunk_rows=0")
    assert result.returncode == 2
    assert "score.chunk_rows" in result.stderr and "Traceback" not in result.stderr


def test_dask_reads_a_parquet_file_a_partition_per_row_group(work: Path) -> None:
    frame = pd.read_csv(work / "bad.csv", dtype=str, keep_default_na=False, na_values=[""])
    source = work / "row_groups.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), source, row_group_size=300)
    local = work / "local_rg" / "scores.parquet"
    assert _score(work, f"data.path={source}", f"score.output_path={local}").returncode == 0
    spread = work / "dask_rg" / "scores.parquet"
    result = _score(work, f"data.path={source}", f"score.output_path={spread}", "score.engine=dask")
    assert result.returncode == 0, result.stderr
    parts = sorted(spread.glob("part-*.parquet"))
    assert len(parts) == 4  # 1000 rows in row groups of 300
    assert pa.concat_tables([pq.read_table(p) for p in parts]).equals(pq.read_table(local))
