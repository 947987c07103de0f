"""Measured beside predicted: one sensor's trend of a shadow recording (measured, predicted, estimated).

The panel shows a :class:`~dctwin.twin.assimilate.review.MeasuredView`: pick a sensor (listed worst
first, by the RMS of predicted minus measured) and see its measured samples as dots, the model's
prediction as a line and the estimate (the model corrected by the other sensors) as a dashed line,
with the replay's second as a cursor. It only renders; the owner sets the view and the cursor.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dctwin.twin.assimilate.review import ROLE_TEXT

MEASURED_PEN = (240, 170, 0)  # amber dots: visible on light and dark plots
PREDICTED_PEN = (214, 39, 40)
ESTIMATED_PEN = (31, 119, 180)
QUANTITY_LABELS = {"inlet_c": "inlet", "exhaust_c": "exhaust", "supply_c": "supply", "return_c": "return",
                   "outdoor_c": "outdoor", "power_w": "power", "load_w": "load", "airflow_m3s": "airflow",
                   "running": "running", "soc": "charge"}


class MeasuredTrendsPanel(QWidget):
    """One sensor of a shadow replay: measured dots, predicted and estimated lines, a cursor."""

    #: the sensor shown changed (its point name)
    sig_point_chosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.view: Any = None
        self.combo = QComboBox(self)
        self.combo.currentIndexChanged.connect(self._on_combo_changed)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        #: what the racks on the floor plan show: the model's prediction or the estimate (its owner applies it)
        self.racks_combo = QComboBox(self)
        self.racks_combo.addItem("Estimated (corrected by the sensors)", "estimated")
        self.racks_combo.addItem("Predicted (the model alone)", "predicted")
        self.racks_combo.setToolTip("What the racks on the floor plan show (Ctrl+E switches)")
        #: how the floor plan colours the sensors (the recording's scale)
        self.plan_note = QLabel(self)
        self.plan_note.setWordWrap(True)
        self.plot = pg.PlotWidget(self)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        legend = self.plot.addLegend(offset=(8, 4))
        self.measured = self.plot.plot(name="measured", pen=None, symbol="o", symbolSize=4,
                                       symbolBrush=pg.mkBrush(*MEASURED_PEN), symbolPen=None)
        self.predicted = self.plot.plot(name="predicted", pen=pg.mkPen(PREDICTED_PEN, width=2))
        self.estimated = self.plot.plot(name="estimated", pen=pg.mkPen(ESTIMATED_PEN, width=2,
                                                                        style=pg.QtCore.Qt.DashLine))
        self.legend = legend
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), width=1))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Sensor", self))
        top.addWidget(self.combo, 1)
        racks = QHBoxLayout()
        racks.addWidget(QLabel("Racks show", self))
        racks.addWidget(self.racks_combo, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addLayout(racks)
        lay.addWidget(self.info)
        lay.addWidget(self.plan_note)
        lay.addWidget(self.plot, 1)

    def set_view(self, view: Any) -> None:
        """Show a :class:`~dctwin.twin.assimilate.review.MeasuredView` (None clears)."""
        self.view = view
        if view is None:
            self.set_plan_scale(None)
        self.combo.blockSignals(True)
        self.combo.clear()
        if view is not None:
            order = sorted(view.sensors, key=_worst_first)
            for s in order:
                rms = f"  (RMS {s.rms:.2f} {s.unit})" if s.rms is not None and s.unit else ""
                self.combo.addItem(f"{s.point} — {s.element} {s.quantity}{rms}", s.point)
        self.combo.blockSignals(False)
        self._show(self.combo.currentData())

    def set_plan_scale(self, full_scale_k: Optional[float]) -> None:
        """Say how the floor plan colours the sensors: full colour at ``full_scale_k`` (None: no note)."""
        self.plan_note.setText("" if full_scale_k is None else
                               f"On the floor plan each sensor is coloured by predicted − measured: blue where the "
                               f"model is colder, red where warmer, full colour at ±{full_scale_k:g} K.")

    def show_point(self, point: str) -> None:
        i = self.combo.findData(point)
        if i >= 0:
            self.combo.setCurrentIndex(i)

    def set_cursor(self, t_s: Optional[float]) -> None:
        self.cursor.setVisible(t_s is not None)
        if t_s is not None:
            self.cursor.setValue(float(t_s))

    def _on_combo_changed(self, _index: int) -> None:
        point = self.combo.currentData()
        self._show(point)
        if point:
            self.sig_point_chosen.emit(point)

    def _show(self, point: Optional[str]) -> None:
        v = self.view
        if v is None or not point:
            for c in (self.measured, self.predicted, self.estimated):
                c.setData([], [])
            self.info.setText("")
            return
        k = v.index(point)
        s = v.sensors[k]
        t = v.t_s
        m, p, e = (np.asarray(a[:, k], float) for a in (v.measured, v.predicted, v.estimated))
        ok = np.isfinite(m)
        self.measured.setData(t[ok], m[ok])
        self.predicted.setData(t, p)
        show_est = s.role != "boundary" and np.isfinite(e).any() and not np.allclose(e, p, equal_nan=True)
        self.estimated.setData(t if show_est else [], e if show_est else [])
        self.plot.setLabel("left", QUANTITY_LABELS.get(s.quantity, s.quantity), units=_unit(s))
        text = f"{ROLE_TEXT.get(s.role, s.role)}."
        if s.rms is not None and math.isfinite(s.rms):
            text += f" Predicted − measured: RMS {s.rms:.2f} {s.unit}"
            if s.rms_estimated is not None and show_est:
                text += f"; estimated − measured: RMS {s.rms_estimated:.2f} {s.unit}"
            text += "."
        self.info.setText(text)


def _unit(s: Any) -> str:
    return {"K": "°C", "W": "W", "m3/s": "m³/s"}.get(s.unit, s.unit)


def _worst_first(sensor: Any) -> tuple[int, float]:
    """Sort key: temperature sensors the model predicts (worst RMS first), then other quantities (their RMS
    is in watts or m3/s, not comparable with kelvin), then the boundary conditions imposed on the model."""
    rms = sensor.rms if sensor.rms is not None and math.isfinite(sensor.rms) else -1.0
    if sensor.role == "boundary":
        return 2, -rms
    return (0 if sensor.quantity.endswith("_c") else 1), -rms
