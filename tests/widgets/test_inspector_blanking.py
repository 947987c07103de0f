"""The rack inspector's open-U field (rack units without blanking panels): shown, edited, undone, and what the
rack recirculates now shown under it."""

from __future__ import annotations

import pytest

from dctwin.app.runner import SimRunner
from dctwin.twin.model.commands import SetProperty
from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.results import RackResult
from dctwin.widgets.inspector import InspectorPanel
from tests.app.gui_helpers import centre_of, click, make_window


def test_inspector_shows_open_u_and_what_the_rack_recirculates_now(qtbot):
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.show()
    insp.set_context(site, ["R-A01"])
    edit = insp.editors["open_u"]
    assert edit.text() == "0"
    label = insp.form.labelForField(edit.parentWidget()).text()
    assert "blanking panel" in label and "0.0215 m²" in label
    assert insp.recirc_now.isHidden()  # fully blanked: nothing to say
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        edit.setText("4")
        edit.editingFinished.emit()
    assert blk.args == [["R-A01"], "open_u", 4.0]
    # the window applies the edit; the panel shows the new value and, once simulated, the share and the rise
    SetProperty("R-A01", "open_u", 4.0).apply(site)
    insp.set_context(site, ["R-A01"])
    assert insp.editors["open_u"].text() == "4" and not insp.recirc_now.isHidden()
    assert insp.recirc_now.text() == "now — (not simulated yet)"
    insp.set_live({"R-A01": RackResult(inlet_c=22.0, exhaust_c=31.4, power_w=10e3, airflow_m3s=0.9,
                                       recirculated_share=0.132, server_intake_c=23.24)})
    assert insp.recirc_now.text() == "now 13 % of its exhaust back to its servers: intake +1.2 K over the room air"
    # the airflow line shows what the servers move (0.9 / (1 - 0.132)) at what they breathe
    q = 0.9 / (1 - 0.132)
    assert insp.airflow_now.text().startswith(f"now {q:.3g} m³/s") and insp.airflow_now.text().endswith("at 23.2 °C")
    insp.resize(440, 620)
    qtbot.waitUntil(insp.recirc_now.isVisible)
    insp.grab().save("/tmp/s21_blanking_inspector.png")


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # editing: no physics thread
    return make_window(qtbot, tmp_path, load_demo("small"), runner, size=(1200, 800))


def test_open_u_edit_in_the_window_changes_the_rack_refuses_bad_values_and_undoes(window):
    click(window.view, *centre_of(window.doc.site, "R-A02"))
    edit = window.inspector.editors["open_u"]
    edit.setFocus()
    edit.setText("6")
    edit.editingFinished.emit()
    assert window.doc.site.get("R-A02").open_u == 6.0
    assert window.doc.undo_stack.count() == 1
    before = window.doc.site.copy()
    err = window.inspector.errors["open_u"]
    for bad, words in (("-1", "must not be negative"), ("50", "more than the 42 U")):
        edit.setText(bad)
        edit.editingFinished.emit()
        assert window.doc.site == before
        assert not err.isHidden() and words in err.text()
    window.doc.undo_stack.undo()
    assert window.doc.site.get("R-A02").open_u == 0.0
    window.doc.undo_stack.redo()
    assert window.doc.site.get("R-A02").open_u == 6.0
