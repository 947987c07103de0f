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
