"""Replay: rebuild the simulation of a recording at any second.

Seek = the keyframe at or before T, ``sim.restore(arrays)``, then step to T,
re-injecting the recorded injected events (failures, load changes, ...) that
came after the keyframe. The live loop and the replay must inject at the same
points: both use :func:`advance` (before the step that starts at ``sim.t_s``,
every event with ``event.t_s <= sim.t_s``). A keyframe records
``last_event_seq``, the last event already applied to its state. Automatic
events are not injected: the physics makes them again.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from twin.errors import DctwinError, InputError
from twin.store.recording import RecordingReader

#: Simulation keyword arguments that recorders may store in ``params`` and replay passes back
SIM_PARAMS = ("grid_m",)


def engine_simulation(reader: RecordingReader) -> Any:
    """A fresh ``twin.engine.Simulation`` for the layout and settings of ``reader``'s recording."""
    try:
        from twin.engine import Simulation
    except ImportError as exc:
        raise DctwinError(f"replay needs the simulation engine (twin.engine), which is not available "
                          f"in this build ({exc})") from None
    kwargs = {k: reader.params[k] for k in SIM_PARAMS if reader.params.get(k) is not None}
    return Simulation(reader.layout(), reader.hall_id, dt_s=reader.dt_s, **kwargs)


def replay_to(reader: RecordingReader, t_s: float,
              make_sim: Optional[Callable[[RecordingReader], Any]] = None) -> Any:
    """The simulation of ``reader``'s recording, restored and stepped to ``t_s``.

    ``make_sim(reader)`` builds the simulation (default :func:`engine_simulation`).
    """
    t_s = float(t_s)
    tol = reader.dt_s * 1e-6
    if not (0.0 <= t_s <= reader.duration_s + tol):
        raise InputError(f"--at {t_s:g} s is outside recording {reader.id} (0 to {reader.duration_s:g} s)")
    sim = (make_sim or engine_simulation)(reader)
    kf, arrays = reader.seek(t_s)
    sim.restore(arrays)
    if abs(float(sim.t_s) - kf.t_s) > tol:
        try:
            sim.t_s = kf.t_s
        except AttributeError:
            raise DctwinError(f"the engine restored t = {sim.t_s:g} s from a keyframe taken at {kf.t_s:g} s") from None
    pending = [e for e in reader.events(after_seq=kf.last_event_seq) if not e.automatic and e.t_s <= t_s + tol]
    advance(sim, pending, t_s)
    return sim


def advance(sim: Any, events: Sequence[Any], t_end_s: float,
            on_step: Optional[Callable[[Any], None]] = None) -> int:
    """Step ``sim`` to ``t_end_s``, injecting each event before the first step that starts at or after it.

    The live loop (``dctwin simulate``, the GUI runner) and replay both use
    this, so events are applied at the same points and replay is bit-exact.
    ``events`` are sorted by time here; ``on_step(sim)`` runs after each step
    (e.g. ``lambda s: recorder.on_step(s.t_s, s)``). Returns the number of
    events injected.
    """
    pending = sorted(events, key=lambda e: e.t_s)
    tol = float(sim.dt_s) * 1e-6 if hasattr(sim, "dt_s") else 1e-9
    i = 0
    while float(sim.t_s) < t_end_s - tol:
        while i < len(pending) and pending[i].t_s <= float(sim.t_s) + tol:
            sim.inject(pending[i])
            i += 1
        sim.step()
        if on_step is not None:
            on_step(sim)
    return i


def summary_at(reader: RecordingReader, t_s: float,
               make_sim: Optional[Callable[[RecordingReader], Any]] = None) -> dict[str, Any]:
    """``sim.summary()`` at ``t_s`` (same keys as ``dctwin solve --json``) plus ``t_s``."""
    sim = replay_to(reader, t_s, make_sim)
    out = dict(sim.summary())
    out["t_s"] = float(sim.t_s)
    return out
