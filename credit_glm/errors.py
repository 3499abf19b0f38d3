"""The errors credit-glm reports to a user, each naming what is wrong and the rule it broke.

The command line turns any of these into a message on stderr and a non-zero exit code; the
service turns the validation ones into 4xx responses. Anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ArtifactError",
    "ConfigError",
    "CreditGLMError",
    "DataError",
    "GateFailure",
    "ModelFitError",
    "SchemaViolation",
    "ValidationFailed",
]


class CreditGLMError(Exception):
    """Base of every error meant for the user. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigError(CreditGLMError, ValueError):
    """A configuration value breaks a rule its type cannot express."""

    exit_code = 2

    def __init__(self, key: str, rule: str) -> None:
        super().__init__(f"config {key}: {rule}")
        self.key = key
        self.rule = rule


class DataError(CreditGLMError):
    """A data file cannot be used at all: missing, empty, unreadable, one class only."""

    exit_code = 2


@dataclass(frozen=True)
class SchemaViolation:
    """One broken rule: a column (or field), the rule, examples of bad values and their rows."""

    column: str
    rule: str
    values: tuple[object, ...]
    rows: tuple[int, ...]
    count: int
    # every row that breaks it, when the checker knows them all (batch scoring rejects each)
    every_row: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def describe(self) -> str:
        shown = ", ".join(repr(v) for v in self.values)
        rows = ", ".join(str(r) for r in self.rows)
        more = f" (and {self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
        where = f" at rows {rows}{more}" if self.rows else ""
        values = f": {shown}" if shown else ""
        return f"column {self.column!r} breaks {self.rule}{values}{where}"


class ValidationFailed(CreditGLMError):
    """A table broke its schema. Every violation is reported at once."""

    exit_code = 2

    def __init__(self, violations: list[SchemaViolation], source: str = "data") -> None:
        self.violations = violations
        self.source = source
        lines = [f"{source} failed schema validation ({len(violations)} problem(s)):"]
        lines += [f"  - {v.describe()}" for v in violations]
        super().__init__("\n".join(lines))


class ModelFitError(CreditGLMError):
    """The GLM could not be fitted into a model worth keeping (non-convergence, separation)."""

    exit_code = 3


class GateFailure(CreditGLMError):
    """The model failed one or more evaluation gates and was not promoted."""

    exit_code = 4

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            "model failed its evaluation gates and was not promoted:\n"
            + "\n".join(f"  - {r}" for r in reasons)
        )


class ArtifactError(CreditGLMError):
    """A model artifact is missing, corrupt or does not match what was pinned."""

    exit_code = 2
