"""The measured side of a replay: for a shadow recording of a real site, measured beside predicted.

:class:`MeasuredPresenter` owns what the window adds when the recording it replays is a shadow replay
of measured data (:mod:`dctwin.twin.assimilate.shadow`): a "Measured" dock with one sensor's trend
(measured, predicted, estimated: :class:`~dctwin.widgets.measured_trends.MeasuredTrendsPanel`), the
sensors on the floor plan coloured by their residual at the replayed second
(:class:`~dctwin.widgets.sensor_overlay.SensorOverlay`), the site's own event log as a lane of
the timeline, and what the racks on the plan show: the model's prediction (the replayed state) or the
estimate (the model corrected by the sensors, recorded for every rack), switched in the dock or with
Ctrl+E and named in a line at the plan's bottom left. The window calls :meth:`show` when a recording
opens, :meth:`at` with every replayed second and :meth:`clear` when the replay closes; everything it
shows was read by the replay worker.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut

from dctwin.widgets.measured_trends import MeasuredTrendsPanel
from dctwin.widgets.plan_overlays import plan_label
from dctwin.widgets.sensor_overlay import SensorOverlay
from dctwin.widgets.timeline import LANES, SITE_LANES


class MeasuredPresenter(QObject):
    """See the module docstring. ``window``: the main window (its scene, timeline and docks)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.panel = MeasuredTrendsPanel(window)
        self.dock = window.add_dock("Measured", self.panel, Qt.RightDockWidgetArea, tab_with=window.trends_dock)
        self.dock.hide()
        self.overlay: Optional[SensorOverlay] = None
        self.view: Any = None
        self.panel.sig_point_chosen.connect(self._on_panel_point_chosen)
        self.panel.racks_combo.currentIndexChanged.connect(self._on_racks_changed)
        window.timeline.sig_seek_requested.connect(self._on_seek_requested)
        self.shortcut = QShortcut(QKeySequence("Ctrl+E"), window)
        self.shortcut.setEnabled(False)
        self.shortcut.activated.connect(self.toggle_racks)
        #: names what the racks on the plan show (bottom left of the plan)
        self.plan_label = plan_label(window.view, "racks_shown_label")
        self.t_s: Optional[float] = None
        self.rack_ids: list[str] = []  # the columns of the view's rack_estimated_inlet_c

    def show(self, data: Any) -> None:
        """A recording opened: show its measured side (or nothing when it is not a shadow replay)."""
        self.clear()
        view = getattr(data, "measured", None)
        if view is None:
            return
        self.view = view
        self.panel.set_view(view)
        self.overlay = SensorOverlay()
        self.overlay.full_scale_k = view.residual_scale_k()
        self.overlay.set_sensors(data.site, data.hall_id, view.sensors)
        self.panel.set_plan_scale(self.overlay.full_scale_k)
        self.window.scene.addItem(self.overlay)
        self.overlay.highlight(self.panel.combo.currentData())
        self.window.timeline.view.set_lanes(SITE_LANES)
        self.rack_ids = list(data.rack_ids)
        # Estimated by default when the replay has one: the operator asks "how warm is this rack", and the
        # model corrected by the sensors answers it better than the model alone; the prediction is one
        # switch away. A shadow run without an estimator recorded the prediction as its estimate: only
        # Predicted is offered then.
        has_estimate = self.has_estimate()
        combo = self.panel.racks_combo
        combo.blockSignals(True)
        combo.model().item(combo.findData("estimated")).setEnabled(has_estimate)
        combo.setCurrentIndex(combo.findData("estimated" if has_estimate else "predicted"))
        combo.blockSignals(False)
        self.shortcut.setEnabled(has_estimate)
        self.dock.show()
        self.dock.raise_()

    def at(self, t_s: float) -> None:
        """The replay shows second ``t_s``: colour the sensors by their residual then, move the cursor."""
        if self.view is None or self.overlay is None:
            return
        if self.overlay.scene() is not self.window.scene:  # the plan was rebuilt (another hall shown)
            self.window.scene.addItem(self.overlay)
        i = self.view.at(t_s)
        measured = ({s.point: float(self.view.measured[i, k]) for k, s in enumerate(self.view.sensors)}
                    if i >= 0 else {})
        self.overlay.set_residuals(self.view.residuals_at(t_s), measured)
        self.panel.set_cursor(t_s)
        self.t_s = t_s
        self._show_racks()

    # ---- what the racks show
    def has_estimate(self) -> bool:
        v = self.view
        return (v is not None and v.summary.get("estimator", {}).get("method", "none") != "none"
                and v.rack_estimated_inlet_c.size > 0)

    def racks_shown(self) -> str:
        """"estimated" or "predicted": what the racks on the floor plan show now."""
        return str(self.panel.racks_combo.currentData())

    def toggle_racks(self) -> None:
        combo = self.panel.racks_combo
        want = "predicted" if self.racks_shown() == "estimated" else "estimated"
        if want == "estimated" and not self.has_estimate():
            return
        combo.setCurrentIndex(combo.findData(want))

    def estimated_inlets(self, t_s: float) -> dict[str, float]:
        """Every rack's estimated inlet (°C) at the sample at or before ``t_s`` (empty before the first)."""
        v = self.view
        i = int(np.searchsorted(v.rack_t_s, t_s + 1e-9, side="right")) - 1
        if i < 0:
            return {}
        row = v.rack_estimated_inlet_c[i]
        return {rid: float(row[j]) for j, rid in enumerate(self.rack_ids)
                if j < row.size and math.isfinite(float(row[j]))}

    def _on_racks_changed(self, _index: int) -> None:
        self._show_racks()

    def _on_seek_requested(self, t_s: float) -> None:
        """Scrubbing: the plan previews the recorded prediction at once; the estimate follows it at once too
        (not only when the replayed state arrives)."""
        if self.view is not None:
            self.t_s = float(t_s)
            self._show_racks()

    def _show_racks(self) -> None:
        scene = self.window.scene
        if self.view is None or self.t_s is None:
            return
        estimated = self.racks_shown() == "estimated" and self.has_estimate()
        scene.set_inlet_override(self.estimated_inlets(self.t_s) if estimated else None)
        if estimated:
            text = ("Racks: estimated inlet, the model corrected by the sensors; the heat map is the model's "
                    "(Ctrl+E: predicted)")
        else:
            text = "Racks: predicted inlet, the model alone" + (" (Ctrl+E: estimated)" if self.has_estimate() else "")
        label, view = self.plan_label, self.window.view
        label.setText(text)
        label.setWordWrap(False)
        width = min(label.sizeHint().width(), max(200, int(0.55 * view.width())))  # clear of the headroom box
        label.setWordWrap(True)
        label.setFixedSize(width, label.heightForWidth(width))
        label.move(6, max(6, view.height() - label.height() - 6))  # bottom left
        label.show()

    def clear(self) -> None:
        if self.overlay is not None and self.overlay.scene() is not None:
            self.overlay.scene().removeItem(self.overlay)
        self.overlay = None
        self.view = None
        self.t_s = None
        self.window.scene.set_inlet_override(None)
        self.plan_label.hide()
        self.shortcut.setEnabled(False)
        self.panel.set_view(None)
        self.dock.hide()
        self.window.timeline.view.set_lanes(LANES)

    def _on_panel_point_chosen(self, point: str) -> None:
        if self.overlay is not None:
            self.overlay.highlight(point)
