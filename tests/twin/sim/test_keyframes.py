"""Keyframes come from the hall state's field metadata: every keyframed field round-trips, and
keyframes of older engines (without the marched flows or the air carry) restore as they did."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.sim.hall import HallState
from dctwin.twin.sim.keyframes import state_arrays

GRID = 0.6


@pytest.fixture(scope="module")
def mid_run():
    sim = Simulation(demos.load_demo("small"), grid_m=GRID)
    sim.solve_steady()
    sim.schedule(0.0, "set_utilization", "all", utilization=0.6)
    sim.run(6.0)
    return sim


def test_every_keyframed_field_round_trips(mid_run):
    k = mid_run.keyframe()
    fresh = Simulation(demos.load_demo("small"), grid_m=GRID)
    fresh.restore(k)
    again = fresh.keyframe()
    assert list(again) == list(k)
    for name, a in k.items():
        assert again[name].dtype == a.dtype and again[name].tobytes() == a.tobytes(), name
    # the state's own part of the keyframe, in field order, ahead of the facility's and the alarms'
    own = list(state_arrays(fresh.state))
    assert own[:2] == ["t_s", "air_T"] and own[-1] == "liquid_power_w" and list(k)[:len(own)] == own


def test_an_older_keyframe_without_marches_or_carry_restores_as_before(mid_run):
    k = mid_run.keyframe()
    old = {n: v for n, v in k.items() if not n.startswith("march") and n != "air_carry_j"}
    sim = Simulation(demos.load_demo("small"), grid_m=GRID)
    sim.restore(old)
    st: HallState = sim.state
    # the flow was marched for the airflows it has; the air owes the racks nothing
    assert len(st.marched) == 1 and st.marched[0][0] is st.flow
    assert np.array_equal(st.marched[0][1], k["flow_bc_rack_q"]) and np.array_equal(st.marched[0][2], k["flow_bc_unit_q"])
    assert st.air_carry_j.shape == (sim.ra.n,) and not st.air_carry_j.any()
    sim.run(3.0)
    assert np.isfinite(sim.T).all() and sim.t_s == pytest.approx(k["t_s"] + 3.0)


def test_a_keyframe_lacking_a_required_array_is_refused_by_name(mid_run):
    k = mid_run.keyframe()
    del k["rack_server_c"]
    with pytest.raises(Exception, match="rack_server_c"):
        Simulation(demos.load_demo("small"), grid_m=GRID).restore(k)
