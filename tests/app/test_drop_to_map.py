"""A rack dropped from the palette: what the editor shows after the drop is the new layout's state, never a
leftover of the old one (the drop path updates the plan, the inspector and the read-out incrementally and
solves on the previous layout's flow), and the plan stays where it was."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from dctwin.twin.model.commands import SetHallProperty
from dctwin.twin.sim.engine import Simulation
from dctwin.widgets.floor_plan import PX
from tests.app.gui_helpers import editing_window
from tests.widgets.test_panel_reuse import widgets_of
from tests.app.test_window_settling import AIR_10KW, WAIT_MS, drop, engine_window  # noqa: F401 (a fixture)


def shown_state(w, rid: str, frame) -> dict:
    """What the window shows of rack ``rid`` and the heat map right after ``frame`` was put on screen."""
    result = frame.summary.racks.get(rid)
    item = w.scene.items_by_id.get(rid)
    return {"settling": bool(frame.summary.settling), "inlet_c": None if result is None else result.inlet_c,
            "intake_c": w.scene.rack_intake_c(rid, result), "fill": None if item is None or item.fill is None
            else item.fill.rgba(), "heat": w.scene.heat_item._image.copy(), "inspector": list(w.inspector.ids),
            "transform": w.view.transform(), "floor_hall": w.scene.hall_item.hall}


def fill_of(w, intake_c: float) -> int:
    """The plan's colour for a rack breathing ``intake_c`` (the inlet metric)."""
    scale = w.scene.current_scale()
    return scale.colours[int(scale.indices(np.array([intake_c]))[0])].rgba()


def heat_image(w, sim) -> bytes:
    """The heat map the plan would show for ``sim``'s air at the window's height."""
    t, _ = sim.air_temperature_slice(w.runner.heat_z_m)
    return np.ascontiguousarray(w.scene.temp_scale.rgba(np.asarray(t, np.float64).T[::-1, :])).tobytes()


def image_bytes(img) -> bytes:
    return bytes(img.constBits())[: img.sizeInBytes()]


def test_after_a_drop_the_map_the_rack_and_the_inspector_show_a_fresh_solve_of_the_new_layout(engine_window, qtbot,
                                                                                           monkeypatch):
    w = engine_window
    fits = []
    real_fit = w.view.zoom_to_fit
    monkeypatch.setattr(w.view, "zoom_to_fit", lambda: fits.append(1) or real_fit())
    prev_sim, _ = w.runner.solved  # the runner warm-starts the drop's solve from it (it is not stepped)
    hall_id = w.scene.hall.id
    steps = w.doc.undo_stack.count()
    zoom = w.view.transform()
    before = set(r.id for r in w.doc.site.hall.racks)
    shown: list[dict] = []
    new: list[str] = []

    def on_shown(frame) -> None:
        if new and frame.generation == w.runner.generation:
            shown.append(shown_state(w, new[0], frame))

    w.sig_physics_shown.connect(on_shown)
    drop(w, AIR_10KW, 1.5, 8.5)
    new.extend(r.id for r in w.doc.site.hall.racks if r.id not in before)
    assert len(new) == 1
    rid = new[0]
    assert w.doc.undo_stack.count() == steps + 1  # one undo step per drop
    assert w.inspector.ids == [rid] and w.scene.selected_ids() == [rid]
    qtbot.waitUntil(lambda: bool(shown) and not shown[-1]["settling"] and not w.readout.settling, timeout=WAIT_MS)
    quick, final = shown[0], shown[-1]
    assert quick["settling"]  # the first map was the quick answer on the previous layout's flow

    # the same layout solved afresh, headless, the way the runner does it: warm from the previous state
    fresh_quick = []
    fresh = Simulation(w.doc.site.copy(), hall_id, warm_from=prev_sim)
    fresh.solve_steady(on_partial=lambda sim, s: fresh_quick.append((s.racks[rid].inlet_c, s.racks[rid].intake_c,
                                                                     heat_image(w, sim))))
    assert fresh_quick, "no quick answer"
    f_inlet, f_intake, f_heat = fresh_quick[0]
    # the first map: the dropped rack and the air read what a fresh quick answer reads (not the old layout's)
    assert quick["inlet_c"] == pytest.approx(f_inlet, abs=1e-9)
    assert quick["fill"] == fill_of(w, f_intake)
    assert image_bytes(quick["heat"]) == f_heat
    # the converged state: the same
    r = fresh.summary().racks[rid]
    assert final["inlet_c"] == pytest.approx(r.inlet_c, abs=1e-9)
    assert final["fill"] == fill_of(w, r.intake_c) and final["fill"] is not None
    assert image_bytes(final["heat"]) == heat_image(w, fresh)
    for s in shown:
        assert s["inspector"] == [rid]
        assert s["floor_hall"] is w.doc.site.get_hall(hall_id)  # the floor draws the hall of the document
        assert s["transform"] == zoom  # neither the drop's "settling" nor its solve re-zooms the plan
    assert w.view.transform() == zoom
    # the headroom read-out grows a "settling" line and loses it again: the plan keeps room for both
    assert fits == []

    # one undo takes the rack away again, from the plan, the inspector and the next solve
    w.act_undo.trigger()
    assert rid not in w.scene.items_by_id and rid not in {r.id for r in w.doc.site.hall.racks}
    assert w.inspector.ids == [] or rid not in w.inspector.ids
    qtbot.waitUntil(lambda: w.last_frame is not None and w.last_frame.generation == w.runner.generation
                    and not w.last_frame.summary.settling and not w.readout.settling, timeout=WAIT_MS)
    assert rid not in w.last_frame.summary.racks
    assert w.view.transform() == zoom


class PaintRegions(QObject):
    """The regions the plan's viewport repaints."""

    def __init__(self, viewport):
        super().__init__()
        self.regions = []
        viewport.installEventFilter(self)

    def eventFilter(self, obj, event):  # Qt override
        if event.type() == QEvent.Paint:
            self.regions.append(event.region().boundingRect())
        return False


def test_a_drop_redraws_the_new_rack_not_the_whole_floor_and_a_resized_hall_redraws_it(qtbot, tmp_path):
    w = editing_window(qtbot, tmp_path)
    paints = PaintRegions(w.view.viewport())
    w.view.viewport().update()
    qtbot.waitUntil(lambda: bool(paints.regions), timeout=5000)  # the plan is on screen, painted whole
    QApplication.processEvents()  # and what that left pending
    paints.regions.clear()
    hall_on_screen = w.view.mapFromScene(w.scene.hall_item.rect()).boundingRect()
    drop(w, AIR_10KW, 1.5, 8.5)
    qtbot.waitUntil(lambda: bool(paints.regions), timeout=5000)  # the drop's repaint (however loaded the machine)
    area = max(r.width() * r.height() for r in paints.regions)
    # the new rack, its selection outline: a corner of the floor, not all of it (a new Hall value per edit
    # used to redraw the floor and with it every rack and tile on it)
    assert area < 0.2 * hall_on_screen.width() * hall_on_screen.height()
    assert w.scene.hall_item.hall is w.doc.site.hall
    # the floor does follow a hall that changes its size: redrawn whole, at its new width
    width = w.doc.site.hall.width_m
    paints.regions.clear()
    w.doc.execute(SetHallProperty(w.doc.site.hall.id, "width_m", width + 1.2))
    assert w.scene.hall_item.rect().width() == pytest.approx((width + 1.2) * PX)
    qtbot.waitUntil(lambda: bool(paints.regions) and max(r.width() * r.height() for r in paints.regions)
                    >= 0.9 * hall_on_screen.width() * hall_on_screen.height(), timeout=5000)


def test_a_drop_selects_the_new_rack_in_the_same_inspector_and_trend_widgets(qtbot, tmp_path):
    w = editing_window(qtbot, tmp_path)
    rack = w.doc.site.halls[0].racks[0].id
    w.scene.select_ids([rack])
    qtbot.waitUntil(lambda: w.inspector.ids == [rack], timeout=2000)
    editors, curve = widgets_of(w.inspector), w.trends.curves[rack]
    drop(w, AIR_10KW, 1.5, 8.5)
    new = [r.id for r in w.doc.site.halls[0].racks if r.id not in {rack}]
    qtbot.waitUntil(lambda: w.inspector.ids and w.inspector.ids[0] != rack, timeout=2000)
    (dropped,) = w.inspector.ids
    assert dropped in new and w.inspector.editors["id"].text() == dropped
    assert all(a is b for name, ws in widgets_of(w.inspector).items() for a, b in zip(ws, editors[name]))
    assert w.trends.curves == {dropped: curve}
    assert dropped in [label.text for _, label in w.trends.legends[0].items]
