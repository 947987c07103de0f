"""Chilled-water plant: ride-through, restart delay, economizer, chiller curves, CDUs, outdoor profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from power_sites import plant_site
from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import CoolingUnit, Outdoor
from dctwin.twin.physics.plant import CoolingPlant, OutdoorProfile, read_outdoor_csv
from dctwin.twin.physics.power import PowerSystem

RHO_CP = 998.0 * 4180.0   # J/(m3 K)


def _rec(plant, t, kind, target, **details):
    return plant.log.record(t, kind, target, **details)


def steps(plant, n, q_w, dt_s=1.0, events=None, **flags):
    out = []
    for _ in range(n):
        t = float(plant.state.t_s[0])
        evs = [_rec(plant, t, k, tg, **d) for (k, tg, d) in (events or {}).get(t, [])]
        out += plant.step(dt_s, q_w, events_in=evs, **flags)
    return out


# ------------------------------------------------------------------ ride-through


def test_chiller_trip_with_storage_loop_warms_at_q_over_loop_plus_tank():
    # loop 10 m3 + tank 40 m3: C = 998*4180*50 = 2.0858e8 J/K; Q = 500 kW -> 2.3971e-3 K/s,
    # +1.438 K after 600 s. Without the tank: C = 4.1716e7 J/K, 5x faster (1.1986e-2 K/s).
    for tank, vol in ((40.0, 50.0), (0.0, 10.0)):
        cp = CoolingPlant(plant_site(loop_m3=10.0, tank_m3=tank, chiller_kw=600.0))
        steps(cp, 5, 500e3)
        assert cp.chw_supply_c == pytest.approx(12.0, abs=1e-9)
        evs = steps(cp, 600, 500e3, events={5.0: [("fail", "CH-1", {})]})
        rate = 500e3 / (RHO_CP * vol)
        assert cp.chw_supply_c - 12.0 == pytest.approx(600 * rate, rel=1e-9)
        assert [e.kind for e in evs][:2] == ["chiller_stop", "capacity_exceeded"]
        assert cp.log.get(evs[0].cause).kind == "fail"
    assert 500e3 / (RHO_CP * 50) == pytest.approx(2.3971e-3, rel=1e-4)


def test_tank_ride_through_time_is_v_rho_cp_dt_over_q():
    # usable ΔT 6 K, V = 10 + 40 m3, Q = 500 kW: t = 50*998*4180*6/500e3 = 2503.0 s
    cp = CoolingPlant(plant_site(loop_m3=10.0, tank_m3=40.0))
    t_ride = 50 * RHO_CP * 6.0 / 500e3
    assert t_ride == pytest.approx(2503.0, abs=0.1)
    steps(cp, 1, 500e3, events={0.0: [("fail", "CH-1", {})]})
    n = 1
    while cp.chw_supply_c < 12.0 + 6.0:
        steps(cp, 1, 500e3)
        n += 1
    assert t_ride <= n <= t_ride + 1.0


def test_chiller_restarts_after_its_delay_when_power_returns_and_loop_recovers():
    cp = CoolingPlant(plant_site(loop_m3=10.0, chiller_kw=600.0, restart_s=300.0))
    off = np.zeros(1, bool)
    on = np.ones(1, bool)
    evs = []
    back_at = None
    for k in range(700):
        evs += cp.step(1.0, 300e3, chiller_powered=off if k < 10 else on)
        if k == 100:
            # power back at t = 10; still waiting for the delay: loop warming at Q/C
            assert cp.state.ch_run[0] == 0
            assert cp.chw_supply_c - 12.0 == pytest.approx(101 * 300e3 / (RHO_CP * 10), rel=1e-9)
        if back_at is None and k > 310 and cp.chw_supply_c <= 12.0 + 1e-9:
            back_at = cp.state.t_s[0]
    restart = [e for e in evs if e.kind == "chiller_restart"]
    assert len(restart) == 1 and restart[0].t_s == 10.0 + 300.0
    assert cp.log.get(restart[0].cause).kind == "chiller_stop"
    # 310 s x 300 kW = 93e6 J into C = 4.1716e7 J/K (+2.229 K). Available capacity at 25 C outdoor:
    # Tchw clamped to 8.89, ECWT 22: CAPFT = 1.250417 -> 750.25 kW, so 450.25 kW spare:
    # back at the setpoint 93e6/450.25e3 = 206.6 s after the restart, at t = 516.6 s.
    assert cp.state.ch_avail_w[0] == pytest.approx(600e3 * 1.250417, rel=1e-6)
    t_back = 310.0 + 310 * 300e3 / (600e3 * 1.2504171650 - 300e3)
    assert t_back == pytest.approx(516.6, abs=0.1)
    assert t_back <= back_at <= t_back + 1.0
    assert cp.chw_supply_c == pytest.approx(12.0, abs=1e-9)


def test_chiller_stop_cause_points_at_the_power_event():
    site = plant_site(with_power=True)
    ps = PowerSystem(site)
    cp = CoolingPlant(site, log=ps.log)
    load = ps.consumer_load(chiller_w=np.array([50e3]), pump_w=np.array([5e3]))
    ps.settle(load)
    ev = ps.log.record(0.0, "fail", "SWB")
    ps.step(1.0, load, [ev])
    evs = cp.step(1.0, 200e3, chiller_powered=ps.chiller_on, pump_powered=ps.pump_on, power=ps)
    stop = [e for e in evs if e.kind == "chiller_stop"][0]
    assert [e.kind for e in ps.log.chain(stop)] == ["chiller_stop", "unit_stop", "node_dark", "fail"]
    assert cp.state.pump_p_w[0] == 0.0 and cp.state.flows[0] == 0.0   # no chilled-water flow


# ------------------------------------------------------------------ economizer


def test_economizer_on_when_cold_off_when_warm_with_hysteresis():
    # setpoint 12, approach 5, margin 1: on when T_out + 5 <= 11 (T_out <= 6), off when T_out + 5 > 12 (T_out > 7)
    cp = CoolingPlant(plant_site(outdoor_c=2.0, economizer=True))
    evs = steps(cp, 3, 300e3)
    assert [e.kind for e in evs] == ["economizer_on"] and cp.economizer_on
    assert cp.state.ch_q_w.sum() == 0.0 and cp.chiller_power_w.sum() == 0.0
    assert cp.state.flows[2] == pytest.approx(300e3)
    evs = steps(cp, 3, 300e3, events={3.0: [("set_outdoor_c", "plant", {"c": 6.5})]})
    assert cp.economizer_on and not evs                       # inside the band: stays on
    evs = steps(cp, 3, 300e3, events={6.0: [("set_outdoor_c", "plant", {"c": 7.5})]})
    assert [e.kind for e in evs] == ["economizer_off"] and not cp.economizer_on
    evs = steps(cp, 3, 300e3, events={9.0: [("set_outdoor_c", "plant", {"c": 6.5})]})
    assert not cp.economizer_on and not evs                   # inside the band: stays off
    assert cp.chiller_power_w.sum() > 0


def test_economizer_disabled_never_runs():
    cp = CoolingPlant(plant_site(outdoor_c=-10.0, economizer=False))
    steps(cp, 3, 300e3)
    assert not cp.economizer_on and cp.chiller_power_w.sum() > 0


# ------------------------------------------------------------------ chiller curves


@pytest.mark.parametrize("ecwt,cop", [(18.0, 8.1), (24.0, 6.8), (29.44, 5.9), (32.0, 5.6), (35.0, 5.2)])
def test_york_full_load_cop_matches_the_reference_table(ecwt, cop):
    # physics-reference §5.2: full-load COP 8.1/6.8/5.9/5.6/5.2 at ECWT 18/24/29.4/32/35 C, CHWS 6.67 C,
    # COP_ref 5.96. ECWT = T_out - 3 K, so T_out = ECWT + 3.
    cp = CoolingPlant(plant_site(setpoint_c=6.67, outdoor_c=ecwt + 3.0, cop=5.96, chiller_kw=1055.0))
    steps(cp, 1, 1.0)
    avail = cp.state.ch_avail_w[0]
    steps(cp, 1, avail)                           # exactly full load
    assert cp.state.ch_q_w[0] == pytest.approx(avail, rel=1e-9)
    assert avail / cp.chiller_power_w[0] == pytest.approx(cop, rel=0.02)


@pytest.mark.parametrize("plr,cop", [(0.2, 3.6), (0.4, 5.5), (0.6, 6.1), (0.8, 6.2), (1.0, 6.0)])
def test_york_part_load_cop_matches_the_reference_table(plr, cop):
    cp = CoolingPlant(plant_site(setpoint_c=6.67, outdoor_c=29.44 + 3.0, cop=5.96, chiller_kw=1055.0))
    steps(cp, 1, 1.0)
    q = plr * cp.state.ch_avail_w[0]
    steps(cp, 1, q)
    assert q / cp.chiller_power_w[0] == pytest.approx(cop, rel=0.03)


def test_air_cooled_chiller_at_rated_conditions():
    # ΔT = 0 at T_out 35, Tchw 6.67: CapRat = 0.944836, FLPR = 2.333 - 1.975*0.944836 + 0.6121*0.944836²
    # = 1.013380; full load frac = 0.03303 + 0.6852 + 0.2818 = 1.00003; COP = 3/(1.00003*1.01338) = 2.9603
    cp = CoolingPlant(plant_site(setpoint_c=6.67, outdoor_c=35.0, kind="air_cooled", cop=3.0, chiller_kw=500.0))
    steps(cp, 1, 1.0)
    avail = cp.state.ch_avail_w[0]
    assert avail == pytest.approx(500e3 * 0.944836, rel=1e-9)
    steps(cp, 1, avail)
    assert avail / cp.chiller_power_w[0] == pytest.approx(3.0 / (1.00003 * 1.013380), rel=1e-5)


def test_chiller_power_rises_with_outdoor_temperature():
    powers = []
    for t_out in (10.0, 25.0, 38.0):
        for kind in ("water_cooled", "air_cooled"):
            cp = CoolingPlant(plant_site(outdoor_c=t_out, kind=kind, chiller_kw=800.0))
            steps(cp, 2, 400e3)
            powers.append((kind, t_out, cp.chiller_power_w[0]))
    for kind in ("water_cooled", "air_cooled"):
        p = [w for k, _, w in powers if k == kind]
        assert p[0] < p[1] < p[2]


# ------------------------------------------------------------------ CDUs


def test_cdu_pump_runs_only_when_powered_and_not_failed():
    site = plant_site()
    site.halls[0].cooling_units.append(CoolingUnit(id="CDU-1", kind="cdu", x_m=20.0, y_m=8.0, capacity_kw=200.0))
    cp = CoolingPlant(site)
    steps(cp, 1, 100e3)
    # pump power by default CDU_PUMP_W_PER_W = 0.01 of capacity: 2 kW
    assert cp.cdu_running.all() and cp.cdu_pump_power_w[0] == pytest.approx(2e3)
    assert cp.cdu_supply_c == pytest.approx(12.0 + 3.0)
    steps(cp, 1, 100e3, events={1.0: [("cdu_pump_fail", "CDU-1", {})]})
    assert not cp.cdu_running.any() and cp.cdu_pump_power_w[0] == 0.0
    steps(cp, 1, 100e3, events={2.0: [("repair", "CDU-1", {})]})
    assert cp.cdu_running.all()
    steps(cp, 1, 100e3, cdu_powered=np.zeros(1, bool))
    assert not cp.cdu_running.any()


# ------------------------------------------------------------------ outdoor


def test_outdoor_sine_peaks_at_peak_hour():
    prof = OutdoorProfile(Outdoor(kind="sine", c=20.0, amplitude_k=8.0, peak_hour=15.0))
    assert prof.at(15 * 3600.0) == pytest.approx(28.0)
    assert prof.at(3 * 3600.0) == pytest.approx(12.0)
    assert prof.at(9 * 3600.0) == pytest.approx(20.0, abs=1e-9)
    assert prof.at((15 + 24) * 3600.0) == pytest.approx(28.0)


def test_outdoor_csv_interpolates_and_reports_bad_lines(tmp_path):
    good = tmp_path / "t.csv"
    good.write_text("hour,c\n0,10\n2,20\n4,14\n")
    prof = OutdoorProfile(Outdoor(kind="csv", path=str(good)))
    assert prof.at(3600.0) == pytest.approx(15.0)       # halfway between 10 at 0 h and 20 at 2 h
    assert prof.at(3 * 3600.0) == pytest.approx(17.0)
    assert prof.at(99 * 3600.0) == pytest.approx(14.0)   # held after the end
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,c\n0,10\n60,warm\n")
    with pytest.raises(InputError, match="line 3"):
        read_outdoor_csv(str(bad))
    back = tmp_path / "back.csv"
    back.write_text("0,10\n60,11\n30,12\n")
    with pytest.raises(InputError, match="times must increase"):
        read_outdoor_csv(str(back))
    with pytest.raises(InputError, match="cannot read"):
        read_outdoor_csv(str(tmp_path / "missing.csv"))


def test_plant_follows_the_outdoor_profile_in_time():
    site = plant_site()
    site.plant.outdoor = Outdoor(kind="sine", c=20.0, amplitude_k=8.0, peak_hour=15.0)
    cp = CoolingPlant(site)
    steps(cp, 1, 100e3, dt_s=15 * 3600.0)
    assert cp.outdoor_c == pytest.approx(20.0 + 8.0 * math.cos(2 * math.pi * -15 / 24))
    steps(cp, 1, 100e3, dt_s=60.0)
    assert cp.outdoor_c == pytest.approx(28.0)


# ------------------------------------------------------------------ kernels and determinism


def _scenario(backend):
    site = plant_site(loop_m3=5.0, tank_m3=20.0, chillers=2, chiller_kw=400.0, economizer=True, outdoor_c=12.0)
    site.plant.outdoor = Outdoor(kind="sine", c=4.0, amplitude_k=6.0, peak_hour=9.0)
    cp = CoolingPlant(site, backend=backend)
    powered = np.ones(2, bool)
    for k in range(600):
        t = float(cp.state.t_s[0])
        evs = []
        if k == 50:
            evs = [cp.log.record(t, "fail", "CH-1")]
        if k == 400:
            evs = [cp.log.record(t, "repair", "CH-1")]
        powered[1] = not (100 <= k < 130)
        cp.step(60.0 if k < 500 else 1.0, 500e3 + 200e3 * math.sin(k / 30), chiller_powered=powered, events_in=evs)
    return cp


def test_plant_numba_equals_numpy():
    a, b = _scenario("numba"), _scenario("numpy")
    ka, kb = a.keyframe(), b.keyframe()
    for k in ka:
        np.testing.assert_allclose(ka[k], kb[k], rtol=1e-12, atol=1e-9, err_msg=k)
    assert [(e.kind, e.target, e.t_s) for e in a.log] == [(e.kind, e.target, e.t_s) for e in b.log]
    assert {"economizer_on", "economizer_off", "chiller_stop", "chiller_restart"} <= {e.kind for e in a.log}


def test_plant_keyframe_restore_is_bit_identical():
    cp = CoolingPlant(plant_site(loop_m3=5.0, tank_m3=10.0))
    steps(cp, 20, 400e3, events={3.0: [("fail", "CH-1", {})]})
    key = cp.keyframe()
    steps(cp, 50, 450e3)
    after = cp.keyframe()
    cp.restore(key)
    steps(cp, 50, 450e3)
    for k, v in cp.keyframe().items():
        assert np.array_equal(v, after[k], equal_nan=True), k


def test_no_nan_with_zero_volume_and_no_chillers():
    site = plant_site(loop_m3=0.0, chillers=0)
    cp = CoolingPlant(site)
    steps(cp, 10, 1e6)
    assert math.isfinite(cp.chw_supply_c) and cp.chw_supply_c > 12.0
    assert np.isfinite(cp.state.flows).all()
