"""The pandas checks see pandas objects once pandas is loaded, and never load it themselves."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from credit_glm.pandas_checks import is_frame, is_na, is_series
from tests.conftest import cli_env


def test_the_checks_see_pandas_objects() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    assert is_series(frame["a"]) and not is_series(frame) and not is_series(np.array([1]))
    assert is_frame(frame) and not is_frame(frame["a"]) and not is_frame({"a": [1]})
    assert is_na(pd.NA) and not is_na(None) and not is_na(float("nan")) and not is_na(pd.NaT)


def test_the_checks_do_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from credit_glm.pandas_checks import is_frame, is_na, is_series\n"
        "assert not (is_series([1]) or is_frame({'a': [1]}) or is_na(None))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
