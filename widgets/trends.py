"""Trend plots (pyqtgraph): inlet temperature of the selected racks with ASHRAE limit lines, and power.

Plots keep their curve items and call ``setData``; history is kept in
growing numpy buffers, trimmed to the last ``max_points`` samples.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dctwin.twin.physics.constants import ASHRAE_A1_MAX_C, ASHRAE_RECOMMENDED_MAX_C, ASHRAE_RECOMMENDED_MIN_C
from dctwin.twin.sim.results import HallSummary, UpsState


class _RowLegend(pg.LegendItem):
    """A legend that lives in a layout cell: the layout gives it the height its entries need."""

    def updateSize(self) -> None:
        super().updateSize()  # sizes (and moves) the item to fit its entries
        h = self.height()
        if self.minimumHeight() != h:
            self.setMinimumHeight(h)
            self.setMaximumHeight(h)
        layout = self.parentLayoutItem()
        if layout is not None:
            layout.invalidate()  # put it back in its cell, and the plot below it


def _legend_above(plot: pg.PlotWidget) -> pg.LegendItem:
    """A legend in a row of its own above the plot area, so it never hides a curve or a limit line."""
    pi = plot.getPlotItem()
    pi.layout.removeItem(pi.titleLabel)
    pi.titleLabel.hide()
    legend = _RowLegend(colCount=3, horSpacing=6, verSpacing=-6, frame=False, labelTextSize="8pt")
    pi.layout.addItem(legend, 0, 1)
    pi.layout.setRowMinimumHeight(0, 0)
    pi.layout.setRowMaximumHeight(0, 1000)
    pi.legend = legend  # curves added with a name join it (pyqtgraph's PlotItem.addItem)
    return legend


_PENS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
         (227, 119, 194), (127, 127, 127)]


class TrendsPanel(QWidget):
    """Inlet temperatures of chosen racks and total IT / facility power against simulated time."""

    MAX_RACKS = 8
    #: inlet axis range (°C) always shown, so every ASHRAE line and its label are visible; data widens it
    TEMP_RANGE_C = (15.0, 35.0)

    def __init__(self, parent: Optional[QWidget] = None, max_points: int = 5000):
        super().__init__(parent)
        self.max_points = max_points
        self.t_s = np.empty(0)
        self.inlet: dict[str, np.ndarray] = {}
        self.it_kw = np.empty(0)
        self.facility_kw = np.empty(0)
        self.pue = np.empty(0)
        self.max_inlet = np.empty(0)
        self.rack_ids: list[str] = []
        self.temp_plot = pg.PlotWidget(self)
        self.temp_plot.setLabel("left", "inlet", units="°C")
        self.temp_plot.setLabel("bottom", "time", units="s")
        self.legends = [_legend_above(self.temp_plot)]
        self.temp_plot.showGrid(x=True, y=True, alpha=0.2)
        # the limit lines are named in the legend (a label on the line would sit on the curves)
        self.limit_lines: dict[str, pg.InfiniteLine] = {}
        rec = f"rec. {ASHRAE_RECOMMENDED_MIN_C:g}–{ASHRAE_RECOMMENDED_MAX_C:g}"
        for value, label, colour in ((ASHRAE_RECOMMENDED_MIN_C, rec, (235, 150, 0)),
                                     (ASHRAE_RECOMMENDED_MAX_C, rec, (235, 150, 0)),
                                     (ASHRAE_A1_MAX_C, f"A1 max {ASHRAE_A1_MAX_C:g}", (230, 40, 40))):
            pen = pg.mkPen(colour, width=1, style=pg.QtCore.Qt.DashLine)
            line = pg.InfiniteLine(pos=value, angle=0, pen=pen)
            self.temp_plot.addItem(line, ignoreBounds=True)
            if label not in self.limit_lines:
                self.legends[0].addItem(pg.PlotDataItem(pen=pen), label)
            self.limit_lines[label] = line
        self.temp_plot.getPlotItem().enableAutoRange(y=False)
        self.temp_plot.setYRange(*self.TEMP_RANGE_C, padding=0)
        self.power_plot = pg.PlotWidget(self)
        self.power_plot.setLabel("left", "power", units="kW")
        self.power_plot.setLabel("bottom", "time", units="s")
        self.legends.append(_legend_above(self.power_plot))
        self.power_plot.showGrid(x=True, y=True, alpha=0.2)
        self.temp_plot.setXLink(self.power_plot)  # the power curve always has data: it leads the time axis
        self.it_curve = self.power_plot.plot(name="IT", pen=pg.mkPen((31, 119, 180), width=2))
        self.facility_curve = self.power_plot.plot(name="facility", pen=pg.mkPen((214, 39, 40), width=2))
        # PUE on a right-hand axis of the power plot (its own view box, same time axis)
        pi = self.power_plot.getPlotItem()
        self.pue_box = pg.ViewBox()
        pi.showAxis("right")
        pi.scene().addItem(self.pue_box)
        pi.getAxis("right").linkToView(self.pue_box)
        pi.getAxis("right").setLabel("PUE")
        self.pue_box.setXLink(pi)
        self.pue_curve = pg.PlotDataItem(pen=pg.mkPen((44, 160, 44), width=2, style=pg.QtCore.Qt.DashLine))
        self.pue_box.addItem(self.pue_curve)
        self.legends[-1].addItem(self.pue_curve, "PUE (right)")
        pi.vb.sigResized.connect(self._on_power_box_resized)
        self.soc_plot = pg.PlotWidget(self)
        self.soc_plot.setLabel("left", "UPS charge", units="%")
        self.soc_plot.setLabel("bottom", "time", units="s")
        self.legends.append(_legend_above(self.soc_plot))
        self.soc_plot.showGrid(x=True, y=True, alpha=0.2)
        self.soc_plot.setYRange(0, 100)
        self.soc_plot.setXLink(self.power_plot)
        self.soc: dict[str, np.ndarray] = {}
        self.soc_curves: dict[str, pg.PlotDataItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.max_curve = self.temp_plot.plot(name="hottest", pen=pg.mkPen((150, 150, 150), width=2,
                                                                          style=pg.QtCore.Qt.DotLine))
        for plot in (self.temp_plot, self.power_plot, self.soc_plot):
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(56)
        self.power_plot.getAxis("right").setWidth(44)
        self.apply_palette()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.temp_plot, 3)
        lay.addWidget(self.power_plot, 2)
        lay.addWidget(self.soc_plot, 2)
        self.soc_plot.hide()  # shown once a UPS with a battery reports

    #: legend columns: one per this many pixels of panel width
    LEGEND_COLUMN_PX = 100

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        cols = max(1, min(4, (self.width() - 70) // self.LEGEND_COLUMN_PX))
        for legend in self.legends:
            if legend.columnCount != cols:
                legend.setColumnCount(cols)

    def _on_power_box_resized(self) -> None:
        vb = self.power_plot.getPlotItem().vb
        self.pue_box.setGeometry(vb.sceneBoundingRect())
        self.pue_box.linkedViewChanged(vb, self.pue_box.XAxis)

    def apply_palette(self) -> None:
        """Follow the application's light or dark palette."""
        pal = self.palette()
        bg = pal.color(pal.ColorRole.Base)
        fg = pal.color(pal.ColorRole.Text)
        for plot in (self.temp_plot, self.power_plot, self.soc_plot):
            plot.setBackground(bg)
            for name in ("left", "bottom", "right"):
                ax = plot.getAxis(name)
                ax.setPen(fg)
                ax.setTextPen(fg)
        for legend in self.legends:
            legend.setLabelTextColor(fg)
            for _, label in legend.items:
                label.setText(label.text, color=fg)  # existing entries re-render in the new colour

    def changeEvent(self, event) -> None:  # Qt override
        if event.type() == event.Type.PaletteChange:
            self.apply_palette()
        super().changeEvent(event)

    def set_racks(self, ids: list[str]) -> None:
        """Plot these racks (the first MAX_RACKS of them)."""
        ids = list(ids)[: self.MAX_RACKS]
        if ids == self.rack_ids:
            return
        # the k-th rack plotted takes the k-th curve (and its colour): another rack selected renames a curve
        # and its legend entry instead of building new ones
        slots = list(self.curves.values())
        for k in range(len(slots), len(ids)):
            slots.append(self.temp_plot.plot(name=ids[k], pen=pg.mkPen(_PENS[k % len(_PENS)], width=2)))
        for curve in slots[len(ids):]:
            self.temp_plot.removeItem(curve)
        legend = self.legends[0]
        for curve, ident in zip(slots, ids):
            if curve.name() != ident:
                curve.opts["name"] = ident  # PlotDataItem has no setter for its name
                label = next(label for sample, label in legend.items if sample.item is curve)
                label.setText(ident)
                legend.updateSize()
        self.curves = dict(zip(ids, slots))
        self.rack_ids = ids
        self._draw_racks()  # only the inlet plot changes: the power and UPS plots are not drawn again

    def clear(self) -> None:
        self.soc = {}
        self.max_inlet = np.empty(0)
        self.t_s = np.empty(0)
        self.inlet = {}
        self.it_kw = np.empty(0)
        self.facility_kw = np.empty(0)
        self._redraw()

    def add_frame(self, t_s: float, summary: HallSummary, ups: Optional[dict[str, UpsState]] = None) -> None:
        """Append one sample from an engine summary (racks' inlet_c, power) and UPS states by id."""
        racks = summary.racks
        n = self.t_s.size
        if n and t_s < self.t_s[-1]:
            self.clear()  # the clock went back (new run): start over
            n = 0
        self.t_s = np.append(self.t_s, t_s)
        for ident, data in racks.items():
            arr = self.inlet.get(ident)
            if arr is None:
                arr = np.full(n, np.nan)
            v = data.inlet_c
            self.inlet[ident] = np.append(arr, np.nan if v is None else float(v))
        for ident in list(self.inlet):
            if ident not in racks:
                self.inlet[ident] = np.append(self.inlet[ident], np.nan)
        hot = summary.max_inlet_c
        if hot is None:
            vals = [d.inlet_c for d in racks.values() if d.inlet_c is not None]
            hot = max(vals) if vals else None
        self.max_inlet = np.append(self.max_inlet, np.nan if hot is None else float(hot))
        ups = ups or {}
        for ident in set(self.soc) | set(ups):
            arr = self.soc.get(ident, np.full(n, np.nan))
            v = ups[ident].soc if ident in ups else None
            self.soc[ident] = np.append(arr, np.nan if v is None else 100.0 * float(v))
        it_w = summary.it_power_w
        if it_w is None:
            it_w = sum(float(d.power_w or 0.0) for d in racks.values())
        self.it_kw = np.append(self.it_kw, it_w / 1e3)
        pue = summary.pue
        fac = pue * it_w if isinstance(pue, (int, float)) and it_w else None  # PUE = facility / IT
        self.facility_kw = np.append(self.facility_kw, np.nan if fac is None else fac / 1e3)
        if self.t_s.size > self.max_points:
            cut = self.t_s.size - self.max_points
            self.t_s = self.t_s[cut:]
            self.it_kw = self.it_kw[cut:]
            self.facility_kw = self.facility_kw[cut:]
            self.max_inlet = self.max_inlet[cut:]
            self.soc = {k: v[cut:] for k, v in self.soc.items()}
            self.inlet = {k: v[cut:] for k, v in self.inlet.items()}
        self._redraw()

    def set_history(self, t_s: np.ndarray, inlet: dict[str, np.ndarray], max_inlet: np.ndarray,
                    it_kw: np.ndarray, facility_kw: np.ndarray, soc: Optional[dict[str, np.ndarray]] = None) -> None:
        """Show a whole recorded history at once (replay): arrays over ``t_s``; SoC in %."""
        n = len(t_s)
        self.t_s = np.asarray(t_s, float)
        self.inlet = {k: np.asarray(v, float) for k, v in inlet.items() if len(v) == n}
        self.max_inlet = np.asarray(max_inlet, float)
        self.it_kw = np.asarray(it_kw, float)
        self.facility_kw = np.asarray(facility_kw, float)
        self.soc = {k: np.asarray(v, float) for k, v in (soc or {}).items() if len(v) == n}
        self._redraw()

    def set_cursor(self, t_s: Optional[float]) -> None:
        """A vertical line at the replayed second (None hides it)."""
        if getattr(self, "_cursors", None) is None:
            self._cursors = []
            for plot in (self.temp_plot, self.power_plot, self.soc_plot):
                line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((30, 100, 220), width=1))
                plot.addItem(line, ignoreBounds=True)
                self._cursors.append(line)
        for line in self._cursors:
            line.setVisible(t_s is not None)
            if t_s is not None:
                line.setPos(float(t_s))

    def _draw_racks(self) -> None:
        """The racks' inlet curves, and the inlet axis over them and the hottest inlet."""
        t = self.t_s
        for ident, curve in self.curves.items():
            y = self.inlet.get(ident)
            if y is None or y.size != t.size:
                curve.setData([], [])
            else:
                curve.setData(t, y, connect="finite")
        temps = [a for a in [self.max_inlet, *(self.inlet.get(i) for i in self.curves)] if a is not None and a.size]
        lo, hi = self.TEMP_RANGE_C
        if temps:
            allt = np.concatenate(temps)
            if np.isfinite(allt).any():
                lo, hi = min(lo, float(np.nanmin(allt)) - 1.0), max(hi, float(np.nanmax(allt)) + 1.0)
        self.temp_plot.setYRange(lo, hi, padding=0)

    def _redraw(self) -> None:
        t = self.t_s
        self._draw_racks()
        self.it_curve.setData(t, self.it_kw, connect="finite")
        self.max_curve.setData(t, self.max_inlet, connect="finite")
        with np.errstate(divide="ignore", invalid="ignore"):
            self.pue = np.where(self.it_kw > 0, self.facility_kw / self.it_kw, np.nan)
        if np.isfinite(self.pue).any():
            self.pue_curve.setData(t, self.pue, connect="finite")
            lo, hi = float(np.nanmin(self.pue)), float(np.nanmax(self.pue))
            self.pue_box.setYRange(min(1.0, lo), max(hi + 0.1, 1.6), padding=0.02)
        else:
            self.pue_curve.setData([], [])
        for k, ident in enumerate(sorted(self.soc)):
            curve = self.soc_curves.get(ident)
            if curve is None:
                curve = self.soc_curves[ident] = self.soc_plot.plot(name=ident,
                                                                    pen=pg.mkPen(_PENS[k % len(_PENS)], width=2))
            y = self.soc[ident]
            if y.size == t.size:
                curve.setData(t, y, connect="finite")
            else:
                curve.setData([], [])
        for ident in [i for i in self.soc_curves if i not in self.soc]:
            self.soc_plot.removeItem(self.soc_curves.pop(ident))
        self.soc_plot.setVisible(bool(self.soc))
        if np.isfinite(self.facility_kw).any():
            self.facility_curve.setData(t, self.facility_kw, connect="finite")
        else:
            self.facility_curve.setData([], [])
