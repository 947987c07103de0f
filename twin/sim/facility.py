"""The site's power chain and chilled-water plant, as one hall sees them.

:class:`Facility` holds the :class:`~dctwin.twin.physics.power.PowerSystem` and the
:class:`~dctwin.twin.physics.plant.CoolingPlant` (either may be absent) and couples them to the
hall: which racks have power, which units run (fed, and their CDU's pump running), the
chilled-water supply the coils see, the load each consumer draws, the heat into the loop.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.layout import Site
from dctwin.twin.physics.cooling_air import UnitStep
from dctwin.twin.physics.it import RackStep
from dctwin.twin.physics.plant import CoolingPlant
from dctwin.twin.physics.power import POWER_EVENT_KINDS, PowerSystem
from dctwin.twin.sim.hall import HallSystem
from dctwin.twin.sim.keyframes import prefixed, unprefixed
from dctwin.twin.sim.metrics import RunMetrics

#: injected kinds the plant takes (the power chain takes POWER_EVENT_KINDS)
PLANT_EVENT_KINDS = ("fail", "repair", "cdu_pump_fail", "set_outdoor_c")


class Facility:
    """Power chain and chilled-water plant of the site of ``hs`` (see the module docstring)."""

    def __init__(self, site: Site, hs: HallSystem, log: EventLog, base_dir: Optional[str] = None) -> None:
        self.log = log
        self.power: Optional[PowerSystem] = PowerSystem(site, log=log, manage_racks=False) if site.power_nodes else None
        self.cplant: Optional[CoolingPlant] = (CoolingPlant(site, log=log, base_dir=base_dir)
                                               if (site.chillers or site.pumps) else None)
        self.metrics = RunMetrics(self.power) if self.power is not None else None
        self.load_w = np.zeros(self.power.plant.n_consumers) if self.power is not None else np.zeros(0)
        if self.power is not None:
            pp = self.power.plant
            self.rack_cons = np.array([pp.consumer_index[r] for r in hs.rack_ids], dtype=np.int64)
            self.unit_cons = np.array([pp.consumer_index[u] for u in hs.unit_ids], dtype=np.int64)
            # consumers outside this hall draw their design power
            self.base_load = np.zeros(pp.n_consumers)
            for h in site.halls:
                if h.id != hs.hall.id:
                    for r in h.racks:
                        self.base_load[pp.consumer_index[r.id]] = r.it_kw * 1e3
        if self.cplant is not None:
            ix = {c: i for i, c in enumerate(self.cplant.arrays.cdu_ids)}
            #: each unit's CDU in the plant (-1: not a plant CDU)
            self.unit_plant_cdu = np.array([ix.get(u, -1) for u in hs.unit_ids], dtype=np.int64)
            if self.power is not None and len(self.cplant.arrays.cdu_ids):
                self.cdu_cons: Optional[np.ndarray] = np.array(
                    [self.power.plant.consumer_index[c] for c in self.cplant.arrays.cdu_ids], dtype=np.int64)
            else:
                self.cdu_cons = None

    # ---- what the hall sees
    def running_units(self, unit_failed: np.ndarray) -> np.ndarray:
        """int8 per unit: not failed, fed, and (a plant CDU) its pump running."""
        run = unit_failed == 0
        if self.power is not None:
            run &= self.power.state.cons_on[self.unit_cons] != 0
        if self.cplant is not None:
            m = self.unit_plant_cdu >= 0
            run[m] &= self.cplant.state.cdu_running[self.unit_plant_cdu[m]] != 0
        return run.astype(np.int8)

    def powered_racks(self, rack_failed: np.ndarray) -> np.ndarray:
        """int8 per rack: not failed and fed."""
        on = rack_failed == 0
        if self.power is not None:
            on &= self.power.rack_powered[self.rack_cons]
        return on.astype(np.int8)

    @property
    def chw_supply_c(self) -> Optional[float]:
        """Chilled-water supply temperature the coils see (°C; None without a plant: the default)."""
        return self.cplant.chw_supply_c if self.cplant is not None else None

    def plant_power_w(self) -> float:
        """Chillers, pumps and CDU pumps (W; 0 without a plant)."""
        if self.cplant is None:
            return 0.0
        t = self.cplant.totals()
        return t["chillers_w"] + t["pumps_w"] + t["cdu_pumps_w"]

    def rack_power_causes(self) -> Optional[dict[str, int]]:
        return self.power.rack_power_causes() if self.power is not None else None

    # ---- stepping
    def step_power(self, dt_s: float, due: Sequence[Event]) -> None:
        """The power chain over ``dt_s`` with the loads of the last step and the injected ``due`` events."""
        if self.power is not None:
            self.power.step(dt_s, self.load_w, [e for e in due if e.kind in POWER_EVENT_KINDS])

    def step_plant(self, dt_s: float, heat_to_loop_w: float, due: Sequence[Event]) -> None:
        """The chilled-water plant over ``dt_s`` with the heat the hall gives the loop (W)."""
        if self.cplant is None:
            return
        pw = self.power
        cdu_powered = (pw.state.cons_on[self.cdu_cons].astype(np.uint8) if self.cdu_cons is not None else None)
        self.cplant.step(dt_s, heat_to_loop_w, chiller_powered=pw.chiller_on if pw is not None else None,
                         pump_powered=pw.pump_on if pw is not None else None, cdu_powered=cdu_powered,
                         events_in=[e for e in due if e.kind in PLANT_EVENT_KINDS], power=pw)

    def account(self, dt_s: float, rs: RackStep, us: UnitStep, new_events: Iterable[Event]) -> None:
        """The loads of this step for the next power step, and the run's energy metrics."""
        if self.power is not None:
            self.load_w = self._consumer_load(rs, us)
            self.metrics.update(dt_s, self.power, new_events)

    def settle(self, rs: RackStep, us: UnitStep, heat_to_loop_w: float) -> None:
        """Loads of a steady state into the plant and the power chain (no events)."""
        if self.cplant is not None:
            seq0 = self.log.last_seq
            self.cplant.step(0.0, heat_to_loop_w)
            # a zero-length step only evaluates the plant; it changes nothing that happened
            self.log.truncate_after_seq(seq0)
        if self.power is not None:
            self.load_w = self._consumer_load(rs, us)
            self.power.settle(self.load_w)

    def _consumer_load(self, rs: RackStep, us: UnitStep) -> np.ndarray:
        """Power each consumer of the graph draws (W): this hall's racks and units from their
        models, chillers and pumps from the plant, other halls at design."""
        load = self.base_load.copy()
        load[self.rack_cons] = rs.power_w
        unit_w = us.fan_w.copy()
        if self.cplant is not None:
            m = self.unit_plant_cdu >= 0
            unit_w[m] = self.cplant.state.cdu_p_w[self.unit_plant_cdu[m]]
        load[self.unit_cons] = unit_w
        pp = self.power.plant
        if self.cplant is not None:
            load[pp.chiller_slice] = self.cplant.chiller_power_w
            load[pp.pump_slice] = self.cplant.pump_power_w
        return load

    # ---- figures
    def power_figures(self) -> dict[str, float]:
        """Facility power and losses (W) and the lowest UPS state of charge, for the hall metrics."""
        t = self.power.totals()
        soc = self.power.state.soc[self.power.plant.batt_j > 0]
        return {"facility_power_w": t["facility_w"], "losses_w": t["losses_w"],
                "ups_min_soc": float(soc.min()) if soc.size else float("nan")}

    # ---- keyframes
    def arrays(self) -> dict[str, np.ndarray]:
        k: dict[str, np.ndarray] = {}
        if self.power is not None:
            k.update(prefixed("power_", self.power.keyframe()))
            k.update(prefixed("metrics_", self.metrics.arrays()))
            k["load_w"] = self.load_w.copy()
        if self.cplant is not None:
            k.update(prefixed("plant_", self.cplant.keyframe()))
        return k

    def restore(self, k: dict[str, np.ndarray]) -> None:
        if self.power is not None:
            self.power.restore(unprefixed("power_", k))
            self.metrics.restore(unprefixed("metrics_", k))
            self.load_w = np.array(k["load_w"], copy=True)
        if self.cplant is not None:
            self.cplant.restore(unprefixed("plant_", k))
