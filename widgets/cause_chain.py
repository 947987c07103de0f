"""The cause chain of one alarm: the alarm, then each cause back to the injected root, each step clickable."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from dctwin.widgets.timeline import fmt_time


class CauseChainPanel(QWidget):
    """Shows ``alarm <- automatic actions <- injected event`` as a list, nearest cause first.

    Steps are plain dicts ``{t_s, kind, target, text}`` (``text`` optional):
    the owner builds them from the recorded events; this panel only shows them.
    """

    #: the user picked a step: go to its time (s) and show its element (id, may be "")
    sig_step_chosen = Signal(float, str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.title = QLabel("Click an alarm on the timeline to see why it fired.", self)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.itemClicked.connect(self._on_list_item_clicked)
        self.list.itemActivated.connect(self._on_list_item_clicked)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.list, 1)
        self.steps: list[dict] = []

    def clear(self) -> None:
        self.steps = []
        self.list.clear()
        self.title.setText("Click an alarm on the timeline to see why it fired.")

    def show_chain(self, headline: str, steps: list[dict]) -> None:
        """``headline``: the alarm's explanation (one sentence); ``steps``: the alarm then its causes."""
        self.steps = list(steps)
        self.title.setText(headline)
        self.list.clear()
        for k, s in enumerate(self.steps):
            arrow = "" if k == 0 else "← "
            what = s.get("text") or f"{str(s.get('kind', '')).replace('_', ' ')} {s.get('target', '')}".strip()
            item = QListWidgetItem(f"{arrow}{fmt_time(float(s.get('t_s', 0.0)))}  {what}")
            item.setData(Qt.UserRole, k)
            item.setToolTip("Go to this moment and show the element")
            self.list.addItem(item)

    def step_texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        s = self.steps[int(item.data(Qt.UserRole))]
        self.sig_step_chosen.emit(float(s.get("t_s", 0.0)), str(s.get("target", "")))
