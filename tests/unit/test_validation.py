"""The report's per-sample and stability figures against statistics computed in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from credit_glm.config import (
    ColumnConfig,
    ColumnType,
    DataConfig,
    EvaluationConfig,
    TargetConfig,
)
from credit_glm.validation import Sample, sample_figures, stability_figures


def _sample(name: str, seed: int, n: int = 500, shift: float = 0.0) -> Sample:
    rng = np.random.default_rng(seed)
    p = np.clip(rng.beta(2, 5, n) + shift, 0.001, 0.999)
    y = (rng.random(n) < p).astype(float)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 70, n) + int(shift * 100),
            "housing": pd.Categorical(rng.choice(["own", "rent", "free"], n)),
        }
    )
    return Sample(name, p, y, frame)


def test_sample_figures_match_independent_statistics() -> None:
    s = _sample("test", 1)
    f = sample_figures(s, EvaluationConfig(), level=0.9)
    p, y = s.p, s.y
    assert y is not None
    # AUC = Mann-Whitney U / (n1 n0)
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    auc = f["discrimination"]["auc"]
    assert auc["auc"] == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    assert auc["gini"] == pytest.approx(2 * auc["auc"] - 1)
    assert auc["level"] == 0.9
    # KS: scipy's two-sample statistic
    ks = stats.ks_2samp(p[y == 1], p[y == 0]).statistic
    assert f["discrimination"]["ks"]["statistic"] == pytest.approx(ks, abs=1e-12)
    # Hosmer-Lemeshow on deciles written out
    order = np.argsort(p, kind="stable")
    chi2 = 0.0
    for g in np.array_split(order, 10):
        o, e, n = y[g].sum(), p[g].sum(), g.size
        chi2 += (o - e) ** 2 / (e * (1 - e / n))
    hl = f["calibration"]["hosmer_lemeshow"]
    assert hl["statistic"] == pytest.approx(chi2, rel=1e-12)
    assert hl["pvalue"] == pytest.approx(stats.chi2.sf(chi2, 8), rel=1e-9)
    # the grade table uses the configured cut-offs; the counts add up to the sample
    grades = f["calibration"]["grades"]
    assert len(grades) == len(EvaluationConfig().grades) + 1
    assert sum(g["n"] for g in grades) == p.size
    # score histogram: counts of each outcome in twentieths of [0, 1], counted directly
    hist = f["score_distribution"]
    for k in range(20):
        inside = (p >= k / 20) & ((p < (k + 1) / 20) if k < 19 else (p <= 1.0))
        assert hist["events"][k] == int((inside & (y == 1)).sum())
        assert hist["nonevents"][k] == int((inside & (y == 0)).sum())


def test_an_unlabelled_sample_has_only_its_distribution() -> None:
    s = _sample("monitoring", 2)
    f = sample_figures(Sample("monitoring", s.p, None, s.frame), EvaluationConfig(), 0.95)
    assert f["labelled"] is False and "discrimination" not in f
    assert sum(f["score_distribution"]["all"]) == s.p.size


def test_stability_is_the_psi_formula_on_reference_bins() -> None:
    data = DataConfig(
        name="t",
        path="x.csv",
        target=TargetConfig(column="bad", event="1"),
        columns={
            "bad": ColumnConfig(type=ColumnType.category),
            "age": ColumnConfig(type=ColumnType.int),
            "housing": ColumnConfig(type=ColumnType.category),
        },
    )
    ref, other = _sample("train", 3), _sample("recent", 4, shift=0.1)
    out = stability_figures(ref, [other], ["age", "housing"], data, bins=10)
    # score PSI: deciles of the reference, sum (a - e) ln(a / e)
    edges = np.unique(np.quantile(ref.p, np.arange(1, 10) / 10, method="higher"))
    e = np.bincount(np.searchsorted(edges, ref.p, side="right"), minlength=10) / ref.p.size
    a = np.bincount(np.searchsorted(edges, other.p, side="right"), minlength=10) / other.p.size
    # an empty bin is given a share of 1e-4, then the shares are renormalised (smoothing)
    e, a = (np.where(v == 0, 1e-4, v) / np.where(v == 0, 1e-4, v).sum() for v in (e, a))
    expected = sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True))
    assert out["psi"]["recent"]["value"] == pytest.approx(expected, rel=1e-6)
    assert out["psi"]["recent"]["value"] > 0.1  # the shifted scores are flagged
    # categorical CSI: shares of each level
    levels = ["free", "own", "rent"]
    e = np.array([(ref.frame["housing"] == v).mean() for v in levels])
    a = np.array([(other.frame["housing"] == v).mean() for v in levels])
    csi = out["csi"]["housing"]["recent"]
    assert [b["label"] for b in csi["bins"]] == levels
    assert csi["value"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)
    assert out["csi"]["age"]["recent"]["kind"] == "numeric"
