"""Feature modules put their menu entries and docks into the window through ``window.FEATURES``,
``MainWindow.menu`` and ``MainWindow.add_dock``; their docks keep their place across sessions."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel

from dctwin.app import window as window_module
from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import load_demo


def make_window(qtbot, tmp_path) -> MainWindow:
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    qtbot.addWidget(w)
    return w


def install_measure(window) -> None:
    """A feature module's install function: a menu of its own, an entry in File, a dock."""
    window.seen_menus = [a.text() for a in window.menuBar().actions()]
    window.act_measure = window.menu("&Tools").addAction("&Measure…")
    window.act_measure_export = window.menu("File").addAction("Export &Measurements…")
    window.measure_dock = window.add_dock("Measure", QLabel("a feature's panel"), tab_with=window.trends_dock)


def test_a_feature_installs_its_menu_entries_and_dock(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(window_module, "FEATURES", window_module.FEATURES + (install_measure,))
    w = make_window(qtbot, tmp_path)
    # it ran once the window's own menus were there, after the features before it
    assert w.seen_menus == ["&File", "&Edit", "&View", "&Simulation", "&Help"]
    assert w.import_menu.menuAction() in w.menu("File").actions()
    # menus are found by name, with or without the & mark; a new one goes at the end of the bar, before Help
    assert w.menu("File") is w.menu("&File") and w.act_new in w.menu("File").actions()
    assert w.act_measure_export in w.menu("File").actions()
    assert [a.text() for a in w.menuBar().actions()] == ["&File", "&Edit", "&View", "&Simulation", "&Tools", "&Help"]
    assert w.menu("Tools").actions() == [w.act_measure]
    # the dock is listed in View and tabbed with the trends
    assert w.measure_dock.toggleViewAction() in w.menu("View").actions()
    assert w.measure_dock in w.tabifiedDockWidgets(w.trends_dock)
    assert w.measure_dock.objectName() == "measure_dock"


def test_a_feature_dock_gets_its_saved_place_back(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(window_module, "FEATURES", window_module.FEATURES + (install_measure,))
    w = make_window(qtbot, tmp_path)
    w.show()
    qtbot.waitExposed(w)
    assert w.measure_dock.isVisibleTo(w)
    w.measure_dock.toggleViewAction().trigger()  # the person closes it
    assert not w.measure_dock.isVisibleTo(w)
    w.close()  # saves the dock layout
    again = make_window(qtbot, tmp_path)
    again.show()
    qtbot.waitExposed(again)
    assert not again.measure_dock.isVisibleTo(again) and again.trends_dock.isVisibleTo(again)
