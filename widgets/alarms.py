"""Alarms: the running simulation's events with their causes, or a recording's alarms as an operator works them.

Two modes. Live (:meth:`AlarmsPanel.add_events`): the events and automatic actions of the running
simulation, newest first, each expanding into the chain of causes behind it. Board
(:meth:`AlarmsPanel.show_board`): a recording's alarms from :func:`dctwin.twin.sim.alarm_board.build_board`,
one line per cause ("CRAH-2 failed at 00:01:00: 20 racks affected"), under it one line per element
(its worst alarm; its other alarms under that), early warnings held back during a flood, the
shelved ones apart; Acknowledge and Shelve act on the selected alarm or cause. The panel never
changes the board: it says what was chosen and what the operator asked for.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QTreeWidgetItemIterator, QVBoxLayout, QWidget)

from dctwin.twin.model.words import hms
from dctwin.twin.sim.alarm_board import AlarmBoard, AlarmGroup, BoardAlarm

COLUMNS = ("Time", "Event", "Target", "Condition")
BOARD_COLUMNS = ("Time", "Alarm", "Target", "Condition", "Handled")
#: what each column holds (the header's tooltips)
COLUMN_TIPS = {"Time": "Time of the run (hh:mm:ss)", "Event": "What happened", "Alarm": "Severity and kind",
               "Target": "The element it is about (click: show it on the plan)",
               "Condition": "What was crossed, and why (hover for the whole text)",
               "Handled": "Acknowledged or shelved, by whom and when"}
SEVERITY_COLOURS = {"critical": "#c0392b", "major": "#d35400", "warning": "#b7950b"}
#: item data: ("group", key), ("alarm", index) or ("held", group key)
ROLE = Qt.UserRole + 1


class AlarmsPanel(QWidget):
    """Newest first. Live: events and their causes. Board: alarms grouped by cause, worked by the operator."""

    #: the user picked an event's target (an element id) to show on the plan (live mode)
    sig_target_chosen = Signal(str)
    #: the user picked an alarm (its index in the alarm list the board was built from)
    sig_alarm_chosen = Signal(int)
    #: the user picked a cause (a group's key)
    sig_group_chosen = Signal(str)
    #: the operator asked to act on alarms: (kind: acknowledge | shelve | unshelve, alarm keys, the element
    #: or cause picked)
    sig_action_requested = Signal(str, list, str)

    MAX_ROWS = 2000

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.board: Optional[AlarmBoard] = None
        self.tree = QTreeWidget(self)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setTextElideMode(Qt.ElideRight)
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self._set_columns(COLUMNS)
        self.ack_button = QPushButton("Acknowledge", self)
        self.ack_button.setToolTip("Acknowledge the selected alarm, or every alarm of the selected cause "
                                   "(recorded with your name and the time)")
        self.shelve_button = QPushButton("Shelve", self)
        self.shelve_button.setToolTip("Move the selected alarm (or cause) off the list until unshelved "
                                      "(recorded with your name and the time)")
        self._button_tips = {self.ack_button: self.ack_button.toolTip(), self.shelve_button: self.shelve_button.toolTip()}
        self.show_shelved = QCheckBox("Show shelved", self)
        self.show_shelved.setToolTip("List the shelved alarms too (Unshelve puts one back)")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.ack_button.clicked.connect(lambda: self._request("acknowledge"))
        self.shelve_button.clicked.connect(self._on_shelve_button_clicked)
        self.show_shelved.toggled.connect(lambda _: self.board is not None and self.show_board(self.board))
        self.actions_row = QWidget(self)
        row = QHBoxLayout(self.actions_row)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.ack_button)
        row.addWidget(self.shelve_button)
        row.addStretch(1)
        row.addWidget(self.show_shelved)
        self.actions_row.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.actions_row)
        lay.addWidget(self.tree)
        lay.addWidget(self.status)
        self.status.hide()
        self._actions_reason = ""
        self._update_buttons()

    def _set_columns(self, names: tuple[str, ...]) -> None:
        self.tree.setColumnCount(len(names))
        self.tree.setHeaderLabels(list(names))
        header = self.tree.headerItem()
        for c, name in enumerate(names):
            header.setToolTip(c, COLUMN_TIPS.get(name, name))

    def clear(self) -> None:
        self.tree.clear()
        self.board = None
        self.actions_row.hide()
        self.status.hide()
        self._set_columns(COLUMNS)

    # ---- live: events and their causes
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
        _tips(item)
        if details:
            item.setToolTip(1, ", ".join(f"{k} = {v}" for k, v in details.items()))
        item.setData(0, Qt.UserRole, ev.get("target", ""))
        return item

    def row_texts(self) -> list[list[str]]:
        """Top-level rows as text (newest first)."""
        n = self.tree.columnCount()
        return [[self.tree.topLevelItem(i).text(c) for c in range(n)] for i in range(self.tree.topLevelItemCount())]

    # ---- board: a recording's alarms by cause
    def show_board(self, board: AlarmBoard) -> None:
        """Show ``board`` (keeps the selection and what was expanded when the same lines are there)."""
        selected = self.selected_key()
        expanded = {self._key(it) for it in self._items() if it.isExpanded()}
        first = self.board is None
        self.board = board
        self.tree.clear()
        self._set_columns(BOARD_COLUMNS)
        self.actions_row.show()
        for g in board.groups:
            self.tree.addTopLevelItem(self._group_item(g))
        if board.shelved and self.show_shelved.isChecked():
            top = QTreeWidgetItem([hms(board.shelved[0].t_s), "shelved", "",
                                   f"{len(board.shelved)} shelved alarm(s)", ""])
            top.setData(0, ROLE, ("shelved", ""))
            for a in board.shelved:
                top.addChild(self._alarm_item(a))
            _tips(top)
            self.tree.addTopLevelItem(top)
        self.show_shelved.setText(f"Show shelved ({len(board.shelved)})")
        for it in self._items():
            key = self._key(it)
            if key in expanded or (first and key[0] == "group"):
                it.setExpanded(True)
            if key == selected:
                self.tree.setCurrentItem(it)
        for c in (0, 1, 2):
            self.tree.resizeColumnToContents(c)
        self._update_buttons()

    def _group_item(self, g: AlarmGroup) -> QTreeWidgetItem:
        worst = max((a for a in g.alarms), key=BoardAlarm._worst)
        root = g.root
        item = QTreeWidgetItem([hms(g.t_s), f"{len(g.alarms)} alarms", root.target if root is not None else "",
                                g.title, "" if g.unacknowledged else "all acknowledged"])
        item.setData(0, ROLE, ("group", g.key))
        item.setData(0, Qt.UserRole, root.target if root is not None else "")
        font = QFont(item.font(0))
        font.setBold(g.unacknowledged > 0)
        for c in range(len(BOARD_COLUMNS)):
            item.setFont(c, font)
        item.setForeground(1, QBrush(QColor(SEVERITY_COLOURS.get(worst.severity, "#555"))))
        for t in g.targets:
            head = self._alarm_item(t.head)
            for other in t.others:
                head.addChild(self._alarm_item(other))
            item.addChild(head)
        if g.suppressed:
            held = QTreeWidgetItem(["", "held back", f"{len(g.suppressed)} elements",
                                    f"early warnings only, held back during the flood of {g.title.split(':')[0]}", ""])
            held.setData(0, ROLE, ("held", g.key))
            for t in g.suppressed:
                for a in t.alarms:
                    held.addChild(self._alarm_item(a))
            _tips(held)
            item.addChild(held)
        _tips(item, f"{g.title}\n{g.summary()}")
        return item

    def _alarm_item(self, a: BoardAlarm) -> QTreeWidgetItem:
        handled = ""
        if a.shelved is not None:
            handled = f"shelved by {a.shelved.by}, {a.shelved.at}"
        elif a.acked is not None:
            handled = f"ack {a.acked.by}, {a.acked.at}"
        cond = a.message + (f" (cleared at {hms(a.cleared_s)})" if a.cleared_s is not None else "")
        item = QTreeWidgetItem([hms(a.t_s), f"{a.severity} {a.label}" + (" (held back)" if a.suppressed else ""),
                                a.target, cond, handled])
        item.setData(0, ROLE, ("alarm", a.index))
        item.setData(0, Qt.UserRole, a.target)
        item.setForeground(1, QBrush(QColor(SEVERITY_COLOURS.get(a.severity, "#555"))))
        if a.acked is None and a.shelved is None:
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(1, font)
        if not a.standing or a.suppressed:
            for c in (0, 2, 3):
                item.setForeground(c, QBrush(QColor("#888")))
        _tips(item)
        return item

    def _items(self) -> list[QTreeWidgetItem]:
        out = []
        it = QTreeWidgetItemIterator(self.tree)
        while it.value() is not None:
            out.append(it.value())
            it += 1
        return out

    @staticmethod
    def _key(item: Optional[QTreeWidgetItem]) -> tuple:
        if item is None:
            return ()
        key = item.data(0, ROLE)
        return tuple(key) if key else ()

    def selected_key(self) -> tuple:
        """("group", key), ("alarm", index) or () of the selected line."""
        return self._key(self.tree.currentItem()) if self.tree.selectedItems() else ()

    def select_alarm(self, index: int) -> bool:
        """Select (and show) the line of alarm ``index``, without emitting a choice. False if it is not listed."""
        for it in self._items():
            if self._key(it) == ("alarm", index):
                self.tree.blockSignals(True)
                parent = it.parent()
                while parent is not None:
                    parent.setExpanded(True)
                    parent = parent.parent()
                self.tree.setCurrentItem(it)
                self.tree.blockSignals(False)
                self.tree.scrollToItem(it)
                self._update_buttons()
                return True
        return False

    def item_for_alarm(self, index: int) -> Optional[QTreeWidgetItem]:
        return next((it for it in self._items() if self._key(it) == ("alarm", index)), None)

    def item_for_group(self, key: str) -> Optional[QTreeWidgetItem]:
        return next((it for it in self._items() if self._key(it) == ("group", key)), None)

    # ---- acting on alarms
    def set_actions_enabled(self, reason: str) -> None:
        """Acknowledge and Shelve are off while ``reason`` says why ("" turns them on)."""
        self._actions_reason = reason
        self._update_buttons()

    def _selection(self) -> tuple[list[str], str]:
        """(alarm keys, the element or cause picked) of the selected line."""
        board, key = self.board, self.selected_key()
        if board is None or not key:
            return [], ""
        if key[0] == "group":
            g = board.group(key[1])
            return (g.keys, g.root.target if g.root is not None else "") if g is not None else ([], "")
        if key[0] == "alarm":
            a = board.find(key[1])
            return ([a.key], a.target) if a is not None else ([], "")
        if key[0] == "held":
            g = board.group(key[1])
            return ([a.key for t in g.suppressed for a in t.alarms], g.root.target if g.root is not None else "") \
                if g is not None else ([], "")
        return [], ""

    def _selected_alarms(self) -> list[BoardAlarm]:
        keys = set(self._selection()[0])
        return [a for a in (self.board.alarms if self.board else []) if a.key in keys]

    def _update_buttons(self) -> None:
        alarms = self._selected_alarms()
        off = self._actions_reason
        self.ack_button.setEnabled(not off and any(a.acked is None for a in alarms))
        shelved = bool(alarms) and all(a.shelved is not None for a in alarms)
        self.shelve_button.setText("Unshelve" if shelved else "Shelve")
        self.shelve_button.setEnabled(not off and bool(alarms))
        for b, tip in self._button_tips.items():
            b.setToolTip(off or tip)

    def _on_shelve_button_clicked(self) -> None:
        self._request("unshelve" if self.shelve_button.text() == "Unshelve" else "shelve")

    def _request(self, kind: str) -> None:
        keys, target = self._selection()
        if kind == "acknowledge":
            acked = {a.key for a in self._selected_alarms() if a.acked is not None}
            keys = [k for k in keys if k not in acked]
        if keys:
            self.sig_action_requested.emit(kind, keys, target)

    def show_message(self, text: str) -> None:
        """A line under the list (why an action was refused); "" hides it."""
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # ---- choosing
    def _on_tree_item_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        key = self._key(item)
        if key and key[0] == "alarm":
            self.sig_alarm_chosen.emit(int(key[1]))
            return
        if key and key[0] == "group":
            self.sig_group_chosen.emit(str(key[1]))
            return
        target = item.data(0, Qt.UserRole)
        if target and self.board is None:
            self.sig_target_chosen.emit(str(target))


def _tips(item: QTreeWidgetItem, whole: Optional[str] = None) -> None:
    """Every cell says all it holds when hovered (narrow columns cut the text off)."""
    for c in range(item.columnCount()):
        text = item.text(c)
        if text:
            item.setToolTip(c, whole if (whole and c == 3) else text)
