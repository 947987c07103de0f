"""Air on a plane, for the views: the horizontal flow at one height (the plan's airflow arrows) and a
vertical section along a line (temperature and the in-plane flow on that slice).

Both read a solved state (:class:`~dctwin.twin.physics.airflow.Flow` face velocities and the cell
temperatures) without changing it. Velocities are taken at cell centres as the mean of the two faces
of a cell along each axis (the staggered grid's usual interpolation); solid cells are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from dctwin.twin.sim.compile import AirPlant


@dataclass
class PlanFlow:
    """The horizontal air velocity in the cell layer at height ``z_m``."""

    vx: np.ndarray  # [nx, ny] m/s, + east; NaN in solids
    vy: np.ndarray  # [nx, ny] m/s, + north
    extent: tuple[float, float, float, float]  # (x0, y0, x1, y1) m of the grid
    z_m: float

    @property
    def speed(self) -> np.ndarray:
        return np.hypot(self.vx, self.vy)


@dataclass
class Section:
    """A vertical slice of the hall along the line ``p0`` -> ``p1`` (m), sampled every ``ds`` along it and
    at every cell layer: temperature and the flow in the slice's plane."""

    p0: tuple[float, float]
    p1: tuple[float, float]
    s_m: np.ndarray  # [ns] distance of each sample from p0 along the line (m)
    z_m: np.ndarray  # [nz] height of each cell layer's centre (m)
    temp_c: np.ndarray  # [ns, nz] °C, NaN in solids
    v_along: np.ndarray  # [ns, nz] m/s along the line (+ from p0 towards p1), NaN in solids
    v_up: np.ndarray  # [ns, nz] m/s upward, NaN in solids
    height_m: float

    @property
    def length_m(self) -> float:
        return float(math.hypot(self.p1[0] - self.p0[0], self.p1[1] - self.p0[1]))


def _layer(air: AirPlant, z_m: float) -> int:
    return int(min(max(math.floor(z_m / air.dz), 0), air.nz - 1))


def plan_flow(air: AirPlant, face_u: np.ndarray, z_m: float) -> PlanFlow:
    """The horizontal velocity at cell centres of the layer at ``z_m`` from the face velocities ``face_u``
    (m/s, flat per face in the air plant's numbering)."""
    k = _layer(air, z_m)
    u, v, _w = air.face_views(face_u)
    vx = 0.5 * (u[:-1, :, k] + u[1:, :, k])
    vy = 0.5 * (v[:, :-1, k] + v[:, 1:, k])
    solid = air.solid[:, :, k]
    vx = np.where(solid, np.nan, vx)
    vy = np.where(solid, np.nan, vy)
    return PlanFlow(vx, vy, (0.0, 0.0, air.nx * air.dx, air.ny * air.dy), float(z_m))


def clip_to_hall(air: AirPlant, p0: tuple[float, float], p1: tuple[float, float]
                 ) -> Optional[tuple[tuple[float, float], tuple[float, float]]]:
    """The part of the segment p0 -> p1 inside the hall's floor (Liang-Barsky), None if none is."""
    x0, y0 = p0
    dx, dy = p1[0] - x0, p1[1] - y0
    lo, hi = 0.0, 1.0
    w, d = air.nx * air.dx, air.ny * air.dy
    for p, q in ((-dx, x0), (dx, w - x0), (-dy, y0), (dy, d - y0)):
        if p == 0.0:
            if q < 0.0:
                return None
            continue
        r = q / p
        if p < 0.0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
    if hi - lo <= 1e-12:
        return None
    return (x0 + lo * dx, y0 + lo * dy), (x0 + hi * dx, y0 + hi * dy)


def vertical_section(air: AirPlant, temp_c: np.ndarray, face_u: np.ndarray, p0: tuple[float, float],
                     p1: tuple[float, float]) -> Optional[Section]:
    """The vertical section along p0 -> p1 (clipped to the hall; None when it misses the hall).

    Samples every ``min(dx, dy)`` along the line take the cell they fall in (nearest cell, no smoothing:
    what the model computed); the velocity's horizontal part is projected on the line's direction.
    """
    clipped = clip_to_hall(air, p0, p1)
    if clipped is None:
        return None
    a, b = clipped
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    ds = min(air.dx, air.dy)
    ns = max(2, int(math.ceil(length / ds)) + 1)
    s = np.linspace(0.0, length, ns)
    ex, ey = ((b[0] - a[0]) / length, (b[1] - a[1]) / length) if length > 0 else (1.0, 0.0)
    xs, ys = a[0] + s * ex, a[1] + s * ey
    i = np.clip(np.floor(xs / air.dx).astype(np.int64), 0, air.nx - 1)
    j = np.clip(np.floor(ys / air.dy).astype(np.int64), 0, air.ny - 1)
    u, v, w = air.face_views(face_u)
    vx = 0.5 * (u[i, j, :] + u[i + 1, j, :])  # [ns, nz]
    vy = 0.5 * (v[i, j, :] + v[i, j + 1, :])
    vz = 0.5 * (w[i, j, :-1] + w[i, j, 1:])
    solid = air.solid[i, j, :]
    temp = np.where(solid, np.nan, np.asarray(temp_c)[i, j, :])
    along = np.where(solid, np.nan, vx * ex + vy * ey)
    up = np.where(solid, np.nan, vz)
    z = (np.arange(air.nz) + 0.5) * air.dz
    # the samples start at the clipped start: distances are from the line as drawn
    offset = math.hypot(a[0] - p0[0], a[1] - p0[1])
    return Section(tuple(p0), tuple(p1), s + offset, z, temp, along, up, float(air.nz * air.dz))
