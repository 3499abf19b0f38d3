"""credit-glm: a declarative, config-driven credit-risk GLM, from a CSV to an audited model.

The command line (``python -m credit_glm``) and this Python API drive the same pipeline.
"""

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
