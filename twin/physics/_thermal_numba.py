"""numba kernels of the air-temperature transport (see :mod:`dctwin.twin.physics.thermal`).

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
    (upwind). One pass: each cell takes the flows through its three minus-side faces and gives
    them to those neighbours (visited before it), so each face value is computed once and
    counted with opposite signs on its two cells.
    """
    nx, ny, nz = T.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                tb = T[i, j, k]
                acc = 0.0
                if i > 0:
                    F = fx[i, j, k]
                    ta = T[i - 1, j, k]
                    h = max(F, 0.0) * ta + min(F, 0.0) * tb + gx[i, j, k] * (ta - tb)
                    net[i - 1, j, k] -= h
                    acc += h
                if j > 0:
                    F = fy[i, j, k]
                    ta = T[i, j - 1, k]
                    h = max(F, 0.0) * ta + min(F, 0.0) * tb + gy[i, j, k] * (ta - tb)
                    net[i, j - 1, k] -= h
                    acc += h
                if k > 0:
                    F = fz[i, j, k]
                    ta = T[i, j, k - 1]
                    h = max(F, 0.0) * ta + min(F, 0.0) * tb + gz[i, j, k] * (ta - tb)
                    net[i, j, k - 1] -= h
                    acc += h
                net[i, j, k] = acc
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
    out[:] = 0.0
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


# Signature: ``forward`` is passed as a literal True/False, which would compile it twice.
@njit("float64(float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], "
      "float64[:, :, ::1], float64[:, :, ::1], boolean[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], float64, "
      "boolean)", cache=True, nogil=True)
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


@njit(cache=True, nogil=True, inline="always")
def _rack_exhausts(tf, pc, pq, p_rack, rin_face_rack, rin_face, rack_dt, tin, wsum, pT):
    """The racks' coupling of a steady solve: each rack's inlet (°C, into ``tin``) is the flow-weighted
    mean of the flat temperatures ``tf`` over its intake faces (``rin_face``, grouped by
    ``rin_face_rack``), and its exhaust faces (``p_rack[p] >= 0``) bring inlet + ``rack_dt`` (into ``pT``)."""
    for r in range(tin.shape[0]):
        tin[r] = 0.0
        wsum[r] = 0.0
    for m in range(rin_face.shape[0]):
        r = rin_face_rack[m]
        p = rin_face[m]
        wq = -pq[p]
        tin[r] += wq * tf[pc[p]]
        wsum[r] += wq
    for r in range(tin.shape[0]):
        if wsum[r] > 0.0:
            tin[r] = tin[r] / wsum[r]
    for p in range(pc.shape[0]):
        if p_rack[p] >= 0:
            pT[p] = tin[p_rack[p]] + rack_dt[p_rack[p]]


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
    tf = T.ravel()
    tin = np.zeros(n_racks)
    wsum = np.zeros(n_racks)
    pT = pT_fixed.copy()
    tvd_src = np.zeros_like(T)
    n = 0
    for n in range(1, max_sweeps + 1):
        _rack_exhausts(tf, pc, pq, p_rack, rin_face_rack, rin_face, rack_dt, tin, wsum, pT)
        change = _steady_sweep(T, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT, diag, src, omega, tvd, tvd_src)
        if change < tol:
            break
        if not (change < DIVERGED_K):
            return -n
    return n


@njit(cache=True, nogil=True)
def steady_lines(T, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT_fixed, p_rack, rin_face_rack, rin_face,
                 rack_dt, n_racks, a, f, order, cv, tol, max_sweeps):
    """Steady temperature with racks coupled (as :func:`steady`), by Gauss-Seidel over vertical cell
    lines in flow order (T in place, °C); upwind advection (:func:`steady_lines_tvd`: with the TVD
    correction, a kernel of its own so that a solve without it does not compile it).

    ``a``: :func:`line_coefficients`; ``order``: :func:`column_order`; ``f``: :func:`line_factor` for
    ``cv`` (m3/s), a pseudo-time term ``cv (T_P - T_P^prev)`` that only keeps a column without outflow
    or conductance solvable (it vanishes at the fixed point, so the answer does not depend on it).
    Each sweep first sets the rack exhaust faces to inlet mean + ``rack_dt`` (as :func:`steady`), then
    solves every column exactly with its horizontal neighbours at their latest values, the columns in
    the order of the flow, so heat is carried downstream within one sweep. Stops when a sweep changes
    no cell by more than ``tol`` (K). Returns the number of sweeps (negative when T stopped being finite).
    """
    src, prevf, tin, wsum, pT = _lines_work(T, n_racks, pT_fixed)
    srcf = src.ravel()
    tf = T.ravel()
    n = 0
    for n in range(1, max_sweeps + 1):
        _rack_exhausts(tf, pc, pq, p_rack, rin_face_rack, rin_face, rack_dt, tin, wsum, pT)
        for c in range(srcf.shape[0]):
            prevf[c] = tf[c]
            srcf[c] = cv * tf[c]
        change = _lines_sweep_change(T, src, pc, pq, pT, a, f, solid, order, prevf)
        if not (change < DIVERGED_K):
            return -n
        if change < tol:
            break
    return n


@njit(cache=True, nogil=True)
def steady_lines_tvd(T, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT_fixed, p_rack, rin_face_rack, rin_face,
                     rack_dt, n_racks, a, f, order, cv, tol, max_sweeps):
    """:func:`steady_lines` with the deferred TVD correction (:func:`tvd_correction`), relaxed by
    :data:`TVD_RELAX` every sweep after the rack exhausts are set."""
    src, prevf, tin, wsum, pT = _lines_work(T, n_racks, pT_fixed)
    srcf = src.ravel()
    tf = T.ravel()
    corr = np.zeros_like(T)
    corrf = corr.ravel()
    tvdf = np.zeros_like(T).ravel()
    n = 0
    for n in range(1, max_sweeps + 1):
        _rack_exhausts(tf, pc, pq, p_rack, rin_face_rack, rin_face, rack_dt, tin, wsum, pT)
        tvd_correction(T, fx, fy, fz, solid, corr)
        for c in range(srcf.shape[0]):
            prevf[c] = tf[c]
            s = cv * tf[c]
            tvdf[c] += TVD_RELAX * (corrf[c] - tvdf[c])
            s += tvdf[c]
            srcf[c] = s
        change = _lines_sweep_change(T, src, pc, pq, pT, a, f, solid, order, prevf)
        if not (change < DIVERGED_K):
            return -n
        if change < tol:
            break
    return n


@njit(cache=True, nogil=True, inline="always")
def _lines_work(T, n_racks, pT_fixed):
    """Work arrays of :func:`steady_lines`: sources, previous field (flat), rack inlets and weights, port
    temperatures (a copy of ``pT_fixed``)."""
    return np.empty_like(T), np.empty_like(T).ravel(), np.zeros(n_racks), np.zeros(n_racks), pT_fixed.copy()


@njit(cache=True, nogil=True, inline="always")
def _lines_sweep_change(T, src, pc, pq, pT, a, f, solid, order, prevf):
    """One sweep of :func:`steady_lines` once ``src`` holds its pseudo-time (and TVD) terms: adds the
    inflow of the ports, solves the lines, returns the largest change of a cell from ``prevf`` (K)."""
    srcf = src.ravel()
    for p in range(pc.shape[0]):
        if pq[p] > 0.0:
            srcf[pc[p]] += pq[p] * pT[p]
    nx, ny, _nz = T.shape
    _line_sweep(T, src, a[0], a[1], a[2], a[3], f[0], f[1], f[2], solid, order, nx * ny)
    tf = T.ravel()
    change = 0.0
    for c in range(tf.shape[0]):
        d = abs(tf[c] - prevf[c])
        if d > change:
            change = d
    return change


#: share of the change of the TVD correction taken per sweep of a steady solve (1: the correction of
#: the present field; without relaxation the limiter's switching held room B1 at 1e-3 K for 20,000 sweeps)
TVD_RELAX = 0.25
#: a sweep that moves a cell by more than this (K) means over-relaxation diverges
DIVERGED_K = 1e3


@njit(cache=True, nogil=True)
def steady_tracer(C, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT, omega, tol, max_sweeps, tvd):
    """Steady passive scalar with fixed inflow values ``pT`` (symmetric SOR). Returns the sweeps."""
    diag = np.zeros_like(C)
    outflow_rate(fx, fy, fz, gx, gy, gz, pc, pq, diag)
    src = np.zeros_like(C)
    tvd_src = np.zeros_like(C)
    n = 0
    for n in range(1, max_sweeps + 1):
        if _steady_sweep(C, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT, diag, src, omega, tvd, tvd_src) < tol:
            break
    return n


@njit(cache=True, nogil=True)
def _steady_sweep(T, fx, fy, fz, gx, gy, gz, solid, pc, pq, pT, diag, src, omega, tvd, tvd_src):
    """One symmetric SOR sweep (forward, then backward) of the steady transport with inflow values
    ``pT`` on the port faces (and the TVD deferred correction when ``tvd``: relaxed by
    :data:`TVD_RELAX` toward the correction of the present field, kept in ``tvd_src`` between
    sweeps, so the limiter's switching cannot keep the sweeps from settling); returns the largest
    change of a cell (K)."""
    srcf = src.ravel()
    if tvd:
        tvd_correction(T, fx, fy, fz, solid, src)
        tf = tvd_src.ravel()
        for c in range(srcf.shape[0]):
            tf[c] += TVD_RELAX * (srcf[c] - tf[c])
            srcf[c] = tf[c]
    else:
        srcf[:] = 0.0
    for p in range(pc.shape[0]):
        if pq[p] > 0.0:
            srcf[pc[p]] += pq[p] * pT[p]
    d1 = _gs_sweep(T, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, True)
    d2 = _gs_sweep(T, fx, fy, fz, gx, gy, gz, solid, diag, src, omega, False)
    return max(d1, d2)


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
    corr[:] = 0.0
    nx, ny, nz = T.shape
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


@njit(cache=True, nogil=True, inline="always")
def _axis_weights(out, f_lo, d_lo, f_hi, d_hi, has_lo, has_hi):
    """Along one axis of a cell: (weight of its low neighbour, of its high neighbour, ``out`` plus
    the outflow and conductance through the two faces), from the fluxes f and conductances d of its
    low and high faces (m3/s); a face on the domain boundary (``has_*`` False) counts nothing."""
    w_lo = 0.0
    w_hi = 0.0
    if has_lo:
        w_lo = max(f_lo, 0.0) + d_lo
        out += max(-f_lo, 0.0) + d_lo
    if has_hi:
        w_hi = max(-f_hi, 0.0) + d_hi
        out += max(f_hi, 0.0) + d_hi
    return w_lo, w_hi, out


@njit(cache=True, nogil=True)
def line_coefficients(fx, fy, fz, gx, gy, gz, solid, pc, pq, a):
    """Per-cell coefficients of the backward-Euler balance, combined once per flow (m3/s).

    ``a`` (7, nx, ny, nz) receives, for every fluid cell P, the weights of its neighbours'
    temperatures in  (V/dt + out_P) T_P = V/dt T_P^n + Σ_nb a_nb T_nb + Σ_ports q pT:
    a[0..3] west, east, south, north (inflow max(F, 0) from that side + D), a[4] below,
    a[5] above, and a[6] = out_P (Σ outflow + Σ D + port outflow). Solid cells get zeros.
    """
    nx, ny, nz = solid.shape
    a[:] = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    continue
                w, e, out = _axis_weights(0.0, fx[i, j, k], gx[i, j, k], fx[i + 1, j, k], gx[i + 1, j, k],
                                          i > 0, i < nx - 1)
                s, n, out = _axis_weights(out, fy[i, j, k], gy[i, j, k], fy[i, j + 1, k], gy[i, j + 1, k],
                                          j > 0, j < ny - 1)
                b, t, out = _axis_weights(out, fz[i, j, k], gz[i, j, k], fz[i, j, k + 1], gz[i, j, k + 1],
                                          k > 0, k < nz - 1)
                a[0, i, j, k] = w
                a[1, i, j, k] = e
                a[2, i, j, k] = s
                a[3, i, j, k] = n
                a[4, i, j, k] = b
                a[5, i, j, k] = t
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
    pivot_k = cv + out_k - a_below_k f[1]_{k-1}; f[0] = 1 / pivot, f[1] = a_above / pivot,
    f[2] = a_below / pivot, so the forward pass y_k = f[0] r_k + f[2] y_{k-1} is one fused
    multiply-add on the recurrence and the backward pass is T_k = y_k + f[1] T_{k+1}.
    """
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            cprev = 0.0
            for k in range(nz):
                if solid[i, j, k]:
                    f[0, i, j, k] = 1.0
                    f[1, i, j, k] = 0.0
                    f[2, i, j, k] = 0.0
                    cprev = 0.0
                    continue
                piv = cv + a[6, i, j, k] - a[4, i, j, k] * cprev
                f[0, i, j, k] = 1.0 / piv
                f[1, i, j, k] = a[5, i, j, k] / piv
                f[2, i, j, k] = a[4, i, j, k] / piv
                cprev = f[1, i, j, k]


@njit(cache=True, nogil=True)
def column_order(fx, fy, order):
    """Order of the vertical cell columns (index i * ny + j) that follows the horizontal flow.

    Edges go from a column to its neighbour when the column-summed face flux between them
    points that way; ``order`` receives the reverse post-order of a depth-first search (a
    topological order where the flow has no loops; the loops are cut where the search closes
    them). Deterministic: searches start at the columns in index order.
    """
    nx = fx.shape[0] - 1
    ny = fy.shape[1] - 1
    nz = fx.shape[2]
    n = nx * ny
    fe = np.zeros((nx, ny))  # net flux east out of column (i, j) (m3/s)
    fn = np.zeros((nx, ny))  # net flux north
    for i in range(nx):
        for j in range(ny):
            se = 0.0
            sn = 0.0
            for k in range(nz):
                se += fx[i + 1, j, k]
                sn += fy[i, j + 1, k]
            fe[i, j] = se
            fn[i, j] = sn
    seen = np.zeros(n, np.uint8)
    post = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    nxt = np.empty(n, np.int64)
    npost = 0
    for s0 in range(n):
        if seen[s0]:
            continue
        top = 0
        stack[0] = s0
        nxt[0] = 0
        seen[s0] = 1
        while top >= 0:
            c = stack[top]
            m = nxt[top]
            if m == 4:
                post[npost] = c
                npost += 1
                top -= 1
                continue
            nxt[top] = m + 1
            i = c // ny
            j = c - i * ny
            d = -1
            if m == 0:
                if i < nx - 1 and fe[i, j] > 0.0:
                    d = c + ny
            elif m == 1:
                if i > 0 and fe[i - 1, j] < 0.0:
                    d = c - ny
            elif m == 2:
                if j < ny - 1 and fn[i, j] > 0.0:
                    d = c + 1
            else:
                if j > 0 and fn[i, j - 1] < 0.0:
                    d = c - 1
            if d >= 0 and not seen[d]:
                seen[d] = 1
                top += 1
                stack[top] = d
                nxt[top] = 0
    for q in range(n):
        order[q] = post[n - 1 - q]


@njit(cache=True, nogil=True)
def _line_sweep(T, src, aw, ae, as_, an, f0, f1, f2, solid, cols, n):
    """Gauss-Seidel by vertical lines over the first ``n`` columns of ``cols`` (index i * ny + j),
    in that order: each column solved exactly (Thomas, factors f0 f1 f2 of :func:`line_factor`)
    with its horizontal neighbours (weights aw ae as_ an) at their latest values."""
    nx, ny, nz = T.shape
    y = np.empty(nz)
    for q in range(n):
        c = cols[q]
        i = c // ny
        j = c - i * ny
        yp = 0.0
        for k in range(nz):
            if solid[i, j, k]:
                yp = T[i, j, k]
            else:
                r = src[i, j, k]
                if i > 0:
                    r += aw[i, j, k] * T[i - 1, j, k]
                if i < nx - 1:
                    r += ae[i, j, k] * T[i + 1, j, k]
                if j > 0:
                    r += as_[i, j, k] * T[i, j - 1, k]
                if j < ny - 1:
                    r += an[i, j, k] * T[i, j + 1, k]
                yp = f0[i, j, k] * r + f2[i, j, k] * yp
            y[k] = yp
        x = 0.0
        for k in range(nz - 1, -1, -1):
            x = y[k] + f1[i, j, k] * x
            T[i, j, k] = x


@njit(cache=True, nogil=True, inline="always")
def _column_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, i, j):
    """max over the cells of column (i, j) of |h residual| (see :func:`_line_residual`). (Written out:
    the cell's residual as an inlined helper made the full residual ten times slower.)"""
    nx, ny, nz = Ts.shape
    ec = 0.0
    for k in range(nz):
        r = src[i, j, k] - (cv + out[i, j, k]) * Ts[i, j, k]
        if k > 0:
            r += ab[i, j, k] * Ts[i, j, k - 1]
        if k < nz - 1:
            r += at[i, j, k] * Ts[i, j, k + 1]
        if i > 0:
            r += aw[i, j, k] * Ts[i - 1, j, k]
        if i < nx - 1:
            r += ae[i, j, k] * Ts[i + 1, j, k]
        if j > 0:
            r += as_[i, j, k] * Ts[i, j - 1, k]
        if j < ny - 1:
            r += an[i, j, k] * Ts[i, j + 1, k]
        ec = max(ec, abs(r))
    return h * ec


@njit(cache=True, nogil=True)
def _line_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, cols, n, cres):
    """max over the cells of the first ``n`` columns of ``cols`` (all columns when ``n`` < 0) of
    |T^n + h net(T*) - T*| (K), h = dt/V: the move the flux-form update makes away from the
    iterate, i.e. (dt/V) |residual of the backward-Euler balance| (weights of
    :func:`line_coefficients`); each column's maximum goes to ``cres[i * ny + j]``. Solid
    cells have no weights and src = cv T there, so they count 0 while T* = T."""
    nx, ny, nz = Ts.shape
    e = 0.0
    if n < 0:
        for i in range(nx):
            for j in range(ny):
                ec = _column_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, i, j)
                cres[i * ny + j] = ec
                e = max(e, ec)
        return e
    for q in range(n):
        c = cols[q]
        i = c // ny
        ec = _column_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, i, c - i * ny)
        cres[c] = ec
        e = max(e, ec)
    return e


@njit(cache=True, nogil=True)
def _bad_columns(cols, n, cres, tol, bad):
    """The first ``n`` columns of ``cols`` whose residual ``cres`` is at or above ``tol`` into
    ``bad`` (in the order of ``cols``); returns how many."""
    nbad = 0
    for q in range(n):
        c = cols[q]
        if not (cres[c] < tol):
            bad[nbad] = c
            nbad += 1
    return nbad


#: :func:`_with_neighbours` puts its columns in flow order by a scan of all columns when they are more
#: than 1 / SORT_SCAN of them (a scan of 24,000 columns costs about what a sort of 400 does)
SORT_SCAN = 64


@njit(cache=True, nogil=True)
def _with_neighbours(cols, n, nx, ny, mark, stamp, out, pos, order, sort):
    """The first ``n`` columns of ``cols`` and their horizontal neighbours, each once, into ``out``
    (in flow order when ``sort``: ``order`` the columns in flow order, ``pos`` each column's place in
    it). Returns how many. Many columns are put in order by a scan of ``order`` (a pass over the
    columns, tens of microseconds), few by sorting their places (the validated grid's 1,000-rack
    hall: 1.1 ms for 6,000 columns, a third of a local pass); the places are distinct, so both give
    the same order."""
    m = 0
    for q in range(n):
        c = cols[q]
        i = c // ny
        j = c - i * ny
        for d in range(5):
            if d == 0:
                b = c
            elif d == 1:
                b = c - ny if i > 0 else -1
            elif d == 2:
                b = c + ny if i < nx - 1 else -1
            elif d == 3:
                b = c - 1 if j > 0 else -1
            else:
                b = c + 1 if j < ny - 1 else -1
            if b >= 0 and mark[b] != stamp:
                mark[b] = stamp
                out[m] = b
                m += 1
    if not sort:
        return m
    if m * SORT_SCAN > order.shape[0]:
        q = 0
        for p in range(order.shape[0]):
            b = order[p]
            if mark[b] == stamp:
                out[q] = b
                q += 1
        return m
    keys = np.empty(m, np.int64)
    for q in range(m):
        keys[q] = pos[out[q]]
    idx = np.argsort(keys)
    tmp = out[:m].copy()
    for q in range(m):
        out[q] = tmp[idx[q]]
    return m


@njit(cache=True, nogil=True, inline="always")
def _block_side(d, w, inside, side, bi, bj, k):
    """A cell's weight ``w`` of a horizontal neighbour: inside the cell's block it leaves the block's
    diagonal ``d`` (returned), else it joins the block's weight on that ``side``."""
    if inside:
        return d - w
    side[bi, bj, k] += w
    return d


@njit(cache=True, nogil=True)
def _coarse_operators(a, cv, solid, b, D, Cw, Ce, Cs, Cn, Cb, Ct):
    """The backward-Euler balance summed over blocks of ``b`` x ``b`` cell columns, layer by layer (additive
    correction): a block's correction ``e`` (one value for its fluid cells) satisfies
    D e - Σ C_nb e_nb = Σ residual of its cells; D sums the cells' (cv + out) less the weights between
    cells of the same block, C the weights across the block's sides (west, east, south, north, below,
    above). Arrays of shape (ceil(nx / b), ceil(ny / b), nz), zeroed here."""
    nx, ny, nz = solid.shape
    for C in (D, Cw, Ce, Cs, Cn, Cb, Ct):
        C[...] = 0.0
    for i in range(nx):
        bi = i // b
        for j in range(ny):
            bj = j // b
            for k in range(nz):
                if solid[i, j, k]:
                    continue
                d = cv + a[6, i, j, k]
                if i > 0:
                    d = _block_side(d, a[0, i, j, k], (i - 1) // b == bi, Cw, bi, bj, k)
                if i < nx - 1:
                    d = _block_side(d, a[1, i, j, k], (i + 1) // b == bi, Ce, bi, bj, k)
                if j > 0:
                    d = _block_side(d, a[2, i, j, k], (j - 1) // b == bj, Cs, bi, bj, k)
                if j < ny - 1:
                    d = _block_side(d, a[3, i, j, k], (j + 1) // b == bj, Cn, bi, bj, k)
                if k > 0:
                    Cb[bi, bj, k] += a[4, i, j, k]
                if k < nz - 1:
                    Ct[bi, bj, k] += a[5, i, j, k]
                D[bi, bj, k] += d


@njit(cache=True, nogil=True)
def _coarse_correction(Ts, src, a, cv, solid, b, ops, R, e, sweeps):
    """One additive correction of the iterate ``Ts``: the residual of every fluid cell summed over its
    block (:func:`_coarse_operators`, ``ops`` = D, Cw, Ce, Cs, Cn, Cb, Ct), the blocks' balance relaxed by
    ``sweeps`` symmetric Gauss-Seidel sweeps over vertical block lines from zero, and each block's
    correction added to its fluid cells. Line sweeps relax what varies from column to column; what
    varies slowly across many columns (air above the racks at long steps) they relax by a few per cent
    a sweep, the blocks' balance carries it in one go."""
    nx, ny, nz = Ts.shape
    D, Cw, Ce, Cs, Cn, Cb, Ct = ops
    NX, NY, _ = D.shape
    aw, ae, as_, an, ab, at, out = a[0], a[1], a[2], a[3], a[4], a[5], a[6]
    R[...] = 0.0
    e[...] = 0.0
    for i in range(nx):
        bi = i // b
        for j in range(ny):
            bj = j // b
            for k in range(nz):
                if solid[i, j, k]:
                    continue
                r = src[i, j, k] - (cv + out[i, j, k]) * Ts[i, j, k]  # as _column_residual (written out: speed)
                if k > 0:
                    r += ab[i, j, k] * Ts[i, j, k - 1]
                if k < nz - 1:
                    r += at[i, j, k] * Ts[i, j, k + 1]
                if i > 0:
                    r += aw[i, j, k] * Ts[i - 1, j, k]
                if i < nx - 1:
                    r += ae[i, j, k] * Ts[i + 1, j, k]
                if j > 0:
                    r += as_[i, j, k] * Ts[i, j - 1, k]
                if j < ny - 1:
                    r += an[i, j, k] * Ts[i, j + 1, k]
                R[bi, bj, k] += r
    cp = np.empty(nz)
    dp = np.empty(nz)
    nb = NX * NY
    for s in range(sweeps):
        for qq in range(nb):
            q = qq if s % 2 == 0 else nb - 1 - qq
            I = q // NY
            J = q - I * NY
            prevc = 0.0
            prevd = 0.0
            for k in range(nz):
                lo = Cb[I, J, k] if k > 0 else 0.0
                piv = D[I, J, k] - lo * prevc
                if not (piv > 0.0):  # a block layer without fluid
                    cp[k] = 0.0
                    dp[k] = 0.0
                    prevc = 0.0
                    prevd = 0.0
                    continue
                r = R[I, J, k]
                if I > 0:
                    r += Cw[I, J, k] * e[I - 1, J, k]
                if I < NX - 1:
                    r += Ce[I, J, k] * e[I + 1, J, k]
                if J > 0:
                    r += Cs[I, J, k] * e[I, J - 1, k]
                if J < NY - 1:
                    r += Cn[I, J, k] * e[I, J + 1, k]
                cp[k] = (Ct[I, J, k] if k < nz - 1 else 0.0) / piv
                dp[k] = (r + lo * prevd) / piv
                prevc = cp[k]
                prevd = dp[k]
            x = 0.0
            for k in range(nz - 1, -1, -1):
                x = dp[k] + cp[k] * x
                e[I, J, k] = x
    for i in range(nx):
        bi = i // b
        for j in range(ny):
            bj = j // b
            for k in range(nz):
                if not solid[i, j, k]:
                    Ts[i, j, k] += e[bi, bj, k]


#: the blocks of :func:`step_implicit`'s correction (columns a side) and the sweeps of their balance
#: (see ``thermal.COARSE_BLOCK``)
COARSE_BLOCK = 4
COARSE_SWEEPS = 10


@njit(cache=True, nogil=True)
def step_implicit(T, Ts, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, a, f, order, tol, rel, floor,
                  min_sweeps, max_sweeps, local_fraction):
    """:func:`step_implicit_blocks` with the blocks' correction of :data:`COARSE_BLOCK` x
    :data:`COARSE_BLOCK` columns, :data:`COARSE_SWEEPS` sweeps."""
    return step_implicit_blocks(T, Ts, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, a, f, order, tol, rel,
                                floor, min_sweeps, max_sweeps, local_fraction, COARSE_BLOCK, COARSE_SWEEPS)


@njit(cache=True, nogil=True)
def step_implicit_blocks(T, Ts, fx, fy, fz, gx, gy, gz, pc, pq, pT, solid, vol, dt, a, f, order, tol, rel, floor,
                         min_sweeps, max_sweeps, local_fraction, block, block_sweeps):
    """Advance T (°C, in place) by dt (s): backward Euler, then a conservative flux-form update.

    ``a``: :func:`line_coefficients`; ``f``: :func:`line_factor` for cv = V/dt; ``order``:
    :func:`column_order`.
    1. Solve (V/dt + out_P) T*_P = V/dt T_P + Σ_nb a_nb T*_nb + Σ_ports q pT, starting from
       ``Ts`` (fluid cells; e.g. T* extrapolated from the previous steps), by Gauss-Seidel
       sweeps over vertical lines (each column exact, the columns in flow order) until
       e = max |(dt/V) residual| < max(min(``tol``, ``rel`` e1), ``floor``) (K), e1 that at the
       first check (after ``min_sweeps`` full sweeps): the tolerance, and near a steady state a
       further reduction by ``rel``, so the error a step leaves (which the next start inherits
       through the extrapolation) dies out instead of sustaining a jitter at the tolerance;
       when fewer than 1/``local_fraction`` of the columns are off, only those and their
       neighbours are relaxed and re-checked (eddies the flow order cuts converge locally); when
       more are off and ``block`` > 0, each full sweep follows a correction of ``block`` x ``block``
       column blocks (:func:`_coarse_correction`, ``block_sweeps`` sweeps of the blocks' balance),
       which carries the slowly varying part of the error that line sweeps barely touch;
    2. T_P += dt/V * net_P(T*): every face flux is counted once for each of its two cells, so
       the air's energy changes exactly by the port heat (round-off), whatever the sweeps left;
       the update moves T from T* by exactly the (dt/V) residual, so |T - T*| < tol.
    ``Ts`` ends as the iterate T* (its solid cells set to T). Unconditionally stable.
    Returns (heat-volume the ports brought in (K m3):
    dt Σ_ports q (q > 0 ? pT : T*_cell), full sweeps, local passes).
    """
    nx, ny, nz = T.shape
    cv = vol / dt
    h = dt / vol
    src = np.empty_like(T)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                src[i, j, k] = cv * T[i, j, k]
                if solid[i, j, k]:
                    Ts[i, j, k] = T[i, j, k]
    srcf = src.ravel()
    for p in range(pc.shape[0]):
        if pq[p] > 0.0:
            srcf[pc[p]] += pq[p] * pT[p]
    ncol = nx * ny
    pos = np.empty(ncol, np.int64)
    for q in range(ncol):
        pos[order[q]] = q
    bad = np.empty(ncol, np.int64)
    near = np.empty(ncol, np.int64)
    ring = np.empty(ncol, np.int64)
    mark = np.zeros(ncol, np.int64)
    stamp = 0
    aw, ae, as_, an, ab, at, out = a[0], a[1], a[2], a[3], a[4], a[5], a[6]
    f0, f1, f2 = f[0], f[1], f[2]
    n_full = 0
    n_local = 0
    cres = np.zeros(ncol)  # max |h residual| per column at its last check
    for _ in range(min(min_sweeps, max_sweeps)):
        _line_sweep(Ts, src, aw, ae, as_, an, f0, f1, f2, solid, order, ncol)
        n_full += 1
    e = _line_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, order, -1, cres)
    if rel < 1.0:
        tol = max(min(tol, rel * e), floor)
    nbad = _bad_columns(order, ncol, cres, tol, bad)
    none = np.empty((0, 0, 0))
    ops = (none, none, none, none, none, none, none)  # the blocks' operators, built when first needed
    rc = none
    ec = none
    while nbad > 0 and n_full + n_local < max_sweeps:
        if nbad * local_fraction > ncol:
            if block > 0:  # many columns off: first the blocks' correction (see _coarse_correction)
                if ops[0].shape[0] == 0:
                    shape = ((nx + block - 1) // block, (ny + block - 1) // block, nz)
                    ops = (np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape),
                           np.empty(shape), np.empty(shape))
                    _coarse_operators(a, cv, solid, block, ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], ops[6])
                    rc = np.empty(shape)
                    ec = np.empty(shape)
                _coarse_correction(Ts, src, a, cv, solid, block, ops, rc, ec, block_sweeps)
            _line_sweep(Ts, src, aw, ae, as_, an, f0, f1, f2, solid, order, ncol)
            n_full += 1
            e = _line_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, order, -1, cres)
            nbad = _bad_columns(order, ncol, cres, tol, bad)
        else:
            # few columns off: relax them and their neighbours (in flow order), then re-check
            # only where the residual can have changed (those and their neighbours)
            stamp += 1
            m = _with_neighbours(bad, nbad, nx, ny, mark, stamp, near, pos, order, True)
            _line_sweep(Ts, src, aw, ae, as_, an, f0, f1, f2, solid, near, m)
            n_local += 1
            stamp += 1
            m2 = _with_neighbours(near, m, nx, ny, mark, stamp, ring, pos, order, False)
            _line_residual(Ts, src, aw, ae, as_, an, ab, at, out, cv, h, ring, m2, cres)
            nbad = _bad_columns(ring, m2, cres, tol, bad)
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
    return heat, n_full, n_local


@njit(cache=True, nogil=True)
def port_face_means(tf, cells, offsets, w, area, fallback, out):
    """Per port p (faces offsets[p]:offsets[p+1]): flow-weighted mean Σ w T / Σ w of the cell
    temperatures ``tf[cells]`` (°C, w = |q| m3/s), the area-weighted mean when Σ w = 0, else
    ``fallback``."""
    for p in range(offsets.shape[0] - 1):
        tw = 0.0
        ws = 0.0
        ta = 0.0
        wa = 0.0
        for m in range(offsets[p], offsets[p + 1]):
            t = tf[cells[m]]
            tw += w[m] * t
            ws += w[m]
            ta += area[m] * t
            wa += area[m]
        if ws > 0.0:
            out[p] = tw / ws
        elif wa > 0.0:
            out[p] = ta / wa
        else:
            out[p] = fallback


@njit(cache=True, nogil=True)
def fluid_mean(T, solid, fallback):
    """Mean temperature of the fluid cells (°C); ``fallback`` when there are none."""
    s = 0.0
    n = 0
    tf = T.ravel()
    sf = solid.ravel()
    for c in range(tf.shape[0]):
        if not sf[c]:
            s += tf[c]
            n += 1
    return s / n if n > 0 else fallback


@njit(cache=True, nogil=True)
def extrapolate(T, r1, r2, a1, a2, out):
    """out = T + a1 r1 + a2 r2 (°C; rates r in K/s, weights a in s): the start of the next
    backward-Euler iteration from the last two rates of change."""
    tf = T.ravel()
    f1 = r1.ravel()
    f2 = r2.ravel()
    of = out.ravel()
    for c in range(tf.shape[0]):
        of[c] = tf[c] + a1 * f1[c] + a2 * f2[c]


@njit(cache=True, nogil=True)
def rate(new, old, dt, out):
    """out = (new - old) / dt (K/s; ``out`` may be float32)."""
    nf = new.ravel()
    of = old.ravel()
    rf = out.ravel()
    for c in range(nf.shape[0]):
        rf[c] = (nf[c] - of[c]) / dt
