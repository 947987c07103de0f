"""The power tree: sources down to PDUs, with load, capacity and headroom (now and after losing a partner).

It is also the power room: power equipment dragged from the palette onto a node draws from that node
(onto the empty space below the tree: from its usual source), and a feed cable dragged from a rack on
the floor plan onto a node plugs the rack into it. Both leave as intent signals; the window edits.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from dctwin.twin.model.layout import PowerNode, Site
from dctwin.twin.model.words import is_negative, signed
from dctwin.twin.sim.results import HallSummary
from dctwin.widgets.floor_plan import ELEMENT_MIME, element_from_mime
from dctwin.widgets.plan_tools import FEED_MIME, loads_from_mime

COLUMNS = ("Node", "Kind", "Load kW", "Capacity kW", "Headroom kW", "N-1 kW", "Racks")


def _kw(v) -> str:
    """kW without a sign, but never "-0" (a rounding of a small negative is zero)."""
    return "—" if v is None else signed(v / 1e3).lstrip("+")


class _PowerTree(QTreeWidget):
    """The tree; takes palette power equipment and feed cables dropped onto its nodes."""

    def __init__(self, panel: "PowerTreePanel"):
        super().__init__(panel)
        self._panel = panel
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)

    def _node_at(self, event) -> str:
        item = self.itemAt(event.position().toPoint())
        return item.data(0, Qt.UserRole) if item is not None else ""

    def dragEnterEvent(self, event) -> None:  # Qt override
        if self._panel.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # Qt override
        mime = event.mimeData()
        node = self._node_at(event)
        if not self._panel.accepts(mime) or (mime.hasFormat(FEED_MIME) and not node):
            event.ignore()  # a cable must end on a node
            return
        item = self.itemAt(event.position().toPoint())
        if item is not None:
            self.setCurrentItem(item)
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # Qt override
        if self._panel.drop(event.mimeData(), self._node_at(event)):
            event.acceptProposedAction()
        else:
            event.ignore()


class PowerTreePanel(QWidget):
    """The site's power graph as a tree; clicking a node selects every rack it feeds (directly or below)."""

    #: select these racks on the floor plan (those fed through the clicked node)
    sig_racks_chosen = Signal(list)
    #: the node ``id`` was clicked (show it in the inspector)
    sig_node_chosen = Signal(str)
    #: add the power node ``prototype`` (empty id) drawing from node ``parent`` ("" : its usual source)
    sig_node_drop_requested = Signal(object, str)
    #: plug the loads ``ids`` into node ``node_id`` (a feed cable dropped on it)
    sig_feed_drop_requested = Signal(list, str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.site: Optional[Site] = None
        self.summary: Optional[HallSummary] = None
        self.tree = _PowerTree(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.items: dict[str, QTreeWidgetItem] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree)

    def set_site(self, site: Optional[Site]) -> None:
        self.site = site
        self.sync()

    def set_summary(self, summary: Optional[HallSummary]) -> None:
        self.summary = summary
        self._fill_numbers()

    def downstream_racks(self, node_id: str) -> list[str]:
        """Ids of racks fed by ``node_id`` or by any node below it."""
        if self.site is None:
            return []
        below = {node_id}
        changed = True
        while changed:
            changed = False
            for n in self.site.power_nodes:
                if n.id not in below and any(i in below for i in n.inputs):
                    below.add(n.id)
                    changed = True
        return [r.id for h in self.site.halls for r in h.racks if any(f in below for f in r.feeds)]

    def sync(self) -> None:
        """Rebuild the tree from the site's power graph (keeps expansion of nodes that stay)."""
        expanded = {k for k, it in self.items.items() if it.isExpanded()}
        known = set(self.items)
        self.tree.clear()
        self.items.clear()
        if self.site is None:
            return
        nodes = {n.id: n for n in self.site.power_nodes}
        children: dict[str, list[str]] = {k: [] for k in nodes}
        roots = []
        for n in self.site.power_nodes:
            parents = [i for i in n.inputs if i in nodes]
            if parents:
                children[parents[0]].append(n.id)  # shown under its first input
            else:
                roots.append(n.id)
        racks_by_feed: dict[str, int] = {}
        kw_by_feed: dict[str, float] = {}
        for h in self.site.halls:
            for r in h.racks:
                for f in r.feeds:
                    racks_by_feed[f] = racks_by_feed.get(f, 0) + 1
                    kw_by_feed[f] = kw_by_feed.get(f, 0.0) + r.it_kw

        def add(parent, ident: str, seen: set) -> None:
            n = nodes[ident]
            item = QTreeWidgetItem([ident, n.kind, "—", f"{n.capacity_kw:g}" if n.capacity_kw else "—", "—", "—",
                                    str(racks_by_feed.get(ident, "")) or ""])
            others = [i for i in n.inputs[1:] if i in nodes]
            tip = f"{ident} ({n.kind})"
            if others:
                tip += "; also fed from " + ", ".join(others)
            if ident in kw_by_feed:
                tip += f"; feeds {racks_by_feed[ident]} racks, {kw_by_feed[ident]:.0f} kW design IT"
            item.setToolTip(0, tip)
            item.setData(0, Qt.UserRole, ident)
            for c in range(2, len(COLUMNS)):
                item.setTextAlignment(c, Qt.AlignRight | Qt.AlignVCenter)
            (parent.addChild if isinstance(parent, QTreeWidgetItem) else self.tree.addTopLevelItem)(item)
            self.items[ident] = item
            if ident in seen:  # a cycle is refused by validation; guard anyway
                return
            for child in children[ident]:
                add(item, child, seen | {ident})

        for r in roots:
            add(self.tree, r, set())
        for k, it in self.items.items():
            it.setExpanded(k in expanded or k not in known)  # a new node shows what is below it
        for c in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(c)
        self._fill_numbers()

    def _fill_numbers(self) -> None:
        nodes = self.summary.power_nodes if self.summary is not None else {}
        for ident, item in self.items.items():
            d = nodes.get(ident)
            if d is None:
                for c in (2, 4, 5):
                    item.setText(c, "—")
                continue
            item.setText(2, _kw(d.load_w))
            item.setText(4, _kw(d.headroom_w))
            item.setText(5, _kw(d.headroom_n1_w))
            n1 = d.headroom_n1_w
            # red (or yellow after losing a partner) only where the figure shown is below zero
            colour = Qt.red if (d.headroom_w is not None and is_negative(d.headroom_w / 1e3)) else \
                (Qt.darkYellow if n1 is not None and is_negative(n1 / 1e3) else None)
            for c in (4, 5):
                item.setForeground(c, colour if colour is not None else self.palette().text())

    def _on_tree_item_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        ident = item.data(0, Qt.UserRole)
        if ident:
            self.sig_racks_chosen.emit(self.downstream_racks(ident))
            self.sig_node_chosen.emit(ident)

    # ---- the power room: drops
    def accepts(self, mime) -> bool:
        """Whether ``mime`` is something the power room takes: power equipment or a feed cable."""
        if mime.hasFormat(FEED_MIME):
            return True
        if mime.hasFormat(ELEMENT_MIME):
            try:
                return isinstance(element_from_mime(mime.data(ELEMENT_MIME).data())[0], PowerNode)
            except (ValueError, KeyError, TypeError):
                return False
        return False

    def drop(self, mime, node_id: str) -> bool:
        """Take a drop on node ``node_id`` ("" : below the tree): ask for the edit; False if it is not one."""
        loads = loads_from_mime(mime)
        if loads:
            if not node_id:
                return False
            self.sig_feed_drop_requested.emit(loads, node_id)
            return True
        if self.accepts(mime):
            proto, _count = element_from_mime(mime.data(ELEMENT_MIME).data())
            self.sig_node_drop_requested.emit(proto, node_id)
            return True
        return False
