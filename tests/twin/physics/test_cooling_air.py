"""Cooling units, air side: numba == numpy, capacity, chilled water, supply loop, fans, doors, CDUs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.twin.model.layout import CoolingUnit, Hall, Rack
from dctwin.twin.physics import _cooling_air_numba as nb
from dctwin.twin.physics import _cooling_air_numpy as ref
from dctwin.twin.physics import constants as K
from dctwin.twin.physics.codes import unit_params
from dctwin.twin.physics import cooling_air as ca

RHOCP = K.RHO_CP_AIR
N = 300
PRM = unit_params()


def _ua(*units: CoolingUnit, racks=()) -> ca.UnitArrays:
    return ca.UnitArrays.from_units(list(units), racks)


def _close(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-9)


# --------------------------------------------------------------------------- numba == numpy


@pytest.mark.parametrize("tau, dt", [(0.0, 1.0), (60.0, 1.0), (60.0, 600.0)])
def test_coil_agrees(tau, dt):
    rng = np.random.default_rng(11)
    v = rng.uniform(0, 12, N)
    v[:20] = 0.0
    cap = rng.uniform(0, 300e3, N)
    cap[20:30] = 0.0
    args = (rng.uniform(10, 50, N), v, rng.uniform(14, 27, N), cap, rng.uniform(5, 25, N), np.full(N, 3.0),
            rng.integers(0, 2, N).astype(np.int8), (rng.random(N) > 0.1).astype(np.int8),
            rng.uniform(0, 300e3, N), tau, dt, PRM)
    a = nb.coil_kernel(*args)
    b = ref.coil_kernel(*args)
    _close(a[:2], b[:2])
    np.testing.assert_array_equal(a[2], b[2])
    assert a[2].any() and not a[2].all()


def test_fan_kernels_agree():
    rng = np.random.default_rng(12)
    v = rng.uniform(0, 12, N)
    v[:20] = 0.0
    vd = rng.uniform(0, 10, N)
    vd[20:25] = 0.0
    fw = rng.uniform(0, 8e3, N)
    _close([nb.fan_power_kernel(v, vd, fw, PRM)], [ref.fan_power_kernel(v, vd, fw, PRM)])
    for tau in (0.0, 10.0):
        args = (rng.integers(0, 3, N).astype(np.int8), rng.uniform(0, 1, N), rng.integers(0, 2, N).astype(np.int8),
                rng.uniform(15, 40, N), np.full(N, 25.0), rng.uniform(0, 30, N), rng.choice([0.0, 12.5], N),
                0.1, 1.0, 1.0, tau, PRM)
        _close([nb.fan_speed_kernel(*args)], [ref.fan_speed_kernel(*args)])


def test_rdhx_and_cdu_agree():
    rng = np.random.default_rng(13)
    v = rng.uniform(0, 3, N)
    v[:10] = 0.0
    args = (rng.uniform(15, 60, N), v, rng.uniform(0, 60e3, N), rng.uniform(8, 25, N), rng.uniform(15, 30, N),
            rng.uniform(0.5, 0.9, N), rng.integers(0, 2, N).astype(np.int8), PRM)
    _close(nb.rdhx_kernel(*args), ref.rdhx_kernel(*args))
    nu = 7
    rc = rng.integers(-1, nu, N).astype(np.int32)
    cargs = (rng.uniform(0, 100e3, N), rc, rng.uniform(0, 3e6, nu), rng.integers(0, 2, nu).astype(np.int8))
    a = nb.cdu_kernel(*cargs)
    b = ref.cdu_kernel(*cargs)
    _close(a[:3], b[:3])
    np.testing.assert_array_equal(a[3], b[3])
    np.testing.assert_allclose(a[4], b[4], rtol=1e-12)
    assert np.isinf(a[4][rc < 0]).all() and np.isfinite(a[4][rc >= 0]).all()


# --------------------------------------------------------------------------- coil physics


def test_supply_at_setpoint_within_capacity():
    ua = _ua(CoolingUnit("C", kind="crah", airflow_m3s=8.0, capacity_kw=150.0, supply_setpoint_c=18.0))
    s = ca.unit_air_steady(ua, [28.0])
    assert s.supply_c[0] == 18.0
    assert s.duty_w[0] == pytest.approx(RHOCP * 8.0 * 10.0, rel=1e-12)
    assert s.limited[0] == 0


@pytest.mark.parametrize("kind", ["crah", "crac", "inrow"])
def test_supply_warms_past_capacity_with_duty_equal_capacity(kind):
    ua = _ua(CoolingUnit("C", kind=kind, airflow_m3s=5.0, capacity_kw=50.0, supply_setpoint_c=18.0))
    s = ca.unit_air_steady(ua, [35.0])
    assert s.duty_w[0] == pytest.approx(50e3, rel=1e-12)
    assert s.supply_c[0] == pytest.approx(35.0 - 50e3 / (RHOCP * 5.0), rel=1e-12)
    assert s.supply_c[0] > 18.0 and s.limited[0] == 1
    assert RHOCP * s.airflow_m3s[0] * (s.return_c[0] - s.supply_c[0]) == pytest.approx(s.duty_w[0], rel=1e-12)


def test_failed_unit_moves_no_air_and_removes_no_heat():
    ua = _ua(CoolingUnit("A", kind="crah", airflow_m3s=8.0, capacity_kw=150.0),
             CoolingUnit("B", kind="inrow", airflow_m3s=2.0, capacity_kw=40.0))
    st = ca.UnitState.initial(ua)
    for r in (ca.unit_air_steady(ua, [30.0, 30.0], running=[0, 1]),
              ca.unit_air_step(ua, st, [30.0, 30.0], 1.0, running=[0, 1])):
        assert r.airflow_m3s[0] == 0.0 and r.duty_w[0] == 0.0 and r.fan_w[0] == 0.0
        assert r.supply_c[0] == 30.0
        assert r.duty_w[1] > 0.0


def test_coil_cannot_beat_chilled_water():
    ua = _ua(CoolingUnit("W", kind="crah", airflow_m3s=4.0, capacity_kw=500.0, supply_setpoint_c=18.0),
             CoolingUnit("D", kind="crac", airflow_m3s=4.0, capacity_kw=500.0, supply_setpoint_c=18.0))
    s = ca.unit_air_steady(ua, [32.0, 32.0], chw_supply_c=[20.0, 20.0])
    assert s.supply_c[0] == pytest.approx(20.0 + K.COIL_APPROACH_K)
    assert s.limited[0] == 1
    assert s.supply_c[1] == 18.0  # DX: no chilled water
    ok = ca.unit_air_steady(ua, [32.0, 32.0], chw_supply_c=[12.0, 12.0])
    assert ok.supply_c[0] == 18.0 and ok.limited[0] == 0


def test_return_below_setpoint_is_not_heated():
    ua = _ua(CoolingUnit("C", kind="crah", airflow_m3s=8.0, capacity_kw=150.0, supply_setpoint_c=18.0))
    s = ca.unit_air_steady(ua, [16.0])
    assert s.duty_w[0] == 0.0 and s.supply_c[0] == 16.0


def test_supply_loop_is_first_order_and_settles_exactly():
    ua = _ua(CoolingUnit("C", kind="crah", airflow_m3s=8.0, capacity_kw=150.0, supply_setpoint_c=18.0))
    st = ca.UnitState.initial(ua)
    tau = K.SUPPLY_LOOP_TAU_S
    target = RHOCP * 8.0 * 10.0
    for _ in range(int(tau)):
        r = ca.unit_air_step(ua, st, [28.0], 1.0)
        st = r.state
    assert r.duty_w[0] == pytest.approx(target * (1 - math.exp(-1)), rel=1e-9)
    one = ca.unit_air_step(ua, ca.UnitState.initial(ua), [28.0], tau)
    assert one.duty_w[0] == pytest.approx(r.duty_w[0], rel=1e-9)
    for _ in range(40):
        r = ca.unit_air_step(ua, r.state, [28.0], 60.0)
    assert r.supply_c[0] == pytest.approx(18.0, abs=1e-9)


def test_fan_power_follows_ec_curve_and_scales_with_airflow():
    ua = _ua(CoolingUnit("C", kind="crah", airflow_m3s=8.5, capacity_kw=150.0),
             CoolingUnit("F", kind="crah", airflow_m3s=4.0, capacity_kw=80.0, fan_power_kw=3.0),
             CoolingUnit("D", kind="rdhx", rack="R", capacity_kw=30.0),
             CoolingUnit("P", kind="cdu", capacity_kw=500.0), racks=["R"])
    assert ua.fan_w_des[0] == pytest.approx(8.5 * 486.0 / 0.7)  # ≈ 5.9 kW (reference §5.1)
    assert ua.fan_w_des[1] == 3000.0 and ua.fan_w_des[2] == 0.0
    assert ua.fan_w_des[3] == pytest.approx(5e3)
    p = ca.fan_power(ua, [8.5, 2.0, 0.0, 0.0])
    assert p[0] == pytest.approx(ua.fan_w_des[0], rel=1e-12)
    c = K.EC_FAN_PLF
    plf = lambda f: (c[0] + c[1] * f + c[2] * f * f + c[3] * f ** 3) / sum(c)  # noqa: E731
    assert p[1] == pytest.approx(3000.0 * plf(0.5), rel=1e-12)
    assert 0.28 < p[1] / 3000.0 < 0.30
    assert ca.fan_power(ua, [0.1, 0.0, 0.0, 0.0])[0] == pytest.approx(ua.fan_w_des[0] * plf(0.05))


def test_fan_speed_control_rules():
    ua = _ua(CoolingUnit("T", kind="crah", airflow_m3s=8.0, capacity_kw=150.0, airflow_control="inlet_target"),
             CoolingUnit("P", kind="crah", airflow_m3s=8.0, capacity_kw=150.0, airflow_control="plenum_pressure"),
             CoolingUnit("X", kind="crah", airflow_m3s=8.0, capacity_kw=150.0))
    cool = ca.unit_air_steady(ua, [28.0] * 3, max_inlet_c=[22.0] * 3, plenum_pa=[20.0] * 3)
    np.testing.assert_allclose(cool.airflow_m3s, [8.0 * (1 - 0.1 * 3.0), 8.0 * (1 - 7.5 / 12.5), 8.0])
    cold = ca.unit_air_steady(ua, [28.0] * 3, max_inlet_c=[10.0] * 3, plenum_pa=[100.0] * 3)
    np.testing.assert_allclose(cold.airflow_m3s, [8.0 * K.FAN_SPEED_MIN, 8.0 * K.FAN_SPEED_MIN, 8.0])
    hot = ca.unit_air_steady(ua, [28.0] * 3, max_inlet_c=[35.0] * 3, plenum_pa=[0.0] * 3)
    np.testing.assert_allclose(hot.airflow_m3s, [8.0, 8.0, 8.0])
    # the fan follows its target with the speed time constant
    st = ca.UnitState(np.zeros(3), np.ones(3))
    r = ca.unit_air_step(ua, st, [28.0] * 3, K.FAN_SPEED_TAU_S, max_inlet_c=[22.0] * 3, plenum_pa=[20.0] * 3)
    assert r.state.speed[0] == pytest.approx(0.7 + 0.3 * math.exp(-1), rel=1e-12)


# --------------------------------------------------------------------------- rear doors and CDUs


def test_rear_door_limits():
    rc = RHOCP * 1.0
    after, q = ca.rdhx_after_door([40.0, 40.0, 40.0, 40.0, 40.0], [1.0, 1.0, 1.0, 1.0, 0.0],
                                  [100e3, 5e3, 100e3, 100e3, 100e3], [12.0, 12.0, 12.0, 12.0, 12.0],
                                  [18.0, 18.0, 35.0, 18.0, 18.0], running=[1, 1, 1, 0, 1])
    assert q[0] == pytest.approx(min(0.7 * rc * 28.0, rc * 22.0))      # effectiveness-limited
    assert q[1] == 5e3 and after[1] == pytest.approx(40.0 - 5e3 / rc)  # capacity-limited
    assert after[2] == pytest.approx(35.0)                            # setpoint-limited
    assert q[3] == 0.0 and after[3] == 40.0                           # no water
    assert q[4] == 0.0 and after[4] == 40.0                           # no air
    np.testing.assert_allclose(q[:4], rc * (40.0 - after[:4]), rtol=1e-12)


def test_cdu_heat_sink():
    ua = _ua(CoolingUnit("CDU-1", kind="cdu", capacity_kw=100.0), CoolingUnit("CDU-2", kind="cdu", capacity_kw=50.0),
             CoolingUnit("C", kind="crah", airflow_m3s=8.0, capacity_kw=150.0))
    rc = ca.rack_cdu_index(ua, ["CDU-1", "CDU-1", "CDU-2", None, "C"])
    np.testing.assert_array_equal(rc, [0, 0, 1, -1, -1])
    load, removed, excess, ok, limit = ca.cdu_heat(ua, [60e3, 50e3, 20e3, 5e3, 5e3], rc)
    np.testing.assert_allclose(load, [110e3, 20e3, 0.0])
    np.testing.assert_allclose(removed, [100e3, 20e3, 0.0])
    np.testing.assert_allclose(excess, [10e3, 0.0, 0.0])
    np.testing.assert_array_equal(ok, [1, 1, 1, 1, 1])
    # each rack may hand over its share of the capacity; the shares add up to the capacity
    np.testing.assert_allclose(limit[:3], [100e3 * 60 / 110, 100e3 * 50 / 110, 50e3])
    assert np.isinf(limit[3:]).all()
    _, _, _, _, idle = ca.cdu_heat(ua, [0.0] * 5, rc)
    np.testing.assert_allclose(idle[:3], [50e3, 50e3, 50e3])
    load, removed, excess, ok, _ = ca.cdu_heat(ua, [60e3, 50e3, 20e3, 5e3, 5e3], rc, running=[0, 1, 1])
    assert removed[0] == 0.0 and excess[0] == 110e3
    np.testing.assert_array_equal(ok, [0, 0, 1, 1, 1])


def test_hall_units_resolve_doors():
    hall = Hall("H", 10, 10, racks=[Rack("R1", it_kw=5), Rack("R2", it_kw=5)],
                cooling_units=[CoolingUnit("D", kind="rdhx", rack="R2", capacity_kw=20.0),
                               CoolingUnit("C", kind="crah", airflow_m3s=4.0, capacity_kw=60.0)])
    ua = ca.unit_arrays(hall)
    np.testing.assert_array_equal(ua.rdhx_rack, [1, -1])
    s = ca.unit_air_steady(ua, [30.0, 30.0])
    assert s.airflow_m3s[0] == 0.0 and s.duty_w[0] == 0.0  # a door moves no air of its own


def test_no_nan_on_extreme_input():
    ua = _ua(CoolingUnit("Z", kind="crah", airflow_m3s=0.0, capacity_kw=0.0),
             CoolingUnit("B", kind="crah", airflow_m3s=60.0, capacity_kw=5000.0, airflow_control="plenum_pressure"),
             CoolingUnit("I", kind="inrow", airflow_m3s=1.0, capacity_kw=0.0, airflow_control="inlet_target"))
    st = ca.UnitState.initial(ua)
    for ret in (-40.0, 18.0, 200.0):
        for dt in (0.0, 1.0, 3600.0):
            for backend in ("numba", "numpy"):
                r = ca.unit_air_step(ua, st, ret, dt, running=[1, 1, 1], chw_supply_c=[80.0, -10.0, 12.0],
                                     max_inlet_c=[500.0, -50.0, 25.0], plenum_pa=[0.0, 1e4, 0.0], backend=backend)
                for name in ("supply_c", "duty_w", "airflow_m3s", "fan_w"):
                    assert np.all(np.isfinite(getattr(r, name))), (name, ret, dt)
                assert np.all(r.duty_w >= 0.0)
                st = r.state


def test_capacity_exceeded_events():
    from dctwin.twin.model.events import EventLog

    ua = _ua(CoolingUnit("A", kind="crah", airflow_m3s=5.0, capacity_kw=50.0, supply_setpoint_c=18.0),
             CoolingUnit("B", kind="crah", airflow_m3s=5.0, capacity_kw=500.0, supply_setpoint_c=18.0),
             CoolingUnit("C", kind="crah", airflow_m3s=5.0, capacity_kw=500.0, supply_setpoint_c=18.0))
    log = EventLog()
    root = log.record(0.0, "fail", "A-neighbour")
    s = ca.unit_air_steady(ua, [35.0, 35.0, 25.0], chw_supply_c=[12.0, 20.0, 12.0])
    evs = ca.record_unit_events(log, 5.0, ua, None, s, chw_supply_c=[12.0, 20.0, 12.0], causes={"A": root.seq})
    assert [(e.kind, e.target) for e in evs] == [("capacity_exceeded", "A"), ("capacity_exceeded", "B")]
    assert evs[0].cause == root.seq
    assert evs[0].condition.startswith("return 35.0 °C needs 101.8 kW, capacity 50 kW; supply 26.6 °C")
    assert evs[1].condition.startswith("chilled water 20.0 °C + approach 3 K is above setpoint 18 °C")
    # no new event while the flag stays up
    assert ca.record_unit_events(log, 6.0, ua, s.limited, s) == []


def test_rear_doors_on_rack_exhausts():
    from dctwin.twin.physics import it

    hall = Hall("H", 10, 10, racks=[Rack("R1", it_kw=20.0), Rack("R2", it_kw=20.0)],
                cooling_units=[CoolingUnit("D", kind="rdhx", rack="R2", capacity_kw=15.0, supply_setpoint_c=20.0),
                               CoolingUnit("C", kind="crah", airflow_m3s=4.0, capacity_kw=60.0)])
    ra = it.rack_arrays(hall)
    ua = ca.unit_arrays(hall)
    s = it.rack_steady(ra, 1.0, 22.0)
    for backend in ("numba", "numpy"):
        exh, duty = ca.rear_doors(ua, s.exhaust_c, s.airflow_m3s, backend=backend)
        assert exh[0] == s.exhaust_c[0] and duty[1] == 0.0
        assert duty[0] == pytest.approx(15e3)  # capacity-limited: the rack makes ~20 kW
        heat_after = RHOCP * s.airflow_m3s[1] * (exh[1] - s.inlet_c[1])
        assert heat_after == pytest.approx(s.air_heat_w[1] - duty[0], rel=1e-12)
    exh, duty = ca.rear_doors(ua, s.exhaust_c, s.airflow_m3s, running=[0, 1])
    assert duty[0] == 0.0 and exh[1] == s.exhaust_c[1]


def test_mixed_room_balances_and_heats_at_p_over_c_after_cooling_loss():
    """Racks and one CRAH in a perfectly mixed room: C_a dT/dt = Σ air heat − duty."""
    from dctwin.twin.physics import it

    hall = Hall("H", 10, 10, racks=[Rack(f"R{i}", it_kw=10.0) for i in range(6)],
                cooling_units=[CoolingUnit("C", kind="crah", airflow_m3s=8.0, capacity_kw=100.0)])
    ra, ua = it.rack_arrays(hall), ca.unit_arrays(hall)
    c_air = RHOCP * 10 * 10 * 3.0
    t_room = 24.0
    rs, us = it.RackState.initial(ra, t_room), ca.UnitState.initial(ua)
    dt = 1.0
    for _ in range(3000):
        r = it.rack_step(ra, rs, 1.0, t_room, dt)
        u = ca.unit_air_step(ua, us, t_room, dt)
        t_room += dt * (r.air_heat_w.sum() - u.duty_w.sum()) / c_air
        rs, us = r.state, u.state
    assert u.duty_w[0] == pytest.approx(r.air_heat_w.sum(), rel=1e-4)
    assert u.duty_w[0] == pytest.approx(r.power_w.sum(), rel=1e-4)
    assert u.supply_c[0] == pytest.approx(18.0, abs=1e-3)
    r = it.rack_step(ra, rs, 1.0, t_room, dt)
    u = ca.unit_air_step(ua, us, t_room, dt, running=[0])
    assert u.duty_w[0] == 0.0
    slope = (r.air_heat_w.sum() - u.duty_w.sum()) / c_air
    assert slope == pytest.approx(r.power_w.sum() / c_air, rel=0.02)
