"""Errors that reach a person: each says what and where, and carries an exit code."""

from __future__ import annotations


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
