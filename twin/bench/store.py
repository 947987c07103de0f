"""Benchmarks of project files (figures for ``dctwin bench --store``; never asserted in tests).

:func:`bench_store` records real runs of the engine the way ``dctwin simulate --out`` does
(``record_run`` with its defaults: the writer thread, keyframes spaced for a 0.5 s seek) and
reports what the issue asks of recordings:

- ``small``: ``hours`` of the 20-rack ``small`` demo at default settings: file size, keyframes,
  bytes per keyframe, and the size of 24 h extrapolated from the growth over the second half of
  the run (a quiet hall grows at a steady rate once the first, full keyframe is written);
- ``ai_hall``: ``ai_hours`` of the 208-rack ``ai-hall`` demo: file size (extrapolated to 1 h
  the same way when fewer hours are recorded);
- ``export``: a review export of a 30-minute incident window of ``small`` (utility loss, the
  generator starts; ``--from`` one minute before the loss): its size and the time to write it;
- ``seek``: median / 90th percentile / largest time (wall, and CPU) to rebuild the state at a random second
  (load the keyframe before it, restore, re-simulate, with one :class:`Replayer` as the GUI
  keeps), on ``small`` and on a synthetic hall of ``big_racks`` racks (flow frozen);
- ``overhead``: recording's share of the simulation time, wall and CPU (the same steps with and
  without ``record_run``);
- ``trend``: time to load the whole recording's hall metric and one rack's inlet trend.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Optional

Log = Optional[Callable[[str], None]]


def _say(log: Log, message: str) -> None:
    if log is not None:
        log(message)


def _record(path: Path, site: Any, seconds: float, incident: Any = None, sizes_at: tuple = (),
            **kwargs: Any) -> dict[str, Any]:
    """Run ``site`` for ``seconds`` from its steady state, recorded into ``path``; file sizes at the
    fractions ``sizes_at`` of the run (after a checkpoint, so they are what is on disk)."""
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.store.recorder import record_run

    sim = Simulation(site, None, dt_s=1.0)
    sim.solve_steady()
    if incident is not None:
        incident.schedule_on(sim)
    rr = record_run(path, site, sim, incident=incident, duration_s=seconds, **kwargs)
    marks = sorted(int(f * seconds) for f in sizes_at)
    sizes: dict[int, int] = {}
    t0 = time.perf_counter()
    done = 0
    for mark in marks + [int(seconds)]:
        if mark > done:
            sim.run(mark - done, 1.0, on_step=rr.on_step)
            done = mark
        if mark in marks:
            rr.recorder.drain()
            rr.project.checkpoint()  # the writer is idle: what is on disk is what a reader would get
            sizes[mark] = path.stat().st_size
    wall = time.perf_counter() - t0
    rr.close(sim)
    return {"wall_s": wall, "sizes": sizes, "keyframes": rr.summary()["keyframes"], "bytes": path.stat().st_size}


def _per_day(sizes: dict[int, int], final: int, seconds: float, target_s: float) -> float:
    """Bytes of a recording of ``target_s`` from the growth between the middle and the end of this one."""
    if not sizes:
        return float(final)
    mid = min(sizes)
    rate = (final - sizes[mid]) / max(seconds - mid, 1.0)
    return final + rate * (target_s - seconds)


def _seeks(path: Path, n: int, rng: random.Random) -> dict[str, float]:
    from dctwin.twin.store import Project, Replayer

    with Project.open(path, read_only=True) as project:
        reader = project.recording()
        t0 = time.perf_counter()
        replayer = Replayer(reader)
        build = time.perf_counter() - t0
        first = reader.keyframes()[0].t_s
        times, cpu = [], []
        for t in [rng.uniform(first, reader.duration_s) for _ in range(n)]:
            a, c = time.perf_counter(), time.process_time()
            replayer.seek(round(t))
            times.append(time.perf_counter() - a)
            cpu.append(time.process_time() - c)
        gaps = [b.t_s - a.t_s for a, b in zip(reader.keyframes(), reader.keyframes()[1:])]
    times.sort()
    cpu.sort()
    return {"median_ms": 1e3 * statistics.median(times), "p90_ms": 1e3 * times[int(0.9 * (len(times) - 1))],
            "max_ms": 1e3 * times[-1], "replayer_build_s": build, "seeks": n,
            "largest_gap_s": max(gaps, default=0.0), "keyframes": len(gaps) + 1,
            # CPU time of the same seeks: what they take on a machine not busy with other work
            "median_cpu_ms": 1e3 * statistics.median(cpu), "max_cpu_ms": 1e3 * cpu[-1]}


def _overhead(site: Any, folder: Path, steps: int) -> dict[str, float]:
    """Wall time of ``steps`` steps with and without ``record_run`` (after the same warm-up)."""
    from dctwin.twin.sim.engine import Simulation
    from dctwin.twin.store.recorder import record_run

    walls, cpus = {}, {}
    for recorded in (False, True):
        sim = Simulation(site, None, dt_s=1.0)
        sim.solve_steady()
        sim.run(20, 1.0)
        rr = record_run(folder / "overhead.dctwin", site, sim) if recorded else None
        t0, c0 = time.perf_counter(), time.process_time()
        sim.run(steps, 1.0, on_step=rr.on_step if rr is not None else None)
        if rr is not None:
            rr.close(sim)
        walls[recorded] = time.perf_counter() - t0
        cpus[recorded] = time.process_time() - c0  # all threads: the writer's compression included
        (folder / "overhead.dctwin").unlink(missing_ok=True)
    return {"plain_s": walls[False], "recorded_s": walls[True],
            "overhead_pct": 100.0 * (walls[True] - walls[False]) / walls[False],
            "plain_cpu_s": cpus[False], "recorded_cpu_s": cpus[True],
            "overhead_cpu_pct": 100.0 * (cpus[True] - cpus[False]) / cpus[False]}


def bench_store(folder: str | os.PathLike, hours: float = 2.0, ai_hours: float = 1.0, big_racks: int = 1000,
                big_minutes: float = 30.0, seeks: int = 30, log: Log = None) -> dict[str, Any]:
    """The figures of the module docstring, measured in ``folder`` (files are left there)."""
    from dctwin.twin.model.demos import load_demo, synthetic_site
    from dctwin.twin.model.incidents import load_library_incident
    from dctwin.twin.store import Project
    from dctwin.twin.store.export import export_review

    folder = Path(folder)
    rng = random.Random(1)
    small = load_demo("small")
    out: dict[str, Any] = {}

    _say(log, f"recording {hours:g} h of small ...")
    path = folder / "small.dctwin"
    rec = _record(path, small, hours * 3600, sizes_at=(0.5,))
    with Project.open(path, read_only=True) as p:
        kfs = p.recording().keyframes()
    day = _per_day(rec["sizes"], rec["bytes"], hours * 3600, 86400.0)
    out["small"] = {"hours": hours, "mb": rec["bytes"] / 1e6, "keyframes": len(kfs),
                    "mb_per_keyframe": (rec["bytes"] - min(rec["sizes"].values(), default=0)) / 1e6
                    / max(1, sum(1 for k in kfs if k.t_s > hours * 1800)),
                    "mb_24h": day / 1e6, "record_wall_s": rec["wall_s"]}
    _say(log, f"  {out['small']}")

    _say(log, "seeking in small ...")
    out["seek_small"] = _seeks(path, seeks, rng)
    _say(log, f"  {out['seek_small']}")
    with Project.open(path, read_only=True) as p:
        reader = p.recording()
        a = time.perf_counter()
        t, _ = reader.metric_trend(reader.metric_names[0])
        hall_ms = (time.perf_counter() - a) * 1e3
        a = time.perf_counter()
        tr, _ = reader.rack_trend("rack_inlet_c", reader.rack_ids[0])
        out["trend"] = {"hall_metric_ms": hall_ms, "hall_samples": len(t),
                        "rack_ms": (time.perf_counter() - a) * 1e3, "rack_samples": len(tr)}

    _say(log, "recording the utility-loss incident on small and exporting 30 minutes of it ...")
    inc_path = folder / "incident.dctwin"
    incident = load_library_incident("utility-loss-generator-start", small)
    _record(inc_path, small, 2400.0, incident=incident)
    first = min(e.t_s for e in incident.events)
    t0 = max(0.0, first - 60.0)
    review = folder / "incident-review.dctwin"
    a, c = time.perf_counter(), time.process_time()
    res = export_review(inc_path, review, from_s=t0, to_s=t0 + 1800.0)
    out["export"] = {"window_s": res["to_s"] - res["from_s"], "mb": res["bytes"] / 1e6,
                     "write_s": time.perf_counter() - a, "write_cpu_s": time.process_time() - c,
                     "keyframes": res["keyframes"],
                     "recording_mb": inc_path.stat().st_size / 1e6}
    _say(log, f"  {out['export']}")

    _say(log, f"recording {ai_hours:g} h of ai-hall ...")
    ai_path = folder / "ai-hall.dctwin"
    rec = _record(ai_path, load_demo("ai-hall"), ai_hours * 3600, sizes_at=(0.5,))
    out["ai_hall"] = {"hours": ai_hours, "mb": rec["bytes"] / 1e6, "keyframes": rec["keyframes"],
                      "mb_1h": _per_day(rec["sizes"], rec["bytes"], ai_hours * 3600, 3600.0) / 1e6,
                      "record_wall_s": rec["wall_s"]}
    _say(log, f"  {out['ai_hall']}")

    _say(log, f"recording {big_minutes:g} min of a {big_racks}-rack hall and seeking in it ...")
    big_path = folder / "big.dctwin"
    rec = _record(big_path, synthetic_site(big_racks), big_minutes * 60)
    out["seek_big"] = dict(_seeks(big_path, seeks, rng), racks=big_racks, mb=rec["bytes"] / 1e6)
    _say(log, f"  {out['seek_big']}")

    _say(log, "recording overhead on small ...")
    out["overhead"] = _overhead(small, folder, 1800)
    _say(log, f"  {out['overhead']}")
    # wall times depend on what else the machine runs (the *_cpu figures much less); sizes do not: the keyframe
    # spacing comes from a cost model of the replay, not from the clock
    out["load_avg"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    out["cpus"] = os.cpu_count()
    return out


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    args = dict(a.split("=") for a in sys.argv[1:])
    with tempfile.TemporaryDirectory(dir=args.pop("dir", None)) as tmp:
        res = bench_store(tmp, hours=float(args.get("hours", 2)), ai_hours=float(args.get("ai_hours", 1)),
                          log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(res, indent=1))
