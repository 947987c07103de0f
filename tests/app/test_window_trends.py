"""Trends in the window: shown at start, legends out of the plot area, limits named, PUE plotted."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.twin.model.demos import load_demo

from dctwin.app.document import Document
from dctwin.app.runner import Frame, SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def feed(window, n=30):
    for k in range(n):
        # the engine reports PUE; the trends draw facility power as PUE x IT
        window.live._on_runner_frame(Frame(window.runner.generation, float(k),
                                      HallSummary(racks={"R-A01": RackResult(24.0 + 0.3 * k)}, it_power_w=100e3,
                                                  pue=(140e3 + 1e3 * k) / 100e3)))


def test_trends_are_the_front_tab_at_start(window, qtbot):
    qtbot.waitUntil(lambda: not window.trends.visibleRegion().isEmpty(), timeout=5000)  # the dock layout settled
    assert window.alarms.visibleRegion().isEmpty()  # its tab is behind the trends


def test_legends_sit_above_the_plot_area_and_name_the_limits(window, qtbot):
    window.scene.select_ids(["R-A01"])
    feed(window)
    trends = window.trends

    def legends_above() -> bool:  # never over the curves (once the plot's layout has run)
        return all(legend.sceneBoundingRect().bottom() <= plot.getPlotItem().vb.sceneBoundingRect().top() + 1
                   for plot, legend in zip((trends.temp_plot, trends.power_plot), trends.legends))

    qtbot.waitUntil(legends_above, timeout=2000)
    names = [label.text for _, label in trends.legends[0].items]
    assert "rec. 18–27" in names and "A1 max 32" in names and "R-A01" in names
    # the inlet axis keeps every limit line in view, and grows with the data (24 .. 32.7 °C here)
    lo, hi = trends.temp_plot.getPlotItem().vb.viewRange()[1]
    assert lo <= 18 and hi >= 33.7


def test_pue_is_facility_over_it(window):
    feed(window, 5)
    x, y = window.trends.pue_curve.getData()
    assert np.allclose(y, [(140 + k) / 100 for k in range(5)])
