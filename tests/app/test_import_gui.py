"""GUI: File > Import > From NetBox... and From Spreadsheet...: the menu, the import of a dump with the
progress dialog, the report shown before the hall opens, the 'assumed' badge in the inspector."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from dctwin.app import import_dialogs
from dctwin.app.document import Document
from dctwin.app.runner import SimRunner
from dctwin.app.settings import Settings
from dctwin.app.window import MainWindow
from tests.twin.io.netbox_fixtures import site_objects, to_fixture


@pytest.fixture
def window(qtbot, tmp_path):
    runner = SimRunner()
    runner.available = False
    w = MainWindow(Document(), Settings(QSettings(str(tmp_path / "ui.ini"), QSettings.IniFormat)), runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def shown(monkeypatch):
    """Report dialogs shown (their text); each answers ``shown.answer``."""
    class Seen(list):
        answer = QDialog.Accepted

    seen = Seen()

    def exec_(self):
        seen.append(self.text.toPlainText())
        self.grab()  # it renders
        return seen.answer

    monkeypatch.setattr(import_dialogs.ImportReportDialog, "exec", exec_)
    return seen


def test_file_menu_has_import_entries(window):
    texts = [a.text() for a in window.import_menu.actions()]
    assert texts == ["From &NetBox…", "From &Spreadsheet…"]
    file_menu = window.menuBar().actions()[0].menu()
    assert window.import_menu.menuAction() in file_menu.actions()


def test_netbox_dialog_imports_a_dump_shows_the_report_then_opens_the_hall(window, qtbot, tmp_path, shown,
                                                                          monkeypatch):
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(site_objects())))

    def exec_dialog(dlg):
        dlg.kind.setCurrentIndex(0)
        qtbot.keyClicks(dlg.path, str(dump))
        qtbot.keyClicks(dlg.site, "DC-East")
        return QDialog.Accepted

    monkeypatch.setattr(import_dialogs.NetBoxImportDialog, "exec", exec_dialog)
    window.act_import_netbox.trigger()
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=20000)
    assert "Assumptions (" in shown[0] and "a device without a rack" in shown[0]
    qtbot.waitUntil(lambda: window.doc.site.name == "DC-East", timeout=5000)
    assert len(window.doc.site.halls[0].racks) == 24 and window.doc.dirty
    window.inspector.set_context(window.doc.site, ["A01"], None)
    badge = window.inspector.assumed_badge
    assert badge.isVisible() and "IT power" in badge.text()
    window.inspector.set_context(window.doc.site, ["UTIL"], None)
    window.inspector.set_context(window.doc.site, ["TILE-0001"], None)
    assert "element itself" in badge.text()


def test_cancelled_report_keeps_the_document(window, qtbot, tmp_path, shown):
    shown.answer = QDialog.Rejected
    before = window.doc.site
    sheet = tmp_path / "racks.csv"
    sheet.write_text("Name,kW\nR1,4\n")
    import_dialogs.run_import(window, "table", source=str(sheet))
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=20000)
    assert window.doc.site is before


def test_bad_source_shows_why(window, qtbot, tmp_path, dialogs):
    bad = tmp_path / "dump.json"
    bad.write_text("[1, 2")
    before = window.doc.site
    import_dialogs.run_import(window, "netbox", source=str(bad))
    qtbot.waitUntil(lambda: any("malformed JSON" in str(d) for d in dialogs), timeout=20000)
    assert window.doc.site is before
