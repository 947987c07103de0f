"""The placement rule the editor asks while dragging, dropping, nudging and pasting (headless)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from dctwin.twin.model.commands import MoveElements
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layout import Containment, CoolingUnit, Grille, Hall, Rack, Tile
from dctwin.twin.model.validate import FloorIndex, placement_problem, validate
from dctwin.twin.errors import LayoutError


@pytest.fixture
def site():
    return load_demo("small").copy()


def test_a_move_onto_a_neighbour_or_through_the_wall_is_refused_with_the_reason(site):
    hall = site.hall
    a1 = site.get("R-A01")
    assert placement_problem(hall, [dataclasses.replace(a1, x_m=a1.x_m - 0.6)], ignore={"R-A01"}) == ""
    msg = placement_problem(hall, [dataclasses.replace(a1, x_m=a1.x_m + 0.6)], ignore={"R-A01"})
    a2 = hall.footprint(site.get("R-A02"))
    assert msg == (f"R-A01 would overlap R-A02 (x {a2[0]:g}..{a2[2]:g} m, y {a2[1]:g}..{a2[3]:g} m)")
    msg = placement_problem(hall, [dataclasses.replace(a1, x_m=-0.6)], ignore={"R-A01"})
    assert msg.startswith("R-A01 would lie outside hall HALL-1 (x -0.6..0 m") and "0..12 by 0..10.2 m" in msg
    # without ignoring itself, a rack is in its own way
    assert "would overlap R-A01" in placement_problem(hall, [a1])


def test_what_may_share_floor(site):
    hall = site.hall
    tile = hall.tiles[0]
    assert placement_problem(hall, [Rack(id="new", x_m=tile.x_m, y_m=tile.y_m)]) == f"new would stand on tile {tile.id}"
    a1 = site.get("R-A01")
    assert placement_problem(hall, [Tile(id="", x_m=a1.x_m, y_m=a1.y_m)]).startswith("tile would lie on R-A01 (")
    assert placement_problem(hall, [Tile(id="t", x_m=tile.x_m, y_m=tile.y_m)]).startswith(f"t would overlap {tile.id}")
    assert placement_problem(hall, [Tile(id="t", x_m=0.0, y_m=0.0)]) == ""
    # a rear door hangs on its rack, an aisle outline and a grille share the floor with everything
    door = CoolingUnit(id="door", kind="rdhx", x_m=a1.x_m, y_m=a1.y_m, width_m=0.6, depth_m=0.2)
    assert placement_problem(hall, [door]) == ""
    assert placement_problem(hall, [Containment(id="aisle", x_m=a1.x_m, y_m=a1.y_m, width_m=3.0, depth_m=2.4)]) == ""
    assert placement_problem(hall, [Grille(id="g", x_m=a1.x_m, y_m=a1.y_m)]) == \
        f"hall {hall.id} has no ceiling return, so it takes no return grilles"
    bare = Hall(id="H2", width_m=10.0, depth_m=10.0, plenum="none")
    assert placement_problem(bare, [Tile(id="t")]) == "hall H2 has no raised floor, so it takes no perforated tiles"


def test_the_rule_agrees_with_validation_on_random_moves(site):
    """Whatever placement_problem accepts, the model accepts (for racks moved by whole tiles), and a
    move it refuses for overlap or walls is refused by the model too."""
    rnd = random.Random(7)
    index = FloorIndex(site.hall)
    racks = site.hall.racks
    for _ in range(150):
        r = rnd.choice(racks)
        dx, dy = rnd.randint(-6, 6) * 0.6, rnd.randint(-6, 6) * 0.6
        moved = dataclasses.replace(r, x_m=round(r.x_m + dx, 9), y_m=round(r.y_m + dy, 9))
        problem = index.problem([moved], ignore={r.id})
        assert problem == placement_problem(site.hall, [moved], ignore={r.id})  # the index answers as the rule
        trial = site.copy()
        try:
            MoveElements((r.id,), dx, dy).apply(trial)
            accepted = True
        except LayoutError:
            accepted = False
        assert accepted == (problem == ""), (r.id, dx, dy, problem)


def test_a_big_element_is_found_from_every_cell():
    hall = Hall(id="H", width_m=40.0, depth_m=20.0,
                cooling_units=[CoolingUnit(id="big", x_m=1.0, y_m=1.0, width_m=10.0, depth_m=10.0)])
    index = FloorIndex(hall, cell_m=0.6)  # the unit spans more cells than the index lists
    assert validate_ok(hall)
    assert index.problem([Rack(id="r", x_m=8.0, y_m=8.0)]) == "r would overlap big (x 1..11 m, y 1..11 m)"
    assert index.problem([Rack(id="r", x_m=12.0, y_m=8.0)]) == ""


def validate_ok(hall: Hall) -> bool:
    from dctwin.twin.model.layout import Site

    return [i for i in validate(Site(halls=[hall])) if "overlap" in i.message] == []
