"""Columns and walls act on the air: their cells are solid, no air crosses them, energy still balances."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.model.layout import Obstruction
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.sim.engine import Simulation

GRID = 0.6


def with_obstructions(*obs: Obstruction):
    site = demos.load_demo("small")
    site.hall.obstructions.extend(obs)
    return site


def test_an_obstruction_is_solid_from_the_floor_to_its_height():
    site = with_obstructions(Obstruction(id="COL-01", x_m=1.2, y_m=1.2, width_m=0.6, depth_m=0.6),
                             Obstruction(id="WALL-01", kind="wall", x_m=0.0, y_m=8.4, width_m=3.0, depth_m=0.6,
                                         height_m=1.2))
    ap = compile_hall(site, grid_m=GRID)
    assert ap.solid[2, 2, :].all()  # the column: floor to ceiling
    wall = ap.solid[0:5, 14, :]
    assert wall[:, :2].all() and not wall[:, 2:].any()  # the wall: the two layers below 1.2 m
    bare = compile_hall(demos.load_demo("small"), grid_m=GRID)
    assert ap.solid.sum() - bare.solid.sum() == 5 + 5 * 2  # nothing else changed
    # no face into a solid cell conducts
    cx, cy, cz = ap.face_views(ap.cond)
    assert cx[2, 2, :].max() == 0 and cx[3, 2, :].max() == 0 and cy[2, 2, :].max() == 0 and cy[2, 3, :].max() == 0


def test_a_wall_in_front_of_a_rack_blocks_its_intake():
    site = demos.load_demo("small")
    rack = site.hall.racks[0]
    x0, y0, x1, y1 = rack.footprint()
    # the row faces away from the aisle wall of this test: put the wall on the rack's front side
    front_y = y1 if rack.facing == "N" else y0 - 0.6
    site.hall.obstructions.append(Obstruction(id="WALL-01", kind="wall", x_m=x0, y_m=front_y, width_m=x1 - x0,
                                              depth_m=0.6))
    ap = compile_hall(site, grid_m=GRID)
    assert any(w.startswith(f"{rack.id}: rack front (intake") for w in ap.warnings), ap.warnings


@pytest.mark.slow
def test_air_goes_around_a_column_and_energy_still_balances():
    site = with_obstructions(Obstruction(id="COL-01", x_m=0.6, y_m=0.6, width_m=1.2, depth_m=1.2))
    sim = Simulation(site, grid_m=GRID)
    s = sim.solve_steady()
    assert s.energy_error < 0.01
    v = sim.flow.cell_velocity(sim.air)
    assert np.all(v[1:3, 1:3, :] == 0.0)  # no air inside the column
    assert np.all(np.isfinite(sim.T[~sim.air.solid]))
    t, _ = sim.air_temperature_slice(1.0)
    assert np.isnan(t[1:3, 1:3]).all()  # the heat map leaves the column blank
