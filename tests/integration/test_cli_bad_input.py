"""Every bad input gets a clear error naming the field and the rule, and loses nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from credit_glm.__main__ import config_dir
from tests.conftest import GERMAN_CSV, run_cli

pytestmark = pytest.mark.slow


def _german() -> pd.DataFrame:
    return pd.read_csv(GERMAN_CSV, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, path: Path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def _edit(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        return [f"data.path={_write(change(_german()), tmp / 'data.csv')}"]

    return make


def _set(column: str, row: int, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row, column] = value
        return df

    return change


def _empty_file(tmp: Path) -> list[str]:
    (tmp / "empty.csv").write_text("")
    return [f"data.path={tmp / 'empty.csv'}"]


def _feature_not_in_schema(tmp: Path) -> list[str]:
    conf = tmp / "my_conf" / "features"
    conf.mkdir(parents=True)
    (conf / "extra.yaml").write_text(
        "defaults:\n  - base_features\n  - _self_\nname: extra\nfeatures:\n"
        "  duration_in_month:\n    transform: numeric\n  shoe_size:\n    transform: numeric\n"
    )
    return ["--config-dir", str(tmp / "my_conf"), "features=extra"]


def _typo_in_own_yaml(tmp: Path) -> list[str]:
    conf = tmp / "my_conf" / "glm"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text("link: logit\nmax_iters: 50\n")
    return ["--config-dir", str(tmp / "my_conf"), "glm=mine"]


def _own_yaml(group: str, old: str, new: str) -> Callable[[Path], list[str]]:
    """A shipped German-credit YAML of ``group`` with one line edited, as the user's option."""

    def make(tmp: Path) -> list[str]:
        text = (Path(config_dir()) / group / "german_credit.yaml").read_text()
        assert old in text
        conf = tmp / "my_conf" / group
        conf.mkdir(parents=True)
        (conf / "mine.yaml").write_text(text.replace(old, new))
        return ["--config-dir", str(tmp / "my_conf"), f"{group}=mine"]

    return make


QUOTE_HINT = 'quote it exactly as the data spells it: "Yes"'

CASES: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "unknown config key": (lambda t: ["glm.lnk=probit"], ["lnk"]),
    "added key no schema declares": (
        lambda t: ["+glm.lnk=probit"],
        ["glm.lnk", "no such key", "did you mean 'link'"],
    ),
    "added key inside a column": (
        lambda t: ["+data.columns.age_in_years.maxx=3"],
        ["data.columns.age_in_years.maxx", "'max'"],
    ),
    "unknown choice": (
        lambda t: ["selection.strategy=greedy"],
        ["selection.strategy", "greedy", "exhaustive", "stepwise"],
    ),
    "unknown log format": (
        lambda t: ["serving.log_format=xml"],
        ["serving.log_format", "json", "text"],
    ),
    "YAML boolean as event": (
        _own_yaml("data", "  event: bad\n", "  event: Yes\n"),
        ["data.target.event", "YAML boolean", QUOTE_HINT],
    ),
    "YAML boolean as a category": (
        _own_yaml("data", '      - "no"\n', "      - no\n"),
        ["data.columns.foreign_worker.categories[0]", QUOTE_HINT],
    ),
    "YAML boolean as a reference": (
        _own_yaml("features", '    reference: "radio/television"\n', "    reference: on\n"),
        ["features.features.purpose.reference", QUOTE_HINT],
    ),
    "typo in a user's YAML": (_typo_in_own_yaml, ["max_iters"]),
    "unknown option": (lambda t: ["glm=fancy"], ["fancy"]),
    "wrong type in override": (lambda t: ["glm.max_iter=abc"], ["max_iter", "abc"]),
    "value out of its rule": (lambda t: ["split.test_size=0"], ["split.test_size"]),
    "missing data file": (lambda t: ["data.path=nope.csv"], ["nope.csv", "not found"]),
    "empty data file": (_empty_file, ["empty"]),
    "no target column": (
        _edit(lambda d: d.drop(columns=["creditability"])),
        ["creditability", "missing"],
    ),
    "target with one class": (
        _edit(lambda d: d.assign(creditability="good")),
        ["one class", "creditability"],
    ),
    "string in numeric column": (
        _edit(_set("duration_in_month", 5, "twelve")),
        ["duration_in_month", "'twelve'", "rows 5"],
    ),
    "value outside its range": (
        _edit(_set("age_in_years", 7, "150")),
        ["age_in_years", "max 120", "150"],
    ),
    "unknown category": (_edit(_set("purpose", 3, "yacht")), ["purpose", "'yacht'"]),
    "all-missing column": (
        _edit(lambda d: d.assign(telephone="")),
        ["telephone", "nullable=false", "and 995 more"],
    ),
    "feature absent from schema": (_feature_not_in_schema, ["shoe_size", "not declared"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_clearly(case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    result: subprocess.CompletedProcess[str] = run_cli(make(tmp_path), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    for text in expected:
        assert text in output, (text, output)
    assert not (tmp_path / "models").exists(), "nothing may be promoted"


EXIT_CODES = {
    "added key no schema declares": 1,
    "unknown choice": 1,
    "YAML boolean as event": 2,
    "YAML boolean as a category": 2,
}


@pytest.mark.parametrize("case", list(EXIT_CODES))
def test_config_errors_exit_with_their_code(case: str, tmp_path: Path) -> None:
    make, _ = CASES[case]
    result = run_cli(make(tmp_path), tmp_path)
    assert result.returncode == EXIT_CODES[case], result.stderr
    assert "error" in result.stderr.lower() and "Traceback" not in result.stderr


def test_bad_input_leaves_a_promoted_model_untouched(trained_dir: Path, tmp_path: Path) -> None:
    card = trained_dir / "models" / "glm_model.json"
    pickle = trained_dir / "models" / "glm_model.joblib"
    before = (card.read_bytes(), pickle.read_bytes())
    bad = _german()
    bad.loc[0, "age_in_years"] = "-3"
    result = run_cli([f"data.path={_write(bad, tmp_path / 'bad.csv')}"], trained_dir)
    assert result.returncode == 2
    assert (card.read_bytes(), pickle.read_bytes()) == before
