"""Look at the air, not only read it: airflow arrows on the plan and a vertical section view.

Installed as a window feature (:data:`dctwin.app.window.FEATURES`): View > Airflow Arrows puts the
horizontal flow at the heat map's height (1 m when the heat map is off) on the floor plan as arrows;
View > Vertical Section... arms the plan's line tool, and the Section dock shows temperature and the
flow on the vertical slice along the line drawn. The runner (and the replay) send what is asked for
with every frame (:class:`dctwin.app.runner.AirViews`), for live physics and replayed seconds alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from dctwin.widgets.plan_overlays import AirflowArrowsItem, SectionLineItem, plan_label
from dctwin.widgets.plan_tools import LineTool
from dctwin.widgets.section_view import SectionPanel

from dctwin.app.runner import AirViews, Frame

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow


class AirPresenter(QObject):
    """See the module docstring."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.w = window
        self.line: Optional[tuple[float, float, float, float]] = None
        self.arrows_item = AirflowArrowsItem()
        self.arrows_item.setVisible(False)
        window.scene.addItem(self.arrows_item)
        self.line_item = SectionLineItem()
        self.line_item.setVisible(False)
        window.scene.addItem(self.line_item)
        self.legend = plan_label(window.view, "arrows_legend")
        self.panel = SectionPanel(window.scene.temp_scale, window)
        self.dock = window.add_dock("Section", self.panel, Qt.BottomDockWidgetArea)
        self.dock.hide()
        self.act_arrows = QAction("Airflow &Arrows", window, checkable=True)
        self.act_arrows.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.act_arrows.setStatusTip("Arrows of the air's flow on the plan, at the heat map's height")
        self.act_arrows.toggled.connect(self.set_arrows)
        self.act_section = QAction("Vertical &Section…", window)
        self.act_section.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.act_section.setStatusTip("Drag a line on the plan: temperature and airflow on the vertical slice along it")
        self.act_section.triggered.connect(self.pick_line)
        for act in (self.act_arrows, self.act_section):
            window.addAction(act)
        view_menu = window.menu("View")
        view_menu.addSeparator()
        view_menu.addActions([self.act_arrows, self.act_section])
        self.panel.sig_pick_requested.connect(self.pick_line)
        self.panel.sig_clear_requested.connect(self.clear_section)
        window.view.sig_line_drawn.connect(self.set_line)
        window.sig_physics_shown.connect(self._on_window_frame_shown)
        window.sig_replay_shown.connect(self._on_window_frame_shown)
        window.doc.sig_site_replaced.connect(self._on_doc_site_replaced)
        window.heat_combo.currentIndexChanged.connect(lambda _: self._show_heat_line())
        self.act_arrows.setChecked(window.settings.value("airflow_arrows", "false") == "true")

    # ---- what the person asks for
    def set_arrows(self, on: bool) -> None:
        """Airflow arrows on the plan on or off."""
        if self.act_arrows.isChecked() != on:
            self.act_arrows.setChecked(on)  # comes back here through toggled
            return
        self.arrows_item.setVisible(on)
        self.legend.setVisible(on and self.arrows_item.flow is not None)
        self.w.settings.set_value("airflow_arrows", "true" if on else "false")
        self._ask()

    def pick_line(self) -> None:
        """Arm the plan's line tool; the section follows the line drawn."""
        self.dock.show()
        self.dock.raise_()
        self.w.view.set_tool(LineTool())
        self.w.view.setFocus()

    def set_line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Cut the vertical section along (x0, y0) -> (x1, y1) (m)."""
        self.line = (x0, y0, x1, y1)
        self.line_item.set_line_m(*self.line)
        self.line_item.setVisible(True)
        self.dock.show()
        self.w.show_status(f"Section from ({x0:.1f}, {y0:.1f}) to ({x1:.1f}, {y1:.1f}) m")
        self._ask()

    def clear_section(self) -> None:
        self.line = None
        self.line_item.setVisible(False)
        self.panel.set_section(None)
        self._ask()

    def _ask(self) -> None:
        """Tell the runner and the replay what to send with their frames (the state shown comes again)."""
        views = AirViews(self.act_arrows.isChecked(), self.line)
        w = self.w
        if w.replay_mode and w.replay is not None:
            w.replay.set_air_views(views)
            w.replay.seek(w.timeline.position_s)
        else:
            if w.replay is not None:
                w.replay.set_air_views(views)
            w.runner.set_air_views(views.arrows, views.line)

    # ---- what the physics sends
    def _on_window_frame_shown(self, frame: Frame) -> None:
        on = self.act_arrows.isChecked()
        self.arrows_item.set_flow(frame.plan_flow if on else None)
        if on and frame.plan_flow is not None and self.arrows_item.ref_speed > 0:
            self.legend.setText(f"Air at {frame.plan_flow.z_m:g} m: a full arrow is "
                                f"{self.arrows_item.ref_speed:.2f} m/s or more")
            self.legend.adjustSize()
            self.legend.move(6, 6)  # top left: the headroom read-out has the bottom right
            self.legend.show()
        else:
            self.legend.hide()
        if self.line is not None:
            self.panel.set_section(frame.section, self._heat_z())

    def _heat_z(self) -> Optional[float]:
        h = self.w.heat_combo.currentData()
        return None if h == "off" else float(h)

    def _show_heat_line(self) -> None:
        if self.panel.section is not None:
            self.panel.set_section(self.panel.section, self._heat_z())

    def _on_doc_site_replaced(self) -> None:
        self.arrows_item.set_flow(None)
        self.legend.hide()
        if self.line is not None and not self.w.replay_mode:
            self.clear_section()


def install_air_views(window: "MainWindow") -> None:
    """The window feature: see the module docstring (``window.air`` is the presenter)."""
    window.air = AirPresenter(window)
