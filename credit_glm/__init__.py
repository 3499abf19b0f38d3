"""credit-glm: a declarative, config-driven credit-risk GLM, from a CSV to an audited model.

The command line (``python -m credit_glm``) and this Python API drive the same pipeline.

Importing the package is cheap: the public names below are loaded on first use (PEP 562
module ``__getattr__``), so ``python -m credit_glm --cfg job`` and the service do not pay for
statsmodels, pandas or pandera before a mode needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credit_glm.api import GLMModelSelector, ModelConfig
    from credit_glm.errors import (
        ArtifactError,
        ConfigError,
        CreditGLMError,
        DataError,
        GateFailure,
        ModelFitError,
        ValidationFailed,
    )
    from credit_glm.features import ModelSpec, design_matrix
    from credit_glm.scoring import ScoringModel
    from credit_glm.training import TrainedModel, train

__all__ = [
    "ArtifactError",
    "ConfigError",
    "CreditGLMError",
    "DataError",
    "GLMModelSelector",
    "GateFailure",
    "ModelConfig",
    "ModelFitError",
    "ModelSpec",
    "ScoringModel",
    "TrainedModel",
    "ValidationFailed",
    "design_matrix",
    "train",
]
__version__ = "0.1.0"

# public name -> the module that defines it
_HOMES = {
    "ArtifactError": "credit_glm.errors",
    "ConfigError": "credit_glm.errors",
    "CreditGLMError": "credit_glm.errors",
    "DataError": "credit_glm.errors",
    "GateFailure": "credit_glm.errors",
    "ModelFitError": "credit_glm.errors",
    "ValidationFailed": "credit_glm.errors",
    "GLMModelSelector": "credit_glm.api",
    "ModelConfig": "credit_glm.api",
    "ModelSpec": "credit_glm.features",
    "design_matrix": "credit_glm.features",
    "ScoringModel": "credit_glm.scoring",
    "TrainedModel": "credit_glm.training",
    "train": "credit_glm.training",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'credit_glm' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
