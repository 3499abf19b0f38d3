"""What ``python -m credit_glm`` does in each mode, once Hydra has composed the config.

This is an edge: it reads and writes files, reports, and turns user errors into exit codes. The
modelling itself is the pure :func:`credit_glm.training.train`.

Everything a run reports goes through :mod:`logging` (logger ``credit_glm.cli``), so Hydra's job
logging (``conf/hydra/job_logging/credit_glm.yaml``) puts it both on the terminal, as plain
lines (informational ones on stdout, errors on stderr), and in ``<run dir>/__main__.log`` with
time and level.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from credit_glm.config import AppConfig, Mode
from credit_glm.errors import ArtifactError, ConfigError, CreditGLMError, GateFailure
from credit_glm.jsonable import json_safe
from credit_glm.report import (
    format_evaluation,
    format_points_table,
    format_selection,
    format_training,
)

# Each mode imports what it needs when it runs (numpy, pandas, pandera and statsmodels for
# training; the service alone for serving), so that printing a config (``--cfg job``), a
# config error and ``mode=serve`` do not load the modelling stack.

__all__ = ["BelowLevel", "UnknownKeyError", "check_known_keys", "run", "to_app_config"]

log = logging.getLogger(__name__)


class BelowLevel(logging.Filter):
    """Passes records below ``level``: the stdout handler leaves warnings and errors to stderr."""

    def __init__(self, level: int | str = logging.WARNING) -> None:
        super().__init__()
        self.level = level if isinstance(level, int) else logging.getLevelNamesMapping()[level]

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < self.level


class UnknownKeyError(ConfigError):
    """A key no schema declares: a composition error, so it exits as Hydra's own do (1)."""

    exit_code = 1


def _unknown_keys(node: DictConfig, path: str) -> Iterator[tuple[str, list[str]]]:
    """``(dotted key, keys its schema declares)`` for every key no dataclass declares.

    Hydra's ``+key=value`` (and an ``open_dict``) adds a key past the struct flag, and
    ``OmegaConf.to_object`` then sets it as a plain attribute that nothing reads: a typo
    such as ``+glm.lnk=probit`` would train a logit model silently. Dict-typed fields
    (``data.columns``, ``features.features``, ``merge``) take any key; their values are
    checked against their own schema.
    """
    object_type = OmegaConf.get_type(node)
    declared: set[str] | None = None
    if object_type is not None and dataclasses.is_dataclass(object_type):
        declared = {f.name for f in dataclasses.fields(object_type)}
    for key in node.keys():
        name = str(key)
        dotted = f"{path}.{name}" if path else name
        if declared is not None and name not in declared:
            yield dotted, sorted(declared)
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            yield from _unknown_keys(child, dotted)
        elif isinstance(child, ListConfig) and not child._is_none() and not child._is_missing():
            for i in range(len(child)):
                item = child._get_node(i)
                if isinstance(item, DictConfig):
                    yield from _unknown_keys(item, f"{dotted}[{i}]")


def check_known_keys(cfg: DictConfig) -> None:
    """Refuse a key no schema declares, naming it and the closest declared key."""
    for key, declared in _unknown_keys(cfg, ""):
        if key.split(".")[0] == "hydra":
            continue
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, declared, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(declared)}"
        raise UnknownKeyError(key, f"no such key{hint}")


def to_app_config(cfg: DictConfig) -> AppConfig:
    """The composed config as typed dataclasses (runs every ``__post_init__`` check).

    Keys no schema declares are refused first (:func:`check_known_keys`).
    """
    check_known_keys(cfg)
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        cause = err.__cause__ if isinstance(err.__cause__, ConfigError) else None
        if cause is not None:
            raise cause from None
        # OmegaConf appends full_key/reference_type/object_type lines: the key is named already
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(str(getattr(err, "full_key", "") or "config"), message) from None
    if not isinstance(obj, AppConfig):
        raise ConfigError("config", "the primary config is not typed by AppConfig")
    return obj


def _write_json(path: Path, payload: Any) -> None:
    from credit_glm.atomic_files import write_file_atomically

    text = json.dumps(json_safe(payload), indent=2, allow_nan=False, default=str) + "\n"
    write_file_atomically(path, text.encode("utf-8"))


def run_train(app: AppConfig, output_dir: Path, promote: bool = True) -> dict[str, Any]:
    from credit_glm.artifact import write_artifacts
    from credit_glm.feature_selection import select_features
    from credit_glm.model_card import build_card
    from credit_glm.tables import file_sha256, read_table
    from credit_glm.training import train

    frame, resolved = read_table(app.data.path, app.data)
    trained = train(app, frame, select_features)
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    card = build_card(trained, app.data.path, file_sha256(resolved), len(frame), created)
    _, _, card = write_artifacts(trained, card, output_dir / "model")
    _write_json(output_dir / "selection.json", card["selection"])
    summary = _run_summary(trained.config, card, trained.timings)
    if app.verbose:
        log.info("%s", format_training(card))
        if card.get("scorecard") is not None:
            log.info("%s", format_points_table(card))
    log.info("%s", format_selection(card))
    if not trained.passed:
        summary["status"] = "gate failed"
        _write_json(output_dir / "metrics.json", summary)
        raise GateFailure(list(trained.gate_failures))
    if not promote:
        _write_json(output_dir / "metrics.json", summary)
        log.info(
            "model %s passed its gates; in a sweep it stays in %s (promote one by copying "
            "it into %s)",
            card["model_version"],
            output_dir / "model",
            app.paths.models_dir,
        )
        return summary
    pickle_path, card_path, _ = write_artifacts(trained, card, app.paths.models_dir)
    summary["promoted_to"] = str(card_path)
    _write_json(output_dir / "metrics.json", summary)
    log.info("model %s promoted: %s and %s", card["model_version"], pickle_path, card_path)
    return summary


def _run_summary(app: AppConfig, card: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    test = card["metrics"].get("test") or {}
    fit = card["diagnostics"]["fit"]
    return {
        "status": "ok",
        "mode": "train",
        "model_version": card["model_version"],
        "strategy": card["selection"]["strategy"],
        "selected_features": card["selected_features"],
        "n_terms": len(card["coefficients"]),
        "aic": fit["aic"],
        "bic": fit["bic"],
        "train": {k: card["metrics"]["train"][k] for k in ("auc", "gini", "ks", "brier")},
        "test": {k: test[k] for k in ("auc", "gini", "ks", "brier")} if test else None,
        "psi_train_test": (card["metrics"].get("stability") or {}).get("psi_train_test"),
        "gates": card["gates"],
        "timings_seconds": timings,
    }


def run_evaluate(app: AppConfig, output_dir: Path) -> dict[str, Any]:
    import numpy as np

    from credit_glm import metrics as m
    from credit_glm.artifact import load_card
    from credit_glm.evaluation import gate_failures
    from credit_glm.model_card import score_baseline
    from credit_glm.schema import build_schema, data_config_from_dict, validate_frame
    from credit_glm.scoring import ScoringModel
    from credit_glm.tables import file_sha256, read_table
    from credit_glm.training import outcome_vector, sample_metrics

    card = load_card(app.paths.model)
    data = data_config_from_dict(card["schema"])
    frame, resolved = read_table(app.data.path, data)
    frame = validate_frame(frame, build_schema(data, "training"), data, f"{app.data.path}")
    scorer = ScoringModel.from_card(card)
    y = outcome_vector(frame, data)
    if y.min() == y.max():
        raise CreditGLMError(
            f"{app.data.path}: the target has one class only; AUC and the "
            "other discrimination metrics need both"
        )
    explained = scorer.explain(frame)
    p = explained.probability_of_default
    metrics = sample_metrics(y, p, app)
    try:
        base = score_baseline(card)
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"model card {app.paths.model!r}: {err}") from None
    psi = m.psi_from_shares(np.asarray(base.shares), m.bin_proportions(p, np.asarray(base.edges)))
    failures = gate_failures(app.evaluation, metrics, "evaluation", psi=psi)
    result = {
        "status": "ok" if not failures else "gate failed",
        "mode": "evaluate",
        "model_version": card["model_version"],
        "model_sha256": card["model_sha256"],
        "data": {"source": app.data.path, "sha256": file_sha256(resolved), "rows": len(frame)},
        "metrics": metrics,
        "psi_vs_training": psi,
        "scores": explained.summary(),
        "gates": {"passed": not failures, "failures": failures},
    }
    _write_json(output_dir / "evaluation.json", result)
    if app.verbose:
        log.info("%s", format_evaluation(result))
    log.info("evaluation written to %s", output_dir / "evaluation.json")
    if failures:
        raise GateFailure(failures)
    return result


def card_config(card: dict[str, Any]) -> AppConfig:
    """The typed config a model card records it was trained with."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(AppConfig), card["config"])
        obj = OmegaConf.to_object(merged)
    except (OmegaConfBaseException, KeyError, ConfigError) as err:
        raise ArtifactError(
            f"paths.model: the card's training config cannot be read: {err}"
        ) from None
    if not isinstance(obj, AppConfig):
        raise ArtifactError("paths.model: the card's training config is not an AppConfig")
    return obj


def run_report(app: AppConfig, output_dir: Path) -> dict[str, Any]:
    """``mode=report``: the validation pack of the card at ``paths.model``, written as
    report.html and report.json (temp file, then rename) in ``validation.output_dir``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError(
            "mode=report", "needs matplotlib: pip install 'credit-glm[report]'"
        ) from None
    from credit_glm.artifact import load_card
    from credit_glm.atomic_files import write_file_atomically
    from credit_glm.errors import DataError
    from credit_glm.report_html import render_report
    from credit_glm.schema import (
        Role,
        build_schema,
        compact_text,
        release_freed_text,
        validate_frame,
    )
    from credit_glm.selection._runtime import Reporter
    from credit_glm.tables import file_sha256, read_table
    from credit_glm.validation_pack import validation_figures

    card = load_card(app.paths.model)
    trained = card_config(card)
    data = trained.data
    source = card["training_data"]["source"]
    frame, resolved = read_table(source, data)
    if file_sha256(resolved) != card["training_data"]["sha256"]:
        raise DataError(
            f"mode=report: the training data {source!r} is not the file model "
            f"{card['model_version']} was trained on (its sha256 differs from the card's "
            "training_data.sha256); the train and test figures need that file"
        )
    frame = compact_text(validate_frame(frame, build_schema(data, "training"), data, source), data)
    release_freed_text()
    monitoring = None
    monitoring_path = app.data.monitoring_path
    if monitoring_path:
        raw, _ = read_table(monitoring_path, data)
        role: Role = "training" if data.target.column in raw.columns else "inference"
        monitoring = compact_text(
            validate_frame(
                raw, build_schema(data, role), data, f"data.monitoring_path {monitoring_path}"
            ),
            data,
        ).reset_index(drop=True)
    validation = app.validation
    resamples = validation.bootstrap * (1 if trained.selection.strategy.value == "none" else 2)
    bar = Reporter("auto" if validation.progress else None, resamples, "bootstrap", "fit")
    done = [0]

    def tick() -> None:
        done[0] += 1
        bar.update(done[0])

    try:
        figures = validation_figures(
            card, trained, frame, monitoring, monitoring_path, validation, tick
        )
    finally:
        bar.close()
    target = Path(validation.output_dir).expanduser() if validation.output_dir else output_dir
    target.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(json_safe(figures), indent=1, allow_nan=False) + "\n"
    page = render_report(figures, format_selection(card))
    write_file_atomically(target / "report.json", payload.encode("utf-8"))
    write_file_atomically(target / "report.html", page.encode("utf-8"))
    summary = {
        "status": "ok",
        "mode": "report",
        "model_version": card["model_version"],
        "report": str(target / "report.html"),
        "figures": str(target / "report.json"),
    }
    _write_json(output_dir / "metrics.json", summary)
    log.info("validation report of model %s: %s", card["model_version"], target / "report.html")
    return summary


def run_export(app: AppConfig, output_dir: Path) -> dict[str, Any]:
    """``mode=export``: the model card ``paths.model`` as one SQL ``SELECT``
    (:func:`credit_glm.sql_export.scorecard_sql`) over ``export.table``, written atomically to
    ``export.path``. The points scale is the card's (``scorecard.scale``) when it records one,
    else the ``scorecard`` config.

    Raises
    ------
    ArtifactError
        The card is missing, fails its checks, or lacks what the query needs.
    ConfigError
        The model's link has no SQL form (probit).
    """
    from credit_glm.artifact import load_card
    from credit_glm.atomic_files import write_file_atomically
    from credit_glm.schema import data_config_from_dict
    from credit_glm.scorecard import Scorecard
    from credit_glm.scoring import DECISION_RULE, ScoringModel
    from credit_glm.sql_export import scorecard_sql

    card = load_card(app.paths.model)
    try:
        scorer = ScoringModel.from_card(card)
        data = data_config_from_dict(card["schema"])
        # the card's own points scale (its scorecard section), else, for a card written
        # before points existed, the config's
        scale = scorer.scorecard or Scorecard.from_config(app.scorecard)
        # the cut-off as the service reads it; the query writes DECISION_RULE
        cutoff = float(card["decision"]["cutoff"])
        if card["decision"]["rule"] != DECISION_RULE:
            raise ValueError(f"decision rule {card['decision']['rule']!r} is not {DECISION_RULE!r}")
    except (KeyError, TypeError, ValueError) as err:  # ConfigError among them
        raise ArtifactError(
            f"model card {app.paths.model!r} cannot be exported: {type(err).__name__}: {err}"
        ) from None
    sql = scorecard_sql(
        scorer,
        scale,
        cutoff,
        app.export.table,
        data.id_column,
        model_version=card["model_version"],
        model_sha256=card["model_sha256"],
    )
    path = write_file_atomically(app.export.path, sql.encode("utf-8"))
    summary = {
        "status": "ok",
        "mode": "export",
        "format": app.export.format.value,
        "model_version": card["model_version"],
        "model_sha256": card["model_sha256"],
        "path": str(path),
        "table": app.export.table,
        "id_column": data.id_column,
        "features": list(scorer.spec.feature_names),
        "link": scorer.link.value,
        "cutoff": cutoff,
        "scorecard": {
            **scale.to_dict(),
            "source": "card" if scorer.scorecard is not None else "config",
        },
    }
    _write_json(output_dir / "metrics.json", summary)
    if scorer.scorecard is not None:
        log.info("points scale from the model card (scorecard.* is not read)")
    log.info(
        "model %s exported as SQL over table %s: %s",
        card["model_version"],
        app.export.table,
        path,
    )
    return summary


def run_score(app: AppConfig, output_dir: Path) -> dict[str, Any]:
    """``mode=score``: ``data.path`` (CSV or Parquet) scored by the card at ``paths.model``,
    in chunks (``score.engine=local``) or on Dask (``score.engine=dask``); scores to
    ``score.output_path``, rejected rows to ``score.rejects_path``; the counts to
    ``metrics.json``.

    Raises
    ------
    ArtifactError
        The card is missing or fails its checks.
    DataError
        The input cannot be scored at all (nothing is written).
    GateFailure
        More than ``score.max_reject_share`` of the rows were rejected (the rejects are
        written, the scores are not).
    """
    from credit_glm.artifact import load_card
    from credit_glm.batch_scoring import BatchScorer
    from credit_glm.config import ScoreEngine
    from credit_glm.schema import data_config_from_dict

    card = load_card(app.paths.model)
    try:
        batch = BatchScorer.from_card(card)
        data = data_config_from_dict(card["schema"])
    except (KeyError, TypeError, ValueError) as err:  # ConfigError among them
        raise ArtifactError(
            f"model card {app.paths.model!r} cannot score files: {type(err).__name__}: {err}"
        ) from None
    # the input's format and missing-value texts are this run's (data.format, data.na_values)
    data.format, data.na_values = app.data.format, list(app.data.na_values)
    if app.score.engine is ScoreEngine.dask:
        from credit_glm.dask_scoring import score_on_dask

        counts, rejects, scores = score_on_dask(batch, data, app.data.path, app.score)
    else:
        from credit_glm.batch_io import score_file

        counts, rejects, scores = score_file(batch, data, app.data.path, app.score)
    exceeded = counts.reject_share > app.score.max_reject_share
    summary = {
        "status": "reject share exceeded" if exceeded else "ok",
        "mode": "score",
        "engine": app.score.engine.value,
        "model_version": card["model_version"],
        "model_sha256": card["model_sha256"],
        "data": {"source": app.data.path},
        "rows": {"read": counts.read, "scored": counts.scored, "rejected": counts.rejected},
        "reject_share": counts.reject_share,
        "max_reject_share": app.score.max_reject_share,
        "rejects_by_rule": counts.rejects_by_rule,
        "output_path": None if scores is None else str(scores),
        "rejects_path": str(rejects),
        "seconds": counts.seconds,
        "rows_per_second": counts.read / counts.seconds if counts.seconds > 0 else None,
    }
    _write_json(output_dir / "metrics.json", summary)
    log.info(
        "scored %d of %d rows (%d rejected, %.2f%%) in %.2f s with model %s",
        counts.scored,
        counts.read,
        counts.rejected,
        100 * counts.reject_share,
        counts.seconds,
        card["model_version"],
    )
    log.info("rejects written to %s", rejects)
    if exceeded:
        raise GateFailure(
            [
                f"score.max_reject_share: {counts.rejected} of {counts.read} rows rejected "
                f"({counts.reject_share:.4%} > {app.score.max_reject_share:.4%}); the scores "
                f"were not written, the rejects are in {rejects}"
            ]
        )
    log.info("scores written to %s", scores)
    return summary


def run(cfg: DictConfig, output_dir: Path, promote: bool = True) -> int:
    """Run the mode the config names; return the process exit code.

    ``promote`` is false in a multirun: every job keeps its candidate in its own directory.
    """
    app: AppConfig | None = None
    try:
        app = to_app_config(cfg)
        if app.mode is Mode.train:
            run_train(app, output_dir, promote)
        elif app.mode is Mode.evaluate:
            run_evaluate(app, output_dir)
        elif app.mode is Mode.export:
            run_export(app, output_dir)
        elif app.mode is Mode.score:
            run_score(app, output_dir)
        elif app.mode is Mode.report:
            run_report(app, output_dir)
        elif app.mode is Mode.serve:
            from credit_glm.service.server import serve

            return int(serve(app))
        else:
            log.error("error: mode=%s is not available yet", app.mode.value)
            return 2
    except CreditGLMError as err:
        if not (output_dir / "metrics.json").exists():
            _write_json(
                output_dir / "metrics.json",
                {"status": f"failed: {type(err).__name__}", "error": str(err)},
            )
        if app is not None and app.mode is Mode.serve:
            # the service has taken logging over (its own format, possibly JSON) by now; its
            # start-up error stays the plain last line an operator reads
            print(f"error: {err}", file=sys.stderr)
        else:
            log.error("error: %s", err)
        return err.exit_code
    return 0
