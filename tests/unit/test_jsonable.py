"""One JSON-safe conversion for the card, the config, the diagnostics and the audit trail."""

from __future__ import annotations

import dataclasses
import json
import math
from enum import StrEnum

import numpy as np
import pandas as pd

from credit_glm import model_card
from credit_glm.config import AppConfig, Link, to_plain
from credit_glm.jsonable import json_safe
from credit_glm.selection.result import RankedSubset


class _Colour(StrEnum):
    red = "red"


@dataclasses.dataclass
class _Box:
    link: Link
    values: tuple[float, ...]


AWKWARD = {
    1: (np.float64(0.5), np.int64(3), np.bool_(True), float("nan"), -math.inf),
    "enum": _Colour.red,
    "box": _Box(Link.probit, (1.0, float("inf"))),
    "array": np.array([[1, 2], [3, 4]]),
    "missing": [None, pd.NA, pd.NaT, np.nan],
}
EXPECTED = {
    "1": [0.5, 3, True, None, None],
    "enum": "red",
    "box": {"link": "probit", "values": [1.0, None]},
    "array": [[1, 2], [3, 4]],
    "missing": [None, None, None, None],
}


def test_json_safe_maps_every_awkward_value() -> None:
    out = json_safe(AWKWARD)
    assert out == EXPECTED
    assert json.loads(json.dumps(out, allow_nan=False)) == EXPECTED
    assert type(out["1"][0]) is float and type(out["1"][1]) is int and out["1"][2] is True


def test_every_former_copy_is_the_one_conversion() -> None:
    # the card, the config and the writers of JSON call one function: same answer everywhere
    assert model_card.json_safe is json_safe
    assert to_plain(AWKWARD) == EXPECTED
    config = to_plain(AppConfig())
    assert json.loads(json.dumps(config, allow_nan=False)) == config
    ranked = RankedSubset(features=("a",), criterion_value=math.inf, n_params=2, llf=math.nan)
    assert ranked.to_dict()["criterion_value"] is None and ranked.to_dict()["llf"] is None


def test_self_check_row_is_plain() -> None:
    from credit_glm.training import _self_check_row

    frame = pd.DataFrame(
        {
            "n": pd.array([pd.NA, 2], dtype="Int64"),
            "x": [np.nan, 1.5],
            "k": np.array([7, 8], dtype=np.int64),
            "c": pd.Categorical(["a", "b"]),
        }
    )

    class _Spec:
        columns = ("n", "x", "k", "c")

    row = _self_check_row(frame, _Spec())  # type: ignore[arg-type]
    assert row == {"n": None, "x": None, "k": 7, "c": "a"}
    assert type(row["k"]) is int
