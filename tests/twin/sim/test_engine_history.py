"""The engine's air history: the backward-Euler iterate and its last two rates of change start each
implicit solve; they are state (keyframes), optional on restore, and never change the answer
beyond the solver tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.physics import thermal

GRID = 0.6
HISTORY = ("air_star", "air_rate1", "air_rate2", "air_rate_dt")


@pytest.fixture(scope="module")
def small():
    return demos.load_demo("small")


def _transient(site, t_s=20.0):
    sim = Simulation(site, grid_m=GRID)
    sim.solve_steady()
    sim.schedule(0.0, "set_utilization", "all", utilization=0.4)
    sim.schedule(12.0, "fail", "CRAH-1")
    sim.run(t_s)
    return sim


def test_steps_are_implicit_and_keep_two_rates(small):
    sim = Simulation(small, grid_m=GRID)
    sim.solve_steady()
    k0 = sim.keyframe()
    assert np.array_equal(k0["air_rate_dt"], [0.0, 0.0])  # a steady state has no history
    assert np.array_equal(k0["air_star"], sim.T)
    c = thermal.coefficients(sim.air, sim.flow)
    assert sim.dt_s * c.max_rate > thermal.MAX_EXPLICIT_SUBSTEPS  # this hall takes the implicit path
    sim.schedule(0.0, "set_utilization", "all", utilization=0.4)
    work = []
    for _ in range(3):
        before = sim.keyframe()["air_star"]
        sim.step()
        work.append(sim.air_sweeps + sim.air_local_passes)
        k = sim.keyframe()
        np.testing.assert_allclose(k["air_rate1"], ((k["air_star"] - before) / sim.dt_s).astype(np.float32),
                                   rtol=1e-6, atol=1e-7)
    assert min(work) >= thermal.IMPLICIT_MIN_SWEEPS
    assert np.array_equal(sim.keyframe()["air_rate_dt"], [1.0, 1.0])
    # the iterate is within the tolerance of the conservative state
    assert np.abs(sim.T - sim.keyframe()["air_star"])[~sim.air.solid].max() < thermal.IMPLICIT_TOL_K
    sim.solve_steady()
    assert np.array_equal(sim.keyframe()["air_rate_dt"], [0.0, 0.0])


def test_restore_with_history_is_bit_identical_mid_transient(small):
    live = _transient(small)
    key = live.keyframe()
    assert key["air_rate_dt"][1] > 0 and np.abs(key["air_rate1"]).max() > 0
    live.run(15)
    replay = Simulation(small, grid_m=GRID)
    replay.restore(key)
    replay.run(15)
    assert np.array_equal(live.T, replay.T)
    assert np.array_equal(live.rack_inlet_c, replay.rack_inlet_c)
    assert np.array_equal(live.keyframe()["air_star"], replay.keyframe()["air_star"])


def test_keyframe_without_history_restores_and_stays_within_tolerance(small):
    live = _transient(small)
    key = live.keyframe()
    old = {n: v for n, v in key.items() if n not in HISTORY}  # as an older recording stored it
    live.run(15)
    replay = Simulation(small, grid_m=GRID)
    replay.restore(old)
    assert np.array_equal(replay.keyframe()["air_rate_dt"], [0.0, 0.0])
    replay.run(15)
    assert replay.t_s == live.t_s
    # only the start of the solves differed: the runs agree to the solver tolerance
    assert np.abs(replay.rack_inlet_c - live.rack_inlet_c).max() < 0.02
    assert not np.array_equal(replay.T, live.T)


def test_history_of_the_wrong_grid_is_refused(small):
    live = _transient(small, 3.0)
    key = live.keyframe()
    key["air_rate1"] = key["air_rate1"][:-1]
    with pytest.raises(Exception, match="air history"):
        Simulation(small, grid_m=GRID).restore(key)


def test_transient_stays_on_a_tight_solve(small, monkeypatch):
    loose = _transient(small, 120.0)
    monkeypatch.setattr(thermal, "IMPLICIT_TOL_K", 1e-9)
    tight = _transient(small, 120.0)
    assert tight.stats.steps == loose.stats.steps
    # PHYSICS: the engine tolerance moves rack inlets by far less than a sensor resolves
    assert np.abs(loose.rack_inlet_c - tight.rack_inlet_c).max() < 0.02
    assert np.abs(loose.unit_return_c - tight.unit_return_c).max() < 0.02
