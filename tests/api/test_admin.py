"""The admin surface on its own port, what the scoring port keeps to itself, and the start-up
refusals that protect a running server (its port, its metrics directory). All through the real
CLI and HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Server, free_port, serve_command, start_server
from tests.conftest import GERMAN_CSV, cli_env, run_cli

pytestmark = pytest.mark.slow

PUBLIC_KEYS = {
    "model_version",
    "model_sha256",
    "created_at",
    "target",
    "features",
    "decision",
    "reject_extra_fields",
}


def _serve(
    workdir: Path,
    card: Path,
    *overrides: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """A server start that is expected to fail: its exit code and output."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        serve_command(card, port or free_port(), workdir, *overrides),
        cwd=workdir,
        env={**cli_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_scoring_port_serves_no_metrics_and_only_a_public_summary(
    server: Server, card: dict[str, Any]
) -> None:
    assert server.call("GET", "/metrics").status == 404
    info = server.call("GET", "/model/info").json()
    assert set(info) == PUBLIC_KEYS
    assert info["model_version"] == card["model_version"]
    assert info["model_sha256"] == card["model_sha256"]
    assert info["decision"]["cutoff"] == card["decision"]["cutoff"]
    assert info["features"]["columns"] == [f["column"] for f in card["feature_spec"]["features"]]
    openapi = server.call("GET", "/openapi.json").json()
    assert info["features"]["json_schema"] == openapi["components"]["schemas"]["Features"]
    assert "/metrics" not in openapi["paths"]
    text = json.dumps(info)
    for secret in ("coefficients", "libraries", "statsmodels", "training_data", "std_error"):
        assert secret not in text


def test_admin_port_serves_metrics_and_the_full_card(server: Server, card: dict[str, Any]) -> None:
    assert server.admin_port != server.port
    metrics = server.admin_call("GET", "/metrics")
    assert metrics.status == 200
    assert metrics.content_type.startswith("text/plain; version=0.0.4")
    assert b"credit_glm_http_requests_total" in metrics.body
    openmetrics = server.admin_call(
        "GET", "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.content_type.startswith("application/openmetrics-text")
    assert openmetrics.body.rstrip().endswith(b"# EOF")
    info = server.admin_call("GET", "/model/info").json()
    for key in (
        "model_version",
        "model_sha256",
        "config_sha256",
        "coefficients",
        "feature_spec",
        "metrics",
        "decision",
        "selected_features",
        "libraries",
    ):
        assert info[key] == card[key], key
    assert info["serving"] == {
        "cutoff": card["decision"]["cutoff"],
        "cutoff_source": "card",
        "reject_extra_fields": True,
    }
    assert server.admin_call("GET", "/health").json() == {"status": "ok"}
    for method, path, status in (
        ("GET", "/predict", 404),
        ("POST", "/metrics", 405),
        ("DELETE", "/model/info", 405),
    ):
        reply = server.admin_call(method, path)
        assert reply.status == status
        assert reply.content_type == "application/problem+json"
        assert reply.json()["status"] == status


@pytest.fixture(scope="module")
def file_trained_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained from a CSV file (not the packaged data): the card records its path."""
    work = tmp_path_factory.mktemp("from-file")
    data = work / "private-data" / "applicants.csv"
    data.parent.mkdir()
    shutil.copy(GERMAN_CSV, data)
    result = run_cli(
        [f"data.path={data}", "verbose=false", "hydra.run.dir=outputs/run"], work, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    card = work / "models" / "glm_model.json"
    assert str(data) in card.read_text()  # the card itself keeps the provenance
    return card


def test_no_filesystem_path_leaves_the_service(file_trained_card: Path, tmp_path: Path) -> None:
    srv = start_server(tmp_path / "srv", file_trained_card, "serving.workers=1")
    try:
        row = json.loads(file_trained_card.read_text())["self_check"]["features"]
        replies = [
            srv.call("GET", p)
            for p in ("/health", "/ready", "/model/info", "/openapi.json", "/nope")
        ]
        replies += [
            srv.post_json("/predict", {"features": row}),
            srv.post_json("/predict/batch", {"instances": [row, {}]}),
            srv.call("POST", "/predict", b"{", {"Content-Type": "application/json"}),
        ]
        replies += [
            srv.admin_call("GET", p) for p in ("/metrics", "/model/info", "/health", "/nope")
        ]
        assert [r.status for r in replies] == [
            200,
            200,
            200,
            200,
            404,
            200,
            422,
            400,
            200,
            200,
            200,
            404,
        ]
        roots = {str(file_trained_card.parents[1]), str(tmp_path), "private-data"}
        for reply in replies:
            text = reply.body.decode()
            assert not any(root in text for root in roots), text[:300]
        full = replies[-3].json()
        assert "path" not in full["schema"]
        assert set(full["training_data"]) == {"sha256", "rows"}
    finally:
        srv.stop()


def test_admin_port_disabled(card_path: Path, tmp_path: Path) -> None:
    srv = start_server(tmp_path / "srv", card_path, "serving.workers=1", "serving.admin_port=null")
    try:
        assert "admin port disabled" in srv.error_log()
        assert srv.call("GET", "/metrics").status == 404
        assert srv.call("GET", "/model/info").status == 200
    finally:
        srv.stop()


def test_a_second_server_on_a_served_port_is_refused(
    server: Server, card_path: Path, tmp_path: Path
) -> None:
    """SO_REUSEPORT would let it bind, and the kernel would split the traffic between the two
    servers, maybe two models."""
    for reuse in ("true", "false"):
        result = _serve(
            tmp_path / reuse, card_path, f"serving.reuse_port={reuse}", port=server.port
        )
        assert result.returncode == 2
        assert _error_line(result) == (
            f"error: serving.port {server.port} is already served "
            "by another process (on 127.0.0.1); stop it or choose "
            "another port"
        )
    assert server.call("GET", "/ready").status == 200


def test_a_taken_admin_port_is_refused(server: Server, card_path: Path, tmp_path: Path) -> None:
    result = _serve(tmp_path, card_path, f"serving.admin_port={server.admin_port}")
    assert result.returncode == 2
    line = _error_line(result)
    assert line.startswith(
        f"error: serving.admin_port: cannot listen on 127.0.0.1:{server.admin_port}: "
    )
    assert server.admin_call("GET", "/health").status == 200


def test_a_foreign_metrics_directory_is_refused_and_left_alone(
    card_path: Path, tmp_path: Path
) -> None:
    foreign = tmp_path / "user-data"
    foreign.mkdir()
    (foreign / "precious.db").write_bytes(b"not ours")
    (foreign / "notes.txt").write_text("keep me")
    for overrides, env, key in (
        ([f"serving.metrics_dir={foreign}"], {}, "serving.metrics_dir"),
        (
            ["serving.metrics_dir=null"],
            {"PROMETHEUS_MULTIPROC_DIR": str(foreign)},
            "PROMETHEUS_MULTIPROC_DIR",
        ),
    ):
        result = subprocess.run(
            [*serve_command(card_path, free_port(), tmp_path), *overrides],
            cwd=tmp_path,
            env={**cli_env(), **env},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert result.returncode == 2
        line = _error_line(result)
        assert line.startswith(
            f"error: {key} '{foreign}' is not empty and was not made by this service"
        )
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt", "precious.db"]
    assert (foreign / "precious.db").read_bytes() == b"not ours"


def test_a_metrics_directory_in_use_is_refused(
    server: Server, card_path: Path, tmp_path: Path
) -> None:
    in_use = server.workdir / "metrics"
    before = sorted(p.name for p in in_use.iterdir())
    result = _serve(tmp_path, card_path, f"serving.metrics_dir={in_use}")
    assert result.returncode == 2
    assert _error_line(result) == (
        f"error: serving.metrics_dir '{in_use}' is in use by another "
        "running server; give each server its own directory"
    )
    assert sorted(p.name for p in in_use.iterdir()) == before
    assert server.admin_call("GET", "/metrics").status == 200


def test_the_service_reuses_its_own_metrics_directory(card_path: Path, tmp_path: Path) -> None:
    """A directory the service made (its marker file) is emptied of the last run's metric
    files at the next start, and nothing else in it is touched."""
    first = start_server(tmp_path, card_path, "serving.workers=1")
    first.stop()
    metrics = tmp_path / "metrics"
    assert (metrics / ".credit-glm-metrics").is_file()
    old = {p.name for p in metrics.glob("*.db")}
    assert old
    (metrics / "notes.txt").write_text("keep me")
    second = start_server(tmp_path, card_path, "serving.workers=1")
    try:
        assert not old & {p.name for p in metrics.glob("*.db")}
        assert (metrics / "notes.txt").read_text() == "keep me"
    finally:
        second.stop()
