"""Alarms with hysteresis, each explained by its cause chain in one sentence.

:class:`AlarmMonitor` is evaluated by the engine after every step (and after a
steady solve). Conditions, per element:

==================  =========  ==========================================  =========================
kind                severity   raised when                                 cleared when (held 60 s)
==================  =========  ==========================================  =========================
inlet_recommended   warning    rack inlet > recommended max (27 °C; H1 22) inlet < max − 1 K
inlet_allowable     major      rack inlet > allowable max of its class     inlet < max − 1 K
inlet_critical      critical   rack inlet > the IT model's crit_c          inlet < crit − 1 K
inlet_rise          major      inlet − min over the last 15 min > 5 K      rise < 4 K
ups_on_battery      major      a UPS with a battery is on battery          back on its input (30 s)
ups_low_soc         critical   state of charge < 25 %                      > 30 %
node_load_80        warning    power node load > 80 % of its capacity      < 78 %
node_load_100       critical   power node load > 100 % of its capacity     < 98 %
unit_failed         major      cooling unit not running (failed, no power) running (held 30 s)
rack_down           critical   rack not running (no power or shut down)    running (held 30 s)
==================  =========  ==========================================  =========================

A rack's inlet is what its servers breathe: the room air at its front, warmed by the exhaust a rack
with open units (``Rack.open_u``, no blanking panels) returns to them; the message then says so
("..., recirculating 12 % of its exhaust through 4 U without blanking panels: ...").

An alarm is raised the step its condition is met; it clears only after the
value has stayed past the clear threshold for the hold time, so a value
hovering at the threshold raises once and does not chatter.

Every alarm record is ``{t_s, id, kind, severity, active, message, causes}``;
``causes`` is the chain alarm <- automatic actions <- injected event, each
step ``{seq, t_s, kind, target, text, injected}`` (and ``supply_share`` for a
cooling unit that supplied the rack's inlet air; ``origin`` "site" with the log's
``site`` source and ``message``, or "measured", for a real event a shadow replay
applied: :mod:`dctwin.twin.assimilate.shadow`). It comes from the event log
(:meth:`dctwin.twin.model.events.EventLog.chain`) and, for thermal alarms, from the
physics: the share of the rack's inlet air each stopped cooling unit supplied
just before it stopped, a passive steady tracer released at that unit's supply
on the flow of that moment (a raised-floor unit releases its share of the tile
and leakage air; rack exhausts carry none, so the share is what the unit
delivered directly). ``message`` is one sentence with times, e.g.
"R-A01 inlet 33.1 °C over allowable 32 °C at 00:04:12: CRAH-2, which
supplied 64 % of its inlet air, failed at 00:01:00 (injected)." A rack that shut down on its
inlet names the critical-inlet alarm it passed through before the cause.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from dctwin.twin.model.events import INJECTED_KINDS, Event, EventLog
from dctwin.twin.model.words import DEG_C, crossed, hms
from dctwin.twin.physics.codes import MODE_ON
from dctwin.twin.physics.constants import ASHRAE_RECOMMENDED_C

if TYPE_CHECKING:  # the physics (numba) is imported where the alarms run it: the alarm board and the review
    from dctwin.twin.physics.power import PowerSystem  # files read :func:`describe` without it
    from dctwin.twin.sim.hall import HallState, HallSystem

#: (kind, severity, clear deadband, clear hold (s))
RECOMMENDED_H1_C = 22.0
TEMP_DEADBAND_K = 1.0
TEMP_HOLD_S = 60.0
RISE_K = 5.0
RISE_CLEAR_K = 4.0
RISE_WINDOW_S = 900.0
RISE_BUCKET_S = 60.0
RISE_SLOTS = 16
SOC_LOW = 0.25
SOC_CLEAR = 0.30
LOAD_WARN = 0.80
LOAD_WARN_CLEAR = 0.78
LOAD_OVER = 1.00
LOAD_OVER_CLEAR = 0.98
STATE_HOLD_S = 30.0

KINDS = ("inlet_recommended", "inlet_allowable", "inlet_critical", "inlet_rise", "ups_on_battery", "ups_low_soc",
         "node_load_80", "node_load_100", "unit_failed", "rack_down")
SEVERITY = {"inlet_recommended": "warning", "inlet_allowable": "major", "inlet_critical": "critical",
            "inlet_rise": "major", "ups_on_battery": "major", "ups_low_soc": "critical",
            "node_load_80": "warning", "node_load_100": "critical", "unit_failed": "major",
            "rack_down": "critical"}
#: automatic actions left out of explanations (they only relay the cause next to them)
_RELAY_KINDS = ("node_dark", "node_energized", "generator_start")
#: events that stop a cooling unit
_UNIT_STOP_KINDS = ("fail", "unit_stop", "cdu_pump_fail")
UPS_BATTERY_MODE = 1  # twin.physics.codes.UPS_BATTERY




_NONE = np.zeros(0, dtype=np.int64)


def hysteresis(active: np.ndarray, hold: np.ndarray, raise_now: np.ndarray, clear_now: np.ndarray,
               dt_s: float, hold_s: float) -> tuple[np.ndarray, np.ndarray]:
    """One evaluation of alarm hysteresis, in place; returns (raised, cleared) index arrays.

    An inactive alarm is raised when ``raise_now``. An active one accumulates ``dt_s`` in
    ``hold`` while ``clear_now`` (any step outside the clear band resets it) and clears
    once ``hold >= hold_s``. ``raise_now`` and ``clear_now`` must not both hold.
    """
    if not active.any() and not raise_now.any():  # the common case: quiet, nothing to do
        return _NONE, _NONE
    raised = (active == 0) & raise_now
    was = active != 0
    hold[was & clear_now] += dt_s
    hold[was & ~clear_now] = 0.0
    cleared = was & clear_now & (hold >= hold_s - 1e-9)
    active[raised] = 1
    hold[raised] = 0.0
    active[cleared] = 0
    hold[cleared] = 0.0
    return np.flatnonzero(raised), np.flatnonzero(cleared)


def unit_supply_share(ap, flow, unit_q: np.ndarray, j: int, plenum: np.ndarray) -> np.ndarray:
    """Share (0..1) of each rack's intake air that cooling unit ``j`` supplied on ``flow``.

    Steady passive tracer c with ``div(F c) = div(alpha grad c)``: c = 1 on unit j's supply
    faces, and on the tile and leakage faces its share ``q_j / sum(q_plenum)`` of the
    plenum air when j blows into a raised floor; 0 on every other inflow (other units,
    rack exhausts). A rack's share is the flow-weighted mean of c over its intake faces.
    """
    from dctwin.twin.physics import thermal
    from dctwin.twin.physics.airflow import port_faces

    pf = port_faces(ap)
    pT = np.zeros(len(pf.face))
    out = pf.group["unit_out"]
    if ap.unit_out.n and len(ap.unit_out.face):
        per = ap.unit_out.port_of_face()
        seg = pT[out]
        seg[per == j] = 1.0
        pT[out] = seg
    if plenum[j]:
        qp = float(np.sum(np.where(plenum, unit_q, 0.0)))
        if qp > 0:
            share = float(unit_q[j]) / qp
            pT[pf.group["tile"]] = share
            pT[pf.group["leak"]] = share
    return np.clip(thermal.tracer_at_intakes(ap, flow, pT), 0.0, 1.0)


def describe(ev: Event) -> str:
    """A short phrase for one event, without its time."""
    t, k, d, cond = ev.target, ev.kind, ev.details, ev.condition
    if k in _PHRASES:
        phrase, with_condition = _PHRASES[k]
        return f"{t} {phrase}" + (with_condition.format(cond) if cond and with_condition else "")
    if k in ("utility_loss", "utility_restore"):
        return ("utility loss" if k == "utility_loss" else "utility restored") + (f" ({t})" if t and t != "UTIL" else "")
    if k == "generator_fail_to_start":
        return f"{t or 'generators'} armed to fail to start"
    if k == "generator_stop" and "fail" in cond:
        return f"{t} failed to start"
    if k in ("breaker_trip", "breaker_trip_auto"):
        return f"{t} breaker tripped" + (f" on {cond}" if cond and k != "breaker_trip" else "")
    if k == "capacity_exceeded":
        r = d.get("load_ratio")
        return f"{t} over capacity" + (f" ({100 * r:.0f} %)" if isinstance(r, (int, float)) else "")
    if k == "set_utilization":
        return f"utilization of {t if t not in ('', 'all', '*') else 'all racks'} set to {100 * d.get('utilization', 0):.0f} %"
    if k == "set_setpoint":
        return f"{t} setpoint set to {d.get('setpoint_c', 0):g} {DEG_C}"
    if k == "set_outdoor_c":
        return f"outdoor temperature set to {d.get('c', 0):g} {DEG_C}"
    return f"{t} {k.replace('_', ' ')}".strip()


#: kind -> (what happened to the target, how its condition follows, if it has one)
_PHRASES = {"fail": ("failed", ""), "repair": ("repaired", ""), "ups_battery_exhausted": ("battery exhausted", ""),
            "ups_on_battery": ("on battery", ""), "rack_down": ("down", ""), "cdu_pump_fail": ("pump failed", ""),
            "unit_stop": ("stopped", " ({})"), "chiller_stop": ("stopped", " ({})"),
            "shutdown": ("shut down", " with {}"), "throttle": ("throttled", " with {}")}


def _is_injected(ev: Event) -> bool:
    return ev.kind in INJECTED_KINDS and ev.cause is None


def _tracking(ev: Event) -> bool:
    """A set-point or load event by which a shadow replay follows a measured value (every few minutes):
    a boundary condition kept in step, not an incident, so never named as an alarm's cause."""
    return ev.details.get("origin") == "measured" and ev.kind.startswith("set_")


def cause_step(ev: Event, share: Optional[float] = None) -> dict[str, Any]:
    out = {"seq": ev.seq, "t_s": ev.t_s, "kind": ev.kind, "target": ev.target, "text": describe(ev),
           "injected": _is_injected(ev)}
    origin = ev.details.get("origin")
    if origin in ("site", "measured"):  # a real event: from the site's event log, or a measured point
        out["injected"] = False
        out["origin"] = origin
        if origin == "site":
            out["site"] = " ".join(str(ev.details.get(k, "")) for k in ("source", "raw_kind") if ev.details.get(k))
            out["message"] = str(ev.details.get("message", ""))
    if share is not None and math.isfinite(share):
        out["supply_share"] = float(share)
    return out


def step_text(c: dict[str, Any]) -> str:
    """One cause step as a phrase with its time."""
    if "supply_share" in c:
        verb = describe_verb(c)
        s = f"{c['target']}, which supplied {100 * c['supply_share']:.0f} % of its inlet air, {verb}"
    else:
        s = c["text"]
    s += f" at {hms(c['t_s'])}"
    if c.get("injected"):
        s += " (injected)"
    elif c.get("origin") == "site":
        s += f" (site log{' ' + c['site'] if c.get('site') else ''}: \"{c.get('message', '')}\")"
    elif c.get("origin") == "measured":
        s += " (measured)"
    return s


def describe_verb(c: dict[str, Any]) -> str:
    """The phrase of a unit-stop step without its subject ("failed", "stopped (all feeds lost)")."""
    text = c["text"]
    return text[len(c["target"]) + 1:] if text.startswith(c["target"] + " ") else text


def explain(head: str, causes: list[dict[str, Any]]) -> str:
    """``head`` and the cause chain as one sentence."""
    if not causes:
        return head + "."
    return head + ": " + " <- ".join(step_text(c) for c in causes) + "."


class AlarmMonitor:
    """Alarm state of one hall (plain arrays, so it keyframes): ``hs`` the hall, ``log`` the run's
    events, ``power`` the site's power chain (None without one). :meth:`update` reads the hall's
    state and which units run."""

    def __init__(self, hs: HallSystem, log: EventLog, power: Optional[PowerSystem] = None) -> None:
        self.hs, self.log, self.power = hs, log, power
        ra = hs.ra
        n, m = ra.n, hs.ua.n
        classes = [r.ashrae_class for r in hs.hall.racks]
        self.rec_c = np.array([RECOMMENDED_H1_C if c == "H1" else ASHRAE_RECOMMENDED_C[1] for c in classes])
        self.allow_c = np.asarray(ra.warn_c, float)
        self.crit_c = np.asarray(ra.crit_c, float)
        self.node_ids: list[str] = []
        self.ups_idx = np.zeros(0, np.int64)
        cap_idx = np.zeros(0, np.int64)
        if power is not None:
            pp = power.plant
            self.node_ids = list(pp.node_ids)
            self.ups_idx = np.flatnonzero(pp.batt_j > 0)
            cap_idx = np.flatnonzero(pp.cap_w > 0)
        self.cap_idx = cap_idx
        sizes = {"inlet_recommended": n, "inlet_allowable": n, "inlet_critical": n, "inlet_rise": n,
                 "ups_on_battery": len(self.ups_idx), "ups_low_soc": len(self.ups_idx),
                 "node_load_80": len(cap_idx), "node_load_100": len(cap_idx), "unit_failed": m, "rack_down": n}
        self.sizes = sizes
        self.alarms: list[dict[str, Any]] = []
        #: share of each rack's server air that is its own exhaust, at the last evaluation
        self._share_now = np.zeros(n)
        self._share_flow = None
        self._share_cache: dict[int, np.ndarray] = {}
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every alarm (a new steady state starts a new history)."""
        n, m = self.hs.ra.n, self.hs.ua.n
        self.active = {k: np.zeros(s, np.uint8) for k, s in self.sizes.items()}
        self.hold = {k: np.zeros(s) for k, s in self.sizes.items()}
        self.rise_buf = np.full((RISE_SLOTS, n), np.inf, np.float32)  # per-minute minima (C)
        self.rise_bucket = np.full(RISE_SLOTS, -1, np.int64)
        self.unit_share: dict[int, np.ndarray] = {}  # unit -> share of each rack's air, when it stopped
        self.was_running = np.ones(m, np.int8)
        self.alarms = []
        self._drop_index()
        self._base = 0  # records before self.alarms[0] this monitor does not hold (restored from a keyframe)
        self._prev_flow = None
        self._prev_unit_q = None

    def arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for k in KINDS:
            out[f"{k}_active"] = self.active[k].copy()
            out[f"{k}_hold"] = self.hold[k].copy()
        out["rise_buf"] = self.rise_buf.copy()
        out["rise_bucket"] = self.rise_bucket.copy()
        units = sorted(self.unit_share)
        out["share_units"] = np.array(units, np.int64)
        out["share_values"] = (np.array([self.unit_share[j] for j in units]) if units
                               else np.zeros((0, self.hs.ra.n)))
        out["was_running"] = self.was_running.copy()
        out["count"] = np.array(self._base + len(self.alarms), np.int64)
        return out

    def restore(self, a: dict[str, np.ndarray], st: HallState) -> None:
        """Put the alarm state back from :meth:`arrays`, the hall's state ``st`` restored already."""
        for k in KINDS:
            self.active[k] = np.array(a[f"{k}_active"], copy=True)
            self.hold[k] = np.array(a[f"{k}_hold"], copy=True)
        self.rise_buf = np.array(a["rise_buf"], copy=True)
        self.rise_bucket = np.array(a["rise_bucket"], copy=True)
        self.unit_share = {int(j): np.array(v, copy=True) for j, v in zip(a["share_units"], a["share_values"])}
        self.was_running = np.array(a["was_running"], copy=True)
        self._drop_index()  # the log was truncated to the keyframe
        count = int(a["count"])
        if self._base <= count <= self._base + len(self.alarms):
            del self.alarms[count - self._base:]  # forget what was raised after the keyframe
        else:  # a fresh simulation restored from a recording: the earlier records live there
            self.alarms.clear()
            self._base = count
        self._remember_flow(st)

    def _remember_flow(self, st: HallState) -> None:
        """The flow a unit that stops at the next evaluation was supplying on."""
        self._prev_flow = st.flow
        self._prev_unit_q = np.array(st.flow_unit_q, copy=True) if st.flow is not None else None

    # ------------------------------------------------------------------ shares
    def share(self, j: int, flow, unit_q: np.ndarray) -> np.ndarray:
        """Share of each rack's inlet air cooling unit ``j`` supplies on ``flow`` (cached per flow)."""
        if flow is not self._share_flow:
            self._share_flow = flow
            self._share_cache = {}
        if j not in self._share_cache:
            self._share_cache[j] = unit_supply_share(self.hs.air, flow, unit_q, j, self.hs.plenum_units)
        return self._share_cache[j]

    # ------------------------------------------------------------------ evaluation
    def update(self, dt_s: float, st: HallState, running: np.ndarray) -> list[dict[str, Any]]:
        """Evaluate every condition at the hall's state ``st`` (``running``: int8 per unit, which
        units run now); returns the new records."""
        hs = self.hs
        t = float(st.t_s)
        new: list[dict[str, Any]] = []
        running = running.astype(np.int8)
        stopped = np.flatnonzero((running == 0) & (self.was_running != 0))
        if len(stopped) and (self._prev_flow is not None or st.flow is not None):
            flow = self._prev_flow if self._prev_flow is not None else st.flow
            uq = self._prev_unit_q if self._prev_unit_q is not None else st.flow_unit_q
            for j in stopped:
                self.unit_share[int(j)] = self.share(int(j), flow, uq)
        self.was_running = running
        self._remember_flow(st)

        # what the servers breathe: the room air, warmed by the exhaust racks with open units return to it (a
        # measured view, without server temperatures, gives the measured inlets as they are)
        if hasattr(st.rack_state, "server_c"):
            from dctwin.twin.physics.it import recirculating_now, server_intake_c

            inlet = np.asarray(server_intake_c(hs.ra, st.rack_inlet_c, st.rack_state), float)
            self._share_now = recirculating_now(hs.ra, st.rack_state)
        else:
            inlet = np.asarray(st.rack_inlet_c, float)
            self._share_now = np.zeros(hs.ra.n)
        rack, unit = hs.rack_ids.__getitem__, hs.unit_ids.__getitem__
        for kind, thr in (("inlet_recommended", self.rec_c), ("inlet_allowable", self.allow_c),
                          ("inlet_critical", self.crit_c)):
            new += self._evaluate(kind, inlet > thr, inlet < thr - TEMP_DEADBAND_K, dt_s, TEMP_HOLD_S, t, rack,
                                  lambda i, kind=kind, thr=thr: self._thermal(kind, i, t, float(inlet[i]), float(thr[i])))
        rise = self._rise(t, inlet.astype(np.float32))
        new += self._evaluate("inlet_rise", rise > RISE_K, rise < RISE_CLEAR_K, dt_s, TEMP_HOLD_S, t, rack,
                              lambda i: self._thermal("inlet_rise", i, t, float(inlet[i]), float(rise[i])))
        if self.power is not None:
            ps, pp = self.power.state, self.power.plant
            ups = lambda k: self.node_ids[self.ups_idx[k]]  # noqa: E731
            live = ps.energized[self.ups_idx] != 0
            on_batt = (ps.ups_mode[self.ups_idx] == UPS_BATTERY_MODE) & live
            # it clears when the UPS is back on its input, not when it goes dark with an empty battery
            new += self._evaluate("ups_on_battery", on_batt, ~on_batt & live, dt_s, STATE_HOLD_S, t, ups,
                                  lambda k: self._power("ups_on_battery", int(self.ups_idx[k]), t))
            soc = ps.soc[self.ups_idx]
            new += self._evaluate("ups_low_soc", soc < SOC_LOW, soc > SOC_CLEAR, dt_s, TEMP_HOLD_S, t, ups,
                                  lambda k: self._power("ups_low_soc", int(self.ups_idx[k]), t))
            ratio = np.where(ps.energized[self.cap_idx] != 0, ps.out_w[self.cap_idx] / pp.cap_w[self.cap_idx], 0.0)
            for kind, hi, lo in (("node_load_80", LOAD_WARN, LOAD_WARN_CLEAR),
                                 ("node_load_100", LOAD_OVER, LOAD_OVER_CLEAR)):
                new += self._evaluate(kind, ratio > hi, ratio < lo, dt_s, STATE_HOLD_S, t,
                                      lambda k: self.node_ids[self.cap_idx[k]],
                                      lambda k, kind=kind: self._power(kind, int(self.cap_idx[k]), t, float(ratio[k])))
        down = running == 0
        new += self._evaluate("unit_failed", down, ~down, dt_s, STATE_HOLD_S, t, unit, lambda j: self._unit(j, t))
        rdown = np.asarray(st.rack_state.mode) != MODE_ON
        new += self._evaluate("rack_down", rdown, ~rdown, dt_s, STATE_HOLD_S, t, rack, lambda i: self._rack_down(i, t))
        self.alarms.extend(new)
        return new

    def _evaluate(self, kind: str, raise_now: np.ndarray, clear_now: np.ndarray, dt_s: float, hold_s: float, t: float,
                  name: Callable[[int], str], raised: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
        """One kind's :func:`hysteresis`: the records of what it raised (``raised(index)``), then of
        what it cleared (element ``name(index)``)."""
        r, c = hysteresis(self.active[kind], self.hold[kind], raise_now, clear_now, dt_s, hold_s)
        if not len(r) and not len(c):  # the common case: nothing changed
            return []
        return [raised(int(i)) for i in r] + [self._cleared(kind, name(int(i)), t) for i in c]

    def _rise(self, t: float, inlet: np.ndarray) -> np.ndarray:
        """Inlet now minus its minimum over the last 15 minutes (per-minute minima)."""
        b = int(math.floor(t / RISE_BUCKET_S + 1e-9))
        slot = b % RISE_SLOTS
        if self.rise_bucket[slot] != b:
            self.rise_bucket[slot] = b
            self.rise_buf[slot] = inlet
        else:
            np.minimum(self.rise_buf[slot], inlet, out=self.rise_buf[slot])
        keep = self.rise_bucket >= b - int(RISE_WINDOW_S / RISE_BUCKET_S)
        lo = self.rise_buf[keep].min(axis=0) if keep.any() else inlet
        return inlet - lo

    # ------------------------------------------------------------------ explanations
    def _record(self, kind: str, target: str, t: float, head: str, causes: list[dict[str, Any]]) -> dict[str, Any]:
        return {"t_s": t, "id": target, "kind": kind, "severity": SEVERITY[kind], "active": True,
                "message": explain(head, causes), "causes": causes}

    def _cleared(self, kind: str, target: str, t: float) -> dict[str, Any]:
        label = kind.replace("_", " ")
        return {"t_s": t, "id": target, "kind": kind, "severity": SEVERITY[kind], "active": False,
                "message": f"{target} {label} cleared at {hms(t)}.", "causes": []}

    def _chain(self, ev: Event, skip_first: bool = False) -> list[dict[str, Any]]:
        """The log chain of ``ev`` as cause steps, relays left out."""
        chain = self.log.chain(ev)
        # an overload recorded in the same step as another node's overload points at it (the power
        # chain links each action to the latest one), but both come from the same load shift:
        # keep the first and read on to what shifted the load
        chain = [e for k, e in enumerate(chain)
                 if not (k > 0 and e.kind == "capacity_exceeded" and chain[k - 1].kind == "capacity_exceeded"
                         and e.target != chain[k - 1].target)]
        if skip_first:
            chain = chain[1:]
        return [cause_step(e) for e in chain if e.kind not in _RELAY_KINDS]

    def _drop_index(self) -> None:
        self._by_target = {}
        self._injected = []
        self._seen_seq = 0
        self._seen_len = 0

    def _sync_index(self) -> None:
        """Keep the per-target and injected-event indexes in step with the run's log (rebuilt
        when the log was truncated by a restore)."""
        log = self.log
        if log.last_seq < self._seen_seq or len(log) < self._seen_len:
            self._drop_index()
        if log.last_seq == self._seen_seq:
            return
        for ev in log.since(self._seen_seq):
            self._by_target.setdefault(ev.target, []).append(ev)
            if _is_injected(ev) and not _tracking(ev):
                self._injected.append(ev)
        self._seen_seq = log.last_seq
        self._seen_len = len(log)

    def _latest(self, target: str, kinds: tuple[str, ...], t: float) -> Optional[Event]:
        """The newest event on ``target`` of one of ``kinds`` at or before ``t``."""
        self._sync_index()
        for ev in reversed(self._by_target.get(target, ())):
            if ev.kind in kinds and ev.t_s <= t + 1e-9:
                return ev
        return None

    def _latest_injected(self, t: float, exclude: tuple[str, ...] = ()) -> Optional[Event]:
        """The newest injected event at or before ``t`` whose kind is not in ``exclude``."""
        self._sync_index()
        for ev in reversed(self._injected):
            if ev.kind not in exclude and ev.t_s <= t + 1e-9:
                return ev
        return None

    def _thermal_causes(self, i: int, t: float) -> list[dict[str, Any]]:
        """Why rack ``i``'s inlet rose: the stopped cooling unit that supplied most of its air,
        else the latest injected event."""
        hs = self.hs
        cdu = int(hs.rack_cdu[i]) if i < len(hs.rack_cdu) else -1
        if cdu >= 0 and self.was_running[cdu] == 0:
            # a liquid-cooled rack whose CDU stopped: the CDU is the cause, not an air share
            ev = self._latest(hs.unit_ids[cdu], _UNIT_STOP_KINDS, t)
            if ev is not None:
                return self._chain(ev)
        best, best_share, best_ev = -1, -1.0, None
        for j in np.flatnonzero(self.was_running == 0):
            ev = self._latest(hs.unit_ids[j], _UNIT_STOP_KINDS, t)
            if ev is None:
                continue
            s = float(self.unit_share[j][i]) if j in self.unit_share else 0.0
            if s > best_share:
                best, best_share, best_ev = int(j), s, ev
        if best_ev is not None:
            chain = self._chain(best_ev)
            share = float(self.unit_share[best][i]) if best in self.unit_share else math.nan
            if chain and chain[0]["seq"] == best_ev.seq and math.isfinite(share) and share > 0:
                chain[0]["supply_share"] = share
            return chain
        last = self._latest_injected(t, ("repair", "utility_restore"))
        return self._chain(last) if last is not None else []

    def _thermal(self, kind: str, i: int, t: float, value: float, thr: float) -> dict[str, Any]:
        rid = self.hs.rack_ids[i]
        when = f"at {hms(t)}"
        if kind == "inlet_rise":
            head = f"{rid} inlet rose {crossed(thr, RISE_K)} K within 15 min to {value:.1f} {DEG_C} {when}"
        else:
            level = kind.split("_")[1]
            # the value that crossed, with the decimals it takes to see it crossed: never "32.0 °C over 32 °C"
            head = f"{rid} inlet {crossed(value, thr)} {DEG_C} over {level} {thr:g} {DEG_C} {when}"
        return self._record(kind, rid, t, head + self._recirculating(i), self._thermal_causes(i, t))

    def _recirculating(self, i: int) -> str:
        """Why rack ``i``'s servers breathe warmer air than the room gives them, when they do: ", recirculating
        12 % of its exhaust through 4 U without blanking panels" (empty for a fully blanked rack)."""
        share = float(self._share_now[i]) if i < len(self._share_now) else 0.0
        if share <= 0 or self.hs.ra.open_u is None:
            return ""
        return (f", recirculating {100 * share:.0f} % of its exhaust through {self.hs.ra.open_u[i]:g} U "
                f"without blanking panels")

    def _power(self, kind: str, n: int, t: float, ratio: float = 0.0) -> dict[str, Any]:
        nid = self.node_ids[n]
        when = f"at {hms(t)}"
        causes: list[dict[str, Any]] = []
        if kind in ("ups_on_battery", "ups_low_soc"):
            ev = self._latest(nid, ("ups_on_battery",), t)
            if ev is not None:
                causes = self._chain(ev, skip_first=kind == "ups_on_battery")
            soc = float(self.power.state.soc[n])
            head = (f"{nid} on battery {when}" if kind == "ups_on_battery"
                    else f"{nid} battery at {100 * soc:.0f} % (below {100 * SOC_LOW:.0f} %) {when}")
        else:
            cap_kw = float(self.power.plant.cap_w[n]) / 1e3
            lim = "100" if kind == "node_load_100" else "80"
            head = f"{nid} load {100 * ratio:.0f} % of {cap_kw:g} kW (over {lim} %) {when}"
            ev = self._latest(nid, ("capacity_exceeded",), t)
            if ev is not None:
                causes = self._chain(ev)
            else:
                last = self._latest_injected(t)
                causes = self._chain(last) if last is not None else []
        return self._record(kind, nid, t, head, causes)

    def _unit(self, j: int, t: float) -> dict[str, Any]:
        uid = self.hs.unit_ids[j]
        ev = self._latest(uid, _UNIT_STOP_KINDS, t)
        causes = self._chain(ev) if ev is not None else []
        if ev is None:
            # stopped by the plant (e.g. its CDU lost its pump or the loop): the latest injected event
            last = self._latest_injected(t)
            causes = self._chain(last) if last is not None else []
        return self._record("unit_failed", uid, t, f"{uid} not running at {hms(t)}", causes)

    def _rack_down(self, i: int, t: float) -> dict[str, Any]:
        rid = self.hs.rack_ids[i]
        ev = self._latest(rid, ("rack_down", "shutdown"), t)
        causes: list[dict[str, Any]] = []
        if ev is not None:
            causes = self._chain(ev, skip_first=True)
            root = self.log.chain(ev)[-1]
            if not _is_injected(root):
                if ev.kind == "shutdown" or root.kind in ("throttle", "shutdown"):
                    # nearest first: the critical inlet it shut down on, the throttling before, the cause
                    causes = self._critical_step(rid, ev.t_s) + causes + self._thermal_causes(i, t)
                else:
                    inj = self._latest(rid, ("fail",), t)
                    if inj is not None:
                        causes += [cause_step(inj)]
            t_ev = ev.t_s
        else:
            t_ev = t
        what = "shut down" if ev is not None and ev.kind == "shutdown" else "down"
        return self._record("rack_down", rid, t, f"{rid} {what} at {hms(t_ev)}", causes)

    def _critical_step(self, rid: str, t: float) -> list[dict[str, Any]]:
        """The critical-inlet alarm rack ``rid`` passed through before it shut down at ``t``, as a cause
        step (no event seq: an alarm is not an event), or nothing when it raised none."""
        for a in reversed(self.alarms):
            if a["id"] == rid and a["kind"] == "inlet_critical" and a["active"] and a["t_s"] <= t + 1e-9:
                crit = float(self.crit_c[self.hs.rack_index[rid]])
                return [{"seq": None, "t_s": a["t_s"], "kind": "inlet_critical", "target": rid,
                         "text": f"{rid} inlet over critical {crit:g} {DEG_C}", "injected": False, "alarm": True}]
        return []
