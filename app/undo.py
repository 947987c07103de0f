"""One QUndoCommand for every layout edit: a thin wrapper around a :mod:`dctwin.twin.model.commands` value.

``Document.execute`` applies the command first (an invalid edit raises and
nothing reaches the stack), then pushes a :class:`TwinUndoCommand` that knows
it has already been done, so ``push()``'s call of ``redo()`` does not apply it
twice. Undo applies the inverse the model returned; redo applies the inverse
of that, so both restore exact layouts.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtGui import QUndoCommand

from dctwin.twin.model.commands import Command
from dctwin.twin.model.layout import Site

log = logging.getLogger(__name__)


class TwinUndoCommand(QUndoCommand):
    """Undo/redo of one twin command on ``site``; ``on_change`` runs after every change."""

    def __init__(self, site_getter: Callable[[], Site], command: Command, inverse: Command,
                 on_change: Callable[[Command], None], applied: bool = True):
        super().__init__(command.text)
        self._site = site_getter
        self._forward = command
        self._inverse = inverse
        self._on_change = on_change
        self._skip_redo = applied

    @property
    def command(self) -> Command:
        return self._forward

    def redo(self) -> None:  # Qt override
        if self._skip_redo:  # push() calls redo(); the edit was applied (and validated) already
            self._skip_redo = False
            self._on_change(self._forward)
            return
        self._inverse = self._forward.apply(self._site())
        self._on_change(self._forward)

    def undo(self) -> None:  # Qt override
        self._forward = self._inverse.apply(self._site())
        self._on_change(self._inverse)
