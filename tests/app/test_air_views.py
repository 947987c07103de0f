"""Airflow arrows on the plan and the vertical section, on the real engine, driven as a person does:
View > Airflow Arrows, View > Vertical Section... and a line dragged across the plan."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import load_demo
from dctwin.widgets.plan_tools import LineTool
from tests.app.gui_helpers import mouse_drag


@pytest.fixture
def window(qtbot, tmp_path):
    site = load_demo("small")
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)  # quick; the physics is the real engine's
    w = MainWindow(Document(site), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), SimRunner())
    qtbot.addWidget(w)
    w.resize(1280, 860)
    w.show()
    qtbot.waitUntil(lambda: w.last_frame is not None and not w.readout.settle_bar.isVisible(), timeout=180_000)
    yield w
    w.runner.stop()


def test_arrows_and_a_section_show_the_engine_flow(window, qtbot):
    w = window
    assert w.last_frame.plan_flow is None and not w.air.arrows_item.isVisible()  # off unless asked for
    with qtbot.waitSignal(w.sig_physics_shown, timeout=120_000):
        w.air.act_arrows.trigger()
    frame = w.last_frame
    assert frame.plan_flow is not None and frame.plan_flow.z_m == 1.0  # the heat map's height
    item = w.air.arrows_item
    assert item.isVisible() and item.flow is frame.plan_flow
    arrows = item.arrows(item.stride(w.view.current_scale()))
    assert len(arrows) > 20
    # each arrow points the way the engine's air goes where it stands
    pf = frame.plan_flow
    nx, ny = pf.vx.shape
    agree = 0
    for tail, head in arrows:
        cx, cy = (tail.x() + head.x()) / 2 / 50.0, -(tail.y() + head.y()) / 2 / 50.0
        i, j = min(int(cx / 0.6), nx - 1), min(int(cy / 0.6), ny - 1)
        if np.isfinite(pf.vx[i, j]):
            d = np.array([head.x() - tail.x(), -(head.y() - tail.y())])
            agree += float(d @ np.array([pf.vx[i, j], pf.vy[i, j]])) > 0
    assert agree >= 0.8 * len(arrows)
    assert "full arrow" in w.air.legend.text() and w.air.legend.isVisible()
    # the heat map at another height moves the arrows there
    with qtbot.waitSignal(w.sig_physics_shown, timeout=120_000):
        w.heat_combo.setCurrentIndex(w.heat_combo.findData("2.0"))
    assert w.last_frame.plan_flow.z_m == 2.0
    # View > Vertical Section..., then a line across the cold aisle (west to east)
    w.air.act_section.trigger()
    assert isinstance(w.view.tool, LineTool) and w.air.dock.isVisible()
    hall = w.doc.site.hall
    y = (hall.tiles[0].y_m + 0.3)
    with qtbot.waitSignal(w.sig_physics_shown, timeout=120_000):
        mouse_drag(w.view, (0.3, y), (hall.width_m - 0.3, y))
    sec = w.last_frame.section
    assert sec is not None and w.air.panel.section is sec
    assert sec.p0[0] == pytest.approx(0.3, abs=0.05) and sec.p1[0] == pytest.approx(hall.width_m - 0.3, abs=0.05)
    assert w.view.tool is None and w.air.line_item.isVisible()
    assert np.isfinite(sec.temp_c).any() and np.nanmax(sec.temp_c) > hall.supply_c
    x, _y = w.air.panel.arrow_segments()
    assert len(x) > 6 * 10  # arrows on the slice (six points each)
    assert w.air.panel.heat_line.isVisible() and w.air.panel.heat_line.value() == 2.0
    assert "hottest" in w.air.panel.info.text()
    # Clear: no section asked for any more
    with qtbot.waitSignal(w.sig_physics_shown, timeout=120_000):
        w.air.panel.clear_button.click()
    assert w.last_frame.section is None and not w.air.line_item.isVisible()
    with qtbot.waitSignal(w.sig_physics_shown, timeout=120_000):
        w.air.act_arrows.trigger()
    assert not w.air.arrows_item.isVisible() and w.last_frame.plan_flow is None
