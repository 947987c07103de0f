"""Chilled-water plant: outdoor temperature, chillers, loop and storage, pumps, economizer, CDUs.

Typical use (the engine, each step, after the power step)::

    cp = CoolingPlant(site, log=sim.events)
    cp.step(dt_s, heat_to_loop_w, chiller_powered=ps.chiller_on, pump_powered=ps.pump_on,
            cdu_powered=ps.unit_on[cdu positions], events_in=events, power=ps)
    cp.chw_supply_c          # loop supply temperature for the CRAH coils (°C)
    cp.chiller_power_w, cp.pump_power_w, cp.cdu_pump_power_w   # electric demand for the next power step
    cp.cdu_running           # CDUs whose pump runs (powered and not failed)

``heat_to_loop_w`` is everything the loop absorbs (W): CRAH / in-row / rear-door
coil duties plus the heat the CDUs pass on. Equations in :mod:`dctwin.twin.physics._plant_numba`.
The state is plain arrays (:class:`PlantState`), so a keyframe is a copy.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.layout import Outdoor, Site
from dctwin.twin.model.words import DEG_C
from dctwin.twin.physics import _plant_numba, _plant_numpy
from dctwin.twin.physics.codes import CHILLER_AIR, CHILLER_WATER, LOOP_CHW, LOOP_CODES, LOOP_CW, LOOP_TCS  # noqa: F401
from dctwin.twin.physics.constants import CDU_PUMP_W_PER_W, CP_WATER, RHO_WATER

__all__ = ["OutdoorProfile", "PlantArrays", "PlantState", "CoolingPlant", "compile_plant",
           "initial_plant_state", "step_plant", "MIN_LOOP_VOLUME_M3", "CDU_APPROACH_K"]

#: a loop is never thinner than this (m3) so a zero-volume layout stays stable
MIN_LOOP_VOLUME_M3 = 0.1
#: technology-cooling-system supply = facility water + CDU approach (reference §5.5: 2-5 K [L])
CDU_APPROACH_K = 3.0


# --------------------------------------------------------------------------- outdoor


class OutdoorProfile:
    """Outdoor dry-bulb temperature T(t) (°C), t in s from the start of the run (midnight).

    kinds: ``constant`` (c); ``sine`` (daily: c + amplitude_k cos(2π (t/3600 − peak_hour)/24));
    ``csv`` (a file of ``time, temperature`` rows: time in s, or in h when the
    header's first column is ``hour``/``h``; linear interpolation, held at the ends).
    """

    def __init__(self, outdoor: Outdoor, base_dir: Optional[str] = None):
        self.kind = outdoor.kind
        self.c = float(outdoor.c)
        self.amplitude_k = float(outdoor.amplitude_k)
        self.peak_hour = float(outdoor.peak_hour)
        self.times_s = np.zeros(0)
        self.temps_c = np.zeros(0)
        if self.kind == "csv":
            if not outdoor.path:
                raise InputError("plant.outdoor.path: a csv outdoor profile needs a path")
            path = outdoor.path
            if base_dir and not os.path.isabs(path):
                path = os.path.join(base_dir, path)
            self.times_s, self.temps_c = read_outdoor_csv(path)
        elif self.kind not in ("constant", "sine"):
            raise InputError(f"plant.outdoor.kind: unknown outdoor profile {self.kind!r} (constant, sine or csv)")

    def at(self, t_s: float) -> float:
        """Outdoor temperature (°C) at ``t_s``."""
        if self.kind == "sine":
            return self.c + self.amplitude_k * math.cos(2.0 * math.pi * (t_s / 3600.0 - self.peak_hour) / 24.0)
        if self.kind == "csv":
            return float(np.interp(t_s, self.times_s, self.temps_c))
        return self.c


def read_outdoor_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``time, temperature`` (°C). Errors name the file and the line."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise InputError(f"outdoor profile {path}: cannot read ({exc.strerror or exc})") from None
    scale = 1.0
    times: list[float] = []
    temps: list[float] = []
    for line, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            raise InputError(f"outdoor profile {path}, line {line}: expected 'time, temperature'")
        try:
            t, c = float(row[0]), float(row[1])
        except ValueError:
            if not times:  # header
                scale = 3600.0 if row[0].strip().lower() in ("hour", "hours", "h", "t_h") else 1.0
                continue
            raise InputError(f"outdoor profile {path}, line {line}: not numbers: {','.join(row)!r}") from None
        if not (math.isfinite(t) and math.isfinite(c)) or not -80.0 <= c <= 70.0:
            raise InputError(f"outdoor profile {path}, line {line}: temperature {c:g} {DEG_C} is out of range")
        if times and t * scale <= times[-1]:
            raise InputError(f"outdoor profile {path}, line {line}: times must increase")
        times.append(t * scale)
        temps.append(c)
    if not times:
        raise InputError(f"outdoor profile {path}: no data rows")
    return np.asarray(times), np.asarray(temps)


# --------------------------------------------------------------------------- compiled plant


@dataclass
class PlantArrays:
    """Static arrays of the plant."""

    chiller_ids: list[str]
    ch_kind: np.ndarray        # int8 CHILLER_WATER / CHILLER_AIR
    ch_cap_w: np.ndarray
    ch_cop: np.ndarray
    ch_restart_s: np.ndarray
    pump_ids: list[str]
    pump_loop: np.ndarray      # int8 LOOP_*
    pump_flow_m3s: np.ndarray
    pump_w: np.ndarray
    cdu_ids: list[str]
    cdu_cap_w: np.ndarray
    cdu_pump_w: np.ndarray
    t_set_c: float
    loop_volume_m3: float
    tank_volume_m3: float
    c_loop_j_per_k: float      # ρ c (V_loop + V_tank)
    econ_enabled: int
    econ_approach_k: float
    econ_margin_k: float
    outdoor: OutdoorProfile


def compile_plant(site: Site, base_dir: Optional[str] = None) -> PlantArrays:
    """Compile the site's chillers, pumps, CDUs and plant settings."""
    p = site.plant
    cdus = [u for h in site.halls for u in h.cooling_units if u.kind == "cdu"]
    tank = p.storage_tank.volume_m3 if p.storage_tank is not None else 0.0
    vol = max(p.loop_volume_m3, MIN_LOOP_VOLUME_M3)
    return PlantArrays(
        chiller_ids=[c.id for c in site.chillers],
        ch_kind=np.array([CHILLER_AIR if c.kind == "air_cooled" else CHILLER_WATER for c in site.chillers], np.int8),
        ch_cap_w=np.array([c.capacity_kw * 1e3 for c in site.chillers], float),
        ch_cop=np.array([c.cop for c in site.chillers], float),
        ch_restart_s=np.array([c.restart_delay_s for c in site.chillers], float),
        pump_ids=[q.id for q in site.pumps],
        pump_loop=np.array([LOOP_CODES.get(q.loop, LOOP_CHW) for q in site.pumps], np.int8),
        pump_flow_m3s=np.array([q.flow_m3s for q in site.pumps], float),
        pump_w=np.array([q.power_kw * 1e3 for q in site.pumps], float),
        cdu_ids=[u.id for u in cdus],
        cdu_cap_w=np.array([u.capacity_kw * 1e3 for u in cdus], float),
        cdu_pump_w=np.array([(u.fan_power_kw * 1e3 if u.fan_power_kw is not None
                              else CDU_PUMP_W_PER_W * u.capacity_kw * 1e3) for u in cdus], float),
        t_set_c=float(p.chw_supply_c), loop_volume_m3=float(p.loop_volume_m3), tank_volume_m3=float(tank),
        c_loop_j_per_k=RHO_WATER * CP_WATER * (vol + tank),
        econ_enabled=1 if p.economizer.enabled else 0, econ_approach_k=float(p.economizer.approach_k),
        econ_margin_k=float(p.economizer.min_outdoor_margin_k), outdoor=OutdoorProfile(p.outdoor, base_dir),
    )


@dataclass
class PlantState:
    """Everything that evolves in the plant (plain arrays)."""

    t_s: np.ndarray              # [1]
    t_loop_c: np.ndarray         # [1] loop (= supply) water temperature
    outdoor_c: np.ndarray        # [1] outdoor temperature used in the last step
    outdoor_override_c: np.ndarray  # [1] NaN = follow the profile (set_outdoor_c sets it)
    econ_on: np.ndarray          # [1] uint8
    flows: np.ndarray            # [4] chw flow fraction, cw ok, economizer W, unmet W
    q_in_w: np.ndarray           # [1] heat into the loop in the last step
    ch_run: np.ndarray
    ch_timer: np.ndarray
    ch_failed: np.ndarray
    ch_q_w: np.ndarray
    ch_p_w: np.ndarray
    ch_avail_w: np.ndarray
    ch_cause: np.ndarray         # seq of the event behind each chiller's stop / restart
    pump_failed: np.ndarray
    pump_p_w: np.ndarray
    cdu_failed: np.ndarray       # CDU pump failed (cdu_pump_fail / fail; repair clears)
    cdu_running: np.ndarray      # uint8
    cdu_p_w: np.ndarray
    unmet_flag: np.ndarray       # [1] uint8: the plant could not remove all heat last step

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name)[...] = arrays[f.name]


def initial_plant_state(pa: PlantArrays) -> PlantState:
    """Loop at its setpoint, every chiller running, pumps and CDUs healthy."""
    nc, npu, nd = len(pa.chiller_ids), len(pa.pump_ids), len(pa.cdu_ids)
    return PlantState(
        t_s=np.zeros(1), t_loop_c=np.array([pa.t_set_c]), outdoor_c=np.array([pa.outdoor.at(0.0)]),
        outdoor_override_c=np.array([np.nan]), econ_on=np.zeros(1, np.uint8), flows=np.array([1.0, 1.0, 0.0, 0.0]),
        q_in_w=np.zeros(1), ch_run=np.ones(nc, np.uint8), ch_timer=np.zeros(nc), ch_failed=np.zeros(nc, np.uint8),
        ch_q_w=np.zeros(nc), ch_p_w=np.zeros(nc), ch_avail_w=np.zeros(nc), ch_cause=np.zeros(nc, np.int64),
        pump_failed=np.zeros(npu, np.uint8), pump_p_w=pa.pump_w.copy(), cdu_failed=np.zeros(nd, np.uint8),
        cdu_running=np.ones(nd, np.uint8), cdu_p_w=pa.cdu_pump_w.copy(), unmet_flag=np.zeros(1, np.uint8),
    )


def _flag(arr: Optional[np.ndarray], n: int) -> np.ndarray:
    if arr is None:
        return np.ones(n, np.uint8)
    out = np.asarray(arr).astype(np.uint8)
    if out.shape != (n,):
        raise ValueError(f"expected {n} flags, got shape {out.shape}")
    return out


def step_plant(pa: PlantArrays, st: PlantState, dt_s: float, heat_to_loop_w: float,
               chiller_powered: Optional[np.ndarray] = None, pump_powered: Optional[np.ndarray] = None,
               cdu_powered: Optional[np.ndarray] = None, backend: str = "numba") -> None:
    """One plant step of ``dt_s`` from ``st.t_s`` (state updated in place, time advanced).

    ``heat_to_loop_w``: heat the loop absorbs (W); the ``*_powered`` flags come
    from the power system (None = all powered).
    """
    t0 = float(st.t_s[0])
    t_out = float(st.outdoor_override_c[0]) if np.isfinite(st.outdoor_override_c[0]) else pa.outdoor.at(t0)
    st.outdoor_c[0] = t_out
    st.q_in_w[0] = heat_to_loop_w
    kern = _plant_numba.plant_step if backend == "numba" else _plant_numpy.plant_step
    kern(float(dt_s), t_out, pa.t_set_c, pa.c_loop_j_per_k, float(heat_to_loop_w),
         pa.ch_kind, pa.ch_cap_w, pa.ch_cop, pa.ch_restart_s, _flag(chiller_powered, len(pa.chiller_ids)),
         pa.pump_loop, pa.pump_flow_m3s, pa.pump_w, _flag(pump_powered, len(pa.pump_ids)),
         pa.econ_enabled, pa.econ_approach_k, pa.econ_margin_k,
         st.t_loop_c, st.econ_on, st.ch_run, st.ch_timer, st.ch_failed, st.ch_q_w, st.ch_p_w, st.ch_avail_w,
         st.pump_failed, st.pump_p_w, st.flows)
    run = (_flag(cdu_powered, len(pa.cdu_ids)) != 0) & (st.cdu_failed == 0)
    st.cdu_running[:] = run
    st.cdu_p_w[:] = np.where(run, pa.cdu_pump_w, 0.0)
    st.t_s[0] = t0 + float(dt_s)


# --------------------------------------------------------------------------- driver


class CoolingPlant:
    """Compiled plant + state + event recording (what the engine holds)."""

    def __init__(self, site: Site, log: Optional[EventLog] = None, backend: str = "numba",
                 base_dir: Optional[str] = None):
        self.arrays = compile_plant(site, base_dir)
        self.state = initial_plant_state(self.arrays)
        self.log = log if log is not None else EventLog()
        self.backend = backend

    # ---- events
    def apply_events(self, events: Iterable[Event]) -> None:
        """fail / repair of a chiller, pump or CDU; cdu_pump_fail; set_outdoor_c (details c or value;
        no value = back to the profile)."""
        pa, st = self.arrays, self.state
        for ev in events:
            if ev.kind == "set_outdoor_c":
                v = ev.details.get("c", ev.details.get("value", ev.details.get("outdoor_c")))
                st.outdoor_override_c[0] = float(v) if v is not None else np.nan
                continue
            if ev.kind not in ("fail", "repair", "cdu_pump_fail"):
                continue
            bad = 0 if ev.kind == "repair" else 1
            if ev.target in pa.chiller_ids and ev.kind != "cdu_pump_fail":
                i = pa.chiller_ids.index(ev.target)
                st.ch_failed[i] = bad
                st.ch_cause[i] = ev.seq
            elif ev.target in pa.pump_ids and ev.kind != "cdu_pump_fail":
                st.pump_failed[pa.pump_ids.index(ev.target)] = bad
            elif ev.target in pa.cdu_ids:
                st.cdu_failed[pa.cdu_ids.index(ev.target)] = bad

    # ---- step
    def step(self, dt_s: float, heat_to_loop_w: float, chiller_powered: Optional[np.ndarray] = None,
             pump_powered: Optional[np.ndarray] = None, cdu_powered: Optional[np.ndarray] = None,
             events_in: Iterable[Event] = (), power: Any = None) -> list[Event]:
        """Apply events, advance ``dt_s``, record chiller stops/restarts, economizer and
        capacity events. ``power``: the :class:`~dctwin.twin.physics.power.PowerSystem`, used to name
        why an unpowered chiller stopped. Returns the recorded events."""
        self.apply_events(events_in)
        pa, st = self.arrays, self.state
        t0 = float(st.t_s[0])
        run_before = st.ch_run.copy()
        econ_before = int(st.econ_on[0])
        step_plant(pa, st, dt_s, heat_to_loop_w, chiller_powered, pump_powered, cdu_powered, self.backend)
        out: list[Event] = []
        for i, cid in enumerate(pa.chiller_ids):
            if run_before[i] and not st.ch_run[i]:
                cause = int(st.ch_cause[i]) if st.ch_failed[i] else None
                cond = "failed" if st.ch_failed[i] else "lost power"
                if not st.ch_failed[i] and power is not None and cid in power.plant.consumer_index:
                    cause = power.consumer_cause(cid)
                ev = self.log.record(t0, "chiller_stop", cid, cause=cause, condition=cond)
                st.ch_cause[i] = ev.seq
                out.append(ev)
            elif not run_before[i] and st.ch_run[i]:
                ev = self.log.record(t0, "chiller_restart", cid, cause=int(st.ch_cause[i]) or None,
                                     condition=f"restart delay {pa.ch_restart_s[i]:g} s elapsed")
                st.ch_cause[i] = ev.seq
                out.append(ev)
        if int(st.econ_on[0]) != econ_before:
            kind = "economizer_on" if st.econ_on[0] else "economizer_off"
            out.append(self.log.record(t0, kind, "plant", condition=f"outdoor {st.outdoor_c[0]:.1f} {DEG_C}",
                                       outdoor_c=float(st.outdoor_c[0])))
        unmet = st.flows[3] > 1e-6 * max(1.0, heat_to_loop_w)
        if unmet and not st.unmet_flag[0]:
            stops = [int(c) for c in st.ch_cause if c > 0]
            out.append(self.log.record(t0, "capacity_exceeded", "plant", cause=max(stops) if stops else None,
                                       condition="heat into the chilled-water loop above what the plant removes",
                                       unmet_w=float(st.flows[3])))
        st.unmet_flag[0] = 1 if unmet else 0
        return out

    # ---- outputs
    def cdu_positions(self, unit_ids: list[str]) -> np.ndarray:
        """Index of each of this plant's CDUs in ``unit_ids`` (e.g. the power plant's unit block), −1 if absent."""
        pos = {u: i for i, u in enumerate(unit_ids)}
        return np.array([pos.get(c, -1) for c in self.arrays.cdu_ids], np.int64)

    @property
    def chw_supply_c(self) -> float:
        """Loop supply temperature (°C) the CRAH coils and CDUs see."""
        return float(self.state.t_loop_c[0])

    @property
    def outdoor_c(self) -> float:
        return float(self.state.outdoor_c[0])

    @property
    def chiller_power_w(self) -> np.ndarray:
        return self.state.ch_p_w

    @property
    def pump_power_w(self) -> np.ndarray:
        return self.state.pump_p_w

    @property
    def cdu_pump_power_w(self) -> np.ndarray:
        return self.state.cdu_p_w

    @property
    def cdu_running(self) -> np.ndarray:
        return self.state.cdu_running.astype(bool)

    @property
    def cdu_facility_c(self) -> float:
        """Facility water temperature at the CDUs (°C): the loop supply."""
        return self.chw_supply_c

    @property
    def cdu_supply_c(self) -> float:
        """Technology-cooling-system supply (°C): facility water + CDU approach."""
        return self.chw_supply_c + CDU_APPROACH_K

    @property
    def economizer_on(self) -> bool:
        return bool(self.state.econ_on[0])

    def capacity_w(self) -> float:
        """Heat the plant can remove now (W): running chillers' available capacity + economizer."""
        st = self.state
        econ = float(self.arrays.ch_cap_w.sum() * st.flows[0]) if st.econ_on[0] else 0.0
        return float(st.ch_avail_w.sum()) + econ

    def totals(self) -> dict[str, float]:
        st = self.state
        return {"chillers_w": float(st.ch_p_w.sum()), "pumps_w": float(st.pump_p_w.sum()),
                "cdu_pumps_w": float(st.cdu_p_w.sum()), "chiller_heat_w": float(st.ch_q_w.sum()),
                "economizer_heat_w": float(st.flows[2]), "unmet_w": float(st.flows[3]),
                "chw_supply_c": self.chw_supply_c, "outdoor_c": self.outdoor_c}

    def keyframe(self) -> dict[str, np.ndarray]:
        return self.state.arrays()

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.state.restore(arrays)
