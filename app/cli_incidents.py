"""Incident commands: list and write the built-in incident library."""

from __future__ import annotations

import argparse
import json

from dctwin.twin.model.incidents import list_incidents, load_library_incident


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="list or write the built-in incidents",
                       description="The incident library for the demo halls. `dctwin simulate --incident NAME` "
                                   "takes a library name as well as a file.")
    p.add_argument("name", nargs="?", help="incident name (see the list)")
    p.add_argument("--out", help="write the incident file here")
    p.set_defaults(func=cmd_incidents)


def cmd_incidents(args: argparse.Namespace) -> int:
    if not args.name:
        for name, text in list_incidents().items():
            print(f"{name:32s} {text}")
        return 0
    inc = load_library_incident(args.name)
    text = json.dumps(inc.to_dict(), indent=1) + "\n"
    if args.out:
        from dctwin.twin.model.layoutfile import write_json_file

        write_json_file(args.out, text, "incident")
        print(f"wrote {args.out}: {inc.name}, {len(inc.events)} events")
    else:
        print(text, end="")
    return 0
