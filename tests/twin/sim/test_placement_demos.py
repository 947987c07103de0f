"""The placement search on the demo halls, checked by solving what it proposes as ``dctwin solve`` would:
the best spot, placed and solved from cold, meets every constraint it was scored on; at the verified (top)
candidates the new rack's inlet is within 1 K of the full solve and the largest rise at another rack within 2 K;
a spot ruled out for air (the new rack's own inlet in ``small``, a neighbour's in the ``ai-hall``) does exceed
the limit once solved, within that error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.twin.model.demos import load_demo, synthetic_site
from dctwin.twin.physics.constants import ASHRAE_ALLOWABLE_C, ASHRAE_RECOMMENDED_C
from dctwin.twin.sim.capacity import upstream
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.sim.placement import Candidate, PlacementContext, RackRequest, _place, find_space, verify
from dctwin.twin.sim.placement_local import LOCAL_ERROR_K
from dctwin.twin.sim.placement_space import Spot

#: what the README states for the new rack's inlet at the top candidates (K)
INLET_ERROR_K = 1.0
#: what the README states for the largest rise at another rack at the top candidates (K), estimated on the
#: present flow: it misses the new rack's own jet and the tile air its intake takes from the rack beside it
#: (ai-hall, 20 kW: 1.1 and 1.9 K too low at two of its five best spots; 200-rack hall up to 1.0 K). On the
#: candidates' corrected flows (placement_local) the rise is within LOCAL_ERROR_K (1 K; ai-hall 0.9 K)
RISE_ERROR_K = 2.0
#: what the README states for the floor-wide inlet estimate at the 200-rack hall's top candidates (its row ends,
#: 1.06 K; on the demo halls INLET_ERROR_K). A verified spot reports the rise on its corrected flow, within
#: LOCAL_ERROR_K (1 K); the floor-wide rise is within RISE_ERROR_K
FLOOR_INLET_ERROR_K = 1.5


def solve_placed(sim: Simulation, cand: Candidate):
    """The layout with the candidate's racks added, solved from cold (as ``dctwin solve`` does)."""
    site2, placed = _place(sim.site, sim.hall.id, cand.racks)
    sim2 = Simulation(site2, sim.hall.id)
    return sim2.solve_steady(), [r.id for r in placed]


def assert_meets_its_constraints(base: Simulation, cand: Candidate) -> None:
    before = base.summary()
    after, ids = solve_placed(base, cand)
    v = cand.verified
    for rid in ids:
        t = after.racks[rid].inlet_c
        assert t <= ASHRAE_ALLOWABLE_C["A1"][1], (rid, t)
        if not v["tight"]:
            assert t <= ASHRAE_RECOMMENDED_C[1], (rid, t)
    for rid, r in before.racks.items():  # nobody pushed past the allowable range
        if r.inlet_c <= ASHRAE_ALLOWABLE_C["A1"][1]:
            assert after.racks[rid].inlet_c <= ASHRAE_ALLOWABLE_C["A1"][1], rid
    path = set().union(*(upstream(base.site, f) for f in cand.feeds))
    for nid in path:
        d0, d1 = before.power_nodes[nid], after.power_nodes[nid]
        if d1.capacity_w is None:
            continue
        assert d1.headroom_w >= 0, nid
        if d0.headroom_n1_w >= 0:  # redundant before: still after
            assert d1.headroom_n1_w >= 0, nid
    pool = lambda s: [h for h in s.cooling_headroom.values() if h.capacity_w]  # noqa: E731
    cap = sum(h.capacity_w for h in pool(after))
    duty = sum(h.load_w for h in pool(after))
    largest = max(h.capacity_w for h in pool(after))
    assert cap - duty >= 0
    cap0, duty0 = sum(h.capacity_w for h in pool(before)), sum(h.load_w for h in pool(before))
    if cap0 - largest - duty0 >= 0:
        assert cap - largest - duty >= 0


def assert_estimate_close(res) -> None:
    verified = [c for c in res.candidates if c.verified is not None]
    assert verified
    for c in verified:
        # the estimate it reports: the inlet floor-wide, the rise on the candidate's corrected flow (placement_local)
        assert abs(c.verified["inlet_error_k"]) <= INLET_ERROR_K, (c.x_m, c.y_m, c.facing, c.verified)
        assert abs(c.verified["rise_error_k"]) <= LOCAL_ERROR_K, (c.x_m, c.y_m, c.facing, c.verified)
        assert c.verified["rise_error_k"] == c.verified["local"]["rise_error_k"]
        # the floor-wide rise, which chose it
        assert abs(c.verified["floor_rise_error_k"]) <= RISE_ERROR_K, (c.x_m, c.y_m, c.facing, c.verified)


@pytest.fixture(scope="module")
def small():
    sim = Simulation(load_demo("small"))
    sim.solve_steady()
    return sim


def test_small_demo_best_spot_meets_its_constraints_once_solved(small):
    res = find_space(small, RackRequest(kw=10.0), verify_top=2)
    best = res.best
    assert best is not None and best.verified is not None and best.verified["feasible"]
    assert_estimate_close(res)
    assert_meets_its_constraints(small, best)


def assert_ruled_out_for_air_is_too_warm(sim: Simulation, facings: tuple[str, ...]) -> None:
    """An H1 rack (allowable up to 25 °C): the coolest spot ruled out for its inlet is, solved, above 25 °C
    within the estimate's stated error."""
    ctx = PlacementContext(sim)
    request = RackRequest(kw=10.0, ashrae_class="H1")
    cands = [c for f in facings for c in ctx.floor_map(request, f).candidates.values()]
    ruled = [c for c in cands if not c.feasible and c.binding.startswith("air: the new rack inlet")]
    assert ruled, [c.binding for c in cands]
    cand = min(ruled, key=lambda c: c.inlet_c)  # the coolest of them: the closest call
    limit = ASHRAE_ALLOWABLE_C["H1"][1]
    assert cand.inlet_c > limit and "above the H1 allowable 25 °C" in cand.binding
    after, ids = solve_placed(sim, cand)
    assert after.racks[ids[0]].inlet_c > limit - INLET_ERROR_K


def test_small_demo_spot_ruled_out_for_air_is_too_warm_once_solved(small):
    """At the small hall's row ends."""
    assert_ruled_out_for_air_is_too_warm(small, ("N", "S"))


@pytest.fixture(scope="module")
def ai_hall():
    sim = Simulation(load_demo("ai-hall"))
    sim.solve_steady()
    return sim


@pytest.mark.slow
def test_ai_hall_best_spot_meets_its_constraints_and_the_estimate_is_close(ai_hall):
    res = find_space(ai_hall, RackRequest(kw=20.0), verify_top=2)
    best = res.best
    assert best is not None and best.verified["feasible"]
    assert_estimate_close(res)
    assert_meets_its_constraints(ai_hall, best)


@pytest.mark.slow
def test_ai_hall_verification_hands_the_fixed_point_over_to_the_steady_solve(ai_hall, monkeypatch):
    """After the verifying march the fixed point is carried until it moves less than VERIFY_HANDOVER_K; the
    steady solve's own iterations then take it to the tolerance on that flow, with no march. At the ai-hall's
    best spot that is one carry fewer than carrying to the tolerance (whose last carry, 0.003-0.012 K, the steady
    solve's first iteration repeats) for the same state within 0.02 K. (Handed over too early, at 1.1 K in
    ``small``, the steady solve marched again and landed 0.39 K away: so the hand-over is kept small.)"""
    from dctwin.twin.sim import placement_local

    ctx = PlacementContext(ai_hall)
    request = RackRequest(kw=20.0)
    cands = [c for f in "NESW" for c in ctx.floor_map(request, f).candidates.values()]
    cand = min((c for c in cands if c.feasible), key=lambda c: c.rank_key)

    def solved(handover: float):
        monkeypatch.setattr(placement_local, "VERIFY_HANDOVER_K", handover)
        lf, local = placement_local.local_correction(ctx, cand.racks, cand.inlets)
        summary, info = placement_local.verify_solve(local["sim"], lf, 0.05)
        ids = ctx.air.rack_ids + [local["placed"][0].id]
        return np.array([summary.racks[r].inlet_c for r in ids]), info

    a, handed = solved(placement_local.VERIFY_HANDOVER_K)
    b, carried = solved(0.0)
    assert not handed["fallback"] and handed["flow_solves"] == 0, handed  # no march after the verifying one
    assert handed["carries"] < carried["carries"], (handed, carried)
    assert np.abs(a - b).max() <= 0.02, np.abs(a - b).max()


#: the floor-wide estimate's error at the ai-hall row ends for big air racks (K): a spot it rules out for a
#: neighbour's inlet is too warm once solved within this
RISE_ERROR_K_BIG_RACK = 2.0
#: ai-hall row ends where a big rack's own jet decides the rise: the rack in line with a row's end rack, its exhaust
#: along the end of the next row's contained hot aisle; (21.0, 18.0, S) toward R-H24, whose intake faces the aisle
#: by the wall (floor-wide 3.9 to 5.5 K too cool at 20 to 60 kW, which the test before session 26 never saw: it
#: took the highest estimate), (21.0, 2.4, S) toward R-B24 in a narrow aisle (floor-wide 3.1 K too warm at 60 kW)
ROW_END_WALL_AISLE = (21.0, 18.0, "S")
ROW_END_NARROW_AISLE = (21.0, 2.4, "S")


def _highest_estimate(ctx: PlacementContext, kw: float) -> tuple[float, float, str]:
    """The ai-hall spot where a ``kw`` rack is estimated (floor-wide) to warm another rack's inlet most."""
    base = dict(zip(ctx.air.rack_ids, ctx.air.inlet_c))
    cands = [c for f in ("N", "E", "S", "W") for c in ctx.floor_map(RackRequest(kw=kw), f).candidates.values()]
    c = max((c for c in cands if c.neighbour is not None), key=lambda c: base[c.neighbour] + c.neighbour_rise_k)
    return c.x_m, c.y_m, c.facing


@pytest.mark.slow
@pytest.mark.parametrize("kw, spot", [  # 4 of the 7 cases measured in session 26 (all held; each is a cold ai-hall
    # solve of about a minute in CI): 20 kW at the wall-side end, 40 kW in the narrow aisle and at the highest
    # estimate held as well (docs/validation.md, "Session 26: placement's local correction")
    (40.0, ROW_END_WALL_AISLE), (60.0, ROW_END_WALL_AISLE), (60.0, ROW_END_NARROW_AISLE), (60.0, "highest"),
])
def test_ai_hall_big_rack_rise_a_verified_spot_reports_is_within_the_stated_error_of_a_cold_solve(ai_hall, kw, spot):
    """A 20-60 kW air rack at an ai-hall row end, verified as ``find_space`` verifies its best spots: the largest
    rise at another rack it reports (on its corrected flow, the local correction's boxes sized for its jet) is,
    placed and solved from cold as ``dctwin solve`` does, within LOCAL_ERROR_K of the largest solved rise and of
    the solved rise at the rack it names, too cool or too warm. The spots: both row-end kinds, and the spot of the
    highest floor-wide estimate (the only one checked before session 26). With the boxes of sessions 22-25
    (``placement_local.JET_SIZED_BOXES = False``) the wall-side row end read 2.85 K (40 kW) and 3.96 K (60 kW) too
    cool. The map's judgement of the highest-estimate spot (floor-wide) holds within RISE_ERROR_K_BIG_RACK."""
    ctx = PlacementContext(ai_hall)
    base = dict(zip(ctx.air.rack_ids, ctx.air.inlet_c))
    request = RackRequest(kw=kw)
    cand, why = ctx.assess(request, Spot(*(_highest_estimate(ctx, kw) if spot == "highest" else spot)))
    assert cand is not None, why
    floor_rise, floor_at = cand.neighbour_rise_k, cand.neighbour
    rec, _ = verify(ctx, request, cand)
    cand.take_verified(rec)
    assert cand.neighbour_rise_k == rec["local"]["neighbour_rise_k"]  # what a verified spot reports
    after, _ = solve_placed(ai_hall, cand)
    solved = {r: after.racks[r].inlet_c - base[r] for r in ctx.air.rack_ids}
    most = max(solved, key=solved.get)
    what = (cand.x_m, cand.y_m, cand.facing, cand.neighbour, cand.neighbour_rise_k, most, solved[most])
    assert abs(cand.neighbour_rise_k - solved[most]) <= LOCAL_ERROR_K, what
    assert abs(cand.neighbour_rise_k - solved[cand.neighbour]) <= LOCAL_ERROR_K, what
    if spot != "highest":
        return
    limit = ASHRAE_ALLOWABLE_C["A1"][1]
    assert floor_rise > 3.0, (floor_at, floor_rise)  # a real rise, not the far field
    estimated_c, solved_c = base[floor_at] + floor_rise, after.racks[floor_at].inlet_c
    if not cand.feasible and "allowable" in cand.binding:  # ruled out for that rise: too warm once solved
        assert estimated_c > limit and solved_c > limit - RISE_ERROR_K_BIG_RACK, (cand.binding, solved_c)
    else:  # kept: within the limit once solved
        assert estimated_c <= limit and solved_c <= limit + RISE_ERROR_K_BIG_RACK, (cand.binding, solved_c)


@pytest.mark.slow
def test_ai_hall_rack_off_a_row_end_warms_the_next_rows_end_rack_as_solved(ai_hall):
    """A 20 kW rack half a rack off the end of row F (2.4, 16.2, facing N) blows its exhaust past the end of
    the contained hot aisle toward R-E01, the end rack of the next row, whose intake is 3.0 m from the new
    rack: placed and solved warm, R-E01 is the rack it warms most (1.6 K), and the estimate names it within
    1 K. While the rise solve's box reached only 3.0 m past the rack, its edge fell on R-E01's intake face,
    and the estimate read no rise anywhere."""
    ctx = PlacementContext(ai_hall)
    request = RackRequest(kw=20.0)
    cand, why = ctx.assess(request, Spot(2.4, 16.2, "N"))
    assert cand is not None, why
    rec, _ = verify(ctx, request, cand)
    assert rec["neighbour"] == "R-E01" and rec["neighbour_rise_k"] > 1.0, rec
    assert cand.neighbour == "R-E01", (cand.neighbour, cand.neighbour_rise_k)
    assert abs(cand.neighbour_rise_k - rec["neighbour_rise_k"]) <= 1.0, (cand.neighbour_rise_k, rec["neighbour_rise_k"])


@pytest.fixture(scope="module")
def ai_hall_h1():
    """The ai-hall with every rack of class H1 (allowable up to 25 °C), solved: its intakes (20-23 °C) are
    within the range, and a rack's rise of a few K at a row end takes a neighbour past it."""
    site = load_demo("ai-hall")
    site.hall.racks[:] = [dataclasses.replace(r, ashrae_class="H1") for r in site.hall.racks]
    sim = Simulation(site)
    sim.solve_steady()
    return sim


@pytest.mark.slow
def test_ai_hall_spot_ruled_out_for_a_neighbours_inlet_is_too_warm_once_solved(ai_hall_h1):
    """Of the 20 kW spots ruled out because a neighbour's inlet would pass H1's 25 °C, the closest call (the
    coolest estimated neighbour inlet), placed and solved as ``dctwin solve`` does: that neighbour is above
    25 °C less the stated error of the rise (the estimate misses part of the new rack's jet, so it errs low:
    a spot it rules out is too warm)."""
    sim = ai_hall_h1
    ctx = PlacementContext(sim)
    limit = ASHRAE_ALLOWABLE_C["H1"][1]
    base = dict(zip(ctx.air.rack_ids, ctx.air.inlet_c))
    request = RackRequest(kw=20.0, ashrae_class="H1")
    cands = [c for f in ("N", "E", "S", "W") for c in ctx.floor_map(request, f).candidates.values()]
    ruled = [c for c in cands if not c.feasible and c.binding.startswith("air: R-") and "H1 allowable" in c.binding]
    assert ruled, sorted({c.binding.split(":")[0] for c in cands})
    cand = min(ruled, key=lambda c: base[c.neighbour] + c.neighbour_rise_k)
    estimated_c = base[cand.neighbour] + cand.neighbour_rise_k
    assert estimated_c > limit, cand.binding
    after, _ = solve_placed(sim, cand)
    assert after.racks[cand.neighbour].inlet_c > limit - RISE_ERROR_K_BIG_RACK, (cand.binding, after.racks[cand.neighbour].inlet_c)


@pytest.fixture(scope="module")
def hall200():
    """The 200-rack synthetic hall of ``dctwin bench --place`` (ten rows of twenty 8 kW racks, tiles, CRAHs)."""
    sim = Simulation(synthetic_site(200))
    sim.solve_steady()
    return sim


def test_200_rack_hall_best_spot_and_the_corrected_estimate_at_the_verified_spots(hall200):
    """The 200-rack hall's best spots are all row ends. There the air now in front of the new rack's intake
    (the floor-wide estimate) is not what it breathes once placed: at a left row end that air is warmer than
    the cold-aisle air the rack then draws (estimated 0.6-1.0 K too warm), at a right row end cooler (up to
    1.2 K too cool). On the candidate's corrected flow (placement_local: its intake drawing, its jet blowing)
    the new rack's inlet and the largest rise at another rack are within LOCAL_ERROR_K of the verifying solve
    at every verified spot, and the best spot, solved from cold, meets every constraint it was scored on."""
    res = find_space(hall200, RackRequest(kw=20.0), verify_top=5)
    verified = [c for c in res.candidates if c.verified is not None]
    assert len(verified) == 5
    for c in verified:
        loc = c.verified["local"]
        assert abs(loc["inlet_error_k"]) <= LOCAL_ERROR_K, (c.x_m, c.y_m, c.facing, loc)
        assert abs(loc["rise_error_k"]) <= LOCAL_ERROR_K, (c.x_m, c.y_m, c.facing, loc)
        assert abs(c.verified["floor_rise_error_k"]) <= RISE_ERROR_K, (c.x_m, c.y_m, c.facing, c.verified)
        assert abs(c.verified["floor_inlet_error_k"]) <= FLOOR_INLET_ERROR_K, (c.x_m, c.y_m, c.facing, c.verified)
        assert c.neighbour_rise_k == loc["neighbour_rise_k"]  # the rise a verified spot reports
    err = res.estimate_error_k()
    assert err["local_inlet_c"] <= LOCAL_ERROR_K and err["inlet_c"] <= FLOOR_INLET_ERROR_K
    assert err["neighbour_rise_k"] <= LOCAL_ERROR_K
    best = res.best
    assert best is not None and best.verified["feasible"]
    assert_meets_its_constraints(hall200, best)
