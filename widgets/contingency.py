"""The Contingency dock's view: a sweep's ranked scenarios, each element's worst consequence, the
selected scenario's cause and design hints, and the risk map drawn over the floor plan.

:class:`ContingencyPanel` renders a sweep (the plain data of
:meth:`dctwin.twin.store.sweeps.SweepResult.to_json`) and emits intent: replay a scenario, show or
hide the risk map, select an element. :class:`RiskMapItem` paints, over each rack of a
:class:`~dctwin.widgets.floor_plan.FloorPlanScene`, how many single failures take it down or over
its allowable inlet, and over each cooling unit its worst consequence
(:func:`dctwin.twin.sim.contingency.risk_map`).
"""

from __future__ import annotations

from html import escape
from typing import Any, Optional

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QGraphicsItem, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QTextBrowser,
                               QVBoxLayout, QWidget)

from dctwin.twin.sim.contingency import RiskMap, consequence_text, risk_map
from dctwin.widgets.floor_plan import Z_GHOST, FloorPlanScene

COLUMNS = ("Rank", "Level", "Scenario", "Racks down", "kW down", "Over allowable", "First breach (s)",
           "Hottest inlet (°C)", "Lowest UPS charge", "Highest node load", "Replay")
ELEMENT_COLUMNS = ("Element", "Worst consequence", "Level", "Scenario")
#: fill of a level in the table and of a rack count on the risk map
LEVEL_COLOURS = {"it_lost": QColor(214, 39, 40), "thermal_breach": QColor(255, 127, 14),
                 "degraded": QColor(240, 200, 60), "none": QColor(120, 180, 120)}
LEVEL_NAMES = {"it_lost": "IT lost", "thermal_breach": "thermal breach", "degraded": "degraded", "none": "nothing"}


def count_colour(n: int) -> QColor:
    """Risk map fill for a rack that ``n`` single failures take down or over allowable."""
    if n <= 0:
        return QColor(90, 170, 90, 110)
    if n == 1:
        return QColor(250, 200, 40, 170)
    if n == 2:
        return QColor(245, 130, 20, 190)
    return QColor(215, 35, 35, 200)


def _cell(text: str, sort_value: Any = None, align=Qt.AlignRight | Qt.AlignVCenter) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(align)
    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
    if sort_value is not None:
        item.setData(Qt.UserRole + 1, sort_value)
    return item


def _fmt(v: Any, spec: str) -> str:
    return "—" if v is None else format(v, spec)


class RiskMapItem(QGraphicsItem):
    """Over the floor plan: each rack filled by how many single failures take it down or over
    allowable (with the count), each cooling unit with its worst consequence."""

    def __init__(self, scene: FloorPlanScene):
        super().__init__()
        self.setZValue(Z_GHOST - 0.5)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.floor = scene
        self.risk: RiskMap = RiskMap()
        self._rects: list[tuple[QRectF, int, str]] = []  # racks: (rect, count, tooltip)
        self._badges: list[tuple[QRectF, str, QColor]] = []  # units: (rect, text, colour)
        self._bounds = QRectF()

    def set_risk(self, risk: RiskMap) -> None:
        self.risk = risk
        self.rebuild()

    def rebuild(self) -> None:
        """Place the fills and badges on the scene's present items (after a layout change)."""
        from dctwin.widgets.floor_plan import RackItem, UnitItem

        self.prepareGeometryChange()
        self._rects, self._badges = [], []
        bounds = QRectF()
        for ident, item in self.floor.items_by_id.items():
            r = QRectF(item.scene_rect)
            if type(item) is RackItem:
                n = self.risk.rack_count(ident)
                why = self.risk.rack_down.get(ident, []) + self.risk.rack_over.get(ident, [])
                self._rects.append((r, n, ", ".join(why)))
                bounds = bounds.united(r)
            elif isinstance(item, UnitItem) and ident in self.risk.element_worst:
                w = self.risk.element_worst[ident]
                self._badges.append((r, consequence_text(w), LEVEL_COLOURS.get(w.get("severity_level"),
                                                                               QColor(120, 120, 120))))
                bounds = bounds.united(r)
        self._bounds = bounds.adjusted(-4, -4, 4, 4)
        self.update()

    @property
    def rack_counts(self) -> dict[str, int]:
        return {ident: self.risk.rack_count(ident) for ident in self.floor.items_by_id
                if ident in self.risk.rack_down or ident in self.risk.rack_over}

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        font = QFont()
        for r, n, _ in self._rects:
            painter.setPen(QPen(QColor(40, 40, 40, 160), 1))
            painter.setBrush(QBrush(count_colour(n)))
            painter.drawRect(r)
            size = min(r.width(), r.height()) * 0.6
            if n and size * lod >= 6:
                font.setPixelSize(max(1, int(size)))
                font.setBold(True)
                painter.setFont(font)
                painter.setPen(QColor(20, 20, 20))
                painter.drawText(r, Qt.AlignCenter, str(n))
        for r, text, colour in self._badges:
            painter.setPen(QPen(colour.darker(150), 3))
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(r, 3, 3)
            size = 11.0
            if size * lod >= 6:
                font.setPixelSize(int(size))
                font.setBold(True)
                painter.setFont(font)
                w = max(r.width(), 8 * len(text))
                hall = self.floor.hall_rect()
                box = QRectF(min(r.left(), hall.right() - w) if hall.isValid() else r.left(), r.bottom() + 2,
                             w, size + 6)
                painter.fillRect(box, QColor(255, 255, 255, 220))
                painter.setPen(colour.darker(170))
                painter.drawText(box, Qt.AlignLeft | Qt.AlignVCenter, text)


class ContingencyPanel(QWidget):
    """A sweep's ranked table, its elements' worst consequences and the chosen scenario explained."""

    #: replay the scenario with this key (double-click or the Replay button)
    sig_replay_requested = Signal(str)
    #: show (True) or hide the risk map on the floor plan
    sig_risk_map_toggled = Signal(bool)
    #: show this element on the floor plan
    sig_element_chosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.data: Optional[dict[str, Any]] = None
        self.path: Optional[str] = None
        self.risk = RiskMap()
        self.summary = QLabel("No sweep yet: Simulation > Contingency Sweep… runs one.", self)
        self.summary.setObjectName("sweep_summary")
        self.summary.setWordWrap(True)
        self.risk_box = QCheckBox("Risk map on the floor plan", self)
        self.risk_box.setObjectName("risk_map_box")
        self.risk_box.setEnabled(False)
        self.risk_box.toggled.connect(self.sig_risk_map_toggled)
        self.replay_button = QPushButton("Replay", self)
        self.replay_button.setObjectName("replay_button")
        self.replay_button.setToolTip("Replay the chosen scenario on the floor plan (recorded on first use)")
        self.replay_button.setEnabled(False)
        self.replay_button.clicked.connect(self._on_replay_clicked)
        top = QHBoxLayout()
        top.addWidget(self.risk_box)
        top.addStretch(1)
        top.addWidget(self.replay_button)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("sweep_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.table.cellDoubleClicked.connect(lambda row, _c: self._replay_row(row))
        self.elements = QTableWidget(0, len(ELEMENT_COLUMNS), self)
        self.elements.setObjectName("element_table")
        self.elements.setHorizontalHeaderLabels(list(ELEMENT_COLUMNS))
        self.elements.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.elements.verticalHeader().setVisible(False)
        self.elements.horizontalHeader().setSectionResizeMode(3, QHeaderView.Stretch)
        self.elements.cellClicked.connect(self._on_elements_cell_clicked)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.table, "Scenarios")
        self.tabs.addTab(self.elements, "Elements")
        self.detail = QTextBrowser(self)
        self.detail.setObjectName("sweep_detail")
        self.detail.setOpenLinks(False)
        split = QSplitter(Qt.Vertical, self)
        split.addWidget(self.tabs)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addLayout(top)
        lay.addWidget(split, 1)

    # ---- model
    def set_sweep(self, data: dict[str, Any], path: Optional[str] = None) -> None:
        """Show a sweep (``SweepResult.to_json()``, ranked) read from ``path``."""
        self.data, self.path = data, path
        scenarios = data.get("scenarios") or []
        self.risk = risk_map(scenarios)
        n_pruned = len(data.get("pruned") or [])
        worst = scenarios[0] if scenarios else None
        lost = sum(1 for o in scenarios if o.get("severity_level") == "it_lost")
        self.summary.setText(
            f"<b>{data.get('n_scenarios', len(scenarios))} scenarios</b>"
            + (f" ({n_pruned} pairs pruned as equal to a single failure)" if n_pruned else "")
            + f": {lost} take IT down"
            + (f"; the worst: {escape(worst['label'])}, {escape(consequence_text(worst))}" if worst else "")
            + (f". {escape(str(path))}" if path else "")
            + ("" if data.get("finished", True) else " — <i>unfinished: run it again to resume</i>"))
        self._fill_table(scenarios)
        self._fill_elements()
        self.risk_box.setEnabled(bool(scenarios))
        self.detail.clear()
        self.replay_button.setEnabled(False)

    def _fill_table(self, scenarios: list[dict[str, Any]]) -> None:
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(scenarios))
        for row, o in enumerate(scenarios):
            level = o.get("severity_level", "none")
            cells = [
                _cell(str(o["severity"]), o["severity"]),
                _cell(LEVEL_NAMES.get(level, level), None, Qt.AlignLeft | Qt.AlignVCenter),
                _cell(o["label"], None, Qt.AlignLeft | Qt.AlignVCenter),
                _cell(str(o["racks_down"])), _cell(f"{o['kw_down']:.1f}"),
                _cell(str(len(o.get("racks_over_allowable") or ()))),
                _cell(_fmt(o.get("first_over_allowable_s"), ".0f")),
                _cell(_fmt(o.get("max_inlet_c"), ".1f")),
                _cell(_fmt(None if o.get("ups_min_soc") is None else 100 * o["ups_min_soc"], ".0f") + " %"
                      if o.get("ups_min_soc") is not None else "—"),
                _cell(_fmt(None if o.get("max_node_utilization") is None else 100 * o["max_node_utilization"], ".0f")
                      + " %" if o.get("max_node_utilization") is not None else "—"),
                _cell("recorded" if o.get("recording_id") is not None else "", None, Qt.AlignCenter)]
            cells[1].setBackground(LEVEL_COLOURS.get(level, QColor(200, 200, 200)).lighter(160))
            cells[0].setData(Qt.UserRole, o["key"])
            cells[2].setToolTip(o.get("cause") or "")
            for c, item in enumerate(cells):
                t.setItem(row, c, item)
        t.resizeColumnsToContents()

    def _fill_elements(self) -> None:
        t = self.elements
        worst = sorted(self.risk.element_worst.items(), key=lambda kv: (kv[1]["severity"] or 0, kv[0]))
        t.setRowCount(len(worst))
        for row, (el, w) in enumerate(worst):
            level = w.get("severity_level", "none")
            items = [_cell(el, None, Qt.AlignLeft | Qt.AlignVCenter),
                     _cell(consequence_text(w), None, Qt.AlignLeft | Qt.AlignVCenter),
                     _cell(LEVEL_NAMES.get(level, level), None, Qt.AlignLeft | Qt.AlignVCenter),
                     _cell(w["label"], None, Qt.AlignLeft | Qt.AlignVCenter)]
            items[2].setBackground(LEVEL_COLOURS.get(level, QColor(200, 200, 200)).lighter(160))
            for c, item in enumerate(items):
                t.setItem(row, c, item)
        t.resizeColumnsToContents()

    # ---- reading back
    def scenario_keys(self) -> list[str]:
        """Keys of the table's rows, top to bottom."""
        return [self.table.item(r, 0).data(Qt.UserRole) for r in range(self.table.rowCount())]

    def outcome(self, key: str) -> Optional[dict[str, Any]]:
        for o in (self.data or {}).get("scenarios") or []:
            if o["key"] == key:
                return o
        return None

    def selected_key(self) -> Optional[str]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), 0).data(Qt.UserRole) if rows else None

    def select_key(self, key: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.UserRole) == key:
                self.table.selectRow(r)
                return

    # ---- handlers
    def _on_table_selection_changed(self) -> None:
        key = self.selected_key()
        o = self.outcome(key) if key else None
        self.replay_button.setEnabled(o is not None)
        if o is None:
            self.detail.clear()
            return
        parts = [f"<b>{escape(o['label'])}</b> — rank {o['severity']}, {LEVEL_NAMES.get(o['severity_level'], '')}: "
                 f"{escape(consequence_text(o))}."]
        if o.get("cause"):
            parts.append(f"<p><b>Why:</b> {escape(o['cause'])}</p>")
        st = o.get("static") or {}
        if st:
            parts.append(f"<p><b>Static pass:</b> {st.get('racks_unpowered', 0)} racks without a live feed, "
                         f"units stopped: {escape(', '.join(st.get('units_stopped') or []) or 'none')}, "
                         f"air cooling left {st.get('air_cooling_capacity_kw', 0):.0f} kW for "
                         f"{st.get('air_cooling_load_kw', 0):.0f} kW, highest node load "
                         f"{100 * (st.get('max_node_utilization') or 0):.0f} %.</p>")
        for h in o.get("hints") or []:
            parts.append(f"<p><b>Design hint:</b> {escape(h['text'])}</p>")
        if o.get("changes_nothing"):
            parts.append("<p>This failure changes nothing against the run without failure.</p>")
        self.detail.setHtml("".join(parts))

    def _replay_row(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.sig_replay_requested.emit(str(item.data(Qt.UserRole)))

    def _on_replay_clicked(self) -> None:
        key = self.selected_key()
        if key:
            self.sig_replay_requested.emit(key)

    def _on_elements_cell_clicked(self, row: int, _column: int) -> None:
        item = self.elements.item(row, 0)
        if item is not None:
            self.sig_element_chosen.emit(item.text())
            w = self.risk.element_worst.get(item.text())
            if w is not None:
                self.select_key(w["key"])
