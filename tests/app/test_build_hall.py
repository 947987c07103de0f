"""A whole hall built in the window, as a person would: power equipment from the palette onto the Power
panel and the floor, racks that get their feeds, containment and walls drawn as rectangles, columns,
feed cables from racks to PDUs (on the floor and in the Power panel), the inspector on a power node;
every edit one undo step, every refusal saying why."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dctwin.twin.model.layout import Containment, Obstruction, PowerNode
from dctwin.twin.model.validate import validate
from dctwin.app.document import blank_site
from dctwin.widgets.floor_plan import ELEMENT_MIME, PowerNodeItem
from dctwin.widgets.palette import CABLE_ENTRY, PALETTE_ENTRIES
from dctwin.widgets.plan_tools import CableTool, feed_mime
from tests.app.gui_helpers import centre_of, editing_window, mouse_drag, viewport_point


def entry(label_start: str) -> int:
    return next(i for i, (label, _) in enumerate(PALETTE_ENTRIES) if label.startswith(label_start))


@pytest.fixture
def window(qtbot, tmp_path):
    w = editing_window(qtbot, tmp_path, blank_site(), (1280, 860))
    w.view.setFocus()
    return w


def _send_drag(target, pos: QPoint, mime: QMimeData, action=Qt.CopyAction) -> None:
    for ev in (QDragEnterEvent(pos, action, mime, Qt.LeftButton, Qt.NoModifier),
               QDragMoveEvent(pos, action, mime, Qt.LeftButton, Qt.NoModifier),
               QDropEvent(QPointF(pos), action, mime, Qt.LeftButton, Qt.NoModifier)):
        QApplication.sendEvent(target, ev)


def drop_on_floor(w, index: int, x_m: float, y_m: float) -> None:
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, w.palette_panel.mime_for(index))
    _send_drag(w.view.viewport(), viewport_point(w.view, x_m, y_m), mime)


def tree_point(w, node_id=None) -> QPoint:
    tree = w.power_tree.tree
    if node_id is None:  # the empty space below the nodes
        return QPoint(20, tree.viewport().height() - 4)
    return tree.visualItemRect(w.power_tree.items[node_id]).center()


def drop_on_power_panel(w, mime: QMimeData, node_id=None) -> None:
    w.power_dock.show()
    w.power_dock.raise_()
    QApplication.processEvents()
    _send_drag(w.power_tree.tree.viewport(), tree_point(w, node_id), mime)


def palette_mime(w, index: int) -> QMimeData:
    mime = QMimeData()
    mime.setData(ELEMENT_MIME, w.palette_panel.mime_for(index))
    return mime


def nodes(w, kind: str) -> list[PowerNode]:
    return [n for n in w.doc.site.power_nodes if n.kind == kind]


def build_power_room(w) -> None:
    """Utility, generator, ATS and two UPSs into the power room (the Power panel)."""
    drop_on_power_panel(w, palette_mime(w, entry("Utility")))
    drop_on_power_panel(w, palette_mime(w, entry("Generator")))
    drop_on_power_panel(w, palette_mime(w, entry("ATS")))
    ats = nodes(w, "ats")[0].id
    drop_on_power_panel(w, palette_mime(w, entry("UPS")), ats)
    drop_on_power_panel(w, palette_mime(w, entry("UPS")), ats)


def test_a_new_hall_is_built_and_powered_without_editing_json(window):
    w = window
    site = w.doc.site
    build_power_room(w)
    util, gen, ats = nodes(w, "utility")[0], nodes(w, "generator")[0], nodes(w, "ats")[0]
    assert ats.inputs == (util.id, gen.id)
    ups = nodes(w, "ups")
    assert [u.inputs for u in ups] == [(ats.id,), (ats.id,)]
    assert all(not n.on_floor for n in site.power_nodes)  # the power room
    assert set(w.power_tree.items) == {n.id for n in site.power_nodes}
    # two PDUs on the floor, one at each end of the future row: one per UPS (A and B)
    drop_on_floor(w, entry("PDU"), 1.5, 1.5)
    drop_on_floor(w, entry("PDU"), 20.0, 1.5)
    pdus = nodes(w, "pdu")
    assert [p.inputs for p in pdus] == [(ups[0].id,), (ups[1].id,)]
    assert all(p.on_floor and p.hall == site.halls[0].id for p in pdus)
    assert all(isinstance(w.scene.items_by_id[p.id], PowerNodeItem) for p in pdus)
    # a rack dropped now is powered: the nearest PDU as A, the other side's as B
    drop_on_floor(w, entry("Air rack 10"), 3.3, 5.0)
    rack = w.doc.site.hall.racks[-1]
    assert rack.feeds == (pdus[0].id, pdus[1].id)
    w.palette_panel.row_count.setValue(6)
    drop_on_floor(w, entry("Air rack 10"), 4.5, 5.0)  # joins the row's power
    assert [r.feeds for r in w.doc.site.hall.racks[-6:]] == [rack.feeds] * 6
    w.palette_panel.row_count.setValue(1)
    # cooling, a column
    drop_on_floor(w, entry("CRAH"), 11.0, 12.6)
    drop_on_floor(w, entry("Column"), 18.3, 9.3)
    assert isinstance(w.doc.site.hall.obstructions[-1], Obstruction)
    # a cold aisle drawn as a rectangle in front of the row, then a wall
    w.palette_panel.choose(entry("Cold aisle"))
    assert w.view.tool is not None and "rectangle" in w.statusBar().currentMessage()
    mouse_drag(w.view, (3.0, 6.0), (7.2, 7.85))
    zone = w.doc.site.hall.containments[-1]
    assert isinstance(zone, Containment) and zone.kind == "cold"
    assert (zone.x_m, zone.y_m, zone.width_m, zone.depth_m) == pytest.approx((3.0, 6.0, 4.2, 1.8))
    assert w.view.tool is None  # one rectangle per choice
    w.palette_panel.choose(entry("Wall"))
    mouse_drag(w.view, (0.0, 10.8), (6.05, 11.0))
    wall = w.doc.site.hall.obstructions[-1]
    assert (wall.kind, wall.x_m, wall.y_m, wall.width_m, wall.depth_m) == pytest.approx(("wall", 0.0, 10.8, 6.0, 0.6))
    assert wall.id.startswith("WALL-")
    assert validate(w.doc.site) == []
    steps = w.doc.undo_stack.count()
    assert steps == 13  # 5 room nodes, 2 PDUs, a rack, a row, a CRAH, a column, a zone, a wall: one step each
    while w.doc.undo_stack.canUndo():
        w.act_undo.trigger()
    assert w.doc.site == blank_site()


def test_refusals_say_why_and_change_nothing(window):
    w = window
    before = w.doc.site.copy()
    drop_on_floor(w, entry("PDU"), 2.0, 2.0)  # nothing to draw from yet
    assert w.doc.site == before
    assert "a pdu draws from a ups or switchboard" in w.statusBar().currentMessage()
    drop_on_power_panel(w, palette_mime(w, entry("ATS")))
    assert w.doc.site == before and "add utility and generator first" in w.statusBar().currentMessage()
    # a wall over a rack is refused (red outline while drawing, the reason on release)
    drop_on_floor(w, entry("Air rack 10"), 3.3, 5.0)
    rack = w.doc.site.hall.racks[-1]
    assert rack.feeds == ()  # no power yet: the inspector and the feed cable connect it later
    before = w.doc.site.copy()
    w.palette_panel.choose(entry("Wall"))
    mouse_drag(w.view, (2.4, 4.8), (6.0, 5.4), release=False)
    assert w.view._ghost is not None and not w.view._ghost.valid
    QTest.mouseRelease(w.view.viewport(), Qt.LeftButton, Qt.NoModifier, viewport_point(w.view, 6.0, 5.4))
    assert w.doc.site == before
    assert f"would overlap {rack.id}" in w.statusBar().currentMessage()
    # Esc disarms a tool without drawing
    w.palette_panel.choose(entry("Hot aisle"))
    QTest.keyClick(w.view, Qt.Key_Escape)
    assert w.view.tool is None
    mouse_drag(w.view, (8.0, 8.0), (10.0, 10.0))
    assert w.doc.site == before


def test_feed_cables_from_a_rack_to_a_pdu_on_the_floor_and_in_the_power_panel(window, monkeypatch):
    w = window
    drop_on_floor(w, entry("Air rack 10"), 6.3, 5.0)  # before there is power: no feeds
    rack_id = w.doc.site.hall.racks[-1].id
    build_power_room(w)
    drop_on_floor(w, entry("PDU"), 1.5, 1.5)
    drop_on_power_panel(w, palette_mime(w, entry("PDU")), nodes(w, "ups")[1].id)  # a PDU in the power room
    floor_pdu, room_pdu = (p.id for p in nodes(w, "pdu"))
    steps = w.doc.undo_stack.count()
    w.palette_panel.choose(CABLE_ENTRY)
    assert isinstance(w.view.tool, CableTool)
    # a line from the rack to the PDU standing on the floor: feed A
    start, end = centre_of(w.doc.site, rack_id), centre_of(w.doc.site, floor_pdu)
    mouse_drag(w.view, start, end, release=False)
    line = w.view.tool._line
    assert line is not None and line.line().length() > 100  # the cable is drawn while dragging
    assert w.scene.items_by_id[floor_pdu].hot
    QTest.mouseRelease(w.view.viewport(), Qt.LeftButton, Qt.NoModifier, viewport_point(w.view, *end))
    assert w.doc.site.get(rack_id).feeds == (floor_pdu,)
    assert w.doc.undo_stack.count() == steps + 1
    assert isinstance(w.view.tool, CableTool)  # the cable tool stays armed for the next rack
    # dragged out of the plan, the cable becomes a drag and drop the Power panel takes
    started = []
    monkeypatch.setattr(w.view, "start_feed_drag", lambda loads: started.append(list(loads)))
    vp = w.view.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, viewport_point(w.view, *start))
    QTest.mouseMove(vp, QPoint(vp.width() + 40, vp.height() // 2))
    assert started == [[rack_id]]
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, QPoint(vp.width() + 40, vp.height() // 2))
    drop_on_power_panel(w, feed_mime(started[0]), room_pdu)
    assert w.doc.site.get(rack_id).feeds == (floor_pdu, room_pdu)
    assert w.doc.undo_stack.count() == steps + 2
    # a third feed is refused with the reason
    drop_on_power_panel(w, feed_mime([rack_id]), nodes(w, "ups")[0].id)
    assert "has feeds A" in w.statusBar().currentMessage()
    w.act_undo.trigger()
    assert w.doc.site.get(rack_id).feeds == (floor_pdu,)
    QTest.keyClick(w.view, Qt.Key_Escape)
    assert w.view.tool is None


def test_a_power_node_is_edited_in_the_inspector(window):
    w = window
    build_power_room(w)
    ups = nodes(w, "ups")[0].id
    item = w.power_tree.items[ups]
    QTest.mouseClick(w.power_tree.tree.viewport(), Qt.LeftButton, Qt.NoModifier,
                     w.power_tree.tree.visualItemRect(item).center())
    assert w.inspector.ids == [ups]
    assert "battery_kwh" in w.inspector.editors and "transfer_delay_s" not in w.inspector.editors
    steps = w.doc.undo_stack.count()
    edit = w.inspector.editors["capacity_kw"]
    edit.setText("250")
    edit.editingFinished.emit()
    assert w.doc.site.get(ups).capacity_kw == 250.0
    assert w.doc.undo_stack.count() == steps + 1
    assert w.inspector.ids == [ups]  # still shown after the edit
    first, second = w.inspector.editors["inputs"]
    assert first.currentText() == nodes(w, "ats")[0].id
    first.setCurrentText(nodes(w, "utility")[0].id)
    first.activated.emit(first.currentIndex())
    assert w.doc.site.get(ups).inputs == (nodes(w, "utility")[0].id,)
    edit = w.inspector.editors["capacity_kw"]
    edit.setText("-5")
    edit.editingFinished.emit()
    assert "must be positive" in w.inspector.errors["capacity_kw"].text()
