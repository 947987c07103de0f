"""Arranging an imported hall: rows of racks across cold aisles, tiles, perimeter cooling, a power supply.

What a source does not say (where racks stand, which cooling units and UPSs feed them) is built here
the way :mod:`dctwin.twin.model.demos` builds its synthetic halls (same aisles, tiles, perimeter CRAHs
sized N+1, utility + generator + ATS + UPS), and every element made here is marked assumed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Callable, Iterable, Optional, Sequence

from dctwin.twin.io.report import ImportReport, SourceError
from dctwin.twin.model import demos
from dctwin.twin.model.layout import (
    ASSUMED_EXISTS, DEFAULT_AIRFLOW_PER_W, CoolingUnit, Element, Hall, PowerNode, Rack, Tile,
)

TILE_M = demos.TILE_M
AISLE_M = demos.AISLE_M
WALL_GAP_M = demos.WALL_GAP_M
END_GAP_M = demos.END_GAP_M
#: perimeter unit airflow per kW of its capacity when the source gives none (m3/s per kW): the air
#: 1.2 x the racks' design airflow (1e-4 m3/s per W) moves
UNIT_AIRFLOW_PER_KW = 1.2 * DEFAULT_AIRFLOW_PER_W * 1e3
#: the mechanical switchboard the assumed cooling units hang on
MECH_BOARD = "SWB-M"
_FACINGS = "NESW"
_OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}


def natural_key(text: str) -> tuple:
    """Sort key that puts ``A2`` before ``A10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in re.split(r"(\d+)", text or "") if p)


def opposite(facing: str) -> str:
    return _OPPOSITE[facing]


def snap_up(v: float, step: float = TILE_M) -> float:
    """``v`` rounded up to the tile grid (to 1e-6 m)."""
    return round(math.ceil(v / step - 1e-9) * step, 6)


class Ids:
    """Layout ids from NetBox names: printable, at most 60 characters, unique (``-<pk>`` on a clash)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def make(self, name: Any, pk: Any, prefix: str = "") -> str:
        base = re.sub(r"\s+", "-", "".join(ch for ch in str(name or "").strip() if ch.isprintable()))[:60]
        ident = (prefix + base) if base else f"{prefix or 'X-'}{pk}"
        if ident in self.taken:
            ident = f"{ident[:50]}-{pk}"
        while ident in self.taken:
            ident += "+"
        self.taken.add(ident)
        return ident


class Floor:
    """What stands on a hall's floor, as a grid of cells, for "is this footprint free?" while building."""

    def __init__(self, cell_m: float = 2.4):
        self.cell = cell_m
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _keys(self, fp):
        c = self.cell
        return [(i, j) for i in range(math.floor(fp[0] / c), math.floor(fp[2] / c) + 1)
                for j in range(math.floor(fp[1] / c), math.floor(fp[3] / c) + 1)]

    def free(self, fp: tuple[float, float, float, float]) -> bool:
        for key in self._keys(fp):
            for o in self.cells.get(key, ()):
                if min(fp[2], o[2]) - max(fp[0], o[0]) > 1e-6 and min(fp[3], o[3]) - max(fp[1], o[1]) > 1e-6:
                    return False
        return True

    def add(self, fp: tuple[float, float, float, float]) -> None:
        for key in self._keys(fp):
            self.cells.setdefault(key, []).append(fp)

    def add_all(self, hall: Hall, elements: Iterable[Element]) -> None:
        for el in elements:
            self.add(hall.footprint(el))


# --------------------------------------------------------------------------- rows


def arrange_rows(rows: Sequence[tuple[str, Sequence[Rack]]], x0: float, y0: float, hall_id: str
                 ) -> tuple[list[Rack], list[Tile], tuple[float, float]]:
    """Rows of racks paired front to front across cold aisles of perforated tiles.

    ``rows`` are (row name, racks in order); rows 1-2, 3-4, ... face each other across a 1.2 m cold
    aisle (two tiles), pairs are separated by 1.2 m hot aisles and grouped into columns side by side
    (1.8 m cross aisles) so the block is about as deep as it is wide. Returns the placed racks, the
    aisle tiles (assumed) and the block's far corner (x, y) in m.
    """
    pairs = [list(rows[k:k + 2]) for k in range(0, len(rows), 2)]
    if not pairs:
        return [], [], (x0, y0)

    def length(rs: Sequence[Rack]) -> float:
        return sum(r.width_m for r in rs)

    def depth(rs: Sequence[Rack]) -> float:
        return max((r.depth_m for r in rs), default=0.0)

    row_len = max(length(rs) for _, rs in rows)
    pair_depths = [sum(depth(rs) for _, rs in p) + AISLE_M for p in pairs]
    mean_depth = sum(pair_depths) / len(pairs)
    cols = max(1, round(math.sqrt(len(pairs) * (mean_depth + AISLE_M) / (row_len + END_GAP_M))))
    per_col = math.ceil(len(pairs) / cols)
    placed: list[Rack] = []
    tiles: list[Tile] = []
    far_x, far_y = x0, y0
    for col in range(cols):
        x = round(x0 + col * (snap_up(row_len) + END_GAP_M), 6)
        y = y0
        for pair in pairs[col * per_col:(col + 1) * per_col]:
            (name_a, rack_a), rest = pair[0], pair[1:]
            da = depth(rack_a)
            aisle_y = round(y + da, 6)
            placed += _line(rack_a, x, aisle_y, "N")  # fronts on the aisle's south edge, looking north
            far_x = max(far_x, x + length(rack_a))
            names = [name_a]
            airflow = sum(r.design_airflow_m3s for r in rack_a)
            aisle_len = length(rack_a)
            if rest:
                name_b, rack_b = rest[0]
                placed += _line(rack_b, x, round(aisle_y + AISLE_M, 6), "S")
                far_x = max(far_x, x + length(rack_b))
                names.append(name_b)
                airflow += sum(r.design_airflow_m3s for r in rack_b)
                aisle_len = max(aisle_len, length(rack_b))
                y = aisle_y + AISLE_M + depth(rack_b)
            else:
                y = aisle_y + AISLE_M
            n_along = max(1, int(aisle_len / TILE_M + 1e-9))
            n_tiles = 2 * n_along
            open_fraction = demos.tile_open_fraction(airflow / n_tiles) if airflow > 0 else 0.25
            key = "+".join(names)
            for i in range(n_along):
                for t in range(2):
                    tiles.append(Tile(id="", x_m=round(x + i * TILE_M, 6), y_m=round(aisle_y + t * TILE_M, 6),
                                      open_fraction=open_fraction, assumed=(ASSUMED_EXISTS,),
                                      external_id=f"assumed:tile:{hall_id}:{key}:{i}:{t}"))
            far_y = max(far_y, y)
            y = round(y + AISLE_M, 6)
    return placed, tiles, (far_x, far_y)


def _line(racks: Sequence[Rack], x: float, front_y: float, facing: str) -> list[Rack]:
    """Racks side by side from ``x`` with their fronts on the line ``y = front_y``, looking ``facing``."""
    out = []
    for r in racks:
        y = front_y - r.depth_m if facing == "N" else front_y
        out.append(dataclasses.replace(r, x_m=round(x, 6), y_m=round(y, 6), facing=facing))
        x += r.width_m
    return out


def front_tiles(hall: Hall, racks: Sequence[Rack], floor: Floor) -> list[Tile]:
    """One row of perforated tiles in front of each rack's intake where the floor is free (assumed)."""
    out = []
    for r in racks:
        x0, y0, x1, y1 = r.footprint()
        n = max(1, round(r.width_m / TILE_M))
        for k in range(n):
            if r.facing == "N":
                x, y = x0 + k * TILE_M, y1
            elif r.facing == "S":
                x, y = x0 + k * TILE_M, y0 - TILE_M
            elif r.facing == "E":
                x, y = x1, y0 + k * TILE_M
            else:
                x, y = x0 - TILE_M, y0 + k * TILE_M
            fp = (x, y, x + TILE_M, y + TILE_M)
            if x < -1e-9 or y < -1e-9 or fp[2] > hall.width_m + 1e-9 or fp[3] > hall.depth_m + 1e-9:
                continue
            if not floor.free(fp):
                continue
            floor.add(fp)
            out.append(Tile(id="", x_m=round(x, 6), y_m=round(y, 6), open_fraction=0.25, assumed=(ASSUMED_EXISTS,),
                            external_id=f"assumed:tile:{hall.id}:{r.external_id or r.id}:{k}"))
    return out


# --------------------------------------------------------------------------- cooling


def perimeter_units(hall: Hall, floor: Floor, specs: Sequence[dict], id_prefix: str = "CRAH-"
                    ) -> tuple[list[CoolingUnit], Hall]:
    """Cooling units along the walls, facing in, in slots the floor leaves free.

    ``specs`` are keyword dicts for :class:`CoolingUnit` without position. When the walls have too few
    free slots the hall grows east by one unit band at a time. Returns the units and the (grown) hall.
    """
    units: list[CoolingUnit] = []
    for _ in range(200):
        slots = [s for s in demos.perimeter_slots(hall.width_m, hall.depth_m)
                 if floor.free(_unit_fp(*s))]
        if len(slots) >= len(specs):
            for spec, (x, y, f) in zip(specs, slots):
                u = CoolingUnit(x_m=x, y_m=y, facing=f, width_m=demos.UNIT_W_M, depth_m=demos.UNIT_D_M, **spec)
                floor.add(u.footprint())
                units.append(u)
            return units, hall
        hall = dataclasses.replace(hall, width_m=snap_up(hall.width_m + demos.UNIT_W_M + TILE_M))
    raise AssertionError("perimeter cooling: no room found")  # pragma: no cover - the hall grows each time


def _unit_fp(x: float, y: float, f: str) -> tuple[float, float, float, float]:
    w, d = (demos.UNIT_D_M, demos.UNIT_W_M) if f in ("E", "W") else (demos.UNIT_W_M, demos.UNIT_D_M)
    return (x, y, x + w, y + d)


def assumed_crah_specs(load_kw: float, airflow_m3s: float, first: int, hall_id: str) -> list[dict]:
    """N + 1 perimeter CRAHs for ``load_kw`` of IT heat moving ``airflow_m3s`` of rack air (assumed)."""
    n, unit_kw, unit_airflow, fan_kw = demos.crah_sizing(max(load_kw, 1.0), max(1.2 * airflow_m3s, 0.1))
    unit_airflow = max(unit_airflow, 0.5)
    return [dict(id=demos.crah_id(first + k, first + n), kind="crah", airflow_m3s=unit_airflow,
                 capacity_kw=unit_kw, supply_setpoint_c=18.0, feeds=(MECH_BOARD,), fan_power_kw=fan_kw,
                 assumed=(ASSUMED_EXISTS,), external_id=f"assumed:crah:{hall_id}:{k + 1}")
            for k in range(n)]


# --------------------------------------------------------------------------- power


def supply_skeleton(it_kw: float, mech_kw: float, sides: Iterable[str]) -> list[PowerNode]:
    """Utility, generator, ATS, mechanical switchboard and one UPS per side (``UPS-A``, ``UPS-B``), each
    UPS sized for the whole IT load (2N) with 10 minutes of battery; every node assumed."""
    nodes = demos.source_nodes(it_kw, mech_kw)
    cap = demos.ups_kw(max(it_kw, 1.0))
    for side in sides:
        nodes.append(PowerNode(id=f"UPS-{side}", kind="ups", inputs=("ATS-1",), capacity_kw=cap,
                               battery_kwh=round(cap * 10 / 60, 1)))
    return [dataclasses.replace(n, assumed=(ASSUMED_EXISTS,), external_id=f"assumed:power:{n.id}") for n in nodes]


# --------------------------------------------------------------------------- halls


def build_hall(hall_id: str, external_id: str, placed: list[Rack], auto_rows: Sequence[tuple[str, Sequence[Rack]]],
               unit_specs: list[dict], ids: "Ids", report: ImportReport, label: Callable[[Rack], str],
               plan_m: Optional[tuple[float, float]] = None, source: str = "the source") -> Hall:
    """A hall around imported racks: those ``placed`` (positions from the source) as they are, the
    ``auto_rows`` arranged by :func:`arrange_rows` north of them, perforated tiles, cooling
    units (``unit_specs`` with or without positions; without any, assumed N+1 perimeter CRAHs), and
    walls with a 3 m service band for the perimeter units. Raises :class:`SourceError` (naming the rack
    by ``label``) when placed racks overlap or lie at negative coordinates."""
    for r in placed:
        if r.footprint()[0] < -1e-6 or r.footprint()[1] < -1e-6:
            raise SourceError(f"{label(r)}: its position ({r.x_m:g}, {r.y_m:g}) m lies outside the hall (x and y "
                              f"from 0, metres from the south-west corner)")
    floor = Floor()
    for r in placed:
        fp = r.footprint()
        if not floor.free(fp):
            other = next(o for o in placed if o is not r and overlap(o.footprint(), fp))
            raise SourceError(f"{label(r)}: its position ({r.x_m:g}, {r.y_m:g} m) overlaps rack {other.id}; "
                              f"fix one of them in {source}")
        floor.add(fp)
    y0 = WALL_GAP_M
    if placed:
        y0 = snap_up(max(r.footprint()[3] for r in placed) + 2 * AISLE_M)
    auto_racks, aisle_tiles, (far_x, far_y) = arrange_rows(auto_rows, WALL_GAP_M, y0, hall_id)
    auto_racks = [dataclasses.replace(r, assumed=r.assumed + ("x_m", "y_m", "facing")) for r in auto_racks]
    if auto_racks:
        report.assume(f"rack positions: rows paired front to front across cold aisles, racks in order (no "
                      f"position in {source})", *[r.id for r in auto_racks])
    racks = placed + auto_racks
    width = max([far_x] + [r.footprint()[2] for r in racks]) + WALL_GAP_M
    depth = max([far_y] + [r.footprint()[3] for r in racks]) + WALL_GAP_M
    if plan_m:
        width, depth = max(width, plan_m[0]), max(depth, plan_m[1])
    tallest = max((r.height_m for r in racks), default=2.0)
    hall = Hall(id=hall_id, width_m=snap_up(width), depth_m=snap_up(depth),
                height_m=max(3.0, round(tallest + 0.6, 1)), external_id=external_id)
    floor.add_all(hall, auto_racks)
    floor.add_all(hall, aisle_tiles)
    front = front_tiles(hall, placed, floor)
    if front:
        report.assume("a perforated tile in front of each rack placed by coordinates (25 % open) where the "
                      "floor is free", hall_id)
    if aisle_tiles:
        report.assume("perforated tiles in the cold aisles between paired rows (open fraction for 25 Pa at the "
                      "racks' design airflow)", hall_id)
    tiles = [dataclasses.replace(t, id=ids.make(f"TILE-{k + 1:04d}", k)) for k, t in enumerate(aisle_tiles + front)]
    given = [s for s in unit_specs if "x_m" in s]
    for s in given:
        floor.add(CoolingUnit(**s).footprint())
    wall = [s for s in unit_specs if "x_m" not in s]
    if not unit_specs:
        wall = assumed_crah_specs(sum(r.it_kw for r in racks), sum(r.design_airflow_m3s for r in racks), 0, hall_id)
        wall = [dict(s, id=ids.make(s["id"], s["external_id"])) for s in wall]
        report.assume(f"perimeter CRAHs sized N+1 for the imported load ({source} has no CRAH/CRAC for this "
                      f"hall)", *[s["id"] for s in wall])
    units, hall = perimeter_units(hall, floor, wall)
    return dataclasses.replace(hall, racks=racks, tiles=tiles, cooling_units=[CoolingUnit(**s) for s in given] + units)


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two footprints (x0, y0, x1, y1) overlap by more than 1e-6 m."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 1e-6 and min(a[3], b[3]) - max(a[1], b[1]) > 1e-6
