"""Built-in demo sites and a generator of synthetic halls.

The demo layouts are JSON files in ``assets/demos/<name>.json`` read through
:mod:`importlib.resources`, so they work from an installed wheel as well as
from a checkout. :func:`synthetic_site` builds halls of any size (1 to
20,000 racks) in rows for tests and benchmarks; it is deterministic.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Optional

from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import (
    DEFAULT_AIRFLOW_PER_W, MAX_HALL_SIDE_M, CoolingUnit, Hall, PowerNode, Rack, Site, Tile,
)
from dctwin.twin.model.layoutfile import loads_layout

#: demo name -> one-line description (the file is assets/demos/<name>.json)
DEMOS: dict[str, str] = {
    "small": "20 air-cooled racks (130 kW) in 2 rows on a raised floor, 2 CRAHs (N+1), 2N power",
    "ai-hall": "208 racks (3.8 MW): 16 x 120 kW liquid-cooled pod with 3 CDUs, 192 x 10 kW air racks "
               "with hot-aisle containment, in-row and perimeter cooling, chilled-water plant",
}


def list_demos() -> dict[str, str]:
    """The built-in demo sites: ``{name: one-line description}``."""
    return dict(DEMOS)


def demo_text(name: str) -> str:
    """The JSON text of a demo layout. Unknown name -> InputError naming the known ones."""
    if name not in DEMOS:
        raise InputError(f"no demo named {name!r}; available: {', '.join(DEMOS)}")
    return resources.files("dctwin.assets").joinpath("demos", f"{name}.json").read_text(encoding="utf-8")


def load_demo(name: str) -> Site:
    """A built-in demo site, validated. Unknown name -> InputError naming the known ones."""
    return loads_layout(demo_text(name), source=f"demo {name}")


# --------------------------------------------------------------------------- synthetic halls

#: geometry of the generated halls (m)
_RACK_W, _RACK_D, _TILE = 0.6, 1.2, 0.6
_AISLE = 1.2              # cold aisle (2 tiles) and hot aisle width
_END_GAP = 1.8            # cross aisle between blocks of rows
_WALL_GAP = 3.0           # clear band along every wall for the perimeter units
_UNIT_W, _UNIT_D, _UNIT_PITCH = 2.4, 0.9, 3.0
#: largest perimeter unit the generator uses (a big downflow CRAH / fan wall): airflow (m3/s), capacity (kW)
_UNIT_MAX_AIRFLOW_M3S, _UNIT_MAX_KW = 25.0, 500.0
#: target per-tile pressure drop used to pick the tile open fraction (Pa)
_TILE_DP_PA = 25.0
#: largest PDU and UPS the generator uses (kW)
_PDU_MAX_KW, _UPS_MAX_KW = 300.0, 2000.0


def _tile_open_fraction(flow_per_tile_m3s: float) -> float:
    """Smallest common tile (25 %, 40 %, 56 % grate) that passes the flow at <= 25 Pa.

    Idelchik thin plate: K(f) = (1/f^2)(1 + 0.5(1-f)^0.75 + 1.414(1-f)^0.375),
    dp = K * rho/2 * (Q/A)^2 with rho = 1.2 kg/m3 and A the gross tile area.
    """
    v = flow_per_tile_m3s / (_TILE * _TILE)
    for f in (0.25, 0.40, 0.56):
        k = (1.0 + 0.5 * (1 - f) ** 0.75 + 1.414 * (1 - f) ** 0.375) / f ** 2
        if k * 0.6 * v * v <= _TILE_DP_PA:
            return f
    return 0.56


def _perimeter_slots(width_m: float, depth_m: float) -> list[tuple[float, float, str]]:
    """Unit positions (x_m, y_m, facing) along the four walls, facing into the hall.

    West and east walls first (units facing E/W), then south and north; corners
    are kept free so units never collide.
    """
    slots: list[tuple[float, float, str]] = []
    n_y = max(0, int((depth_m - 2 * _WALL_GAP) // _UNIT_PITCH))
    y_start = (depth_m - n_y * _UNIT_PITCH) / 2
    n_x = max(0, int((width_m - 2 * _WALL_GAP) // _UNIT_PITCH))
    x_start = (width_m - n_x * _UNIT_PITCH) / 2
    off = (_UNIT_PITCH - _UNIT_W) / 2
    for k in range(n_y):
        y = round(y_start + k * _UNIT_PITCH + off, 6)
        slots.append((0.0, y, "E"))
        slots.append((round(width_m - _UNIT_D, 6), y, "W"))
    for k in range(n_x):
        x = round(x_start + k * _UNIT_PITCH + off, 6)
        slots.append((x, 0.0, "N"))
        slots.append((x, round(depth_m - _UNIT_D, 6), "S"))
    return slots


def _unit_count(total_kw: float, total_airflow_m3s: float) -> int:
    """Units needed so that N carry the load within the size limits, plus one (N+1)."""
    n = max(math.ceil(total_kw / _UNIT_MAX_KW), math.ceil(total_airflow_m3s / _UNIT_MAX_AIRFLOW_M3S), 1)
    return n + 1


#: public names of the builders, shared with the importers (twin/io) that arrange halls the same way
tile_open_fraction = _tile_open_fraction
perimeter_slots = _perimeter_slots
#: the generated halls' geometry (m): rack footprint, tile, aisles, wall band, perimeter unit
RACK_W_M, RACK_D_M, TILE_M, AISLE_M, END_GAP_M, WALL_GAP_M = _RACK_W, _RACK_D, _TILE, _AISLE, _END_GAP, _WALL_GAP
UNIT_W_M, UNIT_D_M = _UNIT_W, _UNIT_D


def crah_sizing(total_kw: float, total_airflow_m3s: float) -> tuple[int, float, float, float]:
    """Perimeter CRAHs for a load: (count, capacity kW, airflow m3/s, fan kW) of each unit.

    N + 1 units (N within the largest unit's capacity and airflow), each sized to 1.05 x its share of
    ``total_kw`` when one is out; the airflow split evenly; fan power at 500 Pa and 60 % efficiency.
    """
    n_units = _unit_count(total_kw, total_airflow_m3s)
    unit_kw = float(math.ceil(total_kw / (n_units - 1) * 1.05))
    unit_airflow = round(total_airflow_m3s / n_units, 3)
    fan_kw = round(unit_airflow * 500.0 / 0.6 / 1e3, 2)  # 500 Pa total pressure, 60 % fan efficiency
    return n_units, unit_kw, unit_airflow, fan_kw


def crah_id(k: int, n_units: int) -> str:
    """Id of perimeter unit ``k`` (0-based) of ``n_units``: ``CRAH-01``, or ``CRAH-001`` from 100 units."""
    return f"CRAH-{k + 1:02d}" if n_units < 100 else f"CRAH-{k + 1:03d}"


def mech_board_kw(n_units: int, fan_kw: float) -> float:
    """Capacity of the mechanical switchboard feeding ``n_units`` fans of ``fan_kw`` (kW, 25 % margin + 10)."""
    return float(math.ceil(n_units * fan_kw * 1.25 + 10))


def ups_kw(load_kw: float) -> float:
    """A UPS module for ``load_kw`` at 80 % loading, in 10 kW steps."""
    return float(math.ceil(load_kw / 0.8 / 10) * 10)


def pdu_kw(load_kw: float) -> float:
    """A PDU for ``load_kw`` at 80 % loading, in 5 kW steps."""
    return float(math.ceil(load_kw / 0.8 / 5) * 5)


def source_nodes(it_kw: float, mech_kw: float) -> list[PowerNode]:
    """The supply of a site: utility and generator through an ATS, and the mechanical switchboard
    ``SWB-M`` on the ATS. Sized for the IT load with 10 % losses plus the mechanical load at 80 %."""
    source_kw = math.ceil((it_kw * 1.1 + mech_kw) / 0.8 / 100) * 100
    return [
        PowerNode(id="UTIL", kind="utility", capacity_kw=float(source_kw * 1.25)),
        PowerNode(id="GEN-1", kind="generator", capacity_kw=float(source_kw), start_delay_s=10.0),
        PowerNode(id="ATS-1", kind="ats", inputs=("UTIL", "GEN-1"), capacity_kw=float(source_kw),
                  transfer_delay_s=0.5),
        PowerNode(id="SWB-M", kind="switchboard", inputs=("ATS-1",), capacity_kw=float(mech_kw)),
    ]


def synthetic_site(n_racks: int, rack_kw: float = 8.0, racks_per_row: int = 20,
                   hall_id: str = "HALL-1", name: Optional[str] = None) -> Site:
    """A raised-floor hall of ``n_racks`` air-cooled racks in rows, with cooling and 2N power.

    Rows come in pairs facing a shared cold aisle of perforated tiles; pairs are
    stacked north-south with hot aisles between them and grouped into blocks
    side by side. Perimeter CRAHs along the walls give N+1 capacity and 1.2x
    the racks' airflow. Power: utility, generator, ATS, 2N UPS modules and
    2N PDUs (each <= 300 kW, sized for its racks at 80 %); racks are
    dual-corded. Deterministic: the same arguments give an equal site.

    Parameters
    ----------
    n_racks : int
        Number of racks, 1..20,000.
    rack_kw : float
        IT power of every rack (kW), 0 < rack_kw <= 60 (air-cooled).
    racks_per_row : int
        Racks per row (the last row may be shorter).
    """
    if isinstance(n_racks, bool) or not isinstance(n_racks, int) or not 1 <= n_racks <= 20000:
        raise InputError(f"synthetic hall: the number of racks must be an integer from 1 to 20000, got {n_racks!r}")
    if not (isinstance(rack_kw, (int, float)) and math.isfinite(rack_kw) and 0 < rack_kw <= 60):
        raise InputError(f"synthetic hall: rack_kw must be above 0 and at most 60 kW for an air-cooled "
                         f"hall, got {rack_kw!r}")
    if not 1 <= racks_per_row <= 200:
        raise InputError(f"synthetic hall: racks_per_row must be from 1 to 200, got {racks_per_row!r}")
    rack_kw = float(rack_kw)
    pair_depth = 2 * _RACK_D + _AISLE
    total_kw = n_racks * rack_kw
    rack_airflow = DEFAULT_AIRFLOW_PER_W * rack_kw * 1e3
    unit_airflow_total = 1.2 * n_racks * rack_airflow
    n_units = _unit_count(total_kw, unit_airflow_total)

    # Blocks of pairs side by side, as square as the perimeter cooling allows: a dense
    # hall needs more wall per rack, so it gets fewer blocks (then shorter rows).
    def plan(per_row: int, cols: int) -> tuple[float, float, int]:
        n_pairs = math.ceil(math.ceil(n_racks / per_row) / 2)
        per_col = math.ceil(n_pairs / cols)
        width = 2 * _WALL_GAP + cols * per_row * _RACK_W + (cols - 1) * _END_GAP
        depth = 2 * _WALL_GAP + per_col * pair_depth + (per_col - 1) * _AISLE
        return width, depth, len(_perimeter_slots(width, depth))

    chosen = None
    per_row = min(racks_per_row, n_racks)
    while chosen is None:
        n_pairs = math.ceil(math.ceil(n_racks / per_row) / 2)
        cols = max(1, round(math.sqrt(n_pairs * (pair_depth + _AISLE) / (per_row * _RACK_W + _END_GAP))))
        for c in range(cols, 0, -1):
            width, depth, n_slots = plan(per_row, c)
            if n_slots >= n_units and max(width, depth) <= MAX_HALL_SIDE_M:
                chosen = (per_row, c)
                break
        if chosen is None:
            if per_row <= 4:
                raise InputError(f"synthetic hall: {n_racks} racks of {rack_kw:g} kW need {n_units} perimeter "
                                 f"cooling units, more than the walls of any hall up to {MAX_HALL_SIDE_M:g} m "
                                 f"hold; use fewer racks or less power per rack")
            per_row = max(4, per_row // 2)
    per_row, cols = chosen
    width, depth, _ = plan(per_row, cols)
    slots = _perimeter_slots(width, depth)
    width, depth = round(width, 6), round(depth, 6)
    n_rows = math.ceil(n_racks / per_row)
    n_pairs = math.ceil(n_rows / 2)
    row_len = per_row * _RACK_W

    hall_racks: list[Rack] = []
    tiles: list[Tile] = []
    # PDU groups: consecutive racks, each group <= _PDU_MAX_KW at 80 % loading
    group = max(1, min(per_row * 2, int(0.8 * _PDU_MAX_KW // rack_kw)))
    n_groups = math.ceil(n_racks / group)
    rows_open = _tile_open_fraction(rack_airflow)
    k = 0
    for p in range(n_pairs):
        col, j = divmod(p, math.ceil(n_pairs / cols))
        x0 = _WALL_GAP + col * (row_len + _END_GAP)
        y0 = _WALL_GAP + j * (pair_depth + _AISLE)
        for side in range(2):
            row = 2 * p + side
            if row >= n_rows:
                break
            count = min(per_row, n_racks - row * per_row)
            y = y0 if side == 0 else y0 + _RACK_D + _AISLE
            facing = "N" if side == 0 else "S"
            for i in range(count):
                g = k // group + 1
                hall_racks.append(Rack(
                    id=f"R-{row + 1:03d}-{i + 1:02d}", x_m=round(x0 + i * _RACK_W, 6), y_m=round(y, 6),
                    facing=facing, it_kw=rack_kw, feeds=(f"PDU-{g:03d}A", f"PDU-{g:03d}B"), row=f"{row + 1:03d}"))
                k += 1
        row_racks = min(per_row, n_racks - 2 * p * per_row)
        for i in range(row_racks):
            for t in range(2):
                tiles.append(Tile(id=f"TILE-{len(tiles) + 1:05d}", x_m=round(x0 + i * _TILE, 6),
                                  y_m=round(y0 + _RACK_D + t * _TILE, 6), open_fraction=rows_open))

    # cooling: N+1 capacity, 1.2x airflow, fans on the mechanical switchboard
    n_units, unit_kw, unit_airflow, fan_kw = crah_sizing(total_kw, unit_airflow_total)
    units = [CoolingUnit(id=crah_id(i, n_units), kind="crah",
                         x_m=x, y_m=y, facing=f, width_m=_UNIT_W, depth_m=_UNIT_D, airflow_m3s=unit_airflow,
                         capacity_kw=unit_kw, supply_setpoint_c=18.0, feeds=("SWB-M",),
                         fan_power_kw=fan_kw)
             for i, (x, y, f) in enumerate(slots[:n_units])]

    # power: utility + generator -> ATS -> 2N UPS modules -> 2N PDUs -> racks
    nodes: list[PowerNode] = []
    group_kw = [0.0] * n_groups
    for i in range(n_racks):
        group_kw[i // group] += rack_kw
    pdu_per_ups = max(1, int(0.8 * _UPS_MAX_KW // (group * rack_kw)))
    n_ups = math.ceil(n_groups / pdu_per_ups)
    mech_kw = mech_board_kw(n_units, fan_kw)
    ups_caps = [ups_kw(sum(group_kw[u * pdu_per_ups:(u + 1) * pdu_per_ups])) for u in range(n_ups)]
    nodes += source_nodes(total_kw, mech_kw)
    for u, cap in enumerate(ups_caps):
        for side in "AB":
            nodes.append(PowerNode(id=f"UPS-{u + 1:02d}{side}", kind="ups", inputs=("ATS-1",),
                                   capacity_kw=cap, battery_kwh=round(cap * 10 / 60, 1)))
    for g in range(n_groups):
        cap = pdu_kw(group_kw[g])
        u = g // pdu_per_ups
        for side in "AB":
            nodes.append(PowerNode(id=f"PDU-{g + 1:03d}{side}", kind="pdu", inputs=(f"UPS-{u + 1:02d}{side}",),
                                   capacity_kw=cap))
    hall = Hall(id=hall_id, width_m=width, depth_m=depth, height_m=3.0 if n_racks <= 2000 else 4.0,
                tile_m=_TILE, plenum="raised_floor", ceiling_return=False, supply_c=18.0,
                racks=hall_racks, cooling_units=units, tiles=tiles)
    return Site(name=name or f"synthetic-{n_racks}", halls=[hall], power_nodes=nodes,
                description=f"synthetic hall: {n_racks} racks of {rack_kw:g} kW in rows of {per_row}")
