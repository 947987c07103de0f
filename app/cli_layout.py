"""Layout commands: validate, demo, new."""

from __future__ import annotations

import argparse
import json
import sys

from dctwin.twin.errors import InputError, LayoutError
from dctwin.twin.model.layoutfile import load_layout, save_layout


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a layout file and list every problem",
                       description="Check a layout file. Exit 0 with a one-line summary, or 2 with every error.")
    p.add_argument("file", help="layout JSON file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("demo", help="list or write the built-in demo halls")
    p.add_argument("name", nargs="?", help="demo name (see --list)")
    p.add_argument("--list", action="store_true", help="list the demo halls")
    p.add_argument("--out", help="write the demo layout to this file")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("new", help="write a synthetic hall of N racks in rows")
    p.add_argument("--racks", type=int, required=True, help="number of racks (1..20000)")
    p.add_argument("--rack-kw", type=float, default=8.0, help="IT power per rack (kW, 0..60, default 8)")
    p.add_argument("--racks-per-row", type=int, default=None, help="racks in a row (default 20)")
    p.add_argument("--out", required=True, help="layout file to write")
    p.set_defaults(func=cmd_new)


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        site = load_layout(args.file)
    except LayoutError as exc:
        if args.json:
            print(json.dumps({"valid": False, "file": args.file,
                              "errors": [{"element": i.element, "field": i.field, "message": i.message}
                                         for i in exc.issues]}, indent=1))
            return 2
        raise
    from dctwin.twin.model.heat import layout_warnings

    warnings = layout_warnings(site)
    if args.json:
        print(json.dumps({"valid": True, "file": args.file, "summary": site.summary(),
                          "warnings": [{"element": i.element, "field": i.field, "message": i.message}
                                       for i in warnings]}))
    else:
        print(f"{args.file}: valid: {site.summary()}")
        for i in warnings:
            print(f"warning: {i.element}: {i.message}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dctwin.twin.model import demos

    if args.list or not args.name:
        for name, text in demos.list_demos().items():
            print(f"{name:10s} {text}")
        return 0
    site = demos.load_demo(args.name)  # fails before anything is written
    if args.out:
        save_layout(site, args.out, compact=True)
        print(f"wrote {args.out}: {site.summary()}")
    else:
        from dctwin.twin.model.layoutfile import dumps_layout
        sys.stdout.write(dumps_layout(site, compact=True))
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from dctwin.twin.model import demos

    from dctwin.twin.model.validate import validate

    if not 1 <= args.racks <= 20000:
        raise InputError(f"--racks must be between 1 and 20000, got {args.racks}")
    if not 0 < args.rack_kw <= 60:
        raise InputError(f"--rack-kw must be above 0 and at most 60 (an air-cooled hall), got {args.rack_kw:g}")
    if args.racks_per_row is not None and not 1 <= args.racks_per_row <= 200:
        raise InputError(f"--racks-per-row must be between 1 and 200, got {args.racks_per_row}")
    site = demos.synthetic_site(args.racks, rack_kw=args.rack_kw, racks_per_row=args.racks_per_row or 20)
    issues = validate(site)  # never write a layout that would not load
    if issues:
        raise LayoutError(issues, "generated hall")
    save_layout(site, args.out)
    print(f"wrote {args.out}: {site.summary()}")
    return 0
