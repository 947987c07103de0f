"""The worker abstraction (app/workers.py): results, errors and progress on the GUI thread, Cancel,
the newest request superseding older ones, idle work, stopping, and the progress dialog."""

from __future__ import annotations

import threading
import time
import weakref

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QWidget

from dctwin.app.workers import CancelToken, Cancelled, Job, Worker, progress_dialog, stop_workers
from dctwin.twin.errors import InputError

WAIT_MS = 5000


def on_gui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Seen(list):
    """What a slot received, and whether every call came on the GUI thread."""

    def __init__(self):
        super().__init__()
        self.threads: list[bool] = []

    def __call__(self, value=None) -> None:
        self.threads.append(on_gui_thread())
        self.append(value)


def test_a_job_returns_its_result_on_the_gui_thread(qtbot):
    ran_on = []

    def work(task):
        ran_on.append(threading.current_thread().name)
        return 6 * 7

    job = Job(work, name="dctwin-test")
    done, busy = Seen(), Seen()
    job.sig_done.connect(done)
    job.sig_busy.connect(busy)
    with qtbot.waitSignal(job.sig_done, timeout=WAIT_MS):
        job.start()
    assert done == [42] and done.threads == [True]
    assert ran_on == ["dctwin-test"]  # the work ran off the GUI thread
    qtbot.waitUntil(lambda: busy == [True, False], timeout=WAIT_MS)
    job.wait(2)
    assert not job._thread.is_alive()  # a job's thread ends once its work is done


@pytest.mark.parametrize("exc, failure, message", [
    (InputError("layout.json: rack R-1 has no hall"), "", "layout.json: rack R-1 has no hall"),
    (ValueError("boom"), "", "ValueError: boom"),
    (ZeroDivisionError("division by zero"), "replay failed", "replay failed: ZeroDivisionError: division by zero"),
])
def test_a_failure_is_a_message_on_the_gui_thread_never_a_result(qtbot, exc, failure, message):
    def work(task):
        raise exc

    job = Job(work, failure=failure)
    errors, done = Seen(), Seen()
    job.sig_error.connect(errors)
    job.sig_done.connect(done)
    with qtbot.waitSignal(job.sig_error, timeout=WAIT_MS):
        job.start()
    job.wait(2)
    qtbot.wait(50)
    assert errors == [message] and errors.threads == [True]
    assert done == []


def test_progress_arrives_in_order_on_the_gui_thread(qtbot):
    def work(task):
        for k in range(1, 6):
            task.report(10.0 * k)
        return "done"

    job = Job(work)
    progress = Seen()
    job.sig_progress.connect(progress)
    with qtbot.waitSignal(job.sig_done, timeout=WAIT_MS):
        job.start()
    assert progress == [10.0, 20.0, 30.0, 40.0, 50.0] and all(progress.threads)


def test_cancel_stops_the_work_it_polls(qtbot):
    started, steps = threading.Event(), []

    def work(task):
        started.set()
        deadline = time.monotonic() + 20.0  # without a working Cancel this test fails, it does not hang
        while time.monotonic() < deadline:
            task.token.check(f"cancelled after {len(steps)} steps")
            steps.append(1)
            time.sleep(0.001)
        return "ran to the end"

    job = Job(work)
    cancelled, done = Seen(), Seen()
    job.sig_cancelled.connect(cancelled)
    job.sig_done.connect(done)
    job.start()
    assert started.wait(WAIT_MS / 1e3)
    with qtbot.waitSignal(job.sig_cancelled, timeout=WAIT_MS):
        job.cancel()
    job.wait(2)
    n = len(steps)
    assert cancelled == [f"cancelled after {n} steps"] and cancelled.threads == [True]
    assert done == []
    job.wait(WAIT_MS / 1e3)
    assert not job.alive and len(steps) == n  # the work stopped


def test_a_newer_request_cancels_the_running_one_and_replaces_the_waiting_one(qtbot):
    gate, served, saw_cancel = threading.Event(), [], {}

    def serve(task):
        served.append(task.value)
        if task.value == "A":
            gate.wait(WAIT_MS / 1e3)
        saw_cancel[task.value] = task.token.cancelled
        return None if task.token.cancelled else task.value

    worker = Worker(serve, name="dctwin-test", kinds=("solve",))
    done = Seen()
    worker.sig_done.connect(done)
    worker.start()
    a = worker.post("solve", "A")
    qtbot.waitUntil(lambda: served == ["A"], timeout=WAIT_MS)
    b = worker.post("solve", "B")  # waits behind A ...
    c = worker.post("solve", "C")  # ... and is replaced before it starts
    assert a.token.cancelled and b.token.cancelled is False and not c.token.cancelled
    gate.set()
    qtbot.waitUntil(lambda: "C" in done, timeout=WAIT_MS)
    worker.stop()
    assert served == ["A", "C"]  # B never ran
    assert saw_cancel == {"A": True, "C": False}
    assert done == [None, "C"] and all(done.threads)  # A's work saw it was superseded and returned nothing


def test_kinds_are_served_in_order_and_a_request_drops_what_it_supersedes(qtbot):
    served = []
    worker = Worker(lambda task: served.append((task.kind, task.value)), name="dctwin-test",
                    kinds=("open", "seek"), supersedes={"open": ("seek",)})
    worker.post("seek", 5.0)
    worker.post("open", "a.dctwin")  # drops the seek of the previous recording
    worker.post("seek", 7.0)  # a seek of the new one stays, and is served after the open
    with pytest.raises(ValueError, match="unknown request kind 'close'"):
        worker.post("close")
    worker.start()
    qtbot.waitUntil(lambda: len(served) == 2, timeout=WAIT_MS)
    worker.stop()
    assert served == [("open", "a.dctwin"), ("seek", 7.0)]


def test_idle_work_runs_between_requests_and_a_request_interrupts_it(qtbot):
    state = {"run": False, "interrupted": 0}
    served = []
    idling = threading.Event()

    def idle(token: CancelToken) -> bool:
        if not state["run"]:
            return False
        idling.set()
        start = time.monotonic()
        while time.monotonic() - start < 10.0:
            if token.cancelled:
                state["interrupted"] += 1
                return True
            time.sleep(0.001)
        return True

    worker = Worker(lambda task: served.append(task.value), name="dctwin-test", kinds=("solve",), idle=idle)
    worker.start()
    state["run"] = True
    worker.wake()
    assert idling.wait(WAIT_MS / 1e3)  # the idle work is under way (its loop lasts 10 s unless interrupted)
    worker.post("solve", 1)
    qtbot.waitUntil(lambda: served == [1], timeout=WAIT_MS)
    assert state["interrupted"] == 1  # the request interrupted the idle loop, which did not run its 10 s
    worker.stop()
    assert not worker._thread.is_alive()


def test_stop_cancels_the_running_task_and_ends_the_thread(qtbot):
    started = threading.Event()
    seen_cancel = []

    def serve(task):
        started.set()
        while not task.token.cancelled:
            time.sleep(0.001)
        seen_cancel.append(True)
        raise RuntimeError("the owner went away")  # said by nobody: the worker is stopping

    worker = Worker(serve, name="dctwin-test")
    errors = Seen()
    worker.sig_error.connect(errors)
    worker.start()
    worker.post("run")
    assert started.wait(WAIT_MS / 1e3)
    worker.stop(timeout_s=5.0)
    assert seen_cancel == [True] and not worker._thread.is_alive()
    worker.post("run")
    worker.start()  # a stopped worker stays stopped
    qtbot.wait(50)
    assert errors == [] and len(seen_cancel) == 1


def test_a_job_whose_owner_is_gone_finishes_quietly(qtbot):
    owner = QObject()
    gate = threading.Event()
    failures = []
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        job = Job(lambda task: (gate.wait(WAIT_MS / 1e3), task.report(1.0), "result")[-1], owner)
        job.start()
        thread = job._thread
        owner.deleteLater()  # the window closes while the job runs
        qtbot.waitUntil(lambda: not shiboken6.isValid(job), timeout=WAIT_MS)
        gate.set()
        thread.join(5)
    finally:
        threading.excepthook = previous
    assert not thread.is_alive() and failures == []


def test_cancel_token_is_a_predicate_and_raises_when_checked():
    token = CancelToken()
    assert token() is False and not token.cancelled
    token.check()
    token.cancel()
    assert token() is True
    with pytest.raises(Cancelled, match="stopped at 3 s"):
        token.check("stopped at 3 s")


def test_progress_dialog_follows_the_job_cancels_it_and_hides_when_it_ends(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    started = threading.Event()

    def work(task):
        task.report(3)
        started.set()
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            task.token.check("cancelled: nothing written")
            time.sleep(0.001)

    job = Job(work, parent)
    dlg = progress_dialog(parent, job, "Working…", title="Test", maximum=10, cancel="Cancel")
    job.start()
    assert started.wait(WAIT_MS / 1e3)
    qtbot.waitUntil(lambda: dlg.value() == 3, timeout=WAIT_MS)
    button = dlg.findChild(QPushButton)
    assert button.text() == "Cancel"
    with qtbot.waitSignal(job.sig_cancelled, timeout=WAIT_MS):
        button.click()
    assert dlg.isHidden()
    # a busy dialog without Cancel: the work finishes or fails whole
    job2 = Job(lambda task: "ok", parent)
    dlg2 = progress_dialog(parent, job2, "Exporting…")
    assert dlg2.maximum() == 0
    with qtbot.waitSignal(job2.sig_done, timeout=WAIT_MS):
        job2.start()
    assert dlg2.isHidden()


def test_garbage_made_on_a_worker_thread_is_collected_on_the_gui_thread(qtbot):
    """Python's cyclic collector must never run on a worker: there it would destroy the GUI thread's Qt objects
    (a closed dialog's widgets) and Qt crashes the process. A QObject left in a reference cycle by the work, and
    the work's own cyclic garbage (enough to pass the collector's thresholds many times over), are collected;
    every finalizer runs on the GUI thread."""
    finalized_on: list[str] = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            finalized_on.append(threading.current_thread().name)

    def leave_a_widget_in_a_cycle():
        holder = Cycle()
        holder.widget = QObject()  # a Qt object owned by Python, made on the GUI thread
        holder.widget.setObjectName("left in a cycle")

    leave_a_widget_in_a_cycle()

    def work(task):
        for _ in range(20000):  # allocation on this thread that would set the automatic collector off here
            Cycle()
        return threading.current_thread().name

    job = Job(work, name="dctwin-test-garbage")
    with qtbot.waitSignal(job.sig_done, timeout=WAIT_MS) as done:
        job.start()
    assert done.args == ["dctwin-test-garbage"]
    qtbot.waitUntil(lambda: len(finalized_on) >= 20001, timeout=WAIT_MS)
    assert set(finalized_on) == {threading.main_thread().name}


def test_a_worker_without_a_parent_is_let_go_on_the_gui_thread(qtbot):
    """The GUI thread holds a worker while its thread runs: the thread never drops the last reference to it, so
    Qt never deletes a QObject of the GUI thread (signals queued from it) on the worker's thread."""
    gate = threading.Event()
    let_go_on: list[str] = []
    job = Job(lambda task: gate.wait(WAIT_MS / 1e3), name="dctwin-test-owner")  # no parent: Python owns it
    weakref.finalize(job, lambda: let_go_on.append(threading.current_thread().name))
    job.start()
    thread = job._thread
    del job  # the GUI forgets the job while it runs
    gate.set()
    thread.join(WAIT_MS / 1e3)
    qtbot.waitUntil(lambda: bool(let_go_on), timeout=WAIT_MS)
    assert let_go_on == [threading.main_thread().name]


def test_stop_workers_cancels_every_worker_below_the_owner_and_waits_for_their_threads(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    child = QObject(owner)
    started = [threading.Event() for _ in range(3)]

    def polling(i):
        def work(task):
            started[i].set()
            while not task.token.cancelled:
                time.sleep(0.001)
            task.token.check("stopped")
        return work

    jobs = [Job(polling(0), owner), Job(polling(1), child)]
    worker = Worker(polling(2), name="dctwin-test-idle-owner", parent=child)
    for job in jobs:
        job.start()
    worker.start()
    worker.post("run")
    assert all(e.wait(WAIT_MS / 1e3) for e in started)
    assert stop_workers(owner, timeout_s=WAIT_MS / 1e3) == []
    assert not any(w.alive for w in jobs + [worker])


def test_closing_the_window_ends_the_threads_it_started(qtbot, tmp_path):
    """Exports, imports, recordings, sweeps and space searches end before the window (and the Qt objects they
    emit from) goes: none is left running into the next test or past the application."""
    from tests.app.gui_helpers import editing_window

    w = editing_window(qtbot, tmp_path)
    started = [threading.Event(), threading.Event()]

    def export(task):
        started[0].set()
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            task.token.check("cancelled: nothing written")
            time.sleep(0.001)

    job = w.run_job(Job(export, w, name="dctwin-test-export"), "Exporting…", lambda _r: None, "Cannot export")
    token = w.find_space._token

    def search():
        started[1].set()
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and w.find_space._token == token:
            time.sleep(0.001)

    search_thread = w.find_space.start_work(search, "dctwin-test-search")
    assert all(e.wait(WAIT_MS / 1e3) for e in started)
    assert w.close()
    assert not job.alive and not search_thread.is_alive()
