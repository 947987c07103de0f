"""Contingency scenarios: what can fail, what one failure (or a pair) does, and how bad it is.

The scenario set (:func:`single_failures`, :func:`scenario_set`): every power node (a breaker
trip opens a node exactly as its failure does: the power kernel treats ``failed`` and ``tripped``
alike, both cleared only by a repair, so one scenario covers both), every cooling unit of the hall
(CRAH, CRAC, in-row, rear door, CDU), every chiller and chilled-water pump, every plant CDU's pump,
and for each generator "utility loss with this generator failing to start". With ``n = 2`` every
pair of those. The only pruning is *dominance*, and only where it is proven: a pair {a, b} whose
``b`` alone leaves ``a`` without power for the whole run (every feed or input of ``a`` is dark in
the settled view of :func:`~dctwin.twin.physics.power.static_energized`, where a UPS with charge
and a generator that can still start count as live) behaves exactly as ``b`` alone, because the
engine tells a failed element from an unpowered one only by the events it records (a node is
live when ``failed == tripped == 0`` and an input is live; a cooling unit runs when not failed
and fed, see :meth:`~dctwin.twin.sim.facility.Facility.running_units`). The same holds for a CDU's
pump beside the failure of the CDU itself. Pruned pairs are reported with the scenario they equal;
``exhaustive`` runs them anyway.

Each scenario (:func:`run_scenario`) starts from one keyframe taken 60 s after the steady state
(:data:`FAIL_AT_S`; the same for every scenario, so it is computed once per sweep), injects its
failures, runs the coupled transient (air, racks, cooling, power chain, plant) to the end of the
sweep's duration and stops early once steady (:class:`SteadyWatch`). A static pass
(:func:`static_pass`: the settled power load flow and the cooling capacity left after the
failure) is reported beside it.

Severity (:func:`severity_key`, :func:`rank`): scenarios are ranked by IT lost first (kW of the
racks that went down, then how many), then thermal breaches (racks whose inlet went over their
allowable limit, then the earliest breach first), then time margin (the hottest inlet, the lowest
UPS charge, the highest power-node utilization). Equal keys share a rank. The level names the
first of these that applies: ``it_lost``, ``thermal_breach``, ``degraded`` (hottest inlet over the
recommended 27 C, a UPS on battery or a node over capacity), ``none``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.layout import Site
from dctwin.twin.physics.codes import GEN_FAILED, K_GENERATOR, K_UPS, K_UTILITY
from dctwin.twin.physics.constants import ASHRAE_RECOMMENDED_MAX_C
from dctwin.twin.physics.cooling_air import KIND_CDU
from dctwin.twin.physics.power import PowerState, static_energized, static_loads
from dctwin.twin.sim.stats import RunStats

#: the failure happens this long after the steady state (s)
FAIL_AT_S = 60.0
#: a scenario's run ends at this time unless the sweep says otherwise (s, from the steady state)
DEFAULT_DURATION_S = 1800.0
#: failure kinds a sweep can take (``--kinds``)
KINDS = ("power", "cooling", "plant")
#: the compound failure of a generator: the utility is lost and this generator does not start
GEN_FAIL_PREFIX = "utility_loss+generator_fail_to_start:"

# ---- steady (early stop), see SteadyWatch
#: inlets, SOCs and the loop temperature are sampled this often (s)
STEADY_SAMPLE_S = 10.0
#: the window over which nothing may move (s)
STEADY_WINDOW_S = 120.0
#: never before this long after the failure (s): generator starts, transfers, protection dwells
STEADY_MIN_AFTER_S = 300.0
#: every rack inlet within this range over the window (K)
STEADY_INLET_K = 0.05
#: the chilled-water supply within this range over the window (K)
STEADY_CHW_K = 0.05
#: a workload may rise by at most this much utilization (of design) before the end
STEADY_WORKLOAD_RISE = 0.05

# ---- "changes nothing" against the baseline run (no failure)
NOTHING_INLET_K = 0.1
NOTHING_SOC = 1e-3

LEVELS = ("it_lost", "thermal_breach", "degraded", "none")


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Failure:
    """One single failure: the events injected at the failure time (kind, target), in order."""

    key: str
    kind: str  # "power", "cooling" or "plant"
    element: str  # the element id it is named after
    events: tuple[tuple[str, str], ...]
    label: str
    failed: tuple[str, ...]  # ids of the elements lost

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "element": self.element, "label": self.label,
                "failed": list(self.failed), "events": [{"kind": k, "target": t} for k, t in self.events]}


@dataclass(frozen=True)
class Scenario:
    """One or two failures at once (``n``); ``key`` joins the failures' keys in sorted order."""

    failures: tuple[Failure, ...]

    @property
    def key(self) -> str:
        return " & ".join(f.key for f in self.failures) if self.failures else "baseline"

    @property
    def n(self) -> int:
        return len(self.failures)

    @property
    def label(self) -> str:
        return " and ".join(f.label for f in self.failures) if self.failures else "no failure"

    @property
    def events(self) -> tuple[tuple[str, str], ...]:
        # generators are armed before any utility is lost (the start attempt follows the loss)
        evs = [e for f in self.failures for e in f.events]
        return tuple(sorted(evs, key=lambda e: e[0] != "generator_fail_to_start"))

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(x for f in self.failures for x in f.failed))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.kind for f in self.failures))


BASELINE = Scenario(())


def single_failures(site: Site, hall_id: Optional[str] = None, kinds: Sequence[str] = KINDS,
                    elements: Optional[Sequence[str]] = None) -> list[Failure]:
    """Every single failure of the site as seen from one hall, in site order, by ``kinds``.

    power: every power node, and for each generator "utility loss with it failing to start";
    cooling: every cooling unit of the hall (CDUs included); plant: chillers, pumps, and the pump
    of every plant CDU. ``elements`` keeps the failures named after (or losing) one of these ids;
    an id that names nothing a sweep can fail is an InputError.
    """
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise InputError(f"--kinds: unknown kind {bad[0]!r} (kinds: {', '.join(KINDS)})")
    hall = site.get_hall(hall_id) if hall_id else site.halls[0]
    out: list[Failure] = []
    if "power" in kinds:
        utilities = [n.id for n in site.power_nodes if n.kind == "utility"]
        for node in site.power_nodes:
            out.append(Failure(f"fail:{node.id}", "power", node.id, (("fail", node.id),), f"{node.id} fails",
                               (node.id,)))
        if utilities:
            for node in site.power_nodes:
                if node.kind == "generator":
                    out.append(Failure(
                        GEN_FAIL_PREFIX + node.id, "power", node.id,
                        (("generator_fail_to_start", node.id), ("utility_loss", "")),
                        f"utility lost and {node.id} fails to start", tuple(utilities) + (node.id,)))
    plant_cdus = {c.id for c in hall.cooling_units if c.kind == "cdu"} if (site.chillers or site.pumps) else set()
    if "cooling" in kinds:
        for u in hall.cooling_units:
            out.append(Failure(f"fail:{u.id}", "cooling", u.id, (("fail", u.id),), f"{u.id} fails", (u.id,)))
    if "plant" in kinds:
        for c in site.chillers:
            out.append(Failure(f"fail:{c.id}", "plant", c.id, (("fail", c.id),), f"{c.id} fails", (c.id,)))
        for p in site.pumps:
            out.append(Failure(f"fail:{p.id}", "plant", p.id, (("fail", p.id),), f"{p.id} fails", (p.id,)))
        for u in hall.cooling_units:
            if u.id in plant_cdus:
                out.append(Failure(f"cdu_pump_fail:{u.id}", "plant", u.id, (("cdu_pump_fail", u.id),),
                                   f"{u.id} pump fails", (u.id,)))
    if elements is not None:
        wanted = [e for e in elements if e]
        known = {x for f in out for x in (f.element,) + f.failed}
        missing = [e for e in wanted if e not in known]
        if missing:
            raise InputError(f"--elements: {', '.join(repr(m) for m in missing)} "
                             f"{'is' if len(missing) == 1 else 'are'} not an element a sweep of kinds "
                             f"{','.join(kinds)} can fail (power nodes, generators, cooling units of hall "
                             f"{hall.id}, chillers, pumps)")
        keep = set(wanted)
        out = [f for f in out if f.element in keep]
    return out


@dataclass
class Pruned:
    """A pair not run because it equals a scenario that is: ``same_as`` and why."""

    key: str
    same_as: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "same_as": self.same_as, "reason": self.reason}


@dataclass
class ScenarioSet:
    """The scenarios to run (sorted by key), the pairs pruned, and how many there were in all."""

    scenarios: list[Scenario]
    pruned: list[Pruned] = field(default_factory=list)

    @property
    def n_total(self) -> int:
        return len(self.scenarios) + len(self.pruned)


def scenario_set(site: Site, failures: Sequence[Failure], n: int = 1, exhaustive: bool = False,
                 hall_id: Optional[str] = None) -> ScenarioSet:
    """Every single failure (``n = 1``) or every pair of them (``n = 2``), dominated pairs pruned
    unless ``exhaustive`` (see the module docstring)."""
    if n not in (1, 2):
        raise InputError(f"--n must be 1 or 2, got {n}")
    if n == 1:
        return ScenarioSet(sorted((Scenario((f,)) for f in failures), key=lambda s: s.key))
    dom = _Dominance(site, hall_id) if not exhaustive else None
    run: list[Scenario] = []
    pruned: list[Pruned] = []
    for a, b in itertools.combinations(sorted(failures, key=lambda f: f.key), 2):
        sc = Scenario((a, b))
        hit = dom.equal_to(a, b) if dom is not None else None
        if hit is None:
            run.append(sc)
        else:
            keep, why = hit
            pruned.append(Pruned(sc.key, keep.key, why))
    return ScenarioSet(sorted(run, key=lambda s: s.key), sorted(pruned, key=lambda p: p.key))


class _Dominance:
    """Which failures leave which elements without power for a whole run (static, proven view)."""

    def __init__(self, site: Site, hall_id: Optional[str]) -> None:
        from dctwin.twin.physics.power import compile_power, initial_state

        self.site = site
        self.hall = site.get_hall(hall_id) if hall_id else site.halls[0]
        self.plant = compile_power(site, manage_racks=False) if site.power_nodes else None
        self.state = initial_state(self.plant) if self.plant is not None else None
        self._dark: dict[str, set[str]] = {}

    def dark_after(self, f: Failure) -> set[str]:
        """Ids of nodes and consumers left without power for the whole run by ``f`` alone."""
        if f.key in self._dark:
            return self._dark[f.key]
        out: set[str] = set()
        p = self.plant
        if p is not None and f.kind == "power":
            en = power_static(p, self.state, f.events)[0]
            out |= {nid for i, nid in enumerate(p.node_ids) if not en[i]}
            out |= {cid for cid, live in zip(p.consumer_ids, consumers_live(p, en)) if not live}
        self._dark[f.key] = out
        return out

    def equal_to(self, a: Failure, b: Failure) -> Optional[tuple[Failure, str]]:
        """(the failure the pair {a, b} equals, why) when one makes the other change nothing."""
        for keep, other in ((a, b), (b, a)):
            if other.events == (("cdu_pump_fail", keep.element),) and keep.events == (("fail", keep.element),):
                return keep, f"{keep.element} failed stops its pump too"
            if len(other.events) == 1 and other.events[0][0] == "fail":
                target = other.events[0][1]
                if target in self.dark_after(keep):
                    return keep, f"{target} has no power for the whole run when {keep.label}"
            if other.events == (("cdu_pump_fail", other.element),) and other.element in self.dark_after(keep):
                return keep, f"{other.element} (and its pump) has no power for the whole run when {keep.label}"
        return None


def power_static(plant, state: PowerState, events: Iterable[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray,
                                                                                        PowerState]:
    """The settled power view after ``events`` (fail of nodes, utility loss, generators that do
    not start): ``(energized per node, failed-node mask, the state it was read from)``."""
    s2 = PowerState(**state.arrays())
    mask = np.zeros(plant.n_nodes, bool)
    for kind, target in events:
        if kind in ("fail", "breaker_trip") and target in plant.node_index:
            mask[plant.node_index[target]] = True
        elif kind == "utility_loss":
            for i in range(plant.n_nodes):
                if plant.kind[i] == K_UTILITY and (not target or plant.node_ids[i] == target):
                    s2.avail[i] = 0
        elif kind == "generator_fail_to_start":
            for i in range(plant.n_nodes):
                if plant.kind[i] == K_GENERATOR and (not target or plant.node_ids[i] == target):
                    s2.gen_state[i] = GEN_FAILED
    en, _ = static_energized(plant, s2, mask)
    return en, mask, s2


def consumers_live(plant, en: np.ndarray) -> np.ndarray:
    """Per consumer: it has no feed (always powered) or a live one."""
    fa, fb = plant.feed_a, plant.feed_b
    return (((fa < 0) & (fb < 0)) | ((fa >= 0) & en[np.where(fa >= 0, fa, 0)])
            | ((fb >= 0) & en[np.where(fb >= 0, fb, 0)]))


# --------------------------------------------------------------------------- the base of a sweep


@dataclass
class SweepSettings:
    """What a sweep runs: its scenario set and how each scenario runs."""

    n: int = 1
    kinds: tuple[str, ...] = KINDS
    elements: Optional[tuple[str, ...]] = None
    duration_s: float = DEFAULT_DURATION_S
    dt_s: float = 1.0
    grid_m: Optional[float] = None
    hall_id: Optional[str] = None
    exhaustive: bool = False
    early_stop: bool = True

    def check(self) -> None:
        if self.n not in (1, 2):
            raise InputError(f"--n must be 1 or 2, got {self.n}")
        if not (math.isfinite(self.duration_s) and FAIL_AT_S + STEADY_SAMPLE_S <= self.duration_s <= 366 * 86400):
            raise InputError(f"--duration must be from {FAIL_AT_S + STEADY_SAMPLE_S:g} s (the failure is at "
                             f"{FAIL_AT_S:g} s) to 366 days, got {self.duration_s:g}")
        if not (math.isfinite(self.dt_s) and 0 < self.dt_s <= 10):
            raise InputError(f"--dt must be above 0 and at most 10 s, got {self.dt_s:g}")
        if self.grid_m is not None and not (0.05 <= self.grid_m <= 3.0):
            raise InputError(f"--grid must be between 0.05 and 3 m, got {self.grid_m:g}")

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["kinds"] = list(self.kinds)
        d["elements"] = None if self.elements is None else list(self.elements)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "SweepSettings":
        d = dict(d)
        d["kinds"] = tuple(d.get("kinds") or KINDS)
        d["elements"] = None if d.get("elements") is None else tuple(d["elements"])
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


def sweep_token(layout_text: str, settings: SweepSettings, engine_version: str) -> str:
    """A digest of what decides a sweep's results (layout, settings, engine, early-stop rules): a
    sweep with the same token can resume another's finished scenarios."""
    rules = [FAIL_AT_S, STEADY_SAMPLE_S, STEADY_WINDOW_S, STEADY_MIN_AFTER_S, STEADY_INLET_K, STEADY_CHW_K,
             STEADY_WORKLOAD_RISE]
    blob = json.dumps({"layout": layout_text, "settings": settings.to_json(), "engine": engine_version,
                       "rules": rules}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class SweepBase:
    """What every worker needs: the layout, settings and the keyframe at the failure time (taken once
    per sweep from the steady state), with the pre-failure loads. Plain data (shipped to workers)."""

    token: str
    layout_text: str
    base_dir: Optional[str]
    settings: SweepSettings
    keyframe: dict[str, np.ndarray]
    rack_ids: list[str]
    rack_power_w: np.ndarray  # each rack's draw just before the failure (W)
    unit_duty_w: np.ndarray  # each cooling unit's heat removed just before the failure (W)
    plant_load_w: float  # heat into the chilled-water loop just before the failure (W)
    steady_max_inlet_c: Optional[float]
    prepare_s: float = 0.0

    def simulation(self):
        """A simulation of the base's layout, not yet in the keyframe's state."""
        from dctwin.twin.model.layoutfile import loads_layout
        from dctwin.twin.sim.engine import Simulation

        s = self.settings
        site = loads_layout(self.layout_text, "the sweep's layout")
        return Simulation(site, s.hall_id, grid_m=s.grid_m, dt_s=s.dt_s, base_dir=self.base_dir)


def prepare_base(site: Site, settings: SweepSettings, base_dir: Optional[str] = None,
                 progress: Any = None) -> tuple[SweepBase, Any, dict[str, np.ndarray]]:
    """Solve the steady state once, run it to the failure time and keyframe it.

    Returns ``(base, the simulation, the keyframe of the steady state at t = 0)``.
    """
    from dctwin.twin.model.layoutfile import dumps_layout
    from dctwin.twin.sim.engine import ENGINE_VERSION, Simulation

    settings.check()
    t0 = time.perf_counter()
    text = dumps_layout(site)
    sim = Simulation(site, settings.hall_id, grid_m=settings.grid_m, dt_s=settings.dt_s, base_dir=base_dir)
    if progress:
        progress("solving the steady state")
    steady = sim.solve_steady()
    k0 = sim.keyframe()
    if progress:
        progress(f"running to the failure time ({FAIL_AT_S:g} s)")
    sim.run(FAIL_AT_S, settings.dt_s)
    st = sim.state
    plant_load = float(sim.cplant.state.q_in_w[0]) if sim.cplant is not None else 0.0
    base = SweepBase(
        token=sweep_token(text, settings, ENGINE_VERSION), layout_text=text, base_dir=base_dir, settings=settings,
        keyframe=sim.keyframe(), rack_ids=list(sim.rack_ids), rack_power_w=np.array(st.rack_power_w, copy=True),
        unit_duty_w=(np.array(st.last_unit.duty_w, copy=True) if st.last_unit is not None else np.zeros(sim.ua.n)),
        plant_load_w=plant_load, steady_max_inlet_c=steady.max_inlet_c, prepare_s=time.perf_counter() - t0)
    return base, sim, k0


# --------------------------------------------------------------------------- static pass


def static_pass(sim, base: SweepBase, sc: Scenario) -> dict[str, Any]:
    """The settled consequences of ``sc`` before any transient: which racks lose every feed, which
    cooling units and plant elements stop, power nodes' utilization after the load moves (the
    static load flow with the pre-failure demand) and the cooling capacity left against the load."""
    hs, fac = sim.system, sim.facility
    failed = set(sc.failed)
    out: dict[str, Any] = {}
    unit_live = np.ones(hs.ua.n, bool)
    rack_live = np.ones(hs.ra.n, bool)
    chiller_live = None
    if fac.power is not None:
        p, s = fac.power.plant, fac.power.state
        en, mask, s2 = power_static(p, s, sc.events)
        loads = static_loads(p, s2, s.cons_w, mask)
        cap = p.cap_w
        util = np.divide(loads, cap, out=np.zeros_like(cap), where=cap > 0)
        live = consumers_live(p, en)
        rack_live = live[fac.rack_cons]
        unit_live = live[fac.unit_cons].copy()
        chiller_live = live[p.chiller_slice]
        out["overloaded_nodes"] = [nid for i, nid in enumerate(p.node_ids) if util[i] > 1.0 + 1e-9]
        out["max_node_utilization"] = float(util.max()) if util.size else 0.0
        out["dark_nodes"] = [nid for i, nid in enumerate(p.node_ids) if not en[i]]
    for j, uid in enumerate(hs.unit_ids):
        if uid in failed:
            unit_live[j] = False
    racks_off = [rid for i, rid in enumerate(hs.rack_ids) if not rack_live[i]]
    out["racks_unpowered"] = len(racks_off)
    out["racks_unpowered_ids"] = racks_off
    out["kw_unpowered"] = float(base.rack_power_w[~rack_live].sum() / 1e3)
    out["units_stopped"] = [uid for j, uid in enumerate(hs.unit_ids) if not unit_live[j]]
    air = hs.air_units & (hs.ua.kind != KIND_CDU)
    cap_w = hs.ua.capacity_w
    out["air_cooling_capacity_kw"] = float(cap_w[air & unit_live].sum() / 1e3)
    out["air_cooling_load_kw"] = float(base.unit_duty_w[air].sum() / 1e3)
    cdu = hs.ua.kind == KIND_CDU
    if cdu.any():
        out["cdu_capacity_kw"] = float(cap_w[cdu & unit_live].sum() / 1e3)
        out["cdu_load_kw"] = float(base.unit_duty_w[cdu].sum() / 1e3)
    if fac.cplant is not None:
        pa = fac.cplant.arrays
        ok = np.array([cid not in failed for cid in pa.chiller_ids], bool)
        if chiller_live is not None and len(chiller_live) == len(ok):
            ok &= chiller_live
        out["chiller_capacity_kw"] = float(pa.ch_cap_w[ok].sum() / 1e3)
        out["plant_load_kw"] = base.plant_load_w / 1e3
    short = max(0.0, out["air_cooling_load_kw"] - out["air_cooling_capacity_kw"])
    if "chiller_capacity_kw" in out:
        short = max(short, out["plant_load_kw"] - out["chiller_capacity_kw"])
    out["cooling_short_kw"] = short
    return out


# --------------------------------------------------------------------------- steady watch


class SteadyWatch:
    """When a scenario's run may stop early, and what it tracks on the way (node utilization, dark
    nodes).

    Steady, at a sample time at least :data:`STEADY_MIN_AFTER_S` after the failure, when over the
    last :data:`STEADY_WINDOW_S`: no event was recorded; every rack inlet stayed within
    :data:`STEADY_INLET_K` and its trend, carried on to the end of the run, reaches no allowable
    limit it has not reached; the chilled-water supply stayed within :data:`STEADY_CHW_K`; and now
    no UPS discharges, no power node is over capacity, the plant removes all the heat into its loop
    and no chiller waits to restart, and no workload rises by more than
    :data:`STEADY_WORKLOAD_RISE` before the end.
    """

    def __init__(self, sim, t_fail_s: float, t_end_s: float) -> None:
        self.sim = sim
        self.t_fail_s, self.t_end_s = t_fail_s, t_end_s
        n = int(round(STEADY_WINDOW_S / STEADY_SAMPLE_S)) + 1
        self.samples: deque = deque(maxlen=n)
        self.next_sample = t_fail_s + STEADY_SAMPLE_S
        self.allow_c = np.asarray(sim.ra.warn_c, float)
        p = sim.power
        self.cap = p.plant.cap_w if p is not None else np.zeros(0)
        self.max_util = np.zeros(len(self.cap))
        self.ever_dark = np.zeros(len(self.cap), bool)
        #: nodes live when the failure came (a standby generator is not)
        self.live0 = (p.state.energized != 0) if p is not None else np.zeros(0, bool)
        self.ups = (p.plant.kind == K_UPS) & (p.plant.batt_j > 0) if p is not None else np.zeros(0, bool)
        self.steady_at: Optional[float] = None

    def observe(self) -> None:
        """After each step: node utilization and darkness; a sample when one is due."""
        sim = self.sim
        if sim.power is not None:
            s = sim.power.state
            util = np.divide(s.out_w, self.cap, out=np.zeros_like(self.cap), where=self.cap > 0)
            np.maximum(self.max_util, util, out=self.max_util)
            self.ever_dark |= s.energized == 0
        t = sim.t_s
        if t >= self.next_sample - 1e-9:
            chw = sim.cplant.chw_supply_c if sim.cplant is not None else 0.0
            self.samples.append((t, np.array(sim.rack_inlet_c, copy=True), chw))
            self.next_sample = (math.floor((t + 1e-9) / STEADY_SAMPLE_S) + 1) * STEADY_SAMPLE_S

    def steady(self) -> bool:
        """Whether the run may stop now (see the class docstring); only on a sample step."""
        sim = self.sim
        t = sim.t_s
        if (t - self.t_fail_s < STEADY_MIN_AFTER_S - 1e-9 or len(self.samples) < self.samples.maxlen
                or abs(self.samples[-1][0] - t) > 1e-9):
            return False
        t0, first, chw0 = self.samples[0]
        last = sim.events.get(sim.events.last_seq)
        if last is not None and last.t_s > t0 - 1e-9:
            return False
        stack = np.stack([x[1] for x in self.samples]) if sim.ra.n else np.zeros((0, 0))
        if stack.size:
            if float((stack.max(axis=0) - stack.min(axis=0)).max()) > STEADY_INLET_K:
                return False
            now = stack[-1]
            slope = np.maximum((now - first) / max(t - t0, 1e-9), 0.0)
            ahead = now + slope * (self.t_end_s - t)
            if ((ahead > self.allow_c) & (now <= self.allow_c)).any():
                return False
        if sim.cplant is not None:
            st = sim.cplant.state
            if abs(self.samples[-1][2] - chw0) > STEADY_CHW_K or st.flows[3] > 0 or \
                    ((st.ch_timer > 0) & (st.ch_run == 0) & (st.ch_failed == 0)).any():
                return False
        if sim.power is not None:
            s = sim.power.state
            if (self.ups & (s.batt_w > 1.0)).any():
                return False
            if ((self.cap > 0) & (s.out_w > self.cap) & (s.energized != 0)).any():
                return False
        if not self._workloads_flat(t):
            return False
        self.steady_at = t
        return True

    def _workloads_flat(self, t: float) -> bool:
        sim = self.sim
        st = sim.state
        now = sim.wl.utilization(t, st.u_override)
        for tt in np.arange(t + 30.0, self.t_end_s + 30.0, 30.0):
            if (sim.wl.utilization(min(float(tt), self.t_end_s), st.u_override) > now + STEADY_WORKLOAD_RISE).any():
                return False
        return True


# --------------------------------------------------------------------------- one scenario


def run_scenario(sim, base: SweepBase, sc: Scenario) -> dict[str, Any]:
    """Run ``sc`` on ``sim`` (a simulation of the base's layout) from the base's keyframe; returns
    its outcome (plain JSON values; see the module docstring and :func:`outcome_keys`)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    s = base.settings
    sim.restore(base.keyframe)
    static = static_pass(sim, base, sc)
    st = sim.state
    sim.stats = RunStats()
    st.energy_acc[:] = 0.0
    st.energy_acc[2] = sim.stored_energy_j()
    if sim.ra.n:
        sim.stats.max_inlet_c = float(st.rack_inlet_c.max())
    for kind, target in sc.events:
        sim.inject(kind, target)
    t_end = float(s.duration_s)
    watch = SteadyWatch(sim, FAIL_AT_S, t_end)
    while sim.t_s < t_end - 1e-9:
        sim.step(min(s.dt_s, t_end - sim.t_s))
        watch.observe()
        if s.early_stop and watch.steady():
            break
    rs = sim.run_summary(sim.t_s - FAIL_AT_S, s.dt_s)
    out = outcome(sim, base, sc, rs, watch)
    out["static"] = static
    out["wall_s"] = time.perf_counter() - wall0
    out["cpu_s"] = time.process_time() - cpu0  # what a busy machine cannot stretch (wall time can)
    return out


def outcome(sim, base: SweepBase, sc: Scenario, rs, watch: SteadyWatch) -> dict[str, Any]:
    """The outcome of a finished scenario run from its run summary and what the watch tracked."""
    rack_pos = {r: i for i, r in enumerate(base.rack_ids)}
    down = sorted(rs.racks_down, key=lambda r: (rs.racks_down[r], rack_pos.get(r, 0)))
    kw = float(sum(base.rack_power_w[rack_pos[r]] for r in down if r in rack_pos) / 1e3)
    p = sim.power
    node_ids = list(p.plant.node_ids) if p is not None else []
    util = watch.max_util
    over = [nid for i, nid in enumerate(node_ids) if util[i] > 1.0 + 1e-9]
    cause, steps = first_cause(rs.alarms, down, rs)
    out = {"key": sc.key, "n": sc.n, "label": sc.label, "failed": list(sc.failed), "kinds": list(sc.kinds),
           "events": [{"kind": k, "target": t, "t_s": FAIL_AT_S} for k, t in sc.events],
           "racks_down": len(down), "racks_down_ids": down, "kw_down": kw,
           "racks_over_allowable": list(rs.racks_over_allowable),
           "first_over_allowable_s": rs.first_over_allowable_s,
           "max_inlet_c": rs.max_inlet_c, "ups_min_soc": rs.ups_min_soc,
           "max_node_utilization": float(util.max()) if util.size else None,
           "overloaded_nodes": over, "cause": cause, "cause_steps": steps,
           "dark_nodes": [nid for i, nid in enumerate(node_ids) if watch.ever_dark[i] and watch.live0[i]],
           "stopped_units": [uid for j, uid in enumerate(sim.unit_ids) if sim.running_units()[j] == 0],
           "ended_s": float(sim.t_s), "steady": watch.steady_at is not None}
    if p is not None:
        pp = p.plant
        on = p.state.cons_on
        out["unpowered"] = [pp.consumer_ids[i] for i in range(pp.rack_slice.stop, pp.n_consumers) if on[i] == 0]
    else:
        out["unpowered"] = []
    return out


def first_cause(alarms: list[dict], down: list[str], rs) -> tuple[Optional[str], list[dict]]:
    """The explained chain of the first rack down, else of the first allowable breach."""
    raised = [a for a in alarms if a.get("active", True)]
    if down:
        hit = [a for a in raised if a["kind"] == "rack_down" and a["id"] == down[0]]
        if hit:
            return hit[0]["message"], list(hit[0].get("causes") or [])
    if rs.racks_over_allowable:
        hit = [a for a in raised if a["kind"] == "inlet_allowable"]
        if hit:
            return hit[0]["message"], list(hit[0].get("causes") or [])
    return None, []


# --------------------------------------------------------------------------- ranking


def _num(v: Optional[float], missing: float) -> float:
    return missing if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def severity_key(o: dict[str, Any]) -> tuple:
    """Sort key, most severe first: IT lost (kW, racks), thermal breaches (racks, earliest), then
    time margin (hottest inlet, lowest UPS charge, highest node utilization)."""
    return (-round(_num(o.get("kw_down"), 0.0), 6), -int(o.get("racks_down") or 0),
            -len(o.get("racks_over_allowable") or ()), _num(o.get("first_over_allowable_s"), math.inf),
            -_num(o.get("max_inlet_c"), -math.inf), _num(o.get("ups_min_soc"), 1.0),
            -_num(o.get("max_node_utilization"), 0.0))


def severity_level(o: dict[str, Any]) -> str:
    """``it_lost``, ``thermal_breach``, ``degraded`` or ``none`` (see the module docstring)."""
    if o.get("racks_down"):
        return "it_lost"
    if o.get("racks_over_allowable"):
        return "thermal_breach"
    if (_num(o.get("max_inlet_c"), -math.inf) > ASHRAE_RECOMMENDED_MAX_C or o.get("overloaded_nodes")
            or _num(o.get("ups_min_soc"), 1.0) < 1.0 - NOTHING_SOC):
        return "degraded"
    return "none"


def changes_nothing(o: dict[str, Any], baseline: Optional[dict[str, Any]]) -> bool:
    """The scenario's outcome is the baseline's (no failure): no more racks down or over allowable,
    no new node over capacity, the hottest inlet within 0.1 K and the lowest UPS charge within 0.1 %."""
    if baseline is None:
        return False
    return (o["racks_down"] <= baseline["racks_down"]
            and set(o["racks_over_allowable"]) <= set(baseline["racks_over_allowable"])
            and set(o["overloaded_nodes"]) <= set(baseline["overloaded_nodes"])
            and abs(_num(o["max_inlet_c"], 0.0) - _num(baseline["max_inlet_c"], 0.0)) <= NOTHING_INLET_K
            and _num(o["ups_min_soc"], 1.0) >= _num(baseline["ups_min_soc"], 1.0) - NOTHING_SOC)


def rank(outcomes: Iterable[dict[str, Any]], baseline: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
    """The outcomes sorted by severity (ties by key), each with ``severity`` (its rank, 1 = worst;
    equal keys share one), ``severity_level`` and ``changes_nothing``."""
    ordered = sorted(outcomes, key=lambda o: (severity_key(o), o["key"]))
    prev, r = None, 0
    for i, o in enumerate(ordered):
        k = severity_key(o)
        if k != prev:
            r, prev = i + 1, k
        o["severity"] = r
        o["severity_level"] = severity_level(o)
        o["changes_nothing"] = changes_nothing(o, baseline)
    return ordered


# --------------------------------------------------------------------------- risk map


@dataclass
class RiskMap:
    """Per rack: the single failures (N-1 scenarios) that take it down or over its allowable inlet;
    per element: its worst consequence (the most severe scenario it fails in)."""

    rack_down: dict[str, list[str]] = field(default_factory=dict)  # rack -> scenario keys taking it down
    rack_over: dict[str, list[str]] = field(default_factory=dict)  # rack -> keys taking it over allowable only
    element_worst: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rack_count(self, rack_id: str) -> int:
        """How many single failures take the rack down or over allowable."""
        return len(self.rack_down.get(rack_id, ())) + len(self.rack_over.get(rack_id, ()))

    def to_json(self) -> dict[str, Any]:
        return {"rack_down": self.rack_down, "rack_over": self.rack_over, "element_worst": self.element_worst}


def risk_map(scenarios: Iterable[dict[str, Any]]) -> RiskMap:
    """The risk map of ranked outcomes (:func:`rank`): racks counted from single failures only,
    elements' worst consequence from every scenario they fail in (the first in rank order)."""
    out = RiskMap()
    for o in scenarios:
        if o.get("n") == 1:
            down = set(o.get("racks_down_ids") or ())
            for r in down:
                out.rack_down.setdefault(r, []).append(o["key"])
            for r in o.get("racks_over_allowable") or ():
                if r not in down:
                    out.rack_over.setdefault(r, []).append(o["key"])
        for el in o.get("failed") or ():
            if el not in out.element_worst:
                out.element_worst[el] = {"key": o["key"], "label": o["label"], "severity": o.get("severity"),
                                         "severity_level": o.get("severity_level"), "racks_down": o["racks_down"],
                                         "kw_down": o["kw_down"],
                                         "racks_over_allowable": len(o.get("racks_over_allowable") or ())}
    return out


def consequence_text(o: dict[str, Any]) -> str:
    """The consequence of an outcome in a few words ("20 racks down (127 kW)", "4 racks over allowable")."""
    if o.get("racks_down"):
        n = o["racks_down"]
        return f"{n} rack{'s' if n != 1 else ''} down ({o['kw_down']:.0f} kW)"
    n = len(o.get("racks_over_allowable") or ()) if not isinstance(o.get("racks_over_allowable"), int) \
        else o["racks_over_allowable"]
    if n:
        return f"{n} rack{'s' if n != 1 else ''} over allowable"
    return {"degraded": "degraded, nothing lost", "none": "nothing"}.get(o.get("severity_level") or "", "nothing")
