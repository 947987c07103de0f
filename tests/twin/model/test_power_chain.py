"""A hall built by hand: power nodes placed with their inputs, racks given feeds, loads connected,
obstructions (columns, walls) in the layout, its file and its validation."""

from __future__ import annotations

import dataclasses

import pytest

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.commands import AddElement, IdAllocator, MoveElements, RemoveElements
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layout import Hall, Obstruction, PowerNode, Rack, Site, Tile
from dctwin.twin.model.layoutfile import dumps_layout, loads_layout, site_to_dict
from dctwin.twin.model.power_chain import (add_power_nodes, connect_feed, default_feeds, default_inputs,
                                           missing_upstream)
from dctwin.twin.model.validate import placement_problem, validate


def empty_site() -> Site:
    return Site(name="new", halls=[Hall(id="H1", width_m=12.0, depth_m=9.6, height_m=3.0)])


def build(site: Site, kind: str, pos=None, parent=None, **fields) -> PowerNode:
    """Add one ``kind`` node the way the editor does; return it."""
    cmd = add_power_nodes(site, PowerNode(id="", kind=kind, capacity_kw=100.0, **fields), (pos,),
                          "H1" if pos is not None else None, parent)
    cmd.apply(site)
    return site.power_nodes[-1]


def test_a_power_chain_built_from_nothing_connects_itself():
    site = empty_site()
    util = build(site, "utility")
    gen = build(site, "generator")
    ats = build(site, "ats")
    assert ats.inputs == (util.id, gen.id)
    ups_a, ups_b = build(site, "ups", battery_kwh=20.0), build(site, "ups", battery_kwh=20.0)
    assert ups_a.inputs == ups_b.inputs == (ats.id,)
    pdu_a = build(site, "pdu", (0.0, 0.0))
    pdu_b = build(site, "pdu", (11.4, 0.0))
    # the second PDU goes to the other UPS: A and B on separate paths
    assert (pdu_a.inputs, pdu_b.inputs) == ((ups_a.id,), (ups_b.id,))
    assert (pdu_a.id, ups_a.id, ats.id, util.id, gen.id) == ("PDU-01", "UPS-01", "ATS-01", "UTIL-01", "GEN-01")
    assert pdu_a.hall == "H1" and pdu_a.on_floor and not ups_a.on_floor
    assert validate(site) == []
    # a rack near PDU-02 plugs into it first, and into the other side's PDU as B
    assert default_feeds(site, "H1", 10.0, 1.0) == (pdu_b.id, pdu_a.id)
    assert default_feeds(site, "H1", 1.0, 1.0) == (pdu_a.id, pdu_b.id)


def test_a_node_with_nothing_to_draw_from_is_refused_naming_what_to_add():
    site = empty_site()
    with pytest.raises(LayoutError, match="a pdu draws from a ups or switchboard: add one first"):
        build(site, "pdu")
    assert site.power_nodes == []
    build(site, "utility")
    with pytest.raises(LayoutError, match="add generator first"):
        build(site, "ats")
    assert missing_upstream(site.power_nodes, "ups") == ""


def test_a_drop_onto_a_node_of_the_power_tree_draws_from_it():
    site = load_demo("small")
    node = build(site, "pdu", parent="SWB-M")
    assert node.inputs == ("SWB-M",)
    assert default_inputs(site.power_nodes, "rpp") == ("PDU-A",)  # the least loaded PDU


def test_connect_feed_fills_a_then_b_and_refuses_with_reasons():
    site = load_demo("small")
    r = site.hall.racks[0]
    site.hall.racks[0] = dataclasses.replace(r, feeds=())
    before = site.copy()
    connect_feed(site, [r.id], "PDU-B").apply(site)
    assert site.get(r.id).feeds == ("PDU-B",)
    connect_feed(site, [r.id], "PDU-A").apply(site)
    assert site.get(r.id).feeds == ("PDU-B", "PDU-A")
    with pytest.raises(LayoutError, match="has feeds A \\(PDU-B\\) and B \\(PDU-A\\) already"):
        connect_feed(site, [r.id], "SWB-M")
    with pytest.raises(LayoutError, match="is fed from PDU-A already"):
        connect_feed(site, [r.id], "PDU-A")
    with pytest.raises(LayoutError, match="is a ats; loads plug into"):
        connect_feed(site, [r.id], "ATS-1")
    with pytest.raises(LayoutError, match="takes no power feed"):
        connect_feed(site, [site.hall.tiles[0].id], "PDU-A")
    site2 = before.copy()
    inverse2 = connect_feed(site2, [r.id], "PDU-B").apply(site2)
    inverse2.apply(site2)
    assert site2 == before  # the inverse restores the site exactly (the editor's undo)
    assert connect_feed(before, [r.id], "PDU-B").text == f"Feed {r.id} from PDU-B"


def test_obstructions_are_solid_floor_that_round_trips_through_the_file():
    site = empty_site()
    wall = Obstruction(id="WALL-01", kind="wall", x_m=0.0, y_m=6.0, width_m=6.0, depth_m=0.2)
    col = Obstruction(id="COL-01", x_m=9.0, y_m=3.0, height_m=2.5)
    AddElement(wall).apply(site)
    AddElement(col).apply(site)
    text = dumps_layout(site)
    assert loads_layout(text) == site
    assert loads_layout(dumps_layout(site, compact=True)) == site
    # nothing stands on a column, a tile does not lie under one, a rack refused on a wall names it
    rack = Rack(id="R-1", x_m=9.0, y_m=3.0, it_kw=5.0)
    assert "overlap COL-01" in placement_problem(site.hall, [rack])
    with pytest.raises(LayoutError, match="R-1.x_m: footprint overlaps COL-01|COL-01.x_m: footprint overlaps R-1"):
        AddElement(rack).apply(site)
    with pytest.raises(LayoutError, match="lies under"):
        AddElement(Tile(id="T-1", x_m=9.0, y_m=3.0)).apply(site)
    with pytest.raises(LayoutError, match="unknown obstruction kind 'pillar'"):
        AddElement(Obstruction(id="X", kind="pillar", x_m=1.0, y_m=1.0)).apply(site)
    with pytest.raises(LayoutError, match="height_m: 4 m is out of range"):
        AddElement(Obstruction(id="X", x_m=1.0, y_m=1.0, height_m=4.0)).apply(site)
    with pytest.raises(LayoutError, match="lies outside hall H1"):
        MoveElements(("WALL-01",), 7.0, 0.0).apply(site)
    assert IdAllocator(site.ids()).for_element(wall) == "WALL-02"


def test_a_layout_without_obstructions_is_written_as_before():
    site = load_demo("small")
    assert "obstructions" not in site_to_dict(site)["halls"][0]
    assert loads_layout(dumps_layout(site)) == site


def test_a_power_node_on_the_floor_is_checked_like_an_element():
    site = load_demo("small")
    i = [n.id for n in site.power_nodes].index("PDU-A")
    node = site.power_nodes[i]
    for changes, message in (({"x_m": 1.0}, "needs both x_m and y_m"),
                             ({"x_m": 1.0, "y_m": 1.0, "hall": "NOPE"}, "names hall 'NOPE', which does not exist"),
                             ({"hall": "HALL-1"}, "names a hall but has no position"),
                             ({"x_m": 50.0, "y_m": 1.0}, "lies outside hall HALL-1")):
        bad = site.copy()
        bad.power_nodes[i] = dataclasses.replace(node, **changes)
        assert any(message in str(issue) for issue in validate(bad)), (changes, validate(bad))
    ok = site.copy()
    ok.power_nodes[i] = dataclasses.replace(node, x_m=0.0, y_m=0.0)
    assert validate(ok) == []
    assert [n.id for n in ok.floor_power_nodes("HALL-1")] == ["PDU-A"]
    assert loads_layout(dumps_layout(ok)) == ok
    # it moves like any element on the floor, and its delete is refused while racks draw from it
    MoveElements(("PDU-A",), 0.6, 0.6).apply(ok)
    assert (ok.get("PDU-A").x_m, ok.get("PDU-A").y_m) == (0.6, 0.6)
    with pytest.raises(LayoutError, match="PDU-A"):
        RemoveElements(("PDU-A",)).apply(ok)
