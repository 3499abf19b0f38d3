"""The feature transforms, one class each, in a registry keyed by name.

:data:`TRANSFORMS` is plain dispatch: ``TRANSFORMS[spec.transform]`` is the one object that
fits, encodes, scores, validates, monitors and writes SQL for that transform
(:class:`~credit_glm.transforms.base.FeatureTransform`). A new transform is a class in this
package and one entry here, plus its name in :class:`credit_glm.config.Transform`.
"""

from __future__ import annotations

from typing import Final

from credit_glm.transforms.base import (
    MISSING_LEVEL,
    CompiledFeature,
    FeatureTransform,
    FitOutcome,
    HealthSignals,
    level_text,
)
from credit_glm.transforms.levels import Bins, OneHot, bin_labels
from credit_glm.transforms.numeric import Clip, Log1p, Numeric, Scale, Standardize
from credit_glm.transforms.woe import Woe

__all__ = [
    "MISSING_LEVEL",
    "TRANSFORMS",
    "CompiledFeature",
    "FeatureTransform",
    "FitOutcome",
    "HealthSignals",
    "bin_labels",
    "level_text",
    "transform_named",
]

TRANSFORMS: Final[dict[str, FeatureTransform]] = {
    t.name: t for t in (Numeric(), Clip(), Log1p(), Scale(), Standardize(), Bins(), OneHot(), Woe())
}


def transform_named(name: str) -> FeatureTransform:
    """The transform called ``name`` (a KeyError naming the known ones otherwise)."""
    try:
        return TRANSFORMS[name]
    except KeyError:
        raise KeyError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}") from None
