"""Numbers an operator can trust while editing: the headroom between an edit and its solve, zero and
negative headroom; a rack that faces a wall and a hall without cooling, said in words."""

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

AIR_10KW = 1  # palette rows
CRAH_100KW = 5
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
        # a quick answer's map comes before its power figures (LivePresenter._on_runner_quick_power)
        settling = bool(s is not None and s.settling) and not (w.last_frame is not None and w.last_frame.power_pending)
        shown.append((w.scene.stale, settling, pdu_heads(w), w.view.capacity_label.text(),
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


# ---------------------------------------------------------------------- item 3: heat never vanishes, and it says so
def test_a_rack_dropped_facing_the_north_wall_heats_the_room_and_says_why(engine_window, qtbot):
    w = engine_window
    before = w.last_frame.summary
    head0 = sum(h.headroom_w for h in before.cooling_headroom.values())
    assert not w.readout.warnings_button.isVisible()
    hall = w.doc.site.hall
    w.palette_panel.facing.setCurrentText("N")
    drop(w, AIR_10KW, 6.3, hall.depth_m - 0.9)  # the tile that puts its front flush on the north wall
    new = [r for r in w.doc.site.hall.racks if r.id not in before.racks]
    assert len(new) == 1 and new[0].y_m + new[0].depth_m == pytest.approx(hall.depth_m) and new[0].facing == "N"
    rid = new[0].id
    qtbot.waitUntil(lambda: w.last_frame is not None and rid in w.last_frame.summary.racks
                    and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
    s = w.last_frame.summary
    added = s.it_power_w - before.it_power_w
    assert added > 9e3
    # the cooling carries it: its headroom falls by the rack's heat, and the books balance
    head = sum(h.headroom_w for h in s.cooling_headroom.values())
    assert head0 - head == pytest.approx(added, rel=0.02) and s.energy_error < 1e-3
    # and the window says what the engine did with the blocked intake: a badge, a panel, the element
    assert w.readout.warnings_button.isVisible() and w.readout.warnings_button.text() == "⚠ 1 warning"
    assert w.warnings_dock.isVisible()
    texts = w.warnings_panel.texts()
    assert len(texts) == 1 and texts[0].startswith(f"⚠ {rid}: rack front (intake, facing N) is blocked")
    w.scene.clearSelection()
    item = w.warnings_panel.list.item(0)
    from PySide6.QtTest import QTest
    QTest.mouseClick(w.warnings_panel.list.viewport(), Qt.LeftButton, Qt.NoModifier,
                     w.warnings_panel.list.visualItemRect(item).center())
    assert w.scene.selected_ids() == [rid]
    # undo: the warning goes with the rack
    w.doc.undo_stack.undo()
    qtbot.waitUntil(lambda: w.last_frame is not None and rid not in w.last_frame.summary.racks
                    and not w.readout.settling, timeout=WAIT_MS)
    assert not w.readout.warnings_button.isVisible() and w.warnings_panel.texts() == []


# ---------------------------------------------------------------------- item 4: no cooling, said in words
def test_a_new_hall_with_one_rack_says_it_has_no_cooling_and_runs_the_heat_up(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path, load_demo("small"))
    try:
        qtbot.waitUntil(lambda: w.last_frame is not None and not w.readout.settling, timeout=WAIT_MS)
        w.new_document()
        drop(w, AIR_10KW, 12.0, 7.2)
        assert len(w.doc.site.hall.racks) == 1
        want = "H1: no cooling unit: 10 kW with nowhere to go; the room heats by 0.45 K/min"
        qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.diagnosis == want, timeout=WAIT_MS)
        assert w.readout.physics_label.text() == "no cooling: heats 0.45 K/min"
        assert want in w.readout.physics_label.toolTip() and "physics error" not in w.readout.physics_label.text()
        assert w.statusBar().currentMessage() == want
        assert w.readout.warnings_button.isVisible() and w.warnings_panel.texts() == ["⚠ " + want]
        start = w.last_frame.summary.max_inlet_c
        # Run: the room warms; nothing settles, nothing fails
        w.set_speed("max")
        w.runner.stop_at_s = 120.0
        w.toggle_run()
        qtbot.waitUntil(lambda: w.last_frame.t_s >= 120.0 - 1e-9 and not w.runner.running, timeout=WAIT_MS)
        assert w.last_frame.summary.max_inlet_c > start + 1.0
        assert w.readout.time_label.text() == "t = 00:02:00"
        assert w.readout.physics_label.text().startswith("no cooling: heats 0.45 K/min")
        # a CRAH dropped at the west wall gives the heat its way out: the diagnosis and its warning go
        w.palette_panel.facing.setCurrentText("E")
        drop(w, CRAH_100KW, 0.6, 7.2)
        assert [u.kind for u in w.doc.site.hall.cooling_units] == ["crah"]
        qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.diagnosis == ""
                        and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
        assert w.readout.physics_label.text() == "steady" and w.readout.physics_label.toolTip() == ""
        # what is left is the new CRAH's own (a raised floor without tiles), not the old diagnosis
        texts = w.warnings_panel.texts()
        assert len(texts) == 1 and "no open tile" in texts[0] and "no cooling unit" not in texts[0], texts
        assert w.last_frame.summary.energy_error < 1e-3
    finally:
        w.runner.stop()


# ---------------------------------------------------------------------- item 10: an edit in words
def test_an_inspector_edit_reads_in_words_in_the_history_and_the_edit_menu(window, qtbot):
    from PySide6.QtTest import QTest

    from tests.app.gui_helpers import centre_of, click

    w = window
    click(w.view, *centre_of(w.doc.site, "R-A05"))
    assert w.scene.selected_ids() == ["R-A05"]
    edit = w.inspector.editors["it_kw"]
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "99")
    QTest.keyClick(edit, Qt.Key_Return)
    assert w.doc.site.get("R-A05").it_kw == 99.0
    assert w.history.model().data(w.history.model().index(1, 0)) == "Set IT power of R-A05 to 99 kW"
    assert w.doc.undo_stack.undoText() == "Set IT power of R-A05 to 99 kW"
