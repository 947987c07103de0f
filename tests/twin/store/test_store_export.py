"""Review exports: self-contained, read-only, hashed; verify detects alteration; CSV."""

from __future__ import annotations

import csv
import os
import sqlite3

import numpy as np
import pytest
from fakesim import FakeSim, run_live

from dctwin.twin.errors import InputError, ProjectFileError
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder, check_file
from dctwin.twin.store.export import export_csv, export_review, verify_file

INCIDENT = [Event(0, 10.0, "fail", "CRAH-1"), Event(0, 12.5, "fail", "CRAH-2"),
            Event(0, 70.0, "repair", "CRAH-1"), Event(0, 75.0, "repair", "CRAH-2")]


@pytest.fixture
def run_file(tmp_path, site):
    """A project with two recordings (ids 1 and 2) and two layout versions."""
    path = tmp_path / "run.dctwin"
    with Project.create(path) as p:
        p.save_layout(site, "old")
        lid = p.save_layout(site, "used")
        inc = p.save_incident("double trip", '{"events": []}')
        for duration in (30.0, 120.0):
            sim = FakeSim(dt_s=0.5)
            rec = Recorder(p, lid, 0.5, keyframe_every_s=15, incident_id=inc)
            rec.add_alarms([{"t_s": 50.0, "target": "R-00", "kind": "inlet_high", "message": "hot"}])
            run_live(sim, rec, duration, INCIDENT)
    return path


def test_export_holds_one_recording_and_verifies_intact(run_file, tmp_path):
    out = tmp_path / "review.dctwin"
    summary = export_review(run_file, out, recording_id=2)
    assert summary["recording"] == 2 and summary["keyframes"] == 9
    assert check_file(out).kind == "review"
    assert check_file(out).journal_mode == "delete"
    with Project.open(out) as r:
        assert r.read_only and r.is_review
        assert [i.note for i in r.layouts()] == ["used"]
        assert [x.id for x in r.recordings()] == [2]
        assert len(r.incidents()) == 1
        reader = r.recording()
        assert reader.events() and reader.alarms()
        assert len(reader.series("hall")[0]) == 121
        meta = r.meta()
        assert meta["exported_from"] == "run.dctwin" and meta["recording_id"] == "2"
    res = verify_file(out)
    assert res.intact and res.checked >= 10, res.message()
    assert sorted(os.listdir(tmp_path)) == ["review.dctwin", "run.dctwin"]  # no temporary files left


def test_export_defaults_to_latest_recording(run_file, tmp_path):
    assert export_review(run_file, tmp_path / "r.dctwin")["recording"] == 2


def test_export_at_t_keeps_one_moment(run_file, tmp_path):
    out = tmp_path / "moment.dctwin"
    export_review(run_file, out, recording_id=2, at_s=44.0)
    with Project.open(out) as r:
        reader = r.recording()
        assert [k.t_s for k in reader.keyframes()] == [30.0]
        kept = reader.load_keyframe(reader.keyframes()[0])  # arrays it shared with earlier keyframes are copied in
        assert reader.duration_s == 44.0
        assert max(e.t_s for e in reader.events()) <= 44.0
        assert reader.alarms() == []  # the alarm at 50 s is after the moment
        t, _ = reader.series("hall")
        assert t[-1] == 44.0 and len(t) == 45
        t_r, v_r = reader.series("rack_inlet_c")
        assert t_r[-1] == 40.0
    with Project.open(run_file, read_only=True) as src:
        t_s, v_s = src.recording(2).series("rack_inlet_c", None, 44.0)
        original = src.recording(2).seek(44.0)[1]
    assert kept.keys() == original.keys()
    for name, a in original.items():
        assert a.tobytes() == kept[name].tobytes(), name
    con = sqlite3.connect(out)
    assert con.execute("SELECT count(*) FROM keyframe_arrays WHERE ref_id IS NOT NULL").fetchone()[0] == 0
    con.close()
    con = sqlite3.connect(f"file:{run_file}?mode=ro", uri=True)  # the source does share arrays
    assert con.execute("SELECT count(*) FROM keyframe_arrays WHERE ref_id IS NOT NULL").fetchone()[0] > 0
    con.close()
    np.testing.assert_array_equal(t_s, t_r)
    np.testing.assert_array_equal(v_s, v_r)
    assert verify_file(out).intact


def test_tampering_one_byte_of_a_row_is_reported(run_file, tmp_path):
    out = tmp_path / "review.dctwin"
    export_review(run_file, out)
    con = sqlite3.connect(out)
    (kid, data), = con.execute("SELECT id, data FROM keyframe_arrays ORDER BY id LIMIT 1").fetchall()
    b = bytearray(data)
    b[len(b) // 2] ^= 0x01
    con.execute("UPDATE keyframe_arrays SET data = ? WHERE id = ?", (bytes(b), kid))
    con.execute("UPDATE events SET target = 'CRAH-9' WHERE seq = 1")
    con.commit()
    con.close()
    res = verify_file(out)
    assert not res.intact
    assert res.altered == ["events", "keyframe_arrays"]
    assert "ALTERED" in res.message() and "events, keyframe_arrays" in res.message()


def test_deleted_row_added_table_and_dropped_table_are_reported(run_file, tmp_path):
    out = tmp_path / "review.dctwin"
    export_review(run_file, out)
    con = sqlite3.connect(out)
    con.execute("DELETE FROM alarms")
    con.execute("CREATE TABLE extra (x)")
    con.commit()
    con.close()
    res = verify_file(out)
    assert res.altered == ["(schema)", "alarms"] and res.added == ["extra"]


def test_verify_a_project_without_manifest_is_not_intact(run_file):
    res = verify_file(run_file)
    assert res.no_manifest and not res.intact and "not a review export" in res.message()


def test_failed_export_leaves_existing_output_untouched(run_file, tmp_path):
    out = tmp_path / "review.dctwin"
    export_review(run_file, out, recording_id=1)
    before = out.read_bytes()
    with pytest.raises(ProjectFileError, match="no recording 9"):
        export_review(run_file, out, recording_id=9)
    with pytest.raises(InputError, match="outside recording 2"):
        export_review(run_file, out, at_s=500.0)
    bad = tmp_path / "garbage.dctwin"
    bad.write_bytes(b"x" * 4096)
    with pytest.raises(ProjectFileError, match="not a dctwin project file"):
        export_review(bad, out)
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["garbage.dctwin", "review.dctwin", "run.dctwin"]
    export_review(run_file, out, recording_id=2)  # an earlier review export is replaced
    assert out.read_bytes() != before and verify_file(out).intact


def test_export_never_replaces_a_project_or_other_file(run_file, tmp_path, site):
    other = tmp_path / "other.dctwin"
    with Project.create(other) as p:
        p.save_layout(site)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for target in (other, notes, run_file):
        before = target.read_bytes()
        with pytest.raises(InputError, match="exists and is not a review export|must not overwrite"):
            export_review(run_file, target)
        assert target.read_bytes() == before


def test_export_cannot_overwrite_its_source(run_file):
    with pytest.raises(InputError, match="must not overwrite"):
        export_review(run_file, run_file)


def test_export_of_a_project_without_recordings_holds_its_latest_layout(tmp_path, site):
    src = tmp_path / "plan.dctwin"
    with Project.create(src) as p:
        p.save_layout(site, "a")
        p.save_layout(site, "b")
    out = tmp_path / "plan-review.dctwin"
    assert export_review(src, out)["recording"] is None
    with Project.open(out) as r:
        assert [i.note for i in r.layouts()] == ["b"] and r.recordings() == []
    assert verify_file(out).intact


def test_csv_export(run_file, tmp_path):
    folder = tmp_path / "csv"
    with Project.open(run_file, read_only=True) as p:
        files = export_csv(p, folder, recording_id=2, at_s=60.0)
        reader = p.recording(2)
        names = reader.metric_names
        events = reader.events(None, 60.0)
    assert sorted(f.name for f in files) == ["alarms.csv", "events.csv", "hall_metrics.csv", "rack_inlet_c.csv",
                                             "rack_power_w.csv"]
    with open(folder / "hall_metrics.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["t_s"] + names and len(rows) == 62
    assert float(rows[-1][0]) == 60.0
    with open(folder / "rack_inlet_c.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][1:] == [f"R-{i:02d}" for i in range(6)]
    assert np.isfinite([float(x) for x in rows[1][1:]]).all()
    with open(folder / "events.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(int(r["seq"]), r["kind"], r["target"]) for r in rows] == [(e.seq, e.kind, e.target) for e in events]
    assert (os.stat(folder / "events.csv").st_mode & 0o444) == 0o444  # readable like any other file
