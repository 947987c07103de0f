"""Overlays of the floor plan that show the air: arrows of the horizontal flow, and the line a vertical
section cuts along.

:class:`AirflowArrowsItem` draws the flow of one cell layer (a
:class:`~dctwin.twin.sim.sections.PlanFlow`) as arrows spaced for the zoom (one per block of cells, the
block's mean velocity), their length by speed relative to the fastest, so an operator sees where the
hot air goes around row ends. :class:`SectionLineItem` marks a section's line, A at its start, B at its
end (as the section view's axis runs).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsSimpleTextItem, QLabel, QWidget

from dctwin.twin.sim.sections import PlanFlow
from dctwin.widgets.floor_plan import PX, Z_GHOST, Z_GRILLE, to_scene

#: arrows are at least this far apart on screen (px)
ARROW_SPACING_PX = 26.0
#: a block slower than this fraction of the reference speed gets no arrow (still air)
STILL_FRACTION = 0.04


def plan_label(view: QWidget, name: str) -> QLabel:
    """A hidden text line over the plan's view (a legend, what the plan shows): filled, clicks pass through."""
    label = QLabel(view)
    label.setObjectName(name)
    label.setAttribute(Qt.WA_TransparentForMouseEvents, True)
    label.setAutoFillBackground(True)
    label.setMargin(3)
    label.hide()
    return label


def block_means(vx: np.ndarray, vy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``vx``, ``vy`` over blocks of ``k`` x ``k`` cells (NaN cells left out; NaN where a block
    has no air). The last block of a row or column may be smaller."""
    nx, ny = vx.shape
    bx, by = -(-nx // k), -(-ny // k)
    pad = ((0, bx * k - nx), (0, by * k - ny))
    out = []
    for v in (vx, vy):
        p = np.pad(v, pad, constant_values=np.nan).reshape(bx, k, by, k)
        ok = np.isfinite(p)
        n = ok.sum(axis=(1, 3))
        s = np.where(ok, p, 0.0).sum(axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(n > 0, s / np.maximum(n, 1), np.nan))
    return out[0], out[1]


class AirflowArrowsItem(QGraphicsItem):
    """Arrows of the horizontal air flow at one height (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_GRILLE + 0.5)  # over the heat map and tiles, under racks and units
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.flow: Optional[PlanFlow] = None
        #: the speed of a full-length arrow (m/s): the flow's 95th percentile
        self.ref_speed = 0.0
        self._bounds = QRectF()
        self._paths: dict[int, QPainterPath] = {}

    def set_flow(self, flow: Optional[PlanFlow]) -> None:
        """Show ``flow`` (None: nothing)."""
        self.flow = flow
        self._paths.clear()
        if flow is None:
            self.ref_speed = 0.0
            self.update()
            return
        speed = flow.speed
        finite = speed[np.isfinite(speed)]
        self.ref_speed = float(np.percentile(finite, 95)) if finite.size else 0.0
        x0, y0, x1, y1 = flow.extent
        bounds = QRectF(x0 * PX, -y1 * PX, (x1 - x0) * PX, (y1 - y0) * PX)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def stride(self, lod: float) -> int:
        """Cells per arrow at zoom ``lod`` (screen pixels per scene unit)."""
        if self.flow is None:
            return 1
        nx, _ny = self.flow.vx.shape
        x0, _, x1, _ = self.flow.extent
        cell_px = (x1 - x0) / nx * PX * max(lod, 1e-6)
        return max(1, int(math.ceil(ARROW_SPACING_PX / cell_px)))

    def arrows(self, k: int) -> list[tuple[QPointF, QPointF]]:
        """(tail, head) in scene coordinates of every arrow at ``k`` cells per arrow."""
        f = self.flow
        if f is None or self.ref_speed <= 0:
            return []
        bx, by = block_means(f.vx, f.vy, k)
        nx, ny = f.vx.shape
        x0, y0, x1, y1 = f.extent
        dx, dy = (x1 - x0) / nx, (y1 - y0) / ny
        step = k * min(dx, dy)
        out = []
        speed = np.hypot(bx, by)
        for a, b in zip(*np.nonzero(np.isfinite(speed) & (speed >= STILL_FRACTION * self.ref_speed))):
            cx = x0 + (a * k + min((a + 1) * k, nx)) / 2 * dx  # the middle of the block's cells
            cy = y0 + (b * k + min((b + 1) * k, ny)) / 2 * dy
            s = float(speed[a, b])
            length = 0.85 * step * min(1.0, 0.25 + 0.75 * s / self.ref_speed)
            ux, uy = float(bx[a, b]) / s, float(by[a, b]) / s
            tail = to_scene(cx - 0.5 * length * ux, cy - 0.5 * length * uy)
            head = to_scene(cx + 0.5 * length * ux, cy + 0.5 * length * uy)
            out.append((tail, head))
        return out

    def _path(self, k: int) -> QPainterPath:
        path = self._paths.get(k)
        if path is None:
            path = QPainterPath()
            for tail, head in self.arrows(k):
                line = QLineF(head, tail)
                barb = min(line.length() * 0.4, 9.0 * k)
                path.moveTo(tail)
                path.lineTo(head)
                for turn in (25.0, -25.0):
                    side = QLineF(line)
                    side.setAngle(line.angle() + turn)
                    side.setLength(barb)
                    path.moveTo(head)
                    path.lineTo(side.p2())
            self._paths = {k: path}  # one zoom at a time
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.flow is None:
            return
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        path = self._path(self.stride(lod))
        painter.setBrush(Qt.NoBrush)
        halo = QPen(QColor(255, 255, 255, 170), 3.2, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        halo.setCosmetic(True)
        painter.setPen(halo)
        painter.drawPath(path)
        pen = QPen(QColor(25, 25, 35), 1.4, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPath(path)


class SectionLineItem(QGraphicsLineItem):
    """Where the vertical section cuts: a dashed line, A at its start, B at its end."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_GHOST - 1.5)
        self.setAcceptedMouseButtons(Qt.NoButton)
        pen = QPen(QColor(30, 100, 220), 2.5, Qt.DashLine, Qt.RoundCap)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.ends = []
        for text in ("A", "B"):
            label = QGraphicsSimpleTextItem(text, self)
            label.setFlag(QGraphicsItem.ItemIgnoresTransformations, True)
            font = QFont()
            font.setPixelSize(14)
            font.setBold(True)
            label.setFont(font)
            label.setBrush(QColor(30, 100, 220))
            self.ends.append(label)

    def set_line_m(self, x0: float, y0: float, x1: float, y1: float) -> None:
        a, b = to_scene(x0, y0), to_scene(x1, y1)
        self.setLine(QLineF(a, b))
        self.ends[0].setPos(a + QPointF(4, 2))
        self.ends[1].setPos(b + QPointF(4, 2))
