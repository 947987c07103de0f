"""Run a contingency sweep into a project file: what ``dctwin sweep`` and the GUI's
Simulation > Contingency Sweep... both do.

:class:`SweepJob` counts the scenarios (:mod:`dctwin.twin.sim.contingency`), solves the steady
state once and keyframes it at the failure time, finds an earlier run of the same sweep in the
file to resume (:mod:`dctwin.twin.store.sweeps`), runs the rest on dask
(:mod:`dctwin.twin.sim.sweep`) writing each batch of outcomes as it arrives, then checks design
hints for the most severe scenarios (:mod:`dctwin.twin.sim.hints`, on the same cluster) and
records the top scenarios' runs (from the steady state, the failure at 60 s) so they can be
replayed on the floor plan. Without ``out`` the sweep runs in a temporary file that is removed
afterwards.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import Site
from dctwin.twin.sim.contingency import (
    BASELINE, FAIL_AT_S, Scenario, ScenarioSet, SweepSettings, prepare_base, scenario_set, single_failures,
)
from dctwin.twin.sim.sweep import Cluster, Progress, SweepCancelled, distribute, open_cluster
from dctwin.twin.store import sweeps as store
from dctwin.twin.store.project import KIND_REVIEW, Project, check_file

#: scenarios recorded for replay, and given design hints, by default
DEFAULT_RECORD = 3
DEFAULT_HINTS = 3


@dataclass
class JobReport:
    """What one run of a sweep did, beside the sweep's stored results."""

    n_scenarios: int
    n_run: int
    n_resumed: int
    workers: int
    wall_s: float
    prepare_s: float = 0.0
    distribute_s: float = 0.0
    hints_s: float = 0.0
    record_s: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    file: Optional[str] = None
    #: wall and CPU seconds the scenarios run now took on their workers (sums)
    scenario_wall_s: float = 0.0
    scenario_cpu_s: float = 0.0

    @property
    def scenarios_per_s(self) -> Optional[float]:
        return self.n_run / self.distribute_s if self.n_run and self.distribute_s > 0 else None


def check_out(out: str | os.PathLike, inputs: tuple = ()) -> Path:
    """``out`` must be a new file in an existing folder or a writable dctwin project (not an input)."""
    p = Path(out)
    if any(Path(x).exists() and p.exists() and p.resolve() == Path(x).resolve() for x in inputs):
        raise InputError(f"--out {p}: is an input of this sweep; write into a project file (.dctwin)")
    if p.is_dir():
        raise InputError(f"--out {p}: is a folder; give a project file name (.dctwin)")
    if p.exists():
        if check_file(p).kind == KIND_REVIEW:
            raise InputError(f"--out {p}: is a review export (read-only); write the sweep into a project file")
        from dctwin.twin.store.export import check_file_contents

        check_file_contents(p)  # a damaged project is refused before the work
    elif not p.resolve().parent.is_dir():
        raise InputError(f"--out {p}: folder {p.resolve().parent} does not exist")
    return p


class SweepJob:
    """One sweep of ``site`` with ``settings`` into ``out`` (see the module docstring).

    Call :meth:`plan` (cheap: the scenario set, to say how many there are), then :meth:`run`.
    ``say(text)`` gets the phases in words, ``progress(p)`` each batch's progress, ``cancel()`` is
    polled between batches.
    """

    def __init__(self, site: Site, settings: SweepSettings, out: Optional[str | os.PathLike] = None, *,
                 base_dir: Optional[str] = None, workers: Optional[int] = None, scheduler: Optional[str] = None,
                 record: int = DEFAULT_RECORD, hints: int = DEFAULT_HINTS, resume: bool = True,
                 say: Optional[Callable[[str], None]] = None,
                 progress: Optional[Callable[[Progress], None]] = None,
                 cancel: Optional[Callable[[], bool]] = None) -> None:
        settings.check()
        if not 0 <= record <= 1000:
            raise InputError(f"--record must be from 0 to 1000, got {record}")
        if not 0 <= hints <= 1000:
            raise InputError(f"--hints must be from 0 to 1000, got {hints}")
        self.site, self.settings = site, settings
        self.out = Path(out) if out is not None else None
        self.base_dir, self.workers, self.scheduler = base_dir, workers, scheduler
        self.record, self.hints, self.resume = record, hints, resume
        self.say = say or (lambda _t: None)
        self.progress, self.cancel = progress, cancel
        self.sset: Optional[ScenarioSet] = None
        self.sweep_id: Optional[int] = None
        self.path: Optional[Path] = None

    def plan(self) -> ScenarioSet:
        """The scenario set (and the pairs pruned), without running anything."""
        if self.sset is None:
            s = self.settings
            if s.hall_id is not None and s.hall_id not in [h.id for h in self.site.halls]:
                raise InputError(f"--hall {s.hall_id!r}: no such hall "
                                 f"(halls: {', '.join(h.id for h in self.site.halls)})")
            failures = single_failures(self.site, s.hall_id, s.kinds, s.elements)
            if not failures:
                raise InputError("the sweep has nothing to fail: the layout has no element of kinds "
                                 f"{','.join(s.kinds)}")
            if s.n == 2 and len(failures) < 2:
                raise InputError(f"--n 2 needs at least two elements to fail; there is {len(failures)}")
            self.sset = scenario_set(self.site, failures, s.n, s.exhaustive, s.hall_id)
        return self.sset

    def run(self) -> tuple[store.SweepResult, JobReport]:
        t0 = time.perf_counter()
        sset = self.plan()
        temp = None
        if self.out is None:
            temp = tempfile.TemporaryDirectory(prefix="dctwin-sweep-")
            self.path = Path(temp.name) / "sweep.dctwin"
        else:
            self.path = self.out
        try:
            return self._run(sset, t0)
        finally:
            if temp is not None:
                temp.cleanup()

    def _run(self, sset: ScenarioSet, t0: float) -> tuple[store.SweepResult, JobReport]:
        from dctwin.twin.sim.engine import ENGINE_VERSION

        self.say("solving the steady state and running it to the failure time")
        base, sim, k0 = prepare_base(self.site, self.settings, self.base_dir)
        path = self.path
        project = Project.open(path) if path.exists() else Project.create(path)
        try:
            sid, done = store.start_sweep(project, self.site, self.settings, base.token, sset.n_total, sset.pruned,
                                          ENGINE_VERSION, self.resume)
            self.sweep_id = sid
            store.update_sweep(project, sid, base={"steady_max_inlet_c": base.steady_max_inlet_c,
                                                   "prepare_s": base.prepare_s})
            stored = store.load_sweep(project, sid)
            todo: list[Scenario] = [s for s in sset.scenarios if s.key not in done]
            if stored.baseline is None:
                todo = [BASELINE] + todo
            report = JobReport(sset.n_total, len([s for s in todo if s.n]), len(done), 0, 0.0,
                               prepare_s=base.prepare_s, file=str(self.out) if self.out is not None else None)
            errors: list[dict[str, Any]] = []

            def arrived(outcomes: list[dict[str, Any]]) -> None:
                for o in outcomes:
                    report.scenario_wall_s += float(o.get("wall_s", 0.0))
                    report.scenario_cpu_s += float(o.get("cpu_s", 0.0))
                    if "error" in o:
                        errors.append(o)
                    elif o["key"] == BASELINE.key:
                        store.update_sweep(project, sid, baseline=o)
                store.add_outcomes(project, sid, [o for o in outcomes if o.get("key") != BASELINE.key])

            cluster: Optional[Cluster] = None
            try:
                if todo or self.hints:
                    self.say("starting the dask cluster" if not self.scheduler else
                             f"connecting to the dask scheduler {self.scheduler}")
                    cluster = open_cluster(self.workers, self.scheduler)
                    report.workers = cluster.workers
                t1 = time.perf_counter()
                if todo:
                    extra = " and the baseline (no failure)" if todo[0] is BASELINE else ""
                    self.say(f"running {report.n_run} scenario(s){extra} on {report.workers} worker(s)")
                    try:
                        distribute(cluster, base, todo, arrived, self.progress, self.cancel)
                    except SweepCancelled:
                        store.add_wall(project, sid, time.perf_counter() - t0, report.workers, False)
                        raise
                report.distribute_s = time.perf_counter() - t1
                report.errors = errors
                store.add_wall(project, sid, time.perf_counter() - t0, report.workers, not errors)
                if self.hints and cluster is not None:
                    t2 = time.perf_counter()
                    self._hints(project, sid, base, sim, cluster)
                    report.hints_s = time.perf_counter() - t2
            finally:
                if cluster is not None:
                    cluster.close()
        finally:
            project.close()
        if self.record:
            t3 = time.perf_counter()
            self._record(sid, sim, k0)
            report.record_s = time.perf_counter() - t3
        with Project.open(path, read_only=True) as project:
            result = store.load_sweep(project, sid)
        report.wall_s = time.perf_counter() - t0
        return result, report

    # ------------------------------------------------------------------ hints
    def _hints(self, project: Project, sid: int, base, sim, cluster: Cluster) -> None:
        from dctwin.twin.sim import hints as H

        result = store.load_sweep(project, sid)
        severe = [o for o in result.scenarios if o["racks_down"] > 0 and "hints" not in o][:self.hints]
        if not severe:
            return
        sim.restore(base.keyframe)
        node_w, cons_w = H.loads_before(sim)
        by_key = {s.key: s for s in (self.sset.scenarios if self.sset else [])}
        groups: dict[tuple, list[tuple[dict, Scenario]]] = {}  # scenarios with the same change share a steady state
        for o in severe:
            changes = H.feed_change(self.site, o, node_w, cons_w)
            sc = by_key.get(o["key"])
            if not changes or sc is None:
                store.update_outcome(project, sid, o["key"], hints=[])
                continue
            groups.setdefault(tuple(changes), []).append((o, sc))
        if not groups:
            return
        self.say(f"checking design hints for {sum(len(g) for g in groups.values())} scenario(s) on "
                 f"{len(groups)} changed layout(s)")
        futures = [(changes, members, cluster.client.submit(
            H.verify_change, base.layout_text, base.base_dir, self.settings, [sc for _, sc in members],
            list(changes), pure=False)) for changes, members in groups.items()]
        for changes, members, fut in futures:
            for (o, _), after in zip(members, fut.result()):
                store.update_outcome(project, sid, o["key"], hints=[H.hint(list(changes), o, after)])

    # ------------------------------------------------------------------ recordings
    def _record(self, sid: int, sim, k0) -> None:
        with Project.open(self.path, read_only=True) as project:
            result = store.load_sweep(project, sid)
        top = [o for o in result.scenarios if o["severity_level"] != "none" and o.get("recording_id") is None]
        top = top[:self.record]
        by_key = {s.key: s for s in (self.sset.scenarios if self.sset else [])}
        for o in reversed(top):  # the most severe is recorded last: the file's latest recording
            sc = by_key.get(o["key"])
            if sc is not None:
                self._record_one(sid, sim, k0, o, sc)

    def _record_one(self, sid: int, sim, k0, o: dict[str, Any], sc: Scenario) -> int:
        """Run scenario ``sc`` again from the steady state ``k0`` with a recorder; returns the recording id."""
        from dctwin.twin.model.incidents import Incident, IncidentEvent
        from dctwin.twin.store.recorder import record_run

        self.say(f"recording '{o['label']}' for replay")
        end = float(o["ended_s"])
        dt = self.settings.dt_s
        sim.restore(k0)
        incident = Incident(name=f"sweep {sid}: {o['label']}",
                            description=f"contingency sweep {sid}, scenario {o['key']} "
                                        f"(severity {o['severity']}, {o['severity_level']})",
                            events=[IncidentEvent(FAIL_AT_S, k, t) for k, t in sc.events], duration_s=end)
        rr = record_run(self.path, self.site, sim, incident=incident, dt_s=dt, duration_s=end,
                        grid_m=self.settings.grid_m, note=f"sweep {sid}: {o['key']}")
        try:
            sim.run(FAIL_AT_S, dt, on_step=rr.on_step)
            for k, t in sc.events:
                sim.inject(k, t)
            while sim.t_s < end - 1e-9:
                sim.step(min(dt, end - sim.t_s))
                rr.on_step(sim)
        except BaseException:
            rr.abort()
            raise
        rr.close(sim)
        with Project.open(self.path) as project:
            store.update_outcome(project, sid, o["key"], recording_id=rr.recording_id)
        return rr.recording_id


def record_scenario(path: str | os.PathLike, sweep_id: Optional[int], key: str,
                    say: Optional[Callable[[str], None]] = None) -> int:
    """Record the run of one scenario of a stored sweep (for replay of a scenario that was not
    among the recorded top ones); returns the recording id."""
    from dctwin.twin.model.layoutfile import loads_layout

    with Project.open(path, read_only=True) as project:
        result = store.load_sweep(project, sweep_id)
        o = result.by_key().get(key)
        if o is None:
            raise InputError(f"{path}: sweep {result.id} has no scenario {key!r}")
        if o.get("recording_id") is not None:
            return int(o["recording_id"])
        site = loads_layout(project.layout_text(result.layout_id), f"{path} layout version {result.layout_id}")
    job = SweepJob(site, result.settings, path, record=1, hints=0, say=say)
    sset = job.plan()
    sc = next((s for s in sset.scenarios if s.key == key), None)
    if sc is None:
        raise InputError(f"{path}: scenario {key!r} is not one this sweep runs (a pruned pair?)")
    job.path = Path(path)
    _, sim, k0 = prepare_base(site, result.settings)
    return job._record_one(result.id, sim, k0, o, sc)
