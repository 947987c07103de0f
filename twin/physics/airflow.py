"""Air velocity in a hall by Fast Fluid Dynamics (Zuo & Chen), marched to a steady state.

Each step on the staggered grid of an :class:`~dctwin.twin.sim.compile.AirPlant`:

1. eddy viscosity by Chen's zero-equation model, ``nu_t = 0.03874 |U| l`` (l the
   distance to the nearest wall) with a floor;
2. semi-Lagrangian advection (trace back, trilinear interpolation); optionally
   (``scheme="mcl"``) a limited MacCormack correction that reduces its numerical diffusion;
3. implicit diffusion with nu_t (no-slip walls), a few Jacobi sweeps;
4. projection: ``∇·(c ∇φ) = ∇·U*`` by preconditioned CG, warm-started (:data:`SOLVER`:
   a multigrid V-cycle with x/y semi-coarsening and vertical-line Gauss-Seidel, or MIC(0)),
   then ``U = U* - c ∇φ``, so the face fluxes are discretely divergence-free.

Boundaries: rack exhausts, unit supplies, perforated tiles and the plenum leakage
are velocity inlets; rack intakes and in-row unit returns fixed-flux outlets; the
returns of perimeter units (top faces) or the ceiling grilles take the balance,
so mass closes in every connected region of air. Tile flows come from a common
plenum pressure: ``Q_i = A_i sqrt(2 ΔP / (ρ K_t(f_i)))`` with Idelchik's
``K_t(f) = f^-2 (1 + 0.5 (1-f)^0.75 + 1.414 (1-f)^0.375)``; the tile jet enters the
momentum equation at ``Q / (A f)`` (mass at ``Q / A``).

Time step: ``courant`` x the smallest cell size / the fastest inflow velocity. A cold
march runs at least one residence time ``V / Q`` (Q all inflows, racks included), then
compares the mean flow of consecutive windows of half a residence time; it stops when
they differ by less than ``tol`` (RMS over the open faces, relative). The result is the
last window's time average, projected once more to round-off, so a weakly unsteady flow
is time-averaged. A warm start (``init``) compares windows from its first step.

Elements that cannot breathe (a rack front against a wall, a region of air with a supply
but no return) get airflow 0 and a warning naming them; nothing produces NaN.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from dctwin.twin.errors import DctwinError
from dctwin.twin.physics import _airflow_numba as _nb
from dctwin.twin.physics import turbulence as _turb
from dctwin.twin.physics import wall_jet as _wall_jet
from dctwin.twin.physics.constants import RHO_AIR

#: Chen & Xu (1998) zero-equation constant (-)
CHEN_A = 0.03874
#: floor of the eddy viscosity (m2/s): well above molecular (1.5e-5), far below
#: the 0.03 m2/s that kills tile jets (PHYSICS.md §1)
NU_FLOOR = 1e-3
#: Courant number of the march. Semi-Lagrangian advection is stable at any; on room B1
#: Courant 1, 2 and 4 gave rack inlets within 0.05 K of each other, so take 3.
COURANT = 3.0
#: momentum advection by default (see :func:`solve_flow` for why not "mcl")
SCHEME = "sl"
#: weight of the MacCormack correction of "mcl" (0 = semi-Lagrangian, 1 = full MacCormack).
#: On the aisle rooms the "mcl" flow stays steady and mirror-symmetric up to about 0.5 and turns
#: unsteady (mirror images 0.01-0.5 m/s apart) from 0.6 up.
MC_WEIGHT = 0.5
#: relative tolerance of the projection in the march (x fastest inflow / cell size), per scheme.
#: The projection residual seeds asymmetry that a low-diffusion flow amplifies: with "mcl", 1e-3
#: left 2e-3 m/s between mirror images of the aisle room, 3e-4 leaves 6e-4 m/s (1e-4: 1e-4 m/s,
#: at twice the CG iterations: 0.55 instead of 0.34 s of projection on room B1). With the intake
#: momentum (``intake_keep`` > 0) every scheme takes at most :data:`MARCH_TOL_KEEP`.
MARCH_TOL = {"sl": 1e-3, "rk2": 1e-3, "mc": 1e-3, "mc1": 1e-3, "mcl": 3e-4}
#: share of the vertical momentum that air leaving through a rack intake leaves behind in the cell
#: beside the intake (0 = the leaving air takes its momentum along, upwind outflow; 1 = none, a
#: fixed-velocity outlet as the rack fronts of the CFD reference rooms). See :func:`intake_rates`.
#: On the four CFD rooms (tests/data/cfd, docs/validation.md) 0.5 lowers the mean rack-inlet RMS
#: from 1.86 to 1.69 K and the worst room/case from 2.91 to 2.49 K; above about 0.75 the tile jets
#: along the rack fronts can settle in two states after a warm start. The fifth room, made after
#: 0.5 was chosen (e_hot_return), confirms it: 2.58 -> 2.22 K (uniform), 1.74 -> 1.40 K (mixed).
#: Cost: the march takes 5-40 % longer (tighter projection, :data:`MARCH_TOL_KEEP`).
INTAKE_KEEP = 0.5
#: the projection tolerance of the march when the intake momentum is on: 1e-3 left 5e-3 m/s
#: between mirror images of the aisle room, 3e-4 leaves 1.4e-3 m/s
MARCH_TOL_KEEP = 3e-4
#: the viscous start of a march (``solve_flow(anneal=ANNEAL)``): the eddy viscosity ANNEAL times the model's
#: for the first ANNEAL_TAU residence times, so that the flow forms where it has one steady state whatever it
#: starts from; the march then goes on at the model's viscosity from there (a continuation in the Reynolds
#: number), settles ANNEAL_AFTER residence times and compares its windows. On small (0.6 m grid) marches
#: from rest and from the coarse-grid flow at the same airflows end 1.1 K apart at row-end racks at the
#: model's viscosity throughout; with ANNEAL = 20 for half a residence time 0.007 K (ANNEAL = 8: 0.6 K; the
#: start's steps 3x as long: 0.5 K). docs/validation.md, "Session 23: the cold steady solve"
ANNEAL = 20.0
ANNEAL_TAU = 0.5
ANNEAL_AFTER = 0.25
#: new airflows called back at the end of the viscous start (``retarget``) prolong it by ANNEAL_AGAIN x
#: ANNEAL_TAU residence times at them, so that it ends near the one state of the airflows it ends at
ANNEAL_AGAIN = 0.5
#: Jacobi sweeps of the implicit viscous step
DIFFUSE_SWEEPS = 2
#: MIC(0) parameters (Bridson)
MIC_TAU = 0.97
MIC_SIGMA = 0.25
#: pressure solver of the projection: "mg" multigrid-preconditioned CG (:func:`_mg_levels`),
#: "mic0" MIC(0)-preconditioned CG
SOLVER = "mg"
#: line Gauss-Seidel sweeps before (forward) and after (backward) each coarse correction
MG_SMOOTH = 1
#: symmetric line-GS sweep pairs on the coarsest level
MG_COARSE_SWEEPS = 5
#: coarsen until at most this many columns are left
MG_COARSE_COLUMNS = 64
#: a coarse horizontal face = MG_HSCALE x the sum of its child faces (0.5: their mean; 1: Galerkin)
MG_HSCALE = 0.5


def idelchik_k(open_fraction: np.ndarray | float) -> np.ndarray:
    """Loss coefficient of a thin perforated plate (-), Idelchik; on the gross tile velocity."""
    f = np.clip(np.asarray(open_fraction, dtype=np.float64), 1e-3, 1.0)
    return (1.0 + 0.5 * (1.0 - f) ** 0.75 + 1.414 * (1.0 - f) ** 0.375) / f ** 2


@dataclass
class FlowBC:
    """Airflows driving the flow, in AirPlant order (m3/s).

    rack_airflow_m3s : per rack (0 = off).
    unit_airflow_m3s : per cooling unit (0 = failed/stopped; rdhx/cdu ignored).
    tile_airflow_m3s : optional override of the tile supply: a scalar total split by
        the common plenum pressure, or one value per tile. Default: the plenum units'
        airflow less leakage.
    """

    rack_airflow_m3s: np.ndarray
    unit_airflow_m3s: np.ndarray
    tile_airflow_m3s: Optional[np.ndarray | float] = None


@dataclass
class Flow:
    """A steady (time-averaged) flow field on an AirPlant grid.

    ``u`` face velocity (m/s, + along the axis), ``flux`` face volume flux (m3/s),
    both flat per face (AirPlant face numbering). ``port_q`` the flux into the room of
    every port face (m3/s, negative = out), in the order of :func:`port_faces`.
    ``rack_q``, ``unit_in_q``, ``unit_out_q``, ``tile_q``, ``grille_q``, ``leak_q``: the
    per-port totals (m3/s, positive numbers). ``nu_t`` eddy viscosity at cell centres.
    ``airflow_warnings`` names the elements whose airflow could not be honoured (no air path:
    set to 0); ``warnings`` is those and, for a march that did not settle, a sentence saying so.
    ``adjusted``: carried over from a marched flow (:func:`~dctwin.twin.physics.flow_adjust.adjust_flow`).
    """

    u: np.ndarray
    flux: np.ndarray
    port_q: np.ndarray
    rack_q: np.ndarray
    unit_in_q: np.ndarray
    unit_out_q: np.ndarray
    tile_q: np.ndarray
    grille_q: np.ndarray
    leak_q: float
    phi: np.ndarray
    nu_t: np.ndarray
    plenum_dp_pa: float
    steps: int = 0
    sim_time_s: float = 0.0
    converged: bool = True
    solve_s: float = 0.0
    max_div: float = 0.0
    warnings: list[str] = field(default_factory=list)
    airflow_warnings: list[str] = field(default_factory=list)
    adjusted: bool = False
    scheme: str = SCHEME  # momentum advection the march used
    k: Optional[np.ndarray] = None  # turbulent kinetic energy (m2/s2) of a one-equation march, else None
    cache: dict = field(default_factory=dict, repr=False)  # derived coefficients (thermal)

    def cell_velocity(self, ap) -> np.ndarray:
        """Cell-centre velocity (m/s), shape (nx, ny, nz, 3); 0 in solids."""
        u, v, w = ap.face_views(self.u)
        out = np.empty(ap.shape + (3,))
        out[..., 0] = 0.5 * (u[:-1] + u[1:])
        out[..., 1] = 0.5 * (v[:, :-1] + v[:, 1:])
        out[..., 2] = 0.5 * (w[:, :, :-1] + w[:, :, 1:])
        out[ap.solid] = 0.0
        return out

    def copy(self) -> "Flow":
        import copy
        return copy.deepcopy(self)


class MarchTooLong(DctwinError):
    """A march whose most steps times cells exceed the caller's budget (``max_work``), refused before
    its first step. ``steps`` of ``dt_s`` (s) on ``cells`` cells; ``speed_m_s``: the fastest inflow,
    which sets the step, at port face ``port_face`` (index into :func:`port_faces`, -1: none);
    ``tau_s``: the room's residence time, which sets how long the march may go on."""

    def __init__(self, hall_id: str, steps: int, dt_s: float, tau_s: float, cells: int, speed_m_s: float,
                 port_face: int, max_work: float) -> None:
        self.hall_id, self.steps, self.dt_s, self.tau_s = hall_id, steps, dt_s, tau_s
        self.cells, self.speed_m_s, self.port_face, self.max_work = cells, speed_m_s, port_face, max_work
        super().__init__(f"{hall_id}: the air march would take up to {steps:,} steps of {dt_s:.3g} s on {cells:,} "
                         f"cells ({steps * cells:.3g} cell-steps; at most {max_work:.3g})")


# --------------------------------------------------------------------------- plant helpers


def components_and_wall_distance(solid: np.ndarray, cond: np.ndarray, dx: float, dy: float, dz: float):
    """(component labels, number of regions, wall distance in m) of a grid (used by compile)."""
    nx, ny, nz = solid.shape
    a, b = (nx + 1) * ny * nz, (nx + 1) * ny * nz + nx * (ny + 1) * nz
    cx = cond[:a].reshape(nx + 1, ny, nz)
    cy = cond[a:b].reshape(nx, ny + 1, nz)
    cz = cond[b:].reshape(nx, ny, nz + 1)
    comp = np.empty((nx, ny, nz), dtype=np.int64)
    n = _nb.components(solid, cx, cy, cz, comp)
    dist = np.empty((nx, ny, nz))
    _nb.wall_distance(solid, dx, dy, dz, dist)
    return comp, int(n), dist


@dataclass
class PortFaces:
    """All port faces of a plant concatenated: rack_in, rack_out, unit_in, unit_out, tile, grille, leak."""

    face: np.ndarray
    cell: np.ndarray
    sign: np.ndarray
    area: np.ndarray
    group: dict  # name -> slice into the concatenation


GROUPS = ("rack_in", "rack_out", "unit_in", "unit_out", "tile", "grille", "leak")


def port_faces(ap) -> PortFaces:
    """The concatenated port faces of ``ap`` (cached on the plant)."""
    pf = ap.cache.get("port_faces")
    if pf is None:
        parts = [getattr(ap, g) for g in GROUPS]
        sl, o = {}, 0
        for g, p in zip(GROUPS, parts):
            sl[g] = slice(o, o + len(p.face))
            o += len(p.face)
        pf = PortFaces(np.concatenate([p.face for p in parts]), np.concatenate([p.cell for p in parts]),
                       np.concatenate([p.sign for p in parts]), np.concatenate([p.area for p in parts]), sl)
        ap.cache["port_faces"] = pf
    return pf


def face_areas(ap) -> np.ndarray:
    """Area (m2) of every face, flat in face numbering."""
    fa = ap.cache.get("face_areas")
    if fa is None:
        fa = np.concatenate([np.full(ap.nfx, ap.dy * ap.dz), np.full(ap.nfy, ap.dx * ap.dz),
                             np.full(ap.nfz, ap.dx * ap.dy)])
        ap.cache["face_areas"] = fa
    return fa


def _mg_levels(ap) -> tuple:
    """The multigrid hierarchy of ``ap``'s pressure operator (cached): packed flat arrays
    ``(dims, offs, kx, ky, kz, solid, invd)`` for :func:`_airflow_numba.mg_pcg`.

    Level 0 is the grid itself (k = c / h², 1/m²); each next level merges 2 x 2 columns
    (:func:`_airflow_numba.mg_coarsen`, horizontal faces scaled by :data:`MG_HSCALE`) until
    at most :data:`MG_COARSE_COLUMNS` columns are left (or nothing is left to merge).
    """
    key = ("mg", MG_HSCALE, MG_COARSE_COLUMNS)
    mg = ap.cache.get(key)
    if mg is not None:
        return mg
    nx, ny, nz = ap.shape
    cx, cy, cz = ap.face_views(ap.cond)
    lv = [(nx, ny, cx / ap.dx ** 2, cy / ap.dy ** 2, cz / ap.dz ** 2, ap.solid.astype(np.bool_))]
    while nx * ny > MG_COARSE_COLUMNS and (nx > 1 or ny > 1):
        ncx, ncy = (nx + 1) // 2, (ny + 1) // 2
        kx, ky, kz = np.empty((ncx + 1, ncy, nz)), np.empty((ncx, ncy + 1, nz)), np.empty((ncx, ncy, nz + 1))
        sc = np.empty((ncx, ncy, nz), dtype=np.bool_)
        _nb.mg_coarsen(lv[-1][2], lv[-1][3], lv[-1][4], lv[-1][5], MG_HSCALE, kx, ky, kz, sc)
        lv.append((ncx, ncy, kx, ky, kz, sc))
        nx, ny = ncx, ncy
    dims = np.array([[a[0], a[1]] for a in lv], dtype=np.int64)
    sizes = np.array([[a[5].size, a[2].size, a[3].size, a[4].size] for a in lv], dtype=np.int64)
    offs = np.zeros_like(sizes)
    offs[1:] = np.cumsum(sizes[:-1], axis=0)
    piv = []
    for a in lv:
        piv.append(np.empty(a[5].shape))
        _nb.mg_factor(a[2], a[3], a[4], a[5], piv[-1])
    flat = [np.concatenate([a[m].ravel() for a in lv]) for m in (2, 3, 4, 5)]
    flat.append(np.concatenate([p.ravel() for p in piv]))
    mg = (dims, offs, *flat)
    ap.cache[key] = mg
    return mg


def _precon(ap) -> np.ndarray:
    pc = ap.cache.get("mic0")
    if pc is None:
        cx, cy, cz = ap.face_views(ap.cond)
        pc = np.empty(ap.shape)
        _nb.mic0_precon(cx, cy, cz, ap.solid, ap.dx, ap.dy, ap.dz, MIC_TAU, MIC_SIGMA, pc)
        ap.cache["mic0"] = pc
    return pc


# --------------------------------------------------------------------------- boundary flows


def _per_face(ports, q_port: np.ndarray) -> np.ndarray:
    """Spread per-port flows over the port's faces in proportion to face area."""
    if ports.n == 0 or len(ports.face) == 0:
        return np.zeros(len(ports.face))
    area = ports.port_area()
    share = np.divide(q_port, area, out=np.zeros(ports.n), where=area > 0)
    return np.repeat(share, np.diff(ports.offsets)) * ports.area


def boundary_flows(ap, bc: FlowBC) -> dict:
    """Port fluxes (m3/s into the room per port face, concatenated as :func:`port_faces`) and totals.

    Returns a dict with ``port_q``, ``rack_q``, ``unit_in_q``, ``unit_out_q``, ``tile_q``,
    ``grille_q``, ``leak_q``, ``plenum_dp_pa``, ``jet`` (per port face, momentum velocity
    magnitude of tile jets, else 0) and ``warnings`` (list of str naming elements).
    """
    pf = port_faces(ap)
    warn: list[str] = []
    nr, nu = ap.n_racks, ap.n_units
    rq = np.asarray(bc.rack_airflow_m3s, dtype=np.float64).reshape(-1).copy()
    uq = np.asarray(bc.unit_airflow_m3s, dtype=np.float64).reshape(-1).copy()
    if rq.shape != (nr,):
        raise ValueError(f"rack_airflow_m3s has {rq.size} values for {nr} racks")
    if uq.shape != (nu,):
        raise ValueError(f"unit_airflow_m3s has {uq.size} values for {nu} cooling units")
    bad = ~np.isfinite(rq) | (rq < 0)
    for r in np.nonzero(bad)[0]:
        warn.append(f"{ap.rack_ids[r]}: airflow {rq[r]!r} m3/s is not a finite non-negative number; set to 0")
    rq[bad] = 0.0
    bad = ~np.isfinite(uq) | (uq < 0)
    for n in np.nonzero(bad)[0]:
        warn.append(f"{ap.unit_ids[n]}: airflow {uq[n]!r} m3/s is not a finite non-negative number; set to 0")
    uq[bad] = 0.0
    # elements without an air path
    ra_in, ra_out = ap.rack_in.port_area(), ap.rack_out.port_area()
    for r in range(nr):
        if rq[r] > 0 and (ra_in[r] <= 0 or ra_out[r] <= 0):
            warn.append(f"{ap.rack_ids[r]}: rack has no air path (front or back blocked); airflow set to 0")
            rq[r] = 0.0
    ua_in, ua_out = ap.unit_in.port_area(), ap.unit_out.port_area()
    for n in range(nu):
        kind = ap.unit_kinds[n]
        if kind in ("rdhx", "cdu"):
            continue
        if uq[n] > 0 and kind == "inrow" and (ua_in[n] <= 0 or ua_out[n] <= 0):
            warn.append(f"{ap.unit_ids[n]}: in-row unit has no air path (front or rear blocked); airflow set to 0")
            uq[n] = 0.0
        if uq[n] > 0 and not ap.unit_plenum[n] and kind != "inrow" and ua_out[n] <= 0:
            warn.append(f"{ap.unit_ids[n]}: unit front (supply) is blocked; airflow set to 0")
            uq[n] = 0.0
    air_unit = np.array([k not in ("rdhx", "cdu") for k in ap.unit_kinds], dtype=bool)
    uq_air = np.where(air_unit, uq, 0.0)

    # tiles from the plenum
    nt = ap.tile.n
    plenum_q = float(uq_air[ap.unit_plenum].sum()) if nu else 0.0
    leak_q = ap.leakage_fraction * plenum_q if ap.leak.n and len(ap.leak.face) else 0.0
    tile_area_grid = ap.tile.port_area()
    live = tile_area_grid > 0
    kt = idelchik_k(ap.tile_open_fraction) if nt else np.zeros(0)
    if bc.tile_airflow_m3s is not None and np.ndim(bc.tile_airflow_m3s) > 0:
        tq = np.asarray(bc.tile_airflow_m3s, dtype=np.float64).reshape(-1).copy()
        if tq.shape != (nt,):
            raise ValueError(f"tile_airflow_m3s has {tq.size} values for {nt} tiles")
        tq = np.where(np.isfinite(tq) & (tq > 0) & live, tq, 0.0)
        tile_total = float(tq.sum())
    else:
        if bc.tile_airflow_m3s is not None:
            tile_total = max(float(bc.tile_airflow_m3s), 0.0) if math.isfinite(bc.tile_airflow_m3s) else 0.0
        else:
            tile_total = plenum_q - leak_q
        wt = np.where(live, ap.tile_area_m2 / np.sqrt(np.maximum(kt, 1e-12)), 0.0) if nt else np.zeros(0)
        if wt.sum() > 0:
            tq = tile_total * wt / wt.sum()
        else:
            tq = np.zeros(nt)
            if tile_total > 0:
                if ap.leak.n and len(ap.leak.face):
                    leak_q += tile_total  # no live tile: the plenum air leaks out through the floor
                    warn.append(f"{ap.hall_id}: the raised floor has no open tile; the plenum air "
                                f"({tile_total:.3g} m3/s) leaks through the floor")
                else:
                    warn.append(f"{ap.hall_id}: the raised floor has no open tile and no leakage path; "
                                f"{tile_total:.3g} m3/s of plenum air is lost")
    dp = 0.0
    if nt and tq.sum() > 0:
        i = int(np.argmax(tq))
        dp = 0.5 * RHO_AIR * kt[i] * (tq[i] / ap.tile_area_m2[i]) ** 2

    # fixed port flows (into the room positive)
    q = np.zeros(len(pf.face))
    q[pf.group["rack_in"]] = -_per_face(ap.rack_in, rq)
    q[pf.group["rack_out"]] = _per_face(ap.rack_out, rq)
    inrow = np.array([k == "inrow" for k in ap.unit_kinds], dtype=bool)
    q_uin_fixed = np.where(inrow, uq_air, 0.0)
    q_uout = np.where(~ap.unit_plenum & air_unit, uq_air, 0.0)
    q[pf.group["unit_in"]] = -_per_face(ap.unit_in, q_uin_fixed)
    q[pf.group["unit_out"]] = _per_face(ap.unit_out, q_uout)
    q[pf.group["tile"]] = _per_face(ap.tile, tq)
    q[pf.group["leak"]] = _per_face(ap.leak, np.array([leak_q])) if ap.leak.n else 0.0

    # balancing returns: top faces of perimeter units, or the ceiling grilles
    bal = np.zeros(len(pf.face), dtype=bool)
    wbal = np.zeros(len(pf.face))
    if ap.ceiling_return:
        s = pf.group["grille"]
        bal[s] = True
        wbal[s] = pf.area[s]
    else:
        s = pf.group["unit_in"]
        per = np.repeat(np.arange(ap.unit_in.n), np.diff(ap.unit_in.offsets))
        bal[s] = ap.unit_balancing[per]
        ua = np.maximum(ua_in[per], 1e-30)
        wbal[s] = np.where(ap.unit_balancing[per], uq_air[per] / ua * pf.area[s], 0.0)

    comp = ap.component.reshape(-1)[pf.cell]
    ncomp = ap.n_components
    owner_partner = elem = None
    for _ in range(2 * len(pf.face) + 1):
        net = np.bincount(comp, weights=np.where(bal, 0.0, q), minlength=ncomp)
        has_bal = np.bincount(comp, weights=bal.astype(np.float64), minlength=ncomp) > 0
        scale = max(float(np.abs(q).sum()), 1e-12)
        bad = (np.abs(net) > 1e-9 * scale + 1e-12) & ((~has_bal) | (net < 0))
        if not bad.any():
            break
        if elem is None:
            owner_partner = _partners(ap, pf)
            # element of every port face: racks and units own two groups (intake, exhaust/supply)
            elem = [("rack" if g.startswith("rack") else "unit" if g.startswith("unit") else g, p)
                    for _, (g, p) in owner_partner]
        live = np.nonzero((q != 0) & ~bal)[0]
        # first the elements that breathe into two regions of air, one of them unbalanced (a rack
        # drawing from a sealed pocket and blowing into the room); then whatever supplies the rest
        regions: dict = {}
        for f in live:
            regions.setdefault(elem[f], set()).add(int(comp[f]))
        straddle = {e for e, cs in regions.items() if len(cs) > 1 and any(bad[c] for c in cs)}
        if straddle:
            dead = [f for f in live if elem[f] in straddle]
        else:
            dead = [f for f in live if bad[comp[f]]]
        names = sorted({owner_partner[f][0] for f in dead})
        warn.append("no air path that balances the airflows of " + ", ".join(names)
                    + " (they breathe into a region of air with no supply or return); airflow set to 0")
        kill = {elem[f] for f in dead}
        for f in range(len(q)):
            if elem[f] in kill and not bal[f]:
                q[f] = 0.0
    net = np.bincount(comp, weights=np.where(bal, 0.0, q), minlength=ncomp)
    wsum = np.bincount(comp, weights=np.where(bal, wbal, 0.0), minlength=ncomp)
    asum = np.bincount(comp, weights=np.where(bal, pf.area, 0.0), minlength=ncomp)
    cb = comp[bal]
    use_w = wsum[cb] > 0
    share = np.where(use_w, wbal[bal] / np.where(wsum[cb] > 0, wsum[cb], 1.0),
                     pf.area[bal] / np.where(asum[cb] > 0, asum[cb], 1.0))
    q[bal] = -net[cb] * share

    # totals
    def tot(g, ports):
        return np.bincount(ports.port_of_face(), weights=np.abs(q[pf.group[g]]), minlength=ports.n)[: ports.n]

    jet = np.zeros(len(pf.face))
    st = pf.group["tile"]
    if nt:
        per = ap.tile.port_of_face()
        jet[st] = np.abs(q[st]) / pf.area[st] / np.clip(ap.tile_open_fraction[per], 1e-3, 1.0)
    return dict(port_q=q, rack_q=tot("rack_in", ap.rack_in), unit_in_q=tot("unit_in", ap.unit_in),
                unit_out_q=tot("unit_out", ap.unit_out), tile_q=tot("tile", ap.tile),
                grille_q=tot("grille", ap.grille), leak_q=float(np.abs(q[pf.group["leak"]]).sum()),
                plenum_dp_pa=float(dp), jet=jet, warnings=warn)


def _faces_of_port(ap, g, p):
    ports = getattr(ap, g)
    return slice(int(ports.offsets[p]), int(ports.offsets[p + 1]))


def _partners(ap, pf) -> list[tuple[str, tuple[str, int]]]:
    """(element id, (group, port)) of every port face, for messages and shutting elements off."""
    out: list = [None] * len(pf.face)
    names = {"rack_in": ap.rack_ids, "rack_out": ap.rack_ids, "unit_in": ap.unit_ids,
             "unit_out": ap.unit_ids, "tile": ap.tile_ids, "grille": ap.grille_ids,
             "leak": [f"{ap.hall_id} floor leakage"]}
    for g in GROUPS:
        ports = getattr(ap, g)
        base = pf.group[g].start
        for p, owner in enumerate(ports.port_of_face()):
            out[base + p] = (names[g][owner] if owner < len(names[g]) else g, (g, int(owner)))
    return out


def intake_rates(ap, port_q: np.ndarray) -> np.ndarray:
    """Per face, the rate (1/s) at which air leaves the cells beside a side-facing rack intake:
    for a vertical (z) face, ``0.5 * (q_A / V_A + q_B / V_B)`` over the cells below and above it,
    q the cell's outflow (m3/s) through rack-intake faces with a horizontal normal; 0 elsewhere
    and on faces that are not open.

    Used by the march as ``dw/dt = INTAKE_KEEP * rate * w``: the air drawn into the rack takes
    only part of the vertical momentum of the tile jet rising along the rack front with it, so the
    jet stays on the front and rises higher, as in the CFD reference rooms (whose intakes are
    fixed-velocity outlets: the leaving air carries no tangential momentum). Per unit intake area
    the momentum kept is ``u_n * w`` whatever the cell size.
    """
    pf = port_faces(ap)
    s = pf.group["rack_in"]
    q = -port_q[s]
    faces = pf.face[s]
    m = (q > 0) & (faces < ap.nfx + ap.nfy)
    r = np.zeros(ap.n_cells)
    np.add.at(r, pf.cell[s][m], q[m] / ap.cell_volume_m3)
    r = r.reshape(ap.shape)
    out = np.zeros(ap.n_faces)
    fw = ap.face_views(out)[2]
    fw[:, :, 1:-1] = 0.5 * (r[:, :, :-1] + r[:, :, 1:])
    out[ap.cond != 1.0] = 0.0
    return out


# --------------------------------------------------------------------------- the march


class _Work:
    """Scratch arrays for the march (allocated once per solve)."""

    def __init__(self, ap):
        self.a = np.zeros(ap.n_faces)
        self.b = np.zeros(ap.n_faces)
        self.t = np.zeros(ap.n_faces)
        self.lo = np.zeros(ap.n_faces)
        self.hi = np.zeros(ap.n_faces)
        self.nu = np.zeros(ap.shape)
        self.div = np.zeros(ap.shape)


def solve_pressure(ap, phi, b, tol, max_iter=2000, solver: Optional[str] = None) -> int:
    """Solve A phi = b (the projection's pressure system) in place from the warm start ``phi``,
    to max|b - A phi| <= tol, by preconditioned CG; ``solver`` "mg" (multigrid V-cycle) or
    "mic0" (incomplete Cholesky), default :data:`SOLVER`. ``b`` must have zero mean over every
    connected region. Returns the iteration count."""
    solver = SOLVER if solver is None else solver
    cx, cy, cz = ap.face_views(ap.cond)
    if solver == "mg":
        return _nb.mg_pcg(phi, b, cx, cy, cz, ap.solid, ap.dx, ap.dy, ap.dz, *_mg_levels(ap), MG_SMOOTH,
                          MG_COARSE_SWEEPS, tol, max_iter)
    if solver == "mic0":
        return _nb.pcg(phi, b, cx, cy, cz, ap.solid, ap.dx, ap.dy, ap.dz, _precon(ap), tol, max_iter)
    raise ValueError(f"unknown pressure solver {solver!r}; one of mg, mic0")


def project(ap, uf, phi, tol, max_iter=2000, solver: Optional[str] = None) -> int:
    """Make face velocities ``uf`` divergence-free in place (warm start and result in ``phi``)."""
    u, v, w = ap.face_views(uf)
    cx, cy, cz = ap.face_views(ap.cond)
    div = np.empty(ap.shape)
    _nb.divergence(u, v, w, ap.solid, ap.dx, ap.dy, ap.dz, div)
    b = -div
    _nb.remove_region_mean(b, ap.component, max(ap.n_components, 1))
    it = solve_pressure(ap, phi, b, tol, max_iter, solver)
    _nb.subtract_gradient(u, v, w, phi, cx, cy, cz, ap.dx, ap.dy, ap.dz)
    return it


_OFFS = ((0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0))


def _advect(ap, vel, conds, dt, outs, scheme, work, mc_weight=1.0):
    """Advect the three components: "sl" Euler semi-Lagrangian, "rk2" midpoint trace,
    "mc" MacCormack with RK2 traces, "mc1" MacCormack with Euler traces, "mcl" limited
    MacCormack (correction weighted by ``mc_weight``, clamped to the stencil)."""
    u, v, w = vel
    if scheme == "mcl":
        fh_all = ap.face_views(work.t)
        lo_all = ap.face_views(work.lo)
        hi_all = ap.face_views(work.hi)
        for f, o, c, fh, lo, hi in zip(vel, _OFFS, conds, fh_all, lo_all, hi_all):
            _nb.mcl_forward(f, o[0], o[1], o[2], u, v, w, c, dt, ap.dx, ap.dy, ap.dz, fh, lo, hi)
        for f, o, c, fh, lo, hi, out in zip(vel, _OFFS, conds, fh_all, lo_all, hi_all, outs):
            _nb.mcl_correct(f, fh, lo, hi, o[0], o[1], o[2], u, v, w, c, dt, ap.dx, ap.dy, ap.dz, mc_weight, out)
        return
    rk2 = scheme in ("rk2", "mc")
    if scheme not in ("mc", "mc1"):
        for f, o, c, out in zip(vel, _OFFS, conds, outs):
            _nb.advect_component(f, o[0], o[1], o[2], u, v, w, c, dt, ap.dx, ap.dy, ap.dz, rk2, out)
        return
    fh_all = ap.face_views(work.t)
    fb_all = ap.face_views(work.b)
    for f, o, c, fh in zip(vel, _OFFS, conds, fh_all):
        _nb.advect_component(f, o[0], o[1], o[2], u, v, w, c, dt, ap.dx, ap.dy, ap.dz, rk2, fh)
    for fh, o, c, fb in zip(fh_all, _OFFS, conds, fb_all):
        _nb.advect_component(fh, o[0], o[1], o[2], u, v, w, c, -dt, ap.dx, ap.dy, ap.dz, rk2, fb)
    for f, fh, fb, o, c, out in zip(vel, fh_all, fb_all, _OFFS, conds, outs):
        _nb.maccormack_correct(f, fh, fb, o[0], o[1], o[2], u, v, w, c, dt, ap.dx, ap.dy, ap.dz, rk2, out)


def _boundary_velocities(ap, pf, bc: FlowBC) -> tuple:
    """(boundary flows, face velocities of the mass (projection) and momentum (advection) boundary
    values, mask of the port faces that enter as jets) of the airflows ``bc``."""
    bf = boundary_flows(ap, bc)
    ubc = np.zeros(ap.n_faces)
    ubc[pf.face] = pf.sign * bf["port_q"] / pf.area
    ujet = ubc.copy()
    jet = bf["jet"]
    m = jet > 0
    ujet[pf.face[m]] = pf.sign[m] * jet[m]
    return bf, ubc, ujet, m


def _top_open(ap, bf) -> np.ndarray:
    """(nx, ny) 1 under a ceiling return grille that takes air, else 0: there the tangential
    velocity has zero gradient (an outlet), elsewhere the ceiling is a no-slip wall."""
    top = np.zeros(ap.shape[:2])
    pf = port_faces(ap)
    s = pf.group["grille"]
    cells = pf.cell[s][bf["port_q"][s] < 0]
    if len(cells):
        i, j, _ = np.unravel_index(cells, ap.shape)
        top[i, j] = 1.0
    return top


def max_divergence(ap, uf: np.ndarray) -> float:
    """Largest |∇·U| over fluid cells (1/s)."""
    u, v, w = ap.face_views(uf)
    div = np.empty(ap.shape)
    _nb.divergence(u, v, w, ap.solid, ap.dx, ap.dy, ap.dz, div)
    return float(np.abs(div).max()) if div.size else 0.0


def solve_flow(ap, bc: FlowBC, init: Optional[Flow] = None, *, max_time_s: Optional[float] = None, chen_a: float = CHEN_A,
               tol: float = 0.04, courant: float = COURANT, nu_floor: float = NU_FLOOR,
               diffuse_sweeps: int = DIFFUSE_SWEEPS, wall: float = 2.0, scheme: str = SCHEME,
               mc_weight: float = MC_WEIGHT, march_tol: Optional[float] = None, window_tau: float = 0.5,
               intake_keep: float = INTAKE_KEEP, max_work: Optional[float] = None,
               turbulence: Optional[_turb.OneEquation] = None,
               retarget: Optional[Callable[[Flow], Optional[FlowBC]]] = None, rack_front_nu: float = 1.0,
               rack_front_jet: str = "off", anneal: float = 1.0, anneal_tau: Optional[float] = None) -> Flow:
    """March the FFD equations to a steady (time-averaged) flow.

    Parameters
    ----------
    ap : compiled plant.
    bc : airflows (m3/s).
    init : a previous Flow on the same plant to warm-start from (after an airflow change).
    max_time_s : simulated-time limit of the march (default 12 residence times, at least 60 s).
    tol : convergence: the mean flows of two consecutive windows differ by less than
        ``tol`` x their RMS velocity, in the RMS over the open (interior) faces.
    courant : time step = courant * min cell size / largest inflow velocity.
    scheme : momentum advection. "sl" (default) semi-Lagrangian with trilinear interpolation
        and Euler traces; "rk2" midpoint traces; "mc1" MacCormack (Selle et al. 2008) with
        Euler traces, "mc" with RK2 traces (both fall back to "sl" where the corrected value
        leaves the stencil); "mcl" limited MacCormack: the correction weighted by
        ``mc_weight`` and clamped to the min/max of the departure stencil (continuous, so
        round-off does not grow into asymmetry), two passes per component.
        Trilinear interpolation diffuses momentum on a 0.3 m grid: against the CFD flow of
        room B1 (OpenFOAM k-epsilon, 0.15 m) "sl" jets entrain about half the air the CFD's do
        and the cold aisle drains toward the return; rack inlets 1.52 / 2.41 K RMS (uniform /
        mixed power). "mc1": 1.30 / 1.96 K but unsteady (mirror images 0.1-0.4 m/s apart).
        "mcl" (weight 0.5): 1.48 / 2.19 K, steady and mirror-symmetric (6e-4 m/s) at about
        2x the cost of "sl" (B1 cold 0.8 vs 0.35 s); but where the layout is not symmetric its flow can settle in
        more than one state: on the 3+3-rack aisle room with one rack turned down, a warm start
        and a cold start end 0.76 m/s apart at the jet merge over the aisle (0.2 K at the rack
        inlets), against 0.03 m/s for "sl". So "sl" stays the default.
    mc_weight : weight of the "mcl" correction (0..1, default :data:`MC_WEIGHT`).
    march_tol : projection tolerance in the march, relative (default per scheme, :data:`MARCH_TOL`).
    window_tau : averaging window of the march in residence times (default 0.5).
    intake_keep : share of the vertical momentum that rack-intake air leaves behind (0..1, default
        :data:`INTAKE_KEEP`; see :func:`intake_rates`). The kept momentum never lifts a face
        velocity above twice the fastest inflow velocity.
    turbulence : None (default): Chen's zero-equation eddy viscosity (``chen_a``); a
        :class:`~dctwin.twin.physics.turbulence.OneEquation`: the eddy viscosity of a turbulent kinetic
        energy carried with the flow (warm-started from ``init.k`` when it has one).
    max_work : budget of the march in cell-steps (cells x the most steps it may take, up to
        ``max_time_s`` and a window); a march over it raises :class:`MarchTooLong` before its first step.
    retarget : airflows that follow the flow (racks' fans that follow their inlet temperature): called
        at the end of a cold march's settling (with the instantaneous field; with ``anneal``: at the end of
        the viscous start, whose new airflows prolong it, see :data:`ANNEAL_AGAIN`) and then at the end of
        every window (with its mean) with the flow so far, it returns new airflows for the rest of the march or None. New
        airflows restart the comparison of windows (two consecutive windows at the same airflows end a
        march) and set the time step anew (``courant`` on their fastest inflow; the windows' and the
        march's lengths in time stay those of ``bc``); after its first None it is not called again (but
        for the end of the viscous start: the windows may still call).
    rack_front_nu : share of the eddy viscosity the march keeps in the cells in front of rack intakes
        (0..1, default 1: off); rack_front_jet: their vertical velocity above a tile held at least at a
        plane wall jet's ("core", "carried"; default "off"). Both :mod:`~dctwin.twin.physics.wall_jet`.
    anneal : the viscous start (1: none): the eddy viscosity ``anneal`` x Chen's for the first
        ``anneal_tau`` residence times (default :data:`ANNEAL_TAU`), from rest or from ``init`` alike (then the march settles
        :data:`ANNEAL_AFTER` residence times before its windows). The flow forms where it has one steady
        state and goes on at the model's viscosity from there, so where it ends does not depend on where
        it started (small: rest and a coarse-grid flow 0.007 K apart at the rack inlets with
        :data:`ANNEAL`, 1.1 K without). Not with ``turbulence``.

    Returns
    -------
    Flow (discretely divergence-free face fluxes). Elements whose airflow cannot be
    honoured are named in ``flow.airflow_warnings`` (and ``flow.warnings``).
    """
    t0 = time.perf_counter()
    pf = port_faces(ap)
    nf = ap.n_faces
    bf, ubc, ujet, m = _boundary_velocities(ap, pf, bc)
    closed = np.flatnonzero(ap.cond == 0.0)  # (indices: a boolean mask scans every face each step)
    interior = np.nonzero(ap.cond == 1.0)[0]
    leaky = (ap.cond > 0.0) & (ap.cond < 1.0)

    vmax = float(np.abs(ujet).max()) if nf else 0.0
    # time step from the inflow velocities (jets, exhausts, supplies): the fast air at a return
    # leaves the room at once, and semi-Lagrangian advection is stable at any Courant number
    q_in_face = bf["port_q"] > 0
    v_in = np.abs(ujet[pf.face[q_in_face]])
    v_step = float(v_in.max()) if v_in.size else vmax
    inflow = float(bf["port_q"][bf["port_q"] > 0].sum())
    vol = max(ap.fluid_volume_m3, 1e-9)
    hmin = min(ap.dx, ap.dy, ap.dz)
    warn = list(bf["warnings"])

    if init is not None and len(init.u) == nf and np.shape(init.phi) == ap.shape:
        uf = init.u.copy()
        phi = init.phi.copy()
    else:
        uf = np.zeros(nf)
        phi = np.zeros(ap.shape)
        init = None
    uf[closed] = ubc[closed]
    uf[leaky] = 0.0
    if scheme not in MARCH_TOL:
        raise ValueError(f"unknown advection scheme {scheme!r}; one of {', '.join(MARCH_TOL)}")
    if not 0.0 <= intake_keep <= 1.0:
        raise ValueError(f"intake_keep {intake_keep!r} is out of range (0..1)")
    if march_tol is None:
        march_tol = MARCH_TOL[scheme] if intake_keep <= 0 else min(MARCH_TOL[scheme], MARCH_TOL_KEEP)
    tol_p = march_tol * max(vmax, 1e-3) / hmin

    if vmax <= 1e-9 or inflow <= 1e-12:
        uf[:] = ubc
        project(ap, uf, phi, 1e-12 * max(vmax, 1e-3) / hmin)
        fl = make_flow(ap, uf, phi, np.full(ap.shape, nu_floor), bf, 0, 0.0, True, t0, warn)
        fl.scheme = scheme
        return fl

    dt = courant * hmin / max(v_step, 1e-3)
    tau = vol / inflow
    window = max(window_tau * tau, 5 * dt)
    if max_time_s is None:
        max_time_s = max(12.0 * tau, 60.0)
    annealed = anneal > 1.0 and turbulence is None
    anneal_tau = ANNEAL_TAU if anneal_tau is None else anneal_tau
    # the viscous start: the eddy viscosity anneal x the model's until t_anneal (0: none or over)
    t_anneal = anneal_tau * tau if annealed else 0.0
    if annealed:
        min_time = t_anneal + ANNEAL_AFTER * tau
    else:
        min_time = 0.0 if init is not None else 1.0 * tau
    n_win = max(int(math.ceil(window / dt)), 1)
    most_steps = int(math.ceil((max_time_s + window) / dt))
    if max_work is not None and most_steps * ap.n_cells > max_work:
        fastest = int(np.flatnonzero(q_in_face)[np.argmax(v_in)]) if v_in.size else -1
        raise MarchTooLong(ap.hall_id, most_steps, dt, tau, ap.n_cells, v_step, fastest, max_work)

    w = _Work(ap)

    def on_ports(new_bc: FlowBC) -> None:
        """The march goes on at the airflows ``new_bc``: its step from their fastest inflow (same Courant
        number), the windows as long in time as they were."""
        nonlocal bf, ubc, ujet, m, top_open, jet_faces, jet_vals, keep_faces, keep_gain, v_clip, tol_p, dt, n_win
        nonlocal ubc_closed
        bf, ubc, ujet, m = _boundary_velocities(ap, pf, new_bc)
        ubc_closed = ubc[closed]
        top_open = _top_open(ap, bf)
        jet_faces, jet_vals = pf.face[m], ujet[pf.face[m]]
        v_in = np.abs(ujet[pf.face[bf["port_q"] > 0]])
        v_clip = float(v_in.max()) if v_in.size else v_clip
        dt = courant * hmin / max(v_clip, 1e-3)
        n_win = max(int(math.ceil(window / dt)), 1)
        keep_rate = intake_rates(ap, bf["port_q"]) if intake_keep > 0 else np.zeros(0)
        keep_faces = np.nonzero(keep_rate)[0]
        keep_gain = intake_keep * dt * keep_rate[keep_faces]
        tol_p = march_tol * max(float(np.abs(ujet).max()), 1e-3) / hmin
        warn[:] = list(bf["warnings"])

    top_open = _top_open(ap, bf)
    ubc_closed = ubc[closed]
    cx, cy, cz = ap.face_views(ap.cond)
    # advection reads the jet velocities at tile faces
    adv = np.empty(nf)
    au, av, aw = ap.face_views(adv)
    ou, ov, ow = ap.face_views(w.a)
    tu, tv, tw = ap.face_views(w.t)
    acc = np.zeros(nf)
    prev_mean = None
    t = 0.0
    steps = 0
    converged = False
    k_in_win = 0
    jet_faces = pf.face[m]
    jet_vals = ujet[jet_faces]
    mean = uf.copy()
    keep_rate = intake_rates(ap, bf["port_q"]) if intake_keep > 0 else np.zeros(0)
    keep_faces = np.nonzero(keep_rate)[0]
    keep_gain = intake_keep * dt * keep_rate[keep_faces]
    v_clip = v_step
    retargeted = False
    kf = None
    front_jet = _wall_jet.RackFrontJet.make(ap, pf, rack_front_nu, rack_front_jet)
    if turbulence is not None:
        kf = _turb.KField(ap, turbulence, pf.cell, bf["port_q"], pf.area, nu_floor, None if init is None else init.k)
    while True:
        if kf is not None:
            kf.step(uf, dt)
        if kf is not None and turbulence.momentum:
            w.nu[:] = kf.nu
        else:
            eddy_viscosity(ap, uf, chen_a * anneal if t_anneal > 0.0 else chen_a, nu_floor, out=w.nu)
        if front_jet is not None:
            front_jet.apply(w.nu, uf, ubc)
        adv[:] = uf
        adv[jet_faces] = jet_vals
        _advect(ap, (au, av, aw), (cx, cy, cz), dt, (ou, ov, ow), scheme, w, mc_weight)
        # ou.. now hold U*; restore mass boundary values on closed faces, then diffuse
        if len(keep_faces):
            kept = w.a[keep_faces] * (1.0 + keep_gain)
            w.a[keep_faces] = np.clip(kept, -2.0 * v_clip, 2.0 * v_clip)
        w.a[closed] = ubc_closed
        w.b[:] = w.a
        su, sv, sw = ap.face_views(w.b)
        _nb.diffuse(ou, ov, ow, su, sv, sw, cx, cy, cz, ap.solid, w.nu, dt, ap.dx, ap.dy, ap.dz,
                    wall, top_open, diffuse_sweeps, tu, tv, tw)
        uf[:] = w.a
        project(ap, uf, phi, tol_p)
        t += dt
        steps += 1
        if t_anneal > 0.0 and t >= t_anneal - 1e-12:  # the viscous start ends here, or goes on at new airflows
            t_anneal = 0.0
            new_bc = None
            if retarget is not None:  # the temperatures on it diffuse with the model's viscosity
                new_bc = retarget(make_flow(ap, uf.copy(), phi.copy(), eddy_viscosity(ap, uf, chen_a, nu_floor), bf,
                                            steps, t, False, t0, []))
            if new_bc is not None:  # (None: the windows may still call back)
                on_ports(new_bc)
                uf[closed] = ubc_closed
                retargeted = True
                t_anneal = t + ANNEAL_AGAIN * anneal_tau * tau
                min_time = max(min_time, t_anneal + ANNEAL_AFTER * tau)
        elif retarget is not None and not annealed and t < min_time - 1e-12 and t + dt >= min_time - 1e-12:
            new_bc = retarget(make_flow(ap, uf.copy(), phi.copy(), w.nu.copy(), bf, steps, t, False, t0, []))
            if new_bc is None:
                retarget = None
            else:
                on_ports(new_bc)
                uf[closed] = ubc_closed
                retargeted = True
        if t >= min_time - 1e-12:
            acc += uf
            k_in_win += 1
            if k_in_win == n_win:
                mean = acc / k_in_win
                new_bc = None
                if retarget is not None:
                    new_bc = retarget(make_flow(ap, mean.copy(), phi.copy(), w.nu.copy(), bf, steps, t, False, t0, []))
                    if new_bc is None:
                        retarget = None
                    else:  # the windows start again at the new airflows
                        on_ports(new_bc)
                        uf[closed] = ubc_closed
                        prev_mean, retargeted = None, True
                if prev_mean is not None and new_bc is None:
                    d = (mean - prev_mean)[interior]
                    change = float(np.sqrt(np.mean(d * d))) if d.size else 0.0
                    mi = mean[interior]
                    if change <= tol * (float(np.sqrt(np.mean(mi * mi))) if mi.size else 0.0):
                        converged = True
                if new_bc is None:
                    prev_mean = mean
                acc[:] = 0.0
                k_in_win = 0
                if converged or t >= max_time_s:
                    break
        if t >= max_time_s + window:
            break
    if not converged:
        warn.append(f"{ap.hall_id}: the flow did not settle within {t:.0f} s of simulated time; "
                    f"using the last {window:.0f} s average")
    uf[:] = mean
    if retargeted:  # a window that began at earlier airflows
        uf[closed] = ubc_closed
    project(ap, uf, phi, 1e-10 * max(vmax, 1e-3) / hmin, max_iter=5000)
    if kf is None:
        eddy_viscosity(ap, uf, chen_a, nu_floor, out=w.nu)
    # the temperature's diffusivity follows this nu_t (thermal.coefficients)
    fl = make_flow(ap, uf, phi, (w.nu if kf is None else kf.nu).copy(), bf, steps, t, converged, t0, warn)
    fl.scheme = scheme
    fl.k = None if kf is None else kf.k.copy()
    return fl


def resample_faces(src, u_src: np.ndarray, dst) -> np.ndarray:
    """The face velocities ``u_src`` of the plant ``src`` linearly interpolated onto the faces of the
    plant ``dst`` (another grid of the same hall, both from the hall's origin; values beyond the last
    face or centre are held). Solid faces of ``src`` read 0, so the result is no flow: it is a start
    for a projection and a march, not a flow."""
    out = np.empty(dst.n_faces)
    for axis, (a, b) in enumerate(zip(src.face_views(u_src), dst.face_views(out))):
        b[...] = resample(a, _coords(src, axis), _coords(dst, axis))
    return out


def resample(a: np.ndarray, src_xyz: tuple, dst_xyz: tuple) -> np.ndarray:
    """The 3-D array ``a`` (its points at the coordinates ``src_xyz``, one evenly spaced array per
    axis) linearly interpolated at the points ``dst_xyz`` (one array per axis), axis by axis."""
    for axis, (xs, xd) in enumerate(zip(src_xyz, dst_xyz)):
        if len(xs) == 1:
            a = np.repeat(a, len(xd), axis=axis)
            continue
        f = np.clip((xd - xs[0]) / (xs[1] - xs[0]), 0.0, len(xs) - 1.0)
        i0 = np.minimum(f.astype(np.int64), len(xs) - 2)
        shape = [1, 1, 1]
        shape[axis] = len(xd)
        w = (f - i0).reshape(shape)
        a = np.take(a, i0, axis=axis) * (1.0 - w) + np.take(a, i0 + 1, axis=axis) * w
    return a


def _coords(ap, face_axis: Optional[int]) -> tuple:
    """Coordinates (m, from the hall's origin) of the cell centres of ``ap`` along each axis, or of
    the faces normal to ``face_axis`` (None: cell centres)."""
    out = []
    for axis, (n, h) in enumerate(zip(ap.shape, (ap.dx, ap.dy, ap.dz))):
        out.append(np.arange(n + 1) * h if axis == face_axis else (np.arange(n) + 0.5) * h)
    return tuple(out)


def resample_cells(src, a: np.ndarray, dst) -> np.ndarray:
    """A cell-centred field ``a`` of the plant ``src`` linearly interpolated onto the cells of ``dst``."""
    return resample(a, _coords(src, None), _coords(dst, None))


def eddy_viscosity(ap, uf: np.ndarray, chen_a: float = CHEN_A, nu_floor: float = NU_FLOOR,
                   out: Optional[np.ndarray] = None) -> np.ndarray:
    """Eddy viscosity (m2/s) at cell centres of the face velocities ``uf``: Chen's zero-equation
    model ``nu_t = chen_a |U| l`` (l the wall distance), at least ``nu_floor``; into ``out``."""
    out = np.empty(ap.shape) if out is None else out
    u, v, w = ap.face_views(uf)
    _nb.chen_viscosity(u, v, w, ap.solid, ap.wall_dist_m, chen_a, nu_floor, out)
    return out


def make_flow(ap, uf, phi, nu, bf, steps, t, converged, t0, warn) -> Flow:
    """The :class:`Flow` of divergence-free face velocities ``uf`` (its pressure ``phi``, eddy
    viscosity ``nu``) on the boundary flows ``bf`` (:func:`boundary_flows`), after ``steps`` march
    steps over ``t`` s of simulated time begun at ``t0`` (perf_counter); ``warn`` its warnings."""
    fa = face_areas(ap)
    flux = uf * fa
    fl = Flow(u=uf, flux=flux, port_q=bf["port_q"], rack_q=bf["rack_q"], unit_in_q=bf["unit_in_q"],
              unit_out_q=bf["unit_out_q"], tile_q=bf["tile_q"], grille_q=bf["grille_q"], leak_q=bf["leak_q"],
              phi=phi, nu_t=nu, plenum_dp_pa=bf["plenum_dp_pa"], steps=steps, sim_time_s=t,
              converged=converged, warnings=warn, airflow_warnings=list(bf["warnings"]))
    fl.max_div = max_divergence(ap, uf)
    fl.solve_s = time.perf_counter() - t0
    return fl


def mass_balance(ap, flow: Flow) -> tuple[float, float]:
    """(total inflow, total outflow) through all ports (m3/s); they are equal when mass closes."""
    q = flow.port_q
    return float(q[q > 0].sum()), float(-q[q < 0].sum())
