"""The sensors of a shadow replay on the floor plan: coloured on the recording's own residual scale (a fixed
3 K showed ai-hall's residuals of 0.2-1 K all white), and a cooling unit's supply and return apart (they
sat on one spot, the supply hiding the return)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtGui import QColor

from dctwin.twin.assimilate.review import MeasuredView, SensorInfo
from dctwin.twin.model.demos import load_demo
from dctwin.widgets.floor_plan import to_scene
from dctwin.widgets.measured_trends import MeasuredTrendsPanel
from dctwin.widgets.sensor_overlay import SensorOverlay, residual_colour


def _view(residual_k: np.ndarray, roles: list[str]) -> MeasuredView:
    n, m = residual_k.shape
    sensors = [SensorInfo(f"p{k}", "R", "inlet_c", "K", roles[k]) for k in range(m)]
    measured = np.full((n, m), 25.0, np.float32)
    t = np.arange(n) * 60.0
    return MeasuredView(1, 0.0, sensors, t, measured, measured + residual_k.astype(np.float32), measured,
                        t, np.zeros((n, 0)), {})


def test_residual_scale_follows_the_recording():
    rng = np.random.default_rng(1)
    small = rng.normal(0.0, 0.3, size=(200, 5))  # |r| 95th percentile about 0.6 K
    assert _view(small, ["assimilated"] * 5).residual_scale_k() == 1.0
    big = rng.normal(0.0, 2.0, size=(200, 5))
    assert _view(big, ["assimilated"] * 5).residual_scale_k() == 3.0  # at most 3 K
    tiny = np.full((10, 2), 0.01)
    assert _view(tiny, ["assimilated"] * 2).residual_scale_k() == 0.5  # at least 0.5 K
    # the imposed boundary values do not set the scale
    mixed = np.column_stack([small[:, 0], np.full(200, 9.0)])
    assert _view(mixed, ["assimilated", "boundary"]).residual_scale_k() == 1.0
    # NaN (no reading) is left out
    gaps = small.copy()
    gaps[::3] = np.nan
    assert _view(gaps, ["holdout"] * 5).residual_scale_k() == 1.0


def test_overlay_colours_on_its_scale_and_keeps_supply_and_return_apart(qtbot):
    site = load_demo("ai-hall")
    hall = site.halls[0]
    unit = next(u for u in hall.cooling_units if u.kind == "inrow")
    rack = hall.racks[0]
    sensors = [SimpleNamespace(point=f"{unit.id}/{q}", element=unit.id, quantity=q, role="compared")
               for q in ("supply_c", "return_c")]
    sensors.append(SimpleNamespace(point="inlet", element=rack.id, quantity="inlet_c", role="holdout"))
    overlay = SensorOverlay()
    overlay.full_scale_k = 1.0
    overlay.set_sensors(site, hall.id, sensors)
    sup, ret = overlay.marks[f"{unit.id}/supply_c"], overlay.marks[f"{unit.id}/return_c"]
    x0, y0, x1, y1 = unit.footprint()
    centre = to_scene((x0 + x1) / 2, (y0 + y1) / 2)
    assert sup.pos() != ret.pos()
    # on either side of the unit's centre, the supply on the side it faces
    d = {"N": (0, 1), "S": (0, -1), "E": (1, 0), "W": (-1, 0)}[unit.facing]
    front = to_scene((x0 + x1) / 2 + d[0], (y0 + y1) / 2 + d[1]) - centre
    s_off, r_off = sup.pos() - centre, ret.pos() - centre
    assert s_off.x() * front.x() + s_off.y() * front.y() > 0 > r_off.x() * front.x() + r_off.y() * front.y()
    overlay.set_residuals({f"{unit.id}/return_c": 0.5, "inlet": -1.0})
    assert ret.brush().color() == residual_colour(0.5, 1.0) != residual_colour(0.5)  # half red on a 1 K scale
    assert overlay.marks["inlet"].brush().color() == QColor(0, 0, 255)  # full blue at -1 K
    assert sup.brush().color() == QColor(150, 150, 150)  # no reading: grey


def test_panel_says_the_plan_scale(qtbot):
    panel = MeasuredTrendsPanel()
    qtbot.addWidget(panel)
    panel.set_view(_view(np.full((5, 1), 0.2), ["assimilated"]))
    panel.set_plan_scale(1.5)
    assert "full colour at ±1.5 K" in panel.plan_note.text()
    panel.set_view(None)
    assert panel.plan_note.text() == ""


@pytest.mark.parametrize("r", [-5.0, 5.0])
def test_residual_colour_saturates(r):
    assert residual_colour(r, 2.0) == residual_colour(2.0 * np.sign(r), 2.0)
