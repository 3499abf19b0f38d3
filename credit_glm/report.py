"""Plain-text summaries of a model card and of an evaluation, for the terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["format_evaluation", "format_training"]


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


def format_evaluation(result: Mapping[str, Any]) -> str:
    lines = [f"evaluation of model {result['model_version']} on {result['data']['source']} "
             f"({result['data']['rows']} rows)"]
    lines += _metric_lines("data", result["metrics"])
    lines.append(f"  PSI vs training scores = {result['psi_vs_training']:.4f}")
    gates = result["gates"]
    lines.append("  gates: " + ("passed" if gates["passed"] else "FAILED"))
    lines += [f"    - {r}" for r in gates["failures"]]
    return "\n".join(lines)
