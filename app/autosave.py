"""Autosave in the window: unsaved edits written aside a few seconds after the last one, and offered
back after a crash.

The files and their format are :mod:`dctwin.twin.store.autosave`'s; this keeps the timer, follows the
document and asks the person.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from dctwin.twin.errors import LayoutError, ProjectFileError

if TYPE_CHECKING:
    from dctwin.app.window import MainWindow

log = logging.getLogger(__name__)


class Autosaver(QObject):
    """Autosave of ``window``'s document into ``folder`` (the default folder if None), when ``enabled``."""

    #: milliseconds after the last edit before unsaved work is autosaved
    DELAY_MS = 3000

    def __init__(self, window: "MainWindow", enabled: bool = False, folder: Optional[str] = None):
        super().__init__(window)
        self.w = window
        self.enabled = enabled
        self.folder = folder
        self.delay_ms = self.DELAY_MS
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._write)
        window.doc.sig_site_changed.connect(lambda _command: self._schedule())
        window.doc.sig_dirty_changed.connect(self._on_doc_dirty_changed)

    def _on_doc_dirty_changed(self, dirty: bool) -> None:
        if not dirty:
            self.close()

    def _schedule(self) -> None:
        if self.enabled:  # push() runs the edit before the stack counts it: check dirty when the timer fires
            self._timer.start(self.delay_ms)

    def _write(self) -> None:
        from dctwin.twin.store.autosave import write_autosave  # (the store loads on first use: the window opens sooner)

        doc = self.w.doc
        if not doc.dirty:
            return
        try:
            write_autosave(doc.site, doc.path, folder=self.folder)
        except (OSError, ValueError) as exc:  # autosave must never get in the way of editing
            log.warning("autosave failed: %s", exc)
            self.w.show_status(f"Autosave failed: {exc}")

    def close(self) -> None:
        """No autosave is wanted any more (the work was saved, discarded, or the window closes)."""
        self._timer.stop()
        if not self.enabled:
            return
        from dctwin.twin.store.autosave import discard_autosave

        try:
            discard_autosave(folder=self.folder)
        except OSError as exc:
            log.warning("cannot remove autosave: %s", exc)

    def offer_recovery(self) -> bool:
        """If an earlier session crashed with unsaved edits, offer to reopen them. True if recovered."""
        from dctwin.twin.store.autosave import discard_autosave, find_autosaves, load_autosave

        w = self.w
        try:
            found = find_autosaves(self.folder)
        except OSError as exc:
            log.warning("cannot look for autosaves: %s", exc)
            return False
        if not found:
            return False
        info = found[0]
        what = info.document or "an untitled layout"
        answer = QMessageBox.question(
            w, "Recover unsaved changes",
            f"dctwin did not close properly last time. Unsaved changes to {what} were autosaved at "
            f"{info.saved_at}.\n\nRecover them?", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        if answer != QMessageBox.Yes:
            for other in found:
                discard_autosave(other.path)
            return False
        try:
            site = load_autosave(info.path)
        except (LayoutError, ProjectFileError) as exc:
            QMessageBox.critical(w, "Cannot recover", f"The autosave cannot be read:\n\n{exc}")
            return False
        w.doc.replace(site, None)
        w.doc.mark_unsaved()
        for other in found:
            discard_autosave(other.path)
        self._schedule()
        w.show_status(f"Recovered unsaved changes to {what}; save them to keep them")
        return True
