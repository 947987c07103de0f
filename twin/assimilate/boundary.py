"""Measured data on the replay's clock: sensors sampled on a regular grid, and the site's boundary
conditions as engine events.

:class:`Boundary` reads a telemetry set for a span ``[t0, t1]`` (epoch seconds) and gives

- ``times``: the sample grid (``t0 + k * sample_s``; ``sample_s`` the sensors' median interval
  rounded to the engine step); ``measured[k, s]``: the sample of sensor s nearest to ``times[k]``
  within half a sample (NaN: none), for comparing; ``held[k, s]``: the last sample at or before
  ``times[k]`` not older than ``hold_s`` (a state such as ``running`` holds until it changes), for
  driving the model;
- :meth:`static_events`: every boundary change known from the data alone, as
  ``(t_s from t0, kind, target, details)``: the site's event log (``origin: "site"``), running
  states, supply temperatures as setpoints, the outdoor temperature (``origin: "measured"``);
- ``power_w``: measured rack power per sample (median of the last few samples, so noise does not
  make an event a sample), to set the racks' utilization during the run (it depends on their inlet);
- :meth:`conditions`: the boundary conditions of a window of samples as
  :class:`~dctwin.twin.assimilate.model.Conditions` (for calibration's steady windows).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.assimilate.model import Conditions
from dctwin.twin.assimilate.observe import Sensor
from dctwin.twin.errors import InputError
from dctwin.twin.io.telemetry import iso, parse_time
from dctwin.twin.model.events import EVENT_KINDS
from dctwin.twin.store.measured import TelemetryReader

#: a change of a unit's running state this close to a site event of the same kind is that event (s)
MATCH_S = 600.0
#: deadbands below which a measured boundary value makes no new event, and the samples whose median it is
#: (a unit holds its supply at its setpoint: the median of 10 minutes takes the sensor noise out)
SETPOINT_DEADBAND_K = 0.5
SETPOINT_MEDIAN_SAMPLES = 10
OUTDOOR_DEADBAND_K = 1.0
OUTDOOR_MEDIAN_SAMPLES = 15
#: measured power is the median of this many samples
POWER_MEDIAN_SAMPLES = 5


def epoch(value: Any, what: str, default: Optional[float] = None) -> Optional[float]:
    """``--from``/``--to`` as epoch seconds: ISO 8601 with an offset, or epoch seconds (``default`` when
    not given)."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_time(str(value), what)
    except InputError as exc:
        raise InputError(f"--{what}: {exc}") from None


def nearest(t: np.ndarray, v: np.ndarray, at: np.ndarray, within: float) -> np.ndarray:
    """Per time in ``at``, the sample nearest to it within ``within`` seconds (NaN where none)."""
    out = np.full(len(at), np.nan)
    if not len(t):
        return out
    if len(t) == 1:
        i = np.zeros(len(at), np.int64)
    else:
        i = np.clip(np.searchsorted(t, at), 1, len(t) - 1)
        left = np.abs(at - t[i - 1]) <= np.abs(t[i] - at)
        i = np.where(left, i - 1, i)
    ok = np.abs(t[i] - at) <= within
    out[ok] = v[i[ok]]
    return out


def held(t: np.ndarray, v: np.ndarray, at: np.ndarray, hold_s: float) -> np.ndarray:
    """Per time in ``at``, the last sample at or before it, if not older than ``hold_s`` (NaN else)."""
    out = np.full(len(at), np.nan)
    if not len(t):
        return out
    i = np.searchsorted(t, at, side="right") - 1
    ok = i >= 0
    ok[ok] &= (at[ok] - t[i[ok]]) <= hold_s
    out[ok] = v[i[ok]]
    return out


def rolling_median(x: np.ndarray, k: int) -> np.ndarray:
    """Median of the last ``k`` values at each position, the finite ones only (NaN where x is NaN)."""
    x = np.asarray(x, float)
    pad = np.concatenate([np.full(k - 1, np.nan), x])
    win = np.lib.stride_tricks.sliding_window_view(pad, k)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x)
    if ok.any():
        out[ok] = np.nanmedian(win[ok], axis=1)
    return out


class Boundary:
    """A telemetry set on the replay's sample grid (module docstring)."""

    def __init__(self, reader: TelemetryReader, sensors: list[Sensor], t0: float, t1: float, dt_s: float,
                 sample_s: Optional[float] = None) -> None:
        self.reader, self.sensors, self.t0, self.t1 = reader, sensors, float(t0), float(t1)
        raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        intervals = []
        for s in sensors:
            t, v = reader.series(s.point, self.t0 - 86400.0, self.t1 + 3600.0)
            raw[s.point] = (t, v)
            inside = t[(t >= self.t0) & (t <= self.t1)]
            if len(inside) > 2:
                intervals.append(float(np.median(np.diff(inside))))
        med = float(np.median(intervals)) if intervals else 60.0
        sample = float(sample_s) if sample_s else max(dt_s, round(med / dt_s) * dt_s)
        ratio = sample / dt_s
        if abs(ratio - round(ratio)) > 1e-9 or ratio < 1:
            raise InputError(f"the sample interval {sample:g} s must be a multiple of the step {dt_s:g} s")
        self.dt_s = float(dt_s)
        self.sample_s = sample
        self.median_interval_s = med
        self.hold_s = max(3.5 * med, 2 * sample)
        n = int(math.floor((self.t1 - self.t0) / sample + 1e-9)) + 1
        self.times = self.t0 + sample * np.arange(n)
        self.measured = np.full((n, len(sensors)), np.nan)
        self.held = np.full((n, len(sensors)), np.nan)
        for k, s in enumerate(sensors):
            t, v = raw[s.point]
            self.measured[:, k] = nearest(t, v, self.times, 0.5 * sample)
            self.held[:, k] = held(t, v, self.times, math.inf if s.quantity == "running" else self.hold_s)
        self.power_racks: list[str] = []
        self.power_points: list[str] = []
        cols = []
        for k, s in enumerate(sensors):
            if s.quantity == "power_w":
                self.power_racks.append(s.element)
                self.power_points.append(s.point)
                cols.append(rolling_median(self.held[:, k], POWER_MEDIAN_SAMPLES))
        self.power_w = np.stack(cols, axis=1) if cols else np.zeros((n, 0))
        self.warnings: list[str] = []

    def static_events(self, check: Callable[[str, str, dict], None], has_plant: bool
                      ) -> list[tuple[float, str, str, dict]]:
        """Every boundary change known from the data (module docstring), sorted by time. ``check(kind,
        target, details)`` raises InputError for what the engine cannot apply (skipped, with a warning)."""
        out: list[tuple[float, str, str, dict]] = []
        for e in self.reader.events(self.t0 - 1e-6, self.t1):
            if e["kind"] not in EVENT_KINDS:
                continue
            details = dict(e["details"])
            details.update(origin="site", source=e["source"], raw_kind=e["raw_kind"], message=e["message"])
            try:
                check(e["kind"], e["target"], details)
            except InputError as exc:
                self.warnings.append(f"site event at {iso(e['t_s'])} not applied: {exc}")
                continue
            out.append((max(e["t_s"] - self.t0, 0.0), e["kind"], e["target"], details))
        for k, s in enumerate(self.sensors):
            if s.quantity == "running":
                out += self._running_events(k, s, out)
            elif s.quantity == "supply_c" or (s.quantity == "outdoor_c" and has_plant):
                out += self._value_events(k, s)
        out.sort(key=lambda e: e[0])
        return out

    def _running_events(self, k: int, s: Sensor, known: list) -> list[tuple[float, str, str, dict]]:
        out: list[tuple[float, str, str, dict]] = []
        last = None
        for i, v in enumerate(self.held[:, k]):
            if not math.isfinite(v):
                continue
            state = bool(v > 0.5)
            t_rel = float(self.times[i] - self.t0)
            if last is None:
                if not state:
                    out.append((0.0, "fail", s.element, {"origin": "measured", "point": s.point}))
            elif state != last:
                kind = "repair" if state else "fail"
                if not any(e[1] == kind and e[2] == s.element and abs(e[0] - t_rel) <= MATCH_S for e in known):
                    out.append((t_rel, kind, s.element, {"origin": "measured", "point": s.point}))
            last = state
        return out

    def _value_events(self, k: int, s: Sensor) -> list[tuple[float, str, str, dict]]:
        out: list[tuple[float, str, str, dict]] = []
        supply = s.quantity == "supply_c"
        spec = EVENT_KINDS["set_setpoint" if supply else "set_outdoor_c"].value
        band = SETPOINT_DEADBAND_K if supply else OUTDOOR_DEADBAND_K
        last = None
        width = SETPOINT_MEDIAN_SAMPLES if supply else OUTDOOR_MEDIAN_SAMPLES
        for i, v in enumerate(rolling_median(self.held[:, k], width)):
            if not math.isfinite(v):
                continue
            v = min(max(round(float(v), 2), spec.low), spec.high)
            if last is None or abs(v - last) >= band:
                t_rel = float(self.times[i] - self.t0)
                if supply:
                    out.append((t_rel, "set_setpoint", s.element, {"setpoint_c": v, "origin": "measured",
                                                                   "point": s.point}))
                else:
                    out.append((t_rel, "set_outdoor_c", "", {"c": v, "origin": "measured", "point": s.point}))
                last = v
        return out

    def conditions(self, i0: int, i1: int, events: list[tuple[float, str, str, dict]], sim: Any,
                   label: str = "") -> Conditions:
        """The boundary conditions over samples ``i0..i1`` (inclusive): the static events up to sample
        ``i0`` applied in order, and the median measured rack power over the window."""
        hs = sim.system
        cond = Conditions.free(hs.ra.n, hs.ua.n)
        cond.label = label
        util = np.full(hs.ra.n, np.nan)
        rows: dict[str, list[int]] = {}
        for i, r in enumerate(hs.hall.racks):
            rows.setdefault(r.row or "", []).append(i)
        t_cut = float(self.times[i0] - self.t0) + 1e-9
        for t_rel, kind, target, d in events:
            if t_rel > t_cut:
                break
            if kind in ("fail", "repair") and target in hs.unit_index:
                cond.unit_running[hs.unit_index[target]] = 0 if kind == "fail" else 1
            elif kind == "set_setpoint" and target in hs.unit_index:
                cond.setpoint_c[hs.unit_index[target]] = float(d["setpoint_c"])
            elif kind == "set_utilization":
                idx = (range(hs.ra.n) if target in ("", "all", "*") else
                       [hs.rack_index[target]] if target in hs.rack_index else rows.get(target, []))
                util[list(idx)] = float(d["utilization"])
            elif kind == "set_outdoor_c":
                cond.outdoor_c = float(d["c"])
        cond.utilization = util
        if self.power_racks:
            p = np.nanmedian(self.power_w[i0:i1 + 1], axis=0) if i1 >= i0 else self.power_w[i0]
            for rid, v in zip(self.power_racks, p):
                if math.isfinite(v):
                    cond.rack_power_w[hs.rack_index[rid]] = float(v)
        return cond
