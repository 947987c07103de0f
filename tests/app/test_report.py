"""Review report: `dctwin export --png/--pdf/--html` on a real recording (the key figures and the
alarms' explanations it shows are tested headless in tests/twin/test_review.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QImage

from dctwin.app import report
from dctwin.app.main import main
from dctwin.twin.store import Project, replay_to
from dctwin.widgets.floor_plan import PX
from dctwin.widgets.colormaps import ColorScale
from tests.twin.replay_data import make_recording


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("report") / "run.dctwin")


def test_export_png_pdf_html_from_the_cli(run_file, tmp_path, capsys, qapp):
    png, pdf, html = tmp_path / "plan.png", tmp_path / "review.pdf", tmp_path / "review.html"
    assert main(["export", str(run_file), "--at", "60", "--png", str(png), "--pdf", str(pdf),
                 "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {png} (floor plan at t = 00:01:00)" in out and f"wrote {pdf}" in out
    assert pdf.read_bytes().startswith(b"%PDF")
    text = html.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text and "Key figures" in text and "CRAH-1 trips" in text
    # the picture is the hall: its shape, and each rack filled with the colour of its inlet at t = 60 s
    img = QImage(str(png))
    assert not img.isNull()
    with Project.open(run_file, read_only=True) as p:
        reader = p.recording()
        site = reader.layout()
        summary = replay_to(reader, 60.0).summary()
    hall = site.halls[0]
    src = QRectF(0, -hall.depth_m * PX, hall.width_m * PX, hall.depth_m * PX)
    m = 0.03 * max(src.width(), src.height())
    src = src.adjusted(-m, -m, m + 40, m)
    scale = img.width() / src.width()
    font = QFont()
    font.setPixelSize(report.text_px(img.width()))
    assert img.height() == pytest.approx(src.height() * scale + report.colour_bar_height(font), abs=2)
    temp = ColorScale()
    hits = 0
    for rack in hall.racks:
        x0, y0, x1, y1 = hall.footprint(rack)
        # a point inside the footprint, clear of the centred label and the front stripe
        px = ((x0 + 0.2 * (x1 - x0)) * PX - src.left()) * scale
        py = (-(y0 + 0.5 * (y1 - y0)) * PX - src.top()) * scale
        got = img.pixelColor(int(px), int(py))
        want = temp.colour(summary.racks[rack.id].inlet_c)
        if max(abs(got.red() - want.red()), abs(got.green() - want.green()), abs(got.blue() - want.blue())) <= 3:
            hits += 1
    assert hits == len(hall.racks)


def test_bad_report_arguments_are_clear_errors(run_file, tmp_path, capsys):
    assert main(["export", str(run_file), "--png", str(tmp_path / "plan.jpg")]) == 2
    assert "--png must name a .png file" in capsys.readouterr().err
    assert main(["export", str(run_file), "--at", "500", "--pdf", str(tmp_path / "r.pdf")]) == 2
    assert "outside recording 1" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()
    assert main(["export", str(run_file), "--pdf", str(tmp_path / "no" / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
