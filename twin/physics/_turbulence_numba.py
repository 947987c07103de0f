"""numba kernels of the one-equation eddy viscosity (see :mod:`dctwin.twin.physics.turbulence`).

The turbulent kinetic energy ``k`` (m2/s2) lives at cell centres of the staggered grid of
:mod:`._airflow_numba` (``u`` on x-faces ``(nx+1, ny, nz)`` and so on). Its equation,

    dk/dt + ∇·(U k) = ∇·((nu_t / sigma_k) ∇k) + nu_t S² - C_mu^¾ k^{3/2} / l,

with ``nu_t = C_mu^¼ sqrt(k) l`` (Prandtl-Kolmogorov; ``l`` the mixing length), is stepped
implicitly: first-order upwind convection with the face fluxes, diffusion, and the dissipation
linearised as ``(C_mu^¾ sqrt(k_old) / l) k``, so the step's matrix is an M-matrix whatever the
time step (``k`` stays non-negative and bounded). :func:`k_step` solves it by Gauss-Seidel sweeps;
:mod:`._turbulence_numpy` holds the plain references (an exact sparse solve) the tests compare against.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _cc(u, v, w, i, j, k):
    """Cell-centre velocity (m/s) of cell (i, j, k) from its face values."""
    return (0.5 * (u[i, j, k] + u[i + 1, j, k]), 0.5 * (v[i, j, k] + v[i, j + 1, k]),
            0.5 * (w[i, j, k] + w[i, j, k + 1]))


@njit(cache=True, nogil=True)
def strain_sq(u, v, w, solid, dx, dy, dz, kato, out):
    """``S² = 2 S_ij S_ij`` (1/s²) at cell centres of the face velocities; 0 in solids. ``kato``:
    ``S Ω`` instead (Kato & Launder 1993: Ω² = 2 Ω_ij Ω_ij the vorticity's square), which makes no
    turbulence where the flow is strained without rotating (a jet turning at a wall or ceiling).

    The normal strains come from the cell's own faces; the shear strains from central differences of
    the cell-centre velocities of the two neighbours along the axis, one-sided (with the cell itself)
    where a neighbour is solid or outside the grid.
    """
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    out[i, j, k] = 0.0
                    continue
                ux = (u[i + 1, j, k] - u[i, j, k]) / dx
                vy = (v[i, j + 1, k] - v[i, j, k]) / dy
                wz = (w[i, j, k + 1] - w[i, j, k]) / dz
                a0, b0, c0 = _cc(u, v, w, i, j, k)
                # x-neighbours
                am, bm, cm, hm = a0, b0, c0, 0.0
                if i > 0 and not solid[i - 1, j, k]:
                    am, bm, cm = _cc(u, v, w, i - 1, j, k)
                    hm = dx
                ap, bp, cp, hp = a0, b0, c0, 0.0
                if i < nx - 1 and not solid[i + 1, j, k]:
                    ap, bp, cp = _cc(u, v, w, i + 1, j, k)
                    hp = dx
                h = hm + hp
                vx = (bp - bm) / h if h > 0.0 else 0.0
                wx = (cp - cm) / h if h > 0.0 else 0.0
                # y-neighbours
                am, bm, cm, hm = a0, b0, c0, 0.0
                if j > 0 and not solid[i, j - 1, k]:
                    am, bm, cm = _cc(u, v, w, i, j - 1, k)
                    hm = dy
                ap, bp, cp, hp = a0, b0, c0, 0.0
                if j < ny - 1 and not solid[i, j + 1, k]:
                    ap, bp, cp = _cc(u, v, w, i, j + 1, k)
                    hp = dy
                h = hm + hp
                uy = (ap - am) / h if h > 0.0 else 0.0
                wy = (cp - cm) / h if h > 0.0 else 0.0
                # z-neighbours
                am, bm, cm, hm = a0, b0, c0, 0.0
                if k > 0 and not solid[i, j, k - 1]:
                    am, bm, cm = _cc(u, v, w, i, j, k - 1)
                    hm = dz
                ap, bp, cp, hp = a0, b0, c0, 0.0
                if k < nz - 1 and not solid[i, j, k + 1]:
                    ap, bp, cp = _cc(u, v, w, i, j, k + 1)
                    hp = dz
                h = hm + hp
                uz = (ap - am) / h if h > 0.0 else 0.0
                vz = (bp - bm) / h if h > 0.0 else 0.0
                s2 = 2.0 * (ux * ux + vy * vy + wz * wz) + (uy + vx) ** 2 + (uz + wx) ** 2 + (vz + wy) ** 2
                if kato:
                    o2 = (wy - vz) ** 2 + (uz - wx) ** 2 + (vx - uy) ** 2
                    s2 = np.sqrt(s2 * o2)
                out[i, j, k] = s2


@njit(cache=True, nogil=True)
def k_step(kt, u, v, w, cx, cy, cz, solid, nu, lmix, s2, port_in, port_out, dt, dx, dy, dz, sigma_k, c_mu,
           sweeps, rhs, diag):
    """One implicit time step of ``k`` (in place on ``kt``) by ``sweeps`` Gauss-Seidel sweeps.

    ``nu`` the eddy viscosity (m2/s) and ``s2`` the squared strain (1/s²) of the step's start;
    ``lmix`` the mixing length (m); ``port_in`` per cell the sum over its inflow ports of flux x
    the inflow's k (m5/s3), ``port_out`` the sum of its outflow port fluxes (m3/s, positive). A face
    is open to convection and diffusion when its conductance is above 0 and both its cells are air.
    ``rhs`` and ``diag`` are scratch arrays of the cells' shape.
    """
    nx, ny, nz = solid.shape
    vol = dx * dy * dz
    ax, ay, az = dy * dz, dx * dz, dx * dy
    c34 = c_mu ** 0.75
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    kt[i, j, k] = 0.0
                    rhs[i, j, k] = 0.0
                    diag[i, j, k] = 1.0
                    continue
                k0 = kt[i, j, k]
                kk = k0 if k0 > 0.0 else 0.0
                d = vol / dt + vol * c34 * np.sqrt(kk) / lmix[i, j, k] + port_out[i, j, k]
                # outflow through open faces, and the diffusion conductances
                if i > 0 and cx[i, j, k] > 0.0 and not solid[i - 1, j, k]:
                    f = -u[i, j, k] * ax
                    d += (f if f > 0.0 else 0.0) + cx[i, j, k] * 0.5 * (nu[i, j, k] + nu[i - 1, j, k]) / sigma_k * ax / dx
                if i < nx - 1 and cx[i + 1, j, k] > 0.0 and not solid[i + 1, j, k]:
                    f = u[i + 1, j, k] * ax
                    d += (f if f > 0.0 else 0.0) + cx[i + 1, j, k] * 0.5 * (nu[i, j, k] + nu[i + 1, j, k]) / sigma_k * ax / dx
                if j > 0 and cy[i, j, k] > 0.0 and not solid[i, j - 1, k]:
                    f = -v[i, j, k] * ay
                    d += (f if f > 0.0 else 0.0) + cy[i, j, k] * 0.5 * (nu[i, j, k] + nu[i, j - 1, k]) / sigma_k * ay / dy
                if j < ny - 1 and cy[i, j + 1, k] > 0.0 and not solid[i, j + 1, k]:
                    f = v[i, j + 1, k] * ay
                    d += (f if f > 0.0 else 0.0) + cy[i, j + 1, k] * 0.5 * (nu[i, j, k] + nu[i, j + 1, k]) / sigma_k * ay / dy
                if k > 0 and cz[i, j, k] > 0.0 and not solid[i, j, k - 1]:
                    f = -w[i, j, k] * az
                    d += (f if f > 0.0 else 0.0) + cz[i, j, k] * 0.5 * (nu[i, j, k] + nu[i, j, k - 1]) / sigma_k * az / dz
                if k < nz - 1 and cz[i, j, k + 1] > 0.0 and not solid[i, j, k + 1]:
                    f = w[i, j, k + 1] * az
                    d += (f if f > 0.0 else 0.0) + cz[i, j, k + 1] * 0.5 * (nu[i, j, k] + nu[i, j, k + 1]) / sigma_k * az / dz
                diag[i, j, k] = d
                rhs[i, j, k] = vol / dt * kk + vol * nu[i, j, k] * s2[i, j, k] + port_in[i, j, k]
    for _ in range(sweeps):
        for i in range(nx):
            for j in range(ny):
                for k in range(nz):
                    if solid[i, j, k]:
                        continue
                    s = rhs[i, j, k]
                    if i > 0 and cx[i, j, k] > 0.0 and not solid[i - 1, j, k]:
                        f = u[i, j, k] * ax
                        s += ((f if f > 0.0 else 0.0) + cx[i, j, k] * 0.5 * (nu[i, j, k] + nu[i - 1, j, k]) / sigma_k
                              * ax / dx) * kt[i - 1, j, k]
                    if i < nx - 1 and cx[i + 1, j, k] > 0.0 and not solid[i + 1, j, k]:
                        f = -u[i + 1, j, k] * ax
                        s += ((f if f > 0.0 else 0.0) + cx[i + 1, j, k] * 0.5 * (nu[i, j, k] + nu[i + 1, j, k])
                              / sigma_k * ax / dx) * kt[i + 1, j, k]
                    if j > 0 and cy[i, j, k] > 0.0 and not solid[i, j - 1, k]:
                        f = v[i, j, k] * ay
                        s += ((f if f > 0.0 else 0.0) + cy[i, j, k] * 0.5 * (nu[i, j, k] + nu[i, j - 1, k]) / sigma_k
                              * ay / dy) * kt[i, j - 1, k]
                    if j < ny - 1 and cy[i, j + 1, k] > 0.0 and not solid[i, j + 1, k]:
                        f = -v[i, j + 1, k] * ay
                        s += ((f if f > 0.0 else 0.0) + cy[i, j + 1, k] * 0.5 * (nu[i, j, k] + nu[i, j + 1, k])
                              / sigma_k * ay / dy) * kt[i, j + 1, k]
                    if k > 0 and cz[i, j, k] > 0.0 and not solid[i, j, k - 1]:
                        f = w[i, j, k] * az
                        s += ((f if f > 0.0 else 0.0) + cz[i, j, k] * 0.5 * (nu[i, j, k] + nu[i, j, k - 1]) / sigma_k
                              * az / dz) * kt[i, j, k - 1]
                    if k < nz - 1 and cz[i, j, k + 1] > 0.0 and not solid[i, j, k + 1]:
                        f = -w[i, j, k + 1] * az
                        s += ((f if f > 0.0 else 0.0) + cz[i, j, k + 1] * 0.5 * (nu[i, j, k] + nu[i, j, k + 1])
                              / sigma_k * az / dz) * kt[i, j, k + 1]
                    kt[i, j, k] = s / diag[i, j, k]


@njit(cache=True, nogil=True)
def k_viscosity(kt, lmix, solid, c_mu, nu_floor, nu_out):
    """``nu_t = max(C_mu^¼ sqrt(k) l, nu_floor)`` (m2/s) at cell centres; 0 in solids."""
    c14 = c_mu ** 0.25
    nx, ny, nz = solid.shape
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if solid[i, j, k]:
                    nu_out[i, j, k] = 0.0
                    continue
                kk = kt[i, j, k]
                nu = c14 * np.sqrt(kk if kk > 0.0 else 0.0) * lmix[i, j, k]
                nu_out[i, j, k] = nu if nu > nu_floor else nu_floor
