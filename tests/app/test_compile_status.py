"""The first launch on a machine compiles the physics kernels: the window says so, with the progress a
warm-up reports (or the kernels counted as numba caches them), instead of a long "settling..."."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import QSettings

from dctwin.app.document import Document
from dctwin.app.runner import CompileProgress, SimRunner
from dctwin.app.settings import Settings
from dctwin.app.status import COMPILING
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import load_demo
from dctwin.twin.physics import kernels

WAIT_MS = 300_000


def make_window(qtbot, tmp_path, runner):
    site = load_demo("small")
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)
    w = MainWindow(Document(site), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.show()
    return w


def test_the_window_shows_the_warm_ups_compile_progress_then_the_result(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "compile_pending", lambda need="solve": True)  # a machine that never ran dctwin
    go = threading.Event()

    def warm_up(report) -> None:  # what issue 16's warm-up feeds (on the simulation's thread)
        report(CompileProgress(3, 10, "air temperature", 6.0))
        go.wait(60)
        report(CompileProgress(10, 10))

    runner = SimRunner()
    runner.warm_up = warm_up
    w = make_window(qtbot, tmp_path, runner)
    try:
        label, bar = w.readout.physics_label, w.readout.settle_bar
        qtbot.waitUntil(lambda: "3 of 10" in label.text(), timeout=WAIT_MS)
        assert label.text() == f"{COMPILING} — 3 of 10 groups, 30 %, about 14 s left (air temperature)"
        assert bar.isVisible() and (bar.minimum(), bar.maximum(), bar.value(), bar.text()) == (0, 1000, 300, "30 %")
        go.set()
        qtbot.waitUntil(lambda: w.last_frame is not None and label.text() == "steady", timeout=WAIT_MS)
        assert not bar.isVisible() and not w.readout.compiling and not runner.compiling
    finally:
        go.set()
        runner.stop()


def test_without_a_warm_up_the_window_counts_the_kernels_numba_caches(qtbot, tmp_path, monkeypatch):
    runner = SimRunner()
    runner.available = False
    w = make_window(qtbot, tmp_path, runner)
    counts = iter([40, 47])
    monkeypatch.setattr(kernels, "cached_count", lambda: next(counts))
    runner._compiled_at_start = 30
    runner.compiling = True
    runner.sig_compiling.emit(CompileProgress())
    assert w.readout.physics_label.text() == COMPILING and w.readout.settle_bar.maximum() == 0  # busy
    runner._count_compiled()
    assert w.readout.physics_label.text() == f"{COMPILING} — 10 compiled"
    runner._count_compiled()
    assert w.readout.physics_label.text() == f"{COMPILING} — 17 compiled"
    w.readout.show_settling(True, False)  # the solve's "settling" does not hide what takes the time
    assert w.readout.physics_label.text().startswith(COMPILING)
    runner._compile_over()
    assert not w.readout.compiling and w.readout.physics_label.text() == "settling…"


def test_a_fresh_cache_means_the_next_solve_compiles(tmp_path):
    # kernels with explicit signatures compile when their module is imported, and so do the kernels they
    # call: those are cached by then; every other kernel of a solve is still to compile
    probe = ("from dctwin.twin.physics import kernels; "
             "ds = kernels.kernel_dispatchers(); "
             "lazy = {n for n, d in ds.items() if d._can_compile and not kernels._cached_signatures(d)}; "
             "print(kernels.compile_pending('solve'), "
             "sorted(kernels.uncached_kernels('solve')) == sorted(lazy & set(kernels.manifest('solve'))))")
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "fresh")},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "True True"  # nothing cached: every kernel of a solve still to compile (those with a signature compiled on import)


@pytest.mark.slow
def test_after_a_solve_nothing_is_pending():
    from dctwin.twin.sim.engine import Simulation

    Simulation(load_demo("small"), grid_m=0.6).solve_steady()
    assert not kernels.compile_pending("solve")
