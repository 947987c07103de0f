"""Run and Record: simulate a layout with an incident in a worker, recording into a project file, behind a
progress dialog that says from the start what is going on, then the percentage done and the time left.

Used by the incident editor's "Run and Record…" and by Simulation > Incidents (the library). The work
(:func:`record_incident`) reports what it prepares (a text: the steady state, and compiling the physics
kernels when this machine runs them for the first time), then the simulated seconds done;
:class:`RecordingProgress` shows both, with the time left estimated from the recording's pace.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from dctwin.twin.model.incidents import Incident
from dctwin.twin.model.layout import Site
from dctwin.widgets.timeline import fmt_time

from dctwin.app.status import COMPILING
from dctwin.app.workers import Job, Task

#: the progress bar's resolution: per mille of the run
STEPS = 1000


def record_incident(task: Task, site: Site, incident: Incident, out: str, duration_s: float,
                    hall_id: Optional[str] = None, grid_m: Optional[float] = None,
                    keyframe_every_s: float = 60.0) -> str:
    """The work of Run and Record (on a worker's thread): simulate ``site`` with ``incident`` for
    ``duration_s``, recording into ``out``. Reports once what it prepares (a text), then the simulated
    seconds done (a float, at most once a simulated second); stops when ``task.token`` is cancelled.
    Returns ``out``."""
    from dctwin.twin.physics import kernels
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.store import record_run

    try:
        compiling = kernels.compile_pending()
    except Exception:  # the cache cannot be read: say nothing about compiling
        compiling = False
    task.report(("Preparing: " + COMPILING + ", then the steady state before the incident") if compiling
                else "Preparing: the steady state before the incident")
    rr = None
    try:
        sim = Simulation(site, hall_id, grid_m=grid_m)
        sim.start()  # the steady state, or the heat-up of a hall whose heat has nowhere to go
        incident.schedule_on(sim)
        rr = record_run(out, site, sim, incident=incident, grid_m=grid_m, duration_s=duration_s,
                        keyframe_every_s=keyframe_every_s, note="incident editor")
        last = [0.0]

        def progress(done_s: float) -> None:
            task.token.check(f"cancelled: {out} keeps what was recorded so far (an unfinished recording)")
            if done_s - last[0] >= 1.0 or done_s >= duration_s:
                last[0] = done_s
                task.report(float(done_s))

        sim.run(duration_s, on_step=rr.on_step, progress=progress)
        rr.close(sim)
    except BaseException:
        if rr is not None:
            rr.abort()
        raise
    return out


def time_left_s(elapsed_s: float, done: float, total: float) -> Optional[float]:
    """Wall seconds left at the pace so far (None until there is a pace to go by)."""
    if done <= 0 or elapsed_s <= 0 or total <= 0:
        return None
    return elapsed_s / done * max(total - done, 0.0)


class RecordingProgress(QObject):
    """The progress dialog of one Run and Record (see the module docstring); ``dialog`` is the widget."""

    #: the text shown changed (for tests and the window's status bar)
    sig_text_changed = Signal(str)

    def __init__(self, parent: QWidget, job: Job, duration_s: float, out: str):
        super().__init__(parent)
        self.duration_s = float(duration_s)
        self.out = out
        self.started = time.monotonic()
        self.recording_since: Optional[float] = None  # when the first simulated second was reported
        self.first_done_s = 0.0
        self.done_s = 0.0
        self.phase = "Preparing: starting the simulation"
        self.dialog = QProgressDialog(self.phase, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("Run and Record")
        self.dialog.setMinimumDuration(0)  # at once: the first seconds are the ones that worried people
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumWidth(520)
        self.dialog.canceled.connect(job.cancel)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._show)
        job.sig_progress.connect(self._on_job_progress)
        for signal in (job.sig_done, job.sig_error, job.sig_cancelled):
            signal.connect(self._on_job_ended)
        self._timer.start()
        self._show()
        self.dialog.show()

    @property
    def fraction(self) -> float:
        return min(self.done_s / self.duration_s, 1.0) if self.duration_s > 0 else 0.0

    def text(self) -> str:
        """What the dialog says now."""
        elapsed = time.monotonic() - self.started
        if self.recording_since is None:
            return f"{self.phase}… ({fmt_time(elapsed)} so far)"
        left = time_left_s(time.monotonic() - self.recording_since, self.done_s - self.first_done_s,
                           self.duration_s - self.first_done_s)
        when = "estimating the time left" if left is None else f"about {fmt_time(left)} left"
        return (f"Simulating {fmt_time(self.duration_s)} and recording into {self.out}\n"
                f"{100 * self.fraction:.0f} % — {when} ({fmt_time(elapsed)} so far)")

    def _on_job_progress(self, value: Any) -> None:
        if isinstance(value, str):
            self.phase = value
        else:
            if self.recording_since is None:
                self.recording_since, self.first_done_s = time.monotonic(), float(value)
                self.dialog.setRange(0, STEPS)
            self.done_s = float(value)
        self._show()

    def _show(self) -> None:
        text = self.text()
        self.dialog.setLabelText(text)
        if self.recording_since is not None:
            self.dialog.setValue(int(round(STEPS * self.fraction)))
        self.sig_text_changed.emit(text)

    def _on_job_ended(self, *_args) -> None:
        self._timer.stop()
        self.dialog.reset()
        self.dialog.hide()


def start_recording(parent: QWidget, site: Site, incident: Incident, out: str, duration_s: float,
                    hall_id: Optional[str] = None, grid_m: Optional[float] = None) -> tuple[Job, RecordingProgress]:
    """Run and Record ``incident`` on ``site`` into ``out`` in a worker, behind its progress dialog. The job
    is started; connect to its ``sig_done`` (``out``), ``sig_error`` and ``sig_cancelled``."""
    job = Job(lambda task: record_incident(task, site, incident, str(out), duration_s, hall_id, grid_m), parent,
              name="dctwin-record")
    progress = RecordingProgress(parent, job, duration_s, str(out))
    job.start()
    return job, progress
