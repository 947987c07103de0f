"""Simulation > Incidents: the built-in incident library, run and recorded on the hall shown.

Installed as a window feature (:data:`dctwin.app.window.FEATURES`). Choosing an incident checks it
against the layout (an incident written for another hall names the elements it misses, and the demo
it was written for), asks where to record (beside the layout, named after it and the incident), then
runs and records it behind the progress dialog of :mod:`dctwin.app.incident_run`; the recording then
opens in the replay view. The library is also in the incident editor (its Library button).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.incidents import list_incidents, load_library_incident

from dctwin.app.incident_editor import DEFAULT_DURATION_S, RECORDING_FILTER
from dctwin.app.incident_run import RecordingProgress, start_recording
from dctwin.app.workers import Job

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow


class IncidentMenu:
    """The submenu and its runs (``window.incidents``)."""

    def __init__(self, window: "MainWindow"):
        self.w = window
        self.job: Optional[Job] = None
        self.progress: Optional[RecordingProgress] = None
        self.menu = window.menu("Simulation").addMenu("&Incidents")
        self.menu.setToolTipsVisible(True)
        self.actions = {}
        for name, text in list_incidents().items():
            act = self.menu.addAction(name, lambda n=name: self.run(n))
            act.setToolTip(text)
            act.setStatusTip(f"Run and record on the hall shown: {text}")
            self.actions[name] = act
        self.menu.addSeparator()
        self.menu.addAction(window.act_incident_editor)
        #: the open incident editor (non-modal), None when closed
        self.editor = None

    def open_editor(self):
        """Edit an incident for the layout shown (non-modal); a recorded run opens in the replay view."""
        from dctwin.app.incident_editor import IncidentEditorDialog

        w = self.w
        if w.doc.read_only:
            w.show_status(f"Refused: {w.doc.read_only_reason}")
            return None
        if self.editor is not None:
            self.editor.show()
            self.editor.raise_()
            return self.editor
        folder = os.path.dirname(os.path.abspath(w.doc.path)) if w.doc.path else None
        dlg = IncidentEditorDialog(w.doc.site.copy(), w._hall_id(), parent=w, folder=folder, settings=w.settings)
        dlg.sig_recorded.connect(w.open_recording)
        dlg.finished.connect(lambda _=0: setattr(self, "editor", None))
        self.editor = dlg
        dlg.show()
        return dlg

    def default_path(self, name: str) -> str:
        """Where a run of ``name`` is recorded unless the person says otherwise: beside the layout file."""
        doc = self.w.doc
        folder = os.path.dirname(os.path.abspath(doc.path)) if doc.path else str(Path.home())
        stem = Path(doc.path).stem if doc.path else (doc.site.name or "layout")
        return os.path.join(folder, f"{stem}-{name}.dctwin")

    def run(self, name: str, out: Optional[str] = None) -> Optional[Job]:
        """Run and record the built-in incident ``name`` on the hall shown (asks where to, unless ``out``)."""
        w = self.w
        if w.replay_mode:
            QMessageBox.information(w, "Run an incident", "A replay is shown. File > Close Replay first: the incident "
                                                          "runs on the layout being edited.")
            return None
        if self.job is not None:
            w.show_status("An incident is being recorded already")
            return None
        site = w.doc.site.copy()
        try:
            incident = load_library_incident(name, site)
        except LayoutError as exc:
            issues = "\n".join(f"• {i}" for i in exc.issues) if exc.issues else str(exc)
            written_for = list_incidents().get(name, "").split(":")[0]
            hint = (f"\n\nIt is written for the demo hall '{written_for}' (dctwin demo {written_for} --out FILE, then "
                    f"File > Open)." if written_for else "")
            QMessageBox.critical(w, "Cannot run incident", f"{name} does not fit this layout:\n\n{issues}{hint}")
            w.show_status(f"Refused incident {name}: it names elements this layout does not have")
            return None
        if out is None:
            out, _ = QFileDialog.getSaveFileName(w, f"Record {name} into", self.default_path(name), RECORDING_FILTER)
            if not out:
                return None
        duration = incident.duration_s if incident.duration_s is not None else DEFAULT_DURATION_S
        job, self.progress = start_recording(w, site, incident, out, duration, w._hall_id())
        self.job = job

        def finished(*_args) -> None:
            self.job = None

        def done(path: str) -> None:
            finished()
            w.show_status(f"Recorded {name} ({duration:g} s) into {path}")
            w.open_recording(path)

        job.sig_done.connect(done)
        job.sig_cancelled.connect(lambda message: (finished(), w.show_status(f"Incident {name}: {message}")))
        job.sig_error.connect(lambda message: (finished(), w.show_status(f"Incident {name} failed: {message}"),
                                               QMessageBox.critical(w, f"Incident {name}", message)))
        w.show_status(f"Recording {name} into {out}…", 0)
        return job


def install_incident_menu(window: "MainWindow") -> None:
    """The window feature (``window.incidents``)."""
    window.incidents = IncidentMenu(window)
