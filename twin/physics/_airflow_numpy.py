"""Plain numpy references of the FFD kernels in :mod:`._airflow_numba` (same equations, same
array conventions; vectorised, slow on big grids, used by the tests and the speed ratio)."""

from __future__ import annotations

import numpy as np

from dctwin.twin.physics._airflow_numba import face_velocity

#: velocity at open faces: own component, 4-face average of the others (the kernels' definition,
#: run by Python over arrays of face indices)
_face_velocity = face_velocity.py_func


def _cell(f, fx, fy, fz):
    """The cells holding fractional indices (clamped to ``f``): lower corners (i, j, k), upper
    corners (i1, j1, k1) and the fractions (tx, ty, tz) across them, as the numba kernel."""
    n0, n1, n2 = f.shape
    fx = np.clip(fx, 0.0, n0 - 1.0)
    fy = np.clip(fy, 0.0, n1 - 1.0)
    fz = np.clip(fz, 0.0, n2 - 1.0)
    i = np.minimum(fx.astype(np.int64), max(n0 - 2, 0))
    j = np.minimum(fy.astype(np.int64), max(n1 - 2, 0))
    k = np.minimum(fz.astype(np.int64), max(n2 - 2, 0))
    upper = (np.minimum(i + 1, n0 - 1), np.minimum(j + 1, n1 - 1), np.minimum(k + 1, n2 - 1))
    return (i, j, k), upper, (fx - i, fy - j, fz - k)


def _trilerp(f, fx, fy, fz):
    """Vectorised trilinear interpolation at fractional indices (clamped), as the numba kernel."""
    (i, j, k), (i1, j1, k1), (tx, ty, tz) = _cell(f, fx, fy, fz)
    c00 = f[i, j, k] * (1 - tx) + f[i1, j, k] * tx
    c10 = f[i, j1, k] * (1 - tx) + f[i1, j1, k] * tx
    c01 = f[i, j, k1] * (1 - tx) + f[i1, j, k1] * tx
    c11 = f[i, j1, k1] * (1 - tx) + f[i1, j1, k1] * tx
    return (c00 * (1 - ty) + c10 * ty) * (1 - tz) + (c01 * (1 - ty) + c11 * ty) * tz


def advect_component(f, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, out):
    """out = f(x - dt U) on open faces (Euler back-trace), 0 on leaky faces, f on closed faces."""
    out[...] = f
    out[(c > 0) & (c < 1)] = 0.0
    I, J, K = np.nonzero(c == 1.0)
    x, y, z = (I + ox) * dx, (J + oy) * dy, (K + oz) * dz
    a, b, e = _face_velocity(u, v, w, I, J, K, ox, oy)
    out[I, J, K] = _trilerp(f, (x - dt * a) / dx - ox, (y - dt * b) / dy - oy, (z - dt * e) / dz - oz)


def maccormack_correct(f, fh, fb, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, out):
    """out = fh + (f - fb)/2 on open faces, fh where that leaves the min/max of the 8 values
    the forward (Euler) step interpolated between; fh on other faces (as the numba kernel)."""
    out[...] = fh
    I, J, K = np.nonzero(c == 1.0)
    a, b, e = _face_velocity(u, v, w, I, J, K, ox, oy)
    n0, n1, n2 = f.shape
    fx = np.clip(((I + ox) * dx - dt * a) / dx - ox, 0.0, n0 - 1.0)
    fy = np.clip(((J + oy) * dy - dt * b) / dy - oy, 0.0, n1 - 1.0)
    fz = np.clip(((K + oz) * dz - dt * e) / dz - oz, 0.0, n2 - 1.0)
    i = np.minimum(fx.astype(np.int64), max(n0 - 2, 0))
    j = np.minimum(fy.astype(np.int64), max(n1 - 2, 0))
    k = np.minimum(fz.astype(np.int64), max(n2 - 2, 0))
    i1, j1, k1 = np.minimum(i + 1, n0 - 1), np.minimum(j + 1, n1 - 1), np.minimum(k + 1, n2 - 1)
    corners = np.stack([f[p, q, r] for p in (i, i1) for q in (j, j1) for r in (k, k1)])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    r = fh[I, J, K] + 0.5 * (f[I, J, K] - fb[I, J, K])
    out[I, J, K] = np.where((r < lo) | (r > hi), fh[I, J, K], r)


def chen_viscosity(u, v, w, solid, wall_dist, chen_a, nu_floor, nu_out):
    """nu = max(chen_a |U| l, nu_floor) at cell centres, 0 in solids."""
    a = 0.5 * (u[:-1] + u[1:])
    b = 0.5 * (v[:, :-1] + v[:, 1:])
    c = 0.5 * (w[:, :, :-1] + w[:, :, 1:])
    nu = np.maximum(chen_a * np.sqrt(a * a + b * b + c * c) * wall_dist, nu_floor)
    nu_out[...] = np.where(solid, 0.0, nu)


def _diffuse_x(f, src, c, solid, nu, dt, dx, dy, dz, wall, top_open):
    """One Jacobi sweep on the first-axis faces of ``f`` (see the numba kernel)."""
    n0, ny, nz = f.shape
    out = f.copy()
    I, J, K = np.nonzero(c == 1.0)
    a = dt * 0.5 * (nu[I - 1, J, K] + nu[I, J, K])
    ax, ay, az = 1 / dx ** 2, 1 / dy ** 2, 1 / dz ** 2
    diag = 1.0 + 2.0 * a * ax
    s = src[I, J, K] + a * ax * (f[I - 1, J, K] + f[I + 1, J, K])
    sp = np.pad(solid, ((0, 0), (1, 1), (1, 1)), constant_values=True)  # outside = wall
    fp = np.pad(f, ((0, 0), (1, 1), (1, 1)))
    for dj, dk, coef in ((-1, 0, ay), (1, 0, ay), (0, -1, az), (0, 1, az)):
        Jn, Kn = J + dj + 1, K + dk + 1
        is_wall = sp[I - 1, Jn, Kn] & sp[np.minimum(I, solid.shape[0] - 1), Jn, Kn]
        wf = np.full(len(I), wall)
        if dk == 1:  # the last-axis boundary: an outlet (zero gradient) where top_open
            top = K == nz - 1
            wf = np.where(top, wall * (1.0 - 0.5 * (top_open[I - 1, J] + top_open[np.minimum(I, top_open.shape[0] - 1), J])),
                          wall)
        diag = diag + np.where(is_wall, wf * a * coef, a * coef)
        s = s + np.where(is_wall, 0.0, a * coef * fp[I, Jn, Kn])
    out[I, J, K] = s / diag
    return out


def diffuse(u, v, w, src_u, src_v, src_w, cx, cy, cz, solid, nu, dt, dx, dy, dz, wall, top_open, n_iter):
    """Implicit viscous step by ``n_iter`` Jacobi sweeps (in place), as the numba kernel."""
    sv, sw = solid.transpose(1, 0, 2), solid.transpose(2, 1, 0)
    no_top = np.zeros(sw.shape[:2])
    nuv, nuw = nu.transpose(1, 0, 2), nu.transpose(2, 1, 0)
    for _ in range(n_iter):
        nu_ = _diffuse_x(u, src_u, cx, solid, nu, dt, dx, dy, dz, wall, top_open)
        nv = _diffuse_x(v.transpose(1, 0, 2), src_v.transpose(1, 0, 2), cy.transpose(1, 0, 2), sv, nuv,
                        dt, dy, dx, dz, wall, top_open.T).transpose(1, 0, 2)
        nw = _diffuse_x(w.transpose(2, 1, 0), src_w.transpose(2, 1, 0), cz.transpose(2, 1, 0), sw, nuw,
                        dt, dz, dy, dx, wall, no_top).transpose(2, 1, 0)
        u[...] = nu_
        v[...] = nv
        w[...] = nw


def divergence(u, v, w, solid, dx, dy, dz):
    div = (u[1:] - u[:-1]) / dx + (v[:, 1:] - v[:, :-1]) / dy + (w[:, :, 1:] - w[:, :, :-1]) / dz
    return np.where(solid, 0.0, div)


def apply_A(p, cx, cy, cz, solid, dx, dy, dz):
    """A p = Σ_faces c (p_c - p_nb) / h² (interior faces only)."""
    out = np.zeros_like(p)
    fx = cx[1:-1] * (p[:-1] - p[1:]) / dx ** 2
    out[:-1] += fx
    out[1:] -= fx
    fy = cy[:, 1:-1] * (p[:, :-1] - p[:, 1:]) / dy ** 2
    out[:, :-1] += fy
    out[:, 1:] -= fy
    fz = cz[:, :, 1:-1] * (p[:, :, :-1] - p[:, :, 1:]) / dz ** 2
    out[:, :, :-1] += fz
    out[:, :, 1:] -= fz
    return np.where(solid, 0.0, out)


def pcg(p, b, cx, cy, cz, solid, dx, dy, dz, tol, max_iter):
    """Jacobi-preconditioned CG for A p = b (in place); the reference for the MIC(0) kernel."""
    diag = np.zeros_like(p)
    diag[:-1] += cx[1:-1] / dx ** 2
    diag[1:] += cx[1:-1] / dx ** 2
    diag[:, :-1] += cy[:, 1:-1] / dy ** 2
    diag[:, 1:] += cy[:, 1:-1] / dy ** 2
    diag[:, :, :-1] += cz[:, :, 1:-1] / dz ** 2
    diag[:, :, 1:] += cz[:, :, 1:-1] / dz ** 2
    inv = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 0.0)
    r = b - apply_A(p, cx, cy, cz, solid, dx, dy, dz)
    if np.abs(r).max(initial=0.0) <= tol:
        return 0
    z = inv * r
    s = z.copy()
    rho = float((z * r).sum())
    it = 0
    for it in range(1, max_iter + 1):
        q = apply_A(s, cx, cy, cz, solid, dx, dy, dz)
        sq = float((s * q).sum())
        if sq == 0.0:
            break
        alpha = rho / sq
        p += alpha * s
        r -= alpha * q
        if np.abs(r).max() <= tol:
            break
        z = inv * r
        rho_new = float((z * r).sum())
        s = z + (rho_new / rho) * s
        rho = rho_new
    return it


def subtract_gradient(u, v, w, p, cx, cy, cz, dx, dy, dz):
    u[1:-1] -= cx[1:-1] * (p[1:] - p[:-1]) / dx
    v[:, 1:-1] -= cy[:, 1:-1] * (p[:, 1:] - p[:, :-1]) / dy
    w[:, :, 1:-1] -= cz[:, :, 1:-1] * (p[:, :, 1:] - p[:, :, :-1]) / dz


def components(solid, cx, cy, cz):
    """Connected fluid regions by repeated min-label propagation (labels renumbered in scan order)."""
    nx, ny, nz = solid.shape
    lab = np.where(solid, np.iinfo(np.int64).max, np.arange(nx * ny * nz).reshape(solid.shape))
    big = np.iinfo(np.int64).max
    while True:
        old = lab.copy()
        m = cx[1:-1] > 0
        a, b = lab[:-1], lab[1:]
        mn = np.where(m, np.minimum(a, b), big)
        lab[:-1] = np.minimum(lab[:-1], mn)
        lab[1:] = np.minimum(lab[1:], mn)
        m = cy[:, 1:-1] > 0
        mn = np.where(m, np.minimum(lab[:, :-1], lab[:, 1:]), big)
        lab[:, :-1] = np.minimum(lab[:, :-1], mn)
        lab[:, 1:] = np.minimum(lab[:, 1:], mn)
        m = cz[:, :, 1:-1] > 0
        mn = np.where(m, np.minimum(lab[:, :, :-1], lab[:, :, 1:]), big)
        lab[:, :, :-1] = np.minimum(lab[:, :, :-1], mn)
        lab[:, :, 1:] = np.minimum(lab[:, :, 1:], mn)
        if np.array_equal(lab, old):
            break
    out = np.full(solid.shape, -1, dtype=np.int64)
    roots = np.unique(lab[~solid])
    remap = {int(r): n for n, r in enumerate(sorted(roots))}
    flat = lab.reshape(-1)
    of = out.reshape(-1)
    for idx in np.nonzero(~solid.reshape(-1))[0]:
        of[idx] = remap[int(flat[idx])]
    return out, len(roots)


def wall_distance(solid, dx, dy, dz):
    """Distance to the nearest solid cell or boundary along the three axes (m), 0 in solids."""
    nx, ny, nz = solid.shape
    dist = np.full(solid.shape, np.inf)
    for axis, h, n in ((0, dx, nx), (1, dy, ny), (2, dz, nz)):
        s = np.moveaxis(solid, axis, 0)
        d = np.moveaxis(dist, axis, 0)
        idx = np.arange(n).reshape((n,) + (1,) * 2)
        last = np.full(s.shape[1:], -0.5)
        for i in range(n):
            last = np.where(s[i], i + 0.5, last)
            d[i] = np.where(s[i], d[i], np.minimum(d[i], (i - last) * h))
        last = np.full(s.shape[1:], n - 0.5)
        for i in range(n - 1, -1, -1):
            last = np.where(s[i], i - 0.5, last)
            d[i] = np.where(s[i], d[i], np.minimum(d[i], (last - i) * h))
        del idx
    dist[solid] = 0.0
    return dist


def _stencil(f, gx, gy, gz):
    """(trilinear value, min, max of the 8 stencil values) at fractional indices (clamped)."""
    (i, j, k), (i1, j1, k1), _ = _cell(f, gx, gy, gz)
    corners = np.stack([f[p, q, r] for p in (i, i1) for q in (j, j1) for r in (k, k1)])
    return _trilerp(f, gx, gy, gz), corners.min(axis=0), corners.max(axis=0)


def mcl_forward(f, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, fh, lo, hi):
    """fh = f(x - dt U) (Euler trace, trilinear) on open faces with lo/hi the min/max of the
    8 values interpolated; closed faces f, leaky faces 0 (lo = hi = fh there), as the numba kernel."""
    fh[...] = np.where(c == 0.0, f, 0.0)
    lo[...] = fh
    hi[...] = fh
    I, J, K = np.nonzero(c == 1.0)
    a, b, e = _face_velocity(u, v, w, I, J, K, ox, oy)
    val, mn, mx = _stencil(f, I - dt * a / dx, J - dt * b / dy, K - dt * e / dz)
    fh[I, J, K] = val
    lo[I, J, K] = mn
    hi[I, J, K] = mx


def mcl_correct(f, fh, lo, hi, ox, oy, oz, u, v, w, c, dt, dx, dy, dz, beta, out):
    """out = clamp(fh + beta (f - fh(x + dt U)) / 2, lo, hi) on open faces, fh elsewhere (as numba)."""
    out[...] = fh
    I, J, K = np.nonzero(c == 1.0)
    a, b, e = _face_velocity(u, v, w, I, J, K, ox, oy)
    fb = _trilerp(fh, I + dt * a / dx, J + dt * b / dy, K + dt * e / dz)
    r = fh[I, J, K] + 0.5 * beta * (f[I, J, K] - fb)
    out[I, J, K] = np.minimum(np.maximum(r, lo[I, J, K]), hi[I, J, K])


# --------------------------------------------------------------------------- multigrid preconditioner


def mg_coarsen(kx, ky, kz, solid, hscale):
    """One 2 x 2-column coarsening, as the numba kernel: returns (kxc, kyc, kzc, solidc).

    Vertical coarse faces sum their child faces; horizontal ones ``hscale`` x the sum of the
    child faces on the interface; a coarse cell is solid when every child is; hall faces 0."""
    nx, ny, nz = solid.shape
    ncx, ncy = (nx + 1) // 2, (ny + 1) // 2
    pad = np.ones((2 * ncx, 2 * ncy, nz), dtype=bool)
    pad[:nx, :ny] = solid
    solidc = pad.reshape(ncx, 2, ncy, 2, nz).all(axis=(1, 3))
    kzp = np.zeros((2 * ncx, 2 * ncy, nz + 1))
    kzp[:nx, :ny] = kz
    kzc = kzp.reshape(ncx, 2, ncy, 2, nz + 1).sum(axis=(1, 3))
    kxp = np.zeros((2 * ncx + 1, 2 * ncy, nz))
    kxp[:nx + 1, :ny] = kx
    kxc = hscale * kxp[0::2].reshape(ncx + 1, ncy, 2, nz).sum(axis=2)
    kxc[0] = kxc[-1] = 0.0
    kyp = np.zeros((2 * ncx, 2 * ncy + 1, nz))
    kyp[:nx, :ny + 1] = ky
    kyc = hscale * kyp[:, 0::2].reshape(ncx, 2, ncy + 1, nz).sum(axis=1)
    kyc[:, 0] = kyc[:, -1] = 0.0
    return kxc, kyc, kzc, solidc


def mg_residual(x, b, kx, ky, kz, solid):
    """b - A x for A x = Σ_faces k (x_c - x_nb) (k = c / h², 1/m²: :func:`apply_A` with h = 1), 0 in solids."""
    return np.where(solid, 0.0, b - apply_A(x, kx, ky, kz, solid, 1.0, 1.0, 1.0))


def _line_solve(x, b, kx, ky, kz, solid, i, j):
    """Column (i, j) of A x = b solved exactly (dense) with its horizontal neighbours held.
    A vertical fluid segment with no open horizontal face is singular (Neumann): its top cell is
    pinned to 0, as the numba kernel's vanishing pivot does."""
    nz = solid.shape[2]
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    rhs = (b[i, j] + kx[i, j] * xp[i, j + 1] + kx[i + 1, j] * xp[i + 2, j + 1]
           + ky[i, j] * xp[i + 1, j] + ky[i, j + 1] * xp[i + 1, j + 2])
    diag = kx[i, j] + kx[i + 1, j] + ky[i, j] + ky[i, j + 1] + kz[i, j, :-1] + kz[i, j, 1:]
    m = np.diag(diag) - np.diag(kz[i, j, 1:-1], 1) - np.diag(kz[i, j, 1:-1], -1)
    act = ~solid[i, j] & (diag > 0)
    horiz = kx[i, j] + kx[i + 1, j] + ky[i, j] + ky[i, j + 1]
    k = 0
    while k < nz:
        if not act[k]:
            k += 1
            continue
        top = k
        while top + 1 < nz and kz[i, j, top + 1] > 0:
            top += 1
        if not (horiz[k:top + 1] > 0).any():
            act[top] = False
        k = top + 1
    out = np.zeros(nz)
    if act.any():
        out[act] = np.linalg.solve(m[np.ix_(act, act)], rhs[act])
    x[i, j] = out


def line_gs(x, b, kx, ky, kz, solid, reverse):
    """One vertical-line Gauss-Seidel sweep (in place), columns in (i, j) order or reversed."""
    nx, ny = solid.shape[:2]
    cols = [(i, j) for i in range(nx) for j in range(ny)]
    for i, j in (cols[::-1] if reverse else cols):
        _line_solve(x, b, kx, ky, kz, solid, i, j)


def mg_vcycle(r, levels, n_smooth, n_coarse):
    """z = M^-1 r, the symmetric V-cycle of the numba kernel over ``levels`` =
    [(kx, ky, kz, solid), ...] (finest first): forward sweeps down, backward sweeps up,
    restriction = sum over the 2 x 2 children, prolongation = injection."""
    nl = len(levels)
    xs, bs = [], [r.copy()]
    for l, (kx, ky, kz, solid) in enumerate(levels):
        x = np.zeros(solid.shape)
        xs.append(x)
        if l == nl - 1:
            for _ in range(n_coarse):
                line_gs(x, bs[l], kx, ky, kz, solid, False)
                line_gs(x, bs[l], kx, ky, kz, solid, True)
            break
        for _ in range(n_smooth):
            line_gs(x, bs[l], kx, ky, kz, solid, False)
        rr = mg_residual(x, bs[l], kx, ky, kz, solid)
        nx, ny, nz = solid.shape
        rp = np.zeros((nx + nx % 2, ny + ny % 2, nz))
        rp[:nx, :ny] = rr
        bs.append(rp.reshape(rp.shape[0] // 2, 2, rp.shape[1] // 2, 2, nz).sum(axis=(1, 3)))
    for l in range(nl - 2, -1, -1):
        kx, ky, kz, solid = levels[l]
        xc = np.repeat(np.repeat(xs[l + 1], 2, axis=0), 2, axis=1)[:solid.shape[0], :solid.shape[1]]
        xs[l] += np.where(solid, 0.0, xc)
        for _ in range(n_smooth):
            line_gs(xs[l], bs[l], kx, ky, kz, solid, True)
    return xs[0]
