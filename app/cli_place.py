"""Placement command: ``dctwin place LAYOUT --kw K [...]``, where the next racks can go.

The search is :func:`dctwin.twin.sim.placement.find_space` (``--plan``:
:func:`dctwin.twin.sim.placement_plan.plan_placements`) on the layout's steady state; this module reads
the options, solves the hall, prints the best spots (or the JSON) and runs ``dctwin bench --place``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from dctwin.twin.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("place", help="find where new racks fit (space, power, redundancy, cooling, air)",
                       description="Evaluate every free position and facing of the hall for a new rack (or a row "
                                   "of --count racks) of --kw kW against space and service clearance, power "
                                   "(the feeds it would take, now and N-1), cooling (now and without the worst "
                                   "unit), air (its inlet and the rise at the other racks' inlets against their "
                                   "ASHRAE class) and floor loading; verify the best spots with full solves.")
    p.add_argument("layout", help="layout JSON file")
    p.add_argument("--kw", type=float, required=True, help="IT power of each new rack (kW)")
    p.add_argument("--count", type=int, default=1, help="racks side by side in one row (default 1); with --plan, "
                                                        "racks placed one after another")
    p.add_argument("--liquid-fraction", type=float, default=0.0, metavar="F",
                   help="share of the heat to a CDU (0..1, default 0)")
    p.add_argument("--airflow-m3s", type=float, metavar="Q", help="airflow of each rack (default from its air heat)")
    p.add_argument("--width-m", type=float, default=0.6, metavar="W", help="rack width along its front (default 0.6)")
    p.add_argument("--depth-m", type=float, default=1.2, metavar="D", help="rack depth (default 1.2)")
    p.add_argument("--height-m", type=float, metavar="H", help="rack height (default: as the hall's racks)")
    p.add_argument("--feeds", metavar="A,B", help="power nodes it plugs into (default: the nearest row's A and B)")
    p.add_argument("--weight-kg", type=float, metavar="KG", help="rack weight for the floor check (hall floor_kg_m2)")
    p.add_argument("--ashrae-class", default="A1", metavar="CLASS", help="ASHRAE class of the new racks (default A1)")
    p.add_argument("--facing", metavar="N,E,S,W", help="facings to consider (default all four)")
    p.add_argument("--verify", type=int, default=5, metavar="K",
                   help="verify the best K feasible spots with warm full solves (default 5, 0: estimate only)")
    p.add_argument("--plan", action="store_true",
                   help="place --count racks one after another, each at the best spot of the state after the "
                        "previous ones, and report stranded power and cooling per row and unit")
    p.add_argument("--hall", help="hall id (default: the first hall)")
    p.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    p.add_argument("--top", type=int, default=10, metavar="N", help="candidates printed (text output, default 10)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_place)


def _finite_arg(args: argparse.Namespace, name: str) -> None:
    v = getattr(args, name)
    if v is not None and not math.isfinite(v):
        raise InputError(f"--{name.replace('_', '-')}: must be a finite number, got {v}")


def request_from_args(args: argparse.Namespace):
    """The :class:`RackRequest` of the options (checked against the site later)."""
    from dctwin.twin.sim.placement import RackRequest

    for name in ("kw", "liquid_fraction", "airflow_m3s", "width_m", "depth_m", "height_m", "weight_kg"):
        _finite_arg(args, name)
    feeds: tuple[str, ...] = ()
    if args.feeds is not None:
        feeds = tuple(f.strip() for f in args.feeds.split(","))
        if not all(feeds):
            raise InputError(f"--feeds: give power node ids separated by a comma (A,B), got {args.feeds!r}")
    return RackRequest(kw=args.kw, count=1 if args.plan else args.count, liquid_fraction=args.liquid_fraction,
                       airflow_m3s=args.airflow_m3s, width_m=args.width_m, depth_m=args.depth_m,
                       height_m=args.height_m, feeds=feeds, weight_kg=args.weight_kg,
                       ashrae_class=args.ashrae_class)


def _facings(args: argparse.Namespace) -> tuple[str, ...]:
    if args.facing is None:
        return ("N", "E", "S", "W")
    out = tuple(f.strip().upper() for f in args.facing.split(","))
    bad = [f for f in out if f not in ("N", "E", "S", "W")]
    if bad or not out:
        raise InputError(f"--facing: give some of N, E, S, W separated by commas, got {args.facing!r}")
    return out


def _check_numbers(args: argparse.Namespace) -> None:
    if not 0 <= args.verify <= 50:
        raise InputError(f"--verify: must be from 0 to 50, got {args.verify}")
    if not 1 <= args.count <= 100:
        raise InputError(f"--count: must be from 1 to 100, got {args.count}")
    if not 1 <= args.top <= 10000:
        raise InputError(f"--top: must be from 1 to 10000, got {args.top}")


def cmd_place(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dctwin.app.cli_physics import _check_grid_hall, _finite, _layout
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.sim.placement import find_space

    _check_numbers(args)
    request = request_from_args(args)
    facings = _facings(args)
    site = _layout(args)
    _check_grid_hall(args, site)
    hall = site.get_hall(args.hall) if args.hall else site.halls[0]
    request.check(site, hall)  # bad options fail before the solve
    sim = Simulation(site, args.hall, grid_m=args.grid, base_dir=str(Path(args.layout).resolve().parent))
    sim.solve_steady()
    if args.plan:
        from dctwin.twin.sim.placement_plan import plan_placements

        say = (lambda m: print(m, file=sys.stderr)) if not args.json else None
        plan = plan_placements(sim, request, args.count, verify_top=args.verify, progress=say)
        if args.json:
            print(json.dumps(_finite(plan.to_json()), indent=1))
        else:
            print(_plan_text(plan.to_json()))
        return 0
    result = find_space(sim, request, verify_top=args.verify, facings=facings)
    if args.json:
        print(json.dumps(_finite(result.to_json()), indent=1))
    else:
        print(_text(result.to_json(), args.top))
    return 0


def _num(v: Any, spec: str, unit: str = "") -> str:
    return "n/a" if v is None else format(v, spec) + unit


def _text(d: dict[str, Any], top: int) -> str:
    r = d["request"]
    lines = [f"{r['count']} x {r['kw']:g} kW rack(s) in hall {d['hall']}: {d['evaluated']} spots evaluated, "
             f"{len(d['candidates'])} with room, {d['feasible']} feasible by the estimate, {d['verified']} verified "
             f"by full solves ({d['wall_s']:.1f} s)"]
    best = d["best"]
    if best is None:
        lines.append("no feasible spot")
    else:
        v = best.get("verified") or best
        lines.append(f"best: x {best['x_m']:g} m, y {best['y_m']:g} m, facing {best['facing']}, feeds "
                     f"{','.join(best['feeds']) or '-'}: inlet {_num(v['inlet_c'], '.1f', ' C')}, largest rise "
                     f"elsewhere {_num(v['neighbour_rise_k'], '.2f', ' K')}; {v['binding']}")
    err = d["estimate_error_k"]
    if err["verified"]:
        lines.append(f"estimate vs full solve at the {err['verified']} verified spots: inlet within "
                     f"{_num(err['inlet_c'], '.2f', ' K')}, rise within {_num(err['neighbour_rise_k'], '.2f', ' K')}")
    lines.append(f"{'x_m':>6} {'y_m':>6} fc {'fit':5} {'inlet':>6} {'rise':>5} {'score':>7}  binding")
    for c in d["candidates"][:top]:
        v = c.get("verified") or c
        fit = ("tight" if v["tight"] else "yes") if v["feasible"] else "no"
        mark = "*" if c.get("verified") else " "
        lines.append(f"{c['x_m']:6.2f} {c['y_m']:6.2f} {c['facing']}  {fit:5}{mark}{_num(v['inlet_c'], '6.1f')} "
                     f"{_num(v['neighbour_rise_k'], '5.2f')} {_num(v['score'], '7.1f')}  {v['binding']}")
    lines.append("(* verified by a full solve)")
    return "\n".join(lines)


def _plan_text(d: dict[str, Any]) -> str:
    r = d["request"]
    lines = [f"plan: {d['count']} of the {r['kw']:g} kW racks placed in hall {d['hall']} ({d['wall_s']:.1f} s)"]
    for p in d["placed"]:
        lines.append(f"  {p['step']:3d}. {','.join(p['ids'])} at x {p['x_m']:g} m, y {p['y_m']:g} m facing {p['facing']}: "
                     f"inlet {_num(p['inlet_c'], '.1f', ' C')}; {p['binding']}")
    if d["stopped"]:
        lines.append(f"stopped: {d['stopped']}")
    rows = [x for x in d["stranded"]["rows"] if x["stranded_power_kw"]]
    units = [x for x in d["stranded"]["units"] if x["stranded_cooling_kw"]]
    lines.append("stranded power (power left where cooling or air rule out every spot): "
                 + (", ".join(f"row {x['row']} {x['stranded_power_kw']:.0f} kW" for x in rows) or "none"))
    lines.append("stranded cooling (cooling left where power rules out every spot): "
                 + (", ".join(f"{x['unit']} {x['stranded_cooling_kw']:.0f} kW" for x in units) or "none"))
    return "\n".join(lines)


def bench_place(args: argparse.Namespace) -> int:
    """``dctwin bench --place``: drag-map and verification times in the 200-rack hall and the ai-hall demo."""
    from dctwin.app.cli_physics import _finite
    from dctwin.twin.bench.placement import run_place_bench

    log = (lambda m: print(m, file=sys.stderr)) if not args.json else None
    report = run_place_bench(repeats=args.repeats, log=log)
    if args.json:
        print(json.dumps(_finite(report), indent=1))
        return 0
    for c in report["cases"]:
        print(f"{c['hall']} ({c['racks']} racks, {c['cells']} cells, solve {c['solve_s']:.1f} s): drag map "
              f"{c['drag_map_s']:.2f} s = context {c['context_s']:.2f} + map {c['map_s']:.2f} s (target < "
              f"{c['target_drag_map_s']:g} s); all facings {c['floor_s']:.2f} s; top-{c['verified']} verification "
              f"{c['verify_s']:.1f} s ({c['verify_cpu_s']:.1f} s CPU) on {c['workers']} threads (target < {c['target_verify_s']:g} s); estimate vs "
              f"solve: inlet {_num(c['estimate_error_inlet_k'], '.2f', ' K')}, rise "
              f"{_num(c['estimate_error_rise_k'], '.2f', ' K')} (on the corrected flow); floor-wide: inlet "
              f"{_num(c.get('floor_error_inlet_k'), '.2f', ' K')}, rise {_num(c.get('floor_error_rise_k'), '.2f', ' K')}")
    return 0
