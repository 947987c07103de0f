"""A horizontal colour bar for a :class:`dctwin.widgets.colormaps.ColorScale`."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from dctwin.widgets.colormaps import ColorScale


class ColorBarWidget(QWidget):
    """Gradient with its low and high values written at the ends."""

    def __init__(self, scale: Optional[ColorScale] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.scale = scale
        self.title = ""
        self.legend: list[tuple[str, QColor]] = []
        self.setMinimumWidth(180)
        self.setToolTip("Colour scale of the racks and the heat map")

    def set_scale(self, scale: Optional[ColorScale], title: str = "") -> None:
        self.scale = scale
        self.title = title
        self.legend = []
        self.update()

    def set_legend(self, entries: list[tuple[str, QColor]]) -> None:
        """Show named colour swatches instead of a continuous scale."""
        self.scale = None
        self.legend = list(entries)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        if self.legend:
            fm = self.fontMetrics()
            return QSize(int(sum(fm.horizontalAdvance(t) + 25 for t, _ in self.legend)), 26)
        return QSize(240, 26)

    def _fmt(self, v: float) -> str:
        if self.scale is not None and self.scale.unit == "kW":
            return f"{v / 1e3:.0f} kW"
        if self.scale is not None and self.scale.unit == "%":
            return f"{v:.0f} %"
        return f"{v:.0f} {self.scale.unit if self.scale else ''}"

    def paintEvent(self, event) -> None:  # Qt override
        p = QPainter(self)
        if self.legend:
            fm = p.fontMetrics()
            x = 2.0
            for label, colour in self.legend:
                p.fillRect(QRectF(x, 6, 12, self.height() - 12), colour)
                x += 15
                p.setPen(self.palette().color(QPalette.WindowText))
                w = fm.horizontalAdvance(label)
                p.drawText(QRectF(x, 0, w + 2, self.height()), Qt.AlignLeft | Qt.AlignVCenter, label)
                x += w + 10
            return
        if self.scale is None:
            p.setPen(self.palette().color(QPalette.WindowText))
            p.drawText(self.rect(), Qt.AlignCenter, self.title or "")
            return
        fm = p.fontMetrics()
        lo, hi = self._fmt(self.scale.vmin), self._fmt(self.scale.vmax)
        left = fm.horizontalAdvance(lo) + 6
        right = fm.horizontalAdvance(hi) + 6
        bar = QRectF(left, 4, max(self.width() - left - right, 10), self.height() - 8)
        lut = self.scale.lut
        img = QImage(lut.shape[0], 1, QImage.Format_RGBA8888)
        for i, (r, g, b, a) in enumerate(lut):
            img.setPixelColor(i, 0, QColor(int(r), int(g), int(b)))
        p.drawImage(bar, img)
        p.setPen(self.palette().color(QPalette.WindowText))
        p.drawRect(bar)
        p.drawText(QRectF(0, 0, left - 3, self.height()), Qt.AlignRight | Qt.AlignVCenter, lo)
        p.drawText(QRectF(bar.right() + 3, 0, right, self.height()), Qt.AlignLeft | Qt.AlignVCenter, hi)
        if self.title:
            p.setPen(QColor(20, 20, 20))
            p.drawText(bar, Qt.AlignCenter, self.title)
