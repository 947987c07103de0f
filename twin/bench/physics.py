"""Benchmarks of the physics core (``dctwin bench``): medians of repeats after JIT warm-up.

For each synthetic hall of N racks:

- ``compile_s``: layout -> air plant (grid, masks, ports);
- ``flow_cold_s``: steady FFD flow from rest; ``flow_warm_s``: re-marched from that
  flow after a one-rack edit (its airflow up 20 %);
- ``step_s``: one engine step at dt = 1 s with the flow frozen (temperature transport,
  racks, units, power chain, plant, alarms), from the steady state through a load change
  (every rack to 70 %), the 20 steps right after the change (the busiest ones);
  ``sim_s_per_wall_s`` = 1 / step_s, ``hour_at_1s_s`` = 3600 step_s;
- ``hour_run_s`` (halls up to 1,000 racks): one simulated hour at 1 s steps actually run,
  once, flow frozen: the load change at the start, every rack to 90 % at 30 min;
  ``hour_run_cpu_s`` its CPU time (this process, user + system);
- the same hour at the engine's longer steps (``HOUR_LONG_STEPS_S``, 5 and 10 s; ``--dt`` of
  ``dctwin simulate``): ``hour_dt5_run_s`` / ``hour_dt5_run_cpu_s`` / ``hour_dt5_steps``, and how
  far it lands from the 1 s hour: ``hour_dt5_max_inlet_diff_k`` and ``hour_dt5_max_return_diff_k``,
  the largest difference of any rack inlet / unit return at 1, 30, 31 and 60 min
  (``HOUR_MARKS_S``); ``hour_energy_closure`` / ``hour_dt5_energy_closure``: what the air and
  servers hold at the end minus what they held at the start plus the heat the racks gave minus
  the heat the cooling took, relative to the heat given (round-off when energy is conserved);
  likewise ``hour_dt10_*``;
- the same hour with adaptive steps (``dctwin simulate``'s default; :mod:`~dctwin.twin.sim.adaptive`:
  1 s around the two load changes, up to 10 s in the quiet stretches, landing on the marks):
  ``hour_adaptive_run_s`` / ``hour_adaptive_run_cpu_s``, ``hour_adaptive_steps`` (taken),
  ``hour_adaptive_rejected`` (long steps undone), ``hour_adaptive_max_inlet_diff_k`` /
  ``hour_adaptive_max_return_diff_k`` against the 1 s hour at the marks, ``hour_adaptive_energy_closure``;
- ``temp_step_s``: the temperature transport alone within those engine steps (median);
  ``air_sweeps_per_step`` / ``air_local_passes_per_step``: the backward-Euler solve's full
  line sweeps and local passes per step over the 20 steps (``*_hour`` over the hour);
- ``numba_vs_numpy``: the implicit transport step exactly as the engine takes it (the state
  10 s after the load change, the engine's extrapolated start and tolerance): numpy
  reference (vectorised line-Jacobi iterations to the same residual tolerance, then the
  same flux-form update) time divided by the numba kernel's (line Gauss-Seidel in flow
  order); ``numba_numpy_max_diff_k`` their largest difference (both within the tolerance of
  the backward-Euler solution); ``numpy_iterations`` the reference's iterations;
- ``numba_vs_numpy_explicit``: the same ratio for the explicit upwind kernel (4 sub-steps
  of 0.1 s, same inputs), ``numba_numpy_explicit_max_diff_k``; in a hall whose engine step
  is explicit (``engine_step_explicit``) it is also ``numba_vs_numpy``.

- with ``validated`` (:func:`run_bench`; halls up to 1,000 racks): the adaptive hour on the validated grid
  (:data:`VALIDATED_GRID_M`, 0.3 m x 0.125 m layers; issue 18's 30 s target), from its own steady state,
  the flow frozen, run once (the 1 s hour on that grid would take minutes): ``validated_grid_m``
  ([horizontal, vertical] m), ``validated_cells``, ``validated_steady_s`` / ``validated_steady_cpu_s``
  (compile and steady solve), ``validated_hour_adaptive_run_s`` / ``validated_hour_adaptive_run_cpu_s``,
  ``validated_hour_adaptive_steps`` / ``validated_hour_adaptive_rejected``,
  ``validated_hour_adaptive_energy_closure``, ``validated_air_sweeps_per_step`` /
  ``validated_air_local_passes_per_step`` (the backward-Euler solve over the hour's steps),
  ``validated_load_avg`` (the 1-minute load average before and after the hour: CPU time is the
  figure to compare on a shared machine).

Times are wall-clock medians on this machine; they are figures to report, never
assertions in tests.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.sim.compile import compile_hall
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.physics import _thermal_numba, _thermal_numpy, airflow, thermal


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
    from dctwin.twin.sim.engine import Simulation

    t0 = time.perf_counter()
    sim = Simulation(synthetic_site(2), grid_m=0.6)
    sim.solve_steady()
    sim.step(1.0)
    return time.perf_counter() - t0


def bench_case(n_racks: int, repeats: int = 3, grid_m: Optional[float] = None,
               log: Optional[Callable[[str], None]] = None, hour: bool = True) -> dict[str, Any]:
    """Figures for one synthetic hall of ``n_racks`` racks (see the module docstring); ``hour``:
    also run the simulated hour (halls up to 1,000 racks)."""
    import dctwin.twin.sim.engine as engine
    from dctwin.twin.sim import flows as follow

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
        flows.append(airflow.solve_flow(ap, bc))

    # the cold solve is the most expensive: at most 3 repeats, 1 for big halls
    flow_cold_s = _median(cold, min(repeats, 3 if n_racks <= 1000 else 1))
    flow = flows[-1]
    edited = rack_q.copy()
    if len(edited):
        edited[0] *= 1.2
    bc2 = airflow.FlowBC(edited, unit_q)
    say(f"  cold flow {flow_cold_s:.2f} s ({flow.steps} steps); warm re-march after a one-rack edit...")
    flow_warm_s = _median(lambda: airflow.solve_flow(ap, bc2, init=flow),
                          min(repeats, 3 if n_racks <= 1000 else 1))

    # the explicit transport kernel against its numpy reference (4 sub-steps, same inputs)
    rx, us_c = np.full(ap.n_racks, 30.0), np.full(ap.n_units, 18.0)
    T0 = np.full(ap.shape, 22.0)
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
    steady = sim.keyframe()
    saved = follow.FLOW_TOLERANCE
    follow.FLOW_TOLERANCE = float("inf")
    n_steps = 20
    try:
        sim.schedule(sim.t_s, "set_utilization", "all", utilization=0.7)
        sim.step(1.0)  # first step: applies the change, JIT and caches
        start = sim.keyframe()
        air_s, sweeps, local = [], [], []

        def window():
            sim.restore(start)
            for _ in range(n_steps):
                sim.step(1.0)
                air_s.append(sim.air_step_s)
                sweeps.append(sim.air_sweeps)
                local.append(sim.air_local_passes)

        step_s = _median(window, repeats) / n_steps
        # the implicit step as the engine takes it, numba against the numpy reference
        sim.restore(start)
        for _ in range(8):
            sim.step(1.0)
        ratio = _implicit_vs_numpy(sim, repeats, n_racks)
        hour_figures = _hour(sim, steady) if (hour and n_racks <= 1000) else {}
    finally:
        follow.FLOW_TOLERANCE = saved
    air_s.sort()
    if ratio["numba_vs_numpy"] is None and kernel_s > 0:  # the engine's step is the explicit kernel
        ratio["numba_vs_numpy"] = numpy_s / kernel_s
    return {
        "racks": n_racks, "grid_m": ap.dx, "cells": ap.n_cells, "nx": ap.nx, "ny": ap.ny, "nz": ap.nz,
        "compile_s": compile_s, "flow_cold_s": flow_cold_s, "flow_cold_steps": flow.steps,
        "flow_converged": bool(flow.converged), "flow_warm_s": flow_warm_s,
        "step_s": step_s, "sim_s_per_wall_s": 1.0 / step_s if step_s > 0 else None,
        "hour_at_1s_s": 3600.0 * step_s, "temp_step_s": air_s[len(air_s) // 2],
        "air_sweeps_per_step": float(np.mean(sweeps)), "air_local_passes_per_step": float(np.mean(local)),
        "implicit_tol_k": thermal.IMPLICIT_TOL_K,
        **ratio,
        "kernel_step_s": kernel_s, "numpy_kernel_step_s": numpy_s,
        "numba_vs_numpy_explicit": numpy_s / kernel_s if kernel_s > 0 else None,
        "engine_step_explicit": ratio["numba_vs_numpy"] is None,
        "numba_numpy_explicit_max_diff_k": agree,
        **hour_figures,
    }


def _implicit_vs_numpy(sim, repeats: int, n_racks: int) -> dict[str, Any]:
    """The next transport step of ``sim`` exactly as the engine takes it (its inputs caught on
    the way in): the numba kernel vs the numpy line-Jacobi reference, from the same
    extrapolated start to the same tolerance."""
    ap, flow = sim.air, sim.flow
    caught: dict[str, Any] = {}
    engine_step = thermal.step

    def spy(ap_, flow_, T, dt_s, rack_exhaust_c, unit_supply_c, tile_supply_c, **kw):
        caught.update(T=T.copy(), dt=float(dt_s), pT=thermal.inflow_temperatures(ap_, flow_, rack_exhaust_c,
                                                                               unit_supply_c, tile_supply_c),
                      guess=None if kw.get("iterate") is None else kw["iterate"].copy())
        return engine_step(ap_, flow_, T, dt_s, rack_exhaust_c, unit_supply_c, tile_supply_c, **kw)

    thermal.step = spy
    try:
        sim.step(1.0)
    finally:
        thermal.step = engine_step
    c = thermal.coefficients(ap, flow)
    dt, pT, T0 = caught["dt"], caught["pT"], caught["T"]
    guess = caught["guess"] if caught["guess"] is not None else T0
    none = {"numba_vs_numpy": None, "implicit_step_s": None, "numpy_implicit_step_s": None,
            "numba_numpy_max_diff_k": None, "numpy_iterations": None}
    if max(1, int(np.ceil(dt * c.max_rate * (1.0 + 1e-9)))) <= thermal.MAX_EXPLICIT_SUBSTEPS:
        return none  # this hall's engine step is explicit: the explicit ratio is the engine's step
    tol = thermal.IMPLICIT_TOL_K
    a, f, order = c.line_arrays(ap.solid, dt)

    def numba_step():
        T = T0.copy()
        _thermal_numba.step_implicit(T, guess.copy(), c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc, c.pq, pT, ap.solid,
                                     c.vol, dt, a, f, order, tol, thermal.IMPLICIT_REL,
                                     thermal.IMPLICIT_FLOOR * tol, thermal.IMPLICIT_MIN_SWEEPS,
                                     thermal.IMPLICIT_MAX_SWEEPS, thermal.LOCAL_FRACTION_BLOCKS)
        return T

    iters = []

    def numpy_step():
        T = T0.copy()
        iters.append(_thermal_numpy.step_implicit_lines(T, guess.copy(), c.fx, c.fy, c.fz, c.gx, c.gy, c.gz, c.pc,
                                                        c.pq, pT, ap.solid, c.vol, dt, tol, 100000)[1])
        return T

    numba_step()
    nb_s = _median(numba_step, max(repeats, 5))
    np_s = _median(numpy_step, 1 if n_racks > 1000 else repeats)
    diff = float(np.abs(numba_step() - numpy_step()).max())
    return {"numba_vs_numpy": np_s / nb_s if nb_s > 0 else None, "implicit_step_s": nb_s,
            "numpy_implicit_step_s": np_s, "numba_numpy_max_diff_k": diff, "numpy_iterations": int(iters[-1])}


#: the engine steps (s) of the extra simulated hours, compared with the 1 s hour
HOUR_LONG_STEPS_S = (5.0, 10.0)
#: when (s after the hour's start) the hours' rack inlets and unit returns are compared
HOUR_MARKS_S = (60.0, 1800.0, 1860.0, 3600.0)


def _hour_run(sim, steady: dict, dt_s: float = 1.0, duration_s: float = 3600.0) -> dict[str, Any]:
    """One simulated ``duration_s`` at ``dt_s`` steps from the steady state (see the module docstring):
    wall and CPU time, the sweeps, the energy closure and the inlets and returns at :data:`HOUR_MARKS_S`."""
    _hour_start(sim, steady, duration_s)
    n_steps = int(round(duration_s / dt_s))
    marks = {int(round(m / dt_s)): m for m in HOUR_MARKS_S if m <= duration_s and abs(m / dt_s - round(m / dt_s)) < 1e-9}
    seen: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    sweeps = local = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for s in range(1, n_steps + 1):
        sim.step(dt_s)
        sweeps += sim.air_sweeps
        local += sim.air_local_passes
        if s in marks:
            seen[marks[s]] = (sim.rack_inlet_c.copy(), sim.unit_return_c.copy())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "steps": n_steps, "sweeps": sweeps, "local": local, "marks": seen,
            "closure": _closure(sim)}


def _hour_start(sim, steady: dict, duration_s: float) -> float:
    """The hour's start: the steady state, the load change now and another at half time; returns the time."""
    sim.restore(steady)
    t_start = sim.t_s
    sim.schedule(t_start, "set_utilization", "all", utilization=0.7)
    sim.schedule(t_start + duration_s / 2.0, "set_utilization", "all", utilization=0.9)
    return t_start


def _closure(sim) -> float:
    """What the air and servers hold now minus at the start, plus the heat given, minus the heat taken,
    relative to the heat given (the run's energy books, ``energy_acc``)."""
    made, removed, held = (float(x) for x in sim.state.energy_acc[:3])
    return (held + made - removed - sim.stored_energy_j()) / made if made > 0 else 0.0


def _hour_adaptive(sim, steady: dict, duration_s: float = 3600.0) -> dict[str, Any]:
    """The hour of :func:`_hour_run` with adaptive steps (:meth:`~dctwin.twin.sim.engine.Simulation.run`),
    its steps ending on :data:`HOUR_MARKS_S`."""
    t_start = _hour_start(sim, steady, duration_s)
    marks = [t_start + m for m in HOUR_MARKS_S if m <= duration_s]
    seen: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    sweeps = local = 0

    def at_step(s) -> None:
        nonlocal sweeps, local
        sweeps += s.air_sweeps
        local += s.air_local_passes
        for m in marks:
            if abs(s.t_s - m) < 1e-6:
                seen[m - t_start] = (s.rack_inlet_c.copy(), s.unit_return_c.copy())

    t0, c0 = time.perf_counter(), time.process_time()
    r = sim.run(duration_s, 1.0, on_step=at_step, adaptive=True, land_on=marks)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "steps": r.steps_taken, "rejected": r.steps_rejected, "sweeps": sweeps,
            "local": local, "marks": seen, "closure": _closure(sim)}


def _largest_diff(a: dict, b: dict, which: int) -> Optional[float]:
    """The largest |difference| of the rack inlets (``which`` 0) or unit returns (1) over the marks both hold."""
    diffs = [float(np.abs(a[m][which] - b[m][which]).max(initial=0.0)) for m in a if m in b]
    return max(diffs) if diffs else None


def _hour(sim, steady: dict, duration_s: float = 3600.0) -> dict[str, Any]:
    """One simulated hour at 1 s steps from the steady state, then the same hour at the engine's longer
    steps against it (see the module docstring)."""
    base = _hour_run(sim, steady, 1.0, duration_s)
    out = {"hour_run_s": base["wall"], "hour_run_cpu_s": base["cpu"],
           "air_sweeps_per_step_hour": base["sweeps"] / base["steps"],
           "air_local_passes_per_step_hour": base["local"] / base["steps"],
           "hour_energy_closure": base["closure"]}
    for dt in HOUR_LONG_STEPS_S:
        r = _hour_run(sim, steady, dt, duration_s)
        key = f"hour_dt{dt:g}"
        out.update({f"{key}_run_s": r["wall"], f"{key}_run_cpu_s": r["cpu"], f"{key}_steps": r["steps"],
                    f"{key}_max_inlet_diff_k": _largest_diff(r["marks"], base["marks"], 0),
                    f"{key}_max_return_diff_k": _largest_diff(r["marks"], base["marks"], 1),
                    f"{key}_energy_closure": r["closure"]})
    r = _hour_adaptive(sim, steady, duration_s)
    out.update({"hour_adaptive_run_s": r["wall"], "hour_adaptive_run_cpu_s": r["cpu"],
                "hour_adaptive_steps": r["steps"], "hour_adaptive_rejected": r["rejected"],
                "hour_adaptive_max_inlet_diff_k": _largest_diff(r["marks"], base["marks"], 0),
                "hour_adaptive_max_return_diff_k": _largest_diff(r["marks"], base["marks"], 1),
                "hour_adaptive_energy_closure": r["closure"]})
    sim.restore(steady)
    return out


#: the validated grid of issue 18 (horizontal, vertical cell size, m)
VALIDATED_GRID_M = (0.3, 0.125)


def _load_avg() -> Optional[float]:
    """The 1-minute load average (None where the system does not give it)."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def bench_validated_hour(n_racks: int, log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """The adaptive hour of :func:`_hour_adaptive` on the validated grid (see the module docstring)."""
    import dctwin.twin.sim.engine as engine
    from dctwin.twin.sim import flows as follow

    say = log or (lambda m: None)
    site = synthetic_site(n_racks)
    t0, c0 = time.perf_counter(), time.process_time()
    sim = engine.Simulation(site, site.halls[0].id, grid_m=VALIDATED_GRID_M)
    ap = sim.air
    say(f"{n_racks} racks, validated grid {ap.nx}x{ap.ny}x{ap.nz} ({ap.n_cells} cells): steady state...")
    sim.solve_steady()
    steady_s, steady_cpu = time.perf_counter() - t0, time.process_time() - c0
    steady = sim.keyframe()
    saved = follow.FLOW_TOLERANCE
    follow.FLOW_TOLERANCE = float("inf")
    load = [_load_avg()]
    say(f"  steady in {steady_s:.1f} s; the adaptive hour...")
    try:
        r = _hour_adaptive(sim, steady)
    finally:
        follow.FLOW_TOLERANCE = saved
    load.append(_load_avg())
    return {"validated_grid_m": [ap.dx, ap.dz], "validated_cells": ap.n_cells, "validated_steady_s": steady_s,
            "validated_steady_cpu_s": steady_cpu, "validated_hour_adaptive_run_s": r["wall"],
            "validated_hour_adaptive_run_cpu_s": r["cpu"], "validated_hour_adaptive_steps": r["steps"],
            "validated_hour_adaptive_rejected": r["rejected"],
            "validated_hour_adaptive_energy_closure": r["closure"],
            "validated_air_sweeps_per_step": r["sweeps"] / max(1, r["steps"]),
            "validated_air_local_passes_per_step": r["local"] / max(1, r["steps"]),
            "validated_load_avg": load}


def run_bench(sizes: list[int], repeats: int = 3, grid_m: Optional[float] = None,
              log: Optional[Callable[[str], None]] = None, validated: bool = False) -> dict[str, Any]:
    """Warm the JIT, then :func:`bench_case` for every size (and with ``validated`` the adaptive hour on
    the validated grid, :func:`bench_validated_hour`, for sizes up to 1,000 racks)."""
    jit = jit_warmup()
    cases = [bench_case(n, repeats, grid_m, log) for n in sizes]
    if validated:
        for case in cases:
            if case["racks"] <= 1000:
                case.update(bench_validated_hour(case["racks"], log))
    import numba
    import platform

    return {"jit_compile_s": jit, "repeats": repeats, "cases": cases,
            "machine": {"python": platform.python_version(), "numba": numba.__version__,
                        "cpu_count": __import__("os").cpu_count()}}
