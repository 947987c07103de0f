"""The engine: steady solve, transients, events with causes, keyframes, determinism.

Coarse grids (0.6 m) keep these fast; the air model's accuracy is tested in
tests/twin/physics against CFD and analytic cases.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.errors import InputError
from dctwin.twin.physics import thermal
from dctwin.twin.physics.constants import CP_AIR, RHO_AIR

GRID = 0.6


@pytest.fixture(scope="module")
def small():
    return demos.load_demo("small")


@pytest.fixture(scope="module")
def small_steady(small):
    """small solved once at GRID; tests that only read it share it."""
    sim = Simulation(small, grid_m=GRID)
    return sim, sim.solve_steady()


@pytest.fixture()
def steady_copy(small_steady):
    """A copy of the shared solved simulation and its summary, for a test that runs or changes it: the solve is
    deterministic (test_identical_inputs_give_identical_states solves twice), so the copy is the state a fresh
    ``Simulation(small, grid_m=GRID).solve_steady()`` leaves, bit for bit."""
    return copy.deepcopy(small_steady)


def test_steady_balances_energy_and_reports_every_element(small, small_steady):
    sim, s = small_steady
    hall = small.hall
    assert set(s.racks) == {r.id for r in hall.racks}
    assert set(s.cooling_units) == {u.id for u in hall.cooling_units}
    # IT heat into the air is removed by the CRAHs (PHYSICS.md section 6: within 1 %)
    assert s.energy_error < 0.01
    heat = sum(r.power_w for r in s.racks.values())
    duty = sum(u.duty_w for u in s.cooling_units.values())
    assert duty == pytest.approx(heat, rel=0.01)
    for rid, r in s.racks.items():
        # no rack breathes air colder than the supply; exhaust = inlet + P/(rho cp Q)
        assert r.inlet_c >= hall.supply_c - 1e-6, rid
        assert r.exhaust_c > r.inlet_c, rid
    assert s.max_inlet_c == max(r.inlet_c for r in s.racks.values())
    # power graph and PUE ride along
    assert 1.0 < s.pue < 2.0
    for nid, n in s.power_nodes.items():
        assert set(n.to_json()) == {"load_w", "capacity_w", "headroom_w", "headroom_n1_w"}
    assert s.power_nodes["PDU-A"].headroom_n1_w < s.power_nodes["PDU-A"].headroom_w


def test_transient_from_steady_stays_put_and_conserves_energy(steady_copy):
    sim, s0 = steady_copy
    out = sim.run(120)
    assert out.energy_error < 0.01
    for rid, r in out.final.racks.items():
        assert r.inlet_c == pytest.approx(s0.racks[rid].inlet_c, abs=0.3), rid
    assert out.racks_over_allowable == []
    assert out.first_over_allowable_s is None
    assert out.events == {}


def test_all_cooling_lost_heats_at_p_over_c(small, steady_copy):
    """With every unit failed, stored heat (air + server mass) rises by the heat the servers give."""
    sim, _ = steady_copy
    for u in small.hall.cooling_units:
        sim.schedule(0.0, "fail", u.id)
    e0 = sim.stored_energy_j()
    t_air0 = float(sim.T[~sim.air.solid].mean())
    out = sim.run(20)
    e1 = sim.stored_energy_j()
    heat_j = out.heat_in_j
    assert heat_j > 0
    assert (e1 - e0) == pytest.approx(heat_j, rel=0.02)
    # the air alone warms at most at P / C_air (the server mass buffers the rest)
    c_air = RHO_AIR * CP_AIR * sim.air.fluid_volume_m3
    p_w = heat_j / 20.0
    rate = (float(sim.T[~sim.air.solid].mean()) - t_air0) / 20.0
    assert 0.0 < rate <= 1.1 * p_w / c_air


def test_crah_failure_warms_racks_and_repair_recovers(steady_copy):
    sim, s0 = steady_copy
    sim.schedule(0.0, "fail", "CRAH-1")
    hot = sim.run(300)
    assert hot.max_inlet_c > s0.max_inlet_c + 1.0
    assert hot.final.cooling_units["CRAH-1"].airflow_m3s == 0.0
    assert hot.final.cooling_units["CRAH-1"].duty_w == 0.0
    sim.schedule(sim.t_s, "repair", "CRAH-1")
    back = sim.run(600)
    assert back.final_max_inlet_c < hot.final_max_inlet_c


def test_keyframe_restore_is_bit_identical_through_an_incident(small_steady):
    def fresh():
        sim, _ = copy.deepcopy(small_steady)
        sim.schedule(2.0, "utility_loss", "UTIL")
        sim.schedule(0.0, "fail", "CRAH-2")
        return sim

    live = fresh()
    live.run(15)
    key = live.keyframe()
    live.run(25)
    replay = fresh()
    replay.restore(key)
    replay.run(25)
    assert replay.t_s == live.t_s
    assert np.array_equal(live.T, replay.T)
    assert np.array_equal(live.rack_inlet_c, replay.rack_inlet_c)
    assert np.array_equal(live.power.state.soc, replay.power.state.soc)


def test_identical_inputs_give_identical_states(small):
    a, b = Simulation(small, grid_m=GRID), Simulation(small, grid_m=GRID)
    for sim in (a, b):
        sim.solve_steady()
        sim.schedule(5.0, "set_utilization", "all", utilization=0.5)
        sim.run(30)
    assert np.array_equal(a.T, b.T)
    assert np.array_equal(a.flow.u, b.flow.u)


def test_utility_loss_with_clean_generator_start_keeps_racks_up(steady_copy):
    sim, _ = steady_copy
    sim.schedule(1.0, "utility_loss", "UTIL")
    out = sim.run(60)
    assert out.racks_down == {}
    kinds = [e.kind for e in sim.events]
    assert "ups_on_battery" in kinds and "generator_on_load" in kinds and "ats_transfer" in kinds
    assert out.ups_min_soc < 1.0
    transfer = next(e for e in sim.events if e.kind == "ats_transfer")
    # the transfer is explained back to the utility loss
    chain = [e.kind for e in sim.events.chain(transfer)]
    assert chain[-1] == "utility_loss"


def test_generator_fail_to_start_takes_racks_down_with_a_cause_chain(steady_copy):
    sim, _ = steady_copy
    sim.schedule(0.0, "generator_fail_to_start", "GEN-1")
    sim.schedule(1.0, "utility_loss", "UTIL")
    out = sim.run(400)
    assert out.racks_down, "without cooling or a generator the racks must go down"
    down = [e for e in sim.events if e.kind in ("rack_down", "shutdown")]
    roots = {sim.events.chain(e)[-1].kind for e in down}
    assert roots <= {"utility_loss", "generator_fail_to_start", "throttle"}


def test_bad_events_are_refused_with_names(small):
    sim = Simulation(small, grid_m=GRID)
    with pytest.raises(InputError, match="NOPE"):
        sim.schedule(1.0, "fail", "NOPE")
    with pytest.raises(InputError, match="boom"):
        sim.schedule(1.0, "boom", "CRAH-1")
    with pytest.raises(InputError, match="utilization"):
        sim.schedule(1.0, "set_utilization", "all", utilization=3.0)
    with pytest.raises(InputError, match="time"):
        sim.schedule(-1.0, "fail", "CRAH-1")


def test_extreme_inputs_give_finite_states(small, steady_copy):
    """3 MW of racks on 300 kW of cooling has no steady state: the solve says so at once (it used to
    return 116 C inlets with an energy error of 1). A hall pushed that far during a transient (every
    rack at 150 % and every unit failed) stays finite."""
    hall = small.hall
    racks = [dataclasses.replace(r, it_kw=150.0, airflow_m3s=None) for r in hall.racks]
    site = small.copy()
    site.halls[0] = dataclasses.replace(site.halls[0], racks=racks)
    with pytest.raises(InputError, match="cooling cannot carry its heat"):
        Simulation(site, grid_m=GRID).solve_steady()
    sim, s = steady_copy
    sim.schedule(0.0, "set_utilization", "all", utilization=1.5)
    for u in hall.cooling_units:
        sim.schedule(0.0, "fail", u.id)
    sim.run(30)
    assert np.isfinite(sim.T).all() and np.isfinite(sim.rack_inlet_c).all()
    assert all(np.isfinite(r.inlet_c) for r in s.racks.values())
    assert sim.rack_inlet_c.max() > s.max_inlet_c + 1.0  # it did heat up


def test_empty_hall_solves(small):
    site = small.copy()
    site.halls[0] = dataclasses.replace(site.halls[0], racks=[], tiles=site.halls[0].tiles)
    sim = Simulation(site, grid_m=GRID)
    s = sim.solve_steady()
    assert s.racks == {} and s.max_inlet_c is None
    sim.run(5)
    assert np.isfinite(sim.T).all()


def test_air_slice_is_the_grid_layer(small_steady):
    sim, _ = small_steady
    sl, ext = sim.air_temperature_slice(1.0)
    assert sl.shape == (sim.air.nx, sim.air.ny)
    k = int(1.0 // sim.air.dz)
    fluid = ~sim.air.solid[:, :, k]
    assert np.array_equal(sl[fluid], sim.T[:, :, k][fluid])
    assert np.isnan(sl[~fluid]).all()
    assert ext == (0.0, 0.0, sim.air.nx * sim.air.dx, sim.air.ny * sim.air.dy)
    assert thermal.stored_energy_j(sim.air, sim.T) > 0


def test_restore_refuses_a_keyframe_from_another_engine_version(small, steady_copy):
    key = steady_copy[0].keyframe()
    del key["unit_setpoint_c"]
    with pytest.raises(InputError, match="unit_setpoint_c"):
        Simulation(small, grid_m=GRID).restore(key)
