"""``dctwin gui [FILE]``: open the window (on the built-in demo hall without FILE).

The file is read and validated before any window opens, so a bad file ends
with "dctwin: error: ..." and exit code 2. ``--screenshot OUT.png`` renders
the window offscreen (after ``--run-seconds`` simulated seconds when the
physics engine is present), saves it and exits.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from dctwin.twin.errors import InputError
from dctwin.twin.model.words import hms

if TYPE_CHECKING:
    from dctwin.app.runner import Frame

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the floor-plan window (the default command)",
                       description="Open the floor-plan editor on FILE, or on the built-in demo hall 'small'.")
    p.add_argument("file", nargs="?", help="layout JSON file (default: the demo hall 'small'), or a project or "
                                           "review file (*.dctwin) to replay its latest recording")
    p.add_argument("--at", type=float, metavar="T", help="with a *.dctwin file: show second T of the recording")
    p.add_argument("--demo", default="small", help="demo hall to open when no FILE is given (default small)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save the window to this PNG and exit (offscreen, or the display's pixels of it when "
                        "QT_QPA_PLATFORM names a display such as xcb)")
    p.add_argument("--run-seconds", type=float, default=0.0, metavar="S",
                   help="with --screenshot: simulate S seconds first (needs the physics engine)")
    p.add_argument("--size", default="1600x1000", help="with --screenshot: window size WxH (default 1600x1000)")
    p.add_argument("--bench", type=int, metavar="N", default=0,
                   help="measure the floor plan on a synthetic hall of N racks (offscreen) and print the figures")
    p.add_argument("--json", action="store_true", help="with --bench: print the figures as JSON")
    p.set_defaults(func=cmd_gui)


def _check_screenshot_args(args: argparse.Namespace) -> None:
    """--screenshot, --run-seconds and --size checked before any window is made."""
    shot = Path(args.screenshot)
    if not args.screenshot.lower().endswith(".png"):
        raise InputError(f"--screenshot must name a .png file, got {args.screenshot!r}")
    if shot.is_dir():
        raise InputError(f"--screenshot {shot}: is a folder; give a .png file name")
    if not shot.resolve().parent.is_dir():
        raise InputError(f"--screenshot {shot}: folder {shot.resolve().parent} does not exist")
    if not (math.isfinite(args.run_seconds) and 0 <= args.run_seconds <= 366 * 86400):
        raise InputError(f"--run-seconds must be a number of seconds from 0 to 366 days, got {args.run_seconds:g}")
    _window_size(args.size)


def _window_size(text: str) -> tuple[int, int]:
    """``--size WxH`` as two ints, each 200..10000 pixels."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 1600x1000, got {text!r}") from None
    if not (200 <= w <= 10000 and 200 <= h <= 10000):
        raise InputError(f"--size must be between 200x200 and 10000x10000 pixels, got {text!r}")
    return w, h


def _is_recording(args: argparse.Namespace) -> bool:
    return bool(args.file) and str(args.file).lower().endswith(".dctwin")


def _load_site(args: argparse.Namespace):
    if _is_recording(args):  # checked now (a bad file fails before any window); the replay opens it
        from dctwin.twin.store import check_file

        check_file(args.file)
        if args.at is not None and not (math.isfinite(args.at) and args.at >= 0):
            raise InputError(f"--at must be a finite number of seconds >= 0, got {args.at:g}")
        from dctwin.twin.model import demos

        return demos.load_demo(args.demo), None
    if args.at is not None:
        raise InputError("--at needs a recording (a *.dctwin project or review file)")
    if args.file:
        from dctwin.twin.model.layoutfile import load_layout

        return load_layout(args.file), str(Path(args.file))
    from dctwin.twin.model import demos

    try:
        return demos.load_demo(args.demo), None
    except KeyError:
        raise InputError(f"unknown demo {args.demo!r}; see `dctwin demo --list`") from None


def setup_logging() -> Optional[Path]:
    """Log to a rotating file in the user log folder; returns its path (None if it cannot be made)."""
    import logging.handlers  # here: every other command (solve, ...) registers this module without needing it

    try:
        import platformdirs

        folder = Path(platformdirs.user_log_dir("dctwin", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "dctwin.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
        for h in root.handlers:
            if h is not handler and isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                h.setLevel(logging.WARNING)
    return path


def install_qt_message_handler() -> None:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(mode, context, message):
        qt_log.log(levels.get(mode, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def install_excepthook(log_path: Optional[Path] = None) -> None:
    """Unhandled exceptions are logged and shown in a dialog; the window stays open."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        logging.getLogger("dctwin").error("unhandled exception\n%s", text)
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is None:
            sys.__excepthook__(exc_type, exc, tb)
            return
        box = QMessageBox(QMessageBox.Critical, "dctwin: internal error",
                          f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                          f"The details are in the log{(': ' + str(log_path)) if log_path else ''}. "
                          "Your layout is unchanged; save your work to a new file if in doubt.")
        box.setDetailedText(text)
        box.exec()

    sys.excepthook = hook


def apply_theme(app) -> None:
    """Fusion style with the system's light or dark scheme (and follow changes)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")

    def apply(scheme=None) -> None:
        scheme = app.styleHints().colorScheme() if scheme is None else scheme
        if scheme == Qt.ColorScheme.Dark:
            p = QPalette()
            for role, c in ((QPalette.Window, (45, 47, 52)), (QPalette.WindowText, (230, 230, 230)),
                            (QPalette.Base, (32, 34, 38)), (QPalette.AlternateBase, (50, 52, 58)),
                            (QPalette.Text, (230, 230, 230)), (QPalette.Button, (55, 57, 63)),
                            (QPalette.ButtonText, (230, 230, 230)), (QPalette.Highlight, (66, 133, 244)),
                            (QPalette.HighlightedText, (255, 255, 255)), (QPalette.ToolTipBase, (60, 60, 60)),
                            (QPalette.ToolTipText, (240, 240, 240)), (QPalette.Link, (110, 170, 255))):
                p.setColor(role, QColor(*c))
            p.setColor(QPalette.Disabled, QPalette.Text, QColor(130, 130, 130))
            p.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(130, 130, 130))
            p.setColor(QPalette.Disabled, QPalette.WindowText, QColor(130, 130, 130))
            app.setPalette(p)
        else:
            app.setPalette(app.style().standardPalette())

    apply()
    app.styleHints().colorSchemeChanged.connect(apply)


def _no_display() -> bool:
    """True on Linux/BSD without X11 or Wayland (Qt would abort there instead of failing politely)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_gui_bench(n_racks: int, repeats: int = 5) -> dict:
    """Floor-plan timings on a synthetic hall of ``n_racks`` (offscreen, physics off).

    open_s: window built, shown and first painted; recolour_ms / repaint_ms: median time to apply a
    state frame (every rack a new colour) and to redraw the whole hall at zoom-to-fit;
    drag_check_ms: the placement check run on each mouse move of a drag; edit_ms: one accepted move
    (model validation + view update).
    """
    import statistics
    import tempfile
    import time

    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from dctwin.app.document import Document
    from dctwin.app.runner import SimRunner
    from dctwin.app.settings import Settings
    from dctwin.app.window import MainWindow
    from dctwin.twin.model import demos
    from dctwin.twin.model.commands import MoveElements
    from dctwin.twin.sim.results import HallSummary, RackResult

    app = QApplication.instance() or QApplication(sys.argv[:1])
    site = demos.synthetic_site(n_racks)
    with tempfile.TemporaryDirectory(prefix="dctwin-bench-") as tmp:
        runner = SimRunner()
        runner.available = False
        t0 = time.perf_counter()
        w = MainWindow(Document(site), Settings(QSettings(os.path.join(tmp, "ui.ini"), QSettings.IniFormat)), runner)
        w.save_settings_on_close = False
        w.resize(1600, 1000)
        w.show()
        app.processEvents()
        w.view.zoom_to_fit()
        w.view.viewport().repaint()
        open_s = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        rec, rep = [], []
        for _ in range(repeats):
            summary = HallSummary(racks={r.id: RackResult(float(v), power_w=8e3, state="on")
                                         for r, v in zip(site.hall.racks, rng.uniform(18, 35, len(site.hall.racks)))})
            a = time.perf_counter()
            w.scene.apply_summary(summary)
            b = time.perf_counter()
            w.view.viewport().repaint()
            rep.append(time.perf_counter() - b)
            rec.append(b - a)
        r0 = site.hall.racks[len(site.hall.racks) // 2]
        import dataclasses

        a = time.perf_counter()
        for _ in range(100):
            w.scene.placement_problem([dataclasses.replace(r0, x_m=r0.x_m + 0.6)], ignore={r0.id})
        drag_ms = (time.perf_counter() - a) * 10
        a = time.perf_counter()
        w.execute(MoveElements((r0.id,), 0.0, 0.0))
        edit_ms = (time.perf_counter() - a) * 1e3
        w.doc.undo_stack.setClean()
        w.close()
    return {"racks": n_racks, "open_s": round(open_s, 3),
            "recolour_ms": round(statistics.median(rec) * 1e3, 2), "repaint_ms": round(statistics.median(rep) * 1e3, 2),
            "drag_check_ms": round(drag_ms, 3), "edit_ms": round(edit_ms, 1)}


def run_drop_bench(site, repeats: int = 5, timeout_s: float = 600.0) -> dict:
    """Edit-to-picture times in the live editor (offscreen, real engine in the runner's thread).

    A rack is dropped on a free spot through the floor plan's drop signal, then undone, ``repeats`` times.
    frame_to_screen_ms: from the worker handing a frame over to the window having drawn it (the GUI's share).
    first_ms: from the drop to the first heat map shown for the new layout (the engine's quick answer on
    the previous flow, through the runner's on_partial path); first_drawn_ms: to that map drawn on the
    plan; converged_ms: to the converged steady state shown. CPU beside them (every thread of the process,
    so that a loaded machine does not hide what the edit costs): first_cpu_ms, converged_cpu_ms; the GUI
    thread's share: gui_drop_cpu_ms (handling the drop: document, undo, plan, inspector, the solve posted)
    and gui_cpu_to_first_ms (everything the GUI thread did until the first map was drawn); the worker's:
    worker_cpu_to_first_ms (building the simulation, the quick answer, its frame). Medians (and the
    worst) over the repeats; the cold first solve is not counted; before each drop the window has drawn
    what it shows (a person does not drop within a millisecond of the last map). loadavg: the machine's
    1-minute load average before and after.
    """
    import statistics
    import tempfile
    import time

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from dctwin.app.document import Document
    from dctwin.app.settings import Settings
    from dctwin.app.window import MainWindow
    from dctwin.widgets.floor_plan import to_hall
    from dctwin.widgets.palette import PALETTE_ENTRIES

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="dctwin-bench-") as tmp:
        w = MainWindow(Document(site), Settings(QSettings(os.path.join(tmp, "ui.ini"), QSettings.IniFormat)))
        w.save_settings_on_close = False
        if not w.runner.available:
            w.close()
            raise InputError("bench --gui needs the physics engine (twin.engine) to time a drop")
        shown: list[tuple[float, int, bool, float, float]] = []
        drawn: dict[int, tuple[float, float]] = {}  # generation -> (time, GUI thread CPU) its first map was drawn
        worker_cpu: dict[int, float] = {}  # generation -> the worker's CPU on it until its first frame
        errors: list[str] = []
        loop = QEventLoop()
        load0 = _loadavg()

        def on_shown(frame: Frame) -> None:
            settling = frame.summary.settling
            shown.append((time.monotonic(), frame.generation, settling, frame.emitted_s, time.process_time()))
            worker_cpu.setdefault(frame.generation, frame.worker_cpu_s)
            if frame.generation not in drawn:
                w.view.viewport().repaint()  # what the event loop does next: the person sees it drawn
                drawn[frame.generation] = (time.monotonic(), time.thread_time())
            if not settling:
                loop.quit()

        def on_error(msg: str) -> None:
            errors.append(msg)
            loop.quit()

        w.sig_physics_shown.connect(on_shown)
        w.runner.sig_error.connect(on_error)
        w.resize(1600, 1000)
        w.show()
        app.processEvents()
        w.view.zoom_to_fit()

        def settle() -> None:
            gen = w.runner.generation
            while not errors and not any(g == gen and not s for _, g, s, *_ in shown):
                QTimer.singleShot(int(timeout_s * 1e3), loop.quit)
                t = time.perf_counter()
                loop.exec()
                if time.perf_counter() - t >= timeout_s - 0.5:
                    raise InputError(f"bench --gui: no steady state within {timeout_s:g} s")
            if errors:
                raise InputError(f"bench --gui: {errors[0]}")

        settle()  # cold first solve (JIT, flow from rest): not timed
        proto = PALETTE_ENTRIES[1][1]  # air rack 10 kW
        cells = w.scene.fit_cells(proto) or {}
        # a spot where the rack fits by space, power and cooling (else any free one)
        free = [to_hall(r.center()) for r in cells.get("ok", [])] or \
            [to_hall(r.center()) for kind in ("cooling", "power", "both") for r in cells.get(kind, [])]
        if not free:
            raise InputError("bench --gui: no free tile to drop a rack on")
        x_m, y_m = free[len(free) // 2]
        firsts, finals, quick, gui = [], [], 0, []
        first_drawn, first_cpu, final_cpu, drop_cpu, gui_first, worker_first = [], [], [], [], [], []
        while len(firsts) < repeats:
            app.processEvents()  # the window draws what it shows before the next drop
            shown.clear()
            placed = w.scene.with_feeds(proto, x_m, y_m)
            x0, y0 = w.scene.drop_position(placed, x_m, y_m)
            t0, c0, g0 = time.monotonic(), time.process_time(), time.thread_time()
            before = w.runner.generation
            w.view.sig_drop_requested.emit(placed, x0, y0, 1)
            g1 = time.thread_time()
            gen = w.runner.generation
            if gen == before:  # refused (the tint's cell and the snapped drop can disagree): try the next spot
                free.remove((x_m, y_m))
                if not free:
                    raise InputError("bench --gui: every drop was refused")
                x_m, y_m = free[len(free) // 2]
                continue
            settle()
            mine = [(t, s, e, c) for t, g, s, e, c in shown if g == gen]
            firsts.append(mine[0][0] - t0)
            finals.append([t for t, s, *_ in mine if not s][0] - t0)
            first_cpu.append(mine[0][3] - c0)
            final_cpu.append([c for _, s, _, c in mine if not s][0] - c0)
            first_drawn.append(drawn[gen][0] - t0)
            drop_cpu.append(g1 - g0)
            gui_first.append(drawn[gen][1] - g0)
            worker_first.append(worker_cpu[gen])
            gui.extend(t - e for t, _, e, _ in mine if e)
            quick += mine[0][1]
            w.act_undo.trigger()
            settle()
        w.runner.stop()
        w.doc.undo_stack.setClean()
        w.close()
    hall = site.halls[0]

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1e3, 1)

    return {"racks": len(hall.racks), "hall": hall.id, "repeats": repeats,
            "first_ms": ms(firsts), "first_max_ms": round(max(firsts) * 1e3, 1),
            "converged_ms": ms(finals),
            "converged_max_ms": round(max(finals) * 1e3, 1), "quick_answers": quick,
            "frame_to_screen_ms": ms(gui) if gui else None,
            "first_drawn_ms": ms(first_drawn), "first_cpu_ms": ms(first_cpu), "converged_cpu_ms": ms(final_cpu),
            "gui_drop_cpu_ms": ms(drop_cpu), "gui_cpu_to_first_ms": ms(gui_first),
            "worker_cpu_to_first_ms": ms(worker_first),
            "loadavg": [load0, _loadavg()]}


def _loadavg() -> Optional[float]:
    """The machine's 1-minute load average (None where the system does not tell)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def bench_gui(args: argparse.Namespace) -> int:
    """``dctwin bench --gui``: the floor plan on big halls and edit-to-picture times in a 200-rack hall."""
    import json

    from dctwin.twin.model import demos

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    repeats = max(args.repeats, 1)
    plans, drops = [], []
    for n in args.racks:
        r = run_gui_bench(n, repeats=max(repeats, 5))
        plans.append(r)
        if not args.json:
            print(f"floor plan, {r['racks']:5d} racks: open {r['open_s']:.2f} s (budget < 2 s), state frame "
                  f"{r['recolour_ms'] + r['repaint_ms']:.1f} ms = recolour {r['recolour_ms']:.1f} + redraw "
                  f"{r['repaint_ms']:.1f} ms (budget < 16 ms)", flush=True)
    for site in (demos.synthetic_site(200), demos.load_demo("ai-hall")):
        d = run_drop_bench(site, repeats=repeats)
        drops.append(d)
        if args.json:
            continue
        print(f"drop a rack, {d['hall']} ({d['racks']} racks): first heat map {d['first_ms']:.0f} ms "
              f"(worst {d['first_max_ms']:.0f}, budget < 100 ms; drawn {d['first_drawn_ms']:.0f} ms; "
              f"{d['first_cpu_ms']:.0f} ms CPU; {d['quick_answers']}/{d['repeats']} from the quick answer), "
              f"converged {d['converged_ms']:.0f} ms (worst {d['converged_max_ms']:.0f}, "
              f"{d['converged_cpu_ms']:.0f} ms CPU); GUI thread: the drop {d['gui_drop_cpu_ms']:.0f} ms CPU, "
              f"{d['gui_cpu_to_first_ms']:.0f} ms CPU until the first map was drawn, frame handed over to shown "
              f"{d['frame_to_screen_ms']:.0f} ms; worker {d['worker_cpu_to_first_ms']:.0f} ms CPU until the first map; "
              f"medians of {d['repeats']}, load {d['loadavg'][0]} -> "
              f"{d['loadavg'][1]}", flush=True)
    if args.json:
        print(json.dumps({"plan": plans, "drop": drops}, indent=1))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    if args.bench:
        if not 1 <= args.bench <= 20000:
            raise InputError(f"--bench must be between 1 and 20000 racks, got {args.bench}")
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        report = run_gui_bench(args.bench)
        if args.json:
            import json

            print(json.dumps(report))
        else:
            print(f"floor plan, {report['racks']} racks: open {report['open_s']:.2f} s (budget < 2 s), "
                  f"recolour {report['recolour_ms']:.1f} ms + redraw {report['repaint_ms']:.1f} ms "
                  f"(budget < 16 ms), drag check {report['drag_check_ms']:.2f} ms per mouse move, "
                  f"accepted edit {report['edit_ms']:.0f} ms")
        return 0
    site, path = _load_site(args)  # a bad file fails here, before any window
    if not args.screenshot and _no_display():
        raise InputError("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). "
                         "Render a picture instead: dctwin gui [FILE] --screenshot out.png, "
                         "or set QT_QPA_PLATFORM=offscreen")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _check_screenshot_args(args)
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from dctwin.app.document import Document
    from dctwin.app.window import MainWindow
    from dctwin.app.workers import collect_garbage_in_gui_thread

    QCoreApplication.setOrganizationName("dctwin")
    QCoreApplication.setApplicationName("dctwin")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    collect_garbage_in_gui_thread()  # before the window starts its workers (app/workers.py says why)
    log_path = setup_logging()
    install_qt_message_handler()
    apply_theme(app)
    doc = Document(site, path)
    if args.screenshot:  # the picture must not depend on (or change) the user's window layout
        import tempfile

        from PySide6.QtCore import QSettings

        from dctwin.app.settings import Settings

        tmp = tempfile.TemporaryDirectory(prefix="dctwin-shot-")
        window = MainWindow(doc, Settings(QSettings(os.path.join(tmp.name, "ui.ini"), QSettings.IniFormat)))
        window.save_settings_on_close = False
        try:
            if _is_recording(args):
                return _replay_screenshot(app, window, args)
            return _screenshot(app, window, args)
        finally:
            tmp.cleanup()
    window = MainWindow(doc, autosave=True)
    install_excepthook(log_path)
    window.show()
    if _is_recording(args):
        window.open_recording(args.file)
        if args.at is not None:
            window.sig_replay_shown.connect(_seek_once(window, args.at))
    window.offer_recovery()
    return app.exec()


def _seek_once(window, t_s: float):
    """A slot that, on the first replayed state, moves the replay to ``t_s`` (then disconnects itself)."""
    def slot(_frame) -> None:
        window.sig_replay_shown.disconnect(slot)
        window.timeline.seek(t_s)
    return slot


def _replay_screenshot(app, window, args: argparse.Namespace) -> int:
    """Open the recording, show second ``--at`` (default: its start) and save the window as a PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    w, h = _window_size(args.size)
    window.resize(w, h)
    window.show()
    app.processEvents()
    loop = QEventLoop()
    state: dict = {"error": None, "t": None}

    def on_shown(frame: Frame) -> None:
        d = window.replay_data
        if args.at is not None and d is not None and not d.first_keyframe_s <= args.at <= d.duration_s + 1e-9:
            on_error(f"--at {args.at:g} s is outside recording {d.recording_id} "
                     f"({d.first_keyframe_s:g} to {d.duration_s:g} s can be replayed)")
            return
        if state["t"] is None and args.at is not None and abs(frame.t_s - args.at) > 1e-9:
            state["t"] = "seeking"
            window.timeline.seek(args.at)
            return
        loop.quit()

    def on_error(message: str) -> None:
        state["error"] = message
        loop.quit()

    window.sig_replay_shown.connect(on_shown)
    window.replay_presenter.ensure_controller().sig_error.connect(on_error)
    window.open_recording(args.file)
    QTimer.singleShot(600_000, loop.quit)
    loop.exec()
    window.replay.stop()
    if state["error"]:
        window.close()
        raise InputError(state["error"])
    app.processEvents()
    try:
        _save_png(window, args.screenshot)
    finally:
        window.close()
    print(f"wrote {args.screenshot} (t = {hms(window.timeline.position_s)})")
    return 0


#: Qt platforms without a display server: the window is rendered by itself there
OFFSCREEN_PLATFORMS = ("offscreen", "minimal", "vnc")


def window_pixels(window):
    """The window's picture: on a real display (xcb, wayland, ...) the pixels the display server shows
    for it, frame contents as mapped; offscreen, the widget rendered by itself."""
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    if QGuiApplication.platformName() in OFFSCREEN_PLATFORMS or window.screen() is None:
        return window.grab()
    window.raise_()
    window.repaint()
    QApplication.processEvents()
    shot = window.screen().grabWindow(window.winId())
    return shot if not shot.isNull() else window.grab()


def _save_png(window, path: str) -> None:
    """The window as a PNG at ``path``, written atomically (an existing file stays when it fails)."""
    from dctwin.twin._files import write_atomically

    pixmap = window_pixels(window)

    def write(tmp: str) -> None:
        if not pixmap.save(tmp, "PNG"):
            raise InputError(f"cannot write {path}")

    try:
        write_atomically(path, write)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _screenshot(app, window, args: argparse.Namespace) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    w, h = _window_size(args.size)
    window.resize(w, h)
    window.show()
    app.processEvents()
    window.view.zoom_to_fit()
    runner = window.runner
    if runner.available:
        loop = QEventLoop()
        done = {"t": 0.0}

        def on_frame(frame: Frame) -> None:
            done["t"] = frame.t_s
            if args.run_seconds <= 0 or done["t"] >= args.run_seconds:
                loop.quit()
            elif not runner.running:
                runner.set_speed(float("inf"))
                runner.stop_at_s = args.run_seconds  # the picture shows exactly that second
                runner.set_running(True)

        window.sig_physics_shown.connect(on_frame)
        runner.sig_error.connect(lambda _msg: loop.quit())
        QTimer.singleShot(600_000, loop.quit)
        loop.exec()
        runner.set_running(False)
    elif args.run_seconds > 0:
        print("dctwin: warning: physics unavailable; the screenshot shows the layout only", file=sys.stderr)
    app.processEvents()
    try:
        _save_png(window, args.screenshot)
    finally:
        window.runner.stop()
        window.doc.undo_stack.setClean()
        window.close()
    print(f"wrote {args.screenshot}")
    return 0
