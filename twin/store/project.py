"""Open, create, check, migrate and save dctwin project files.

A project is one SQLite file (see :mod:`dctwin.twin.store.schema`). Rules kept here:

- Every file is first opened read-only through a ``file:...?mode=ro`` URI
  (which never creates a missing file) with ``trusted_schema=OFF``, then
  checked: ``application_id``, ``user_version``, ``quick_check``, tables.
  Anything wrong raises :class:`~dctwin.twin.errors.ProjectFileError` naming the file.
- A file from an older schema is migrated into a copy (the original is never
  changed); a file from a newer schema is refused.
- A live project runs in WAL with ``synchronous=NORMAL``; one writer
  connection per file (:class:`Project` owns it). Saves and recording batches
  are transactions; an explicit save and a finished recording checkpoint.
- One writing process per file: a writable :class:`Project` holds an
  exclusive ``flock`` on ``<file>-lock`` (which names its pid) for as long as
  it is open; a second writer is refused ("... is being written by another
  dctwin process (pid N)"); readers are never blocked. The lock goes with the
  process, so a crash never leaves a file locked.
- A ``-journal`` or ``-wal`` beside a file is applied only if it belongs to
  it: when no dctwin process is writing the file, a copy of the pair is
  recovered in a scratch folder and must give an intact dctwin file (full
  ``integrity_check``) with the same ``file_id``; otherwise it is left alone,
  the file opens read-only as last saved (SQLite ``immutable``), and a warning
  says so.
- Files of format 1 (no checksums, no compression) open read-only in place;
  opening one for writing migrates it into a compact copy, as does
  ``dctwin compact``.
- A full disk ends a write with a message saying so; what was committed
  before stays, and the file still opens.
- New files, Save As, migrations and review exports are built in a temporary
  file in the target folder, checked, closed, fsynced and renamed into place
  with ``os.replace``: a failed operation never touches an existing target.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import shutil
import socket
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from sqlalchemy import create_engine, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from dctwin import twin
from dctwin.twin._files import SQLITE_COMPANIONS, FolderNotWritable, fsync_file, fsync_folder, remove_quietly
from dctwin.twin._files import write_atomically
from dctwin.twin.errors import ProjectFileError
from dctwin.twin.store.recording import RecordingReader
from dctwin.twin.store.schema import (
    APPLICATION_ID, MEASURED_CRC_SINCE, MEASURED_TABLE_NAMES, MEASURED_TABLES, OLDEST_READABLE, OPTIONAL_TABLES,
    SCHEMA_VERSION, TABLE_NAMES, TABLES, Incident, LayoutVersion, Meta, Recording, has_crc, row_crc, with_crc,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: one writer per file is then the user's care
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: schema migrations: ``MIGRATIONS[v](con)`` turns a version-``v`` file into ``v + 1`` (raw sqlite3)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

KIND_PROJECT = "project"
KIND_REVIEW = "review"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def file_uri(path: str | os.PathLike, mode: str) -> str:
    """A SQLite URI for ``path`` with ``mode``: ``ro`` or ``rw`` (neither creates the file), or
    ``immutable`` (read-only, and any journal or WAL beside the file is ignored)."""
    return Path(path).resolve().as_uri() + ("?immutable=1" if mode == "immutable" else f"?mode={mode}")


@dataclass(frozen=True)
class FileInfo:
    """What a read-only check found in a project file."""

    path: Path
    user_version: int
    kind: str  # "project" or "review"
    journal_mode: str
    #: companions (``-journal``, ``-wal``) found beside the file that do not belong to it: never applied
    ignored: tuple[str, ...] = ()
    file_id: str = ""

    @property
    def uri(self) -> str:
        """The URI to read the file through (``immutable`` when a companion is ignored)."""
        return file_uri(self.path, "immutable" if self.ignored else "ro")

    @property
    def warning(self) -> str:
        if not self.ignored:
            return ""
        names = " and ".join(f"{self.path.name}{c}" for c in self.ignored)
        return (f"{self.path}: {names} beside it does not belong to it and was not applied; the file is "
                f"read as it was last saved, read-only")


def _fail(path: Path, message: str) -> ProjectFileError:
    return ProjectFileError(f"{path}: {message}")


_SQLITE_FULL = 13


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (sqlite3, SQLAlchemy or OSError, or one of their causes) says the disk is full."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlite_errorcode", None) is not None and exc.sqlite_errorcode & 0xFF == _SQLITE_FULL:
            return True
        if "database or disk is full" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__  # type: ignore[assignment]
        seen += 1
    return False


def write_failed(path: Path, what: str, exc: BaseException) -> ProjectFileError:
    """The error for a write into ``path`` that failed: a full disk is said in so many words."""
    if disk_full(exc):
        return _fail(path, f"the disk is full: {what} could not be written (what was saved before is "
                           f"kept and the file still opens; free some space and try again)")
    detail = getattr(exc, "orig", None) or exc
    return _fail(path, f"{what} could not be written ({type(detail).__name__}: {detail})")


class _Writing:
    """``with _Writing(path, what):`` turns a failed database write into :func:`write_failed`'s error."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is not None and isinstance(exc, (sqlite3.Error, SQLAlchemyError, OSError)) \
                and not isinstance(exc, ProjectFileError):
            raise write_failed(self.path, self.what, exc) from exc
        return False


# --------------------------------------------------------------------------- one writing process per file

def lock_path(path: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(path)}-lock")


class WriterLock:
    """An exclusive ``flock`` on ``<file>-lock``, held by the one process writing ``<file>``.

    The lock file names the holder's pid (for the message a second writer gets) and is removed
    when the lock is released. The kernel drops the lock when the process dies, so a crash
    leaves at most a stale, unlocked lock file, which the next writer takes over.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = lock_path(path)
        self.fd: Optional[int] = None

    def acquire(self) -> "WriterLock":
        if fcntl is None:  # pragma: no cover
            return self
        while True:
            try:
                fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise _fail(self.path, f"cannot be opened for writing: no lock file can be made beside it "
                                       f"({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _lock_holder(fd)
                os.close(fd)
                raise _fail(self.path, f"is being written by another dctwin process{holder}; it cannot be "
                                       f"written by two at once (open it read-only, or wait until that "
                                       f"process has finished)") from None
            try:  # a writer that was closing may have removed the file we locked: lock the one in place
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            self.fd = fd
            return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.lock)  # while still locked: the next writer locks a file that exists
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        return f" (pid {int(text[0])})" if text else ""
    except (OSError, ValueError, IndexError):
        return ""


def being_written(path: str | os.PathLike) -> bool:
    """Whether a dctwin process (this one included) holds the writer lock of ``path`` now."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(lock_path(path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


#: SQLite extended codes of a read-only connection that finds a crashed writer's journal or WAL
_NEEDS_RECOVERY = {8, 264, 520, 776, 1288}  # SQLITE_READONLY and its _RECOVERY, _CANTLOCK, _ROLLBACK, _CANTINIT
_SQLITE_HEADER = b"SQLite format 3\x00"


def _header_says_dctwin(p: Path) -> bool:
    """The 100-byte SQLite header names our application_id (bytes 68-71, big-endian)."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(100)
    except OSError:
        return False
    return len(head) == 100 and head[:16] == _SQLITE_HEADER and int.from_bytes(head[68:72], "big") == APPLICATION_ID


def _recover(p: Path) -> None:
    """Let SQLite roll back a hot journal / rebuild the WAL index a killed writer left (only for our files).

    Recovery restores the last committed state; nothing else is written.
    """
    con = sqlite3.connect(file_uri(p, "rw"), uri=True, isolation_level=None)
    try:
        con.execute("PRAGMA trusted_schema=OFF")
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    finally:
        con.close()


_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
_WAL_MAGIC = (0x377F0682, 0x377F0683)


def _companions(p: Path) -> list[str]:
    """Suffixes of a ``-journal`` (hot: it starts with the journal magic) or ``-wal`` (a WAL header)
    beside ``p`` that SQLite would apply when opening it."""
    found = []
    for suffix, ok in (("-journal", lambda h: h[:8] == _JOURNAL_MAGIC),
                       ("-wal", lambda h: len(h) >= 32 and int.from_bytes(h[:4], "big") in _WAL_MAGIC)):
        try:
            with open(f"{p}{suffix}", "rb") as fh:
                head = fh.read(32)
        except OSError:
            continue
        if head and ok(head):
            found.append(suffix)
    return found


def _file_id(uri: str) -> str:
    """``meta.file_id`` of the database at ``uri`` ("" if it has none or cannot be read)."""
    try:
        con = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error:
        return ""
    try:
        con.execute("PRAGMA trusted_schema=OFF")
        row = con.execute("SELECT value FROM meta WHERE key = 'file_id'").fetchone()
        return str(row[0]) if row else ""
    except sqlite3.Error:
        return ""
    finally:
        con.close()


def _belongs(p: Path, suffix: str) -> bool:
    """Whether the ``suffix`` companion beside ``p`` is ``p``'s own: recovered together in a scratch
    folder they must give an intact dctwin file with ``p``'s ``file_id``. ``p`` is not touched."""
    if suffix == "-wal":
        try:
            with open(p, "rb") as fh:
                head = fh.read(20)
        except OSError:
            return False
        if len(head) == 20 and head[18] == 1 and head[19] == 1:
            return False  # a dctwin writer puts the file in WAL mode before it has a WAL: this is another's
    try:
        with tempfile.TemporaryDirectory(prefix="dctwin-check-") as tmp:
            copy = Path(tmp) / "copy.dctwin"
            shutil.copyfile(p, copy)
            shutil.copyfile(f"{p}{suffix}", f"{copy}{suffix}")
            con = sqlite3.connect(copy, isolation_level=None)
            try:
                con.execute("PRAGMA trusted_schema=OFF")
                if con.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                    return False
                if not OLDEST_READABLE <= con.execute("PRAGMA user_version").fetchone()[0] <= SCHEMA_VERSION:
                    return False
                if [r[0] for r in con.execute("PRAGMA integrity_check(5)")] != ["ok"]:
                    return False
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
                if any(t not in names for t in TABLE_NAMES):
                    return False
            finally:
                con.close()
            return _file_id(file_uri(copy, "ro")) == _file_id(file_uri(p, "immutable"))
    except (OSError, sqlite3.Error):
        return False


def check_file(path: str | os.PathLike, *, full: bool = False, structure: bool = True) -> FileInfo:
    """Open ``path`` read-only and check that it is an intact dctwin file this version can read.

    Older schema versions pass (the caller migrates them into a copy). ``full``
    runs ``integrity_check`` instead of ``quick_check``. A dctwin file left by
    a killed writer whose journal or WAL a read-only connection cannot replay
    is recovered first (through a read-write connection: SQLite rolls back to
    the last commit, nothing else changes); other files are never written.
    Raises :class:`ProjectFileError` with a message naming the file otherwise.
    ``structure=False`` lets through a file whose tables were dropped or that
    holds triggers or views (for :func:`dctwin.twin.store.export.verify_file`, which
    only reads, and reports them as alterations).
    """
    p = Path(path)
    if p.is_file():
        _check_header(p)
        found = _companions(p)
        if found and not being_written(p):
            foreign = tuple(c for c in found if not _belongs(p, c))
            if foreign:
                info = _check(p, full, structure, ignored=foreign)
                log.warning("%s", info.warning)
                return info
    try:
        return _check(p, full, structure)
    except _NeedsRecovery:
        if not _header_says_dctwin(p):
            raise _fail(p, "is not a dctwin project file (a database another program left mid-write)") from None
        import logging

        logging.getLogger(__name__).warning("%s: recovering after a crash of the program writing it", p)
        try:
            _recover(p)
        except sqlite3.Error as exc:
            raise _fail(p, f"was left mid-write by a crash and cannot be recovered here ({exc})") from None
        try:
            return _check(p, full, structure)
        except _NeedsRecovery:
            raise _fail(p, "was left mid-write by a crash and could not be recovered") from None


class _NeedsRecovery(Exception):
    pass


def _check(p: Path, full: bool, structure: bool = True, ignored: tuple[str, ...] = ()) -> FileInfo:
    if not p.exists():
        raise _fail(p, "no such file")
    if not p.is_file():
        raise _fail(p, "is not a file")
    _check_header(p)
    try:
        con = sqlite3.connect(file_uri(p, "immutable" if ignored else "ro"), uri=True, isolation_level=None)
        con.text_factory = lambda b: b.decode("utf-8", "replace")  # damaged text still makes a message
    except sqlite3.Error as exc:
        raise _fail(p, f"cannot be opened: {exc}") from None
    try:
        try:
            con.execute("PRAGMA trusted_schema=OFF")
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) in _NEEDS_RECOVERY:
                raise _NeedsRecovery() from None
            if "not a database" in str(exc):
                raise _fail(p, "is not a dctwin project file (not an SQLite database)") from None
            raise _fail(p, f"is damaged and cannot be read ({exc})") from None
        if app_id != APPLICATION_ID:
            raise _fail(p, f"is not a dctwin project file (SQLite application_id is 0x{app_id & 0xFFFFFFFF:08X}, "
                           f"expected 0x{APPLICATION_ID:08X})")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _fail(p, f"was written by a newer dctwin (file schema version {version}; this version "
                               f"reads up to {SCHEMA_VERSION}). Update dctwin to open it")
            if version < OLDEST_READABLE:
                raise _fail(p, "is damaged: it is marked as a dctwin file but has no schema version")
            check = "integrity_check" if full else "quick_check"
            rows = [" ".join(str(r[0]).split()) for r in con.execute(f"PRAGMA {check}(20)").fetchall()]
            if rows != ["ok"]:
                raise _fail(p, "is damaged (" + "; ".join(rows[:3]) + (" ..." if len(rows) > 3 else "") + ")")
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            _check_size(con, p, "delete" if ignored else journal)
            objects = con.execute("SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view', 'trigger')"
                                  ).fetchall()
            foreign = [f"{t} {n!r}" for t, n in objects if t != "table"]
            if foreign and structure:
                # dctwin files have neither: a trigger would run inside our own writes (Save As, export), a view
                # could stand in for data; refuse instead of opening a file someone has edited this way
                raise _fail(p, "has been altered: it holds " + ", ".join(foreign[:5])
                            + (" ..." if len(foreign) > 5 else "") + ", which dctwin files never have; not opened")
            names = {n for t, n in objects if t == "table"}
            kind = KIND_PROJECT
            if structure:
                missing = [t for t in TABLE_NAMES if t not in names]
                if missing:
                    raise _fail(p, "is damaged: missing table(s) " + ", ".join(missing))
                for t in TABLES + [m for m in MEASURED_TABLES if m.name in names]:
                    have = {r[1] for r in con.execute(f"PRAGMA table_info({t.name})")}
                    want = _columns(t, version)
                    if want - have:
                        raise _fail(p, f"is damaged: table {t.name} lacks column(s) "
                                       f"{', '.join(sorted(want - have)[:4])} of a dctwin file of format {version}")
            if "meta" in names:
                row = con.execute("SELECT value FROM meta WHERE key='kind'").fetchone()
                kind = row[0] if row else KIND_PROJECT
            if kind != KIND_REVIEW and "manifest" in names and \
                    con.execute("SELECT count(*) FROM manifest").fetchone()[0] > 0:
                kind = KIND_REVIEW  # only exports hold a manifest: an edited "kind" must not make one writable
            if kind not in (KIND_PROJECT, KIND_REVIEW):
                raise _fail(p, f"is damaged: unknown file kind {str(kind)[:40]!r} in its meta table")
            file_id = ""
            if "meta" in names:
                row = con.execute("SELECT value FROM meta WHERE key='file_id'").fetchone()
                file_id = str(row[0]) if row else ""
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # SQLite's message may quote damaged text
            if getattr(exc, "sqlite_errorcode", None) in _NEEDS_RECOVERY:
                raise _NeedsRecovery() from None
            raise _fail(p, f"is damaged and cannot be read ({exc})") from None
    finally:
        con.close()
    return FileInfo(p, int(version), str(kind), str(journal), ignored, file_id)


#: columns format 2 added to the tables of format 1
_FORMAT2_COLUMNS = {"crc", "codec", "base_id", "first_array_id", "n_arrays", "n_keyframes", "n_events", "n_alarms",
                    "n_chunks"}


def _columns(table: Any, version: int) -> set[str]:
    """The columns ``table`` has in a file of format ``version``."""
    names = {c.name for c in table.columns}
    if table.name in MEASURED_TABLE_NAMES and version < MEASURED_CRC_SINCE:
        names -= {"crc"}
    return names if version >= 2 else names - _FORMAT2_COLUMNS


def _check_header(p: Path) -> None:
    """Refuse what SQLite would quietly take for an empty database: an empty file, a cut-off header."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise _fail(p, f"cannot be read: {exc.strerror or exc}") from None
    if not head:
        raise _fail(p, "is not a dctwin project file (it is empty: 0 bytes)")
    if not head.startswith(_SQLITE_HEADER[:len(head)]) or len(head) < len(_SQLITE_HEADER):
        if head.startswith(_SQLITE_HEADER[:len(head)]):
            raise _fail(p, f"is truncated ({len(head)} bytes)")
        raise _fail(p, "is not a dctwin project file (not an SQLite database)")
    if len(head) < 100:
        raise _fail(p, f"is truncated ({len(head)} bytes; an SQLite header alone is 100)")


def _check_size(con: sqlite3.Connection, p: Path, journal: str) -> None:
    """A file shorter than the pages its header counts was cut off (a copy or download that stopped)."""
    if str(journal).lower() == "wal" and Path(str(p) + "-wal").exists():
        return  # committed pages may still live in the WAL
    need = con.execute("PRAGMA page_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
    size = p.stat().st_size
    if size < need:
        raise _fail(p, f"is truncated: {size} bytes where its header needs {need} (an incomplete copy?)")


def backup_into_place(src: sqlite3.Connection, dest: str | os.PathLike,
                      transform: Optional[Callable[[sqlite3.Connection], None]] = None,
                      dest_locked: bool = False) -> Path:
    """Copy ``src`` with the SQLite backup API into ``dest`` atomically.

    The copy goes to a temporary file in ``dest``'s folder; ``transform(con)``
    may change it; it is switched to ``journal_mode=DELETE``, ``quick_check``ed,
    closed, fsynced and ``os.replace``d onto ``dest``. On any failure the
    temporary file is removed and an existing ``dest`` is untouched. A ``dest`` a dctwin process
    is writing is refused (unless ``dest_locked``: the caller holds its writer lock).
    """
    dest = Path(dest)
    folder = dest.resolve().parent
    if not folder.is_dir():
        raise ProjectFileError(f"{dest}: folder {folder} does not exist")
    if dest.exists() and not dest.is_file():
        raise ProjectFileError(f"{dest}: is not a file")
    if dest.exists() and not dest_locked and being_written(dest):
        raise _fail(dest, "is being written by a dctwin process; it is not replaced")

    def copy(tmp: str) -> None:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(con)
            mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode.lower() != "delete":
                raise ProjectFileError(f"{dest}: could not switch the copy to journal_mode=DELETE ({mode})")
            if transform is not None:
                transform(con)
            rows = [r[0] for r in con.execute("PRAGMA quick_check").fetchall()]
            if rows != ["ok"]:
                raise ProjectFileError(f"{dest}: the copy failed its check ({'; '.join(rows[:3])})")
        finally:
            con.close()

    try:
        return write_atomically(dest, copy)
    except FolderNotWritable as exc:
        raise ProjectFileError(f"{dest}: cannot write in {folder}: {exc.strerror}") from None
    except (sqlite3.Error, OSError) as exc:  # e.g. disk full: nothing at dest changed
        if disk_full(exc):
            raise _fail(dest, "could not be written: the disk is full (nothing was changed there)") from exc
        raise ProjectFileError(f"{dest}: could not be written ({exc}); nothing was changed there") from exc


def copy_into_place(uri: str, dest: str | os.PathLike,
                    transform: Optional[Callable[[sqlite3.Connection], None]] = None) -> Path:
    """:func:`backup_into_place` from the file at ``uri`` (opened read-only for the copy)."""
    src = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        src.execute("PRAGMA trusted_schema=OFF")
        return backup_into_place(src, dest, transform)
    finally:
        src.close()


def _default_migrated_path(path: Path) -> Path:
    base = path.with_name(f"{path.stem}.v{SCHEMA_VERSION}{path.suffix or '.dctwin'}")
    cand, k = base, 2
    while cand.exists():
        cand = base.with_name(f"{path.stem}.v{SCHEMA_VERSION}-{k}{path.suffix or '.dctwin'}")
        k += 1
    return cand


def migrate_copy(path: str | os.PathLike, dest: Optional[str | os.PathLike] = None,
                 after: Optional[Callable[[sqlite3.Connection], None]] = None) -> Path:
    """Migrate an older project file into a new file (``dest`` or ``<stem>.v<N>.dctwin``).

    The original is opened read-only and never changed; an existing ``dest`` is
    refused. ``after(con)`` runs on the migrated copy before it is put in place.
    """
    import dctwin.twin.store.compact  # noqa: F401  (registers the step 1 -> 2)

    p = Path(path)
    info = check_file(p)
    if info.user_version == SCHEMA_VERSION:
        raise _fail(p, f"is already at schema version {SCHEMA_VERSION}; nothing to migrate")
    out = Path(dest) if dest is not None else _default_migrated_path(p)
    if out.exists():
        raise ProjectFileError(f"{out}: already exists; choose another name for the migrated copy")
    missing = [v for v in range(info.user_version, SCHEMA_VERSION) if v not in MIGRATIONS]
    if missing:
        raise _fail(p, f"schema version {info.user_version} cannot be migrated (no step from version {missing[0]})")

    def run(con: sqlite3.Connection) -> None:
        for v in range(info.user_version, SCHEMA_VERSION):
            con.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[v](con)
                con.execute(f"PRAGMA user_version = {int(v + 1)}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        con.execute("VACUUM")  # a step that rewrites tables leaves their old pages free
        if after is not None:
            after(con)

    return copy_into_place(info.uri, out, run)


def _make_engine(path: Path, read_only: bool, immutable: bool = False) -> Engine:
    """One SQLAlchemy engine over exactly one sqlite3 connection (the single writer)."""
    uri = file_uri(path, "immutable" if immutable else "ro" if read_only else "rw")

    def creator() -> sqlite3.Connection:
        con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA trusted_schema=OFF")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=5000")
        if not read_only:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            # checkpoint (and fsync) every ~40 MB of WAL rather than 4 MB: a keyframe is several MB
            con.execute("PRAGMA wal_autocheckpoint=10000")
        return con

    eng = create_engine("sqlite://", creator=creator, poolclass=StaticPool)

    @event.listens_for(eng, "begin")
    def _begin(conn: Any) -> None:  # pysqlite's implicit transactions are off; we issue BEGIN ourselves
        conn.exec_driver_sql("BEGIN")

    @event.listens_for(eng, "handle_error")
    def _damaged(context: Any) -> None:  # a read that meets damage says so, naming the file
        exc = context.original_exception
        if _is_damage(exc):
            raise _fail(path, f"is damaged and cannot be read ({exc})") from None

    return eng


#: SQLite result codes of damage: SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGE_CODES = (11, 26)


def _is_damage(exc: BaseException) -> bool:
    """Whether a database error means the file is damaged (not busy, locked or full)."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    return (code is not None and code & 0xFF in _DAMAGE_CODES) or "Could not decode to UTF-8" in text \
        or "malformed" in text or "no such column" in text


def recount(con: sqlite3.Connection, recording_id: int) -> None:
    """Set a recording's row counts (``n_keyframes``, ...) to what ``con`` holds, and its crc (a copy
    being built: a migration, a review export)."""
    from dctwin.twin.store.schema import COUNTED

    t = Recording.__table__
    for col, table in COUNTED.items():
        n = con.execute(f"SELECT count(*) FROM {table} WHERE recording_id = ?", (recording_id,)).fetchone()[0]
        con.execute(f"UPDATE recordings SET {col} = ? WHERE id = ?", (n, recording_id))
    cols = [c.name for c in t.columns if c.name != "crc"]
    row = dict(zip(cols, con.execute(f"SELECT {', '.join(cols)} FROM recordings WHERE id = ?",
                                     (recording_id,)).fetchone()))
    con.execute("UPDATE recordings SET crc = ? WHERE id = ?", (row_crc(t, row), recording_id))


def _build_empty(tmp: str) -> None:
    """Fill the empty file ``tmp`` with the tables of a new project."""
    def creator() -> sqlite3.Connection:
        con = sqlite3.connect(tmp, isolation_level=None)
        # a temporary file: we fsync it before it is linked into place, and a crash leaves only it
        con.execute("PRAGMA synchronous=OFF")
        return con

    eng = create_engine("sqlite://", creator=creator, poolclass=StaticPool)
    event.listen(eng, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    try:
        with eng.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
            Meta.metadata.create_all(conn, tables=TABLES)
            conn.execute(insert(Meta.__table__), [
                {"key": "kind", "value": KIND_PROJECT},
                {"key": "file_id", "value": uuid.uuid4().hex},
                {"key": "created_at", "value": now_iso()},
                {"key": "created_by", "value": f"dctwin {twin.__version__}"},
            ])
    finally:
        eng.dispose()


@dataclass(frozen=True)
class LayoutInfo:
    id: int
    saved_at: str
    note: str


@dataclass(frozen=True)
class RecordingInfo:
    id: int
    layout_id: int
    incident_id: Optional[int]
    hall_id: Optional[str]
    dt_s: float
    duration_s: float
    engine_version: str
    started_at: str
    finished: bool
    keyframes: int
    events: int


class Project:
    """An open project file. Use :meth:`create` or :meth:`open`; close it (or use ``with``).

    One ``Project`` holds the only connection it writes through; use it from one
    thread at a time (the GUI's store worker owns it). A writable one holds the
    file's writer lock (:class:`WriterLock`) until it is closed.
    """

    def __init__(self, path: Path, info: FileInfo, read_only: bool, migrated_from: Optional[Path] = None,
                 lock: Optional[WriterLock] = None):
        self.path = path
        self.kind = info.kind
        self.version = info.user_version
        self.read_only = read_only
        self.migrated_from = migrated_from
        #: what opening found and said (e.g. a journal beside the file that was not applied)
        self.warnings: list[str] = [info.warning] if info.warning else []
        self._immutable = bool(info.ignored)
        self._lock: Optional[WriterLock] = None
        if not read_only:
            self._lock = lock if lock is not None else WriterLock(path).acquire()
        try:
            self.engine: Engine = _make_engine(path, read_only, self._immutable)
        except BaseException:
            self._drop_lock()
            raise
        try:  # the first connect runs the pragmas; fail now, naming the file, not at first use
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            self.engine.dispose()
            self._drop_lock()
            raise _fail(path, f"cannot be opened {'read-only' if read_only else 'for writing'}: {exc}") from None

    def _drop_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def uri(self) -> str:
        """The URI other read-only connections to this file use."""
        return file_uri(self.path, "immutable" if self._immutable else "ro")

    @property
    def checked(self) -> bool:
        """Whether rows carry checksums (format 2 and later)."""
        return self.version >= 2

    def checks(self, table: Any) -> bool:
        """Whether the rows of ``table`` carry checksums in this file (the measured-data tables: format 4 on)."""
        if table.name in MEASURED_TABLE_NAMES:
            return self.version >= MEASURED_CRC_SINCE
        return self.checked and has_crc(table)

    # ---- opening
    @classmethod
    def create(cls, path: str | os.PathLike) -> "Project":
        """Create a new, empty project file and open it for writing.

        The file is built in a temporary file, and only appears at ``path`` (a hard link: it never
        replaces a file made there meanwhile) once this process holds its writer lock.
        """
        p = Path(path)
        if p.exists():
            raise _fail(p, "already exists")
        folder = p.resolve().parent
        if not folder.is_dir():
            raise _fail(p, f"folder {folder} does not exist")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise _fail(p, f"cannot write in {folder}: {exc.strerror or exc}") from None
        os.close(fd)
        lock: Optional[WriterLock] = None
        try:
            _build_empty(tmp)
            fsync_file(tmp)
            lock = WriterLock(p).acquire()
            try:
                os.link(tmp, p)
            except FileExistsError:
                raise _fail(p, "already exists") from None
            except OSError:  # a file system without hard links: the lock keeps other dctwin writers out
                if p.exists():
                    raise _fail(p, "already exists") from None
                os.replace(tmp, p)
            fsync_folder(folder)
        except BaseException as exc:
            remove_quietly(tmp, SQLITE_COMPANIONS)
            if lock is not None:
                lock.release()
            if isinstance(exc, ProjectFileError):
                raise
            if isinstance(exc, (sqlite3.Error, OSError, SQLAlchemyError)):
                raise write_failed(p, "the new project", exc) from exc
            raise
        remove_quietly(tmp)
        try:
            return cls(p, check_file(p), False, lock=lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False,
             migrate_to: Optional[str | os.PathLike] = None) -> "Project":
        """Check ``path`` read-only, then open it.

        A review export always opens read-only. A file of an older schema opens
        read-only in place (``read_only=True``); opened for writing it is
        migrated into a copy (``migrate_to`` or ``<stem>.v<N>.dctwin`` beside it)
        which is opened instead; ``project.migrated_from`` names the original.
        A file with a journal or WAL beside it that does not belong to it opens
        read-only as last saved (``project.warnings`` says so); for writing it is refused.
        """
        p = Path(path)
        info = check_file(p)
        migrated_from = None
        if info.ignored and not read_only and info.kind != KIND_REVIEW:
            raise _fail(p, f"{info.warning.split(': ', 1)[1].split(';')[0]}; it is not opened for writing "
                           f"(move that file away first)")
        if info.user_version < SCHEMA_VERSION and not read_only and info.kind != KIND_REVIEW:
            migrated_from = p
            p = migrate_copy(p, migrate_to)
            info = check_file(p)
        if info.kind == KIND_REVIEW:
            read_only = True
        return cls(p, info, read_only, migrated_from)

    def close(self) -> None:
        """Checkpoint and leave a single file behind (journal_mode=DELETE until opened for writing again)."""
        if getattr(self, "engine", None) is not None:
            try:
                self._release()
            finally:
                self.engine = None  # type: ignore[assignment]
                self._drop_lock()

    def discard(self) -> None:
        """Close and remove the file (one this process just created and must not leave behind), before
        the writer lock goes, so no other writer can have opened it meanwhile."""
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()
            self.engine = None  # type: ignore[assignment]
        remove_quietly(self.path, SQLITE_COMPANIONS)
        self._drop_lock()

    def _release(self) -> None:
        if not self.read_only:
            try:
                self.checkpoint()
                con = self.raw_connection()
                con.execute("PRAGMA busy_timeout=0")  # do not wait for readers: then it simply stays in WAL
                con.execute("PRAGMA journal_mode=DELETE").fetchall()
            except (sqlite3.Error, ProjectFileError) as exc:
                # another connection still reads it, or the disk is full: it stays in WAL, which is fine
                log.debug("%s stays in WAL mode: %s", self.path, exc)
        self.engine.dispose()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def is_review(self) -> bool:
        return self.kind == KIND_REVIEW

    def require_writable(self) -> None:
        if self.read_only:
            what = "a review export" if self.is_review else "opened read-only"
            raise _fail(self.path, f"is {what}; it cannot be changed (use Save As for a writable copy)")

    def raw_connection(self) -> sqlite3.Connection:
        """The underlying sqlite3 connection (for the backup API)."""
        return self.engine.raw_connection().driver_connection  # type: ignore[return-value]

    # ---- durability
    def checkpoint(self) -> None:
        """Move the WAL into the main file (an explicit save / finished recording)."""
        if self.read_only:
            return
        # outside any transaction: SQLAlchemy would wrap a statement in BEGIN, and a checkpoint cannot run there
        with _Writing(self.path, "the saved state"):
            self.raw_connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def save(self) -> None:
        """Everything is committed as it happens; a save checkpoints so the main file alone is complete."""
        self.require_writable()
        self.checkpoint()

    def save_as(self, path: str | os.PathLike) -> Path:
        """Write a copy to ``path`` (temporary file in its folder, renamed into place) and continue there."""
        dest = Path(path)
        if dest.resolve() == self.path.resolve():
            self.save()
            return dest
        self.checkpoint()
        if not dest.resolve().parent.is_dir():
            raise _fail(dest, f"folder {dest.resolve().parent} does not exist")
        lock = WriterLock(dest).acquire() if not self.read_only else None
        try:
            backup_into_place(self.raw_connection(), dest, dest_locked=lock is not None)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        read_only = self.read_only
        self._release()
        self._drop_lock()
        self._lock = lock
        self.path = dest
        self._immutable = False
        self.engine = _make_engine(dest, read_only)
        return dest

    # ---- meta
    def meta(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {k: v for k, v in conn.execute(select(Meta.key, Meta.value))}

    # ---- rows with checksums (the fixed tables and any optional table)
    def ensure_table(self, table: Any) -> None:
        """Create optional ``table`` (registered with :func:`dctwin.twin.store.schema.optional_table`) if
        this file does not have it yet."""
        self.require_writable()
        if table.name not in OPTIONAL_TABLES and table.name not in TABLE_NAMES:
            raise ValueError(f"{table.name} is not a registered table of project files")
        with _Writing(self.path, f"table {table.name}"), self.engine.begin() as conn:
            table.create(conn, checkfirst=True)

    def insert_rows(self, table: Any, rows: Iterable[Mapping[str, Any]], conn: Any = None) -> None:
        """Insert ``rows`` (dicts) into ``table``, each with its ``crc`` when the table has one."""
        self.require_writable()
        rows = [with_crc(table, dict(r)) if has_crc(table) else dict(r) for r in rows]
        if not rows:
            return
        if conn is not None:
            conn.execute(insert(table), rows)
            return
        with _Writing(self.path, f"rows of {table.name}"), self.engine.begin() as c:
            c.execute(insert(table), rows)

    def read_rows(self, table: Any, where: Any = None, what: str = "") -> list[dict[str, Any]]:
        """Every row of ``table`` (that ``where``, a SQLAlchemy condition, holds for) as a dict, its
        ``crc`` checked; a row that fails raises :class:`ProjectFileError` naming ``what`` and the row."""
        names = [t for t in self.table_names()]
        if table.name not in names:
            return []
        q = select(table) if where is None else select(table).where(where)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q.order_by(*table.primary_key.columns)).mappings()]
        for r in rows:
            self.check_row(table, r, what or f"{table.name} row {r.get('id')}")
        return rows

    def table_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_schema WHERE type = 'table'")]

    def check_row(self, table: Any, row: Mapping[str, Any], what: str) -> None:
        """Raise :class:`ProjectFileError` ("<file>: <what> is damaged") if ``row``'s crc does not match."""
        if self.checks(table) and (row.get("crc") is None or row_crc(table, row) != row["crc"]):
            raise _fail(self.path, f"{what} is damaged (its checksum does not match)")

    # ---- layouts
    def save_layout(self, site: Any, note: str = "") -> int:
        """Store ``site`` as a new layout version; returns its id."""
        from dctwin.twin.model.layoutfile import dumps_layout

        self.require_writable()
        text = dumps_layout(site)
        t = LayoutVersion.__table__
        with _Writing(self.path, "the layout"):
            with self.engine.begin() as conn:
                res = conn.execute(insert(t).values(**with_crc(t, {"saved_at": now_iso(), "note": note,
                                                                   "layout_json": text})))
                lid = int(res.inserted_primary_key[0])
        self.checkpoint()
        return lid

    def layouts(self) -> list[LayoutInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(LayoutVersion.id, LayoutVersion.saved_at, LayoutVersion.note)
                                .order_by(LayoutVersion.id))
            try:
                return [LayoutInfo(int(r[0]), str(r[1]), str(r[2])) for r in rows]
            except (TypeError, ValueError):
                raise _fail(self.path, "is damaged: a layout version has an id that is not a number") from None

    def latest_layout_id(self) -> Optional[int]:
        with self.engine.connect() as conn:
            v = conn.execute(select(func.max(LayoutVersion.id))).scalar()
        return None if v is None else int(v)

    def layout_text(self, layout_id: Optional[int] = None) -> str:
        lid = self.latest_layout_id() if layout_id is None else int(layout_id)
        if lid is None:
            raise _fail(self.path, "holds no layout")
        t = LayoutVersion.__table__
        cols = [t.c.id, t.c.saved_at, t.c.note, t.c.layout_json] + ([t.c.crc] if self.checked else [])
        with self.engine.connect() as conn:
            row = conn.execute(select(*cols).where(t.c.id == lid)).mappings().first()
        if row is None:
            raise _fail(self.path, f"has no layout version {lid}")
        text = row["layout_json"]
        if not isinstance(text, str):
            raise _fail(self.path, f"is damaged: layout version {lid} is not text")
        self.check_row(t, row, f"layout version {lid}")
        return text

    def load_layout(self, layout_id: Optional[int] = None) -> Any:
        """The layout (a :class:`dctwin.twin.model.layout.Site`) of version ``layout_id`` (default: the latest)."""
        from dctwin.twin.model.layoutfile import loads_layout

        lid = self.latest_layout_id() if layout_id is None else int(layout_id)
        return loads_layout(self.layout_text(lid), f"{self.path} layout version {lid}")

    # ---- incidents
    def save_incident(self, name: str, incident_json: str, note: str = "") -> int:
        """Store an incident timeline (JSON text as the incidents module writes it); returns its id."""
        self.require_writable()
        json.loads(incident_json)  # store only well-formed JSON
        t = Incident.__table__
        with _Writing(self.path, "the incident"), self.engine.begin() as conn:
            res = conn.execute(insert(t).values(**with_crc(t, {"name": name, "saved_at": now_iso(), "note": note,
                                                               "incident_json": incident_json})))
            return int(res.inserted_primary_key[0])

    def incidents(self) -> list[tuple[int, str, str]]:
        """``(id, name, saved_at)`` of every stored incident."""
        with self.engine.connect() as conn:
            return [(int(r[0]), r[1], r[2]) for r in
                    conn.execute(select(Incident.id, Incident.name, Incident.saved_at).order_by(Incident.id))]

    def incident_text(self, incident_id: int) -> str:
        t = Incident.__table__
        cols = [t.c.name, t.c.saved_at, t.c.note, t.c.incident_json] + ([t.c.crc] if self.checked else [])
        with self.engine.connect() as conn:
            row = conn.execute(select(*cols).where(t.c.id == int(incident_id))).mappings().first()
        if row is None:
            raise _fail(self.path, f"has no incident {incident_id}")
        self.check_row(t, row, f"incident {incident_id}")
        return row["incident_json"]

    # ---- recordings
    def recordings(self) -> list[RecordingInfo]:
        from dctwin.twin.store.schema import EventRow, Keyframe

        t = Recording.__table__
        if self.checked:  # the counts the recording keeps (checked), not what an index says
            cols = ("id",) + tuple(c for c in t.columns.keys() if c not in ("id",))
            with self.engine.connect() as conn:
                found = [dict(zip(cols, r)) for r in conn.exec_driver_sql(
                    f"SELECT {', '.join(cols)} FROM recordings ORDER BY id").all()]
            for r in found:
                self.check_row(t, r, f"recording {r['id']}")
            rows = [(r["id"], r["layout_id"], r["incident_id"], r["hall_id"], r["dt_s"], r["duration_s"],
                     r["engine_version"], r["started_at"], r["finished"], r["n_keyframes"], r["n_events"])
                    for r in found]
        else:
            kf = select(func.count()).where(Keyframe.recording_id == Recording.id).scalar_subquery()
            ev = select(func.count()).where(EventRow.recording_id == Recording.id).scalar_subquery()
            with self.engine.connect() as conn:
                rows = conn.execute(select(Recording.id, Recording.layout_id, Recording.incident_id,
                                           Recording.hall_id, Recording.dt_s, Recording.duration_s,
                                           Recording.engine_version, Recording.started_at, Recording.finished, kf,
                                           ev).order_by(Recording.id)).all()
        out = []
        for r in rows:
            try:
                out.append(RecordingInfo(int(r[0]), int(r[1]), None if r[2] is None else int(r[2]), r[3],
                                         float(r[4]), float(r[5]), str(r[6]), str(r[7]), bool(r[8]),
                                         int(r[9]), int(r[10])))
            except (TypeError, ValueError):
                raise _fail(self.path, f"is damaged: recording {r[0]!r} has settings that are not numbers") from None
        return out

    def recording(self, recording_id: Optional[int] = None) -> "RecordingReader":
        """A reader for recording ``recording_id`` (default: the latest one)."""
        return RecordingReader(self, recording_id)

    def update_recording(self, recording_id: int, conn: Any = None, **values: Any) -> None:
        """Change columns of a recording row (and its crc)."""
        t = Recording.__table__

        def run(c: Any) -> None:
            row = c.execute(select(t).where(t.c.id == int(recording_id))).mappings().first()
            if row is None:
                raise _fail(self.path, f"has no recording {recording_id}")
            new = dict(row)
            new.update(values)
            c.execute(update(t).where(t.c.id == int(recording_id)).values(**with_crc(t, {
                k: v for k, v in new.items() if k != "id"})))

        if conn is not None:
            run(conn)
            return
        with _Writing(self.path, f"recording {recording_id}"), self.engine.begin() as c:
            run(c)

    def set_recording_finished(self, recording_id: int, duration_s: float) -> None:
        self.require_writable()
        self.update_recording(recording_id, finished=True, duration_s=float(duration_s))
