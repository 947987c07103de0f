"""Measured-data commands: ``dctwin telemetry import|synth|propose-map``, ``dctwin shadow``, ``dctwin calibrate``.

The work is in :mod:`dctwin.twin.io.import_telemetry` (files in), :mod:`dctwin.twin.assimilate`
(shadow replays, estimation, calibration, the synthetic site). This module reads arguments,
prints summaries (or JSON: a contract, keys are added, never renamed) and progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

from dctwin.app.cli_physics import _finite
from dctwin.twin.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("telemetry", help="bring a site's measured data in (import, synthetic site, point map)",
                       description="Measured series, point maps and event logs of a real site.")
    kinds = p.add_subparsers(dest="telemetry_cmd", metavar="COMMAND")
    kinds.required = True

    im = kinds.add_parser("import", help="measurements, point map and event log into a project file",
                          description="Read measurement files (long CSV timestamp,point,value[,unit]; wide CSV "
                                      "timestamp + one column per point; or the same as Parquet) and a point map "
                                      "(point,element,quantity,unit), clean them (sentinels, gaps, duplicates, "
                                      "spikes: all counted), and store them with the layout and the event log in a "
                                      "project file. An existing project file gets a new telemetry set.")
    im.add_argument("layout", help="layout JSON file the point map refers to")
    im.add_argument("--data", action="append", default=[], metavar="FILE",
                    help="measurement file (.csv or .parquet); repeat for several")
    im.add_argument("--points", required=True, metavar="MAP", help="point map CSV: point,element,quantity,unit")
    im.add_argument("--events", metavar="LOG", help="event log CSV: timestamp,source,kind,message")
    im.add_argument("--event-map", metavar="JSON", help="rules mapping event log rows to dctwin events")
    im.add_argument("--sentinel", type=float, action="append", metavar="V",
                    help="a value meaning 'no reading' (default -999 and -9999); repeat for several")
    im.add_argument("--prometheus", metavar="URL", help="pull the points live from a Prometheus-compatible API "
                                                        "(each point name is a PromQL query)")
    im.add_argument("--from", dest="t_from", metavar="T", help="with --prometheus: start (ISO 8601 or epoch s)")
    im.add_argument("--to", dest="t_to", metavar="T", help="with --prometheus: end")
    im.add_argument("--step", type=float, default=60.0, metavar="S", help="with --prometheus: step (default 60 s)")
    im.add_argument("--token-file", metavar="FILE", help="with --prometheus: a file holding a bearer token")
    im.add_argument("--out", required=True, metavar="FILE", help="project file (.dctwin) to write or add to")
    im.add_argument("--report", metavar="FILE", help="write the import report as JSON to this file")
    im.add_argument("--json", action="store_true", help="print the report as JSON")
    im.set_defaults(func=cmd_import)

    sy = kinds.add_parser("synth", help="a synthetic site's data to try the workflow on",
                          description="Run the twin on a hidden perturbed copy of LAYOUT (one unit's airflow down "
                                      "30 %%, leakage up, rack powers off nameplate by up to 30 %%, one tile "
                                      "blocked) and write sampled, noisy, defective measurements, a point map and "
                                      "an event log to DIR (with the hidden truth in truth.json).")
    sy.add_argument("layout", help="layout JSON file")
    sy.add_argument("--out", required=True, metavar="DIR", help="folder to write the files to")
    sy.add_argument("--hours", type=float, default=6.0, help="length of the data (default 6 h)")
    sy.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    sy.add_argument("--grid", type=float, metavar="M", help="air grid of the hidden truth (default: by hall size)")
    sy.add_argument("--start", default="2024-05-14T00:00:00+00:00", help="first timestamp (ISO 8601 with offset)")
    sy.add_argument("--parquet", action="store_true", help="also write measurements.parquet (wide)")
    sy.add_argument("--json", action="store_true", help="print what was written as JSON")
    sy.set_defaults(func=cmd_synth)

    pm = kinds.add_parser("propose-map", help="guess a point map from point names",
                          description="Find element ids of LAYOUT inside the point names of DATA and guess each "
                                      "point's quantity from its name; write the map for a person to check.")
    pm.add_argument("layout", help="layout JSON file")
    pm.add_argument("--data", required=True, metavar="FILE", help="measurement file (.csv or .parquet)")
    pm.add_argument("--out", required=True, metavar="MAP", help="point map CSV to write")
    pm.set_defaults(func=cmd_propose)

    sh = sub.add_parser("shadow", help="replay measured data through the twin: measured beside predicted",
                        description="Drive the twin with the measured boundary conditions (rack power, unit running "
                                    "states and supply temperatures, outdoor, the event log) and record the "
                                    "predicted and estimated state beside the measured one, as a recording in the "
                                    "project file.")
    sh.add_argument("project", help="project file with telemetry (dctwin telemetry import)")
    sh.add_argument("--from", dest="t_from", metavar="T", help="start (ISO 8601 or epoch seconds; default: the data's)")
    sh.add_argument("--to", dest="t_to", metavar="T", help="end")
    sh.add_argument("--holdout", type=int, default=0, metavar="K",
                    help="hide every K-th temperature sensor from the estimator and report the error there")
    sh.add_argument("--dt", type=float, default=10.0, metavar="S", help="engine step (default 10 s)")
    sh.add_argument("--sample", type=float, metavar="S", help="sample interval (default: the sensors')")
    sh.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    sh.add_argument("--params", metavar="LIST", help="parameters the estimator corrects (default "
                                                     "leakage,unit_airflow,rack_power)")
    sh.add_argument("--no-estimate", action="store_true", help="prediction only, no state estimation")
    sh.add_argument("--layout-version", type=int, metavar="N", help="layout version to run (default: the latest)")
    sh.add_argument("--json", action="store_true", help="print the summary as JSON")
    sh.set_defaults(func=cmd_shadow)

    ca = sub.add_parser("calibrate", help="fit uncertain parameters to the measurements",
                        description="Fit plenum leakage, unit airflow, tile flow, rack power and rack airflow "
                                    "factors to the measurements by least squares over steady windows (bounds and "
                                    "priors); print each with its uncertainty and the RMS before and after on fitted "
                                    "and held-back sensors; save the calibrated layout as a new layout version and "
                                    "write it to --out.")
    ca.add_argument("project", help="project file with telemetry")
    ca.add_argument("--params", metavar="LIST",
                    help="groups to fit: leakage, unit_airflow, tile_flow, rack_power, rack_airflow (default "
                         "leakage,unit_airflow,rack_power); a group may name elements: rack_power:R-A01+R-A02 or "
                         "rack_power:row:A")
    ca.add_argument("--from", dest="t_from", metavar="T", help="start (ISO 8601 or epoch seconds)")
    ca.add_argument("--to", dest="t_to", metavar="T", help="end")
    ca.add_argument("--holdout", type=int, default=4, metavar="K",
                    help="hold back every K-th temperature sensor from the fit (default 4; 0: none)")
    ca.add_argument("--grid", type=float, metavar="M", help="air grid cell size in metres")
    ca.add_argument("--min-window", type=float, default=30.0, metavar="MIN", help="shortest steady window (min)")
    ca.add_argument("--max-evaluations", type=int, default=12, metavar="N", help="least-squares evaluations at most")
    ca.add_argument("--out", required=True, metavar="FILE", help="calibrated layout JSON to write")
    ca.add_argument("--json", action="store_true", help="print the result as JSON")
    ca.set_defaults(func=cmd_calibrate)


def _say(args: argparse.Namespace, prefix: str):
    if getattr(args, "json", False) and not sys.stderr.isatty():
        return None
    return lambda text: print(f"dctwin {prefix}: {text}", file=sys.stderr, flush=True)


def _grid(args: argparse.Namespace) -> Any:
    if args.grid is not None and not (0.05 <= args.grid <= 3.0):
        raise InputError(f"--grid must be between 0.05 and 3 m, got {args.grid:g}")
    return args.grid


def cmd_import(args: argparse.Namespace) -> int:
    from dctwin.twin.io.import_telemetry import import_telemetry
    from dctwin.twin.io.telemetry import DEFAULT_SENTINELS, parse_time
    from dctwin.twin.model.layoutfile import write_json_file

    prom = None
    if args.prometheus:
        if not (args.t_from and args.t_to):
            raise InputError("--prometheus needs --from and --to")
        token = None
        if args.token_file:
            try:
                token = Path(args.token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise InputError(f"{args.token_file}: cannot be read: {exc.strerror or exc}") from None
        prom = {"url": args.prometheus, "start_s": parse_time(args.t_from, "--from"),
                "end_s": parse_time(args.t_to, "--to"), "step_s": args.step, "token": token}
    elif args.t_from or args.t_to or args.token_file:
        raise InputError("--from, --to and --token-file go with --prometheus")
    if args.report:  # checked before the import, so a refused report leaves no project written
        _check_report(args.report, args.out, args.layout, *(args.data or ()), args.points, args.events,
                      args.event_map, args.token_file)
    sentinels = tuple(args.sentinel) if args.sentinel else DEFAULT_SENTINELS
    res = import_telemetry(args.layout, args.out, args.data, args.points, args.events, args.event_map, sentinels,
                           prom, progress=_say(args, "telemetry import"))
    if args.report:
        write_json_file(args.report, json.dumps(_finite(res["report"]), indent=1) + "\n", "report")
    if args.json:
        print(json.dumps(_finite(res), indent=1))
    else:
        from dctwin.twin.io.telemetry import TelemetryReport

        rep = TelemetryReport(**{k: v for k, v in res["report"].items() if k in TelemetryReport.__dataclass_fields__})
        print(rep.summary())
        t = res["report"].get("timings_s", {})
        print(f"{'added to' if res['updated'] else 'wrote'} {res['out']}: telemetry set {res['set_id']} on layout "
              f"version {res['layout_id']} (read {t.get('read', 0):.1f} s, clean {t.get('clean', 0):.1f} s, "
              f"write {t.get('write', 0):.1f} s)")
    return 0


def _check_report(report: str, out: str, *inputs: Optional[str]) -> None:
    """--report must be none of the command's inputs (it was written over the point map), not --out, and a
    place a JSON file can be written."""
    from dctwin.twin._files import same_file
    from dctwin.twin.model.layoutfile import check_json_target

    r = Path(report)
    for given in inputs:
        if same_file(r, given):
            raise InputError(f"--report {r}: is an input of this import; it is never overwritten")
    if r.resolve() == Path(out).resolve():
        raise InputError(f"--report {r}: is --out too; give the report a file of its own")
    check_json_target(r, "report")


def cmd_synth(args: argparse.Namespace) -> int:
    from dctwin.twin.assimilate.synth import SynthOptions, synthesize
    from dctwin.twin.model.layoutfile import load_layout

    site = load_layout(args.layout)
    res = synthesize(site, args.out, SynthOptions(hours=args.hours, seed=args.seed, grid_m=_grid(args),
                                                  start=args.start, parquet=args.parquet),
                     progress=_say(args, "telemetry synth"))
    if args.json:
        print(json.dumps(_finite(res), indent=1))
    else:
        d = res["defects"]
        print(f"wrote {res['out']}: {res['points']} points, {res['rows']:,} rows, {res['events']} logged events; "
              f"defects " + ", ".join(f"{k} {v}" for k, v in d.items()))
        print(f"next: dctwin telemetry import {Path(res['out']) / 'layout.json'} --data "
              f"{Path(res['out']) / 'measurements.csv'} --points {Path(res['out']) / 'points.csv'} --events "
              f"{Path(res['out']) / 'events.csv'} --event-map {Path(res['out']) / 'event-map.json'} --out site.dctwin")
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    from dctwin.twin._files import atomic_write, same_file
    from dctwin.twin.io.points import propose_map
    from dctwin.twin.io.telemetry import read_measurements
    from dctwin.twin.model.layoutfile import check_json_target, load_layout

    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for the point map")
    for flag, given in (("layout", args.layout), ("--data", args.data)):  # it was written over them (exit 0)
        if same_file(out, given):
            raise InputError(f"--out {out}: is the {flag} file of this command; it is never overwritten")
    check_json_target(out, "point map")  # no project file, device or pipe, or missing folder
    site = load_layout(args.layout)
    _, raw = read_measurements(args.data)
    pm, unmatched = propose_map(list(raw), site)
    try:
        atomic_write(out, pm.to_csv())
    except OSError as exc:
        raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {out}: {len(pm)} of {len(raw)} points mapped; check it before importing")
    if unmatched:
        print(f"not matched ({len(unmatched)}): " + ", ".join(unmatched[:10]) + (" ..." if len(unmatched) > 10 else ""))
    return 0


def cmd_shadow(args: argparse.Namespace) -> int:
    from dctwin.twin.assimilate.shadow import ShadowOptions, run_shadow

    if not (0 < args.dt <= 10):
        raise InputError(f"--dt must be above 0 and at most 10 s, got {args.dt:g}")
    opts = ShadowOptions(t_from=args.t_from, t_to=args.t_to, holdout=args.holdout, dt_s=args.dt,
                         sample_s=args.sample, grid_m=_grid(args), layout_id=args.layout_version,
                         params=args.params, estimate=not args.no_estimate)
    res = run_shadow(args.project, opts, progress=_say(args, "shadow"))
    if args.json:
        print(json.dumps(_finite(res), indent=1))
        return 0
    print(f"shadow of {res['from']} to {res['to']} ({res['samples']} samples of {len(res['residuals'])} points) "
          f"-> recording {res['recording_id']} in {res['file']}")
    print(f"  predicted - measured: RMS {_k(res['residual_rms_k'])}, max {_k(res['residual_max_k'])}; "
          f"estimated at the assimilated sensors: RMS {_k(res['estimated_rms_k'])}")
    if res.get("holdout"):
        h = res["holdout"]
        print(f"  hidden sensors (every {h['k']}th, {len(h['points'])}): predicted RMS {_k(h['predicted_rms_k'])}, "
              f"estimated RMS {_k(h['estimated_rms_k'])}")
    for w in res["worst_points"]:
        print(f"  worst: {w['point']} ({w['element']} {w['quantity']}) RMS {w['rms_k']:.2f} K")
    print(f"  events from the site: {res['events_applied']['site']} from the log, {res['events_applied']['measured']} "
          f"from measured points; alarms: {res['alarms_measured']} on measured values, {res['alarms_model']} in the model")
    for w in res["warnings"]:
        print(f"  warning: {w}")
    return 0


def _k(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2f} K"


def cmd_calibrate(args: argparse.Namespace) -> int:
    from dctwin.twin.assimilate.calibrate import CalibrateOptions, calibrate
    from dctwin.twin.model.layoutfile import check_json_target, save_layout

    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name for the calibrated layout")
    # a project file, device, pipe or missing folder: refused after the fit had added a layout version to the project
    check_json_target(out, "calibrated layout")
    if args.min_window <= 0:
        raise InputError(f"--min-window must be above 0 min, got {args.min_window:g}")
    opts = CalibrateOptions(params=args.params, t_from=args.t_from, t_to=args.t_to, holdout=args.holdout,
                            grid_m=_grid(args), min_window_s=60.0 * args.min_window,
                            max_evaluations=max(1, args.max_evaluations))
    res, site = calibrate(args.project, opts, progress=_say(args, "calibrate"))
    save_layout(site, out)
    res["out"] = str(out)
    if args.json:
        print(json.dumps(_finite(res), indent=1))
        return 0
    print(f"calibrated on {len(res['windows'])} steady window(s) of {res['from']} to {res['to']}:")
    for name, p in res["params"].items():
        flag = "" if p["constrained"] else "  (hardly constrained by the data)"
        flag += "  (at its bound)" if p.get("at_bound") else ""
        print(f"  {name:28s} {p['value']:8.3f} ± {p['sigma']:.3f}  [{p['method']}]{flag}")
    print(f"RMS on fitted sensors: {_k(res['rms_before_k'])} -> {_k(res['rms_after_k'])}; on held-back sensors: "
          f"{_k(res['holdout_rms_before_k'])} -> {_k(res['holdout_rms_after_k'])}")
    print(f"wrote {out}; layout version {res.get('new_layout_id')} in {res['file']}")
    return 0
