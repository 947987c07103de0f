"""Simulation > Incidents runs and records a built-in incident on the hall shown, behind a progress
dialog that says from the start what it does, then the percentage and the time left; the incident
editor opens files where the layout is and has the library too (issue 17 items 7 and 11)."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from dctwin.app.document import blank_site
from dctwin.app.incident_run import time_left_s
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.incidents import library_folder, list_incidents
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.store import Project
from tests.app.gui_helpers import editing_window

WAIT_MS = 600_000


@pytest.fixture
def window(qtbot, tmp_path):
    site = load_demo("small")
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)  # quick; the physics is the real engine's
    layout = tmp_path / "small.json"
    save_layout(site, layout)
    w = editing_window(qtbot, tmp_path)
    w.open_file(str(layout), confirm=False)
    w.save_settings_on_close = False
    yield w
    if w.replay is not None:
        w.replay.stop()


def incidents_menu(w):
    sim = w.menu("Simulation")
    return next(a.menu() for a in sim.actions() if a.menu() is not None and a.text().replace("&", "") == "Incidents")


def click_menu_path(qtbot, w, *texts):
    """Click through the menu bar as a person does: the top menu, each submenu, then the item."""
    bar = w.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == texts[0])
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.actionGeometry(top).center())
    menu = top.menu()
    qtbot.waitUntil(menu.isVisible)
    for text in texts[1:]:
        act = next(a for a in menu.actions() if a.text().replace("&", "") == text)
        pos = menu.actionGeometry(act).center()
        if act.menu() is not None:
            qtbot.mouseMove(menu, pos)
            qtbot.mouseClick(menu, Qt.LeftButton, pos=pos)
            menu = act.menu()
            qtbot.waitUntil(menu.isVisible)
        else:
            qtbot.mouseClick(menu, Qt.LeftButton, pos=pos)


def test_the_library_is_in_the_simulation_menu_and_runs_and_records_on_the_hall(window, qtbot, tmp_path, monkeypatch):
    w = window
    menu = incidents_menu(w)
    names = [a.text() for a in menu.actions() if a.text() and not a.isSeparator()]
    assert names[:-1] == list(list_incidents()) and names[-1].replace("&", "").startswith("Incident Editor")
    offered = {}

    def save_name(parent, caption, start, file_filter):
        offered["start"] = start
        return str(tmp_path / "crah-run.dctwin"), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    texts = []
    with qtbot.waitSignal(w.sig_replay_shown, timeout=WAIT_MS):
        click_menu_path(qtbot, w, "Simulation", "Incidents", "crah-failure")
        w.incidents.progress.sig_text_changed.connect(texts.append)
        assert w.incidents.progress.dialog.isVisible()  # at once, not after the steady state
    # offered beside the layout, named after it and the incident
    assert offered["start"] == str(tmp_path / "small-crah-failure.dctwin")
    assert w.replay_mode and w.replay_data.path == str(tmp_path / "crah-run.dctwin")
    assert w.replay_data.incident_name == "crah-failure"
    with Project.open(tmp_path / "crah-run.dctwin", read_only=True) as p:
        reader = p.recording()
        assert reader.finished and reader.duration_s == pytest.approx(900.0)
        assert [(e.t_s, e.kind, e.target) for e in reader.events() if e.kind == "fail"] == [(60.0, "fail", "CRAH-2")]
    # the dialog said what it prepared from the start, then the percentage and the time left
    assert texts and texts[0].startswith("Preparing: ")
    with_percent = [t for t in texts if "%" in t]
    assert with_percent and any("left" in t for t in with_percent)
    assert not w.incidents.progress.dialog.isVisible()


def test_an_incident_for_another_hall_is_refused_naming_what_is_missing(window, dialogs, tmp_path, monkeypatch):
    w = window
    w.doc.replace(blank_site(), None)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: asked.append(a) or ("", "")))
    assert w.incidents.run("crah-failure") is None
    kind, title, text = dialogs[-1]
    assert kind == "critical" and "CRAH-2" in text and "demo hall 'small'" in text
    assert not asked and w.incidents.job is None


def test_the_incident_editor_opens_in_the_library_then_where_incidents_were_last_opened(window, tmp_path, monkeypatch):
    w = window
    starts = []
    answer = {"path": ""}

    def open_name(parent, caption, start, file_filter):
        starts.append(start)
        return answer["path"], file_filter

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_name))
    dlg = w.open_incident_editor()
    dlg.open_button.click()
    assert starts[-1] == library_folder() and os.path.isfile(os.path.join(starts[-1], "crah-failure.json"))
    # the built-in incidents are one click away in the editor too
    lib = dlg.library_button.menu()
    assert [a.text() for a in lib.actions()] == list(list_incidents())
    next(a for a in lib.actions() if a.text() == "crah-failure").trigger()
    assert [(e.kind, e.target) for e in dlg.events] == [("fail", "CRAH-2")]
    assert dlg.duration_spin.value() == 900.0
    # a built-in incident opened from the library folder is saved beside the layout, not over the library's
    answer["path"] = os.path.join(library_folder(), "crah-failure.json")
    dlg.open_button.click()
    saved = {}

    def save_name(parent, caption, start, file_filter):
        saved["start"] = start
        return "", file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    dlg.save_button.click()
    assert saved["start"] == str(tmp_path / "crah-failure.json")
    # an incident kept elsewhere is opened from there: the next editor starts in that folder
    mine = tmp_path / "my-incidents"
    mine.mkdir()
    shutil.copy(os.path.join(library_folder(), "crah-failure.json"), mine / "drill.json")
    answer["path"] = str(mine / "drill.json")
    dlg.open_button.click()
    assert dlg.path == str(mine / "drill.json") and len(dlg.events) == 1
    dlg.close()
    answer["path"] = ""
    dlg = w.open_incident_editor()
    dlg.open_button.click()
    assert starts[-1] == str(mine)
    dlg.close()


def test_time_left_goes_by_the_pace_so_far():
    assert time_left_s(10.0, 0.0, 600.0) is None  # no pace yet
    assert time_left_s(10.0, 100.0, 600.0) == pytest.approx(50.0)
    assert time_left_s(10.0, 600.0, 600.0) == 0.0
