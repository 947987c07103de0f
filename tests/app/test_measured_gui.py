"""GUI: a shadow replay of measured data in the window: the Measured dock (one sensor's measured,
predicted and estimated trend), the sensors on the floor plan coloured by their residual at the replayed
second, the site's event log in its own timeline lane; closing the replay takes it all away."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.app.window import MainWindow
from dctwin.widgets.sensor_overlay import residual_colour
from dctwin.widgets.timeline import LANES, SITE_LANES
from tests.app.measured_helpers import make_shadow


@pytest.fixture(scope="module")
def shadow_file(tmp_path_factory):
    return make_shadow(tmp_path_factory.mktemp("measured_gui"))


def _open(qtbot, window, path):
    with qtbot.waitSignal(window.sig_replay_shown, timeout=120_000):
        window.open_recording(str(path))


def test_shadow_replay_shows_measured_beside_predicted(qtbot, shadow_file):
    path, summary = shadow_file
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    _open(qtbot, w, path)
    mp = w.replay_presenter.measured()
    assert mp.dock.isVisible() and mp.view is not None
    view = mp.view
    temps = [s for s in view.sensors if s.quantity in ("inlet_c", "exhaust_c", "supply_c", "return_c")]
    assert set(mp.overlay.marks) == {s.point for s in temps}
    # the plan's colours on the recording's own scale, said in the dock
    assert mp.overlay.full_scale_k == view.residual_scale_k()
    assert f"full colour at ±{view.residual_scale_k():g} K" in mp.panel.plan_note.text()
    # the list opens on the worst temperature sensor the model predicts (not a power in watts)
    predicted = [s for s in temps if s.role != "boundary" and s.rms is not None]
    first = view.sensors[view.index(mp.panel.combo.itemData(0))]
    assert first.quantity.endswith("_c") and first.rms == max(s.rms for s in predicted)
    assert w.timeline.view.lanes == SITE_LANES
    site = [m for m in w.timeline.view.markers if m.lane == "site"]
    assert any("fan motor overload trip" in m.label for m in site)
    real = [m for m in w.timeline.view.markers if m.label.startswith("real: fail CRAH-1")]
    assert real, "the trip the shadow applied from the log is marked as real"
    # seek into the trip: each marker takes the colour of its residual at that second
    t = 3900.0
    with qtbot.waitSignal(w.sig_replay_shown, timeout=60_000):
        w.timeline.seek(t)
    # a shadow without an estimator: the racks show the prediction, the only choice offered
    assert not mp.has_estimate() and mp.racks_shown() == "predicted" and not mp.shortcut.isEnabled()
    assert w.scene.inlet_override == {} and mp.plan_label.text() == "Racks: predicted inlet, the model alone"
    res = view.residuals_at(t)
    k = next(p for p in mp.overlay.marks if np.isfinite(res[p]) and abs(res[p]) > 0.2)
    assert mp.overlay.marks[k].brush().color() == residual_colour(res[k], view.residual_scale_k())
    assert f"model {'+' if res[k] >= 0 else ''}{res[k]:.1f} K" in mp.overlay.marks[k].toolTip()
    # the trend of the chosen sensor: measured dots, predicted line, cursor at the replayed second
    mp.panel.show_point(k)
    i = view.index(k)
    xs, ys = mp.panel.predicted.getData()
    assert np.allclose(ys, view.predicted[:, i]) and mp.panel.cursor.value() == pytest.approx(t)
    assert mp.overlay.marks[k].scale() > 1.0  # the chosen sensor stands out on the plan
    w.grab().save(str(path.parent / "measured.png"))
    w.close_replay()
    assert not mp.dock.isVisible() and mp.overlay is None and w.timeline.view.lanes == LANES
    assert not [it for it in w.scene.items() if it.data(0) == k]


@pytest.fixture(scope="module")
def estimated_file(tmp_path_factory):
    return make_shadow(tmp_path_factory.mktemp("measured_gui_est"), estimate=True)


def _estimate_at(view, j, t):
    i = int(np.searchsorted(view.rack_t_s, t + 1e-9, side="right")) - 1
    return float(view.rack_estimated_inlet_c[i, j])


def test_shadow_replay_racks_show_the_estimate_or_the_prediction(qtbot, estimated_file):
    """The racks on the plan show the estimate (default) or the prediction: their inlet colour, their tooltip
    and the line naming it follow the switch (dock or Ctrl+E); scrubbing keeps it, closing clears it."""
    from PySide6.QtCore import Qt

    path, _ = estimated_file
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    w.metric_combo.setCurrentIndex(w.metric_combo.findData("inlet_c"))
    _open(qtbot, w, path)
    mp = w.replay_presenter.measured()
    view, scene, data = mp.view, w.scene, w.replay_presenter.data
    assert mp.has_estimate() and mp.racks_shown() == "estimated"
    t = 3900.0
    with qtbot.waitSignal(w.sig_replay_shown, timeout=60_000):
        w.timeline.seek(t)
    # the rack whose estimate differs most from its prediction (the replayed state) at that second,
    # among the racks whose servers breathe the room air at their front (intake = inlet)
    racks = scene.summary.racks
    cand = [(abs(_estimate_at(view, j, t) - racks[rid].intake_c), j, rid) for j, rid in enumerate(data.rack_ids)
            if rid in racks and racks[rid].intake_c == racks[rid].inlet_c]
    gap, j, rid = max(cand)
    assert gap > 0.3, "the estimate corrects the prediction somewhere"
    est, pred = _estimate_at(view, j, t), racks[rid].intake_c
    item = scene.items_by_id[rid]
    assert scene.temp_scale.colour(est) != scene.temp_scale.colour(pred)
    assert item.fill == scene.temp_scale.colour(est)
    assert f"estimated inlet {est:.1f} °C" in scene.tooltip_for(item)
    assert mp.plan_label.isVisible() and "estimated inlet" in mp.plan_label.text()
    w.grab().save("/tmp/s22estplan.png")
    # Ctrl+E: the prediction again
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key_E, Qt.ControlModifier)
    assert mp.racks_shown() == "predicted" and mp.panel.racks_combo.currentData() == "predicted"
    assert item.fill == scene.temp_scale.colour(pred)
    assert "estimated inlet" not in scene.tooltip_for(item)
    assert "predicted inlet" in mp.plan_label.text()
    w.grab().save("/tmp/s22estplan_pred.png")
    # back to the estimate in the dock, then scrub: the choice stays, the colour follows the second
    mp.panel.racks_combo.setCurrentIndex(mp.panel.racks_combo.findData("estimated"))
    t2 = 2400.0
    est2 = _estimate_at(view, j, t2)
    assert scene.temp_scale.colour(est2) != scene.temp_scale.colour(est), "the rack's estimate moved between the seconds"
    with qtbot.waitSignal(w.sig_replay_shown, timeout=60_000):
        w.timeline.seek(t2)
        assert item.fill == scene.temp_scale.colour(est2)  # at once, over the preview of the recorded series
    assert mp.racks_shown() == "estimated"
    assert item.fill == scene.temp_scale.colour(est2)
    # the ASHRAE state colouring reads the estimate too
    from dctwin.twin.sim.metrics import STATUS_NAMES, ashrae_status
    from dctwin.widgets.colormaps import state_colour

    w.metric_combo.setCurrentIndex(w.metric_combo.findData("state"))
    status = STATUS_NAMES[int(ashrae_status(np.array([est2]), [item.element.ashrae_class])[0])]
    assert item.fill == state_colour(status)
    w.metric_combo.setCurrentIndex(w.metric_combo.findData("inlet_c"))
    w.close_replay()
    assert scene.inlet_override == {} and not mp.plan_label.isVisible() and not mp.shortcut.isEnabled()
