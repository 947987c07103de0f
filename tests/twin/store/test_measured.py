"""Measured data in project files: round trip through a real SQLite file, chunking, old files without the
tables, review exports carry the tables hashed and keep only their recording's shadow rows."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.demos import load_demo
from dctwin.twin.store import Project, export_review, verify_file
from dctwin.twin.store import measured as M

T0 = 1715644800.0


def _set(project, layout_id, n=25000):
    t = T0 + 60.0 * np.arange(n) + np.random.default_rng(1).uniform(-0.4, 0.4, n)
    series = {"a": (t, 20 + np.sin(np.arange(n) / 50.0)), "b": (t[:10], np.arange(10.0) * 1e3)}
    points = [{"point": "a", "element": "R-A01", "quantity": "inlet_c", "unit": "F", "si_unit": "C"},
              {"point": "b", "element": "R-A02", "quantity": "power_w", "unit": "kW", "si_unit": "W"},
              {"point": "c", "element": "R-A03", "quantity": "inlet_c", "unit": "", "si_unit": "C"}]
    events = [{"t_s": T0 + 300, "source": "BMS", "raw_kind": "TRIP", "message": "CRAH-2 trip", "kind": "fail",
               "target": "CRAH-2", "details": {}, "line": 2}]
    return M.save_telemetry(project, layout_id, series, points, events, {"rows": n}, ["m.csv"]), series


def test_round_trip_chunks_and_spans(tmp_path):
    path = tmp_path / "p.dctwin"
    with Project.create(path) as project:
        assert not M.has_tables(project)
        with pytest.raises(ProjectFileError, match="holds no telemetry"):
            M.TelemetryReader(project)
        lid = project.save_layout(load_demo("small"))
        sid, series = _set(project, lid)
    with Project.open(path, read_only=True) as project:
        r = M.TelemetryReader(project)
        assert r.id == sid and r.layout_id == lid and r.sources == ["m.csv"] and r.report == {"rows": 25000}
        assert [(p.point, p.quantity, p.unit, p.si_unit, p.n) for p in r.points()] == [
            ("a", "inlet_c", "F", "C", 25000), ("b", "power_w", "kW", "W", 10), ("c", "inlet_c", "", "C", 0)]
        t, v = r.series("a")
        t_in, v_in = series["a"]
        assert np.abs(t - t_in).max() < 6e-4  # times to the millisecond
        np.testing.assert_array_equal(v, v_in.astype(np.float32).astype(np.float64))
        with project.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM telemetry_series").scalar() == 3 + 1
        t2, v2 = r.series("a", T0 + 60.0 * 12000.5, T0 + 60.0 * 12010.5)
        assert len(t2) == 10 and np.all((t2 >= T0 + 60.0 * 12000.5) & (t2 <= T0 + 60.0 * 12010.5))
        assert r.series("c")[0].size == 0
        assert r.events()[0]["target"] == "CRAH-2" and r.events(T0 + 400) == []
        assert M.telemetry_sets(project)[0]["points"] == 3


def test_old_files_open_and_exports_carry_the_tables(tmp_path):
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.store import record_run

    path = tmp_path / "p.dctwin"
    site = load_demo("small")
    for k in range(2):
        sim = Simulation(site, grid_m=0.6)
        sim.solve_steady()
        rr = record_run(path, site, sim, grid_m=0.6, background=False)
        sim.run(20.0, 10.0, on_step=rr.on_step)
        rr.close(sim)
    with Project.open(path) as project:  # a file without the measured tables opens and reads as before
        assert not M.has_tables(project) and M.telemetry_sets(project) == [] and M.ShadowReader.of(project, 1) is None
        sid, _ = _set(project, project.latest_layout_id(), n=100)
        for rec in (1, 2):
            M.save_shadow(project, rec, sid, T0, ["a"], [], {"method": "none"}, {"residual_rms_k": 0.5 * rec},
                          {"measured": (np.arange(3.0) * 10, np.ones((3, 1)) * rec)})
    out = tmp_path / "review.dctwin"
    export_review(path, out, recording_id=2)
    res = verify_file(out)
    assert res.intact and set(M.MEASURED_TABLE_NAMES) <= set(_manifest(out))
    with Project.open(out) as review:
        assert M.TelemetryReader(review).series("a")[0].size == 100
        assert M.ShadowReader.of(review, 1) is None
        sh = M.ShadowReader.of(review, 2)
        assert sh.summary == {"residual_rms_k": 1.0} and sh.stream("measured")[1].ravel().tolist() == [2, 2, 2]
    moment = tmp_path / "moment.dctwin"
    export_review(path, moment, recording_id=2, at_s=10.0)
    with Project.open(moment) as review:
        t, _ = M.ShadowReader.of(review, 2).stream("measured")
        assert t.tolist() == [0.0, 10.0]
    import sqlite3

    con = sqlite3.connect(out)
    con.execute("UPDATE telemetry_series SET v_data = zeroblob(length(v_data)) WHERE id = 1")
    con.commit()
    con.close()
    assert verify_file(out).altered == ["telemetry_series"]


def _manifest(path):
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT table_name FROM manifest")]
    finally:
        con.close()


# --------------------------------------------------------------------------- per-row checksums (format 4)

def _telemetry_file(tmp_path, name="p.dctwin"):
    path = tmp_path / name
    with Project.create(path) as project:
        _set(project, project.save_layout(load_demo("small")), n=30)
    return path


def _edit(path, *statements, version=None):
    import sqlite3

    con = sqlite3.connect(path)
    for st in statements:
        con.execute(st)
    if version is not None:
        con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()


@pytest.mark.parametrize("statement,table,row,read", [
    ("UPDATE telemetry_series SET v_data = zeroblob(length(v_data)) WHERE id = 1", "telemetry_series", 1,
     lambda r: r.series("a")),
    ("UPDATE telemetry_points SET unit = 'C' WHERE id = 1", "telemetry_points", 1, lambda r: r.points()),
    ("UPDATE site_events SET target = 'CRAH-1' WHERE id = 1", "site_events", 1, lambda r: r.events()),
    ("UPDATE telemetry_sets SET t0_s = t0_s + 60 WHERE id = 1", "telemetry_sets", 1, lambda r: r),
])
def test_a_tampered_measured_row_is_named_on_read_by_verify_and_by_export(tmp_path, statement, table, row, read):
    path = _telemetry_file(tmp_path)
    with Project.open(path, read_only=True) as project:
        assert project.version == 4
        M.check_measured(project)  # intact
    assert verify_file(path).damaged == []
    _edit(path, statement)
    says = rf"p.dctwin: {table} row {row} is damaged \(its checksum does not match\)"
    with Project.open(path, read_only=True) as project:
        with pytest.raises(ProjectFileError, match=says):
            read(M.TelemetryReader(project))
        with pytest.raises(ProjectFileError, match=says):
            M.check_measured(project)
    res = verify_file(path)
    assert res.damaged == [f"{table} row {row}"] and not res.intact
    assert f"{table} row {row}" in res.message() and res.to_dict()["damaged"] == [f"{table} row {row}"]
    with pytest.raises(ProjectFileError, match=says):
        export_review(path, tmp_path / "out.dctwin")
    assert not (tmp_path / "out.dctwin").exists()


def test_a_review_export_carries_checksummed_rows_and_verify_names_a_forged_one(tmp_path):
    import sqlite3

    from dctwin.twin.store.export import write_manifest

    path = _telemetry_file(tmp_path)
    out = tmp_path / "review.dctwin"
    export_review(path, out)
    assert verify_file(out).intact
    con = sqlite3.connect(out, isolation_level=None)
    assert con.execute("SELECT count(*) FROM telemetry_series WHERE crc IS NULL").fetchone()[0] == 0
    con.execute("UPDATE telemetry_series SET t0_s = t0_s - 3600 WHERE id = 2")
    write_manifest(con)  # someone who rewrites the manifest too: the row's checksum still tells
    con.close()
    res = verify_file(out)
    assert res.altered == [] and res.damaged == ["telemetry_series row 2"] and not res.intact


def test_a_row_count_that_does_not_match_is_damage(tmp_path):
    path = _telemetry_file(tmp_path)
    _edit(path, "DELETE FROM telemetry_series WHERE id = 2")  # point b's only chunk, its own checksum intact
    with Project.open(path, read_only=True) as project:
        with pytest.raises(ProjectFileError, match=r"point 'b' has 0 stored samples where its map .*row 2.* says 10"):
            M.TelemetryReader(project).series("b")
        with pytest.raises(ProjectFileError, match="telemetry_points row 2 says 10 samples, its chunks hold 0"):
            M.check_measured(project)


def _format3(path):
    """``path`` as dctwin 3 wrote it: the measured-data tables without ``crc``."""
    _edit(path, *[f"ALTER TABLE {t} DROP COLUMN crc" for t in M.MEASURED_TABLE_NAMES], version=3)


def test_a_format_3_file_with_telemetry_reads_in_place_and_migrates_into_a_checked_copy(tmp_path):
    import hashlib

    path = _telemetry_file(tmp_path)
    with Project.open(path, read_only=True) as project:
        want = M.TelemetryReader(project).series("a")
    _format3(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Project.open(path, read_only=True) as project:  # read in place, unchecked (it has no checksums)
        assert project.version == 3 and not project.checks(M.TelemetryChunk.__table__)
        r = M.TelemetryReader(project)
        np.testing.assert_array_equal(r.series("a")[1], want[1])
        assert r.events()[0]["target"] == "CRAH-2"
        M.check_measured(project)
    assert verify_file(path).damaged == []  # no checksums to match in format 3
    with Project.open(path) as project:  # for writing: migrated into a copy that carries them
        assert project.migrated_from == path and project.version == 4 and project.path.name == "p.v4.dctwin"
        new = project.path
        np.testing.assert_array_equal(M.TelemetryReader(project).series("a")[1], want[1])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # the original as it was
    assert verify_file(new).damaged == []
    _edit(new, "UPDATE site_events SET message = 'edited'")
    assert verify_file(new).damaged == ["site_events row 1"]
    out = tmp_path / "review.dctwin"
    export_review(path, out)  # a review of the old file is in the current format, checked
    assert verify_file(out).intact


def test_a_damaged_format_3_row_is_not_migrated_into_a_checked_file(tmp_path):
    path = _telemetry_file(tmp_path)
    _format3(path)
    _edit(path, "UPDATE telemetry_series SET v_data = x'00' WHERE id = 2")
    with pytest.raises(ProjectFileError, match=r"telemetry_series row 2 is damaged \(its chunk does not hold"):
        Project.open(path)
    assert not (tmp_path / "p.v4.dctwin").exists()


def test_a_format_4_file_whose_measured_table_lost_its_checksums_does_not_open(tmp_path):
    path = _telemetry_file(tmp_path)
    _edit(path, "ALTER TABLE telemetry_series DROP COLUMN crc")
    with pytest.raises(ProjectFileError, match="table telemetry_series lacks column.*crc.*format 4"):
        Project.open(path, read_only=True)
