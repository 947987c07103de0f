"""``dctwin warmup``: compile the physics kernels for this machine ahead (after installing, in an image or
a CI job), so the first solve, simulation and window start at once. The progress goes to stderr, one line
per kernel group; the result to stdout (``--json`` for a script)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from dctwin.twin.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("warmup", help="compile the physics kernels for this machine ahead",
                       description="Compile every physics kernel into numba's cache now (the first run on a "
                                   "machine otherwise does it), group by group, side by side on the machine's "
                                   "cores. Kernels already compiled are skipped unless --force.")
    p.add_argument("--jobs", type=int, metavar="N", help="processes compiling side by side (default: the cores)")
    p.add_argument("--force", action="store_true", help="compile every group, even those already cached")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_warmup)


def cmd_warmup(args: argparse.Namespace) -> int:
    from dctwin import twin
    from dctwin.twin.physics import kernels

    if args.jobs is not None and not 1 <= args.jobs <= 64:
        raise InputError(f"--jobs must be between 1 and 64, got {args.jobs}")
    t0 = time.monotonic()
    # a cache that never held them: every group, without importing numba here to ask (that would compile
    # the kernels with explicit signatures in this process first, one after the other)
    fresh = kernels.cache_is_empty()
    groups = kernels.warm_up("all", kernels.stderr_reporter(), jobs=args.jobs, only_pending=not (args.force or fresh))
    pending = kernels.uncached_kernels("all")
    result = {"groups_compiled": groups, "seconds": round(time.monotonic() - t0, 1),
              "cache_dir": twin.NUMBA_CACHE_DIR, "uncached_kernels": pending}
    if args.json:
        print(json.dumps(result, indent=1))
    elif groups:
        print(f"physics kernels compiled for this machine: {groups} groups in {result['seconds']:.0f} s "
              f"(cache {result['cache_dir']})")
    else:
        print(f"physics kernels already compiled for this machine (cache {result['cache_dir']})")
    if pending:
        print(f"dctwin: warning: still not cached: {', '.join(pending)}", file=sys.stderr)
        return 1
    return 0
