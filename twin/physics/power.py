"""Power chain: the layout's power graph compiled to arrays, and its time step.

Typical use (the engine does this every step)::

    ps = PowerSystem(site, log=sim.events)           # compile + settle
    load = ps.consumer_load(rack_w=..., unit_w=..., chiller_w=..., pump_w=...)
    ps.step(dt_s, load, events_in)                   # records automatic actions in the log
    ps.rack_on, ps.unit_on, ps.chiller_on, ps.pump_on   # energized flags back

Functional layer underneath: :func:`compile_power` -> :class:`PowerPlant`
(static arrays, topological order, id maps), :func:`initial_state` ->
:class:`PowerState` (plain arrays, so a keyframe is a copy),
:func:`apply_events` (injected events), :func:`step_power` (one step, numba
or numpy kernel) returning :class:`Transition` values, and
:func:`record_transitions` (into an :class:`~dctwin.twin.model.events.EventLog`, causes
chained). Model and equations: :mod:`dctwin.twin.physics._power_numba`.

Consumers are numbered racks first (every hall, in hall order), then cooling
units (CRAH/CRAC/in-row/RDHx/CDU), chillers, pumps. A consumer without feeds
is always powered (an unmetered supply) and is not part of any node's load.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple, Optional

import numpy as np

from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.errors import LayoutError, LayoutIssue
from dctwin.twin.model.layout import Site
from dctwin.twin.physics import _power_numba, _power_numpy
from dctwin.twin.physics._util import ArrayState
from dctwin.twin.physics.codes import (
    C_CHILLER, C_PUMP, C_RACK, C_UNIT, CONSUMER_TRANSITIONS, GEN_FAILED, GEN_OFF, GEN_ON_LOAD, GEN_STATE_NAMES, K_ATS,
    K_GENERATOR, K_UPS, K_UTILITY, T_BREAKER_TRIP_AUTO, UPS_MODE_NAMES, power_params,
)
from dctwin.twin.physics.codes import POWER_KIND_CODES as KIND_CODES
from dctwin.twin.physics.codes import POWER_TRANSITION_KINDS as TRANSITION_KINDS
from dctwin.twin.physics.constants import (
    ATS_RETRANSFER_DELAY_S, ATS_START_DELAY_S, ATS_TRANSFER_DELAY_S, BREAKER_TAU_S, BREAKER_TRIP_RATIO,
    GEN_START_DELAY_S, LOSS_FRACTION_DEFAULT, PEUKERT_K, RESTART_DELAY_S, UPS_A0, UPS_A1, UPS_A2,
)

__all__ = [
    "PowerPlant", "PowerState", "Transition", "PowerSystem", "compile_power", "initial_state",
    "apply_events", "step_power", "record_transitions", "static_energized", "static_loads", "breaker_trip_time_s",
    "BREAKER_TAU_S", "BREAKER_TRIP_RATIO",
]

_PRM = power_params()
POWER_EVENT_KINDS = ("utility_loss", "utility_restore", "generator_fail_to_start", "breaker_trip",
                     "fail", "repair")


# --------------------------------------------------------------------------- compiled graph


@dataclass
class PowerPlant:
    """The power graph as arrays, nodes in topological order (inputs first)."""

    node_ids: list[str]
    node_index: dict[str, int]
    kind: np.ndarray            # int8 codes (codes.K_*)
    in_ptr: np.ndarray          # int64 [N+1]
    in_idx: np.ndarray          # int64 [M] input node indexes (ATS: normal, emergency)
    cap_w: np.ndarray           # rating (W); 0 = unlimited (a utility without capacity)
    batt_j: np.ndarray          # battery energy (J) at rated power
    peukert_k: np.ndarray
    has_bypass: np.ndarray      # uint8
    start_delay_s: np.ndarray   # generator start delay / ATS engine-start delay
    transfer_delay_s: np.ndarray
    retransfer_delay_s: np.ndarray
    loss_fraction: np.ndarray   # NaN for UPS = loss curve
    consumer_ids: list[str]
    consumer_index: dict[str, int]
    consumer_kind: np.ndarray   # int8 C_RACK / C_UNIT / C_CHILLER / C_PUMP
    feed_a: np.ndarray          # int64 node index or -1
    feed_b: np.ndarray
    restart_delay_s: np.ndarray
    rack_slice: slice
    unit_slice: slice
    chiller_slice: slice
    pump_slice: slice
    cons_mode: np.ndarray       # uint8 per consumer: 1 rack (down/up, restart delay), 0 unit, 2 flag only

    n_nodes = property(lambda self: len(self.node_ids), doc="How many power nodes.")
    n_consumers = property(lambda self: len(self.consumer_ids), doc="How many racks, units, chillers and pumps.")

    def static_args(self) -> tuple:
        return (self.kind, self.in_ptr, self.in_idx, self.cap_w, self.batt_j, self.peukert_k, self.has_bypass,
                self.start_delay_s, self.transfer_delay_s, self.retransfer_delay_s, self.loss_fraction,
                self.feed_a, self.feed_b, self.cons_mode, self.restart_delay_s)


def _topo_order(site: Site) -> list[str]:
    nodes = {n.id: n for n in site.power_nodes}
    order: list[str] = []
    state: dict[str, int] = {}
    for start in [n.id for n in site.power_nodes]:
        if state.get(start):
            continue
        work = [(start, iter(nodes[start].inputs))]
        state[start] = 1
        while work:
            nid, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                state[nid] = 2
                order.append(nid)
                continue
            if nxt not in nodes:
                continue
            s = state.get(nxt, 0)
            if s == 1:
                raise LayoutError(LayoutIssue(nxt, "inputs", "the power graph has a cycle"))
            if s == 0:
                state[nxt] = 1
                work.append((nxt, iter(nodes[nxt].inputs)))
    return order


def compile_power(site: Site, manage_racks: bool = True) -> PowerPlant:
    """Compile the site's power graph and its consumers into a :class:`PowerPlant`.

    ``manage_racks``: racks go down when every feed is lost and come back
    RESTART_DELAY_S after power returns, with rack_down / rack_up events. With
    False the power chain only reports whether each rack has a live feed
    (:attr:`PowerSystem.rack_powered`) and leaves restarts and rack events to
    the IT model (:func:`dctwin.twin.physics.it.rack_step` takes ``powered``).

    Raises LayoutError naming the element when a feed or input names a node
    that does not exist, or the graph has a cycle (validation catches these first).
    """
    by_id = {n.id: n for n in site.power_nodes}
    order = _topo_order(site)
    index = {nid: i for i, nid in enumerate(order)}
    n = len(order)
    kind = np.zeros(n, np.int8)
    cap = np.zeros(n)
    batt = np.zeros(n)
    pk = np.full(n, PEUKERT_K)
    byp = np.zeros(n, np.uint8)
    start = np.zeros(n)
    tdel = np.full(n, ATS_TRANSFER_DELAY_S)
    rdel = np.full(n, ATS_RETRANSFER_DELAY_S)
    lf = np.zeros(n)
    ptr = [0]
    idx: list[int] = []
    issues: list[LayoutIssue] = []
    for i, nid in enumerate(order):
        node = by_id[nid]
        if node.kind not in KIND_CODES:
            issues.append(LayoutIssue(nid, "kind", f"unknown power node kind {node.kind!r}"))
            continue
        kind[i] = KIND_CODES[node.kind]
        cap[i] = node.capacity_kw * 1e3
        for src in node.inputs:
            if src not in index:
                issues.append(LayoutIssue(nid, "inputs", f"input {src!r} does not exist"))
            else:
                idx.append(index[src])
        if node.kind == "ats" and len(node.inputs) != 2:
            issues.append(LayoutIssue(nid, "inputs", "an ATS needs 2 inputs (normal, emergency)"))
        ptr.append(len(idx))
        if node.kind == "ups":
            batt[i] = (node.battery_kwh or 0.0) * 3.6e6
            pk[i] = node.peukert_k if node.peukert_k is not None else PEUKERT_K
            byp[i] = 1 if (node.bypass is None or node.bypass) else 0
            lf[i] = node.loss_fraction if node.loss_fraction is not None else math.nan
        elif node.kind in LOSS_FRACTION_DEFAULT:
            lf[i] = node.loss_fraction if node.loss_fraction is not None else LOSS_FRACTION_DEFAULT[node.kind]
        if node.kind == "generator":
            start[i] = node.start_delay_s if node.start_delay_s is not None else GEN_START_DELAY_S
        elif node.kind == "ats":
            start[i] = node.start_delay_s if node.start_delay_s is not None else ATS_START_DELAY_S
            if node.transfer_delay_s is not None:
                tdel[i] = node.transfer_delay_s
            if node.retransfer_delay_s is not None:
                rdel[i] = node.retransfer_delay_s
    ids: list[str] = []
    ckind: list[int] = []
    fa: list[int] = []
    fb: list[int] = []
    rdelay: list[float] = []

    def add(el: Any, code: int, restart: float) -> None:
        feeds = list(getattr(el, "feeds", ()) or ())
        for f in feeds:
            if f not in index:
                issues.append(LayoutIssue(el.id, "feeds", f"feed {f!r} is not a power node"))
        good = [index[f] for f in feeds if f in index]
        ids.append(el.id)
        ckind.append(code)
        fa.append(good[0] if len(good) > 0 else -1)
        fb.append(good[1] if len(good) > 1 else -1)
        rdelay.append(restart)

    for hall in site.halls:
        for r in hall.racks:
            add(r, C_RACK, RESTART_DELAY_S)
    r1 = len(ids)
    for hall in site.halls:
        for u in hall.cooling_units:
            add(u, C_UNIT, 0.0)
    u1 = len(ids)
    for ch in site.chillers:
        add(ch, C_CHILLER, 0.0)
    c1 = len(ids)
    for p in site.pumps:
        add(p, C_PUMP, 0.0)
    p1 = len(ids)
    if issues:
        raise LayoutError(issues)
    return PowerPlant(
        node_ids=order, node_index=index, kind=kind, in_ptr=np.asarray(ptr, np.int64),
        in_idx=np.asarray(idx, np.int64), cap_w=cap, batt_j=batt, peukert_k=pk, has_bypass=byp,
        start_delay_s=start, transfer_delay_s=tdel, retransfer_delay_s=rdel, loss_fraction=lf,
        consumer_ids=ids, consumer_index={c: i for i, c in enumerate(ids)},
        consumer_kind=np.asarray(ckind, np.int8), feed_a=np.asarray(fa, np.int64),
        feed_b=np.asarray(fb, np.int64), restart_delay_s=np.asarray(rdelay, float),
        rack_slice=slice(0, r1), unit_slice=slice(r1, u1), chiller_slice=slice(u1, c1), pump_slice=slice(c1, p1),
        cons_mode=np.where(np.asarray(ckind, np.int8) == C_RACK, 1 if manage_racks else 2, 0).astype(np.uint8),
    )


# --------------------------------------------------------------------------- state


@dataclass
class PowerState(ArrayState):
    """Everything that evolves in the power chain (plain arrays; see the kernel for meanings)."""

    t_s: np.ndarray           # [1] time (s)
    last_cause: np.ndarray    # [1] seq of the latest power event (cause of overloads)
    energized: np.ndarray
    avail: np.ndarray         # utility available (utility_loss clears it)
    failed: np.ndarray
    tripped: np.ndarray
    over: np.ndarray
    ups_mode: np.ndarray
    gen_state: np.ndarray
    gen_armed: np.ndarray     # fail-to-start armed
    ats_pos: np.ndarray
    soc: np.ndarray
    gen_timer: np.ndarray
    ats_dead_s: np.ndarray
    ats_timer: np.ndarray
    theta: np.ndarray
    out_w: np.ndarray         # power delivered by the node (W)
    loss_w: np.ndarray
    in_w: np.ndarray          # power drawn from its inputs (W)
    batt_w: np.ndarray        # battery discharge (+) / charge (-) (W)
    node_cause: np.ndarray    # seq of the event that explains the node's present state
    ovl_cause: np.ndarray     # seq of its capacity_exceeded event
    cons_up: np.ndarray
    cons_timer: np.ndarray
    cons_on: np.ndarray       # consumer energized and running
    cons_cause: np.ndarray
    cons_w: np.ndarray        # power drawn by each consumer this step (W)

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of all arrays (a keyframe)."""
        return {f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Make this state equal to a keyframe, in place."""
        for f in dataclasses.fields(self):
            getattr(self, f.name)[...] = arrays[f.name]

    def kernel_args(self) -> tuple:
        return (self.energized, self.avail, self.failed, self.tripped, self.over, self.ups_mode, self.gen_state,
                self.gen_armed, self.ats_pos, self.soc, self.gen_timer, self.ats_dead_s, self.ats_timer,
                self.theta, self.out_w, self.loss_w, self.in_w, self.batt_w, self.node_cause, self.ovl_cause,
                self.cons_up, self.cons_timer, self.cons_on, self.cons_cause, self.cons_w, self.last_cause)


def initial_state(plant: PowerPlant) -> PowerState:
    """All healthy: utilities available, generators off (prime ones on load), batteries full.

    Flags are not yet consistent with the graph; :class:`PowerSystem` settles them.
    """
    n, c = plant.n_nodes, plant.n_consumers
    u8 = lambda v=0: np.full(n, v, np.uint8)  # noqa: E731
    i8 = lambda v=0: np.full(n, v, np.int8)  # noqa: E731
    # a generator that no ATS switches to is a prime source: it runs from the start
    used = np.zeros(n, bool)
    for a in np.nonzero(plant.kind == K_ATS)[0]:
        used[plant.in_idx[plant.in_ptr[a] + 1]] = True
    gen = np.where((plant.kind == K_GENERATOR) & ~used, GEN_ON_LOAD, GEN_OFF).astype(np.int8)
    return PowerState(
        t_s=np.zeros(1), last_cause=np.zeros(1, np.int64), energized=u8(), avail=u8(1), failed=u8(),
        tripped=u8(), over=u8(), ups_mode=i8(), gen_state=gen, gen_armed=u8(), ats_pos=i8(),
        soc=np.where(plant.batt_j > 0, 1.0, 0.0), gen_timer=np.zeros(n), ats_dead_s=np.zeros(n),
        ats_timer=np.zeros(n), theta=np.zeros(n), out_w=np.zeros(n), loss_w=np.zeros(n), in_w=np.zeros(n),
        batt_w=np.zeros(n), node_cause=np.zeros(n, np.int64), ovl_cause=np.zeros(n, np.int64),
        cons_up=np.ones(c, np.uint8), cons_timer=np.zeros(c), cons_on=np.ones(c, np.uint8),
        cons_cause=np.zeros(c, np.int64), cons_w=np.zeros(c),
    )


# --------------------------------------------------------------------------- events in


def _targets(plant: PowerPlant, ev: Event, kind_code: Optional[int]) -> list[int]:
    if ev.target and ev.target in plant.node_index:
        return [plant.node_index[ev.target]]
    if ev.target or kind_code is None:
        return []
    return [i for i in range(plant.n_nodes) if plant.kind[i] == kind_code]


def apply_events(plant: PowerPlant, state: PowerState, events: Iterable[Event]) -> None:
    """Apply injected events to the power state (before the step at their time).

    utility_loss / utility_restore (target a utility, or "" for all); generator_fail_to_start
    (target a generator or all: its next start fails); breaker_trip (opens the node);
    fail / repair of a power node (repair also resets a trip, the breaker's
    thermal state and a failed generator). Other kinds and other targets are ignored.
    """
    for ev in events:
        if ev.kind not in POWER_EVENT_KINDS:
            continue
        touched = False
        if ev.kind in ("utility_loss", "utility_restore"):
            for i in _targets(plant, ev, K_UTILITY):
                if plant.kind[i] == K_UTILITY:
                    state.avail[i] = 0 if ev.kind == "utility_loss" else 1
                    state.node_cause[i] = ev.seq
                    touched = True
        elif ev.kind == "generator_fail_to_start":
            for i in _targets(plant, ev, K_GENERATOR):
                if plant.kind[i] == K_GENERATOR:
                    state.gen_armed[i] = 1
                    touched = True
        elif ev.kind in ("breaker_trip", "fail"):
            for i in _targets(plant, ev, None):
                (state.tripped if ev.kind == "breaker_trip" else state.failed)[i] = 1
                state.node_cause[i] = ev.seq
                touched = True
        elif ev.kind == "repair":
            for i in _targets(plant, ev, None):
                state.failed[i] = 0
                state.tripped[i] = 0
                state.theta[i] = 0.0
                state.gen_armed[i] = 0
                if state.gen_state[i] == GEN_FAILED:
                    state.gen_state[i] = GEN_OFF
                state.node_cause[i] = ev.seq
                touched = True
        if touched:
            state.last_cause[0] = ev.seq


# --------------------------------------------------------------------------- step


class Transition(NamedTuple):
    """One automatic action of a step, before it is recorded.

    ``cause`` is an event seq (> 0), 0 for none, or −(j+1) for transition j of the same step.
    """

    t_s: float
    code: int
    kind: str
    target: str
    cause: int
    condition: str
    value: float


def step_power(plant: PowerPlant, state: PowerState, dt_s: float, load_w: np.ndarray,
               events_in: Iterable[Event] = (), backend: str = "numba") -> tuple[PowerState, list[Transition]]:
    """One step of ``dt_s`` seconds: apply ``events_in``, then run the kernel.

    ``load_w`` (W, one per consumer, :attr:`PowerPlant.consumer_ids` order) is what each
    consumer draws when it runs. Updates ``state`` in place (and returns it) and
    advances ``state.t_s``. Causes in ``state`` stay unresolved (negative) until
    :func:`record_transitions` runs.
    """
    load = np.ascontiguousarray(load_w, dtype=float)
    if load.shape != (plant.n_consumers,):
        raise ValueError(f"load_w has shape {load.shape}, expected ({plant.n_consumers},)")
    apply_events(plant, state, events_in)
    kernel = _power_numba.power_step if backend == "numba" else _power_numpy.power_step
    cap = 8 * plant.n_nodes + 2 * plant.n_consumers + 16
    bufs = (np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap),
            np.zeros(cap))
    t0 = float(state.t_s[0])
    s = plant.static_args()
    count = kernel(t0, float(dt_s), *s, load, *state.kernel_args(), *bufs, _PRM)
    if count > cap:  # cannot happen with the bound above; guard against a silent loss
        raise RuntimeError(f"power step produced {count} transitions, more than the buffer ({cap})")
    state.t_s[0] = t0 + float(dt_s)
    out = []
    for j in range(count):
        code = int(bufs[0][j])
        i = int(bufs[1][j])
        target = plant.consumer_ids[i] if code in CONSUMER_TRANSITIONS else plant.node_ids[i]
        kind, cond = TRANSITION_KINDS[code]
        if code == T_BREAKER_TRIP_AUTO and plant.kind[i] == K_UPS:
            kind, cond = "ups_trip", "overload (I2t), no bypass"
        out.append(Transition(float(bufs[4][j]), code, kind, target, int(bufs[2][j]), cond, float(bufs[3][j])))
    return state, out


def record_transitions(log: EventLog, state: PowerState, transitions: list[Transition]) -> list[Event]:
    """Record transitions into ``log`` in order, resolving their causes to seqs.

    Also replaces the step-local references left in ``state`` (node, overload and
    consumer causes) by the recorded seqs. Returns the recorded events.
    """
    seqs: list[int] = []
    events: list[Event] = []

    def resolve(c: int) -> Optional[int]:
        if c > 0:
            return int(c)
        if c < 0 and -c - 1 < len(seqs):
            return seqs[-c - 1]
        return None

    for tr in transitions:
        details: dict[str, Any] = {}
        if tr.kind in ("capacity_exceeded", "breaker_trip_auto", "ups_trip", "ups_on_bypass"):
            details["load_ratio"] = round(tr.value, 4)
        elif tr.kind in ("ups_on_battery", "ups_online"):
            details["soc"] = round(tr.value, 4)
        ev = log.record(tr.t_s, tr.kind, tr.target, cause=resolve(tr.cause), condition=tr.condition, **details)
        seqs.append(ev.seq)
        events.append(ev)
    for arr in (state.node_cause, state.ovl_cause, state.cons_cause):
        neg = np.nonzero(arr < 0)[0]
        for i in neg:
            r = resolve(int(arr[i]))
            arr[i] = r if r is not None else 0
    if seqs:
        state.last_cause[0] = seqs[-1]
    return events


# --------------------------------------------------------------------------- static analysis


def static_energized(plant: PowerPlant, state: PowerState,
                     failed_extra: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Which nodes would be live once settled if the nodes in ``failed_extra`` (bool mask) were
    lost: ``(energized, selected input)`` (bool per node; the input an ATS would be on).

    Settled view: utilities as available now, a generator live unless it has failed (a start
    takes seconds, it is not a loss), ATSs on whichever input is live (normal first), a node
    live while any input is live, a UPS with charge in its battery live on its own.
    """
    n = plant.n_nodes
    dead = (state.failed != 0) | (state.tripped != 0)
    if failed_extra is not None:
        dead = dead | failed_extra
    en = np.zeros(n, bool)
    sel = np.zeros(n, np.int64)
    for i in range(n):
        if dead[i]:
            continue
        k = plant.kind[i]
        ins = plant.in_idx[plant.in_ptr[i]:plant.in_ptr[i + 1]]
        if k == K_UTILITY:
            en[i] = state.avail[i] != 0
        elif k == K_GENERATOR:
            en[i] = state.gen_state[i] != GEN_FAILED
        elif k == K_ATS:
            nrm_ok = en[ins[0]] and (plant.kind[ins[0]] != K_GENERATOR or state.gen_state[ins[0]] == GEN_ON_LOAD)
            sel[i] = ins[0] if nrm_ok or not en[ins[1]] else ins[1]
            en[i] = en[sel[i]]
        else:
            en[i] = en[ins].any() or (k == K_UPS and state.soc[i] > 0 and plant.batt_j[i] > 0)
    return en, sel


def static_loads(plant: PowerPlant, state: PowerState, load_w: np.ndarray,
                 failed_extra: Optional[np.ndarray] = None) -> np.ndarray:
    """Steady load (W out of each node) if the nodes in ``failed_extra`` (bool mask) were lost.

    Settled view (:func:`static_energized`): sources as they are now, ATSs on whichever input
    is live (normal first), UPSs online while any input is live, every consumer that still has
    a live feed running. Used for N-1 headroom and the contingency sweep's static pass.
    """
    n = plant.n_nodes
    en, sel = static_energized(plant, state, failed_extra)
    out = np.zeros(n)
    fa, fb = plant.feed_a, plant.feed_b
    live_a = (fa >= 0) & en[np.where(fa >= 0, fa, 0)]
    live_b = (fb >= 0) & en[np.where(fb >= 0, fb, 0)]
    running = state.cons_up != 0
    w = np.where(running, np.asarray(load_w, float), 0.0)
    both = live_a & live_b
    np.add.at(out, fa[both], 0.5 * w[both])
    np.add.at(out, fb[both], 0.5 * w[both])
    np.add.at(out, fa[live_a & ~live_b], w[live_a & ~live_b])
    np.add.at(out, fb[live_b & ~live_a], w[live_b & ~live_a])
    for i in range(n - 1, -1, -1):
        if not en[i]:
            out[i] = 0.0
            continue
        k = plant.kind[i]
        po = out[i]
        if k == K_UPS:
            if math.isnan(plant.loss_fraction[i]):
                x = po / plant.cap_w[i] if plant.cap_w[i] > 0 else 0.0
                pin = po + plant.cap_w[i] * (UPS_A0 + UPS_A1 * x + UPS_A2 * x * x)
            else:
                pin = po * (1 + plant.loss_fraction[i])
        elif k in (K_UTILITY, K_GENERATOR, K_ATS):
            pin = po
        else:
            pin = po * (1 + plant.loss_fraction[i])
        ins = plant.in_idx[plant.in_ptr[i]:plant.in_ptr[i + 1]]
        if k == K_ATS:
            out[sel[i]] += pin
        else:
            live = ins[en[ins]]
            if len(live):
                out[live] += pin / len(live)
    return out


def breaker_trip_time_s(ratio: float, theta0: float = 0.0, tau_s: float = BREAKER_TAU_S,
                        trip_ratio: float = BREAKER_TRIP_RATIO) -> float:
    """Time to trip (s) at a constant load ratio I/In from thermal state ``theta0`` (inf if never).

    θ(t) = r² + (θ0 − r²) e^(−t/τ) reaches R² at t = −τ ln((r² − R²)/(r² − θ0)).
    """
    r2, R2 = ratio * ratio, trip_ratio * trip_ratio
    if theta0 >= R2:
        return 0.0
    if r2 <= R2:
        return math.inf
    return -tau_s * math.log((r2 - R2) / (r2 - theta0))


# --------------------------------------------------------------------------- driver


class PowerSystem:
    """Compiled plant + state + event recording: what the engine holds.

    ``log``: the run's EventLog (a private one if None). ``backend``: "numba" or "numpy".
    On construction the graph is settled (energized flags, initial loads with
    ``load_w`` if given, breaker thermal states at their steady value) without
    recording anything.
    """

    def __init__(self, site: Site, log: Optional[EventLog] = None, backend: str = "numba",
                 load_w: Optional[np.ndarray] = None, manage_racks: bool = True):
        self.plant = compile_power(site, manage_racks)
        self.state = initial_state(self.plant)
        self.log = log if log is not None else EventLog()
        self.backend = backend
        self.settle(load_w)

    # ---- loads
    def consumer_load(self, rack_w: Optional[np.ndarray] = None, unit_w: Optional[np.ndarray] = None,
                      chiller_w: Optional[np.ndarray] = None, pump_w: Optional[np.ndarray] = None) -> np.ndarray:
        """One load vector (W) from per-kind arrays (racks / units / chillers / pumps order of the plant)."""
        p = self.plant
        load = np.zeros(p.n_consumers)
        for sl, arr in ((p.rack_slice, rack_w), (p.unit_slice, unit_w), (p.chiller_slice, chiller_w),
                        (p.pump_slice, pump_w)):
            if arr is not None:
                load[sl] = arr
        return load

    def settle(self, load_w: Optional[np.ndarray] = None) -> None:
        """Make flags and loads consistent with the graph at the present time, recording nothing.

        Breaker thermal states are set to their steady value for the settled load.
        """
        load = np.zeros(self.plant.n_consumers) if load_w is None else np.asarray(load_w, float)
        t = self.state.t_s.copy()
        step_power(self.plant, self.state, 0.0, load, (), self.backend)
        for arr in (self.state.node_cause, self.state.ovl_cause, self.state.cons_cause):
            arr[arr < 0] = 0
        self.state.t_s[...] = t
        cap = self.plant.cap_w
        r = np.divide(self.state.out_w, cap, out=np.zeros_like(cap), where=cap > 0)
        self.state.theta[...] = np.minimum(r * r, BREAKER_TRIP_RATIO ** 2 * (1 - 1e-9))

    # ---- step
    def step(self, dt_s: float, load_w: np.ndarray, events_in: Iterable[Event] = ()) -> list[Event]:
        """Apply injected events, advance ``dt_s``, record automatic actions; returns them."""
        _, trans = step_power(self.plant, self.state, dt_s, load_w, events_in, self.backend)
        return record_transitions(self.log, self.state, trans)

    # ---- flags back to the engine
    @property
    def t_s(self) -> float:
        return float(self.state.t_s[0])

    def consumers_on(self, kind: str) -> np.ndarray:
        """Which consumers of ``kind`` (rack, unit, chiller, pump) are energized and running."""
        return self.state.cons_on[getattr(self.plant, f"{kind}_slice")].astype(bool)

    rack_on = property(lambda self: self.consumers_on("rack"))
    unit_on = property(lambda self: self.consumers_on("unit"))
    chiller_on = property(lambda self: self.consumers_on("chiller"))
    pump_on = property(lambda self: self.consumers_on("pump"))

    @property
    def rack_powered(self) -> np.ndarray:
        """Racks with at least one live feed (before the restart delay)."""
        p, s = self.plant, self.state
        fa, fb = p.feed_a[p.rack_slice], p.feed_b[p.rack_slice]
        en = s.energized.astype(bool)
        return (((fa < 0) & (fb < 0)) | ((fa >= 0) & en[np.where(fa >= 0, fa, 0)])
                | ((fb >= 0) & en[np.where(fb >= 0, fb, 0)]))

    def rack_power_causes(self) -> dict[str, int]:
        """Rack id -> seq of the event behind the loss of its power, for racks without a live feed
        (the newest cause among its feeds; pass to :func:`dctwin.twin.physics.it.record_rack_events`)."""
        p, s = self.plant, self.state
        out: dict[str, int] = {}
        powered = self.rack_powered
        for k, i in enumerate(range(p.rack_slice.start, p.rack_slice.stop)):
            if powered[k]:
                continue
            c = 0
            for f in (p.feed_a[i], p.feed_b[i]):
                if f >= 0:
                    c = max(c, int(s.node_cause[f]))
            if c > 0:
                out[p.consumer_ids[i]] = c
        return out

    def consumer_cause(self, consumer_id: str) -> Optional[int]:
        """Seq of the event behind the consumer's present power state (None if none)."""
        c = int(self.state.cons_cause[self.plant.consumer_index[consumer_id]])
        return c if c > 0 else None

    # ---- summaries
    def node(self, node_id: str) -> dict[str, Any]:
        """Readable state of one node."""
        p, s = self.plant, self.state
        i = p.node_index[node_id]
        d: dict[str, Any] = {"energized": bool(s.energized[i]), "load_w": float(s.out_w[i]),
                             "loss_w": float(s.loss_w[i]), "input_w": float(s.in_w[i]),
                             "capacity_w": float(p.cap_w[i]), "tripped": bool(s.tripped[i]),
                             "failed": bool(s.failed[i]), "breaker_theta": float(s.theta[i])}
        if p.kind[i] == K_UPS:
            d.update(mode=UPS_MODE_NAMES[s.ups_mode[i]], soc=float(s.soc[i]), battery_w=float(s.batt_w[i]))
        elif p.kind[i] == K_GENERATOR:
            d.update(state=GEN_STATE_NAMES[s.gen_state[i]])
        elif p.kind[i] == K_ATS:
            d.update(position="emergency" if s.ats_pos[i] else "normal")
        return d

    def totals(self) -> dict[str, float]:
        """IT / mechanical / loss / charge power (W) this step.

        IT = rack draw; mechanical = units, chillers, pumps; losses = node losses;
        charge = battery recharge; facility = their sum.
        """
        p, s = self.plant, self.state
        it = float(s.cons_w[p.rack_slice].sum())
        units = float(s.cons_w[p.unit_slice].sum())
        chillers = float(s.cons_w[p.chiller_slice].sum())
        pumps = float(s.cons_w[p.pump_slice].sum())
        losses = float(s.loss_w.sum())
        charge = float(np.clip(-s.batt_w, 0.0, None).sum())
        return {"it_w": it, "units_w": units, "chillers_w": chillers, "pumps_w": pumps,
                "mechanical_w": units + chillers + pumps, "losses_w": losses, "charge_w": charge,
                "facility_w": it + units + chillers + pumps + losses + charge}

    def keyframe(self) -> dict[str, np.ndarray]:
        return self.state.arrays()

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.state.restore(arrays)
