"""Typed configuration: the dataclasses every YAML in ``conf/`` is checked against.

Hydra composes the YAML; :func:`credit_glm.cli.to_app_config` turns the result into these
dataclasses at once, so nothing below the entry point ever sees a ``DictConfig``. The same
dataclasses are registered in Hydra's ConfigStore (:func:`register_configs`), which is what makes
an unknown key, a wrong type or an unknown enum value fail at composition, naming the key.

Checks that a type cannot express (a test size inside (0, 1), a clip bound below its upper bound)
live in ``__post_init__``, which runs when the composed config becomes these objects, and raise
:class:`ConfigError` naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from omegaconf import MISSING

from credit_glm.errors import ConfigError
from credit_glm.jsonable import json_safe

__all__ = [
    "AppConfig",
    "ColumnConfig",
    "ColumnType",
    "CovType",
    "Criterion",
    "DataConfig",
    "DataFormat",
    "DecisionConfig",
    "EvaluationConfig",
    "FeatureConfig",
    "FeaturesConfig",
    "FitPolicy",
    "GLMConfig",
    "Link",
    "LogFormat",
    "MissingPolicy",
    "Mode",
    "PathsConfig",
    "RandomConfig",
    "SelectionConfig",
    "ServingConfig",
    "SplitConfig",
    "SplitMethod",
    "Strategy",
    "TargetConfig",
    "Transform",
    "UnseenPolicy",
    "register_configs",
    "to_plain",
]


class Mode(StrEnum):
    train = "train"
    evaluate = "evaluate"
    score = "score"
    serve = "serve"
    export = "export"
    report = "report"


class ColumnType(StrEnum):
    """Declared type of an input column."""

    float = "float"
    int = "int"  # whole numbers only: 6.9 is rejected, never truncated
    category = "category"  # text with (optionally) a closed list of levels
    bool = "bool"
    date = "date"


class Link(StrEnum):
    logit = "logit"
    probit = "probit"
    cloglog = "cloglog"


class CovType(StrEnum):
    nonrobust = "nonrobust"
    HC0 = "HC0"
    HC1 = "HC1"
    HC2 = "HC2"
    HC3 = "HC3"


class SplitMethod(StrEnum):
    stratified = "stratified"
    out_of_time = "out_of_time"
    none = "none"


class Transform(StrEnum):
    """How a feature turns its column into design-matrix columns."""

    numeric = "numeric"  # as is
    clip = "clip"  # clipped to [lower, upper]
    log1p = "log1p"  # log(1 + x), x >= 0
    scale = "scale"  # divided by `divisor` (income / 1000)
    standardize = "standardize"  # (x - training mean) / training sd (ddof=1)
    bins = "bins"  # explicit cut points; one indicator per bin but the reference
    onehot = "onehot"  # categorical; one indicator per level but the reference
    woe = "woe"  # supervised bins (or declared ones), each encoded by its weight of evidence


class BinningMode(StrEnum):
    """How a ``woe`` feature gets its bins."""

    auto = "auto"  # fitted on the training split (optimal binning under the constraints)
    fixed = "fixed"  # the declared `cuts` (numeric) or `groups` (category)


class WoeTrend(StrEnum):
    """The shape the event rate must take across a numeric ``woe`` feature's bins."""

    auto = "auto"  # the better (higher IV) of ascending and descending
    ascending = "ascending"
    descending = "descending"
    peak = "peak"  # up then down
    valley = "valley"  # down then up
    none = "none"  # unconstrained


class MissingPolicy(StrEnum):
    """What a missing value does, at training and at inference alike."""

    error = "error"  # refuse the row (the schema's `nullable` decides first)
    median = "median"  # numeric: replace by the training median
    mean = "mean"  # numeric: replace by the training mean
    value = "value"  # numeric: replace by `fill_value`
    level = "level"  # onehot/bins/woe: missing is a level (bin) of its own ("<missing>")


class UnseenPolicy(StrEnum):
    """What a category not seen at training does at inference."""

    error = "error"
    map = "map"  # treated as `unseen_level` (the reference level when that is unset)


class DataFormat(StrEnum):
    """How the data file is read (``auto``: by its suffix, ``.parquet``/``.pq`` or CSV)."""

    auto = "auto"
    csv = "csv"
    parquet = "parquet"


class FitPolicy(StrEnum):
    """What a non-converged or separated fit does."""

    error = "error"  # refuse the model
    warn = "warn"  # record the finding in the diagnostics and go on


class LogFormat(StrEnum):
    json = "json"  # one JSON object per line
    text = "text"


# A YAML 1.1 boolean has lost its spelling by the time it is a config value: `Yes`, `yes`,
# `on` and `true` all arrive as True. So a boolean where text is declared is refused, never
# guessed back into a level name.
_YAML_BOOLEAN_HINT = (
    "is a YAML boolean: an unquoted Yes/No/On/Off/True/False is read as true/false, not as "
    'text; quote it exactly as the data spells it: "Yes"'
)


def _text(key: str, value: Any) -> str:
    """``value`` of a field declared as text, or a ConfigError naming ``key``.

    The text fields that hold data values (levels, the event value) are typed ``Any`` for
    OmegaConf, so that a YAML boolean reaches this check instead of being turned into the
    string ``"True"``; numbers are taken as their text (`event: 1` means the text "1").
    """
    if isinstance(value, bool):
        raise ConfigError(key, f"{value!r} {_YAML_BOOLEAN_HINT}")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ConfigError(key, f"must be text, got {type(value).__name__} {value!r}")


def _optional_text(key: str, value: Any) -> str | None:
    return None if value is None else _text(key, value)


E = TypeVar("E", bound=StrEnum)


def _choice(key: str, enum: type[E], value: Any) -> E:
    """``value`` as a member of ``enum``; the Python API may pass the plain string.

    Hydra refuses a wrong value at composition already; this is the same rule for a config
    built in Python (``GLMConfig(on_separation="warn")``).
    """
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ConfigError(key, f"must be one of {allowed}, got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# data: the schema of the input table
# ---------------------------------------------------------------------------------------------
@dataclass
class ColumnConfig:
    """One column of the input table, as the schema enforces it."""

    type: ColumnType = ColumnType.float
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    # text levels (typed Any so a YAML boolean is caught, see `_text`)
    categories: list[Any] | None = None
    description: str = ""


@dataclass
class TargetConfig:
    column: str = MISSING
    # The value of `column` that is the modelled event (default). Compared as text, so
    # `event: "1"` matches an integer column holding 1. Text (typed Any so that an unquoted
    # YAML `Yes` is refused by name rather than read as "True").
    event: Any = MISSING

    def __post_init__(self) -> None:
        self.event = _text("data.target.event", self.event)


@dataclass
class DataConfig:
    """A dataset: where it is, what it must look like, and which column is the outcome."""

    name: str = MISSING
    # CSV or Parquet file. `builtin://german_credit.csv` names a file shipped with the package;
    # a relative path is relative to the directory the command runs from.
    path: str = MISSING
    format: DataFormat = DataFormat.auto  # auto | csv | parquet
    target: TargetConfig = field(default_factory=TargetConfig)
    id_column: str | None = None
    weight_column: str | None = None
    date_column: str | None = None
    # Reject columns the schema does not declare (a mismatched file is caught, not ignored).
    strict: bool = True
    # Cells read as missing in a CSV (the cell text must equal one of these exactly).
    na_values: list[str] = field(default_factory=lambda: ["", "NA", "N/A", "NaN", "nan", "null"])
    columns: dict[str, ColumnConfig] = field(default_factory=dict)
    # mode=report: a recent file in the same schema (labelled or not), compared with the
    # training and test samples (score PSI, feature CSI; discrimination and calibration when
    # it holds the target)
    monitoring_path: str | None = None

    @property
    def outcome_columns(self) -> tuple[str, ...]:
        """The columns only training reads (target, weight, date): never expected of an
        applicant, ignored when a labelled file is scored."""
        return tuple(c for c in (self.target.column, self.weight_column, self.date_column) if c)

    def __post_init__(self) -> None:
        self.format = _choice("data.format", DataFormat, self.format)
        for name, col in self.columns.items():
            key = f"data.columns.{name}"
            if col.categories is not None:
                col.categories = [
                    _text(f"{key}.categories[{i}]", level) for i, level in enumerate(col.categories)
                ]
            if col.min is not None and col.max is not None and col.min > col.max:
                raise ConfigError(f"{key}.min", f"min {col.min} is above max {col.max}")
            if col.categories is not None and col.type is not ColumnType.category:
                raise ConfigError(f"{key}.categories", "only a `category` column has categories")
            if col.categories is not None and len(set(col.categories)) != len(col.categories):
                raise ConfigError(f"{key}.categories", "categories must be distinct")
        special = {
            "data.target.column": self.target.column,
            "data.id_column": self.id_column,
            "data.weight_column": self.weight_column,
            "data.date_column": self.date_column,
        }
        for key, column in special.items():
            if column is not None and self.columns and column not in self.columns:
                raise ConfigError(key, f"column {column!r} is not declared in data.columns")


# ---------------------------------------------------------------------------------------------
# features: how columns become the design matrix
# ---------------------------------------------------------------------------------------------
@dataclass
class FeatureConfig:
    """One feature: a column and its transform. It enters and leaves the model as one group."""

    column: str | None = None  # the source column; defaults to the feature's own name
    transform: Transform = Transform.numeric
    lower: float | None = None  # clip
    upper: float | None = None  # clip
    divisor: float | None = None  # scale: the column is divided by it
    cuts: list[float] | None = None  # bins, woe: right-open intervals (-inf, c1), [c1, c2), ...
    # woe: how the bins are found (default auto), and the constraints of `bins: auto`
    bins: BinningMode | None = None
    max_bins: int | None = None  # default 6
    min_bin_share: float | None = None  # default 0.05 of the non-missing training rows
    trend: WoeTrend | None = None  # default auto (numeric columns)
    # woe with `bins: fixed` on a category column: the groups of categories, one bin each
    groups: list[list[Any]] | None = None
    # onehot level / bin label left out; default: the largest. Text (Any: see `_text`).
    reference: Any = None
    # onehot: coarse classing, new level -> the raw levels it merges (e.g. rare purposes)
    merge: dict[Any, list[Any]] = field(default_factory=dict)
    missing: MissingPolicy = MissingPolicy.error
    fill_value: float | None = None  # with missing=value
    unseen: UnseenPolicy = UnseenPolicy.error
    unseen_level: Any = None  # with unseen=map; text (Any: see `_text`)
    expected_sign: int | None = None  # +1 / -1 on every coefficient of the feature, if declared
    description: str = ""


@dataclass
class FeaturesConfig:
    name: str = MISSING
    features: dict[str, FeatureConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.features:
            raise ConfigError("features.features", "declare at least one feature")
        for name, feat in self.features.items():
            key = f"features.features.{name}"
            feat.reference = _optional_text(f"{key}.reference", feat.reference)
            feat.unseen_level = _optional_text(f"{key}.unseen_level", feat.unseen_level)
            feat.merge = {
                _text(f"{key}.merge", new): [
                    _text(f"{key}.merge.{new}[{i}]", raw) for i, raw in enumerate(raws)
                ]
                for new, raws in feat.merge.items()
            }
            t = feat.transform
            if t is Transform.clip:
                if feat.lower is None and feat.upper is None:
                    raise ConfigError(f"{key}.lower", "clip needs `lower`, `upper` or both")
                if feat.lower is not None and feat.upper is not None and feat.lower >= feat.upper:
                    raise ConfigError(f"{key}.lower", "must be below `upper`")
            elif feat.lower is not None or feat.upper is not None:
                raise ConfigError(f"{key}.lower", "`lower`/`upper` apply to transform=clip only")
            _check_woe_keys(key, feat)
            if t is Transform.bins:
                if not feat.cuts:
                    raise ConfigError(f"{key}.cuts", "transform=bins needs at least one cut point")
            elif feat.cuts is not None and not (
                t is Transform.woe and feat.bins is BinningMode.fixed
            ):
                raise ConfigError(
                    f"{key}.cuts", "`cuts` apply to transform=bins and to woe with bins: fixed"
                )
            cuts = feat.cuts or []
            if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
                raise ConfigError(f"{key}.cuts", "cut points must increase strictly")
            if t is Transform.scale:
                if feat.divisor is None or not math.isfinite(feat.divisor) or feat.divisor == 0:
                    raise ConfigError(f"{key}.divisor", "scale needs a finite, non-zero `divisor`")
            elif feat.divisor is not None:
                raise ConfigError(f"{key}.divisor", "`divisor` applies to transform=scale only")
            if feat.missing is MissingPolicy.value and feat.fill_value is None:
                raise ConfigError(f"{key}.fill_value", "missing=value needs `fill_value`")
            numeric_only = (MissingPolicy.median, MissingPolicy.mean, MissingPolicy.value)
            if t is Transform.onehot and feat.missing in numeric_only:
                raise ConfigError(
                    f"{key}.missing", f"{feat.missing.value} is for numeric features; use `level`"
                )
            if t not in (Transform.onehot, Transform.bins, Transform.woe):
                if feat.missing is MissingPolicy.level:
                    raise ConfigError(
                        f"{key}.missing", "`level` is for onehot, bins or woe features"
                    )
            if t not in (Transform.onehot, Transform.bins):
                if feat.reference is not None:
                    raise ConfigError(f"{key}.reference", "only onehot and bins have a reference")
            if feat.merge and t is not Transform.onehot:
                raise ConfigError(f"{key}.merge", "`merge` applies to transform=onehot only")
            merged = [lvl for group in feat.merge.values() for lvl in group]
            if len(merged) != len(set(merged)):
                raise ConfigError(f"{key}.merge", "a raw level is merged into two groups")
            if feat.expected_sign not in (None, 1, -1):
                raise ConfigError(f"{key}.expected_sign", "must be 1, -1 or null")


_WOE_ONLY = ("bins", "max_bins", "min_bin_share", "trend", "groups")


def _check_woe_keys(key: str, feat: FeatureConfig) -> None:
    """The binning keys of a ``woe`` feature: set only on one, consistent with ``bins``."""
    if feat.transform is not Transform.woe:
        for name in _WOE_ONLY:
            if getattr(feat, name) is not None:
                raise ConfigError(f"{key}.{name}", f"`{name}` applies to transform=woe only")
        return
    if feat.bins is not None:
        feat.bins = _choice(f"{key}.bins", BinningMode, feat.bins)
    if feat.trend is not None:
        feat.trend = _choice(f"{key}.trend", WoeTrend, feat.trend)
    if feat.bins is None:
        feat.bins = BinningMode.fixed if (feat.cuts or feat.groups) else BinningMode.auto
    if feat.bins is BinningMode.fixed:
        if not feat.cuts and not feat.groups:
            raise ConfigError(
                f"{key}.bins", "bins: fixed needs `cuts` (numeric) or `groups` (category)"
            )
        if feat.cuts and feat.groups:
            raise ConfigError(f"{key}.groups", "declare `cuts` or `groups`, not both")
        for name in ("max_bins", "min_bin_share", "trend"):
            if getattr(feat, name) is not None:
                raise ConfigError(f"{key}.{name}", f"`{name}` applies to bins: auto only")
    elif feat.groups is not None:
        raise ConfigError(f"{key}.groups", "`groups` apply to bins: fixed only")
    if feat.max_bins is not None and not 2 <= feat.max_bins <= 50:
        raise ConfigError(f"{key}.max_bins", "must lie in [2, 50]")
    if feat.min_bin_share is not None and not 0.0 < feat.min_bin_share <= 0.5:
        raise ConfigError(f"{key}.min_bin_share", "must lie in (0, 0.5]")
    if feat.groups is not None:
        feat.groups = [
            [_text(f"{key}.groups[{i}][{j}]", v) for j, v in enumerate(g)]
            for i, g in enumerate(feat.groups)
        ]
        flat = [v for g in feat.groups for v in g]
        if any(not g for g in feat.groups) or len(flat) != len(set(flat)):
            raise ConfigError(
                f"{key}.groups", "every group needs a category, and a category one group only"
            )
    if feat.expected_sign is not None and feat.expected_sign != 1:
        raise ConfigError(
            f"{key}.expected_sign",
            "a woe feature's sign is +1 by its convention, ln(%event / %non-event): "
            "a riskier bin has a larger WoE",
        )


class WrongSign(StrEnum):
    """What training does with a feature whose fitted coefficient has the wrong sign."""

    fail = "fail"  # stop, naming the feature, its coefficient and its univariate direction
    drop = "drop"  # drop it (the worst first) and refit, recorded in the audit trail


# ---------------------------------------------------------------------------------------------
# selection: which features the model keeps
# ---------------------------------------------------------------------------------------------
class Criterion(StrEnum):
    """What a selection strategy minimises (AUC is maximised)."""

    aic = "aic"
    bic = "bic"
    pvalue = "pvalue"  # likelihood-ratio test p-values (stepwise entry/removal thresholds)
    cv_auc = "cv_auc"  # seeded k-fold (or holdout) AUC
    cv_logloss = "cv_logloss"  # seeded k-fold (or holdout) log loss


class Strategy(StrEnum):
    """How the model's features are chosen (`none`: every declared feature)."""

    none = "none"
    exhaustive = "exhaustive"
    forward = "forward"
    backward = "backward"
    stepwise = "stepwise"
    random = "random"


STRATEGIES = tuple(s.value for s in Strategy)


@dataclass
class SelectionConfig:
    """One schema for every strategy; keys a strategy does not use are ignored by it."""

    strategy: Strategy = Strategy.none  # none | exhaustive | forward | backward | stepwise | random
    criterion: Criterion = Criterion.aic
    # constraints, applied inside the search
    force_in: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    min_features: int = 0
    max_features: int | None = None
    max_vif: float | None = None  # GVIF^(1/df) of every kept feature
    max_pvalue: float | None = None  # Wald p-value of every kept term
    enforce_expected_signs: bool = True  # features.<f>.expected_sign, when declared
    # the final fit: a coefficient against its expected sign (woe: always +1) fails or drops
    wrong_sign: WrongSign = WrongSign.fail
    # drop features whose information value (woe features) is below this before any search
    min_iv: float | None = None
    # stepwise / forward / backward with criterion=pvalue
    p_enter: float = 0.05
    p_remove: float = 0.10
    # exhaustive
    max_subsets: int = 1_048_576
    # random search
    n_iter: int = 200
    seed: int = 42
    # cv criteria: k folds (k=1 means one stratified holdout of `holdout_size`)
    cv_folds: int = 5
    holdout_size: float = 0.3
    # audit trail: the N best subsets (exhaustive/random) kept in the model card
    top_n: int = 10
    n_jobs: int = 1
    progress: bool = True  # a progress bar on a terminal (never in CI or when piped)
    # large data: the search fits its candidates on a stratified sample of this many training
    # rows (seeded by `seed`); the final fit always uses every training row
    sample_rows: int | None = None

    def __post_init__(self) -> None:
        self.strategy = _choice("selection.strategy", Strategy, self.strategy)
        if self.sample_rows is not None and self.sample_rows < 2:
            raise ConfigError("selection.sample_rows", "must be at least 2 rows (or null)")
        if self.min_features < 0:
            raise ConfigError("selection.min_features", "must be non-negative")
        if self.max_features is not None and self.max_features < max(self.min_features, 1):
            raise ConfigError(
                "selection.max_features", "must be at least 1 and at least min_features"
            )
        for key in ("p_enter", "p_remove"):
            if not 0.0 < getattr(self, key) < 1.0:
                raise ConfigError(f"selection.{key}", "must lie in (0, 1)")
        if self.p_remove < self.p_enter:
            raise ConfigError(
                "selection.p_remove", "must be at least p_enter (or stepwise can cycle)"
            )
        overlap = set(self.force_in) & set(self.exclude)
        if overlap:
            raise ConfigError("selection.force_in", f"{sorted(overlap)} also excluded")
        if self.max_subsets < 1 or self.n_iter < 1 or self.top_n < 1:
            raise ConfigError("selection", "max_subsets, n_iter and top_n must be positive")
        if self.cv_folds < 1:
            raise ConfigError("selection.cv_folds", "must be at least 1")
        if not 0.0 < self.holdout_size < 1.0:
            raise ConfigError("selection.holdout_size", "must lie in (0, 1)")
        if self.min_iv is not None and not self.min_iv >= 0.0:
            raise ConfigError("selection.min_iv", "must be non-negative")
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError("selection.n_jobs", "must be a positive count or -1 (all cores)")


@dataclass
class RandomConfig:
    """The seed of everything random in a run (split, random search, CV folds) by default."""

    seed: int = 42


# ---------------------------------------------------------------------------------------------
# glm, split, evaluation, serving
# ---------------------------------------------------------------------------------------------
@dataclass
class GLMConfig:
    """Binomial GLM options (statsmodels)."""

    link: Link = Link.logit
    max_iter: int = 100
    tol: float = 1e-8
    cov_type: CovType = CovType.nonrobust
    # Penalised fit (statsmodels `fit_regularized`, elastic net): 0 means none. With a penalty
    # standard errors and p-values are not available and are reported as null.
    alpha: float = 0.0
    l1_wt: float = 1.0
    # What a non-converged fit or (quasi-)complete separation does: `error` refuses the model,
    # `warn` records the finding in the diagnostics and goes on.
    on_nonconvergence: FitPolicy = FitPolicy.error
    on_separation: FitPolicy = FitPolicy.error

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ConfigError("glm.max_iter", "must be at least 1")
        if not self.tol > 0:
            raise ConfigError("glm.tol", "must be positive")
        if self.alpha < 0:
            raise ConfigError("glm.alpha", "must be non-negative")
        if not 0.0 <= self.l1_wt <= 1.0:
            raise ConfigError("glm.l1_wt", "must lie in [0, 1]")
        self.on_nonconvergence = _choice("glm.on_nonconvergence", FitPolicy, self.on_nonconvergence)
        self.on_separation = _choice("glm.on_separation", FitPolicy, self.on_separation)


@dataclass
class SplitConfig:
    method: SplitMethod = SplitMethod.stratified
    test_size: float = 0.3
    seed: int = 42
    # out_of_time: rows dated before `cutoff` train, the rest test (needs data.date_column)
    cutoff: str | None = None

    def __post_init__(self) -> None:
        if self.method is SplitMethod.stratified and not 0.0 < self.test_size < 1.0:
            raise ConfigError("split.test_size", f"must lie in (0, 1), got {self.test_size}")
        if self.method is SplitMethod.out_of_time and not self.cutoff:
            raise ConfigError("split.cutoff", "split.method=out_of_time needs a cutoff date")


@dataclass
class DecisionConfig:
    """The accept/decline cut-off on the probability of default.

    With `cutoff` unset it is the cost-minimising one, c_fp / (c_fp + c_fn): declining a good
    applicant costs `cost_false_positive`, accepting a bad one `cost_false_negative`.
    """

    cutoff: float | None = None
    cost_false_negative: float = 5.0
    cost_false_positive: float = 1.0

    def __post_init__(self) -> None:
        if self.cutoff is not None and not 0.0 < self.cutoff < 1.0:
            raise ConfigError("evaluation.decision.cutoff", "must lie in (0, 1)")
        if self.cost_false_negative <= 0 or self.cost_false_positive <= 0:
            raise ConfigError("evaluation.decision", "costs must be positive")

    @property
    def threshold(self) -> float:
        if self.cutoff is not None:
            return self.cutoff
        return self.cost_false_positive / (self.cost_false_positive + self.cost_false_negative)


@dataclass
class EvaluationConfig:
    """Gates a model must pass to be promoted (null disables a gate).

    Metric gates apply to the test sample, or to the training sample when there is none.
    """

    min_auc: float | None = None
    min_gini: float | None = None
    min_ks: float | None = None
    max_brier: float | None = None
    max_psi: float | None = None
    max_vif: float | None = None
    min_hosmer_lemeshow_pvalue: float | None = None
    max_coefficient_pvalue: float | None = None
    # calibration per rating grade: fails when the Jeffreys test finds any grade's PD
    # underestimated at this level, shared over the grades (a grade's one-sided p-value times
    # the number of non-empty grades, Bonferroni)
    min_jeffreys_pvalue: float | None = None
    psi_bins: int = 10
    calibration_groups: int = 10
    # the rating grades: inner PD cut-offs c1 < ... < ck, grades (0, c1), [c1, c2), ..., [ck, 1)
    grades: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
    decision: DecisionConfig = field(default_factory=DecisionConfig)

    def __post_init__(self) -> None:
        if self.psi_bins < 2:
            raise ConfigError("evaluation.psi_bins", "must be at least 2")
        if self.calibration_groups < 3:
            raise ConfigError("evaluation.calibration_groups", "must be at least 3")
        cuts = [float(c) for c in self.grades]
        if not cuts or any(not 0.0 < c < 1.0 for c in cuts) or cuts != sorted(set(cuts)):
            raise ConfigError(
                "evaluation.grades", "must be one or more increasing PD cut-offs in (0, 1)"
            )
        for key in ("min_jeffreys_pvalue", "min_hosmer_lemeshow_pvalue"):
            bound = getattr(self, key)
            if bound is not None and not 0.0 < bound < 1.0:
                raise ConfigError(f"evaluation.{key}", "must lie in (0, 1)")


# Upper bounds on per-request work, whatever a config asks for: a 16 MiB body holds about
# 20,000 German-credit rows, and 10,000 rows score in tens of milliseconds.
MAX_BODY_BYTES_LIMIT = 16 * 1_048_576
MAX_BATCH_ROWS_LIMIT = 10_000
MAX_ERRORS_LIMIT = 1_000


@dataclass
class ServingConfig:
    """The inference service (``mode=serve``): gunicorn, the pinned model, limits and signals.

    ``cutoff`` overrides the decision cut-off recorded in the model card (``decision.cutoff``);
    unset, the card's cut-off is used, so the service decides exactly as evaluation did.
    """

    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    # threads per worker; the gthread worker is always used (it keeps connections alive)
    threads: int = 1
    timeout: int = 30
    graceful_timeout: int = 20
    # seconds, after SIGTERM, during which /ready answers 503 while requests are still served
    drain_seconds: float = 2.0
    keepalive: int = 5
    # SO_REUSEPORT: each worker gets its own listening socket and the kernel spreads new
    # connections over them. Without it, workers race to accept and a few kept-alive clients
    # (a load balancer's pool) can all land on one worker, leaving the other CPUs idle. With
    # it, another process of the same user can bind the same port (no issue in a container).
    reuse_port: bool = True
    max_body_bytes: int = 1_048_576
    max_batch_rows: int = 1000
    log_format: LogFormat = LogFormat.json  # json | text
    # log the validated feature values of each request (off: they may be personal data)
    log_features: bool = False
    model_path: str = "models/glm_model.json"
    # refuse to start unless the card's model_sha256 / model_version equal these
    expected_model_sha256: str | None = None
    model_version: str | None = None
    # Ed25519 public keys (PEM files): when set, only a card signed by one of them is served
    trusted_keys: list[str] = field(default_factory=list)
    cutoff: float | None = None
    # reject a request carrying a field the schema does not declare (422); false ignores it
    reject_extra_fields: bool = True
    # predictions per worker in the rolling window the score PSI is computed on
    psi_window: int = 1000
    # prometheus_client multiprocess directory (emptied at start); a fresh temporary
    # directory when unset and PROMETHEUS_MULTIPROC_DIR is not set either
    metrics_dir: str | None = None
    # seconds a client has to send its whole header block / its whole body; past them the
    # connection gets a 408 and is closed (slow clients never hold a scoring thread)
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    # seconds a request may take once read; past it the client gets a 503 problem
    request_timeout: float = 5.0
    # validation stops after this many field errors in one request (the problem says so)
    max_errors: int = 100
    # the admin surface (/metrics, the full /model/info): its own port, never the scoring one;
    # 0 picks a free port (tests), null disables it
    admin_host: str = "127.0.0.1"
    admin_port: int | None = 5001

    def __post_init__(self) -> None:
        positive = (
            "workers",
            "threads",
            "timeout",
            "graceful_timeout",
            "max_batch_rows",
            "max_errors",
        )
        for key in positive:
            if getattr(self, key) < 1:
                raise ConfigError(f"serving.{key}", "must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ConfigError("serving.port", f"must lie in [0, 65535], got {self.port}")
        for key in ("keepalive", "drain_seconds"):
            if getattr(self, key) < 0:
                raise ConfigError(f"serving.{key}", "must be >= 0")
        if not 1024 <= self.max_body_bytes <= MAX_BODY_BYTES_LIMIT:
            raise ConfigError(
                "serving.max_body_bytes", f"must lie in [1024, {MAX_BODY_BYTES_LIMIT}]"
            )
        if self.max_batch_rows > MAX_BATCH_ROWS_LIMIT:
            raise ConfigError("serving.max_batch_rows", f"must be at most {MAX_BATCH_ROWS_LIMIT}")
        if self.max_errors > MAX_ERRORS_LIMIT:
            raise ConfigError("serving.max_errors", f"must be at most {MAX_ERRORS_LIMIT}")
        for key in ("header_timeout", "body_timeout", "request_timeout"):
            if not 0 < getattr(self, key) <= 300:
                raise ConfigError(f"serving.{key}", "must lie in (0, 300] seconds")
        if self.admin_port is not None:
            if not 0 <= self.admin_port <= 65535:
                raise ConfigError(
                    "serving.admin_port", f"must lie in [0, 65535], got {self.admin_port}"
                )
            if self.admin_port != 0 and self.admin_port == self.port:
                raise ConfigError("serving.admin_port", "must differ from serving.port")
        self.log_format = _choice("serving.log_format", LogFormat, self.log_format)
        if self.cutoff is not None and not 0.0 < self.cutoff < 1.0:
            raise ConfigError("serving.cutoff", "must lie in (0, 1)")
        if self.psi_window < 10:
            raise ConfigError("serving.psi_window", "must be at least 10")
        sha = self.expected_model_sha256
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            raise ConfigError(
                "serving.expected_model_sha256", "must be 64 lowercase hexadecimal characters"
            )


class Rounding(StrEnum):
    """How points are rounded: ``none`` keeps them as floats; ``integer`` rounds each
    attribute's points (and the base points) half away from zero, and the score is their sum."""

    none = "none"
    integer = "integer"


class ReasonMethod(StrEnum):
    """What a feature's points are compared against to find the reasons for a score."""

    max = "max"  # the most points the feature gave any training applicant
    mean = "mean"  # the feature's (weighted) mean points over the training applicants


@dataclass
class ScorecardConfig:
    """Points scaling: ``base_score`` points at good:bad odds of ``base_odds``:1, and ``pdo``
    points more for each doubling of those odds (Siddiqi 2006, ch. 6)."""

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0
    rounding: Rounding = Rounding.none

    def __post_init__(self) -> None:
        for key in ("base_score", "base_odds", "pdo"):
            if not math.isfinite(getattr(self, key)):
                raise ConfigError(f"scorecard.{key}", "must be a finite number")
        if self.base_odds <= 0:
            raise ConfigError("scorecard.base_odds", "must be positive (good:bad odds)")
        if self.pdo <= 0:
            raise ConfigError("scorecard.pdo", "must be positive (points to double the odds)")


@dataclass
class ReasonCode:
    code: str = MISSING
    text: str | None = None  # default: the feature's description (or name) and the bin label


@dataclass
class ReasonsConfig:
    """Reason codes: the features that cost an applicant the most points."""

    max: int = 4  # US Regulation B / FCRA: up to four principal reasons
    method: ReasonMethod = ReasonMethod.max
    # feature name -> its code and text
    codes: dict[str, ReasonCode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.max <= 20:
            raise ConfigError("reasons.max", "must lie in [0, 20]")


class ScoreEngine(StrEnum):
    local = "local"  # this process, chunk by chunk
    dask = "dask"  # Dask partitions on `score.scheduler`


@dataclass
class ValidationConfig:
    """``mode=report``: the validation pack of the model at ``paths.model``."""

    # bootstrap resamples of the training rows (coefficient intervals, sign and selection
    # stability); 0 leaves the bootstrap out
    bootstrap: int = 200
    seed: int = 42
    level: float = 0.95  # of every interval in the report
    # where the report goes: <dir>/report.html and <dir>/report.json; null: the run directory
    output_dir: str | None = None
    progress: bool = True  # a bar on a terminal (never in CI or a pipe)

    def __post_init__(self) -> None:
        if self.bootstrap < 0 or self.bootstrap == 1:
            raise ConfigError("validation.bootstrap", "must be 0 (none) or at least 2 resamples")
        if not 0.0 < self.level < 1.0:
            raise ConfigError("validation.level", "must lie in (0, 1)")


@dataclass
class ScoreConfig:
    """``mode=score``: a file of applications (``data.path``) scored by the card at
    ``paths.model``."""

    # CSV or Parquet by suffix (.parquet/.pq); with engine=dask a directory of Parquet parts
    output_path: str = "scores.csv"
    # rows that break the model's schema: row number, field, rule; default next to the output
    rejects_path: str | None = None
    chunk_rows: int = 100_000
    # local engine: chunks scored at once by this many threads (numpy and Arrow release the GIL)
    threads: int = 2
    # exit non-zero when more than this share of the rows is rejected
    max_reject_share: float = 0.01
    engine: ScoreEngine = ScoreEngine.local
    # dask: a scheduler address (tcp://host:8786), or `local` for a LocalCluster of `workers`
    scheduler: str = "local"
    workers: int = 2
    # dask: split the input into this many partitions (null: as Dask reads it)
    partitions: int | None = None
    progress: bool = True  # a progress bar on a terminal (never in CI or when piped)

    def __post_init__(self) -> None:
        if not self.output_path:
            raise ConfigError("score.output_path", "must name a file")
        if self.chunk_rows < 1:
            raise ConfigError("score.chunk_rows", "must be a positive row count")
        if not 0.0 <= self.max_reject_share <= 1.0:
            raise ConfigError("score.max_reject_share", "must lie in [0, 1]")
        if self.workers < 1:
            raise ConfigError("score.workers", "must be at least 1")
        if self.threads < 1:
            raise ConfigError("score.threads", "must be at least 1")
        if self.partitions is not None and self.partitions < 1:
            raise ConfigError("score.partitions", "must be at least 1, or null")
        self.engine = _choice("score.engine", ScoreEngine, self.engine)


class ExportFormat(StrEnum):
    sql = "sql"


@dataclass
class ExportConfig:
    """``mode=export``: the model written for another engine."""

    format: ExportFormat = ExportFormat.sql
    path: str = "scorecard.sql"
    # the table the SELECT reads; its columns are the schema's
    table: str = "applications"

    def __post_init__(self) -> None:
        if not self.table:
            raise ConfigError("export.table", "must name a table")


@dataclass
class PathsConfig:
    # Promoted artifacts (relative to the directory the command runs from).
    models_dir: str = "models"
    # evaluate/score: the model card to load.
    model: str = "models/glm_model.json"
    # train: sign the model card with this Ed25519 private key (an unencrypted PEM file)
    signing_key: str | None = None


@dataclass
class AppConfig:
    mode: Mode = Mode.train
    data: DataConfig = MISSING
    features: FeaturesConfig = MISSING
    selection: SelectionConfig = MISSING
    glm: GLMConfig = MISSING
    split: SplitConfig = MISSING
    evaluation: EvaluationConfig = MISSING
    serving: ServingConfig = MISSING
    random: RandomConfig = field(default_factory=RandomConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    scorecard: ScorecardConfig = field(default_factory=ScorecardConfig)
    reasons: ReasonsConfig = field(default_factory=ReasonsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    # Print the coefficient table and metrics on the terminal.
    verbose: bool = True


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore.

    ``base_config`` types the primary config; ``<group>/base_<group>`` is the schema each group
    option names first in its own defaults list. Imported lazily so the core never needs Hydra.
    """
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="base_config", node=AppConfig)
    for group, node in (
        ("data", DataConfig),
        ("features", FeaturesConfig),
        ("selection", SelectionConfig),
        ("glm", GLMConfig),
        ("split", SplitConfig),
        ("evaluation", EvaluationConfig),
        ("serving", ServingConfig),
    ):
        cs.store(group=group, name=f"base_{group}", node=node)


def to_plain(value: Any) -> Any:
    """A config dataclass (or any nesting of them) as JSON-serialisable data
    (:func:`credit_glm.jsonable.json_safe`)."""
    return json_safe(value)
