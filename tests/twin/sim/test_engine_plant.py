"""Cooling-plant acceptance tests of issue 4, end to end through the engine.

The "small" demo hall (air model on a 0.6 m grid, two CRAHs at an 18 °C supply
setpoint on a 12 °C chilled-water loop of 5 m³, one air-cooled chiller) and
the "ai-hall" demo (water-cooled chillers, economizer, CDUs). The IT power is
read once at steady state (the rack model sets it from the inlets); the plant
arithmetic downstream of it is worked out by hand in the comments.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.model.layout import Outdoor, StorageTank

GRID = 0.6
RHO_W, CP_W = 998.0, 4180.0      # water (twin.physics.constants)
COIL_APPROACH_K = 3.0            # a chilled-water coil cannot cool air below T_chw + 3 K


def small_with_tank(tank_m3: float):
    site = demos.load_demo("small")
    site.plant = dataclasses.replace(site.plant, storage_tank=StorageTank(volume_m3=tank_m3) if tank_m3 else None)
    return site


def chiller_trip_hold_s(tank_m3: float) -> tuple[float, float, float, np.ndarray]:
    """Run a chiller trip at t = 10 s; returns (hand-worked hold time, measured time the supply
    rose 0.05 K, measured time it rose 1 K (both from the trip), supply temperatures over the run)."""
    sim = Simulation(small_with_tank(tank_m3), grid_m=GRID)
    s = sim.solve_steady()
    it_w = float(sim.rack_power_w.sum())
    # all IT heat goes into the air, the CRAH coils take it out and hand it to the loop (≈ 130.5 kW)
    assert sum(u.duty_w for u in s.cooling_units.values()) == pytest.approx(it_w, rel=1e-3)
    assert float(sim.cplant.state.q_in_w[0]) == pytest.approx(it_w, rel=1e-3)
    assert all(u.supply_c == pytest.approx(18.0, abs=1e-9) for u in s.cooling_units.values())
    # hold time t = V ρ cp dT / Q with V = loop 5 m³ + tank, dT = 18 − (12 + 3) = 3 K:
    # no tank: 5 * 998 * 4180 * 3 / 130.5e3 ≈ 479 s; with 5 m³: 10 m³ ≈ 959 s
    d_t = 18.0 - (12.0 + COIL_APPROACH_K)
    hold = (5.0 + tank_m3) * RHO_W * CP_W * d_t / it_w
    t_fail = 10.0
    sim.schedule(t_fail, "fail", "CH-1")
    times, supply = [], []
    sim.run(1.5 * hold + 20.0, dt_s=1.0,
            on_step=lambda x: (times.append(x.t_s), supply.append(x.state.last_unit.supply_c.max())))
    stop = next(e for e in sim.events if e.kind == "chiller_stop")
    assert stop.target == "CH-1" and sim.events.chain(stop)[-1].kind == "fail"
    t = np.array(times) - t_fail
    sup = np.array(supply)
    rise = float(t[np.argmax(sup > 18.05)])
    rise_1k = float(t[np.argmax(sup > 19.0)]) if (sup > 19.0).any() else float("inf")
    # before the hold time is used up the supply stays at its setpoint (far inside 1 K)
    assert np.abs(sup[t < 0.95 * hold] - 18.0).max() < 0.01
    return hold, rise, rise_1k, sup


@pytest.fixture(scope="module")
def trips():
    return {v: chiller_trip_hold_s(v) for v in (0.0, 5.0)}


def test_chiller_trip_with_a_tank_holds_the_crah_supply_for_v_rho_cp_dt_over_q_then_it_rises(trips):
    hold, rise, rise_1k, sup = trips[5.0]
    # ≈ 959 s at 130.5 kW; the IT power follows the rack inlets the air model gives (±3 %)
    assert hold == pytest.approx(959.0, rel=0.03)
    # the supply leaves the setpoint once the loop passes 15 °C: 0.05 K later at Q/C ≈ 3.1 mK/s is ~16 s
    assert hold <= rise <= 1.05 * hold
    # it keeps rising: more than 1 K above the setpoint before the end of the run (1.5 x hold)
    assert hold < rise_1k < 1.5 * hold + 20
    assert sup[-1] > 19.0


def test_the_hold_time_scales_with_the_water_volume_loop_plus_tank(trips):
    hold0, rise0, _, _ = trips[0.0]
    hold5, rise5, _, _ = trips[5.0]
    assert hold0 == pytest.approx(479.4, rel=0.03)
    assert hold0 <= rise0 <= 1.05 * hold0
    # (5 + 5) / 5 = 2: the tank doubles the ride-through
    assert rise5 / rise0 == pytest.approx(2.0, rel=0.05)


def with_outdoor(name: str, c: float):
    site = demos.load_demo(name)
    site.plant = dataclasses.replace(site.plant, outdoor=Outdoor(kind="constant", c=c))
    return site


@pytest.mark.parametrize("name", ["small", "ai-hall"])
def test_pue_of_the_demo_halls_is_in_the_published_range_and_higher_on_a_hot_day(name):
    pue = {}
    for c in (5.0, 35.0):
        sim = Simulation(with_outdoor(name, c), grid_m=GRID)
        s = sim.solve_steady()
        pue[c] = s.pue
        assert 1.1 <= s.pue <= 1.6, (name, c, s.pue)
    assert pue[35.0] > pue[5.0] + 0.02


def test_small_hall_pue_on_a_hot_day_is_the_sum_of_its_parts():
    sim = Simulation(with_outdoor("small", 35.0), grid_m=GRID)
    s = sim.solve_steady()
    it = float(sim.rack_power_w.sum())                      # ≈ 130.5 kW
    q = float(sim.cplant.state.q_in_w[0])                   # heat to the loop ≈ IT
    # Air-cooled chiller (EnergyPlus Chiller:Electric), 200 kW, COP 4, outdoor 35 °C, chilled water 12 °C
    # clamped to the curves' 8.89 °C: ΔT = (35 − 35)/2.778 − (8.89 − 6.67) = −2.22
    d_t = (35.0 - 35.0) / 2.778 - (8.89 - 6.67)
    caprat = 0.944836 - 0.0570088 * d_t + 0.00185486 * d_t ** 2      # = 1.08054
    q_avail = 200e3 * caprat                                          # = 216.1 kW
    plr = q / q_avail                                                 # ≈ 0.604
    frac = 0.03303 + 0.6852 * plr + 0.2818 * plr ** 2                 # ≈ 0.550
    flpr = 2.333 - 1.975 * caprat + 0.6121 * caprat ** 2              # ≈ 0.914
    chiller_w = frac * flpr * q_avail / 4.0                           # ≈ 27.1 kW
    assert sim.cplant.totals()["chillers_w"] == pytest.approx(chiller_w, rel=1e-9)
    # Mechanical board SWB-M (0.5 % loss): chiller + pump 3 kW + CRAH fans 2 x 6.5 kW
    mech = 1.005 * (chiller_w + 3e3 + 13e3)
    # IT side: PDUs 2 % loss, each UPS carries 1.02 IT/2 ≈ 66.6 kW of 160 kW with its loss curve
    ups_out = 1.02 * it / 2
    x = ups_out / 160e3
    ups_loss = 160e3 * (0.0131 + 0.0132 * x + 0.0153 * x * x)       # ≈ 3.40 kW each
    facility = 1.02 * it + 2 * ups_loss + mech                       # ≈ 183.3 kW
    assert s.pue == pytest.approx(facility / it, rel=1e-6)         # ≈ 1.404
    # and the utility supplies all of it
    assert s.power_nodes["UTIL"].load_w == pytest.approx(facility, rel=1e-6)


def test_plant_headroom_before_and_after_the_only_chiller_trips():
    sim = Simulation(demos.load_demo("small"), grid_m=GRID)
    s = sim.solve_steady()
    q = float(sim.cplant.state.q_in_w[0])                  # ≈ 130.5 kW into the loop
    # Air-cooled 200 kW chiller at 25 °C outdoor, chilled water clamped to 8.89 °C:
    # ΔT = (25 − 35)/2.778 − 2.22 = −5.82; CapRat = 0.944836 + 0.0570088*5.82 + 0.00185486*5.82² = 1.3395
    d_t = (25.0 - 35.0) / 2.778 - (8.89 - 6.67)
    cap = 200e3 * (0.944836 - 0.0570088 * d_t + 0.00185486 * d_t ** 2)   # ≈ 267.9 kW
    h = s.plant_headroom["plant"]
    assert h.capacity_w == pytest.approx(cap, rel=1e-9)
    assert h.headroom_w == pytest.approx(cap - q, rel=1e-9)
    assert h.headroom_n1_w == pytest.approx(-q, rel=1e-9)          # one chiller: N-1 has nothing left
    sim.schedule(1.0, "fail", "CH-1")
    sim.run(5.0)
    h = sim.summary().plant_headroom
    # tripped: no capacity now (not "unlimited"), the whole heat into the loop is unmet
    assert h["CH-1"].capacity_w == 0.0 and h["CH-1"].load_w == 0.0
    assert h["plant"].capacity_w == 0.0
    assert h["plant"].headroom_w == pytest.approx(-q, rel=1e-3)
    assert h["plant"].headroom_n1_w == pytest.approx(-q, rel=1e-3)
