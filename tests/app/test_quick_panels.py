"""A quick first answer after an edit goes on the plan first; the side panels (read-out, power tree,
trends, alarms, inspector figures) follow once the plan has been painted, and never show a stale answer."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject

from dctwin.app.runner import Frame, SimRunner
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.events import EventLog
from dctwin.twin.sim.results import HallSummary, RackResult
from tests.app.gui_helpers import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # the test hands the frames in itself
    w = make_window(qtbot, tmp_path, load_demo("small"), runner=runner)
    yield w
    w.runner.stop()


def _frame(w, inlet_c: float, settling: bool, events: list[dict] = ()) -> Frame:
    hall = w.doc.site.halls[0]
    racks = {r.id: RackResult(inlet_c, inlet_c + 10.0, r.it_kw * 1e3, r.design_airflow_m3s, "ok") for r in hall.racks}
    summary = HallSummary(t_s=0.0, racks=racks, max_inlet_c=inlet_c, pue=1.4)
    summary.settling = settling
    heat = (np.full((20, 10), inlet_c), (0.0, 0.0, hall.width_m, hall.depth_m))
    return Frame(w.runner.generation, 0.0, summary, heat, 1.0, events=list(events))


def _event(log: EventLog, kind: str) -> dict:
    return log.record(0.0, kind, "CRAH-1").to_dict()


class _Paints(QObject):
    """Records, in order, the viewport's paints and the read-out's texts."""

    def __init__(self, w, order: list):
        super().__init__()
        self.order = order
        w.view.viewport().installEventFilter(self)

    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint:
            self.order.append("paint")
        return False


def test_the_quick_answer_is_painted_on_the_plan_before_its_panels_follow(window, qtbot):
    w = window
    order: list = []
    paints = _Paints(w, order)
    original = w.live._show_panels
    w.live._show_panels = lambda frame: (order.append(("panels", frame.summary.settling)), original(frame))
    w.runner.sig_solved.emit(_frame(w, 31.0, settling=True))
    # at once: the plan shows the quick answer (rack colours, heat map); the read-out does not yet
    rack = w.doc.site.halls[0].racks[0]
    assert w.scene.items_by_id[rack.id].fill == w.scene.temp_scale.colour(31.0)
    assert w.scene.heat_item.isVisible()
    assert "31.0" not in w.readout.hot_label.text()
    qtbot.waitUntil(lambda: "31.0" in w.readout.hot_label.text(), timeout=5000)
    assert ("panels", True) in order
    assert "paint" in order[:order.index(("panels", True))]  # the event loop drew the plan first
    del paints


def test_a_converged_answer_right_after_the_quick_one_loses_none_of_its_events(window, qtbot):
    w = window
    log = EventLog()
    w.runner.sig_solved.emit(_frame(w, 30.0, settling=True, events=[_event(log, "unit_fail")]))
    w.runner.sig_solved.emit(_frame(w, 32.0, settling=False, events=[_event(log, "rack_throttle")]))
    # no event loop in between: the quick answer's panels were shown before the converged one's
    kinds = {w.alarms.tree.topLevelItem(k).text(1) for k in range(w.alarms.tree.topLevelItemCount())}
    assert {"unit_fail", "rack_throttle"} <= kinds
    assert "32.0" in w.readout.hot_label.text()
    qtbot.wait(50)  # the quick answer's timer, if it were still armed, would put 30.0 back
    assert "32.0" in w.readout.hot_label.text()


def test_a_failure_after_a_quick_answer_is_not_covered_by_its_panels(window, qtbot):
    w = window
    w.runner.sig_solved.emit(_frame(w, 30.0, settling=True))
    w.runner.sig_error.emit("physics error: FloatingPointError: flow diverged")
    qtbot.wait(50)
    assert "30.0" not in w.readout.hot_label.text()
    assert w.live.last_frame is None
