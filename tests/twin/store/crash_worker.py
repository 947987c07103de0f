"""Helper process for the kill -9 test (run as a script, not collected by pytest).

It imports everything once, then for each line ``<path> <new|append>
<sync|background>`` on stdin forks a child that writes a recording into
``<path>`` (on the engine thread or through the recorder's writer thread) and
reports on stdout, with an unbuffered ``os.write`` right after each commit:
``rec <id>`` once the recording exists, ``kf <t>`` after each keyframe.
The worker prints ``pid <pid>`` when the child starts and ``exit <pid>
<signal>`` when it has ended (the test kills it with SIGKILL meanwhile).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from dctwin.twin.model.demos import synthetic_site
from dctwin.twin.store import Project, Recorder

N_AIR = 50_000
N_RACKS = 200


def state_at(t_s: float) -> dict[str, np.ndarray]:
    """The (deterministic) state the child records at t_s; the test recomputes it to check keyframes."""
    return {"air_c": np.arange(N_AIR, dtype=np.float64) * 1e-3 + t_s,
            "flow_u": np.sin(np.arange(N_AIR, dtype=np.float64)) + (t_s // 5.0),  # changes every 5 s only
            "rack_state": (np.arange(N_RACKS) + int(t_s * 2)).astype(np.int32) % 3,
            "t_s": np.asarray(t_s)}


def record(path: str, mode: str, steps: int = 100_000, background: bool = False) -> None:
    site = synthetic_site(4)
    project = Project.create(path) if mode == "new" else Project.open(path)
    lid = project.save_layout(site, "crash test")
    def committed(t_s):  # called once the transaction holding the keyframe has committed
        if t_s is not None:
            os.write(1, f"kf {t_s!r}\n".encode())

    rec = Recorder(project, lid, 0.5, keyframe_every_s=2.0, metrics_every_s=1.0, rack_series_every_s=1.0,
                   rack_ids=[f"R{i}" for i in range(N_RACKS)], background=background, on_commit=committed)
    os.write(1, f"rec {rec.recording_id}\n".encode())
    rng = np.random.default_rng(0)
    for k in range(steps):
        t = 0.5 * k
        if k % 7 == 3:
            rec.add_events([{"seq": k, "t_s": t, "kind": "set_utilization", "target": "R1",
                             "details": {"value": float(rng.random())}}])
        s = state_at(t)
        inlet = 20.0 + s["air_c"][:N_RACKS]
        rec.on_step(t, state=s, rack_inlet_c=inlet, rack_power_w=inlet * 100.0)
    rec.close()
    project.close()


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # warm up (imports, SQLAlchemy caches) before forking
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(1)
        os.dup2(devnull, 1)
        try:
            record(os.path.join(tmp, "warm.dctwin"), "new", steps=10)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    for line in sys.stdin:
        path, mode, writer = line.split()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                record(path, mode, background=writer == "background")
            finally:
                os._exit(0)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {pid} {os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0}", flush=True)


if __name__ == "__main__":
    main()
