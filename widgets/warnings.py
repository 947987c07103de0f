"""What the engine could not honour (a rack that breathes over its top, a tile under a rack, a hall with
nowhere for its heat to go), listed where a person sees it, each line naming its element."""

from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: a warning starts with the element it is about: "R-A05: rack front ..."
_SUBJECT = re.compile(r"^([^\s:]+): ")


def subject(warning: str) -> str:
    """The element a warning names first ("" when it names none)."""
    m = _SUBJECT.match(warning)
    return m.group(1) if m else ""


class WarningsPanel(QWidget):
    """The engine's warnings for the layout or second on show; click one to select its element."""

    #: the user picked a warning about element ``id``
    sig_element_chosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.title = QLabel("The engine honoured every element as drawn.", self)
        self.title.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.itemClicked.connect(self._on_list_item_clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.list, 1)
        self.warnings: list[str] = []

    def set_warnings(self, warnings: list[str]) -> None:
        if list(warnings) == self.warnings:
            return
        self.warnings = list(warnings)
        self.list.clear()
        for w in self.warnings:
            item = QListWidgetItem("⚠ " + w)
            item.setToolTip(w)
            item.setData(Qt.UserRole, subject(w))
            self.list.addItem(item)
        n = len(self.warnings)
        self.title.setText("The engine honoured every element as drawn." if not n else
                           f"{n} thing{'s' if n != 1 else ''} the engine could not take as drawn "
                           f"(click one to show its element):")

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        ident = item.data(Qt.UserRole)
        if ident:
            self.sig_element_chosen.emit(str(ident))
