"""A short real recording for the replay, report and incident-editor tests.

The small demo hall at a coarse grid (0.6 m), CRAH-1 failing at 10 s, 120 s
at 1 s steps, keyframes every 30 s, with the engine's alarms (twin.alarms).
"""

from __future__ import annotations

from pathlib import Path

from dctwin.twin.model import demos
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.model.incidents import incident_from_dict
from dctwin.twin.store import Project, record_run

FAIL_AT_S = 10.0
DURATION_S = 120.0


def crah_incident(site):
    return incident_from_dict({"format": "dctwin-incident", "version": 1, "name": "CRAH-1 trips",
                               "description": "CRAH-1 fails beside the cold aisle",
                               "events": [{"t_s": FAIL_AT_S, "kind": "fail", "target": "CRAH-1"}]}, site)


def make_recording(path: Path) -> Path:
    site = demos.load_demo("small")
    inc = crah_incident(site)
    sim = Simulation(site, grid_m=0.6)
    sim.solve_steady()
    inc.schedule_on(sim)
    rr = record_run(path, site, sim, incident=inc, keyframe_every_s=30.0, grid_m=0.6, duration_s=DURATION_S)
    sim.run(DURATION_S, on_step=rr.on_step)  # the recorder stores the engine's events and alarms itself
    rr.close(sim)
    with Project.open(path, read_only=True) as p:
        assert p.recording().alarms(), "the test recording must hold alarms"
    return path
