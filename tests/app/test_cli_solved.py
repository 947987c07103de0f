"""dctwin solve with stored solutions: a second solve of the same layout reuses the first's (said in the JSON and
the text), --fresh and DCTWIN_SOLVED_CACHE=off solve from rest."""

from __future__ import annotations

import json

import pytest

from dctwin.app.main import main
from dctwin.twin.model import demos
from dctwin.twin.model.layoutfile import save_layout
from dctwin.twin.physics import airflow
from dctwin.twin.sim import solved

ARGS = ["--grid", "0.6"]


@pytest.fixture
def small_file(tmp_path, monkeypatch):
    monkeypatch.setenv(solved.ENV, str(tmp_path / "solved"))
    path = tmp_path / "small.json"
    save_layout(demos.load_demo("small"), path)
    return path


@pytest.fixture
def marches(monkeypatch):
    calls = []
    march = airflow.solve_flow

    def count(*a, **kw):
        calls.append(1)
        return march(*a, **kw)

    monkeypatch.setattr(airflow, "solve_flow", count)
    return calls


def _solve(capsys, *args) -> dict:
    assert main(["solve", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_second_solve_reuses_the_first_and_says_so(small_file, capsys, marches):
    first = _solve(capsys, str(small_file), *ARGS)
    n = len(marches)
    assert first["solution"] == "solved" and n >= 1
    second = _solve(capsys, str(small_file), *ARGS)
    assert len(marches) == n  # no march
    assert second["solution"] == "reused" and second["solution_path"] == first["solution_path"]
    assert str(small_file.parent / "solved") in second["solution_path"]
    for out in (first, second):
        for key in ("solve_s", "solution"):
            out.pop(key)
    assert first == second  # every value but the time it took


def test_the_text_says_reused_and_fresh_solves_from_rest(small_file, capsys, marches):
    assert main(["solve", str(small_file), *ARGS]) == 0
    assert "reused the stored solution" not in capsys.readouterr().out
    assert main(["solve", str(small_file), *ARGS]) == 0
    text = capsys.readouterr().out
    assert "reused the stored solution of " in text and "(verified" in text
    n = len(marches)
    fresh = _solve(capsys, str(small_file), *ARGS, "--fresh")
    assert fresh["solution"] == "solved" and len(marches) > n


def test_switched_off_it_solves_from_rest_every_time(small_file, capsys, marches, monkeypatch):
    monkeypatch.setenv(solved.ENV, "off")
    for _ in range(2):
        out = _solve(capsys, str(small_file), *ARGS)
        assert out["solution"] == "solved" and out["solution_path"] is None
    assert len(marches) >= 2
    assert not (small_file.parent / "solved").exists()
