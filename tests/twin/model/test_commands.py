"""Edit commands: apply then inverse restores the site exactly; invalid edits change nothing."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dctwin.twin.model.commands import (
    AddElement, Macro, MoveElements, PlaceElements, RemoveElements, ReplaceElement, RestoreElements,
    IdAllocator, RotateElement, SetHallProperty, SetProperty, add_row, plan_row,
)
from dctwin.twin.model.demos import load_demo
from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import Chiller, CoolingUnit, PowerNode, Rack, Site, Tile
from dctwin.twin.model.layoutfile import dumps_layout
from dctwin.twin.model.validate import validate

SMALL = load_demo("small")


def fresh() -> Site:
    return SMALL.copy()


def round_trip(site: Site, cmd):
    """Apply, undo, redo, undo again; check each step; return the first inverse (site ends as it began)."""
    before = site.copy()
    inverse = cmd.apply(site)
    after = site.copy()
    assert after != before
    assert validate(site) == []
    redo = inverse.apply(site)
    assert site == before
    undo_again = redo.apply(site)
    assert site == after
    undo_again.apply(site)
    assert site == before
    return inverse


def refused(site: Site, cmd, element: str, field: str | None = None, *words: str) -> LayoutError:
    before = site.copy()
    text = dumps_layout(site)
    with pytest.raises(LayoutError) as info:
        cmd.apply(site)
    assert site == before and dumps_layout(site) == text
    issues = info.value.issues
    assert any(i.element == element and (field is None or i.field == field)
               and all(w in i.message for w in words) for i in issues), issues
    return info.value


def test_copy_is_independent():
    a = fresh()
    b = a.copy()
    b.hall.racks.pop()
    b.power_nodes.pop()
    assert len(a.hall.racks) == 20 and len(a.power_nodes) == 8
    assert a == SMALL


def test_add_rack_and_undo():
    site = fresh()
    rack = Rack(id="R-C01", x_m=3.0, y_m=8.4, facing="S", it_kw=5.0, feeds=("PDU-A", "PDU-B"))
    inv = round_trip(site, AddElement(rack))
    assert inv == RemoveElements(("R-C01",))
    AddElement(rack).apply(site)
    assert site.get("R-C01") == rack


def test_add_at_index_and_site_level_element():
    site = fresh()
    node = PowerNode(id="PDU-C", kind="pdu", inputs=("UPS-1A",), capacity_kw=50.0)
    round_trip(site, AddElement(node, index=0))
    AddElement(node, index=0).apply(site)
    assert site.power_nodes[0] == node


def test_add_refused_duplicate_overlap_and_bad_values():
    site = fresh()
    refused(site, AddElement(Rack(id="R-A01", x_m=1.0, y_m=8.0, it_kw=1.0)), "R-A01", "id", "duplicate")
    refused(site, AddElement(Rack(id="R-X", x_m=3.0, y_m=3.0, it_kw=1.0)), "R-A01", "x_m", "overlaps R-X")
    refused(site, AddElement(Rack(id="R-X", x_m=1.0, y_m=8.0, it_kw=3000.0)), "R-X", "it_kw", "absurd")
    refused(site, AddElement(Rack(id="R-X", x_m=float("nan"), y_m=8.0, it_kw=3.0)), "R-X", "x_m", "finite")
    refused(site, AddElement(Rack(id="R-X", x_m=1.0, y_m=8.0, it_kw=3.0, feeds=("PDU-Q",))), "R-X", "feeds")
    refused(site, AddElement(Rack(id="", x_m=1.0, y_m=8.0)), "", "id")
    refused(site, AddElement(Tile(id="T-X", x_m=3.0, y_m=4.2)), "T-101", "x_m", "overlaps tile T-X")


def test_add_to_unknown_hall_and_non_elements():
    site = fresh()
    refused(site, AddElement(Rack(id="R-X", x_m=1.0, y_m=8.0), hall_id="HALL-9"), "R-X", "hall")
    with pytest.raises(LayoutError):
        AddElement("R-X").apply(site)  # type: ignore[arg-type]
    assert site == SMALL


def test_remove_and_restore_exact_positions():
    site = fresh()
    inv = round_trip(site, RemoveElements(("R-B03", "R-A01", "CRAH-2", "R-A10")))
    assert isinstance(inv, RestoreElements)
    RemoveElements(("R-A05",)).apply(site)
    assert "R-A05" not in site.ids() and len(site.hall.racks) == 19


def test_remove_refused_while_referenced():
    site = fresh()
    err = refused(site, RemoveElements(("PDU-A",)), "R-A01", "feeds", "PDU-A", "does not exist")
    assert len(err.issues) == 20  # every rack that still plugs into it
    refused(site, RemoveElements(("R-NOPE",)), "R-NOPE", "id", "no element")


def test_remove_takes_a_bare_id():
    site = fresh()
    RemoveElements("R-A03").apply(site)
    assert "R-A03" not in site.ids()


def test_move_and_place():
    site = fresh()
    round_trip(site, MoveElements(("R-A01", "R-A02"), 0.0, -1.2))
    round_trip(site, PlaceElements((("CRAH-1", 0.0, 0.3),)))
    inv = MoveElements(("R-B10",), 0.1, 0.7).apply(site)
    assert site.get("R-B10").y_m == pytest.approx(6.7)
    inv.apply(site)
    assert site == SMALL  # exact old value, not x + dx - dx


def test_place_same_id_twice_undoes_exactly():
    site = fresh()
    cmd = PlaceElements((("R-A01", 1.0, 8.0), ("R-A01", 1.5, 8.5)))
    inv = cmd.apply(site)
    assert (site.get("R-A01").x_m, site.get("R-A01").y_m) == (1.5, 8.5)
    inv.apply(site)
    assert site == SMALL


def test_move_refused():
    site = fresh()
    refused(site, MoveElements(("R-A01",), 0.3, 0.0), "R-A01", "x_m", "overlaps")
    refused(site, MoveElements(("R-A01",), -5.0, 0.0), "R-A01", "x_m", "outside")
    refused(site, MoveElements(("UTIL",), 1.0, 0.0), "UTIL", "x_m", "no position")
    refused(site, MoveElements(("R-A01",), float("inf"), 0.0), "R-A01", "x_m", "finite")
    refused(site, MoveElements(("R-A01",), "1", 0.0), "R-A01", "x_m", "finite")  # type: ignore[arg-type]
    refused(site, PlaceElements((("R-A01", "far", 0.0),)), "R-A01", "x_m", "number")


def test_rotate_about_centre():
    site = fresh()
    PlaceElements((("R-A01", 1.5, 8.0),)).apply(site)  # a free spot
    base = site.copy()
    inv = RotateElement("R-A01").apply(site)  # a quarter turn clockwise: N -> E
    r = site.get("R-A01")
    assert r.facing == "E"
    assert r.footprint() == pytest.approx((1.2, 8.3, 2.4, 8.9))  # same centre (1.8, 8.6)
    inv.apply(site)
    assert site == base
    refused(site, RotateElement("R-A05"), "R-A05", "x_m", "overlaps")
    refused(site, RotateElement("R-A05", "Q"), "R-A05", "facing")
    refused(site, RotateElement("PDU-A"), "PDU-A", "facing", "no facing")


def test_set_property_and_rename_updates_references():
    site = fresh()
    round_trip(site, SetProperty("R-A01", "it_kw", 7.25))
    round_trip(site, SetProperty("R-A01", "feeds", ("PDU-B", "PDU-A")))
    inv = round_trip(site, SetProperty("PDU-A", "id", "PDU-1A"))
    assert inv == SetProperty("PDU-A", "id", "PDU-1A") or isinstance(inv, SetProperty)
    SetProperty("PDU-A", "id", "PDU-1A").apply(site)
    assert all(r.feeds[0] == "PDU-1A" for r in site.hall.racks)
    assert validate(site) == []


def test_set_property_refused():
    site = fresh()
    refused(site, SetProperty("R-A01", "it_kw", -3.0), "R-A01", "it_kw", "negative")
    refused(site, SetProperty("R-A01", "it_kw", "lots"), "R-A01", "it_kw", "number")
    refused(site, SetProperty("R-A01", "colour", "red"), "R-A01", "colour", "no such property")
    refused(site, SetProperty("R-A01", "id", "R-A02"), "R-A01", "id", "taken")
    refused(site, SetProperty("PDU-A", "inputs", ("NOPE",)), "PDU-A", "inputs", "'NOPE' does not exist")
    with pytest.raises(LayoutError) as info:
        SetProperty("UPS-1A", "inputs", ("PDU-A",)).apply(site)
    assert any(i.field == "inputs" and "cycle" in i.message and "UPS-1A" in i.message for i in info.value.issues)
    assert site == SMALL


def test_set_hall_property():
    site = fresh()
    round_trip(site, SetHallProperty("HALL-1", "supply_c", 20.0))
    round_trip(site, SetHallProperty("HALL-1", "width_m", 14.4))
    refused(site, SetHallProperty("HALL-1", "width_m", 8.0), "R-A09", "x_m", "outside")
    refused(site, SetHallProperty("HALL-1", "racks", []), "HALL-1", "racks", "not a settable")
    refused(site, SetHallProperty("HALL-9", "width_m", 8.0), "HALL-9", "id")


def test_replace_element():
    site = fresh()
    new = dataclasses.replace(site.get("CRAH-2"), capacity_kw=180.0)
    round_trip(site, ReplaceElement(new))
    refused(site, ReplaceElement(Rack(id="CRAH-2")), "CRAH-2", "id", "not a Rack")


def test_macro_is_all_or_nothing():
    site = fresh()
    ok = Macro((MoveElements(("R-A01",), 0.0, -1.8), SetProperty("R-A01", "it_kw", 3.0)), "drag")
    round_trip(site, ok)
    bad = Macro((MoveElements(("R-A01",), 0.0, -1.8), SetProperty("R-A02", "it_kw", 3000.0)))
    refused(site, bad, "R-A02", "it_kw")
    assert ok.text == "drag"


def test_add_row():
    site = fresh()
    proto = Rack(id="", x_m=3.0, y_m=8.4, facing="S", it_kw=4.0, feeds=("PDU-A", "PDU-B"))
    taken = set(site.ids()) | {"R-02"}
    cmd = add_row(proto, 3.0, 8.4, 10, taken)
    assert cmd.text == "Add row of 10"
    round_trip(site, cmd)
    cmd.apply(site)
    new = [r.id for r in site.hall.racks[-10:]]
    assert new == ["R-01"] + [f"R-{n:02d}" for n in range(3, 12)]  # the lowest free numbers, R-02 skipped
    assert site.get(new[-1]).x_m == 8.4  # nine widths east, on the grid exactly
    one = add_row(proto, 0.0, 0.0, 1, site.ids())
    assert isinstance(one, AddElement) and one.element.id == "R-02"  # free in the site itself
    with pytest.raises(LayoutError, match="at least one"):
        add_row(proto, 0.0, 0.0, 0, site.ids())


def test_plan_row_runs_along_the_front_on_the_grid():
    east = Rack(id="", facing="E")  # 0.6 wide along its front, which looks east: the row runs north
    row = plan_row(east, 1.2, 0.6, 3)
    assert [(r.x_m, r.y_m) for r in row] == [(1.2, 0.6), (1.2, 1.2), (1.2, 1.8)]
    assert all(r.id == "" for r in row)
    south = Rack(id="", facing="S", width_m=0.6)
    xs = [r.x_m for r in plan_row(south, 0.1, 0.0, 8)]
    assert xs == [round(0.1 + k * 0.6, 9) for k in range(8)] and xs[3] == 1.9  # 0.1 + 3 * 0.6 is 1.9000000000000001
    unit = CoolingUnit(id="", kind="inrow", facing="W", width_m=0.3, depth_m=1.2)
    ids = IdAllocator({"CU-01"})
    placed = plan_row(unit, 4.0, 2.0, 2, ids)
    assert [u.id for u in placed] == ["CU-02", "CU-03"] and [u.y_m for u in placed] == [2.0, 2.3]
    with pytest.raises(LayoutError):
        plan_row(unit, 0.0, 0.0, 0)


def test_id_allocator_gives_the_lowest_free_numbers_per_kind():
    ids = IdAllocator(["R-01", "R-03", "T-01", "X"])
    assert [ids.new("R-") for _ in range(3)] == ["R-02", "R-04", "R-05"]
    assert ids.for_element(Tile(id="")) == "T-02"
    assert ids.for_element(CoolingUnit(id="")) == "CU-01"
    assert ids.for_element(Chiller(id="")) == "E-01"  # a kind without a prefix of its own
    assert ids.for_element(PowerNode(id="", kind="ups")) == "UPS-01"  # power nodes by their kind
    big = IdAllocator([f"R-{n:02d}" for n in range(1, 100)])
    assert big.new("R-") == "R-100"
    assert "R-100" in big.taken


def test_command_texts():
    assert MoveElements(("a", "b"), 1, 1).text == "Move 2 elements"
    assert RemoveElements(("a",)).text == "Delete a"
    assert AddElement(Rack(id="R-9")).text == "Add R-9"


# --------------------------------------------------------------------------- property-based

IDS = [r.id for r in SMALL.hall.racks] + ["CRAH-1", "CRAH-2", "PDU-A", "UTIL", "T-101", "NOPE"]
coords = st.floats(min_value=-2.0, max_value=14.0, allow_nan=False).map(lambda v: round(v / 0.3) * 0.3)
deltas = st.sampled_from([-1.2, -0.6, -0.3, 0.0, 0.3, 0.6, 1.2, 4.8])


@st.composite
def commands(draw):
    kind = draw(st.sampled_from(["add", "add_unit", "move", "place", "rotate", "remove", "set", "macro"]))
    ident = draw(st.sampled_from(IDS))
    if kind == "add":
        return AddElement(Rack(id=draw(st.sampled_from(["R-N1", "R-N2", "R-A01"])), x_m=draw(coords),
                               y_m=draw(coords), facing=draw(st.sampled_from("NESWX")),
                               it_kw=draw(st.sampled_from([0.0, 5.0, 9.5, 400.0, -1.0])),
                               feeds=draw(st.sampled_from([("PDU-A", "PDU-B"), ("PDU-A",), ("NOPE",), ()]))))
    if kind == "add_unit":
        return AddElement(CoolingUnit(id="CRAH-N", kind="crah", x_m=draw(coords), y_m=draw(coords),
                                      facing=draw(st.sampled_from("NESW")), airflow_m3s=5.0, capacity_kw=100.0,
                                      feeds=("SWB-M",)))
    if kind == "move":
        ids = tuple(draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=4)))
        return MoveElements(ids, draw(deltas), draw(deltas))
    if kind == "place":
        return PlaceElements(tuple((draw(st.sampled_from(IDS)), draw(coords), draw(coords))
                                   for _ in range(draw(st.integers(1, 3)))))
    if kind == "rotate":
        return RotateElement(ident, draw(st.sampled_from([None, "N", "E", "S", "W", "up"])))
    if kind == "remove":
        return RemoveElements(tuple(draw(st.lists(st.sampled_from(IDS + ["R-N1", "CRAH-N"]), min_size=1,
                                                  max_size=3))))
    if kind == "set":
        field, value = draw(st.sampled_from([
            ("it_kw", 6.0), ("it_kw", -2.0), ("it_kw", 1e4), ("facing", "W"), ("height_m", 2.2),
            ("liquid_fraction", 0.5), ("airflow_m3s", 0.0), ("capacity_kw", 120.0), ("id", "RENAMED"),
            ("id", "R-A02"), ("feeds", ("PDU-B",)), ("open_fraction", 0.4), ("no_such", 1.0), ("x_m", "x"),
        ]))
        return SetProperty(ident, field, value)
    inner = tuple(draw(st.lists(commands(), min_size=1, max_size=3)))
    return Macro(inner)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands(), min_size=1, max_size=8))
def test_random_edit_sequences_undo_and_redo_exactly(cmds):
    site = fresh()
    history: list[tuple[Site, object, Site]] = []  # (before, inverse, after)
    for cmd in cmds:
        before = site.copy()
        try:
            inverse = cmd.apply(site)
        except LayoutError as exc:
            assert site == before  # an invalid edit changes nothing
            assert exc.issues and all(isinstance(i.element, str) for i in exc.issues)
            continue
        assert validate(site) == []
        history.append((before, inverse, site.copy()))
    # undo everything, newest first, then redo everything
    redos = []
    for before, inverse, after in reversed(history):
        assert site == after
        redos.append(inverse.apply(site))
        assert site == before
    assert site == SMALL
    for (before, inverse, after), redo in zip(history, reversed(redos)):
        assert site == before
        redo.apply(site)
        assert site == after
