"""The placement map: while a rack is dragged, each floor tile coloured by whether the rack fits there.

One colour per tile: green (fits), amber (fits, but tightly), red (does not fit). The tile of the
cursor is the one whose drop spot the colour describes (the floor plan's drop snapping). The item only
draws what it is given; the app computes it (:mod:`dctwin.app.find_space`) in the background and hands
over the tiles when they are ready; until then it shows nothing but a faint outline of the hall.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from dctwin.widgets.floor_plan import PX, Z_HEAT

#: fits, fits but tightly, does not fit
MAP_KINDS = ("fits", "tight", "no")
MAP_COLOURS = {"fits": QColor(20, 185, 60, 200), "tight": QColor(250, 170, 0, 210), "no": QColor(215, 30, 30, 120)}
MAP_LEGEND = "green fits · amber fits but tightly · red does not fit"


class PlacementMapItem(QGraphicsItem):
    """Tiles of the hall coloured by :data:`MAP_KINDS`; ``tiles`` maps (i, j) tile indices to a kind."""

    def __init__(self, bounds: QRectF, tile_m: float):
        super().__init__()
        self.setZValue(Z_HEAT + 0.5)  # over the heat map, under tiles, racks and units: it colours the floor
        self.setAcceptedMouseButtons(Qt.NoButton)
        self._bounds = bounds
        self.tile_m = tile_m
        self.tiles: dict[tuple[int, int], str] = {}
        self._rects: dict[str, list[QRectF]] = {k: [] for k in MAP_KINDS}
        self.ready = False

    def set_tiles(self, tiles: dict[tuple[int, int], str]) -> None:
        """The colour of every tile (missing tiles are not drawn)."""
        self.tiles = dict(tiles)
        t = self.tile_m * PX
        self._rects = {k: [] for k in MAP_KINDS}
        for (i, j), kind in self.tiles.items():
            self._rects[kind].append(QRectF(i * t, -(j + 1) * t, t, t))
        self.ready = True
        self.update()

    def kind_at(self, x_m: float, y_m: float) -> Optional[str]:
        """The colour of the tile at hall point (x_m, y_m) (None: not computed or outside)."""
        import math

        return self.tiles.get((int(math.floor(x_m / self.tile_m + 1e-9)), int(math.floor(y_m / self.tile_m + 1e-9))))

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._rects.items()}

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.ready:
            pen = QPen(QColor(40, 120, 200), 2, Qt.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawRect(self._bounds)
            return
        for kind in MAP_KINDS:
            rects = self._rects[kind]
            if rects:
                if kind == "no":
                    painter.setPen(Qt.NoPen)
                else:  # the few spots that fit stand out with an edge
                    pen = QPen(MAP_COLOURS[kind].darker(160), 1)
                    pen.setCosmetic(True)
                    painter.setPen(pen)
                painter.setBrush(MAP_COLOURS[kind])
                painter.drawRects(rects)
