"""Attacks on the command line: bad files, damaged and tampered projects, absurd arguments.

Each case runs ``app.main.main([...])`` in-process and checks the promise made for bad input:
the exit code (2 for bad input, ``verify`` 1 for an altered review), a message that names the
file or argument and what is wrong, no traceback and no "internal error", every file in the
folder byte-for-byte unchanged, and nothing new left behind. A few cases run the real console
script in a subprocess, where only a traceback on stderr can be seen.

The cases never reach the physics engine (every one is refused before a solve), so the module
runs in seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from app.main import main
from twin.demos import synthetic_site
from twin.events import Event
from twin.store import Project, Recorder

_spec = importlib.util.spec_from_file_location(
    "attack_fakesim", Path(__file__).parents[1] / "twin" / "store" / "fakesim.py")
fakesim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakesim)

TINY = {
    "format": "dctwin-layout", "version": 1, "name": "tiny",
    "halls": [{"id": "H1", "width_m": 9.6, "depth_m": 7.2, "height_m": 3.0, "plenum": "raised_floor",
               "ceiling_return": False, "supply_c": 18,
               "racks": [{"id": "R-01", "x_m": 2.4, "y_m": 1.8, "facing": "N", "it_kw": 4,
                          "feeds": ["PDU-A", "PDU-B"]}],
               "cooling_units": [{"id": "CRAH-1", "kind": "crah", "x_m": 0.0, "y_m": 3.0, "facing": "E",
                                  "airflow_m3s": 1.0, "capacity_kw": 30, "supply_setpoint_c": 18}],
               "tiles": [{"x_m": 2.4, "y_m": 3.0, "open_fraction": 0.25}], "grilles": [], "containments": []}],
    "power_nodes": [{"id": "UTIL", "kind": "utility"},
                    {"id": "PDU-A", "kind": "pdu", "inputs": ["UTIL"], "capacity_kw": 100},
                    {"id": "PDU-B", "kind": "pdu", "inputs": ["UTIL"], "capacity_kw": 100}],
}
TINY_TEXT = json.dumps(TINY, indent=1)


def _sql(path: Path, *statements: str) -> None:
    con = sqlite3.connect(path)
    for st in statements:
        con.execute(st)
    con.commit()
    con.close()


def _flip(path: Path, offset: int) -> None:
    b = bytearray(path.read_bytes())
    b[offset] ^= 0xFF
    path.write_bytes(bytes(b))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Every attack file, made once: good inputs first, then broken copies of them."""
    d = tmp_path_factory.mktemp("attack")
    f: dict[str, Path] = {"dir": d}

    def text(name: str, data: str | bytes) -> Path:
        p = d / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        f[name] = p
        return p

    text("tiny.json", TINY_TEXT)
    text("empty.json", b"")
    text("garbage.json", bytes(range(256)) * 8)
    text("nan.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": NaN'))
    text("inf.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": -Infinity'))
    text("e400.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": 1e400'))
    text("bigint.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": 1' + "0" * 400))
    text("hugeint.json", TINY_TEXT.replace('"x_m": 2.4', '"x_m": 1' + "0" * 5000, 1))
    text("e308.json", TINY_TEXT.replace('"width_m": 9.6', '"width_m": 1e308'))
    text("negative.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": -4'))
    text("wrongtype.json", TINY_TEXT.replace('"it_kw": 4', '"it_kw": "4"').replace('"facing": "N"', '"facing": 7'))
    text("nested.json", "[" * 100_000 + "]" * 100_000)
    bad_feed = json.loads(TINY_TEXT)
    bad_feed["halls"][0]["racks"][0]["feeds"] = ["PDU-A", "PDU-X"]
    text("missingref.json", json.dumps(bad_feed))
    text("utf16.json", TINY_TEXT.encode("utf-16"))
    text("layout.dctwin", TINY_TEXT)
    (d / "folder").mkdir()
    f["folder"] = d / "folder"
    other = d / "other.dctwin"
    _sql(other, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    f["other.dctwin"] = other

    inc = {"format": "dctwin-incident", "version": 1, "name": "x", "description": "", "events": []}
    text("inc_missing_el.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-99"}]}))
    text("inc_kind.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "explode", "target": "CRAH-1"}]}))
    text("inc_nan.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-1"}]})
         .replace('"t_s": 1', '"t_s": NaN'))
    text("inc_bigint.json", json.dumps({**inc, "events": [{"t_s": 1, "kind": "fail", "target": "CRAH-1"}]})
         .replace('"t_s": 1', '"t_s": 1' + "0" * 400))
    text("inc_nested.json", '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}")

    run = d / "run.dctwin"
    with Project.create(run) as p:
        sim = fakesim.FakeSim(dt_s=0.5)
        rec = Recorder(p, p.save_layout(synthetic_site(4)), 0.5, keyframe_every_s=15)
        fakesim.run_live(sim, rec, 60.0, [Event(0, 10.0, "fail", "CRAH-1")], {})
    f["run.dctwin"] = run
    review = d / "review.dctwin"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(run), "--out", str(review)]) == 0
    f["review.dctwin"] = review

    def variant(src: str, name: str, change: Callable[[Path], None]) -> None:
        p = d / name
        shutil.copy(f[src], p)
        change(p)
        f[name] = p

    size = run.stat().st_size
    variant("run.dctwin", "flip_header.dctwin", lambda p: _flip(p, 20))
    variant("run.dctwin", "flip_appid.dctwin", lambda p: _flip(p, 70))
    variant("run.dctwin", "flip_middle.dctwin", lambda p: _flip(p, size // 2))
    variant("run.dctwin", "cut_header.dctwin", lambda p: p.write_bytes(p.read_bytes()[:50]))
    variant("run.dctwin", "cut_middle.dctwin", lambda p: p.write_bytes(p.read_bytes()[:size // 2]))
    variant("run.dctwin", "cut_end.dctwin", lambda p: p.write_bytes(p.read_bytes()[:size - 700]))
    variant("run.dctwin", "dt_negative.dctwin", lambda p: _sql(p, "UPDATE recordings SET dt_s = -1"))
    variant("run.dctwin", "dt_text.dctwin", lambda p: _sql(p, "UPDATE recordings SET dt_s = 'abc'"))
    variant("run.dctwin", "layout_garbage.dctwin", lambda p: _sql(p, "UPDATE layouts SET layout_json = 'x{'"))
    variant("run.dctwin", "layout_blob.dctwin", lambda p: _sql(p, "UPDATE layouts SET layout_json = x'ff00'"))
    variant("run.dctwin", "kf_bytes.dctwin", lambda p: _sql(p, "UPDATE keyframe_arrays SET data = x'00'"))
    variant("run.dctwin", "kf_dtype.dctwin", lambda p: _sql(p, "UPDATE keyframe_arrays SET dtype = 'O'"))
    variant("run.dctwin", "series_bytes.dctwin", lambda p: _sql(p, "UPDATE series SET data = x'0001'"))
    variant("run.dctwin", "event_details.dctwin", lambda p: _sql(p, "UPDATE events SET details_json = '[1'"))
    variant("run.dctwin", "event_time.dctwin", lambda p: _sql(p, "UPDATE events SET t_s = 'soon'"))
    variant("run.dctwin", "dropped.dctwin", lambda p: _sql(p, "DROP TABLE events"))
    variant("run.dctwin", "newer.dctwin", lambda p: _sql(p, "PRAGMA user_version = 99"))
    variant("run.dctwin", "trigger.dctwin", lambda p: _sql(
        p, "CREATE TABLE canary (x)",
        "CREATE TRIGGER wipe AFTER INSERT ON meta BEGIN INSERT INTO canary VALUES (1); DELETE FROM events; END"))
    variant("run.dctwin", "view.dctwin", lambda p: _sql(
        p, "ALTER TABLE events RENAME TO events_old", "CREATE VIEW events AS SELECT * FROM events_old WHERE 0"))
    variant("review.dctwin", "rev_rows.dctwin", lambda p: _sql(p, "UPDATE events SET t_s = t_s + 1"))
    variant("review.dctwin", "rev_kind.dctwin", lambda p: _sql(p, "UPDATE meta SET value = 'project' "
                                                                  "WHERE key = 'kind'"))
    variant("review.dctwin", "rev_dropped.dctwin", lambda p: _sql(p, "DROP TABLE alarms"))
    variant("review.dctwin", "rev_trigger.dctwin", lambda p: _sql(
        p, "CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END"))
    variant("review.dctwin", "rev_no_manifest.dctwin", lambda p: _sql(p, "DELETE FROM manifest"))
    return f


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}


def run_cli(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def attack(files: dict[str, Path], argv: list, code: int, *must_say: str) -> str:
    """Run one attack and check the whole promise; returns the message for further checks."""
    folder = files["dir"]
    before = _snapshot(folder)
    got, out, err = run_cli(argv)
    after = _snapshot(folder)
    message = err if code == 2 else err + out
    assert got == code, f"{argv}: exit {got}, expected {code}\n{out}\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    for text in must_say:
        assert text in message, f"{argv}: {text!r} not in {message!r}"
    changed = [k for k in before if after.get(k) != before[k]]
    assert not changed, f"{argv} changed or removed {changed}"
    new = [k for k in after if k not in before]
    assert not new, f"{argv} left {new} behind"
    return message


# ---------------------------------------------------------------- layout files (validate / solve / simulate / gui)

LAYOUT_ATTACKS = [
    ("missing.json", "file not found"),
    ("folder", "is a folder"),
    ("empty.json", "malformed JSON at line 1 column 1"),
    ("garbage.json", "not UTF-8"),
    ("nan.json", "NaN is not a number"),
    ("inf.json", "Infinity is not a number"),
    ("e400.json", "R-01.it_kw: must be a finite number"),
    ("bigint.json", "integer of 401 digits"),
    ("hugeint.json", "integer of 5001 digits"),
    ("e308.json", "H1.width_m"),
    ("negative.json", "R-01.it_kw"),
    ("wrongtype.json", "R-01.it_kw: must be a number"),
    ("nested.json", "nested too deeply"),
    ("missingref.json", "PDU-X"),
    ("run.dctwin", "is an SQLite database"),
    ("other.dctwin", "is an SQLite database"),
]


@pytest.mark.parametrize("name,says", LAYOUT_ATTACKS, ids=[a[0] for a in LAYOUT_ATTACKS])
@pytest.mark.parametrize("command", ["validate", "solve", "simulate"])
def test_bad_layout_file(files, command, name, says):
    path = files.get(name, files["dir"] / name)
    argv = [command, path] + (["--duration", "10", "--out", files["dir"] / "new.dctwin"] if command == "simulate"
                              else [])
    attack(files, argv, 2, str(path), says)


def test_utf16_layout_with_bom_is_read(files):
    code, out, err = run_cli(["validate", files["utf16.json"]])
    assert code == 0 and "valid" in out, err


def test_layout_json_renamed_dctwin_validates_but_is_no_project(files):
    assert run_cli(["validate", files["layout.dctwin"]])[0] == 0
    attack(files, ["recordings", files["layout.dctwin"]], 2, "layout.dctwin", "not an SQLite database")


# ---------------------------------------------------------------- project files (export / verify / recordings / replay)

PROJECT_ATTACKS = [
    ("missing.dctwin", "no such file"),
    ("folder", "is not a file"),
    ("empty.json", "it is empty"),
    ("garbage.json", "not an SQLite database"),
    ("tiny.json", "not an SQLite database"),
    ("layout.dctwin", "not an SQLite database"),
    ("other.dctwin", "application_id is 0x00000000"),
    ("flip_header.dctwin", "is damaged"),
    ("flip_appid.dctwin", "is not a dctwin project file"),
    ("flip_middle.dctwin", "is damaged"),
    ("cut_header.dctwin", "is truncated"),
    ("cut_middle.dctwin", "is damaged"),
    ("cut_end.dctwin", "is truncated"),
    ("dropped.dctwin", "missing table(s) events"),
    ("newer.dctwin", "newer dctwin"),
    ("trigger.dctwin", "trigger 'wipe'"),
    ("view.dctwin", "view 'events'"),
]


#: verify only reads, and reports a project's dropped tables, triggers and views as "no manifest" (exit 1)
_VERIFY_READS = ("dropped.dctwin", "trigger.dctwin", "view.dctwin")


@pytest.mark.parametrize("command,name,says", [
    (c, n, s) for c in ("export", "verify", "recordings", "replay") for n, s in PROJECT_ATTACKS
    if not (c == "verify" and n in _VERIFY_READS)], ids=lambda v: str(v))
def test_bad_project_file(files, command, name, says):
    path = files.get(name, files["dir"] / name)
    extra = {"export": ["--out", files["dir"] / "out.dctwin", "--csv", files["dir"] / "csv"],
             "replay": ["--at", "5"]}.get(command, [])
    attack(files, [command, path, *extra], 2, path.name, says)


DAMAGED_DATA = [
    ("dt_negative.dctwin", "dt_s = -1"),
    ("dt_text.dctwin", "not numbers"),
    ("layout_garbage.dctwin", "layout version 1"),
    ("layout_blob.dctwin", "layout version 1 is not text"),
    ("kf_bytes.dctwin", "keyframe 1"),
    ("kf_dtype.dctwin", "unsupported dtype 'O'"),
    ("series_bytes.dctwin", "damaged chunk"),
    ("event_details.dctwin", "damaged details"),
    ("event_time.dctwin", "is damaged"),
]


@pytest.mark.parametrize("name,says", DAMAGED_DATA, ids=[a[0] for a in DAMAGED_DATA])
def test_export_refuses_damaged_rows(files, name, says):
    """A review export must not hash damaged rows as the truth: the export is refused, nothing written."""
    attack(files, ["export", files[name], "--out", files["dir"] / "out.dctwin"], 2, name, says)


@pytest.mark.parametrize("name", ["dt_negative.dctwin", "dt_text.dctwin", "layout_garbage.dctwin",
                                  "kf_bytes.dctwin", "event_time.dctwin"])
def test_replay_refuses_damaged_rows(files, name):
    attack(files, ["replay", files[name], "--at", "20"], 2, name)


def test_recordings_lists_text_where_numbers_belong_as_damage(files):
    attack(files, ["recordings", files["dt_text.dctwin"]], 2, "dt_text.dctwin", "not numbers")


def test_trigger_is_never_run(files):
    """Export writes into its copy (meta, manifest): a trigger smuggled into the file must not fire there."""
    attack(files, ["export", files["trigger.dctwin"], "--out", files["dir"] / "out.dctwin"], 2, "trigger")
    con = sqlite3.connect(f"file:{files['trigger.dctwin']}?mode=ro", uri=True)
    assert con.execute("SELECT count(*) FROM canary").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 0
    con.close()


# ---------------------------------------------------------------- verify: 1 for altered reviews

@pytest.mark.parametrize("name,says", [("rev_rows.dctwin", "altered: events"), ("rev_kind.dctwin", "altered: meta"),
                                       ("rev_dropped.dctwin", "missing: alarms"),
                                       ("rev_trigger.dctwin", "altered: (schema)"),
                                       ("rev_no_manifest.dctwin", "missing: manifest")])
def test_verify_altered_review_exits_1(files, name, says):
    attack(files, ["verify", files[name]], 1, name, "ALTERED", says)


@pytest.mark.parametrize("name", ["rev_rows.dctwin", "rev_kind.dctwin", "rev_no_manifest.dctwin"])
def test_altered_review_is_not_re_exported_with_fresh_hashes(files, name):
    attack(files, ["export", files[name], "--out", files["dir"] / "out.dctwin"], 2, name, "altered")


def test_review_with_edited_kind_still_opens_read_only(files):
    from twin.store.project import Project as P

    with P.open(files["rev_kind.dctwin"]) as p:
        assert p.is_review and p.read_only


# ---------------------------------------------------------------- arguments and outputs

def _argument_attacks(d: Path, f: dict[str, Path]) -> list[tuple[str, list, str]]:
    tiny, run, review = f["tiny.json"], f["run.dctwin"], f["review.dctwin"]
    sim = ["simulate", tiny, "--duration", "10"]
    return [
        ("demo unknown", ["demo", "nosuch"], "nosuch"),
        ("demo out missing folder", ["demo", "small", "--out", d / "nodir" / "x.json"], "nodir"),
        ("demo out folder", ["demo", "small", "--out", d / "folder"], "is a folder"),
        ("demo out over project", ["demo", "small", "--out", run], "is a project file"),
        ("new out over review", ["new", "--racks", "2", "--out", review], "is a project file"),
        ("new out empty", ["new", "--racks", "2", "--out", ""], "no file name"),
        ("new racks 0", ["new", "--racks", "0", "--out", d / "n.json"], "--racks"),
        ("new rack-kw nan", ["new", "--racks", "2", "--rack-kw", "nan", "--out", d / "n.json"], "--rack-kw"),
        ("solve grid nan", ["solve", tiny, "--grid", "nan"], "--grid"),
        ("solve hall unknown", ["solve", tiny, "--hall", "NOPE"], "NOPE"),
        ("sim duration nan", [*sim[:3], "nan"], "--duration"),
        ("sim duration negative", [*sim[:3], "-5"], "--duration"),
        ("sim duration 1e308", [*sim[:3], "1e308"], "--duration"),
        ("sim dt 0", [*sim, "--dt", "0"], "--dt"),
        ("sim dt nan", [*sim, "--dt", "nan"], "--dt"),
        ("sim dt tiny", [*sim, "--dt", "1e-300"], "steps"),
        ("sim keyframe-every 0", [*sim, "--keyframe-every", "0", "--out", d / "o.dctwin"], "--keyframe-every"),
        ("sim metrics-every nan", [*sim, "--metrics-every", "nan", "--out", d / "o.dctwin"], "--metrics-every"),
        ("sim incident unknown", [*sim, "--incident", "no-such-incident"], "no built-in incident"),
        ("sim incident garbage", [*sim, "--incident", f["garbage.json"]], "garbage.json"),
        ("sim incident is a layout", [*sim, "--incident", tiny], "dctwin-incident"),
        ("sim incident is a project", [*sim, "--incident", run], "is an SQLite database"),
        ("sim incident missing element", [*sim, "--incident", f["inc_missing_el.json"]], "CRAH-99"),
        ("sim incident unknown kind", [*sim, "--incident", f["inc_kind.json"]], "explode"),
        ("sim incident NaN time", [*sim, "--incident", f["inc_nan.json"]], "NaN"),
        ("sim incident huge int", [*sim, "--incident", f["inc_bigint.json"]], "401 digits"),
        ("sim incident deep", [*sim, "--incident", f["inc_nested.json"]], "nested too deeply"),
        ("sim library incident for another hall", [*sim, "--incident", "crah-failure"], "CRAH-2"),
        ("sim out missing folder", [*sim, "--out", d / "nodir" / "o.dctwin"], "does not exist"),
        ("sim out is the layout", [*sim, "--out", tiny], "is an input"),
        ("sim out folder", [*sim, "--out", d / "folder"], "is a folder"),
        ("sim out review", [*sim, "--out", review], "review export"),
        ("sim out other sqlite", [*sim, "--out", f["other.dctwin"]], "not a dctwin project file"),
        ("bench racks 0", ["bench", "--racks", "0"], "--racks"),
        ("bench repeats 0", ["bench", "--repeats", "0"], "--repeats"),
        ("bench grid nan", ["bench", "--racks", "1", "--grid", "nan"], "--grid"),
        ("export nothing asked", ["export", run], "--out"),
        ("export out is input", ["export", run, "--out", run], "never overwritten"),
        ("export out missing folder", ["export", run, "--out", d / "nodir" / "r.dctwin"], "does not exist"),
        ("export out over a layout", ["export", run, "--out", tiny], "not a review export"),
        ("export at nan", ["export", run, "--at", "nan", "--out", d / "r.dctwin"], "--at"),
        ("export at past end", ["export", run, "--at", "1e9", "--out", d / "r.dctwin"], "outside recording 1"),
        ("export recording 99", ["export", run, "--recording", "99", "--out", d / "r.dctwin"], "no recording 99"),
        ("export recording huge", ["export", run, "--recording", "9" * 30, "--out", d / "r.dctwin"], "--recording"),
        ("export review then bad csv", ["export", run, "--out", d / "r.dctwin", "--csv", tiny], "--csv"),
        ("export png wrong extension", ["export", run, "--png", d / "x.jpg"], "--png"),
        ("export png missing folder", ["export", run, "--png", d / "nodir" / "x.png"], "does not exist"),
        ("replay at past end", ["replay", run, "--at", "1e9"], "outside recording 1"),
        ("replay at inf", ["replay", run, "--at", "inf"], "--at"),
        ("replay recording 99", ["replay", run, "--recording", "99", "--at", "1"], "no recording 99"),
        ("incidents unknown", ["incidents", "nope"], "nope"),
        ("incidents path outside the library", ["incidents", "../demos/small"], "no built-in incident"),
        ("incidents out missing folder", ["incidents", "crah-failure", "--out", d / "nodir" / "i.json"], "nodir"),
        ("incidents out over project", ["incidents", "crah-failure", "--out", run], "is a project file"),
        ("unknown command", ["frobnicate"], "invalid choice"),
        ("unknown flag", ["validate", tiny, "--frobnicate"], "--frobnicate"),
        ("gui at nan", ["gui", run, "--at", "nan", "--screenshot", d / "s.png"], "--at"),
        ("gui at without recording", ["gui", tiny, "--at", "5", "--screenshot", d / "s.png"], "--at"),
        ("gui malformed layout", ["gui", f["garbage.json"], "--screenshot", d / "s.png"], "garbage.json"),
        ("gui damaged project", ["gui", f["flip_middle.dctwin"], "--screenshot", d / "s.png"], "is damaged"),
        ("gui trigger project", ["gui", f["trigger.dctwin"], "--screenshot", d / "s.png"], "trigger"),
        ("gui screenshot missing folder", ["gui", tiny, "--screenshot", d / "nodir" / "s.png"], "does not exist"),
        ("gui screenshot wrong extension", ["gui", tiny, "--screenshot", d / "s.txt"], ".png"),
        ("gui run-seconds nan", ["gui", tiny, "--screenshot", d / "s.png", "--run-seconds", "nan"], "--run-seconds"),
        ("gui size 0x0", ["gui", tiny, "--screenshot", d / "s.png", "--size", "0x0"], "--size"),
    ]


_NAMES = [a[0] for a in _argument_attacks(Path("."), {k: Path(k) for k in (
    "tiny.json", "run.dctwin", "review.dctwin", "garbage.json", "other.dctwin", "inc_missing_el.json",
    "inc_kind.json", "inc_nan.json", "inc_bigint.json", "inc_nested.json", "flip_middle.dctwin", "trigger.dctwin")})]


@pytest.mark.parametrize("label", _NAMES)
def test_bad_argument(files, label):
    cases = {name: (argv, says) for name, argv, says in _argument_attacks(files["dir"], files)}
    argv, says = cases[label]
    attack(files, argv, 2, says)


# ---------------------------------------------------------------- the real console script

@pytest.mark.parametrize("argv", [
    ["validate", "bigint.json"],
    ["simulate", "tiny.json", "--duration", "10", "--incident", "inc_nested.json"],
    ["export", "trigger.dctwin", "--out", "out.dctwin"],
    ["recordings", "dt_text.dctwin"],
    ["export", "run.dctwin", "--recording", "9" * 30, "--out", "out.dctwin"],
], ids=["bigint", "nested-incident", "trigger", "text-in-numbers", "huge-id"])
def test_console_script_never_prints_a_traceback(files, argv):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    proc = subprocess.run([sys.executable, "-m", "app.main", *argv], cwd=files["dir"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (files["dir"] / "out.dctwin").exists()


def test_debug_shows_the_traceback(files):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    proc = subprocess.run([sys.executable, "-m", "app.main", "--debug", "recordings", "dt_text.dctwin"],
                          cwd=files["dir"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" in proc.stderr
