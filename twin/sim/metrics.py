"""Metrics: PUE, ASHRAE compliance, RCI, RTI, headroom of power nodes and cooling elements.

Definitions (physics-reference §6):

* PUE = facility power / IT power (instantaneous), and facility energy / IT
  energy over a run (:class:`EnergyMeter`). IT = rack input power including
  server fans (The Green Grid); facility = IT + mechanical (cooling-unit fans,
  chillers, pumps, CDU pumps) + distribution and UPS losses + battery recharge.
* ASHRAE class compliance per rack inlet: recommended 18-27 °C (H1: 18-22 °C),
  allowable per class (constants.ASHRAE_ALLOWABLE_C).
* RCI_HI = [1 − Σ (T − T_max,rec)·[T > T_max,rec] / ((T_max,all − T_max,rec)·n)]·100 %,
  RCI_LO = [1 − Σ (T_min,rec − T)·[T < T_min,rec] / ((T_min,rec − T_min,all)·n)]·100 % (Herrlin 2005).
* RTI = (T_return − T_supply)/ΔT_equip·100 % (Herrlin 2008); equivalently
  airflow through the IT / airflow of the cooling units.
* Headroom = capacity − load; N-1 headroom = capacity − the load the element
  would carry if its redundant partner were lost (for power nodes: the worst
  single node loss that moves load onto it, from a settled load flow; for
  cooling elements: the largest other duty of its group spread over the
  remaining running members). Without a partner, N-1 headroom = headroom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from dctwin.twin.physics.constants import ASHRAE_ALLOWABLE_C, ASHRAE_RECOMMENDED_C
from dctwin.twin.sim.results import AshraeCounts, Headroom

__all__ = [
    "pue", "EnergyMeter", "ashrae_status", "ashrae_summary", "rci_hi", "rci_lo", "rti", "rti_from_airflow",
    "power_headroom", "group_headroom", "plant_headroom", "facility_breakdown",
    "IN_RECOMMENDED", "IN_ALLOWABLE", "OUT_OF_ALLOWABLE", "RunMetrics", "solve_power_extras",
]

#: recommended range of class H1 (°C), reference §6.6 [L]
H1_RECOMMENDED_C = (18.0, 22.0)
IN_RECOMMENDED, IN_ALLOWABLE, OUT_OF_ALLOWABLE = 0, 1, 2
STATUS_NAMES = ("recommended", "allowable", "out_of_allowable")


# --------------------------------------------------------------------------- PUE


def pue(it_w: float, facility_w: float) -> float:
    """Power usage effectiveness (dimensionless); NaN when there is no IT load."""
    return facility_w / it_w if it_w > 0 else math.nan


def facility_breakdown(power_totals: dict[str, float], plant_totals: Optional[dict[str, float]] = None,
                       unmetered_mech_w: float = 0.0) -> dict[str, float]:
    """IT, facility, mechanical by kind and losses (W) from
    :meth:`PowerSystem.totals` (and :meth:`CoolingPlant.totals` for loads without a feed).

    Mechanical loads fed through the power graph are in ``power_totals``; a plant
    element with no feed draws ``unmetered_mech_w`` extra (added to facility).
    """
    d = dict(power_totals)
    d["facility_w"] = power_totals["facility_w"] + unmetered_mech_w
    d["pue"] = pue(d["it_w"], d["facility_w"])
    if plant_totals is not None:
        d["chw_supply_c"] = plant_totals.get("chw_supply_c", math.nan)
        d["outdoor_c"] = plant_totals.get("outdoor_c", math.nan)
    return d


@dataclass
class EnergyMeter:
    """Energy integrals of a run (J) as plain arrays; ``add`` each step."""

    it_j: np.ndarray = field(default_factory=lambda: np.zeros(1))
    facility_j: np.ndarray = field(default_factory=lambda: np.zeros(1))
    mechanical_j: np.ndarray = field(default_factory=lambda: np.zeros(1))
    losses_j: np.ndarray = field(default_factory=lambda: np.zeros(1))
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(1))

    def add(self, dt_s: float, it_w: float, facility_w: float, mechanical_w: float = 0.0,
            losses_w: float = 0.0) -> None:
        self.it_j[0] += it_w * dt_s
        self.facility_j[0] += facility_w * dt_s
        self.mechanical_j[0] += mechanical_w * dt_s
        self.losses_j[0] += losses_w * dt_s
        self.seconds[0] += dt_s

    @property
    def pue_avg(self) -> float:
        """Energy-weighted PUE over the run."""
        return pue(float(self.it_j[0]), float(self.facility_j[0]))

    @property
    def it_energy_kwh(self) -> float:
        return float(self.it_j[0]) / 3.6e6

    @property
    def facility_energy_kwh(self) -> float:
        return float(self.facility_j[0]) / 3.6e6

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k).copy() for k in ("it_j", "facility_j", "mechanical_j", "losses_j", "seconds")}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        for k, v in arrays.items():
            getattr(self, k)[...] = v


# --------------------------------------------------------------------------- ASHRAE, RCI, RTI


def _limits(classes: Sequence[str] | str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cls = [classes] * n if isinstance(classes, str) else list(classes)
    if len(cls) != n:
        raise ValueError(f"{len(cls)} classes for {n} racks")
    for c in cls:
        if c not in ASHRAE_ALLOWABLE_C:
            raise ValueError(f"unknown ASHRAE class {c!r} ({', '.join(ASHRAE_ALLOWABLE_C)})")
    rec_lo = np.array([H1_RECOMMENDED_C[0] if c == "H1" else ASHRAE_RECOMMENDED_C[0] for c in cls])
    rec_hi = np.array([H1_RECOMMENDED_C[1] if c == "H1" else ASHRAE_RECOMMENDED_C[1] for c in cls])
    all_lo = np.array([ASHRAE_ALLOWABLE_C[c][0] for c in cls])
    all_hi = np.array([ASHRAE_ALLOWABLE_C[c][1] for c in cls])
    return rec_lo, rec_hi, all_lo, all_hi


def ashrae_status(inlet_c: np.ndarray, classes: Sequence[str] | str = "A1") -> np.ndarray:
    """Per rack: 0 within recommended, 1 within allowable only, 2 outside allowable (int8)."""
    t = np.asarray(inlet_c, float)
    rec_lo, rec_hi, all_lo, all_hi = _limits(classes, t.size)
    out = np.full(t.size, OUT_OF_ALLOWABLE, np.int8)
    out[(t >= all_lo) & (t <= all_hi)] = IN_ALLOWABLE
    out[(t >= rec_lo) & (t <= rec_hi)] = IN_RECOMMENDED
    return out


def ashrae_summary(rack_ids: Sequence[str], inlet_c: np.ndarray, classes: Sequence[str] | str = "A1"
                   ) -> AshraeCounts:
    """Counts per status and the ids of racks outside their allowable range."""
    st = ashrae_status(inlet_c, classes)
    return AshraeCounts(int((st == IN_RECOMMENDED).sum()), int((st == IN_ALLOWABLE).sum()),
                        int((st == OUT_OF_ALLOWABLE).sum()),
                        [rid for rid, s in zip(rack_ids, st) if s == OUT_OF_ALLOWABLE])


def _rci(excess_k: np.ndarray, span_k: float) -> float:
    """RCI (%) from each intake's excess beyond the recommended limit (K) and the span (K) from
    the recommended to the allowable limit."""
    if excess_k.size == 0:
        return 100.0
    return float((1.0 - np.clip(excess_k, 0.0, None).sum() / (span_k * excess_k.size)) * 100.0)


def rci_hi(inlet_c: np.ndarray, t_max_rec: float = 27.0, t_max_all: float = 32.0) -> float:
    """Rack Cooling Index, high side (%); 100 = no intake above the recommended max."""
    return _rci(np.asarray(inlet_c, float) - t_max_rec, t_max_all - t_max_rec)


def rci_lo(inlet_c: np.ndarray, t_min_rec: float = 18.0, t_min_all: float = 15.0) -> float:
    """Rack Cooling Index, low side (%); 100 = no intake below the recommended min."""
    return _rci(t_min_rec - np.asarray(inlet_c, float), t_min_rec - t_min_all)


def rti(return_c: float, supply_c: float, it_dt_k: float) -> float:
    """Return Temperature Index (%) = (T_return − T_supply)/ΔT_equip·100 (NaN if ΔT_equip = 0).

    ``return_c``/``supply_c``: airflow-weighted cooling-unit return and supply (°C);
    ``it_dt_k``: airflow-weighted rise across the IT equipment (K).
    """
    return (return_c - supply_c) / it_dt_k * 100.0 if it_dt_k > 0 else math.nan


def rti_from_airflow(it_airflow_m3s: float, cooling_airflow_m3s: float) -> float:
    """RTI (%) as airflow through the IT / airflow of the cooling units (NaN if no cooling airflow)."""
    return it_airflow_m3s / cooling_airflow_m3s * 100.0 if cooling_airflow_m3s > 0 else math.nan


# --------------------------------------------------------------------------- headroom


def _entry(load: float, cap: float, n1_load: float) -> Headroom:
    if cap <= 0 or not math.isfinite(cap):
        return Headroom(float(load), None, None, None)
    return Headroom(float(load), float(cap), float(cap - load), float(cap - n1_load))


def _stopped(load: float) -> Headroom:
    """A member that is not running: no capacity now, headroom -load (never its nameplate)."""
    return Headroom(float(load), 0.0, -float(load), -float(load))


def power_headroom(power: Any, load_w: Optional[np.ndarray] = None) -> dict[str, Headroom]:
    """Headroom of every power node now and after losing its redundant partner.

    ``power``: a :class:`~dctwin.twin.physics.power.PowerSystem`. ``load`` is the node's
    present output (W). N-1: for each other node m, a settled load flow with m
    lost (:func:`~dctwin.twin.physics.power.static_loads`, consumer demand ``load_w``,
    default the present draw); the partners of n are the m whose loss raises n's
    load, and the N-1 load is the highest of those. Unlimited nodes (capacity 0)
    report None for capacity and headroom.
    """
    from dctwin.twin.physics.power import static_loads

    p, s = power.plant, power.state
    demand = s.cons_w.copy() if load_w is None else np.asarray(load_w, float)
    base = static_loads(p, s, demand)
    n1 = base.copy()
    for m in range(p.n_nodes):
        mask = np.zeros(p.n_nodes, bool)
        mask[m] = True
        alt = static_loads(p, s, demand, mask)
        alt[m] = 0.0
        n1 = np.maximum(n1, np.where(alt > base * (1 + 1e-9) + 1e-6, alt, base))
    return {nid: _entry(float(s.out_w[i]), float(p.cap_w[i]), float(s.out_w[i] + (n1[i] - base[i])))
            for i, nid in enumerate(p.node_ids)}


def group_headroom(ids: Sequence[str], load_w: np.ndarray, capacity_w: np.ndarray,
                   groups: Optional[Sequence[str]] = None, running: Optional[np.ndarray] = None
                   ) -> dict[str, Headroom]:
    """Headroom of redundant cooling elements (units of a hall, CDUs, chillers).

    Within a group (default: all one group), losing partner j moves its load
    onto the other running members in equal shares, so the N-1 load of i is
    load_i + max_{j≠i, running} load_j / (n_running − 1). A member alone in its
    group (or the only one running) has no partner: N-1 headroom = headroom. A member
    that is not running (failed, unpowered) has no capacity now: capacity 0 and
    headroom −load, never its nameplate.
    """
    n = len(ids)
    load = np.asarray(load_w, float)
    cap = np.asarray(capacity_w, float)
    grp = list(groups) if groups is not None else [""] * n
    run = np.ones(n, bool) if running is None else np.asarray(running, bool)
    out: dict[str, Headroom] = {}
    for i, ident in enumerate(ids):
        mates = [j for j in range(n) if j != i and grp[j] == grp[i] and run[j]]
        n1 = load[i]
        if mates and run[i]:
            n1 = load[i] + max(load[j] for j in mates) / len(mates)
        if not run[i] and cap[i] > 0 and math.isfinite(cap[i]):
            out[ident] = _stopped(load[i])
            continue
        out[ident] = _entry(load[i], cap[i], n1)
    return out


def plant_headroom(plant: Any) -> dict[str, Headroom]:
    """Headroom of each chiller and of the whole chilled-water plant (id "plant").

    Plant load = the heat flowing into the loop (so an overloaded plant shows a
    negative headroom); plant N-1 = available capacity without the largest running
    chiller (the economizer, when on, counts with its capacity) minus that load.
    A stopped chiller (failed, unpowered, in its restart delay) has capacity 0 now,
    and a plant whose chillers are all stopped capacity 0 and headroom −load (not
    "unlimited", which is what a capacity of 0 means for a power node).
    """
    pa, st = plant.arrays, plant.state
    out = group_headroom(pa.chiller_ids, st.ch_q_w, st.ch_avail_w, running=st.ch_avail_w > 0)
    for i, cid in enumerate(pa.chiller_ids):
        if pa.ch_cap_w[i] > 0 and st.ch_avail_w[i] <= 0:
            out[cid] = _stopped(float(st.ch_q_w[i]))
    load = max(float(st.q_in_w[0]), float(st.ch_q_w.sum() + st.flows[2]))   # heat into the loop
    cap = plant.capacity_w()
    largest = float(st.ch_avail_w.max()) if len(pa.chiller_ids) else 0.0
    ent = _entry(load, cap, load)
    if float(pa.ch_cap_w.sum()) > 0 and ent.capacity_w is None:
        ent = Headroom(float(load), float(cap), float(cap - load), float(cap - load))
    if ent.capacity_w is not None:
        ent.headroom_n1_w = float(cap - largest - load)
    out["plant"] = ent
    return out


# --------------------------------------------------------------------------- run summaries


class RunMetrics:
    """What a run reports (``dctwin simulate``): energy-averaged PUE, IT and facility energy,
    first time each rack went down, the lowest UPS state of charge. State is plain arrays.

    Call :meth:`update` after each power step with the events that step recorded.
    """

    def __init__(self, power: Any):
        self.rack_ids = list(power.plant.consumer_ids[power.plant.rack_slice])
        self._rack_pos = {rid: i for i, rid in enumerate(self.rack_ids)}
        self.meter = EnergyMeter()
        self.first_down_s = np.full(len(self.rack_ids), np.nan)
        self.ups_min_soc = np.array([np.nan])
        from dctwin.twin.physics.codes import K_UPS
        self._ups = (power.plant.kind == K_UPS) & (power.plant.batt_j > 0)

    def update(self, dt_s: float, power: Any, new_events: Sequence[Any] = (), extra_facility_w: float = 0.0) -> None:
        """Add one step: ``power`` the PowerSystem after its step; ``extra_facility_w`` loads
        outside the power graph (W)."""
        t = power.totals()
        self.meter.add(dt_s, t["it_w"], t["facility_w"] + extra_facility_w, t["mechanical_w"], t["losses_w"])
        if self._ups.any():
            m = float(power.state.soc[self._ups].min())
            self.ups_min_soc[0] = m if not np.isfinite(self.ups_min_soc[0]) else min(m, float(self.ups_min_soc[0]))
        for ev in new_events:
            if ev.kind == "rack_down" and ev.target in self._rack_pos:
                i = self._rack_pos[ev.target]
                if np.isnan(self.first_down_s[i]):
                    self.first_down_s[i] = ev.t_s

    def summary(self, log: Any = None) -> dict[str, Any]:
        """``pue_avg``, ``it_energy_kwh``, ``facility_energy_kwh``, ``racks_down`` (id -> first
        time down, s), ``ups_min_soc`` (None without batteries) and ``events`` (count by kind)."""
        p = self.meter.pue_avg
        soc = float(self.ups_min_soc[0])
        return {"pue_avg": None if math.isnan(p) else p, "it_energy_kwh": self.meter.it_energy_kwh,
                "facility_energy_kwh": self.meter.facility_energy_kwh,
                "racks_down": {rid: float(t) for rid, t in zip(self.rack_ids, self.first_down_s) if np.isfinite(t)},
                "ups_min_soc": None if math.isnan(soc) else soc,
                "events": log.counts() if log is not None else {}}

    def arrays(self) -> dict[str, np.ndarray]:
        d = {"meter_" + k: v for k, v in self.meter.arrays().items()}
        d["first_down_s"] = self.first_down_s.copy()
        d["ups_min_soc"] = self.ups_min_soc.copy()
        return d

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.meter.restore({k[6:]: v for k, v in arrays.items() if k.startswith("meter_")})
        self.first_down_s[...] = arrays["first_down_s"]
        self.ups_min_soc[...] = arrays["ups_min_soc"]


def solve_power_extras(power: Any, extra_facility_w: float = 0.0) -> tuple[dict[str, Headroom], Optional[float]]:
    """What ``dctwin solve --json`` gains from the power chain: (headroom per node, PUE or None)."""
    t = power.totals()
    p = pue(t["it_w"], t["facility_w"] + extra_facility_w)
    return power_headroom(power), (None if math.isnan(p) else p)
