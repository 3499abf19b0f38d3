"""Checks for pandas objects that do not import pandas.

A value can be a pandas ``Series``, ``DataFrame`` or ``pd.NA`` only once pandas has
been imported, so until then each check is false without loading it. The service scores
JSON records with numpy alone and never imports pandas (a fifth of its start-up otherwise);
training, evaluation and batch scoring import it for their tables, and the same checks then
see their Series and frames.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

__all__ = ["is_frame", "is_na", "is_series", "loaded_pandas"]


def loaded_pandas() -> ModuleType | None:
    """The pandas module if something has imported it, else None (it is not imported here)."""
    return sys.modules.get("pandas")


def is_series(value: Any) -> bool:
    """Whether ``value`` is a pandas ``Series``."""
    pd = loaded_pandas()
    return pd is not None and isinstance(value, pd.Series)


def is_frame(value: Any) -> bool:
    """Whether ``value`` is a pandas ``DataFrame``."""
    pd = loaded_pandas()
    return pd is not None and isinstance(value, pd.DataFrame)


def is_na(value: Any) -> bool:
    """Whether ``value`` is pandas' missing-value scalar ``pd.NA``."""
    pd = loaded_pandas()
    return pd is not None and value is pd.NA
