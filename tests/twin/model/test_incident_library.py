"""Every built-in incident runs headless on its demo hall, checked against physics worked by hand.

Grids: the small hall at 0.6 m (one tile), the AI hall at 1.2 m (0.6 m takes several
seconds per steady solve there; 1.2 m keeps this file fast and still resolves its aisles).
Runs are shortened (dt 2-5 s, a few minutes simulated) except where the physics needs
the full time (the battery run-down, 20 simulated minutes at 2 s steps, about a second).
"""

from __future__ import annotations


import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.model.commands import SetProperty
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.model.incidents import list_incidents, load_library_incident
from dctwin.twin.physics import thermal
from dctwin.twin.physics.constants import UPS_A0, UPS_A1, UPS_A2
from dctwin.twin.physics.constants import CP_WATER, RHO_WATER
from dctwin.twin.physics.power import breaker_trip_time_s

GRID = {"small": 0.6, "ai-hall": 1.2}


def _sim(name: str, site=None) -> tuple[Simulation, object]:
    inc = load_library_incident(name)
    site = site if site is not None else demos.load_demo(inc.layout)
    inc = load_library_incident(name, site)  # checked against the layout
    sim = Simulation(site, grid_m=GRID[inc.layout])
    sim.solve_steady()
    inc.schedule_on(sim)
    return sim, inc


def _raised(sim, kind, target=None):
    return [a for a in sim.alarms if a["active"] and a["kind"] == kind and (target is None or a["id"] == target)]


def test_library_lists_the_seven_incidents_each_for_a_demo():
    lib = list_incidents()
    assert set(lib) == {"crah-failure", "utility-loss-generator-start", "utility-loss-generator-fails",
                        "pdu-a-failure-cascade", "chiller-trip-storage", "cdu-pump-failure", "ai-training-swing"}
    for name in lib:
        inc = load_library_incident(name)
        assert inc.layout in demos.list_demos()
        assert inc.duration_s and inc.duration_s > 0
        load_library_incident(name, demos.load_demo(inc.layout))  # every target exists in its hall


def test_crah_failure_names_the_crah_and_its_supply_share():
    sim, inc = _sim("crah-failure")
    # the failure is applied at the start of the step at t = 60 s: the flow now is the one before it
    sim.run(60.0, dt_s=2.0)
    flow, unit_q = sim.flow, sim.state.flow_unit_q.copy()
    j = sim.unit_ids.index("CRAH-2")
    sim.run(240.0, dt_s=2.0)
    failed = _raised(sim, "unit_failed", "CRAH-2")
    assert len(failed) == 1 and failed[0]["causes"][0]["kind"] == "fail" and failed[0]["causes"][0]["injected"]
    thermal_alarms = [a for a in sim.alarms if a["active"] and a["kind"].startswith("inlet_")]
    assert thermal_alarms, "the hall warms after losing half its cooling"
    # Both CRAHs blow into the raised floor, so CRAH-2 supplied its airflow share q2/(q1+q2) of the
    # tile and leakage air; a rack's share is that times the fraction of its intake air coming
    # straight from the floor (the supply tracer, rack exhausts carrying none).
    direct = thermal.supply_fraction(sim.air, flow)
    plenum_share = unit_q[j] / unit_q.sum()
    for a in thermal_alarms:
        c = a["causes"][0]
        assert c["target"] == "CRAH-2" and c["kind"] == "fail"
        i = sim.rack_ids.index(a["id"])
        assert 0.0 < c["supply_share"] < 1.0
        assert c["supply_share"] == pytest.approx(plenum_share * direct[i], abs=2e-3)
        pct = f"{100 * c['supply_share']:.0f} %"
        assert f"CRAH-2, which supplied {pct} of its inlet air, failed at 00:01:00 (injected)." in a["message"]
    # the first allowable alarm is the run's first allowable breach
    allow = _raised(sim, "inlet_allowable")
    assert allow
    assert min(a["t_s"] for a in allow) == pytest.approx(sim.run_summary(1, 1).first_over_allowable_s)


def test_utility_loss_with_a_clean_generator_start_rides_through():
    sim, inc = _sim("utility-loss-generator-start")
    soc = []
    batt = []

    def watch(s):
        soc.append(float(s.power.state.soc[s.power.plant.node_index["UPS-1A"]]))
        batt.append(s.power.node("UPS-1A")["battery_w"])

    summary = sim.run(120.0, dt_s=1.0, on_step=watch)
    ev = {e.kind: e for e in sim.events}
    # loss at 10 s, GEN-1 on load after its 10 s start delay, the ATS transfers 0.5 s later (next step)
    assert ev["utility_loss"].t_s == pytest.approx(10.0)
    assert ev["generator_on_load"].t_s == pytest.approx(20.0, abs=1.0)
    assert summary.racks_down == {}
    # Peukert by hand: dSOC/dt = (P_ref/E)(P_b/P_ref)^k, E = 27 kWh, P_ref = 160 kW, k = 1.15,
    # P_b = the battery power while on battery (about 70 kW: 66 kW out + its loss); over the
    # ~11 s from loss to transfer the charge drops by about 0.7 %.
    on = [b for b in batt if b > 0]
    pb = float(np.mean(on))
    rate = (160e3 / (27 * 3.6e6)) * (pb / 160e3) ** 1.15
    assert 1.0 - min(soc) == pytest.approx(rate * len(on), rel=0.05)
    raised = _raised(sim, "ups_on_battery", "UPS-1A")
    assert len(raised) == 1 and raised[0]["causes"][-1]["kind"] == "utility_loss"
    cleared = [a for a in sim.alarms if not a["active"] and a["kind"] == "ups_on_battery" and a["id"] == "UPS-1A"]
    assert len(cleared) == 1 and cleared[0]["t_s"] >= ev["ats_transfer"].t_s + 30.0 - 1e-9
    assert not _raised(sim, "ups_low_soc") and not _raised(sim, "rack_down")


def _gen_fails_site():
    """The small demo with its cooling (SWB-M: CRAHs, chiller, pump) moved onto both UPSs, so the
    hall stays cooled on battery and the racks go down when the batteries run out, not
    thermally first (as they do in the demo as built, see the next test)."""
    site = demos.load_demo("small")
    SetProperty("SWB-M", "inputs", ["UPS-1A", "UPS-1B"]).apply(site)
    return site


def test_generator_fails_racks_go_down_at_the_battery_runtime():
    sim, inc = _sim("utility-loss-generator-fails", _gen_fails_site())
    pb, out = [], []

    def watch(s):
        n = s.power.node("UPS-1B")
        if n["mode"] == "battery":
            pb.append(n["battery_w"])
            out.append(n["load_w"])

    summary = sim.run(1300.0, dt_s=2.0, on_step=watch)
    t_loss = next(e.t_s for e in sim.events if e.kind == "utility_loss")
    # Peukert runtime by hand: T = (E/P_ref)(P_ref/P_b)^k with E = 27 kWh = 97.2 MJ, P_ref = 160 kW,
    # k = 1.15 and P_b = the UPS output (half of racks + cooling, about 86 kW) plus its loss
    # P_ref (a0 + a1 x + a2 x^2) (about 4 kW): (97.2e6 / 160e3) (160 / 90)^1.15 = 607.5 s * 1.94 = 1178 s.
    out_w = float(np.mean(out))
    x = out_w / 160e3
    p_b = float(np.mean(pb))
    runtime = (97.2e6 / 160e3) * (160e3 / p_b) ** 1.15
    assert 80e3 < out_w < 100e3
    # the battery gives the output plus the UPS loss P_ref (a0 + a1 x + a2 x^2)
    assert p_b == pytest.approx(out_w + 160e3 * (UPS_A0 + UPS_A1 * x + UPS_A2 * x * x), rel=0.01)
    assert 1100.0 < runtime < 1260.0
    assert len(summary.racks_down) == 20
    for t in summary.racks_down.values():
        assert t - t_loss == pytest.approx(runtime, rel=0.05)
    down = _raised(sim, "rack_down", "R-B03")
    assert len(down) == 1
    kinds = [c["kind"] for c in down[0]["causes"]]
    assert kinds == ["ups_battery_exhausted", "generator_stop", "utility_loss"]
    msg = down[0]["message"]
    assert msg.startswith("R-B03 down at ")
    assert "battery exhausted at" in msg and "<- GEN-1 failed to start at 00:00:2" in msg
    assert msg.endswith("<- utility loss at 00:00:10 (injected).")
    assert _raised(sim, "ups_on_battery", "UPS-1B")
    # a UPS that went dark with an empty battery is still not back on its input: no "cleared"
    assert not [a for a in sim.alarms if a["kind"] == "ups_on_battery" and not a["active"]]
    # at a steady discharge the charge falls linearly, so it passes 25 % at 75 % of the runtime
    low = _raised(sim, "ups_low_soc", "UPS-1B")
    assert len(low) == 1 and low[0]["t_s"] - t_loss == pytest.approx(0.75 * runtime, rel=0.05)


def test_generator_fails_in_the_demo_as_built_the_racks_shut_down_thermally_first():
    # the CRAHs and the chiller are not on UPS in the small demo: with the utility gone and no
    # generator the hall has no cooling, the inlets pass critical (37 C) and the racks shut down
    # within minutes, long before the ~20 min battery runtime
    sim, inc = _sim("utility-loss-generator-fails")
    summary = sim.run(300.0, dt_s=2.0)
    assert summary.racks_down and max(summary.racks_down.values()) < 300.0
    down = _raised(sim, "rack_down")
    assert down
    for a in down:
        assert " shut down at " in a["message"]
        kinds = [c["kind"] for c in a["causes"]]
        assert kinds[-1] == "utility_loss" and "unit_stop" in kinds
        assert a["message"].endswith("<- utility loss at 00:00:10 (injected).")


def test_pdu_a_failure_overloads_b_until_its_breaker_trips():
    sim, inc = _sim("pdu-a-failure-cascade")
    ratio = []

    def watch(s):
        n = s.power.node("PDU-B")
        ratio.append((s.t_s, n["load_w"] / n["capacity_w"], n["breaker_theta"]))

    sim.run(58.0, dt_s=2.0, on_step=watch)
    theta0 = ratio[-1][2]
    sim.run(300.0, dt_s=2.0, on_step=watch)
    trip = next(e for e in sim.events if e.kind == "breaker_trip_auto" and e.target == "PDU-B")
    over = [r for t, r, _ in ratio if 60.0 < t <= trip.t_s]
    r = float(np.mean(over))
    # I2t by hand: theta -> r^2 with tau = 120 s from theta0 = (load before / rating)^2; trip at
    # theta = 1.13^2: t = -tau ln((r^2 - 1.13^2)/(r^2 - theta0)); at r ~ 1.39 about 150 s
    expect = breaker_trip_time_s(r, theta0)
    assert r > 1.13
    assert trip.t_s - 60.0 == pytest.approx(expect, rel=0.05)
    assert _raised(sim, "node_load_100", "PDU-B") and _raised(sim, "node_load_80", "PDU-B")
    down = _raised(sim, "rack_down", "R-A01")
    # rack down <- PDU-B breaker trip <- PDU-B over capacity <- PDU-A failed (injected)
    steps = [(c["kind"], c["target"]) for c in down[0]["causes"]]
    assert steps == [("breaker_trip_auto", "PDU-B"), ("capacity_exceeded", "PDU-B"), ("fail", "PDU-A")]
    assert down[0]["message"].endswith("<- PDU-A failed at 00:01:00 (injected).")


def test_chiller_trip_the_storage_tank_rides_through():
    sim, inc = _sim("chiller-trip-storage")
    cp = sim.cplant
    unmet = []

    def watch(s):
        unmet.append(float(s.cplant.state.flows[3]))

    sim.run(60.0, dt_s=5.0)
    t0 = cp.chw_supply_c
    summary = sim.run(600.0, dt_s=5.0, on_step=watch)
    # loop + tank are one mixed node: C = rho c (V_loop + V_tank) = 998 * 4180 * (40 + 200) m3
    # = 1.0012e9 J/K, so ~3 MW of unmet heat warms it only ~1.8 K in 10 minutes (the 40 m3 loop
    # alone: ~11 K)
    c = RHO_WATER * CP_WATER * (40.0 + 200.0)
    assert c == pytest.approx(1.0012e9, rel=1e-3)
    rise = cp.chw_supply_c - t0
    assert rise == pytest.approx(sum(unmet) * 5.0 / c, rel=0.02)
    assert 0.5 < rise < 5.0
    assert summary.first_over_allowable_s is None and not summary.racks_down
    stops = [e for e in sim.events if e.kind == "chiller_stop"]
    assert {e.target for e in stops} == {"CH-1", "CH-2", "CH-3"}


def test_cdu_pump_failure_takes_down_only_its_pod_row():
    sim, inc = _sim("cdu-pump-failure")
    sim.run(240.0, dt_s=5.0)
    down = {a["id"]: a for a in _raised(sim, "rack_down")}
    row_p = {r.id for r in sim.hall.racks if r.cdu == "CDU-1"}
    assert len(row_p) == 8 and set(down) == row_p
    for a in down.values():
        assert a["causes"][-1]["kind"] == "cdu_pump_fail" and a["causes"][-1]["target"] == "CDU-1"
        assert a["message"].endswith("CDU-1 pump failed at 00:01:00 (injected).")
    assert _raised(sim, "unit_failed", "CDU-1")


def test_ai_training_swing_moves_the_pod_power_by_the_curve():
    sim, inc = _sim("ai-training-swing")
    pod = np.array([i for i, r in enumerate(sim.hall.racks) if r.row in ("P", "Q")])
    samples = {}

    def watch(s):
        samples[round(s.t_s)] = (float(s.rack_power_w[pod].sum()), s.rack_inlet_c[pod].copy())

    sim.run(240.0, dt_s=5.0, on_step=watch)
    from dctwin.twin.physics.it import power_airflow

    # a step uses the utilization set at its start: the steps ending at 90 s and 210 s ran at 90 %
    # (set at 60 s, 180 s), those ending at 60 s and 180 s at 50 % (set at 30 s, 150 s). The pod's
    # power is then the OpenStudio curve at those utilizations (no throttling: inlets stay normal)
    for t_hi, t_lo in ((90, 60), (210, 180)):
        p_hi, in_hi = samples[t_hi]
        p_lo, in_lo = samples[t_lo]
        inlet = sim.rack_inlet_c.copy()
        inlet[pod] = in_hi
        want_hi = power_airflow(sim.ra, np.full(sim.ra.n, 0.9), inlet)[0][pod].sum()
        inlet[pod] = in_lo
        want_lo = power_airflow(sim.ra, np.full(sim.ra.n, 0.5), inlet)[0][pod].sum()
        assert p_hi - p_lo == pytest.approx(want_hi - want_lo, rel=0.03)
        assert p_hi > p_lo
    # a load that swings every 30 s raises each alarm at most once (hysteresis, no chatter)
    keys = [(a["kind"], a["id"]) for a in sim.alarms if a["active"]]
    assert len(keys) == len(set(keys))
