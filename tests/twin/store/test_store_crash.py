"""Crash safety: a process writing a recording is killed with SIGKILL at random moments, many times.

After every kill the file opens, passes PRAGMA integrity_check, and holds every
keyframe the process had committed (it prints each one right after the commit
returned), bit-exact. Files are killed while being created, while recording,
and while a second and third recording is appended after an earlier kill;
half the trials write on the engine thread, half through the writer thread.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from dctwin.twin.store import Project, check_file

HERE = Path(__file__).parent
KILLS = 20


def _read_until(proc: subprocess.Popen, sel: selectors.BaseSelector, prefix: str, lines: list[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker ended unexpectedly; stderr: {proc.stderr.read()}")
        line = line.strip()
        if line.startswith(prefix):
            return line
        lines.append(line)
    raise AssertionError(f"no {prefix!r} from the worker within 60 s")


def test_kill_9_while_recording_never_loses_committed_keyframes(tmp_path):
    sys.path.insert(0, str(HERE))
    from crash_worker import state_at

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.Popen([sys.executable, str(HERE / "crash_worker.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    rnd = random.Random(20261127)
    total_kf = killed = 0
    try:
        for trial in range(KILLS):
            path = tmp_path / f"run{trial // 3}.dctwin"
            mode = "append" if path.exists() else "new"
            proc.stdin.write(f"{path} {mode} {'background' if trial % 2 else 'sync'}\n")
            proc.stdin.flush()
            lines: list[str] = []
            pid = int(_read_until(proc, sel, "pid ", lines).split()[1])
            if trial % 4:  # most kills land after two keyframes were committed, however loaded the machine
                for _ in range(2):
                    lines.append(_read_until(proc, sel, "kf ", lines))
            time.sleep(rnd.uniform(0.0, 0.04) if trial % 4 == 0 else rnd.uniform(0.04, 0.4))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            end = _read_until(proc, sel, f"exit {pid} ", lines)
            killed += end.split()[2] == str(int(signal.SIGKILL))
            recs = [int(x.split()[1]) for x in lines if x.startswith("rec ")]
            kfs = [float(x.split()[1]) for x in lines if x.startswith("kf ")]
            total_kf += len(kfs)
            if not path.exists():  # killed while creating: an atomic create leaves nothing, never half a file
                assert not recs and not kfs, (trial, lines)
                continue
            check_file(path, full=True)  # opens read-only, integrity_check, markers and tables
            with Project.open(path, read_only=True) as p:
                if recs:
                    reader = p.recording(recs[0])
                    stored = {k.t_s: k for k in reader.keyframes()}
                    assert set(kfs) <= set(stored), (trial, sorted(set(kfs) - set(stored)))
                    for t in kfs[-2:]:  # the last commits before the kill, checked bit-exact
                        arrays = reader.load_keyframe(stored[t])
                        for name, a in state_at(t).items():
                            assert arrays[name].tobytes() == a.tobytes() and arrays[name].dtype == a.dtype
                    reader.series("hall")
                    reader.series("rack_inlet_c")
                    reader.events()
            Project.open(path).close()  # and it can be opened for writing again (WAL recovered)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert killed >= KILLS // 2, "most trials must end by SIGKILL, not by finishing"
    assert total_kf > KILLS, "the kills must land after keyframes were committed"
