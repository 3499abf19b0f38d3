"""Cost of request validation: the rule-table validator against a baseline revision (not a test).

The baseline is the validator (``credit_glm/service/validation.py`` and the ``schema.py`` it
compiles) of another git revision, ``--baseline`` (default ``main``), loaded in this process from
``git show``, so both run in the same interpreter, on the same model, interleaved round after
round. When ``jsonschema_rs`` is installed, its validation of one record against the service's
OpenAPI ``Features`` schema is shown for reference (accept/reject only: no error report).

Cases, each the best of ``--repeat`` timings per round, the median over rounds reported:

- ``one valid record``: ``validate_one`` of the card's self-check row (the fast path);
- ``one valid record, full path``: ``validate`` of the same row (every value read and checked);
- ``one record, every field wrong``: out of range or an undeclared category in every field;
- ``1,000 valid rows``: ``to_columns`` of distinct valid rows (the column-wise fast path);
- ``1,000 rows, one null``: the same with a null in the last row (the per-record path);
- ``1,000 rows, every field wrong``: ``to_columns(max_errors=100)``.

Usage::

    python tests/benchmarks/bench_validation.py [--baseline main] [--rounds 9]
        [--model models/glm_model.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import _train  # noqa: E402  (the same trained card for every service benchmark)

ROOT = Path(__file__).resolve().parents[2]


def _module_at(revision: str, path: str, name: str, workdir: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:{path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    file = workdir / f"{name}.py"
    file.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _validators(card: dict[str, Any], revision: str, workdir: Path) -> dict[str, Any]:
    from credit_glm.config import ServingConfig
    from credit_glm.schema import data_config_from_dict
    from credit_glm.scoring import ScoringModel
    from credit_glm.service.model import served_model_from_card

    served = served_model_from_card(card, ServingConfig())
    columns = ScoringModel.from_card(card).spec.columns
    data = dataclasses.replace(data_config_from_dict(card["schema"]), strict=True)
    old_schema = _module_at(revision, "credit_glm/schema.py", "baseline_schema", workdir)
    old_validation = _module_at(
        revision, "credit_glm/service/validation.py", "baseline_validation", workdir
    )
    schema = old_schema.build_schema(data, "inference", required=columns)
    return {
        f"baseline ({revision})": old_validation.RecordValidator.from_schema(schema, columns),
        "rule table": served.validator,
        "_served": served,
    }


def _wrong(value: Any) -> Any:
    # out of range for a number, undeclared for a category
    return 10**9 if isinstance(value, int) else "not a declared category"


def cases(row: dict[str, Any]) -> dict[str, Callable[[Any], Callable[[], object]]]:
    """name -> (validator -> the call to time)."""
    rows = [{**row, "duration_in_month": 1 + i % 72} for i in range(1000)]
    with_null = [*rows[:-1], {**rows[-1], "duration_in_month": None}]
    wrong_row = {k: _wrong(v) for k, v in row.items()}
    wrong = [{k: _wrong(v) for k, v in r.items()} for r in rows]
    return {
        "one valid record": lambda v: lambda: v.validate_one(row),
        "one valid record, full path": lambda v: lambda: v.validate(row),
        "one record, every field wrong": lambda v: lambda: v.validate_one(wrong_row),
        "1,000 valid rows": lambda v: lambda: v.to_columns(rows),
        "1,000 rows, one null": lambda v: lambda: v.to_columns(with_null),
        "1,000 rows, every field wrong": lambda v: lambda: v.to_columns(wrong, max_errors=100),
    }


def _answer(result: Any) -> Any:
    """A validator's answer as plain data (the two modules' error classes differ)."""

    def errors(found: list[Any]) -> list[tuple[Any, ...]]:
        return [(e.field, e.rule, e.message, e.value, e.row, e.allowed, e.count) for e in found]

    if len(result) == 2:  # validate / validate_one: (record, errors)
        return result[0], errors(result[1])
    columns, rows, found, complete = result
    return columns, rows, errors(found), complete


def _per_call(fn: Callable[[], object], repeat: int) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision of the baseline")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", type=Path, help="a model card (default: train one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validation-") as tmp:
        work = Path(tmp)
        card_path = args.model.resolve() if args.model else _train(work)
        card = json.loads(card_path.read_text(encoding="utf-8"))
        validators = _validators(card, args.baseline, work)
    served = validators.pop("_served")
    row = dict(card["self_check"]["features"])
    for name, validator in validators.items():  # both must give the same answers
        for case, make in cases(row).items():
            result = _answer(make(validator)())
            reference = _answer(make(validators["rule table"])())
            if result != reference:
                raise RuntimeError(f"{name} and the rule table differ on {case!r}")

    timed: dict[str, dict[str, list[float]]] = {
        case: {name: [] for name in validators} for case in cases(row)
    }
    reference_timings: list[float] = []
    is_valid = _jsonschema_rs(served)
    for _ in range(args.rounds):
        for case, make in cases(row).items():
            for name, validator in validators.items():
                timed[case][name].append(_per_call(make(validator), args.repeat))
        if is_valid is not None:
            reference_timings.append(_per_call(lambda: is_valid(row), args.repeat))

    names = list(validators)
    print(
        f"validation time per call (perf_counter), median over {args.rounds} rounds of the best of "
        f"{args.repeat} (same process, interleaved)"
    )
    print(f"{'case':32s} " + " ".join(f"{n:>16s}" for n in names) + f" {'ratio':>7s}")
    for case, by_name in timed.items():
        medians = [statistics.median(by_name[n]) * 1e6 for n in names]
        print(
            f"{case:32s} "
            + " ".join(f"{m:14.2f}us" for m in medians)
            + f" {medians[-1] / medians[0]:7.2f}"
        )
    if reference_timings:
        print(
            f"{'jsonschema_rs is_valid, 1 row':32s} "
            f"{statistics.median(reference_timings) * 1e6:14.2f}us (accept/reject only)"
        )
    return 0


def _jsonschema_rs(served: Any) -> Callable[[Any], bool] | None:
    try:
        import jsonschema_rs
    except ImportError:
        return None
    from credit_glm.service.openapi import features_schema

    validator = jsonschema_rs.validator_for(features_schema(served))
    return validator.is_valid  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())
