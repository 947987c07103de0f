"""IT equipment (racks) as struct-of-arrays: power, airflow, thermal mass, protection.

Model (PHYSICS.md §2, physics-reference §2.1, §3):

* Power and airflow from utilization u and inlet T with the OpenStudio ITE
  curves: P = P_des (1 − f_fan) fCPU(u, T)·throttle + P_des f_fan (V/V_des)³,
  V = V_des fFlow(u, T). A fraction f_liq of the heat leaves by liquid
  (cold plates → CDU), the rest by air.
* Server thermal mass: C_s dT_s/dt = P_air − ε ṁ cp (T_s − T_in),
  T_out = T_in + ε (T_s − T_in); exact exponential step (any dt). Steady:
  T_out = T_in + P_air/(ρ cp V).
* Cold plates (liquid racks): C_cp dT_cp/dt = P_liq − G_cp (T_cp − T_coolant);
  G_cp = 0 while the CDU is not cooling, so the plates warm at P_liq/C_cp
  (≈ 2 K/s at design) and the rack throttles within seconds, then shuts down.
* Missing blanking panels (``Rack.open_u``): the servers' fans raise the pressure behind them, and
  through the open units the rack's own exhaust flows back to the front. The rear cavity at
  pressure dP over the room empties through the rear door, cabling and cable arms (effective area
  B = V_des / sqrt(2 dP_des / ρ), fixed by dP_des = :data:`RACK_REAR_DP_PA` at the design airflow)
  and through the gaps (C_d A, A = open_u × 0.0215 m2): q_r = C_d A sqrt(2 dP / ρ), so the share
  r = q_r / V = C_d A / (C_d A + B) at any fan speed (small gaps: q_r ≈ C_d A sqrt(2 dP_des / ρ)
  V / V_des). The servers take in (1 − r) room air and r exhaust; the room sees the rack draw and
  blow V (1 − r). Exactly: the rack is a rack without gaps whose air exchange with the room is
  V' = V (1 − r), with ε' = ε / (1 − r + r ε) (both close the same energy balance
  C_s dT_s/dt = P_air − ε' ρ cp V' (T_s − T_room)); its server intake
  T_int = T_room + r ε' (T_s − T_room) (steady: T_room + r (T_out − T_room)), and the curves and the
  protection follow T_int. Steady: P_air = ρ cp V (1 − r) (T_out − T_room).
* Protection: throttle above the warning inlet (ASHRAE class allowable max),
  linearly to 50 % CPU power at the critical inlet (warning + 5 K); above the
  critical inlet for the dwell (60 s) shut down (power and airflow 0); cold
  plates throttle from 85 °C and trip at 95 °C. A rack that is down restarts
  once its inlet (and cold plate) have been fine, and its power on, for 300 s.

Public API (arrays are float64[R] in ``RackArrays.rack_ids`` order unless noted):

``RackArrays.from_racks(racks) -> RackArrays``, ``rack_arrays(hall) -> RackArrays``
    Design parameters (W, m3/s, J/K, W/K, °C, s).
``RackState.initial(ra, inlet_c=None, coolant_c=None) -> RackState``; ``.as_dict()``; ``RackState.from_dict(d)``
    Evolving state: server_c, coldplate_c (°C), mode (int8), throttled (int8),
    over_s, cp_over_s, good_s (s), cause (int8).
``rack_step(ra, st, u, inlet_c, dt_s, powered=None, cdu_ok=None, coolant_c=None, cdu_limit_w=None,
backend="numba") -> RackStep``
    One transient step; ``RackStep.state`` is the new state. Give the air
    ``air_heat_w`` (= ρ cp V (exhaust_c − inlet_c), a step mean), not
    ``air_power_w``: the difference is being stored in the servers, and the
    energy balance closes to round-off only this way.
``rack_steady(ra, u, inlet_c, powered=None, cdu_ok=None, coolant_c=None, backend="numba") -> RackStep``
    Steady state (no dwell timers: racks above critical stay on, throttled, state "critical").
``power_airflow(ra, u, inlet_c, throttle=None, on=None, backend="numba") -> (P, V, P_fan, P_air, P_liq)``
``throttle_factor(ra, inlet_c, coldplate_c=None, backend="numba") -> ndarray``
``power_now(ra, st, u, inlet_c, backend="numba") -> ndarray``
    Power each rack draws in state ``st`` at these inputs (W), without stepping (a restored keyframe).
``recirculated_share(open_u, v_des_m3s) -> ndarray``
    Share r of the servers' airflow that is their own exhaust, back through ``open_u`` open units.
``recirculating_now(ra, st) -> ndarray``
    That share for racks in state ``st`` (0 for racks that are down).
``server_intake_c(ra, inlet_c, st) -> ndarray``
    The servers' intake (°C) of racks in state ``st`` with room air ``inlet_c`` at their fronts.
``state_names(mode, throttled, critical=None) -> list[str]``
``record_rack_events(log, t_s, ra, step, causes=None) -> list[Event]``
    Turn ``RackStep.code`` into EventLog records with a condition text
    (``transition_condition(ra, step, i) -> str`` gives the text alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar, Iterable, Mapping, Optional, Sequence

import numpy as np

from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.layout import U_OPENING_M2, Hall, Rack
from dctwin.twin.model.words import DEG_C, crossed
from dctwin.twin.physics import _it_numba as _nb
from dctwin.twin.physics import _it_numpy as _np
from dctwin.twin.physics import constants as K
from dctwin.twin.physics._util import ArrayState, IndexedArrays, kernel_module, per_element
from dctwin.twin.physics.codes import (
    CAUSE_COLDPLATE, CAUSE_INLET, CAUSE_POWER, MODE_ON, MODE_SHUTDOWN, MODE_UNPOWERED, RACK_P_FLOOR,
    RACK_TRANSITION_KINDS, TR_NONE, TR_POWER_LOST, TR_RESTART, TR_SHUTDOWN, TR_THROTTLE, TR_UNTHROTTLE, rack_params,
)

__all__ = [
    "RackArrays", "RackState", "RackStep", "rack_arrays", "rack_step", "rack_steady", "power_airflow",
    "throttle_factor", "power_now", "recirculated_share", "recirculating_now", "server_intake_c", "state_names",
    "record_rack_events", "TRANSITION_KINDS", "MODE_ON", "MODE_SHUTDOWN", "MODE_UNPOWERED",
]

#: EventLog kind of each transition code
TRANSITION_KINDS = RACK_TRANSITION_KINDS


#: The pressure behind the servers of a fully blanked rack at its design airflow, over the room (Pa): what
#: pushes the exhaust through the rear door (63 % open, the servers' makers' minimum), cable-management arms
#: and cabling. An estimate, not a measurement: Dell measured that the rear door and a cable arm each cost a
#: 1U server about 3 % of its airflow (a few pascals against a server's ~100 Pa fan pressure). It sets how much
#: exhaust an open unit returns: about 3.7 % of a rack's air per open U at 1 m3/s design airflow.
RACK_REAR_DP_PA = 5.0
#: Discharge coefficient of an open rack unit (a sharp-edged slot; as the containment gaps')
GAP_CD = 0.61
#: steady server intake of recirculating racks: fixed point T_int = T_room + r (T_out(T_int) − T_room) to this (K)
INTAKE_TOL_K = 1e-9
INTAKE_MAX_ITER = 2000

#: the kernels of a backend name ("numba" or "numpy")
_backend = partial(kernel_module, numba_module=_nb, numpy_module=_np)


@dataclass
class RackArrays(IndexedArrays):
    """Design parameters of R racks (struct of arrays)."""

    rack_ids: list[str]
    ashrae_class: list[str]
    cdu_ids: list[Optional[str]]
    p_des_w: np.ndarray        # design power (W)
    v_des_m3s: np.ndarray      # design airflow (m3/s)
    fan_frac: np.ndarray       # fan share of design power
    liquid_frac: np.ndarray    # heat share leaving by liquid
    c_s_j_per_k: np.ndarray    # server thermal mass (J/K)
    eps: np.ndarray            # air / server-mass effectiveness
    allow_min_c: np.ndarray    # ASHRAE allowable min inlet (°C)
    warn_c: np.ndarray         # throttle starts above (°C) = allowable max
    crit_c: np.ndarray         # 50 % power; shutdown after dwell above (°C)
    dwell_s: np.ndarray        # time above critical before shutdown (s)
    restart_s: np.ndarray      # time of good conditions before a restart (s)
    c_cp_j_per_k: np.ndarray   # cold-plate thermal mass (J/K), 0 for air racks
    g_cp_w_per_k: np.ndarray   # cold plate → coolant conductance (W/K), 0 for air racks
    cp_warn_c: np.ndarray      # cold-plate throttle start (°C)
    cp_crit_c: np.ndarray      # cold-plate trip (°C)
    cp_dwell_s: np.ndarray     # time above cold-plate critical before trip (s)
    has_liquid: np.ndarray     # int8, 1 if liquid_frac > 0
    prm: np.ndarray = field(default_factory=rack_params)  # model constants for the kernels
    #: int8, 1 = airflow and power fixed (``Rack.airflow_fixed``): the curves are read at the design
    #: inlet whatever the inlet, and the inlet does not throttle (None = no rack fixed)
    fixed: Optional[np.ndarray] = None
    #: share (0..1) of each rack's server airflow that is its own exhaust, back through the units without
    #: blanking panels (``Rack.open_u``; :func:`recirculated_share`); None = every rack fully blanked
    recirc: Optional[np.ndarray] = None
    #: rack units without blanking panels (for the alarms' text); None = none
    open_u: Optional[np.ndarray] = None
    #: the field that lists the ids
    IDS: ClassVar[str] = "rack_ids"

    @classmethod
    def from_racks(cls, racks: Sequence[Rack]) -> "RackArrays":
        """Build from rack elements, filling defaults from :mod:`dctwin.twin.physics.constants`.

        Defaults: fan fraction 0.10 of design power scaled by the air share
        (1 − f_liq); C_s = 20 kJ/K per kW of air-side design heat
        P_des (1 − f_liq) (τ ≈ 4 min; the mass of liquid-cooled parts sits on
        the cold plates) unless the rack gives ``thermal_mass_kj_per_k``; ε = 0.7; warning = class allowable max,
        critical = warning + 5 K, dwell 60 s, restart 300 s; cold plate
        0.5 kJ/K and G = P_liq,des/30 K per rack.
        """
        n = len(racks)
        p = np.array([max(r.it_kw, 0.0) * 1e3 for r in racks], dtype=np.float64)
        lf = np.array([min(max(r.liquid_fraction, 0.0), 1.0) for r in racks], dtype=np.float64)
        v = np.array([max(r.design_airflow_m3s, 0.0) for r in racks], dtype=np.float64)
        ff = np.array([r.fan_fraction if r.fan_fraction is not None else K.FAN_FRACTION * (1.0 - lf[i])
                       for i, r in enumerate(racks)], dtype=np.float64)
        cs = np.array([r.thermal_mass_kj_per_k * 1e3 if r.thermal_mass_kj_per_k is not None
                       else K.SERVER_MASS_J_PER_K_PER_KW * p[i] * (1.0 - lf[i]) / 1e3
                       for i, r in enumerate(racks)],
                      dtype=np.float64)
        lim = [K.ASHRAE_ALLOWABLE_C.get(r.ashrae_class, K.ASHRAE_ALLOWABLE_C["A1"]) for r in racks]
        warn = np.array([b for _, b in lim], dtype=np.float64)
        p_liq = p * lf
        return cls(
            rack_ids=[r.id for r in racks],
            ashrae_class=[r.ashrae_class for r in racks],
            cdu_ids=[r.cdu for r in racks],
            p_des_w=p, v_des_m3s=v, fan_frac=ff, liquid_frac=lf, c_s_j_per_k=cs,
            eps=np.full(n, K.SERVER_EFFECTIVENESS),
            allow_min_c=np.array([a for a, _ in lim], dtype=np.float64),
            warn_c=warn, crit_c=warn + K.CRITICAL_MARGIN_K,
            dwell_s=np.full(n, K.SHUTDOWN_DWELL_S), restart_s=np.full(n, K.RESTART_DELAY_S),
            c_cp_j_per_k=K.COLDPLATE_J_PER_K_PER_KW * p_liq / 1e3,
            g_cp_w_per_k=p_liq / K.COLDPLATE_RISE_K,
            cp_warn_c=np.full(n, K.COLDPLATE_WARN_C), cp_crit_c=np.full(n, K.COLDPLATE_CRIT_C),
            cp_dwell_s=np.full(n, K.COLDPLATE_DWELL_S),
            has_liquid=(p_liq > 0).astype(np.int8),
            fixed=np.array([1 if r.airflow_fixed else 0 for r in racks], dtype=np.int8),
            **_gaps([max(r.open_u, 0.0) for r in racks], v),
        )

    def recirculating(self) -> bool:
        """Whether any rack returns some of its exhaust to its servers (open units without panels)."""
        return self.recirc is not None and bool((self.recirc > 0).any())

    def room_exchange(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(V (1 − r), ε / (1 − r + r ε)): the airflow a rack moving ``v`` through its servers exchanges with
        the room, and the effectiveness that gives its server mass the same heat exchange with the room air."""
        r = self.recirc
        return v * (1.0 - r), self.eps / (1.0 - r + r * self.eps)

    def intake(self, inlet: np.ndarray, server_c: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Server intake (°C) of racks with room air ``inlet`` at their fronts and server mass ``server_c``:
        T_room + r ε' (T_s − T_room) for racks whose fans run (``on``), the room air for the others."""
        if not self.recirculating():
            return inlet
        r = np.where(on != 0, self.recirc, 0.0)
        return inlet + r * self.room_exchange(np.ones(self.n))[1] * (server_c - inlet)

    def curve_inlet(self, inlet: np.ndarray) -> np.ndarray:
        """The inlet temperature the power and airflow curves see: the design inlet for fixed racks."""
        if self.fixed is None or not self.fixed.any():
            return inlet
        return np.where(self.fixed != 0, K.DESIGN_INLET_C, inlet)

    def unthrottled(self, fac: np.ndarray) -> np.ndarray:
        """A throttle factor with fixed racks that run (factor > 0) back at 1."""
        if self.fixed is None or not self.fixed.any():
            return fac
        return np.where((self.fixed != 0) & (fac > 0), 1.0, fac)


def recirculated_share(open_u, v_des_m3s) -> np.ndarray:
    """Share r (0..1) of a rack's server airflow that is its own exhaust, back through ``open_u`` open units.

    r = C_d A / (C_d A + B): the gaps (A = ``open_u`` × :data:`~dctwin.twin.model.layout.U_OPENING_M2`,
    C_d = :data:`GAP_CD`) and the rear path (B = V_des / sqrt(2 dP_des / ρ), dP_des =
    :data:`RACK_REAR_DP_PA`) share the rear pressure; 0 for a rack without gaps or without airflow.
    """
    a = GAP_CD * U_OPENING_M2 * np.maximum(np.asarray(open_u, dtype=np.float64), 0.0)
    b = np.asarray(v_des_m3s, dtype=np.float64) / np.sqrt(2.0 * RACK_REAR_DP_PA / K.RHO_AIR)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a > 0) & (b > 0), a / (a + b), 0.0)


def _gaps(open_u: list[float], v_des: np.ndarray) -> dict[str, Optional[np.ndarray]]:
    """``recirc`` and ``open_u`` of :class:`RackArrays` (None when every rack is fully blanked)."""
    if not any(x > 0 for x in open_u):
        return {"recirc": None, "open_u": None}
    ou = np.array(open_u, dtype=np.float64)
    return {"recirc": recirculated_share(ou, v_des), "open_u": ou}


def server_intake_c(ra: RackArrays, inlet_c, st: "RackState") -> np.ndarray:
    """The servers' intake (°C) of racks in state ``st`` with room air ``inlet_c`` at their fronts: the room
    air, warmed by the exhaust that racks with open units (``Rack.open_u``) return to their servers."""
    inlet = _arr(inlet_c, ra.n, K.DESIGN_INLET_C)
    return ra.intake(inlet, st.server_c, st.mode == MODE_ON)


def recirculating_now(ra: RackArrays, st: "RackState") -> np.ndarray:
    """Share of each rack's server air that is its own exhaust in state ``st`` (0 for a rack that is down)."""
    if not ra.recirculating():
        return np.zeros(ra.n)
    return np.where(st.mode == MODE_ON, ra.recirc, 0.0)


def rack_arrays(hall: Hall) -> RackArrays:
    """:class:`RackArrays` of a hall's racks, in ``hall.racks`` order."""
    return RackArrays.from_racks(hall.racks)


@dataclass
class RackState(ArrayState):
    """Evolving rack state (plain arrays, so a keyframe is a copy)."""

    PREFIX: ClassVar[str] = "rack_"

    server_c: np.ndarray    # server-mass temperature (°C)
    coldplate_c: np.ndarray  # cold-plate temperature (°C)
    mode: np.ndarray        # int8 MODE_ON / MODE_SHUTDOWN / MODE_UNPOWERED
    throttled: np.ndarray   # int8 0/1
    over_s: np.ndarray      # time above critical inlet (s)
    cp_over_s: np.ndarray   # time above critical cold plate (s)
    good_s: np.ndarray      # time of good conditions while down (s)
    cause: np.ndarray       # int8 why down: CAUSE_*

    @classmethod
    def initial(cls, ra: RackArrays, inlet_c: float | np.ndarray | None = None,
                coolant_c: float | np.ndarray | None = None) -> "RackState":
        """Everything on and cold: server at the inlet, cold plates at the coolant temperature."""
        n = ra.n
        t_in = np.broadcast_to(np.asarray(K.ASHRAE_RECOMMENDED_C[0] if inlet_c is None else inlet_c,
                                          dtype=np.float64), (n,)).copy()
        t_cool = np.broadcast_to(np.asarray(K.COOLANT_SUPPLY_C if coolant_c is None else coolant_c,
                                            dtype=np.float64), (n,)).copy()
        return cls(t_in, t_cool, np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n), np.zeros(n),
                   np.zeros(n), np.zeros(n, np.int8))



@dataclass
class RackStep:
    """Result of :func:`rack_step` / :func:`rack_steady` (arrays per rack)."""

    state: RackState
    utilization: np.ndarray
    inlet_c: np.ndarray       # server intake used for the decisions (°C): the room air, warmed by recirculation
    coldplate_c: np.ndarray   # cold-plate temperature used for the decisions (°C)
    power_w: np.ndarray       # electrical power drawn (W)
    airflow_m3s: np.ndarray   # air the rack draws from and blows into the room (m3/s): its servers' less recirculation
    fan_w: np.ndarray         # server fan power (W), part of power_w
    air_power_w: np.ndarray   # heat generated into the air side (W)
    liquid_power_w: np.ndarray  # heat generated into the liquid side (W)
    air_heat_w: np.ndarray    # heat given to the air over the step (W, step mean)
    liquid_heat_w: np.ndarray  # heat given to the coolant over the step (W, step mean)
    exhaust_c: np.ndarray     # exhaust air temperature (°C, step mean; energy-consistent)
    throttle: np.ndarray      # CPU power factor (0.5..1; 0 when down)
    code: np.ndarray          # int8 transition code (TR_*), 0 = none
    critical: np.ndarray      # bool: inlet above critical (steady) / counting the dwell
    #: air through the servers (m3/s; the fans' airflow): ``airflow_m3s`` / (1 − recirc)
    server_airflow_m3s: Optional[np.ndarray] = None
    #: share of the servers' air that is the rack's own exhaust (0 for racks fully blanked or down)
    recirc: Optional[np.ndarray] = None

    @property
    def states(self) -> list[str]:
        return state_names(self.state.mode, self.state.throttled, self.critical)


_arr = per_element


def power_airflow(ra: RackArrays, u, inlet_c, throttle=None, on=None, backend: str = "numba"):
    """(P, V, P_fan, P_air, P_liq) per rack from the OpenStudio curves; see ``power_airflow_kernel``."""
    n = ra.n
    return _backend(backend).power_airflow_kernel(
        _arr(u, n, 1.0), ra.curve_inlet(_arr(inlet_c, n, K.DESIGN_INLET_C)), ra.p_des_w, ra.v_des_m3s, ra.fan_frac,
        ra.liquid_frac, _arr(throttle, n, 1.0), _arr(on, n, 1, np.int8), ra.prm)


def throttle_factor(ra: RackArrays, inlet_c, coldplate_c=None, backend: str = "numba") -> np.ndarray:
    """CPU power factor (0.5..1) from inlet (and cold-plate) temperature."""
    n = ra.n
    return ra.unthrottled(_backend(backend).throttle_kernel(
        _arr(inlet_c, n, K.DESIGN_INLET_C), _arr(coldplate_c, n, K.COOLANT_SUPPLY_C), ra.warn_c, ra.crit_c,
        ra.cp_warn_c, ra.cp_crit_c, ra.has_liquid, ra.prm))


def power_now(ra: RackArrays, st: RackState, u, inlet_c, backend: str = "numba") -> np.ndarray:
    """Electrical power (W) each rack of state ``st`` draws at utilization ``u`` and ``inlet_c`` (°C).

    P = P_des (1 − f_fan) fCPU(u, T)·throttle + P_des f_fan (V/V_des)³ for a rack that is on
    (``st.mode == MODE_ON``), T its server intake (:func:`server_intake_c`), its throttle from the
    intake (and cold plate) of ``st`` as :func:`rack_step` would decide it; 0 for a rack that is down. What a state restored from a
    keyframe draws before its next step (the keyframe holds the state, not the last step's power).
    """
    inlet = server_intake_c(ra, inlet_c, st)
    on = (st.mode == MODE_ON).astype(np.int8)
    fac = throttle_factor(ra, inlet, st.coldplate_c, backend) * on
    return power_airflow(ra, u, inlet, fac, on, backend)[0]


def rack_step(ra: RackArrays, st: RackState, u, inlet_c, dt_s: float, powered=None, cdu_ok=None,
              coolant_c=None, cdu_limit_w=None, backend: str = "numba") -> RackStep:
    """Advance every rack by ``dt_s`` seconds.

    Parameters
    ----------
    ra, st : design arrays and the state at the start of the step (not changed).
    u : utilization per rack (0..1.5).
    inlet_c : inlet air temperature per rack over the step (°C).
    dt_s : step (s), any size: the thermal updates are exact exponentials.
    powered : int8/bool per rack, 0 = all feeds lost (default all powered).
    cdu_ok : int8/bool per rack, 0 = its CDU (or pump) is not cooling (default ok).
    coolant_c : coolant supply temperature per rack (°C, default 30).
    cdu_limit_w : most heat each rack's cold plates may give its CDU (W, default
        unlimited): the rack's share of the CDU capacity, ``rack_limit_w`` of
        :func:`dctwin.twin.physics.cooling_air.cdu_heat`. An overloaded CDU leaves the
        rest in the cold plates, which warm and throttle the rack.

    Order: protection from the start-of-step temperatures → power and
    airflow → server mass → cold plates. Heat to the air this step is
    ``air_heat_w`` (inject it, or equivalently airflow at ``exhaust_c``).
    """
    b = _backend(backend)
    n = ra.n
    u = _arr(u, n, 1.0)
    inlet = _arr(inlet_c, n, K.DESIGN_INLET_C)
    pw = _arr(powered, n, 1, np.int8)
    ok = _arr(cdu_ok, n, 1, np.int8)
    cool = _arr(coolant_c, n, K.COOLANT_SUPPLY_C)
    dt = float(dt_s)
    room = inlet
    # the servers' intake at the start of the step: exact for the state (recirculation is instantaneous)
    inlet = ra.intake(room, st.server_c, st.mode == MODE_ON)
    mode, thr, ov, cov, good, cause, fac, code = b.protection_kernel(
        inlet, st.coldplate_c, pw, st.mode, st.throttled, st.over_s, st.cp_over_s, st.good_s, st.cause,
        ra.warn_c, ra.crit_c, ra.dwell_s, ra.restart_s, ra.cp_warn_c, ra.cp_crit_c, ra.cp_dwell_s,
        ra.has_liquid, dt, ra.prm)
    on = (mode == MODE_ON).astype(np.int8)
    if ra.fixed is not None and ra.fixed.any():
        fac = ra.unthrottled(fac)
        thr = np.where(ra.fixed != 0, 0, thr).astype(np.int8)
        code = np.where((ra.fixed != 0) & ((code == TR_THROTTLE) | (code == TR_UNTHROTTLE)), TR_NONE,
                        code).astype(np.int8)
    p, v, pf, pa, pl = b.power_airflow_kernel(u, ra.curve_inlet(inlet), ra.p_des_w, ra.v_des_m3s, ra.fan_frac,
                                              ra.liquid_frac, fac, on, ra.prm)
    v_room, eps, recirc = _room_side(ra, v, on)
    ts, tout, qa = b.server_mass_kernel(pa, v_room, room, st.server_c, ra.c_s_j_per_k, eps, dt, ra.prm)
    lim = _arr(cdu_limit_w, n, np.inf)
    tcp, ql = b.coldplate_kernel(pl, st.coldplate_c, ra.c_cp_j_per_k, ra.g_cp_w_per_k, cool, ok, lim, dt)
    new = RackState(ts, tcp, mode, thr, ov, cov, good, cause)
    return RackStep(new, u, inlet, st.coldplate_c.copy(), p, v_room, pf, pa, pl, qa, ql, tout, fac, code,
                    (inlet > ra.crit_c) & (mode == MODE_ON), v, recirc)


def _room_side(ra: RackArrays, v: np.ndarray, on: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(airflow exchanged with the room, server effectiveness towards the room air, recirculated share) of
    racks whose servers move ``v``: ``v``, ε and 0 for racks without open units
    (:meth:`RackArrays.room_exchange`)."""
    if not ra.recirculating():
        return v, ra.eps, np.zeros(ra.n)
    v_room, eps = ra.room_exchange(v)
    return v_room, eps, np.where((on != 0) & (v > 0), ra.recirc, 0.0)


def rack_steady(ra: RackArrays, u, inlet_c, powered=None, cdu_ok=None, coolant_c=None,
                backend: str = "numba") -> RackStep:
    """Steady state of every rack at the given inlet temperatures.

    Racks without power are off (mode UNPOWERED); liquid racks whose CDU is
    not cooling have no steady state and are reported shut down (cause
    COLDPLATE); others run throttled by their inlet (no dwell: a rack above
    critical stays on and ``critical`` is True). Exhaust
    T_out = T_in + P_air/(ρ cp V); the returned state (T_s, T_cp) is the
    steady one, so a transient can start from it. Cold plates do not throttle
    here (with the CDU working they sit at coolant + 30 K at design heat).
    """
    b = _backend(backend)
    n = ra.n
    u = _arr(u, n, 1.0)
    inlet = _arr(inlet_c, n, K.DESIGN_INLET_C)
    pw = _arr(powered, n, 1, np.int8) != 0
    ok = _arr(cdu_ok, n, 1, np.int8) != 0
    cool = _arr(coolant_c, n, K.COOLANT_SUPPLY_C)
    dead_cp = (ra.has_liquid != 0) & ~ok & pw
    mode = np.where(~pw, MODE_UNPOWERED, np.where(dead_cp, MODE_SHUTDOWN, MODE_ON)).astype(np.int8)
    cause = np.where(~pw, CAUSE_POWER, np.where(dead_cp, CAUSE_COLDPLATE, 0)).astype(np.int8)
    on = (mode == MODE_ON).astype(np.int8)
    room = inlet

    def at(intake):
        fac = ra.unthrottled(b.throttle_kernel(intake, cool, ra.warn_c, ra.crit_c, ra.cp_warn_c, ra.cp_crit_c,
                                               np.zeros(n, np.int8), ra.prm) * on)
        p, v, pf, pa, pl = b.power_airflow_kernel(u, ra.curve_inlet(intake), ra.p_des_w, ra.v_des_m3s,
                                                  ra.fan_frac, ra.liquid_frac, fac, on, ra.prm)
        v_room, eps, recirc = _room_side(ra, v, on)
        return (fac, p, v, pf, pa, pl, v_room, recirc) + b.server_steady_kernel(pa, v_room, room, eps, ra.prm)

    fac, p, v, pf, pa, pl, v_room, recirc, ts, tout, qa = at(inlet)
    if ra.recirculating():
        # the intake mixes room air and exhaust, whose temperature follows the fans at that intake: iterate
        # T_int = T_room + r (T_out(T_int) − T_room); it contracts by at most r per step (the fans speed up
        # and the protection throttles as the intake warms)
        for _ in range(INTAKE_MAX_ITER):
            intake = room + recirc * (tout - room)
            moved = float(np.abs(intake - inlet).max(initial=0.0))
            inlet = intake
            fac, p, v, pf, pa, pl, v_room, recirc, ts, tout, qa = at(inlet)
            if moved < INTAKE_TOL_K:
                break
    with np.errstate(divide="ignore", invalid="ignore"):
        tcp = np.where(ra.g_cp_w_per_k > 0, cool + pl / np.where(ra.g_cp_w_per_k > 0, ra.g_cp_w_per_k, 1.0),
                       cool)
    thr = ((fac < 1.0) & (on != 0)).astype(np.int8)
    crit = (inlet > ra.crit_c) & (on != 0)
    z = np.zeros(n)
    st = RackState(ts, tcp, mode, thr, z.copy(), z.copy(), z.copy(), cause)
    return RackStep(st, u, inlet, tcp.copy(), p, v_room, pf, pa, pl, qa, pl.copy(), tout, fac,
                    np.zeros(n, np.int8), crit, v, recirc)


#: display names of rack states
STATE_ON, STATE_THROTTLED, STATE_CRITICAL, STATE_SHUTDOWN, STATE_UNPOWERED = (
    "on", "throttled", "critical", "shutdown", "unpowered")


def state_names(mode: np.ndarray, throttled: np.ndarray, critical: Optional[np.ndarray] = None) -> list[str]:
    """One of "on", "throttled", "critical" (running above the critical inlet), "shutdown", "unpowered"."""
    out = []
    for i in range(len(mode)):
        m = int(mode[i])
        if m == MODE_UNPOWERED:
            out.append(STATE_UNPOWERED)
        elif m == MODE_SHUTDOWN:
            out.append(STATE_SHUTDOWN)
        elif critical is not None and bool(critical[i]):
            out.append(STATE_CRITICAL)
        elif throttled[i]:
            out.append(STATE_THROTTLED)
        else:
            out.append(STATE_ON)
    return out


def _last_event(log: EventLog, target: str, kinds: Iterable[str]) -> Optional[Event]:
    kinds = set(kinds)
    events = list(log)
    for ev in reversed(events):
        if ev.target == target and ev.kind in kinds:
            return ev
    return None


def transition_condition(ra: RackArrays, step: RackStep, i: int) -> str:
    """Condition text of rack ``i``'s transition in ``step`` (e.g. "inlet 41.2 °C above critical 40 °C
    for 60 s"); a value that crossed a limit shows as many decimals as it takes to see it crossed."""
    code = int(step.code[i])
    t = float(step.inlet_c[i])
    tcp = float(step.coldplate_c[i])
    warn, crit = float(ra.warn_c[i]), float(ra.crit_c[i])
    if code == TR_THROTTLE:
        f_in = float(_nb._throttle(t, warn, crit, float(ra.prm[RACK_P_FLOOR])))
        if ra.has_liquid[i] and float(step.throttle[i]) < f_in:
            cp_warn = float(ra.cp_warn_c[i])
            return (f"cold plate {crossed(tcp, cp_warn)} {DEG_C} above warning {cp_warn:g} {DEG_C} "
                    f"(power {100 * step.throttle[i]:.0f} %)")
        return f"inlet {crossed(t, warn)} {DEG_C} above warning {warn:g} {DEG_C} (power {100 * step.throttle[i]:.0f} %)"
    if code == TR_UNTHROTTLE:
        return f"inlet {crossed(t, warn, above=False)} {DEG_C} back below warning {warn:g} {DEG_C}"
    if code == TR_SHUTDOWN:
        if int(step.state.cause[i]) == CAUSE_COLDPLATE:
            cp_crit = float(ra.cp_crit_c[i])
            return f"cold plate {crossed(tcp, cp_crit)} {DEG_C} above critical {cp_crit:g} {DEG_C} (no liquid cooling)"
        return f"inlet {crossed(t, crit)} {DEG_C} above critical {crit:g} {DEG_C} for {ra.dwell_s[i]:g} s"
    if code == TR_RESTART:
        head = "power back and " if int(step.state.cause[i]) == CAUSE_POWER else ""
        return f"{head}inlet {t:.1f} {DEG_C} at or below warning {warn:g} {DEG_C} for {ra.restart_s[i]:g} s"
    if code == TR_POWER_LOST:
        return "all feeds lost"
    return ""


def record_rack_events(log: EventLog, t_s: float, ra: RackArrays, step: RackStep,
                       causes: Optional[Mapping[str, int]] = None) -> list[Event]:
    """Record one EventLog event per rack whose ``step.code`` is not TR_NONE.

    Parameters
    ----------
    log : the run's event log.
    t_s : time stamped on the events (normally the end of the step, s).
    ra, step : the rack arrays and the :func:`rack_step` result.
    causes : optional rack id → ``seq`` of the event that caused this
        transition (e.g. the unit failure, the feed loss). Without one, a
        shutdown points at the rack's open throttle event, a rack_down has no
        cause.

    Kinds: throttle, unthrottle, shutdown, restart, rack_down. ``details``
    carry inlet_c, coldplate_c, power_w and throttle.
    """
    out: list[Event] = []
    for i in np.flatnonzero(step.code != TR_NONE):
        rid = ra.rack_ids[i]
        code = int(step.code[i])
        kind = TRANSITION_KINDS[code]
        cause = None if causes is None else causes.get(rid)
        if cause is None and code == TR_SHUTDOWN:
            prev = _last_event(log, rid, ("throttle", "unthrottle", "restart", "shutdown", "rack_down"))
            if prev is not None and prev.kind == "throttle":
                cause = prev.seq
        ev = log.record(t_s, kind, rid, cause, transition_condition(ra, step, int(i)),
                        inlet_c=round(float(step.inlet_c[i]), 3), coldplate_c=round(float(step.coldplate_c[i]), 3),
                        power_w=round(float(step.power_w[i]), 3), throttle=round(float(step.throttle[i]), 4))
        out.append(ev)
    return out
