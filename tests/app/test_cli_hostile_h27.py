"""Hostile outputs found by the h27 battery: an output that is one of the command's inputs, two outputs that
are one file, a second output that cannot be written after the first was, and outputs that are devices or
pipes. Each must exit 2 naming the path, leave every input byte for byte as it was, and leave nothing new.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
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
    """A character device (a copy of /dev/null's node; needs root, as CI runs), else a Unix socket: neither a
    regular file nor a folder, refused the same way."""
    dev = tmp_path / "null"
    try:
        os.mknod(dev, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(dev))
        sock.close()  # the socket file stays
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


# ---------------------------------------------------------------- telemetry import

@pytest.fixture
def site(tmp_path) -> Path:
    from tests.app.attack_files import TINY_TEXT

    (tmp_path / "layout.json").write_text(TINY_TEXT)
    (tmp_path / "points.csv").write_text("point,element,quantity,unit\nR01_IN,R-01,inlet_c,C\n")
    rows = "".join(f"{1715644800 + 60 * k},R01_IN,{20 + 0.1 * k:.1f},C\n" for k in range(30))
    (tmp_path / "data.csv").write_text("timestamp,point,value,unit\n" + rows)
    return tmp_path


def _telemetry(d: Path, *extra) -> list:
    return ["telemetry", "import", d / "layout.json", "--points", d / "points.csv", *extra]


def test_telemetry_import_of_the_good_files_works(site):
    code, out, err = run_cli(_telemetry(site, "--data", site / "data.csv", "--out", site / "p.dctwin"))
    assert code == 0, err


def test_telemetry_report_over_the_point_map_is_refused(site):
    """--report points.csv replaced the point map with the report (exit 0)."""
    refused(site, _telemetry(site, "--data", site / "data.csv", "--out", site / "p.dctwin", "--report",
                             site / "points.csv"), "--report", "points.csv", "is an input")


@pytest.mark.parametrize("report", ["p.dctwin", "nodir/r.json", "."])
def test_telemetry_report_that_cannot_be_written_leaves_no_project(site, report):
    """The project was written first, then the report refused: exit 2 with a new p.dctwin left behind."""
    refused(site, _telemetry(site, "--data", site / "data.csv", "--out", site / "p.dctwin", "--report",
                             site / report), report.split("/")[0] if report != "." else "is a folder")
    assert not (site / "p.dctwin").exists()


@pytest.mark.parametrize("command", ["import", "propose-map"])
def test_measurements_that_are_not_utf8_name_file_and_line(site, command):
    """Latin-1 text in a measurement CSV: an internal UnicodeDecodeError (exit 1)."""
    bad = site / "latin1.csv"
    bad.write_bytes((site / "data.csv").read_bytes() + "1715648000,R\u00e4,1,C\n".encode("latin-1"))
    argv = (_telemetry(site, "--data", bad, "--out", site / "p.dctwin") if command == "import" else
            ["telemetry", "propose-map", site / "layout.json", "--data", bad, "--out", site / "map.csv"])
    refused(site, argv, "latin1.csv", "line 32", "not UTF-8")


@pytest.mark.parametrize("stamp", ["99999999999999999999", "-1e300"])
def test_measurement_times_beyond_any_date_name_file_and_line(site, stamp):
    """Epoch seconds past the year 9999: an internal OverflowError (exit 1) when the report printed them."""
    bad = site / "far.csv"
    bad.write_text((site / "data.csv").read_text() + f"{stamp},R01_IN,21,C\n")
    refused(site, _telemetry(site, "--data", bad, "--out", site / "p.dctwin"), "far.csv", "line 32",
            "outside the years 1 to 9999")


def test_event_log_time_beyond_any_date_is_refused(site):
    """A logged event at 1e300 s was imported (exit 0)."""
    log = site / "events.csv"
    log.write_text("timestamp,source,kind,message\n1e300,BMS,alarm,hello\n")
    refused(site, _telemetry(site, "--data", site / "data.csv", "--events", log, "--out", site / "p.dctwin"),
            "events.csv", "line 2", "1e300")


def test_shadow_refused_leaves_the_project_byte_for_byte(site):
    """shadow opened the project for writing before finding it had no telemetry (or a bad --from): the
    refusal stamped the file's header (its change counter), a write by a failed command."""
    from dctwin.twin.model.demos import synthetic_site
    from dctwin.twin.store import Project

    with Project.create(site / "empty.dctwin") as p:
        p.save_layout(synthetic_site(4))
    refused(site, ["shadow", site / "empty.dctwin", "--no-estimate"], "empty.dctwin", "holds no telemetry")
    assert run_cli(_telemetry(site, "--data", site / "data.csv", "--out", site / "p.dctwin"))[0] == 0
    refused(site, ["shadow", site / "p.dctwin", "--no-estimate", "--from", "1e308"], "--from", "1e308")


# ---------------------------------------------------------------- export: a later output fails

@pytest.mark.parametrize("csv_exists", [False, True])
def test_export_whose_report_fails_leaves_no_review_nor_csv(tmp_path, csv_exists):
    """--csv was written, then --html refused the damaged layout: exit 2 with five CSV files left behind. A
    file that was in the --csv folder before stays."""
    import shutil

    from tests.app.attack_files import _sql, build

    (tmp_path / "a").mkdir()
    files = build(tmp_path / "a")
    src = tmp_path / "damaged.dctwin"
    shutil.copy(files["run.dctwin"], src)
    _sql(src, "UPDATE layouts SET layout_json = 'x{'", forge=True)
    d = tmp_path / "o"
    d.mkdir()
    if csv_exists:
        (d / "csv").mkdir()
        (d / "csv" / "keep.txt").write_text("mine")
    code, out, err = run_cli(["export", src, "--csv", d / "csv", "--html", d / "r.html"])
    assert code == 2 and "damaged.dctwin" in err and "Traceback" not in err, err
    left = sorted(str(p.relative_to(d)) for p in d.rglob("*"))
    assert left == (["csv", "csv/keep.txt"] if csv_exists else []), left


def test_parquet_that_is_no_parquet_names_the_file(site):
    """The UTF-8 check above wraps the reader: a broken Parquet file still says so (not a NameError)."""
    bad = site / "broken.parquet"
    bad.write_bytes(b"PAR1" + bytes(range(256)) * 4 + b"PAR1")
    refused(site, _telemetry(site, "--data", bad, "--out", site / "p.dctwin"), "broken.parquet",
            "cannot be read as Parquet")
