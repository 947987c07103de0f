"""Numbers an operator can trust while editing: the headroom between an edit and its solve, zero and
negative headroom, edits in words."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dctwin.app.runner import Frame, SimRunner
from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.results import HallSummary, Headroom, RackResult
from dctwin.widgets.floor_plan import ELEMENT_MIME, NEGATIVE_COLOUR
from tests.app.gui_helpers import make_window, viewport_point

AIR_10KW = 1  # palette row
WAIT_MS = 240_000


def drop(w, row: int, x_m: float, y_m: float) -> None:
    """Drag palette entry ``row`` onto the plan at (x_m, y_m) and let go."""
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, w.palette_panel.mime_for(row))
    pos = QPointF(viewport_point(w.view, x_m, y_m))
    for ev in (QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
               QDragMoveEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
               QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)):
        QApplication.sendEvent(w.view.viewport(), ev)


@pytest.fixture
def engine_window(qtbot, tmp_path):
    site = load_demo("small")
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)  # a coarse grid: the real engine, quickly
    w = make_window(qtbot, tmp_path, site)
    qtbot.waitUntil(lambda: w.last_frame is not None and not w.readout.settling, timeout=WAIT_MS)
    yield w
    w.runner.stop()


def pdu_heads(w) -> dict[str, tuple[float, float]]:
    return {nid: (h, h1) for nid, h, h1 in w.scene.pdu_headroom()}


def test_headroom_while_a_drop_settles_is_the_last_solves_marked_stale_never_full(engine_window, qtbot):
    w = engine_window
    cap = {n.id: n.capacity_kw * 1e3 for n in w.doc.site.power_nodes}
    before = pdu_heads(w)
    assert before["PDU-A"][0] < cap["PDU-A"] - 50e3  # the racks draw from it
    assert not w.scene.stale and "settling" not in w.view.capacity_label.text()
    shown: list = []  # every capacity read-out shown from the drop until the solve is in

    def record() -> None:
        s = w.scene.summary
        shown.append((w.scene.stale, bool(s is not None and s.settling), pdu_heads(w), w.view.capacity_label.text(),
                      w.scene.row_labels["A"].text, w.scene.row_labels["A"].stale))

    w.scene.sig_summary_applied.connect(record)
    n = len(w.doc.site.hall.racks)
    drop(w, AIR_10KW, 1.5, 8.5)
    assert len(w.doc.site.hall.racks) == n + 1
    # at once: the last solve's figures, marked as such (faded, "settling"), not zeros, not full capacity
    assert w.scene.stale and "settling" in w.view.capacity_label.text()
    assert pdu_heads(w) == before
    qtbot.waitUntil(lambda: w.last_frame is not None and not w.last_frame.summary.settling
                    and not w.readout.settling and not w.scene.stale, timeout=WAIT_MS)
    assert any(settling for _, settling, *_ in shown)  # the quick first answer was shown, then the converged one
    for stale, settling, heads, text, row_text, row_stale in shown:
        for nid, (h, h1) in heads.items():
            # never the empty chain's full capacity (the bug: "+150 / +150 kW" until the solve finished)
            assert h < cap[nid] - 50e3 and h1 < cap[nid] - 50e3, (nid, h, h1, stale, settling)
        assert stale == ("settling" in text) and row_stale == stale
        if settling:  # a quick first answer on the carried-over flow counts the new rack already
            assert stale and heads["PDU-A"][0] < before["PDU-A"][0]
    after = pdu_heads(w)
    # the converged solve carries the new 10 kW rack on both feeds: about 5 kW less headroom on each
    assert before["PDU-A"][0] - after["PDU-A"][0] == pytest.approx(5e3, rel=0.3)
    assert "settling" not in w.view.capacity_label.text() and not w.scene.row_labels["A"].stale


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # frames are handed in by the test
    return make_window(qtbot, tmp_path, load_demo("small"), runner)


def test_zero_headroom_reads_zero_and_negative_reads_red(window):
    site = window.doc.site
    nodes = {n.id: Headroom(50e3, 150e3, 100e3, 80e3) for n in site.power_nodes}
    nodes["PDU-A"] = Headroom(149.6e3, 150e3, 0.4e3, -0.4e3)  # -0.4 kW after losing PDU-B: zero as shown
    nodes["PDU-B"] = Headroom(150e3, 150e3, 0.0, -12e3)
    summary = HallSummary(racks={r.id: RackResult(22.0, power_w=r.it_kw * 1e3) for r in site.hall.racks},
                          power_nodes=nodes, cooling_headroom={"CRAH-1": Headroom(None, None, -0.2e3, -3e3)})
    window.live._on_runner_frame(Frame(window.runner.generation, 0.0, summary))
    text = window.view.capacity_label.text()
    assert "-0" not in text and "+0" not in text
    assert "PDU-A&nbsp;&nbsp;0 / 0 kW" in text
    assert f"PDU-B&nbsp;&nbsp;0 / <span style='color:{NEGATIVE_COLOUR}'>-12</span> kW" in text
    label = window.scene.row_labels["A"]
    assert label.text.endswith(", -12 kW free") and label.negative  # row A hangs on both PDUs: drawn red
    assert window.scene.items_by_id["CRAH-1"].badge == "0 kW"
    tree = window.power_tree.items
    assert [tree["PDU-A"].text(c) for c in (4, 5)] == ["0", "0"]
    assert tree["PDU-A"].foreground(5).color().name() != "#ff0000"
