"""The code against what it printed and recorded before the restructuring (tests/data/baseline).

The CLI's JSON is a contract users script against: ``solve --json`` and ``simulate --json`` on both
demo halls print the same keys and the same values as before (only the wall time ``solve_s``
differs between runs), and a recording written then replays bit for bit now: restoring each of its
keyframes and stepping to the next gives exactly the arrays the old engine stored there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dctwin.app.main import main
from dctwin.twin.store import Project, Replayer

BASE = Path(__file__).resolve().parents[1] / "data" / "baseline"
WALL_KEYS = {"solve_s"}


def _same(old, new, where="") -> list[str]:
    """Every difference between two JSON values (keys, lengths, types, values), as paths."""
    out: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new)):
            if k in WALL_KEYS:
                continue
            if k not in new or k not in old:
                out.append(f"{where}/{k}: only in {'old' if k in old else 'new'}")
            else:
                out += _same(old[k], new[k], f"{where}/{k}")
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append(f"{where}: {len(old)} items before, {len(new)} now")
        for i, (a, b) in enumerate(zip(old, new)):
            out += _same(a, b, f"{where}[{i}]")
    elif type(old) is not type(new) or old != new:
        out.append(f"{where}: {old!r} before, {new!r} now")
    return out


def _cli_json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def halls(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demos")
    for name in ("small", "ai-hall"):
        assert main(["demo", name, "--out", str(d / f"{name}.json")]) == 0
    return d


def test_solve_small_prints_what_it_did(halls, capsys):
    new = _cli_json(capsys, ["solve", str(halls / "small.json"), "--json"])
    assert _same(json.loads((BASE / "solve_small.json").read_text()), new) == []


def test_simulate_small_crah_failure_prints_what_it_did(halls, capsys):
    new = _cli_json(capsys, ["simulate", str(halls / "small.json"), "--duration", "600", "--incident",
                             "crah-failure", "--json", "--no-progress"])
    assert _same(json.loads((BASE / "sim_small.json").read_text()), new) == []


@pytest.mark.slow
def test_solve_ai_hall_prints_what_it_did(halls, capsys):
    new = _cli_json(capsys, ["solve", str(halls / "ai-hall.json"), "--json"])
    assert _same(json.loads((BASE / "solve_ai.json").read_text()), new) == []


@pytest.mark.slow
def test_simulate_ai_hall_cdu_pump_failure_prints_what_it_did(halls, capsys):
    new = _cli_json(capsys, ["simulate", str(halls / "ai-hall.json"), "--duration", "60", "--incident",
                             "cdu-pump-failure", "--json", "--no-progress"])
    assert _same(json.loads((BASE / "sim_ai.json").read_text()), new) == []


@pytest.fixture()
def old_recording(tmp_path) -> Path:
    path = tmp_path / "rec_tiny.dctwin"
    shutil.copyfile(BASE / "rec_tiny.dctwin", path)
    return path


def test_old_recording_replays_bit_for_bit(old_recording):
    """Each keyframe restored and stepped to the next equals the next, array for array, bit for bit."""
    project = Project.open(old_recording, read_only=True)
    try:
        reader = project.recording()
        frames = reader.keyframes()
        assert len(frames) == 4
        replayer = Replayer(reader)
        for before, after in zip(frames, frames[1:]):
            sim = replayer.sim  # every recorded injected event is scheduled on it, as live
            sim.restore(reader.load_keyframe(before))
            while sim.t_s < after.t_s - 1e-9:
                sim.step()
            want = reader.load_keyframe(after)
            got = sim.keyframe()
            assert sorted(got) == sorted(want), f"arrays at {after.t_s} s"
            for name, arr in want.items():
                mine = np.asarray(got[name])
                assert mine.shape == arr.shape and mine.dtype == arr.dtype, name
                assert mine.tobytes() == arr.tobytes(), f"{name} at {after.t_s} s differs"
    finally:
        project.close()


@pytest.mark.parametrize("t_s", [0, 35, 95, 120])
def test_old_recording_replay_prints_what_it_did(old_recording, capsys, t_s):
    new = _cli_json(capsys, ["replay", str(old_recording), "--at", str(t_s), "--json"])
    assert _same(json.loads((BASE / f"replay_tiny_{t_s}.json").read_text()), new) == []
