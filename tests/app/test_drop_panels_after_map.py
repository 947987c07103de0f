"""A rack dropped on the plan: its first heat map comes before the side panels that do not need it (the power
tree rebuilt for the new rack, the trends' racks) and before the power chain's headroom, which the worker
computes after handing the map over; what those show once in is what a full update and a full summary show."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, QObject, Qt

from dctwin.app import runner as runner_module
from dctwin.twin.sim.engine import Simulation
from dctwin.widgets.power_tree import PowerTreePanel
from tests.app.test_window_settling import AIR_10KW, WAIT_MS, drop, engine_window  # noqa: F401 (a fixture)


class _Order(QObject):
    """Records, in order, the plan's paints and the calls of the wrapped methods."""

    def __init__(self, w, monkeypatch):
        super().__init__()
        self.events: list = []
        w.view.viewport().installEventFilter(self)
        for name, obj, attr in (("tree", w.power_tree, "sync"), ("trends", w.trends, "set_racks")):
            real = getattr(obj, attr)
            monkeypatch.setattr(obj, attr, lambda *a, _real=real, _name=name: (self.events.append(_name), _real(*a))[1])
        w.sig_physics_shown.connect(lambda frame: self.events.append(("shown", frame.generation,
                                                                      bool(frame.summary.settling))))

    def eventFilter(self, obj, ev):  # Qt override
        if ev.type() == QEvent.Paint:
            self.events.append("paint")
        return False


def tree_rows(panel: PowerTreePanel) -> dict[str, list[str]]:
    """Every node's row as the power tree shows it (texts of all columns, tooltip)."""
    cols = panel.tree.columnCount()
    return {k: [it.text(c) for c in range(cols)] + [it.toolTip(0)] for k, it in panel.items.items()}


def test_a_drops_power_tree_and_trends_follow_its_first_map_and_match_a_full_update(engine_window, qtbot,
                                                                                    monkeypatch):
    w = engine_window
    order = _Order(w, monkeypatch)
    before = {r.id for r in w.doc.site.hall.racks}
    drop(w, AIR_10KW, 1.5, 8.5)
    (rid,) = [r.id for r in w.doc.site.hall.racks if r.id not in before]
    gen = w.runner.generation
    assert w.inspector.ids == [rid]  # the inspector names the new rack at once
    qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.generation == gen
                    and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
    ev = order.events
    first = ev.index(("shown", gen, True))  # the quick answer's map
    assert "tree" in ev and "trends" in ev
    # the tree rebuilt for the new rack and the trends' racks came after the first map was on the plan
    assert ev.index("tree") > first and ev.index("trends") > first
    assert ev.count("tree") == 1 and ev.count("trends") == 1
    # what they show is what a full update shows: a tree built afresh on the same site and summary
    fresh = PowerTreePanel()
    qtbot.addWidget(fresh)
    fresh.set_site(w.doc.site)
    fresh.set_summary(w.last_frame.summary)
    assert tree_rows(w.power_tree) == tree_rows(fresh)
    assert int(w.power_tree.items[w.doc.site.hall.racks[-1].feeds[0]].text(6)) >= 1
    assert list(w.trends.curves) == [rid]
    # undo takes the rack away from the tree's counts again at once (no drop: nothing waits)
    order.events.clear()
    w.act_undo.trigger()
    assert "tree" in order.events


def test_a_quick_answers_power_figures_follow_its_map_and_equal_the_full_summarys(engine_window, qtbot):
    w = engine_window
    prev_sim, _ = w.runner.solved
    seen: list = []  # (what arrived, generation, power pending) in the order the GUI got them
    w.runner.sig_solved.connect(lambda f: seen.append(("frame", f.generation, f.power_pending, f)))
    w.runner.sig_quick_power.connect(lambda g, nodes, pue: seen.append(("power", g, nodes, pue)))
    before = {r.id for r in w.doc.site.hall.racks}
    drop(w, AIR_10KW, 1.5, 8.5)
    gen = w.runner.generation
    qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.generation == gen
                    and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
    mine = [s for s in seen if s[1] == gen]
    assert [s[0] for s in mine] == ["frame", "power", "frame"]
    quick = mine[0][3]
    assert mine[0][2]  # the map was sent before the power chain's headroom
    assert not quick.power_pending  # ... which the window then put on it
    # the same layout solved headless the way the runner does, with the full summary at the quick answer
    full = []
    fresh = Simulation(w.doc.site.copy(), w.scene.hall.id, warm_from=prev_sim)
    fresh.solve_steady(on_partial=lambda sim, s: full.append(s))
    assert full and full[0].power_nodes
    assert quick.summary.power_nodes == full[0].power_nodes
    assert quick.summary.pue == full[0].pue
    (rid,) = [r.id for r in w.doc.site.hall.racks if r.id not in before]
    assert quick.summary.racks[rid].inlet_c == pytest.approx(full[0].racks[rid].inlet_c, abs=0)
    # the plan's row labels and headroom read-out show the quick answer's own figures, not the last solve's
    heads = {nid: h for nid, h, _ in w.scene.pdu_headroom()}
    assert heads == {nid: d.headroom_w for nid, d in w.last_frame.summary.power_nodes.items() if nid in heads}


class _SlowPaint(QObject):
    """Makes the plan's first paint after ``armed`` take ``delay_s`` (a busy GUI thread) and records when it ended."""

    def __init__(self, viewport, delay_s: float):
        super().__init__()
        self.armed, self.delay_s, self.ended = False, delay_s, []
        viewport.installEventFilter(self)

    def eventFilter(self, obj, ev):  # Qt override
        if self.armed and ev.type() == QEvent.Paint:
            self.armed = False
            time.sleep(self.delay_s)
            self.ended.append(time.monotonic())
        return False


def test_the_worker_waits_for_the_quick_map_to_be_drawn_before_it_goes_on(engine_window, qtbot, monkeypatch):
    w = engine_window
    monkeypatch.setattr(runner_module, "QUICK_DRAWN_WAIT_S", 30.0)  # a loaded machine: only the window's word counts
    slow = _SlowPaint(w.view.viewport(), 0.05)
    w.sig_physics_shown.connect(lambda frame: setattr(slow, "armed", bool(frame.summary.settling)))
    power_at: list = []  # when the worker sent the quick answer's power figures (its next work after the map)
    w.runner.sig_quick_power.connect(lambda *a: power_at.append(time.monotonic()), Qt.DirectConnection)
    drop(w, AIR_10KW, 1.5, 8.5)
    gen = w.runner.generation
    qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.generation == gen
                    and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
    assert slow.ended and power_at
    # the worker went on only once the plan had drawn the quick map
    assert power_at[0] >= slow.ended[0]
