"""Make every ``n_jobs > 1`` call in these tests really use worker processes."""

from __future__ import annotations

import pytest

from credit_glm.selection import _runtime


@pytest.fixture(autouse=True)
def _workers_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # By default the first second of work runs in-process; tests must exercise workers.
    monkeypatch.setattr(_runtime, "INLINE_SECONDS", 0.0)
