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
from dctwin.twin.store.schema import SCHEMA_VERSION

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


def test_replay_just_past_the_end_is_refused_exactly(run_file, monkeypatch, capsys):
    """--at 60.0000001 on a 60 s recording was accepted silently (and replayed 60 s)."""
    monkeypatch.setattr(replay_mod, "engine_simulation", lambda r: fakesim.FakeSim(dt_s=r.dt_s))
    assert main(["replay", str(run_file), "--at", "60.0000001"]) == 2
    assert "--at 60.0000001 s is outside recording 1 (0 to 60 s)" in capsys.readouterr().err
    with Project.open(run_file, read_only=True) as p:
        rp = replay_mod.Replayer(p.recording(), lambda r: fakesim.FakeSim(dt_s=r.dt_s))
        with pytest.raises(Exception, match="60.0000001 s is outside"):
            rp.seek(60.0000001)
    assert main(["replay", str(run_file), "--at", "60"]) == 0


def test_export_a_window(run_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "window.dctwin"
    assert main(["export", str(run_file), "--from", "20", "--to", "40", "--out", str(out)]) == 0
    # the keyframe before 20 s and those after it that keep every gap within the recording's 15 s
    assert f"wrote {out}: recording 1, t = 00:00:20 to 00:00:40, 2 keyframe(s)" in capsys.readouterr().out
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()
    assert main(["recordings", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["window"] == {"from_s": 20.0, "to_s": 40.0} and data["format"] == SCHEMA_VERSION
    with Project.open(out) as r:
        reader = r.recording()
        assert [k.t_s for k in reader.keyframes()] == [15.0, 30.0]
        t, _ = reader.series("hall")
        assert t[0] >= 15.0 and t[-1] == 40.0 and reader.duration_s == 40.0
        assert [e.t_s for e in reader.events() if e.kind == "fail"] == [10.0, 12.5]  # replay schedules them all
    monkeypatch.setattr(replay_mod, "engine_simulation", lambda r: fakesim.FakeSim(dt_s=r.dt_s))
    assert main(["replay", str(out), "--at", "33", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["max_inlet_c"] == float(LIVE[33.0]["rack_inlet_c"].max())  # the same history as the project
    assert main(["replay", str(out), "--at", "5"]) == 2
    assert "no keyframe at or before t = 5 s" in capsys.readouterr().err


def test_export_around_the_incident(run_file, tmp_path, capsys):
    out = tmp_path / "incident.dctwin"
    assert main(["export", str(run_file), "--around-incident", "--before", "5", "--after", "5", "--out", str(out),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["review"]
    assert (r["from_s"], r["to_s"]) == (5.0, 17.5)  # first injected event 10 s, last one 12.5 s (no alarm cleared)
    assert main(["export", str(run_file), "--around-incident", "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["review"]
    assert (r["from_s"], r["to_s"]) == (0.0, 60.0)  # the default margins of 60 s, within the recording


@pytest.mark.parametrize("args,says", [
    (["--before", "5", "--out", "x.dctwin"], "--before and --after go with --around-incident"),
    (["--from", "30", "--to", "20", "--out", "x.dctwin"], "--to 20 s comes before --from 30 s"),
    (["--from", "70", "--out", "x.dctwin"], "--from 70 s is outside recording 1 (0 to 60 s)"),
    (["--at", "5", "--from", "1", "--out", "x.dctwin"], "--at is one moment"),
    (["--around-incident", "--to", "5", "--out", "x.dctwin"], "chooses the window itself"),
    (["--from", "5", "--csv", "dir"], "choose what a review file (--out) holds"),
])
def test_export_window_arguments(run_file, tmp_path, capsys, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run_file), *args]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "x.dctwin").exists()


def test_a_foreign_journal_is_reported_and_not_applied(run_file, tmp_path, capsys):
    journal = Path(f"{run_file}-journal")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    journal.write_bytes(fakesim.hot_journal_of(other))
    before = run_file.read_bytes()
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "dctwin.app.main", "recordings", str(run_file)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "5 keyframes" in proc.stdout
    assert "run.dctwin-journal beside it does not belong to it and was not applied" in proc.stderr
    assert run_file.read_bytes() == before and journal.exists()
