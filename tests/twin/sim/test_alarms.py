"""Alarm monitor: hysteresis (no chatter), explanations, keyframes, recording."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.alarms import AlarmMonitor, explain, hms, hysteresis, unit_supply_share
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.physics import thermal


def _run_hysteresis(values, raise_at, clear_at, dt=1.0, hold_s=60.0):
    active = np.zeros(1, np.uint8)
    hold = np.zeros(1)
    raised, cleared = [], []
    for k, v in enumerate(values):
        v = np.array([v])
        r, c = hysteresis(active, hold, v > raise_at, v < clear_at, dt, hold_s)
        if len(r):
            raised.append(k)
        if len(c):
            cleared.append(k)
    return raised, cleared


def test_a_value_hovering_at_the_threshold_raises_once_and_does_not_chatter():
    # 27 C +- 0.3 K for 10 minutes: crosses the raise threshold 300 times
    t = np.arange(600)
    values = 27.0 + 0.3 * np.where(t % 2 == 0, 1.0, -1.0)
    raised, cleared = _run_hysteresis(values, 27.0, 26.0)
    assert raised == [0] and cleared == []


def test_clears_only_after_the_hold_time_below_the_clear_threshold():
    # above for 10 s, then 30 s below the clear band (not enough), back in the dead band for
    # 20 s (resets the hold), then 60 s below: clears on the 60th second below
    values = [28.0] * 10 + [25.0] * 30 + [26.5] * 20 + [25.0] * 70
    raised, cleared = _run_hysteresis(values, 27.0, 26.0)
    assert raised == [0]
    assert cleared == [10 + 30 + 20 + 59]
    # and a new excursion raises again
    raised2, _ = _run_hysteresis(values + [28.0], 27.0, 26.0)
    assert raised2 == [0, len(values)]


def test_hms_formats_times_of_the_run():
    assert hms(0) == "00:00:00"
    assert hms(252.0) == "00:04:12"
    assert hms(3600 + 21 * 60 + 40.7) == "01:21:40"


def test_explanation_is_one_sentence():
    causes = [{"seq": 3, "t_s": 60.0, "kind": "fail", "target": "CRAH-2", "text": "CRAH-2 failed",
               "injected": True, "supply_share": 0.64}]
    s = explain("R-A01 inlet 33.1 °C over allowable 32 °C at 00:04:12", causes)
    assert s == ("R-A01 inlet 33.1 °C over allowable 32 °C at 00:04:12: CRAH-2, which supplied 64 % "
                 "of its inlet air, failed at 00:01:00 (injected).")
    # one sentence: no sentence break inside, one full stop at the end
    assert ". " not in s and s.endswith(").") and "\n" not in s
    assert explain("CRAH-2 not running at 00:01:02", []) == "CRAH-2 not running at 00:01:02."


@pytest.fixture(scope="module")
def small_sim():
    sim = Simulation(demos.load_demo("small"), grid_m=0.6)
    sim.solve_steady()
    return sim


def test_unit_shares_of_a_raised_floor_add_up_to_the_supply_fraction(small_sim):
    # both CRAHs blow into the floor: their shares are q_j / sum(q) of the tile air each, so
    # together they are exactly the rack's direct supply fraction
    sim = small_sim
    plenum = np.asarray(sim.air.unit_plenum, bool)
    assert plenum.all()
    uq = sim.state.flow_unit_q
    s0 = unit_supply_share(sim.air, sim.flow, uq, 0, plenum)
    s1 = unit_supply_share(sim.air, sim.flow, uq, 1, plenum)
    direct = thermal.supply_fraction(sim.air, sim.flow)
    assert np.all(s0 > 0) and np.all(s1 > 0)
    np.testing.assert_allclose(s0 + s1, direct, atol=1e-4)


def test_steady_state_of_the_demo_raises_nothing_major(small_sim):
    assert all(a["severity"] == "warning" for a in small_sim.alarms)


def test_keyframe_restore_reproduces_the_alarms():
    site = demos.load_demo("small")
    sim = Simulation(site, grid_m=0.6, dt_s=2.0)
    sim.solve_steady()
    sim.schedule(20.0, "fail", "CRAH-2")
    sim.run(70.0)
    k = sim.keyframe()
    n0 = len(sim.alarms)
    assert n0 == int(k["alarm_count"]) and any(a["kind"] == "unit_failed" for a in sim.alarms)
    sim.run(200.0)
    live = [(a["t_s"], a["id"], a["kind"], a["message"]) for a in sim.alarms]
    assert len(live) > n0
    sim.restore(k)
    assert len(sim.alarms) == n0
    sim.run(200.0)
    assert [(a["t_s"], a["id"], a["kind"], a["message"]) for a in sim.alarms] == live
    # a fresh simulation restored from the keyframe (a replay) raises the same later alarms
    # and keyframes the same count
    other = Simulation(site, grid_m=0.6, dt_s=2.0)
    other.schedule(20.0, "fail", "CRAH-2")
    other.restore(k)
    assert int(other.keyframe()["alarm_count"]) == n0
    other.run(200.0)
    assert [(a["t_s"], a["id"], a["kind"]) for a in other.alarms] == [x[:3] for x in live[n0:]]


def test_recorder_stores_the_alarms(tmp_path):
    from dctwin.twin.store import Project

    site = demos.load_demo("small")
    sim = Simulation(site, grid_m=0.6, dt_s=2.0)
    sim.solve_steady()
    sim.schedule(10.0, "fail", "CRAH-2")
    from dctwin.twin.store import record_run

    rec = record_run(tmp_path / "run.dctwin", site, sim)
    sim.run(120.0, on_step=rec.on_step)
    rec.close(sim)
    raised = [a for a in sim.alarms if a["active"]]
    with Project.open(tmp_path / "run.dctwin") as p:
        rows = p.recording().alarms()
    assert len(rows) == len(sim.alarms) and raised
    crah = [r for r in rows if r["target"] == "CRAH-2" and r["kind"] == "unit_failed"]
    assert crah and crah[0]["message"].endswith("CRAH-2 failed at 00:00:10 (injected).")
    assert crah[0]["cause"] == next(e.seq for e in sim.events if e.kind == "fail")


def test_monitor_is_created_for_a_site_without_power_or_plant():
    site = demos.synthetic_site(6)
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    assert isinstance(sim.alarm_monitor, AlarmMonitor)
    sim.run(4.0)
    assert all(a["kind"] not in ("ups_on_battery", "node_load_80") for a in sim.alarms)


def _drive(sim, inlet_of_t, t_end, dt=10.0):
    """Feed the monitor inlet temperatures (C) as a function of time, nothing else changing."""
    mon = sim.alarm_monitor
    mon.reset()
    raised = []
    t = 0.0
    while t < t_end - 1e-9:
        t += dt
        sim.t_s = t
        sim.rack_inlet_c = np.full(sim.ra.n, inlet_of_t(t))
        new = mon.update(dt, sim.state, sim.running_units())
        raised += [(a["t_s"], a["id"]) for a in new if a["active"] and a["kind"] == "inlet_rise"]
    return raised


def test_rate_of_rise_alarm_5_k_in_15_min():
    sim = Simulation(demos.load_demo("small"), grid_m=0.6)
    sim.solve_steady()
    # 4 K per 15 min for an hour: any 15-min window rises 4 K (+ at most one minute's 0.27 K
    # through the per-minute minima): never over 5 K
    assert _drive(sim, lambda t: 20.0 + 4.0 * t / 900.0, 3600.0) == []
    # 0.6 K/min = 0.01 K/s: the window's minimum is the first sample (t = 10 s), so the rise
    # 0.01 (t - 10) passes 5 K after t = 510 s: at the next 10-s step, t = 520 s, every rack at
    # once, each raised once
    raised = _drive(sim, lambda t: 20.0 + 0.6 * t / 60.0, 1200.0)
    assert {t for t, _ in raised} == {520.0} and len(raised) == sim.ra.n
    sim.t_s = 0.0


def test_unit_shares_of_a_hall_without_plenum_superpose_to_the_supply_fraction():
    # the tracer is linear: releasing it at every unit's supply face at once is the direct supply
    # fraction, so the units' shares add up to it; a CDU (no air supply) supplies none
    sim = Simulation(demos.load_demo("ai-hall"), grid_m=1.2)
    sim.solve_steady()
    plenum = np.asarray(sim.air.unit_plenum, bool)
    assert not plenum.any()
    shares = np.array([unit_supply_share(sim.air, sim.flow, sim.state.flow_unit_q, j, plenum) for j in range(sim.ua.n)])
    np.testing.assert_allclose(shares.sum(axis=0), thermal.supply_fraction(sim.air, sim.flow), atol=1e-4)
    cdu = [j for j, u in enumerate(sim.hall.cooling_units) if u.kind == "cdu"]
    assert cdu and np.all(shares[cdu] == 0.0)
    assert np.all((shares >= 0) & (shares <= 1))
