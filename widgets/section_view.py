"""The vertical section: the air temperature on a vertical slice of the hall along a line picked on the
plan, with arrows of the flow in that slice, and the heat map's height marked.

The picture is a pyqtgraph image in metres (distance along the line from A to B, height above the
floor) coloured with the plan's temperature scale; the height is drawn stretched to fill the panel, so
the arrows are laid out on screen: their direction is the air's true direction on the slice whatever
the stretch, their length the speed relative to the fastest on the slice.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from dctwin.twin.sim.sections import Section
from dctwin.widgets.colormaps import ColorScale

#: most arrows across and up the slice
MAX_ARROWS_ACROSS, MAX_ARROWS_UP = 36, 10
#: longest arrow on screen (px)
ARROW_PX = 22.0


class SectionPanel(QWidget):
    """See the module docstring; it shows what it is given (:meth:`set_section`) and asks for a line."""

    #: the person wants to pick the section's line on the plan
    sig_pick_requested = Signal()
    #: the person closed the section (no line any more)
    sig_clear_requested = Signal()

    def __init__(self, scale: ColorScale, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.scale = scale
        self.section: Optional[Section] = None
        self.heat_z_m: Optional[float] = None
        self.pick_button = QPushButton("Pick a Line on the Plan", self)
        self.pick_button.setToolTip("Drag a line across the floor plan: the section cuts vertically along it")
        self.pick_button.clicked.connect(self.sig_pick_requested)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.sig_clear_requested)
        self.info = QLabel("No section yet: pick a line on the plan.", self)
        self.info.setWordWrap(True)
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "along the line, A → B (m)")
        self.plot.setLabel("left", "height (m)")
        self.plot.setMinimumHeight(90)
        self.plot.setBackground(self.palette().color(self.backgroundRole()))
        self.plot.getViewBox().setBackgroundColor((88, 90, 98))  # solids (no air) show as the plan's walls do
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen((20, 20, 30), width=1.4), connect="pairs")
        self.arrows_halo = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 170), width=3.2), connect="pairs")
        self.plot.addItem(self.arrows_halo)
        self.plot.addItem(self.arrows)
        self.heat_line = pg.InfiniteLine(angle=0, movable=False,
                                         pen=pg.mkPen((30, 100, 220), width=1.5, style=Qt.DashLine),
                                         label="heat map", labelOpts={"position": 0.96, "color": (30, 100, 220)})
        self.plot.addItem(self.heat_line)
        self.heat_line.hide()
        self.plot.getViewBox().sigResized.connect(self._draw_arrows)
        self.plot.getViewBox().sigRangeChanged.connect(lambda *_: self._draw_arrows())
        top = QHBoxLayout()
        top.addWidget(self.info, 1)
        top.addWidget(self.pick_button)
        top.addWidget(self.clear_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        self.clear_button.setEnabled(False)

    def changeEvent(self, event) -> None:  # Qt override: light/dark switch
        if event.type() == QEvent.PaletteChange:
            self.plot.setBackground(self.palette().color(self.backgroundRole()))
            axis_pen = pg.mkPen(self.palette().color(QPalette.WindowText))
            for name in ("bottom", "left"):
                axis = self.plot.getAxis(name)
                axis.setPen(axis_pen)
                axis.setTextPen(axis_pen)
        super().changeEvent(event)

    def set_section(self, section: Optional[Section], heat_z_m: Optional[float] = None) -> None:
        """Show ``section`` (None: empty), with the heat map's height ``heat_z_m`` marked (None: off)."""
        self.section = section
        self.heat_z_m = heat_z_m
        self.clear_button.setEnabled(section is not None)
        if section is None:
            self.image.clear()
            self.arrows.setData([], [])
            self.arrows_halo.setData([], [])
            self.heat_line.hide()
            self.info.setText("No section yet: pick a line on the plan.")
            return
        s, z = section.s_m, section.z_m
        ds = float(s[1] - s[0]) if len(s) > 1 else 0.3
        dz = float(z[1] - z[0]) if len(z) > 1 else section.height_m
        self.image.setImage(self.scale.rgba(section.temp_c), autoLevels=False)
        self.image.setRect(QRectF(float(s[0]) - ds / 2, 0.0, float(s[-1] - s[0]) + ds, len(z) * dz))
        hot = np.nanmax(section.temp_c) if np.isfinite(section.temp_c).any() else float("nan")
        speed = np.hypot(section.v_along, section.v_up)
        top = np.nanmax(speed) if np.isfinite(speed).any() else 0.0
        (ax, ay), (bx, by) = section.p0, section.p1
        self.info.setText(f"A ({ax:.1f}, {ay:.1f}) m → B ({bx:.1f}, {by:.1f}) m, {section.length_m:.1f} m: "
                          f"hottest {hot:.1f} °C, fastest air {top:.2f} m/s")
        if heat_z_m is not None:
            self.heat_line.setValue(heat_z_m)
            self.heat_line.show()
        else:
            self.heat_line.hide()
        self.plot.setXRange(float(s[0]) - ds / 2, float(s[-1]) + ds / 2, padding=0.01)
        self.plot.setYRange(0.0, section.height_m, padding=0.02)
        self._draw_arrows()

    def arrow_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the arrows' line segments in plot units, pairs of points (tail, head, barbs)."""
        sec = self.section
        if sec is None:
            return np.zeros(0), np.zeros(0)
        px, py = self.plot.getViewBox().viewPixelSize()  # metres per screen pixel, across and up
        if not (px > 0 and py > 0 and math.isfinite(px) and math.isfinite(py)):
            return np.zeros(0), np.zeros(0)
        # as many arrows as fit the panel on screen (a low dock gets fewer rows, not arrows on arrows)
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        cell_px = ARROW_PX * 1.15
        n_across = max(1, min(MAX_ARROWS_ACROSS, int((x1 - x0) / px // cell_px)))
        n_up = max(1, min(MAX_ARROWS_UP, int((y1 - y0) / py // cell_px)))
        ks = max(1, int(math.ceil(len(sec.s_m) / n_across)))
        kz = max(1, int(math.ceil(len(sec.z_m) / n_up)))
        ds = ks * (sec.s_m[1] - sec.s_m[0]) / px if len(sec.s_m) > 1 else ARROW_PX
        dz = kz * (sec.z_m[1] - sec.z_m[0]) / py if len(sec.z_m) > 1 else ARROW_PX
        longest = min(ARROW_PX, 0.85 * ds, 0.85 * dz)  # px: an arrow stays within its own spacing
        va, vu = sec.v_along[::ks, ::kz], sec.v_up[::ks, ::kz]
        S, Z = np.meshgrid(sec.s_m[::ks], sec.z_m[::kz], indexing="ij")
        speed = np.hypot(va, vu)
        top = np.nanmax(speed) if np.isfinite(speed).any() else 0.0
        ok = np.isfinite(speed) & (speed > 0.04 * top)
        if top <= 0 or not ok.any():
            return np.zeros(0), np.zeros(0)
        S, Z, va, vu, speed = S[ok], Z[ok], va[ok], vu[ok], speed[ok]
        length = longest * (0.3 + 0.7 * speed / top)  # px
        ux, uy = va / speed, vu / speed  # direction on screen (px), then back to plot units
        tx, ty = S - 0.5 * length * ux * px, Z - 0.5 * length * uy * py
        hx, hy = S + 0.5 * length * ux * px, Z + 0.5 * length * uy * py
        xs, ys = [tx, hx], [ty, hy]
        barb = 0.35 * length
        for turn in (math.radians(155), math.radians(-155)):
            c, sn = math.cos(turn), math.sin(turn)
            bx, by = ux * c - uy * sn, ux * sn + uy * c
            xs += [hx, hx + barb * bx * px]
            ys += [hy, hy + barb * by * py]
        # interleave as (tail, head), (head, barb), (head, barb) pairs per arrow
        x = np.stack(xs, axis=1).reshape(-1)
        y = np.stack(ys, axis=1).reshape(-1)
        return x, y

    def _draw_arrows(self, *_args) -> None:
        x, y = self.arrow_segments()
        self.arrows_halo.setData(x, y)
        self.arrows.setData(x, y)
