"""GUI: Simulation > Contingency Sweep...: the dialog says how many scenarios, the sweep runs with a
cancellable progress dialog, the Contingency dock ranks the scenarios, the risk map counts on the
racks, a scenario replays on the floor plan (recorded on first use when it was not), a cancelled
sweep keeps what finished."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton

from dctwin.app.contingency import SweepDialog
from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.sim.contingency import SweepSettings
from dctwin.twin.store import Project
from dctwin.twin.store import sweeps as store

ELEMENTS = ("SWB-M", "UPS-01A", "GEN-1", "CRAH-01")


@pytest.fixture
def site():
    s = synthetic_site(4, rack_kw=8.0)
    s.halls[0] = dataclasses.replace(s.halls[0], grid_m=0.6)  # a coarse grid: scenarios of about a second
    return s


@pytest.fixture
def window(qtbot, tmp_path, site):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(site), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _sim_menu_texts(window):
    for act in window.menuBar().actions():
        if act.text() == "&Simulation":
            return [a.text() for a in act.menu().actions()]
    return []


def test_the_dialog_counts_the_scenarios_before_anything_runs(qtbot, site, tmp_path):
    dlg = SweepDialog(site, str(tmp_path / "s.dctwin"))
    qtbot.addWidget(dlg)
    assert "11 scenarios" in dlg.count.text()
    dlg.n.setCurrentIndex(1)
    assert "55 scenarios" in dlg.count.text() and "pruned" in dlg.count.text()
    dlg.exhaustive.setChecked(True)
    assert "55 scenarios" in dlg.count.text() and "pruned" not in dlg.count.text()
    for box in dlg.kinds.values():
        box.setChecked(False)
    assert not dlg.buttons.button(QDialogButtonBox.Ok).isEnabled() and "at least one kind" in dlg.count.text()
    dlg.kinds["cooling"].setChecked(True)
    s = dlg.settings()
    assert s.kinds == ("cooling",) and s.n == 2 and s.exhaustive and s.duration_s == 1800.0


def test_a_sweep_runs_ranks_maps_the_risk_and_replays_a_scenario(window, qtbot, tmp_path):
    assert "Contingency &Sweep…" in _sim_menu_texts(window)
    ctl = window.contingency
    out = str(tmp_path / "sweep.dctwin")
    runner = ctl.start(SweepSettings(duration_s=480.0, elements=ELEMENTS), out, workers=1, record=1, hints=0)
    assert ctl.progress is not None and ctl.progress.isVisible()
    qtbot.waitUntil(lambda: ctl.runner is None, timeout=600_000)
    assert runner is not None and ctl.dock.isVisible()
    panel = ctl.panel
    keys = panel.scenario_keys()
    assert len(keys) == 5 and keys[0] == "utility_loss+generator_fail_to_start:GEN-1" and keys[1] == "fail:SWB-M"
    assert panel.table.item(0, 1).text() == "IT lost" and panel.table.item(0, 3).text() == "4"
    assert panel.table.item(0, 10).text() == "recorded"
    # the risk map: the switchboard and the generator-less utility loss take every rack down
    item = ctl.risk_item
    assert item is not None and item.isVisible() and item.scene() is window.scene
    assert item.rack_counts == {r.id: 2 for r in window.doc.site.halls[0].racks}
    elements = {panel.elements.item(r, 0).text(): panel.elements.item(r, 1).text()
                for r in range(panel.elements.rowCount())}
    assert elements["SWB-M"].startswith("4 racks down") and elements["UPS-01A"] == "nothing"
    # choosing a scenario explains it
    panel.table.selectRow(1)
    assert "SWB-M failed" in panel.detail.toPlainText() and "Static pass" in panel.detail.toPlainText()
    window.grab().save(str(tmp_path / "contingency.png"))
    # the recorded top scenario replays on the floor plan
    panel.table.selectRow(0)
    QTest.mouseClick(panel.replay_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.replay_mode and window.replay_data is not None, timeout=120_000)
    rec0 = window.replay_data.recording_id
    assert "GEN-1" in window.replay_data.incident_name
    # one that was not recorded is recorded first, then replayed
    row = keys.index("fail:SWB-M")
    panel.table.selectRow(row)
    QTest.mouseClick(panel.replay_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.replay_data is not None and window.replay_data.recording_id != rec0,
                    timeout=300_000)
    assert "SWB-M" in window.replay_data.incident_name
    with Project.open(out, read_only=True) as project:
        stored = store.load_sweep(project).by_key()
    assert stored["fail:SWB-M"]["recording_id"] == window.replay_data.recording_id


def test_cancelling_keeps_what_finished_and_says_so(window, qtbot, tmp_path):
    ctl = window.contingency
    out = str(tmp_path / "cancel.dctwin")
    ctl.start(SweepSettings(duration_s=480.0, elements=ELEMENTS), out, workers=1, record=0, hints=0)
    qtbot.waitUntil(lambda: ctl.progress is not None and ctl.progress.value() >= 1, timeout=600_000)
    (button,) = ctl.progress.findChildren(QPushButton)
    QTest.mouseClick(button, Qt.LeftButton)  # the dialog's Cancel button
    qtbot.waitUntil(lambda: ctl.runner is None, timeout=600_000)
    assert "cancelled" in window.statusBar().currentMessage()
    with Project.open(out, read_only=True) as project:
        (info,) = store.sweeps(project)
    assert not info.finished and info.done < 4
    assert "unfinished" in ctl.panel.summary.text()


def test_quitting_with_a_sweep_running_stops_it_and_keeps_what_finished(window, qtbot, tmp_path):
    ctl = window.contingency
    out = str(tmp_path / "quit.dctwin")
    runner = ctl.start(SweepSettings(duration_s=480.0, elements=ELEMENTS), out, workers=1, record=0, hints=0)
    qtbot.waitUntil(lambda: ctl.progress is not None and ctl.progress.value() >= 1, timeout=600_000)
    QApplication.instance().aboutToQuit.emit()  # what the application sends before it quits
    assert not runner.running  # cancelled, its cluster closed, before the window goes
    with Project.open(out, read_only=True) as project:
        (info,) = store.sweeps(project)
    assert not info.finished and info.done < 4
