"""Plain numpy/scipy references of :mod:`._turbulence_numba` (for the tests): the same discretisation,
the implicit step solved exactly by a sparse direct solve instead of Gauss-Seidel sweeps."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def _centres(u, v, w):
    return 0.5 * (u[:-1] + u[1:]), 0.5 * (v[:, :-1] + v[:, 1:]), 0.5 * (w[:, :, :-1] + w[:, :, 1:])


def _ddx(f, solid, h, axis):
    """Central difference of cell values ``f`` along ``axis``, one-sided (with the cell itself) where a
    neighbour is solid or outside the grid."""
    n = f.shape[axis]
    fp = np.copy(f)
    fm = np.copy(f)
    hp = np.zeros(f.shape)
    hm = np.zeros(f.shape)
    sl = [slice(None)] * 3
    lo, hi = list(sl), list(sl)
    lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
    lo, hi = tuple(lo), tuple(hi)
    ok = ~solid[hi]
    fp[lo] = np.where(ok, f[hi], f[lo])
    hp[lo] = np.where(ok, h, 0.0)
    ok = ~solid[lo]
    fm[hi] = np.where(ok, f[lo], f[hi])
    hm[hi] = np.where(ok, h, 0.0)
    hh = hp + hm
    return np.where(hh > 0, (fp - fm) / np.where(hh > 0, hh, 1.0), 0.0)


def strain_sq(u, v, w, solid, dx, dy, dz, kato=False):
    """``S² = 2 S_ij S_ij`` (1/s²) at cell centres, or ``S Ω`` (``kato``), as :func:`._turbulence_numba.strain_sq`."""
    a, b, c = _centres(u, v, w)
    ux = np.diff(u, axis=0) / dx
    vy = np.diff(v, axis=1) / dy
    wz = np.diff(w, axis=2) / dz
    vx, wx = _ddx(b, solid, dx, 0), _ddx(c, solid, dx, 0)
    uy, wy = _ddx(a, solid, dy, 1), _ddx(c, solid, dy, 1)
    uz, vz = _ddx(a, solid, dz, 2), _ddx(b, solid, dz, 2)
    s2 = 2.0 * (ux ** 2 + vy ** 2 + wz ** 2) + (uy + vx) ** 2 + (uz + wx) ** 2 + (vz + wy) ** 2
    if kato:
        s2 = np.sqrt(s2 * ((wy - vz) ** 2 + (uz - wx) ** 2 + (vx - uy) ** 2))
    return np.where(solid, 0.0, s2)


def k_step(kt, u, v, w, cx, cy, cz, solid, nu, lmix, s2, port_in, port_out, dt, dx, dy, dz, sigma_k, c_mu):
    """The implicit step of :func:`._turbulence_numba.k_step`, solved exactly; returns the new k."""
    shape = solid.shape
    n = solid.size
    idx = np.arange(n).reshape(shape)
    vol = dx * dy * dz
    k0 = np.maximum(kt, 0.0)
    diag = vol / dt + vol * c_mu ** 0.75 * np.sqrt(k0) / lmix + port_out
    rhs = vol / dt * k0 + vol * nu * s2 + port_in
    rows, cols, vals = [], [], []
    for axis, vel, cond, area, h in ((0, u, cx, dy * dz, dx), (1, v, cy, dx * dz, dy), (2, w, cz, dx * dy, dz)):
        m = shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        fc = [slice(None)] * 3
        lo[axis], hi[axis], fc[axis] = slice(0, m - 1), slice(1, m), slice(1, m)
        lo, hi, fc = tuple(lo), tuple(hi), tuple(fc)
        open_ = (cond[fc] > 0) & ~solid[lo] & ~solid[hi]
        flux = vel[fc] * area  # + from the low cell to the high cell
        g = cond[fc] * 0.5 * (nu[lo] + nu[hi]) / sigma_k * area / h
        il, ih = idx[lo][open_], idx[hi][open_]
        f, gg = flux[open_], g[open_]
        # low cell: outflow max(f, 0) and g on its diagonal, inflow max(-f, 0) + g from the high cell
        np.add.at(diag.reshape(-1), il, np.maximum(f, 0.0) + gg)
        np.add.at(diag.reshape(-1), ih, np.maximum(-f, 0.0) + gg)
        rows += [il, ih]
        cols += [ih, il]
        vals += [-(np.maximum(-f, 0.0) + gg), -(np.maximum(f, 0.0) + gg)]
    sol = solid.reshape(-1)
    d = np.where(sol, 1.0, diag.reshape(-1))
    r = np.where(sol, 0.0, rhs.reshape(-1))
    a = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    a = a + sp.diags(d)
    return spla.spsolve(a.tocsc(), r).reshape(shape)


def k_viscosity(kt, lmix, solid, c_mu, nu_floor):
    """``nu_t = max(C_mu^¼ sqrt(k) l, nu_floor)``, 0 in solids."""
    nu = np.maximum(c_mu ** 0.25 * np.sqrt(np.maximum(kt, 0.0)) * lmix, nu_floor)
    return np.where(solid, 0.0, nu)
