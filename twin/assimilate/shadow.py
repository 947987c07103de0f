"""Shadow replay: the twin driven by what the site measured, its prediction and estimate beside the sensors.

``dctwin shadow site.dctwin [--from T0 --to T1] [--holdout K]`` (:func:`run_shadow`):

1. **Boundary conditions from the site** (never fitted): the units that run (``running`` points;
   the site's event log: a unit trip, a breaker trip, a utility loss, with the log's message),
   unit supply temperatures (``supply_c`` -> the unit's setpoint), rack power (``power_w`` -> the
   utilization at which the rack's IT model draws it; racks without a power point follow their
   workload), the outdoor temperature. Each change is an injected event scheduled through the
   engine at the start of the step it falls in, so the recording replays exactly like any other
   (``dctwin replay``, the GUI). Events carry ``origin``: ``"site"`` (from the event log, with its
   source and message) or ``"measured"`` (from a point).
2. **Prediction**: the twin steps (``--dt``, default 10 s) from the steady state at T0; at every
   sample (the sensors' own interval, default 60 s) its value at every sensor
   (:mod:`~dctwin.twin.assimilate.observe`) is stored beside the measurement.
3. **Estimate** (:mod:`~dctwin.twin.assimilate.estimate`): a Kalman filter over the uncertain
   parameters, a model-error field over the rack inlets and the sensors' biases corrects the
   temperatures between sensors; with ``--holdout K`` every K-th temperature sensor is hidden from
   it and its error there is reported.
4. **Alarms from measured values**: the alarm conditions of :mod:`dctwin.twin.sim.alarms` evaluated
   on the measured inlets (kind ``measured_<kind>``), explained by the same cause chains: the site's
   event log and the model's supply-share tracer.

Everything goes into the project file as a recording plus its shadow streams
(:mod:`dctwin.twin.store.measured`). The summary (:func:`run_shadow`'s return, ``--json``) has
``residual_rms_k`` and ``residual_max_k`` (prediction minus measurement over every temperature
sensor the model predicts, not the imposed supplies), per point ``residuals``, ``worst_points``,
the estimate's figures and the hold-out's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.assimilate.boundary import Boundary, epoch
from dctwin.twin.assimilate.estimate import InletField, KalmanEstimator, intake_points
from dctwin.twin.assimilate.model import Conditions, SteadyModel, utilization_for_power
from dctwin.twin.assimilate.observe import Outputs, Sensor, model_outputs, place
from dctwin.twin.assimilate.params import bounds, nominal, param_space, parse_params, sigmas
from dctwin.twin.errors import InputError
from dctwin.twin.io.points import QUANTITIES
from dctwin.twin.io.telemetry import iso
from dctwin.twin.physics.it import MODE_ON
from dctwin.twin.sim.alarms import AlarmMonitor
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.store.measured import RACK_STREAM, TelemetryReader, save_shadow
from dctwin.twin.store.project import Project
from dctwin.twin.store.recorder import Recorder, air_model_params

UTILIZATION_DEADBAND = 0.02
#: the estimator re-linearises when the total rack power moved this much since its Jacobian
REGIME_POWER_SHARE = 0.2
#: ... but not more often than this (s)
REGIME_MIN_S = 600.0
#: after a regime change the estimator only predicts for this long (the hall settles) (s)
SETTLE_S = 900.0
#: a regime whose running units differ from one met before only by units carrying at most this share of
#: the design airflow of the units running in either (one in-row cooler of ai-hall's 56: 1.6 %; one CRAH
#: of the small hall's two: 50 %) takes that regime's sensitivities again instead of new steady solves
#: (one Jacobian of ai-hall is 24 marched steady solves, 80 % of a shadow's cost)
NEAR_REGIME_AIRFLOW_SHARE = 0.05
#: a temperature stand-in for a rack without an inlet sensor in the measured-alarm view (never raises)
_NO_READING_C = 0.0
#: injected kinds the hall applies itself (set before the first steady solve)
_HALL_KINDS = ("fail", "repair", "set_utilization", "set_setpoint")


@dataclass
class ShadowOptions:
    """Settings of a shadow replay (see :func:`run_shadow`)."""

    t_from: Optional[str | float] = None
    t_to: Optional[str | float] = None
    holdout: int = 0
    dt_s: float = 10.0
    sample_s: Optional[float] = None
    grid_m: Any = None
    layout_id: Optional[int] = None
    set_id: Optional[int] = None
    params: Optional[str] = None
    estimate: bool = True
    keyframe_every_s: float = 600.0


class _MeasuredView(SimpleNamespace):
    """What :class:`~dctwin.twin.sim.alarms.AlarmMonitor` reads of a hall state, with measured inlets."""


def run_shadow(path: str, opts: Optional[ShadowOptions] = None,
               progress: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Run a shadow replay of the latest telemetry set of project ``path`` (module docstring); returns
    its summary. The recording and its streams are written into ``path``."""
    o = opts or ShadowOptions()
    say = progress or (lambda _msg: None)
    if not (0 < o.dt_s <= 10):
        raise InputError(f"--dt must be above 0 and at most 10 s, got {o.dt_s:g}")
    if o.holdout < 0 or o.holdout == 1:
        raise InputError(f"--holdout must be 0 (none) or at least 2 (every K-th sensor hidden), got {o.holdout}")
    with Project.open(path, read_only=True) as probe:  # refused (no telemetry, a damaged layout) before the
        first = TelemetryReader(probe, o.set_id)        # file is opened for writing, which stamps its header
        probe.load_layout(o.layout_id if o.layout_id is not None else probe.latest_layout_id())
        epoch(o.t_from, "from", first.t0_s), epoch(o.t_to, "to", first.t1_s)
    with Project.open(path) as project:
        project.require_writable()
        reader = TelemetryReader(project, o.set_id)
        layout_id = o.layout_id if o.layout_id is not None else project.latest_layout_id()
        site = project.load_layout(layout_id)
        return _Shadow(project, reader, site, int(layout_id), o, say).run()


class _Shadow:
    def __init__(self, project: Project, reader: TelemetryReader, site: Any, layout_id: int, o: ShadowOptions,
                 say: Callable[[str], None]) -> None:
        self.project, self.reader, self.site, self.layout_id, self.o, self.say = project, reader, site, layout_id, o, say
        points = reader.points()
        kinds = {}
        for h in site.halls:
            for el in list(h.racks) + list(h.cooling_units):
                kinds[el.id] = h.id
        votes: dict[str, int] = {}
        for p in points:
            if p.element in kinds:
                votes[kinds[p.element]] = votes.get(kinds[p.element], 0) + 1
        self.hall_id = max(votes, key=votes.get) if votes else site.halls[0].id
        self.sim = Simulation(site, self.hall_id, grid_m=o.grid_m, dt_s=o.dt_s)
        self.out = Outputs.of(self.sim)
        self.sensors, self.outside = place(points, self.out)
        if not self.sensors:
            raise InputError(f"{project.path}: no measured point falls on hall {self.hall_id} of layout version "
                             f"{layout_id}")
        t0 = epoch(o.t_from, "from", reader.t0_s)
        t1 = epoch(o.t_to, "to", reader.t1_s)
        if not (t1 > t0):
            raise InputError(f"--from/--to: the span {iso(t0)} to {iso(t1)} is empty (the data runs "
                             f"{iso(reader.t0_s)} to {iso(reader.t1_s)})")
        if t0 < reader.t0_s - 1 or t1 > reader.t1_s + 3600:
            say(f"note: the data runs {iso(reader.t0_s)} to {iso(reader.t1_s)}")
        self.t0, self.t1 = t0, t1
        self.warnings: list[str] = []

    def _holdout(self) -> np.ndarray:
        """Which sensors the estimator never sees: every K-th predicted temperature sensor."""
        hidden = np.zeros(len(self.sensors), bool)
        if self.o.holdout:
            cands = [k for k, s in enumerate(self.sensors) if s.temperature and not s.boundary]
            for i, k in enumerate(cands):
                if i % self.o.holdout == self.o.holdout - 1:
                    hidden[k] = True
        return hidden

    def _schedule_power(self, i_sample: int, t_rel: float) -> None:
        """Set the utilization of measured racks to their measured power (at the inlets now)."""
        b = self.bound
        if not b.power_racks:
            return
        p = np.full(self.sim.ra.n, np.nan)
        racks = [self.sim.system.rack_index[r] for r in b.power_racks]
        p[racks] = b.power_w[i_sample]
        u = utilization_for_power(self.sim.ra, p, self.sim.rack_inlet_c)
        for j, name in zip(racks, b.power_points):
            if not math.isfinite(u[j]):
                continue
            val = round(float(u[j]), 4)
            if abs(val - self.u_set.get(j, math.inf)) >= UTILIZATION_DEADBAND:
                self.sim.schedule(t_rel, "set_utilization", self.sim.rack_ids[j], utilization=val,
                                  origin="measured", point=name)
                self.u_set[j] = val

    # ------------------------------------------------------------------ the run
    def run(self) -> dict[str, Any]:
        o, sim, say = self.o, self.sim, self.say
        t_start = time.perf_counter()
        self.bound = b = Boundary(self.reader, self.sensors, self.t0, self.t1, o.dt_s, o.sample_s)
        self.times, self.sample_s, self.measured, self.held = b.times, b.sample_s, b.measured, b.held
        hidden = self._holdout()
        static = b.static_events(sim.injector.check, sim.cplant is not None)
        self.warnings += b.warnings
        self.u_set: dict[int, float] = {}
        # the state at t0: the hall's own boundary events first, then the steady state on them
        hs = sim.system
        first = [e for e in static if e[0] <= 1e-9 and e[1] in _HALL_KINDS
                 and (e[1] not in ("fail", "repair") or e[2] in hs.unit_index or e[2] in hs.rack_index)]
        rest = [e for e in static if e not in first]
        for t_rel, kind, target, details in first:
            sim.schedule(0.0, kind, target, **details)
        self._schedule_power(0, 0.0)
        sim.injector.apply_due(sim.state)
        sim.injector.take_due()
        say(f"steady state at {iso(self.t0)}")
        sim.solve_steady()
        for t_rel, kind, target, details in rest:
            sim.schedule(t_rel, kind, target, **details)
        rec = Recorder(self.project, self.layout_id, o.dt_s, keyframe_every_s=o.keyframe_every_s,
                       metrics_every_s=self.sample_s, rack_series_every_s=self.sample_s, hall_id=self.hall_id,
                       params={"grid_m": list(o.grid_m) if isinstance(o.grid_m, tuple) else o.grid_m,
                               "shadow": True, "t0_epoch_s": self.t0, "telemetry_set": self.reader.id,
                               **air_model_params(sim)},
                       note=f"shadow of telemetry set {self.reader.id}, {iso(self.t0)} to {iso(self.t1)}")
        try:
            rec.on_step(0.0, sim)
            streams = self._loop(rec, hidden)
            rec.close(float(sim.t_s))
        except BaseException:
            rec.__exit__(RuntimeError, None, None)
            raise
        summary = self._summary(streams, hidden, rec.recording_id, time.perf_counter() - t_start)
        save_shadow(self.project, rec.recording_id, self.reader.id, self.t0, [s.point for s in self.sensors],
                    [s.point for s, h in zip(self.sensors, hidden) if h], summary["estimator"], summary,
                    {name: (streams["t"], streams[name]) for name in ("measured", "predicted", "estimated",
                                                                       RACK_STREAM)})
        self.project.checkpoint()
        return summary

    def _estimator(self, hidden: np.ndarray) -> tuple[Optional[KalmanEstimator], Optional[SteadyModel]]:
        if not self.o.estimate:
            return None, None
        groups, only = parse_params(self.o.params)
        measured_power = {s.element for s in self.sensors if s.quantity == "power_w"}
        # one power scale per row for the racks without a power point: a correction space the sensors
        # can pin down (a scale per rack is mostly unobservable from a few inlets), unless asked otherwise
        params = param_space(self.site, groups, self.hall_id, only, exclude=measured_power,
                             racks="auto" if only.get("rack_power") else "row")
        assim = np.array([not h and not s.boundary and s.quantity != "running" for s, h in zip(self.sensors, hidden)])
        lo, hi = bounds(params)
        th0 = nominal(params)
        hall = next(h for h in self.site.halls if h.id == self.hall_id)
        by_id = {r.id: r for r in hall.racks}
        inlets = InletField(intake_points([by_id[r] for r in self.sim.rack_ids]))
        field_of = np.array([self.out.rack_index[s.element] if s.quantity == "inlet_c" else -1
                             for s in self.sensors], np.int64)
        est = KalmanEstimator(sigmas(params), self.sensors, assim, delta_bounds=(lo - th0, hi - th0),
                              inlets=inlets, field_of=field_of)
        model = SteadyModel(self.site, params, Conditions.free(self.sim.ra.n, self.sim.ua.n), hall_id=self.hall_id,
                            grid_m=self.o.grid_m)
        self.params = params
        return est, model

    def _relinearise(self, est: KalmanEstimator, model: SteadyModel) -> None:
        sim = self.sim
        model.cond = Conditions.of(sim, label=f"the regime at t = {sim.t_s:.0f} s")
        model.reference = None
        running, power = tuple(sim.running_units()), float(np.sum(sim.rack_power_w))
        # a regime seen before (the units back after a trip, the load back), or one that differs from it
        # by a small share of the airflow (one in-row cooler of many): its sensitivities again
        known = self._known_regime(running, power)
        if known is not None:
            J, share = known
            how = ("the same regime before" if share == 0.0 else
                   f"the nearest regime before ({100 * share:.1f} % of the units' airflow started or stopped)")
            self.say(f"sensitivities at t = {sim.t_s:.0f} s: those of {how}")
            est.set_jacobian(J, transition=self.relinearised > 0)
            self.reused += 1
            self.regimes.append({"t_s": float(sim.t_s), "sensitivities": "reused" if share == 0.0 else "nearest",
                                 "airflow_share_changed": round(share, 4)})
        else:
            self.regimes.append({"t_s": float(sim.t_s), "sensitivities": "computed", "airflow_share_changed": None})
            self.say(f"sensitivities of {len(model.params)} parameters at t = {sim.t_s:.0f} s")
            try:
                base = model.evaluate(nominal(model.params), warm=sim)
                J = model.jacobian(base) if model.params else None
                est.set_jacobian(J, transition=self.relinearised > 0)
                if J is not None:
                    self.jacobians.append((running, power, J))
            except InputError as exc:  # e.g. no steady state with every unit stopped
                est.set_jacobian(None, transition=self.relinearised > 0)
                self.warnings.append(f"estimator at t = {sim.t_s:.0f} s: {exc}; only the error field and sensor "
                                     f"biases corrected")
        self.regime = (running, power, float(sim.t_s))
        self.relinearised += 1
        self.settled_at = float(sim.t_s) + (SETTLE_S if self.relinearised > 1 else 0.0)

    def _known_regime(self, running: tuple, power: float) -> Optional[tuple[np.ndarray, float]]:
        """The sensitivities of the regime met before that is nearest to (``running``, ``power``): the same
        units running, or units carrying at most :data:`NEAR_REGIME_AIRFLOW_SHARE` of the airflow started or
        stopped, and the rack power within :data:`REGIME_POWER_SHARE`; with the share that changed (0:
        the same units). None when no regime met is that near."""
        q = np.asarray(self.sim.ua.v_des_m3s, float)
        now = np.asarray(running) != 0
        best: Optional[tuple[np.ndarray, float]] = None
        for run, pw, J in self.jacobians:
            if abs(pw - power) > REGIME_POWER_SHARE * max(pw, 1.0):
                continue
            then = np.asarray(run) != 0
            either = float(q[now | then].sum())
            share = float(q[now != then].sum()) / either if either > 0 else 0.0
            if share <= NEAR_REGIME_AIRFLOW_SHARE and (best is None or share < best[1]):
                best = (J, share)
        return best

    def _regime_changed(self) -> bool:
        sim = self.sim
        run, power, t_last = self.regime
        if tuple(sim.running_units()) != run:
            return sim.t_s - t_last >= self.o.dt_s
        moved = abs(float(np.sum(sim.rack_power_w)) - power) > REGIME_POWER_SHARE * max(power, 1.0)
        return moved and sim.t_s - t_last >= REGIME_MIN_S

    def _loop(self, rec: Recorder, hidden: np.ndarray) -> dict[str, np.ndarray]:
        o, sim = self.o, self.sim
        n = len(self.times)
        n_sens = len(self.sensors)
        pred = np.full((n, n_sens), np.nan, np.float32)
        estd = np.full((n, n_sens), np.nan, np.float32)
        rack_est = np.full((n, sim.ra.n), np.nan, np.float32)
        rows = np.array([s.row for s in self.sensors], dtype=np.int64)
        inlet_rows = np.arange(self.out.start["inlet"], self.out.start["inlet"] + sim.ra.n)
        est, model = self._estimator(hidden)
        self.relinearised = 0
        self.reused = 0
        #: each relinearisation: when, and whether its sensitivities were computed or taken again
        self.regimes: list[dict[str, Any]] = []
        #: the sensitivities of each regime met: (running units, total rack power, J)
        self.jacobians: list[tuple[tuple, float, np.ndarray]] = []
        if est is not None:
            self._relinearise(est, model)
        monitor = _MeasuredAlarms(sim, self.sensors, self.held)
        steps_per_sample = int(round(self.sample_s / o.dt_s))
        last_say = time.perf_counter()
        for i in range(n):
            if i > 0:
                self._schedule_power(i - 1, sim.t_s)
                for _ in range(steps_per_sample):
                    sim.step()
                    rec.on_step(sim.t_s, sim)
                if est is not None and self._regime_changed():
                    self._relinearise(est, model)
            y = model_outputs(sim, self.out)
            pred[i] = y[rows]
            if est is not None:
                est.predict(self.sample_s if i else 0.0)
                if sim.t_s >= self.settled_at:
                    est.settled()
                est.update(y, self.measured[i])  # the parameters held while the hall settles
                estd[i] = est.at_sensors(y)
                rack_est[i] = est.at_inlets(y, inlet_rows)
            else:
                estd[i] = y[rows]
                rack_est[i] = y[inlet_rows]
            rec.add_alarms(monitor.update(self.held[i], self.sample_s if i else 0.0))
            if time.perf_counter() - last_say > 5.0:
                self.say(f"{iso(self.times[i])}: {100 * i / max(n - 1, 1):.0f} %")
                last_say = time.perf_counter()
        self.estimator = est
        self.monitor = monitor
        return {"t": self.times - self.t0, "measured": self.measured.astype(np.float32), "predicted": pred,
                "estimated": estd, RACK_STREAM: rack_est}

    # ------------------------------------------------------------------ figures
    def _summary(self, streams: dict[str, np.ndarray], hidden: np.ndarray, recording_id: int,
                 wall_s: float) -> dict[str, Any]:
        meas = streams["measured"].astype(float)
        pred = streams["predicted"].astype(float)
        estd = streams["estimated"].astype(float)
        per: dict[str, Any] = {}
        temp_res, est_res, hid_pred, hid_est = [], [], [], []
        for k, s in enumerate(self.sensors):
            d = pred[:, k] - meas[:, k]
            e = estd[:, k] - meas[:, k]
            ok = np.isfinite(d)
            entry: dict[str, Any] = {"element": s.element, "quantity": s.quantity,
                                     "unit": "K" if s.temperature else QUANTITIES[s.quantity].si_unit,
                                     "n": int(ok.sum()), "boundary": s.boundary, "holdout": bool(hidden[k])}
            if ok.any():
                entry.update(rms=float(np.sqrt(np.mean(d[ok] ** 2))), max=float(np.max(np.abs(d[ok]))),
                             mean=float(np.mean(d[ok])), rms_estimated=float(np.sqrt(np.mean(e[ok] ** 2))))
                if s.temperature and not s.boundary:
                    temp_res.append(d[ok])
                    (hid_est if hidden[k] else est_res).append(e[ok])
                    if hidden[k]:
                        hid_pred.append(d[ok])
            per[s.point] = entry

        def rms(parts: list) -> Optional[float]:
            return float(np.sqrt(np.mean(np.concatenate(parts) ** 2))) if parts else None

        allres = np.concatenate(temp_res) if temp_res else np.zeros(0)
        worst = sorted(((p, e["rms"]) for p, e in per.items()
                        if "rms" in e and not e["boundary"] and e["unit"] == "K"), key=lambda x: -x[1])[:5]
        est = self.estimator
        events = [e for e in self.sim.events if e.details.get("origin") in ("site", "measured")]
        out: dict[str, Any] = {
            "file": str(self.project.path), "recording_id": recording_id, "telemetry_set": self.reader.id,
            "layout_id": self.layout_id, "hall": self.hall_id, "from": iso(self.t0), "to": iso(self.t1),
            "duration_s": float(self.times[-1] - self.t0), "dt_s": self.o.dt_s, "sample_s": self.sample_s,
            "samples": int(len(self.times)), "sensors": len(self.sensors),
            "residual_rms_k": rms(temp_res), "residual_max_k": float(np.max(np.abs(allres))) if allres.size else None,
            "residuals": per,
            "worst_points": [{"point": p, "rms_k": r, "element": per[p]["element"], "quantity": per[p]["quantity"]}
                             for p, r in worst],
            "estimated_rms_k": rms(est_res),
            "holdout": None, "holdout_rms_k": None,
            "events_applied": {"site": sum(1 for e in events if e.details.get("origin") == "site"),
                               "measured": sum(1 for e in events if e.details.get("origin") == "measured")},
            "alarms_measured": len(self.monitor.records), "alarms_model": len(self.sim.alarms),
            "outside_hall": list(self.outside), "warnings": list(self.warnings), "wall_s": round(wall_s, 2),
        }
        if self.o.holdout:
            out["holdout"] = {"k": self.o.holdout, "points": [s.point for s, h in zip(self.sensors, hidden) if h],
                              "predicted_rms_k": rms(hid_pred), "estimated_rms_k": rms(hid_est)}
            out["holdout_rms_k"] = rms(hid_est)
        if est is not None:
            out["estimator"] = dict(est.settings(), relinearised=self.relinearised, jacobians_reused=self.reused,
                                    regimes=self.regimes,
                                    params={p.name: {"value": p.nominal + float(d), "sigma": float(sd)}
                                            for p, d, sd in zip(self.params, est.delta, est.delta_sigma)})
        else:
            out["estimator"] = {"method": "none"}
        return out


class _MeasuredAlarms:
    """The hall's alarm conditions on measured inlets and running states (module docstring, step 4)."""

    def __init__(self, sim: Simulation, sensors: list[Sensor], held: np.ndarray) -> None:
        self.sim = sim
        self.monitor = AlarmMonitor(sim.system, sim.events, None)
        self.inlet = [(k, sim.system.rack_index[s.element]) for k, s in enumerate(sensors) if s.quantity == "inlet_c"]
        self.running = [(k, sim.system.unit_index[s.element]) for k, s in enumerate(sensors) if s.quantity == "running"]
        self.records: list[dict[str, Any]] = []
        #: each rack's last measured inlet (alarms hold it through a gap); racks without a sensor read a
        #: constant that raises nothing
        self.inlet_now = np.full(sim.ra.n, _NO_READING_C)
        for k, j in self.inlet:  # before its first reading a sensor reads its first reading
            ok = np.flatnonzero(np.isfinite(held[:, k]))
            if len(ok):
                self.inlet_now[j] = held[ok[0], k]
        #: per unit, the last flow it blew into (a measured stop is seen a sample late, on the flow after it)
        self.flow_with: dict[int, tuple[Any, np.ndarray]] = {}

    def update(self, held: np.ndarray, dt_s: float) -> list[dict[str, Any]]:
        sim = self.sim
        st = sim.state
        for k, j in self.inlet:
            if math.isfinite(held[k]):
                self.inlet_now[j] = held[k]
        running = sim.running_units().copy()
        for k, j in self.running:
            if math.isfinite(held[k]):
                running[j] = 1 if held[k] > 0.5 else 0
        view = _MeasuredView(t_s=st.t_s, flow=st.flow, flow_unit_q=st.flow_unit_q, rack_inlet_c=self.inlet_now.copy(),
                             rack_state=SimpleNamespace(mode=np.full(sim.ra.n, MODE_ON, np.int8)))
        new_stop = [int(j) for j in np.flatnonzero((running == 0) & (self.monitor.was_running != 0))]
        known = [j for j in new_stop if j in self.flow_with]
        if known:  # a measured stop is seen a sample late: its share on the last flow the unit ran in
            self.monitor._prev_flow, self.monitor._prev_unit_q = self.flow_with[known[0]]
        new = self.monitor.update(dt_s, view, running)
        for j in known[1:]:
            self.monitor.unit_share[j] = self.monitor.share(j, *self.flow_with[j])
        if st.flow is not None:
            for j in np.flatnonzero(np.asarray(st.flow_unit_q) > 0):
                self.flow_with[int(j)] = (st.flow, np.array(st.flow_unit_q, copy=True))
        out = []
        sensed = {sim.rack_ids[j] for _, j in self.inlet} | {sim.unit_ids[j] for _, j in self.running}
        for a in new:
            if a["kind"] == "rack_down" or a["id"] not in sensed:
                continue
            r = dict(a, kind=f"measured_{a['kind']}", message=f"Measured: {a['message']}", measured=True)
            out.append(r)
        self.records.extend(out)
        return [{"t_s": r["t_s"], "target": r["id"], "kind": r["kind"], "severity": r["severity"],
                 "active": r["active"], "message": r["message"],
                 "cause": next((c.get("seq") for c in r["causes"] if c.get("seq") is not None), None)} for r in out]
