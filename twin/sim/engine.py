"""The simulation engine: a hall's air, racks, cooling units (and power) stepped together.

``Simulation(site)`` compiles the layout once (:class:`~dctwin.twin.sim.hall.HallSystem`: air
grid, rack/unit/workload arrays) and holds the state as plain arrays
(:class:`~dctwin.twin.sim.hall.HallState`), so a keyframe is a copy and a restore followed by
``step`` is bit-identical to the live run. It orchestrates the hall, the site's power chain and
chilled-water plant (:class:`~dctwin.twin.sim.facility.Facility`), the alarms and the events.

Each step of ``dt_s`` (order matters and is fixed):

1. injected events due at the start of the step are applied (failures, repairs, load and
   setpoint changes; :mod:`~dctwin.twin.sim.injection`), and the power chain steps with them;
2. utilization u(t) of every rack from its workload profile;
3. racks: protection (throttle/shutdown with dwell) from the start-of-step inlet, power and
   airflow (OpenStudio curves), server thermal mass (exact exponential), cold plates against
   their CDU;
4. cooling units: fan speed, coil with capacity and supply loop;
5. the flow follows the airflows (:mod:`~dctwin.twin.sim.flows`: hold, carry the last march
   over, or re-march);
6. air temperature: conservative transport over the step, with rack exhaust temperatures
   chosen so each rack gives the air exactly its heat (``T_in + Q/(rho cp q)`` with the flow's
   rack flux q) and unit supplies / plenum tiles at their supply temperatures;
7. rack inlets and unit returns: flow-weighted means over intake faces
   (:mod:`~dctwin.twin.sim.transient` does 3-7);
8. automatic actions become events with causes; the plant steps with the heat into its loop;
   alarms are evaluated.

The steady solve (:mod:`~dctwin.twin.sim.steady`) iterates racks, units, flow and the steady
temperature field to a fixed point (the editor calls it after each edit).
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.events import Event, EventLog
from dctwin.twin.model.heat import hall_stranded_heat
from dctwin.twin.model.layout import Hall, Site
from dctwin.twin.physics.cooling_air import cdu_heat
from dctwin.twin.physics.it import power_now, record_rack_events, server_intake_c
from dctwin.twin.sim import adaptive as adaptive_steps
from dctwin.twin.sim import heatup, solved, steady
from dctwin.twin.sim.air_models import AirModel
from dctwin.twin.sim.alarms import AlarmMonitor
from dctwin.twin.sim.budget import check_air_grid
from dctwin.twin.sim.guard import check_results
from dctwin.twin.sim.facility import Facility
from dctwin.twin.sim.hall import HallState, HallSystem
from dctwin.twin.sim.heatup import NoCoolingPath
from dctwin.twin.sim.injection import INJECTED_KINDS, Injector
from dctwin.twin.sim.keyframes import prefixed, unprefixed
from dctwin.twin.sim.metrics import solve_power_extras
from dctwin.twin.sim.results import HallSummary, RunSummary
from dctwin.twin.sim.steady import Cancelled
from dctwin.twin.sim.stats import RunStats
from dctwin.twin.sim.summary import ENGINE_VERSION, hall_metrics, hall_summary, run_summary
from dctwin.twin.sim.transient import step_hall

__all__ = ["Simulation", "Cancelled", "ENGINE_VERSION", "INJECTED_KINDS", "NoCoolingPath"]


def _forward(part: str, name: str, doc: str = "", settable: bool = False) -> property:
    """The attribute ``name`` of the simulation's ``part`` (system, facility, state) as its own."""
    def get(self):
        return getattr(getattr(self, part), name)

    def put(self, value) -> None:
        setattr(getattr(self, part), name, value)

    return property(get, put if settable else None, doc=doc or f"``{part}.{name}``")


def _check_dt(dt_s: float) -> float:
    if not (0 < dt_s <= 10):
        raise InputError(f"dt must be above 0 and at most 10 s, got {dt_s:g}")
    return float(dt_s)


class Simulation:
    """One hall of a site, compiled and stepped. See the module docstring."""

    #: a cold steady solve reuses a verified stored solution (:mod:`~dctwin.twin.sim.solved`); False: solved from rest
    #: (and stored); None: the store is left alone (placement's candidate layouts, a calibration's trial models)
    reuse_solution: Optional[bool] = True
    #: the last steady solve's :class:`~dctwin.twin.sim.solved.Outcome` (None before the first)
    solution: Optional[solved.Outcome] = None

    def __init__(self, site: Site, hall_id: Optional[str] = None, *, grid_m: Optional[float] = None,
                 dt_s: float = 1.0, base_dir: Optional[str] = None,
                 warm_from: Optional["Simulation"] = None, air_model: Union[str, AirModel] = "fast") -> None:
        """Compile ``site`` (one hall). ``warm_from``: the simulation of the layout before an
        edit; its flow and temperatures start this one's solves (same grid only). ``air_model``:
        "fast" (default) or "validated" (steady solves only; :data:`dctwin.twin.sim.air_models.AIR_MODELS`),
        or a model itself (a recording's, :func:`dctwin.twin.sim.air_models.from_params`)."""
        if not site.halls:
            raise InputError("the site has no hall to simulate")
        try:
            hall: Hall = site.get_hall(hall_id) if hall_id else site.halls[0]
        except KeyError:
            raise InputError(f"no hall {hall_id!r} (halls: {', '.join(h.id for h in site.halls)})") from None
        self.dt_s = _check_dt(dt_s)
        check_air_grid(hall, grid_m)  # before the grid is built: a billion cells would fill the memory
        self.site, self.hall, self.grid_m = site, hall, grid_m
        self.system = HallSystem(site, hall, grid_m, base_dir, air_model)
        self.events = EventLog()
        self.facility = Facility(site, self.system, self.events, base_dir)
        self.injector = Injector(self.system, self.events, self.facility.cplant is not None)
        self.state = HallState.initial(self.system)
        self.stats = RunStats()
        self.alarm_monitor = AlarmMonitor(self.system, self.events, self.facility.power)
        #: the heat of this hall that no cooling unit can take (None: it has a way out); such a hall has
        #: no steady state: its runs start from the heat-up (:mod:`~dctwin.twin.sim.heatup`)
        self.stranded = hall_stranded_heat(hall)
        if self.stranded is not None:
            self.system.potential_base = heatup.rest_flow(self.system)
        if (warm_from is not None and warm_from.flow is not None and warm_from.hall.id == hall.id
                and warm_from.air.shape == self.air.shape):
            self.state.warm_start(self.system, warm_from.system, warm_from.state)

    # ------------------------------------------------------------------ the parts and the state, by their old names
    air = _forward("system", "air", "The compiled air side (:class:`~dctwin.twin.sim.compile.AirPlant`).")
    ra = _forward("system", "ra", "Rack design arrays.")
    ua = _forward("system", "ua", "Cooling-unit design arrays.")
    wl = _forward("system", "wl", "Rack workload profiles.")
    rack_ids = _forward("system", "rack_ids")
    unit_ids = _forward("system", "unit_ids")
    rack_cdu = _forward("system", "rack_cdu", "Each rack's CDU (unit index, -1: none).")
    compile_s = _forward("system", "compile_s", "Wall time of the hall's compile (s).")
    power = _forward("facility", "power", "The site's power chain (None without power nodes).")
    cplant = _forward("facility", "cplant", "The site's chilled-water plant (None without one).")
    metrics = _forward("facility", "metrics", "Energy metrics of the run (None without a power chain).")
    warnings = _forward("state", "warnings", "What the compile and the flow solves could not honour.")
    t_s = _forward("state", "t_s", "Simulated time (s).", settable=True)
    T = _forward("state", "T", "Air temperature (°C, (nx, ny, nz)).")
    flow = _forward("state", "flow", "The air flow the temperatures move on (None before the first solve).")
    rack_inlet_c = _forward("state", "rack_inlet_c", "Rack intake air (°C).", settable=True)
    unit_return_c = _forward("state", "unit_return_c", "Cooling-unit return air (°C).")
    rack_state = _forward("state", "rack_state")
    unit_state = _forward("state", "unit_state")
    rack_exhaust_c = _forward("state", "rack_exhaust_c", "Rack exhaust air (°C).")
    rack_power_w = _forward("state", "rack_power_w", "Electrical power each rack draws now (W).")
    energy_acc = _forward("state", "energy_acc")
    air_sweeps = _forward("state", "air_sweeps", "Line sweeps the last step's temperature solve took.")
    air_local_passes = _forward("state", "air_local_passes")
    air_step_s = _forward("state", "air_step_s", "Wall time of the last step's temperature transport (s).")

    @property
    def alarms(self) -> list[dict]:
        """Alarm records so far (raised and cleared), oldest first: see :mod:`dctwin.twin.sim.alarms`."""
        return self.alarm_monitor.alarms

    # ------------------------------------------------------------------ couplings
    def running_units(self) -> np.ndarray:
        """int8 per unit: not failed, fed, and (a plant CDU) its pump running."""
        return self.facility.running_units(self.state.unit_failed)

    def powered_racks(self) -> np.ndarray:
        return self.facility.powered_racks(self.state.rack_failed)

    def stored_energy_j(self) -> float:
        """Heat held by the air and the servers (J), and what the air still owes the racks."""
        return self.state.stored_energy_j(self.system)

    def _inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(utilization, powered racks, running units) now."""
        st = self.state
        return (self.system.wl.utilization(st.t_s, st.u_override), self.powered_racks(), self.running_units())

    # ------------------------------------------------------------------ steady
    def solve_steady(self, cancel: Optional[Callable[[], bool]] = None,
                     on_partial: Optional[Callable[["Simulation", HallSummary], None]] = None,
                     tol_k: float = steady.STEADY_TOL_K, partial_power: bool = True) -> HallSummary:
        """Steady state at the current time and inputs (flow, racks, units, air). Returns :meth:`summary`.

        ``cancel()`` is polled between iterations; when it returns True the solve stops with
        :class:`Cancelled` (a newer edit supersedes it). ``on_partial(sim, summary)`` gets a quick
        first answer on a briefly re-marched flow when the solve was warm-started, before the
        flow has converged (``summary.settling``). ``tol_k``: the fixed point's tolerance (K; see
        :func:`~dctwin.twin.sim.steady.settle_hall`). ``partial_power`` False: the quick answer's summary comes
        without the power chain's headroom and PUE (:meth:`power_extras`, called in ``on_partial``, gives them).
        """
        hs, st, fac = self.system, self.state, self.facility
        if self.stranded is not None:  # said in words at once: no solver runs looking for what is not there
            raise heatup.NoCoolingPath(self.stranded)
        t0 = time.perf_counter()
        if st.flow is None and st.warm_flow is not None and on_partial is not None:
            if steady.quick_answer(hs, st, *self._inputs(), fac.chw_supply_c):
                self._settle_facility(st.last_rack, st.last_unit)  # the power chain carries the new racks too
                st.solve_s = time.perf_counter() - t0
                quick = self.summary(partial_power)
                quick.settling = True
                on_partial(self, quick)
                st.flow = None  # the full march follows, warm-started from the previous layout's flow
        self.solution = solved.settle(hs, st, *self._inputs(), fac.chw_supply_c, self.stats, cancel, tol_k,
                                      reuse=self.reuse_solution)  # a cold solve: a verified stored solution
        return self._started(self.solution.rack, self.solution.unit, t0)

    def start_heat_up(self) -> HallSummary:
        """The start of a hall whose heat has nowhere to go (``stranded``): the hall at its supply
        temperature, the racks' airflows on a potential flow, the diagnosis among the warnings. Its
        transient then shows the heat-up. Returns :meth:`summary`."""
        hs, st = self.system, self.state
        u, powered, running = self._inputs()
        heatup.start(hs, st, u, powered, hs.potential_base, self.stranded, running)
        return self._started(st.last_rack, st.last_unit)

    def _started(self, rs, us, t0: Optional[float] = None) -> HallSummary:
        """A run's start at the racks' and units' states ``rs``, ``us``: the facility settled on them, the
        energy books opened on what the hall holds now, the alarms watched from here (``t0``: when the
        steady solve began, for its ``solve_s``)."""
        st = self.state
        self._settle_facility(rs, us)
        if t0 is not None:
            st.solve_s = time.perf_counter() - t0
        check_results(self)  # NaN, infinity or below absolute zero: an error naming the element, never a figure
        st.energy_acc[:] = 0.0
        st.energy_acc[2] = self.stored_energy_j()
        self.alarm_monitor.reset()
        self.alarm_monitor.update(0.0, st, self.running_units())
        return self.summary()

    def start(self) -> HallSummary:
        """The state a run starts from: the steady state, or the heat-up's start for a hall without cooling."""
        return self.start_heat_up() if self.stranded is not None else self.solve_steady()

    def _settle_facility(self, rs, us) -> None:
        """The power chain and the plant at the racks' and units' steady loads ``rs``, ``us``."""
        hs = self.system
        liquid_removed = cdu_heat(hs.ua, rs.liquid_power_w, hs.rack_cdu, self.running_units())[1]
        self.facility.settle(rs, us, hs.heat_to_loop_w(us, self.state.door_duty, float(np.sum(liquid_removed))))

    # ------------------------------------------------------------------ transient
    def step(self, dt_s: Optional[float] = None) -> None:
        """Advance the whole hall by ``dt_s`` (default the engine step)."""
        dt = self.dt_s if dt_s is None else _check_dt(dt_s)
        hs, st, fac = self.system, self.state, self.facility
        if not hs.air_model.runs:
            raise InputError(f"the {hs.air_model_name!r} air model solves steady states only; runs use \"fast\"")
        if st.flow is None:
            self.start()
        self.injector.apply_due(st)
        due = self.injector.take_due()
        seq0 = self.events.last_seq
        fac.step_power(dt, due)
        res = step_hall(hs, st, dt, *self._inputs(), fac.chw_supply_c, self.stats)
        if res.rack.code.any():  # rack transitions; a rack that lost its feeds points at the power event
            record_rack_events(self.events, st.t_s + dt, hs.ra, res.rack, causes=fac.rack_power_causes())
        fac.step_plant(dt, hs.heat_to_loop_w(res.unit, res.door_duty_w, res.liquid_removed_w), due)
        fac.account(dt, res.rack, res.unit, self.events.since(seq0))
        st.t_s = st.t_s + dt
        check_results(self)
        self.stats.track(hs, st, fac, self.events, seq0, dt)
        self.alarm_monitor.update(dt, st, self.running_units())

    def run(self, duration_s: float, dt_s: Optional[float] = None,
            progress: Optional[Callable[[float], None]] = None,
            on_step: Optional[Callable[["Simulation"], None]] = None, *, adaptive: bool = False,
            max_dt_s: Optional[float] = None, land_on: Sequence[float] = ()) -> RunSummary:
        """Step for ``duration_s`` (the last step is shortened to land on it). Returns :meth:`run_summary`.

        ``adaptive``: the step grows up to ``max_dt_s`` in quiet stretches and is ``dt_s`` around
        anything that happens (:mod:`~dctwin.twin.sim.adaptive`); ``on_step`` then runs after each
        step taken, long or short (``max_dt_s`` default :data:`~dctwin.twin.sim.adaptive.MAX_DT_S`). ``land_on``: times (s) an adaptive run's steps end on exactly.
        A recording (:func:`dctwin.twin.store.record_run`) needs fixed steps: its replay steps ``dt``."""
        dt = self.dt_s if dt_s is None else float(dt_s)
        if self.state.flow is None:
            self.start()
        st = self.state
        t_end = st.t_s + float(duration_s)
        self.stats = RunStats()
        e0 = self.stored_energy_j()
        st.energy_acc[:] = 0.0
        st.energy_acc[2] = e0
        if self.ra.n:
            self.stats.max_inlet_c = float(st.rack_inlet_c.max())
        if adaptive:
            self._run_adaptive(t_end, dt, _check_dt(max_dt_s or adaptive_steps.MAX_DT_S), land_on, progress, on_step)
            return self.run_summary(duration_s, dt)
        for _ in range(int(math.ceil(duration_s / dt - 1e-9))):
            h = min(dt, t_end - st.t_s)
            if h <= 1e-9:
                break
            self.step(h)
            if on_step is not None:
                on_step(self)
            if progress is not None:
                progress(duration_s - (t_end - st.t_s))
        return self.run_summary(duration_s, dt)

    def _run_adaptive(self, t_end: float, dt: float, max_dt: float, land_on: Sequence[float],
                      progress: Optional[Callable[[float], None]],
                      on_step: Optional[Callable[["Simulation"], None]]) -> None:
        """The steps of an adaptive :meth:`run` to ``t_end`` (see :mod:`~dctwin.twin.sim.adaptive`)."""
        st, stats = self.state, self.stats
        ctl = adaptive_steps.StepControl(dt, max_dt)
        ctl.happened(st.t_s - adaptive_steps.SETTLE_S, adaptive_steps.watched(self))  # calm now, no history yet
        stats.adaptive = True
        st.air_blocks = True  # its steps are never replayed: the temperature solve corrects blocks (thermal.step)
        try:
            self._adaptive_steps(t_end, dt, ctl, land_on, progress, on_step)
        finally:
            self.state.air_blocks = False

    def _adaptive_steps(self, t_end: float, dt: float, ctl: "adaptive_steps.StepControl", land_on: Sequence[float],
                        progress: Optional[Callable[[float], None]],
                        on_step: Optional[Callable[["Simulation"], None]]) -> None:
        """:meth:`_run_adaptive`'s loop of steps, each kept or redone (``ctl`` the step control)."""
        st = self.state
        t0, duration = st.t_s, t_end - st.t_s
        rejected = 0
        while t_end - st.t_s > 1e-9:
            t = st.t_s
            ends = [t_end] + [m for m in land_on if m > t + 1e-9]
            nxt = self.injector.next_due_s()
            if nxt is not None:  # the first grid time at or after it: where the fixed-step run applies it
                ends.append(t0 + math.ceil((nxt - t0) / dt - 1e-9) * dt)
            ends.append(adaptive_steps.next_minute_s(t))
            room = min(ends) - t
            quiet = (t >= ctl.calm_at - 1e-9 and room > 1e-9 and not adaptive_steps.clear_timer_running(self.alarm_monitor)
                     and not self._approaching(ctl))
            h = min(ctl.h if quiet else dt, room) if room > 1e-9 else dt
            h = min(h, t_end - t)
            long = h > dt + 1e-9
            snap = adaptive_steps.Snapshot.take(self) if long else None
            seq0, n_alarms, flows0 = self.events.last_seq, len(self.alarms), self.stats.flow_changes()
            self.step(h)
            x = adaptive_steps.watched(self)
            # an event, an alarm, or the flow following the airflows (a re-march or carry-over: a step change)
            happened = (self.events.last_seq != seq0 or len(self.alarms) != n_alarms
                        or self.stats.flow_changes() != flows0)
            err = None if happened else ctl.estimate(x, h)
            if snap is not None and (happened or adaptive_steps.clear_timer_running(self.alarm_monitor)
                                     or (err is not None and err > adaptive_steps.REJECT * ctl.tol)):
                snap.put_back(self)  # redo the stretch: at dt when something happened in it, else at half
                rejected += 1
                if happened or err is None or err <= adaptive_steps.REJECT * ctl.tol:
                    ctl.h = dt
                    ctl.calm_at = max(ctl.calm_at, t + h)  # the whole stretch at dt: the happening falls in it
                else:
                    ctl.reject(h)
                continue
            if happened:
                ctl.happened(st.t_s, x)
            else:
                ctl.accept(x, h, err)
            if on_step is not None:
                on_step(self)
            if progress is not None:
                progress(duration - (t_end - st.t_s))
        self.stats.rejected = rejected

    def _approaching(self, ctl: "adaptive_steps.StepControl") -> bool:
        """A rack's server intake nears an inlet alarm's threshold (:func:`~dctwin.twin.sim.adaptive.approaching`),
        at its rate over the last step (``ctl.intake``, kept here)."""
        if not self.ra.n:
            return False
        intake = server_intake_c(self.ra, self.state.rack_inlet_c, self.state.rack_state)
        last, ctl.intake = ctl.intake, (self.state.t_s, intake)
        if last is None or self.state.t_s <= last[0]:
            return True
        rate = (intake - last[1]) / (self.state.t_s - last[0])
        return adaptive_steps.approaching(self.alarm_monitor, intake, rate, self.state.t_s)

    # ------------------------------------------------------------------ events
    def inject(self, kind: str, target: str = "", cause: Optional[int] = None, **details: Any) -> Event:
        """Apply an injected event now and record it (kinds and targets:
        :mod:`dctwin.twin.sim.injection`). Raises InputError naming the unknown kind or
        target; nothing is recorded then."""
        return self.injector.inject(self.state, kind, target, cause, **details)

    def schedule(self, t_s: float, kind: str, target: str = "", **details: Any) -> None:
        """Inject an event at the start of the first step at or after ``t_s``.

        The kind and target are checked now, so a bad incident fails before the run.
        """
        self.injector.schedule(self.state.t_s, t_s, kind, target, **details)

    # ------------------------------------------------------------------ keyframes
    def keyframe(self) -> dict[str, np.ndarray]:
        """Copies of every state array (restore + step reproduces the live run bit for bit)."""
        if self.state.flow is None:
            self.start()
        k = self.state.arrays()
        k.update(self.facility.arrays())
        k["event_seq"] = np.array(self.events.last_seq, dtype=np.int64)
        k["next_event"] = np.array(self.injector.next_event, dtype=np.int64)
        k.update(prefixed("alarm_", self.alarm_monitor.arrays()))
        return k

    def restore(self, k: dict[str, np.ndarray]) -> None:
        """Put the state back from a :meth:`keyframe` (of the same layout).

        A keyframe that lacks an array this engine keeps (written by another engine
        version) is refused with InputError; the simulation must then be discarded.
        """
        try:
            self.state.restore(k, self.air.shape)
            self.facility.restore(k)
            self.injector.next_event = int(k["next_event"])
            self.injector.forget_due()
            # events recorded after the keyframe are forgotten; new ones continue its numbering
            self.events.truncate_after_seq(int(k["event_seq"]))
            if "alarm_count" in k:
                self.alarm_monitor.restore(unprefixed("alarm_", k), self.state)
            st = self.state
            # the keyframe holds the racks' state, not the power of the step before it: what that state draws
            st.restored_power_w = power_now(self.ra, st.rack_state, self.wl.utilization(st.t_s, st.u_override),
                                            st.rack_inlet_c)
        except KeyError as exc:
            raise InputError(f"this keyframe lacks the array {exc}: it was written by another dctwin engine "
                             f"version; record the run again") from None

    # ------------------------------------------------------------------ views
    def hall_metrics(self) -> dict[str, float]:
        """Scalar metrics of the hall now, for recordings and trends."""
        return hall_metrics(self.system, self.state, self.facility)

    def air_temperature_slice(self, z_m: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """Air temperature (°C) in the horizontal cell layer at height ``z_m``: ([nx, ny], extent)."""
        ap = self.air
        k = int(min(max(math.floor(z_m / ap.dz), 0), ap.nz - 1))
        sl = np.array(self.state.T[:, :, k], copy=True)
        sl[ap.solid[:, :, k]] = np.nan
        return sl, (0.0, 0.0, ap.nx * ap.dx, ap.ny * ap.dy)

    def summary(self, power_extras: bool = True) -> HallSummary:
        """The state now, with the keys of ``dctwin solve --json`` (``power_extras`` False: without the power
        chain's headroom and PUE, :meth:`power_extras` gives them)."""
        if self.state.flow is None:
            return self.start()
        return hall_summary(self.system, self.state, self.facility, power_extras)

    def power_extras(self) -> tuple[dict, Optional[float]]:
        """The power chain's headroom per node and the PUE now, as :meth:`summary` reports them (``power_nodes``,
        ``pue``); ({}, None) without a power chain."""
        return solve_power_extras(self.power) if self.power is not None else ({}, None)

    def run_summary(self, duration_s: float, dt_s: float) -> RunSummary:
        """Summary of the last :meth:`run`: the state at its end plus what happened during it."""
        return run_summary(self.summary(), self.state, self.stored_energy_j(), self.stats, self.facility,
                           self.events, self.alarms, duration_s, dt_s, self.ra.n)
