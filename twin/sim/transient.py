"""One transient step of a hall's racks, cooling units, flow and air (the engine's steps 3-7).

Racks (protection from the start-of-step inlet, power and airflow, server thermal mass, cold
plates against their CDU), then the units (fan speed, coil with capacity and supply loop), the
flow follows their airflows (:mod:`dctwin.twin.sim.flows`), then the air temperature over the
step with rack exhausts chosen so each rack gives the air exactly its heat
(``T_in + Q/(rho cp q)``, :func:`~dctwin.twin.sim.hall.exhaust_c`), unit supplies and plenum
tiles at their supply temperatures; last the inlets and returns as flow-weighted intake means.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dctwin.twin.physics import thermal
from dctwin.twin.physics.cooling_air import UnitStep, cdu_heat, unit_air_step
from dctwin.twin.physics.it import RackStep, rack_step
from dctwin.twin.sim import flows, heatup
from dctwin.twin.sim.hall import RHO_CP, HallState, HallSystem, exhaust_c
from dctwin.twin.sim.stats import RunStats


@dataclass
class HallStep:
    """What one step of the hall gives the rest of the site."""

    rack: RackStep
    unit: UnitStep
    door_duty_w: np.ndarray  # heat each rear door took (W)
    liquid_removed_w: float  # heat the CDUs took from the cold plates (W)


def step_hall(hs: HallSystem, st: HallState, dt: float, u: np.ndarray, powered: np.ndarray, running: np.ndarray,
              chw_supply_c: Optional[float], stats: RunStats) -> HallStep:
    """Advance the hall's racks, units, flow and air by ``dt`` (s) in ``st`` (all but its clock);
    flow marches and carry-overs count in ``stats``."""
    _, liq_removed, _, cdu_ok, cdu_lim = cdu_heat(hs.ua, st.liquid_power_w, hs.rack_cdu, running)
    rs = rack_step(hs.ra, st.rack_state, u, st.rack_inlet_c, dt, powered, cdu_ok, None, cdu_lim)
    us = unit_air_step(hs.units_at(st.unit_setpoint_c), st.unit_state, st.unit_return_c, dt, running,
                       chw_supply_c=chw_supply_c, max_inlet_c=float(st.rack_inlet_c.max(initial=hs.supply_c)),
                       dp_speed=hs.dp_speeds(rs.airflow_m3s, hs.ua.v_des_m3s, running))
    if flows.needs_flow(st, rs.airflow_m3s, us.airflow_m3s):
        if hs.potential_base is not None:  # a hall whose heat has nowhere to go: potential flows only
            heatup.follow(hs, st, rs.airflow_m3s, us.airflow_m3s, hs.potential_base)
            stats.flow_adjusts += 1
        elif flows.follow(hs, st, rs.airflow_m3s, us.airflow_m3s):
            stats.flow_solves += 1
        else:
            stats.flow_adjusts += 1
    heat, door_duty = hs.air_heat(rs, rs.exhaust_c, running, st.unit_setpoint_c)
    q = st.flow.rack_q
    # exhaust = intake air + the rack's heat, with the intake air of the last step and the heat the
    # air still owes the rack from the steps before (``air_carry_j``: settled exactly after the
    # solve, see settle_exchange)
    due_w = heat + st.air_carry_j / dt
    exhaust = exhaust_c(st.rack_inlet_c, due_w, q)
    tile_c = hs.tile_supply_c(us.supply_c, us.airflow_m3s)
    step_air(hs, st, dt, exhaust, us.supply_c, tile_c)
    settle_exchange(hs, st, us, q, due_w, exhaust, dt)
    st.rack_inlet_c, st.unit_return_c = thermal.port_means(hs.air, st.flow, st.T, hs.air_model.front_jet_edge)
    # energy book-keeping (air side): what the servers generate into the air; what coils and doors
    # remove (and heat of racks that have no air path, which never reaches the room)
    lost = np.where(q > 0, 0.0, heat)
    st.energy_acc[0] += dt * float(rs.air_power_w.sum())
    st.energy_acc[1] += dt * float(us.duty_w[hs.air_units].sum() + door_duty.sum() + lost.sum())
    st.rack_state, st.unit_state = rs.state, us.state
    st.set_last(rs, us)
    st.rack_exhaust_c = exhaust
    st.door_duty = door_duty
    return HallStep(rs, us, door_duty, float(np.sum(liq_removed)))


def settle_exchange(hs: HallSystem, st: HallState, us: UnitStep, q: np.ndarray, due_w: np.ndarray,
                    exhaust: np.ndarray, dt: float) -> None:
    """Make the racks' and coils' heat exchange with the air exact over the run.

    The air leaves through intakes at the solve's own temperatures T* (the flux-form update),
    which the step could not know when it set the exhausts from the last step's inlets. A
    rack whose intake air came out warmer gave the air ``rho cp q (T*_in - inlet)`` less than
    it was due: the difference is carried to the next step's exhaust (``air_carry_j``), so
    over a run the air gets the racks' heat exactly, a step late at most. A coil's duty is
    what it took from the air: ``rho cp q (T*_return - supply)``. The energy balance of a
    run closes to round-off (it missed 0.38 % of the heat over a CRAH failure before)."""
    in_star, ret_star = thermal.port_means(hs.air, st.flow, st.air_star, hs.air_model.front_jet_edge)
    got_w = RHO_CP * q * (exhaust - in_star)
    st.air_carry_j = np.where(q > 0, (due_w - got_w) * dt, st.air_carry_j)
    air = hs.air_units & (st.flow.unit_in_q > 0)
    if air.any():
        us.duty_w[air] = RHO_CP * st.flow.unit_in_q[air] * (ret_star[air] - us.supply_c[air])


def step_air(hs: HallSystem, st: HallState, dt: float, exhaust: np.ndarray, supply_c: np.ndarray,
             tile_c: float) -> None:
    """Air temperature over ``dt``. The implicit solve starts from the last two steps' iterates
    T* extrapolated (fewer sweeps; the result is within the solver tolerance of the
    backward-Euler solution whatever the start), then the rates move on."""
    h1, h2 = float(st.air_rate_dt[0]), float(st.air_rate_dt[1])
    guess = thermal.extrapolate(st.air_star, st.air_rate1, st.air_rate2, h1, h2, dt, out=st.air_guess)
    info: dict = {}
    t0 = time.perf_counter()
    st.T = thermal.step(hs.air, st.flow, st.T, dt, exhaust, supply_c, tile_c, iterate=guess, info=info,
                        blocks=st.air_blocks, front_jet_edge=hs.air_model.front_jet_edge)
    st.air_step_s = time.perf_counter() - t0
    st.air_sweeps = int(info.get("sweeps", 0))
    st.air_local_passes = int(info.get("local_passes", 0))
    r = st.air_rate2
    thermal.rate_of_change(guess, st.air_star, dt, out=r)
    st.air_rate2, st.air_rate1 = st.air_rate1, r
    st.air_star, st.air_guess = guess, st.air_star
    st.air_rate_dt = np.array([dt, h1])
