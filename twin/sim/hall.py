"""One hall's air, racks and cooling units: what a run does not change and what it does.

:class:`HallSystem` is the compiled hall (the air plant, rack and unit arrays, workloads, index
maps, rear doors, CDU maps), built once per layout. :class:`HallState` is everything a run
changes (air temperature and its recent history, the flow and the marched flows it may carry
over from, rack and unit model states, inlets, returns, failures, overrides, setpoints, energy
accounts, exhausts, the heat the air still owes the racks). Its fields say how they keyframe
(:mod:`dctwin.twin.sim.keyframes`), so a keyframe is a copy of the state and a restore followed
by a step is bit-identical to the live run.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import Hall, Site
from dctwin.twin.physics import constants as K
from dctwin.twin.physics import thermal
from dctwin.twin.physics.airflow import Flow
from dctwin.twin.physics.cooling_air import (
    KIND_CRAH, KIND_INROW, KIND_RDHX, UnitArrays, UnitState, UnitStep, rack_cdu_index, rdhx_after_door,
)
from dctwin.twin.physics.it import RackArrays, RackState, RackStep
from dctwin.twin.physics.workloads import compile_hall_workloads
from dctwin.twin.sim.air_models import AIR_MODELS, AirModel, resolve as resolve_air_model
from dctwin.twin.sim.compile import AirPlant, compile_hall
from dctwin.twin.sim.keyframes import array, flow_arrays, marches, nested, restore_state, state_arrays
from dctwin.twin.sim.zones import Zones, dp_speeds, hall_zones

RHO_CP = K.RHO_AIR * K.CP_AIR
#: the keyframe group of the air's recent history (older keyframes lack it)
AIR_HISTORY = "air history"
_GRID_T = "grid"


def exhaust_c(inlet_c: np.ndarray, heat_w: np.ndarray, q_m3s: np.ndarray) -> np.ndarray:
    """Rack exhaust temperature (°C) that gives the air exactly ``heat_w`` (W) on the rack's flux
    ``q_m3s`` (m3/s): ``T_in + Q / (rho cp q)``; the inlet itself where no air flows."""
    return np.where(q_m3s > 0, inlet_c + heat_w / (RHO_CP * np.maximum(q_m3s, 1e-300)), inlet_c)


class HallSystem:
    """The compiled hall: what does not change during a run (see the module docstring)."""

    def __init__(self, site: Site, hall: Hall, grid_m=None, base_dir: Optional[str] = None,
                 air_model: Union[str, AirModel] = "fast") -> None:
        t0 = time.perf_counter()
        self.site, self.hall = site, hall
        try:
            name, model = resolve_air_model(air_model)
        except KeyError:
            raise InputError(f"unknown air model {air_model!r} ({', '.join(AIR_MODELS)})") from None
        #: how the air is solved (:data:`dctwin.twin.sim.air_models.AIR_MODELS`, or a recording's model)
        self.air_model_name = name
        self.air_model: AirModel = model
        self.air: AirPlant = compile_hall(site, hall.id, grid_m)
        #: contained zones and the ports that open into them (containment_dp control)
        self.zones: Zones = hall_zones(self.air)
        self.ra: RackArrays = RackArrays.from_racks(hall.racks)
        self.ua: UnitArrays = UnitArrays.from_units(hall.cooling_units, [r.id for r in hall.racks])
        self.wl = compile_hall_workloads(site, hall, base_dir)
        #: each rack's CDU (index into the units, -1: none)
        self.rack_cdu = rack_cdu_index(self.ua, [r.cdu for r in hall.racks])
        self.compile_s = time.perf_counter() - t0
        self.rack_ids: list[str] = [r.id for r in hall.racks]
        self.unit_ids: list[str] = [u.id for u in hall.cooling_units]
        self.rack_index = {r: i for i, r in enumerate(self.rack_ids)}
        self.unit_index = {u: i for i, u in enumerate(self.unit_ids)}
        #: rear doors (unit indices) and the rack each hangs on
        self.doors = np.nonzero(self.ua.kind == KIND_RDHX)[0]
        self.door_rack = self.ua.rdhx_rack[self.doors].astype(np.int64)
        self.plenum_units = np.asarray(self.air.unit_plenum, dtype=bool)
        self.air_units = self.ua.is_air != 0
        #: coils that give the heat they take from the air to the chilled-water loop (rear doors count apart)
        self.loop_coils = np.isin(self.ua.kind, (KIND_CRAH, KIND_INROW))
        #: a hall whose heat has nowhere to go: the air at rest its potential flows are projected from
        #: (:mod:`dctwin.twin.sim.heatup`); None for every other hall
        self.potential_base: Optional[Flow] = None

    @property
    def supply_c(self) -> float:
        """The hall's design supply temperature (°C), as the layout gives it."""
        return self.hall.supply_c

    def dp_speeds(self, rack_q: np.ndarray, unit_q: np.ndarray, running: np.ndarray) -> Optional[np.ndarray]:
        """The speeds of the units that hold a contained zone's pressure (NaN for the others; None
        when the hall has no contained zone)."""
        if self.zones.n == 0:
            return None
        return dp_speeds(self.zones, self.ua.control, self.ua.v_des_m3s, self.ua.dp_target_pa, rack_q, unit_q,
                         np.asarray(running))

    def units_at(self, setpoint_c: np.ndarray) -> UnitArrays:
        """The unit arrays with the run's supply setpoints (operators change them)."""
        return dataclasses.replace(self.ua, setpoint_c=setpoint_c)

    def tile_supply_c(self, supply_c: np.ndarray, airflow_m3s: np.ndarray) -> float:
        """Plenum air: the airflow-weighted supply of the units that blow into it."""
        q = np.where(self.plenum_units, airflow_m3s, 0.0)
        if q.sum() > 0:
            return float((q * supply_c).sum() / q.sum())
        return float(self.supply_c)

    def air_heat(self, rack: RackStep, exhaust_c: np.ndarray, running: np.ndarray,
                 setpoint_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heat each rack gives the air after its rear door (W), duty per door (W))."""
        heat = rack.air_heat_w.copy()
        duty = np.zeros(len(self.doors))
        if len(self.doors):
            r = self.door_rack
            ok = r >= 0
            _, d = rdhx_after_door(exhaust_c[r[ok]] if ok.any() else np.zeros(0), rack.airflow_m3s[r[ok]],
                                   self.ua.capacity_w[self.doors][ok], K.CHW_SUPPLY_C,
                                   setpoint_c[self.doors][ok], running=running[self.doors][ok])
            duty[ok] = d
            np.subtract.at(heat, r[ok], d)
            heat = np.maximum(heat, 0.0)
        return heat, duty

    def heat_to_loop_w(self, us: UnitStep, door_duty: np.ndarray, liquid_removed_w: float) -> float:
        """Heat the hall gives the chilled-water loop (W): coils, rear doors and CDUs."""
        return float(us.duty_w[self.loop_coils].sum()) + float(door_duty.sum()) + liquid_removed_w


def _no_carry(state: "HallState") -> np.ndarray:
    return np.zeros(len(state.rack_inlet_c))  # an older keyframe has no carry: nothing owed


@dataclass
class HallState:
    """What a run changes (see the module docstring). Fields with keyframe metadata are the
    keyframe; the rest are the results of the last step or solve, kept for the views."""

    t_s: float = array("t_s", scalar=True)
    T: np.ndarray = array("air_T", grid=_GRID_T)  # air temperature (°C)
    air_star: np.ndarray = array("air_star", dtype=np.float64, group=AIR_HISTORY, grid="air history")
    air_rate1: np.ndarray = array("air_rate1", dtype=np.float32, group=AIR_HISTORY, grid="air history")
    air_rate2: np.ndarray = array("air_rate2", dtype=np.float32, group=AIR_HISTORY, grid="air history")
    air_rate_dt: np.ndarray = array("air_rate_dt", dtype=np.float64, group=AIR_HISTORY, shape=(2,))
    flow: Optional[Flow] = flow_arrays("flow_")
    flow_rack_q: np.ndarray = array("flow_bc_rack_q")  # the airflows the flow was made for (m3/s)
    flow_unit_q: np.ndarray = array("flow_bc_unit_q")
    marched: list = marches("flow_rack_q", "flow_unit_q")  # (flow, rack_q, unit_q) of the last marches
    rack_state: RackState = nested("rack_")
    unit_state: UnitState = nested("unit_")
    rack_inlet_c: np.ndarray = array("rack_inlet_c")
    unit_return_c: np.ndarray = array("unit_return_c")
    rack_failed: np.ndarray = array("rack_failed")
    unit_failed: np.ndarray = array("unit_failed")
    u_override: np.ndarray = array("u_override")  # set utilization (NaN: the workload's)
    unit_setpoint_c: np.ndarray = array("unit_setpoint_c")
    energy_acc: np.ndarray = array("energy_acc")  # heat into air (J), removed (J), stored at start (J), unused
    rack_exhaust_c: np.ndarray = array("rack_exhaust_c")
    air_carry_j: np.ndarray = array("air_carry_j", missing=_no_carry)  # heat the air still owes each rack (J)
    liquid_power_w: np.ndarray = array("liquid_power_w")  # liquid-side heat of the last rack step (W)
    # -- not keyframed: the last step's or solve's results
    last_rack: Optional[RackStep] = None  # None after a restore (only its liquid heat is kept)
    restored_power_w: Optional[np.ndarray] = None  # what the racks draw in a restored state, until the next step
    last_unit: Optional[UnitStep] = None
    door_duty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    air_guess: np.ndarray = field(default_factory=lambda: np.zeros(0))  # scratch of the extrapolation
    air_sweeps: int = 0  # full line sweeps the last step's temperature solve took (0: explicit or guessed)
    air_local_passes: int = 0  # and passes over the few columns still off its tolerance
    air_step_s: float = 0.0  # wall time of the last step's temperature transport (s), for benchmarks
    # the implicit temperature solve corrects blocks of columns (thermal.step's ``blocks``): on during an
    # adaptive run, whose steps no recording replays; off in fixed steps (recordings replay bit for bit)
    air_blocks: bool = False
    energy_error: float = 0.0  # the last steady solve's energy balance (units' view)
    air_energy_error: float = 0.0  # and the air's
    solve_s: float = 0.0  # its wall time (s)
    warnings: list[str] = field(default_factory=list)
    warm_flow: Optional[Flow] = None  # the previous layout's flow, which starts the first march
    warm_edit: Optional[tuple] = None  # (the previous layout's plant, its flow): where the edit changed the hall

    @classmethod
    def initial(cls, hs: HallSystem) -> "HallState":
        """Everything at the hall's supply temperature, all racks and units on, no flow yet."""
        n, m, supply = hs.ra.n, hs.ua.n, hs.supply_c
        st = cls(t_s=0.0, T=thermal.initial_temperature(hs.air, supply), air_star=None, air_rate1=None,
                 air_rate2=None, air_rate_dt=None, flow=None, flow_rack_q=np.zeros(0), flow_unit_q=np.zeros(0),
                 marched=[], rack_state=RackState.initial(hs.ra, inlet_c=supply), unit_state=UnitState.initial(hs.ua),
                 rack_inlet_c=np.full(n, supply), unit_return_c=np.full(m, supply),
                 rack_failed=np.zeros(n, np.int8), unit_failed=np.zeros(m, np.int8), u_override=np.full(n, np.nan),
                 unit_setpoint_c=hs.ua.setpoint_c.copy(), energy_acc=np.zeros(4), rack_exhaust_c=np.full(n, supply),
                 air_carry_j=np.zeros(n), liquid_power_w=np.zeros(n), door_duty=np.zeros(len(hs.doors)),
                 warnings=list(hs.air.warnings))
        st.reset_air_history()
        return st

    def warm_start(self, hs: HallSystem, old: HallSystem, old_state: "HallState") -> None:
        """Start from the state of the layout before an edit (same hall and grid): its flow starts
        the first march, its air temperatures and the inlets and returns of elements kept start
        the steady solve."""
        self.warm_flow = old_state.flow
        self.warm_edit = (old.air, old_state.flow)
        self.T = np.where(hs.air.solid, hs.supply_c, old_state.T)
        self.reset_air_history()
        for i, rid in enumerate(hs.rack_ids):
            if rid in old.rack_index:
                self.rack_inlet_c[i] = old_state.rack_inlet_c[old.rack_index[rid]]
        for j, uid in enumerate(hs.unit_ids):
            if uid in old.unit_index:
                self.unit_return_c[j] = old_state.unit_return_c[old.unit_index[uid]]

    def reset_air_history(self) -> None:
        """Forget the air's recent history: the next step starts its solve from T itself."""
        self.air_star = self.T.copy()  # the last backward-Euler iterate T* (°C)
        self.air_rate1 = np.zeros(self.T.shape, np.float32)  # (T* - T*_prev) / dt of the last step (K/s)
        self.air_rate2 = np.zeros(self.T.shape, np.float32)  # the same one step earlier
        self.air_rate_dt = np.zeros(2)  # their step lengths (s); 0 = no history
        self._reset_air_scratch()

    def _reset_air_scratch(self) -> None:
        self.air_guess = np.empty(self.T.shape)
        self.air_sweeps = 0
        self.air_local_passes = 0
        self.air_step_s = 0.0

    def set_last(self, rs: RackStep, us: UnitStep) -> None:
        """The rack and unit results the state now follows from."""
        self.last_rack, self.last_unit = rs, us
        self.liquid_power_w = rs.liquid_power_w

    @property
    def rack_power_w(self) -> np.ndarray:
        """Electrical power each rack draws now (W): the last step's, or after a restore what the restored
        state draws (:func:`dctwin.twin.physics.it.power_now`, set by the engine)."""
        if self.last_rack is not None:
            return self.last_rack.power_w
        if self.restored_power_w is not None:
            return self.restored_power_w
        return np.zeros(len(self.rack_inlet_c))

    def stored_energy_j(self, hs: HallSystem) -> float:
        """Heat held by the air and the servers (J, relative to 0 °C), and what the air still owes the racks."""
        air = thermal.stored_energy_j(hs.air, self.T)
        servers = float((hs.ra.c_s_j_per_k * self.rack_state.server_c).sum())
        # heat a rack gave off that reaches the air with its next exhaust (see transient.settle_exchange)
        return air + servers + float(self.air_carry_j.sum())

    def arrays(self) -> dict[str, np.ndarray]:
        """The keyframe of this state (copies)."""
        return state_arrays(self)

    def restore(self, k: dict[str, np.ndarray], grid: tuple) -> None:
        """Put the state back from :meth:`arrays` (KeyError names a missing array)."""
        absent = restore_state(self, k, grid)
        if AIR_HISTORY in absent:  # an older keyframe: no extrapolation at first
            self.reset_air_history()
        else:
            self._reset_air_scratch()
        self.last_rack = None
        self.restored_power_w = None
