"""Review exports (self-contained, hashed, read-only), verification and CSV export.

A review export is a dctwin file with ``meta.kind = "review"`` holding one
recording (or one moment of it: the keyframe before T and everything up to
T), its layout and incident, events, alarms and series, and a ``manifest``
table with the SHA-256 of every other table's content and of the schema.
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
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from dctwin import twin
from dctwin.twin._files import atomic_write
from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.store.measured import prune_for_export
from dctwin.twin.store.project import (
    KIND_REVIEW, Project, backup_into_place, check_file, file_uri, now_iso,
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


# --------------------------------------------------------------------------- export

def _drop_keyframes(con: sqlite3.Connection, where: str, value: Any) -> None:
    """Delete the keyframes that ``where`` (a condition with one ``?``, written here) holds for, and
    their arrays."""
    con.execute(f"DELETE FROM keyframe_arrays WHERE keyframe_id IN (SELECT id FROM keyframes WHERE {where})",
                (value,))
    con.execute(f"DELETE FROM keyframes WHERE {where}", (value,))


def _prune(con: sqlite3.Connection, recording_id: Optional[int], layout_id: Optional[int],
           incident_id: Optional[int], at_s: Optional[float], keep_kf: Optional[int]) -> None:
    """Keep only the chosen recording (and moment) in the copy."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if recording_id is None:
            for t in ("keyframe_arrays", "keyframes", "events", "series", "alarms", "recordings"):
                con.execute(f"DELETE FROM {t}")
            con.execute("DELETE FROM layouts WHERE id <> ?", (layout_id,))
        else:
            r = recording_id
            for t in ("events", "series", "alarms"):
                con.execute(f"DELETE FROM {t} WHERE recording_id <> ?", (r,))
            _drop_keyframes(con, "recording_id <> ?", r)
            con.execute("DELETE FROM recordings WHERE id <> ?", (r,))
            con.execute("DELETE FROM layouts WHERE id <> ?", (layout_id,))
            con.execute("DELETE FROM incidents WHERE id IS NOT ?", (incident_id,))
            if at_s is not None:
                # the kept keyframe gets its own copy of arrays it shared with earlier keyframes
                con.execute("UPDATE keyframe_arrays SET data = (SELECT d.data FROM keyframe_arrays d "
                            "WHERE d.id = keyframe_arrays.ref_id), ref_id = NULL "
                            "WHERE keyframe_id = ? AND ref_id IS NOT NULL", (keep_kf,))
                _drop_keyframes(con, "id <> ?", keep_kf)
                for table, column in (("events", "t_s"), ("alarms", "t_s"), ("series", "t0_s")):
                    con.execute(f"DELETE FROM {table} WHERE {column} > ?", (at_s,))
                _trim_series(con, at_s)
                con.execute("UPDATE recordings SET duration_s = MIN(duration_s, ?)", (at_s,))
        prune_for_export(con, recording_id, at_s)  # measured data: only this recording's shadow rows
        con.execute("DELETE FROM manifest")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _trim_series(con: sqlite3.Connection, at_s: float) -> None:
    """Cut series chunks that run past ``at_s`` so the snapshot holds nothing after it."""
    rows = con.execute("SELECT id, n, width, t_data, data FROM series WHERE t1_s > ?", (at_s,)).fetchall()
    for cid, n, w, tb, db in rows:
        t = np.frombuffer(tb, dtype="<f8")
        k = int(np.searchsorted(t, at_s, side="right"))
        if k == 0:
            con.execute("DELETE FROM series WHERE id = ?", (cid,))
            continue
        v = np.frombuffer(db, dtype="<f4").reshape(w, n)[:, :k]
        con.execute("UPDATE series SET n = ?, t1_s = ?, t_data = ?, data = ? WHERE id = ?",
                    (k, float(t[k - 1]), t[:k].tobytes(), np.ascontiguousarray(v).tobytes(), cid))


def export_review(src: str | os.PathLike, out: str | os.PathLike, *, recording_id: Optional[int] = None,
                  at_s: Optional[float] = None) -> dict[str, Any]:
    """Write a self-contained, hashed review export of ``src`` to ``out``.

    Holds one recording (default: the latest; a file without recordings gives
    its latest layout only), or with ``at_s`` one moment of it: the keyframe
    replay starts from (the last one before ``at_s``) and the events, alarms
    and series up to ``at_s`` (replay re-simulates from it to ``at_s``).
    Returns a summary dict (recording, keyframes, events, tables, size).
    """
    src_p, out_p = Path(src), Path(out)
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
    project = Project.open(src_p, read_only=True)
    try:
        if project.is_review:
            res = verify_file(project.path)
            if not res.intact:  # a new export would give the altered content fresh, valid hashes
                raise ProjectFileError(f"{src_p}: is a review export that has been altered since it was made "
                                       f"({res.message().split('(', 1)[-1].rstrip(')')}); it is not re-exported")
        layout_id = project.latest_layout_id()
        incident_id = None
        keep_kf = None
        recs = project.recordings()
        if recording_id is None and recs:
            recording_id = recs[-1].id
        if recording_id is not None:
            reader = project.recording(recording_id)
            layout_id, incident_id = reader.layout_id, reader.incident_id
            if at_s is not None:
                if not (0 <= at_s <= reader.duration_s + 1e-9):
                    raise InputError(f"--at {at_s:g} s is outside recording {reader.id} "
                                     f"(0 to {reader.duration_s:g} s)")
                keep_kf = reader.replay_keyframe(at_s).id  # the one replay to at_s starts from
            # a review must hold what replay needs: refuse damaged keyframes instead of hashing them as truth
            reader.check_data(None if keep_kf is None else [keep_kf])
        elif at_s is not None:
            raise InputError(f"{src_p}: holds no recording, so there is no moment --at {at_s:g} s to export")
        if layout_id is None:
            raise ProjectFileError(f"{src_p}: holds no layout and no recording; nothing to export")
        project.load_layout(layout_id)  # a layout that does not read is refused (LayoutError naming it)
        meta = {"kind": KIND_REVIEW, "exported_at": now_iso(), "exported_by": f"dctwin {twin.__version__}",
                "exported_from": src_p.name, "recording_id": "" if recording_id is None else str(recording_id),
                "at_s": "" if at_s is None else repr(float(at_s))}

        def transform(con: sqlite3.Connection) -> None:
            _prune(con, recording_id, layout_id, incident_id, at_s, keep_kf)
            con.execute("VACUUM")
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
            con.execute("COMMIT")
            digests = compute_manifest(con)
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT INTO manifest (table_name, rows, sha256) VALUES (?, ?, ?)",
                            [(name, rows, sha) for name, (rows, sha) in digests.items()])
            con.execute("COMMIT")

        src_con = sqlite3.connect(file_uri(project.path, "ro"), uri=True, isolation_level=None)
        try:
            src_con.execute("PRAGMA trusted_schema=OFF")
            backup_into_place(src_con, out_p, transform)
        finally:
            src_con.close()
    finally:
        project.close()
    with Project.open(out_p) as review:
        recs = review.recordings()
        return {"file": str(out_p), "recording": recording_id, "at_s": at_s, "layouts": len(review.layouts()),
                "keyframes": sum(r.keyframes for r in recs), "events": sum(r.events for r in recs),
                "bytes": out_p.stat().st_size}


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

    @property
    def intact(self) -> bool:
        return not (self.altered or self.missing or self.added or self.no_manifest)

    def message(self) -> str:
        if self.no_manifest:
            return f"{self.path}: has no manifest to verify against (it is not a review export)"
        if self.intact:
            return f"{self.path}: intact ({self.checked} tables match their SHA-256)"
        parts = []
        if self.altered:
            parts.append("altered: " + ", ".join(self.altered))
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing))
        if self.added:
            parts.append("added: " + ", ".join(self.added))
        return f"{self.path}: ALTERED since export ({'; '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "intact": self.intact, "kind": self.kind, "checked": self.checked,
                "altered": self.altered, "missing": self.missing, "added": self.added,
                "no_manifest": self.no_manifest}


def verify_file(path: str | os.PathLike) -> VerifyResult:
    """Recompute the SHA-256 of every table of a review export and compare with its manifest.

    A file that is not a dctwin file or is damaged raises ProjectFileError.
    """
    p = Path(path)
    info = check_file(p, structure=False)  # dropped tables, triggers and views are reported as alterations
    con = sqlite3.connect(file_uri(p, "ro"), uri=True, isolation_level=None)
    try:
        con.execute("PRAGMA trusted_schema=OFF")
        res = VerifyResult(p, info.kind)
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
