"""Record a simulation run into a project file: keyframes, events, series, alarms.

``dctwin simulate --out`` (and the GUI runner) use :func:`record_run`::

    rr = record_run("run.dctwin", site, sim, incident=inc, dt_s=1.0, grid_m=args.grid)  # keyframe at t = 0
    sim.run(duration_s, dt_s, on_step=rr.on_step)     # rr.on_step(sim) after every step
    rr.close(sim)                                     # or rr.abort() if the run failed
    rr.summary()                                      # file, recording_id, keyframes, events, ...

Underneath, :class:`Recorder` works with any loop::

    rec = Recorder(project, layout_id, dt_s, keyframe_every_s=60, metrics_every_s=1, rack_series_every_s=10)
    rec.on_step(sim.t_s, sim)          # once with the initial state (t = 0), then after each step
    rec.add_events(events); rec.add_alarms(alarms)     # anything not already in sim.events
    rec.close()

A keyframe (``sim.keyframe()``) is written together with everything buffered
since the last one (hall metrics, rack series, events, alarms) in ONE
transaction, so a crash loses at most the last interval and every committed
keyframe comes with the series and events up to it. Arrays unchanged since
the previous keyframe are stored once; the others are compressed
(:class:`KeyframeEncoder`), series chunks too, on the writer thread.

Keyframe spacing: every ``keyframe_every_s`` by default. With
``seek_budget_s`` (``record_run``'s default: 0.5 s) it adapts: a keyframe
every ``keyframe_every_s`` while events happen or alarms change (and one at
the step of the first event after a quiet stretch), then, while the hall is
quiet, gaps doubling up to the largest gap a seek re-simulates within the
budget (:meth:`Recorder.quiet_gap_s`). What a replayed step costs comes from
a model, never from the clock: :data:`STEP_S_PER_CELL` times the cells of the
air grid (the size of the keyframe's ``air_T``), so the same run gives the
same keyframes, and the same file, on any machine however busy.

Air history: the engine starts each implicit air solve from its last
iterates extrapolated (``air_star``, ``air_rate1``, ``air_rate2``: two float64
and two float32 fields that are noise below the solver tolerance, 2/3 of a
compressed keyframe). With ``forget_air_history`` (``record_run``'s default)
and a ``sim`` that can forget them
(``sim.state.reset_air_history``), a keyframe leaves them out and the live run
forgets them right after it: the next step starts its solve from ``air_T``
itself, as a replay restored from that keyframe does, so replay stays bit
for bit what was recorded (the solve's answer moves within its tolerance; it
costs no more sweeps).
Without a ``sim`` object the same data can be passed as plain arrays
(``state=``, ``rack_inlet_c=``, ``rack_power_w=``, ``metrics=``).
Writes are batched Core ``insert()`` calls with lists of dicts, on the
caller's thread or (``background=True``, the default of ``record_run``) on a
writer thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Union

import numpy as np
from sqlalchemy import func, insert, select

from dctwin import twin
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store.arrays import FULL_CODECS, encode_array, pack, pack_blob, pack_scaled, scaled
from dctwin.twin.store.project import Project, _Writing, now_iso, write_failed
from dctwin.twin.store.schema import AlarmRow, EventRow, Keyframe, KeyframeArray, Recording, SeriesChunk, with_crc

log = logging.getLogger(__name__)

#: streams of the series table
HALL_STREAM = "hall"
RACK_STREAMS = ("rack_inlet_c", "rack_power_w")
#: hall metrics derived from the rack arrays when the engine gives none of its own
DERIVED_METRICS = ("it_power_w", "max_inlet_c", "mean_inlet_c")
#: modelled CPU time of one replayed 1 s step per air cell (s): measured 63 ns on the 1,000-rack synthetic
#: hall, 65 ns on ``small`` and 71 ns on ``ai-hall`` (CPU time per step over 200 steps, load average 8-12
#: on 2 cores: a busy machine's figure, so a quiet one seeks faster than planned)
STEP_S_PER_CELL = 65e-9
#: modelled time of a seek besides its steps (s): read, decompress and restore the keyframe
SEEK_FIXED_S = 0.1

State = Union[Mapping[str, np.ndarray], Callable[[], Mapping[str, np.ndarray]]]


def _alarm_row(a: Mapping[str, Any]) -> dict[str, Any]:
    """A :mod:`dctwin.twin.sim.alarms` record as an alarms row: the element id as target, the nearest
    cause's event seq as cause."""
    causes = a.get("causes") or []
    seq = next((c.get("seq") for c in causes if c.get("seq") is not None), None)
    return {"t_s": a["t_s"], "target": a.get("target", a.get("id")), "kind": a["kind"],
            "severity": a.get("severity", "warning"), "active": a.get("active", True),
            "message": a.get("message", ""), "cause": seq}


def details_json(details: Mapping[str, Any]) -> str:
    """Event/alarm details as JSON text (numpy scalars become numbers, anything else its str)."""
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)
    return json.dumps(dict(details), sort_keys=True, default=default)


class KeyframeEncoder:
    """Successive keyframes of one recording as ``keyframe_arrays`` rows of format 2.

    An array bit-identical to one already stored in the recording (the previous keyframe's same
    array, or any recent array of the same dtype and shape: the engine's cached marched flows move
    from one name to the next, and its iterate equals its temperature after a steady solve) is a
    reference (``ref_id``) to the row holding its bytes; any other array gets the smallest of
    :func:`dctwin.twin.store.arrays.pack`'s encodings, ``xor`` against the last row of the same
    array stored in full (its *anchor*), or ``scale`` against an array stored fresh (not ``scale``)
    earlier in the same keyframe, so decoding an array reads at most three rows (four through a
    reference). ``encode`` returns the rows and what it learnt; ``commit`` that once the rows are
    committed (a failed write leaves no reference to rows that are not there).
    """

    #: arrays smaller than this are not looked up by content (a reference row costs as much)
    DEDUPE_BYTES = 4096
    #: content digests remembered (the most recent ones)
    REMEMBER = 4096

    def __init__(self) -> None:
        self._prev: dict[str, tuple[str, str, bytes, int]] = {}  # name -> (dtype, shape, raw, row holding it)
        self._anchor: dict[str, tuple[str, str, bytes, int]] = {}  # name -> the last row stored in full
        self._seen: OrderedDict[tuple[str, str, bytes], int] = OrderedDict()  # (dtype, shape, digest) -> row

    def encode(self, keyframe_id: int, first_id: int,
               arrays: Iterable[tuple[str, str, str, bytes]]) -> tuple[list[dict[str, Any]], tuple]:
        rows, prev, anchor, seen = [], {}, {}, {}
        kin: dict[tuple[str, str], list[tuple[bytes, int]]] = {}  # this keyframe's arrays by kind: (raw, row)
        t = KeyframeArray.__table__
        for k, (name, dtype, shape, raw) in enumerate(arrays):
            rid = first_id + k
            row: dict[str, Any] = {"id": rid, "keyframe_id": int(keyframe_id), "name": name, "dtype": dtype,
                                   "shape": shape, "codec": "raw", "ref_id": None, "base_id": None}
            p = self._prev.get(name)
            key = (dtype, shape, hashlib.blake2b(raw, digest_size=16).digest()) \
                if len(raw) >= self.DEDUPE_BYTES else None
            same = p[3] if p is not None and p[:3] == (dtype, shape, raw) else \
                (seen.get(key) or self._seen.get(key)) if key is not None else None
            if same is not None:
                row.update(ref_id=same, data=b"")
                prev[name] = (dtype, shape, raw, same)
            else:
                a = self._anchor.get(name)
                base = a[2] if a is not None and a[:2] == (dtype, shape) else None
                codec, blob = pack(raw, np.dtype(dtype).itemsize, base)
                row.update(codec=codec, data=blob, base_id=a[3] if codec == "xor" else None)  # type: ignore[index]
                for braw, brow in reversed(kin.get((dtype, shape), [])[-4:]):
                    if scaled(raw, braw, dtype):
                        sblob = pack_scaled(raw, braw, dtype)
                        if len(sblob) < len(blob):
                            row.update(codec="scale", data=sblob, base_id=brow)
                        break
                prev[name] = (dtype, shape, raw, rid)
                if row["codec"] in FULL_CODECS:
                    anchor[name] = prev[name]
                if key is not None:
                    seen[key] = rid
            if row["ref_id"] is None and row["codec"] != "scale":  # decoding never chains deeper than 3 rows
                kin.setdefault((dtype, shape), []).append((raw, rid))
            rows.append(with_crc(t, row))
        return rows, (prev, anchor, seen)

    def commit(self, learnt: tuple) -> None:
        prev, anchor, seen = learnt
        self._prev = prev
        self._anchor.update(anchor)
        self._seen.update(seen)
        while len(self._seen) > self.REMEMBER:
            self._seen.popitem(last=False)


def _cells(arrays: Mapping[str, np.ndarray]) -> int:
    """The air cells of a keyframe (the size of ``air_T``; of its largest array without one)."""
    if "air_T" in arrays:
        return int(np.size(arrays["air_T"]))
    return max((int(np.size(a)) for a in arrays.values()), default=0)


def without_air_history(sim: Any, arrays: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """``arrays`` (``sim``'s keyframe) without the air history, which ``sim`` then forgets (its next
    step starts from ``air_T``, as one restored from the keyframe does); ``arrays`` as they are when
    ``sim`` cannot forget it."""
    reset = getattr(getattr(sim, "state", None), "reset_air_history", None)
    if not callable(reset):
        return arrays
    from dctwin.twin.sim.hall import AIR_HISTORY, HallState
    from dctwin.twin.sim.keyframes import group_names

    history = group_names(HallState, AIR_HISTORY)
    if not history <= set(arrays):
        return arrays
    reset()
    return {n: a for n, a in arrays.items() if n not in history}


def _next_id(conn: Any, table: Any) -> int:
    return int(conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


class Recorder:
    """Writes one recording of a run into ``project``.

    Parameters
    ----------
    project : Project
        An open, writable project (the recorder uses its single connection).
    layout_id : int
        The layout version the run uses (``project.save_layout(site)``).
    dt_s : float
        The simulation step (s).
    keyframe_every_s, metrics_every_s, rack_series_every_s : float
        Sampling periods (s) of keyframes, hall metrics and per-rack series.
    seek_budget_s : float, optional
        Adapt the keyframe spacing (see the module docstring) so that a seek takes about this long;
        None keeps one keyframe every ``keyframe_every_s``.
    max_keyframe_gap_s : float
        The largest gap between keyframes the adaptive spacing uses (s).
    step_cost_s : float, optional
        Modelled time to replay one step (s); default :data:`STEP_S_PER_CELL` times the cells of
        the first keyframe's ``air_T`` (or of its largest array).
    forget_air_history : bool
        Leave the air history out of keyframes and make the live ``sim`` forget it there (see the
        module docstring; ``record_run``'s default); only with a ``sim`` that can
        (``sim.state.reset_air_history``).
    incident_id, hall_id : optional
        The incident played (``project.save_incident``) and the simulated hall.
    rack_ids : sequence of str, optional
        Rack order of the per-rack arrays; taken from ``sim.rack_ids`` if not given.
    params : dict, optional
        Simulation settings replay needs to rebuild the same ``Simulation``
        (e.g. ``{"grid_m": 0.6}``); stored as JSON.
    max_chunk : int
        Series samples buffered at most before a batch is written.
    background : bool
        Write batches on a writer thread (which then owns the project's
        connection until :meth:`close`): the engine only copies the state and
        goes on; at most two batches wait, then ``on_step`` waits.
    on_commit : callable, optional
        ``on_commit(keyframe_t_s or None)`` after each committed transaction.
    """

    def __init__(self, project: Project, layout_id: int, dt_s: float, *, keyframe_every_s: float = 60.0,
                 metrics_every_s: float = 1.0, rack_series_every_s: float = 10.0,
                 incident_id: Optional[int] = None, hall_id: Optional[str] = None,
                 rack_ids: Optional[Iterable[str]] = None, unit_ids: Optional[Iterable[str]] = None,
                 params: Optional[Mapping[str, Any]] = None, engine_version: Optional[str] = None,
                 note: str = "", max_chunk: int = 600, background: bool = False,
                 on_commit: Optional[Callable[[Optional[float]], None]] = None,
                 seek_budget_s: Optional[float] = None, max_keyframe_gap_s: float = 900.0,
                 step_cost_s: Optional[float] = None, forget_air_history: bool = False) -> None:
        for name, v in (("dt_s", dt_s), ("keyframe_every_s", keyframe_every_s),
                        ("metrics_every_s", metrics_every_s), ("rack_series_every_s", rack_series_every_s)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"recording: {name} must be a positive number of seconds, got {v!r}")
        if max_chunk < 1:
            raise InputError(f"recording: max_chunk must be at least 1, got {max_chunk}")
        if seek_budget_s is not None and not (isinstance(seek_budget_s, (int, float))
                                              and math.isfinite(seek_budget_s) and seek_budget_s > 0):
            raise InputError(f"recording: seek_budget_s must be a positive number of seconds, got {seek_budget_s!r}")
        project.require_writable()
        if int(layout_id) not in {info.id for info in project.layouts()}:
            raise InputError(f"recording: {project.path} has no layout version {layout_id}")
        if incident_id is not None and int(incident_id) not in {i[0] for i in project.incidents()}:
            raise InputError(f"recording: {project.path} has no incident {incident_id}")
        self.project = project
        self.dt_s = float(dt_s)
        self.keyframe_every_s = float(keyframe_every_s)
        self.metrics_every_s = float(metrics_every_s)
        self.rack_series_every_s = float(rack_series_every_s)
        self.max_chunk = int(max_chunk)
        self._tol = self.dt_s * 1e-3
        self.rack_ids: Optional[list[str]] = None if rack_ids is None else [str(r) for r in rack_ids]
        self.unit_ids: Optional[list[str]] = None if unit_ids is None else [str(u) for u in unit_ids]
        self.metric_names: Optional[list[str]] = None
        self._ids_written: tuple = ((), (), ())
        self.closed = False
        #: time of the last keyframe committed, and how many (for progress and tests)
        self.last_keyframe_t_s: Optional[float] = None
        self.last_keyframe_queued_t_s: Optional[float] = None
        self.keyframes_written = 0
        self.t_s: Optional[float] = None
        self._next_kf: Optional[float] = None
        self._next_metrics: Optional[float] = None
        self._next_rack: Optional[float] = None
        self._hall_t: list[float] = []
        self._hall_rows: list[np.ndarray] = []
        self._rack_t: list[float] = []
        self._rack_rows: dict[str, list[np.ndarray]] = {s: [] for s in RACK_STREAMS}
        self._events: list[dict[str, Any]] = []
        self._alarms: list[dict[str, Any]] = []
        self._encoder = KeyframeEncoder()  # used by the writer only
        self._counts = {"n_keyframes": 0, "n_events": 0, "n_alarms": 0, "n_chunks": 0}  # rows queued so far
        self.seek_budget_s = None if seek_budget_s is None else float(seek_budget_s)
        self.max_keyframe_gap_s = max(float(max_keyframe_gap_s), self.keyframe_every_s)
        self._last_kf: Optional[float] = None  # time of the last keyframe taken
        self._quiet = 0  # keyframes taken in a row without events or alarm changes before them
        self._active = False  # events or alarm changes since the last keyframe
        #: modelled time to replay one step (s): given, or set from the first keyframe
        self.step_cost_s: Optional[float] = None if step_cost_s is None else float(step_cost_s)
        if self.step_cost_s is not None and not (math.isfinite(self.step_cost_s) and self.step_cost_s >= 0):
            raise InputError(f"recording: step_cost_s must be a number of seconds >= 0, got {step_cost_s!r}")
        self.forget_air_history = bool(forget_air_history)
        #: the largest gap between keyframes this recording used (s)
        self.largest_gap_s = 0.0
        self._seen_seq: set[int] = set()
        self._last_seq = 0
        self._log_len = 0
        self._alarm_len = 0  # alarm records of sim.alarms already buffered
        #: called after each commit with the keyframe time (or None), from the writer thread in background mode
        self.on_commit = on_commit
        self._error: Optional[BaseException] = None
        self._broken = False  # a batch failed: the writer writes no more
        self._queue: Optional[queue.Queue] = None
        self._thread: Optional[threading.Thread] = None
        self._params = dict(params or {})
        if self.seek_budget_s is not None:
            self._params["seek_budget_s"] = self.seek_budget_s
        t = Recording.__table__
        with _Writing(project.path, "a new recording"), project.engine.begin() as conn:
            res = conn.execute(insert(t).values(**with_crc(t, dict(
                layout_id=int(layout_id), incident_id=incident_id, hall_id=hall_id, dt_s=self.dt_s,
                duration_s=0.0, engine_version=engine_version or f"dctwin {twin.__version__}",
                started_at=now_iso(), finished=False, keyframe_every_s=self.keyframe_every_s,
                metrics_every_s=self.metrics_every_s, rack_series_every_s=self.rack_series_every_s,
                rack_ids_json=json.dumps(self.rack_ids or []), unit_ids_json=json.dumps(self.unit_ids or []),
                metric_names_json="[]", params_json=json.dumps(self._params, sort_keys=True), note=note,
                **self._counts))))
            self.recording_id = int(res.inserted_primary_key[0])
        if background:  # the writer thread owns the project's connection until close()
            self._queue = queue.Queue(maxsize=2)
            self._thread = threading.Thread(target=self._writer, name=f"dctwin-recorder-{self.recording_id}",
                                            daemon=True)
            self._thread.start()

    # ---- feeding
    def _due(self, t_s: float, nxt: Optional[float]) -> bool:
        return nxt is None or t_s >= nxt - self._tol

    def _next(self, t_s: float, every: float) -> float:
        return (math.floor((t_s + self._tol) / every) + 1) * every

    def on_step(self, t_s: float, sim: Any = None, *, state: Optional[State] = None,
                rack_inlet_c: Optional[np.ndarray] = None, rack_power_w: Optional[np.ndarray] = None,
                metrics: Optional[Mapping[str, float]] = None) -> Optional[float]:
        """Record the state at ``t_s`` (after the step that reached it).

        With ``sim`` the recorder reads ``sim.keyframe()`` (only when a keyframe
        is due), ``sim.rack_inlet_c``, ``sim.rack_power_w``, new events from
        ``sim.events`` and, if the engine has one, ``sim.hall_metrics()`` (a
        mapping of hall metric name to float, e.g. PUE, facility power). Plain arrays given as keywords override.
        Returns ``t_s`` if this call wrote a keyframe (in background mode: queued
        it; ``on_commit`` tells when it is committed), else None.
        """
        if self.closed:
            raise InputError("recording: on_step after close()")
        self._raise_if_failed()
        t_s = float(t_s)
        if self.t_s is not None and t_s < self.t_s:
            raise InputError(f"recording: time went backwards ({t_s:g} s after {self.t_s:g} s)")
        self.t_s = t_s
        if sim is not None:
            if self.rack_ids is None and hasattr(sim, "rack_ids"):
                self.rack_ids = [str(r) for r in sim.rack_ids]
            if self.unit_ids is None and hasattr(sim, "unit_ids"):
                self.unit_ids = [str(u) for u in sim.unit_ids]
            if rack_inlet_c is None:
                rack_inlet_c = getattr(sim, "rack_inlet_c", None)
            if rack_power_w is None:
                rack_power_w = getattr(sim, "rack_power_w", None)
            log_ = getattr(sim, "events", None)
            if log_ is not None and len(log_) != self._log_len:
                self._log_len = len(log_)
                self.add_events(log_.since(self._last_seq) if hasattr(log_, "since") else list(log_))
            alarms = getattr(sim, "alarms", None)
            if isinstance(alarms, list):
                if len(alarms) < self._alarm_len:  # the simulation was restored to an earlier keyframe
                    self._alarm_len = len(alarms)
                if len(alarms) > self._alarm_len:
                    self.add_alarms(_alarm_row(a) for a in alarms[self._alarm_len:])
                    self._alarm_len = len(alarms)
            if state is None and hasattr(sim, "keyframe"):
                state = sim.keyframe

        if self._due(t_s, self._next_metrics):
            if metrics is None and sim is not None and callable(getattr(sim, "hall_metrics", None)):
                metrics = sim.hall_metrics()  # only when a sample is due: it may cost more than a copy
            self._sample_hall(t_s, rack_inlet_c, rack_power_w, metrics)
            self._next_metrics = self._next(t_s, self.metrics_every_s)
        if self._due(t_s, self._next_rack) and (rack_inlet_c is not None or rack_power_w is not None):
            self._sample_racks(t_s, rack_inlet_c, rack_power_w)
            self._next_rack = self._next(t_s, self.rack_series_every_s)

        if self._active and self.seek_budget_s is not None and self._last_kf is not None \
                and self._next_kf is not None:
            # something happened: keyframes are dense again, and one comes now if the last is old enough
            self._next_kf = min(self._next_kf, self._last_kf + self.keyframe_every_s)
        if self._due(t_s, self._next_kf):
            if state is None:
                raise InputError("recording: a keyframe is due but no state was given (pass sim or state=)")
            arrays = state() if callable(state) else state
            if self.step_cost_s is None:
                self.step_cost_s = STEP_S_PER_CELL * _cells(arrays)
            if self.forget_air_history and sim is not None:
                arrays = without_air_history(sim, arrays)
            self._commit(t_s, arrays)
            self._next_kf = self._plan_next(t_s)
            return t_s
        if (len(self._hall_t) >= self.max_chunk or len(self._rack_t) >= self.max_chunk
                or len(self._events) >= 10 * self.max_chunk):
            self._commit(None, None)
        return None

    def _plan_next(self, t_s: float) -> float:
        """The time of the next keyframe after one taken at ``t_s``."""
        if self._last_kf is not None:
            self.largest_gap_s = max(self.largest_gap_s, t_s - self._last_kf)
        self._last_kf = t_s
        if self.seek_budget_s is None:
            return self._next(t_s, self.keyframe_every_s)
        self._quiet = 0 if self._active else self._quiet + 1
        self._active = False
        gap = min(self.keyframe_every_s * 2.0 ** min(self._quiet, 20), self.quiet_gap_s())
        return t_s + max(gap, self.keyframe_every_s)

    def quiet_gap_s(self) -> float:
        """The keyframe gap (s) of a quiet stretch: the most steps a seek may re-simulate (a seek to a
        keyframe's own second replays the whole gap before it, from the keyframe before) within the
        seek budget, less :data:`SEEK_FIXED_S`, at the modelled cost of a step
        (:attr:`step_cost_s`); at least ``keyframe_every_s``, at most ``max_keyframe_gap_s``."""
        if self.seek_budget_s is None or self.step_cost_s is None:
            return self.keyframe_every_s
        if self.step_cost_s <= 0:
            return self.max_keyframe_gap_s
        steps = max(self.seek_budget_s - SEEK_FIXED_S, 0.0) / self.step_cost_s
        return min(max(math.floor(steps) * self.dt_s, self.keyframe_every_s), self.max_keyframe_gap_s)

    def _sample_hall(self, t_s: float, inlet: Optional[np.ndarray], power: Optional[np.ndarray],
                     metrics: Optional[Mapping[str, float]]) -> None:
        # every step at the default 1 s: plain floats, one numpy call per figure (the array is built per chunk)
        values: dict[str, float] = {}
        if power is not None and len(power):
            values["it_power_w"] = float(power.sum()) if isinstance(power, np.ndarray) else float(np.sum(power))
        if inlet is not None and len(inlet):
            a = inlet if isinstance(inlet, np.ndarray) else np.asarray(inlet)
            values["max_inlet_c"] = float(a.max())
            values["mean_inlet_c"] = float(a.mean())
        if metrics:
            for k, v in metrics.items():
                values[str(k)] = float(v)
        if self.metric_names is None:
            if not values:
                return
            self.metric_names = list(values)
        self._hall_t.append(t_s)
        self._hall_rows.append([values.get(n, math.nan) for n in self.metric_names])

    def _sample_racks(self, t_s: float, inlet: Optional[np.ndarray], power: Optional[np.ndarray]) -> None:
        n = len(inlet) if inlet is not None else len(power)  # type: ignore[arg-type]
        if self.rack_ids is None:
            self.rack_ids = [str(i) for i in range(n)]
        if n != len(self.rack_ids):
            raise InputError(f"recording: {n} rack values given for {len(self.rack_ids)} racks")
        self._rack_t.append(t_s)
        for name, arr in (("rack_inlet_c", inlet), ("rack_power_w", power)):
            row = np.full(n, np.nan, np.float32) if arr is None else np.asarray(arr, dtype=np.float32).copy()
            self._rack_rows[name].append(row)

    def add_events(self, events: Iterable[Union[Event, Mapping[str, Any]]]) -> None:
        """Buffer events (``Event`` or dicts with its fields); an event ``seq`` is stored once."""
        for ev in events:
            if isinstance(ev, Mapping):
                ev = Event.from_dict(ev)
            if ev.seq in self._seen_seq:
                continue
            self._seen_seq.add(ev.seq)
            self._active = True
            self._last_seq = max(self._last_seq, ev.seq)
            self._events.append({"recording_id": self.recording_id, "seq": int(ev.seq), "t_s": float(ev.t_s),
                                 "kind": str(ev.kind), "target": str(ev.target),
                                 "cause": None if ev.cause is None else int(ev.cause),
                                 "condition": str(ev.condition or ""), "details_json": details_json(ev.details)})

    def add_alarms(self, alarms: Iterable[Mapping[str, Any]]) -> None:
        """Buffer alarm state changes: dicts with ``t_s``, ``target``, ``kind`` and optionally
        ``severity`` ("warning"/"critical"), ``active`` (False when it clears), ``message``,
        ``cause`` (the ``seq`` of the event that led to it)."""
        for a in alarms:
            try:
                row = {"recording_id": self.recording_id, "t_s": float(a["t_s"]), "target": str(a["target"]),
                       "kind": str(a["kind"]), "severity": str(a.get("severity", "warning")),
                       "active": bool(a.get("active", True)), "message": str(a.get("message", "")),
                       "cause": None if a.get("cause") is None else int(a["cause"])}
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"recording: alarm {dict(a)!r} is missing or has a bad field ({exc})") from None
            self._alarms.append(row)
            self._active = True

    # ---- writing
    def _series_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if self._hall_t:
            t = np.asarray(self._hall_t, dtype="<f8")
            data = np.asarray(self._hall_rows, dtype="<f4")
            rows.append(self._chunk(HALL_STREAM, t, data))
        if self._rack_t:
            t = np.asarray(self._rack_t, dtype="<f8")
            for name in RACK_STREAMS:
                rows.append(self._chunk(name, t, np.stack(self._rack_rows[name]).astype("<f4", copy=False)))
        return rows

    def _chunk(self, name: str, t: np.ndarray, data: np.ndarray) -> dict[str, Any]:
        """A series row with its raw blobs (the writer compresses them)."""
        return {"recording_id": self.recording_id, "name": name, "t0_s": float(t[0]), "t1_s": float(t[-1]),
                "n": int(data.shape[0]), "width": int(data.shape[1]), "codec": "shuffle", "t_data": t.tobytes(),
                "data": np.ascontiguousarray(data.T).tobytes()}  # [width, n]: one rack's samples contiguous

    def _commit(self, t_s: Optional[float], arrays: Optional[Mapping[str, np.ndarray]]) -> None:
        """One transaction: the keyframe (if any) and everything buffered (queued in background mode)."""
        self._raise_if_failed()
        encoded: list[tuple[str, str, str, bytes]] = []
        if arrays is not None:
            for name, arr in arrays.items():
                try:
                    dtype, shape, data = encode_array(arr)  # a copy: the caller may change arr
                except ValueError as exc:
                    raise InputError(f"recording: state array {name!r}: {exc}") from None
                encoded.append((str(name), dtype, shape, data))
        series = self._series_rows()
        self._counts["n_keyframes"] += arrays is not None
        self._counts["n_events"] += len(self._events)
        self._counts["n_alarms"] += len(self._alarms)
        self._counts["n_chunks"] += len(series)
        rec_values: dict[str, Any] = {"duration_s": float(self.t_s or 0.0), **self._counts}
        ids = (tuple(self.rack_ids or ()), tuple(self.unit_ids or ()), tuple(self.metric_names or ()))
        if ids != self._ids_written:
            rec_values.update(rack_ids_json=json.dumps(self.rack_ids or []),
                              unit_ids_json=json.dumps(self.unit_ids or []),
                              metric_names_json=json.dumps(self.metric_names or []))
        batch = _Batch(t_s if arrays is not None else None, int(self._last_seq), encoded, series,
                       list(self._events), list(self._alarms), rec_values)
        if batch.t_s is not None:
            self.last_keyframe_queued_t_s = batch.t_s
        if self._queue is None:
            try:
                self._write(batch)
            except BaseException as exc:
                self.closed = True  # what is committed stays; nothing more is written after a failure
                raise self._failed(exc) from exc
        else:
            self._queue.put(batch)  # blocks when the writer is two batches behind: memory stays bounded
        self._ids_written = ids
        self._hall_t.clear()
        self._hall_rows.clear()
        self._rack_t.clear()
        for rows in self._rack_rows.values():
            rows.clear()
        self._events.clear()
        self._alarms.clear()

    def _failed(self, exc: BaseException) -> ProjectFileError:
        kept = (f"; the recording is kept up to t = {self.last_keyframe_t_s:g} s"
                if self.last_keyframe_t_s is not None else "")
        err = write_failed(self.project.path, f"recording {self.recording_id}", exc)
        return ProjectFileError(str(err) + kept)

    def _write(self, b: "_Batch") -> None:
        learnt = None
        with self.project.engine.begin() as conn:
            if b.t_s is not None:
                kt, at = Keyframe.__table__, KeyframeArray.__table__
                kf_id, first = _next_id(conn, kt), _next_id(conn, at)
                rows, learnt = self._encoder.encode(kf_id, first, b.arrays)
                conn.execute(insert(kt).values(**with_crc(kt, {
                    "id": kf_id, "recording_id": self.recording_id, "t_s": float(b.t_s),
                    "last_event_seq": b.last_seq, "first_array_id": first, "n_arrays": len(rows)})))
                if rows:
                    conn.execute(insert(at), rows)
            if b.series:
                st = SeriesChunk.__table__
                conn.execute(insert(st), [with_crc(st, {**r, "t_data": pack_blob(r["t_data"], 8),
                                                        "data": pack_blob(r["data"], 4)}) for r in b.series])
            if b.events:
                conn.execute(insert(EventRow.__table__), [with_crc(EventRow.__table__, dict(e)) for e in b.events])
            if b.alarms:
                conn.execute(insert(AlarmRow.__table__), [with_crc(AlarmRow.__table__, dict(a)) for a in b.alarms])
            self.project.update_recording(self.recording_id, conn=conn, **b.rec_values)
        if learnt is not None:  # only once committed: a failed write leaves no dangling reference
            self._encoder.commit(learnt)
        if b.t_s is not None:
            self.last_keyframe_t_s = b.t_s
            self.keyframes_written += 1
        if self.on_commit is not None:
            self.on_commit(b.t_s)

    def _writer(self) -> None:
        assert self._queue is not None
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if not self._broken:
                    try:
                        self._write(batch)
                    except BaseException as exc:  # reported to the engine thread at its next call
                        self._broken = True  # nothing after a failed batch is written: it would count its rows
                        self._error = exc
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Write everything buffered and wait until it is committed (the writer is idle after)."""
        self.flush()
        if self._queue is not None:
            self._queue.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            self._stop_writer()
            self.closed = True
            raise self._failed(exc) from exc

    def _stop_writer(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            assert self._queue is not None
            self._queue.put(None)
            self._thread.join()

    def flush(self) -> None:
        """Write everything buffered (no keyframe) in one transaction (queued in background mode)."""
        if not self.closed:
            self._commit(None, None)

    def close(self, duration_s: Optional[float] = None) -> None:
        """Write what is buffered, wait for the writer, mark the recording finished and checkpoint."""
        if self.closed:
            return
        self._commit(None, None)
        self._stop_writer()
        self.closed = True
        if self._error is not None:
            exc, self._error = self._error, None
            raise self._failed(exc) from exc
        try:
            self.project.update_recording(self.recording_id, finished=True, duration_s=float(
                self.t_s or 0.0) if duration_s is None else float(duration_s))
        except ProjectFileError as exc:
            raise ProjectFileError(f"{exc}; the recording is kept up to t = {self.last_keyframe_t_s:g} s "
                                   f"(marked unfinished)") from exc
        self.project.checkpoint()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        elif not self.closed:  # keep what was recorded up to the failure; the recording stays unfinished
            try:
                self._commit(None, None)
            except Exception:  # the original error matters more
                log.exception("could not write the end of recording %s", self.recording_id)
            self._stop_writer()
            self.closed = True


@dataclass
class _Batch:
    """What one transaction writes (built on the engine's thread, written by the writer)."""

    t_s: Optional[float]
    last_seq: int
    arrays: list[tuple[str, str, str, bytes]]  # (name, dtype, shape JSON, raw bytes)
    series: list[dict[str, Any]]
    events: list[dict[str, Any]]
    alarms: list[dict[str, Any]]
    rec_values: dict[str, Any]


# --------------------------------------------------------------------------- a whole run into a file

def _incident_text(incident: Any) -> tuple[str, str]:
    """``(name, JSON text)`` of an incident object (to_json / to_dict / dataclass / dict)."""
    import dataclasses

    name = str(getattr(incident, "name", None) or (incident.get("name") if isinstance(incident, Mapping) else None)
               or "incident")
    if callable(getattr(incident, "to_json", None)):
        return name, str(incident.to_json())
    if callable(getattr(incident, "to_dict", None)):
        data = incident.to_dict()
    elif dataclasses.is_dataclass(incident) and not isinstance(incident, type):
        data = dataclasses.asdict(incident)
    elif isinstance(incident, Mapping):
        data = dict(incident)
    else:  # the recorded events are what replay uses; keep at least a readable trace of the incident
        log.warning("storing incident of type %s as text", type(incident).__name__)
        data = {"name": name, "text": str(incident)}
    return name, json.dumps(data, sort_keys=True, default=str)


class RunRecorder:
    """A :class:`Recorder` that owns its project file, for ``dctwin simulate --out`` and the GUI runner.

    Made by :func:`record_run`; the engine calls ``on_step(sim)`` after every
    step, then ``close(sim)`` (or ``abort()`` if the run failed).
    """

    def __init__(self, project: Project, recorder: Recorder, created: bool) -> None:
        self.project = project
        self.recorder = recorder
        self.created = created

    @property
    def recording_id(self) -> int:
        return self.recorder.recording_id

    def on_step(self, sim: Any) -> None:
        self.recorder.on_step(sim.t_s, sim)

    def close(self, sim: Any = None) -> None:
        """Record the final state (if a keyframe is due), finish the recording and close the file."""
        try:
            if sim is not None and (self.recorder.t_s is None or sim.t_s > self.recorder.t_s):
                self.recorder.on_step(sim.t_s, sim)
            if sim is not None and self.recorder.last_keyframe_queued_t_s != sim.t_s:
                arrays = sim.keyframe()  # the end state is always a keyframe
                if self.recorder.forget_air_history:
                    arrays = without_air_history(sim, arrays)
                self.recorder._commit(float(sim.t_s), arrays)
            self.recorder.close()
        finally:
            self.project.close()

    def abort(self) -> None:
        """Keep what was recorded (an unfinished recording) and close the file."""
        try:
            if not self.recorder.closed:
                self.recorder.__exit__(RuntimeError, None, None)
        finally:
            self.project.close()

    def summary(self) -> dict[str, Any]:
        r = self.recorder
        return {"file": str(self.project.path), "recording_id": r.recording_id, "keyframes": r.keyframes_written,
                "events": len(r._seen_seq), "duration_s": float(r.t_s or 0.0),
                "bytes": self.project.path.stat().st_size if self.project.path.exists() else 0}


def _infer_grid_m(site: Any, sim: Any) -> Any:
    """The ``grid_m`` that rebuilds ``sim``'s air grid: None (the default) or its cell sizes, checked by compiling.

    Only used when the caller does not say which grid the run used.
    """
    air = getattr(sim, "air", None)
    hall = getattr(sim, "hall", None)
    if air is None or hall is None:
        return None
    try:
        from dctwin.twin.sim.compile import compile_hall
    except ImportError:
        return None

    def same(candidate: Any) -> bool:
        try:
            other = compile_hall(site, hall.id, candidate)
        except Exception:
            return False
        return all(getattr(other, a, None) == getattr(air, a, None) for a in ("nx", "ny", "nz", "dx", "dy", "dz"))

    for candidate in (None, [float(air.dx), float(air.dz)], [float(air.dy), float(air.dz)]):
        if same(candidate):
            return candidate
    log.warning("recording: cannot tell the air grid of this run; replay uses the default grid")
    return None


def record_run(path: str | Any, site: Any, sim: Any, *, incident: Any = None, dt_s: Optional[float] = None,
               duration_s: Optional[float] = None, keyframe_every_s: float = 60.0, metrics_every_s: float = 1.0,
               rack_series_every_s: float = 10.0, grid_m: Optional[float] = None, note: str = "",
               background: bool = True, seek_budget_s: Optional[float] = 0.5,
               max_keyframe_gap_s: float = 900.0, forget_air_history: bool = True) -> RunRecorder:
    """Start recording ``sim`` (at its current state, normally t = 0 after the steady solve) into ``path``.

    ``path`` is created if missing; an existing dctwin project gets a new
    recording (anything else there is refused, never overwritten). The layout
    is stored as a new version unless it equals the latest one; the incident
    (if any) is stored too. Replay rebuilds ``Simulation(site, hall_id,
    grid_m=grid_m, dt_s=dt_s, air_model=...)``: pass the ``grid_m`` the run used (default
    ``sim.grid_m`` if the engine has it); the air model is ``sim``'s
    (:func:`air_model_params`). Writes go through a writer thread
    (``background``), so the run waits only for copies of its state. Keyframes
    adapt to ``seek_budget_s`` (see :class:`Recorder`; None: one every
    ``keyframe_every_s``) and leave out the air history the run then forgets
    (``forget_air_history``). A file another dctwin process is writing is refused,
    as is a project of format 1 (``dctwin compact`` converts it first).
    """
    from pathlib import Path

    from dctwin.twin.model.layoutfile import dumps_layout

    p = Path(path)
    project, created = _open_for_recording(p)
    try:
        project.require_writable()
        text = dumps_layout(site)
        latest = project.latest_layout_id()
        layout_id = latest if latest is not None and project.layout_text(latest) == text else \
            project.save_layout(site, note=note or "simulated")
        incident_id = None
        if incident is not None:
            name, inc_text = _incident_text(incident)
            incident_id = project.save_incident(name, inc_text)
        hall = getattr(sim, "hall", None)
        gm = grid_m if grid_m is not None else getattr(sim, "grid_m", None)
        if gm is None:
            gm = _infer_grid_m(site, sim)
        rec = Recorder(project, layout_id, float(dt_s if dt_s is not None else sim.dt_s),
                       keyframe_every_s=keyframe_every_s, metrics_every_s=metrics_every_s,
                       rack_series_every_s=rack_series_every_s, incident_id=incident_id,
                       hall_id=getattr(hall, "id", None),
                       params={"grid_m": gm, "planned_duration_s": duration_s, **air_model_params(sim)},
                       engine_version=str(getattr(sim, "engine_version", "") or "") or None, note=note,
                       background=background, seek_budget_s=seek_budget_s, max_keyframe_gap_s=max_keyframe_gap_s,
                       forget_air_history=forget_air_history)
        rec.on_step(sim.t_s, sim)  # the starting state is the first keyframe
    except BaseException:
        if created:  # nothing was recorded: leave no empty project behind (removed while still locked)
            project.discard()
        else:
            project.close()
        raise
    return RunRecorder(project, rec, created)


def air_model_params(sim: Any) -> dict[str, Any]:
    """``{"air_model": ...}``: what a recording stores of the air model ``sim`` solves with (its name and
    every field that changes results, :func:`dctwin.twin.sim.air_models.to_params`), which replay builds
    the simulation with; empty for an engine without one."""
    system = getattr(sim, "system", None)
    if getattr(system, "air_model", None) is None:
        return {}
    from dctwin.twin.sim.air_models import to_params  # the engine's (a sim that has a model has it)

    return {"air_model": to_params(system.air_model_name, system.air_model)}


def _open_for_recording(p: Any) -> tuple[Project, bool]:
    """``(project, created)``: ``p`` made new, or opened for writing if it exists (also when another
    process made it a moment ago)."""
    from dctwin.twin.store.project import check_file
    from dctwin.twin.store.schema import SCHEMA_VERSION

    if not p.exists():
        try:
            return Project.create(p), True
        except ProjectFileError:
            if not p.exists():
                raise
    info = check_file(p)
    if info.kind == "project" and info.user_version < SCHEMA_VERSION:
        raise ProjectFileError(f"{p}: is a project file of an older format ({info.user_version}); recordings are "
                               f"not added to it. Convert it first: dctwin compact {p} --out NEW.dctwin")
    return Project.open(p), False
