"""Replay view: File > Open Recording, the timeline, alarm markers, the cause chain, review exports."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from tests.twin.replay_data import FAIL_AT_S, make_recording
from dctwin.twin.model.commands import MoveElements
from dctwin.twin.model.demos import load_demo
from dctwin.twin.store import Project, replay_to, verify_file

WAIT_MS = 60000


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("replay") / "run.dctwin")


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # the editor's solver plays no part in a replay
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    w.save_settings_on_close = False
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.replay is not None:
        w.replay.stop()


def open_replay(qtbot, w, path) -> dict:
    with qtbot.waitSignal(w.sig_replay_shown, timeout=WAIT_MS) as blocker:
        assert w.open_recording(str(path))
    return blocker.args[0]


def wait_state_at(qtbot, w, t_s: float) -> dict:
    seen: list = []
    w.sig_replay_shown.connect(seen.append)
    qtbot.waitUntil(lambda: any(abs(f.t_s - t_s) < 1e-9 for f in seen), timeout=WAIT_MS)
    return [f for f in seen if abs(f.t_s - t_s) < 1e-9][-1]


def test_clicking_an_alarm_marker_shows_that_second_and_its_cause_chain(qtbot, window, run_file):
    w = window
    first = open_replay(qtbot, w, run_file)
    assert w.replay_mode and first.t_s == 0.0
    assert w.timeline_dock.isVisible() and w.banner.isVisible() and "read-only" in w.banner.text()
    alarm_markers = [m for m in w.timeline.view.markers if m.lane == "alarm"]
    with Project.open(run_file, read_only=True) as p:
        recorded = [a for a in p.recording().alarms() if a["active"]]
    assert len(alarm_markers) == len(recorded)
    marker = next(m for m in alarm_markers if m.kind == "inlet_allowable")
    # click it like a person: on the marker in the timeline strip
    pos = w.timeline.view.marker_pos(marker).toPoint()
    shown: list = []
    w.sig_replay_shown.connect(shown.append)
    QTest.mouseClick(w.timeline.view, Qt.LeftButton, Qt.NoModifier, pos)
    qtbot.waitUntil(lambda: any(abs(f.t_s - marker.t_s) < 1e-9 for f in shown), timeout=WAIT_MS)
    assert w.timeline.position_s == marker.t_s
    # the floor plan shows the state of that second: the same, bit for bit, as replaying the recording there
    with Project.open(run_file, read_only=True) as p:
        reader = p.recording()
        want = replay_to(reader, marker.t_s).summary()
        t, mx = reader.metric_trend("max_inlet_c", marker.t_s, marker.t_s)
    got = w.scene.summary
    assert got.t_s == marker.t_s
    for rid, r in want.racks.items():
        assert got.racks[rid].inlet_c == r.inlet_c
        item = w.scene.items_by_id[rid]
        assert item.fill == w.scene.temp_scale.colour(r.inlet_c)
    assert got.max_inlet_c == pytest.approx(float(mx[0]), abs=1e-4)  # and the recorded hall metric
    assert got.racks[marker.target].inlet_c > 32.0  # the alarm's own condition holds in that second
    # the capacity read-outs are that second's: the failed CRAH offers no headroom
    assert w.scene.items_by_id["CRAH-1"].badge == "stopped"
    assert "1 of 2 units stopped" in w.view.capacity_label.text()
    # the element is selected, the cause chain reads back to the injected failure
    assert w.scene.selected_ids() == [marker.target]
    texts = w.cause_panel.step_texts()
    assert "inlet allowable on " + marker.target in texts[0]
    assert texts[-1].endswith("fail CRAH-1 [injected]")
    assert "CRAH-1" in w.cause_panel.title.text()
    # a step of the chain is clickable: the failure's second and element
    shown.clear()
    w.cause_panel.list.itemClicked.emit(w.cause_panel.list.item(len(texts) - 1))
    qtbot.waitUntil(lambda: any(abs(f.t_s - FAIL_AT_S) < 1e-9 for f in shown), timeout=WAIT_MS)
    assert w.scene.selected_ids() == ["CRAH-1"]


def test_newest_seek_wins(qtbot, window, run_file, monkeypatch):
    import threading

    from dctwin.twin.store import Replayer

    w = window
    open_replay(qtbot, w, run_file)
    shown: list = []
    w.sig_replay_shown.connect(lambda f: shown.append(f.t_s))
    asks = [float(t) for t in range(5, 120, 9)]
    gate, real_seek = threading.Event(), Replayer.seek

    def held_seek(self, t_s):  # the worker is busy while the person drags: however loaded the machine is
        gate.wait(WAIT_MS / 1e3)
        return real_seek(self, t_s)

    monkeypatch.setattr(Replayer, "seek", held_seek)
    for t in asks:  # faster than any seek: the worker skips to the newest request
        w.timeline.seek(t)
    gate.set()
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == asks[-1], timeout=WAIT_MS)
    qtbot.wait(200)
    assert shown[-1] == asks[-1]
    assert set(shown) <= set(asks)
    assert len(shown) < len(asks)


def test_replay_is_read_only_and_close_returns_to_editing(qtbot, window, run_file):
    w = window
    before = w.doc.site
    open_replay(qtbot, w, run_file)
    rid = w.scene.hall.racks[0].id
    assert not w.execute(MoveElements((rid,), 0.6, 0.0))
    assert "cannot be edited" in w.statusBar().currentMessage()
    assert w.act_export_review.isEnabled() and w.act_close_replay.isEnabled()
    w.close_replay()
    assert not w.replay_mode and w.doc.site is before and not w.banner.isVisible()
    assert not w.act_export_review.isEnabled()


def test_export_for_review_then_open_it_shows_the_review_banner(qtbot, window, run_file, tmp_path):
    w = window
    open_replay(qtbot, w, run_file)
    out = tmp_path / "review.dctwin"
    job = w.export_review_to(str(out))
    assert w.export_progress is not None
    with qtbot.waitSignal(job.sig_done, timeout=WAIT_MS):
        pass
    assert verify_file(out).intact
    open_replay(qtbot, w, out)
    assert w.replay_data.is_review
    text = w.banner.text()
    assert "Review export — read-only" in text and "intact" in text
    assert "review export" in w.windowTitle()


def test_export_report_from_the_gui(qtbot, window, run_file, tmp_path):
    w = window
    open_replay(qtbot, w, run_file)
    out = tmp_path / "report.pdf"
    job = w.export_report_to(str(out))
    with qtbot.waitSignal(w.replay_presenter.sig_report_written, timeout=WAIT_MS):
        pass
    assert out.read_bytes().startswith(b"%PDF")


def test_a_file_that_is_not_a_recording_is_refused_with_a_dialog(qtbot, window, tmp_path, dialogs):
    w = window
    bad = tmp_path / "bad.dctwin"
    bad.write_bytes(b"not a database" * 50)
    with qtbot.waitSignal(w.replay_presenter.ensure_controller().sig_error, timeout=WAIT_MS):
        w.open_recording(str(bad))
    assert not w.replay_mode
    assert dialogs and dialogs[-1][0] == "critical" and "not a dctwin" in dialogs[-1][2]


def test_a_moment_export_replays_from_its_keyframe_only(qtbot, window, run_file, tmp_path):
    from dctwin.twin.store import export_review

    w = window
    out = tmp_path / "moment.dctwin"
    export_review(run_file, out, at_s=84.0)
    open_replay(qtbot, w, out)
    kf = w.replay_data.first_keyframe_s
    assert 0.0 < kf < 84.0 and w.replay_data.duration_s == 84.0
    assert "the moment t = 00:01:24" in w.banner.text() and w.timeline.view.floor_s == kf
    shown: list = []
    w.sig_replay_shown.connect(lambda f: shown.append(f.t_s))
    w.timeline.seek(5.0)  # before the keyframe: the earliest second the file can show
    qtbot.waitUntil(lambda: kf in shown, timeout=WAIT_MS)
    assert w.timeline.position_s == kf
    with Project.open(run_file, read_only=True) as p:
        want = replay_to(p.recording(), kf).summary()
    assert {k: v.inlet_c for k, v in w.scene.summary.racks.items()} == \
        {k: v.inlet_c for k, v in want.racks.items()}


def test_clicking_an_automatic_action_shows_why_it_happened(qtbot, window, run_file):
    w = window
    open_replay(qtbot, w, run_file)
    auto = [m for m in w.timeline.view.markers if m.lane == "automatic"]
    assert auto, "the CRAH failure makes the racks throttle"
    m = auto[0]
    w.timeline.view.sig_marker_clicked.emit(m)
    wait_state_at(qtbot, w, m.t_s)
    texts = w.cause_panel.step_texts()
    assert texts[0].split("  ", 1)[1].startswith(f"{m.kind} {m.target} [automatic]")
    assert w.scene.selected_ids() == [m.target]
    ev = w.replay_data.by_seq[m.key[1]]
    assert len(texts) == 1 + (ev.cause is not None and ev.cause in w.replay_data.by_seq)


def test_scrubbing_previews_the_recorded_series_then_shows_the_exact_state(qtbot, window, run_file):
    w = window
    open_replay(qtbot, w, run_file)
    with Project.open(run_file, read_only=True) as p:
        t, inlet = p.recording().rack_values_at("rack_inlet_c", 95.0)
    w.timeline.seek(95.0)
    prev = w.scene.summary  # at once, before any replay result
    assert prev.preview is True and prev.t_s == t == 90.0
    rid = w.replay_data.rack_ids[0]
    assert prev.racks[rid].inlet_c == pytest.approx(float(inlet[0]))
    assert "preview" in w.readout.physics_label.text()
    wait_state_at(qtbot, w, 95.0)
    assert not w.scene.summary.preview and w.scene.summary.t_s == 95.0
