"""Benchmarks of the project file (figures for ``dctwin bench``; not timed tests).

``bench_store(folder)`` records a synthetic run of a hall with ``racks`` racks
(state arrays shaped like the engine's, see :func:`synthetic_state`) and
reports:

- ``keyframe_ms``: median time of a recorder step that writes a keyframe
  (encode + one transaction with the buffered series and events);
- ``step_us``: mean recorder cost of an ordinary 1 s step (metrics sample);
- ``record_s``: wall time to record ``hours`` of run at 1 s steps (series for
  every second and every 10 s, keyframes every ``keyframe_every_s``);
- ``seek_ms``: median time to find the keyframe before a random T and load
  its arrays (re-simulating from there to T is the engine's part);
- ``hall_trend_ms`` / ``rack_trend_ms``: read a whole hall metric / one rack's
  inlet over the full run; ``file_mb``.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from dctwin.twin.store.project import Project
from dctwin.twin.store.recorder import Recorder


def synthetic_state(racks: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """State arrays shaped like the engine's for a hall of ``racks`` racks (~5.7 MB at 1,000 racks).

    As in the engine, the flow field (``flow_*``, ~4.4 MB) is frozen between
    re-marches; the temperature field and the rack arrays change every step.
    """
    cells = 73_000  # the engine's default grid for a 1,000-rack synthetic hall (76 x 80 x 12)
    state = {"flow_u": rng.standard_normal((3, cells)), "flow_flux": rng.standard_normal((3, cells)),
             "flow_phi": rng.standard_normal(cells), "flow_nu_t": rng.random(cells),
             "air_T": 20.0 + rng.random(cells)}
    for name in ("inlet_c", "exhaust_c", "power_w", "airflow_m3s", "fan", "cpu_c", "mass_c", "util"):
        state[f"rack_{name}"] = rng.random(racks)
    state["rack_state"] = np.zeros(racks, np.int8)
    state["t_s"] = np.zeros(())
    return state


def bench_store(folder: str | os.PathLike, racks: int = 1000, hours: float = 24.0,
                keyframe_every_s: float = 60.0, seeks: int = 50, background: bool = False) -> dict[str, Any]:
    folder = Path(folder)
    path = folder / "bench.dctwin"
    if path.exists():
        path.unlink()
    rng = np.random.default_rng(1)
    state = synthetic_state(racks, rng)
    kf_bytes = sum(a.nbytes for a in state.values())
    from dctwin.twin.model.demos import synthetic_site

    kf_ms, step_us = [], []
    with Project.create(path) as project:
        lid = project.save_layout(synthetic_site(min(racks, 2000)))
        rec = Recorder(project, lid, 1.0, keyframe_every_s=keyframe_every_s,
                       rack_ids=[f"R{i}" for i in range(racks)], background=background)
        inlet = state["rack_inlet_c"]
        power = state["rack_power_w"]
        t0 = time.perf_counter()
        air = state["air_T"]
        for k in range(int(hours * 3600) + 1):
            state["t_s"][...] = k
            inlet += 1e-4
            air += 1e-6
            if k % 3600 == 1800:  # a re-march of the flow about once an hour
                state["flow_u"] = state["flow_u"] * 1.001
            a = time.perf_counter()
            wrote = rec.on_step(float(k), state=state, rack_inlet_c=inlet, rack_power_w=power)
            dt = time.perf_counter() - a
            (kf_ms.append(dt * 1e3) if wrote is not None else step_us.append(dt * 1e6))
        rec.close()
        record_s = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    with Project.open(path, read_only=True) as project:
        reader = project.recording()
        seek_ms = []
        for t in rng.uniform(0, hours * 3600, seeks):
            a = time.perf_counter()
            kf, arrays = reader.seek(float(t))
            seek_ms.append((time.perf_counter() - a) * 1e3)
            assert arrays["t_s"] == kf.t_s
        a = time.perf_counter()
        t_h, m = reader.hall_metrics()
        hall_ms = (time.perf_counter() - a) * 1e3
        a = time.perf_counter()
        t_r, v = reader.rack_trend("rack_inlet_c", "R7")
        rack_ms = (time.perf_counter() - a) * 1e3
    return {"racks": racks, "hours": hours, "background": background, "keyframe_mb": kf_bytes / 1e6, "keyframes": len(kf_ms),
            "keyframe_ms": statistics.median(kf_ms), "keyframe_ms_max": max(kf_ms),
            "step_us": statistics.mean(step_us), "record_s": record_s, "seek_ms": statistics.median(seek_ms),
            "seek_ms_max": max(seek_ms), "hall_trend_ms": hall_ms, "hall_samples": len(t_h),
            "rack_trend_ms": rack_ms, "rack_samples": len(t_r), "file_mb": size_mb}


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    args = dict(a.split("=") for a in sys.argv[1:])
    with tempfile.TemporaryDirectory(dir=args.pop("dir", None)) as tmp:
        res = bench_store(tmp, racks=int(args.get("racks", 1000)), hours=float(args.get("hours", 24)),
                          keyframe_every_s=float(args.get("keyframe_every_s", 60)),
                          background=args.get("background", "0") == "1")
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}, indent=1))
