"""A shadow recording, reviewed: what was measured, what the model predicted, what was estimated (no Qt).

:func:`measured_view` reads the shadow part of a recording (:mod:`dctwin.twin.store.measured`) into a
:class:`MeasuredView` of plain arrays, for the replay view (trends of measured beside predicted,
sensors coloured by their residual on the floor plan, the site's events on the timeline) and the
review report (which values were measured and which estimated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from dctwin.twin.store.measured import RACK_STREAM, ShadowReader, TelemetryReader

#: the floor plan's residual colour scale: its step and range (K; see MeasuredView.residual_scale_k)
SCALE_STEP_K = 0.5
SCALE_RANGE_K = (0.5, 3.0)
#: words for the role of each sensor in a shadow replay
ROLE_TEXT = {"boundary": "measured, imposed on the model", "assimilated": "measured, corrects the estimate",
             "holdout": "measured, held back (tests the estimate)", "compared": "measured, compared"}


@dataclass
class SensorInfo:
    point: str
    element: str
    quantity: str
    unit: str
    role: str  # boundary / assimilated / holdout / compared
    rms: Optional[float] = None
    rms_estimated: Optional[float] = None


@dataclass
class MeasuredView:
    """The measured side of one shadow recording (recording seconds throughout)."""

    recording_id: int
    t0_epoch_s: float
    sensors: list[SensorInfo]
    t_s: np.ndarray
    measured: np.ndarray  # [samples, sensors]
    predicted: np.ndarray
    estimated: np.ndarray
    rack_t_s: np.ndarray
    rack_estimated_inlet_c: np.ndarray  # [samples, racks]
    summary: dict[str, Any]
    site_events: list[dict[str, Any]] = field(default_factory=list)  # t_s in recording seconds

    def residual_scale_k(self) -> float:
        """The residual (K) at which a sensor on the floor plan is fully blue or red: the 95th percentile
        of |predicted - measured| over the temperature sensors the model predicts and every sample,
        rounded up to a step of :data:`SCALE_STEP_K` within :data:`SCALE_RANGE_K` (a fixed 3 K showed
        ai-hall's residuals of 0.2-1 K all white)."""
        cols = [k for k, s in enumerate(self.sensors) if s.unit == "K" and s.role != "boundary"]
        if not cols:
            return SCALE_RANGE_K[1]
        d = np.abs(self.predicted[:, cols].astype(float) - self.measured[:, cols].astype(float))
        d = d[np.isfinite(d)]
        if not d.size:
            return SCALE_RANGE_K[1]
        q = math.ceil(float(np.percentile(d, 95)) / SCALE_STEP_K - 1e-9) * SCALE_STEP_K
        return float(min(max(q, SCALE_RANGE_K[0]), SCALE_RANGE_K[1]))

    def index(self, point: str) -> int:
        return [s.point for s in self.sensors].index(point)

    def at(self, t_s: float) -> int:
        """The sample at or before ``t_s`` (-1 before the first)."""
        return int(np.searchsorted(self.t_s, t_s + 1e-9, side="right")) - 1

    def residuals_at(self, t_s: float) -> dict[str, float]:
        """Predicted minus measured of every sensor at the sample at or before ``t_s`` (NaN: no reading)."""
        i = self.at(t_s)
        if i < 0:
            return {s.point: math.nan for s in self.sensors}
        d = self.predicted[i].astype(float) - self.measured[i].astype(float)
        return {s.point: float(d[k]) for k, s in enumerate(self.sensors)}


def measured_view(project: Any, recording_id: int) -> Optional[MeasuredView]:
    """The :class:`MeasuredView` of a recording, or None when it is not a shadow replay."""
    sh = ShadowReader.of(project, recording_id)
    if sh is None:
        return None
    t, meas = sh.stream("measured")
    _, pred = sh.stream("predicted")
    _, est = sh.stream("estimated")
    rt, rack = sh.stream(RACK_STREAM)
    res = sh.summary.get("residuals", {})
    hidden = set(sh.holdout)
    sensors = []
    for p in sh.points:
        r = res.get(p, {})
        role = ("holdout" if p in hidden else "boundary" if r.get("boundary") else
                "assimilated" if sh.estimator.get("method", "none") != "none" else "compared")
        sensors.append(SensorInfo(p, str(r.get("element", "")), str(r.get("quantity", "")), str(r.get("unit", "")),
                                  role, r.get("rms"), r.get("rms_estimated")))
    events = []
    try:
        tel = TelemetryReader(project, sh.set_id)
        t1 = sh.t0_epoch_s + (float(t[-1]) if len(t) else 0.0)
        for e in tel.events(sh.t0_epoch_s, t1):
            events.append(dict(e, t_s=e["t_s"] - sh.t0_epoch_s, epoch_s=e["t_s"]))
    except Exception:  # noqa: BLE001 - a review without its telemetry set still shows the streams
        events = []
    return MeasuredView(recording_id, sh.t0_epoch_s, sensors, t, meas, pred, est, rt, rack, sh.summary, events)


def measured_rows(view: MeasuredView) -> list[tuple[str, str]]:
    """Key figures of a shadow replay as (name, value) text rows."""
    s = view.summary

    def k(v: Any) -> str:
        return "—" if v is None else f"{v:.2f} K"

    rows = [("Measured data", f"telemetry set {s.get('telemetry_set')}, {s.get('from')} to {s.get('to')}, "
                              f"{s.get('samples')} samples of {s.get('sensors')} points"),
            ("Predicted minus measured (temperatures)", f"RMS {k(s.get('residual_rms_k'))}, "
                                                          f"max {k(s.get('residual_max_k'))}"),
            ("Estimated minus measured (assimilated sensors)", k(s.get("estimated_rms_k")))]
    h = s.get("holdout")
    if h:
        rows.append((f"Held-back sensors (every {h['k']}-th temperature sensor)", f"predicted {k(h.get('predicted_rms_k'))}, "
                                                              f"estimated {k(h.get('estimated_rms_k'))}"))
    ev = s.get("events_applied", {})
    rows.append(("Site events applied", f"{ev.get('site', 0)} from the site's log, {ev.get('measured', 0)} "
                                        f"from measured points"))
    rows.append(("Alarms", f"{s.get('alarms_measured', 0)} on measured values, {s.get('alarms_model', 0)} in the "
                           f"model"))
    return rows
