"""Benchmarks of the physics core (``dctwin bench``): medians of repeats after JIT warm-up.

For each synthetic hall of N racks:

- ``compile_s``: layout -> air plant (grid, masks, ports);
- ``flow_cold_s``: steady FFD flow from rest; ``flow_warm_s``: re-marched from that
  flow after a one-rack edit (its airflow up 20 %);
- ``step_s``: one engine step at dt = 1 s with the flow frozen (temperature transport,
  racks, units, power chain, plant, alarms), from the steady state through a load change
  (every rack to 70 %); ``sim_s_per_wall_s`` = 1 / step_s;
- ``temp_step_s``: the temperature transport alone, as the engine takes it;
  ``numba_vs_numpy``: the numpy reference of the explicit transport kernel (4
  sub-steps, same inputs) divided by the numba kernel.

Times are wall-clock medians on this machine; they are figures to report, never
assertions in tests.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np

from twin.compile import compile_hall
from twin.demos import synthetic_site
from twin.physics import _thermal_numba, _thermal_numpy, airflow, thermal


def _median(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def jit_warmup() -> float:
    """Time to get every kernel compiled (or loaded from numba's cache) on a tiny hall (s)."""
    from twin.engine import Simulation

    t0 = time.perf_counter()
    sim = Simulation(synthetic_site(2), grid_m=0.6)
    sim.solve_steady()
    sim.step(1.0)
    return time.perf_counter() - t0


def bench_case(n_racks: int, repeats: int = 3, grid_m: Optional[float] = None,
               log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Figures for one synthetic hall of ``n_racks`` racks (see the module docstring)."""
    import twin.engine as engine

    say = log or (lambda m: None)
    site = synthetic_site(n_racks)
    hall = site.halls[0]
    compile_s = _median(lambda: compile_hall(site, hall.id, grid_m), repeats)
    ap = compile_hall(site, hall.id, grid_m)
    say(f"{n_racks} racks: grid {ap.nx}x{ap.ny}x{ap.nz} ({ap.n_cells} cells, {ap.dx:.2f} m), compiled in "
        f"{compile_s * 1e3:.1f} ms; solving the flow from rest...")
    rack_q = np.array([r.design_airflow_m3s for r in hall.racks])
    unit_q = np.array([u.airflow_m3s if u.kind in ("crah", "crac", "inrow") else 0.0 for u in hall.cooling_units])
    bc = airflow.FlowBC(rack_q, unit_q)
    flows = []

    def cold():
        flows.append(airflow.solve_flow(ap, bc, emit_warnings=False))

    # the cold solve is the most expensive: at most 3 repeats, 1 for big halls
    flow_cold_s = _median(cold, min(repeats, 3 if n_racks <= 1000 else 1))
    flow = flows[-1]
    edited = rack_q.copy()
    if len(edited):
        edited[0] *= 1.2
    bc2 = airflow.FlowBC(edited, unit_q)
    say(f"  cold flow {flow_cold_s:.2f} s ({flow.steps} steps); warm re-march after a one-rack edit...")
    flow_warm_s = _median(lambda: airflow.solve_flow(ap, bc2, init=flow, emit_warnings=False),
                          min(repeats, 3 if n_racks <= 1000 else 1))

    # one temperature step as the engine takes it (explicit sub-steps or the implicit path)
    rx, us_c = np.full(ap.n_racks, 30.0), np.full(ap.n_units, 18.0)
    T0 = np.full(ap.shape, 22.0)
    thermal.step(ap, flow, T0, 1.0, rx, us_c, 18.0)
    temp_step_s = _median(lambda: thermal.step(ap, flow, T0, 1.0, rx, us_c, 18.0), max(repeats, 5))
    # numba kernel vs its numpy reference on the same explicit update (4 sub-steps, same inputs)
    c = thermal.coefficients(ap, flow)
    pT = thermal.inflow_temperatures(ap, flow, rx, us_c, 18.0)
    n_sub = 4
    args = lambda T: (T, c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid, c.vol, 0.1, n_sub)  # noqa: E731
    _thermal_numba.step(*args(T0.copy()))
    kernel_s = _median(lambda: _thermal_numba.step(*args(T0.copy())), max(repeats, 5))
    numpy_s = _median(lambda: _thermal_numpy.step(*args(T0.copy())), 1 if n_racks > 1000 else repeats)
    Ta, Tb = T0.copy(), T0.copy()
    _thermal_numba.step(*args(Ta))
    _thermal_numpy.step(*args(Tb))
    agree = float(np.abs(Ta - Tb).max())

    # the whole engine step with the flow frozen (the "flow frozen, temperature stepping"):
    # from the steady state, every rack's utilization drops to 70 %, so temperatures move
    say(f"  warm {flow_warm_s:.2f} s; steady state, then engine steps through a load change...")
    sim = engine.Simulation(site, hall.id, grid_m=grid_m)
    sim.solve_steady()
    saved = engine.FLOW_TOLERANCE
    engine.FLOW_TOLERANCE = float("inf")
    try:
        sim.schedule(sim.t_s, "set_utilization", "all", utilization=0.7)
        sim.step(1.0)  # first step: applies the change, JIT and caches
        n_steps = 20
        step_s = _median(lambda: [sim.step(1.0) for _ in range(n_steps)], repeats) / n_steps
    finally:
        engine.FLOW_TOLERANCE = saved
    return {
        "racks": n_racks, "grid_m": ap.dx, "cells": ap.n_cells, "nx": ap.nx, "ny": ap.ny, "nz": ap.nz,
        "compile_s": compile_s, "flow_cold_s": flow_cold_s, "flow_cold_steps": flow.steps,
        "flow_converged": bool(flow.converged), "flow_warm_s": flow_warm_s,
        "step_s": step_s, "sim_s_per_wall_s": 1.0 / step_s if step_s > 0 else None,
        "hour_at_1s_s": 3600.0 * step_s, "temp_step_s": temp_step_s,
        "kernel_step_s": kernel_s, "numpy_kernel_step_s": numpy_s,
        "numba_vs_numpy": numpy_s / kernel_s if kernel_s > 0 else None,
        "numba_numpy_max_diff_k": agree,
    }


def run_bench(sizes: list[int], repeats: int = 3, grid_m: Optional[float] = None,
              log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Warm the JIT, then :func:`bench_case` for every size."""
    jit = jit_warmup()
    cases = [bench_case(n, repeats, grid_m, log) for n in sizes]
    import numba
    import platform

    return {"jit_compile_s": jit, "repeats": repeats, "cases": cases,
            "machine": {"python": platform.python_version(), "numba": numba.__version__,
                        "cpu_count": __import__("os").cpu_count()}}
