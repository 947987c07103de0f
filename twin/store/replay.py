"""Replay: rebuild the simulation of a recording at any second.

Seek = the keyframe at or before T, ``sim.restore(arrays)``, then step to T,
re-injecting the recorded injected events (failures, load changes, ...) that
(kinds in :data:`dctwin.twin.model.events.INJECTED_KINDS`) at the point the engine applied
them live: at the start of the step that starts at or after their time.

With an engine that has ``schedule(t_s, kind, target, **details)`` (ours),
every recorded injected event is scheduled in the order it was applied, then
``restore`` (whose keyframe counts the events already applied) and ``step``:
the engine applies the rest itself, exactly as live. This needs every injected
event of a recorded run to go through ``schedule`` (an operator action in the
GUI: ``schedule(sim.t_s, ...)``). An engine without ``schedule`` gets the
events after the keyframe (``seq > keyframe.last_event_seq``) through
``inject(kind, target, **details)`` at the same points (:func:`advance`).
Automatic events are never injected: the physics makes them again.

Damage stops replay before it: a damaged keyframe (:class:`KeyframeDamaged`)
or event makes every later second unreachable, with a message naming it,
instead of replaying a different history; a keyframe the engine cannot run
from (an error while stepping from it, or a state that is not finite) is
reported the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np

from dctwin.twin.errors import DctwinError, InputError, ProjectFileError
from dctwin.twin.model.events import INJECTED_KINDS
from dctwin.twin.sim.results import HallSummary
from dctwin.twin.store.recording import KeyframeDamaged, RecordingReader

#: Simulation keyword arguments that recorders may store in ``params`` and replay passes back as stored;
#: ``params["air_model"]`` (:func:`dctwin.twin.store.recorder.air_model_params`) is passed back as the model
#: it describes, and a recording without one (made before session 26) gets the model every run had then
SIM_PARAMS = ("grid_m",)


def engine_simulation(reader: RecordingReader) -> Any:
    """A fresh ``dctwin.twin.sim.engine.Simulation`` for the layout and settings of ``reader``'s recording."""
    try:
        from dctwin.twin.sim.engine import Simulation
    except ImportError as exc:
        raise DctwinError(f"replay needs the simulation engine (twin.engine), which is not available "
                          f"in this build ({exc})") from None
    kwargs = {k: reader.params[k] for k in SIM_PARAMS if reader.params.get(k) is not None}
    if isinstance(kwargs.get("grid_m"), list):  # (horizontal, vertical) cell sizes
        kwargs["grid_m"] = tuple(kwargs["grid_m"])
    kwargs["air_model"] = recorded_air_model(reader)
    site = reader.layout()
    reader.check_layout(site)
    return Simulation(site, reader.hall_id, dt_s=reader.dt_s, **kwargs)


def recorded_air_model(reader: RecordingReader) -> Any:
    """The air model (:class:`dctwin.twin.sim.air_models.AirModel`) ``reader``'s recording was made with
    (:func:`~dctwin.twin.sim.air_models.from_params`; "fast" with the rack-front jets' free edge off for a
    recording that stores none)."""
    from dctwin.twin.sim.air_models import from_params  # the engine's, as in engine_simulation

    try:
        return from_params(reader.params.get("air_model"))
    except (TypeError, ValueError) as exc:
        raise ProjectFileError(f"{reader.project.path}: recording {reader.id} stores an air model this dctwin "
                               f"cannot rebuild ({exc})") from None


def replay_to(reader: RecordingReader, t_s: float,
              make_sim: Optional[Callable[[RecordingReader], Any]] = None) -> Any:
    """A new simulation of ``reader``'s recording, restored and stepped to ``t_s``.

    ``make_sim(reader)`` builds the simulation (default :func:`engine_simulation`).
    For repeated seeks (a scrubber) keep a :class:`Replayer`.
    """
    return Replayer(reader, make_sim).seek(t_s)


class Replayer:
    """Seek a recording again and again with one simulation (built once: no recompile per seek).

    ``seek(T)`` restores the keyframe replay starts from and steps to T, or,
    when T is ahead of the current time and no later keyframe lies between
    (nor at the current time, unless the simulation was restored from it),
    just steps on from the current state (the same trajectory, so the result
    is the same bit for bit). Returns the simulation, at T.
    """

    def __init__(self, reader: RecordingReader, make_sim: Optional[Callable[[RecordingReader], Any]] = None):
        self.reader = reader
        self.sim = (make_sim or engine_simulation)(reader)
        self._tol = reader.dt_s * 1e-6
        events, damage = reader.events_until_damage()
        #: replay reaches up to this time (a damaged event comes after it), and the reason
        self.limit: Optional[tuple[float, str]] = None if damage is None else (
            damage[0], f"{damage[1]}; replay stops before it")
        self._limit_kf = False  # the limit comes from a damaged keyframe (else from an event)
        self._events = [e for e in events if e.kind in INJECTED_KINDS]
        self._scheduled = callable(getattr(self.sim, "schedule", None))
        if self._scheduled:
            # the engine's own path: the same schedule as live (every injected event, in the order it was
            # applied); restore() knows how many were applied, and the engine applies the rest itself at the
            # start of the same steps as live
            for ev in self._events:
                self.sim.schedule(ev.t_s, ev.kind, ev.target, **ev.details)
        self._at: Optional[float] = None  # the time the simulation is at after our last seek
        self._from: Any = None  # the keyframe the simulation was last restored from
        self._injected: set[int] = set()  # inject-only engines: recorded events already given to the sim

    def seek(self, t_s: float) -> Any:
        t_s = float(t_s)
        reader, tol = self.reader, self._tol
        if not reader.covers(t_s):  # a recording ends where it ends: 120.0000001 is past 120
            raise InputError(f"--at {t_s:.12g} s is outside recording {reader.id} (0 to {reader.duration_s:g} s)")
        if self.limit is not None and t_s > self.limit[0] + tol:
            raise KeyframeDamaged(self.limit[1], self.limit[0]) if self._limit_kf else ProjectFileError(self.limit[1])
        try:
            reader.verify_keyframes(t_s)  # no damaged keyframe lies on the way (checksums, once)
            kf = reader.replay_keyframe(t_s)
        except KeyframeDamaged as exc:
            self._stop_at(exc)
            raise
        # step on from where the last seek left the simulation when that is on the way from kf, but not from
        # kf's own second reached by stepping: the live run may have forgotten its air history there
        # (see dctwin.twin.store.recorder), which only a restore from kf does too
        resume = (self._at is not None and self._at <= t_s + tol and kf.t_s <= self._at + tol
                  and abs(float(self.sim.t_s) - self._at) <= tol
                  and (kf.t_s < self._at - tol or (self._from is not None and self._from.id == kf.id)))
        if not resume:
            try:
                arrays = reader.load_keyframe(kf)
            except KeyframeDamaged as exc:
                self._stop_at(exc)
                raise
            self._at = None
            _restore(self.sim, arrays, kf.t_s, tol)
            self._injected = {e.seq for e in self._events if e.seq <= kf.last_event_seq}
            self._from = kf
        try:
            if self._scheduled:
                while float(self.sim.t_s) < t_s - tol:
                    left = t_s - float(self.sim.t_s)
                    self.sim.step(left if left < reader.dt_s - tol else None)  # a run's last step may be shortened
            else:
                pending = sorted((e for e in self._events if e.seq not in self._injected and e.t_s <= t_s + tol),
                                 key=lambda e: (e.t_s, e.seq))
                n = advance(self.sim, pending, t_s)
                self._injected.update(e.seq for e in pending[:n])
        except DctwinError:
            raise
        except (ArithmeticError, ValueError, KeyError, TypeError, IndexError) as exc:
            self._at = None
            raise self._unusable(f"the engine cannot run from it ({type(exc).__name__}: {exc})") from None
        self._check_finite()
        self._at = float(self.sim.t_s)
        return self.sim

    def _stop_at(self, exc: KeyframeDamaged) -> None:
        if self.limit is None or exc.t_s < self.limit[0]:
            self.limit = (exc.t_s, str(exc))
            self._limit_kf = True

    def _unusable(self, why: str) -> ProjectFileError:
        kf = self._from
        exc = KeyframeDamaged(f"{self.reader.project.path}: recording {self.reader.id}, keyframe at t = "
                              f"{kf.t_s:g} s is damaged ({why}); replay stops before it", kf.t_s)
        self._stop_at(exc)
        return exc

    def _check_finite(self) -> None:
        """A replayed state with NaN in what a summary reports comes from a damaged keyframe: say so
        rather than print NaN."""
        values = [getattr(self.sim, name, None) for name in ("rack_inlet_c", "T")]
        for v in values:
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size and not np.isfinite(v).all():
                self._at = None
                raise self._unusable("the state replayed from it is not finite (NaN)")


def _restore(sim: Any, arrays: dict, t_kf: float, tol: float) -> None:
    try:
        sim.restore(arrays)
    except DctwinError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # arrays that do not fit this simulation
        raise ProjectFileError(f"a keyframe taken at {t_kf:g} s does not fit the recording's layout "
                               f"({type(exc).__name__}: {exc})") from None
    if abs(float(sim.t_s) - t_kf) > tol:
        raise DctwinError(f"the engine restored t = {float(sim.t_s):g} s from a keyframe taken at {t_kf:g} s")


def advance(sim: Any, events: Sequence[Any], t_end_s: float,
            on_step: Optional[Callable[[Any], None]] = None) -> int:
    """Step ``sim`` to ``t_end_s``, injecting each event before the first step that starts at or after it.

    Injection is ``sim.inject(event.kind, event.target, **event.details)``, at
    the point where the engine applies its own scheduled events (start of the
    step whose start time is at or after the event's time).

    Replay uses it (and a live loop that injects by hand may), so events are
    applied at the same points and replay is bit-exact.
    ``events`` are sorted by time here; ``on_step(sim)`` runs after each step
    (e.g. ``lambda s: recorder.on_step(s.t_s, s)``). Returns the number of
    events injected.
    """
    pending = sorted(events, key=lambda e: e.t_s)  # stable: events at one time keep their order
    tol = float(sim.dt_s) * 1e-6 if hasattr(sim, "dt_s") else 1e-9
    i = 0
    while float(sim.t_s) < t_end_s - tol:
        while i < len(pending) and pending[i].t_s <= float(sim.t_s) + tol:
            ev = pending[i]
            sim.inject(ev.kind, ev.target, **ev.details)
            i += 1
        sim.step()
        if on_step is not None:
            on_step(sim)
    return i


def summary_at(reader: RecordingReader, t_s: float,
               make_sim: Optional[Callable[[RecordingReader], Any]] = None) -> HallSummary:
    """``sim.summary()`` at ``t_s`` (what ``dctwin solve --json`` prints), its ``t_s`` the replayed second."""
    sim = replay_to(reader, t_s, make_sim)
    return dataclasses.replace(sim.summary(), t_s=float(sim.t_s))
