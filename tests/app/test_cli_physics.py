"""dctwin solve / simulate / bench on the command line: the JSON contract and bad input."""

from __future__ import annotations

import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.layoutfile import save_layout


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "small.json"
    save_layout(demos.load_demo("small"), path)
    return path


def _json(capsys):
    out = capsys.readouterr().out
    return json.loads(out)


def test_solve_json_has_the_contract_keys(small_file, capsys):
    assert main(["solve", str(small_file), "--grid", "0.6", "--json"]) == 0
    s = _json(capsys)
    for key in ("racks", "cooling_units", "max_inlet_c", "energy_error", "solve_s", "power_nodes", "pue"):
        assert key in s
    r = s["racks"]["R-A01"]
    assert set(r) >= {"inlet_c", "exhaust_c", "power_w", "airflow_m3s", "state"}
    u = s["cooling_units"]["CRAH-1"]
    assert set(u) >= {"return_c", "supply_c", "duty_w", "airflow_m3s"}
    assert set(s["power_nodes"]["UPS-1A"]) == {"load_w", "capacity_w", "headroom_w", "headroom_n1_w"}
    assert s["energy_error"] < 0.01


def test_simulate_json_with_incident(small_file, tmp_path, capsys):
    inc = tmp_path / "inc.json"
    inc.write_text(json.dumps({"format": "dctwin-incident", "version": 1, "name": "crah",
                               "events": [{"t_s": 5, "kind": "fail", "target": "CRAH-1"}]}))
    assert main(["simulate", str(small_file), "--grid", "0.6", "--duration", "60", "--incident", str(inc),
                 "--json"]) == 0
    s = _json(capsys)
    for key in ("max_inlet_c", "racks_over_allowable", "energy_error", "pue_avg", "it_energy_kwh",
                "facility_energy_kwh", "racks_down", "events", "ups_min_soc", "first_over_allowable_s"):
        assert key in s
    assert s["events"]["fail"] == 1
    assert s["it_energy_kwh"] > 0 and s["facility_energy_kwh"] > s["it_energy_kwh"]


@pytest.mark.parametrize("args, needle", [
    (["--duration", "-5"], "--duration"),
    (["--duration", "10", "--dt", "30"], "--dt"),
    (["--duration", "10", "--grid", "0.001"], "--grid"),
    (["--duration", "10", "--hall", "NOPE"], "NOPE"),
    (["--duration", "10", "--max-dt", "20"], "--max-dt"),
    (["--duration", "10", "--dt", "5", "--max-dt", "2"], "--max-dt"),
])
def test_simulate_bad_arguments_exit_2(small_file, capsys, args, needle):
    assert main(["simulate", str(small_file)] + args) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_simulate_steps_adaptively_unless_fixed_or_recorded(small_file, tmp_path, capsys):
    """`simulate` grows its step in quiet stretches (new keys: adaptive, steps_taken, steps_rejected,
    largest_dt_s); --fixed-step takes every step at --dt, and so does a recorded run (--out: replay
    steps at the recording's dt)."""
    base = ["simulate", str(small_file), "--grid", "0.6", "--duration", "300", "--json"]
    assert main(base) == 0
    s = _json(capsys)
    assert s["adaptive"] is True and s["steps_taken"] < 300 / 3 and s["largest_dt_s"] == 10.0
    assert s["dt_s"] == 1.0 and s["duration_s"] == 300.0  # the keys that were there keep their meaning
    assert main(base + ["--max-dt", "4"]) == 0
    s4 = _json(capsys)
    assert s4["largest_dt_s"] == 4.0 and s4["steps_taken"] >= 300 / 4
    assert abs(s4["max_inlet_c"] - s["max_inlet_c"]) < 0.02
    assert main(base + ["--fixed-step"]) == 0
    fixed = _json(capsys)
    assert fixed["adaptive"] is False and fixed["steps_taken"] == 300 and fixed["largest_dt_s"] == 1.0
    assert abs(fixed["final_max_inlet_c"] - s["final_max_inlet_c"]) < 0.02
    assert main(base + ["--out", str(tmp_path / "run.dctwin")]) == 0
    rec = _json(capsys)
    assert rec["adaptive"] is False and rec["steps_taken"] == 300
    assert main(base[:-1]) == 0
    assert "adaptive:" in capsys.readouterr().out


def test_bad_incident_is_refused_before_running(small_file, tmp_path, capsys):
    inc = tmp_path / "bad.json"
    inc.write_text('{"format": "dctwin-incident", "version": 1, "events": [{"t_s": -2, "kind": "fail", '
                   '"target": "GHOST"}, {"t_s": 3, "kind": "explode", "target": "CRAH-1"}]}')
    assert main(["simulate", str(small_file), "--duration", "10", "--incident", str(inc)]) == 2
    err = capsys.readouterr().err
    assert "events[0].t_s" in err and "events[1].kind" in err and "explode" in err


def test_malformed_incident_json_names_line(small_file, tmp_path, capsys):
    inc = tmp_path / "broken.json"
    inc.write_text('{"format": "dctwin-incident",\n "version": 1,\n "events": [}')
    assert main(["simulate", str(small_file), "--duration", "10", "--incident", str(inc)]) == 2
    assert "line 3" in capsys.readouterr().err


def test_solve_missing_file_exit_2(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "nope.json")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_incident_library_lists_and_runs_by_name(small_file, tmp_path, capsys):
    assert main(["incidents"]) == 0
    listing = capsys.readouterr().out
    assert "crah-failure" in listing and "small:" in listing
    out = tmp_path / "crah.json"
    assert main(["incidents", "crah-failure", "--out", str(out)]) == 0
    capsys.readouterr()
    assert json.loads(out.read_text())["format"] == "dctwin-incident"
    assert main(["simulate", str(small_file), "--grid", "0.6", "--duration", "90", "--incident", "crah-failure",
                 "--json"]) == 0
    s = _json(capsys)
    assert s["events"]["fail"] == 1
    for alarm in s["alarms"]:
        assert set(alarm) >= {"t_s", "id", "severity", "message", "causes"}
    assert any(a["id"] == "CRAH-2" for a in s["alarms"])
    assert main(["incidents", "no-such-incident"]) == 2
    assert "available" in capsys.readouterr().err
