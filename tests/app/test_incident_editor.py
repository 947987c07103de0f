"""Incident editor: drag kinds onto the timeline, drag events along, delete, undo, save, run and record."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dctwin.app.document import Document
from dctwin.app.incident_editor import IncidentEditorDialog
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.incidents import load_incident
from dctwin.twin.store import Project
from dctwin.widgets.timeline import EVENT_KIND_MIME

WAIT_MS = 60000


@pytest.fixture
def editor(qtbot):
    dlg = IncidentEditorDialog(load_demo("small"), grid_m=0.6)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def lane_point(view, t_s: float) -> QPoint:
    return QPoint(round(view.x_of(t_s)), round(view.lane_rect("event").center().y()))


def drop_kind(view, kind: str, t_s: float) -> None:
    mime = QMimeData()
    mime.setData(EVENT_KIND_MIME, kind.encode("utf-8"))
    pos = QPointF(lane_point(view, t_s))
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(view, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(view, drop)


def test_drop_drag_delete_and_undo(qtbot, editor):
    v = editor.timeline
    drop_kind(v, "fail", 60.0)
    assert [(e.kind, e.target) for e in editor.events] == [("fail", "CRAH-1")]
    assert editor.events[0].t_s == pytest.approx(60.0, abs=1.0)
    drop_kind(v, "set_utilization", 300.0)
    assert editor.events[1].details == {"utilization": 1.0} and editor.events[1].target == "all"
    # drag the failure along the timeline: one undo step, on release
    t0 = editor.events[0].t_s
    QTest.mousePress(v, Qt.LeftButton, Qt.NoModifier, lane_point(v, t0))
    for t in (100.0, 150.0, 200.0):
        QTest.mouseMove(v, lane_point(v, t))
    QTest.mouseRelease(v, Qt.LeftButton, Qt.NoModifier, lane_point(v, 200.0))
    assert editor.events[0].t_s == pytest.approx(200.0, abs=1.0) and editor.undo_stack.count() == 3
    editor.undo_stack.undo()
    assert editor.events[0].t_s == t0
    editor.undo_stack.redo()
    # delete: pick it and press Delete
    QTest.mouseClick(v, Qt.LeftButton, Qt.NoModifier, lane_point(v, editor.events[0].t_s))
    QTest.keyClick(v, Qt.Key_Delete)
    assert [e.kind for e in editor.events] == ["set_utilization"]
    # drag one off the timeline: deleted too
    t1 = editor.events[0].t_s
    QTest.mousePress(v, Qt.LeftButton, Qt.NoModifier, lane_point(v, t1))
    QTest.mouseMove(v, lane_point(v, t1 + 30))
    QTest.mouseRelease(v, Qt.LeftButton, Qt.NoModifier, QPoint(round(v.x_of(t1 + 30)), v.height() + 200))
    assert editor.events == []
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert [e.kind for e in editor.events] == ["fail", "set_utilization"]


def test_save_round_trip_and_bad_event_refused(qtbot, editor, tmp_path, dialogs):
    editor.name_edit.setText("CRAH-1 then a load step")
    editor.add_event("fail", 30.0)
    editor.add_event("set_setpoint", 90.0)
    path = tmp_path / "inc.json"
    assert editor.save(str(path))
    inc = load_incident(path, load_demo("small"))
    assert inc.name == "CRAH-1 then a load step"
    assert [(e.t_s, e.kind, e.target, e.details) for e in inc.events] == \
        [(30.0, "fail", "CRAH-1", {}), (90.0, "set_setpoint", "CRAH-1", {"setpoint_c": 20.0})]
    saved = path.read_text()
    # an unknown target is refused with the reason; the saved file is untouched
    editor.select_id(editor.rows[0][0])
    editor.target_combo.setCurrentText("CRAH-9")
    editor.apply_form()
    assert not editor.save(str(path))
    assert "CRAH-9" in editor.message.text() and dialogs and dialogs[-1][0] == "critical"
    assert path.read_text() == saved
    # loading puts the saved incident back
    other = IncidentEditorDialog(load_demo("small"))
    qtbot.addWidget(other)
    assert other.load(str(path)) and [e.kind for e in other.events] == ["fail", "set_setpoint"]


def test_run_and_record_then_replay_in_the_window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    w.save_settings_on_close = False
    qtbot.addWidget(w)
    w.show()
    dlg = w.open_incident_editor()
    dlg.grid_m = 0.6
    dlg.duration_spin.setValue(40.0)
    dlg.add_event("fail", 5.0)
    out = tmp_path / "run.dctwin"
    progress: list = []
    job = dlg.run_and_record(str(out))
    job.sig_progress.connect(progress.append)
    with qtbot.waitSignal(w.sig_replay_shown, timeout=WAIT_MS):
        pass
    assert w.replay_mode and w.replay_data.path == str(out)
    assert progress and progress[-1] == pytest.approx(40.0)
    with Project.open(out, read_only=True) as p:
        reader = p.recording()
        assert reader.duration_s == pytest.approx(40.0) and reader.finished
        fails = [e for e in reader.events() if e.kind == "fail"]
        assert [(e.t_s, e.target) for e in fails] == [(5.0, "CRAH-1")]
        stored = json.loads(p.incident_text(int(reader.incident_id)))
        assert stored["events"] == [{"t_s": 5.0, "kind": "fail", "target": "CRAH-1"}]
    assert any(m.kind == "fail" for m in w.timeline.view.markers)
    w.replay.stop()


def test_a_periodic_load_swing_is_one_undo_step_and_runs(qtbot, editor, tmp_path):
    QTest.mouseClick(editor.swing_button, Qt.LeftButton)
    dlg = editor.swing
    assert dlg is not None and dlg.isVisible()
    dlg.target_combo.setCurrentText("A")  # row A
    dlg.high_spin.setValue(1.0)
    dlg.low_spin.setValue(0.2)
    dlg.period_spin.setValue(120.0)
    dlg.fraction_spin.setValue(0.75)
    dlg.start_spin.setValue(30.0)
    dlg.end_spin.setValue(400.0)
    QTest.mouseClick(dlg.ok_button, Qt.LeftButton)
    evs = editor.events
    # high at 30, 150, 270, 390; low 90 s after each while before 400 s
    assert [e.t_s for e in evs] == [30.0, 120.0, 150.0, 240.0, 270.0, 360.0, 390.0]
    assert [e.details["utilization"] for e in evs] == [1.0, 0.2, 1.0, 0.2, 1.0, 0.2, 1.0]
    assert {e.target for e in evs} == {"A"} and {e.kind for e in evs} == {"set_utilization"}
    assert len(editor.timeline.markers) == 7
    # the incident is valid for the layout and saves; one undo removes the whole swing
    path = tmp_path / "swing.json"
    assert editor.save(str(path))
    assert len(load_incident(path, editor.site).events) == 7
    editor.undo_stack.undo()
    assert editor.events == []
    editor.undo_stack.redo()
    assert len(editor.events) == 7


def test_a_swing_that_makes_no_sense_is_refused_with_the_reason(editor):
    assert editor.add_swing("A", 0.2, 1.0, 0.0, 0.5, 0.0, 100.0) == 0
    assert "period" in editor.message.text()
    assert editor.add_swing("NOPE", 0.2, 1.0, 60.0, 0.5, 0.0, 100.0) == 0
    assert "'NOPE'" in editor.message.text()
    assert editor.add_swing("all", 0.2, 1.0, 60.0, 0.5, 200.0, 100.0) == 0
    assert "end after it starts" in editor.message.text()
    assert editor.events == [] and editor.undo_stack.count() == 0


def test_cancel_in_the_progress_dialog_stops_the_run_and_keeps_what_was_recorded(qtbot, editor, tmp_path, dialogs):
    from PySide6.QtWidgets import QPushButton

    editor.duration_spin.setValue(7 * 86400.0)  # a week: only a working Cancel ends this test in time
    editor.add_event("fail", 5.0)
    out = tmp_path / "cancelled.dctwin"
    progress: list = []
    job = editor.run_and_record(str(out))
    job.sig_progress.connect(progress.append)
    assert not editor.run_button.isEnabled()
    qtbot.waitUntil(lambda: len(progress) >= 2, timeout=WAIT_MS)
    cancel = editor.progress.findChild(QPushButton)
    assert cancel.text() == "Cancel"
    with qtbot.waitSignal(job.sig_cancelled, timeout=WAIT_MS):
        cancel.click()
    job.wait(10)
    assert editor.job is None and editor.run_button.isEnabled()
    assert editor.message.text().startswith(f"Run failed: cancelled: {out} keeps what was recorded so far")
    assert not [d for d in dialogs if d[0] == "critical"]  # a cancel is not an error
    with Project.open(out, read_only=True) as p:
        reader = p.recording()
        assert not reader.finished and 0 < reader.duration_s < 7 * 86400.0
