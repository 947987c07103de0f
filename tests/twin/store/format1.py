"""Project files of format 1, for the tests of old files.

``tests/data/store/format1.dctwin`` was written by dctwin before format 2 (a FakeSim recording of 60 s:
keyframes every 15 s, an incident, two alarm changes). :func:`downgrade` writes any recording of
format 2 as format 1 would have (the tables created by the very statements stored in that file,
arrays raw, no checksums), so a real engine run can be tested as an old file too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dctwin.twin.store import Project
from dctwin.twin.store.schema import APPLICATION_ID

FIXTURE = Path(__file__).parents[2] / "data" / "store" / "format1.dctwin"


def format1_ddl() -> list[str]:
    con = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid")]
    finally:
        con.close()


def downgrade(src: Path, dst: Path) -> Path:
    """Write the content of the format-2 project ``src`` into a new format-1 file ``dst``."""
    dst_con = sqlite3.connect(dst)
    for sql in format1_ddl():
        dst_con.execute(sql)
    dst_con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    dst_con.execute("PRAGMA user_version = 1")
    src_con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    copy = {"meta": "key, value", "layouts": "id, saved_at, note, layout_json",
            "incidents": "id, name, saved_at, note, incident_json",
            "recordings": "id, layout_id, incident_id, hall_id, dt_s, duration_s, engine_version, started_at, "
                          "finished, keyframe_every_s, metrics_every_s, rack_series_every_s, rack_ids_json, "
                          "unit_ids_json, metric_names_json, params_json, note",
            "keyframes": "id, recording_id, t_s, last_event_seq",
            "events": "id, recording_id, seq, t_s, kind, target, cause, condition, details_json",
            "alarms": "id, recording_id, t_s, target, kind, severity, active, message, cause"}
    for table, cols in copy.items():
        rows = src_con.execute(f"SELECT {cols} FROM {table}" + (" WHERE key <> 'file_id'" if table == "meta"
                                                                  else "")).fetchall()
        dst_con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(cols.split(',')))})", rows)
    src_con.close()
    with Project.open(src, read_only=True) as p:
        for info in p.recordings():
            reader = p.recording(info.id)
            for kf in reader.keyframes():
                for name, a in reader.load_keyframe(kf).items():
                    from dctwin.twin.store.arrays import encode_array

                    dtype, shape, data = encode_array(a)
                    dst_con.execute("INSERT INTO keyframe_arrays (keyframe_id, name, dtype, shape, data, ref_id) "
                                    "VALUES (?, ?, ?, ?, ?, NULL)", (kf.id, name, dtype, shape, data))
            for name in ("hall", "rack_inlet_c", "rack_power_w"):
                for r in reader._chunk_rows(name, None, None):
                    t, v = reader._decode_chunk(name, r, r["width"])
                    dst_con.execute("INSERT INTO series (recording_id, name, t0_s, t1_s, n, width, t_data, data) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    (info.id, name, r["t0_s"], r["t1_s"], r["n"], r["width"], t.tobytes(),
                                     v.T.astype("<f4").tobytes()))
    dst_con.commit()
    dst_con.execute("PRAGMA journal_mode=DELETE")
    dst_con.close()
    return dst
