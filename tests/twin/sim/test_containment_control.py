"""In-row units that hold a contained hot aisle's pressure or their return temperature, and the
zones' leak areas (twin/sim/zones.py, twin/sim/compile.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "physics"))
from air_cases import room  # noqa: E402

from dctwin.twin.model.layout import Containment, CoolingUnit, Rack  # noqa: E402
from dctwin.twin.model.validate import validate  # noqa: E402
from dctwin.twin.physics import constants as K  # noqa: E402
from dctwin.twin.sim.engine import Simulation  # noqa: E402
from dctwin.twin.sim.zones import leak_flow, zone_dp_pa  # noqa: E402


def hot_aisle_site(control: str = "fixed", door_gap_m2=None, **unit_kw):
    """Two rows of four 8 kW racks backing onto a contained hot aisle (y 2.4..3.6), an in-row unit
    (4 m3/s) at the end of each row breathing from the aisle; slab floor, no ceiling return."""
    racks, units = [], []
    for i in range(4):
        racks.append(Rack(id=f"A{i}", x_m=1.2 + 0.6 * i, y_m=1.2, facing="S", it_kw=8.0))
        racks.append(Rack(id=f"B{i}", x_m=1.2 + 0.6 * i, y_m=3.6, facing="N", it_kw=8.0))
    for uid, y, f in (("IR1", 1.2, "S"), ("IR2", 3.6, "N")):
        units.append(CoolingUnit(id=uid, kind="inrow", x_m=3.6, y_m=y, facing=f, width_m=0.3, depth_m=1.2, height_m=2.0,
                                 airflow_m3s=4.0, capacity_kw=120, supply_setpoint_c=20, airflow_control=control,
                                 **unit_kw))
    z = Containment(id="HAC", kind="hot", x_m=1.2, y_m=2.4, width_m=2.7, depth_m=1.2, door_gap_m2=door_gap_m2)
    return room(width=5.4, depth=6.0, racks=racks, units=units, containments=[z], plenum="none",
                ceiling_return=False, grid_m=0.3)


def _steady(site):
    sim = Simulation(site)
    sim.solve_steady()
    s = sim.summary()
    rack_q = np.array([s.racks[r].airflow_m3s for r in sim.rack_ids])
    unit_q = np.array([s.cooling_units[u].airflow_m3s for u in sim.unit_ids])
    return sim, s, rack_q, unit_q


def test_the_hot_aisle_is_a_zone_with_its_racks_and_units():
    sim = Simulation(hot_aisle_site())
    zn = sim.system.zones
    assert zn.ids == ["HAC"]
    assert np.all(zn.rack_out == 0) and np.all(zn.rack_in == -1)  # every exhaust in the aisle, no intake
    assert list(zn.unit_in) == [0, 0] and list(zn.unit_out) == [-1, -1]
    # two end doors (0.03 m2 each), no roof (a hot aisle reaches the ceiling), panel seams above the racks
    assert 0.06 < zn.leak_m2[0] < 0.06 + 0.005 * 2 * 2.7 * 1.0 + 0.005 * 2 * 1.2 * 3.0 + 1e-9


@pytest.mark.parametrize("target", [None, 0.0, -3.0, 2.0])
def test_containment_dp_units_hold_the_zone_at_its_target(target):
    kw = {} if target is None else {"dp_target_pa": target}
    sim, s, rack_q, unit_q = _steady(hot_aisle_site("containment_dp", **kw))
    zn = sim.system.zones
    want = K.DP_TARGET_PA if target is None else target
    # the units take what the racks blow into the aisle less what the target pressure leaks out
    assert unit_q.sum() == pytest.approx(rack_q.sum() - leak_flow(float(zn.leak_m2[0]), want), rel=1e-9)
    assert unit_q[0] == pytest.approx(unit_q[1])
    assert zone_dp_pa(zn, rack_q, unit_q)[0] == pytest.approx(want, abs=1e-6)
    assert s.energy_error < 0.01


def test_containment_dp_beats_fixed_airflow_on_fan_power_and_keeps_the_inlets():
    fixed = _steady(hot_aisle_site("fixed"))
    held = _steady(hot_aisle_site("containment_dp"))
    assert held[3].sum() < 0.75 * fixed[3].sum()  # 2 x 4 m3/s fixed against about 5.7 m3/s needed
    assert held[1].max_inlet_c < 20.5  # no hot air out of the aisle: inlets at the 20 °C supply
    # too little airflow (a positive target: hot air pushed out through the doors) warms the inlets
    pushed = _steady(hot_aisle_site("containment_dp", dp_target_pa=10.0, door_gap_m2=0.3))
    assert pushed[3].sum() < held[3].sum() - 0.3
    assert pushed[1].max_inlet_c > held[1].max_inlet_c + 0.5


def test_return_temperature_units_follow_their_return():
    for target in (None, 24.0, 40.0):
        kw = {} if target is None else {"return_target_c": target}
        sim, s, rack_q, unit_q = _steady(hot_aisle_site("return_temperature", **kw))
        want = K.RETURN_TARGET_C if target is None else target
        for j, uid in enumerate(sim.unit_ids):
            ret = s.cooling_units[uid].return_c
            speed = float(np.clip(1.0 + K.RETURN_GAIN_PER_K * (ret - want), K.FAN_SPEED_MIN, K.FAN_SPEED_MAX))
            assert unit_q[j] == pytest.approx(4.0 * speed, abs=0.05)  # at the fixed point (0.01 K)
    low = _steady(hot_aisle_site("return_temperature", return_target_c=24.0))[3].sum()
    high = _steady(hot_aisle_site("return_temperature", return_target_c=40.0))[3].sum()
    assert high < low  # a warmer target lets the units slow down


def test_in_a_run_the_fans_follow_the_held_speed_with_their_time_constant():
    """unit_air_step: a containment_dp unit moves toward the speed that holds its zone as
    s = s* + (s0 - s*) exp(-dt / tau), within the speed limits; a return_temperature unit follows
    1 + k (T_return - target) the same way; a unit with no zone (NaN) runs at design."""
    from dctwin.twin.physics.cooling_air import UnitArrays, UnitState, unit_air_step

    units = [CoolingUnit(id=f"U{i}", kind="inrow", airflow_m3s=4.0, capacity_kw=100, airflow_control=c)
             for i, c in enumerate(("containment_dp", "containment_dp", "containment_dp", "return_temperature"))]
    ua = UnitArrays.from_units(units)
    st = UnitState(np.zeros(4), np.full(4, 0.9))
    ret = np.array([30.0, 30.0, 30.0, 31.0])
    for backend in ("numba", "numpy"):
        out = unit_air_step(ua, st, ret, 5.0, dp_speed=np.array([0.6, 0.1, np.nan, np.nan]), backend=backend)
        decay = np.exp(-5.0 / K.FAN_SPEED_TAU_S)
        s_ret = 1.0 + K.RETURN_GAIN_PER_K * (31.0 - K.RETURN_TARGET_C)
        want = np.array([0.6, K.FAN_SPEED_MIN, 1.0, min(s_ret, 1.0)])
        np.testing.assert_allclose(out.state.speed, want + (0.9 - want) * decay, rtol=1e-12)
        np.testing.assert_allclose(out.airflow_m3s, 4.0 * out.state.speed, rtol=1e-12)


def test_bad_control_settings_are_named():
    site = hot_aisle_site("containment_dp", dp_target_pa=80.0)
    msgs = [str(i) for i in validate(site)]
    assert any("dp_target_pa" in m and "IR1" in m for m in msgs)
    site = room(units=[CoolingUnit(id="C1", kind="crah", airflow_m3s=5.0, capacity_kw=50,
                                   airflow_control="containment_dp")])
    assert any("containment_dp is for in-row units" in str(i) for i in validate(site))
    z = Containment(id="Z", kind="cold", x_m=1.2, y_m=1.2, width_m=1.2, depth_m=1.2, door_gap_m2=-0.1)
    assert any("door_gap_m2" in str(i) for i in validate(room(containments=[z])))
