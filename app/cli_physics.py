"""Physics commands: solve (steady state), simulate (transient), bench (speed)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any, Optional

from dctwin.twin.errors import InputError

if TYPE_CHECKING:
    from dctwin.twin.sim.results import HallSummary


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="steady state of a layout (flow and temperatures)",
                       description="Solve the steady airflow and temperatures of a hall and print the state.")
    p.add_argument("layout", help="layout JSON file")
    p.add_argument("--hall", help="hall id (default: the first hall)")
    p.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres (default: by hall size)")
    p.add_argument("--air-model", choices=("fast", "validated"), default="fast",
                   help="fast (default, as the editor and runs) or validated (closer to CFD: see "
                        "docs/validation.md; 2-5x the flow time)")
    p.add_argument("--json", action="store_true", help="print the state as JSON")
    p.add_argument("--fresh", action="store_true",
                   help="solve from rest even when this layout was solved before on this machine (the stored "
                        "solution is replaced; DCTWIN_SOLVED_CACHE=off switches the store off)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("simulate", help="run a transient and print a summary",
                       description="Start from the steady state, run DURATION seconds and print a summary. The step is DT "
                                   "around anything that happens and grows up to --max-dt in quiet stretches "
                                   "(adaptive; --fixed-step: every step DT; a recording, --out, uses fixed steps).")
    p.add_argument("layout", help="layout JSON file")
    p.add_argument("--duration", type=float, required=True, metavar="S", help="simulated seconds")
    p.add_argument("--dt", type=float, default=1.0, metavar="S", help="step in seconds (default 1, at most 10)")
    p.add_argument("--fixed-step", action="store_true",
                   help="every step DT (default: adaptive, DT around events and alarms, up to --max-dt when quiet)")
    p.add_argument("--max-dt", type=float, default=None, metavar="S",
                   help="longest adaptive step in seconds (default 10, at least --dt, at most 10)")
    p.add_argument("--hall", help="hall id (default: the first hall)")
    p.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    p.add_argument("--incident", metavar="INC", help="incident JSON file (timeline of events), or a built-in incident name "
                                                         "(dctwin incidents)")
    p.add_argument("--out", metavar="FILE", help="record the run into this project file (.dctwin)")
    p.add_argument("--keyframe-every", type=float, default=60.0, metavar="S", help="recording keyframe interval")
    p.add_argument("--metrics-every", type=float, default=1.0, metavar="S", help="recording hall-metrics interval")
    p.add_argument("--rack-series-every", type=float, default=10.0, metavar="S",
                   help="recording per-rack series interval")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("bench", help="measure the physics core's speed",
                       description="Medians of repeats after JIT warm-up, for synthetic halls of N racks.")
    p.add_argument("--racks", type=int, nargs="+", default=[100, 1000, 5000], metavar="N",
                   help="hall sizes to measure (default: 100 1000 5000)")
    p.add_argument("--repeats", type=int, default=3, help="repeats per measurement (median reported)")
    p.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--validated", action="store_true",
                   help="also the adaptive hour on the validated air grid (0.3 m x 0.125 m layers) for halls of up "
                        "to 1,000 racks (keys validated_*; a 1,000-rack hall takes about a minute)")
    p.add_argument("--gui", action="store_true",
                   help="measure the editor instead (offscreen): open and recolour halls of --racks racks, and "
                        "drop-to-heat-map times in 200-rack halls")
    p.add_argument("--store", action="store_true",
                   help="measure project files instead: size of recordings of small (24 h extrapolated) and "
                        "ai-hall, a 30-minute review export, seeks on small and a 1000-rack hall, recording "
                        "overhead (a few minutes; files in a temporary folder)")
    p.add_argument("--hours", type=float, default=2.0, metavar="H",
                   help="--store: hours of small to record (default 2; 24 h is extrapolated from them)")
    p.add_argument("--place", action="store_true",
                   help="measure the placement search instead: the whole-floor map for a 20 kW rack and the top-5 "
                        "verification in the 200-rack hall and the ai-hall demo")
    p.set_defaults(func=cmd_bench)


def _load(path: str):
    from dctwin.twin.model.layoutfile import load_layout

    return load_layout(path)


def _layout(args: argparse.Namespace):
    """The command's layout: the one read before it to tell the kernels it needs (:mod:`dctwin.app.main`), or
    read now."""
    site = getattr(args, "layout_site", None)
    return site if site is not None else _load(args.layout)


def _check_grid_hall(args: argparse.Namespace, site) -> None:
    if args.grid is not None and not (0.05 <= args.grid <= 3.0):
        raise InputError(f"--grid must be between 0.05 and 3 m, got {args.grid:g}")
    if args.hall is not None and args.hall not in [h.id for h in site.halls]:
        raise InputError(f"--hall {args.hall!r}: no such hall (halls: {', '.join(h.id for h in site.halls)})")


def _simulation(args: argparse.Namespace, site):
    from dctwin.twin.sim.engine import Simulation

    _check_grid_hall(args, site)
    from pathlib import Path

    return Simulation(site, args.hall, grid_m=args.grid, dt_s=getattr(args, "dt", 1.0),
                      base_dir=str(Path(args.layout).resolve().parent),
                      air_model=getattr(args, "air_model", "fast"))


def _finite(obj: Any) -> Any:
    """JSON has no NaN: make sure none slips into the output (they would be a bug)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def cmd_solve(args: argparse.Namespace) -> int:
    site = _layout(args)
    sim = _simulation(args, site)
    sim.reuse_solution = not args.fresh
    summary = sim.solve_steady()
    solution = getattr(sim, "solution", None)  # None: no steady solve of the engine's (a hall's heat-up)
    reused = solution is not None and solution.reused
    if args.json:
        out = summary.to_json()
        out["solution"] = "reused" if reused else "solved"
        out["solution_path"] = None if solution is None else solution.path
        print(json.dumps(_finite(out), indent=1))
    else:
        print(_text_summary(summary))
        if reused:
            print(f"reused the stored solution of {_when(solution.stored_utc)} (verified; --fresh solves from rest)")
    return 0


def _when(iso: Optional[str]) -> str:
    """An entry's time of storing (ISO 8601, UTC) as the reader's local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return "an earlier run"


def _num(v: Any, spec: str) -> str:
    """A figure for the text summary; "n/a" where there is none (a hall without racks has no inlet)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return format(v, spec)
    return "n/a"


def _text_summary(s: HallSummary) -> str:
    lines = [f"max inlet {_num(s.max_inlet_c, '.1f')} °C, energy error {_num(s.energy_error, '.2e')}, "
             f"solved in {_num(s.solve_s, '.2f')} s"]
    hot = sorted(s.racks.items(), key=lambda kv: -kv[1].inlet_c)[:5]
    for rid, r in hot:
        lines.append(f"  {rid:12s} inlet {r.inlet_c:6.1f} °C  exhaust {r.exhaust_c:6.1f} °C  "
                     f"{r.power_w / 1e3:7.1f} kW  {r.state}")
    for uid, u in s.cooling_units.items():
        lines.append(f"  {uid:12s} return {u.return_c:6.1f} °C  supply {u.supply_c:6.1f} °C  "
                     f"duty {u.duty_w / 1e3:7.1f} kW")
    lines.append(f"PUE {_num(s.pue, '.3f')}")
    return "\n".join(lines)


class Progress:
    """A progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, total: float, label: str, enabled: bool = True) -> None:
        self.total = max(total, 1e-9)
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: float) -> None:
        if not self.enabled:
            return
        pct = int(100 * min(done / self.total, 1.0))
        if pct != self._last:
            self._last = pct
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            sys.stderr.write(f"\r{self.label} [{bar}] {pct:3d}%")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


#: longest run and most steps `simulate` accepts (a year; beyond that a typo, not a study)
MAX_DURATION_S = 366 * 86400.0
MAX_STEPS = 50_000_000


def _check_run_args(args: argparse.Namespace) -> None:
    """Every number of `simulate` checked before anything is loaded, solved or written."""
    if not math.isfinite(args.duration) or args.duration <= 0:
        raise InputError(f"--duration must be a positive number of seconds, got {args.duration:g}")
    if args.duration > MAX_DURATION_S:
        raise InputError(f"--duration must be at most {MAX_DURATION_S:g} s (366 days), got {args.duration:g}")
    if not math.isfinite(args.dt) or not 0 < args.dt <= 10:
        raise InputError(f"--dt must be above 0 and at most 10 s, got {args.dt:g}")
    if args.max_dt is not None and (not math.isfinite(args.max_dt) or not args.dt <= args.max_dt <= 10):
        raise InputError(f"--max-dt must be at least --dt ({args.dt:g} s) and at most 10 s, got {args.max_dt:g}")
    if args.duration / args.dt > MAX_STEPS:
        raise InputError(f"--duration {args.duration:g} s at --dt {args.dt:g} s is {args.duration / args.dt:.3g} "
                         f"steps; at most {MAX_STEPS:,} (use a larger --dt)")
    for flag in ("keyframe_every", "metrics_every", "rack_series_every"):
        v = getattr(args, flag)
        if not math.isfinite(v) or not 0 < v <= MAX_DURATION_S:
            raise InputError(f"--{flag.replace('_', '-')} must be a positive number of seconds, got {v:g}")


def _load_incident(args: argparse.Namespace, site):
    from pathlib import Path

    from dctwin.twin.model.incidents import list_incidents, load_incident, load_library_incident
    from dctwin.twin.errors import LayoutError, LayoutIssue

    if Path(args.incident).exists():
        return load_incident(args.incident, site)
    names = list_incidents()
    if args.incident in names:
        return load_library_incident(args.incident, site)  # a built-in incident by name
    raise LayoutError([LayoutIssue("incident", "", "no such file, and no built-in incident has this name "
                                                   f"(built-in: {', '.join(names)})")], args.incident)


def _check_out(args: argparse.Namespace) -> None:
    """`--out` must be a new file in an existing folder or an existing dctwin project: checked before the run."""
    from pathlib import Path

    from dctwin.twin.store.project import KIND_REVIEW, check_file

    out = Path(args.out)
    inputs = [Path(x) for x in (args.layout, args.incident) if x and Path(x).exists()]
    if any(out.exists() and out.resolve() == x.resolve() for x in inputs):
        raise InputError(f"--out {out}: is an input of this run; record into a project file (.dctwin) instead")
    if out.is_dir():
        raise InputError(f"--out {out}: is a folder; give a project file name (.dctwin)")
    if out.exists():
        if check_file(out).kind == KIND_REVIEW:  # refuses anything that is not an intact dctwin file, too
            raise InputError(f"--out {out}: is a review export (read-only); record into a project file")
        from dctwin.twin.store.export import check_file_contents

        check_file_contents(out)  # a damaged project is refused before the run
    elif not out.resolve().parent.is_dir():
        raise InputError(f"--out {out}: folder {out.resolve().parent} does not exist")


def cmd_simulate(args: argparse.Namespace) -> int:
    _check_run_args(args)
    site = _layout(args)
    _check_grid_hall(args, site)
    incident = _load_incident(args, site) if args.incident else None
    if args.out:
        _check_out(args)
    sim = _simulation(args, site)
    sim.start()  # the steady state, or the heat-up of a hall whose heat has nowhere to go
    if incident is not None:
        incident.schedule_on(sim)
    recorder = None
    if args.out:
        from dctwin.twin.store import record_run  # noqa: F401  (import errors surface before the run)

        recorder = _open_recorder(args, site, sim, incident)
    progress = Progress(args.duration, "simulating", enabled=not args.no_progress and args.duration >= 600)
    try:
        summary = sim.run(args.duration, args.dt, progress=progress,
                          on_step=recorder.on_step if recorder is not None else None,
                          adaptive=_adaptive(args), max_dt_s=args.max_dt)
    except BaseException:
        if recorder is not None:
            recorder.abort()
        raise
    finally:
        progress.close()
    if recorder is not None:
        recorder.close(sim)
        summary.recording = recorder.summary()
    if args.json:
        print(json.dumps(_finite(summary.to_json()), indent=1))
    else:
        steps = (f" (adaptive: {summary.steps_taken} steps, longest {summary.largest_dt_s:g} s)"
                 if summary.adaptive else "")
        print(f"simulated {args.duration:g} s at dt {args.dt:g} s{steps}: "
              f"max inlet {_num(summary.max_inlet_c, '.1f')} °C, "
              f"{len(summary.racks_over_allowable)} racks over allowable, "
              f"energy error {_num(summary.energy_error, '.2e')}")
    return 0


def _adaptive(args: argparse.Namespace) -> bool:
    """Adaptive steps unless --fixed-step, or --out: a recording's replay steps at its dt (a seek restores a
    keyframe and steps DT to the second asked for), so a recorded run takes those steps too."""
    return not (args.fixed_step or args.out)


def _open_recorder(args, site, sim, incident):
    from dctwin.twin.store import record_run

    return record_run(args.out, site, sim, incident=incident, dt_s=args.dt, duration_s=args.duration,
                      keyframe_every_s=args.keyframe_every, metrics_every_s=args.metrics_every,
                      rack_series_every_s=args.rack_series_every, grid_m=args.grid)


def _bench_store(args: argparse.Namespace) -> int:
    import tempfile

    from dctwin.twin.bench.store import bench_store

    if not 0.1 <= args.hours <= 24:
        raise InputError(f"--hours must be between 0.1 and 24, got {args.hours:g}")
    with tempfile.TemporaryDirectory(prefix="dctwin-bench-") as tmp:
        r = bench_store(tmp, hours=args.hours, log=None if args.json else lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(_finite(r), indent=1))
        return 0
    s, a, e = r["small"], r["ai_hall"], r["export"]
    print(f"small, {s['hours']:g} h: {s['mb']:.1f} MB, {s['keyframes']} keyframes ({s['mb_per_keyframe']:.2f} MB "
          f"each); 24 h: {s['mb_24h']:.0f} MB (extrapolated)")
    print(f"ai-hall, {a['hours']:g} h: {a['mb']:.1f} MB, {a['keyframes']} keyframes; 1 h: {a['mb_1h']:.0f} MB")
    print(f"review export of a {e['window_s'] / 60:g}-minute incident window of small: {e['mb']:.2f} MB "
          f"({e['keyframes']} keyframes), written in {e['write_s']:.2f} s")
    for key, name in (("seek_small", "small"), ("seek_big", f"{r['seek_big']['racks']}-rack hall")):
        k = r[key]
        print(f"seek on {name}: median {k['median_ms']:.0f} ms, 90 % {k['p90_ms']:.0f} ms, largest "
              f"{k['max_ms']:.0f} ms (CPU: median {k['median_cpu_ms']:.0f} ms, largest {k['max_cpu_ms']:.0f} ms; "
              f"largest keyframe gap {k['largest_gap_s']:g} s)")
    o = r["overhead"]
    print(f"recording overhead: {o['overhead_pct']:.1f} % of the simulation time ({o['overhead_cpu_pct']:.1f} % "
          f"of its CPU time)")
    t = r["trend"]
    print(f"whole-recording trends: hall metric {t['hall_metric_ms']:.1f} ms ({t['hall_samples']} samples), "
          f"one rack {t['rack_ms']:.1f} ms ({t['rack_samples']} samples)")
    if r.get("load_avg"):
        print(f"(load average {r['load_avg'][0]:.1f} on {r['cpus']} CPUs: wall times follow it, sizes do not)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from dctwin.twin.bench.physics import run_bench

    os.environ["DCTWIN_SOLVED_CACHE"] = "off"  # a benchmark times cold solves: it never reuses a stored one
    for n in args.racks:
        if not 1 <= n <= 20000:
            raise InputError(f"--racks values must be between 1 and 20000, got {n}")
    if not 1 <= args.repeats <= 1000:
        raise InputError(f"--repeats must be between 1 and 1000, got {args.repeats}")
    if args.grid is not None and not (0.05 <= args.grid <= 3.0):
        raise InputError(f"--grid must be between 0.05 and 3 m, got {args.grid:g}")
    if args.gui:
        from dctwin.app.cli_gui import bench_gui

        return bench_gui(args)
    if args.store:
        return _bench_store(args)
    if args.place:
        from dctwin.app.cli_place import bench_place

        return bench_place(args)
    report = run_bench(args.racks, repeats=args.repeats, grid_m=args.grid,
                       log=lambda m: print(m, file=sys.stderr) if not args.json else None, validated=args.validated)
    if args.json:
        print(json.dumps(_finite(report), indent=1))
    else:
        print(f"numba JIT compile (first call, cache cold or warm): {report['jit_compile_s']:.2f} s")
        for r in report["cases"]:
            print(f"{r['racks']:6d} racks, {r['cells']:9d} cells ({r['grid_m']:.2f} m): compile {r['compile_s'] * 1e3:.1f} ms, "
                  f"flow cold {r['flow_cold_s']:.2f} s, warm {r['flow_warm_s']:.2f} s, step {r['step_s'] * 1e3:.2f} ms, "
                  f"{r['sim_s_per_wall_s']:.0f} sim s/wall s, numba/numpy {r['numba_vs_numpy']:.1f}x")
            if "hour_adaptive_run_s" in r:
                print(f"{'':6s} one hour: {r['hour_run_s']:.2f} s at 1 s steps, {r['hour_adaptive_run_s']:.2f} s adaptive "
                      f"({r['hour_adaptive_steps']} steps, inlets within {r['hour_adaptive_max_inlet_diff_k']:.3f} K)")
            if "validated_hour_adaptive_run_s" in r:
                print(f"{'':6s} one hour on the validated grid ({r['validated_cells']} cells): "
                      f"{r['validated_hour_adaptive_run_s']:.1f} s adaptive, "
                      f"{r['validated_hour_adaptive_run_cpu_s']:.1f} s CPU ({r['validated_hour_adaptive_steps']} steps)")
    return 0
