"""The exported scorecard query against the Python scorer, in SQLite and DuckDB.

Every German-credit row is loaded into a table ``applications`` in each engine and scored by
:func:`credit_glm.sql_export.scorecard_sql`'s query; the Python scorer
(:class:`~credit_glm.scoring.ScoringModel` and :class:`~credit_glm.scorecard.Scorecard`)
scores the same rows. Where the SQL is IEEE double arithmetic only (products, sums, quotients,
comparisons, ``FLOOR``), points and score must be the same doubles (``==``): IEEE 754 fixes
those results on every machine. The probability goes through the engine's ``EXP`` (and
``log1p`` through its ``LN``), which may differ from numpy's in the last bits: those are
compared within 1e-12.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from credit_glm.config import AppConfig, ColumnType, Link, Rounding
from credit_glm.errors import ConfigError, ValidationFailed
from credit_glm.scorecard import Scorecard, round_points
from credit_glm.scoring import ScoringModel, decisions
from credit_glm.sql_export import _rounded_sql, scorecard_sql
from credit_glm.training import train
from credit_glm.transforms.base import sql_number
from tests.conftest import compose_config

F = "features.features"
ID = "application_id"
ENGINES = ("sqlite", "duckdb")
# credit_amount scaled, not log1p'd: every contribution is then IEEE arithmetic only
IEEE_ONLY = [f"{F}.credit_amount.transform=scale", f"{F}.credit_amount.divisor=1000"]
# every transform and policy, on data with holes (see holey_frame)
EVERY_TRANSFORM = [
    *IEEE_ONLY,
    f"{F}.credit_amount.missing=mean",
    f"{F}.duration_in_month.transform=standardize",
    f"{F}.duration_in_month.missing=median",
    f"{F}.installment_rate_in_percentage_of_disposable_income.missing=value",
    f"{F}.installment_rate_in_percentage_of_disposable_income.fill_value=2.5",
    f"{F}.present_residence_since.transform=clip",
    f"{F}.present_residence_since.lower=2",
    f"{F}.present_residence_since.upper=3.5",
    f"{F}.present_residence_since.missing=median",
    f"{F}.age_in_years.transform=bins",
    f"{F}.age_in_years.cuts=[25,35,50]",
    f"{F}.age_in_years.lower=null",
    f"{F}.age_in_years.upper=null",
    f"{F}.age_in_years.missing=level",
    f"{F}.purpose.missing=level",
    f"{F}.purpose.unseen=map",
    f"{F}.job.unseen=map",
    f"{F}.job.unseen_level=unskilled - resident",
    *(
        f"data.columns.{c}.nullable=true"
        for c in (
            "credit_amount",
            "duration_in_month",
            "installment_rate_in_percentage_of_disposable_income",
            "present_residence_since",
            "age_in_years",
            "purpose",
        )
    ),
]
HOLES = {  # column -> every how many rows a value is blanked
    "credit_amount": 17,
    "duration_in_month": 19,
    "installment_rate_in_percentage_of_disposable_income": 23,
    "present_residence_since": 29,
    "age_in_years": 13,
    "purpose": 31,
}


def holey_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column, every in HOLES.items():
        out.loc[out.index[3::every], column] = np.nan
    return out


def typed_frame(frame: pd.DataFrame, app: AppConfig) -> pd.DataFrame:
    """The model's input columns as the schema types them (nulls as ``pd.NA``/None), plus an
    id column: what both engines and the Python scorer read."""
    out: dict[str, Any] = {ID: pd.array(np.arange(len(frame)), dtype="Int64")}
    for name, col in app.data.columns.items():
        if name == app.data.target.column:
            continue
        if col.type is ColumnType.int:
            out[name] = pd.array(pd.to_numeric(frame[name]), dtype="Int64")
        elif col.type is ColumnType.float:
            out[name] = pd.array(pd.to_numeric(frame[name]), dtype="Float64")
        else:
            out[name] = pd.Series(frame[name], dtype=object).where(frame[name].notna(), None)
    return pd.DataFrame(out)


SQL_TYPES = {
    "Int64": ("INTEGER", "BIGINT"),
    "Float64": ("REAL", "DOUBLE"),
    "object": ("TEXT", "VARCHAR"),
}


def run_query(engine: str, table: pd.DataFrame, sql: str) -> list[tuple[Any, ...]]:
    """``sql``'s rows, ordered by id, with ``table`` loaded as ``applications`` in ``engine``."""
    e = ENGINES.index(engine)
    columns = ", ".join(f'"{c}" {SQL_TYPES[str(t)][e]}' for c, t in table.dtypes.items())
    rows = [
        tuple(None if v is pd.NA else (v.item() if hasattr(v, "item") else v) for v in row)
        for row in table.astype(object).itertuples(index=False)
    ]
    insert = f"INSERT INTO applications VALUES ({', '.join('?' * table.shape[1])})"
    if engine == "sqlite":
        con: Any = sqlite3.connect(":memory:")
        con.execute(f"CREATE TABLE applications ({columns})")
        con.executemany(insert, rows)
    else:
        con = duckdb.connect()
        con.execute(f"CREATE TABLE applications ({columns})")
        con.register("frame", table)
        con.execute("INSERT INTO applications SELECT * FROM frame")
    try:
        return sorted(con.execute(sql).fetchall(), key=lambda r: r[0])
    finally:
        con.close()


def python_scores(
    model: ScoringModel, scorecard: Scorecard, frame: pd.DataFrame, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Points ``(n, k)``, score, probability of default and decision from the Python scorer."""
    contributions = model.contributions(frame)
    points = [scorecard.points(contributions[:, j]) for j in range(contributions.shape[1])]
    score = scorecard.score(scorecard.base_points(model.intercept), points)
    p = model.predict(frame)
    return np.column_stack(points), score, p, decisions(p, cutoff)


class Trained:
    def __init__(self, overrides: list[str], frame: pd.DataFrame) -> None:
        self.app = compose_config(overrides)
        self.model = train(self.app, frame).scorer
        self.scorecard = Scorecard.from_config(self.app.scorecard)
        threshold = self.app.evaluation.decision.threshold
        self.cutoff = float(threshold)


MODELS: dict[str, list[str]] = {
    "logit": IEEE_ONLY,
    "logit, integer points": [*IEEE_ONLY, "scorecard.rounding=integer"],
    "cloglog": [*IEEE_ONLY, "glm.link=cloglog"],
    "every transform": EVERY_TRANSFORM,
    "every transform, integer points": [*EVERY_TRANSFORM, "scorecard.rounding=integer"],
    "woe": ["features=woe_auto", "selection.wrong_sign=drop"],
    "woe, integer points": [
        "features=woe_auto",
        "selection.wrong_sign=drop",
        "scorecard.rounding=integer",
    ],
}


@pytest.fixture(scope="module")
def trained(german_frame: pd.DataFrame) -> Iterator[dict[str, tuple[Trained, pd.DataFrame]]]:
    """Each model of :data:`MODELS` with the frame it is scored on."""
    out = {}
    holey = holey_frame(german_frame)
    for name, overrides in MODELS.items():
        source = holey if name.startswith("every transform") else german_frame
        t = Trained(overrides, source)
        table = typed_frame(source, t.app)
        if name.startswith("every transform"):  # levels training never saw, mapped
            table.loc[table.index[5::37], "purpose"] = "vacation"
            table.loc[table.index[7::41], "job"] = "astronaut"
        out[name] = (t, table)
    yield out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(MODELS))
def test_sql_scores_every_row_as_the_python_scorer(
    trained: dict[str, tuple[Trained, pd.DataFrame]], name: str, engine: str
) -> None:
    t, table = trained[name]
    sql = scorecard_sql(t.model, t.scorecard, t.cutoff, "applications", ID)
    rows = run_query(engine, table, sql)
    points, score, p, decision = python_scores(t.model, t.scorecard, table, t.cutoff)
    k = points.shape[1]
    assert [r[0] for r in rows] == list(range(len(table))) == list(range(1000))
    got_points = np.array([r[1 : 1 + k] for r in rows], dtype=np.float64)
    got_score = np.array([r[1 + k] for r in rows], dtype=np.float64)
    got_p = np.array([r[2 + k] for r in rows], dtype=np.float64)
    assert np.array_equal(got_points, points)
    assert np.array_equal(got_score, score)
    explained = t.model.explain(table)  # the one scorer's own points and score
    assert explained.points is not None and explained.score is not None
    assert np.array_equal(got_points, explained.points)
    assert np.array_equal(got_score, explained.score)
    assert np.max(np.abs(got_p - p)) <= 1e-12
    assert [r[3 + k] for r in rows] == decision
    assert {"accept", "decline"} <= set(decision)  # the cut-off splits the rows
    if t.scorecard.rounding is Rounding.integer:
        assert np.array_equal(got_points, np.round(got_points))
        assert len(np.unique(got_points)) > 10


def test_the_holey_data_exercises_every_policy(
    trained: dict[str, tuple[Trained, pd.DataFrame]],
) -> None:
    """The policies the SQL is checked against do act: fill values, missing levels, unseen
    levels mapped, clipped values."""
    t, table = trained["every transform"]
    specs = {f.name: f for f in t.model.spec.features}
    assert {specs[c].fill is not None for c in ("credit_amount", "duration_in_month")} == {True}
    assert specs["installment_rate_in_percentage_of_disposable_income"].fill == 2.5
    assert "<missing>" in specs["age_in_years"].levels + (specs["age_in_years"].reference,)
    assert "<missing>" in specs["purpose"].levels + (specs["purpose"].reference,)
    assert (table["purpose"] == "vacation").sum() > 0 and (table["job"] == "astronaut").sum() > 0
    residence = table["present_residence_since"].dropna().astype(float)
    assert ((residence < 2) | (residence > 3.5)).sum() > 0
    for column in HOLES:
        assert table[column].isna().sum() > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_log1p_scores_within_the_engines_logarithm(german_frame: pd.DataFrame, engine: str) -> None:
    """The default model (credit_amount log1p, age clipped): ``LN(1 + x)`` is the engine's
    logarithm, not numpy's ``log1p``, so points and score may differ in the last bits."""
    t = Trained([], german_frame)
    table = typed_frame(german_frame, t.app)
    rows = run_query(
        engine, table, scorecard_sql(t.model, t.scorecard, t.cutoff, "applications", ID)
    )
    points, score, p, decision = python_scores(t.model, t.scorecard, table, t.cutoff)
    k = points.shape[1]
    got = np.array([r[1 : 3 + k] for r in rows], dtype=np.float64)
    np.testing.assert_allclose(got[:, :k], points, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(got[:, k], score, rtol=1e-13)
    assert np.max(np.abs(got[:, k + 1] - p)) <= 1e-12
    assert [r[3 + k] for r in rows] == decision


@pytest.mark.parametrize("link", [Link.logit, Link.cloglog])
@pytest.mark.parametrize("engine", ENGINES)
def test_the_probability_does_not_overflow(
    trained: dict[str, tuple[Trained, pd.DataFrame]], link: Link, engine: str
) -> None:
    """Coefficients 1000 times the fitted ones put eta in the thousands, both signs: every
    probability is still the Python one (0 or 1 at the extremes), none NULL, no error."""
    t, table = trained["logit"]
    model = ScoringModel(t.model.spec, t.model.params * 1000.0, link)
    rows = run_query(engine, table, scorecard_sql(model, t.scorecard, 0.5, "applications", ID))
    eta = model.linear_predictor(table)
    assert eta.min() < -800 and eta.max() > 800
    got = np.array([r[-2] for r in rows], dtype=np.float64)
    assert np.max(np.abs(got - model.predict(table))) <= 1e-12


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_value_gives_null_where_python_refuses(
    trained: dict[str, tuple[Trained, pd.DataFrame]], engine: str
) -> None:
    """A missing value under ``missing: error`` and an unseen level under ``unseen: error``:
    Python refuses the row, SQL gives NULL in that feature's points and the score, probability
    and decision; the other rows and features are scored as before."""
    t, table = trained["logit"]
    table = table.copy()
    table.loc[0, "duration_in_month"] = pd.NA
    table.loc[1, "housing"] = "castle"
    for row in (0, 1):
        with pytest.raises(ValidationFailed):
            t.model.predict(table.iloc[[row]])
    rows = run_query(
        engine, table, scorecard_sql(t.model, t.scorecard, t.cutoff, "applications", ID)
    )
    names = [f.name for f in t.model.spec.features]
    k = len(names)
    for row, refused in ((0, "duration_in_month"), (1, "housing")):
        points = dict(zip(names, rows[row][1 : 1 + k], strict=True))
        assert points.pop(refused) is None
        assert None not in points.values()
        assert rows[row][1 + k :] == (None, None, None)
    good = table.iloc[2:]
    points, score, _, decision = python_scores(t.model, t.scorecard, good, t.cutoff)
    assert np.array_equal(np.array([r[1 : 1 + k] for r in rows[2:]], dtype=float), points)
    assert [r[3 + k] for r in rows[2:]] == decision


def test_a_probit_model_has_no_sql_form(trained: dict[str, tuple[Trained, pd.DataFrame]]) -> None:
    t, _ = trained["logit"]
    probit = ScoringModel(t.model.spec, t.model.params, Link.probit)
    with pytest.raises(ConfigError) as err:
        scorecard_sql(probit, t.scorecard, 0.5, "applications", None)
    assert err.value.key == "glm.link"
    assert "probit" in str(err.value) and "cloglog, logit" in str(err.value)


def test_the_header_names_the_model_and_the_policies(
    trained: dict[str, tuple[Trained, pd.DataFrame]],
) -> None:
    t, _ = trained["logit, integer points"]
    sql = scorecard_sql(
        t.model,
        t.scorecard,
        t.cutoff,
        "applications",
        None,
        model_version="german_credit-0123456789ab\n-- injected",
        model_sha256="f" * 64,
    )
    header = [line for line in sql.splitlines() if line.startswith("--")]
    assert header[0] == "-- credit-glm scorecard: model german_credit-0123456789ab -- injected"
    assert f"-- model_sha256: {'f' * 64}" in header
    assert any(line.startswith("-- rounding: integer") for line in header)
    assert any("SQLite" in line and "DuckDB" in line for line in header)
    assert sql.count("SELECT") == 5 and sql.rstrip().endswith(";")


def test_no_id_column_and_a_qualified_table(
    trained: dict[str, tuple[Trained, pd.DataFrame]],
) -> None:
    t, table = trained["logit"]
    sql = scorecard_sql(t.model, t.scorecard, t.cutoff, "main.applications", None)
    con = duckdb.connect()
    con.register("frame", table)
    con.execute("CREATE TABLE applications AS SELECT * FROM frame")
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    assert columns == [
        *(f"points_{f.name}" for f in t.model.spec.features),
        "score",
        "probability_of_default",
        "decision",
    ]
    assert len(cursor.fetchall()) == len(table)


def test_an_id_column_named_like_an_output_is_refused(
    trained: dict[str, tuple[Trained, pd.DataFrame]],
) -> None:
    t, _ = trained["logit"]
    with pytest.raises(ConfigError, match="would be named 'score'") as err:
        scorecard_sql(t.model, t.scorecard, t.cutoff, "applications", "Score")
    assert err.value.key == "data.id_column"


@pytest.mark.parametrize("engine", ENGINES)
def test_points_round_as_round_points_at_the_edges(engine: str) -> None:
    """Half away from zero as :func:`round_points` computes it, where SQL's ``ROUND`` differs
    (DuckDB: 0.49999999999999994 -> 0; both: 2^52 + 1 -> itself, while the double sum
    ``|x| + 0.5`` rounds to 2^52 + 2)."""
    values = [0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994]
    values += [2.0**52 + 1, -(2.0**52) - 1, 1e-300, -0.0, 0.0, 599.4999999999999]
    values += np.random.default_rng(7).normal(0, 50, 200).tolist()
    scorecard = Scorecard(600.0, 50.0, 20.0, Rounding.integer)
    sql = "SELECT " + ", ".join(_rounded_sql(scorecard, f"({sql_number(v)})") for v in values)
    con: Any = sqlite3.connect(":memory:") if engine == "sqlite" else duckdb.connect()
    got = np.array(con.execute(sql).fetchone(), dtype=np.float64)
    assert np.array_equal(got, round_points(np.array(values)))
    assert got[5] == 1.0 and got[7] == 2.0**52 + 2  # the double arithmetic, not exact rounding
