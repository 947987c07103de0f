"""The editor opening a layout solved before reuses its stored solution (twin/sim/solved.py) as `dctwin solve` does:
the same picture, without a march."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSettings

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import airflow
from dctwin.twin.sim import solved


def _open(qtbot, tmp_path):
    site = load_demo("small")
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)  # a coarse grid keeps it quick
    settings = Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat))
    w = MainWindow(Document(site), settings, SimRunner())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.last_frame is not None and not w.readout.settle_bar.isVisible(), timeout=120_000)
    summary = w.last_frame.summary
    w.runner.stop()
    return summary


def test_opening_a_layout_solved_before_marches_nothing(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv(solved.ENV, str(tmp_path / "solved"))
    marches = []
    march = airflow.solve_flow
    monkeypatch.setattr(airflow, "solve_flow", lambda *a, **kw: marches.append(1) or march(*a, **kw))
    first = _open(qtbot, tmp_path)
    n = len(marches)
    assert n >= 1 and any((tmp_path / "solved").glob("*.npz"))
    second = _open(qtbot, tmp_path)
    assert len(marches) == n
    a, b = first.to_json(), second.to_json()
    a.pop("solve_s"), b.pop("solve_s")
    assert a == b
