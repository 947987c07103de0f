"""Attacks on the command line: bad files, damaged and tampered projects, absurd arguments.

Each case runs ``dctwin.app.main.main([...])`` in-process and checks the promise made for bad input:
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
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dctwin.app.main import main
from tests.app.attack_files import build


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("attack"))


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
    ("ctrl_id.json", "R-\\x00\\x1b[2J.id: an id must not contain control"),
    ("surrogate_name.json", "layout.name: must not contain control"),
    ("stacked.json", "more footprints overlap than the 200 listed"),
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
    ("dt_text.dctwin", "recording 1 is damaged"),  # text in a number: no checksum holds it
    ("layout_garbage.dctwin", "layout version 1"),
    ("layout_blob.dctwin", "layout version 1 is not text"),
    ("kf_bytes.dctwin", "keyframe at t = 0 s is damaged"),
    ("plain_kf_bytes.dctwin", "keyframe at t = 0 s is damaged (array air_c: its checksum does not match)"),
    ("kf_huge.dctwin", "array air_c: stored array claims 1e+09 elements"),
    ("kf_negative.dctwin", "array air_c: stored array has a malformed shape"),
    ("kf_text_shape.dctwin", "array air_c: stored array has a malformed shape"),
    ("kf_unicode.dctwin", "array air_c: stored array has an unsupported dtype '<U10'"),
    ("kf_swapped.dctwin", "array air_c: stored array declares the byte order of '>f8'"),
    ("kf_short.dctwin", "keyframe at t = 0 s is damaged (array air_c"),
    ("plain_event.dctwin", "event row 1 is damaged: its checksum does not match"),
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
                                  "kf_bytes.dctwin", "event_time.dctwin", "plain_kf_bytes.dctwin",
                                  "plain_event.dctwin", "kf_huge.dctwin", "kf_swapped.dctwin", "kf_short.dctwin"])
def test_replay_refuses_damaged_rows(files, name):
    attack(files, ["replay", files[name], "--at", "20"], 2, name)


def test_recordings_lists_text_where_numbers_belong_as_damage(files):
    attack(files, ["recordings", files["dt_text.dctwin"]], 2, "dt_text.dctwin", "recording 1 is damaged")


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
    from dctwin.twin.store.project import Project as P

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
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "dctwin.app.main", *argv], cwd=files["dir"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (files["dir"] / "out.dctwin").exists()


def test_debug_shows_the_traceback(files):
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "dctwin.app.main", "--debug", "recordings", "dt_text.dctwin"],
                          cwd=files["dir"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_stacked_racks_give_a_bounded_report(files):
    """5,000 racks on one spot are 12.5 million overlapping pairs: the report lists 200 and says there are more."""
    code, out, err = run_cli(["validate", files["stacked.json"], "--json"])
    assert code == 2
    errors = json.loads(out)["errors"]
    assert 200 < len(errors) < 400
    assert errors[-1]["message"].startswith("more footprints overlap")


# ---------------------------------------------------------------- outputs that cannot be written

@pytest.mark.parametrize("argv_of,says", [
    (lambda d, f: ["demo", "small", "--out", d / "x.json"], "cannot write: Permission denied"),
    (lambda d, f: ["new", "--racks", "2", "--out", f["tiny.json"]], "cannot write: Permission denied"),
    (lambda d, f: ["incidents", "crah-failure", "--out", d / "i.json"], "cannot write: Permission denied"),
    (lambda d, f: ["export", f["run.dctwin"], "--out", d / "r.dctwin"], "cannot write in"),
    (lambda d, f: ["export", f["run.dctwin"], "--csv", d / "folder"], "cannot write: Permission denied"),
], ids=["demo", "new-over-existing", "incidents", "export", "csv"])
def test_read_only_folder(files, monkeypatch, argv_of, says):
    """A folder without write permission (simulated: the tests may run as root, who may write anywhere):
    exit 2 naming the path, the existing file untouched, nothing left behind."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    attack(files, argv_of(files["dir"], files), 2, says)


def test_simulate_into_a_read_only_folder(files, monkeypatch):
    """Project.create: the recording's file cannot be made; refused before anything is written."""
    import tempfile

    from dctwin.twin.store import Project as P

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(Exception) as info:
        P.create(files["dir"] / "new.dctwin")
    assert "cannot write in" in str(info.value) and "Permission denied" in str(info.value)
    assert not (files["dir"] / "new.dctwin").exists()


@pytest.mark.parametrize("name", ["/dev/zero", "fifo"])
def test_devices_and_pipes_are_not_read(files, name):
    """Reading /dev/zero never ends and a pipe blocks: both refused before reading."""
    path = Path(name)
    if name == "fifo":
        path = files["dir"] / "pipe.json"
        if not path.exists():
            os.mkfifo(path)
    for argv in (["validate", path], ["simulate", files["tiny.json"], "--duration", "5", "--incident", path]):
        assert "not a regular file" in attack(files, argv, 2, str(path))


def test_text_summary_of_a_hall_without_racks(files, monkeypatch):
    """No racks means no inlet temperature: the text summary says n/a (it was a TypeError, exit 1)."""
    import dctwin.twin.sim.engine as engine
    from dctwin.twin.sim.results import HallSummary, RunSummary

    class NoRacks:
        def __init__(self, site, hall_id=None, **kwargs):
            self.t_s = 0.0

        def solve_steady(self):
            return HallSummary(energy_error=float("nan"), solve_s=0.1)

        def start(self):
            return self.solve_steady()

        def run(self, duration_s, dt_s=None, progress=None, on_step=None, adaptive=False, max_dt_s=None):
            return RunSummary(HallSummary(), energy_error=float("nan"))

    monkeypatch.setattr(engine, "Simulation", NoRacks)
    code, out, err = run_cli(["solve", files["tiny.json"]])
    assert code == 0 and out.startswith("max inlet n/a °C, energy error n/a"), err
    code, out, err = run_cli(["simulate", files["tiny.json"], "--duration", "5"])
    assert code == 0 and "max inlet n/a °C, 0 racks over allowable, energy error n/a" in out, err
