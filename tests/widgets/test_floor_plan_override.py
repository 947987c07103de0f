"""The floor plan's inlet override (a shadow replay's estimated inlets): the racks' inlet and state colours
and their tooltip read it instead of the summary's, a recirculating rack keeps the model's rise from its own
exhaust on top, and clearing it shows the summary again."""

from __future__ import annotations

from dctwin.twin.model.demos import load_demo
from dctwin.twin.sim.results import HallSummary, RackResult
from dctwin.widgets.colormaps import STATE_COLOURS
from dctwin.widgets.floor_plan import FloorPlanScene


def test_overridden_inlets_colour_the_racks_until_cleared(qapp):
    scene = FloorPlanScene(load_demo("small"))
    a1, a2, a3 = "R-A01", "R-A02", "R-A03"
    scene.apply_summary(HallSummary(racks={
        a1: RackResult(22.0, state="on"),
        a2: RackResult(22.0, state="on", recirculated_share=0.4, server_intake_c=25.0),  # +3 K from its exhaust
        a3: RackResult(23.0, state="on")}))
    scene.set_inlet_override({a1: 30.0, a2: 30.0})
    assert scene.items_by_id[a1].fill == scene.temp_scale.colour(30.0)
    assert scene.items_by_id[a2].fill == scene.temp_scale.colour(33.0)
    assert scene.items_by_id[a3].fill == scene.temp_scale.colour(23.0)  # no estimate: the summary's
    tip = scene.tooltip_for(scene.items_by_id[a1])
    assert "inlet 22.0 °C" in tip and "estimated inlet 30.0 °C" in tip
    scene.set_metric("state")
    assert scene.items_by_id[a1].fill == STATE_COLOURS["allowable"]  # 30 °C: above 27, within A1's 32
    assert scene.items_by_id[a2].fill == STATE_COLOURS["out_of_allowable"]  # its servers breathe 33 °C
    assert scene.items_by_id[a3].fill == STATE_COLOURS["recommended"]
    scene.set_inlet_override(None)
    assert scene.items_by_id[a1].fill == STATE_COLOURS["recommended"]
    scene.set_metric("inlet_c")
    assert scene.items_by_id[a1].fill == scene.temp_scale.colour(22.0)
    assert "estimated" not in scene.tooltip_for(scene.items_by_id[a1])
