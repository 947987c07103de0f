"""Hostile outputs found by the h27 battery: an output that is one of the command's inputs, two outputs that
are one file, a second output that cannot be written after the first was, and outputs that are devices or
pipes. Each must exit 2 naming the path, leave every input byte for byte as it was, and leave nothing new.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
from pathlib import Path

import pytest

from dctwin.app.main import main
from tests.hostile import ends_within

RACKS = "Name,Row,kW,Feed A,Feed B\nR1,A,5,P1,P2\nR2,A,6,P1,P2\nR3,B,4,P1,P2\n"


def run_cli(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), ends_within(60, argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def refused(folder: Path, argv: list, *says: str) -> str:
    before = _files(folder)
    code, out, err = run_cli(argv)
    assert code == 2, f"{argv}: exit {code}\n{out}\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    for text in says:
        assert text in err, f"{text!r} not in {err!r}"
    assert _files(folder) == before, f"{argv} changed, removed or added files"
    return err


@pytest.fixture
def sheet(tmp_path) -> Path:
    p = tmp_path / "racks.csv"
    p.write_text(RACKS)
    return p


def test_import_report_over_the_source_is_refused(tmp_path, sheet):
    """--report racks.csv replaced the rack list with the report (exit 0)."""
    refused(tmp_path, ["import", "table", sheet, "--out", tmp_path / "t.json", "--report", sheet],
            "--report", "racks.csv", "is an input")


def test_import_fresh_out_over_the_source_is_refused(tmp_path, sheet):
    """--out racks.csv --fresh replaced the rack list with the layout (exit 0)."""
    refused(tmp_path, ["import", "table", sheet, "--out", sheet, "--fresh"], "--out", "racks.csv", "is an input")


def test_import_fresh_out_over_the_column_mapping_is_refused(tmp_path, sheet):
    cols = tmp_path / "cols.json"
    cols.write_text(json.dumps({"name": "Name"}))
    refused(tmp_path, ["import", "table", sheet, "--columns", cols, "--out", cols, "--fresh"], "cols.json",
            "is an input")


def test_import_report_and_out_one_file_is_refused(tmp_path, sheet):
    """--report t.json --out t.json: the report replaced the layout just written (exit 0)."""
    refused(tmp_path, ["import", "table", sheet, "--out", tmp_path / "t.json", "--report", tmp_path / "t.json"],
            "--report", "is --out too")


@pytest.mark.parametrize("where", ["missing-folder", "folder"])
def test_import_report_that_cannot_be_written_leaves_no_layout(tmp_path, sheet, where):
    """The layout was written first, then the report refused: exit 2 with a new t.json left behind."""
    (tmp_path / "adir").mkdir()
    report = tmp_path / ("nodir/r.json" if where == "missing-folder" else "adir")
    refused(tmp_path, ["import", "table", sheet, "--out", tmp_path / "t.json", "--report", report],
            "nodir" if where == "missing-folder" else "adir")
    assert not (tmp_path / "t.json").exists()


def test_netbox_report_over_the_dump_is_refused(tmp_path):
    from tests.twin.io.netbox_fixtures import site_objects, to_fixture

    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps(to_fixture(site_objects())))
    refused(tmp_path, ["import", "netbox", dump, "--site", "DC-East", "--out", tmp_path / "n.json", "--report", dump],
            "--report", "dump.json", "is an input")
    refused(tmp_path, ["import", "netbox", dump, "--site", "DC-East", "--out", dump, "--fresh"], "--out",
            "dump.json", "is an input")


def _device(tmp_path: Path) -> Path:
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("cannot make a device node here (needs root)")
    return dev


@pytest.mark.parametrize("argv_of", [
    lambda d, sp: ["demo", "small", "--out", sp],
    lambda d, sp: ["new", "--racks", "2", "--out", sp],
    lambda d, sp: ["incidents", "crah-failure", "--out", sp],
    lambda d, sp: ["import", "table", d / "racks.csv", "--out", sp, "--fresh"],
    lambda d, sp: ["import", "table", d / "racks.csv", "--out", d / "t.json", "--report", sp],
], ids=["demo", "new", "incidents", "import", "import-report"])
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_output_onto_a_device_or_pipe_is_refused(tmp_path, sheet, argv_of, kind):
    """A device at --out was replaced by a plain file (as root: `--out /dev/null` replaced /dev/null), and a
    named pipe blocked the command for ever (it opened the pipe to read its first bytes)."""
    if kind == "device":
        special = _device(tmp_path)
    else:
        special = tmp_path / "pipe"
        os.mkfifo(special)
    refused(tmp_path, argv_of(tmp_path, special), special.name, "not a regular file")
    mode = os.stat(special).st_mode
    assert (stat.S_ISCHR(mode) if kind == "device" else stat.S_ISFIFO(mode))


def test_atomic_write_never_replaces_a_device_or_pipe(tmp_path):
    from dctwin.twin._files import NotARegularFile, atomic_write

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(NotARegularFile):
        atomic_write(pipe, "x")
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]
