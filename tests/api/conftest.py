"""Fixtures for the service tests: the real server as a subprocess, spoken to over HTTP.

One model is trained once per session (``trained_dir``, the real CLI) and one server serves
most tests (``server``). Servers are always stopped, also when a test fails.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_env

WORKERS = 2
ADMIN_LINE = re.compile(r"^admin on http://\S+:(\d+) ", re.MULTILINE)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Server:
    """A ``python -m credit_glm mode=serve`` process.

    ``call`` speaks to the scoring port; ``admin_call`` to the admin port (``/metrics``, the
    full ``/model/info``), which the service picks itself (``serving.admin_port=0``) and names
    on stderr.
    """

    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    stdout: Path
    stderr: Path
    args: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        return http_call(self.port, method, path, body, headers, timeout)

    @property
    def admin_port(self) -> int:
        """The admin port, from the service's ``admin on http://HOST:PORT`` start-up line."""
        deadline = time.monotonic() + 30
        while True:
            found = ADMIN_LINE.search(self.error_log())
            if found:
                return int(found.group(1))
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server named no admin port:\n" + self.error_log()[-2000:])
            time.sleep(0.05)

    def admin_call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        return http_call(self.admin_port, method, path, body, headers, timeout)

    def scrape(self) -> str:
        """``GET /metrics`` on the admin port, as text."""
        reply = self.admin_call("GET", "/metrics")
        assert reply.status == 200, reply.body[:500]
        return reply.body.decode()

    def post_json(self, path: str, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        data = json.dumps(payload).encode()
        return self.call(
            "POST", path, data, {"Content-Type": "application/json", **(headers or {})}
        )

    def request_log(
        self, expect: Collection[str] = (), timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The request lines so far; waits until those of the ``expect`` request ids are
        written (the service flushes its request log every 0.2 s)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.stdout.read_text(encoding="utf-8").splitlines()
            records = [json.loads(ln) for ln in lines if ln.startswith("{")]
            missing = set(expect) - {r.get("request_id") for r in records}
            if not missing or time.monotonic() > deadline:
                return records
            time.sleep(0.05)

    def error_log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return int(self.proc.returncode)


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(card: Path, port: int, workdir: Path, *overrides: str) -> list[str]:
    """The command line of a server on ``port``; the admin port is a free one unless an
    override names it."""
    admin = (
        []
        if any(o.startswith("serving.admin_port=") for o in overrides)
        else ["serving.admin_port=0"]
    )
    return [
        sys.executable,
        "-m",
        "credit_glm",
        "mode=serve",
        f"serving.port={port}",
        f"serving.model_path={card}",
        f"serving.metrics_dir={workdir / 'metrics'}",
        f"hydra.run.dir={workdir / 'outputs'}",
        *admin,
        *overrides,
    ]


def start_server(
    workdir: Path,
    card: Path,
    *overrides: str,
    ready_timeout: float = 60.0,
    own_session: bool = False,
) -> Server:
    """Start a server on a free port and wait until ``/ready`` answers 200.

    ``own_session``: the server leads its own process group, so ``kill -TERM -PGID`` reaches
    only it."""
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        stdout, stderr = workdir / "stdout.log", workdir / "stderr.log"
        args = serve_command(card, port, workdir, *overrides)
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            proc = subprocess.Popen(
                args,
                cwd=workdir,
                env=cli_env(),
                stdout=out,
                stderr=err,
                start_new_session=own_session,
            )
        server = Server(proc, port, workdir, stdout, stderr, args)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if server.call("GET", "/ready", timeout=2).status == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.1)
        server.stop()
        last_error = server.error_log()
        if "in use" not in last_error and "already served" not in last_error:
            break  # not a port another process took meanwhile
    raise RuntimeError(f"server did not become ready:\n{last_error[-3000:]}")


@pytest.fixture(scope="session")
def card_path(trained_dir: Path) -> Path:
    return trained_dir / "models" / "glm_model.json"


@pytest.fixture(scope="session")
def card(card_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, card_path: Path, card: dict[str, Any]
) -> Iterator[Server]:
    """The session's server: 2 workers x 2 threads sharing one listening socket (the other
    tests' servers use the default, one socket per worker), pinned to the trained model."""
    srv = start_server(
        tmp_path_factory.mktemp("server"),
        card_path,
        f"serving.workers={WORKERS}",
        "serving.threads=2",
        "serving.reuse_port=false",
        f"serving.expected_model_sha256={card['model_sha256']}",
        f"serving.model_version={card['model_version']}",
    )
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def good_row(card: dict[str, Any]) -> dict[str, Any]:
    """A valid record: the model card's self-check row."""
    row: dict[str, Any] = dict(card["self_check"]["features"])
    return row
