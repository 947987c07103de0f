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
- New files, Save As, migrations and review exports are built in a temporary
  file in the target folder, checked, closed, fsynced and renamed into place
  with ``os.replace``: a failed operation never touches an existing target.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from sqlalchemy import create_engine, event, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from dctwin import twin
from dctwin.twin._files import FolderNotWritable, write_atomically
from dctwin.twin.errors import ProjectFileError
from dctwin.twin.store.recording import RecordingReader
from dctwin.twin.store.schema import (
    APPLICATION_ID, SCHEMA_VERSION, TABLE_NAMES, TABLES, Incident, LayoutVersion, Meta, Recording,
)

#: schema migrations: ``MIGRATIONS[v](con)`` turns a version-``v`` file into ``v + 1`` (raw sqlite3)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

KIND_PROJECT = "project"
KIND_REVIEW = "review"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def file_uri(path: str | os.PathLike, mode: str) -> str:
    """A SQLite URI for ``path`` with ``mode`` (``ro`` or ``rw``; neither creates the file)."""
    return Path(path).resolve().as_uri() + f"?mode={mode}"


@dataclass(frozen=True)
class FileInfo:
    """What a read-only check found in a project file."""

    path: Path
    user_version: int
    kind: str  # "project" or "review"
    journal_mode: str


def _fail(path: Path, message: str) -> ProjectFileError:
    return ProjectFileError(f"{path}: {message}")


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


def _check(p: Path, full: bool, structure: bool = True) -> FileInfo:
    if not p.exists():
        raise _fail(p, "no such file")
    if not p.is_file():
        raise _fail(p, "is not a file")
    _check_header(p)
    try:
        con = sqlite3.connect(file_uri(p, "ro"), uri=True, isolation_level=None)
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
            if version < 1:
                raise _fail(p, "is damaged: it is marked as a dctwin file but has no schema version")
            check = "integrity_check" if full else "quick_check"
            rows = [" ".join(str(r[0]).split()) for r in con.execute(f"PRAGMA {check}(20)").fetchall()]
            if rows != ["ok"]:
                raise _fail(p, "is damaged (" + "; ".join(rows[:3]) + (" ..." if len(rows) > 3 else "") + ")")
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            _check_size(con, p, journal)
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
            if version == SCHEMA_VERSION and structure:
                missing = [t for t in TABLE_NAMES if t not in names]
                if missing:
                    raise _fail(p, "is damaged: missing table(s) " + ", ".join(missing))
            if "meta" in names:
                row = con.execute("SELECT value FROM meta WHERE key='kind'").fetchone()
                kind = row[0] if row else KIND_PROJECT
            if kind != KIND_REVIEW and "manifest" in names and \
                    con.execute("SELECT count(*) FROM manifest").fetchone()[0] > 0:
                kind = KIND_REVIEW  # only exports hold a manifest: an edited "kind" must not make one writable
            if kind not in (KIND_PROJECT, KIND_REVIEW):
                raise _fail(p, f"is damaged: unknown file kind {str(kind)[:40]!r} in its meta table")
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) in _NEEDS_RECOVERY:
                raise _NeedsRecovery() from None
            raise _fail(p, f"is damaged and cannot be read ({exc})") from None
    finally:
        con.close()
    return FileInfo(p, int(version), str(kind), str(journal))


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
                      transform: Optional[Callable[[sqlite3.Connection], None]] = None) -> Path:
    """Copy ``src`` with the SQLite backup API into ``dest`` atomically.

    The copy goes to a temporary file in ``dest``'s folder; ``transform(con)``
    may change it; it is switched to ``journal_mode=DELETE``, ``quick_check``ed,
    closed, fsynced and ``os.replace``d onto ``dest``. On any failure the
    temporary file is removed and an existing ``dest`` is untouched.
    """
    dest = Path(dest)
    folder = dest.resolve().parent
    if not folder.is_dir():
        raise ProjectFileError(f"{dest}: folder {folder} does not exist")
    if dest.exists() and not dest.is_file():
        raise ProjectFileError(f"{dest}: is not a file")

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
        raise ProjectFileError(f"{dest}: could not be written ({exc}); nothing was changed there") from exc


def _default_migrated_path(path: Path) -> Path:
    base = path.with_name(f"{path.stem}.v{SCHEMA_VERSION}{path.suffix or '.dctwin'}")
    cand, k = base, 2
    while cand.exists():
        cand = base.with_name(f"{path.stem}.v{SCHEMA_VERSION}-{k}{path.suffix or '.dctwin'}")
        k += 1
    return cand


def migrate_copy(path: str | os.PathLike, dest: Optional[str | os.PathLike] = None) -> Path:
    """Migrate an older project file into a new file (``dest`` or ``<stem>.v<N>.dctwin``).

    The original is opened read-only and never changed; an existing ``dest`` is
    refused.
    """
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

    src = sqlite3.connect(file_uri(p, "ro"), uri=True, isolation_level=None)
    try:
        src.execute("PRAGMA trusted_schema=OFF")
        backup_into_place(src, out, run)
    finally:
        src.close()
    return out


def _make_engine(path: Path, read_only: bool) -> Engine:
    """One SQLAlchemy engine over exactly one sqlite3 connection (the single writer)."""
    uri = file_uri(path, "ro" if read_only else "rw")

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

    return eng


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
    thread at a time (the GUI's store worker owns it).
    """

    def __init__(self, path: Path, info: FileInfo, read_only: bool, migrated_from: Optional[Path] = None):
        self.path = path
        self.kind = info.kind
        self.read_only = read_only
        self.migrated_from = migrated_from
        self.engine: Engine = _make_engine(path, read_only)
        try:  # the first connect runs the pragmas; fail now, naming the file, not at first use
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            self.engine.dispose()
            raise _fail(path, f"cannot be opened {'read-only' if read_only else 'for writing'}: {exc}") from None

    # ---- opening
    @classmethod
    def create(cls, path: str | os.PathLike, *, overwrite: bool = False) -> "Project":
        """Create a new, empty project file (atomically) and open it for writing."""
        p = Path(path)
        if p.exists() and not overwrite:
            raise _fail(p, "already exists")
        folder = p.resolve().parent
        if not folder.is_dir():
            raise _fail(p, f"folder {folder} does not exist")
        def build(tmp: str) -> None:
            def creator() -> sqlite3.Connection:
                con = sqlite3.connect(tmp, isolation_level=None)
                # a temporary file: we fsync it before the rename, and a crash leaves only the temporary
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
                        {"key": "created_at", "value": now_iso()},
                        {"key": "created_by", "value": f"dctwin {twin.__version__}"},
                    ])
            finally:
                eng.dispose()

        try:
            write_atomically(p, build)
        except FolderNotWritable as exc:
            raise _fail(p, f"cannot write in {folder}: {exc.strerror or exc}") from None
        except (sqlite3.Error, OSError, SQLAlchemyError) as exc:  # e.g. disk full
            raise _fail(p, f"could not be created ({exc})") from exc
        return cls.open(p)

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False,
             migrate_to: Optional[str | os.PathLike] = None) -> "Project":
        """Check ``path`` read-only, then open it.

        A review export always opens read-only. A file of an older schema is
        migrated into a copy (``migrate_to`` or ``<stem>.v<N>.dctwin`` beside it)
        which is opened instead; ``project.migrated_from`` names the original.
        """
        p = Path(path)
        info = check_file(p)
        migrated_from = None
        if info.user_version < SCHEMA_VERSION:
            migrated_from = p
            p = migrate_copy(p, migrate_to)
            info = check_file(p)
        if info.kind == KIND_REVIEW:
            read_only = True
        return cls(p, info, read_only, migrated_from)

    def close(self) -> None:
        """Checkpoint and leave a single file behind (journal_mode=DELETE until opened for writing again)."""
        if getattr(self, "engine", None) is not None:
            self._release()
            self.engine = None  # type: ignore[assignment]

    def _release(self) -> None:
        if not self.read_only:
            self.checkpoint()
            con = self.raw_connection()
            try:
                con.execute("PRAGMA busy_timeout=0")  # do not wait for readers: then it simply stays in WAL
                con.execute("PRAGMA journal_mode=DELETE").fetchall()
            except sqlite3.Error:  # another connection still reads it: it stays in WAL, which is fine
                pass
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
        backup_into_place(self.raw_connection(), dest)
        read_only = self.read_only
        self._release()
        self.path = dest
        self.engine = _make_engine(dest, read_only)
        return dest

    # ---- meta
    def meta(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {k: v for k, v in conn.execute(select(Meta.key, Meta.value))}

    # ---- layouts
    def save_layout(self, site: Any, note: str = "") -> int:
        """Store ``site`` as a new layout version; returns its id."""
        from dctwin.twin.model.layoutfile import dumps_layout

        self.require_writable()
        text = dumps_layout(site)
        with self.engine.begin() as conn:
            res = conn.execute(insert(LayoutVersion.__table__).values(saved_at=now_iso(), note=note,
                                                                      layout_json=text))
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
        with self.engine.connect() as conn:
            text = conn.execute(select(LayoutVersion.layout_json).where(LayoutVersion.id == lid)).scalar()
        if text is None:
            raise _fail(self.path, f"has no layout version {lid}")
        if not isinstance(text, str):
            raise _fail(self.path, f"is damaged: layout version {lid} is not text")
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
        with self.engine.begin() as conn:
            res = conn.execute(insert(Incident.__table__).values(name=name, saved_at=now_iso(), note=note,
                                                                 incident_json=incident_json))
            return int(res.inserted_primary_key[0])

    def incidents(self) -> list[tuple[int, str, str]]:
        """``(id, name, saved_at)`` of every stored incident."""
        with self.engine.connect() as conn:
            return [(int(r[0]), r[1], r[2]) for r in
                    conn.execute(select(Incident.id, Incident.name, Incident.saved_at).order_by(Incident.id))]

    def incident_text(self, incident_id: int) -> str:
        with self.engine.connect() as conn:
            text = conn.execute(select(Incident.incident_json).where(Incident.id == int(incident_id))).scalar()
        if text is None:
            raise _fail(self.path, f"has no incident {incident_id}")
        return text

    # ---- recordings
    def recordings(self) -> list[RecordingInfo]:
        from dctwin.twin.store.schema import EventRow, Keyframe

        kf = select(func.count()).where(Keyframe.recording_id == Recording.id).scalar_subquery()
        ev = select(func.count()).where(EventRow.recording_id == Recording.id).scalar_subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(select(Recording.id, Recording.layout_id, Recording.incident_id, Recording.hall_id,
                                       Recording.dt_s, Recording.duration_s, Recording.engine_version,
                                       Recording.started_at, Recording.finished, kf, ev).order_by(Recording.id))
            out = []
            for r in rows:
                try:
                    out.append(RecordingInfo(int(r[0]), int(r[1]), None if r[2] is None else int(r[2]), r[3],
                                             float(r[4]), float(r[5]), str(r[6]), str(r[7]), bool(r[8]),
                                             int(r[9]), int(r[10])))
                except (TypeError, ValueError):
                    raise _fail(self.path, f"is damaged: recording {r[0]!r} has settings that are not numbers"
                                ) from None
            return out

    def recording(self, recording_id: Optional[int] = None) -> "RecordingReader":
        """A reader for recording ``recording_id`` (default: the latest one)."""
        return RecordingReader(self, recording_id)

    def set_recording_finished(self, recording_id: int, duration_s: float) -> None:
        self.require_writable()
        with self.engine.begin() as conn:
            conn.execute(update(Recording.__table__).where(Recording.__table__.c.id == recording_id)
                         .values(finished=True, duration_s=float(duration_s)))
