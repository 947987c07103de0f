"""How the hall's air answers a rack that is not there yet: its intake air and the rise of its heat.

The placement search (:mod:`dctwin.twin.sim.placement`) asks this of every spot on the floor, so
nothing here re-solves the flow. Two estimates on the solved state (an
:class:`~dctwin.twin.sim.compile.AirPlant`, its frozen :class:`~dctwin.twin.physics.airflow.Flow` and
the steady temperature field ``T``):

* :func:`intake_mean`: the air a rack would breathe, the mean of ``T`` over the fluid cells just in
  front of its intake face, from the floor to its height;
* :func:`heat_rise`: the steady rise ``theta`` (K) its exhaust heat causes on the frozen flow: the
  transport equation of :mod:`~dctwin.twin.physics.thermal` for a source ``Q / (rho cp)`` released
  evenly along the cells its exhaust blows through (:func:`exhaust_path`: its throw, up to
  :data:`EXHAUST_THROW_M` or the first solid), solved in a box around it (air that enters the box brings
  no rise; heat that leaves it is not followed), with its own footprint blocked. The rise at a rack's
  intake is ``theta``'s flow-weighted mean over the intake faces
  (:func:`~dctwin.twin.physics.thermal.port_means`).

Both are linear estimates on the present flow: the rack's own push and pull on the air (it blocks the
flow, draws its airflow through its intake and blows it out behind) are not in them; the search
verifies its best spots with full solves and reports the difference.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

import numpy as np

from dctwin.twin.physics import _air_response_numba, _air_response_numpy
from dctwin.twin.physics._util import kernel_module
from dctwin.twin.physics.constants import RHO_CP_AIR
from dctwin.twin.physics.thermal import coefficients

#: how far a rack's exhaust carries its heat before the air it is released into takes over (m)
EXHAUST_THROW_M = 2.4
#: a rack's depth: what exhaust blown to the end of its throw still rounds to reach an intake (m)
ROW_END_M = 1.2
#: the box of a rise solve reaches this far past the racks that heat it (m): the throw, then round a
#: row end to the intake on its far side. At 3.0 m (the throw plus half a rack) the box's edge fell on
#: the intake face of the end rack of the next row for a rack standing half a rack off its own row's
#: end in the ai-hall, and that rack, the one warmed most once solved (1.6 to 2.6 K), read no rise
RISE_RADIUS_M = EXHAUST_THROW_M + ROW_END_M
#: the sweeps stop when none moves a cell by more than this (K)
RISE_TOL_K = 1e-3
RISE_MAX_SWEEPS = 2000

Box = tuple[float, float, float, float]
_SIDES = {"N": (0, 1), "S": (0, -1), "E": (1, 0), "W": (-1, 0)}
_BACK = {"N": "S", "S": "N", "E": "W", "W": "E"}


def cell_span(lo_m: float, hi_m: float, h: float, n: int) -> tuple[int, int]:
    """Cells [i0, i1) whose centres lie in [lo_m, hi_m] on an axis of ``n`` cells of ``h`` m (at least
    the one under the middle, as the compile makes solids)."""
    i0 = int(math.ceil(lo_m / h - 0.5 - 1e-9))
    i1 = int(math.floor(hi_m / h - 0.5 + 1e-9)) + 1
    if i1 <= i0:
        i0 = int(min(max(math.floor(0.5 * (lo_m + hi_m) / h), 0), n - 1))
        i1 = i0 + 1
    return max(i0, 0), min(i1, n)


def face_cells(ap, footprint: Box, facing: str, height_m: float) -> tuple[slice, slice, slice]:
    """The layer of cells just outside the face of ``footprint`` that looks toward ``facing``, from the
    floor to ``height_m``: (x slice, y slice, z slice) of the air grid (empty where it is the wall)."""
    x0, y0, x1, y1 = footprint
    ix = cell_span(x0, x1, ap.dx, ap.nx)
    iy = cell_span(y0, y1, ap.dy, ap.ny)
    kz = (0, max(1, min(ap.nz, int(round(height_m / ap.dz)))))
    if facing == "N":
        j = iy[1]
        iy = (j, min(j + 1, ap.ny))
    elif facing == "S":
        j = iy[0] - 1
        iy = (max(j, 0), j + 1 if j >= 0 else 0)
    elif facing == "E":
        i = ix[1]
        ix = (i, min(i + 1, ap.nx))
    else:
        i = ix[0] - 1
        ix = (max(i, 0), i + 1 if i >= 0 else 0)
    return slice(*ix), slice(*iy), slice(*kz)


def footprint_cells(ap, footprint: Box, height_m: float) -> tuple[slice, slice, slice]:
    """The cells a box standing on ``footprint`` would make solid (centres inside, as the compile does)."""
    x0, y0, x1, y1 = footprint
    ix = cell_span(x0, x1, ap.dx, ap.nx)
    iy = cell_span(y0, y1, ap.dy, ap.ny)
    return slice(*ix), slice(*iy), slice(0, max(1, min(ap.nz, int(round(height_m / ap.dz)))))


def intake_mean(ap, T: np.ndarray, footprint: Box, facing: str, height_m: float) -> Optional[float]:
    """Mean air temperature (°C) over the fluid cells just in front of the intake face (None when the
    face is against the wall or a solid)."""
    sl = face_cells(ap, footprint, facing, height_m)
    cells = T[sl][~ap.solid[sl]]
    return float(cells.mean()) if cells.size else None


def rise_field(ap, flow, src: np.ndarray, blocked: np.ndarray, box: tuple[int, int, int, int], *,
               tol_k: float = RISE_TOL_K, backend: str = "numba") -> tuple[np.ndarray, int]:
    """Steady rise ``theta`` (K) of the air temperature on the frozen ``flow`` from the heat ``src`` (per cell,
    K m3/s = W / (rho cp)), solved in the cells of ``box`` = (i0, i1, j0, j1) x all layers that are not
    ``blocked`` (the rest stay 0: air entering the box brings no rise). Energy: what ``src`` puts in leaves
    through the ports that take air out (rack intakes, unit returns, grilles), into blocked cells, or across
    the box's sides. Returns (theta, sweeps)."""
    theta = np.zeros(ap.shape)
    sweeps = solve_box(ap, flow, src, blocked, box, theta, tol_k=tol_k, backend=backend)
    return theta, sweeps


def solve_box(ap, flow, src: np.ndarray, blocked: np.ndarray, box: tuple[int, int, int, int], field: np.ndarray, *,
              tol_k: float = RISE_TOL_K, backend: str = "numba") -> int:
    """The steady transport balance of :func:`rise_field` solved in place in ``field`` (its start; the cells
    outside ``box`` and the ``blocked`` ones keep their values: the box's boundary condition). ``src`` per
    cell (K m3/s). Returns the sweeps taken."""
    c = coefficients(ap, flow)
    i0, i1, j0, j1 = box
    k = kernel_module(backend, _air_response_numba, _air_response_numpy)
    return int(k.box_rise(field, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, blocked, c.out, np.asarray(src, float),
                          int(i0), int(i1), int(j0), int(j1), float(tol_k), RISE_MAX_SWEEPS))


def exhaust_path(ap, blocked: np.ndarray, footprint: Box, facing: str, height_m: float, throw_m: float) -> np.ndarray:
    """The cells (k rows of (i, j, k)) the exhaust of a box facing ``facing`` blows through: the layers of
    cells behind its back face, across its width and height, out to ``throw_m`` (at least the first
    layer), each line of cells stopping at the first blocked cell."""
    sl = face_cells(ap, footprint, _BACK[facing], height_m)
    di, dj = {"N": (0, -1), "S": (0, 1), "E": (-1, 0), "W": (1, 0)}[facing]
    h = ap.dy if di == 0 else ap.dx
    steps = max(1, int(round(throw_m / h)))
    out = []
    ii = np.arange(sl[0].start, sl[0].stop)
    jj = np.arange(sl[1].start, sl[1].stop)
    kk = np.arange(sl[2].start, sl[2].stop)
    I, J, K = np.meshgrid(ii, jj, kk, indexing="ij")
    I, J, K = I.ravel(), J.ravel(), K.ravel()
    alive = np.ones(len(I), bool)
    for _ in range(steps):
        inside = (I >= 0) & (I < ap.nx) & (J >= 0) & (J < ap.ny)
        alive &= inside
        alive[alive] &= ~blocked[I[alive], J[alive], K[alive]]
        if not alive.any():
            break
        out.append(np.stack([I[alive], J[alive], K[alive]], axis=1))
        I, J = I + di, J + dj
    return np.concatenate(out) if out else np.zeros((0, 3), np.int64)


def heat_rise(ap, flow, heat: Iterable[tuple[Box, str, float, float]], *, radius_m: float = RISE_RADIUS_M,
              throw_m: float = EXHAUST_THROW_M, tol_k: float = RISE_TOL_K, backend: str = "numba"
              ) -> tuple[np.ndarray, tuple[int, int, int, int], int]:
    """Steady rise (K) of the air temperature from racks not in the flow, on the frozen ``flow``.

    ``heat``: per new rack (footprint, facing, height_m, air heat W). Its heat enters the cells behind
    its exhaust face; its footprint is blocked; the box reaches ``radius_m`` past the racks
    (:func:`rise_field`). Returns (theta on the whole grid, zero outside the box; the box (i0, i1, j0, j1);
    sweeps taken).
    """
    heat = list(heat)
    src = np.zeros(ap.shape)
    blocked = ap.solid.copy()
    if not heat:
        return np.zeros(ap.shape), (0, 0, 0, 0), 0
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for fp, facing, h, q_w in heat:
        blocked[footprint_cells(ap, fp, h)] = True
        x0, y0, x1, y1 = min(x0, fp[0]), min(y0, fp[1]), max(x1, fp[2]), max(y1, fp[3])
    for fp, facing, h, q_w in heat:
        cells = exhaust_path(ap, blocked, fp, facing, h, throw_m)
        if q_w > 0 and len(cells):
            np.add.at(src, tuple(cells.T), q_w / RHO_CP_AIR / len(cells))
    i0, i1 = cell_span(x0 - radius_m, x1 + radius_m, ap.dx, ap.nx)
    j0, j1 = cell_span(y0 - radius_m, y1 + radius_m, ap.dy, ap.ny)
    theta, sweeps = rise_field(ap, flow, src, blocked, (i0, i1, j0, j1), tol_k=tol_k, backend=backend)
    return theta, (i0, i1, j0, j1), sweeps
