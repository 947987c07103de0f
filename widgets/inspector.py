"""The inspector: the properties of the selected element(s), editable, with inline validation messages.

The panel never writes the model: an edit leaves as ``sig_property_edited``
(ids, field, value); the window turns it into ``dctwin.twin.model.commands.SetProperty``
(one ``Macro`` for several ids) and, when the model refuses, calls
:meth:`InspectorPanel.show_error` so the reason appears under the field.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QScrollArea, QVBoxLayout,
                               QWidget)

from dctwin.twin.model.layout import (ASHRAE_CLASSES, CONTAINMENT_KINDS, COOLING_KINDS, FACINGS, OBSTRUCTION_KINDS,
                                     PLENUM_KINDS, POWER_KINDS, Containment, CoolingUnit, Element, Grille, Hall,
                                     U_OPENING_M2, Obstruction, PowerNode, Rack, Site, Tile)
from dctwin.twin.model.validate import AIRFLOW_CONTROLS, FEEDABLE_KINDS
from dctwin.twin.physics.constants import DESIGN_INLET_C
from dctwin.widgets.colormaps import note_label

#: (field, label, kind) per element type; kind: text, float, optfloat, choice, feeds
FIELDS: dict[type, tuple[tuple[str, str, Any], ...]] = {
    Rack: (("id", "Id", "text"), ("it_kw", "IT power (kW)", "float"),
           ("airflow_m3s", f"Airflow at {DESIGN_INLET_C:g} °C inlet (m³/s, blank = 1e-4 per W)", "optfloat"),
           ("airflow_fixed", "Airflow and power fixed (no fan curve)", ("false", "true")),
           ("open_u", f"Open U, no blanking panel ({U_OPENING_M2:.4f} m² each)", "float"),
           ("liquid_fraction", "Liquid fraction", "float"), ("facing", "Front faces", FACINGS),
           ("ashrae_class", "ASHRAE class", ASHRAE_CLASSES), ("feeds", "Feeds", "feeds")),
    CoolingUnit: (("id", "Id", "text"), ("kind", "Kind", COOLING_KINDS),
                  ("airflow_m3s", "Airflow (m³/s)", "float"), ("capacity_kw", "Capacity (kW)", "float"),
                  ("supply_setpoint_c", "Supply setpoint (°C)", "float"), ("facing", "Front faces", FACINGS),
                  ("airflow_control", "Airflow control", AIRFLOW_CONTROLS),
                  ("return_target_c", "Return target (°C, blank = 28)", "optfloat"),
                  ("dp_target_pa", "Zone pressure target (Pa, blank = -1)", "optfloat"),
                  ("feeds", "Feeds", "feeds")),
    Tile: (("id", "Id", "text"), ("open_fraction", "Open fraction", "float")),
    Grille: (("id", "Id", "text"), ("width_m", "Width (m)", "float"), ("depth_m", "Depth (m)", "float")),
    Containment: (("id", "Id", "text"), ("kind", "Aisle", CONTAINMENT_KINDS), ("width_m", "Width (m)", "float"),
                  ("depth_m", "Depth (m)", "float"), ("height_m", "Height (m, blank = default)", "optfloat"),
                  ("door_gap_m2", "Door gap, each end (m², blank = 0.03)", "optfloat"),
                  ("roof_gap_m2", "Roof edge gap (m², blank = 5 mm per m)", "optfloat")),
    Obstruction: (("id", "Id", "text"), ("kind", "Kind", OBSTRUCTION_KINDS), ("width_m", "Width (m)", "float"),
                  ("depth_m", "Depth (m)", "float"), ("height_m", "Height (m, blank = to the ceiling)", "optfloat")),
    PowerNode: (("id", "Id", "text"), ("kind", "Kind", POWER_KINDS), ("capacity_kw", "Capacity (kW)", "float"),
                ("inputs", "Draws from", "inputs"), ("battery_kwh", "Battery (kWh)", "optfloat"),
                ("start_delay_s", "Start delay (s)", "optfloat"), ("transfer_delay_s", "Transfer delay (s)", "optfloat"),
                ("loss_fraction", "Loss fraction", "optfloat")),
}
#: hall fields shown when nothing is selected
HALL_FIELDS = (("width_m", "Width (m)", "float"), ("depth_m", "Depth (m)", "float"),
               ("height_m", "Height (m)", "float"), ("tile_m", "Tile (m)", "float"),
               ("supply_c", "Supply air (°C)", "float"), ("plenum", "Plenum", PLENUM_KINDS),
               ("ceiling_return", "Ceiling return", ("false", "true")))
_NONE = "(none)"
#: yes/no fields, shown as a false/true choice
_BOOL_FIELDS = frozenset({"ceiling_return", "airflow_fixed"})


def _applies(el: Element, field: str) -> bool:
    """Whether ``field`` is one ``el`` takes (a UPS has a battery, a PDU has none)."""
    kinds = PowerNode.KIND_FIELDS.get(field) if isinstance(el, PowerNode) else None
    return kinds is None or el.kind in kinds


def _server_airflow(r: Any) -> float:
    """The air a rack's servers move (m³/s): what it exchanges with the room plus what it recirculates."""
    share = float(r.recirculated_share or 0.0)
    return float(r.airflow_m3s) / (1.0 - share) if share < 1.0 else float(r.airflow_m3s)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class InspectorPanel(QWidget):
    """Edit the properties of the selection. A multi-selection shows (and sets) the fields all share."""

    #: set ``field`` of every element in ``ids`` to ``value`` (raw text is passed on if it is not a number,
    #: so the model names the problem)
    sig_property_edited = Signal(list, str, object)
    #: set ``field`` of hall ``hall_id`` to ``value`` (shown when nothing is selected)
    sig_hall_property_edited = Signal(str, str, object)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.site: Optional[Site] = None
        self.ids: list[str] = []
        self.hall_id: Optional[str] = None
        #: why nothing here can be changed ("" when it can): the editors show values only
        self.read_only_reason = ""
        self._signature: tuple = ()
        self.editors: dict[str, Any] = {}
        self.errors: dict[str, QLabel] = {}
        #: the racks' latest simulated values (``RackResult`` by id), for the airflow they move now
        self.live: Mapping[str, Any] = {}
        #: under the airflow field: what the selected rack moves now (the fan curve's response to its inlet)
        self.airflow_now: Optional[QLabel] = None
        #: under the open-U field: the share of its exhaust the selected rack returns to its servers now
        self.recirc_now: Optional[QLabel] = None
        self.header = QLabel("Nothing selected", self)
        self.header.setWordWrap(True)
        #: the forms built so far by their signature (fields, all racks), the last used last: going back to
        #: one (a rack dropped and selected after the hall) shows it again instead of building it again
        self._forms: dict[tuple, tuple] = {}
        self._switching = False
        self._new_form()
        #: shown when the selection holds values an importer assumed (``Element.assumed``)
        self.assumed_badge = note_label("assumed_badge", "border: 1px solid {edge}; border-radius: 3px; padding: 3px;", self)
        self.general_error = QLabel(self)
        self.general_error.setWordWrap(True)
        self.general_error.setStyleSheet("color: #d32f2f;")
        self.general_error.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.header)
        lay.addWidget(self.assumed_badge)
        # the fields scroll when the dock is shorter than they are (a rack's nine, each under its label)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setWidget(self.form_host)
        self._forms[((), False)] = self._form_state()
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.general_error)

    # ---- content
    def elements(self) -> list[Element]:
        if self.site is None:
            return []
        out = []
        for i in self.ids:
            try:
                out.append(self.site.get(i))
            except KeyError:
                pass
        return out

    def hall(self) -> Optional[Hall]:
        if self.site is None or not self.site.halls or self.ids:
            return None
        try:
            return self.site.get_hall(self.hall_id) if self.hall_id else self.site.halls[0]
        except KeyError:
            return self.site.halls[0]

    def fields(self) -> tuple[tuple[str, str, Any], ...]:
        els = self.elements()
        if not els:
            return HALL_FIELDS if self.hall() is not None else ()
        specs = [tuple(f for f in FIELDS.get(type(e), ()) if _applies(e, f[0])) for e in els]
        shared = set.intersection(*({f for f, _, _ in s} for s in specs))
        if len(els) > 1:
            shared.discard("id")
        return tuple(s for s in specs[0] if s[0] in shared)

    def set_context(self, site: Optional[Site], ids: list[str], hall_id: Optional[str] = None) -> None:
        """Show ``ids`` of ``site`` (the hall when none).

        The form is built again only when the fields change: another element of the same type (a rack just
        dropped and selected, say) reuses the editors and gets its values; the same selection also keeps an
        edit in progress (and the focus)."""
        self.site = site
        self.hall_id = hall_id
        before = self.ids
        self.ids = [i for i in ids if site is not None and self._exists(i)]
        fields = self.fields()
        els = self.elements()
        signature = (tuple(f for f, _, _ in fields), bool(els) and all(isinstance(e, Rack) for e in els))
        if signature != self._signature:
            self._show_form(signature, fields)
            self._signature = signature
        if self.ids != before:
            # the editors stay, what they showed of the last selection goes: its messages, its half-typed text
            self.clear_errors()
            self._apply_read_only()
        self._refresh(keep_typing=self.ids == before)

    #: how many built forms are kept (the hall's, a rack's, a unit's, ...)
    FORMS_KEPT = 6

    def _form_state(self) -> tuple:
        return self.form_host, self.form, self.editors, self.errors, self.airflow_now, self.recirc_now

    def _new_form(self) -> None:
        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        # every label above its editor: the long ones (airflow, open U) then never squeeze the editors in a narrow dock
        self.form.setRowWrapPolicy(QFormLayout.WrapAllRows)
        self.editors, self.errors = {}, {}
        self.airflow_now = self.recirc_now = None

    def _show_form(self, signature: tuple, fields) -> None:
        """Put the form for ``fields`` in the scroll area: the one kept for ``signature``, or a new one."""
        self._switching = True  # the focus leaving the form put away finishes no edit (it was another selection's)
        try:
            old = self.scroll.takeWidget()
            old.setParent(self)  # kept, out of sight
            old.hide()
        finally:
            self._switching = False
        kept = self._forms.pop(signature, None)
        if kept is None:
            self._new_form()
            self._rebuild(fields)
        else:
            self.form_host, self.form, self.editors, self.errors, self.airflow_now, self.recirc_now = kept
        self._forms[signature] = self._form_state()
        while len(self._forms) > self.FORMS_KEPT:
            self._forms.pop(next(iter(self._forms)))[0].deleteLater()
        self.scroll.setWidget(self.form_host)

    def set_read_only(self, reason: str) -> None:
        """Show values that cannot be changed (``reason`` says why; "" makes the editors editable)."""
        self.read_only_reason = reason
        self._apply_read_only()
        self._refresh()

    def _apply_read_only(self) -> None:
        on = bool(self.read_only_reason)
        for editor in self.editors.values():
            for e in (editor if isinstance(editor, tuple) else (editor,)):
                if isinstance(e, QLineEdit):
                    e.setReadOnly(on)
                else:
                    e.setEnabled(not on)
                e.setToolTip(self.read_only_reason if on else "")

    def _exists(self, ident: str) -> bool:
        try:
            self.site.get(ident)
            return True
        except KeyError:
            return False

    def _rebuild(self, fields) -> None:
        """Fill the (new, empty) form with an editor per field."""
        for name, label, kind in fields:
            box = QWidget(self.form_host)
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(1)
            editor = self._make_editor(name, kind, box)
            if isinstance(editor, tuple):
                row = QHBoxLayout()
                for e in editor:
                    row.addWidget(e)
                v.addLayout(row)
            else:
                v.addWidget(editor)
            if name in ("airflow_m3s", "open_u") and all(isinstance(e, Rack) for e in self.elements()):
                now = QLabel(box)
                now.setObjectName("airflow_now" if name == "airflow_m3s" else "recirc_now")
                now.setStyleSheet("color: #555;")
                now.setWordWrap(True)
                v.addWidget(now)
                if name == "airflow_m3s":
                    self.airflow_now = now
                else:
                    self.recirc_now = now
            err = QLabel(box)
            err.setWordWrap(True)
            err.setStyleSheet("color: #d32f2f;")
            err.hide()
            v.addWidget(err)
            self.editors[name] = editor
            self.errors[name] = err
            self.form.addRow(label, box)
        self._apply_read_only()

    def _make_editor(self, name: str, kind: Any, parent: QWidget):
        if kind in ("feeds", "inputs"):
            combos = (QComboBox(parent), QComboBox(parent))
            for k, combo in enumerate(combos):
                combo.setObjectName(f"feed_{'AB'[k]}" if kind == "feeds" else f"input_{k + 1}")
                combo.activated.connect(lambda _=0, n=name: self._on_feeds_activated(n))
            return combos
        if isinstance(kind, tuple):
            combo = QComboBox(parent)
            combo.addItems(list(kind))
            combo.setObjectName(name)
            combo.activated.connect(lambda _=0, n=name, c=combo: self._emit(n, c.currentText()))
            return combo
        edit = QLineEdit(parent)
        edit.setObjectName(name)
        edit.editingFinished.connect(lambda n=name, e=edit, k=kind: self._on_line_finished(n, e, k))
        return edit

    def _shared_value(self, name: str) -> tuple[bool, Any]:
        hall = self.hall()
        if hall is not None:
            v = getattr(hall, name)
            return True, (str(v).lower() if isinstance(v, bool) else v)
        values = [getattr(e, name) for e in self.elements()]
        if not values:
            return False, None
        if name in _BOOL_FIELDS:
            values = [str(bool(v)).lower() for v in values]
        first = values[0]
        return all(v == first for v in values), first

    def _refresh(self, keep_typing: bool = True) -> None:
        """Show the selection's values; ``keep_typing`` leaves a focused editor's unfinished edit alone."""
        els = self.elements()
        hall = self.hall()
        if hall is not None:
            self.header.setText(f"<b>{hall.id}</b> — hall (nothing selected)")
        elif not els:
            self.header.setText("Nothing selected")
        elif len(els) == 1:
            self.header.setText(f"<b>{els[0].id}</b> — {type(els[0]).__name__.lower()}")
        else:
            kinds = sorted({type(e).__name__.lower() for e in els})
            self.header.setText(f"<b>{len(els)} selected</b> ({', '.join(kinds)}); shared fields")
        if self.read_only_reason:
            self.header.setText(self.header.text() + " <i>(read-only)</i>")
        self._show_assumed(els)
        nodes = self.site.power_nodes if self.site else []
        feed_ids = [_NONE] + [n.id for n in nodes if n.kind in FEEDABLE_KINDS]
        input_ids = [_NONE] + [n.id for n in nodes if n.id not in self.ids]
        for name, editor in self.editors.items():
            same, value = self._shared_value(name)
            if isinstance(editor, tuple):
                feeds = tuple(value or ()) if same else ()
                for k, combo in enumerate(editor):
                    combo.blockSignals(True)
                    cur = feeds[k] if k < len(feeds) else _NONE
                    items = feed_ids if name == "feeds" else input_ids
                    items = items if cur in items else [*items, cur]
                    if [combo.itemText(i) for i in range(combo.count())] != items:
                        combo.clear()
                        combo.addItems(items)
                    combo.setCurrentText(cur if same else _NONE)
                    what = f"Feed {'AB'[k]}" if name == "feeds" else f"Input {k + 1}"
                    combo.setToolTip(what + ("" if same else " (differs across the selection)"))
                    combo.blockSignals(False)
            elif isinstance(editor, QComboBox):
                editor.blockSignals(True)
                editor.setCurrentIndex(editor.findText(str(value)) if same else -1)
                editor.blockSignals(False)
            else:
                if not (keep_typing and editor.hasFocus() and editor.isModified()):
                    editor.setText(_fmt(value) if same else "")
                    editor.setPlaceholderText("" if same else "(mixed)")
                    editor.setModified(False)
        self._show_airflow_now(els)

    def set_live(self, racks: Mapping[str, Any]) -> None:
        """The racks' latest simulated values (``RackResult`` by id): the airflow shown beside the field."""
        self.live = racks
        self._show_airflow_now(self.elements())

    def _show_airflow_now(self, els: list[Element]) -> None:
        """Under the airflow field: the airflow the selected rack(s) move now and at what inlet."""
        if self.airflow_now is None:
            return
        now = [self.live.get(e.id) for e in els]
        self._show_recirc_now(els, now)
        if not els or any(r is None or r.airflow_m3s is None for r in now):
            self.airflow_now.setText("now — (not simulated yet)")
            return
        q = sum(_server_airflow(r) for r in now)
        inlet = max(float(r.intake_c) for r in now)
        design = sum(e.design_airflow_m3s for e in els)
        share = f" ({q / design:.2f}×)" if design > 0 else ""
        where = f"at {inlet:.1f} °C" if len(els) == 1 else f"in all, inlets ≤ {inlet:.1f} °C"
        self.airflow_now.setText(f"now {q:.3g} m³/s{share} {where}")
        self.airflow_now.setToolTip("The airflow the rack moves now: the field holds at a 22.5 °C inlet and the "
                                    "fan curve scales it with the inlet, unless airflow and power are fixed.")

    def _show_recirc_now(self, els: list[Element], now: list[Any]) -> None:
        """Under the open-U field: how much of its exhaust the selected rack returns to its servers now and how
        much warmer they breathe for it (the racks without open units: nothing to say)."""
        if self.recirc_now is None:
            return
        if not any(getattr(e, "open_u", 0.0) > 0 for e in els):
            self.recirc_now.setText("")
            self.recirc_now.hide()
            return
        self.recirc_now.show()
        if any(r is None or r.recirculated_share is None for r in now):
            self.recirc_now.setText("now — (not simulated yet)")
            return
        share = max(float(r.recirculated_share) for r in now)
        rise = max(float(r.intake_c) - float(r.inlet_c) for r in now)
        lead = "now" if len(els) == 1 else "now at most"
        self.recirc_now.setText(f"{lead} {100 * share:.0f} % of its exhaust back to its servers: intake "
                                f"+{rise:.1f} K over the room air")
        self.recirc_now.setToolTip("Hot exhaust flows back to the front through rack units without blanking "
                                   "panels; the servers breathe the mix (README, \"Blanking panels\").")

    def _show_assumed(self, els: list[Element]) -> None:
        """The "assumed" badge: which values of the selection an importer assumed (edit one to confirm it)."""
        names = list(dict.fromkeys(a for e in els for a in e.assumed))
        for name, editor in self.editors.items():  # reused editors forget the last selection's assumptions
            for e in (editor if isinstance(editor, tuple) else (editor,)):
                e.setProperty("assumed", name in names)
        if not names:
            self.assumed_badge.hide()
            return
        labels = {f: lab for spec in FIELDS.values() for f, lab, _ in spec}
        labels.update(x_m="position", y_m="position", exists="the element itself (not in the source)")
        words = list(dict.fromkeys(labels.get(n, n) for n in names))
        self.assumed_badge.setText("⚠ assumed: " + ", ".join(words))
        self.assumed_badge.setToolTip("Imported with default values where the source had none; setting a value "
                                      "here (or moving the element) confirms it.")
        self.assumed_badge.show()
        for name, editor in self.editors.items():
            if name in names:
                for e in (editor if isinstance(editor, tuple) else (editor,)):
                    e.setToolTip("assumed by the import (a default)")

    # ---- edits
    def _on_line_finished(self, name: str, edit: QLineEdit, kind: str) -> None:
        if self._switching or self.editors.get(name) is not edit:
            return  # a form put away: its unfinished edit was for another selection
        text = edit.text().strip()
        same, current = self._shared_value(name)
        if same and text == _fmt(current):
            return
        if not same and text == "":
            return
        value: Any = text
        if kind in ("float", "optfloat"):
            if text == "" and kind == "optfloat":
                value = None
            else:
                try:
                    value = float(text)
                except ValueError:
                    value = text  # the model says what is wrong with it
        edit.setModified(False)
        self._emit(name, value)

    def _on_feeds_activated(self, name: str) -> None:
        combos = self.editors[name]
        feeds = tuple(c.currentText() for c in combos if c.currentText() and c.currentText() != _NONE)
        self._emit(name, feeds)

    def _emit(self, name: str, value: Any) -> None:
        self.clear_errors()
        if self.read_only_reason:  # a combo cannot be changed here, but a keyboard may reach one
            self._refresh()
            self.show_error(name, self.read_only_reason)
            return
        hall = self.hall()
        if name in _BOOL_FIELDS:
            value = value == "true"
        if hall is not None:
            self.sig_hall_property_edited.emit(hall.id, name, value)
            return
        self.sig_property_edited.emit(list(self.ids), name, value)

    # ---- messages
    def show_error(self, field: str, message: str) -> None:
        """Show ``message`` under ``field`` (or below the form if the field is not shown)."""
        label = self.errors.get(field)
        if label is None:
            label = self.general_error
        label.setText(message)
        label.show()

    def clear_errors(self) -> None:
        for label in list(self.errors.values()) + [self.general_error]:
            label.clear()
            label.hide()

    def error_text(self) -> str:
        """All messages currently shown (for tests and the status bar)."""
        return "\n".join(l.text() for l in list(self.errors.values()) + [self.general_error] if l.isVisible()
                         or l.text())
