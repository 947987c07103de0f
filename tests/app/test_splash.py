"""The window's first start on a machine: a splash with a progress bar (percentage, time left) while the
physics kernels compile, before the window; later starts show none."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from dctwin.app import splash
from dctwin.twin.physics import kernels
from dctwin.twin.physics.kernels import CompileProgress


def _splash_widget():
    found = [w for w in QApplication.topLevelWidgets() if w.objectName() == "compileSplash" and w.isVisible()]
    return found[0] if found else None


def test_the_splash_follows_the_warm_up_then_closes(qtbot, monkeypatch, tmp_path):
    monkeypatch.setattr(kernels, "known_compiled", lambda need="solve": False)
    monkeypatch.setattr(kernels, "cache_is_empty", lambda: False)
    monkeypatch.setattr(kernels, "compile_pending", lambda need="solve": True)
    step = threading.Event()
    seen: list = []

    def warm_up(need, report, **_kw) -> int:  # on the splash's worker thread, as the real one runs
        assert need == "simulate"
        report(CompileProgress(0, 8, "air flow: pressure solver", 0.0))
        step.wait(30)
        report(CompileProgress(2, 8, "air temperature", 10.0))
        step.clear()
        step.wait(30)
        report(CompileProgress(8, 8, "workloads", 40.0))
        return 8

    monkeypatch.setattr(kernels, "warm_up", warm_up)

    def look(stage: int) -> None:
        s = _splash_widget()
        if s is None or s.bar.maximum() != 1000:  # not shown, or the first report not there yet
            QTimer.singleShot(50, lambda: look(stage))
            return
        if stage == 0:
            seen.append(("start", s.bar.maximum(), s.bar.value(), s.detail.text(), s.label.text()))
            step.set()
            QTimer.singleShot(50, lambda: look(1))
        elif "2 of 8" not in s.detail.text():
            QTimer.singleShot(50, lambda: look(1))
        else:
            s.grab().save(str(tmp_path / "splash.png"))
            seen.append(("two", s.bar.maximum(), s.bar.value(), s.detail.text()))
            step.set()

    QTimer.singleShot(0, lambda: look(0))
    assert splash.warm_up_with_splash() is True
    assert _splash_widget() is None  # closed before the window opens
    start, two = seen
    assert start[1:3] == (1000, 0) and start[3].startswith("0 of 8 groups, 0 %") and "s so far" in start[3]
    assert start[4].startswith("Compiling the physics kernels for this machine")
    assert two[1:3] == (1000, 250)
    assert two[3].startswith("2 of 8 groups, 25 %, about 30 s left (air temperature)")


def test_no_splash_when_the_kernels_are_compiled(qtbot, monkeypatch):
    monkeypatch.setattr(kernels, "known_compiled", lambda need="solve": False)  # asks numba's cache
    monkeypatch.setattr(kernels, "cache_is_empty", lambda: False)
    monkeypatch.setattr(kernels, "compile_pending", lambda need="solve": False)
    monkeypatch.setattr(kernels, "warm_up", lambda *a, **k: (_ for _ in ()).throw(AssertionError("compiled")))
    assert splash.warm_up_with_splash() is False
    assert _splash_widget() is None


def test_dctwin_gui_shows_the_splash_before_the_window_but_not_for_a_screenshot(monkeypatch, tmp_path):
    from dctwin.app import cli_gui
    from dctwin.app import main as cli

    calls: list = []
    monkeypatch.setattr(splash, "warm_up_with_splash", lambda need="simulate": calls.append("splash"))
    monkeypatch.setattr(cli_gui, "cmd_gui", lambda args: calls.append("window") or 0)
    assert cli.main(["gui"]) == 0
    assert calls == ["splash", "window"]
    calls.clear()
    assert cli.main(["gui", "--screenshot", str(tmp_path / "x.png")]) == 0
    assert calls == ["window"]  # a picture: the status bar says it if the kernels compile
