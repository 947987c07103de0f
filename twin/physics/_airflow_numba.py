"""numba kernels of the Fast Fluid Dynamics air solver (see :mod:`dctwin.twin.physics.airflow`).

Staggered (MAC) grid of ``nx * ny * nz`` cells of ``dx * dy * dz`` (m).
``u`` (m/s) lives on x-faces, shape ``(nx+1, ny, nz)`` at ``(i dx, (j+½) dy, (k+½) dz)``;
``v`` on y-faces ``(nx, ny+1, nz)``; ``w`` on z-faces ``(nx, ny, nz+1)``.
``cx, cy, cz`` are the face conductances (1 open, 0 closed, 0 < c < 1 a leaky
containment panel). Closed faces hold their boundary velocity (0 on walls, the
port velocity on rack/unit/tile/grille faces) and are never changed here.

Each kernel is a pure function over arrays; :mod:`._airflow_numpy` holds the
plain references the tests compare against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# --------------------------------------------------------------------------- interpolation


@njit(cache=True, nogil=True, inline="always")
def _trilerp(f, fx, fy, fz):
    """Trilinear interpolation of ``f`` at fractional index (fx, fy, fz), clamped to the array."""
    n0, n1, n2 = f.shape
    if fx < 0.0:
        fx = 0.0
    if fy < 0.0:
        fy = 0.0
    if fz < 0.0:
        fz = 0.0
    if fx > n0 - 1:
        fx = n0 - 1.0
    if fy > n1 - 1:
        fy = n1 - 1.0
    if fz > n2 - 1:
        fz = n2 - 1.0
    i = int(fx)
    j = int(fy)
    k = int(fz)
    if i > n0 - 2:
        i = max(n0 - 2, 0)
    if j > n1 - 2:
        j = max(n1 - 2, 0)
    if k > n2 - 2:
        k = max(n2 - 2, 0)
    i1 = min(i + 1, n0 - 1)
    j1 = min(j + 1, n1 - 1)
    k1 = min(k + 1, n2 - 1)
    return _lerp8(f[i, j, k], f[i1, j, k], f[i, j1, k], f[i1, j1, k], f[i, j, k1], f[i1, j, k1], f[i, j1, k1],
                  f[i1, j1, k1], fx - i, fy - j, fz - k)


@njit(cache=True, nogil=True, inline="always")
def _lerp8(a, b, c, d, e, g, h, q, tx, ty, tz):
    """Trilinear blend of the 8 corner values (x fastest: a b / c d at the low z, e g / h q at the
    high z) at fractions (tx, ty, tz) of the cell."""
    c00 = a * (1 - tx) + b * tx
    c10 = c * (1 - tx) + d * tx
    c01 = e * (1 - tx) + g * tx
    c11 = h * (1 - tx) + q * tx
    c0 = c00 * (1 - ty) + c10 * ty
    c1 = c01 * (1 - ty) + c11 * ty
    return c0 * (1 - tz) + c1 * tz


@njit(cache=True, nogil=True)
def _vel_at(u, v, w, x, y, z, dx, dy, dz):
    """Velocity (m/s) at point (x, y, z) (m) from the three staggered arrays."""
    a = _trilerp(u, x / dx, y / dy - 0.5, z / dz - 0.5)
    b = _trilerp(v, x / dx - 0.5, y / dy, z / dz - 0.5)
    c = _trilerp(w, x / dx - 0.5, y / dy - 0.5, z / dz)
    return a, b, c


@njit(cache=True, nogil=True, inline="always")
def _trilerp_bounds(f, fx, fy, fz):
    """(:func:`_trilerp` value, min, max of its 8 stencil values) in one pass."""
    n0, n1, n2 = f.shape
    fx = min(max(fx, 0.0), n0 - 1.0)
    fy = min(max(fy, 0.0), n1 - 1.0)
    fz = min(max(fz, 0.0), n2 - 1.0)
    i = min(int(fx), max(n0 - 2, 0))
    j = min(int(fy), max(n1 - 2, 0))
    k = min(int(fz), max(n2 - 2, 0))
    i1 = min(i + 1, n0 - 1)
    j1 = min(j + 1, n1 - 1)
    k1 = min(k + 1, n2 - 1)
    a = f[i, j, k]
    b = f[i1, j, k]
    c = f[i, j1, k]
    d = f[i1, j1, k]
    e = f[i, j, k1]
    g = f[i1, j, k1]
    h = f[i, j1, k1]
    q = f[i1, j1, k1]
    lo = min(min(min(a, b), min(c, d)), min(min(e, g), min(h, q)))
    hi = max(max(max(a, b), max(c, d)), max(max(e, g), max(h, q)))
    return _lerp8(a, b, c, d, e, g, h, q, fx - i, fy - j, fz - k), lo, hi


@njit(cache=True, nogil=True, inline="always")
def face_velocity(u, v, w, i, j, k, ox, oy):
    """Velocity (m/s) at the open face (i, j, k) of the component with offsets (ox, oy, .):
    its own component, the 4-face average of the other two. Plain Python over scalar or array
    indices (the numpy reference uses it with arrays: ``face_velocity.py_func``)."""
    if ox == 0.0:
        a = u[i, j, k]
        b = 0.25 * (v[i - 1, j, k] + v[i, j, k] + v[i - 1, j + 1, k] + v[i, j + 1, k])
        e = 0.25 * (w[i - 1, j, k] + w[i, j, k] + w[i - 1, j, k + 1] + w[i, j, k + 1])
    elif oy == 0.0:
        a = 0.25 * (u[i, j - 1, k] + u[i, j, k] + u[i + 1, j - 1, k] + u[i + 1, j, k])
        b = v[i, j, k]
        e = 0.25 * (w[i, j - 1, k] + w[i, j, k] + w[i, j - 1, k + 1] + w[i, j, k + 1])
    else:
        a = 0.25 * (u[i, j, k - 1] + u[i, j, k] + u[i + 1, j, k - 1] + u[i + 1, j, k])
        b = 0.25 * (v[i, j, k - 1] + v[i, j, k] + v[i, j + 1, k - 1] + v[i, j + 1, k])
        e = w[i, j, k]
    return a, b, e


@njit(cache=True, nogil=True)
def advect_component(f, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, rk2, out):
    """Semi-Lagrangian advection of one staggered component ``f`` located at
    ((i+ox) dx, (j+oy) dy, (k+oz) dz): out = f(x - dt U) on open faces (c = 1),
    0 on leaky faces, unchanged on closed faces. U at the face: its own component,
    the 4-face average of the others; ``rk2``: midpoint back-trace.
    A negative ``dt`` traces forward (used by the MacCormack correction).
    """
    n0, n1, n2 = f.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                cc = c[i, j, k]
                if cc == 0.0:
                    out[i, j, k] = f[i, j, k]
                    continue
                if cc < 1.0:
                    out[i, j, k] = 0.0
                    continue
                x = (i + ox) * dx
                y = (j + oy) * dy
                z = (k + oz) * dz
                a, b, e = face_velocity(u, v, w, i, j, k, ox, oy)
                if rk2:
                    a, b, e = _vel_at(u, v, w, x - 0.5 * dt * a, y - 0.5 * dt * b, z - 0.5 * dt * e, dx, dy, dz)
                out[i, j, k] = _trilerp(f, (x - dt * a) / dx - ox, (y - dt * b) / dy - oy, (z - dt * e) / dz - oz)


@njit(cache=True, nogil=True)
def maccormack_correct(f, fh, fb, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, rk2, out):
    """MacCormack (Selle et al. 2008): out = fh + (f - fb) / 2 on open faces, where
    fh = A(f) is the forward semi-Lagrangian step and fb = A_reverse(fh); where that
    leaves the min/max of the 8 values the forward step interpolated between, out = fh
    (first order there, never a new extremum). Closed and leaky faces: out = fh. The
    departure point is traced as in :func:`advect_component`. Units: m/s, s, m."""
    n0, n1, n2 = f.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if c[i, j, k] != 1.0:
                    out[i, j, k] = fh[i, j, k]
                    continue
                x = (i + ox) * dx
                y = (j + oy) * dy
                z = (k + oz) * dz
                a, b, e = face_velocity(u, v, w, i, j, k, ox, oy)
                if rk2:
                    a, b, e = _vel_at(u, v, w, x - 0.5 * dt * a, y - 0.5 * dt * b, z - 0.5 * dt * e, dx, dy, dz)
                _, lo, hi = _trilerp_bounds(f, (x - dt * a) / dx - ox, (y - dt * b) / dy - oy, (z - dt * e) / dz - oz)
                r = fh[i, j, k] + 0.5 * (f[i, j, k] - fb[i, j, k])
                if r < lo or r > hi:
                    r = fh[i, j, k]
                out[i, j, k] = r


@njit(cache=True, nogil=True)
def mcl_forward(f, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, fh, lo, hi):
    """First pass of the limited MacCormack step (scheme "mcl"): the Euler semi-Lagrangian
    step ``fh = f(x - dt U)`` of :func:`advect_component` (``rk2`` False), and on open faces
    the min ``lo`` and max ``hi`` of the 8 values of ``f`` it interpolated between (the
    clamp of Selle et al. 2008). Closed faces: fh = f; leaky faces: fh = 0 (lo, hi = fh there).
    Units: m/s, s, m."""
    n0, n1, n2 = f.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                cc = c[i, j, k]
                if cc != 1.0:
                    r = f[i, j, k] if cc == 0.0 else 0.0
                    fh[i, j, k] = r
                    lo[i, j, k] = r
                    hi[i, j, k] = r
                    continue
                a, b, e = face_velocity(u, v, w, i, j, k, ox, oy)
                gx = i - dt * a / dx
                gy = j - dt * b / dy
                gz = k - dt * e / dz
                val, mn, mx = _trilerp_bounds(f, gx, gy, gz)
                fh[i, j, k] = val
                lo[i, j, k] = mn
                hi[i, j, k] = mx


@njit(cache=True, nogil=True)
def mcl_correct(f, fh, lo, hi, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, beta, out):
    """Second pass of the limited MacCormack step: on open faces trace forward,
    ``fb = fh(x + dt U)`` (trilinear), and take ``out = clamp(fh + beta (f - fb) / 2, lo, hi)``.

    beta = 1 is the full MacCormack/BFECC correction (second order), 0 plain
    semi-Lagrangian; the clamp to the departure stencil's min/max keeps it bounded (no new
    extremum) and, being continuous, keeps round-off differences (mirror images) small.
    Other faces: out = fh. Units: m/s, s, m."""
    n0, n1, n2 = f.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if c[i, j, k] != 1.0:
                    out[i, j, k] = fh[i, j, k]
                    continue
                a, b, e = face_velocity(u, v, w, i, j, k, ox, oy)
                fb = _trilerp(fh, i + dt * a / dx, j + dt * b / dy, k + dt * e / dz)
                r = fh[i, j, k] + 0.5 * beta * (f[i, j, k] - fb)
                if r < lo[i, j, k]:
                    r = lo[i, j, k]
                elif r > hi[i, j, k]:
                    r = hi[i, j, k]
                out[i, j, k] = r


# --------------------------------------------------------------------------- turbulence


@njit(cache=True, nogil=True)
def chen_viscosity(u, v, w, solid, wall_dist, chen_a, nu_floor, nu_out):
    """Chen's zero-equation eddy viscosity at cell centres (m2/s).

    ``nu = max(chen_a * |U| * l, nu_floor)``, |U| the cell-centre speed from the
    face averages (m/s), l the distance to the nearest wall (m), chen_a = 0.03874.
    Solid cells get 0.
    """
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    nu_out[i, j, k] = 0.0
                    continue
                a = 0.5 * (u[i, j, k] + u[i + 1, j, k])
                b = 0.5 * (v[i, j, k] + v[i, j + 1, k])
                c = 0.5 * (w[i, j, k] + w[i, j, k + 1])
                s = np.sqrt(a * a + b * b + c * c)
                nu = chen_a * s * wall_dist[i, j, k]
                nu_out[i, j, k] = nu if nu > nu_floor else nu_floor


# --------------------------------------------------------------------------- diffusion


@njit(cache=True, nogil=True, inline="always")
def _inv_h2(dx, dy, dz):
    """1/h² per axis (1/m²), the face weights of the pressure operator."""
    return 1.0 / (dx * dx), 1.0 / (dy * dy), 1.0 / (dz * dz)


# One signature over any memory layout: called on the array (C) and on axis-permuted views (A), it
# would otherwise compile three times.
@njit("void(float64[:, :, :], float64[:, :, :], float64[:, :, :], boolean[:, :, :], float64[:, :, :], float64, "
      "float64, float64, float64, float64, float64[:, :], float64[:, :, :])", cache=True, nogil=True)
def _diffuse_x(f, src, c, solid, nu, dt, dx, dy, dz, wall, top_open, out):
    """One Jacobi sweep of (1 - dt nu lap) f = src on x-faces (see :func:`diffuse`)."""
    n0, ny, nz = f.shape
    nx = n0 - 1
    ax, ay, az = _inv_h2(dx, dy, dz)
    for i in range(n0):
        for j in range(ny):
            for k in range(nz):
                if c[i, j, k] != 1.0:
                    out[i, j, k] = f[i, j, k]
                    continue
                a = dt * 0.5 * (nu[i - 1, j, k] + nu[i, j, k])
                diag = 1.0 + 2.0 * a * ax
                s = src[i, j, k] + a * ax * (f[i - 1, j, k] + f[i + 1, j, k])
                # tangential neighbours: a wall half a cell away (ghost -f) or a face value
                if j == 0 or (solid[i - 1, j - 1, k] and solid[i, j - 1, k]):
                    diag += wall * a * ay
                else:
                    diag += a * ay
                    s += a * ay * f[i, j - 1, k]
                if j == ny - 1 or (solid[i - 1, j + 1, k] and solid[i, j + 1, k]):
                    diag += wall * a * ay
                else:
                    diag += a * ay
                    s += a * ay * f[i, j + 1, k]
                if k == 0 or (solid[i - 1, j, k - 1] and solid[i, j, k - 1]):
                    diag += wall * a * az
                else:
                    diag += a * az
                    s += a * az * f[i, j, k - 1]
                if k == nz - 1:
                    # the last-axis boundary: a wall, or an outlet (zero gradient) where top_open
                    diag += wall * (1.0 - 0.5 * (top_open[i - 1, j] + top_open[i, j])) * a * az
                elif solid[i - 1, j, k + 1] and solid[i, j, k + 1]:
                    diag += wall * a * az
                else:
                    diag += a * az
                    s += a * az * f[i, j, k + 1]
                out[i, j, k] = s / diag


@njit(cache=True, nogil=True)
def _copy3(src, dst):
    """dst[...] = src for 3-D arrays of one shape. (numba's array assignment checks shapes with an error
    message built from strings: ~3 s more to compile on the first run.)"""
    n0, n1, n2 = dst.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                dst[i, j, k] = src[i, j, k]


@njit(cache=True, nogil=True)
def _swap01(a):
    """The view of 3-D ``a`` with its first two axes swapped (``a.transpose(1, 0, 2)``: numba's transpose
    with axes checks them at run time with sets and error strings, about 2 s more to compile)."""
    return np.lib.stride_tricks.as_strided(a, (a.shape[1], a.shape[0], a.shape[2]),
                                           (a.strides[1], a.strides[0], a.strides[2]))


@njit(cache=True, nogil=True)
def diffuse(u, v, w, src_u, src_v, src_w, cx, cy, cz, solid, nu, dt, dx, dy, dz, wall, top_open, n_iter,
            tmp_u, tmp_v, tmp_w):
    """Implicit viscous step (1 - dt ∇·(nu ∇)) U = U_src, by ``n_iter`` Jacobi sweeps, in place on u, v, w.

    nu (m2/s) at cell centres, averaged to each face. No-slip walls: a wall
    parallel to a face half a cell away enters as a ghost value: coefficient ``wall`` x nu/h²
    toward 0 (2 = no-slip, 0 = free slip). ``top_open`` (nx, ny), 1 where the top of a
    column is an outlet (a return grille: zero tangential gradient, as a pressure outlet),
    else 0 (the ceiling is a wall). Only open
    faces (conductance 1) change. The component arrays are handled through
    axis-permuted views so one kernel serves all three.
    """
    # v and w are handled by transposing axes so that the face axis comes first (``.T``: axes (2, 1, 0))
    sv = _swap01(solid)
    sw = solid.T
    nuv = _swap01(nu)
    nuw = nu.T
    top_v = top_open.T
    no_top = np.zeros((sw.shape[0], sw.shape[1]))  # w: the last axis of its view is x (walls)
    # the sweeps go back and forth between (u, v, w) and (tmp_u, ...): a copy only after an odd count
    for it in range(n_iter):
        if it % 2 == 0:
            fu, fv, fw, ou, ov, ow = u, v, w, tmp_u, tmp_v, tmp_w
        else:
            fu, fv, fw, ou, ov, ow = tmp_u, tmp_v, tmp_w, u, v, w
        _diffuse_x(fu, src_u, cx, solid, nu, dt, dx, dy, dz, wall, top_open, ou)
        _diffuse_x(_swap01(fv), _swap01(src_v), _swap01(cy), sv, nuv, dt, dy, dx, dz, wall, top_v, _swap01(ov))
        _diffuse_x(fw.T, src_w.T, cz.T, sw, nuw, dt, dz, dy, dx, wall, no_top, ow.T)
    if n_iter % 2 == 1:
        _copy3(tmp_u, u)
        _copy3(tmp_v, v)
        _copy3(tmp_w, w)


# --------------------------------------------------------------------------- projection


@njit(cache=True, nogil=True)
def divergence(u, v, w, solid, dx, dy, dz, div):
    """Cell divergence (1/s): (u[i+1]-u[i])/dx + (v[j+1]-v[j])/dy + (w[k+1]-w[k])/dz; 0 in solids."""
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    div[i, j, k] = 0.0
                else:
                    div[i, j, k] = ((u[i + 1, j, k] - u[i, j, k]) / dx + (v[i, j + 1, k] - v[i, j, k]) / dy
                                    + (w[i, j, k + 1] - w[i, j, k]) / dz)


@njit(cache=True, nogil=True)
def _apply_A(p, cx, cy, cz, solid, dx, dy, dz, out):
    """out = A p with A p = Σ_faces c_f (p_c - p_nb) / h² over open faces (A is SPD on each region)."""
    nx, ny, nz = solid.shape
    ax, ay, az = _inv_h2(dx, dy, dz)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    out[i, j, k] = 0.0
                    continue
                pc = p[i, j, k]
                s = 0.0
                c = cx[i, j, k]
                if c > 0.0:
                    s += c * ax * (pc - p[i - 1, j, k])
                c = cx[i + 1, j, k]
                if c > 0.0:
                    s += c * ax * (pc - p[i + 1, j, k])
                c = cy[i, j, k]
                if c > 0.0:
                    s += c * ay * (pc - p[i, j - 1, k])
                c = cy[i, j + 1, k]
                if c > 0.0:
                    s += c * ay * (pc - p[i, j + 1, k])
                c = cz[i, j, k]
                if c > 0.0:
                    s += c * az * (pc - p[i, j, k - 1])
                c = cz[i, j, k + 1]
                if c > 0.0:
                    s += c * az * (pc - p[i, j, k + 1])
                out[i, j, k] = s


@njit(cache=True, nogil=True)
def mic0_precon(cx, cy, cz, solid, dx, dy, dz, tau, sigma, precon):
    """Modified incomplete Cholesky MIC(0) of A (Bridson, Fluid Simulation, ch. 4): 1/sqrt(E) per cell."""
    nx, ny, nz = solid.shape
    ax, ay, az = _inv_h2(dx, dy, dz)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    precon[i, j, k] = 0.0
                    continue
                diag = ax * (cx[i, j, k] + cx[i + 1, j, k]) + ay * (cy[i, j, k] + cy[i, j + 1, k]) + az * (
                    cz[i, j, k] + cz[i, j, k + 1])
                if diag == 0.0:
                    precon[i, j, k] = 0.0
                    continue
                e = diag
                if i > 0 and not solid[i - 1, j, k]:
                    a = -ax * cx[i, j, k]
                    pp = precon[i - 1, j, k]
                    e -= (a * pp) ** 2
                    e -= tau * a * (-ay * cy[i - 1, j + 1, k] - az * cz[i - 1, j, k + 1]) * pp * pp
                if j > 0 and not solid[i, j - 1, k]:
                    a = -ay * cy[i, j, k]
                    pp = precon[i, j - 1, k]
                    e -= (a * pp) ** 2
                    e -= tau * a * (-ax * cx[i + 1, j - 1, k] - az * cz[i, j - 1, k + 1]) * pp * pp
                if k > 0 and not solid[i, j, k - 1]:
                    a = -az * cz[i, j, k]
                    pp = precon[i, j, k - 1]
                    e -= (a * pp) ** 2
                    e -= tau * a * (-ax * cx[i + 1, j, k - 1] - ay * cy[i, j + 1, k - 1]) * pp * pp
                if e < sigma * diag:
                    e = diag
                precon[i, j, k] = 1.0 / np.sqrt(e)


@njit(cache=True, nogil=True)
def _apply_precon(r, cx, cy, cz, solid, dx, dy, dz, precon, q, z):
    """z = (L L^T)^-1 r for the MIC(0) factor (forward then backward substitution)."""
    nx, ny, nz = solid.shape
    ax, ay, az = _inv_h2(dx, dy, dz)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                pc = precon[i, j, k]
                if pc == 0.0:
                    q[i, j, k] = 0.0
                    continue
                t = r[i, j, k]
                if i > 0:
                    t += ax * cx[i, j, k] * precon[i - 1, j, k] * q[i - 1, j, k]
                if j > 0:
                    t += ay * cy[i, j, k] * precon[i, j - 1, k] * q[i, j - 1, k]
                if k > 0:
                    t += az * cz[i, j, k] * precon[i, j, k - 1] * q[i, j, k - 1]
                q[i, j, k] = t * pc
    for i in range(nx - 1, -1, -1):
        for j in range(ny - 1, -1, -1):
            for k in range(nz - 1, -1, -1):
                pc = precon[i, j, k]
                if pc == 0.0:
                    z[i, j, k] = 0.0
                    continue
                t = q[i, j, k]
                if i < nx - 1:
                    t += ax * cx[i + 1, j, k] * pc * z[i + 1, j, k]
                if j < ny - 1:
                    t += ay * cy[i, j + 1, k] * pc * z[i, j + 1, k]
                if k < nz - 1:
                    t += az * cz[i, j, k + 1] * pc * z[i, j, k + 1]
                z[i, j, k] = t * pc


@njit(cache=True, nogil=True)
def _dot(a, b):
    """Σ a b over the grid (sequential, deterministic)."""
    af = a.ravel()
    bf = b.ravel()
    s = 0.0
    for i in range(af.shape[0]):
        s += af[i] * bf[i]
    return s


@njit(cache=True, nogil=True)
def _cg_residual(p, b, cx, cy, cz, solid, dx, dy, dz, r):
    """r = b - A p (CG's start); returns max|r|."""
    nx, ny, nz = solid.shape
    _apply_A(p, cx, cy, cz, solid, dx, dy, dz, r)
    rmax = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                r[i, j, k] = b[i, j, k] - r[i, j, k]
                if abs(r[i, j, k]) > rmax:
                    rmax = abs(r[i, j, k])
    return rmax


@njit(cache=True, nogil=True)
def _cg_step(p, r, s, z, rho, cx, cy, cz, solid, dx, dy, dz, tol):
    """One CG step along ``s``: z = A s, alpha = rho / (s·z), p += alpha s, r -= alpha z (in place).
    Returns whether CG is done (max|r| <= tol, or s·A s = 0)."""
    _apply_A(s, cx, cy, cz, solid, dx, dy, dz, z)
    sz = _dot(z, s)
    if sz == 0.0:
        return True
    alpha = rho / sz
    nx, ny, nz = p.shape
    rmax = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                p[i, j, k] += alpha * s[i, j, k]
                r[i, j, k] -= alpha * z[i, j, k]
                if abs(r[i, j, k]) > rmax:
                    rmax = abs(r[i, j, k])
    return rmax <= tol


@njit(cache=True, nogil=True)
def _cg_first(s, z, r):
    """CG's first search direction: s = z, the preconditioned residual; returns rho = z·r."""
    _copy3(z, s)
    return _dot(z, r)


@njit(cache=True, nogil=True)
def _cg_turn(s, z, r, rho):
    """CG's next search direction from the preconditioned residual ``z``: s = z + beta s, beta = rho_new / rho
    with rho_new = z·r (in place); returns rho_new."""
    rho_new = _dot(z, r)
    beta = rho_new / rho
    nx, ny, nz = s.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                s[i, j, k] = z[i, j, k] + beta * s[i, j, k]
    return rho_new


# The two CG drivers (pcg, mg_pcg) each call their own preconditioner: one shared driver with a flag would
# compile both preconditioners into each (numba types both branches), at one more level of linking.


@njit(cache=True, nogil=True)
def pcg(p, b, cx, cy, cz, solid, dx, dy, dz, precon, tol, max_iter):
    """Solve A p = b by MIC(0)-preconditioned conjugate gradients, warm-started from ``p`` (in place).

    Stops when max|b - A p| <= tol. ``b`` must sum to zero over every connected
    fluid region (A is singular there; the solution is defined up to a constant).
    Returns the number of iterations.
    """
    r = np.empty_like(p)
    if _cg_residual(p, b, cx, cy, cz, solid, dx, dy, dz, r) <= tol:
        return 0
    q = np.empty_like(p)
    z = np.empty_like(p)
    s = np.empty_like(p)
    _apply_precon(r, cx, cy, cz, solid, dx, dy, dz, precon, q, z)
    rho = _cg_first(s, z, r)
    it = 0
    for it in range(1, max_iter + 1):
        if _cg_step(p, r, s, z, rho, cx, cy, cz, solid, dx, dy, dz, tol):
            break
        _apply_precon(r, cx, cy, cz, solid, dx, dy, dz, precon, q, z)
        rho = _cg_turn(s, z, r, rho)
    return it


# --------------------------------------------------------------------------- multigrid preconditioner
#
# MGPCG (McAdams, Sifakis & Teran 2010, adapted to flat cells): a V-cycle of the pressure
# operator as the CG preconditioner. The cells are flat (dz < dx), so levels coarsen in x
# and y only (2 x 2 columns -> 1, all layers kept) and the smoother is vertical-line
# Gauss-Seidel (an exact tridiagonal solve per column). Level l stores its face coefficients
# k = c / h² (1/m²) in flat arrays; ``dims[l] = (nx_l, ny_l)`` and ``offs[l]`` = offsets of its
# (cells, x-faces, y-faces, z-faces) in the flat arrays.


@njit(cache=True, nogil=True)
def mg_coarsen(kx, ky, kz, solid, hscale, kxc, kyc, kzc, solidc):
    """One semi-coarsening step (2 x 2 columns -> 1, every layer kept).

    A coarse cell is solid only when all its children are. Coarse coefficients (1/m²):
    a vertical face sums its (up to) 4 child faces; a horizontal face between two coarse
    cells sums the (up to) 2 child faces on that interface times ``hscale`` (1: the
    Galerkin aggregate P^T A P; 0.5: the mean, the re-discretised operator on a 2h grid
    scaled to the aggregate's volume). Boundary faces of the hall stay 0.
    """
    nx, ny, nz = solid.shape
    ncx, ncy = solidc.shape[0], solidc.shape[1]
    kxc[...] = 0.0
    kyc[...] = 0.0
    kzc[...] = 0.0
    for I in range(ncx):
        for J in range(ncy):
            for k in range(nz):
                s = True
                for i in range(2 * I, min(2 * I + 2, nx)):
                    for j in range(2 * J, min(2 * J + 2, ny)):
                        if not solid[i, j, k]:
                            s = False
                solidc[I, J, k] = s
            for k in range(nz + 1):
                t = 0.0
                for i in range(2 * I, min(2 * I + 2, nx)):
                    for j in range(2 * J, min(2 * J + 2, ny)):
                        t += kz[i, j, k]
                kzc[I, J, k] = t
    for I in range(1, ncx):
        for J in range(ncy):
            for k in range(nz):
                t = 0.0
                for j in range(2 * J, min(2 * J + 2, ny)):
                    t += kx[2 * I, j, k]
                kxc[I, J, k] = hscale * t
    for I in range(ncx):
        for J in range(1, ncy):
            for k in range(nz):
                t = 0.0
                for i in range(2 * I, min(2 * I + 2, nx)):
                    t += ky[i, 2 * J, k]
                kyc[I, J, k] = hscale * t


@njit(cache=True, nogil=True)
def mg_factor(kx, ky, kz, solid, invd):
    """Pivots of every column's tridiagonal block of A (for :func:`line_gs`).

    Row k of column (i, j): diag_k x_k - kz_k x_(k-1) - kz_(k+1) x_(k+1), diag_k the sum of
    the cell's face coefficients (1/m²). Elimination: den_k = diag_k - kz_k² / den_(k-1),
    ``invd = 1 / den``. Solid cells, and a row whose pivot vanishes (a column closed on every
    side: the singular Neumann case, pinned to 0), get 0.
    """
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            prev = 0.0
            for k in range(nz):
                invd[i, j, k] = 0.0
                if solid[i, j, k]:
                    prev = 0.0
                    continue
                lo = kz[i, j, k]
                diag = kx[i, j, k] + kx[i + 1, j, k] + ky[i, j, k] + ky[i, j + 1, k] + lo + kz[i, j, k + 1]
                den = diag - lo * lo * prev
                prev = 0.0
                if diag == 0.0 or den <= 1e-12 * diag:
                    continue
                invd[i, j, k] = 1.0 / den
                prev = 1.0 / den


@njit(cache=True, nogil=True)
def _line_solve(x, b, kx, ky, kz, invd, i, j, dp, rh):
    """Exact solve of column (i, j) of A x = b with its horizontal neighbours held, by the
    pivots of :func:`mg_factor`: dp_k = (b_k + Σ_horizontal k_f x_nb + kz_k dp_(k-1)) invd_k,
    then x_k = dp_k + kz_(k+1) invd_k x_(k+1) from the top down (L^-T D^-1 L^-1: symmetric for
    any stored pivots). Cells with invd = 0 (solid, pinned) get 0. A missing neighbour column
    (hall edge) is read as the column itself: its face is closed (k = 0). ``rh`` (nz, or empty)
    receives the right-hand sides b + Σ_horizontal k_f x_nb.
    """
    nx, ny, nz = x.shape
    im = i - 1 if i > 0 else i
    ip = i + 1 if i < nx - 1 else i
    jm = j - 1 if j > 0 else j
    jp = j + 1 if j < ny - 1 else j
    for k in range(nz):
        dp[k] = (b[i, j, k] + kx[i, j, k] * x[im, j, k] + kx[i + 1, j, k] * x[ip, j, k]
                 + ky[i, j, k] * x[i, jm, k] + ky[i, j + 1, k] * x[i, jp, k])
    if rh.shape[0] == nz:
        for k in range(nz):  # (not rh[:] = dp: see _copy3)
            rh[k] = dp[k]
    prev = 0.0
    for k in range(nz):
        prev = (dp[k] + kz[i, j, k] * prev) * invd[i, j, k]
        dp[k] = prev
    xn = 0.0
    for k in range(nz - 1, -1, -1):
        xn = dp[k] + kz[i, j, k + 1] * invd[i, j, k] * xn
        x[i, j, k] = xn


# Signatures: ``reverse`` is passed as a literal True/False, which would compile it twice.
@njit("void(float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], float64[:, :, ::1], "
      "float64[:, :, ::1], boolean, float64[::1])", cache=True, nogil=True)
def line_gs(x, b, kx, ky, kz, invd, reverse, dp):
    """One vertical-line Gauss-Seidel sweep of A x = b (in place): columns in lexicographic
    (i, j) order, or the reverse order when ``reverse`` (its adjoint, for a symmetric cycle)."""
    nx, ny, nz = x.shape
    if reverse:
        for i in range(nx - 1, -1, -1):
            for j in range(ny - 1, -1, -1):
                _line_solve(x, b, kx, ky, kz, invd, i, j, dp, dp[:0])
    else:
        for i in range(nx):
            for j in range(ny):
                _line_solve(x, b, kx, ky, kz, invd, i, j, dp, dp[:0])


@njit(cache=True, nogil=True)
def line_gs_restrict(x, b, kx, ky, kz, invd, dp, xo, rh, bc):
    """A forward :func:`line_gs` sweep that also returns ``bc`` = P^T (b - A x) of its result
    (the residual summed over each coarse cell's 2 x 2 children), without a residual pass.

    An exactly solved column leaves its own equations satisfied; the residual of a cell is what
    its later-solved neighbours changed since: column (i, j) moving by d adds kx_(i) d to
    column (i-1, j) and ky_(j) d to (i, j-1). A pinned cell (invd = 0, x = 0) keeps its own
    residual, b + Σ k_f x_nb at its solve. Solid cells carry b = 0 and closed faces: 0.
    ``dp, xo, rh``: (nz) scratch.
    """
    nx, ny, nz = x.shape
    bc[...] = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                xo[k] = x[i, j, k]
            _line_solve(x, b, kx, ky, kz, invd, i, j, dp, rh)
            for k in range(nz):
                d = x[i, j, k] - xo[k]
                if i > 0:
                    bc[(i - 1) // 2, j // 2, k] += kx[i, j, k] * d
                if j > 0:
                    bc[i // 2, (j - 1) // 2, k] += ky[i, j, k] * d
                if invd[i, j, k] == 0.0:
                    r = rh[k]
                    if k > 0:
                        r += kz[i, j, k] * x[i, j, k - 1]
                    if k < nz - 1:
                        r += kz[i, j, k + 1] * x[i, j, k + 1]
                    bc[i // 2, j // 2, k] += r


@njit(cache=True, nogil=True)
def mg_restrict_residual(x, b, kx, ky, kz, bc):
    """bc = P^T (b - A x): the residual (A x = Σ_faces k_f (x_c - x_nb), k = c / h² in 1/m²)
    summed over each coarse cell's (up to) 2 x 2 children, layer by layer. Solid cells carry
    b = 0, x = 0 and closed faces, so they add 0."""
    nx, ny, nz = x.shape
    bc[...] = 0.0
    for i in range(nx):
        im = i - 1 if i > 0 else i
        ip = i + 1 if i < nx - 1 else i
        for j in range(ny):
            jm = j - 1 if j > 0 else j
            jp = j + 1 if j < ny - 1 else j
            for k in range(nz):
                xc = x[i, j, k]
                km = k - 1 if k > 0 else k
                kp = k + 1 if k < nz - 1 else k
                ax = (kx[i, j, k] * (xc - x[im, j, k]) + kx[i + 1, j, k] * (xc - x[ip, j, k])
                      + ky[i, j, k] * (xc - x[i, jm, k]) + ky[i, j + 1, k] * (xc - x[i, jp, k])
                      + kz[i, j, k] * (xc - x[i, j, km]) + kz[i, j, k + 1] * (xc - x[i, j, kp]))
                bc[i // 2, j // 2, k] += b[i, j, k] - ax


@njit(cache=True, nogil=True)
def mg_prolong_add(xc, x, solid):
    """x += P xc: every fluid child takes its coarse cell's value (piecewise constant)."""
    nx, ny, nz = x.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if not solid[i, j, k]:
                    x[i, j, k] += xc[i // 2, j // 2, k]


@njit(cache=True, nogil=True)
def _lv(a, o, n0, n1, n2):
    """The 3-D view (n0, n1, n2) of the flat array ``a`` from offset ``o``."""
    return a[o:o + n0 * n1 * n2].reshape((n0, n1, n2))


@njit(cache=True, nogil=True)
def _level(l, dims, offs, nz, xw, bw, kx, ky, kz, sol, invd):
    """Level ``l``'s 3-D views: (x, b, kx, ky, kz, solid, invd)."""
    nx = dims[l, 0]
    ny = dims[l, 1]
    oc = offs[l, 0]
    return (_lv(xw, oc, nx, ny, nz), _lv(bw, oc, nx, ny, nz), _lv(kx, offs[l, 1], nx + 1, ny, nz),
            _lv(ky, offs[l, 2], nx, ny + 1, nz), _lv(kz, offs[l, 3], nx, ny, nz + 1), _lv(sol, oc, nx, ny, nz),
            _lv(invd, oc, nx, ny, nz))


@njit(cache=True, nogil=True)
def mg_vcycle(r, z, dims, offs, kx, ky, kz, sol, invd, nz, n_smooth, n_coarse, xw, bw, dp):
    """z = M^-1 r for the symmetric multigrid V-cycle M^-1 (see :func:`mg_coarsen`).

    Down: on each level from x = 0, ``n_smooth`` forward line-GS sweeps, then the residual is
    restricted (summed) to the next level. The coarsest level gets ``n_coarse`` symmetric
    (forward + backward) sweeps from 0. Up: prolong (inject) and add, then ``n_smooth``
    backward sweeps, the adjoint of the pre-smoothing, so M^-1 is symmetric as CG needs.
    ``invd``: the column pivots (:func:`mg_factor`); ``xw, bw``: flat scratch over
    all levels; ``dp``: (nz) scratch.
    """
    nl = dims.shape[0]
    xo = np.empty(nz)
    rh = np.empty(nz)
    for l in range(nl):
        x, b, ax, ay, az, s, iv = _level(l, dims, offs, nz, xw, bw, kx, ky, kz, sol, invd)
        x[...] = 0.0
        if l == 0:
            _copy3(r, b)
        if l == nl - 1:
            for _ in range(n_coarse):
                line_gs(x, b, ax, ay, az, iv, False, dp)
                line_gs(x, b, ax, ay, az, iv, True, dp)
            break
        for _ in range(n_smooth - 1):
            line_gs(x, b, ax, ay, az, iv, False, dp)
        bc = _lv(bw, offs[l + 1, 0], dims[l + 1, 0], dims[l + 1, 1], nz)
        if n_smooth > 0:
            line_gs_restrict(x, b, ax, ay, az, iv, dp, xo, rh, bc)
        else:
            mg_restrict_residual(x, b, ax, ay, az, bc)
    for l in range(nl - 2, -1, -1):
        x, b, ax, ay, az, s, iv = _level(l, dims, offs, nz, xw, bw, kx, ky, kz, sol, invd)
        mg_prolong_add(_lv(xw, offs[l + 1, 0], dims[l + 1, 0], dims[l + 1, 1], nz), x, s)
        for _ in range(n_smooth):
            line_gs(x, b, ax, ay, az, iv, True, dp)
    _copy3(_lv(xw, offs[0, 0], dims[0, 0], dims[0, 1], nz), z)


@njit(cache=True, nogil=True)
def mg_pcg(p, b, cx, cy, cz, solid, dx, dy, dz, dims, offs, kx, ky, kz, sol, invd, n_smooth, n_coarse,
           tol, max_iter):
    """Solve A p = b by multigrid-preconditioned CG (:func:`mg_vcycle`), warm-started from ``p``.

    As :func:`pcg` (same A, same stop: max|b - A p| <= tol, ``b`` summing to zero over every
    connected fluid region); only the preconditioner differs. Returns the number of iterations.
    """
    nz = solid.shape[2]
    r = np.empty_like(p)
    if _cg_residual(p, b, cx, cy, cz, solid, dx, dy, dz, r) <= tol:
        return 0
    n = offs[dims.shape[0] - 1, 0] + dims[dims.shape[0] - 1, 0] * dims[dims.shape[0] - 1, 1] * nz
    xw = np.empty(n)
    bw = np.empty(n)
    dp = np.empty(nz)
    z = np.empty_like(p)
    s = np.empty_like(p)
    mg_vcycle(r, z, dims, offs, kx, ky, kz, sol, invd, nz, n_smooth, n_coarse, xw, bw, dp)
    rho = _cg_first(s, z, r)
    it = 0
    for it in range(1, max_iter + 1):
        if _cg_step(p, r, s, z, rho, cx, cy, cz, solid, dx, dy, dz, tol):
            break
        mg_vcycle(r, z, dims, offs, kx, ky, kz, sol, invd, nz, n_smooth, n_coarse, xw, bw, dp)
        rho = _cg_turn(s, z, r, rho)
    return it


@njit(cache=True, nogil=True)
def subtract_gradient(u, v, w, p, cx, cy, cz, dx, dy, dz):
    """u_f -= c_f (p_plus - p_minus) / h on every face with c_f > 0 (in place)."""
    nx, ny, nz = p.shape
    for i in range(1, nx):
        for j in range(ny):
            for k in range(nz):
                c = cx[i, j, k]
                if c > 0.0:
                    u[i, j, k] -= c * (p[i, j, k] - p[i - 1, j, k]) / dx
    for i in range(nx):
        for j in range(1, ny):
            for k in range(nz):
                c = cy[i, j, k]
                if c > 0.0:
                    v[i, j, k] -= c * (p[i, j, k] - p[i, j - 1, k]) / dy
    for i in range(nx):
        for j in range(ny):
            for k in range(1, nz):
                c = cz[i, j, k]
                if c > 0.0:
                    w[i, j, k] -= c * (p[i, j, k] - p[i, j, k - 1]) / dz


@njit(cache=True, nogil=True)
def remove_region_mean(b, comp, n_comp):
    """Subtract from ``b`` its mean over each connected region (makes A p = b solvable)."""
    nx, ny, nz = b.shape
    s = np.zeros(n_comp)
    n = np.zeros(n_comp)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                c = comp[i, j, k]
                if c >= 0:
                    s[c] += b[i, j, k]
                    n[c] += 1.0
    for c in range(n_comp):
        if n[c] > 0:
            s[c] /= n[c]
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                c = comp[i, j, k]
                if c >= 0:
                    b[i, j, k] -= s[c]


# --------------------------------------------------------------------------- geometry helpers


@njit(cache=True, nogil=True)
def components(solid, cx, cy, cz, comp):
    """Label connected fluid regions (through faces with c > 0); solids get -1. Returns the count."""
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                comp[i, j, k] = -1
    stack = np.empty(nx * ny * nz, dtype=np.int64)
    n = 0
    for i0 in range(nx):
        for j0 in range(ny):
            for k0 in range(nz):
                if solid[i0, j0, k0] or comp[i0, j0, k0] >= 0:
                    continue
                comp[i0, j0, k0] = n
                top = 0
                stack[top] = (i0 * ny + j0) * nz + k0
                top += 1
                while top > 0:
                    top -= 1
                    idx = stack[top]
                    k = idx % nz
                    j = (idx // nz) % ny
                    i = idx // (ny * nz)
                    if i > 0 and cx[i, j, k] > 0.0 and comp[i - 1, j, k] < 0:
                        comp[i - 1, j, k] = n
                        stack[top] = idx - ny * nz
                        top += 1
                    if i < nx - 1 and cx[i + 1, j, k] > 0.0 and comp[i + 1, j, k] < 0:
                        comp[i + 1, j, k] = n
                        stack[top] = idx + ny * nz
                        top += 1
                    if j > 0 and cy[i, j, k] > 0.0 and comp[i, j - 1, k] < 0:
                        comp[i, j - 1, k] = n
                        stack[top] = idx - nz
                        top += 1
                    if j < ny - 1 and cy[i, j + 1, k] > 0.0 and comp[i, j + 1, k] < 0:
                        comp[i, j + 1, k] = n
                        stack[top] = idx + nz
                        top += 1
                    if k > 0 and cz[i, j, k] > 0.0 and comp[i, j, k - 1] < 0:
                        comp[i, j, k - 1] = n
                        stack[top] = idx - 1
                        top += 1
                    if k < nz - 1 and cz[i, j, k + 1] > 0.0 and comp[i, j, k + 1] < 0:
                        comp[i, j, k + 1] = n
                        stack[top] = idx + 1
                        top += 1
                n += 1
    return n


@njit("void(boolean[:], float64, float64[:])", cache=True, nogil=True)  # C and strided lines: one code
def _wall_distance_line(solid, h, dist):
    """Along one grid line of cells ``h`` apart: lower ``dist`` (m) of each fluid cell centre to its
    distance from the nearest solid cell or end of the line (a wall half a cell beyond the last centre)."""
    n = solid.shape[0]
    last = -0.5  # wall at 0 -> centre i is (i + 0.5) h from it
    for i in range(n):
        if solid[i]:
            last = i + 0.5
        else:
            d = (i - last) * h
            if d < dist[i]:
                dist[i] = d
    last = n - 0.5
    for i in range(n - 1, -1, -1):
        if solid[i]:
            last = i - 0.5
        else:
            d = (last - i) * h
            if d < dist[i]:
                dist[i] = d


@njit(cache=True, nogil=True)
def wall_distance(solid, dx, dy, dz, dist):
    """Distance (m) from each fluid cell centre to the nearest solid cell or hall boundary along x, y or z."""
    nx, ny, nz = solid.shape
    big = 1e30
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                dist[i, j, k] = big
    for j in range(ny):
        for k in range(nz):
            _wall_distance_line(solid[:, j, k], dx, dist[:, j, k])
    for i in range(nx):
        for k in range(nz):
            _wall_distance_line(solid[i, :, k], dy, dist[i, :, k])
    for i in range(nx):
        for j in range(ny):
            _wall_distance_line(solid[i, j, :], dz, dist[i, j, :])
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    dist[i, j, k] = 0.0
