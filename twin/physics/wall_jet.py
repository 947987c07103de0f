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

Session 25 put the jet into the steady temperature solve instead (:class:`JetTubes`, read by
:mod:`~dctwin.twin.physics.thermal` when ``thermal.FRONT_JET_HEAT``): a sub-grid stream in front of the
intakes above a tile, which they draw from at its own temperature. Its tile core made every tuned room
worse; its free edge alone, drawing room air at a row's end or a gap, made all 22 CFD room/cases better
(docs/validation.md, "Session 25"). Off by default: steady solves only.
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


# --------------------------------------------------------------------------- the jet's heat (session 25)

#: The rack-front jets in the temperature solve (session 25, docs/validation.md): sub-grid streams in
#: front of the intakes above each supplying tile (:class:`JetTubes`), which the intakes draw from at the
#: stream's own temperature rather than at the cell mean. Two parts, each with its literature constant:
#: (1) the plane wall jet of :func:`thin_jet` carrying the tile's air: ``HEAT_SLOT_M + HEAT_SPREAD z`` thick
#: at height z (Launder & Rodi's half-width growth) at the tile's velocity (the CFD's rack-front jets keep
#: theirs, w 0.71 -> 0.63 m/s at 1.9 m), entraining the air of the cells it passes; (2) its free edge: where
#: the column beside it along the front is open and in front of no intake (a row's end, a gap, above a lower
#: rack), room air drawn through that face at ``HEAT_EDGE`` x the tile's velocity (the lateral spreading
#: rate of a three-dimensional wall jet, about 0.3: Launder & Rodi 1983; session 24's "edge") at that
#: neighbour's temperature (the CFD draws room air into the aisle along the end rack's front: j_gaps
#: 0.72 m3/s there). The intakes take up to ``HEAT_TAKE`` of their flow from the stream. Chosen on the tuned
#: rooms: the edge alone (slot 0, spread 0: the tile's core made every tuned room worse), over the front
#: cell's width across the front.
HEAT_SLOT_M = 0.0
HEAT_SPREAD = 0.0
HEAT_TAKE = 1.0
HEAT_EDGE = 0.3
#: the width across the front of the free edge the room air is drawn through: "cell" (the front cell's),
#: "jet" (the jet's thickness) or metres
HEAT_EDGE_WIDTH = "cell"


class JetTubes:
    """The rack-front wall jets of a flow as sub-grid streams (one per cell column with side-facing
    rack intakes above a supplying tile), for the temperature solve (:func:`jet_tubes`).

    The stream is part of the column's resolved vertical flux: ``fz_sub`` (z faces, m3/s) is taken off it,
    ``pq_add`` (per port face) off the tiles' inflow (negative) and off the intakes' outflow (positive: b,
    what each intake takes from the jet), and each layer's cell loses ``ent_q`` (m3/s) to the stream
    (extra outflow ports at ``ent_cell``); the stream's remainder enters the top cell of its column
    (``top_cell``, ``top_q``). Every cell's balance is the flow's own, so the temperature solve stays
    conservative and bounded. Layers are padded to ``n_layers`` (``cells`` -1 where a tube has none)."""

    def __init__(self, n_ports: int, shape: tuple):
        self.fz_sub = np.zeros((shape[0], shape[1], shape[2] + 1))
        self.fx_sub = np.zeros((shape[0] + 1, shape[1], shape[2]))
        self.fy_sub = np.zeros((shape[0], shape[1] + 1, shape[2]))
        self.edge_cells = np.zeros((0, 0, 2), dtype=np.int64)  # (tube, layer, side): the free edge's cell, -1 none
        self.edge_q = np.zeros((0, 0, 2))  # what the jet draws through it (m3/s)
        self.pq_add = np.zeros(n_ports)
        self.cells = np.zeros((0, 0), dtype=np.int64)  # (tube, layer) flat cell
        self.b_in = np.zeros((0, 0))  # stream flux arriving at the layer from below (m3/s)
        self.take = np.zeros((0, 0))  # what the layer's intakes take from it (m3/s)
        self.ent = np.zeros((0, 0))  # what it entrains from the layer's cell (m3/s)
        self.b_out = np.zeros((0, 0))  # leaving the layer upward (m3/s)
        self.tile_ports = np.zeros((0, 0), dtype=np.int64)  # (tube, k): the column's tile port faces, -1 pad
        self.tile_w = np.zeros((0, 0))  # their inflow (m3/s), the weights of the stream's start temperature
        self.face_port = np.zeros(0, dtype=np.int64)  # intake port faces the jets feed
        self.face_tube = np.zeros(0, dtype=np.int64)
        self.face_layer = np.zeros(0, dtype=np.int64)
        self.face_b = np.zeros(0)  # m3/s each takes from its jet
        #: the port faces' inflow temperatures (°C) of the last steady solve or step, for ``thermal.port_means``
        self.port_t: Optional[np.ndarray] = None
        self._mix: Optional[tuple] = None  # :meth:`_mixing`
        self._from = np.zeros((0, 0, 3), dtype=np.int64)

    @property
    def n(self) -> int:
        return self.cells.shape[0]

    @property
    def ent_cell(self) -> np.ndarray:
        """The cells the jets draw from (their own, then their free edges'), one outflow port each."""
        return np.concatenate([self.cells[self.ent > 0], self.edge_cells[self.edge_q > 0]])

    @property
    def ent_q(self) -> np.ndarray:
        return np.concatenate([self.ent[self.ent > 0], self.edge_q[self.edge_q > 0]])

    @property
    def top_cell(self) -> np.ndarray:
        return self.cells[np.arange(self.n), self._top_layer()] if self.n else np.zeros(0, dtype=np.int64)

    @property
    def top_q(self) -> np.ndarray:
        return self.b_out[np.arange(self.n), self._top_layer()] if self.n else np.zeros(0)

    def _top_layer(self) -> np.ndarray:
        return (self.cells >= 0).sum(axis=1) - 1

    def temperatures(self, tf: np.ndarray, port_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(temperature at which each layer's intakes take the jet (tube, layer), the jet's temperature
        at its top) for the flat cell temperatures ``tf`` and the port faces' inflow temperatures
        ``port_t`` (°C): the tile's air, mixed layer by layer with what it entrains."""
        t = (self.tile_w * port_t[np.maximum(self.tile_ports, 0)]).sum(axis=1) / self.tile_w.sum(axis=1)
        mix, keep, gain = self._mixing()
        # each layer: t -> keep t + gain . (its cell's, its free edges' temperatures), where the stream has flow
        add = (gain * tf[np.maximum(self._from, 0)]).sum(axis=2)
        at = np.empty(self.cells.shape)
        for k in range(self.cells.shape[1]):
            at[:, k] = t
            t = np.where(mix[:, k], keep[:, k] * t + add[:, k], t)
        return at, t

    def _mixing(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(layers where the stream mixes, the share of what arrives that it keeps, the shares of its
        cell's and free edges' air (tube, layer, 3)), built once: :meth:`temperatures` runs every step."""
        if self._mix is None:
            bo = np.where(self.b_out > 0, self.b_out, 1.0)
            self._from = np.concatenate([self.cells[:, :, None], self.edge_cells], axis=2)
            gain = np.concatenate([self.ent[:, :, None], self.edge_q], axis=2) / bo[:, :, None]
            self._mix = ((self.cells >= 0) & (self.b_out > 0), (self.b_in - self.take) / bo, gain)
        return self._mix


def jet_tubes(ap, pf, port_q: np.ndarray, slot: Optional[float] = None, spread: Optional[float] = None,
              take: Optional[float] = None, edge: Optional[float] = None, edge_width=None) -> JetTubes:
    """The rack-front jets' streams (:class:`JetTubes`) of a flow with port fluxes ``port_q`` (m3/s, into
    the room, per face of ``pf``); the constants default to the module's ``HEAT_*``.

    A tube stands on every cell column that has tile inflow in its bottom cell and side-facing rack
    intakes above; it rises to the highest layer with such an intake. Its flux at height z is the
    column's tile inflow times ``min(1, (slot + spread z) / h)`` (h: the cell across the front); at each
    layer the intakes take ``min(take x their flow, what arrives)`` of it and the cell gives it the rest;
    at a free edge along the front it draws ``edge`` x the tile's velocity over ``edge_width`` ("cell", "jet"
    or m, :data:`HEAT_EDGE_WIDTH`) x the layer from the cell beside it, through the open face between (taken off that face's flux toward it: the cell beside keeps
    its balance; a containment panel or door is no free edge) and grows by as much.
    """
    slot = HEAT_SLOT_M if slot is None else float(slot)
    spread = HEAT_SPREAD if spread is None else float(spread)
    take = HEAT_TAKE if take is None else float(take)
    edge = HEAT_EDGE if edge is None else float(edge)
    edge_width = HEAT_EDGE_WIDTH if edge_width is None else edge_width
    nx, ny, nz = ap.shape
    jt = JetTubes(len(pf.face), ap.shape)
    s = pf.group["rack_in"]
    idx = np.arange(s.start, s.stop)
    idx = idx[(pf.face[idx] < ap.nfx + ap.nfy) & (port_q[idx] < 0)]  # side-facing intakes that draw
    if not len(idx):
        return jt
    ts = pf.group["tile"]
    tiles = np.arange(ts.start, ts.stop)
    tiles = tiles[port_q[tiles] > 0]
    col_tiles: dict = {}
    ti, tj, _ = np.unravel_index(pf.cell[tiles], ap.shape)
    for p, i, j in zip(tiles.tolist(), ti.tolist(), tj.tolist()):
        col_tiles.setdefault((i, j), []).append(p)
    col_faces: dict = {}
    fi, fj, fk = np.unravel_index(pf.cell[idx], ap.shape)
    for p, i, j, k in zip(idx.tolist(), fi.tolist(), fj.tolist(), fk.tolist()):
        if (i, j) in col_tiles:
            col_faces.setdefault((i, j), []).append((k, p))
    if not col_faces:
        return jt
    cols = sorted(col_faces)
    nl = max(max(k for k, _ in col_faces[c]) + 1 for c in cols)
    nt = len(cols)
    nk = max(len(col_tiles[c]) for c in cols)
    jt.cells = np.full((nt, nl), -1, dtype=np.int64)
    jt.b_in, jt.take, jt.ent, jt.b_out = (np.zeros((nt, nl)) for _ in range(4))
    jt.edge_cells = np.full((nt, nl, 2), -1, dtype=np.int64)
    jt.edge_q = np.zeros((nt, nl, 2))
    front = front_cells(ap, pf)
    cond = ap.face_views(ap.cond)
    solid = ap.solid
    jt.tile_ports = np.full((nt, nk), -1, dtype=np.int64)
    jt.tile_w = np.zeros((nt, nk))
    fp, ft, fl, fb = [], [], [], []
    for t, (i, j) in enumerate(cols):
        faces = col_faces[(i, j)]
        top = max(k for k, _ in faces)
        across = ap.dx if pf.face[faces[0][1]] < ap.nfx else ap.dy
        along_x = pf.face[faces[0][1]] >= ap.nfx  # a y-facing front runs along x
        share = lambda z: min(1.0, (slot + spread * z) / across)  # noqa: E731  the jet's share of the cell
        free = [[] for _ in range(top + 1)]  # per layer: its free edges (side, d, the cell beside, the face)
        for k in range(top + 1 if edge > 0 else 0):
            for side, d in enumerate((-1, 1)):
                ni, nj = (i + d, j) if along_x else (i, j + d)
                if not (0 <= ni < nx and 0 <= nj < ny) or solid[ni, nj, k] or front[ni, nj, k]:
                    continue
                f = (max(i, ni), j, k) if along_x else (i, max(j, nj), k)
                if cond[0 if along_x else 1][f] < 1.0:  # a containment panel or door: no free edge
                    continue
                free[k].append((side, d, ni, nj, f))
        if slot <= 0 and spread <= 0 and not any(free):
            continue  # no core and no free edge: a tube that carries nothing (left out below)
        tp = col_tiles[(i, j)]
        q0 = float(port_q[tp].sum())
        w0 = q0 / (ap.dx * ap.dy)
        jt.tile_ports[t, :len(tp)] = tp
        jt.tile_w[t, :len(tp)] = port_q[tp]
        b = q0 * share(0.0)
        jt.pq_add[tp] -= port_q[tp] * (b / q0)
        for k in range(top + 1):
            jt.cells[t, k] = (i * ny + j) * nz + k  # np.ravel_multi_index((i, j, k), ap.shape)
            jt.b_in[t, k] = b
            avail = b
            for kk, p in faces:
                if kk == k:
                    bf = min(take * -float(port_q[p]), avail)
                    avail -= bf
                    jt.take[t, k] += bf
                    jt.pq_add[p] += bf
                    fp.append(p), ft.append(t), fl.append(k), fb.append(bf)
            drawn = [0.0, 0.0]
            grow = q0 * (share((k + 1) * ap.dz) - share(k * ap.dz))
            thick = min(across, across if edge_width == "cell" else
                        slot + spread * (k + 0.5) * ap.dz if edge_width == "jet" else float(edge_width))
            for side, d, ni, nj, f in free[k]:
                e = edge * w0 * thick * ap.dz
                jt.edge_cells[t, k, side] = (ni * ny + nj) * nz + k
                jt.edge_q[t, k, side] = drawn[side] = e
                sub = jt.fx_sub if along_x else jt.fy_sub
                sub[f] += e if d < 0 else -e  # the face's flux toward the jet's cell, less what the jet draws
            b_up = b + max(grow, 0.0) + (drawn[0] + drawn[1])
            jt.b_out[t, k] = b_up
            jt.ent[t, k] = b_up - b + jt.take[t, k] - (drawn[0] + drawn[1])
            if k < top:
                jt.fz_sub[i, j, k + 1] = b_up
            b = b_up
    jt.face_port, jt.face_tube = np.array(fp, dtype=np.int64), np.array(ft, dtype=np.int64)
    jt.face_layer, jt.face_b = np.array(fl, dtype=np.int64), np.array(fb)
    return _live(jt)


def _live(jt: JetTubes) -> JetTubes:
    """``jt`` without the tubes that carry nothing (with the core off, all but those at a free edge: a row's
    end, a gap); they took nothing from the faces, so the flow and every balance stay as they were."""
    live = (jt.b_out > 0).any(axis=1)
    if live.all():
        return jt
    new = np.cumsum(live) - 1
    for name in ("cells", "b_in", "take", "ent", "b_out", "edge_cells", "edge_q", "tile_ports", "tile_w"):
        setattr(jt, name, getattr(jt, name)[live])
    f = live[jt.face_tube]
    jt.face_port, jt.face_layer, jt.face_b = jt.face_port[f], jt.face_layer[f], jt.face_b[f]
    jt.face_tube = new[jt.face_tube[f]]
    return jt
