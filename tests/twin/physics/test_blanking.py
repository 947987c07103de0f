"""Missing blanking panels (``Rack.open_u``): a rack's own exhaust back to its servers' intake.

Checked against physics: the gap flow q_r = C_d A sqrt(2 dP / rho) at the rear pressure, the energy
balance P_air = rho cp (q_s - q_r) (T_out - T_room) with and without gaps (steady and step by step),
and the limits: no gap gives today's results bit for bit, a big gap brings the intake towards the
exhaust.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.twin.model.layout import U_OPENING_M2, Rack, rack_units
from dctwin.twin.physics import constants as K
from dctwin.twin.physics import it

ROOM_C = 22.0


def _ra(*open_u: float, it_kw: float = 10.0) -> it.RackArrays:
    return it.RackArrays.from_racks([Rack(f"R{k}", it_kw=it_kw, open_u=float(u)) for k, u in enumerate(open_u)])


def test_share_is_the_gap_flow_at_the_rear_pressure():
    """r = CdA / (CdA + B): the gap flow q_r = Cd A sqrt(2 dP / rho) with dP the rear pressure that pushes
    the rest, V (1 - r), through the rear path sized by dP_des at the design airflow."""
    v_des = 1.0
    r = float(it.recirculated_share(4.0, v_des))
    a = it.GAP_CD * 4 * U_OPENING_M2
    q_out = v_des * (1.0 - r)  # what leaves through the rear at the design fan flow
    dp = it.RACK_REAR_DP_PA * q_out ** 2 / v_des ** 2  # the rear path's pressure at that flow
    assert v_des * r == pytest.approx(a * math.sqrt(2.0 * dp / K.RHO_AIR), rel=1e-12)
    # small gaps: q_r -> Cd A sqrt(2 dP_des / rho)
    tiny = float(it.recirculated_share(1e-4, v_des))
    assert tiny == pytest.approx(it.GAP_CD * 1e-4 * U_OPENING_M2 * math.sqrt(2 * it.RACK_REAR_DP_PA / K.RHO_AIR),
                                 rel=1e-4)
    assert float(it.recirculated_share(0.0, v_des)) == 0.0 and float(it.recirculated_share(3.0, 0.0)) == 0.0
    assert rack_units(2.0) == 42


def test_no_gap_gives_todays_results_exactly():
    racks = [Rack("A", it_kw=8.0), Rack("B", it_kw=20.0, liquid_fraction=0.5), Rack("C", it_kw=5.0)]
    ra = it.RackArrays.from_racks(racks)
    assert ra.recirc is None and not ra.recirculating()
    inlet = np.array([21.0, 33.0, 45.0])
    s = it.rack_steady(ra, 0.8, inlet)
    assert np.array_equal(s.inlet_c, inlet) and np.array_equal(s.airflow_m3s, s.server_airflow_m3s)
    assert np.array_equal(s.recirc, np.zeros(3))
    # against the model written out without recirculation: exhaust = inlet + P_air / (rho cp V)
    assert np.array_equal(s.exhaust_c, inlet + s.air_power_w / (K.RHO_CP_AIR * s.airflow_m3s))
    st = it.RackState.initial(ra, inlet_c=inlet)
    step = it.rack_step(ra, st, 0.8, inlet, 7.0)
    ts, tout, q = it._backend("numba").server_mass_kernel(step.air_power_w, step.airflow_m3s, inlet, st.server_c,
                                                            ra.c_s_j_per_k, ra.eps, 7.0, ra.prm)
    assert np.array_equal(step.state.server_c, ts) and np.array_equal(step.exhaust_c, tout)
    assert np.array_equal(step.air_heat_w, q)


@pytest.mark.parametrize("open_u", [0.0, 1.0, 4.0, 10.0, 42.0])
def test_steady_energy_balance_with_and_without_gaps(open_u):
    """P_air = rho cp (q_s - q_r) (T_out - T_room): the room sees what the servers move less what they
    recirculate, at the exhaust temperature; the intake is the mix of room air and exhaust."""
    ra = _ra(open_u)
    s = it.rack_steady(ra, 1.0, ROOM_C)
    q_s, q_room, r = float(s.server_airflow_m3s[0]), float(s.airflow_m3s[0]), float(s.recirc[0])
    assert q_room == pytest.approx(q_s * (1.0 - r), rel=1e-14)
    assert K.RHO_CP_AIR * q_room * (s.exhaust_c[0] - ROOM_C) == pytest.approx(s.air_power_w[0], rel=1e-12)
    assert s.air_heat_w[0] == pytest.approx(s.air_power_w[0], rel=1e-12)
    intake = (1.0 - r) * ROOM_C + r * float(s.exhaust_c[0])
    assert s.inlet_c[0] == pytest.approx(intake, abs=1e-8)
    # the servers' own rise is that of the air through them
    assert K.RHO_CP_AIR * q_s * (s.exhaust_c[0] - s.inlet_c[0]) == pytest.approx(s.air_power_w[0], rel=1e-8)
    # the servers' fans follow their intake: the curves at the intake give this airflow and power
    p, v, *_ = it.power_airflow(ra, 1.0, s.inlet_c, s.throttle)
    assert v[0] == pytest.approx(q_s, rel=1e-12) and p[0] == pytest.approx(s.power_w[0], rel=1e-12)
    # the state is the steady one as seen from the intake
    assert np.allclose(it.server_intake_c(ra, ROOM_C, s.state), s.inlet_c, atol=1e-8)


def test_more_open_units_bring_the_intake_towards_the_exhaust():
    shares, rises, gaps = [], [], []
    for u in (0, 1, 4, 10, 20, 42):
        s = it.rack_steady(_ra(u), 1.0, ROOM_C)
        shares.append(float(s.recirc[0]))
        rises.append(float(s.inlet_c[0]) - ROOM_C)
        gaps.append(float(s.exhaust_c[0] - s.inlet_c[0]) / float(s.exhaust_c[0] - ROOM_C))
    assert shares == sorted(shares) and rises == sorted(rises) and rises[0] == 0.0
    assert gaps == sorted(gaps, reverse=True)  # the intake closes in on the exhaust
    assert gaps[-1] == pytest.approx(1.0 - shares[-1], rel=1e-6) and gaps[-1] < 0.4
    # the worked example of docs/validation.md ("Blanking panels"): 10 kW, 1 m3/s, 22 C room air
    assert round(shares[2], 3) == 0.132 and round(rises[2], 2) == 1.24
    # a rack with a tiny design airflow and every unit open: nearly all its air is its own exhaust
    s = it.rack_steady(it.RackArrays.from_racks([Rack("X", it_kw=1.0, airflow_m3s=0.02, open_u=42.0)]), 1.0, ROOM_C)
    assert s.recirc[0] > 0.97
    assert (s.exhaust_c[0] - s.inlet_c[0]) < 0.03 * (s.exhaust_c[0] - ROOM_C)


def test_recirculation_can_throttle_a_rack_the_room_air_would_not():
    hot = 28.0  # inside A1's allowable 32 C
    blanked = it.rack_steady(_ra(0.0, it_kw=15.0), 1.0, hot)
    open_ = it.rack_steady(_ra(42.0, it_kw=15.0), 1.0, hot)
    assert blanked.throttle[0] == 1.0 and blanked.states == ["on"]
    assert open_.inlet_c[0] > 32.0 and open_.throttle[0] < 1.0 and open_.states[0] in ("throttled", "critical")


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_transient_energy_in_equals_stored_plus_carried_to_the_room(backend):
    """Step by step with gaps: the energy the servers dissipate is stored in them or carried into the room by
    the rack's exchange with it, rho cp V (1 - r) (T_out - T_room); the steady state is where it settles."""
    ra = _ra(0.0, 6.0, 30.0)
    st = it.RackState.initial(ra, inlet_c=ROOM_C)
    e_in = e_air = 0.0
    stored0 = float((ra.c_s_j_per_k * st.server_c).sum())
    dt = 5.0
    for k in range(800):
        room = ROOM_C + (1.5 if k > 200 else 0.0)
        step = it.rack_step(ra, st, 1.0, room, dt, backend=backend)
        assert np.allclose(K.RHO_CP_AIR * step.airflow_m3s * (step.exhaust_c - room), step.air_heat_w, rtol=1e-12)
        e_in += float(step.air_power_w.sum()) * dt
        e_air += float(step.air_heat_w.sum()) * dt
        st = step.state
    stored = float((ra.c_s_j_per_k * st.server_c).sum()) - stored0
    assert abs(e_in - e_air - stored) < 1e-9 * e_in
    steady = it.rack_steady(ra, 1.0, ROOM_C + 1.5, backend=backend)
    assert np.allclose(step.inlet_c, steady.inlet_c, atol=0.02)
    assert np.allclose(step.exhaust_c, steady.exhaust_c, atol=0.02)
    assert step.recirc[0] == 0.0 and 0 < step.recirc[1] < step.recirc[2]


def test_backends_agree_with_gaps():
    ra = _ra(0.0, 3.0, 12.0, 42.0)
    inlet = np.array([20.0, 25.0, 30.0, 35.0])
    a, b = it.rack_steady(ra, 0.9, inlet, backend="numba"), it.rack_steady(ra, 0.9, inlet, backend="numpy")
    for f in ("inlet_c", "exhaust_c", "power_w", "airflow_m3s", "server_airflow_m3s", "throttle"):
        assert np.allclose(getattr(a, f), getattr(b, f), rtol=1e-12, atol=1e-9), f
    st = it.RackState.initial(ra, inlet_c=inlet)
    sa = it.rack_step(ra, st, 0.9, inlet, 3.0, backend="numba")
    sb = it.rack_step(ra, st, 0.9, inlet, 3.0, backend="numpy")
    for f in ("exhaust_c", "air_heat_w", "airflow_m3s"):
        assert np.allclose(getattr(sa, f), getattr(sb, f), rtol=1e-12, atol=1e-9), f


def test_a_rack_that_is_down_recirculates_nothing():
    ra = _ra(10.0)
    s = it.rack_steady(ra, 1.0, ROOM_C, powered=np.array([0]))
    assert s.recirc[0] == 0.0 and s.inlet_c[0] == ROOM_C
    assert it.server_intake_c(ra, ROOM_C, s.state)[0] == ROOM_C
    assert it.recirculating_now(ra, s.state)[0] == 0.0


def test_power_now_of_a_restored_state_is_what_the_next_step_draws_with_gaps():
    """A keyframe holds the state; what a recirculating rack draws follows its servers' intake, not the room air."""
    ra = _ra(0.0, 20.0, 42.0, it_kw=15.0)
    st = it.rack_steady(ra, 1.0, 27.0).state
    nxt = it.rack_step(ra, st, 1.0, 27.0, 1.0)
    assert np.allclose(it.power_now(ra, st, 1.0, 27.0), nxt.power_w, rtol=1e-12)
    assert nxt.inlet_c[2] > 32.0 and nxt.throttle[2] < 1.0  # throttled by its own exhaust
