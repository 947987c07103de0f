"""Where a new rack (or a row of them) may stand: the space rules of the placement search.

Every position on the hall's tile grid and every facing is a candidate; the rules below decide which
ones keep the floor usable. Footprints, zones and the hall are rectangles ``(x0, y0, x1, y1)`` in m.

* **Room**: inside the walls, on no perforated tile, overlapping no rack or cooling unit
  (:class:`~dctwin.twin.model.validate.FloorIndex`, the editor's rule).
* **Service clearance**: the zone in front of each new rack's intake (:data:`FRONT_CLEARANCE_M` deep,
  the cold aisle a technician works in) and behind its exhaust (:data:`BACK_CLEARANCE_M`) lies inside
  the hall and free of racks and cooling units.
* **Aisles kept**: no new rack stands in the front or back zone of a rack or cooling unit already
  there (an aisle, or the space a unit is serviced from), nor in a contained aisle.
* **Fronts toward a cold aisle** (where the hall has aisles, i.e. any rack, tile or cold containment):
  the new racks' front zone, stretched one rack width along the row at both ends (so a row may grow
  at its end), overlaps a cold zone (the front zone of a rack or in-row unit, a perforated tile, a
  cold containment); no front zone overlaps a hot zone (the back zone of a rack or in-row unit, a hot
  containment) and no back zone a cold one (exhaust blown into a cold aisle heats its neighbours).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.model.commands import plan_row
from dctwin.twin.model.layout import FACINGS, CoolingUnit, Hall, Rack
from dctwin.twin.model.validate import FloorIndex, footprint_text

#: depth of the clear zone in front of a rack's intake (m): a cold aisle of two floor tiles, the
#: TIA-942 minimum for the front of a row (1.2 m, 4 ft)
FRONT_CLEARANCE_M = 1.2
#: depth of the clear zone behind a rack's exhaust (m): the working space in front of live equipment
#: (NEC 110.26, about 0.9 m / 3 ft)
BACK_CLEARANCE_M = 0.9
#: depth of the zone kept free in front of a cooling unit that stands in the room (m): its service side
UNIT_SERVICE_M = 1.2
#: a front zone faces a cold aisle when it overlaps one over this much of its depth (m): a row that
#: grows at its end stays in line with the aisle (half a tile off is a jagged row, not an aisle)
MIN_AISLE_OVERLAP_M = 0.75 * FRONT_CLEARANCE_M
_EPS = 1e-6

Box = tuple[float, float, float, float]


def front_zone(fp: Box, facing: str, depth: float) -> Box:
    """The rectangle ``depth`` deep in front of the face that looks toward ``facing``."""
    x0, y0, x1, y1 = fp
    return {"N": (x0, y1, x1, y1 + depth), "S": (x0, y0 - depth, x1, y0),
            "E": (x1, y0, x1 + depth, y1), "W": (x0 - depth, y0, x0, y1)}[facing]


_BACK = {"N": "S", "S": "N", "E": "W", "W": "E"}


def back_zone(fp: Box, facing: str, depth: float) -> Box:
    """The rectangle ``depth`` deep behind a box that faces ``facing``."""
    return front_zone(fp, _BACK[facing], depth)


def along_row(zone: Box, facing: str, by_m: float) -> Box:
    """``zone`` stretched by ``by_m`` at both ends along a row of racks facing ``facing``."""
    x0, y0, x1, y1 = zone
    if facing in ("N", "S"):
        return (x0 - by_m, y0, x1 + by_m, y1)
    return (x0, y0 - by_m, x1, y1 + by_m)


def zones_of(rects: np.ndarray, facing: str, depth: float, front: bool = True) -> np.ndarray:
    """:func:`front_zone` (or :func:`back_zone`) of every row of ``rects`` [n, 4] at once."""
    f = facing if front else _BACK[facing]
    x0, y0, x1, y1 = (rects[:, k] for k in range(4))
    out = np.empty_like(rects)
    if f == "N":
        out[:] = np.stack([x0, y1, x1, y1 + depth], axis=1)
    elif f == "S":
        out[:] = np.stack([x0, y0 - depth, x1, y0], axis=1)
    elif f == "E":
        out[:] = np.stack([x1, y0, x1 + depth, y1], axis=1)
    else:
        out[:] = np.stack([x0 - depth, y0, x0, y1], axis=1)
    return out


class CoverIndex:
    """The union of a set of rectangles, for "does this rectangle overlap any of them?" asked of a whole
    floor of rectangles at once: the rectangles' edges cut the plane into a grid of cells, covered cells
    are marked, and a summed-area table answers each question in O(1)."""

    def __init__(self, rects: np.ndarray):
        rects = np.round(np.asarray(rects, float).reshape(-1, 4), 9)
        self.xs = np.unique(rects[:, [0, 2]])
        self.ys = np.unique(rects[:, [1, 3]])
        mark = np.zeros((max(len(self.xs) - 1, 0), max(len(self.ys) - 1, 0)), np.int32)
        i0, i1 = np.searchsorted(self.xs, rects[:, 0]), np.searchsorted(self.xs, rects[:, 2])
        j0, j1 = np.searchsorted(self.ys, rects[:, 1]), np.searchsorted(self.ys, rects[:, 3])
        for a, b, c, d in zip(i0.tolist(), i1.tolist(), j0.tolist(), j1.tolist()):
            mark[a:b, c:d] = 1
        self.sat = np.zeros((mark.shape[0] + 1, mark.shape[1] + 1), np.int64)
        self.sat[1:, 1:] = mark.cumsum(0).cumsum(1)

    def any_overlap(self, q: np.ndarray) -> np.ndarray:
        """bool [n]: whether each rectangle of ``q`` [n, 4] overlaps the union by more than the tolerance."""
        q = np.asarray(q, float).reshape(-1, 4)
        nx, ny = self.sat.shape[0] - 1, self.sat.shape[1] - 1
        if nx <= 0 or ny <= 0 or not len(q):
            return np.zeros(len(q), bool)
        i0 = np.clip(np.searchsorted(self.xs, q[:, 0] + _EPS, "right") - 1, 0, nx)
        i1 = np.clip(np.searchsorted(self.xs, q[:, 2] - _EPS, "left"), 0, nx)
        j0 = np.clip(np.searchsorted(self.ys, q[:, 1] + _EPS, "right") - 1, 0, ny)
        j1 = np.clip(np.searchsorted(self.ys, q[:, 3] - _EPS, "left"), 0, ny)
        i1, j1 = np.maximum(i1, i0), np.maximum(j1, j0)
        s = self.sat
        return (s[i1, j1] - s[i0, j1] - s[i1, j0] + s[i0, j0]) > 0


def _faces_cold(cold: np.ndarray, bands: np.ndarray, facing: str, stretch_m: float) -> np.ndarray:
    """bool [n]: whether each front band, stretched along its row, overlaps a cold zone over at least
    :data:`MIN_AISLE_OVERLAP_M` of its depth (brute force: asked only of the few spots left)."""
    out = np.zeros(len(bands), bool)
    if not len(bands) or not len(cold):
        return out
    grown = bands.copy()
    k0, k1 = (0, 2) if facing in ("N", "S") else (1, 3)
    d0, d1 = (1, 3) if facing in ("N", "S") else (0, 2)
    grown[:, k0] -= stretch_m
    grown[:, k1] += stretch_m
    for start in range(0, len(bands), 256):
        g, b = grown[start:start + 256, None, :], bands[start:start + 256, None, :]
        c = cold[None, :, :]
        along = np.minimum(g[..., k1], c[..., k1]) - np.maximum(g[..., k0], c[..., k0])
        depth = np.minimum(b[..., d1], c[..., d1]) - np.maximum(b[..., d0], c[..., d0])
        out[start:start + 256] = ((along > _EPS) & (depth >= MIN_AISLE_OVERLAP_M - _EPS)).any(axis=1)
    return out


def _overlaps(rects: np.ndarray, box: Box) -> np.ndarray:
    """Which rows of ``rects`` [n, 4] overlap ``box`` by more than the tolerance (bool [n])."""
    if len(rects) == 0:
        return np.zeros(0, bool)
    return ((np.minimum(rects[:, 2], box[2]) - np.maximum(rects[:, 0], box[0]) > _EPS)
            & (np.minimum(rects[:, 3], box[3]) - np.maximum(rects[:, 1], box[1]) > _EPS))


def _inside(hall: Hall, box: Box) -> bool:
    return box[0] >= -_EPS and box[1] >= -_EPS and box[2] <= hall.width_m + _EPS and box[3] <= hall.depth_m + _EPS


@dataclass
class _Zones:
    rects: np.ndarray  # [n, 4]
    names: list[str]   # what each is, in words ("the cold aisle in front of R-A01")

    @classmethod
    def of(cls, items: list[tuple[Box, str]]) -> "_Zones":
        return cls(np.array([b for b, _ in items], float).reshape(-1, 4), [n for _, n in items])

    def first_hit(self, box: Box) -> Optional[str]:
        hit = np.flatnonzero(_overlaps(self.rects, box))
        return self.names[int(hit[0])] if len(hit) else None

    def any_hit(self, box: Box) -> bool:
        return bool(_overlaps(self.rects, box).any())


class SpaceRules:
    """The space rules of one hall (see the module docstring), for many candidate questions."""

    def __init__(self, hall: Hall):
        self.hall = hall
        self.floor = FloorIndex(hall)
        solids = [(el.footprint(), el.id) for el in (*hall.racks, *hall.cooling_units)
                  if not (isinstance(el, CoolingUnit) and el.kind == "rdhx")]
        self.solids = _Zones.of(solids)
        #: everything a rack may not stand on: racks, units (but rear doors) and perforated tiles
        self.floor_taken = np.array([hall.footprint(el) for el in (*hall.racks, *hall.cooling_units, *hall.tiles)
                                     if not (isinstance(el, CoolingUnit) and el.kind == "rdhx")], float).reshape(-1, 4)
        kept: list[tuple[Box, str]] = []
        cold: list[tuple[Box, str]] = []
        hot: list[tuple[Box, str]] = []
        for r in hall.racks:
            fp = r.footprint()
            f, b = front_zone(fp, r.facing, FRONT_CLEARANCE_M), back_zone(fp, r.facing, BACK_CLEARANCE_M)
            kept += [(f, f"the aisle in front of {r.id}"), (b, f"the aisle behind {r.id}")]
            cold.append((f, f"the cold aisle in front of {r.id}"))
            hot.append((b, f"the hot aisle behind {r.id}"))
        for u in hall.cooling_units:
            if u.kind in ("rdhx", "cdu"):
                continue
            fp = u.footprint()
            f = front_zone(fp, u.facing, UNIT_SERVICE_M)
            kept.append((f, f"the service space in front of {u.id}"))
            if u.kind == "inrow":  # stands in a row: supplies the cold aisle, breathes from the hot one
                b = back_zone(fp, u.facing, BACK_CLEARANCE_M)
                kept.append((b, f"the aisle behind {u.id}"))
                cold.append((f, f"the cold aisle in front of {u.id}"))
                hot.append((b, f"the hot aisle behind {u.id}"))
        for z in hall.containments:
            fp = z.footprint()
            kept.append((fp, f"contained {z.kind} aisle {z.id}"))
            (cold if z.kind == "cold" else hot).append((fp, f"contained {z.kind} aisle {z.id}"))
        for t in hall.tiles:
            cold.append((hall.footprint(t), f"perforated tile {t.id}"))
        self.kept, self.cold, self.hot = _Zones.of(kept), _Zones.of(cold), _Zones.of(hot)
        #: the hall has aisles: new racks must face a cold one
        self.has_aisles = bool(len(self.cold.rects))
        self._index = {"floor": CoverIndex(self.floor_taken), "kept": CoverIndex(self.kept.rects),
                       "solids": CoverIndex(self.solids.rects), "hot": CoverIndex(self.hot.rects),
                       "cold": CoverIndex(self.cold.rects)}

    def fits(self, rows: np.ndarray, facing: str, width_m: float) -> np.ndarray:
        """bool [n]: which new rows, given as rectangles [n, 4] (the footprints of their racks side by
        side, all facing ``facing``, each ``width_m`` wide), keep every rule; the same answer as
        :meth:`problem` == "", for a whole floor at once."""
        hall = self.hall
        n = len(rows)
        if n == 0:
            return np.zeros(0, bool)
        front = zones_of(rows, facing, FRONT_CLEARANCE_M)
        back = zones_of(rows, facing, BACK_CLEARANCE_M, front=False)
        ok = np.ones(n, bool)
        for r in (rows, front, back):
            ok &= ((r[:, 0] >= -_EPS) & (r[:, 1] >= -_EPS) & (r[:, 2] <= hall.width_m + _EPS)
                   & (r[:, 3] <= hall.depth_m + _EPS))
        idx = self._index
        ok &= ~idx["floor"].any_overlap(rows) & ~idx["kept"].any_overlap(rows)
        ok &= ~idx["solids"].any_overlap(front) & ~idx["solids"].any_overlap(back)
        if self.has_aisles:
            ok &= ~idx["hot"].any_overlap(front) & ~idx["cold"].any_overlap(back)
            left = np.flatnonzero(ok)
            ok[left] = _faces_cold(self.cold.rects, front[left], facing, width_m)
        return ok

    def problem(self, racks: Sequence[Rack]) -> str:
        """Why the racks (a new row) cannot stand where they are ("" when they can)."""
        hall = self.hall
        reason = self.floor.problem(racks)
        if reason:
            return "space: " + reason
        fronts, backs = [], []
        for r in racks:
            fp = r.footprint()
            front = front_zone(fp, r.facing, FRONT_CLEARANCE_M)
            back = back_zone(fp, r.facing, BACK_CLEARANCE_M)
            fronts.append(front)
            backs.append(back)
            for zone, what in ((front, "front"), (back, "back")):
                if not _inside(hall, zone):
                    return (f"space: the service clearance at the {what} of {r.id or 'the rack'} "
                            f"({footprint_text(zone)}) reaches past the walls of hall {hall.id}")
                hit = self.solids.first_hit(zone)
                if hit is not None:
                    return f"space: {hit} stands in the service clearance at the {what} of {r.id or 'the rack'}"
            hit = self.kept.first_hit(fp)
            if hit is not None:
                return f"space: {r.id or 'the rack'} would stand in {hit}"
        if self.has_aisles:
            facing = racks[0].facing
            band = (min(f[0] for f in fronts), min(f[1] for f in fronts), max(f[2] for f in fronts),
                    max(f[3] for f in fronts))
            if not _faces_cold(self.cold.rects, np.array([band]), facing, racks[0].width_m)[0]:
                return "space: its front would face no cold aisle"
            for f in fronts:
                hit = self.hot.first_hit(f)
                if hit is not None:
                    return f"space: its front would breathe from {hit}"
            for b in backs:
                hit = self.cold.first_hit(b)
                if hit is not None:
                    return f"space: its exhaust would blow into {hit}"
        return ""


@dataclass(frozen=True)
class Spot:
    """A candidate: where the first rack of the new row stands and which way the row faces."""

    x_m: float
    y_m: float
    facing: str


def grid_spots(hall: Hall, prototype: Rack, facings: Iterable[str] = FACINGS) -> list[Spot]:
    """Every tile-grid corner of the hall where ``prototype`` turned to each facing fits inside the walls."""
    tile = hall.tile_m
    out = []
    for f in facings:
        sx, sy = dataclasses.replace(prototype, facing=f).size_xy()
        nx = int(math.floor((hall.width_m - sx) / tile + 1e-9)) + 1
        ny = int(math.floor((hall.depth_m - sy) / tile + 1e-9)) + 1
        for i in range(max(nx, 0)):
            for j in range(max(ny, 0)):
                out.append(Spot(round(i * tile, 9), round(j * tile, 9), f))
    return out


def row_rects(hall: Hall, prototype: Rack, facing: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Every tile-grid corner (x_m, y_m) [n, 2] where a row of ``count`` racks like ``prototype`` facing
    ``facing`` fits inside the walls, and the row's rectangle [n, 4] there (the racks side by side)."""
    tile = hall.tile_m
    sx, sy = dataclasses.replace(prototype, facing=facing).size_xy()
    lx, ly = (sx * count, sy) if facing in ("N", "S") else (sx, sy * count)
    nx = int(math.floor((hall.width_m - lx) / tile + 1e-9)) + 1
    ny = int(math.floor((hall.depth_m - ly) / tile + 1e-9)) + 1
    if nx <= 0 or ny <= 0:
        return np.zeros((0, 2)), np.zeros((0, 4))
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    xy = np.round(np.stack([ii.ravel() * tile, jj.ravel() * tile], axis=1), 9)
    rects = np.concatenate([xy, xy + np.array([lx, ly])], axis=1)
    return xy, rects


def row_at(prototype: Rack, spot: Spot, count: int) -> list[Rack]:
    """The ``count`` racks of a new row whose first rack stands at ``spot`` (ids left empty)."""
    return plan_row(dataclasses.replace(prototype, facing=spot.facing), spot.x_m, spot.y_m, count)
