"""Session 26's error budget (docs/validation.md, "Session 26: the error budget (the CFD's flow imposed)"):
dctwin's steady temperature solve on the CFD's own mean flow, against the CFD's rack inlets.

    python3 tests/twin/physics/imposed_flow.py budget ROOM RUN_DIR [--grid H] [--hz H] [--across H] [--edge E ...]
        [--nu chen|cfd|both] [--no-floor] [--tvd] [--regions] [--extrapolate BETA ...] [--no-own] [--time T]
    python3 tests/twin/physics/imposed_flow.py check ROOM RESULT_JSON
    python3 tests/twin/physics/imposed_flow.py sampling [ROOM] [--extrapolate BETA ...] [--edge E]

``RUN_DIR`` is an OpenFOAM run of the room made by tests/data/cfd/tools (e.g. /work/cfd/runs/j_gaps_m1,
its averaged fields at iteration 1500 and, for the rerun check, its ``scal_turb/F.json``).

``budget``: the CFD's iteration-averaged face fluxes (``phiMean``) are carried onto dctwin's staggered
faces (:func:`restrict_fluxes`: the lowest-order Raviart-Thomas field of the CFD's fluxes - each face
flux spread evenly over its face, each normal component linear across its cell - integrated over every
dctwin face, which conserves mass exactly on every dctwin cell that the CFD's mesh holds as fluid),
dctwin's own port fluxes set on its closed faces, and the field projected divergence-free with dctwin's
pressure solve (:func:`airflow.project`). dctwin's steady temperature solve (``thermal.solve_steady``,
the racks' powers and airflows of the CFD) then runs on that flow with

- ``chen``: the eddy viscosity dctwin would give that flow (Chen's zero-equation model, as the march
  does) and the air model's diffusivity floor (``thermal.ALPHA_FLOOR``): dctwin's temperature transport
  unchanged, only the flow is the CFD's;
- ``cfd``: the CFD's own eddy viscosity (Cmu k²/eps of the averaged k, eps, averaged over each dctwin
  cell) with the CFD's diffusivity nu/0.71 + nut/0.9 and no floor: the CFD's transport on dctwin's grid;

and ``front_jet_edge`` 0 (the jets off) and each ``--edge`` (the rack-front jet tubes, session 25). One
markdown row per power case and variant: RMS and worst |error| and every rack's error (model minus CFD).
For comparison the first rows are dctwin's own marched flow (``airflow.solve_flow``, what ``dctwin solve``
runs) through the same temperature call. ``--no-floor``: also Chen's nu without the floor; ``--tvd``: also
TVD advection; ``--regions``: also the CFD's flow inside the cold aisle's box only (the march's outside)
and the reverse; ``--extrapolate``: also the intakes read extrapolated toward their faces
(:func:`intake_extrapolated`, after the solve); ``--grid``/``--hz``: the horizontal/vertical cell (m),
``--across``: cells of H m along y only (across the rack fronts). A first row per case reads the CFD's own
temperature field (its scalars, if kept) through dctwin's intake cells: what the grid's reading costs alone.

``sampling``: every room/case (or ROOM) on dctwin's own march, the intakes read as ``port_means`` and
extrapolated; its first column reproduces ``rowend_attempts.py table``.

``check``: the rerun's rack inlets (RESULT_JSON: tools/analyze.py's output for the run, e.g.
/work/cfd/runs/j_gaps_m1.json) against the stored tests/data/cfd/ROOM.json, rack by rack.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from air_cases import cfd_site  # noqa: E402
from test_cfd_rooms import load_room  # noqa: E402
from dctwin.twin.physics import airflow, thermal  # noqa: E402
from dctwin.twin.sim.compile import compile_hall  # noqa: E402

NU_AIR = 1.5e-5  # the CFD's laminar viscosity (m2/s, gencase transportProperties)
CMU = 0.09


# --------------------------------------------------------------------------- reading the CFD


def _foam_list(raw: bytes, start: int, dtype: str) -> tuple[np.ndarray, int]:
    """The binary list ``N\\n(...)`` at or after ``start``: (values, offset after its closing bracket)."""
    m = re.compile(rb"(\d+)\s*\(").search(raw, start)
    n = int(m.group(1))
    item = np.dtype(dtype).itemsize
    a = np.frombuffer(raw[m.end():m.end() + item * n], dtype=dtype)
    return a, m.end() + item * n + 1


def _body(raw: bytes) -> int:
    """Offset just after the FoamFile header."""
    return raw.index(b"}", raw.index(b"FoamFile")) + 1


def read_patches(run: Path) -> list[tuple[str, int, int]]:
    """(name, startFace, nFaces) of every boundary patch."""
    txt = (run / "constant" / "polyMesh" / "boundary").read_text()
    txt = txt[txt.index("}", txt.index("FoamFile")) + 1:]
    return [(m.group(1), int(m.group(3)), int(m.group(2))) for m in
            re.finditer(r"(\w+)\s*\{[^}]*?nFaces\s+(\d+);\s*startFace\s+(\d+);[^}]*\}", txt)]


def read_surface_field(path: Path, patches: list) -> tuple[np.ndarray, dict]:
    """A binary surfaceScalarField: (internal values, {patch: values})."""
    raw = path.read_bytes()
    i = raw.index(b"internalField", _body(raw))
    internal, pos = _foam_list(raw, i, "<f8")
    out = {}
    for name, _, n in patches:
        m = re.compile(rb"\b" + name.encode() + rb"\s*\{").search(raw, pos)
        v = raw.index(b"value", m.end())
        if raw[v:v + 40].split()[1].startswith(b"nonuniform"):
            vals, pos = _foam_list(raw, v, "<f8")
        else:
            mu = re.compile(rb"value\s+uniform\s+([-+0-9.eE]+)\s*;").match(raw, v)
            vals, pos = np.full(n, float(mu.group(1))), mu.end()
        if len(vals) != n:
            raise SystemExit(f"{path}: patch {name} has {len(vals)} values for {n} faces")
        out[name] = vals
    return internal, out


def read_cell_field(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    return _foam_list(raw, raw.index(b"internalField", _body(raw)), "<f8")[0]


def cfd_fluxes(run: Path, time_dir: str = "1500") -> dict:
    """The CFD's averaged face fluxes on its uniform block mesh (m3/s, + along the axis):
    ``fx`` (nx + 1, ny, nz), ``fy``, ``fz``; ``h`` its cell sizes, ``solid`` its rack cells, ``nut`` the
    eddy viscosity Cmu k²/eps of the averaged k, eps at its cells (0 in solids)."""
    meta = json.loads((run / "case_meta.json").read_text())
    m = meta["mesh"]
    nx, ny, nz, h = m["nx"], m["ny"], m["nz"], (m["dx"], m["dy"], m["dz"])
    solid = np.zeros((nx, ny, nz), dtype=bool)
    for b in meta["racks"] + (meta.get("blocks") or []):
        solid[round(b["x0"] / h[0]):round(b["x1"] / h[0]), round(b["y0"] / h[1]):round(b["y1"] / h[1]),
              round(b["z0"] / h[2]):round(b["z1"] / h[2])] = True
    flat = np.flatnonzero(~solid.transpose(2, 1, 0).reshape(-1))  # block order, x fastest
    ci, cj, ck = flat % nx, (flat // nx) % ny, flat // (nx * ny)
    poly = run / "constant" / "polyMesh"
    owner = _foam_list(poly.joinpath("owner").read_bytes(), _body(poly.joinpath("owner").read_bytes()), "<i4")[0]
    nb_raw = poly.joinpath("neighbour").read_bytes()
    neigh = _foam_list(nb_raw, _body(nb_raw), "<i4")[0]
    if owner.max() + 1 != len(flat):
        raise SystemExit(f"{run}: {owner.max() + 1} CFD cells, {len(flat)} fluid cells in the block mesh")
    patches = read_patches(run)
    phi, bphi = read_surface_field(run / time_dir / "phiMean", patches)
    F = [np.zeros((nx + 1, ny, nz)), np.zeros((nx, ny + 1, nz)), np.zeros((nx, ny, nz + 1))]
    o, n = owner[:len(neigh)], neigh
    d = flat[n] - flat[o]
    for axis, step in enumerate((1, nx, nx * ny)):
        s = d == step
        idx = [ci[n[s]], cj[n[s]], ck[n[s]]]  # the face on the neighbour's low side
        F[axis][tuple(idx)] = phi[s]
    if not np.isin(d, (1, nx, nx * ny)).all():
        raise SystemExit(f"{run}: internal faces that are not between block neighbours")
    racks = {f"rack{r['id']:02d}": r for r in meta["racks"]}
    axis_of = {"x": 0, "y": 1, "z": 2}
    for name, start, count in patches:
        cells = owner[start:start + count]
        if name.startswith("tile"):
            axis, high = 2, False
        elif name == "crah_return":
            axis, high = 2, True
        elif name[:6] in racks and name.endswith(("_front", "_back")):
            face = racks[name[:6]]["face"]  # the side the front looks to
            axis = axis_of[face[1]]
            high = (face[0] == "-") == name.endswith("_front")  # a +y front is the fluid cell's low side
        else:
            continue  # walls: no flux
        idx = [ci[cells], cj[cells], ck[cells]]
        if high:
            idx[axis] = idx[axis] + 1
        F[axis][tuple(idx)] = bphi[name] if high else -bphi[name]
    k = read_cell_field(run / time_dir / "kMean")
    eps = read_cell_field(run / time_dir / "epsilonMean")
    nut = np.zeros((nx, ny, nz))
    nut[ci, cj, ck] = CMU * k ** 2 / np.maximum(eps, 1e-12)
    scal = []  # the passive scalars S00 (supply), S01.. (each rack's exhaust) of runscalar.py, if kept
    sdir = run / "scal_turb" / time_dir
    for i in range(len(meta["racks"]) + 1):
        if not (sdir / f"S{i:02d}").exists():
            scal = []
            break
        a = np.zeros((nx, ny, nz))
        a[ci, cj, ck] = read_cell_field(sdir / f"S{i:02d}")
        scal.append(a)
    return {"fx": F[0], "fy": F[1], "fz": F[2], "h": h, "solid": solid, "nut": nut, "meta": meta, "scalars": scal}


# --------------------------------------------------------------------------- onto dctwin's grid


def _interp(n_src: int, h_src: float, n_dst: int, h_dst: float) -> np.ndarray:
    """(n_dst + 1, n_src + 1): the planes x = m h_dst as linear combinations of the planes i h_src."""
    x = np.arange(n_dst + 1) * h_dst / h_src
    i0 = np.clip(np.floor(x + 1e-9).astype(int), 0, n_src - 1)
    w = np.clip(x - i0, 0.0, 1.0)
    out = np.zeros((n_dst + 1, n_src + 1))
    out[np.arange(n_dst + 1), i0] += 1.0 - w
    out[np.arange(n_dst + 1), i0 + 1] += w
    return out


def _overlap(n_src: int, h_src: float, n_dst: int, h_dst: float) -> np.ndarray:
    """(n_dst, n_src): the share of source cell i that lies in destination cell m."""
    a = np.arange(n_dst)[:, None] * h_dst
    b = np.arange(n_src)[None, :] * h_src
    ov = np.minimum(a + h_dst, b + h_src) - np.maximum(a, b)
    return np.clip(ov, 0.0, None) / h_src


def restrict_fluxes(F: list, h_src: tuple, shape_dst: tuple, h_dst: tuple) -> list:
    """Face fluxes (m3/s, + along the axis) ``F`` = [fx, fy, fz] of a uniform grid of cells ``h_src``
    integrated over the faces of another uniform grid (``shape_dst`` cells of ``h_dst``) of the same box:
    the lowest-order Raviart-Thomas field of ``F`` (a face's flux spread evenly over it, the normal
    velocity linear across each cell) integrated over every destination face. Its divergence is the
    source cell's, so a divergence-free ``F`` gives destination fluxes that balance on every cell."""
    shape_src = F[2].shape[:2] + (F[0].shape[2],)
    out = []
    for axis in range(3):
        mats = []
        for b in range(3):
            if b == axis:
                mats.append(_interp(shape_src[b], h_src[b], shape_dst[b], h_dst[b]))
            else:
                mats.append(_overlap(shape_src[b], h_src[b], shape_dst[b], h_dst[b]))
        out.append(np.einsum("ai,bj,ck,ijk->abc", *mats, F[axis], optimize=True))
    return out


def average_cells(a: np.ndarray, solid: np.ndarray, h_src: tuple, shape_dst: tuple, h_dst: tuple) -> np.ndarray:
    """Fluid-volume average of the cell field ``a`` over each destination cell (0 where none is fluid)."""
    ov = [_overlap(n, hs, m, hd) for n, hs, m, hd in zip(a.shape, h_src, shape_dst, h_dst)]
    fl = (~solid).astype(float)
    num = np.einsum("ai,bj,ck,ijk->abc", *ov, a * fl, optimize=True)
    den = np.einsum("ai,bj,ck,ijk->abc", *ov, fl, optimize=True)
    return np.where(den > 1e-9, num / np.maximum(den, 1e-9), 0.0)


def face_centres(ap) -> np.ndarray:
    """(n_faces, 3) centre of every face (m), flat in face numbering."""
    out = []
    for axis, n in enumerate(ap.shape):
        cs = [(np.arange(m + (b == axis)) + (0.0 if b == axis else 0.5)) * hb
              for b, (m, hb) in enumerate(zip(ap.shape, (ap.dx, ap.dy, ap.dz)))]
        g = np.meshgrid(*cs, indexing="ij")
        out.append(np.stack([a.reshape(-1) for a in g], axis=1))
    return np.concatenate(out)


def aisle_faces(ap, case: dict) -> np.ndarray:
    """Faces inside the cold aisle's box: between the tile lines' outer edges (the rack fronts), from one
    rack width before the rows' first rack to one after their last, below the tallest rack."""
    g = case["geometry"]
    x0 = min(r["x"] for r in g["racks"]) - 0.6
    x1 = max(r["x"] + r["w"] for r in g["racks"]) + 0.6
    y0, y1 = min(t["y0"] for t in g["tiles"]), max(t["y1"] for t in g["tiles"])
    top = max(r["h"] for r in g["racks"])
    c = face_centres(ap)
    return (c[:, 0] > x0) & (c[:, 0] < x1) & (c[:, 1] > y0) & (c[:, 1] < y1) & (c[:, 2] < top)


def imposed_flow(ap, bc: airflow.FlowBC, cfd: dict, nu: str = "chen", base: Optional[airflow.Flow] = None,
                 region: Optional[np.ndarray] = None) -> airflow.Flow:
    """The CFD's mean flow on ``ap``'s faces (:func:`restrict_fluxes`), dctwin's own port fluxes of ``bc``
    on its closed faces, projected divergence-free; the eddy viscosity Chen's of that flow (``nu``
    "chen") or the CFD's with its laminar diffusivity folded in as nu_t = nut + 0.9 nu / 0.71 ("cfd").
    With ``base`` and ``region`` (a mask over the faces): the CFD's flow on the region's faces, ``base``'s
    elsewhere, projected. ``flow.cache["projection_m_s"]``: the largest change the projection made to an
    open face's velocity."""
    shape, h = ap.shape, (ap.dx, ap.dy, ap.dz)
    F = restrict_fluxes([cfd["fx"], cfd["fy"], cfd["fz"]], cfd["h"], shape, h)
    areas = (ap.dy * ap.dz, ap.dx * ap.dz, ap.dx * ap.dy)
    uf = np.concatenate([(f / a).reshape(-1) for f, a in zip(F, areas)])
    if base is not None:
        uf = np.where(region, uf, base.u)
    u0 = uf.copy()
    pf = airflow.port_faces(ap)
    bf, ubc, _, _ = airflow._boundary_velocities(ap, pf, bc)
    closed = ap.cond == 0.0
    uf[closed] = ubc[closed]
    uf[(ap.cond > 0.0) & (ap.cond < 1.0)] = 0.0
    phi = np.zeros(shape)
    vmax = float(np.abs(uf).max())
    airflow.project(ap, uf, phi, 1e-10 * vmax / min(h), max_iter=5000)
    if nu == "chen":
        nut = airflow.eddy_viscosity(ap, uf)
    else:
        nut = average_cells(cfd["nut"], cfd["solid"], cfd["h"], shape, h) + thermal.PR_T * NU_AIR / 0.71
    fl = airflow.make_flow(ap, uf, phi, nut, bf, 0, 0.0, True, time.perf_counter(), [])
    fl.cache["projection_m_s"] = float(np.abs(uf - u0)[ap.cond == 1.0].max())
    return fl


# --------------------------------------------------------------------------- the budget


def intake_extrapolated(ap, flow, T: np.ndarray, beta: float) -> np.ndarray:
    """Rack inlets (°C) read at the intake faces as ``port_means`` does (flow-weighted over the faces), but
    each face's cell temperature carried linearly toward the face from the next cell out along the face's
    normal: T_c + beta (T_c - T_next) (beta 0.5: at the face; 0.25: at the CFD's sample point, 0.075 m out
    of 0.3 m cells). Where the next cell is solid or outside, the cell's own temperature."""
    pf = airflow.port_faces(ap)
    s = pf.group["rack_in"]
    faces, cells = pf.face[s], pf.cell[s]
    nx, ny, nz = ap.shape
    ci, cj, ck = np.unravel_index(cells, ap.shape)
    nxt = np.array([ci, cj, ck])
    for axis, (lo, shape) in enumerate(((0, (nx + 1, ny, nz)), (ap.nfx, (nx, ny + 1, nz)),
                                        (ap.nfx + ap.nfy, (nx, ny, nz + 1)))):
        m = (faces >= lo) & (faces < lo + int(np.prod(shape)))
        fi = np.unravel_index(faces[m] - lo, shape)[axis]
        nxt[axis, m] += np.where(fi == nxt[axis, m], 1, -1)  # away from the face
    ok = ((nxt >= 0) & (nxt < np.array(ap.shape)[:, None])).all(axis=0)
    nxt = np.where(ok, nxt, np.array([ci, cj, ck]))
    ok &= ~ap.solid[tuple(nxt)]
    tc = T[ci, cj, ck]
    tf = np.where(ok, tc + beta * (tc - T[tuple(nxt)]), tc)
    w = -flow.port_q[s]
    rack = ap.rack_in.port_of_face()
    return np.bincount(rack, w * tf, ap.n_racks) / np.maximum(np.bincount(rack, w, ap.n_racks), 1e-300)


def room_case(case: dict, power_case: str, grid=None) -> tuple:
    """(plant, airflows, rack powers (W) in plant order, plant index of each CFD rack) of one power case,
    as ``dctwin solve`` has it (``air_cases.cfd_site``: rack flows fixed, the tiles fed the CFD's flow)."""
    site = cfd_site(case, power_case)
    ap = compile_hall(site, grid_m=grid)
    order = [ap.rack_ids.index(r.id) for r in site.halls[0].racks]
    bc = airflow.FlowBC(np.full(ap.n_racks, case["q_rack_m3s"]),
                        np.array([case["tile_flow_total_m3s"] if u == "SUPPLY" else 0.0 for u in ap.unit_ids]))
    p = np.zeros(ap.n_racks)
    p[order] = case["temperatures"]["cases"][power_case]["P_W"]
    return ap, bc, p, order


def steady_t(ap, flow, p_w: np.ndarray, supply_c: float, **kw) -> np.ndarray:
    """``thermal.solve_steady`` with every unit and tile supplying at ``supply_c``."""
    return thermal.solve_steady(ap, flow, p_w, np.full(ap.n_units, supply_c), supply_c, **kw)


def budget(name: str, run: Path, grid: tuple, edges: list, nus: list, own: bool, time_dir: str = "1500",
           tvds: tuple = (False,), betas: tuple = (), no_floor: bool = False, regions: bool = False) -> None:
    case = load_room(name)
    cfd = cfd_fluxes(run, time_dir)
    temps = case["temperatures"]
    for pc, tc in temps["cases"].items():
        ap, bc, p, order = room_case(case, pc, grid)
        glabel = f"{ap.dx:g} x {ap.dy:g} x {ap.dz:g}"
        flows = {}
        if own:
            flows["dctwin march"] = (airflow.solve_flow(ap, bc), thermal.ALPHA_FLOOR)
        for nu in nus:
            fl = imposed_flow(ap, bc, cfd, nu)
            flows[f"CFD flow, {nu} nu"] = (fl, thermal.ALPHA_FLOOR if nu == "chen" else 1e-9)
            if nu == "chen" and no_floor:
                flows["CFD flow, chen nu, no floor"] = (fl, 1e-9)
            if nu == "chen" and regions and "dctwin march" in flows:
                aisle = aisle_faces(ap, case)
                march = flows["dctwin march"][0]
                flows["CFD flow in the cold aisle, march elsewhere"] = (
                    imposed_flow(ap, bc, cfd, nu, march, aisle), thermal.ALPHA_FLOOR)
                flows["march in the cold aisle, CFD flow elsewhere"] = (
                    imposed_flow(ap, bc, cfd, nu, march, ~aisle), thermal.ALPHA_FLOOR)
        ref = np.array(tc["T_inlet_C"])
        if cfd["scalars"] and flows:
            # the CFD's own temperature field (its scalars weighted by the supply and exhaust temperatures)
            # averaged over dctwin's cells and read at dctwin's intakes: what the coarse cells cost alone
            t_cfd = temps["T_supply_C"] * cfd["scalars"][0] + sum(t * a for t, a in zip(tc["T_exhaust_C"],
                                                                                       cfd["scalars"][1:]))
            T = average_cells(t_cfd, cfd["solid"], cfd["h"], ap.shape, (ap.dx, ap.dy, ap.dz))
            fl = next(iter(flows.values()))[0]
            for beta in [None] + list(betas):
                tin = thermal.port_means(ap, fl, T, 0.0)[0] if beta is None else intake_extrapolated(ap, fl, T, beta)
                err = tin[order] - ref
                print(f"| {name} | {pc} | {glabel} | CFD temperature sampled"
                      f"{'' if beta is None else f', extrapolated {beta:g}'} | - | "
                      f"{np.sqrt(np.mean(err ** 2)):.2f} ({np.abs(err).max():.1f}) | "
                      + " ".join(f"{x:+.1f}" for x in err) + " |", flush=True)
        for (label, (fl, floor)), tvd, e in itertools.product(flows.items(), tvds, edges):
            t0 = time.process_time()
            T = steady_t(ap, fl, p, temps["T_supply_C"], alpha_floor=floor, front_jet_edge=e, tvd=tvd)
            for beta in [None] + ([] if e > 0 else list(betas)):
                tin = thermal.port_means(ap, fl, T, e)[0] if beta is None else intake_extrapolated(ap, fl, T, beta)
                err = tin[order] - ref
                rms, worst = float(np.sqrt(np.mean(err ** 2))), float(np.abs(err).max())
                print(f"| {name} | {pc} | {glabel} | {label}{', TVD' if tvd else ''}"
                      f"{'' if beta is None else f', extrapolated {beta:g} (after)'} | {e:g} | "
                      f"{rms:.2f} ({worst:.1f}) | " + " ".join(f"{x:+.1f}" for x in err)
                      + f" | div {fl.max_div:.1e}, projection {fl.cache.get('projection_m_s', 0):.2f} m/s, "
                      f"CPU {time.process_time() - t0:.1f} s", flush=True)
    print(f"load {' '.join(open('/proc/loadavg').read().split()[:3])}")


def sampling(rooms: list, betas: list, model_edge: float = 0.0) -> None:
    """dctwin's own flow and temperature (march and steady solve as ``budget``'s first rows) on every room,
    the intakes read as ``port_means`` and extrapolated (``intake_extrapolated``, after the solve)."""
    from test_cfd_rooms import HELD_OUT
    res = {b: ([], [], []) for b in [0.0] + betas}
    t0 = time.process_time()
    for name in sorted(rooms, key=lambda r: r in HELD_OUT):
        case = load_room(name)
        temps = case["temperatures"]
        for pc, tc in temps["cases"].items():
            ap, bc, p, order = room_case(case, pc)
            fl = airflow.solve_flow(ap, bc)
            T = steady_t(ap, fl, p, temps["T_supply_C"], front_jet_edge=model_edge)
            ref = np.array(tc["T_inlet_C"])
            cells = []
            for b in res:
                tin = thermal.port_means(ap, fl, T, model_edge)[0] if b == 0 else intake_extrapolated(ap, fl, T, b)
                err = tin[order] - ref
                res[b][0].append(float(np.sqrt(np.mean(err ** 2))))
                res[b][1].append(float(np.abs(err).max()))
                res[b][2].append(name in HELD_OUT)
                cells.append(f"{res[b][0][-1]:.2f} ({res[b][1][-1]:.1f})")
            print(f"| {name} | {pc} | " + " | ".join(cells) + " |", flush=True)
    for b, (r, w, h) in res.items():
        r, w, h = np.array(r), np.array(w), np.array(h)
        for group, sel in (("tuned", ~h), ("held out", h)):
            print(f"beta {b:g} {group}: {int(sel.sum())} room/cases, mean RMS {r[sel].mean():.2f} / worst RMS "
                  f"{r[sel].max():.2f} / worst rack {w[sel].max():.1f} K")
    print(f"CPU {time.process_time() - t0:.1f} s, load {' '.join(open('/proc/loadavg').read().split()[:3])}")


def check(name: str, result: Path) -> None:
    """The rerun's rack inlets (``result``: analyze.py's JSON of the run) against the stored room's."""
    case, new = load_room(name), json.loads(result.read_text())
    for pc, tc in case["temperatures"]["cases"].items():
        d = np.array(new["temperatures"]["cases"][pc]["T_inlet_C"]) - np.array(tc["T_inlet_C"])
        print(f"| {name} | {pc} | {np.sqrt(np.mean(d ** 2)):.3f} ({np.abs(d).max():.3f}) | "
              + " ".join(f"{x:+.2f}" for x in d) + " |")
    dF = np.abs(np.array(new["matrix"]["F"]) - np.array(case["matrix"]["F"])).max()
    print(f"largest |dF| {dF:.2e}; simpleFoam CPU {new['run_times_s'].get('simpleFoam_cpu')} s "
          f"(stored {case['run_times_s'].get('simpleFoam_cpu')} s)")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("budget", "check", "sampling"))
    p.add_argument("room", nargs="?")
    p.add_argument("run", type=Path, nargs="?")
    p.add_argument("--grid", type=float, default=None, help="horizontal cell (m); layers as the default grid")
    p.add_argument("--edge", type=float, nargs="*", default=[0.0, 0.3], help="front_jet_edge values")
    p.add_argument("--nu", default="both", choices=("chen", "cfd", "both"))
    p.add_argument("--no-own", action="store_true", help="skip dctwin's own marched flow")
    p.add_argument("--time", default="1500", help="the run's time directory")
    p.add_argument("--tvd", action="store_true", help="also the TVD temperature advection")
    p.add_argument("--extrapolate", type=float, nargs="*", default=[], help="also read the intakes extrapolated "
                   "(intake_extrapolated's beta; after the solve, the exhausts not fed back)")
    p.add_argument("--no-floor", action="store_true", help="also Chen's nu without the diffusivity floor")
    p.add_argument("--regions", action="store_true", help="also the CFD's flow in the cold aisle only, and outside it")
    p.add_argument("--across", type=float, default=None, help="cells of this size (m) along y only "
                   "(rowend_attempts.refine_across: across the rack fronts)")
    p.add_argument("--hz", type=float, default=None, help="layer height (m), default the default grid's")
    a = p.parse_args()
    if a.what == "check":
        check(a.room, a.run)
    elif a.what == "sampling":
        from test_cfd_rooms import ROOMS
        sampling(["case_B1"] + ROOMS if a.room is None else [a.room], a.extrapolate or [0.25, 0.5],
                 a.edge[0] if a.edge else 0.0)
    else:
        if a.across is not None:
            from rowend_attempts import refine_across
            refine_across(a.across)
        case = load_room(a.room)
        from dctwin.twin.sim.compile import default_grid_m
        hz = default_grid_m(cfd_site(case, next(iter(case["temperatures"]["cases"]))).halls[0])
        grid = (a.grid or hz[0], a.hz or hz[1])
        budget(a.room, a.run, grid, a.edge, ["chen", "cfd"] if a.nu == "both" else [a.nu], not a.no_own, a.time,
               (False, True) if a.tvd else (False,), a.extrapolate, a.no_floor, a.regions)
