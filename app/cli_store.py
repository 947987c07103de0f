"""Project-file commands: export (review file, CSV), verify, recordings, replay."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Optional

from dctwin.twin.errors import InputError


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text!r}")
    return v


def _recording_id(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a recording id (a whole number): {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"recording ids start at 1, got {v}")
    if v > 2 ** 63 - 1:  # beyond any SQLite id
        raise argparse.ArgumentTypeError(f"no recording has an id that large: {text}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="write a self-contained review file (and/or CSV) from a project file",
        description="Export one recording (default: the latest) of a project file for review: a single "
                    "read-only dctwin file holding the layout, the recording (or with --at, the moment T: "
                    "the keyframe before it and everything up to T), events, alarms and series, with a "
                    "SHA-256 of every table (check it with `dctwin verify`). --csv writes the series, "
                    "events and alarms as CSV files.")
    p.add_argument("file", help="project file (*.dctwin)")
    p.add_argument("--recording", type=_recording_id, metavar="ID", help="recording id (default: the latest)")
    p.add_argument("--at", type=_seconds, metavar="T", help="export only the moment T (seconds from the start)")
    p.add_argument("--out", metavar="FILE", help="review file to write (replaced atomically)")
    p.add_argument("--csv", metavar="DIR", help="folder to write series, events and alarms as CSV")
    p.add_argument("--png", metavar="FILE", help="picture of the floor plan at T (default: the hottest moment)")
    p.add_argument("--pdf", metavar="FILE", help="review report as PDF: floor plan, timeline, alarms, trends, "
                                                 "key figures")
    p.add_argument("--html", metavar="FILE", help="the same review report as one HTML file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_export)

    for name, func, what, says, file_help, json_help in (
            ("verify", cmd_verify, "check that a review file is unaltered since export",
             "Recompute the SHA-256 of every table of a review file and compare with the manifest stored at "
             "export. Exit 0 if intact, 1 if altered (naming the tables), 2 if the file is not a dctwin file or "
             "is damaged.", "review file (*.dctwin)", "print the result as JSON"),
            ("recordings", cmd_recordings, "list the layouts and recordings in a project file",
             "List the layout versions and recordings (with their ids for --recording) of a project or review "
             "file.", "project or review file (*.dctwin)", "print the lists as JSON")):
        p = sub.add_parser(name, help=what, description=says)
        p.add_argument("file", help=file_help)
        p.add_argument("--json", action="store_true", help=json_help)
        p.set_defaults(func=func)

    p = sub.add_parser(
        "replay", help="rebuild the state of a recording at second T",
        description="Load the keyframe before T, re-simulate to T (re-injecting the recorded events) and "
                    "print the state summary (same keys as `dctwin solve --json`, plus t_s).")
    p.add_argument("file", help="project or review file (*.dctwin)")
    p.add_argument("--recording", type=_recording_id, metavar="ID", help="recording id (default: the latest)")
    p.add_argument("--at", type=_seconds, metavar="T", required=True, help="time in seconds from the start")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_replay)


def _jsonable(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # numpy is a dependency; keep the CLI printing anyway
        pass
    return str(o)


def cmd_export(args: argparse.Namespace) -> int:
    from dctwin.twin.store.export import export_csv, export_review
    from dctwin.twin.store.project import Project

    pictures = [x for x in (args.png, args.pdf, args.html) if x]
    if not args.out and not args.csv and not pictures:
        raise InputError("export: give --out FILE (review file), --csv DIR, --png FILE, --pdf FILE and/or --html FILE")
    for flag, value, ext in (("--png", args.png, ".png"), ("--pdf", args.pdf, ".pdf"),
                             ("--html", args.html, (".html", ".htm"))):
        if value and not value.lower().endswith(ext):
            raise InputError(f"{flag} must name a {ext if isinstance(ext, str) else ext[0]} file, got {value!r}")
    _check_outputs(args)
    result: dict[str, Any] = {}
    if args.out:
        result["review"] = export_review(args.file, args.out, recording_id=args.recording, at_s=args.at)
    if args.csv:
        with Project.open(args.file, read_only=True) as project:
            rec: Optional[int] = args.recording
            if rec is None and result.get("review"):
                rec = result["review"]["recording"]
            if rec is None and not project.recordings():
                raise InputError(f"{args.file}: holds no recording, so there are no series or events for --csv")
            result["csv"] = [str(p) for p in export_csv(project, args.csv, recording_id=rec, at_s=args.at)]
    if pictures:
        result.update(_export_report(args))
    if args.json:
        print(json.dumps(result, default=_jsonable))
        return 0
    if "review" in result:
        r = result["review"]
        what = "layout only" if r["recording"] is None else (
            f"recording {r['recording']}" + (f" at t = {r['at_s']:g} s" if r["at_s"] is not None else ""))
        print(f"wrote {r['file']}: {what}, {r['keyframes']} keyframe(s), {r['events']} event(s), "
              f"{r['bytes'] / 1e6:.2f} MB")
    if "csv" in result:
        print(f"wrote {len(result['csv'])} CSV files in {args.csv}")
    for key in ("png", "pdf", "html"):
        if key in result:
            print(f"wrote {result[key]}" + (f" (floor plan at t = {result['picture_t_s']:g} s)" if key == "png" else ""))
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output of `export` checked before the first is written, so a bad one leaves no partial result."""
    from pathlib import Path

    src = Path(args.file)
    for flag, value in (("--out", args.out), ("--png", args.png), ("--pdf", args.pdf), ("--html", args.html)):
        if not value:
            continue
        out = Path(value)
        if out.is_dir():
            raise InputError(f"{flag} {out}: is a folder; give a file name")
        if src.exists() and out.exists() and out.resolve() == src.resolve():
            raise InputError(f"{flag} {out}: is the file being exported; it is never overwritten")
        if not out.resolve().parent.is_dir():
            raise InputError(f"{flag} {out}: folder {out.resolve().parent} does not exist")
    if args.csv:
        folder = Path(args.csv)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--csv {folder}: is a file, not a folder")


def _export_report(args: argparse.Namespace) -> dict[str, Any]:
    """--png / --pdf / --html: twin.review reads the recording, app.report draws it (offscreen Qt)."""
    from dctwin.app import report
    from dctwin.twin.review import collect

    with_progress = sys.stderr.isatty()
    data = collect(args.file, args.recording, args.at,
                   progress=(lambda msg: print(f"export: {msg}", file=sys.stderr)) if with_progress else None)
    out: dict[str, Any] = {"picture_t_s": data.picture_t_s}
    if args.png:
        out["png"] = str(report.write_png(data, args.png))
    if args.pdf:
        out["pdf"] = str(report.write_pdf(data, args.pdf))
    if args.html:
        out["html"] = str(report.write_html(data, args.html))
    return out


def cmd_verify(args: argparse.Namespace) -> int:
    from dctwin.twin.store.export import verify_file

    res = verify_file(args.file)
    if args.json:
        print(json.dumps(res.to_dict()))
    else:
        print(res.message(), file=sys.stdout if res.intact else sys.stderr)
    return 0 if res.intact else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from dctwin.twin.errors import DctwinError, ProjectFileError
    from dctwin.twin.store.project import Project
    from dctwin.twin.store.replay import summary_at

    with Project.open(args.file, read_only=True) as project:
        reader = project.recording(args.recording)
        if not reader.covers(args.at):  # before the engine is built for nothing
            raise InputError(f"{args.file}: --at {args.at:.12g} s is outside recording {reader.id} "
                             f"(0 to {reader.duration_s:g} s)")
        try:
            summary = summary_at(reader, args.at)
        except ProjectFileError:
            raise  # names the file already
        except DctwinError as exc:  # the recording does not replay on this engine: say which
            raise InputError(f"{args.file} recording {reader.id}: {exc}") from None
    if args.json:
        print(json.dumps(summary.to_json(), default=_jsonable))
        return 0
    print(f"recording {reader.id} at t = {summary.t_s:g} s")
    for key, value in summary.to_json().items():
        if key != "t_s" and isinstance(value, (int, float, str)):
            print(f"  {key}: {value:.6g}" if isinstance(value, float) else f"  {key}: {value}")
    print(f"  racks: {len(summary.racks)}")
    return 0


def cmd_recordings(args: argparse.Namespace) -> int:
    import dataclasses

    from dctwin.twin.store.project import Project

    with Project.open(args.file, read_only=True) as project:
        layouts = project.layouts()
        recs = project.recordings()
        kind = "review export (read-only)" if project.is_review else "project"
    if args.json:
        print(json.dumps({"file": args.file, "kind": "review" if kind != "project" else "project",
                          "layouts": [dataclasses.asdict(x) for x in layouts],
                          "recordings": [dataclasses.asdict(r) for r in recs]}))
        return 0
    print(f"{args.file}: {kind}, {len(layouts)} layout version(s), {len(recs)} recording(s)")
    for x in layouts:
        print(f"  layout {x.id}: saved {x.saved_at}" + (f" ({x.note})" if x.note else ""))
    for r in recs:
        state = "finished" if r.finished else "unfinished"
        inc = f", incident {r.incident_id}" if r.incident_id is not None else ""
        print(f"  recording {r.id}: layout {r.layout_id}{inc}, {r.duration_s:g} s at dt {r.dt_s:g} s, "
              f"{r.keyframes} keyframes, {r.events} events, {state}, started {r.started_at}")
    return 0
