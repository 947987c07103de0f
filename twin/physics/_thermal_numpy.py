"""Plain numpy references of the temperature kernels in :mod:`._thermal_numba`.

``net`` / ``step`` are the same explicit upwind finite-volume update, vectorised.
``steady_dense`` solves the steady coupled problem directly (dense matrix, small grids
only): it is an independent check of the numba sweeps, not the same iteration.
"""

from __future__ import annotations

import numpy as np


def net(T, fx, fy, fz, gx, gy, gz, pc, pq, pT):
    """Heat-volume inflow (K m3/s) of every cell: advection (upwind), diffusion, ports."""
    out = np.zeros_like(T)
    for axis, F, D in ((0, fx, gx), (1, fy, gy), (2, fz, gz)):
        n = T.shape[axis]
        sl_a = [slice(None)] * 3
        sl_b = [slice(None)] * 3
        sl_f = [slice(None)] * 3
        sl_a[axis] = slice(0, n - 1)
        sl_b[axis] = slice(1, n)
        sl_f[axis] = slice(1, n)
        ta, tb = T[tuple(sl_a)], T[tuple(sl_b)]
        f, d = F[tuple(sl_f)], D[tuple(sl_f)]
        h = np.where(f > 0, f * ta, f * tb) + d * (ta - tb)
        out[tuple(sl_a)] -= h
        out[tuple(sl_b)] += h
    tf = T.reshape(-1)
    contrib = np.where(pq > 0, pq * pT, pq * tf[pc])
    np.add.at(out.reshape(-1), pc, contrib)
    return out


def step(T, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, n_sub):
    """Explicit sub-stepped update, as the numba kernel (in place)."""
    h = dt / n_sub / vol
    heat = 0.0
    for _ in range(n_sub):
        heat += dt / n_sub * float(np.where(pq > 0, pq * pT, pq * T.reshape(-1)[pc]).sum())
        n = net(T, fx, fy, fz, gx, gy, gz, pc, pq, pT)
        T += np.where(solid, 0.0, h * n)
    return heat


def steady_dense(solid, fx, fy, fz, gx, gy, gz, pc, pq, pT_fixed, p_rack, rin_face_rack, rin_face, rack_dt,
                 n_racks):
    """Steady temperature with racks coupled, by one dense linear solve (small grids only).

    Unknowns: fluid-cell temperatures. Rack exhaust faces bring q (T_in,r + dT_r) with
    T_in,r = Σ w_m T_cell(m) / Σ w_m over the rack's intake faces (w = -q).
    """
    shape = solid.shape
    ncell = solid.size
    fluid = ~solid.reshape(-1)
    A = np.zeros((ncell, ncell))
    b = np.zeros(ncell)
    idx = np.arange(ncell).reshape(shape)
    for axis, F, D in ((0, fx, gx), (1, fy, gy), (2, fz, gz)):
        n = shape[axis]
        for m in range(1, n):
            sl_a = [slice(None)] * 3
            sl_b = [slice(None)] * 3
            sl_a[axis] = m - 1
            sl_b[axis] = m
            ia = idx[tuple(sl_a)].reshape(-1)
            ib = idx[tuple(sl_b)].reshape(-1)
            sl_f = [slice(None)] * 3
            sl_f[axis] = m
            f = F[tuple(sl_f)].reshape(-1)
            d = D[tuple(sl_f)].reshape(-1)
            for a_, b_, ff, dd in zip(ia, ib, f, d):
                if ff == 0.0 and dd == 0.0:
                    continue
                # flux h = (ff>0 ? ff Ta : ff Tb) + dd (Ta - Tb) leaves a, enters b; rows: Σ in - out = 0
                ca = (ff if ff > 0 else 0.0) + dd
                cb = (ff if ff < 0 else 0.0) - dd
                A[a_, a_] -= ca
                A[a_, b_] -= cb
                A[b_, a_] += ca
                A[b_, b_] += cb
    # rack inlet means as linear combinations of cells
    wsum = np.zeros(n_racks)
    for m_, p in zip(rin_face_rack, rin_face):
        wsum[m_] += -pq[p]
    for p in range(len(pc)):
        c = pc[p]
        q = pq[p]
        if q > 0:
            r = p_rack[p]
            if r >= 0:
                b[c] -= q * rack_dt[r]
                if wsum[r] > 0:
                    for m_, pp in zip(rin_face_rack, rin_face):
                        if m_ == r:
                            A[c, pc[pp]] += q * (-pq[pp]) / wsum[r]
            else:
                b[c] -= q * pT_fixed[p]
        else:
            A[c, c] += q
    Af = A[np.ix_(fluid, fluid)]
    T = np.zeros(ncell)
    T[fluid] = np.linalg.solve(Af, b[fluid])
    return T.reshape(shape)


def step_implicit(T, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt):
    """Backward Euler solved directly (dense, small grids), then the conservative flux-form update,
    as the numba kernel. Returns the port heat-volume (K m3)."""
    shape = T.shape
    n = T.size
    fluid = ~solid.reshape(-1)
    s = net(np.zeros(shape), fx, fy, fz, gx, gy, gz, pc, pq, pT).reshape(-1)
    L = np.empty((n, n))
    for m in range(n):
        e = np.zeros(n)
        e[m] = 1.0
        L[:, m] = net(e.reshape(shape), fx, fy, fz, gx, gy, gz, pc, pq, pT).reshape(-1) - s
    A = np.eye(n) * (vol / dt) - L
    b = vol / dt * T.reshape(-1) + s
    Ts = T.reshape(-1).copy()
    Ts[fluid] = np.linalg.solve(A[np.ix_(fluid, fluid)], b[fluid] - A[np.ix_(fluid, ~fluid)] @ Ts[~fluid])
    T += np.where(solid, 0.0, dt / vol * net(Ts.reshape(shape), fx, fy, fz, gx, gy, gz, pc, pq, pT))
    return dt * float(np.where(pq > 0, pq * pT, pq * Ts[pc]).sum())
