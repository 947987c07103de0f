"""The placement search: space rules, the air estimate's kernel, power and cooling arithmetic against the
engine's own, the search end to end on a tiny hall, the greedy plan."""

from __future__ import annotations

import dataclasses
import random
import re

import numpy as np
import pytest

from dctwin.twin.errors import InputError
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.layout import CoolingUnit, Hall, Rack, Site
from dctwin.twin.physics import air_response
from dctwin.twin.physics.airflow import port_faces
from dctwin.twin.physics.constants import RHO_CP_AIR
from dctwin.twin.physics.power import PowerSystem
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.sim.metrics import power_headroom
from dctwin.twin.sim.placement import (
    CoolingModel, PlacementContext, PowerModel, RackRequest, find_space,
)
from dctwin.twin.sim.placement_checks import OWN_AIR_SHARE
from dctwin.twin.sim.placement_plan import plan_placements
from dctwin.twin.sim.placement_space import SpaceRules, Spot, row_at, row_rects

GRID_M = 0.6  # the coarse grid: the search's logic, not the air's detail, is under test here


def tiny_site() -> Site:
    """Two rows of four 6 kW racks facing a cold aisle of tiles, 2 CRAHs (N+1), 2N power."""
    return synthetic_site(8, rack_kw=6.0, racks_per_row=4)


@pytest.fixture(scope="module")
def tiny():
    sim = Simulation(tiny_site(), grid_m=GRID_M)
    sim.solve_steady()
    return sim


# --------------------------------------------------------------------------- space


@pytest.mark.parametrize("n, count", [(8, 1), (40, 1), (40, 3), (60, 2)])
def test_whole_floor_rule_agrees_with_the_one_spot_rule(n, count):
    hall = synthetic_site(n, racks_per_row=10 if n > 8 else 4).hall
    rules = SpaceRules(hall)
    proto = Rack(id="", it_kw=5.0)
    rng = random.Random(n * 10 + count)
    seen_fit = 0
    for facing in "NESW":
        xy, rects = row_rects(hall, proto, facing, count)
        ok = rules.fits(rects, facing, proto.width_m)
        picks = list(np.flatnonzero(ok)) + rng.sample(range(len(xy)), min(150, len(xy)))
        for k in picks:
            spot = Spot(float(xy[k][0]), float(xy[k][1]), facing)
            assert (rules.problem(row_at(proto, spot, count)) == "") == bool(ok[k]), spot
        seen_fit += int(ok.sum())
    assert seen_fit > 0


def test_a_row_grows_at_its_end_facing_its_aisle_and_the_aisles_stay_open():
    hall = tiny_site().hall
    rules = SpaceRules(hall)
    first = hall.racks[0]  # R-001-01: row 1 at y 3.0, facing N, from x 3.0
    last = hall.racks[3]
    proto = dataclasses.replace(first, id="", feeds=())

    def problem(x, y, facing, count=1):
        return rules.problem(row_at(proto, Spot(x, y, facing), count))

    assert problem(last.x_m + 0.6, first.y_m, "N") == ""  # the east end of row 1
    assert problem(first.x_m - 0.6, first.y_m, "N") == ""  # the west end
    assert "face no cold aisle" in problem(last.x_m + 0.6, first.y_m, "S")  # turned round
    assert "R-001-01 stands in the service clearance at the front" in problem(first.x_m, 1.2, "N")
    assert "face no cold aisle" in problem(last.x_m + 0.6, first.y_m - 1.2, "N")  # out of line with the aisle
    assert "tile" in problem(first.x_m, first.y_m + 1.2, "N")  # in the cold aisle itself
    assert "stand in the aisle behind R-001-0" in problem(first.x_m, 2.1, "E")  # across the hot aisle
    assert "walls" in problem(0.0, 0.0, "S")  # its front clearance would be outside
    assert "CRAH-02" in problem(last.x_m + 0.6, first.y_m, "N", count=2)  # a second rack: the CRAH's service space
    # in a longer hall a row of 3 grows from the end of row 1 with its aisle
    big = synthetic_site(40, racks_per_row=10).hall
    end = big.racks[9]
    assert SpaceRules(big).problem(row_at(proto, Spot(end.x_m + 0.6, end.y_m, "N"), 3)) == ""


def test_an_empty_hall_has_no_aisles_and_takes_every_facing():
    hall = Hall(id="H", width_m=6.0, depth_m=6.0)
    rules = SpaceRules(hall)
    proto = Rack(id="", it_kw=5.0)
    for facing in "NESW":
        xy, rects = row_rects(hall, proto, facing, 1)
        assert rules.fits(rects, facing, 0.6).any(), facing
    assert "walls" in rules.problem(row_at(proto, Spot(0.0, 4.8, "N"), 1))


# --------------------------------------------------------------------------- the air estimate


def test_rise_kernel_matches_a_direct_solve(tiny):
    ap, flow = tiny.air, tiny.flow
    fp = (2.4, 3.0, 3.0, 4.2)
    heat = [(fp, "N", 2.0, 8000.0)]
    a, box, sweeps = air_response.heat_rise(ap, flow, heat, tol_k=1e-7)
    b, box_b, _ = air_response.heat_rise(ap, flow, heat, backend="numpy")
    assert box == box_b and sweeps > 1
    assert a.max() > 1.0  # 8 kW into slow air behind the rack
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_rise_field_conserves_the_heat(tiny):
    """With the box over the whole hall and only the solids blocked, the heat put in leaves through the
    ports that take air out: sum over outflow faces of |q| theta = sum of the sources."""
    ap, flow = tiny.air, tiny.flow
    src = np.zeros(ap.shape)
    i, j = ap.nx // 2, 2
    assert not ap.solid[i, j, 1]
    src[i, j, 1] = 5000.0 / RHO_CP_AIR
    theta, _ = air_response.rise_field(ap, flow, src, ap.solid, (0, ap.nx, 0, ap.ny), tol_k=1e-9)
    pf = port_faces(ap)
    out = flow.port_q < 0
    leaving = float((-flow.port_q[out] * theta.reshape(-1)[pf.cell[out]]).sum())
    assert leaving == pytest.approx(float(src.sum()), rel=2e-3)
    assert theta.min() >= -1e-12  # no cold from a heat source


def test_rise_estimate_is_diluted_by_the_new_racks_own_air(tiny):
    """The new rack's own airflow carries its heat too: the near-field rise is theta / (1 + b theta / dT) of
    the bare transport estimate (dT the rack's exhaust rise); a small rack barely changes, and a big one no
    longer warms its neighbours in proportion to its power."""
    air = PlacementContext(tiny).air
    rack = RackRequest(kw=8.0).prototype(tiny.hall)
    rack = dataclasses.replace(rack, x_m=2.4, y_m=3.0, facing="N")
    share = air.room_share * (1.0 / (RHO_CP_AIR * air.units_q))
    kept = []
    for kw in (2.0, 8.0, 32.0):
        q = kw * 1e-1  # m3/s: 1e-4 m3/s per W, an exhaust rise of 8.3 K at any power
        bare, _ = air.rises([rack], [kw * 1e3])
        diluted, _ = air.rises([rack], [kw * 1e3], [q])
        near = bare - share * kw * 1e3
        dt = kw * 1e3 / (RHO_CP_AIR * q)
        expect = near / (1.0 + OWN_AIR_SHARE * near / dt) + share * kw * 1e3
        np.testing.assert_allclose(diluted, expect, atol=1e-9)
        i = int(np.argmax(bare))
        assert bare[i] > 0.2 and diluted[i] < bare[i]
        kept.append(diluted[i] / bare[i])
    assert 1.0 > kept[0] > 0.98 and kept[0] > kept[1] > kept[2]  # 2 kW barely changed; the bigger, the less linear


def test_intake_mean_reads_the_air_in_front_of_the_intake(tiny):
    ap, T = tiny.air, tiny.state.T
    r = tiny.hall.racks[0]
    assert air_response.intake_mean(ap, T, r.footprint(), r.facing, r.height_m) == pytest.approx(
        tiny.rack_inlet_c[0], abs=0.5)
    # an intake against the wall has no air
    assert air_response.intake_mean(ap, T, (0.0, 0.0, 0.6, 1.2), "S", 2.0) is None


# --------------------------------------------------------------------------- power and cooling


def test_power_model_equals_a_load_flow_with_the_racks_placed(tiny):
    """The probe consumer's loads are what the engine's own N-1 headroom says once the rack exists."""
    site = tiny.site
    feeds = tiny.hall.racks[0].feeds
    add_w = 17e3
    checks, h0, h1 = PowerModel(tiny).check(feeds, add_w)
    placed = site.copy()
    placed.halls[0].racks.append(dataclasses.replace(tiny.hall.racks[0], id="R-NEW", x_m=0.0, y_m=0.0, feeds=feeds))
    ps = PowerSystem(placed)
    demand = np.append(np.asarray(tiny.power.state.cons_w, float), 0.0)
    n_racks = len(tiny.hall.racks)
    demand = np.insert(demand[:-1], n_racks, add_w)  # racks first: the new one after the hall's racks
    ps.settle(demand)
    heads = power_headroom(ps, demand)
    path = {"PDU-001A", "PDU-001B", "UPS-01A", "UPS-01B", "ATS-1", "UTIL", "GEN-1"}
    limited = [n for n in path if heads[n].capacity_w]
    assert h0 == pytest.approx(min(heads[n].headroom_w for n in limited), abs=1.0)
    assert h1 == pytest.approx(min(heads[n].headroom_n1_w for n in limited), abs=1.0)
    assert {c.text.split(":")[1].split()[0] for c in checks} >= {"PDU-001A", "PDU-001B"}


def test_power_short_after_losing_a_feed_is_named_with_the_numbers(tiny):
    ctx = PlacementContext(tiny)
    spot = Spot(tiny.hall.racks[3].x_m + 0.6, tiny.hall.racks[0].y_m, "N")
    cand, _ = ctx.assess(RackRequest(kw=25.0), spot)  # 60 kW PDUs with 48 kW on them: one carries 73 kW alone
    assert not cand.feasible
    short = [c.text for c in cand.checks if c.kind == "power" and not c.ok]
    assert any(re.fullmatch(r"power: PDU-001B after losing PDU-001A: 1\d\.\d kW short", t) for t in short), short
    assert cand.headroom_kw["power_n1"] < 0 < cand.headroom_kw["power"]
    # the binding one is the shortest of all, here the air cooling without its largest unit
    assert cand.binding == min((c for c in cand.checks if not c.ok), key=lambda c: c.margin).text


def test_cooling_pool_now_and_without_the_largest_unit(tiny):
    summary = tiny.summary()
    cm = CoolingModel(tiny, summary)
    heads = summary.cooling_headroom
    cap = sum(h.capacity_w for h in heads.values())
    duty = sum(h.load_w for h in heads.values())
    checks, h0, h1 = cm.check(3e3, 0.0, None)
    assert h0 == pytest.approx(cap - duty - 3e3)
    assert h1 == pytest.approx(cap - max(h.capacity_w for h in heads.values()) - duty - 3e3)
    assert any("after losing CRAH" in c.text for c in checks)
    # liquid heat needs a CDU: the tiny hall has none
    checks, _, _ = cm.check(0.0, 5e3, None)
    assert [c.ok for c in checks] == [False] and "no running CDU" in checks[0].text


def test_liquid_racks_take_the_nearest_cdu():
    site = tiny_site()
    hall = site.hall
    hall.cooling_units.append(CoolingUnit(id="CDU-1", kind="cdu", x_m=hall.width_m - 1.0, y_m=0.2, facing="N",
                                          width_m=0.6, depth_m=0.6, capacity_kw=200.0))
    sim = Simulation(site, grid_m=GRID_M)
    sim.solve_steady()
    ctx = PlacementContext(sim)
    spot = Spot(hall.racks[3].x_m + 0.6, hall.racks[0].y_m, "N")
    cand, _ = ctx.assess(RackRequest(kw=30.0, liquid_fraction=0.8), spot)
    assert cand.racks[0].cdu == "CDU-1"
    # 0.8 of about 30 kW (a little more in 26 °C air) on the CDU
    assert any(re.fullmatch(r"cooling: CDU-1 \(200 kW\): 17[56]\.\d kW left", c.text) for c in cand.checks), cand.checks


def test_floor_loading_against_the_halls_rating(tiny):
    sim = tiny
    ctx = PlacementContext(sim)
    spot = Spot(sim.hall.racks[3].x_m + 0.6, sim.hall.racks[0].y_m, "N")
    sim.hall.floor_kg_m2 = 1000.0
    try:
        heavy, _ = ctx.assess(RackRequest(kw=3.0, weight_kg=900.0), spot)  # 900 kg on 0.72 m2: 1250 kg/m2
        light, _ = ctx.assess(RackRequest(kw=3.0, weight_kg=500.0), spot)
        assumed, _ = ctx.assess(RackRequest(kw=3.0), spot)
    finally:
        sim.hall.floor_kg_m2 = None
    assert not heavy.feasible and heavy.binding.startswith("floor: 900 kg on 0.72 m2 is 1250 kg/m2, above")
    assert light.feasible or not light.binding.startswith("floor")
    assert any("(assumed)" in c.text for c in assumed.checks if c.kind == "floor")
    unrated, _ = ctx.assess(RackRequest(kw=3.0, weight_kg=900.0), spot)
    assert not any(c.kind == "floor" for c in unrated.checks)


def test_request_errors_name_the_option():
    site = tiny_site()
    for req, flag in ((RackRequest(kw=0.0), "--kw"), (RackRequest(kw=5, count=0), "--count"),
                      (RackRequest(kw=5, liquid_fraction=1.5), "--liquid-fraction"),
                      (RackRequest(kw=5, width_m=9.0), "--width-m"), (RackRequest(kw=5, feeds=("NOPE",)), "--feeds"),
                      (RackRequest(kw=5, feeds=("UTIL",)), "--feeds"), (RackRequest(kw=60, airflow_m3s=0.01), "--airflow-m3s")):
        with pytest.raises(InputError, match=re.escape(flag)):
            req.check(site, site.hall)


# --------------------------------------------------------------------------- the search


def test_find_space_on_a_tiny_hall_verifies_its_best_spot(tiny):
    res = find_space(tiny, RackRequest(kw=1.5), verify_top=3, workers=2)  # its N+1 CRAHs leave ~3 kW
    d = res.to_json()
    for key in ("candidates", "best", "evaluated", "wall_s"):
        assert key in d
    assert d["evaluated"] > len(d["candidates"]) > 0
    for c in d["candidates"]:
        assert set(c) >= {"x_m", "y_m", "facing", "feeds", "feasible", "binding", "inlet_c", "neighbour_rise_k",
                          "headroom_kw", "score"}
        assert set(c["headroom_kw"]) == {"power", "power_n1", "cooling", "cooling_n1"}
        assert c["feeds"] == ["PDU-001A", "PDU-001B"]  # the nearest row's A and B
    best = res.best
    assert best is not None and best.verified is not None and best.verified["feasible"]
    # the best 3 feasible spots by the estimate are verified (not just until one holds)
    assert d["verified"] == 3 == sum("verified" in c for c in d["candidates"])
    assert d["best"]["verified"]["ids"] == ["R-01"]
    # its CPU time is the verification's own (it was the thread's time less the cooling headroom in W)
    for c in res.candidates:
        if c.verified is not None:
            assert 0.0 < c.verified["solve_cpu_s"] < 600.0, c.verified["solve_cpu_s"]
    # the verified solve has the rack: its state is the one returned
    assert "R-01" in res.best_simulation.rack_ids
    # candidates come best first
    keys = [c.rank_key for c in res.candidates]
    assert keys == sorted(keys)


def test_verification_queues_every_local_correction_before_any_full_solve(tiny, monkeypatch):
    """The verifications run as two stages on the threads (placement._pipelined): every candidate's local
    correction is queued before any full solve, so no solve runs alone at the end while a thread has a
    correction left to do; the records are those of one-by-one verification, and the spots verified the best
    feasible ones by the estimate."""
    from dctwin.twin.sim import placement

    started: list[tuple[str, float, float]] = []
    real_start, real_solve = placement._verify_start, placement._verify_solve

    def start(ctx, cand, cancel=None):
        started.append(("local", cand.x_m, cand.y_m))
        return real_start(ctx, cand, cancel)

    def solve(ctx, request, cand, st, cancel=None):
        started.append(("solve", cand.x_m, cand.y_m))
        return real_solve(ctx, request, cand, st, cancel)

    ctx = PlacementContext(tiny)
    request = RackRequest(kw=1.5)
    cands = [c for f in "NESW" for c in ctx.floor_map(request, f).candidates.values()]
    best = sorted((c for c in cands if c.feasible), key=lambda c: c.rank_key)[:3]
    alone = {(c.x_m, c.y_m, c.facing): placement.verify(ctx, request, c)[0] for c in best}
    monkeypatch.setattr(placement, "_verify_start", start)
    monkeypatch.setattr(placement, "_verify_solve", solve)
    res = find_space(tiny, request, verify_top=3, workers=2, context=ctx)
    kinds = [k for k, _, _ in started]
    assert kinds == ["local"] * 3 + ["solve"] * 3, started
    ver = {(c.x_m, c.y_m, c.facing): c.verified for c in res.candidates if c.verified is not None}
    assert set(ver) == set(alone)
    for key, rec in ver.items():
        assert rec["inlet_c"] == pytest.approx(alone[key]["inlet_c"], abs=1e-9), key
        assert rec["neighbour_rise_k"] == pytest.approx(alone[key]["neighbour_rise_k"], abs=1e-9), key


def test_plan_places_racks_one_after_another_and_reports_stranded_capacity(tiny):
    plan = plan_placements(tiny, RackRequest(kw=1.0), 2, verify_top=1, workers=1)
    d = plan.to_json()
    assert d["count"] == 2 and [p["step"] for p in d["placed"]] == [1, 2]
    spots = {(p["x_m"], p["y_m"]) for p in d["placed"]}
    assert len(spots) == 2  # the second went where the first left room
    assert {"R-01", "R-02"} <= set(plan.simulation.rack_ids)
    rows = {r["row"]: r for r in d["stranded"]["rows"]}
    assert set(rows) == {"001", "002"}
    for r in rows.values():
        assert set(r) >= {"power_left_kw", "fits", "ruled_out_by", "stranded_power_kw"}
    assert {u["unit"] for u in d["stranded"]["units"]} == {"CRAH-01", "CRAH-02"}


def test_plan_reports_power_stranded_where_cooling_is_gone(tiny):
    """A 14 kW rack: the PDUs could take it, the CRAHs (N-1) cannot: the rows' power is stranded."""
    plan = plan_placements(tiny, RackRequest(kw=14.0), 1, verify_top=1, workers=1)
    d = plan.to_json()
    assert d["count"] == 0 and "no spot is feasible" in d["stopped"] and "cooling" in d["stopped"]
    stranded = [r for r in d["stranded"]["rows"] if r["stranded_power_kw"]]
    assert stranded and all(r["ruled_out_by"] == ["cooling"] for r in stranded)
    assert all(r["stranded_power_kw"] == r["power_left_kw"] > 0 for r in stranded)
