"""Where does the next rack go: every spot on the floor against space, power, cooling, air and floor.

:func:`find_space` takes a solved :class:`~dctwin.twin.sim.engine.Simulation` and a
:class:`RackRequest` (K kW, a row of N, liquid fraction, airflow, size, feeds) and evaluates every
position on the tile grid and every facing:

* **space** (:mod:`~dctwin.twin.sim.placement_space`): inside, no overlap, service clearance front and
  back, aisles kept, fronts toward a cold aisle where the hall has aisles;
* **power**: the feeds it would take (given, or the nearest row's A/B), every node upstream of them
  (PDU, switchboard, UPS, ATS, source: their ratings are the breakers' and UPS modules') with the new
  load, now and after losing any single node (N-1), from settled load flows
  (:func:`~dctwin.twin.physics.power.static_loads`) with the new racks as one more consumer;
* **cooling**: the hall's running air units as one pool with the new air heat, now and without the
  largest unit (N-1); the CDU that takes the liquid share, now and without the largest CDU; the
  chilled-water plant, now and without its largest chiller;
* **air**: the predicted inlet of each new rack and the largest rise it causes at another rack's inlet
  (see below), against the recommended and allowable maxima of their ASHRAE class;
* **floor**: the rack's weight over its footprint against the hall's ``floor_kg_m2``, when stated.

**The air estimate.** A full solve per spot would take minutes per floor, so each spot is estimated on
the present flow (:mod:`~dctwin.twin.physics.air_response`): the new rack's inlet is the air now in
front of its intake; its power and heat are the IT model's at that inlet; the rise at the other racks is
the near field of its exhaust heat, released along the first 2.4 m of its throw and carried by the frozen
flow (a transport solve in a box 3.6 m around it: the throw, then a rack depth round a row end) and diluted by the rack's own airflow
(:meth:`~dctwin.twin.sim.placement_checks.AirModel.rises`: a big rack's heat is carried by its own air
too, so its neighbours do not warm in proportion to its power), plus the far field, the room air warming by
``P / (rho cp Q_units)``, felt by each rack in proportion to how much room air it already breathes
(``(T_in - T_supply) / (T_return - T_supply)``). The best spots are then verified by warm full solves
(the editor's solve after an edit) and ranked by the verified figures; every candidate that was
verified carries both, and the result states the largest difference (``estimate_error_k``). Each verified
candidate is first corrected locally (:mod:`~dctwin.twin.sim.placement_local`: the flow of a box round the
new rack marched with the rack in it, and the inlet and rise estimated on that flow, ``verified["local"]``); the
verifying solve starts from that flow. **The rise a verified candidate reports** (``neighbour_rise_k``,
``neighbour``, and its errors ``verified.rise_error_k``, ``estimate_error_k.neighbour_rise_k``) is that corrected
one, made before the full solve; its inlet (``inlet_c``) stays the floor-wide estimate (see
:meth:`Candidate.take_verified`). The floor-wide figures, which the map and the choice of the spots to verify
rest on, are under ``floor_*`` on every candidate.

A candidate is **feasible** when every hard limit holds (capacity covers the load now and N-1, inlets
within the allowable range, floor within its rating), **tight** when it is feasible but some margin is
under :data:`TIGHT_MARGIN` of its range or an inlet would sit above the recommended maximum. Its
**score** is the smallest normalised margin x 100 (higher is better); its **binding** constraint is the
one that rules it out, or the tightest, in words with the numbers.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.commands import IdAllocator
from dctwin.twin.model.layout import ASHRAE_CLASSES, FACINGS, MAX_RACK_POWER_W, Hall, Rack, Site
from dctwin.twin.model.validate import FEEDABLE_KINDS, MAX_RACK_AIR_RISE_K, AIR_RHO_CP_J_PER_M3K
from dctwin.twin.physics.constants import DESIGN_INLET_C
from dctwin.twin.physics.it import RackArrays, rack_steady
from dctwin.twin.sim import placement_local
from dctwin.twin.sim.capacity import FeedIndex, upstream
from dctwin.twin.sim.placement_checks import (  # noqa: F401  (the checks are part of this module's interface)
    NEGLIGIBLE_RISE_K, AirModel, Check, CoolingModel, PowerModel, _capacity_check, _floor_check, _kw,
)
from dctwin.twin.sim.placement_space import SpaceRules, Spot, row_at, row_rects
from dctwin.twin.sim.results import HallSummary

#: a feasible spot whose smallest margin is below this fraction of its range is "tight"
TIGHT_MARGIN = 0.10
#: weight assumed for the new rack when the hall rates its floor and no rack states one (kg): a
#: loaded 42U enclosure (AI racks weigh 1,300-1,600 kg: give --weight-kg)
DEFAULT_RACK_WEIGHT_KG = 1000.0
#: spots verified by a full solve unless the caller says otherwise
DEFAULT_VERIFY = 5
#: most candidates listed in a result (the best first; ``evaluated`` counts them all)
MAX_LISTED = 200


# --------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class RackRequest:
    """What to place: ``count`` racks of ``kw`` kW side by side (one row), each ``width_m`` x
    ``depth_m``; ``liquid_fraction`` of the heat to a CDU; ``airflow_m3s`` per rack (default from the
    air heat); ``feeds`` (A, B) or the nearest row's; ``weight_kg`` for the floor check."""

    kw: float
    count: int = 1
    liquid_fraction: float = 0.0
    airflow_m3s: Optional[float] = None
    width_m: float = 0.6
    depth_m: float = 1.2
    height_m: Optional[float] = None
    feeds: tuple[str, ...] = ()
    weight_kg: Optional[float] = None
    ashrae_class: str = "A1"

    def check(self, site: Site, hall: Hall) -> None:
        """InputError naming the option and value when the request cannot be a rack of this site."""
        def bad(flag: str, msg: str) -> InputError:
            return InputError(f"--{flag}: {msg}")

        if not (math.isfinite(self.kw) and 0 < self.kw * 1e3 <= MAX_RACK_POWER_W):
            raise bad("kw", f"must be above 0 and at most {MAX_RACK_POWER_W / 1e3:g} kW per rack, got {self.kw:g}")
        if not 1 <= self.count <= 100:
            raise bad("count", f"must be from 1 to 100 racks, got {self.count}")
        if not (math.isfinite(self.liquid_fraction) and 0.0 <= self.liquid_fraction <= 1.0):
            raise bad("liquid-fraction", f"must be from 0 to 1, got {self.liquid_fraction:g}")
        for flag, v in (("width-m", self.width_m), ("depth-m", self.depth_m)):
            if not (math.isfinite(v) and 0.2 <= v <= 3.0):
                raise bad(flag, f"must be from 0.2 to 3 m, got {v:g}")
        if self.height_m is not None and not (math.isfinite(self.height_m) and 0.5 <= self.height_m <= hall.height_m):
            raise bad("height-m", f"must be from 0.5 m to the hall's height ({hall.height_m:g} m), got {self.height_m:g}")
        if self.weight_kg is not None and not (math.isfinite(self.weight_kg) and 0 < self.weight_kg <= 5000):
            raise bad("weight-kg", f"must be above 0 and at most 5000 kg, got {self.weight_kg:g}")
        if self.ashrae_class not in ASHRAE_CLASSES:
            raise bad("ashrae-class", f"unknown class {self.ashrae_class!r} ({', '.join(ASHRAE_CLASSES)})")
        air_w = self.kw * 1e3 * (1.0 - self.liquid_fraction)
        if self.airflow_m3s is not None:
            if not (math.isfinite(self.airflow_m3s) and 0 < self.airflow_m3s <= 30):
                raise bad("airflow-m3s", f"must be above 0 and at most 30 m3/s, got {self.airflow_m3s:g}")
            if air_w / (AIR_RHO_CP_J_PER_M3K * self.airflow_m3s) > MAX_RACK_AIR_RISE_K:
                raise bad("airflow-m3s", f"{self.airflow_m3s:g} m3/s carrying {air_w / 1e3:g} kW heats the air by more "
                                         f"than {MAX_RACK_AIR_RISE_K:g} K across the rack")
        nodes = {n.id: n for n in site.power_nodes}
        if len(self.feeds) > 2 or len(set(self.feeds)) != len(self.feeds):
            raise bad("feeds", f"give one or two different power nodes (A,B), got {','.join(self.feeds)}")
        for f in self.feeds:
            node = nodes.get(f)
            if node is None:
                raise bad("feeds", f"no power node {f!r} in this layout")
            if node.kind not in FEEDABLE_KINDS:
                raise bad("feeds", f"{f!r} is a {node.kind}; racks plug into a {', '.join(FEEDABLE_KINDS)}")

    def prototype(self, hall: Hall) -> Rack:
        """One rack of the request (no id, no feeds, facing N) for ``hall``."""
        height = self.height_m
        if height is None:  # as tall as the racks already there (the aisle's containment fits them)
            heights = sorted(r.height_m for r in hall.racks)
            height = heights[len(heights) // 2] if heights else Rack.height_m
            height = min(height, hall.height_m)
        return Rack(id="", it_kw=float(self.kw), liquid_fraction=float(self.liquid_fraction),
                    airflow_m3s=self.airflow_m3s, width_m=float(self.width_m), depth_m=float(self.depth_m),
                    height_m=float(height), feeds=tuple(self.feeds), weight_kg=self.weight_kg,
                    ashrae_class=self.ashrae_class)

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One spot: where the first rack of the new row stands, which way the row faces, what it would take,
    and how it fares (estimated; ``verified`` after a full solve)."""

    x_m: float
    y_m: float
    facing: str
    feeds: tuple[str, ...]
    feasible: bool
    tight: bool
    binding: str
    inlet_c: Optional[float]
    neighbour_rise_k: float
    neighbour: Optional[str]
    headroom_kw: dict[str, Optional[float]]
    score: float
    racks: list[Rack] = field(default_factory=list, repr=False)
    checks: list[Check] = field(default_factory=list, repr=False)
    verified: Optional[dict[str, Any]] = None
    #: estimated inlet of each new rack (°C; None: its intake is against a solid)
    inlets: list[Optional[float]] = field(default_factory=list, repr=False)
    #: the floor-wide estimate (the map's, on the present flow: inlet, rise, that rack) when ``neighbour_rise_k``
    #: and ``neighbour`` were replaced by the corrected one after verification (:meth:`take_verified`); None before
    floor_estimate: Optional[tuple[Optional[float], float, Optional[str]]] = field(default=None, repr=False)

    def take_verified(self, record: dict[str, Any]) -> None:
        """Keep the verified ``record`` and report the estimate made for it before the full solve: the largest
        rise at another rack on the candidate's corrected flow (``record["local"]``: the new rack's jet in it)
        where there is one, the floor-wide one under ``floor_*``. The new rack's inlet stays the floor-wide
        estimate (the corrected one, ``verified.local.inlet_c``, is better at the 200-rack hall's row ends, 0.44
        against 1.06 K, but worse in ``small``, 1.09 against 0.03 K). The judgement (feasible, tight, binding,
        score) stays the map's: it chose the spot for verification."""
        self.verified = record
        loc = record.get("local")
        if loc is None or self.floor_estimate is not None:
            return
        self.floor_estimate = (self.inlet_c, self.neighbour_rise_k, self.neighbour)
        self.neighbour_rise_k, self.neighbour = loc["neighbour_rise_k"], loc["neighbour"]

    @property
    def floor(self) -> tuple[Optional[float], float, Optional[str]]:
        """The floor-wide estimate (inlet °C, largest rise at another rack K, that rack)."""
        if self.floor_estimate is not None:
            return self.floor_estimate
        return self.inlet_c, self.neighbour_rise_k, self.neighbour

    @property
    def rank_key(self) -> tuple:
        """Sort key, best first: feasible, not tight, score, cooler inlet."""
        v = self.verified
        feasible = v["feasible"] if v is not None else self.feasible
        tight = v["tight"] if v is not None else self.tight
        score = v["score"] if v is not None else self.score
        inlet = v["inlet_c"] if v is not None else self.inlet_c
        return (not feasible, tight, -score, inlet if inlet is not None else math.inf, self.y_m, self.x_m)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "x_m": self.x_m, "y_m": self.y_m, "facing": self.facing, "feeds": list(self.feeds),
            "feasible": self.feasible, "tight": self.tight, "binding": self.binding,
            "inlet_c": _round(self.inlet_c), "neighbour_rise_k": _round(self.neighbour_rise_k),
            "neighbour": self.neighbour, "headroom_kw": {k: _round(v) for k, v in self.headroom_kw.items()},
            "score": _round(self.score), "racks": [{"x_m": r.x_m, "y_m": r.y_m} for r in self.racks],
        }
        f_in, f_rise, f_at = self.floor
        out.update(floor_inlet_c=_round(f_in), floor_neighbour_rise_k=_round(f_rise), floor_neighbour=f_at)
        if self.racks and self.racks[0].cdu:
            out["cdu"] = self.racks[0].cdu
        if self.verified is not None:
            out["verified"] = _rounded(self.verified)
        return out


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with its floats (and those of the dicts in it) rounded for JSON."""
    return {k: _round(v) if isinstance(v, float) else _rounded(v) if isinstance(v, dict) else v for k, v in d.items()}


def _round(v: Optional[float], nd: int = 3) -> Optional[float]:
    return None if v is None or not math.isfinite(v) else round(float(v), nd)


def _verdict(checks: list[Check]) -> tuple[bool, bool, str, float]:
    """(feasible, tight, binding text, score) of a spot's checks."""
    if not checks:
        return True, False, "nothing limits it here", 100.0
    failed = [c for c in checks if not c.ok]
    tightest = min(checks, key=lambda c: c.margin)
    binding = min(failed, key=lambda c: c.margin) if failed else tightest
    score = 100.0 * max(min(tightest.margin, 1.0), -1.0)
    return not failed, (not failed and tightest.margin < TIGHT_MARGIN), binding.text, score


@dataclass
class FloorMap:
    """Every spot of one facing (the tile-grid corners where the row fits inside the walls): whether the
    space rules keep it, and the candidates where they do."""

    facing: str
    xy: np.ndarray                  # [n, 2] first rack's corner (m)
    space_ok: np.ndarray            # [n] bool
    candidates: dict[tuple[float, float], Candidate]

    def status(self) -> np.ndarray:
        """Per spot: 0 fits, 1 fits but tightly, 2 does not fit."""
        out = np.full(len(self.xy), 2, np.int8)
        for k, (x, y) in enumerate(self.xy.tolist()):
            c = self.candidates.get((round(x, 9), round(y, 9)))
            if c is not None and c.feasible:
                out[k] = 1 if c.tight else 0
        return out


class PlacementContext:
    """The solved state of one hall, read once, for many placement questions (a drag asks for the whole
    floor). Build it again after the layout or the state changes."""

    def __init__(self, sim: Any, summary: Optional[HallSummary] = None):
        t0 = time.perf_counter()
        if sim.flow is None:
            raise InputError("the hall has not been solved yet: solve it before searching for space")
        self.sim = sim
        self.site: Site = sim.site
        self.hall: Hall = sim.hall
        self.summary = summary if summary is not None else sim.summary()
        self.rules = SpaceRules(self.hall)
        self.feeds = FeedIndex(self.hall)
        self.power = PowerModel(sim)
        self.cooling = CoolingModel(sim, self.summary)
        self.air = AirModel(sim)
        self.build_s = time.perf_counter() - t0

    # ---- one spot
    def assess(self, request: RackRequest, spot: Spot, racks: Optional[list[Rack]] = None,
               space_checked: bool = False) -> tuple[Optional[Candidate], str]:
        """The candidate at ``spot`` (None and the reason when the space rules rule it out)."""
        proto = request.prototype(self.hall)
        racks = racks if racks is not None else row_at(proto, spot, request.count)
        if not space_checked:
            reason = self.rules.problem(racks)
            if reason:
                return None, reason
        fps = [r.footprint() for r in racks]
        cx = (min(f[0] for f in fps) + max(f[2] for f in fps)) / 2
        cy = (min(f[1] for f in fps) + max(f[3] for f in fps)) / 2
        feeds = tuple(request.feeds) or self.feeds.nearest(cx, cy)
        cdu = self.cooling.cdu_for(cx, cy) if request.liquid_fraction > 0 else None
        racks = [dataclasses.replace(r, feeds=feeds, cdu=cdu) for r in racks]
        inlets = [self.air.inlet(r) for r in racks]
        # what the racks draw and give off at those inlets (server fans speed up in warm air)
        rs = rack_steady(RackArrays.from_racks(racks), 1.0,
                         np.array([DESIGN_INLET_C if t is None else t for t in inlets], float))
        total_w = float(rs.power_w.sum())
        air_w = float(rs.air_power_w.sum())
        checks: list[Check] = []
        pchecks, p0, p1 = self.power.check(feeds, total_w)
        checks += pchecks
        cchecks, c0, c1 = self.cooling.check(air_w, float(rs.liquid_power_w.sum()), cdu)
        checks += cchecks
        rises, _ = self.air.rises(racks, rs.air_power_w, rs.airflow_m3s)
        checks += self.air.checks(racks, inlets, rises)
        weight, assumed = self.weight(request)
        checks += _floor_check(self.hall, racks, weight, assumed)
        feasible, tight, binding, score = _verdict(checks)
        known = [t for t in inlets if t is not None]
        j = int(np.argmax(rises)) if len(rises) else -1
        cand = Candidate(
            x_m=spot.x_m, y_m=spot.y_m, facing=spot.facing, feeds=feeds, feasible=feasible, tight=tight,
            binding=binding, inlet_c=max(known) if known else None,
            neighbour_rise_k=float(rises[j]) if j >= 0 else 0.0, neighbour=self.air.rack_ids[j] if j >= 0 else None,
            headroom_kw={"power": _per_kw(p0), "power_n1": _per_kw(p1), "cooling": _per_kw(c0), "cooling_n1": _per_kw(c1)},
            score=score, racks=racks, checks=checks, inlets=inlets)
        return cand, ""

    def weight(self, request: RackRequest) -> tuple[float, bool]:
        """The new rack's weight (kg) and whether it is assumed."""
        if request.weight_kg is not None:
            return float(request.weight_kg), False
        known = [r.weight_kg for r in self.hall.racks if r.weight_kg is not None]
        if known:
            return float(max(known)), True
        return DEFAULT_RACK_WEIGHT_KG, True

    # ---- the whole floor
    def floor_map(self, request: RackRequest, facing: str, cancel: Optional[Callable[[], bool]] = None) -> FloorMap:
        """Every spot of ``facing``: the space rules for all, the other constraints where space allows."""
        proto = dataclasses.replace(request.prototype(self.hall), facing=facing)
        xy, rects = row_rects(self.hall, proto, facing, request.count)
        ok = self.rules.fits(rects, facing, proto.width_m)
        cands: dict[tuple[float, float], Candidate] = {}
        for k in np.flatnonzero(ok):
            if cancel is not None and cancel():
                raise Cancelled("the placement map was superseded")
            x, y = (round(float(v), 9) for v in xy[k])
            spot = Spot(x, y, facing)
            c, _ = self.assess(request, spot, row_at(proto, spot, request.count), space_checked=True)
            cands[(x, y)] = c
        return FloorMap(facing, xy, ok, cands)

    def explain(self, request: RackRequest, spot: Spot) -> str:
        """The binding constraint at ``spot`` in words (the space rule that rules it out, if one does)."""
        c, reason = self.assess(request, spot)
        return reason if c is None else c.binding


class Cancelled(Exception):
    """A search was stopped because a newer question superseded it."""


def _per_kw(w: Optional[float]) -> Optional[float]:
    return None if w is None else w / 1e3


# --------------------------------------------------------------------------- verification


def _place(site: Site, hall_id: str, racks: Sequence[Rack]) -> tuple[Site, list[Rack]]:
    """A copy of ``site`` with ``racks`` added to the hall under new ids."""
    ids = IdAllocator(site.ids())
    placed = [dataclasses.replace(r, id=ids.for_element(r)) for r in racks]
    out = site.copy()
    out.get_hall(hall_id).racks.extend(placed)
    return out, placed


def _start_at_estimate(sim: Any, placed: Sequence[Rack], cand: Candidate) -> None:
    """Start a warm solve's new racks at their estimated inlets (not at the design inlet): their fans then
    start near the speed they settle at, which saves a flow march (small demo: 2 marches instead of 3). The
    solve still iterates to the engine's own fixed point."""
    index, inlet = sim.system.rack_index, sim.state.rack_inlet_c
    for r, t in zip(placed, cand.inlets):
        if t is not None:
            inlet[index[r.id]] = t


#: the verifying solve's fixed-point tolerance (K): inlets and returns still moving by this much are
#: settled enough to judge a spot whose estimate is trusted to 1 K (docs/validation.md, "Steady solve
#: after an edit, session 21")
VERIFY_TOL_K = 0.05
#: verify from the candidate's local flow correction (:mod:`~dctwin.twin.sim.placement_local`): its march
#: starts with the new rack's jet blowing, in shorter windows, and the fixed point carries it over instead of
#: marching again (ai-hall, best 5 spots: 3.5-5.2 instead of 15-20 CPU s a spot, every inlet within 0.36 K of
#: the plain warm solve; 200-rack hall 0.6 instead of 1.3 s, 0.31 K; session 23, the march projected to 1e-2 and
#: one carry before it: ai-hall `dctwin bench --place` 24.7 instead of 33.5 CPU s for 5 spots on 2 threads,
#: load 3.4-3.9); False: the plain warm solve
VERIFY_FROM_LOCAL = True


def verify(ctx: PlacementContext, request: RackRequest, cand: Candidate,
           cancel: Optional[Callable[[], bool]] = None) -> tuple[dict[str, Any], Any]:
    """Place the candidate's racks, solve warm from the context's state, and judge the spot on the
    solved figures. Returns (the ``verified`` record, the solved Simulation)."""
    return _verify_solve(ctx, request, cand, _verify_start(ctx, cand, cancel), cancel)


@dataclass
class _Started:
    """A verification's first stage: the layout with the candidate placed, and its local correction."""

    t0: float
    sim: Any
    placed: list[Rack]
    local_flow: Any = None
    local: Optional[dict[str, Any]] = None
    cpu_s: float = 0.0


def _verify_start(ctx: PlacementContext, cand: Candidate, cancel: Optional[Callable[[], bool]] = None) -> _Started:
    """The first stage of :func:`verify`: the candidate placed and its flow corrected locally
    (:func:`~dctwin.twin.sim.placement_local.local_correction`), about a fifth of a verification's work (ai-hall)."""
    from dctwin.twin.sim.engine import Simulation

    t0, c0 = time.perf_counter(), time.thread_time()
    if cancel is not None and cancel():
        raise Cancelled("verification superseded")
    if VERIFY_FROM_LOCAL:
        lf, local = placement_local.local_correction(ctx, cand.racks, cand.inlets)
        out = _Started(t0, local["sim"], local["placed"], lf, local)
    else:
        site2, placed = _place(ctx.site, ctx.hall.id, cand.racks)
        out = _Started(t0, Simulation(site2, ctx.hall.id, grid_m=ctx.sim.grid_m, warm_from=ctx.sim), placed)
    _start_at_estimate(out.sim, out.placed, cand)
    out.cpu_s = time.thread_time() - c0
    return out


def _verify_solve(ctx: PlacementContext, request: RackRequest, cand: Candidate, started: _Started,
                  cancel: Optional[Callable[[], bool]] = None) -> tuple[dict[str, Any], Any]:
    """The second stage of :func:`verify`: the warm full solve from ``started`` and the record."""
    from dctwin.twin.sim.engine import Cancelled as SolveCancelled

    t0, cpu0 = started.t0, time.thread_time()
    sim2, placed, local = started.sim, started.placed, started.local
    try:
        if started.local_flow is not None:
            summary, _ = placement_local.verify_solve(sim2, started.local_flow, VERIFY_TOL_K, cancel)
        else:
            summary = sim2.solve_steady(cancel=cancel, tol_k=VERIFY_TOL_K)
    except SolveCancelled:
        raise Cancelled("verification superseded") from None
    new_ids = [r.id for r in placed]
    inlets = [summary.racks[i].inlet_c for i in new_ids]
    base = ctx.air.inlet_c
    after = np.array([summary.racks[i].inlet_c for i in ctx.air.rack_ids])
    rises = after - base
    checks: list[Check] = []
    nodes = summary.power_nodes
    path = sorted(set().union(*(upstream(ctx.site, f) for f in cand.feeds))) if cand.feeds else []
    p0 = p1 = None
    for nid in path:
        d = nodes.get(nid)
        if d is None or d.capacity_w is None:
            continue
        checks.append(_capacity_check("power", f"{nid} solved ({_kw(d.load_w)} of {d.capacity_w / 1e3:g} kW)",
                                      d.headroom_w, d.capacity_w))
        if d.headroom_n1_w is not None and d.headroom_n1_w < d.headroom_w - 1e-6:
            checks.append(_capacity_check("power", f"{nid} solved, after losing its partner", d.headroom_n1_w,
                                          d.capacity_w))
        p0 = d.headroom_w if p0 is None else min(p0, d.headroom_w)
        if d.headroom_n1_w is not None:
            p1 = d.headroom_n1_w if p1 is None else min(p1, d.headroom_n1_w)
    cooling = CoolingModel(sim2, summary)
    cchecks, c0, c1 = cooling.check(0.0, 0.0, cand.racks[0].cdu, solved=True, before=ctx.cooling)
    checks += cchecks
    air = ctx.air
    checks += air.checks([dataclasses.replace(r, id="") for r in placed], inlets, rises, base_inlet=base)
    weight, assumed = ctx.weight(request)
    checks += _floor_check(ctx.hall, placed, weight, assumed)
    feasible, tight, binding, score = _verdict(checks)
    j = int(np.argmax(rises)) if len(rises) else -1
    rise = float(rises[j]) if j >= 0 else 0.0
    record = {
        "feasible": feasible, "tight": tight, "binding": binding, "score": score,
        "inlet_c": max(inlets) if inlets else None, "neighbour_rise_k": rise,
        "neighbour": air.rack_ids[j] if j >= 0 else None,
        "headroom_kw": {"power": _round(_per_kw(p0)), "power_n1": _round(_per_kw(p1)),
                        "cooling": _round(_per_kw(c0)), "cooling_n1": _round(_per_kw(c1))},
        "inlet_error_k": (cand.inlet_c - max(inlets)) if (inlets and cand.inlet_c is not None) else None,
        "rise_error_k": cand.neighbour_rise_k - rise,
        "ids": new_ids, "solve_s": time.perf_counter() - t0,
        "solve_cpu_s": started.cpu_s + time.thread_time() - cpu0,
    }
    if local is not None:  # the rise estimated on the candidate's corrected flow, against the same solve
        k = int(np.argmax(local["rises"])) if len(local["rises"]) else -1
        l_rise = float(local["rises"][k]) if k >= 0 else 0.0
        record["local"] = {"neighbour_rise_k": l_rise, "neighbour": air.rack_ids[k] if k >= 0 else None,
                           "rise_error_k": l_rise - rise}
        l_in = [t for t in local["inlets"] if t is not None]
        if l_in and inlets:  # the new racks' inlet on the corrected flow (their intakes drawing), against the solve
            record["local"]["inlet_c"] = max(l_in)
            record["local"]["inlet_error_k"] = max(l_in) - max(inlets)
        record["local"]["settled"] = bool(local.get("settled", True))
        if "box_m" in local:  # how far past the racks the corrected flow's temperature box reached (m)
            record["local"]["box_m"] = float(local["box_m"])
    f_in, f_rise, _ = cand.floor
    # the floor-wide estimate's errors; the estimate a verified spot reports is the corrected one where made
    record["floor_inlet_error_k"] = (f_in - max(inlets)) if (inlets and f_in is not None) else None
    record["floor_rise_error_k"] = f_rise - rise
    loc = record.get("local")
    if loc is not None:
        record["rise_error_k"] = loc["rise_error_k"]
    return record, sim2


# --------------------------------------------------------------------------- the search


@dataclass
class PlacementResult:
    """What :func:`find_space` found: the candidates best first, the best one, and how long it took."""

    hall: str
    request: RackRequest
    candidates: list[Candidate]
    evaluated: int
    ruled_out: dict[str, int]
    wall_s: float
    timing: dict[str, float]
    verified: int = 0
    best_simulation: Any = None  # the solved state with the best spot placed (when it was verified)

    @property
    def best(self) -> Optional[Candidate]:
        """The best feasible candidate (verified by a full solve when any was), else None."""
        pool = [c for c in self.candidates if c.verified is not None] or self.candidates
        pool = [c for c in pool if (c.verified["feasible"] if c.verified is not None else c.feasible)]
        return min(pool, key=lambda c: c.rank_key) if pool else None

    def estimate_error_k(self) -> dict[str, Optional[float]]:
        """Largest |estimate - full solve| over the verified candidates: new racks' inlet, neighbour rise, of
        the estimate they report (:meth:`Candidate.take_verified`), and ``floor_*`` of the floor-wide one that
        chose them."""
        ver = [c.verified for c in self.candidates if c.verified is not None]
        inl = [abs(v["inlet_error_k"]) for v in ver if v.get("inlet_error_k") is not None]
        rise = [abs(v["rise_error_k"]) for v in ver]
        out = {"inlet_c": max(inl) if inl else None, "neighbour_rise_k": max(rise) if rise else None,
               "verified": len(ver)}
        f_in = [abs(v["floor_inlet_error_k"]) for v in ver if v.get("floor_inlet_error_k") is not None]
        f_rise = [abs(v["floor_rise_error_k"]) for v in ver if "floor_rise_error_k" in v]
        out["floor_inlet_c"] = max(f_in) if f_in else None  # the floor-wide estimate (the map's)
        out["floor_neighbour_rise_k"] = max(f_rise) if f_rise else None
        loc = [v["local"] for v in ver if "local" in v]
        if loc:  # the rise and inlet estimated on the verified candidates' corrected flows (placement_local)
            out["local_neighbour_rise_k"] = max(abs(v["rise_error_k"]) for v in loc)
            l_in = [abs(v["inlet_error_k"]) for v in loc if v.get("inlet_error_k") is not None]
            if l_in:
                out["local_inlet_c"] = max(l_in)
        return out

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "hall": self.hall, "request": self.request.to_json(),
            "candidates": [c.to_json() for c in self.candidates[:MAX_LISTED]],
            "best": best.to_json() if best is not None else None,
            "evaluated": self.evaluated, "feasible": sum(1 for c in self.candidates if c.feasible),
            "ruled_out": dict(self.ruled_out), "verified": self.verified,
            "estimate_error_k": {k: _round(v) if isinstance(v, float) else v for k, v in self.estimate_error_k().items()},
            "wall_s": _round(self.wall_s), "timing": {k: _round(v) for k, v in self.timing.items()},
        }


def _verify_best(ctx: PlacementContext, request: RackRequest, cands: list[Candidate], budget: int, workers: int,
                 cancel: Optional[Callable[[], bool]]) -> dict[int, Any]:
    """Verify the best ``budget`` feasible candidates by the estimate by full solves on ``workers`` threads
    (:func:`_pipelined`), then rank them all with the verified figures (a verified spot that falls back
    makes room for the next). Sorts ``cands``; returns the solved simulations by candidate id."""
    sims: dict[int, Any] = {}
    cands.sort(key=lambda c: c.rank_key)
    # a verified spot's own rank changes, the others' do not: so the spots verified are the best `budget`
    # feasible ones by the estimate, whatever the order they are verified in
    todo = [c for c in cands if c.verified is None and c.feasible][:max(budget, 0)]
    if todo:
        for c, (rec, s2) in zip(todo, _pipelined(ctx, request, todo, workers, cancel)):
            c.take_verified(rec)
            sims[id(c)] = s2
    cands.sort(key=lambda c: c.rank_key)
    return sims


def _pipelined(ctx: PlacementContext, request: RackRequest, todo: list[Candidate], workers: int,
               cancel: Optional[Callable[[], bool]]) -> list[tuple[dict[str, Any], Any]]:
    """:func:`verify` of each of ``todo`` on ``workers`` threads, its two stages as separate tasks: every
    candidate's first stage (the local correction) is queued before any second (the full solve), each second
    as its first ends, so the threads stay busy to the end (5 spots on 2 threads: the last solve no longer runs
    alone while the other thread waits)."""
    if workers <= 1 or len(todo) <= 1:
        return [verify(ctx, request, c, cancel) for c in todo]
    futures: list[Any] = [None] * len(todo)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        firsts = [pool.submit(_verify_start, ctx, c, cancel) for c in todo]
        for k, f in enumerate(firsts):  # in order: a later first stage may end sooner, but they are queued first
            futures[k] = pool.submit(lambda k=k, st=f.result(): _verify_solve(ctx, request, todo[k], st, cancel))
        return [f.result() for f in futures]


def default_workers() -> int:
    """Full solves run side by side on this many threads (the kernels release the GIL)."""
    return max(1, min(2, os.cpu_count() or 1))


def find_space(sim: Any, request: RackRequest, *, verify_top: int = DEFAULT_VERIFY,
               facings: Sequence[str] = FACINGS, workers: Optional[int] = None,
               context: Optional[PlacementContext] = None, cancel: Optional[Callable[[], bool]] = None,
               progress: Optional[Callable[[str], None]] = None) -> PlacementResult:
    """Every spot of the hall of the solved ``sim`` for ``request``; the best ``verify_top`` feasible
    ones verified by warm full solves. See the module docstring."""
    t0 = time.perf_counter()
    ctx = context if context is not None else PlacementContext(sim)
    request.check(ctx.site, ctx.hall)
    t_ctx = time.perf_counter() - t0
    cands: list[Candidate] = []
    ruled: dict[str, int] = {}
    evaluated = 0
    for f in facings:
        m = ctx.floor_map(request, f, cancel)
        evaluated += len(m.xy)
        cands += list(m.candidates.values())
        ruled["space"] = ruled.get("space", 0) + int((~m.space_ok).sum())
    for c in cands:
        if not c.feasible:
            kind = c.binding.split(":", 1)[0]
            ruled[kind] = ruled.get(kind, 0) + 1
    cands.sort(key=lambda c: c.rank_key)
    t_map = time.perf_counter() - t0 - t_ctx
    if progress is not None:
        progress(f"{evaluated} spots, {sum(c.feasible for c in cands)} feasible by the estimate")
    sims = _verify_best(ctx, request, cands, max(verify_top, 0),
                        workers if workers is not None else default_workers(), cancel)
    result = PlacementResult(ctx.hall.id, request, cands, evaluated, ruled, 0.0, {}, verified=len(sims))
    best = result.best
    result.best_simulation = sims.get(id(best)) if best is not None else None
    wall = time.perf_counter() - t0
    result.wall_s = wall
    result.timing = {"context_s": t_ctx, "map_s": t_map, "verify_s": wall - t_ctx - t_map}
    return result
