"""MainWindow: the floor plan in the centre, docks around it, menus, toolbar and status bar.

The window wires widgets to the document and the simulation runner. Widgets
emit intent; the window turns it into :mod:`dctwin.twin.model.commands` values and runs
them through :meth:`dctwin.app.document.Document.execute`, so every accepted edit
is one undo step and a refused one changes nothing and says why.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from html import escape as html_escape
from typing import Optional

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QProgressDialog, QToolBar, QUndoView, QVBoxLayout,
                               QWidget)

from dctwin.twin.model.commands import (
    AddElement, IdAllocator, Macro, MoveElements, RemoveElements, RotateElement, SetHallProperty, SetProperty,
)
from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import Element
from dctwin.widgets.alarms import AlarmsPanel
from dctwin.widgets.colorbar import ColorBarWidget
from dctwin.widgets.floor_plan import FIT_LEGEND, METRIC_LABELS, METRICS, FloorPlanScene, FloorPlanView
from dctwin.widgets.inspector import InspectorPanel
from dctwin.widgets.palette import PalettePanel
from dctwin.widgets.power_tree import PowerTreePanel
from dctwin.widgets.cause_chain import CauseChainPanel
from dctwin.widgets.timeline import TimelinePanel
from dctwin.widgets.trends import TrendsPanel

from dctwin.app.document import Document, blank_site
from dctwin.app.import_dialogs import install_import_menu
from dctwin.app.runner import SPEEDS, Frame, SimRunner
from dctwin.app.settings import Settings

log = logging.getLogger(__name__)

HEAT_HEIGHTS = ("off", "0.5", "1.0", "1.5", "2.0")
FILE_FILTER = "dctwin layouts (*.json);;All files (*)"
RECORDING_FILTER = "dctwin project and review files (*.dctwin);;All files (*)"
STATUS_TIMEOUT_MS = 15000


def _issue_text(exc: LayoutError) -> str:
    return "; ".join(str(i) for i in exc.issues) if exc.issues else str(exc)


class MainWindow(QMainWindow):
    """The dctwin editor window for one :class:`Document`."""

    #: the floor plan shows new physics results (a steady solve or a running frame)
    sig_physics_shown = Signal(object)

    #: seconds after the last edit before unsaved work is autosaved
    AUTOSAVE_DELAY_MS = 3000

    def __init__(self, document: Optional[Document] = None, settings: Optional[Settings] = None,
                 runner: Optional[SimRunner] = None, parent: Optional[QWidget] = None,
                 autosave: bool = False, autosave_folder: Optional[str] = None):
        super().__init__(parent)
        self.autosave = autosave
        self.autosave_folder = autosave_folder
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.timeout.connect(self._write_autosave)
        self.doc = document if document is not None else Document(blank_site())
        self.settings = settings if settings is not None else Settings()
        self.runner = runner if runner is not None else SimRunner(self)
        self.clipboard: list[Element] = []
        self._alarms_generation = None
        self.last_frame: Optional[Frame] = None
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)

        self.scene = FloorPlanScene(self.doc.site, parent=self)
        self.view = FloorPlanView(self.scene, self)
        self.view.setObjectName("floor_plan")
        self.banner = QLabel(self)
        self.banner.setObjectName("read_only_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel#read_only_banner { background: #fff3c4; color: #3a2f00; "
                                  "padding: 6px; border-bottom: 1px solid #d8c16a; }")
        self.banner.hide()
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.view, 1)
        self.setCentralWidget(central)

        self.palette_panel = PalettePanel(self)
        self.inspector = InspectorPanel(self)
        self.trends = TrendsPanel(self)
        self.palette_dock = self._dock("Palette", self.palette_panel, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.trends_dock = self._dock("Trends", self.trends, Qt.RightDockWidgetArea)
        self.splitDockWidget(self.inspector_dock, self.trends_dock, Qt.Vertical)
        self.trends.setMinimumHeight(160)
        self.power_tree = PowerTreePanel(self)
        self.power_tree.set_site(self.doc.site)
        self.power_dock = self._dock("Power", self.power_tree, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.power_dock)
        self.history = QUndoView(self.doc.undo_stack, self)
        self.history.setEmptyLabel("<opened>")
        self.history_dock = self._dock("History", self.history, Qt.LeftDockWidgetArea)
        self.splitDockWidget(self.palette_dock, self.history_dock, Qt.Vertical)
        self.alarms = AlarmsPanel(self)
        self.alarms_dock = self._dock("Alarms", self.alarms, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.trends_dock, self.alarms_dock)
        self.trends_dock.raise_()
        self.inspector_dock.raise_()
        self.inspector.setMinimumWidth(240)
        self.timeline = TimelinePanel(self)
        self.timeline_dock = self._dock("Timeline", self.timeline, Qt.BottomDockWidgetArea)
        self.cause_panel = CauseChainPanel(self)
        self.cause_dock = self._dock("Cause chain", self.cause_panel, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.alarms_dock, self.cause_dock)
        self.timeline_dock.hide()
        self.cause_dock.hide()
        self.trends_dock.raise_()  # tabifying the cause dock brought its tab group forward
        #: replay mode: a recording is shown (the layout is read-only); see app/replay.py
        self.replay_mode = False
        self._replay_errors_shown: set[str] = set()  # seek failures of this recording already said in a dialog
        self.replay = None  # ReplayController, made on first use
        self.replay_data = None
        self._before_replay = None
        self._jobs: list = []

        self._build_status_bar()
        self._build_actions()
        self._build_menus()
        install_import_menu(self)
        self._build_toolbar()
        self._connect()

        self.resize(1400, 900)
        geo, state = self.settings.geometry(), self.settings.window_state()
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)
        else:
            self.resizeDocks([self.palette_dock, self.inspector_dock], [200, 380], Qt.Horizontal)
            self.resizeDocks([self.inspector_dock, self.trends_dock], [330, 470], Qt.Vertical)
        self.save_settings_on_close = True
        self._update_title()
        self._update_recent_menu()
        self._update_physics_label()
        self._update_layout_status()
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        QTimer.singleShot(0, self.view.zoom_to_fit)
        self._request_solve()

    # ------------------------------------------------------------------ building
    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.time_label = QLabel("t = 0 s")
        self.pue_label = QLabel("PUE —")
        self.it_label = QLabel("IT — kW")
        self.hot_label = QLabel("hottest inlet —")
        self.physics_label = QLabel("")
        self.settle_bar = QProgressBar()
        self.settle_bar.setRange(0, 0)  # busy indicator
        self.settle_bar.setMaximumWidth(80)
        self.settle_bar.setMaximumHeight(14)
        self.settle_bar.setToolTip("settling: the steady state is being recomputed")
        self.settle_bar.hide()
        self.cursor_label = QLabel("")
        for w in (self.cursor_label, self.time_label, self.it_label, self.pue_label, self.hot_label,
                  self.settle_bar, self.physics_label):
            sb.addPermanentWidget(w)

    def _action(self, text: str, slot, shortcuts=(), tip: str = "", checkable: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcuts:
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        act.setCheckable(checkable)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        self.act_new = self._action("&New", self.new_document, [QKeySequence.New], "Start an empty hall")
        self.act_open = self._action("&Open…", self.open_dialog, [QKeySequence.Open], "Open a layout file")
        self.act_save = self._action("&Save", self.save, [QKeySequence.Save], "Save the layout")
        self.act_save_as = self._action("Save &As…", self.save_as, [QKeySequence.SaveAs],
                                        "Save the layout under a new name")
        self.act_quit = self._action("&Quit", self.close, [QKeySequence.Quit])
        self.act_open_recording = self._action("Open Re&cording…", self.open_recording_dialog, ["Ctrl+Shift+O"],
                                               "Replay a recording (a project file or a review export)")
        self.act_close_replay = self._action("&Close Replay", self.close_replay, [],
                                             "Leave the replay and go back to editing")
        self.act_export_review = self._action("Export for Re&view…", self.export_review_dialog, [],
                                              "Write a self-contained, hashed review file of this recording")
        self.act_export_report = self._action("Export Re&port…", self.export_report_dialog, [],
                                              "Write the review report (PDF or HTML) of this recording")
        for act in (self.act_close_replay, self.act_export_review, self.act_export_report):
            act.setEnabled(False)
        self.act_incident_editor = self._action("&Incident Editor…", self.open_incident_editor, ["Ctrl+I"],
                                                "Build an incident on a timeline, then run and record it")
        self.incident_editor = None
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence.Undo])
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_delete = self._action("&Delete", self.delete_selection, [QKeySequence.Delete, "Backspace"],
                                       "Delete the selection")
        self.act_rotate = self._action("&Rotate", self.rotate_selection, ["R"],
                                       "Turn the selection a quarter turn clockwise")
        self.act_copy = self._action("&Copy", self.copy_selection, [QKeySequence.Copy])
        self.act_paste = self._action("&Paste", self.paste, [QKeySequence.Paste])
        self.act_select_all = self._action("Select &All", self.select_all, [QKeySequence.SelectAll])
        self.act_zoom_in = self._action("Zoom &In", self.view.zoom_in, [QKeySequence.ZoomIn, "+", "="])
        self.act_zoom_out = self._action("Zoom &Out", self.view.zoom_out, [QKeySequence.ZoomOut, "-"])
        self.act_zoom_fit = self._action("Zoom to &Fit", self.view.zoom_to_fit, ["Ctrl+0", "F"],
                                         "Show the whole hall")
        self.act_run = self._action("&Run", self.toggle_run, ["Ctrl+Space"],
                                    "Run or pause the simulation (Space on the floor plan)", checkable=True)
        self.speed_group = QActionGroup(self)
        self.speed_actions: dict[str, QAction] = {}
        for name in SPEEDS:
            act = QAction("As fast as possible" if name == "max" else name, self, checkable=True)
            act.setData(name)
            act.triggered.connect(lambda _=False, n=name: self.set_speed(n))
            self.speed_group.addAction(act)
            self.speed_actions[name] = act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_open_recording, self.act_close_replay, self.act_export_review, self.act_export_report])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_copy, self.act_paste, self.act_delete, self.act_rotate, self.act_select_all])
        m = mb.addMenu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit])
        m.addSeparator()
        for dock in (self.palette_dock, self.history_dock, self.inspector_dock, self.power_dock, self.trends_dock,
                     self.alarms_dock):
            m.addAction(dock.toggleViewAction())
        m = mb.addMenu("&Simulation")
        m.addAction(self.act_run)
        m.addAction(self.act_incident_editor)
        sm = m.addMenu("&Speed")
        sm.addActions(self.speed_group.actions())

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        self.addToolBar(tb)
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo, self.act_delete, self.act_rotate])
        tb.addSeparator()
        tb.addAction(self.act_zoom_fit)
        tb.addSeparator()
        tb.addAction(self.act_run)
        self.speed_combo = QComboBox(self)
        self.speed_combo.setToolTip("Simulation speed")
        for name in SPEEDS:
            self.speed_combo.addItem("max" if name == "max" else name, name)
        tb.addWidget(self.speed_combo)
        tb.addSeparator()
        self.hall_label = QLabel(" Hall ")
        self.hall_combo = QComboBox(self)
        self.hall_combo.setToolTip("Which hall of the site the floor plan shows")
        self.hall_label_action = tb.addWidget(self.hall_label)
        self.hall_combo_action = tb.addWidget(self.hall_combo)
        self._fill_hall_combo()
        tb.addWidget(QLabel(" Colour by "))
        self.metric_combo = QComboBox(self)
        for m in METRICS:
            self.metric_combo.addItem(METRIC_LABELS[m], m)
        tb.addWidget(self.metric_combo)
        tb.addWidget(QLabel(" Heat map "))
        self.heat_combo = QComboBox(self)
        for h in HEAT_HEIGHTS:
            self.heat_combo.addItem("off" if h == "off" else f"{h} m", h)
        self.heat_combo.setToolTip("Air temperature at this height above the floor")
        tb.addWidget(self.heat_combo)
        tb.addSeparator()
        self.colorbar = ColorBarWidget(self.scene.temp_scale, self)
        tb.addWidget(self.colorbar)

        speed = self.settings.value("speed", "60x")
        self.speed_combo.setCurrentIndex(max(0, self.speed_combo.findData(speed)))
        self.set_speed(self.speed_combo.currentData())
        metric = self.settings.value("metric", "inlet_c")
        self.metric_combo.setCurrentIndex(max(0, self.metric_combo.findData(metric)))
        self._on_metric_changed()
        heat = self.settings.value("heat_height", "1.0")
        self.heat_combo.setCurrentIndex(max(0, self.heat_combo.findData(heat)))
        self._on_heat_changed()

    def _connect(self) -> None:
        d, v, s = self.doc, self.view, self.scene
        d.sig_site_changed.connect(self._on_doc_site_changed)
        d.sig_site_replaced.connect(self._on_doc_site_replaced)
        d.sig_dirty_changed.connect(self._on_doc_dirty_changed)
        d.sig_path_changed.connect(lambda _: self._update_title())
        v.sig_move_requested.connect(self._on_view_move_requested)
        v.sig_drop_requested.connect(self._on_view_drop_requested)
        v.sig_refused.connect(self._on_view_refused)
        v.sig_drag_hint.connect(self._on_view_drag_hint)
        v.sig_capacity_hint.connect(self._on_view_capacity_hint)
        v.sig_space_tapped.connect(self.toggle_run)
        v.sig_cursor_moved.connect(self._on_view_cursor_moved)
        s.selectionChanged.connect(self._on_scene_selection_changed)
        self.inspector.sig_property_edited.connect(self._on_inspector_property_edited)
        self.inspector.sig_hall_property_edited.connect(self._on_inspector_hall_property_edited)
        self.power_tree.sig_racks_chosen.connect(self._on_power_tree_racks_chosen)
        self.alarms.sig_target_chosen.connect(self._on_alarms_target_chosen)
        self.speed_combo.currentIndexChanged.connect(lambda _: self.set_speed(self.speed_combo.currentData()))
        self.metric_combo.currentIndexChanged.connect(lambda _: self._on_metric_changed())
        self.hall_combo.activated.connect(lambda _: self.show_hall(self.hall_combo.currentText()))
        self.heat_combo.currentIndexChanged.connect(lambda _: self._on_heat_changed())
        r = self.runner
        r.sig_solved.connect(self._on_runner_frame)
        r.sig_frame.connect(self._on_runner_frame)
        r.sig_busy.connect(self._on_runner_busy)
        r.sig_error.connect(self._on_runner_error)
        r.sig_running.connect(self._on_runner_running)
        self.timeline.sig_seek_requested.connect(self._on_timeline_seek_requested)
        self.timeline.sig_marker_clicked.connect(self._on_timeline_marker_clicked)
        self.cause_panel.sig_step_chosen.connect(self._on_cause_step_chosen)

    # ------------------------------------------------------------------ messages
    def show_status(self, text: str, timeout_ms: int = STATUS_TIMEOUT_MS) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _update_title(self) -> None:
        if self.replay_mode and self.replay_data is not None:
            d = self.replay_data
            kind = "review export" if d.is_review else "replay"
            self.setWindowTitle(f"{os.path.basename(d.path)}, recording {d.recording_id} ({kind}, read-only) — dctwin")
            self.setWindowModified(False)
            return
        self.setWindowTitle(f"{self.doc.title}[*] — dctwin")
        self.setWindowModified(self.doc.dirty)

    def _update_physics_label(self) -> None:
        if not self.runner.available:
            self.physics_label.setText("physics unavailable")
            self.physics_label.setToolTip("twin.engine is not installed or failed to load: "
                                          "layout editing works, temperatures are not computed")
            self.act_run.setEnabled(False)
        else:
            self.act_run.setEnabled(True)

    def _update_layout_status(self) -> None:
        if self.last_frame is None:
            it_kw = sum(r.it_kw for h in self.doc.site.halls for r in h.racks)
            self.it_label.setText(f"IT {it_kw:.0f} kW (design)")

    # ------------------------------------------------------------------ autosave
    def _on_doc_dirty_changed(self, dirty: bool) -> None:
        self._update_title()
        if not dirty:
            self._autosave_timer.stop()
            self._discard_autosave()

    def _schedule_autosave(self) -> None:
        if self.autosave:  # push() runs the edit before the stack counts it: check dirty when the timer fires
            self._autosave_timer.start(self.AUTOSAVE_DELAY_MS)

    def _write_autosave(self) -> None:
        from dctwin.twin.store.autosave import write_autosave

        if not self.doc.dirty:
            return
        try:
            write_autosave(self.doc.site, self.doc.path, folder=self.autosave_folder)
        except (OSError, ValueError) as exc:  # autosave must never get in the way of editing
            log.warning("autosave failed: %s", exc)
            self.show_status(f"Autosave failed: {exc}")

    def _discard_autosave(self) -> None:
        if not self.autosave:
            return
        from dctwin.twin.store.autosave import discard_autosave

        try:
            discard_autosave(folder=self.autosave_folder)
        except OSError as exc:
            log.warning("cannot remove autosave: %s", exc)

    def offer_recovery(self) -> bool:
        """If an earlier session crashed with unsaved edits, offer to reopen them. True if recovered."""
        from dctwin.twin.errors import ProjectFileError
        from dctwin.twin.store.autosave import discard_autosave, find_autosaves, load_autosave

        try:
            found = find_autosaves(self.autosave_folder)
        except OSError as exc:
            log.warning("cannot look for autosaves: %s", exc)
            return False
        if not found:
            return False
        info = found[0]
        what = info.document or "an untitled layout"
        answer = QMessageBox.question(
            self, "Recover unsaved changes",
            f"dctwin did not close properly last time. Unsaved changes to {what} were autosaved at "
            f"{info.saved_at}.\n\nRecover them?", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        if answer != QMessageBox.Yes:
            for other in found:
                discard_autosave(other.path)
            return False
        try:
            site = load_autosave(info.path)
        except (LayoutError, ProjectFileError) as exc:
            QMessageBox.critical(self, "Cannot recover", f"The autosave cannot be read:\n\n{exc}")
            return False
        self.doc.replace(site, None)
        self.doc.mark_unsaved()
        for other in found:
            discard_autosave(other.path)
        self._schedule_autosave()
        self.show_status(f"Recovered unsaved changes to {what}; save them to keep them")
        return True

    # ------------------------------------------------------------------ documents
    def confirm_discard(self) -> bool:
        """True if the current document may be replaced (saved, discarded, or clean)."""
        if not self.doc.dirty:
            return True
        answer = QMessageBox.warning(self, "Unsaved changes",
                                     f"{self.doc.title} has unsaved changes. Save them first?",
                                     QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                                     QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_document(self) -> None:
        if self.confirm_discard():
            self.doc.replace(blank_site(), None)
            self.show_status("New hall")

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = os.path.dirname(self.doc.path) if self.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open layout", start, FILE_FILTER)
        if path:
            self.open_file(path, confirm=False)

    def open_file(self, path: str, confirm: bool = True) -> bool:
        """Open a layout file; a bad one shows a dialog and keeps the current document."""
        if confirm and not self.confirm_discard():
            return False
        try:
            self.doc.load(path)
        except LayoutError as exc:
            log.warning("cannot open %s: %s", path, exc)
            QMessageBox.critical(self, "Cannot open layout", f"Cannot open {path}:\n\n{exc}")
            return False
        except OSError as exc:
            QMessageBox.critical(self, "Cannot open layout", f"Cannot open {path}:\n\n{exc.strerror or exc}")
            return False
        self.settings.add_recent(path)
        self._update_recent_menu()
        self.show_status(f"Opened {path}: {self.doc.site.summary()}")
        return True

    def save(self) -> bool:
        if not self.doc.path:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self, path: Optional[str] = None) -> bool:
        if not path:
            start = self.doc.path or (self.doc.site.name or "layout") + ".json"
            path, _ = QFileDialog.getSaveFileName(self, "Save layout as", start, FILE_FILTER)
            if not path:
                return False
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            self.doc.save(path)
        except (OSError, LayoutError, ValueError) as exc:
            log.warning("cannot save %s: %s", path, exc)
            QMessageBox.critical(self, "Cannot save layout",
                                 f"Cannot save {path}:\n\n{getattr(exc, 'strerror', None) or exc}\n\n"
                                 "The file on disk was not changed.")
            return False
        self.settings.add_recent(path)
        self._update_recent_menu()
        self.show_status(f"Saved {path}")
        return True

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for p in files:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self._open_recent(path))
        self.recent_menu.setEnabled(bool(files))

    def _open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            QMessageBox.warning(self, "File not found", f"{path} no longer exists.")
            self.settings.remove_recent(path)
            self._update_recent_menu()
            return
        self.open_file(path)

    # ------------------------------------------------------------------ edits
    def execute(self, command, what: str = "") -> bool:
        """Run one edit through the undo stack; a refused edit says why in the status bar."""
        if self.replay_mode:
            self.show_status("Refused: a replay shows a recorded layout, which cannot be edited "
                             "(File > Close Replay to edit)")
            return False
        try:
            self.doc.execute(command)
        except LayoutError as exc:
            self.show_status(f"Refused{(' ' + what) if what else ''}: {_issue_text(exc)}")
            return False
        self.show_status(command.text)
        return True

    def _fill_hall_combo(self) -> None:
        self.hall_combo.blockSignals(True)
        self.hall_combo.clear()
        self.hall_combo.addItems([h.id for h in self.doc.site.halls])
        hall = self.scene.hall
        if hall is not None:
            self.hall_combo.setCurrentText(hall.id)
        self.hall_combo.blockSignals(False)
        many = len(self.doc.site.halls) > 1
        self.hall_label_action.setVisible(many)
        self.hall_combo_action.setVisible(many)

    def show_hall(self, hall_id: str) -> None:
        """Show another hall of the site (and simulate that one)."""
        if self.scene.hall is not None and self.scene.hall.id == hall_id:
            return
        self.scene.set_site(self.doc.site, hall_id)
        self.scene.set_heatmap(None)
        self.last_frame = None
        self.trends.clear()
        self.alarms.clear()
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        self.view.zoom_to_fit()
        self._request_solve()

    def _hall_id(self) -> Optional[str]:
        hall = self.scene.hall
        return hall.id if hall is not None else None

    def _floor_ids(self) -> list[str]:
        return self.scene.selected_ids()

    def delete_selection(self) -> None:
        ids = self._floor_ids()
        if ids:
            self.execute(RemoveElements(tuple(ids)), "delete")

    def rotate_selection(self) -> None:
        ids = [i for i in self._floor_ids() if hasattr(self.doc.site.get(i), "facing")]
        if not ids:
            return
        cmds = tuple(RotateElement(i) for i in ids)
        cmd = cmds[0] if len(cmds) == 1 else Macro(cmds, f"Rotate {len(cmds)} elements")
        if self.execute(cmd, "rotate"):
            self.scene.select_ids(ids)

    def select_all(self) -> None:
        self.scene.select_ids(self.scene.items_by_id.keys())

    def copy_selection(self) -> None:
        self.clipboard = [self.doc.site.get(i) for i in self._floor_ids()]
        if self.clipboard:
            QApplication.clipboard().setText(", ".join(e.id for e in self.clipboard))
            self.show_status(f"Copied {len(self.clipboard)} element(s)")

    def paste(self) -> None:
        """Paste the copied elements, shifted by whole tiles to the first free spot."""
        if not self.clipboard:
            return
        hall = self.scene.hall
        tile = hall.tile_m
        ids = IdAllocator(self.doc.site.ids())
        # a copy is not the imported element: it keeps no external_id
        base = [dataclasses.replace(el, id=ids.for_element(el), external_id=None) for el in self.clipboard]
        for k in range(1, 200):
            for dx, dy in ((k * tile, 0.0), (0.0, -k * tile), (-k * tile, 0.0), (0.0, k * tile)):
                moved = [dataclasses.replace(e, x_m=round(e.x_m + dx, 9), y_m=round(e.y_m + dy, 9)) for e in base]
                if not self.scene.placement_problem(moved):
                    cmd = Macro(tuple(AddElement(e, hall.id) for e in moved), f"Paste {len(moved)} element(s)")
                    if self.execute(cmd, "paste"):
                        self.scene.select_ids([e.id for e in moved])
                    return
        self.show_status("Refused paste: no free spot near the copied elements")

    def _on_view_move_requested(self, ids: list, dx: float, dy: float) -> None:
        if self.execute(MoveElements(tuple(ids), dx, dy), "move"):
            self.scene.select_ids(ids)

    def _on_view_drop_requested(self, prototype: Element, x_m: float, y_m: float, count: int) -> None:
        cmd = self.doc.place_command(prototype, x_m, y_m, count, self.scene.hall.id)
        if self.execute(cmd, "drop"):
            ids = [c.element.id for c in getattr(cmd, "commands", (cmd,))]
            self.scene.select_ids(ids)

    def _on_view_refused(self, reason: str) -> None:
        self.show_status(f"Refused: {reason}")

    def _on_view_drag_hint(self, problem: str) -> None:
        if problem:
            self.show_status(f"Cannot drop here: {problem}", 0)
        else:
            self.statusBar().clearMessage()

    def _on_view_capacity_hint(self, warning: str) -> None:
        """While a rack is dragged over a free spot: whether its feeds and the air there can take it."""
        if self.view._drop is None and self.view._drag is None:
            return  # the drag is over; the edit's own message follows
        if warning:
            self.show_status(f"Fits by space, but {warning}", 0)
        elif self.scene.summary is None:
            self.show_status("Fits by space (power and cooling not known until the physics has solved)", 0)
        else:
            self.show_status(f"Fits: space, power (A, B and after losing one) and cooling.  Tint: {FIT_LEGEND}", 0)

    def _on_view_cursor_moved(self, x_m: float, y_m: float) -> None:
        self.cursor_label.setText(f"x {x_m:.1f} m, y {y_m:.1f} m")

    def _on_inspector_property_edited(self, ids: list, field: str, value) -> None:
        if not ids:
            return
        cmds = tuple(SetProperty(i, field, value) for i in ids)
        cmd = cmds[0] if len(cmds) == 1 else Macro(cmds, f"Set {field} of {len(cmds)} elements")
        try:
            self.doc.execute(cmd)
        except LayoutError as exc:
            msgs = [i.message for i in exc.issues if i.field == field] or [str(i) for i in exc.issues]
            self.inspector.show_error(field, "; ".join(msgs))
            self.show_status(f"Refused: {_issue_text(exc)}")
            return
        self.show_status(cmd.text)
        if field == "id":
            self.scene.select_ids([value])

    def _on_inspector_hall_property_edited(self, hall_id: str, field: str, value) -> None:
        cmd = SetHallProperty(hall_id, field, value)
        try:
            self.doc.execute(cmd)
        except LayoutError as exc:
            msgs = [i.message if i.field == field else str(i) for i in exc.issues]
            self.inspector.show_error(field, "; ".join(msgs[:3]) + (" …" if len(msgs) > 3 else ""))
            self.show_status(f"Refused: {_issue_text(exc)}")
            return
        self.show_status(cmd.text)
        if field in ("width_m", "depth_m"):
            self.view.zoom_to_fit()

    # ------------------------------------------------------------------ model changed
    def _on_alarms_target_chosen(self, ident: str) -> None:
        if ident in self.scene.items_by_id:
            self.scene.select_ids([ident])
            self.view.centerOn(self.scene.items_by_id[ident])

    def _on_power_tree_racks_chosen(self, ids: list) -> None:
        self.scene.select_ids(ids)
        self.show_status(f"{len(ids)} racks fed through this node selected")

    def _on_doc_site_changed(self, command) -> None:
        self._schedule_autosave()
        self.scene.sync()
        self._fill_hall_combo()
        self.power_tree.sync()
        self.inspector.set_context(self.doc.site, self.scene.selected_ids(), self._hall_id())
        self._update_layout_status()
        self._request_solve()

    def _on_doc_site_replaced(self) -> None:
        self.last_frame = None
        self.scene.set_site(self.doc.site)
        self._fill_hall_combo()
        self.power_tree.set_site(self.doc.site)
        self.scene.set_heatmap(None)
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        self.trends.clear()
        self.view.zoom_to_fit()
        self._update_title()
        self._update_layout_status()
        for label, text in ((self.time_label, "t = 0 s"), (self.pue_label, "PUE —"),
                            (self.hot_label, "hottest inlet —")):
            label.setText(text)
        self._request_solve()

    def _on_scene_selection_changed(self) -> None:
        ids = self.scene.selected_ids()
        self.inspector.set_context(self.doc.site, ids, self._hall_id())
        self.trends.set_racks([i for i in ids if i in {r.id for r in self.scene.hall.racks}])

    # ------------------------------------------------------------------ physics
    def _request_solve(self) -> None:
        if self.replay_mode or not self.runner.available or not self.doc.site.halls:
            return
        self.runner.hall_id = self.scene.hall.id if self.scene.hall else None
        self.runner.request_solve(self.doc.site.copy())

    def toggle_run(self) -> None:
        if self.replay_mode:
            self.timeline.set_playing(not self.timeline.playing)
            self.act_run.setChecked(False)
            return
        if not self.runner.available:
            self.show_status("physics unavailable: cannot run the simulation")
            self.act_run.setChecked(False)
            return
        self.runner.set_running(not self.runner.running)

    def set_speed(self, name: str) -> None:
        if name not in SPEEDS:
            return
        self.runner.set_speed(SPEEDS[name])
        self.speed_actions[name].setChecked(True)
        if self.speed_combo.currentData() != name:
            self.speed_combo.setCurrentIndex(self.speed_combo.findData(name))
        self.settings.set_value("speed", name)

    def _on_metric_changed(self) -> None:
        metric = self.metric_combo.currentData()
        self.scene.set_metric(metric)
        scale = self.scene.current_scale()
        if scale is None:  # categories
            from dctwin.widgets.colormaps import STATE_COLOURS

            self.colorbar.set_legend([(name, STATE_COLOURS[key]) for name, key in (
                ("recommended", "recommended"), ("allowable", "allowable"), ("out of range", "out_of_allowable"),
                ("throttled", "throttled"), ("off", "shutdown"))])
        else:
            self.colorbar.set_scale(scale)
        self.settings.set_value("metric", metric)

    def _on_heat_changed(self) -> None:
        h = self.heat_combo.currentData()
        self.settings.set_value("heat_height", h)
        z = None if h == "off" else float(h)
        if z is None:
            self.scene.set_heatmap(None)
        self.runner.set_heat_height(z)
        if self.replay is not None:
            self.replay.set_heat_height(z)
            if self.replay_mode:
                self.replay.seek(self.timeline.position_s)

    def _on_runner_busy(self, busy: bool) -> None:
        if self.replay_mode:  # the editor's solver says nothing about a replay
            self.settle_bar.hide()
            return
        self.settle_bar.setVisible(busy)
        self.scene.heat_item.setOpacity(0.3 if busy else 0.65)  # the old field fades while the new one settles
        if busy:
            self.physics_label.setText("settling…")
        elif self.physics_label.text() == "settling…":
            self.physics_label.setText("steady" if not self.runner.running else "running")

    def _on_runner_error(self, message: str) -> None:
        self.settle_bar.hide()
        self.last_frame = None
        self.scene.apply_summary(None)  # old results no longer describe this layout
        self.scene.set_inlet_field(None)
        self.power_tree.set_summary(None)
        self.scene.set_heatmap(None)
        self.hot_label.setText("hottest inlet —")
        self.pue_label.setText("PUE —")
        self._update_layout_status()
        self.physics_label.setText("physics unavailable" if "unavailable" in message else "physics error")
        self.physics_label.setToolTip(message)
        self.show_status(message)
        self._update_physics_label()

    def _on_runner_running(self, running: bool) -> None:
        self.act_run.setChecked(running)
        self.act_run.setText("&Pause" if running else "&Run")
        if not self.settle_bar.isVisible():
            self.physics_label.setText("running" if running else "paused")

    def _on_runner_frame(self, frame: Frame) -> None:
        try:
            self._show_frame(frame)
        finally:
            self.runner.frame_shown()

    def _show_frame(self, frame: Frame) -> None:
        if self.replay_mode or frame.generation != self.runner.generation:
            return  # a result for a layout that has changed since (or a replay is shown)
        self.last_frame = frame
        summary = frame.summary
        if frame.inlet_field is not None:
            self.scene.set_inlet_field(*frame.inlet_field)
        self.scene.apply_summary(summary)
        self.power_tree.set_summary(summary)
        heat = frame.heat
        if heat is not None and self.heat_combo.currentData() != "off":
            temps, extent = heat
            self.scene.set_heatmap(temps, extent)
        elif self.heat_combo.currentData() == "off":
            self.scene.set_heatmap(None)
        t = float(frame.t_s)
        self.time_label.setText(f"t = {_fmt_time(t)}")
        racks = summary.racks
        it_w = summary.it_power_w
        if it_w is None and racks:
            it_w = sum(float(d.power_w or 0.0) for d in racks.values())
        if it_w is not None:
            self.it_label.setText(f"IT {it_w / 1e3:.0f} kW")
        pue = summary.pue
        self.pue_label.setText(f"PUE {pue:.2f}" if isinstance(pue, (int, float)) and math.isfinite(pue)
                               else "PUE —")
        hot = summary.max_inlet_c
        if hot is None and racks:
            vals = [d.inlet_c for d in racks.values() if d.inlet_c is not None]
            hot = max(vals) if vals else None
        self.hot_label.setText(f"hottest inlet {hot:.1f} °C" if hot is not None else "hottest inlet —")
        if not self.settle_bar.isVisible():
            self.physics_label.setText("running" if self.runner.running else "steady")
        self.trends.add_frame(t, summary, frame.ups)
        if frame.generation != self._alarms_generation:
            self.alarms.clear()  # a new simulation (after an edit) starts a new event log
            self._alarms_generation = frame.generation
        if frame.events:
            self.alarms.add_events(frame.events, frame.chains)
        self.sig_physics_shown.emit(frame)

    # ------------------------------------------------------------------ replay (app/replay.py)
    sig_replay_shown = Signal(object)

    def _replay_controller(self):
        if self.replay is None:
            from dctwin.app.replay import ReplayController

            z = self.heat_combo.currentData()
            self.replay = ReplayController(self, heat_z_m=None if z == "off" else float(z))
            self.replay.sig_opened.connect(self._on_replay_opened)
            self.replay.sig_state.connect(self._on_replay_state)
            self.replay.sig_error.connect(self._on_replay_error)
        return self.replay

    def open_recording_dialog(self) -> None:
        start = os.path.dirname(self.replay_data.path) if self.replay_data is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", start, RECORDING_FILTER)
        if path:
            self.open_recording(path)

    def open_recording(self, path: str, recording_id: Optional[int] = None) -> bool:
        """Replay a recording of ``path`` (opened read-only in the replay worker; the GUI does not wait)."""
        if not self.replay_mode and not self.confirm_discard():
            return False
        self._replay_controller().open(path, recording_id)
        self.show_status(f"Opening {path}…", 0)
        return True

    def _on_replay_opened(self, data) -> None:
        if data.generation != self.replay.generation:
            return
        from dctwin.app.replay import markers_for

        if not self.replay_mode:
            self._before_replay = (self.doc.site, self.doc.path)
            self.runner.set_running(False)
        self.replay_mode = True
        self.replay_data = data
        self._replay_errors_shown = set()
        self.doc.replace(data.site, None)
        self.doc.undo_stack.clear()
        if data.hall_id and self.scene.hall is not None and self.scene.hall.id != data.hall_id:
            self.show_hall(data.hall_id)
        self.timeline.set_playing(False)
        self.timeline.set_duration(data.duration_s)
        self.timeline.view.set_floor(data.first_keyframe_s)
        self.timeline.set_markers(markers_for(data))
        self.timeline.info_label.setText(
            f"{len(data.events)} events, {sum(1 for a in data.alarms if a.get('active', True))} alarms"
            + (f" — {data.incident_name}" if data.incident_name else ""))
        self._fill_replay_trends(data)
        self._fill_replay_alarms(data)
        self.cause_panel.clear()
        self.timeline_dock.show()
        self.cause_dock.show()
        self.alarms_dock.raise_()
        self.palette_dock.hide()
        self.history_dock.hide()
        for act in (self.act_close_replay, self.act_export_review, self.act_export_report):
            act.setEnabled(True)
        self._show_banner(data)
        self._update_title()
        self.settle_bar.hide()
        self.show_status(f"Replaying {data.path}, recording {data.recording_id}: {data.duration_s:g} s")
        self._fit_pending = True  # the docks around the plan changed: fit once the first state is shown
        self.timeline.seek(data.first_keyframe_s)

    def _show_banner(self, data) -> None:
        if data.is_review:
            v = getattr(data, "verify", None)
            check = ""
            if v is not None:
                check = (" Its contents are intact (SHA-256 of every table matches the export)." if v.intact
                         else f" WARNING: {v.message()}")
            what = (f"the moment t = {data.duration_s:g} s of recording {data.recording_id} (replayable from "
                    f"t = {data.first_keyframe_s:g} s)" if data.first_keyframe_s > 0 else f"recording {data.recording_id}")
            self.banner.setText(f"<b>Review export — read-only.</b> {html_escape(data.path)} holds {what} as it was "
                                f"exported; nothing here can be changed.{check}")
        else:
            self.banner.setText(f"<b>Replay — read-only.</b> Recording {data.recording_id} of "
                                f"{html_escape(data.path)}. File &gt; Close Replay to go back to editing.")
        self.banner.show()

    def _fill_replay_trends(self, data) -> None:
        import numpy as np

        t = data.hall_t_s
        inlet = {}
        if data.rack_t_s.size and t.size:
            for j, rid in enumerate(data.rack_ids):
                inlet[rid] = np.interp(t, data.rack_t_s, data.rack_inlet_c[:, j])
        n = t.size
        nan = np.full(n, np.nan)
        h = data.hall
        self.trends.set_history(t, inlet, h.get("max_inlet_c", nan), h.get("it_power_w", nan) / 1e3,
                                h.get("facility_power_w", nan) / 1e3,
                                {"min UPS": 100.0 * h["ups_min_soc"]} if "ups_min_soc" in h else None)
        hottest = list(np.argsort(-np.nanmax(data.rack_inlet_c, axis=0))[:3]) if data.rack_inlet_c.size else []
        self.trends.set_racks([data.rack_ids[int(j)] for j in hottest])

    def _fill_replay_alarms(self, data) -> None:
        from dctwin.twin.review import chain_steps

        self.alarms.clear()
        rows, chains = [], {}
        for i, a in enumerate(data.alarms):
            if not a.get("active", True):
                continue
            key = -(i + 1)
            rows.append({"seq": key, "t_s": float(a["t_s"]), "kind": str(a.get("kind", "")),
                         "target": str(a.get("target", "")), "condition": str(a.get("message", ""))})
            chains[key] = [{"t_s": s["t_s"], "kind": s["kind"], "target": s["target"], "condition": s["text"]}
                           for s in chain_steps(a, data.by_seq)[1:]]
        self.alarms.add_events(rows, chains)

    def _on_replay_state(self, frame: Frame) -> None:
        if not self.replay_mode or frame.generation != self.replay.generation:
            return
        if getattr(self, "_preview_t", None) is not None and abs(frame.t_s - self.timeline.position_s) > 1e-9:
            return  # an older second than the one previewed now: the newest request follows
        self._preview_t = None
        summary = frame.summary
        self.scene.apply_summary(summary)
        self.power_tree.set_summary(summary)
        heat = frame.heat
        if heat is not None and self.heat_combo.currentData() != "off":
            self.scene.set_heatmap(*heat)
            self.scene.heat_item.setOpacity(0.65)  # a replayed second is final: never the faded "settling" look
        else:
            self.scene.set_heatmap(None)
        t = float(frame.t_s)
        self.time_label.setText(f"t = {_fmt_time(t)}")
        it_w = summary.it_power_w
        if it_w is not None:
            self.it_label.setText(f"IT {it_w / 1e3:.0f} kW")
        pue = summary.pue
        self.pue_label.setText(f"PUE {pue:.2f}" if isinstance(pue, (int, float)) and math.isfinite(pue) else "PUE —")
        hot = summary.max_inlet_c
        self.hot_label.setText(f"hottest inlet {hot:.1f} °C" if hot is not None else "hottest inlet —")
        self.physics_label.setText(f"replay (seek {1e3 * frame.seek_s:.0f} ms)")
        self.trends.set_cursor(t)
        if getattr(self, "_fit_pending", False):
            self._fit_pending = False
            self.view.zoom_to_fit()
        self.sig_replay_shown.emit(frame)

    def _on_replay_error(self, message: str) -> None:
        self.show_status(message)
        if not self.replay_mode:
            QMessageBox.critical(self, "Cannot open recording", message)
        else:
            # it opened, but a seek failed (a damaged keyframe, a layout that does not fit): play stops
            # and a dialog says why, once per message (a scrub across the damage is not a dialog per
            # step); the timeline's recorded series stay readable
            self.physics_label.setText("replay failed")
            self.timeline.set_playing(False)
            if message not in self._replay_errors_shown:
                self._replay_errors_shown.add(message)
                QMessageBox.critical(self, "Cannot replay recording", message)

    def _on_timeline_seek_requested(self, t_s: float) -> None:
        if self.replay_mode and self.replay is not None:
            self.replay.seek(t_s)
            self._show_preview(t_s)

    def _show_preview(self, t_s: float) -> None:
        """The recorded series at ``t_s`` on the plan at once; the exact replayed state follows."""
        from dctwin.app.replay import preview_summary

        prev = preview_summary(self.replay_data, t_s)
        if prev is None:
            return
        self._preview_t = t_s
        self.scene.apply_summary(prev)
        hot = prev.max_inlet_c
        if hot is not None:
            self.hot_label.setText(f"hottest inlet {hot:.1f} °C")
        self.time_label.setText(f"t = {_fmt_time(t_s)}")
        self.physics_label.setText(f"preview: recorded racks at {prev.t_s:g} s, replaying…")

    def _on_timeline_marker_clicked(self, marker) -> None:
        """Jump to the marker's second and select its element; an alarm shows its cause chain."""
        from dctwin.twin.review import alarm_explanation, chain_steps, event_chain_steps, event_headline

        self.timeline.seek(marker.t_s)
        self._select_element(marker.target)
        if self.replay_data is None or not isinstance(marker.key, tuple):
            return
        by_seq = self.replay_data.by_seq
        if marker.lane == "alarm":
            alarm = self.replay_data.alarms[marker.key[1]]
            self.cause_panel.show_chain(alarm_explanation(alarm, by_seq), chain_steps(alarm, by_seq))
        else:  # an event or automatic action: why it happened
            self.cause_panel.show_chain(event_headline(marker.key[1], by_seq), event_chain_steps(marker.key[1], by_seq))
        self.cause_dock.show()
        self.cause_dock.raise_()

    def _on_cause_step_chosen(self, t_s: float, target: str) -> None:
        self.timeline.seek(t_s)
        self._select_element(target)

    def _select_element(self, ident: str) -> None:
        if ident and ident in self.scene.items_by_id:
            self.scene.select_ids([ident])
            self.view.ensureVisible(self.scene.items_by_id[ident])  # scroll only if it is out of sight

    def close_replay(self) -> None:
        """Leave the replay: the layout that was open before comes back, editable."""
        if not self.replay_mode:
            return
        self.timeline.set_playing(False)
        self.replay_mode = False
        self.replay_data = None
        self.banner.hide()
        self.timeline_dock.hide()
        self.cause_dock.hide()
        self.palette_dock.show()
        self.history_dock.show()
        self.trends.set_cursor(None)
        for act in (self.act_close_replay, self.act_export_review, self.act_export_report):
            act.setEnabled(False)
        site, path = self._before_replay or (blank_site(), None)
        self._before_replay = None
        self.doc.replace(site, path)
        self.alarms.clear()
        self._update_title()

    # ---- incident editor (app/incident_editor.py)
    def open_incident_editor(self):
        """Edit an incident for the layout shown (non-modal); a recorded run opens in the replay view."""
        from dctwin.app.incident_editor import IncidentEditorDialog

        if self.incident_editor is not None:
            self.incident_editor.show()
            self.incident_editor.raise_()
            return self.incident_editor
        dlg = IncidentEditorDialog(self.doc.site.copy(), self._hall_id(), parent=self)
        dlg.sig_recorded.connect(self._on_incident_recorded)
        dlg.finished.connect(lambda _=0: setattr(self, "incident_editor", None))
        self.incident_editor = dlg
        dlg.show()
        return dlg

    def _on_incident_recorded(self, path: str) -> None:
        self.open_recording(path)

    # ---- exports (worker thread, progress dialog)
    def export_review_dialog(self) -> None:
        if self.replay_data is None:
            QMessageBox.information(self, "Export for Review", "Open a recording first (File > Open Recording).")
            return
        stem = os.path.splitext(self.replay_data.path)[0]
        path, _ = QFileDialog.getSaveFileName(self, "Export for review", stem + "-review.dctwin", RECORDING_FILTER)
        if path:
            self.export_review_to(path)

    def export_review_to(self, path: str, at_s: Optional[float] = None):
        """Write a review export of the replayed recording (twin.store.export_review) in a worker thread."""
        from dctwin.app.replay import BackgroundJob
        from dctwin.twin.store import export_review

        d = self.replay_data
        job = BackgroundJob(lambda: export_review(d.path, path, recording_id=d.recording_id, at_s=at_s), self)
        self._run_job(job, f"Exporting recording {d.recording_id} for review…",
                      lambda r: self.show_status(f"Wrote {r['file']}: {r['keyframes']} keyframe(s), "
                                                 f"{r['events']} event(s), {r['bytes'] / 1e6:.2f} MB"),
                      "Cannot export for review")
        return job

    def export_report_dialog(self) -> None:
        if self.replay_data is None:
            QMessageBox.information(self, "Export Report", "Open a recording first (File > Open Recording).")
            return
        stem = os.path.splitext(self.replay_data.path)[0]
        path, _ = QFileDialog.getSaveFileName(self, "Export report", stem + "-report.pdf",
                                              "PDF (*.pdf);;HTML (*.html)")
        if path:
            self.export_report_to(path)

    def export_report_to(self, path: str, at_s: Optional[float] = None):
        """Write the review report (PDF, or HTML for *.html): the data is read and replayed in a worker,
        the pictures are drawn here (Qt painting of the floor-plan scene belongs to the GUI thread)."""
        from dctwin.app import report
        from dctwin.app.replay import BackgroundJob
        from dctwin.twin.review import collect

        d = self.replay_data
        job = BackgroundJob(lambda: collect(d.path, d.recording_id, at_s), self)

        def done(data) -> None:
            try:
                out = (report.write_html if path.lower().endswith((".html", ".htm")) else report.write_pdf)(data, path)
            except Exception as exc:  # shown, not raised: the window stays usable
                log.warning("report %s failed: %s", path, exc)
                QMessageBox.critical(self, "Cannot export report", f"Cannot write {path}:\n\n{exc}")
                job.sig_failed.emit(str(exc))
                return
            self.show_status(f"Wrote {out} (floor plan at t = {data.picture_t_s:g} s)")
            job.sig_written.emit(str(out))

        self._run_job(job, "Writing the review report…", done, "Cannot export report")
        return job

    def _run_job(self, job, label: str, on_done, failure_title: str) -> None:
        dlg = QProgressDialog(label, "", 0, 0, self)
        dlg.setWindowTitle("dctwin")
        dlg.setCancelButton(None)  # the export is one transaction / one file: it finishes or fails whole
        dlg.setMinimumDuration(300)
        dlg.setAutoClose(False)
        self.export_progress = dlg
        self._jobs.append(job)

        def finish() -> None:
            dlg.reset()
            dlg.hide()
            if job in self._jobs:
                self._jobs.remove(job)

        def ok(result) -> None:
            finish()
            on_done(result)

        def failed(message: str) -> None:
            finish()
            self.show_status(f"{failure_title}: {message}")

        job.sig_done.connect(ok)
        job.sig_error.connect(failed)
        job.sig_error.connect(lambda m: QMessageBox.critical(self, failure_title, m))
        job.start()

    def changeEvent(self, event) -> None:  # Qt override
        if event.type() == QEvent.PaletteChange:  # light/dark switch: the floor is painted from the palette
            self.scene.update()
        super().changeEvent(event)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:  # Qt override
        if not self.confirm_discard():
            event.ignore()
            return
        if self.save_settings_on_close:
            self.settings.save_window(self.saveGeometry(), self.saveState())
            self.settings.sync()
        self.runner.stop()
        if self.replay is not None:
            self.replay.stop()
        self._autosave_timer.stop()
        self._discard_autosave()
        event.accept()


def _fmt_time(t: float) -> str:
    if t < 120:
        return f"{t:.0f} s"
    if t < 7200:
        return f"{t / 60:.1f} min"
    return f"{t / 3600:.2f} h"
