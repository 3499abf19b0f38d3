"""Start-up refuses a missing, corrupt, edited or unpinned model with one clear line and exit
code 2. Edited cards are made here from the session's trained card; no hash is committed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credit_glm.model_card import card_sha256, model_sha256
from tests.api.conftest import free_port, serve_command, start_server
from tests.conftest import cli_env, run_cli, write_key_pair

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path, card: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        serve_command(card, free_port(), tmp_path, *overrides),
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _copy(card_path: Path, tmp_path: Path, edit: Any = None, text: str | None = None) -> Path:
    target = tmp_path / "models" / "glm_model.json"
    target.parent.mkdir(parents=True)
    shutil.copy(card_path, target)
    if edit is not None:
        card = json.loads(target.read_text())
        edit(card)
        target.write_text(json.dumps(card))
    if text is not None:
        target.write_text(text)
    return target


def _set_estimate(card: dict[str, Any]) -> None:
    card["coefficients"]["Intercept"]["estimate"] += 0.5


def _set_config(card: dict[str, Any]) -> None:
    card["config"]["verbose"] = not card["config"]["verbose"]


@pytest.mark.parametrize(
    ("case", "overrides", "message"),
    [
        ("missing", (), "not found"),
        ("not json", (), "not valid JSON"),
        ("coefficient edited", (), "corrupt"),
        ("config edited", (), "config hashes to"),
        ("pinned sha", ("serving.expected_model_sha256=" + "0" * 64,), "refusing to serve"),
        (
            "pinned version",
            ("serving.model_version=german_credit-000000000000",),
            "refusing to serve",
        ),
        ("bad pin", ("serving.expected_model_sha256=abc",), "64 lowercase hexadecimal"),
    ],
)
def test_start_up_errors_are_one_clear_line(
    tmp_path: Path, card_path: Path, case: str, overrides: tuple[str, ...], message: str
) -> None:
    if case == "missing":
        path = tmp_path / "models" / "absent.json"
    elif case == "not json":
        path = _copy(card_path, tmp_path, text="{not json")
    elif case == "coefficient edited":
        path = _copy(card_path, tmp_path, edit=_set_estimate)
    elif case == "config edited":
        path = _copy(card_path, tmp_path, edit=_set_config)
    else:
        path = card_path
    result = _serve(tmp_path, path, *overrides)
    _assert_one_clear_line(result, message)
    if case == "missing":
        # the hint names the key serving reads, not evaluation's paths.model
        assert "set serving.model_path" in result.stderr and "paths.model" not in result.stderr


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    assert message in last


def _set_cutoff(card: dict[str, Any]) -> None:
    card["decision"]["cutoff"] = 0.99


def _shift_baseline(card: dict[str, Any]) -> None:
    shares = card["score_baseline"]["shares"]
    shares[0], shares[-1] = shares[0] + 0.05, shares[-1] - 0.05


def _rehash_coefficient(card: dict[str, Any]) -> None:
    """A coefficient change with both hashes recomputed, but the version left as it was."""
    _set_estimate(card)
    card["model_sha256"] = model_sha256(card)
    card["card_sha256"] = card_sha256(card)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set_cutoff, "not the recorded model_sha256"),
        (_shift_baseline, "not the recorded model_sha256"),
        (_rehash_coefficient, "is not the one its model_sha256 derives"),
    ],
    ids=["cut-off edited", "score baseline edited", "re-hashed with a stale version"],
)
def test_a_card_edited_after_training_is_refused_under_its_pins(
    tmp_path: Path, card_path: Path, card: dict[str, Any], edit: Any, message: str
) -> None:
    path = _copy(card_path, tmp_path, edit=edit)
    edited = json.loads(path.read_text())
    # the pins an operator took from the card as trained still match the edited card
    pins = [f"serving.model_version={card['model_version']}"]
    if edited["model_sha256"] == card["model_sha256"]:
        pins.append(f"serving.expected_model_sha256={card['model_sha256']}")
    result = _serve(tmp_path, path, *pins)
    _assert_one_clear_line(result, message)


@pytest.mark.parametrize("reuse_port", ["true", "false"])
def test_a_port_in_use_is_one_clear_line(tmp_path: Path, card_path: Path, reuse_port: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            serve_command(card_path, port, tmp_path, f"serving.reuse_port={reuse_port}"),
            cwd=tmp_path,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    # one line naming the port that is taken (the wording is the server's)
    assert last.startswith("error: ") and str(port) in last, last
    assert "Traceback" not in result.stderr


def test_with_trusted_keys_only_a_card_signed_at_training_is_served(
    tmp_path: Path, card_path: Path
) -> None:
    key, pub = write_key_pair(tmp_path, "ours")
    _, other = write_key_pair(tmp_path, "theirs")
    trained = run_cli([f"paths.signing_key={key}", "hydra.run.dir=outputs/train"], tmp_path)
    assert trained.returncode == 0, trained.stderr
    signed = tmp_path / "models" / "glm_model.json"
    assert json.loads(signed.read_text())["signature"]["algorithm"] == "ed25519"
    server = start_server(tmp_path / "signed", signed, f"serving.trusted_keys=[{other},{pub}]")
    try:
        assert server.call("GET", "/ready").status == 200
    finally:
        assert server.stop() == 0
    _assert_one_clear_line(
        _serve(tmp_path, signed, f"serving.trusted_keys=[{other}]"),
        "which is not one of serving.trusted_keys",
    )
    # the session's card was trained without a key
    _assert_one_clear_line(
        _serve(tmp_path, card_path, f"serving.trusted_keys=[{pub}]"),
        "is not signed, and serving.trusted_keys requires",
    )
    _assert_one_clear_line(
        _serve(tmp_path, signed, f"serving.trusted_keys=[{key}]"), "serving.trusted_keys[0]"
    )
