"""Autosave of unsaved edits and recovery after a crash, through the window."""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from dctwin.twin.model.commands import RemoveElements
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import site_to_dict

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow


def make_window(qtbot, tmp_path, folder):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner, autosave=True, autosave_folder=str(folder))
    w.autosaver.delay_ms = 10
    qtbot.addWidget(w)
    return w


def test_edits_are_autosaved_and_a_save_removes_the_autosave(qtbot, tmp_path):
    folder = tmp_path / "autosave"
    w = make_window(qtbot, tmp_path, folder)
    own = folder / f"autosave-{os.getpid()}.json"
    w.execute(RemoveElements(("R-A01",)))
    qtbot.waitUntil(own.exists, timeout=3000)
    data = json.loads(own.read_text())
    assert "R-A01" not in json.dumps(data["layout"])
    assert w.save_as(str(tmp_path / "hall.json"))
    assert not own.exists()


def test_a_crash_remnant_is_offered_and_recovered_as_unsaved(qtbot, tmp_path, dialogs):
    folder = tmp_path / "autosave"
    folder.mkdir()
    site = load_demo("small")
    RemoveElements(("R-B02",)).apply(site)
    dead_pid = 2 ** 22 + 12345  # above pid_max on Linux: no such process
    (folder / f"autosave-{dead_pid}.json").write_text(json.dumps(
        {"format": "dctwin-autosave", "version": 1, "document": "/data/hall.json", "saved_at": "2026-01-01T00:00:00",
         "pid": dead_pid, "layout": site_to_dict(site)}))
    w = make_window(qtbot, tmp_path, folder)
    dialogs.answer = QMessageBox.Yes
    assert w.offer_recovery()
    assert dialogs[-1][0] == "question" and "/data/hall.json" in dialogs[-1][2]
    assert "R-B02" not in w.doc.site.ids()
    assert w.doc.dirty and w.isWindowModified()
    assert not (folder / f"autosave-{dead_pid}.json").exists()


def test_declined_recovery_discards_the_remnant(qtbot, tmp_path, dialogs):
    folder = tmp_path / "autosave"
    folder.mkdir()
    dead_pid = 2 ** 22 + 54321
    remnant = folder / f"autosave-{dead_pid}.json"
    remnant.write_text(json.dumps({"format": "dctwin-autosave", "version": 1, "document": None,
                                   "saved_at": "2026-01-01T00:00:00", "pid": dead_pid,
                                   "layout": site_to_dict(load_demo("small"))}))
    w = make_window(qtbot, tmp_path, folder)
    dialogs.answer = QMessageBox.No
    before = w.doc.site.copy()
    assert not w.offer_recovery()
    assert w.doc.site == before and not remnant.exists()
