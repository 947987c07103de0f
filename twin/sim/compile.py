"""Compile one hall of a layout to an :class:`AirPlant`: the air grid, its masks and ports.

The air domain is the room above the floor: ``0..width_m`` (x), ``0..depth_m``
(y), ``0..height_m`` (z). A raised-floor plenum and a ceiling plenum are not
gridded; perforated tiles are velocity inlets in the floor, return grilles
outlets in the ceiling.

Grid: a staggered (MAC) grid of ``nx * ny * nz`` cells of ``dx * dy * dz``.
Velocities live on faces. Faces are numbered globally: first the x-faces
(shape ``(nx+1, ny, nz)``, C order), then the y-faces ``(nx, ny+1, nz)``, then
the z-faces ``(nx, ny, nz+1)``. Cells are numbered in C order of
``(nx, ny, nz)``.

Solids: racks, cooling units (except rear-door heat exchangers, which hang
on their rack) and obstructions (columns, walls) are solid cells from the floor to their height; a cell is solid
when its centre lies inside the box (an element smaller than a cell takes the
cell under its centre).

Face conductance ``cond`` (one value per face): 1 between two fluid cells,
0 on walls, solids and the domain boundary, and the open-area fraction on
containment panels. A containment panel moves no momentum; it lets through
only what the pressure pushes, through the open area where the leaks are: the
door gaps (``door_gap_m2`` of each end door, from the floor up: the undercut),
the roof gaps (``roof_gap_m2`` on the roof's rack-lined edges) and the seams of
the panels (:data:`PANEL_LEAK` everywhere else), which keeps every contained zone
solvable whatever its port flows. Panels stand on the zone's
perimeter (on grid lines) wherever two air cells meet there (a rack front or back on
the perimeter is already solid), from the floor to ``height_m``: by default the
tallest rack touching the zone for a cold aisle (with a roof) and the ceiling for a
hot aisle (a chimney to the ceiling return); a zone lower than the ceiling gets a roof.

Ports (CSR: ``offsets``, then per face ``face`` (global face id), ``cell``
(flat id of the fluid cell it opens into), ``sign`` (+1 when "into the room"
is the +axis direction) and ``area`` (m2)):

* ``rack_in`` / ``rack_out``: each rack's front (intake) and back (exhaust) faces;
* ``unit_in`` / ``unit_out``: each cooling unit's return (intake) and supply faces
  in the room. Perimeter CRAH/CRAC in a raised-floor hall: return through the top
  face (none with a ceiling return: the grilles take it), supply into the plenum
  (no room face). Without a raised floor: supply through the front face, return
  through the top face (or the grilles). In-row: return through the rear face, supply
  through the front face. rdhx and cdu: no room faces;
* ``tile``: each perforated tile's floor faces; ``grille``: each ceiling grille's faces;
* ``leak``: one port over every fluid floor face that no tile covers. The plenum's
  leakage (``hall.leakage_fraction`` of the units' plenum supply) enters the room
  there as a small uniform floor inflow at the plenum temperature, so mass closes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dctwin.twin.errors import LayoutError
from dctwin.twin.model.layout import Hall, Site

#: Open-area fraction of a sealed containment panel (-): its seams. Panels block momentum; the
#: pressure pushes the small balance of a contained zone through the leaks. Containment
#: specifications ask for at most about 3 % open area over the whole enclosure, doors and roof
#: included (docs/validation.md, "Leaks"); the seams of the panels themselves are taken as 0.5 %.
PANEL_LEAK = 0.005
#: Gap area of one containment end door when the layout gives none (m2): a 1.2 x 2.1 m sliding
#: door with a 10 mm undercut (0.012 m2) and 3 mm gaps at its sides and top (0.016 m2).
DOOR_GAP_M2 = 0.03
#: Gap along a containment roof's rack-lined edges when the layout gives none (m2 per m of edge):
#: a 5 mm gap between the roof panels and the rack tops.
ROOF_GAP_M2_PER_M = 0.005
#: Default grid by hall size: (largest rack count, horizontal cell m, (min, max) layer height m).
#: Room B1 against its CFD: 0.3 m horizontal with layers of 0.3 / 0.2 / 0.125 / 0.1 m gave
#: 1.85 / 1.70 / 1.52 / 1.44 K RMS (uniform power) and 2.87 / 2.67 / 2.41 / 2.30 K (mixed
#: power); 0.15 m horizontal with 0.125 m layers 1.60 / 2.31 K at four times the cost.
#: Vertical resolution of the tile jets and the rack tops is what counts, so rooms get
#: fine layers; halls trade accuracy for speed.
GRID_TIERS = ((60, 0.3, (0.1, 0.13)), (400, 0.3, (0.2, 0.25)), (None, 0.6, (0.25, 0.3)))
GRID_SMALL_M = 0.3
#: Default containment height when no rack stands at the zone (m).
DEFAULT_CONTAINMENT_H_M = 2.0

PLENUM_UNIT_KINDS = ("crah", "crac")


@dataclass
class Ports:
    """Faces of a group of ports in CSR form; port ``p`` owns ``offsets[p]:offsets[p+1]``."""

    offsets: np.ndarray  # int64 (n_ports + 1,)
    face: np.ndarray  # int64 global face id
    cell: np.ndarray  # int64 flat fluid-cell id the face opens into
    sign: np.ndarray  # float64 +1/-1: direction "into the room" along the face axis
    area: np.ndarray  # float64 m2
    _pof: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    _parea: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    def port_area(self) -> np.ndarray:
        """Open area of each port (m2); do not modify the returned array."""
        if self._parea is None:
            self._parea = np.bincount(self.port_of_face(), weights=self.area, minlength=self.n)[: self.n]
        return self._parea

    def port_of_face(self) -> np.ndarray:
        """Port index of each face (int64); do not modify the returned array."""
        if self._pof is None:
            self._pof = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.offsets))
        return self._pof

    def faces_of(self, p: int) -> slice:
        return slice(int(self.offsets[p]), int(self.offsets[p + 1]))


def _ports_from_counts(faces: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], counts: np.ndarray) -> Ports:
    """Ports of the faces of every port one after the other, ``counts[p]`` of them for port ``p``."""
    if len(counts) == 0:
        return _ports_from_lists([])
    return Ports(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), faces[0].astype(np.int64),
                 faces[1].astype(np.int64), faces[2].astype(np.float64), faces[3].astype(np.float64))


def _ports_from_lists(faces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> Ports:
    n = len(faces)
    counts = np.array([len(f[0]) for f in faces], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if n and offsets[-1]:
        face = np.concatenate([f[0] for f in faces]).astype(np.int64)
        cell = np.concatenate([f[1] for f in faces]).astype(np.int64)
        sign = np.concatenate([f[2] for f in faces]).astype(np.float64)
        area = np.concatenate([f[3] for f in faces]).astype(np.float64)
    else:
        face = np.zeros(0, np.int64)
        cell = np.zeros(0, np.int64)
        sign = np.zeros(0)
        area = np.zeros(0)
    return Ports(offsets, face, cell, sign, area)


@dataclass
class AirPlant:
    """The compiled air side of one hall (arrays only; cheap to rebuild after an edit)."""

    hall_id: str
    nx: int
    ny: int
    nz: int
    dx: float
    dy: float
    dz: float
    solid: np.ndarray  # bool (nx, ny, nz)
    cond: np.ndarray  # float64 (n_faces,) face conductance 0..1
    wall_dist_m: np.ndarray  # float64 (nx, ny, nz) distance to the nearest wall along the axes
    component: np.ndarray  # int64 (nx, ny, nz) connected fluid region, -1 in solids
    n_components: int
    rack_ids: list[str]
    unit_ids: list[str]
    unit_kinds: list[str]
    rack_in: Ports
    rack_out: Ports
    unit_in: Ports
    unit_out: Ports
    tile: Ports
    grille: Ports
    leak: Ports
    tile_ids: list[str]
    tile_open_fraction: np.ndarray
    tile_area_m2: np.ndarray  # nominal (layout) tile areas
    grille_ids: list[str]
    unit_plenum: np.ndarray  # bool per unit: supplies the raised-floor plenum
    unit_balancing: np.ndarray  # bool per unit: its return takes the room's balance (top face)
    rdhx_rack: np.ndarray  # int64 per unit: rack index a rear door cools, else -1
    raised_floor: bool
    ceiling_return: bool
    leakage_fraction: float
    supply_c: float
    height_m: float
    width_m: float
    depth_m: float
    #: contained zones (ids of the containments that enclose air), the zone of every cell (flat,
    #: -1 outside every zone) and each zone's open leak area (m2: door and roof gaps, panel seams)
    zone_ids: list[str] = field(default_factory=list)
    zone_cell: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    zone_leak_m2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    warnings: list[str] = field(default_factory=list)
    compile_s: float = 0.0
    cache: dict = field(default_factory=dict)  # solver caches (preconditioner...), owned by the solvers

    # ---- sizes and index helpers
    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.nx, self.ny, self.nz)

    @property
    def n_cells(self) -> int:
        return self.nx * self.ny * self.nz

    @property
    def nfx(self) -> int:
        return (self.nx + 1) * self.ny * self.nz

    @property
    def nfy(self) -> int:
        return self.nx * (self.ny + 1) * self.nz

    @property
    def nfz(self) -> int:
        return self.nx * self.ny * (self.nz + 1)

    @property
    def n_faces(self) -> int:
        return self.nfx + self.nfy + self.nfz

    @property
    def cell_volume_m3(self) -> float:
        return self.dx * self.dy * self.dz

    @property
    def fluid_volume_m3(self) -> float:
        return float((~self.solid).sum()) * self.cell_volume_m3

    def face_views(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views of a flat per-face array as (x, y, z) face arrays."""
        nx, ny, nz = self.shape
        a, b = self.nfx, self.nfx + self.nfy
        return (arr[:a].reshape(nx + 1, ny, nz), arr[a:b].reshape(nx, ny + 1, nz),
                arr[b:].reshape(nx, ny, nz + 1))

    n_racks = property(lambda self: len(self.rack_ids), doc="Racks in the hall.")
    n_units = property(lambda self: len(self.unit_ids), doc="Cooling units in the hall.")


# --------------------------------------------------------------------------- helpers


def _span(lo: float, hi: float, h: float, n: int) -> tuple[int, int]:
    """Cells whose centre lies in [lo, hi); at least the cell under the middle."""
    i0 = max(0, int(math.ceil(lo / h - 0.5 - 1e-9)))
    i1 = min(n, int(math.ceil(hi / h - 0.5 - 1e-9)))
    if i1 <= i0:
        i0 = min(max(int(math.floor(0.5 * (lo + hi) / h)), 0), n - 1)
        i1 = i0 + 1
    return i0, i1


def default_grid_m(hall: Hall) -> tuple[float, float]:
    """(horizontal, vertical) cell size (m) chosen by hall size (:data:`GRID_TIERS`).

    The layer height is the coarsest in the tier's range that divides the hall height
    and puts the most common rack top on a grid line (or closest to one): a rack top
    off by half a layer moved B1's row-end inlets by about 0.4 K.
    """
    if hall.grid_m is not None:
        return float(hall.grid_m), float(hall.grid_m)
    n_racks = len(hall.racks)
    for limit, hxy, (lo, hi) in GRID_TIERS:
        if limit is None or n_racks <= limit:
            break
    H = float(hall.height_m)
    if not (H > 0 and math.isfinite(H)):
        return hxy, hi
    heights = [round(r.height_m, 3) for r in hall.racks if r.height_m > 0]
    rack_h = max(sorted(set(heights)), key=heights.count) if heights else None
    best, best_err = None, None
    for n in range(max(1, int(math.ceil(H / hi - 1e-9))), max(1, int(math.floor(H / lo + 1e-9))) + 1):
        dz = H / n
        err = 0.0 if rack_h is None else abs(rack_h / dz - round(rack_h / dz))
        if best is None or err < best_err - 1e-6:
            best, best_err = dz, err
    if best is None:
        best = H / max(1, int(math.ceil(H / hi - 1e-9)))
    return hxy, best


class _Builder:
    def __init__(self, hall: Hall, hxy: float, hz: float):
        self.hall = hall
        self.nx = max(1, int(round(hall.width_m / hxy)))
        self.ny = max(1, int(round(hall.depth_m / hxy)))
        self.nz = max(1, int(round(hall.height_m / hz)))
        self.dx = hall.width_m / self.nx
        self.dy = hall.depth_m / self.ny
        self.dz = hall.height_m / self.nz
        self.solid = np.zeros((self.nx, self.ny, self.nz), dtype=bool)
        self.warnings: list[str] = []

    def box(self, x0, y0, x1, y1, h) -> tuple[int, int, int, int, int]:
        i0, i1 = _span(x0, x1, self.dx, self.nx)
        j0, j1 = _span(y0, y1, self.dy, self.ny)
        k1 = min(self.nz, max(1, int(math.ceil(h / self.dz - 0.5 - 1e-9))))
        return i0, i1, j0, j1, k1

    # global face ids
    def fid_x(self, i, j, k):
        return (i * self.ny + j) * self.nz + k

    def fid_y(self, i, j, k):
        return (self.nx + 1) * self.ny * self.nz + (i * (self.ny + 1) + j) * self.nz + k

    def fid_z(self, i, j, k):
        return ((self.nx + 1) * self.ny * self.nz + self.nx * (self.ny + 1) * self.nz
                + (i * self.ny + j) * (self.nz + 1) + k)

    def cid(self, i, j, k):
        return (i * self.ny + j) * self.nz + k

    def side_faces(self, b, side: str):
        """Faces of box ``b`` on ``side`` (N/E/S/W/T) that open into a fluid cell: (global face ids,
        the fluid cells they open into, +1/-1 as "into the room" runs along the axis, areas m2)."""
        i0, i1, j0, j1, k1 = b
        axis, high, t0, t1 = _SIDES[side]
        span = ((i0, i1), (j0, j1), (0, k1))
        lo, hi = span[axis]
        face, cell, sgn = (hi, hi, 1.0) if high else (lo, lo - 1, -1.0)
        if not 0 <= cell < self.solid.shape[axis]:
            return _empty()
        a, b = np.arange(*span[t0]), np.arange(*span[t1])
        A, B = np.repeat(a, len(b)), np.tile(b, len(a))  # every (a, b) pair, b fastest
        ok = ~self.solid[_at(axis, cell, A, B)]
        A, B = A[ok], B[ok]
        fid = self.fid_x if axis == 0 else self.fid_y if axis == 1 else self.fid_z
        h = (self.dx, self.dy, self.dz)
        return (fid(*_at(axis, face, A, B)), self.cid(*_at(axis, cell, A, B)), np.full(len(A), sgn),
                np.full(len(A), h[t0] * h[t1]))


    def sides_faces(self, boxes: list[tuple[int, int, int, int, int]], sides: list[str]) -> tuple:
        """:meth:`side_faces` of many boxes at once, each on its side: (the faces of every box one after the
        other, as :meth:`side_faces` gives them, and how many faces each box has). The same arrays as
        concatenating ``side_faces(box, side)`` box by box, without a numpy call per box (a 200-rack
        hall's compile spent most of its time there)."""
        n = len(boxes)
        if n == 0:
            return _empty(), np.zeros(0, np.int64)
        bx = np.array(boxes, dtype=np.int64).reshape(n, 5)
        code = np.array([_SIDES[s] for s in sides], dtype=np.int64).reshape(n, 4)
        axis, high, t0, t1 = code.T
        lo_hi = np.stack([bx[:, 0:2], bx[:, 2:4], np.stack([np.zeros(n, np.int64), bx[:, 4]], axis=1)], axis=1)
        rows = np.arange(n)
        lo, hi = lo_hi[rows, axis, 0], lo_hi[rows, axis, 1]
        face = np.where(high == 1, hi, lo)
        cell = np.where(high == 1, hi, lo - 1)
        size = np.array(self.solid.shape, dtype=np.int64)
        a0, a1 = lo_hi[rows, t0, 0], lo_hi[rows, t0, 1]
        b0, b1 = lo_hi[rows, t1, 0], lo_hi[rows, t1, 1]
        nb = np.maximum(b1 - b0, 0)
        count = np.maximum(a1 - a0, 0) * nb
        count[(cell < 0) | (cell >= size[axis])] = 0
        owner = np.repeat(rows, count)
        start = np.zeros(n, np.int64)
        np.cumsum(count[:-1], out=start[1:])
        p = np.arange(int(count.sum()), dtype=np.int64) - start[owner]
        A = a0[owner] + p // nb[owner]  # every (a, b) pair of a box, b fastest
        B = b0[owner] + p % nb[owner]
        ax = axis[owner]
        on = cell[owner]
        ci = np.where(ax == 0, on, A)
        cj = np.where(ax == 0, A, np.where(ax == 1, on, B))
        ck = np.where(ax == 2, on, B)
        ok = ~self.solid[ci, cj, ck]
        owner, ax, ci, cj, ck = owner[ok], ax[ok], ci[ok], cj[ok], ck[ok]
        fi = np.where(ax == 0, face[owner], ci)
        fj = np.where(ax == 1, face[owner], cj)
        fk = np.where(ax == 2, face[owner], ck)
        fid = np.where(ax == 0, self.fid_x(fi, fj, fk),
                       np.where(ax == 1, self.fid_y(fi, fj, fk), self.fid_z(fi, fj, fk)))
        h = (self.dx, self.dy, self.dz)
        area = np.array([h[a] * h[b] for a, b in zip(t0.tolist(), t1.tolist())])
        sign = np.where(high == 1, 1.0, -1.0)
        return ((fid, self.cid(ci, cj, ck), sign[owner], area[owner]),
                np.bincount(owner, minlength=n).astype(np.int64))


#: side of a box -> (the axis across it, whether it is the high side, the two axes along it)
_SIDES = {"W": (0, False, 1, 2), "E": (0, True, 1, 2), "S": (1, False, 0, 2), "N": (1, True, 0, 2),
          "T": (2, True, 0, 1)}


def _at(axis: int, n: int, a, b) -> tuple:
    """(i, j, k) with index ``n`` on ``axis`` and ``a``, ``b`` on the other two axes, in order."""
    return (n, a, b) if axis == 0 else (a, n, b) if axis == 1 else (a, b, n)


def _empty():
    return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


_OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}


def compile_hall(site: Site, hall_id: Optional[str] = None,
                 grid_m: Optional[float | tuple[float, float]] = None) -> AirPlant:
    """Compile the air side of one hall of ``site``.

    Parameters
    ----------
    site : the layout.
    hall_id : hall to compile (default: the first hall).
    grid_m : cell size (m), or (horizontal, vertical) sizes, overriding ``hall.grid_m``
        and the size-based default (:func:`default_grid_m`: 0.3 m x about 0.125 m up to
        60 racks, 0.3 x 0.25 m up to 400, 0.6 x 0.3 m above).

    Returns
    -------
    AirPlant. ``ap.warnings`` lists elements that cannot breathe (e.g. a rack whose
    front is against a wall); their airflow is set to zero by the flow solver.
    """
    t0 = time.perf_counter()
    if not site.halls:
        raise LayoutError("the site has no hall")
    if hall_id is None:
        hall = site.halls[0]
    else:
        try:
            hall = site.get_hall(hall_id)
        except KeyError:
            raise LayoutError(f"no hall {hall_id!r} in the site") from None
    if grid_m is not None:
        hxy, hz = (grid_m, grid_m) if np.ndim(grid_m) == 0 else (grid_m[0], grid_m[1])
        hxy, hz = float(hxy), float(hz)
        if not (0.05 <= hxy <= 3.0 and 0.05 <= hz <= 3.0):
            raise LayoutError(f"grid_m {grid_m!r} m is out of range (0.05..3 m)")
    else:
        hxy, hz = default_grid_m(hall)
    for name, v in (("width_m", hall.width_m), ("depth_m", hall.depth_m), ("height_m", hall.height_m)):
        if not (v > 0 and math.isfinite(v)):
            raise LayoutError(f"{hall.id}.{name}: must be a positive number, got {v!r}")
    b = _Builder(hall, hxy, hz)
    n_cells_max = 20_000_000
    if b.nx * b.ny * b.nz > n_cells_max:
        raise LayoutError(f"{hall.id}: the air grid would have {b.nx * b.ny * b.nz:,} cells "
                          f"(more than {n_cells_max:,}); set a coarser grid_m")
    raised = hall.plenum == "raised_floor"
    ceiling_return = bool(hall.ceiling_return)

    # ---- solids
    rack_boxes = []
    for r in hall.racks:
        x0, y0, x1, y1 = r.footprint()
        bx = b.box(x0, y0, x1, y1, r.height_m)
        rack_boxes.append(bx)
        b.solid[bx[0]:bx[1], bx[2]:bx[3], 0:bx[4]] = True
    unit_boxes: list[Optional[tuple]] = []
    for u in hall.cooling_units:
        if u.kind == "rdhx":
            unit_boxes.append(None)
            continue
        x0, y0, x1, y1 = u.footprint()
        bx = b.box(x0, y0, x1, y1, u.height_m)
        unit_boxes.append(bx)
        b.solid[bx[0]:bx[1], bx[2]:bx[3], 0:bx[4]] = True
    for ob in getattr(hall, "obstructions", ()):  # columns and walls: solid from the floor up
        bx = b.box(*ob.footprint(), hall.height_m if ob.height_m is None else ob.height_m)
        b.solid[bx[0]:bx[1], bx[2]:bx[3], 0:bx[4]] = True

    # ---- face conductance: 1 between fluid cells
    nx, ny, nz = b.nx, b.ny, b.nz
    fluid = ~b.solid
    cx = np.zeros((nx + 1, ny, nz))
    cy = np.zeros((nx, ny + 1, nz))
    cz = np.zeros((nx, ny, nz + 1))
    cx[1:nx] = fluid[:-1] & fluid[1:]
    cy[:, 1:ny] = fluid[:, :-1] & fluid[:, 1:]
    cz[:, :, 1:nz] = fluid[:, :, :-1] & fluid[:, :, 1:]

    # ---- containment panels
    rack_h = [r.height_m for r in hall.racks]
    zone_cell = np.full((nx, ny, nz), -1, dtype=np.int32)
    zone_ids: list[str] = []
    zone_boxes: list[tuple[int, int, int, int, int]] = []
    for z in hall.containments:
        x0, y0, x1, y1 = z.footprint()
        ia, ib = int(round(x0 / b.dx)), int(round(x1 / b.dx))
        ja, jb = int(round(y0 / b.dy)), int(round(y1 / b.dy))
        ia, ib = min(max(ia, 0), nx), min(max(ib, 0), nx)
        ja, jb = min(max(ja, 0), ny), min(max(jb, 0), ny)
        if ib <= ia or jb <= ja:
            b.warnings.append(f"{z.id}: containment is smaller than one grid cell; ignored")
            continue
        if z.height_m is not None:
            h = z.height_m
        elif z.kind == "hot":
            h = hall.height_m
        else:
            near = [rh for r, rh in zip(hall.racks, rack_h) if _touches(r.footprint(), (x0, y0, x1, y1))]
            h = max(near) if near else DEFAULT_CONTAINMENT_H_M
        kh = min(nz, max(1, int(round(h / b.dz))))
        along_x = _aisle_along_x(hall, (x0, y0, x1, y1))
        door_gap = DOOR_GAP_M2 if z.door_gap_m2 is None else z.door_gap_m2
        for ii in (ia, ib):
            if 0 < ii < nx:
                sl = cx[ii, ja:jb, 0:kh]
                _leaky_panel(sl, door_gap if along_x else 0.0, b.dy * b.dz)
        for jj in (ja, jb):
            if 0 < jj < ny:
                sl = cy[ia:ib, jj, 0:kh]
                _leaky_panel(sl, 0.0 if along_x else door_gap, b.dx * b.dz)
        if kh < nz:
            roof = cz[ia:ib, ja:jb, kh]
            edge_len = 2.0 * ((ib - ia) * b.dx if along_x else (jb - ja) * b.dy)
            roof_gap = ROOF_GAP_M2_PER_M * edge_len if z.roof_gap_m2 is None else z.roof_gap_m2
            open_roof = roof > 0
            roof[open_roof] = PANEL_LEAK
            edges = (roof[:, [0, -1]] if along_x else roof[[0, -1], :]).copy()
            edges_open = open_roof[:, [0, -1]] if along_x else open_roof[[0, -1], :]
            flat = edges.reshape(-1)  # one layer: the gap spread evenly over both edges
            _leaky_panel(flat, roof_gap, b.dx * b.dy, edges_open.reshape(-1))
            edges = flat.reshape(edges.shape)
            if along_x:
                roof[:, [0, -1]] = edges
            else:
                roof[[0, -1], :] = edges
        zone_cell[ia:ib, ja:jb, 0:kh][fluid[ia:ib, ja:jb, 0:kh]] = len(zone_ids)
        zone_ids.append(z.id)
        zone_boxes.append((ia, ib, ja, jb, kh))
    cond = np.concatenate([cx.ravel(), cy.ravel(), cz.ravel()])
    zone_leak = np.array([_zone_leak_m2(cx, cy, cz, bx, b) for bx in zone_boxes], dtype=np.float64)

    # ---- rack ports
    warnings = b.warnings
    rack_in, rack_out = _rack_ports(b, hall, rack_boxes, warnings)

    # ---- cooling-unit ports
    uin, uout = [], []
    unit_plenum = np.zeros(len(hall.cooling_units), dtype=bool)
    unit_bal = np.zeros(len(hall.cooling_units), dtype=bool)
    rdhx_rack = np.full(len(hall.cooling_units), -1, dtype=np.int64)
    rack_index = {r.id: i for i, r in enumerate(hall.racks)}
    for n, (u, bx) in enumerate(zip(hall.cooling_units, unit_boxes)):
        fi, fo = _empty(), _empty()
        if u.kind in PLENUM_UNIT_KINDS:
            if not ceiling_return:
                fi = b.side_faces(bx, "T")
                unit_bal[n] = True
                if len(fi[0]) == 0:
                    warnings.append(f"{u.id}: top (return) of the {u.kind} is blocked (it reaches the "
                                    f"ceiling); it takes no return air in the room")
            if raised:
                unit_plenum[n] = True
            else:
                fo = b.side_faces(bx, u.facing)
                if len(fo[0]) == 0:
                    warnings.append(f"{u.id}: front (supply) of the {u.kind} is blocked: no air path, "
                                    f"its airflow is set to 0")
        elif u.kind == "inrow":
            fi = b.side_faces(bx, _OPPOSITE[u.facing])
            fo = b.side_faces(bx, u.facing)
            if len(fi[0]) == 0 or len(fo[0]) == 0:
                warnings.append(f"{u.id}: {'rear (return)' if len(fi[0]) == 0 else 'front (supply)'} of "
                                f"the in-row unit is blocked: no air path, its airflow is set to 0")
        elif u.kind == "rdhx":
            rdhx_rack[n] = rack_index.get(u.rack, -1) if u.rack is not None else -1
        uin.append(fi)
        uout.append(fo)

    # ---- tiles (floor) and leakage
    tile_ports, floor_tile = _tile_ports(b, hall, fluid, raised, warnings)
    if raised:
        I, J = np.nonzero(fluid[:, :, 0] & ~floor_tile)
        leak_f = [(b.fid_z(I, J, 0), b.cid(I, J, 0), np.ones(len(I)), np.full(len(I), b.dx * b.dy))]
    else:
        leak_f = [_empty()]

    # ---- grilles (ceiling)
    grille_f = []
    grille_ids = []
    if ceiling_return:
        taken = np.zeros((nx, ny), dtype=bool)
        for g in hall.grilles:
            x0, y0, x1, y1 = g.footprint()
            i0, i1 = _span(x0, x1, b.dx, nx)
            j0, j1 = _span(y0, y1, b.dy, ny)
            I, J = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), indexing="ij")
            I, J = I.ravel(), J.ravel()
            ok = fluid[I, J, nz - 1] & ~taken[I, J]
            I, J = I[ok], J[ok]
            taken[I, J] = True
            if len(I) == 0:
                warnings.append(f"{g.id}: return grille is covered by a solid element; it takes no air")
            grille_f.append((b.fid_z(I, J, nz), b.cid(I, J, nz - 1), -np.ones(len(I)),
                             np.full(len(I), b.dx * b.dy)))
            grille_ids.append(g.id)
        if not hall.grilles and any(u.kind in PLENUM_UNIT_KINDS for u in hall.cooling_units):
            warnings.append(f"{hall.id}: ceiling_return is true but the hall has no return grille: "
                            f"the CRAH/CRAC units have no return path")

    from dctwin.twin.physics.airflow import components_and_wall_distance  # numba helpers

    comp, ncomp, wdist = components_and_wall_distance(b.solid, cond, b.dx, b.dy, b.dz)

    ap = AirPlant(
        hall_id=hall.id, nx=nx, ny=ny, nz=nz, dx=b.dx, dy=b.dy, dz=b.dz,
        solid=b.solid, cond=cond, wall_dist_m=wdist, component=comp, n_components=ncomp,
        rack_ids=[r.id for r in hall.racks], unit_ids=[u.id for u in hall.cooling_units],
        unit_kinds=[u.kind for u in hall.cooling_units],
        rack_in=rack_in, rack_out=rack_out,
        unit_in=_ports_from_lists(uin), unit_out=_ports_from_lists(uout),
        tile=tile_ports, grille=_ports_from_lists(grille_f), leak=_ports_from_lists(leak_f),
        tile_ids=[t.id for t in hall.tiles],
        tile_open_fraction=np.array([t.open_fraction for t in hall.tiles], dtype=np.float64),
        tile_area_m2=np.array([hall.tile_size(t) ** 2 for t in hall.tiles], dtype=np.float64),
        zone_ids=zone_ids, zone_cell=zone_cell.ravel(), zone_leak_m2=zone_leak,
        grille_ids=grille_ids, unit_plenum=unit_plenum, unit_balancing=unit_bal, rdhx_rack=rdhx_rack,
        raised_floor=raised, ceiling_return=ceiling_return,
        leakage_fraction=float(hall.leakage_fraction) if raised else 0.0,
        supply_c=float(hall.supply_c), height_m=float(hall.height_m), width_m=float(hall.width_m),
        depth_m=float(hall.depth_m), warnings=warnings,
    )
    ap.compile_s = time.perf_counter() - t0
    return ap


def _rack_ports(b: _Builder, hall: Hall, boxes: list[tuple], warnings: list[str]) -> tuple[Ports, Ports]:
    """The racks' intake (front) and exhaust (back) ports; a rack whose front or back is blocked breathes
    around it (:func:`_breathe_around`, which says so in ``warnings``, rack by rack in order)."""
    fronts = [r.facing for r in hall.racks]
    fi, n_in = b.sides_faces(boxes, fronts)
    fo, n_out = b.sides_faces(boxes, [_OPPOSITE[f] for f in fronts])
    new_in, new_out = {}, {}
    for n in np.flatnonzero((n_in == 0) | (n_out == 0)).tolist():
        new_in[n], new_out[n] = _breathe_around(b, boxes[n], hall.racks[n], _port_faces(fi, n_in, n),
                                                _port_faces(fo, n_out, n), warnings)
    return _ports_from_counts(*_replaced(fi, n_in, new_in)), _ports_from_counts(*_replaced(fo, n_out, new_out))


def _port_faces(faces: tuple, counts: np.ndarray, n: int) -> tuple:
    """The faces of port ``n`` of ``faces`` (every port's faces one after the other, ``counts`` each)."""
    start = int(counts[:n].sum())
    return tuple(a[start:start + int(counts[n])] for a in faces)


def _replaced(faces: tuple, counts: np.ndarray, new: dict[int, tuple]) -> tuple[tuple, np.ndarray]:
    """``faces`` and ``counts`` with the faces of the ports in ``new`` replaced by theirs (port -> faces)."""
    if not new:
        return faces, counts
    ends = np.cumsum(counts)
    pieces, at = [], 0
    for n in sorted(new):
        pieces += [tuple(a[at:int(ends[n] - counts[n])] for a in faces), new[n]]
        at = int(ends[n])
    pieces.append(tuple(a[at:] for a in faces))
    counts = counts.copy()
    for n, f in new.items():
        counts[n] = len(f[0])
    return tuple(np.concatenate([p[k] for p in pieces]) for k in range(4)), counts


def _tile_ports(b: _Builder, hall: Hall, fluid: np.ndarray, raised: bool, warnings: list[str]
                ) -> tuple[Ports, np.ndarray]:
    """The perforated tiles' floor faces (a floor cell belongs to the first tile over it, in layout order)
    and the floor cells they cover ([nx, ny] bool)."""
    nx, ny = b.nx, b.ny
    spans = []
    for t in hall.tiles:
        x0, y0, x1, y1 = hall.footprint(t)
        spans.append(_span(x0, x1, b.dx, nx) + _span(y0, y1, b.dy, ny))
    n = len(spans)
    sp = np.array(spans, dtype=np.int64).reshape(n, 4)
    nj = sp[:, 3] - sp[:, 2]
    count = (sp[:, 1] - sp[:, 0]) * nj
    owner = np.repeat(np.arange(n), count)
    start = np.zeros(n, np.int64)
    np.cumsum(count[:-1], out=start[1:])
    p = np.arange(int(count.sum()), dtype=np.int64) - start[owner]
    I = sp[owner, 0] + p // nj[owner]  # each tile's cells, i outer, j inner
    J = sp[owner, 2] + p % nj[owner]
    ok = np.flatnonzero(fluid[I, J, 0])
    _, first = np.unique(I[ok] * ny + J[ok], return_index=True)
    keep = np.sort(ok[first])  # each fluid floor cell once: under the first tile that covers it
    owner, I, J = owner[keep], I[keep], J[keep]
    kept = np.bincount(owner, minlength=n)
    if raised:
        warnings.extend(f"{hall.tiles[t].id}: tile lies under a solid element or another tile; it delivers no air"
                        for t in np.flatnonzero(kept == 0).tolist())
    floor_tile = np.zeros((nx, ny), dtype=bool)
    floor_tile[I, J] = True
    faces = (b.fid_z(I, J, 0), b.cid(I, J, 0), np.ones(len(I)), np.full(len(I), b.dx * b.dy))
    return _ports_from_counts(faces, kept.astype(np.int64)), floor_tile


def _zone_leak_m2(cx, cy, cz, box: tuple[int, int, int, int, int], b) -> float:
    """Open leak area (m2) of a contained zone: conductance x area over its panel faces."""
    ia, ib, ja, jb, kh = box
    nx, ny, nz = cx.shape[0] - 1, cy.shape[1] - 1, cz.shape[2] - 1
    area = 0.0
    for ii in (ia, ib):
        if 0 < ii < nx:
            area += float(cx[ii, ja:jb, 0:kh].sum()) * b.dy * b.dz
    for jj in (ja, jb):
        if 0 < jj < ny:
            area += float(cy[ia:ib, jj, 0:kh].sum()) * b.dx * b.dz
    if kh < nz:
        area += float(cz[ia:ib, ja:jb, kh].sum()) * b.dx * b.dy
    return area


def _aisle_along_x(hall: Hall, zone: tuple[float, float, float, float]) -> bool:
    """True when a contained zone's aisle runs along x (its end doors face x): the racks touching it
    face N or S (E or W: along y); a zone no rack touches runs along its longer side."""
    facings = {r.facing for r in hall.racks if _touches(r.footprint(), zone)}
    if facings & {"N", "S"}:
        return True
    if facings & {"E", "W"}:
        return False
    return zone[2] - zone[0] >= zone[3] - zone[1]


def _leaky_panel(faces: np.ndarray, gap_m2: float, face_m2: float, open_faces: Optional[np.ndarray] = None
                 ) -> None:
    """Make the open faces (> 0, or ``open_faces``) of a containment panel (layers along the last
    axis, floor first) leak: ``gap_m2`` of open area from the lowest layer up (a door's undercut;
    a roof edge is one layer), spread evenly over each layer's open faces, :data:`PANEL_LEAK`
    elsewhere. In place."""
    is_open = faces > 0 if open_faces is None else open_faces
    faces[is_open] = PANEL_LEAK
    left = max(float(gap_m2), 0.0)
    if faces.ndim == 2:
        layers = [(faces[:, k], is_open[:, k]) for k in range(faces.shape[1])]
    else:
        layers = [(faces, is_open)]
    for layer, op in layers:
        n = int(op.sum())
        if left <= 0 or n == 0:
            continue
        frac = min(left / (n * face_m2), 1.0)
        layer[op] = max(frac, PANEL_LEAK)
        left -= frac * n * face_m2


#: the sides a rack whose front or back is blocked breathes through instead, in order (top, then its flanks)
_FLANKS = {"N": ("E", "W"), "S": ("W", "E"), "E": ("S", "N"), "W": ("N", "S")}
_SIDE_WORDS = {"T": "top", "N": "north side", "E": "east side", "S": "south side", "W": "west side"}


def _breathe_around(b, bx, r, fi, fo, warnings: list[str]) -> tuple:
    """Ports of a rack whose front (intake) or back (exhaust) is blocked by a wall or another element.

    Its fans still move air, through whatever gap they reach: the blocked side is replaced by the
    first open one of its top and its two flanks, so its heat still enters the room (energy is never
    lost) and the rack breathes the warm air it finds there (it runs hot, as it would). Only a rack
    closed in on every side keeps no air path (airflow 0): that is said, with the heat it cannot give.
    """
    spare = [side for side in ("T",) + _FLANKS.get(r.facing, ()) if len(b.side_faces(bx, side)[0])]
    for name, ports, what in (("fi", fi, f"front (intake, facing {r.facing})"), ("fo", fo, "back (exhaust)")):
        if len(ports[0]):
            continue
        if not spare:
            warnings.append(f"{r.id}: rack {what} is blocked and no side of it is open: no air path, its "
                            f"airflow is set to 0 and its {r.it_kw:g} kW do not reach the air")
            continue
        side = spare.pop(0)
        if name == "fi":
            fi = b.side_faces(bx, side)
        else:
            fo = b.side_faces(bx, side)
        warnings.append(f"{r.id}: rack {what} is blocked by a wall or another element: it "
                        f"{'draws its air in' if name == 'fi' else 'blows its air out'} through its "
                        f"{_SIDE_WORDS[side]} instead" + (", so it breathes the warmer air found there"
                                                          if name == "fi" else ""))
    return fi, fo


def _touches(a, b, eps=1e-6) -> bool:
    return (min(a[2], b[2]) - max(a[0], b[0]) >= -eps) and (min(a[3], b[3]) - max(a[1], b[1]) >= -eps)
