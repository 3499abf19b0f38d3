"""What each entry point imports: a lean package root, per-mode imports, a card without pickles.

Every check runs in a fresh interpreter (this test process has imported everything already) and
reads ``sys.modules`` there. The heavy packages are the modelling stack (statsmodels, scipy,
pandera, pandas), the pickle library (joblib) and the web framework (flask).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import credit_glm
from tests.conftest import cli_env

HEAVY = ("statsmodels", "scipy", "scipy.stats", "pandera", "pandas", "joblib", "flask")


def _loaded_after(code: str, cwd: Path | None = None) -> set[str]:
    """The heavy packages in ``sys.modules`` of a fresh interpreter once ``code`` has run.

    They are read at exit (``atexit``), so code that ends in ``sys.exit`` is covered too.
    """
    probe = textwrap.dedent(
        f"""
        import atexit, json, sys
        atexit.register(lambda: print("LOADED " + json.dumps(
            [m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe + textwrap.dedent(code)],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("LOADED ")]
    assert lines, f"the probe printed nothing:\n{result.stderr[-3000:]}"
    return set(json.loads(lines[-1].removeprefix("LOADED ")))


def _run_main(*args: str) -> str:
    """``python -m credit_glm ARGS`` inside the probe (``runpy``, as ``-m`` does)."""
    return f"""
    import runpy
    sys.argv = ["credit_glm", *{list(args)!r}]
    runpy.run_module("credit_glm", run_name="__main__", alter_sys=True)
    """


def test_the_probe_sees_a_heavy_import() -> None:
    # the checks below could not fail if the probe missed what a module imports
    assert {"statsmodels", "scipy.stats"} <= _loaded_after("import credit_glm.glm")
    assert "pandas" in _loaded_after("from credit_glm import GLMModelSelector")


@pytest.mark.parametrize(
    "module",
    [
        "credit_glm",
        "credit_glm.cli",
        "credit_glm.__main__",
        # what mode=serve imports before it starts the service
        "credit_glm.service.server",
    ],
)
def test_the_entry_points_import_nothing_heavy(module: str) -> None:
    assert _loaded_after(f"import {module}") == set()


@pytest.mark.parametrize(
    "args",
    [("--cfg", "job"), ("--help",), ("glm=no_such_option",), ("split.test_size=2",)],
    ids=["cfg-job", "help", "composition-error", "config-value-error"],
)
def test_printing_the_config_loads_no_modelling_stack(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    assert _loaded_after(_run_main(*args), cwd=tmp_path) == set()


def test_the_service_imports_neither_statsmodels_nor_joblib_nor_scipy_stats() -> None:
    # every module serve() imports: the service scores from the JSON card, no pickle, no fit
    loaded = _loaded_after(
        "import credit_glm.service.server, credit_glm.service.admin, credit_glm.service.app, "
        "credit_glm.service.gunicorn_app, credit_glm.service.logs, credit_glm.service.model, "
        "credit_glm.service.readiness"
    )
    assert "flask" in loaded  # the probe saw the service itself
    assert not loaded & {"statsmodels", "joblib", "scipy.stats"}


def test_serving_requests_loads_no_pandas(trained_dir: Path) -> None:
    # the service encodes and scores JSON records with numpy alone: pandas (a fifth of its
    # start-up) stays out at start and on every route, a rejected batch included
    card = trained_dir / "models" / "glm_model.json"
    loaded = _loaded_after(
        f"""
        from credit_glm.config import ServingConfig
        from credit_glm.service.app import create_app
        from credit_glm.service.model import load_served_model

        settings = ServingConfig(model_path={str(card)!r})
        app = create_app(load_served_model(settings), settings)
        app.extensions["credit_glm"].start()
        client = app.test_client()
        good = json.load(open({str(card)!r}))["self_check"]["features"]
        bad = {{**good, next(iter(good)): "not a level"}}
        answers = [
            client.post("/predict", json={{"features": good}}).status_code,
            client.post("/predict/batch", json={{"instances": [good, good, good]}}).status_code,
            client.post("/predict", json={{"features": bad}}).status_code,
            client.post("/predict/batch", json={{"instances": [good, bad]}}).status_code,
            client.get("/openapi.json").status_code,
            client.get("/model/info").status_code,
        ]
        assert answers == [200, 200, 422, 422, 200, 200], answers
        """
    )
    assert "flask" in loaded  # the probe saw the service itself
    assert not loaded & {"pandas", "pandera", "statsmodels", "joblib", "scipy.stats"}


def test_a_model_card_is_read_without_statsmodels_or_joblib() -> None:
    # the service loads the card only: the pickle's library and the fitting stack stay out
    loaded = _loaded_after("import credit_glm.artifact, credit_glm.training")
    assert not loaded & {"statsmodels", "joblib", "flask"}


def test_the_public_names_load_on_first_use() -> None:
    assert set(credit_glm._HOMES) == set(credit_glm.__all__)  # each public name has a home
    for name in credit_glm.__all__:
        value = getattr(credit_glm, name)
        assert getattr(sys.modules[value.__module__], name) is value  # its defining module's
        assert name in dir(credit_glm)
    assert credit_glm.GLMModelSelector.__module__ == "credit_glm.api"
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = credit_glm.no_such_name


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from credit_glm import *", namespace)
    assert set(credit_glm.__all__) <= set(namespace)
