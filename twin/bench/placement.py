"""Benchmark of the placement search (``dctwin bench --place``): a 20 kW rack in the 200-rack synthetic
hall and in the ``ai-hall`` demo.

For each hall, from its solved steady state (``solve_s``, once, cold):

- ``context_s``: the solved state read for placement (space index, power scenarios, cooling pools,
  the air's room shares); ``map_s``: every spot of one facing (the editor's drag map: space for all,
  power, cooling, air and floor where space allows); ``drag_map_s`` = both, what a drag waits for;
- ``floor_s``: every spot of all four facings (``dctwin place`` without verification);
- ``verify_s``: the warm full solves of the best ``verify`` spots (on ``workers`` threads); ``verify_cpu_s``
  the CPU time they took (all threads; on a loaded machine verify_cpu_s / workers is what they would take
  alone);
- ``estimate_error_k``: the largest difference between the estimate and those solves (new rack's inlet,
  largest rise at another rack): ``estimate_error_*`` of the estimate the verified spots report (the corrected
  one, as ``local_error_*``), ``floor_error_*`` of the floor-wide one that chose them.

Medians of ``repeats`` for the fast parts; the verification runs once. Wall-clock figures of this
machine, reported against the issue's targets, never asserted in tests.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from dctwin.twin.model.demos import load_demo, synthetic_site
from dctwin.twin.sim.placement import DEFAULT_VERIFY, PlacementContext, RackRequest, default_workers, find_space

#: the issue's targets (s): drag map and top-5 verification, per hall
TARGETS = {"synthetic-200": (1.0, 5.0), "ai-hall": (3.0, 10.0)}


def _median(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], out


def bench_hall(name: str, kw: float = 20.0, verify: int = DEFAULT_VERIFY, repeats: int = 3,
               workers: Optional[int] = None, log: Optional[Callable[[str], None]] = None,
               grid_m: Optional[float] = None) -> dict[str, Any]:
    """The figures of one hall (see the module docstring): ``synthetic-N`` (N racks of 8 kW) or a demo name."""
    from dctwin.twin.sim.engine import Simulation

    site = synthetic_site(int(name.split("-", 1)[1])) if name.startswith("synthetic-") else load_demo(name)
    t0 = time.perf_counter()
    sim = Simulation(site, grid_m=grid_m)
    sim.solve_steady()
    solve_s = time.perf_counter() - t0
    request = RackRequest(kw=kw)
    facing = "N"
    PlacementContext(sim).floor_map(request, facing)  # kernels compiled or loaded before timing
    context_s, ctx = _median(lambda: PlacementContext(sim), repeats)
    map_s, fmap = _median(lambda: ctx.floor_map(request, facing), repeats)
    floor_s, _ = _median(lambda: [ctx.floor_map(request, f) for f in "NESW"], repeats)
    n_workers = workers if workers is not None else default_workers()
    cpu0 = time.process_time()
    [ctx.floor_map(request, f) for f in "NESW"]
    cpu1 = time.process_time()
    res = find_space(sim, request, verify_top=verify, context=ctx, workers=n_workers)
    verify_cpu_s = time.process_time() - cpu1 - (cpu1 - cpu0)  # less its whole-floor map
    err = res.estimate_error_k()
    best = res.best
    target_map, target_verify = TARGETS.get(name, (None, None))
    out = {"hall": name, "racks": len(site.hall.racks), "cells": int(sim.air.nx * sim.air.ny * sim.air.nz),
           "solve_s": solve_s, "context_s": context_s, "map_s": map_s, "drag_map_s": context_s + map_s,
           "floor_s": floor_s, "spots_one_facing": int(len(fmap.xy)), "candidates_one_facing": len(fmap.candidates),
           "evaluated": res.evaluated, "candidates": len(res.candidates), "verified": res.verified,
           "verify_s": res.timing["verify_s"], "verify_cpu_s": verify_cpu_s, "workers": n_workers,
           "estimate_error_inlet_k": err["inlet_c"], "estimate_error_rise_k": err["neighbour_rise_k"],
           "local_error_rise_k": err.get("local_neighbour_rise_k"), "local_error_inlet_k": err.get("local_inlet_c"),
           "floor_error_inlet_k": err.get("floor_inlet_c"), "floor_error_rise_k": err.get("floor_neighbour_rise_k"),
           "best": None if best is None else {"x_m": best.x_m, "y_m": best.y_m, "facing": best.facing},
           "target_drag_map_s": target_map, "target_verify_s": target_verify}
    if log is not None:
        log(f"{name}: drag map {out['drag_map_s']:.2f} s (target {target_map} s), verify {res.verified} "
            f"{out['verify_s']:.1f} s (target {target_verify} s)")
    return out


def run_place_bench(halls: tuple[str, ...] = ("synthetic-200", "ai-hall"), kw: float = 20.0,
                    verify: int = DEFAULT_VERIFY, repeats: int = 3, workers: Optional[int] = None,
                    log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """``dctwin bench --place``: the figures of each hall."""
    return {"kw": kw, "verify": verify, "cases": [bench_hall(h, kw, verify, repeats, workers, log) for h in halls]}


def accuracy(name: str, kw: float = 20.0, limit: Optional[int] = None, workers: Optional[int] = None,
             log: Optional[Callable[[str], None]] = None, grid_m: Optional[float] = None) -> dict[str, Any]:
    """How close the air estimate is to warm full solves at the spots the space rules allow (all of them,
    or ``limit`` of them spread over the list): per spot the new rack's inlet and the largest rise at
    another rack, estimated and solved (``python -m dctwin.twin.bench.placement accuracy HALL [N]``)."""
    from concurrent.futures import ThreadPoolExecutor

    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.sim.placement import verify

    site = synthetic_site(int(name.split("-", 1)[1])) if name.startswith("synthetic-") else load_demo(name)
    sim = Simulation(site, grid_m=grid_m)
    sim.solve_steady()
    ctx = PlacementContext(sim)
    request = RackRequest(kw=kw)
    cands = [c for f in "NESW" for c in ctx.floor_map(request, f).candidates.values()]
    cands.sort(key=lambda c: (c.facing, c.y_m, c.x_m))
    if limit is not None and len(cands) > limit:
        step = len(cands) / limit
        cands = [cands[int(k * step)] for k in range(limit)]
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        records = list(pool.map(lambda c: verify(ctx, request, c)[0], cands))
    rows = []
    for c, v in zip(cands, records):
        rows.append({"x_m": c.x_m, "y_m": c.y_m, "facing": c.facing, "inlet_est_c": c.inlet_c,
                     "inlet_solved_c": v["inlet_c"], "rise_est_k": c.neighbour_rise_k, "rise_est_at": c.neighbour,
                     "rise_solved_k": v["neighbour_rise_k"], "rise_solved_at": v["neighbour"]})
        if log is not None:
            r = rows[-1]
            log(f"{name} {c.x_m:g},{c.y_m:g},{c.facing}: inlet {r['inlet_est_c']:.2f} est / {r['inlet_solved_c']:.2f} "
                f"solved; rise {r['rise_est_k']:.2f} ({r['rise_est_at']}) / {r['rise_solved_k']:.2f} ({r['rise_solved_at']})")
    inl = [abs(r["inlet_est_c"] - r["inlet_solved_c"]) for r in rows if r["inlet_est_c"] is not None]
    rise = [abs(r["rise_est_k"] - r["rise_solved_k"]) for r in rows]
    return {"hall": name, "kw": kw, "spots": len(rows), "rows": rows,
            "inlet_error_max_k": max(inl, default=None), "inlet_within_1k": sum(e <= 1.0 for e in inl),
            "rise_error_max_k": max(rise, default=None), "rise_within_1k": sum(e <= 1.0 for e in rise)}


if __name__ == "__main__":  # python -m dctwin.twin.bench.placement accuracy HALL [N]
    import json
    import sys

    if len(sys.argv) >= 3 and sys.argv[1] == "accuracy":
        out = accuracy(sys.argv[2], limit=int(sys.argv[3]) if len(sys.argv) > 3 else None,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
        print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    else:
        print("usage: python -m dctwin.twin.bench.placement accuracy HALL [N]", file=sys.stderr)
        sys.exit(2)
