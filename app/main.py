"""dctwin entry point: the command line, and the window when no command is given.

Commands live in ``app/cli_*.py`` modules; each has ``register(subparsers)``
that adds its parsers with ``set_defaults(func=...)``. A command function
takes the parsed arguments and returns the exit code.

Bad input (a malformed file, an invalid layout, a missing file) prints a
clear message on stderr and exits 2; a traceback is shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING, Optional, Sequence

from dctwin import twin
from dctwin.twin.errors import DctwinError

if TYPE_CHECKING:
    from dctwin.twin.model.layout import Site

#: modules that add sub-commands, in the order they appear in --help
COMMAND_MODULES = (
    "dctwin.app.cli_layout",
    "dctwin.app.cli_import",
    "dctwin.app.cli_telemetry",
    "dctwin.app.cli_physics",
    "dctwin.app.cli_place",
    "dctwin.app.cli_sweep",
    "dctwin.app.cli_store",
    "dctwin.app.cli_incidents",
    "dctwin.app.cli_warmup",
    "dctwin.app.cli_gui",
)

#: commands that run the physics, and what of it (:data:`dctwin.twin.physics.kernels.NEEDS`): on the first
#: run on a machine they compile those kernels first, with a progress line per group on stderr; later runs
#: only load them. The other commands (validate, demo, export, verify, ...) never import numba.
KERNEL_NEEDS = {"solve": "solve", "simulate": "simulate", "replay": "simulate", "bench": "all",
                "place": "simulate", "sweep": "simulate", "shadow": "simulate", "calibrate": "simulate"}

EXIT_OK, EXIT_FAIL = 0, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dctwin",
        description="A digital twin of a data center: plan layouts, replay incidents, export reviews. "
                    "Without a command, opens the window on the built-in demo hall.",
    )
    parser.add_argument("--version", action="version", version=f"dctwin {twin.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command ``argv`` (None: this process's arguments: the process is the command) and return its
    exit code."""
    code = _main(list(sys.argv[1:] if argv is None else argv))
    if argv is None:
        _skip_last_collections()
    return code


def _skip_last_collections() -> None:
    """The process ends with the command: spare the garbage collections the interpreter runs over every object
    still alive as it shuts down (after a physics command, numba's: 0.15-0.2 s CPU, a tenth of a later solve)
    by freezing them out of the collector. Python never promised their ``__del__`` at exit; the commands close
    their files and databases themselves; atexit handlers and the flush of stdout/stderr still run. Not after
    the window (Qt's teardown is left as it is), nor without numba (little to spare)."""
    if "numba" in sys.modules and "PySide6" not in sys.modules:
        import gc

        gc.freeze()


def _main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        if importlib.util.find_spec("dctwin.app.cli_gui") is None:
            parser.print_help()
            return EXIT_OK
        args = parser.parse_args(argv + ["gui"])  # only top-level options were given
    try:
        if args.command == "gui":
            _splash_first_run(args)
        elif args.command in KERNEL_NEEDS:
            args.layout_site = _compile_first_run(KERNEL_NEEDS[args.command], getattr(args, "layout", None),
                                                  getattr(args, "air_model", "fast"))
        code = args.func(args)
    except DctwinError as exc:  # LayoutError, InputError, ProjectFileError, ...: bad input, not a bug
        if args.debug:
            traceback.print_exc()
        _say(f"dctwin: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print("dctwin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except OSError as exc:  # the system refused a path the user named (too long, a loop, no permission)
        if args.debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        _say(f"dctwin: error: {where}{exc.strerror or exc}")
        return DctwinError.exit_code
    except Exception as exc:  # an internal fault: say so plainly, details only on request
        if args.debug:
            traceback.print_exc()
        _say(f"dctwin: internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
        return EXIT_FAIL
    return EXIT_OK if code is None else int(code)


def _compile_first_run(need: str, layout: Optional[str] = None, air_model: str = "fast") -> Optional[Site]:
    """The first run on this machine: compile the kernels ``need`` needs now, saying so on stderr from the
    first second (stdout, maybe JSON, stays clean), in processes side by side on the machine's cores. Later
    runs find them cached (told by a file, without asking numba), print nothing and set up only what loads
    the cached code (:func:`kernels.load_numba` with ``cached``). Either way numba is then imported without
    the packages it would load for nothing. With the ``layout`` file the command runs, only the kernels its
    equipment (:func:`kernels.layout_has`) and its ``air_model`` need. Returns the layout when it was read
    for that (the command then does not read it again), else None."""
    from dctwin.twin.physics import kernels

    if kernels.known_compiled(need):
        kernels.load_numba(cached=True)
        return None
    site = _read_layout(layout)
    has = None if site is None else kernels.layout_has(site)
    if has is not None and air_model == "validated":  # the TVD correction of the steady temperature
        has = has | {"validated"}
    if kernels.known_compiled(need, has=has):
        kernels.load_numba(cached=True)
        return site
    if kernels.cache_is_empty():  # a machine that never compiled them: say so, and compile every group at
        print(kernels.first_line(), file=sys.stderr, flush=True)  # once (no numba here while they do)
        kernels.warm_up(need, kernels.stderr_reporter(said_first=True), only_pending=False, preload=True, has=has)
        kernels.load_numba()
        return site
    try:
        pending = kernels.compile_pending(need, has)
    except Exception as exc:  # numba's cache unreadable: the command compiles what it needs as it goes
        logging.getLogger(__name__).info("cannot tell whether the kernels are compiled: %s", exc)
        return site
    if pending:
        kernels.warm_up(need, kernels.stderr_reporter(), preload=True, has=has)
    return site


def _read_layout(layout: Optional[str]) -> Optional[Site]:
    """The layout file a command runs, read to tell the kernels its equipment needs (:func:`kernels.layout_has`);
    None when there is none or it cannot be read (then every kernel of the need compiles; the command reads
    it again and says what is wrong with it)."""
    if layout is None:
        return None
    try:
        from dctwin.twin.model.layoutfile import load_layout

        return load_layout(layout)
    except Exception as exc:  # noqa: BLE001 (any fault reading it: the command reports it properly)
        logging.getLogger(__name__).debug("layout %s not read for the kernels it needs: %s", layout, exc)
        return None


def _splash_first_run(args: argparse.Namespace) -> None:
    """The window's first run on this machine: a splash with the compile progress before the window."""
    if getattr(args, "bench", 0) or getattr(args, "screenshot", None):
        return  # measurements and pictures: the window's status bar says it if they compile
    from dctwin.app import cli_gui, splash

    if cli_gui._no_display():
        return  # the command says there is no display

    splash.warm_up_with_splash()


def _say(message: str) -> None:
    """Print an error on stderr whatever it holds: characters the terminal cannot show are escaped, and
    control characters from a file (an id, a path) are shown escaped instead of acting on the terminal."""
    clean = "".join(ch if ch in "\n\t" or ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    enc = getattr(sys.stderr, "encoding", None) or "utf-8"
    try:
        print(clean.encode(enc, "backslashreplace").decode(enc, "replace"), file=sys.stderr)
    except (OSError, ValueError):  # stderr closed or gone: nothing more to do
        pass


if __name__ == "__main__":
    sys.exit(main())
