"""File > Export for Review…: one dialog writes the review file, the PDF and HTML report, the PNG floor plan
and the CSV files together; it checks first, shows progress, says clearly what failed, and a failure
replaces nothing (issue 17 item 14)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from dctwin.app import report
from dctwin.app.export_dialog import CSV_FILES, ExportDialog
from dctwin.twin.errors import InputError
from dctwin.twin.store import check_file
from dctwin.twin.store.project import KIND_REVIEW
from dctwin.widgets.floor_plan import PX
from tests.app.test_replay import open_replay, window  # noqa: F401  (the replay window fixture)
from tests.twin.replay_data import make_recording

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("export") / "run.dctwin")


def tick(qtbot, box):
    """Click a checkbox on its box, as a person does."""
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(9, box.height() // 2))


def make_dialog(qtbot, run_file, folder, base="drill", chosen=()):
    dlg = ExportDialog(str(run_file), 1, chosen=chosen)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.folder_edit.setText(str(folder))
    dlg.base_edit.clear()
    qtbot.keyClicks(dlg.base_edit, base)
    return dlg


def test_the_menu_opens_one_dialog_that_writes_all_five_outputs(qtbot, window, run_file, tmp_path, dialogs):
    w = window
    open_replay(qtbot, w, run_file)
    w.act_export_review.trigger()  # File > Export for Review…
    dlg = w.replay_presenter.export_dialog
    qtbot.waitExposed(dlg)
    assert [k for k, b in dlg.boxes.items() if b.isChecked()] == ["review", "pdf"]
    assert dlg.folder_edit.text() == str(run_file.parent) and dlg.base_edit.text() == "run"
    dlg.folder_edit.setText(str(tmp_path))
    dlg.base_edit.selectAll()
    qtbot.keyClicks(dlg.base_edit, "drill")
    for key in ("html", "png", "csv"):
        tick(qtbot, dlg.boxes[key])
    assert all(b.isChecked() for b in dlg.boxes.values())
    assert dlg.targets_shown["csv"].text() == "drill-csv/"
    stages = []
    dlg.progress.valueChanged.connect(lambda v: stages.append((v, dlg.stage.text())))
    with qtbot.waitSignal(dlg.sig_exported, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    written = blocker.args[0]
    assert written == [str(tmp_path / n) for n in ("drill-review.dctwin", "drill-report.pdf", "drill-report.html",
                                                   "drill-plan.png", "drill-csv")]
    assert check_file(tmp_path / "drill-review.dctwin").kind == KIND_REVIEW
    assert (tmp_path / "drill-report.pdf").read_bytes().startswith(b"%PDF")
    assert "data:image/png;base64," in (tmp_path / "drill-report.html").read_text(encoding="utf-8")
    assert not QImage(str(tmp_path / "drill-plan.png")).isNull()
    assert sorted(p.name for p in (tmp_path / "drill-csv").iterdir()) == sorted(CSV_FILES)
    # nothing else was left behind (the temporary folder is gone)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("drill") or p.name.startswith(".")) == \
        ["drill-csv", "drill-plan.png", "drill-report.html", "drill-report.pdf", "drill-review.dctwin"]
    # progress went step by step, each step named
    texts = [t for _, t in stages]
    assert any("review file" in t for t in texts) and any("CSV" in t for t in texts)
    assert any("report (PDF)" in t for t in texts) and any("floor plan (PNG)" in t for t in texts)
    assert dlg.progress.value() == dlg.progress.maximum() and "Wrote" in dlg.stage.text()
    assert "Exported 5 output(s)" in w.statusBar().currentMessage()
    assert not dialogs  # no error, no question (nothing existed)


def test_bad_choices_are_refused_before_anything_is_written(qtbot, run_file, tmp_path, dialogs):
    dlg = make_dialog(qtbot, run_file, tmp_path / "missing", chosen=("pdf",))
    qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    kind, title, text = dialogs[-1]
    assert kind == "critical" and "does not exist" in text and str(tmp_path / "missing") in text
    # a file that is not a review export is never replaced by one
    (tmp_path / "drill-review.dctwin").write_text("my notes")
    dlg.folder_edit.setText(str(tmp_path))
    tick(qtbot, dlg.boxes["review"])
    qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    kind, title, text = dialogs[-1]
    assert "exists and is not a review export" in text and "drill-review.dctwin" in text
    assert (tmp_path / "drill-review.dctwin").read_text() == "my notes"
    assert not (tmp_path / "drill-report.pdf").exists() and "not a review export" in dlg.stage.text()
    # nothing ticked: Export is off
    for box in dlg.boxes.values():
        box.setChecked(False)
    assert not dlg.export_button.isEnabled()
    # a base name with a folder in it
    dlg.boxes["png"].setChecked(True)
    dlg.base_edit.setText("../x")
    assert not dlg.export(replace=True) and "plain name" in dialogs[-1][2]


def test_a_failing_output_replaces_nothing_and_says_which_failed(qtbot, run_file, tmp_path, dialogs, monkeypatch):
    (tmp_path / "drill-report.pdf").write_bytes(b"the old report")
    dlg = make_dialog(qtbot, run_file, tmp_path, chosen=("review", "pdf", "png", "csv"))
    dialogs.answer = QMessageBox.Yes  # replace the existing report: asked first

    def broken_png(data, path, width_px=1600):
        raise InputError(f"{path}: the disk is full")

    monkeypatch.setattr(report, "write_png", broken_png)
    with qtbot.waitSignal(dlg.sig_failed, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(dlg.export_button, Qt.LeftButton)
    assert dialogs[0][0] == "question" and "drill-report.pdf" in dialogs[0][2]
    message = blocker.args[0]
    assert "floor plan (PNG)" in message and "the disk is full" in message and "Nothing was replaced" in message
    assert dialogs[-1][0] == "critical" and dialogs[-1][2] == message
    # the review file and the CSV were written before the PNG failed, but none of it was moved into place
    assert (tmp_path / "drill-report.pdf").read_bytes() == b"the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drill-report.pdf"]
    assert dlg.export_button.isEnabled() and dlg.job is None
    # answering No to "replace?" writes nothing at all
    dialogs.answer = QMessageBox.No
    assert not dlg.export()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drill-report.pdf"]


# ---------------------------------------------------------------------- the report's layout
@pytest.fixture(scope="module")
def review_data(run_file):
    from dctwin.twin.review import collect

    return collect(run_file)


def test_no_heading_is_left_at_the_foot_of_a_page_apart_from_its_figure(qapp, review_data):
    doc = report.pdf_document(review_data)
    page_h = doc.pageSize().height()
    layout = doc.documentLayout()
    headings = 0
    block = doc.begin()
    while block.isValid():
        if block.blockFormat().headingLevel() > 0 and block.next().isValid():
            headings += 1
            kept = report._kept_with(block)
            top = layout.blockBoundingRect(block).top()
            bottom = layout.blockBoundingRect(kept).bottom()
            assert int(top // page_h) == int((bottom - 1e-3) // page_h), block.text()
        block = block.next()
    assert headings >= 5
    assert doc.pageCount() >= 3


def test_the_pdf_pages_show_the_source_as_an_absolute_path(qapp, run_file, tmp_path, monkeypatch):
    from dctwin.twin.review import collect

    monkeypatch.chdir(run_file.parent)
    data = collect(run_file.name)  # given as a relative name
    assert data.file == str(run_file)
    assert f"File {run_file}," in report.report_html(data, {"floor_plan": "", "timeline": "", "trends": ""})
    out = report.write_pdf(data, tmp_path / "r.pdf")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
        assert str(run_file.parent) in text.replace("\n", "")


def test_the_plan_picture_keeps_its_colour_bar_text_inside_and_row_labels_readable(qapp, review_data):
    width = 1600
    img = report.render_floor_plan(review_data, width)
    band_top = img.height() - report.colour_bar_height(_font(width))

    def dark(x, y):
        c = img.pixelColor(x, y)
        return c.red() + c.green() + c.blue() < 3 * 120

    # the bar's text (title and values, the last one "40 °C" included) ends before the picture's edges
    for x in list(range(0, 6)) + list(range(width - 6, width)):
        assert not any(dark(x, y) for y in range(band_top, img.height())), x
    assert not any(dark(x, y) for x in range(width) for y in range(img.height() - 3, img.height()))
    assert any(dark(x, y) for x in range(width - 80, width - 20) for y in range(band_top, img.height()))
    # the row labels: text about 1 % of the picture's width tall (the scene's own are 11 px at any size)
    plain = report.render_floor_plan(review_data, width, show_heat=False)
    hall = review_data.site.halls[0]
    m = 0.03 * max(hall.width_m, hall.depth_m) * PX
    scale = width / (hall.width_m * PX + 2 * m + 40)

    def x_img(x_m):
        return int((x_m * PX + m) * scale)

    west_end = min(hall.footprint(r)[0] for r in hall.racks)
    dark_rows = [y for y in range(band_top) if any(
        sum(plain.pixelColor(x, y).getRgb()[:3]) < 3 * 80 for x in range(x_img(0.3), x_img(west_end) - 4, 2))]
    runs = []  # heights of the runs of rows with dark pixels: the labels' glyphs
    for y in dark_rows:
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    heights = [b - a + 1 for a, b in runs]
    # rows A and B (the tall run is CRAH-1 against the west wall)
    assert len([h for h in heights if 0.01 * width <= h <= 0.03 * width]) == 2, heights


def _font(width):
    from PySide6.QtGui import QFont

    f = QFont()
    f.setPixelSize(report.text_px(width))
    return f


def test_row_labels_never_cover_a_rack_in_a_crowded_hall(qapp, review_data):
    """ai-hall: rows close to the walls and to each other; each label finds free floor (or shrinks)."""
    import dataclasses

    from dctwin.twin.model.demos import load_demo

    site = load_demo("ai-hall")
    hall = site.halls[0]
    data = dataclasses.replace(review_data, site=site, hall_id=hall.id, heat=None)
    width = 1600
    with_labels = report.render_floor_plan(data, width)
    without = report.render_floor_plan(data, width, row_labels=False)
    m = 0.03 * max(hall.width_m, hall.depth_m) * PX
    scale = width / (hall.width_m * PX + 2 * m + 40)
    plan_h = without.height() - report.colour_bar_height(_font(width))
    dy = (plan_h - (hall.depth_m * PX + 2 * m) * scale) / 2 + (hall.depth_m * PX + m) * scale
    changed = 0
    for rack in hall.racks:
        x0, y0, x1, y1 = hall.footprint(rack)
        for x in range(int((x0 * PX + m) * scale) + 2, int((x1 * PX + m) * scale) - 2, 3):
            for y in range(int(-y1 * PX * scale + dy) + 2, int(-y0 * PX * scale + dy) - 2, 3):
                if with_labels.pixelColor(x, y) != without.pixelColor(x, y):
                    changed += 1
    assert changed == 0
    # the labels are there (the pictures differ beside the rows)
    assert with_labels != without
