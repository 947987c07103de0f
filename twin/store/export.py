"""Review exports (self-contained, hashed, read-only), verification and CSV export.

A review export is a dctwin file with ``meta.kind = "review"`` holding one
recording (or one moment of it: the keyframe before T and everything up to
T; or a window of it: what replaying from T0 to T1 needs), its layout and
incident, events, alarms and series, and a ``manifest`` table with the
SHA-256 of every other table's content and of the schema. Verifying also
runs SQLite's full ``integrity_check`` (indexes against their tables).
It is made with the SQLite backup API into a temporary file in the target
folder, pruned, vacuumed, hashed, switched to ``journal_mode=DELETE``,
``quick_check``ed, closed, fsynced and renamed into place; a failed export
never touches an existing output file.

The hashes detect alteration (a changed, added or removed row or table);
they are not a signature: someone who rewrites a table can also rewrite
the manifest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from dctwin import twin
from dctwin.twin._files import atomic_write
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.store.measured import check_measured, prune_for_export
from dctwin.twin.store.project import (
    KIND_REVIEW, Project, check_file, copy_into_place, now_iso,
)

MANIFEST = "manifest"
SCHEMA_ENTRY = "(schema)"


def _q(name: str) -> str:
    """Quote an SQL identifier (table and column names cannot be bound parameters)."""
    return '"' + name.replace('"', '""') + '"'


def _feed(h: Any, sql_type: str, value: Any) -> None:
    """Hash one SQL value with its storage class, unambiguously (text is hashed as its raw bytes)."""
    if value is None:
        h.update(b"N;")
    elif isinstance(value, int):
        h.update(b"I%d;" % value)
    elif isinstance(value, float):
        h.update(b"F" + value.hex().encode() + b";")
    else:
        b = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        h.update((b"S%d:" if sql_type == "text" else b"B%d:") % len(b) + b)


def table_digest(con: sqlite3.Connection, table: str) -> tuple[int, str]:
    """``(rows, sha256 hex)`` of a table's columns and rows in primary-key order."""
    info = con.execute(f"PRAGMA table_info({_q(table)})").fetchall()
    cols = [r[1] for r in info]
    pk = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
    order = ", ".join(_q(c) for c in pk) if pk else "rowid"
    h = hashlib.sha256()
    h.update(b"table:" + table.encode() + b";columns:" + json.dumps(cols).encode() + b";")
    n = 0
    select_list = ", ".join(f"typeof({_q(c)}), {_q(c)}" for c in cols)
    factory = con.text_factory
    con.text_factory = bytes
    try:
        for row in con.execute(f"SELECT {select_list} FROM {_q(table)} ORDER BY {order}"):
            n += 1
            for k in range(0, len(row), 2):
                _feed(h, row[k].decode(), row[k + 1])
    finally:
        con.text_factory = factory
    return n, h.hexdigest()


def schema_digest(con: sqlite3.Connection) -> str:
    h = hashlib.sha256()
    for row in con.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name"):
        for v in row:
            _feed(h, "text", v)
    return h.hexdigest()


def compute_manifest(con: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """``{table: (rows, sha256)}`` for every table but the manifest, plus the schema entry.

    Text is read as raw bytes, so a row holding invalid UTF-8 is hashed (and
    reported as altered), not an error.
    """
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type='table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    out = {n: table_digest(con, n) for n in names if n != MANIFEST}
    out[SCHEMA_ENTRY] = (0, schema_digest(con))
    return out


def write_manifest(con: sqlite3.Connection) -> None:
    """Replace the manifest of the database ``con`` with the digests of its content now."""
    digests = compute_manifest(con)
    con.execute("BEGIN IMMEDIATE")
    con.execute(f"DELETE FROM {MANIFEST}")
    con.executemany(f"INSERT INTO {MANIFEST} (table_name, rows, sha256) VALUES (?, ?, ?)",
                    [(name, rows, sha) for name, (rows, sha) in digests.items()])
    con.execute("COMMIT")


# --------------------------------------------------------------------------- export

#: margins (s) of ``--around-incident`` before the first injected event and after the last alarm cleared
AROUND_BEFORE_S = 60.0
AROUND_AFTER_S = 60.0


@dataclass(frozen=True)
class Window:
    """What a review export keeps of a recording. ``moment``: replay reaches only ``to_s`` (``--at``),
    series from the start; else ``[from_s, to_s]`` (series of the window only)."""

    from_s: float
    to_s: float
    moment: bool = False


def incident_window(reader: Any, before_s: float = AROUND_BEFORE_S, after_s: float = AROUND_AFTER_S) -> Window:
    """The span from the first injected event to the last alarm cleared (or the last injected event, if
    later), with ``before_s`` / ``after_s`` margins, within the recording."""
    from dctwin.twin.model.events import INJECTED_KINDS

    injected = [e.t_s for e in reader.events() if e.kind in INJECTED_KINDS]
    if not injected:
        raise InputError(f"{reader.project.path}: recording {reader.id} has no injected event, so there is no "
                         f"incident to export around; give --from and --to")
    cleared = [float(a["t_s"]) for a in reader.alarms() if not a["active"]]
    end = max([max(injected)] + cleared)
    return Window(max(0.0, min(injected) - before_s), min(reader.duration_s, end + after_s))


def _thin(kfs: list[Any], first: Any, to_s: float, gap_s: float) -> list[Any]:
    """``first`` and the keyframes after it up to ``to_s``, leaving out those not needed to keep every
    gap (and the one to ``to_s``) within ``gap_s`` when the recording's own gaps are."""
    inside = [k for k in kfs if first.t_s < k.t_s <= to_s]
    kept = [first]
    for i, k in enumerate(inside):
        nxt = inside[i + 1].t_s if i + 1 < len(inside) else to_s
        if nxt - kept[-1].t_s > gap_s + 1e-9:
            kept.append(k)
    return kept


def _prune(con: sqlite3.Connection, recording_id: Optional[int], layout_id: Optional[int],
           incident_id: Optional[int]) -> None:
    """Keep only the chosen recording (its rows in every table that has a recording_id), layout and
    incident in the copy."""
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%'")]
    # a table whose rows belong to a recording (recording_id NOT NULL) keeps only the chosen one's rows;
    # one that only points at a recording (nullable, e.g. a sweep scenario's replay) keeps its rows and
    # forgets recordings the copy does not hold
    columns = {t: {c[1]: c[3] for c in con.execute(f"PRAGMA table_info({_q(t)})")} for t in tables}
    per_recording = [t for t in tables if t not in ("recordings", "keyframes") and columns[t].get("recording_id") == 1]
    pointing = [t for t in tables if columns[t].get("recording_id") == 0]
    con.execute("BEGIN IMMEDIATE")
    try:
        keep = -1 if recording_id is None else int(recording_id)
        for t in per_recording:
            con.execute(f"DELETE FROM {_q(t)} WHERE recording_id <> ?", (keep,))
        for t in pointing:
            con.execute(f"UPDATE {_q(t)} SET recording_id = NULL WHERE recording_id <> ?", (keep,))
        con.execute("DELETE FROM keyframe_arrays WHERE keyframe_id IN (SELECT id FROM keyframes "
                    "WHERE recording_id <> ?)", (keep,))
        con.execute("DELETE FROM keyframes WHERE recording_id <> ?", (keep,))
        con.execute("DELETE FROM recordings WHERE id <> ?", (keep,))
        con.execute("DELETE FROM layouts WHERE id <> ?", (layout_id,))
        con.execute("DELETE FROM incidents WHERE id IS NOT ?", (incident_id,))
        con.execute("DELETE FROM manifest")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _cut(con: sqlite3.Connection, reader: Any, window: Window, keep: list[Any]) -> None:
    """Keep the window of the (only) recording in the copy: the keyframes ``keep``, re-encoded so that
    the first holds all its bytes (nothing it shared with a keyframe left out stays behind), the events
    and alarms up to ``to_s``, and the series of the window."""
    from dctwin.twin.store.arrays import encode_array
    from dctwin.twin.store.recorder import KeyframeEncoder
    from dctwin.twin.store.project import recount
    from dctwin.twin.store.schema import Keyframe, KeyframeArray, with_crc

    rid = reader.id
    con.execute("BEGIN IMMEDIATE")
    try:
        con.execute("DELETE FROM keyframe_arrays WHERE keyframe_id IN (SELECT id FROM keyframes "
                    "WHERE recording_id = ?)", (rid,))
        ids = [k.id for k in keep]
        con.execute(f"DELETE FROM keyframes WHERE recording_id = ? AND id NOT IN ({', '.join('?' * len(ids))})",
                    (rid, *ids))
        encoder = KeyframeEncoder()
        at, kt = KeyframeArray.__table__, Keyframe.__table__
        for kf in keep:
            arrays = reader.load_keyframe(kf)
            first = int(con.execute("SELECT coalesce(max(id), 0) + 1 FROM keyframe_arrays").fetchone()[0])
            rows, learnt = encoder.encode(kf.id, first, [(n, *encode_array(a)) for n, a in arrays.items()])
            _insert(con, at, rows)
            encoder.commit(learnt)
            row = {"recording_id": rid, "t_s": kf.t_s, "last_event_seq": kf.last_event_seq,
                   "first_array_id": first, "n_arrays": len(rows)}
            con.execute("UPDATE keyframes SET first_array_id = ?, n_arrays = ?, crc = ? WHERE id = ?",
                        (first, len(rows), with_crc(kt, row)["crc"], kf.id))
        for table in ("events", "alarms"):
            con.execute(f"DELETE FROM {table} WHERE recording_id = ? AND t_s > ?", (rid, window.to_s))
        lo = None if window.moment else keep[0].t_s
        _trim_series(con, reader, lo, window.to_s)
        con.execute("UPDATE recordings SET duration_s = min(duration_s, ?) WHERE id = ?", (window.to_s, rid))
        recount(con, rid)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _insert(con: sqlite3.Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        cols = list(rows[0])
        con.executemany(f"INSERT INTO {_q(table.name)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [tuple(r[c] for c in cols) for r in rows])


def _trim_series(con: sqlite3.Connection, reader: Any, lo: Optional[float], hi: float) -> None:
    """Keep the series samples in ``[lo, hi]`` (``lo`` None: from the start): chunks wholly outside go,
    chunks across an end are cut (decoded, sliced, packed again)."""
    from dctwin.twin.store.arrays import pack_blob
    from dctwin.twin.store.schema import SeriesChunk, with_crc

    st = SeriesChunk.__table__
    rid = reader.id
    con.execute("DELETE FROM series WHERE recording_id = ? AND (t0_s > ? OR t1_s < ?)",
                (rid, hi, -math.inf if lo is None else lo))
    cut = con.execute("SELECT id FROM series WHERE recording_id = ? AND (t1_s > ? OR t0_s < ?)",
                      (rid, hi, -math.inf if lo is None else lo)).fetchall()
    if not cut:
        return
    wanted = {int(r[0]) for r in cut}
    for name in ("hall", "rack_inlet_c", "rack_power_w"):
        for r in reader._chunk_rows(name, lo, hi):
            if r["id"] not in wanted:
                continue
            t, v = reader._decode_chunk(name, r, r["width"])
            keep = (t <= hi) & (t >= (-math.inf if lo is None else lo))
            if not keep.any():
                con.execute("DELETE FROM series WHERE id = ?", (r["id"],))
                continue
            t, v = t[keep], v[keep]
            row = {"recording_id": rid, "name": name, "t0_s": float(t[0]), "t1_s": float(t[-1]), "n": int(len(t)),
                   "width": int(r["width"]), "codec": "shuffle", "t_data": pack_blob(t.astype("<f8").tobytes(), 8),
                   "data": pack_blob(np.ascontiguousarray(v.T.astype("<f4")).tobytes(), 4)}
            with_crc(st, row)
            con.execute("UPDATE series SET t0_s = ?, t1_s = ?, n = ?, codec = ?, t_data = ?, data = ?, crc = ? "
                        "WHERE id = ?", (row["t0_s"], row["t1_s"], row["n"], row["codec"], row["t_data"],
                                         row["data"], row["crc"], r["id"]))


def export_review(src: str | os.PathLike, out: str | os.PathLike, *, recording_id: Optional[int] = None,
                  at_s: Optional[float] = None, from_s: Optional[float] = None, to_s: Optional[float] = None,
                  around_incident: bool = False, before_s: float = AROUND_BEFORE_S,
                  after_s: float = AROUND_AFTER_S) -> dict[str, Any]:
    """Write a self-contained, hashed review export of ``src`` to ``out``.

    Holds one recording (default: the latest; a file without recordings gives
    its latest layout only), or a part of it:

    - ``at_s``: one moment: the keyframe replay starts from (the last one
      before ``at_s``) and the events, alarms and series up to ``at_s``;
    - ``from_s`` / ``to_s`` (either may be left out: the start, the end), or
      ``around_incident`` (the first injected event to the last alarm cleared,
      with ``before_s`` / ``after_s`` margins): what replaying that window
      needs: the keyframe before ``from_s`` and those inside (thinned to the
      recording's largest keyframe gap, so seeks stay as quick), the events and
      alarms up to ``to_s``, the series of the window. ``meta`` says which
      window it holds (``from_s``, ``to_s``).

    A project of format 1 is first compacted into a temporary file. Returns a
    summary dict (recording, window, keyframes, events, tables, size).
    """
    return _export_review(Path(src), Path(out), Path(src).name, recording_id=recording_id, at_s=at_s,
                          from_s=from_s, to_s=to_s, around_incident=around_incident, before_s=before_s,
                          after_s=after_s)


def _export_review(src_p: Path, out_p: Path, source_name: str, *, recording_id: Optional[int],
                   at_s: Optional[float], from_s: Optional[float], to_s: Optional[float], around_incident: bool,
                   before_s: float, after_s: float) -> dict[str, Any]:
    if out_p.exists() and src_p.exists() and out_p.resolve() == src_p.resolve():
        raise InputError(f"{out_p}: the export must not overwrite the file it is made from")
    if out_p.exists():  # only an earlier review export is replaced: never a project or another file
        if not out_p.is_file():
            raise InputError(f"{out_p}: is not a file")
        try:
            kind = check_file(out_p).kind
        except ProjectFileError:
            kind = None
        if kind != KIND_REVIEW:
            raise InputError(f"{out_p}: exists and is not a review export; it is not replaced "
                             f"(choose another name or remove it)")
    if at_s is not None and (from_s is not None or to_s is not None or around_incident):
        raise InputError("export: --at is one moment; it does not go with --from/--to/--around-incident")
    if around_incident and (from_s is not None or to_s is not None):
        raise InputError("export: --around-incident chooses the window itself; leave out --from/--to")
    project = Project.open(src_p, read_only=True)
    try:
        if project.is_review:
            res = verify_file(project.path)
            if not res.intact:  # a new export would give the altered content fresh, valid hashes
                raise ProjectFileError(f"{src_p}: is a review export that has been altered since it was made "
                                       f"({res.message().split('(', 1)[-1].rstrip(')')}); it is not re-exported")
        if not project.checked:
            project.close()
            return _export_compacted(src_p, out_p, source_name, dict(
                recording_id=recording_id, at_s=at_s, from_s=from_s, to_s=to_s, around_incident=around_incident,
                before_s=before_s, after_s=after_s))
        return _export(project, src_p, out_p, source_name, recording_id, at_s, from_s, to_s, around_incident,
                       before_s, after_s)
    finally:
        project.close()


def _export_compacted(src_p: Path, out_p: Path, source_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Export from a format-1 file through a compact copy of it (in the output's folder, removed after)."""
    from dctwin.twin._files import SQLITE_COMPANIONS, remove_quietly
    from dctwin.twin.store.project import migrate_copy

    fd, tmp = tempfile.mkstemp(prefix=f".{out_p.name}.", suffix=".compact", dir=out_p.resolve().parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        migrate_copy(src_p, tmp)
        return _export_review(Path(tmp), out_p, source_name, **kwargs)
    finally:
        remove_quietly(tmp, SQLITE_COMPANIONS)


def check_contents(project: Project) -> None:
    """Check everything ``project`` holds the way export checks what it copies: every recording's data
    (:meth:`~dctwin.twin.store.recording.RecordingReader.check_data`: keyframe arrays, events, alarms,
    series), the measured data (:func:`check_measured`) and every layout version (it must load).
    Raises :class:`ProjectFileError` (or ``LayoutError``) naming the file, the row and the damage: for
    ``compact`` and for a sweep written into an existing project, which must not carry damage along."""
    for rec in project.recordings():
        project.recording(rec.id).check_data()
    check_measured(project)
    for layout in project.layouts():
        project.load_layout(layout.id)


def check_file_contents(path: str | os.PathLike) -> None:
    """:func:`check_contents` of the project file at ``path``, opened read-only."""
    with Project.open(path, read_only=True) as project:
        check_contents(project)


def _export(project: Project, src_p: Path, out_p: Path, source_name: str, recording_id: Optional[int],
            at_s: Optional[float],
            from_s: Optional[float], to_s: Optional[float], around_incident: bool, before_s: float,
            after_s: float) -> dict[str, Any]:
    layout_id = project.latest_layout_id()
    incident_id = None
    recs = project.recordings()
    if recording_id is None and recs:
        recording_id = recs[-1].id
    reader = None
    window: Optional[Window] = None
    keep: list[Any] = []
    windowed = at_s is not None or from_s is not None or to_s is not None or around_incident
    if recording_id is not None:
        reader = project.recording(recording_id)
        layout_id, incident_id = reader.layout_id, reader.incident_id
        dur = reader.duration_s
        if at_s is not None:
            if not (0 <= at_s <= dur + 1e-9):
                raise InputError(f"--at {at_s:g} s is outside recording {reader.id} (0 to {dur:g} s)")
            window = Window(float(at_s), float(at_s), moment=True)
        elif around_incident:
            window = incident_window(reader, before_s, after_s)
        elif windowed:
            lo, hi = (0.0 if from_s is None else float(from_s)), (dur if to_s is None else float(to_s))
            for flag, v in (("--from", lo), ("--to", hi)):
                if not 0 <= v <= dur + 1e-9:
                    raise InputError(f"{flag} {v:g} s is outside recording {reader.id} (0 to {dur:g} s)")
            if hi < lo:
                raise InputError(f"--to {hi:g} s comes before --from {lo:g} s")
            window = Window(lo, min(hi, dur))
        if window is not None:
            kfs = reader.keyframes()
            first = reader.replay_keyframe(window.from_s)  # the one replay to from_s starts from
            gaps = [b.t_s - a.t_s for a, b in zip(kfs, kfs[1:])]
            keep = [first] if window.moment else _thin(kfs, first, window.to_s, max(gaps, default=math.inf))
        # a review must hold what replay needs: refuse damaged data instead of hashing it as truth
        reader.check_data([k.id for k in keep] if window is not None else None)
    elif windowed:
        raise InputError(f"{src_p}: holds no recording, so there is no moment or window to export")
    check_measured(project)  # and the measured data it carries
    if layout_id is None:
        raise ProjectFileError(f"{src_p}: holds no layout and no recording; nothing to export")
    project.load_layout(layout_id)  # a layout that does not read is refused (LayoutError naming it)
    meta = {"kind": KIND_REVIEW, "exported_at": now_iso(), "exported_by": f"dctwin {twin.__version__}",
            "exported_from": source_name, "recording_id": "" if recording_id is None else str(recording_id),
            "at_s": "" if at_s is None else repr(float(at_s)),
            "from_s": "" if window is None or window.moment else repr(window.from_s),
            "to_s": "" if window is None or window.moment else repr(window.to_s)}

    def transform(con: sqlite3.Connection) -> None:
        _prune(con, recording_id, layout_id, incident_id)
        if window is not None:
            _cut(con, reader, window, keep)
            con.execute("BEGIN IMMEDIATE")
            prune_for_export(con, recording_id, window.to_s)  # the shadow's measured rows past the window go
            con.execute("COMMIT")
        con.execute("VACUUM")
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
        con.execute("COMMIT")
        write_manifest(con)

    copy_into_place(project.uri, out_p, transform)
    with Project.open(out_p) as review:
        recs = review.recordings()
        return {"file": str(out_p), "recording": recording_id, "at_s": at_s,
                "from_s": None if window is None or window.moment else window.from_s,
                "to_s": None if window is None or window.moment else window.to_s,
                "layouts": len(review.layouts()), "keyframes": sum(r.keyframes for r in recs),
                "events": sum(r.events for r in recs), "bytes": out_p.stat().st_size}


# --------------------------------------------------------------------------- verify

@dataclass
class VerifyResult:
    path: Path
    kind: str
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    checked: int = 0
    no_manifest: bool = False
    #: rows whose checksum does not match (``"<table> row <id>"``, at most :data:`MAX_DAMAGED`)
    damaged: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.altered or self.missing or self.added or self.no_manifest or self.damaged)

    def message(self) -> str:
        bad = f"; damaged rows (checksum does not match): {', '.join(self.damaged)}" if self.damaged else ""
        if self.no_manifest:
            return f"{self.path}: has no manifest to verify against (it is not a review export){bad}"
        if self.intact:
            return f"{self.path}: intact ({self.checked} tables match their SHA-256)"
        if not (self.altered or self.missing or self.added):
            return f"{self.path}: DAMAGED{bad}"
        parts = []
        if self.altered:
            parts.append("altered: " + ", ".join(self.altered))
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing))
        if self.added:
            parts.append("added: " + ", ".join(self.added))
        return f"{self.path}: ALTERED since export ({'; '.join(parts)}){bad}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "intact": self.intact, "kind": self.kind, "checked": self.checked,
                "altered": self.altered, "missing": self.missing, "added": self.added,
                "no_manifest": self.no_manifest, "damaged": self.damaged}


#: damaged rows ``verify`` names at most
MAX_DAMAGED = 20


def damaged_rows(con: sqlite3.Connection, limit: int = MAX_DAMAGED) -> list[str]:
    """``"<table> row <id>"`` of every row (up to ``limit``) whose ``crc`` does not match its columns, in
    every table of ``con`` that carries checksums in this file (the measured-data tables from format 4)."""
    import dctwin.twin.store.operator  # noqa: F401  (registers its table)
    from dctwin.twin.store.schema import OPTIONAL_TABLES, TABLES, checked_columns, row_crc

    known = {t.name: t for t in TABLES} | OPTIONAL_TABLES
    out: list[str] = []
    factory = con.text_factory
    con.text_factory = lambda b: b.decode("utf-8", "surrogateescape")  # damaged text is a mismatch, not an error
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").fetchall():
            t = known.get(name)
            have = {r[1] for r in con.execute(f"PRAGMA table_info({_q(name)})")}
            if t is None or "crc" not in have or not set(checked_columns(t)) <= have:
                continue  # no checksums here (an older format), or columns gone: the structure checks say so
            cols = ("id",) + checked_columns(t)
            for r in con.execute(f"SELECT {', '.join(_q(c) for c in cols)}, crc FROM {_q(name)} ORDER BY id"):
                row = dict(zip(cols, r))
                if r[-1] is None or row_crc(t, row) != r[-1]:
                    out.append(f"{name} row {row['id']}")
                    if len(out) >= limit:
                        return out
    finally:
        con.text_factory = factory
    return out


def verify_file(path: str | os.PathLike) -> VerifyResult:
    """Recompute the SHA-256 of every table of a review export and compare with its manifest, and every
    row's checksum (of a review or project file: :func:`damaged_rows`).

    A file that is not a dctwin file or is damaged raises ProjectFileError.
    """
    p = Path(path)
    # dropped tables, triggers and views are reported as alterations; the full integrity check also
    # compares every index with its table (a damaged index could hide rows that hash as intact)
    info = check_file(p, full=True, structure=False)
    con = sqlite3.connect(info.uri, uri=True, isolation_level=None)
    try:
        con.execute("PRAGMA trusted_schema=OFF")
        res = VerifyResult(p, info.kind)
        try:
            res.damaged = damaged_rows(con)
        except sqlite3.DatabaseError as exc:
            raise ProjectFileError(f"{p}: is damaged and cannot be read ({exc})") from None
        has = con.execute("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name=?", (MANIFEST,)).fetchone()[0]
        try:
            stored = {str(r[0]): (int(r[1]), str(r[2])) for r in
                      con.execute(f"SELECT table_name, rows, sha256 FROM {MANIFEST}")} if has else {}
        except (sqlite3.DatabaseError, TypeError, ValueError):
            stored = {}
            if info.kind == KIND_REVIEW:
                res.missing.append(MANIFEST)  # the manifest itself was edited beyond reading
                return res
        if not stored:
            if info.kind == KIND_REVIEW:
                res.missing.append(MANIFEST)  # a review export without its manifest has been altered
            else:
                res.no_manifest = True
            return res
        try:
            now = compute_manifest(con)
        except sqlite3.DatabaseError as exc:
            raise ProjectFileError(f"{p}: is damaged and cannot be read ({exc})") from None
        for name, (rows, sha) in stored.items():
            if name not in now:
                res.missing.append(name)
            elif now[name][1] != sha or (name != SCHEMA_ENTRY and now[name][0] != rows):
                res.altered.append(name)
        res.added = sorted(n for n in now if n not in stored)
        res.checked = len(stored)
        res.altered.sort()
        res.missing.sort()
        return res
    finally:
        con.close()


# --------------------------------------------------------------------------- CSV

def _csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _fmt(x: Any) -> str:
    """Shortest text that reads back to the same value (float32 series stay short)."""
    if not np.isfinite(x):
        return ""
    return str(x) if isinstance(x, np.float32) else repr(float(x))


def export_csv(project: Project, folder: str | os.PathLike, *, recording_id: Optional[int] = None,
               at_s: Optional[float] = None) -> list[Path]:
    """Write the series and events (and alarms) of a recording as CSV files in ``folder``.

    Files: ``hall_metrics.csv`` (t_s and one column per metric),
    ``rack_inlet_c.csv`` and ``rack_power_w.csv`` (t_s and one column per rack
    id), ``events.csv``, ``alarms.csv``. With ``at_s`` only rows up to it.
    Each file is written atomically. Returns the paths written.
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the folder: {exc.strerror}") from None
    reader = project.recording(recording_id)
    written = []
    t, v = reader.series("hall", None, at_s)
    written.append(_write(out / "hall_metrics.csv", ["t_s"] + reader.metric_names,
                          ([_fmt(ti)] + [_fmt(x) for x in row] for ti, row in zip(t, v))))
    for name in ("rack_inlet_c", "rack_power_w"):
        t, v = reader.series(name, None, at_s)
        written.append(_write(out / f"{name}.csv", ["t_s"] + reader.rack_ids,
                              ([_fmt(ti)] + [_fmt(x) for x in row] for ti, row in zip(t, v))))
    events = reader.events(None, at_s)
    written.append(_write(out / "events.csv", ["seq", "t_s", "kind", "target", "cause", "condition", "details"],
                          ([e.seq, _fmt(e.t_s), e.kind, e.target, "" if e.cause is None else e.cause, e.condition,
                            json.dumps(e.details, sort_keys=True)] for e in events)))
    alarms = reader.alarms(None, at_s)
    written.append(_write(out / "alarms.csv", ["t_s", "target", "kind", "severity", "active", "message", "cause"],
                          ([_fmt(a["t_s"]), a["target"], a["kind"], a["severity"], int(bool(a["active"])),
                            a["message"], "" if a["cause"] is None else a["cause"]] for a in alarms)))
    return written


def _write(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> Path:
    try:
        atomic_write(path, _csv_text(header, rows))
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    return path
