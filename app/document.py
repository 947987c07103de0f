"""The open document: a site, its undo stack, its file path and whether it has unsaved changes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.commands import Command, add_row, plan_row
from dctwin.twin.model.layout import Element, Hall, PowerNode, Site
from dctwin.twin.model.power_chain import add_power_nodes
from dctwin.twin.model.layoutfile import load_layout, save_layout

from dctwin.app.undo import TwinUndoCommand

log = logging.getLogger(__name__)


def blank_site() -> Site:
    """An empty 24 m x 14.4 m raised-floor hall (what File > New opens)."""
    return Site(name="untitled", halls=[Hall(id="H1", width_m=24.0, depth_m=14.4, height_m=3.2)])


class Document(QObject):
    """Owns the site and the undo stack; every edit goes through :meth:`execute`."""

    #: the site changed (an edit, undo or redo); the argument is the command that ran (None: replaced)
    sig_site_changed = Signal(object)
    #: a new site was loaded or created (views rebuild)
    sig_site_replaced = Signal()
    #: the file path changed (str, "" for none)
    sig_path_changed = Signal(str)
    #: unsaved changes appeared or went away
    sig_dirty_changed = Signal(bool)

    def __init__(self, site: Optional[Site] = None, path: Optional[str] = None, parent=None):
        super().__init__(parent)
        self.site: Site = site if site is not None else blank_site()
        self.path: Optional[str] = path
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_undo_clean_changed)
        self.revision = 0
        self._forced_dirty = False  # a recovered layout is unsaved work although its stack is empty
        #: why the layout cannot be changed now ("" when it can): a replayed recording or a review export
        self.read_only_reason = ""

    def _on_undo_clean_changed(self, clean: bool) -> None:
        self.sig_dirty_changed.emit(not clean)

    # ---- state
    @property
    def dirty(self) -> bool:
        return self._forced_dirty or not self.undo_stack.isClean()

    def mark_unsaved(self) -> None:
        """Treat the current layout as unsaved (after recovering it from an autosave)."""
        self._forced_dirty = True
        self.sig_dirty_changed.emit(True)

    @property
    def title(self) -> str:
        return Path(self.path).name if self.path else (self.site.name or "untitled")

    @property
    def read_only(self) -> bool:
        """The layout shown cannot be changed (every edit is refused, and it cannot be saved)."""
        return bool(self.read_only_reason)

    def set_read_only(self, reason: str) -> None:
        """Refuse every edit with ``reason`` ("" allows edits again)."""
        self.read_only_reason = reason

    # ---- edits
    def execute(self, command: Command) -> None:
        """Apply ``command`` and put it on the undo stack. Raises LayoutError (and changes nothing),
        also when the document is read-only: every edit path ends here."""
        if self.read_only:
            raise LayoutError(LayoutIssue("layout", "", self.read_only_reason))
        inverse = command.apply(self.site)
        self.undo_stack.push(TwinUndoCommand(lambda: self.site, command, inverse, self._changed))

    def _changed(self, command: Optional[Command]) -> None:
        self.revision += 1
        self.sig_site_changed.emit(command)

    def place_command(self, prototype: Element, x_m: float, y_m: float, count: int = 1,
                      hall_id: Optional[str] = None) -> Command:
        """The command that drops ``count`` copies of ``prototype`` in a row at (x_m, y_m), with new ids (power
        equipment on the floor of ``hall_id``, each drawing from its usual source). Raises LayoutError when
        power equipment has nothing to draw from."""
        if isinstance(prototype, PowerNode):
            spots = [(e.x_m, e.y_m) for e in plan_row(prototype, x_m, y_m, count)]
            return add_power_nodes(self.site, prototype, spots, hall_id or self.site.halls[0].id)
        return add_row(prototype, x_m, y_m, count, self.site.ids(), hall_id)

    # ---- files
    def load(self, path: str) -> None:
        """Replace the site by the layout in ``path``. Raises LayoutError; the document is unchanged then."""
        site = load_layout(path)
        self.replace(site, str(Path(path)))

    def replace(self, site: Site, path: Optional[str] = None) -> None:
        self._forced_dirty = False
        self.site = site
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.revision += 1
        self._set_path(path)
        self.sig_site_replaced.emit()
        self.sig_dirty_changed.emit(False)

    def save(self, path: Optional[str] = None) -> None:
        """Write the layout (atomically). Raises OSError / LayoutError; the old file stays then."""
        target = path or self.path
        if self.read_only:
            raise ValueError(self.read_only_reason)
        if not target:
            raise ValueError("no file name to save to")
        save_layout(self.site, target)
        self._set_path(str(Path(target)))
        was_forced, self._forced_dirty = self._forced_dirty, False
        self.undo_stack.setClean()
        if was_forced:
            self.sig_dirty_changed.emit(False)

    def _set_path(self, path: Optional[str]) -> None:
        if path != self.path:
            self.path = path
            self.sig_path_changed.emit(path or "")
