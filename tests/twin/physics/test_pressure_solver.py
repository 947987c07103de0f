"""The projection's pressure solve: multigrid-preconditioned CG ("mg") against MIC(0)-PCG ("mic0"),
and the V-cycle kernels against their numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from air_cases import aisle_room
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.physics import _airflow_numba as nbk
from dctwin.twin.physics import _airflow_numpy as npk
from dctwin.twin.physics import airflow
from dctwin.twin.physics.airflow import FlowBC, solve_flow, solve_pressure


def _random_system(seed, shape=(7, 6, 5), dx=0.3, dy=0.4, dz=0.15):
    """Face conductances on a box with a few solid cells: interior faces open, leaky (0.2..1) or
    closed; faces on the hall boundary or touching a solid closed (as compile_hall makes them)."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    solid = np.zeros(shape, dtype=bool)
    solid[2, 1:3, :2] = True
    solid[5, 4, 1:4] = True
    cx = np.zeros((nx + 1, ny, nz))
    cy = np.zeros((nx, ny + 1, nz))
    cz = np.zeros((nx, ny, nz + 1))
    for c in (cx, cy, cz):
        c[...] = np.where(rng.random(c.shape) < 0.15, rng.uniform(0.2, 1.0, c.shape), 1.0)
    cx[0] = cx[-1] = 0.0
    cy[:, 0] = cy[:, -1] = 0.0
    cz[:, :, 0] = cz[:, :, -1] = 0.0
    cx[1:-1] *= ~(solid[:-1] | solid[1:])
    cy[:, 1:-1] *= ~(solid[:, :-1] | solid[:, 1:])
    cz[:, :, 1:-1] *= ~(solid[:, :, :-1] | solid[:, :, 1:])
    return cx, cy, cz, solid, dx, dy, dz


def _levels(cx, cy, cz, solid, dx, dy, dz, hscale=0.5):
    """The V-cycle hierarchy (numpy reference) down to one column."""
    lv = [(cx / dx ** 2, cy / dy ** 2, cz / dz ** 2, solid)]
    while lv[-1][3].shape[0] * lv[-1][3].shape[1] > 1:
        lv.append(npk.mg_coarsen(*lv[-1], hscale))
    return lv


class _Plant:
    """The few AirPlant members the pressure solve reads."""

    def __init__(self, cx, cy, cz, solid, dx, dy, dz):
        self.shape = solid.shape
        self.nfx, self.nfy = cx.size, cy.size
        self.cond = np.concatenate([cx.ravel(), cy.ravel(), cz.ravel()])
        self.solid, self.dx, self.dy, self.dz = solid, dx, dy, dz
        self.cache = {}

    def face_views(self, arr):
        nx, ny, nz = self.shape
        a, b = self.nfx, self.nfx + self.nfy
        return (arr[:a].reshape(nx + 1, ny, nz), arr[a:b].reshape(nx, ny + 1, nz), arr[b:].reshape(nx, ny, nz + 1))


def _rhs(solid, seed):
    b = np.random.default_rng(seed).normal(size=solid.shape)
    b[solid] = 0.0
    b[~solid] -= b[~solid].mean()
    return b


def _A(ap, p):
    cx, cy, cz = ap.face_views(ap.cond)
    out = np.empty(ap.shape)
    nbk._apply_A(p, cx, cy, cz, ap.solid, ap.dx, ap.dy, ap.dz, out)
    return out


# --------------------------------------------------------------------------- kernels = numpy references


@pytest.mark.parametrize("hscale", [0.5, 1.0])
def test_coarsening_matches_numpy_and_hscale_1_is_galerkin(hscale):
    cx, cy, cz, solid, dx, dy, dz = _random_system(1)
    kx, ky, kz = cx / dx ** 2, cy / dy ** 2, cz / dz ** 2
    ref = npk.mg_coarsen(kx, ky, kz, solid, hscale)
    out = tuple(np.empty(a.shape, dtype=a.dtype) for a in ref)
    nbk.mg_coarsen(kx, ky, kz, solid, hscale, *out)
    for a, b in zip(out, ref):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0.0)
    assert not out[3].all() and out[3].shape == (4, 3, 5)
    if hscale == 1.0:
        # aggregation: the coarse operator is P^T A P with P the piecewise-constant prolongation
        nx, ny, nz = solid.shape
        ncx, ncy = out[3].shape[:2]

        def dense(kx_, ky_, kz_, s_):
            n = s_.size
            m = np.empty((n, n))
            for c in range(n):
                e = np.zeros(n)
                e[c] = 1.0
                m[:, c] = -npk.mg_residual(e.reshape(s_.shape), np.zeros(s_.shape), kx_, ky_, kz_,
                                           np.zeros(s_.shape, dtype=bool)).ravel()
            return m
        P = np.zeros((nx * ny * nz, ncx * ncy * nz))
        for i in range(nx):
            for j in range(ny):
                for k in range(nz):
                    P[(i * ny + j) * nz + k, ((i // 2) * ncy + j // 2) * nz + k] = 1.0
        np.testing.assert_allclose(dense(*out[:3], out[3]), P.T @ dense(kx, ky, kz, solid) @ P, atol=1e-9)


def test_line_gs_and_vcycle_match_numpy():
    cx, cy, cz, solid, dx, dy, dz = _random_system(2)
    cx[1, 0] = cy[0, 1] = 0.0  # column (0, 0) a closed shaft: singular, its top cell pinned
    lv = _levels(cx, cy, cz, solid, dx, dy, dz)
    assert len(lv) == 4
    b = _rhs(solid, 3)
    kx, ky, kz, s = lv[0]
    invd = np.empty(s.shape)
    nbk.mg_factor(kx, ky, kz, s, invd)
    for reverse in (False, True):
        x_nb = np.random.default_rng(4).normal(size=s.shape)
        x_np = x_nb.copy()
        nbk.line_gs(x_nb, b, kx, ky, kz, invd, reverse, np.empty(s.shape[2]))
        npk.line_gs(x_np, b, kx, ky, kz, s, reverse)
        np.testing.assert_allclose(x_nb, x_np, rtol=1e-10, atol=1e-12)
    ap = _Plant(cx, cy, cz, solid, dx, dy, dz)
    for key, val in (("MG_COARSE_COLUMNS", 1), ("MG_HSCALE", 0.5)):
        assert hasattr(airflow, key)
    old = airflow.MG_COARSE_COLUMNS
    airflow.MG_COARSE_COLUMNS = 1
    try:
        mg = airflow._mg_levels(ap)
    finally:
        airflow.MG_COARSE_COLUMNS = old
    assert mg[0].shape[0] == len(lv)
    z = np.empty(solid.shape)
    n = mg[1][-1, 0] + solid.shape[2]
    nbk.mg_vcycle(b, z, *mg, solid.shape[2], 2, 3, np.empty(n), np.empty(n), np.empty(solid.shape[2]))
    np.testing.assert_allclose(z, npk.mg_vcycle(b, lv, 2, 3), rtol=1e-9, atol=1e-9 * np.abs(z).max())


def test_fused_sweep_restricts_the_same_residual_as_a_residual_pass():
    cx, cy, cz, solid, dx, dy, dz = _random_system(12)
    cx[1, 0] = cy[0, 1] = 0.0  # a closed shaft: its pinned top cell keeps its own residual
    kx, ky, kz = cx / dx ** 2, cy / dy ** 2, cz / dz ** 2
    invd = np.empty(solid.shape)
    nbk.mg_factor(kx, ky, kz, solid, invd)
    assert ((invd == 0.0) & ~solid).sum() == 1
    b = _rhs(solid, 13)
    nz = solid.shape[2]
    x0 = np.random.default_rng(14).normal(size=solid.shape) * ~solid
    x1, x2 = x0.copy(), x0.copy()
    bc1, bc2 = np.empty((4, 3, nz)), np.empty((4, 3, nz))
    nbk.line_gs_restrict(x1, b, kx, ky, kz, invd, np.empty(nz), np.empty(nz), np.empty(nz), bc1)
    nbk.line_gs(x2, b, kx, ky, kz, invd, False, np.empty(nz))
    nbk.mg_restrict_residual(x2, b, kx, ky, kz, bc2)
    assert np.array_equal(x1, x2)
    np.testing.assert_allclose(bc1, bc2, rtol=1e-9, atol=1e-9 * np.abs(bc2).max())
    rp = np.zeros((8, 6, nz))
    rp[:7, :6] = npk.mg_residual(x2, b, kx, ky, kz, solid)
    np.testing.assert_allclose(bc2, rp.reshape(4, 2, 3, 2, nz).sum(axis=(1, 3)), rtol=1e-9,
                               atol=1e-9 * np.abs(bc2).max())


def test_vcycle_is_symmetric_and_positive():
    """CG needs a symmetric positive preconditioner: (M^-1 a) . b = a . (M^-1 b), r . M^-1 r > 0."""
    cx, cy, cz, solid, dx, dy, dz = _random_system(5, shape=(11, 9, 6))
    ap = _Plant(cx, cy, cz, solid, dx, dy, dz)
    mg = airflow._mg_levels(ap)
    nz = solid.shape[2]
    n = mg[1][-1, 0] + mg[0][-1, 0] * mg[0][-1, 1] * nz

    def m_inv(r):
        z = np.empty(r.shape)
        nbk.mg_vcycle(r, z, *mg, nz, airflow.MG_SMOOTH, airflow.MG_COARSE_SWEEPS, np.empty(n), np.empty(n),
                      np.empty(nz))
        return z
    a, b = _rhs(solid, 6), _rhs(solid, 7)
    lhs, rhs = float((m_inv(a) * b).sum()), float((a * m_inv(b)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-12 * abs(lhs))
    for r in (a, b):
        assert float((m_inv(r) * r).sum()) > 0.0


# --------------------------------------------------------------------------- solvers agree


def _remove_mean(p, comp):
    q = p.copy()
    for c in np.unique(comp[comp >= 0]):
        q[comp == c] -= q[comp == c].mean()
    return q


@pytest.fixture(scope="module")
def aisle():
    site, _ = aisle_room(n_per_row=3)
    ap = compile_hall(site)
    h = site.halls[0]
    bc = FlowBC(np.array([r.design_airflow_m3s for r in h.racks]), np.array([u.airflow_m3s for u in h.cooling_units]))
    return ap, bc


def test_both_solvers_reach_the_tolerance_and_the_same_pressure(aisle):
    ap, _ = aisle
    b = _rhs(ap.solid, 8)
    nbk.remove_region_mean(b, ap.component, max(ap.n_components, 1))
    tol = 1e-9 * np.abs(b).max()
    phis = {}
    for solver in ("mg", "mic0"):
        phi = np.zeros(ap.shape)
        it = solve_pressure(ap, phi, b, tol, 5000, solver)
        assert 0 < it < 5000
        assert np.abs(b - _A(ap, phi)).max() <= tol
        phis[solver] = _remove_mean(phi, ap.component)
    scale = np.abs(phis["mic0"]).max()
    assert np.abs(phis["mg"] - phis["mic0"]).max() <= 1e-6 * scale
    with pytest.raises(ValueError, match="unknown pressure solver"):
        solve_pressure(ap, np.zeros(ap.shape), b, tol, 10, "jacobi")


def test_separate_regions_each_get_their_own_solution():
    """A closed wall splits the box: A is singular on each region; both solvers still reach the
    tolerance and agree once each region's mean is removed."""
    cx, cy, cz, solid, dx, dy, dz = _random_system(10, shape=(12, 9, 6))
    cx[5] = 0.0
    ap = _Plant(cx, cy, cz, solid, dx, dy, dz)
    comp = np.empty(solid.shape, dtype=np.int64)
    n = nbk.components(solid, cx, cy, cz, comp)
    assert n == 2
    b = _rhs(solid, 11)
    nbk.remove_region_mean(b, comp, n)
    tol = 1e-9 * np.abs(b).max()
    phis = []
    for solver in ("mg", "mic0"):
        phi = np.zeros(solid.shape)
        solve_pressure(ap, phi, b, tol, 5000, solver)
        assert np.abs(b - _A(ap, phi)).max() <= tol
        phis.append(_remove_mean(phi, comp))
    assert np.abs(phis[0] - phis[1]).max() <= 1e-6 * np.abs(phis[1]).max()


def test_mg_needs_fewer_iterations_than_mic0_on_a_bigger_room():
    site, _ = aisle_room(n_per_row=8, grid=0.2)
    ap = compile_hall(site)
    b = _rhs(ap.solid, 9)
    nbk.remove_region_mean(b, ap.component, max(ap.n_components, 1))
    tol = 1e-8 * np.abs(b).max()
    its = {s: solve_pressure(ap, np.zeros(ap.shape), b, tol, 5000, s) for s in ("mg", "mic0")}
    assert its["mg"] * 3 <= its["mic0"], its


def test_full_flow_solve_agrees_between_solvers(aisle, monkeypatch):
    ap, bc = aisle
    flows = {}
    for solver in ("mg", "mic0"):
        monkeypatch.setattr(airflow, "SOLVER", solver)
        ap.cache.clear()
        flows[solver] = solve_flow(ap, bc)
    a, b = flows["mg"], flows["mic0"]
    vin = float(np.abs(a.u[ap.cond == 0.0]).max())
    assert vin > 0.1
    assert np.abs(a.u - b.u).max() <= 1e-3 * vin
    assert a.steps == b.steps
