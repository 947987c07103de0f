"""The inspector and the trends keep their widgets when another element of the same kind is selected (a rack
just dropped and selected): they show the new element's values, and nothing of the last one stays."""

from __future__ import annotations

import dataclasses

from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.widgets.inspector import InspectorPanel
from dctwin.widgets.trends import TrendsPanel


def widgets_of(insp: InspectorPanel) -> dict:
    return {name: (e if isinstance(e, tuple) else (e,)) for name, e in insp.editors.items()}


def test_inspector_reuses_its_editors_for_another_rack_and_shows_its_values(qtbot):
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.show()
    insp.set_context(site, ["R-A01"])
    before = widgets_of(insp)
    insp.show_error("it_kw", "must be a number")
    qtbot.waitExposed(insp)
    insp.activateWindow()
    insp.editors["open_u"].setFocus()
    qtbot.waitUntil(insp.editors["open_u"].hasFocus, timeout=2000)
    insp.editors["open_u"].setText("3")  # typed, not finished
    insp.editors["open_u"].setModified(True)
    insp.set_context(site, ["R-A01"])  # the same rack again (the model changed): the edit in progress stays
    assert insp.editors["open_u"].text() == "3"
    insp.set_context(site, ["R-A02"])
    after = widgets_of(insp)
    assert after.keys() == before.keys()
    assert all(a is b for name in after for a, b in zip(after[name], before[name]))  # the same widgets
    rack = site.get("R-A02")
    assert insp.editors["id"].text() == "R-A02"
    assert insp.editors["it_kw"].text() == f"{rack.it_kw:.6g}"
    assert insp.editors["open_u"].text() == f"{rack.open_u:.6g}"  # the last rack's half-typed text is gone
    assert [c.currentText() for c in insp.editors["feeds"]] == [*rack.feeds, *["(none)"] * (2 - len(rack.feeds))]
    assert insp.editors["facing"].currentText() == rack.facing
    assert insp.error_text() == ""  # the last rack's message went with it
    assert "R-A02" in insp.header.text()
    with qtbot.waitSignal(insp.sig_property_edited) as blk:  # an edit goes to the rack shown
        insp.editors["it_kw"].setText("9.5")
        insp.editors["it_kw"].editingFinished.emit()
    assert blk.args == [["R-A02"], "it_kw", 9.5]
    insp.set_context(site, ["CRAH-1"])  # another kind of element: its own fields
    assert "it_kw" not in insp.editors and insp.editors["id"].text() == "CRAH-1"
    assert insp.editors["id"] is not before["id"][0]


def test_inspector_keeps_the_rack_form_while_the_hall_is_shown_and_shows_it_again(qtbot):
    """Nothing selected (the hall), then a rack (a drop selects the new one), then the hall, then a rack."""
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.show()
    qtbot.waitExposed(insp)
    insp.set_context(site, [])
    hall_form = widgets_of(insp)
    insp.set_context(site, ["R-A01"])
    rack_form, rack_host = widgets_of(insp), insp.form_host
    insp.activateWindow()
    insp.editors["it_kw"].setFocus()
    qtbot.waitUntil(insp.editors["it_kw"].hasFocus, timeout=2000)
    insp.editors["it_kw"].setText("99")  # typed, not finished, when the selection goes away
    insp.editors["it_kw"].setModified(True)
    with qtbot.assertNotEmitted(insp.sig_property_edited), qtbot.assertNotEmitted(insp.sig_hall_property_edited):
        insp.set_context(site, [])
        qtbot.wait(10)
    assert widgets_of(insp) == hall_form and set(insp.editors) >= {"width_m", "supply_c"}
    assert insp.editors["width_m"].isVisible() and not rack_host.isVisible()
    insp.set_read_only("a recording is replayed")  # changed while the rack form is put away
    insp.set_context(site, ["R-A03"])
    assert insp.form_host is rack_host and insp.scroll.widget() is rack_host and rack_host.isVisible()
    assert all(a is b for name in rack_form for a, b in zip(widgets_of(insp)[name], rack_form[name]))
    rack = site.get("R-A03")
    assert insp.editors["id"].text() == "R-A03" and insp.editors["it_kw"].text() == f"{rack.it_kw:.6g}"
    assert insp.editors["it_kw"].isReadOnly() and not insp.editors["facing"].isEnabled()
    assert insp.airflow_now is not None and insp.airflow_now.text().startswith("now")
    label = insp.form.labelForField(insp.editors["it_kw"].parentWidget()).text()
    assert label == "IT power (kW)"


def test_inspector_forgets_the_last_selections_assumed_values(qtbot):
    site = load_demo("small")
    hall = site.halls[0]
    racks = [dataclasses.replace(r, assumed=("it_kw",)) if r.id == "R-A01" else r for r in hall.racks]
    site.halls[0] = dataclasses.replace(hall, racks=racks)
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.set_context(site, ["R-A01"])
    edit = insp.editors["it_kw"]
    assert edit.property("assumed") and "assumed" in edit.toolTip() and not insp.assumed_badge.isHidden()
    insp.set_context(site, ["R-A02"])
    assert insp.editors["it_kw"] is edit
    assert not edit.property("assumed") and edit.toolTip() == "" and insp.assumed_badge.isHidden()


def test_trends_rename_their_curves_for_another_rack_instead_of_building_new_ones(qtbot):
    t = TrendsPanel()
    qtbot.addWidget(t)
    t.set_racks(["R-1"])
    curve = t.curves["R-1"]
    for k in range(3):
        t.add_frame(float(k), HallSummary(racks={"R-1": RackResult(20.0 + k), "R-2": RackResult(30.0 + k)}))
    legend_items = len(t.legends[0].items)
    with qtbot.assertNotEmitted(t.it_curve.sigPlotChanged):  # the power plot is not drawn again
        t.set_racks(["R-2"])
    assert t.curves == {"R-2": curve} and curve.name() == "R-2"
    assert curve.getData()[1].tolist() == [30.0, 31.0, 32.0]  # the new rack's history
    names = [label.text for _, label in t.legends[0].items]
    assert "R-2" in names and "R-1" not in names and len(names) == legend_items
    assert curve in t.temp_plot.getPlotItem().items
    t.set_racks(["R-2", "R-1"])  # one more rack: one more curve, in the next colour
    assert t.curves["R-2"] is curve and t.curves["R-1"] is not curve
    assert t.curves["R-1"].opts["pen"].color().getRgb()[:3] == (255, 127, 14)
    assert t.curves["R-1"].getData()[1].tolist() == [20.0, 21.0, 22.0]
    spare = t.curves["R-1"]
    t.set_racks(["R-1"])  # one fewer: the spare curve leaves the plot and the legend
    assert t.curves == {"R-1": curve} and curve.getData()[1].tolist() == [20.0, 21.0, 22.0]
    assert spare not in t.temp_plot.getPlotItem().items
    names = [label.text for _, label in t.legends[0].items]
    assert names.count("R-1") == 1 and "R-2" not in names
