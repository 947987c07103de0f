"""Alarms and automatic actions of the running simulation, each with the chain of causes behind it."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from dctwin.twin.model.words import hms

COLUMNS = ("Time", "Event", "Target", "Condition")




class AlarmsPanel(QWidget):
    """Newest first. Expanding an event shows what caused it, back to the root."""

    #: the user picked an event's target (an element id) to show on the plan
    sig_target_chosen = Signal(str)

    MAX_ROWS = 2000

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree)

    def clear(self) -> None:
        self.tree.clear()

    def add_events(self, events: list[dict], chains: Optional[dict] = None) -> None:
        """Add events (dicts of twin.events.Event.to_dict); ``chains[seq]`` = its causes, nearest first."""
        chains = chains or {}
        for ev in events:
            item = self._item(ev)
            for cause in chains.get(ev["seq"], []):
                child = self._item(cause)
                child.setText(1, "caused by " + cause["kind"])
                item.addChild(child)
            self.tree.insertTopLevelItem(0, item)
        while self.tree.topLevelItemCount() > self.MAX_ROWS:
            self.tree.takeTopLevelItem(self.tree.topLevelItemCount() - 1)
        for c in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(c)

    def _item(self, ev: dict) -> QTreeWidgetItem:
        item = QTreeWidgetItem([hms(float(ev.get("t_s", 0.0))), str(ev.get("kind", "")),
                                str(ev.get("target", "")), str(ev.get("condition", ""))])
        details = ev.get("details") or {}
        if details:
            item.setToolTip(1, ", ".join(f"{k} = {v}" for k, v in details.items()))
        item.setData(0, Qt.UserRole, ev.get("target", ""))
        return item

    def row_texts(self) -> list[list[str]]:
        """Top-level rows as text (newest first)."""
        return [[self.tree.topLevelItem(i).text(c) for c in range(len(COLUMNS))]
                for i in range(self.tree.topLevelItemCount())]

    def _on_tree_item_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        target = item.data(0, Qt.UserRole)
        if target:
            self.sig_target_chosen.emit(str(target))
