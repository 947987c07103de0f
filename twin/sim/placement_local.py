"""The new rack's own air round a placement candidate: a local flow correction, before verification.

The floor-wide estimate (:mod:`~dctwin.twin.physics.air_response`) carries the new rack's heat on the
present flow, which does not have the rack in it: its exhaust jet (1.3 m/s at 20 kW) and the air its intake
draws from beside it are missing. For the few best candidates, :func:`local_correction` adds them:

1. the layout with the rack placed is compiled and the present flow carried over to it (scaled, one
   projection: :func:`~dctwin.twin.physics.flow_adjust.adjust_flow`), the new rack's airflow at its
   estimated inlet;
2. **a flow-only march of a box round the rack** (:func:`march_box`, reaching past it the throw of its exhaust
   jet, a rack depth and :data:`LOCAL_FLOW_MARGIN_M`: :func:`box_reach_m`, 4.8 m for a 10 kW rack, 8.4 m for
   40 kW and over): the
   FFD step of :mod:`~dctwin.twin.physics.airflow` (eddy viscosity, semi-Lagrangian advection with the tile
   jets and the intakes' kept momentum, implicit diffusion, projection) on the cells of the box only, the
   carried flow held on the box's sides and on every port face, in windows of :data:`LOCAL_WINDOW_S` until
   the air stops moving: the windows after the first split in two halves, the box's air temperature solved
   on each half's mean flow, every rack's intake within :data:`LOCAL_SETTLE_K` of each other (at least
   :data:`LOCAL_MIN_S`, at most :data:`LOCAL_MAX_S`; ``settled`` says whether it did). The box's flow (both
   halves' mean) is put back into the carried flow (the sides were held, so the whole field stays
   divergence-free). Its time step is the hall march's (the fastest inflow): one from the fastest port of
   any kind (a return) was half as long, and round the 200-rack hall's row ends its air then did not settle
   (successive 10 s means 0.3 to 1.8 K apart);
3. **the air temperature in the box on both flows** (:func:`box_temperature`, the box reaching the jet's throw
   and a rack depth past the racks: a big rack's jet carries its heat round a row end and back to an intake
   from beyond the floor-wide estimate's 3.6 m): the steady transport of
   :func:`~dctwin.twin.physics.air_response.rise_field`'s kernel with every port's inflow temperature as
   its source (racks at their present exhaust, the new rack at its estimated inlet plus its own rise,
   tiles and units at their supply) and the solved temperatures held outside the box; once on the
   present flow without the rack, once on the corrected flow with it. Each rack's inlet changes by the
   difference of its flow-weighted intake means (the scheme's own error cancels: on the present flow the
   box gives back the solved inlets to 1e-5 K). The far field (the room warming by the added heat) is
   added as in :meth:`~dctwin.twin.sim.placement_checks.AirModel.rises`. The new rack's own intake mean
   on the corrected flow (``inlets``) is returned but not used: in the small demo it moved by 1.2 K with
   the box's reach and the march's length (the rises by under 0.1 K), where the floor-wide estimate of
   the air in front of the intake is within 0.1 K of the solve.

The corrected flow also warm-starts the verifying solve (:mod:`~dctwin.twin.sim.placement`), whose
march then starts with the rack's jet already blowing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.physics import _airflow_numba as _afnb
from dctwin.twin.physics import air_response, airflow, thermal
from dctwin.twin.physics.air_response import cell_span
from dctwin.twin.physics.constants import DESIGN_INLET_C, RHO_CP_AIR
from dctwin.twin.physics.flow_adjust import adjust_flow
from dctwin.twin.physics.it import RackArrays, rack_steady

#: the flow box reaches this much further past the new racks than the temperature box (m), so that its held
#: sides lie beyond the air whose temperature is read
LOCAL_FLOW_MARGIN_M = 1.2
#: the flow box of a rack whose jet is spent within the floor-wide estimate's throw (10 kW and under in a
#: 2.2 m rack; m): the rise box (air_response.RISE_RADIUS_M, 3.6 m) and the margin
LOCAL_REACH_M = air_response.RISE_RADIUS_M + LOCAL_FLOW_MARGIN_M
#: the boxes are sized for the new racks' exhaust jet (:func:`box_reach_m`): its throw is where a free jet's
#: centre-line speed past its core, ``u0 sqrt(A0) / x`` (``u0`` the exhaust speed over the rack's back face
#: ``A0``), falls to this (m/s); at least air_response.EXHAUST_THROW_M, at most :data:`LOCAL_MAX_THROW_M`.
#: ai-hall row ends, the largest rise at another rack against cold solves of the placed layouts (session 26):
#: a 20 kW rack's jet (1.5 m/s, throw 3.8 m) took a 4.8 m temperature box (+0.08 K at (21.0, 18.0, S), where
#: the 3.6 m box read 1.09 K too cool), a 40 kW one 6.0 m (3.6 m: 2.85 K too cool), a 60 kW one 7.2 m
#: (3.6 m: 3.96 K too cool, 6.0 m: another rack 1.04 K off)
JET_END_M_S = 0.45
#: the longest throw the boxes are sized for (m): a 40 kW rack's jet and faster (the temperature box then
#: 7.2 m past the rack, the flow box 8.4 m; 60 kW at (21.0, 18.0, S): 0.45 K too cool, 11.5 CPU s)
LOCAL_MAX_THROW_M = 6.0
#: False: the boxes of sessions 22-25 (temperature 3.6 m, flow 4.8 m past the racks) whatever the rack
JET_SIZED_BOXES = True
#: the local march's windows (s of simulated time), and the least and most it marches (s): the least lets a
#: 1.3 m/s exhaust jet cross the box about twice, and gives two halves of two windows after the first
LOCAL_WINDOW_S = 2.0
LOCAL_MIN_S = 10.0
LOCAL_MAX_S = 30.0
#: the box march of :func:`local_correction` stops when every rack's intake mean on the first half's flow and
#: on the second half's differ by at most this (K). 200-rack hall, 10 best spots for 20 kW: settled in 10 to
#: 12 s, the rises within 0.28 K and the new rack's inlet within 0.19 K of a 20-60 s mean
LOCAL_SETTLE_K = 0.2
#: :func:`march_box` without a ``change``: the relative RMS of the two halves' flows
LOCAL_TOL = 0.04
#: what the README states for the corrected estimate at the verified candidates (K): the new rack's inlet
#: and the largest rise at another rack, against the verifying full solve (ai-hall, 20 kW, best 5 spots:
#: rise within 0.9 K where the floor-wide estimate missed by up to 1.9 K)
LOCAL_ERROR_K = 1.0
#: the local march's projection tolerance (relative, as the full march's)
LOCAL_PROJECTION_TOL = airflow.MARCH_TOL_KEEP


@dataclass
class LocalFlow:
    """The corrected flow of a candidate that its verification starts from: the compiled plant with its racks
    (``ap``), the carried flow (``carried``), the flow with the box marched into it (``flow``; the box of sessions
    22-25, :data:`LOCAL_REACH_M` past the racks, whatever the estimate's), the box (i0, i1, j0, j1), the racks'
    and units' airflows it was made for, and the steps the box march took."""

    ap: Any
    carried: airflow.Flow
    flow: airflow.Flow
    box: tuple[int, int, int, int]
    rack_q: np.ndarray
    unit_q: np.ndarray
    steps: int


def _crop_faces(ap, arr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The faces of the cells of ``box`` (all layers), flat in the box's own face numbering."""
    i0, i1, j0, j1 = box
    u, v, w = ap.face_views(arr)
    return np.concatenate([u[i0:i1 + 1, j0:j1].ravel(), v[i0:i1, j0:j1 + 1].ravel(), w[i0:i1, j0:j1].ravel()])


def _put_faces(ap, arr: np.ndarray, box: tuple[int, int, int, int], sub_plant, sub: np.ndarray) -> None:
    """Write the box's faces ``sub`` (its own numbering) back into the flat ``arr`` (in place)."""
    i0, i1, j0, j1 = box
    u, v, w = ap.face_views(arr)
    su, sv, sw = sub_plant.face_views(sub)
    u[i0:i1 + 1, j0:j1] = su
    v[i0:i1, j0:j1 + 1] = sv
    w[i0:i1, j0:j1] = sw


def box_plant(ap, box: tuple[int, int, int, int]):
    """The plant of the cells of ``box``: its solids, its faces' conductances with the box's sides closed
    (held), the wall distances of the whole hall, its own connected regions. Only what the FFD step and the
    projection read is kept (the ports stay the hall's: do not use them)."""
    i0, i1, j0, j1 = box
    solid = np.ascontiguousarray(ap.solid[i0:i1, j0:j1])
    sub = dataclasses.replace(ap, nx=i1 - i0, ny=j1 - j0, solid=solid,
                              wall_dist_m=np.ascontiguousarray(ap.wall_dist_m[i0:i1, j0:j1]), cache={})
    cond = _crop_faces(ap, ap.cond, box)
    cu, cv, _ = sub.face_views(cond)
    cu[0], cu[-1] = 0.0, 0.0
    cv[:, 0], cv[:, -1] = 0.0, 0.0
    comp, n, _ = airflow.components_and_wall_distance(solid, cond, ap.dx, ap.dy, ap.dz)
    return dataclasses.replace(sub, cond=cond, component=comp, n_components=int(n))


def march_box(ap, flow: airflow.Flow, box: tuple[int, int, int, int], time_s: Optional[float] = None,
              scheme: str = airflow.SCHEME, tol: Optional[float] = None, window_s: Optional[float] = None,
              change: Optional[Callable[[airflow.Flow, airflow.Flow], float]] = None,
              trace: Optional[list] = None) -> tuple[airflow.Flow, int]:
    """``flow`` with the cells of ``box`` marched (FFD, the box's sides and every port face held at ``flow``'s
    velocities, tile jets at their jet speed) in windows of ``window_s`` (:data:`LOCAL_WINDOW_S`) until it
    stops moving: after each window from :data:`LOCAL_MIN_S` on, the windows so far but the first (the
    start's transient; and the oldest when they are odd) are split into two halves of equal length, and the march stops when the two
    halves' mean flows differ by at most ``tol``; at most ``time_s`` (:data:`LOCAL_MAX_S`) of simulated time.
    The difference is ``change(first, second)`` of the two halves' flows (the hall's flow with the box's
    half means in it), or without ``change`` the RMS of the difference over the box's open faces relative to
    their mean's (``tol`` default :data:`LOCAL_TOL`). ``tol=0``: march all of ``time_s``. The box's flow is
    then the mean of both halves (divergence-free as ``flow``), the rest of the hall unchanged. Returns (the
    flow, steps taken); ``flow.converged`` says whether it stopped moving. ``trace``: gets (time s, change)
    per check."""
    time_s = LOCAL_MAX_S if time_s is None else time_s
    tol = LOCAL_TOL if tol is None else tol
    window_s = LOCAL_WINDOW_S if window_s is None else window_s
    sub = box_plant(ap, box)
    bf = {"port_q": flow.port_q}
    pf = airflow.port_faces(ap)
    # tile jets enter the momentum at their jet speed (Q / (A f)); the mass at Q / A (as the march)
    jet = np.zeros(ap.n_faces, bool)
    jet_u = flow.u.copy()
    open_f = np.repeat(ap.tile_open_fraction, np.diff(ap.tile.offsets)) if ap.tile.n else np.zeros(0)
    tf = pf.group["tile"]
    if len(open_f):
        jet[pf.face[tf]] = True
        jet_u[pf.face[tf]] = flow.u[pf.face[tf]] / np.maximum(open_f, 1e-3)
    keep = airflow.intake_rates(ap, flow.port_q)
    uf = _crop_faces(ap, flow.u, box)
    held = uf.copy()
    closed = sub.cond == 0.0
    interior = np.flatnonzero(sub.cond == 1.0)
    s_jet = _crop_faces(ap, jet.astype(float), box) > 0.5
    s_jet_u = _crop_faces(ap, jet_u, box)[s_jet]
    s_keep = _crop_faces(ap, keep, box)
    keep_faces = np.nonzero(s_keep)[0]
    # the step from the fastest inflow, as the hall's march (the fast air at a return leaves at once)
    v_in = np.abs(flow.port_q / np.maximum(pf.area, 1e-12))[flow.port_q > 0]
    v_step = max(float(v_in.max(initial=1e-3)), float(np.abs(s_jet_u).max(initial=0.0)))
    hmin = min(ap.dx, ap.dy, ap.dz)
    dt = airflow.COURANT * hmin / max(v_step, 1e-3)
    n_win = max(2, int(math.ceil(window_s / dt)))
    least = max(2, int(math.ceil(LOCAL_MIN_S / (n_win * dt) - 1e-9)))  # windows
    most = max(least, int(math.ceil(time_s / (n_win * dt) - 1e-9)))
    keep_gain = airflow.INTAKE_KEEP * dt * s_keep[keep_faces]
    tol_p = LOCAL_PROJECTION_TOL * max(v_step, 1e-3) / hmin
    i0, i1, j0, j1 = box
    phi = np.ascontiguousarray(flow.phi[i0:i1, j0:j1])
    top = airflow._top_open(ap, bf)[i0:i1, j0:j1].copy()
    w = airflow._Work(sub)
    cx, cy, cz = sub.face_views(sub.cond)
    adv = np.empty(sub.n_faces)
    au, av, aw = sub.face_views(adv)
    ou, ov, ow = sub.face_views(w.a)
    tu, tv, tw = sub.face_views(w.t)
    acc = np.zeros(sub.n_faces)
    means: list[np.ndarray] = []
    converged = False
    steps = 0
    for k in range(1, most + 1):
        acc[:] = 0.0
        for _ in range(n_win):
            airflow.eddy_viscosity(sub, uf, out=w.nu)
            adv[:] = uf
            adv[s_jet] = s_jet_u
            airflow._advect(sub, (au, av, aw), (cx, cy, cz), dt, (ou, ov, ow), scheme, w, airflow.MC_WEIGHT)
            if len(keep_faces):
                w.a[keep_faces] = np.clip(w.a[keep_faces] * (1.0 + keep_gain), -2.0 * v_step, 2.0 * v_step)
            w.a[closed] = held[closed]
            w.b[:] = w.a
            su, sv, sw = sub.face_views(w.b)
            _afnb.diffuse(ou, ov, ow, su, sv, sw, cx, cy, cz, sub.solid, w.nu, dt, sub.dx, sub.dy, sub.dz, 2.0, top,
                          airflow.DIFFUSE_SWEEPS, tu, tv, tw)
            uf[:] = w.a
            airflow.project(sub, uf, phi, tol_p)
            acc += uf
            steps += 1
        means.append(acc / n_win)
        if k < 3:
            mean = means[-1]
            continue
        # the windows after the first (the start's transient) in two halves, the oldest left out when odd
        m = (k - 1) // 2
        first = np.mean(means[k - 2 * m:k - m], axis=0)
        second = np.mean(means[k - m:], axis=0)
        mean = 0.5 * (first + second)
        if k < least and tol > 0:
            continue
        if change is not None:
            moved = float(change(_with_box(ap, flow, box, sub, first), _with_box(ap, flow, box, sub, second)))
        else:
            moved = _rms_change(second, first, interior)
        if trace is not None:
            trace.append((k * n_win * dt, moved))
        converged = moved <= tol
        if converged and k >= least:
            break
    uf = mean
    uf[closed] = held[closed]  # exactly (the mean of equal values can differ in its last bit)
    airflow.project(sub, uf, phi, 1e-10 * max(v_step, 1e-3) / hmin, max_iter=5000)
    u_all = flow.u.copy()
    _put_faces(ap, u_all, box, sub, uf)
    out = dataclasses.replace(flow, u=u_all, flux=u_all * airflow.face_areas(ap), nu_t=airflow.eddy_viscosity(ap, u_all),
                              cache={}, adjusted=True, converged=converged, steps=steps)
    out.phi = flow.phi.copy()
    out.phi[i0:i1, j0:j1] = phi
    return out, steps


def _rms_change(a: np.ndarray, b: np.ndarray, faces: np.ndarray) -> float:
    """RMS of ``a - b`` over ``faces`` relative to the RMS of ``a`` there (0 without faces)."""
    if not len(faces):
        return 0.0
    d, m = (a - b)[faces], a[faces]
    return float(np.sqrt(np.mean(d * d)) / max(np.sqrt(np.mean(m * m)), 1e-12))


def _with_box(ap, flow: airflow.Flow, box: tuple[int, int, int, int], sub, uf: np.ndarray) -> airflow.Flow:
    """``flow`` with the box's faces ``uf`` (the box plant ``sub``'s numbering) put in: for temperature solves."""
    u_all = flow.u.copy()
    _put_faces(ap, u_all, box, sub, uf)
    return dataclasses.replace(flow, u=u_all, flux=u_all * airflow.face_areas(ap), nu_t=airflow.eddy_viscosity(ap, u_all),
                               cache={}, adjusted=True)


def box_temperature(ap, flow: airflow.Flow, T: np.ndarray, inflow_c: np.ndarray, box: tuple[int, int, int, int],
                    blocked: Optional[np.ndarray] = None, tol_k: float = air_response.RISE_TOL_K) -> np.ndarray:
    """The steady air temperature (°C) in the cells of ``box`` on ``flow``, every port face bringing its air
    at ``inflow_c`` (per port face, :func:`~dctwin.twin.physics.thermal.inflow_temperatures`), the cells
    outside the box held at ``T``. Upwind, as :func:`~dctwin.twin.physics.air_response.rise_field`."""
    pf = airflow.port_faces(ap)
    src = np.zeros(ap.n_cells)
    q_in = np.maximum(flow.port_q, 0.0)
    np.add.at(src, pf.cell, q_in * inflow_c)
    out = np.array(T, float, copy=True)
    air_response.solve_box(ap, flow, src.reshape(ap.shape), ap.solid if blocked is None else blocked, box, out,
                           tol_k=tol_k)
    return out


def local_correction(ctx: Any, racks: Sequence[Any], inlets: Sequence[Optional[float]]
                     ) -> tuple[LocalFlow, dict[str, Any]]:
    """The corrected flow round the new ``racks`` (at their estimated ``inlets``, °C or None) and the air
    estimate on it: ``inlets`` of the new racks (°C) and ``rises`` (K, at every rack of the context, in its
    order), with ``sim`` the layout with the racks placed (warm-started from the context's) and ``placed``
    the racks under their ids there. ``ctx``: a :class:`~dctwin.twin.sim.placement.PlacementContext`."""
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.sim.placement import _place

    rs = rack_steady(RackArrays.from_racks(list(racks)), 1.0,
                     np.array([DESIGN_INLET_C if t is None else t for t in inlets], float))
    air_w, airflow_m3s = rs.air_power_w, rs.airflow_m3s
    sim0 = ctx.sim
    site2, placed = _place(ctx.site, ctx.hall.id, racks)
    sim2 = Simulation(site2, ctx.hall.id, grid_m=sim0.grid_m, warm_from=sim0)
    ap2, ap0, st0 = sim2.air, sim0.air, sim0.state
    idx0 = sim0.system.rack_index
    idx2 = sim2.system.rack_index
    # airflows: the present ones, the new racks' at their estimated inlets
    rq = np.zeros(ap2.n_racks)
    ex2 = np.zeros(ap2.n_racks)
    q0 = st0.flow.rack_q
    for rid, i in idx0.items():
        rq[idx2[rid]] = q0[i]
        ex2[idx2[rid]] = st0.rack_exhaust_c[i]
    for r, t, q, p in zip(placed, inlets, airflow_m3s, air_w):
        k = idx2[r.id]
        rq[k] = q
        ex2[k] = (ctx.air.supply_c if t is None else t) + p / (RHO_CP_AIR * max(q, 1e-9))
    uq = np.array([st0.flow_unit_q[sim0.system.unit_index[u]] for u in sim2.system.unit_ids])
    carried = adjust_flow(ap2, airflow.FlowBC(rq, uq), st0.flow, tol=1e-8)
    x0 = min(r.footprint()[0] for r in racks)
    y0 = min(r.footprint()[1] for r in racks)
    x1 = max(r.footprint()[2] for r in racks)
    y1 = max(r.footprint()[3] for r in racks)
    def boxes(r: float) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
        """(flow box, temperature box) reaching ``r`` m (the temperature box) past the racks."""
        reach = r + LOCAL_FLOW_MARGIN_M
        fb = cell_span(x0 - reach, x1 + reach, ap2.dx, ap2.nx) + cell_span(y0 - reach, y1 + reach, ap2.dy, ap2.ny)
        return fb, cell_span(x0 - r, x1 + r, ap2.dx, ap2.nx) + cell_span(y0 - r, y1 + r, ap2.dy, ap2.ny)

    # the temperature box reaches the racks' jet and round a row end; the flow box a margin further
    r = box_reach_m(racks, airflow_m3s)
    fbox, tbox = boxes(r)
    us = st0.last_unit
    tile_c = sim0.system.tile_supply_c(us.supply_c, us.airflow_m3s)
    supply2 = np.array([us.supply_c[sim0.system.unit_index[u]] for u in sim2.system.unit_ids])
    in2 = thermal.inflow_temperatures(ap2, carried, ex2, supply2, tile_c)  # per port face: the same on every flow

    def intakes(flow: airflow.Flow, tb: tuple[int, int, int, int] = tbox) -> np.ndarray:
        """Every rack's intake mean (°C) on ``flow`` with the box ``tb``'s air solved on it (without the rack-front
        jets, so read without them: read with them the small demo's neighbour rises came 0.24 -> 0.57 K off the
        verified solve's; docs/validation.md, Session 25, "Switching it on in fast")."""
        return thermal.port_means(ap2, flow, box_temperature(ap2, flow, st0.T, in2, tb))[0]

    def marched(fb, tb) -> tuple[airflow.Flow, int]:
        def moved(a: airflow.Flow, b: airflow.Flow) -> float:
            return float(np.abs(intakes(a, tb) - intakes(b, tb)).max(initial=0.0))

        return march_box(ap2, carried, fb, scheme=sim2.system.air_model.scheme, change=moved, tol=LOCAL_SETTLE_K)

    flow2, steps = marched(fbox, tbox)
    # the verifying solve starts from the flow of the boxes of sessions 22-25 (a second march where the jet's are
    # bigger): started from the jet-sized box's flow, the 200-rack hall's short verifying march landed 0.8-2.9 K
    # from cold solves at racks far from the spot (20 kW, (2.4, 10.2, S) and (15.0, 12.6, N)) where the estimate
    # on either flow was within 0.1 K of them (session 26)
    v_flow, v_box, v_steps = flow2, fbox, steps
    v_fbox, v_tbox = boxes(air_response.RISE_RADIUS_M)
    if (v_fbox, v_tbox) != (fbox, tbox):
        v_flow, v_steps = marched(v_fbox, v_tbox)
        v_box = v_fbox
    in0 = thermal.inflow_temperatures(ap0, st0.flow, st0.rack_exhaust_c, us.supply_c, tile_c)
    T0 = box_temperature(ap0, st0.flow, st0.T, in0, tbox)
    rin0, _ = thermal.port_means(ap0, st0.flow, T0)
    rin2 = intakes(flow2)
    near = np.array([rin2[idx2[rid]] - rin0[idx0[rid]] for rid in ctx.air.rack_ids])
    total_w = float(np.sum(air_w))
    far_k = total_w / (RHO_CP_AIR * ctx.air.units_q) if ctx.air.units_q > 0 else 0.0
    rises = near + ctx.air.room_share * far_k
    span = ctx.air.return_c - ctx.air.supply_c
    new_inlets = []
    for rr in placed:
        t = float(rin2[idx2[rr.id]])
        share = min(max((t - ctx.air.supply_c) / span, 0.0), 1.0) if span > 0.1 else 0.0
        new_inlets.append(t + share * far_k)
    lf = LocalFlow(ap2, carried, v_flow, v_box, rq, uq, v_steps)
    return lf, {"inlets": new_inlets, "rises": rises, "sim": sim2, "placed": placed, "settled": bool(flow2.converged),
                "box_m": r}


def jet_throw_m(racks: Sequence[Any], airflow_m3s: Sequence[float]) -> float:
    """How far the fastest of the new racks' exhaust jets carries (m): ``u0 sqrt(A0) / JET_END_M_S`` with ``u0``
    its airflow over its back face ``A0`` (width x height), from air_response.EXHAUST_THROW_M to
    :data:`LOCAL_MAX_THROW_M`. A 2.2 m rack: 10 kW 2.4 m (the floor-wide estimate's throw), 20 kW 3.8 m, 40 kW and
    over 6.0 m."""
    throw = air_response.EXHAUST_THROW_M
    for rk, q in zip(racks, airflow_m3s):
        area = rk.width_m * rk.height_m
        if area > 0 and q > 0:
            throw = max(throw, q / math.sqrt(area) / JET_END_M_S)
    return min(throw, max(LOCAL_MAX_THROW_M, air_response.EXHAUST_THROW_M))


def box_reach_m(racks: Sequence[Any], airflow_m3s: Sequence[float]) -> float:
    """How far past the new racks the local correction's temperature box reaches (m): their jet's throw
    (:func:`jet_throw_m`) and a rack depth round a row end (air_response.ROW_END_M); its flow box reaches
    :data:`LOCAL_FLOW_MARGIN_M` further. With :data:`JET_SIZED_BOXES` off: air_response.RISE_RADIUS_M."""
    if not JET_SIZED_BOXES:
        return air_response.RISE_RADIUS_M
    return jet_throw_m(racks, airflow_m3s) + air_response.ROW_END_M


# --------------------------------------------------------------------------- the verifying solve

#: averaging window of the verifying march, in residence times (the full march's is 0.5), and its least
#: length in simulated time (s). Started from the corrected flow, the rack's jet already blowing, windows of
#: 0.25 residence times (2.8 s) settled the ai-hall's march in 26 to 39 steps instead of 75 to 175, every
#: rack's inlet within 0.14 to 0.36 K of the plain warm solve (which itself differs from a cold solve by up to
#: 0.3 K); in the 200-rack hall (residence time 3.9 s) 0.25 meant 1 s windows, 12 steps, and inlets up to
#: 0.84 K off, where 0.5 (1.9 s) held 0.31 K. So: a quarter of a residence time, at least 2 s, at most half
VERIFY_WINDOW_TAU = 0.25
VERIFY_WINDOW_MIN_S = 2.0
#: carried-flow iterations of the fixed point before and after the march (as the steady solve's
#: PRESETTLE_MAX; the fixed point moves inlets by less than the tolerance after 2 to 4)
VERIFY_CARRIES = 6
#: the fixed point before the march stops when inlets and returns move less than this (K)
VERIFY_PRESETTLE_K = 0.1
#: the fixed point after the march is carried (each carry a projection and a temperature solve) until inlets and
#: returns move less than this (K, at least the solve's tolerance); the steady solve's own iterations then take
#: it to the tolerance on the last carried flow (or carry or march again when the airflows move, as after any
#: march). At the solve's 0.05 K a second carry was needed after the march, which moved the fixed point by 0.003
#: to 0.012 K and which the steady solve's own first iteration then repeated. ai-hall, best 5 spots, 20 kW: one
#: carry after the march instead of two at 4 of 5 (it moved them 0.07-0.23 K), every rack's inlet within 0.005 K,
#: 17.5 instead of 18.8 CPU s for the 5 (load 10-12; a second run of the old way took 17.7 s)
VERIFY_HANDOVER_K = 0.3
#: carried-flow iterations of the fixed point before the march, at most: one sets the fans near the airflows
#: the march goes on with; a second moved no inlet of the ai-hall's or the 200-rack hall's best 5 spots by
#: more than 0.064 K after the whole verification, and cost 0.2 CPU s a spot
VERIFY_PRE_CARRIES = 1
#: the verifying march's projection tolerance (relative; the full march's is airflow.MARCH_TOL_KEEP, 3e-4):
#: the march's flow only starts the fixed point, whose carried flows are projected to 1e-5 again. ai-hall,
#: best 5 spots: the march 2.0 instead of 2.75 CPU s a spot in the same 26 to 39 steps, every rack's inlet
#: within 0.004 K (200-rack hall 0.004 K); 3e-2 moved a rack of the 200-rack hall by 0.12 K
VERIFY_MARCH_TOL = 1e-2


def window_tau(ap, flow: airflow.Flow) -> float:
    """The verifying march's window in residence times of the hall of ``ap`` with the airflows of ``flow``
    (:data:`VERIFY_WINDOW_TAU`, at least :data:`VERIFY_WINDOW_MIN_S`, at most the full march's 0.5)."""
    q_in = float(flow.port_q[flow.port_q > 0].sum())
    if q_in <= 0:
        return 0.5
    tau = ap.fluid_volume_m3 / q_in
    return min(0.5, max(VERIFY_WINDOW_TAU, VERIFY_WINDOW_MIN_S / tau))


def _carry_to_fixed_point(sim: Any, base: airflow.Flow, tol_k: float, most: int) -> tuple[int, float]:
    """Iterate the hall's fixed point (racks at their inlets, units at their returns, temperatures) on ``base``
    carried over to each iteration's airflows (:func:`~dctwin.twin.sim.steady.quick_answer`) until inlets and
    returns move less than ``tol_k`` or ``most`` times. Returns (iterations, last move K)."""
    from dctwin.twin.sim import steady

    hs, st = sim.system, sim.state
    moved, n = math.inf, 0
    while n < most and moved >= tol_k:
        st.warm_flow = base
        inlet, ret = st.rack_inlet_c.copy(), st.unit_return_c.copy()
        if not steady.quick_answer(hs, st, *sim._inputs(), sim.facility.chw_supply_c):
            raise InputError(f"{sim.hall.id}: the carried flow has no steady temperatures")
        moved = max(float(np.abs(st.rack_inlet_c - inlet).max(initial=0.0)),
                    float(np.abs(st.unit_return_c - ret).max(initial=0.0)))
        n += 1
    return n, moved


def verify_solve(sim2: Any, local: LocalFlow, tol_k: float, cancel=None) -> tuple[Any, dict[str, Any]]:
    """The warm full solve of the layout ``sim2`` (the candidate placed, warm-started from the hall before)
    started from the candidate's corrected flow ``local``: the fixed point on that flow carried over
    (:data:`VERIFY_PRESETTLE_K`, at most :data:`VERIFY_PRE_CARRIES` times), one march of the whole hall from it
    for the airflows the fans settle at (windows of :data:`VERIFY_WINDOW_TAU`, projected to
    :data:`VERIFY_MARCH_TOL`), the fixed point on that march carried over (to :data:`VERIFY_HANDOVER_K`), and the
    steady solve's own last iterations to ``tol_k`` on it (which marches again only if an airflow then moves by more than
    the flow tolerance). Returns (the summary, what it took)."""
    hs, st = sim2.system, sim2.state
    n_pre, _ = _carry_to_fixed_point(sim2, local.flow, VERIFY_PRESETTLE_K, VERIFY_PRE_CARRIES)
    if cancel is not None and cancel():
        from dctwin.twin.sim.engine import Cancelled

        raise Cancelled("the verification was superseded")
    rq, uq = st.last_rack.airflow_m3s.copy(), st.last_unit.airflow_m3s.copy()
    m = hs.air_model
    from dctwin.twin.sim.budget import MAX_MARCH_WORK

    marched = airflow.solve_flow(hs.air, airflow.FlowBC(rq.copy(), uq.copy()), init=st.flow, scheme=m.scheme,
                                 turbulence=m.turbulence, max_work=MAX_MARCH_WORK, window_tau=window_tau(hs.air, st.flow),
                                 march_tol=VERIFY_MARCH_TOL)
    handover = max(tol_k, VERIFY_HANDOVER_K)
    n_post, moved = _carry_to_fixed_point(sim2, marched, handover, VERIFY_CARRIES)
    fallback = moved >= handover
    if fallback:
        # still moving on the short march's flow after VERIFY_CARRIES: the steady solve's own march, warm from
        # this one, to its full criterion (a safety: it did not happen at the 10 spots measured)
        st.flow, st.warm_flow = None, marched
    else:
        # the carried flow is the state's flow, for the airflows of the last iteration's racks and units
        st.flow_rack_q, st.flow_unit_q = st.last_rack.airflow_m3s.copy(), st.last_unit.airflow_m3s.copy()
        st.marched = [(marched, rq, uq)]
        st.warm_flow = None
    summary = sim2.solve_steady(cancel=cancel, tol_k=tol_k)
    return summary, {"march_steps": marched.steps, "carries": n_pre + n_post, "flow_solves": sim2.stats.flow_solves,
                     "fallback": fallback}
