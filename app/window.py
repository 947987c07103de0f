"""MainWindow: the floor plan in the centre, docks around it, menus, toolbar and status bar.

The window wires widgets to the document. Widgets emit intent; the window turns it
into :mod:`dctwin.twin.model.commands` values and runs them through
:meth:`dctwin.app.document.Document.execute`, so every accepted edit is one undo step
and a refused one changes nothing and says why. The rest has its own module: the live
physics on the views (:mod:`dctwin.app.live_presenter`), the replay of a recording
(:mod:`dctwin.app.replay_presenter`), the status bar's read-out (:mod:`dctwin.app.status`),
autosave (:mod:`dctwin.app.autosave`), work off the GUI thread (:mod:`dctwin.app.workers`).
Feature modules add their menu entries and docks through :data:`FEATURES`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QHBoxLayout, QMainWindow,
                               QMenu, QMessageBox, QUndoView, QVBoxLayout, QWidget)

from dctwin.twin.model.commands import (
    AddElement, IdAllocator, Macro, MoveElements, RemoveElements, RotateElement, SetHallProperty, SetProperty,
)
from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import Element
from dctwin.twin.model.layoutfile import load_layout
from dctwin.twin.model.words import set_property_text
from dctwin.widgets.alarms import AlarmsPanel
from dctwin.widgets.colormaps import note_label
from dctwin.widgets.floor_plan import FIT_LEGEND, FloorPlanScene, FloorPlanView
from dctwin.widgets.inspector import InspectorPanel
from dctwin.widgets.palette import PalettePanel
from dctwin.widgets.power_tree import PowerTreePanel
from dctwin.widgets.cause_chain import CauseChainPanel
from dctwin.widgets.timeline import TimelinePanel
from dctwin.widgets.trends import TrendsPanel
from dctwin.widgets.warnings import WarningsPanel

from dctwin.app.air_presenter import install_air_views
from dctwin.app.autosave import Autosaver
from dctwin.app.build_presenter import BuildPresenter
from dctwin.app.contingency import install_contingency
from dctwin.app.document import Document, blank_site
from dctwin.app.find_space import install_find_space
from dctwin.app.help_menu import install_help_menu
from dctwin.app.import_dialogs import install_import_menu
from dctwin.app.incident_menu import install_incident_menu
from dctwin.app.live_presenter import LivePresenter
from dctwin.app.replay_presenter import ReplayPresenter
from dctwin.app.runner import SPEEDS, Frame, SimRunner
from dctwin.app.settings import Settings
from dctwin.app.status import StatusReadout
from dctwin.app.toolbar import build_toolbar
from dctwin.app.workers import Job, progress_dialog, stop_workers

log = logging.getLogger(__name__)

FILE_FILTER = "dctwin layouts (*.json);;All files (*)"
STATUS_TIMEOUT_MS = 15000


#: Feature modules that add menu entries and docks to the window: each is called once, in this order,
#: with the window, when its docks, menus, toolbar and wiring are in place (before the saved dock layout
#: is restored, so the feature's docks get theirs back). It finds its menu with ``window.menu("File")``,
#: puts panels in docks with ``window.add_dock(...)``, runs long work with ``window.run_job(...)`` and
#: keeps what tests reach as attributes of the window (``window.import_menu``). Add yours here.
FEATURES: tuple[Callable[["MainWindow"], None], ...] = (install_import_menu, install_find_space, install_contingency,
                                                         install_air_views, install_incident_menu, install_help_menu)


def _issue_text(exc: LayoutError) -> str:
    return "; ".join(str(i) for i in exc.issues) if exc.issues else str(exc)


class MainWindow(QMainWindow):
    """The dctwin editor window for one :class:`Document`."""

    #: the floor plan shows new physics results (a steady solve or a running frame)
    sig_physics_shown = Signal(object)
    #: the floor plan shows a replayed second (a Frame)
    sig_replay_shown = Signal(object)

    def __init__(self, document: Optional[Document] = None, settings: Optional[Settings] = None,
                 runner: Optional[SimRunner] = None, parent: Optional[QWidget] = None,
                 autosave: bool = False, autosave_folder: Optional[str] = None):
        super().__init__(parent)
        self.doc = document if document is not None else Document(blank_site())
        self.autosaver = Autosaver(self, autosave, autosave_folder)
        self.settings = settings if settings is not None else Settings()
        self.runner = runner if runner is not None else SimRunner(self)
        self.clipboard: list[Element] = []
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)

        self.scene = FloorPlanScene(self.doc.site, parent=self)
        self.view = FloorPlanView(self.scene, self)
        self.view.setObjectName("floor_plan")
        self.banner = note_label("read_only_banner", "padding: 6px; border-bottom: 1px solid {edge};", self)
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(self.view, 1)
        #: the row under the plan: the colour scale (feature modules may add to it)
        self.plan_footer = QHBoxLayout()
        self.plan_footer.setContentsMargins(6, 2, 6, 2)
        lay.addLayout(self.plan_footer)
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
        self.tabifyDockWidget(self.trends_dock, self.power_dock)  # beside the inspector: a node shows in it
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
        self.warnings_panel = WarningsPanel(self)
        self.warnings_dock = self._dock("Warnings", self.warnings_panel, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.cause_dock, self.warnings_dock)
        self.warnings_dock.hide()
        self.timeline_dock.hide()
        self.cause_dock.hide()
        self.trends_dock.raise_()  # tabifying the cause dock brought its tab group forward
        self._jobs: list[Job] = []
        self.readout = StatusReadout(self.statusBar())
        self.live = LivePresenter(self)
        #: a drop is being executed (its side panels may wait for its first map), and what of them waits
        self._drop_in_progress = False
        self._panels_due: set[str] = set()
        self.replay_presenter = ReplayPresenter(self)

        self._build_actions()
        self._build_menus()
        build_toolbar(self)
        self._connect()
        self.build = BuildPresenter(self)  # after the window's own slots: it may show a power node after them
        for install in FEATURES:
            install(self)

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
        self.live.show_availability()
        self.live.show_design()
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        QTimer.singleShot(0, self.view.zoom_to_fit)
        self.live.request_solve()

    # ------------------------------------------------------------------ building
    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower() + "_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

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
        self.act_open_recording = self._action("Open Re&cording…", self.replay_presenter.open_recording_dialog,
                                               ["Ctrl+Shift+O"],
                                               "Replay a recording (a project file or a review export)")
        self.act_close_replay = self._action("&Close Replay", self.close_replay, [],
                                             "Leave the replay and go back to editing")
        self.act_export_review = self._action("Export for Re&view…", self.replay_presenter.export_review_dialog, [],
                                              "Write a self-contained, hashed review file of this recording")
        self.act_export_report = self._action("Export Re&port…", self.replay_presenter.export_report_dialog, [],
                                              "Write the review report (PDF or HTML) of this recording")
        for act in (self.act_close_replay, self.act_export_review, self.act_export_report):
            act.setEnabled(False)
        self.act_incident_editor = self._action("&Incident Editor…", self.open_incident_editor, ["Ctrl+I"],
                                                "Build an incident on a timeline, then run and record it")
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
        self._menus: dict[str, QMenu] = {}
        m = self.menu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_open_recording, self.act_close_replay, self.act_export_review, self.act_export_report])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = self.menu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_copy, self.act_paste, self.act_delete, self.act_rotate, self.act_select_all])
        m = self.menu("&View")
        m.addActions([self.act_zoom_in, self.act_zoom_out, self.act_zoom_fit])
        m.addSeparator()
        for dock in (self.palette_dock, self.history_dock, self.inspector_dock, self.power_dock, self.trends_dock,
                     self.alarms_dock, self.warnings_dock):
            m.addAction(dock.toggleViewAction())
        m = self.menu("&Simulation")
        m.addAction(self.act_run)
        m.addAction(self.act_incident_editor)
        sm = m.addMenu("&Speed")
        sm.addActions(self.speed_group.actions())
        self._menus["Help"] = self.menuBar().addMenu("&Help")  # last; feature menus go before it

    def _connect(self) -> None:
        d, v = self.doc, self.view
        for signal, slot in (
                (d.sig_site_changed, self._on_doc_site_changed), (d.sig_site_replaced, self._on_doc_site_replaced),
                (d.sig_dirty_changed, lambda _: self._update_title()), (d.sig_path_changed, lambda _: self._update_title()),
                (v.sig_move_requested, self._on_view_move_requested),
                (v.sig_drop_requested, self._on_view_drop_requested), (v.sig_refused, self._on_view_refused),
                (v.sig_drag_hint, self._on_view_drag_hint), (v.sig_capacity_hint, self._on_view_capacity_hint),
                (v.sig_space_tapped, self.toggle_run), (v.sig_cursor_moved, self.readout.show_cursor),
                (self.scene.selectionChanged, self._on_scene_selection_changed),
                (self.inspector.sig_property_edited, self._on_inspector_property_edited),
                (self.inspector.sig_hall_property_edited, self._on_inspector_hall_property_edited),
                (self.power_tree.sig_racks_chosen, self._on_power_tree_racks_chosen),
                (self.alarms.sig_target_chosen, self._on_alarms_target_chosen),
                (self.warnings_panel.sig_element_chosen, self._on_alarms_target_chosen),
                (self.readout.warnings_button.clicked, self.show_warnings_panel),
                (self.speed_combo.currentIndexChanged, lambda _: self.set_speed(self.speed_combo.currentData())),
                (self.metric_combo.currentIndexChanged, lambda _: self._on_metric_changed()),
                (self.hall_combo.activated, lambda _: self.show_hall(self.hall_combo.currentText())),
                (self.heat_combo.currentIndexChanged, lambda _: self._on_heat_changed())):
            signal.connect(slot)

    # ------------------------------------------------------------------ what feature modules use
    def menu(self, name: str) -> QMenu:
        """The menu bar's menu ``name`` ("File", "Edit", "View", "Simulation", "Help"; "&" marks ignored),
        made at the end of the bar (before Help) if there is none yet: where a feature module puts its actions."""
        key = name.replace("&", "")
        if key not in self._menus:
            menu = QMenu(name, self.menuBar())
            help_menu = self._menus.get("Help")
            if help_menu is None:
                self.menuBar().addMenu(menu)
            else:
                self.menuBar().insertMenu(help_menu.menuAction(), menu)
            self._menus[key] = menu
        return self._menus[key]

    def add_dock(self, title: str, widget: QWidget, area=Qt.RightDockWidgetArea,
                 tab_with: Optional[QDockWidget] = None) -> QDockWidget:
        """Put a feature module's panel in a dock (tabbed with ``tab_with`` if given), listed in View."""
        dock = self._dock(title, widget, area)
        if tab_with is not None:
            self.tabifyDockWidget(tab_with, dock)
        self.menu("View").addAction(dock.toggleViewAction())
        return dock

    # ------------------------------------------------------------------ read-only (a replay, a review export)
    #: actions that change the layout or write it: off while it is read-only
    def _editing_actions(self) -> tuple[QAction, ...]:
        return (self.act_save, self.act_save_as, self.act_delete, self.act_rotate, self.act_paste,
                self.act_undo, self.act_redo, self.act_incident_editor)

    def set_read_only(self, reason: str) -> None:
        """Close every edit path with ``reason`` ("" opens them again): the document refuses edits, the
        inspector shows values it does not take, the palette and the floor plan take no drops or
        moves, and the actions that edit or save are off (their shortcuts with them)."""
        on = bool(reason)
        self.doc.set_read_only(reason)
        for act in self._editing_actions():
            act.setEnabled(not on)
        if not on:  # Qt's undo actions follow the stack again
            self.act_undo.setEnabled(self.doc.undo_stack.canUndo())
            self.act_redo.setEnabled(self.doc.undo_stack.canRedo())
        self.palette_panel.setEnabled(not on)
        self.palette_panel.setToolTip(reason)
        self.inspector.set_read_only(reason)
        self.view.read_only = on
        self.history.setEnabled(not on)

    # ------------------------------------------------------------------ engine warnings
    def show_warnings(self, warnings: list[str]) -> None:
        """What the engine could not honour for the layout (or second) on show: the status bar's badge and
        the Warnings panel, which opens by itself when a warning appears that was not there before."""
        new = [x for x in warnings if x not in self.warnings_panel.warnings]
        self.readout.show_warnings(list(warnings))
        self.warnings_panel.set_warnings(list(warnings))
        if new:
            self.show_warnings_panel()

    def show_warnings_panel(self) -> None:
        self.warnings_dock.show()
        self.warnings_dock.raise_()

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

    def offer_recovery(self) -> bool:
        """If an earlier session crashed with unsaved edits, offer to reopen them. True if recovered."""
        return self.autosaver.offer_recovery()

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
            self.close_replay()  # a new hall is edited, not replayed
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
            site = load_layout(path)
        except LayoutError as exc:
            log.warning("cannot open %s: %s", path, exc)
            QMessageBox.critical(self, "Cannot open layout", f"Cannot open {path}:\n\n{exc}")
            return False
        except OSError as exc:
            QMessageBox.critical(self, "Cannot open layout", f"Cannot open {path}:\n\n{exc.strerror or exc}")
            return False
        self.close_replay()  # an opened layout is edited, not replayed
        self.doc.replace(site, str(Path(path)))
        return self._remember(path, f"Opened {path}: {self.doc.site.summary()}")

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
        return self._remember(path, f"Saved {path}")

    def _remember(self, path: str, message: str) -> bool:
        """``path`` was opened or saved: it heads Open Recent, and the status bar says so."""
        self.settings.add_recent(path)
        self._update_recent_menu()
        self.show_status(message)
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
        if self.doc.read_only:
            self.show_status(f"Refused{(' ' + what) if what else ''}: {self.doc.read_only_reason}")
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
        self.live.last_frame = None
        self.trends.clear()
        self.alarms.clear()
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        self.view.zoom_to_fit()
        self.live.request_solve()

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
        try:
            cmd = self.doc.place_command(prototype, x_m, y_m, count, self.scene.hall.id)
        except LayoutError as exc:  # power equipment with nothing to draw from
            self.show_status(f"Refused drop: {_issue_text(exc)}")
            return
        # the first map comes first: the power tree and the trends follow it (LivePresenter.after_first_map)
        self._drop_in_progress = True
        try:
            if self.execute(cmd, "drop"):
                ids = [c.element.id for c in getattr(cmd, "commands", (cmd,))]
                self.scene.select_ids(ids)
        finally:
            self._drop_in_progress = False

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

    def _on_inspector_property_edited(self, ids: list, field: str, value) -> None:
        if not ids or self._refused_read_only(field):
            return
        cmds = tuple(SetProperty(i, field, value) for i in ids)
        cmd = cmds[0] if len(cmds) == 1 else Macro(cmds, set_property_text(f"{len(cmds)} elements", field, value))
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

    def _refused_read_only(self, field: str) -> bool:
        """An edit of a read-only layout: the inspector shows the old value again and says why."""
        if not self.doc.read_only:
            return False
        self.inspector.set_context(self.doc.site, self.inspector.ids, self._hall_id())
        self.inspector.show_error(field, self.doc.read_only_reason)
        self.show_status(f"Refused: {self.doc.read_only_reason}")
        return True

    def _on_inspector_hall_property_edited(self, hall_id: str, field: str, value) -> None:
        if self._refused_read_only(field):
            return
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
        self.live.request_solve()  # first: the worker solves while the views catch up with the edit
        self.scene.sync()
        self._fill_hall_combo()
        if self._drop_in_progress and (self._panels_due or self.live.after_first_map(self._catch_up_panels)):
            self._panels_due.add("power")  # the drop's selection sets the inspector at once (below)
        else:
            self.power_tree.sync()
            self.inspector.set_context(self.doc.site, self.scene.selected_ids(), self._hall_id())
        self.live.show_design()

    def _catch_up_panels(self) -> None:
        """A drop's side panels once its first map is on screen: the power tree, the trends' racks."""
        due, self._panels_due = self._panels_due, set()
        if "power" in due:
            self.power_tree.sync()
        if "trends" in due:
            self._show_selection_trends()

    def _on_doc_site_replaced(self) -> None:
        self.live.last_frame = None
        self.scene.set_site(self.doc.site)
        self._fill_hall_combo()
        self.power_tree.set_site(self.doc.site)
        self.scene.set_heatmap(None)
        self.inspector.set_context(self.doc.site, [], self._hall_id())
        self.trends.clear()
        self.view.zoom_to_fit()
        self._update_title()
        self.live.show_design()
        self.readout.clear()
        self.live.request_solve()

    def _on_scene_selection_changed(self) -> None:
        ids = self.scene.selected_ids()
        self.inspector.set_context(self.doc.site, ids, self._hall_id())
        if self._panels_due:  # a drop's panels wait for its first map: the trends with them
            self._panels_due.add("trends")
            return
        self._show_selection_trends()

    def _show_selection_trends(self) -> None:
        ids = self.scene.selected_ids()
        self.trends.set_racks([i for i in ids if i in {r.id for r in self.scene.hall.racks}])

    # ------------------------------------------------------------------ physics (app/live_presenter.py)
    @property
    def last_frame(self) -> Optional[Frame]:
        """The physics result on show (None until the layout shown is solved)."""
        return self.live.last_frame

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
        self.replay_presenter.set_heat_height(z)

    # ------------------------------------------------------------------ replay (app/replay_presenter.py)
    @property
    def replay_mode(self) -> bool:
        """A recording is shown (the layout is read-only)."""
        return self.replay_presenter.active

    @property
    def replay_data(self):
        """The replayed recording (:class:`dctwin.app.replay.RecordingData`), None when editing."""
        return self.replay_presenter.data

    @property
    def replay(self):
        """The replay worker's controller (:class:`dctwin.app.replay.ReplayController`), None before first use."""
        return self.replay_presenter.controller

    def open_recording(self, path: str, recording_id: Optional[int] = None) -> bool:
        """Replay a recording of ``path`` (opened read-only in the replay worker; the GUI does not wait)."""
        return self.replay_presenter.open_recording(path, recording_id)

    def close_replay(self) -> None:
        """Leave the replay: the layout that was open before comes back, editable."""
        self.replay_presenter.close()

    def export_review_to(self, path: str, at_s: Optional[float] = None) -> Job:
        """Write a review export of the replayed recording in a worker (a progress dialog meanwhile)."""
        return self.replay_presenter.export_review_to(path, at_s)

    def export_report_to(self, path: str, at_s: Optional[float] = None) -> Job:
        """Write the review report of the replayed recording (PDF, or HTML for *.html)."""
        return self.replay_presenter.export_report_to(path, at_s)

    def open_incident_editor(self):
        """Edit an incident for the layout shown (app/incident_menu.py)."""
        return self.incidents.open_editor()

    # ------------------------------------------------------------------ background jobs
    def run_job(self, job: Job, label: str, on_done, failure_title: str) -> Job:
        """Start ``job`` (exports, imports) behind a progress dialog; ``on_done(result)`` when it returns,
        else the status bar and a dialog titled ``failure_title`` say why. Returns the job."""
        self.export_progress = progress_dialog(self, job, label)
        self._jobs.append(job)

        def forget(*_) -> None:
            if job in self._jobs:
                self._jobs.remove(job)

        job.sig_done.connect(forget)
        job.sig_error.connect(forget)
        job.sig_done.connect(on_done)
        job.sig_error.connect(lambda message: self.show_status(f"{failure_title}: {message}"))
        job.sig_error.connect(lambda message: QMessageBox.critical(self, failure_title, message))
        job.start()
        return job

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
        # every thread this window started ends before Qt deletes the objects it emits from: the simulation,
        # the replay, the space searches, exports, imports, recordings and sweeps
        if getattr(self, "find_space", None) is not None:
            self.find_space.shutdown()
        self.runner.stop()
        self.replay_presenter.stop()
        stop_workers(self)
        self.autosaver.close()
        event.accept()

