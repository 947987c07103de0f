"""What a transient run accumulates step by step for its summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dctwin.twin.model.events import EventLog
from dctwin.twin.physics.it import MODE_ON, server_intake_c

if TYPE_CHECKING:
    from dctwin.twin.sim.facility import Facility
    from dctwin.twin.sim.hall import HallState, HallSystem


@dataclass
class RunStats:
    """What a transient run accumulates for its summary."""

    max_inlet_c: float = -math.inf
    over_allowable: dict = field(default_factory=dict)  # rack id -> first time over (s)
    racks_down: dict = field(default_factory=dict)  # rack id -> first time down (s)
    energy: list = field(default_factory=lambda: [0.0, 0.0])  # IT, facility (J) without a power graph
    flow_solves: int = 0
    flow_adjusts: int = 0  # small airflow changes followed without a march (flow_adjust)
    steps: int = 0
    adaptive: bool = False  # an adaptive run (:mod:`~dctwin.twin.sim.adaptive`)
    rejected: int = 0  # long steps an adaptive run undid and redid shorter
    largest_dt_s: float = 0.0  # the longest step taken (s)

    def flow_changes(self) -> int:
        """Flow marches and carry-overs so far."""
        return self.flow_solves + self.flow_adjusts

    def track(self, hs: "HallSystem", st: "HallState", fac: "Facility", log: EventLog, seq0: int, dt: float) -> None:
        """Add the step that just ended at ``st.t_s`` (its events after ``seq0``)."""
        self.steps += 1
        self.largest_dt_s = max(self.largest_dt_s, dt)
        for ev in log.since(seq0):
            if ev.kind in ("rack_down", "shutdown") and ev.target in hs.rack_index:
                self.racks_down.setdefault(ev.target, ev.t_s)
        if fac.power is None and st.last_unit is not None:
            it = float(st.last_rack.power_w.sum())
            self.energy[0] += dt * it
            self.energy[1] += dt * (it + float(st.last_unit.fan_w.sum()) + fac.plant_power_w())
        if hs.ra.n:
            self.max_inlet_c = max(self.max_inlet_c, float(st.rack_inlet_c.max()))
            # over its allowable: what its servers breathe (warmer than the room air at its front when it has
            # open units without blanking panels)
            intake = server_intake_c(hs.ra, st.rack_inlet_c, st.rack_state)
            over = np.nonzero((intake > hs.ra.warn_c) & (st.rack_state.mode == MODE_ON))[0]
            for i in over:
                self.over_allowable.setdefault(hs.rack_ids[i], st.t_s)
