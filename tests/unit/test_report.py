"""The selection account printed after every training run."""

from __future__ import annotations

from typing import Any

from credit_glm.report import format_selection


def _card(selection: dict[str, Any], criterion: str = "aic") -> dict[str, Any]:
    return {
        "selected_features": ["age", "income"],
        "selection": selection,
        "diagnostics": {"fit": {"aic": 101.5, "bic": 110.25}},
        "config": {
            "features": {"features": {"age": {}, "income": {}, "region": {}}},
            "selection": {"criterion": criterion},
        },
    }


def _counts(**skips: int) -> dict[str, int]:
    counts = {
        "total_subsets": 8,
        "fitted": 5,
        "pruned": 3,
        "extra_fits": 0,
        "skipped_nonconverged": 0,
        "skipped_separated": 0,
        "skipped_singular": 0,
        "skipped_constraint": 0,
        **skips,
    }
    counts["skipped"] = sum(v for k, v in skips.items() if k.startswith("skipped_"))
    return counts


def test_no_search_reports_every_feature_and_the_fit() -> None:
    lines = format_selection(_card({"strategy": "none"})).splitlines()
    assert lines == [
        "selection: none (every feature kept, no search)",
        "  chosen: 2 of 3 features, AIC=101.5000  BIC=110.2500",
        "    age, income",
    ]


def test_auc_is_shown_as_auc_not_as_the_engines_negated_value() -> None:
    sel = {
        "strategy": "exhaustive",
        "criterion": "cv_auc",
        "criterion_value": -0.78125,
        "aic": 101.5,
        "bic": 110.25,
        "counts": _counts(),
        "wall_time": 1.0,
    }
    text = format_selection(_card(sel, criterion="cv_auc"))
    assert text.splitlines()[0] == "selection: exhaustive (best subset, exact) by cv_auc"
    assert "cross-validated AUC = 0.7812" in text or "cross-validated AUC = 0.7813" in text
    assert "-0.78" not in text


def test_skipped_subsets_are_broken_down() -> None:
    sel = {
        "strategy": "random",
        "criterion": "bic",
        "criterion_value": 110.25,
        "aic": 101.5,
        "bic": 110.25,
        "counts": _counts(skipped_separated=2, skipped_constraint=1),
        "wall_time": 0.5,
    }
    line = format_selection(_card(sel, criterion="bic")).splitlines()[1]
    assert line == (
        "  subsets: 8 subsets in the space, 5 fitted, 3 pruned, 3 skipped "
        "(2 separated, 1 broke a constraint)"
    )


def test_a_card_recorded_with_the_engines_old_criterion_name_reads_the_same() -> None:
    sel = {
        "strategy": "exhaustive",
        "criterion": "auc",
        "criterion_value": -0.78125,
        "aic": 101.5,
        "bic": 110.25,
        "counts": _counts(),
        "wall_time": 1.0,
    }
    text = format_selection(_card(sel, criterion="cv_auc"))
    assert text.splitlines()[0] == "selection: exhaustive (best subset, exact) by cv_auc"
    assert "cross-validated AUC = 0.781" in text and "-0.78" not in text
