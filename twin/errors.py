"""Errors that reach a person: each says what and where, and carries an exit code.

Every error dctwin raises on purpose derives from :class:`DctwinError`, so one ``except`` catches
them all (the CLI prints it and exits ``exit_code``; the GUI shows a dialog). Anything else is a bug.
"""

from __future__ import annotations

import typing


class DctwinError(Exception):
    """Bad input or a refused operation (not a bug). The CLI prints it and exits ``exit_code``."""

    exit_code = 2


class InputError(DctwinError):
    """A file, argument or reference given by the user is wrong."""


class ProjectFileError(DctwinError):
    """A project file is not a dctwin file, is damaged, or is from a newer version."""


class FileWriteError(InputError, OSError):
    """A file cannot be written where asked (missing folder, a folder or a project file in the way, no
    permission, disk full). Also an ``OSError``, so callers that guard a save with ``except OSError``
    (the editor's Save) show it as the failed save it is; the original file is untouched."""


class LayoutIssue(typing.NamedTuple):
    """One problem found in a layout: which element, which field, what."""

    element: str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.element or "layout"
        if self.field:
            where += f".{self.field}"
        return f"{where}: {self.message}"


class LayoutError(DctwinError):
    """A layout (or an edit of one, or an incident on one) is invalid. ``issues`` lists every problem."""

    def __init__(self, issues: list[LayoutIssue] | LayoutIssue | str, source: str = ""):
        if isinstance(issues, str):
            issues = [LayoutIssue("", "", issues)]
        elif isinstance(issues, LayoutIssue):
            issues = [issues]
        self.issues = list(issues)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.issues) == 1:
            text = head + str(self.issues[0])
        else:
            text = head + f"{len(self.issues)} errors\n" + "\n".join(f"  {i}" for i in self.issues)
        super().__init__(text)


class BudgetError(InputError):
    """A run refused before its work because it would cost more than its budget (air cells, march
    steps, sweeps), or stopped because it spent it; the message gives the figure and the limit."""


class ResultError(InputError):
    """A result the engine would report is no physical value (NaN, infinite, a temperature below absolute
    zero): an input lies outside what the model can carry. The message names the element and the value."""
