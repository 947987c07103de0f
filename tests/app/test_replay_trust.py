"""A recording or review export in the window, as an operator uses it: nothing in it can be edited
(every path tried), its first second shows the IT power it recorded, its alarms are worked from the
list as from the timeline (grouped by cause, acknowledged and shelved, with who and when)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from dctwin.app.runner import SimRunner
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.store import Project, export_review
from dctwin.widgets.floor_plan import ELEMENT_MIME
from tests.app.gui_helpers import centre_of, click, make_window, mouse_drag, viewport_point
from tests.twin.replay_data import make_recording

WAIT_MS = 120000


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("trust") / "run.dctwin")


@pytest.fixture(scope="module")
def review_file(run_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("trust-review") / "run-review.dctwin"
    export_review(run_file, out)
    return out


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    runner = SimRunner()
    runner.available = False  # the editor's solver plays no part in a replay
    w = make_window(qtbot, tmp_path, load_demo("small"), runner)
    saves: list = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: saves.append(a) or ("", "")))
    w.file_dialogs = saves
    yield w
    if w.replay is not None:
        w.replay.stop()


def open_replay(qtbot, w, path):
    with qtbot.waitSignal(w.sig_replay_shown, timeout=WAIT_MS) as blocker:
        assert w.open_recording(str(path))
    return blocker.args[0]


def _drop_rack(w, x_m: float, y_m: float) -> bool:
    """A palette entry dragged onto the plan (as the palette's drag would send it); True if accepted."""
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, w.palette_panel.mime_for(1))
    vp = w.view.viewport()
    pos = QPointF(viewport_point(w.view, x_m, y_m))
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(vp, enter)
    accepted = enter.isAccepted()
    for ev in (QDragMoveEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
               QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)):
        QApplication.sendEvent(vp, ev)
    return accepted


# ---------------------------------------------------------------------- item 1: read-only means read-only
def test_a_review_export_cannot_be_edited_by_any_path(qtbot, window, review_file, dialogs):
    w = window
    open_replay(qtbot, w, review_file)
    assert "nothing here can be changed" in w.banner.text()
    layout = dumps_layout(w.doc.site)
    rid = "R-A05"
    row_label = w.scene.row_labels["A"].text

    def unchanged() -> None:
        assert dumps_layout(w.doc.site) == layout
        assert w.doc.undo_stack.count() == 0 and not w.act_undo.isEnabled() and not w.doc.dirty
        assert w.scene.row_labels["A"].text == row_label

    # the inspector: select R-A05 on the plan, type 99 into IT power, Enter
    x, y = centre_of(w.doc.site, rid)
    click(w.view, x, y)
    assert w.scene.selected_ids() == [rid]
    edit = w.inspector.editors["it_kw"]
    assert edit.isReadOnly() and "read-only" in w.inspector.header.text()
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "99")
    QTest.keyClick(edit, Qt.Key_Return)
    unchanged()
    assert edit.text() == "8"  # R-A05 still shows its recorded 8 kW
    # ... and an edit that reaches the window anyway (a combo, a script) is refused with the reason
    w.inspector.sig_property_edited.emit([rid], "it_kw", 99.0)
    unchanged()
    assert "cannot be changed" in w.inspector.error_text()
    assert not w.inspector.editors["facing"].isEnabled()
    # the palette: off, and a drag onto the plan is not taken
    assert not w.palette_panel.isEnabled()
    assert not _drop_rack(w, 12.0, 1.0)
    unchanged()
    # the keyboard on the plan: Delete, R (rotate), arrows (nudge), Ctrl+C / Ctrl+V (paste)
    w.view.setFocus()
    click(w.view, x, y)
    for key, mod in ((Qt.Key_Delete, Qt.NoModifier), (Qt.Key_R, Qt.NoModifier), (Qt.Key_Right, Qt.NoModifier),
                     (Qt.Key_Up, Qt.NoModifier), (Qt.Key_C, Qt.ControlModifier), (Qt.Key_V, Qt.ControlModifier),
                     (Qt.Key_Z, Qt.ControlModifier)):
        QTest.keyClick(w.view, key, mod)
        unchanged()
    w.paste()  # even called directly (a menu made elsewhere): refused
    unchanged()
    # a mouse drag of the rack moves nothing
    mouse_drag(w.view, (x, y), (x + 2.4, y))
    unchanged()
    # Ctrl+S offers nothing to save; the incident editor (Ctrl+I) does not open
    QTest.keyClick(w, Qt.Key_S, Qt.ControlModifier)
    QTest.keyClick(w, Qt.Key_I, Qt.ControlModifier)
    assert not w.act_save.isEnabled() and not w.act_incident_editor.isEnabled()
    assert w.file_dialogs == [] and w.incidents.editor is None and w.open_incident_editor() is None
    assert [d for d in dialogs if "Save" in d[1]] == []
    unchanged()
    # closing the review brings the editable layout back: the same keys edit again
    w.close_replay()
    assert not w.doc.read_only and w.palette_panel.isEnabled() and w.act_save.isEnabled()
    click(w.view, *centre_of(w.doc.site, rid))
    w.inspector.sig_property_edited.emit([rid], "it_kw", 9.0)
    assert w.doc.site.get(rid).it_kw == 9.0
    assert w.history.model().data(w.history.model().index(1, 0)) == "Set IT power of R-A05 to 9 kW"


# ---------------------------------------------------------------------- item 5: the first second's IT power
def test_the_first_second_of_a_replay_shows_the_it_power_it_recorded(qtbot, window, run_file):
    w = window
    first = open_replay(qtbot, w, run_file)
    assert first.t_s == 0.0
    with Project.open(run_file, read_only=True) as p:
        t, hall = p.recording().hall_metrics()
    recorded_kw = float(hall["it_power_w"][0]) / 1e3
    assert t[0] == 0.0 and recorded_kw > 100
    assert first.summary.it_power_w / 1e3 == pytest.approx(recorded_kw, rel=1e-5)
    assert w.readout.it_label.text() == f"IT {recorded_kw:.0f} kW"
    assert w.readout.time_label.text() == "t = 00:00:00"
    assert all(r.power_w > 0 for r in first.summary.racks.values())


# ---------------------------------------------------------------------- items 8, 9: alarms worked from the list
def _click_line(qtbot, tree, item) -> None:
    """Click a line of the alarm list as a person does (its text column)."""
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    QTest.mouseClick(tree.viewport(), Qt.LeftButton, Qt.NoModifier, rect.center())


def test_the_alarm_list_and_the_timeline_are_one_selection(qtbot, window, run_file):
    w = window
    open_replay(qtbot, w, run_file)
    board = w.alarms.board
    assert board is not None and len(board.groups) == 1
    g = board.groups[0]
    assert g.title.startswith("CRAH-1 failed at 00:00:10: ") and "racks" in g.title
    # every column says what it holds, and every cell its whole text (narrow columns cut it off)
    header = w.alarms.tree.headerItem()
    assert all(header.toolTip(c) for c in range(w.alarms.tree.columnCount()))
    target = next(t for t in g.targets if t.head.kind == "inlet_allowable")
    item = w.alarms.item_for_alarm(target.head.index)
    assert item.toolTip(3) == item.text(3) and target.head.message in item.text(3)
    # a click on the alarm's line: the timeline goes to its second and picks its marker, the rack is
    # selected, the cause chain explains it
    shown: list = []
    w.sig_replay_shown.connect(shown.append)
    _click_line(qtbot, w.alarms.tree, item)
    qtbot.waitUntil(lambda: any(abs(f.t_s - target.head.t_s) < 1e-9 for f in shown), timeout=WAIT_MS)
    assert w.timeline.position_s == target.head.t_s
    assert w.scene.selected_ids() == [target.target]
    assert w.timeline.view.picked is not None and w.timeline.view.picked.key == ("alarm", target.head.index)
    assert "inlet allowable on " + target.target in w.cause_panel.step_texts()[0]
    assert w.cause_panel.step_texts()[-1].endswith("fail CRAH-1 [injected]")
    # a click on another alarm's marker on the timeline selects its line in the list
    other = next(m for m in w.timeline.view.markers if m.lane == "alarm" and m.key != ("alarm", target.head.index))
    pos = w.timeline.view.marker_pos(other).toPoint()
    QTest.mouseClick(w.timeline.view, Qt.LeftButton, Qt.NoModifier, pos)
    assert w.alarms.selected_key() == other.key
    assert w.timeline.view.picked is other
    # a click on the cause's line: the failure's second, CRAH-1 selected
    _click_line(qtbot, w.alarms.tree, w.alarms.item_for_group(g.key))
    assert w.timeline.position_s == g.root.t_s and w.scene.selected_ids() == ["CRAH-1"]


def test_acknowledge_and_shelve_are_recorded_with_who_and_when(qtbot, window, run_file, tmp_path, monkeypatch):
    import shutil

    from dctwin.twin.review import collect
    from dctwin.twin.store.operator import read_actions

    from dctwin.app.report import report_html

    monkeypatch.setenv("DCTWIN_OPERATOR", "alice")
    path = tmp_path / "worked.dctwin"
    shutil.copyfile(run_file, path)
    w = window
    open_replay(qtbot, w, path)
    g = w.alarms.board.groups[0]
    n = len(g.alarms)
    assert g.unacknowledged == n and not w.alarms.ack_button.isEnabled()  # nothing selected yet
    # acknowledge the whole cause: select its line, press Acknowledge
    _click_line(qtbot, w.alarms.tree, w.alarms.item_for_group(g.key))
    assert w.alarms.ack_button.isEnabled()
    QTest.mouseClick(w.alarms.ack_button, Qt.LeftButton)
    g = w.alarms.board.groups[0]
    assert g.unacknowledged == 0 and w.alarms.item_for_group(g.key).text(4) == "all acknowledged"
    assert not w.alarms.ack_button.isEnabled()
    # shelve one alarm: it leaves its cause's lines and waits on the shelf, named
    head = g.targets[0].head
    _click_line(qtbot, w.alarms.tree, w.alarms.item_for_alarm(head.index))
    QTest.mouseClick(w.alarms.shelve_button, Qt.LeftButton)
    board = w.alarms.board
    assert head.key not in board.groups[0].keys and [a.key for a in board.shelved] == [head.key]
    assert w.alarms.show_shelved.text() == "Show shelved (1)"
    w.alarms.show_shelved.setChecked(True)
    line = w.alarms.item_for_alarm(head.index)
    assert line is not None and line.text(4).startswith("shelved by alice")
    # both are in the file, with who and when and the second of the run they were taken at; the timeline shows them
    with Project.open(path, read_only=True) as p:
        acts = read_actions(p, p.recording().id)
    assert [(a.kind, a.by) for a in acts] == [("acknowledge", "alice"), ("shelve", "alice")]
    assert acts[0].alarms == tuple(k for k in g.keys) and acts[0].at.endswith("+00:00")
    assert acts[1].t_s == w.timeline.position_s
    assert [m.kind for m in w.timeline.view.markers if m.key and m.key[0] == "action"] == ["acknowledge", "shelve"]
    # opened again: as it was left
    w.close_replay()
    open_replay(qtbot, w, path)
    assert w.alarms.board.groups[0].unacknowledged == 0 and len(w.alarms.board.shelved) == 1
    # the review shows who did what: key figures, the alarms by cause, the operator actions
    data = collect(path)
    html = report_html(data, {"floor_plan": "", "timeline": "", "trends": ""})
    assert f"acknowledged {n} alarms of CRAH-1" in html and "by alice" in html
    assert "<h2>Alarms by cause</h2>" in html and "shelved by alice" in html
    # a review export of it carries them, and takes no more
    out = tmp_path / "worked-review.dctwin"
    export_review(path, out)
    w.close_replay()
    open_replay(qtbot, w, out)
    assert len(w.replay_data.actions) == 2 and not w.alarms.ack_button.isEnabled()
    _click_line(qtbot, w.alarms.tree, w.alarms.item_for_group(w.alarms.board.groups[0].key))
    assert not w.alarms.shelve_button.isEnabled() and "review export" in w.alarms.shelve_button.toolTip()


# ---------------------------------------------------------------------- item 10: one way to write times and °C
def _all_lines(tree) -> list:
    out, stack = [], [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(item.child(i) for i in range(item.childCount()))
    return out


def test_the_alarm_list_writes_times_as_hh_mm_ss_and_the_value_that_crossed(qtbot, window, review_file):
    import re

    w = window
    open_replay(qtbot, w, review_file)
    # the status and the timeline say the run's length as they say every time, and the timeline's time
    # never runs into its counts ("00:00:00 / 00:02:002 events")
    assert w.statusBar().currentMessage().endswith(", recording 1: 00:02:00")
    tl = w.timeline
    assert tl.time_label.text() == "00:00:00 / 00:02:00" and tl.info_label.text().startswith("2 events, ")
    assert tl.time_label.geometry().left() + tl.time_label.fontMetrics().horizontalAdvance(tl.time_label.text()) \
        + 4 <= tl.info_label.geometry().left()  # a visible gap
    lines = _all_lines(w.alarms.tree)
    assert len(lines) > 5
    crossings = 0
    for item in lines:
        for c in range(w.alarms.tree.columnCount()):
            text = item.text(c)
            assert "deg C" not in text and not re.search(r"\d C\b", text), text
            # a time of the run is hh:mm:ss (not "t=252 s", "13.0 min" or "4:12"; a rule's window may say "15 min")
            assert not re.search(r"\bt ?= ?\d+(\.\d+)? ?s\b|\d+\.\d+ min\b|(?<![\d:])\d+:\d\d(?![\d:])", text), text
            # "inlet 32.0 °C above warning 32 °C" never: the value shown lies beyond the limit shown
            for value, limit in re.findall(r"(\d+(?:\.\d+)?) °C (?:above|over) [a-z ]*?(\d+(?:\.\d+)?) °C", text):
                assert float(value) > float(limit), text
                crossings += 1
        assert re.fullmatch(r"\d\d:\d\d:\d\d", item.text(0)) or not item.text(0), item.text(0)
    assert crossings > 0
