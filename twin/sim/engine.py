"""The simulation engine: a hall's air, racks, cooling units (and power) stepped together.

``Simulation(site)`` compiles the layout once (air grid, rack/unit/workload
arrays) and holds the state as plain arrays, so a keyframe is a copy and a
restore followed by ``step`` is bit-identical to the live run.

Each step of ``dt_s`` (order matters and is fixed):

1. injected events due at the start of the step are applied (failures,
   repairs, load and setpoint changes);
2. utilization u(t) of every rack from its workload profile;
3. racks: protection (throttle/shutdown with dwell) from the start-of-step
   inlet, power and airflow (OpenStudio curves), server thermal mass
   (exact exponential), cold plates against their CDU;
4. cooling units: fan speed, coil with capacity and supply loop;
5. the frozen flow holds while no airflow moved beyond ``FLOW_TOLERANCE``;
   past it, small changes carry the last marched flow over to the new
   airflows (scaled, one projection: ``dctwin.twin.physics.flow_adjust``), and a
   unit or rack starting or stopping, or any airflow moving by more than
   ``FLOW_REMARCH`` from each of the last ``MARCH_CACHE`` marched flows,
   re-marches it (warm-started); a load that swings between two states thus
   marches once per state;
6. air temperature: conservative transport over the step, with rack exhaust
   temperatures chosen so each rack gives the air exactly its heat
   (``T_in + Q/(rho cp q)`` with the flow's rack flux q) and unit supplies /
   plenum tiles at their supply temperatures;
7. rack inlets and unit returns: flow-weighted means over intake faces;
8. automatic actions become events with causes.

The steady solve iterates racks, units, flow and the steady temperature
field to a fixed point (the editor calls it after each edit).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin import __version__
from dctwin.twin.sim.alarms import AlarmMonitor
from dctwin.twin.sim.compile import AirPlant, compile_hall
from dctwin.twin.errors import InputError
from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.layout import Hall, Site
from dctwin.twin.physics import airflow, thermal
from dctwin.twin.physics import constants as K
from dctwin.twin.physics.flow_adjust import adjust_flow
from dctwin.twin.physics.cooling_air import (
    KIND_CDU, KIND_RDHX, UnitArrays, UnitState, UnitStep, cdu_heat, rack_cdu_index, rdhx_after_door,
    unit_air_steady, unit_air_step,
)
from dctwin.twin.physics.it import (
    MODE_ON, RackArrays, RackState, RackStep, rack_steady, rack_step, record_rack_events, state_names,
)
from dctwin.twin.physics.workloads import compile_hall_workloads
from dctwin.twin.physics.plant import CoolingPlant
from dctwin.twin.physics.power import POWER_EVENT_KINDS, PowerSystem
from dctwin.twin.sim.metrics import (
    RunMetrics, ashrae_summary, group_headroom, plant_headroom, pue, rci_hi, rci_lo, solve_power_extras,
)

#: injected kinds the engine itself applies; the power chain and the plant take theirs
ENGINE_EVENT_KINDS = ("fail", "repair", "set_utilization", "set_setpoint")
PLANT_EVENT_KINDS = ("fail", "repair", "cdu_pump_fail", "set_outdoor_c")
INJECTED_KINDS = tuple(dict.fromkeys(ENGINE_EVENT_KINDS + POWER_EVENT_KINDS + PLANT_EVENT_KINDS))

ENGINE_VERSION = __version__
RHO_CP = K.RHO_AIR * K.CP_AIR
#: relative airflow change (of any rack or unit, against the flow's own) that re-marches the flow
FLOW_TOLERANCE = 0.05
#: relative airflow change (of any rack or unit, against the last full march) past which a
#: transient re-marches the flow instead of carrying the marched one over (flow_adjust)
FLOW_REMARCH = 0.25
#: marched flows kept to carry over from (the nearest by airflows is used)
MARCH_CACHE = 3
#: airflow below which a change counts in absolute terms (m3/s)
FLOW_FLOOR_M3S = 0.02
#: steady fixed point: stop when inlets and returns move less than this (K)
STEADY_TOL_K = 0.01
STEADY_MAX_OUTER = 12
#: the quick first answer after an edit: projection tolerance (relative, as the march's) and
#: temperature tolerance (K). 200-rack hall, one rack added: inlets 0.03 K RMS from the converged
#: state (the new rack 0.24 K), against a full warm re-march of seconds
QUICK_PROJECTION_TOL = 1e-5
QUICK_TOL_K = 0.01


def _flow_to_arrays(flow: airflow.Flow) -> dict[str, np.ndarray]:
    out = {}
    for name in ("u", "flux", "port_q", "rack_q", "unit_in_q", "unit_out_q", "tile_q", "grille_q", "phi", "nu_t"):
        out["flow_" + name] = np.array(getattr(flow, name), copy=True)
    out["flow_leak_q"] = np.array(float(flow.leak_q))
    out["flow_plenum_dp_pa"] = np.array(float(flow.plenum_dp_pa))
    return out


def _flow_from_arrays(d: dict[str, np.ndarray]) -> airflow.Flow:
    return airflow.Flow(u=np.array(d["flow_u"]), flux=np.array(d["flow_flux"]), port_q=np.array(d["flow_port_q"]),
                        rack_q=np.array(d["flow_rack_q"]), unit_in_q=np.array(d["flow_unit_in_q"]),
                        unit_out_q=np.array(d["flow_unit_out_q"]), tile_q=np.array(d["flow_tile_q"]),
                        grille_q=np.array(d["flow_grille_q"]), leak_q=float(d["flow_leak_q"]),
                        phi=np.array(d["flow_phi"]), nu_t=np.array(d["flow_nu_t"]),
                        plenum_dp_pa=float(d["flow_plenum_dp_pa"]))


@dataclass
class RunStats:
    """What a transient run accumulates for its summary."""

    max_inlet_c: float = -math.inf
    over_allowable: dict = field(default_factory=dict)  # rack id -> first time over (s)
    racks_down: dict = field(default_factory=dict)  # rack id -> first time down (s)
    energy: list = field(default_factory=lambda: [0.0, 0.0])  # IT, facility (J) without a power graph
    flow_solves: int = 0
    flow_adjusts: int = 0  # small airflow changes followed without a march (flow_adjust)
    steps: int = 0


class Simulation:
    """One hall of a site, compiled and stepped. See the module docstring."""

    def __init__(self, site: Site, hall_id: Optional[str] = None, *, grid_m: Optional[float] = None,
                 dt_s: float = 1.0, base_dir: Optional[str] = None,
                 warm_from: Optional["Simulation"] = None) -> None:
        """Compile ``site`` (one hall). ``warm_from``: the simulation of the layout before an
        edit; its flow and temperatures start this one's solves (same grid only)."""
        if not site.halls:
            raise InputError("the site has no hall to simulate")
        try:
            self.hall: Hall = site.get_hall(hall_id) if hall_id else site.halls[0]
        except KeyError:
            raise InputError(f"no hall {hall_id!r} (halls: {', '.join(h.id for h in site.halls)})") from None
        if not (0 < dt_s <= 10):
            raise InputError(f"dt must be above 0 and at most 10 s, got {dt_s:g}")
        self.site = site
        self.dt_s = float(dt_s)
        self.grid_m = grid_m
        t0 = time.perf_counter()
        self.air: AirPlant = compile_hall(site, self.hall.id, grid_m)
        self.ra: RackArrays = RackArrays.from_racks(self.hall.racks)
        self.ua: UnitArrays = UnitArrays.from_units(self.hall.cooling_units, [r.id for r in self.hall.racks])
        self.wl = compile_hall_workloads(site, self.hall, base_dir)
        self.rack_cdu = rack_cdu_index(self.ua, [r.cdu for r in self.hall.racks])
        self.compile_s = time.perf_counter() - t0
        self.rack_ids: list[str] = [r.id for r in self.hall.racks]
        self.unit_ids: list[str] = [u.id for u in self.hall.cooling_units]
        self._rack_index = {r: i for i, r in enumerate(self.rack_ids)}
        self._unit_index = {u: i for i, u in enumerate(self.unit_ids)}
        self._doors = np.nonzero(self.ua.kind == KIND_RDHX)[0]
        self._door_rack = self.ua.rdhx_rack[self._doors].astype(np.int64)
        self._plenum_units = np.asarray(self.air.unit_plenum, dtype=bool)
        self.events = EventLog()
        self._schedule: list[tuple[float, int, dict]] = []  # scheduled injected events (t, order, spec)
        self._next_event = 0  # index of the first scheduled event not yet applied
        self._due: list[Event] = []  # injected this step, for the power chain and the plant
        self.warnings: list[str] = list(self.air.warnings)
        self.power: Optional[PowerSystem] = PowerSystem(site, log=self.events, manage_racks=False) if site.power_nodes else None
        self.cplant: Optional[CoolingPlant] = (CoolingPlant(site, log=self.events, base_dir=base_dir)
                                               if (site.chillers or site.pumps) else None)
        self._chw_units = np.isin(self.ua.kind, (0, 2, 3))  # crah, inrow, rdhx coils on chilled water
        self._cdu_units = self.ua.kind == KIND_CDU
        if self.power is not None:
            pp = self.power.plant
            self._rack_cons = np.array([pp.consumer_index[r] for r in self.rack_ids], dtype=np.int64)
            self._unit_cons = np.array([pp.consumer_index[u] for u in self.unit_ids], dtype=np.int64)
            # consumers outside this hall draw their design power
            self._base_load = np.zeros(pp.n_consumers)
            for h in site.halls:
                if h.id == self.hall.id:
                    continue
                for r in h.racks:
                    self._base_load[pp.consumer_index[r.id]] = r.it_kw * 1e3
        if self.cplant is not None:
            ix = {c: i for i, c in enumerate(self.cplant.arrays.cdu_ids)}
            self._unit_plant_cdu = np.array([ix.get(u, -1) for u in self.unit_ids], dtype=np.int64)
        self._reset_state()
        self._warm_flow: Optional[airflow.Flow] = None
        if (warm_from is not None and warm_from.flow is not None and warm_from.hall.id == self.hall.id
                and warm_from.air.shape == self.air.shape):
            self._warm_flow = warm_from.flow
            self.T = np.where(self.air.solid, self.hall.supply_c, warm_from.T)
            self._reset_air_history()
            old_r = {r: i for i, r in enumerate(warm_from.rack_ids)}
            for i, rid in enumerate(self.rack_ids):
                if rid in old_r:
                    self.rack_inlet_c[i] = warm_from.rack_inlet_c[old_r[rid]]
            old_u = {u: j for j, u in enumerate(warm_from.unit_ids)}
            for j, uid in enumerate(self.unit_ids):
                if uid in old_u:
                    self.unit_return_c[j] = warm_from.unit_return_c[old_u[uid]]

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        n, m = self.ra.n, self.ua.n
        supply = self.hall.supply_c
        self.t_s = 0.0
        self.T = thermal.initial_temperature(self.air, supply)
        self._reset_air_history()
        self.flow: Optional[airflow.Flow] = None
        self.rack_state = RackState.initial(self.ra, inlet_c=supply)
        self.unit_state = UnitState.initial(self.ua)
        self.rack_inlet_c = np.full(n, supply)
        self.unit_return_c = np.full(m, supply)
        self.rack_failed = np.zeros(n, np.int8)
        self.unit_failed = np.zeros(m, np.int8)
        self.u_override = np.full(n, np.nan)
        self.unit_setpoint_c = self.ua.setpoint_c.copy()
        self.energy_acc = np.zeros(4)  # heat into air (J), removed (J), stored at start (J), unused
        self._last_rack: Optional[RackStep] = None
        self._last_unit: Optional[UnitStep] = None
        self._rack_exhaust_c = np.full(n, supply)
        self._air_carry_j = np.zeros(n)  # heat the air still owes each rack (J), see _settle_exchange
        self._energy_error = 0.0
        self.stats = RunStats()
        self._door_duty = np.zeros(len(self._doors))
        self.metrics = RunMetrics(self.power) if self.power is not None else None
        self._load_w = np.zeros(self.power.plant.n_consumers) if self.power is not None else np.zeros(0)
        self.alarm_monitor = AlarmMonitor(self)

    def _reset_air_history(self) -> None:
        """Forget the air's recent history: the next step starts its solve from T itself."""
        self._air_star = self.T.copy()  # the last backward-Euler iterate T* (°C)
        self._air_rate1 = np.zeros(self.air.shape, np.float32)  # (T* - T*_prev) / dt of the last step (K/s)
        self._air_rate2 = np.zeros(self.air.shape, np.float32)  # the same one step earlier
        self._air_rate_dt = np.zeros(2)  # their step lengths (s); 0 = no history
        self._air_guess = np.empty(self.air.shape)
        self.air_sweeps = 0  # full line sweeps the last step's temperature solve took (0: explicit or guessed)
        self.air_local_passes = 0  # and passes over the few columns still off its tolerance
        self.air_step_s = 0.0  # wall time of the last step's temperature transport (s), for benchmarks

    # ------------------------------------------------------------------ inputs
    def _running_units(self) -> np.ndarray:
        run = self.unit_failed == 0
        if self.power is not None:
            run &= self.power.state.cons_on[self._unit_cons] != 0
        if self.cplant is not None:
            m = self._unit_plant_cdu >= 0
            run[m] &= self.cplant.state.cdu_running[self._unit_plant_cdu[m]] != 0
        return run.astype(np.int8)

    def _powered_racks(self) -> np.ndarray:
        on = self.rack_failed == 0
        if self.power is not None:
            on &= self.power.rack_powered[self._rack_cons]
        return on.astype(np.int8)

    def _chw_supply_c(self) -> Optional[float]:
        return self.cplant.chw_supply_c if self.cplant is not None else None

    def _consumer_load(self, rs: RackStep, us: UnitStep) -> np.ndarray:
        """Power each consumer of the graph draws (W): this hall's racks and units from their
        models, chillers and pumps from the plant, other halls at design."""
        load = self._base_load.copy()
        load[self._rack_cons] = rs.power_w
        unit_w = us.fan_w.copy()
        if self.cplant is not None:
            m = self._unit_plant_cdu >= 0
            unit_w[m] = self.cplant.state.cdu_p_w[self._unit_plant_cdu[m]]
        load[self._unit_cons] = unit_w
        pp = self.power.plant
        if self.cplant is not None:
            load[pp.chiller_slice] = self.cplant.chiller_power_w
            load[pp.pump_slice] = self.cplant.pump_power_w
        return load

    def _heat_to_loop_w(self, us: UnitStep, door_duty: np.ndarray, liquid_removed_w: float) -> float:
        coil = float(us.duty_w[self._chw_units & (self.ua.kind != KIND_RDHX)].sum())
        return coil + float(door_duty.sum()) + liquid_removed_w

    def _utilization(self, t_s: float) -> np.ndarray:
        return self.wl.utilization(t_s, self.u_override)

    def _tile_supply_c(self, supply_c: np.ndarray, airflow_m3s: np.ndarray) -> float:
        """Plenum air: the airflow-weighted supply of the units that blow into it."""
        q = np.where(self._plenum_units, airflow_m3s, 0.0)
        if q.sum() > 0:
            return float((q * supply_c).sum() / q.sum())
        return float(self.hall.supply_c)

    def _needs_flow(self, rack_q: np.ndarray, unit_q: np.ndarray) -> bool:
        if self.flow is None:
            return True
        return (_moved(self._flow_rack_q, rack_q) or _moved(self._flow_unit_q, unit_q))

    def _solve_flow(self, rack_q: np.ndarray, unit_q: np.ndarray, max_time_s: Optional[float] = None) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            init = self.flow if self.flow is not None else self._warm_flow
            self.flow = airflow.solve_flow(self.air, airflow.FlowBC(rack_q.copy(), unit_q.copy()), init=init,
                                           max_time_s=max_time_s)
        for w in caught:
            text = str(w.message)
            if text not in self.warnings:
                self.warnings.append(text)
        self._flow_rack_q = rack_q.copy()
        self._flow_unit_q = unit_q.copy()
        cache = [m for m in getattr(self, "_marches", []) if m[0] is not self.flow][-(MARCH_CACHE - 1):]
        self._marches = cache + [(self.flow, rack_q.copy(), unit_q.copy())]
        self.stats.flow_solves += 1

    def _follow_flow(self, rack_q: np.ndarray, unit_q: np.ndarray) -> None:
        """Airflows moved during a transient: carry the nearest of the last marched flows over to
        them when the change from it is small (no element started or stopped, none moved by
        FLOW_REMARCH), else re-march."""
        base, best = None, math.inf
        for flow, rq, uq in getattr(self, "_marches", []):
            if _small_change(rq, rack_q) and _small_change(uq, unit_q):
                d = max(_largest_change(rq, rack_q), _largest_change(uq, unit_q))
                if d < best:
                    base, best = flow, d
        if base is None:
            self._solve_flow(rack_q, unit_q)
            return
        self.flow = adjust_flow(self.air, airflow.FlowBC(rack_q.copy(), unit_q.copy()), base)
        self._flow_rack_q = rack_q.copy()
        self._flow_unit_q = unit_q.copy()
        self.stats.flow_adjusts += 1

    def _air_heat(self, rack: RackStep, exhaust_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heat each rack gives the air after its rear door (W), door duty per door (W))."""
        heat = rack.air_heat_w.copy()
        duty = np.zeros(len(self._doors))
        if len(self._doors):
            r = self._door_rack
            ok = r >= 0
            run = self._running_units()[self._doors]
            _, d = rdhx_after_door(exhaust_c[r[ok]] if ok.any() else np.zeros(0),
                                   rack.airflow_m3s[r[ok]], self.ua.capacity_w[self._doors][ok],
                                   K.CHW_SUPPLY_C, self.unit_setpoint_c[self._doors][ok],
                                   running=run[ok])
            duty[ok] = d
            np.subtract.at(heat, r[ok], d)
            heat = np.maximum(heat, 0.0)
        return heat, duty

    # ------------------------------------------------------------------ steady
    def solve_steady(self, cancel: Optional[Callable[[], bool]] = None,
                     on_partial: Optional[Callable[["Simulation", dict], None]] = None) -> dict:
        """Steady state at the current time and inputs (flow, racks, units, air). Returns :meth:`summary`.

        ``cancel()`` is polled between iterations; when it returns True the solve stops with
        :class:`Cancelled` (a newer edit supersedes it). ``on_partial(sim, summary)`` gets a quick
        first answer on a briefly re-marched flow when the solve was warm-started, before the
        flow has converged.
        """
        t0 = time.perf_counter()
        if self.flow is None and self._warm_flow is not None and on_partial is not None:
            self._quick_answer(on_partial, t0)
        u = self._utilization(self.t_s)
        powered = self._powered_racks()
        running = self._running_units()
        inlet = self.rack_inlet_c.copy()
        ret = self.unit_return_c.copy()
        liquid = np.zeros(self.ra.n)
        T = self.T
        rs = us = None
        for _ in range(STEADY_MAX_OUTER):
            if cancel is not None and cancel():
                raise Cancelled("the steady solve was superseded")
            _, _, _, cdu_ok, cdu_lim = cdu_heat(self.ua, liquid, self.rack_cdu, running)
            rs = rack_steady(self.ra, u, inlet, powered, cdu_ok)
            us = self._units_steady(ret, running, inlet)
            if self._needs_flow(rs.airflow_m3s, us.airflow_m3s):
                self._solve_flow(rs.airflow_m3s, us.airflow_m3s)
            heat, _ = self._air_heat(rs, rs.exhaust_c)
            tile_c = self._tile_supply_c(us.supply_c, us.airflow_m3s)
            try:
                T = thermal.solve_steady(self.air, self.flow, heat, us.supply_c, tile_c, T0=T)
            except thermal.NoSteadyState as exc:
                raise InputError(str(exc)) from None
            new_in, new_ret = thermal.port_means(self.air, self.flow, T)
            liquid = rs.liquid_power_w
            done = (np.abs(new_in - inlet).max(initial=0.0) < STEADY_TOL_K
                    and np.abs(new_ret - ret).max(initial=0.0) < STEADY_TOL_K)
            inlet, ret = new_in, new_ret
            if done:
                break
        # final consistent evaluation at the converged temperatures
        _, _, _, cdu_ok, _ = cdu_heat(self.ua, liquid, self.rack_cdu, running)
        rs = rack_steady(self.ra, u, inlet, powered, cdu_ok)
        us = self._units_steady(ret, running, inlet)
        self.T = T
        self._reset_air_history()
        self.rack_inlet_c, self.unit_return_c = inlet, ret
        self.rack_state = rs.state
        self.unit_state = us.state
        self._last_rack, self._last_unit = rs, us
        heat, door_duty = self._air_heat(rs, rs.exhaust_c)
        q = self.flow.rack_q
        self._rack_exhaust_c = np.where(q > 0, inlet + heat / (RHO_CP * np.maximum(q, 1e-300)), inlet)
        self._door_duty = door_duty
        tile_c = self._tile_supply_c(us.supply_c, us.airflow_m3s)
        ef = thermal.energy_flows_w(self.air, self.flow, T, self._rack_exhaust_c, us.supply_c, tile_c)
        heat_in = float(heat.sum())
        # heat removed as the cooling units see it (their duty at the returns they breathe) and the air sees it
        unit_duty = float(us.duty_w[self.ua.is_air != 0].sum())
        self._energy_error = abs(unit_duty - heat_in) / heat_in if heat_in > 0 else 0.0
        self._air_energy_error = abs(ef["cooling_w"] - heat_in) / heat_in if heat_in > 0 else 0.0
        self._settle_power_and_plant(rs, us, cdu_heat(self.ua, rs.liquid_power_w, self.rack_cdu, running)[1])
        self._solve_s = time.perf_counter() - t0
        self._air_carry_j = np.zeros(self.ra.n)  # a steady state owes the air nothing
        self.energy_acc[:] = 0.0
        self.energy_acc[2] = self._stored_energy_j()
        self.alarm_monitor.reset()
        self.alarm_monitor.update(0.0)
        return self.summary()

    def _quick_answer(self, on_partial: Callable[["Simulation", dict], None], t0: float) -> None:
        """A first look after an edit: the previous layout's flow carried over to the new one
        (scaled, new walls and airflows, one projection: :func:`~dctwin.twin.physics.flow_adjust.adjust_flow`)
        and the temperatures on it to :data:`QUICK_TOL_K`. The full march then starts from the
        previous flow, as without the quick answer, so the converged state does not depend on it."""
        u = self._utilization(self.t_s)
        running = self._running_units()
        rs = rack_steady(self.ra, u, self.rack_inlet_c, self._powered_racks())
        us = self._units_steady(self.unit_return_c, running, self.rack_inlet_c)
        self.flow = adjust_flow(self.air, airflow.FlowBC(rs.airflow_m3s.copy(), us.airflow_m3s.copy()),
                                self._warm_flow, tol=QUICK_PROJECTION_TOL)
        heat, self._door_duty = self._air_heat(rs, rs.exhaust_c)
        tile_c = self._tile_supply_c(us.supply_c, us.airflow_m3s)
        try:
            self.T = thermal.solve_steady(self.air, self.flow, heat, us.supply_c, tile_c, T0=self.T,
                                          tol_k=QUICK_TOL_K)
        except thermal.NoSteadyState:
            self.flow = None
            return
        self._reset_air_history()
        self.rack_inlet_c, self.unit_return_c = thermal.port_means(self.air, self.flow, self.T)
        q = self.flow.rack_q
        self._rack_exhaust_c = np.where(q > 0, self.rack_inlet_c + heat / (RHO_CP * np.maximum(q, 1e-300)),
                                        self.rack_inlet_c)
        self._last_rack, self._last_unit = rs, us
        self._solve_s = time.perf_counter() - t0
        summary = self.summary()
        summary["settling"] = True
        on_partial(self, summary)
        # the full march follows, warm-started from the previous layout's flow
        self.flow = None

    def _settle_power_and_plant(self, rs: RackStep, us: UnitStep, liq_removed: np.ndarray) -> None:
        """Loads of the steady state into the power chain and the chilled-water plant (no events)."""
        if self.cplant is not None:
            seq0 = self.events.last_seq
            self.cplant.step(0.0, self._heat_to_loop_w(us, self._door_duty, float(np.sum(liq_removed))))
            # a zero-length step only evaluates the plant; it changes nothing that happened
            self.events.truncate_after_seq(seq0)
        if self.power is not None:
            self._load_w = self._consumer_load(rs, us)
            self.power.settle(self._load_w)

    def _units_steady(self, ret: np.ndarray, running: np.ndarray, inlet: np.ndarray) -> UnitStep:
        ua = self.ua
        saved = ua.setpoint_c
        ua.setpoint_c = self.unit_setpoint_c
        try:
            return unit_air_steady(ua, ret, running, chw_supply_c=self._chw_supply_c(),
                                   max_inlet_c=float(inlet.max(initial=self.hall.supply_c)))
        finally:
            ua.setpoint_c = saved

    # ------------------------------------------------------------------ transient
    def _stored_energy_j(self) -> float:
        air = thermal.stored_energy_j(self.air, self.T)
        servers = float((self.ra.c_s_j_per_k * self.rack_state.server_c).sum())
        # heat a rack gave off that reaches the air with its next exhaust (see _settle_exchange)
        owed = float(self._air_carry_j.sum()) if hasattr(self, "_air_carry_j") else 0.0
        return air + servers + owed

    def step(self, dt_s: Optional[float] = None) -> None:
        """Advance the whole hall by ``dt_s`` (default the engine step)."""
        dt = self.dt_s if dt_s is None else float(dt_s)
        if not (0 < dt <= 10):
            raise InputError(f"dt must be above 0 and at most 10 s, got {dt:g}")
        if self.flow is None:
            self.solve_steady()
        self._apply_due_events()
        due, self._due = self._due, []
        seq0 = self.events.last_seq
        if self.power is not None:
            self.power.step(dt, self._load_w, [e for e in due if e.kind in POWER_EVENT_KINDS])
        u = self._utilization(self.t_s)
        powered = self._powered_racks()
        running = self._running_units()
        st = self.rack_state
        liquid = self._last_rack.liquid_power_w if self._last_rack is not None else np.zeros(self.ra.n)
        _, liq_removed, _, cdu_ok, cdu_lim = cdu_heat(self.ua, liquid, self.rack_cdu, running)
        rs = rack_step(self.ra, st, u, self.rack_inlet_c, dt, powered, cdu_ok, None, cdu_lim)
        ua = self.ua
        saved = ua.setpoint_c
        ua.setpoint_c = self.unit_setpoint_c
        try:
            us = unit_air_step(ua, self.unit_state, self.unit_return_c, dt, running,
                               chw_supply_c=self._chw_supply_c(),
                               max_inlet_c=float(self.rack_inlet_c.max(initial=self.hall.supply_c)))
        finally:
            ua.setpoint_c = saved
        if self._needs_flow(rs.airflow_m3s, us.airflow_m3s):
            self._follow_flow(rs.airflow_m3s, us.airflow_m3s)
        heat, door_duty = self._air_heat(rs, rs.exhaust_c)
        q = self.flow.rack_q
        # exhaust = intake air + the rack's heat, with the intake air of the last step and the heat
        # the air still owes the rack from the steps before (``_air_carry_j``: it is settled
        # exactly after the solve, see _settle_exchange)
        inlet0 = self.rack_inlet_c
        owed = self._air_carry_j / dt
        exhaust = np.where(q > 0, inlet0 + (heat + owed) / (RHO_CP * np.maximum(q, 1e-300)), inlet0)
        tile_c = self._tile_supply_c(us.supply_c, us.airflow_m3s)
        self._step_air(dt, exhaust, us.supply_c, tile_c)
        self._settle_exchange(us, q, heat + owed, exhaust, dt)
        self.rack_inlet_c, self.unit_return_c = thermal.port_means(self.air, self.flow, self.T)
        # energy book-keeping (air side): what the servers generate into the air; what coils and doors
        # remove (and heat of racks that have no air path, which never reaches the room)
        lost = np.where(q > 0, 0.0, heat)
        self.energy_acc[0] += dt * float(rs.air_power_w.sum())
        self.energy_acc[1] += dt * float(us.duty_w[self.ua.is_air != 0].sum() + door_duty.sum() + lost.sum())
        self._record_rack_events(rs, dt)
        if self.cplant is not None:
            pp = self.power.plant if self.power is not None else None
            cdu_powered = None
            if self.power is not None and len(self.cplant.arrays.cdu_ids):
                cdu_powered = np.array([self.power.state.cons_on[pp.consumer_index[c]]
                                        for c in self.cplant.arrays.cdu_ids], dtype=np.uint8)
            self.cplant.step(dt, self._heat_to_loop_w(us, door_duty, float(np.sum(liq_removed))),
                             chiller_powered=self.power.chiller_on if self.power is not None else None,
                             pump_powered=self.power.pump_on if self.power is not None else None,
                             cdu_powered=cdu_powered,
                             events_in=[e for e in due if e.kind in PLANT_EVENT_KINDS], power=self.power)
        if self.power is not None:
            self._load_w = self._consumer_load(rs, us)
            self.metrics.update(dt, self.power, self.events.since(seq0))
        self.rack_state = rs.state
        self.unit_state = us.state
        self._last_rack, self._last_unit = rs, us
        self._rack_exhaust_c = exhaust
        self._door_duty = door_duty
        self.t_s = self.t_s + dt
        self._track(self.t_s, seq0, dt)
        self.alarm_monitor.update(dt)

    def _settle_exchange(self, us: UnitStep, q: np.ndarray, due_w: np.ndarray, exhaust_c: np.ndarray,
                         dt: float) -> None:
        """Make the racks' and coils' heat exchange with the air exact over the run.

        The air leaves through intakes at the solve's own temperatures T* (the flux-form update),
        which the step could not know when it set the exhausts from the last step's inlets. A
        rack whose intake air came out warmer gave the air ``rho cp q (T*_in - inlet)`` less than
        it was due: the difference is carried to the next step's exhaust (``_air_carry_j``), so
        over a run the air gets the racks' heat exactly, a step late at most. A coil's duty is
        what it took from the air: ``rho cp q (T*_return - supply)``. The energy balance of a
        run closes to round-off (it missed 0.38 % of the heat over a CRAH failure before)."""
        in_star, ret_star = thermal.port_means(self.air, self.flow, self._air_star)
        got_w = RHO_CP * q * (exhaust_c - in_star)
        self._air_carry_j = np.where(q > 0, (due_w - got_w) * dt, self._air_carry_j)
        air = (self.ua.is_air != 0) & (self.flow.unit_in_q > 0)
        if air.any():
            us.duty_w[air] = RHO_CP * self.flow.unit_in_q[air] * (ret_star[air] - us.supply_c[air])

    def _air_guess_for(self, dt: float) -> np.ndarray:
        """The last two steps' iterates T* extrapolated over ``dt`` (the implicit solve's start)."""
        h1, h2 = float(self._air_rate_dt[0]), float(self._air_rate_dt[1])
        return thermal.extrapolate(self._air_star, self._air_rate1, self._air_rate2, h1, h2, dt,
                                   out=self._air_guess)

    def _step_air(self, dt: float, exhaust_c: np.ndarray, supply_c: np.ndarray, tile_c: float) -> None:
        """Air temperature over ``dt``. The implicit solve starts from the last two steps' iterates
        T* extrapolated (fewer sweeps; the result is within the solver tolerance of the
        backward-Euler solution whatever the start), then the rates move on."""
        h1 = float(self._air_rate_dt[0])
        guess = self._air_guess_for(dt)
        info: dict = {}
        t0 = time.perf_counter()
        self.T = thermal.step(self.air, self.flow, self.T, dt, exhaust_c, supply_c, tile_c, iterate=guess, info=info)
        self.air_step_s = time.perf_counter() - t0
        self.air_sweeps = int(info.get("sweeps", 0))
        self.air_local_passes = int(info.get("local_passes", 0))
        r = self._air_rate2
        thermal.rate_of_change(guess, self._air_star, dt, out=r)
        self._air_rate2, self._air_rate1 = self._air_rate1, r
        self._air_star, self._air_guess = guess, self._air_star
        self._air_rate_dt = np.array([dt, h1])

    def _record_rack_events(self, rs: RackStep, dt: float) -> None:
        """Rack transitions as events; a rack that lost its feeds points at the power event behind it."""
        if not rs.code.any():
            return
        causes = self.power.rack_power_causes() if self.power is not None else None
        record_rack_events(self.events, self.t_s + dt, self.ra, rs, causes=causes)

    def _track(self, t_s: float, seq0: int, dt: float) -> None:
        st = self.stats
        st.steps += 1
        for ev in self.events.since(seq0):
            if ev.kind in ("rack_down", "shutdown") and ev.target in self._rack_index:
                st.racks_down.setdefault(ev.target, ev.t_s)
        if self.power is None and self._last_unit is not None:
            it = float(self._last_rack.power_w.sum())
            plant_w = 0.0
            if self.cplant is not None:
                t = self.cplant.totals()
                plant_w = t["chillers_w"] + t["pumps_w"] + t["cdu_pumps_w"]
            st.energy[0] += dt * it
            st.energy[1] += dt * (it + float(self._last_unit.fan_w.sum()) + plant_w)
        if self.ra.n:
            m = float(self.rack_inlet_c.max())
            st.max_inlet_c = max(st.max_inlet_c, m)
            over = np.nonzero((self.rack_inlet_c > self.ra.warn_c) & (self.rack_state.mode == MODE_ON))[0]
            for i in over:
                st.over_allowable.setdefault(self.rack_ids[i], t_s)

    def run(self, duration_s: float, dt_s: Optional[float] = None,
            progress: Optional[Callable[[float], None]] = None,
            on_step: Optional[Callable[["Simulation"], None]] = None) -> dict:
        """Step for ``duration_s`` (the last step is shortened to land on it). Returns :meth:`run_summary`."""
        dt = self.dt_s if dt_s is None else float(dt_s)
        if self.flow is None:
            self.solve_steady()
        t_end = self.t_s + float(duration_s)
        self.stats = RunStats()
        e0 = self._stored_energy_j()
        self.energy_acc[:] = 0.0
        self.energy_acc[2] = e0
        if self.ra.n:
            self.stats.max_inlet_c = float(self.rack_inlet_c.max())
        n = int(math.ceil(duration_s / dt - 1e-9))
        for k in range(n):
            h = min(dt, t_end - self.t_s)
            if h <= 1e-9:
                break
            self.step(h)
            if on_step is not None:
                on_step(self)
            if progress is not None:
                progress(duration_s - (t_end - self.t_s))
        return self.run_summary(duration_s, dt)

    # ------------------------------------------------------------------ events
    def inject(self, kind: str, target: str = "", cause: Optional[int] = None, **details: Any) -> Event:
        """Apply an injected event now and record it.

        Kinds: fail / repair (a rack, cooling unit, power node, chiller, pump or CDU),
        set_utilization (a rack, a row, or "all"; ``utilization``), set_setpoint (a unit;
        ``setpoint_c``), utility_loss / utility_restore (a utility, or "" for all),
        generator_fail_to_start (a generator, or "" for all), breaker_trip (a power node),
        set_outdoor_c (``c``), cdu_pump_fail (a CDU). Raises InputError naming the
        unknown kind or target; nothing is recorded then.
        """
        self._check_injected(kind, target, details)
        if kind in ("fail", "repair"):
            flag = 1 if kind == "fail" else 0
            if target in self._unit_index:
                self.unit_failed[self._unit_index[target]] = flag
            elif target in self._rack_index:
                self.rack_failed[self._rack_index[target]] = flag
        elif kind == "set_utilization":
            self.u_override[self._rack_targets(target)] = float(details["utilization"])
        elif kind == "set_setpoint":
            self.unit_setpoint_c[self._unit_index[target]] = float(details["setpoint_c"])
        elif kind == "cdu_pump_fail" and target in self._unit_index:
            pass  # the plant stops the CDU's pump; the CDU then cools nothing
        ev = self.events.record(self.t_s, kind, target, cause, **details)
        self._due.append(ev)
        return ev

    def _check_injected(self, kind: str, target: str, details: dict) -> None:
        site = self.site
        nodes = {n.id: n.kind for n in site.power_nodes}
        plant_ids = {c.id for c in site.chillers} | {p.id for p in site.pumps}
        if kind in ("fail", "repair"):
            if not (target in self._unit_index or target in self._rack_index or target in nodes
                    or target in plant_ids):
                raise InputError(f"{kind}: no element {target!r} (a rack or cooling unit of hall "
                                 f"{self.hall.id}, a power node, a chiller or a pump)")
        elif kind == "set_utilization":
            value = details.get("utilization")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= float(value) <= 1.5:
                raise InputError(f"set_utilization {target!r}: utilization must be a number 0..1.5, got {value!r}")
            self._rack_targets(target)
        elif kind == "set_setpoint":
            value = details.get("setpoint_c")
            if target not in self._unit_index:
                raise InputError(f"set_setpoint: no cooling unit {target!r} in hall {self.hall.id}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 5.0 <= float(value) <= 45.0:
                raise InputError(f"set_setpoint {target!r}: setpoint_c must be a number 5..45 C, got {value!r}")
        elif kind in ("utility_loss", "utility_restore", "generator_fail_to_start"):
            want = "utility" if kind != "generator_fail_to_start" else "generator"
            if target and nodes.get(target) != want:
                raise InputError(f"{kind}: {target!r} is not a {want} of this site")
            if not target and want not in nodes.values():
                raise InputError(f"{kind}: the site has no {want}")
        elif kind == "breaker_trip":
            if target not in nodes:
                raise InputError(f"breaker_trip: no power node {target!r}")
        elif kind == "set_outdoor_c":
            value = details.get("c")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not -60 <= float(value) <= 60:
                raise InputError(f"set_outdoor_c: c must be a number -60..60 C, got {value!r}")
            if self.cplant is None:
                raise InputError("set_outdoor_c: the site has no chilled-water plant")
        elif kind == "cdu_pump_fail":
            if target not in self._unit_index or self.ua.kind[self._unit_index[target]] != KIND_CDU:
                raise InputError(f"cdu_pump_fail: no CDU {target!r} in hall {self.hall.id}")
        else:
            raise InputError(f"unknown event kind {kind!r} (known: {', '.join(INJECTED_KINDS)})")

    def _rack_targets(self, target: str) -> np.ndarray:
        if target in ("", "all", "*"):
            return np.arange(self.ra.n)
        if target in self._rack_index:
            return np.array([self._rack_index[target]])
        rows = [i for i, r in enumerate(self.hall.racks) if r.row == target]
        if rows:
            return np.array(rows)
        raise InputError(f"no rack or row {target!r} in hall {self.hall.id}")

    def schedule(self, t_s: float, kind: str, target: str = "", **details: Any) -> None:
        """Inject an event at the start of the first step at or after ``t_s``.

        The kind and target are checked now, so a bad incident fails before the run.
        """
        if not isinstance(t_s, (int, float)) or not math.isfinite(t_s) or t_s < 0:
            raise InputError(f"event time must be a finite time >= 0 s, got {t_s!r}")
        if t_s < self.t_s - 1e-9:
            raise InputError(f"cannot schedule {kind} at {t_s:g} s: the simulation is already at {self.t_s:g} s")
        self._check_injected(kind, target, details)
        order = len(self._schedule)
        item = (float(t_s), order, dict(kind=kind, target=target, **details))
        tail = sorted(self._schedule[self._next_event:] + [item], key=lambda p: (p[0], p[1]))
        self._schedule = self._schedule[:self._next_event] + tail

    def _apply_due_events(self) -> None:
        while self._next_event < len(self._schedule) and self._schedule[self._next_event][0] <= self.t_s + 1e-9:
            spec = dict(self._schedule[self._next_event][2])
            self._next_event += 1
            self.inject(spec.pop("kind"), spec.pop("target", ""), **spec)

    # ------------------------------------------------------------------ keyframes
    def keyframe(self) -> dict[str, np.ndarray]:
        """Copies of every state array (restore + step reproduces the live run bit for bit)."""
        if self.flow is None:
            self.solve_steady()
        k: dict[str, np.ndarray] = {"t_s": np.array(self.t_s), "air_T": self.T.copy(),
                                    "air_star": self._air_star.copy(), "air_rate1": self._air_rate1.copy(),
                                    "air_rate2": self._air_rate2.copy(), "air_rate_dt": self._air_rate_dt.copy()}
        k.update(_flow_to_arrays(self.flow))
        k["flow_bc_rack_q"] = self._flow_rack_q.copy()
        k["flow_bc_unit_q"] = self._flow_unit_q.copy()
        # the marched flows later steps may carry over from (the current one is flow_*)
        marches = getattr(self, "_marches", [])
        k["march_count"] = np.array(len(marches), dtype=np.int64)
        for i, (flow, rq, uq) in enumerate(marches):
            if flow is self.flow:
                k[f"march{i}_is_current"] = np.array(1, dtype=np.int8)
            else:
                k.update({f"march{i}_" + n: v for n, v in _flow_to_arrays(flow).items()})
            k[f"march{i}_bc_rack_q"] = rq.copy()
            k[f"march{i}_bc_unit_q"] = uq.copy()
        k.update(self.rack_state.as_dict("rack_"))
        k.update(self.unit_state.as_dict("unit_"))
        for name in ("rack_inlet_c", "unit_return_c", "rack_failed", "unit_failed", "u_override",
                     "unit_setpoint_c", "energy_acc", "_rack_exhaust_c", "_air_carry_j"):
            k[name.lstrip("_")] = np.array(getattr(self, name), copy=True)
        k["liquid_power_w"] = (self._last_rack.liquid_power_w.copy() if self._last_rack is not None
                               else np.zeros(self.ra.n))
        if self.power is not None:
            k.update({"power_" + n: v for n, v in self.power.keyframe().items()})
            k.update({"metrics_" + n: v for n, v in self.metrics.arrays().items()})
            k["load_w"] = self._load_w.copy()
        if self.cplant is not None:
            k.update({"plant_" + n: v for n, v in self.cplant.keyframe().items()})
        k["event_seq"] = np.array(self.events.last_seq, dtype=np.int64)
        k["next_event"] = np.array(self._next_event, dtype=np.int64)
        k.update({"alarm_" + n: v for n, v in self.alarm_monitor.arrays().items()})
        return k

    def restore(self, k: dict[str, np.ndarray]) -> None:
        """Put the state back from a :meth:`keyframe` (of the same layout).

        A keyframe that lacks an array this engine keeps (written by another engine
        version) is refused with InputError; the simulation must then be discarded.
        """
        try:
            self._restore(k)
        except KeyError as exc:
            raise InputError(f"this keyframe lacks the array {exc}: it was written by another dctwin engine "
                             f"version; record the run again") from None

    def _restore(self, k: dict[str, np.ndarray]) -> None:
        if k["air_T"].shape != self.air.shape:
            raise InputError(f"keyframe grid {k['air_T'].shape} does not match this layout's {self.air.shape}")
        self.t_s = float(k["t_s"])
        self.T = np.array(k["air_T"], copy=True)
        self._reset_air_history()
        if all(n in k for n in ("air_star", "air_rate1", "air_rate2", "air_rate_dt")):
            # a keyframe without them (an older recording) restores too: no extrapolation at first
            if any(k[n].shape != self.air.shape for n in ("air_star", "air_rate1", "air_rate2")):
                raise InputError(f"keyframe air history {k['air_rate1'].shape} does not match the grid {self.air.shape}")
            self._air_star = np.array(k["air_star"], dtype=np.float64, copy=True)
            self._air_rate1 = np.array(k["air_rate1"], dtype=np.float32, copy=True)
            self._air_rate2 = np.array(k["air_rate2"], dtype=np.float32, copy=True)
            self._air_rate_dt = np.array(k["air_rate_dt"], dtype=np.float64, copy=True).reshape(2)
        self.flow = _flow_from_arrays(k)
        self._flow_rack_q = np.array(k["flow_bc_rack_q"])
        self._flow_unit_q = np.array(k["flow_bc_unit_q"])
        if "march_count" in k:
            self._marches = []
            for i in range(int(k["march_count"])):
                p = f"march{i}_"
                flow = (self.flow if p + "is_current" in k else
                        _flow_from_arrays({n[len(p):]: v for n, v in k.items() if n.startswith(p + "flow_")}))
                self._marches.append((flow, np.array(k[p + "bc_rack_q"]), np.array(k[p + "bc_unit_q"])))
        else:  # an older keyframe: the flow was marched for the airflows it has
            self._marches = [(self.flow, self._flow_rack_q.copy(), self._flow_unit_q.copy())]
        self.rack_state = RackState.from_dict(k, "rack_")
        self.unit_state = UnitState.from_dict(k, "unit_")
        for name in ("rack_inlet_c", "unit_return_c", "rack_failed", "unit_failed", "u_override",
                     "unit_setpoint_c", "energy_acc"):
            setattr(self, name, np.array(k[name], copy=True))
        self._rack_exhaust_c = np.array(k["rack_exhaust_c"], copy=True)
        # an older keyframe has no carry: nothing owed
        self._air_carry_j = np.array(k["air_carry_j"], copy=True) if "air_carry_j" in k else np.zeros(self.ra.n)
        lp = np.array(k["liquid_power_w"], copy=True)
        self._last_rack = _LiquidOnly(lp)
        if self.power is not None:
            self.power.restore({n[6:]: v for n, v in k.items() if n.startswith("power_")})
            self.metrics.restore({n[8:]: v for n, v in k.items() if n.startswith("metrics_")})
            self._load_w = np.array(k["load_w"], copy=True)
        if self.cplant is not None:
            self.cplant.restore({n[6:]: v for n, v in k.items() if n.startswith("plant_")})
        self._next_event = int(k["next_event"])
        self._due = []
        # events recorded after the keyframe are forgotten; new ones continue its numbering
        self.events.truncate_after_seq(int(k["event_seq"]))
        if "alarm_count" in k:
            self.alarm_monitor.restore({n[6:]: v for n, v in k.items() if n.startswith("alarm_")})

    # ------------------------------------------------------------------ views
    @property
    def alarms(self) -> list[dict]:
        """Alarm records so far (raised and cleared), oldest first: see :mod:`dctwin.twin.sim.alarms`."""
        return self.alarm_monitor.alarms

    @property
    def rack_power_w(self) -> np.ndarray:
        """Electrical power each rack draws now (W)."""
        rs = self._last_rack
        if rs is None or isinstance(rs, _LiquidOnly):
            return np.zeros(self.ra.n)
        return rs.power_w

    @property
    def rack_exhaust_c(self) -> np.ndarray:
        return self._rack_exhaust_c

    def hall_metrics(self) -> dict[str, float]:
        """Scalar metrics of the hall now, for recordings and trends."""
        us = self._last_unit
        it = float(self.rack_power_w.sum())
        out = {"it_power_w": it, "max_inlet_c": float(self.rack_inlet_c.max()) if self.ra.n else float("nan"),
               "mean_inlet_c": float(self.rack_inlet_c.mean()) if self.ra.n else float("nan"),
               "cooling_duty_w": float(us.duty_w.sum()) if us is not None else 0.0,
               "unit_fan_w": float(us.fan_w.sum()) if us is not None else 0.0}
        if self.power is not None:
            t = self.power.totals()
            out["facility_power_w"] = t["facility_w"]
            out["losses_w"] = t["losses_w"]
            soc = self.power.state.soc[self.power.plant.batt_j > 0]
            out["ups_min_soc"] = float(soc.min()) if soc.size else float("nan")
        else:
            out["facility_power_w"] = it + out["unit_fan_w"]
        out["pue"] = out["facility_power_w"] / it if it > 0 else float("nan")
        if self.cplant is not None:
            out["chw_supply_c"] = self.cplant.chw_supply_c
            out["outdoor_c"] = self.cplant.outdoor_c
        return out
    def air_temperature_slice(self, z_m: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """Air temperature (°C) in the horizontal cell layer at height ``z_m``: ([nx, ny], extent)."""
        ap = self.air
        k = int(min(max(math.floor(z_m / ap.dz), 0), ap.nz - 1))
        sl = np.array(self.T[:, :, k], copy=True)
        sl[ap.solid[:, :, k]] = np.nan
        return sl, (0.0, 0.0, ap.nx * ap.dx, ap.ny * ap.dy)

    def summary(self) -> dict:
        """The state now, with the keys of ``dctwin solve --json``."""
        if self.flow is None:
            return self.solve_steady()
        rs, us = self._last_rack, self._last_unit
        n = self.ra.n
        if isinstance(rs, _LiquidOnly) or rs is None:
            power = np.zeros(n)
            air_q = self.flow.rack_q
        else:
            power, air_q = rs.power_w, rs.airflow_m3s
        names = state_names(self.rack_state.mode, self.rack_state.throttled,
                            (self.rack_inlet_c > self.ra.crit_c) & (self.rack_state.mode == MODE_ON))
        racks = {rid: {"inlet_c": float(self.rack_inlet_c[i]), "exhaust_c": float(self._rack_exhaust_c[i]),
                       "power_w": float(power[i]), "airflow_m3s": float(air_q[i]), "state": names[i]}
                 for i, rid in enumerate(self.rack_ids)}
        units = {}
        for j, uid in enumerate(self.unit_ids):
            if us is None:
                units[uid] = {"return_c": float(self.unit_return_c[j]), "supply_c": float(self.unit_return_c[j]),
                              "duty_w": 0.0, "airflow_m3s": 0.0}
            else:
                duty = float(us.duty_w[j])
                if self.ua.kind[j] == KIND_RDHX:
                    k = int(np.nonzero(self._doors == j)[0][0])
                    duty = float(self._door_duty[k])
                units[uid] = {"return_c": float(self.unit_return_c[j]), "supply_c": float(us.supply_c[j]),
                              "duty_w": duty, "airflow_m3s": float(us.airflow_m3s[j]),
                              "state": "failed" if self.unit_failed[j] else "running"}
        it_w = float(power.sum())
        return {
            "hall": self.hall.id,
            "t_s": self.t_s,
            "racks": racks,
            "cooling_units": units,
            "max_inlet_c": float(self.rack_inlet_c.max()) if n else None,
            "it_power_w": it_w,
            "energy_error": float(self._energy_error),
            "air_energy_error": float(getattr(self, "_air_energy_error", 0.0)),
            "solve_s": float(getattr(self, "_solve_s", 0.0)),
            "grid": {"nx": self.air.nx, "ny": self.air.ny, "nz": self.air.nz,
                     "dx_m": self.air.dx, "dy_m": self.air.dy, "dz_m": self.air.dz},
            "flow": {"converged": bool(getattr(self.flow, "converged", True)),
                     "tile_airflow_m3s": float(self.flow.tile_q.sum()),
                     "plenum_dp_pa": float(self.flow.plenum_dp_pa)},
            "warnings": list(self.warnings),
            "engine_version": ENGINE_VERSION,
            **self._metrics_now(power, us),
        }

    def _metrics_now(self, rack_power_w: np.ndarray, us: Optional[UnitStep]) -> dict:
        """PUE, power-node and cooling headroom (now and N-1), RCI, ASHRAE state per rack."""
        out: dict[str, Any] = {}
        fans = float(us.fan_w.sum()) if us is not None else 0.0
        if self.power is not None:
            out.update(solve_power_extras(self.power))
        else:
            plant_w = 0.0
            if self.cplant is not None:
                t = self.cplant.totals()
                plant_w = t["chillers_w"] + t["pumps_w"] + t["cdu_pumps_w"]
            it = float(np.sum(rack_power_w))
            p = pue(it, it + fans + plant_w)
            out["power_nodes"] = {}
            out["pue"] = None if not math.isfinite(p) else p
        if self.ra.n:
            out["rci_hi"] = rci_hi(self.rack_inlet_c)
            out["rci_lo"] = rci_lo(self.rack_inlet_c)
            classes = [r.ashrae_class for r in self.hall.racks]
            out["ashrae"] = ashrae_summary(self.rack_ids, self.rack_inlet_c, classes)
        air = np.nonzero(self.ua.is_air != 0)[0]
        if us is not None and len(air):
            out["cooling_headroom"] = group_headroom([self.unit_ids[j] for j in air], us.duty_w[air],
                                                     self.ua.capacity_w[air], running=us.airflow_m3s[air] > 0)
        if self.cplant is not None:
            out["plant_headroom"] = plant_headroom(self.cplant)
            out["chw_supply_c"] = self.cplant.chw_supply_c
        return out

    def run_summary(self, duration_s: float, dt_s: float) -> dict:
        """Summary of the last :meth:`run`: the state at its end plus what happened during it."""
        s = self.summary()
        e_in, e_out, e0 = self.energy_acc[0], self.energy_acc[1], self.energy_acc[2]
        stored = self._stored_energy_j() - e0
        scale = max(abs(e_in), abs(e_out), 1.0)
        s.update({
            "duration_s": float(duration_s),
            "dt_s": float(dt_s),
            "max_inlet_c": float(self.stats.max_inlet_c) if self.ra.n else None,
            "final_max_inlet_c": s["max_inlet_c"],
            "racks_over_allowable": sorted(self.stats.over_allowable),
            "first_over_allowable_s": (min(self.stats.over_allowable.values())
                                       if self.stats.over_allowable else None),
            "energy_error": float(abs(e_in - e_out - stored) / scale),
            "heat_in_j": float(e_in),
            "heat_removed_j": float(e_out),
            "stored_change_j": float(stored),
            "flow_solves": self.stats.flow_solves,
            "flow_adjusts": self.stats.flow_adjusts,
            "events": self.events.counts(),
            "racks_down": dict(self.stats.racks_down),
            "alarms": list(self.alarms),
        })
        if self.metrics is not None:
            m = self.metrics.summary(self.events)
            s.update({k: m[k] for k in ("pue_avg", "it_energy_kwh", "facility_energy_kwh", "ups_min_soc")})
        else:
            e = self.stats.energy
            s.update({"pue_avg": (e[1] / e[0]) if e[0] > 0 else None, "it_energy_kwh": e[0] / 3.6e6,
                      "facility_energy_kwh": e[1] / 3.6e6, "ups_min_soc": None})
        return s


class Cancelled(Exception):
    """A steady solve was stopped because a newer request superseded it."""


@dataclass
class _LiquidOnly:
    """What a restored keyframe keeps of the last rack step: the liquid heat the CDUs see next."""

    liquid_power_w: np.ndarray


def _largest_change(old: np.ndarray, new: np.ndarray) -> float:
    """Largest relative airflow change (against max(|old|, FLOW_FLOOR_M3S))."""
    if old.size == 0:
        return 0.0
    return float((np.abs(new - old) / np.maximum(np.abs(old), FLOW_FLOOR_M3S)).max())


def _small_change(old: np.ndarray, new: np.ndarray) -> bool:
    """No element started or stopped and none moved by more than FLOW_REMARCH (relative)."""
    if old.shape != new.shape:
        return False
    if ((old > FLOW_FLOOR_M3S) != (new > FLOW_FLOOR_M3S)).any():
        return False
    scale = np.maximum(np.abs(old), FLOW_FLOOR_M3S)
    return not bool((np.abs(new - old) > FLOW_REMARCH * scale).any())


def _moved(old: np.ndarray, new: np.ndarray) -> bool:
    if old.shape != new.shape:
        return True
    diff = np.abs(new - old)
    scale = np.maximum(np.abs(old), FLOW_FLOOR_M3S)
    return bool((diff > FLOW_TOLERANCE * scale).any())
