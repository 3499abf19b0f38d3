"""``python -m credit_glm mode=export``: the real CLI writes the scorecard query, and the file
runs in SQLite and DuckDB over the training CSV, scoring every row as the Python scorer does."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from credit_glm.__main__ import config_dir
from credit_glm.artifact import load_card
from credit_glm.config import ColumnType, Rounding
from credit_glm.model_card import seal_card
from credit_glm.schema import data_config_from_dict
from credit_glm.scorecard import Scorecard
from credit_glm.scoring import ScoringModel
from tests.conftest import GERMAN_CSV, run_cli
from tests.unit.test_sql_export import python_scores

pytestmark = pytest.mark.slow

ID = "application_id"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where a model was trained on German credit with an id column, then
    exported with integer points to ``out/scorecard.sql``."""
    work = tmp_path_factory.mktemp("export")
    frame = pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)
    frame.insert(0, ID, [str(i) for i in range(len(frame))])
    frame.to_csv(work / "applications.csv", index=False)
    # the shipped German-credit data config, reading that file and declaring its id column
    text = (Path(config_dir()) / "data" / "german_credit.yaml").read_text()
    for old, new in (
        ("path: builtin://german_credit.csv", "path: applications.csv"),
        ("id_column: null", f"id_column: {ID}"),
        ("columns:\n", f"columns:\n  {ID}:\n    type: int\n"),
    ):
        assert text.count(old) == 1
        text = text.replace(old, new)
    (work / "my_conf" / "data").mkdir(parents=True)
    (work / "my_conf" / "data" / "with_id.yaml").write_text(text)
    common = ["--config-dir", str(work / "my_conf"), "data=with_id", "scorecard.rounding=integer"]
    trained = run_cli([*common, "verbose=false", "hydra.run.dir=outputs/train"], work)
    assert trained.returncode == 0, trained.stderr
    result = run_cli(
        [*common, "mode=export", "export.path=out/scorecard.sql", "hydra.run.dir=outputs/export"],
        work,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(" exported as SQL over table applications: out/scorecard.sql\n")
    return work


SQL_TYPES = {ColumnType.int: ("INTEGER", "BIGINT"), ColumnType.float: ("REAL", "DOUBLE")}


def table_columns(work: Path, types: dict[str, ColumnType], engine: int) -> tuple[str, list[str]]:
    """The CSV's columns, typed as the schema declares them (a warehouse table would be; left
    to itself DuckDB's CSV reader types ``yes``/``no`` as BOOLEAN)."""
    with (work / "applications.csv").open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    declared = [f'"{c}" {SQL_TYPES.get(types[c], ("TEXT", "VARCHAR"))[engine]}' for c in header]
    return ", ".join(declared), header


def sqlite_rows(work: Path, sql: str, types: dict[str, ColumnType]) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(":memory:")
    columns, header = table_columns(work, types, 0)
    con.execute(f"CREATE TABLE applications ({columns})")
    convert = [int if types[c] is ColumnType.int else str for c in header]
    with (work / "applications.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in reader]
    con.executemany(f"INSERT INTO applications VALUES ({', '.join('?' * len(header))})", rows)
    return sorted(con.execute(sql).fetchall(), key=lambda r: r[0])


def duckdb_rows(work: Path, sql: str, types: dict[str, ColumnType]) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    columns, _ = table_columns(work, types, 1)
    con.execute(f"CREATE TABLE applications ({columns})")
    csv_path = str(work / "applications.csv").replace("'", "''")
    con.execute(f"COPY applications FROM '{csv_path}' (HEADER)")
    return sorted(con.execute(sql).fetchall(), key=lambda r: r[0])


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_the_exported_file_scores_every_row_as_python(exported: Path, engine: str) -> None:
    card = load_card(exported / "models" / "glm_model.json")
    data = data_config_from_dict(card["schema"])
    sql = (exported / "out" / "scorecard.sql").read_text(encoding="utf-8")
    assert f"-- credit-glm scorecard: model {card['model_version']}\n" in sql
    assert f"-- model_sha256: {card['model_sha256']}\n" in sql
    types = {name: col.type for name, col in data.columns.items()}
    if engine == "sqlite":
        rows = sqlite_rows(exported, sql, types)
    else:
        rows = duckdb_rows(exported, sql, types)
    model = ScoringModel.from_card(card)
    frame = pd.read_csv(exported / "applications.csv")
    scale = Scorecard(600.0, 50.0, 20.0, Rounding.integer)  # the run's scorecard config
    cutoff = float(card["decision"]["cutoff"])
    points, score, p, decision = python_scores(model, scale, frame, cutoff)
    k = points.shape[1]
    assert [r[0] for r in rows] == frame[ID].tolist()
    # credit_amount is log1p'd: the engine's LN(1 + x) may differ from numpy's log1p in the
    # last bit, which integer points absorb unless a value lies within that bit of a half
    assert np.array_equal(np.array([r[1 : 1 + k] for r in rows], dtype=float), points)
    assert np.array_equal(np.array([r[1 + k] for r in rows], dtype=float), score)
    assert np.max(np.abs(np.array([r[2 + k] for r in rows], dtype=float) - p)) <= 1e-12
    assert [r[3 + k] for r in rows] == decision
    summary = json.loads((exported / "outputs" / "export" / "metrics.json").read_text())
    assert summary["status"] == "ok" and summary["mode"] == "export"
    assert summary["path"] == "out/scorecard.sql" and summary["id_column"] == ID
    assert summary["model_sha256"] == card["model_sha256"]
    assert summary["scorecard"]["rounding"] == "integer"


def test_a_bad_model_path_fails_clearly_and_writes_nothing(exported: Path) -> None:
    result = run_cli(
        ["mode=export", "paths.model=nope.json", "export.path=out/bad.sql", "hydra.run.dir=o/bad"],
        exported,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "error: model card 'nope.json' not found; train a model first (python -m credit_glm) "
        "or set paths.model\n"
    )
    assert not (exported / "out" / "bad.sql").exists()
    assert json.loads((exported / "o" / "bad" / "metrics.json").read_text())["status"] == (
        "failed: ArtifactError"
    )


def test_a_probit_model_is_refused_naming_the_link(tmp_path: Path) -> None:
    trained = run_cli(["glm.link=probit", "verbose=false", "hydra.run.dir=o/train"], tmp_path)
    assert trained.returncode == 0, trained.stderr
    result = run_cli(["mode=export", "export.path=probit.sql", "hydra.run.dir=o/x"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: config glm.link: a probit model has no portable SQL")
    assert "supports the cloglog, logit links" in result.stderr
    assert not (tmp_path / "probit.sql").exists()


def test_the_cards_own_points_scale_is_used(exported: Path) -> None:
    """A card recording a points scale (``scorecard.scale``) is exported on that scale, not on
    the ``scorecard`` config."""
    card = load_card(exported / "models" / "glm_model.json")
    scale = Scorecard(500.0, 20.0, 40.0, Rounding.none)
    card["scorecard"] = {"scale": scale.to_dict()}
    (exported / "scaled.json").write_text(json.dumps(seal_card(card)), encoding="utf-8")
    result = run_cli(
        [
            "mode=export",
            "paths.model=scaled.json",
            "scorecard.rounding=integer",
            "export.path=out/scaled.sql",
            "hydra.run.dir=o/scaled",
        ],
        exported,
    )
    assert result.returncode == 0, result.stderr
    assert "points scale from the model card (scorecard.* is not read)\n" in result.stdout
    sql = (exported / "out" / "scaled.sql").read_text(encoding="utf-8")
    factor = 40.0 / math.log(2.0)
    assert f"-- points: factor {factor!r} (pdo 40.0 / ln 2)" in sql
    assert "-- rounding: none" in sql
    summary = json.loads((exported / "o" / "scaled" / "metrics.json").read_text())
    assert summary["scorecard"]["source"] == "card" and summary["scorecard"]["pdo"] == 40.0
