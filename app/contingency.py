"""Simulation > Contingency Sweep...: the sweep dialog, its cancellable progress, the Contingency dock,
replay of a scenario on the floor plan and the risk map.

:func:`install_contingency` puts the menu actions and the dock into the main window (one call from
``window.py``). The sweep runs :class:`dctwin.twin.store.sweep_job.SweepJob` (a dask cluster behind
it) on a plain worker thread; results stream into the chosen project file, so a cancelled sweep
keeps what finished and resumes when run again. Clicking a scenario replays its recorded run in
the replay view (a scenario that was not among the recorded top ones is recorded first).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDockWidget,
                               QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QProgressDialog, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from dctwin.twin.errors import DctwinError
from dctwin.twin.sim.contingency import DEFAULT_DURATION_S, FAIL_AT_S, KINDS, SweepSettings
from dctwin.widgets.contingency import ContingencyPanel, RiskMapItem

from dctwin.app.workers import Job, Task

log = logging.getLogger(__name__)

SWEEP_FILTER = "dctwin project files (*.dctwin);;All files (*)"


def _menu(window, title: str):
    for act in window.menuBar().actions():
        if act.menu() is not None and act.text().replace("&", "") == title:
            return act.menu()
    return window.menuBar().addMenu(title)


def install_contingency(window) -> "ContingencyController":
    """The Contingency dock and Simulation > Contingency Sweep... / Open Contingency Sweep... in ``window``."""
    ctl = ContingencyController(window)
    window.contingency = ctl
    return ctl


class SweepDialog(QDialog):
    """What to sweep (N-1 or N-2, which kinds), how long each scenario runs, where it runs and where
    the results go; says how many scenarios that is before anything starts."""

    def __init__(self, site, out: str, parent: Optional[QWidget] = None, hall_id: Optional[str] = None):
        super().__init__(parent)
        self.setWindowTitle("Contingency Sweep")
        self.site, self.hall_id = site, hall_id
        self.n = QComboBox(self)
        self.n.addItem("N-1: every single failure", 1)
        self.n.addItem("N-2: every pair of failures", 2)
        self.kinds = {k: QCheckBox(k, self) for k in KINDS}
        kinds_row = QHBoxLayout()
        for box in self.kinds.values():
            box.setChecked(True)
            kinds_row.addWidget(box)
        self.exhaustive = QCheckBox("Run every pair (also those proven equal to a single failure)", self)
        self.duration = QDoubleSpinBox(self)
        self.duration.setRange(FAIL_AT_S + 10, 366 * 86400)
        self.duration.setDecimals(0)
        self.duration.setSuffix(" s")
        self.duration.setValue(DEFAULT_DURATION_S)
        self.duration.setToolTip(f"each scenario runs to this time (the failure is at {FAIL_AT_S:g} s), "
                                 f"or less once steady")
        self.workers = QSpinBox(self)
        self.workers.setRange(1, 4096)
        self.workers.setValue(max(1, os.cpu_count() or 1))
        self.scheduler = QLineEdit(self)
        self.scheduler.setPlaceholderText("empty: a local cluster; or tcp://host:8786")
        self.out = QLineEdit(out, self)
        self.out.setObjectName("sweep_out")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.record = QSpinBox(self)
        self.record.setRange(0, 1000)
        self.record.setValue(3)
        self.hints = QSpinBox(self)
        self.hints.setRange(0, 1000)
        self.hints.setValue(3)
        self.count = QLabel(self)
        self.count.setObjectName("sweep_count")
        form = QFormLayout()
        form.addRow("Scenarios", self.n)
        form.addRow("Fail", kinds_row)
        form.addRow("", self.exhaustive)
        form.addRow("Run each to", self.duration)
        form.addRow("Local workers", self.workers)
        form.addRow("Dask scheduler", self.scheduler)
        form.addRow("Results into", out_row)
        form.addRow("Record the top", self.record)
        form.addRow("Design hints for the top", self.hints)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.button(QDialogButtonBox.Ok).setText("Run Sweep")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.count)
        lay.addWidget(self.buttons)
        self.n.currentIndexChanged.connect(self._update_count)
        self.exhaustive.toggled.connect(self._update_count)
        for box in self.kinds.values():
            box.toggled.connect(self._update_count)
        self._update_count()

    def settings(self) -> SweepSettings:
        return SweepSettings(n=int(self.n.currentData()), kinds=tuple(k for k, b in self.kinds.items() if b.isChecked()),
                             duration_s=float(self.duration.value()), hall_id=self.hall_id,
                             exhaustive=self.exhaustive.isChecked())

    def _update_count(self) -> None:
        from dctwin.twin.sim.contingency import scenario_set, single_failures

        ok = self.buttons.button(QDialogButtonBox.Ok)
        try:
            s = self.settings()
            if not s.kinds:
                raise DctwinError("choose at least one kind of failure")
            ss = scenario_set(self.site, single_failures(self.site, s.hall_id, s.kinds), s.n, s.exhaustive, s.hall_id)
        except DctwinError as exc:
            self.count.setText(f"<span style='color:#b00'>{exc}</span>")
            ok.setEnabled(False)
            return
        ok.setEnabled(bool(ss.scenarios))
        self.count.setText(f"<b>{ss.n_total} scenarios</b>" + (f", {len(ss.pruned)} of them pruned as equal to a "
                                                                f"single failure" if ss.pruned else ""))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Sweep results into", self.out.text(), SWEEP_FILTER,
                                              options=QFileDialog.DontConfirmOverwrite)
        if path:
            self.out.setText(path)


class SweepRunner(QObject):
    """One sweep on a worker (:class:`dctwin.app.workers.Job`); phases, progress and the result come
    back by signal."""

    #: a phase in words
    sig_said = Signal(str)
    #: scenarios done, of total, rate (per s), seconds left (-1: not known yet)
    sig_progress = Signal(int, int, float, float)
    #: the sweep finished: (SweepResult, JobReport)
    sig_done = Signal(object, object)
    #: it failed or was cancelled (a message for the person)
    sig_error = Signal(str)

    def __init__(self, job, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.job = job
        self.worker = Job(self._work, self, name="dctwin-sweep")
        self.worker.sig_progress.connect(self._on_report)
        self.worker.sig_done.connect(lambda out: self.sig_done.emit(*out))
        self.worker.sig_error.connect(self.sig_error.emit)
        self.worker.sig_cancelled.connect(self.sig_error.emit)

    def _work(self, task: Task):
        """On the worker's thread: the sweep, its phases and progress reported, its cancel the task's token."""
        job = self.job
        job.say = lambda text: task.report(("said", text))
        job.progress = lambda p: task.report(("progress", (p.done, p.total, p.rate_per_s,
                                                           -1.0 if p.left_s is None else p.left_s)))
        job.cancel = task.token
        return job.run()

    def _on_report(self, item) -> None:
        kind, value = item
        if kind == "said":
            self.sig_said.emit(value)
        else:
            self.sig_progress.emit(*value)

    def start(self) -> None:
        self.worker.start()

    def cancel(self) -> None:
        """Stop after the batches running now (what finished stays in the file)."""
        self.worker.cancel()

    def wait(self, timeout_s: Optional[float] = None) -> None:
        """Wait for the sweep's thread to end (at most ``timeout_s``)."""
        self.worker.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self.worker.alive


class ContingencyController(QObject):
    """The window's contingency parts: dock, menu actions, runs, replays, risk map."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panel = ContingencyPanel(window)
        self.dock = QDockWidget("Contingency", window)
        self.dock.setObjectName("contingency_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.runner: Optional[SweepRunner] = None
        self.progress: Optional[QProgressDialog] = None
        self.risk_item: Optional[RiskMapItem] = None
        self.sweep_id: Optional[int] = None
        self.path: Optional[str] = None
        sim_menu = _menu(window, "Simulation")
        sim_menu.addSeparator()
        self.act_sweep = sim_menu.addAction("Contingency &Sweep…", self.open_dialog)
        self.act_sweep.setStatusTip("What goes down if anything fails: every single failure (or pair), power and "
                                    "cooling coupled")
        self.act_open = sim_menu.addAction("Open Contingency Sweep…", self.open_file_dialog)
        _menu(window, "View").addAction(self.dock.toggleViewAction())
        p = self.panel
        p.sig_replay_requested.connect(self.replay)
        p.sig_risk_map_toggled.connect(self.show_risk_map)
        p.sig_element_chosen.connect(self._on_panel_element_chosen)
        window.doc.sig_site_replaced.connect(self._rebuild_risk)
        window.doc.sig_site_changed.connect(lambda _c: self._rebuild_risk())
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)

    def _on_app_about_to_quit(self) -> None:
        """Leaving with a sweep running: stop it (what finished is in the file), and let its cluster close."""
        runner = self.runner
        if runner is not None:
            runner.cancel()
            runner.wait(30)

    # ------------------------------------------------------------------ running
    def default_out(self) -> str:
        doc_path = getattr(self.window.doc, "path", None)
        if doc_path:
            return str(Path(doc_path).with_name(Path(doc_path).stem + "-sweep.dctwin"))
        return str(Path.home() / f"{self.window.doc.site.name or 'site'}-sweep.dctwin")

    def open_dialog(self) -> Optional[SweepRunner]:
        if self.runner is not None:
            self.progress.show() if self.progress is not None else None
            return self.runner
        dlg = SweepDialog(self.window.doc.site.copy(), self.default_out(), self.window, self.window._hall_id())
        self.dialog = dlg
        if dlg.exec() != QDialog.Accepted:
            return None
        return self.start(dlg.settings(), dlg.out.text().strip() or None,
                          workers=dlg.workers.value(), scheduler=dlg.scheduler.text().strip() or None,
                          record=dlg.record.value(), hints=dlg.hints.value())

    def start(self, settings: SweepSettings, out: Optional[str], workers: Optional[int] = None,
              scheduler: Optional[str] = None, record: int = 3, hints: int = 3) -> Optional[SweepRunner]:
        """Run a sweep of the open layout into ``out`` (a worker thread; the progress dialog can cancel it)."""
        from dctwin.twin.store.sweep_job import SweepJob, check_out

        w = self.window
        doc_path = getattr(w.doc, "path", None)
        try:
            if out:
                check_out(out, (doc_path,) if doc_path else ())
            job = SweepJob(w.doc.site.copy(), settings, out, base_dir=str(Path(doc_path).parent) if doc_path else None,
                           workers=workers, scheduler=scheduler, record=record if out else 0, hints=hints)
            sset = job.plan()
        except DctwinError as exc:
            QMessageBox.critical(w, "Cannot run the sweep", str(exc))
            return None
        total = len(sset.scenarios)
        self.path = out
        runner = SweepRunner(job, self)
        dlg = QProgressDialog(f"{sset.n_total} scenarios" + (f" ({len(sset.pruned)} pruned)" if sset.pruned else "")
                              + ": solving the steady state…", "Cancel", 0, max(total, 1), w)
        dlg.setWindowTitle("Contingency Sweep")
        dlg.setObjectName("sweep_progress")
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.setValue(0)
        dlg.canceled.connect(self._on_progress_canceled)
        dlg.show()
        self.progress = dlg
        runner.sig_said.connect(self._on_runner_said)
        runner.sig_progress.connect(self._on_runner_progress)
        runner.sig_done.connect(self._on_runner_done)
        runner.sig_error.connect(self._on_runner_error)
        self.runner = runner
        w.show_status(f"Contingency sweep: {sset.n_total} scenarios")
        runner.start()
        return runner

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
            if self.progress is not None:
                self.progress.setLabelText("Cancelling: waiting for the scenarios running now…")

    def _on_progress_canceled(self) -> None:
        self.cancel()

    def _on_runner_said(self, text: str) -> None:
        if self.progress is not None:
            self.progress.setLabelText(text[:1].upper() + text[1:] + "…")

    def _on_runner_progress(self, done: int, total: int, rate: float, left: float) -> None:
        if self.progress is None:
            return
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        eta = "" if left < 0 else f", {int(left) // 60}:{int(left) % 60:02d} left"
        self.progress.setLabelText(f"{done} of {total} scenarios, {rate:.2f}/s{eta}")

    def _finish_run(self) -> None:
        if self.progress is not None:
            self.progress.reset()
            self.progress.hide()
            self.progress.deleteLater()
        self.progress = None
        self.runner = None

    def _on_runner_done(self, result, report) -> None:
        self._finish_run()
        self.sweep_id = result.id
        self.show_result(result.to_json(), self.path)
        lost = sum(1 for o in result.scenarios if o["severity_level"] == "it_lost")
        self.window.show_status(f"Contingency sweep: {report.n_scenarios} scenarios in {report.wall_s:.0f} s on "
                                f"{report.workers} worker(s); {lost} take IT down")

    def _on_runner_error(self, message: str) -> None:
        self._finish_run()
        self.window.show_status(f"Contingency sweep: {message}")
        if "cancelled" not in message:
            QMessageBox.critical(self.window, "Contingency sweep failed", message)
        elif self.path:
            self.show_file(self.path)

    # ------------------------------------------------------------------ showing
    def show_result(self, data: dict[str, Any], path: Optional[str]) -> None:
        self.panel.set_sweep(data, path)
        self.sweep_id = data.get("sweep_id", self.sweep_id)
        self.dock.show()
        self.dock.raise_()
        self.panel.risk_box.setChecked(True)
        self._rebuild_risk()

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open contingency sweep", "", SWEEP_FILTER)
        if path:
            self.show_file(path)

    def show_file(self, path: str, sweep_id: Optional[int] = None) -> bool:
        """Show the sweep stored in ``path`` (default: its latest)."""
        from dctwin.twin.store import Project
        from dctwin.twin.store.sweeps import load_sweep

        try:
            with Project.open(path, read_only=True) as project:
                result = load_sweep(project, sweep_id)
        except DctwinError as exc:
            QMessageBox.critical(self.window, "Cannot open the sweep", str(exc))
            return False
        self.path = str(path)
        self.show_result(result.to_json(), str(path))
        return True

    # ------------------------------------------------------------------ risk map
    def show_risk_map(self, on: bool) -> None:
        scene = self.window.scene
        if on:
            if self.risk_item is None or self.risk_item.scene() is not scene:
                self.risk_item = RiskMapItem(scene)
                scene.addItem(self.risk_item)
            self.risk_item.set_risk(self.panel.risk)
            self.risk_item.show()
        elif self.risk_item is not None:
            self.risk_item.hide()

    def _rebuild_risk(self) -> None:
        if self.risk_item is not None and self.risk_item.isVisible():
            self.risk_item.rebuild()

    def _on_panel_element_chosen(self, ident: str) -> None:
        scene = self.window.scene
        if ident in scene.items_by_id:
            scene.select_ids([ident])
            self.window.view.ensureVisible(scene.items_by_id[ident])

    # ------------------------------------------------------------------ replay
    def replay(self, key: str):
        """Replay scenario ``key`` in the replay view; a scenario not recorded yet is recorded first
        (in a worker; returns that job, else None)."""
        o = self.panel.outcome(key)
        path = self.panel.path
        if o is None or not path:
            self.window.show_status("This sweep has no project file to replay from")
            return None
        if o.get("recording_id") is not None:
            self.window.open_recording(path, int(o["recording_id"]))
            return None
        from dctwin.twin.store.sweep_job import record_scenario

        sid = self.sweep_id
        job = Job(lambda _task: record_scenario(path, sid, key), self.window, name="dctwin-record-scenario")

        def recorded(rid) -> None:
            self.show_file(path, sid)
            self.panel.select_key(key)
            self.window.open_recording(path, int(rid))

        self.window.run_job(job, f"Recording '{o['label']}' for replay…", recorded, "Cannot record the scenario")
        return job
