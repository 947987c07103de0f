"""The editor driven like a person: mouse drags, keys, palette drops, the inspector, files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import load_layout

from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from tests.app.gui_helpers import centre_of, click, mouse_drag, viewport_point
from dctwin.widgets.floor_plan import ELEMENT_MIME, RackItem


@pytest.fixture
def window(qtbot, tmp_path):
    doc = Document(load_demo("small"))
    runner = SimRunner()
    runner.available = False  # editing tests: no physics thread
    w = MainWindow(doc, Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.view.zoom_to_fit()
    w.activateWindow()
    w.view.setFocus()
    return w


def rack(w, ident):
    return w.doc.site.get(ident)


def test_demo_hall_is_shown_north_up(window):
    hall = window.doc.site.hall
    items = window.scene.items_by_id
    assert set(items) == {e.id for e in hall.elements()}
    assert isinstance(items["R-A01"], RackItem)
    # row B lies north of row A, so it must be drawn above it (smaller viewport y)
    a = viewport_point(window.view, *centre_of(window.doc.site, "R-A01"))
    b = viewport_point(window.view, *centre_of(window.doc.site, "R-B01"))
    assert rack(window, "R-B01").y_m > rack(window, "R-A01").y_m
    assert b.y() < a.y()
    assert window.readout.physics_label.text() == "physics unavailable"


def test_drag_moves_one_snapped_step_and_undo_restores(window):
    before = window.doc.site.copy()
    tile = window.doc.site.hall.tile_m
    old = rack(window, "R-A01")
    cx, cy = centre_of(window.doc.site, "R-A01")
    # a little less than a tile west and a little north: snaps to exactly one tile west
    mouse_drag(window.view, (cx, cy), (cx - 0.8 * tile, cy + 0.2 * tile))
    new = rack(window, "R-A01")
    assert new.x_m == old.x_m - tile
    assert new.y_m == old.y_m
    assert window.doc.undo_stack.count() == 1
    item = window.scene.items_by_id["R-A01"]
    assert item.pos().x() == pytest.approx(new.x_m * 50.0)
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    assert window.doc.site == before
    QTest.keyClick(window.view, Qt.Key_Y, Qt.ControlModifier)
    assert rack(window, "R-A01") == new
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier)
    QTest.keyClick(window.view, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert rack(window, "R-A01") == new


def test_drop_on_occupied_spot_is_refused_with_reason(window):
    before = window.doc.site.copy()
    tile = window.doc.site.hall.tile_m
    cx, cy = centre_of(window.doc.site, "R-A01")
    item = window.scene.items_by_id["R-A01"]
    start = QPointF(item.pos())
    mouse_drag(window.view, (cx, cy), (cx + tile, cy), release=False)
    assert item.invalid  # red while over R-A02
    assert "R-A02" in window.statusBar().currentMessage()
    QTest.mouseRelease(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                       viewport_point(window.view, cx + tile, cy))
    assert window.doc.site == before
    assert window.doc.undo_stack.count() == 0
    msg = window.statusBar().currentMessage()
    assert "Refused" in msg and "overlap" in msg and "R-A02" in msg
    assert item.pos() == start and not item.invalid


def test_drag_outside_the_hall_is_refused(window):
    before = window.doc.site.copy()
    cx, cy = centre_of(window.doc.site, "CRAH-1")
    mouse_drag(window.view, (cx, cy), (cx - 1.2, cy))
    assert window.doc.site == before
    assert "outside" in window.statusBar().currentMessage()


def test_delete_key_removes_and_undo_restores(window):
    before = window.doc.site.copy()
    click(window.view, *centre_of(window.doc.site, "R-A03"))
    assert window.scene.selected_ids() == ["R-A03"]
    QTest.keyClick(window.view, Qt.Key_Delete)
    assert "R-A03" not in window.doc.site.ids()
    assert "R-A03" not in window.scene.items_by_id
    window.act_undo.trigger()
    assert window.doc.site == before
    assert "R-A03" in window.scene.items_by_id


def test_r_rotates_and_undo_restores(window):
    _drop(window, 1, 2.0, 8.7)  # a free-standing rack north of the rows
    ident = window.scene.selected_ids()[0]
    before = window.doc.site.copy()
    old = window.doc.site.get(ident)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key_R)
    new = window.doc.site.get(ident)
    assert (old.facing, new.facing) == ("N", "E")
    assert new.size_xy() == (old.depth_m, old.width_m)
    window.act_undo.trigger()
    assert window.doc.site == before


def test_rotate_into_a_neighbour_is_refused(window):
    before = window.doc.site.copy()
    click(window.view, *centre_of(window.doc.site, "R-A05"))
    QTest.keyClick(window.view, Qt.Key_R)
    assert window.doc.site == before
    assert "Refused" in window.statusBar().currentMessage()


def test_rubber_band_selects_a_row(window):
    site = window.doc.site
    a1 = site.get("R-A01").footprint()
    a3 = site.get("R-A03").footprint()
    # from empty floor south-west of the row to the middle of R-A03
    mouse_drag(window.view, (a1[0] - 0.4, a1[1] - 0.5), ((a3[0] + a3[2]) / 2, (a3[1] + a3[3]) / 2))
    assert set(window.scene.selected_ids()) == {"R-A01", "R-A02", "R-A03"}
    # the selection drags as one: one command, all three move
    cx, cy = centre_of(site, "R-A02")
    mouse_drag(window.view, (cx, cy), (cx, cy - 1.2))
    assert [site.get(f"R-A0{k}").y_m for k in (1, 2, 3)] == [a1[1] - 1.2] * 3
    assert window.doc.undo_stack.count() == 1


def _drop(window, row: int, x_m: float, y_m: float, count: int = 1):
    window.palette_panel.row_count.setValue(count)
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, window.palette_panel.mime_for(row))
    vp = window.view.viewport()
    pos = QPointF(viewport_point(window.view, x_m, y_m))
    for ev in (QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
               QDragMoveEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier),
               QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)):
        QApplication.sendEvent(vp, ev)


def test_palette_drop_adds_a_rack_at_the_snapped_spot(window):
    tile = window.doc.site.hall.tile_m
    n = len(window.doc.site.hall.racks)
    _drop(window, 2, 1.55, 8.65)  # "Air rack 20 kW", centre near (1.55, 8.65)
    racks = window.doc.site.hall.racks
    assert len(racks) == n + 1
    new = racks[-1]
    assert new.it_kw == 20.0 and new.facing == "N"
    # snapped by the tile under the cursor (2, 14): one tile wide -> x0 on it; two deep -> from it north
    assert new.x_m == pytest.approx(2 * tile)
    assert new.y_m == pytest.approx(14 * tile)
    assert window.scene.selected_ids() == [new.id]
    assert window.doc.undo_stack.count() == 1


def test_palette_drop_of_a_row_is_one_undo_step(window):
    before = window.doc.site.copy()
    n = len(window.doc.site.hall.racks)
    _drop(window, 1, 4.0, 8.8, count=5)
    racks = window.doc.site.hall.racks
    assert len(racks) == n + 5
    xs = [r.x_m for r in racks[-5:]]
    assert xs == pytest.approx([xs[0] + 0.6 * k for k in range(5)])
    assert window.doc.undo_stack.count() == 1
    window.act_undo.trigger()
    assert window.doc.site == before


def test_palette_drop_on_a_rack_is_refused(window):
    before = window.doc.site.copy()
    _drop(window, 0, *centre_of(window.doc.site, "R-B04"))
    assert window.doc.site == before
    assert "Refused" in window.statusBar().currentMessage()
    assert window.view._ghost is None


def test_inspector_edit_changes_model_and_bad_value_shows_message(window, qtbot):
    click(window.view, *centre_of(window.doc.site, "R-A02"))
    edit = window.inspector.editors["it_kw"]
    edit.setFocus()
    edit.setText("12.5")
    edit.editingFinished.emit()
    assert rack(window, "R-A02").it_kw == 12.5
    assert window.doc.undo_stack.count() == 1
    before = window.doc.site.copy()
    edit.setText("lots")
    edit.editingFinished.emit()
    assert window.doc.site == before
    err = window.inspector.errors["it_kw"]
    assert not err.isHidden() and err.text()
    edit.setText("5000")
    edit.editingFinished.emit()
    assert window.doc.site == before
    assert "absurd" in err.text() or "at most" in err.text()


def test_inspector_rename_and_feed_choice(window):
    click(window.view, *centre_of(window.doc.site, "R-A02"))
    edit = window.inspector.editors["id"]
    edit.setText("R-NEW")
    edit.editingFinished.emit()
    assert "R-NEW" in window.doc.site.ids() and "R-A02" not in window.doc.site.ids()
    assert window.scene.selected_ids() == ["R-NEW"]
    feed_a, feed_b = window.inspector.editors["feeds"]
    feed_b.setCurrentText("(none)")
    feed_b.activated.emit(feed_b.currentIndex())
    assert window.doc.site.get("R-NEW").feeds == (rack(window, "R-NEW").feeds[0],)
    assert len(window.doc.site.get("R-NEW").feeds) == 1


def test_inspector_multi_selection_sets_shared_field_in_one_step(window):
    window.scene.select_ids(["R-A01", "R-A02", "CRAH-1"])
    assert "it_kw" not in window.inspector.editors  # a CRAH has no IT power
    assert "supply_setpoint_c" not in window.inspector.editors
    window.scene.select_ids(["R-A01", "R-A02"])
    edit = window.inspector.editors["it_kw"]
    edit.setText("7")
    edit.editingFinished.emit()
    assert rack(window, "R-A01").it_kw == 7.0 and rack(window, "R-A02").it_kw == 7.0
    assert window.doc.undo_stack.count() == 1


def test_copy_paste_adds_copies_in_one_step(window):
    click(window.view, *centre_of(window.doc.site, "R-B10"))
    n = len(window.doc.site.hall.racks)
    QTest.keyClick(window.view, Qt.Key_C, Qt.ControlModifier)
    QTest.keyClick(window.view, Qt.Key_V, Qt.ControlModifier)
    assert len(window.doc.site.hall.racks) == n + 1
    assert window.doc.undo_stack.count() == 1
    assert window.doc.site.hall.racks[-1].it_kw == rack(window, "R-B10").it_kw


def test_open_malformed_file_shows_dialog_and_keeps_document(window, tmp_path, dialogs):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "dctwin-layout", "version": 1, "halls": [')
    before = window.doc.site.copy()
    assert window.open_file(str(bad)) is False
    assert dialogs and dialogs[-1][0] == "critical"
    assert "bad.json" in dialogs[-1][2]
    assert window.doc.site == before


def test_save_and_reopen_give_the_same_layout(window, tmp_path):
    cx, cy = centre_of(window.doc.site, "R-A01")
    mouse_drag(window.view, (cx, cy), (cx - 0.6, cy))
    path = tmp_path / "hall.json"
    assert window.save_as(str(path))
    assert not window.doc.dirty and not window.isWindowModified()
    assert load_layout(path) == window.doc.site
    edited = window.doc.site.copy()
    assert window.open_file(str(path))
    assert window.doc.site == edited
    assert window.settings.recent_files()[0] == str(path)


def test_failed_save_leaves_the_old_file(window, tmp_path, dialogs, monkeypatch):
    path = tmp_path / "hall.json"
    assert window.save_as(str(path))
    original = path.read_text()
    QTest.keyClick(window.view, Qt.Key_A, Qt.ControlModifier)
    QTest.keyClick(window.view, Qt.Key_Delete)

    monkeypatch.setattr(json, "dumps", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left")))
    assert window.save() is False
    assert dialogs[-1][0] == "critical"
    assert path.read_text() == original
    assert window.doc.dirty


def test_space_and_zoom_keys(window):
    s0 = window.view.current_scale()
    QTest.keyClick(window.view, Qt.Key_Plus)
    assert window.view.current_scale() > s0
    QTest.keyClick(window.view, Qt.Key_Minus)
    QTest.keyClick(window.view, Qt.Key_Minus)
    assert window.view.current_scale() < s0
    QTest.keyClick(window.view, Qt.Key_Space)  # run without physics: says so, does not start
    assert "physics unavailable" in window.statusBar().currentMessage()
    assert not window.act_run.isChecked()


def test_middle_drag_and_space_drag_pan_without_editing(window):
    QApplication.processEvents()  # the window's first fit (a zero-delay timer) before the test zooms in
    before = window.doc.site.copy()
    view = window.view
    view.zoom_by(3.0)
    view.centerOn(view.floor_scene().hall_rect().center())  # room to pan either way (the zoom kept an edge)
    vp = view.viewport()
    h0, v0 = view.horizontalScrollBar().value(), view.verticalScrollBar().value()
    QTest.mousePress(vp, Qt.MiddleButton, Qt.NoModifier, QPoint(300, 300))
    QTest.mouseMove(vp, QPoint(250, 260))
    QTest.mouseRelease(vp, Qt.MiddleButton, Qt.NoModifier, QPoint(250, 260))
    hs, vs = view.horizontalScrollBar(), view.verticalScrollBar()
    assert (hs.value(), vs.value()) == (h0 + 50, v0 + 40), (
        f"ranges h {hs.minimum()}..{hs.maximum()} v {vs.minimum()}..{vs.maximum()}, fitted {view.fitted}, "
        f"scale {view.current_scale():.3g}, viewport {vp.size()}, window {window.size()}")
    # Space held + left drag pans too, even starting on a rack, and Space then does not toggle Run
    cx, cy = centre_of(window.doc.site, "R-A05")
    p = viewport_point(view, cx, cy)
    QTest.keyPress(view, Qt.Key_Space)
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, p)
    QTest.mouseMove(vp, p + QPoint(30, 0))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, p + QPoint(30, 0))
    QTest.keyRelease(view, Qt.Key_Space)
    assert view.horizontalScrollBar().value() == h0 + 50 - 30
    assert window.doc.site == before and window.doc.undo_stack.count() == 0
    assert "physics unavailable" not in window.statusBar().currentMessage()


def test_ctrl_s_saves_to_the_open_file(window, tmp_path):
    path = tmp_path / "hall.json"
    assert window.save_as(str(path))
    click(window.view, *centre_of(window.doc.site, "R-A03"))
    QTest.keyClick(window.view, Qt.Key_Delete)
    assert window.isWindowModified()
    QTest.keyClick(window.view, Qt.Key_S, Qt.ControlModifier)
    assert not window.isWindowModified()
    assert "R-A03" not in load_layout(path).ids()


def test_with_nothing_selected_the_inspector_edits_the_hall(window):
    hall = window.doc.site.hall
    window.scene.clearSelection()
    assert "supply_c" in window.inspector.editors and hall.id in window.inspector.header.text()
    edit = window.inspector.editors["supply_c"]
    edit.setText("20")
    edit.editingFinished.emit()
    assert window.doc.site.hall.supply_c == 20.0
    before = window.doc.site.copy()
    width = window.inspector.editors["width_m"]
    width.setText("5")  # the rows would stand outside
    width.editingFinished.emit()
    assert window.doc.site == before
    assert "outside" in window.inspector.errors["width_m"].text()
    window.act_undo.trigger()
    assert window.doc.site.hall.supply_c == hall.supply_c


def test_palette_drag_tints_the_tiles_where_it_fits(window):
    from dctwin.widgets.floor_plan import footprint_rect

    mime = QMimeData()
    mime.setData(ELEMENT_MIME, window.palette_panel.mime_for(1))
    pos = viewport_point(window.view, 1.5, 8.7)
    QApplication.sendEvent(window.view.viewport(),
                           QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    tint = window.view._tint
    assert tint is not None and tint.rects
    cells = {(round(r.center().x()), round(r.center().y())) for r in tint.rects}

    def cell(x, y):
        c = footprint_rect((x, y, x + 0.6, y + 0.6)).center()
        return (round(c.x()), round(c.y()))

    assert cell(1.2, 8.4) in cells  # free floor north of the rows
    a3 = window.doc.site.get("R-A03")
    assert cell(a3.x_m, a3.y_m) not in cells  # on a rack
    QApplication.sendEvent(window.view.viewport(), QDragLeaveEvent())
    assert window.view._tint is None and window.view._ghost is None


def test_a_site_with_two_halls_can_show_either(window):
    from dctwin.twin.model.layout import Hall, Rack

    site = window.doc.site.copy()
    site.halls.append(Hall(id="HALL-2", width_m=6.0, depth_m=6.0, racks=[Rack(id="R-Z01", x_m=1.2, y_m=1.2,
                                                                             it_kw=5.0)]))
    window.doc.replace(site)
    assert window.hall_combo_action.isVisible() and window.hall_combo.count() == 2
    window.show_hall("HALL-2")
    assert set(window.scene.items_by_id) == {"R-Z01"}
    window.show_hall(site.halls[0].id)
    assert "R-A01" in window.scene.items_by_id


def test_arrow_keys_nudge_the_selection_one_tile(window):
    tile = window.doc.site.hall.tile_m
    click(window.view, *centre_of(window.doc.site, "CRAH-1"))
    old = window.doc.site.get("CRAH-1")
    QTest.keyClick(window.view, Qt.Key_Up)
    assert window.doc.site.get("CRAH-1").y_m == old.y_m + tile  # up is north
    QTest.keyClick(window.view, Qt.Key_Left)  # against the west wall: refused, says why
    assert window.doc.site.get("CRAH-1").x_m == old.x_m
    assert "outside" in window.statusBar().currentMessage()
    assert window.doc.undo_stack.count() == 1


def test_new_asks_before_discarding_unsaved_edits(window, dialogs):
    from PySide6.QtWidgets import QMessageBox

    click(window.view, *centre_of(window.doc.site, "R-A03"))
    QTest.keyClick(window.view, Qt.Key_Delete)
    edited = window.doc.site.copy()
    dialogs.answer = QMessageBox.Cancel
    window.act_new.trigger()
    assert dialogs[-1][0] == "warning" and window.doc.site == edited
    dialogs.answer = QMessageBox.Discard
    window.act_new.trigger()
    assert window.doc.site.hall.racks == [] and not window.doc.dirty


def test_recent_files_menu_reopens_a_file(window, tmp_path):
    path = tmp_path / "recent.json"
    assert window.save_as(str(path))
    window.doc.replace(load_demo("small"))
    actions = window.recent_menu.actions()
    assert actions[0].text() == str(path)
    actions[0].trigger()
    assert window.doc.path == str(path)
