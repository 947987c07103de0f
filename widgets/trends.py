"""Trend plots (pyqtgraph): inlet temperature of the selected racks with ASHRAE limit lines, and power.

Plots keep their curve items and call ``setData``; history is kept in
growing numpy buffers, trimmed to the last ``max_points`` samples.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.colormaps import ASHRAE_A1_MAX_C, ASHRAE_REC_HI_C, ASHRAE_REC_LO_C

_PENS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
         (227, 119, 194), (127, 127, 127)]


class TrendsPanel(QWidget):
    """Inlet temperatures of chosen racks and total IT / facility power against simulated time."""

    MAX_RACKS = 8

    def __init__(self, parent: Optional[QWidget] = None, max_points: int = 5000):
        super().__init__(parent)
        self.max_points = max_points
        self.t_s = np.empty(0)
        self.inlet: dict[str, np.ndarray] = {}
        self.it_kw = np.empty(0)
        self.facility_kw = np.empty(0)
        self.max_inlet = np.empty(0)
        self.rack_ids: list[str] = []
        self.temp_plot = pg.PlotWidget(self)
        self.temp_plot.setLabel("left", "inlet", units="°C")
        self.temp_plot.setLabel("bottom", "time", units="s")
        self.temp_plot.addLegend(offset=(5, 5))
        self.temp_plot.showGrid(x=True, y=True, alpha=0.2)
        for value, label, colour in ((ASHRAE_REC_LO_C, "rec. min", (80, 150, 255)),
                                     (ASHRAE_REC_HI_C, "rec. max", (255, 170, 0)),
                                     (ASHRAE_A1_MAX_C, "A1 max", (230, 40, 40))):
            line = pg.InfiniteLine(pos=value, angle=0, pen=pg.mkPen(colour, width=1, style=pg.QtCore.Qt.DashLine),
                                   label=label, labelOpts={"position": {18.0: 0.08, 27.0: 0.3, 32.0: 0.55}[value],
                                                           "color": colour, "anchors": [(0, 1), (0, 1)]})
            self.temp_plot.addItem(line)
        self.power_plot = pg.PlotWidget(self)
        self.power_plot.setLabel("left", "power", units="kW")
        self.power_plot.setLabel("bottom", "time", units="s")
        self.power_plot.addLegend(offset=(5, 5))
        self.power_plot.showGrid(x=True, y=True, alpha=0.2)
        self.temp_plot.setXLink(self.power_plot)  # the power curve always has data: it leads the time axis
        self.it_curve = self.power_plot.plot(name="IT", pen=pg.mkPen((31, 119, 180), width=2))
        self.facility_curve = self.power_plot.plot(name="facility", pen=pg.mkPen((214, 39, 40), width=2))
        self.soc_plot = pg.PlotWidget(self)
        self.soc_plot.setLabel("left", "UPS charge", units="%")
        self.soc_plot.setLabel("bottom", "time", units="s")
        self.soc_plot.addLegend(offset=(5, 5))
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
        self.apply_palette()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.temp_plot, 3)
        lay.addWidget(self.power_plot, 2)
        lay.addWidget(self.soc_plot, 2)
        self.soc_plot.hide()  # shown once a UPS with a battery reports

    def apply_palette(self) -> None:
        """Follow the application's light or dark palette."""
        pal = self.palette()
        bg = pal.color(pal.ColorRole.Base)
        fg = pal.color(pal.ColorRole.Text)
        for plot in (self.temp_plot, self.power_plot, self.soc_plot):
            plot.setBackground(bg)
            for name in ("left", "bottom"):
                ax = plot.getAxis(name)
                ax.setPen(fg)
                ax.setTextPen(fg)

    def changeEvent(self, event) -> None:  # Qt override
        if event.type() == event.Type.PaletteChange:
            self.apply_palette()
        super().changeEvent(event)

    def set_racks(self, ids: list[str]) -> None:
        """Plot these racks (the first MAX_RACKS of them)."""
        ids = list(ids)[: self.MAX_RACKS]
        if ids == self.rack_ids:
            return
        for ident in list(self.curves):
            if ident not in ids:
                self.temp_plot.removeItem(self.curves.pop(ident))
        for k, ident in enumerate(ids):
            if ident not in self.curves:
                self.curves[ident] = self.temp_plot.plot(name=ident, pen=pg.mkPen(_PENS[k % len(_PENS)], width=2))
        self.rack_ids = ids
        self._redraw()

    def clear(self) -> None:
        self.soc = {}
        self.max_inlet = np.empty(0)
        self.t_s = np.empty(0)
        self.inlet = {}
        self.it_kw = np.empty(0)
        self.facility_kw = np.empty(0)
        self._redraw()

    def add_frame(self, t_s: float, summary: dict, ups: Optional[dict] = None) -> None:
        """Append one sample from an engine summary (racks' inlet_c, power) and UPS states ({id: {"soc"}})."""
        racks = summary.get("racks") or {}
        n = self.t_s.size
        if n and t_s < self.t_s[-1]:
            self.clear()  # the clock went back (new run): start over
            n = 0
        self.t_s = np.append(self.t_s, t_s)
        for ident, data in racks.items():
            arr = self.inlet.get(ident)
            if arr is None:
                arr = np.full(n, np.nan)
            v = data.get("inlet_c")
            self.inlet[ident] = np.append(arr, np.nan if v is None else float(v))
        for ident in list(self.inlet):
            if ident not in racks:
                self.inlet[ident] = np.append(self.inlet[ident], np.nan)
        hot = summary.get("max_inlet_c")
        if hot is None:
            vals = [d.get("inlet_c") for d in racks.values() if d.get("inlet_c") is not None]
            hot = max(vals) if vals else None
        self.max_inlet = np.append(self.max_inlet, np.nan if hot is None else float(hot))
        ups = ups or {}
        for ident in set(self.soc) | set(ups):
            arr = self.soc.get(ident, np.full(n, np.nan))
            v = (ups.get(ident) or {}).get("soc")
            self.soc[ident] = np.append(arr, np.nan if v is None else 100.0 * float(v))
        it_w = summary.get("it_power_w", summary.get("it_w"))
        if it_w is None:
            it_w = sum(float(d.get("power_w") or 0.0) for d in racks.values())
        self.it_kw = np.append(self.it_kw, it_w / 1e3)
        fac = summary.get("facility_power_w", summary.get("facility_w"))
        pue = summary.get("pue")
        if fac is None and isinstance(pue, (int, float)) and it_w:
            fac = pue * it_w  # PUE = facility / IT
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

    def _redraw(self) -> None:
        t = self.t_s
        for ident, curve in self.curves.items():
            y = self.inlet.get(ident)
            if y is None or y.size != t.size:
                curve.setData([], [])
            else:
                curve.setData(t, y, connect="finite")
        self.it_curve.setData(t, self.it_kw, connect="finite")
        self.max_curve.setData(t, self.max_inlet, connect="finite")
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
