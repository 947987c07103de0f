"""The window against bad files: a dialog that names the file, the window and its document survive,
and the file on disk is never changed."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import QSettings

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from tests.app.attack_files import build
from dctwin.twin.model.demos import load_demo

WAIT_MS = 30000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return build(tmp_path_factory.mktemp("gui-attack"))


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # no physics: these tests are about files
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    w.save_settings_on_close = False
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.replay is not None:
        w.replay.stop()


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name,says", [
    ("garbage.json", "not UTF-8"),
    ("bigint.json", "401 digits"),
    ("nested.json", "nested too deeply"),
    ("ctrl_id.json", "control"),
    ("run.dctwin", "is an SQLite database"),
    ("stacked.json", "more footprints overlap"),
])
def test_open_bad_layout_shows_a_dialog_and_keeps_the_document(window, files, dialogs, name, says):
    before, digest = window.doc.site.copy(), _digest(files[name])
    assert window.open_file(str(files[name]), confirm=False) is False
    kind, _title, text = dialogs[-1]
    assert kind == "critical" and name in text and says in text
    assert window.doc.site == before and window.isVisible()
    assert _digest(files[name]) == digest


@pytest.mark.parametrize("name,says", [
    ("trigger.dctwin", "trigger 'wipe'"),
    ("view.dctwin", "view 'events'"),
    ("cut_end.dctwin", "is truncated"),
    ("flip_middle.dctwin", "is damaged"),
    ("dt_text.dctwin", "recording 1 is damaged"),
    ("layout_blob.dctwin", "not text"),
    ("tiny.json", "not an SQLite database"),
])
def test_open_damaged_recording_shows_a_dialog_and_stays_in_the_editor(qtbot, window, files, dialogs, name, says):
    before, digest = window.doc.site.copy(), _digest(files[name])
    with qtbot.waitSignal(window.replay_presenter.ensure_controller().sig_error, timeout=WAIT_MS):
        window.open_recording(str(files[name]))
    qtbot.waitUntil(lambda: bool(dialogs), timeout=WAIT_MS)
    kind, _title, text = dialogs[-1]
    assert kind == "critical" and name in text and says in text
    assert not window.replay_mode and window.doc.site == before
    assert _digest(files[name]) == digest


def test_save_over_a_project_file_is_refused_with_a_dialog(window, files, dialogs, tmp_path):
    """Save As onto a project file would replace a database of recordings by a layout: refused, file kept."""
    target = tmp_path / "run.dctwin"
    target.write_bytes(files["run.dctwin"].read_bytes())
    digest = _digest(target)
    assert window.save_as(str(target)) is False
    kind, _title, text = dialogs[-1]
    assert kind == "critical" and "is a project file" in text
    assert _digest(target) == digest and window.isVisible()


def test_save_into_a_missing_folder_is_refused_with_a_dialog(window, dialogs, tmp_path):
    assert window.save_as(str(tmp_path / "nodir" / "hall.json")) is False
    assert dialogs[-1][0] == "critical" and "nodir" in dialogs[-1][2]
    assert not (tmp_path / "nodir").exists()


@pytest.mark.parametrize("name", ["kf_bytes.dctwin", "kf_dtype.dctwin", "kf_huge.dctwin", "kf_negative.dctwin",
                                  "kf_text_shape.dctwin", "kf_unicode.dctwin", "kf_swapped.dctwin",
                                  "kf_short.dctwin", "plain_kf_bytes.dctwin"])
def test_a_recording_that_opens_but_cannot_replay_says_so_in_a_dialog(qtbot, window, files, dialogs, name):
    digest = _digest(files[name])
    errors: list = []
    window.replay_presenter.ensure_controller().sig_error.connect(errors.append)
    window.open_recording(str(files[name]))
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=WAIT_MS)
    kind, title, text = dialogs[-1]
    assert kind == "critical" and text == errors[0]
    assert window.isVisible() and _digest(files[name]) == digest
    # it opened (the layout and series are readable); not one second of it replays: a dialog says so
    assert window.replay_mode and title == "Cannot replay recording"
    assert window.readout.physics_label.text() == "replay failed"



@pytest.fixture(scope="module")
def late_damage(files):
    """A real 60 s recording of the tiny hall whose keyframes after the first claim arrays of a billion
    elements: its start replays (from the keyframe at 0 s), a seek past the next keyframe cannot."""
    import contextlib
    import io
    import sqlite3

    from dctwin.app.main import main

    path = files["dir"] / "late_damage.dctwin"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["simulate", str(files["tiny.json"]), "--duration", "60", "--grid", "1", "--keyframe-every",
                     "15", "--out", str(path), "--no-progress"]) == 0
    con = sqlite3.connect(path)
    times = [t for (t,) in con.execute("SELECT t_s FROM keyframes ORDER BY t_s")]
    assert len(times) >= 3 and times[0] == 0.0 and times[1] < 50.0  # a good start, damage before 50 s
    con.execute("UPDATE keyframe_arrays SET shape = '[1000000000]' WHERE keyframe_id IN "
                "(SELECT id FROM keyframes WHERE t_s > 0)")
    con.commit()
    con.close()
    return path, times[1]


def test_a_seek_into_a_damaged_part_of_a_recording_ends_in_a_dialog(qtbot, window, late_damage, dialogs):
    """Issue 19: keyframes whose arrays claim a billion elements made the window hang. The recording
    opens and its start replays; a seek past the damage ends in a dialog naming it (and stops play),
    and the window still seeks to the good part afterwards."""
    late_damage, first_damaged = late_damage
    digest = _digest(late_damage)
    ctl = window.replay_presenter.ensure_controller()
    errors: list = []
    states: list = []
    ctl.sig_error.connect(errors.append)
    ctl.sig_state.connect(states.append)
    window.open_recording(str(late_damage))
    qtbot.waitUntil(lambda: bool(states) or bool(errors), timeout=WAIT_MS)
    assert not errors and not dialogs and window.replay_mode
    window.timeline.seek(50.0)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=WAIT_MS)
    kind, title, text = dialogs[-1]
    assert kind == "critical" and title == "Cannot replay recording" and text == errors[0]
    assert "keyframe" in text and "Error" not in text, text  # names the damage, no exception class
    assert window.isVisible() and _digest(late_damage) == digest
    seen = len(states)
    good = 0.5 * first_damaged
    window.timeline.seek(good)  # the worker survived: the good part still replays
    qtbot.waitUntil(lambda: len(states) > seen, timeout=WAIT_MS)
    assert abs(states[-1].t_s - good) < 1e-6
    shown = len(dialogs)
    window.timeline.seek(55.0)  # the same damage again: said once, not a dialog per seek
    qtbot.waitUntil(lambda: len(errors) > 1, timeout=WAIT_MS)
    qtbot.wait(200)
    assert len(dialogs) == shown and window.readout.physics_label.text() == "replay failed"
