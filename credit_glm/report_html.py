"""The validation report as one self-contained HTML page, drawn from the report's figures.

Every plot is rendered by matplotlib (the Agg backend, no display) to PNG and embedded as a
``data:`` URI; the page has inline CSS, no script and no reference to anything outside it, so
it opens the same offline, in a mail attachment or in an archive years later. Every number
on the page is read from the figures dict that is written next to it as JSON.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["render_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:72em;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}th{background:#f2f2f2}
td.l,th.l{text-align:left}.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}
.note{color:#555;font-size:.9em}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
code{background:#f5f5f5;padding:0 .2em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) < 10 ** (-digits) or abs(value) >= 1e6):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}"
    return _e(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first ``left`` columns are text (left-aligned), the rest numbers."""
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if isinstance(cell, _Raw):
                cells.append(f"<td>{cell.text}</td>")
            elif i < left:
                cells.append(f'<td class="l">{_e(cell)}</td>')
            else:
                cells.append(f"<td>{_num(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw:
    """Markup placed in a table cell as it is (a verdict already escaped)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _verdict(ok: bool | None, yes: str = "pass", no: str = "fail") -> _Raw:
    if ok is None:
        return _Raw("–")
    return _Raw(f'<span class="{"pass" if ok else "fail"}">{yes if ok else no}</span>')


def _png(draw: Callable[[Any], None], width: float = 7.0, height: float = 4.2) -> str:
    """An ``<img>`` of what ``draw`` puts on a matplotlib axes, as an embedded PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96)
    axes = figure.add_subplot(1, 1, 1)
    draw(axes)
    figure.tight_layout()
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _labelled(samples: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [s for s in samples if s.get("labelled")]


def _roc_plot(samples: Sequence[Mapping[str, Any]]) -> str:
    def draw(ax: Any) -> None:
        for s in _labelled(samples):
            roc = s["discrimination"]["roc"]
            auc = s["discrimination"]["auc"]["auc"]
            ax.plot(roc["fpr"], roc["tpr"], label=f"{s['name']} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1)
        ax.set(xlabel="false positive rate (goods flagged)", ylabel="true positive rate (bads)")
        ax.set_title("ROC curves")
        ax.legend(loc="lower right")

    return _png(draw)


def _ks_plot(sample: Mapping[str, Any]) -> str:
    roc = sample["discrimination"]["roc"]
    ks = sample["discrimination"]["ks"]
    thresholds = roc["thresholds"][1:]
    bads = [1.0 - t for t in roc["tpr"][1:]]
    goods = [1.0 - f for f in roc["fpr"][1:]]

    def draw(ax: Any) -> None:
        ax.step(thresholds, bads, where="post", label="bads with a lower PD")
        ax.step(thresholds, goods, where="post", label="goods with a lower PD")
        ax.axvline(ks["threshold"], color="#c62828", linestyle=":", linewidth=1)
        ax.set(xlabel="predicted PD", ylabel="cumulative share")
        ax.set_title(f"KS on {sample['name']}: {ks['statistic']:.3f} at PD {ks['threshold']:.3f}")
        ax.legend(loc="lower right")

    return _png(draw)


def _distribution_plot(sample: Mapping[str, Any]) -> str:
    hist = sample["score_distribution"]
    edges = hist["edges"]
    mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    width = edges[1] - edges[0]

    def draw(ax: Any) -> None:
        if "events" in hist:
            ax.bar(mids, hist["nonevents"], width=width, alpha=0.6, label="goods")
            ax.bar(mids, hist["events"], width=width, alpha=0.6, label="bads")
            ax.legend()
        else:
            ax.bar(mids, hist["all"], width=width, alpha=0.7)
        ax.set(xlabel="predicted PD", ylabel="applicants")
        ax.set_title(f"Score distribution: {sample['name']}")

    return _png(draw, 5.0, 3.4)


def _calibration_plot(samples: Sequence[Mapping[str, Any]]) -> str:
    def draw(ax: Any) -> None:
        top = 0.0
        for s in _labelled(samples):
            groups = s["calibration"]["groups"]
            x = [g["mean_predicted"] for g in groups]
            y = [g["observed_rate"] for g in groups]
            top = max(top, *x, *y)
            ax.plot(x, y, marker="o", label=s["name"])
        ax.plot([0, top], [0, top], color="#999", linestyle="--", linewidth=1)
        ax.set(xlabel="mean predicted PD (deciles of risk)", ylabel="observed default rate")
        ax.set_title("Calibration")
        ax.legend(loc="upper left")

    return _png(draw)


def _forest_plot(
    coefficients: Sequence[Mapping[str, Any]], bootstrap: Mapping[str, Any] | None
) -> str:
    rows = [c for c in coefficients if c["term"] != "Intercept"]
    boot = {t["term"]: t for t in (bootstrap or {}).get("terms", [])}
    height = max(3.0, 0.22 * len(rows) + 1.0)

    def draw(ax: Any) -> None:
        ys = list(range(len(rows)))[::-1]
        for y, c in zip(ys, rows, strict=True):
            if c.get("ci_lower") is not None:
                ax.plot([c["ci_lower"], c["ci_upper"]], [y, y], color="#1f77b4", linewidth=2)
            b = boot.get(c["term"])
            if b is not None and b["lower"] is not None and not math.isnan(b["lower"]):
                ax.plot([b["lower"], b["upper"]], [y - 0.25, y - 0.25], color="#ff7f0e")
            ax.plot([c["estimate"]], [y], "ko", markersize=3)
        ax.axvline(0.0, color="#999", linewidth=1)
        ax.set_yticks(ys, [c["term"][:48] for c in rows], fontsize=6)
        ax.set_xlabel("coefficient: Wald 95% interval (blue), bootstrap interval (orange)")
        ax.set_title("Coefficients")

    return _png(draw, 8.0, height)


def _grade_plot(sample: Mapping[str, Any]) -> str:
    grades = [g for g in sample["calibration"]["grades"] if g["n"]]

    def draw(ax: Any) -> None:
        x = list(range(len(grades)))
        ax.bar(x, [g["mean_pd"] for g in grades], alpha=0.5, label="mean predicted PD")
        observed = [g["observed_rate"] for g in grades]
        low = [o - g["jeffreys_lower"] for o, g in zip(observed, grades, strict=True)]
        high = [g["jeffreys_upper"] - o for o, g in zip(observed, grades, strict=True)]
        ax.errorbar(x, observed, yerr=[low, high], fmt="o", color="#c62828",
                    label="observed rate, Jeffreys interval")  # fmt: skip
        ax.set_xticks(x, [str(g["grade"]) for g in grades])
        ax.set(xlabel="grade", ylabel="default rate")
        ax.set_title(f"Grades: {sample['name']}")
        ax.legend(loc="upper left")

    return _png(draw, 6.0, 3.6)


def _psi_plot(name: str, psi: Mapping[str, Any], reference: str) -> str:
    bins = psi["bins"]

    def draw(ax: Any) -> None:
        x = list(range(len(bins)))
        ax.bar(
            [i - 0.2 for i in x], [b["expected_share"] for b in bins], width=0.4, label=reference
        )
        ax.bar([i + 0.2 for i in x], [b["actual_share"] for b in bins], width=0.4, label=name)
        ax.set_xticks(x, [str(i + 1) for i in x])
        ax.set(xlabel="score bin (training deciles)", ylabel="share")
        ax.set_title(f"Score PSI {reference} vs {name}: {psi['value']:.4f}")
        ax.legend()

    return _png(draw, 5.5, 3.4)


def _section(title: str, *parts: str) -> str:
    return f"<h2>{_e(title)}</h2>" + "".join(parts)


def _purpose(f: Mapping[str, Any]) -> str:
    m, d = f["model"], f["data"]
    rows = [
        ("model version", m["model_version"]),
        ("model sha256", m["model_sha256"]),
        ("trained", m["created_at"]),
        ("link", m["link"]),
        ("features", ", ".join(m["selected_features"])),
        ("dataset", d["name"]),
        ("training data", f"{d['source']} (sha256 {d['sha256']}, {d['rows']:,} rows)"),
        ("outcome", f"{d['target']} = {d['event']} (the event, a default)"),
        ("split", d["split"]),
        ("monitoring file", d.get("monitoring") or "none (data.monitoring_path)"),
        ("report", f"{f['generated_by']}, bootstrap {f['config']['bootstrap']} resamples, "
                   f"seed {f['config']['seed']}, intervals at {f['config']['level']:.0%}"),
    ]  # fmt: skip
    return _table(["", ""], rows, left=2)


def _schema(columns: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            c["column"],
            c["type"],
            "yes" if c["nullable"] else "no",
            "" if c.get("min") is None else _num(c["min"], 2),
            "" if c.get("max") is None else _num(c["max"], 2),
            "; ".join(c.get("categories") or []),
            c.get("description") or "",
        )
        for c in columns
    ]
    return _table(["column", "type", "nullable", "min", "max", "levels", "description"], rows, 7)


def _selection(sel: Mapping[str, Any], text: str) -> str:
    return f"<pre>{_e(text)}</pre>" + (
        "" if sel.get("strategy") == "none" else "<p class='note'>the search's full audit trail "
        "is under <code>selection</code> in report.json</p>"
    )  # fmt: skip


def _coefficients(f: Mapping[str, Any]) -> str:
    boot = {
        t["term"]: t
        for t in ((f.get("bootstrap") or {}).get("coefficients") or {}).get("terms", [])
    }
    rows = []
    for c in f["coefficients"]:
        b = boot.get(c["term"], {})
        rows.append(
            (c["term"], c["estimate"], c["std_error"], c["z"], c["p_value"], c["ci_lower"],
             c["ci_upper"], b.get("lower"), b.get("upper"), b.get("same_sign_share"))
        )  # fmt: skip
    header = ["term", "estimate", "std. error", "z", "p-value", "Wald low", "Wald high",
              "bootstrap low", "bootstrap high", "same sign"]  # fmt: skip
    return _table(header, rows)


def _collinearity(col: Mapping[str, Any]) -> str:
    rows = [(name, v["df"], v["gvif"], v["vif"]) for name, v in col["features"].items()]
    return _table(["feature", "df", "GVIF", "GVIF^(1/df)"], rows) + (
        f"<p>scaled condition number: {_num(col['condition_number'], 2)}</p>"
    )


def _discrimination(samples: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for s in _labelled(samples):
        a, k = s["discrimination"]["auc"], s["discrimination"]["ks"]
        rows.append(
            (s["name"], s["n"], s["events"], a["auc"], a["lower"], a["upper"], a["gini"],
             a["gini_lower"], a["gini_upper"], k["statistic"], k["threshold"])
        )  # fmt: skip
    header = ["sample", "rows", "defaults", "AUC", "AUC low", "AUC high", "Gini", "Gini low",
              "Gini high", "KS", "KS at PD"]  # fmt: skip
    return _table(header, rows)


def _calibration(samples: Sequence[Mapping[str, Any]], gates: Mapping[str, Any]) -> str:
    rows = []
    for s in _labelled(samples):
        c = s["calibration"]
        hl, br = c["hosmer_lemeshow"], c["brier"]
        bound = gates.get("min_hosmer_lemeshow_pvalue")
        rows.append(
            (s["name"], s["event_rate"], s["mean_pd"], hl["statistic"], hl["dof"], hl["pvalue"],
             _verdict(None if bound is None else hl["pvalue"] >= bound), br["brier"],
             br["reliability"], br["resolution"], br["uncertainty"])
        )  # fmt: skip
    header = ["sample", "default rate", "mean PD", "HL statistic", "HL dof", "HL p-value",
              "HL gate", "Brier", "reliability", "resolution", "uncertainty"]  # fmt: skip
    return _table(header, rows)


def _grades(sample: Mapping[str, Any], bound: float | None) -> str:
    from credit_glm.evaluation import bonferroni

    rows = []
    tested = sum(g["jeffreys_pvalue"] is not None for g in sample["calibration"]["grades"])
    for g in sample["calibration"]["grades"]:
        low = 0.0 if g["lower"] is None else g["lower"]
        high = 1.0 if g["upper"] is None else g["upper"]
        p = g["jeffreys_pvalue"]
        rows.append(
            (str(g["grade"]), f"[{low:g}, {high:g})", g["n"], g["defaults"], g["observed_rate"],
             g["mean_pd"], g["expected_defaults"], g["binomial_pvalue"],
             g["binomial_two_sided_pvalue"], p, g["jeffreys_lower"], g["jeffreys_upper"],
             None if p is None else bonferroni(p, tested),
             _verdict(None if bound is None or p is None else bonferroni(p, tested) >= bound))
        )  # fmt: skip
    header = ["grade", "PD range", "rows", "defaults", "observed", "mean PD", "expected",
              "binomial p (under)", "binomial p (two-sided)", "Jeffreys p", "Jeffreys low",
              "Jeffreys high", "Jeffreys p x grades", "gate"]  # fmt: skip
    return f"<h3>{_e(sample['name'])}</h3>" + _table(header, rows, left=2)


def _stability(st: Mapping[str, Any]) -> str:
    ref = st["reference"]
    parts = []
    rows = [(name, psi["value"], _psi_reading(psi["value"])) for name, psi in st["psi"].items()]
    parts.append(_table([f"score PSI against {ref}", "PSI", "reading"], rows))
    for name, psi in st["psi"].items():
        parts.append(_psi_plot(name, psi, ref))
    names = list(st["psi"])
    rows = []
    for column, by_sample in st["csi"].items():
        values = [(by_sample.get(n) or {}).get("value") for n in names]
        worst = max((v for v in values if v is not None), default=None)
        rows.append((column, *values, _Raw(_e(_psi_reading(worst)) if worst is not None else "–")))
    parts.append(_table(["input column (CSI)", *names, "reading"], rows))
    return "".join(parts)


def _psi_reading(value: float) -> str:
    if value < 0.1:
        return "stable"
    if value <= 0.25:
        return "some shift: investigate"
    return "significant shift"


def _bootstrap(boot: Mapping[str, Any] | None) -> str:
    if not boot:
        return "<p>no bootstrap (validation.bootstrap=0)</p>"
    c = boot["coefficients"]
    parts = [
        f"<p>{c['resamples']} resamples of the training rows (seed {c['seed']}), "
        f"{c['fitted']} refits usable, {c['unusable']} not (separation, no convergence or a "
        "level absent from the draw). Intervals are percentile intervals; the encoding "
        "(bins, WoE values, levels) stays the one fitted on all training rows.</p>"
    ]
    unstable = [
        t for t in c["terms"] if t["same_sign_share"] is not None and t["same_sign_share"] < 0.9
    ]
    parts.append(
        _table(
            ["term with sign kept in < 90% of resamples", "estimate", "same sign"],
            [(t["term"], t["estimate"], t["same_sign_share"]) for t in unstable],
        )
        if unstable
        else "<p>every coefficient keeps its sign in at least 90% of the resamples</p>"
    )
    sel = boot.get("selection")
    if sel:
        parts.append(
            f"<p>selection rerun on {sel['completed']} of {sel['resamples']} resamples "
            f"({sel['failed']} found no feasible subset)</p>"
        )
        rows = sorted(sel["share"].items(), key=lambda kv: -(kv[1] or 0.0))
        parts.append(_table(["feature", "selected in share of resamples"], rows))
    return "".join(parts)


def _scorecard(card: Mapping[str, Any] | None) -> str:
    if not card:
        return "<p>the model has no scorecard</p>"
    scale = card["scale"]
    parts = [
        f"<p>{_e(scale['formula'])}; base {_num(scale['base_score'], 0)} points at odds "
        f"{_num(scale['base_odds'], 0)}:1, {_num(scale['pdo'], 0)} points to double the odds; "
        f"base points {_num(card['base_points'], 2)}; rounding {_e(scale['rounding'])}</p>"
    ]
    rows: list[tuple[Any, ...]] = []
    for f in card["points_table"]:
        if f["kind"] == "attributes":
            rows += [(f["feature"], a["label"], a["points"]) for a in f["attributes"]]
        else:
            rows.append((f["feature"], f"{_num(f['points_per_unit'])} points per unit", None))
    parts.append(_table(["feature", "attribute", "points"], rows, left=2))
    reasons = card.get("reasons") or {}
    rows = [
        (
            r["code"],
            r["feature"],
            r.get("text") or r.get("description") or "",
            r["reference_points"],
        )
        for r in reasons.get("features", [])
    ]
    parts.append(f"<p>{_e(reasons.get('rule', ''))}</p>")
    parts.append(_table(["reason code", "feature", "text", "reference points"], rows, left=3))
    return "".join(parts)


def _gates(g: Mapping[str, Any]) -> str:
    head = f"<p>{_verdict(g['passed'], 'passed', 'failed').text} (at training)</p>"
    return head + (
        "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in g["failures"]) + "</ul>"
        if g["failures"]
        else ""
    )


def render_report(figures: Mapping[str, Any], selection_text: str) -> str:
    """The report page of ``figures`` (the dict written as report.json)."""
    samples = figures["samples"]
    labelled = _labelled(samples)
    gates_cfg = figures["config"]["gates"]
    body = [
        f"<h1>Validation report: model {_e(figures['model']['model_version'])}</h1>",
        _section("Purpose and data", _purpose(figures)),
        _section("Gates", _gates(figures["gates"])),
        _section("Schema", _schema(figures["schema"])),
        _section("Selection", _selection(figures["selection"], selection_text)),
        _section(
            "Coefficients",
            _coefficients(figures),
            _forest_plot(
                figures["coefficients"], (figures.get("bootstrap") or {}).get("coefficients")
            ),
        ),
        _section("Collinearity", _collinearity(figures["collinearity"])),
        _section(
            "Discrimination",
            _discrimination(samples),
            _roc_plot(samples),
            *(_ks_plot(s) for s in labelled),
        ),
        _section("Score distributions", *(_distribution_plot(s) for s in samples)),
        _section("Calibration", _calibration(samples, gates_cfg), _calibration_plot(samples)),
        _section(
            "Rating grades",
            "<p>binomial p (under): P[X ≥ D] under Binomial(N, mean PD); Jeffreys p: the CDF of "
            "Beta(D + ½, N − D + ½) at the mean PD; small values say the PD is underestimated. "
            "The gate (evaluation.min_jeffreys_pvalue) compares the Jeffreys p-value times the "
            "number of grades tested (Bonferroni) with its level.</p>",
            *(_grades(s, gates_cfg.get("min_jeffreys_pvalue")) + _grade_plot(s) for s in labelled),
        ),
        _section("Stability", _stability(figures["stability"])),
        _section("Bootstrap stability", _bootstrap(figures.get("bootstrap"))),
        _section("Scorecard and reason codes", _scorecard(figures.get("scorecard"))),
    ]
    title = f"credit-glm validation report {figures['model']['model_version']}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
