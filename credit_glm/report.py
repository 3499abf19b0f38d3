"""Plain-text summaries of a model card and of an evaluation, for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credit_glm.config import Criterion

__all__ = ["format_evaluation", "format_points_table", "format_selection", "format_training"]

# The criteria as a reader knows them; AUC is reported as selection ranks it (negated, lower
# is better), so it is negated back for display.
_CRITERIA = {
    Criterion.aic: ("AIC", 1.0),
    Criterion.bic: ("BIC", 1.0),
    Criterion.cv_auc: ("cross-validated AUC", -1.0),
    Criterion.cv_logloss: ("cross-validated log loss", 1.0),
    Criterion.pvalue: ("largest likelihood-ratio p-value of a kept feature", 1.0),
}
# Cards written before selection took the config's criterion names recorded the engine's:
# their AUC is negated too, so it is read under its present name.
_RECORDED_BEFORE = {"auc": Criterion.cv_auc.value, "log_loss": Criterion.cv_logloss.value}
_HOW = {
    "exhaustive": "best subset, exact",
    "random": "random subsets",
    "forward": "forward stepwise",
    "backward": "backward elimination",
    "stepwise": "bidirectional stepwise",
}
_SKIPS = (
    ("skipped_nonconverged", "not converged"),
    ("skipped_separated", "separated"),
    ("skipped_singular", "singular"),
    ("skipped_constraint", "broke a constraint"),
)


def _f(x: Any, spec: str = ".4f") -> str:
    return "-" if x is None else format(x, spec)


def _metric_lines(name: str, mt: Mapping[str, Any] | None) -> list[str]:
    if not mt:
        return [f"  {name:<6} (no sample)"]
    return [
        f"  {name:<6} n={mt['n']:<6} events={mt['events']:<5} AUC={_f(mt['auc'])} "
        f"Gini={_f(mt['gini'])} KS={_f(mt['ks'])} Brier={_f(mt['brier'])} "
        f"LogLoss={_f(mt['log_loss'])} HL p={_f(mt['hosmer_lemeshow_pvalue'])}"
    ]


def format_training(card: Mapping[str, Any]) -> str:
    fit = card["diagnostics"]["fit"]
    lines = [
        f"model {card['model_version']}  link={card['link']}  "
        f"features={len(card['selected_features'])}  terms={len(card['coefficients'])}",
        f"  log-likelihood={fit['log_likelihood']:.4f}  deviance={fit['deviance']:.4f}  "
        f"AIC={fit['aic']:.4f}  BIC={fit['bic']:.4f}  "
        f"McFadden R2={fit['mcfadden_pseudo_r2']:.4f}  "
        f"condition number={_f(card['diagnostics']['collinearity']['condition_number'], '.1f')}",
        "",
        f"  {'term':<58} {'estimate':>10} {'std.err':>9} {'z':>8} {'p':>8} {'odds r.':>8}",
    ]
    for term, c in card["coefficients"].items():
        lines.append(
            f"  {term[:58]:<58} {c['estimate']:>10.4f} {_f(c['std_error']):>9} "
            f"{_f(c['z'], '.3f'):>8} {_f(c['p_value']):>8} {_f(c['odds_ratio'], '.3f'):>8}"
        )
    lines.append("")
    lines += _metric_lines("train", card["metrics"]["train"])
    lines += _metric_lines("test", card["metrics"]["test"])
    stab = card["metrics"].get("stability")
    if stab:
        lines.append(f"  PSI train vs test = {stab['psi_train_test']:.4f}")
    for finding in fit["findings"]:
        lines.append(f"  warning: {finding}")
    gates = card["gates"]
    lines.append("  gates: " + ("passed" if gates["passed"] else "FAILED"))
    lines += [f"    - {r}" for r in gates["failures"]]
    return "\n".join(lines)


def format_points_table(card: Mapping[str, Any]) -> str:
    """The card's points table: the scale, the base points, each attribute's points (each
    continuous feature's points per unit and training range) and the reasons' rule."""
    section = card["scorecard"]
    scale = section["scale"]
    lines = [
        f"points: {scale['base_score']:g} at odds {scale['base_odds']:g}:1, {scale['pdo']:g} "
        f"points to double the odds (factor={scale['factor']:.4f}, "
        f"offset={scale['offset']:.4f}, rounding={scale['rounding']})",
        f"  {'(base points)':<58} {section['base_points']:>10.2f}",
    ]
    for row in section["points_table"]:
        span = f"training range [{row['min_points']:.2f}, {row['max_points']:.2f}]"
        if row["kind"] == "continuous":
            lines.append(
                f"  {row['feature'][:58]:<58} {row['points_per_unit']:>10.4f} per unit of "
                f"{row['term']}, {span}"
            )
            continue
        lines.append(f"  {row['feature'][:58]}  ({row['transform']}, {span})")
        lines += [f"    {a['label'][:56]:<56} {a['points']:>10.2f}" for a in row["attributes"]]
    reasons = section.get("reasons")
    if reasons:
        lines.append(f"  reasons: up to {reasons['max']}, against the {reasons['method']} points")
    return "\n".join(lines)


def format_selection(card: Mapping[str, Any]) -> str:
    """One block on how the features were chosen: strategy, criterion, search counts, result.

    For ``strategy=none`` (every declared feature kept) the criterion values are the AIC and
    BIC of the fitted model.
    """
    sel = card["selection"]
    chosen = list(card["selected_features"])
    declared = len(((card.get("config") or {}).get("features") or {}).get("features") or chosen)
    fit = card["diagnostics"]["fit"]
    strategy = sel["strategy"]
    if strategy == "none":
        return "\n".join(
            [
                "selection: none (every feature kept, no search)",
                f"  chosen: {len(chosen)} of {declared} features, AIC={fit['aic']:.4f}  "
                f"BIC={fit['bic']:.4f}",
                f"    {', '.join(chosen)}",
            ]
        )
    criterion = _RECORDED_BEFORE.get(sel["criterion"], sel["criterion"])
    name, sign = _CRITERIA.get(criterion, (criterion, 1.0))
    value = sel.get("criterion_value")
    shown = "-" if value is None else f"{sign * value:.4f}"
    counts = sel["counts"]
    skipped = [f"{counts[k]} {why}" for k, why in _SKIPS if counts.get(k)]
    space = (
        "subsets in the space"
        if strategy in ("exhaustive", "random")
        else "distinct subsets visited"
    )
    lines = [
        f"selection: {strategy} ({_HOW.get(strategy, strategy)}) by {criterion}",
        f"  subsets: {counts['total_subsets']:,} {space}, {counts['fitted']:,} fitted, "
        f"{counts['pruned']:,} pruned, {counts['skipped']:,} skipped"
        + (f" ({', '.join(skipped)})" if skipped else "")
        + (f", {counts['extra_fits']:,} extra fits" if counts.get("extra_fits") else ""),
        f"  chosen: {len(chosen)} of {declared} features, {name} = {shown}  "
        f"(AIC={_f(sel.get('aic'))}  BIC={_f(sel.get('bic'))})",
        f"    {', '.join(chosen)}",
        f"  search took {sel['wall_time']:.2f} s",
    ]
    sample = sel.get("sample")
    if sample:
        lines.append(
            f"  candidates fitted on a stratified sample of {sample['rows']:,} of "
            f"{sample['of_training_rows']:,} training rows (seed {sample['seed']}); the final "
            "fit used every training row"
        )
    return "\n".join(lines)


def format_evaluation(result: Mapping[str, Any]) -> str:
    lines = [
        f"evaluation of model {result['model_version']} on {result['data']['source']} "
        f"({result['data']['rows']} rows)"
    ]
    lines += _metric_lines("data", result["metrics"])
    lines.append(f"  PSI vs training scores = {result['psi_vs_training']:.4f}")
    scores = result.get("scores")
    if scores:
        q = scores["quantiles"]
        lines.append(
            f"  score: mean={scores['mean']:.1f}  min={q['min']:.1f}  p10={q['p10']:.1f}  "
            f"median={q['p50']:.1f}  p90={q['p90']:.1f}  max={q['max']:.1f}"
        )
        top = list(scores["first_reason_counts"].items())[:5]
        if top:
            lines.append("  first reasons: " + ", ".join(f"{c} ({k})" for c, k in top))
    gates = result["gates"]
    lines.append("  gates: " + ("passed" if gates["passed"] else "FAILED"))
    lines += [f"    - {r}" for r in gates["failures"]]
    return "\n".join(lines)
