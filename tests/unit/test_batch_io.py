"""How scores are written: dictionary-encoded text columns come back from a Parquet or a CSV
file as the plain text they stand for."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit_glm.batch_io import parquet_options


def _scores() -> pa.Table:
    decisions = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 1], type=pa.int8()), pa.array(["accept", "decline"])
    )
    reasons = pa.DictionaryArray.from_arrays(
        pa.array([2, None, 0], type=pa.int32()), pa.array(["R01", "R02", "R03"])
    )
    return pa.table(
        {
            "row": pa.array([1, 2, 3], type=pa.int64()),
            "probability_of_default": [0.1, 0.7, 0.9],
            "decision": decisions,
            "reason_1": reasons,
        }
    )


def test_parquet_scores_read_back_as_text(tmp_path: Path) -> None:
    table = _scores()
    options = parquet_options(table.schema)
    assert options["use_dictionary"] == ["decision", "reason_1"]
    path = tmp_path / "scores.parquet"
    with pq.ParquetWriter(path, table.schema, **options) as writer:
        writer.write_table(table)
        writer.write_table(table)
    back = pq.read_table(path)
    assert back.schema.field("decision").type == pa.string()
    assert back.schema.field("reason_1").type == pa.string()
    assert back.column("decision").to_pylist() == ["accept", "decline", "decline"] * 2
    assert back.column("reason_1").to_pylist() == ["R03", None, "R01"] * 2
    assert back.column("probability_of_default").to_pylist() == [0.1, 0.7, 0.9] * 2


def test_csv_scores_hold_the_text(tmp_path: Path) -> None:
    table = _scores()
    path = tmp_path / "scores.csv"
    with pacsv.CSVWriter(path, table.schema) as writer:
        writer.write_table(table)
    lines = path.read_text().splitlines()
    assert lines[1:] == ['1,0.1,"accept","R03"', '2,0.7,"decline",', '3,0.9,"decline","R01"']
