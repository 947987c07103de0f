"""Find space in the editor on the real engine: the placement map while a palette rack is dragged (colours
under the cursor, what binds there, drop and undo) and Simulation > Find Space for... (search, list, place
as one undo step)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dctwin.app.document import Document
from dctwin.app.find_space import request_for, verdict_text
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.sim.placement import PlacementContext
from dctwin.widgets.floor_plan import ELEMENT_MIME
from tests.app.gui_helpers import viewport_point

AIR_5KW = 0  # palette row
SHOTS = os.environ.get("DCTWIN_SHOTS", "/tmp")


def open_window(qtbot, tmp_path, site):
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)  # a coarse grid: quick real solves
    w = MainWindow(Document(site), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), SimRunner())
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.runner.solved[0] is not None and w.last_frame is not None
                    and not w.readout.settle_bar.isVisible(), timeout=180_000)
    w.view.zoom_to_fit()
    return w


def roomy(site):
    """The synthetic hall with 50 % more cooling and power than its sizing (room for a palette rack)."""
    hall = site.halls[0]
    hall.cooling_units = [dataclasses.replace(u, capacity_kw=1.5 * u.capacity_kw) for u in hall.cooling_units]
    site.power_nodes = [dataclasses.replace(n, capacity_kw=1.5 * n.capacity_kw) for n in site.power_nodes]
    return site


@pytest.fixture
def window(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, roomy(synthetic_site(8, rack_kw=3.0, racks_per_row=4)))
    yield w
    w.runner.stop()


def dlg_rows_1(dlg):
    """The racks of the second listed spot of the last search (the list is cleared once a spot is placed)."""
    return dlg.placed_racks


def drag(window, row: int, x_m: float, y_m: float, enter: bool = True, drop: bool = False) -> None:
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, window.palette_panel.mime_for(row))
    pos = QPointF(viewport_point(window.view, x_m, y_m))
    events = [QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)] if enter else []
    events.append(QDragMoveEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    if drop:
        events.append(QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    for ev in events:
        QApplication.sendEvent(window.view.viewport(), ev)


def test_dragging_a_rack_maps_where_it_fits_and_says_what_binds(window, qtbot):
    ctl = window.find_space
    hall = window.doc.site.hall
    end = hall.racks[3]  # the east end of row 1 (facing N): a rack fits beside it
    spot = (round(end.x_m + 0.6, 9), end.y_m)
    cursor = (spot[0] + 0.3, spot[1] + 0.3)  # the tile whose drop spot is the row end
    with qtbot.waitSignal(ctl.sig_map_shown, timeout=60_000):
        drag(window, AIR_5KW, *cursor)
    item = ctl.item
    assert item is not None and item.ready and window.view._tint is None  # the map replaces the plain tint
    # the colours are the search's answer: the same spot asked of twin directly
    proto = window.palette_panel.prototype(AIR_5KW)
    ctx = PlacementContext(window.runner.solved[0])
    fmap = ctx.floor_map(request_for(proto, 1), proto.facing)
    cand = fmap.candidates[spot]
    assert cand.feasible
    assert item.kind_at(*cursor) == ("tight" if cand.tight else "fits")
    counts = item.counts()
    assert counts["no"] > 10 * (counts["fits"] + counts["tight"]) > 0  # most of the floor keeps its aisles
    assert item.kind_at(end.x_m + 0.3, end.y_m + 1.5) == "no"  # the cold aisle itself
    msg = window.statusBar().currentMessage()
    assert msg.startswith(verdict_text(cand)) and "Map: green fits" in msg
    item.scene().views()[0].grab().save(os.path.join(SHOTS, "place-drag-map.png"))
    # behind the row (the model would take it there): the status names the rule that rules it out
    drag(window, AIR_5KW, hall.racks[0].x_m + 0.3, hall.racks[0].y_m - 0.9, enter=False)
    assert item.kind_at(hall.racks[0].x_m + 0.3, hall.racks[0].y_m - 0.9) == "no"
    assert window.statusBar().currentMessage().startswith(
        "Does not fit: space: R-001-01 stands in the service clearance at the front")
    # the drop is one undo step; the map goes with the drag
    n = len(hall.racks)
    drag(window, AIR_5KW, *cursor, enter=False, drop=True)
    assert ctl.item is None and len(window.doc.site.hall.racks) == n + 1
    new = window.doc.site.hall.racks[-1]
    assert (new.x_m, new.y_m, new.facing) == (spot[0], spot[1], "N")
    window.doc.undo_stack.undo()
    assert len(window.doc.site.hall.racks) == n


def test_the_transient_and_a_space_search_never_use_the_solved_state_together(window, qtbot, monkeypatch):
    """A search reads the runner's solved simulation on its own thread; Run steps that same simulation on the
    runner's. While a search holds it the transient waits (Run cancels the search, which lets go at its next
    look); while running, no search starts (the drag keeps the plain tint, the dialog waits for the pause)."""
    import math
    import threading
    import time

    import dctwin.app.find_space as find_space_module
    from dctwin.twin.sim.placement import Cancelled

    runner = window.runner
    sim = runner.solved[0]
    seen: list[tuple[float, float]] = []
    started = threading.Event()
    frames: list = []
    runner.sig_frame.connect(frames.append)

    def fake_find_space(sim_, request, verify_top, context, cancel):
        t0 = sim_.t_s
        started.set()
        deadline = time.monotonic() + 60.0
        while not cancel() and time.monotonic() < deadline:
            time.sleep(0.001)
        n = len(frames)  # a real search looks at its cancel predicate now and then: it goes on a little
        while len(frames) < n + 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        seen.append((t0, sim_.t_s))
        raise Cancelled()

    monkeypatch.setattr(find_space_module, "find_space", fake_find_space)
    dlg = window.open_find_space()
    dlg.search()
    assert started.wait(60)
    t0 = sim.t_s
    runner.set_speed(math.inf)
    runner.set_running(True)  # cancels the search; the transient steps once it has let go
    qtbot.waitUntil(lambda: bool(seen) and sim.t_s > t0, timeout=60_000)
    assert seen == [(t0, t0)]  # the state did not move under the search
    assert "Waiting for the run to pause" in dlg.status.text() and dlg.search_button.isEnabled()
    # while running: no search reads it
    assert window.find_space.solved_simulation() is None and not runner.hold_solved()
    drag(window, AIR_5KW, 5.7, 3.3)
    assert window.find_space.item is None
    QApplication.sendEvent(window.view.viewport(), QDragLeaveEvent())
    # a hold taken while paused: the transient does not step until it is released
    started.clear()
    runner.set_running(False)  # the dialog searches again, now that the state is still
    assert started.wait(60)
    t1 = sim.t_s
    n = len(frames)
    runner.set_running(True)
    qtbot.waitUntil(lambda: len(seen) == 2 and sim.t_s > t1, timeout=60_000)
    assert seen[1] == (t1, t1) and len(frames) > n
    runner.set_running(False)


def test_no_map_before_the_hall_is_solved(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(synthetic_site(8, racks_per_row=4)),
                   Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.show()
    drag(w, AIR_5KW, 5.7, 3.3)
    assert w.find_space.item is None and w.view._tint is not None  # the plain fit tint, as before


def test_find_space_dialog_lists_the_best_spots_and_places_a_row_as_one_step(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, roomy(synthetic_site(40, rack_kw=4.0, racks_per_row=10)))
    try:
        menu = [a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Simulation"][0]
        assert w.act_find_space in menu.actions()
        w.act_find_space.trigger()
        dlg = w.find_space_dialog
        qtbot.waitExposed(dlg)
        dlg.kw.setValue(2.0)
        dlg.count.setValue(2)
        dlg.verify.setValue(1)
        with qtbot.waitSignal(dlg.sig_listed, timeout=180_000):
            qtbot.mouseClick(dlg.search_button, Qt.LeftButton)
        assert dlg.table.rowCount() > 0 and dlg.result is not None
        best = dlg.rows[0]
        assert best.verified is not None and best.verified["feasible"] and len(best.racks) == 2
        assert dlg.table.item(0, 0).text().endswith("✓")
        assert dlg.table.item(0, 9).text() == best.verified["binding"]
        dlg.grab().save(os.path.join(SHOTS, "place-dialog.png"))
        n, steps = len(w.doc.site.hall.racks), w.doc.undo_stack.count()
        assert dlg.place_button.isEnabled()  # the best row is selected
        # a double click on the spot places it
        cell = dlg.table.visualItemRect(dlg.table.item(0, 1)).center()
        qtbot.mouseClick(dlg.table.viewport(), Qt.LeftButton, pos=cell)  # a person's double click: press,
        qtbot.mouseDClick(dlg.table.viewport(), Qt.LeftButton, pos=cell)  # release, then the second press
        racks = w.doc.site.hall.racks
        assert len(racks) == n + 2 and w.doc.undo_stack.count() == steps + 1
        assert [(r.x_m, r.y_m) for r in racks[-2:]] == [(r.x_m, r.y_m) for r in best.racks]
        assert all(r.feeds == best.feeds and r.it_kw == 2.0 for r in racks[-2:])
        assert dlg.table.rowCount() == 0 and "layout changed" in dlg.status.text()  # the list was for the old one
        w.doc.undo_stack.undo()
        assert len(w.doc.site.hall.racks) == n
        # searched again at once (the undo's solve is under way: it waits for it), the Place button does the same
        with qtbot.waitSignal(dlg.sig_listed, timeout=180_000):
            qtbot.mouseClick(dlg.search_button, Qt.LeftButton)
        dlg.table.selectRow(1)
        qtbot.mouseClick(dlg.place_button, Qt.LeftButton)
        assert [(r.x_m, r.y_m) for r in w.doc.site.hall.racks[-2:]] == [(r.x_m, r.y_m) for r in dlg_rows_1(dlg)]
        assert w.doc.undo_stack.count() == steps + 1
    finally:
        w.runner.stop()
