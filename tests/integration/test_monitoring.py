"""Monitoring: alert rules under promtool, dashboard and rules against a live /metrics, and a
real Prometheus server scraping the real service on its admin port."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Server, free_port, start_server
from tests.conftest import REPO, compose_config

MONITORING = REPO / "k8s" / "monitoring"
pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install prometheus; .ci/run does it)")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yaml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts.test.yaml", "alerts.latency.test.yaml"],
    ],
    ids=["check-rules", "check-config", "test-rules"],
)
def test_promtool(args: list[str]) -> None:
    result = subprocess.run(
        [_tool("promtool"), *args],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_targets_the_admin_port() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    ((target,),) = [c["targets"] for c in job["static_configs"]]
    serving = compose_config(["mode=serve"]).serving
    assert target.rsplit(":", 1)[1] == str(serving.admin_port) != str(serving.port)


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    fired: set[str] = set()
    quiet: set[str] = set()
    for name in ("alerts.test.yaml", "alerts.latency.test.yaml"):
        for test in yaml.safe_load((MONITORING / name).read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case["exp_alerts"] else quiet).add(case["alertname"])
    assert alerts == fired == quiet


# ---------------------------------------------------------------------------------------------
# PromQL names against a live scrape
# ---------------------------------------------------------------------------------------------
_KEYWORDS = {
    "by",
    "without",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """Metric (and recording-rule) names an expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def _rules() -> tuple[list[str], set[str]]:
    groups = yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"]
    exprs = [r["expr"] for g in groups for r in g["rules"]]
    recorded = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    return exprs, recorded


def _dashboard_exprs() -> list[str]:
    dash = json.loads((MONITORING / "dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (le) (rate(a_total{x="y{z}"}[5m] offset 1w)) / on(job) b:c '
        "and histogram_quantile(0.9, d_bucket) > 1e-9"
    )
    assert metric_names(expr) == {"a_total", "b:c", "d_bucket"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, trained_dir: Path) -> Iterator[Server]:
    """A 2-worker server on the default trained model."""
    card = trained_dir / "models" / "glm_model.json"
    srv = start_server(tmp_path_factory.mktemp("monitoring"), card, "serving.workers=2")
    try:
        yield srv
    finally:
        srv.stop()


def _self_check_row(trained_dir: Path) -> dict[str, Any]:
    card = json.loads((trained_dir / "models" / "glm_model.json").read_text())
    row: dict[str, Any] = dict(card["self_check"]["features"])
    return row


def _traffic(srv: Server, row: dict[str, Any], good: int, bad: int) -> None:
    for _ in range(good):
        assert srv.post_json("/predict", {"features": row}).status == 200
    for i in range(bad):
        broken = {**row, "age_in_years": 150 + i, "purpose": "yacht"}
        assert srv.post_json("/predict", {"features": broken}).status == 422
    assert srv.post_json("/predict/batch", {"instances": [row] * 5}).status == 200


def test_dashboard_and_rules_use_only_exported_metrics(live: Server, trained_dir: Path) -> None:
    _traffic(live, _self_check_row(trained_dir), good=3, bad=2)
    missing = {**_self_check_row(trained_dir)}
    missing.pop("duration_in_month")
    live.post_json("/predict", {"features": missing})
    assert live.call("GET", "/metrics").status == 404  # never on the scoring port
    scrape = live.scrape()
    exported = {s.name for fam in text_string_to_metric_families(scrape) for s in fam.samples}
    exprs, recorded = _rules()
    used = set().union(*(metric_names(e) for e in [*exprs, *_dashboard_exprs()]))
    unknown = used - exported - recorded
    assert not unknown, f"not exported by the service: {sorted(unknown)}"
    assert {"credit_glm_http_requests_total", "credit_glm_score_psi", "credit_glm_ready"} <= used


# ---------------------------------------------------------------------------------------------
# a real Prometheus server
# ---------------------------------------------------------------------------------------------
def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _scalar(port: int, promql: str) -> float | None:
    result = _query(port, promql)
    return float(result[0]["value"][1]) if result else None


@pytest.fixture
def prometheus(tmp_path: Path, live: Server) -> Iterator[int]:
    """Prometheus scraping ``live`` every second, with the repo's scrape config and rules."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(MONITORING / "alerts.yaml")]
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{live.admin_port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            _tool("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1h",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(
                "prometheus did not become ready:\n"
                + (tmp_path / "prometheus.log").read_text()[-2000:]
            )
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_real_prometheus_sees_what_was_sent(
    live: Server, prometheus: int, trained_dir: Path
) -> None:
    def total(promql: str) -> float:
        return _scalar(prometheus, promql) or 0.0

    # the first scrape sets the baseline (the server may have answered other tests before)
    deadline = time.monotonic() + 30
    while _scalar(prometheus, 'up{job="credit-glm"}') != 1.0:
        assert time.monotonic() < deadline, "prometheus never scraped the service"
        time.sleep(0.3)

    base = {
        "ok": total('sum(credit_glm_http_requests_total{endpoint="/predict",status="200"})'),
        "bad": total('sum(credit_glm_http_requests_total{endpoint="/predict",status="422"})'),
        "rows": total("sum(credit_glm_predictions_total)"),
        "range": total('sum(credit_glm_feature_out_of_range_total{feature="age_in_years"})'),
        "unknown": total('sum(credit_glm_feature_unknown_category_total{feature="purpose"})'),
    }
    good, bad = 40, 10
    _traffic(live, _self_check_row(trained_dir), good=good, bad=bad)
    # wait for a scrape that has seen everything sent
    want = base["ok"] + good + base["bad"] + bad
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if total('sum(credit_glm_http_requests_total{endpoint="/predict"})') >= want:
            break
        time.sleep(0.5)
    assert (
        total('sum(credit_glm_http_requests_total{endpoint="/predict",status="200"})')
        == base["ok"] + good
    )
    assert (
        total('sum(credit_glm_http_requests_total{endpoint="/predict",status="422"})')
        == base["bad"] + bad
    )
    assert total("sum(credit_glm_predictions_total)") == base["rows"] + good + 5
    assert (
        total('sum(credit_glm_feature_out_of_range_total{feature="age_in_years"})')
        == base["range"] + bad
    )
    assert (
        total('sum(credit_glm_feature_unknown_category_total{feature="purpose"})')
        == base["unknown"] + bad
    )
    # the error ratio of /predict over everything scraped so far
    ratio = total(
        'sum(credit_glm_http_requests_total{endpoint="/predict",status=~"4..|5.."})'
        ' / sum(credit_glm_http_requests_total{endpoint="/predict"})'
    )
    assert ratio == pytest.approx((base["bad"] + bad) / want)
    # model health: a PSI series and the served model's info, from both workers' samples
    assert _scalar(prometheus, "max(credit_glm_score_psi)") is not None
    assert _scalar(prometheus, 'up{job="credit-glm"}') == 1.0
    info = _query(prometheus, "credit_glm_model_info")
    card = json.loads((trained_dir / "models" / "glm_model.json").read_text())
    assert {r["metric"]["model_version"] for r in info} == {card["model_version"]}
    # the rules file is loaded and its recording rules evaluate
    deadline = time.monotonic() + 20
    while _scalar(prometheus, "credit_glm:scoring_requests:rate5m") is None:
        assert time.monotonic() < deadline, "recording rules never evaluated"
        time.sleep(0.5)
