"""The engine's reports: the state of a hall now, a run's account, the hall metrics of recordings.

:func:`hall_summary` builds the :class:`~dctwin.twin.sim.results.HallSummary` of ``dctwin solve``,
:func:`run_summary` the :class:`~dctwin.twin.sim.results.RunSummary` of ``dctwin simulate`` from
what :class:`~dctwin.twin.sim.stats.RunStats` gathered step by step, :func:`hall_metrics` the
scalar series a recording samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dctwin.twin import __version__
from dctwin.twin.model.events import EventLog
from dctwin.twin.physics.cooling_air import KIND_RDHX
from dctwin.twin.physics.it import MODE_ON, recirculating_now, server_intake_c, state_names
from dctwin.twin.sim.facility import Facility
from dctwin.twin.sim.hall import HallState, HallSystem
from dctwin.twin.sim.metrics import (
    ashrae_summary, group_headroom, plant_headroom, pue, rci_hi, rci_lo, solve_power_extras,
)
from dctwin.twin.sim.results import FlowInfo, GridInfo, HallSummary, RackResult, RunSummary, UnitResult
from dctwin.twin.sim.stats import RunStats

ENGINE_VERSION = __version__


def hall_summary(hs: HallSystem, st: HallState, fac: Facility, power_extras: bool = True) -> HallSummary:
    """The state now (``st`` must have a flow), with the keys of ``dctwin solve --json``. ``power_extras``
    False: without the power chain's headroom and PUE (``power_nodes`` empty, ``pue`` None), which
    :func:`~dctwin.twin.sim.metrics.solve_power_extras` gives apart (the editor's first map needs
    temperatures, not power)."""
    rs, us, flow = st.last_rack, st.last_unit, st.flow
    n = hs.ra.n
    if rs is None:  # restored from a keyframe: what the restored racks draw (set by the engine's restore)
        power, air_q = st.rack_power_w, flow.rack_q
    else:
        power, air_q = rs.power_w, rs.airflow_m3s
    intake = server_intake_c(hs.ra, st.rack_inlet_c, st.rack_state)
    share = recirculating_now(hs.ra, st.rack_state)
    names = state_names(st.rack_state.mode, st.rack_state.throttled,
                        (intake > hs.ra.crit_c) & (st.rack_state.mode == MODE_ON))
    racks = {rid: RackResult(float(st.rack_inlet_c[i]), float(st.rack_exhaust_c[i]), float(power[i]),
                             float(air_q[i]), names[i], float(share[i]), float(intake[i]))
             for i, rid in enumerate(hs.rack_ids)}
    units = {}
    for j, uid in enumerate(hs.unit_ids):
        ret = float(st.unit_return_c[j])
        if us is None:
            units[uid] = UnitResult(ret, ret, 0.0, 0.0)
            continue
        duty = float(us.duty_w[j])
        if hs.ua.kind[j] == KIND_RDHX:
            duty = float(st.door_duty[int(np.nonzero(hs.doors == j)[0][0])])
        units[uid] = UnitResult(ret, float(us.supply_c[j]), duty, float(us.airflow_m3s[j]),
                                "failed" if st.unit_failed[j] else "running")
    ap = hs.air
    out = HallSummary(
        hall=hs.hall.id, t_s=st.t_s, racks=racks, cooling_units=units,
        max_inlet_c=float(st.rack_inlet_c.max()) if n else None, it_power_w=float(power.sum()),
        energy_error=float(st.energy_error), air_energy_error=float(st.air_energy_error), solve_s=float(st.solve_s),
        grid=GridInfo(ap.nx, ap.ny, ap.nz, ap.dx, ap.dy, ap.dz),
        flow=FlowInfo(bool(flow.converged), float(flow.tile_q.sum()), float(flow.plenum_dp_pa)),
        warnings=list(st.warnings), engine_version=ENGINE_VERSION)
    _add_metrics(out, hs, st, fac, power, power_extras)
    return out


def _add_metrics(out: HallSummary, hs: HallSystem, st: HallState, fac: Facility, rack_power_w: np.ndarray,
                 power_extras: bool = True) -> None:
    """PUE, power-node and cooling headroom (now and N-1), RCI, ASHRAE state per rack (without the power
    chain's headroom and PUE unless ``power_extras``)."""
    us = st.last_unit
    if fac.power is not None:
        if power_extras:
            out.power_nodes, out.pue = solve_power_extras(fac.power)
    else:
        fans = float(us.fan_w.sum()) if us is not None else 0.0
        it = float(np.sum(rack_power_w))
        p = pue(it, it + fans + fac.plant_power_w())
        out.power_nodes, out.pue = {}, (None if not math.isfinite(p) else p)
    if hs.ra.n:
        out.rci_hi = rci_hi(st.rack_inlet_c)
        out.rci_lo = rci_lo(st.rack_inlet_c)
        out.ashrae = ashrae_summary(hs.rack_ids, st.rack_inlet_c, [r.ashrae_class for r in hs.hall.racks])
    air = np.nonzero(hs.air_units)[0]
    if us is not None and len(air):
        out.cooling_headroom = group_headroom([hs.unit_ids[j] for j in air], us.duty_w[air], hs.ua.capacity_w[air],
                                              running=us.airflow_m3s[air] > 0)
    if fac.cplant is not None:
        out.plant_headroom = plant_headroom(fac.cplant)
        out.chw_supply_c = fac.cplant.chw_supply_c


def run_summary(final: HallSummary, st: HallState, stored_j: float, stats: RunStats, fac: Facility,
                log: EventLog, alarms: list[dict], duration_s: float, dt_s: float, n_racks: int) -> RunSummary:
    """The run that just ended at ``final``: what happened during it (``stored_j``: heat stored now)."""
    e_in, e_out, e0 = st.energy_acc[0], st.energy_acc[1], st.energy_acc[2]
    stored = stored_j - e0
    scale = max(abs(e_in), abs(e_out), 1.0)
    out = RunSummary(
        final, duration_s=float(duration_s), dt_s=float(dt_s),
        max_inlet_c=float(stats.max_inlet_c) if n_racks else None, final_max_inlet_c=final.max_inlet_c,
        racks_over_allowable=sorted(stats.over_allowable),
        first_over_allowable_s=min(stats.over_allowable.values()) if stats.over_allowable else None,
        energy_error=float(abs(e_in - e_out - stored) / scale), heat_in_j=float(e_in), heat_removed_j=float(e_out),
        stored_change_j=float(stored), flow_solves=stats.flow_solves, flow_adjusts=stats.flow_adjusts,
        events=log.counts(), racks_down=dict(stats.racks_down), alarms=list(alarms), adaptive=stats.adaptive,
        steps_taken=stats.steps, steps_rejected=stats.rejected, largest_dt_s=float(stats.largest_dt_s))
    if fac.metrics is not None:
        m = fac.metrics.summary(log)
        out.pue_avg, out.it_energy_kwh = m["pue_avg"], m["it_energy_kwh"]
        out.facility_energy_kwh, out.ups_min_soc = m["facility_energy_kwh"], m["ups_min_soc"]
    else:
        e = stats.energy
        out.pue_avg = (e[1] / e[0]) if e[0] > 0 else None
        out.it_energy_kwh, out.facility_energy_kwh, out.ups_min_soc = e[0] / 3.6e6, e[1] / 3.6e6, None
    return out


def hall_metrics(hs: HallSystem, st: HallState, fac: Facility) -> dict[str, float]:
    """Scalar metrics of the hall now, for recordings and trends (the series names are a contract)."""
    us = st.last_unit
    it = float(st.rack_power_w.sum())
    n = hs.ra.n
    out: dict[str, Any] = {"it_power_w": it, "max_inlet_c": float(st.rack_inlet_c.max()) if n else float("nan"),
                           "mean_inlet_c": float(st.rack_inlet_c.mean()) if n else float("nan"),
                           "cooling_duty_w": float(us.duty_w.sum()) if us is not None else 0.0,
                           "unit_fan_w": float(us.fan_w.sum()) if us is not None else 0.0}
    if fac.power is not None:
        out.update(fac.power_figures())
    else:
        out["facility_power_w"] = it + out["unit_fan_w"]
    out["pue"] = out["facility_power_w"] / it if it > 0 else float("nan")
    if fac.cplant is not None:
        out["chw_supply_c"] = fac.cplant.chw_supply_c
        out["outdoor_c"] = fac.cplant.outdoor_c
    return out
