"""`dctwin bench --gui`: the drop-to-heat-map measurement goes through the runner's quick-answer path."""

from __future__ import annotations

import os

import pytest

from dctwin.twin.model.demos import load_demo

from dctwin.app.cli_gui import run_drop_bench
from dctwin.app.main import main


def test_drop_bench_shows_the_quick_answer_before_the_converged_state(qtbot):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    report = run_drop_bench(load_demo("small"), repeats=1)
    assert report["racks"] == 20 and report["repeats"] == 1
    assert report["quick_answers"] == 1  # the first picture came from on_partial, before the flow converged
    assert 0 < report["first_ms"] <= report["converged_ms"]
    assert report["frame_to_screen_ms"] is not None and report["frame_to_screen_ms"] >= 0
    # the map drawn after it was shown; CPU beside the wall times, the GUI thread's share within the whole
    assert report["first_ms"] <= report["first_drawn_ms"] <= report["converged_ms"]
    assert 0 < report["first_cpu_ms"] <= report["converged_cpu_ms"]
    assert 0 < report["gui_drop_cpu_ms"] <= report["gui_cpu_to_first_ms"]
    # the worker's share: building the simulation and the quick answer take CPU, within the whole process's
    assert 0 < report["worker_cpu_to_first_ms"] <= report["first_cpu_ms"]
    assert len(report["loadavg"]) == 2


@pytest.mark.parametrize("args, needle", [(["--racks", "0"], "between 1 and 20000"),
                                          (["--repeats", "0"], "--repeats must be between 1")])
def test_bench_gui_refuses_bad_arguments(qtbot, capsys, args, needle):
    assert main(["bench", "--gui", *args]) == 2
    assert needle in capsys.readouterr().err
