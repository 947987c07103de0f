"""Cooling units, air side, as struct-of-arrays (PHYSICS.md §3; physics-reference §5.1, §5.5).

Model:

* CRAH / CRAC / in-row units: the supply is held at the setpoint while
  capacity allows; past capacity the supply warms,
  T_supply = T_return − capacity/(ρ cp V), duty = capacity. Duty
  ρ cp V (T_return − T_supply) ≥ 0 (a coil never heats). A chilled-water coil
  (CRAH, in-row) cannot cool the air below chw_supply + approach (3 K), so
  warm chilled water raises the supply. The supply loop is a λ-tuned PI
  whose closed loop is first order: the duty follows its steady value with
  τ = 60 s (τ = 0 in the steady solve, which is exact).
* Fan airflow: fixed (design), or a proportional fan-speed rule on the
  plenum pressure or on the hottest rack inlet (speed 0.3..1 of design,
  first-order response τ = 10 s). Fan power by the EC-fan part-load curve.
* A failed or unpowered unit (``running`` = 0) moves no air and removes no heat.
* Rear-door heat exchanger: cools its rack's exhaust,
  Q = min(capacity, ε ρ cp V (T_exh − T_chw), ρ cp V (T_exh − T_set)).
* CDU: liquid heat sink with a capacity; returns heat removed and excess, and
  each rack's share of the capacity (an overloaded CDU leaves the excess in
  the racks' cold plates, see :func:`dctwin.twin.physics.it.rack_step`).

Simplifications: a CRAC (DX) has a fixed capacity (no outdoor-temperature
capacity curve yet); coils are dry (sensible heat only, SHR = 1).

Public API (arrays in ``UnitArrays.unit_ids`` order, float64[U] unless noted):

``UnitArrays.from_units(units, rack_ids=()) -> UnitArrays``; ``unit_arrays(hall) -> UnitArrays``
``UnitState.initial(ua) -> UnitState`` (duty_w, speed); ``.as_dict()``; ``UnitState.from_dict(d)``
``unit_air_step(ua, st, return_c, dt_s, running=None, chw_supply_c=None, max_inlet_c=None, plenum_pa=None,
backend="numba", supply_tau_s=60, fan_tau_s=10) -> UnitStep``
``unit_air_steady(ua, return_c, running=None, chw_supply_c=None, max_inlet_c=None, plenum_pa=None, speed=None,
backend="numba") -> UnitStep``
``unit_airflow(ua, speed, running=None) -> ndarray`` (m3/s, zero for rdhx / cdu)
``coil(ua, return_c, airflow_m3s, running=None, chw_supply_c=None, duty_prev_w=None, tau_s=0, dt_s=1,
backend="numba") -> (supply_c, duty_w, limited)``
``fan_power(ua, airflow_m3s, backend="numba") -> ndarray`` (W)
``rdhx_after_door(exhaust_c, airflow_m3s, capacity_w, chw_supply_c, setpoint_c, eps=0.7, running=1,
backend="numba") -> (after_c, duty_w)`` (°C, W)
``cdu_heat(ua, liquid_heat_w, rack_cdu, running=None, backend="numba")
-> (load_w, removed_w, excess_w, rack_ok, rack_limit_w)``
``rear_doors(ua, rack_exhaust_c, rack_airflow_m3s, running=None, chw_supply_c=None, backend="numba")
-> (exhaust_c[R], duty_w[U])``
    Every rear door of ``ua`` applied to its rack's exhaust (heat to the air
    drops by the door duty: ρ cp V (T_after − T_in)).
``rack_cdu_index(ua, cdu_ids) -> int32[R]``
``record_unit_events(log, t_s, ua, prev_limited, step, chw_supply_c=None, causes=None) -> list[Event]``
    "capacity_exceeded" events when a unit's ``limited`` flag rises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar, Mapping, Optional, Sequence

import numpy as np

from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.layout import CoolingUnit, Hall
from dctwin.twin.model.words import DEG_C, crossed
from dctwin.twin.physics import _cooling_air_numba as _nb
from dctwin.twin.physics import _cooling_air_numpy as _np
from dctwin.twin.physics import constants as K
from dctwin.twin.physics._util import ArrayState, IndexedArrays, kernel_module, per_element
from dctwin.twin.physics.codes import (
    CONTROL_CODES, CONTROL_DP, CONTROL_FIXED, CONTROL_INLET, CONTROL_PLENUM, CONTROL_RETURN, KIND_CDU, KIND_CRAC,
    KIND_CRAH, KIND_INROW, KIND_RDHX, UNIT_KIND_CODES, UNIT_P_SMAX, UNIT_P_SMIN, unit_params,
)

__all__ = [
    "UnitArrays", "UnitState", "UnitStep", "unit_arrays", "unit_air_step", "unit_air_steady", "unit_airflow",
    "coil", "fan_power", "rdhx_after_door", "cdu_heat", "rack_cdu_index", "record_unit_events", "rear_doors", "KIND_CODES",
    "CONTROL_CODES",
]

KIND_CODES = UNIT_KIND_CODES
#: kinds that move room air with their own fans
AIR_KINDS = (KIND_CRAH, KIND_CRAC, KIND_INROW)
#: kinds whose coil works against chilled water (a CRAC is DX)
CHW_KINDS = (KIND_CRAH, KIND_INROW, KIND_RDHX)


#: the kernels of a backend name ("numba" or "numpy")
_backend = partial(kernel_module, numba_module=_nb, numpy_module=_np)


@dataclass
class UnitArrays(IndexedArrays):
    """Design parameters of U cooling units (struct of arrays)."""

    unit_ids: list[str]
    kinds: list[str]
    kind: np.ndarray          # int8 KIND_*
    is_air: np.ndarray        # int8: 1 for crah / crac / inrow
    uses_chw: np.ndarray      # int8: coil on chilled water
    v_des_m3s: np.ndarray     # design airflow (m3/s)
    capacity_w: np.ndarray    # cooling capacity (W)
    setpoint_c: np.ndarray    # supply setpoint (°C)
    fan_w_des: np.ndarray     # fan (or CDU pump) power at design (W)
    control: np.ndarray       # int8 CONTROL_*
    approach_k: np.ndarray    # coil approach to chilled water (K)
    rdhx_rack: np.ndarray     # int32 rack index a door is mounted on, -1 otherwise
    eps: np.ndarray           # rear-door effectiveness
    inlet_target_c: np.ndarray  # rack-inlet target for CONTROL_INLET (°C)
    plenum_target_pa: np.ndarray  # plenum pressure target for CONTROL_PLENUM (Pa)
    return_target_c: Optional[np.ndarray] = None  # return-air target for CONTROL_RETURN (°C)
    dp_target_pa: Optional[np.ndarray] = None  # zone pressure target for CONTROL_DP (Pa)
    prm: np.ndarray = field(default_factory=unit_params)  # model constants for the kernels
    #: the field that lists the ids
    IDS: ClassVar[str] = "unit_ids"

    @classmethod
    def from_units(cls, units: Sequence[CoolingUnit], rack_ids: Sequence[str] = ()) -> "UnitArrays":
        """Build from unit elements.

        Fan power at design: ``fan_power_kw`` if given, else 694 W per m3/s of
        design airflow for air units (EC plug fan, reference §5.1), 0 for a
        passive rear door, and 1 % of capacity (pump) for a CDU.
        ``rack_ids`` resolves the rack of each rear door (unknown → -1).
        """
        n = len(units)
        rix = {rid: i for i, rid in enumerate(rack_ids)}
        kind = np.array([KIND_CODES.get(u.kind, KIND_CRAH) for u in units], dtype=np.int8)
        v = np.array([max(u.airflow_m3s, 0.0) for u in units], dtype=np.float64)
        cap = np.array([max(u.capacity_kw, 0.0) * 1e3 for u in units], dtype=np.float64)
        fan = np.empty(n)
        for i, u in enumerate(units):
            if u.fan_power_kw is not None:
                fan[i] = u.fan_power_kw * 1e3
            elif kind[i] in AIR_KINDS:
                fan[i] = K.FAN_W_PER_M3S * v[i]
            elif kind[i] == KIND_CDU:
                fan[i] = K.CDU_PUMP_W_PER_W * cap[i]
            else:
                fan[i] = 0.0
        return cls(
            unit_ids=[u.id for u in units], kinds=[u.kind for u in units], kind=kind,
            is_air=np.isin(kind, AIR_KINDS).astype(np.int8), uses_chw=np.isin(kind, CHW_KINDS).astype(np.int8),
            v_des_m3s=v, capacity_w=cap,
            setpoint_c=np.array([u.supply_setpoint_c for u in units], dtype=np.float64),
            fan_w_des=fan,
            control=np.array([CONTROL_CODES.get(u.airflow_control, CONTROL_FIXED) for u in units], dtype=np.int8),
            approach_k=np.full(n, K.COIL_APPROACH_K),
            rdhx_rack=np.array([rix.get(u.rack, -1) if (u.kind == "rdhx" and u.rack) else -1 for u in units],
                               dtype=np.int32),
            eps=np.full(n, K.RDHX_EFFECTIVENESS),
            inlet_target_c=np.full(n, K.INLET_TARGET_C),
            plenum_target_pa=np.full(n, K.PLENUM_TARGET_PA),
            return_target_c=np.array([K.RETURN_TARGET_C if u.return_target_c is None else u.return_target_c
                                      for u in units], dtype=np.float64),
            dp_target_pa=np.array([K.DP_TARGET_PA if u.dp_target_pa is None else u.dp_target_pa for u in units],
                                  dtype=np.float64),
        )


def unit_arrays(hall: Hall) -> UnitArrays:
    """:class:`UnitArrays` of a hall's cooling units (``hall.cooling_units`` order).

    Rear doors are resolved to indices into ``hall.racks``.
    """
    return UnitArrays.from_units(hall.cooling_units, [r.id for r in hall.racks])


@dataclass
class UnitState(ArrayState):
    """Evolving unit state: delivered coil duty (W) and fan speed (fraction of design)."""

    PREFIX: ClassVar[str] = "unit_"

    duty_w: np.ndarray
    speed: np.ndarray

    @classmethod
    def initial(cls, ua: UnitArrays) -> "UnitState":
        """Coils idle, fans at design speed."""
        return cls(np.zeros(ua.n), ua.is_air.astype(np.float64))



@dataclass
class UnitStep:
    """Result of :func:`unit_air_step` / :func:`unit_air_steady` (arrays per unit)."""

    state: UnitState
    return_c: np.ndarray
    supply_c: np.ndarray      # °C (= return for units that move no air)
    duty_w: np.ndarray        # heat removed from the air (W)
    airflow_m3s: np.ndarray   # m3/s (0 for failed units, doors and CDUs)
    fan_w: np.ndarray         # fan power (W)
    limited: np.ndarray       # int8: capacity (or chilled water) limits the supply


_arr = per_element


def unit_airflow(ua: UnitArrays, speed, running=None) -> np.ndarray:
    """Airflow of air units (m3/s): V_des·speed when running; 0 for doors, CDUs, failed units."""
    run = (_arr(running, ua.n, 1, np.int8) != 0) & (ua.is_air != 0)
    return np.where(run, ua.v_des_m3s * _arr(speed, ua.n, 1.0), 0.0)


def coil(ua: UnitArrays, return_c, airflow_m3s, running=None, chw_supply_c=None, duty_prev_w=None,
         tau_s: float = 0.0, dt_s: float = 1.0, backend: str = "numba"):
    """(supply_c, duty_w, limited) of the coils; see ``coil_kernel``. τ = 0: exact steady form."""
    n = ua.n
    run = ((_arr(running, n, 1, np.int8) != 0) & (ua.is_air != 0)).astype(np.int8)
    return _backend(backend).coil_kernel(
        _arr(return_c, n, 0.0), _arr(airflow_m3s, n, 0.0), ua.setpoint_c, ua.capacity_w,
        _arr(chw_supply_c, n, K.CHW_SUPPLY_C), ua.approach_k, ua.uses_chw, run,
        _arr(duty_prev_w, n, 0.0), float(tau_s), float(dt_s), ua.prm)


def fan_power(ua: UnitArrays, airflow_m3s, backend: str = "numba") -> np.ndarray:
    """Fan power of air units (W) by the EC-fan part-load curve; CDU pumps are in :func:`cdu_heat`."""
    return _backend(backend).fan_power_kernel(_arr(airflow_m3s, ua.n, 0.0), ua.v_des_m3s, ua.fan_w_des, ua.prm)


def _speed(ua: UnitArrays, prev, running, max_inlet_c, plenum_pa, dt_s, tau_s, backend, return_c=None,
           dp_speed=None):
    """Fan speeds by the units' control rules. "return_temperature" runs the kernel's proportional
    temperature rule on the unit's own return (gain RETURN_GAIN_PER_K); "containment_dp" takes the
    speed ``dp_speed`` that holds its zone (:func:`dctwin.twin.sim.zones.dp_speeds`; NaN: none, the
    unit runs at design), within the speed limits, following it with the fan time constant."""
    n = ua.n
    run = ((_arr(running, n, 1, np.int8) != 0) & (ua.is_air != 0)).astype(np.int8)
    control = ua.control
    measured = _arr(max_inlet_c, n, K.INLET_TARGET_C)
    target = ua.inlet_target_c
    gain = K.INLET_GAIN_PER_K
    by_return = control == CONTROL_RETURN
    if by_return.any():
        # the kernel's inlet rule with the unit's return and its gain folded into the error
        control = np.where(by_return, CONTROL_INLET, control).astype(control.dtype)
        ret = _arr(return_c, n, K.RETURN_TARGET_C)
        measured = np.where(by_return, target + (ret - ua.return_target_c) * (K.RETURN_GAIN_PER_K / gain),
                            measured)
    by_dp = control == CONTROL_DP
    if by_dp.any():
        control = np.where(by_dp, CONTROL_FIXED, control).astype(control.dtype)
    prev_a = _arr(prev, n, 1.0)
    s = _backend(backend).fan_speed_kernel(
        control, prev_a, run, measured, target,
        _arr(plenum_pa, n, K.PLENUM_TARGET_PA), ua.plenum_target_pa, gain, K.PLENUM_GAIN,
        float(dt_s), float(tau_s), ua.prm)
    if by_dp.any():
        want = _arr(dp_speed, n, np.nan)
        held = by_dp & (run != 0) & np.isfinite(want)
        star = np.clip(np.where(held, want, 1.0), ua.prm[UNIT_P_SMIN], ua.prm[UNIT_P_SMAX])
        decay = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
        s = np.where(held, star + (prev_a - star) * decay, s)
    return s


def unit_air_step(ua: UnitArrays, st: UnitState, return_c, dt_s: float, running=None, chw_supply_c=None,
                  max_inlet_c=None, plenum_pa=None, backend: str = "numba",
                  supply_tau_s: float = K.SUPPLY_LOOP_TAU_S, fan_tau_s: float = K.FAN_SPEED_TAU_S,
                  dp_speed=None) -> UnitStep:
    """Advance the air units by ``dt_s``.

    Parameters
    ----------
    return_c : return (intake) air temperature per unit (°C).
    running : int8/bool per unit, 0 = failed or unpowered (default all running).
    chw_supply_c : chilled-water supply temperature per unit (°C, default CHW_SUPPLY_C = 12), for the plant to drive.
    max_inlet_c : hottest rack inlet each unit watches (°C), for ``inlet_target`` control.
    plenum_pa : plenum pressure each unit watches (Pa), for ``plenum_pressure`` control.
    dp_speed : per unit, the speed that holds its contained zone at its target pressure, for
        ``containment_dp`` control (NaN or None: none); ``return_temperature`` control reads ``return_c``.

    Order: fan speed → airflow → coil (PI loop state) → fan power.
    """
    b = _backend(backend)
    speed = _speed(ua, st.speed, running, max_inlet_c, plenum_pa, dt_s, fan_tau_s, backend, return_c, dp_speed)
    v = unit_airflow(ua, speed, running)
    sup, duty, lim = coil(ua, return_c, v, running, chw_supply_c, st.duty_w, supply_tau_s, dt_s, backend)
    fan = b.fan_power_kernel(v, ua.v_des_m3s, ua.fan_w_des, ua.prm)
    return UnitStep(UnitState(duty, speed), _arr(return_c, ua.n, 0.0), sup, duty, v, fan, lim)


def unit_air_steady(ua: UnitArrays, return_c, running=None, chw_supply_c=None, max_inlet_c=None,
                    plenum_pa=None, speed=None, backend: str = "numba", dp_speed=None) -> UnitStep:
    """Steady state of the air units: τ = 0 for the supply loop and the fan speed.

    ``speed`` (fraction of design) overrides the control rule when given (e.g.
    while the caller iterates airflow and pressure).
    """
    b = _backend(backend)
    if speed is None:
        speed = _speed(ua, None, running, max_inlet_c, plenum_pa, 1.0, 0.0, backend, return_c, dp_speed)
    v = unit_airflow(ua, speed, running)
    sup, duty, lim = coil(ua, return_c, v, running, chw_supply_c, None, 0.0, 1.0, backend)
    fan = b.fan_power_kernel(v, ua.v_des_m3s, ua.fan_w_des, ua.prm)
    spd = np.where(v > 0, _arr(speed, ua.n, 1.0), 0.0)
    return UnitStep(UnitState(duty.copy(), spd), _arr(return_c, ua.n, 0.0), sup, duty, v, fan, lim)


def rdhx_after_door(exhaust_c, airflow_m3s, capacity_w, chw_supply_c, setpoint_c, eps=K.RDHX_EFFECTIVENESS,
                    running=1, backend: str = "numba"):
    """Rear-door heat exchangers on rack exhausts (arrays per door).

    Q = min(capacity, ε ρ cp V (T_exh − T_chw), ρ cp V (T_exh − T_set)), ≥ 0;
    T_after = T_exh − Q/(ρ cp V). Returns (T_after °C, Q W).
    """
    exh = np.atleast_1d(np.asarray(exhaust_c, dtype=np.float64))
    n = exh.shape[0]
    return _backend(backend).rdhx_kernel(
        np.ascontiguousarray(exh), _arr(airflow_m3s, n, 0.0), _arr(capacity_w, n, 0.0),
        _arr(chw_supply_c, n, K.CHW_SUPPLY_C),
        _arr(setpoint_c, n, 18.0), _arr(eps, n, K.RDHX_EFFECTIVENESS), _arr(running, n, 1, np.int8),
        unit_params())


def rear_doors(ua: UnitArrays, rack_exhaust_c, rack_airflow_m3s, running=None, chw_supply_c=None,
               backend: str = "numba") -> tuple[np.ndarray, np.ndarray]:
    """Apply every rear-door heat exchanger of ``ua`` to its rack's exhaust.

    Parameters
    ----------
    rack_exhaust_c, rack_airflow_m3s : per rack (``RackStep.exhaust_c``, ``.airflow_m3s``).
    running : per unit, 0 = door failed / no water (default all running).
    chw_supply_c : chilled-water supply per unit (°C, default 12).

    Returns
    -------
    (exhaust_c float64[R] after the doors, duty_w float64[U]: heat each door took, 0 for other units).
    The heat the rack gives the air drops by the door duty.
    """
    exh = np.array(rack_exhaust_c, dtype=np.float64, copy=True)
    flow = np.asarray(rack_airflow_m3s, dtype=np.float64)
    run = _arr(running, ua.n, 1, np.int8)
    chw = _arr(chw_supply_c, ua.n, K.CHW_SUPPLY_C)
    duty = np.zeros(ua.n)
    for i in np.flatnonzero((ua.kind == KIND_RDHX) & (ua.rdhx_rack >= 0)):
        r = int(ua.rdhx_rack[i])
        after, q = rdhx_after_door(exh[r:r + 1], flow[r:r + 1], ua.capacity_w[i:i + 1], chw[i:i + 1],
                                   ua.setpoint_c[i:i + 1], ua.eps[i:i + 1], run[i:i + 1], backend)
        exh[r] = after[0]
        duty[i] = q[0]
    return exh, duty


def rack_cdu_index(ua: UnitArrays, cdu_ids: Sequence[Optional[str]]) -> np.ndarray:
    """Index into ``ua`` of each rack's CDU (int32[R], -1 = none or not a CDU of this hall)."""
    ix = ua.index()
    return np.array([ix[c] if (c is not None and c in ix and ua.kind[ix[c]] == KIND_CDU) else -1
                     for c in cdu_ids], dtype=np.int32)


def cdu_heat(ua: UnitArrays, liquid_heat_w, rack_cdu, running=None, backend: str = "numba"):
    """CDUs as liquid heat sinks: (load W[U], removed W[U], excess W[U], rack_ok int8[R], rack_limit_w W[R]).

    ``liquid_heat_w`` is each rack's liquid-side heat (``RackStep.liquid_power_w``
    of the previous step). ``rack_ok`` and ``rack_limit_w`` are the ``cdu_ok``
    and ``cdu_limit_w`` inputs of :func:`dctwin.twin.physics.it.rack_step`: the
    rack's share of its CDU's capacity, so an overloaded CDU leaves heat in
    the cold plates and the racks throttle.
    Only units of kind cdu count; the pump power is ``ua.fan_w_des`` while running.
    """
    run = ((_arr(running, ua.n, 1, np.int8) != 0) & (ua.kind == KIND_CDU)).astype(np.int8)
    cap = np.where(ua.kind == KIND_CDU, ua.capacity_w, 0.0)
    lq = np.ascontiguousarray(np.asarray(liquid_heat_w, dtype=np.float64))
    if not (ua.kind == KIND_CDU).any():  # nothing to compute: the reference, so numba need not compile it
        backend = "numpy"
    return _backend(backend).cdu_kernel(lq, np.ascontiguousarray(np.asarray(rack_cdu, dtype=np.int32)), cap, run)


def record_unit_events(log: EventLog, t_s: float, ua: UnitArrays, prev_limited: Optional[np.ndarray],
                       step: UnitStep, chw_supply_c=None,
                       causes: Optional[Mapping[str, int]] = None) -> list[Event]:
    """Record "capacity_exceeded" for each unit whose ``limited`` flag rose since ``prev_limited``.

    The condition says why: the duty the return air needs against the
    capacity, or the chilled water too warm for the setpoint. ``causes``
    optionally maps unit id → ``seq`` of the event behind it (e.g. a
    neighbour's failure).
    """
    prev = np.zeros(ua.n, np.int8) if prev_limited is None else np.asarray(prev_limited)
    chw = _arr(chw_supply_c, ua.n, K.CHW_SUPPLY_C)
    out: list[Event] = []
    for i in np.flatnonzero((step.limited != 0) & (prev == 0)):
        uid = ua.unit_ids[i]
        mcp = K.RHO_CP_AIR * step.airflow_m3s[i]
        floor = chw[i] + ua.approach_k[i]
        if ua.uses_chw[i] and floor > ua.setpoint_c[i] and step.duty_w[i] < ua.capacity_w[i]:
            cond = (f"chilled water {chw[i]:.1f} {DEG_C} + approach {ua.approach_k[i]:g} K is above setpoint "
                    f"{ua.setpoint_c[i]:g} {DEG_C}; supply {step.supply_c[i]:.1f} {DEG_C}")
        else:
            need = mcp * max(step.return_c[i] - ua.setpoint_c[i], 0.0)
            cond = (f"return {step.return_c[i]:.1f} {DEG_C} needs {need / 1e3:.1f} kW, capacity "
                    f"{ua.capacity_w[i] / 1e3:g} kW; supply {crossed(step.supply_c[i], ua.setpoint_c[i])} {DEG_C} "
                    f"above setpoint {ua.setpoint_c[i]:g} {DEG_C}")
        cause = None if causes is None else causes.get(uid)
        out.append(log.record(t_s, "capacity_exceeded", uid, cause, cond,
                              duty_w=round(float(step.duty_w[i]), 3), supply_c=round(float(step.supply_c[i]), 3)))
    return out
