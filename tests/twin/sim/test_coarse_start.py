"""The cold steady solve's two ways to march once (session 22): the racks' fans following the march
from rest (steady.FANS_IN_MARCH = FANS; off by default; the march then starts viscous, session 23), and, off by default (steady.COARSE_FACTOR = 2), the
hall first settled on a grid twice as coarse, then one march on its own grid from the coarse flow
interpolated. Each stays within a stated distance of the solve that marches from rest twice (as
before session 22), balances energy and mass, and leaves "validated" (every march from rest) as it
was."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow
from dctwin.twin.sim import steady
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.sim.engine import Simulation

#: rack inlets and unit returns (K) of the coarse-started solve against the two marches from rest. The
#: march's end state depends on its start on this grid: marched from rest at the settled airflows
#: instead of at the supply temperature's, small lands 1.2 K from the two-march solve; from the coarse
#: flow 2.4 K (row-end racks), 0.25 K at the returns (docs/validation.md, "Session 22: the cold steady
#: solve")
COARSE_BOUND_K = 2.6
#: the same for the fans following the march from rest, against the two marches whose first starts viscous
#: as the fans' march does (steady.COLD_ANNEAL = airflow.ANNEAL): measured 0.089 K on small (0.046 K RMS).
#: Against the two marches at the model's viscosity throughout it is 1.44 K: which state the row ends take
#: depends on the viscous start (docs/validation.md, "Session 23: the cold steady solve")
FANS_BOUND_K = 0.2
_SOLVE_FLOW = airflow.solve_flow
#: call-backs of the fans following the march (steady.FANS_IN_MARCH when on)
FANS = 6


def _cold(monkeypatch, factor: int, fans: int = FANS, air_model: str = "fast", anneal: float = 1.0):
    """small solved cold with COARSE_FACTOR ``factor``, FANS_IN_MARCH ``fans`` and COLD_ANNEAL ``anneal``;
    (simulation, (grid, from rest, airflow changes the march took) of every march)."""
    grids = []
    inner = _SOLVE_FLOW

    def spy(ap, bc, init=None, **kw):
        changes = [0 if kw.get("retarget") is not None else -1]  # -1: the airflows could not move
        if kw.get("retarget") is not None:
            follow = kw["retarget"]

            def counted(flow):
                new = follow(flow)
                changes[0] += new is not None
                return new
            kw["retarget"] = counted
        fl = inner(ap, bc, init=init, **kw)
        grids.append((ap.shape, init is None, changes[0]))
        return fl

    monkeypatch.setattr(airflow, "solve_flow", spy)
    monkeypatch.setattr(steady, "COARSE_FACTOR", factor)
    monkeypatch.setattr(steady, "FANS_IN_MARCH", fans)
    monkeypatch.setattr(steady, "COLD_ANNEAL", anneal)
    sim = Simulation(load_demo("small"), air_model=air_model)
    sim.solve_steady()
    return sim, grids


@pytest.fixture(scope="module")
def mp():
    with pytest.MonkeyPatch.context() as m:
        yield m


@pytest.fixture(scope="module")
def coarse(mp):
    return _cold(mp, 2)


@pytest.fixture(scope="module")
def fans(mp):
    return _cold(mp, 1)


@pytest.fixture(scope="module")
def twice(mp):
    return _cold(mp, 1, 0)


@pytest.fixture(scope="module")
def twice_viscous(mp):
    return _cold(mp, 1, 0, anneal=airflow.ANNEAL)


def test_fans_follow_the_one_march(fans, twice):
    sim, grids = fans
    fine = sim.system.air.shape
    assert len(grids) == 1 and grids[0][:2] == (fine, True) and grids[0][2] >= 1  # from rest, airflows moved
    # the solve as before marches twice, the first from rest at the supply temperature's airflows
    assert [g[:2] for g in twice[1]] == [(fine, True), (fine, False)] and twice[1][0][2] == -1
    st = sim.state
    # the march was made for the airflows it ended at, which the fans' settled airflows are near
    assert np.array_equal(st.flow_rack_q, st.marched[-1][1])
    assert np.allclose(st.flow.rack_q, st.flow_rack_q)
    assert np.allclose(st.flow_rack_q, st.last_rack.airflow_m3s, rtol=steady.SETTLE_CARRY)


def test_fans_near_the_two_march_solve(fans, twice_viscous):
    a, b = fans[0].state, twice_viscous[0].state
    assert np.abs(a.rack_inlet_c - b.rack_inlet_c).max() < FANS_BOUND_K
    assert np.abs(a.unit_return_c - b.unit_return_c).max() < FANS_BOUND_K


def test_coarse_marches_once_on_its_grid(coarse):
    sim, grids = coarse
    fine = sim.system.air.shape
    assert [g[:2] for g in grids if g[0] == fine] == [(fine, False)]  # one march, from the coarse flow
    assert {g[0] for g in grids if g[0] != fine} == {tuple((n + 1) // 2 for n in fine)}
    assert grids[0][1]  # the coarse grid's first march starts from rest
    assert sim.state.warm_flow is None  # the coarse start is not left behind as a previous layout's flow


def test_coarse_near_the_two_march_solve(coarse, twice):
    a, b = coarse[0].state, twice[0].state
    assert np.abs(a.rack_inlet_c - b.rack_inlet_c).max() < COARSE_BOUND_K
    assert np.abs(a.unit_return_c - b.unit_return_c).max() < 0.5
    assert np.allclose(a.flow.rack_q, a.last_rack.airflow_m3s, rtol=steady.SETTLE_CARRY)


@pytest.mark.parametrize("which", ["fans", "coarse"])
def test_energy_and_mass_balance(which, request):
    sim, _ = request.getfixturevalue(which)
    st, ap = sim.state, sim.system.air
    assert st.energy_error < 1e-3 and st.air_energy_error < 1e-3
    q_in, q_out = airflow.mass_balance(ap, st.flow)
    assert q_in > 1.0 and abs(q_in - q_out) < 1e-9 * q_in
    assert st.flow.max_div * min(ap.dx, ap.dy, ap.dz) < 1e-6


def test_validated_marches_from_rest_at_its_airflows(monkeypatch):
    sim, grids = _cold(monkeypatch, 2, FANS, "validated")
    assert grids and all(g[0] == sim.system.air.shape and g[1] and g[2] == -1 for g in grids)


def test_coarse_grids_only_where_racks_keep_their_cells():
    site = load_demo("small")
    sim = Simulation(site)
    assert steady.coarse_start_fits(sim.system)
    assert not steady.coarse_start_fits(Simulation(site, grid_m=0.6).system)


def test_resample_is_exact_for_linear_fields():
    site = load_demo("small")
    fine, coarse = compile_hall(site), compile_hall(site, None, (0.6, 0.25))
    # a velocity field linear in x, y, z on every face family, away from the last half cell (held there)
    u = np.empty(coarse.n_faces)
    for axis, view in enumerate(coarse.face_views(u)):
        x, y, z = np.meshgrid(*airflow._coords(coarse, axis), indexing="ij")
        view[...] = 1.0 + 2.0 * x - 0.5 * y + 3.0 * z + axis
    got = airflow.resample_faces(coarse, u, fine)
    for axis, view in enumerate(fine.face_views(got)):
        x, y, z = np.meshgrid(*airflow._coords(fine, axis), indexing="ij")
        want = 1.0 + 2.0 * x - 0.5 * y + 3.0 * z + axis
        inside = tuple(slice(1, -1) for _ in range(3))
        assert np.allclose(view[inside], want[inside])
    T = np.arange(coarse.n_cells, dtype=float).reshape(coarse.shape)
    assert airflow.resample_cells(coarse, T, fine).shape == fine.shape
