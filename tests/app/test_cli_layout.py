"""CLI: --help, --version, validate, demo, new; bad input gives a clear message, exit 2, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from dctwin import twin
from dctwin.app.main import main
from dctwin.twin.model.demos import load_demo
from dctwin.twin.model.layoutfile import load_layout, site_to_dict


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


def test_help(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0
    for command in ("validate", "demo", "new"):
        assert command in out
    code, out, _ = run(capsys, "validate", "--help")
    assert code == 0 and "one-line summary" in out


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"dctwin {twin.__version__}"


def test_demo_list(capsys):
    code, out, _ = run(capsys, "demo", "--list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["small", "ai-hall"]


@pytest.mark.parametrize("name", ["small", "ai-hall"])
def test_demo_out_then_validate(capsys, tmp_path, name):
    path = tmp_path / f"{name}.json"
    code, out, _ = run(capsys, "demo", name, "--out", str(path))
    assert code == 0 and str(path) in out
    assert load_layout(path) == load_demo(name)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0 and err == ""
    assert len(out.strip().splitlines()) == 1
    assert "valid" in out and "racks" in out and str(path) in out


def test_demo_to_stdout(capsys):
    code, out, _ = run(capsys, "demo", "small")
    assert code == 0 and json.loads(out)["format"] == "dctwin-layout"


def test_validate_json(capsys, tmp_path):
    path = tmp_path / "s.json"
    run(capsys, "demo", "small", "--out", str(path))
    code, out, _ = run(capsys, "validate", "--json", str(path))
    assert code == 0 and json.loads(out)["valid"] is True


def write_bad(tmp_path) -> tuple[str, list[str]]:
    d = site_to_dict(load_demo("small"))
    racks = d["halls"][0]["racks"]
    racks[0]["it_kw"] = 2000.0
    racks[1]["x_m"] = 3.2
    racks[2]["feeds"] = ["PDU-A", "PDU-GONE"]
    racks[3]["paint"] = "blue"
    d["power_nodes"][5]["inputs"] = ["PDU-B"]
    d["power_nodes"][6]["inputs"] = ["PDU-A"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d, indent=1))
    return str(path), ["R-A01.it_kw", "R-A01.x_m", "R-A03.feeds", "R-A04.paint", "cycle"]


def test_validate_bad_file_lists_every_error(capsys, tmp_path):
    path, expected = write_bad(tmp_path)
    code, out, err = run(capsys, "validate", path)
    assert code == 2 and out == ""
    no_traceback(err)
    assert err.startswith("dctwin: error: ") and path in err
    for text in expected:
        assert text in err, text
    code, out, _ = run(capsys, "validate", "--json", path)
    report = json.loads(out)
    assert code == 2 and report["valid"] is False and len(report["errors"]) >= len(expected)
    assert {"element", "field", "message"} <= set(report["errors"][0])


def test_validate_malformed_json(capsys, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "dctwin-layout",\n "version": 1\n "halls": []}')
    code, _, err = run(capsys, "validate", str(path))
    assert code == 2 and "line 3 column 2" in err
    no_traceback(err)


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_validate_missing_file_or_folder(capsys, tmp_path, make):
    path = tmp_path / "nothing.json" if make == "missing" else tmp_path
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert str(path) in err and ("not found" in err if make == "missing" else "folder" in err)
    no_traceback(err)


def test_new_writes_a_valid_hall(capsys, tmp_path):
    path = tmp_path / "hall.json"
    code, out, _ = run(capsys, "new", "--racks", "57", "--rack-kw", "6", "--out", str(path))
    assert code == 0
    site = load_layout(path)
    assert len(site.hall.racks) == 57 and all(r.it_kw == 6.0 for r in site.hall.racks)


@pytest.mark.parametrize("argv,words", [
    (["new", "--racks", "0"], "--racks"),
    (["new", "--racks", "10", "--rack-kw", "-1"], "--rack-kw"),
    (["new", "--racks", "50000"], "--racks"),
    (["demo", "huge"], "available: small, ai-hall"),
])
def test_failed_command_never_overwrites_out(capsys, tmp_path, argv, words):
    out_file = tmp_path / "keep.json"
    out_file.write_text("precious")
    code, _, err = run(capsys, *argv, "--out", str(out_file))
    assert code == 2 and words in err
    no_traceback(err)
    assert out_file.read_text() == "precious"
    assert os.listdir(tmp_path) == ["keep.json"]


def test_out_into_missing_folder_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "small", "--out", str(tmp_path / "no" / "dir" / "x.json"))
    assert code == 2 and "cannot write" in err
    no_traceback(err)


def test_usage_error_exits_2(capsys):
    code, _, err = run(capsys, "new", "--racks", "many", "--out", "x.json")
    assert code == 2 and "invalid int value" in err


def test_console_script(tmp_path):
    exe = shutil.which("dctwin")
    cmd = [exe] if exe else [sys.executable, "-m", "dctwin.app.main"]
    path = tmp_path / "s.json"
    done = subprocess.run(cmd + ["demo", "small", "--out", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(cmd + ["validate", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "20 racks" in done.stdout
    bad, _ = write_bad(tmp_path)
    done = subprocess.run(cmd + ["validate", bad], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "R-A01.it_kw" in done.stderr
    no_traceback(done.stderr)
