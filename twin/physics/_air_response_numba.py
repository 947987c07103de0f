"""numba kernel of :mod:`dctwin.twin.physics.air_response` (the plain reference: ``_air_response_numpy``)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _box_sweep(theta, fx, fy, fz, gx, gy, gz, blocked, diag, src, i0, i1, j0, j1, forward, lo, mid, up, rhs):
    """One sweep of vertical-line Gauss-Seidel over the columns of the box [i0, i1) x [j0, j1) of the
    steady balance ``diag_P theta_P = sum_nb a_nb theta_nb + src_P`` (upwind advection on the face
    fluxes, diffusion on the conductances): each column solved exactly (Thomas) with its horizontal
    neighbours at their latest values. Cells outside the box and blocked cells keep their value (0: air
    from outside the box brings no rise). ``lo, mid, up, rhs``: scratch of one column. Returns the
    largest change of a cell (K)."""
    nx, ny, nz = theta.shape
    dmax = 0.0
    for ii in range(i1 - i0):
        i = i0 + ii if forward else i1 - 1 - ii
        for jj in range(j1 - j0):
            j = j0 + jj if forward else j1 - 1 - jj
            for k in range(nz):
                lo[k] = 0.0
                up[k] = 0.0
                if blocked[i, j, k] or diag[i, j, k] <= 0.0:
                    mid[k] = 1.0
                    rhs[k] = theta[i, j, k]
                    continue
                mid[k] = diag[i, j, k]
                s = src[i, j, k]
                if i > 0:
                    F = fx[i, j, k]
                    s += ((F if F > 0.0 else 0.0) + gx[i, j, k]) * theta[i - 1, j, k]
                if i < nx - 1:
                    F = fx[i + 1, j, k]
                    s += ((-F if F < 0.0 else 0.0) + gx[i + 1, j, k]) * theta[i + 1, j, k]
                if j > 0:
                    F = fy[i, j, k]
                    s += ((F if F > 0.0 else 0.0) + gy[i, j, k]) * theta[i, j - 1, k]
                if j < ny - 1:
                    F = fy[i, j + 1, k]
                    s += ((-F if F < 0.0 else 0.0) + gy[i, j + 1, k]) * theta[i, j + 1, k]
                if k > 0:
                    F = fz[i, j, k]
                    a = (F if F > 0.0 else 0.0) + gz[i, j, k]
                    if blocked[i, j, k - 1]:
                        s += a * theta[i, j, k - 1]
                    else:
                        lo[k] = -a
                if k < nz - 1:
                    F = fz[i, j, k + 1]
                    a = (-F if F < 0.0 else 0.0) + gz[i, j, k + 1]
                    if blocked[i, j, k + 1]:
                        s += a * theta[i, j, k + 1]
                    else:
                        up[k] = -a
                rhs[k] = s
            # Thomas: forward elimination, back substitution (the column is diagonally dominant)
            for k in range(1, nz):
                if mid[k - 1] != 0.0:
                    w = lo[k] / mid[k - 1]
                    mid[k] -= w * up[k - 1]
                    rhs[k] -= w * rhs[k - 1]
            new = rhs[nz - 1] / mid[nz - 1]
            for k in range(nz - 1, -1, -1):
                if k < nz - 1:
                    new = (rhs[k] - up[k] * new) / mid[k]
                dd = abs(new - theta[i, j, k])
                if dd > dmax:
                    dmax = dd
                theta[i, j, k] = new
    return dmax


@njit(cache=True, nogil=True)
def box_rise(theta, fx, fy, fz, gx, gy, gz, blocked, diag, src, i0, i1, j0, j1, tol, max_sweeps):
    """Steady temperature rise ``theta`` (K, in place) in the box [i0, i1) x [j0, j1) x all layers from
    the heat ``src`` (K m3/s, i.e. W / (rho cp)) on a frozen flow: symmetric vertical-line Gauss-Seidel
    sweeps of

        diag_P theta_P = sum_faces (max(F_in, 0) + D) theta_nb + src_P

    with ``diag`` = each cell's outflow plus conductances (air leaving through ports included), until
    a sweep changes no cell by more than ``tol`` (K). Returns the sweeps taken."""
    nz = theta.shape[2]
    lo = np.empty(nz)
    mid = np.empty(nz)
    up = np.empty(nz)
    rhs = np.empty(nz)
    n = 0
    for n in range(1, max_sweeps + 1):
        d1 = _box_sweep(theta, fx, fy, fz, gx, gy, gz, blocked, diag, src, i0, i1, j0, j1, True, lo, mid, up, rhs)
        d2 = _box_sweep(theta, fx, fy, fz, gx, gy, gz, blocked, diag, src, i0, i1, j0, j1, False, lo, mid, up, rhs)
        if max(d1, d2) < tol:
            break
    return n
