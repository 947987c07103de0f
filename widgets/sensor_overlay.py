"""Sensors on the floor plan, each coloured by its residual (the model's value minus the measured one).

A :class:`SensorOverlay` adds one small marker per measured temperature point to a
:class:`~dctwin.widgets.floor_plan.FloorPlanScene`: a circle at the rack's front (inlet), one at
its back (exhaust), a square on a cooling unit (supply at its front, return at its back). Its fill is
the residual on a diverging scale: blue where the model is colder than the sensor, red where warmer,
white where they agree, full colour at ``full_scale_k`` (the recording's own:
:meth:`~dctwin.twin.assimilate.review.MeasuredView.residual_scale_k`; 3 K by default); grey without a
reading. Held-back sensors (the estimate's test) have a
dashed outline. It only renders: the owner calls :meth:`set_residuals` with each replayed second.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsItemGroup, QGraphicsRectItem

from dctwin.widgets.floor_plan import PX, to_scene

#: residual (K) at which a marker is fully blue or red
FULL_SCALE_K = 3.0
Z_SENSORS = 20
MARK_M = 0.22


def residual_colour(residual_k: float, full_scale_k: float = FULL_SCALE_K) -> QColor:
    """Blue (model too cold) - white (agrees) - red (model too warm), full at ``full_scale_k``; grey for no
    reading."""
    if residual_k is None or not math.isfinite(residual_k):
        return QColor(150, 150, 150)
    f = max(-1.0, min(1.0, residual_k / max(full_scale_k, 1e-6)))
    if f >= 0:
        return QColor(255, int(255 * (1 - f)), int(255 * (1 - f)))
    return QColor(int(255 * (1 + f)), int(255 * (1 + f)), 255)


class SensorOverlay(QGraphicsItemGroup):
    """The measured points of a shadow recording on the floor plan (module docstring)."""

    def __init__(self, parent: Optional[QGraphicsItem] = None):
        super().__init__(parent)
        self.setZValue(Z_SENSORS)
        self.setHandlesChildEvents(False)
        self.marks: dict[str, QGraphicsItem] = {}
        #: the residual (K) of full colour
        self.full_scale_k = FULL_SCALE_K

    def set_sensors(self, site, hall_id: Optional[str], sensors: Iterable) -> None:
        """One marker per temperature sensor (objects with ``point, element, quantity, role``) on the hall."""
        for it in list(self.marks.values()):
            self.removeFromGroup(it)
            if it.scene() is not None:
                it.scene().removeItem(it)
        self.marks = {}
        hall = next((h for h in site.halls if hall_id in (None, h.id)), None)
        if hall is None:
            return
        elements = {el.id: el for el in list(hall.racks) + list(hall.cooling_units)}
        s = MARK_M * PX
        for sensor in sensors:
            el = elements.get(sensor.element)
            if el is None or not sensor.quantity.endswith("_c") or sensor.quantity == "outdoor_c":
                continue
            pos = _anchor(el, sensor.quantity)
            if sensor.quantity in ("inlet_c", "exhaust_c"):
                item = QGraphicsEllipseItem(QRectF(-s / 2, -s / 2, s, s))
            else:
                item = QGraphicsRectItem(QRectF(-s / 2, -s / 2, s, s))
            item.setPos(pos)
            pen = QPen(QColor(30, 30, 30), 0)
            pen.setCosmetic(True)
            # one thin outline for all: at a whole hall's zoom (ai-hall: a marker of 5 px) a thick exhaust ring
            # hid its fill, the residual, in black
            pen.setWidthF(1.0)
            if getattr(sensor, "role", "") == "holdout":
                pen.setStyle(Qt.DashLine)
            item.setPen(pen)
            item.setBrush(QBrush(residual_colour(math.nan)))
            item.setToolTip(f"{sensor.point}\n{sensor.element} {sensor.quantity.replace('_', ' ')}")
            item.setData(0, sensor.point)
            self.addToGroup(item)
            self.marks[sensor.point] = item

    def highlight(self, point: Optional[str]) -> None:
        """Draw the marker of ``point`` larger (the sensor whose trend is shown)."""
        for name, item in self.marks.items():
            item.setScale(1.8 if name == point else 1.0)
            item.setZValue(1 if name == point else 0)

    def set_residuals(self, residuals: dict[str, float], measured: Optional[dict[str, float]] = None) -> None:
        """Colour each marker by its residual (K); ``measured`` values go into the tooltips."""
        for point, item in self.marks.items():
            r = residuals.get(point, math.nan)
            item.setBrush(QBrush(residual_colour(r, self.full_scale_k)))
            base = item.toolTip().split("\n")[:2]
            if math.isfinite(r):
                m = (measured or {}).get(point)
                base.append((f"measured {m:.1f} C, " if m is not None and math.isfinite(m) else "")
                            + f"model {'+' if r >= 0 else ''}{r:.1f} K")
            else:
                base.append("no reading")
            item.setToolTip("\n".join(base))


def _anchor(el, quantity: str) -> QPointF:
    """Where a sensor of ``quantity`` sits on element ``el``: a rack's inlet at its front edge and exhaust at
    its back, a cooling unit's supply at its front (where it blows) and return at its back (so the two of
    one unit do not hide each other), anything else at the centre."""
    x0, y0, x1, y1 = el.footprint()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if quantity not in ("inlet_c", "exhaust_c", "supply_c", "return_c"):
        return to_scene(cx, cy)
    front = quantity in ("inlet_c", "supply_c")
    facing = getattr(el, "facing", "N")
    d = {"N": (0, 1), "S": (0, -1), "E": (1, 0), "W": (-1, 0)}[facing]
    sign = 1 if front else -1
    hx, hy = (x1 - x0) / 2, (y1 - y0) / 2
    return to_scene(cx + sign * d[0] * hx, cy + sign * d[1] * hy)
