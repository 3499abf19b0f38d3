"""Scoring a chunk of a file: validate every row, score the good ones, name the bad ones.

:class:`BatchScorer` binds the one scorer (:class:`~credit_glm.scoring.ScoringModel`), the
model's rule table compiled for chunks (:class:`~credit_glm.batch_validation.ChunkValidator`)
and the decision. :meth:`BatchScorer.score` turns one chunk (Arrow columns) into two Arrow
tables: the scores of the rows that pass every rule and the rejects. Every operation is
elementwise, so a row's output is bit-identical whatever the chunk it falls in, on any
process: the local engine (:mod:`credit_glm.batch_io`) and the Dask engine
(:mod:`credit_glm.dask_scoring`) both call this one function.

Pure: no file is read or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa

from credit_glm.batch_validation import REJECT_FIELDS, ChunkValidator, Reject
from credit_glm.errors import ValidationFailed
from credit_glm.rules import rule_table
from credit_glm.schema import data_config_from_dict
from credit_glm.scoring import ACCEPT, DECISION_RULE, DECLINE, ScoringModel, declines

__all__ = ["REJECTS_SCHEMA", "BatchScorer", "ScoredChunk"]

REJECTS_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),
        ("field", pa.string()),
        ("rule", pa.string()),
        ("detail", pa.string()),
        ("value", pa.string()),
    ]
)
assert tuple(REJECTS_SCHEMA.names) == REJECT_FIELDS
_DECISIONS: Final = pa.array([ACCEPT, DECLINE])
_DECISION_TYPE: Final = pa.dictionary(pa.int8(), pa.string())
_REASON_TYPE: Final = pa.dictionary(pa.int32(), pa.string())
# a transform's own refusal of a value (an unseen level, a missing value it has no policy for)
_TRANSFORM_RULE: Final = "feature"


@dataclass(frozen=True)
class ScoredChunk:
    """One chunk's outcome: the scores of its good rows and the rejects of its bad ones."""

    scores: pa.Table
    rejects: pa.Table
    n_read: int

    @property
    def n_scored(self) -> int:
        return int(self.scores.num_rows)

    @property
    def n_rejected(self) -> int:
        """Rows rejected (a row breaking two rules is one rejected row)."""
        return len(set(self.rejects.column("row").to_pylist()))


@dataclass(frozen=True)
class BatchScorer:
    """What scoring a file needs of a model card, compiled once (it pickles, for Dask)."""

    scorer: ScoringModel
    validator: ChunkValidator
    cutoff: float
    id_column: str | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> BatchScorer:
        """From a verified model card (:func:`credit_glm.artifact.load_card`).

        Raises
        ------
        ValueError, KeyError
            A card without what scoring needs, or with another decision rule.
        """
        scorer = ScoringModel.from_card(card)
        data = data_config_from_dict(card["schema"])
        if card["decision"]["rule"] != DECISION_RULE:
            raise ValueError(f"decision rule {card['decision']['rule']!r} is not {DECISION_RULE!r}")
        table = rule_table(data, "inference", required=scorer.spec.columns)
        return cls(scorer, ChunkValidator(table), float(card["decision"]["cutoff"]), data.id_column)

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns a file may hold (every declared inference column)."""
        return tuple(self.validator.table.columns)

    @property
    def output_schema(self) -> pa.Schema:
        """The columns of the scores, in order: the input row (from 1), the id when declared,
        ``probability_of_default``, ``decision``; with a points scale ``score``; with reasons
        ``reason_1`` ... ``reason_<max>`` (codes, null past a row's last reason).

        The decision and the reasons are dictionary-encoded text (Arrow's categorical: a small
        integer per row into a fixed list), so no per-row string is built; a file writer
        stores them as text (:func:`credit_glm.batch_io.parquet_options`)."""
        fields = [pa.field("row", pa.int64())]
        if self.id_column is not None:
            fields.append(pa.field(self.id_column, pa.string()))
        fields += [
            pa.field("probability_of_default", pa.float64()),
            pa.field("decision", _DECISION_TYPE),
        ]
        if self.scorer.scorecard is not None:
            fields.append(pa.field("score", pa.float64()))
        if self.scorer.reasons is not None:
            fields += [
                pa.field(f"reason_{k + 1}", _REASON_TYPE)
                for k in range(min(self.scorer.reasons.max_reasons, len(self.scorer.spec.features)))
            ]
        return pa.schema(fields)

    def score(self, columns: Mapping[str, pa.Array], first_row: int) -> ScoredChunk:
        """Validate and score one chunk (``columns``: name -> Arrow array, equal lengths; the
        file's other columns are not passed); ``first_row`` is the chunk's first row's position
        in the input, from 1."""
        n = len(next(iter(columns.values()))) if columns else 0
        checked = self.validator.validate(columns, first_row)
        rejects = list(checked.rejects)
        kept = np.flatnonzero(checked.ok)
        values = checked.columns
        while True:
            try:
                explained = self.scorer.explain(values, records=False)
                break
            except ValidationFailed as err:  # a transform refuses a value the schema allows
                refused = np.zeros(kept.size, dtype=bool)
                for v in err.violations:
                    rows = np.asarray(v.every_row or v.rows, dtype=np.intp)
                    refused[rows] = True
                    for i in rows.tolist():
                        cell = columns[v.column][int(kept[i])].as_py()
                        rejects.append(
                            Reject(
                                first_row + int(kept[i]),
                                v.column,
                                _TRANSFORM_RULE,
                                v.rule,
                                None if cell is None else str(cell),
                            )
                        )
                keep = ~refused
                kept = kept[keep]
                values = {
                    c: (v.iloc[keep] if hasattr(v, "iloc") else v[keep]) for c, v in values.items()
                }
        rejects.sort(key=lambda r: r.row)
        return ScoredChunk(self._scores(columns, kept, first_row, explained), _rejects(rejects), n)

    def _scores(
        self, columns: Mapping[str, pa.Array], kept: np.ndarray, first_row: int, explained: Any
    ) -> pa.Table:
        p = explained.probability_of_default
        out: dict[str, pa.Array] = {"row": pa.array(kept.astype(np.int64) + first_row)}
        if self.id_column is not None:
            if self.id_column in columns:
                ids = columns[self.id_column].take(pa.array(kept))
                out[self.id_column] = ids.cast(pa.string())
            else:
                out[self.id_column] = pa.nulls(kept.size, pa.string())
        out["probability_of_default"] = pa.array(p, type=pa.float64())
        decided = declines(p, self.cutoff).astype(np.int8)
        out["decision"] = pa.DictionaryArray.from_arrays(decided, _DECISIONS)
        if explained.score is not None:
            out["score"] = pa.array(explained.score, type=pa.float64())
        if explained.reason_order is not None and self.scorer.reasons is not None:
            codes = pa.array([r.code for r in self.scorer.reasons.features])
            order = explained.reason_order
            for k in range(order.shape[1]):
                j = order[:, k].astype(np.int32)
                indices = pa.array(j, mask=j < 0)
                out[f"reason_{k + 1}"] = pa.DictionaryArray.from_arrays(indices, codes)
        return pa.table(out, schema=self.output_schema)


def _rejects(found: list[Reject]) -> pa.Table:
    return pa.table(
        {
            "row": pa.array([r.row for r in found], type=pa.int64()),
            "field": pa.array([r.field for r in found], type=pa.string()),
            "rule": pa.array([r.rule for r in found], type=pa.string()),
            "detail": pa.array([r.detail for r in found], type=pa.string()),
            "value": pa.array([r.value for r in found], type=pa.string()),
        },
        schema=REJECTS_SCHEMA,
    )
