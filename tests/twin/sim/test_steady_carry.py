"""The steady solve after an edit settles first on the previous layout's flow carried over (flows.carry),
then marches once, for the airflows the fans settle at; after a march, small airflow changes carry it
over (flows.follow) instead of marching again. Both stay within a stated distance of the solve that
marches again for every change beyond FLOW_TOLERANCE (as before session 21)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.twin.model.commands import AddElement
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.sim import flows, steady
from dctwin.twin.sim.engine import Simulation

#: inlets and returns (K) of the solve that settles on the carried flow first against the one that marches
#: first and again: within the spread of the march itself (the same layout re-solved warm from inlets 1.5-3 K
#: off lands 0.03-0.2 K from where it was); measured 0.25 K here at 0.6 m, 0.075 K at small's own grid
#: (docs/validation.md, "Steady solve after an edit, session 21")
PRESETTLE_BOUND_K = 0.3


@pytest.fixture(scope="module")
def before():
    site = load_demo("small")
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    hall = site.halls[0]
    r0 = hall.racks[0]
    edited = site.copy()
    AddElement(dataclasses.replace(r0, id="R-NEW", x_m=r0.x_m, y_m=round(r0.y_m - 2.4, 6)), hall.id).apply(edited)
    return edited, sim


def _after(before, **kw):
    """The edited hall solved warm from the state before (no quick answer: the new rack starts at the
    supply temperature, so its fan moves by about half once its inlet is solved)."""
    edited, sim = before
    saved = steady.EDIT_BOX_REACH_M
    steady.EDIT_BOX_REACH_M = None  # the whole hall marched (the box of session 25: test_resolve_after_edit)
    try:
        sim2 = Simulation(edited, grid_m=0.6, warm_from=sim)
        sim2.solve_steady(**kw)
    finally:
        steady.EDIT_BOX_REACH_M = saved
    return sim2


@pytest.fixture(scope="module")
def settled(before):
    return _after(before)


@pytest.fixture(scope="module")
def marched_twice(before):
    saved = steady.PRESETTLE_MAX, steady.SETTLE_CARRY
    steady.PRESETTLE_MAX, steady.SETTLE_CARRY = 0, 0.0  # march first, then again (before session 21)
    try:
        return _after(before)
    finally:
        steady.PRESETTLE_MAX, steady.SETTLE_CARRY = saved


def test_an_edit_settles_on_the_carried_flow_then_marches_once(settled, marched_twice):
    assert marched_twice.stats.flow_solves == 2 and marched_twice.stats.flow_adjusts == 0  # the case it is about
    assert settled.stats.flow_solves == 1 and settled.stats.flow_adjusts >= 1
    # the flow it ends on is made for airflows within FLOW_TOLERANCE of the settled ones
    assert settled.flow.rack_q == pytest.approx(settled.state.last_rack.airflow_m3s, rel=flows.FLOW_TOLERANCE)


def test_the_settled_state_keeps_mass_and_energy(settled):
    q_in, q_out = airflow.mass_balance(settled.air, settled.flow)
    assert q_out == pytest.approx(q_in, rel=1e-9)
    assert settled.state.energy_error < 1e-3 and settled.state.air_energy_error < 1e-3


def test_it_lands_near_the_solve_that_marches_twice(settled, marched_twice):
    d_in = np.abs(settled.rack_inlet_c - marched_twice.rack_inlet_c).max()
    d_ret = np.abs(settled.state.unit_return_c - marched_twice.state.unit_return_c).max()
    assert max(d_in, d_ret) < PRESETTLE_BOUND_K


def test_validated_never_settles_on_the_previous_layouts_flow(before, monkeypatch):
    edited, sim = before
    bases = []
    real = flows.carry
    monkeypatch.setattr(flows, "carry", lambda hs, st, rq, uq, base, *a: bases.append(base) or real(hs, st, rq, uq, base, *a))
    sim2 = Simulation(edited, grid_m=0.6, warm_from=sim, air_model="validated")
    sim2.solve_steady()
    assert sim2.stats.flow_solves >= 1  # its marches start from rest; only they are carried over
    assert all(b is not sim.flow for b in bases)


def test_a_looser_tolerance_stops_sooner_and_lands_within_it(before, settled, monkeypatch):
    solves = []
    real = thermal.solve_steady
    monkeypatch.setattr(thermal, "solve_steady", lambda *a, **k: solves.append(1) or real(*a, **k))
    tight = _after(before)
    n_tight = len(solves)
    solves.clear()
    loose = _after(before, tol_k=0.2)
    assert len(solves) < n_tight
    assert np.abs(loose.rack_inlet_c - tight.rack_inlet_c).max() < 2 * 0.2


#: a cold solve started from inlets this far below the settled ones (K): every rack's fan then moves by
#: by up to 9 % after the first march (from rest), beyond FLOW_TOLERANCE and within SETTLE_CARRY
OFF_K = 1.0
#: the carried solve against the one that marches again (K); measured 0.19 K (small at 0.6 m, where two
#: marches from rest from these inlets and from the settled ones already land 0.6-0.8 K apart) before
#: "fast" had the rack-front jets' free edge, 0.62 K with it (session 26: R-A01, a row end, reads the jets'
#: draw off the carried flow; the carried solve 0.90 K from the settled one there, 0.81 K without the edge,
#: the re-marched one 0.61 K either way)
CARRY_BOUND_K = 0.75


def _from_off_inlets(before, carry):
    _, sim = before
    saved = steady.SETTLE_CARRY, steady.FANS_IN_MARCH
    # the fans keep the march's starting airflows (session 22 lets them follow a cold march, which then
    # ends within FLOW_TOLERANCE of where they settle and leaves nothing to carry)
    steady.SETTLE_CARRY, steady.FANS_IN_MARCH = carry, 0
    try:
        again = Simulation(sim.site, grid_m=0.6)
        again.state.rack_inlet_c = sim.rack_inlet_c - OFF_K
        again.solve_steady()
        return again
    finally:
        steady.SETTLE_CARRY, steady.FANS_IN_MARCH = saved


def test_a_small_fan_change_after_a_march_is_carried_and_lands_near_the_re_marched_state(before):
    carried = _from_off_inlets(before, steady.SETTLE_CARRY)
    marched = _from_off_inlets(before, 0.0)
    assert carried.stats.flow_solves == 1 and carried.stats.flow_adjusts >= 1
    assert marched.stats.flow_solves == 2 and marched.stats.flow_adjusts == 0
    assert carried.flow.adjusted and carried.flow.rack_q == pytest.approx(carried.state.last_rack.airflow_m3s,
                                                                          rel=flows.FLOW_TOLERANCE)
    q_in, q_out = airflow.mass_balance(carried.air, carried.flow)
    assert q_out == pytest.approx(q_in, rel=1e-9)
    assert carried.state.air_energy_error < 1e-3
    assert np.abs(carried.rack_inlet_c - marched.rack_inlet_c).max() < CARRY_BOUND_K
