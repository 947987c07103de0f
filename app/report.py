"""Review report of one recording: PDF (through Qt) and HTML, and the floor plan as PNG.

The report holds a title, the floor plan at the worst moment (the hottest
inlet of the run, or ``at_s``) drawn with the editor's scene, the timeline of
events and automatic actions, the alarms with their explanations, trends
with the ASHRAE limit lines, and key figures: hottest inlet, time to the first
allowable breach, ride-through, racks down, energy and PUE.

:func:`collect` reads everything from the project file (no Qt);
:func:`write_png`, :func:`write_pdf` and :func:`write_html` render it (they
need a ``QApplication``; :func:`ensure_app` makes an offscreen one when there
is no display). Files are written to a temporary name in the target folder
and renamed into place, so a failed render never leaves half a file.
"""

from __future__ import annotations

import base64
import html
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from dctwin.twin.errors import InputError
from dctwin.twin.model.events import AUTOMATIC_KINDS, INJECTED_KINDS, Event
from dctwin.twin.sim.results import HallSummary

#: ASHRAE A1 limits drawn on the trends and used for the breach figure (°C)
REC_MAX_C = 27.0
ALLOWABLE_MAX_C = 32.0
#: height of the air-temperature slice drawn under the floor plan (m)
HEAT_Z_M = 1.0
#: racks drawn in the inlet trend (the hottest ones)
TREND_RACKS = 5
#: kinds that count as a rack going down
DOWN_KINDS = ("rack_down", "shutdown")
#: A4 less 15 mm margins, in points: the text block the PDF lays out in
PDF_TEXT_W_PT = (210 - 30) / 25.4 * 72
PDF_TEXT_H_PT = (297 - 30) / 25.4 * 72


@dataclass
class ReviewData:
    """Everything the report shows, read from one recording (plain data, no Qt)."""

    file: str
    title: str
    recording_id: int
    site: Any
    hall_id: Optional[str]
    duration_s: float
    dt_s: float
    incident_name: str
    incident_description: str
    engine_version: str
    is_review: bool
    picture_t_s: float  # the moment the floor plan shows
    picture_reason: str
    summary: HallSummary  # sim.summary() at picture_t_s
    heat: Optional[tuple]  # (temps [nx, ny] °C, extent) at HEAT_Z_M
    events: list[Event]
    alarms: list[dict]
    hall_t_s: np.ndarray
    hall: dict[str, np.ndarray]
    rack_t_s: np.ndarray
    rack_inlet_c: np.ndarray  # [n, racks]
    rack_ids: list[str]
    figures: dict[str, Any] = field(default_factory=dict)

    def event_by_seq(self) -> dict[int, Event]:
        return {e.seq: e for e in self.events}


def cause_chain(seq: Optional[int], by_seq: dict[int, Event], limit: int = 50) -> list[Event]:
    """The event ``seq`` and its causes, nearest first, back to the root (cycles and gaps end it)."""
    out: list[Event] = []
    seen: set[int] = set()
    while seq is not None and seq in by_seq and seq not in seen and len(out) < limit:
        seen.add(seq)
        ev = by_seq[seq]
        out.append(ev)
        seq = ev.cause
    return out


def _t(t_s: float) -> str:
    return f"{t_s:.0f} s" if t_s < 120 else f"{t_s:.0f} s ({t_s / 60:.1f} min)"


def event_text(ev: Event) -> str:
    """One event in words: ``fail CRAH-1 at 10 s``."""
    what = ev.kind.replace("_", " ")
    return f"{what} {ev.target} at {_t(ev.t_s)}".replace("  ", " ")


def alarm_explanation(alarm: dict, by_seq: dict[int, Event]) -> str:
    """The alarm's explanation as one sentence: its own message, else built from its cause chain."""
    msg = str(alarm.get("message") or "").strip()
    chain = cause_chain(alarm.get("cause"), by_seq)
    if msg:
        return msg if msg.endswith(".") else msg + "."
    head = f"{str(alarm.get('kind', 'alarm')).replace('_', ' ')} on {alarm.get('target', '')} at {_t(alarm['t_s'])}"
    if chain:
        return head + ", caused by " + " <- ".join(event_text(e) for e in chain) + "."
    return head + "."


def key_figures(duration_s: float, events: list[Event], alarms: list[dict], hall_t: np.ndarray,
                hall: dict[str, np.ndarray], rack_t: np.ndarray, rack_inlet: np.ndarray,
                rack_ids: list[str]) -> dict[str, Any]:
    """Key figures of a run from its recorded series and events.

    hottest inlet (°C, rack, time); first allowable breach (s from the start, and from the first
    injected event); ride-through (s from the first UPS on battery to the battery exhausted, or the
    run's end when it held); racks down (ids); IT and facility energy (kWh, trapezoid over the hall
    metrics) and their ratio, the run's PUE.
    """
    f: dict[str, Any] = {}
    mx = hall.get("max_inlet_c")
    if mx is not None and len(mx) and np.isfinite(mx).any():
        i = int(np.nanargmax(mx))
        f["hottest_inlet_c"] = float(mx[i])
        f["hottest_inlet_t_s"] = float(hall_t[i])
    if rack_inlet.size:
        j = np.unravel_index(int(np.nanargmax(rack_inlet)), rack_inlet.shape)
        f["hottest_rack"] = rack_ids[int(j[1])]
        if "hottest_inlet_c" not in f or rack_inlet[j] > f["hottest_inlet_c"]:
            f["hottest_inlet_c"] = float(rack_inlet[j])
            f["hottest_inlet_t_s"] = float(rack_t[int(j[0])])
    breach = None
    if mx is not None and len(mx):
        over = np.nonzero(mx > ALLOWABLE_MAX_C)[0]
        if over.size:
            breach = float(hall_t[over[0]])
    f["first_allowable_breach_s"] = breach
    injected = [e for e in events if e.kind in INJECTED_KINDS]
    # the incident starts with its first disruptive event (a generator armed to fail starts nothing by itself)
    ref = next((e for e in injected if e.kind != "generator_fail_to_start"), injected[0] if injected else None)
    f["reference_event"] = event_text(ref) if ref is not None else None
    f["first_injected_s"] = ref.t_s if ref is not None else None
    f["breach_after_incident_s"] = (breach - ref.t_s) if (breach is not None and ref is not None) else None
    on_batt = [e for e in events if e.kind == "ups_on_battery"]
    exhausted = [e for e in events if e.kind == "ups_battery_exhausted"]
    if on_batt:
        end = exhausted[0].t_s if exhausted else duration_s
        f["ride_through_s"] = float(end - on_batt[0].t_s)
        f["ride_through_held"] = not exhausted
    else:
        f["ride_through_s"] = None
        f["ride_through_held"] = None
    soc = hall.get("ups_min_soc")
    if soc is not None and len(soc) and np.isfinite(soc).any():
        f["ups_min_soc"] = float(np.nanmin(soc))
    f["racks_down"] = sorted({e.target for e in events if e.kind in DOWN_KINDS})
    down = [e for e in events if e.kind in DOWN_KINDS]
    f["first_rack_down_s"] = down[0].t_s if down else None
    f["first_rack_down"] = f"{down[0].target} ({down[0].kind.replace('_', ' ')})" if down else None
    f["racks_throttled"] = sorted({e.target for e in events if e.kind == "throttle"})
    it, fac = hall.get("it_power_w"), hall.get("facility_power_w")
    if it is not None and len(hall_t) > 1:
        f["it_energy_kwh"] = float(_trapz(it, hall_t) / 3.6e6)
        if fac is not None and np.isfinite(fac).all():
            f["facility_energy_kwh"] = float(_trapz(fac, hall_t) / 3.6e6)
            f["pue"] = f["facility_energy_kwh"] / f["it_energy_kwh"] if f["it_energy_kwh"] > 0 else None
    f["alarms"] = len(alarms)
    f["events"] = len(events)
    f["automatic_actions"] = sum(1 for e in events if e.kind in AUTOMATIC_KINDS)
    return f


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def collect(path: str | os.PathLike, recording_id: Optional[int] = None, at_s: Optional[float] = None,
            progress: Optional[Callable[[str], None]] = None) -> ReviewData:
    """Read one recording of ``path`` and rebuild the state at the picture moment (``at_s`` or the
    hottest second of the run)."""
    from dctwin.twin.store import Project, Replayer

    say = progress or (lambda _msg: None)
    with Project.open(path, read_only=True) as project:
        reader = project.recording(recording_id)
        site = reader.layout()
        events = reader.events()
        alarms = reader.alarms()
        hall_t, hall = reader.hall_metrics()
        rack_t, rack_v = reader.series("rack_inlet_c")
        inc_name, inc_desc = "", ""
        if reader.incident_id is not None:
            import json

            try:
                inc = json.loads(project.incident_text(int(reader.incident_id)))
                inc_name, inc_desc = str(inc.get("name", "")), str(inc.get("description", ""))
            except (ValueError, AttributeError):
                inc_name = f"incident {reader.incident_id}"
        is_review = bool(project.is_review)
        kfs = reader.keyframes()
        t0 = kfs[0].t_s if kfs else 0.0  # a moment export replays only from its keyframe
        if at_s is not None:
            if not t0 <= at_s <= reader.duration_s + 1e-9:
                raise InputError(f"--at {at_s:g} s is outside recording {reader.id} ({t0:g} to "
                                 f"{reader.duration_s:g} s can be replayed)")
            t_pic, reason = float(at_s), "the requested moment"
        else:
            mx = hall.get("max_inlet_c")
            ok = (hall_t >= t0) & np.isfinite(mx) if mx is not None and len(mx) else np.zeros(0, bool)
            if ok.any():
                i = int(np.nanargmax(np.where(ok, mx, -np.inf)))
                t_pic, reason = float(hall_t[i]), "the hottest inlet of the run"
            else:
                t_pic, reason = float(reader.duration_s), "the end of the run"
        t_pic = min(max(t_pic, 0.0), reader.duration_s)
        say(f"replaying to t = {t_pic:g} s")
        sim = Replayer(reader).seek(t_pic)
        summary = sim.summary()
        try:
            heat = sim.air_temperature_slice(HEAT_Z_M)
        except (AttributeError, ValueError):
            heat = None
        data = ReviewData(
            file=str(path), title=f"Review: {site.name or Path(path).stem}" + (f", {inc_name}" if inc_name else ""),
            recording_id=reader.id, site=site, hall_id=reader.hall_id, duration_s=reader.duration_s,
            dt_s=reader.dt_s, incident_name=inc_name, incident_description=inc_desc,
            engine_version=str(reader.engine_version or ""), is_review=is_review, picture_t_s=t_pic,
            picture_reason=reason, summary=summary, heat=heat, events=events, alarms=alarms, hall_t_s=hall_t,
            hall=hall, rack_t_s=rack_t, rack_inlet_c=rack_v, rack_ids=list(reader.rack_ids))
    data.figures = key_figures(data.duration_s, events, alarms, hall_t, hall, rack_t, rack_v, data.rack_ids)
    return data


# ---------------------------------------------------------------------- Qt rendering
def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def render_floor_plan(data: ReviewData, width_px: int = 1400, show_heat: bool = True):
    """The floor plan at ``data.picture_t_s`` (racks by inlet temperature, the air at 1 m) as a QImage."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    from dctwin.widgets.floor_plan import FloorPlanScene

    scene = FloorPlanScene(data.site, data.hall_id)
    scene.set_metric("inlet_c")
    scene.apply_summary(data.summary)
    if show_heat and data.heat is not None:
        temps, extent = data.heat
        scene.set_heatmap(temps, extent)
        scene.heat_item.setOpacity(0.65)
    src = scene.hall_rect()
    m = 0.03 * max(src.width(), src.height())
    src = src.adjusted(-m, -m, m + 40, m)  # + room for the north arrow, as the editor's zoom to fit
    bar_h = 70
    h = int(round(width_px * src.height() / src.width())) + bar_h
    img = QImage(width_px, h, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
    scene.render(p, QRectF(0, 0, width_px, h - bar_h), src, Qt.KeepAspectRatio)
    _colour_bar(p, QRectF(20, h - bar_h + 12, width_px - 40, 18), scene.temp_scale,
                f"inlet and air temperature at {HEAT_Z_M:g} m, t = {data.picture_t_s:g} s", QFont())
    p.end()
    return img


def _colour_bar(p, rect, scale, title: str, font) -> None:
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QColor, QPen

    n = len(scale.colours)
    w = rect.width() / n
    for i, c in enumerate(scale.colours):
        p.fillRect(QRectF(rect.left() + i * w, rect.top(), w + 1, rect.height()), c)
    p.setPen(QPen(QColor(60, 60, 60), 1))
    p.drawRect(rect)
    font.setPixelSize(max(12, int(rect.width() / 90)))
    p.setFont(font)
    span = scale.vmax - scale.vmin
    for v in (scale.vmin, REC_MAX_C, ALLOWABLE_MAX_C, scale.vmax):
        x = rect.left() + rect.width() * (v - scale.vmin) / span
        p.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 4))
        p.drawText(QPointF(x - 14, rect.bottom() + 6 + font.pixelSize()), f"{v:g} {scale.unit}")
    p.drawText(QPointF(rect.left(), rect.top() - 3), title)


def render_timeline(data: ReviewData, width_px: int = 1400):
    """Injected events, automatic actions and alarms against time (the replay view's lanes and colours)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    from dctwin.widgets.timeline import LANE_TITLES, LANES, Marker, fmt_time, lane_of, marker_colour, nice_step

    markers = [Marker(e.t_s, e.kind, lane_of(e.kind), e.target) for e in data.events]
    markers += [Marker(float(a["t_s"]), str(a.get("kind", "")), "alarm", str(a.get("target", "")),
                       severity=str(a.get("severity", ""))) for a in data.alarms if a.get("active", True)]
    left, right, top, lane_h = 130.0, 30.0, 40.0, 36.0
    h = int(top + lane_h * len(LANES) + 12)
    img = QImage(width_px, h, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    font = QFont()
    font.setPixelSize(18)
    p.setFont(font)
    span = max(data.duration_s, 1e-9)
    x0, x1 = left, width_px - right

    def x_of(t: float) -> float:
        return x0 + (x1 - x0) * t / span

    for i, lane in enumerate(LANES):
        r = QRectF(x0, top + i * lane_h, x1 - x0, lane_h)
        if i % 2 == 0:
            p.fillRect(r, QColor(242, 244, 247))
        p.setPen(QColor(40, 40, 40))
        p.drawText(QRectF(0, r.top(), left - 8, lane_h), Qt.AlignRight | Qt.AlignVCenter, LANE_TITLES[lane])
    p.setPen(QPen(QColor(40, 40, 40), 1))
    p.drawLine(QPointF(x0, top - 2), QPointF(x1, top - 2))
    step = nice_step(span, 10)
    t = 0.0
    while t <= span + 1e-9:
        x = x_of(t)
        p.drawLine(QPointF(x, top - 7), QPointF(x, top - 2))
        p.drawText(QPointF(x - 18, top - 12), fmt_time(t))
        t += step
    p.setPen(QPen(QColor(30, 100, 220), 2, Qt.DashLine))
    xp = x_of(data.picture_t_s)
    p.drawLine(QPointF(xp, top), QPointF(xp, h - 6))
    for m in markers:
        c = marker_colour(m)
        y = top + LANES.index(m.lane) * lane_h + lane_h / 2
        p.setPen(QPen(c.darker(140), 1))
        p.setBrush(c)
        p.drawEllipse(QPointF(x_of(m.t_s), y), 6, 6)
    labelled: list[float] = []
    for m in markers:  # label the incident's own events (they are few)
        if m.lane != "event":
            continue
        x = x_of(m.t_s)
        if any(abs(x - u) < 90 for u in labelled):
            continue
        labelled.append(x)
        y = top + LANES.index(m.lane) * lane_h + lane_h / 2
        p.setPen(QColor(30, 30, 30))
        p.drawText(QPointF(x + 9, y + 4), f"{m.kind} {m.target}".strip())
    p.end()
    return img


def render_trends(data: ReviewData, width_px: int = 1400, height_px: int = 420):
    """Two stacked plots: rack inlet temperatures with the ASHRAE lines; IT and facility power."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter

    img = QImage(width_px, height_px * 2, QImage.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    p.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
    pens = [(214, 39, 40), (255, 127, 14), (148, 103, 189), (140, 86, 75), (227, 119, 194)]
    curves = []
    mx = data.hall.get("max_inlet_c")
    if mx is not None and len(mx):
        curves.append((data.hall_t_s, mx, (20, 20, 20), "hottest inlet"))
    mean = data.hall.get("mean_inlet_c")
    if mean is not None and len(mean):
        curves.append((data.hall_t_s, mean, (120, 120, 120), "mean inlet"))
    if data.rack_inlet_c.size:
        top = np.argsort(-np.nanmax(data.rack_inlet_c, axis=0))[:TREND_RACKS]
        for k, j in enumerate(top):
            curves.append((data.rack_t_s, data.rack_inlet_c[:, j], pens[k % len(pens)], data.rack_ids[int(j)]))
    _plot(p, QRectF(0, 0, width_px, height_px), curves, "inlet temperature (°C)", data.duration_s,
          hlines=[(REC_MAX_C, "recommended max 27 °C", (255, 150, 0)),
                  (ALLOWABLE_MAX_C, "A1 allowable max 32 °C", (220, 30, 30))], vline=data.picture_t_s)
    power = []
    for key, colour, label in (("it_power_w", (31, 119, 180), "IT"), ("facility_power_w", (214, 39, 40), "facility"),
                               ("cooling_duty_w", (44, 160, 44), "cooling duty")):
        v = data.hall.get(key)
        if v is not None and len(v) and np.isfinite(v).any():
            power.append((data.hall_t_s, v / 1e3, colour, label))
    _plot(p, QRectF(0, height_px, width_px, height_px), power, "power (kW)", data.duration_s, hlines=[],
          vline=data.picture_t_s)
    p.end()
    return img


def _plot(p, rect, curves, ylabel: str, duration_s: float, hlines, vline: Optional[float]) -> None:
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPainterPath, QPen

    from dctwin.widgets.timeline import fmt_time, nice_step

    font = QFont()
    font.setPixelSize(18)
    p.setFont(font)
    plot = QRectF(rect.left() + 80, rect.top() + 44, rect.width() - 110, rect.height() - 84)
    vals = [np.asarray(v, float) for _, v, _, _ in curves]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(0)
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    for value, _, _ in hlines:
        lo, hi = min(lo, value), max(hi, value)
    pad = 0.08 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    span_t = max(duration_s, 1e-9)

    def pt(t: float, v: float) -> QPointF:
        return QPointF(plot.left() + plot.width() * t / span_t, plot.bottom() - plot.height() * (v - lo) / (hi - lo))

    p.setPen(QPen(QColor(40, 40, 40), 1))
    p.drawRect(plot)
    p.drawText(QPointF(plot.left(), rect.top() + 18), ylabel)
    ystep = _nice_y(hi - lo)
    y = math.ceil(lo / ystep) * ystep
    while y <= hi:
        q = pt(0, y)
        p.setPen(QPen(QColor(225, 225, 225), 1))
        p.drawLine(QPointF(plot.left(), q.y()), QPointF(plot.right(), q.y()))
        p.setPen(QColor(40, 40, 40))
        p.drawText(QRectF(rect.left(), q.y() - 8, 74, 16), Qt.AlignRight | Qt.AlignVCenter, f"{y:g}")
        y += ystep
    step = nice_step(span_t, 10)
    t = 0.0
    while t <= span_t + 1e-9:
        q = pt(t, lo)
        p.drawLine(QPointF(q.x(), plot.bottom()), QPointF(q.x(), plot.bottom() + 4))
        p.drawText(QPointF(q.x() - 18, plot.bottom() + 22), fmt_time(t))
        t += step
    for value, label, colour in hlines:
        p.setPen(QPen(QColor(*colour), 1.5, Qt.DashLine))
        q = pt(0, value)
        p.drawLine(QPointF(plot.left(), q.y()), QPointF(plot.right(), q.y()))
        p.drawText(QPointF(plot.left() + 6, q.y() - 4), label)
    if vline is not None:
        p.setPen(QPen(QColor(30, 100, 220), 1.5, Qt.DotLine))
        x = pt(vline, lo).x()
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
    legend_x = plot.left() + 8
    for (t_arr, v_arr, colour, label), v in zip(curves, vals):
        path = QPainterPath()
        started = False
        for tt, vv in zip(np.asarray(t_arr, float).tolist(), v.tolist()):
            if not math.isfinite(vv):
                started = False
                continue
            q = pt(tt, vv)
            if started:
                path.lineTo(q)
            else:
                path.moveTo(q)
                started = True
        p.setPen(QPen(QColor(*colour), 2))
        p.setBrush(Qt.NoBrush)
        p.drawPath(path)
        p.drawLine(QPointF(legend_x, rect.top() + 32), QPointF(legend_x + 22, rect.top() + 32))
        p.setPen(QColor(40, 40, 40))
        p.drawText(QPointF(legend_x + 26, rect.top() + 38), label)
        legend_x += 40 + 10 * len(label) + 10


def _nice_y(span: float) -> float:
    raw = span / 6 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for k in (1, 2, 5, 10):
        if k * mag >= raw:
            return k * mag
    return 10 * mag


# ---------------------------------------------------------------------- HTML / PDF
def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}{(' ' + unit) if unit else ''}"
    return f"{v}{(' ' + unit) if unit else ''}"


def figures_rows(data: ReviewData) -> list[tuple[str, str]]:
    """Key figures as (name, value) text rows."""
    f = data.figures
    hot = "—"
    if f.get("hottest_inlet_c") is not None:
        hot = f"{f['hottest_inlet_c']:.1f} °C" + (f" ({f['hottest_rack']}" if f.get("hottest_rack") else " (") + \
              f", t = {f['hottest_inlet_t_s']:.0f} s)"
    breach = f.get("first_allowable_breach_s")
    breach_txt = "never" if breach is None else f"t = {breach:.0f} s" + (
        f", {f['breach_after_incident_s']:.0f} s after {f['reference_event']}"
        if f.get("breach_after_incident_s") is not None else "")
    rt = f.get("ride_through_s")
    if rt is None:
        rt_txt = "no UPS ran on battery"
    else:
        rt_txt = f"{rt:.0f} s on battery" + (" (held to the end of the run)" if f.get("ride_through_held")
                                             else " until the battery was exhausted")
    if f.get("ups_min_soc") is not None:
        rt_txt += f"; lowest UPS charge {100 * f['ups_min_soc']:.0f} %"
    down = f.get("racks_down") or []
    rows = [("Hottest inlet", hot),
            (f"First inlet over the allowable {ALLOWABLE_MAX_C:g} °C", breach_txt),
            ("Ride-through", rt_txt),
            ("Racks down", f"{len(down)}" + (f", the first at t = {f['first_rack_down_s']:.0f} s: "
                                             f"{f['first_rack_down']}; all: {', '.join(down)}" if down else "")),
            ("Racks throttled", f"{len(f.get('racks_throttled') or [])}"),
            ("IT energy", _fmt(f.get("it_energy_kwh"), "kWh", 2)),
            ("Facility energy", _fmt(f.get("facility_energy_kwh"), "kWh", 2)),
            ("PUE (energy-weighted)", _fmt(f.get("pue"), "", 3)),
            ("Events / automatic actions / alarms",
             f"{f.get('events', 0)} / {f.get('automatic_actions', 0)} / {f.get('alarms', 0)}")]
    return rows


def _clock(t_s: float) -> str:
    h, rem = divmod(int(round(t_s)), 3600)
    m, sec = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{sec:02d}"


def report_html(data: ReviewData, images: dict[str, str], image_width: int = 900) -> str:
    """The report as HTML; ``images`` maps floor_plan / timeline / trends to an ``src`` (file or data URI)."""
    e = html.escape
    by_seq = data.event_by_seq()
    table = "<table width='100%' cellspacing='0' cellpadding='3' border='1' style='border-color:#bbb'>"
    parts = [f"<html><head><meta charset='utf-8'><title>{e(data.title)}</title>",
             "<style>body{font-family:sans-serif;font-size:10pt} table{border-collapse:collapse} "
             "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top} "
             "th{background:#eef}</style>",
             "</head><body>",
             f"<h1>{e(data.title)}</h1>",
             f"<p>File {e(data.file)}, recording {data.recording_id}: {data.duration_s:g} s at {data.dt_s:g} s steps"
             + (f", engine {e(data.engine_version)}" if data.engine_version else "")
             + (" (review export)" if data.is_review else "") + ".</p>"]
    if data.incident_name:
        parts.append(f"<p><b>Incident:</b> {e(data.incident_name)}"
                     + (f": {e(data.incident_description)}" if data.incident_description else "") + "</p>")
    parts.append("<h2>Key figures</h2>" + table)
    parts += [f"<tr><th width='35%'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in figures_rows(data)]
    parts.append("</table>")
    parts.append(f"<h2>Floor plan at t = {data.picture_t_s:g} s ({e(data.picture_reason)})</h2>")
    parts.append(f"<p><img src='{images['floor_plan']}' width='{image_width}'></p>")
    parts.append("<h2>Trends</h2>")
    parts.append(f"<p>Hottest and mean inlet, the {TREND_RACKS} hottest racks, and the ASHRAE A1 limits; "
                 f"IT, facility power and cooling duty. The dotted line marks t = {data.picture_t_s:g} s.</p>")
    parts.append(f"<p><img src='{images['trends']}' width='{image_width}'></p>")
    parts.append("<h2>Timeline of events and automatic actions</h2>")
    parts.append(f"<p><img src='{images['timeline']}' width='{image_width}'></p>")
    # lists, not tables: narrow table columns wrap badly in paged output
    parts.append("<p>")
    for ev in data.events:
        cause = by_seq.get(ev.cause) if ev.cause is not None else None
        why = event_text(cause) if cause is not None else ev.condition
        how = "automatic" if ev.kind in AUTOMATIC_KINDS else "injected"
        parts.append(f"<b>{_clock(ev.t_s)}</b>&nbsp;&nbsp;{e(ev.kind.replace('_', ' '))} {e(ev.target)} "
                     f"<i>({how})</i>" + (f" &larr; {e(why)}" if why else "") + "<br>")
    parts.append("</p>")
    parts.append("<h2>Alarms</h2>")
    active = [a for a in data.alarms if a.get("active", True)]
    if not active:
        parts.append("<p>No alarms were recorded.</p>")
    else:
        counts: dict[str, int] = {}
        for a in active:
            counts[str(a.get("kind", ""))] = counts.get(str(a.get("kind", "")), 0) + 1
        parts.append("<p>" + e(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())) + ".</p>")
        parts.append("<p>")
        for a in active:
            parts.append(f"<b>{_clock(float(a['t_s']))}&nbsp;&nbsp;{e(str(a.get('severity', '')))}</b>&nbsp;&nbsp;"
                         f"{e(alarm_explanation(a, by_seq))}<br>")
        parts.append("</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _images(data: ReviewData) -> dict[str, Any]:
    return {"floor_plan": render_floor_plan(data), "timeline": render_timeline(data), "trends": render_trends(data)}


def _png_bytes(img) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(ba.data())


def _atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Write through ``write(tmp_path)`` into a temporary file beside ``path``, then rename it into place."""
    out = Path(path)
    if out.exists() and out.is_dir():
        raise InputError(f"{out}: is a folder")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{out}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix="." + out.name + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
        if os.path.getsize(tmp) == 0:
            raise InputError(f"{out}: rendering produced an empty file")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def write_png(data: ReviewData, path: str | os.PathLike, width_px: int = 1600) -> Path:
    """The floor plan at the picture moment as a PNG."""
    ensure_app()
    img = render_floor_plan(data, width_px)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(_png_bytes(img))

    return _atomic(path, write)


def write_html(data: ReviewData, path: str | os.PathLike) -> Path:
    """The report as one self-contained HTML file (pictures embedded as data URIs)."""
    ensure_app()
    imgs = _images(data)
    src = {k: "data:image/png;base64," + base64.b64encode(_png_bytes(v)).decode("ascii") for k, v in imgs.items()}
    text = report_html(data, src)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    return _atomic(path, write)


def write_pdf(data: ReviewData, path: str | os.PathLike) -> Path:
    """The report as a PDF (A4, through QTextDocument and QPdfWriter)."""
    ensure_app()
    from PySide6.QtCore import QMarginsF, QSizeF, QUrl
    from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

    imgs = _images(data)
    text = report_html(data, {k: f"img://{k}.png" for k in imgs}, image_width=int(PDF_TEXT_W_PT) - 4)

    def write(tmp: str) -> None:
        writer = QPdfWriter(tmp)
        writer.setTitle(data.title)
        writer.setCreator("dctwin")
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait, QMarginsF(15, 15, 15, 15),
                                         QPageLayout.Millimeter))
        doc = QTextDocument()
        doc.setPageSize(QSizeF(PDF_TEXT_W_PT, PDF_TEXT_H_PT))  # points: images and text scale with the page
        for k, img in imgs.items():
            doc.addResource(QTextDocument.ImageResource, QUrl(f"img://{k}.png"), img)
        doc.setHtml(text)
        doc.print_(writer)
        del writer  # flushes and closes the file

    return _atomic(path, write)
