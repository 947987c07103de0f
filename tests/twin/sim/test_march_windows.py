"""The steady solve's warm-started marches average over shorter windows (session 24, issue 16).

A cold solve of small marches twice: from rest at the supply temperature's airflows, then, once the racks'
fans have followed their solved inlets, on from that flow. The second march ends when two consecutive
averaging windows agree (``airflow.solve_flow``); with windows of
:data:`~dctwin.twin.sim.steady.WARM_WINDOW_TAU` residence times instead of the march's own 0.5 it takes
half the steps and lands within :data:`BOUND_K` of the solve with the long windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow
from dctwin.twin.sim import steady
from dctwin.twin.sim.engine import Simulation

#: rack inlets and unit returns (K) of the solve with short warm windows against the one with the march's
#: own (measured 0.049 K on small)
BOUND_K = 0.1


def _solve(monkeypatch, warm_window_tau: float) -> tuple[Simulation, list]:
    """small solved cold with the steady solve's warm windows ``warm_window_tau``; its marches as (warm
    started, steps, simulated time s, residence time s)."""
    monkeypatch.setattr(steady, "WARM_WINDOW_TAU", warm_window_tau)
    marches = []
    real = airflow.solve_flow

    def solve_flow(ap, bc, init=None, **kw):
        flow = real(ap, bc, init, **kw)
        inflow = float(airflow.boundary_flows(ap, bc)["port_q"].clip(min=0.0).sum())
        marches.append((init is not None, flow.steps, flow.sim_time_s, ap.fluid_volume_m3 / inflow))
        return flow

    monkeypatch.setattr(airflow, "solve_flow", solve_flow)
    sim = Simulation(load_demo("small"))
    sim.solve_steady()
    monkeypatch.undo()
    return sim, marches


@pytest.fixture(scope="module")
def solves():
    mp = pytest.MonkeyPatch()
    try:
        return _solve(mp, steady.WARM_WINDOW_TAU), _solve(mp, 0.5)
    finally:
        mp.undo()


def test_the_march_after_the_fans_moved_ends_within_its_short_windows(solves):
    (short, marches), _ = solves
    assert steady.WARM_WINDOW_TAU < 0.5
    assert [warm for warm, *_ in marches] == [False, True]  # from rest, then on from it
    _, steps, t, tau = marches[1]
    # two or three windows of WARM_WINDOW_TAU (each whole steps, a little longer); with the march's own
    # (0.5) two windows are already one residence time
    assert t < 3.5 * steady.WARM_WINDOW_TAU * tau < tau
    _, cold_steps, cold_t, _ = marches[0]
    assert cold_t >= tau  # the march from rest keeps its own windows after its residence time


def test_the_short_windows_land_near_the_long_ones(solves):
    (short, m_short), (long, m_long) = solves
    assert m_short[1][1] < m_long[1][1]  # the case it is about: the long windows take more steps
    assert np.abs(short.state.rack_inlet_c - long.state.rack_inlet_c).max() <= BOUND_K
    assert np.abs(short.state.unit_return_c - long.state.unit_return_c).max() <= BOUND_K
