"""The README's drag-overlay benchmark (``python -m dctwin.app.find_space_bench``) runs in the real window:
it waits for the steady solve through the read-out's settling bar, drags the palette's 20 kW rack and reports
the map it drew (it broke once when the settling bar moved into the read-out)."""

from __future__ import annotations

from dctwin.app.find_space_bench import drag_latency


def test_the_drag_bench_drags_a_rack_over_small_and_reports_the_map_it_drew(qapp):
    out = drag_latency("small", drags=1, timeout_s=300.0)
    assert out["hall"] == "small" and len(out["drag_to_map_s"]) == 1
    assert out["drag_to_map_s"][0] > 0.0
    tiles = out["tiles"]
    assert sum(tiles.values()) > 0 and tiles["fits"] + tiles["tight"] > 0  # small has room for a 20 kW rack
