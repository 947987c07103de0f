"""The local flow correction round a placement candidate (placement_local): the box march keeps the flow
divergence-free and the rest of the hall as it was, the box temperature solve reproduces the solved state
on the present flow, and the correction moves the new rack's air the way the full solve does."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.sim import placement_local
from dctwin.twin.sim.air_models import AirModel
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.sim.placement import PlacementContext, RackRequest, verify
from dctwin.twin.sim.placement_space import Spot

@pytest.fixture(scope="module")
def tiny():
    """The small demo (two rows of ten racks, 0.3 m grid)."""
    sim = Simulation(load_demo("small"))
    sim.solve_steady()
    return sim


@pytest.fixture(scope="module")
def corrected(tiny):
    ctx = PlacementContext(tiny)
    request = RackRequest(kw=10.0)
    cands = [c for f in "NESW" for c in ctx.floor_map(request, f).candidates.values()]
    cand = min((c for c in cands if c.feasible), key=lambda c: c.rank_key)
    lf, est = placement_local.local_correction(ctx, cand.racks, cand.inlets)
    return ctx, request, cand, lf, est


def test_box_temperature_on_the_present_flow_is_the_solved_state():
    """With every port at the solved state's inflow temperatures and the hall's solved air outside the box,
    the box solve on the present flow gives back the solved temperatures (the same upwind balance). The
    box solve has no rack-front jet streams: the hall is solved without them ("fast" before session 26)."""
    tiny = Simulation(load_demo("small"), air_model=AirModel())
    tiny.solve_steady()
    st, ap = tiny.state, tiny.air
    us = st.last_unit
    tile_c = tiny.system.tile_supply_c(us.supply_c, us.airflow_m3s)
    inflow = thermal.inflow_temperatures(ap, st.flow, st.rack_exhaust_c, us.supply_c, tile_c)
    start = np.where(ap.solid, st.T, st.T.mean())  # the box starts far from it
    box = (2, ap.nx - 2, 2, ap.ny - 2)
    outside = np.ones(ap.shape, bool)
    outside[box[0]:box[1], box[2]:box[3]] = False
    start[outside] = st.T[outside]
    T = placement_local.box_temperature(ap, st.flow, start, inflow, box, tol_k=1e-6)
    rin, _ = thermal.port_means(ap, st.flow, T)
    assert np.abs(rin - tiny.rack_inlet_c).max() < 1e-3


def test_box_march_keeps_the_flow_divergence_free_and_the_rest_of_the_hall(corrected):
    ctx, _, cand, lf, _ = corrected
    ap = lf.ap
    assert airflow.max_divergence(ap, lf.flow.u) < 1e-5 * max(1.0, float(np.abs(lf.carried.u).max()))
    i0, i1, j0, j1 = lf.box
    assert (i1 - i0) < ap.nx or (j1 - j0) < ap.ny  # a box, not the hall
    u, v, w = ap.face_views(lf.flow.u)
    cu, cv, cw = ap.face_views(lf.carried.u)
    inside_u = np.zeros(u.shape, bool)
    inside_u[i0 + 1:i1, j0:j1] = True
    assert np.array_equal(u[~inside_u], cu[~inside_u])  # held: the box's sides and beyond
    assert not np.allclose(u[inside_u], cu[inside_u])  # and the box did march
    pf = airflow.port_faces(ap)
    assert np.allclose(lf.flow.u[pf.face], lf.carried.u[pf.face])  # every port keeps its airflow
    assert lf.steps >= 2


def test_local_estimate_and_the_verification_agree_within_the_stated_error(corrected):
    """The rise estimated on the corrected flow at the best spot of the small hall against the verifying full
    solve (which starts from that corrected flow): within the stated 1 K."""
    ctx, request, cand, _, est = corrected
    rec, sim2 = verify(ctx, request, cand)
    assert "local" in rec
    assert abs(rec["local"]["rise_error_k"]) <= placement_local.LOCAL_ERROR_K, rec
    # the verification is a solved steady state of the layout with the rack: inlets settled
    assert sim2.state.flow is not None and sim2.state.flow.rack_q.shape == (len(ctx.air.rack_ids) + 1,)


def test_verification_from_the_local_flow_settles_where_the_solve_does(tiny, monkeypatch):
    """The verification started from the corrected flow (a march with shorter windows, then the fixed point on
    it carried over) settles where ``dctwin solve`` (cold) and the plain warm solve do: every rack's inlet
    within 0.5 K of the cold solve, as the plain warm solve is (0.43 K apart at the row-end rack R-A01: the
    spread of the steady solve itself there; a march of 0.1-residence-time windows was 0.7 to 1.5 K off)."""
    from dctwin.twin.sim import placement

    ctx = PlacementContext(tiny)
    request = RackRequest(kw=10.0)
    cand, why = ctx.assess(request, Spot(*_best_spot(ctx, request)))
    assert cand is not None, why
    fast, sim_fast = verify(ctx, request, cand)
    monkeypatch.setattr(placement, "VERIFY_FROM_LOCAL", False)
    plain, sim_plain = verify(ctx, request, cand)
    site2, placed = placement._place(tiny.site, tiny.hall.id, cand.racks)
    cold = Simulation(site2, tiny.hall.id).solve_steady()
    ids = ctx.air.rack_ids + [placed[0].id]
    a, b, c = (np.array([s.racks[r].inlet_c for r in ids]) for s in (sim_fast.summary(), sim_plain.summary(), cold))
    assert np.abs(b - c).max() <= 0.5  # the solve's own spread
    assert np.abs(a - c).max() <= 0.5
    assert abs(fast["inlet_c"] - cold.racks[placed[0].id].inlet_c) <= 0.5


def _best_spot(ctx, request) -> tuple[float, float, str]:
    cands = [c for f in "NESW" for c in ctx.floor_map(request, f).candidates.values()]
    c = min((c for c in cands if c.feasible), key=lambda c: c.rank_key)
    return c.x_m, c.y_m, c.facing


_MARCH_BOX = placement_local.march_box


def _local_march(ctx, cand, monkeypatch, settle_k):
    """The local correction at ``cand`` with the box march's settling tolerance ``settle_k`` (K): (its estimate,
    the march's (time s, change K) checks, the box flow)."""
    monkeypatch.setattr(placement_local, "LOCAL_SETTLE_K", settle_k)
    checks: list = []
    monkeypatch.setattr(placement_local, "march_box", lambda *a, **k: _MARCH_BOX(*a, **k, trace=checks))
    lf, est = placement_local.local_correction(ctx, cand.racks, cand.inlets)
    return est, checks, lf


def test_box_march_stops_when_the_air_it_gives_stops_moving(corrected, monkeypatch):
    """The box march runs until the intake temperatures on the first and the second half of its windows agree
    to LOCAL_SETTLE_K, not for a fixed time: with any change accepted it stops at LOCAL_MIN_S; with none it
    runs to LOCAL_MAX_S and says it did not settle; at the stated tolerance it stops at the first check that
    meets it (the checks before it did not)."""
    ctx, _, cand, _, _ = corrected
    est, checks, lf = _local_march(ctx, cand, monkeypatch, 1e9)
    assert est["settled"] and len(checks) == 1 and checks[0][0] == pytest.approx(placement_local.LOCAL_MIN_S, abs=0.6)
    est, checks, lf = _local_march(ctx, cand, monkeypatch, 0.0)
    assert not est["settled"] and not lf.flow.converged
    assert checks[-1][0] >= placement_local.LOCAL_MAX_S - 1e-6 and min(c for _, c in checks) > 0.0
    est, checks, lf = _local_march(ctx, cand, monkeypatch, placement_local.LOCAL_SETTLE_K)
    tol = placement_local.LOCAL_SETTLE_K
    assert all(c > tol for _, c in checks[:-1])
    if est["settled"]:
        assert checks[-1][1] <= tol and checks[-1][0] < placement_local.LOCAL_MAX_S
    else:
        assert checks[-1][0] >= placement_local.LOCAL_MAX_S - 1e-6


def test_the_boxes_are_sized_for_the_new_racks_jet():
    """The temperature box reaches the throw of the new rack's exhaust jet and a rack depth round a row end: a
    10 kW rack's jet (0.8 m/s over a 0.6 x 2.2 m back) is spent within the floor-wide estimate's 2.4 m throw,
    a 20 kW one carries 3.8 m, a 40 kW one (3.0 m/s) reaches the longest throw sized for, and a rack that
    blows less air (its heat to liquid) carries less far."""
    from dctwin.twin.model.layout import Rack
    from dctwin.twin.physics import air_response
    from dctwin.twin.physics.it import RackArrays, rack_steady

    def reach(kw: float, liquid: float = 0.0) -> float:
        rack = Rack(id="", it_kw=kw, height_m=2.2, liquid_fraction=liquid)
        q = rack_steady(RackArrays.from_racks([rack]), 1.0, np.array([22.0])).airflow_m3s
        return placement_local.box_reach_m([rack], q)

    assert reach(10.0) == pytest.approx(air_response.RISE_RADIUS_M)
    assert reach(20.0) == pytest.approx(3.77 + air_response.ROW_END_M, abs=0.05)
    assert reach(40.0) == reach(60.0) == pytest.approx(placement_local.LOCAL_MAX_THROW_M + air_response.ROW_END_M)
    assert reach(40.0, liquid=0.8) < reach(40.0)
