"""The main window's toolbar: file and edit actions as icons, Run, speed, hall, colouring and heat-map
height, and the colour scale under the plan; the choices come back from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

from dctwin.widgets.colorbar import ColorBarWidget
from dctwin.widgets.floor_plan import METRIC_LABELS, METRICS
from dctwin.widgets.icons import tool_icon

from dctwin.app.runner import SPEEDS

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow

#: heights (m) of the heat map's slice the toolbar offers ("off": no heat map)
HEAT_HEIGHTS = ("off", "0.5", "1.0", "1.5", "2.0")


def build_toolbar(w: "MainWindow") -> None:
    """Make the window's toolbar (its combos become ``w.speed_combo``, ``w.hall_combo``, ``w.metric_combo``,
    ``w.heat_combo``; the colour scale ``w.colorbar``)."""
    tb = QToolBar("Main", w)
    tb.setObjectName("main_toolbar")
    # icons, not words: the toolbar fits a 1024 px window (each button's tooltip names it)
    tb.setToolButtonStyle(Qt.ToolButtonIconOnly)
    for act, name in ((w.act_new, "new"), (w.act_open, "open"), (w.act_save, "save"),
                      (w.act_undo, "undo"), (w.act_redo, "redo"), (w.act_delete, "delete"),
                      (w.act_rotate, "rotate"), (w.act_zoom_fit, "fit"), (w.act_run, "run")):
        act.setIcon(tool_icon(name, w))
    w.addToolBar(tb)
    tb.addActions([w.act_new, w.act_open, w.act_save])
    tb.addSeparator()
    tb.addActions([w.act_undo, w.act_redo, w.act_delete, w.act_rotate])
    tb.addSeparator()
    tb.addAction(w.act_zoom_fit)
    tb.addSeparator()
    tb.addAction(w.act_run)
    tb.widgetForAction(w.act_run).setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
    w.speed_combo = QComboBox(w)
    w.speed_combo.setToolTip("Simulation speed")
    for name in SPEEDS:
        w.speed_combo.addItem("max" if name == "max" else name, name)
    tb.addWidget(w.speed_combo)
    tb.addSeparator()
    w.hall_label = QLabel(" Hall ")
    w.hall_combo = QComboBox(w)
    w.hall_combo.setToolTip("Which hall of the site the floor plan shows")
    w.hall_label_action = tb.addWidget(w.hall_label)
    w.hall_combo_action = tb.addWidget(w.hall_combo)
    w._fill_hall_combo()
    tb.addWidget(QLabel(" Colour by "))
    w.metric_combo = QComboBox(w)
    for m in METRICS:
        w.metric_combo.addItem(METRIC_LABELS[m], m)
    tb.addWidget(w.metric_combo)
    tb.addWidget(QLabel(" Heat map "))
    w.heat_combo = QComboBox(w)
    for h in HEAT_HEIGHTS:
        w.heat_combo.addItem("off" if h == "off" else f"{h} m", h)
    w.heat_combo.setToolTip("Air temperature at this height above the floor")
    tb.addWidget(w.heat_combo)
    # the colour scale under the plan, not in the toolbar: a narrow window's toolbar hid it
    w.colorbar = ColorBarWidget(w.scene.temp_scale, w)
    w.colorbar.setMaximumWidth(420)
    w.plan_footer.addWidget(w.colorbar, 1)
    w.plan_footer.addStretch(0)

    speed = w.settings.value("speed", "60x")
    w.speed_combo.setCurrentIndex(max(0, w.speed_combo.findData(speed)))
    w.set_speed(w.speed_combo.currentData())
    metric = w.settings.value("metric", "inlet_c")
    w.metric_combo.setCurrentIndex(max(0, w.metric_combo.findData(metric)))
    w._on_metric_changed()
    heat = w.settings.value("heat_height", "1.0")
    w.heat_combo.setCurrentIndex(max(0, w.heat_combo.findData(heat)))
    w._on_heat_changed()
