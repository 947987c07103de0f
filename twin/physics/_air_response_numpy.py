"""Plain numpy reference of :mod:`._air_response_numba`: the same linear system solved directly
(a dense matrix over the box's free cells; small boxes only), an independent check of the sweeps."""

from __future__ import annotations

import numpy as np


def box_rise(theta, fx, fy, fz, gx, gy, gz, blocked, diag, src, i0, i1, j0, j1, tol, max_sweeps):
    """See :func:`._air_response_numba.box_rise`; solves exactly (``tol`` and ``max_sweeps`` unused).
    Returns 0 (no sweeps)."""
    nx, ny, nz = theta.shape
    free = np.zeros(theta.shape, bool)
    free[i0:i1, j0:j1, :] = True
    free &= ~blocked & (diag > 0)
    cells = np.argwhere(free)
    index = -np.ones(theta.shape, np.int64)
    index[tuple(cells.T)] = np.arange(len(cells))
    n = len(cells)
    A = np.zeros((n, n))
    b = np.zeros(n)
    for m, (i, j, k) in enumerate(cells):
        A[m, m] = diag[i, j, k]
        b[m] = src[i, j, k]
        for (a, c, e), (F, D, sign) in (
                ((i - 1, j, k), (fx[i, j, k], gx[i, j, k], 1.0)) if i > 0 else ((-1, 0, 0), (0.0, 0.0, 0.0)),
                ((i + 1, j, k), (fx[i + 1, j, k], gx[i + 1, j, k], -1.0)) if i < nx - 1 else ((-1, 0, 0), (0.0, 0.0, 0.0)),
                ((i, j - 1, k), (fy[i, j, k], gy[i, j, k], 1.0)) if j > 0 else ((-1, 0, 0), (0.0, 0.0, 0.0)),
                ((i, j + 1, k), (fy[i, j + 1, k], gy[i, j + 1, k], -1.0)) if j < ny - 1 else ((-1, 0, 0), (0.0, 0.0, 0.0)),
                ((i, j, k - 1), (fz[i, j, k], gz[i, j, k], 1.0)) if k > 0 else ((-1, 0, 0), (0.0, 0.0, 0.0)),
                ((i, j, k + 1), (fz[i, j, k + 1], gz[i, j, k + 1], -1.0)) if k < nz - 1 else ((-1, 0, 0), (0.0, 0.0, 0.0))):
            if a < 0:
                continue
            coef = max(sign * F, 0.0) + D  # inflow from the neighbour (upwind) plus diffusion
            q = index[a, c, e]
            if q >= 0:
                A[m, q] -= coef
            else:
                b[m] += coef * theta[a, c, e]  # fixed cells outside the box (or blocked)
    if n:
        theta[tuple(cells.T)] = np.linalg.solve(A, b)
    return 0
