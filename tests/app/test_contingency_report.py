"""The sweep in the review export and the PDF/HTML report: a ranked table with the risk map."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtGui import QColor

from dctwin.app import report
from dctwin.app.main import main
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.review import collect
from dctwin.twin.sim.contingency import SweepSettings
from dctwin.twin.store import verify_file
from dctwin.twin.store.sweep_job import SweepJob
from dctwin.widgets.floor_plan import PX


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    site = synthetic_site(4, rack_kw=8.0)
    site.halls[0] = dataclasses.replace(site.halls[0], grid_m=0.6)
    path = tmp_path_factory.mktemp("report") / "sweep.dctwin"
    SweepJob(site, SweepSettings(duration_s=480.0, elements=("SWB-M", "UPS-01A")), path, workers=1, record=1,
             hints=1).run()
    return path


def test_the_review_and_its_report_carry_the_ranked_sweep_with_the_risk_map(sweep_file, tmp_path, capsys, qapp):
    review, html, pdf = tmp_path / "review.dctwin", tmp_path / "r.html", tmp_path / "r.pdf"
    assert main(["export", str(sweep_file), "--out", str(review), "--html", str(html), "--pdf", str(pdf)]) == 0
    assert verify_file(review).intact
    data = collect(review)
    assert data.sweep is not None and data.sweep["scenarios"][0]["key"] == "fail:SWB-M"
    assert "SWB-M" in data.incident_name  # the latest recording is the most severe scenario's run
    text = html.read_text(encoding="utf-8")
    section = text[text.index("Contingency sweep: what if it fails? (N-1)"):]
    assert "<p>2 scenarios; each from the steady state" in section and "ranked by IT lost" in section
    rows = section.split("<tr>")[2:]
    assert "SWB-M fails" in rows[0] and "4 racks down" in rows[0] and "UPS-01A fails" in rows[1]
    assert "Design hint:" in section and "a second feed from" in section
    assert "Changes nothing</b> (1): UPS-01A fails" in section
    assert section.count("data:image/png;base64,") == 1  # the risk map
    assert pdf.read_bytes().startswith(b"%PDF")


def test_the_risk_map_fills_each_rack_by_its_single_failures(sweep_file, qapp):
    data = collect(sweep_file)
    img = report.render_risk_map(data, width_px=800)
    hall = data.sweep_site.halls[0]
    w = hall.width_m * PX
    h = hall.depth_m * PX
    m = 0.03 * max(w, h)
    scale = 800 / (w + 2 * m + 40)
    for rack in hall.racks:  # SWB-M takes every rack down: one single failure each
        x0, y0, x1, y1 = hall.footprint(rack)
        px = int(((x0 + 0.15 * (x1 - x0)) * PX + m) * scale)
        py = int(((hall.depth_m - (y0 + 0.5 * (y1 - y0))) * PX + m) * scale)
        c = QColor(img.pixel(px, py))
        assert c.red() > 200 and c.green() > 150 and c.blue() < 140, (rack.id, c.getRgb())
