"""Values as JSON can hold them, written once for the model card, the config, the diagnostics,
the selection audit trail and every JSON file a run writes.

JSON has no NaN or infinity, no enums, tuples, dataclasses or numpy scalars: :func:`json_safe`
maps each to its plain counterpart. Pure Python; numpy and pandas values are recognised by
their own methods (``item``, ``tolist``) so importing this module loads neither.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` with every part JSON can represent as it is, recursively.

    - ``float`` NaN and infinities, ``None``, ``pandas.NA`` and ``pandas.NaT`` become ``None``;
      other floats (numpy's included) become ``float``;
    - an enum becomes its value; a dataclass instance the dict of its fields;
    - a mapping a ``dict`` with ``str`` keys; a list, tuple or numpy array a ``list``;
    - a numpy scalar its Python value.

    Anything else (``str``, ``int``, ``bool``, a timestamp) is returned as it is.
    """
    if isinstance(value, Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars
        return json_safe(value.tolist())
    pandas = sys.modules.get("pandas")
    if pandas is not None and (value is pandas.NA or value is pandas.NaT):
        return None
    return value
