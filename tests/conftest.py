"""Shared test setup: Qt runs offscreen, QSettings go to a temporary folder, dialogs never block.

The Qt parts load only for tests outside tests/twin (which never imports Qt).
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# every test solves from rest: no test reads a solution another stored (tests/twin/sim/test_solved.py switches
# the store on, in a temporary folder); subprocesses inherit it
os.environ["DCTWIN_SOLVED_CACHE"] = "off"

import pytest  # noqa: E402


def _is_qt_test(request) -> bool:
    return f"{os.sep}tests{os.sep}twin{os.sep}" not in str(request.node.fspath)


@pytest.fixture(autouse=True)
def _automatic_garbage_collection_outside_qt(request):
    """Once a GUI test started a worker, the automatic collector is off and a timer in the GUI thread collects
    (app/workers.py); tests/twin runs no event loop, so there the automatic collector is back on for each test."""
    if _is_qt_test(request) or gc.isenabled():
        yield
        return
    gc.enable()
    try:
        yield
    finally:
        gc.disable()


@pytest.fixture(scope="session")
def _qsettings_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("qsettings")


@pytest.fixture(autouse=True)
def dialogs(request, monkeypatch, _qsettings_dir):
    """Every QMessageBox shown during a GUI test, as (kind, title, text); none of them blocks.

    ``dialogs.answer`` is what warning/question return (default: Discard).
    """
    calls: list = []
    if not _is_qt_test(request):
        yield calls
        return
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(_qsettings_dir))

    class Recorder(list):
        answer = QMessageBox.Discard

    calls = Recorder()

    def fake(kind):
        def show(parent, title, text, *args, **kwargs):
            calls.append((kind, title, text))
            return calls.answer if kind in ("warning", "question") else QMessageBox.Ok
        return show

    for kind in ("critical", "warning", "question", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(fake(kind)))
    yield calls
