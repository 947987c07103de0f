"""Timeline: scrubbing, markers, play/pause/speed, and the incident editor's drag, delete and add."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from dctwin.widgets.cause_chain import CauseChainPanel
from dctwin.widgets.timeline import (KIND_COLOURS, PLAY_HZ, SEVERITY_COLOURS, Marker, TimelinePanel, fmt_time,
                              marker_colour)


@pytest.fixture
def panel(qtbot):
    p = TimelinePanel()
    qtbot.addWidget(p)
    p.resize(900, 120)
    p.show()
    qtbot.waitExposed(p)
    p.set_duration(600.0)
    p.set_markers([Marker(60.0, "fail", "event", "CRAH-1", key=1), Marker(200.0, "throttle", "automatic", "R-A01"),
                   Marker(300.0, "inlet_allowable", "alarm", "R-A01", severity="major", key=("alarm", 0))])
    return p


def at(view, t_s: float, lane: str = "event") -> QPoint:
    return QPoint(round(view.x_of(t_s)), round(view.lane_rect(lane).center().y()))


def test_click_and_drag_scrub(qtbot, panel):
    v = panel.view
    asked: list = []
    panel.sig_seek_requested.connect(asked.append)
    QTest.mouseClick(v, Qt.LeftButton, Qt.NoModifier, at(v, 450.0, "automatic"))
    assert asked and asked[-1] == pytest.approx(450.0, abs=600 / v.width() * 2)
    assert panel.position_s == asked[-1] and panel.time_label.text().startswith(fmt_time(asked[-1]))
    QTest.mousePress(v, Qt.LeftButton, Qt.NoModifier, at(v, 100.0, "automatic"))
    QTest.mouseMove(v, at(v, 150.0, "automatic"))
    QTest.mouseRelease(v, Qt.LeftButton, Qt.NoModifier, at(v, 150.0, "automatic"))
    assert len(asked) >= 3 and asked[-1] == pytest.approx(150.0, abs=2.0)


def test_marker_click_emits_the_marker_not_a_seek(qtbot, panel):
    v = panel.view
    clicked, asked = [], []
    panel.sig_marker_clicked.connect(clicked.append)
    panel.sig_seek_requested.connect(asked.append)
    QTest.mouseClick(v, Qt.LeftButton, Qt.NoModifier, at(v, 300.0, "alarm"))
    assert [m.kind for m in clicked] == ["inlet_allowable"] and not asked
    assert marker_colour(clicked[0]) == SEVERITY_COLOURS["major"]
    assert marker_colour(v.markers[0]) == KIND_COLOURS["fail"]


def test_play_advances_at_the_chosen_speed_and_stops_at_the_end(qtbot, panel):
    asked: list = []
    panel.sig_seek_requested.connect(asked.append)
    panel.speed_combo.setCurrentIndex(panel.speed_combo.findData(300.0))
    panel.set_position(540.0)
    panel.set_playing(True)
    assert panel.playing
    qtbot.waitUntil(lambda: not panel.playing, timeout=5000)
    steps = [b - a for a, b in zip([540.0] + asked, asked)]
    assert all(s == pytest.approx(300.0 / PLAY_HZ) for s in steps[:-1])
    assert asked[-1] == 600.0 and panel.position_s == 600.0
    assert panel.play_button.text().endswith("Play")


def test_edit_mode_drag_moves_once_on_release(qtbot, panel):
    v = panel.view
    moved: list = []
    v.sig_marker_moved.connect(lambda m, t: moved.append((m.key, t)))
    QTest.mousePress(v, Qt.LeftButton, Qt.NoModifier, at(v, 60.0))  # not editable: a drag does nothing
    QTest.mouseMove(v, at(v, 120.0))
    QTest.mouseRelease(v, Qt.LeftButton, Qt.NoModifier, at(v, 120.0))
    assert not moved and v.markers[0].t_s == 60.0
    v.editable = True
    QTest.mousePress(v, Qt.LeftButton, Qt.NoModifier, at(v, 60.0))
    for t in (80.0, 100.0, 120.0):
        QTest.mouseMove(v, at(v, t))
    assert v.markers[0].t_s == pytest.approx(120.0, abs=2.0)  # the preview follows the mouse
    QTest.mouseRelease(v, Qt.LeftButton, Qt.NoModifier, at(v, 120.0))
    assert len(moved) == 1 and moved[0][0] == 1 and moved[0][1] == pytest.approx(120.0, abs=2.0)
    assert v.markers[0].t_s == 60.0  # the owner's model moves it, not the view


def test_edit_mode_delete_and_add(qtbot, panel):
    v = panel.view
    v.editable = True
    deleted, added = [], []
    v.sig_marker_delete_requested.connect(deleted.append)
    v.sig_add_requested.connect(added.append)
    QTest.mouseClick(v, Qt.LeftButton, Qt.NoModifier, at(v, 60.0))
    QTest.keyClick(v, Qt.Key_Delete)
    assert [m.key for m in deleted] == [1]
    QTest.mouseDClick(v, Qt.LeftButton, Qt.NoModifier, at(v, 400.0))
    assert added and added[0] == pytest.approx(400.0, abs=2.0)


def test_cause_chain_steps_are_clickable(qtbot):
    p = CauseChainPanel()
    qtbot.addWidget(p)
    p.show_chain("R-A01 inlet over allowable: CRAH-1 failed.",
                 [{"t_s": 90.0, "kind": "inlet_allowable", "target": "R-A01"},
                  {"t_s": 10.0, "kind": "fail", "target": "CRAH-1", "text": "fail CRAH-1 [injected]"}])
    assert p.step_texts() == ["00:01:30  inlet allowable R-A01", "← 00:00:10  fail CRAH-1 [injected]"]
    chosen: list = []
    p.sig_step_chosen.connect(lambda t, i: chosen.append((t, i)))
    p.list.itemClicked.emit(p.list.item(1))
    assert chosen == [(10.0, "CRAH-1")]


def test_wheel_zooms_about_the_mouse_and_the_axis_double_click_resets(qtbot, panel):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    v = panel.view
    x = v.x_of(300.0)

    def wheel(dy: int, dx: int = 0, mods=Qt.NoModifier) -> None:
        pos = QPointF(x, v.lane_rect("automatic").center().y())
        ev = QWheelEvent(pos, v.mapToGlobal(pos), QPoint(0, 0), QPoint(dx, dy), Qt.NoButton, mods,
                         Qt.NoScrollPhase, False)
        QApplication.sendEvent(v, ev)

    for _ in range(4):
        wheel(120)
    v0, v1 = v.view_s
    assert v1 - v0 == pytest.approx(600.0 / 1.25 ** 4)
    assert v.t_of(x) == pytest.approx(300.0, abs=1.0)  # the time under the mouse stays put
    # markers outside the span are not hit; inside they are where the zoomed axis puts them
    assert v.marker_at(QPointF(v.x_of(300.0), v.lane_rect("alarm").center().y())).kind == "inlet_allowable"
    wheel(120, mods=Qt.ShiftModifier)  # pan
    assert v.view_s[0] < v0
    # the cursor leaving the span pages the view to it
    panel.set_position(590.0)
    assert v.view_s[0] <= 590.0 <= v.view_s[1]
    QTest.mouseDClick(v, Qt.LeftButton, Qt.NoModifier, QPoint(200, 5))
    assert v.view_s == (0.0, 600.0)


def test_arrow_keys_step_a_second_or_a_minute(qtbot, panel):
    asked: list = []
    panel.sig_seek_requested.connect(asked.append)
    panel.set_position(100.0)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key_Right)
    QTest.keyClick(panel.view, Qt.Key_Right, Qt.ShiftModifier)
    QTest.keyClick(panel.view, Qt.Key_Left)
    assert asked == [101.0, 161.0, 160.0]
