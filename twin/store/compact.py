"""Project files of older formats rewritten in the current one (``dctwin compact``, and opening one for writing).

Format 2 becomes 3 as it is (:func:`v2_to_v3`); in 3 -> 4 the measured-data tables gain their
checksums (:func:`v3_to_v4`).

Format 1 stored every keyframe array raw and carried no checksums. The
migration step :func:`v1_to_v2` runs on a copy (``project.migrate_copy``:
the original is never changed): it renames the old tables, creates the
tables of format 2, and copies every row through, keyframe arrays
re-encoded (:class:`~dctwin.twin.store.recorder.KeyframeEncoder`) and series
chunks compressed, each row with its checksum; then the old tables go and
the copy is vacuumed. Ids stay as they were, so recording, layout and
keyframe ids mean the same in both files. Damaged rows of the old file
(arrays whose size does not match their shape, ...) stop the migration with
a message naming them: nothing damaged is carried into a file that would
then vouch for it with fresh checksums.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.store.arrays import decode_array, encode_array, pack_blob
from dctwin.twin.store.project import KIND_REVIEW, MIGRATIONS, check_file, copy_into_place, migrate_copy, recount
from dctwin.twin.store.schema import (
    COUNTED, MEASURED_TABLES, SCHEMA_VERSION, AlarmRow, EventRow, Incident, Keyframe, KeyframeArray, LayoutVersion, Recording, SeriesChunk,
    checked_columns, with_crc,
)

#: the tables format 2 changed, in the order rows are copied (parents first)
_REBUILT = [LayoutVersion, Incident, Recording, Keyframe, KeyframeArray, EventRow, SeriesChunk, AlarmRow]
_OLD_INDEXES = ("ix_events_rec_t", "ix_series_rec_name_t", "ix_alarms_rec_t")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _insert(con: sqlite3.Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        cols = list(rows[0])
        con.executemany(f"INSERT INTO {_q(table.name)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [tuple(r[c] for c in cols) for r in rows])


def v1_to_v2(con: sqlite3.Connection) -> None:
    """Migration step 1 -> 2 on ``con``, a copy of a format-1 file inside a transaction."""
    from dctwin.twin.store.recorder import KeyframeEncoder

    dialect = sqlite_dialect.dialect()
    for name in _OLD_INDEXES:
        con.execute(f"DROP INDEX IF EXISTS {_q(name)}")
    for model in _REBUILT:
        t = model.__table__
        con.execute(f"ALTER TABLE {_q(t.name)} RENAME TO {_q('v1_' + t.name)}")
    for model in _REBUILT:
        t = model.__table__
        con.execute(str(CreateTable(t).compile(dialect=dialect)))
        for index in t.indexes:
            con.execute(str(CreateIndex(index).compile(dialect=dialect)))

    new_columns = ("codec", "base_id", "first_array_id", "n_arrays") + tuple(COUNTED)

    def old_rows(table: Any, order: str = "id", where: str = "", args: tuple = ()) -> list[dict[str, Any]]:
        cols = [c for c in ("id",) + checked_columns(table) if c not in new_columns]
        cur = con.execute(f"SELECT {', '.join(cols)} FROM {_q('v1_' + table.name)} {where} ORDER BY {order}", args)
        return [dict(zip(cols, r)) for r in cur]

    for model in (LayoutVersion, Incident, Recording, EventRow, AlarmRow):
        t = model.__table__
        extra = dict.fromkeys(COUNTED, 0) if model is Recording else {}  # counted once every row is in
        _insert(con, t, [with_crc(t, r | extra) for r in old_rows(t)])
    st = SeriesChunk.__table__
    for r in old_rows(st):
        n, w, tb, db = r["n"], r["width"], r["t_data"], r["data"]
        if not (isinstance(n, int) and isinstance(w, int) and isinstance(tb, bytes) and isinstance(db, bytes)
                and len(tb) == 8 * n and len(db) == 4 * n * w):
            raise ProjectFileError(f"series chunk {r['id']} ({r['name']!r}) is damaged: it is not migrated")
        r.update(codec="shuffle", t_data=pack_blob(tb, 8), data=pack_blob(db, 4))
        _insert(con, st, [with_crc(st, r)])
    kt, at = Keyframe.__table__, KeyframeArray.__table__
    next_id = 1
    for (rid,) in con.execute("SELECT id FROM recordings ORDER BY id").fetchall():
        encoder = KeyframeEncoder()
        for kf in old_rows(kt, "t_s", "WHERE recording_id = ?", (rid,)):
            arrays = []
            for r in con.execute("SELECT a.name, a.dtype, a.shape, coalesce(d.data, a.data), a.ref_id, d.id "
                                 "FROM v1_keyframe_arrays a LEFT JOIN v1_keyframe_arrays d ON d.id = a.ref_id "
                                 "WHERE a.keyframe_id = ? ORDER BY a.id", (kf["id"],)).fetchall():
                name, dtype, shape, data, ref, found = r
                where = f"recording {rid}, keyframe at t = {kf['t_s']!r} s, array {name}"
                if ref is not None and found is None:
                    raise ProjectFileError(f"{where} refers to missing data: it is not migrated")
                arrays.append((str(name), *encode_array(decode_array(dtype, shape, data, where))))
            rows, learnt = encoder.encode(kf["id"], next_id, arrays)
            _insert(con, at, rows)
            encoder.commit(learnt)
            next_id += len(rows)
            kf.update(first_array_id=rows[0]["id"] if rows else next_id, n_arrays=len(rows))
            _insert(con, kt, [with_crc(kt, kf)])
    for model in reversed(_REBUILT):
        con.execute(f"DROP TABLE {_q('v1_' + model.__table__.name)}")
    for (rid,) in con.execute("SELECT id FROM recordings").fetchall():
        recount(con, rid)
    if con.execute("SELECT count(*) FROM meta WHERE key = 'file_id'").fetchone()[0] == 0:
        con.execute("INSERT INTO meta (key, value) VALUES ('file_id', ?)", (uuid.uuid4().hex,))


def v2_to_v3(con: sqlite3.Connection) -> None:
    """Migration step 2 -> 3: nothing to rewrite. Format 3 has the tables and encodings of 2; what it adds is
    keyframes without the air history (``schema.SCHEMA_VERSION``), which the keyframes of a file of format 2
    all hold, so they replay as before."""


def v3_to_v4(con: sqlite3.Connection) -> None:
    """Migration step 3 -> 4: the measured-data tables the file has gain ``crc``, every row its checksum.
    A row that is already damaged (a chunk that does not hold its samples, JSON that does not parse) stops
    the migration, named: a fresh checksum would vouch for it."""
    from dctwin.twin.store.measured import row_damage

    names = {r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    for t in MEASURED_TABLES:
        if t.name not in names:
            continue
        have = {r[1] for r in con.execute(f"PRAGMA table_info({_q(t.name)})")}
        if "crc" not in have:
            con.execute(f"ALTER TABLE {_q(t.name)} ADD COLUMN crc INTEGER")
        cols = ("id",) + checked_columns(t)
        updates = []
        for r in con.execute(f"SELECT {', '.join(cols)} FROM {_q(t.name)} ORDER BY id").fetchall():
            row = dict(zip(cols, r))
            damage = row_damage(t, row)
            if damage:
                raise ProjectFileError(f"{t.name} row {row['id']} is damaged ({damage}): it is not migrated")
            updates.append((with_crc(t, row)["crc"], row["id"]))
        con.executemany(f"UPDATE {_q(t.name)} SET crc = ? WHERE id = ?", updates)


MIGRATIONS[1] = v1_to_v2
MIGRATIONS[2] = v2_to_v3
MIGRATIONS[3] = v3_to_v4


def compact(src: str | os.PathLike, out: str | os.PathLike) -> dict[str, Any]:
    """Rewrite the project (or review export) ``src`` in the compact format into the new file ``out``.

    ``src`` is only read; ``out`` must not exist. A file already in the current format is copied
    and vacuumed. Its content must check as an export checks it (:func:`~dctwin.twin.store.export.check_contents`:
    keyframe arrays, events, alarms, series, measured data, layouts), else ProjectFileError naming the row and
    nothing is written. A review export must verify intact first (it keeps its kind, with fresh hashes of
    the same content). Returns ``{"file", "from_format", "format", "bytes_before", "bytes"}``.
    """
    from dctwin.twin.store.export import check_file_contents, verify_file, write_manifest

    src_p, out_p = Path(src), Path(out)
    if out_p.exists() or out_p.is_symlink():
        raise InputError(f"{out_p}: already exists; compact writes a new file (never in place)")
    info = check_file(src_p)
    if not out_p.resolve().parent.is_dir():
        raise InputError(f"{out_p}: folder {out_p.resolve().parent} does not exist")
    review = info.kind == KIND_REVIEW
    if review:
        res = verify_file(src_p)
        if not res.intact:
            raise ProjectFileError(f"{src_p}: is a review export that has been altered since it was made; it is "
                                   f"not rewritten (that would give the altered content fresh hashes)")
    # nothing damaged is carried into the new file (which would vouch for it): checked as export checks
    check_file_contents(src_p)
    if info.user_version < SCHEMA_VERSION:
        # a review export's content was verified above; it is the same after migration: fresh hashes of it
        migrate_copy(src_p, out_p, after=write_manifest if review else None)
    else:
        copy_into_place(info.uri, out_p, lambda con: con.execute("VACUUM"))
    return {"file": str(out_p), "from_format": info.user_version, "format": SCHEMA_VERSION,
            "bytes_before": src_p.stat().st_size, "bytes": out_p.stat().st_size}
