"""The palette: rack types, cooling units and tiles to drag onto the floor plan."""

from __future__ import annotations

import dataclasses
from typing import Optional

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QLabel, QListWidget, QListWidgetItem,
                               QSpinBox, QVBoxLayout, QWidget)

from dctwin.twin.model.layout import CoolingUnit, Element, Rack, Tile
from dctwin.widgets.floor_plan import ELEMENT_MIME, element_to_mime

#: (label, prototype) of every palette entry; ids are given by the document on drop
PALETTE_ENTRIES: tuple[tuple[str, Element], ...] = (
    ("Air rack 5 kW", Rack(id="", it_kw=5.0)),
    ("Air rack 10 kW", Rack(id="", it_kw=10.0)),
    ("Air rack 20 kW", Rack(id="", it_kw=20.0)),
    ("Liquid rack 60 kW", Rack(id="", it_kw=60.0, liquid_fraction=0.8)),
    ("Liquid rack 120 kW", Rack(id="", it_kw=120.0, liquid_fraction=0.85)),
    ("CRAH 100 kW", CoolingUnit(id="", kind="crah", width_m=1.8, depth_m=0.9, airflow_m3s=8.0,
                                capacity_kw=100.0, supply_setpoint_c=18.0)),
    ("In-row cooler 30 kW", CoolingUnit(id="", kind="inrow", width_m=0.3, depth_m=1.2, height_m=2.0,
                                        airflow_m3s=1.9, capacity_kw=30.0, supply_setpoint_c=20.0)),
    ("Perforated tile 25 %", Tile(id="", open_fraction=0.25)),
    ("Perforated tile 56 %", Tile(id="", open_fraction=0.56)),
)


def _icon(el: Element) -> QIcon:
    pm = QPixmap(28, 28)
    pm.fill(Qt.transparent)
    p = QPainter(pm)
    if isinstance(el, Rack):
        p.setBrush(QColor(120, 144, 176) if el.liquid_fraction else QColor(168, 178, 190))
        p.drawRect(9, 2, 10, 24)
        p.fillRect(9, 2, 10, 3, QColor(30, 30, 30))
    elif isinstance(el, CoolingUnit):
        p.setBrush(QColor(64, 160, 200))
        p.drawRoundedRect(2, 8, 24, 12, 2, 2)
    else:
        p.setBrush(QColor(70, 140, 230, 160))
        p.drawRect(4, 4, 20, 20)
    p.end()
    return QIcon(pm)


class _PaletteList(QListWidget):
    """A list whose items drag out as :data:`ELEMENT_MIME` payloads."""

    def __init__(self, panel: "PalettePanel"):
        super().__init__(panel)
        self._panel = panel
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setIconSize(QSize(28, 28))

    def mimeTypes(self) -> list[str]:  # Qt override
        return [ELEMENT_MIME]

    def mimeData(self, items) -> QMimeData:  # Qt override
        mime = QMimeData()
        if items:
            mime.setData(ELEMENT_MIME, self._panel.mime_for(self.row(items[0])))
        return mime


class PalettePanel(QWidget):
    """Drag an entry onto the floor. "Row of" lays that many side by side in one drop."""

    #: the chosen entry changed (index into :data:`PALETTE_ENTRIES`)
    sig_entry_chosen = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.list = _PaletteList(self)
        for label, el in PALETTE_ENTRIES:
            QListWidgetItem(_icon(el), label, self.list)
        self.list.setCurrentRow(1)
        self.list.currentRowChanged.connect(self.sig_entry_chosen)
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
        hint = QLabel("Drag onto the floor plan.", self)
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list, 1)
        lay.addLayout(form)
        lay.addWidget(hint)

    def prototype(self, row: int) -> Element:
        """Entry ``row`` as it would be dropped (facing applied)."""
        el = PALETTE_ENTRIES[row][1]
        if hasattr(el, "facing"):
            el = dataclasses.replace(el, facing=self.facing.currentText())
        return el

    def mime_for(self, row: int) -> bytes:
        return element_to_mime(self.prototype(row), self.row_count.value())
