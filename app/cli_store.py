"""Project-file commands: export (review file, CSV), verify, recordings, replay, compact."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Optional

from dctwin.twin.errors import InputError
from dctwin.twin.model.words import hms


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
                    "the keyframe before it and everything up to T; or with --from/--to or "
                    "--around-incident, what replaying that window needs), events, alarms and series, with a "
                    "SHA-256 of every table (check it with `dctwin verify`). --csv writes the series, "
                    "events and alarms as CSV files.")
    p.add_argument("file", help="project file (*.dctwin)")
    p.add_argument("--recording", type=_recording_id, metavar="ID", help="recording id (default: the latest)")
    p.add_argument("--at", type=_seconds, metavar="T", help="export only the moment T (seconds from the start)")
    p.add_argument("--from", dest="from_s", type=_seconds, metavar="T0",
                   help="export the window from T0 (s; default: the start): the keyframe before T0, those "
                        "inside the window, events and alarms up to T1, the series of the window")
    p.add_argument("--to", dest="to_s", type=_seconds, metavar="T1", help="end of the window (s; default: the end)")
    p.add_argument("--around-incident", action="store_true",
                   help="export the window from the first injected event to the last alarm cleared, with "
                        "margins (--before, --after)")
    p.add_argument("--before", type=_seconds, metavar="S", default=None,
                   help="margin before the first injected event for --around-incident (default 60 s)")
    p.add_argument("--after", type=_seconds, metavar="S", default=None,
                   help="margin after the last alarm cleared for --around-incident (default 60 s)")
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

    p = sub.add_parser(
        "compact", help="rewrite a project file in the compact format (into a new file)",
        description="Rewrite a project file (or review export) in the current, compact format: keyframes and "
                    "series compressed, every row with a checksum. FILE is only read; --out must not exist. "
                    "Files of the older format open read-only as they are; compacting lets them be "
                    "recorded into again.")
    p.add_argument("file", help="project or review file (*.dctwin)")
    p.add_argument("--out", metavar="NEW", required=True, help="the new file to write (never FILE itself)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_compact)


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
    pictures = [x for x in (args.png, args.pdf, args.html) if x]
    if not args.out and not args.csv and not pictures:
        raise InputError("export: give --out FILE (review file), --csv DIR, --png FILE, --pdf FILE and/or --html FILE")
    for flag, value, ext in (("--png", args.png, ".png"), ("--pdf", args.pdf, ".pdf"),
                             ("--html", args.html, (".html", ".htm"))):
        if value and not value.lower().endswith(ext):
            raise InputError(f"{flag} must name a {ext if isinstance(ext, str) else ext[0]} file, got {value!r}")
    _check_outputs(args)
    window = args.from_s is not None or args.to_s is not None or args.around_incident
    if (args.before is not None or args.after is not None) and not args.around_incident:
        raise InputError("export: --before and --after go with --around-incident")
    if window and not args.out:
        raise InputError("export: --from, --to and --around-incident choose what a review file (--out) holds")
    if window and args.at is not None:
        raise InputError("export: --at is one moment; it does not go with --from, --to or --around-incident")
    if args.around_incident and (args.from_s is not None or args.to_s is not None):
        raise InputError("export: --around-incident chooses the window itself; leave out --from and --to")
    before = _outputs_present(args)
    try:
        result = _export_all(args, pictures)
    except BaseException:  # a later output failed (a damaged layout for --html): the earlier ones go too
        _remove_new_outputs(args, before)
        raise
    if args.json:
        print(json.dumps(result, default=_jsonable))
        return 0
    if "review" in result:
        r = result["review"]
        what = "layout only" if r["recording"] is None else (
            f"recording {r['recording']}" + (f" at t = {hms(r['at_s'])}" if r["at_s"] is not None else "")
            + (f", t = {hms(r['from_s'])} to {hms(r['to_s'])}" if r.get("from_s") is not None else ""))
        print(f"wrote {r['file']}: {what}, {r['keyframes']} keyframe(s), {r['events']} event(s), "
              f"{r['bytes'] / 1e6:.2f} MB")
    if "csv" in result:
        print(f"wrote {len(result['csv'])} CSV files in {args.csv}")
    for key in ("png", "pdf", "html"):
        if key in result:
            at = f" (floor plan at t = {hms(result['picture_t_s'])})" if key == "png" else ""
            print(f"wrote {result[key]}{at}")
    return 0


def _outputs_present(args: argparse.Namespace) -> set[str]:
    """The export's outputs (and the files in --csv) that exist before it writes."""
    from pathlib import Path

    files = [x for x in (args.out, args.png, args.pdf, args.html) if x]
    if args.csv and Path(args.csv).is_dir():
        files += [str(p) for p in Path(args.csv).iterdir()]
    return {str(Path(f)) for f in files if Path(f).exists()} | ({str(Path(args.csv))} if args.csv and
                                                                 Path(args.csv).exists() else set())


def _remove_new_outputs(args: argparse.Namespace, before: set[str]) -> None:
    """Remove what a failed export wrote that was not there before (never a file that was)."""
    import shutil
    from pathlib import Path

    from dctwin.twin._files import remove_quietly

    for f in (args.out, args.png, args.pdf, args.html):
        if f and str(Path(f)) not in before and Path(f).is_file():
            remove_quietly(f)
    if args.csv:
        folder = Path(args.csv)
        if str(folder) not in before and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        elif folder.is_dir():
            for p in folder.iterdir():
                if str(p) not in before and p.is_file():
                    remove_quietly(p)


def _export_all(args: argparse.Namespace, pictures: list) -> dict[str, Any]:
    """Write the outputs asked for, in turn: review file, CSV, report pictures."""
    from dctwin.twin.store.export import export_csv, export_review
    from dctwin.twin.store.project import Project

    result: dict[str, Any] = {}
    if args.out:
        from dctwin.twin.store.export import AROUND_AFTER_S, AROUND_BEFORE_S

        result["review"] = export_review(
            args.file, args.out, recording_id=args.recording, at_s=args.at, from_s=args.from_s, to_s=args.to_s,
            around_incident=args.around_incident, before_s=AROUND_BEFORE_S if args.before is None else args.before,
            after_s=AROUND_AFTER_S if args.after is None else args.after)
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
    return result


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
    for key, value, write in (("png", args.png, report.write_png), ("pdf", args.pdf, report.write_pdf),
                              ("html", args.html, report.write_html)):
        if not value:
            continue
        try:
            out[key] = str(write(data, value))
        except OSError as exc:  # a full disk, a folder gone meanwhile: the target keeps what it had
            from dctwin.twin.store.project import disk_full

            why = "the disk is full" if disk_full(exc) else (exc.strerror or str(exc))
            raise InputError(f"--{key} {value}: could not be written: {why} (nothing was changed there)"
                             ) from None
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
    print(f"recording {reader.id} at t = {hms(summary.t_s)}")
    for key, value in summary.to_json().items():
        if key != "t_s" and isinstance(value, (int, float, str)):
            print(f"  {key}: {value:.6g}" if isinstance(value, float) else f"  {key}: {value}")
    print(f"  racks: {len(summary.racks)}")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dctwin.twin.store.compact import compact

    src, out = Path(args.file), Path(args.out)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise InputError(f"--out {out}: is the file being compacted; compact never writes in place")
    res = compact(src, out)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"wrote {res['file']}: format {res['format']} (from format {res['from_format']}), "
          f"{res['bytes_before'] / 1e6:.2f} MB -> {res['bytes'] / 1e6:.2f} MB")
    return 0


def cmd_recordings(args: argparse.Namespace) -> int:
    import dataclasses

    from dctwin.twin.store.project import Project

    with Project.open(args.file, read_only=True) as project:
        layouts = project.layouts()
        recs = project.recordings()
        kind = "review export (read-only)" if project.is_review else "project"
        meta = project.meta()
        fmt = project.version
    window = None
    if meta.get("from_s") and meta.get("to_s"):
        try:
            window = {"from_s": float(meta["from_s"]), "to_s": float(meta["to_s"])}
        except ValueError:
            window = None
    if args.json:
        out = {"file": args.file, "kind": "review" if kind != "project" else "project",
               "layouts": [dataclasses.asdict(x) for x in layouts],
               "recordings": [dataclasses.asdict(r) for r in recs], "format": fmt}
        if window:
            out["window"] = window
        print(json.dumps(out))
        return 0
    print(f"{args.file}: {kind}, {len(layouts)} layout version(s), {len(recs)} recording(s)"
          + (f", window t = {window['from_s']:g} to {window['to_s']:g} s" if window else "")
          + (f", format {fmt} (dctwin compact converts it)" if fmt < 2 else ""))
    for x in layouts:
        print(f"  layout {x.id}: saved {x.saved_at}" + (f" ({x.note})" if x.note else ""))
    for r in recs:
        state = "finished" if r.finished else "unfinished"
        inc = f", incident {r.incident_id}" if r.incident_id is not None else ""
        print(f"  recording {r.id}: layout {r.layout_id}{inc}, {r.duration_s:g} s at dt {r.dt_s:g} s, "
              f"{r.keyframes} keyframes, {r.events} events, {state}, started {r.started_at}")
    return 0
