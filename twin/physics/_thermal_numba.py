"""numba kernels of the air-temperature transport (see :mod:`twin.physics.thermal`).

Finite volumes on the cells of an AirPlant grid. Per interior face (between two
fluid cells, minus side ``a``, plus side ``b``): volume flux ``F`` (m3/s, + from
a to b) and diffusive conductance ``D = alpha A / h`` (m3/s). Per port face:
flux into the room ``q`` (m3/s, negative = out) into fluid cell ``pc`` with
the inflow temperature ``pT`` (°C). Cell volume ``V`` (m3).

    V dT_P/dt = Σ_faces [ F_in T_upwind ... ] = - Σ_f (F_f T_up(f) + D_f (T_P - T_nb)) (outward)
                + Σ_ports (q > 0 ? q pT : q T_P)

Every face flux leaves one cell and enters the other, so Σ V T changes only by
the port terms: energy is conserved to round-off.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _net(T, fx, fy, fz, gx, gy, gz, pc, pq, pT, net):
    """net[c] = Σ advective + diffusive + port inflow of heat-volume (K m3/s) into each cell.

    Face flow from the minus cell a to the plus cell b: max(F, 0) T_a + min(F, 0) T_b + D (T_a - T_b)
    (upwind, written without branches so the loops vectorise).
    """
    nx, ny, nz = T.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                net[i, j, k] = 0.0
    for i in range(1, nx):
        for j in range(ny):
            for k in range(nz):
                F = fx[i, j, k]
                ta = T[i - 1, j, k]
                tb = T[i, j, k]
                h = max(F, 0.0) * ta + min(F, 0.0) * tb + gx[i, j, k] * (ta - tb)
                net[i - 1, j, k] -= h
                net[i, j, k] += h
    for i in range(nx):
        for j in range(1, ny):
            for k in range(nz):
                F = fy[i, j, k]
                ta = T[i, j - 1, k]
                tb = T[i, j, k]
                h = max(F, 0.0) * ta + min(F, 0.0) * tb + gy[i, j, k] * (ta - tb)
                net[i, j - 1, k] -= h
                net[i, j, k] += h
    for i in range(nx):
        for j in range(ny):
            for k in range(1, nz):
                F = fz[i, j, k]
                ta = T[i, j, k - 1]
                tb = T[i, j, k]
                h = max(F, 0.0) * ta + min(F, 0.0) * tb + gz[i, j, k] * (ta - tb)
                net[i, j, k - 1] -= h
                net[i, j, k] += h
    nf = net.ravel()
    tf = T.ravel()
    for p in range(pc.shape[0]):
        q = pq[p]
        c = pc[p]
        if q > 0.0:
            nf[c] += q * pT[p]
        else:
            nf[c] += q * tf[c]


@njit(cache=True, nogil=True)
def step(T, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, n_sub):
    """Advance T (°C, in place) by dt (s) in ``n_sub`` explicit upwind sub-steps.

    T_P += (dt / n_sub) * net_P / V per sub-step (see module docstring); stable and
    bounded while (dt / n_sub) * (Σ outflow + Σ D) <= V in every cell. Returns the
    heat-volume the ports brought in (K m3), summed from the port fluxes.
    """
    net = np.empty_like(T)
    h = dt / n_sub / vol
    nx, ny, nz = T.shape
    tf = T.ravel()
    heat = 0.0
    for _ in range(n_sub):
        _net(T, fx, fy, fz, gx, gy, gz, pc, pq, pT, net)
        for p in range(pc.shape[0]):
            q = pq[p]
            heat += (dt / n_sub) * (q * pT[p] if q > 0.0 else q * tf[pc[p]])
        for i in range(nx):
            for j in range(ny):
                for k in range(nz):
                    if not solid[i, j, k]:
                        T[i, j, k] += h * net[i, j, k]
    return heat


@njit(cache=True, nogil=True)
def outflow_rate(fx, fy, fz, gx, gy, gz, pc, pq, out):
    """out[c] = Σ outflow flux + Σ diffusive conductance of each cell (m3/s): the explicit stability bound."""
    nx, ny, nz = out.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                out[i, j, k] = 0.0
    for i in range(1, nx):
        for j in range(ny):
            for k in range(nz):
                F = fx[i, j, k]
                D = gx[i, j, k]
                out[i - 1, j, k] += D + (F if F > 0.0 else 0.0)
                out[i, j, k] += D + (-F if F < 0.0 else 0.0)
    for i in range(nx):
        for j in range(1, ny):
            for k in range(nz):
                F = fy[i, j, k]
                D = gy[i, j, k]
                out[i, j - 1, k] += D + (F if F > 0.0 else 0.0)
                out[i, j, k] += D + (-F if F < 0.0 else 0.0)
    for i in range(nx):
        for j in range(ny):
            for k in range(1, nz):
                F = fz[i, j, k]
                D = gz[i, j, k]
                out[i, j, k - 1] += D + (F if F > 0.0 else 0.0)
                out[i, j, k] += D + (-F if F < 0.0 else 0.0)
    of = out.ravel()
    for p in range(pc.shape[0]):
        if pq[p] < 0.0:
            of[pc[p]] -= pq[p]


@njit(cache=True, nogil=True)
def _gs_sweep(T, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, forward):
    """One (S)SOR sweep of the steady balance  diag_P T_P = Σ a_nb T_nb + src_P. Returns max |ΔT|."""
    nx, ny, nz = T.shape
    dmax = 0.0
    for ii in range(nx):
        i = ii if forward else nx - 1 - ii
        for jj in range(ny):
            j = jj if forward else ny - 1 - jj
            for kk in range(nz):
                k = kk if forward else nz - 1 - kk
                if solid[i, j, k]:
                    continue
                d = diag[i, j, k]
                if d <= 0.0:
                    continue
                s = src[i, j, k]
                if i > 0:
                    F = fx[i, j, k]
                    s += (F if F > 0.0 else 0.0) * T[i - 1, j, k] + gx[i, j, k] * T[i - 1, j, k]
                if i < nx - 1:
                    F = fx[i + 1, j, k]
                    s += (-F if F < 0.0 else 0.0) * T[i + 1, j, k] + gx[i + 1, j, k] * T[i + 1, j, k]
                if j > 0:
                    F = fy[i, j, k]
                    s += (F if F > 0.0 else 0.0) * T[i, j - 1, k] + gy[i, j, k] * T[i, j - 1, k]
                if j < ny - 1:
                    F = fy[i, j + 1, k]
                    s += (-F if F < 0.0 else 0.0) * T[i, j + 1, k] + gy[i, j + 1, k] * T[i, j + 1, k]
                if k > 0:
                    F = fz[i, j, k]
                    s += (F if F > 0.0 else 0.0) * T[i, j, k - 1] + gz[i, j, k] * T[i, j, k - 1]
                if k < nz - 1:
                    F = fz[i, j, k + 1]
                    s += (-F if F < 0.0 else 0.0) * T[i, j, k + 1] + gz[i, j, k + 1] * T[i, j, k + 1]
                tn = T[i, j, k] + omega * (s / d - T[i, j, k])
                dd = abs(tn - T[i, j, k])
                if dd > dmax:
                    dmax = dd
                T[i, j, k] = tn
    return dmax


@njit(cache=True, nogil=True)
def steady(T, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT_fixed, p_rack, rin_face_rack, rin_face,
           rack_dt, rack_q, n_racks, omega, tol, max_sweeps, tvd):
    """Steady temperature with racks coupled, by symmetric SOR sweeps (T in place).

    Steady balance per fluid cell: (Σ outflow + Σ D) T_P = Σ inflow T_up + Σ D T_nb + Σ_ports q pT.
    Rack exhaust faces (``p_rack[p] >= 0``) take pT = inlet_mean[rack] + rack_dt[rack], the
    inlet mean being the flow-weighted mean of T over the rack's intake faces
    (``rin_face`` cells, weights ``rin_face_rack``-grouped port flows), updated every sweep.
    Other ports use ``pT_fixed``. Stops when a sweep changes T by less than ``tol`` (K).
    Returns the number of sweeps, negative when over-relaxation (omega > 1) diverged.
    """
    nx, ny, nz = T.shape
    diag = np.zeros_like(T)
    outflow_rate(fx, fy, fz, gx, gy, gz, pc, pq, diag)
    src = np.zeros_like(T)
    srcf = src.ravel()
    tf = T.ravel()
    tin = np.zeros(n_racks)
    wsum = np.zeros(n_racks)
    pT = pT_fixed.copy()
    n = 0
    for n in range(1, max_sweeps + 1):
        # rack coupling
        for r in range(n_racks):
            tin[r] = 0.0
            wsum[r] = 0.0
        for m in range(rin_face.shape[0]):
            r = rin_face_rack[m]
            p = rin_face[m]
            wq = -pq[p]
            tin[r] += wq * tf[pc[p]]
            wsum[r] += wq
        for r in range(n_racks):
            if wsum[r] > 0.0:
                tin[r] = tin[r] / wsum[r]
        for p in range(pc.shape[0]):
            if p_rack[p] >= 0:
                pT[p] = tin[p_rack[p]] + rack_dt[p_rack[p]]
        if tvd:
            tvd_correction(T, fx, fy, fz, solid, src)
        else:
            srcf[:] = 0.0
        for p in range(pc.shape[0]):
            if pq[p] > 0.0:
                srcf[pc[p]] += pq[p] * pT[p]
        d1 = _gs_sweep(T, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, True)
        d2 = _gs_sweep(T, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, False)
        if max(d1, d2) < tol:
            break
        if not (max(d1, d2) < DIVERGED_K):
            return -n
    return n


#: a sweep that moves a cell by more than this (K) means over-relaxation diverges
DIVERGED_K = 1e3


@njit(cache=True, nogil=True)
def steady_tracer(C, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT, omega, tol, max_sweeps, tvd):
    """Steady passive scalar with fixed inflow values ``pT`` (symmetric SOR). Returns the sweeps."""
    diag = np.zeros_like(C)
    outflow_rate(fx, fy, fz, gx, gy, gz, pc, pq, diag)
    src = np.zeros_like(C)
    srcf = src.ravel()
    n = 0
    for n in range(1, max_sweeps + 1):
        if tvd:
            tvd_correction(C, fx, fy, fz, solid, src)
        else:
            srcf[:] = 0.0
        for p in range(pc.shape[0]):
            if pq[p] > 0.0:
                srcf[pc[p]] += pq[p] * pT[p]
        d1 = _gs_sweep(C, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, True)
        d2 = _gs_sweep(C, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, False)
        if max(d1, d2) < tol:
            break
    return n


@njit(cache=True, nogil=True)
def _vl(d1, d2):
    """van Leer limited slope (harmonic mean of the two differences when they agree in sign)."""
    if d1 * d2 <= 0.0:
        return 0.0
    return 2.0 * d1 * d2 / (d1 + d2)


@njit(cache=True, nogil=True)
def tvd_correction(T, fx, fy, fz, solid, corr):
    """Deferred correction of upwind advection to a van Leer (TVD, second order) face value.

    For each interior face with flux F: the face value is T_up + ½ ψ (T_up - T_upup),
    with the van Leer limiter on the consecutive differences along the face axis (upwind
    only where the upstream-upstream cell is solid or outside). corr[c] += F (T_up - T_face)
    on the upstream side and the negative on the downstream side, so Σ corr = 0 (conservative).
    """
    nx, ny, nz = T.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                corr[i, j, k] = 0.0
    for i in range(1, nx):
        for j in range(ny):
            for k in range(nz):
                F = fx[i, j, k]
                if F == 0.0:
                    continue
                if F > 0.0:
                    if i < 2 or solid[i - 2, j, k]:
                        continue
                    d = 0.5 * _vl(T[i - 1, j, k] - T[i - 2, j, k], T[i, j, k] - T[i - 1, j, k])
                else:
                    if i > nx - 2 or solid[i + 1, j, k]:
                        continue
                    d = 0.5 * _vl(T[i, j, k] - T[i + 1, j, k], T[i - 1, j, k] - T[i, j, k])
                h = F * d
                corr[i - 1, j, k] -= h
                corr[i, j, k] += h
    for i in range(nx):
        for j in range(1, ny):
            for k in range(nz):
                F = fy[i, j, k]
                if F == 0.0:
                    continue
                if F > 0.0:
                    if j < 2 or solid[i, j - 2, k]:
                        continue
                    d = 0.5 * _vl(T[i, j - 1, k] - T[i, j - 2, k], T[i, j, k] - T[i, j - 1, k])
                else:
                    if j > ny - 2 or solid[i, j + 1, k]:
                        continue
                    d = 0.5 * _vl(T[i, j, k] - T[i, j + 1, k], T[i, j - 1, k] - T[i, j, k])
                h = F * d
                corr[i, j - 1, k] -= h
                corr[i, j, k] += h
    for i in range(nx):
        for j in range(ny):
            for k in range(1, nz):
                F = fz[i, j, k]
                if F == 0.0:
                    continue
                if F > 0.0:
                    if k < 2 or solid[i, j, k - 2]:
                        continue
                    d = 0.5 * _vl(T[i, j, k - 1] - T[i, j, k - 2], T[i, j, k] - T[i, j, k - 1])
                else:
                    if k > nz - 2 or solid[i, j, k + 1]:
                        continue
                    d = 0.5 * _vl(T[i, j, k] - T[i, j, k + 1], T[i, j, k - 1] - T[i, j, k])
                h = F * d
                corr[i, j, k - 1] -= h
                corr[i, j, k] += h


@njit(cache=True, nogil=True)
def line_coefficients(fx, fy, fz, gx, gy, gz, solid, pc, pq, a):
    """Per-cell coefficients of the backward-Euler balance, combined once per flow (m3/s).

    ``a`` (7, nx, ny, nz) receives, for every fluid cell P, the weights of its neighbours'
    temperatures in  (V/dt + out_P) T_P = V/dt T_P^n + Σ_nb a_nb T_nb + Σ_ports q pT:
    a[0..3] west, east, south, north (inflow max(F, 0) from that side + D), a[4] below,
    a[5] above, and a[6] = out_P (Σ outflow + Σ D + port outflow). Solid cells get zeros.
    """
    nx, ny, nz = solid.shape
    for m in range(7):
        for i in range(nx):
            for j in range(ny):
                for k in range(nz):
                    a[m, i, j, k] = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    continue
                out = 0.0
                if i > 0:
                    F = fx[i, j, k]
                    D = gx[i, j, k]
                    a[0, i, j, k] = max(F, 0.0) + D
                    out += max(-F, 0.0) + D
                if i < nx - 1:
                    F = fx[i + 1, j, k]
                    D = gx[i + 1, j, k]
                    a[1, i, j, k] = max(-F, 0.0) + D
                    out += max(F, 0.0) + D
                if j > 0:
                    F = fy[i, j, k]
                    D = gy[i, j, k]
                    a[2, i, j, k] = max(F, 0.0) + D
                    out += max(-F, 0.0) + D
                if j < ny - 1:
                    F = fy[i, j + 1, k]
                    D = gy[i, j + 1, k]
                    a[3, i, j, k] = max(-F, 0.0) + D
                    out += max(F, 0.0) + D
                if k > 0:
                    F = fz[i, j, k]
                    D = gz[i, j, k]
                    a[4, i, j, k] = max(F, 0.0) + D
                    out += max(-F, 0.0) + D
                if k < nz - 1:
                    F = fz[i, j, k + 1]
                    D = gz[i, j, k + 1]
                    a[5, i, j, k] = max(-F, 0.0) + D
                    out += max(F, 0.0) + D
                a[6, i, j, k] = out
    sf = solid.ravel()
    a6 = a[6].ravel()
    for p in range(pc.shape[0]):
        if pq[p] < 0.0 and not sf[pc[p]]:
            a6[pc[p]] -= pq[p]


@njit(cache=True, nogil=True)
def line_factor(a, solid, cv, f):
    """Thomas factors of every vertical cell column for the diagonal V/dt + out (``cv`` = V/dt, m3/s).

    Column rows: -a_below T_{k-1} + (cv + out) T_k - a_above T_{k+1} = r_k (solid rows: T_k = r_k).
    f[0] = 1 / pivot_k, f[1] = a_above_k / pivot_k with pivot_k = cv + out_k - a_below_k f[1]_{k-1}.
    """
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            cprev = 0.0
            for k in range(nz):
                if solid[i, j, k]:
                    f[0, i, j, k] = 1.0
                    f[1, i, j, k] = 0.0
                    cprev = 0.0
                    continue
                piv = cv + a[6, i, j, k] - a[4, i, j, k] * cprev
                f[0, i, j, k] = 1.0 / piv
                f[1, i, j, k] = a[5, i, j, k] / piv
                cprev = f[1, i, j, k]


@njit(cache=True, nogil=True)
def _line_sweep(T, src, a, f, solid, di, dj):
    """One Gauss-Seidel sweep by vertical lines: each column solved exactly (Thomas) with its
    horizontal neighbours at their latest values; columns visited with i running in the
    direction ``di`` (+1/-1) and j in ``dj``."""
    nx, ny, nz = T.shape
    y = np.empty(nz)
    for ii in range(nx):
        i = ii if di > 0 else nx - 1 - ii
        for jj in range(ny):
            j = jj if dj > 0 else ny - 1 - jj
            yp = 0.0
            for k in range(nz):
                if solid[i, j, k]:
                    yp = T[i, j, k]
                else:
                    r = src[i, j, k]
                    if i > 0:
                        r += a[0, i, j, k] * T[i - 1, j, k]
                    if i < nx - 1:
                        r += a[1, i, j, k] * T[i + 1, j, k]
                    if j > 0:
                        r += a[2, i, j, k] * T[i, j - 1, k]
                    if j < ny - 1:
                        r += a[3, i, j, k] * T[i, j + 1, k]
                    yp = (r + a[4, i, j, k] * yp) * f[0, i, j, k]
                y[k] = yp
            x = 0.0
            for k in range(nz - 1, -1, -1):
                x = y[k] + f[1, i, j, k] * x
                T[i, j, k] = x


@njit(cache=True, nogil=True)
def _line_residual(Ts, src, a, solid, cv, h):
    """max over fluid cells of |T^n + h net(T*) - T*| (K), h = dt/V: the move the flux-form update
    makes away from the iterate, i.e. (dt/V) |residual of the backward-Euler balance|."""
    nx, ny, nz = Ts.shape
    e = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    continue
                r = src[i, j, k] - (cv + a[6, i, j, k]) * Ts[i, j, k]
                if i > 0:
                    r += a[0, i, j, k] * Ts[i - 1, j, k]
                if i < nx - 1:
                    r += a[1, i, j, k] * Ts[i + 1, j, k]
                if j > 0:
                    r += a[2, i, j, k] * Ts[i, j - 1, k]
                if j < ny - 1:
                    r += a[3, i, j, k] * Ts[i, j + 1, k]
                if k > 0:
                    r += a[4, i, j, k] * Ts[i, j, k - 1]
                if k < nz - 1:
                    r += a[5, i, j, k] * Ts[i, j, k + 1]
                d = abs(h * r)
                if d > e:
                    e = d
    return e


@njit(cache=True, nogil=True)
def step_implicit(T, guess, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, a, f, tol, max_sweeps):
    """Advance T (°C, in place) by dt (s): backward Euler, then a conservative flux-form update.

    ``a``: :func:`line_coefficients`; ``f``: :func:`line_factor` for cv = V/dt.
    1. Solve (V/dt + out_P) T*_P = V/dt T_P + Σ_nb a_nb T*_nb + Σ_ports q pT, starting from
       ``guess`` (fluid cells; e.g. T extrapolated from the previous steps), by Gauss-Seidel
       sweeps over vertical lines (each column exact), the horizontal order cycling through
       (+i +j), (-i -j), (+i -j), (-i +j), until max |(dt/V) residual| < ``tol`` (K), checked
       before the first sweep and after each;
    2. T_P += dt/V * net_P(T*): every face flux is counted once for each of its two cells, so
       the air's energy changes exactly by the port heat (round-off), whatever the sweeps left;
       the update moves T from T* by exactly the (dt/V) residual, so |T - T*| < tol.
    Unconditionally stable. Returns (heat-volume the ports brought in (K m3):
    dt Σ_ports q (q > 0 ? pT : T*_cell), number of sweeps).
    """
    nx, ny, nz = T.shape
    cv = vol / dt
    h = dt / vol
    src = np.empty_like(T)
    Ts = np.empty_like(T)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                src[i, j, k] = cv * T[i, j, k]
                Ts[i, j, k] = T[i, j, k] if solid[i, j, k] else guess[i, j, k]
    srcf = src.ravel()
    for p in range(pc.shape[0]):
        if pq[p] > 0.0:
            srcf[pc[p]] += pq[p] * pT[p]
    n = 0
    e = _line_residual(Ts, src, a, solid, cv, h)
    while not (e < tol) and n < max_sweeps:
        m = n % 4
        _line_sweep(Ts, src, a, f, solid, 1 if (m == 0 or m == 2) else -1, 1 if (m == 0 or m == 3) else -1)
        n += 1
        e = _line_residual(Ts, src, a, solid, cv, h)
    net = np.empty_like(T)
    _net(Ts, fx, fy, fz, gx, gy, gz, pc, pq, pT, net)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if not solid[i, j, k]:
                    T[i, j, k] += h * net[i, j, k]
    tsf = Ts.ravel()
    heat = 0.0
    for p in range(pc.shape[0]):
        q = pq[p]
        heat += dt * (q * pT[p] if q > 0.0 else q * tsf[pc[p]])
    return heat, n
