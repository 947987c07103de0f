"""Project files notice damage (issue 19): checksums on every row, arrays that lie, companions that do
not belong, and fuzzers (byte- and row-level mutations of real project files) with a time budget.

The promise checked by the fuzzers: a damaged file is refused, or reading it raises a
ProjectFileError naming what is damaged, or what it gives is exactly what the intact file gives
(the damage hit unused space or an index nobody reads). Never another exception, never a
different history.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fakesim import FakeSim, forge_checksums, hot_journal_of, run_live

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder, export_review, replay_to, verify_file
from dctwin.twin.store.arrays import encode_array
from dctwin.twin.store.recording import KeyframeDamaged
from dctwin.twin.store.replay import Replayer
from dctwin.twin.store.schema import TABLES, checked_columns, has_crc

INCIDENT = [Event(0, 10.0, "fail", "CRAH-1"), Event(0, 40.0, "repair", "CRAH-1")]
#: wall-clock budget of each fuzzer (s): as many mutations as fit, at least MIN_CASES
FUZZ_BUDGET_S = float(os.environ.get("DCTWIN_FUZZ_BUDGET_S", "8"))
MIN_CASES = 40


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("damage")
    run = d / "run.dctwin"
    live: dict = {}
    with Project.create(run) as p:
        lid = p.save_layout(synthetic_site(6), "as built")
        inc = p.save_incident("trip", '{"events": []}')
        rec = Recorder(p, lid, 0.5, keyframe_every_s=15, incident_id=inc)
        rec.add_alarms([{"t_s": 20.0, "target": "R-00", "kind": "inlet_high"},
                        {"t_s": 45.0, "target": "R-00", "kind": "inlet_high", "active": False}])
        run_live(FakeSim(dt_s=0.5), rec, 60.0, INCIDENT, live)
    return run, live


def fake(reader):
    return FakeSim(dt_s=reader.dt_s)


def _copy(src: Path, tmp_path: Path, name: str = "edited.dctwin") -> Path:
    dst = tmp_path / name
    shutil.copy(src, dst)
    return dst


def _bits(arrays: dict) -> dict:
    return {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in arrays.items()}


def read_everything(path: Path) -> str:
    """A digest of all a project holds, read the way dctwin reads it (raises ProjectFileError on damage)."""
    h = hashlib.sha256()
    with Project.open(path, read_only=True) as p:
        h.update(repr((p.layouts(), p.incidents(), p.recordings())).encode())
        for info in p.layouts():
            h.update(p.layout_text(info.id).encode())
        for iid, *_ in p.incidents():
            h.update(p.incident_text(iid).encode())
        for info in p.recordings():
            reader = p.recording(info.id)
            h.update(repr((reader.dt_s, reader.duration_s, reader.params, reader.rack_ids)).encode())
            for kf in reader.keyframes():
                h.update(repr((kf.t_s, kf.last_event_seq)).encode())
                for name, (dt, shape, data) in sorted(_bits(reader.load_keyframe(kf)).items()):
                    h.update(f"{name}{dt}{shape}".encode() + data)
            h.update(repr(reader.events()).encode())
            h.update(repr(reader.alarms()).encode())
            for stream in ("hall", "rack_inlet_c", "rack_power_w"):
                t, v = reader.series(stream)
                h.update(t.tobytes() + v.tobytes())
    return h.hexdigest()


def _blob_offset(path: Path, sql: str) -> int:
    """Where in the file the first 64 bytes of the blob ``sql`` selects lie (they sit in one page)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    blob = con.execute(sql).fetchone()[0]
    con.close()
    data = path.read_bytes()
    at = data.find(blob[:64])
    assert at > 0 and data.find(blob[:64], at + 1) < 0
    return at


def _flip(path: Path, offset: int, bit: int = 3) -> None:
    b = bytearray(path.read_bytes())
    b[offset] ^= 1 << bit
    path.write_bytes(bytes(b))


# ---------------------------------------------------------------- one flipped bit


def test_a_flipped_bit_in_a_keyframe_is_named_and_replay_stops_before_it(made, tmp_path):
    run, live = made
    bad = _copy(run, tmp_path)
    _flip(bad, _blob_offset(bad, "SELECT a.data FROM keyframe_arrays a JOIN keyframes k ON k.id = a.keyframe_id "
                                 "WHERE k.t_s = 30 AND a.name = 'air_c'") + 20)
    with Project.open(bad, read_only=True) as p:
        rp = Replayer(p.recording(), fake)
        assert _bits(rp.seek(22.5).keyframe()) == _bits(live[22.5])  # before it: exact
        for t in (31.0, 45.0, 60.0):
            with pytest.raises(KeyframeDamaged, match=r"edited.dctwin: recording 1, keyframe at t = 30 s is damaged "
                                                      r"\(array air_c: its checksum does not match\); replay stops "
                                                      r"before it"):
                rp.seek(t)
        assert _bits(rp.seek(29.5).keyframe()) == _bits(live[29.5])
        with pytest.raises(KeyframeDamaged, match="keyframe at t = 30 s"):
            replay_to(p.recording(), 59.0, fake)  # a fresh replay finds it too, not a later keyframe


def test_a_flipped_bit_in_an_event_stops_replay_before_it(made, tmp_path):
    run, live = made
    bad = _copy(run, tmp_path)
    con = sqlite3.connect(bad)
    con.execute("UPDATE events SET t_s = 40.5 WHERE kind = 'repair'")  # as a flipped bit in its time would
    con.commit()
    con.close()
    with Project.open(bad, read_only=True) as p:
        events = p.recording().events_until_damage()[0]
        last_good = events[-1].t_s  # the damaged event's own time is not to be trusted: replay stops here
        rp = Replayer(p.recording(), fake)
        assert _bits(rp.seek(last_good).keyframe()) == _bits(live[last_good])
        for t in (last_good + 0.5, 50.0):
            with pytest.raises(ProjectFileError, match=rf"recording 1: event row \d+ \(after t = {last_good:g} s\) is "
                                                       r"damaged: its checksum does not match; replay stops before it"):
                rp.seek(t)


def test_a_flipped_bit_in_a_layout_is_named(made, tmp_path):
    run, _ = made
    bad = _copy(run, tmp_path)
    _flip(bad, _blob_offset(bad, "SELECT CAST(layout_json AS BLOB) FROM layouts") + 30, bit=0)
    with Project.open(bad, read_only=True) as p:
        with pytest.raises(ProjectFileError, match="layout version 1 is damaged"):
            p.load_layout()


# ---------------------------------------------------------------- fuzzers


def _outcome(path: Path, want: str) -> str:
    try:
        got = read_everything(path)
    except ProjectFileError:
        return "noticed"
    assert got == want, "a damaged file gave a different history without a word"
    return "same"


def test_fuzz_single_bit_flips_anywhere_in_a_project_file(made, tmp_path):
    run, _ = made
    want = read_everything(run)
    size = run.stat().st_size
    rng = random.Random(19)
    stop = time.monotonic() + FUZZ_BUDGET_S
    seen: dict[str, int] = {}
    cases = 0
    while cases < MIN_CASES or time.monotonic() < stop:
        bad = _copy(run, tmp_path)
        _flip(bad, rng.randrange(size), rng.randrange(8))
        kind = _outcome(bad, want)
        seen[kind] = seen.get(kind, 0) + 1
        cases += 1
    assert seen.get("noticed", 0) > 0, seen


def _mutations(con: sqlite3.Connection, rng: random.Random):
    """(table, rowid, column, new value) changes of stored values, never to what they were."""
    for t in TABLES:
        if not has_crc(t):
            continue
        ids = [r[0] for r in con.execute(f"SELECT id FROM {t.name}")]
        for col in checked_columns(t) + ("crc",):
            for rid in rng.sample(ids, min(2, len(ids))):
                old = con.execute(f"SELECT {col} FROM {t.name} WHERE id = ?", (rid,)).fetchone()[0]
                if isinstance(old, bytes) and old:
                    b = bytearray(old)
                    b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
                    new = bytes(b)
                elif isinstance(old, str):
                    new = (old[:-1] + chr(ord(old[-1]) ^ 1)) if old else "x"
                elif isinstance(old, bool) or isinstance(old, int):
                    new = old + rng.choice([1, -1, 1000])
                elif isinstance(old, float):
                    new = rng.choice([old + 1e-9 * max(1.0, abs(old)), -old - 1.0, None])
                else:
                    new = 1
                yield t.name, rid, col, new


def test_fuzz_every_changed_value_of_every_table_is_noticed(made, tmp_path):
    """Row-level mutations (a changed number, character, bit of a blob, a NULL) are all noticed, but for
    a value that reads as the same one."""
    run, _ = made
    want = read_everything(run)
    rng = random.Random(20)
    con = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    cases = list(_mutations(con, rng))
    con.close()
    rng.shuffle(cases)
    stop = time.monotonic() + FUZZ_BUDGET_S
    done = 0
    for table, rid, col, new in cases:
        if done >= MIN_CASES and time.monotonic() > stop:
            break
        bad = _copy(run, tmp_path)
        c = sqlite3.connect(bad)
        try:
            c.execute(f"UPDATE {table} SET {col} = ? WHERE id = ?", (new, rid))
        except sqlite3.IntegrityError:  # NOT NULL: the file cannot hold it
            c.close()
            continue
        c.commit()
        c.close()
        try:
            got = read_everything(bad)
        except ProjectFileError:
            done += 1
            continue
        # the one way not to be noticed: a value dctwin reads the same (a flag of 2 is as true as 1)
        assert got == want, f"{table}.{col} of row {rid} set to {new!r} was not noticed"
    assert done >= MIN_CASES
    assert read_everything(run) == want


# ---------------------------------------------------------------- arrays that lie (checksums forged)


def forge(path: Path, *statements: str) -> Path:
    """Edit ``path`` and recompute every row checksum, as someone who knows the format would."""
    con = sqlite3.connect(path)
    for st in statements:
        con.execute(st)
    forge_checksums(con)
    con.commit()
    con.close()
    return path


def set_array(path: Path, t_s: float, name: str, value: np.ndarray) -> Path:
    """Store ``value`` raw as array ``name`` of the keyframe at ``t_s`` (checksums forged)."""
    dtype, shape, data = encode_array(value)
    con = sqlite3.connect(path)
    rid = con.execute("SELECT a.id FROM keyframe_arrays a JOIN keyframes k ON k.id = a.keyframe_id "
                      "WHERE k.t_s = ? AND a.name = ?", (t_s, name)).fetchone()[0]
    con.execute("UPDATE keyframe_arrays SET dtype = ?, shape = ?, codec = 'raw', ref_id = NULL, base_id = NULL, "
                "data = ? WHERE id = ?", (dtype, shape, data, rid))
    con.commit()
    con.close()
    return forge(path)


LIES = [
    ("shape of 1e9 elements", "UPDATE keyframe_arrays SET shape = '[1000000000]' WHERE name = 'air_c'",
     "claims 1e\\+09 elements"),
    ("negative shape", "UPDATE keyframe_arrays SET shape = '[-8, 5]' WHERE name = 'air_c'", "malformed shape"),
    ("textual shape", "UPDATE keyframe_arrays SET shape = '\"8x5\"' WHERE name = 'air_c'", "malformed shape"),
    ("object dtype", "UPDATE keyframe_arrays SET dtype = '|O' WHERE name = 'air_c'", "unsupported dtype '\\|O'"),
    ("unicode dtype", "UPDATE keyframe_arrays SET dtype = '<U10' WHERE name = 'air_c'", "unsupported dtype '<U10'"),
    ("byte-swapped", "UPDATE keyframe_arrays SET dtype = '>f8' WHERE name = 'air_c'", "byte order of '>f8'"),
    ("one element short", "UPDATE keyframe_arrays SET shape = '[8, 6]' WHERE name = 'air_c'",
     "expected 384|decompresses to 320 bytes, expected 384"),
]


@pytest.mark.parametrize("what,statement,says", LIES, ids=[x[0] for x in LIES])
def test_keyframe_arrays_that_lie_are_refused_with_the_array_named(made, tmp_path, what, statement, says):
    run, _ = made
    bad = forge(_copy(run, tmp_path), statement)
    with Project.open(bad, read_only=True) as p:
        rp = Replayer(p.recording(), fake)
        with pytest.raises(KeyframeDamaged, match=rf"keyframe at t = 0 s is damaged \(array air_c: .*({says})"):
            rp.seek(5.0)


def test_a_short_raw_array_and_a_nan_time_are_refused(made, tmp_path):
    run, _ = made
    bad = set_array(_copy(run, tmp_path), 15.0, "air_c", np.zeros(40))
    forge(bad, "UPDATE keyframe_arrays SET data = substr(data, 1, 312) WHERE codec = 'raw' AND name = 'air_c'")
    with Project.open(bad, read_only=True) as p, pytest.raises(
            KeyframeDamaged, match=r"keyframe at t = 15 s is damaged \(array air_c: .*holds 312 bytes, expected 320"):
        replay_to(p.recording(), 20.0, fake)
    bad = set_array(_copy(run, tmp_path, "b.dctwin"), 15.0, "t_s", np.array(np.nan))
    with Project.open(bad, read_only=True) as p, pytest.raises(KeyframeDamaged, match="array t_s holds"):
        replay_to(p.recording(), 20.0, fake)


@pytest.mark.parametrize("statement,says", [
    ("UPDATE keyframes SET t_s = -5 WHERE t_s = 15", "keyframe at t = 0 s is damaged \\(its time -5.0"),
    ("UPDATE keyframes SET t_s = 'NaN' WHERE t_s = 15", "its time 'NaN'"),  # SQLite keeps no NaN: NULL or text
    ("UPDATE events SET t_s = -1 WHERE seq = 1", "event 1 is damaged: its time or number is out of place"),
    ("UPDATE recordings SET duration_s = -60", "duration_s = -60 is not a usable time"),
])
def test_negative_or_nan_times_are_refused(made, tmp_path, statement, says):
    run, _ = made
    bad = forge(_copy(run, tmp_path), statement)
    with Project.open(bad, read_only=True) as p, pytest.raises(ProjectFileError, match=says):
        replay_to(p.recording(), 30.0, fake)


# ---------------------------------------------------------------- companions that do not belong


@pytest.mark.parametrize("source", ["other database", "other project"])
def test_a_hot_journal_from_another_database_is_never_applied(made, tmp_path, source, caplog):
    run, _ = made
    other = tmp_path / "other.db"
    if source == "other database":
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE t (x)")
        con.executemany("INSERT INTO t VALUES (?)", [(os.urandom(2000),) for _ in range(50)])
        con.commit()
        con.close()
    else:  # another project: the same tables, other content
        with Project.create(other) as p:
            rec = Recorder(p, p.save_layout(synthetic_site(12), "other"), 1.0, keyframe_every_s=5)
            run_live(FakeSim(n_racks=12, dt_s=1.0), rec, 40.0, [])
    journal = hot_journal_of(other)
    project = _copy(run, tmp_path, "project.dctwin")
    Path(f"{project}-journal").write_bytes(journal)
    before = project.read_bytes()
    want = read_everything(run)
    with Project.open(project, read_only=True) as p:
        assert p.warnings and "project.dctwin-journal beside it does not belong to it" in p.warnings[0]
    assert read_everything(project) == want
    assert "does not belong to it and was not applied" in caplog.text
    with pytest.raises(ProjectFileError, match="does not belong to it.*not opened for writing"):
        Project.open(project)
    assert project.read_bytes() == before and Path(f"{project}-journal").read_bytes() == journal


def test_a_wal_from_another_database_is_never_applied(made, tmp_path):
    run, _ = made
    other = tmp_path / "other.dctwin"
    shutil.copy(run, other)
    code = ("import os, sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=WAL')\nc.execute(\"UPDATE events SET kind = 'forged'\")\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(other)])
    project = _copy(run, tmp_path, "project.dctwin")
    shutil.copy(f"{other}-wal", f"{project}-wal")
    want = read_everything(run)
    with Project.open(project, read_only=True) as p:
        assert p.warnings and "-wal beside it does not belong" in p.warnings[0]
        assert "forged" not in {e.kind for e in p.recording().events()}
    assert read_everything(project) == want


def test_a_projects_own_journal_is_still_recovered(tmp_path):
    path = tmp_path / "own.dctwin"
    with Project.create(path) as p:
        for i in range(30):
            p.save_layout(synthetic_site(2), f"v{i}")
    hot_journal_of(path)
    with Project.open(path, read_only=True) as p:
        assert not p.warnings and [i.note for i in p.layouts()] == [f"v{i}" for i in range(30)]
    assert not Path(f"{path}-journal").exists()


# ---------------------------------------------------------------- review exports


def _corrupt_index_entry(path: Path, index: str) -> None:
    """Change the row id an entry of ``index`` points at (its last record byte), as a flipped bit would,
    keeping the index in order: quick_check does not see it, the full integrity check does."""
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (index,)).fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    page = (root - 1) * page_size
    assert data[page] == 0x0A  # a leaf index page: the whole (small) index
    cells = int.from_bytes(data[page + 3:page + 5], "big")
    last = int.from_bytes(data[page + 8 + 2 * (cells - 1):page + 10 + 2 * (cells - 1)], "big")
    size = data[page + last]  # payload size (one-byte varint for these small records)
    data[page + last + 1 + size - 1] ^= 0x01  # the last cell's row id: another row, still in order
    path.write_bytes(bytes(data))


def test_a_review_with_a_damaged_events_index_does_not_verify_as_intact(made, tmp_path):
    run, _ = made
    review = tmp_path / "review.dctwin"
    export_review(run, review)
    assert verify_file(review).intact
    _corrupt_index_entry(review, "ix_events_rec_t")
    con = sqlite3.connect(review)
    assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # what verify relied on before
    con.close()
    with pytest.raises(ProjectFileError, match="review.dctwin: is damaged"):
        verify_file(review)


def test_a_project_with_a_damaged_index_reads_the_same(made, tmp_path):
    """Reading never goes through an index a flipped bit could mislead."""
    run, _ = made
    bad = _copy(run, tmp_path)
    _corrupt_index_entry(bad, "ix_events_rec_t")
    assert read_everything(bad) == read_everything(run)
