"""Plain numpy references of the temperature kernels in :mod:`._thermal_numba`.

``net`` / ``step`` are the same explicit upwind finite-volume update, vectorised.
``step_implicit_lines`` is the engine's backward-Euler step (same equations, same stop on
the residual, same flux-form update) solved by vectorised line-Jacobi iterations: every
vertical column at once (Thomas over k on (nx, ny) arrays) with the horizontal neighbours at
the previous iterate. ``steady_dense`` / ``step_implicit`` solve directly (dense matrix, small
grids only): independent checks of the numba sweeps, not the same iteration.
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


def line_coefficients(fx, fy, fz, gx, gy, gz, solid, pc, pq):
    """The (7, nx, ny, nz) backward-Euler coefficients of :func:`._thermal_numba.line_coefficients`
    (west, east, south, north, below, above inflow + conductance; out), vectorised."""
    shape = solid.shape
    a = np.zeros((7,) + shape)
    for axis, F, D in ((0, fx, gx), (1, fy, gy), (2, fz, gz)):
        n = shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, n - 1)  # cells on the minus side of the interior faces
        hi[axis] = slice(1, n)  # cells on the plus side
        f = F[tuple(hi)]
        d = D[tuple(hi)]
        a[2 * axis][tuple(hi)] = np.maximum(f, 0.0) + d  # plus cell: inflow from its minus neighbour
        a[2 * axis + 1][tuple(lo)] = np.maximum(-f, 0.0) + d  # minus cell: inflow from its plus neighbour
        a[6][tuple(hi)] += np.maximum(-f, 0.0) + d
        a[6][tuple(lo)] += np.maximum(f, 0.0) + d
    out_q = np.where(pq < 0, -pq, 0.0)
    np.add.at(a[6].reshape(-1), pc, out_q)
    a[:, solid] = 0.0
    return a


def _residual(Ts, src, a, solid, cv):
    """src + Σ_nb a_nb T_nb - (cv + out) T (fluid cells; 0 in solids)."""
    r = src - (cv + a[6]) * Ts
    r[1:] += a[0][1:] * Ts[:-1]
    r[:-1] += a[1][:-1] * Ts[1:]
    r[:, 1:] += a[2][:, 1:] * Ts[:, :-1]
    r[:, :-1] += a[3][:, :-1] * Ts[:, 1:]
    r[:, :, 1:] += a[4][:, :, 1:] * Ts[:, :, :-1]
    r[:, :, :-1] += a[5][:, :, :-1] * Ts[:, :, 1:]
    r[solid] = 0.0
    return r


def coarse_operators(a, cv, solid, b):
    """Reference of ``_thermal_numba._coarse_operators``: the backward-Euler balance summed over blocks of
    ``b`` x ``b`` cell columns, layer by layer: (D, Cw, Ce, Cs, Cn, Cb, Ct), each (ceil(nx/b), ceil(ny/b), nz)."""
    nx, ny, nz = solid.shape
    fluid = ~solid
    w = [np.where(fluid, a[m], 0.0) for m in range(7)]
    i = np.arange(nx)[:, None, None]
    j = np.arange(ny)[None, :, None]
    N, M = -(-nx // b), -(-ny // b)

    def blocks(x):
        out = np.zeros((N * b, M * b, nz))
        out[:nx, :ny] = x
        return out.reshape(N, b, M, b, nz).sum(axis=(1, 3))

    # a weight crosses the block's side when the neighbour lies in another block (or the domain ends)
    west = (i % b == 0) | (i == 0)
    east = (i % b == b - 1) | (i == nx - 1)
    south = (j % b == 0) | (j == 0)
    north = (j % b == b - 1) | (j == ny - 1)
    inside = w[0] * ~west + w[1] * ~east + w[2] * ~south + w[3] * ~north
    D = blocks(np.where(fluid, cv + w[6], 0.0) - inside)
    lo = np.zeros(nz, bool)
    lo[1:] = True
    return (D, blocks(w[0] * west * (i > 0)), blocks(w[1] * east * (i < nx - 1)), blocks(w[2] * south * (j > 0)),
            blocks(w[3] * north * (j < ny - 1)), blocks(w[4] * lo), blocks(w[5] * lo[::-1]))


def step_implicit_lines(T, guess, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, tol, max_iter):
    """Backward Euler by line-Jacobi iterations (vectorised), then the flux-form update (in place).

    Solves (V/dt + out_P) T*_P = V/dt T_P + Σ_nb a_nb T*_nb + Σ_ports q pT from ``guess`` until
    max |(dt/V) residual| < ``tol`` (K), like the numba kernel; each iteration solves every
    vertical column exactly with its horizontal neighbours at the previous iterate. Then
    T += dt/V net(T*). Returns (port heat-volume (K m3), iterations).
    """
    cv = vol / dt
    h = dt / vol
    a = line_coefficients(fx, fy, fz, gx, gy, gz, solid, pc, pq)
    src = cv * T
    np.add.at(src.reshape(-1), pc, np.where(pq > 0, pq * pT, 0.0))
    Ts = np.where(solid, T, guess)
    fluid = ~solid
    nz = T.shape[2]
    # Thomas factors of the columns (solid rows: identity)
    inv = np.empty_like(T)
    cp = np.empty_like(T)
    cprev = np.zeros(T.shape[:2])
    for k in range(nz):
        piv = np.where(solid[:, :, k], 1.0, cv + a[6][:, :, k] - a[4][:, :, k] * cprev)
        inv[:, :, k] = 1.0 / piv
        cp[:, :, k] = np.where(solid[:, :, k], 0.0, a[5][:, :, k] * inv[:, :, k])
        cprev = cp[:, :, k]
    n = 0
    while n < max_iter and not (np.abs(h * _residual(Ts, src, a, solid, cv)).max(initial=0.0) < tol):
        r = src.copy()
        r[1:] += a[0][1:] * Ts[:-1]
        r[:-1] += a[1][:-1] * Ts[1:]
        r[:, 1:] += a[2][:, 1:] * Ts[:, :-1]
        r[:, :-1] += a[3][:, :-1] * Ts[:, 1:]
        r = np.where(solid, Ts, r)
        y = np.empty_like(T)
        yp = np.zeros(T.shape[:2])
        for k in range(nz):
            yp = (r[:, :, k] + a[4][:, :, k] * yp) * inv[:, :, k]
            y[:, :, k] = yp
        x = np.zeros(T.shape[:2])
        for k in range(nz - 1, -1, -1):
            x = y[:, :, k] + cp[:, :, k] * x
            Ts[:, :, k] = x
        n += 1
    T += np.where(fluid, h * net(Ts, fx, fy, fz, gx, gy, gz, pc, pq, pT), 0.0)
    return dt * float(np.where(pq > 0, pq * pT, pq * Ts.reshape(-1)[pc]).sum()), n


def extrapolate(T, r1, r2, a1, a2, out):
    """out = T + a1 r1 + a2 r2, as the numba kernel."""
    out[...] = T + a1 * r1.astype(np.float64) + a2 * r2.astype(np.float64)


def rate(new, old, dt, out):
    """out = (new - old) / dt, as the numba kernel."""
    out[...] = (new - old) / dt
