"""Adaptive steps for quiet stretches of a run (:meth:`~dctwin.twin.sim.engine.Simulation.run`).

A run at the engine step ``dt`` (1 s by default) spends most of its steps where nothing moves. An
adaptive run lets the step grow, up to :data:`MAX_DT_S`, while the state changes slowly, and falls
back to ``dt`` around anything that happens:

- every step ends on the ``dt`` grid of the run (start + k dt), so a recorded time, an event's time
  and an alarm's time are seconds of the fixed-step run;
- a scheduled event lands on the second the fixed-step run applies it (the first grid time at or
  after its time); that step and the next :data:`SETTLE_S` of steps are ``dt``;
- a long step after which anything happened (an event in the log: rack protection, power chain,
  cooling units, automatic actions; an alarm raised or cleared; an alarm's clear timer started; the
  flow following the airflows, :mod:`~dctwin.twin.sim.flows`, a step change of the air) is
  rejected: the state goes back to before it (:class:`Snapshot`) and the stretch is redone at
  ``dt``, so the happening falls on the second the fixed-step run gives it (from a state within the
  error tolerance of that run's), then ``dt`` steps for :data:`SETTLE_S`;
- while an alarm's clear timer runs the steps are ``dt``, and while a rack's server intake would reach
  an inlet alarm's threshold within :data:`APPROACH_S` at its present rate;
- steps land on every whole minute (the inlet-rise alarm's per-minute minima).

Recordings take fixed steps (``dctwin simulate --out``, the editor's runs): a replay seek restores
a keyframe and steps the recording's ``dt`` to the second asked for (:mod:`dctwin.twin.store.replay`),
which reproduces the live run bit for bit only if the live run took those steps; and a recording's
series hold one sample a ``dt``, which long steps would leave to interpolation.

The error estimate (:class:`StepControl`): the rack inlets and unit returns after a step of ``h``
against their linear extrapolation from the last two step ends (``x1 + h/h1 (x1 - x0)``). For a
smooth state the difference is ``x'' h (h + h1) / 2``, twice the local error of the implicit
(backward Euler) step when ``h1 = h``: a second difference, in kelvin, of what a person reads.
The next step is ``h * min(2, 0.9 sqrt(tol / e))`` (at least half), and no longer than moves a
watched value by :data:`MAX_CHANGE_K` at the last step's rate (rounded to the grid);
a long step whose estimate exceeds :data:`REJECT` times the tolerance is redone at half.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Optional

import numpy as np

from dctwin.twin.sim.alarms import RISE_BUCKET_S, RISE_CLEAR_K, RISE_K, RISE_WINDOW_S, TEMP_DEADBAND_K

#: the longest adaptive step (s): the engine's longest step (``--dt`` at most 10 s)
MAX_DT_S = 10.0
#: the error estimate allowed per step (K, largest over rack inlets and unit returns; see the module docstring)
TOL_K = 0.02
#: the most a watched value may move in one long step (K): racks and units see the air of the step
#: before (explicit coupling), a lag of one step that the estimate does not see; where the state
#: moves faster than this per ``dt`` the step stays ``dt``
MAX_CHANGE_K = 0.02
#: a long step whose estimate exceeds this many tolerances is redone at half the step
REJECT = 4.0
#: steps stay at ``dt`` this long (s) after anything happened
SETTLE_S = 30.0
#: steps stay at ``dt`` while a rack's server intake, at its last rate, would reach an alarm's raise or
#: clear threshold within this long (s): a crossing then falls on the 1 s run's second (the fast part of
#: what long steps left off decays over it), not only on a second of a redone stretch
APPROACH_S = 60.0


class StepControl:
    """The adaptive step of a run (see the module docstring): ``h`` is the next step (s)."""

    def __init__(self, dt_s: float, max_dt_s: float = MAX_DT_S, tol_k: float = TOL_K) -> None:
        self.dt, self.max_dt, self.tol = float(dt_s), max(float(max_dt_s), float(dt_s)), float(tol_k)
        self.h = self.dt
        self.x0: Optional[np.ndarray] = None  # the watched values at the last two accepted step ends
        self.x1: Optional[np.ndarray] = None
        self.h1 = 0.0  # the last accepted step (s)
        self.calm_at = -math.inf  # long steps only from this time on (SETTLE_S after a happening)
        #: (t, server intakes) at the last look, for the rate :func:`approaching` extrapolates
        self.intake: Optional[tuple[float, np.ndarray]] = None

    def on_grid(self, h: float) -> float:
        """``h`` rounded down to a whole number of ``dt`` (at least one)."""
        return self.dt * max(1, math.floor(h / self.dt + 1e-9))

    def estimate(self, x: np.ndarray, h: float) -> Optional[float]:
        """The error estimate (K) of the step of ``h`` that ended at ``x`` (None: too little history)."""
        if self.x0 is None or self.x1 is None or self.h1 <= 0 or not len(x):
            return None
        pred = self.x1 + (h / self.h1) * (self.x1 - self.x0)
        return float(np.max(np.abs(x - pred)))

    def accept(self, x: np.ndarray, h: float, err: Optional[float]) -> None:
        """The step of ``h`` ended at ``x`` with estimate ``err``: remember it, choose the next step."""
        moved = float(np.max(np.abs(x - self.x1))) if self.x1 is not None and len(x) else 0.0
        self.x0, self.x1, self.h1 = self.x1, x, h
        if err is None:
            self.h = self.dt
            return
        grow = 2.0 if err <= 0 else min(2.0, max(0.5, 0.9 * math.sqrt(self.tol / err)))
        h_next = min(h * grow, self.max_dt)
        if moved > 0:
            h_next = min(h_next, MAX_CHANGE_K * h / moved)
        self.h = self.on_grid(h_next + 0.5 * self.dt)  # to the nearest dt

    def reject(self, h: float) -> None:
        """A long step of ``h`` was off the tolerance: the next try is half."""
        self.h = self.on_grid(h / 2.0)

    def happened(self, now_s: float, x: np.ndarray) -> None:
        """Something happened at ``now_s`` (the state at ``x``): ``dt`` steps for SETTLE_S, history from here."""
        self.calm_at = now_s + SETTLE_S
        self.x0, self.x1, self.h1 = None, x, 0.0
        self.h = self.dt


def next_minute_s(t_s: float) -> float:
    """The next start of a minute after ``t_s``: the inlet-rise alarm keeps each minute's lowest inlet,
    which, on a rising inlet, is the minute's first second; a long step never steps over it."""
    b = RISE_BUCKET_S
    return (math.floor(t_s / b + 1e-9) + 1) * b


def approaching(monitor: Any, intake: np.ndarray, rate: np.ndarray, t_s: float) -> bool:
    """A server intake (°C, ``rate`` K/s) reaches an inlet alarm's raise or clear threshold (recommended,
    allowable, critical, 15-minute rise) within :data:`APPROACH_S` at its present rate."""
    checks = []
    for kind, thr in (("inlet_recommended", monitor.rec_c), ("inlet_allowable", monitor.allow_c),
                      ("inlet_critical", monitor.crit_c)):
        checks.append((monitor.active[kind] != 0, intake - thr, TEMP_DEADBAND_K))
    b = int(math.floor(t_s / RISE_BUCKET_S + 1e-9))
    keep = monitor.rise_bucket >= b - int(RISE_WINDOW_S / RISE_BUCKET_S)
    lo = np.minimum(monitor.rise_buf[keep].min(axis=0), intake) if keep.any() else intake
    checks.append((monitor.active["inlet_rise"] != 0, intake - lo - RISE_K, RISE_K - RISE_CLEAR_K))
    for active, over, band in checks:
        # inactive: raised once ``over`` > 0, approached while rising; active: cleared below -band
        gap = np.where(active, over + band, -over)
        toward = np.where(active, -rate, rate)
        if np.any((gap >= 0) & (toward > 0) & (gap < toward * APPROACH_S)):
            return True
    return False


def watched(sim: Any) -> np.ndarray:
    """The values the error estimate watches: rack inlets and unit returns (°C)."""
    return np.concatenate([np.asarray(sim.rack_inlet_c, float), np.asarray(sim.unit_return_c, float)])


@dataclasses.dataclass
class Snapshot:
    """Everything a step changes, to undo a rejected long step: the hall's state (flows are replaced by
    a step, never changed in place, so they are shared, not copied), the facility's and the alarms'
    arrays, the event log's length, the injector's place and the run's statistics."""

    state: Any
    facility: dict
    alarms: dict
    event_seq: int
    next_event: int
    stats: Any

    @classmethod
    def take(cls, sim: Any) -> "Snapshot":
        st = sim.state
        shared = [st.flow, st.warm_flow, st.last_rack, st.last_unit] + [m[0] for m in st.marched]
        memo = {id(x): x for x in shared if x is not None}
        return cls(copy.deepcopy(st, memo), sim.facility.arrays(), sim.alarm_monitor.arrays(), sim.events.last_seq,
                   sim.injector.next_event, copy.deepcopy(sim.stats))

    def put_back(self, sim: Any) -> None:
        st = sim.state
        for f in dataclasses.fields(self.state):
            setattr(st, f.name, getattr(self.state, f.name))
        sim.facility.restore(self.facility)
        sim.events.truncate_after_seq(self.event_seq)
        sim.injector.next_event = self.next_event
        sim.injector.forget_due()
        sim.alarm_monitor.restore(self.alarms, st)
        sim.stats = self.stats


def clear_timer_running(monitor: Any) -> bool:
    """An alarm's clear timer runs (an active alarm inside its clear band, not cleared yet)."""
    return any(h.any() for h in monitor.hold.values())
