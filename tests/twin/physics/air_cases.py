"""Layouts shared by the air-physics tests: the CFD reference room B1 as a dctwin layout, small rooms."""

from __future__ import annotations

import json
from pathlib import Path

import dataclasses

from dctwin.twin.model.layout import Containment, CoolingUnit, Grille, Hall, Rack, Site, Tile

#: independent CFD reference room B1 (OpenFOAM k-epsilon, 0.1 m mesh), copied from the project's
#: shared validation folder (its README documents how it was made)
VALIDATION = Path(__file__).parent / "data" / "case_B1.json"


def load_case_b1() -> dict:
    """The CFD reference room B1 (geometry, boundary flows, F matrix, inlet temperatures)."""
    return json.loads(VALIDATION.read_text())


def b1_site(case: dict) -> Site:
    """Room B1 as a dctwin layout: raised floor with fully open tiles at the two tile
    patches, a ceiling return with one grille at the return patch, 12 racks."""
    g = case["geometry"]
    room = g["room"]
    hall = Hall(id="B1", width_m=room["lx"], depth_m=room["ly"], height_m=room["lz"], plenum="raised_floor",
                ceiling_return=True, leakage_fraction=0.0, supply_c=18.0)
    for r in g["racks"]:
        facing = {"+y": "N", "-y": "S", "+x": "E", "-x": "W"}[r["face"]]
        hall.racks.append(Rack(id=f"R{r['id']:02d}", x_m=r["x"], y_m=r["y"], facing=facing, width_m=r["w"],
                               depth_m=r["d"], height_m=r["h"], it_kw=4.0, airflow_m3s=case["q_rack_m3s"]))
    n = 0
    for t in g["tiles"]:
        x0, x1, y0, y1 = t["x0"], t["x1"], t["y0"], t["y1"]
        s = 0.6
        nxt = int(round((x1 - x0) / s))
        nyt = int(round((y1 - y0) / s))
        for a in range(nxt):
            for b in range(nyt):
                n += 1
                hall.tiles.append(Tile(id=f"T{n:02d}", x_m=x0 + a * s, y_m=y0 + b * s, open_fraction=1.0))
    ret = g["crah_return"]
    hall.grilles.append(Grille(id="RET", x_m=ret["x0"], y_m=ret["y0"], width_m=ret["x1"] - ret["x0"],
                               depth_m=ret["y1"] - ret["y0"]))
    for c in g.get("containment", ()):
        hall.containments.append(Containment(id=c["id"], kind=c["kind"], x_m=c["x0"], y_m=c["y0"],
                                             width_m=c["x1"] - c["x0"], depth_m=c["y1"] - c["y0"],
                                             height_m=c.get("height_m"), door_gap_m2=c.get("door_gap_m2"),
                                             roof_gap_m2=c.get("roof_gap_m2")))
    return Site(name="B1", halls=[hall])


def cfd_site(case: dict, power_case: str) -> Site:
    """A CFD room as a layout `dctwin solve` reproduces directly: every rack's airflow and power fixed
    at the CFD's (``airflow_fixed``), and a small DX unit (0.6 x 0.6 x 0.25 m, in the corner farthest
    from the racks) that feeds the raised floor the CFD's tile flow at the supply temperature."""
    site = b1_site(case)
    hall = site.halls[0]
    p_w = case["temperatures"]["cases"][power_case]["P_W"]
    hall.racks[:] = [dataclasses.replace(r, airflow_fixed=True, it_kw=p / 1e3) for r, p in zip(hall.racks, p_w)]
    room = case["geometry"]["room"]
    racks = case["geometry"]["racks"]
    corners = [(x, y) for x in (0.0, room["lx"] - 0.6) for y in (0.0, room["ly"] - 0.6)]
    far = max(corners, key=lambda c: min(abs(c[0] + 0.3 - r["x"] - r["w"] / 2) + abs(c[1] + 0.3 - r["y"] - r["d"] / 2)
                                         for r in racks))
    hall.cooling_units.append(CoolingUnit(id="SUPPLY", kind="crac", x_m=far[0], y_m=far[1], width_m=0.6, depth_m=0.6,
                                          height_m=0.25, airflow_m3s=case["tile_flow_total_m3s"],
                                          capacity_kw=10.0 * sum(p_w) / 1e3 + 10.0,
                                          supply_setpoint_c=case["temperatures"]["T_supply_C"]))
    return site




def room(width=6.0, depth=4.8, height=3.0, racks=(), tiles=(), grilles=(), units=(), containments=(),
         plenum="raised_floor", ceiling_return=True, leakage=0.0, grid_m=None) -> Site:
    """A small hall for tests; elements are given as layout objects."""
    h = Hall(id="H", width_m=width, depth_m=depth, height_m=height, plenum=plenum,
             ceiling_return=ceiling_return, leakage_fraction=leakage, grid_m=grid_m)
    h.racks.extend(racks)
    h.tiles.extend(tiles)
    h.grilles.extend(grilles)
    h.cooling_units.extend(units)
    h.containments.extend(containments)
    return Site(name="test", halls=[h])


def aisle_room(n_per_row=4, tile_factor=1.2, rack_q=0.35, grid=0.3, aisle_tiles=True) -> tuple[Site, float]:
    """Two facing rows around a cold aisle of perforated tiles (open 0.5), a ceiling grille at each
    hall end. Symmetric about both the aisle centre line and the hall's x centre. Returns the site
    and the total tile airflow (m3/s)."""
    x0 = 1.8
    width = 2 * x0 + 0.6 * n_per_row
    racks = []
    for i in range(n_per_row):
        racks.append(Rack(id=f"A{i + 1:02d}", x_m=x0 + 0.6 * i, y_m=1.2, facing="N", it_kw=4.0, airflow_m3s=rack_q))
        racks.append(Rack(id=f"B{i + 1:02d}", x_m=x0 + 0.6 * i, y_m=3.6, facing="S", it_kw=4.0, airflow_m3s=rack_q))
    tiles = []
    if aisle_tiles:
        for i in range(n_per_row):
            for j, y in enumerate((2.4, 3.0)):
                tiles.append(Tile(id=f"T{i}{j}", x_m=x0 + 0.6 * i, y_m=y, open_fraction=0.5))
    grilles = [Grille(id="G1", x_m=0.0, y_m=2.4, width_m=0.6, depth_m=1.2),
               Grille(id="G2", x_m=width - 0.6, y_m=2.4, width_m=0.6, depth_m=1.2)]
    site = room(width=width, depth=6.0, height=3.0, racks=racks, tiles=tiles, grilles=grilles, grid_m=grid)
    return site, tile_factor * rack_q * 2 * n_per_row
