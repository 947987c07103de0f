"""Everyday desktop things (issue 17 item 13): a small window keeps the plan, the units and the colour
scale in view, the headroom read-out leaves the hall free, Help has About, shortcuts and the README, the
theme follows the system's dark mode, Ctrl+Space runs once, Play/Pause draw no missing glyphs."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QTextBrowser, QToolBar, QToolButton

from dctwin.app.cli_gui import apply_theme
from dctwin.twin.sim.results import HallSummary, Headroom
from dctwin.widgets.floor_plan import footprint_rect
from dctwin.widgets.timeline import TimelinePanel
from tests.app.gui_helpers import editing_window, viewport_point


@pytest.fixture
def window(qtbot, tmp_path):
    return editing_window(qtbot, tmp_path)


def on_screen(w, fp) -> QRect:
    """A footprint's rectangle in the plan's viewport pixels."""
    return w.view.mapFromScene(footprint_rect(fp)).boundingRect()


def test_a_small_window_refits_the_plan_and_keeps_units_and_the_colour_scale_in_view(window, qtbot):
    w = window
    w.resize(1024, 640)
    qtbot.waitUntil(lambda: w.width() == 1024 and w.height() == 640)
    QApplication.processEvents()
    vp = w.view.viewport().rect()
    hall = w.doc.site.hall
    for el in [*hall.cooling_units, *hall.racks]:  # the CRAHs stand on the walls: they fell off before
        assert vp.contains(on_screen(w, el.footprint())), el.id
    # the toolbar fits: nothing went to its overflow menu, and the colour scale shows in full
    tb = w.findChild(QToolBar, "main_toolbar")
    ext = tb.findChild(QToolButton, "qt_toolbar_ext_button")
    assert ext is None or not ext.isVisible()
    assert w.colorbar.isVisible() and w.colorbar.width() >= 180
    top_left = w.colorbar.mapTo(w, QPoint(0, 0))
    assert QRect(0, 0, w.width(), w.height()).contains(QRect(top_left, w.colorbar.size()))
    # after the person zooms in, a resize keeps their zoom
    w.view.zoom_in()
    scale = w.view.current_scale()
    w.resize(1100, 700)
    QApplication.processEvents()
    assert w.view.current_scale() == pytest.approx(scale)
    w.act_zoom_fit.trigger()
    assert w.view.fitted


def test_the_headroom_read_out_leaves_the_hall_free(window, qtbot):
    w = window
    w.resize(1024, 640)
    QApplication.processEvents()
    nodes = {n: Headroom(50e3, 150e3, 100e3, 20e3) for n in ("PDU-A", "PDU-B")}
    w.scene.apply_summary(HallSummary(power_nodes=nodes, cooling_headroom={"CRAH-1": Headroom(60e3, 100e3, 40e3, 5e3)}))
    label = w.view.capacity_label
    assert label.isVisible()
    hall = w.doc.site.hall
    covered = on_screen(w, (0.0, 0.0, hall.width_m, hall.depth_m)).intersected(label.geometry())
    assert covered.isEmpty(), covered


def test_ctrl_space_on_the_plan_toggles_run_once(window):
    w = window
    w.act_run.setEnabled(True)  # as with the engine (without it, Run is off and toggling says so)
    w.view.setFocus()
    toggles = []
    w.act_run.triggered.connect(lambda *_: toggles.append("shortcut"))
    w.view.sig_space_tapped.connect(lambda: toggles.append("space"))
    QTest.keyClick(w.view, Qt.Key_Space, Qt.ControlModifier)
    assert toggles == ["shortcut"]
    QTest.keyClick(w.view, Qt.Key_Space)  # a plain tap still runs
    assert toggles == ["shortcut", "space"]


def test_play_and_pause_draw_no_missing_glyph(qtbot):
    panel = TimelinePanel()
    qtbot.addWidget(panel)
    button = panel.play_button
    for on in (False, True, False):
        panel.set_playing(on) if hasattr(panel, "set_playing") else button.setChecked(on)
        fm = QFontMetrics(button.font())
        assert all(fm.inFontUcs4(ord(ch)) for ch in button.text()), button.text()
        assert not button.icon().isNull()
    assert button.text() == "Play"


def test_run_and_pause_in_the_toolbar_have_icons(window):
    assert not window.act_run.icon().isNull()
    window.live._on_runner_running(True)
    assert window.act_run.text().replace("&", "") == "Pause" and not window.act_run.icon().isNull()


def test_help_menu_has_about_shortcuts_and_the_readme(window):
    w = window
    titles = [a.text().replace("&", "") for a in w.menu("Help").actions() if a.text()]
    assert titles == ["README", "Keyboard Shortcuts", "About dctwin"]
    assert w.menuBar().actions()[-1].text().replace("&", "") == "Help"
    about = w.help.show_about()
    assert about.isVisible() and "dctwin 0.1.0" in about.findChild(QLabel).text()
    shortcuts = w.help.show_shortcuts()
    table = shortcuts.findChild(QTextBrowser).toPlainText()
    assert "Ctrl+Space" in table and "Run" in table and "Zoom to Fit" in table and "pan the plan" in table
    readme = w.help.show_readme()
    body = readme.findChild(QTextBrowser, "readme_text").toPlainText()
    assert "desktop digital twin of a data center" in body
    assert "README.md" in readme.findChild(QLabel, "readme_link").text()


def test_the_theme_follows_the_system_dark_mode(window):
    app = QApplication.instance()
    before = app.palette()
    try:
        apply_theme(app)
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert app.palette().color(QPalette.Window).lightness() < 100
        QApplication.processEvents()
        # the plan's floor, the section view and the colour bar's text follow
        img = window.view.viewport().grab().toImage()
        floor = viewport_point(window.view, 0.3, 0.3)  # bare floor in the hall's south-west corner
        assert img.pixelColor(floor).lightness() < 128
        panel = window.air.panel
        assert panel.plot.backgroundBrush().color().lightness() < 100
        app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        QApplication.processEvents()
        assert app.palette().color(QPalette.Window).lightness() > 150
        assert panel.plot.backgroundBrush().color().lightness() > 150
    finally:
        app.setPalette(before)
