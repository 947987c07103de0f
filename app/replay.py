"""Replay controller: open a recording and show the state of any second, without blocking the GUI.

A :class:`dctwin.app.workers.Worker` (thread ``dctwin-replay``) owns the project
file and a :class:`dctwin.twin.store.Replayer` (one simulation, built once). The
GUI asks with :meth:`ReplayController.open` and :meth:`ReplayController.seek`; the
worker keeps only the newest seek request, so scrubbing or playing faster than
the engine can follow shows the latest second asked for, never a queue of stale
ones. Results come back as plain data through signals (queued into the GUI thread).

Also here: timeline markers and a quick preview of a second from a recording's
own series (the cause chains in words are :mod:`dctwin.twin.review`'s).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal

from dctwin.twin.model.events import Event
from dctwin.twin.review import incident_title
from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.widgets.timeline import Marker, lane_of

from dctwin.app.runner import AirViews, Frame
from dctwin.app.workers import Task, Worker

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
    #: what operators did with the alarms (twin.sim.alarm_board.OperatorAction), in the order taken
    actions: list = field(default_factory=list)

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
    """Timeline markers: every event (incident or automatic lane), every raised alarm, every operator
    action on the alarms (on the incident lane: something done from outside); for a shadow replay also the
    site's own event log (its lane), and the events it applied marked as real."""
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
    out += [Marker(a.t_s, a.kind, "event", a.target, label=a.text(), key=("action", k))
            for k, a in enumerate(data.actions)]
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
        from dctwin.twin.store.operator import read_actions

        data.actions = read_actions(project, reader.id, reader.duration_s)
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
    """Owns the replay worker. See the module docstring."""

    #: a recording was opened (RecordingData)
    sig_opened = Signal(object)
    #: the state of one second (a :class:`~dctwin.app.runner.Frame` with its ``seek_s``)
    sig_state = Signal(object)
    #: opening or seeking failed (a message for the person)
    sig_error = Signal(str)

    def __init__(self, parent: Optional[QObject] = None, heat_z_m: Optional[float] = DEFAULT_HEAT_Z_M):
        super().__init__(parent)
        self.heat_z_m = heat_z_m
        self.air_views = AirViews()
        self.data: Optional[RecordingData] = None
        self.generation = 0
        self._project: Any = None  # these belong to the worker's thread
        self._replayer: Any = None
        self._open_generation = 0
        self._recording_id: Optional[int] = None
        self._unreplayable = False
        self.worker = Worker(self._serve, name="dctwin-replay", kinds=("open", "seek"), supersedes={"open": ("seek",)},
                             teardown=self._close, failure="replay failed", parent=self)
        self.worker.sig_done.connect(self._on_worker_done)
        self.worker.sig_error.connect(self.sig_error)
        self.worker.start()

    # ---- requests (GUI thread)
    def open(self, path: str, recording_id: Optional[int] = None) -> int:
        """Open ``path`` (read-only) in the worker; ``sig_opened`` or ``sig_error`` follows."""
        self.generation += 1
        self.worker.post("open", (self.generation, str(path), recording_id))
        return self.generation

    def seek(self, t_s: float) -> None:
        """Ask for the state at ``t_s``; an older request not yet started is dropped."""
        self.worker.post("seek", (self.generation, float(t_s)))

    def set_heat_height(self, z_m: Optional[float]) -> None:
        self.heat_z_m = z_m

    def set_air_views(self, views: AirViews) -> None:
        """The plan's arrows and the section for the seconds replayed from now on."""
        self.air_views = views

    def stop(self) -> None:
        self.worker.stop(timeout_s=10)

    def _on_worker_done(self, result: Any) -> None:
        if isinstance(result, RecordingData):
            if result.generation == self.generation:
                self.data = result
            self.sig_opened.emit(result)
        elif result is not None:
            self.sig_state.emit(result)

    # ---- worker
    def _serve(self, task: Task) -> Any:
        if task.kind == "open":
            gen, path, rec = task.value
            self._close()
            self._project, data = load_recording(path, rec)
            data.generation = self._open_generation = gen
            self._recording_id = data.recording_id
            return data
        gen, t_s = task.value
        if self._project is None or gen != self._open_generation:
            return None
        if self._replayer is None:  # built once, on the first seek (the recording is shown meanwhile)
            if self._unreplayable:
                return None  # building it failed, and that was said
            from dctwin.twin.store import Replayer

            try:
                self._replayer = Replayer(self._project.recording(self._recording_id))
            except Exception:
                self._unreplayable = True
                raise
        t0 = time.perf_counter()
        sim = self._replayer.seek(t_s)
        z = self.heat_z_m
        heat = sim.air_temperature_slice(z) if z is not None else None
        pf, sec = self.air_views.compute(sim, z)
        return Frame(gen, float(sim.t_s), sim.summary(), heat, z, seek_s=time.perf_counter() - t0, plan_flow=pf,
                     section=sec)

    def _close(self) -> None:
        if self._project is not None:
            self._project.close()
        self._project, self._replayer, self._unreplayable = None, None, False
