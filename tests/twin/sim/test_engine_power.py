"""Power-chain acceptance tests of issue 4, end to end through the engine.

Each test runs :class:`dctwin.twin.sim.engine.Simulation` on the "small" demo hall (air
model on a coarse 0.6 m grid, 20 dual-corded racks, two CRAHs, the power
graph UTIL/GEN-1 -> ATS-1 -> UPS-1A/1B -> PDU-A/B, the air-cooled chiller
plant) with the changes each case needs. The IT power itself comes from the
rack model (it depends on the inlet temperatures the air model gives), so the
tests read it once at steady state and work everything downstream of the
racks out by hand: PDU losses (2 %), the UPS loss curve, Peukert's law, the
breaker I2t curve. The arithmetic is in the comments with the figures of the
demo (IT ≈ 130.5 kW).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.model.layout import Site

GRID = 0.6
#: UPS loss curve P_loss = P_rated (a0 + a1 x + a2 x²), x = P_out / P_rated (PHYSICS.md §4)
A0, A1, A2 = 0.0131, 0.0132, 0.0153
PEUKERT_K = 1.15        # default exponent (the demo's UPSs give none)
PDU_LOSS = 0.02         # default PDU loss fraction
TAU_S, R_TRIP = 120.0, 1.13   # breaker I2t model: dθ/dt = (r² − θ)/τ, trip at θ >= R_TRIP²


def ups_loss_w(p_out_w: float, rated_w: float) -> float:
    x = p_out_w / rated_w
    return rated_w * (A0 + A1 * x + A2 * x * x)


def small_variant(*, units_on_ups: bool = False, battery_kwh: float | None = None, pdu_kw: float | None = None,
                  ats_transfer_s: float | None = None) -> Site:
    """The small demo with the CRAHs moved onto the UPS side (PDU-A + PDU-B), another battery,
    PDU rating or ATS transfer delay."""
    site = demos.load_demo("small")
    hall = site.halls[0]
    if units_on_ups:
        hall.cooling_units = [dataclasses.replace(u, feeds=("PDU-A", "PDU-B")) for u in hall.cooling_units]
    nodes = []
    for n in site.power_nodes:
        if n.kind == "ups" and battery_kwh is not None:
            n = dataclasses.replace(n, battery_kwh=battery_kwh)
        elif n.kind == "pdu" and pdu_kw is not None:
            n = dataclasses.replace(n, capacity_kw=pdu_kw)
        elif n.kind == "ats" and ats_transfer_s is not None:
            n = dataclasses.replace(n, transfer_delay_s=ats_transfer_s)
        nodes.append(n)
    site.power_nodes = nodes
    return site


def steady(site: Site) -> Simulation:
    sim = Simulation(site, grid_m=GRID)
    sim.solve_steady()
    return sim


def ups_battery_power_w(sim: Simulation) -> float:
    """Battery power of each UPS (W) for the steady loads, by hand: UPS out = PDU in =
    1.02 x (half of racks + CRAH fans), plus the UPS loss curve. Also checks the engine's roll-up."""
    racks_w = float(sim.rack_power_w.sum())
    fans_w = float(sim.state.last_unit.fan_w.sum())
    # CRAH fans: 2 x 6.5 kW (fan_power_kw of the demo at full, fixed speed)
    assert fans_w == pytest.approx(13e3, rel=1e-12)
    p_out = (1 + PDU_LOSS) * 0.5 * (racks_w + fans_w)     # ≈ 1.02 x 71.76 kW = 73.2 kW
    assert sim.power.node("UPS-1A")["load_w"] == pytest.approx(p_out, rel=1e-9)
    # x = 73.2 / 160 = 0.4575: loss = 160e3 (0.0131 + 0.0132*0.4575 + 0.0153*0.4575²) ≈ 3.57 kW
    return p_out + ups_loss_w(p_out, 160e3)               # ≈ 76.8 kW


def test_utility_loss_generator_on_load_in_10_s_ups_carries_10_s_and_soc_drops_by_peukert():
    # CRAHs on the UPS side so the hall keeps its airflow and every load stays constant through the gap;
    # ATS transfers as soon as the generator is on load (delay 0).
    sim = steady(small_variant(units_on_ups=True, ats_transfer_s=0.0))
    pb = ups_battery_power_w(sim)
    # Peukert: dSOC/dt = (P_ref/E) (P_b/P_ref)^k with P_ref = 160 kW, E = 27 kWh = 97.2e6 J, k = 1.15.
    # (P_b/P_ref)^k = 0.48^1.15 ≈ 0.430; rate ≈ 1.646e-3 * 0.430 ≈ 7.07e-4 /s.
    # 10 s on battery: the energy drawn is 10 P_b ≈ 768 kJ (0.79 % of E); Peukert weighs it by
    # (P_b/P_ref)^(k-1) ≈ 0.896, so SOC drops ≈ 0.707 %.
    e_j = 27.0 * 3.6e6
    rate = (160e3 / e_j) * (pb / 160e3) ** PEUKERT_K
    assert 10 * pb / e_j * (pb / 160e3) ** (PEUKERT_K - 1) == pytest.approx(10 * rate, rel=1e-12)
    it_w = float(sim.rack_power_w.sum())

    sim.schedule(1.0, "utility_loss", "UTIL")
    soc, mode = [], []
    out = sim.run(13.0, on_step=lambda s: (soc.append(s.power.node("UPS-1A")["soc"]),
                                             mode.append(s.power.node("UPS-1A")["mode"])))
    # steps start at t = 0..12: on battery in the steps at t = 1..10 (10 s), generator on load at t = 11
    assert mode == ["online"] + ["battery"] * 10 + ["online"] * 2
    # (the racks' power moves by a few W as the transient leaves the steady field: 1e-4 covers it)
    assert 1.0 - soc[10] == pytest.approx(10 * rate, rel=1e-4)
    assert out.ups_min_soc == soc[10]
    assert soc[12] > soc[10]   # recharging from the generator
    ev = {e.kind: e for e in sim.events}
    assert ev["ups_on_battery"].t_s == 1.0 and ev["generator_on_load"].t_s == 11.0
    assert ev["ats_transfer"].t_s == 11.0 and ev["ups_online"].t_s == 11.0
    assert [e.kind for e in sim.events.chain(ev["ups_online"])][-1] == "utility_loss"
    # no rack went down and IT power did not move
    assert out.racks_down == {} and "rack_down" not in out.events
    assert all(r.state == "on" for r in out.final.racks.values())
    assert float(sim.rack_power_w.sum()) == pytest.approx(it_w, rel=1e-4)


def test_demo_ats_transfer_delay_adds_to_the_battery_time_at_half_second_steps():
    # The demo as it is: ATS transfer delay 0.5 s, CRAHs on the mechanical switchboard (they stop in the gap).
    # Utility lost at t = 1 s, generator on load 10 s later (t = 11 s), transfer 0.5 s after that:
    # the UPS carries 10.5 s (steps of 0.5 s land on it exactly).
    sim = Simulation(demos.load_demo("small"), grid_m=GRID, dt_s=0.5)
    sim.solve_steady()
    pb = (1 + PDU_LOSS) * 0.5 * float(sim.rack_power_w.sum())      # ≈ 66.6 kW, no fans on the UPS
    pb += ups_loss_w(pb, 160e3)                                    # + ≈ 3.4 kW loss
    rate = (160e3 / 97.2e6) * (pb / 160e3) ** PEUKERT_K
    sim.schedule(1.0, "utility_loss", "UTIL")
    batt_w = []
    out = sim.run(15.0, on_step=lambda s: batt_w.append(s.power.node("UPS-1A")["battery_w"]))
    ev = {e.kind: e for e in sim.events}
    assert ev["ups_on_battery"].t_s == 1.0
    assert ev["generator_on_load"].t_s == 11.0
    assert ev["ats_transfer"].t_s == 11.5 and ev["ups_online"].t_s == 11.5
    on_batt = [w for w in batt_w if w > 0]
    assert len(on_batt) == 21                                      # 21 steps of 0.5 s = 10.5 s
    # Without airflow the hall warms by several K in these 10 s and the racks draw up to ~8 % more
    # (server fans and leakage): the UPS follows them, so the battery power rises step by step and the
    # SOC drop is the Peukert sum over the steps, more than at the steady draw.
    assert on_batt[0] == pytest.approx(pb, rel=1e-6)
    drop = sum(0.5 * (160e3 / 97.2e6) * (w / 160e3) ** PEUKERT_K for w in on_batt)
    assert 1.0 - out.ups_min_soc == pytest.approx(drop, rel=1e-9)
    assert 1.0 - out.ups_min_soc > 10.5 * rate
    assert out.racks_down == {}
    assert out.events["unit_stop"] == 4 and out.events["unit_start"] == 4   # 2 CRAHs, chiller, pump


def test_generator_fails_to_start_racks_go_down_at_the_peukert_runtime_with_the_cause_chain():
    # Short battery (2 kWh per UPS) and CRAHs on the UPS side: the hall stays cooled, so the battery runs out
    # long before any thermal shutdown (the rack dwell alone is 60 s above the critical inlet).
    sim = steady(small_variant(units_on_ups=True, battery_kwh=2.0))
    pb = ups_battery_power_w(sim)                              # ≈ 76.8 kW
    # Runtime from full: T = (E/P_ref) (P_ref/P_b)^k = (7.2e6/160e3) (160/76.8)^1.15 = 45 s * 2.33 ≈ 104.7 s
    t_run = (2.0 * 3.6e6 / 160e3) * (160e3 / pb) ** PEUKERT_K
    assert 100.0 < t_run < 110.0
    sim.schedule(0.0, "generator_fail_to_start", "GEN-1")
    sim.schedule(1.0, "utility_loss", "UTIL")
    out = sim.run(120.0)

    empty = [e for e in sim.events if e.kind == "ups_battery_exhausted"]
    assert sorted(e.target for e in empty) == ["UPS-1A", "UPS-1B"]
    for e in empty:    # the kernel interpolates the moment within its step
        assert e.t_s == pytest.approx(1.0 + t_run, rel=1e-5)
    assert set(out.racks_down) == set(sim.rack_ids)
    for t_down in out.racks_down.values():
        assert 1.0 + t_run <= t_down <= 1.0 + 1.05 * t_run
    # nothing thermal happened first: the only rack events are the power losses
    rack_kinds = {e.kind for e in sim.events if e.target in sim.rack_ids}
    assert rack_kinds == {"rack_down"}
    assert out.ups_min_soc == 0.0

    down = next(e for e in sim.events if e.kind == "rack_down")
    chain = sim.events.chain(down)
    kinds = [e.kind for e in chain]
    i_empty = kinds.index("ups_battery_exhausted")
    i_fail = next(i for i, e in enumerate(chain) if e.kind == "generator_stop" and e.condition == "failed to start")
    assert 0 < i_empty < i_fail < len(chain) - 1
    assert kinds[0] == "rack_down" and kinds[-1] == "utility_loss"
    assert chain[i_fail].target == "GEN-1" and chain[i_fail].t_s == 11.0   # after its 10 s start delay


@pytest.fixture(scope="module")
def pdu_load_w() -> float:
    """Steady output of PDU-A in the demo as it is: half the IT power (≈ 65.3 kW)."""
    sim = steady(demos.load_demo("small"))
    load = sim.power.node("PDU-A")["load_w"]
    assert load == pytest.approx(0.5 * float(sim.rack_power_w.sum()), rel=1e-9)
    return load


def test_2n_each_pdu_at_40_percent_losing_a_leaves_every_rack_up_and_b_carries_all(pdu_load_w):
    # PDU rating L/0.4 ≈ 163.2 kW each. Without A, B carries 2L = 80 % of its rating:
    # θ tends to 0.8² = 0.64 < 1.13² = 1.277, so it never trips.
    sim = steady(small_variant(pdu_kw=pdu_load_w / 0.4 / 1e3))
    assert sim.power.node("PDU-A")["load_w"] / sim.power.node("PDU-A")["capacity_w"] == pytest.approx(0.4, rel=1e-9)
    sim.schedule(10.0, "fail", "PDU-A")
    out = sim.run(300.0)
    a, b = sim.power.node("PDU-A"), sim.power.node("PDU-B")
    assert not a["energized"] and a["load_w"] == 0.0
    assert b["energized"] and not b["tripped"]
    # B carries every rack (the chain sees the racks' draw of the step before: rel 1e-6)
    assert b["load_w"] == pytest.approx(float(sim.rack_power_w.sum()), rel=1e-6)
    assert b["load_w"] / b["capacity_w"] == pytest.approx(0.8, rel=1e-3)
    # θ(290 s) = 0.64 + (0.16 − 0.64) e^(−290/120) ≈ 0.597
    assert b["breaker_theta"] == pytest.approx(0.64 + (0.16 - 0.64) * math.exp(-290 / 120), rel=2e-3)
    assert out.racks_down == {}
    assert all(r.state == "on" and r.power_w > 0 for r in out.final.racks.values())
    assert "breaker_trip_auto" not in out.events and "capacity_exceeded" not in out.events


def test_2n_each_pdu_at_60_percent_b_trips_by_its_i2t_curve_and_racks_go_down_after_a(pdu_load_w):
    # PDU rating L/0.6 ≈ 108.8 kW each; steady θ = 0.6² = 0.36. Without A, B carries r = 1.2:
    # t_trip = −τ ln((r² − R²)/(r² − θ0)) = −120 ln((1.44 − 1.2769)/(1.44 − 0.36)) = −120 ln(0.15102) = 226.8 s
    sim = steady(small_variant(pdu_kw=pdu_load_w / 0.6 / 1e3))
    t_trip = -TAU_S * math.log((1.2 ** 2 - R_TRIP ** 2) / (1.2 ** 2 - 0.6 ** 2))
    assert t_trip == pytest.approx(226.84, abs=0.01)
    t_fail = 10.0
    sim.schedule(t_fail, "fail", "PDU-A")
    out = sim.run(260.0)

    trip = [e for e in sim.events if e.kind == "breaker_trip_auto"]
    assert [e.target for e in trip] == ["PDU-B"]
    # the trip is stamped at the end of the step in which θ crossed R²: within one 1 s step of the curve
    assert t_fail + t_trip <= trip[0].t_s < t_fail + t_trip + 1.0
    assert trip[0].details["load_ratio"] == pytest.approx(1.2, rel=1e-3)
    assert set(out.racks_down) == set(sim.rack_ids)
    assert all(trip[0].t_s <= t <= trip[0].t_s + 1.0 for t in out.racks_down.values())
    assert all(r.power_w == 0.0 for r in out.final.racks.values())

    down = next(e for e in sim.events if e.kind == "rack_down")
    chain = sim.events.chain(down)
    kinds = [(e.kind, e.target) for e in chain]
    assert kinds[0] == ("rack_down", down.target) and kinds[-1] == ("fail", "PDU-A")
    assert kinds.index(("breaker_trip_auto", "PDU-B")) < kinds.index(("capacity_exceeded", "PDU-B"))
    assert ("node_dark", "PDU-A") in kinds


@pytest.mark.parametrize("bypass", [True, False])
def test_overloaded_ups_goes_to_bypass_or_trips_by_its_curve_without_one(bypass):
    # UPSs of 100 kW each (with / without static bypass); each carries 1.02 IT/2 ≈ 66.6 kW (θ0 = 0.666² ≈ 0.443).
    # UPS-1A fails at 5 s: UPS-1B carries both PDUs, 1.02 IT ≈ 133.1 kW, r ≈ 1.331.
    site = demos.load_demo("small")
    site.power_nodes = [dataclasses.replace(n, capacity_kw=100.0, bypass=bypass) if n.kind == "ups" else n
                        for n in site.power_nodes]
    sim = steady(site)
    it = float(sim.rack_power_w.sum())
    r = 1.02 * it / 100e3
    theta0 = (1.02 * it / 2 / 100e3) ** 2
    # without bypass: t = −120 ln((r² − 1.2769)/(r² − θ0)); at IT 130.5 kW = −120 ln((1.7727 − 1.2769)/(1.7727 −
    # 0.4431)) ≈ 118 s. The IT power follows the rack inlets the air model gives, so the time is worked out
    # from it; the run must cover the trip.
    t_trip = -TAU_S * math.log((r * r - R_TRIP ** 2) / (r * r - theta0))
    assert 60.0 < t_trip and 5.0 + t_trip + 1.0 < 140.0
    sim.schedule(5.0, "fail", "UPS-1A")
    out = sim.run(140.0)
    over = next(e for e in sim.events if e.kind == "capacity_exceeded")
    assert over.target == "UPS-1B" and over.t_s == 5.0 and over.details["load_ratio"] == pytest.approx(r, rel=1e-3)
    b = sim.power.node("UPS-1B")
    if bypass:
        on_byp = next(e for e in sim.events if e.kind == "ups_on_bypass")
        assert on_byp.target == "UPS-1B" and on_byp.t_s == 6.0 and on_byp.cause == over.seq
        assert b["mode"] == "bypass" and b["loss_w"] == 0.0 and b["load_w"] == pytest.approx(1.02 * it, rel=1e-4)
        assert out.racks_down == {} and "ups_trip" not in out.events
    else:
        trip = next(e for e in sim.events if e.kind == "ups_trip")
        assert trip.target == "UPS-1B" and trip.cause == over.seq
        assert 5.0 + t_trip <= trip.t_s < 5.0 + t_trip + 1.0
        assert set(out.racks_down) == set(sim.rack_ids)
        down = next(e for e in sim.events if e.kind == "rack_down")
        kinds = [(e.kind, e.target) for e in sim.events.chain(down)]
        assert ("ups_trip", "UPS-1B") in kinds and kinds[-1] == ("fail", "UPS-1A")


def test_cooling_units_without_feeds_count_once_in_the_facility_power():
    # The demo with its CRAHs unwired (no feeds): they are always powered, outside every node's load.
    # Facility = what the utility supplies (racks, chiller, pump, losses) + the two CRAH fans (2 x 6.5 kW)
    # drawn outside the graph, once. PUE ≈ (165.9 + 13.0) / 130.5 ≈ 1.371.
    site = demos.load_demo("small")
    hall = site.halls[0]
    hall.cooling_units = [dataclasses.replace(u, feeds=()) for u in hall.cooling_units]
    sim = steady(site)
    s = sim.summary()
    it = float(sim.rack_power_w.sum())
    util_w = s.power_nodes["UTIL"].load_w
    facility = util_w + 13e3
    assert s.pue == pytest.approx(facility / it, rel=1e-9)
    assert sim.hall_metrics()["facility_power_w"] == pytest.approx(facility, rel=1e-9)
    out = sim.run(10.0)
    assert out.pue_avg == pytest.approx(facility / it, rel=1e-4)
