"""CLI: dctwin telemetry synth|import|propose-map, dctwin shadow, dctwin calibrate: the JSON keys the issue
names, bad input exits 2 naming file, line and column, --out never half-written (an existing project is
untouched by a failed import), the workflow end to end on one hour of the synthetic small hall."""

from __future__ import annotations

import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import save_layout
from tests.app.test_cli_layout import run


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    code = main(["telemetry", "synth", str(_layout(d)), "--out", str(d / "data"), "--hours", "1.5", "--grid", "0.6",
                 "--json"])
    assert code == 0
    return d


def _layout(d):
    p = d / "small.json"
    if not p.exists():
        save_layout(load_demo("small"), p)
    return p


def _import(capsys, d, out, *extra):
    data = d / "data"
    return run(capsys, "telemetry", "import", str(data / "layout.json"), "--data", str(data / "measurements.csv"),
               "--points", str(data / "points.csv"), "--events", str(data / "events.csv"), "--event-map",
               str(data / "event-map.json"), "--out", str(out), *extra)


def test_workflow_through_the_cli(synth, tmp_path, capsys):
    out = tmp_path / "site.dctwin"
    code, text, err = _import(capsys, synth, out, "--json", "--report", str(tmp_path / "report.json"))
    assert code == 0, err
    res = json.loads(text)
    defects = json.loads((synth / "data" / "defects.json").read_text())
    assert {k: res["report"]["defects"][k] for k in defects} == defects
    assert json.loads((tmp_path / "report.json").read_text())["defects"] == res["report"]["defects"]
    code, text, err = run(capsys, "shadow", str(out), "--grid", "0.6", "--holdout", "3", "--json")
    assert code == 0, err
    s = json.loads(text)
    for key in ("residual_rms_k", "residual_max_k", "residuals", "worst_points", "holdout", "recording_id"):
        assert key in s
    code, text, err = run(capsys, "calibrate", str(out), "--grid", "0.6", "--min-window", "10", "--out",
                          str(tmp_path / "cal.json"), "--json", "--max-evaluations", "4")
    assert code == 0, err
    c = json.loads(text)
    for key in ("params", "rms_before_k", "rms_after_k", "holdout_rms_before_k", "holdout_rms_after_k"):
        assert key in c
    assert all({"value", "sigma"} <= set(p) for p in c["params"].values())
    assert run(capsys, "validate", str(tmp_path / "cal.json"))[0] == 0
    code, text, err = run(capsys, "recordings", str(out))
    assert "calibrated to telemetry set 1" in text
    code, text, err = run(capsys, "calibrate", str(out), "--grid", "0.6", "--min-window", "10", "--out",
                          str(tmp_path / "cal2.json"), "--max-evaluations", "2")
    assert code == 0 and "± " in text and "RMS on fitted sensors" in text
    # a second import into the same project adds a telemetry set
    code, text, err = _import(capsys, synth, out)
    assert code == 0 and "added to" in text and "telemetry set 2" in text


def test_bad_input_exits_2_naming_the_place_and_leaves_out_alone(synth, tmp_path, capsys):
    out = tmp_path / "site.dctwin"
    assert _import(capsys, synth, out)[0] == 0
    before = out.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,point,value\n2024-05-14T00:00:00Z,DC1/HALL-1/R-A02/INLET_T,20\n"
                   "2024-05-14T00:01:00Z,DC1/HALL-1/R-A02/INLET_T,warm\n")
    data = synth / "data"
    code, text, err = run(capsys, "telemetry", "import", str(data / "layout.json"), "--data", str(bad), "--points",
                          str(data / "points.csv"), "--out", str(out))
    assert code == 2 and "Traceback" not in err
    assert f"{bad}, line 3, column 'value': 'warm' is not a number" in err
    assert out.read_bytes() == before
    pts = tmp_path / "points.csv"
    pts.write_text("point,element,quantity,unit\nx,R-A01,inlet_c,C\ny,R-NOPE,inlet_c,C\n")
    code, text, err = run(capsys, "telemetry", "import", str(data / "layout.json"), "--data",
                          str(data / "measurements.csv"), "--points", str(pts), "--out", str(tmp_path / "new.dctwin"))
    assert code == 2 and f"{pts}, line 3, point 'y'" in err and "R-NOPE" in err
    assert not (tmp_path / "new.dctwin").exists()
    pts.write_text("point,element,quantity,unit\nNOT-IN-THE-DATA,R-A01,inlet_c,C\n")  # maps nothing the data has
    code, text, err = run(capsys, "telemetry", "import", str(data / "layout.json"), "--data",
                          str(data / "measurements.csv"), "--points", str(pts), "--out", str(tmp_path / "new.dctwin"))
    assert code == 2 and f"{pts}: no point of this map (1 mapped) has data in {data / 'measurements.csv'}" in err
    assert not (tmp_path / "new.dctwin").exists()
    not_project = tmp_path / "notes.txt"
    not_project.write_text("keep me")
    code, text, err = _import(capsys, synth, not_project)
    assert code == 2 and "not a dctwin project" in err and not_project.read_text() == "keep me"
    code, text, err = run(capsys, "shadow", str(out), "--from", "yesterday")
    assert code == 2 and "--from" in err
    code, text, err = run(capsys, "calibrate", str(out), "--params", "fans", "--out", str(tmp_path / "c.json"))
    assert code == 2 and "unknown group 'fans'" in err and not (tmp_path / "c.json").exists()
    empty = tmp_path / "empty.dctwin"
    from dctwin.twin.store import Project

    with Project.create(empty) as p:
        p.save_layout(load_demo("small"))
    code, text, err = run(capsys, "shadow", str(empty))
    assert code == 2 and "holds no telemetry" in err


def test_propose_map(synth, tmp_path, capsys):
    data = synth / "data"
    out = tmp_path / "proposed.csv"
    code, text, err = run(capsys, "telemetry", "propose-map", str(data / "layout.json"), "--data",
                          str(data / "measurements.csv"), "--out", str(out))
    assert code == 0, err
    proposed = {line.split(",")[0]: line.split(",")[1:3] for line in out.read_text().splitlines()[1:]}
    given = {line.split(",")[0]: line.split(",")[1:3] for line in (data / "points.csv").read_text().splitlines()[1:]}
    agree = sum(proposed.get(p) == v for p, v in given.items())
    assert agree >= 0.9 * len(given), (agree, len(given))


def test_importing_into_a_project_of_format_3_rewrites_it_in_the_current_format(synth, tmp_path, capsys):
    import sqlite3

    from dctwin.twin.store import SCHEMA_VERSION, Project, verify_file
    from dctwin.twin.store import measured as M

    out = tmp_path / "site.dctwin"
    assert _import(capsys, synth, out)[0] == 0
    con = sqlite3.connect(out)  # as dctwin 3 wrote it: the measured tables without checksums
    for t in M.MEASURED_TABLE_NAMES:
        con.execute(f"ALTER TABLE {t} DROP COLUMN crc")
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    code, text, err = _import(capsys, synth, out)
    assert code == 0 and "telemetry set 2" in text, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.dctwin"]  # no copy left beside it
    with Project.open(out, read_only=True) as p:
        assert p.version == SCHEMA_VERSION and [s["id"] for s in M.telemetry_sets(p)] == [1, 2]
        M.check_measured(p)
        a, b = M.TelemetryReader(p, 1), M.TelemetryReader(p, 2)
        name = a.points()[0].point
        assert a.series(name)[1].tolist() == b.series(name)[1].tolist()
    assert verify_file(out).damaged == []
