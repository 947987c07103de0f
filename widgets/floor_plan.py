"""The floor plan of one hall: a QGraphicsScene of the layout and the view that edits it.

The scene renders a :class:`dctwin.twin.model.layout.Site` read-only and rebuilds from it
at any time (:meth:`FloorPlanScene.sync_all`); :meth:`FloorPlanScene.sync`
updates only the items whose element changed. The view turns mouse and key
input into intent signals (``sig_move_requested``, ``sig_drop_requested``,
...); it never writes the model. During a drag only the items move; on
release one signal asks for the edit.

Scene coordinates: ``PX`` scene units per metre, and the scene y axis is the
hall's y axis flipped (scene y = -y_m * PX), so north points up on screen and
text renders upright.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Iterable, Optional

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath,
                           QPainterPathStroker, QPalette, QPen, QPixmap, QTransform)
from PySide6.QtWidgets import (QApplication, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene,
                               QGraphicsView, QLabel, QToolTip)

from dctwin.twin.model.commands import plan_row
from dctwin.twin.model.layout import (ELEMENT_TYPES, Containment, CoolingUnit, Element, Hall, Obstruction, PowerNode,
                                     Rack, Site, Tile)
from dctwin.twin.model.power_chain import default_feeds
from dctwin.twin.model.validate import FloorIndex, footprint_text
from dctwin.twin.model.words import is_negative, signed
from dctwin.twin.sim import capacity
from dctwin.twin.sim.results import HallSummary, Headroom, RackResult
from dctwin.widgets.colormaps import UNKNOWN_COLOUR, ColorScale, state_colour

#: scene units per metre
PX = 50.0
#: mime type of a palette entry being dragged: JSON {"collection", "fields", "count"}
ELEMENT_MIME = "application/x-dctwin-element"
#: metrics a rack can be coloured by
METRICS = ("inlet_c", "power_w", "feed_util", "state")
METRIC_LABELS = {"inlet_c": "Inlet temperature", "power_w": "IT power", "feed_util": "Feed utilization",
                 "state": "ASHRAE state"}
#: engine rack states that override the ASHRAE colour
PROTECTION_STATES = ("throttled", "critical", "shutdown", "unpowered")
_EPS = 1e-6

Z_FLOOR, Z_HEAT, Z_TILE, Z_CONTAIN, Z_GRILLE, Z_SOLID, Z_GHOST = 0, 1, 2, 4, 5, 6, 10


def to_scene(x_m: float, y_m: float) -> QPointF:
    return QPointF(x_m * PX, -y_m * PX)


def to_hall(p: QPointF) -> tuple[float, float]:
    """Hall coordinates (m) of a scene point."""
    return p.x() / PX, -p.y() / PX


def footprint_rect(fp: tuple[float, float, float, float]) -> QRectF:
    x0, y0, x1, y1 = fp
    return QRectF(x0 * PX, -y1 * PX, (x1 - x0) * PX, (y1 - y0) * PX)


def element_from_mime(data: bytes) -> tuple[Element, int]:
    """Decode a palette drag payload into (prototype element with an empty id, row count)."""
    spec = json.loads(bytes(data).decode("utf-8"))
    cls = ELEMENT_TYPES[spec["collection"]]
    fields = dict(spec.get("fields", {}))
    for k, v in fields.items():  # lists in JSON are the element's tuples (feeds, assumed)
        if isinstance(v, list):
            fields[k] = tuple(v)
    return cls(id="", **fields), max(1, int(spec.get("count", 1)))


def element_to_mime(el: Element, count: int = 1) -> bytes:
    fields = {f.name: getattr(el, f.name) for f in dataclasses.fields(el) if f.name != "id"}
    fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
    return json.dumps({"collection": el.COLLECTION, "fields": fields, "count": count}).encode("utf-8")


def _readings(pairs) -> list[str]:
    """``(value, format)`` pairs formatted, those whose value is known (not None)."""
    return [fmt.format(v) for v, fmt in pairs if v is not None]


def _kw(w: Optional[float]) -> Optional[float]:
    return None if w is None else w / 1e3


# --------------------------------------------------------------------------- items


class HallItem(QGraphicsItem):
    """The hall floor: outline, tile grid and compass."""

    def __init__(self, hall: Hall):
        super().__init__()
        self.setZValue(Z_FLOOR)
        self.hall = hall

    def set_hall(self, hall: Hall) -> None:
        """Show ``hall`` (every edit makes a new Hall value; the floor is redrawn only if it looks different:
        a redraw of the floor is a redraw of every item on it)."""
        old, self.hall = self.hall, hall
        if (old.width_m, old.depth_m, old.tile_m) != (hall.width_m, hall.depth_m, hall.tile_m):
            self.prepareGeometryChange()
            self.update()

    def rect(self) -> QRectF:
        return footprint_rect((0.0, 0.0, self.hall.width_m, self.hall.depth_m))

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-4, -4, 80, 4)

    def _compass(self, painter: QPainter, colour: QColor, lod: float) -> None:
        """A north arrow just east of the hall's north-east corner (north is up on screen)."""
        r = self.rect()
        size = 28.0 / max(lod, 1e-3) if lod < 1 else 28.0
        size = min(size, 70.0)
        x, y = r.right() + size * 0.6, r.top() + size * 0.1
        path = QPainterPath()
        path.moveTo(x, y)
        path.lineTo(x - size * 0.25, y + size * 0.7)
        path.lineTo(x, y + size * 0.55)
        path.lineTo(x + size * 0.25, y + size * 0.7)
        path.closeSubpath()
        painter.setPen(Qt.NoPen)
        painter.setBrush(colour)
        painter.drawPath(path)
        font = QFont(QApplication.font())
        font.setPixelSize(max(1, int(size * 0.4)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(QRectF(x - size / 2, y + size * 0.72, size, size * 0.5), Qt.AlignCenter, "N")

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = QApplication.palette()
        dark = pal.color(QPalette.Window).lightness() < 128
        floor = QColor(52, 56, 62) if dark else QColor(246, 247, 249)
        grid = QColor(70, 75, 84) if dark else QColor(222, 225, 230)
        outline = QColor(200, 205, 212) if dark else QColor(60, 64, 72)
        r = self.rect()
        aa = painter.testRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.Antialiasing, False)  # axis-aligned lines: crisp and much cheaper
        painter.fillRect(r, floor)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        step = self.hall.tile_m * PX
        if step * lod >= 4:
            pen = QPen(grid, 0)
            painter.setPen(pen)
            exposed = option.exposedRect.intersected(r)
            lines = []
            k0 = max(0, int(math.floor((exposed.left() - r.left()) / step)))
            k1 = int(math.ceil((exposed.right() - r.left()) / step))
            for k in range(k0, k1 + 1):
                x = r.left() + k * step
                if x <= r.right():
                    lines.append(QLineF(x, exposed.top(), x, exposed.bottom()))
            k0 = max(0, int(math.floor((r.bottom() - exposed.bottom()) / step)))
            k1 = int(math.ceil((r.bottom() - exposed.top()) / step))
            for k in range(k0, k1 + 1):
                y = r.bottom() - k * step
                if y >= r.top():
                    lines.append(QLineF(exposed.left(), y, exposed.right(), y))
            painter.drawLines(lines)
        painter.setPen(QPen(outline, 3 / max(lod, 1e-3) if lod < 1 else 3))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(r)
        painter.setRenderHint(QPainter.Antialiasing, aa)
        self._compass(painter, outline, lod)


class ElementItem(QGraphicsItem):
    """Base of every item that shows one layout element; ``element_id`` is the model id."""

    z = Z_SOLID

    def __init__(self, element: Element, hall: Hall):
        super().__init__()
        self.setZValue(self.z)
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        # drawn once per look and zoom, then copied: the heat map under every rack changes with each solve,
        # and redrawing the hall's items in Python each time was most of a new map's cost
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.element: Element = element
        self.hall = hall
        self.invalid = False
        self.fill: Optional[QColor] = None
        self._w = self._h = 0.0
        self._rect = self._br = QRectF()
        self.set_element(element, hall)

    @property
    def element_id(self) -> str:
        return self.element.id

    def footprint(self) -> tuple[float, float, float, float]:
        return self.hall.footprint(self.element)

    def set_element(self, element: Element, hall: Hall) -> None:
        self.prepareGeometryChange()
        self.element = element
        self.hall = hall
        x0, y0, x1, y1 = hall.footprint(element)
        self._w, self._h = (x1 - x0) * PX, (y1 - y0) * PX
        self._rect = QRectF(0, 0, self._w, self._h)
        self._br = self._rect.adjusted(-2, -2, 2, 2)  # Qt asks for it very often: keep it ready
        self.scene_rect = QRectF(x0 * PX, -y1 * PX, self._w, self._h)
        self.front_scene = self._front_line(self.scene_rect)  # for the far-out batch drawing
        self.setPos(x0 * PX, -y1 * PX)
        self.update()

    def set_invalid(self, invalid: bool) -> None:
        if invalid != self.invalid:
            self.invalid = invalid
            self.update()

    def set_fill(self, colour: Optional[QColor]) -> None:
        if colour is not self.fill:
            self.fill = colour
            self.update()

    def local_rect(self) -> QRectF:
        return QRectF(self._rect)

    def boundingRect(self) -> QRectF:
        return self._br

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.local_rect())
        return path

    def _border(self, painter: QPainter, base: QColor) -> None:
        if self.invalid:
            painter.setPen(QPen(QColor(220, 30, 30), 3))
        else:
            painter.setPen(QPen(base, 1))

    def _selection(self, painter: QPainter, r: QRectF) -> None:
        """A black-and-white outline that shows on any fill colour."""
        if not self.isSelected() or self.invalid:
            return
        painter.setBrush(Qt.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0), 4))
        painter.drawRect(r.adjusted(1, 1, -1, -1))
        painter.setPen(QPen(QColor(255, 255, 255), 2, Qt.DashLine))
        painter.drawRect(r.adjusted(1, 1, -1, -1))

    def _front_line(self, r: QRectF) -> QLineF:
        facing = getattr(self.element, "facing", "N")
        inset = 2.0
        if facing == "N":
            return QLineF(r.left() + inset, r.top() + inset, r.right() - inset, r.top() + inset)
        if facing == "S":
            return QLineF(r.left() + inset, r.bottom() - inset, r.right() - inset, r.bottom() - inset)
        if facing == "E":
            return QLineF(r.right() - inset, r.top() + inset, r.right() - inset, r.bottom() - inset)
        return QLineF(r.left() + inset, r.top() + inset, r.left() + inset, r.bottom() - inset)

    def _label(self, painter: QPainter, r: QRectF, text: str, lod: float, colour: QColor) -> None:
        """Draw ``text`` along the long side of ``r`` if it fits at a readable size."""
        vertical = r.height() > r.width() * 1.2
        length, thick = (r.height(), r.width()) if vertical else (r.width(), r.height())
        font = QFont(QApplication.font())
        size = min(thick * 0.45, 11.0)
        if size * lod < 7.0:
            return  # too small to read at this zoom
        font.setPixelSize(max(1, int(size)))
        fm = QFontMetricsF(font)
        if fm.horizontalAdvance(text) > length - 6:
            size = size * (length - 6) / max(fm.horizontalAdvance(text), 1.0)
            if size * lod < 7.0:
                return
            font.setPixelSize(max(1, int(size)))
        painter.setFont(font)
        painter.setPen(colour)
        painter.save()
        painter.translate(r.center())
        if vertical:
            painter.rotate(-90)
        box = QRectF(-length / 2, -thick / 2, length, thick)
        painter.drawText(box, Qt.AlignCenter, text)
        painter.restore()


def _text_on(fill: QColor) -> QColor:
    return QColor(20, 20, 20) if fill.lightness() > 140 else QColor(245, 245, 245)


_RACK_GREY = QColor(168, 178, 190)


class RackItem(ElementItem):
    """A rack: filled by the chosen metric, a bold bar on its front (intake), its id along it."""

    z = Z_SOLID

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod * r.width() < 6 and not self.isSelected() and not self.invalid:
            painter.fillRect(r, self.fill or _RACK_GREY)  # far out: a block of colour is all one can see
            return
        el = self.element
        base = self.fill or (QColor(120, 144, 176) if getattr(el, "liquid_fraction", 0) > 0 else QColor(168, 178, 190))
        if self.invalid:
            base = QColor(235, 90, 90)
        painter.setBrush(base)
        self._border(painter, QColor(40, 44, 52))
        painter.drawRect(r)
        if lod * min(r.width(), r.height()) >= 4:
            painter.setPen(QPen(QColor(255, 255, 255) if base.lightness() < 140 else QColor(20, 20, 20), 3,
                                Qt.SolidLine, Qt.FlatCap))
            painter.drawLine(self._front_line(r))
            self._label(painter, r, el.id, lod, _text_on(base))
        self._selection(painter, r)


class UnitItem(ElementItem):
    """A cooling unit (CRAH, CRAC, in-row, RDHx, CDU): kind colour, front bar, id label."""

    z = Z_SOLID
    badge = ""
    KIND_COLOURS = {"crah": QColor(64, 160, 200), "crac": QColor(64, 140, 210), "inrow": QColor(60, 190, 190),
                    "rdhx": QColor(90, 200, 230), "cdu": QColor(120, 110, 200)}

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        el: CoolingUnit = self.element  # type: ignore[assignment]
        base = self.fill or self.KIND_COLOURS.get(el.kind, QColor(80, 160, 200))
        if self.invalid:
            base = QColor(235, 90, 90)
        painter.setBrush(base)
        self._border(painter, QColor(20, 60, 90))
        painter.drawRoundedRect(r, 3, 3)
        if lod * min(r.width(), r.height()) >= 4:
            painter.setPen(QPen(QColor(255, 255, 255), 3, Qt.SolidLine, Qt.FlatCap))
            painter.drawLine(self._front_line(r))
            self._label(painter, r, f"{el.id}  {self.badge}" if self.badge else el.id, lod, _text_on(base))
        self._selection(painter, r)

    def set_element(self, element: Element, hall: Hall) -> None:
        super().set_element(element, hall)
        self.setZValue(Z_SOLID + 0.5 if getattr(element, "kind", "") == "rdhx" else Z_SOLID)

    def set_badge(self, text: str) -> None:
        """Extra text after the id (cooling headroom)."""
        if text != self.badge:
            self.badge = text
            self.update()


class TileItem(ElementItem):
    """A perforated tile: blue, more opaque the more open it is."""

    z = Z_TILE

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect().adjusted(1, 1, -1, -1)
        el: Tile = self.element  # type: ignore[assignment]
        alpha = int(60 + 160 * min(max(el.open_fraction, 0.0), 1.0))
        colour = QColor(235, 90, 90) if self.invalid else QColor(70, 140, 230, alpha)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod * r.width() < 6 and not self.isSelected():
            painter.fillRect(r, colour)
            return
        painter.setBrush(colour)
        self._border(painter, QColor(40, 100, 190))
        painter.drawRect(r)
        if lod * r.width() > 16:
            painter.setPen(QPen(QColor(255, 255, 255, 150), 0))
            n = 4
            for i in range(1, n):
                for j in range(1, n):
                    painter.drawPoint(QPointF(r.left() + r.width() * i / n, r.top() + r.height() * j / n))
        self._selection(painter, r)


class GrilleItem(ElementItem):
    """A ceiling return grille: hatched grey."""

    z = Z_GRILLE

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect().adjusted(1, 1, -1, -1)
        painter.setBrush(QBrush(QColor(235, 90, 90) if self.invalid else QColor(150, 150, 150, 150),
                                Qt.SolidPattern if self.invalid else Qt.BDiagPattern))
        self._border(painter, QColor(110, 110, 110))
        painter.drawRect(r)
        self._selection(painter, r)


class ContainmentItem(ElementItem):
    """A contained aisle: a dashed outline (blue = cold, red = hot); only its border is clickable."""

    z = Z_CONTAIN

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.local_rect())
        stroker = QPainterPathStroker()
        stroker.setWidth(8)
        return stroker.createStroke(path)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect()
        el: Containment = self.element  # type: ignore[assignment]
        colour = QColor(220, 60, 50) if el.kind == "hot" else QColor(40, 110, 220)
        fill = QColor(colour)
        fill.setAlpha(28)
        painter.setBrush(fill)
        if self.invalid:
            pen = QPen(QColor(220, 30, 30), 4)
        elif self.isSelected():
            pen = QPen(QApplication.palette().color(QPalette.Highlight), 4, Qt.DashLine)
        else:
            pen = QPen(colour, 2.5, Qt.DashLine)
        painter.setPen(pen)
        painter.drawRect(r)


class ObstructionItem(ElementItem):
    """A column or a wall: solid dark grey, hatched, its id when it fits."""

    z = Z_SOLID

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        base = QColor(235, 90, 90) if self.invalid else QColor(88, 90, 98)
        painter.setBrush(base)
        self._border(painter, QColor(30, 30, 34))
        painter.drawRect(r)
        painter.setBrush(QBrush(QColor(140, 142, 150), Qt.BDiagPattern))
        painter.setPen(Qt.NoPen)
        painter.drawRect(r)
        self._label(painter, r, self.element.id, lod, QColor(240, 240, 240))
        self._selection(painter, r)


#: colours of power equipment by kind (floor marks, palette icons)
POWER_COLOURS = {"utility": QColor(150, 150, 150), "generator": QColor(200, 120, 60), "ats": QColor(190, 170, 60),
                 "ups": QColor(230, 180, 40), "switchboard": QColor(200, 150, 80), "pdu": QColor(245, 200, 70),
                 "rpp": QColor(240, 215, 120)}


class PowerNodeItem(ElementItem):
    """A power node standing on the floor (a PDU, an RPP, ...): a mark with its kind and id. Loads connect
    to it with the feed cable; it shares the floor (does not act on the air)."""

    z = Z_SOLID + 1
    #: the mark is highlighted while a feed cable is over it
    hot = False

    def set_hot(self, hot: bool) -> None:
        if hot != self.hot:
            self.hot = hot
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.local_rect().adjusted(2, 2, -2, -2)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        el: PowerNode = self.element  # type: ignore[assignment]
        base = QColor(235, 90, 90) if self.invalid else POWER_COLOURS.get(el.kind, QColor(230, 180, 40))
        painter.setBrush(base)
        painter.setPen(QPen(QColor(40, 130, 40), 4) if self.hot else QPen(QColor(70, 55, 20), 1.5))
        painter.drawRoundedRect(r, 4, 4)
        if lod * r.width() >= 14:
            font = QFont(QApplication.font())
            font.setPixelSize(max(1, int(r.height() * 0.3)))
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor(30, 25, 10))
            painter.drawText(r.adjusted(0, 1, 0, -r.height() / 2), Qt.AlignCenter, el.kind.upper()[:5])
            font.setBold(False)
            font.setPixelSize(max(1, int(r.height() * 0.24)))
            painter.setFont(font)
            painter.drawText(r.adjusted(0, r.height() / 2, 0, -1), Qt.AlignCenter, el.id)
        self._selection(painter, self.local_rect())


#: a negative headroom (an overload now or after losing a feed)
NEGATIVE_COLOUR = "#c0392b"
#: figures of the last solve while a new one settles
STALE_COLOUR = "#8a8a8a"


def _kw_html(w: float) -> str:
    """A headroom in kW as rich text: signed, never "-0", red below zero."""
    text = signed(w / 1e3)
    return f"<span style='color:{NEGATIVE_COLOUR}'>{text}</span>" if is_negative(w / 1e3) else text


def _row_text(base: str, head_w: Optional[float]) -> str:
    """A row label: its name and IT load, and the power it could still add (when known)."""
    return base if head_w is None else f"{base}, {signed(head_w / 1e3)} kW free"


class RowLabelItem(QGraphicsItem):
    """A row's name and IT load, just west of the row, readable at any zoom."""

    def __init__(self, text: str, side: str = "west"):
        super().__init__()
        self.setZValue(Z_GHOST - 2)
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.NoButton)
        #: "west" of the row, "east" of its end (something stands west), "inside" over its west end
        self.side = side
        self._font = QFont(QApplication.font())
        self._font.setPixelSize(11)
        self.text = ""
        #: the headroom shown is from the last solve of a layout that has changed since (drawn faded)
        self.stale = False
        #: the headroom shown is below zero (drawn red)
        self.negative = False
        self._rect = QRectF()
        self.set_text(text)

    def set_state(self, stale: bool, negative: bool) -> None:
        if (stale, negative) != (self.stale, self.negative):
            self.stale, self.negative = stale, negative
            self.update()

    def set_text(self, text: str) -> None:
        self.prepareGeometryChange()
        self.text = text
        fm = QFontMetricsF(self._font)
        w = fm.horizontalAdvance(text) + 6
        left = {"east": 5.0, "inside": 2.0}.get(self.side, -w - 3)
        self._rect = QRectF(left, -fm.height() / 2, w, fm.height())
        self.update()

    @property
    def east(self) -> bool:
        return self.side == "east"

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pal = QApplication.palette()
        back = QColor(pal.color(QPalette.Window))
        back.setAlpha(200)  # readable over racks, tiles and the heat map
        painter.setPen(Qt.NoPen)
        painter.setBrush(back)
        painter.drawRoundedRect(self._rect, 3, 3)
        font = QFont(self._font)
        font.setItalic(self.stale)
        painter.setFont(font)
        colour = QColor(NEGATIVE_COLOUR) if self.negative else pal.color(QPalette.WindowText)
        if self.stale:
            colour.setAlpha(130)
        painter.setPen(colour)
        painter.drawText(self._rect, Qt.AlignCenter, self.text)


class HeatMapItem(QGraphicsPixmapItem):
    """Air temperature at one height as an image stretched over its extent."""

    def __init__(self):
        super().__init__()
        self.setZValue(Z_HEAT)
        self.setOpacity(0.65)
        self.setTransformationMode(Qt.SmoothTransformation)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self._image: Optional[QImage] = None

    def set_field(self, temps_c: np.ndarray, extent: tuple[float, float, float, float], scale: ColorScale) -> None:
        """``temps_c[ix, iy]`` (°C) over ``extent`` = (x0, y0, x1, y1) in m."""
        t = np.asarray(temps_c, dtype=np.float64)
        nx, ny = t.shape
        rgba = scale.rgba(t.T[::-1, :])  # rows = y from north (top) to south
        rgba = np.ascontiguousarray(rgba)
        self._image = QImage(rgba.data, nx, ny, 4 * nx, QImage.Format_RGBA8888).copy()
        self.setPixmap(QPixmap.fromImage(self._image))
        x0, y0, x1, y1 = extent
        self.setPos(x0 * PX, -y1 * PX)
        self.setTransform(QTransform.fromScale((x1 - x0) * PX / nx, (y1 - y0) * PX / ny))


class GhostItem(QGraphicsItem):
    """Outlines where dropped elements would land: green if the spot is free, red if not."""

    def __init__(self):
        super().__init__()
        self.setZValue(Z_GHOST)
        self.rects: list[QRectF] = []
        self.valid = True
        self.warning = False

    def set_rects(self, rects: list[QRectF], valid: bool, warning: bool = False) -> None:
        """``warning``: the spot is free but short of power or cooling (amber)."""
        self.prepareGeometryChange()
        self.rects = rects
        self.valid = valid
        self.warning = warning
        self.update()

    def boundingRect(self) -> QRectF:
        out = QRectF()
        for r in self.rects:
            out = out.united(r)
        return out.adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colour = (QColor(220, 30, 30) if not self.valid else QColor(235, 150, 0) if self.warning
                  else QColor(40, 170, 80))
        fill = QColor(colour)
        fill.setAlpha(90)
        painter.setBrush(fill)
        painter.setPen(QPen(colour, 2))
        for r in self.rects:
            painter.drawRect(r)


class FarLayerItem(QGraphicsItem):
    """All racks and tiles in one item, for zoom levels where each is a few pixels.

    Thousands of Python ``paint`` calls cost far more than a frame; far out, the
    scene marks rack and tile items as having no contents (they stay selectable
    and keep their place in the index) and this item draws them as batches of
    same-coloured rectangles.
    """

    def __init__(self, scene: "FloorPlanScene"):
        super().__init__()
        self.setZValue(Z_SOLID - 0.5)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self._scene = scene
        self._groups: list[tuple[QColor, list[QRectF]]] = []
        self._selected: list[QRectF] = []
        self._fronts: list[QLineF] = []
        self._bounds = QRectF()

    #: rack fronts are drawn once a rack is at least this many pixels deep on screen
    FRONT_MIN_PX = 10.0

    def rebuild(self) -> None:
        skip = self._scene.drag_ids
        groups: dict[int, tuple[QColor, list[QRectF]]] = {}
        selected = []
        tiles = []
        fronts = []
        for ident, item in self._scene.items_by_id.items():
            if ident in skip:
                continue
            if isinstance(item, RackItem):
                colour = _INVALID if item.invalid else (item.fill or _RACK_GREY)
                group = groups.get(id(colour))
                if group is None:
                    group = groups[id(colour)] = (colour, [])
                group[1].append(item.scene_rect)
                fronts.append(item.front_scene)
            elif isinstance(item, TileItem):
                tiles.append(item.scene_rect)
        for item in self._scene.selectedItems():
            if isinstance(item, (RackItem, TileItem)) and item.element_id not in skip:
                selected.append(item.scene_rect)
        self._groups = ([(_TILE_FAR, tiles)] if tiles else []) + list(groups.values())
        self._selected = selected
        self._fronts = fronts
        bounds = self._scene.hall_rect().adjusted(-5, -5, 5, 5)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.NoPen)
        for colour, rects in self._groups:
            painter.setBrush(colour)
            painter.drawRects(rects)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if self._fronts and lod * 0.6 * PX >= self.FRONT_MIN_PX:
            pen = QPen(QColor(30, 30, 30), 2)
            pen.setCosmetic(True)  # 2 px at any zoom
            painter.setPen(pen)
            painter.drawLines(self._fronts)
        if self._selected:
            painter.setBrush(Qt.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0), 0))
            painter.drawRects(self._selected)


#: with these held, Space is part of a shortcut (Ctrl+Space: Run), not a tap or a pan
_SHORTCUT_MODIFIERS = Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier

_TILE_FAR = QColor(70, 140, 230, 130)
_INVALID = QColor(235, 90, 90)

#: fit tint colours: fits by space, power and cooling; short of power; too warm; both
FIT_COLOURS = {"ok": QColor(40, 170, 80, 60), "power": QColor(235, 150, 0, 80), "cooling": QColor(220, 40, 40, 70),
               "both": QColor(150, 50, 170, 80)}
#: what each tint means (status bar legend while dragging)
FIT_LEGEND = ("green fits · amber short of power (now or after losing a feed) · "
              f"red inlet above {capacity.INLET_LIMIT_C:g} °C · purple both")


def fit_kind(power: str, cooling: str) -> str:
    return "both" if power and cooling else "power" if power else "cooling" if cooling else "ok"


class FitTintItem(QGraphicsItem):
    """While a rack or element is dragged: the floor tiles where releasing it would be accepted (by space),
    tinted by whether its power feeds and the air at its intake can take it (see :data:`FIT_COLOURS`)."""

    def __init__(self, cells: dict[str, list[QRectF]], bounds: QRectF):
        super().__init__()
        self.setZValue(Z_GHOST - 1)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.cells = cells
        self._bounds = bounds

    @property
    def rects(self) -> list[QRectF]:
        return [r for rects in self.cells.values() for r in rects]

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.NoPen)
        for kind, rects in self.cells.items():
            if rects:
                painter.setBrush(FIT_COLOURS[kind])
                painter.drawRects(rects)


_ITEM_TYPES = {"racks": RackItem, "cooling_units": UnitItem, "tiles": TileItem, "grilles": GrilleItem,
               "containments": ContainmentItem, "obstructions": ObstructionItem, "power_nodes": PowerNodeItem}


# --------------------------------------------------------------------------- scene


class FloorPlanScene(QGraphicsScene):
    """All items of one hall, built from (and only from) the site it is given."""

    #: a new summary (or None) was applied: capacity read-outs follow it
    sig_summary_applied = Signal()

    def __init__(self, site: Optional[Site] = None, hall_id: Optional[str] = None, parent=None):
        super().__init__(parent)
        #: air temperature over the intake height (°C, [nx, ny]) and its extent (m), for the cooling check
        self.inlet_field: Optional[np.ndarray] = None
        self.inlet_extent: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._row_groups: dict[str, list[tuple[str, ...]]] = {}
        self.row_labels_shown = True
        #: screen pixels per metre at the view's zoom (None: not shown in a view yet)
        self.px_per_m: Optional[float] = None
        self._feed_index: Optional[capacity.FeedIndex] = None  # rebuilt after layout changes
        self._floor_index: Optional[FloorIndex] = None  # rebuilt after layout changes
        self.site: Optional[Site] = None
        self.hall_id: Optional[str] = None
        self.hall_item: Optional[HallItem] = None
        self.items_by_id: dict[str, ElementItem] = {}
        self.heat_item = HeatMapItem()
        self.heat_item.setVisible(False)
        self.addItem(self.heat_item)
        self.metric = "inlet_c"
        self.temp_scale = ColorScale()
        self.power_scale = ColorScale("CET-L3", 0.0, 20e3, "kW")
        self.util_scale = ColorScale("CET-R4", 0.0, 100.0, "%")
        self.summary: Optional[HallSummary] = None
        #: per rack, the inlet (°C) its colour and tooltip read instead of the summary's (a shadow replay's
        #: estimate: see set_inlet_override); ``inlet_override_word`` names it in the tooltip
        self.inlet_override: dict[str, float] = {}
        self.inlet_override_word = ""
        #: the summary's capacity figures are from before the last edit (a solve is settling)
        self.stale = False
        self.far = False
        self.drag_ids: set[str] = set()
        self.row_labels: dict[str, RowLabelItem] = {}
        self.far_item = FarLayerItem(self)
        self.far_item.setVisible(False)
        self.addItem(self.far_item)
        self.selectionChanged.connect(self._on_self_selection_changed)
        if site is not None:
            self.set_site(site, hall_id)

    # ---- model
    @property
    def hall(self) -> Optional[Hall]:
        if self.site is None or not self.site.halls:
            return None
        if self.hall_id is not None:
            try:
                return self.site.get_hall(self.hall_id)
            except KeyError:
                pass
        return self.site.halls[0]

    def set_site(self, site: Site, hall_id: Optional[str] = None) -> None:
        self.site = site
        self.hall_id = hall_id
        self.summary = None
        self.inlet_field = None
        self.sync_all()
        self.sig_summary_applied.emit()  # read-outs of the previous site go

    def sync_all(self) -> None:
        """Rebuild every item from the model."""
        for item in list(self.items_by_id.values()) + list(self.row_labels.values()):
            self.removeItem(item)
        self.items_by_id.clear()
        self.row_labels.clear()
        if self.hall_item is not None:
            self.removeItem(self.hall_item)
            self.hall_item = None
        self.heat_item.setVisible(False)
        hall = self.hall
        if hall is None:
            return
        self.hall_item = HallItem(hall)
        self.addItem(self.hall_item)
        self.sync()

    def sync(self) -> None:
        """Update the items whose element changed, add new ones, drop removed ones."""
        hall = self.hall
        if hall is None:
            self.sync_all()
            return
        if self.hall_item is None:
            self.hall_item = HallItem(hall)
            self.addItem(self.hall_item)
        elif self.hall_item.hall is not hall:
            self.hall_item.set_hall(hall)
        seen: set[str] = set()
        for coll, cls in _ITEM_TYPES.items():
            els = self.site.floor_power_nodes(hall.id) if coll == "power_nodes" else getattr(hall, coll)
            for el in els:
                seen.add(el.id)
                item = self.items_by_id.get(el.id)
                if item is not None and type(item) is not cls:
                    self.removeItem(item)
                    item = None
                if item is None:
                    item = cls(el, hall)
                    if self.far and cls in (RackItem, TileItem):
                        item.setFlag(QGraphicsItem.ItemHasNoContents, True)
                    self.items_by_id[el.id] = item
                    self.addItem(item)
                elif item.element is not el or item.hall.tile_m != hall.tile_m:
                    item.set_element(el, hall)
                else:
                    item.hall = hall
        for ident in [i for i in self.items_by_id if i not in seen]:
            self.removeItem(self.items_by_id.pop(ident))
        self._feed_index = None
        self._floor_index = None
        self._sync_row_labels(hall)
        margin = 2.0 * PX
        self.setSceneRect(self.hall_item.rect().adjusted(-margin, -margin, margin, margin))
        self.recolour()  # rebuilds the far layer too

    #: room a row label needs beside its row (m); blocked on the west, it goes to the east end
    ROW_LABEL_ROOM_M = 3.0
    #: labels may reach this far past the hall's walls (m): the view's fit margin
    ROW_LABEL_WALL_M = 0.5

    def set_view_scale(self, px_per_m: float) -> None:
        """How many screen pixels a metre is: row labels (drawn at a fixed pixel size) find room for
        themselves at this zoom."""
        old = self.px_per_m
        if old is None or abs(px_per_m - old) > 0.1 * old:
            self.px_per_m = px_per_m
            hall = self.hall
            if hall is not None and self.row_labels and self.row_labels_shown:  # hidden: placed when shown
                self._sync_row_labels(hall)

    def _label_room_m(self, text: str) -> float:
        if not self.px_per_m:
            return self.ROW_LABEL_ROOM_M
        font = QFont(QApplication.font())
        font.setPixelSize(11)
        return (QFontMetricsF(font).horizontalAdvance(text) + 14) / self.px_per_m

    def _row_label_pos(self, hall: Hall, racks: list[Rack], solids, room_m: float) -> tuple[QPointF, str]:
        """Where a row's label goes: west of the row; east of it when something stands west; over the
        row's west end when both sides are taken ("west", "east", "inside")."""
        fps = [r.footprint() for r in racks]
        x0, x1 = min(f[0] for f in fps), max(f[2] for f in fps)
        ys = [(f[1] + f[3]) / 2 for f in fps if f[0] == x0]
        y = sum(ys) / len(ys)
        ye = [(f[1] + f[3]) / 2 for f in fps if f[2] == x1]
        y_east = sum(ye) / len(ye)
        own = {r.id for r in racks}
        west = (x0 - room_m, y - 0.3, x0 - 1e-6, y + 0.3)
        east = (x1 + 1e-6, y_east - 0.3, x1 + room_m, y_east + 0.3)
        fps_all, ids_all = solids

        def taken(band) -> bool:  # past the walls, or a rack or cooling unit of another row stands in it
            if band[0] < -self.ROW_LABEL_WALL_M or band[2] > hall.width_m + self.ROW_LABEL_WALL_M:
                return True
            hit = ((np.minimum(fps_all[:, 2], band[2]) - np.maximum(fps_all[:, 0], band[0]) > _EPS)
                   & (np.minimum(fps_all[:, 3], band[3]) - np.maximum(fps_all[:, 1], band[1]) > _EPS))
            return any(ids_all[i] not in own for i in np.nonzero(hit)[0])

        if not taken(west):
            return to_scene(x0, y), "west"
        if not taken(east):
            return to_scene(x1, y_east), "east"
        return to_scene(x0, y), "inside"

    def _sync_row_labels(self, hall: Hall) -> None:
        rows: dict[str, list[Rack]] = {}
        for r in hall.racks:
            if r.row:
                rows.setdefault(r.row, []).append(r)
        self._row_groups = capacity.row_feeds(hall)
        heads = self.row_headroom_w()
        wanted = {}
        els = list(hall.racks) + list(hall.cooling_units)
        solids = (np.array([hall.footprint(e) for e in els], float).reshape(-1, 4), [e.id for e in els])
        for name, racks in rows.items():
            text = _row_text(f"{name}: {sum(r.it_kw for r in racks):.0f} kW", heads.get(name))
            longest = text.split(",")[0] + (", +9999 kW free" if self.site is not None and self.site.power_nodes else "")
            pos, side = self._row_label_pos(hall, racks, solids, self._label_room_m(longest))
            wanted[name] = (text, pos, side)
        for name in [n for n in self.row_labels if n not in wanted or self.row_labels[n].text != wanted[n][0]
                     or self.row_labels[n].side != wanted[n][2]]:
            self.removeItem(self.row_labels.pop(name))
        for name, (text, pos, side) in wanted.items():
            item = self.row_labels.get(name)
            if item is None:
                item = self.row_labels[name] = RowLabelItem(text, side)
                item.setVisible(self.row_labels_shown)
                self.addItem(item)
            item.setPos(pos)
            item.set_state(self.stale and name in heads, name in heads and is_negative(heads[name] / 1e3))

    def show_row_labels(self, shown: bool) -> None:
        """Row labels on or off (off when the rows are too close on screen to tell the labels apart)."""
        if shown != self.row_labels_shown:
            self.row_labels_shown = shown
            if shown and self.hall is not None:
                self._sync_row_labels(self.hall)  # the zoom changed while they were hidden
            for item in self.row_labels.values():
                item.setVisible(shown)

    def row_headroom_w(self) -> dict[str, float]:
        """Per row: IT power it could still add keeping its feeds redundant (W), from the summary."""
        if self.site is None:
            return {}
        return capacity.row_headroom_w(self.site, self._row_groups, self._power_nodes())

    def pdu_headroom(self) -> list[tuple[str, float, Optional[float]]]:
        """(node id, headroom W, headroom after losing a partner W) of the nodes feeding this hall's racks."""
        nodes = self._power_nodes()
        hall = self.hall
        if not nodes or hall is None or self.site is None:
            return []
        out = []
        for nid in capacity.hall_pdus(self.site, hall):
            d = nodes.get(nid)
            if d is not None and d.headroom_w is not None:
                out.append((nid, float(d.headroom_w), d.headroom_n1_w))
        return out

    def _power_nodes(self) -> dict[str, Headroom]:
        """The summary's power-node headroom by node id (empty without a summary or a power graph)."""
        return self.summary.power_nodes if self.summary is not None else {}

    # ---- far zoom
    def set_far(self, far: bool) -> None:
        """Draw racks and tiles as batches (far out) or each by itself (close up)."""
        if far == self.far:
            return
        self.far = far
        for ident, item in self.items_by_id.items():
            if isinstance(item, (RackItem, TileItem)) and ident not in self.drag_ids:
                item.setFlag(QGraphicsItem.ItemHasNoContents, far)
                if not far:
                    item.update()  # far out its colour changed without a redraw: its cached picture is old
        self.far_item.setVisible(far)
        if far:
            self.far_item.rebuild()

    def set_drag_ids(self, ids: Iterable[str]) -> None:
        """Items being dragged paint themselves even far out (the batch leaves them out)."""
        old, self.drag_ids = self.drag_ids, set(ids)
        if self.far:
            for ident in old | self.drag_ids:
                item = self.items_by_id.get(ident)
                if isinstance(item, (RackItem, TileItem)):
                    item.setFlag(QGraphicsItem.ItemHasNoContents, ident not in self.drag_ids)
            self.far_item.rebuild()

    def _on_self_selection_changed(self) -> None:
        if self.far:
            self.far_item.rebuild()

    def hall_rect(self) -> QRectF:
        return self.hall_item.rect() if self.hall_item is not None else QRectF()

    # ---- selection
    def selected_ids(self) -> list[str]:
        return [it.element_id for it in self.selectedItems() if isinstance(it, ElementItem)]

    def select_ids(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for i in wanted:
                item = self.items_by_id.get(i)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    # ---- colouring
    def set_metric(self, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; one of {', '.join(METRICS)}")
        self.metric = metric
        self.recolour()

    def apply_summary(self, summary: Optional[HallSummary]) -> None:
        """Colour racks from an engine summary (its ``racks``: inlet, power, state); None clears."""
        had_nodes = bool(self._power_nodes())
        self.summary = summary
        self.recolour()
        if had_nodes or self._power_nodes():
            hall = self.hall
            if hall is not None:
                self._update_row_label_text()
        self.sig_summary_applied.emit()

    def power_figures_changed(self) -> None:
        """The summary on show got its power-node headroom in place (a quick answer's, after its map): the row
        labels and the capacity read-out follow; the racks' colours stay."""
        if self.hall is not None and self._power_nodes():
            self._update_row_label_text()
        self.sig_summary_applied.emit()

    def _update_row_label_text(self) -> None:
        heads = self.row_headroom_w()
        for name, item in self.row_labels.items():
            text = _row_text(item.text.split(",")[0], heads.get(name))
            if text != item.text:
                item.set_text(text)
            item.set_state(self.stale and name in heads, name in heads and is_negative(heads[name] / 1e3))

    def set_stale(self, stale: bool) -> None:
        """The capacity read-outs (row labels, the headroom box) are from the last solve of a layout that
        has changed since: shown faded and marked "settling" until the new solve is in."""
        if stale != self.stale:
            self.stale = stale
            self._update_row_label_text()
            self.sig_summary_applied.emit()

    def set_inlet_field(self, field: Optional[np.ndarray], extent=None) -> None:
        """The air temperature over the intake height (°C, [nx, ny] over ``extent``), for the cooling check."""
        self.inlet_field = None if field is None else np.asarray(field, float)
        if extent is not None:
            self.inlet_extent = tuple(float(v) for v in extent)

    def set_inlet_override(self, inlets: Optional[dict[str, float]], word: str = "estimated") -> None:
        """Racks' inlets (the air at their front, °C by rack id) that their inlet and state colours
        (:meth:`rack_intake_c`) and their tooltip show instead of the summary's (``word`` says what they are
        in the tooltip); None or {} shows the summary's again."""
        self.inlet_override = dict(inlets or {})
        self.inlet_override_word = word
        self.recolour()

    def rack_intake_c(self, rack_id: str, result: Optional[RackResult]) -> float:
        """What a rack's servers breathe (°C), which its inlet and state colours read: the summary's, or where an
        override is set, the overriding air at its front plus the summary's rise from the rack's own
        recirculated exhaust (none for a fully blanked rack)."""
        v = self.inlet_override.get(rack_id)
        if v is not None:
            rise = 0.0 if result is None or result.server_intake_c is None else result.intake_c - result.inlet_c
            return v + rise
        return float("nan") if result is None or result.inlet_c is None else result.intake_c

    def current_scale(self) -> Optional[ColorScale]:
        return {"inlet_c": self.temp_scale, "power_w": self.power_scale,
                "feed_util": self.util_scale}.get(self.metric)

    def recolour(self) -> None:
        """Fill every rack by the chosen metric (grey where the summary has no number for it)."""
        racks = self.summary.racks if self.summary is not None else {}
        metric = self.metric
        items = [it for it in self.items_by_id.values() if type(it) is RackItem]
        if not racks:
            colours: list = [None] * len(items)
        elif metric == "state":
            colours = self._state_colours(items, racks)
        elif metric == "feed_util":
            util = self.feed_utilization()
            table = self.util_scale.colours
            idx = self.util_scale.indices(np.array([util.get(it.element.id, np.nan) for it in items], float))
            colours = [table[i] if i >= 0 else UNKNOWN_COLOUR for i in idx.tolist()]
        else:
            if metric == "power_w":
                top = max((float(v.power_w or 0.0) for v in racks.values()), default=0.0)
                self.power_scale.vmax = max(top, 1e3)
            nan = float("nan")
            found = (racks.get(it.element.id) for it in items)
            # a rack's inlet colour is what its servers breathe (the room air at its front unless it
            # recirculates its own exhaust through open rack units)
            values = np.array([self.rack_intake_c(it.element.id, r) if metric == "inlet_c"
                               else nan if r is None or getattr(r, metric) is None else getattr(r, metric)
                               for it, r in zip(items, found)], dtype=np.float64)
            idx = self.current_scale().indices(values)
            table = self.current_scale().colours
            colours = [table[i] if i >= 0 else UNKNOWN_COLOUR for i in idx.tolist()]
        headroom = (self.summary.cooling_headroom if self.summary is not None else None) or {}
        for ident, item in self.items_by_id.items():
            if type(item) is UnitItem:
                d = headroom.get(ident)
                h = d.headroom_w if d is not None else None
                item.set_badge("" if h is None else "stopped" if d.capacity_w == 0.0 else f"{signed(h / 1e3)} kW")
        if self.far:
            for it, c in zip(items, colours):
                it.fill = c  # not painted one by one far out: the batch layer redraws
            self.far_item.rebuild()
        else:
            for it, c in zip(items, colours):
                it.set_fill(c)

    def feed_utilization(self) -> dict[str, float]:
        """Per rack: the highest load/capacity (%) among the power nodes feeding it (from the summary)."""
        nodes = self._power_nodes()
        hall = self.hall
        out: dict[str, float] = {}
        if not nodes or hall is None:
            return out
        for r in hall.racks:
            worst = None
            for f in r.feeds:
                n = nodes.get(f)
                load, cap = (n.load_w, n.capacity_w) if n is not None else (None, None)
                if load is not None and cap:
                    u = 100.0 * load / cap
                    worst = u if worst is None else max(worst, u)
            if worst is not None:
                out[r.id] = worst
        return out

    def _state_colours(self, items: list["RackItem"], racks: dict[str, RackResult]) -> list[QColor]:
        """ASHRAE compliance of each inlet for the rack's class; protection states (throttled, shut down,
        unpowered, critical) override it."""
        from dctwin.twin.sim.metrics import STATUS_NAMES, ashrae_status

        data = [racks.get(it.element.id) for it in items]
        inlet = np.array([self.rack_intake_c(it.element.id, d) for it, d in zip(items, data)], float)
        status = ashrae_status(inlet, [it.element.ashrae_class for it in items]) if items else []
        out = []
        for d, t, st in zip(data, inlet.tolist(), list(status)):
            prot = d.state if d is not None else None
            if isinstance(prot, str) and prot in PROTECTION_STATES:
                out.append(state_colour(prot))
            elif t != t:  # no inlet temperature for this rack
                out.append(UNKNOWN_COLOUR)
            else:
                out.append(state_colour(STATUS_NAMES[int(st)]))
        return out

    def set_heatmap(self, temps_c: Optional[np.ndarray], extent=None) -> None:
        if temps_c is None:
            self.heat_item.setVisible(False)
            return
        self.heat_item.set_field(temps_c, extent, self.temp_scale)
        self.heat_item.setVisible(True)

    # ---- placement: twin's rule, asked of an index of this hall's floor (rebuilt after each change)
    def placement_problem(self, elements: list[Element], ignore: Iterable[str] = ()) -> str:
        """Why ``elements`` cannot stand where they are ("" if they can): :func:`twin's placement_problem
        <dctwin.twin.model.validate.placement_problem>`; the model validates again on apply."""
        hall = self.hall
        if hall is None:
            return "no hall"
        if self._floor_index is None or self._floor_index.hall is not hall:
            self._floor_index = FloorIndex(hall)
        return self._floor_index.problem(elements, ignore)

    def drop_position(self, proto: Element, x_m: float, y_m: float) -> tuple[float, float]:
        """Where a palette element lands when released with the cursor at (x_m, y_m).

        Snapped by the floor tile under the cursor, so anywhere in one tile gives one spot (the spot
        the drop tint shows for that tile): an element n tiles long starts at floor(i + 1 - n/2)
        tiles, i.e. it covers the cursor's tile and is as centred on it as the grid allows.
        """
        hall = self.hall
        tile = hall.tile_m
        sx, sy = (hall.tile_size(proto),) * 2 if isinstance(proto, Tile) else proto.size_xy()  # type: ignore

        def snap(c_m: float, size_m: float) -> float:
            i = math.floor(c_m / tile + 1e-9)
            return round(math.floor(i + 1 - size_m / tile / 2 + 1e-9) * tile, 9)

        return snap(x_m, sx), snap(y_m, sy)

    def with_feeds(self, proto: Element, x_m: float, y_m: float) -> Element:
        """A rack without feeds joins the power of the nearest rack; with no rack to join, it plugs into the
        nearest PDUs (:func:`~dctwin.twin.model.power_chain.default_feeds`). Unchanged without a power graph."""
        if not isinstance(proto, Rack) or proto.feeds or self.site is None or not self.site.power_nodes:
            return proto
        feeds = self.feeds_at(x_m, y_m)
        return dataclasses.replace(proto, feeds=feeds) if feeds else proto

    def feeds_at(self, x_m: float, y_m: float) -> tuple[str, ...]:
        """The feeds a new rack at (x_m, y_m) gets (see :meth:`with_feeds`)."""
        if self._feed_index is None:
            self._feed_index = capacity.FeedIndex(self.hall)
        return self._feed_index.nearest(x_m, y_m) or default_feeds(self.site, self.hall_id or self.hall.id, x_m, y_m)

    def capacity_problems(self, elements: list[Element], ignore: Iterable[str] = ()) -> tuple[str, str]:
        """(power, cooling) reasons why racks placed as ``elements`` would lack capacity ("" when fine).

        Racks in ``ignore`` already draw their power; they add none where their feeds stay the same.
        """
        racks = [e for e in elements if isinstance(e, Rack)]
        if not racks or self.site is None:
            return "", ""
        hall = self.hall
        nodes = self._power_nodes()
        power = ""
        if nodes:
            ignore = set(ignore)
            by_feeds: dict[tuple[str, ...], float] = {}
            for r in racks:
                old = self._element(r.id) if r.id in ignore else None
                if old is not None and old.feeds == r.feeds:
                    continue
                by_feeds[r.feeds] = by_feeds.get(r.feeds, 0.0) + r.it_kw * 1e3
            for feeds, add_w in by_feeds.items():
                power = capacity.power_problem(self.site, nodes, feeds, add_w)
                if power:
                    break
        cooling = ""
        if self.inlet_field is not None:
            for r in racks:
                cooling = capacity.cooling_problem(self.inlet_field, self.inlet_extent, hall.footprint(r), r.facing)
                if cooling:
                    break
        return power, cooling

    def _element(self, ident: str) -> Optional[Element]:
        item = self.items_by_id.get(ident)
        return item.element if item is not None else None

    def fit_cells(self, proto: Element, count: int = 1, max_cells: int = 8000,
                  moving: Optional[Element] = None) -> Optional[dict[str, list[QRectF]]]:
        """Floor tiles where releasing ``count`` copies of ``proto`` would be accepted, by tint kind
        (:data:`FIT_COLOURS`); None when the hall is too big to check every tile.

        ``moving``: an element of the hall being dragged instead (``proto`` is ignored): the tiles that
        would hold its centre after a move by whole tiles.
        """
        hall = self.hall
        out: dict[str, list[QRectF]] = {k: [] for k in FIT_COLOURS}
        if hall is None:
            return out
        tile = hall.tile_m
        nx, ny = int(hall.width_m / tile + 1e-9), int(hall.depth_m / tile + 1e-9)
        if nx * ny > max_cells:
            return None
        power_cache: dict[tuple, str] = {}
        ignore = {moving.id} if moving is not None else set()
        # a rack without feeds joins the nearest row's power (as on drop, see with_feeds)
        proto_feeds = getattr(proto, "feeds", ())
        joins = moving is None and self.with_feeds(proto, 0.0, 0.0) is not proto
        protos: dict[tuple, Element] = {}
        if moving is not None:
            fx0, fy0, fx1, fy1 = hall.footprint(moving)
            cx0, cy0 = (fx0 + fx1) / 2, (fy0 + fy1) / 2
            # whole-tile shifts that put the centre in each tile
            i_off = math.floor(cx0 / tile + 1e-9)
            j_off = math.floor(cy0 / tile + 1e-9)
        for i in range(nx):
            for j in range(ny):
                if moving is not None:
                    dx, dy = round((i - i_off) * tile, 9), round((j - j_off) * tile, 9)
                    els = [dataclasses.replace(moving, x_m=round(moving.x_m + dx, 9), y_m=round(moving.y_m + dy, 9))]
                else:
                    cx, cy = (i + 0.5) * tile, (j + 0.5) * tile
                    x0, y0 = self.drop_position(proto, cx, cy)
                    feeds = self.feeds_at(cx, cy) if joins else proto_feeds
                    placed = protos.get(feeds)
                    if placed is None:
                        placed = protos[feeds] = dataclasses.replace(proto, feeds=feeds) if joins else proto
                    els = plan_row(placed, x0, y0, count)
                if self.placement_problem(els, ignore=ignore):
                    continue
                power = cooling = ""
                if isinstance(els[0], Rack):
                    key = (els[0].feeds, len(els))
                    if key not in power_cache:
                        power_cache[key] = self.capacity_problems(els, ignore)[0]
                    power = power_cache[key]
                    if self.inlet_field is not None:
                        for r in els:
                            cooling = capacity.cooling_problem(self.inlet_field, self.inlet_extent,
                                                               hall.footprint(r), r.facing)
                            if cooling:
                                break
                out[fit_kind(power, cooling)].append(
                    footprint_rect((i * tile, j * tile, (i + 1) * tile, (j + 1) * tile)))
        return out

    # ---- tooltips
    def tooltip_for(self, item: "ElementItem") -> str:
        el = item.element
        lines = [f"<b>{el.id}</b> ({type(el).__name__.lower()})"]
        if isinstance(el, Rack):
            lines.append(f"IT {el.it_kw:g} kW, airflow {el.design_airflow_m3s:.2f} m³/s, facing {el.facing}")
            if el.liquid_fraction:
                lines.append(f"liquid-cooled {el.liquid_fraction:.0%}")
            if el.feeds:
                lines.append("feeds " + ", ".join(f"{ab} {f}" for ab, f in zip("AB", el.feeds)))
            data = self.summary.racks.get(el.id) if self.summary is not None else None
            if data is not None:
                lines.append(", ".join(_readings(((data.inlet_c, "inlet {:.1f} °C"), (data.exhaust_c, "exhaust {:.1f} °C"),
                                                  (_kw(data.power_w), "{:.1f} kW"), (data.state, "{}")))))
            est = self.inlet_override.get(el.id)
            if est is not None:
                lines.append(f"<b>{self.inlet_override_word} inlet {est:.1f} °C</b> (the colour)")
        elif isinstance(el, CoolingUnit):
            lines.append(f"{el.kind}, {el.capacity_kw:g} kW, {el.airflow_m3s:g} m³/s, "
                         f"setpoint {el.supply_setpoint_c:g} °C")
            data = self.summary.cooling_units.get(el.id) if self.summary is not None else None
            if data is not None:
                lines.append(", ".join(_readings(((data.return_c, "return {:.1f} °C"), (data.supply_c, "supply {:.1f} °C"),
                                                  (_kw(data.duty_w), "duty {:.1f} kW")))))
        elif isinstance(el, Tile):
            lines.append(f"open {el.open_fraction:.0%}")
        elif isinstance(el, Containment):
            lines.append(f"{el.kind} aisle {el.width_m:g} × {el.depth_m:g} m")
        elif isinstance(el, Obstruction):
            lines.append(f"{el.kind}, " + ("to the ceiling" if el.height_m is None else f"{el.height_m:g} m high")
                         + " (air goes around it)")
        elif isinstance(el, PowerNode):
            lines.append(f"{el.kind}, {el.capacity_kw:g} kW" + (f", from {', '.join(el.inputs)}" if el.inputs else ""))
            d = self._power_nodes().get(el.id)
            if d is not None and d.load_w is not None:
                lines.append(f"load {d.load_w / 1e3:.1f} kW" + (f", headroom {d.headroom_w / 1e3:+.1f} kW"
                                                                 if d.headroom_w is not None else ""))
        fp = item.footprint()
        lines.append(footprint_text(fp))
        return "<br>".join(lines)

    def helpEvent(self, event) -> None:  # Qt override: tooltips computed on demand
        for it in self.items(event.scenePos()):
            if isinstance(it, ElementItem):
                QToolTip.showText(event.screenPos(), self.tooltip_for(it), event.widget())
                event.accept()
                return
        QToolTip.hideText()
        event.ignore()


# --------------------------------------------------------------------------- view


class FloorPlanView(QGraphicsView):
    """Zoom, pan, select, drag and drop on a :class:`FloorPlanScene`; edits leave as signals."""

    #: move the elements ``ids`` by (dx_m, dy_m), already snapped to the tile grid
    sig_move_requested = Signal(list, float, float)
    #: place ``count`` copies of the prototype element (empty id) in a row starting at (x_m, y_m)
    sig_drop_requested = Signal(object, float, float, int)
    #: an edit gesture was refused; the text says why
    sig_refused = Signal(str)
    #: while dragging: "" if the spot is fine, else why it is not
    sig_drag_hint = Signal(str)
    #: while dragging a rack to a free spot: "" if its feeds and the air there can take it, else why not
    #: (a warning: the drop is still accepted)
    sig_capacity_hint = Signal(str)
    #: Space pressed and released without panning (toggles Run/Pause in the window)
    sig_space_tapped = Signal()
    #: the mouse is over hall position (x_m, y_m)
    sig_cursor_moved = Signal(float, float)
    #: add ``element`` (a prototype sized to a rectangle drawn with the rectangle tool)
    sig_rect_drawn = Signal(object)
    #: plug the loads ``ids`` into power node ``node_id`` (a feed cable was drawn)
    sig_feed_requested = Signal(list, str)
    #: a line was drawn with the line tool, from (x0, y0) to (x1, y1) in m
    sig_line_drawn = Signal(float, float, float, float)
    #: the armed tool changed: its hint ("" when none is armed)
    sig_tool_changed = Signal(str)

    MIN_SCALE, MAX_SCALE = 0.01, 20.0
    #: while a palette element is dragged over the plan, an object that may paint the floor itself (the app's
    #: placement map): ``start(proto, count)`` returns True when it does (no fit tint or capacity hint then),
    #: ``hover(proto, x_m, y_m, count, problem)`` follows the drop spot (first element's corner; ``problem``:
    #: why the model would refuse it, "" if not), ``stop()`` ends it. None: the fit tint.
    drag_overlay = None
    #: below this many pixels per floor tile racks and tiles are drawn in batches
    FAR_TILE_PX = 12.0
    #: below this many pixels per floor tile rows are too close on screen for their labels
    LABEL_TILE_PX = 5.0

    def __init__(self, scene: FloorPlanScene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState | QGraphicsView.DontAdjustForAntialiasing)
        self.setAcceptDrops(True)
        # no scroll bars: the plan fits the window (and re-fits when it changes size); pan with the middle
        # button or Space+drag, Zoom to Fit (F) to see it all again. In a small window they took the room.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self._space_down = False
        self._space_used = False
        self._pan_from: Optional[QPointF] = None
        self._drag: Optional[dict] = None
        self._ghost: Optional[GhostItem] = None
        self._tint: Optional[FitTintItem] = None
        self._drop: Optional[dict] = None
        #: the layout shown cannot be changed: elements are selected, never moved, and nothing is dropped
        self.read_only = False
        self.capacity_label = QLabel(self)
        self.capacity_label.setObjectName("capacity_label")
        self.capacity_label.setAttribute(Qt.WA_TransparentForMouseEvents, True)
        self.capacity_label.setAutoFillBackground(True)
        self.capacity_label.setMargin(4)
        self.capacity_label.hide()
        #: the read-out's size in its settling form (one line longer than the converged form): the room a fit
        #: leaves for it, so that an edit's "settling" and its solve landing do not re-zoom the plan
        self._label_need = QSize()
        self._label_room = QSize()
        self._label_probe = QLabel(self)  # never shown: measures the settling form while the converged one shows
        self._label_probe.setMargin(4)
        self._label_probe.hide()
        scene.sig_summary_applied.connect(self._on_scene_summary_applied)
        #: the armed tool (:mod:`dctwin.widgets.plan_tools`), None: select and drag
        self.tool = None
        self._tool_pressed = False
        #: the view shows the whole hall (zoom to fit) until the person zooms or pans: it re-fits on resize
        self.fitted = True
        self._fitting = False

    #: most power nodes listed in the capacity read-out (the tightest first)
    CAPACITY_ROWS = 6

    def _on_scene_summary_applied(self) -> None:
        """The capacity read-out: headroom of the PDUs feeding this hall and of its air cooling (kW)."""
        scene = self.floor_scene()
        pdus = sorted(scene.pdu_headroom(), key=lambda p: p[2] if p[2] is not None else p[1])
        cool = (scene.summary.cooling_headroom if scene.summary is not None else None) or {}
        lines = []
        for nid, head, head1 in pdus[: self.CAPACITY_ROWS]:
            n1 = f" / {_kw_html(head1)}" if head1 is not None else ""
            lines.append(f"{nid}&nbsp;&nbsp;{_kw_html(head)}{n1} kW")
        if len(pdus) > self.CAPACITY_ROWS:
            lines.append(f"… {len(pdus) - self.CAPACITY_ROWS} more")
        heads = [d.headroom_w for d in cool.values() if d.headroom_w is not None]
        # a stopped unit (capacity 0 now) offers nothing and is nobody's partner
        heads1 = [d.headroom_n1_w for d in cool.values() if d.headroom_n1_w is not None and d.capacity_w != 0.0]
        stopped = sum(1 for d in cool.values() if d.capacity_w == 0.0)
        if heads:
            n1 = f" / {_kw_html(min(heads1))} (worst unit)" if heads1 else ""
            lines.append(f"air cooling&nbsp;&nbsp;{_kw_html(sum(heads))}{n1} kW")
            if stopped:
                lines.append(f"<span style='color:#c0392b'>{stopped} of {len(cool)} units stopped</span>")
        if not lines:
            self.capacity_label.hide()
            return
        # while the edited layout settles: the last solve's figures, never zeros, never fresh
        settling = ("<b>Headroom</b> now / after losing one<br><i>settling: figures before the edit</i><br>"
                    f"<span style='color:{STALE_COLOUR}'>" + "<br>".join(lines) + "</span>")
        lab = self.capacity_label
        if scene.stale:
            lab.setText(settling)
        else:
            lab.setText("<b>Headroom</b> now / after losing one<br>" + "<br>".join(lines))
            self._label_probe.setFont(lab.font())
            self._label_probe.setText(settling)
        shown = lab.isVisible()
        lab.adjustSize()
        self._label_need = (lab if scene.stale else self._label_probe).sizeHint()
        self._place_capacity_label()
        lab.show()
        room = self._label_room
        if self.fitted and (not shown or self._label_need.width() > room.width()
                            or self._label_need.height() > room.height()):
            self.zoom_to_fit()  # leave the read-out's corner free (a re-fit only when it needs more room)

    def _place_capacity_label(self) -> None:
        vp = self.viewport().geometry()
        lab = self.capacity_label
        lab.move(vp.right() - lab.width() - 6, vp.bottom() - lab.height() - 6)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._place_capacity_label()
        if self.fitted and not self._fitting:  # a smaller window still shows the whole hall
            self.zoom_to_fit()

    def floor_scene(self) -> FloorPlanScene:
        return self.scene()  # type: ignore[return-value]

    # ---- tools (dctwin.widgets.plan_tools)
    def set_tool(self, tool) -> None:
        """Arm ``tool`` (None: back to select and drag); the previous one is cancelled."""
        if self.tool is not None:
            self.tool.cancel(self)
        self.tool = tool
        self._tool_pressed = False
        if tool is None:
            self.viewport().unsetCursor()
        else:
            self.viewport().setCursor(tool.cursor)
        self.sig_tool_changed.emit(tool.hint if tool is not None else "")

    def snap_to_grid(self, v_m: float) -> float:
        """``v_m`` rounded to the nearest floor-tile line (m)."""
        hall = self.floor_scene().hall
        tile = hall.tile_m if hall is not None else 0.6
        return round(round(v_m / tile) * tile, 9)

    def show_ghost(self, elements: list, problem: str) -> None:
        """Outline where ``elements`` would go (red with a ``problem``); none: the outline goes."""
        scene = self.floor_scene()
        if not elements:
            if self._ghost is not None:
                scene.removeItem(self._ghost)
                self._ghost = None
            return
        if self._ghost is None:
            self._ghost = GhostItem()
            scene.addItem(self._ghost)
        self._ghost.set_rects([footprint_rect(scene.hall.footprint(e)) for e in elements], not problem)
        self._ghost.setToolTip(problem)

    def power_node_at(self, x_m: float, y_m: float) -> Optional["PowerNodeItem"]:
        """The power node standing on the floor at (x_m, y_m), if any."""
        for it in self.floor_scene().items(to_scene(x_m, y_m)):
            if isinstance(it, PowerNodeItem):
                return it
        return None

    def start_feed_drag(self, loads: list) -> None:
        """Carry a feed cable out of the plan as a drag and drop (the Power panel takes it)."""
        from PySide6.QtGui import QDrag

        from dctwin.widgets.plan_tools import feed_mime

        drag = QDrag(self)
        drag.setMimeData(feed_mime(loads))
        drag.exec(Qt.LinkAction)

    # ---- zoom
    def current_scale(self) -> float:
        return self.transform().m11()

    def _update_far(self) -> None:
        hall = self.floor_scene().hall
        tile_px = (hall.tile_m if hall is not None else 0.6) * PX * self.current_scale()
        self.floor_scene().set_far(tile_px < self.FAR_TILE_PX)
        self.floor_scene().show_row_labels(tile_px >= self.LABEL_TILE_PX)
        self.floor_scene().set_view_scale(PX * self.current_scale())

    def zoom_by(self, factor: float) -> None:
        self.fitted = False
        s = self.current_scale()
        factor = min(max(factor, self.MIN_SCALE / s), self.MAX_SCALE / s)
        self.scale(factor, factor)
        self._update_far()

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def zoom_to_fit(self) -> None:
        scene = self.floor_scene()
        r = scene.hall_rect()
        if r.isEmpty():
            return
        m = 0.03 * max(r.width(), r.height())
        self._fitting = True  # scroll bars coming or going resize the view: no fit from inside a fit
        try:
            self.fitInView(self._fit_rect(r.adjusted(-m, -m, m + 40, m)), Qt.KeepAspectRatio)  # + the north arrow
        finally:
            self._fitting = False
        self.fitted = True
        self._update_far()

    def _fit_rect(self, r: QRectF) -> QRectF:
        """``r`` grown so that, fitted into the viewport, it leaves the headroom read-out's corner free: the
        read-out takes the bottom-right corner, so the hall goes beside it or above it, whichever is larger."""
        lab = self.capacity_label
        self._label_room = room = self._label_need.expandedTo(lab.size()) if lab.isVisible() else QSize()
        vp = self.viewport().rect()
        if room.isEmpty() or vp.width() <= room.width() + 20 or vp.height() <= room.height() + 20:
            return r
        w, h = float(vp.width()), float(vp.height())
        beside = min((w - room.width() - 12) / r.width(), h / r.height())
        above = min(w / r.width(), (h - room.height() - 12) / r.height())
        if max(beside, above) >= min(w / r.width(), h / r.height()):
            return r  # the hall does not reach the corner anyway
        if beside >= above:
            return r.adjusted(0, 0, (room.width() + 12) / beside, 0)
        return r.adjusted(0, 0, 0, (room.height() + 12) / above)

    def wheelEvent(self, event) -> None:  # Qt override
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    # ---- keys
    def keyPressEvent(self, event) -> None:  # Qt override
        if event.key() == Qt.Key_Escape and self.tool is not None:
            self.set_tool(None)
            event.accept()
            return
        if event.key() == Qt.Key_Space and not event.modifiers() & _SHORTCUT_MODIFIERS:
            if not event.isAutoRepeat():
                self._space_down = True
                self._space_used = False
                self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key_Escape and self._drag is not None:
            self._cancel_drag()
            event.accept()
            return
        steps = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, 1), Qt.Key_Down: (0, -1)}
        if event.key() in steps and self._drag is None and self.floor_scene().selected_ids() and not self.read_only:
            self.nudge(*steps[event.key()])
            event.accept()
            return
        super().keyPressEvent(event)

    def nudge(self, kx: int, ky: int) -> None:
        """Ask to move the selection by (kx, ky) tiles (up = north); refused with a reason if it cannot go."""
        scene = self.floor_scene()
        tile = scene.hall.tile_m
        dx, dy = round(kx * tile, 9), round(ky * tile, 9)
        items = [it for it in scene.selectedItems() if isinstance(it, ElementItem)]
        moved = [dataclasses.replace(it.element, x_m=it.element.x_m + dx, y_m=it.element.y_m + dy) for it in items]
        problem = scene.placement_problem(moved, ignore={it.element_id for it in items})
        if problem:
            self.sig_refused.emit(problem)
        else:
            self.sig_move_requested.emit([it.element_id for it in items], dx, dy)

    def keyReleaseEvent(self, event) -> None:  # Qt override
        if event.key() == Qt.Key_Space:
            if not event.isAutoRepeat():
                # only a press seen here counts: Ctrl+Space is the window's shortcut, whose release comes too
                tapped = self._space_down and not self._space_used
                self._space_down = False
                if self.tool is not None:
                    self.viewport().setCursor(self.tool.cursor)
                else:
                    self.viewport().unsetCursor()
                if tapped:
                    self.sig_space_tapped.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ---- mouse
    def _element_item_at(self, pos) -> Optional[ElementItem]:
        for it in self.items(pos):
            if isinstance(it, ElementItem):
                return it
        return None

    def _snap(self, d_m: float) -> float:
        hall = self.floor_scene().hall
        tile = hall.tile_m if hall is not None else 0.6
        return round(round(d_m / tile) * tile, 9)

    def mousePressEvent(self, event) -> None:  # Qt override
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_down):
            self._pan_from = event.position()
            self._space_used = True
            self.fitted = False
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.LeftButton and self.tool is not None:
            p = event.position().toPoint()
            x_m, y_m = to_hall(self.mapToScene(p))
            self._tool_pressed = self.tool.press(self, x_m, y_m, self._element_item_at(p))
            event.accept()
            return
        if event.button() == Qt.LeftButton:
            item = self._element_item_at(event.position().toPoint())
            if item is not None:
                scene = self.floor_scene()
                if event.modifiers() & (Qt.ControlModifier | Qt.ShiftModifier):
                    item.setSelected(not item.isSelected())
                    event.accept()
                    return
                if not item.isSelected():
                    scene.clearSelection()
                    item.setSelected(True)
                if self.read_only:  # a click selects; nothing moves
                    event.accept()
                    return
                moving = [it for it in scene.selectedItems() if isinstance(it, ElementItem)]
                scene.set_drag_ids(it.element_id for it in moving)
                self._drag = {
                    "press": to_hall(self.mapToScene(event.position().toPoint())),
                    "items": moving,
                    "orig": {it: QPointF(it.pos()) for it in moving},
                    "delta": (0.0, 0.0),
                    "problem": "",
                }
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # Qt override
        p = event.position().toPoint()
        x_m, y_m = to_hall(self.mapToScene(p))
        self.sig_cursor_moved.emit(x_m, y_m)
        if self._pan_from is not None:
            d = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            event.accept()
            return
        if self.tool is not None and self._tool_pressed:
            self.tool.move(self, x_m, y_m, self.viewport().rect().contains(p))
            event.accept()
            return
        if self._drag is not None:
            px, py = self._drag["press"]
            delta = (self._snap(x_m - px), self._snap(y_m - py))
            if delta != self._drag["delta"]:
                self._drag["delta"] = delta
                self._show_drag(delta)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def _show_drag(self, delta: tuple[float, float]) -> None:
        dx, dy = delta
        items = self._drag["items"]
        if len(items) == 1 and self._tint is None and delta != (0.0, 0.0):
            # where this element could go (computed once the drag really starts, not on every click)
            scene = self.floor_scene()
            cells = scene.fit_cells(items[0].element, moving=items[0].element)
            if cells is not None:
                self._tint = FitTintItem(cells, scene.hall_rect())
                scene.addItem(self._tint)
        for it in items:
            it.setPos(self._drag["orig"][it] + QPointF(dx * PX, -dy * PX))
        moved = [dataclasses.replace(it.element, x_m=it.element.x_m + dx, y_m=it.element.y_m + dy)
                 for it in items]
        ids = {it.element_id for it in items}
        problem = self.floor_scene().placement_problem(moved, ignore=ids) if delta != (0.0, 0.0) else ""
        self._drag["problem"] = problem
        for it in items:
            it.set_invalid(bool(problem))
        self.sig_drag_hint.emit(problem)
        if not problem:
            warning = "; ".join(p for p in self.floor_scene().capacity_problems(moved, ids) if p) \
                if delta != (0.0, 0.0) else ""
            self.sig_capacity_hint.emit(warning)

    def _cancel_drag(self) -> dict:
        drag, self._drag = self._drag, None
        for it in drag["items"]:
            it.setPos(drag["orig"][it])
            it.set_invalid(False)
        self.floor_scene().set_drag_ids(())
        if self._tint is not None:
            self.scene().removeItem(self._tint)
            self._tint = None
        self.sig_drag_hint.emit("")
        self.sig_capacity_hint.emit("")
        return drag

    def mouseReleaseEvent(self, event) -> None:  # Qt override
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            if self._space_down:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        if self.tool is not None and event.button() == Qt.LeftButton:
            tool, pressed = self.tool, self._tool_pressed
            self._tool_pressed = False
            if pressed:
                tool.release(self, *to_hall(self.mapToScene(event.position().toPoint())))
                if tool.one_shot and self.tool is tool:
                    self.set_tool(None)
            event.accept()
            return
        if self._drag is not None and event.button() == Qt.LeftButton:
            drag = self._cancel_drag()  # only the items moved; the model decides where they end up
            dx, dy = drag["delta"]
            if (dx, dy) != (0.0, 0.0):
                if drag["problem"]:
                    self.sig_refused.emit(drag["problem"])
                else:
                    self.sig_move_requested.emit([it.element_id for it in drag["items"]], dx, dy)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # ---- drop from the palette
    def _drop_place(self, pos) -> None:
        count = self._drop["count"]
        scene = self.floor_scene()
        x_m, y_m = to_hall(self.mapToScene(pos))
        hall = scene.hall
        proto = scene.with_feeds(self._drop["proto"], x_m, y_m)
        x0, y0 = scene.drop_position(proto, x_m, y_m)
        els = plan_row(proto, x0, y0, count)
        problem = scene.placement_problem(els)
        warning = "" if problem else "; ".join(p for p in scene.capacity_problems(els) if p)
        self._drop.update(x=x0, y=y0, problem=problem, placed=proto, warning=warning)
        if self._ghost is None:
            self._ghost = GhostItem()
            self.scene().addItem(self._ghost)
        self._ghost.set_rects([footprint_rect(hall.footprint(e)) for e in els], not problem, bool(warning))
        self._ghost.setToolTip(problem or warning)
        self.sig_drag_hint.emit(problem)
        if self._drop.get("overlay"):
            self.drag_overlay.hover(proto, x0, y0, count, problem)  # it says what binds there itself
        elif not problem:
            self.sig_capacity_hint.emit(warning)

    def _end_drop(self) -> None:
        if self._drop is not None and self._drop.get("overlay"):
            self.drag_overlay.stop()
        if self._ghost is not None:
            self.scene().removeItem(self._ghost)
            self._ghost = None
        if self._tint is not None:
            self.scene().removeItem(self._tint)
            self._tint = None
        self._drop = None
        self.sig_drag_hint.emit("")
        self.sig_capacity_hint.emit("")

    def dragEnterEvent(self, event) -> None:  # Qt override
        if event.mimeData().hasFormat(ELEMENT_MIME) and self.floor_scene().hall is not None and not self.read_only:
            try:
                proto, count = element_from_mime(event.mimeData().data(ELEMENT_MIME).data())
            except (ValueError, KeyError, TypeError):
                event.ignore()
                return
            self._drop = {"proto": proto, "count": count}
            scene = self.floor_scene()
            overlay = self.drag_overlay
            self._drop["overlay"] = overlay is not None and bool(overlay.start(proto, count))
            cells = None if self._drop["overlay"] else scene.fit_cells(proto, count)
            if cells is not None:
                self._tint = FitTintItem(cells, scene.hall_rect())
                scene.addItem(self._tint)
            self._drop_place(event.position().toPoint())
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # Qt override
        if self._drop is None:
            event.ignore()
            return
        self._drop_place(event.position().toPoint())
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # Qt override
        self._end_drop()
        event.accept()

    def dropEvent(self, event) -> None:  # Qt override
        if self._drop is None:
            event.ignore()
            return
        self._drop_place(event.position().toPoint())
        drop = self._drop
        self._end_drop()
        event.acceptProposedAction()
        if drop["problem"]:
            self.sig_refused.emit(drop["problem"])
        else:
            self.sig_drop_requested.emit(drop["placed"], drop["x"], drop["y"], drop["count"])
