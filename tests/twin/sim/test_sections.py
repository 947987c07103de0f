"""The air on a plane for the views: plan arrows and vertical sections, against known fields and physics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.model.layout import Hall, Obstruction, Site
from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.sim.sections import clip_to_hall, plan_flow, vertical_section


@pytest.fixture(scope="module")
def room():
    """An empty 6 x 4.8 x 3 m room, 0.6 m grid, with one column (solid cells)."""
    hall = Hall(id="H", width_m=6.0, depth_m=4.8, height_m=3.0, plenum="none")
    hall.obstructions.append(Obstruction(id="C", x_m=3.0, y_m=2.4, width_m=0.6, depth_m=0.6))
    return compile_hall(Site(halls=[hall]), grid_m=0.6)


def uniform(ap, vx: float, vy: float, vz: float) -> np.ndarray:
    """Face velocities of a uniform flow (m/s)."""
    u = np.empty(ap.n_faces)
    a, b = ap.nfx, ap.nfx + ap.nfy
    u[:a], u[a:b], u[b:] = vx, vy, vz
    return u


def test_a_uniform_flow_reads_back_in_the_plan_and_in_any_section(room):
    ap = room
    u = uniform(ap, 0.3, -0.4, 0.1)
    pf = plan_flow(ap, u, 1.0)
    fluid = ~ap.solid[:, :, 1]
    assert np.allclose(pf.vx[fluid], 0.3) and np.allclose(pf.vy[fluid], -0.4)
    assert np.isnan(pf.vx[5, 4]) and np.isnan(pf.vy[5, 4])  # the column
    assert pf.extent == (0.0, 0.0, 6.0, 4.8)
    T = np.arange(ap.n_cells, dtype=float).reshape(ap.shape)
    for (p0, p1), along in ((((0.0, 1.5), (6.0, 1.5)), 0.3),  # east
                            (((1.5, 4.8), (1.5, 0.0)), 0.4),  # south
                            (((0.0, 0.0), (4.8, 4.8)), (0.3 - 0.4) / math.sqrt(2))):  # north-east
        sec = vertical_section(ap, T, u, p0, p1)
        ok = np.isfinite(sec.v_along)
        assert ok.any()
        assert np.allclose(sec.v_along[ok], along) and np.allclose(sec.v_up[ok], 0.1)
        assert sec.s_m[0] == pytest.approx(0.0) and sec.s_m[-1] == pytest.approx(sec.length_m)
        assert sec.z_m == pytest.approx((np.arange(ap.nz) + 0.5) * ap.dz)
        # each sample is the temperature of the cell it falls in
        xs = p0[0] + sec.s_m / sec.length_m * (p1[0] - p0[0])
        ys = p0[1] + sec.s_m / sec.length_m * (p1[1] - p0[1])
        i = np.clip((xs / ap.dx).astype(int), 0, ap.nx - 1)
        j = np.clip((ys / ap.dy).astype(int), 0, ap.ny - 1)
        want = np.where(ap.solid[i, j, :], np.nan, T[i, j, :])
        assert np.array_equal(np.isnan(sec.temp_c), np.isnan(want))
        assert np.allclose(sec.temp_c[ok], want[ok])
    through_column = vertical_section(ap, T, u, (0.0, 2.7), (6.0, 2.7))
    assert np.isnan(through_column.temp_c).any()  # the column shows as a gap


def test_a_line_is_clipped_to_the_hall(room):
    assert clip_to_hall(room, (-3.0, 1.0), (9.0, 1.0)) == ((0.0, 1.0), (6.0, 1.0))
    assert clip_to_hall(room, (-1.0, -1.0), (-1.0, 9.0)) is None
    sec = vertical_section(room, np.zeros(room.shape), uniform(room, 0, 0, 0), (-3.0, 1.0), (9.0, 1.0))
    assert sec.s_m[0] == pytest.approx(3.0)  # distances along the line as drawn


@pytest.mark.slow
def test_the_demo_hall_shows_air_rising_from_the_tiles_and_into_the_rack_fronts():
    site = demos.load_demo("small")
    sim = Simulation(site, grid_m=0.3)
    sim.solve_steady()
    ap, flow = sim.air, sim.flow
    hall = site.hall
    tiles = [hall.footprint(t) for t in hall.tiles]
    y_aisle = (tiles[0][1] + tiles[0][3]) / 2
    x0 = min(t[0] for t in tiles) + 0.01
    x1 = max(t[2] for t in tiles) - 0.01
    sec = vertical_section(ap, sim.T, flow.u, (x0, y_aisle), (x1, y_aisle))
    # above the perforated tiles the air goes up: on the whole, and in most cells of the lowest layer
    # (between the tile jets some air comes back down)
    assert np.nanmean(sec.v_up[:, 0]) > 0.2
    assert (sec.v_up[:, 0] > 0).mean() >= 0.75
    # at 1 m the cold aisle air turns into the racks on both sides of it
    pf = plan_flow(ap, flow.u, 1.0)
    a_front = [r for r in hall.racks if r.row == "A"][3]
    fx0, fy0, fx1, fy1 = a_front.footprint()
    i = int(((fx0 + fx1) / 2) / ap.dx)
    j_in = int((fy1 + 0.15) / ap.dy) if a_front.facing == "N" else int((fy0 - 0.15) / ap.dy)
    toward = -pf.vy[i, j_in] if a_front.facing == "N" else pf.vy[i, j_in]
    assert toward > 0.0
    assert np.all(np.isfinite(sec.temp_c[np.isfinite(sec.v_up)]))
