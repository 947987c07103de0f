"""Palette, inspector and trends panels on their own."""

from __future__ import annotations

import numpy as np

from dctwin.twin.sim.results import HallSummary, Headroom, RackResult, UpsState
from dctwin.twin.model.demos import load_demo
from dctwin.widgets.floor_plan import element_from_mime
from dctwin.widgets.inspector import InspectorPanel
from dctwin.widgets.palette import PALETTE_ENTRIES, PalettePanel
from dctwin.widgets.trends import TrendsPanel


def test_palette_offers_the_rack_types_and_carries_row_and_facing(qtbot):
    p = PalettePanel()
    qtbot.addWidget(p)
    kws = sorted(e.it_kw for _, e in PALETTE_ENTRIES if type(e).__name__ == "Rack")
    assert kws == [5.0, 10.0, 20.0, 60.0, 120.0]
    p.row_count.setValue(6)
    p.facing.setCurrentText("S")
    el, n = element_from_mime(p.mime_for(4))
    assert (el.it_kw, el.liquid_fraction > 0, el.facing, n) == (120.0, True, "S", 6)
    mime = p.list.mimeData([p.list.item(p.rows[0])])  # the list's first entry under its "Racks" header
    assert element_from_mime(mime.data(p.list.mimeTypes()[0]).data())[0].it_kw == 5.0
    assert not p.list.mimeData([p.list.item(0)]).hasFormat(p.list.mimeTypes()[0])  # a header drags nothing


def test_inspector_shows_fields_and_emits_typed_edits(qtbot):
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.set_context(site, ["R-A01"])
    assert insp.editors["it_kw"].text() == f"{site.get('R-A01').it_kw:.6g}"
    feed_a, feed_b = insp.editors["feeds"]
    assert feed_a.currentText() == site.get("R-A01").feeds[0]
    assert {feed_a.itemText(i) for i in range(feed_a.count())} >= {"PDU-A", "PDU-B", "(none)"}
    assert "UTIL" not in {feed_a.itemText(i) for i in range(feed_a.count())}  # racks plug into PDUs/UPS
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        insp.editors["it_kw"].setText("8.5")
        insp.editors["it_kw"].editingFinished.emit()
    assert blk.args == [["R-A01"], "it_kw", 8.5]
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        insp.editors["airflow_m3s"].setText("abc")  # passed on as text: the model names the problem
        insp.editors["airflow_m3s"].editingFinished.emit()
    assert blk.args[1:] == ["airflow_m3s", "abc"]
    with qtbot.assertNotEmitted(insp.sig_property_edited):
        insp.editors["airflow_m3s"].setText(" ")  # unchanged (blank = default): no edit
        insp.editors["airflow_m3s"].editingFinished.emit()
    insp.show_error("it_kw", "must be a number")
    assert insp.errors["it_kw"].text() == "must be a number"
    insp.show_error("x_m", "overlaps R-A02")
    assert insp.general_error.text() == "overlaps R-A02"


def test_inspector_keeps_every_editor_wide_in_a_narrow_dock_and_scrolls(qtbot):
    """The long labels (airflow, open U) sit above their editors, so no editor is squeezed to a sliver
    in a narrow dock (a rack's feeds showed no text), and a dock shorter than the fields scrolls."""
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.resize(300, 260)
    insp.set_context(site, [site.halls[0].racks[0].id])
    insp.show()
    qtbot.waitExposed(insp)
    host = insp.form_host.width()
    for name, editor in insp.editors.items():
        for e in (editor if isinstance(editor, tuple) else (editor,)):
            assert e.width() >= (0.45 if isinstance(editor, tuple) else 0.9) * host, (name, e.width(), host)
    assert insp.scroll.verticalScrollBar().maximum() > 0


def test_inspector_multi_selection_shows_mixed_values(qtbot):
    site = load_demo("small")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.set_context(site, ["R-A01", "CRAH-1"])
    assert "id" not in insp.editors and "it_kw" not in insp.editors and "facing" in insp.editors
    insp.set_context(site, [])
    assert set(insp.editors) >= {"width_m", "depth_m", "supply_c", "plenum"}  # nothing selected: the hall
    assert site.hall.id in insp.header.text()
    with qtbot.waitSignal(insp.sig_hall_property_edited) as blk:
        insp.editors["ceiling_return"].setCurrentText("true")
        insp.editors["ceiling_return"].activated.emit(1)
    assert blk.args == [site.hall.id, "ceiling_return", True]
    insp.set_context(None, [])
    assert insp.editors == {} and insp.header.text() == "Nothing selected"


def test_trends_keep_history_and_limit_lines(qtbot):
    t = TrendsPanel(max_points=5)
    qtbot.addWidget(t)
    t.set_racks(["R-1", "R-2"])
    for k in range(8):
        t.add_frame(float(k), HallSummary(racks={"R-1": RackResult(20.0 + k, power_w=1e3),
                                                 "R-2": RackResult(25.0, power_w=2e3)}))
    assert t.t_s.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    x, y = t.curves["R-1"].getData()
    assert y.tolist() == [23.0, 24.0, 25.0, 26.0, 27.0]
    assert np.allclose(t.it_kw, 3.0)
    assert t.max_curve.getData()[1].tolist() == [25.0, 25.0, 25.0, 26.0, 27.0]  # hottest rack at each time
    assert t.soc_plot.isHidden()  # no UPS reported: no empty plot
    t.add_frame(8.0, HallSummary(), {"UPS-1A": UpsState(0.75)})
    assert not t.soc_plot.isHidden()
    assert t.soc_curves["UPS-1A"].getData()[1][-1] == 75.0
    t.add_frame(0.0, HallSummary())  # a new run starts the history over
    assert t.t_s.tolist() == [0.0]


def test_power_tree_shows_the_graph_and_picks_fed_racks(qtbot):
    from dctwin.widgets.power_tree import PowerTreePanel

    site = load_demo("small")
    p = PowerTreePanel()
    qtbot.addWidget(p)
    p.set_site(site)
    assert set(p.items) == {n.id for n in site.power_nodes}
    roots = {p.tree.topLevelItem(i).text(0) for i in range(p.tree.topLevelItemCount())}
    assert roots == {n.id for n in site.power_nodes if not n.inputs}
    fed_a = sorted(r.id for r in site.hall.racks if "PDU-A" in r.feeds)
    with qtbot.waitSignal(p.sig_racks_chosen) as blk:
        p.tree.itemClicked.emit(p.items["PDU-A"], 0)
    assert sorted(blk.args[0]) == fed_a
    assert sorted(p.downstream_racks("UTIL")) == sorted(r.id for r in site.hall.racks if r.feeds)
    p.set_summary(HallSummary(power_nodes={"PDU-A": Headroom(65e3, 100e3, 35e3, -30e3)}))
    assert [p.items["PDU-A"].text(c) for c in (2, 4, 5)] == ["65", "35", "-30"]
    assert p.items["PDU-B"].text(2) == "—"


def test_alarms_list_newest_first_with_causes(qtbot):
    from dctwin.widgets.alarms import AlarmsPanel

    a = AlarmsPanel()
    qtbot.addWidget(a)
    ev1 = {"seq": 1, "t_s": 10.0, "kind": "unit_fail", "target": "CRAH-1", "cause": None, "condition": "",
           "details": {}}
    ev2 = {"seq": 2, "t_s": 75.0, "kind": "rack_throttle", "target": "R-A01", "cause": 1,
           "condition": "inlet 33.1 C > 32 C", "details": {"inlet_c": 33.1}}
    a.add_events([ev1])
    a.add_events([ev2], {2: [ev1]})
    assert a.row_texts() == [["00:01:15", "rack_throttle", "R-A01", "inlet 33.1 C > 32 C"],
                             ["00:00:10", "unit_fail", "CRAH-1", ""]]
    top = a.tree.topLevelItem(0)
    assert top.childCount() == 1 and top.child(0).text(1) == "caused by unit_fail"
    with qtbot.waitSignal(a.sig_target_chosen) as blk:
        a.tree.itemClicked.emit(top, 0)
    assert blk.args == ["R-A01"]


def test_colour_bar_shows_a_scale_or_a_legend(qtbot):
    from PySide6.QtGui import QColor

    from dctwin.widgets.colorbar import ColorBarWidget
    from dctwin.widgets.colormaps import ColorScale

    bar = ColorBarWidget(ColorScale())
    qtbot.addWidget(bar)
    bar.resize(300, 26)
    bar.grab()  # paints without error
    bar.set_legend([("recommended", QColor(0, 200, 0)), ("allowable", QColor(250, 200, 0))])
    assert bar.scale is None and bar.sizeHint().width() > 100
    img = bar.grab().toImage()
    assert img.pixelColor(8, 13) == QColor(0, 200, 0)  # first swatch
    bar.set_scale(ColorScale(vmin=0, vmax=100e3, unit="kW"))
    assert bar.legend == [] and bar._fmt(100e3) == "100 kW"


def test_inspector_says_at_what_inlet_the_airflow_holds_and_shows_the_actual_airflow(qtbot):
    site = load_demo("small")
    rack = site.get("R-A01")
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.show()
    insp.set_context(site, ["R-A01"])
    label = insp.form.labelForField(insp.editors["airflow_m3s"].parentWidget()).text()
    assert "22.5 °C inlet" in label
    assert insp.airflow_now.text() == "now — (not simulated yet)"
    q = 0.775 * rack.design_airflow_m3s
    insp.set_live({"R-A01": RackResult(inlet_c=18.0, power_w=4000.0, airflow_m3s=q)})
    qtbot.waitUntil(insp.airflow_now.isVisible)
    insp.grab().save("/tmp/s18_inspector.png")
    assert insp.airflow_now.text() == f"now {q:.3g} m³/s (0.78×) at 18.0 °C"
    assert insp.editors["airflow_fixed"].currentText() == "false"
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        insp.editors["airflow_fixed"].setCurrentText("true")
        insp.editors["airflow_fixed"].activated.emit(1)
    assert blk.args == [["R-A01"], "airflow_fixed", True]
    insp.set_context(site, ["R-A01", "CRAH-1"])  # not all racks: no rack airflow line
    assert insp.airflow_now is None


def test_inspector_edits_leak_areas_and_unit_airflow_control(qtbot):
    from dctwin.twin.model.layout import Containment, CoolingUnit

    site = load_demo("small")
    hall = site.halls[0]
    hall.containments.append(Containment(id="Z", kind="cold", x_m=1.2, y_m=1.2, width_m=1.2, depth_m=1.2))
    hall.cooling_units.append(CoolingUnit(id="IR", kind="inrow", x_m=0.0, y_m=0.0, width_m=0.3, depth_m=1.2,
                                          airflow_m3s=2.0, capacity_kw=30.0))
    insp = InspectorPanel()
    qtbot.addWidget(insp)
    insp.set_context(site, ["Z"])
    assert insp.editors["door_gap_m2"].text() == ""  # blank: the default
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        insp.editors["door_gap_m2"].setText("0.05")
        insp.editors["door_gap_m2"].editingFinished.emit()
    assert blk.args == [["Z"], "door_gap_m2", 0.05]
    insp.set_context(site, ["IR"])
    combo = insp.editors["airflow_control"]
    assert {combo.itemText(i) for i in range(combo.count())} >= {"fixed", "return_temperature", "containment_dp"}
    with qtbot.waitSignal(insp.sig_property_edited) as blk:
        combo.setCurrentText("containment_dp")
        combo.activated.emit(combo.currentIndex())
    assert blk.args == [["IR"], "airflow_control", "containment_dp"]


def test_section_arrows_fit_the_panel_on_screen_low_or_tall(qtbot):
    """A low section dock gets fewer rows of arrows, never arrows drawn over each other (issue 17 item 15)."""
    import math

    import numpy as np

    from dctwin.twin.sim.sections import Section
    from dctwin.widgets.colormaps import ColorScale
    from dctwin.widgets.section_view import ARROW_PX, SectionPanel

    s = np.arange(0.15, 11.7, 0.3)
    z = np.arange(0.15, 3.0, 0.3)
    S, Z = np.meshgrid(s, z, indexing="ij")
    sec = Section((0.2, 4.5), (11.8, 4.5), s, z, 20 + Z, np.sin(S), np.full_like(S, 2.0), 3.0)
    panel = SectionPanel(ColorScale())
    qtbot.addWidget(panel)
    panel.show()
    for height in (150, 500):
        panel.resize(1200, height)
        qtbot.waitExposed(panel)
        panel.set_section(sec)
        qtbot.wait(50)
        x, y = panel.arrow_segments()
        px, py = panel.plot.getViewBox().viewPixelSize()
        ax, ay = x.reshape(-1, 6)[:, :2] / px, y.reshape(-1, 6)[:, :2] / py  # tail and head, screen px
        lengths = np.hypot(ax[:, 1] - ax[:, 0], ay[:, 1] - ay[:, 0])
        mids = np.stack([(ax[:, 0] + ax[:, 1]) / 2, (ay[:, 0] + ay[:, 1]) / 2], axis=1)
        rows = np.unique(np.round(mids[:, 1], 3))
        gap_up = np.min(np.diff(rows)) if len(rows) > 1 else math.inf
        assert lengths.max() <= min(ARROW_PX, 0.86 * gap_up) + 1e-6, (height, lengths.max(), gap_up)
        assert len(rows) >= 2  # still arrows up the slice, even in a low panel
    assert len(rows) >= 6  # a tall panel shows more of them
