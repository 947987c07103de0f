"""File > Import: From NetBox... and From Spreadsheet..., with a progress dialog and the import report
shown before the imported hall opens.

The work runs in :func:`dctwin.twin.io.import_site` on a worker thread (the window's progress dialog
while it runs); a refused import shows why and leaves the open document as it was.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

log = logging.getLogger(__name__)

SOURCE_KINDS = ("Dump file (manage.py dumpdata)", "Folder of API responses", "Live NetBox (URL + token)")
SHEET_FILTER = "Rack lists (*.csv *.xlsx);;All files (*)"


def install_import_menu(window) -> None:
    """Put File > Import (From NetBox..., From Spreadsheet...) into ``window``'s File menu, above Save."""
    file_menu = window.menu("File")
    menu = file_menu.addMenu("&Import")
    file_menu.insertMenu(window.act_save, menu)
    window.import_menu = menu
    window.act_import_netbox = menu.addAction("From &NetBox…", lambda: import_netbox_dialog(window))
    window.act_import_netbox.setStatusTip("Import a site from a NetBox dump, saved API responses or a live NetBox")
    window.act_import_table = menu.addAction("From &Spreadsheet…", lambda: import_table_dialog(window))
    window.act_import_table.setStatusTip("Import racks from a .csv or .xlsx rack list")


class NetBoxImportDialog(QDialog):
    """Where the NetBox data is (a file, a folder, or URL + token file) and which site."""

    def __init__(self, parent: Optional[QWidget] = None, can_update: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Import from NetBox")
        self.kind = QComboBox(self)
        self.kind.addItems(SOURCE_KINDS)
        self.path = QLineEdit(self)
        self.path.setObjectName("netbox_path")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://netbox.example.com")
        self.token_file = QLineEdit(self)
        self.token_file.setPlaceholderText("file holding the API token")
        self.site = QLineEdit(self)
        self.site.setPlaceholderText("needed when the source holds several sites")
        self.update_open = QCheckBox("Update the open layout (keep the positions moved in the editor)", self)
        self.update_open.setChecked(can_update)
        self.update_open.setEnabled(can_update)
        form = QFormLayout()
        form.addRow("Source", self.kind)
        form.addRow("File or folder", row)
        form.addRow("URL", self.url)
        form.addRow("Token file", self.token_file)
        form.addRow("Site", self.site)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.update_open)
        lay.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()

    def _on_kind_changed(self) -> None:
        live = self.kind.currentIndex() == 2
        self.path.setEnabled(not live)
        self.url.setEnabled(live)
        self.token_file.setEnabled(live)

    def _browse(self) -> None:
        if self.kind.currentIndex() == 1:
            path = QFileDialog.getExistingDirectory(self, "Folder of NetBox API responses")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "NetBox dump", "", "JSON (*.json);;All files (*)")
        if path:
            self.path.setText(path)

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`dctwin.twin.io.import_site` (the token read from its file)."""
        from dctwin.twin.io.netbox_source import read_token_file

        site = self.site.text().strip() or None
        if self.kind.currentIndex() == 2:
            return {"url": self.url.text().strip(), "token": read_token_file(self.token_file.text().strip()),
                    "site": site}
        return {"source": self.path.text().strip(), "site": site}


class ImportReportDialog(QDialog):
    """The import report (counts, assumptions, skipped) with Open and Cancel: nothing opens unread."""

    def __init__(self, report, summary: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Import report")
        self.resize(760, 520)
        head = QLabel(f"<b>{summary}</b><br>Values marked <i>assumed</i> came from defaults; the inspector shows "
                      f"them with an “assumed” badge.", self)
        head.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("import_report_text")
        self.text.setReadOnly(True)
        self.text.setPlainText(report.summary(max_items=12))
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel, self)
        buttons.button(QDialogButtonBox.Open).setText("Open Hall")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.text, 1)
        lay.addWidget(buttons)


def _imported(site) -> bool:
    return any(el.external_id for _, _, _, el in site.iter_elements())


def import_netbox_dialog(window) -> None:
    if not window.confirm_discard():
        return
    dlg = NetBoxImportDialog(window, can_update=_imported(window.doc.site))
    window.import_dialog = dlg
    if dlg.exec() != QDialog.Accepted:
        return
    try:
        kw = dlg.arguments()
    except Exception as exc:  # a DctwinError from the token file: say it, keep the document
        _refused(window, str(exc))
        return
    run_import(window, "netbox", update=dlg.update_open.isChecked(), **kw)


def import_table_dialog(window) -> None:
    if not window.confirm_discard():
        return
    path, _ = QFileDialog.getOpenFileName(window, "Import rack list", "", SHEET_FILTER)
    if path:
        run_import(window, "table", source=path)


def run_import(window, kind: str, update: bool = False, **kw):
    """Import in a worker thread with the window's progress dialog; then the report, then the hall.
    Returns the job (tests wait on its signals)."""
    from dctwin.app.workers import Job
    from dctwin.twin import io as twin_io

    base = window.doc.site.copy() if update else None
    job = Job(lambda _task: twin_io.import_site(kind, base=base, **kw), window)
    return window.run_job(job, "Importing…", lambda result: show_report(window, *result), "Cannot import")


def show_report(window, site, report) -> bool:
    """The report dialog; on Open the imported site replaces the document (unsaved)."""
    dlg = ImportReportDialog(report, site.summary(), window)
    window.import_report_dialog = dlg
    if dlg.exec() != QDialog.Accepted:
        window.show_status("Import cancelled: the open layout is unchanged")
        return False
    window.doc.replace(site, None)
    window.doc.mark_unsaved()
    window.show_status(f"Imported {site.summary()} ({len(report.assumptions)} assumption(s)); save it to keep it")
    return True


def _refused(window, message: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    log.warning("import refused: %s", message)
    window.show_status(f"Cannot import: {message}")
    QMessageBox.critical(window, "Cannot import", message)
