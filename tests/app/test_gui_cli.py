"""`dctwin gui [FILE]` and bare `dctwin`: bad files fail before a window, screenshots, the exception hook."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QMessageBox

import dctwin.app.cli_gui as cli_gui
import dctwin.app.window as app_window
from dctwin.app.main import main


@pytest.fixture(autouse=True)
def _no_engine_no_logfile(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # autosaves stay in the test
    monkeypatch.setitem(sys.modules, "dctwin.twin.sim.engine", None)  # layout only: fast and deterministic
    monkeypatch.setattr(cli_gui, "setup_logging", lambda: None)


def _main_windows():
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, app_window.MainWindow) and w.isVisible()]


def test_bad_file_exits_2_before_any_window(qtbot, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "dctwin-layout", "version": 1, "halls": [{"id": "H", "width_m": -3, "depth_m": 8}]}')

    def no_window(*a, **k):
        raise AssertionError("a window was opened for an invalid file")

    monkeypatch.setattr(app_window, "MainWindow", no_window)
    assert main(["gui", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dctwin: error:") and "broken.json" in err and "width_m" in err
    assert main(["gui", str(tmp_path / "missing.json")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_screenshot_of_a_file_writes_a_png(qtbot, tmp_path, capsys):
    assert main(["demo", "small", "--out", str(tmp_path / "small.json")]) == 0
    out = tmp_path / "shot.png"
    assert main(["gui", str(tmp_path / "small.json"), "--screenshot", str(out), "--size", "800x600"]) == 0
    img = QImage(str(out))
    assert (img.width(), img.height()) == (800, 600)
    assert "wrote" in capsys.readouterr().out
    assert not _main_windows()


def test_bare_dctwin_opens_the_demo_hall(qtbot, monkeypatch):
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    assert main([]) == 0
    wins = _main_windows()
    assert len(wins) == 1
    w = wins[0]
    qtbot.addWidget(w)
    assert "R-A01" in w.scene.items_by_id and w.doc.path is None
    assert w.readout.physics_label.text() == "physics unavailable"


def test_unhandled_exception_is_logged_and_shown(qtbot, monkeypatch, caplog):
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append((self.windowTitle(), self.text())) or 0)
    old = sys.excepthook
    try:
        cli_gui.install_excepthook(None)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError:
            with caplog.at_level(logging.ERROR):
                sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old
    assert shown and "boom in a slot" in shown[0][1]
    assert "boom in a slot" in caplog.text and "Traceback" in caplog.text


def test_gui_bench_prints_its_figures(qtbot, capsys):
    import json

    assert main(["gui", "--bench", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["racks"] == 60
    assert set(report) == {"racks", "open_s", "recolour_ms", "repaint_ms", "drag_check_ms", "edit_ms"}
    assert all(v > 0 for v in report.values())
    assert main(["gui", "--bench", "30000"]) == 2
    assert "between 1 and 20000" in capsys.readouterr().err


def test_without_a_display_the_cli_says_what_to_do(qtbot, monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    assert main(["gui"]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "--screenshot" in err
