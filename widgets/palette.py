"""The palette: everything a hall is built from, by section.

Racks, cooling units, tiles, grilles, columns and power equipment are dragged onto the floor plan
(power equipment also onto the Power panel, the power room). Containment zones and walls are drawn:
click the entry, then drag a rectangle on the floor plan. The feed cable connects loads to power:
click it, then drag from a rack to a PDU on the floor or in the Power panel.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QLabel, QListWidget, QListWidgetItem,
                               QSpinBox, QVBoxLayout, QWidget)

from dctwin.twin.model.layout import Containment, CoolingUnit, Element, Grille, Obstruction, PowerNode, Rack, Tile
from dctwin.widgets.floor_plan import ELEMENT_MIME, POWER_COLOURS, element_to_mime

#: the palette's sections: (title, ((label, prototype), ...)); ids are given by the document on drop
PALETTE_SECTIONS: tuple[tuple[str, tuple[tuple[str, Element], ...]], ...] = (
    ("Racks", (
        ("Air rack 5 kW", Rack(id="", it_kw=5.0)),
        ("Air rack 10 kW", Rack(id="", it_kw=10.0)),
        ("Air rack 20 kW", Rack(id="", it_kw=20.0)),
        ("Liquid rack 60 kW", Rack(id="", it_kw=60.0, liquid_fraction=0.8)),
        ("Liquid rack 120 kW", Rack(id="", it_kw=120.0, liquid_fraction=0.85)),
    )),
    ("Cooling", (
        ("CRAH 100 kW", CoolingUnit(id="", kind="crah", width_m=1.8, depth_m=0.9, airflow_m3s=8.0,
                                    capacity_kw=100.0, supply_setpoint_c=18.0)),
        ("In-row cooler 30 kW", CoolingUnit(id="", kind="inrow", width_m=0.3, depth_m=1.2, height_m=2.0,
                                            airflow_m3s=1.9, capacity_kw=30.0, supply_setpoint_c=20.0)),
    )),
    ("Air paths", (
        ("Perforated tile 25 %", Tile(id="", open_fraction=0.25)),
        ("Perforated tile 56 %", Tile(id="", open_fraction=0.56)),
        ("Return grille (ceiling)", Grille(id="")),
    )),
    ("Containment and obstructions", (
        ("Column", Obstruction(id="", kind="column", width_m=0.6, depth_m=0.6)),
        ("Cold aisle containment (draw)", Containment(id="", kind="cold")),
        ("Hot aisle containment (draw)", Containment(id="", kind="hot")),
        ("Wall (draw)", Obstruction(id="", kind="wall")),
    )),
    ("Power (floor or Power panel)", (
        ("Utility feed 1000 kW", PowerNode(id="", kind="utility", capacity_kw=1000.0)),
        ("Generator 500 kW", PowerNode(id="", kind="generator", capacity_kw=500.0, start_delay_s=10.0)),
        ("ATS 500 kW", PowerNode(id="", kind="ats", capacity_kw=500.0, transfer_delay_s=0.5,
                                 retransfer_delay_s=300.0)),
        ("UPS 200 kW", PowerNode(id="", kind="ups", capacity_kw=200.0, battery_kwh=30.0)),
        ("Switchboard 400 kW", PowerNode(id="", kind="switchboard", capacity_kw=400.0)),
        ("PDU 150 kW", PowerNode(id="", kind="pdu", capacity_kw=150.0)),
        ("RPP 50 kW", PowerNode(id="", kind="rpp", capacity_kw=50.0)),
    )),
)
#: every entry, in order: (label, prototype)
PALETTE_ENTRIES: tuple[tuple[str, Element], ...] = tuple(e for _, entries in PALETTE_SECTIONS for e in entries)
#: the tool entry at the end of the power section: drag a cable from a load to a power node
CABLE_LABEL = "Feed cable (drag rack → PDU)"


def is_drawn(el: Element) -> bool:
    """Whether an entry is drawn as a rectangle on the plan (containment, walls) rather than dropped."""
    return isinstance(el, Containment) or (isinstance(el, Obstruction) and el.kind == "wall")


def _icon(el: Optional[Element]) -> QIcon:
    pm = QPixmap(28, 28)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.Antialiasing)
    if el is None:  # the feed cable
        p.setPen(QColor(230, 160, 20))
        p.drawLine(4, 22, 24, 6)
        p.setBrush(QColor(230, 160, 20))
        p.drawEllipse(2, 20, 5, 5)
        p.drawEllipse(21, 3, 5, 5)
    elif isinstance(el, Rack):
        p.setBrush(QColor(120, 144, 176) if el.liquid_fraction else QColor(168, 178, 190))
        p.drawRect(9, 2, 10, 24)
        p.fillRect(9, 2, 10, 3, QColor(30, 30, 30))
    elif isinstance(el, CoolingUnit):
        p.setBrush(QColor(64, 160, 200))
        p.drawRoundedRect(2, 8, 24, 12, 2, 2)
    elif isinstance(el, Containment):
        colour = QColor(220, 60, 50) if el.kind == "hot" else QColor(40, 110, 220)
        p.setPen(colour)
        p.setBrush(Qt.NoBrush)
        p.drawRect(3, 3, 22, 22)
    elif isinstance(el, Obstruction):
        p.setBrush(QColor(90, 90, 96))
        p.drawRect(*((2, 11, 24, 6) if el.kind == "wall" else (8, 8, 12, 12)))
    elif isinstance(el, PowerNode):
        p.setBrush(POWER_COLOURS.get(el.kind, QColor(230, 160, 20)))
        p.drawRoundedRect(3, 5, 22, 18, 3, 3)
        font = QFont()
        font.setPixelSize(9)
        font.setBold(True)
        p.setFont(font)
        p.setPen(QColor(20, 20, 20))
        p.drawText(3, 5, 22, 18, Qt.AlignCenter, el.kind[:3].upper())
    elif isinstance(el, Grille):
        p.setBrush(QColor(150, 150, 150))
        p.drawRect(4, 4, 20, 20)
        for k in range(8, 24, 4):
            p.drawLine(4, k, 24, k)
    else:
        p.setBrush(QColor(70, 140, 230, 160))
        p.drawRect(4, 4, 20, 20)
    p.end()
    return QIcon(pm)


#: item data roles of the palette list
ENTRY_ROLE = Qt.UserRole  # index into PALETTE_ENTRIES (-1: a section header, -2: the feed cable)
CABLE_ENTRY = -2


class _PaletteList(QListWidget):
    """A list whose dropped entries drag out as :data:`ELEMENT_MIME` payloads (headers and drawn entries
    do not drag)."""

    def __init__(self, panel: "PalettePanel"):
        super().__init__(panel)
        self._panel = panel
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setIconSize(QSize(28, 28))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # a long label is elided; its tooltip is whole
        self.setTextElideMode(Qt.ElideRight)

    def mimeTypes(self) -> list[str]:  # Qt override
        return [ELEMENT_MIME]

    def mimeData(self, items) -> QMimeData:  # Qt override
        mime = QMimeData()
        if items:
            index = items[0].data(ENTRY_ROLE)
            if isinstance(index, int) and index >= 0:
                mime.setData(ELEMENT_MIME, self._panel.mime_for(index))
        return mime


class PalettePanel(QWidget):
    """Drag an entry onto the floor; "Row of" lays that many side by side in one drop. Drawn entries and
    the feed cable arm a tool of the floor plan instead (see the module docstring)."""

    #: the chosen entry changed (index into :data:`PALETTE_ENTRIES`)
    sig_entry_chosen = Signal(int)
    #: arm the floor plan's rectangle tool with this prototype (a containment zone, a wall)
    sig_draw_chosen = Signal(object)
    #: arm the floor plan's feed-cable tool
    sig_cable_chosen = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.list = _PaletteList(self)
        self.rows: dict[int, int] = {}  # entry index -> list row
        index = 0
        for title, entries in PALETTE_SECTIONS:
            self._header(title)
            for label, el in entries:
                item = QListWidgetItem(_icon(el), label, self.list)
                item.setData(ENTRY_ROLE, index)
                if is_drawn(el):
                    item.setFlags(item.flags() & ~Qt.ItemIsDragEnabled)
                    item.setToolTip(f"{label}: click, then drag a rectangle on the floor plan")
                elif isinstance(el, PowerNode):
                    item.setToolTip(f"{label}: drag onto the floor plan, or onto a node of the Power panel to draw "
                                    f"from it")
                else:
                    item.setToolTip(f"{label}: drag onto the floor plan")
                self.rows[index] = self.list.row(item)
                index += 1
            if isinstance(entries[-1][1], PowerNode):
                item = QListWidgetItem(_icon(None), CABLE_LABEL, self.list)
                item.setData(ENTRY_ROLE, CABLE_ENTRY)
                item.setFlags(item.flags() & ~Qt.ItemIsDragEnabled)
                item.setToolTip("Click, then drag from a rack (or the selected racks) to a PDU on the floor plan "
                                "or in the Power panel: its next feed (A, then B)")
                self.cable_row = self.list.row(item)
        self.list.setCurrentRow(self.rows[1])
        self.list.currentRowChanged.connect(self._on_list_row_changed)
        self.list.itemClicked.connect(self._on_list_item_clicked)
        self.row_count = QSpinBox(self)
        self.row_count.setRange(1, 40)
        self.row_count.setValue(1)
        self.row_count.setToolTip("Drop this many side by side (one undo step)")
        self.facing = QComboBox(self)
        self.facing.addItems(["N", "E", "S", "W"])
        self.facing.setToolTip("Which way the front (air intake) of the dropped element looks")
        form = QFormLayout()
        form.addRow("Row of", self.row_count)
        form.addRow("Front faces", self.facing)
        self.hint = QLabel("Drag onto the floor plan.", self)
        self.hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list, 1)
        lay.addLayout(form)
        lay.addWidget(self.hint)

    def _header(self, title: str) -> None:
        item = QListWidgetItem(title, self.list)
        item.setFlags(Qt.ItemIsEnabled)  # readable, not selectable, not draggable
        item.setToolTip(title)
        item.setData(ENTRY_ROLE, -1)
        font = QFont(self.list.font())
        font.setBold(True)
        item.setFont(font)

    def entry_at(self, row: int) -> int:
        """The entry index of list row ``row`` (-1 a header, :data:`CABLE_ENTRY` the feed cable)."""
        item = self.list.item(row)
        return item.data(ENTRY_ROLE) if item is not None else -1

    def prototype(self, index: int) -> Element:
        """Entry ``index`` of :data:`PALETTE_ENTRIES` as it would be dropped (facing applied)."""
        el = PALETTE_ENTRIES[index][1]
        if hasattr(el, "facing"):
            el = dataclasses.replace(el, facing=self.facing.currentText())
        return el

    def mime_for(self, index: int) -> bytes:
        return element_to_mime(self.prototype(index), self.row_count.value())

    def choose(self, index: int) -> None:
        """Click entry ``index`` (:data:`CABLE_ENTRY`: the feed cable) as a person would."""
        row = self.cable_row if index == CABLE_ENTRY else self.rows[index]
        self.list.setCurrentRow(row)
        self._on_list_item_clicked(self.list.item(row))

    def _on_list_row_changed(self, row: int) -> None:
        index = self.entry_at(row)
        if index >= 0:
            self.sig_entry_chosen.emit(index)

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        index = item.data(ENTRY_ROLE)
        if index == CABLE_ENTRY:
            self.hint.setText("Drag from a rack to a PDU on the floor plan or in the Power panel. Esc ends.")
            self.sig_cable_chosen.emit()
        elif isinstance(index, int) and index >= 0 and is_drawn(PALETTE_ENTRIES[index][1]):
            self.hint.setText("Drag a rectangle on the floor plan. Esc cancels.")
            self.sig_draw_chosen.emit(self.prototype(index))
        elif isinstance(index, int) and index >= 0:
            self.hint.setText("Drag onto the floor plan." + (
                " Power equipment also onto a node of the Power panel." if isinstance(PALETTE_ENTRIES[index][1],
                                                                                    PowerNode) else ""))
