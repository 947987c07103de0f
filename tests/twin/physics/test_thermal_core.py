"""Air temperature: energy balance, analytic cases, recirculation, stability, numba = numpy."""

from __future__ import annotations

import numpy as np
import pytest

from air_cases import aisle_room, room
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.model.layout import Containment, CoolingUnit, Grille, Rack, Tile
from dctwin.twin.physics import _thermal_numba as nbk
from dctwin.twin.physics import _thermal_numpy as npk
from dctwin.twin.physics import thermal
from dctwin.twin.physics.airflow import FlowBC, port_faces, solve_flow
from dctwin.twin.physics.constants import CP_AIR, RHO_AIR

RHO_CP = RHO_AIR * CP_AIR


def _aisle(tile_factor=1.2, n=4):
    site, qt = aisle_room(n_per_row=n, tile_factor=tile_factor)
    ap = compile_hall(site)
    fl = solve_flow(ap, FlowBC(np.full(ap.n_racks, 0.35), np.zeros(0), qt))
    return ap, fl


@pytest.fixture(scope="module")
def aisle():
    return _aisle()


def test_steady_energy_balance(aisle):
    ap, fl = aisle
    P = np.linspace(2e3, 9e3, ap.n_racks)
    T, info = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, return_info=True)
    assert info["energy"]["cooling_w"] == pytest.approx(P.sum(), rel=1e-3)
    assert info["energy_error"] < 0.01
    # exhaust = inlet + P / (rho cp Q), inlets above supply, nothing colder than the supply
    np.testing.assert_allclose(info["rack_exhaust_c"] - info["rack_inlet_c"], P / (RHO_CP * 0.35))
    assert T[~ap.solid].min() > 18.0 - 1e-6
    assert np.all(info["rack_inlet_c"] >= 18.0 - 1e-6)


def test_transient_stored_energy_matches_port_heat(aisle):
    ap, fl = aisle
    T = thermal.initial_temperature(ap, 22.0)
    P = np.full(ap.n_racks, 5e3)
    e0 = thermal.stored_energy_j(ap, T)
    heat = 0.0
    for n in range(30):
        tin, _ = thermal.port_means(ap, fl, T)
        tex = tin + P / (RHO_CP * 0.35)
        dt = 1.0 if n < 20 else 10.0  # the 10 s steps need implicit cells
        e_before = thermal.stored_energy_j(ap, T)
        T, q = thermal.step(ap, fl, T, dt, tex, np.zeros(0), 18.0, return_heat=True)
        # stored-energy change = heat through the ports (summed from the port fluxes)
        assert thermal.stored_energy_j(ap, T) - e_before == pytest.approx(q, rel=1e-9, abs=1e-12 * abs(e0))
        heat += q
    assert heat > 0
    assert thermal.stored_energy_j(ap, T) - e0 == pytest.approx(heat, rel=1e-9)


def test_step_is_bounded_and_stable_at_ten_seconds(aisle):
    ap, fl = aisle
    T = thermal.initial_temperature(ap, 30.0)
    for _ in range(50):
        T = thermal.step(ap, fl, T, 10.0, np.full(ap.n_racks, 40.0), np.zeros(0), 18.0)
    assert np.all(np.isfinite(T))
    assert T.min() >= 18.0 - 1e-9 and T.max() <= 40.0 + 1e-9


def test_transient_reaches_the_steady_state(aisle):
    ap, fl = aisle
    P = np.full(ap.n_racks, 4e3)
    Ts = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0)
    T = thermal.initial_temperature(ap, 18.0)
    for _ in range(1500):
        tin, _ = thermal.port_means(ap, fl, T)
        T = thermal.step(ap, fl, T, 2.0, tin + P / (RHO_CP * 0.35), np.zeros(0), 18.0)
    a, _ = thermal.port_means(ap, fl, T)
    b, _ = thermal.port_means(ap, fl, Ts)
    np.testing.assert_allclose(a, b, atol=0.02)


def test_single_rack_in_uniform_supply_air():
    rack = Rack(id="R", x_m=2.7, y_m=2.1, facing="N", it_kw=5.0, airflow_m3s=0.4)
    tiles = [Tile(id=f"T{i}{j}", x_m=0.6 * i, y_m=0.6 * j, open_fraction=1.0)
             for i in range(10) for j in range(10) if not (4 <= i <= 5 and 3 <= j <= 4)]
    grilles = [Grille(id="G", x_m=0.0, y_m=0.0, width_m=6.0, depth_m=6.0)]
    site = room(width=6.0, depth=6.0, height=3.0, racks=[rack], tiles=tiles, grilles=grilles, grid_m=0.3)
    ap = compile_hall(site)
    fl = solve_flow(ap, FlowBC(np.array([0.4]), np.zeros(0), 4.0))
    T, info = thermal.solve_steady(ap, fl, np.array([5e3]), np.zeros(0), 18.0, return_info=True)
    assert info["rack_inlet_c"][0] == pytest.approx(18.0, abs=0.2)
    assert info["rack_exhaust_c"][0] == pytest.approx(info["rack_inlet_c"][0] + 5e3 / (RHO_CP * 0.4), abs=1e-9)
    assert thermal.supply_fraction(ap, fl)[0] > 0.98


def test_under_supplied_cold_aisle_recirculates():
    ap, fl = _aisle(tile_factor=0.8, n=5)
    P = np.full(ap.n_racks, 4e3)
    T, info = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, return_info=True)
    tin = info["rack_inlet_c"]
    assert np.all(tin > 18.5)
    row_a = tin[0::2]
    # highest at the row ends
    assert row_a[0] > row_a[2] + 0.5 and row_a[-1] > row_a[2] + 0.5
    # and at the top of an intake face: mean of the top layers above the bottom layers
    pf = port_faces(ap)
    cells = ap.rack_in.cell[ap.rack_in.faces_of(0)]
    k = cells % ap.nz
    tf = T.reshape(-1)
    assert tf[cells[k == k.max()]].mean() > tf[cells[k == 0]].mean() + 0.5
    sf = thermal.supply_fraction(ap, fl)
    assert np.all(sf < 0.98) and sf.mean() < 0.85
    del pf


def test_all_cooling_lost_heats_at_p_over_c():
    site, _ = aisle_room(n_per_row=3)
    ap = compile_hall(site)
    fl = solve_flow(ap, FlowBC(np.full(ap.n_racks, 0.35), np.zeros(0), 0.0))
    P = np.full(ap.n_racks, 6e3)
    T = thermal.initial_temperature(ap, 20.0)
    t_mean0 = T[~ap.solid].mean()
    for _ in range(60):
        tin, _ = thermal.port_means(ap, fl, T)
        T = thermal.step(ap, fl, T, 1.0, tin + P / (RHO_CP * 0.35), np.zeros(0), 18.0)
    rate = (T[~ap.solid].mean() - t_mean0) / 60.0
    expect = P.sum() / (RHO_CP * ap.fluid_volume_m3)
    assert rate == pytest.approx(expect, rel=0.10)
    with pytest.raises(thermal.NoSteadyState):
        thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0)


def test_determinism_bit_identical(aisle):
    ap, fl = aisle
    P = np.full(ap.n_racks, 4e3)
    a = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0)
    b = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0)
    assert np.array_equal(a, b)
    Ta = thermal.step(ap, fl, a, 5.0, np.full(ap.n_racks, 30.0), np.zeros(0), 18.0)
    Tb = thermal.step(ap, fl, b, 5.0, np.full(ap.n_racks, 30.0), np.zeros(0), 18.0)
    assert np.array_equal(Ta, Tb)


def test_mirror_symmetric_temperatures():
    ap, fl = _aisle(n=3)
    P = np.full(ap.n_racks, 4e3)
    tin = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, return_info=True)[1]["rack_inlet_c"]
    a, b = tin[0::2], tin[1::2]  # row A faces N, row B faces S: mirror images about the aisle
    np.testing.assert_allclose(a, b, atol=0.05)
    np.testing.assert_allclose(a, a[::-1], atol=0.05)  # mirror about the hall's x centre


def test_thermal_kernels_agree_with_numpy():
    site, qt = aisle_room(n_per_row=2, grid=0.6)
    ap = compile_hall(site)
    fl = solve_flow(ap, FlowBC(np.full(ap.n_racks, 0.35), np.zeros(0), qt))
    c = thermal.coefficients(ap, fl)
    rng = np.random.default_rng(3)
    T0 = 18 + 10 * rng.random(ap.shape)
    pT = thermal.inflow_temperatures(ap, fl, 30 + rng.random(ap.n_racks), np.zeros(0), 18.0)
    a, b = T0.copy(), T0.copy()
    nbk.step(a, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, 3.0, 4)
    npk.step(b, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, 3.0, 4)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    # backward Euler (numba: line Gauss-Seidel + flux-form update; numpy: dense solve + the same update)
    a, b = T0.copy(), T0.copy()
    lines, fac, order = c.line_arrays(ap.solid, 10.0)
    assert np.array_equal(np.sort(order), np.arange(ap.nx * ap.ny))  # every column once
    ha, sweeps, local = nbk.step_implicit(a, T0.copy(), c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol,
                                   10.0, lines, fac, order, 1e-12, 1.0, 0.0, 0, 5000, 4)
    assert 0 < sweeps + local < 5000
    hb = npk.step_implicit(b, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, 10.0)
    np.testing.assert_allclose(a, b, atol=1e-8)
    assert ha == pytest.approx(hb, rel=1e-9)
    assert a[~ap.solid].min() >= 18.0 - 1e-9 and a.max() <= pT.max() + 1e-9
    # the same step by the numpy line-Jacobi reference (same stop on the residual)
    np.testing.assert_allclose(npk.line_coefficients(c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq),
                               lines, rtol=1e-13, atol=1e-16)
    d = T0.copy()
    hd, iters = npk.step_implicit_lines(d, T0, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid,
                                        c.vol, 10.0, 1e-12, 5000)
    assert 0 < iters < 5000
    np.testing.assert_allclose(d, b, atol=1e-8)
    assert hd == pytest.approx(hb, rel=1e-9)
    # steady: numba sweeps against a dense direct solve
    P = np.linspace(3e3, 6e3, ap.n_racks)
    Ts = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, tol_k=1e-10)
    pf = port_faces(ap)
    p_rack = np.full(len(pf.face), -1, dtype=np.int64)
    p_rack[pf.group["rack_out"]] = ap.rack_out.port_of_face()
    rin_face = np.arange(pf.group["rack_in"].start, pf.group["rack_in"].stop)
    pT0 = thermal.inflow_temperatures(ap, fl, np.zeros(ap.n_racks), np.zeros(0), 18.0)
    Td = npk.steady_dense(ap.solid, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT0, p_rack,
                          ap.rack_in.port_of_face(), rin_face, P / (RHO_CP * fl.rack_q), ap.n_racks)
    np.testing.assert_allclose(Ts[~ap.solid], Td[~ap.solid], atol=1e-6)
    # the point-SOR sweeps (the former default) land on the same field
    Tsor = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, tol_k=1e-10, method="sor")
    np.testing.assert_allclose(Tsor[~ap.solid], Td[~ap.solid], atol=1e-6)


def test_steady_line_sweeps_match_point_sor_with_tvd(aisle):
    """Line Gauss-Seidel in flow order and symmetric point SOR solve the same steady equations, with
    the TVD deferred correction too."""
    ap, fl = aisle
    P = np.linspace(3e3, 6e3, ap.n_racks)
    for tvd in (False, True):
        a, ia = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, tol_k=1e-9, tvd=tvd, return_info=True)
        b, ib = thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, tol_k=1e-9, tvd=tvd, return_info=True,
                                     method="sor")
        np.testing.assert_allclose(a[~ap.solid], b[~ap.solid], atol=2e-6)
        assert ia["energy_error"] < 1e-6
    with pytest.raises(ValueError, match="steady method"):
        thermal.solve_steady(ap, fl, P, np.zeros(0), 18.0, method="jacobi")


def test_inrow_units_in_a_contained_hot_aisle_balance_energy():
    # two rows back to back around a hot aisle closed to the ceiling; in-row coolers in the rows
    racks, units = [], []
    for i in range(4):
        racks.append(Rack(id=f"A{i}", x_m=1.2 + 0.6 * i, y_m=0.6, facing="S", it_kw=6.0, airflow_m3s=0.5))
        racks.append(Rack(id=f"B{i}", x_m=1.2 + 0.6 * i, y_m=3.0, facing="N", it_kw=6.0, airflow_m3s=0.5))
    for n, (y, f) in enumerate(((0.6, "S"), (3.0, "N"))):
        units.append(CoolingUnit(id=f"IR{n}", kind="inrow", x_m=3.6, y_m=y, facing=f, width_m=0.3, depth_m=1.2,
                                 height_m=2.0, airflow_m3s=2.2, capacity_kw=30))
    zone = Containment(id="HAC", x_m=1.2, y_m=1.8, width_m=2.7, depth_m=1.2, kind="hot")
    site = room(width=5.4, depth=4.8, racks=racks, units=units, containments=[zone], plenum="none",
                ceiling_return=False, grid_m=0.3)
    ap = compile_hall(site)
    assert not ap.warnings
    fl = solve_flow(ap, FlowBC(np.full(8, 0.5), np.full(2, 2.2)))
    assert not fl.warnings
    P = np.full(8, 6e3)
    T, info = thermal.solve_steady(ap, fl, P, np.full(2, 18.0), 18.0, return_info=True)
    assert info["energy_error"] < 0.01
    _, t_ret = thermal.port_means(ap, fl, T)
    # the units see the hot aisle: return = supply + heat / (rho cp Q)
    assert np.mean(t_ret) == pytest.approx(18.0 + P.sum() / (RHO_CP * 4.4), abs=0.05)
    assert np.all(info["rack_inlet_c"] < 21.0)
