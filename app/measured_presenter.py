"""The measured side of a replay: for a shadow recording of a real site, measured beside predicted.

:class:`MeasuredPresenter` owns what the window adds when the recording it replays is a shadow replay
of measured data (:mod:`dctwin.twin.assimilate.shadow`): a "Measured" dock with one sensor's trend
(measured, predicted, estimated: :class:`~dctwin.widgets.measured_trends.MeasuredTrendsPanel`), the
sensors on the floor plan coloured by their residual at the replayed second
(:class:`~dctwin.widgets.sensor_overlay.SensorOverlay`), and the site's own event log as a lane of
the timeline. The window calls :meth:`show` when a recording opens, :meth:`at` with every replayed
second and :meth:`clear` when the replay closes; everything it shows was read by the replay worker.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QObject, Qt

from dctwin.widgets.measured_trends import MeasuredTrendsPanel
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

    def clear(self) -> None:
        if self.overlay is not None and self.overlay.scene() is not None:
            self.overlay.scene().removeItem(self.overlay)
        self.overlay = None
        self.view = None
        self.panel.set_view(None)
        self.dock.hide()
        self.window.timeline.view.set_lanes(LANES)

    def _on_panel_point_chosen(self, point: str) -> None:
        if self.overlay is not None:
            self.overlay.highlight(point)
