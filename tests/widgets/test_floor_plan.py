"""FloorPlanScene / FloorPlanView on their own: items from the model, placement rules, colours, zoom."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from dctwin.twin.sim.results import HallSummary, Headroom, RackResult
from dctwin.twin.model.commands import MoveElements, RemoveElements
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layout import Containment, Rack, Tile
from dctwin.twin.model.validate import placement_problem
from dctwin.widgets.colormaps import STATE_COLOURS, UNKNOWN_COLOUR, ColorScale, state_colour
from dctwin.widgets.floor_plan import (PX, ContainmentItem, FloorPlanScene, FloorPlanView, RackItem, TileItem, UnitItem,
                                element_from_mime, element_to_mime, to_hall, to_scene)


@pytest.fixture
def site():
    return load_demo("small")


@pytest.fixture
def scene(qapp, site):
    return FloorPlanScene(site)


def shown_view(qtbot, scene, size=(600, 400)) -> FloorPlanView:
    """A view of ``scene``, shown and fitted."""
    view = FloorPlanView(scene)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.zoom_to_fit()
    return view


def test_scene_has_one_item_per_element_of_the_right_kind(scene, site):
    hall = site.hall
    assert len(scene.items_by_id) == len(hall.racks) + len(hall.cooling_units) + len(hall.tiles) + \
        len(hall.grilles) + len(hall.containments)
    assert isinstance(scene.items_by_id[hall.racks[0].id], RackItem)
    assert isinstance(scene.items_by_id[hall.cooling_units[0].id], UnitItem)
    assert isinstance(scene.items_by_id[hall.tiles[0].id], TileItem)


def test_items_sit_at_their_footprint_with_north_up(scene, site):
    for r in site.hall.racks:
        x0, y0, x1, y1 = r.footprint()
        rect = scene.items_by_id[r.id].sceneBoundingRect().adjusted(2, 2, -2, -2)
        assert rect.left() == pytest.approx(x0 * PX) and rect.right() == pytest.approx(x1 * PX)
        assert rect.top() == pytest.approx(-y1 * PX) and rect.bottom() == pytest.approx(-y0 * PX)
    assert to_hall(to_scene(3.3, 7.7)) == pytest.approx((3.3, 7.7))


def test_sync_follows_edits_and_keeps_unchanged_items(scene, site):
    keep = scene.items_by_id["R-A05"]
    MoveElements(("R-A01",), -0.6, 0.0).apply(site)
    RemoveElements(("R-B10",)).apply(site)
    scene.sync()
    assert scene.items_by_id["R-A05"] is keep
    assert "R-B10" not in scene.items_by_id
    assert scene.items_by_id["R-A01"].pos().x() == pytest.approx(site.get("R-A01").x_m * PX)


def test_the_scene_asks_twin_where_things_fit_and_follows_edits(scene, site):
    """The floor plan decides nothing itself: its answer is twin's placement_problem for the hall as it
    is now (the rule's own cases are tested headless in tests/twin/model/test_placement.py)."""
    a1 = site.get("R-A01")
    right = [dataclasses.replace(a1, x_m=round(a1.x_m + 0.6, 9))]
    msg = scene.placement_problem(right, ignore={"R-A01"})
    assert msg == placement_problem(site.hall, right, ignore={"R-A01"}) and "would overlap R-A02" in msg
    MoveElements(("R-A02",), 0.0, -3.0).apply(site)  # out of the way (the index is rebuilt on sync)
    scene.sync()
    assert scene.placement_problem(right, ignore={"R-A01"}) == ""
    tile = site.hall.tiles[0]
    assert scene.placement_problem([Rack(id="new", x_m=tile.x_m, y_m=tile.y_m)]) == f"new would stand on tile {tile.id}"


def test_recolour_by_metric_from_a_summary(scene, site):
    ids = [r.id for r in site.hall.racks]
    summary = HallSummary(racks={i: RackResult(20.0 + k, power_w=1000.0 * (k + 1), state="on" if k else "critical")
                                 for k, i in enumerate(ids[:-1])})
    scene.apply_summary(summary)
    assert scene.items_by_id[ids[3]].fill == scene.temp_scale.colour(23.0)
    assert scene.items_by_id[ids[-1]].fill == UNKNOWN_COLOUR  # no number for it: grey, not invented
    scene.set_metric("state")
    assert scene.items_by_id[ids[0]].fill == STATE_COLOURS["critical"]  # protection state wins
    assert scene.items_by_id[ids[1]].fill == STATE_COLOURS["recommended"]  # 21 °C, class A1
    assert scene.items_by_id[ids[9]].fill == STATE_COLOURS["allowable"]  # 29 °C: above 27, within A1's 32
    assert scene.items_by_id[ids[14]].fill == STATE_COLOURS["out_of_allowable"]  # 34 °C
    assert scene.items_by_id[ids[-1]].fill == UNKNOWN_COLOUR
    scene.set_metric("power_w")
    assert scene.power_scale.vmax == 1000.0 * (len(ids) - 1)
    top = scene.items_by_id[ids[-2]].fill
    assert top == scene.power_scale.colour(scene.power_scale.vmax)
    summary.power_nodes = {"PDU-A": Headroom(50e3, 100e3, None, None), "PDU-B": Headroom(80e3, 100e3, None, None)}
    scene.apply_summary(summary)
    scene.set_metric("feed_util")
    a1 = site.get("R-A01")
    assert set(a1.feeds) == {"PDU-A", "PDU-B"}
    assert scene.feed_utilization()["R-A01"] == 80.0  # the busier of its two feeds
    assert scene.items_by_id["R-A01"].fill == scene.util_scale.colour(80.0)
    scene.apply_summary(None)
    assert all(it.fill is None for it in scene.items_by_id.values())
    with pytest.raises(ValueError):
        scene.set_metric("nonsense")


def test_a_recirculating_rack_is_coloured_by_what_its_servers_breathe(scene, site):
    """A rack with open rack units (no blanking panels) breathes its own exhaust: its inlet colour and its
    ASHRAE state follow its servers' intake, not the cooler room air at its front."""
    a1, a2 = "R-A01", "R-A02"
    summary = HallSummary(racks={a1: RackResult(22.0, state="on", recirculated_share=0.4, server_intake_c=33.0),
                                 a2: RackResult(22.0, state="on")})
    scene.apply_summary(summary)
    assert scene.items_by_id[a1].fill == scene.temp_scale.colour(33.0) != scene.items_by_id[a2].fill
    assert scene.items_by_id[a2].fill == scene.temp_scale.colour(22.0)
    scene.set_metric("state")
    assert scene.items_by_id[a1].fill == STATE_COLOURS["out_of_allowable"]  # 33 °C: above A1's 32
    assert scene.items_by_id[a2].fill == STATE_COLOURS["recommended"]


def test_color_scale_and_states(qapp):
    s = ColorScale(vmin=10.0, vmax=30.0)
    assert s.colour(5.0) == s.colour(10.0) and s.colour(99.0) == s.colour(30.0)
    assert s.colour(float("nan")) == UNKNOWN_COLOUR
    rgba = s.rgba(np.array([10.0, np.nan, 30.0]))
    assert rgba[1, 3] == 0 and rgba[0, 3] == 255 and tuple(rgba[2, :3]) != tuple(rgba[0, :3])
    assert state_colour("A1 allowable") == STATE_COLOURS["allowable"]
    assert state_colour(None) == UNKNOWN_COLOUR


def test_mime_round_trip():
    proto = Rack(id="", it_kw=20.0, facing="E", feeds=("PDU-A",))
    el, n = element_from_mime(element_to_mime(proto, 4))
    assert el == proto and n == 4


def test_wheel_zooms_and_fit_shows_the_hall(qtbot, scene):
    view = FloorPlanView(scene)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.zoom_to_fit()
    vis = view.mapToScene(view.viewport().rect()).boundingRect()
    assert vis.contains(scene.hall_rect())
    s0 = view.current_scale()
    pos = QPointF(400, 300)
    ev = QWheelEvent(pos, view.mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.NoButton, Qt.NoModifier,
                     Qt.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)
    assert view.current_scale() > s0


def test_containment_is_clicked_on_its_border_only(qapp, site):
    site.hall.containments.append(Containment(id="AISLE-1", kind="cold", x_m=3.0, y_m=4.2, width_m=6.0,
                                              depth_m=1.8))
    scene = FloorPlanScene(site)
    item = scene.items_by_id["AISLE-1"]
    assert isinstance(item, ContainmentItem)
    inside = item.mapFromScene(to_scene(6.0, 5.1))
    edge = item.mapFromScene(to_scene(3.0, 5.1))
    assert not item.shape().contains(inside)
    assert item.shape().contains(edge)


def test_far_out_racks_are_drawn_in_batches_and_stay_selectable(qtbot, scene, site):
    from PySide6.QtWidgets import QGraphicsItem

    view = shown_view(qtbot, scene)
    assert not scene.far
    view.zoom_by(0.05)
    assert scene.far and scene.far_item.isVisible()
    item = scene.items_by_id["R-A01"]
    assert item.flags() & QGraphicsItem.ItemHasNoContents
    scene.select_ids(["R-A01"])
    assert scene.selected_ids() == ["R-A01"] and len(scene.far_item._selected) == 1
    summary = HallSummary(racks={r.id: RackResult(30.0) for r in site.hall.racks})
    scene.apply_summary(summary)
    hot = scene.temp_scale.colour(30.0)
    rack_groups = [g for g in scene.far_item._groups if g[0] is hot]
    assert len(rack_groups) == 1 and len(rack_groups[0][1]) == len(site.hall.racks)
    scene.set_drag_ids(["R-A01"])  # a dragged rack paints itself
    assert not item.flags() & QGraphicsItem.ItemHasNoContents
    assert sum(len(r) for c, r in scene.far_item._groups if c is hot) == len(site.hall.racks) - 1
    scene.set_drag_ids([])
    view.zoom_to_fit()
    assert not scene.far and not scene.far_item.isVisible()
    assert not item.flags() & QGraphicsItem.ItemHasNoContents
    assert item.fill is hot


def test_rows_are_labelled_with_their_load_and_units_with_headroom(scene, site):
    rows = {r.row for r in site.hall.racks}
    assert set(scene.row_labels) == rows
    a_kw = sum(r.it_kw for r in site.hall.racks if r.row == "A")
    assert scene.row_labels["A"].text == f"A: {a_kw:.0f} kW"
    label_x = scene.row_labels["A"].pos().x()
    assert label_x == pytest.approx(min(r.x_m for r in site.hall.racks if r.row == "A") * PX)
    scene.apply_summary(HallSummary(cooling_headroom={"CRAH-1": Headroom(None, None, 85e3, None)}))
    assert scene.items_by_id["CRAH-1"].badge == "+85 kW"
    assert scene.items_by_id["CRAH-2"].badge == ""
    scene.apply_summary(None)
    assert scene.items_by_id["CRAH-1"].badge == ""


def test_row_labels_hide_when_rows_are_too_close_to_read(qtbot, scene):
    view = FloorPlanView(scene)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    view.zoom_to_fit()
    assert all(item.isVisible() for item in scene.row_labels.values())
    tile_px = 0.6 * PX * view.current_scale()
    view.zoom_by(4.0 / tile_px)  # 4 px per tile: the 2.4 m row pitch is under 20 px
    assert scene.far and not any(item.isVisible() for item in scene.row_labels.values())
    assert scene.far_item._fronts  # far out, rack fronts are drawn in one batch too
    view.zoom_to_fit()
    assert all(item.isVisible() for item in scene.row_labels.values())


@pytest.mark.parametrize("depth_m", [1.2, 0.9, 1.07])
def test_a_drop_anywhere_in_a_tile_lands_where_that_tile_s_tint_says(scene, site, depth_m):
    """The drop tint checks one spot per tile; a release anywhere in that tile must land there too."""
    proto = Rack(id="NEW", x_m=0.0, y_m=0.0, width_m=0.6, depth_m=depth_m, facing="N", it_kw=5.0)
    tile = site.hall.tile_m
    rng = np.random.default_rng(3)
    for i, j in [(2, 3), (5, 14), (0, 0), (7, 9)]:
        centre = scene.drop_position(proto, (i + 0.5) * tile, (j + 0.5) * tile)
        for fx, fy in rng.uniform(0.001, 0.999, size=(12, 2)):
            assert scene.drop_position(proto, (i + fx) * tile, (j + fy) * tile) == centre
        x0, y0 = centre
        # the element covers the cursor's tile
        assert x0 <= i * tile + 1e-9 and x0 + 0.6 >= (i + 1) * tile - 1e-9
        assert y0 <= j * tile + 1e-9 and y0 + depth_m >= (j + 1) * tile - 1e-9 or depth_m < tile


def test_a_rack_recoloured_far_out_shows_its_new_colour_back_at_the_same_zoom(qtbot, scene, site):
    """Racks keep a picture of themselves per zoom (a cache): a colour that changed while they were drawn in
    batches must not come back as the old picture."""
    view = shown_view(qtbot, scene)
    scene.apply_summary(HallSummary(racks={r.id: RackResult(20.0) for r in site.hall.racks}))
    item = scene.items_by_id["R-A03"]
    centre = view.mapFromScene(item.sceneBoundingRect().center())

    def colour_on_screen():
        """The rack's most common colour on screen (its fill; not its border, front bar or label)."""
        from collections import Counter

        img = view.viewport().grab().toImage()
        box = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        seen = Counter(img.pixel(x, y) for x in range(box.left(), box.right()) for y in range(box.top(), box.bottom()))
        return QColor.fromRgb(seen.most_common(1)[0][0])

    cold = colour_on_screen()  # drawn, and so cached, at this zoom
    view.zoom_by(0.05)
    assert scene.far
    scene.apply_summary(HallSummary(racks={r.id: RackResult(38.0) for r in site.hall.racks}))
    view.zoom_by(20.0)  # back to the same zoom
    assert not scene.far and view.mapFromScene(item.sceneBoundingRect().center()) == centre
    hot = colour_on_screen()
    want = scene.temp_scale.colour(38.0)
    assert hot != cold
    assert abs(hot.red() - want.red()) + abs(hot.green() - want.green()) + abs(hot.blue() - want.blue()) < 40
