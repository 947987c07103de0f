"""CLI: dctwin export / verify / replay (exit codes, messages, no tracebacks)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from dctwin.app.main import main
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.model.events import Event
from dctwin.twin.store import Project, Recorder
from dctwin.twin.store import replay as replay_mod

_spec = importlib.util.spec_from_file_location(
    "store_fakesim", Path(__file__).parents[1] / "twin" / "store" / "fakesim.py")
fakesim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakesim)

INCIDENT = [Event(0, 10.0, "fail", "CRAH-1"), Event(0, 12.5, "fail", "CRAH-2")]


LIVE: dict = {}


@pytest.fixture
def run_file(tmp_path):
    path = tmp_path / "run.dctwin"
    live = LIVE
    live.clear()
    with Project.create(path) as p:
        sim = fakesim.FakeSim(dt_s=0.5)
        rec = Recorder(p, p.save_layout(synthetic_site(4)), 0.5, keyframe_every_s=15)
        fakesim.run_live(sim, rec, 60.0, INCIDENT, live)
    return path


def test_export_and_verify(run_file, tmp_path, capsys):
    out = tmp_path / "review.dctwin"
    assert main(["export", str(run_file), "--out", str(out), "--csv", str(tmp_path / "csv")]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: recording 1" in text and "5 CSV files" in text
    assert (tmp_path / "csv" / "events.csv").exists()
    assert main(["verify", str(out)]) == 0
    assert "intact" in capsys.readouterr().out
    assert main(["verify", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intact"] is True


def test_verify_reports_altered_table_with_exit_1(run_file, tmp_path, capsys):
    out = tmp_path / "review.dctwin"
    assert main(["export", str(run_file), "--at", "30", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["review"]["at_s"] == 30.0
    con = sqlite3.connect(out)
    con.execute("UPDATE series SET data = data || x'00' WHERE id = (SELECT min(id) FROM series)")
    con.commit()
    con.close()
    assert main(["verify", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ALTERED" in err and "series" in err


def test_bad_files_give_clear_errors_and_exit_2(tmp_path, capsys):
    garbage = tmp_path / "g.dctwin"
    garbage.write_bytes(b"\x00garbage" * 100)
    assert main(["verify", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dctwin: error: ") and "not a dctwin project file" in err and "Traceback" not in err
    assert main(["export", str(tmp_path / "missing.dctwin"), "--out", str(tmp_path / "o.dctwin")]) == 2
    assert "missing.dctwin: no such file" in capsys.readouterr().err
    assert not (tmp_path / "missing.dctwin").exists()


def test_export_needs_an_output(run_file, capsys):
    assert main(["export", str(run_file)]) == 2
    assert "give --out FILE" in capsys.readouterr().err


def test_export_rejects_bad_arguments(run_file, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["export", str(run_file), "--at", "nan", "--out", "x.dctwin"])
    assert exc.value.code == 2
    assert "finite number of seconds" in capsys.readouterr().err
    assert main(["export", str(run_file), "--recording", "5", "--out", "x.dctwin"]) == 2
    assert "has no recording 5 (recordings: 1)" in capsys.readouterr().err


def test_replay_prints_summary_at_t(run_file, monkeypatch, capsys):
    monkeypatch.setattr(replay_mod, "engine_simulation", lambda r: fakesim.FakeSim(dt_s=r.dt_s))
    assert main(["replay", str(run_file), "--at", "44", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    live = LIVE[44.0]
    assert out["t_s"] == 44.0
    assert out["max_inlet_c"] == float(live["rack_inlet_c"].max())
    assert out["racks"]["R-02"]["power_w"] == float(live["rack_power_w"][2])
    assert main(["replay", str(run_file), "--at", "44"]) == 0
    assert "recording 1 at t = 00:00:44" in capsys.readouterr().out


def test_replay_without_engine_is_a_clear_error(run_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dctwin.twin.sim.engine", None)  # import twin.engine now raises ImportError
    assert main(["replay", str(run_file), "--at", "10"]) == 2
    err = capsys.readouterr().err
    assert "replay needs the simulation engine (twin.engine)" in err and "Traceback" not in err


def test_replay_outside_recording(run_file, monkeypatch, capsys):
    monkeypatch.setattr(replay_mod, "engine_simulation", lambda r: fakesim.FakeSim(dt_s=r.dt_s))
    assert main(["replay", str(run_file), "--at", "61"]) == 2
    assert "outside recording 1 (0 to 60 s)" in capsys.readouterr().err


def test_recordings_lists_ids(run_file, tmp_path, capsys):
    assert main(["recordings", str(run_file)]) == 0
    out = capsys.readouterr().out
    assert "1 layout version(s), 1 recording(s)" in out
    assert "recording 1: layout 1, 60 s at dt 0.5 s, 5 keyframes" in out and "finished" in out
    review = tmp_path / "r.dctwin"
    assert main(["export", str(run_file), "--out", str(review)]) == 0
    capsys.readouterr()
    assert main(["recordings", str(review), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "review" and [r["id"] for r in data["recordings"]] == [1]
