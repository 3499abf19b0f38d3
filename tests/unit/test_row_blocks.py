"""Row blocks and the blocked triangular factor, against numpy on the whole matrix."""

from __future__ import annotations

import numpy as np

from credit_glm.row_blocks import ROW_BLOCK, r_factor, row_blocks


def test_blocks_cover_every_row_once() -> None:
    n = 2 * ROW_BLOCK + 7
    covered = np.concatenate([np.arange(n)[rows] for rows in row_blocks(n)])
    np.testing.assert_array_equal(covered, np.arange(n))
    assert list(row_blocks(0)) == []


def test_r_factor_has_the_matrix_cross_product_and_singular_values() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2 * ROW_BLOCK + 11, 6))
    X[:, 5] = X[:, 0] + X[:, 1]  # rank-deficient: one singular value is zero
    r = r_factor((X[rows] for rows in row_blocks(X.shape[0])), X.shape[1])
    assert r.shape == (6, 6)
    np.testing.assert_allclose(r.T @ r, X.T @ X, rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(
        np.linalg.svd(r, compute_uv=False),
        np.linalg.svd(X, compute_uv=False),
        rtol=1e-10,
        atol=1e-8,
    )


def test_r_factor_of_fewer_rows_than_columns() -> None:
    X = np.arange(12.0).reshape(2, 6)
    r = r_factor(iter([X]), 6)
    np.testing.assert_allclose(r.T @ r, X.T @ X, atol=1e-10)
