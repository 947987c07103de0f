"""Sessions 23 and 24's row-end attempts (docs/validation.md, "Session 23: row ends", "Session 24: a
rack-front jet thinner than a cell"), reproducible.

    python3 tests/twin/physics/rowend_attempts.py table [ROOM ...] [--keep K] [--slip S] [--porous] [--grid H] [--front-nu F] [--front-jet core|carried|thin|edge] [--model NAME]
        [--thin-slot S] [--thin-spread E] [--no-entrain] [--feeds] [--lateral L] [--edge R] [--across H] [--tol T]
        [--jet-heat [--heat-slot S] [--heat-spread E] [--heat-take F] [--heat-edge R] [--heat-edge-width W]]
    python3 tests/twin/physics/rowend_attempts.py flux ROOM RUN_DIR [--keep K] [--slip S] [--porous] [--front-nu F] [--front-jet core|carried]

``table``: every room/case (B1 and tests/data/cfd) solved as ``dctwin solve`` does
(``Simulation.solve_steady`` of ``air_cases.cfd_site``) with the variant; one markdown row per
room/case (RMS (worst rack), K, and every rack's error), then the tuned and held-out summaries.
``flux``: the mean flow of the model against the CFD's own averaged field (OpenFOAM ``UMean`` of the
run directory RUN_DIR, e.g. /work/cfd/runs/j_gaps_m1, made by tests/data/cfd/tools) through the
planes that bound the room's cold aisle: its two ends below the rack tops, its top, and mid-aisle.

The variants are not model options (none was adopted); this script wraps the march to try them:
- ``--keep K``: the intake momentum share (``solve_flow(intake_keep=K)``, default 0.5).
- ``--slip S``: the share of the no-slip friction of the rack fronts given back to the vertical faces
  beside a rack intake (1: a free-slip rack front). The implicit diffusion treats a solid neighbour as a
  no-slip wall (ghost coefficient ``wall`` x nu / h²); a rack front is a perforated door the air
  passes through, so its friction on the rising tile jet is in doubt. Given back by scaling those
  faces' diffusion source by ``1 + S wall dt nu / h²`` (to first order the same as dropping the term).
- ``--grid H``: horizontal cells of H m (layers as the default, 0.125 m in these rooms), instead of 0.3 m.
- ``--porous``: the wall distance (Chen's and the one-equation model's mixing length) measured along
  the rack's breathing axis (y in these rooms) through the racks to the room's walls: a perforated
  front is not a wall for the eddies of the jet beside it.
- ``--front-nu F``: the thin rack-front wall jet, a model option (``solve_flow(rack_front_nu=F)``,
  twin/physics/wall_jet.py): the march keeps share F of the eddy viscosity in the cells in front of
  rack intakes.
- ``--front-jet core|carried``: the same module's plane wall-jet floor (``solve_flow(rack_front_jet=...)``): the
  vertical velocity in the cells in front of rack intakes above a tile held at least at the tile's
  velocity times Launder & Rodi's decay law (within its potential core up to the rack tops here).
- ``--front-jet thin``: the sub-cell wall jet (``wall_jet.thin_jet``), its constants by ``--thin-slot``,
  ``--thin-spread``, ``--no-entrain``, ``--feeds``, ``--lateral``; ``--front-jet edge``: its free edge
  alone, drawing ``--edge`` R x W0 sideways at row ends and gaps.
- ``--across H``: cells of H m along y only (across the rack fronts in every CFD room).
- ``--tol T``: the march's window tolerance (``solve_flow(tol=T)``, default 0.04): its own noise.
- ``--jet-heat``: session 25's jet heat in the temperature solve (the air model's ``front_jet_edge`` set to
  ``--heat-edge``, default ``wall_jet.HEAT_EDGE``; ``wall_jet.JetTubes``): the intakes along a tile take part
  of their air from the rack-front wall jet at its own temperature; its other constants by ``--heat-slot``,
  ``--heat-spread``, ``--heat-take``, ``--heat-edge-width`` (the edge must be above 0: 0 is off).
  ``--no-jet-heat``: the model with its ``front_jet_edge`` at 0 (off; "fast" has 0.3 since session 26).
Each table row ends with the RMS to 3 decimals and the worst rack to 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from air_cases import b1_site, cfd_site  # noqa: E402
from cfd_table import inlet_errors, record  # noqa: E402
from dctwin.twin.physics import _airflow_numba, airflow, wall_jet  # noqa: E402
from dctwin.twin.sim import compile as compile_module  # noqa: E402
from dctwin.twin.sim.air_models import AIR_MODELS  # noqa: E402
from dctwin.twin.sim.compile import compile_hall  # noqa: E402
from dctwin.twin.sim.engine import Simulation  # noqa: E402
from test_cfd_rooms import HELD_OUT, ROOMS, load_room  # noqa: E402

_SOLVE_FLOW = airflow.solve_flow
_DIFFUSE = airflow._nb.diffuse


def front_inv_h2(ap) -> np.ndarray:
    """On the z faces (nx, ny, nz + 1): 1/h² (h the cell size across the front) where the face lies
    beside a cell with a side-facing rack intake, else 0."""
    pf = airflow.port_faces(ap)
    s = pf.group["rack_in"]
    faces, cells = pf.face[s], pf.cell[s]
    side = faces < ap.nfx + ap.nfy
    h = np.where(faces[side] < ap.nfx, ap.dx, ap.dy)
    inv = np.zeros(ap.shape)
    inv[np.unravel_index(cells[side], ap.shape)] = 1.0 / h ** 2
    out = np.zeros((ap.shape[0], ap.shape[1], ap.shape[2] + 1))
    out[:, :, 1:-1] = np.maximum(inv[:, :, :-1], inv[:, :, 1:])
    return out


def porous_wall_distance(ap) -> np.ndarray:
    """Wall distance (m) along x and z as compile's, along y through the solids to the room's walls."""
    nx, ny, nz = ap.shape
    d = np.full(ap.shape, 1e30)
    for j in range(ny):
        for k in range(nz):
            _airflow_numba._wall_distance_line(np.ascontiguousarray(ap.solid[:, j, k]), ap.dx, d[:, j, k])
    for i in range(nx):
        for j in range(ny):
            _airflow_numba._wall_distance_line(np.ascontiguousarray(ap.solid[i, j, :]), ap.dz, d[i, j, :])
    free = np.zeros(ny, dtype=bool)
    line = np.empty(ny)
    for i in range(nx):
        for k in range(nz):
            line[:] = 1e30
            _airflow_numba._wall_distance_line(free, ap.dy, line)
            d[i, :, k] = np.minimum(d[i, :, k], line)
    d[ap.solid] = 0.0
    return d


def install(keep: float, slip: float, porous: bool, grid: Optional[float] = None, front_nu: float = 1.0,
            front_jet: str = "off", tol: Optional[float] = None) -> None:
    """Wrap the march (``airflow.solve_flow`` and its diffusion kernel) with the variant."""
    front = {}
    if grid is not None:
        default = compile_module.default_grid_m
        compile_module.default_grid_m = lambda hall: (grid, default(hall)[1])

    def diffuse(u, v, w, su, sv, sw, cx, cy, cz, solid, nu, dt, dx, dy, dz, wall, top_open, n_iter, tu, tv, tw):
        f = front.get("inv_h2")
        if slip > 0 and f is not None and f.shape == sw.shape:
            a = np.zeros_like(f)
            a[:, :, 1:-1] = dt * 0.5 * (nu[:, :, :-1] + nu[:, :, 1:])
            sw *= 1.0 + slip * wall * a * f * (cz == 1.0)
            w[...] = sw
        _DIFFUSE(u, v, w, su, sv, sw, cx, cy, cz, solid, nu, dt, dx, dy, dz, wall, top_open, n_iter, tu, tv, tw)

    def solve_flow(ap, bc, init=None, **kw):
        kw.setdefault("intake_keep", keep)
        kw.setdefault("rack_front_nu", front_nu)
        kw.setdefault("rack_front_jet", front_jet)
        if tol is not None:
            kw["tol"] = tol
        front["inv_h2"] = front_inv_h2(ap)
        if porous and not front.get(id(ap)):
            ap.wall_dist_m[...] = porous_wall_distance(ap)
            front[id(ap)] = True
        return _SOLVE_FLOW(ap, bc, init, **kw)

    airflow.solve_flow = solve_flow
    airflow._nb.diffuse = diffuse


def refine_across(h: float) -> None:
    """Cells of ``h`` m along y (across the rack fronts: every CFD room's racks face +-y), x and z as
    the grid would have them: a refinement across the fronts that the uniform-grid solver can take."""
    build = compile_module._Builder.__init__

    def init(self, hall, hxy, hz):
        build(self, hall, hxy, hz)
        self.ny = max(1, int(round(hall.depth_m / h)))
        self.dy = hall.depth_m / self.ny
        self.solid = np.zeros((self.nx, self.ny, self.nz), dtype=bool)

    compile_module._Builder.__init__ = init


def table(rooms: list[str], model: str) -> None:
    rms, worst, held = [], [], []
    t0 = time.process_time()
    for name in sorted(rooms, key=lambda r: r in HELD_OUT):
        case = load_room(name)
        for pc in case["temperatures"]["cases"]:
            site = cfd_site(case, pc)
            err = inlet_errors(Simulation(site, air_model=model).solve_steady().to_json(), site, case, pc)
            cell = record(err, rms, worst)
            held.append(name in HELD_OUT)
            print(f"| {name} | {pc} | {cell} | " + " ".join(f"{e:+.1f}" for e in err)
                  + f" | {rms[-1]:.3f} / {worst[-1]:.2f}", flush=True)
    held_out, r, w = np.array(held), np.array(rms), np.array(worst)
    for group, sel in (("tuned", ~held_out), ("held out", held_out)):
        if sel.any():
            print(f"{group}: {int(sel.sum())} room/cases, mean RMS {r[sel].mean():.2f} / worst RMS {r[sel].max():.2f} / "
                  f"worst rack {w[sel].max():.1f} K; within 1.5 K RMS and 3 K worst: {int(((r[sel] <= 1.5) & (w[sel] <= 3.0)).sum())}")
    print(f"CPU {time.process_time() - t0:.1f} s, load {' '.join(open('/proc/loadavg').read().split()[:3])}")


def cfd_velocity(run: Path) -> tuple[np.ndarray, tuple, np.ndarray]:
    """The CFD's averaged velocity (OpenFOAM binary ``UMean`` at iteration 1500) on its uniform mesh
    (nx, ny, nz, 3), its cell sizes and its solid (rack) cells. The mesh is the generator's block mesh
    with the rack cells cut out (subsetMesh keeps the remaining cells in block order, x fastest)."""
    meta = json.loads((run / "case_meta.json").read_text())
    m = meta["mesh"]
    nx, ny, nz, h = m["nx"], m["ny"], m["nz"], (m["dx"], m["dy"], m["dz"])
    raw = (run / "1500" / "UMean").read_bytes()
    head = re.search(rb"internalField\s+nonuniform List<vector>\s*\n(\d+)\n\(", raw)
    n = int(head.group(1))
    u = np.frombuffer(raw[head.end():head.end() + 24 * n], dtype="<f8").reshape(n, 3)
    solid = np.zeros((nx, ny, nz), dtype=bool)
    for b in meta["racks"] + (meta.get("blocks") or []):
        solid[round(b["x0"] / h[0]):round(b["x1"] / h[0]), round(b["y0"] / h[1]):round(b["y1"] / h[1]),
              round(b["z0"] / h[2]):round(b["z1"] / h[2])] = True
    fluid = ~solid.transpose(2, 1, 0).reshape(-1)
    if fluid.sum() != n:
        raise SystemExit(f"{run}: {n} CFD cells, {fluid.sum()} fluid cells in the block mesh")
    full = np.zeros((nx * ny * nz, 3))
    full[fluid] = u
    return full.reshape(nz, ny, nx, 3).transpose(2, 1, 0, 3), h, solid


def _box(h, axis, lo, hi):
    other = [a for a in range(3) if a != axis]
    return (slice(round(lo[0] / h[other[0]]), round(hi[0] / h[other[0]])),
            slice(round(lo[1] / h[other[1]]), round(hi[1] / h[other[1]])), h[other[0]] * h[other[1]])


def cfd_flux(U, h, solid, axis, pos, lo, hi) -> float:
    """Flow (m3/s, +axis) through the plane axis = pos over lo..hi of the other two axes (CFD)."""
    i = round(pos / h[axis])
    a, b = np.take(U[..., axis], i - 1, axis=axis), np.take(U[..., axis], i, axis=axis)
    blocked = np.take(solid, i - 1, axis=axis) | np.take(solid, i, axis=axis)
    s0, s1, area = _box(h, axis, lo, hi)
    return float(np.where(blocked, 0.0, 0.5 * (a + b))[s0, s1].sum() * area)


def model_flux(ap, flow, axis, pos, lo, hi) -> float:
    """The same through the model's faces."""
    h = (ap.dx, ap.dy, ap.dz)
    s0, s1, area = _box(h, axis, lo, hi)
    return float(np.take(ap.face_views(flow.u)[axis], round(pos / h[axis]), axis=axis)[s0, s1].sum() * area)


def flux(name: str, run: Path) -> None:
    case = load_room(name)
    U, h, solid = cfd_velocity(run)
    ap = compile_hall(b1_site(case))
    flow = airflow.solve_flow(ap, airflow.FlowBC(np.full(ap.n_racks, case["q_rack_m3s"]), np.zeros(0),
                                                 case["tile_flow_total_m3s"]))
    g = case["geometry"]
    racks = g["racks"]
    x0, x1 = min(r["x"] for r in racks), max(r["x"] + r["w"] for r in racks)
    y0, y1 = min(t["y0"] for t in g["tiles"]), max(t["y1"] for t in g["tiles"])
    top = min(r["h"] for r in racks)
    xm = round((x0 + x1) / 2 / 0.3) * 0.3
    planes = [(f"into the aisle at its end x = {x0:g}, below {top:g} m", 0, x0, (y0, 0.0), (y1, top), 1.0),
              (f"into the aisle at its end x = {x1:g}, below {top:g} m", 0, x1, (y0, 0.0), (y1, top), -1.0),
              (f"along the aisle at x = {xm:.1f} (+x), below {top:g} m", 0, xm, (y0, 0.0), (y1, top), 1.0),
              (f"up through the aisle's top z = {top:g} m", 2, top, (x0, y0), (x1, y1), 1.0)]
    print(f"{name} (cold aisle x {x0:g}..{x1:g}, y {y0:g}..{y1:g}); m3/s, CFD / model:")
    for label, axis, pos, lo, hi, sign in planes:
        print(f"  {label}: {sign * cfd_flux(U, h, solid, axis, pos, lo, hi):+.2f} / "
              f"{sign * model_flux(ap, flow, axis, pos, lo, hi):+.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("table", "flux"))
    p.add_argument("rest", nargs="*")
    p.add_argument("--keep", type=float, default=airflow.INTAKE_KEEP)
    p.add_argument("--slip", type=float, default=0.0)
    p.add_argument("--porous", action="store_true")
    p.add_argument("--grid", type=float, default=None)
    p.add_argument("--front-nu", type=float, default=1.0)
    p.add_argument("--front-jet", default="off")
    p.add_argument("--model", default="fast")
    p.add_argument("--thin-slot", type=float, default=None, help="wall_jet.THIN_SLOT_M (m)")
    p.add_argument("--thin-spread", type=float, default=None, help="wall_jet.THIN_SPREAD")
    p.add_argument("--no-entrain", action="store_true", help="wall_jet.THIN_ENTRAIN off")
    p.add_argument("--feeds", action="store_true", help="wall_jet.THIN_FEEDS on")
    p.add_argument("--lateral", type=float, default=0.0, help="wall_jet.THIN_LATERAL")
    p.add_argument("--edge", type=float, default=None, help="wall_jet.EDGE_SPREAD")
    p.add_argument("--tol", type=float, default=None, help="solve_flow(tol=...), the march's window tolerance")
    p.add_argument("--across", type=float, default=None, help="cell size (m) across the rack fronts (y)")
    p.add_argument("--jet-heat", action="store_true", help="AirModel.front_jet_edge = --heat-edge (session 25)")
    p.add_argument("--no-jet-heat", action="store_true", help="AirModel.front_jet_edge = 0 (off)")
    p.add_argument("--heat-slot", type=float, default=None, help="wall_jet.HEAT_SLOT_M (m)")
    p.add_argument("--heat-spread", type=float, default=None, help="wall_jet.HEAT_SPREAD")
    p.add_argument("--heat-take", type=float, default=None, help="wall_jet.HEAT_TAKE")
    p.add_argument("--heat-edge", type=float, default=None, help="AirModel.front_jet_edge (default wall_jet.HEAT_EDGE)")
    p.add_argument("--heat-edge-width", default=None, help="wall_jet.HEAT_EDGE_WIDTH: cell, jet or metres")
    a = p.parse_args()
    if a.jet_heat:  # the jets are on with the model's front_jet_edge above 0 (session 25)
        edge = wall_jet.HEAT_EDGE if a.heat_edge is None else a.heat_edge
        if edge <= 0:
            raise SystemExit("--jet-heat needs --heat-edge above 0 (AirModel.front_jet_edge 0 is off)")
        AIR_MODELS[a.model] = dataclasses.replace(AIR_MODELS[a.model], front_jet_edge=edge)
    elif a.no_jet_heat:
        AIR_MODELS[a.model] = dataclasses.replace(AIR_MODELS[a.model], front_jet_edge=0.0)
    for name, v in (("HEAT_SLOT_M", a.heat_slot), ("HEAT_SPREAD", a.heat_spread), ("HEAT_TAKE", a.heat_take),
                    ("HEAT_EDGE_WIDTH", a.heat_edge_width)):
        if v is not None:
            setattr(wall_jet, name, v if v in ("cell", "jet") else float(v))
    install(a.keep, a.slip, a.porous, a.grid, a.front_nu, a.front_jet, a.tol)
    if a.thin_slot is not None:
        wall_jet.THIN_SLOT_M = a.thin_slot
    if a.thin_spread is not None:
        wall_jet.THIN_SPREAD = a.thin_spread
    wall_jet.THIN_ENTRAIN = not a.no_entrain
    wall_jet.THIN_FEEDS = a.feeds
    wall_jet.THIN_LATERAL = a.lateral
    if a.edge is not None:
        wall_jet.EDGE_SPREAD = a.edge
    if a.across is not None:
        refine_across(a.across)
    if a.what == "table":
        table(a.rest or ["case_B1"] + ROOMS, a.model)
    else:
        if len(a.rest) != 2:
            raise SystemExit("flux needs ROOM RUN_DIR")
        flux(a.rest[0], Path(a.rest[1]))
