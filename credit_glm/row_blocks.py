"""Fixed blocks of rows, for statistics summed over a tall matrix without a copy of it.

Each block's temporaries are ``ROW_BLOCK`` rows tall, never the matrix's size, and the
blocks are the same on every machine, so a blocked sum adds its terms in one order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = ["ROW_BLOCK", "r_factor", "row_blocks"]

#: 65,536 rows: a block of a 50-column float64 design is 25 MiB.
ROW_BLOCK = 65_536


def row_blocks(n_rows: int) -> Iterator[slice]:
    """The slices ``[0, ROW_BLOCK), [ROW_BLOCK, 2 ROW_BLOCK), ...`` covering ``n_rows``."""
    for start in range(0, n_rows, ROW_BLOCK):
        yield slice(start, min(start + ROW_BLOCK, n_rows))


def r_factor(blocks: Iterator[npt.NDArray[np.float64]], n_columns: int) -> npt.NDArray[np.float64]:
    """The triangular factor ``R`` of the QR decomposition of the blocks stacked, built a
    block at a time (tall-skinny QR: the factor of ``[R; next block]`` at each step).

    ``R`` is unique up to the signs of its rows (and, for a rank-deficient matrix, up to an
    orthogonal transformation on the left): ``R'R`` equals the matrix's cross-product and its
    singular values are the matrix's.
    """
    r = np.zeros((0, n_columns))
    for block in blocks:
        # numpy returns just R for mode="r"; its stubs claim a QRResult.
        r = cast(npt.NDArray[np.float64], np.linalg.qr(np.vstack([r, block]), mode="r"))
    return r
