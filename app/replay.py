"""Replay controller: open a recording and show the state of any second, without blocking the GUI.

A worker thread owns the project file and a :class:`dctwin.twin.store.Replayer`
(one simulation, built once). The GUI asks with :meth:`ReplayController.open`
and :meth:`ReplayController.seek`; the worker keeps only the newest seek
request, so scrubbing or playing faster than the engine can follow shows the
latest second asked for, never a queue of stale ones. Results come back as
plain data through signals (queued into the GUI thread).

Also here: timeline markers and a quick preview of a second from a recording's
own series (the cause chains in words are :mod:`dctwin.twin.review`'s).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal

from dctwin.twin.errors import DctwinError
from dctwin.twin.model.events import Event
from dctwin.twin.review import incident_title
from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.widgets.timeline import Marker, lane_of

from dctwin.app.runner import Frame

log = logging.getLogger(__name__)

#: height of the air-temperature slice sent with each state (m)
DEFAULT_HEAT_Z_M = 1.0


@dataclass
class RecordingData:
    """What the GUI needs of an opened recording (read once, in the worker)."""

    path: str
    recording_id: int
    site: Any
    hall_id: Optional[str]
    duration_s: float
    dt_s: float
    is_review: bool
    read_only: bool
    incident_name: str
    events: list[Event]
    alarms: list[dict]
    hall_t_s: np.ndarray
    hall: dict[str, np.ndarray]
    rack_t_s: np.ndarray
    rack_inlet_c: np.ndarray
    rack_ids: list[str]
    rack_power_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rack_power_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    generation: int = 0
    first_keyframe_s: float = 0.0  # replay reaches no earlier (a moment export starts at its keyframe)
    verify: Any = None  # review exports: twin.store.verify_file's result (hashes rechecked on open)
    by_seq: dict[int, Event] = field(default_factory=dict)
    #: a shadow replay of measured data: twin.assimilate.review.MeasuredView (None otherwise)
    measured: Any = None

    def __post_init__(self) -> None:
        self.by_seq = {e.seq: e for e in self.events}


def preview_summary(data: RecordingData, t_s: float) -> Optional[HallSummary]:
    """What the recording's own series say about second ``t_s``, at once (no re-simulation).

    Rack inlets and powers from the last per-rack sample at or before ``t_s``, hall
    figures from the last hall-metrics sample: a preview shown while the exact state
    is being replayed. None when the recording has no per-rack series.
    """
    rt = data.rack_t_s
    if rt.size == 0 or data.rack_inlet_c.size == 0:
        return None
    i = int(np.searchsorted(rt, t_s + 1e-9, side="right")) - 1
    if i < 0:
        return None
    inlet = data.rack_inlet_c[i]
    pt = data.rack_power_t_s
    power = None
    if pt.size and data.rack_power_w.size:
        k = int(np.searchsorted(pt, t_s + 1e-9, side="right")) - 1
        power = data.rack_power_w[k] if k >= 0 else None
    racks = {rid: RackResult(float(inlet[j]), power_w=float(power[j]) if power is not None else None)
             for j, rid in enumerate(data.rack_ids)}
    out = HallSummary(racks=racks, t_s=float(rt[i]), preview=True)
    ht = data.hall_t_s
    h = int(np.searchsorted(ht, t_s + 1e-9, side="right")) - 1 if ht.size else -1
    if h >= 0:
        for key in ("max_inlet_c", "it_power_w", "pue"):
            if key in data.hall and math.isfinite(float(data.hall[key][h])):
                setattr(out, key, float(data.hall[key][h]))
    return out


def markers_for(data: RecordingData) -> list[Marker]:
    """Timeline markers: every event (incident or automatic lane) and every raised alarm; for a shadow
    replay also the site's own event log (its lane), and the events it applied marked as real."""
    out = []
    for e in data.events:
        label = f"{e.kind} {e.target}".strip()
        origin = e.details.get("origin")
        if origin == "measured" and e.kind.startswith("set_"):
            continue  # the boundary conditions following a measured value every few minutes: not events
        if origin == "site":
            label = f"real: {label} (site log: {e.details.get('message', '')})"
        elif origin == "measured":
            label = f"real: {label} (measured)"
        out.append(Marker(e.t_s, e.kind, lane_of(e.kind), e.target, label=label, key=("event", e.seq)))
    if data.measured is not None:
        for i, ev in enumerate(data.measured.site_events):
            out.append(Marker(float(ev["t_s"]), str(ev["kind"]), "site", str(ev["target"]),
                              label=f"{ev['source']} {ev['raw_kind']}: {ev['message']}", key=("site", i),
                              data=dict(ev)))
    for i, a in enumerate(data.alarms):
        if not a.get("active", True):
            continue
        out.append(Marker(float(a["t_s"]), str(a.get("kind", "")), "alarm", str(a.get("target", "")),
                          label=str(a.get("message") or a.get("kind", "")), severity=str(a.get("severity", "")),
                          key=("alarm", i), data=dict(a)))
    return out


def load_recording(path: str, recording_id: Optional[int] = None) -> tuple[Any, RecordingData]:
    """Open ``path`` read-only and read what the GUI shows; returns ``(project, data)`` (project stays open)."""
    from dctwin.twin.store import Project

    project = Project.open(path, read_only=True)
    try:
        reader = project.recording(recording_id)
        hall_t, hall = reader.hall_metrics()
        rack_t, rack_v = reader.series("rack_inlet_c")
        name = incident_title(project, reader.incident_id)[0]
        data = RecordingData(path=str(path), recording_id=reader.id, site=reader.layout(), hall_id=reader.hall_id,
                             duration_s=reader.duration_s, dt_s=reader.dt_s, is_review=bool(project.is_review),
                             read_only=bool(project.read_only), incident_name=name, events=reader.events(),
                             alarms=reader.alarms(), hall_t_s=hall_t, hall=hall, rack_t_s=rack_t,
                             rack_inlet_c=rack_v, rack_ids=list(reader.rack_ids))
        data.rack_power_t_s, data.rack_power_w = reader.series("rack_power_w")
        from dctwin.twin.assimilate.review import measured_view

        data.measured = measured_view(project, reader.id)
        kfs = reader.keyframes()
        data.first_keyframe_s = kfs[0].t_s if kfs else 0.0
        if data.is_review:
            from dctwin.twin.store import verify_file

            data.verify = verify_file(path)
    except BaseException:
        project.close()
        raise
    return project, data


class ReplayController(QObject):
    """Owns the replay worker thread. See the module docstring."""

    #: a recording was opened (RecordingData)
    sig_opened = Signal(object)
    #: the state of one second (a :class:`~dctwin.app.runner.Frame` with its ``seek_s``)
    sig_state = Signal(object)
    #: opening or seeking failed (a message for the person)
    sig_error = Signal(str)
    #: the worker started (True) or finished (False) a job
    sig_busy = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None, heat_z_m: Optional[float] = DEFAULT_HEAT_Z_M):
        super().__init__(parent)
        self.heat_z_m = heat_z_m
        self.data: Optional[RecordingData] = None
        self.generation = 0
        self._cv = threading.Condition()
        self._open_req: Optional[tuple[int, str, Optional[int]]] = None
        self._seek_req: Optional[tuple[int, float]] = None
        self._stop = False
        self.sig_opened.connect(self._on_self_opened)
        self._thread = threading.Thread(target=self._run, name="dctwin-replay", daemon=True)
        self._thread.start()

    def _on_self_opened(self, data: RecordingData) -> None:
        if data.generation == self.generation:
            self.data = data

    # ---- requests (GUI thread)
    def open(self, path: str, recording_id: Optional[int] = None) -> int:
        """Open ``path`` (read-only) in the worker; ``sig_opened`` or ``sig_error`` follows."""
        with self._cv:
            self.generation += 1
            self._open_req = (self.generation, str(path), recording_id)
            self._seek_req = None
            self._cv.notify()
            return self.generation

    def seek(self, t_s: float) -> None:
        """Ask for the state at ``t_s``; an older request not yet started is dropped."""
        with self._cv:
            self._seek_req = (self.generation, float(t_s))
            self._cv.notify()

    def set_heat_height(self, z_m: Optional[float]) -> None:
        self.heat_z_m = z_m

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=10)

    # ---- worker
    def _run(self) -> None:
        project = None
        replayer = None
        gen = 0
        while True:
            with self._cv:
                while not self._stop and self._open_req is None and self._seek_req is None:
                    self._cv.wait()
                if self._stop:
                    break
                open_req, self._open_req = self._open_req, None
                seek_req = None
                if open_req is None:
                    seek_req, self._seek_req = self._seek_req, None
            self.sig_busy.emit(True)
            try:
                if open_req is not None:
                    gen, path, rec = open_req
                    if project is not None:
                        project.close()
                        project, replayer = None, None
                    project, data = load_recording(path, rec)
                    data.generation = gen
                    self.sig_opened.emit(data)
                    from dctwin.twin.store import Replayer

                    replayer = Replayer(project.recording(data.recording_id))
                elif seek_req is not None and replayer is not None and seek_req[0] == gen:
                    t0 = time.perf_counter()
                    sim = replayer.seek(seek_req[1])
                    z = self.heat_z_m
                    heat = sim.air_temperature_slice(z) if z is not None else None
                    self.sig_state.emit(Frame(gen, float(sim.t_s), sim.summary(), heat, z,
                                              seek_s=time.perf_counter() - t0))
            except DctwinError as exc:
                self.sig_error.emit(str(exc))
            except Exception as exc:  # the worker must survive a bad file or an engine error
                log.warning("replay failed: %s: %s", type(exc).__name__, exc)
                log.debug("replay failure details", exc_info=True)
                self.sig_error.emit(f"replay failed: {type(exc).__name__}: {exc}")
            finally:
                self.sig_busy.emit(False)
        if project is not None:
            project.close()


class BackgroundJob(QObject):
    """Run one function in a worker thread; its result (or error text) comes back by signal."""

    #: the function returned (its result)
    sig_done = Signal(object)
    #: the function raised (a message for the person)
    sig_error = Signal(str)
    #: follow-up signals for the owner (e.g. a report file was written / could not be written)
    sig_written = Signal(str)
    sig_failed = Signal(str)

    def __init__(self, fn, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name="dctwin-job", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            result = self._fn()
        except DctwinError as exc:
            self.sig_error.emit(str(exc))
        except Exception as exc:
            log.warning("background job failed: %s: %s", type(exc).__name__, exc)
            log.debug("background job failure details", exc_info=True)
            self.sig_error.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.sig_done.emit(result)
