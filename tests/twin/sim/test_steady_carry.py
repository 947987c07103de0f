"""The steady solve after an edit marches the flow once and carries the fans' later airflow changes over
(flows.follow, as a transient does), within a stated distance of the solve that marches again for them."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.sim import flows
from dctwin.twin.sim.engine import Simulation

#: inlets and returns of the carried solve against the re-marched one (K): the placement estimate's stated
#: error, which the verification that carries must stay well inside; measured 0.59 K (worst rack) on small
#: at 0.6 m with the fans 15 % off (docs/validation.md, "Steady solve after an edit, session 21")
CARRY_BOUND_K = 1.0


#: the racks' inlets the solve starts from, this far below the settled ones (K): their fans then move by
#: about 15 % after the first temperature solve (5 % per K near their rated inlet), between FLOW_TOLERANCE
#: and FLOW_REMARCH
OFF_K = 3.0


@pytest.fixture(scope="module")
def before():
    sim = Simulation(load_demo("small"), grid_m=0.6)
    sim.solve_steady()
    return sim


def _after(before, **kw):
    """The same hall solved again, warm, from inlets OFF_K below its settled ones."""
    sim2 = Simulation(before.site, grid_m=0.6, warm_from=before)
    sim2.state.rack_inlet_c = sim2.state.rack_inlet_c - OFF_K
    sim2.solve_steady(**kw)
    return sim2


@pytest.fixture(scope="module")
def carried(before):
    return _after(before, carry=True)


def test_a_solve_marches_once_and_carries_the_fans_change(carried):
    sim = carried
    assert sim.stats.flow_solves == 1 and sim.stats.flow_adjusts >= 1
    assert sim.flow.adjusted
    # the carried flow is made for the racks' and units' settled airflows, not the march's
    assert sim.flow.rack_q == pytest.approx(sim.state.last_rack.airflow_m3s, rel=flows.FLOW_TOLERANCE + 1e-3)
    marched_q = sim.state.marched[-1][1]
    assert np.abs(sim.flow.rack_q / marched_q - 1).max() > flows.FLOW_TOLERANCE  # the case it is about


def test_the_carried_state_keeps_mass_and_energy(carried):
    sim = carried
    q_in, q_out = airflow.mass_balance(sim.air, sim.flow)
    assert q_out == pytest.approx(q_in, rel=1e-9)
    assert sim.flow.max_div * min(sim.air.dx, sim.air.dy, sim.air.dz) < 1e-6 * np.abs(sim.flow.u).max()
    assert sim.state.energy_error < 1e-3 and sim.state.air_energy_error < 1e-3


def test_the_carried_solve_lands_near_the_re_marched_one(before, carried):
    again = _after(before)  # without carry: every airflow change beyond FLOW_TOLERANCE marches again
    assert again.stats.flow_solves >= 2 and not again.flow.adjusted
    d_in = np.abs(carried.rack_inlet_c - again.rack_inlet_c).max()
    d_ret = np.abs(carried.state.unit_return_c - again.state.unit_return_c).max()
    assert max(d_in, d_ret) < CARRY_BOUND_K
    # both land on the state the hall settled in before (the same layout); the re-marched one closer
    assert np.abs(carried.rack_inlet_c - before.rack_inlet_c).max() < CARRY_BOUND_K
    assert np.abs(again.rack_inlet_c - before.rack_inlet_c).max() < 0.3


def test_a_looser_tolerance_stops_sooner_and_lands_within_it(before, carried, monkeypatch):
    solves = []
    real = thermal.solve_steady
    monkeypatch.setattr(thermal, "solve_steady", lambda *a, **k: solves.append(1) or real(*a, **k))
    tight = _after(before, carry=True)
    n_tight = len(solves)
    solves.clear()
    loose = _after(before, tol_k=0.2, carry=True)
    assert len(solves) < n_tight
    assert np.abs(loose.rack_inlet_c - tight.rack_inlet_c).max() < 2 * 0.2
