"""Work off the GUI thread: one worker for the simulation runner, the replay, exports, imports and recordings.

A :class:`Worker` owns one Python thread that serves *tasks*. The GUI posts a request under a
*kind* (:meth:`Worker.post`); a newer request of a kind replaces one of that kind not yet started
and cancels the :class:`CancelToken` of one being served, so the latest request wins: a superseded
solve stops the next time it polls its token and shows nothing. The worker lives in the GUI thread
and its thread emits, so Qt queues what the work says into the GUI thread: ``sig_progress`` (what
:attr:`Task.report` was given), ``sig_done`` (the task's result), ``sig_error`` (a message for the
person), ``sig_cancelled`` (a message: what is left) and ``sig_busy``. Between requests a long-lived
worker may do *idle* work (the runner's transient), which any request interrupts.

A :class:`Job` is the one-shot case: one function, run once (exports, imports, Run and Record);
:func:`progress_dialog` puts it behind a progress dialog.

The engine's numba kernels and SQLite release the GIL, so the GUI stays responsive while a worker works.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a threshold is passed; on a
worker thread it would destroy Qt objects (a closed window's widgets, a dialog) that belong to the GUI thread, and
Qt then crashes the process (a segmentation fault, seen once in CI under an export). So before any thread of the
GUI starts, :func:`collect_garbage_in_gui_thread` switches the automatic collector off and runs the same
generational collections from a timer in the GUI thread.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from dctwin.twin.errors import DctwinError

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The work saw its token cancelled (:meth:`CancelToken.check`); the message says what is left."""


class CancelToken:
    """Set by the GUI (Cancel, a newer request, the window closing); polled by the work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        """True once cancelled: the token serves where a ``cancel()`` predicate is asked for."""
        return self._event.is_set()

    def check(self, message: str = "cancelled") -> None:
        """Raise :class:`Cancelled` with ``message`` if the token is cancelled."""
        if self._event.is_set():
            raise Cancelled(message)


@dataclass
class Task:
    """One request being served: its ``kind`` and ``value``, the ``token`` to poll, ``report`` for progress."""

    kind: str
    value: Any
    token: CancelToken
    report: Callable[[Any], None]


def error_text(exc: BaseException, failure: str = "") -> str:
    """What a person is told of a failure: a :class:`DctwinError` says it all; anything else is named
    (after ``failure``, e.g. "replay failed") and logged."""
    if isinstance(exc, DctwinError):
        return str(exc)
    log.warning("%s: %s: %s", failure or "background work failed", type(exc).__name__, exc)
    log.debug("failure details", exc_info=exc)
    text = f"{type(exc).__name__}: {exc}"
    return f"{failure}: {text}" if failure else text


class _GuiThreadCollector(QObject):
    """Python's generational collections, run by a timer in the GUI thread (the automatic collector is off)."""

    #: how often the allocation counts are looked at (ms): a collection is due when they pass the thresholds
    INTERVAL_MS = 250

    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(self.INTERVAL_MS)
        gc.disable()
        self.destroyed.connect(_collector_gone)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as the automatic collector would."""
        if gc.isenabled():  # someone switched it back on: nothing to do, it collects wherever it is
            return
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 > t0:
            gc.collect(2 if (c1 > t1 and c2 > t2) else 1 if c1 > t1 else 0)


_collector: Optional[_GuiThreadCollector] = None


def _collector_gone(*_) -> None:
    global _collector
    _collector = None
    gc.enable()


def collect_garbage_in_gui_thread() -> None:
    """Make sure Python's cyclic collections run only in the GUI thread while the application lives (see the
    module docstring). Called by every GUI entry point that starts a thread; does nothing outside the GUI
    thread, without an application, or a second time."""
    global _collector
    app = QCoreApplication.instance()
    if _collector is not None or app is None or threading.current_thread() is not threading.main_thread():
        return
    _collector = _GuiThreadCollector(app)


class _Reaper(QObject):
    """Lets a :class:`Worker` go in the GUI thread once its thread has ended (see :meth:`Worker.start`)."""

    #: a worker's thread is ending: (the worker, the thread)
    sig_ended = Signal(object, object)

    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        #: every worker whose thread runs, kept alive by the GUI thread until that thread has ended
        self.running: dict[threading.Thread, "Worker"] = {}
        self.sig_ended.connect(self._on_ended)
        self.destroyed.connect(_reaper_gone)

    def _on_ended(self, _worker: "Worker", thread: threading.Thread) -> None:
        thread.join()  # its last statement was the emit: it lets go of the worker now
        self.running.pop(thread, None)


_reaper: Optional[_Reaper] = None


def _reaper_gone(*_) -> None:
    global _reaper
    _reaper = None


def _gui_reaper() -> Optional[_Reaper]:
    """The reaper (made in the GUI thread with the application; None without one)."""
    global _reaper
    app = QCoreApplication.instance()
    if _reaper is None and app is not None and threading.current_thread() is threading.main_thread():
        _reaper = _Reaper(app)
    return _reaper


def start_thread(target: Callable[[], None], name: str) -> threading.Thread:
    """A daemon thread running ``target``, started from the GUI thread with the collector moved there first."""
    collect_garbage_in_gui_thread()
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class Worker(QObject):
    """One thread serving the requests posted to it (see the module docstring).

    ``serve(task)`` does one request and returns its result. ``kinds`` are the request kinds, served
    in this order when several wait; ``supersedes`` maps a kind to the kinds a request of it also
    replaces (opening a recording drops a pending seek). ``idle(token)`` is called when no request
    waits: it returns True to be called again at once, False to sleep until a request or
    :meth:`wake`; its token is cancelled by any request. ``setup``/``teardown`` run first/last on
    the thread (a failing setup ends it). A failure goes to ``on_error(exc)`` if given, else to
    ``sig_error`` as :func:`error_text` with ``failure``. Nothing is emitted once the worker is gone.
    """

    #: a task started (True) or ended (False)
    sig_busy = Signal(bool)
    #: what the work reported on the way (:attr:`Task.report`)
    sig_progress = Signal(object)
    #: a task returned (its result)
    sig_done = Signal(object)
    #: a task failed (a message for the person)
    sig_error = Signal(str)
    #: a task was cancelled (a message: what is left)
    sig_cancelled = Signal(str)

    #: the longest an idle worker sleeps before looking again (s)
    POLL_S = 0.5

    def __init__(self, serve: Callable[[Task], Any], *, name: str, kinds: tuple[str, ...] = ("run",),
                 supersedes: Optional[Mapping[str, tuple[str, ...]]] = None,
                 idle: Optional[Callable[[CancelToken], bool]] = None, setup: Optional[Callable[[], None]] = None,
                 teardown: Optional[Callable[[], None]] = None,
                 on_error: Optional[Callable[[Exception], None]] = None, failure: str = "",
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.name = name
        self._serve, self._idle, self._setup, self._teardown = serve, idle, setup, teardown
        self._on_error, self._failure = on_error, failure
        self._kinds = tuple(kinds)
        self._supersedes = {k: (k,) + tuple((supersedes or {}).get(k, ())) for k in self._kinds}
        self._cv = threading.Condition()
        self._pending: dict[str, Task] = {}
        self._current: Optional[Task] = None
        self._idle_token = CancelToken()
        self._woken = False
        self._stopping = False
        self._finishing = False  # end once nothing waits (a one-shot job)
        self._thread: Optional[threading.Thread] = None
        self._reaper: Optional[_Reaper] = None

    # ---- the GUI thread
    def start(self) -> None:
        """Start the thread (again, if it ended); a stopped worker stays stopped."""
        with self._cv:
            if self._stopping or (self._thread is not None and self._thread.is_alive()):
                return
            # the GUI thread holds the worker while its thread runs and lets it go only after that thread has
            # ended: else the thread could drop the last reference to a worker without a parent, and Qt would
            # delete it on the worker's thread (a QObject of the GUI thread, with signals queued from it)
            self._reaper = _gui_reaper()
            self._thread = start_thread(self._loop, self.name)
            if self._reaper is not None:
                self._reaper.running[self._thread] = self

    def post(self, kind: str, value: Any = None) -> Task:
        """Ask for ``kind`` with ``value``; what it supersedes is dropped (not started) or cancelled (running)."""
        if kind not in self._kinds:
            raise ValueError(f"worker {self.name}: unknown request kind {kind!r} (one of {', '.join(self._kinds)})")
        task = Task(kind, value, CancelToken(), lambda progress: self._emit("sig_progress", progress))
        with self._cv:
            for k in self._supersedes[kind]:
                self._pending.pop(k, None)
            if self._current is not None and self._current.kind in self._supersedes[kind]:
                self._current.token.cancel()
            self._pending[kind] = task
            self._idle_token.cancel()
            self._cv.notify_all()
        return task

    def wake(self) -> None:
        """End the idle work's sleep (its settings changed)."""
        with self._cv:
            self._woken = True
            self._cv.notify_all()

    def cancel(self) -> None:
        """Cancel the task being served and drop those waiting."""
        with self._cv:
            self._pending.clear()
            if self._current is not None:
                self._current.token.cancel()
            self._idle_token.cancel()
            self._cv.notify_all()

    def finish(self) -> None:
        """Let the thread end once nothing waits."""
        with self._cv:
            self._finishing = True
            self._cv.notify_all()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel everything and end the thread (waits up to ``timeout_s`` for it)."""
        self.halt()
        self.wait(timeout_s)

    def halt(self) -> None:
        """Cancel everything and let the thread end, without waiting for it (:meth:`stop` waits)."""
        with self._cv:
            self._stopping = True
        self.cancel()

    @property
    def alive(self) -> bool:
        """Whether the worker's thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def wait(self, timeout_s: Optional[float] = None) -> None:
        """Wait for the thread to end (at most ``timeout_s``)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    # ---- the worker's thread
    def sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``; a request, :meth:`wake` or :meth:`stop` ends the wait early."""
        with self._cv:
            if not (self._stopping or self._pending or self._woken):
                self._cv.wait(seconds)
            self._woken = False

    def _loop(self) -> None:
        try:
            if self._setup is not None and not self._call(self._setup)[0]:
                return
            while True:
                with self._cv:
                    task = self._take()
                    if task is None and (self._stopping or self._finishing):
                        return
                    idle_token = self._idle_token
                if task is not None:
                    self._run(task)
                elif self._idle is None or not self._call(self._idle, idle_token)[1]:
                    self.sleep(self.POLL_S)
        finally:
            if self._teardown is not None:
                self._call(self._teardown)
            reaper = self._reaper
            if reaper is not None:
                try:
                    reaper.sig_ended.emit(self, threading.current_thread())
                except RuntimeError:  # the application is gone
                    pass

    def _take(self) -> Optional[Task]:
        """The first waiting request in kind order (called with the lock held)."""
        if self._stopping:
            return None
        for kind in self._kinds:
            if kind in self._pending:
                self._current = self._pending.pop(kind)
                return self._current
        if self._idle_token.cancelled:
            self._idle_token = CancelToken()
        return None

    def _run(self, task: Task) -> None:
        self._emit("sig_busy", True)
        ok, result = self._call(self._serve, task)
        if ok:
            self._emit("sig_done", result)
        with self._cv:
            self._current = None
        self._emit("sig_busy", False)

    def _call(self, work: Callable, *args) -> tuple[bool, Any]:
        """``(True, work(*args))``, or ``(False, None)`` after reporting its failure (never raised)."""
        try:
            return True, work(*args)
        except Cancelled as exc:
            self._emit("sig_cancelled", str(exc))
        except Exception as exc:
            if not self._stopping and shiboken6.isValid(self):
                if self._on_error is not None:
                    self._on_error(exc)
                else:
                    self._emit("sig_error", error_text(exc, self._failure))
        return False, None

    def _emit(self, signal: str, value: Any) -> None:
        try:
            getattr(self, signal).emit(value)
        except RuntimeError:  # the window (and this worker) went away while the thread was finishing
            if shiboken6.isValid(self):
                raise


def stop_workers(owner: QObject, timeout_s: float = 10.0) -> list[str]:
    """Cancel every :class:`Worker` that is ``owner`` or one of its descendants (exports, imports, recordings,
    sweeps) and wait, at most ``timeout_s`` in all, for their threads to end. Called before ``owner`` goes away
    (a window closing): Qt deletes the workers with it, and a thread must not be left emitting from, or holding
    the last reference to, a Qt object being deleted in the GUI thread. Returns the names of the threads still
    running (work that does not poll its token and outlasted the wait)."""
    workers = ([owner] if isinstance(owner, Worker) else []) + list(owner.findChildren(Worker))
    for worker in workers:
        worker.halt()
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.wait(max(0.0, deadline - time.monotonic()))
    left = [worker.name for worker in workers if worker.alive]
    if left:
        log.warning("background work still running after %.0f s: %s", timeout_s, ", ".join(left))
    return left


class Job(Worker):
    """``work(task)`` run once on a worker thread: poll ``task.token``, report progress with ``task.report``."""

    def __init__(self, work: Callable[[Task], Any], parent: Optional[QObject] = None, name: str = "dctwin-job",
                 failure: str = ""):
        super().__init__(work, name=name, failure=failure, parent=parent)

    def start(self) -> None:
        self.post("run")
        self.finish()
        super().start()


def progress_dialog(parent: QWidget, job: Job, label: str, *, title: str = "dctwin", maximum: int = 0,
                    cancel: Optional[str] = None) -> QProgressDialog:
    """A progress dialog for ``job``: shown after 300 ms, busy (``maximum`` 0) or following its progress
    up to ``maximum``; a button named ``cancel`` cancels the job (none without: the work finishes or
    fails whole). It hides when the job ends; make it before connecting the job's own result slots, so
    it is gone before they run."""
    dlg = QProgressDialog(label, cancel or "", 0, maximum, parent)
    dlg.setWindowTitle(title)
    if cancel is None:
        dlg.setCancelButton(None)
    else:
        dlg.canceled.connect(job.cancel)
    dlg.setMinimumDuration(300)
    dlg.setAutoClose(False)
    dlg.setAutoReset(False)
    if maximum:
        job.sig_progress.connect(lambda value: dlg.setValue(int(value)))

    def ended(*_) -> None:
        dlg.reset()
        dlg.hide()

    for signal in (job.sig_done, job.sig_error, job.sig_cancelled):
        signal.connect(ended)
    return dlg
