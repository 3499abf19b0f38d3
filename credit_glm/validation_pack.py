"""Everything ``mode=report`` reports, gathered from the model card and its data: the
figures dict (written as report.json and drawn as report.html). No file is read or written
here; :func:`credit_glm.cli.run_report` does that.

The training and test rows are found again exactly as training found them (the card's split
settings on the same file, whose hash the card records), so the train and test figures are
those of the samples the model was fitted and gated on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from credit_glm.config import AppConfig, DataConfig, SplitMethod, Strategy, ValidationConfig
from credit_glm.validation import Sample, gate_verdicts, sample_figures, stability_figures

__all__ = ["validation_figures"]


def _schema_rows(data: DataConfig) -> list[dict[str, Any]]:
    return [
        {
            "column": name,
            "type": col.type.value,
            "nullable": col.nullable,
            "min": col.min,
            "max": col.max,
            "categories": col.categories,
            "description": col.description,
        }
        for name, col in data.columns.items()
    ]


def validation_figures(
    card: Mapping[str, Any],
    trained: AppConfig,
    frame: pd.DataFrame,
    monitoring: pd.DataFrame | None,
    monitoring_source: str | None,
    validation: ValidationConfig,
    tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The report's figures.

    Parameters
    ----------
    card
        The verified model card.
    trained
        The config the model was trained with (the card's).
    frame
        The training file, validated and compacted (:func:`~credit_glm.schema.compact_text`).
    monitoring
        A recent file in the same schema, validated, or ``None``.
    validation
        Bootstrap size, seed and interval level.
    tick
        Called once per bootstrap resample (a progress bar).
    """
    from credit_glm.bootstrap import bootstrap_coefficients, selection_frequency
    from credit_glm.features import design_matrix
    from credit_glm.scoring import ScoringModel
    from credit_glm.split import split_rows
    from credit_glm.training import candidate_spec, outcome_vector

    data = trained.data
    scorer = ScoringModel.from_card(card)
    spec = scorer.spec
    y = outcome_vector(frame, data)
    weights = (
        frame[data.weight_column].to_numpy(dtype="float64", na_value=np.nan)
        if data.weight_column
        else None
    )
    dates = frame[data.date_column] if data.date_column else None
    split = split_rows(y, trained.split, dates)
    train_frame = frame.iloc[split.train].reset_index(drop=True)
    y_train = y[split.train]
    w_train = None if weights is None else weights[split.train]
    samples = [Sample("train", scorer.predict(train_frame), y_train, train_frame)]
    if split.test.size:
        test_frame = frame.iloc[split.test].reset_index(drop=True)
        name = "out-of-time" if trained.split.method is SplitMethod.out_of_time else "test"
        samples.append(Sample(name, scorer.predict(test_frame), y[split.test], test_frame))
    if monitoring is not None:
        labelled = data.target.column in monitoring.columns
        y_mon = outcome_vector(monitoring, data) if labelled else None
        samples.append(Sample("monitoring", scorer.predict(monitoring), y_mon, monitoring))
    level = validation.level
    evaluation = trained.evaluation
    columns = list(dict.fromkeys(f.column for f in spec.features))

    bootstrap: dict[str, Any] | None = None
    if validation.bootstrap:
        X_train = design_matrix(spec, train_frame)
        bootstrap = {
            "coefficients": bootstrap_coefficients(
                X_train,
                y_train,
                spec.terms,
                scorer.params,
                trained.glm,
                validation.bootstrap,
                validation.seed,
                w_train,
                level,
                tick,
            ).to_dict(),
            "selection": None,
        }
        del X_train
        if trained.selection.strategy is not Strategy.none:
            from credit_glm.feature_selection import select_features

            quiet = replace(trained, selection=replace(trained.selection, progress=False))
            full_spec, _ = candidate_spec(trained, train_frame, y_train, w_train)
            X_full = design_matrix(full_spec, train_frame)

            def select(rows: np.ndarray) -> list[str]:
                chosen = select_features(
                    quiet,
                    full_spec,
                    X_full[rows],
                    y_train[rows],
                    None if w_train is None else w_train[rows],
                )
                return list(chosen.selected)

            bootstrap["selection"] = selection_frequency(
                select,
                full_spec.feature_names,
                len(y_train),
                validation.bootstrap,
                validation.seed,
                tick,
            )

    coefficients = [{"term": term, **row} for term, row in card["coefficients"].items()]
    training_data = card["training_data"]
    return {
        "format": "credit-glm/validation-report",
        "generated_by": "python -m credit_glm mode=report",
        "config": {
            "bootstrap": validation.bootstrap,
            "seed": validation.seed,
            "level": level,
            "grades": list(evaluation.grades),
            "gates": {
                "min_hosmer_lemeshow_pvalue": evaluation.min_hosmer_lemeshow_pvalue,
                "min_jeffreys_pvalue": evaluation.min_jeffreys_pvalue,
            },
        },
        "model": {
            "model_version": card["model_version"],
            "model_sha256": card["model_sha256"],
            "created_at": card["created_at"],
            "link": card["link"],
            "selected_features": list(card["selected_features"]),
        },
        "data": {
            "name": data.name,
            "source": training_data["source"],
            "sha256": training_data["sha256"],
            "rows": int(len(frame)),
            "target": data.target.column,
            "event": data.target.event,
            "split": f"{trained.split.method.value}: {split.train.size:,} training rows, "
            f"{split.test.size:,} test rows",
            "monitoring": monitoring_source,
        },
        "schema": _schema_rows(data),
        "selection": card["selection"],
        "coefficients": coefficients,
        "collinearity": card["diagnostics"]["collinearity"],
        "samples": [sample_figures(s, evaluation, level) for s in samples],
        "stability": stability_figures(samples[0], samples[1:], columns, data, evaluation.psi_bins),
        "bootstrap": bootstrap,
        "scorecard": card.get("scorecard"),
        "gates": gate_verdicts(card),
    }
