"""A greedy plan for N racks, one after another, and where the hall's capacity ends up stranded.

:func:`plan_placements` places one rack at a time at the best spot :func:`~dctwin.twin.sim.placement.find_space`
finds, each search starting from the solved state with the racks placed before it (the verification's
warm full solve of the chosen spot is that state). It stops early when no spot is feasible.

Then :func:`stranded_capacity` asks the hall, as it is after the plan, for one more such rack
everywhere and reads the answer per row and per cooling unit: **stranded power** is the redundant
(N-1) power headroom of a row whose spots are ruled out by cooling or air; **stranded cooling** is the
headroom of an air unit whose nearby spots are ruled out by power.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.model.layout import FACINGS
from dctwin.twin.sim.capacity import row_feeds, row_headroom_w
from dctwin.twin.sim.placement import (
    DEFAULT_VERIFY, Candidate, PlacementContext, RackRequest, _round, find_space,
)


@dataclass
class PlanResult:
    """The racks a greedy plan placed (in order), why it stopped early (if it did), and the stranded
    capacity of the hall after it."""

    hall: str
    request: RackRequest
    placed: list[dict[str, Any]]
    stopped: Optional[str]
    stranded: dict[str, list[dict[str, Any]]]
    wall_s: float
    simulation: Any = None  # the solved state after the plan

    def to_json(self) -> dict[str, Any]:
        return {"hall": self.hall, "request": self.request.to_json(), "placed": self.placed,
                "count": len(self.placed), "stopped": self.stopped, "stranded": self.stranded,
                "wall_s": _round(self.wall_s)}


def plan_placements(sim: Any, request: RackRequest, count: int, *, verify_top: int = DEFAULT_VERIFY,
                    workers: Optional[int] = None, progress: Optional[Callable[[str], None]] = None) -> PlanResult:
    """Place ``count`` racks of ``request`` (each a row of ``request.count``) one after another at the
    best spot of the state after the previous ones; then the stranded capacity of the result."""
    t0 = time.perf_counter()
    placed: list[dict[str, Any]] = []
    stopped = None
    current = sim
    verify_top = max(verify_top, 1)  # each step's state is the verified solve of its best spot
    for k in range(count):
        res = find_space(current, request, verify_top=verify_top, workers=workers)
        best = res.best
        if best is None:
            kinds = _kinds(res.candidates)
            stopped = (f"rack {k + 1} of {count}: no spot is feasible"
                       + (f" (ruled out by {', '.join(sorted(kinds))})" if kinds else " (no room left)"))
            break
        current = res.best_simulation
        v = best.verified or {}
        placed.append({"step": k + 1, "ids": v.get("ids", []), "x_m": best.x_m, "y_m": best.y_m,
                       "facing": best.facing, "feeds": list(best.feeds), "inlet_c": _round(v.get("inlet_c")),
                       "neighbour_rise_k": _round(v.get("neighbour_rise_k")), "binding": v.get("binding", best.binding),
                       "tight": v.get("tight", best.tight)})
        if progress is not None:
            progress(f"placed {k + 1} of {count} at ({best.x_m:g}, {best.y_m:g}) facing {best.facing}")
    stranded = stranded_capacity(current, request)
    return PlanResult(sim.hall.id, request, placed, stopped, stranded, time.perf_counter() - t0, current)


def _centre(c: Candidate) -> tuple[float, float]:
    fps = [r.footprint() for r in c.racks]
    return ((min(f[0] for f in fps) + max(f[2] for f in fps)) / 2, (min(f[1] for f in fps) + max(f[3] for f in fps)) / 2)


def stranded_capacity(sim: Any, request: RackRequest) -> dict[str, list[dict[str, Any]]]:
    """Per row and per air cooling unit of the solved ``sim``: what is left, whether one more rack of
    ``request`` fits near it, and what is stranded (see the module docstring)."""
    ctx = PlacementContext(sim)
    hall, summary = ctx.hall, ctx.summary
    one = dataclasses.replace(request, count=1)
    cands: list[Candidate] = []
    for f in FACINGS:
        cands += list(ctx.floor_map(one, f).candidates.values())
    # each candidate belongs to the row of its nearest rack and to its nearest running air unit
    racks = [r for r in hall.racks if r.row]
    rfp = np.array([r.footprint() for r in racks], float).reshape(-1, 4)
    heads = summary.cooling_headroom or {}
    units = [u for u in hall.cooling_units if u.id in heads and heads[u.id].capacity_w]
    ufp = np.array([u.footprint() for u in units], float).reshape(-1, 4)

    def nearest(fp: np.ndarray, x: float, y: float) -> int:
        dx = np.maximum(np.maximum(fp[:, 0] - x, 0.0), x - fp[:, 2])
        dy = np.maximum(np.maximum(fp[:, 1] - y, 0.0), y - fp[:, 3])
        return int(np.argmin(dx * dx + dy * dy))

    by_row: dict[str, list[Candidate]] = {}
    by_unit: dict[str, list[Candidate]] = {}
    for c in cands:
        x, y = _centre(c)
        if len(racks):
            by_row.setdefault(racks[nearest(rfp, x, y)].row, []).append(c)
        if len(units):
            by_unit.setdefault(units[nearest(ufp, x, y)].id, []).append(c)
    power_left = row_headroom_w(ctx.site, row_feeds(hall), summary.power_nodes)
    rows = []
    for name in sorted({r.row for r in racks}):
        cs = by_row.get(name, [])
        fits = any(c.feasible for c in cs)
        kinds = _kinds(cs)
        left = power_left.get(name)
        stranded = (left is not None and left > 0 and not fits and bool(cs)
                    and all(k in ("cooling", "air") for k in kinds))
        rows.append({"row": name, "power_left_kw": _round(None if left is None else left / 1e3),
                     "spots": len(cs), "fits": fits, "ruled_out_by": sorted(kinds),
                     "stranded_power_kw": _round(left / 1e3) if stranded else 0.0})
    out_units = []
    for u in units:
        h = heads[u.id]
        cs = by_unit.get(u.id, [])
        fits = any(c.feasible for c in cs)
        kinds = _kinds(cs)
        stranded = (h.headroom_w or 0.0) > 0 and not fits and bool(cs) and kinds == {"power"}
        out_units.append({"unit": u.id, "headroom_kw": _round((h.headroom_w or 0.0) / 1e3),
                          "headroom_n1_kw": _round(None if h.headroom_n1_w is None else h.headroom_n1_w / 1e3),
                          "spots": len(cs), "fits": fits, "ruled_out_by": sorted(kinds),
                          "stranded_cooling_kw": _round(h.headroom_w / 1e3) if stranded else 0.0})
    return {"rows": rows, "units": out_units}


def _kinds(cs: list[Candidate]) -> set[str]:
    """What rules out the spots that do not fit (power, cooling, air, floor; verified when they were)."""
    out = set()
    for c in cs:
        v = c.verified or {}
        if not v.get("feasible", c.feasible):
            out.add(v.get("binding", c.binding).split(":", 1)[0])
    return out
