"""Import commands: ``dctwin import netbox ...`` and ``dctwin import table ...``.

The work is :func:`dctwin.twin.io.import_site`; this module reads arguments, writes the layout (only a
complete, validated one, atomically) and the report, and prints the report's summary (or JSON).
When ``--out`` names an existing layout the import updates it (positions kept) unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from dctwin.twin.errors import InputError, LayoutError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a site from NetBox or a rack spreadsheet",
                       description="Import a real site as a layout. Every assumed value is marked in the "
                                   "layout and listed in the report.")
    kinds = p.add_subparsers(dest="import_kind", metavar="KIND")
    kinds.required = True

    nb = kinds.add_parser("netbox", help="from a NetBox dump, saved API responses, or a live NetBox",
                          description="Import a NetBox site: SOURCE is a dump (manage.py dumpdata JSON) or a "
                                      "folder of API responses (dcim/racks.json, ...); or give --url and "
                                      "--token-file for a live NetBox (read-only).")
    nb.add_argument("source", nargs="?", help="dump file or folder of API responses")
    nb.add_argument("--url", help="a live NetBox, such as https://netbox.example.com")
    nb.add_argument("--token-file", help="file holding the API token (for --url)")
    nb.add_argument("--site", help="site name or slug (needed when the source has several)")
    _common(nb)
    nb.set_defaults(func=cmd_import_netbox)

    tb = kinds.add_parser("table", help="from a rack list (.csv or .xlsx)",
                          description="Import a rack list: name, row, position or x/y (m), facing, power "
                                      "(kW, W or BTU/h from the header), feed A, feed B, airflow.")
    tb.add_argument("source", help="rack list (.csv, .xlsx)")
    tb.add_argument("--columns", help="JSON file naming the columns: {\"name\": \"Asset\", \"it_kw\": "
                                      "{\"column\": \"Load\", \"unit\": \"W\"}, ...}")
    tb.add_argument("--sheet", help="worksheet of an .xlsx file (default: the first)")
    tb.add_argument("--name", help="site name (default: the file's name)")
    _common(tb)
    tb.set_defaults(func=cmd_import_table)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="layout file to write (an existing layout is updated: "
                                                "positions kept, racks added and removed)")
    p.add_argument("--fresh", action="store_true", help="replace --out instead of updating it")
    p.add_argument("--report", help="write the import report as JSON to this file")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _base(args: argparse.Namespace):
    """The layout at --out to update, or None (no file, or --fresh)."""
    from dctwin.twin.model.layoutfile import load_layout

    if args.fresh or not os.path.exists(args.out):
        return None
    try:
        return load_layout(args.out)
    except LayoutError as exc:
        raise InputError(f"{args.out}: exists but is not a layout this import can update ({exc}); give "
                         f"--fresh to replace it, or another --out") from None


def _check_outputs(args: argparse.Namespace, *inputs: str | None) -> None:
    """--out and --report checked before anything is read or written: neither may be one of the command's
    inputs (with --fresh the source would be replaced by the layout), nor may they be one file (the report
    would replace the layout just written), and the report's place is checked as the layout's is, so a
    refused report never leaves a written layout behind."""
    from pathlib import Path

    from dctwin.twin._files import same_file
    from dctwin.twin.model.layoutfile import check_json_target

    outs = [("--out", args.out, "layout")] + ([("--report", args.report, "report")] if args.report else [])
    for flag, value, what in outs:
        out = Path(value)
        for given in inputs:
            if same_file(out, given):
                raise InputError(f"{flag} {out}: is an input of this import; it is never overwritten")
        check_json_target(out, what)
    if args.report and Path(args.report).resolve() == Path(args.out).resolve():
        raise InputError(f"--report {args.report}: is --out too; give the report a file of its own")


def cmd_import_netbox(args: argparse.Namespace) -> int:
    from dctwin.twin.io.netbox_source import read_token_file

    if args.url and args.source:
        raise InputError("give either SOURCE or --url, not both")
    if args.url and not args.token_file:
        raise InputError("--url needs --token-file FILE (the API token is never given on the command line)")
    if not args.url and not args.source:
        raise InputError("give a NetBox dump, a folder of API responses, or --url URL --token-file FILE")
    _check_outputs(args, args.source, args.token_file)
    token = read_token_file(args.token_file) if args.url else None
    return _run(args, "netbox", source=args.source, site=args.site, url=args.url, token=token)


def cmd_import_table(args: argparse.Namespace) -> int:
    from dctwin.twin.io.table import read_mapping

    _check_outputs(args, args.source, args.columns)
    columns = read_mapping(args.columns) if args.columns else None
    return _run(args, "table", source=args.source, site=args.name, columns=columns, sheet=args.sheet)


def _run(args: argparse.Namespace, kind: str, **kw) -> int:
    from dctwin.twin import io as twin_io
    from dctwin.twin.model.layoutfile import save_layout, write_json_file

    base = _base(args)
    progress = (lambda text: print(f"dctwin import: {text}", file=sys.stderr)) if not args.json else None
    site, report = twin_io.import_site(kind, base=base, progress=progress, **kw)
    save_layout(site, args.out)  # validated, written whole or not at all
    if args.report:
        write_json_file(args.report, json.dumps(report.to_dict(), indent=1) + "\n", "report")
    if args.json:
        print(json.dumps({"out": args.out, "summary": site.summary(), "updated": base is not None,
                          "report": report.to_dict()}, indent=1))
    else:
        print(report.summary())
        print(f"{'updated' if base is not None else 'wrote'} {args.out}: {site.summary()}")
    return 0
