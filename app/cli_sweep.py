"""``dctwin sweep``: exhaustive N-1 / N-2 contingency sweeps, power and cooling coupled, on dask."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from dctwin.twin.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="what goes down if anything fails: N-1 / N-2 contingency sweep",
        description="Fail every power node, cooling unit, chiller, pump, CDU and CDU pump (and the utility "
                    "with each generator failing to start) one at a time (--n 1) or in pairs (--n 2), run "
                    "the coupled transient of each from the steady state (failure at 60 s), and rank them: "
                    "IT lost first, then thermal breaches, then time margin. Runs on dask.distributed.")
    p.add_argument("layout", help="layout JSON file")
    p.add_argument("--n", type=int, default=1, choices=(1, 2), help="single failures (1, default) or pairs (2)")
    p.add_argument("--elements", metavar="IDS", help="only these element ids (comma-separated)")
    p.add_argument("--kinds", metavar="KINDS", default="power,cooling,plant",
                   help="which failures: power, cooling, plant (comma-separated; default all)")
    p.add_argument("--duration", type=float, default=1800.0, metavar="S",
                   help="each scenario runs to this time from the steady state (default 1800 s; the failure "
                        "is at 60 s), or less once steady")
    p.add_argument("--dt", type=float, default=1.0, metavar="S", help="step in seconds (default 1)")
    p.add_argument("--hall", help="hall id (default: the first hall)")
    p.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="worker processes of the local dask cluster (default: the core count)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing dask cluster (e.g. tcp://10.0.0.5:8786) instead")
    p.add_argument("--out", metavar="FILE", help="project file (.dctwin) the results stream into; a sweep "
                                                  "interrupted before resumes from it")
    p.add_argument("--exhaustive", action="store_true",
                   help="run every pair, also those proven equal to a single failure")
    p.add_argument("--record", type=int, default=None, metavar="K",
                   help="record the K most severe scenarios' runs for replay (default 3 with --out)")
    p.add_argument("--hints", type=int, default=3, metavar="K",
                   help="check design hints for the K most severe scenarios with racks down (default 3)")
    p.add_argument("--fresh", action="store_true", help="start a new sweep even if --out holds this one")
    p.add_argument("--no-early-stop", action="store_true", help="run every scenario to --duration")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_sweep)


def _split(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    return items


def _settings(args: argparse.Namespace):
    from dctwin.twin.sim.contingency import KINDS, SweepSettings

    kinds = _split(args.kinds) or ()
    if not kinds:
        raise InputError(f"--kinds must name at least one of {', '.join(KINDS)}")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InputError(f"--kinds: unknown kind {bad[0]!r} (kinds: {', '.join(KINDS)})")
    elements = _split(args.elements)
    if args.elements is not None and not elements:
        raise InputError("--elements must name at least one element id")
    if not math.isfinite(args.duration):
        raise InputError(f"--duration must be a number of seconds, got {args.duration}")
    s = SweepSettings(n=args.n, kinds=tuple(dict.fromkeys(kinds)), elements=elements, duration_s=float(args.duration),
                      dt_s=float(args.dt), grid_m=args.grid, hall_id=args.hall, exhaustive=args.exhaustive,
                      early_stop=not args.no_early_stop)
    s.check()
    return s


class SweepBar:
    """Scenarios done, rate and time left on stderr (a bar when stderr is a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._last = -1

    def say(self, text: str) -> None:
        if self.enabled:
            if self.tty and self._last >= 0:
                sys.stderr.write("\n")
                self._last = -1
            print(f"dctwin sweep: {text}", file=sys.stderr, flush=True)

    def __call__(self, p) -> None:
        if not self.enabled:
            return
        frac = p.done / max(p.total, 1)
        left = p.left_s
        eta = "" if left is None else f", {int(left) // 60}:{int(left) % 60:02d} left"
        text = f"{p.done}/{p.total} scenarios, {p.rate_per_s:.2f}/s{eta}"
        if self.tty:
            bar = "#" * int(25 * frac) + "-" * (25 - int(25 * frac))
            sys.stderr.write(f"\rsweep [{bar}] {text}   ")
            sys.stderr.flush()
            self._last = p.done
        else:
            step = max(1, p.total // 10)
            if p.done == p.total or p.done // step != self._last // step:
                print(f"dctwin sweep: {text}", file=sys.stderr, flush=True)
            self._last = p.done

    def close(self) -> None:
        if self.enabled and self.tty and self._last >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._last = -1


def cmd_sweep(args: argparse.Namespace) -> int:
    from dctwin.app.cli_physics import _layout
    from dctwin.twin.store.sweep_job import SweepJob, check_out

    settings = _settings(args)
    if args.workers is not None and not 1 <= args.workers <= 4096:
        raise InputError(f"--workers must be from 1 to 4096, got {args.workers}")
    if args.scheduler:
        from dctwin.twin.sim.sweep import check_scheduler_address

        check_scheduler_address(args.scheduler)
    if args.record and not args.out:
        raise InputError("--record needs --out: the recorded runs go into the project file")
    record = (3 if args.record is None else args.record) if args.out else 0
    site = _layout(args)
    if args.out:
        check_out(args.out, (args.layout,))
    bar = SweepBar(not args.no_progress)
    job = SweepJob(site, settings, args.out, base_dir=str(Path(args.layout).resolve().parent), workers=args.workers,
                   scheduler=args.scheduler, record=record, hints=args.hints,
                   resume=not args.fresh, say=bar.say, progress=bar)
    sset = job.plan()
    what = "single failures" if settings.n == 1 else "pairs of failures"
    bar.say(f"{sset.n_total} scenarios ({what})" + (f", {len(sset.pruned)} of them pruned as equal to a single "
                                                   f"failure (--exhaustive runs them)" if sset.pruned else ""))
    try:
        result, report = job.run()
    finally:
        bar.close()
    out = sweep_json(result, report)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(text_report(out))
    if report.errors:
        for e in report.errors:
            print(f"dctwin sweep: scenario {e['key']} failed: {e['error']}", file=sys.stderr)
        return 1
    return 0


def sweep_json(result, report) -> dict[str, Any]:
    """``dctwin sweep --json``: the stored sweep's keys, then this run's figures."""
    from dctwin.twin.store.sweeps import finite

    d = result.to_json()
    d.update({"n_scenarios": report.n_scenarios, "n_pruned": len(result.pruned), "n_run": report.n_run,
              "n_resumed": report.n_resumed, "wall_s": report.wall_s, "workers": report.workers,
              "scenarios_per_s": report.scenarios_per_s, "prepare_s": report.prepare_s,
              "distribute_s": report.distribute_s, "hints_s": report.hints_s, "record_s": report.record_s,
              "sweep_wall_s": result.wall_s, "errors": report.errors, "file": report.file,
              "scenario_wall_s": report.scenario_wall_s, "scenario_cpu_s": report.scenario_cpu_s})
    d["scenarios"] = result.scenarios  # last: the long list
    return finite(d)


def _n(v: Any, spec: str, none: str = "—") -> str:
    return none if v is None else format(v, spec)


def text_report(d: dict[str, Any], top: int = 20) -> str:
    lines = [f"{d['n_scenarios']} scenarios ({d['n_run']} run now, {d['n_resumed']} resumed, {d['n_pruned']} pruned) "
             f"in {d['wall_s']:.1f} s on {d['workers']} worker(s)"
             + (f", {d['scenarios_per_s']:.2f} scenarios/s" if d.get("scenarios_per_s") else "")]
    lines.append(f"{'rank':>4}  {'level':14} {'scenario':44} {'down':>5} {'kW':>7} {'over':>5} {'breach s':>8} "
                 f"{'max in C':>8} {'min SOC':>7} {'max util':>8}")
    for o in d["scenarios"][:top]:
        lines.append(f"{o['severity']:>4}  {o['severity_level']:14} {o['label'][:44]:44} {o['racks_down']:>5} "
                     f"{o['kw_down']:>7.1f} {len(o['racks_over_allowable']):>5} "
                     f"{_n(o['first_over_allowable_s'], '.0f'):>8} {_n(o['max_inlet_c'], '.1f'):>8} "
                     f"{_n(o['ups_min_soc'], '.2f'):>7} {_n(o['max_node_utilization'], '.2f'):>8}")
    if len(d["scenarios"]) > top:
        lines.append(f"  ... {len(d['scenarios']) - top} more (--json for all)")
    for o in d["scenarios"][:top]:
        if o.get("cause"):
            lines.append(f"- {o['label']}: {o['cause']}")
        for h in o.get("hints") or []:
            lines.append(f"  hint: {h['text']}")
    nothing = [o["label"] for o in d["scenarios"] if o.get("changes_nothing")]
    if nothing:
        lines.append(f"changes nothing ({len(nothing)}): {', '.join(nothing)}")
    return "\n".join(lines)
