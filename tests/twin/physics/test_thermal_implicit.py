"""The engine's implicit temperature step: line Gauss-Seidel in flow order from an extrapolated
start, stopped on the flux-form residual; its numpy reference; the small kernels around it."""

from __future__ import annotations

import numpy as np
import pytest

from air_cases import aisle_room
from dctwin.twin.model import demos
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.model.layout import CoolingUnit
from dctwin.twin.physics import _thermal_numba as nbk
from dctwin.twin.physics import _thermal_numpy as npk
from dctwin.twin.physics import thermal
from dctwin.twin.physics.airflow import FlowBC, solve_flow


@pytest.fixture(scope="module")
def case():
    site, qt = aisle_room(n_per_row=2, grid=0.6)
    ap = compile_hall(site)
    fl = solve_flow(ap, FlowBC(np.full(ap.n_racks, 0.35), np.zeros(0), qt))
    rng = np.random.default_rng(7)
    T0 = 18 + 10 * rng.random(ap.shape)
    pT = thermal.inflow_temperatures(ap, fl, 30 + rng.random(ap.n_racks), np.zeros(0), 18.0)
    return ap, fl, T0, pT


def _numba(ap, fl, T0, pT, dt, start, tol, min_sweeps=1, rel=1.0, floor=0.0, block=thermal.COARSE_BLOCK):
    c = thermal.coefficients(ap, fl)
    a, f, order = c.line_arrays(ap.solid, dt)
    T, Ts = T0.copy(), start.copy()
    heat, full, local = nbk.step_implicit_blocks(T, Ts, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid,
                                          c.vol, dt, a, f, order, tol, rel, floor, min_sweeps, 10000, 4.0,
                                          block, thermal.COARSE_SWEEPS)
    return T, Ts, heat, full + local


def _dense(ap, fl, T0, pT, dt):
    c = thermal.coefficients(ap, fl)
    T = T0.copy()
    heat = npk.step_implicit(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, dt)
    return T, heat


@pytest.mark.parametrize("dt", [1.0, 10.0])
def test_result_is_within_tolerance_of_backward_euler_from_any_start(case, dt):
    ap, fl, T0, pT = case
    exact, _ = _dense(ap, fl, T0, pT, dt)
    fluid = ~ap.solid
    rng = np.random.default_rng(1)
    starts = {"T": T0, "noise": exact + rng.normal(0, 2.0, ap.shape), "cold": np.full(ap.shape, -40.0)}
    for name, start in starts.items():
        for tol in (1e-2, 1e-6):
            T, Ts, heat, n = _numba(ap, fl, T0, pT, dt, start, tol)
            assert n > 0, name
            # the update moves T from the iterate by (dt/V) residual < tol; the iterate is closer still
            assert np.abs(T - Ts)[fluid].max() < tol, (name, tol)
            assert np.abs(T - exact)[fluid].max() < 3 * tol, (name, tol)
            # energy: the stored heat changes by exactly the port heat, whatever the sweeps left
            c = thermal.coefficients(ap, fl)
            stored = c.vol * float((T - T0)[fluid].sum())
            assert stored == pytest.approx(heat, rel=1e-10, abs=1e-9 * c.vol * fluid.sum())


def test_min_sweeps_a_start_within_tolerance_and_a_small_residual_cut(case):
    ap, fl, T0, pT = case
    fluid = ~ap.solid
    tight, star, _, _ = _numba(ap, fl, T0, pT, 1.0, T0, 1e-12)
    # the exact iterate satisfies any tolerance: kept without a sweep, or the asked-for sweeps only
    T, _, _, n = _numba(ap, fl, T0, pT, 1.0, star, 1e-6, min_sweeps=0)
    assert n == 0
    assert np.abs(T - tight)[fluid].max() < 1e-6
    _, _, _, n = _numba(ap, fl, T0, pT, 1.0, star, 1e-6, min_sweeps=2)
    assert n == 2
    # a start off the tolerance gets at least the asked-for full sweeps, then what it needs
    _, _, _, n = _numba(ap, fl, T0, pT, 1.0, T0, 1e-2, min_sweeps=2)
    assert n > 2
    # a start just under the tolerance: kept with rel = 1, cut tenfold with rel = 0.1 (the
    # engine's guard against a jitter sustained at the tolerance), never below the floor
    noisy = star + 2e-4 * np.random.default_rng(3).standard_normal(ap.shape)
    T1, S1, _, n1 = _numba(ap, fl, T0, pT, 1.0, noisy, 1.0, min_sweeps=0)
    assert n1 == 0 and np.array_equal(S1[fluid], noisy[fluid])
    e0 = np.abs(T1 - S1)[fluid].max()
    T2, S2, _, n2 = _numba(ap, fl, T0, pT, 1.0, noisy, 1.0, min_sweeps=0, rel=0.1)
    assert n2 >= 1 and np.abs(T2 - S2)[fluid].max() < 0.1 * e0
    _, _, _, n3 = _numba(ap, fl, T0, pT, 1.0, noisy, 1.0, min_sweeps=0, rel=0.1, floor=2 * e0)
    assert n3 == 0


def test_numpy_line_jacobi_reference_agrees_at_the_engine_tolerance(case):
    ap, fl, T0, pT = case
    c = thermal.coefficients(ap, fl)
    exact, heat_e = _dense(ap, fl, T0, pT, 1.0)
    tol = thermal.IMPLICIT_TOL_K
    a, _, _, _ = _numba(ap, fl, T0, pT, 1.0, T0, tol)
    b = T0.copy()
    heat_b, iters = npk.step_implicit_lines(b, T0.copy(), c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT,
                                            ap.solid, c.vol, 1.0, tol, 10000)
    assert iters > 0
    fluid = ~ap.solid
    assert np.abs(b - exact)[fluid].max() < 3 * tol
    assert np.abs(a - b)[fluid].max() < 4 * tol
    assert heat_b == pytest.approx(heat_e, rel=1e-3)


def test_column_order_visits_every_column_once_downstream_of_a_uniform_flow():
    nx, ny, nz = 5, 4, 3
    fx = np.zeros((nx + 1, ny, nz))
    fy = np.zeros((nx, ny + 1, nz))
    fx[1:-1] = 0.2  # flow along -> +x through every interior face
    fy[:, 1:-1] = -0.1  # and along -y
    order = np.empty(nx * ny, np.int64)
    nbk.column_order(fx, fy, order)
    assert np.array_equal(np.sort(order), np.arange(nx * ny))
    pos = np.empty_like(order)
    pos[order] = np.arange(nx * ny)
    i, j = np.divmod(np.arange(nx * ny), ny)
    idx = lambda a, b: a * ny + b  # noqa: E731
    for c in range(nx * ny):
        if i[c] < nx - 1:
            assert pos[c] < pos[idx(i[c] + 1, j[c])]  # upstream column first
        if j[c] > 0:
            assert pos[c] < pos[idx(i[c], j[c] - 1)]


def test_line_coefficients_and_factors_solve_each_column(case):
    ap, fl, T0, pT = case
    c = thermal.coefficients(ap, fl)
    a, f, _ = c.line_arrays(ap.solid, 2.0)
    np.testing.assert_allclose(npk.line_coefficients(c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq), a,
                               rtol=1e-13, atol=1e-16)
    # out = Σ outflow + Σ D: for the divergence-free flow Σ inflow weights <= out (to the flow's
    # projection tolerance), so the backward-Euler matrix is diagonally dominant
    fluid = ~ap.solid
    assert (a[6][fluid] >= a[:6].sum(axis=0)[fluid] - 1e-6 * a[6].max()).all()
    # one column solved by the factors equals a dense solve of its tridiagonal system
    i, j = ap.nx // 2, ap.ny // 2
    cv = c.vol / 2.0
    col = ~ap.solid[i, j]
    r = np.random.default_rng(2).random(ap.nz)
    x = np.zeros(ap.nz)
    y = np.zeros(ap.nz)
    yp = 0.0
    for k in range(ap.nz):
        yp = f[0, i, j, k] * r[k] + f[2, i, j, k] * yp if col[k] else r[k]
        y[k] = yp
    xp = 0.0
    for k in range(ap.nz - 1, -1, -1):
        xp = y[k] + f[1, i, j, k] * xp
        x[k] = xp
    A = np.diag(np.where(col, cv + a[6, i, j], 1.0))
    for k in range(1, ap.nz):
        A[k, k - 1] = -a[4, i, j, k]
        A[k - 1, k] = -a[5, i, j, k - 1]
    np.testing.assert_allclose(x, np.linalg.solve(A, r), rtol=1e-12)


def test_extrapolation_kernels_agree_and_are_exact_for_a_quadratic_history():
    rng = np.random.default_rng(4)
    shape = (3, 4, 5)
    p0, p1, p2 = (rng.random(shape) for _ in range(3))
    f = lambda t: p0 + p1 * t + p2 * t * t  # noqa: E731
    t = [0.0, 1.0, 2.5]  # uneven steps: 1.0 then 1.5, next step 0.7
    r2 = ((f(t[1]) - f(t[0])) / 1.0).astype(np.float32)
    r1 = ((f(t[2]) - f(t[1])) / 1.5).astype(np.float32)
    a1, a2 = thermal.extrapolation_weights(1.5, 1.0, 0.7)
    g_nb, g_np = np.empty(shape), np.empty(shape)
    nbk.extrapolate(f(t[2]), r1, r2, a1, a2, g_nb)
    npk.extrapolate(f(t[2]), r1, r2, a1, a2, g_np)
    np.testing.assert_allclose(g_nb, g_np, rtol=1e-14)
    np.testing.assert_allclose(g_nb, f(3.2), atol=1e-5)  # float32 rates
    # no history: the start is T itself; one step of history: linear
    np.testing.assert_array_equal(thermal.extrapolate(f(t[2]), r1, r2, 0.0, 0.0, 1.0), f(t[2]))
    np.testing.assert_allclose(thermal.extrapolate(f(t[2]), r1, r2, 1.5, 0.0, 0.7), f(t[2]) + 0.7 * r1.astype(np.float64), rtol=1e-12)
    out_nb = np.empty(shape, np.float32)
    out_np = np.empty(shape, np.float32)
    nbk.rate(f(1.0), f(0.0), 0.5, out_nb)
    npk.rate(f(1.0), f(0.0), 0.5, out_np)
    np.testing.assert_array_equal(out_nb, out_np)


def _with_door_and_cdu():
    site = demos.load_demo("small")
    hall = site.halls[0]
    hall.cooling_units.append(CoolingUnit("DOOR", kind="rdhx", rack=hall.racks[0].id, capacity_kw=20.0))
    hall.cooling_units.append(CoolingUnit("CDU-X", kind="cdu", capacity_kw=50.0))
    return site


@pytest.mark.parametrize("site", [_with_door_and_cdu, lambda: demos.load_demo("ai-hall")], ids=["doors", "ai-hall"])
def test_port_means_numba_agrees_with_numpy(site):
    sim = Simulation(site(), grid_m=0.6 if len(site().halls[0].racks) < 100 else 1.2)
    sim.solve_steady()
    T = sim.T + np.random.default_rng(5).random(sim.air.shape)
    a = thermal.port_means(sim.air, sim.flow, T)
    b = thermal.port_means_numpy(sim.air, sim.flow, T)
    assert len(a[1]) == len(sim.unit_ids)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-13)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-13)


@pytest.mark.parametrize("n_cols", [3, 400])
def test_local_columns_come_in_flow_order_by_sort_or_scan(n_cols):
    # a few columns are sorted by their place in the flow order, many found by a scan of it
    # (SORT_SCAN): both give each column and neighbour once, in the flow order
    nx, ny = 40, 30
    rng = np.random.default_rng(n_cols)
    order = rng.permutation(nx * ny).astype(np.int64)
    pos = np.empty_like(order)
    pos[order] = np.arange(nx * ny)
    cols = rng.choice(nx * ny, n_cols, replace=False).astype(np.int64)
    mark = np.zeros(nx * ny, np.int64)
    out = np.empty(nx * ny, np.int64)
    m = nbk._with_neighbours(cols, n_cols, nx, ny, mark, 1, out, pos, order, True)
    want = set()
    for c in cols:
        i, j = divmod(int(c), ny)
        want |= {c} | {a * ny + b for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)) if 0 <= a < nx and 0 <= b < ny}
    assert (m * nbk.SORT_SCAN > nx * ny) == (n_cols == 400)  # both paths are taken
    assert list(out[:m]) == sorted(want, key=lambda c: pos[c])


def test_block_operators_agree_with_their_numpy_reference(case):
    # blocks of 3 x 3 columns do not divide the grid: partial blocks at the high sides
    ap, fl, _, _ = case
    c = thermal.coefficients(ap, fl)
    a, _, _ = c.line_arrays(ap.solid, 10.0)
    b = 3
    shape = (-(-ap.nx // b), -(-ap.ny // b), ap.nz)
    assert ap.nx % b or ap.ny % b
    got = tuple(np.empty(shape) for _ in range(7))
    nbk._coarse_operators(a, c.vol / 10.0, ap.solid, b, *got)
    want = npk.coarse_operators(a, c.vol / 10.0, ap.solid, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    # a block's diagonal keeps at least its cells' V/dt (what leaves the block is never negative)
    cells = np.zeros((shape[0] * b, shape[1] * b, ap.nz))
    cells[:ap.nx, :ap.ny] = ~ap.solid
    n_fluid = cells.reshape(shape[0], b, shape[1], b, ap.nz).sum(axis=(1, 3))
    assert (want[0] >= n_fluid * c.vol / 10.0 * (1 - 1e-12)).all()


def test_block_correction_reaches_the_tolerance_in_fewer_passes(case):
    # a cold start leaves most columns off: with the blocks' correction the solve takes fewer passes,
    # and both stop within the tolerance of the backward-Euler solution
    ap, fl, T0, pT = case
    exact, _ = _dense(ap, fl, T0, pT, 10.0)
    fluid = ~ap.solid
    cold = np.full(ap.shape, -40.0)
    n = {}
    for block in (0, thermal.COARSE_BLOCK):
        T, Ts, heat, n[block] = _numba(ap, fl, T0, pT, 10.0, cold, 1e-4, block=block)
        assert np.abs(T - exact)[fluid].max() < 3e-4
        assert np.abs(T - Ts)[fluid].max() < 1e-4
    assert n[thermal.COARSE_BLOCK] < n[0]
