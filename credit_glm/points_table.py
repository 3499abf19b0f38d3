"""The points table: what each attribute of each feature is worth on the points scale.

A discrete feature (bins, one-hot) lists its attributes (the transform's
:meth:`~credit_glm.transforms.base.FeatureTransform.attributes`, the reference included) with
the points the one scorer gives a representative value of each: the table is read off the
scorer, not recomputed beside it. A continuous feature has one row: its points per unit of its
design term, ``(-factor) * coefficient``, and the least and most points it gave a training row.

:func:`scorecard_section` is the model card's ``scorecard`` section; :func:`points_table_csv`
the same table as CSV (``points_table.csv`` next to the card).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from credit_glm.scoring import ScoringModel

__all__ = ["CSV_COLUMNS", "points_table", "points_table_csv", "scorecard_section"]

CSV_COLUMNS = (
    "feature",
    "transform",
    "attribute",
    "points",
    "points_per_unit",
    "min_points",
    "max_points",
)


def points_table(scorer: ScoringModel, train_points: np.ndarray) -> list[dict[str, Any]]:
    """Per feature (spec order) its attributes' points, or its points per unit.

    Parameters
    ----------
    scorer
        The one scorer, with its points scale.
    train_points
        The training rows' points ``(n, n_features)`` as reported (``Scorecard.points`` of
        :meth:`~credit_glm.scoring.ScoringModel.contributions`).
    """
    scale = scorer.scorecard
    if scale is None:
        raise ValueError("a points table needs a scorer with a points scale")
    rows: list[dict[str, Any]] = []
    for j, f in enumerate(scorer.spec.features):
        head = {"feature": f.name, "transform": f.transform}
        lo, hi = (float(v) for v in (train_points[:, j].min(), train_points[:, j].max()))
        attributes = f.transformer.attributes(f)
        if attributes is None:
            (term,) = f.terms
            rows.append(
                {
                    **head,
                    "kind": "continuous",
                    "term": term,
                    "points_per_unit": -scale.factor * scorer.coefficients[term],
                    "min_points": lo,
                    "max_points": hi,
                }
            )
            continue
        contribution = scorer.feature_contribution(j, [value for _, value in attributes])
        points = scale.points(contribution).tolist()
        rows.append(
            {
                **head,
                "kind": "attributes",
                "attributes": [
                    {"label": label, "points": p}
                    for (label, _), p in zip(attributes, points, strict=True)
                ],
                "min_points": lo,
                "max_points": hi,
            }
        )
    return rows


def scorecard_section(scorer: ScoringModel, table: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The model card's ``scorecard`` section: the scale, the base points, the points table and
    the reason table (with its ``max`` and ``method``)."""
    scale = scorer.scorecard
    if scale is None:
        raise ValueError("a scorecard section needs a scorer with a points scale")
    return {
        "scale": scale.to_dict(),
        "base_points": scale.base_points(scorer.intercept),
        "points_table": [dict(row) for row in table],
        "reasons": None if scorer.reasons is None else scorer.reasons.to_dict(),
    }


def points_table_csv(section: Mapping[str, Any]) -> str:
    """The card's points table (``section`` is its ``scorecard`` section) as CSV text: one
    line per attribute, one per continuous feature, and the base points first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["(base points)", "", "", repr(float(section["base_points"])), "", "", ""])
    for row in section["points_table"]:
        span = [repr(float(row["min_points"])), repr(float(row["max_points"]))]
        if row["kind"] == "continuous":
            per_unit = repr(float(row["points_per_unit"]))
            writer.writerow([row["feature"], row["transform"], row["term"], "", per_unit, *span])
        else:
            for a in row["attributes"]:
                points = repr(float(a["points"]))
                writer.writerow([row["feature"], row["transform"], a["label"], points, "", *span])
    return out.getvalue()
