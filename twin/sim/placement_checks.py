"""The constraints of the placement search at one spot, each a :class:`Check` in words with its numbers.

:class:`PowerModel` (every node upstream of the feeds, now and N-1, by settled load flows with the new racks
as one more consumer), :class:`CoolingModel` (the air-unit pool now and without its largest unit, the CDUs,
the plant), :class:`AirModel` (the new racks' inlets and the rises at the others, estimated on the frozen
flow by :mod:`~dctwin.twin.physics.air_response`) and the floor check. See :mod:`~dctwin.twin.sim.placement`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from dctwin.twin.model.layout import Hall, Rack
from dctwin.twin.physics import air_response, thermal
from dctwin.twin.physics.constants import ASHRAE_ALLOWABLE_C, ASHRAE_RECOMMENDED_C, RHO_CP_AIR
from dctwin.twin.physics.cooling_air import KIND_CDU, cdu_heat
from dctwin.twin.physics.power import static_loads
from dctwin.twin.sim.capacity import upstream
from dctwin.twin.sim.metrics import H1_RECOMMENDED_C
from dctwin.twin.sim.results import HallSummary

#: a rise at another rack's inlet below this (K) does not count against a spot: the far-field share
#: every rack gets, which would otherwise pin every spot on the hall's hottest rack
NEGLIGIBLE_RISE_K = 0.25
#: share of a new rack's own airflow that carries its heat past its neighbours on top of the air already
#: there (:meth:`AirModel.rises`). All of it (1.0) is the mixing limit, no air warmed by more than the
#: rack's exhaust rise; but the rack also draws its air from beside it, and in the ai-hall, warm full
#: solves at the spots of the largest estimated rise (20, 40 and 60 kW racks, 5 spots, rises 1.9 to
#: 7.6 K) put the rise between the undiluted (0: +0.2 to +5.9 K too warm) and the fully diluted estimate
#: (1.0: -0.2 to -2.3 K, too cool); 0.5 puts those estimates within -0.7 to +1.9 K of them
OWN_AIR_SHARE = 0.5


@dataclass
class Check:
    """One constraint at one spot: within its hard limit (``ok``), its margin as a fraction of its
    range (negative past the soft limit), and in words with the numbers."""

    kind: str
    ok: bool
    margin: float
    text: str


def _kw(w: float) -> str:
    return f"{w / 1e3:.1f}"


def _capacity_check(kind: str, label: str, head_w: float, cap_w: float, before_w: Optional[float] = None) -> Check:
    """Headroom ``head_w`` of something of capacity ``cap_w`` after the addition. ``before_w``: its
    headroom before, for an N-1 case: one already short before the addition (the hall is not redundant
    there) is reported, and counts against the score, but rules no spot out."""
    margin = head_w / cap_w if cap_w > 0 else (0.0 if head_w >= 0 else -1.0)
    if head_w < 0:
        if before_w is not None and before_w < 0:
            return Check(kind, True, margin, f"{kind}: {label}: {_kw(-head_w)} kW short (already "
                                             f"{_kw(-before_w)} kW short before)")
        return Check(kind, False, margin, f"{kind}: {label}: {_kw(-head_w)} kW short")
    return Check(kind, True, margin, f"{kind}: {label}: {_kw(head_w)} kW left")


def _limits(cls: str) -> tuple[float, float]:
    """(recommended max, allowable max) inlet of an ASHRAE class (°C)."""
    rec = H1_RECOMMENDED_C[1] if cls == "H1" else ASHRAE_RECOMMENDED_C[1]
    return rec, ASHRAE_ALLOWABLE_C[cls][1]


class PowerModel:
    """The power chain of the solved state: settled loads with any single node lost, for many
    "what if these feeds took P more" questions (cached per feeds)."""

    def __init__(self, sim: Any):
        ps = sim.power
        self.site = sim.site
        self.available = ps is not None and ps.plant.n_nodes > 0
        if not self.available:
            return
        self.plant, self.state = ps.plant, ps.state
        self.demand = np.asarray(self.state.cons_w, float).copy()
        n = self.plant.n_nodes
        self.base = np.empty((n + 1, n))
        self.base[0] = static_loads(self.plant, self.state, self.demand)
        for m in range(n):
            self.base[m + 1] = static_loads(self.plant, self.state, self.demand, self._lost(m))
        self._cache: dict[tuple, tuple[list[Check], Optional[float], Optional[float]]] = {}

    def _lost(self, m: Optional[int]) -> Optional[np.ndarray]:
        if m is None:
            return None
        mask = np.zeros(self.plant.n_nodes, bool)
        mask[m] = True
        return mask

    def check(self, feeds: Sequence[str], add_w: float) -> tuple[list[Check], Optional[float], Optional[float]]:
        """(checks of every rated node that would carry the load, headroom now, headroom N-1) (W)."""
        feeds = tuple(f for f in feeds if f)
        if not self.available or not feeds or add_w <= 0:
            return [], None, None
        key = (feeds, round(add_w, 3))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        p, s = self.plant, self.state
        ix = [p.node_index[f] for f in feeds if f in p.node_index]
        probe = dataclasses.replace(p, feed_a=np.append(p.feed_a, ix[0] if ix else -1),
                                    feed_b=np.append(p.feed_b, ix[1] if len(ix) > 1 else -1))
        pstate = dataclasses.replace(s, cons_up=np.append(s.cons_up, np.ones(1, s.cons_up.dtype)))
        demand = np.append(self.demand, add_w)
        path = sorted(set().union(*(upstream(self.site, f) for f in feeds)))
        path_ix = [p.node_index[nid] for nid in path if nid in p.node_index]
        now = static_loads(probe, pstate, demand)
        delta = now - self.base[0]
        lost = self.base[1:] + delta  # losses that do not move the new load: it adds as it does now
        for m in path_ix:
            lost[m] = static_loads(probe, pstate, demand, self._lost(m))
        checks: list[Check] = []
        head_now = head_n1 = math.inf
        for n in path_ix:
            cap = float(p.cap_w[n])
            if cap <= 0:
                continue
            nid = p.node_ids[n]
            h0 = cap - float(now[n])
            checks.append(_capacity_check("power", f"{nid} with the new load ({_kw(now[n])} of {cap / 1e3:g} kW)", h0, cap))
            others = np.delete(np.arange(p.n_nodes), n)
            if len(others):
                col = lost[others, n]
                # of equal losses (a UPS or the PDU below it) name the one nearest the load: last in input order
                worst = int(others[np.flatnonzero(col >= col.max() - 1e-6)[-1]])
                h1 = cap - float(lost[worst, n])
                if h1 < h0 - 1e-6:
                    before = cap - float(self.base[1:][others, n].max())
                    checks.append(_capacity_check("power", f"{nid} after losing {p.node_ids[worst]}", h1, cap, before))
                head_n1 = min(head_n1, h1)
            head_now = min(head_now, h0)
        out = (checks, head_now if math.isfinite(head_now) else None, head_n1 if math.isfinite(head_n1) else None)
        self._cache[key] = out
        return out


class CoolingModel:
    """The cooling of the solved state: the hall's running air units as one pool, its CDUs, the plant."""

    def __init__(self, sim: Any, summary: HallSummary):
        heads = summary.cooling_headroom or {}
        run = {uid: h for uid, h in heads.items() if h.capacity_w}
        self.air_cap = float(sum(h.capacity_w for h in run.values()))
        self.air_duty = float(sum(h.load_w or 0.0 for h in run.values()))
        self.largest = max(run, key=lambda u: run[u].capacity_w) if run else None
        self.largest_cap = float(run[self.largest].capacity_w) if run else 0.0
        self.n_air = len(run)
        hs, st = sim.system, sim.state
        running = sim.running_units()
        cdu = np.flatnonzero((hs.ua.kind == KIND_CDU) & (running != 0))
        load = cdu_heat(hs.ua, st.liquid_power_w, hs.rack_cdu, running)[0]
        self.cdus = {hs.unit_ids[j]: (float(hs.ua.capacity_w[j]), float(load[j])) for j in cdu}
        self.cdu_xy = {u.id: ((u.footprint()[0] + u.footprint()[2]) / 2, (u.footprint()[1] + u.footprint()[3]) / 2)
                       for u in hs.hall.cooling_units if u.id in self.cdus}
        self.rack_cdu = {r.id: r.cdu for r in hs.hall.racks if r.cdu}
        self.plant = (summary.plant_headroom or {}).get("plant")

    def cdu_for(self, x_m: float, y_m: float) -> Optional[str]:
        """The running CDU nearest to (x_m, y_m)."""
        if not self.cdu_xy:
            return None
        return min(self.cdu_xy, key=lambda c: (self.cdu_xy[c][0] - x_m) ** 2 + (self.cdu_xy[c][1] - y_m) ** 2)

    def check(self, air_w: float, liquid_w: float, cdu: Optional[str], solved: bool = False,
              before: Optional["CoolingModel"] = None) -> tuple[list[Check], Optional[float], Optional[float]]:
        """(checks, headroom now, headroom N-1) (W) with ``air_w`` more on the air units and ``liquid_w``
        on ``cdu``; ``solved``: the load is already in the state (a verification), check what is there;
        ``before``: the state before the addition (default this one), for N-1 cases already short."""
        b = before if before is not None else self
        checks: list[Check] = []
        heads, heads1 = [], []
        if air_w > 0 or (solved and self.n_air):
            if self.n_air == 0:
                checks.append(Check("cooling", False, -1.0, f"cooling: the hall has no running air cooling unit "
                                                            f"for {_kw(air_w)} kW of air heat"))
            else:
                h = self.air_cap - self.air_duty - air_w
                checks.append(_capacity_check("cooling", f"air units ({self.n_air} running, "
                                                         f"{self.air_cap / 1e3:g} kW)", h, self.air_cap))
                heads.append(h)
                cap1 = self.air_cap - self.largest_cap
                h1 = cap1 - self.air_duty - air_w
                checks.append(_capacity_check("cooling", f"air units after losing {self.largest}", h1,
                                              max(cap1, self.largest_cap), b.air_cap - b.largest_cap - b.air_duty))
                heads1.append(h1)
        if liquid_w > 0 or (solved and cdu is not None):
            if cdu is None or cdu not in self.cdus:
                checks.append(Check("cooling", False, -1.0, f"cooling: no running CDU in the hall for "
                                                            f"{_kw(liquid_w)} kW of liquid heat"))
            else:
                cap, load = self.cdus[cdu]
                h = cap - load - liquid_w
                checks.append(_capacity_check("cooling", f"{cdu} ({cap / 1e3:g} kW)", h, cap))
                heads.append(h)
                total = sum(c for c, _ in self.cdus.values())
                big = max(self.cdus, key=lambda c: self.cdus[c][0])
                h1 = total - self.cdus[big][0] - sum(ld for _, ld in self.cdus.values()) - liquid_w
                if len(self.cdus) > 1:
                    b_total = sum(c for c, _ in b.cdus.values())
                    b_h1 = b_total - max(c for c, _ in b.cdus.values()) - sum(ld for _, ld in b.cdus.values())
                    checks.append(_capacity_check("cooling", f"CDUs after losing {big}", h1, total - self.cdus[big][0],
                                                  b_h1))
                heads1.append(h1 if len(self.cdus) > 1 else h - cap)
        p = self.plant
        total_w = air_w + liquid_w
        if p is not None and p.capacity_w and (total_w > 0 or solved):
            checks.append(_capacity_check("cooling", "chilled-water plant", (p.headroom_w or 0.0) - total_w, p.capacity_w))
        return checks, (min(heads) if heads else None), (min(heads1) if heads1 else None)


class AirModel:
    """The air of the solved state, for the estimates of :mod:`~dctwin.twin.physics.air_response`."""

    def __init__(self, sim: Any):
        self.ap, self.flow = sim.air, sim.flow
        #: the rack-front jets' free edge of the hall's air model (0: off), read with the intakes as in its solves
        self.jet_edge = sim.system.air_model.front_jet_edge
        self.T = np.array(sim.state.T, copy=True)
        self.rack_ids = list(sim.rack_ids)
        self.inlet_c = np.array(sim.rack_inlet_c, float)
        self.classes = [r.ashrae_class for r in sim.hall.racks]
        us = sim.state.last_unit
        air = np.flatnonzero(sim.system.air_units)
        q = us.airflow_m3s[air] if us is not None else np.zeros(0)
        self.units_q = float(q.sum())
        if self.units_q > 0:
            self.supply_c = float((q * us.supply_c[air]).sum() / self.units_q)
            self.return_c = float((q * sim.state.unit_return_c[air]).sum() / self.units_q)
        else:
            self.supply_c = self.return_c = float(sim.hall.supply_c)
        span = self.return_c - self.supply_c
        #: how much room air (rather than supply air) each rack breathes now, from its inlet (0..1)
        self.room_share = (np.clip((self.inlet_c - self.supply_c) / span, 0.0, 1.0) if span > 0.1
                           else np.zeros(len(self.inlet_c)))

    def inlet(self, rack: Rack) -> Optional[float]:
        return air_response.intake_mean(self.ap, self.T, rack.footprint(), rack.facing, rack.height_m)

    def rises(self, racks: Sequence[Rack], air_w: Sequence[float],
              airflow_m3s: Optional[Sequence[float]] = None) -> tuple[np.ndarray, int]:
        """Rise (K) at every existing rack's inlet from the new racks' air heat ``air_w`` (W each) blown
        out by their ``airflow_m3s`` (m3/s each; None: the bare transport estimate, undiluted); sweeps.

        The near field is diluted by the new racks' own air (:data:`OWN_AIR_SHARE`): on the frozen flow
        their heat is carried only by the air already passing there, ``q_flow = P / (rho cp theta)`` at a
        rise ``theta``, while the racks blow ``q_rack`` more through the same place; taking a share ``b``
        of it as carrier air, ``theta' = theta / (1 + b theta / dT)`` with ``dT = P / (rho cp q_rack)``
        the racks' own exhaust rise. Small racks barely change (theta << dT); big ones no longer scale
        linearly with their power."""
        heat = [(r.footprint(), r.facing, r.height_m, float(q)) for r, q in zip(racks, air_w)]
        theta, _, sweeps = air_response.heat_rise(self.ap, self.flow, heat)
        near, _ = thermal.port_means(self.ap, self.flow, theta, self.jet_edge)
        total_w = sum(h[3] for h in heat)
        q_rack = float(np.sum(airflow_m3s)) if airflow_m3s is not None else 0.0
        if q_rack > 0 and total_w > 0:
            exhaust_k = total_w / (RHO_CP_AIR * q_rack)
            near = np.maximum(near, 0.0)
            near = near / (1.0 + OWN_AIR_SHARE * near / exhaust_k)
        far = self.room_share * (total_w / (RHO_CP_AIR * self.units_q)) if self.units_q > 0 else 0.0
        return near + far, sweeps

    def checks(self, racks: Sequence[Rack], inlets: Sequence[Optional[float]], rises: np.ndarray,
               base_inlet: Optional[np.ndarray] = None) -> list[Check]:
        """Checks of the new racks' inlets and of the rises at the others (inlets now: ``base_inlet``)."""
        out: list[Check] = []
        span = lambda rec: max(rec - self.supply_c, 1.0)  # noqa: E731
        for r, t in zip(racks, inlets):
            name = r.id or "the new rack"
            rec, allow = _limits(r.ashrae_class)
            if t is None:
                out.append(Check("air", False, -1.0, f"air: the intake of {name} is against a wall or a solid"))
                continue
            margin = (rec - t) / span(rec)
            if t > allow:
                out.append(Check("air", False, margin, f"air: {name} inlet {t:.1f} °C, above the {r.ashrae_class} "
                                                       f"allowable {allow:g} °C"))
            elif t > rec:
                out.append(Check("air", True, margin, f"air: {name} inlet {t:.1f} °C, above the recommended {rec:g} °C "
                                                      f"(allowable {allow:g} °C)"))
            else:
                out.append(Check("air", True, margin, f"air: {name} inlet {t:.1f} °C (recommended up to {rec:g} °C)"))
        now = self.inlet_c if base_inlet is None else base_inlet
        worst: Optional[Check] = None
        for i in np.flatnonzero(rises >= NEGLIGIBLE_RISE_K):
            rec, allow = _limits(self.classes[i])
            t0, t1 = float(now[i]), float(now[i] + rises[i])
            margin = (rec - t1) / span(rec)
            words = f"air: {self.rack_ids[i]} inlet {t0:.1f} -> {t1:.1f} °C (+{rises[i]:.1f} K)"
            if t1 > allow:
                c = Check("air", False, margin, f"{words}, above the {self.classes[i]} allowable {allow:g} °C")
            elif t1 > rec:
                c = Check("air", True, margin, f"{words}, above the recommended {rec:g} °C")
            else:
                c = Check("air", True, margin, words)
            if worst is None or (c.ok, c.margin) < (worst.ok, worst.margin):
                worst = c
        if worst is not None:
            out.append(worst)
        return out


def _floor_check(hall: Hall, racks: Sequence[Rack], weight_kg: float, assumed: bool) -> list[Check]:
    if hall.floor_kg_m2 is None or not racks:
        return []
    r = racks[0]
    load = weight_kg / (r.width_m * r.depth_m)
    rating = float(hall.floor_kg_m2)
    what = f"{weight_kg:g} kg{' (assumed)' if assumed else ''} on {r.width_m * r.depth_m:.2f} m2 is {load:.0f} kg/m2"
    if load > rating:
        return [Check("floor", False, (rating - load) / rating, f"floor: {what}, above its rating of {rating:g} kg/m2")]
    return [Check("floor", True, (rating - load) / rating, f"floor: {what} (rated {rating:g} kg/m2)")]
