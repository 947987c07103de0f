"""Rack model: curves, thermal mass, energy, protection, liquid cooling, events, extreme input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.twin.model.events import EventLog
from dctwin.twin.model.layout import Rack
from dctwin.twin.physics import constants as K
from dctwin.twin.physics import it

RHOCP = K.RHO_CP_AIR


def _ra(*racks: Rack) -> it.RackArrays:
    return it.RackArrays.from_racks(list(racks))


def _run(ra, st, n, inlet, dt=1.0, **kw):
    """Step n times at constant inputs; returns (final step, list of (t_end, code array))."""
    codes = []
    step = None
    for k in range(n):
        step = it.rack_step(ra, st, kw.get("u", 1.0), inlet, dt, powered=kw.get("powered"),
                            cdu_ok=kw.get("cdu_ok"))
        st = step.state
        codes.append(((k + 1) * dt, step.code.copy()))
    return step, codes


# --------------------------------------------------------------------------- curves


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_curves_are_one_at_design(backend):
    ra = _ra(Rack("R", it_kw=10.0))
    p, v, pf, pa, pl = it.power_airflow(ra, 1.0, K.DESIGN_INLET_C, backend=backend)
    assert p[0] == pytest.approx(10e3, rel=1e-12)
    assert v[0] == pytest.approx(1e-4 * 10e3, rel=1e-12)
    assert pf[0] == pytest.approx(K.FAN_FRACTION * 10e3, rel=1e-12)
    assert pl[0] == 0.0 and pa[0] == p[0]


def test_curves_follow_openstudio_slopes_and_fan_cube_law():
    ra = _ra(Rack("R", it_kw=10.0, fan_fraction=0.2))
    p, v, pf, _, _ = it.power_airflow(ra, 1.0, 32.5)
    flow = -1.025 + 0.9 + 0.05 * 32.5                     # 1.5
    cpu = -0.035289 + 1.0 + 0.0015684 * 32.5              # +1.5684 %
    assert v[0] == pytest.approx(1.0 * flow, rel=1e-12)
    assert pf[0] == pytest.approx(10e3 * 0.2 * flow ** 3, rel=1e-12)
    assert p[0] == pytest.approx(10e3 * 0.8 * cpu + pf[0], rel=1e-12)
    # utilization scales CPU power linearly (OpenStudio curve is linear in u)
    p_half, v_half, *_ = it.power_airflow(ra, 0.5, 22.5)
    assert v_half[0] == pytest.approx(0.55, rel=1e-12)
    assert p_half[0] == pytest.approx(10e3 * 0.8 * 0.5 + 10e3 * 0.2 * 0.55 ** 3, rel=1e-12)


def test_flow_fraction_is_clamped():
    ra = _ra(Rack("R", it_kw=10.0))
    _, v_lo, *_ = it.power_airflow(ra, 0.0, 10.0)
    _, v_hi, *_ = it.power_airflow(ra, 1.5, 60.0)
    assert v_lo[0] == pytest.approx(K.FLOW_FRAC_MIN * 1.0)
    assert v_hi[0] == pytest.approx(K.FLOW_FRAC_MAX * 1.0)


def test_liquid_fraction_splits_heat_and_design_airflow():
    ra = _ra(Rack("L", it_kw=100.0, liquid_fraction=0.85))
    p, v, pf, pa, pl = it.power_airflow(ra, 1.0, 22.5)
    assert pl[0] == pytest.approx(0.85 * p[0]) and pa[0] == pytest.approx(0.15 * p[0])
    assert v[0] == pytest.approx(1e-4 * 15e3)
    # fan share scales with the air share by default
    assert pf[0] == pytest.approx(K.FAN_FRACTION * 0.15 * 100e3)


def test_steady_exhaust_is_inlet_plus_heat_over_flow():
    ra = _ra(Rack("R", it_kw=8.0), Rack("Q", it_kw=20.0, airflow_m3s=1.0))
    s = it.rack_steady(ra, [1.0, 0.7], [22.5, 27.0])
    np.testing.assert_allclose(s.exhaust_c, s.inlet_c + s.air_power_w / (RHOCP * s.airflow_m3s), rtol=1e-13)
    assert s.exhaust_c[0] - 22.5 == pytest.approx(1.0 / (RHOCP * 1e-4), rel=1e-12)  # ≈ 8.35 K
    np.testing.assert_allclose(s.air_heat_w, s.air_power_w)


# --------------------------------------------------------------------------- thermal mass


def test_thermal_mass_relaxes_with_tau_and_any_dt_gives_the_same_answer():
    ra = _ra(Rack("R", it_kw=10.0))
    v = 1.0
    g = ra.eps[0] * RHOCP * v
    tau = ra.c_s_j_per_k[0] / g
    assert 120.0 < tau < 600.0  # "a few minutes"
    st0 = it.RackState.initial(ra, 22.5)
    fine, _ = _run(ra, st0, int(round(tau)), 22.5, dt=tau / round(tau))
    coarse = it.rack_step(ra, st0, 1.0, 22.5, tau)
    rise = 10e3 / g
    assert fine.state.server_c[0] - 22.5 == pytest.approx(rise * (1 - math.exp(-1)), rel=1e-9)
    assert coarse.state.server_c[0] == pytest.approx(fine.state.server_c[0], rel=1e-12)
    late = it.rack_step(ra, coarse.state, 1.0, 22.5, 30 * tau)
    late = it.rack_step(ra, late.state, 1.0, 22.5, 1.0)  # exhaust_c is a step mean: look over a short step
    steady = it.rack_steady(ra, 1.0, 22.5)
    assert late.exhaust_c[0] == pytest.approx(steady.exhaust_c[0], abs=1e-6)
    assert late.state.server_c[0] == pytest.approx(steady.state.server_c[0], abs=1e-6)


def test_energy_in_equals_stored_plus_carried_away():
    ra = _ra(Rack("R", it_kw=12.0), Rack("S", it_kw=150.0), Rack("L", it_kw=80.0, liquid_fraction=0.8))
    rng = np.random.default_rng(7)
    st = it.RackState.initial(ra, 20.0)
    s0 = st.server_c.copy()
    e_in = np.zeros(3)
    e_out = np.zeros(3)
    for _ in range(400):
        dt = float(rng.uniform(0.2, 10.0))
        step = it.rack_step(ra, st, rng.uniform(0.2, 1.2, 3), rng.uniform(18, 30, 3), dt)
        e_in += step.air_power_w * dt
        e_out += step.air_heat_w * dt
        # heat carried by the air stream equals ρ cp V (T_out − T_in)
        np.testing.assert_allclose(step.air_heat_w, RHOCP * step.airflow_m3s * (step.exhaust_c - step.inlet_c),
                                   rtol=1e-10, atol=1e-6)
        st = step.state
    stored = ra.c_s_j_per_k * (st.server_c - s0)
    np.testing.assert_allclose(e_in, stored + e_out, rtol=1e-10)


# --------------------------------------------------------------------------- protection


def test_throttle_at_exact_thresholds():
    ra = _ra(*(Rack(f"R{i}", it_kw=10.0, ashrae_class="A2") for i in range(5)))
    inlet = np.array([35.0, 35.0 + 1e-9, 37.5, 40.0, 44.0])
    f = it.throttle_factor(ra, inlet)
    assert f[0] == 1.0
    assert f[1] < 1.0
    assert f[2] == pytest.approx(0.75, rel=1e-12)
    assert f[3] == pytest.approx(0.5, rel=1e-12)
    assert f[4] == 0.5
    step = it.rack_step(ra, it.RackState.initial(ra, 30.0), 1.0, inlet, 1.0)
    np.testing.assert_array_equal(step.code, [0, 1, 1, 1, 1])
    p_full, *_ = it.power_airflow(ra, 1.0, inlet)
    cpu_full = p_full - step.fan_w
    np.testing.assert_allclose(step.power_w - step.fan_w, cpu_full * f, rtol=1e-12)


def test_throttle_flag_has_hysteresis():
    ra = _ra(Rack("R", it_kw=10.0, ashrae_class="A2"))
    st = it.RackState.initial(ra, 30.0)
    codes = []
    for t_in in [35.2, 34.8, 35.1, 34.7, 35.3, 34.6, 34.4, 35.05]:
        step = it.rack_step(ra, st, 1.0, t_in, 1.0)
        codes.append(int(step.code[0]))
        if t_in <= 35.0:
            assert step.throttle[0] == 1.0  # the power factor itself has no hysteresis
        st = step.state
    assert codes == [it.TR_THROTTLE, 0, 0, 0, 0, 0, it.TR_UNTHROTTLE, it.TR_THROTTLE]


@pytest.mark.parametrize("dt", [1.0, 10.0, 0.5])
def test_shutdown_after_exactly_the_dwell(dt):
    ra = _ra(Rack("R", it_kw=10.0, ashrae_class="A2"))
    n = int(round(90 / dt))
    last, codes = _run(ra, it.RackState.initial(ra, 30.0), n, 41.2, dt=dt)
    t_shut = [t for t, c in codes if c[0] == it.TR_SHUTDOWN]
    assert t_shut == [pytest.approx(60.0)]
    assert codes[0][1][0] == it.TR_THROTTLE
    assert last.power_w[0] == 0.0 and last.airflow_m3s[0] == 0.0 and last.air_heat_w[0] == 0.0
    assert last.states == ["shutdown"]


def test_dwell_timer_resets_when_inlet_drops():
    ra = _ra(Rack("R", it_kw=10.0, ashrae_class="A2"))
    st = it.RackState.initial(ra, 30.0)
    _, c1 = _run(ra, st, 59, 41.0)
    step = it.rack_step(ra, _run(ra, st, 59, 41.0)[0].state, 1.0, 39.0, 1.0)  # one second below critical
    _, c2 = _run(ra, step.state, 59, 41.0)
    assert not any(c[0] == it.TR_SHUTDOWN for _, c in c1 + c2)


def test_restart_after_delay_when_inlet_is_fine():
    ra = _ra(Rack("R", it_kw=10.0, ashrae_class="A2"))
    down, _ = _run(ra, it.RackState.initial(ra, 30.0), 60, 41.0)
    assert down.state.mode[0] == it.MODE_SHUTDOWN
    # still too hot: no restart however long
    hot, codes = _run(ra, down.state, 400, 36.0)
    assert not any(c[0] == it.TR_RESTART for _, c in codes)
    cool, codes = _run(ra, hot.state, 400, 30.0)
    t_restart = [t for t, c in codes if c[0] == it.TR_RESTART]
    assert t_restart == [pytest.approx(K.RESTART_DELAY_S)]
    assert cool.state.mode[0] == it.MODE_ON and cool.power_w[0] > 0


def test_power_loss_and_return():
    ra = _ra(Rack("R", it_kw=10.0))
    st = it.RackState.initial(ra, 22.0)
    lost = it.rack_step(ra, st, 1.0, 22.0, 1.0, powered=[0])
    assert lost.code[0] == it.TR_POWER_LOST and lost.power_w[0] == 0.0 and lost.states == ["unpowered"]
    still = it.rack_step(ra, lost.state, 1.0, 22.0, 1.0, powered=[0])
    assert still.code[0] == 0
    back, codes = _run(ra, still.state, 301, 22.0)
    assert [t for t, c in codes if c[0] == it.TR_RESTART] == [pytest.approx(300.0)]
    log = EventLog()
    ev = it.record_rack_events(log, 0.0, ra, lost)
    assert ev[0].kind == "rack_down"


def test_events_carry_conditions_and_causes():
    ra = _ra(Rack("R1", it_kw=10.0, ashrae_class="A2"), Rack("R2", it_kw=5.0))
    log = EventLog()
    root = log.record(0.0, "fail", "CRAH-1")
    st = it.RackState.initial(ra, 30.0)
    t = 0.0
    kinds = []
    for k in range(70):
        step = it.rack_step(ra, st, 1.0, [41.2, 22.0], 1.0)
        t += 1.0
        causes = {"R1": root.seq} if step.code[0] == it.TR_THROTTLE else None
        kinds += it.record_rack_events(log, t, ra, step, causes)
        st = step.state
    assert [e.kind for e in kinds] == ["throttle", "shutdown"]
    thr, shut = kinds
    assert thr.cause == root.seq and thr.target == "R1"
    assert thr.condition.startswith("inlet 41.2 °C above warning 35 °C")
    assert shut.condition == "inlet 41.2 °C above critical 40 °C for 60 s"
    assert shut.t_s == 60.0
    assert [e.seq for e in log.chain(shut)] == [shut.seq, thr.seq, root.seq]


# --------------------------------------------------------------------------- liquid cooling


def test_liquid_rack_with_failed_cdu_throttles_within_seconds_then_shuts_down():
    ra = _ra(Rack("L", it_kw=100.0, liquid_fraction=0.85, cdu="CDU-1"))
    steady = it.rack_steady(ra, 1.0, K.DESIGN_INLET_C)
    assert steady.state.coldplate_c[0] == pytest.approx(K.COOLANT_SUPPLY_C + K.COLDPLATE_RISE_K, rel=1e-12)
    np.testing.assert_allclose(steady.liquid_heat_w, 85e3 * steady.power_w / 100e3)
    st = steady.state
    events = {}
    for k in range(120):
        step = it.rack_step(ra, st, 1.0, 22.0, 1.0, cdu_ok=[0])
        if step.code[0]:
            events.setdefault(it.TRANSITION_KINDS[int(step.code[0])], k + 1.0)
        assert step.liquid_heat_w[0] == 0.0
        st = step.state
    assert events["throttle"] <= 15.0
    assert events["throttle"] < events["shutdown"] <= 30.0
    assert step.power_w[0] == 0.0
    log = EventLog()
    # the shutdown condition names the cold plate
    st2 = steady.state
    for k in range(40):
        s = it.rack_step(ra, st2, 1.0, 22.0, 1.0, cdu_ok=[0])
        evs = it.record_rack_events(log, k + 1.0, ra, s)
        st2 = s.state
    shut = [e for e in log if e.kind == "shutdown"][0]
    assert "cold plate" in shut.condition and "critical 95 °C" in shut.condition


def test_liquid_rack_with_working_cdu_holds_steady():
    ra = _ra(Rack("L", it_kw=100.0, liquid_fraction=0.85, cdu="CDU-1"))
    st = it.rack_steady(ra, 1.0, 22.0).state
    step, codes = _run(ra, st, 200, 22.0)
    assert not any(c.any() for _, c in codes)
    assert step.liquid_heat_w[0] == pytest.approx(step.liquid_power_w[0], rel=1e-9)


def test_overloaded_cdu_throttles_its_racks_to_its_capacity():
    from dctwin.twin.model.layout import CoolingUnit
    from dctwin.twin.physics import cooling_air as ca

    ra = _ra(Rack("L1", it_kw=100.0, liquid_fraction=0.85, cdu="CDU"),
             Rack("L2", it_kw=100.0, liquid_fraction=0.85, cdu="CDU"))
    ua = ca.UnitArrays.from_units([CoolingUnit("CDU", kind="cdu", capacity_kw=140.0)])
    rc = ca.rack_cdu_index(ua, ra.cdu_ids)
    steady = it.rack_steady(ra, 1.0, K.DESIGN_INLET_C)
    st, liq = steady.state, steady.liquid_power_w
    c0 = st.coldplate_c.copy()
    e_in = e_out = 0.0
    for _ in range(600):
        _, removed, _, ok, limit = ca.cdu_heat(ua, liq, rc)
        step = it.rack_step(ra, st, 1.0, K.DESIGN_INLET_C, 1.0, cdu_ok=ok, cdu_limit_w=limit)
        assert step.liquid_heat_w.sum() <= 140e3 * (1 + 1e-12)
        e_in += step.liquid_power_w.sum()
        e_out += step.liquid_heat_w.sum()
        st, liq = step.state, step.liquid_power_w
    assert step.states == ["throttled", "throttled"]
    assert step.liquid_heat_w.sum() == pytest.approx(140e3, rel=1e-3)
    assert step.liquid_power_w.sum() == pytest.approx(140e3, rel=1e-3)
    assert K.COLDPLATE_WARN_C < st.coldplate_c[0] < K.COLDPLATE_CRIT_C
    stored = float((ra.c_cp_j_per_k * (st.coldplate_c - c0)).sum())
    assert e_in == pytest.approx(e_out + stored, rel=1e-10)


def test_steady_with_failed_cdu_reports_shutdown():
    ra = _ra(Rack("L", it_kw=100.0, liquid_fraction=0.85, cdu="CDU-1"), Rack("A", it_kw=5.0))
    s = it.rack_steady(ra, 1.0, [22.0, 45.0], cdu_ok=[0, 1])
    assert s.states == ["shutdown", "critical"]
    assert s.power_w[0] == 0.0 and s.throttle[1] == 0.5


# --------------------------------------------------------------------------- robustness


def test_no_nan_on_extreme_input():
    racks = [Rack("Z", it_kw=0.0), Rack("B", it_kw=150.0), Rack("F", it_kw=10.0, airflow_m3s=0.0),
             Rack("L", it_kw=150.0, liquid_fraction=1.0), Rack("M", it_kw=20.0, thermal_mass_kj_per_k=0.0)]
    ra = _ra(*racks)
    st = it.RackState.initial(ra)
    for inlet in (-50.0, 0.0, 22.0, 60.0, 200.0):
        for dt in (0.0, 1e-9, 1.0, 3600.0):
            for backend in ("numba", "numpy"):
                s = it.rack_step(ra, st, [0.0, 1.5, 1.0, 1.0, 2.0], inlet, dt, powered=[1, 1, 1, 1, 0],
                                 cdu_ok=[1, 1, 1, 0, 1], backend=backend)
                for name in ("power_w", "airflow_m3s", "exhaust_c", "air_heat_w", "liquid_heat_w", "throttle"):
                    assert np.all(np.isfinite(getattr(s, name))), (name, inlet, dt, backend)
                assert np.all(np.isfinite(s.state.server_c)) and np.all(np.isfinite(s.state.coldplate_c))
                st = s.state
        ss = it.rack_steady(ra, 1.0, inlet)
        assert np.all(np.isfinite(ss.exhaust_c)) and np.all(np.isfinite(ss.power_w))


def test_keyframe_restore_is_bit_identical():
    ra = _ra(Rack("R", it_kw=10.0), Rack("L", it_kw=50.0, liquid_fraction=0.8))
    st = it.RackState.initial(ra, 25.0)
    for k in range(50):
        st = it.rack_step(ra, st, 0.9, [33.0 + 0.1 * k, 25.0], 1.0).state
    frame = st.as_dict()
    a = it.rack_step(ra, st, 0.9, [39.0, 25.0], 1.0)
    b = it.rack_step(ra, it.RackState.from_dict(frame), 0.9, [39.0, 25.0], 1.0)
    for name in ("power_w", "exhaust_c", "air_heat_w"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert all(np.array_equal(x, y) for x, y in zip(a.state.as_dict().values(), b.state.as_dict().values()))


def test_defaults_follow_the_class_and_reference():
    ra = _ra(Rack("A", it_kw=8.0, ashrae_class="A3"), Rack("B", it_kw=8.0, thermal_mass_kj_per_k=50.0))
    assert ra.warn_c.tolist() == [40.0, 32.0]
    assert ra.crit_c.tolist() == [45.0, 37.0]
    assert ra.c_s_j_per_k.tolist() == [160e3, 50e3]
    assert ra.dwell_s.tolist() == [60.0, 60.0]


def test_airflow_fixed_racks_ignore_their_inlet():
    """``Rack.airflow_fixed``: airflow_m3s and it_kw whatever the inlet (no fan curve, no throttling);
    a rack without it follows the fan curve (0.775 of airflow_m3s at 18 °C) and throttles when hot."""
    from dctwin.twin.model.layout import Rack
    from dctwin.twin.physics.it import RackArrays, RackState, power_airflow, rack_steady, rack_step

    racks = [Rack(id="F", it_kw=4.0, airflow_m3s=0.35, airflow_fixed=True), Rack(id="C", it_kw=4.0, airflow_m3s=0.35)]
    ra = RackArrays.from_racks(racks)
    for backend in ("numba", "numpy"):
        for t in (18.0, 22.5, 40.0):
            st = rack_steady(ra, 1.0, np.array([t, t]), backend=backend)
            assert st.airflow_m3s[0] == pytest.approx(0.35, rel=1e-12)
            assert st.power_w[0] == pytest.approx(4000.0, rel=1e-12)
            assert st.throttle[0] == 1.0 and st.state.throttled[0] == 0
            assert st.airflow_m3s[1] == pytest.approx(0.35 * (-0.125 + 0.05 * t), rel=1e-9)
        assert rack_steady(ra, 1.0, np.array([40.0, 40.0]), backend=backend).throttle[1] < 1.0
        p, v = power_airflow(ra, 0.5, np.array([18.0, 18.0]), backend=backend)[:2]
        assert v[0] == pytest.approx(0.35 * (-1.025 + 0.45 + 1.125), rel=1e-12)  # utilization still counts
        step = rack_step(ra, RackState.initial(ra, 40.0), 1.0, np.array([40.0, 40.0]), 1.0, backend=backend)
        assert step.power_w[0] == pytest.approx(4000.0, rel=1e-12) and step.state.throttled[0] == 0
        assert step.state.throttled[1] == 1 and step.code[0] == 0


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_power_now_is_what_the_next_step_draws_at_the_same_inputs(backend):
    """A state restored from a keyframe draws power before its next step: the power the step's own
    protection and curves give at the same inlet (and 0 for a rack that is down)."""
    ra = _ra(Rack("R", it_kw=10.0), Rack("H", it_kw=20.0), Rack("L", it_kw=50.0, liquid_fraction=0.8),
             Rack("D", it_kw=8.0))
    st = it.RackState.initial(ra, 22.0)
    inlet = np.array([24.0, 35.5, 25.0, 22.0])
    for _ in range(3):
        st = it.rack_step(ra, st, 0.8, inlet, 1.0, powered=[1, 1, 1, 0], backend=backend).state
    now = it.power_now(ra, st, 0.8, inlet, backend=backend)
    step = it.rack_step(ra, st, 0.8, inlet, 1.0, powered=[1, 1, 1, 0], backend=backend)
    assert now == pytest.approx(step.power_w, rel=1e-12)
    assert now[0] > 0 and 0 < now[1] < 20e3 and now[3] == 0.0  # H throttled by its hot inlet, D unpowered
    other = it.power_now(ra, st, 0.8, inlet, backend="numpy" if backend == "numba" else "numba")
    assert now == pytest.approx(other, rel=1e-12)
    steady = it.rack_steady(ra, 0.8, inlet[:3].tolist() + [22.0])
    assert it.power_now(ra, steady.state, 0.8, inlet[:3].tolist() + [22.0])[:3] == pytest.approx(steady.power_w[:3])
