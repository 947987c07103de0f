"""Building a hall in the window: the palette's drawn entries and feed cable, the power room, power nodes.

:class:`BuildPresenter` turns the intent of the palette, the floor plan's tools and the Power panel
into :mod:`dctwin.twin.model.commands` edits, each one undo step through the window's
:meth:`~dctwin.app.window.MainWindow.execute` (so a refused one changes nothing and says why):

* a containment zone or a wall drawn as a rectangle (:class:`~dctwin.widgets.plan_tools.RectTool`);
* a feed cable from racks to a power node, ended on a node standing on the floor or dropped on one in
  the Power panel (:func:`~dctwin.twin.model.power_chain.connect_feed`);
* power equipment dropped on the Power panel: in the power room, drawing from the node it was dropped
  on (:func:`~dctwin.twin.model.power_chain.add_power_nodes`); dropped on the floor it goes through the
  window's drop like any element (:meth:`dctwin.app.document.Document.place_command`);
* a node clicked in the Power panel is shown (and edited) in the inspector.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable, Optional

from PySide6.QtCore import QObject

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.commands import AddElement, Command, IdAllocator
from dctwin.twin.model.layout import Element, PowerNode
from dctwin.twin.model.power_chain import add_power_nodes, connect_feed
from dctwin.widgets.palette import PALETTE_ENTRIES
from dctwin.widgets.plan_tools import CableTool, RectTool

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow


class BuildPresenter(QObject):
    """See the module docstring."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.w = window
        #: the power-room node shown in the inspector (clicked in the Power panel), None: the selection
        self.node_shown: Optional[str] = None
        self._hint = ""  # the armed tool's hint on the status bar
        p, v, t = window.palette_panel, window.view, window.power_tree
        for signal, slot in ((p.sig_draw_chosen, self._on_palette_draw_chosen),
                             (p.sig_cable_chosen, self._on_palette_cable_chosen),
                             (v.sig_tool_changed, self._on_view_tool_changed),
                             (v.sig_rect_drawn, self._on_view_rect_drawn),
                             (v.sig_feed_requested, self.connect_feed),
                             (t.sig_feed_drop_requested, self.connect_feed),
                             (t.sig_node_drop_requested, self._on_power_tree_node_drop_requested),
                             (t.sig_node_chosen, self._on_power_tree_node_chosen),
                             (window.scene.selectionChanged, self._on_scene_selection_changed),
                             (window.doc.sig_site_changed, self._on_doc_site_changed),
                             (window.doc.sig_site_replaced, self._on_scene_selection_changed),
                             (window.inspector.sig_property_edited, self._on_inspector_property_edited)):
            signal.connect(slot)

    def _run(self, build: Callable[[], Command], what: str) -> bool:
        """Build an edit and run it as one undo step; a refusal (by the builder or the model) says why."""
        try:
            cmd = build()
        except LayoutError as exc:
            self.w.show_status(f"Refused {what}: " + "; ".join(str(i) for i in exc.issues) if exc.issues
                               else f"Refused {what}: {exc}")
            return False
        return self.w.execute(cmd, what)

    # ---- drawn elements
    def _on_palette_draw_chosen(self, prototype: Element) -> None:
        label = next((lab for lab, el in PALETTE_ENTRIES if el == dataclasses.replace(prototype, id="")), "")
        self.w.view.set_tool(RectTool(prototype, label.replace(" (draw)", "").lower()))
        self.w.view.setFocus()

    def _on_palette_cable_chosen(self) -> None:
        self.w.view.set_tool(CableTool())
        self.w.view.setFocus()

    def _on_view_tool_changed(self, hint: str) -> None:
        if hint:
            self.w.show_status(hint, 0)
            self._hint = hint
            return
        if self.w.statusBar().currentMessage() == self._hint:
            self.w.statusBar().clearMessage()  # the hint goes; what the tool's last use said stays
        self.w.palette_panel.hint.setText("Drag onto the floor plan.")

    def _on_view_rect_drawn(self, element: Element) -> None:
        placed = dataclasses.replace(element, id=IdAllocator(self.w.doc.site.ids()).for_element(element))
        if self._run(lambda: AddElement(placed, self.w.scene.hall.id), "draw"):
            self.w.scene.select_ids([placed.id])

    # ---- power
    def connect_feed(self, loads: list, node_id: str) -> bool:
        """Plug ``loads`` into power node ``node_id`` (one undo step)."""
        if self._run(lambda: connect_feed(self.w.doc.site, loads, node_id), "feed"):
            self.w.scene.select_ids(loads)
            return True
        return False

    def _on_power_tree_node_drop_requested(self, prototype: PowerNode, parent: str) -> None:
        if self._run(lambda: add_power_nodes(self.w.doc.site, prototype, (None,), None, parent or None),
                     "power equipment"):
            self.show_node(self.w.doc.site.power_nodes[-1].id)

    def show_node(self, node_id: str) -> None:
        """Show power node ``node_id`` in the inspector (and select it in the Power panel)."""
        self.node_shown = node_id
        self.w.inspector.set_context(self.w.doc.site, [node_id], self.w._hall_id())
        item = self.w.power_tree.items.get(node_id)
        if item is not None:
            self.w.power_tree.tree.setCurrentItem(item)
        self.w.inspector_dock.raise_()

    def _on_power_tree_node_chosen(self, node_id: str) -> None:
        self.show_node(node_id)

    def _on_scene_selection_changed(self) -> None:
        self.node_shown = None

    def _on_doc_site_changed(self, _command) -> None:
        if self.node_shown is not None and not self.w.scene.selected_ids():
            self.w.inspector.set_context(self.w.doc.site, [self.node_shown], self.w._hall_id())

    def _on_inspector_property_edited(self, ids: list, field: str, value) -> None:
        if field == "id" and ids == [self.node_shown] and isinstance(value, str) and value in self.w.doc.site.ids():
            self.show_node(value)
