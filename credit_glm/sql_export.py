"""The scorecard as one SQL ``SELECT``: points, score, probability of default and decision.

:func:`scorecard_sql` compiles a frozen :class:`~credit_glm.scoring.ScoringModel` and a points
scale (:class:`~credit_glm.scorecard.Scorecard`) into one query over a table whose columns are
the schema's, so a warehouse can score applications without Python. The query is built from
the same declarations the Python scorer runs:

- each feature's contribution to the linear predictor is its transform's own
  ``contribution_sql`` (:mod:`credit_glm.transforms`), NULL where Python refuses the value;
- the linear predictor is the intercept plus the contributions added one after another in the
  spec's order, and a feature's points are ``(-factor) * contribution``, rounded under
  ``rounding: integer`` as :func:`credit_glm.scorecard.round_points` rounds (``FLOOR(|x| +
  0.5)`` with ``x``'s sign, not SQL's ``ROUND``: DuckDB's rounds 0.49999999999999994 to 0,
  the double sum ``|x| + 0.5`` to 1); the score is the base points plus the points, again in
  spec order. Every operation is an IEEE double operation in the same order as numpy's, and
  every literal reads back as the same double (:func:`~credit_glm.transforms.base.sql_number`),
  so points and score are the Python values bit for bit (a transform using ``LN`` aside: the
  engine's logarithm may differ from numpy's ``log1p`` in the last bit);
- the probability of default is the inverse link (:func:`credit_glm.links.inverse_link`) in a
  form that cannot overflow, and the decision is :data:`~credit_glm.scoring.DECISION_RULE`.

Common table expressions write each contribution, and the raw points, once. Only ANSI
expressions and ``EXP``, ``LN`` and ``FLOOR`` are used: SQLite >= 3.35 built with its math
functions (the ``sqlite3`` of CPython's builds) and DuckDB run it unchanged, and
``tests/unit/test_sql_export.py`` runs it in both over every German-credit row.

The probit link has no SQL form here: SQLite has no normal distribution function (nor ``ERF``).
"""

from __future__ import annotations

import re
from typing import Final

from credit_glm.config import Link, Rounding
from credit_glm.errors import ConfigError
from credit_glm.scorecard import Scorecard
from credit_glm.scoring import ACCEPT, DECISION_RULE, DECLINE, ScoringModel
from credit_glm.transforms.base import sql_identifier, sql_number, sql_text

__all__ = ["ENGINES_TESTED", "SQL_LINKS", "scorecard_sql"]

ENGINES_TESTED: Final = (
    "SQLite >= 3.35 built with its math functions",
    "DuckDB",
)

# eta beyond which exp(eta) overflows a double (ln(DBL_MAX) = 709.78...)
_EXP_OVERFLOW: Final = 709.0


def _logit_sql(eta: str) -> str:
    # 1 / (1 + exp(-eta)) where exp(-eta) <= 1, its equal exp(eta) / (1 + exp(eta)) elsewhere
    one = sql_number(1.0)
    return (
        f"CASE WHEN {eta} >= 0 THEN {one} / ({one} + EXP(-{eta})) "
        f"ELSE EXP({eta}) / ({one} + EXP({eta})) END"
    )


def _cloglog_sql(eta: str) -> str:
    # past ln(DBL_MAX) the probability is 1 in doubles (it is from eta > 3.7 on)
    one = sql_number(1.0)
    return (
        f"CASE WHEN {eta} > {sql_number(_EXP_OVERFLOW)} THEN {one} "
        f"ELSE {one} - EXP(-EXP({eta})) END"
    )


# the inverse links written in SQL, by link (plain dispatch; probit has none)
SQL_LINKS: Final = {Link.logit: _logit_sql, Link.cloglog: _cloglog_sql}


def _link_sql(link: Link, eta: str) -> str:
    try:
        return SQL_LINKS[link](eta)
    except KeyError:
        supported = ", ".join(sorted(k.value for k in SQL_LINKS))
        raise ConfigError(
            "glm.link",
            f"a {link.value} model has no portable SQL form (SQLite has no normal "
            f"distribution function); SQL export supports the {supported} links",
        ) from None


def _rounded_sql(scorecard: Scorecard, x: str) -> str:
    """``x`` rounded as :meth:`Scorecard.points` rounds it (half away from zero, as
    :func:`~credit_glm.scorecard.round_points`), or ``x`` under ``rounding: none``."""
    if scorecard.rounding is not Rounding.integer:
        return x
    half = sql_number(0.5)
    return f"CASE WHEN {x} < 0 THEN -FLOOR(-{x} + {half}) ELSE FLOOR({x} + {half}) END"


def _comment(text: str) -> str:
    """``text`` on one line, safe inside a ``--`` comment."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)


def _table_name(table: str) -> str:
    """A table name as SQL: each dot-separated part quoted (``schema.table`` reads ``table`` in
    ``schema``)."""
    return ".".join(sql_identifier(part) for part in table.split("."))


def _select(columns: list[str], source: str, indent: str) -> str:
    lines = [f"{indent}SELECT", ",\n".join(f"{indent}  {col}" for col in columns)]
    return "\n".join([*lines, f"{indent}FROM {source}"])


def _rounding_text(scorecard: Scorecard) -> str:
    if scorecard.rounding is Rounding.integer:
        return (
            "integer (each feature's points and the base points rounded half away from "
            "zero, the score their sum)"
        )
    return "none (points are doubles)"


def scorecard_sql(
    model: ScoringModel,
    scorecard: Scorecard,
    cutoff: float,
    table: str,
    id_column: str | None,
    *,
    model_version: str | None = None,
    model_sha256: str | None = None,
) -> str:
    """One SQL ``SELECT`` over ``table`` scoring every row as ``model`` and ``scorecard`` do.

    Parameters
    ----------
    model
        The frozen scorer (:meth:`ScoringModel.from_card`).
    scorecard
        The points scale.
    cutoff
        The decision cut-off: ``decline`` when the probability of default reaches it
        (:data:`~credit_glm.scoring.DECISION_RULE`).
    table
        The table (or view) read; its columns are the schema's input columns, typed as the
        schema declares them (a category column as text: DuckDB's CSV reader, left to itself,
        reads ``yes``/``no`` as BOOLEAN, which no level matches). A dotted name is
        schema-qualified.
    id_column
        A column passed through first, under its own name (the schema's ``id_column``).
    model_version, model_sha256
        Named in the header comment.

    Returns
    -------
    str
        The query: the id (when given), ``points_<feature>`` per feature in spec order,
        ``score``, ``probability_of_default`` and ``decision`` (``'decline'``/``'accept'``).
        A row holding a value the model refuses (a missing value under ``missing: error``,
        an unseen level under ``unseen: error``, ``log1p`` outside its domain) gets NULL in
        the columns that depend on it.

    Raises
    ------
    ConfigError
        The model's link has no SQL form (probit), or two output columns would share a name.
    """
    pd_sql = _link_sql(model.link, "eta")  # first: a probit model fails before anything else
    features = model.spec.features
    names = [f"points_{f.name}" for f in features]
    outputs = [*([] if id_column is None else [id_column]), *names]
    seen: set[str] = set()
    for name in [*outputs, "score", "probability_of_default", "decision"]:
        if name.lower() in seen:  # both engines match quoted names regardless of case
            clash = id_column is not None and name.lower() == id_column.lower()
            raise ConfigError(
                "data.id_column" if clash else "features",
                f"two columns of the exported query would be named {name!r} (SQL matches "
                "quoted names regardless of case)",
            )
        seen.add(name.lower())

    coefficients = model.coefficients
    k = range(1, len(features) + 1)
    row_id = [] if id_column is None else ["row_id"]
    contributions = [] if id_column is None else [f"{sql_identifier(id_column)} AS row_id"]
    for j, f in zip(k, features, strict=True):
        coefs = [coefficients[t] for t in f.terms]
        expr = f.transformer.contribution_sql(f, sql_identifier(f.column), coefs)
        contributions.append(f"{expr} AS contribution_{j}")
    # the linear predictor: the intercept, then each contribution in spec order
    intercept = model.intercept
    eta = " + ".join([sql_number(intercept), *(f"contribution_{j}" for j in k)])
    minus_factor = sql_number(-scorecard.factor)
    linear = [*row_id, f"{eta} AS eta"]
    # + 0.0 as Scorecard.unrounded_points: the reference level's -0.0 becomes 0.0
    linear += [f"{minus_factor} * contribution_{j} + 0e0 AS raw_points_{j}" for j in k]
    points = [*row_id, "eta"]
    points += [f"{_rounded_sql(scorecard, f'raw_points_{j}')} AS points_{j}" for j in k]
    base = scorecard.base_points(intercept)
    score = " + ".join([sql_number(base), *(f"points_{j}" for j in k)])
    scored = [*row_id, *(f"points_{j}" for j in k), f"{score} AS score"]
    scored.append(f"{pd_sql} AS probability_of_default")
    c = sql_number(cutoff)
    decision = (
        f"CASE WHEN probability_of_default >= {c} THEN {sql_text(DECLINE)} "
        f"WHEN probability_of_default < {c} THEN {sql_text(ACCEPT)} END"
    )
    final = [] if id_column is None else [f"row_id AS {sql_identifier(id_column)}"]
    final += [f"points_{j} AS {sql_identifier(name)}" for j, name in zip(k, names, strict=True)]
    final += ["score", "probability_of_default", f"{decision} AS decision"]

    lines = [
        f"-- credit-glm scorecard: model {_comment(model_version or 'not named')}",
        f"-- model_sha256: {_comment(model_sha256 or 'not given')}",
        f"-- link: {model.link.value}; probability_of_default from the linear predictor eta",
        f"-- points: factor {scorecard.factor!r} (pdo {scorecard.pdo!r} / ln 2), "
        f"offset {scorecard.offset!r}, base points {base!r}",
        f"-- rounding: {_rounding_text(scorecard)}",
        "-- score = base points + points_1 + points_2 + ..., added in this order",
        f"-- decision: {DECISION_RULE} (cutoff {cutoff!r})",
        "-- NULL where the model refuses a value (missing, unseen level, outside a domain)",
        f"-- engines tested: {'; '.join(ENGINES_TESTED)}",
        *(
            f"-- feature {j}: {_comment(f.name)} ({f.transform} of {_comment(f.column)})"
            for j, f in zip(k, features, strict=True)
        ),
        "WITH contributions AS (",
        _select(contributions, _table_name(table), "  "),
        "), linear AS (",
        _select(linear, "contributions", "  "),
        "), points AS (",
        _select(points, "linear", "  "),
        "), scored AS (",
        _select(scored, "points", "  "),
        ")",
        _select(final, "scored", ""),
    ]
    return "\n".join(lines) + ";\n"
