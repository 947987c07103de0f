"""The review report of a shadow replay says which values were measured and which estimated: its section
on measured data (roles of every sensor, residuals, the site's log), the sensors on its floor plan, the
worst sensors' trends; the review export of it is intact and reads the same."""

from __future__ import annotations

import pytest

from dctwin.app.report import write_html
from dctwin.twin.review import collect
from dctwin.twin.store import export_review, verify_file
from tests.app.measured_helpers import make_shadow


@pytest.fixture(scope="module")
def shadow(tmp_path_factory):
    return make_shadow(tmp_path_factory.mktemp("report_measured"), estimate=True, holdout=3)


def test_report_states_measured_and_estimated(shadow, tmp_path):
    path, summary = shadow
    review = tmp_path / "review.dctwin"
    export_review(path, review)
    assert verify_file(review).intact
    data = collect(review)
    assert data.measured is not None and len(data.measured.sensors) == summary["sensors"]
    assert not [e for e in data.events if e.details.get("origin") == "measured" and e.kind.startswith("set_")]
    out = tmp_path / "report.html"
    write_html(data, out)
    text = out.read_text()
    assert "Measured beside predicted" in text and "shadow replay of measured data" in text
    assert "never measured" in text and "held back (tests the estimate)" in text
    # where the estimate is shown, truly (the floor plan shows the prediction), and the plan's colour scale
    assert ("the racks on this report's floor plan (coloured by their predicted inlet; replayed in the window "
            "they can show the estimate instead), the heat map, the rack trends and the key figures") in text
    assert "what the floor plan shows between sensors" not in text
    assert f"full colour at {data.measured.residual_scale_k():g} K" in text
    assert "imposed on the model" in text and "corrects the estimate" in text
    for s in data.measured.sensors:
        assert s.point in text
    assert "fan motor overload trip" in text and "applied to the model" in text and "shown only" in text
    assert text.count("data:image/png;base64,") == 4  # floor plan, trends, timeline, measured trends
    assert "(site log)" in text  # the events the shadow took from the log are not called injected
    plain = collect(path)  # the project file reads the same
    assert [s.point for s in plain.measured.sensors] == [s.point for s in data.measured.sensors]
