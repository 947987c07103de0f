"""The thin wall jet on rack fronts (issue 18, session 23): an option of the airflow march, off by default.

A tile in front of a rack row blows a jet that rises along the racks' perforated fronts. In the CFD
rooms of issue 18 that jet keeps its speed up to the rack tops (j_gaps: w 0.71 -> 0.63 m/s from the
tile to 1.9 m) while the racks draw its mass in sideways; the march's jet halves by then, and the
aisle beside it is dragged up with it (docs/validation.md, "Session 23: row ends"). A plane wall jet
is thin: its outer, free-shear layer mixes it with the room, but across its first cells its momentum
is carried, not diffused (Launder & Rodi, "The turbulent wall jet", Prog. Aerospace Sci. 19, 1981:
the velocity maximum of a plane wall jet decays only as x^-1/2 beyond a potential core some 6-10 slot
widths long; a 0.6 m tile is a slot that wide, so over a 2 m rack front the jet stays in its core).

Chen's zero-equation viscosity (or the one-equation model's) at the 0.3 m cells in front of a rack
face is that of a shear layer as wide as the cell, so the implicit diffusion spreads the jet over
the aisle and rubs it on the rack face (the no-slip ghost term ``wall`` x nu / h²). The sub-model
keeps only a share of the eddy viscosity in the first cell in front of each side-facing rack intake
(momentum only; the temperature's diffusivity is the flow's own ``nu`` after the march): the jet's
lateral exchange with the aisle (the face average of nu) falls by up to half, its friction on the
rack face in proportion. ``share`` 1 is the march without it.

Session 24 added a jet thinner than the cell ("thin", :func:`thin_jet`: the tile's velocity over a
layer 0.15 + 0.073 z m thick, entraining from the aisle beside it) and its free edge alone ("edge": the
room air it draws sideways at a row's end or a gap). Neither passes issue 18's rule (docs/validation.md,
"Session 24: a rack-front jet thinner than a cell"); all stay off by default.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def front_cells(ap, pf) -> np.ndarray:
    """(nx, ny, nz) bool: the fluid cells with a side-facing (x or y normal) rack-intake face.

    ``pf`` is the plant's :class:`~dctwin.twin.physics.airflow.PortFaces`."""
    s = pf.group["rack_in"]
    side = pf.face[s] < ap.nfx + ap.nfy
    out = np.zeros(ap.n_cells, dtype=bool)
    out[pf.cell[s][side]] = True
    return out.reshape(ap.shape)


#: The rack-front jet floors (:class:`RackFrontJet`).
FLOORS = ("off", "core", "carried", "thin", "edge")


class RackFrontJet:
    """What the march does in the cells in front of rack intakes (one object per solve; None when off).

    ``nu_share`` < 1: that share of the eddy viscosity is kept there; ``floor``: the vertical velocity
    of the front cells above a tile is held at least at :func:`jet_floor` (before each step's advection),
    "core" its velocity law alone, "carried" with the mass the racks take, "thin" a jet thinner than the
    cell (:func:`thin_jet`), "edge" only what that jet's free edge draws in at a row's end or a gap
    (:func:`thin_jet` with no floor and ``lateral`` :data:`EDGE_SPREAD`; "off": none)."""

    def __init__(self, ap, pf, nu_share: float, floor: str):
        self.ap = ap
        self.front = front_cells(ap, pf)
        s = pf.group["rack_in"]
        side = pf.face[s] < ap.nfx + ap.nfy
        self._in = pf.face[s][side], pf.cell[s][side], pf.area[s][side]
        self.scale = None
        if nu_share < 1.0:
            self.scale = np.ones(ap.shape)
            self.scale[self.front] = nu_share
        self.floor = floor
        self._u_mass = None
        self.faces, self.target = np.zeros(0, dtype=np.int64), np.zeros(0)

    @classmethod
    def make(cls, ap, pf, nu_share: float = 1.0, floor: str = "off") -> Optional["RackFrontJet"]:
        if not 0.0 <= nu_share <= 1.0:
            raise ValueError(f"rack_front_nu {nu_share!r} is out of range (0..1)")
        if floor not in FLOORS:
            raise ValueError(f"rack_front_jet {floor!r} is not one of {', '.join(FLOORS)}")
        return cls(ap, pf, nu_share, floor) if nu_share < 1.0 or floor != "off" else None

    def _targets(self, u_mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The floor's faces and signed targets at the mass boundary velocities ``u_mass``."""
        if self.floor == "thin":
            return thin_jet(self.ap, self.front, self._in, u_mass, THIN_SLOT_M, THIN_SPREAD, THIN_ENTRAIN,
                            THIN_FEEDS, THIN_LATERAL)
        if self.floor == "edge":
            return thin_jet(self.ap, self.front, self._in, u_mass, 0.0, 0.0, False, False, EDGE_SPREAD)
        intake = None
        if self.floor == "carried":
            face, cell, area = self._in
            intake = np.zeros(self.ap.n_cells)
            np.add.at(intake, cell, np.abs(u_mass[face]) * area)
            intake = intake.reshape(self.ap.shape)
        return jet_floor(self.ap, self.front, u_mass, intake)

    def apply(self, nu: np.ndarray, uf: np.ndarray, u_mass: np.ndarray) -> None:
        """In place on the march's eddy viscosity ``nu`` and face velocities ``uf``; ``u_mass`` the
        mass boundary velocities of the current airflows (the floor follows them when they change)."""
        if self.scale is not None:
            nu *= self.scale
        if self.floor != "off":
            if self._u_mass is not u_mass:
                self.faces, self.target = self._targets(u_mass)
                self._u_mass = u_mass
            now = uf[self.faces]
            uf[self.faces] = np.where(self.target > 0.0, np.maximum(now, self.target), np.minimum(now, self.target))


#: Plane wall jet far field: u_max / U_slot = 3.5 (x / b)^-1/2, x from the slot, b its width
#: (Rajaratnam, "Turbulent Jets", 1976; the x^-1/2 law as reviewed by Launder & Rodi 1981, Prog.
#: Aerospace Sci. 19, 81-128); below the height where that reaches 1 the jet is in its potential core.
LAUNDER_RODI_C = 3.5


def jet_floor(ap, front: np.ndarray, u_mass: np.ndarray,
              intake: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """The wall jet on rack fronts as a floor under the vertical velocity of the front cells.

    For every column whose floor face is a supplying tile (``u_mass`` > 0 there: the tile's mean
    velocity, q / area), the z faces between two front cells (``front`` from :func:`front_cells`) of
    that column get the floor ``W0 min(1, C (z / b)^-1/2)``: W0 the tile's velocity, z the face's
    height above the floor, b the cell's width across the front (the slot of the jet the column carries),
    C :data:`LAUNDER_RODI_C`. With ``intake`` (per cell, m3/s into side-facing rack intakes) the floor is
    also held under what the column's tile still carries at that height (the tile's flow less what the
    front cells below have given the racks, over the cell's plan area): a jet whose mass the racks take
    but not its momentum, thinner as it rises (the CFD's, which keeps its speed). Returns (face indices,
    floor velocities m/s)."""
    nx, ny, nz = ap.shape
    w0 = np.maximum(ap.face_views(u_mass)[2][:, :, 0], 0.0)
    inner = front[:, :, :-1] & front[:, :, 1:] & (w0[:, :, None] > 0.0)
    z = ap.dz * np.arange(1, nz)
    core = np.minimum(1.0, LAUNDER_RODI_C * np.sqrt(min(ap.dx, ap.dy) / z))
    target = np.zeros((nx, ny, nz + 1))
    floor = w0[:, :, None] * core
    if intake is not None:
        carried = w0[:, :, None] - np.cumsum(intake, axis=2)[:, :, :-1] / (ap.dx * ap.dy)
        floor = np.minimum(floor, np.maximum(carried, 0.0))
    target[:, :, 1:-1] = np.where(inner, floor, 0.0)
    flat = np.zeros(ap.n_faces)
    ap.face_views(flat)[2][...] = target
    flat[ap.cond != 1.0] = 0.0
    faces = np.nonzero(flat > 0.0)[0]
    return faces, flat[faces]


#: The sub-cell wall jet ("thin"): its thickness at the tile (m) and its growth per metre of rise, the
#: half-width spreading rate of a plane wall jet, dy_1/2 / dx = 0.073 (Launder & Rodi 1981, Table 2's
#: consensus; Rajaratnam 1976 gives 0.068-0.076).
THIN_SLOT_M = 0.15
THIN_SPREAD = 0.073
#: Whether the jet's entrainment is drawn through the face beside each front cell (``thin_jet``).
THIN_ENTRAIN = True
#: Whether the jet feeds the rack intakes it passes (its flux less what the racks below took).
THIN_FEEDS = False
#: The sideways entrainment at a row's end or a gap (:func:`thin_jet`'s ``lateral``; 0: none).
THIN_LATERAL = 0.0
#: The sideways spreading rate of a three-dimensional wall jet, dz_1/2 / dx (Launder & Rodi 1983: about
#: 0.3, five to seven times its normal 0.04-0.07): what "edge" draws in per unit of the tile's velocity.
EDGE_SPREAD = 0.3


def thin_jet(ap, front: np.ndarray, intakes: tuple, u_mass: np.ndarray, slot: float = THIN_SLOT_M,
             spread: float = THIN_SPREAD, entrain: bool = True, feeds: bool = False,
             lateral: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A plane wall jet thinner than the cell on each side-facing rack front above a supplying tile.

    The jet rises along the rack face at its tile's velocity W0 (its core: a 2 m front is within the
    6-10 slot widths of a wall jet's potential core only for the tile, not for the jet's thin layer, so
    its speed is kept and its thickness grows instead) with the thickness ``slot + spread z``; in the
    front cell of width h across the front it is the share min(1, thickness / h) of the cell's vertical
    flux: the cell's mean w is held at least at W0 min(1, (slot + spread z) / h) (z the face's height).
    What it entrains, W0 spread per metre of rise and metre of front, it draws from the aisle cell beside
    it: the face between that cell and the front cell carries at least that inflow toward the rack
    (``entrain``). With ``feeds`` the jet gives the racks what they take from the front cells it passes:
    its flux at a height is the above less the rack intakes below (the floor never negative). With
    ``lateral`` > 0 a front cell whose neighbour along the front is open and not a front cell (a row's end,
    a gap) draws room air through that face at ``lateral`` W0: a three-dimensional wall jet spreads
    sideways about five times as fast as it thickens (Launder & Rodi, "The turbulent wall jet -
    measurements and modeling", Annu. Rev. Fluid Mech. 15, 1983: dz_1/2 / dx about 0.3).
    ``intakes`` the side-facing rack-intake (faces, cells, areas). Returns (face indices, signed floors
    m/s): a positive floor holds a face's velocity at least at it, a negative at most."""
    nx, ny, nz = ap.shape
    w0 = np.maximum(ap.face_views(u_mass)[2][:, :, 0], 0.0)
    face, cell, _ = intakes
    across = np.zeros(ap.shape)  # the cell's width across its rack face (m); 0 off the fronts
    flat = across.reshape(-1)
    flat[cell] = np.where(face < ap.nfx, ap.dx, ap.dy)
    inner = front[:, :, :-1] & front[:, :, 1:] & (w0[:, :, None] > 0.0)
    z = ap.dz * np.arange(1, nz)
    h = np.maximum(np.maximum(across[:, :, :-1], across[:, :, 1:]), 1e-9)
    floor = w0[:, :, None] * np.minimum(1.0, (slot + spread * z) / h)
    if feeds:
        taken = np.zeros(ap.n_cells)
        np.add.at(taken, cell, np.abs(u_mass[face]) * intakes[2])
        floor = np.maximum(floor - np.cumsum(taken.reshape(ap.shape), axis=2)[:, :, :-1] / (ap.dx * ap.dy), 0.0)
    target = np.zeros(ap.n_faces)
    tw = ap.face_views(target)[2]
    tw[:, :, 1:-1] = np.where(inner, floor, 0.0)
    # entrainment: the face opposite each rack-intake face of a front cell over a tile, inflow toward the rack
    ci, cj, ck = np.unravel_index(cell, ap.shape)
    fed = (w0[ci, cj] > 0.0) & entrain
    tx, ty, _ = ap.face_views(target)
    on_x = fed & (face < ap.nfx)
    fi = np.unravel_index(face[on_x], tx.shape)[0]
    out_i = np.where(fi == ci[on_x], ci[on_x] + 1, ci[on_x])  # the cell's other x face
    tx[out_i, cj[on_x], ck[on_x]] = np.where(out_i > ci[on_x], -1.0, 1.0) * spread * w0[ci[on_x], cj[on_x]]
    on_y = fed & (face >= ap.nfx) & (face < ap.nfx + ap.nfy)
    fj = np.unravel_index(face[on_y] - ap.nfx, ty.shape)[1]
    out_j = np.where(fj == cj[on_y], cj[on_y] + 1, cj[on_y])
    ty[ci[on_y], out_j, ck[on_y]] = np.where(out_j > cj[on_y], -1.0, 1.0) * spread * w0[ci[on_y], cj[on_y]]
    if lateral > 0.0:  # the jet's free edge at a row's end or a gap draws room air along the front
        lat_x = (w0[ci, cj] > 0.0) & (face >= ap.nfx) & (face < ap.nfx + ap.nfy)  # y-facing fronts: x faces
        for side, sign in ((0, 1.0), (1, -1.0)):
            i, j, k = ci[lat_x], cj[lat_x], ck[lat_x]
            nb = i - 1 + 2 * side
            edge = (nb >= 0) & (nb < nx)
            edge[edge] &= ~front[nb[edge], j[edge], k[edge]]
            tx[i[edge] + side, j[edge], k[edge]] = sign * lateral * w0[i[edge], j[edge]]
        lat_y = (w0[ci, cj] > 0.0) & (face < ap.nfx)  # x-facing fronts: y faces
        for side, sign in ((0, 1.0), (1, -1.0)):
            i, j, k = ci[lat_y], cj[lat_y], ck[lat_y]
            nb = j - 1 + 2 * side
            edge = (nb >= 0) & (nb < ny)
            edge[edge] &= ~front[i[edge], nb[edge], k[edge]]
            ty[i[edge], j[edge] + side, k[edge]] = sign * lateral * w0[i[edge], j[edge]]
    target[ap.cond != 1.0] = 0.0
    faces = np.nonzero(target)[0]
    return faces, target[faces]
