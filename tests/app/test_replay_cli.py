"""`dctwin gui RUN.dctwin [--at T] --screenshot OUT.png`: the replay view from the command line."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

import dctwin.app.cli_gui as cli_gui
from dctwin.app.main import main
from tests.twin.replay_data import make_recording


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp("replay_cli") / "run.dctwin")


@pytest.fixture(autouse=True)
def _no_logfile(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(cli_gui, "setup_logging", lambda: None)


def test_screenshot_of_a_recording_at_t(qtbot, run_file, tmp_path, capsys):
    out = tmp_path / "replay.png"
    assert main(["gui", str(run_file), "--at", "84", "--screenshot", str(out), "--size", "1200x800"]) == 0
    assert "(t = 00:01:24)" in capsys.readouterr().out
    img = QImage(str(out))
    assert not img.isNull() and (img.width(), img.height()) == (1200, 800)


def test_bad_replay_arguments_exit_2(qtbot, run_file, tmp_path, capsys):
    assert main(["gui", str(run_file), "--at", "500", "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "outside recording 1 (0 to 120 s can be replayed)" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    bad = tmp_path / "bad.dctwin"
    bad.write_bytes(b"garbage" * 100)
    assert main(["gui", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "not a dctwin project file" in capsys.readouterr().err
    assert main(["gui", "--at", "3", "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "--at needs a recording" in capsys.readouterr().err
