"""Air temperature in a hall: conservative finite-volume transport on a frozen FFD flow.

``V dT/dt + Σ_faces F T_upwind = Σ_faces D ΔT + Σ_ports q T_port`` on the cells of an
:class:`~dctwin.twin.sim.compile.AirPlant`, with the discretely divergence-free face fluxes ``F``
of a :class:`~dctwin.twin.physics.airflow.Flow` and an effective diffusivity
``alpha = max(nu_t / Pr_t, alpha_floor)`` (Pr_t = 0.9; the floor, 0.02 m2/s by
default, stands for the turbulent mixing a coarse zero-equation model misses,
PHYSICS.md §1). Upwind advection keeps T bounded; each face flux leaves one cell
and enters its neighbour, so the air's energy changes only through the ports
(round-off exact).

Transients (:func:`step`): up to four explicit upwind sub-steps per engine step, else
backward Euler: Gauss-Seidel by vertical cell lines (each column solved exactly, the
columns in the flow's order, after a correction of blocks of columns while many are off,
then local passes over the few columns still off) from a
caller's start, e.g. the last iterates extrapolated, until the update would move no cell
by more than a tolerance, then the update in flux form; so energy is conserved to
round-off and the step is stable at any length. Steady states
(:func:`solve_steady`): symmetric SOR sweeps with the racks coupled (exhaust = inlet +
P / (rho cp Q)). Temperatures in °C, energies in J relative to 0 °C, flows in m3/s.
"""

from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dctwin.twin.errors import DctwinError
from dctwin.twin.physics import _thermal_numba as _nb
from dctwin.twin.physics import wall_jet as _wall_jet
from dctwin.twin.physics.airflow import Flow, port_faces
from dctwin.twin.physics.constants import CP_AIR, RHO_AIR

RHO_CP = RHO_AIR * CP_AIR
#: turbulent Prandtl number (-)
PR_T = 0.9
#: floor of the effective temperature diffusivity (m2/s), PHYSICS.md §1: 0.01-0.03
ALPHA_FLOOR = 0.02


#: explicit sub-steps per engine step at most; a step that needs more is backward Euler
MAX_EXPLICIT_SUBSTEPS = 4
#: backward-Euler line sweeps stop when the flux-form update would move no cell by more than
#: this (K): (dt/V) |residual| of the iterate. The update keeps energy exact whatever the sweeps
#: leave, and a stop on this residual (not on the change per sweep) keeps the run on the tight
#: solve (1,000-rack hall, 600 s after a load change: rack inlets within 0.007 K of a 1e-7 K solve;
#: 10 s steps: 0.011 K)
IMPLICIT_TOL_K = 1e-2
IMPLICIT_MAX_SWEEPS = 300
#: full line sweeps before the first check: one sweep lowers the residual everywhere (the local
#: passes after it fix few columns), so cells do not sit just under the tolerance step after step
#: (1,000-rack hall, 600 s after a load change: rack inlets 0.009 K off a 1e-7 K solve with it,
#: 0.016 K without)
IMPLICIT_MIN_SWEEPS = 1
#: near a steady state the solve must also cut the residual of its first check by this factor,
#: down to IMPLICIT_FLOOR x the tolerance: the error a step leaves enters the next start through
#: the extrapolation, and stopping just under the tolerance would sustain a jitter of that size
#: (a steady hall whose temperatures wander by 0.01 K a step; with 0.25 about 1e-4 K). The cut
#: costs local passes (1,000-rack hall: about 15 a step late in a transient against 5 with 0.5)
#: and halves the drift from the tight solve (0.007 K against 0.013 K)
IMPLICIT_REL = 0.25
IMPLICIT_FLOOR = 0.01
#: while fewer than 1 / LOCAL_FRACTION of the cell columns are off the tolerance, only those and
#: their neighbours are relaxed (eddies the flow order cuts converge locally); else a full sweep
LOCAL_FRACTION = 4
#: the same with the blocks' correction (``step(..., blocks=True)``; COARSE_BLOCK): a full sweep after the
#: correction pays off from 1/16 of the columns off. A 1 s step of the validated grid's 1,000-rack hall with
#: 1,067 columns off after the first sweep: 1 full sweep + 37 local passes -> 2 + 4; its adaptive hour 55.4 ->
#: 15.2 local passes a step. That hour in the same minutes (load 3-7): 100.4 s CPU before the correction, 28.0 s
#: with it (4 x 4 blocks, LOCAL_FRACTION_BLOCKS 16)
LOCAL_FRACTION_BLOCKS = 16

#: when more than 1 / LOCAL_FRACTION of the columns are off, each full sweep follows a correction of
#: blocks of COARSE_BLOCK x COARSE_BLOCK columns, layer by layer (additive correction, COARSE_SWEEPS
#: sweeps of the blocks' balance; ``_thermal_numba._coarse_correction``): line sweeps relax the part of
#: the error that varies slowly across many columns (the air above the racks at long steps) by a few
#: per cent a sweep. Validated grid (0.3 x 0.125 m), 1,000-rack hall, a 10 s step of the adaptive hour:
#: 2 full sweeps and 66 local passes, 194 ms CPU without; 2 and 38, 47 ms with (4 x 4, 10 sweeps; 8 x 8:
#: 67 ms), the iterate 0.0010 K off the 1e-8 K solve against 0.0024 K. Steps with few columns off
#: (most 1 s steps) never take it
#: (numba constants of the kernel module, so the kernel's signature stays)
COARSE_BLOCK = _nb.COARSE_BLOCK
COARSE_SWEEPS = _nb.COARSE_SWEEPS

#: a backward-Euler step's start is extrapolated from the last two steps' iterates quadratically for
#: steps up to this long (s) and linearly for longer ones. The quadratic weights (2 and -1 on the last
#: two rates at even steps) triple the jitter each step's solve leaves in the rates, which a longer step
#: pays for in local passes. 1,000-rack hall, the bench's hour (load change at 0 and 30 min), CPU at
#: load 8-10, linear / quadratic: 5 s steps 2.4 / 4.6 s (14.6 / 23.6 local passes a step), 10 s 2.1 /
#: 3.8 s, 2 s 5.3 / 7.0 s; against the same hour solved to 1e-7 K the linear start is as close or
#: closer at 1, 30, 31 and 60 min (5 s: inlets at most 0.0088 K against 0.0090 K; 10 s: 0.0072 against
#: 0.0069 K). At 1 s the two cost the same over the 600 s after a load change (2.09 / 2.08 s) and the
#: quadratic start lands twice as close 60 s in (0.0036 against 0.0072 K), so 1 s steps keep it
EXTRAPOLATE_QUADRATIC_MAX_DT_S = 1.0

#: over-relaxation of the point sweeps of a steady solve (``method="sor"``; falls back to 1 if it
#: diverges); B1: 1.0 -> 1000 sweeps, 1.4 -> about 450, 1.6 -> 320, 1.8 diverges
SOR_OMEGA = 1.4
#: steady solves by default: "lines" (Gauss-Seidel over vertical cell lines in flow order, the transient's
#: line machinery with an infinite step) or "sor" (symmetric point SOR). Lines carry heat downstream in one
#: sweep: the small demo's four solves in a `dctwin solve` took 1,560 + 201 + 102 + 48 point sweeps (1.4 s CPU),
#: now 105 + 93 + 52 + 24 line sweeps (0.09 s), rack inlets within 5e-5 K (docs/validation.md, speed)
STEADY_METHOD = "lines"
#: pseudo-time rate of the steady line sweeps (1/s): cv = V x this keeps a column with no outflow and no
#: conductance solvable; the term is cv (T - T of the last sweep), zero at the fixed point
STEADY_CV_RATE = 1e-6

#: the rack-front wall jets (session 25, :class:`~dctwin.twin.physics.wall_jet.JetTubes`) are on in
#: :func:`solve_steady`, :func:`step` and :func:`port_means` when their ``front_jet_edge`` (the air model's,
#: :class:`~dctwin.twin.sim.air_models.AirModel`) is above 0: the intakes along a tile take part of their air
#: from the sub-grid stream that rises along them (the room air its free edge draws in at a row's end or a
#: gap at ``front_jet_edge`` x the tile's velocity), at the stream's own temperature, not at the cell mean.
#: Better on all 22 CFD room/cases with "fast" at 0.3 (docs/validation.md, "Session 25"); off by default.
#: A step with the jets alternates setting the jets' tops from the iterate with the implicit solve, at most
#: this many times, until they move by less than its tolerance
JET_STEP_PASSES = 20
#: a steady solve with the jets alternates setting the jets' temperatures and the racks' intake from them
#: from the field with at most this many line sweeps, until a pass of sweeps settles (to the solve's
#: ``tol_k``) with jets that moved by less than ``tol_k`` (B1: 2,661 sweeps when each pass settled, 0.49 s
#: CPU, against 492 without the jets; passes of 10 sweeps: 557, 0.10 s). With ``tvd`` every pass settles
JET_PASS_SWEEPS = 10


class NoSteadyState(DctwinError):
    """Heat enters the hall air but no airflow carries it out: the temperature has no steady state."""


@dataclass
class Coeffs:
    """Transport coefficients of one flow (interior fluxes, conductances, ports)."""

    fx: np.ndarray
    fy: np.ndarray
    fz: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    gz: np.ndarray
    pc: np.ndarray  # port face -> cell
    pq: np.ndarray  # port face flux into the room (m3/s)
    vol: float  # cell volume (m3)
    max_rate: float  # max over cells of (outflow + conductance) / V (1/s)
    out: np.ndarray  # per cell: outflow + conductance (m3/s)
    lines: Optional[np.ndarray] = None  # (7, nx, ny, nz) backward-Euler coefficients, on first use
    order: Optional[np.ndarray] = None  # vertical cell columns in flow order, on first use
    factors: dict = field(default_factory=dict)  # dt (s) -> (3, nx, ny, nz) Thomas factors

    def line_arrays(self, solid: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coefficients, Thomas factors for ``dt``, column order) of the line sweeps, computed
        once per flow and kept (the factors of the last few step lengths)."""
        if self.lines is None:
            a = np.empty((7,) + solid.shape)
            _nb.line_coefficients(self.fx, self.fy, self.fz, self.gx, self.gy, self.gz, solid, self.pc, self.pq, a)
            order = np.empty(solid.shape[0] * solid.shape[1], np.int64)
            _nb.column_order(self.fx, self.fy, order)
            self.lines, self.order = a, order
        f = self.factors.get(dt)
        if f is None:
            f = np.empty((3,) + solid.shape)
            _nb.line_factor(self.lines, solid, self.vol / dt, f)
            if len(self.factors) >= 4:
                self.factors.pop(next(iter(self.factors)))
            self.factors[dt] = f
        return self.lines, f, self.order


def _flow_cache(flow) -> dict:
    """The dict of derived data cached on ``flow`` (a flow-like object without one gets one if it can)."""
    cache = getattr(flow, "cache", None)
    if cache is None:
        cache = {}
        try:
            flow.cache = cache
        except AttributeError:
            pass
    return cache


def coefficients(ap, flow: Flow, alpha_floor: float = ALPHA_FLOOR, pr_t: float = PR_T) -> Coeffs:
    """Transport coefficients of ``flow`` (cached on the flow)."""
    key = ("coeffs", float(alpha_floor), float(pr_t))
    cache = _flow_cache(flow)
    c = cache.get(key)
    if c is not None:
        return c
    interior = ap.cond > 0.0
    f = np.where(interior, flow.flux, 0.0)
    fx, fy, fz = (a.copy() for a in ap.face_views(f))
    nu = flow.nu_t
    alpha_c = np.maximum(nu / pr_t, alpha_floor)
    cx, cy, cz = ap.face_views(ap.cond)
    gx = np.zeros_like(cx)
    gy = np.zeros_like(cy)
    gz = np.zeros_like(cz)
    gx[1:-1] = 0.5 * (alpha_c[:-1] + alpha_c[1:]) * cx[1:-1] * (ap.dy * ap.dz / ap.dx)
    gy[:, 1:-1] = 0.5 * (alpha_c[:, :-1] + alpha_c[:, 1:]) * cy[:, 1:-1] * (ap.dx * ap.dz / ap.dy)
    gz[:, :, 1:-1] = 0.5 * (alpha_c[:, :, :-1] + alpha_c[:, :, 1:]) * cz[:, :, 1:-1] * (ap.dx * ap.dy / ap.dz)
    pf = port_faces(ap)
    pc = pf.cell.astype(np.int64)
    pq = flow.port_q.astype(np.float64)
    out = np.zeros(ap.shape)
    _nb.outflow_rate(fx, fy, fz, gx, gy, gz, pc, pq, out)
    vol = ap.cell_volume_m3
    c = Coeffs(fx, fy, fz, gx, gy, gz, pc, pq, vol, float(out.max()) / vol if out.size else 0.0, out)
    cache[key] = c
    return c


def _jet_constants(edge: float) -> tuple:
    return (_wall_jet.HEAT_SLOT_M, _wall_jet.HEAT_SPREAD, _wall_jet.HEAT_TAKE, float(edge), _wall_jet.HEAT_EDGE_WIDTH)


def jet_tubes(ap, flow: Flow, edge: float = _wall_jet.HEAT_EDGE) -> "_wall_jet.JetTubes":
    """The rack-front jets' sub-grid streams of ``flow`` with the free edge drawing ``edge`` x the tile's
    velocity (cached on the flow, for its current constants)."""
    key = ("jet_tubes",) + _jet_constants(edge)
    cache = _flow_cache(flow)
    jt = cache.get(key)
    if jt is None:
        jt = cache[key] = _wall_jet.jet_tubes(ap, port_faces(ap), flow.port_q, edge=edge)
    return jt


def jet_coefficients(ap, flow: Flow, edge: float = _wall_jet.HEAT_EDGE,
                     alpha_floor: float = ALPHA_FLOOR) -> tuple[Coeffs, "_wall_jet.JetTubes"]:
    """:func:`coefficients` with the jets' streams (:func:`jet_tubes`) taken out of the resolved flow
    (cached on the flow): the columns' z fluxes less the stream, the tiles' and intakes' port fluxes less
    what the streams carry, and per tube its entrainment (outflow ports, after the plant's port faces) and
    its top (an inflow port after those)."""
    key = ("coeffs_jet", float(alpha_floor)) + _jet_constants(edge)
    cache = _flow_cache(flow)
    hit = cache.get(key)
    if hit is not None:
        return hit
    c = coefficients(ap, flow, alpha_floor)
    jt = jet_tubes(ap, flow, edge)
    fx, fy, fz = c.fx - jt.fx_sub, c.fy - jt.fy_sub, c.fz - jt.fz_sub
    pc = np.concatenate([c.pc, jt.ent_cell, jt.top_cell]).astype(np.int64)
    pq = np.concatenate([c.pq + jt.pq_add, -jt.ent_q, jt.top_q]).astype(np.float64)
    out = np.zeros(ap.shape)
    _nb.outflow_rate(fx, fy, fz, c.gx, c.gy, c.gz, pc, pq, out)
    cj = Coeffs(fx, fy, fz, c.gx, c.gy, c.gz, pc, pq, c.vol, float(out.max()) / c.vol if out.size else 0.0, out)
    cache[key] = (cj, jt)
    return cj, jt


def _jet_inlets(ap, flow: Flow, jt, tf: np.ndarray, port_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each rack's inlet with the jets (°C): its intakes' flow-weighted mean of the cell air for what
    they take from the cell, of the jet for what they take from it; the jets' top temperatures)."""
    pf = port_faces(ap)
    s = pf.group["rack_in"]
    w = -flow.port_q[s]
    at, top = jt.temperatures(tf, port_t)
    t_face = tf[pf.cell[s]]
    heat = w * t_face
    k = jt.face_port - s.start
    heat[k] += jt.face_b * (at[jt.face_tube, jt.face_layer] - t_face[k])
    per = ap.rack_in.port_of_face()
    hs = np.bincount(per, weights=heat, minlength=ap.n_racks)[:ap.n_racks]
    ws = np.bincount(per, weights=w, minlength=ap.n_racks)[:ap.n_racks]
    return np.where(ws > 0, hs / np.where(ws > 0, ws, 1.0), np.nan), top


def _solve_steady_jet(ap, flow, c0, T, P, rq, rack_dt, unit_supply_c, tile_supply_c, tol_k, max_sweeps, tvd,
                      return_info, alpha_floor, edge):
    """:func:`solve_steady` with the jets (``front_jet_edge`` = ``edge`` > 0): the line solve on
    :func:`jet_coefficients`, in outer iterations that set the jets' tops to their temperatures and each
    rack's exhaust to its inlet with the jets (through its ``rack_dt``: the kernel's inlet is the mean over the cell part) + P / (rho cp Q)."""
    pf = port_faces(ap)
    c, jt = jet_coefficients(ap, flow, edge, alpha_floor)
    n_ent, n_top = len(jt.ent_q), jt.n
    pT0 = inflow_temperatures(ap, flow, np.zeros(ap.n_racks), unit_supply_c, tile_supply_c)
    jt.port_t = pT0.copy()
    pT = np.concatenate([pT0, np.zeros(n_ent + n_top)])
    p_rack = np.full(len(pT), -1, dtype=np.int64)
    p_rack[pf.group["rack_out"]] = ap.rack_out.port_of_face()
    rin_face = np.arange(pf.group["rack_in"].start, pf.group["rack_in"].stop, dtype=np.int64)
    rin_rack = ap.rack_in.port_of_face()
    a, f, order = c.line_arrays(ap.solid, 1.0 / STEADY_CV_RATE)
    kernel = _nb.steady_lines_tvd if tvd else _nb.steady_lines
    tf = T.reshape(-1)
    w_cell = -c.pq[rin_face]
    prev, settled, sweeps = None, False, 0
    while sweeps < max_sweeps:
        tin, top = _jet_inlets(ap, flow, jt, tf, pT0)
        hs = np.bincount(rin_rack, weights=w_cell * tf[c.pc[rin_face]], minlength=ap.n_racks)[:ap.n_racks]
        ws = np.bincount(rin_rack, weights=w_cell, minlength=ap.n_racks)[:ap.n_racks]
        tin_k = np.where(ws > 0, hs / np.where(ws > 0, ws, 1.0), 0.0)
        dt = rack_dt + np.where(np.isfinite(tin), tin - tin_k, 0.0)
        pT[len(pT0) + n_ent:] = top
        now = np.concatenate([np.where(np.isfinite(tin), tin, 0.0), top])
        if settled and float(np.abs(now - prev).max(initial=0.0)) < tol_k:
            break
        prev = now
        # each call of the TVD kernel builds its relaxed correction from zero: its passes run to the end
        cap = max_sweeps - sweeps if tvd else min(JET_PASS_SWEEPS, max_sweeps - sweeps)
        n = kernel(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq, pT, p_rack, rin_rack, rin_face,
                   dt, ap.n_racks, a, f, order, c.vol * STEADY_CV_RATE, tol_k, cap)
        if n < 0:
            sweeps = n
            break
        sweeps += n
        settled = n < cap
    return _steady_result(ap, flow, c0, T, sweeps, tol_k, max_sweeps, P, rq, rack_dt, unit_supply_c, tile_supply_c,
                          return_info, edge)


def _as_array(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    a = a.reshape(-1)
    if a.shape != (n,):
        raise ValueError(f"{name} has {a.size} values, expected {n}")
    return a


def inflow_temperatures(ap, flow: Flow, rack_exhaust_c, unit_supply_c, tile_supply_c) -> np.ndarray:
    """Temperature (°C) of the air entering through every port face (0 on outflow faces)."""
    pf = port_faces(ap)
    pT = np.zeros(len(pf.face))
    rx = _as_array(rack_exhaust_c, ap.n_racks, "rack_exhaust_c")
    us = _as_array(unit_supply_c, ap.n_units, "unit_supply_c")
    ts = _as_array(tile_supply_c, ap.tile.n, "tile_supply_c")
    pT[pf.group["rack_out"]] = rx[ap.rack_out.port_of_face()]
    pT[pf.group["unit_out"]] = us[ap.unit_out.port_of_face()]
    pT[pf.group["tile"]] = ts[ap.tile.port_of_face()]
    if len(pT[pf.group["leak"]]):
        if ap.tile.n and flow.tile_q.sum() > 0:
            tl = float((flow.tile_q * ts).sum() / flow.tile_q.sum())
        else:
            tl = float(np.mean(ts)) if ap.tile.n else (
                float(np.asarray(tile_supply_c).reshape(-1)[0]) if np.size(tile_supply_c) else ap.supply_c)
        pT[pf.group["leak"]] = tl
    return np.where(np.isfinite(pT), pT, 0.0)


def initial_temperature(ap, t_c: float) -> np.ndarray:
    """A uniform temperature field (°C) on the plant's cells."""
    return np.full(ap.shape, float(t_c))


def substeps(ap, flow: Flow, dt_s: float, alpha_floor: float = ALPHA_FLOOR) -> int:
    """Number of explicit sub-steps a fully explicit step of ``dt_s`` would need (:func:`step`
    takes at most :data:`MAX_EXPLICIT_SUBSTEPS` and treats the fastest cells implicitly)."""
    c = coefficients(ap, flow, alpha_floor)
    return max(1, int(math.ceil(dt_s * c.max_rate * (1.0 + 1e-9))))


def step(ap, flow: Flow, T: np.ndarray, dt_s: float, rack_exhaust_c, unit_supply_c, tile_supply_c,
         *, alpha_floor: float = ALPHA_FLOOR, out: Optional[np.ndarray] = None,
         return_heat: bool = False, iterate: Optional[np.ndarray] = None, tol_k: Optional[float] = None,
         info: Optional[dict] = None, blocks: bool = False, front_jet_edge: float = 0.0):
    """Advance the air temperature by ``dt_s`` seconds.

    Parameters
    ----------
    T : cell temperatures (°C), shape (nx, ny, nz); not modified unless ``out is T``.
    rack_exhaust_c : per rack, the temperature of the air leaving its back (°C).
    unit_supply_c : per cooling unit, supply temperature through room supply faces (°C).
    tile_supply_c : scalar or per tile (°C): the plenum air; the floor leakage takes its mean.
    return_heat : also return the net heat (J) that entered through the ports during the step,
        summed from the port fluxes (equal to the stored-energy change: energy is conserved).
    iterate : float64 array (shape of T): on entry the start of the backward-Euler iteration,
        e.g. the last steps' iterates extrapolated (:func:`extrapolate`), default T; on return
        the iterate T* it ended at (within ``tol_k`` / (1 + rate dt) of the backward-Euler
        solution; the returned T, conservative, is within ``tol_k`` of it). The explicit path
        puts the mean of its sub-steps' start temperatures into it. Either way air left through
        the ports at the iterate's temperatures: ``port_means(ap, flow, iterate)`` are the
        intake and return temperatures of the step, exactly. Only the speed depends on the start.
    tol_k : stop of the backward-Euler sweeps (K, default :data:`IMPLICIT_TOL_K`).
    info : a dict that receives ``sweeps`` (full line sweeps taken, 0 on the explicit path),
        ``local_passes`` (passes over the few columns still off tolerance) and ``substeps``
        (explicit sub-steps, 0 on the implicit path).
    blocks : the implicit solve corrects blocks of columns before each full sweep (:data:`COARSE_BLOCK`,
        :data:`LOCAL_FRACTION_BLOCKS`): within the same tolerance, far fewer passes at long steps on fine
        grids. Off by default, so fixed-step runs keep the arithmetic recordings were written with.
    front_jet_edge : above 0, the rack-front jets (:func:`jet_coefficients`; :func:`port_means` with the
        same value reads the intakes at the iterate): see :func:`_advance_jet`.

    Returns
    -------
    New T (and the heat in J when ``return_heat``).
    """
    pT = inflow_temperatures(ap, flow, rack_exhaust_c, unit_supply_c, tile_supply_c)
    Tn = T.copy() if out is None else out
    if out is not None and out is not T:
        Tn[...] = T
    tol = IMPLICIT_TOL_K if tol_k is None else float(tol_k)
    jt = jet_tubes(ap, flow, front_jet_edge) if front_jet_edge > 0 else None
    if jt is not None and jt.n:
        c, jt = jet_coefficients(ap, flow, front_jet_edge, alpha_floor)
        heat = _advance_jet(ap, c, jt, Tn, float(dt_s), pT, iterate, tol, info, blocks)
    else:
        heat = _advance(ap, coefficients(ap, flow, alpha_floor), Tn, float(dt_s), pT, iterate, tol, info, blocks)
    if not return_heat:
        return Tn
    return Tn, RHO_CP * heat


def _advance(ap, c: Coeffs, T: np.ndarray, dt: float, pT: np.ndarray, iterate: Optional[np.ndarray] = None,
             tol_k: float = IMPLICIT_TOL_K, info: Optional[dict] = None, blocks: bool = False) -> float:
    """Explicit sub-steps while at most :data:`MAX_EXPLICIT_SUBSTEPS` are needed, else backward
    Euler (both in flux form: energy conserved to round-off). Returns the port heat-volume (K m3)."""
    if iterate is not None and (iterate.shape != T.shape or iterate.dtype != np.float64):
        raise ValueError(f"iterate must be float64 of shape {T.shape}, got {iterate.dtype} {iterate.shape}")
    n_sub = max(1, int(math.ceil(dt * c.max_rate * (1.0 + 1e-9))))
    if n_sub <= MAX_EXPLICIT_SUBSTEPS:
        if info is not None:
            info.update(sweeps=0, local_passes=0, substeps=n_sub)
        if iterate is None:
            return _nb.step(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, dt, n_sub)
        # one sub-step at a time (the same arithmetic): the iterate becomes the mean of the
        # sub-steps' start temperatures, the temperature at which air left through the ports
        heat = 0.0
        iterate[...] = 0.0
        for _ in range(n_sub):
            iterate += T
            heat += _nb.step(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, dt / n_sub, 1)
        iterate /= n_sub
        return heat
    a, f, order = c.line_arrays(ap.solid, dt)
    Ts = T.copy() if iterate is None else iterate
    if blocks:  # the blocks' correction before each full sweep (an adaptive run's steps)
        heat, sweeps, local = _nb.step_implicit(T, Ts, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid,
                                                c.vol, dt, a, f, order, tol_k, IMPLICIT_REL, IMPLICIT_FLOOR * tol_k,
                                                IMPLICIT_MIN_SWEEPS, IMPLICIT_MAX_SWEEPS, LOCAL_FRACTION_BLOCKS)
    else:  # line sweeps alone: the arithmetic recordings were written with (they replay bit for bit)
        heat, sweeps, local = _nb.step_implicit_blocks(T, Ts, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT,
                                                       ap.solid, c.vol, dt, a, f, order, tol_k, IMPLICIT_REL,
                                                       IMPLICIT_FLOOR * tol_k, IMPLICIT_MIN_SWEEPS,
                                                       IMPLICIT_MAX_SWEEPS, LOCAL_FRACTION, 0, 0)
    if info is not None:
        info.update(sweeps=int(sweeps), local_passes=int(local), substeps=0)
    return heat


def _advance_jet(ap, c: Coeffs, jt, T: np.ndarray, dt: float, pT0: np.ndarray, iterate: Optional[np.ndarray],
                 tol_k: float, info: Optional[dict], blocks: bool) -> float:
    """:func:`_advance` with the rack-front jets (``c``, ``jt``: :func:`jet_coefficients`). A stream holds no
    air: each step it is quasi-steady, its inflows (the tile's core, the room air its cells and free edges
    give it) mixed layer by layer (:meth:`~dctwin.twin.physics.wall_jet.JetTubes.temperatures`), what the
    intakes take leaving with them, its remainder entering its top cell (an inflow port). Explicit
    sub-steps set the tops from each sub-step's start field; the implicit solve alternates setting them
    from the iterate T* with the backward-Euler sweeps (:func:`_advance`, from T each time, warm from the
    last T*) until they move by less than ``tol_k`` (at most :data:`JET_STEP_PASSES`), then puts the tops'
    last move into the top cells: the air's energy changes exactly by the ports' heat at T*, the intakes
    taking the jets at their temperatures in T* (:func:`port_means` of the iterate), to round-off."""
    n0 = len(pT0)
    top_p = np.arange(len(c.pq) - jt.n, len(c.pq))
    pT = np.concatenate([pT0, np.zeros(len(c.pq) - n0)])
    jt.port_t = pT0.copy()
    n_sub = max(1, int(math.ceil(dt * c.max_rate * (1.0 + 1e-9))))
    if n_sub <= MAX_EXPLICIT_SUBSTEPS:  # one sub-step at a time, the tops from its start field
        if info is not None:
            info.update(sweeps=0, local_passes=0, substeps=n_sub)
        heat = 0.0
        mean = np.zeros(T.shape)
        for _ in range(n_sub):
            mean += T
            pT[top_p] = jt.temperatures(T.reshape(-1), pT0)[1]
            heat += _nb.step(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, dt / n_sub, 1)
        if iterate is not None:
            iterate[...] = mean / n_sub
        return heat
    Ts = T.copy() if iterate is None else iterate
    T0 = T.copy()
    heat, sweeps, local = 0.0, 0, 0
    for n in range(JET_STEP_PASSES):
        top = jt.temperatures(Ts.reshape(-1), pT0)[1]
        if n and float(np.abs(top - pT[top_p]).max()) < tol_k:
            break
        pT[top_p] = top
        T[...] = T0
        sub: dict = {}
        heat = _advance(ap, c, T, dt, pT, Ts, tol_k, sub, blocks)
        sweeps, local = sweeps + sub["sweeps"], local + sub["local_passes"]
    else:
        top = jt.temperatures(Ts.reshape(-1), pT0)[1]
    moved = dt * jt.top_q * (top - pT[top_p])  # heat-volume (K m3) the last solve's tops missed
    np.add.at(T.reshape(-1), jt.top_cell, moved / c.vol)
    if info is not None:
        info.update(sweeps=sweeps, local_passes=local, substeps=0)
    return heat + float(moved.sum())


def extrapolate(T: np.ndarray, rate1: np.ndarray, rate2: np.ndarray, dt1_s: float, dt2_s: float,
                dt_s: float, out: Optional[np.ndarray] = None) -> np.ndarray:
    """Guess of T after ``dt_s`` from the rates of change (K/s) over the last two steps.

    ``rate1 = (T - T_prev) / dt1_s``, ``rate2`` the same one step earlier (over ``dt2_s``).
    The engine extrapolates the backward-Euler iterates T* (smoother in time than the
    conservative states, which carry each step's up-to-tolerance correction).
    Quadratic extrapolation through the three states:
    T + dt (r1 + (r1 - r2) (dt + dt1) / (dt1 + dt2)); linear (T + dt r1) when dt2_s is 0 or the
    step is longer than :data:`EXTRAPOLATE_QUADRATIC_MAX_DT_S`, T itself when dt1_s is 0 (no
    history, e.g. after a restore from an older keyframe).
    """
    g = np.empty_like(T, dtype=np.float64) if out is None else out
    a1, a2 = extrapolation_weights(dt1_s, dt2_s, dt_s)
    _nb.extrapolate(T, rate1, rate2, a1, a2, g)
    return g


def rate_of_change(new: np.ndarray, old: np.ndarray, dt_s: float, out: np.ndarray) -> np.ndarray:
    """out = (new - old) / dt_s (K/s), e.g. into a float32 array."""
    _nb.rate(new, old, float(dt_s), out)
    return out


def extrapolation_weights(dt1_s: float, dt2_s: float, dt_s: float) -> tuple[float, float]:
    """(a1, a2) in guess = T + a1 rate1 + a2 rate2 (s), see :func:`extrapolate`."""
    if dt1_s <= 0.0:
        return 0.0, 0.0
    if dt2_s <= 0.0 or dt_s > EXTRAPOLATE_QUADRATIC_MAX_DT_S:
        return float(dt_s), 0.0
    w = (dt_s + dt1_s) / (dt1_s + dt2_s)
    return float(dt_s * (1.0 + w)), float(-dt_s * w)


def stored_energy_j(ap, T: np.ndarray) -> float:
    """Heat stored in the hall air (J, relative to 0 °C): rho cp V Σ_fluid T."""
    return RHO_CP * ap.cell_volume_m3 * float(T[~ap.solid].sum())


def _face_means(ports, pq_group, tf, cells, fallback: float) -> np.ndarray:
    """Flow-weighted mean of T over each port's faces (area-weighted when the port has no flow)."""
    n = ports.n
    if n == 0:
        return np.zeros(0)
    per = ports.port_of_face()
    w = np.abs(pq_group)
    tw = np.bincount(per, weights=w * tf[cells], minlength=n)[:n]
    ws = np.bincount(per, weights=w, minlength=n)[:n]
    ta = np.bincount(per, weights=ports.area * tf[cells], minlength=n)[:n]
    wa = np.bincount(per, weights=ports.area, minlength=n)[:n]
    out = np.full(n, fallback)
    m = ws > 0
    out[m] = tw[m] / ws[m]
    m2 = ~m & (wa > 0)
    out[m2] = ta[m2] / wa[m2]
    return out


@dataclass
class _PortPlan:
    """What :func:`port_means` needs of one flow, gathered once (cached on the flow)."""

    w_rack_in: np.ndarray
    w_unit_in: np.ndarray
    w_rack_out: np.ndarray
    grille_cells: np.ndarray
    grille_w: np.ndarray  # |q| of the grille faces, or 1 when no grille carries flow (plain mean)
    door_units: np.ndarray  # rear doors with a rack
    door_racks: np.ndarray
    room_units: np.ndarray  # units that report the mean room air (CDUs, doors without a rack, ...)
    grille_units: np.ndarray  # units with no intake that breathe from the ceiling plenum
    needs_fluid_mean: bool = True  # some port falls back to the mean room air


def _port_plan(ap, flow: Flow) -> _PortPlan:
    cache = _flow_cache(flow)
    plan = cache.get("port_plan")
    if plan is not None:
        return plan
    pf = port_faces(ap)
    q = np.abs(flow.port_q)
    g = pf.group["grille"]
    qg = q[g]
    grille_w = qg if (len(qg) and qg.sum() > 0) else np.ones(len(qg))
    has_in = ap.unit_in.port_area() > 0 if ap.n_units else np.zeros(0, bool)
    doors, door_racks, room, grille_units = [], [], [], []
    for n in range(ap.n_units):
        kind = ap.unit_kinds[n]
        if kind == "rdhx":
            r = int(ap.rdhx_rack[n])
            if r >= 0:
                doors.append(n)
                door_racks.append(r)
            else:
                room.append(n)
        elif kind == "cdu":
            room.append(n)
        elif not has_in[n]:
            (grille_units if ap.ceiling_return else room).append(n)
    i64 = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    plan = _PortPlan(q[pf.group["rack_in"]].copy(), q[pf.group["unit_in"]].copy(), q[pf.group["rack_out"]].copy(),
                     pf.cell[g].astype(np.int64), np.ascontiguousarray(grille_w, dtype=np.float64), i64(doors),
                     i64(door_racks), i64(room), i64(grille_units))
    # the mean room air is read only by a port without faces, a unit that reports it, or grille
    # units when no grille exists; skipping it saves a pass over every cell per call
    empty = lambda g: bool(len(g.offsets) > 1 and (np.diff(g.offsets) == 0).any())  # noqa: E731
    plan.needs_fluid_mean = bool(empty(ap.rack_in) or empty(ap.unit_in) or len(room)
                                 or (len(doors) and empty(ap.rack_out)) or (len(grille_units) and not len(grille_w)))
    cache["port_plan"] = plan
    return plan


def port_means(ap, flow: Flow, T: np.ndarray, front_jet_edge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(rack inlet °C per rack, unit return °C per unit): flow-weighted means over intake faces.

    A rack or unit without flow reports the area-weighted mean at its intake. Units
    that breathe from the ceiling plenum report the flow-weighted mean over all grilles;
    a rear door reports the air at the back of its rack; a CDU the mean room air.
    (numba kernels; :func:`port_means_numpy` is the plain reference.) With ``front_jet_edge`` > 0 the
    racks' intakes take part of their air from the rack-front jets (:func:`jet_tubes`), at the jets'
    temperatures in ``T`` and the tiles' of the last solve or step.
    """
    plan = _port_plan(ap, flow)
    tf = T.reshape(-1)
    fluid = _nb.fluid_mean(T, ap.solid, float(ap.supply_c)) if plan.needs_fluid_mean else float(ap.supply_c)
    rin = np.empty(ap.n_racks)
    _nb.port_face_means(tf, ap.rack_in.cell, ap.rack_in.offsets, plan.w_rack_in, ap.rack_in.area, fluid, rin)
    if front_jet_edge > 0:  # the racks' intakes take part of their air from the jets
        jt = jet_tubes(ap, flow, front_jet_edge)
        if jt.n and jt.port_t is not None:
            tin, _ = _jet_inlets(ap, flow, jt, tf, jt.port_t)
            rin = np.where(np.isfinite(tin), tin, rin)
    uret = np.empty(ap.n_units)
    _nb.port_face_means(tf, ap.unit_in.cell, ap.unit_in.offsets, plan.w_unit_in, ap.unit_in.area, fluid, uret)
    if ap.n_units:
        if len(plan.door_units):
            rout = np.empty(ap.n_racks)
            _nb.port_face_means(tf, ap.rack_out.cell, ap.rack_out.offsets, plan.w_rack_out, ap.rack_out.area,
                                fluid, rout)
            uret[plan.door_units] = rout[plan.door_racks]
        uret[plan.room_units] = fluid
        if len(plan.grille_units):
            w = plan.grille_w
            uret[plan.grille_units] = float((w * tf[plan.grille_cells]).sum() / w.sum()) if len(w) else fluid
    return rin, uret


def port_means_numpy(ap, flow: Flow, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy reference of :func:`port_means` (same results to round-off)."""
    pf = port_faces(ap)
    tf = T.reshape(-1)
    fluid_mean = float(T[~ap.solid].mean()) if (~ap.solid).any() else ap.supply_c
    rin = _face_means(ap.rack_in, flow.port_q[pf.group["rack_in"]], tf, ap.rack_in.cell, fluid_mean)
    uret = _face_means(ap.unit_in, flow.port_q[pf.group["unit_in"]], tf, ap.unit_in.cell, fluid_mean)
    if ap.n_units:
        g = pf.group["grille"]
        qg = np.abs(flow.port_q[g])
        if len(qg) and qg.sum() > 0:
            grille_mean = float((qg * tf[pf.cell[g]]).sum() / qg.sum())
        elif len(qg):
            grille_mean = float(tf[pf.cell[g]].mean())
        else:
            grille_mean = fluid_mean
        rout = _face_means(ap.rack_out, flow.port_q[pf.group["rack_out"]], tf, ap.rack_out.cell, fluid_mean)
        has_in = ap.unit_in.port_area() > 0
        for n in range(ap.n_units):
            kind = ap.unit_kinds[n]
            if kind == "rdhx":
                r = int(ap.rdhx_rack[n])
                uret[n] = rout[r] if r >= 0 else fluid_mean
            elif kind == "cdu":
                uret[n] = fluid_mean
            elif not has_in[n]:
                uret[n] = grille_mean if ap.ceiling_return else fluid_mean
    return rin, uret


def energy_flows_w(ap, flow: Flow, T: np.ndarray, rack_exhaust_c, unit_supply_c, tile_supply_c) -> dict:
    """Heat flows through the ports (W, relative to 0 °C) at the field ``T``.

    ``in_w``: air entering (q T_in), ``out_w``: air leaving (q T_cell), ``net_w`` = in - out,
    and ``racks_w``: what the racks add (exhaust minus intake, Σ rho cp Q (T_ex - T_in)),
    ``cooling_w``: what the room sends to cooling returns minus what supplies and tiles bring
    (heat removed by the cooling, W).
    """
    pf = port_faces(ap)
    pT = inflow_temperatures(ap, flow, rack_exhaust_c, unit_supply_c, tile_supply_c)
    tf = T.reshape(-1)
    q = flow.port_q
    face_heat = RHO_CP * np.where(q > 0, q * pT, q * tf[pf.cell])
    rk = slice(pf.group["rack_in"].start, pf.group["rack_out"].stop)
    racks = float(face_heat[rk].sum())
    other = float(face_heat.sum()) - racks
    return dict(in_w=float(face_heat[face_heat > 0].sum()), out_w=float(-face_heat[face_heat < 0].sum()),
                net_w=float(face_heat.sum()), racks_w=racks, cooling_w=-other)


def solve_steady(ap, flow: Flow, rack_heat_w, unit_supply_c, tile_supply_c, T0: Optional[np.ndarray] = None,
                 *, tol_k: float = 1e-5, max_sweeps: int = 20000, alpha_floor: float = ALPHA_FLOOR,
                 omega: float = SOR_OMEGA, tvd: bool = False, return_info: bool = False,
                 method: Optional[str] = None, front_jet_edge: float = 0.0):
    """Steady air temperature with the racks coupled: exhaust = inlet + P / (rho cp Q).

    Parameters
    ----------
    rack_heat_w : heat each rack puts into its airflow (W).
    unit_supply_c : per unit, temperature of its room supply faces (°C).
    tile_supply_c : scalar or per tile (°C).
    T0 : start field (default: uniform at the mean supply).
    tol_k : stop when a sweep changes no cell by more than this (K).
    method : "lines" (line Gauss-Seidel in flow order) or "sor" (symmetric point SOR with ``omega``);
        default :data:`STEADY_METHOD`. Both solve the same equations to ``tol_k``.
    front_jet_edge : above 0, the rack-front jets (:func:`jet_coefficients`, their free edges drawing this
        x the tile's velocity) in line sweeps, whatever ``method``.

    Returns
    -------
    T (°C, (nx, ny, nz)); with ``return_info`` also a dict (sweeps, rack inlet/exhaust, energy).

    Raises
    ------
    NoSteadyState : heat enters but no air leaves the hall through a cooling return.
    """
    c = coefficients(ap, flow, alpha_floor)
    pf = port_faces(ap)
    P = _as_array(rack_heat_w, ap.n_racks, "rack_heat_w")
    P = np.where(np.isfinite(P), P, 0.0)
    rq = flow.rack_q
    rack_dt = np.where(rq > 0, P / (RHO_CP * np.maximum(rq, 1e-300)), 0.0)
    lost = (P > 0) & (rq <= 0)
    if lost.any():
        _warnings.warn("racks with heat but no airflow put no heat into the air: "
                       + ", ".join(ap.rack_ids[i] for i in np.nonzero(lost)[0]), RuntimeWarning, stacklevel=2)
    out_q = -c.pq[(c.pq < 0)].sum() - flow.rack_q.sum()
    if (P[rq > 0].sum() > 0) and out_q <= 1e-12:
        raise NoSteadyState(f"{ap.hall_id}: {P.sum() / 1e3:.3g} kW of rack heat enters the air but no airflow "
                            f"carries it to a cooling return (every cooling unit stopped?); there is no "
                            f"steady state - run a transient instead")
    pT = inflow_temperatures(ap, flow, np.zeros(ap.n_racks), unit_supply_c, tile_supply_c)
    p_rack = np.full(len(pf.face), -1, dtype=np.int64)
    p_rack[pf.group["rack_out"]] = ap.rack_out.port_of_face()
    rin_face = np.arange(pf.group["rack_in"].start, pf.group["rack_in"].stop, dtype=np.int64)
    rin_rack = ap.rack_in.port_of_face()
    if T0 is None:
        q_in = np.where(c.pq > 0, c.pq, 0.0)
        q_in[pf.group["rack_out"]] = 0.0
        t_ref = float((q_in * pT).sum() / q_in.sum()) if q_in.sum() > 0 else ap.supply_c
        T = np.full(ap.shape, t_ref)
    else:
        T = np.array(T0, dtype=np.float64, copy=True)
    method = STEADY_METHOD if method is None else method
    if front_jet_edge > 0 and jet_tubes(ap, flow, front_jet_edge).n:  # no tube (no free edge): the plain solve
        return _solve_steady_jet(ap, flow, c, T, P, rq, rack_dt, unit_supply_c, tile_supply_c, tol_k, max_sweeps, tvd,
                                 return_info, alpha_floor, front_jet_edge)
    if method == "lines":
        a, f, order = c.line_arrays(ap.solid, 1.0 / STEADY_CV_RATE)
        kernel = _nb.steady_lines_tvd if tvd else _nb.steady_lines  # each compiles only its own scheme
        sweeps = kernel(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq, pT, p_rack, rin_rack, rin_face,
                        rack_dt, ap.n_racks, a, f, order, c.vol * STEADY_CV_RATE, tol_k, max_sweeps)
        return _steady_result(ap, flow, c, T, sweeps, tol_k, max_sweeps, P, rq, rack_dt, unit_supply_c, tile_supply_c,
                              return_info)
    if method != "sor":
        raise ValueError(f"unknown steady method {method!r}; one of lines, sor")
    T_start = T.copy()
    sweeps = _nb.steady(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq, pT, p_rack, rin_rack,
                        rin_face, rack_dt, rq, ap.n_racks, omega, tol_k, max_sweeps, tvd)
    if sweeps < 0 or not np.isfinite(T).all():  # over-relaxation diverged: plain Gauss-Seidel
        T = T_start
        sweeps = _nb.steady(T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq, pT, p_rack, rin_rack,
                            rin_face, rack_dt, rq, ap.n_racks, 1.0, tol_k, max_sweeps, tvd)
    return _steady_result(ap, flow, c, T, sweeps, tol_k, max_sweeps, P, rq, rack_dt, unit_supply_c, tile_supply_c,
                          return_info)


def _steady_result(ap, flow, c, T, sweeps, tol_k, max_sweeps, P, rq, rack_dt, unit_supply_c, tile_supply_c,
                   return_info, front_jet_edge: float = 0.0):
    """:func:`solve_steady`'s answer after ``sweeps`` sweeps: T (and the info dict), or NoSteadyState."""
    if sweeps < 0 or not np.isfinite(T).all():
        raise NoSteadyState(f"{ap.hall_id}: the steady air temperature diverged")
    if sweeps >= max_sweeps:  # a field that has not settled is no steady state: never returned as one
        raise NoSteadyState(f"{ap.hall_id}: the steady air temperature did not settle (to {tol_k:g} K) in "
                            f"{sweeps:,} sweeps of {ap.n_cells:,} cells")
    if not return_info:
        return T
    tin, _ = port_means(ap, flow, T, front_jet_edge)
    tex = tin + rack_dt
    ef = energy_flows_w(ap, flow, T, tex, unit_supply_c, tile_supply_c)
    heat = float(P[rq > 0].sum())
    info = dict(sweeps=int(sweeps), rack_inlet_c=tin, rack_exhaust_c=tex, energy=ef,
                energy_error=(abs(ef["cooling_w"] - heat) / heat) if heat > 0 else abs(ef["net_w"]))
    return T, info


def supply_fraction(ap, flow: Flow, *, alpha_floor: float = ALPHA_FLOOR, tol: float = 1e-7,
                    max_sweeps: int = 20000, tvd: bool = False) -> np.ndarray:
    """Fraction of each rack's intake air that comes straight from a cooling supply (tiles,
    floor leakage, unit supply faces), steady passive tracer; rack exhausts carry 0."""
    pf = port_faces(ap)
    pT = np.zeros(len(pf.face))
    for g in ("unit_out", "tile", "leak"):
        pT[pf.group[g]] = 1.0
    return tracer_at_intakes(ap, flow, pT, alpha_floor=alpha_floor, tol=tol, max_sweeps=max_sweeps, tvd=tvd)


def tracer_at_intakes(ap, flow: Flow, inflow: np.ndarray, *, alpha_floor: float = ALPHA_FLOOR, tol: float = 1e-7,
                      max_sweeps: int = 20000, tvd: bool = False) -> np.ndarray:
    """Flow-weighted mean at each rack's intake of a steady passive tracer c, ``div(F c) =
    div(alpha grad c)``, whose value on every inflowing port face is ``inflow`` (per face of
    :func:`~dctwin.twin.physics.airflow.port_faces`, dimensionless)."""
    c = coefficients(ap, flow, alpha_floor)
    C = np.zeros(ap.shape)
    _nb.steady_tracer(C, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, ap.solid, c.pc, c.pq, inflow, 1.0, tol, max_sweeps, tvd)
    rin, _ = port_means(ap, flow, C)
    return rin
