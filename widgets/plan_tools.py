"""Tools of the floor plan that take the left mouse button instead of select-and-drag.

A tool is armed with :meth:`dctwin.widgets.floor_plan.FloorPlanView.set_tool` (the palette's drawn
entries and feed cable, the section view's "pick a line"); Esc, or arming another, ends it. Like the
rest of the view, a tool never writes the model: it shows a preview while the mouse moves and emits
one intent signal of the view on release.

* :class:`RectTool`: drag a rectangle snapped to the floor tiles; ``sig_rect_drawn(element)`` with the
  prototype sized to it (a containment zone, a wall). Red while the model's placement rule refuses it.
* :class:`CableTool`: drag from a rack or cooling unit (the selected ones, when it is selected) to a power
  node on the floor: ``sig_feed_requested(ids, node_id)``. Dragged out of the plan, the cable becomes a
  drag and drop (:data:`FEED_MIME`) that the Power panel takes.
* :class:`LineTool`: drag a straight line; ``sig_line_drawn(x0, y0, x1, y1)`` (the vertical section).
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Iterable, Optional

from PySide6.QtCore import QLineF, QMimeData, QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsLineItem

from dctwin.twin.model.layout import Element

if TYPE_CHECKING:
    from dctwin.widgets.floor_plan import ElementItem, FloorPlanView

#: mime type of a feed cable dragged out of the floor plan: JSON {"loads": [ids]}
FEED_MIME = "application/x-dctwin-feed"
#: a section line shorter than this is taken for a click, not a line (m)
MIN_LINE_M = 0.5


def feed_mime(ids: Iterable[str]) -> QMimeData:
    mime = QMimeData()
    mime.setData(FEED_MIME, json.dumps({"loads": list(ids)}).encode("utf-8"))
    return mime


def loads_from_mime(mime: QMimeData) -> list[str]:
    """The load ids a :data:`FEED_MIME` payload carries (empty if it is not one)."""
    if not mime.hasFormat(FEED_MIME):
        return []
    try:
        loads = json.loads(bytes(mime.data(FEED_MIME).data()).decode("utf-8")).get("loads", [])
    except (ValueError, AttributeError):
        return []
    return [str(i) for i in loads if isinstance(i, str)]


class PlanTool(ABC):
    """Base: ``press`` returns whether the tool took the press; ``move``/``release`` follow it."""

    #: what the status bar says while the tool is armed
    hint = ""
    #: the view drops the tool after one use
    one_shot = True
    cursor = Qt.CrossCursor

    @abstractmethod
    def press(self, view: "FloorPlanView", x_m: float, y_m: float, item: Optional["ElementItem"]) -> bool:
        """Begin a use at (``x_m``, ``y_m``) on ``item`` (None: the floor); whether the tool took the press."""

    def move(self, view: "FloorPlanView", x_m: float, y_m: float, inside: bool) -> None:
        pass

    def release(self, view: "FloorPlanView", x_m: float, y_m: float) -> None:
        pass

    def cancel(self, view: "FloorPlanView") -> None:
        """Remove the preview (Esc, another tool, or the end of a use)."""


def _line_item(colour: QColor, width: float, dash: bool = False) -> QGraphicsLineItem:
    from dctwin.widgets.floor_plan import Z_GHOST

    item = QGraphicsLineItem()
    pen = QPen(colour, width, Qt.DashLine if dash else Qt.SolidLine, Qt.RoundCap)
    pen.setCosmetic(True)
    item.setPen(pen)
    item.setZValue(Z_GHOST + 1)
    item.setAcceptedMouseButtons(Qt.NoButton)
    return item


class RectTool(PlanTool):
    """Drag a rectangle on the tile grid; the prototype sized to it is asked for on release."""

    def __init__(self, prototype: Element, label: str = ""):
        self.prototype = prototype
        what = label or type(prototype).__name__.lower()
        self.hint = f"Drag a rectangle on the floor plan for the {what} (Esc cancels)"
        self._anchor: Optional[tuple[float, float]] = None
        self.element: Optional[Element] = None
        self.problem = ""

    def press(self, view, x_m, y_m, item) -> bool:
        self._anchor = (view.snap_to_grid(x_m), view.snap_to_grid(y_m))
        self.move(view, x_m, y_m, True)
        return True

    def move(self, view, x_m, y_m, inside) -> None:
        if self._anchor is None:
            return
        ax, ay = self._anchor
        bx, by = view.snap_to_grid(x_m), view.snap_to_grid(y_m)
        tile = view.floor_scene().hall.tile_m
        if bx == ax:
            bx = ax + tile
        if by == ay:
            by = ay + tile
        x0, x1 = sorted((ax, bx))
        y0, y1 = sorted((ay, by))
        self.element = dataclasses.replace(self.prototype, x_m=x0, y_m=y0, width_m=round(x1 - x0, 9),
                                           depth_m=round(y1 - y0, 9))
        self.problem = view.floor_scene().placement_problem([self.element])
        view.show_ghost([self.element], self.problem)
        view.sig_drag_hint.emit(self.problem)

    def release(self, view, x_m, y_m) -> None:
        self.move(view, x_m, y_m, True)
        element, problem = self.element, self.problem
        self.cancel(view)
        if element is None:
            return
        if problem:
            view.sig_refused.emit(problem)
        else:
            view.sig_rect_drawn.emit(element)

    def cancel(self, view) -> None:
        if self._anchor is None:
            return  # nothing drawn: nothing to take back (and the status bar keeps what it says)
        self._anchor = None
        self.element = None
        view.show_ghost([], "")
        view.sig_drag_hint.emit("")


class CableTool(PlanTool):
    """Drag a feed cable from loads to a power node (see the module docstring)."""

    hint = "Feed cable: drag from a rack to a PDU on the floor plan or in the Power panel (Esc ends)"
    one_shot = False

    def __init__(self) -> None:
        self.loads: list[str] = []
        self._line: Optional[QGraphicsLineItem] = None
        self._start = QPointF()
        self._hot = None

    def press(self, view, x_m, y_m, item) -> bool:
        from dctwin.widgets.floor_plan import to_scene

        if item is None or getattr(item.element, "feeds", None) is None:
            view.sig_refused.emit("start the feed cable on a rack or a cooling unit")
            return True
        scene = view.floor_scene()
        selected = scene.selected_ids()
        if item.isSelected() and len(selected) > 1:
            self.loads = [i for i in selected if getattr(scene.items_by_id[i].element, "feeds", None) is not None]
        else:
            self.loads = [item.element_id]
        self._start = item.mapToScene(item.local_rect().center())
        self._line = _line_item(QColor(230, 160, 20), 3)
        self._line.setLine(QLineF(self._start, to_scene(x_m, y_m)))
        scene.addItem(self._line)
        view.sig_tool_changed.emit(f"Feed {self._what()}: release on a PDU (or drag out to the Power panel)")
        return True

    def _what(self) -> str:
        return self.loads[0] if len(self.loads) == 1 else f"{len(self.loads)} racks"

    def move(self, view, x_m, y_m, inside) -> None:
        from dctwin.widgets.floor_plan import PowerNodeItem, to_scene

        if self._line is None:
            return
        if not inside:  # out of the plan: carry the cable on as a drag the Power panel takes
            loads = self.loads
            self.cancel(view)
            view.start_feed_drag(loads)
            return
        self._line.setLine(QLineF(self._start, to_scene(x_m, y_m)))
        hot = view.power_node_at(x_m, y_m)
        if hot is not self._hot:
            if isinstance(self._hot, PowerNodeItem):
                self._hot.set_hot(False)
            if hot is not None:
                hot.set_hot(True)
            self._hot = hot

    def release(self, view, x_m, y_m) -> None:
        if self._line is None:
            return
        node = view.power_node_at(x_m, y_m)
        loads = self.loads
        self.cancel(view)
        if node is None:
            view.sig_refused.emit("the feed cable must end on a power node (a PDU on the floor, or one in the "
                                  "Power panel)")
        else:
            view.sig_feed_requested.emit(loads, node.element_id)

    def cancel(self, view) -> None:
        if self._line is None:
            return
        view.floor_scene().removeItem(self._line)
        self._line = None
        if self._hot is not None:
            self._hot.set_hot(False)
            self._hot = None
        self.loads = []
        view.sig_tool_changed.emit(self.hint)  # armed still: ready for the next cable


class LineTool(PlanTool):
    """Drag a straight line on the plan (not snapped: a section may cut at any angle)."""

    hint = "Drag a line across the floor plan where the vertical section should cut (Esc cancels)"

    def __init__(self) -> None:
        self._a: Optional[tuple[float, float]] = None
        self._line: Optional[QGraphicsLineItem] = None

    def press(self, view, x_m, y_m, item) -> bool:
        from dctwin.widgets.floor_plan import to_scene

        self._a = (x_m, y_m)
        self._line = _line_item(QColor(30, 100, 220), 2.5, dash=True)
        self._line.setLine(QLineF(to_scene(x_m, y_m), to_scene(x_m, y_m)))
        view.floor_scene().addItem(self._line)
        return True

    def move(self, view, x_m, y_m, inside) -> None:
        from dctwin.widgets.floor_plan import to_scene

        if self._line is not None:
            self._line.setLine(QLineF(to_scene(*self._a), to_scene(x_m, y_m)))

    def release(self, view, x_m, y_m) -> None:
        a = self._a
        self.cancel(view)
        if a is None:
            return
        if ((x_m - a[0]) ** 2 + (y_m - a[1]) ** 2) ** 0.5 < MIN_LINE_M:
            view.sig_refused.emit(f"drag a line at least {MIN_LINE_M:g} m long for the section")
            return
        view.sig_line_drawn.emit(a[0], a[1], x_m, y_m)

    def cancel(self, view) -> None:
        if self._line is not None:
            view.floor_scene().removeItem(self._line)
            self._line = None
        self._a = None
