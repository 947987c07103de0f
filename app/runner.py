"""The simulation worker: steady solves after edits and the Run/Pause transient, off the GUI thread.

One :class:`dctwin.app.workers.Worker` (thread ``dctwin-sim``) owns the
:class:`dctwin.twin.sim.engine.Simulation`. The GUI asks for a solve with
:meth:`SimRunner.request_solve` (a copy of the site); a newer request supersedes
an older one (its token is cancelled, the solve stops and its result is dropped).
While running, the worker's idle work steps the transient at the chosen speed and
sends at most ``MAX_FPS`` frames per second, however fast the engine goes. The
engine's numba kernels release the GIL, so the GUI stays responsive.

The engine is imported lazily in the worker; without it the runner reports
``available == False`` and the window says "physics unavailable".
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from dctwin.twin.errors import DctwinError
from dctwin.twin.model.layout import Site
from dctwin.twin.physics import kernels
from dctwin.twin.physics.kernels import CompileProgress
from dctwin.twin.sim.capacity import INTAKE_TOP_M, intake_field
from dctwin.twin.sim.results import HallSummary, UpsState
from dctwin.twin.sim.sections import PlanFlow, Section, plan_flow, vertical_section

from dctwin.app.workers import CancelToken, Task, Worker

log = logging.getLogger(__name__)

#: most frames per second sent to the GUI
MAX_FPS = 30.0
#: speeds offered by the window: simulated seconds per wall second (inf = as fast as possible)
SPEEDS = {"1x": 1.0, "10x": 10.0, "60x": 60.0, "600x": 600.0, "max": math.inf}


@dataclass
class Frame:
    """One physics result for the GUI: the state of the hall of layout ``generation`` at ``t_s``.

    ``heat`` the air temperature slice ([nx, ny] °C, extent) at ``heat_z_m``, ``inlet_field`` the
    air over the intake height (for the cooling check of a rack being placed), ``events`` the events
    recorded since the last frame (plain dicts) with their ``chains`` of causes, ``ups`` the UPS
    states; ``seek_s`` how long a replayed second took to rebuild. ``plan_flow`` the horizontal air
    velocity at ``heat_z_m`` (the plan's arrows) and ``section`` the vertical section along the chosen
    line, when the window asks for them (:meth:`SimRunner.set_air_views`).
    """

    generation: int
    t_s: float
    summary: HallSummary
    heat: Optional[tuple[np.ndarray, tuple]] = None
    heat_z_m: Optional[float] = None
    emitted_s: float = 0.0
    events: list[dict] = field(default_factory=list)
    chains: dict[int, list[dict]] = field(default_factory=dict)
    ups: dict[str, UpsState] = field(default_factory=dict)
    inlet_field: Optional[tuple[np.ndarray, tuple]] = None
    seek_s: float = 0.0
    plan_flow: Optional[PlanFlow] = None
    section: Optional[Section] = None
    #: the hall's heat has nowhere to go: the diagnosis in words ("" for a hall with a way out)
    diagnosis: str = ""
    #: CPU the worker's thread spent on this layout's solve until the frame was handed over (s; 0 for a
    #: running transient's frame): what an edit costs off the GUI thread (``dctwin bench --gui``)
    worker_cpu_s: float = 0.0
    #: a quick first answer whose power chain figures (``summary.power_nodes``, ``summary.pue``) follow on
    #: :attr:`SimRunner.sig_quick_power`: the map does not wait for them
    power_pending: bool = False


#: after handing a quick first answer over, the worker waits for the window to have drawn it (SimRunner.quick_drawn),
#: at most this long (s), before it goes on: the GUI thread then has the interpreter and the CPU to itself while
#: it puts the map on screen (the worker's power figures and its march held the GIL through the paint, and under
#: load the CPU); the converged state comes that much later (a few ms), bit for bit the same
QUICK_DRAWN_WAIT_S = 0.1

#: height of the plan's airflow arrows when the heat map is off (m)
ARROWS_Z_M = 1.0


@dataclass
class AirViews:
    """What the window shows of the air besides the heat map: the plan's arrows, a vertical section."""

    arrows: bool = False
    line: Optional[tuple[float, float, float, float]] = None  # x0, y0, x1, y1 (m)

    def compute(self, sim: Any, heat_z_m: Optional[float]) -> tuple[Optional[PlanFlow], Optional[Section]]:
        """(plan flow, section) of ``sim``'s state now (None for what is not asked for, or without a flow)."""
        flow = getattr(sim, "flow", None)
        if flow is None or not (self.arrows or self.line):
            return None, None
        pf = plan_flow(sim.air, flow.u, ARROWS_Z_M if heat_z_m is None else heat_z_m) if self.arrows else None
        sec = None
        if self.line is not None:
            x0, y0, x1, y1 = self.line
            sec = vertical_section(sim.air, sim.T, flow.u, (x0, y0), (x1, y1))
        return pf, sec


def _warm_up_kernels(report: Callable[[CompileProgress], None]) -> None:
    """Compile what the window runs (steady solves and transients), group by group, reporting progress."""
    kernels.warm_up("simulate", report)


#: The physics warm-up the simulation worker runs first, on its thread, when the kernels are not compiled
#: for this machine yet: ``warm_up(report)`` compiles them, calling ``report(CompileProgress)`` as it goes.
#: None: they compile inside the first solve, and the window counts them as numba caches them. The splash
#: (:mod:`dctwin.app.splash`) usually did it before the window opened; this covers the window opened
#: without it (a screenshot, tests, a cache emptied meanwhile).
KERNEL_WARMUP: Optional[Callable[[Callable[[CompileProgress], None]], None]] = _warm_up_kernels
#: how often the window counts compiled kernels when no warm-up reports (ms)
COMPILE_POLL_MS = 1000


class PhysicsUnavailable(DctwinError):
    """The engine cannot be imported: layout editing works, temperatures are not computed."""


def engine_available() -> bool:
    try:
        return importlib.util.find_spec("dctwin.twin.sim.engine") is not None
    except (ImportError, ValueError):
        return False


class SimRunner(QObject):
    """Owns the simulation worker; results go to the GUI as :class:`Frame` values."""

    #: a steady solve finished for the site of ``generation`` (a Frame)
    sig_solved = Signal(object)
    #: a transient frame while running (a Frame), at most MAX_FPS per second
    sig_frame = Signal(object)
    #: a solve is in flight (True) or done (False): the 'settling' indicator
    sig_busy = Signal(bool)
    #: the engine failed; the text says how
    sig_error = Signal(str)
    #: running state changed
    sig_running = Signal(bool)
    #: the physics kernels are being compiled for this machine (a CompileProgress), or that is over (None)
    sig_compiling = Signal(object)
    #: the power chain's figures of a quick first answer sent without them (``Frame.power_pending``):
    #: (generation, headroom per node, PUE), as the full summary reports them
    sig_quick_power = Signal(int, object, object)

    def __init__(self, parent: Optional[QObject] = None, hall_id: Optional[str] = None):
        super().__init__(parent)
        self.available = engine_available()
        self.hall_id = hall_id
        self.heat_z_m: Optional[float] = 1.0
        #: the plan's airflow arrows and the vertical section, when shown
        self.air_views = AirViews()
        self.speed = 1.0
        self.running = False
        #: while running, stop (and send a frame) exactly at this simulated time (None: run on)
        self.stop_at_s: Optional[float] = None
        self.generation = 0
        self._lock = threading.Lock()  # running and stop_at_s change together
        # other threads reading the solved simulation (a space search) and the transient stepping it exclude
        # each other: a reader counts in :attr:`_readers`; a step is under way while :attr:`_stepping`
        self._sim_cv = threading.Condition()
        self._readers = 0
        self._stepping = False
        self._engine: Any = None
        self._sim: Any = None
        self._sim_generation = -1
        self._last_emit = 0.0
        self._frame_unread = False  # the GUI has not shown the last running frame yet
        self._quick_drawn = threading.Event()  # the window has drawn the quick first answer sent last
        self._events_sim: Any = None
        self._events_seq = 0
        #: compiling the physics kernels for this machine (the first run): the window says so
        self.compiling = False
        #: the warm-up that compiles them with progress (default :data:`KERNEL_WARMUP`)
        self.warm_up = KERNEL_WARMUP
        self._compiled_at_start = 0
        self._compile_timer = QTimer(self)
        self._compile_timer.setInterval(COMPILE_POLL_MS)
        self._compile_timer.timeout.connect(self._count_compiled)
        self.sig_compiling.connect(self._on_self_compiling)
        self._worker = Worker(self._serve, name="dctwin-sim", kinds=("solve", "slice"), idle=self._idle,
                              setup=self._import_engine, on_error=self._report, parent=self)

    @property
    def solved(self) -> tuple[Any, int]:
        """The last fully solved simulation and the generation of the layout it belongs to ((None, -1) before
        the first). Read-only for other threads, and only between :meth:`hold_solved` and :meth:`release_solved`:
        while running, the worker steps it."""
        return self._sim, self._sim_generation

    def hold_solved(self) -> bool:
        """(GUI thread) Let another thread read :attr:`solved` until :meth:`release_solved`: False while running
        (the transient steps it; ask again when paused); else True once the step under way, if any, is over, and
        the transient does not step until every hold is released."""
        with self._sim_cv:
            if self.running:
                return False
            while self._stepping:
                self._sim_cv.wait()
            self._readers += 1
            return True

    def release_solved(self) -> None:
        """(any thread) End a :meth:`hold_solved`."""
        with self._sim_cv:
            self._readers -= 1
            self._sim_cv.notify_all()

    # ---- requests from the GUI thread
    def request_solve(self, site: Site) -> int:
        """Solve ``site`` (pass a copy) in the background; returns its generation number."""
        self.generation += 1
        self._quick_drawn.set()  # a worker waiting on the last layout's quick map stops waiting
        self._worker.post("solve", (self.generation, site))
        self._ensure_thread()
        return self.generation

    def set_heat_height(self, z_m: Optional[float]) -> None:
        self.heat_z_m = z_m
        self._worker.post("slice")
        if self.available:
            self._ensure_thread()

    def set_air_views(self, arrows: bool, line: Optional[tuple[float, float, float, float]]) -> None:
        """Send the plan's airflow arrows (``arrows``) and the vertical section along ``line`` with every frame
        (the state shown now again at once)."""
        self.air_views = AirViews(arrows, line)
        self._worker.post("slice")
        if self.available:
            self._ensure_thread()

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        self._worker.wake()

    def set_running(self, running: bool) -> None:
        if not self.available:
            running = False
        with self._lock:
            changed = running != self.running
            self.running = running
        self._worker.wake()
        if running:
            self._ensure_thread()
        if changed:
            self.sig_running.emit(running)

    def frame_shown(self) -> None:
        """The GUI has drawn the last frame; the worker may send the next (frames never pile up)."""
        self._frame_unread = False

    def quick_drawn(self) -> None:
        """The window has drawn the quick first answer sent last (or will not): the worker goes on."""
        self._quick_drawn.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the worker (called when the window closes)."""
        self._quick_drawn.set()
        self._worker.stop(timeout_s)

    # ---- worker
    def _ensure_thread(self) -> None:
        if self.available:
            self._worker.start()

    def _frame(self, sim: Any, generation: int, summary: HallSummary, cpu0: Optional[float] = None) -> Frame:
        """The frame of ``sim``'s state now (``cpu0``: the worker thread's CPU clock when its solve began)."""
        heat = None
        z = self.heat_z_m
        if z is not None:
            try:
                heat = sim.air_temperature_slice(z)
            except Exception as exc:  # the heat map is optional; say why it is missing
                log.warning("air_temperature_slice(%s) failed: %s", z, exc)
        events, chains = self._new_events(sim)
        pf, sec = self.air_views.compute(sim, z)
        stranded = getattr(sim, "stranded", None)
        frame = Frame(generation, float(sim.t_s), summary, heat, z, time.monotonic(), events, chains,
                      self._ups_state(sim), self._inlet_field(sim, summary), plan_flow=pf, section=sec,
                      diagnosis=stranded.message() if stranded is not None else "")
        if cpu0 is not None:
            frame.worker_cpu_s = time.thread_time() - cpu0
        return frame

    @staticmethod
    def _inlet_field(sim: Any, summary: HallSummary) -> Optional[tuple]:
        """Air temperature averaged over the intake height (cell layers below 2 m): ([nx, ny] °C, extent),
        for the floor plan's cooling check of a rack being placed."""
        dz = summary.grid.dz_m if summary.grid is not None else None
        if not dz:
            return None
        layers, extent = [], None
        k = 0
        while (k + 0.5) * dz < INTAKE_TOP_M:
            t, extent = sim.air_temperature_slice((k + 0.5) * dz)
            layers.append(((k + 0.5) * dz, t))
            k += 1
        field = intake_field(layers)
        return None if field is None else (field, extent)

    @staticmethod
    def _ups_state(sim: Any) -> dict[str, UpsState]:
        """State of charge and mode of every UPS with a battery, if the engine models power."""
        power = sim.power
        if power is None:
            return {}
        out = {}
        for n in sim.site.power_nodes:
            if n.kind == "ups" and n.battery_kwh:
                try:
                    d = power.node(n.id)
                except (KeyError, IndexError):
                    continue
                if "soc" in d:
                    out[n.id] = UpsState(float(d["soc"]), d["mode"])
        return out

    def _new_events(self, sim: Any) -> tuple[list[dict], dict[int, list[dict]]]:
        """Events recorded since the last frame, as plain dicts (safe to hand to the GUI thread)."""
        log_ = sim.events
        if sim is not self._events_sim:
            self._events_sim, self._events_seq = sim, 0
        new = log_.since(self._events_seq)
        self._events_seq = log_.last_seq
        chains = {e.seq: [c.to_dict() for c in log_.chain(e)[1:]] for e in new}
        return [e.to_dict() for e in new], chains

    # ---- compiling the kernels (first run on a machine)
    def _warm_up(self) -> None:
        """On the worker's thread, before the engine: if the kernels must be compiled, say so (and run the
        warm-up with its progress when there is one); else nothing."""
        try:
            pending = kernels.compile_pending("simulate")
            self._compiled_at_start = kernels.cached_count() if pending else 0
        except Exception as exc:  # the cache cannot be read: the first solve just takes longer
            log.info("cannot tell whether the kernels are compiled: %s", exc)
            return
        if not pending:
            return
        self.compiling = True
        self.sig_compiling.emit(CompileProgress())
        if self.warm_up is not None:
            try:
                self.warm_up(self.sig_compiling.emit)
            except Exception as exc:  # the solve compiles what it needs itself: only slower, and said so
                log.warning("compiling the physics kernels ahead failed: %s", exc)
            self._compile_over()

    def _compile_over(self) -> None:
        if self.compiling:
            self.compiling = False
            self.sig_compiling.emit(None)

    def _on_self_compiling(self, progress: Optional[CompileProgress]) -> None:
        """(GUI thread) Without a warm-up's reports, count the kernels numba caches while the solve compiles."""
        if progress is not None and self.warm_up is None:
            self._compile_timer.start()
        elif progress is None:
            self._compile_timer.stop()

    def _count_compiled(self) -> None:
        if not self.compiling:
            self._compile_timer.stop()
            return
        self.sig_compiling.emit(CompileProgress(max(0, kernels.cached_count() - self._compiled_at_start)))

    def _import_engine(self) -> None:
        """First thing on the worker's thread: the engine (without it, physics is unavailable)."""
        self._warm_up()
        try:
            self._engine = importlib.import_module("dctwin.twin.sim.engine")
        except Exception as exc:
            log.exception("cannot import twin.engine")
            self.available = False
            raise PhysicsUnavailable(f"physics unavailable: {type(exc).__name__}: {exc}") from exc

    def _serve(self, task: Task) -> None:
        if task.kind == "solve":
            self._solve(task.token, *task.value)
            self._last_emit = time.monotonic()
        elif self._sim is not None and not self.running:  # a new heat-map height: the same state again
            self.sig_solved.emit(self._frame(self._sim, self._sim_generation, self._sim.summary()))

    def _idle(self, token: CancelToken) -> bool:
        """Between requests: while running, one frame period of the transient."""
        if not (self.running and self._sim is not None):
            return False
        self._last_emit = self._advance(token, self.speed, self._last_emit)
        return True

    def _report(self, exc: Exception) -> None:
        """Tell the GUI the engine failed (and stop running); never fake a result."""
        if not isinstance(exc, PhysicsUnavailable):
            log.error("simulation failed", exc_info=exc)
        self._compile_over()
        self.sig_busy.emit(False)
        self.sig_error.emit(str(exc) if isinstance(exc, PhysicsUnavailable) else
                            f"physics error: {type(exc).__name__}: {exc}")
        with self._lock:
            was_running, self.running = self.running, False
        if was_running:
            self.sig_running.emit(False)

    def _solve(self, stale: CancelToken, generation: int, site: Site) -> None:
        """Solve ``site``; ``stale`` is cancelled by a newer edit (or the window closing): then show nothing."""
        self.sig_busy.emit(True)
        engine = self._engine

        cpu0 = time.thread_time()

        def partial(sim: Any, summary: HallSummary) -> None:
            # a quick first answer on the previous flow, briefly re-marched; the solve goes on. Its map first:
            # the power chain's headroom (an N-1 load flow per node) follows it
            if stale():
                return
            frame = self._frame(sim, generation, summary, cpu0)
            frame.power_pending = sim.power is not None
            self._quick_drawn.clear()
            self.sig_solved.emit(frame)
            self._quick_drawn.wait(QUICK_DRAWN_WAIT_S)
            if frame.power_pending and not stale():
                self.sig_quick_power.emit(generation, *sim.power_extras())

        # the previous layout's flow and temperatures warm-start this solve (same grid only)
        sim = engine.Simulation(site, self.hall_id, warm_from=self._sim)
        if stale():
            return
        try:
            if getattr(sim, "stranded", None) is not None:
                # its heat has nowhere to go: no steady state to look for; show the start of the
                # heat-up (the diagnosis is its first warning), Run shows the room warming
                summary = sim.start_heat_up()
            else:
                summary = sim.solve_steady(cancel=stale, on_partial=partial, partial_power=False)
        except engine.Cancelled:
            return  # a newer edit arrived while solving: its result is the one to show
        if stale():
            return
        self._sim = sim
        self._sim_generation = generation
        self._compile_over()  # the first solve compiled what a solve needs
        self.sig_busy.emit(False)
        self.sig_solved.emit(self._frame(sim, generation, summary, cpu0))

    def _advance(self, token: CancelToken, speed: float, last_emit: float) -> float:
        """Step the transient for up to one frame period at ``speed`` (a request cancels ``token``: stop
        stepping at once); emit a frame if one is due."""
        sim = self._sim
        period = 1.0 / MAX_FPS
        start = time.monotonic()
        t0 = sim.t_s
        target = math.inf if math.isinf(speed) else t0 + speed * period
        stop_at = self.stop_at_s
        if stop_at is not None:
            target = min(target, stop_at)
        held = False
        while sim.t_s < target - 1e-9 and time.monotonic() - start < period:
            with self._sim_cv:
                if token.cancelled or not self.running:
                    break
                if self._readers:  # a space search reads the state: it is cancelled and ends soon
                    held = True
                    break
                self._stepping = True
            try:
                if stop_at is not None and stop_at - sim.t_s < sim.dt_s:
                    sim.step(stop_at - sim.t_s)  # the last, shorter step lands on the requested second
                else:
                    sim.step()
            finally:
                with self._sim_cv:
                    self._stepping = False
                    self._sim_cv.notify_all()
            time.sleep(0)  # let the GUI thread have the interpreter between steps
        now = time.monotonic()
        if stop_at is not None and sim.t_s >= stop_at - 1e-9:
            with self._lock:
                self.running, self.stop_at_s = False, None
            self.sig_frame.emit(self._frame(sim, self._sim_generation, sim.summary()))
            self.sig_running.emit(False)
            return now
        if now - last_emit >= period and not self._frame_unread:
            self._frame_unread = True
            self.sig_frame.emit(self._frame(sim, self._sim_generation, sim.summary()))
            last_emit = now
        rest = period - (time.monotonic() - start)
        if rest > 0 and (held or not math.isinf(speed)):
            self._worker.sleep(rest)
        return last_emit
