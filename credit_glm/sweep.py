"""The multirun summary: a Hydra callback that tabulates every job of a sweep.

Jobs may run in other processes (the joblib launcher) or on other machines (submitit, ray), so
nothing is collected in memory: each job writes ``metrics.json`` into its own directory, and at the
end of the multirun this callback reads them from the sweep directory. Failed jobs are shown with
their status, never hidden. The table goes to the terminal and to ``summary.csv`` and
``summary.md`` in the sweep directory.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from credit_glm.atomic_files import write_file_atomically

__all__ = ["COLUMNS", "SweepSummary", "collect_jobs", "format_table"]

COLUMNS = (
    "job",
    "strategy",
    "overrides",
    "selected_features",
    "n_features",
    "n_terms",
    "aic",
    "bic",
    "test_auc",
    "test_gini",
    "test_ks",
    "fit_seconds",
    "status",
)


def _overrides(job_dir: Path) -> str:
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return ""
    values = OmegaConf.to_container(OmegaConf.load(path))
    return " ".join(str(v) for v in values) if isinstance(values, list) else ""


def _row(job_dir: Path) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row["job"] = job_dir.name
    row["overrides"] = _overrides(job_dir)
    metrics_path = job_dir / "metrics.json"
    if not metrics_path.is_file():
        row["status"] = "failed: no metrics.json (the job crashed or was killed)"
        return row
    m = json.loads(metrics_path.read_text())
    row["status"] = m.get("status", "unknown")
    if "error" in m:
        row["status"] += f" ({str(m['error']).splitlines()[0][:120]})"
    row["strategy"] = m.get("strategy", "")
    selected = m.get("selected_features") or []
    row["selected_features"] = " ".join(selected)
    row["n_features"] = len(selected) if selected else ""
    row["n_terms"] = m.get("n_terms", "")
    for key in ("aic", "bic"):
        row[key] = "" if m.get(key) is None else round(float(m[key]), 3)
    test = m.get("test") or {}
    for key in ("auc", "gini", "ks"):
        row[f"test_{key}"] = "" if test.get(key) is None else round(float(test[key]), 4)
    timings = m.get("timings_seconds") or {}
    row["fit_seconds"] = "" if "total" not in timings else round(float(timings["total"]), 2)
    return row


def collect_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job directory (numbered sub-directories) of ``sweep_dir``."""
    jobs = [p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return [_row(p) for p in sorted(jobs, key=lambda p: int(p.name))]


def format_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    """A Markdown table (readable on a terminal too)."""
    shown = [c for c in columns if c != "selected_features"]
    cells = [[str(r[c]) for c in shown] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(shown)]

    def line(vals: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    out = [line(shown), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


class SweepSummary(Callback):
    """Writes and prints the sweep's summary table; exits non-zero if any job failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            return
        rows = collect_jobs(sweep_dir)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        write_file_atomically(sweep_dir / "summary.csv", buf.getvalue().encode("utf-8"))
        table = format_table(rows)
        write_file_atomically(sweep_dir / "summary.md", (table + "\n").encode("utf-8"))
        print(f"\nsweep summary ({sweep_dir / 'summary.csv'}):\n{table}")
        failed = [r["job"] for r in rows if not str(r["status"]).startswith("ok")]
        if failed:
            print(
                f"{len(failed)} of {len(rows)} jobs failed or missed a gate: {', '.join(failed)}",
                file=sys.stderr,
            )
            sys.exit(1)
