"""Incident editor: build an incident on a timeline by drag and drop, save it, then run and record it.

The incident is a list of :class:`dctwin.twin.model.incidents.IncidentEvent` held here
(the model); the timeline only shows it and emits intent. Every change (add,
move, delete, edit) is one step on the dialog's undo stack. Saving and
running check the incident against the layout first
(:func:`dctwin.twin.model.incidents.incident_from_dict`), so a bad event is refused with
the reason before anything is written or simulated. "Run and Record"
simulates the layout with the incident in a worker, recording into a project file
(:mod:`dctwin.app.incident_run`), with a progress dialog that says what it prepares, then the
percentage and the time left, and can cancel; the window then opens the recording in the replay view.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QAction, QDrag, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QMenu, QMessageBox, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.events import EVENT_VALUES, INJECTED_KINDS
from dctwin.twin.model.incidents import (Incident, IncidentEvent, incident_from_dict, library_folder, list_incidents,
                                         load_incident, load_library_incident)
from dctwin.twin.model.layout import Site
from dctwin.twin.model.layoutfile import write_json_file
from dctwin.widgets.timeline import EVENT_KIND_MIME, Marker, TimelineView, fmt_time

from dctwin.app.incident_run import start_recording
from dctwin.app.workers import Job

if TYPE_CHECKING:
    from dctwin.app.settings import Settings

#: the Settings key of the folder incidents were last opened from or saved to
INCIDENT_FOLDER_KEY = "incident_folder"
INCIDENT_FILTER = "dctwin incidents (*.json);;All files (*)"
RECORDING_FILTER = "dctwin project files (*.dctwin);;All files (*)"
#: the number an event kind needs (name, default, low, high, unit), from the event schema
VALUE_FIELDS = {k: (v.name, v.default, v.low, v.high, f" {v.unit}" if v.unit else "") for k, v in EVENT_VALUES.items()}
#: the range of a utilization
UTIL_LOW, UTIL_HIGH = EVENT_VALUES["set_utilization"].low, EVENT_VALUES["set_utilization"].high
DEFAULT_DURATION_S = 600.0


def targets_for(site: Site, kind: str) -> list[str]:
    """Ids an event of ``kind`` may name, most likely first ("" where the kind may name none)."""
    units = [u.id for h in site.halls for u in h.cooling_units]
    racks = [r.id for h in site.halls for r in h.racks]
    rows = sorted({r.row for h in site.halls for r in h.racks if r.row})
    nodes = {n.id: n.kind for n in site.power_nodes}
    cdus = [u.id for h in site.halls for u in h.cooling_units if u.kind == "cdu"]
    plant = [c.id for c in site.chillers] + [p.id for p in site.pumps]
    if kind in ("fail", "repair"):
        return units + racks + list(nodes) + plant
    if kind == "set_utilization":
        return ["all"] + rows + racks
    if kind == "set_setpoint":
        return [u for u in units if u not in cdus]
    if kind in ("utility_loss", "utility_restore"):
        return [i for i, k in nodes.items() if k == "utility"] + [""]
    if kind == "generator_fail_to_start":
        return [i for i, k in nodes.items() if k == "generator"] + [""]
    if kind == "breaker_trip":
        return [i for i, k in nodes.items() if k not in ("utility", "generator")] + list(nodes)
    if kind == "cdu_pump_fail":
        return cdus
    return [""]


def default_event(site: Site, kind: str, t_s: float) -> IncidentEvent:
    targets = targets_for(site, kind)
    details = {}
    if kind in VALUE_FIELDS:
        name, default, _, _, _ = VALUE_FIELDS[kind]
        details[name] = default
    return IncidentEvent(float(t_s), kind, targets[0] if targets else "", details)


def swing_events(target: str, low: float, high: float, period_s: float, high_fraction: float,
                 start_s: float, end_s: float) -> list[IncidentEvent]:
    """A periodic load swing as utilization steps: ``high`` from the start of each period for
    ``high_fraction`` of it, then ``low`` (an AI training job and its checkpoint dips, a batch
    window). Steps at or after ``end_s`` are left out, so a swing that ends mid-dip stays low.
    Raises ValueError naming the field that makes no swing."""
    if not period_s > 0:
        raise ValueError(f"period must be above 0 s, got {period_s:g}")
    if not 0 < high_fraction < 1:
        raise ValueError(f"the high part must be between 0 and 1 of the period, got {high_fraction:g}")
    if not end_s > start_s:
        raise ValueError(f"the swing must end after it starts ({start_s:g} s .. {end_s:g} s)")
    if not (UTIL_LOW <= low <= UTIL_HIGH and UTIL_LOW <= high <= UTIL_HIGH):
        raise ValueError(f"utilizations must be within {UTIL_LOW:g}..{UTIL_HIGH:g}, got {low:g} and {high:g}")
    n = int((end_s - start_s) / period_s + 1e-9) + 1
    if 2 * n > 2000:
        raise ValueError(f"{2 * n} events: more than 2,000 (use a longer period or a shorter span)")
    out: list[IncidentEvent] = []
    for k in range(n):
        t_hi = start_s + k * period_s
        t_lo = t_hi + high_fraction * period_s
        if t_hi < end_s:
            out.append(IncidentEvent(round(t_hi, 6), "set_utilization", target, {"utilization": float(high)}))
        if t_lo < end_s:
            out.append(IncidentEvent(round(t_lo, 6), "set_utilization", target, {"utilization": float(low)}))
    return out


class SwingDialog(QDialog):
    """Fields of a periodic load swing (target, low/high utilization, period, high share, span)."""

    def __init__(self, targets: list[str], duration_s: float, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Add a load swing — dctwin")
        self.target_combo = QComboBox(self)
        self.target_combo.setEditable(True)
        self.target_combo.addItems(targets)

        def spin(value: float, low: float, high: float, decimals: int, suffix: str = "") -> QDoubleSpinBox:
            sp = QDoubleSpinBox(self)
            sp.setRange(low, high)
            sp.setDecimals(decimals)
            sp.setSuffix(suffix)
            sp.setValue(value)
            return sp

        self.high_spin = spin(1.0, UTIL_LOW, UTIL_HIGH, 2)
        self.low_spin = spin(0.3, UTIL_LOW, UTIL_HIGH, 2)
        self.period_spin = spin(300.0, 1.0, 86400.0, 0, " s")
        self.fraction_spin = spin(0.8, 0.01, 0.99, 2)
        self.start_spin = spin(0.0, 0.0, 7 * 86400.0, 0, " s")
        self.end_spin = spin(duration_s, 1.0, 7 * 86400.0, 0, " s")
        self.ok_button = QPushButton("Add", self)
        self.ok_button.setDefault(True)
        cancel = QPushButton("Cancel", self)
        form = QFormLayout(self)
        form.addRow("Target", self.target_combo)
        form.addRow("High utilization", self.high_spin)
        form.addRow("Low utilization", self.low_spin)
        form.addRow("Period", self.period_spin)
        form.addRow("High part of the period", self.fraction_spin)
        form.addRow("From", self.start_spin)
        form.addRow("Until", self.end_spin)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(cancel)
        row.addWidget(self.ok_button)
        form.addRow(row)
        self.ok_button.clicked.connect(self.accept)
        cancel.clicked.connect(self.reject)

    def values(self) -> dict:
        return dict(target=self.target_combo.currentText().strip(), low=self.low_spin.value(),
                    high=self.high_spin.value(), period_s=self.period_spin.value(),
                    high_fraction=self.fraction_spin.value(), start_s=self.start_spin.value(),
                    end_s=self.end_spin.value())


class _SetEvents(QUndoCommand):
    """One edit of the event list (the list before and after: small, so a copy is the simplest inverse)."""

    def __init__(self, dialog: "IncidentEditorDialog", before: list, after: list, text: str):
        super().__init__(text)
        self.dialog, self.before, self.after = dialog, before, after

    def redo(self) -> None:
        self.dialog._set_rows(self.after)

    def undo(self) -> None:
        self.dialog._set_rows(self.before)


class _KindList(QListWidget):
    """The injected event kinds, dragged from here onto the timeline."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.addItems(list(INJECTED_KINDS))
        self.setDragEnabled(True)
        self.setToolTip("Drag a kind onto the timeline to add an event there")

    def startDrag(self, actions) -> None:  # Qt override
        item = self.currentItem()
        if item is None:
            return
        mime = QMimeData()
        mime.setData(EVENT_KIND_MIME, item.text().encode("utf-8"))
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.CopyAction)


class IncidentEditorDialog(QDialog):
    """Edit an incident on a timeline: drag kinds on, drag events along, Delete or drag off to remove."""

    #: a run was recorded into this project file (the window opens it for replay)
    sig_recorded = Signal(str)

    COLUMNS = ("time", "kind", "target", "value")

    def __init__(self, site: Site, hall_id: Optional[str] = None, incident: Optional[Incident] = None,
                 parent: Optional[QWidget] = None, grid_m: Optional[float] = None, folder: Optional[str] = None,
                 settings: Optional["Settings"] = None):
        super().__init__(parent)
        self.setWindowTitle("Incident editor — dctwin")
        self.site = site
        self.hall_id = hall_id
        self.grid_m = grid_m
        #: where Save and Run and Record start (the layout's folder; then the last saved file's)
        self.folder = folder or str(Path.home())
        #: remembers the folder incidents were last opened from or saved to (across sessions)
        self.settings = settings
        self.path: Optional[str] = None
        self.job: Optional[Job] = None
        self._ids = itertools.count(1)
        self.rows: list[tuple[int, IncidentEvent]] = []  # (stable id, event), sorted by time
        self.undo_stack = QUndoStack(self)

        self.name_edit = QLineEdit("incident", self)
        self.desc_edit = QLineEdit("", self)
        self.duration_spin = QDoubleSpinBox(self)
        self.duration_spin.setRange(10.0, 7 * 86400.0)
        self.duration_spin.setDecimals(0)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setValue(DEFAULT_DURATION_S)
        self.kinds = _KindList(self)
        self.kinds.setMaximumWidth(190)
        self.timeline = TimelineView(self, lanes=("event",))  # an incident has only injected events
        self.timeline.editable = True
        self.timeline.set_duration(DEFAULT_DURATION_S)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        # the selected event's fields
        self.time_spin = QDoubleSpinBox(self)
        self.time_spin.setRange(0.0, 7 * 86400.0)
        self.time_spin.setDecimals(0)
        self.time_spin.setSuffix(" s")
        self.kind_combo = QComboBox(self)
        self.kind_combo.addItems(list(INJECTED_KINDS))
        self.target_combo = QComboBox(self)
        self.target_combo.setEditable(True)
        self.value_label = QLabel("value", self)
        self.value_spin = QDoubleSpinBox(self)
        self.value_spin.setDecimals(2)
        self.apply_button = QPushButton("Apply to event", self)
        self.add_button = QPushButton("Add at cursor", self)
        self.delete_button = QPushButton("Delete", self)
        self.swing_button = QPushButton("Load swing…", self)
        self.swing_button.setToolTip("Add a periodic utilization swing (high, then a dip, every period)")
        self.swing: Optional[SwingDialog] = None
        self.undo_button = QPushButton("Undo", self)
        self.redo_button = QPushButton("Redo", self)
        self.open_button = QPushButton("Open…", self)
        self.library_button = QPushButton("Library", self)
        self.library_button.setToolTip("Open one of the built-in incidents")
        library = QMenu(self.library_button)
        for name, text in list_incidents().items():
            act = library.addAction(name, lambda n=name: self.load_library(n))
            act.setToolTip(text)
            act.setStatusTip(text)
        library.setToolTipsVisible(True)
        self.library_button.setMenu(library)
        self.save_button = QPushButton("Save…", self)
        self.run_button = QPushButton("Run and Record…", self)
        self.message = QLabel("Drag an event kind onto the timeline, or double-click the incident lane.", self)
        self.message.setWordWrap(True)

        meta = QFormLayout()
        meta.addRow("Name", self.name_edit)
        meta.addRow("Description", self.desc_edit)
        meta.addRow("Run for", self.duration_spin)
        form = QFormLayout()
        form.addRow("Time", self.time_spin)
        form.addRow("Kind", self.kind_combo)
        form.addRow("Target", self.target_combo)
        form.addRow(self.value_label, self.value_spin)
        form.addRow(self.apply_button)
        mid = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("Event kinds (drag):"))
        left.addWidget(self.kinds)
        mid.addLayout(left)
        mid.addWidget(self.table, 1)
        mid.addLayout(form)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.swing_button, self.delete_button, self.undo_button, self.redo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.library_button, self.open_button, self.save_button, self.run_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(meta)
        lay.addWidget(self.timeline)
        lay.addLayout(mid, 1)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        self.resize(1000, 560)

        self.timeline.sig_seek_requested.connect(self._on_timeline_seek_requested)
        self.timeline.sig_marker_clicked.connect(self._on_timeline_marker_clicked)
        self.timeline.sig_marker_moved.connect(self._on_timeline_marker_moved)
        self.timeline.sig_marker_delete_requested.connect(self._on_timeline_marker_delete_requested)
        self.timeline.sig_add_requested.connect(self._on_timeline_add_requested)
        self.timeline.sig_kind_dropped.connect(self._on_timeline_kind_dropped)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.kind_combo.currentTextChanged.connect(self._on_kind_combo_changed)
        self.duration_spin.valueChanged.connect(lambda v: self.timeline.set_duration(v))
        self.apply_button.clicked.connect(self.apply_form)
        self.add_button.clicked.connect(lambda: self.add_event(self.kind_combo.currentText(),
                                                               self.timeline.position_s))
        self.delete_button.clicked.connect(self.delete_selected)
        self.swing_button.clicked.connect(self.swing_dialog)
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_dialog)
        self.save_button.clicked.connect(self.save_dialog)
        self.run_button.clicked.connect(self.run_dialog)
        for keys, slot, where in ((QKeySequence.Undo, self.undo_stack.undo, self),
                                  (QKeySequence.Redo, self.undo_stack.redo, self),
                                  (QKeySequence.Delete, self.delete_selected, self.table)):
            act = QAction(where)
            act.setShortcut(keys)
            act.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            where.addAction(act)
        self._on_kind_combo_changed(self.kind_combo.currentText())
        if incident is not None:
            self.set_incident(incident)

    # ---- model
    @property
    def events(self) -> list[IncidentEvent]:
        return [e for _, e in self.rows]

    def set_incident(self, incident: Incident) -> None:
        """Replace everything (not an undo step: a new document)."""
        self.name_edit.setText(incident.name)
        self.desc_edit.setText(incident.description)
        if incident.duration_s:
            self.duration_spin.setValue(float(incident.duration_s))
        elif incident.events:
            self.duration_spin.setValue(max(DEFAULT_DURATION_S, 2 * max(e.t_s for e in incident.events)))
        self._set_rows([(next(self._ids), e) for e in incident.events])
        self.undo_stack.clear()

    def incident(self) -> Incident:
        """The incident as edited, checked against the layout (LayoutError lists every problem)."""
        data = {"format": "dctwin-incident", "version": 1, "name": self.name_edit.text().strip() or "incident",
                "description": self.desc_edit.text(), "duration_s": float(self.duration_spin.value()),
                "events": [e.to_dict() for e in self.events]}
        late = [e for e in self.events if e.t_s > self.duration_spin.value()]
        inc = incident_from_dict(data, self.site, self.path or "incident")
        if late:
            self.message.setText(f"Note: {len(late)} event(s) after the run length "
                                 f"({self.duration_spin.value():g} s) will not happen in a run.")
        return inc

    def _edit(self, rows: list, text: str) -> None:
        self.undo_stack.push(_SetEvents(self, list(self.rows), sorted(rows, key=lambda r: r[1].t_s), text))

    def _set_rows(self, rows: list) -> None:
        selected = self.selected_id()
        self.rows = sorted(rows, key=lambda r: r[1].t_s)
        self._sync(selected)

    def add_event(self, kind: str, t_s: float) -> int:
        """Add an event of ``kind`` at ``t_s`` with the layout's likeliest target; returns its id."""
        if kind not in INJECTED_KINDS:
            self.message.setText(f"Refused: unknown event kind {kind!r}")
            return 0
        t = min(max(0.0, float(t_s)), self.duration_spin.value())
        ident = next(self._ids)
        ev = default_event(self.site, kind, t)
        self._edit(self.rows + [(ident, ev)], f"add {kind} at {fmt_time(t)}")
        self.select_id(ident)
        self.message.setText(f"Added {kind} {ev.target} at {t:g} s")
        return ident

    def add_swing(self, target: str, low: float, high: float, period_s: float, high_fraction: float,
                  start_s: float, end_s: float) -> int:
        """Add a periodic load swing (:func:`swing_events`) as one undo step; returns the events added."""
        try:
            events = swing_events(target, low, high, period_s, high_fraction, start_s,
                                  min(end_s, self.duration_spin.value()))
        except ValueError as exc:
            self.message.setText(f"Refused: {exc}")
            return 0
        if target not in targets_for(self.site, "set_utilization"):
            self.message.setText(f"Refused: {target!r} is not a rack, a row or 'all'")
            return 0
        added = [(next(self._ids), ev) for ev in events]
        self._edit(self.rows + added, f"add a load swing on {target} ({len(events)} steps)")
        self.message.setText(f"Added a load swing on {target}: {len(events)} utilization steps, "
                             f"{high:g} / {low:g} every {period_s:g} s")
        return len(events)

    def swing_dialog(self) -> SwingDialog:
        """Open the load-swing form (non-modal); Add puts the swing on the timeline."""
        dlg = SwingDialog(targets_for(self.site, "set_utilization"), self.duration_spin.value(), self)
        dlg.setAttribute(Qt.WA_DeleteOnClose, True)
        dlg.accepted.connect(lambda: self.add_swing(**dlg.values()))
        dlg.open()
        self.swing = dlg
        return dlg

    def move_event(self, ident: int, t_s: float) -> None:
        t = min(max(0.0, float(t_s)), self.duration_spin.value())
        rows = [(i, dataclasses.replace(e, t_s=t) if i == ident else e) for i, e in self.rows]
        self._edit(rows, f"move event to {fmt_time(t)}")
        self.select_id(ident)

    def delete_event(self, ident: int) -> None:
        ev = dict(self.rows).get(ident)
        if ev is None:
            return
        self._edit([r for r in self.rows if r[0] != ident], f"delete {ev.kind}")
        self.message.setText(f"Deleted {ev.kind} {ev.target} at {ev.t_s:g} s")

    def delete_selected(self) -> None:
        ident = self.selected_id()
        if ident is not None:
            self.delete_event(ident)

    def apply_form(self) -> None:
        """Write the form's fields into the selected event (one undo step)."""
        ident = self.selected_id()
        if ident is None:
            self.message.setText("Select an event first")
            return
        kind = self.kind_combo.currentText()
        details = {}
        if kind in VALUE_FIELDS:
            details[VALUE_FIELDS[kind][0]] = float(self.value_spin.value())
        ev = IncidentEvent(float(self.time_spin.value()), kind, self.target_combo.currentText().strip(), details)
        self._edit([(i, ev if i == ident else e) for i, e in self.rows], f"edit {kind}")
        self.select_id(ident)

    # ---- view
    def selected_id(self) -> Optional[int]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()][0]

    def select_id(self, ident: int) -> None:
        for k, (i, _) in enumerate(self.rows):
            if i == ident:
                self.table.selectRow(k)
                return

    def _sync(self, selected: Optional[int] = None) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.rows))
        for k, (_, e) in enumerate(self.rows):
            value = ", ".join(f"{n} = {v:g}" for n, v in e.details.items())
            for c, text in enumerate((fmt_time(e.t_s), e.kind, e.target or "(all)", value)):
                self.table.setItem(k, c, QTableWidgetItem(text))
        self.table.clearSelection()
        self.table.blockSignals(False)
        self.timeline.set_markers([Marker(e.t_s, e.kind, "event", e.target, label=f"{e.kind} {e.target}".strip(),
                                          key=i) for i, e in self.rows])
        if selected is not None:
            self.select_id(selected)

    def _fill_form(self, ev: IncidentEvent) -> None:
        self.time_spin.setValue(ev.t_s)
        self.kind_combo.blockSignals(True)
        self.kind_combo.setCurrentText(ev.kind)
        self.kind_combo.blockSignals(False)
        self._on_kind_combo_changed(ev.kind, keep_target=False)
        self.target_combo.setCurrentText(ev.target)
        if ev.kind in VALUE_FIELDS:
            self.value_spin.setValue(float(ev.details.get(VALUE_FIELDS[ev.kind][0], VALUE_FIELDS[ev.kind][1])))

    # ---- handlers
    def _on_timeline_seek_requested(self, t_s: float) -> None:
        self.time_spin.setValue(round(t_s))

    def _on_timeline_marker_clicked(self, marker: Marker) -> None:
        self.select_id(marker.key)

    def _on_timeline_marker_moved(self, marker: Marker, t_s: float) -> None:
        self.move_event(marker.key, t_s)

    def _on_timeline_marker_delete_requested(self, marker: Marker) -> None:
        self.delete_event(marker.key)

    def _on_timeline_add_requested(self, t_s: float) -> None:
        self.add_event(self.kind_combo.currentText(), t_s)

    def _on_timeline_kind_dropped(self, kind: str, t_s: float) -> None:
        self.add_event(kind, t_s)

    def _on_table_selection_changed(self) -> None:
        ident = self.selected_id()
        if ident is None:
            return
        ev = dict(self.rows)[ident]
        self._fill_form(ev)
        picked = next((m for m in self.timeline.markers if m.key == ident), None)
        self.timeline.picked = picked
        self.timeline.set_position(ev.t_s)

    def _on_kind_combo_changed(self, kind: str, keep_target: bool = True) -> None:
        old = self.target_combo.currentText()
        self.target_combo.clear()
        self.target_combo.addItems(targets_for(self.site, kind))
        if keep_target and old in targets_for(self.site, kind):
            self.target_combo.setCurrentText(old)
        field = VALUE_FIELDS.get(kind)
        self.value_label.setVisible(field is not None)
        self.value_spin.setVisible(field is not None)
        if field is not None:
            name, default, lo, hi, unit = field
            self.value_label.setText(name)
            self.value_spin.setRange(lo, hi)
            self.value_spin.setSuffix(unit)
            self.value_spin.setValue(default)

    # ---- files
    def _refused(self, title: str, exc: Exception) -> None:
        text = "; ".join(str(i) for i in exc.issues) if isinstance(exc, LayoutError) and exc.issues else str(exc)
        self.message.setText(f"Refused: {text}")
        QMessageBox.critical(self, title, text)

    def save(self, path: str) -> bool:
        """Check the incident, then write it (a temporary file renamed into place: the old file survives a failure)."""
        try:
            inc = self.incident()
        except LayoutError as exc:
            self._refused("Cannot save incident", exc)
            return False
        out = Path(path)
        try:
            write_json_file(out, json.dumps(inc.to_dict(), indent=2) + "\n", "incident")
        except OSError as exc:  # FileWriteError names the path and the reason
            self._refused("Cannot save incident", exc)
            return False
        self.path = str(out)
        self.undo_stack.setClean()
        self.message.setText(f"Saved {out}")
        return True

    def load(self, path: str) -> bool:
        try:
            inc = load_incident(path, self.site)
        except LayoutError as exc:
            self._refused("Cannot open incident", exc)
            return False
        self.path = str(path)
        self._remember_folder(path)
        self.set_incident(inc)
        self.message.setText(f"Opened {path}: {len(inc.events)} event(s)")
        return True

    def load_library(self, name: str) -> bool:
        """Open the built-in incident ``name`` (checked against this layout)."""
        try:
            inc = load_library_incident(name, self.site)
        except LayoutError as exc:
            self._refused("Cannot open incident", exc)
            return False
        self.path = None
        self.set_incident(inc)
        if inc.duration_s is not None:
            self.duration_spin.setValue(inc.duration_s)
        self.message.setText(f"Opened the built-in incident {name}: {len(inc.events)} event(s)")
        return True

    def _remember_folder(self, path: str) -> None:
        if self.settings is not None:
            self.settings.set_value(INCIDENT_FOLDER_KEY, os.path.dirname(os.path.abspath(path)))

    def open_folder(self) -> str:
        """Where Open starts: the open file's folder, else the one incidents were last opened from or saved
        to, else the built-in incident library's folder."""
        if self.path:
            return os.path.dirname(os.path.abspath(self.path))
        last = self.settings.value(INCIDENT_FOLDER_KEY, "") if self.settings is not None else ""
        if last and os.path.isdir(last):
            return last
        return library_folder() or self.folder

    def open_dialog(self) -> None:
        start = self.open_folder()
        path, _ = QFileDialog.getOpenFileName(self, "Open incident", start, INCIDENT_FILTER)
        if path:
            self.load(path)

    def save_dialog(self) -> None:
        """Save As; an incident opened from the built-in library is offered a name beside the layout (the
        library ships with dctwin and is not edited in place)."""
        start = self.path
        library = library_folder()
        if start is None or (library and os.path.dirname(os.path.abspath(start)) == os.path.abspath(library)):
            start = os.path.join(self.folder, os.path.basename(start) if start else
                                 f"{self.name_edit.text().strip() or 'incident'}.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save incident", start, INCIDENT_FILTER)
        if path:
            self.folder = os.path.dirname(os.path.abspath(path))
            if self.save(path):
                self._remember_folder(path)

    # ---- run and record
    def run_dialog(self) -> None:
        start = os.path.join(self.folder, f"{self.name_edit.text().strip() or 'incident'}-run.dctwin")
        path, _ = QFileDialog.getSaveFileName(self, "Record the run into", start, RECORDING_FILTER)
        if path:
            self.run_and_record(path)

    def run_and_record(self, out: str) -> Optional[Job]:
        """Check, then simulate and record in a worker thread; ``sig_recorded(out)`` when done."""
        if self.job is not None:
            self.message.setText("A run is already recording")
            return None
        try:
            inc = self.incident()
        except LayoutError as exc:
            self._refused("Cannot run incident", exc)
            return None
        duration = float(self.duration_spin.value())
        job, self.recording = start_recording(self, copy.deepcopy(self.site), inc, str(out), duration, self.hall_id,
                                              self.grid_m)
        self.progress = self.recording.dialog

        def finished() -> None:
            self.job = None
            self.run_button.setEnabled(True)

        def done(path: str) -> None:
            finished()
            self.message.setText(f"Recorded {duration:g} s into {path}")
            self.sig_recorded.emit(path)

        def failed(message: str) -> None:  # or cancelled: the message says what is left
            finished()
            self.message.setText(f"Run failed: {message}")

        job.sig_done.connect(done)
        job.sig_cancelled.connect(failed)
        job.sig_error.connect(failed)
        job.sig_error.connect(lambda message: QMessageBox.critical(self, "Run and Record", message))
        self.job = job
        self.run_button.setEnabled(False)
        self.message.setText(f"Recording into {out}…")
        return job
