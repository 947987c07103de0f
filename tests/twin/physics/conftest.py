"""Shared fixtures of the air-physics tests: the CFD reference room B1 as a dctwin layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from twin.layout import Containment, CoolingUnit, Grille, Hall, Rack, Site, Tile

VALIDATION = Path("/work/shared/validation/case_B1.json")


def load_case_b1() -> dict:
    """The CFD reference (shipped in the shared validation folder)."""
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
    return Site(name="B1", halls=[hall])


@pytest.fixture(scope="session")
def case_b1() -> dict:
    return load_case_b1()
