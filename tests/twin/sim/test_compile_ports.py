"""The compile's rack and tile ports, built for all racks and tiles at once, equal the element-by-element
build they replaced (kept here as the reference), array for array, on halls that reach every branch:
blocked fronts and backs, racks walled in on every side, racks of every facing at the hall's walls,
tiles under racks and tiles over each other."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.twin.model import demos
from dctwin.twin.model.layout import Hall, Obstruction, Rack, Site, Tile
from dctwin.twin.sim import compile as comp
from dctwin.twin.sim.compile import Ports, compile_hall


def _reference_rack_ports(b, hall, boxes, warnings):
    """Rack by rack, as compile_hall did it before (one side_faces call per rack side)."""
    rin, rout = [], []
    for r, bx in zip(hall.racks, boxes):
        fi = b.side_faces(bx, r.facing)
        fo = b.side_faces(bx, comp._OPPOSITE[r.facing])
        if len(fi[0]) == 0 or len(fo[0]) == 0:
            fi, fo = comp._breathe_around(b, bx, r, fi, fo, warnings)
        rin.append(fi)
        rout.append(fo)
    return comp._ports_from_lists(rin), comp._ports_from_lists(rout)


def _reference_tile_ports(b, hall, fluid, raised, warnings):
    """Tile by tile, as compile_hall did it before (a cell goes to the first tile over it)."""
    nx, ny = b.nx, b.ny
    tiles_f = []
    floor_tile = np.zeros((nx, ny), dtype=bool)
    for t in hall.tiles:
        x0, y0, x1, y1 = hall.footprint(t)
        i0, i1 = comp._span(x0, x1, b.dx, nx)
        j0, j1 = comp._span(y0, y1, b.dy, ny)
        I, J = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
        I, J = I.ravel(), J.ravel()
        ok = fluid[I, J, 0] & ~floor_tile[I, J]
        I, J = I[ok], J[ok]
        if len(I) == 0 and raised:
            warnings.append(f"{t.id}: tile lies under a solid element or another tile; it delivers no air")
        floor_tile[I, J] = True
        tiles_f.append((b.fid_z(I, J, 0), b.cid(I, J, 0), np.ones(len(I)), np.full(len(I), b.dx * b.dy)))
    return comp._ports_from_lists(tiles_f), floor_tile


def _tight_site() -> Site:
    """Racks of every facing against the walls, back to back, walled in, under tiles; tiles overlapping."""
    racks = [
        Rack(id="R-N-WALL", x_m=1.2, y_m=5.0, facing="N", it_kw=5.0),  # front against the north wall
        Rack(id="R-S-WALL", x_m=2.4, y_m=0.0, facing="S", it_kw=5.0),  # front against the south wall
        Rack(id="R-E-WALL", x_m=5.0, y_m=2.4, facing="E", it_kw=5.0),
        Rack(id="R-W-WALL", x_m=0.0, y_m=2.4, facing="W", it_kw=5.0),
        Rack(id="R-BACK-A", x_m=2.4, y_m=2.4, facing="N", it_kw=5.0),  # back to back with B: both backs blocked
        Rack(id="R-BACK-B", x_m=2.4, y_m=1.2, facing="S", it_kw=5.0),
        Rack(id="R-FREE", x_m=3.6, y_m=3.6, facing="W", it_kw=5.0),
        Rack(id="R-SMALL", x_m=4.0, y_m=4.6, facing="E", it_kw=1.0, width_m=0.2, depth_m=0.3),
    ]
    walls = [  # a rack closed in on every side (no air path)
        Obstruction(id="W1", x_m=3.5, y_m=0.0, width_m=0.1, depth_m=1.4, kind="wall"),
        Obstruction(id="W2", x_m=4.7, y_m=0.0, width_m=0.1, depth_m=1.4, kind="wall"),
        Obstruction(id="W3", x_m=3.5, y_m=1.4, width_m=1.3, depth_m=0.1, kind="wall"),
    ]
    racks.append(Rack(id="R-BOXED", x_m=3.6, y_m=0.0, facing="N", it_kw=2.0, height_m=2.4))
    tiles = [Tile(id=f"T{i}", x_m=0.6 * i, y_m=3.6, open_fraction=0.25) for i in range(8)]
    tiles += [Tile(id="T-OVER", x_m=0.9, y_m=3.6, open_fraction=0.4, size_m=1.2),  # over T1..T3
              Tile(id="T-UNDER", x_m=2.4, y_m=2.4, open_fraction=0.25),  # under R-BACK-A
              Tile(id="T-EDGE", x_m=5.7, y_m=5.7, open_fraction=0.25)]
    hall = Hall(id="H", width_m=6.0, depth_m=6.0, height_m=2.4, racks=racks, tiles=tiles, obstructions=walls,
                supply_c=18.0)
    return Site(name="tight", halls=[hall])


def _sites() -> list[tuple[str, Site]]:
    out = [("tight", _tight_site()), ("synthetic-200", demos.synthetic_site(200)),
           ("synthetic-37", demos.synthetic_site(37, racks_per_row=7))]
    return out + [(name, demos.load_demo(name)) for name in demos.DEMOS]


def _arrays(ap) -> dict:
    out = {}
    for f in dataclasses.fields(ap):
        v = getattr(ap, f.name)
        if isinstance(v, Ports):
            for g in ("offsets", "face", "cell", "sign", "area"):
                out[f"{f.name}.{g}"] = getattr(v, g)
        elif isinstance(v, np.ndarray):
            out[f.name] = v
        elif f.name not in ("compile_s", "cache"):
            out[f.name] = v
    return out


def _cases() -> list:
    """Every hall at its default grid; the small ones also at two finer grids (the big halls' fine grids
    would only repeat the same ports at many more cells)."""
    return [pytest.param(name, site, grid_m, id=f"{name}-{grid_m}") for name, site in _sites()
            for grid_m in (None, 0.2, 0.45) if grid_m is None or name not in ("synthetic-200", "ai-hall")]


@pytest.mark.parametrize("name, site, grid_m", _cases())
def test_ports_built_at_once_equal_the_element_by_element_build(name, site, grid_m, monkeypatch):
    for hall in site.halls:
        fast = _arrays(compile_hall(site, hall.id, grid_m))
        with monkeypatch.context() as m:
            m.setattr(comp, "_rack_ports", _reference_rack_ports)
            m.setattr(comp, "_tile_ports", _reference_tile_ports)
            ref = _arrays(compile_hall(site, hall.id, grid_m))
        assert fast.keys() == ref.keys()
        for key, want in ref.items():
            got = fast[key]
            if isinstance(want, np.ndarray):
                assert got.dtype == want.dtype and got.shape == want.shape, key
                assert np.array_equal(got, want), key
            else:
                assert got == want, key


def test_the_tight_hall_reaches_every_branch():
    """The hall above is what it claims: racks breathing around a blocked side, a walled-in rack, tiles lost
    under a rack or to an earlier tile."""
    ap = compile_hall(_tight_site())
    text = "\n".join(ap.warnings)
    assert "R-N-WALL: rack front (intake, facing N) is blocked" in text
    assert "R-BACK-A: rack back (exhaust) is blocked" in text
    assert "R-BOXED" in text and "no side of it is open" in text
    assert "T-UNDER: tile lies under a solid element or another tile" in text
    counts = np.diff(ap.tile.offsets)
    assert counts[ap.tile_ids.index("T-OVER")] < 16  # 1.2 m tile on a 0.3 m grid: some cells went to T1..T3
