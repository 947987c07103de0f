"""The report's pictures leave no Qt object for Python's collector: their scenes (items holding each other in
reference cycles) are destroyed in the thread that drew them, never later wherever a collection runs."""

from __future__ import annotations

import gc

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QGraphicsItem

from dctwin.app import report
from dctwin.twin.review import collect
from tests.twin.replay_data import make_recording


@pytest.fixture(scope="module")
def review_data(tmp_path_factory):
    return collect(make_recording(tmp_path_factory.mktemp("garbage") / "run.dctwin"), at_s=60.0)


def live_qt_objects_in_garbage() -> list[str]:
    """The Qt objects (still alive in C++) that only the cyclic collector would free."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(0)
    found = [type(o).__name__ for o in gc.garbage
             if isinstance(o, (QObject, QGraphicsItem)) and shiboken6.isValid(o)]
    gc.garbage.clear()
    return found


@pytest.mark.parametrize("render", ["floor_plan", "pdf"])
def test_report_pictures_leave_no_qt_object_to_the_collector(qapp, review_data, render, tmp_path):
    live_qt_objects_in_garbage()  # what earlier tests left
    if render == "floor_plan":
        assert not report.render_floor_plan(review_data).isNull()
    else:
        assert report.write_pdf(review_data, tmp_path / "review.pdf").read_bytes().startswith(b"%PDF")
    assert live_qt_objects_in_garbage() == []
