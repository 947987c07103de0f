"""The window on the real physics engine: solve on open, drag a unit, a warm-started solve recolours."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QSettings

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from gui_helpers import centre_of, mouse_drag
from dctwin.twin.model.demos import load_demo


@pytest.fixture
def window(qtbot, tmp_path):
    site = load_demo("small")
    # a coarse air grid keeps this test quick; the physics is the real engine's
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)
    doc = Document(site)
    settings = Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat))
    w = MainWindow(doc, settings, SimRunner())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.last_frame is not None and not w.readout.settle_bar.isVisible(), timeout=120_000)
    yield w
    w.runner.stop()


def test_real_engine_solves_and_a_drag_is_solved_again(window, qtbot):
    first = window.last_frame.summary
    assert first.energy_error < 0.01
    hottest = max(r.inlet_c for r in first.racks.values())
    assert window.readout.hot_label.text() == f"hottest inlet {hottest:.1f} °C"
    before = window.doc.site.get("CRAH-1")
    # drag CRAH-1 one tile south with the mouse: one command, then a new solve of the moved layout
    start = centre_of(window.doc.site, "CRAH-1")
    with qtbot.waitSignal(window.sig_physics_shown, timeout=120_000):
        mouse_drag(window.view, start, (start[0], start[1] - 0.6))
    after = window.doc.site.get("CRAH-1")
    assert after.y_m == pytest.approx(before.y_m - 0.6)
    qtbot.waitUntil(lambda: not window.readout.settle_bar.isVisible(), timeout=120_000)
    frame = window.last_frame.summary
    assert set(frame.racks) == set(first.racks)
    assert frame.cooling_units["CRAH-1"].duty_w > 0
    window.doc.undo_stack.undo()
    assert window.doc.site.get("CRAH-1") == before
