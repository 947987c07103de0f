"""Transients follow small airflow changes without re-marching, and stay bit-identical across keyframes."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.engine import Simulation


def _sim():
    sim = Simulation(load_demo("small"), grid_m=0.6)
    sim.solve_steady()
    return sim


@pytest.fixture(scope="module")
def run_with_keyframe():
    sim = _sim()
    # every rack to 90 %: its fans move 10-15 %, within FLOW_REMARCH of the steady solve's one march (at
    # 80 % they move 27 %, which re-marches; before session 22 the cold solve's first march, made at the
    # supply temperature's airflows, was near enough to carry from)
    sim.schedule(3.0, "set_utilization", "all", utilization=0.9)
    sim.run(10.0)
    first = copy.copy(sim.stats)  # the stats count per run
    k = sim.keyframe()
    sim.run(8.0)
    return sim, first, k


def test_a_load_change_carries_the_flow_over_instead_of_re_marching(run_with_keyframe):
    sim, first, _ = run_with_keyframe
    s = sim.run_summary(8.0, 1.0)
    assert first.flow_adjusts + sim.stats.flow_adjusts >= 1 and s.flow_adjusts == sim.stats.flow_adjusts
    assert first.flow_solves == 0 and sim.stats.flow_solves == 0  # no march in either part
    # the flow carries the racks' new airflows exactly
    assert sim.flow.rack_q == pytest.approx(sim.state.last_rack.airflow_m3s, rel=0.051)
    assert np.isfinite(sim.T).all()


def test_restoring_a_keyframe_taken_on_an_adjusted_flow_is_bit_identical(run_with_keyframe):
    sim, _, k = run_with_keyframe
    assert int(k["march_count"]) >= 1 and "march0_flow_u" in k  # the flow it was adjusted from travels along
    again = Simulation(load_demo("small"), grid_m=0.6)
    again.restore(k)
    again.run(8.0)
    assert np.array_equal(again.T, sim.T)
    assert np.array_equal(again.rack_inlet_c, sim.rack_inlet_c)
    assert np.array_equal(again.flow.u, sim.flow.u)


def test_a_unit_failure_re_marches_the_flow():
    sim = _sim()
    sim.schedule(2.0, "fail", "CRAH-1")
    sim.run(5.0)
    assert sim.stats.flow_solves >= 1
    assert sim.flow.unit_in_q[sim.unit_ids.index("CRAH-1")] == 0.0


def test_a_load_swinging_between_two_states_marches_once_per_state():
    def swing(s):  # 1.0 -> 0.4 -> 1.0 -> ... every 4 s: the racks' airflows move by far more than 25 %
        for k in range(8):
            s.schedule(2.0 + 4.0 * k, "set_utilization", "all", utilization=0.4 if k % 2 == 0 else 1.0)

    sim = _sim()
    swing(sim)
    sim.run(24.0)
    assert sim.stats.flow_solves <= 2  # the 0.4 state once, the 1.0 state was the steady one
    assert sim.stats.flow_adjusts >= 4
    k = sim.keyframe()
    again = Simulation(load_demo("small"), grid_m=0.6)
    swing(again)
    again.restore(k)
    sim.run(8.0)
    again.run(8.0)
    assert np.array_equal(again.T, sim.T) and np.array_equal(again.flow.u, sim.flow.u)
