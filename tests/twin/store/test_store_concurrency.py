"""Two processes and one project file, and a full disk (issue 19): one writer at a time, the second is
refused with a clear message, nothing is lost or interleaved; a write that meets a full disk says so
and leaves a file that opens with what was committed."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from fakesim import FakeSim

from dctwin.app.main import main
from dctwin.twin.errors import ProjectFileError
from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.store import Project, Recorder, export_review, verify_file
from dctwin.twin.store import project as project_mod
from dctwin.twin.store.recorder import record_run

WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {store_tests!r})
    from fakesim import FakeSim
    from dctwin.twin.errors import DctwinError
    from dctwin.twin.model.demos import synthetic_site
    from dctwin.twin.store.recorder import record_run
    path, go, steps, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    while not os.path.exists(go):
        time.sleep(0.001)
    sim = FakeSim(dt_s=1.0)
    try:
        rr = record_run(path, synthetic_site(6), sim, keyframe_every_s=5.0, background=False, seek_budget_s=None)
        for _ in range(steps):
            sim.step()
            rr.on_step(sim)
            time.sleep(pause)
        rr.close(sim)
        print("ok", rr.recording_id, rr.summary()["keyframes"], flush=True)
    except DctwinError as exc:
        print("refused", exc, flush=True)
""")


def _writers(tmp_path: Path, path: Path, n: int = 2, steps: int = 60, pause: float = 0.002) -> list[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(store_tests=str(Path(__file__).parent)))
    go = tmp_path / f"go-{path.name}"
    procs = [subprocess.Popen([sys.executable, str(script), str(path), str(go), str(steps), str(pause)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    time.sleep(1.5)  # every child is waiting at the barrier (imports done)
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "Traceback" not in err, err
        outs.append(out.strip())
    return outs


def test_two_processes_recording_into_one_new_file_never_lose_a_run(tmp_path):
    for attempt in range(4):
        path = tmp_path / f"same-{attempt}.dctwin"
        outs = _writers(tmp_path, path)
        ok = [o.split() for o in outs if o.startswith("ok")]
        refused = [o for o in outs if o.startswith("refused")]
        assert len(ok) + len(refused) == 2 and ok, outs
        for r in refused:
            assert "is being written by another dctwin process (pid " in r, r
        with Project.open(path, read_only=True) as p:
            recs = p.recordings()
            assert sorted(int(o[1]) for o in ok) == [r.id for r in recs]  # every run that said ok is there
            for r, o in zip(recs, sorted(ok, key=lambda o: int(o[1]))):
                assert r.finished and r.keyframes == int(o[2]) and r.duration_s == 60.0
                p.recording(r.id).check_data()
        assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(f"same-{attempt}")) == [path.name]


def test_a_second_writer_is_refused_while_the_first_writes_and_readers_are_not(tmp_path):
    path = tmp_path / "busy.dctwin"
    with Project.create(path) as p:
        p.save_layout(synthetic_site(6))
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(store_tests=str(Path(__file__).parent)))
    (tmp_path / "go").touch()
    slow = subprocess.Popen([sys.executable, str(script), str(path), str(tmp_path / "go"), "400", "0.01"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not project_mod.being_written(path):
            assert time.monotonic() < deadline and slow.poll() is None
            time.sleep(0.05)
        with pytest.raises(ProjectFileError, match=rf"busy.dctwin: is being written by another dctwin process "
                                                   rf"\(pid {slow.pid}\)"):
            Project.open(path)
        with pytest.raises(ProjectFileError, match="being written by another dctwin process"):
            record_run(path, synthetic_site(6), FakeSim(dt_s=1.0), background=False)
        # reading while it is written: an export is a consistent snapshot, and verifies
        time.sleep(0.5)
        res = export_review(path, tmp_path / "review.dctwin")
        assert verify_file(tmp_path / "review.dctwin").intact and res["keyframes"] >= 1
        with Project.open(tmp_path / "review.dctwin") as r:
            r.recording().check_data()
    finally:
        out, err = slow.communicate(timeout=120)
    assert out.startswith("ok"), (out, err)
    with Project.open(path, read_only=True) as p:
        assert p.recordings()[-1].finished and p.recordings()[-1].duration_s == 400.0
    assert not project_mod.lock_path(path).exists()  # the lock file goes with its writer


def test_a_crashed_writer_leaves_no_lock_behind(tmp_path):
    path = tmp_path / "crash.dctwin"
    code = ("import os, sys\nfrom dctwin.twin.store import Project\n"
            "p = Project.create(sys.argv[1])\nos.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code, str(path)])
    assert project_mod.lock_path(path).exists()  # stale file, but no process holds its lock
    with Project.open(path) as p:
        p.save_layout(synthetic_site(2))


def test_cli_simulate_twice_into_one_file(tmp_path):
    """The issue's case: two `dctwin simulate --out same.dctwin` started together on a new file."""
    layout = tmp_path / "tiny.json"
    assert main(["new", "--racks", "4", "--out", str(layout)]) == 0
    out = tmp_path / "same.dctwin"
    args = [sys.executable, "-m", "dctwin.app.main", "simulate", str(layout), "--duration", "20", "--out", str(out),
            "--no-progress"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    ok = [r for r in results if r[0] == 0]
    assert ok, results
    for code, err in results:
        assert "Traceback" not in err and "internal error" not in err, err
        if code != 0:
            assert code == 2 and "is being written by another dctwin process" in err, err
    with Project.open(out, read_only=True) as p:
        recs = p.recordings()
        assert len(recs) == len(ok) and all(r.finished and r.duration_s == 20.0 for r in recs)


# ---------------------------------------------------------------- a full disk


def _full_after(monkeypatch, pages: int) -> None:
    """Every project connection made from now on holds at most ``pages`` more pages (a full disk)."""
    real = project_mod._make_engine

    def limited(path, read_only, immutable=False):
        eng = real(path, read_only, immutable)
        if not read_only:
            con = eng.raw_connection().driver_connection
            now = con.execute("PRAGMA page_count").fetchone()[0]
            con.execute(f"PRAGMA max_page_count = {now + pages}")
        return eng

    monkeypatch.setattr(project_mod, "_make_engine", limited)


@pytest.mark.parametrize("background", [False, True])
def test_a_recording_that_fills_the_disk_stops_with_a_clear_message(tmp_path, monkeypatch, background):
    path = tmp_path / "full.dctwin"
    with Project.create(path) as p:
        lid = p.save_layout(synthetic_site(6))
    _full_after(monkeypatch, 60)
    rng = np.random.default_rng(1)
    with pytest.raises(ProjectFileError) as exc:
        with Project.open(path) as p:
            rec = Recorder(p, lid, 1.0, keyframe_every_s=1.0, background=background)
            for k in range(200):
                rec.on_step(float(k), state={"noise": rng.random(20_000)})  # 160 kB a keyframe: 60 pages go fast
            rec.close()
    message = str(exc.value)
    assert "full.dctwin: the disk is full: recording 1 could not be written" in message
    assert "what was saved before is kept and the file still opens" in message
    assert "the recording is kept up to t = " in message
    kept = float(message.rsplit("t = ", 1)[1].split()[0])
    monkeypatch.undo()
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        assert reader.keyframes()[-1].t_s == kept and not reader.finished
        reader.check_data()


def test_saving_a_layout_on_a_full_disk_says_so(tmp_path, monkeypatch):
    path = tmp_path / "full.dctwin"
    Project.create(path).close()
    _full_after(monkeypatch, 0)
    with Project.open(path) as p:
        with pytest.raises(ProjectFileError, match="full.dctwin: the disk is full: the layout could not be written"):
            p.save_layout(synthetic_site(400))
    monkeypatch.undo()
    with Project.open(path, read_only=True) as p:
        assert p.layouts() == []


def test_cli_simulate_onto_a_full_disk(tmp_path, monkeypatch, capsys):
    layout = tmp_path / "tiny.json"
    assert main(["new", "--racks", "4", "--out", str(layout)]) == 0
    out = tmp_path / "run.dctwin"
    Project.create(out).close()
    _full_after(monkeypatch, 8)
    assert main(["simulate", str(layout), "--duration", "60", "--out", str(out), "--keyframe-every", "1"]) == 2
    err = capsys.readouterr().err
    assert "run.dctwin: the disk is full" in err and "internal error" not in err and "Traceback" not in err
    monkeypatch.undo()
    Project.open(out, read_only=True).close()


@pytest.mark.parametrize("flag,ext", [("--png", "png"), ("--html", "html")])
def test_cli_pictures_on_a_full_disk(tmp_path, monkeypatch, capsys, flag, ext):
    from dctwin.app import report

    run = tmp_path / "run.dctwin"
    with Project.create(run) as p:
        rec = Recorder(p, p.save_layout(synthetic_site(6)), 0.5, keyframe_every_s=5)
        from fakesim import run_live

        run_live(FakeSim(dt_s=0.5), rec, 10.0, [])

    def full(data, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    import types

    from dctwin.twin import review

    monkeypatch.setattr(review, "collect", lambda *a, **k: types.SimpleNamespace(picture_t_s=0.0))
    monkeypatch.setattr(report, f"write_{ext}", full)
    target = tmp_path / f"out.{ext}"
    assert main(["export", str(run), flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{flag} {target}: could not be written: the disk is full" in err and "internal error" not in err
    assert not target.exists()
