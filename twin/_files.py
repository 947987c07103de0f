"""Writing files so that a failure never leaves half a file: the one atomic write of dctwin.

Every file dctwin writes (layouts, incidents, autosaves, CSV exports, rendered reports, new project
files and review copies) is built in a temporary file in the target's own folder, flushed and
fsynced, then ``os.replace``d onto the target, and the folder is fsynced so the rename survives a
power cut. Until the rename the target keeps its old contents; on any failure the temporary file
goes and the target is untouched.

:func:`atomic_write` writes text or bytes; :func:`write_atomically` lets a writer of its own (SQLite,
a PDF printer, an image encoder) fill the temporary file by path.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

#: what SQLite may leave beside a database file (removed with a failed temporary database)
SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")


class FolderNotWritable(OSError):
    """No temporary file can be made in the target's folder (no permission, no such folder): nothing
    was written. An ``OSError`` with the ``errno`` and ``strerror`` of the failure."""


class NotARegularFile(OSError):
    """The target exists and is a device, pipe or socket: the rename would put a plain file in its place
    (as root, ``/dev/null`` itself), so nothing is written. An ``OSError`` (``EINVAL``) naming the path."""


def refuse_special(path: str | os.PathLike) -> None:
    """Raise :class:`NotARegularFile` when ``path`` exists and is neither a regular file nor a folder (a
    device, pipe or socket, followed through symlinks): never replaced, never opened (a pipe blocks)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise NotARegularFile(errno.EINVAL, "is not a regular file (a device, pipe or socket); it is not "
                                            "written over", str(path))


def same_file(a: str | os.PathLike | None, b: str | os.PathLike | None) -> bool:
    """Whether ``a`` and ``b`` both exist and are one file (through links and other spellings of the path)."""
    return bool(a and b) and os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)


def atomic_write(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` (text, written without newline translation, or bytes) to ``path`` atomically.

    Raises ``OSError`` when it cannot be written (no folder, no permission, disk full; first of all
    :class:`NotARegularFile` or :class:`FolderNotWritable`); ``path`` keeps its old contents then and no
    temporary file is left.
    """
    raw = data.encode(encoding) if isinstance(data, str) else bytes(data)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(raw)

    return write_atomically(path, write)


def write_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Let ``write(tmp_path)`` fill a temporary file beside ``path``, then put it in place atomically.

    The temporary file exists (empty) when ``write`` is called; ``write`` may replace it (SQLite,
    Qt's writers). It gets the mode of the file it replaces, or the mode a new file would get. Then:
    fsync, ``os.replace`` onto ``path``, fsync the folder. Whatever ``write`` raises propagates,
    with the temporary file (and any SQLite journal beside it) removed and ``path`` untouched.
    """
    target = Path(path)
    refuse_special(target)
    folder = target.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise FolderNotWritable(exc.errno, exc.strerror, str(folder)) from exc
    os.close(fd)
    try:
        os.chmod(tmp, _mode_for(target))  # mkstemp makes it private (0600)
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        remove_quietly(tmp, SQLITE_COMPANIONS)
        raise
    fsync_folder(folder)
    return target


def _mode_for(target: Path) -> int:
    """The mode of the file ``target`` replaces, else what a plain new file gets under the umask."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_file(path: str | os.PathLike) -> None:
    """Flush ``path``'s contents to the disk."""
    fd = os.open(path, os.O_RDWR)  # Windows needs write access to flush a file
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename in it) to the disk, where the platform can (not Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # the rename is still atomic; only its durability across a power cut is not promised
        pass


def remove_quietly(path: str | os.PathLike, companions: tuple[str, ...] = ()) -> None:
    """Remove ``path`` and ``path + suffix`` for each of ``companions``, ignoring what is not there."""
    for suffix in ("",) + tuple(companions):
        try:
            os.unlink(f"{os.fspath(path)}{suffix}")
        except OSError:
            pass
