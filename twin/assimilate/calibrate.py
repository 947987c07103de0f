"""Calibration: the uncertain parameters fitted to the measurements by least squares over steady windows.

``dctwin calibrate site.dctwin [--params ...] [--from T0 --to T1] [--holdout K] --out calibrated.json``
(:func:`calibrate`):

1. **Steady windows**: stretches of the data where no boundary condition changes (no applied event of
   the site's log: a ``site_note`` or ``site_alarm`` changes nothing; no running state, setpoint or
   outdoor change; no measured rack power stepping by more than 5 % or 200 W within 5 min, nor
   drifting by more than 15 % since the stretch began: a diurnal workload moves 5-10 % an hour, which
   the hall follows within its settling time) for at least ``min_window_s`` (30 min); the first
   ``settle_s`` (20 min) of each is left for the hall to settle, the rest averaged (median per
   sensor). 20 min is four of the slowest time constants of the model (the servers' thermal mass,
   ``C / (eps m cp)``: 240 s at 1e-4 m3/s per W, 320 s for ai-hall's racks; the supply loop is 60 s
   and the air's residence time under a minute), so less than 2 % of a step is left. The longest
   ``max_windows`` (3) are used. Unmeasured racks run at their workload's median utilization over
   the window's sample times (time 0 is the start of the data, as in the shadow replay).
2. **The model of a window**: the steady state of the layout with the parameters theta applied,
   under the window's conditions (:class:`~dctwin.twin.assimilate.model.SteadyModel`; measured
   rack powers imposed, other racks at their workload times their power scale, each running unit's
   supply at the median of its measured supply (:func:`window_supply`)).
3. **Least squares** with bounds (each parameter's range) and regularisation (its prior)::

       minimise  sum_w sum_s ((y_w,s(theta) - z_w,s) / sigma_s)^2 + sum_i ((theta_i - theta0_i) / sigma0_i)^2

   over the fitted sensors s (rack inlets and exhausts, unit returns, power-node loads; sigma 0.5 K
   for temperatures, 2 % for loads), by scipy's trust-region reflective ``least_squares`` with the
   Jacobian of :meth:`~dctwin.twin.assimilate.model.SteadyModel.jacobian` (one steady solve per
   parameter and window). The optimiser asks for a new Jacobian at every accepted step; one is
   reused while theta stays within one finite-difference step of where it was taken (the
   finite-difference column spans that step, so a new one there would measure the same secant).
4. **Uncertainty**: the covariance ``(J^T J)^-1`` at the optimum (J of the whitened residuals and
   the prior rows), scaled by the reduced chi-square when the fit is worse than the assumed
   errors; a parameter whose sigma stays near its prior's is reported ``"constrained": false``.
5. **Measured rack powers** need no fit: their scale is the median over the windows of the measured
   power over what the rack draws at its nameplate under the window's load (``method: measured``).
6. **Held-back sensors**: every ``holdout``-th temperature sensor (default 4th) is left out of the fit;
   the RMS there before and after is the honest test of the calibration.

The calibrated layout (the parameters applied) is saved in the project as a new layout version
with a note, and written to ``--out``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.assimilate.boundary import Boundary, epoch
from dctwin.twin.assimilate.model import SteadyModel
from dctwin.twin.assimilate.observe import Outputs, Sensor, place
from dctwin.twin.assimilate.params import Param, apply, bounds, nominal, param_space, parse_params, sigmas
from dctwin.twin.errors import InputError
from dctwin.twin.io.site_events import INFO_KINDS
from dctwin.twin.model.events import EVENT_KINDS
from dctwin.twin.io.telemetry import iso
from dctwin.twin.physics.it import power_airflow
from dctwin.twin.sim.engine import Simulation
from dctwin.twin.store.measured import TelemetryReader
from dctwin.twin.store.project import Project

#: quantities fitted (the others are imposed or not informative)
FITTED = ("inlet_c", "exhaust_c", "return_c", "load_w", "airflow_m3s")
#: standard deviation of a window's median against the model: temperatures (K), loads and flows (relative)
SIGMA_TEMP_K = 0.5
SIGMA_REL = 0.02
#: a measured rack power stepping by more than this within POWER_STEP_S ends a steady window (share, or W)
POWER_STEADY_SHARE = 0.05
POWER_STEADY_W = 200.0
POWER_STEP_S = 300.0
#: ... and so does a slow drift beyond this share of its power at the window's start (a diurnal
#: workload moves 5-10 % in an hour: the hall follows it within its settling time, so the window's
#: medians stay a steady state of the window's median powers)
POWER_DRIFT_SHARE = 0.15
#: a setpoint (outdoor temperature) moving by at least this ends a steady window (K)
SETPOINT_STEADY_K = 1.0
OUTDOOR_STEADY_K = 3.0


def window_cuts(events: list[tuple[float, str, str, dict]]) -> list[float]:
    """Times (s from t0) of the boundary changes that end a steady window: failures, repairs, load
    changes, trips, and setpoint or outdoor changes beyond :data:`SETPOINT_STEADY_K` /
    :data:`OUTDOOR_STEADY_K` from the window's first value."""
    cuts = []
    ref: dict[tuple[str, str], float] = {}
    for t, kind, target, d in events:
        if kind in INFO_KINDS:  # site log rows shown on the timeline, not applied: no boundary change
            continue
        if kind in ("set_setpoint", "set_outdoor_c"):
            v = float(d.get("setpoint_c", d.get("c", 0.0)))
            key = (kind, target)
            lim = SETPOINT_STEADY_K if kind == "set_setpoint" else OUTDOOR_STEADY_K
            if key in ref and abs(v - ref[key]) < lim:
                continue
            first = key not in ref
            ref[key] = v
            if first and t <= 1e-9:
                continue
        cuts.append(t)
    return cuts


@dataclass
class CalibrateOptions:
    params: Optional[str] = None
    t_from: Optional[str | float] = None
    t_to: Optional[str | float] = None
    holdout: int = 4
    grid_m: Any = None
    dt_s: float = 10.0
    sample_s: Optional[float] = None
    min_window_s: float = 1800.0
    settle_s: float = 1200.0
    max_windows: int = 3
    max_evaluations: int = 12
    layout_id: Optional[int] = None
    set_id: Optional[int] = None
    save: bool = True


def window_utilization(sim: Simulation, t_rel: np.ndarray, override: Optional[np.ndarray]) -> np.ndarray:
    """Per rack, the median over a window's sample times ``t_rel`` (s from the data's start, which is the
    replay's time 0) of the utilization its workload gives (``override`` wins where set). A steady
    evaluation otherwise solves at time 0: a diurnal workload then draws what it draws at the start of
    the data, and the unmeasured racks' power scales absorb the difference (ai-hall, 3 h synthetic
    site: 1.12-1.18 where the truth is 0.98-1.03, the diurnal workload being 1.13 times its start value
    at the window)."""
    wl = sim.system.wl
    u = np.stack([wl.utilization(float(t), override, backend="numpy") for t in np.atleast_1d(t_rel)])
    return np.median(u, axis=0)


def window_supply(sensors: list[Sensor], z: np.ndarray, sim: Simulation, cond: Any) -> np.ndarray:
    """Per unit, the supply temperature of a window: the median of the unit's measured supply over the
    window where it runs and has a supply point, else the setpoint the site's events give. The events'
    setpoints follow the supply within a dead band (0.5 K, from a 10-sample median at the change), so a
    window can start 0.3-0.5 K off the supply it then holds; every temperature of the hall moves with it
    (small synthetic hall, 3 h, twin at the true parameters: -0.26 and +0.34 K mean residuals in its two
    windows, the supply setpoints 0.14-0.48 K off the measured medians)."""
    sp = cond.setpoint_c.copy()
    index = sim.system.unit_index
    spec = EVENT_KINDS["set_setpoint"].value
    for k, s in enumerate(sensors):
        if s.quantity == "supply_c" and s.element in index and math.isfinite(z[k]):
            u = index[s.element]
            if cond.unit_running[u] != 0:
                sp[u] = min(max(float(z[k]), spec.low), spec.high)
    return sp


def choose_hall(site: Any, points: list) -> str:
    """The hall that holds most of the mapped elements."""
    where = {el.id: h.id for h in site.halls for el in list(h.racks) + list(h.cooling_units)}
    votes: dict[str, int] = {}
    for p in points:
        if p.element in where:
            votes[where[p.element]] = votes.get(where[p.element], 0) + 1
    return max(votes, key=votes.get) if votes else site.halls[0].id


def holdout_mask(sensors: list[Sensor], k: int, eligible: Callable[[Sensor], bool]) -> np.ndarray:
    """Every ``k``-th eligible sensor (in map order) held back (none for k = 0)."""
    hidden = np.zeros(len(sensors), bool)
    if k:
        cands = [i for i, s in enumerate(sensors) if eligible(s)]
        for n, i in enumerate(cands):
            if n % k == k - 1:
                hidden[i] = True
    return hidden


def steady_windows(b: Boundary, events: list[tuple[float, str, str, dict]], min_window_s: float,
                   settle_s: float) -> list[tuple[int, int]]:
    """``(first, last)`` sample of the settled part of every steady window (module docstring, step 1)."""
    n = len(b.times)
    ev_t = np.array(window_cuts(events)) + b.t0
    cuts = set()
    for t in ev_t:
        i = int(np.searchsorted(b.times, t, side="left"))
        cuts.add(max(i, 1) if t > b.t0 + 1e-6 else 0)
    start = 0
    has_power = b.power_w.shape[1] > 0
    lag = max(1, int(round(POWER_STEP_S / b.sample_s)))
    spans = []

    def moved(p: np.ndarray, ref: np.ndarray, share: float) -> bool:
        tol = np.maximum(share * np.abs(ref), POWER_STEADY_W)
        return bool(np.any(np.isfinite(p) & np.isfinite(ref) & (np.abs(p - ref) > tol)))

    for i in range(1, n):
        step = drift = False
        if has_power:
            p = b.power_w[i]
            step = moved(p, b.power_w[max(start, i - lag)], POWER_STEADY_SHARE)
            drift = moved(p, b.power_w[start], POWER_DRIFT_SHARE)
        if i in cuts or step or drift:
            spans.append((start, i - 1))
            start = i
    spans.append((start, n - 1))
    settle = int(math.ceil(settle_s / b.sample_s))
    out = []
    for a, e in spans:
        if (e - a) * b.sample_s >= min_window_s and e - (a + settle) >= 2:
            out.append((a + settle, e))
    return out


class _Fit:
    """The residual function and its Jacobian over the windows (module docstring, step 3)."""

    def __init__(self, models: list[SteadyModel], z: list[np.ndarray], rows: np.ndarray, sigma: list[np.ndarray],
                 params: list[Param], say: Callable[[str], None]) -> None:
        self.models, self.z, self.rows, self.sigma, self.params, self.say = models, z, rows, sigma, params, say
        self.theta0 = nominal(params)
        self.prior = sigmas(params)
        self.cache: dict[bytes, list] = {}
        self.last_J: Optional[np.ndarray] = None
        self.J_theta: Optional[np.ndarray] = None
        self.steps = np.array([p.step for p in params], dtype=np.float64)
        self.jacobians = self.reused = 0

    def evaluations(self, theta: np.ndarray) -> list:
        key = np.asarray(theta, float).tobytes()
        if key not in self.cache:
            evs = []
            for m in self.models:
                evs.append(m.evaluate(theta))
            self.cache[key] = evs
        return self.cache[key]

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        evs = self.evaluations(theta)
        parts = [(ev.y[self.rows] - z) / s for ev, z, s in zip(evs, self.z, self.sigma)]
        r = np.concatenate(parts + [(np.asarray(theta) - self.theta0) / self.prior])
        return np.nan_to_num(r)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """The Jacobian at ``theta``; the last one is reused while theta stays within one finite-difference
        step of where it was taken (module docstring, step 3)."""
        theta = np.asarray(theta, float)
        if self.last_J is not None and np.all(np.abs(theta - self.J_theta) <= self.steps + 1e-12):
            self.reused += 1
            return self.last_J
        evs = self.evaluations(theta)
        blocks = []
        for k, (m, ev, s) in enumerate(zip(self.models, evs, self.sigma)):
            self.say(f"sensitivities in window {k + 1} of {len(self.models)} ({len(self.params)} parameters)")
            J = m.jacobian(ev)
            blocks.append(J[self.rows] / s[:, None])
        J = np.vstack(blocks + [np.diag(1.0 / self.prior)])
        self.last_J, self.J_theta = J, theta.copy()
        self.jacobians += 1
        return J


def _observed(b: Boundary, a: int, e: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sensor, the median of the window's samples and how many there were."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z = np.nanmedian(b.measured[a:e + 1], axis=0)
    n = np.sum(np.isfinite(b.measured[a:e + 1]), axis=0)
    return z, n


def calibrate(path: str, opts: Optional[CalibrateOptions] = None,
              progress: Optional[Callable[[str], None]] = None) -> tuple[dict[str, Any], Any]:
    """Fit the parameters (module docstring). Returns ``(result, calibrated site)``; with ``opts.save``
    the calibrated layout is stored in the project as a new layout version."""
    from scipy.optimize import least_squares

    o = opts or CalibrateOptions()
    say = progress or (lambda _m: None)
    wall0 = time.perf_counter()
    if o.holdout < 0 or o.holdout == 1:
        raise InputError(f"--holdout must be 0 (none) or at least 2, got {o.holdout}")
    with Project.open(path, read_only=True) as project:
        reader = TelemetryReader(project, o.set_id)
        layout_id = o.layout_id if o.layout_id is not None else project.latest_layout_id()
        site = project.load_layout(layout_id)
        points = reader.points()
        hall_id = choose_hall(site, points)
        sim = Simulation(site, hall_id, grid_m=o.grid_m, dt_s=o.dt_s)
        out = Outputs.of(sim)
        sensors, outside = place(points, out)
        t0 = epoch(o.t_from, "from", reader.t0_s)
        t1 = epoch(o.t_to, "to", reader.t1_s)
        if not t1 > t0:
            raise InputError(f"--from/--to: the span {iso(t0)} to {iso(t1)} is empty")
        b = Boundary(reader, sensors, t0, t1, o.dt_s, o.sample_s)
        events = b.static_events(sim.injector.check, sim.cplant is not None)
        set_id = reader.id
    windows = steady_windows(b, events, o.min_window_s, o.settle_s)
    if not windows:
        raise InputError(f"no steady window of at least {o.min_window_s / 60:.0f} min (after {o.settle_s / 60:.0f} min "
                         f"of settling) between {iso(t0)} and {iso(t1)}: every stretch has a boundary change; give a "
                         f"longer span or a shorter --min-window")
    windows = sorted(sorted(windows, key=lambda w: w[0] - w[1])[:o.max_windows])
    groups, only = parse_params(o.params)
    measured_power = [s.element for s in sensors if s.quantity == "power_w"]
    params = param_space(site, groups, hall_id, only, exclude=measured_power)
    fitted = [k for k, s in enumerate(sensors) if s.quantity in FITTED]
    hidden = holdout_mask(sensors, o.holdout, lambda s: s.temperature and s.quantity in FITTED)
    fit_idx = [k for k in fitted if not hidden[k]]
    hold_idx = [k for k in fitted if hidden[k]]
    models, zs, sig, win_info, obs_all = [], [], [], [], []
    for w, (a, e) in enumerate(windows):
        label = f"steady window {w + 1} ({iso(b.times[a])} to {iso(b.times[e])})"
        cond = b.conditions(a, e, events, sim, label)
        cond.utilization = window_utilization(sim, b.times[a:e + 1] - b.t0, cond.utilization)
        z, n = _observed(b, a, e)
        cond.setpoint_c = window_supply(sensors, z, sim, cond)
        models.append(SteadyModel(site, params, cond, hall_id=hall_id, grid_m=o.grid_m))
        obs_all.append(z)
        zs.append(z[fit_idx])
        sig.append(np.array([SIGMA_TEMP_K if sensors[k].temperature else SIGMA_REL * max(abs(z[k]), 1.0)
                             for k in fit_idx]))
        win_info.append({"from": iso(b.times[a]), "to": iso(b.times[e]), "samples": int(e - a + 1)})
    # sensors without a value in some window: leave them out there (weight 0 through a huge sigma)
    for w in range(len(windows)):
        bad = ~np.isfinite(zs[w])
        sig[w][bad] = 1e9
        zs[w][bad] = 0.0
    rows = np.array([sensors[k].row for k in fit_idx], dtype=np.int64)
    fit = _Fit(models, zs, rows, sig, params, say)
    theta0 = nominal(params)
    say(f"{len(windows)} steady window(s), {len(fit_idx)} fitted sensors, {len(hold_idx)} held back, "
        f"{len(params)} parameters")
    before = fit.evaluations(theta0)
    # racks with a power point: their scale is measured, not fitted; the fit runs on the layout with it
    # (their airflow follows their power, as a rack off its nameplate does)
    measured = _measured_scales(b, windows, models, before, sensors)
    base_site = site
    if measured:
        mp = param_space(site, ("rack_power",), hall_id, {"rack_power": [n.split(":", 1)[1] for n in measured]},
                         racks="rack")
        base_site = apply(site, mp, [measured[p.name]["value"] for p in mp], hall_id)
        for m in models:
            m.site, m.reference = base_site, None
        fit.cache.clear()
        before = fit.evaluations(theta0)
    if params:
        lo, hi = bounds(params)
        res = least_squares(fit.residuals, theta0, jac=fit.jacobian, bounds=(lo, hi), method="trf",
                            x_scale=sigmas(params), max_nfev=o.max_evaluations, ftol=1e-3, xtol=1e-3, gtol=1e-6)
        theta = res.x
        J = fit.last_J if fit.last_J is not None else fit.jacobian(theta)
        r = fit.residuals(theta)
        dof = max(len(r) - len(params), 1)
        chi2 = float(r @ r) / dof
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cov = np.linalg.pinv(J.T @ J) * max(1.0, chi2)
        sigma_theta = np.sqrt(np.maximum(np.diag(cov), 0.0))
        nfev, status = int(res.nfev), str(res.message)
    else:
        theta, sigma_theta, chi2, nfev, status = theta0, np.zeros(0), math.nan, 0, "no parameters to fit"
    after = fit.evaluations(theta)

    def rms(evs: list, idx: list[int]) -> Optional[float]:
        d = []
        for ev, z in zip(evs, obs_all):
            for k in idx:
                if sensors[k].temperature and math.isfinite(z[k]):
                    d.append(ev.y[sensors[k].row] - z[k])
        return float(np.sqrt(np.mean(np.square(d)))) if d else None

    lo, hi = bounds(params) if params else (np.zeros(0), np.zeros(0))
    out_params: dict[str, Any] = {}
    for p, v, s, l_, h_ in zip(params, theta, sigma_theta, lo, hi):
        out_params[p.name] = {"value": float(v), "sigma": float(s), "nominal": p.nominal, "lower": float(l_),
                              "upper": float(h_), "method": "fit", "constrained": bool(s < 0.7 * p.sigma),
                              "at_bound": bool(v <= l_ + 1e-6 or v >= h_ - 1e-6)}
        if p.members:
            out_params[p.name]["members"] = list(p.members)
    out_params.update(measured)
    calibrated = apply(base_site, params, theta, hall_id)
    result = {
        "file": str(path), "telemetry_set": set_id, "layout_id": layout_id, "hall": hall_id,
        "from": iso(t0), "to": iso(t1), "windows": win_info,
        "params": out_params,
        "rms_before_k": rms(before, fit_idx), "rms_after_k": rms(after, fit_idx),
        "holdout_rms_before_k": rms(before, hold_idx), "holdout_rms_after_k": rms(after, hold_idx),
        "fitted_sensors": [sensors[k].point for k in fit_idx], "holdout_sensors": [sensors[k].point for k in hold_idx],
        "chi2_reduced": chi2, "evaluations": sum(m.evaluations for m in models), "least_squares_nfev": nfev,
        "jacobians": fit.jacobians, "jacobians_reused": fit.reused,
        "status": status, "outside_hall": outside, "warnings": list(b.warnings),
        "wall_s": round(time.perf_counter() - wall0, 1),
    }
    if o.save:
        note = (f"calibrated to telemetry set {set_id} ({iso(t0)} to {iso(t1)}, {len(windows)} steady windows): "
                f"RMS {_k(result['rms_before_k'])} -> {_k(result['rms_after_k'])} on fitted sensors, "
                f"{_k(result['holdout_rms_before_k'])} -> {_k(result['holdout_rms_after_k'])} held back; "
                + ", ".join(f"{n} {v['value']:.3g}±{v['sigma']:.2g}" for n, v in out_params.items()
                            if v["method"] == "fit"))
        with Project.open(path) as project:
            result["new_layout_id"] = project.save_layout(calibrated, note=note[:2000])
        result["note"] = note
    return result, calibrated


def _k(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:.2f} K"


def _measured_scales(b: Boundary, windows: list[tuple[int, int]], models: list[SteadyModel], evs: list,
                     sensors: list[Sensor]) -> dict[str, Any]:
    """The power scale of each rack with a power point (module docstring, step 5)."""
    out: dict[str, Any] = {}
    if not b.power_racks:
        return out
    per_rack: dict[str, list[float]] = {r: [] for r in b.power_racks}
    for (a, e), m, ev in zip(windows, models, evs):
        sim = ev.sim
        hs = sim.system
        u_base = hs.wl.utilization(float(b.times[a] - b.t0), m.cond.utilization if m.cond.utilization is not None
                                   else np.full(hs.ra.n, np.nan))
        p_nom = power_airflow(hs.ra, u_base, sim.rack_inlet_c, backend="numpy")[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p_meas = np.nanmedian(b.power_w[a:e + 1], axis=0)
        for rid, pm in zip(b.power_racks, p_meas):
            j = hs.rack_index[rid]
            if math.isfinite(pm) and p_nom[j] > 0:
                per_rack[rid].append(float(pm / p_nom[j]))
    for rid, vals in per_rack.items():
        if not vals:
            continue
        v = float(np.median(vals))
        spread = float(np.std(vals) / math.sqrt(len(vals))) if len(vals) > 1 else 0.0
        out[f"rack_power:{rid}"] = {"value": v, "sigma": max(spread, 0.01 * v), "nominal": 1.0, "lower": 0.0,
                                    "upper": None, "method": "measured", "constrained": True, "at_bound": False}
    return out
