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
