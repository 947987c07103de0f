"""Capacity on the plan: tiles tinted by space, power and cooling while a rack is dragged; headroom read-outs."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dctwin.twin.sim.results import HallSummary, Headroom, RackResult
from dctwin.twin.model.demos import load_demo

from dctwin.app.document import Document
from dctwin.app.runner import Frame, SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from tests.app.gui_helpers import centre_of, mouse_drag, viewport_point
from dctwin.widgets.floor_plan import ELEMENT_MIME, FloorPlanScene, FloorPlanView, to_hall

AIR_10KW = 1  # palette row


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False  # frames are handed in by the test
    w = MainWindow(Document(load_demo("small")), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)),
                   runner)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.view.zoom_to_fit()
    return w


def frame(window, pdu_a_n1_kw=50.0, hot_west=False):
    """A solved frame: PDU-A's headroom after losing PDU-B as given; intake air 22 °C (35 °C west of x = 6 m)."""
    site = window.doc.site
    nodes = {n.id: Headroom(50e3, 150e3, 100e3, 80e3) for n in site.power_nodes}
    nodes["PDU-A"].headroom_n1_w = pdu_a_n1_kw * 1e3
    hall = site.hall
    nx, ny = 40, 34
    field = np.full((nx, ny), 22.0)
    if hot_west:
        field[: nx // 2, :] = 35.0
    summary = HallSummary(racks={r.id: RackResult(22.0, power_w=r.it_kw * 1e3) for r in hall.racks},
                          power_nodes=nodes, cooling_headroom={"CRAH-1": Headroom(None, None, 40e3, 5e3)})
    return Frame(window.runner.generation, 0.0, summary, inlet_field=(field, (0.0, 0.0, hall.width_m, hall.depth_m)))


def drag_over(window, row: int, x_m: float, y_m: float, drop: bool = False) -> None:
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, window.palette_panel.mime_for(row))
    pos = QPointF(viewport_point(window.view, x_m, y_m))
    events = [QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
              QDragMoveEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)]
    if drop:
        events.append(QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    for ev in events:
        QApplication.sendEvent(window.view.viewport(), ev)


def tile_centres(rects):
    return [to_hall(r.center()) for r in rects]


def test_power_short_after_losing_a_feed_tints_amber_and_says_why(window):
    window.live._on_runner_frame(frame(window, pdu_a_n1_kw=8.0))  # a 10 kW rack no longer survives losing PDU-B
    drag_over(window, AIR_10KW, 1.5, 8.5)
    cells = window.view._tint.cells
    assert cells["power"] and not cells["ok"] and not cells["cooling"]
    # power and cooling short only where the (1.2 m deep) rack's intake would be against the north wall
    depth = window.doc.site.hall.depth_m
    assert all(y > depth - 1.2 for _, y in tile_centres(cells["both"]))
    msg = window.statusBar().currentMessage()
    assert "after losing one feed PDU-A would have 8.0 kW" in msg and "needs 10.0 kW" in msg
    assert window.view._ghost.valid and window.view._ghost.warning


def test_hot_intake_tints_red_where_the_air_is_above_27_c(window):
    window.live._on_runner_frame(frame(window, hot_west=True))
    drag_over(window, AIR_10KW, 1.5, 8.5)
    cells = window.view._tint.cells
    assert cells["cooling"] and cells["ok"] and not cells["power"]
    depth = window.doc.site.hall.depth_m
    assert all(x < 6.0 for x, y in tile_centres(cells["cooling"]) if y < depth - 1.2)
    assert all(x > 5.0 for x, _ in tile_centres(cells["ok"]))
    # the top tile row: a rack there would have its intake on the north wall
    assert not any(y > depth - 1.2 for _, y in tile_centres(cells["ok"]))
    assert "predicted inlet 35.0 °C" in window.statusBar().currentMessage()
    drag_over(window, AIR_10KW, 9.3, 8.5)
    assert window.statusBar().currentMessage().startswith("Fits: space, power")


def test_dropped_rack_joins_the_nearest_rows_feeds(window):
    window.live._on_runner_frame(frame(window))
    n = len(window.doc.site.hall.racks)
    drag_over(window, AIR_10KW, 1.5, 8.5, drop=True)
    racks = window.doc.site.hall.racks
    assert len(racks) == n + 1
    assert racks[-1].feeds == ("PDU-A", "PDU-B")  # it draws from the PDUs, so their headroom counts it
    assert window.view._tint is None and window.view._ghost is None


def test_moving_a_rack_tints_where_it_fits_and_clears_on_release(window):
    window.live._on_runner_frame(frame(window, hot_west=True))
    site = window.doc.site
    start = centre_of(site, "R-A10")
    mouse_drag(window.view, start, (start[0] + 1.2, start[1] - 1.8), release=False)
    tint = window.view._tint
    assert tint is not None
    # its own feeds carry it already: moving it never runs short of power
    assert tint.cells["ok"] and tint.cells["cooling"] and not tint.cells["power"]
    assert window.statusBar().currentMessage().startswith("Fits")
    end = (start[0] + 1.2, start[1] - 1.8)
    from PySide6.QtTest import QTest
    QTest.mouseRelease(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, viewport_point(window.view, *end))
    assert window.view._tint is None
    assert window.doc.site.get("R-A10").x_m == pytest.approx(start[0] - 0.3 + 1.2)


def test_rows_pdus_and_cooling_show_their_headroom(window):
    window.live._on_runner_frame(frame(window, pdu_a_n1_kw=12.0))
    labels = window.scene.row_labels
    assert labels["A"].text == "A: 65 kW, +12 kW free" and labels["B"].text == "B: 65 kW, +12 kW free"
    text = window.view.capacity_label.text()
    assert window.view.capacity_label.isVisible()
    assert "PDU-A&nbsp;&nbsp;+100 / +12 kW" in text and "PDU-B&nbsp;&nbsp;+100 / +80 kW" in text
    assert "air cooling&nbsp;&nbsp;+40 / +5 (worst unit) kW" in text
    assert text.index("PDU-A") < text.index("PDU-B")  # the tightest first
    window.live._on_runner_error("physics error: boom")
    assert labels["A"].text == "A: 65 kW" and not window.view.capacity_label.isVisible()


def test_row_labels_do_not_cover_perimeter_units(qtbot):
    site = load_demo("ai-hall")
    scene = FloorPlanScene(site)
    view = FloorPlanView(scene)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    qtbot.waitExposed(view)
    view.zoom_to_fit()
    vt = view.viewportTransform()

    def on_screen(item):
        return item.deviceTransform(vt).mapRect(item.boundingRect())

    perimeter = [on_screen(scene.items_by_id[u.id]) for u in site.halls[0].cooling_units if u.kind in ("crah", "crac")]
    assert perimeter
    seen = view.viewport().rect()
    for name, label in scene.row_labels.items():
        box = on_screen(label)
        assert not any(box.intersects(u) for u in perimeter), name
        assert seen.contains(box.toRect()), name  # not cut off at the edge of the view
    assert any(label.east for label in scene.row_labels.values())  # some rows have a unit to the west


def test_opening_another_layout_clears_the_headroom_read_out(window, tmp_path):
    from dctwin.twin.model.layoutfile import save_layout

    window.live._on_runner_frame(frame(window))
    assert window.view.capacity_label.isVisible()
    path = tmp_path / "other.json"
    save_layout(load_demo("small"), str(path))
    window.open_file(str(path))
    assert not window.view.capacity_label.isVisible()
    assert window.scene.inlet_field is None
